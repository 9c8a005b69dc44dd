"""Per-machine economics of a day (``minerwatch asics``): every ASIC model's revenue, power
cost, profit, breakeven electricity price and shutdown BTC price at that day's hashprice.

This module only gathers the inputs (the day's Luxor hashprice and close from the daily
metrics, the catalog cut at the day) and names the results; the arithmetic is in
:mod:`minerwatch.models.asics`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from minerwatch import params
from minerwatch.analyses.day import Day, day_of
from minerwatch.errors import NoPriceOnDay
from minerwatch.models import fleet
from minerwatch.models.asics import (
    DEFAULT_POOL_FEE_PCT,
    DEFAULT_POWER_PRICE_USD_KWH,
    DEFAULT_UPTIME_PCT,
    MachineEconomics,
    check_parameters,
    machine_economics,
)
from minerwatch.serialize import Jsonable
from minerwatch.sources.catalog import load_catalog
from minerwatch.store import Store
from minerwatch.tables import Tabular

HASHPRICE_METHOD = (
    "Luxor hashprice: (next block subsidy + mean fees per block of the day) x 86400 x 1e15 / "
    "(difficulty x 2^32)"
)


@dataclass(frozen=True)
class AsicEconomics(Jsonable, Tabular):
    """The economics of every listed ASIC model on ``as_of``, with the inputs echoed.

    ``price_usd`` (close, source ``price_source``), ``hashprice_usd_ph_day`` and
    ``hashprice_btc_ph_day`` (Luxor's, per PH/s per day) are the day's figures from
    :func:`~minerwatch.metrics.daily.compute_daily_metrics`; ``power_price_usd_kwh``,
    ``pool_fee_pct`` and ``uptime_pct`` the parameters; ``machines`` the per-model results,
    most profitable first. With ``released_only`` the models not yet launched by ``as_of``
    are left out; ``unreleased_omitted`` counts them. ``underwater_count``: the listed models
    whose power cost exceeds their revenue (set from ``machines``). ``machines_available``
    and ``machines_profitable``: the machines in service on the day (released within
    ``lifetime_years``) and those of them that cover their power at the day's hashprice and
    the pool fee, by :func:`minerwatch.models.fleet.fleet_count`, the rule ``minerwatch cost``
    counts its fleet by. ``notes`` carries loading remarks.
    """

    TABLE = "machines"  # the rows of to_pandas() and the like

    as_of: str
    price_usd: float
    price_source: str | None
    hashprice_usd_ph_day: float
    hashprice_btc_ph_day: float
    hashprice_method: str
    power_price_usd_kwh: float
    pool_fee_pct: float
    uptime_pct: float
    lifetime_years: float
    machines_available: int
    machines_profitable: int
    released_only: bool
    unreleased_omitted: int
    machines_file: str | None
    underwater_count: int = field(init=False)
    machines: MachineEconomics
    notes: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "underwater_count", int(self.machines.underwater.sum()))


def asic_economics(
    db: Day | Store | str | Path | None = None,
    as_of: str | None = None,
    *,
    power_price_usd_kwh: float = DEFAULT_POWER_PRICE_USD_KWH,
    pool_fee_pct: float = DEFAULT_POOL_FEE_PCT,
    uptime_pct: float = DEFAULT_UPTIME_PCT,
    user_file: str | Path | None = None,
    released_only: bool = True,
    lifetime_years: float = fleet.DEFAULT_LIFETIME_YEARS,
) -> AsicEconomics:
    """Economics of every ASIC model on ``as_of`` (YYYY-MM-DD; default the last stored day).

    Reads nothing after ``as_of``: the hashprice and close are that day's, and with
    ``released_only`` (the default) a model is listed only once launched (from the month
    after its release month; see :meth:`Catalog.released_by`). ``user_file`` adds the
    user's own machines (see :func:`~minerwatch.models.asics.load_catalog`).
    ``lifetime_years`` (default 5, CBECI's) is the service life behind
    ``machines_available`` (:mod:`minerwatch.models.fleet`).

    Raises :class:`InputError` for a parameter out of range (naming it), a bad machines
    file (naming file, line and column), a date outside the data, and
    :class:`~minerwatch.errors.NoPriceOnDay` for a day without a close.
    """
    check_parameters(power_price_usd_kwh, pool_fee_pct, uptime_pct)
    lifetime_years = params.LIFETIME_YEARS.check(lifetime_years, "lifetime_years")
    with day_of(db, as_of) as context:
        frame, metrics = context.frame, context.metrics
        catalog = context.catalog if user_file is None else load_catalog(user_file)
    row = len(frame) - 1
    day = frame.day[row]
    price = float(frame.price_usd[row])
    hp_usd = float(metrics.hashprice_usd_ph_day[row])
    hp_btc = float(metrics.hashprice_btc_ph_day[row])
    if not (math.isfinite(price) and math.isfinite(hp_usd) and math.isfinite(hp_btc)):
        raise NoPriceOnDay(
            f"as_of {day}: no BTC/USD close or hashprice on that day; choose a later day or "
            "import prices",
            parameter="as_of",
        )
    counted = fleet.fleet_count(
        day,
        catalog.efficiency_j_th,
        catalog.release_month,
        fleet.threshold_efficiency_j_th(hp_usd, power_price_usd_kwh, pool_fee_pct),
        lifetime_years,
    )
    omitted = 0
    if released_only:
        mask = catalog.released_by(day)
        omitted = int((~mask).sum())
        catalog = catalog.select(mask)
    result = machine_economics(
        catalog,
        hashprice_usd_ph_day=hp_usd,
        hashprice_btc_ph_day=hp_btc,
        price_usd=price,
        power_price_usd_kwh=power_price_usd_kwh,
        pool_fee_pct=pool_fee_pct,
        uptime_pct=uptime_pct,
    )
    return AsicEconomics(
        as_of=str(day),
        price_usd=price,
        price_source=str(frame.price_source[row]) or None,
        hashprice_usd_ph_day=hp_usd,
        hashprice_btc_ph_day=hp_btc,
        hashprice_method=HASHPRICE_METHOD,
        power_price_usd_kwh=float(power_price_usd_kwh),
        pool_fee_pct=float(pool_fee_pct),
        uptime_pct=float(uptime_pct),
        lifetime_years=lifetime_years,
        machines_available=int(counted.machines),
        machines_profitable=int(counted.machines_profitable),
        released_only=released_only,
        unreleased_omitted=omitted,
        machines_file=None if user_file is None else str(user_file),
        machines=result,
        notes=catalog.notes,
    )
