"""Network hashrate from daily block counts and difficulty.

Daily estimator (Coin Metrics ``HashRate``): the work of a day's blocks over the day,
``H = blocks * D * 2**32 / 86400`` in H/s, where ``D * 2**32`` is the expected number of
hashes per block at difficulty ``D`` (Bitcoin Core ``GetDifficulty``; Nakamoto 2008).
A window of ``n`` days is the work of the window's blocks over its length, which equals
the mean of the daily estimates. Block arrivals are Poisson, so the relative standard
error of an estimate from ``k`` blocks is about ``1 / sqrt(k)``: 8.3% for one day
(144 blocks), 3.1% for a week (1,008 blocks).
"""

from __future__ import annotations

import numpy as np

from minerwatch.chain.consensus import HASHES_PER_DIFFICULTY
from minerwatch.metrics.rolling import trailing_sum
from minerwatch.units import MINUTES_PER_DAY, SECONDS_PER_DAY

ESTIMATOR = "daily blocks x mean difficulty x 2^32 / 86400 s (Coin Metrics' HashRate definition)"


def work_hashes(blocks: np.ndarray, difficulty_mean: np.ndarray) -> np.ndarray:
    """Expected hashes done per day: ``blocks * D_mean * 2**32`` (0 on days without blocks)."""
    blocks = np.asarray(blocks, np.float64)
    return np.where(
        blocks > 0, blocks * np.nan_to_num(difficulty_mean) * HASHES_PER_DIFFICULTY, 0.0
    )


def hashrate_hs(
    blocks: np.ndarray, difficulty_mean: np.ndarray, window_days: int = 1
) -> np.ndarray:
    """Mean hashrate over the trailing ``window_days`` days, H/s.

    ``H = sum(blocks_i * D_i) * 2**32 / (window_days * 86400)``. NaN until a whole window
    of data exists.
    """
    return trailing_sum(work_hashes(blocks, difficulty_mean), window_days) / (
        window_days * SECONDS_PER_DAY
    )


def block_interval_min(blocks: np.ndarray, window_days: int = 7) -> np.ndarray:
    """Mean minutes between blocks over the trailing window: ``window * 1440 / blocks``."""
    count = trailing_sum(np.asarray(blocks, np.float64), window_days)
    with np.errstate(divide="ignore"):
        return np.where(count > 0, window_days * MINUTES_PER_DAY / count, np.nan)
