"""Plain CSV files a user brings: daily prices and difficulty epochs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minerwatch.chain.consensus import (
    GENESIS_DAY,
    RETARGET_INTERVAL,
    bits_to_difficulty,
    difficulty_to_bits,
)
from minerwatch.days import utc_today
from minerwatch.errors import InputError
from minerwatch.sources.table import (
    parse_date,
    parse_float,
    parse_int,
    parse_price_usd,
    read_csv,
    reject_conflicting_duplicates,
)

DEFAULT_PRICE_SOURCE = "csv"
GENESIS_TIME = 1_231_006_505  # header time of block 0, unix seconds
# Typo guards far beyond any real value: heights stay below 2**31 (the store's INTEGER),
# block times before the year 2200.
MAX_HEIGHT = 2**31 - 1
MAX_TIME = 7_258_118_400


@dataclass(frozen=True, kw_only=True)
class FileRows:
    """What a reader keeps beside a file's columns: the file (``origin``) and the 1-based
    line of each row, for errors found after reading, and the reader's notes. ``len()`` is
    the number of rows."""

    origin: str
    lines: np.ndarray
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.lines)


@dataclass(frozen=True)
class DailyPrices(FileRows):
    """Daily closes: ``day`` (datetime64[D], ascending, unique), ``close_usd`` (float64),
    ``source`` (object array of source names)."""

    day: np.ndarray
    close_usd: np.ndarray
    source: np.ndarray


@dataclass(frozen=True)
class Epochs(FileRows):
    """Difficulty epochs: ``start_height`` (int64, multiples of 2016), ``difficulty``
    (float64, exact: the difficulty of ``bits``), ``bits`` (int64 compact target),
    ``start_time`` (int64 unix seconds, -1 where unknown)."""

    start_height: np.ndarray
    difficulty: np.ndarray
    bits: np.ndarray
    start_time: np.ndarray


def read_prices(path: str | Path, source: str | None = None) -> DailyPrices:
    """Read ``date,close_usd[,source]``: the BTC/USD close of each UTC day.

    ``source`` names where the prices come from when the file has no ``source`` column
    (default ``"csv"``). Each close must be a number > 0; one row per (date, source).
    """
    table = read_csv(path, ["date", "close_usd"], optional=["source"])
    if source is not None and table.has("source"):
        raise InputError(
            f"the file has a source column, so `source` {source!r} would be ignored; "
            "drop one of them",
            path=table.origin,
            line=1,
        )
    day = parse_date(table, "date", earliest=GENESIS_DAY, latest=utc_today() + 1)
    close = parse_price_usd(table, "close_usd")
    if table.has("source"):
        names = table.columns["source"].astype(str)
        empty = np.char.str_len(names) == 0
        if empty.any():
            raise table.error(int(np.flatnonzero(empty)[0]), "source", "empty source name")
    else:
        names = np.full(len(table), source or DEFAULT_PRICE_SOURCE, dtype=object)
    # One close per (day, source): keys combine both so two sources may share a day.
    key = np.char.add(day.astype(str), np.char.add("|", names.astype(str)))
    keep = reject_conflicting_duplicates(table, key, "date", ["close_usd"])
    return DailyPrices(
        day[keep],
        close[keep],
        names[keep].astype(object),
        origin=table.origin,
        lines=table.lines[keep],
        notes=tuple(table.notes),
    )


def read_epochs(path: str | Path) -> Epochs:
    """Read ``start_height,difficulty[,start_time]``: one row per difficulty epoch.

    ``start_height`` must be a multiple of 2016; ``difficulty`` >= 1 and a real compact-bits
    difficulty; ``start_time`` unix seconds or empty.
    """
    table = read_csv(path, ["start_height", "difficulty"], optional=["start_time"])
    height, _ = parse_int(
        table, "start_height", minimum=0, maximum=MAX_HEIGHT, expected="a block height"
    )
    off_grid = height % RETARGET_INTERVAL != 0
    if off_grid.any():
        i = int(np.flatnonzero(off_grid)[0])
        raise table.error(i, "start_height", f"{height[i]} is not a multiple of 2016")
    difficulty = parse_float(table, "difficulty", minimum=1.0, expected="a difficulty >= 1")
    if table.has("start_time"):
        start_time, unknown = parse_int(
            table,
            "start_time",
            allow_empty=True,
            minimum=GENESIS_TIME,
            maximum=MAX_TIME,
            expected="unix seconds",
        )
        start_time = np.where(unknown, -1, start_time)
    else:
        start_time = np.full(len(table), -1, np.int64)
    keep = reject_conflicting_duplicates(
        table,
        height,
        "start_height",
        ["difficulty", "start_time"] if table.has("start_time") else ["difficulty"],
    )
    # Old checkpoints print difficulty rounded (e.g. "1.1829"): match the compact bits whose
    # difficulty rounds to the cell at the precision it was written with.
    cells = table.columns["difficulty"].astype(str)
    frac = np.char.partition(cells, ".")[..., 2]
    decimals = np.where(np.char.isdigit(frac), np.char.str_len(frac), -1)
    bits = np.empty(len(keep), np.int64)
    for j, i in enumerate(keep):  # one compact encoding per epoch (~460 rows)
        try:
            bits[j] = difficulty_to_bits(
                float(difficulty[i]), decimals=int(decimals[i]) if decimals[i] >= 0 else None
            )
        except InputError as exc:
            raise table.error(int(i), "difficulty", exc.reason) from None
    exact = np.array([bits_to_difficulty(int(b)) for b in bits], np.float64)
    rounded = int((exact != difficulty[keep]).sum())
    if rounded:
        table.notes.append(
            f"{rounded} difficulty value(s) were written rounded; stored as the exact "
            "difficulty of their compact bits"
        )
    return Epochs(
        height[keep],
        exact,
        bits,
        start_time[keep],
        origin=table.origin,
        lines=table.lines[keep],
        notes=tuple(table.notes),
    )
