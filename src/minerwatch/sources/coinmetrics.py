"""Coin Metrics community daily data (``csv/btc.csv`` and the ``asset-metrics`` API).

Both routes give the same columns as text and go through :func:`parse_table`, so a value
is validated the same way whether it came from a file or from the network.

Columns used (Coin Metrics metric IDs):

- ``time``: the UTC day.
- ``BlkCnt``: blocks whose header time falls in the day.
- ``FeeTotNtv``: fees paid in the day's blocks, BTC.
- ``IssTotNtv``: new coins issued in the day's blocks, BTC.
- ``HashRate``: TH/s, defined as ``BlkCnt * mean difficulty * 2**32 / 86400 / 1e12``.
- ``PriceUSD``: the day's close (Coin Metrics reference rate), USD.
- ``SplyCur``: supply at the end of the day, BTC.

Reference: Coin Metrics, *Network Data Pro* metric definitions, and the community data
repository coinmetrics/data (CC BY-NC 4.0: non-commercial use).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minerwatch.chain.consensus import GENESIS_DAY, HASHES_PER_DIFFICULTY
from minerwatch.days import utc_today
from minerwatch.errors import InputError
from minerwatch.sources import rules
from minerwatch.sources.table import (
    Table,
    parse_btc_as_sat,
    parse_date,
    parse_float,
    parse_int,
    parse_price_usd,
    read_csv,
    reject_conflicting_duplicates,
)
from minerwatch.units import SECONDS_PER_DAY

METRICS = ["BlkCnt", "FeeTotNtv", "IssTotNtv", "HashRate", "PriceUSD", "SplyCur"]
REQUIRED_COLUMNS = ["time", *METRICS]
SOURCE = "coinmetrics"
# Plausibility bounds that catch typos and unit mix-ups, far outside anything real: the
# busiest day of 2009-2010 had under 1,000 blocks; 2025's hashrate is ~1e9 TH/s.
MAX_BLOCKS_PER_DAY = 10_000
MAX_HASHRATE_THS = 1e15
MAX_PRICE_USD = rules.MAX_PRICE_USD


@dataclass(frozen=True)
class DailyChain:
    """Daily chain records, one row per UTC day, ascending and unique.

    Arrays: ``day`` (datetime64[D]), ``blocks`` (int64), ``fees_sat``, ``issuance_sat``,
    ``supply_sat`` (int64 satoshis), ``hashrate_ths`` (float64, the source's estimate, TH/s),
    ``difficulty_mean`` (float64, block-weighted mean difficulty of the day's blocks; NaN on
    days without blocks), ``price_usd`` (float64 close, NaN where the source has none).
    """

    day: np.ndarray
    blocks: np.ndarray
    fees_sat: np.ndarray
    issuance_sat: np.ndarray
    supply_sat: np.ndarray
    hashrate_ths: np.ndarray
    difficulty_mean: np.ndarray
    price_usd: np.ndarray
    notes: tuple[str, ...] = ()
    source: str = SOURCE
    #: Where each row came from (for errors naming the line), when known.
    origin: str = ""
    lines: np.ndarray | None = None
    line_label: str = "line"

    def __len__(self) -> int:
        return len(self.day)


def difficulty_from_hashrate(hashrate_ths: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """Mean difficulty of a day's blocks recovered from Coin Metrics' daily hashrate.

    ``D = HashRate[TH/s] * 1e12 * 86400 / (BlkCnt * 2**32)``, the inverse of Coin Metrics'
    definition of ``HashRate``. NaN on days without blocks.
    """
    blocks_f = np.asarray(blocks, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = hashrate_ths * 1e12 * SECONDS_PER_DAY / (blocks_f * HASHES_PER_DIFFICULTY)
    return np.where(blocks_f > 0, d, np.nan)


# A row is complete once its chain metrics are filled in; the current day's row may carry
# a price before they are.
CHAIN_COLUMNS = ("BlkCnt", "FeeTotNtv", "SplyCur")


def complete_rows(table: Table) -> np.ndarray:
    """Boolean mask of rows whose chain metrics (:data:`CHAIN_COLUMNS`) are all filled in."""
    filled = np.ones(len(table), bool)
    for col in CHAIN_COLUMNS:
        filled &= np.char.str_len(table.columns[col].astype(str)) > 0
    return filled


def _drop_partial_tail(table: Table) -> Table:
    """Drop trailing rows whose chain metrics are not yet filled in (the current day)."""
    complete = complete_rows(table)
    n = len(table)
    keep = n
    while keep > 0 and not complete[keep - 1]:
        keep -= 1
    if keep == n:
        return table
    if keep == 0:
        raise table.error(0, "BlkCnt", "no complete row; expected BlkCnt, FeeTotNtv, SplyCur")
    trimmed = table.take(np.arange(keep))
    trimmed.notes.append(
        f"{n - keep} partial trailing row(s) without chain metrics dropped "
        f"(from {table.line_label} {int(table.lines[keep])})"
    )
    return trimmed


def parse_table(table: Table) -> DailyChain:
    """Validate and convert a Coin Metrics table of text cells to :class:`DailyChain`.

    Rules: ``time`` a date; ``BlkCnt`` a whole number >= 0; ``FeeTotNtv``, ``SplyCur`` BTC
    amounts >= 0; ``IssTotNtv`` and ``HashRate`` >= 0, empty only on days without blocks;
    ``HashRate`` > 0 on days with blocks; ``PriceUSD`` > 0 or empty. One row per day:
    identical repeated rows collapse, conflicting ones are an error.
    """
    table = _drop_partial_tail(table)
    day = parse_date(table, "time", earliest=GENESIS_DAY, latest=utc_today() + 1)
    keep = reject_conflicting_duplicates(table, day, "time", METRICS)
    table, day = table.take(keep), day[keep]
    blocks, _ = parse_int(
        table, "BlkCnt", minimum=0, maximum=MAX_BLOCKS_PER_DAY, expected="a block count"
    )
    no_blocks = blocks == 0
    hashrate = parse_float(
        table, "HashRate", allow_empty=no_blocks, minimum=0.0, maximum=MAX_HASHRATE_THS
    )
    zero_hash = (hashrate <= 0) & ~no_blocks
    if zero_hash.any():
        i = int(np.flatnonzero(zero_hash)[0])
        raise table.error(i, "HashRate", "must be > 0 on a day with blocks")
    fees = parse_btc_as_sat(table, "FeeTotNtv")
    issuance = parse_btc_as_sat(table, "IssTotNtv", allow_empty=no_blocks)
    supply = parse_btc_as_sat(table, "SplyCur")
    price = parse_price_usd(table, "PriceUSD", allow_empty=True)
    return DailyChain(
        day=day,
        blocks=blocks,
        fees_sat=fees,
        issuance_sat=issuance,
        supply_sat=supply,
        hashrate_ths=np.where(no_blocks, 0.0, hashrate),
        difficulty_mean=difficulty_from_hashrate(hashrate, blocks),
        price_usd=price,
        notes=tuple(table.notes),
        origin=table.origin,
        lines=table.lines,
        line_label=table.line_label,
    )


def read_file(path: str | Path) -> DailyChain:
    """Read a Coin Metrics community CSV (``csv/btc.csv``); extra columns are ignored."""
    table = read_csv(path, REQUIRED_COLUMNS)
    if len(table) == 0:
        raise InputError("no data rows", path=str(path))
    return parse_table(table)
