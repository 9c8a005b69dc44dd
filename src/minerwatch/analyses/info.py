"""What a database holds (``minerwatch info``): each table's range, rows, sources and
gaps, the last sync and import, the chains and reorgs, the schema version and the file's
size; with ``as_of``, what it held for the days up to that one.

As of a day ``D`` (its end, 00:00 UTC of the next day, exclusive): the day tables' rows of
days ``<= D``; the epochs begun by then (:func:`~minerwatch.frames.epochs_begun_by`); the
blocks, best chain and stale, with header time before then, each chain's tip among them,
and the reorgs whose replaced blocks began by then. Syncs and writes are moments on the
clock of the machine that wrote the file, not days of data: as of ``D`` they are the last
of each by the end of ``D`` (a source's sync state keeps only its latest sync, so a later
one hides it). The schema version, path and file size are the file's own, at any date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import numpy as np

from minerwatch.chain.consensus import RETARGET_INTERVAL
from minerwatch.days import DayLike, as_day, day_end_s, parse_day
from minerwatch.frames import epochs_begun_by
from minerwatch.serialize import Jsonable
from minerwatch.store import Store, open_store
from minerwatch.tables import Tabular


def _day_of_unix(seconds: int | None) -> str | None:
    """The UTC day (YYYY-MM-DD) of a unix time in seconds, None for None."""
    return None if seconds is None else str(np.datetime64(int(seconds), "s").astype("M8[D]"))


class SourceRange(TypedDict):
    """One source's rows in a day-keyed table, its first and last day (YYYY-MM-DD) and
    the days between them it has no row for (``missing``)."""

    rows: int
    first: str
    last: str
    missing: int


class Gap(TypedDict):
    """A run of days (YYYY-MM-DD) or heights a table holds nothing for, between rows it
    holds: ``first`` and ``last`` missing, and ``count`` (days, blocks or epochs)."""

    first: str | int
    last: str | int
    count: int


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
    ``sources``: per source name its ``rows``, ``first`` and ``last`` day and the days
    ``missing`` between them; ``gaps``: every run of days (for ``epochs`` and ``blocks``,
    heights) between ``first`` and ``last`` that no row covers, oldest first, and
    ``missing``, their total (days, epochs or blocks)."""

    rows: int
    unit: str
    first: str | int | None
    last: str | int | None
    first_day: str | None = None
    last_day: str | None = None
    sources: dict[str, SourceRange] = field(default_factory=dict)
    missing: int = 0
    gaps: list[Gap] = field(default_factory=list)


@dataclass(frozen=True)
class Info(Jsonable, Tabular):
    """What the database at ``path`` holds. ``tables``: ``chain_daily``, ``prices``,
    ``epochs``, ``blocks`` (:class:`TableInfo`); ``sync``: per network source the last day
    synced and when (``last_day``, ``updated_at``, UTC); ``last_import``: the latest write
    (``at``, ``table``, ``origin``) or None; ``reorgs``: the block reorganisations seen,
    oldest first; ``chain``: per live chain source its network, URL, tip (height, hash),
    first height and whether proof of work was checked; ``stale_blocks``: blocks reorgs
    replaced, kept; ``schema_version``; ``file_size_bytes``; ``as_of``: the day it was
    cut at (YYYY-MM-DD), None for all it holds."""

    path: str
    schema_version: int
    file_size_bytes: int | None
    tables: dict[str, TableInfo]
    sync: dict[str, SyncState]
    last_import: dict[str, str] | None
    reorgs: list[dict[str, object]] = field(default_factory=list)
    chain: dict[str, dict[str, object]] = field(default_factory=dict)
    stale_blocks: int = 0
    as_of: str | None = None


def _by_source(rows: list[tuple[str, int, str, str]]) -> dict[str, SourceRange]:
    out = {}
    for source, n, lo, hi in rows:
        span_days = int((as_day(hi) - as_day(lo)).astype(np.int64)) + 1
        out[source] = SourceRange(rows=int(n), first=lo, last=hi, missing=span_days - int(n))
    return out


def _gaps(runs: Sequence[tuple[str | int, str | int, int]]) -> list[Gap]:
    return [Gap(first=lo, last=hi, count=int(n)) for lo, hi, n in runs]


