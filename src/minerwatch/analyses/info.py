"""What a database holds (``minerwatch info``): each table's range, rows and sources, the
last sync and import, the schema version and the file's size."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import numpy as np

from minerwatch.serialize import Jsonable
from minerwatch.store import Store, open_store
from minerwatch.tables import Tabular


def _day_of_unix(seconds: int | None) -> str | None:
    """The UTC day (YYYY-MM-DD) of a unix time in seconds, None for None."""
    return None if seconds is None else str(np.datetime64(int(seconds), "s").astype("M8[D]"))


class SourceRange(TypedDict):
    """One source's rows in a day-keyed table and its first and last day (YYYY-MM-DD)."""

    rows: int
    first: str
    last: str


class SyncState(TypedDict):
    """A network source's last day synced (YYYY-MM-DD, None before any) and when (UTC)."""

    last_day: str | None
    updated_at: str


#: A height span of a table: rows, first and last height, first and last unix time (s).
HeightSpan = tuple[int, int | None, int | None, int | None, int | None]


@dataclass(frozen=True)
class TableInfo:
    """One table: ``rows``; its range, ``first``/``last`` (days YYYY-MM-DD for day-keyed
    tables, heights for ``epochs`` and ``blocks``) with ``unit`` saying which; ``first_day``
    and ``last_day``: the UTC days covered (for heights, of the first and last known
    timestamps);
    ``sources``: per source name its ``rows``, ``first`` and ``last`` day."""

    rows: int
    unit: str
    first: str | int | None
    last: str | int | None
    first_day: str | None = None
    last_day: str | None = None
    sources: dict[str, SourceRange] = field(default_factory=dict)


@dataclass(frozen=True)
class Info(Jsonable, Tabular):
    """What the database at ``path`` holds. ``tables``: ``chain_daily``, ``prices``,
    ``epochs``, ``blocks`` (:class:`TableInfo`); ``sync``: per network source the last day
    synced and when (``last_day``, ``updated_at``, UTC); ``last_import``: the latest write
    (``at``, ``table``, ``origin``) or None; ``reorgs``: the block reorganisations seen
    (none are recorded yet: always empty); ``schema_version``; ``file_size_bytes``."""

    path: str
    schema_version: int
    file_size_bytes: int | None
    tables: dict[str, TableInfo]
    sync: dict[str, SyncState]
    last_import: dict[str, str] | None
    reorgs: list[dict[str, object]] = field(default_factory=list)
    chain: dict[str, dict[str, object]] = field(default_factory=dict)
    stale_blocks: int = 0


def _by_source(rows: list[tuple[str, int, str, str]]) -> dict[str, SourceRange]:
    return {s: SourceRange(rows=int(n), first=lo, last=hi) for s, n, lo, hi in rows}


def _day_table(store: Store, table: str) -> TableInfo:
    sources = _by_source(store.day_sources(table))
    firsts = [s["first"] for s in sources.values()]
    lasts = [s["last"] for s in sources.values()]
    return TableInfo(
        rows=sum(s["rows"] for s in sources.values()),
        unit="day",
        first=min(firsts) if firsts else None,
        last=max(lasts) if lasts else None,
        first_day=min(firsts) if firsts else None,
        last_day=max(lasts) if lasts else None,
        sources=sources,
    )


def _height_table(span: HeightSpan) -> TableInfo:
    rows, lo, hi, t_lo, t_hi = span
    return TableInfo(
        rows=int(rows),
        unit="height",
        first=None if lo is None else int(lo),
        last=None if hi is None else int(hi),
        first_day=_day_of_unix(t_lo),
        last_day=_day_of_unix(t_hi),
    )


def store_info(store: Store) -> Info:
    """:class:`Info` of an open store (reads the tables' summaries only, not their rows)."""
    last = store.last_import()
    last_import = None
    if last is not None:
        last_import = dict(zip(("at", "table", "origin"), last, strict=True))
    size = None
    if str(store.path) != ":memory:" and store.path.exists():
        size = store.path.stat().st_size
    return Info(
        path=str(store.path.resolve()) if str(store.path) != ":memory:" else ":memory:",
        schema_version=store.schema_version(),
        file_size_bytes=size,
        tables={
            "chain_daily": _day_table(store, "chain_daily"),
            "prices": _day_table(store, "prices"),
            "epochs": _height_table(store.epoch_span()),
            "blocks": _height_table(store.block_span()),
        },
        sync={
            source: SyncState(last_day=day, updated_at=at)
            for source, day, at in store.sync_states()
        },
        last_import=last_import,
        reorgs=[
            {
                "height": r.fork_height + 1,
                "depth": r.depth,
                "fork_height": r.fork_height,
                "old_tip_height": r.old_tip_height,
                "old_tip_hash": r.old_tip_hash,
                "new_tip_height": r.new_tip_height,
                "new_tip_hash": r.new_tip_hash,
                "source": r.source,
                "seen_at": r.seen_at,
            }
            for r in store.reorgs()
        ],
        chain={
            c.source: {
                "network": c.network,
                "url": c.url,
                "tip_height": c.tip_height,
                "tip_hash": c.tip_hash,
                "base_height": c.base_height,
                "base_parent_on_trust": c.base_height > 0,
                "pow_checked": c.pow_checked,
            }
            for c in store.chain_states()
        },
        stale_blocks=store.stale_block_count(),
    )


def info(db: Store | str | Path | None = None) -> Info:
    """What the database ``db`` (a path, default :func:`~minerwatch.store.default_db_path`,
    or an open store) holds. Opens it read-only; :class:`~minerwatch.errors.InputError`
    when there is no database there."""
    if isinstance(db, Store):
        return store_info(db)
    with open_store(db, read_only=True) as store:
        return store_info(store)
