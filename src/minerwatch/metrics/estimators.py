"""Network hashrate estimators with 90% intervals, from block times or daily block counts.

Blocks arrive as a Poisson process whose rate is the network hashrate over the work per
block: ``lambda = H / (D * 2**32)`` blocks per second at difficulty ``D``. Two exact
results give every interval here (Garwood 1936; Johnson, Kemp & Kotz 2005, ch. 4):

- **n blocks, time measured** (a block window): the time ``T`` for ``n`` inter-block
  intervals is Gamma(n, lambda), so ``2 lambda T ~ chi2(2n)`` and a central interval of
  confidence ``c`` is ``lambda in [chi2(a, 2n), chi2(1-a, 2n)] / (2T)`` with ``a = (1-c)/2``.
- **time fixed, blocks counted** (a time window of ``T`` seconds holding ``k`` blocks): the
  count is Poisson(lambda T); the exact (Garwood) interval is
  ``[chi2(a, 2k), chi2(1-a, 2k+2)] / (2T)`` (lower bound 0 when ``k = 0``).

Hashrate is the rate times the mean work per block of the window, ``sum(D_i) * 2**32 / n``.

Bias and variance of the block-window estimator
-----------------------------------------------
Bitcoin Core's ``getnetworkhashps`` divides the work of the last ``n`` blocks by the time
they took. Since ``E[1/T] = lambda / (n - 1)`` for ``T ~ Gamma(n, lambda)``, the estimate
``n * W / T`` is biased high by ``n / (n - 1)`` (0.8% for 120 blocks); multiplying by
``(n - 1) / n`` makes it unbiased (P. Wuille, 2025). Its relative standard error is
``1 / sqrt(n - 2)``, about ``1 / sqrt(n)``: 9.2% for 120 blocks, 8.4% for 144, 3.2% for
1,008. The count estimator ``k * W / T`` is unbiased, with relative standard error
``1 / sqrt(lambda T)``: 8.3% for one day at 144 blocks, 3.1% for a week.

Timestamps are miners' clocks, not arrival times: Core takes ``max(time) - min(time)``
over the window's ``n + 1`` blocks, which is what :func:`getnetworkhashps` does; the
intervals assume the timestamps are the arrival times (errors of a few minutes matter
only for windows of a few blocks).

Work per block is ``D * 2**32`` (the project's convention, :data:`HASHES_PER_DIFFICULTY`).
Core's chainwork counts ``2**256 / (target + 1)`` per block, which is ``65536 / 65535``
times more (0.0015%); pass ``hashes_per_difficulty=CORE_HASHES_PER_DIFFICULTY`` to
reproduce Core to the last digit.

The chi-square quantile (:func:`chi2_ppf`) is computed here, without SciPy: the
Wilson–Hilferty cube-root normal approximation, refined by Newton steps on the exact
regularised incomplete gamma function for up to 200 degrees of freedom (agreeing with
exact values to 1e-9 relative); above that Wilson–Hilferty alone is within 1e-5 for
probabilities in [0.05, 0.95] (3e-4 at 0.001 and 0.999).

References
----------
Bitcoin Core ``src/rpc/mining.cpp``, ``GetNetworkHashPS`` (nblocks default 120; -1 for
"since the last difficulty change").
P. Wuille, *Correcting the error in getnetworkhashrateps*, Delving Bitcoin, 2025
(delvingbitcoin.org/t/correcting-the-error-in-getnetworkhashrateps/1745).
F. Garwood, *Fiducial limits for the Poisson distribution*, Biometrika 28 (1936) 437-442.
E. B. Wilson, M. M. Hilferty, *The distribution of chi-square*, PNAS 17 (1931) 684-688.
P. J. Acklam, *An algorithm for computing the inverse normal cumulative distribution
function* (2003), for :func:`norm_ppf`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from minerwatch.chain.consensus import HASHES_PER_DIFFICULTY
from minerwatch.errors import InputError
from minerwatch.units import SECONDS_PER_DAY

__all__ = [
    "CORE_HASHES_PER_DIFFICULTY",
    "DEFAULT_CONFIDENCE",
    "HashrateEstimate",
    "block_window_hashrate",
    "chi2_ppf",
    "daily_window_hashrate",
    "gamma_rate_interval",
    "getnetworkhashps",
    "norm_ppf",
    "poisson_rate_interval",
    "time_window_hashrate",
]

#: Central confidence of every interval unless a caller asks otherwise.
DEFAULT_CONFIDENCE = 0.90
#: Hashes per unit of difficulty in Core's chainwork: ``2**256 / (target + 1)`` per block
#: with ``target = 0xffff * 2**208 / D`` is ``D * 2**48 / 0xffff``.
CORE_HASHES_PER_DIFFICULTY = 2.0**48 / 0xFFFF
#: Largest chi-square degrees of freedom refined by Newton steps on the exact CDF.
_EXACT_DOF_MAX = 200.0
_SERIES_TERMS_MAX = 1000
_NEWTON_STEPS = 8


# --- distribution helpers (vectorised, no SciPy) ------------------------------------------

# Acklam's rational approximation of the normal quantile (relative error < 1.15e-9).
_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
      1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)  # fmt: skip
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
      6.680131188771972e01, -1.328068155288572e01)  # fmt: skip
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
      -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)  # fmt: skip
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
      3.754408661907416e00)  # fmt: skip
_P_LOW = 0.02425


def _poly(coef: tuple[float, ...], x: np.ndarray) -> np.ndarray:
    out = np.zeros_like(x)
    for c in coef:
        out = out * x + c
    return out


def norm_ppf(p: np.ndarray | float) -> np.ndarray:
    """Quantile of the standard normal distribution (Acklam's algorithm).

    Parameters
    ----------
    p : array_like
        Probabilities in (0, 1).

    Returns
    -------
    ndarray
        ``z`` with ``Phi(z) = p``; relative error below 1.15e-9.

    References
    ----------
    P. J. Acklam (2003), rational approximation with a tail/central split at 0.02425.
    """
    p = np.asarray(p, np.float64)
    q = np.minimum(p, 1.0 - p)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.sqrt(-2.0 * np.log(q))
        tail = _poly(_C, t) / (_poly(_D, t) * t + 1.0)
        r = (p - 0.5) ** 2
        central = (p - 0.5) * _poly(_A, r) / (_poly(_B, r) * r + 1.0)
    z = np.where(q < _P_LOW, np.where(p < 0.5, tail, -tail), central)
    return np.where((p > 0) & (p < 1), z, np.where(p <= 0, -np.inf, np.inf))


def _lgamma(a: np.ndarray) -> np.ndarray:
    """``ln Gamma(a)`` for a > 0: Stirling's series after shifting ``a`` up by 8."""
    a = np.asarray(a, np.float64)
    shift = np.zeros_like(a)
    z = a.copy()
    for _ in range(8):
        shift += np.log(z)
        z = z + 1.0
    inv = 1.0 / z
    inv2 = inv * inv
    series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 / 1680)))
    return np.asarray((z - 0.5) * np.log(z) - z + 0.5 * math.log(2 * math.pi) + series - shift)


