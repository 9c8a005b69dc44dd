"""Block intervals: mean, median and slow blocks over the last day, week and epoch.

The interval of block ``h`` is ``t(h) - t(h - 1)``, seconds, between header times of
consecutive heights (defined only where both blocks are in the data). Header times are not
monotonic (Bitcoin Core accepts a block stamped later than the median of the previous 11
and less than 2 hours ahead), so an interval can be negative: a block stamped before its
parent. Such intervals are kept as they are, in the mean and in the median. In the mean
they cancel against the longer interval beside them, so the mean over ``n`` consecutive
blocks telescopes to ``(t_last - t_first) / (n - 1)`` (first and last by height), the
figure a timestamp-ordered count would give; the median sees them as short intervals.
A slow block is one whose interval exceeds 30 or 60 minutes (strictly): many of them in a
short window, beyond what Poisson arrivals at the difficulty's rate give (e^-3 = 5% of
intervals exceed 30 minutes at a 10-minute mean, e^-6 = 0.25% exceed 60), is the mark of
hashrate switched off (curtailment, storms).

Windows as of an end time ``T`` (exclusive; for a UTC day, the midnight after it):

- ``1d``, ``7d``: blocks with header time in ``[T - days * 86400, T)``, and the intervals
  between consecutive heights both in the window (``n`` blocks give ``n - 1`` intervals).
  The block count equals the daily count of blocks by header time (Coin Metrics
  ``BlkCnt``).
- ``epoch``: the blocks of the current difficulty epoch (the epoch of the highest block with
  time before ``T``), from its first block up to that block.

From daily block counts alone (no per-block data), only means exist: ``days * 1440 /
blocks`` for the day windows (the time elapsed per block), and for the epoch ``(T -
t_first) / (blocks since the first)``, with the epoch's first block time from the epochs
table.

References: Bitcoin Core ``src/validation.cpp`` (``ContextualCheckBlockHeader``: the
median-time-past and 2-hour rules); Nakamoto (2008) section 11 (Poisson block arrivals).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerwatch.chain.consensus import RETARGET_INTERVAL
from minerwatch.serialize import Jsonable
from minerwatch.units import MINUTES_PER_DAY, SECONDS_PER_DAY

#: Slow-block thresholds, minutes.
SLOW_THRESHOLDS_MIN = (30, 60)
#: Trailing time windows, days.
TIME_WINDOWS_DAYS = {"1d": 1, "7d": 7}
WINDOW_KEYS = (*TIME_WINDOWS_DAYS, "epoch")


@dataclass(frozen=True)
class IntervalStats(Jsonable):
    """Block intervals over one window: ``mean_min`` and ``median_min`` (minutes),
    ``slow_30m`` and ``slow_60m`` (intervals longer than 30 and 60 minutes), ``blocks``
    (blocks in the window). None where not known (no interval, or daily counts only)."""

    mean_min: float | None
    median_min: float | None
    slow_30m: int | None
    slow_60m: int | None
    blocks: int | None


UNKNOWN = IntervalStats(None, None, None, None, None)


def intervals_s(heights: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Interval ending at each block, seconds: ``t[i] - t[i - 1]`` where ``heights[i] ==
    heights[i - 1] + 1``, NaN where the previous height is absent (and for the first block).

    Parameters
    ----------
    heights : ndarray of int
        Block heights, ascending.
    times : ndarray of int
        Header times, unix seconds.

    Returns
    -------
    ndarray of float64
        Seconds, same length; negative where a block is stamped before its parent.
    """
    heights = np.asarray(heights, np.int64)
    times = np.asarray(times, np.int64)
    out = np.full(len(heights), np.nan)
    if len(heights) > 1:
        consecutive = np.diff(heights) == 1
        out[1:] = np.where(consecutive, np.diff(times), np.nan)
    return out


def interval_stats(heights: np.ndarray, times: np.ndarray) -> IntervalStats:
    """Mean and median interval (minutes) and slow-block counts over the given blocks.

    Formula: over the intervals ``d_i`` between consecutive heights (seconds), ``mean =
    sum(d_i) / k / 60``, ``median = median(d_i) / 60``, ``slow_Xm = #{d_i > X * 60}``;
    ``blocks`` is the number of blocks given. Mean and median are None without intervals.
    """
    d = intervals_s(heights, times)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return IntervalStats(None, None, 0, 0, len(heights))
    slow = [int((d > m * 60).sum()) for m in SLOW_THRESHOLDS_MIN]
    return IntervalStats(
        mean_min=float(d.mean() / 60.0),
        median_min=float(np.median(d) / 60.0),
        slow_30m=slow[0],
        slow_60m=slow[1],
        blocks=len(heights),
    )


