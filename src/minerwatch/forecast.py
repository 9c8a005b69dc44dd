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
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .chain import (
    HASHES_PER_DIFFICULTY,
    MAX_TIMESPAN_S,
    MIN_TIMESPAN_S,
    RETARGET_INTERVAL,
    TARGET_SPACING_S,
    TARGET_TIMESPAN_S,
)
from .errors import InputError, MinerwatchError
from .jsonable import num as _num
from .metrics import estimators as est
from .units import HS_PER_EHS, SECONDS_PER_DAY

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
#: Time windows, days, of the hashrate estimators of a per-block outlook.
BLOCK_ESTIMATE_DAYS = (1, 3, 7)
#: Slack, seconds, when finding the oldest block a level window needs: header times may run
#: up to two hours ahead of their neighbours (consensus), a day more covers the tip's day.
_BLOCK_TIME_SLACK_S = 2 * SECONDS_PER_DAY
#: Epoch starts whose Coin Metrics height offset is averaged (median) in daily mode.
HEIGHT_OFFSET_EPOCHS = 12
#: Days of daily data an outlook reads (the fit's 365 days and 28 lags, twelve epochs).
OUTLOOK_DAYS = 800
#: mempool.space's sliding window, blocks (a quarter epoch).
QUARTER_EPOCH_BLOCKS = 503

_EPOCH = RETARGET_INTERVAL
_UNIX_DAY0 = np.datetime64("1970-01-01", "D")


# =========================================================================================
# Baseline: mempool.space calcDifficultyAdjustment, exactly
# =========================================================================================


@dataclass(frozen=True)
class MempoolAdjustment:
    """The result of mempool.space's ``calcDifficultyAdjustment``, field for field.

    Times in milliseconds except ``previous_time`` (seconds, as mempool returns it);
    percentages in percent. :meth:`to_dict` gives mempool's camelCase keys.
    """

    progress_percent: float
    difficulty_change: float
    estimated_retarget_date: float
    remaining_blocks: int
    remaining_time: float
    previous_retarget: float
    previous_time: int
    next_retarget_height: int
    time_avg: float
    adjusted_time_avg: float
    time_offset: float
    expected_blocks: float

    def to_dict(self) -> dict:
        """mempool's JSON shape (camelCase keys)."""
        out = {}
        for k, v in asdict(self).items():
            head, *rest = k.split("_")
            out[head + "".join(w.title() for w in rest)] = v
        return out


