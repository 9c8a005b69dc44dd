"""Every figure and series the report shows, as of one day (:func:`report_data`).

The report's charts and tables only select and format what is gathered here; each item is a
library result for ``as_of`` (nothing after it is read) or one of its columns:

* the snapshot (:func:`minerwatch.status`), every production-cost model with its per-day
  series (:func:`~minerwatch.analyses.cost.production_cost`), the episodes of the close below
  the default model's cost (:func:`~minerwatch.analyses.studies.cost_episodes`), the signals with
  every hash-ribbon capitulation (:func:`~minerwatch.analyses.signals.signals`), the
  difficulty outlook (:func:`~minerwatch.analyses.difficulty.difficulty_outlook`), the machine
  economics (:func:`~minerwatch.analyses.asics.asic_economics`) and the results the
  written brief is composed from (:func:`~minerwatch.analyses.brief.gather`; the wording
  is :mod:`minerwatch.present.brief`'s);
* per-day columns of :func:`~minerwatch.metrics.daily.compute_daily_metrics`: hashrate
  (7-, 30- and 60-day means, EH/s), hashprice (USD and BTC per PH/s per day, and per the
  unit the network reached, :func:`~minerwatch.metrics.revenue.hashprice_unit`: TH/s or
  GH/s before 2013), revenue from the subsidy and from fees (USD);
* the difficulty the next adjustment would set, :func:`next_difficulty` (read from the
  outlook).

The long-history chart (price against production cost) covers every day from the first
close, the difficulty chart the :data:`DIFFICULTY_DAYS` days up to ``as_of``, the others the
:data:`RECENT_DAYS` days up to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from minerwatch.analyses.asics import AsicEconomics
from minerwatch.analyses.brief import BriefInputs, gather
from minerwatch.analyses.cost import ProductionCost, production_cost
from minerwatch.analyses.day import Day, day_of
from minerwatch.analyses.difficulty import DifficultyOutlook, difficulty_outlook
from minerwatch.analyses.signals import Signals
from minerwatch.analyses.status import Status
from minerwatch.analyses.studies import EpisodesReport
from minerwatch.errors import InputError
from minerwatch.frames import DailyFrame
from minerwatch.metrics.revenue import hashprice_in, hashprice_unit
from minerwatch.store import Store
from minerwatch.tables import ArrayTabular
from minerwatch.units import HS_PER_EHS

# The recent charts (hashrate, difficulty, hashprice, revenue) show two years up to as_of:
# the last halving and the cycle since, at a scale where a week's move is visible.
RECENT_DAYS = 730
# The difficulty chart shows half a year (about 13 epochs), so the forecast a few days ahead
# and its interval of about a day stay visible beside the history.
DIFFICULTY_DAYS = 182
RECENT_HASHRATE_WINDOWS = ("7d", "30d", "60d")


@dataclass(frozen=True)
class Period:
    """A stretch of days to shade, ``start`` to ``end`` inclusive; ``ongoing``: not over on
    ``as_of`` (a below-cost episode's ``end`` is then its last day below cost so far, a
    capitulation's ``as_of``)."""

    start: str
    end: str
    ongoing: bool


@dataclass(frozen=True)
class ReportData(ArrayTabular):
    """The report of ``as_of``: library results and the per-day columns the charts draw.

    Per-day arrays are aligned with ``day`` (every day of the data up to ``as_of``):
    ``price_usd``; ``cost_usd`` (model name -> USD per BTC, every model of
    :func:`~minerwatch.analyses.cost.production_cost`); ``hashrate_ehs`` (``7d``, ``30d``,
    ``60d`` trailing means, EH/s); ``difficulty`` (of the day's last block);
    ``hashprice_usd_ph_day``, ``hashprice_btc_ph_day`` (Luxor's), and the same per
    ``hashprice_unit`` (``hashprice_usd_unit_day``, ``hashprice_btc_unit_day``: PH/s, or the
    largest unit the network reached over the recent window, by
    :func:`~minerwatch.metrics.revenue.hashprice_unit`); ``hashprice_day``: the day's
    hashprice per the unit its network reached (``unit``, ``usd_day``, ``btc_day``,
    ``realised_usd_day``); ``subsidy_usd``,
    ``fees_usd`` (the day's revenue by source, USD). ``history_start`` is the first day with
    a close, ``recent_start`` the first day of the recent charts, ``difficulty_start`` of the
    difficulty chart. ``below_cost`` are the
    episodes of the close below ``cost_model``'s cost, ``capitulations`` the hash-ribbon
    capitulations. ``next_difficulty``: :func:`next_difficulty` (None without a forecast).
    """

    as_of: str
    data_through: str
    status: Status
    cost: ProductionCost
    cost_model: str
    episodes: EpisodesReport
    signals: Signals
    outlook: DifficultyOutlook | None
    asics: AsicEconomics | None
    brief_inputs: BriefInputs
    day: np.ndarray
    price_usd: np.ndarray
    cost_usd: dict[str, np.ndarray]
    hashrate_ehs: dict[str, np.ndarray]
    difficulty: np.ndarray
    hashprice_usd_ph_day: np.ndarray
    hashprice_btc_ph_day: np.ndarray
    hashprice_unit: str
    hashprice_usd_unit_day: np.ndarray
    hashprice_btc_unit_day: np.ndarray
    hashprice_day: dict[str, Any]
    subsidy_usd: np.ndarray
    fees_usd: np.ndarray
    history_start: str | None
    recent_start: str
    difficulty_start: str
    below_cost: list[Period]
    capitulations: list[Period]
    next_difficulty: NextDifficulty | None


@dataclass(frozen=True)
class NextDifficulty:
    """The difficulty the next adjustment would set, by our forecast and mempool.space's.

    ``height``: the first block of the next epoch; ``difficulty_now``; ``change_pct``,
    ``change_pct_low``, ``change_pct_high``: our median change and 90% interval, percent;
    ``difficulty``, ``difficulty_low``, ``difficulty_high``: the difficulty each would set,
    at ``date``, ``date_low``, ``date_high`` (ISO 8601 UTC); ``baseline_change_pct``,
    ``baseline_difficulty`` at ``baseline_date``: mempool.space's (None where it has none).
    """

    height: int
    difficulty_now: float
    change_pct: float | None
    change_pct_low: float | None
    change_pct_high: float | None
    difficulty: float
    difficulty_low: float | None
    difficulty_high: float | None
    date: str
    date_low: str
    date_high: str
    baseline_change_pct: float | None
    baseline_difficulty: float | None
    baseline_date: str | None


def next_difficulty(outlook: DifficultyOutlook) -> NextDifficulty | None:
    """The difficulty the next adjustment would set, by our forecast and mempool.space's,
    as the outlook gives it (a selection, no arithmetic): the central forecast and the
    ends of its 90% interval from ``outlook.next_adjustment``, the baseline from
    ``outlook.baseline``; see :func:`~minerwatch.models.difficulty.difficulty_after`. None
    when the outlook has no forecast (no central value or date, or no interval of the
    date).
    """
    na, base = outlook.next_adjustment, outlook.baseline
    if na.difficulty is None or na.date is None or na.date_low is None or na.date_high is None:
        return None
    return NextDifficulty(
        height=na.height,
        difficulty_now=outlook.difficulty,
        change_pct=na.change_pct,
        change_pct_low=na.change_pct_low,
        change_pct_high=na.change_pct_high,
        difficulty=na.difficulty,
        difficulty_low=na.difficulty_low,
        difficulty_high=na.difficulty_high,
        date=na.date,
        date_low=na.date_low,
        date_high=na.date_high,
        baseline_change_pct=base.change_pct,
        baseline_difficulty=base.difficulty,
        baseline_date=base.date,
    )


def report_data(db: Day | Store | str | Path | None = None, as_of: str | None = None) -> ReportData:
    """Everything the report of ``as_of`` shows (YYYY-MM-DD; default the last stored day),
    from one day context (the frame, metrics, cost series, catalog and outlook are built
    once for the brief's results and the charts alike).

    Reads nothing after ``as_of``. Raises :class:`~minerwatch.errors.AsOfOutOfRange` for a
    date outside the data.
    """
    with day_of(db, as_of) as day:
        inputs = gather(day)
        snapshot = inputs.status
        frame: DailyFrame = day.frame
        metrics = day.metrics
        cost = production_cost(day)
        try:
            outlook: DifficultyOutlook | None = difficulty_outlook(day)
        except InputError:  # the data held cannot give one (heights unknown): no forecast
            outlook = None
    priced = np.flatnonzero(np.isfinite(frame.price_usd))

    def first_of_last(days: int) -> str:
        return str(max(frame.day[-1] - np.timedelta64(days - 1, "D"), frame.day[0]))

    episodes = inputs.episodes
    ribbons = inputs.signals.hash_ribbons
    hashrate_ehs = {
        key: metrics.hashrate_hs[int(key[:-1])] / HS_PER_EHS for key in RECENT_HASHRATE_WINDOWS
    }
    recent_start = first_of_last(RECENT_DAYS)
    chart_unit = hashprice_unit(hashrate_ehs["7d"][frame.day >= np.datetime64(recent_start)])
    day_unit = hashprice_unit(snapshot.hashrate_ehs.get("7d") or np.nan)
    return ReportData(
        as_of=snapshot.as_of,
        data_through=snapshot.data_through,
        status=snapshot,
        cost=cost,
        cost_model=episodes.model,
        episodes=episodes,
        signals=inputs.signals,
        outlook=outlook,
        asics=inputs.asics,
        brief_inputs=inputs,
        day=frame.day,
        price_usd=frame.price_usd,
        cost_usd=cost.series.cost_usd,
        hashrate_ehs=hashrate_ehs,
        difficulty=frame.difficulty_last,
        hashprice_usd_ph_day=metrics.hashprice_usd_ph_day,
        hashprice_btc_ph_day=metrics.hashprice_btc_ph_day,
        hashprice_unit=chart_unit,
        hashprice_usd_unit_day=hashprice_in(metrics.hashprice_usd_ph_day, chart_unit),
        hashprice_btc_unit_day=hashprice_in(metrics.hashprice_btc_ph_day, chart_unit),
        hashprice_day={
            "unit": day_unit,
            "usd_day": hashprice_in(snapshot.hashprice_usd_ph_day, day_unit),
            "btc_day": hashprice_in(snapshot.hashprice_btc_ph_day, day_unit),
            "realised_usd_day": hashprice_in(snapshot.hashprice_realised_usd_ph_day, day_unit),
        },
        subsidy_usd=metrics.issuance_usd,
        fees_usd=metrics.fees_usd,
        history_start=str(frame.day[priced[0]]) if priced.size else None,
        recent_start=recent_start,
        difficulty_start=first_of_last(DIFFICULTY_DAYS),
        below_cost=[Period(e.start, e.end, e.exit_date is None) for e in episodes.episodes],
        capitulations=[
            Period(p.start, p.end or snapshot.as_of, p.ongoing) for p in ribbons.capitulations
        ],
        next_difficulty=None if outlook is None else next_difficulty(outlook),
    )


__all__ = ["Period", "ReportData", "next_difficulty", "report_data"]
