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


#: The statistics of a window, as :class:`IntervalStats` names them.
STAT_KEYS = ("mean_min", "median_min", "slow_30m", "slow_60m", "blocks")
#: Cells gathered at once when the medians of many windows are taken together.
_GATHER_CELLS = 2_000_000


def _window_stats(
    d_s: np.ndarray, member_lo: np.ndarray, lo: np.ndarray, hi: np.ndarray, floor: np.ndarray
) -> dict[str, np.ndarray]:
    """Mean, median (minutes) and slow counts of the intervals ``d_s[lo:hi]`` whose
    ``member_lo`` is at least ``floor``, one window per row of ``lo``/``hi``/``floor``:
    gathered in chunks of rows into a padded matrix (NaN outside the window)."""
    rows = len(lo)
    out = {k: np.full(rows, np.nan) for k in ("mean_min", "median_min", "slow_30m", "slow_60m")}
    width = np.maximum(hi - lo, 0)
    span = max(int(width.max(initial=0)), 1)
    step = max(1, _GATHER_CELLS // span)
    for r in range(0, rows, step):
        stop = min(r + step, rows)
        idx = lo[r:stop, None] + np.arange(span)[None, :]
        valid = idx < hi[r:stop, None]
        idx = np.minimum(idx, max(len(d_s) - 1, 0))
        if len(d_s):
            valid &= member_lo[idx] >= floor[r:stop, None]
            cells = np.where(valid, d_s[idx], np.nan)
        else:
            cells = np.full(idx.shape, np.nan)
        k = valid.sum(axis=1)
        some = k > 0
        with np.errstate(all="ignore"):
            out["mean_min"][r:stop] = np.where(some, np.nansum(cells, axis=1) / k / 60.0, np.nan)
            if some.any():
                med = np.full(stop - r, np.nan)
                med[some] = np.nanmedian(cells[some], axis=1) / 60.0
                out["median_min"][r:stop] = med
        for m in SLOW_THRESHOLDS_MIN:
            out[f"slow_{m}m"][r:stop] = (np.nan_to_num(cells, nan=-np.inf) > m * 60).sum(axis=1)
    return out


def block_interval_series(
    heights: np.ndarray, times: np.ndarray, day_end_time: np.ndarray
) -> dict[str, np.ndarray]:
    """:func:`block_interval_windows` at the end of every day at once, vectorised.

    ``heights``/``times``: the stored blocks (ascending heights, unique), ``day_end_time``:
    each day's end (unix seconds, exclusive). Returns ``"<window>.<stat>"`` arrays for the
    windows ``1d``, ``7d``, ``epoch`` and the :data:`STAT_KEYS` (float64; NaN where the
    window is None or the statistic unknown), ``"held"`` (bool): the day has a block
    stamped on it and the 1-day window is covered, when ``status`` reads its intervals from
    the blocks (:func:`~minerwatch.analyses.status.block_intervals_at`), and
    ``"tip_height"``: the highest block stamped before the day's end where one is stamped
    on the day and the blocks reach back to its epoch's first (NaN otherwise; then the
    difficulty outlook of the day reads blocks, and its height is this one).

    Formula: an interval ``t(h) - t(h - 1)`` is in a day window ``[S, T)`` when both
    blocks are (the earlier of the two times at or after ``S``, the later before ``T``),
    and in the epoch window when block ``h - 1`` is of the epoch of the highest block
    stamped before ``T`` and both are stamped before ``T``; the statistics are those of
    :func:`interval_stats` over the members.
    """
    h = np.asarray(heights, np.int64)
    t = np.asarray(times, np.int64)
    end = np.asarray(day_end_time, np.int64)
    n = len(end)
    out: dict[str, np.ndarray] = {
        f"{w}.{s}": np.full(n, np.nan) for w in WINDOW_KEYS for s in STAT_KEYS
    }
    out["held"] = np.zeros(n, bool)
    out["tip_height"] = np.full(n, np.nan)
    if len(h) == 0 or n == 0:
        return out
    consecutive = np.diff(h) == 1
    d_s = np.diff(t)[consecutive].astype(np.float64)
    lo_t = np.minimum(t[:-1], t[1:])[consecutive]
    hi_t = np.maximum(t[:-1], t[1:])[consecutive]
    prev_h = h[:-1][consecutive]
    t_sorted = np.sort(t)
    before_end = np.searchsorted(t_sorted, end)  # blocks stamped before each day's end
    covered_1d = np.zeros(n, bool)
    by_hi = np.argsort(hi_t, kind="stable")
    hi_sorted = hi_t[by_hi]
    for key, days in TIME_WINDOWS_DAYS.items():
        start = end - days * SECONDS_PER_DAY
        covered = t_sorted[0] < start
        if key == "1d":
            covered_1d = covered & (before_end - np.searchsorted(t_sorted, start) > 0)
        stats = _window_stats(
            d_s[by_hi],
            lo_t[by_hi],
            np.searchsorted(hi_sorted, start),
            np.searchsorted(hi_sorted, end),
            start,
        )
        stats["blocks"] = (before_end - np.searchsorted(t_sorted, start)).astype(np.float64)
        for s in STAT_KEYS:
            out[f"{key}.{s}"] = np.where(covered, stats[s], np.nan)
    out["held"] = covered_1d
    # The epoch of the highest block stamped before each day's end.
    by_time = np.argsort(t, kind="stable")
    top = np.maximum.accumulate(h[by_time])
    bottom = np.minimum.accumulate(h[by_time])
    some = before_end > 0
    last = np.where(some, top[np.maximum(before_end - 1, 0)], -1)
    lowest = np.where(some, bottom[np.maximum(before_end - 1, 0)], -1)
    epoch = np.where(some, last // RETARGET_INTERVAL, -1)
    reaches = some & (lowest <= epoch * RETARGET_INTERVAL)
    shift = np.int64(1) << 34  # above every header time (uint32)
    key_i = (prev_h // RETARGET_INTERVAL) * shift + hi_t
    by_key = np.argsort(key_i, kind="stable")
    keys = key_i[by_key]
    first = np.searchsorted(keys, epoch * shift)
    stop = np.searchsorted(keys, epoch * shift + end)
    stats = _window_stats(d_s[by_key], np.zeros(len(keys)), first, stop, np.zeros(n))
    key_b = np.sort((h // RETARGET_INTERVAL) * shift + t)
    stats["blocks"] = (
        np.searchsorted(key_b, epoch * shift + end) - np.searchsorted(key_b, epoch * shift)
    ).astype(np.float64)
    for s in STAT_KEYS:
        out[f"epoch.{s}"] = np.where(reaches, stats[s], np.nan)
    stamped_on_day = before_end - np.searchsorted(t_sorted, end - SECONDS_PER_DAY) > 0
    tip_time = np.where(reaches, t[np.searchsorted(h, np.maximum(last, h[0]))], -1)
    out["tip_height"] = np.where(
        reaches & stamped_on_day & (tip_time >= end - SECONDS_PER_DAY), last, np.nan
    )
    return out


def daily_interval_series(
    blocks: np.ndarray,
    end_height: np.ndarray,
    day_end_time: np.ndarray,
    epoch_start_height: np.ndarray,
    epoch_start_time: np.ndarray,
) -> dict[str, np.ndarray]:
    """:func:`daily_interval_windows` of every day at once: ``"<window>.<stat>"`` arrays
    (means and block counts; the medians and slow counts NaN, as are days before a whole
    window)."""
    blocks = np.asarray(blocks, np.int64)
    n = len(blocks)
    out = {f"{w}.{s}": np.full(n, np.nan) for w in WINDOW_KEYS for s in STAT_KEYS}
    total = np.concatenate([[0], np.cumsum(blocks)])
    rows = np.arange(n)
    for key, days in TIME_WINDOWS_DAYS.items():
        whole = rows + 1 >= days
        count = (total[rows + 1] - total[np.maximum(rows + 1 - days, 0)]).astype(np.float64)
        with np.errstate(divide="ignore"):
            out[f"{key}.mean_min"] = np.where(
                whole & (count > 0), days * MINUTES_PER_DAY / count, np.nan
            )
        out[f"{key}.blocks"] = np.where(whole, count, np.nan)
    mean, count = epoch_mean_interval_min_daily(
        end_height, day_end_time, epoch_start_height, epoch_start_time
    )
    out["epoch.mean_min"] = mean
    out["epoch.blocks"] = np.where(count >= 0, count, np.nan).astype(np.float64)
    return out