def mempool_baseline(
    da_time: np.ndarray,
    quarter_epoch_time: np.ndarray,
    now_seconds: np.ndarray,
    block_height: np.ndarray,
    previous_retarget: np.ndarray,
    latest_block_timestamp: np.ndarray,
    network: str = "mainnet",
) -> dict[str, np.ndarray]:
    """mempool.space's next-adjustment estimate, vectorised, operation for operation.

    Formula (``blocks = height % 2016``, ``diff = max(0, now - DATime)``):

    - first 503 blocks of an epoch, with the time of the block 503 back: the expected
      change from a sliding window of 504 blocks, the previous epoch's part rescaled by
      its retarget: ``span = diff + (DATime - quarterTime) * (1 + prev / 100)``,
      ``change = 600 / (span / 504) - 1``, mean interval ``span / 503``;
    - otherwise ``change = 600 / (timespan / (blocks + 1)) - 1`` with ``timespan = now -
      DATime``, or ``latest block time - DATime`` once the epoch's last block (2015) is in
      (the change is then locked); mean interval ``diff / blocks``;
    - change in percent clamped to [-75, +300]; date = ``now + (2016 - blocks) *
      floor(mean interval in ms)``. Testnet caps the interval at 20 minutes.

    Parameters
    ----------
    da_time : array_like
        Time of the epoch's first block (the last difficulty adjustment), unix seconds.
    quarter_epoch_time : array_like
        Time of block ``height - 503``, unix seconds; NaN or 0 where unknown (the sliding
        window is then skipped, as in mempool when its lookup fails).
    now_seconds : array_like
        Current time, unix seconds.
    block_height : array_like
        Current tip height.
    previous_retarget : array_like
        Percent change of the last adjustment.
    latest_block_timestamp : array_like
        Tip's header time, unix seconds (used once the change is locked, and on testnet).
    network : str, default "mainnet"
        ``"testnet"`` applies mempool's 20-minute cap.

    Returns
    -------
    dict of ndarray
        mempool's fields, snake_case: ``progress_percent``, ``difficulty_change``
        (percent), ``estimated_retarget_date`` (ms), ``remaining_blocks``,
        ``remaining_time`` (ms), ``previous_retarget``, ``previous_time`` (s),
        ``next_retarget_height``, ``time_avg``, ``adjusted_time_avg`` (ms),
        ``time_offset`` (ms), ``expected_blocks``.

    References
    ----------
    mempool/mempool ``backend/src/api/difficulty-adjustment.ts``, ``calcDifficultyAdjustment``
    (the version with the 504-block sliding window; tested against that repository's
    ``backend/src/__tests__/api/difficulty-adjustment.test.ts`` vectors).
    """
    f = np.float64
    da = np.asarray(da_time, f)
    qt = np.asarray(quarter_epoch_time, f)
    now = np.asarray(now_seconds, f)
    height = np.asarray(block_height, np.int64)
    prev = np.asarray(previous_retarget, f)
    latest = np.asarray(latest_block_timestamp, f)
    epoch_len, target, testnet_max = 2016, 600.0, 1200.0

    diff_seconds = np.maximum(0.0, now - da)
    blocks_in_epoch = np.where(height >= 0, height % epoch_len, 0)
    progress = np.where(height >= 0, blocks_in_epoch / epoch_len * 100, 100.0)
    remaining_blocks = epoch_len - blocks_in_epoch
    next_height = np.where(height >= 0, height + remaining_blocks, 0)
    expected_blocks = diff_seconds / target
    actual_timespan = np.where(blocks_in_epoch == 2015, latest, now) - da

    with np.errstate(divide="ignore", invalid="ignore"):
        time_avg_s = np.where(blocks_in_epoch != 0, diff_seconds / blocks_in_epoch, target)
        windowed = np.isfinite(qt) & (qt != 0) & (blocks_in_epoch < 503)
        time_last_epoch = da - qt
        adjusted_last = time_last_epoch * (1 + (prev / 100))
        adjusted_span = diff_seconds + adjusted_last
        change = np.where(
            windowed,
            (target / (adjusted_span / 504) - 1) * 100,
            (target / (actual_timespan / (blocks_in_epoch + 1)) - 1) * 100,
        )
        adjusted_avg_s = np.where(windowed, adjusted_span / 503, time_avg_s)
    change = np.where(change > 300, 300.0, change)
    change = np.where(change < -75, -75.0, change)

    time_offset = np.zeros_like(now)
    if network == "testnet":
        time_avg_s = np.where(time_avg_s > testnet_max, testnet_max, time_avg_s)
        since_last = now - latest
        time_offset = np.where(
            since_last + time_avg_s > testnet_max,
            -np.minimum(since_last, testnet_max) * 1000,
            0.0,
        )
    time_avg = np.floor(time_avg_s * 1000)
    adjusted_avg = np.floor(adjusted_avg_s * 1000)
    remaining_time = remaining_blocks * adjusted_avg
    return {
        "progress_percent": progress,
        "difficulty_change": change,
        "estimated_retarget_date": remaining_time + now * 1000,
        "remaining_blocks": remaining_blocks,
        "remaining_time": remaining_time,
        "previous_retarget": prev,
        "previous_time": da,
        "next_retarget_height": next_height,
        "time_avg": time_avg,
        "adjusted_time_avg": adjusted_avg,
        "time_offset": time_offset,
        "expected_blocks": expected_blocks,
    }


