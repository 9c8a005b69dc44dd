"""Walk-forward predictive distributions and their scores for the retarget forecasts.

A forecast's predictive is given by its quantiles on the grid :data:`PROBS`. Three
forecasters are scored (:func:`minerwatch.analyses.backtest.walk_forward_backtest`):

- **ours**: :func:`minerwatch.models.difficulty.adjustment_quantiles`; its learned parameters
  (the random-walk variance ``q``, the drift and its standard error, hence the level's time
  constant) are refitted at every forecast on the 365 days up to it; the floor of ``q`` and
  the other constants are fixed a priori (see :mod:`minerwatch.models.difficulty`);
- **ours, recalibrated** (:func:`recalibrated_quantiles`): our quantile at ``p`` is moved to
  our quantile at ``G^-1(p)``, where ``G`` is the empirical distribution of the PIT values of
  our earlier forecasts at the same progress level, counting only those whose outcome was
  known strictly before the forecast (an expanding window). Where ours is calibrated,
  ``G^-1(p) = p`` and nothing moves;
- **baseline** (:func:`baseline_quantiles`): mempool.space's point forecast plus the
  empirical quantiles of its own earlier errors at the same level, walk-forward in the same
  way: the interval a user of the baseline could have drawn from its track record. Its
  absolute error is that of mempool.space's own figure (the point), not of this
  distribution's median.

References
----------
V. Kuleshov, N. Fenner, S. Ermon, *Accurate uncertainties for deep learning using calibrated
regression*, ICML (2018): recalibration by the empirical CDF of the PIT. Gneiting & Raftery
(2007): the scores (:mod:`minerwatch.models.scoring`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from minerwatch.models import scoring

#: Quantile grid of the predictives: the CRPS midpoints, the 90% interval's ends, the
#: median, and 0.1% / 99.9% tails for recalibrated quantiles beyond the midpoints.
PROBS = np.unique(np.concatenate([scoring.CRPS_PROBS, [0.001, 0.05, 0.5, 0.95, 0.999]]))
_CRPS_COLS = np.searchsorted(PROBS, scoring.CRPS_PROBS)
_LOW, _MID, _HIGH = (int(np.searchsorted(PROBS, p)) for p in (0.05, 0.5, 0.95))
#: Fewest earlier forecasts at a level before an empirical distribution is drawn from them.
MIN_TRAIN = 20
#: Central confidence of the scored intervals (the interval score's alpha = 0.1).
ALPHA = 0.1


def baseline_quantiles(
    point: ArrayLike,
    train_error: ArrayLike,
    train_known_s: ArrayLike,
    train_level: ArrayLike,
    now_s: ArrayLike,
    level: ArrayLike,
) -> np.ndarray:
    """The baseline's predictive: its point forecast plus the walk-forward empirical
    quantiles of its earlier errors (``outcome - point``) at the same level; shape
    (points, :data:`PROBS`), NaN with fewer than :data:`MIN_TRAIN` earlier errors."""
    q, _ = scoring.walk_forward_quantiles(
        train_error, train_known_s, train_level, now_s, level, PROBS, min_count=MIN_TRAIN
    )
    return np.asarray(np.asarray(point, np.float64)[:, None] + q)


def recalibrated_quantiles(
    quantiles: ArrayLike,
    train_pit: ArrayLike,
    train_known_s: ArrayLike,
    train_level: ArrayLike,
    now_s: ArrayLike,
    level: ArrayLike,
) -> np.ndarray:
    """Quantiles moved by the walk-forward empirical distribution of earlier PIT values.

    Formula: ``Q'(p) = Q(G^-1(p))`` with ``G^-1`` the empirical quantile function of the PIT
    values of the earlier forecasts at the same level known strictly before ``now``, and
    ``Q`` interpolated linearly on :data:`PROBS` (held at its ends beyond them). Where fewer
    than :data:`MIN_TRAIN` earlier values exist, the quantiles are returned unchanged.
    """
    q = np.asarray(quantiles, np.float64)
    g_inv, _ = scoring.walk_forward_quantiles(
        train_pit, train_known_s, train_level, now_s, level, PROBS, min_count=MIN_TRAIN
    )
    p_new = np.where(np.isfinite(g_inv), g_inv, PROBS[None, :])
    p_new = np.clip(p_new, PROBS[0], PROBS[-1])
    j = np.clip(np.searchsorted(PROBS, p_new, side="right") - 1, 0, len(PROBS) - 2)
    frac = (p_new - PROBS[j]) / (PROBS[j + 1] - PROBS[j])
    rows = np.arange(len(q))[:, None]
    return np.asarray(q[rows, j] + frac * (q[rows, j + 1] - q[rows, j]))


def scores(
    quantiles: ArrayLike, outcome: ArrayLike, point: ArrayLike | None = None
) -> dict[str, np.ndarray]:
    """Per forecast: median, 90% interval, absolute error of the point forecast (``point``,
    default the median), interval score (alpha = 0.1), CRPS (from the :data:`PROBS`
    midpoints), coverage (0/1, NaN where the outcome is unknown) and PIT; units of the
    outcome."""
    q = np.asarray(quantiles, np.float64)
    y = np.asarray(outcome, np.float64)
    low, mid, high = q[:, _LOW], q[:, _MID], q[:, _HIGH]
    point = mid if point is None else np.asarray(point, np.float64)
    known = np.isfinite(y) & np.isfinite(mid)
    with np.errstate(invalid="ignore"):
        covered = np.where(known, ((low <= y) & (y <= high)).astype(np.float64), np.nan)
    crps = scoring.crps_from_quantiles(q[:, _CRPS_COLS], y)
    return {
        "median": mid,
        "low": low,
        "high": high,
        "abs_error": np.where(np.isfinite(mid), np.abs(point - y), np.nan),
        "interval_score": scoring.interval_score(low, high, y, ALPHA),
        "crps": np.where(known, crps, np.nan),
        "covered": covered,
        "pit": scoring.pit(q, y, PROBS),
    }
