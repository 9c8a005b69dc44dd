"""Pool shares of the blocks of a window: counts, binomial intervals, empty blocks.

Windows as of an end time ``T`` (unix seconds, exclusive; for a UTC day, the midnight
after it), over blocks with header time before ``T`` (:func:`window_index`):

- ``Nd`` (``1d``, ``7d``, ``30d``): header time in ``[T - N * 86400, T)``;
- ``epoch``: the current difficulty epoch so far: the blocks of the epoch of the highest
  block stamped before ``T``, from its first block up;
- ``N`` blocks: the ``N`` highest blocks stamped before ``T``.

The share of a pool is ``k / n``: ``k`` of its blocks among the ``n`` blocks of the window
whose pool is known or known to be unknown (the block carries its coinbase). Each block is
a draw in which the pool finds it with probability ``p``, its share of the hashrate, so
``k ~ Binomial(n, p)`` and the interval is a binomial one (:func:`wilson_interval`).

Why Wilson's score interval: its coverage stays close to the nominal level for small
shares and small windows where the Wald interval ``p +- z sqrt(p(1-p)/n)`` collapses (a
pool with 0 or 1 block of 144), it never leaves [0, 1], it has a closed form (vectorised
over every pool at once with the project's normal quantile), and, unlike Clopper-Pearson's
exact interval, it is not conservative: Clopper-Pearson's coverage is at least 90% for
every ``p`` and so typically well above it, wider than the evidence needs (Brown, Cai &
DasGupta 2001 recommend Wilson's for this reason).

References
----------
E. B. Wilson, *Probable inference, the law of succession, and statistical inference*,
JASA 22 (1927) 209-212. L. D. Brown, T. T. Cai, A. DasGupta, *Interval estimation for a
binomial proportion*, Statistical Science 16 (2001) 101-133.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerwatch.chain.consensus import RETARGET_INTERVAL
from minerwatch.errors import InputError
from minerwatch.metrics.estimators import DEFAULT_CONFIDENCE, norm_ppf
from minerwatch.units import SECONDS_PER_DAY

#: ``None`` as a NumPy object, for elementwise comparison with object arrays.
NONE = np.array(None, dtype=object)
#: The day windows, days.
DAY_WINDOWS = {"1d": 1, "7d": 7, "30d": 30}
EPOCH_WINDOW = "epoch"


@dataclass(frozen=True)
class Window:
    """A window: ``days`` (a day window), ``blocks`` (the last N blocks), or neither (the
    current epoch). ``key`` is how it was asked (``7d``, ``epoch``, ``144``)."""

    key: str
    days: int | None = None
    blocks: int | None = None


def parse_window(text: str) -> Window:
    """``1d``, ``7d``, ``30d``, ``epoch`` or a number of blocks (>= 1); an
    :class:`InputError` naming ``window`` otherwise."""
    key = str(text).strip().lower()
    if key in DAY_WINDOWS:
        return Window(key, days=DAY_WINDOWS[key])
    if key == EPOCH_WINDOW:
        return Window(key)
    if key.isdigit() and int(key) >= 1:
        return Window(key, blocks=int(key))
    raise InputError(
        f"window {text!r} is not a window; expected 1d, 7d, 30d, epoch or a number of "
        "blocks (for example 144)",
        parameter="window",
    )


def window_index(heights: np.ndarray, times: np.ndarray, end_s: int, window: Window) -> np.ndarray:
    """Indices (ascending height) of the blocks of ``window`` ending at ``end_s``.

    Parameters
    ----------
    heights, times : ndarray of int
        Blocks held, ascending by height; header times, unix seconds.
    end_s : int
        End of the window, unix seconds, exclusive.
    window : Window
        See the module docstring.

    Returns
    -------
    ndarray of int
        Indices into ``heights``; empty where no block is stamped before ``end_s``.
    """
    heights = np.asarray(heights, np.int64)
    times = np.asarray(times, np.int64)
    before = np.flatnonzero(times < end_s)
    if window.days is not None:
        return before[times[before] >= end_s - window.days * SECONDS_PER_DAY]
    if window.blocks is not None:
        return before[-window.blocks :]
    if not before.size:
        return before
    tip = int(heights[before[-1]])
    return before[heights[before] >= tip - tip % RETARGET_INTERVAL]


def wilson_interval(
    k: np.ndarray, n: np.ndarray, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson's score interval for binomial proportions ``k / n``.

    Formula: with ``p = k / n`` and ``z`` the normal quantile of ``1 - (1 - c) / 2``,
    ``(p + z**2 / (2n) -+ z sqrt(p (1 - p) / n + z**2 / (4 n**2))) / (1 + z**2 / n)``:
    the ``p0`` for which the score test ``|p - p0| / sqrt(p0 (1 - p0) / n) <= z``
    accepts.

    Parameters
    ----------
    k : array_like
        Successes (a pool's blocks), ``0 <= k <= n``.
    n : array_like
        Trials (blocks of the window), ``> 0`` (NaN bounds where 0).
    confidence : float, default 0.9
        Central confidence.

    Returns
    -------
    (low, high) : tuple of ndarray
        Bounds of the proportion, in [0, 1].

    References
    ----------
    E. B. Wilson (1927); Brown, Cai & DasGupta (2001), eq. 4.
    """
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be in (0, 1), got {confidence!r}")
    k = np.asarray(k, np.float64)
    n = np.asarray(n, np.float64)
    z = float(norm_ppf(1.0 - (1.0 - confidence) / 2.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        z2n = z * z / n
        centre = (p + z2n / 2.0) / (1.0 + z2n)
        half = z * np.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n)) / (1.0 + z2n)
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


