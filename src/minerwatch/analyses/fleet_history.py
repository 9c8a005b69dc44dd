"""A fleet's P&L day by day over a past period (``minerwatch fleet FILE --from --to``):
per day and lot the BTC a pool would have paid, its value at the day's close, the energy
and its cost, fixed costs, demand-response credits, the margin and whether the lot was
above its shutdown price; per lot and for the fleet, totals and cost per BTC.

The BTC is the pool scheme's expected value at the day's own chain data: FPPS pays the
day's mean subsidy and mean fees per block, PPS the subsidy alone, per expected
``difficulty * 2**32`` hashes at the day's mean difficulty (:mod:`minerwatch.models.fleet_pnl`):
the figure to set beside a pool statement. Reads nothing after ``--to``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from minerwatch.analyses.day import Day, day_of
from minerwatch.days import days_in_month, parse_day
from minerwatch.errors import AsOfOutOfRange, InputError, NoPriceOnDay
from minerwatch.models import fleet_pnl as pnl
from minerwatch.models.finance import loan_schedule
from minerwatch.serialize import Jsonable, json_key, write_csv
from minerwatch.sources.fleet_file import Fleet, HourlyPrices, read_fleet
from minerwatch.store import Store
from minerwatch.tables import Tabular
from minerwatch.units import SAT_PER_BTC


@dataclass(frozen=True)
class Totals:
    """Sums over a period: ``btc`` mined, ``revenue_usd`` (BTC at each day's close),
    ``energy_kwh``, ``power_cost_usd``, ``fixed_cost_usd``, ``dr_credit_usd``,
    ``margin_usd`` (revenue - power - fixed + credits), ``cash_cost_usd_per_btc`` ((power +
    fixed - credits) / BTC), ``all_in_cost_usd_per_btc`` (adding straight-line depreciation
    of what the machines cost, ``purchase_price_usd`` or else ``unit_price_usd``, over their
    life, ``depreciation_usd``, and loan interest, ``interest_usd``),
    ``days`` counted."""

    btc: float
    revenue_usd: float
    energy_kwh: float
    power_cost_usd: float
    fixed_cost_usd: float
    dr_credit_usd: float
    margin_usd: float
    depreciation_usd: float
    interest_usd: float
    cash_cost_usd_per_btc: float | None
    all_in_cost_usd_per_btc: float | None
    days: int


@dataclass(frozen=True)
class LotTotals(Totals):
    """A lot's :class:`Totals` with ``lot``, ``machines``, ``shutdown_days`` (days in
    service with the close below the lot's shutdown price), ``first_shutdown_day`` and
    ``last_shutdown_day``, ``curtailed_days`` (days the rule stopped it for some hours) and
    ``shutdown_price_usd_last`` (on the last day)."""

    lot: str = ""
    machines: int = 0
    shutdown_days: int = 0
    first_shutdown_day: str | None = None
    last_shutdown_day: str | None = None
    curtailed_days: int = 0
    shutdown_price_usd_last: float | None = None


@dataclass(frozen=True)
class FleetHistory(Jsonable, Tabular):
    """A fleet's P&L from ``from_day`` to ``to_day``: the inputs echoed, ``totals``
    (:class:`Totals`), ``lots`` (:class:`LotTotals`), ``months`` (the fleet's sums per
    calendar month), ``days`` (one object per day: the fleet's sums and the day's close and
    hashprice) and ``lot_days`` (one per day and lot, the CSV's rows)."""

    TABLE = "lot_days"

    fleet_file: str
    from_day: str = field(metadata=json_key("from"))
    to_day: str = field(metadata=json_key("to"))
    pool_scheme: str
    power_price_usd_kwh: float
    hourly_prices: str | None
    curtailment: str
    totals: Totals
    lots: list[LotTotals]
    months: list[dict[str, object]]
    days: list[dict[str, object]]
    lot_days: list[dict[str, object]]
    notes: tuple[str, ...] = ()

    def write_csv(self, path: str | Path) -> Path:
        """The per-day, per-lot rows as CSV (:func:`~minerwatch.serialize.write_csv`)."""
        return write_csv(self.lot_days, path)


def hourly_matrix(prices: HourlyPrices, days: np.ndarray) -> np.ndarray:
    """``days x 24`` prices of the hours of each day (UTC); :class:`InputError` naming the
    file and the first hour it lacks."""
    wanted = (days.astype("datetime64[h]")[:, None] + np.arange(24)).ravel()
    where = np.searchsorted(prices.hour, wanted)
    inside = where < len(prices.hour)
    found = inside & (prices.hour[np.minimum(where, len(prices.hour) - 1)] == wanted)
    if not found.all():
        missing = wanted[~found][0]
        raise InputError(
            f"no price for the hour {missing}:00 (UTC); expected every hour from {days[0]} "
            f"to {days[-1]}",
            path=prices.path,
        )
    return prices.usd_kwh[where].reshape(len(days), 24)


def _cost_per_btc(cost: float, btc: float) -> float | None:
    return cost / btc if btc > 0 else None


def _totals(parts: dict[str, np.ndarray], days: int) -> Totals:
    s = {k: float(np.sum(v)) for k, v in parts.items()}
    cash = s["power_cost_usd"] + s["fixed_cost_usd"] - s["dr_credit_usd"]
    return Totals(
        btc=s["btc"],
        revenue_usd=s["revenue_usd"],
        energy_kwh=s["energy_kwh"],
        power_cost_usd=s["power_cost_usd"],
        fixed_cost_usd=s["fixed_cost_usd"],
        dr_credit_usd=s["dr_credit_usd"],
        margin_usd=s["revenue_usd"] - cash,
        depreciation_usd=s["depreciation_usd"],
        interest_usd=s["interest_usd"],
        cash_cost_usd_per_btc=_cost_per_btc(cash, s["btc"]),
        all_in_cost_usd_per_btc=_cost_per_btc(
            cash + s["depreciation_usd"] + s["interest_usd"], s["btc"]
        ),
        days=days,
    )


def _interest_per_day(fleet: Fleet, days: np.ndarray) -> np.ndarray:
    """Loan interest spread over the days of each month (USD/day), from the loan's start
    (its start_date, else the first purchase, else the first day)."""
    loan = fleet.financing
    if loan is None:
        return np.zeros(len(days))
    purchases = [lot.purchase_date for lot in fleet.lots if lot.purchase_date]
    start = np.datetime64(loan.start_date or min(purchases, default=str(days[0])), "M")
    months = days.astype("datetime64[M]")
    index = (months - start).astype(np.int64)
    span = int(index.max()) + 1 if len(index) else 0
    _, interest = loan_schedule(loan.principal_usd, loan.rate_pct, loan.term_months, max(span, 1))
    month_days = days_in_month(months)
    return np.where(index >= 0, interest[np.clip(index, 0, None)] / month_days, 0.0)


def fleet_history(
    db: Day | Store | str | Path | None,
    fleet: Fleet | str | Path,
    from_day: str,
    to_day: str | None = None,
) -> FleetHistory:
    """The fleet's P&L from ``from_day`` to ``to_day`` (YYYY-MM-DD, both included; default
    the last day held). :class:`InputError` for a bad fleet file (file, line, key), days
    outside the data, ``from`` after ``to``, an hourly price file missing an hour;
    :class:`NoPriceOnDay` naming the first day without a close."""
    if not isinstance(fleet, Fleet):
        fleet = read_fleet(fleet)
    first = parse_day(from_day, "from_day")
    if first is None:
        raise InputError("from_day is required: the first day of the P&L", parameter="from_day")
    last = parse_day(to_day, "to_day")
    try:
        with day_of(db, last) as context:
            frame = context.frame
    except AsOfOutOfRange as exc:  # the library calls the last day as_of; here it is to_day
        raise AsOfOutOfRange(exc.reason.replace("as_of", "to_day", 1), parameter="to_day") from None
    if first > frame.day[-1]:
        raise InputError(
            f"from_day {first} is after `to_day` {frame.day[-1]}", parameter="from_day"
        )
    if first < frame.day[0]:
        raise AsOfOutOfRange(
            f"from_day {first} is before the first day held ({frame.day[0]})",
            parameter="from_day",
        )
    row0 = frame.index_of(first)
    rows = slice(row0, len(frame))
    days = frame.day[rows]
    price = frame.price_usd[rows]
    if not np.isfinite(price).all():
        raise NoPriceOnDay(
            f"{days[~np.isfinite(price)][0]}: no BTC/USD close; import prices for the period",
            parameter="from_day",
        )
    blocks = frame.blocks[rows].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        subsidy = frame.issuance_sat[rows] / blocks / SAT_PER_BTC
        fees = frame.fees_sat[rows] / blocks / SAT_PER_BTC
    site = fleet.site
    if site.pool_scheme == "pps":
        fees = np.zeros_like(fees)
    per_th = np.nan_to_num(pnl.btc_per_th_day(subsidy, fees, frame.difficulty_mean[rows]))
    lots = pnl.LotArrays.of(fleet)
    serving = lots.in_service(days, first)
    btc_full = pnl.lot_btc_day(
        per_th[:, None], lots.hashrate_ths, lots.count, site.pool_fee_pct, site.uptime_pct
    )
    kwh_full = pnl.lot_energy_kwh_day(lots.power_w, lots.count, site.overhead_pct, site.uptime_pct)
    if site.hourly is not None:
        hourly = hourly_matrix(site.hourly, days)
        ordered, sums = pnl.price_curve(hourly)
        day_price = hourly.mean(axis=1)
    else:
        ordered, sums = pnl.price_curve(np.array([site.power_price_usd_kwh]))
        day_price = np.full(len(days), site.power_price_usd_kwh)
    revenue_full = btc_full * price[:, None]
    threshold = pnl.run_threshold_usd_kwh(
        fleet.curtailment,
        revenue_full / kwh_full,
        fleet.max_power_price_usd_kwh,
        fleet.dr_credit_usd_mwh,
    )
    run_share, paid = pnl.run_on_curve(threshold, ordered, sums)
    on = serving.astype(np.float64)
    btc = btc_full * run_share * on
    energy = kwh_full * run_share * on
    power_cost = kwh_full * paid * on
    dr = kwh_full * (1.0 - run_share) * on * fleet.dr_credit_usd_mwh / 1000.0
    watts = lots.power_w * lots.count * on
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.nan_to_num(watts / watts.sum(axis=1, keepdims=True))
    per_day = site.fixed_usd_month / days_in_month(days)[:, None]  # a month's costs, by its days
    fixed = per_day * share * (watts.sum(axis=1, keepdims=True) > 0)
    depreciation = lots.paid_usd * lots.count / lots.life_days * on
    interest = _interest_per_day(fleet, days)[:, None] * share
    shutdown = pnl.shutdown_price_usd(kwh_full * day_price[:, None], btc_full)
    below = serving & (price[:, None] < shutdown)
    parts = {
        "btc": btc,
        "revenue_usd": btc * price[:, None],
        "energy_kwh": energy,
        "power_cost_usd": power_cost,
        "fixed_cost_usd": fixed,
        "dr_credit_usd": dr,
        "depreciation_usd": depreciation,
        "interest_usd": interest,
    }
    margin = parts["revenue_usd"] - power_cost - fixed + dr
    lot_totals = []
    for j, name in enumerate(lots.name):  # one summary per lot
        shut_days = days[below[:, j]]
        lot_totals.append(
            LotTotals(
                **vars(_totals({k: v[:, j] for k, v in parts.items()}, int(serving[:, j].sum()))),
                lot=str(name),
                machines=int(lots.count[j]),
                shutdown_days=int(below[:, j].sum()),
                first_shutdown_day=str(shut_days[0]) if len(shut_days) else None,
                last_shutdown_day=str(shut_days[-1]) if len(shut_days) else None,
                curtailed_days=int(((run_share[:, j] < 1) & serving[:, j]).sum()),
                shutdown_price_usd_last=float(shutdown[-1, j]),
            )
        )
    hashprice = per_th * 1000.0 * price
    day_rows = [
        {
            "day": str(d),
            "price_usd": float(price[i]),
            "hashprice_usd_ph_day": float(hashprice[i]),
            "btc": float(btc[i].sum()),
            "revenue_usd": float(parts["revenue_usd"][i].sum()),
            "power_cost_usd": float(power_cost[i].sum()),
            "fixed_cost_usd": float(fixed[i].sum()),
            "dr_credit_usd": float(dr[i].sum()),
            "margin_usd": float(margin[i].sum()),
            "lots_above_shutdown": int((serving[i] & ~below[i]).sum()),
        }
        for i, d in enumerate(days)
    ]
    lot_rows = [
        {
            "day": str(days[i]),
            "lot": str(lots.name[j]),
            "in_service": bool(serving[i, j]),
            "btc": float(btc[i, j]),
            "revenue_usd": float(parts["revenue_usd"][i, j]),
            "energy_kwh": float(energy[i, j]),
            "power_cost_usd": float(power_cost[i, j]),
            "fixed_cost_usd": float(fixed[i, j]),
            "dr_credit_usd": float(dr[i, j]),
            "margin_usd": float(margin[i, j]),
            "run_share": float(run_share[i, j]),
            "shutdown_price_usd": float(shutdown[i, j]),
            "above_shutdown": bool(serving[i, j] and not below[i, j]),
        }
        for i in range(len(days))
        for j in range(len(lots.name))
    ]
    month_of = days.astype("datetime64[M]")
    firsts = np.flatnonzero(np.r_[True, month_of[1:] != month_of[:-1]])
    month_sums = {
        key: np.add.reduceat(value.sum(axis=1), firsts)
        for key, value in (
            ("btc", btc),
            ("revenue_usd", parts["revenue_usd"]),
            ("power_cost_usd", power_cost),
            ("fixed_cost_usd", fixed),
            ("dr_credit_usd", dr),
            ("margin_usd", margin),
        )
    }
    month_rows = [
        {"month": str(month_of[f]), **{k: float(v[i]) for k, v in month_sums.items()}}
        for i, f in enumerate(firsts)
    ]
    notes = lots.launch_notes(days[0], days[-1])
    if frame.provisional[rows].any():
        notes.append("the last days are provisional (blocks within 6 of the tip or today)")
    return FleetHistory(
        fleet_file=fleet.path,
        from_day=str(days[0]),
        to_day=str(days[-1]),
        pool_scheme=site.pool_scheme,
        power_price_usd_kwh=site.power_price_usd_kwh,
        hourly_prices=site.hourly.path if site.hourly else None,
        curtailment=fleet.curtailment,
        totals=_totals(parts, len(days)),
        lots=lot_totals,
        months=month_rows,
        days=day_rows,
        lot_days=lot_rows,
        notes=tuple(notes),
    )
