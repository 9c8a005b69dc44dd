"""Production cost of a bitcoin on every day up to ``as_of``, by every model at once.

:func:`production_cost` reads the daily frame up to ``as_of`` (nothing after it), runs the
models of :mod:`minerwatch.models.cost` over the whole history and reports the ``as_of``
day: each model's USD cost, the price against it, the DRM fit statistics and the fleet band.
The per-day arrays are in :attr:`ProductionCost.series`. See ``docs/cost.md``.

Models (names for ``model=``):

* ``drm-fit-2015`` (the default, :data:`DEFAULT_MODEL`), ``drm-fit-2012``, ``drm-fit-all``:
  the Difficulty Regression Model refitted every day on the days from the window's start
  (2015-01-01, the ASIC era, for the default; 2012-01-01; every priced day from 2010-07-18
  for ``drm-fit-all``, the window that reproduces the published constants) up to that day,
  or up to ``drm_fit_end`` when one is given;
* ``drm-glassnode-2022``, ``drm-checkmate-2019``: the DRM with published constants (fitted
  on data up to 2022-09-14 and 2019-10-13: before those days they carry hindsight);
* ``hayes``: Hayes' electricity breakeven at the profitable fleet's best-guess efficiency
  (or a fixed efficiency), no facility overhead;
* ``cbeci-electricity``: electricity cost per BTC of the CBECI best-guess fleet with its
  overhead (PUE 1.10);
* ``cbeci-all-in``: ``cbeci-electricity`` over electricity's share of total cost (0.6).

The last three read the ASIC catalog that ships with the package
(:func:`minerwatch.models.asics.load_catalog`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from minerwatch import params
from minerwatch.analyses.day import Day, day_of
from minerwatch.errors import InputError
from minerwatch.frames import DailyFrame
from minerwatch.metrics import hashrate as hr
from minerwatch.metrics.daily import DailyMetrics
from minerwatch.metrics.rolling import trailing_mean
from minerwatch.models import cost as mc
from minerwatch.serialize import NOT_JSON, Jsonable
from minerwatch.serialize import num as _num
from minerwatch.sources.catalog import Catalog
from minerwatch.store import Store
from minerwatch.tables import Tabular
from minerwatch.units import SAT_PER_BTC, THS_PER_PHS

# The default "average production cost": the Difficulty Regression Model refitted each day
# on the days from 2015-01-01 (the industrial ASIC era) up to that day. (The fit over every
# priced day, drm-fit-all, is the one that reproduces Checkmate's and Glassnode's published
# constants.) Why this one: docs/cost.md ("The default"). Never a published preset: their
# constants were fitted with data after most of the days they are applied to.
DEFAULT_MODEL = "drm-fit-2015"

DRM_MODELS = {
    "drm-fit-all": "fit-all",
    "drm-fit-2012": "fit-2012",
    "drm-fit-2015": "fit-2015",
    "drm-glassnode-2022": "glassnode-2022",
    "drm-checkmate-2019": "checkmate-2019",
}
CATALOG_MODELS = ("hayes", "cbeci-electricity", "cbeci-all-in")
MODELS = (*DRM_MODELS, *CATALOG_MODELS)
# DRM: Difficulty Regression Model; electricity and all-in: the CBECI-style fleet.
MODEL_FAMILY = {**dict.fromkeys(DRM_MODELS, "DRM"), **{
    "hayes": "energy breakeven",
    "cbeci-electricity": "electricity",
    "cbeci-all-in": "all-in",
}}  # fmt: skip
BAND = ("lower", "best", "upper")
HOURS_PER_YEAR = 8_760
# CBECI annualises a 7-day moving average of the power estimate.
POWER_AVERAGE_DAYS = 7


# -- results --------------------------------------------------------------------------------


def _pct(price: float | None, cost: float | None) -> float | None:
    if price is None or cost is None or cost <= 0:
        return None
    return 100.0 * (price / cost - 1.0)


def _ratio(price: float | None, cost: float | None) -> float | None:
    if price is None or cost is None or cost <= 0:
        return None
    return price / cost


@dataclass(frozen=True)
class ModelCost:
    """One model's production cost on ``as_of``: ``cost_usd`` (USD per BTC),
    ``price_to_cost_pct`` = ``100 * (price / cost - 1)`` and ``multiple`` = ``price / cost``
    (for a DRM model, the difficulty multiple). None where the model has no value, and
    ``note`` says why."""

    name: str
    family: str
    cost_usd: float | None
    price_to_cost_pct: float | None
    multiple: float | None
    note: str


@dataclass(frozen=True)
class DrmFitSummary:
    """A Difficulty Regression Model's constants on ``as_of``: ``ln(cap) = a + b ln(D)``.

    ``r2`` and ``n`` (daily points) describe the fit; ``window_start`` and ``window_end``
    are the first and last days in it (for published constants, the publisher's window
    where known). ``hindsight``: the constants were fit with data after ``as_of``.
    """

    preset: str
    source: str
    a: float | None
    b: float | None
    r2: float | None
    n: int | None
    window_start: str | None
    window_end: str | None
    expanding: bool
    published: bool
    hindsight: bool


@dataclass(frozen=True)
class FleetSummary:
    """The CBECI-style fleet on ``as_of`` (each dict keyed ``lower``, ``best``, ``upper``).

    ``hashprice_usd_th_day``: the smoothed hashprice the threshold uses;
    ``threshold_j_th``: least efficient profitable hardware; ``efficiency_j_th``: the band;
    ``overhead``: PUE per bound; ``power_gw`` and ``annualised_twh``: network power as a
    7-day mean (CBECI's convention) and that power over a year; ``power_gw_1d``: the day's
    own power (efficiency x PUE x the day's hashrate); ``btc_mined_1d``: BTC mined that day
    (subsidy, plus fees when counted); ``electricity_cost_usd`` =
    ``power_gw_1d * 24 h * electricity price / btc_mined_1d`` and ``all_in_cost_usd``, per
    BTC, both on the day's basis.
    """

    electricity_usd_kwh: float
    hashprice_usd_th_day: float | None
    threshold_j_th: float | None
    machines_available: int
    machines_profitable: int
    efficiency_j_th: dict[str, float | None]
    overhead: dict[str, float]
    power_gw: dict[str, float | None]
    annualised_twh: dict[str, float | None]
    power_gw_1d: dict[str, float | None]
    btc_mined_1d: float | None
    electricity_cost_usd: dict[str, float | None]
    all_in_cost_usd: dict[str, float | None]


@dataclass(frozen=True)
class CostSeries:
    """Per-day arrays aligned with ``day`` (the frame up to ``as_of``).

    ``cost_usd``: model name -> USD per BTC; ``drm``: preset -> :class:`~.models.cost.OlsFit`
    (constants broadcast for published presets); ``fleet``: the efficiency band;
    ``threshold_j_th``; ``power_w``: bound -> 7-day mean network power;
    ``all_in_band_usd``: bound -> all-in cost.
    """

    day: np.ndarray
    price_usd: np.ndarray
    cost_usd: dict[str, np.ndarray]
    drm: dict[str, mc.OlsFit]
    fleet: mc.FleetBand
    threshold_j_th: np.ndarray
    power_w: dict[str, np.ndarray] = field(default_factory=dict)
    all_in_band_usd: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class ProductionCost(Jsonable, Tabular):
    """Production cost of a bitcoin on ``as_of`` by every model (units in the names).

    ``model``, ``cost_usd``, ``price_to_cost_pct``, ``multiple``: the chosen model's;
    ``difficulty_multiple``: price over the DRM price of ``difficulty_multiple_model`` (the
    chosen model if it is a DRM, else the default); ``models``: every model;
    ``drm``: every DRM preset's constants and fit statistics; ``fleet``: the CBECI-style
    fleet; ``parameters``: every assumption used. ``series`` holds the per-day arrays and
    is left out of :meth:`to_dict`.
    """

    TABLE = "models"  # the rows of to_pandas() and the like

    as_of: str
    price_usd: float | None
    model: str
    cost_usd: float | None
    price_to_cost_pct: float | None
    multiple: float | None
    difficulty_multiple: float | None
    difficulty_multiple_model: str
    models: dict[str, ModelCost]
    drm: dict[str, DrmFitSummary]
    fleet: FleetSummary
    parameters: dict[str, Any]
    series: CostSeries = field(repr=False, compare=False, metadata=NOT_JSON)

    def costs_usd(self) -> dict[str, float | None]:
        """Model name -> USD cost on ``as_of``."""
        return {name: m.cost_usd for name, m in self.models.items()}


# -- inputs ---------------------------------------------------------------------------------


def check_model(model: str) -> str:
    """``model`` if it names a production-cost model; :class:`InputError` otherwise."""
    if model not in MODELS:
        raise InputError(
            f"model {model!r} is not a production-cost model; choose one of: {', '.join(MODELS)}",
            parameter="model",
        )
    return model


def hindsight_preset(model: str) -> mc.DrmPreset | None:
    """The published DRM preset behind ``model`` (constants fitted with data up to its
    ``fit_end``), or None for a model that reads no data after the day it prices."""
    preset = mc.DRM_PRESETS.get(DRM_MODELS.get(model, ""))
    return preset if preset is not None and preset.fixed else None


def _check_overheads(overheads: object) -> tuple[float, float, float]:
    try:
        values = tuple(cast(Iterable[object], overheads))
    except TypeError:
        values = ()
    if len(values) != 3:
        raise InputError(
            f"overheads must be three PUE values (lower, best, upper), got {overheads!r}",
            parameter="overheads",
        )
    lower, best, upper = (float(params.PUE.check(v, "overheads")) for v in values)
    return lower, best, upper


def _check_fit_end(fit_end: object) -> str | None:
    """``fit_end`` as ``YYYY-MM-DD`` (None stays None); :class:`InputError` otherwise."""
    if fit_end is None:
        return None
    try:
        day = np.datetime64(cast(Any, fit_end), "D")
        if np.isnat(day):
            raise ValueError
        return str(day)
    except ValueError:
        raise InputError(
            f"drm_fit_end {fit_end!r} is not a date; expected YYYY-MM-DD",
            parameter="drm_fit_end",
        ) from None


# -- the computation ------------------------------------------------------------------------


def _drm_series(
    frame: DailyFrame, preset: mc.DrmPreset, min_fit_days: int
) -> tuple[mc.OlsFit, np.ndarray]:
    n = len(frame)
    if preset.fixed:
        fit = mc.OlsFit(
            a=np.full(n, preset.a),
            b=np.full(n, preset.b),
            r2=np.full(n, np.nan if preset.r2 is None else preset.r2),
            n=np.full(n, -1, np.int64),
            first_row=np.full(n, -1, np.int64),
            last_row=np.full(n, -1, np.int64),
        )
    else:
        fit = mc.drm_fit(
            frame.day,
            frame.difficulty_mean,
            frame.price_usd,
            frame.supply_sat,
            start=preset.start or str(frame.day[0]),
            end=preset.end,
            min_fit_days=min_fit_days,
        )
    return fit, mc.drm_price_usd(frame.difficulty_mean, frame.supply_sat, fit.a, fit.b)


def _drm_summary(
    frame: DailyFrame, preset: mc.DrmPreset, fit: mc.OlsFit, row: int
) -> DrmFitSummary:
    as_of = frame.day[row]
    if preset.fixed:
        return DrmFitSummary(
            preset=preset.name,
            source=preset.source,
            a=preset.a,
            b=preset.b,
            r2=preset.r2,
            n=preset.n,
            window_start=preset.fit_start,
            window_end=preset.fit_end,
            expanding=False,
            published=True,
            hindsight=bool(preset.fit_end is not None and np.datetime64(preset.fit_end) > as_of),
        )
    has_fit = math.isfinite(fit.a[row])
    first, last = int(fit.first_row[row]), int(fit.last_row[row])
    return DrmFitSummary(
        preset=preset.name,
        source=preset.source,
        a=_num(fit.a[row]),
        b=_num(fit.b[row]),
        r2=_num(fit.r2[row]),
        n=int(fit.n[row]) if has_fit else None,
        window_start=str(frame.day[first]) if first >= 0 else None,
        window_end=str(frame.day[last]) if last >= 0 else None,
        expanding=preset.expanding,
        published=False,
        hindsight=False,
    )


@dataclass(frozen=True)
class CostAssumptions:
    """The checked assumptions of the production-cost models (see :func:`production_cost`
    for each one's meaning, unit and default); hashable, so a day keeps one result each."""

    electricity_usd_kwh: float
    electricity_share: float
    lifetime_years: float
    smoothing_days: int
    overheads: tuple[float, float, float]
    include_fees: bool
    hayes_efficiency_j_th: float | None
    min_fit_days: int
    fit_end: str | None


def _fleet(
    frame: DailyFrame, metrics: DailyMetrics, catalog: Catalog, a: CostAssumptions
) -> dict[str, Any]:
    electricity_usd_kwh, electricity_share = a.electricity_usd_kwh, a.electricity_share
    smoothing_days, hayes_efficiency_j_th = a.smoothing_days, a.hayes_efficiency_j_th
    blocks = np.asarray(frame.blocks, np.float64)
    # Luxor's hashprice of each day, as `minerwatch status` reports it, per PH/s -> per TH/s.
    hashprice_th = metrics.hashprice_usd_ph_day / THS_PER_PHS
    smoothed = trailing_mean(hashprice_th, smoothing_days, min_count=smoothing_days)
    threshold = mc.profitability_threshold_j_th(smoothed, electricity_usd_kwh)
    band = mc.fleet_efficiency_band(
        frame.day,
        threshold,
        np.asarray(catalog.efficiency_j_th, np.float64),
        np.asarray(catalog.release_month, "datetime64[M]"),
        lifetime_years=a.lifetime_years,
    )
    # The day's own hashrate and BTC: the day's luck cancels in the cost per BTC.
    hashrate_1d = hr.hashrate_hs(frame.blocks, frame.difficulty_mean, 1)
    btc_sat = np.asarray(frame.issuance_sat, np.float64)
    if a.include_fees:
        btc_sat = btc_sat + frame.fees_sat
    btc_per_day = btc_sat / SAT_PER_BTC
    efficiency = dict(zip(BAND, (band.lower_j_th, band.best_j_th, band.upper_j_th), strict=True))
    overhead = dict(zip(BAND, a.overheads, strict=True))
    power, power_1d, electricity, all_in = {}, {}, {}, {}
    for bound in BAND:
        daily_power = mc.network_power_w(efficiency[bound], hashrate_1d, overhead[bound])
        power_1d[bound] = daily_power
        power[bound] = trailing_mean(daily_power, POWER_AVERAGE_DAYS, min_count=POWER_AVERAGE_DAYS)
        electricity[bound] = mc.electricity_cost_usd_per_btc(
            daily_power, electricity_usd_kwh, btc_per_day
        )
        all_in[bound] = mc.all_in_cost_usd(electricity[bound], electricity_share)
    with np.errstate(invalid="ignore", divide="ignore"):
        reward = np.where(blocks > 0, btc_per_day / blocks, np.nan)
    hayes_e = band.best_j_th if hayes_efficiency_j_th is None else hayes_efficiency_j_th
    hayes = mc.hayes_cost_usd(frame.difficulty_mean, hayes_e, electricity_usd_kwh, reward)
    return {
        "band": band,
        "hashprice_th": smoothed,
        "threshold": threshold,
        "overhead": overhead,
        "power": power,
        "power_1d": power_1d,
        "btc_per_day": btc_per_day,
        "electricity": electricity,
        "all_in": all_in,
        "costs": {
            "hayes": hayes,
            "cbeci-electricity": electricity["best"],
            "cbeci-all-in": all_in["best"],
        },
    }


def production_cost(
    db_or_frame: Day | DailyFrame | Store | str | Path | None = None,
    as_of: str | np.datetime64 | None = None,
    *,
    model: str = DEFAULT_MODEL,
    electricity_usd_kwh: float = mc.CBECI_ELECTRICITY_USD_KWH,
    electricity_share: float = mc.CAPRIOLE_ELECTRICITY_SHARE,
    lifetime_years: float = mc.CBECI_LIFETIME_YEARS,
    smoothing_days: int = mc.CBECI_SMOOTHING_DAYS,
    overheads: tuple[float, float, float] = mc.CBECI_OVERHEADS,
    include_fees: bool = True,
    hayes_efficiency_j_th: float | None = None,
    drm_min_fit_days: int = mc.DRM_MIN_FIT_DAYS,
    drm_fit_end: str | np.datetime64 | None = None,
    catalog: Catalog | None = None,
    price_source: str = "auto",
) -> ProductionCost:
    """Production cost of a bitcoin on ``as_of`` by every model, from data up to ``as_of``.

    Parameters
    ----------
    db_or_frame : Day, DailyFrame, Store, path or None
        A day context (:class:`~minerwatch.analyses.day.Day`; its result is kept on it, so
        a second call with the same assumptions costs nothing), a daily frame, an open
        store, or a database path (None: the default database).
    as_of : YYYY-MM-DD or None
        Day to report; default the last day held. Nothing after it is read.
    model : str, default ``DEFAULT_MODEL`` ("drm-fit-2015")
        The model whose cost is the headline (one of :data:`MODELS`).
    electricity_usd_kwh : float, default 0.05
        Electricity price miners pay, USD per kWh (CBECI's default), > 0 and < 10.
    electricity_share : float, default 0.6
        Electricity's share of total mining cost, in (0, 1] (Capriole).
    lifetime_years : float, default 5
        Years after release a machine counts as deployable (CBECI).
    smoothing_days : int, default 14
        Trailing days of the hashprice mean behind the profitability threshold (CBECI).
    overheads : (float, float, float), default (1.01, 1.10, 1.20)
        PUE of the lower, best-guess and upper fleet (CBECI).
    include_fees : bool, default True
        Count fees as well as the subsidy in the BTC a day's work earns (the cost per BTC
        of the energy and all-in models). The profitability threshold always uses the
        hashprice with fees, which is what miners earn.
    hayes_efficiency_j_th : float or None, default None
        Fleet efficiency for the ``hayes`` model, J/TH; None: the profitable fleet's
        best-guess efficiency of each day.
    drm_min_fit_days : int, default 365
        Daily points an expanding DRM fit needs before it is reported.
    drm_fit_end : YYYY-MM-DD or None, default None
        Last day of the fit window of our DRM fits (``drm-fit-*``; the published presets
        keep their constants). None: each day is refitted up to itself (an expanding
        window). With a date, days after it keep the fit that ends there (a fixed window)
        and days before it are fitted up to themselves, so no day reads a later one.
    catalog : Catalog or None
        ASIC catalog (arrays ``efficiency_j_th``, ``release_month`` are read); None: the
        catalog that ships with the package.
    price_source : str, default "auto"
        Price source when reading a database.

    Returns
    -------
    ProductionCost

    Raises
    ------
    InputError
        A parameter out of range (named in the message and in its ``parameter``) or
        ``as_of`` outside the data.
    """
    check_model(model)
    c = params.ELECTRICITY_PRICE_USD_KWH.check(electricity_usd_kwh, "electricity_usd_kwh")
    share = params.ELECTRICITY_SHARE.check(electricity_share, "electricity_share")
    lifetime = params.LIFETIME_YEARS.check(lifetime_years, "lifetime_years")
    smoothing = params.SMOOTHING_DAYS.check(smoothing_days, "smoothing_days")
    min_fit = params.DRM_MIN_FIT_DAYS.check(drm_min_fit_days, "drm_min_fit_days")
    pue = _check_overheads(overheads)
    if hayes_efficiency_j_th is not None:
        hayes_efficiency_j_th = params.EFFICIENCY_J_TH.check(
            hayes_efficiency_j_th, "hayes_efficiency_j_th"
        )
    fit_end = _check_fit_end(drm_fit_end)

    assumptions = CostAssumptions(
        c,
        share,
        lifetime,
        smoothing,
        pue,
        bool(include_fees),
        hayes_efficiency_j_th,
        min_fit,
        fit_end,
    )
    with day_of(db_or_frame, as_of, price_source=price_source) as day:
        every = day.memo(
            ("production_cost", id(catalog), assumptions),
            lambda: _every_model(
                day.frame, day.metrics, day.catalog if catalog is None else catalog, assumptions
            ),
        )
    return headline(every, model)


def _every_model(
    frame: DailyFrame, metrics: DailyMetrics, catalog: Catalog, a: CostAssumptions
) -> ProductionCost:
    """Every model's cost over the whole frame; the headline is the default model's."""
    c, fit_end = a.electricity_usd_kwh, a.fit_end
    row = len(frame) - 1
    price = frame.price_usd

    costs: dict[str, np.ndarray] = {}
    fits: dict[str, mc.OlsFit] = {}
    summaries: dict[str, DrmFitSummary] = {}
    for name, preset_name in DRM_MODELS.items():
        preset = mc.DRM_PRESETS[preset_name]
        if fit_end is not None and not preset.fixed:
            source = f"{preset.source}; window ended on {fit_end} (drm_fit_end)"
            preset = dataclasses.replace(preset, end=fit_end, source=source)
        fit, costs[name] = _drm_series(frame, preset, a.min_fit_days)
        fits[preset_name] = fit
        summaries[preset_name] = _drm_summary(frame, preset, fit, row)

    fleet = _fleet(frame, metrics, catalog, a)
    costs.update(fleet["costs"])

    p = _num(price[row])
    models = {}
    for name in MODELS:
        value = _num(costs[name][row])
        note = ""
        if value is None:
            note = "no value on this day (fit not yet possible, no price, or no profitable machine)"
        models[name] = ModelCost(
            name=name,
            family=MODEL_FAMILY[name],
            cost_usd=value,
            price_to_cost_pct=_pct(p, value),
            multiple=_ratio(p, value),
            note=note,
        )

    band = fleet["band"]
    eff = dict(zip(BAND, (band.lower_j_th, band.best_j_th, band.upper_j_th), strict=True))
    fleet_summary = FleetSummary(
        electricity_usd_kwh=c,
        hashprice_usd_th_day=_num(fleet["hashprice_th"][row]),
        threshold_j_th=_num(fleet["threshold"][row]),
        machines_available=int(band.available[row]),
        machines_profitable=int(band.profitable[row]),
        efficiency_j_th={b: _num(eff[b][row]) for b in BAND},
        overhead=fleet["overhead"],
        power_gw={b: _num(fleet["power"][b][row] / 1e9) for b in BAND},
        annualised_twh={b: _num(fleet["power"][b][row] * HOURS_PER_YEAR / 1e12) for b in BAND},
        power_gw_1d={b: _num(fleet["power_1d"][b][row] / 1e9) for b in BAND},
        btc_mined_1d=_num(fleet["btc_per_day"][row]),
        electricity_cost_usd={b: _num(fleet["electricity"][b][row]) for b in BAND},
        all_in_cost_usd={b: _num(fleet["all_in"][b][row]) for b in BAND},
    )

    return ProductionCost(
        as_of=str(frame.day[row]),
        price_usd=p,
        **_headline_fields(models, DEFAULT_MODEL),
        models=models,
        drm=summaries,
        fleet=fleet_summary,
        parameters={
            "electricity_usd_kwh": c,
            "electricity_share": a.electricity_share,
            "lifetime_years": a.lifetime_years,
            "smoothing_days": a.smoothing_days,
            "overheads": dict(zip(BAND, a.overheads, strict=True)),
            "include_fees": a.include_fees,
            "hayes_efficiency_j_th": a.hayes_efficiency_j_th,
            "drm_min_fit_days": a.min_fit_days,
            "drm_fit_end": fit_end,
            "drm_difficulty": "the day's block-weighted mean difficulty (difficulty_mean)",
            "price_source": str(frame.price_source[row]) or None,
        },
        series=CostSeries(
            day=frame.day,
            price_usd=price,
            cost_usd=costs,
            drm=fits,
            fleet=fleet["band"],
            threshold_j_th=fleet["threshold"],
            power_w=fleet["power"],
            all_in_band_usd=fleet["all_in"],
        ),
    )


def headline(pc: ProductionCost, model: str) -> ProductionCost:
    """``pc`` with ``model`` as its headline: ``cost_usd``, ``price_to_cost_pct`` and
    ``multiple`` are that model's, ``difficulty_multiple`` its own if it is a DRM, else the
    default model's."""
    if model == pc.model:
        return pc
    return dataclasses.replace(pc, **_headline_fields(pc.models, model))


def _headline_fields(models: dict[str, ModelCost], model: str) -> dict[str, Any]:
    dm_model = model if model in DRM_MODELS else DEFAULT_MODEL
    chosen = models[model]
    return {
        "model": model,
        "cost_usd": chosen.cost_usd,
        "price_to_cost_pct": chosen.price_to_cost_pct,
        "multiple": chosen.multiple,
        "difficulty_multiple": models[dm_model].multiple,
        "difficulty_multiple_model": dm_model,
    }
