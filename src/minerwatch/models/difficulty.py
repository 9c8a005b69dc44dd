"""The next difficulty adjustment: percent change and date, with a 90% interval for both.

Two forecasters over the same inputs:

- **baseline** — mempool.space's ``calcDifficultyAdjustment``, ported exactly
  (:func:`calc_difficulty_adjustment`, vectorised in :func:`mempool_baseline`).
- **ours** (:func:`forecast_adjustment`, method :data:`METHOD`) — block arrivals are a
  Poisson process whose rate is the hashrate over the work per block, and the hashrate
  follows a random walk with drift in its logarithm:

  1. *process fit* (:func:`fit_hashrate_process`): on the daily log hashrate of the 365
     days up to ``as_of``, the random-walk variance ``q`` (per day) from the growth of the
     variance of lag-1..28-day differences (less the Poisson noise of the daily counts),
     and the drift ``g`` from the change of 30-day means across the window, with its
     standard error; ``q`` is floored at the fit's resolution (:data:`Q_MIN_PER_DAY`);
  2. *level* (:func:`ew_hashrate`): an exponentially weighted rate over the blocks (or
     days) of the last ten time constants before ``as_of`` (per-block: up to the tip by
     height), across epochs (work over time, so difficulty changes drop out), with the
     time constant of the steady-state Kalman filter for that random walk
     observed through Poisson counts, ``tau = 1 / sqrt(q b)`` days (``b`` = 144 blocks a
     day); the level is moved to ``as_of`` by the drift over its mean age;
  3. *remaining time*: the ``r`` blocks still to come take ``G / lambda`` in operational
     time, ``G ~ Gamma(r, 1)``; with the rate growing at ``g``,
     ``R = ln(1 + g G / lambda0) / g``. The log-rate error has variance
     ``1/n_eff + q (age/2 + R/3) + se(g)**2 (age + R/2)**2`` (estimation noise, the random
     walk since the level's mean age and over the remaining time, drift uncertainty);
     its quantiles are combined with the Gamma quantiles of ``G`` (exact) by root sum of
     squares of the deviations from the median, exact when either part vanishes;
  4. change = ``1,209,600 / clamp(E + R) - 1`` (``E`` elapsed since the epoch's first
     block, clamp to [302,400, 4,838,400] s, new difficulty >= 1); date = ``as_of`` +
     time for one block more. Central value: the median; interval: 5% and 95%.

Every constant is fixed a priori (listed below, with its reason); nothing is tuned on the
backtest. ``as_of`` is "now": the time of the last block used (per-block data) or the end
of the last day used (daily data; by memorylessness the wait for the next block starts
afresh at any instant). See ``docs/difficulty.md`` for the method, its assumptions and its
measured accuracy.

References
----------
mempool/mempool ``backend/src/api/difficulty-adjustment.ts`` (``calcDifficultyAdjustment``)
and ``backend/src/__tests__/api/difficulty-adjustment.test.ts``.
Bitcoin Core ``src/pow.cpp`` (``CalculateNextWorkRequired``).
R. E. Kalman, R. S. Bucy (1961), steady-state filter of a random walk in white noise.
A. C. Harvey, *Forecasting, structural time series models and the Kalman filter* (1989),
local level model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from minerwatch.chain.consensus import (
    HASHES_PER_DIFFICULTY,
    MAX_TIMESPAN_S,
    MIN_TIMESPAN_S,
    RETARGET_INTERVAL,
    TARGET_SPACING_S,
    TARGET_TIMESPAN_S,
)
from minerwatch.days import day_end_s
from minerwatch.errors import InputError
from minerwatch.frames import DailyFrame
from minerwatch.metrics import estimators as est
from minerwatch.models.mempool import mempool_baseline
from minerwatch.units import SECONDS_PER_DAY

METHOD = "poisson-rw-drift"
METHOD_TEXT = (
    "Poisson arrivals (Gamma time to the remaining blocks) at an exponentially weighted "
    "hashrate with a random walk and drift fitted on the 365 days up to as-of"
)
BASELINE_METHOD = "mempool.space calcDifficultyAdjustment"

#: Central confidence of the forecast intervals.
CONFIDENCE = 0.90
#: Days of daily history the process fit reads (one year: one seasonal cycle, the usual
#: year-on-year growth figure). Fixed a priori.
FIT_WINDOW_DAYS = 365
#: Largest lag, days, of the lag-variance regression for ``q``: twice the forecast horizon
#: (an epoch is 14 days). Fixed a priori.
FIT_MAX_LAG_DAYS = 28
#: Days averaged at each end of the window for the drift. Fixed a priori.
DRIFT_EDGE_DAYS = 30
#: Fewer days than this and the a priori values below are used instead of a fit.
MIN_FIT_DAYS = 90
#: A priori random-walk variance of log hashrate per day, (2%/day)**2: used only without
#: enough history to fit it.
Q_PRIOR_PER_DAY = 0.02**2
#: A priori drift and its standard error per day (0 +- 0.2%/day, about +-100%/year).
DRIFT_PRIOR_PER_DAY = 0.0
DRIFT_SE_PRIOR_PER_DAY = 0.002
#: Blocks per day at the target spacing: the information rate of the level filter.
BLOCKS_PER_DAY = SECONDS_PER_DAY // TARGET_SPACING_S
#: Floor of the fitted random-walk variance per day: the smallest ``q`` a year of daily
#: counts can resolve, fixed a priori from the fit's own constants (not from the backtest).
#: With ``q = 0`` the lag variances ``s_L`` share the sampling error of the mean squared
#: Poisson noise, ``(2 / b) sqrt(2 / W)`` (``b`` = 144 blocks a day, ``W`` = 365 days), and
#: the regression through the origin turns a common error ``c`` into ``c sum(L) / sum(L**2)``
#: (``L`` = 1..28): one standard error of the fitted ``q`` when the true ``q`` is 0,
#: 5.4e-5 per day (0.74%/day; 400 simulated years of constant-rate Poisson counts give
#: 5.5e-5). A fit below it cannot be told from 0, so ``q`` is not taken below it: the level's
#: time constant stays <= 11.3 days. (The earlier floor, 1e-6 or tau <= 83 days, let fits of
#: 2e-6 to 3e-6 in 2025 make a 48-day level blind to a fall of the hashrate.)
Q_MIN_PER_DAY = (
    (2.0 / BLOCKS_PER_DAY)
    * math.sqrt(2.0 / FIT_WINDOW_DAYS)
    * sum(range(1, FIT_MAX_LAG_DAYS + 1))
    / sum(lag * lag for lag in range(1, FIT_MAX_LAG_DAYS + 1))
)
#: Trailing observations the level filter reads in daily mode (days).
LEVEL_MAX_OBS_DAYS = 365
#: The level reads the observations of the last this-many time constants: older ones would
#: carry exp(-10) = 0.005% of the weight. It bounds the work per forecast (O(window), not
#: O(history)) and the blocks an outlook reads.
LEVEL_WINDOW_TAUS = 10.0
#: Epoch starts whose Coin Metrics height offset is averaged (median) in daily mode.
HEIGHT_OFFSET_EPOCHS = 12
#: mempool.space's sliding window, blocks (a quarter epoch).
QUARTER_EPOCH_BLOCKS = 503

EPOCH = RETARGET_INTERVAL


# =========================================================================================
# Special functions for the Gamma part (vectorised)
# =========================================================================================


def _log_gamma_quantile(p: float, r: np.ndarray) -> np.ndarray:
    """``ln`` of the ``p`` quantile of Gamma(r, 1) (= chi2(p, 2r) / 2), r >= 1."""
    return np.log(est.chi2_ppf(p, 2.0 * np.asarray(r, np.float64)) / 2.0)


# =========================================================================================
# The hashrate process: random walk with drift, fitted on daily data up to as_of
# =========================================================================================


@dataclass(frozen=True)
class ProcessFit:
    """Random walk with drift of log hashrate, fitted on each day's trailing window.

    Attributes (arrays, one per day of the daily series, using days up to that day only):
        q_per_day: random-walk variance of ln(hashrate) per day.
        drift_per_day: drift of ln(hashrate) per day (0.001 = +0.1% a day).
        drift_se_per_day: standard error of the drift.
        days: days the fit used (0 where the a priori values stand in).
    """

    q_per_day: np.ndarray
    drift_per_day: np.ndarray
    drift_se_per_day: np.ndarray
    days: np.ndarray

    @classmethod
    def prior(cls, n: int) -> ProcessFit:
        """The a priori values, ``n`` times (no history to fit)."""
        return cls(
            np.full(n, Q_PRIOR_PER_DAY),
            np.full(n, DRIFT_PRIOR_PER_DAY),
            np.full(n, DRIFT_SE_PRIOR_PER_DAY),
            np.zeros(n, np.int64),
        )

    def at(self, i: np.ndarray | int) -> ProcessFit:
        """The fit of rows ``i`` (an index array or a row; -1 or below: the priors)."""
        i = np.asarray(i, np.int64)
        ok = i >= 0
        j = np.where(ok, i, 0)

        def pick(a: np.ndarray, prior: float) -> np.ndarray:
            if len(a) == 0:
                return np.full(i.shape, prior)
            return np.where(ok, a[j], prior)

        return ProcessFit(
            q_per_day=pick(self.q_per_day, Q_PRIOR_PER_DAY),
            drift_per_day=pick(self.drift_per_day, DRIFT_PRIOR_PER_DAY),
            drift_se_per_day=pick(self.drift_se_per_day, DRIFT_SE_PRIOR_PER_DAY),
            days=pick(self.days, 0),
        )


def _window_sums(x: np.ndarray, valid: np.ndarray, window: int) -> tuple[np.ndarray, ...]:
    """Sum, sum of squares and count of valid ``x`` over the trailing ``window`` rows."""
    xv = np.where(valid, x, 0.0)
    c1 = np.concatenate([[0.0], np.cumsum(xv)])
    c2 = np.concatenate([[0.0], np.cumsum(xv * xv)])
    cn = np.concatenate([[0], np.cumsum(valid)])
    idx = np.arange(1, len(x) + 1)
    lo = np.maximum(idx - window, 0)
    return c1[idx] - c1[lo], c2[idx] - c2[lo], cn[idx] - cn[lo]


def fit_hashrate_process(
    blocks: ArrayLike,
    difficulty_mean: ArrayLike,
    *,
    window_days: int = FIT_WINDOW_DAYS,
    max_lag_days: int = FIT_MAX_LAG_DAYS,
    edge_days: int = DRIFT_EDGE_DAYS,
    min_days: int = MIN_FIT_DAYS,
) -> ProcessFit:
    """Fit the random walk with drift of log hashrate on every day's trailing window.

    With ``x_d = ln(B_d D_d)`` (daily work; ``B_d`` blocks, ``D_d`` mean difficulty) and its
    Poisson noise variance ``v_d = 1 / B_d``:

    - random-walk variance: for lags ``L = 1..max_lag``, the sample variance ``s_L`` of
      ``x_t - x_{t-L}`` over the window grows as ``q L + (v_t + v_{t-L})``; least squares
      through the origin, ``q = sum L (s_L - mean(v_t + v_{t-L})) / sum L**2``, floored at
      :data:`Q_MIN_PER_DAY`;
    - drift: ``g = (mean of the last e days - mean of the first e days) / (W - e)``, with
      ``se(g)**2 = (q (W - e) + 2 mean(v) / e) / (W - e)**2``.

    Parameters
    ----------
    blocks : array_like
        Blocks per day (consecutive days).
    difficulty_mean : array_like
        Mean difficulty of each day's blocks.
    window_days : int, default 365
        Trailing days fitted (fewer at the start of the data).
    max_lag_days : int, default 28
        Largest lag of the variance regression.
    edge_days : int, default 30
        Days averaged at each end of the window for the drift.
    min_days : int, default 90
        Fewest days for a fit; below, the a priori values (``days = 0``).

    Returns
    -------
    ProcessFit
        One fit per day, each from that day and the days before it (no look-ahead). Days
        without blocks end the usable history (the window restarts after them).

    References
    ----------
    Harvey (1989), local level model; the variogram of a random walk observed with noise.
    """
    b = np.asarray(blocks, np.float64)
    d = np.asarray(difficulty_mean, np.float64)
    n = len(b)
    valid = (b > 0) & np.isfinite(d) & (d > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(valid, np.log(np.where(valid, b * d, 1.0)), 0.0)
        v = np.where(valid, 1.0 / np.where(valid, b, 1.0), 0.0)
    # Usable history at each day: days since the last day without blocks, capped.
    last_bad = np.where(~valid, np.arange(n), -1)
    np.maximum.accumulate(last_bad, out=last_bad)
    span = np.minimum(np.arange(n) - last_bad, window_days)  # days in the window
    ok = span >= min_days
    num = np.zeros(n)
    den = 0.0
    for lag in range(1, max_lag_days + 1):
        dx = np.full(n, np.nan)
        dv = np.full(n, np.nan)
        dx[lag:] = x[lag:] - x[:-lag]
        dv[lag:] = v[lag:] + v[:-lag]
        both = np.zeros(n, bool)
        both[lag:] = valid[lag:] & valid[:-lag]
        s1, s2, cnt = _window_sums(np.nan_to_num(dx), both, window_days - lag)
        sv, _, _ = _window_sums(np.nan_to_num(dv), both, window_days - lag)
        with np.errstate(divide="ignore", invalid="ignore"):
            var = (s2 - s1 * s1 / cnt) / (cnt - 1)
            noise = sv / cnt
        num += lag * np.where(cnt > 2, var - noise, 0.0)
        den += lag * lag
    q = np.maximum(num / den, Q_MIN_PER_DAY)
    # Drift from the means of the first and last edge days of each day's window.
    cx = np.concatenate([[0.0], np.cumsum(x)])
    cv = np.concatenate([[0.0], np.cumsum(v)])
    idx = np.arange(1, n + 1)
    e = edge_days
    start = idx - span  # first row of the window (exclusive cumsum index)
    with np.errstate(divide="ignore", invalid="ignore"):
        late = (cx[idx] - cx[np.maximum(idx - e, 0)]) / e
        early = (cx[np.minimum(start + e, n)] - cx[start]) / e
        gap = (span - e).astype(np.float64)
        g = (late - early) / gap
        mean_v = (cv[idx] - cv[start]) / span
        g_se = np.sqrt((q * gap + 2 * mean_v / e) / gap**2)
    return ProcessFit(
        q_per_day=np.where(ok, q, Q_PRIOR_PER_DAY),
        drift_per_day=np.where(ok, g, DRIFT_PRIOR_PER_DAY),
        drift_se_per_day=np.where(ok, g_se, DRIFT_SE_PRIOR_PER_DAY),
        days=np.where(ok, span, 0),
    )


def level_time_constant_days(q_per_day: np.ndarray) -> np.ndarray:
    """Time constant of the level filter, days: ``tau = 1 / sqrt(q b)``, ``b`` = 144.

    The steady-state Kalman–Bucy filter of a random walk with variance ``q`` per day,
    observed through Poisson counts at ``b`` blocks a day (noise density ``1 / b``), is an
    exponential smoother with this time constant; its error variance is ``sqrt(q / b)``.
    """
    return 1.0 / np.sqrt(np.asarray(q_per_day, np.float64) * BLOCKS_PER_DAY)


# =========================================================================================
# The level: an exponentially weighted hashrate
# =========================================================================================


@dataclass(frozen=True)
class Observations:
    """Blocks seen over intervals of time, ascending by end time.

    ``end_s`` (unix seconds), ``seconds`` (length, may be <= 0 for a block whose header
    time runs backwards), ``work`` (hashes: blocks x difficulty x 2**32), ``blocks``.
    """

    end_s: np.ndarray
    seconds: np.ndarray
    work: np.ndarray
    blocks: np.ndarray

    def concat(self, later: Observations) -> Observations:
        """These observations followed by ``later``."""
        return Observations(
            *(np.concatenate([getattr(self, f), getattr(later, f)]) for f in _OBS_FIELDS)
        )

    def select(self, mask: np.ndarray) -> Observations:
        return Observations(*(getattr(self, f)[mask] for f in _OBS_FIELDS))


_OBS_FIELDS = ("end_s", "seconds", "work", "blocks")


def daily_observations(
    day: np.ndarray, blocks: np.ndarray, difficulty_mean: np.ndarray
) -> Observations:
    """One observation per day: the day's blocks over 86,400 s, ending at the day's end."""
    b = np.asarray(blocks, np.float64)
    end = day_end_s(day).astype(np.float64)
    work = np.where(b > 0, b * np.nan_to_num(difficulty_mean) * HASHES_PER_DIFFICULTY, 0.0)
    return Observations(end, np.full(len(b), float(SECONDS_PER_DAY)), work, b)


def block_observations(times: np.ndarray, difficulty: np.ndarray) -> Observations:
    """One observation per block after the first: the interval since the previous block."""
    t = np.asarray(times, np.float64)
    d = np.asarray(difficulty, np.float64)
    return Observations(t[1:], np.diff(t), d[1:] * HASHES_PER_DIFFICULTY, np.ones(len(t) - 1))


def ew_hashrate(
    obs: Observations,
    now_s: np.ndarray,
    tau_s: np.ndarray,
    max_obs: int | None = None,
    stop: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exponentially weighted hashrate at each ``now`` from the observations before it.

    Formula: weights ``w_i = exp(-(now - m_i) / tau)`` at each observation's mid time
    ``m_i``; ``H = sum(w work) / sum(w seconds)`` (the rate's weighted maximum likelihood);
    effective blocks ``n_eff = (sum w B)**2 / sum(w**2 B)``; mean age
    ``a = sum(w seconds (now - m)) / sum(w seconds)``. The sums run over the observations
    ending in the last :data:`LEVEL_WINDOW_TAUS` time constants (older ones would weigh
    ``exp(-10)`` of the total), one forecast point at a time: memory and time are
    O(window) per point, whatever the length of the history.

    Parameters
    ----------
    obs : Observations
        Blocks over intervals, ascending by end time.
    now_s : ndarray
        Forecast times, unix seconds.
    tau_s : ndarray
        Time constants, seconds (one per ``now``).
    max_obs : int, optional
        Read at most this many trailing observations per ``now`` (default: the window).
    stop : ndarray of int, optional
        Observations available at each ``now``: the first ``stop`` (per-block data: those
        up to the tip's height, whatever their header times). Default: those ending at or
        before ``now`` (by the running maximum of the end times).

    Returns
    -------
    (hashrate_hs, n_eff, mean_age_s) : tuple of ndarray
        The level (H/s) at the weighted mean time, effective number of blocks, and the
        mean age of the weighted data, seconds (NaN where the window holds no time or no
        block).
    """
    now = np.atleast_1d(np.asarray(now_s, np.float64))
    tau = np.broadcast_to(np.asarray(tau_s, np.float64), now.shape)
    ends = np.maximum.accumulate(obs.end_s) if len(obs.end_s) else obs.end_s
    if stop is None:
        stop = np.searchsorted(ends, now, side="right")
    stop = np.clip(np.broadcast_to(np.asarray(stop, np.int64), now.shape), 0, len(ends))
    with np.errstate(invalid="ignore"):
        oldest = now - LEVEL_WINDOW_TAUS * tau
    lo = np.searchsorted(ends, np.where(np.isfinite(oldest), oldest, -np.inf), side="left")
    if max_obs is not None:
        lo = np.maximum(lo, stop - int(max_obs))
    lo = np.minimum(lo, stop)
    level = np.full(now.shape, np.nan)
    n_eff = np.full(now.shape, np.nan)
    mean_age = np.full(now.shape, np.nan)
    for p in range(len(now)):  # one window per forecast point: O(window) memory
        a, b = int(lo[p]), int(stop[p])
        seconds = obs.seconds[a:b]
        age = now[p] - (obs.end_s[a:b] - seconds / 2.0)
        w = np.exp(-np.maximum(age, 0.0) / tau[p])
        blocks = obs.blocks[a:b]
        sw_t = (w * seconds).sum()
        sw_b = (w * blocks).sum()
        if not (sw_t > 0 and sw_b > 0):
            continue
        level[p] = (w * obs.work[a:b]).sum() / sw_t
        n_eff[p] = sw_b * sw_b / (w * w * blocks).sum()
        mean_age[p] = (w * seconds * age).sum() / sw_t
    return level, n_eff, mean_age


