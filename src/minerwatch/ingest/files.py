"""Loading data into the store: file imports, each one transaction.

Each function reads and validates the whole input first (raising
:class:`~minerwatch.errors.InputError` naming file, line and column), then writes every
table it touches inside one transaction: a failed import leaves the database as it was,
and importing the same file again changes nothing. Each takes a ``progress`` callable told
every step as it begins (``reading FILE``, ``checking ...``, ``writing N blocks``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from minerwatch.ingest import checks
from minerwatch.sources import blocks as block_files
from minerwatch.sources import coinmetrics, files
from minerwatch.sources.rules import PRICE_REFUSE_RATIO
from minerwatch.store import Store, WriteResult

if TYPE_CHECKING:
    from minerwatch.frames import DifficultyCheck


#: Told each step of an import as it begins (``reading FILE``, ``checking ...``, ...).
Progress = Callable[[str], None]


def _no_progress(step: str) -> None:
    """The default :data:`Progress`: says nothing."""


@dataclass
class ImportReport:
    """What an import read and wrote."""

    kind: str
    origin: str
    rows_read: int
    first: str
    last: str
    writes: list[WriteResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    difficulty_check: DifficultyCheck | None = None

    @classmethod
    def of(
        cls,
        kind: str,
        origin: str | Path,
        keys: np.ndarray | Sequence[object],
        writes: list[WriteResult],
        notes: list[str],
        difficulty_check: DifficultyCheck | None = None,
    ) -> ImportReport:
        """The report of an import that read the rows of ``keys`` (their days, heights or
        ids, ascending): their count, the first and the last."""
        first, last = str(keys[0]), str(keys[-1])
        return cls(kind, str(origin), len(keys), first, last, writes, notes, difficulty_check)


def write_daily_chain(
    store: Store, records: coinmetrics.DailyChain, origin: str
) -> list[WriteResult]:
    """Write chain rows and the source's own closes; the caller holds the transaction."""
    return [
        store.write_chain_daily(records, origin),
        store.write_prices(
            records.day,
            records.price_usd,
            np.full(len(records), records.source, dtype=object),
            origin,
        ),
    ]


def import_coinmetrics(
    store: Store, path: str | Path, *, progress: Progress = _no_progress
) -> ImportReport:
    """Import a Coin Metrics community CSV (chain metrics and ``PriceUSD`` closes).

    The file's days must be consecutive and join the days already held (no gap). When
    difficulty epochs are loaded too, the recovered daily mean difficulty is checked
    against them (``difficulty_check``).
    """
    from minerwatch.frames import check_days_join, crosscheck_difficulty  # not for blocks: slow

    progress(f"reading {path}")
    records = coinmetrics.read_file(path)
    progress(f"checking {len(records):,} days against the days held")
    check_days_join(records.day, store.chain_day_range(), str(path))
    checks.check_daily_chain(store, records)
    progress(f"writing {len(records):,} days")
    with store.transaction():
        writes = write_daily_chain(store, records, str(path))
    progress("cross-checking the difficulty")
    notes = [*records.notes, *checks.change_notes(writes)]
    return ImportReport.of(
        "coinmetrics", path, records.day, writes, notes, crosscheck_difficulty(store)
    )


def import_prices(
    store: Store,
    path: str | Path,
    source: str | None = None,
    *,
    force: bool = False,
    progress: Progress = _no_progress,
) -> ImportReport:
    """Import a ``date,close_usd[,source]`` CSV of daily closes.

    Closes must lie in the plausible band against the other stored sources of the same
    day (:func:`minerwatch.sources.rules.price_band`): beyond x1.5 is noted, beyond x3
    refused unless ``force``; a forced import says so in the imports log (its origin).
    """
    progress(f"reading {path}")
    prices = files.read_prices(path, source)
    progress(f"checking {len(prices):,} closes against the other sources")
    notes, forced = checks.check_price_band(store, prices, force=force)
    origin = str(path)
    if forced:
        beyond = f"close(s) beyond x{PRICE_REFUSE_RATIO:g} of another source"
        origin += f" [--force: {forced} {beyond}]"
        notes.append(f"--force: {forced:,} {beyond} imported")
    progress(f"writing {len(prices):,} closes")
    with store.transaction():
        write = store.write_prices(prices.day, prices.close_usd, prices.source, origin)
    notes = [*prices.notes, *notes, *checks.change_notes([write])]
    return ImportReport.of("prices", path, prices.day, [write], notes)


def import_epochs(
    store: Store, path: str | Path, *, replace: bool = False, progress: Progress = _no_progress
) -> ImportReport:
    """Import a ``start_height,difficulty[,start_time]`` CSV of difficulty epochs.

    Retargets and start times are checked with the stored epochs
    (:func:`minerwatch.ingest.checks.merge_epochs`); an empty ``start_time`` keeps the
    stored one; a stored epoch given with other values is refused unless ``replace``.
    """
    from minerwatch.frames import crosscheck_difficulty  # not for blocks: slow to import

    progress(f"reading {path}")
    read = files.read_epochs(path)
    progress(f"checking {len(read):,} epochs against the epochs held")
    epochs = checks.merge_epochs(store, read, replace_stored=replace)
    progress(f"writing {len(epochs):,} epochs")
    with store.transaction():
        write = store.write_epochs(epochs, str(path))
    progress("cross-checking the difficulty")
    notes = [*epochs.notes, *checks.change_notes([write])]
    return ImportReport.of(
        "epochs", path, epochs.start_height, [write], notes, crosscheck_difficulty(store)
    )


def import_blocks(
    store: Store, path: str | Path, *, replace: bool = False, progress: Progress = _no_progress
) -> ImportReport:
    """Import a ``height,time[,bits|difficulty][,fees_sat][,subsidy_sat][,pool]``
    ``[,tx_count][,coinbase_tag][,payout_scripts]`` CSV
    (:func:`~minerwatch.sources.blocks.read_blocks_csv`).

    The file's heights must be consecutive and overlap or adjoin the blocks held. Bits are
    checked against the epochs table and filled from it where the file has none. A stored
    height with different values is an error unless ``replace`` (a reorg): then that
    height and every stored block above it are replaced by the file's.
    """
    progress(f"reading {path}")
    records = block_files.read_blocks_csv(path)
    progress(f"checking {len(records):,} blocks against the epochs and blocks held")
    block_files.check_heights_join(
        records.height, store.block_height_range(), records.origin, records.lines
    )
    epochs = store.read_epochs()
    records = block_files.apply_epochs(
        records, epochs["start_height"], epochs["bits"], epochs["start_time"]
    )
    checks.check_block_times(store, records)
    progress(f"writing {len(records):,} blocks")
    with store.transaction():
        write = store.write_blocks(records, str(path), replace=replace)
    notes = list(records.notes)
    if write.removed:
        notes.append(
            f"reorg: {write.removed:,} stored block(s) above height {records.height[-1]} "
            "removed (not in this file)"
        )
    return ImportReport.of("blocks", path, records.height, [write], notes)