def calc_difficulty_adjustment(
    da_time: int,
    quarter_epoch_time: int | None,
    now_seconds: int,
    block_height: int,
    previous_retarget: float,
    network: str = "mainnet",
    latest_block_timestamp: int = 0,
) -> MempoolAdjustment:
    """mempool.space's ``calcDifficultyAdjustment`` for one tip, same arguments in the
    same order (``quarter_epoch_time`` None where unknown).

    See :func:`mempool_baseline` for the formula. Returns a :class:`MempoolAdjustment`
    whose :meth:`~MempoolAdjustment.to_dict` equals mempool's result object.

    References
    ----------
    mempool/mempool ``backend/src/api/difficulty-adjustment.ts``.
    """
    r = mempool_baseline(
        da_time,
        np.nan if quarter_epoch_time is None else quarter_epoch_time,
        now_seconds,
        block_height,
        previous_retarget,
        latest_block_timestamp,
        network,
    )
    v = {k: a.item() for k, a in r.items()}
    for k in ("remaining_blocks", "next_retarget_height", "previous_time"):
        v[k] = int(v[k])
    v["previous_retarget"] = previous_retarget
    return MempoolAdjustment(**v)


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
    blocks: np.ndarray,
    difficulty_mean: np.ndarray,
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
    blocks : ndarray
        Blocks per day (consecutive days).
    difficulty_mean : ndarray
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
    end = _day_end_s(day).astype(np.float64)
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
        return self.height - self.epoch_start_height


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
    k = np.clip(inputs.blocks_in_epoch, 0, _EPOCH - 1).astype(np.float64)
    now = np.asarray(inputs.now_s, np.float64)
    elapsed = now - inputs.epoch_start_s
    d = np.asarray(inputs.difficulty, np.float64)
    fit = inputs.fit
    g_s = fit.drift_per_day / SECONDS_PER_DAY
    age_d = inputs.obs_age_s / SECONDS_PER_DAY
    level_now = inputs.obs_level_hs * np.exp(fit.drift_per_day * age_d)
    lam0 = level_now / (d * HASHES_PER_DIFFICULTY)
    locked = (k >= _EPOCH - 1) & inputs.exact_tip
    r_change = np.maximum(_EPOCH - 1 - k, 1.0)  # 1 where locked (then unused)
    r_date = _EPOCH - k
    remaining_d = r_change / lam0 / SECONDS_PER_DAY
    var = (
        1.0 / inputs.obs_n_eff
        + fit.q_per_day * (age_d / 2.0 + remaining_d / 3.0)
        + fit.drift_se_per_day**2 * (age_d + remaining_d / 2.0) ** 2
    )
    sigma = np.sqrt(var)

    def change_at(p: float) -> np.ndarray:
        r_time = np.where(locked, 0.0, _time_for_blocks(r_change, lam0, g_s, sigma, p))
        timespan = np.clip(elapsed + r_time, MIN_TIMESPAN_S, MAX_TIMESPAN_S)
        change = 100.0 * (TARGET_TIMESPAN_S / timespan - 1.0)
        return np.maximum(change, 100.0 * (1.0 / d - 1.0))  # new difficulty >= 1 (powLimit)

    def date_at(p: float) -> np.ndarray:
        return now + _time_for_blocks(r_date, lam0, g_s, sigma, p)

    with np.errstate(invalid="ignore", divide="ignore"):
        return AdjustmentForecast(
            change_pct=change_at(0.5),
            change_pct_low=change_at(1.0 - lo_p),  # slower blocks, smaller change
            change_pct_high=change_at(lo_p),
            date_s=date_at(0.5),
            date_low_s=date_at(lo_p),
            date_high_s=date_at(1.0 - lo_p),
            hashrate_hs=level_now,
            rate_sigma=sigma,
            tau_days=level_time_constant_days(fit.q_per_day),
            confidence=confidence,
        )


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


def _day_end_s(day: np.ndarray) -> np.ndarray:
    return (np.asarray(day, "datetime64[D]") + 1 - _UNIX_DAY0).astype(np.int64) * SECONDS_PER_DAY


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
    day_end = _day_end_s(day)
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
    def from_frame(cls, frame) -> DailySeries:
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


def daily_context(series: DailySeries, epochs: Epochs) -> DailyContext:
    """Precompute the height offsets, the process fit and the daily observations."""
    day_end = _day_end_s(series.day)
    offset = height_offsets(
        series.day,
        series.blocks,
        series.end_height,
        epochs.start_height,
        epochs.start_time,
    )
    return DailyContext(
        series=series,
        day_end_s=day_end,
        offset=offset,
        chain_end_height=series.end_height - offset,
        fit=fit_hashrate_process(series.blocks, series.difficulty_mean),
        obs=daily_observations(series.day, series.blocks, series.difficulty_mean),
    )


