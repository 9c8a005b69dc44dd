"""Capitulation and stress signals on a day (``minerwatch signals``).

:func:`signals` reads the daily frame up to ``as_of`` (nothing after it), runs the pure
functions of :mod:`minerwatch.metrics.signals` over the whole history and reports the
``as_of`` day: the hash-ribbon state with every capitulation and buy signal to date, the Puell
multiple with its historical percentile, our miner sustainability index, and the miner-stress
conditions that hold that day. See ``docs/signals.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from minerwatch import params
from minerwatch.analyses.cost import DEFAULT_MODEL, check_model, production_cost
from minerwatch.analyses.day import Day, day_of
from minerwatch.frames import DailyFrame
from minerwatch.metrics import signals as sg
from minerwatch.metrics.daily import DailyMetrics
from minerwatch.metrics.revenue import PUELL_WINDOW_DAYS
from minerwatch.metrics.rolling import trailing_mean
from minerwatch.serialize import Jsonable
from minerwatch.serialize import num as _num
from minerwatch.store import Store
from minerwatch.tables import Tabular
from minerwatch.units import HS_PER_EHS

# Stress thresholds (ours; each a parameter of :func:`signals`).
# A 10% fall of the 7-day mean hashrate from its high: about three times the 7-day
# estimate's relative standard error (3.1%), so noise alone does not trip it.
HASHRATE_DRAWDOWN_PCT = 10.0
# Hashprice at its lowest in 12 months.
HASHPRICE_LOW_MONTHS = 12
# Revenue (7-day mean, USD) at its lowest in a year; the 7-day mean removes a day's luck.
REVENUE_LOW_DAYS = 365
REVENUE_MEAN_DAYS = 7
DAYS_PER_MONTH = 365.25 / 12

SUSTAINABILITY_METHOD = (
    "ours: percentile of ln(revenue USD / (blocks x D x 2^32)) among the trailing "
    "{window} days (CryptoQuant's Miner Profit/Loss Sustainability is proprietary; this is "
    "not it)"
)


@dataclass(frozen=True)
class RibbonPeriod:
    """A capitulation: ``start`` to ``end`` (the last day the 30-day SMA was below the
    60-day one; None while ongoing), ``days`` calendar days (to ``as_of`` while ongoing),
    ``recovery_start`` the first day back above, ``buy_signal`` the buy signal of the
    recovery that followed (None if none came, or not yet)."""

    start: str
    end: str | None
    days: int
    ongoing: bool
    recovery_start: str | None
    buy_signal: str | None


@dataclass(frozen=True)
class BuySignal:
    """A hash-ribbon buy signal: ``date``, the close that day, the capitulation it followed
    and the days from that capitulation's end to the signal."""

    date: str
    price_usd: float | None
    capitulation_start: str
    capitulation_end: str
    days_after_end: int


@dataclass(frozen=True)
class HashRibbonsReport:
    """Hash ribbons on ``as_of``: ``state`` (capitulation / recovery / normal / n/a) and the
    day it began (``since``; a recovery's first day back above), the hashrate SMAs in EH/s
    and their spread ``100 * (short / long - 1)``, the price SMAs in USD, the last buy
    signal, every capitulation period and buy signal to date, and the parameters used."""

    state: str
    since: str | None
    sma_short_ehs: float | None
    sma_long_ehs: float | None
    spread_pct: float | None
    price_sma_short_usd: float | None
    price_sma_long_usd: float | None
    last_buy_signal: str | None
    capitulations: list[RibbonPeriod]
    buy_signals: list[BuySignal]
    parameters: dict[str, Any]


@dataclass(frozen=True)
class PuellReport:
    """The Puell multiple on ``as_of`` and its percentile (0-100) among every day's value up
    to ``as_of`` (``days_ranked`` values from ``first_day``)."""

    multiple: float | None
    percentile: float | None
    days_ranked: int
    first_day: str | None


@dataclass(frozen=True)
class SustainabilityReport:
    """Our miner sustainability index on ``as_of`` (0-100) and the revenue per unit of work
    it ranks, USD per PH/s per day (the day's revenue per block over one block's work)."""

    index: float | None
    revenue_per_work_usd_ph_day: float | None
    window_days: int
    method: str