# =========================================================================================
# The forecast
# =========================================================================================


@dataclass(frozen=True)
class ForecastInputs:
    """What both forecasters see at each forecast point (arrays of equal length).

    ``now_s``: the forecast time (last block's time, or the end of the last day);
    ``height``: tip height (per-block data) or the height counted from daily blocks;
    ``epoch_start_height`` / ``epoch_start_s``: the epoch's first block and its time;
    ``difficulty`` and ``previous_difficulty`` (NaN where unknown);
    ``quarter_epoch_s``: time of block ``height - 503`` (NaN where unknown);
    ``latest_block_s``: tip's header time (``now_s`` for daily data);
    ``obs_level_hs``, ``obs_n_eff``, ``obs_age_s``: the exponentially weighted level;
    ``fit``: the process fit at each point; ``exact_tip``: True where the tip and its time
    are exact (per-block data), so the change locks once the epoch's last block is in.
    """

    now_s: np.ndarray
    height: np.ndarray
    epoch_start_height: np.ndarray
    epoch_start_s: np.ndarray
    difficulty: np.ndarray
    previous_difficulty: np.ndarray
    quarter_epoch_s: np.ndarray
    latest_block_s: np.ndarray
    obs_level_hs: np.ndarray
    obs_n_eff: np.ndarray
    obs_age_s: np.ndarray
    fit: ProcessFit
    exact_tip: np.ndarray

    @property
    def blocks_in_epoch(self) -> np.ndarray:
        return np.asarray(self.height - self.epoch_start_height, np.int64)


