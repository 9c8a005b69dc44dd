"""Proper scoring rules, walk-forward empirical distributions and the block bootstrap.

Pure functions over arrays for the walk-forward evaluation of the retarget forecasts
(:func:`minerwatch.analyses.backtest.walk_forward_backtest`):

- the interval score of a central ``1 - alpha`` interval and the continuous ranked
  probability score (CRPS), in closed form for a Gaussian predictive and from quantiles for
  any other (Gneiting & Raftery 2007);
- the probability integral transform (PIT) of an outcome under a predictive given by its
  quantiles;
- *walk-forward* empirical quantiles: at each forecast, the quantiles of the values whose
  outcome was known strictly before it (an expanding window: every earlier one counts);
- the moving-block bootstrap of a ratio of mean errors over consecutive epochs.

References
----------
T. Gneiting, A. E. Raftery, *Strictly proper scoring rules, prediction, and estimation*,
JASA 102 (2007), eq. 21 (CRPS of a Gaussian), eq. 43 (interval score).
R. Koenker, G. Bassett (1978), the quantile (pinball) loss; CRPS = 2 x its integral over p.
H. R. Kunsch, *The jackknife and the bootstrap for general stationary observations*, Annals
of Statistics 17 (1989), the moving-block bootstrap.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from minerwatch.errors import InputError

#: Probabilities of the quantile grid the CRPS and the PIT are computed on: the midpoints of
#: 100 equal bins (the midpoint rule of CRPS = 2 int_0^1 QS_p dp).
CRPS_PROBS = (np.arange(100) + 0.5) / 100.0


def interval_score(
    low: ArrayLike, high: ArrayLike, outcome: ArrayLike, alpha: float = 0.1
) -> np.ndarray:
    """Interval score of the central ``1 - alpha`` interval ``[low, high]`` (lower is better).

    Formula: ``(u - l) + (2 / alpha) (l - y) 1{y < l} + (2 / alpha) (y - u) 1{y > u}``;
    units of ``y``. NaN where any input is NaN.

    References
    ----------
    Gneiting & Raftery (2007), eq. 43.
    """
    if not 0.0 < alpha < 1.0:
        raise InputError(f"alpha must be in (0, 1), got {alpha!r}")
    lo, hi, y = (np.asarray(a, np.float64) for a in (low, high, outcome))
    return (
        (hi - lo)
        + (2.0 / alpha) * np.maximum(lo - y, 0.0)
        + (2.0 / alpha) * np.maximum(y - hi, 0.0)
    )


def crps_gaussian(mean: ArrayLike, sd: ArrayLike, outcome: ArrayLike) -> np.ndarray:
    """CRPS of a Gaussian predictive ``N(mean, sd**2)`` at ``outcome`` (units of ``y``).

    Formula: ``sd (z (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi))``, ``z = (y - mean) / sd``.

    References
    ----------
    Gneiting & Raftery (2007), eq. 21.
    """
    m, s, y = (np.asarray(a, np.float64) for a in (mean, sd, outcome))
    z = (y - m) / s
    phi = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    cdf = 0.5 * (1.0 + _erf(z / math.sqrt(2.0)))
    return np.asarray(s * (z * (2.0 * cdf - 1.0) + 2.0 * phi - 1.0 / math.sqrt(math.pi)))


def _erf(x: np.ndarray) -> np.ndarray:
    return np.asarray(np.vectorize(math.erf, otypes=[np.float64])(x))


def crps_from_quantiles(
    quantiles: ArrayLike, outcome: ArrayLike, probs: ArrayLike = CRPS_PROBS
) -> np.ndarray:
    """CRPS from a predictive's quantiles (rows: forecasts; columns: ``probs``).

    Formula: ``CRPS = 2 int_0^1 QS_p(q_p, y) dp`` with the quantile score
    ``QS_p = (1{y < q_p} - p) (q_p - y)``, by the midpoint rule over ``probs`` (equal bins).
    For a Gaussian, the 100 midpoints of :data:`CRPS_PROBS` give the closed form within
    about 0.5%.

    References
    ----------
    Gneiting & Raftery (2007), section 4.2 (eq. 22 and the quantile score).
    """
    q = np.asarray(quantiles, np.float64)
    y = np.asarray(outcome, np.float64)[..., None]
    p = np.asarray(probs, np.float64)
    qs = ((y < q).astype(np.float64) - p) * (q - y)
    return np.asarray(2.0 * qs.mean(axis=-1))


def pit(quantiles: ArrayLike, outcome: ArrayLike, probs: ArrayLike = CRPS_PROBS) -> np.ndarray:
    """Probability integral transform: the predictive CDF at the outcome, from quantiles.

    Linear between the grid's quantiles (rows ascending); below the first quantile or above
    the last, the bin's edge (``probs[0] / 2`` and ``1 - (1 - probs[-1]) / 2``). NaN where the
    outcome or a quantile is NaN.
    """
    q = np.asarray(quantiles, np.float64)
    y = np.asarray(outcome, np.float64)
    p = np.asarray(probs, np.float64)
    k = (q <= y[:, None]).sum(axis=1)  # quantiles at or below the outcome
    n = q.shape[1]
    lo = np.clip(k - 1, 0, n - 1)
    hi = np.clip(k, 0, n - 1)
    rows = np.arange(len(y))
    q_lo, q_hi = q[rows, lo], q[rows, hi]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(q_hi > q_lo, (y - q_lo) / (q_hi - q_lo), 0.5)
    inner = p[lo] + np.clip(frac, 0.0, 1.0) * (p[hi] - p[lo])
    out = np.where(k == 0, p[0] / 2.0, np.where(k == n, 1.0 - (1.0 - p[-1]) / 2.0, inner))
    bad = np.isnan(y) | np.isnan(q).any(axis=1)
    return np.asarray(np.where(bad, np.nan, out))


def walk_forward_quantiles(
    values: ArrayLike,
    known_s: ArrayLike,
    train_group: ArrayLike,
    now_s: ArrayLike,
    group: ArrayLike,
    probs: ArrayLike,
    *,
    min_count: int = 20,
) -> tuple[np.ndarray, np.ndarray]:
    """At each forecast, the empirical quantiles of the earlier values of its group.

    A value counts for a forecast made at ``now_s`` when its outcome was known strictly
    before (``known_s < now_s``) and it belongs to the same group (a progress level): an
    expanding window, nothing from the forecast's own future. Quantiles interpolate
    linearly between order statistics (NumPy's default, ``(m - 1) p``).

    Parameters
    ----------
    values, known_s, train_group : array_like
        The training values, the time each became known (unix s) and their group.
    now_s, group : array_like
        The forecast times (unix s) and their groups.
    probs : array_like
        Probabilities in [0, 1].
    min_count : int, default 20
        Fewer earlier values than this: NaN quantiles.

    Returns
    -------
    (quantiles, count) : tuple of ndarray
        Quantiles, shape (forecasts, probs), and the number of values each used.
    """
    v = np.asarray(values, np.float64)
    kn = np.asarray(known_s, np.float64)
    tg = np.asarray(train_group)
    now = np.asarray(now_s, np.float64)
    g = np.asarray(group)
    p = np.asarray(probs, np.float64)
    out = np.full((len(now), len(p)), np.nan)
    count = np.zeros(len(now), np.int64)
    ok = np.isfinite(v) & np.isfinite(kn)
    for key in np.unique(g):  # one matrix per group (a few levels)
        rows = np.flatnonzero(g == key)
        cols = np.flatnonzero(ok & (tg == key))
        if len(cols) == 0:
            continue
        order = cols[np.argsort(kn[cols], kind="stable")]
        # Known strictly before: a prefix of the values sorted by the time they became known.
        m = np.searchsorted(kn[order], now[rows], side="left")
        prefix = np.where(np.arange(len(order))[None, :] < m[:, None], v[order][None, :], np.inf)
        srt = np.sort(prefix, axis=1)
        pos = (np.maximum(m, 1) - 1)[:, None] * p[None, :]
        i0 = np.floor(pos).astype(np.int64)
        i1 = np.minimum(i0 + 1, np.maximum(m - 1, 0)[:, None])
        r = np.arange(len(rows))[:, None]
        with np.errstate(invalid="ignore"):
            qv = srt[r, i0] + (pos - i0) * (srt[r, i1] - srt[r, i0])
        enough = m >= max(min_count, 1)
        out[rows] = np.where(enough[:, None], qv, np.nan)
        count[rows] = m
    return out, count


def block_bootstrap_ratio(
    numerator: ArrayLike,
    denominator: ArrayLike,
    *,
    block: int = 4,
    draws: int = 2000,
    confidence: float = 0.90,
    seed: int = 0,
) -> tuple[float, float]:
    """Central ``confidence`` interval of ``sum(numerator) / sum(denominator)`` by the
    moving-block bootstrap over the (time-ordered) units, e.g. epochs.

    Each draw glues ``ceil(n / block)`` runs of ``block`` consecutive units, each starting
    at a uniformly drawn unit (wrapping round), and cuts to ``n``; the interval is the
    percentile one. NaN pairs are dropped first. Seeded: the same inputs give the same
    interval.

    References
    ----------
    Kunsch (1989); B. Efron, R. Tibshirani, *An introduction to the bootstrap* (1993), ch. 13.
    """
    a = np.asarray(numerator, np.float64)
    b = np.asarray(denominator, np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    n = len(a)
    if n == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    runs = -(-n // block)
    starts = rng.integers(0, n, size=(draws, runs))
    idx = ((starts[:, :, None] + np.arange(block)[None, None, :]) % n).reshape(draws, -1)[:, :n]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = a[idx].sum(axis=1) / b[idx].sum(axis=1)
    tail = (1.0 - confidence) / 2.0
    lo, hi = np.nanquantile(ratio, [tail, 1.0 - tail])
    return float(lo), float(hi)