def block_interval_windows(
    heights: np.ndarray, times: np.ndarray, end_time: int
) -> dict[str, IntervalStats | None]:
    """Interval statistics over the last 1 day, 7 days and the current epoch before
    ``end_time`` (unix seconds, exclusive), from per-block header times.

    See the module docstring for the windows. A window the data does not reach back across
    is None: a day window needs a block stamped before its start, the epoch window the
    epoch's first block (heights are taken as consecutive from there; a missing height
    only drops the intervals touching it).

    Parameters
    ----------
    heights : ndarray of int
        Block heights, ascending (blocks with time >= ``end_time`` are ignored).
    times : ndarray of int
        Header times, unix seconds.
    end_time : int
        End of the windows, unix seconds, exclusive.

    Returns
    -------
    dict
        ``{"1d": IntervalStats | None, "7d": ..., "epoch": ...}``.
    """
    heights = np.asarray(heights, np.int64)
    times = np.asarray(times, np.int64)
    before = times < end_time
    heights, times = heights[before], times[before]
    out: dict[str, IntervalStats | None] = {}
    for key, days in TIME_WINDOWS_DAYS.items():
        start = end_time - days * SECONDS_PER_DAY
        inside = times >= start
        covered = bool((~inside).any())
        out[key] = interval_stats(heights[inside], times[inside]) if covered else None
    if len(heights) == 0:
        out["epoch"] = None
        return out
    last = int(heights[-1])
    first = last - last % RETARGET_INTERVAL
    if heights[0] > first:
        out["epoch"] = None
    else:
        inside = heights >= first
        out["epoch"] = interval_stats(heights[inside], times[inside])
    return out


def epoch_mean_interval_min_daily(
    end_height: np.ndarray,
    day_end_time: np.ndarray,
    epoch_start_height: np.ndarray,
    epoch_start_time: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean block interval of the current epoch at the end of each day, from daily counts.

    Formula: ``(T - t_first) / (h - s) / 60`` minutes, with ``h`` the day's last height,
    ``s`` the first height of its epoch, ``t_first`` that block's time (epochs table) and
    ``T`` the day's end: the time since the epoch's first block per block found since.
    An epoch whose first block came at or after ``T`` is not yet in force (daily heights
    run a few blocks ahead of the chain): the previous epoch is used.

    Parameters
    ----------
    end_height : ndarray of int
        Height of each day's last block (-1 unknown).
    day_end_time : ndarray of int
        End of each day, unix seconds.
    epoch_start_height, epoch_start_time : ndarray of int
        The epochs table, ascending (time -1 where unknown).

    Returns
    -------
    (mean_min, blocks)
        Minutes (NaN where the epoch's start time or the height is unknown, or no block
        followed the first) and blocks of the epoch up to the day's end (-1 unknown).
    """
    h = np.asarray(end_height, np.int64)
    t_end = np.asarray(day_end_time, np.int64)
    starts = np.asarray(epoch_start_height, np.int64)
    start_times = np.asarray(epoch_start_time, np.int64)
    mean = np.full(len(h), np.nan)
    blocks = np.full(len(h), -1, np.int64)
    if len(starts) == 0:
        return mean, blocks
    idx = np.searchsorted(starts, h - h % RETARGET_INTERVAL)
    idx_c = np.clip(idx, 0, len(starts) - 1)
    found = (h >= 0) & (idx < len(starts)) & (starts[idx_c] == h - h % RETARGET_INTERVAL)
    not_yet = found & (start_times[idx_c] >= t_end) & (idx_c > 0)
    not_yet &= starts[np.clip(idx_c - 1, 0, None)] == starts[idx_c] - RETARGET_INTERVAL
    idx_c = np.where(not_yet, idx_c - 1, idx_c)
    s, ts = starts[idx_c], start_times[idx_c]
    h = np.minimum(h, s + RETARGET_INTERVAL - 1)  # the previous epoch ends at its 2016th block
    ok = found & (ts >= 0) & (ts < t_end) & (h > s)
    mean[ok] = (t_end[ok] - ts[ok]) / (h[ok] - s[ok]) / 60.0
    blocks = np.where(found & (h >= s), h - s + 1, -1)
    return mean, blocks


def daily_interval_windows(
    blocks: np.ndarray,
    end_height: np.ndarray,
    day_end_time: np.ndarray,
    row: int,
    epoch_start_height: np.ndarray,
    epoch_start_time: np.ndarray,
) -> dict[str, IntervalStats]:
    """The windows of :func:`block_interval_windows` from daily block counts: means only.

    ``1d`` and ``7d``: ``days * 1440 / sum(blocks)`` minutes over the trailing days ending
    at ``row`` (None before a whole window exists or without blocks); ``epoch``:
    :func:`epoch_mean_interval_min_daily`. Medians and slow-block counts need block times:
    None.
    """
    blocks = np.asarray(blocks, np.int64)
    out: dict[str, IntervalStats] = {}
    for key, days in TIME_WINDOWS_DAYS.items():
        if row + 1 < days:
            out[key] = UNKNOWN
            continue
        n = int(blocks[row + 1 - days : row + 1].sum())
        mean = days * MINUTES_PER_DAY / n if n > 0 else None
        out[key] = IntervalStats(mean, None, None, None, n)
    epoch_mean, count = epoch_mean_interval_min_daily(
        end_height[row : row + 1], day_end_time[row : row + 1], epoch_start_height, epoch_start_time
    )
    out["epoch"] = IntervalStats(
        float(epoch_mean[0]) if np.isfinite(epoch_mean[0]) else None,
        None,
        None,
        None,
        int(count[0]) if count[0] >= 0 else None,
    )
    return out