@dataclass(frozen=True)
class AdjustmentForecast:
    """Forecast of the next adjustment at each point (arrays; percent and unix seconds).

    ``change_pct`` is the median, ``change_pct_low`` / ``_high`` the 5% and 95% quantiles
    (``confidence`` interval); likewise ``date_s`` and its bounds (the time of the first
    block of the next epoch). ``hashrate_hs`` is the hashrate at ``now`` the forecast
    assumes, ``rate_sigma`` the standard deviation of its logarithm over the remaining
    time, ``tau_days`` the level filter's time constant.
    """

    change_pct: np.ndarray
    change_pct_low: np.ndarray
    change_pct_high: np.ndarray
    date_s: np.ndarray
    date_low_s: np.ndarray
    date_high_s: np.ndarray
    hashrate_hs: np.ndarray
    rate_sigma: np.ndarray
    tau_days: np.ndarray
    confidence: float = CONFIDENCE


def _time_for_blocks(
    r: np.ndarray, lam0: np.ndarray, g_s: np.ndarray, sigma: np.ndarray, p: float
) -> np.ndarray:
    """The ``p`` quantile of the time (s) the next ``r`` blocks take at rate ``lam0``
    (blocks/s, log-normal error ``sigma``) growing at ``g_s`` per second. Infinite where a
    falling rate never delivers them; NaN where the rate is unknown."""
    z = float(est.norm_ppf(p))
    lg_med = _log_gamma_quantile(0.5, r)
    dev_g = _log_gamma_quantile(p, r) - lg_med if p != 0.5 else np.zeros_like(lg_med)
    y = lg_med - np.log(lam0) + np.sign(z) * np.sqrt(dev_g**2 + (z * sigma) ** 2)
    x = g_s * np.exp(y)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        grown = np.where(np.abs(x) > 1e-12, np.log1p(np.maximum(x, -1.0)) / g_s, np.exp(y))
    return np.where(np.isnan(x), np.nan, np.where(x > -1.0, grown, np.inf))


