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
- **combined** (:func:`combination_weight`): ours moved towards mempool.space's point
  forecast, ``Q'(p) = Q(p) + (1 - w) (b - m)`` (``m`` our median, ``b`` the baseline's), with
  the weight ``w`` of the least-squares combination of the two on the earlier forecasts at
  the same level known strictly before (expanding window; Bates & Granger 1969): the
  baseline's epoch-average rate carries information our level does not;
- **adaptive** (:func:`select_by_recent_error`): ours with the drift fitted on the last
  365, 180 or 120 days (:data:`DRIFT_WINDOWS_DAYS`), whichever had the smallest absolute
  error of the change over the last :data:`SELECTION_EPOCHS` forecasts at the same level
  known strictly before (follow the leader): a fast and a slow growth estimate, the one
  that has been forecasting better lately chosen;
- **baseline** (:func:`baseline_quantiles`): mempool.space's point forecast plus the
  empirical quantiles of its own earlier errors at the same level, walk-forward in the same
  way: the interval a user of the baseline could have drawn from its track record. Its
  absolute error is that of mempool.space's own figure (the point), not of this
  distribution's median.

References
----------
J. M. Bates, C. W. J. Granger, *The combination of forecasts*, Operational Research
Quarterly 20 (1969). V. Kuleshov, N. Fenner, S. Ermon, *Accurate uncertainties for deep
learning using calibrated regression*, ICML (2018): recalibration by the empirical CDF of
the PIT. Gneiting & Raftery (2007): the scores (:mod:`minerwatch.models.scoring`).
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
#: Column of the median in a quantile array on :data:`PROBS`.
MEDIAN = _MID
#: Fewest earlier forecasts at a level before an empirical distribution is drawn from them.
MIN_TRAIN = 20
#: Drift windows of the adaptive forecaster's candidates, days (the first: ours).
DRIFT_WINDOWS_DAYS = (365, 180, 120)
#: Recent forecasts per level that choose the adaptive forecaster's candidate: 26 epochs,
#: about a year, fixed a priori (13 and 52 give within 0.015 of its error ratio).
SELECTION_EPOCHS = 26
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


def combination_weight(
    ours: ArrayLike,
    base: ArrayLike,
    outcome: ArrayLike,
    train_known_s: ArrayLike,
    train_level: ArrayLike,
    now_s: ArrayLike,
    level: ArrayLike,
) -> np.ndarray:
    """Walk-forward weight of ours in the combination ``w ours + (1 - w) base``.

    Formula: least squares on the earlier forecasts of the level known strictly before
    ``now`` (training arrays ``ours``, ``base``, ``outcome``):
    ``w = sum (y - b)(o - b) / sum (o - b)**2``, clipped to [0, 1]; 1 (ours alone) with
    fewer than :data:`MIN_TRAIN` of them. Vectorised by cumulative sums over the training
    forecasts sorted by the time their outcome became known.
    """
    o, b, y = (np.asarray(a, np.float64) for a in (ours, base, outcome))
    kn = np.asarray(train_known_s, np.float64)
    tg = np.asarray(train_level)
    now = np.asarray(now_s, np.float64)
    g = np.asarray(level)
    w = np.ones(len(now))
    ok = np.isfinite(o) & np.isfinite(b) & np.isfinite(y) & np.isfinite(kn)
    for key in np.unique(g):
        rows = np.flatnonzero(g == key)
        cols = np.flatnonzero(ok & (tg == key))
        order = cols[np.argsort(kn[cols], kind="stable")]
        d = o[order] - b[order]
        num = np.concatenate([[0.0], np.cumsum((y[order] - b[order]) * d)])
        den = np.concatenate([[0.0], np.cumsum(d * d)])
        m = np.searchsorted(kn[order], now[rows], side="left")
        with np.errstate(invalid="ignore", divide="ignore"):
            fit = np.clip(num[m] / den[m], 0.0, 1.0)
        w[rows] = np.where((m >= MIN_TRAIN) & np.isfinite(fit), fit, 1.0)
    return w


def select_by_recent_error(
    train_error: ArrayLike,
    train_known_s: ArrayLike,
    train_level: ArrayLike,
    now_s: ArrayLike,
    level: ArrayLike,
    recent: int = SELECTION_EPOCHS,
) -> np.ndarray:
    """Index of the candidate with the smallest summed error over the last ``recent``
    training forecasts of the level known strictly before each ``now``.

    ``train_error``: shape (training forecasts, candidates), absolute errors. Candidate 0
    where fewer than :data:`MIN_TRAIN` are known (or on a tie). Vectorised by cumulative
    sums over the training forecasts sorted by the time their outcome became known.
    """
    err = np.asarray(train_error, np.float64)
    kn = np.asarray(train_known_s, np.float64)
    tg = np.asarray(train_level)
    now = np.asarray(now_s, np.float64)
    g = np.asarray(level)
    pick = np.zeros(len(now), np.int64)
    ok = np.isfinite(err).all(axis=1) & np.isfinite(kn)
    for key in np.unique(g):
        rows = np.flatnonzero(g == key)
        cols = np.flatnonzero(ok & (tg == key))
        order = cols[np.argsort(kn[cols], kind="stable")]
        c = np.vstack([np.zeros(err.shape[1]), np.cumsum(err[order], axis=0)])
        m = np.searchsorted(kn[order], now[rows], side="left")
        window = c[m] - c[np.maximum(m - recent, 0)]
        pick[rows] = np.where(m >= MIN_TRAIN, np.argmin(window, axis=1), 0)
    return pick


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