def _gammainc_lower(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Regularised lower incomplete gamma ``P(a, x)`` by its power series.

    ``P(a, x) = exp(a ln x - x - ln Gamma(a + 1)) * sum_n x**n / ((a+1)...(a+n))``; every
    term is positive (no cancellation). Summed until the terms fall below 1e-17 of the
    total, which for the quantiles asked here (x within a few sqrt(a) of a) takes about
    ``x - a + 8 sqrt(x)`` terms.
    """
    term = np.ones_like(x)
    total = np.ones_like(x)
    past_peak = x.max(initial=0.0) - a.min(initial=0.0)  # terms shrink from here on
    for n in range(1, _SERIES_TERMS_MAX):
        term = term * x / (a + n)
        total = total + term
        if n > past_peak and n % 8 == 0 and (term <= 1e-17 * total).all():
            break
    with np.errstate(divide="ignore"):
        log_front = a * np.log(x) - x - _lgamma(a + 1.0)
    return np.asarray(np.minimum(np.exp(log_front) * total, 1.0), np.float64)


def _gamma_ppf_refined(p: float, a: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Quantile ``y`` of Gamma(a, 1) at ``p`` by Newton steps in ``ln y`` on ``P(a, y)``."""
    # Start: the given guess (Wilson–Hilferty), or for the far lower tail the leading term
    # of the series, P(a, y) ~ y**a / Gamma(a + 1) (a lower bound), which WH undershoots.
    y = np.exp((math.log(p) + _lgamma(a + 1.0)) / a)
    u = np.log(np.where(start > y, start, y))
    for _ in range(_NEWTON_STEPS):
        y = np.exp(u)
        cdf = _gammainc_lower(a, y)
        log_pdf_y = a * u - y - _lgamma(a)  # density of Gamma(a) at y, times y
        u = u - (cdf - p) / np.exp(log_pdf_y)
    return np.exp(u)


def chi2_ppf(p: np.ndarray | float, dof: np.ndarray | float) -> np.ndarray:
    """Quantile of the chi-square distribution with ``dof`` degrees of freedom.

    Formula: Wilson–Hilferty, ``x = dof * (1 - h + z sqrt(h))**3`` with ``h = 2 / (9 dof)``
    and ``z`` the normal quantile of ``p``; for ``dof <= 200`` refined by Newton steps in
    ``ln x`` on the exact CDF ``P(dof/2, x/2)`` (regularised incomplete gamma).

    Parameters
    ----------
    p : array_like
        Probabilities in (0, 1).
    dof : array_like
        Degrees of freedom, > 0 (broadcast against ``p``).

    Returns
    -------
    ndarray
        The quantile ``x`` with ``P(chi2(dof) <= x) = p``. Relative error below 1e-9 for
        ``dof <= 200``; above, below 1e-5 for ``0.05 <= p <= 0.95`` and 3e-4 at
        ``p = 0.001`` or ``0.999`` (Wilson–Hilferty's error shrinks like ``dof**-1.5``);
        NaN where ``dof <= 0``.

    References
    ----------
    E. B. Wilson, M. M. Hilferty (1931); Abramowitz & Stegun 26.4.17 and 6.5.29.
    """
    p, dof = np.broadcast_arrays(np.asarray(p, np.float64), np.asarray(dof, np.float64))
    shape = p.shape
    p = p.astype(np.float64).ravel()
    dof = dof.astype(np.float64).ravel()
    ok = dof > 0
    d = np.where(ok, dof, 1.0)
    z = norm_ppf(p)
    h = 2.0 / (9.0 * d)
    x = d * np.maximum(1.0 - h + z * np.sqrt(h), 0.0) ** 3
    small = ok & (dof <= _EXACT_DOF_MAX) & (p > 0) & (p < 1)
    # Refine each distinct (p, dof) once: rolling windows repeat the same few counts.
    for pv in np.unique(p[small]):
        sel = np.flatnonzero(small & (p == pv))
        dofs, first, inverse = np.unique(d[sel], return_index=True, return_inverse=True)
        x[sel] = 2.0 * _gamma_ppf_refined(pv, dofs / 2.0, x[sel][first] / 2.0)[inverse]
    return np.where(ok, x, np.nan).reshape(shape)


def _tails(confidence: float) -> tuple[float, float]:
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be in (0, 1), got {confidence!r}")
    alpha = (1.0 - confidence) / 2.0
    return alpha, 1.0 - alpha


def gamma_rate_interval(
    n: np.ndarray | float, seconds: np.ndarray | float, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """Interval for a Poisson rate from ``n`` arrivals observed over ``seconds`` (n fixed).

    Formula: ``[chi2(a, 2n), chi2(1-a, 2n)] / (2 T)``, ``a = (1 - confidence) / 2``, since
    the time to ``n`` arrivals is Gamma(n, lambda) and ``2 lambda T ~ chi2(2n)``.

    Parameters
    ----------
    n : array_like
        Number of inter-arrival intervals timed (blocks of a block window), >= 1.
    seconds : array_like
        Time those intervals took, seconds, > 0.
    confidence : float, default 0.9
        Central confidence of the interval.

    Returns
    -------
    (low, high) : tuple of ndarray
        Rate bounds, arrivals per second.

    References
    ----------
    Johnson, Kemp & Kotz, *Univariate Discrete Distributions* (2005), section 4.7.
    """
    lo_p, hi_p = _tails(confidence)
    n = np.asarray(n, np.float64)
    t = np.asarray(seconds, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return chi2_ppf(lo_p, 2 * n) / (2 * t), chi2_ppf(hi_p, 2 * n) / (2 * t)


def poisson_rate_interval(
    k: np.ndarray | float, seconds: np.ndarray | float, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for a Poisson rate from ``k`` arrivals in a fixed time.

    Formula: ``[chi2(a, 2k), chi2(1-a, 2k + 2)] / (2 T)``; the lower bound is 0 for k = 0.

    Parameters
    ----------
    k : array_like
        Arrivals counted (blocks in a time window), >= 0.
    seconds, confidence
        The window's length (seconds, > 0) and the interval's central confidence, as in
        :func:`gamma_rate_interval`.

    Returns
    -------
    (low, high) : tuple of ndarray
        Rate bounds, arrivals per second. Coverage is at least ``confidence``.

    References
    ----------
    F. Garwood (1936), Biometrika 28, 437-442.
    """
    lo_p, hi_p = _tails(confidence)
    k = np.asarray(k, np.float64)
    t = np.asarray(seconds, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(k > 0, chi2_ppf(lo_p, 2 * k) / (2 * t), 0.0)
        high = chi2_ppf(hi_p, 2 * k + 2) / (2 * t)
    return low, high


# --- estimate containers ------------------------------------------------------------------


@dataclass(frozen=True)
class HashrateEstimate:
    """Hashrate estimates with their central interval, one per window.

    Attributes (arrays of equal length; NaN where the window is incomplete):
        hashrate_hs: central estimate, H/s.
        low_hs, high_hs: bounds of the ``confidence`` interval, H/s.
        blocks: blocks in the window (n of a block window, k of a time window).
        seconds: the window's length, seconds.
        confidence: central confidence of the interval.
    """

    hashrate_hs: np.ndarray
    low_hs: np.ndarray
    high_hs: np.ndarray
    blocks: np.ndarray
    seconds: np.ndarray
    confidence: float


# --- block windows -------------------------------------------------------------------------


def _rolling_extreme(x: np.ndarray, window: int, fn: np.ufunc) -> np.ndarray:
    """``fn``-reduction (np.maximum / np.minimum) of ``x[i - window + 1 .. i]`` for
    ``i >= window - 1`` (length ``len(x) - window + 1``), by doubling: O(n log window)."""
    out = x.copy()
    span = 1
    # out[i] holds the reduction of x[i .. i + span - 1]
    while span * 2 <= window:
        out = fn(out[:-span], out[span:])
        span *= 2
    rest = window - span
    if rest:
        out = fn(out[: len(out) - rest], out[rest:])
    return out


def _check_blocks(times: np.ndarray, difficulty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    times = np.asarray(times)
    if times.dtype.kind not in "iuf":
        raise InputError(f"times must be numeric unix seconds, got dtype {times.dtype}")
    diff = np.asarray(difficulty, np.float64)
    if diff.shape != times.shape:
        raise InputError(
            f"times and difficulty must have the same length, got {times.shape} and {diff.shape}"
        )
    return times.astype(np.float64), diff


def getnetworkhashps(
    times: np.ndarray,
    difficulty: np.ndarray,
    n_blocks: int = 120,
    *,
    hashes_per_difficulty: float = HASHES_PER_DIFFICULTY,
) -> np.ndarray:
    """Bitcoin Core's ``getnetworkhashps`` at every block of a contiguous run of blocks.

    Formula, for the block at index ``i``: the work of blocks ``i-n+1 .. i`` over
    ``max(t) - min(t)`` taken over the ``n + 1`` times ``t[i-n .. i]``:
    ``H_i = sum(D[i-n+1 .. i]) * 2**32 / (max - min)``; 0 where max == min (Core's guard).

    Parameters
    ----------
    times : ndarray
        Header times of consecutive blocks (ascending height), unix seconds.
    difficulty : ndarray
        Difficulty of each block.
    n_blocks : int, default 120
        ``nblocks`` of the RPC (Core's default 120). For Core's ``-1`` (since the last
        difficulty change) use :func:`block_window_hashrate` per epoch.
    hashes_per_difficulty : float, default 2**32
        Hashes per unit of difficulty; :data:`CORE_HASHES_PER_DIFFICULTY` gives Core's
        chainwork exactly.

    Returns
    -------
    ndarray
        H/s per block, biased high by ``n / (n - 1)``; NaN for the first ``n`` blocks
        (their window is not held).

    References
    ----------
    Bitcoin Core ``src/rpc/mining.cpp``, ``GetNetworkHashPS``.
    """
    t, d = _check_blocks(times, difficulty)
    n = int(n_blocks)
    if n < 1:
        raise InputError(f"n_blocks must be >= 1, got {n_blocks!r}")
    out = np.full(len(t), np.nan)
    if len(t) <= n:
        return out
    span = _rolling_extreme(t, n + 1, np.maximum) - _rolling_extreme(t, n + 1, np.minimum)
    cw = np.concatenate([[0.0], np.cumsum(d)])
    work = (cw[n + 1 :] - cw[1:-n]) * hashes_per_difficulty
    with np.errstate(divide="ignore", invalid="ignore"):
        out[n:] = np.where(span > 0, work / span, 0.0)
    return out


def block_window_hashrate(
    times: np.ndarray,
    difficulty: np.ndarray,
    n_blocks: int = 120,
    *,
    unbiased: bool = True,
    confidence: float = DEFAULT_CONFIDENCE,
    hashes_per_difficulty: float = HASHES_PER_DIFFICULTY,
) -> HashrateEstimate:
    """Hashrate from the last ``n`` blocks at every block, with its interval.

    Formula: ``W = sum(D[i-n+1 .. i]) * 2**32`` over ``T = max(t) - min(t)`` of the
    window's ``n + 1`` times (Core's ``getnetworkhashps``); the unbiased form multiplies by
    ``(n - 1) / n``. Interval: ``[chi2(a, 2n), chi2(1-a, 2n)] / (2 T) * W / n``.

    Parameters
    ----------
    times : ndarray
        Header times of consecutive blocks, unix seconds.
    difficulty : ndarray
        Difficulty of each block.
    n_blocks : int, default 120
        Blocks per window, >= 2.
    unbiased : bool, default True
        Apply Wuille's ``(n - 1) / n`` correction; False gives Core's figure.
    confidence : float, default 0.9
        Central confidence of the interval.
    hashes_per_difficulty : float, default 2**32
        Hashes per unit of difficulty.

    Returns
    -------
    HashrateEstimate
        One row per block, NaN for the first ``n`` blocks. Relative standard error of the
        estimate ``1 / sqrt(n - 2)``.

    References
    ----------
    Bitcoin Core ``GetNetworkHashPS``; P. Wuille (2025), Delving Bitcoin.
    """
    n = int(n_blocks)
    if n < 2:
        raise InputError(f"n_blocks must be >= 2 for an interval, got {n_blocks!r}")
    raw = getnetworkhashps(times, difficulty, n, hashes_per_difficulty=hashes_per_difficulty)
    t = np.asarray(times, np.float64)
    seconds = np.full(len(t), np.nan)
    if len(t) > n:
        seconds[n:] = _rolling_extreme(t, n + 1, np.maximum) - _rolling_extreme(
            t, n + 1, np.minimum
        )
    lo_p, hi_p = _tails(confidence)
    # rate bounds over the estimate n/T
    lo_f, hi_f = chi2_ppf(np.array([lo_p, hi_p]), 2 * n) / (2 * n)
    raw = np.where(raw > 0, raw, np.nan)
    return HashrateEstimate(
        hashrate_hs=raw * ((n - 1) / n if unbiased else 1.0),
        low_hs=raw * lo_f,
        high_hs=raw * hi_f,
        blocks=np.where(np.isfinite(seconds), float(n), np.nan),
        seconds=seconds,
        confidence=confidence,
    )


def time_window_hashrate(
    times: np.ndarray,
    difficulty: np.ndarray,
    window_s: float,
    at_times: np.ndarray | None = None,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    hashes_per_difficulty: float = HASHES_PER_DIFFICULTY,
) -> HashrateEstimate:
    """Hashrate from the blocks counted in a fixed time window, with the exact interval.

    Formula: with ``k`` blocks whose header time is in ``(t0 - T, t0]`` and ``W`` their
    work, ``H = W / T`` (unbiased); interval ``[chi2(a, 2k), chi2(1-a, 2k+2)] / (2T)``
    times ``W / k`` (Garwood), the mean work per block (the window's difficulty when
    ``k = 0``).

    Parameters
    ----------
    times : ndarray
        Header times of the blocks held, unix seconds (any order; a block counts where
        its header time falls).
    difficulty : ndarray
        Difficulty of each block.
    window_s : float
        Window length ``T``, seconds (86,400 for 1d).
    at_times : ndarray, optional
        Window end times ``t0``, unix seconds (default: every block's time). A window
        starting before the first block held is incomplete: NaN.
    confidence, hashes_per_difficulty
        As in :func:`block_window_hashrate`.

    Returns
    -------
    HashrateEstimate
        One row per window end.

    References
    ----------
    F. Garwood (1936); Coin Metrics' ``HashRate`` is this estimator with T = 1 day.
    """
    t, d = _check_blocks(times, difficulty)
    if not window_s > 0:
        raise InputError(f"window_s must be > 0, got {window_s!r}")
    order = np.argsort(t, kind="stable")
    ts, ds = t[order], d[order]
    ends = ts if at_times is None else np.asarray(at_times, np.float64)
    hi = np.searchsorted(ts, ends, side="right")
    lo = np.searchsorted(ts, ends - window_s, side="right")
    cw = np.concatenate([[0.0], np.cumsum(ds)])
    k = (hi - lo).astype(np.float64)
    work = (cw[hi] - cw[lo]) * hashes_per_difficulty
    # Difficulty of the window when it holds no block: the last block before its end.
    last_d = ds[np.clip(hi - 1, 0, None)] if len(ds) else np.full(len(ends), np.nan)
    per_block = np.where(k > 0, work / np.maximum(k, 1), last_d * hashes_per_difficulty)
    complete = (len(ts) > 0) & (ends - window_s >= (ts[0] if len(ts) else np.inf))
    return _window_estimate(work, k, per_block, float(window_s), complete, confidence)


def _window_estimate(
    work: np.ndarray,
    blocks: np.ndarray,
    work_per_block: np.ndarray,
    seconds: float,
    complete: np.ndarray,
    confidence: float,
) -> HashrateEstimate:
    """The estimate of windows of ``seconds`` holding ``work`` hashes in ``blocks`` blocks:
    ``work / seconds``, with the Poisson interval of the block count scaled by the work per
    block; NaN where the window is not ``complete``."""
    low, high = poisson_rate_interval(blocks, seconds, confidence)
    nan = np.where(complete, 1.0, np.nan)
    return HashrateEstimate(
        hashrate_hs=work / seconds * nan,
        low_hs=low * work_per_block * nan,
        high_hs=high * work_per_block * nan,
        blocks=blocks * nan,
        seconds=np.full(len(work), seconds),
        confidence=confidence,
    )


def daily_window_hashrate(
    blocks: np.ndarray,
    difficulty_mean: np.ndarray,
    window_days: int,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    hashes_per_difficulty: float = HASHES_PER_DIFFICULTY,
) -> HashrateEstimate:
    """Hashrate over trailing windows of whole days, from daily block counts.

    Formula: ``H = sum(B_d * D_d) * 2**32 / (n * 86400)`` over the last ``n`` days (Coin
    Metrics' ``HashRate`` for n = 1); interval from the window's block count
    ``k = sum(B_d)``: Garwood ``[chi2(a, 2k), chi2(1-a, 2k+2)] / (2T)`` times ``W / k``.

    Parameters
    ----------
    blocks : ndarray
        Blocks per day.
    difficulty_mean : ndarray
        Block-weighted mean difficulty of each day (NaN on days without blocks).
    window_days : int
        Days per window (1: Coin Metrics' daily ``HashRate``).
    confidence, hashes_per_difficulty
        As in :func:`block_window_hashrate`.

    Returns
    -------
    HashrateEstimate
        One row per day; NaN until a whole window exists.

    References
    ----------
    Coin Metrics ``HashRate``; F. Garwood (1936).
    """
    w = int(window_days)
    if w < 1:
        raise InputError(f"window_days must be >= 1, got {window_days!r}")
    b = np.asarray(blocks, np.float64)
    work_day = np.where(b > 0, b * np.nan_to_num(np.asarray(difficulty_mean, np.float64)), 0.0)
    cb = np.concatenate([[0.0], np.cumsum(b)])
    cw = np.concatenate([[0.0], np.cumsum(work_day)])
    idx = np.arange(1, len(b) + 1)
    lo_i = np.maximum(idx - w, 0)
    complete = idx >= w
    k = cb[idx] - cb[lo_i]
    work = (cw[idx] - cw[lo_i]) * hashes_per_difficulty
    seconds = float(w * SECONDS_PER_DAY)
    # Mean work per block; with no block in the window, the last known day's difficulty.
    d = np.asarray(difficulty_mean, np.float64)
    filled = np.where(np.isfinite(d), np.arange(len(d)), 0)
    np.maximum.accumulate(filled, out=filled)
    per_block = np.where(k > 0, work / np.maximum(k, 1), d[filled] * hashes_per_difficulty)
    return _window_estimate(work, k, per_block, seconds, complete, confidence)
