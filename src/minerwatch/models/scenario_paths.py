"""Scenario paths for the fleet plan: per run and per day, the BTC price, the network's
difficulty, block heights (so the halving falls where the scenario's own block production
puts it), fees per block and the BTC a TH/s earns. Vectorised over runs x days; the only
Python loop is over retarget epochs (about 26 a year).

The chain. Network hashrate ``H`` (H/s) follows a daily path. Difficulty ``D_k`` is fixed
through epoch ``k``; the epoch ends when the work done since its start reaches
``blocks_k * D_k * 2**32`` (blocks come at ``H / (D_k * 2**32)`` a second), and the next
difficulty is ``D_k * 1209600 s / (epoch duration)``, clamped to x4 / x1/4 (Bitcoin Core's
``CalculateNextWorkRequired``). The coming retarget (``D_1``) is drawn from minerwatch's
forecast (log-normal, median and 90% interval of :mod:`minerwatch.models.difficulty`) when
the scenario asks for it. Heights advance by work / (D * 2**32), and each day's mean
subsidy is the subsidy schedule's integral over the day's heights (Bitcoin Core's
``GetBlockSubsidy``: 50 BTC halving every 210,000 blocks), so the 2028 halving at height
1,050,000 steps the subsidy within the day the scenario reaches it.

Hashrate growth and price returns are drawn together, in blocks of consecutive days of
history (the circular block bootstrap: D. N. Politis and J. P. Romano (1992), *A circular
block-resampling procedure for stationary data*, in *Exploring the Limits of Bootstrap*,
Wiley; after H. R. Künsch (1989), Annals of Statistics 17(3)), so a month of falling
price comes with that month's hashrate; hashrate growth is read from the difficulty's daily
log changes (the difficulty follows hashrate about an epoch late, without the Poisson noise
of a daily hashrate estimate). Price returns have their historical mean removed and the
scenario's drift added (no view on the price unless the scenario takes one). Hashrate
keeps history's growth, less the part the scenario's price no longer pays for: the
departure of the scenario's expected log price from history's trend (drift, shock, file),
lagged to first order by ``hashrate_lag_days`` and scaled by
``hashrate_price_elasticity``, is added to log hashrate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerwatch.chain.consensus import (
    HALVING_INTERVAL,
    INITIAL_SUBSIDY_SAT,
    RETARGET_INTERVAL,
    TARGET_SPACING_S,
    TARGET_TIMESPAN_S,
)
from minerwatch.models.fleet_pnl import btc_per_th_day
from minerwatch.sources.scenario_file import DayFile, Scenario
from minerwatch.units import SAT_PER_BTC, SECONDS_PER_DAY

#: Runs simulated at once (memory: about ten runs x days float arrays of this many rows).
CHUNK_RUNS = 1000
#: z of the two-sided 90% interval, to turn the forecast's interval into a log-sd.
Z90 = 1.6448536269514722
#: The least history (days with both a price return and a hashrate change) a bootstrap
#: draws from: a year, so that every season and at least one drawdown are in it.
MIN_HISTORY_DAYS = 365
#: At most this many retargets a day on average over a plan (more means a hashrate path
#: that grows faster than the x4 clamp can follow: history from bitcoin's first years).
MAX_EPOCHS_PER_DAY = 1.0
#: Days of an epoch at the target spacing.
EPOCH_DAYS = TARGET_TIMESPAN_S / SECONDS_PER_DAY
_ERAS = 34  # the subsidy is 0 from era 33 on


@dataclass(frozen=True)
class MarketStart:
    """What the plan starts from (all as of ``day``, nothing after it).

    ``price_usd``: the day's close; ``difficulty``; ``next_height``: the next block's
    height; ``retarget_height``: the first block of the next epoch; ``next_change_pct``
    with ``next_change_low_pct`` / ``next_change_high_pct``: the forecast of the coming
    retarget and its 90% interval (None: no forecast); ``log_returns`` and
    ``log_growth``: daily log changes of the price and of the network hashrate over the
    history held (equal length, aligned by day, NaN where unknown); ``fees_btc_per_block``:
    each past day's mean fees per block; ``btc_per_th_day_fpps`` and ``btc_per_th_day_pps``:
    the day's own (the next block's subsidy, the day's mean fees, the difficulty), for the
    static figures that hold today forever.
    """

    day: np.datetime64
    price_usd: float
    difficulty: float
    next_height: int
    retarget_height: int
    next_change_pct: float | None
    next_change_low_pct: float | None
    next_change_high_pct: float | None
    log_returns: np.ndarray
    log_growth: np.ndarray
    fees_btc_per_block: np.ndarray
    btc_per_th_day_fpps: float
    btc_per_th_day_pps: float


@dataclass(frozen=True)
class Paths:
    """Daily paths of a chunk of runs (``runs x days``; day 0 is the day after the start).

    ``price_usd``, ``difficulty`` (at the day's middle), ``subsidy_btc`` (mean per block of
    the day's blocks), ``fees_btc_per_block``, ``blocks`` (mined in the day);
    ``site_uptime_factor`` (days: the storm's); ``halving_day`` (per run: index of the day
    the block at the next halving height is mined, -1 when not within the days).
    :meth:`btc_per_th_day` is what a TH/s earns under a pool scheme."""

    price_usd: np.ndarray
    difficulty: np.ndarray
    subsidy_btc: np.ndarray
    fees_btc_per_block: np.ndarray
    blocks: np.ndarray
    site_uptime_factor: np.ndarray
    halving_day: np.ndarray

    def btc_per_th_day(self, pool_scheme: str) -> np.ndarray:
        """BTC a day per TH/s before the pool fee: FPPS the subsidy and fees, PPS the
        subsidy alone (:func:`minerwatch.models.fleet_pnl.btc_per_th_day`)."""
        fees = self.fees_btc_per_block if pool_scheme == "fpps" else 0.0
        return btc_per_th_day(self.subsidy_btc, fees, self.difficulty)


def cumulative_subsidy_btc(height: np.ndarray) -> np.ndarray:
    """BTC issued by the blocks below ``height`` (continuous in height):
    ``sum over eras e of 50 * 2**-e * clip(height - 210000 e, 0, 210000)`` (before the
    satoshi rounding of later eras, which is below 1e-8 BTC a block). Only the eras the
    heights reach are summed; the eras wholly below them add a constant."""
    h = np.asarray(height, np.float64)
    if h.size == 0:
        return h.copy()
    first = int(max(np.nanmin(h), 0) // HALVING_INTERVAL)
    last = min(int(np.nanmax(h) // HALVING_INTERVAL), _ERAS - 1)
    per_block = INITIAL_SUBSIDY_SAT / SAT_PER_BTC * 0.5 ** np.arange(_ERAS)
    total = np.full(h.shape, per_block[:first].sum() * HALVING_INTERVAL)
    for era in range(first, last + 1):  # one or two eras over a plan
        total += np.clip(h - era * HALVING_INTERVAL, 0, HALVING_INTERVAL) * per_block[era]
    return total


def first_order_lag(x: np.ndarray, tau_days: float) -> np.ndarray:
    """``x`` (one value a day, starting from 0 before day 0) through a first-order lag of
    time constant ``tau``: ``y_t = sum_{k>=0} (1 - a) a**k x_{t-k}`` with ``a = exp(-1/tau)``
    (the discrete ``tau * y' = x - y``)."""
    a = np.exp(-1.0 / tau_days)
    kernel = (1.0 - a) * a ** np.arange(len(x))
    return np.convolve(x, kernel)[: len(x)]


def _block_indices(
    rng: np.random.Generator, runs: int, days: int, available: int, block: int
) -> np.ndarray:
    """``runs x days`` indices into a history of ``available`` days: runs of ``block``
    consecutive days from random starts, wrapping from the last day to the first (the
    circular block bootstrap: every day of the history is drawn equally often, so the
    draws keep the history's mean, which the moving-block bootstrap's edges do not)."""
    block = min(block, available)
    blocks = -(-days // block)
    starts = rng.integers(0, available, size=(runs, blocks))
    return ((starts[..., None] + np.arange(block)) % available).reshape(runs, -1)[:, :days]


def _clean_window(values: np.ndarray, lookback: int) -> np.ndarray:
    """The last ``lookback`` days where every column is known."""
    window = values[-lookback:]
    return np.asarray(window[np.isfinite(window).all(axis=-1)])


def _exit_factor(scenario: Scenario, days: int) -> np.ndarray:
    t = np.arange(days) + 0.5
    progress = np.clip((t - scenario.exit_start_day) / scenario.exit_over_days, 0.0, 1.0)
    return 1.0 - scenario.exit_share_pct / 100.0 * progress


def storm_factor(scenario: Scenario, day0: np.datetime64, days: int) -> np.ndarray:
    """Per day of the plan, the site's uptime multiplier (1 outside the storms)."""
    dates = day0 + 1 + np.arange(days)
    factor = np.ones(days)
    if scenario.storm_month_day is None:
        return factor
    years = np.unique(dates.astype("datetime64[Y]"))
    years = np.r_[years[:1] - 1, years]  # a storm of the year before may run into the plan
    for year in years:  # one storm a year
        start = np.datetime64(f"{year}-{scenario.storm_month_day}", "D")
        hit = (dates >= start) & (dates < start + scenario.storm_days)
        factor[hit] = scenario.storm_site_uptime_pct / 100.0
    return factor


class _RowSearch:
    """``np.searchsorted`` of values in each row of ``rows`` (``runs x m``, each row
    ascending and finite) in one call: the rows are shifted apart so that together they are
    one ascending sequence (built once, searched many times)."""

    def __init__(self, rows: np.ndarray, low: float, high: float) -> None:
        self.runs, self.m = rows.shape
        span = max(rows.max(), high) - min(rows.min(), low) + 1.0
        self.shift = (np.arange(self.runs) * span)[:, None] - min(rows.min(), low)
        self.flat = (rows + self.shift).ravel()

    def __call__(self, values: np.ndarray, side: str) -> np.ndarray:
        """Per row of ``values`` (``runs x n``), the indices into the same row."""
        found = np.searchsorted(self.flat, values + self.shift, side=side)  # type: ignore[call-overload]
        return np.asarray(found - (np.arange(self.runs) * self.m)[:, None])


def _invert_work(work: np.ndarray, search: _RowSearch, target: np.ndarray) -> np.ndarray:
    """Per run, the time (days, fractional) at which the cumulative work ``work``
    (``runs x (days+1)``, at day boundaries, increasing; ``search`` built on it) reaches
    ``target``; +inf beyond the last day."""
    days = work.shape[1] - 1
    beyond = ~(target <= work[:, -1])
    want = np.where(beyond, work[:, -1], target)[:, None]
    i = np.clip(search(want, "left")[:, 0], 1, days)
    rows = np.arange(len(work))
    lo, hi = work[rows, i - 1], work[rows, i]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(hi > lo, (want[:, 0] - lo) / (hi - lo), 1.0)
    return np.where(beyond, np.inf, i - 1 + frac)


def _file_path(file: DayFile, start_day: np.datetime64, days: int, what: str) -> np.ndarray:
    """A user's file's values for the ``days`` days after ``start_day``; ValueError
    naming the first day it lacks."""
    wanted = start_day + 1 + np.arange(days)
    where = np.searchsorted(file.day, wanted)
    known = (where < len(file.day)) & (file.day[np.minimum(where, len(file.day) - 1)] == wanted)
    if not known.all():
        raise ValueError(
            f"{file.path}: no {what} for {wanted[~known][0]}; expected a row for every day "
            f"from {wanted[0]} to {wanted[-1]}"
        )
    return np.asarray(file.values[where])


def simulate(
    start: MarketStart,
    scenario: Scenario,
    days: int,
    rng: np.random.Generator,
    runs: int,
) -> Paths:
    """``runs`` scenario paths over ``days`` days after ``start.day`` (see the module
    docstring)."""
    joint = np.column_stack([start.log_returns, start.log_growth])
    history = _clean_window(joint, scenario.lookback_days)
    if len(history) < max(MIN_HISTORY_DAYS, scenario.block_days):
        raise ValueError(
            f"{len(history)} days of price and hashrate history in the {scenario.lookback_days} "
            f"days before {start.day}; the scenario needs at least "
            f"{max(MIN_HISTORY_DAYS, scenario.block_days)}: choose a later start (--as-of)"
        )
    index = _block_indices(rng, runs, days, len(history), scenario.block_days)
    returns = history[:, 0] - history[:, 0].mean()
    t_days = np.arange(1, days + 1)

    drift = np.log1p(scenario.drift_pct_per_year / 100.0) / 365.25
    if scenario.price_model == "flat":
        log_price = np.zeros((runs, days))
    elif scenario.price_model == "drift":
        log_price = np.broadcast_to(drift * t_days, (runs, days)).copy()
    elif scenario.price_model == "bootstrap":
        log_price = np.cumsum(returns[index] + drift, axis=1)
    else:
        assert scenario.price_file is not None
        path = _file_path(scenario.price_file, start.day, days, "price") / start.price_usd
        log_price = np.broadcast_to(np.log(path), (runs, days)).copy()
    shock = np.log1p(scenario.shock_pct / 100.0) * np.clip(t_days / scenario.shock_days, 0, 1)
    price = start.price_usd * np.exp(log_price + shock)
    expected = shock + (
        drift * t_days
        if scenario.price_model in ("drift", "bootstrap")
        else (log_price[0] if scenario.price_model == "csv" else 0.0)
    )
    departure = expected - history[:, 0].mean() * t_days

    # Network hashrate (H/s) per day: the level the coming retarget implies, then growth.
    add = np.log1p(scenario.growth_add_pct_per_epoch / 100.0) / EPOCH_DAYS
    if scenario.difficulty_model == "fixed":
        # hashrate growing at g a day makes epochs of 14 / (1 + c) days and retargets of
        # c = exp(g * 14 / (1 + c)) - 1, so g = ln(1 + c) * (1 + c) / 14
        c = scenario.change_pct_per_epoch / 100.0
        growth = np.full((runs, days), np.log1p(c) * (1.0 + c) / EPOCH_DAYS)
    else:
        growth = history[:, 1][index]
    growth = growth + add
    response = np.zeros(days)
    if scenario.difficulty_model == "bootstrap":
        response = scenario.hashrate_price_elasticity * first_order_lag(
            departure, scenario.hashrate_lag_days
        )
    next_change = np.zeros(runs)
    if scenario.next_from_forecast and start.next_change_pct is not None:
        median = np.log1p(start.next_change_pct / 100.0)
        lo_pct, hi_pct = start.next_change_low_pct, start.next_change_high_pct
        low = np.log1p((start.next_change_pct if lo_pct is None else lo_pct) / 100.0)
        high = np.log1p((start.next_change_pct if hi_pct is None else hi_pct) / 100.0)
        next_change = median + rng.standard_normal(runs) * (high - low) / (2 * Z90)
    elif scenario.difficulty_model == "fixed":
        next_change = np.full(runs, np.log1p(scenario.change_pct_per_epoch / 100.0))
    # Work in blocks at the starting difficulty (D0 * 2**32 hashes), per day: the level
    # the coming retarget implies (D1 * 2**32 hashes every 600 s), then the growth.
    level = np.exp(next_change) * SECONDS_PER_DAY / TARGET_SPACING_S
    per_day = level[:, None] * np.exp(np.cumsum(growth, axis=1) - growth[:, :1])
    per_day *= _exit_factor(scenario, days) * np.exp(response)
    work = np.zeros((runs, days + 1))
    np.cumsum(per_day, axis=1, out=work[:, 1:])
    if not np.isfinite(work[:, -1]).all():
        raise ValueError(
            f"the hashrate drawn from the history before {start.day} grows without bound "
            "over the plan; choose a later start or a shorter plan"
        )
    search = _RowSearch(work, 0.0, float(work.max()))

    # Epochs: start times (days), difficulty, the work and height at each start.
    starts_t: list[np.ndarray] = [np.zeros(runs)]
    starts_w: list[np.ndarray] = [np.zeros(runs)]
    starts_d: list[np.ndarray] = []
    starts_h: list[np.ndarray] = []
    diff = np.ones(runs)  # difficulty / D0
    height = np.full(runs, float(start.next_height))
    blocks = np.full(runs, float(start.retarget_height - start.next_height))
    first = True
    most = int(MAX_EPOCHS_PER_DAY * days) + 2
    while True:
        if len(starts_d) > most:
            raise ValueError(
                f"more than {most - 2} retargets in {days} days: the hashrate drawn from the "
                f"history before {start.day} grows faster than the retargets follow; choose a "
                "later start"
            )
        starts_d.append(diff)
        starts_h.append(height)
        target = starts_w[-1] + blocks * diff
        t_end = _invert_work(work, search, target)
        if not np.isfinite(t_end).any():
            break
        t_end = np.where(np.isfinite(starts_t[-1]), t_end, np.inf)
        if first:
            new_diff = np.exp(next_change)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                seconds = (t_end - starts_t[-1]) * SECONDS_PER_DAY
                ratio = np.clip(TARGET_TIMESPAN_S / seconds, 0.25, 4.0)
            new_diff = diff * ratio
        first = False
        starts_t.append(t_end)
        starts_w.append(np.where(np.isfinite(t_end), target, np.inf))
        height = height + blocks
        diff, blocks = new_diff, np.full(runs, float(RETARGET_INTERVAL))
    t_k = np.column_stack(starts_t)  # runs x epochs (inf past the days)
    w_k, d_k, h_k = np.column_stack(starts_w), np.column_stack(starts_d), np.column_stack(starts_h)

    def epoch_at(offset: float, points: int) -> np.ndarray:
        """Epoch index at the times ``offset + 0, 1, ..., points - 1`` (runs x points):
        the number of epoch starts at or before each, less one, counted by binning."""
        first = np.ceil(np.where(np.isfinite(t_k), t_k - offset, points)).clip(0, points)
        flat = (first.astype(np.int64) + np.arange(runs)[:, None] * (points + 1)).ravel()
        counts = np.bincount(flat, minlength=runs * (points + 1)).reshape(runs, points + 1)
        return np.cumsum(counts[:, :points], axis=1) - 1

    rows = np.arange(runs)[:, None]
    e_b = epoch_at(0.0, days + 1)
    height_b = h_k[rows, e_b] + (work - w_k[rows, e_b]) / d_k[rows, e_b]
    mined = np.diff(height_b, axis=1)
    issued = np.diff(cumulative_subsidy_btc(height_b), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        subsidy = np.where(mined > 0, issued / mined, 0.0)
    difficulty = start.difficulty * d_k[rows, epoch_at(0.5, days)]

    if scenario.fee_model == "bootstrap":
        pool = start.fees_btc_per_block[-scenario.fee_lookback_days :]
        pool = pool[np.isfinite(pool)][:, None]
        fees = pool[_block_indices(rng, runs, days, len(pool), scenario.block_days), 0]
    elif scenario.fee_model == "csv":
        assert scenario.fee_file is not None
        fee_path = _file_path(scenario.fee_file, start.day, days, "fees per block")
        fees = np.broadcast_to(fee_path, (runs, days))
    else:  # flat, or a drift from the flat level
        recent = start.fees_btc_per_block[-30:]
        given = scenario.fee_btc_per_block
        fee_level = float(np.nanmean(recent)) if given is None else given
        fee_growth = np.log1p(scenario.fee_drift_pct_per_year / 100.0) / 365.25
        rate = fee_growth if scenario.fee_model == "drift" else 0.0
        fees = np.broadcast_to(fee_level * np.exp(rate * t_days), (runs, days))

    next_halving = (start.next_height // HALVING_INTERVAL + 1) * HALVING_INTERVAL
    crossed = height_b[:, 1:] > next_halving
    halving_day = np.where(crossed.any(axis=1), np.argmax(crossed, axis=1), -1)
    return Paths(
        price_usd=price,
        difficulty=difficulty,
        subsidy_btc=subsidy,
        fees_btc_per_block=fees,
        blocks=mined,
        site_uptime_factor=storm_factor(scenario, start.day, days),
        halving_day=halving_day,
    )
