"""Trailing-window arithmetic over daily arrays (no look-ahead: row t reads rows <= t)."""

from __future__ import annotations

import numpy as np


def trailing_sum(x: np.ndarray, window: int, *, min_count: int | None = None) -> np.ndarray:
    """Sum of the last ``window`` values ending at each row (NaN values skipped).

    Rows with fewer than ``min_count`` finite values in the window (default: the whole
    window) are NaN. Computed with cumulative sums, O(n).
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    x = np.asarray(x, np.float64)
    finite = np.isfinite(x)
    csum = np.concatenate([[0.0], np.cumsum(np.where(finite, x, 0.0))])
    ccount = np.concatenate([[0], np.cumsum(finite)])
    idx = np.arange(1, len(x) + 1)
    lo = np.maximum(idx - window, 0)
    sums = csum[idx] - csum[lo]
    counts = ccount[idx] - ccount[lo]
    need = window if min_count is None else min_count
    return np.where(counts >= need, sums, np.nan)


def trailing_mean(x: np.ndarray, window: int, *, min_count: int | None = None) -> np.ndarray:
    """Mean of the finite values among the last ``window`` rows (NaN below ``min_count``)."""
    x = np.asarray(x, np.float64)
    finite = np.isfinite(x).astype(np.float64)
    counts = trailing_sum(finite, window, min_count=0)
    sums = trailing_sum(x, window, min_count=min_count)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(sums / counts, np.float64)


def running_max(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All-time high up to each row and the row where it was set (first occurrence).

    NaN values are skipped; rows before the first finite value give NaN and index -1.
    """
    x = np.asarray(x, np.float64)
    finite = np.isfinite(x)
    filled = np.where(finite, x, -np.inf)
    peak = np.maximum.accumulate(filled) if len(x) else filled
    is_new_high = finite & (filled == peak)
    # A new high only where it beats the previous peak: keep the first row of a tie.
    prev_peak = np.concatenate([[-np.inf], peak[:-1]])
    is_new_high &= filled > prev_peak
    where = np.where(is_new_high, np.arange(len(x)), -1)
    np.maximum.accumulate(where, out=where)
    return np.where(np.isfinite(peak), peak, np.nan), where


def change_pct(x: np.ndarray, periods: int) -> np.ndarray:
    """Percent change over ``periods`` rows: ``100 * (x[t] / x[t - periods] - 1)``."""
    x = np.asarray(x, np.float64)
    out = np.full(len(x), np.nan)
    if periods < len(x):
        with np.errstate(invalid="ignore", divide="ignore"):
            out[periods:] = 100.0 * (x[periods:] / x[:-periods] - 1.0)
    return out


def drawdown_pct(x: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """Percent below the peak: ``100 * (x / peak - 1)`` (0 at a new high, negative below)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(100.0 * (np.asarray(x, np.float64) / peak - 1.0), np.float64)