def forecast_adjustment(
    inputs: ForecastInputs, confidence: float = CONFIDENCE
) -> AdjustmentForecast:
    """Our forecast of the next adjustment's percent change and date, with intervals.

    Formula (``k`` blocks of the epoch after its first, ``E = now - t_start``,
    ``r = 2015 - k`` blocks to the epoch's last, ``D`` the difficulty): the rate now
    ``lambda0 = H exp(g a) / (D 2**32)`` (level ``H`` of mean age ``a``, drift ``g``);
    log-rate variance ``s**2 = 1/n_eff + q (a/2 + R/3) + se(g)**2 (a + R/2)**2`` (days,
    ``R = r / lambda0``); the time ``R_p`` for ``r`` blocks at quantile ``p`` from
    ``G ~ Gamma(r)`` and the log-rate error (see the module docstring); change quantiles
    ``100 (1,209,600 / clamp(E + R_p) - 1)``, floored where the new difficulty would fall
    below 1; date quantiles ``now + R_p`` for ``r + 1`` blocks. Once the epoch's last block
    is in (``k = 2015``) the change is exact. Where the level is unknown (no observation in
    its window) the forecast is NaN, not a guess.

    Parameters
    ----------
    inputs : ForecastInputs
        The forecast points (see :func:`daily_inputs` and :func:`block_inputs`).
    confidence : float, default 0.9
        Central confidence of the intervals.

    Returns
    -------
    AdjustmentForecast
        Median and interval of the change (percent) and the date (unix seconds).

    References
    ----------
    Bitcoin Core ``src/pow.cpp`` (the retarget rule); Kalman & Bucy (1961); module
    docstring.
    """
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be in (0, 1), got {confidence!r}")
    lo_p = (1.0 - confidence) / 2.0
    q = _Quantiles(inputs)
    with np.errstate(invalid="ignore", divide="ignore"):
        return AdjustmentForecast(
            change_pct=q.change_at(0.5),
            change_pct_low=q.change_at(1.0 - lo_p),  # slower blocks, smaller change
            change_pct_high=q.change_at(lo_p),
            date_s=q.date_at(0.5),
            date_low_s=q.date_at(lo_p),
            date_high_s=q.date_at(1.0 - lo_p),
            hashrate_hs=q.level_now,
            rate_sigma=q.sigma,
            tau_days=level_time_constant_days(inputs.fit.q_per_day),
            confidence=confidence,
        )


