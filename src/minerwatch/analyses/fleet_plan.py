"""A fleet's months ahead under a scenario (``minerwatch fleet FILE --plan MONTHS``):
monthly P&L bands, payback three ways, NPV and IRR, the return against buying bitcoin
with the same capital, each lot's breakevens and shutdown order, and what the curtailment
rule is worth.

The plan starts the day after ``as_of`` and reads nothing after it: the close, the
difficulty, the next block's height and minerwatch's forecast of the coming retarget are
that day's; the scenario's draws come from the history up to it
(:mod:`minerwatch.models.scenario_paths`). Runs are simulated in chunks of
:data:`~minerwatch.models.scenario_paths.CHUNK_RUNS`, each from its own child of the seed
(``numpy.random.SeedSequence(seed).spawn``), so a seed gives the same figures to the bit and
the first runs of a longer plan are those of a shorter one.

Money. Each lot is bought at the plan's start for ``count * unit_price_usd`` (or in the
month of a later ``purchase_date``; an earlier one only sets its age) and is sold at the
resale curve's value at the end of the plan or of its life, whichever comes first. The
loan is drawn at its ``start_date`` (else the plan's start; a loan dated before the plan's
first day counts only its payments) and repaid as an annuity; what it still owes at the
plan's end is repaid then, with the machines' sale.
Cash flows are monthly; NPV discounts them at the site's ``discount_rate_pct``; payback is
the month the cumulative cash flow without resale and loan turns non-negative.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from minerwatch import params
from minerwatch.analyses.day import Day, day_of
from minerwatch.analyses.difficulty import next_adjustment_or_none
from minerwatch.chain.consensus import RETARGET_INTERVAL
from minerwatch.days import days_in_month
from minerwatch.errors import InputError, NoPriceOnDay
from minerwatch.metrics.daily import next_block_subsidy_sat
from minerwatch.models import asics, finance
from minerwatch.models import fleet_pnl as pnl
from minerwatch.models.scenario_paths import CHUNK_RUNS, MarketStart, Paths, simulate
from minerwatch.serialize import NOT_JSON, Jsonable
from minerwatch.sources.fleet_file import Fleet, read_fleet
from minerwatch.sources.scenario_file import Scenario, load_scenario
from minerwatch.store import Store
from minerwatch.tables import Tabular
from minerwatch.units import SAT_PER_BTC

#: Runs of a plan unless asked (the bands' 5% and 95% quantiles move by under 1% of their
#: width between seeds at this count on the shipped scenarios).
DEFAULT_RUNS = 2000
DEFAULT_SEED = 0
#: The longest plan simulated, months (machine lives past it are cut to it).
MAX_MONTHS = 120
#: Points of the price-duration curve an hourly price file is reduced to for the plan.
PLAN_CURVE_POINTS = 12
BANDS = (5.0, 50.0, 95.0)
#: Threads the chunks are spread over (NumPy releases the GIL in its loops).
THREADS = 2


@dataclass(frozen=True)
class Band:
    """The 5%, 50% and 95% quantiles of a figure over the runs."""

    p5: float | None
    p50: float | None
    p95: float | None


def band(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """5/50/95% quantiles over ``axis`` (NaN ignored), stacked on a new first axis."""
    return np.asarray(np.nanquantile(x, np.array(BANDS) / 100.0, axis=axis))


def _band_none_lowest(x: np.ndarray) -> Band:
    """The 5/50/95% quantiles over every run, a NaN (no value: an IRR that does not
    exist because the flows never recover the capex) ranked below every number and
    reported as None."""
    q = np.quantile(
        np.where(np.isnan(x), -np.inf, x), np.array(BANDS) / 100.0, method="inverted_cdf"
    )
    out = [float(v) if np.isfinite(v) else None for v in q]
    return Band(out[0], out[1], out[2])


def _band(x: np.ndarray) -> Band:
    finite = x[np.isfinite(x)] if np.ndim(x) else np.array([x])
    if finite.size == 0:
        return Band(None, None, None)
    q = band(finite)
    return Band(float(q[0]), float(q[1]), float(q[2]))


@dataclass(frozen=True)
class MonthBand:
    """One month of the plan: ``month`` (YYYY-MM), the fleet's ``margin_usd`` band
    (revenue - power - fixed + credits, before capex and loan), ``revenue_usd``, ``btc``,
    ``power_usd``, the medians of the BTC price ``price_usd_p50`` and the hashprice
    ``hashprice_usd_ph_day_p50`` (under the fleet's pool scheme, before the fee; USD per
    PH/s per day) and the network ``difficulty_p50``; the month's scheduled money, the same
    in every run: ``fixed_usd``, ``capex_usd`` (purchases), ``resale_usd`` (sales),
    ``loan_usd`` (the draw, positive, less the payments); and the equity
    ``cash_flow_usd`` (margin - capex + resale + loan) with its running sum from day one,
    ``cumulative_cash_flow_usd`` (bands: each month's quantiles over the runs)."""

    month: str
    margin_usd: Band
    revenue_usd: Band
    btc: Band
    price_usd_p50: float
    hashprice_usd_ph_day_p50: float
    difficulty_p50: float
    power_usd: Band
    fixed_usd: float
    capex_usd: float
    resale_usd: float
    loan_usd: float
    cash_flow_usd: Band
    cumulative_cash_flow_usd: Band


@dataclass(frozen=True)
class Payback:
    """Payback three ways. ``static_months``: capex over today's monthly margin held
    forever (Bitdeer's static breakeven: ``fee / (hashrate * (output - electricity) per
    day)``); ``median_months``: the median over runs of the first month the cumulative
    cash flow is >= 0; ``probability_within_plan`` and ``probability_within_life`` (the
    fleet's life: until its last lot retires, ``life_months``); ``does_not_pay_back``: the
    static margin is not positive or the median run never pays back within the life."""

    capex_usd: float
    static_months: float | None
    median_months: float | None
    probability_within_plan: float
    probability_within_life: float
    life_months: int
    does_not_pay_back: bool


@dataclass(frozen=True)
class LotOutlook:
    """A lot at the plan's start (lots past their life, and lots bought after the plan's
    months, are left out, with a note):
    its breakevens (the value at which its revenue equals
    its power cost, the others held at today's): ``breakeven_price_usd`` (BTC price),
    ``breakeven_hashprice_usd_ph_day``, ``breakeven_power_price_usd_kwh`` and
    ``breakeven_difficulty``; ``margin_usd_day_today``; ``shutdown_order`` (1: the first to
    stop as hashprice falls); ``hashprice_fall_to_shutdown_pct`` (how far today's hashprice
    may fall before the lot's power costs more than it earns, ``100 * (1 - breakeven /
    hashprice)``: positive while it earns, negative when hashprice must rise by that much
    first); ``retire_day`` (the first day out of service: ``life_years`` after it was bought,
    on or after the plan's start); over the runs, ``probability_off_last_month`` (stopped
    by the rule for the whole last plan month) and ``median_first_off_month`` (the first
    month it stops for a day or more; None when the
    median run never does)."""

    lot: str
    machines: int
    efficiency_j_th: float
    breakeven_price_usd: float
    breakeven_hashprice_usd_ph_day: float
    breakeven_power_price_usd_kwh: float
    breakeven_difficulty: float
    margin_usd_day_today: float
    shutdown_order: int
    hashprice_fall_to_shutdown_pct: float
    retire_day: str
    probability_off_last_month: float | None
    median_first_off_month: str | None


@dataclass(frozen=True)
class BtcReturn:
    """Mining against buying bitcoin with the same capital when the fleet spends it.
    ``btc_if_bought``: day one's capex / today's close, plus each later purchase / its
    month's mean price (the median over runs; exact when every lot is bought on day one);
    ``fleet_btc``: BTC mined and held, less the BTC sold month by month at the month's mean
    price to pay the costs, plus each resale in BTC at its month's price (unlevered: the
    loan is left out); ``fleet_over_bought_pct``: ``100 * (fleet_btc / btc_if_bought - 1)``
    run by run; ``probability_mining_wins``."""

    btc_if_bought: float | None
    fleet_btc: Band
    fleet_over_bought_pct: Band
    probability_mining_wins: float | None


@dataclass(frozen=True)
class StartPoint:
    """The day the plan starts from and its figures: ``price_usd``, ``difficulty``,
    ``hashprice_usd_ph_day`` (FPPS, the day's subsidy and fees), ``height`` of its last
    block, ``next_retarget_height`` and the forecast ``next_change_pct`` with its 90%
    interval."""

    day: str
    price_usd: float
    difficulty: float
    hashprice_usd_ph_day: float
    height: int
    next_retarget_height: int
    next_change_pct: float | None
    next_change_low_pct: float | None
    next_change_high_pct: float | None


@dataclass(frozen=True)
class Halving:
    """When the scenario's block production reaches the next halving height: ``height``,
    the date's quantiles (``date_p5``, ``date_p50``, ``date_p95``; None past the plan) and
    ``probability_within_plan``."""

    height: int
    date_p5: str | None
    date_p50: str | None
    date_p95: str | None
    probability_within_plan: float


@dataclass(frozen=True)
class FleetPlan(Jsonable, Tabular):
    """A fleet's plan: the inputs echoed (``fleet_file``, ``scenario`` and its
    ``scenario_description``, ``runs``, ``seed``, ``months``, ``discount_rate_pct``,
    ``curtailment``), ``start`` (:class:`StartPoint`), ``halving`` (:class:`Halving`),
    ``months_table`` (:class:`MonthBand` per month), ``payback`` (:class:`Payback`),
    ``npv_usd`` and ``irr_pct`` bands (``irr_undefined_share``: runs without an IRR),
    ``mirr_pct`` (the modified IRR at the discount rate, over the runs with an outlay;
    ``mirr_undefined_share``: the runs without one),
    ``btc_return`` (:class:`BtcReturn`), ``lots`` (:class:`LotOutlook`, in shutdown order),
    ``curtailment_value_usd`` (NPV over the plan of the margin with the rule less the margin
    running every day in service, band; 0 for the rule ``none``) and ``notes``."""

    TABLE = "months_table"

    fleet_file: str
    scenario: str
    scenario_description: str
    runs: int
    seed: int
    months: int
    discount_rate_pct: float
    curtailment: str
    start: StartPoint
    halving: Halving
    months_table: list[MonthBand]
    payback: Payback
    npv_usd: Band
    irr_pct: Band
    irr_undefined_share: float
    mirr_pct: Band
    mirr_undefined_share: float
    btc_return: BtcReturn
    lots: list[LotOutlook]
    curtailment_value_usd: Band
    notes: tuple[str, ...] = ()
    npv_runs: np.ndarray = field(default_factory=lambda: np.zeros(0), metadata=NOT_JSON)

    def write_csv(self, path: str | Path) -> Path:
        """The month bands as CSV, one row per month (nested bands as ``margin_usd_p5``
        and the like)."""
        from minerwatch.serialize import to_jsonable, write_csv

        rows = []
        for m in self.months_table:
            row: dict[str, object] = {}
            for key, value in to_jsonable(m).items():
                if isinstance(value, dict):
                    row.update({f"{key}_{k}": v for k, v in value.items()})
                else:
                    row[key] = value
            rows.append(row)
        return write_csv(rows, path)


def market_start(day: Day) -> MarketStart:
    """What a plan starts from, as of ``day`` (nothing after it)."""
    frame = day.frame
    price = frame.price_usd
    if not np.isfinite(price[-1]):
        raise NoPriceOnDay(f"as_of {frame.day[-1]}: no BTC/USD close", parameter="as_of")
    if frame.end_height[-1] < 0:
        raise InputError(
            "the plan needs block heights (import coinmetrics or blocks)", parameter="as_of"
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = np.diff(np.log(price), prepend=np.nan)
        growth = np.diff(np.log(frame.difficulty_last), prepend=np.nan)
        fees = frame.fees_sat / frame.blocks / SAT_PER_BTC
    next_height = int(frame.end_height[-1]) + 1
    na = next_adjustment_or_none(day)
    subsidy = float(next_block_subsidy_sat(frame)[-1]) / SAT_PER_BTC
    fees_today = float(fees[-1]) if frame.blocks[-1] > 0 else 0.0
    return MarketStart(
        day=np.datetime64(frame.day[-1], "D"),
        price_usd=float(price[-1]),
        difficulty=float(frame.difficulty_last[-1]),
        next_height=next_height,
        retarget_height=(next_height // RETARGET_INTERVAL + 1) * RETARGET_INTERVAL
        if next_height % RETARGET_INTERVAL
        else next_height,
        next_change_pct=None if na is None else na.change_pct,
        next_change_low_pct=None if na is None else na.change_pct_low,
        next_change_high_pct=None if na is None else na.change_pct_high,
        log_returns=returns,
        log_growth=growth,
        fees_btc_per_block=np.where(frame.blocks > 0, fees, np.nan),
        btc_per_th_day_fpps=float(
            pnl.btc_per_th_day(subsidy, fees_today, frame.difficulty_last[-1])
        ),
        btc_per_th_day_pps=float(pnl.btc_per_th_day(subsidy, 0.0, frame.difficulty_last[-1])),
    )


@dataclass(frozen=True)
class _Grid:
    """The plan's days and months: ``days`` (``datetime64[D]``), ``month_start`` (index of
    each month's first day), ``month`` labels, ``plan_months`` reported, ``month_days``."""

    days: np.ndarray
    month_start: np.ndarray
    month: np.ndarray
    plan_months: int

    @property
    def month_days(self) -> np.ndarray:
        """Days of each month within the plan (the first may be partial)."""
        return np.diff(np.append(self.month_start, len(self.days))).astype(np.float64)

    @property
    def plan_end(self) -> int:
        """Index of the first day after the plan's months (the simulation may run on)."""
        m = self.plan_months
        return int(self.month_start[m]) if m < len(self.month_start) else len(self.days)

    @property
    def calendar_days(self) -> np.ndarray:
        """Days of each calendar month."""
        return days_in_month(self.month)


def _grid(first: np.datetime64, months: int, sim_months: int) -> _Grid:
    start_month = first.astype("datetime64[M]")
    end = (start_month + sim_months).astype("datetime64[D]")
    days = np.arange(first, end, dtype="datetime64[D]")
    labels = start_month + np.arange(sim_months)
    starts = np.maximum((labels.astype("datetime64[D]") - first).astype(np.int64), 0)
    return _Grid(days, starts, labels, months)


@dataclass(frozen=True)
class _Lots:
    """Per lot: TH/s of the lot, kWh per TH/s per running day (uptime and overhead in),
    first and last+1 day index of service, capex month and amount, and the age in days at
    the plan's first day (negative for a later purchase)."""

    arrays: pnl.LotArrays
    ths: np.ndarray
    kwh_per_th_day: np.ndarray
    serve_from: np.ndarray
    serve_to: np.ndarray
    capex_month: np.ndarray
    capex_usd: np.ndarray
    age_at_start_days: np.ndarray
    retire_day: np.ndarray

    def held_in_plan(self, plan_end: int) -> np.ndarray:
        """The lots in service at some day before ``plan_end`` (a day index): bought by
        then and not past their life at the start."""
        return np.asarray((self.serve_to > self.serve_from) & (self.serve_from < plan_end))

    def resale(
        self, curve: tuple[tuple[float, float], ...] | None, grid: _Grid, end_day: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Month and value of each lot's sale: at the end of its life or on day
        ``end_day`` (the plan's end), whichever comes first. A lot bought at the start or
        later is worth the curve's share of its unit price; one owned already, whose unit
        price is what it fetches today, falls from that by the curve's ratio of the two
        ages."""
        sold = np.minimum(self.serve_to, end_day)
        month = np.searchsorted(grid.month_start, np.maximum(sold - 1, 0), side="right") - 1
        per_month = pnl.DAYS_PER_YEAR / 12
        at_sale = finance.resale_pct(curve, (self.age_at_start_days + sold) / per_month)
        # a lot owned at the start is valued at today's price: its curve from today's age
        now = finance.resale_pct(curve, np.maximum(self.age_at_start_days, 0) / per_month)
        owned = self.age_at_start_days > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(owned, np.where(now > 0, at_sale / now, 0.0), at_sale / 100.0)
        return month, np.where(sold > self.serve_from, self.capex_usd * share, 0.0)

    def fixed_monthly(self, fixed_usd_month: float, grid: _Grid) -> np.ndarray:
        """The site's fixed costs per month: ``fixed_usd_month`` over the month's calendar
        days, for the days any lot is in service (a partial first month pays its part)."""
        served = np.zeros(len(grid.days))
        for a, b in zip(self.serve_from, self.serve_to, strict=True):
            served[a:b] = 1.0
        return np.asarray(
            fixed_usd_month * np.add.reduceat(served, grid.month_start) / grid.calendar_days
        )


def _lots(fleet: Fleet, grid: _Grid) -> _Lots:
    arrays = pnl.LotArrays.of(fleet)
    site = fleet.site
    first = grid.days[0]
    bought = arrays.since(first)
    serve_from = np.clip((bought - first).astype(np.int64), 0, len(grid.days))
    life_end = (bought - first).astype(np.float64) + arrays.life_days
    serve_to = np.clip(np.ceil(life_end), 0, len(grid.days)).astype(np.int64)
    capex_month = np.searchsorted(grid.month_start, serve_from, side="right") - 1
    kwh = pnl.lot_energy_kwh_day(arrays.power_w, 1.0, site.overhead_pct, site.uptime_pct)
    return _Lots(
        arrays=arrays,
        ths=arrays.hashrate_ths * arrays.count,
        kwh_per_th_day=kwh / arrays.hashrate_ths,
        serve_from=serve_from,
        serve_to=serve_to,
        capex_month=capex_month,
        capex_usd=np.where(serve_to > serve_from, arrays.unit_price_usd * arrays.count, 0.0),
        age_at_start_days=(first - bought).astype(np.float64),
        retire_day=bought + np.ceil(arrays.life_days).astype(np.int64),
    )


@dataclass
class _Chunk:
    """Monthly sums of a chunk of runs over the fleet (``runs x months``), and per lot the
    days the rule stopped it (``off_days``, ``runs x months x lots``)."""

    revenue: np.ndarray
    btc: np.ndarray
    power: np.ndarray
    credit: np.ndarray
    margin_always: np.ndarray
    off_days: np.ndarray
    price_mean: np.ndarray
    hashprice_mean: np.ndarray
    difficulty_mean: np.ndarray
    halving_day: np.ndarray


def _site_curve(fleet: Fleet) -> tuple[np.ndarray, np.ndarray]:
    site = fleet.site
    if site.hourly is None:
        return pnl.price_curve(np.array([site.power_price_usd_kwh]))
    ordered = np.sort(site.hourly.usd_kwh)
    parts = np.array_split(ordered, PLAN_CURVE_POINTS)
    return pnl.price_curve(np.array([p.mean() for p in parts]))


def _local_months(grid: _Grid, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """The months days ``a..b-1`` touch and where each begins within that slice."""
    first = int(np.searchsorted(grid.month_start, a, side="right")) - 1
    last = int(np.searchsorted(grid.month_start, b - 1, side="right")) - 1
    index = np.arange(first, last + 1)
    return index, np.maximum(grid.month_start[index] - a, 0)


@dataclass(frozen=True)
class _Served:
    """A service range's days of a chunk: revenue and BTC per TH/s per day with the storm
    applied (``usd``, ``btc``), the storm factor, the months touched (``index``) and their
    starts in the slice, and per month the sums with the lot always running: ``usd_sum``,
    ``btc_sum``, ``drawn_days`` (days weighted by the storm) and ``served_days``."""

    usd_raw: np.ndarray
    usd: np.ndarray
    btc: np.ndarray
    storm: np.ndarray | None
    index: np.ndarray
    starts: np.ndarray
    usd_sum: np.ndarray
    btc_sum: np.ndarray
    drawn_days: np.ndarray
    served_days: np.ndarray

    def sums(self, x: np.ndarray) -> np.ndarray:
        return _month_sums(x, self.starts)


def _month_sums(x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sums of ``x`` along its last axis over the runs of days beginning at ``starts``."""
    return np.asarray(np.add.reduceat(x, starts, axis=-1, dtype=np.float64))


def _served(
    usd_th: np.ndarray, btc_th: np.ndarray, storm: np.ndarray, grid: _Grid, a: int, b: int
) -> _Served:
    index, starts = _local_months(grid, a, b)
    raw = usd_th[:, a:b]
    factor = storm[a:b]
    stormy = bool((factor != 1).any())
    usd = raw * factor if stormy else raw
    btc = btc_th[:, a:b] * factor if stormy else btc_th[:, a:b]

    def sums(x: np.ndarray) -> np.ndarray:
        return _month_sums(x, starts)

    return _Served(
        usd_raw=raw,
        usd=usd,
        btc=btc,
        storm=factor if stormy else None,
        index=index,
        starts=starts,
        usd_sum=sums(usd),
        btc_sum=sums(btc),
        drawn_days=sums(factor),
        served_days=sums(np.ones(b - a)),
    )


def _chunk(fleet: Fleet, lots: _Lots, grid: _Grid, paths: Paths) -> _Chunk:
    """Each lot's monthly sums over a chunk of runs. Per lot the work is a comparison and
    two masked sums over runs x days (the economic rule at a flat price), or the
    price-duration curve's lookup (hourly prices); a lot's service range is sliced out, and
    what does not depend on the lot is computed once per range."""
    site = fleet.site
    per_th = paths.btc_per_th_day(site.pool_scheme)
    keep = (1.0 - site.pool_fee_pct / 100.0) * site.uptime_pct / 100.0
    btc_th = per_th * keep  # BTC per TH/s per day of running, before the storm
    usd_th = btc_th * paths.price_usd
    ordered, cumulative = _site_curve(fleet)
    credit_kwh = fleet.dr_credit_usd_mwh / 1000.0
    runs, n = usd_th.shape
    months = len(grid.month_start)
    revenue, btc, power, credit, always = (np.zeros((runs, months)) for _ in range(5))
    off = np.zeros((len(lots.ths), runs, months))  # lots-major: each lot's block contiguous
    mean_price = float(ordered.mean())
    flat = ordered.size == 1
    ranges: dict[tuple[int, int], _Served] = {}
    for j in range(len(lots.ths)):  # lots: a handful to a few dozen
        a, b = int(lots.serve_from[j]), int(lots.serve_to[j])
        if b <= a:
            continue
        if (a, b) not in ranges:
            ranges[(a, b)] = _served(usd_th, btc_th, paths.site_uptime_factor, grid, a, b)
        r = ranges[(a, b)]
        e, th, m = lots.kwh_per_th_day[j], lots.ths[j], r.index
        always_on = r.usd_sum - e * mean_price * r.drawn_days
        always[:, m] += th * (always_on + e * credit_kwh * (r.served_days - r.drawn_days))
        rule = fleet.curtailment
        cap = fleet.max_power_price_usd_kwh
        if flat and (
            rule == "none" or (rule == "price-cap" and cap is not None and mean_price <= cap)
        ):
            rev, mined, drawn, run_days = r.usd_sum, r.btc_sum, r.drawn_days, r.served_days
            paid = mean_price * drawn
        elif flat and rule == "price-cap":
            rev = mined = drawn = run_days = paid = np.zeros((runs, len(m)))
        elif flat:  # economic: run while revenue covers power and the credit forgone
            on = r.usd_raw >= (mean_price + credit_kwh) * e
            rev, mined = r.sums(r.usd * on), r.sums(r.btc * on)
            run_days = r.sums(on)
            drawn = run_days if r.storm is None else r.sums(on * r.storm)
            paid = mean_price * drawn
        else:
            threshold = pnl.run_threshold_usd_kwh(rule, r.usd_raw / e, cap, fleet.dr_credit_usd_mwh)
            share, paid_kwh = pnl.run_on_curve(threshold, ordered, cumulative)
            weight = share if r.storm is None else share * r.storm
            rev, mined = r.sums(r.usd_raw * weight), r.sums(btc_th[:, a:b] * weight)
            drawn, run_days = r.sums(weight), r.sums(share > 0)
            paid = r.sums(paid_kwh if r.storm is None else paid_kwh * r.storm)
        revenue[:, m] += th * rev
        btc[:, m] += th * mined
        power[:, m] += th * e * paid
        credit[:, m] += th * e * credit_kwh * (r.served_days - drawn)
        off[j][:, m] = r.served_days - run_days
    hashprice = per_th * 1000.0 * paths.price_usd
    width = grid.month_days

    def monthly_mean(x: np.ndarray) -> np.ndarray:
        return np.asarray(np.add.reduceat(x, grid.month_start, axis=1) / width)

    return _Chunk(
        revenue=revenue,
        btc=btc,
        power=power,
        credit=credit,
        margin_always=always,
        off_days=np.moveaxis(off, 0, -1),
        price_mean=monthly_mean(paths.price_usd),
        hashprice_mean=monthly_mean(hashprice),
        difficulty_mean=monthly_mean(paths.difficulty),
        halving_day=paths.halving_day,
    )


def _simulate_fleet(
    fleet: Fleet,
    lots: _Lots,
    scenario: Scenario,
    start: MarketStart,
    grid: _Grid,
    runs: int,
    seed: int,
) -> _Chunk:
    chunks = -(-runs // CHUNK_RUNS)
    children = np.random.SeedSequence(seed).spawn(chunks)

    def one(c: int) -> tuple[int, _Chunk]:
        size = min(CHUNK_RUNS, runs - c * CHUNK_RUNS)
        rng = np.random.default_rng(children[c])
        paths = simulate(start, scenario, len(grid.days), rng, size)
        return c, _chunk(fleet, lots, grid, paths)

    try:
        if chunks == 1:
            return one(0)[1]
        out: _Chunk | None = None
        with ThreadPoolExecutor(THREADS) as pool:
            for c, part in pool.map(one, range(chunks)):
                if out is None:  # the whole result, filled chunk by chunk
                    out = _Chunk(
                        **{
                            f.name: np.empty(
                                (runs, *getattr(part, f.name).shape[1:]),
                                getattr(part, f.name).dtype,
                            )
                            for f in dataclasses.fields(_Chunk)
                        }
                    )
                rows = slice(c * CHUNK_RUNS, c * CHUNK_RUNS + len(part.halving_day))
                for f in dataclasses.fields(_Chunk):
                    getattr(out, f.name)[rows] = getattr(part, f.name)
    except ValueError as exc:  # the history or the scenario's price file falls short
        raise InputError(str(exc), parameter="scenario") from None
    assert out is not None
    return out


@dataclass(frozen=True)
class _Money:
    """Per run: the unlevered monthly cash flow without resale (``operating``, runs x
    months, capex in its month), the equity cash flow after day one (``equity``: margin,
    fixed, later capex, resale, loan; day one's capex and draw are the NPV's undiscounted
    upfront), NPV, IRR, MIRR and payback month; ``net_btc``: the BTC the fleet holds at the
    plan's end (mined and held, costs paid by selling BTC, purchases paid with the capital);
    ``bought_btc``: the BTC the same capital buys when the fleet spends it (day one's capex
    at the close, a later purchase at its month's mean price)."""

    operating: np.ndarray
    equity: np.ndarray
    fixed: np.ndarray
    capex: np.ndarray
    resale: np.ndarray
    loan: np.ndarray
    npv: np.ndarray
    irr: np.ndarray
    mirr: np.ndarray
    payback: np.ndarray
    net_btc: np.ndarray
    bought_btc: np.ndarray


def _money(fleet: Fleet, lots: _Lots, grid: _Grid, sim: _Chunk, price_usd: float) -> _Money:
    site = fleet.site
    margin = sim.revenue - sim.power + sim.credit
    fixed = lots.fixed_monthly(site.fixed_usd_month, grid)
    capex = np.zeros(margin.shape[1])
    np.add.at(capex, lots.capex_month, lots.capex_usd)
    plan_end = grid.plan_end
    resale = np.zeros(margin.shape[1])
    np.add.at(resale, *lots.resale(fleet.resale_curve, grid, plan_end))
    operating = margin - fixed - capex
    months = margin.shape[1]
    h = grid.plan_months
    loan_flow = np.zeros(months)
    draw_now = 0.0
    if fleet.financing is not None:
        loan = fleet.financing
        k0 = 0
        if loan.start_date:
            k0 = int((np.datetime64(loan.start_date, "M") - grid.month[0]).astype(np.int64))
        pay, _ = finance.loan_schedule(
            loan.principal_usd, loan.rate_pct, loan.term_months, loan.term_months
        )
        at = k0 + np.arange(loan.term_months)
        inside = (at >= 0) & (at < months)
        loan_flow[at[inside]] -= pay[inside]  # a loan drawn before the start: what is left
        drawn_before = loan.start_date is not None and (
            np.datetime64(loan.start_date, "D") < grid.days[0]
        )
        if k0 == 0 and not drawn_before:
            draw_now = loan.principal_usd
        elif 0 < k0 < months:
            loan_flow[k0] += loan.principal_usd
        if k0 < h < k0 + loan.term_months:  # still owed at the plan's end: repaid then
            owed = finance.loan_balance_usd(
                loan.principal_usd, loan.rate_pct, loan.term_months, h - k0
            )
            loan_flow[h - 1] -= owed
    # Month 0's capex and draw happen on day one (undiscounted); the rest at month ends.
    upfront = -capex[0] + draw_now
    monthly = operating[:, :h] + resale[:h] + loan_flow[:h]
    monthly[:, 0] += capex[0]
    # Mine and hold: keep the BTC mined, sell BTC at each month's mean price for every
    # other flow (power, fixed, credits, resale); the capex is the capital both strategies
    # spend, when the fleet spends it: bitcoin bought instead on day one at the close and
    # later at the month's mean price; the loan is left out (unlevered).
    other = (operating - sim.revenue)[:, :h] + resale[:h] + capex[:h]
    net_btc = sim.btc[:, :h].sum(axis=1) + (other / sim.price_mean[:, :h]).sum(axis=1)
    bought_btc = capex[0] / price_usd + (capex[1:h] / sim.price_mean[:, 1:h]).sum(axis=1)
    invested = np.flatnonzero(capex > 0)
    unlevered = operating.copy()
    unlevered[:, 0] += capex[0]
    payback = (
        finance.payback_month(-capex[0], unlevered, int(invested[0]))
        if len(invested)
        else np.zeros(len(margin))
    )
    loan_flow[0] += draw_now
    return _Money(
        operating=operating,
        equity=monthly,
        fixed=fixed,
        capex=capex,
        resale=resale,
        loan=loan_flow,
        npv=finance.npv(upfront, monthly, site.discount_rate_pct),
        irr=finance.irr_pct(upfront, monthly),
        mirr=finance.mirr_pct(upfront, monthly, site.discount_rate_pct),
        payback=payback,
        net_btc=net_btc,
        bought_btc=bought_btc,
    )


def _static(fleet: Fleet, lots: _Lots, start: MarketStart) -> dict[str, np.ndarray]:
    """Today's figures per lot (the start day's chain data and close held forever)."""
    site = fleet.site
    per_th = start.btc_per_th_day_pps if site.pool_scheme == "pps" else start.btc_per_th_day_fpps
    a = lots.arrays
    btc_day = pnl.lot_btc_day(per_th, a.hashrate_ths, a.count, site.pool_fee_pct, site.uptime_pct)
    kwh_day = pnl.lot_energy_kwh_day(a.power_w, a.count, site.overhead_pct, site.uptime_pct)
    price_kwh = float(_site_curve(fleet)[0].mean())
    revenue = btc_day * start.price_usd
    cost = kwh_day * price_kwh
    return {
        "per_th": np.array(per_th),
        "hashprice": np.array(per_th * 1000.0 * start.price_usd),
        "revenue": revenue,
        "cost": cost,
        "btc_day": btc_day,
        "kwh_day": kwh_day,
        "price_kwh": np.array(price_kwh),
    }


def _static_lot_margins(fleet: Fleet, static: dict[str, np.ndarray]) -> np.ndarray:
    """Each lot's margin a day at today's figures, under the curtailment rule: a lot the
    rule would stop earns the demand-response credit on the energy it does not draw."""
    margin = static["revenue"] - static["cost"]
    credit = fleet.dr_credit_usd_mwh / 1000.0 * static["kwh_day"]
    cap = fleet.max_power_price_usd_kwh
    if fleet.curtailment == "economic":
        return np.asarray(np.maximum(margin, credit))
    if fleet.curtailment == "price-cap" and cap is not None and float(static["price_kwh"]) > cap:
        return np.asarray(credit)
    return np.asarray(margin)


def _lot_outlooks(
    fleet: Fleet,
    lots: _Lots,
    start: MarketStart,
    static: dict[str, np.ndarray],
    sim: _Chunk,
    grid: _Grid,
) -> list[LotOutlook]:
    site = fleet.site
    a = lots.arrays
    wall_j_th = pnl.with_overhead_j_th(a.efficiency_j_th, site.overhead_pct)
    be_hashprice = asics.breakeven_hashprice_usd_ph_day(
        static["price_kwh"], wall_j_th, site.pool_fee_pct
    )
    be_power = asics.breakeven_power_price_usd_kwh(
        static["hashprice"], wall_j_th, site.pool_fee_pct
    )
    live = np.flatnonzero(lots.held_in_plan(grid.plan_end))  # the others: a note each
    order = live[np.argsort(-be_hashprice[live], kind="stable")]
    rank = np.zeros(len(be_hashprice), np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    months = grid.plan_months
    plan_end = grid.plan_end
    off = sim.off_days[:, :months, :]
    first_off = np.where((off > 0).any(axis=1), np.argmax(off > 0, axis=1), np.inf)
    out = []
    for j in order:
        median_first = float(np.median(first_off[:, j]))
        a_j, b_j = int(lots.serve_from[j]), int(min(lots.serve_to[j], plan_end))
        last_off = None
        if b_j > a_j:
            m = int(np.searchsorted(grid.month_start, b_j - 1, side="right") - 1)
            in_month = min(b_j, int(grid.month_start[m] + grid.month_days[m])) - max(
                a_j, int(grid.month_start[m])
            )
            last_off = float((off[:, m, j] >= in_month).mean())
        out.append(
            LotOutlook(
                lot=str(a.name[j]),
                machines=int(a.count[j]),
                efficiency_j_th=float(a.efficiency_j_th[j]),
                breakeven_price_usd=float(
                    pnl.shutdown_price_usd(static["cost"][j], static["btc_day"][j])
                ),
                breakeven_hashprice_usd_ph_day=float(be_hashprice[j]),
                breakeven_power_price_usd_kwh=float(be_power[j]),
                breakeven_difficulty=float(
                    pnl.breakeven_difficulty(
                        start.difficulty, static["revenue"][j], static["cost"][j]
                    )
                ),
                margin_usd_day_today=float(static["revenue"][j] - static["cost"][j]),
                shutdown_order=int(rank[j]),
                hashprice_fall_to_shutdown_pct=float(
                    100.0 * (1.0 - be_hashprice[j] / static["hashprice"])
                ),
                retire_day=str(lots.retire_day[j]),
                probability_off_last_month=last_off,
                median_first_off_month=None
                if not np.isfinite(median_first)
                else str(grid.month[int(median_first)]),
            )
        )
    return out


def _checked(months: int, runs: int, seed: int) -> tuple[int, int, int]:
    months = params.MONTHS.check(months, "months")
    if months > MAX_MONTHS:
        raise InputError(f"months {months} is over {MAX_MONTHS}", parameter="months")
    runs = params.RUNS.check(runs, "runs")
    return months, runs, params.SEED.check(seed, "seed")


def plan_from(
    start: MarketStart,
    fleet: Fleet,
    months: int,
    scenario: Scenario,
    runs: int = DEFAULT_RUNS,
    seed: int = DEFAULT_SEED,
    horizon_months: int | None = None,
) -> FleetPlan:
    """The plan from a :class:`MarketStart` already read (see :func:`plan_fleet`).
    ``horizon_months``: the months simulated (default: the plan, or the longest life if
    longer); plans compared run by run must share it, for their draws to be the same."""
    months, runs, seed = _checked(months, runs, seed)
    grid = _grid(
        start.day + 1, months, horizon_months or simulated_months(fleet, months, start.day + 1)
    )
    lots = _lots(fleet, grid)
    sim = _simulate_fleet(fleet, lots, scenario, start, grid, runs, seed)
    money = _money(fleet, lots, grid, sim, start.price_usd)
    return _assemble(
        fleet, scenario, start, grid, lots, _static(fleet, lots, start), sim, money, runs, seed
    )


def simulated_months(fleet: Fleet, months: int, first_day: np.datetime64) -> int:
    """The months a plan from ``first_day`` simulates: its own, or until the fleet's last
    lot retires when that is later (for the chance of paying back within the fleet's
    life), at most :data:`MAX_MONTHS`. A lot retires ``life_years`` after its purchase
    date (a lot already owned is that much older; without a date, bought on
    ``first_day``)."""
    arrays = pnl.LotArrays.of(fleet)
    bought = arrays.since(first_day)
    retire_days = (bought - first_day).astype(np.float64) + arrays.life_days
    life_months = int(np.ceil(max(float(retire_days.max()), 0.0) / (pnl.DAYS_PER_YEAR / 12)))
    return min(max(months, life_months), MAX_MONTHS)


def read_plan_inputs(
    db: Day | Store | str | Path | None,
    fleet: Fleet | str | Path,
    scenario: Scenario | str | Path,
    as_of: str | None,
) -> tuple[MarketStart, Fleet, Scenario]:
    """The start day's figures and the parsed fleet and scenario (files read once)."""
    fleet = fleet if isinstance(fleet, Fleet) else read_fleet(fleet)
    scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    with day_of(db, as_of) as day:
        return market_start(day), fleet, scenario


def plan_fleet(
    db: Day | Store | str | Path | None,
    fleet: Fleet | str | Path,
    months: int,
    scenario: Scenario | str | Path = "base",
    *,
    runs: int = DEFAULT_RUNS,
    seed: int = DEFAULT_SEED,
    as_of: str | None = None,
) -> FleetPlan:
    """The fleet's next ``months`` months under ``scenario`` (a shipped name or a file),
    from ``runs`` seeded runs starting the day after ``as_of`` (default the last day held).

    :class:`InputError` for a bad fleet or scenario file (file, line, key), months, runs
    or seed out of range, too little history for the scenario's blocks."""
    _checked(months, runs, seed)
    start, fleet, scenario = read_plan_inputs(db, fleet, scenario, as_of)
    return plan_from(start, fleet, months, scenario, runs, seed)


def _assemble(
    fleet: Fleet,
    scenario: Scenario,
    start: MarketStart,
    grid: _Grid,
    lots: _Lots,
    static: dict[str, np.ndarray],
    sim: _Chunk,
    money: _Money,
    runs: int,
    seed: int,
) -> FleetPlan:
    site = fleet.site
    months = grid.plan_months
    fixed_month = site.fixed_usd_month
    site_margin = sim.revenue - sim.power + sim.credit  # before fixed costs
    margin = site_margin - money.fixed
    scheduled = (-money.capex + money.resale + money.loan)[:months]
    cash = margin[:, :months] + scheduled
    q_margin, q_rev, q_btc, q_power, q_cash, q_cum = (
        band(x)
        for x in (
            margin[:, :months],
            sim.revenue[:, :months],
            sim.btc[:, :months],
            sim.power[:, :months],
            cash,
            np.cumsum(cash, axis=1),
        )
    )

    def q(x: np.ndarray, m: int) -> Band:
        return Band(*map(float, x[:, m]))

    table = [
        MonthBand(
            month=str(grid.month[m]),
            margin_usd=q(q_margin, m),
            revenue_usd=q(q_rev, m),
            btc=q(q_btc, m),
            price_usd_p50=float(np.median(sim.price_mean[:, m])),
            hashprice_usd_ph_day_p50=float(np.median(sim.hashprice_mean[:, m])),
            difficulty_p50=float(np.median(sim.difficulty_mean[:, m])),
            power_usd=q(q_power, m),
            fixed_usd=float(money.fixed[m]),
            capex_usd=float(money.capex[m]),
            resale_usd=float(money.resale[m]),
            loan_usd=float(money.loan[m]),
            cash_flow_usd=q(q_cash, m),
            cumulative_cash_flow_usd=q(q_cum, m),
        )
        for m in range(months)
    ]
    held = lots.held_in_plan(grid.plan_end)
    capex = float(lots.capex_usd[held].sum())
    static_margin_day = float(_static_lot_margins(fleet, static)[held].sum()) - (
        fixed_month / (pnl.DAYS_PER_YEAR / 12)
    )
    static_months = (
        None
        if capex > 0 and static_margin_day <= 0
        else (capex / static_margin_day / (pnl.DAYS_PER_YEAR / 12) if capex > 0 else 0.0)
    )
    life = int(len(grid.month_start))
    payback = money.payback
    median_pb = float(np.median(payback))
    payback_doc = Payback(
        capex_usd=capex,
        static_months=static_months,
        median_months=median_pb if np.isfinite(median_pb) else None,
        probability_within_plan=float((payback <= months).mean()),
        probability_within_life=float((payback <= life).mean()),
        life_months=life,
        does_not_pay_back=static_months is None or not np.isfinite(median_pb),
    )
    bought = money.bought_btc if capex > 0 else None
    btc_return = BtcReturn(
        btc_if_bought=None if bought is None else float(np.median(bought)),
        fleet_btc=_band(money.net_btc),
        fleet_over_bought_pct=_band(100.0 * (money.net_btc / bought - 1.0))
        if bought is not None
        else Band(None, None, None),
        probability_mining_wins=None if bought is None else float((money.net_btc > bought).mean()),
    )
    always = sim.margin_always[:, :months]
    with_rule = site_margin[:, :months]
    value = finance.npv(0.0, with_rule - always, site.discount_rate_pct)
    notes = lots.arrays.launch_notes(grid.days[0], grid.days[grid.plan_end - 1]) + [
        f"lot {name} is past its life before the plan starts: no capex, no revenue"
        for name, a, b in zip(lots.arrays.name, lots.serve_from, lots.serve_to, strict=True)
        if b <= a
    ]
    notes += [
        f"lot {name}: bought on {grid.days[0] + int(a)}, after the plan's months: left out "
        "of its figures"
        for name, a, b in zip(lots.arrays.name, lots.serve_from, lots.serve_to, strict=True)
        if b > a and a >= grid.plan_end
    ]
    if capex > 0 and fleet.resale_curve is None:
        notes.append(
            "no [resale] curve: the machines fetch nothing when sold at the plan's end or "
            "their life's (the NPV writes the capex off within the plan)"
        )
    if fleet.curtailment == "none":
        notes.append("curtailment rule none: the value of curtailment is 0 (rule never stops)")
    held_days = len(start.log_returns)
    if scenario.lookback_days > held_days:
        usable = np.isfinite(start.log_returns) & np.isfinite(start.log_growth)
        notes.append(
            f"the scenario's lookback of {scenario.lookback_days:,} days reaches before the "
            f"history held: it draws from all {int(usable.sum()):,} days with a price and a "
            f"difficulty change since {start.day - held_days + 1}"
        )
    if start.next_change_pct is not None and not scenario.next_from_forecast:
        notes.append(
            "the scenario sets the coming retarget itself (next_from_forecast = false): the "
            "forecast on the start line is for information"
        )
    if start.next_change_pct is None:
        notes.append("no retarget forecast on the day: the coming retarget follows the scenario")
    next_halving = (start.next_height // 210_000 + 1) * 210_000
    hd = sim.halving_day.astype(np.float64)
    hd = np.where(
        (hd >= 0) & (hd < grid.month_start[months - 1] + grid.month_days[months - 1]), hd, np.inf
    )

    def date_at(q: float) -> str | None:
        v = np.quantile(hd, q, method="inverted_cdf")
        return None if not np.isfinite(v) else str(grid.days[int(v)])

    return FleetPlan(
        fleet_file=fleet.path,
        scenario=scenario.name,
        scenario_description=scenario.description,
        runs=runs,
        seed=seed,
        months=months,
        discount_rate_pct=site.discount_rate_pct,
        curtailment=fleet.curtailment,
        start=StartPoint(
            day=str(start.day),
            price_usd=start.price_usd,
            difficulty=start.difficulty,
            hashprice_usd_ph_day=float(static["hashprice"]),
            height=start.next_height - 1,
            next_retarget_height=start.retarget_height,
            next_change_pct=start.next_change_pct,
            next_change_low_pct=start.next_change_low_pct,
            next_change_high_pct=start.next_change_high_pct,
        ),
        halving=Halving(
            height=next_halving,
            date_p5=date_at(0.05),
            date_p50=date_at(0.5),
            date_p95=date_at(0.95),
            probability_within_plan=float(np.isfinite(hd).mean()),
        ),
        months_table=table,
        payback=payback_doc,
        npv_usd=_band(money.npv),
        irr_pct=_band_none_lowest(money.irr),
        irr_undefined_share=float(np.isnan(money.irr).mean()),
        mirr_pct=_band(money.mirr),
        mirr_undefined_share=float(np.isnan(money.mirr).mean()),
        btc_return=btc_return,
        lots=_lot_outlooks(fleet, lots, start, static, sim, grid),
        curtailment_value_usd=_band(value),
        notes=tuple(notes),
        npv_runs=money.npv,
    )