@dataclass(frozen=True)
class StressCondition:
    """A miner-stress condition that holds on ``as_of``: ``value`` against ``threshold``
    (both in ``unit``), and a sentence saying what it means."""

    name: str
    value: float | None
    threshold: float | None
    unit: str
    description: str


@dataclass(frozen=True)
class RibbonsSummary:
    """Hash ribbons on one day (the status snapshot's ``hash_ribbons``): ``state``
    (capitulation / recovery / normal / n/a), the day it began (``since``; None for n/a)
    and the 30- and 60-day mean hashrates, EH/s."""

    state: str
    since: str | None
    sma30_ehs: float | None
    sma60_ehs: float | None


@dataclass(frozen=True)
class Signals(Jsonable, Tabular):
    """Capitulation and stress signals on ``as_of``. ``stress`` lists the conditions that
    hold; ``stress_checked`` every condition the data allowed checking (the others lacked
    history or a price)."""

    as_of: str
    price_usd: float | None
    price_source: str | None
    hash_ribbons: HashRibbonsReport
    puell: PuellReport
    sustainability: SustainabilityReport
    stress: list[StressCondition]
    stress_checked: list[str]
    parameters: dict[str, Any] = field(default_factory=dict)
    #: What a figure without a value lacks: the history it needs against the days held.
    missing: list[str] = field(default_factory=list)


def missing_history(frame: DailyFrame, needs: dict[str, tuple[int, bool]]) -> list[str]:
    """One sentence per figure without a value on the frame's last day that lacks history:
    ``needs`` maps a figure's name to (days of history it needs, whether it has a value)."""
    held = len(frame)
    since = f"from {frame.day[0]}" if held else "none"
    return [
        f"{name}: needs {days} days of history; the data holds {held} ({since})"
        for name, (days, has_value) in needs.items()
        if not has_value and held < days
    ]


# -- pieces ---------------------------------------------------------------------------------


def ribbons_summary(frame: DailyFrame, rib: sg.HashRibbons, row: int) -> RibbonsSummary:
    """The hash ribbons of ``row`` (the status snapshot's ``hash_ribbons``)."""
    state = int(rib.state[row])
    return RibbonsSummary(
        state=sg.STATE_NAMES[state],
        since=str(frame.day[rib.since_row[row]]) if state != sg.STATE_UNDEFINED else None,
        sma30_ehs=_num(rib.sma_short_hs[row] / HS_PER_EHS),
        sma60_ehs=_num(rib.sma_long_hs[row] / HS_PER_EHS),
    )


def sustainability_today(frame: DailyFrame, m: DailyMetrics, row: int, window_days: int) -> float:
    """The sustainability index of ``row``, ranking only the ``window_days`` rows up to it
    (the same value as the full series, at a fraction of the cost)."""
    lo = max(row + 1 - window_days, 0)
    part = slice(lo, row + 1)
    index = sg.sustainability_index(
        m.revenue_usd[part],
        frame.blocks[part],
        frame.difficulty_mean[part],
        window_days=window_days,
    )
    return float(index[-1]) if len(index) else math.nan