class _Quantiles:
    """The predictive quantiles of :func:`forecast_adjustment` at any probability: ``p``
    of the remaining time (``change_at(p)`` is the change's ``1 - p`` quantile)."""

    def __init__(self, inputs: ForecastInputs) -> None:
        self.k = np.clip(inputs.blocks_in_epoch, 0, EPOCH - 1).astype(np.float64)
        self.now = np.asarray(inputs.now_s, np.float64)
        self.elapsed = self.now - inputs.epoch_start_s
        self.d = np.asarray(inputs.difficulty, np.float64)
        fit = inputs.fit
        self.g_s = fit.drift_per_day / SECONDS_PER_DAY
        age_d = inputs.obs_age_s / SECONDS_PER_DAY
        self.level_now = inputs.obs_level_hs * np.exp(fit.drift_per_day * age_d)
        self.lam0 = self.level_now / (self.d * HASHES_PER_DIFFICULTY)
        self.locked = (self.k >= EPOCH - 1) & inputs.exact_tip
        self.r_change = np.maximum(EPOCH - 1 - self.k, 1.0)  # 1 where locked (then unused)
        self.r_date = EPOCH - self.k
        remaining_d = self.r_change / self.lam0 / SECONDS_PER_DAY
        var = (
            1.0 / inputs.obs_n_eff
            + fit.q_per_day * (age_d / 2.0 + remaining_d / 3.0)
            + fit.drift_se_per_day**2 * (age_d + remaining_d / 2.0) ** 2
        )
        self.sigma = np.sqrt(var)

    def change_at(self, p: float) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            r_time = _time_for_blocks(self.r_change, self.lam0, self.g_s, self.sigma, p)
            r_time = np.where(self.locked, 0.0, r_time)
            timespan = np.clip(self.elapsed + r_time, MIN_TIMESPAN_S, MAX_TIMESPAN_S)
            change = 100.0 * (TARGET_TIMESPAN_S / timespan - 1.0)
            floor = 100.0 * (1.0 / self.d - 1.0)  # the new difficulty is at least 1 (powLimit)
        return np.asarray(np.maximum(change, floor), np.float64)

    def date_at(self, p: float) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            t = _time_for_blocks(self.r_date, self.lam0, self.g_s, self.sigma, p)
        return np.asarray(self.now + t, np.float64)