def time_of_height(ctx: DailyContext, height: np.ndarray) -> np.ndarray:
    """Time (unix s) the chain reached ``height``, interpolated within days from the
    counted heights (NaN outside the days held)."""
    h = np.asarray(height, np.float64)
    ends = np.maximum.accumulate(ctx.chain_end_height)
    out = np.interp(h, ends, ctx.day_end_s.astype(np.float64), left=np.nan, right=np.nan)
    return np.where(h >= 0, out, np.nan)


def _level(
    obs: Observations,
    now: np.ndarray,
    fit: ProcessFit,
    max_obs: int | None,
    stop: np.ndarray | None = None,
):
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
        start = height - height % _EPOCH
        _, t_this = epochs.lookup(start)
        _, t_next = epochs.lookup(start + _EPOCH)
        start = np.where(t_this > now, start - _EPOCH, start)
        start = np.where(t_next <= now, start + _EPOCH, start)
    else:
        start = np.broadcast_to(np.asarray(epoch_start_height, np.int64), rows.shape)
    height = np.clip(height, start, start + _EPOCH - 1)
    d, t_start = epochs.lookup(start)
    d_prev, _ = epochs.lookup(start - _EPOCH)
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
    k = tip % _EPOCH
    first = at - k
    if (first < 0).any():
        bad = int(tip[first < 0][0])
        raise InputError(
            f"height {bad}: the first block of its epoch ({bad - bad % _EPOCH}) is not held; "
            "per-block forecasts need the whole epoch so far"
        )
    now = t[at]
    q_idx = at - QUARTER_EPOCH_BLOCKS
    quarter = np.where(q_idx >= 0, t[np.clip(q_idx, 0, None)], np.nan)
    prev_idx = first - 1
    d_prev = np.where(prev_idx >= 0, d[np.clip(prev_idx, 0, None)], np.nan)
    if epochs is not None:
        d_prev_ep, _ = epochs.lookup(tip - k - _EPOCH)
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


# =========================================================================================
# The outlook of a day or a block (reads the store)
# =========================================================================================


def iso_utc(unix_s: float | None) -> str | None:
    """``YYYY-MM-DDTHH:MM:SSZ`` of unix seconds (None for NaN or infinite)."""
    if unix_s is None or not math.isfinite(unix_s):
        return None
    return str(np.datetime64(int(round(unix_s)), "s")) + "Z"