def _ribbons_report(
    frame: DailyFrame, rib: sg.HashRibbons, parameters: dict[str, Any]
) -> HashRibbonsReport:
    row = len(frame) - 1
    day = frame.day
    starts, ends, ongoing = sg.capitulation_periods(rib)
    buy_rows = np.flatnonzero(rib.buy)
    # Each buy belongs to the capitulation whose last inverted day precedes it.
    buy_period = np.searchsorted(ends, rib.last_inverted_row[buy_rows])
    buy_of_period = dict(zip(buy_period.tolist(), buy_rows.tolist(), strict=True))
    periods = []
    for i, (s, e, o) in enumerate(zip(starts, ends, ongoing, strict=True)):  # tens of periods
        b = buy_of_period.get(i)
        periods.append(
            RibbonPeriod(
                start=str(day[s]),
                end=None if o else str(day[e]),
                days=int((row if o else e) - s + 1),
                ongoing=bool(o),
                recovery_start=None if o else str(day[e + 1]),
                buy_signal=None if b is None else str(day[b]),
            )
        )
    buys = [
        BuySignal(
            date=str(day[b]),
            price_usd=_num(frame.price_usd[b]),
            capitulation_start=str(day[starts[p]]),
            capitulation_end=str(day[ends[p]]),
            days_after_end=int(b - ends[p]),
        )
        for b, p in zip(buy_rows.tolist(), buy_period.tolist(), strict=True)
    ]
    summary = ribbons_summary(frame, rib, row)
    s, lg = rib.sma_short_hs[row], rib.sma_long_hs[row]
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = 100.0 * (s / lg - 1.0)
    return HashRibbonsReport(
        state=summary.state,
        since=summary.since,
        sma_short_ehs=summary.sma30_ehs,
        sma_long_ehs=summary.sma60_ehs,
        spread_pct=_num(spread),
        price_sma_short_usd=_num(rib.price_sma_short_usd[row]),
        price_sma_long_usd=_num(rib.price_sma_long_usd[row]),
        last_buy_signal=buys[-1].date if buys else None,
        capitulations=periods,
        buy_signals=buys,
        parameters=parameters,
    )


def _previous_low(x: np.ndarray, row: int, window: int) -> float | None:
    """Lowest finite value of the ``window - 1`` days before ``row``; None without a full
    window of history."""
    if row + 1 < window:
        return None
    past = x[row + 1 - window : row]
    past = past[np.isfinite(past)]
    return float(past.min()) if past.size else None


def _stress(
    day_context: Day,
    ribbons: HashRibbonsReport,
    *,
    cost_model: str,
    hashrate_drawdown_pct: float,
    hashprice_low_months: int,
    revenue_low_days: int,
    revenue_mean_days: int,
    cost_parameters: dict[str, Any],
) -> tuple[list[StressCondition], list[str]]:
    frame, m = day_context.frame, day_context.metrics
    row = len(frame) - 1
    day = frame.day
    active: list[StressCondition] = []
    checked: list[str] = []

    pc = production_cost(day_context, model=cost_model, **cost_parameters)
    if pc.price_to_cost_pct is not None:
        checked.append("price_below_cost")
        if pc.price_to_cost_pct < 0:
            text = (
                f"close ${pc.price_usd:,.0f} is {-pc.price_to_cost_pct:.1f}% below the "
                f"production cost ${pc.cost_usd:,.0f} ({cost_model})"
            )
            active.append(StressCondition("price_below_cost", pc.price_to_cost_pct, 0.0, "%", text))

    dd = _num(m.hashrate_drawdown_pct[row])
    if dd is not None:
        checked.append("hashrate_drawdown")
        if dd <= -hashrate_drawdown_pct:
            high = int(m.hashrate_ath_row[row])
            text = (
                f"7-day mean hashrate {-dd:.1f}% below its high of {day[high]} (threshold "
                f"{hashrate_drawdown_pct:g}%)"
            )
            active.append(
                StressCondition("hashrate_drawdown", dd, -hashrate_drawdown_pct, "%", text)
            )

    if ribbons.state != sg.STATE_NAMES[sg.STATE_UNDEFINED]:
        checked.append("ribbons_capitulation")
        if ribbons.state == sg.STATE_NAMES[sg.STATE_CAPITULATION]:
            text = (
                f"hash ribbons in capitulation since {ribbons.since}: 30-day mean hashrate "
                f"{ribbons.spread_pct:+.1f}% against the 60-day mean"
            )
            active.append(
                StressCondition("ribbons_capitulation", ribbons.spread_pct, 0.0, "%", text)
            )

    def at_low(name: str, x: np.ndarray, window: int, unit: str, describe: str) -> None:
        """The condition ``name``: ``x`` on the day at or below its low of the ``window``
        days before (``describe`` formatted with ``value`` and ``low``)."""
        low = _previous_low(x, row, window)
        if low is None or not math.isfinite(x[row]):
            return
        checked.append(name)
        if x[row] <= low:
            text = describe.format(value=float(x[row]), low=low)
            active.append(StressCondition(name, float(x[row]), low, unit, text))

    at_low(
        "hashprice_low",
        m.hashprice_usd_ph_day,
        round(hashprice_low_months * DAYS_PER_MONTH),
        "USD per PH/s per day",
        f"hashprice ${{value:,.2f}}/PH/day is the lowest in {hashprice_low_months} months "
        "(previous low ${low:,.2f})",
    )
    at_low(
        "revenue_low",
        trailing_mean(m.revenue_usd, revenue_mean_days, min_count=revenue_mean_days),
        revenue_low_days,
        "USD per day",
        f"miner revenue ({revenue_mean_days}-day mean) ${{value:,.0f}}/day is the lowest in "
        f"{revenue_low_days} days (previous low ${{low:,.0f}})",
    )

    r_row, r_pct = sg.last_retarget(frame.difficulty_last)
    if r_row[row] >= 1 and math.isfinite(r_pct[row]):
        checked.append("difficulty_falling")
        if r_pct[row] < 0:
            text = f"the last difficulty retarget ({day[r_row[row]]}) was {r_pct[row]:+.2f}%"
            active.append(StressCondition("difficulty_falling", float(r_pct[row]), 0.0, "%", text))
    return active, checked