def adjustment_quantiles(inputs: ForecastInputs, probs: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The quantiles of :func:`forecast_adjustment`'s predictive at ``probs``.

    Returns
    -------
    (change_pct, date_s) : tuple of ndarray
        Shape (points, probs): the change's quantiles (percent) and the date's (unix s),
        each ascending along the probabilities.
    """
    q = _Quantiles(inputs)
    p = np.asarray(probs, np.float64)
    change = np.stack([q.change_at(1.0 - x) for x in p], axis=1)
    date = np.stack([q.date_at(x) for x in p], axis=1)
    return change, date


def difficulty_after(difficulty: np.ndarray | float, change_pct: np.ndarray | float) -> np.ndarray:
    """The difficulty a retarget of ``change_pct`` percent sets: ``D (1 + change / 100)``.

    The inverse of ``change = 100 (D_next / D - 1)``; the compact-bits rounding of the real
    retarget (Bitcoin Core ``GetCompact``, a relative step of at most ``2**-15``) is
    ignored. NaN in, NaN out.

    Parameters
    ----------
    difficulty : float or ndarray
        The current epoch's difficulty, dimensionless.
    change_pct : float or ndarray
        The change of the retarget, percent.

    Returns
    -------
    float or ndarray
        The next epoch's difficulty, dimensionless.

    References
    ----------
    Bitcoin Core ``src/pow.cpp`` (``CalculateNextWorkRequired``).
    """
    return np.asarray(difficulty, np.float64) * (1.0 + np.asarray(change_pct, np.float64) / 100.0)


def baseline_adjustment(inputs: ForecastInputs) -> tuple[np.ndarray, np.ndarray]:
    """mempool.space's change (percent) and date (unix seconds) on the same inputs.

    ``previousRetarget`` is ``100 (D / D_prev - 1)`` (0 where the previous difficulty is
    unknown); see :func:`mempool_baseline`.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        prev = 100.0 * (inputs.difficulty / inputs.previous_difficulty - 1.0)
    prev = np.where(np.isfinite(prev), prev, 0.0)
    r = mempool_baseline(
        inputs.epoch_start_s,
        inputs.quarter_epoch_s,
        inputs.now_s,
        inputs.height,
        prev,
        inputs.latest_block_s,
    )
    return r["difficulty_change"], r["estimated_retarget_date"] / 1000.0


# =========================================================================================
# Building the inputs from daily data and from per-block data
# =========================================================================================


def height_offsets(
    day: np.ndarray,
    blocks: np.ndarray,
    end_height: np.ndarray,
    start_height: np.ndarray,
    start_time: np.ndarray,
    *,
    epochs: int = HEIGHT_OFFSET_EPOCHS,
) -> np.ndarray:
    """How far the heights counted from daily blocks run ahead of the chain, per day.

    Formula: at each epoch start with a known time ``t_S``, the counted height there is
    interpolated within its day, ``h(t_S) = end_height - B (day_end - t_S) / 86400``, and
    the offset ``h(t_S) - S`` recorded; each day takes the median of the last ``epochs``
    offsets whose day is complete by then (0 before any).

    Coin Metrics' running block count is a few blocks ahead of the chain's height (about
    +4 in 2019-2025): fed to the forecasts as is, it would overstate the progress.

    Returns
    -------
    ndarray
        Offset in blocks (float) for each day.
    """
    day_end = day_end_s(day)
    n = len(day)
    known = start_time >= 0
    sh, st = start_height[known], start_time[known].astype(np.int64)
    row = np.searchsorted(day_end, st, side="right")  # day whose end is after t_S
    inside = (row < n) & (row > 0)
    sh, st, row = sh[inside], st[inside], row[inside]
    counted = end_height[row] - blocks[row] * (day_end[row] - st) / SECONDS_PER_DAY
    off = counted - sh
    out = np.zeros(n)
    if len(off) == 0:
        return out
    padded = np.concatenate([np.full(epochs - 1, np.nan), off])
    med = np.nanmedian(np.lib.stride_tricks.sliding_window_view(padded, epochs), axis=1)
    pos = np.searchsorted(row, np.arange(n), side="right") - 1
    return np.where(pos >= 0, med[np.clip(pos, 0, None)], 0.0)


@dataclass(frozen=True)
class DailySeries:
    """The daily arrays the daily-data forecast reads (a slice of the daily frame).

    ``day``, ``blocks``, ``end_height`` (heights from cumulative counts), ``difficulty_mean``.
    """

    day: np.ndarray
    blocks: np.ndarray
    end_height: np.ndarray
    difficulty_mean: np.ndarray

    @classmethod
    def from_frame(cls, frame: DailyFrame) -> DailySeries:
        return cls(frame.day, frame.blocks, frame.end_height, frame.difficulty_mean)

    def tail(self, days: int) -> DailySeries:
        """The last ``days`` days."""
        s = slice(max(len(self.day) - days, 0), None)
        return DailySeries(self.day[s], self.blocks[s], self.end_height[s], self.difficulty_mean[s])


@dataclass(frozen=True)
class Epochs:
    """The epochs table: ``start_height``, ``difficulty``, ``start_time`` (-1 unknown)."""

    start_height: np.ndarray
    difficulty: np.ndarray
    start_time: np.ndarray

    @classmethod
    def from_store(cls, raw: dict[str, np.ndarray]) -> Epochs:
        return cls(
            np.asarray(raw["start_height"], np.int64),
            np.asarray(raw["difficulty"], np.float64),
            np.asarray(raw["start_time"], np.int64),
        )

    def lookup(self, start_height: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Difficulty and start time (NaN where not held) of the epochs starting at
        ``start_height``."""
        s = np.asarray(start_height, np.int64)
        if len(self.start_height) == 0:
            return np.full(s.shape, np.nan), np.full(s.shape, np.nan)
        i = np.searchsorted(self.start_height, s)
        ic = np.clip(i, 0, len(self.start_height) - 1)
        hit = (i < len(self.start_height)) & (self.start_height[ic] == s)
        d = np.where(hit, self.difficulty[ic], np.nan)
        t = np.where(hit, self.start_time[ic], -1).astype(np.float64)
        return d, np.where(t >= 0, t, np.nan)


@dataclass(frozen=True)
class DailyContext:
    """Everything derived once from the daily series for daily-data forecasts."""

    series: DailySeries
    day_end_s: np.ndarray
    offset: np.ndarray  # counted heights minus chain heights, blocks
    chain_end_height: np.ndarray  # end_height - offset (float)
    fit: ProcessFit
    obs: Observations


def with_drift_window(
    fit: ProcessFit, blocks: ArrayLike, difficulty_mean: ArrayLike, drift_window_days: int
) -> ProcessFit:
    """``fit`` with its drift and drift standard error taken from a shorter trailing window
    of ``drift_window_days`` days (the random-walk variance, hence the level, unchanged).

    The same estimator as :func:`fit_hashrate_process` (the 30-day means at both ends of
    the window), on fewer days: it follows a change of the growth rate sooner, at the price
    of a noisier drift (its ``se`` grows as ``(W - 30)**-1.5``). Days where the short
    window has too little history keep ``fit``'s values.
    """
    short = fit_hashrate_process(
        blocks,
        difficulty_mean,
        window_days=drift_window_days,
        min_days=min(MIN_FIT_DAYS, drift_window_days),
    )
    ok = (short.days > 0) & (fit.days > 0)
    return ProcessFit(
        q_per_day=fit.q_per_day,
        drift_per_day=np.where(ok, short.drift_per_day, fit.drift_per_day),
        drift_se_per_day=np.where(ok, short.drift_se_per_day, fit.drift_se_per_day),
        days=fit.days,
    )


def daily_context(
    series: DailySeries, epochs: Epochs, drift_window_days: int | None = None
) -> DailyContext:
    """Precompute the height offsets, the process fit and the daily observations
    (``drift_window_days``: the drift from that shorter window, :func:`with_drift_window`)."""
    day_end = day_end_s(series.day)
    offset = height_offsets(
        series.day,
        series.blocks,
        series.end_height,
        epochs.start_height,
        epochs.start_time,
    )
    fit = fit_hashrate_process(series.blocks, series.difficulty_mean)
    if drift_window_days is not None:
        fit = with_drift_window(fit, series.blocks, series.difficulty_mean, drift_window_days)
    return DailyContext(
        series=series,
        day_end_s=day_end,
        offset=offset,
        chain_end_height=series.end_height - offset,
        fit=fit,
        obs=daily_observations(series.day, series.blocks, series.difficulty_mean),
    )


def time_of_height(ctx: DailyContext, height: np.ndarray) -> np.ndarray:
    """Time (unix s) the chain reached ``height``, interpolated within days from the
    counted heights (NaN outside the days held)."""
    h = np.asarray(height, np.float64)
    ends = np.maximum.accumulate(ctx.chain_end_height)
    out = np.interp(h, ends, ctx.day_end_s.astype(np.float64), left=np.nan, right=np.nan)
    return np.asarray(np.where(h >= 0, out, np.nan), np.float64)


def _level(
    obs: Observations,
    now: np.ndarray,
    fit: ProcessFit,
    max_obs: int | None,
    stop: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tau_s = level_time_constant_days(fit.q_per_day) * SECONDS_PER_DAY
    return ew_hashrate(obs, now, tau_s, max_obs, stop)


def daily_inputs(
    ctx: DailyContext,
    rows: np.ndarray,
    epochs: Epochs,
    epoch_start_height: np.ndarray | None = None,
) -> ForecastInputs:
    """Forecast inputs at the ends of days ``rows`` from daily data.

    ``now`` is the end of the day; the tip height is the counted height less the offset
    (:func:`height_offsets`), rounded; the epoch is the one holding that height, moved by
    one where the epochs' known start times say it has (not) begun by ``now`` (or as given
    by ``epoch_start_height``). The epoch's start time is the epochs table's when known,
    else interpolated from the daily counts; the baseline's block 503 back is interpolated
    the same way.
    """
    rows = np.atleast_1d(np.asarray(rows, np.int64))
    now = ctx.day_end_s[rows].astype(np.float64)
    height = np.rint(ctx.chain_end_height[rows]).astype(np.int64)
    if epoch_start_height is None:
        start = height - height % EPOCH
        _, t_this = epochs.lookup(start)
        _, t_next = epochs.lookup(start + EPOCH)
        start = np.where(t_this > now, start - EPOCH, start)
        start = np.where(t_next <= now, start + EPOCH, start)
    else:
        start = np.broadcast_to(np.asarray(epoch_start_height, np.int64), rows.shape)
    height = np.clip(height, start, start + EPOCH - 1)
    d, t_start = epochs.lookup(start)
    d_prev, _ = epochs.lookup(start - EPOCH)
    t_start = np.where(np.isfinite(t_start), t_start, time_of_height(ctx, start))
    d = np.where(np.isfinite(d), d, ctx.series.difficulty_mean[rows])
    level, n_eff, age = _level(ctx.obs, now, ctx.fit.at(rows), LEVEL_MAX_OBS_DAYS)
    return ForecastInputs(
        now_s=now,
        height=height,
        epoch_start_height=start,
        epoch_start_s=t_start,
        difficulty=d,
        previous_difficulty=d_prev,
        quarter_epoch_s=time_of_height(ctx, height - QUARTER_EPOCH_BLOCKS),
        latest_block_s=now,
        obs_level_hs=level,
        obs_n_eff=n_eff,
        obs_age_s=age,
        fit=ctx.fit.at(rows),
        exact_tip=np.zeros(len(rows), bool),
    )


def block_inputs(
    heights: np.ndarray,
    times: np.ndarray,
    difficulty: np.ndarray,
    at: np.ndarray,
    *,
    daily: DailyContext | None = None,
    epochs: Epochs | None = None,
) -> ForecastInputs:
    """Forecast inputs at blocks ``at`` (indexes into the arrays) from per-block data.

    ``now`` is the block's time and the tip its height. The epoch's first block must be
    held. The level reads the block intervals up to the tip (by height: a later block
    stamped before the tip is not read) and, before the first block held, the days of
    ``daily`` that end by then; the process fit is the one of the last whole day before
    ``now`` (the a priori values without ``daily``). Block ``h - 503`` is read from the
    blocks where held, else interpolated from ``daily``.

    Parameters
    ----------
    heights, times, difficulty : ndarray
        Consecutive blocks: height, header time (unix s), difficulty.
    at : ndarray
        Indexes of the forecast blocks.
    daily : DailyContext, optional
        Daily history for the process fit and the level before the first block.
    epochs : Epochs, optional
        For the previous epoch's difficulty when its last block is not held.
    """
    h = np.asarray(heights, np.int64)
    t = np.asarray(times, np.float64)
    d = np.asarray(difficulty, np.float64)
    if len(h) and (np.diff(h) != 1).any():
        raise InputError("per-block data must be consecutive heights")
    at = np.atleast_1d(np.asarray(at, np.int64))
    tip = h[at]
    k = tip % EPOCH
    first = at - k
    if (first < 0).any():
        bad = int(tip[first < 0][0])
        raise InputError(
            f"height {bad}: the first block of its epoch ({bad - bad % EPOCH}) is not held; "
            "per-block forecasts need the whole epoch so far"
        )
    now = t[at]
    q_idx = at - QUARTER_EPOCH_BLOCKS
    quarter = np.where(q_idx >= 0, t[np.clip(q_idx, 0, None)], np.nan)
    prev_idx = first - 1
    d_prev = np.where(prev_idx >= 0, d[np.clip(prev_idx, 0, None)], np.nan)
    if epochs is not None:
        d_prev_ep, _ = epochs.lookup(tip - k - EPOCH)
        d_prev = np.where(np.isfinite(d_prev), d_prev, d_prev_ep)
    obs = block_observations(t, d)
    # The intervals of blocks 1..i are observations 0..i-1: the tip at index i has i.
    stop = at.copy()
    if daily is not None:
        day_ok = daily.day_end_s <= (t[0] if len(t) else -np.inf)
        obs = daily.obs.select(day_ok).concat(obs)
        stop += int(np.count_nonzero(day_ok))
        fit_row = np.searchsorted(daily.day_end_s, now, side="right") - 1
        fit = daily.fit.at(fit_row)
        need = ~np.isfinite(quarter)
        if need.any():
            quarter = np.where(need, time_of_height(daily, tip - QUARTER_EPOCH_BLOCKS), quarter)
    else:
        fit = ProcessFit.prior(len(at))
    level, n_eff, age = _level(obs, now, fit, None, stop)
    return ForecastInputs(
        now_s=now,
        height=tip,
        epoch_start_height=tip - k,
        epoch_start_s=t[first],
        difficulty=d[at],
        previous_difficulty=d_prev,
        quarter_epoch_s=quarter,
        latest_block_s=now,
        obs_level_hs=level,
        obs_n_eff=n_eff,
        obs_age_s=age,
        fit=fit,
        exact_tip=np.ones(len(at), bool),
    )