@dataclass(frozen=True)
class PoolCounts:
    """Blocks per pool of a window, most blocks first (then by name), unknown apart.

    ``name`` (object), ``blocks``, ``empty_blocks`` (blocks with one transaction, the
    coinbase), ``tx_count_known`` (blocks whose transaction count is known): int64
    arrays, one per pool; ``unknown_*``: the same for the blocks no pool was identified
    for."""

    name: np.ndarray
    blocks: np.ndarray
    empty_blocks: np.ndarray
    tx_count_known: np.ndarray
    unknown_blocks: int
    unknown_empty_blocks: int
    unknown_tx_count_known: int

    @property
    def total(self) -> int:
        """Blocks counted: every pool's and the unknown ones."""
        return int(self.blocks.sum()) + self.unknown_blocks


def pool_counts(pool: np.ndarray, tx_count: np.ndarray) -> PoolCounts:
    """Count the blocks of each pool (None: unknown) and their empty blocks.

    Parameters
    ----------
    pool : ndarray of object
        Each block's pool name, None unknown.
    tx_count : ndarray of int
        Each block's transaction count including the coinbase, -1 unknown; 1 is an empty
        block.
    """
    pool = np.asarray(pool, dtype=object)
    tx = np.asarray(tx_count, np.int64)
    known = np.not_equal(pool, NONE)
    names, inverse = np.unique(pool[known].astype(str), return_inverse=True)
    size = len(names)
    blocks = np.bincount(inverse, minlength=size)
    empty = np.bincount(inverse, weights=tx[known] == 1, minlength=size).astype(np.int64)
    counted = np.bincount(inverse, weights=tx[known] >= 1, minlength=size).astype(np.int64)
    order = np.lexsort((names, -blocks))
    return PoolCounts(
        name=names[order].astype(object),
        blocks=blocks[order].astype(np.int64),
        empty_blocks=empty[order],
        tx_count_known=counted[order],
        unknown_blocks=int((~known).sum()),
        unknown_empty_blocks=int((tx[~known] == 1).sum()),
        unknown_tx_count_known=int((tx[~known] >= 1).sum()),
    )