# -- entry point ----------------------------------------------------------------------------


def signals(
    db_or_frame: Day | DailyFrame | Store | str | Path | None = None,
    as_of: str | np.datetime64 | None = None,
    *,
    short_days: int = sg.RIBBON_SHORT_DAYS,
    long_days: int = sg.RIBBON_LONG_DAYS,
    price_short_days: int = sg.PRICE_SHORT_DAYS,
    price_long_days: int = sg.PRICE_LONG_DAYS,
    confirm_days: int = sg.RIBBON_CONFIRM_DAYS,
    recovery_days: int = sg.RIBBON_RECOVERY_DAYS,
    price_cross: str = sg.DEFAULT_PRICE_CROSS,
    sustainability_window_days: int = sg.SUSTAINABILITY_WINDOW_DAYS,
    cost_model: str = DEFAULT_MODEL,
    hashrate_drawdown_pct: float = HASHRATE_DRAWDOWN_PCT,
    hashprice_low_months: int = HASHPRICE_LOW_MONTHS,
    revenue_low_days: int = REVENUE_LOW_DAYS,
    revenue_mean_days: int = REVENUE_MEAN_DAYS,
    price_source: str = "auto",
    **cost_parameters: Any,
) -> Signals:
    """Capitulation and stress signals on ``as_of`` from data up to ``as_of`` only.

    Parameters
    ----------
    db_or_frame : DailyFrame, Store, path or None
        A daily frame, an open store, or a database path (None: the default database).
    as_of : YYYY-MM-DD or None
        Day to report; default the last day held. Nothing after it is read.
    short_days, long_days, price_short_days, price_long_days, confirm_days, recovery_days, \
price_cross
        Hash-ribbon parameters (:func:`minerwatch.metrics.signals.hash_ribbons`; defaults 30,
        60, 10, 20, 2, 60, "any"). ``confirm_days=2`` is ours, chosen in hindsight so that
        the 2022 capitulation reproduces Edwards' published dates; 1 is his crossover.
    sustainability_window_days : int, default 365
        Trailing window of the sustainability index, days.
    cost_model : str, default "drm-fit-2015"
        Production-cost model of the ``price_below_cost`` condition.
    hashrate_drawdown_pct : float, default 10
        ``hashrate_drawdown`` holds when the 7-day mean hashrate is at least this many
        percent below its high.
    hashprice_low_months : int, default 12
        ``hashprice_low`` holds when the day's hashprice is the lowest in this many months
        (``round(months * 365.25 / 12)`` days).
    revenue_low_days, revenue_mean_days : int, default 365, 7
        ``revenue_low`` holds when the ``revenue_mean_days``-day mean revenue (USD) is the
        lowest in ``revenue_low_days`` days.
    price_source : str, default "auto"
        Price source when reading a database.
    **cost_parameters
        Passed to :func:`~minerwatch.analyses.cost.production_cost` (``electricity_usd_kwh``,
        ...).

    Returns
    -------
    Signals

    Raises
    ------
    InputError
        A parameter out of range (named in the message) or ``as_of`` outside the data.
    """
    # The ribbon parameters are checked by sg.hash_ribbons below.
    window = params.RANK_WINDOW_DAYS.check(sustainability_window_days, "sustainability_window_days")
    check_model(cost_model)
    drawdown = params.OPEN_PERCENTAGE.check(hashrate_drawdown_pct, "hashrate_drawdown_pct")
    months = params.MONTHS.check(hashprice_low_months, "hashprice_low_months")
    low_days = params.RANK_WINDOW_DAYS.check(revenue_low_days, "revenue_low_days")
    mean_days = params.DAYS.check(revenue_mean_days, "revenue_mean_days")

    with day_of(db_or_frame, as_of, price_source=price_source) as day:
        frame, m = day.frame, day.metrics
    row = len(frame) - 1
    ribbon_parameters = {
        "short_days": short_days,
        "long_days": long_days,
        "price_short_days": price_short_days,
        "price_long_days": price_long_days,
        "confirm_days": confirm_days,
        "recovery_days": recovery_days,
        "price_cross": price_cross,
        "hashrate": "daily blocks x mean difficulty x 2^32 / 86400 s, H/s",
    }
    rib = sg.hash_ribbons(
        m.hashrate_hs[1],
        frame.price_usd,
        short_days=short_days,
        long_days=long_days,
        price_short_days=price_short_days,
        price_long_days=price_long_days,
        confirm_days=confirm_days,
        recovery_days=recovery_days,
        price_cross=price_cross,
    )
    ribbons = _ribbons_report(frame, rib, ribbon_parameters)

    puell = m.puell_multiple
    ranked = np.flatnonzero(np.isfinite(puell))
    puell_report = PuellReport(
        multiple=_num(puell[row]),
        percentile=_num(sg.percentile_rank(puell, puell[row])),
        days_ranked=int(ranked.size),
        first_day=str(frame.day[ranked[0]]) if ranked.size else None,
    )
    rpw = sg.revenue_per_work_usd_ph_day(
        m.revenue_usd[row : row + 1],
        frame.blocks[row : row + 1],
        frame.difficulty_mean[row : row + 1],
    )
    sustainability = SustainabilityReport(
        index=_num(sustainability_today(frame, m, row, window)),
        revenue_per_work_usd_ph_day=_num(rpw[0]),
        window_days=window,
        method=SUSTAINABILITY_METHOD.format(window=window),
    )
    stress, checked = _stress(
        day,
        ribbons,
        cost_model=cost_model,
        hashrate_drawdown_pct=drawdown,
        hashprice_low_months=months,
        revenue_low_days=low_days,
        revenue_mean_days=mean_days,
        cost_parameters=cost_parameters,
    )
    return Signals(
        as_of=str(frame.day[row]),
        price_usd=_num(frame.price_usd[row]),
        price_source=str(frame.price_source[row]) or None,
        hash_ribbons=ribbons,
        puell=puell_report,
        sustainability=sustainability,
        stress=stress,
        stress_checked=checked,
        missing=missing_history(
            frame,
            {
                "hash ribbons": (long_days, ribbons.sma_long_ehs is not None),
                "Puell multiple": (PUELL_WINDOW_DAYS, puell_report.multiple is not None),
                "sustainability index": (window, sustainability.index is not None),
            },
        ),
        parameters={
            "sustainability_window_days": window,
            "cost_model": cost_model,
            "hashrate_drawdown_pct": drawdown,
            "hashprice_low_months": months,
            "hashprice_low_days": round(months * DAYS_PER_MONTH),
            "revenue_low_days": low_days,
            "revenue_mean_days": mean_days,
            **cost_parameters,
        },
    )
