"""Decisions on a fleet under one scenario: swap lots for others (``minerwatch fleet FILE
--compare OTHER``) and how much each input moves the plan's NPV (``--sensitivity``, a
tornado table).

Both run every plan with the same seed, so each variant sees the same price, hashrate and
fee draws (common random numbers): a difference between two plans is the difference their
inputs make, not sampling noise.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from minerwatch.analyses.day import Day
from minerwatch.analyses.fleet_plan import (
    DEFAULT_RUNS,
    DEFAULT_SEED,
    Band,
    FleetPlan,
    plan_from,
    read_plan_inputs,
    simulated_months,
)
from minerwatch.models.scenario_paths import MarketStart
from minerwatch.serialize import Jsonable
from minerwatch.sources.fleet_file import Fleet, read_fleet
from minerwatch.sources.scenario_file import Scenario
from minerwatch.store import Store
from minerwatch.tables import Tabular

#: The tornado's swings, each a plausible range of a year's uncertainty for an operator:
#: the BTC price +-20%, hashrate growth +-1 percentage point per epoch (about +-30% a
#: year), the power price +-20%, uptime -5 / +2 points (capped at 100), pool fee +-1 point.
PRICE_SWING_PCT = 20.0
GROWTH_SWING_PCT_PER_EPOCH = 1.0
POWER_SWING_PCT = 20.0
UPTIME_DOWN_PP, UPTIME_UP_PP = 5.0, 2.0
POOL_FEE_SWING_PP = 1.0


@dataclass(frozen=True)
class Comparison(Jsonable):
    """Two fleets under the same scenario runs: each one's ``capex_usd``, NPV band and
    median payback (``*_a``: the fleet file, ``*_b``: the other), the per-run NPV
    difference ``npv_difference_usd`` (b - a) and ``probability_b_better``."""

    fleet_a: str
    fleet_b: str
    scenario: str
    runs: int
    seed: int
    months: int
    capex_usd_a: float
    capex_usd_b: float
    npv_usd_a: Band
    npv_usd_b: Band
    payback_median_months_a: float | None
    payback_median_months_b: float | None
    npv_difference_usd: Band
    probability_b_better: float


@dataclass(frozen=True)
class TornadoRow:
    """One input's swing: ``factor``, the two settings (``low``, ``high``, in words), the
    median NPV at each (``npv_low_usd``, ``npv_high_usd``) and ``swing_usd`` (their
    difference, absolute)."""

    factor: str
    low: str
    high: str
    npv_low_usd: float
    npv_high_usd: float
    swing_usd: float


@dataclass(frozen=True)
class Sensitivity(Jsonable, Tabular):
    """The tornado: ``npv_base_usd`` (median NPV of the plan as given) and ``rows`` (one
    per input, widest swing first)."""

    TABLE = "rows"

    fleet_file: str
    scenario: str
    runs: int
    seed: int
    months: int
    npv_base_usd: float
    rows: list[TornadoRow]

    def write_csv(self, path: str | Path) -> Path:
        """The tornado rows as CSV."""
        from minerwatch.serialize import write_csv

        return write_csv(self.rows, path)


def _npv_runs(plan: FleetPlan) -> float:
    return float(plan.npv_usd.p50) if plan.npv_usd.p50 is not None else float("nan")


def compare_fleets(
    db: Day | Store | str | Path | None,
    fleet: Fleet | str | Path,
    other: Fleet | str | Path,
    months: int,
    scenario: Scenario | str | Path = "base",
    *,
    runs: int = DEFAULT_RUNS,
    seed: int = DEFAULT_SEED,
    as_of: str | None = None,
) -> Comparison:
    """``other`` against ``fleet`` over ``months`` under the same ``runs`` of
    ``scenario`` (for example ``other`` replaces a lot of ``fleet`` by another model at
    its price): the NPV difference per run and the chance the swap pays."""
    start, a, scenario = read_plan_inputs(db, fleet, scenario, as_of)
    b = other if isinstance(other, Fleet) else read_fleet(other)
    first = start.day + 1
    horizon = max(simulated_months(a, months, first), simulated_months(b, months, first))
    plan_a = plan_from(start, a, months, scenario, runs, seed, horizon)
    plan_b = plan_from(start, b, months, scenario, runs, seed, horizon)
    diff = plan_b.npv_runs - plan_a.npv_runs
    q = np.quantile(diff, [0.05, 0.5, 0.95])
    return Comparison(
        fleet_a=a.path,
        fleet_b=b.path,
        scenario=scenario.name,
        runs=runs,
        seed=seed,
        months=months,
        capex_usd_a=plan_a.payback.capex_usd,
        capex_usd_b=plan_b.payback.capex_usd,
        npv_usd_a=plan_a.npv_usd,
        npv_usd_b=plan_b.npv_usd,
        payback_median_months_a=plan_a.payback.median_months,
        payback_median_months_b=plan_b.payback.median_months,
        npv_difference_usd=Band(*map(float, q)),
        probability_b_better=float((diff > 0).mean()),
    )


Variant = tuple[Fleet, Scenario, MarketStart]


def _variants(
    fleet: Fleet, scenario: Scenario, start: MarketStart
) -> list[tuple[str, str, str, Variant, Variant]]:
    """(factor, low words, high words, (fleet, scenario, start) low, ... high)."""
    site = fleet.site

    def with_site(**changes: Any) -> Fleet:
        return dataclasses.replace(fleet, site=dataclasses.replace(site, **changes))

    def power(f: float) -> Fleet:
        hourly = site.hourly
        if hourly is not None:
            hourly = dataclasses.replace(hourly, usd_kwh=hourly.usd_kwh * f)
        return dataclasses.replace(
            fleet,
            site=dataclasses.replace(
                site, power_price_usd_kwh=site.power_price_usd_kwh * f, hourly=hourly
            ),
        )

    def price(f: float) -> MarketStart:
        return dataclasses.replace(start, price_usd=start.price_usd * f)

    def growth(add: float) -> Scenario:
        return dataclasses.replace(
            scenario, growth_add_pct_per_epoch=scenario.growth_add_pct_per_epoch + add
        )

    p, g, w = PRICE_SWING_PCT, GROWTH_SWING_PCT_PER_EPOCH, POWER_SWING_PCT
    up_low = max(site.uptime_pct - UPTIME_DOWN_PP, 1.0)
    up_high = min(site.uptime_pct + UPTIME_UP_PP, 100.0)
    fee_low = max(site.pool_fee_pct - POOL_FEE_SWING_PP, 0.0)
    fee_high = min(site.pool_fee_pct + POOL_FEE_SWING_PP, 100.0)
    return [
        ("BTC price", f"-{p:g}%", f"+{p:g}%",
         (fleet, scenario, price(1 - p / 100)), (fleet, scenario, price(1 + p / 100))),
        ("growth/epoch", f"-{g:g} pp", f"+{g:g} pp",
         (fleet, growth(-g), start), (fleet, growth(g), start)),
        ("power price", f"-{w:g}%", f"+{w:g}%",
         (power(1 - w / 100), scenario, start), (power(1 + w / 100), scenario, start)),
        ("uptime", f"{up_low:g}%", f"{up_high:g}%",
         (with_site(uptime_pct=up_low), scenario, start),
         (with_site(uptime_pct=up_high), scenario, start)),
        ("pool fee", f"{fee_low:g}%", f"{fee_high:g}%",
         (with_site(pool_fee_pct=fee_low), scenario, start),
         (with_site(pool_fee_pct=fee_high), scenario, start)),
    ]  # fmt: skip


def sensitivity(
    db: Day | Store | str | Path | None,
    fleet: Fleet | str | Path,
    months: int,
    scenario: Scenario | str | Path = "base",
    *,
    runs: int = DEFAULT_RUNS,
    seed: int = DEFAULT_SEED,
    as_of: str | None = None,
) -> Sensitivity:
    """The median NPV over ``months`` as each input swings (the module's constants), the
    others as given, every variant on the same ``runs`` of ``scenario``."""
    start, fleet, scenario = read_plan_inputs(db, fleet, scenario, as_of)
    base = _npv_runs(plan_from(start, fleet, months, scenario, runs, seed))
    rows = []
    for factor, low, high, lo, hi in _variants(fleet, scenario, start):
        v_low = _npv_runs(plan_from(lo[2], lo[0], months, lo[1], runs, seed))
        v_high = _npv_runs(plan_from(hi[2], hi[0], months, hi[1], runs, seed))
        rows.append(TornadoRow(factor, low, high, v_low, v_high, abs(v_high - v_low)))
    rows.sort(key=lambda r: -r.swing_usd)
    return Sensitivity(fleet.path, scenario.name, runs, seed, months, base, rows)