@dataclass(frozen=True)
class DifficultyOutlook:
    """Where the current epoch stands and the next adjustment, with intervals.

    Units are in the names; dates and times are ISO 8601 UTC. See ``docs/difficulty.md``.

    ``as_of``: the moment of the forecast; ``as_of_day``: with daily data, the day whose
    end that moment is (None with per-block data). ``next_adjustment``: ``height``,
    ``blocks_remaining``, ``change_pct`` (median), ``change_pct_low``, ``change_pct_high``
    (90% interval), ``difficulty``, ``difficulty_low``, ``difficulty_high`` (the difficulty
    each change would set, :func:`difficulty_after`), ``date``, ``date_low``, ``date_high``,
    ``method``, and ``reason``: None, or why there is no forecast (the figures are then
    None). ``baseline``: mempool.space's ``change_pct``, the ``difficulty`` it would set and
    ``date`` on the same data. ``hashrate``: each estimator's hashrate
    and 90% interval, EH/s. ``model``: the fitted process (random-walk sd and drift per
    day, level time constant).
    """

    as_of: str
    as_of_day: str | None
    data: str
    height: int
    epoch: int
    epoch_start_height: int
    epoch_start_time: str | None
    epoch_start_time_estimated: bool
    difficulty: float
    progress_pct: float
    blocks_in_epoch: int
    blocks_remaining: int
    interval_min_epoch: float | None
    interval_min_recent: float | None
    next_adjustment: dict
    baseline: dict
    hashrate: dict[str, dict]
    model: dict
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict."""
        out = asdict(self)
        out["notes"] = list(self.notes)
        return out


def _estimate_entry(window: str, method: str, blocks, h, lo, hi, core=None) -> dict:
    entry = {
        "window": window,
        "method": method,
        "blocks": None if not np.isfinite(blocks) else int(blocks),
        "hashrate_ehs": _num(h / HS_PER_EHS),
        "low_ehs": _num(lo / HS_PER_EHS),
        "high_ehs": _num(hi / HS_PER_EHS),
    }
    if core is not None:
        entry["getnetworkhashps_ehs"] = _num(core / HS_PER_EHS)
    return entry


def _daily_estimates(series: DailySeries, row: int, inputs: ForecastInputs) -> dict[str, dict]:
    out = {}
    tail = slice(max(row - 6, 0), row + 1)  # the last week is all the windows read
    for w in (1, 3, 7):
        e = est.daily_window_hashrate(series.blocks[tail], series.difficulty_mean[tail], w)
        out[f"{w}d"] = _estimate_entry(
            f"{w}d",
            "blocks counted in whole UTC days x difficulty; exact Poisson (Garwood) interval",
            e.blocks[-1],
            e.hashrate_hs[-1],
            e.low_hs[-1],
            e.high_hs[-1],
        )
    k = float(inputs.blocks_in_epoch[0])
    elapsed = float(inputs.now_s[0] - inputs.epoch_start_s[0])
    work = float(inputs.difficulty[0]) * HASHES_PER_DIFFICULTY
    if k > 0 and elapsed > 0:
        lo, hi = est.poisson_rate_interval(k, elapsed)
        out["epoch"] = _estimate_entry(
            "epoch",
            "blocks since the epoch's first block over the time since; exact Poisson interval",
            k,
            k * work / elapsed,
            float(lo) * work,
            float(hi) * work,
        )
    return out


def _block_estimates(times: np.ndarray, difficulty: np.ndarray, j: int, k: int) -> dict:
    out = {}
    t = times[: j + 1]
    d = difficulty[: j + 1]
    windows = [(120, "120"), (1008, "1008")]
    if k >= 2:
        # Core's -1: the blocks since the last change plus the one before it (its time opens
        # the window); from the epoch's first block where that one is not held.
        windows.append((k + 1 if j >= k + 1 else k, "epoch"))
    for n, name in windows:
        if len(t) <= n:
            continue
        tail_t, tail_d = t[-(n + 1) :], d[-(n + 1) :]
        e = est.block_window_hashrate(tail_t, tail_d, n)
        core = est.getnetworkhashps(tail_t, tail_d, n)[-1]
        label = f"{n} blocks" if name != "epoch" else "since the last difficulty change"
        out[name if name == "epoch" else f"{name}b"] = _estimate_entry(
            label,
            "work of the last n blocks / (max - min time), x (n-1)/n (Wuille); chi-square "
            "interval; getnetworkhashps_ehs is Bitcoin Core's uncorrected figure",
            n,
            e.hashrate_hs[-1],
            e.low_hs[-1],
            e.high_hs[-1],
            core,
        )
    # The time windows read the blocks from the last one stamped well before the longest
    # (the same blocks whatever the first block held, so the same sums).
    oldest = t[-1] - max(BLOCK_ESTIMATE_DAYS) * SECONDS_PER_DAY - _BLOCK_TIME_SLACK_S
    before = np.flatnonzero(t <= oldest)
    recent = slice(int(before[-1]) if before.size else 0, None)
    for days in BLOCK_ESTIMATE_DAYS:
        e = est.time_window_hashrate(
            t[recent], d[recent], days * SECONDS_PER_DAY, np.array([t[-1]])
        )
        out[f"{days}d"] = _estimate_entry(
            f"{days}d",
            "blocks with header time in the last window, exact Poisson (Garwood) interval",
            e.blocks[0],
            e.hashrate_hs[0],
            e.low_hs[0],
            e.high_hs[0],
        )
    return out


def _assemble(
    inputs: ForecastInputs, data: str, hashrate: dict, estimated_start: bool, notes: list[str]
) -> DifficultyOutlook:
    f = forecast_adjustment(inputs)
    b_change, b_date = baseline_adjustment(inputs)
    k = int(inputs.blocks_in_epoch[0])
    start = int(inputs.epoch_start_height[0])
    elapsed = float(inputs.now_s[0] - inputs.epoch_start_s[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        interval_s = inputs.difficulty[0] * HASHES_PER_DIFFICULTY / f.hashrate_hs[0]
    fit = inputs.fit
    reason = None
    if not np.isfinite(f.change_pct[0]):
        reason = (
            "no hashrate level: no block in the "
            f"{LEVEL_WINDOW_TAUS * float(f.tau_days[0]):.0f} days before as-of to estimate it "
            "from"
        )
    now = float(inputs.now_s[0])
    day = np.datetime64(int(now), "s").astype("datetime64[D]") - 1
    d = float(inputs.difficulty[0])

    def level(change: float) -> float | None:
        return _num(float(difficulty_after(d, change)))

    return DifficultyOutlook(
        as_of=iso_utc(now),
        as_of_day=str(day) if data == "daily" else None,
        data=data,
        height=int(inputs.height[0]),
        epoch=start // _EPOCH,
        epoch_start_height=start,
        epoch_start_time=iso_utc(float(inputs.epoch_start_s[0])),
        epoch_start_time_estimated=estimated_start,
        difficulty=d,
        progress_pct=round(100.0 * k / _EPOCH, 2),
        blocks_in_epoch=k,
        blocks_remaining=_EPOCH - k,
        interval_min_epoch=_num(elapsed / k / 60.0, 3) if k > 0 else None,
        interval_min_recent=_num(interval_s / 60.0, 3),
        next_adjustment={
            "height": start + _EPOCH,
            "blocks_remaining": _EPOCH - k,
            "change_pct": _num(f.change_pct[0], 3),
            "change_pct_low": _num(f.change_pct_low[0], 3),
            "change_pct_high": _num(f.change_pct_high[0], 3),
            "difficulty": level(f.change_pct[0]),
            "difficulty_low": level(f.change_pct_low[0]),
            "difficulty_high": level(f.change_pct_high[0]),
            "date": iso_utc(float(f.date_s[0])),
            "date_low": iso_utc(float(f.date_low_s[0])),
            "date_high": iso_utc(float(f.date_high_s[0])),
            "method": METHOD,
            "reason": reason,
        },
        baseline={
            "change_pct": _num(b_change[0], 3),
            "difficulty": level(b_change[0]),
            "date": iso_utc(float(b_date[0])),
            "method": BASELINE_METHOD,
        },
        hashrate=hashrate,
        model={
            "method": METHOD_TEXT,
            "confidence": CONFIDENCE,
            "hashrate_now_ehs": _num(f.hashrate_hs[0] / HS_PER_EHS),
            "rate_sd_pct": _num(100.0 * f.rate_sigma[0], 3),
            "random_walk_sd_pct_per_day": _num(100.0 * math.sqrt(float(fit.q_per_day[0])), 3),
            "drift_pct_per_day": _num(100.0 * float(fit.drift_per_day[0]), 4),
            "drift_se_pct_per_day": _num(100.0 * float(fit.drift_se_per_day[0]), 4),
            "level_time_constant_days": _num(f.tau_days[0], 2),
            "fit_days": int(fit.days[0]),
        },
        notes=tuple(notes),
    )


def _read_blocks(store, **kw) -> dict[str, np.ndarray] | None:
    """Per-block rows from the store (None when it holds none in the range), cut at the
    first missing height (a ``max_time`` cut can skip a block whose header time runs
    ahead of a later block's)."""
    reader = getattr(store, "read_blocks", None)
    if reader is None:
        return None
    raw = reader(**kw)
    if raw is None or len(raw.get("height", ())) == 0:
        return None
    gap = np.flatnonzero(np.diff(np.asarray(raw["height"], np.int64)) != 1)
    if gap.size:
        cut = int(gap[0]) + 1
        raw = {k: np.asarray(v)[:cut] for k, v in raw.items()}
    return raw


def _block_difficulty(raw: dict[str, np.ndarray], epochs: Epochs | None = None) -> np.ndarray:
    """Each block's difficulty: stored, else from its bits, else its epoch's (table)."""
    from .chain import bits_to_difficulty_array

    h = np.asarray(raw["height"], np.int64)
    d = np.asarray(raw.get("difficulty", np.full(len(h), np.nan)), np.float64).copy()
    bits = np.asarray(raw.get("bits", np.full(len(h), -1)), np.int64)
    fill = ~np.isfinite(d) & (bits > 0)
    if fill.any():
        d[fill] = bits_to_difficulty_array(bits[fill])
    if epochs is not None and not np.isfinite(d).all():
        from_table, _ = epochs.lookup(h - h % _EPOCH)
        d = np.where(np.isfinite(d), d, from_table)
    if not np.isfinite(d).all():
        bad = int(h[~np.isfinite(d)][0])
        raise InputError(
            f"block {bad}: no difficulty, bits or epochs-table difficulty; import the epochs "
            "(`minerwatch import epochs`) or blocks with bits"
        )
    return d


def outlook_from_store(
    store,
    as_of: np.datetime64 | None = None,
    at_height: int | None = None,
    *,
    frame=None,
) -> DifficultyOutlook:
    """:func:`difficulty_outlook` on an open store (``as_of`` a day or None).

    Per-block data is read from :func:`_block_read_start` on, not from the first block
    held: a bounded number of blocks whatever the size of the blocks table.
    """
    from .frames import build_daily_frame, check_as_of

    if as_of is not None and at_height is not None:
        raise InputError("give either --as-of or --at-height, not both")
    epochs = Epochs.from_store(store.read_epochs())
    notes: list[str] = []
    if at_height is not None:
        h = int(at_height)
        if h < 0:
            raise InputError(f"--at-height must be >= 0, got {h}")
        start = h - h % _EPOCH
        tip = _read_blocks(store, min_height=h, max_height=h)
        raw = None
        if tip is not None:
            daily = _daily_before(store, epochs, int(tip["time"][0]))
            first = _block_read_start(store, h, int(tip["time"][0]), daily)
            raw = _read_blocks(store, min_height=first, max_height=h)
        if raw is None or int(raw["height"][-1]) != h or int(raw["height"][0]) > start:
            held = store.block_height_range()
            span = (
                f"heights {held[0]} to {held[1]}"
                if held is not None
                else "no per-block data (load it with `minerwatch import blocks`)"
            )
            raise InputError(
                f"--at-height {h}: needs per-block data from the epoch's first block "
                f"({start}) to {h}; the database holds {span}"
            )
        return _outlook_blocks(raw, len(raw["height"]) - 1, epochs, notes, daily)
    day = check_as_of(store, as_of)
    day_end = int(_day_end_s(np.array([day]))[0])
    held = store.block_height_range(max_time=day_end - 1)
    if held is not None:
        # The tip, if the blocks reach this day, is stamped on it: the daily history is the
        # days before it.
        daily = _daily_before(store, epochs, day_end - 1)
        first = _block_read_start(store, held[1], day_end, daily)
        raw = _read_blocks(store, min_height=first, max_time=day_end - 1)
        if raw is not None:
            h = int(raw["height"][-1])
            t_last = int(raw["time"][-1])
            start = h - h % _EPOCH
            if int(raw["height"][0]) <= start and t_last >= day_end - SECONDS_PER_DAY:
                return _outlook_blocks(raw, len(raw["height"]) - 1, epochs, notes, daily)
    if frame is None or frame.day[-1] != day:
        frame = build_daily_frame(store, day)
    if frame.end_height[0] < 0:
        raise InputError(
            "the daily data does not start at the genesis day, so heights are unknown; "
            "the difficulty outlook needs heights (load the full Coin Metrics history)"
        )
    # The fit reads 365 days plus 28 days of lags, the offset the last 12 epoch starts:
    # the last OUTLOOK_DAYS days hold all of it.
    series = DailySeries.from_frame(frame).tail(OUTLOOK_DAYS)
    ctx = daily_context(series, epochs)
    row = len(series.day) - 1
    inputs = daily_inputs(ctx, np.array([row]), epochs)
    _, known = epochs.lookup(inputs.epoch_start_height)
    estimated = not bool(np.isfinite(known[0]))
    notes.append(
        "daily data: progress is known at day ends only; heights come from daily block "
        f"counts less their offset from the chain ({ctx.offset[row]:+.1f} blocks, the median "
        "at recent epoch starts)"
    )
    if estimated:
        notes.append(
            "the epoch's start time is not in the epochs table: interpolated from "
            "daily block counts"
        )
    if not np.isfinite(epochs.lookup(inputs.epoch_start_height)[0][0]):
        notes.append("the epoch's difficulty is not in the epochs table: the day's mean")
    return _assemble(inputs, "daily", _daily_estimates(series, row, inputs), estimated, notes)


def _daily_before(store, epochs: Epochs, block_time_s: int) -> DailyContext | None:
    """The daily history strictly before the day of a block stamped ``block_time_s`` (that
    day's totals are not yet known then); None without one from the genesis day."""
    from .frames import build_daily_frame

    block_day = np.datetime64(int(block_time_s), "s").astype("datetime64[D]")
    span = store.chain_day_range()
    if span is None or block_day - 1 < span[0]:
        return None
    frame = build_daily_frame(store, min(block_day - 1, span[1]))
    if frame.end_height[0] < 0:
        return None
    return daily_context(DailySeries.from_frame(frame), epochs)


def _block_read_start(store, tip: int, t_upper: int, daily: DailyContext | None) -> int:
    """The lowest height an outlook at block ``tip`` (stamped at or before ``t_upper``)
    reads: the block before the epoch's first (Core's ``-1`` window), the 1,008-block
    window's first, block ``tip - 503``, and every block the level's window of
    :data:`LEVEL_WINDOW_TAUS` time constants or the 7-day estimator may hold (found by
    time, with a slack for header times that run ahead). Blocks older than that change no
    figure."""
    start = tip - tip % _EPOCH
    first = min(start - 1, tip - 1009, tip - QUARTER_EPOCH_BLOCKS)
    q = daily.fit.q_per_day[-1] if daily is not None else Q_PRIOR_PER_DAY
    tau_s = float(level_time_constant_days(q)) * SECONDS_PER_DAY
    span_s = max(LEVEL_WINDOW_TAUS * tau_s, max(BLOCK_ESTIMATE_DAYS) * SECONDS_PER_DAY)
    oldest = int(t_upper - span_s - 2 * _BLOCK_TIME_SLACK_S)
    before = store.block_height_range(max_time=oldest)
    if before is not None:
        first = min(first, before[1])
    return max(first, 0)


def _outlook_blocks(
    raw, j: int, epochs: Epochs, notes: list[str], daily: DailyContext | None
) -> DifficultyOutlook:
    heights = np.asarray(raw["height"], np.int64)
    times = np.asarray(raw["time"], np.int64)
    diff = _block_difficulty(raw, epochs)
    if daily is None:
        notes.append("no daily history before this block: the a priori process parameters")
    inputs = block_inputs(heights, times, diff, np.array([j]), daily=daily, epochs=epochs)
    k = int(inputs.blocks_in_epoch[0])
    return _assemble(inputs, "blocks", _block_estimates(times, diff, j, k), False, notes)


def difficulty_outlook(
    db=None, as_of: str | None = None, at_height: int | None = None
) -> DifficultyOutlook:
    """The current epoch and the next difficulty adjustment as of a day or a block.

    Per-block data (``minerwatch import blocks``) is used when it holds the epoch from its
    first block up to the day (or the block); otherwise the daily data, at the end of the
    ``as_of`` day. Nothing after ``as_of`` (or the block) is read.

    Parameters
    ----------
    db : Store, str or Path, optional
        The database (default: :func:`~minerwatch.store.default_db_path`).
    as_of : str, optional
        Day, ``YYYY-MM-DD`` (default: the last day held).
    at_height : int, optional
        Forecast at this block instead (needs per-block data).

    Returns
    -------
    DifficultyOutlook

    Raises
    ------
    InputError
        Both ``as_of`` and ``at_height``; a day outside the data; a height without
        per-block data.
    """
    from .frames import parse_as_of
    from .store import Store, open_store

    if not isinstance(db, Store):
        path = Path(db) if db is not None else None
        with open_store(path, read_only=True) as store:
            return difficulty_outlook(store, as_of, at_height)
    return outlook_from_store(db, parse_as_of(as_of), at_height)


def next_adjustment_or_none(store, as_of: np.datetime64, frame=None) -> dict | None:
    """The outlook's ``next_adjustment`` for ``status``; None when it cannot be computed
    (no heights, no epochs, no hashrate level yet)."""
    try:
        na = outlook_from_store(store, as_of, frame=frame).next_adjustment
    except MinerwatchError:
        return None
    return na if na["reason"] is None else None
