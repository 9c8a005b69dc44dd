"""A daily BTC/USD index over the exchanges' closes, and the intraday "price now".

Index of day D: the median of the USD exchanges' closes of D (the candle of D closing at
D+1 00:00 UTC; sources :data:`~minerwatch.sources.exchanges.USD_SOURCES`: Coinbase,
Kraken, Bitstamp), with the number of sources that had the day and their spread,
``(max - min) / median``. The median of an even count is the mean of the two middle closes
(``numpy.median``). Left out:

- USDT closes (Binance), always: USDT is not USD (it traded from 0.95 to 1.05 USD in
  stress), and mixing quotes would make the spread measure the peg, not the market; a day
  held only by Binance has no index;
- Coin Metrics' ``PriceUSD`` and closes imported from files: they stay references beside
  the index, not members of it.

"Price now": the latest complete hourly close (its candle has closed), USD quotes first;
USDT only when no USD exchange has hourly closes; ties at the same hour go to the first
source by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerwatch.sources.exchanges import HOUR_S, USD_SOURCES


@dataclass(frozen=True)
class PriceIndex:
    """Index per day, ascending (arrays of equal length): ``day`` (datetime64[D]),
    ``index_usd`` (float64, median close), ``sources`` (int64, closes in the median),
    ``spread`` (float64, ``(max - min) / median``, 0 with one source)."""

    day: np.ndarray
    index_usd: np.ndarray
    sources: np.ndarray
    spread: np.ndarray

    def at(self, day: np.datetime64) -> tuple[float, int, float] | None:
        """(index, sources, spread) of ``day``, or None when no source has it."""
        i = int(np.searchsorted(self.day, day))
        if i < len(self.day) and self.day[i] == day:
            return float(self.index_usd[i]), int(self.sources[i]), float(self.spread[i])
        return None


def price_index(
    day: np.ndarray,
    source: np.ndarray,
    close_usd: np.ndarray,
    members: tuple[str, ...] = USD_SOURCES,
) -> PriceIndex:
    """The daily index over the closes of ``members`` among stored rows (``day``,
    ``source``, ``close_usd`` as :meth:`~minerwatch.store.Store.read_prices` gives them,
    one close per day and source); vectorised over days (see the module docstring)."""
    names = np.asarray(source).astype(str)
    keep = np.isin(names, list(members)) & np.isfinite(close_usd)
    days, row = np.unique(np.asarray(day, "datetime64[D]")[keep], return_inverse=True)
    if len(days) == 0:
        empty = np.zeros(0)
        return PriceIndex(days, empty, np.zeros(0, np.int64), empty)
    _, col = np.unique(names[keep], return_inverse=True)
    grid = np.full((len(days), int(col.max()) + 1), np.nan)
    grid[row, col] = np.asarray(close_usd, np.float64)[keep]
    median = np.nanmedian(grid, axis=1)
    spread = (np.nanmax(grid, axis=1) - np.nanmin(grid, axis=1)) / median
    return PriceIndex(days, median, np.isfinite(grid).sum(axis=1).astype(np.int64), spread)


@dataclass(frozen=True)
class PriceNow:
    """The latest complete hourly close: ``close`` (in ``quote``), ``close_time_s`` (unix
    seconds at which the candle closed: its hour's start + 3,600), ``source``."""

    close: float
    quote: str
    close_time_s: int
    source: str


def price_now(
    hour_s: np.ndarray, source: np.ndarray, quote: np.ndarray, close: np.ndarray, now_s: int
) -> PriceNow | None:
    """The "price now" among hourly closes (``hour_s``: each hour's start, unix seconds) of
    candles closed by ``now_s``; None when there are none (see the module docstring)."""
    row = price_now_rows(hour_s, source, quote, np.array([now_s], np.int64))[0]
    if row < 0:
        return None
    return PriceNow(float(close[row]), str(quote[row]), int(hour_s[row]) + HOUR_S, str(source[row]))


def price_now_rows(
    hour_s: np.ndarray, source: np.ndarray, quote: np.ndarray, at_s: np.ndarray
) -> np.ndarray:
    """The row of the "price now" at each moment of ``at_s`` (unix seconds), -1 where no
    candle had closed: vectorised over the moments. The USD rows are sorted by close time
    and, within an hour, by source name descending, so the last row closed by a moment is
    the latest hour's first source by name; USDT rows only where no USD row exists."""
    hour_s = np.asarray(hour_s, np.int64)
    at_s = np.asarray(at_s, np.int64)
    quotes = np.asarray(quote).astype(str)
    names = np.asarray(source).astype(str)
    out = np.full(len(at_s), -1, np.int64)
    for wanted in ("USD", "USDT"):
        rows = np.flatnonzero(quotes == wanted)
        if not len(rows):
            continue
        _, name_rank = np.unique(names[rows], return_inverse=True)
        rows = rows[np.lexsort((-name_rank, hour_s[rows]))]
        k = np.searchsorted(hour_s[rows] + HOUR_S, at_s, side="right") - 1
        pick = np.where(k >= 0, rows[np.maximum(k, 0)], -1)
        out = np.where(out >= 0, out, pick)
    return out
