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
    hour_s = np.asarray(hour_s, np.int64)
    done = hour_s + HOUR_S <= now_s
    quotes = np.asarray(quote).astype(str)
    for wanted in ("USD", "USDT"):
        rows = np.flatnonzero(done & (quotes == wanted))
        if len(rows):
            names = np.asarray(source).astype(str)[rows]
            # Latest hour first, then the first source by name.
            best = rows[np.lexsort((names, -hour_s[rows]))[0]]
            return PriceNow(
                float(close[best]), wanted, int(hour_s[best]) + HOUR_S, str(source[best])
            )
    return None