def _day_table(store: Store, table: str, through: np.datetime64 | None) -> TableInfo:
    sources = _by_source(store.day_sources(table, through))
    firsts = [s["first"] for s in sources.values()]
    lasts = [s["last"] for s in sources.values()]
    gaps = _gaps(store.day_gaps(table, through))
    return TableInfo(
        rows=sum(s["rows"] for s in sources.values()),
        unit="day",
        first=min(firsts) if firsts else None,
        last=max(lasts) if lasts else None,
        first_day=min(firsts) if firsts else None,
        last_day=max(lasts) if lasts else None,
        sources=sources,
        missing=sum(g["count"] for g in gaps),
        gaps=gaps,
    )


def _height_table(span: HeightSpan, gaps: list[Gap]) -> TableInfo:
    rows, lo, hi, t_lo, t_hi = span
    return TableInfo(
        rows=int(rows),
        unit="height",
        first=None if lo is None else int(lo),
        last=None if hi is None else int(hi),
        first_day=_day_of_unix(t_lo),
        last_day=_day_of_unix(t_hi),
        missing=sum(g["count"] for g in gaps),
        gaps=gaps,
    )


def _epochs_table(store: Store, max_time: int | None) -> TableInfo:
    """The epochs (begun by ``max_time`` where given) and the runs of epochs missing
    between the first and last held (an epoch starts every 2,016 heights)."""
    epochs = store.read_epochs()
    height, begun = epochs["start_height"], epochs["start_time"]
    if max_time is not None:
        kept = epochs_begun_by(height, begun, max_time)
        height, begun = height[kept], begun[kept]
    known = begun[begun >= 0]
    span: HeightSpan = (
        len(height),
        int(height.min()) if len(height) else None,
        int(height.max()) if len(height) else None,
        int(known.min()) if len(known) else None,
        int(known.max()) if len(known) else None,
    )
    after = np.flatnonzero(np.diff(height) > RETARGET_INTERVAL)
    runs = [
        (int(height[i]) + RETARGET_INTERVAL, int(height[i + 1]) - RETARGET_INTERVAL,
         (int(height[i + 1]) - int(height[i])) // RETARGET_INTERVAL - 1)
        for i in after
    ]  # fmt: skip
    return _height_table(span, _gaps(runs))


def _chains(store: Store, max_time: int | None) -> dict[str, dict[str, object]]:
    """Per live chain source: where its sync stands; as of ``max_time``, the tip is its
    highest best-chain block with header time by then (a source without one is left
    out)."""
    tips = store.best_tips(max_time) if max_time is not None else {}
    out: dict[str, dict[str, object]] = {}
    for c in store.chain_states():
        height, hash_ = (
            (c.tip_height, c.tip_hash) if max_time is None else tips.get(c.source, (None, None))
        )
        if height is None:
            continue
        out[c.source] = {
            "network": c.network,
            "url": c.url,
            "tip_height": height,
            "tip_hash": hash_,
            "base_height": c.base_height,
            "base_parent_on_trust": c.base_height > 0,
            "pow_checked": c.pow_checked,
        }
    return out


def store_info(store: Store, as_of: DayLike = None) -> Info:
    """:class:`Info` of an open store, of the days up to ``as_of`` (YYYY-MM-DD) where
    given (reads the tables' summaries and the epochs, not the rows of the others)."""
    day = parse_day(as_of)
    max_time = None if day is None else int(day_end_s(day)) - 1
    last = store.last_import(max_time)
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
            "chain_daily": _day_table(store, "chain_daily", day),
            "prices": _day_table(store, "prices", day),
            "epochs": _epochs_table(store, max_time),
            "blocks": _height_table(store.block_span(max_time), _gaps(store.block_gaps(max_time))),
        },
        sync={
            source: SyncState(last_day=last_day, updated_at=at)
            for source, last_day, at in store.sync_states(max_time)
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
            for r in store.reorgs(max_time)
        ],
        chain=_chains(store, max_time),
        stale_blocks=store.stale_block_count(max_time),
        as_of=None if day is None else str(day),
    )


def info(db: Store | str | Path | None = None, as_of: DayLike = None) -> Info:
    """What the database ``db`` (a path, default :func:`~minerwatch.store.default_db_path`,
    or an open store) holds, for the days up to ``as_of`` (YYYY-MM-DD) where given. Opens
    it read-only; :class:`~minerwatch.errors.InputError` when there is no database there
    or ``as_of`` is not a date."""
    if isinstance(db, Store):
        return store_info(db, as_of)
    with open_store(db, read_only=True) as store:
        return store_info(store, as_of)
