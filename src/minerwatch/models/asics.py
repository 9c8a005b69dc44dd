"""ASIC catalog and per-machine economics: revenue, power cost, breakeven electricity price
and shutdown BTC price of each SHA-256 mining machine.

The catalog ships with the package (``asics.csv``, one row per model; see ``docs/asics.md``
for its columns, the release-month convention and the sources) and a user may add their own
machines from a CSV of the same columns. The economics are pure, vectorised functions: each
argument may be a scalar or an array (per machine and/or per day) and broadcasts like NumPy.

Units are in the names: hashprice in USD or BTC per PH/s per day (Luxor's unit), hashrate in
TH/s, power in W, efficiency in J/TH (= W per TH/s), electricity in USD/kWh, money per day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import params
from ..jsonable import num
from ..sources.table import Table, parse_float, read_csv
from ..units import HOURS_PER_DAY, KWH_PER_W_DAY, THS_PER_PHS, W_PER_KW

# Defaults, each with its source.
# Electricity price: the Cambridge Bitcoin Electricity Consumption Index (CBECI) assumes
# miners pay on average 0.05 USD/kWh (CCAF, CBECI methodology).
DEFAULT_POWER_PRICE_USD_KWH = 0.05
# Pool fee: the usual full-pay-per-share (FPPS) fee of the large pools is 2% or a little
# more (e.g. Foundry USA, AntPool, ViaBTC FPPS schedules).
DEFAULT_POOL_FEE_PCT = 2.0
# Uptime: share of the day a machine hashes (curtailment, maintenance, failures); 97% is a
# common planning figure of hosting contracts. It scales revenue and power cost alike.
DEFAULT_UPTIME_PCT = 97.0


COOLING = ("air", "hydro", "immersion")
CATALOG_COLUMNS = (
    "model",
    "vendor",
    "hashrate_ths",
    "power_w",
    "efficiency_j_th",
    "release_month",
    "cooling",
    "source",
)
REQUIRED_USER_COLUMNS = ("model", "hashrate_ths", "power_w")
OPTIONAL_USER_COLUMNS = ("vendor", "efficiency_j_th", "release_month", "cooling", "source")
# Empty cells of a user row that replaces a catalog model are taken from that model. (The
# efficiency is always the user's power / hashrate; an empty source names the user's file.)
FILLED_FROM_CATALOG = ("vendor", "release_month", "cooling")
# A stated efficiency must agree with power_w / hashrate_ths to this relative tolerance (the
# file rounds it; the catalog keeps the exact quotient).
EFFICIENCY_REL_TOLERANCE = 0.01
EARLIEST_RELEASE_MONTH = np.datetime64("2009-01", "M")
PACKAGED_CATALOG = "asics.csv"
_MONTH_FORM = re.compile(r"^\d{4}-\d{2}$")


@dataclass(frozen=True)
class Catalog:
    """ASIC models, one entry per model in each array (all of equal length).

    Attributes:
        model: model name (object array of str), unique ignoring case.
        vendor: manufacturer (object array of str; "" where a user row gives none).
        hashrate_ths: nameplate hashrate, TH/s (float64).
        power_w: nameplate power at the wall, W (float64).
        efficiency_j_th: ``power_w / hashrate_ths``, J/TH (float64).
        release_month: month the manufacturer launched the model (``datetime64[M]``; NaT for
            a user's machine without one). See ``docs/asics.md`` for the convention.
        cooling: "air", "hydro" or "immersion" (object array).
        source: where the row's release month and specifications come from (object array).
        notes: remarks from loading (for example a user row replacing a catalog model).
    """

    model: np.ndarray
    vendor: np.ndarray
    hashrate_ths: np.ndarray
    power_w: np.ndarray
    efficiency_j_th: np.ndarray
    release_month: np.ndarray
    cooling: np.ndarray
    source: np.ndarray
    notes: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.model)

    def released_by(self, day) -> np.ndarray:
        """Boolean mask of the models launched by ``day`` (a date or ``datetime64``).

        Release months have month resolution, so to never list a machine before its launch
        a model counts as released from the first day of the month *after* its release
        month (the S21, launched 2023-09, is listed from 2023-10-01). A model without a
        release month (a user's own machine) is always released.
        """
        month = np.datetime64(np.datetime64(day, "D"), "M")
        return np.isnat(self.release_month) | (self.release_month < month)

    def select(self, mask) -> Catalog:
        """The models where ``mask`` is true (or at the given indices), in that order."""
        return Catalog(
            model=self.model[mask],
            vendor=self.vendor[mask],
            hashrate_ths=self.hashrate_ths[mask],
            power_w=self.power_w[mask],
            efficiency_j_th=self.efficiency_j_th[mask],
            release_month=self.release_month[mask],
            cooling=self.cooling[mask],
            source=self.source[mask],
            notes=self.notes,
        )

    def rows(self) -> list[dict]:
        """One JSON-ready dict per model (release month as ``YYYY-MM`` or None)."""
        return [
            {
                "model": str(self.model[i]),
                "vendor": str(self.vendor[i]),
                "hashrate_ths": float(self.hashrate_ths[i]),
                "power_w": float(self.power_w[i]),
                "efficiency_j_th": float(self.efficiency_j_th[i]),
                "release_month": _month_text(self.release_month[i]),
                "cooling": str(self.cooling[i]),
                "source": str(self.source[i]),
            }
            for i in range(len(self))
        ]


def _month_text(month: np.datetime64) -> str | None:
    return None if np.isnat(month) else str(month)


def _text_column(table: Table, column: str, default: str) -> tuple[np.ndarray, np.ndarray]:
    """The column's cells as str (``default`` where absent), and the mask of empty cells."""
    if not table.has(column):
        return np.full(len(table), default, dtype=object), np.ones(len(table), bool)
    cells = table.columns[column].astype(str)
    empty = np.char.str_len(cells) == 0 if len(cells) else np.zeros(0, bool)
    return np.where(empty, default, cells).astype(object), empty


def _parse_release_month(table: Table, *, required: bool) -> np.ndarray:
    """``release_month`` cells ``YYYY-MM`` to ``datetime64[M]``; NaT for empty cells where
    allowed. Months before 2009-01 are refused."""
    expected = "a month YYYY-MM"
    if not table.has("release_month"):
        return np.full(len(table), np.datetime64("NaT", "M"))
    cells = table.columns["release_month"].astype(str)
    out = np.full(len(cells), np.datetime64("NaT", "M"))
    for i, cell in enumerate(cells):  # a catalog holds tens of rows
        if cell == "":
            if required:
                raise table.error(i, "release_month", f"empty cell; expected {expected}")
            continue
        try:
            if not _MONTH_FORM.match(cell):
                raise ValueError
            out[i] = np.datetime64(cell, "M")
        except ValueError:
            raise table.error(i, "release_month", f"{cell!r} is not {expected}") from None
        if out[i] < EARLIEST_RELEASE_MONTH:
            raise table.error(
                i, "release_month", f"{cell!r} is out of range; expected {expected} >= 2009-01"
            )
    return out


def _parse_machines(table: Table, *, packaged: bool) -> tuple[Catalog, dict[str, np.ndarray]]:
    """Validate a table of machines (the packaged catalog or a user file) into a Catalog,
    with the masks of the empty optional cells (``vendor``, ``release_month``, ``cooling``,
    ``source``) that took a default.

    The packaged file must fill every column; a user file needs only model, hashrate_ths
    and power_w.
    """
    model, empty_model = _text_column(table, "model", "")
    if empty_model.any():
        raise table.error(int(np.flatnonzero(empty_model)[0]), "model", "empty model name")
    key = np.char.lower(model.astype(str))
    order = np.argsort(key, kind="stable")
    dup = np.flatnonzero(key[order][1:] == key[order][:-1])
    if dup.size:
        first, second = int(order[dup[0]]), int(order[dup[0] + 1])
        raise table.error(
            second,
            "model",
            f"duplicate model {model[second]!r} (also on line {int(table.lines[first])}); "
            "expected one row per model",
        )
    hashrate = parse_float(
        table, "hashrate_ths", minimum=0.0, exclusive_minimum=True, expected="TH/s > 0"
    )
    power = parse_float(table, "power_w", minimum=0.0, exclusive_minimum=True, expected="W > 0")
    efficiency = power / hashrate
    if table.has("efficiency_j_th"):
        stated = parse_float(
            table,
            "efficiency_j_th",
            allow_empty=not packaged,
            minimum=0.0,
            exclusive_minimum=True,
            expected="J/TH > 0",
        )
        off = np.abs(stated / efficiency - 1.0) > EFFICIENCY_REL_TOLERANCE  # NaN (empty) -> False
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise table.error(
                i,
                "efficiency_j_th",
                f"{stated[i]:g} J/TH does not match power_w / hashrate_ths = "
                f"{efficiency[i]:.2f} J/TH (tolerance {EFFICIENCY_REL_TOLERANCE:.0%}); "
                "correct it or leave the cell empty",
            )
    release_month = _parse_release_month(table, required=packaged)
    cooling, empty_cooling = _text_column(table, "cooling", "air")
    cooling = np.char.lower(cooling.astype(str)).astype(object)
    bad = ~np.isin(cooling, COOLING)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise table.error(i, "cooling", f"{cooling[i]!r} is not one of {', '.join(COOLING)}")
    vendor, empty_vendor = _text_column(table, "vendor", "")
    source, empty_source = _text_column(table, "source", f"user file {table.origin}")
    if packaged:
        for name, empty in (("vendor", empty_vendor), ("source", empty_source)):
            if empty.any():
                raise table.error(int(np.flatnonzero(empty)[0]), name, f"empty {name}")
    catalog = Catalog(
        model=model,
        vendor=vendor,
        hashrate_ths=hashrate,
        power_w=power,
        efficiency_j_th=efficiency,
        release_month=release_month,
        cooling=cooling,
        source=source,
        notes=tuple(table.notes),
    )
    empty = {
        "vendor": empty_vendor,
        "release_month": np.isnat(release_month),
        "cooling": empty_cooling,
        "source": empty_source,
    }
    return catalog, empty


def read_machines(path: str | Path) -> Catalog:
    """Read a user's CSV of machines: ``model,hashrate_ths,power_w`` and optionally
    ``vendor,efficiency_j_th,release_month,cooling,source``.

    Every error is an :class:`InputError` naming the file, line and column: an empty or
    duplicate model name, a hashrate or power that is not a number > 0, an efficiency that
    disagrees with ``power_w / hashrate_ths`` by more than 1%, a release month not
    ``YYYY-MM`` or before 2009-01, a cooling other than air, hydro or immersion. Empty
    optional cells take defaults: efficiency computed, cooling ``air``, no release month
    (always listed), vendor empty, source naming the file.
    """
    return _read_user(path)[0]


def _read_user(path: str | Path) -> tuple[Catalog, dict[str, np.ndarray]]:
    table = read_csv(path, list(REQUIRED_USER_COLUMNS), optional=list(OPTIONAL_USER_COLUMNS))
    return _parse_machines(table, packaged=False)


def _read_packaged() -> Catalog:
    from importlib import resources  # here, not at import: the CLI's start-up is timed

    ref = resources.files(__package__).joinpath(PACKAGED_CATALOG)
    with resources.as_file(ref) as path:
        table = read_csv(path, list(CATALOG_COLUMNS))
        return _parse_machines(table, packaged=True)[0]


def _concat(a: Catalog, b: Catalog, notes: list[str]) -> Catalog:
    return Catalog(
        **{name: np.concatenate([getattr(a, name), getattr(b, name)]) for name in CATALOG_COLUMNS},
        notes=tuple(notes),
    )


def load_catalog(user_file: str | Path | None = None) -> Catalog:
    """The packaged ASIC catalog, plus the machines of ``user_file`` when given.

    A user row whose model name equals a catalog model (ignoring case) replaces that model
    in place, and ``notes`` says so; its empty optional cells (vendor, release month,
    cooling) are filled from the catalog row it replaces, so a replaced model keeps its
    release month and the ``as_of`` cut, and ``source`` says which cells came from the
    catalog. Other user rows are appended. Errors in the user file are :class:`InputError`
    naming its file, line and column (see :func:`read_machines`).
    """
    catalog = _read_packaged()
    if user_file is None:
        return catalog
    user, empty = _read_user(user_file)
    notes = list(catalog.notes) + list(user.notes)
    index = {str(m).lower(): i for i, m in enumerate(catalog.model)}
    replace = np.array([str(m).lower() in index for m in user.model], bool)
    if replace.any():
        arrays = {name: getattr(catalog, name).copy() for name in CATALOG_COLUMNS}
        for u in np.flatnonzero(replace):
            t = index[str(user.model[u]).lower()]
            filled = [c for c in FILLED_FROM_CATALOG if empty[c][u]]
            for name in CATALOG_COLUMNS:
                if name not in filled and name != "source":
                    arrays[name][t] = getattr(user, name)[u]
            source = str(user.source[u])
            if filled:
                source += f"; {', '.join(filled)} from the catalog row ({catalog.source[t]})"
            arrays["source"][t] = source
            note = f"{user_file}: {user.model[u]!r} replaces the catalog model {catalog.model[t]!r}"
            if filled:
                note += f" (empty {', '.join(filled)} taken from the catalog)"
            notes.append(note)
        catalog = Catalog(**arrays)
    return _concat(catalog, user.select(~replace), notes)


def check_parameters(power_price_usd_kwh: float, pool_fee_pct: float, uptime_pct: float) -> None:
    """:class:`InputError` naming the parameter when one is out of range (the ranges of
    :mod:`minerwatch.params`: power price > 0 and < 10 USD/kWh, pool fee 0..100 %, uptime in
    (0, 100] %). Non-finite values are refused."""
    params.ELECTRICITY_PRICE_USD_KWH.check(power_price_usd_kwh, "power_price_usd_kwh")
    params.POOL_FEE_PCT.check(pool_fee_pct, "pool_fee_pct")
    params.UPTIME_PCT.check(uptime_pct, "uptime_pct")


def _fraction(pct) -> np.ndarray:
    return np.asarray(pct, np.float64) / 100.0


def revenue_usd_day(
    hashprice_usd_ph_day,
    hashrate_ths,
    pool_fee_pct=DEFAULT_POOL_FEE_PCT,
    uptime_pct=DEFAULT_UPTIME_PCT,
) -> np.ndarray:
    """Expected daily revenue of a machine after the pool fee, USD/day.

    ``revenue = hashprice / 1000 * TH/s * (1 - fee/100) * uptime/100``

    Parameters
    ----------
    hashprice_usd_ph_day : array_like
        Hashprice, USD per PH/s per day (1 PH/s = 1000 TH/s).
    hashrate_ths : array_like
        Machine hashrate, TH/s.
    pool_fee_pct : array_like, default 2.0
        Pool fee, percent of revenue (typical FPPS fee).
    uptime_pct : array_like, default 97.0
        Share of the day the machine hashes, percent.

    Returns
    -------
    numpy.ndarray
        Revenue, USD per day (broadcast shape of the arguments).

    References
    ----------
    Luxor Technology, *Hashrate Index: hashprice* (definition of hashprice per PH/s per day).
    """
    return (
        np.asarray(hashprice_usd_ph_day, np.float64)
        / THS_PER_PHS
        * np.asarray(hashrate_ths, np.float64)
        * (1.0 - _fraction(pool_fee_pct))
        * _fraction(uptime_pct)
    )


def power_cost_usd_day(power_w, power_price_usd_kwh, uptime_pct=DEFAULT_UPTIME_PCT) -> np.ndarray:
    """Daily electricity cost of a machine, USD/day.

    ``cost = W / 1000 * 24 h * price * uptime/100``

    Parameters
    ----------
    power_w : array_like
        Power drawn at the wall, W.
    power_price_usd_kwh : array_like
        Electricity price, USD/kWh.
    uptime_pct : array_like, default 97.0
        Share of the day the machine runs, percent (idle machines are assumed off).

    Returns
    -------
    numpy.ndarray
        Power cost, USD per day.

    References
    ----------
    Definition (energy = power x time); CBECI methodology for the 0.05 USD/kWh default.
    """
    return (
        np.asarray(power_w, np.float64)
        / W_PER_KW
        * HOURS_PER_DAY
        * np.asarray(power_price_usd_kwh, np.float64)
        * _fraction(uptime_pct)
    )


def breakeven_power_price_usd_kwh(
    hashprice_usd_ph_day, efficiency_j_th, pool_fee_pct=DEFAULT_POOL_FEE_PCT
) -> np.ndarray:
    """Electricity price at which a machine's revenue equals its power cost, USD/kWh.

    ``c = hashprice / 1000 * (1 - fee/100) / (J/TH * 0.024)``

    One TH/s of a machine of ``e`` J/TH draws ``e * 0.024`` kWh a day and earns
    ``hashprice / 1000`` USD a day before the fee. Uptime scales revenue and power cost
    alike, so it cancels and is not a parameter; the pool fee reduces revenue only, so it
    lowers the breakeven price (with ``pool_fee_pct=0`` this is design.md's
    ``hashprice_USD_per_TH_day / (J_per_TH * 0.024)``).

    Parameters
    ----------
    hashprice_usd_ph_day : array_like
        Hashprice, USD per PH/s per day.
    efficiency_j_th : array_like
        Machine efficiency, J/TH (W per TH/s).
    pool_fee_pct : array_like, default 2.0
        Pool fee, percent of revenue.

    Returns
    -------
    numpy.ndarray
        Breakeven electricity price, USD/kWh. Below it the machine makes money.

    References
    ----------
    Luxor Technology, *Hashrate Index* (hashprice); Cambridge Bitcoin Electricity
    Consumption Index methodology (profitability threshold of a machine at a given
    electricity price).
    """
    return (
        np.asarray(hashprice_usd_ph_day, np.float64)
        / THS_PER_PHS
        * (1.0 - _fraction(pool_fee_pct))
        / (np.asarray(efficiency_j_th, np.float64) * KWH_PER_W_DAY)
    )


def shutdown_price_usd(
    hashprice_btc_ph_day,
    efficiency_j_th,
    power_price_usd_kwh=DEFAULT_POWER_PRICE_USD_KWH,
    pool_fee_pct=DEFAULT_POOL_FEE_PCT,
) -> np.ndarray:
    """BTC price at which a machine's revenue equals its power cost, USD per BTC.

    ``P = c * e * 0.024 / (hashprice_btc / 1000 * (1 - fee/100))``

    The hashprice in BTC depends on difficulty, subsidy and fees but not on the price, so
    revenue in USD is proportional to the price and this ``P`` is where it meets the power
    cost. Uptime cancels as in :func:`breakeven_power_price_usd_kwh`. With no fee this is
    Hayes' marginal cost ``c * e * D * 2**32 / (reward * 3.6e18)``, since
    ``hashprice_btc / 1000 = reward * 86400 * 1e12 / (D * 2**32)`` BTC per TH/s per day.

    Parameters
    ----------
    hashprice_btc_ph_day : array_like
        Hashprice, BTC per PH/s per day.
    efficiency_j_th : array_like
        Machine efficiency, J/TH.
    power_price_usd_kwh : array_like, default 0.05
        Electricity price, USD/kWh.
    pool_fee_pct : array_like, default 2.0
        Pool fee, percent of revenue.

    Returns
    -------
    numpy.ndarray
        Shutdown price, USD per BTC. Below it the machine loses money on power alone.

    References
    ----------
    A. Hayes (2017), *Cryptocurrency value formation: an empirical study leading to a cost
    of production model for valuing bitcoin*, Telematics and Informatics 34(7).
    """
    return (
        np.asarray(power_price_usd_kwh, np.float64)
        * np.asarray(efficiency_j_th, np.float64)
        * KWH_PER_W_DAY
        / (
            np.asarray(hashprice_btc_ph_day, np.float64)
            / THS_PER_PHS
            * (1.0 - _fraction(pool_fee_pct))
        )
    )


@dataclass(frozen=True)
class MachineEconomics:
    """Per-model economics at one day's hashprice, sorted by profit (highest first).

    Arrays of equal length: ``model``, ``vendor``, ``cooling`` (object), ``hashrate_ths``,
    ``power_w``, ``efficiency_j_th``, ``release_month`` (as in :class:`Catalog`),
    ``revenue_usd_day``, ``power_cost_usd_day``, ``profit_usd_day`` (revenue - power cost,
    USD/day), ``breakeven_power_price_usd_kwh`` (USD/kWh), ``shutdown_price_usd`` (USD/BTC),
    ``underwater`` (bool: power cost exceeds revenue), ``price_above_shutdown_pct``
    (``100 * (price_usd / shutdown_price_usd - 1)``: how far the BTC price may fall, in
    percent, before the model stops covering its power). ``price_usd`` echoes the BTC close
    the figures were computed at.
    """

    price_usd: float
    model: np.ndarray
    vendor: np.ndarray
    cooling: np.ndarray
    hashrate_ths: np.ndarray
    power_w: np.ndarray
    efficiency_j_th: np.ndarray
    release_month: np.ndarray
    revenue_usd_day: np.ndarray
    power_cost_usd_day: np.ndarray
    profit_usd_day: np.ndarray
    breakeven_power_price_usd_kwh: np.ndarray
    shutdown_price_usd: np.ndarray
    underwater: np.ndarray
    price_above_shutdown_pct: np.ndarray

    def __len__(self) -> int:
        return len(self.model)

    def rows(self) -> list[dict]:
        """One JSON-ready dict per model, in profit order (non-finite numbers as None)."""
        return [
            {
                "model": str(self.model[i]),
                "vendor": str(self.vendor[i]),
                "cooling": str(self.cooling[i]),
                "hashrate_ths": float(self.hashrate_ths[i]),
                "power_w": float(self.power_w[i]),
                "efficiency_j_th": float(self.efficiency_j_th[i]),
                "release_month": _month_text(self.release_month[i]),
                "revenue_usd_day": num(self.revenue_usd_day[i]),
                "power_cost_usd_day": num(self.power_cost_usd_day[i]),
                "profit_usd_day": num(self.profit_usd_day[i]),
                "breakeven_power_price_usd_kwh": num(self.breakeven_power_price_usd_kwh[i]),
                "shutdown_price_usd": num(self.shutdown_price_usd[i]),
                "underwater": bool(self.underwater[i]),
                "price_above_shutdown_pct": num(self.price_above_shutdown_pct[i]),
            }
            for i in range(len(self))
        ]


def machine_economics(
    catalog: Catalog,
    *,
    hashprice_usd_ph_day: float,
    hashprice_btc_ph_day: float,
    price_usd: float,
    power_price_usd_kwh: float = DEFAULT_POWER_PRICE_USD_KWH,
    pool_fee_pct: float = DEFAULT_POOL_FEE_PCT,
    uptime_pct: float = DEFAULT_UPTIME_PCT,
) -> MachineEconomics:
    """Revenue, power cost, profit, breakeven electricity price and shutdown BTC price of
    every model of ``catalog`` at one day's hashprice; sorted by profit, highest first.

    ``price_usd`` is the day's BTC close, used for ``price_above_shutdown_pct``. A model is
    underwater when its power cost exceeds its revenue; for a consistent day
    (``hashprice_usd_ph_day == hashprice_btc_ph_day * price_usd``) that is exactly when
    ``price_usd`` is below its shutdown price.

    Raises :class:`InputError` naming the parameter when the power price, pool fee or uptime
    is out of range (see :func:`check_parameters`).
    """
    check_parameters(power_price_usd_kwh, pool_fee_pct, uptime_pct)
    revenue = revenue_usd_day(hashprice_usd_ph_day, catalog.hashrate_ths, pool_fee_pct, uptime_pct)
    cost = power_cost_usd_day(catalog.power_w, power_price_usd_kwh, uptime_pct)
    profit = revenue - cost
    breakeven = breakeven_power_price_usd_kwh(
        hashprice_usd_ph_day, catalog.efficiency_j_th, pool_fee_pct
    )
    shutdown = shutdown_price_usd(
        hashprice_btc_ph_day, catalog.efficiency_j_th, power_price_usd_kwh, pool_fee_pct
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        above_shutdown = 100.0 * (float(price_usd) / shutdown - 1.0)
    order = np.argsort(-profit, kind="stable")
    return MachineEconomics(
        price_usd=float(price_usd),
        model=catalog.model[order],
        vendor=catalog.vendor[order],
        cooling=catalog.cooling[order],
        hashrate_ths=catalog.hashrate_ths[order],
        power_w=catalog.power_w[order],
        efficiency_j_th=catalog.efficiency_j_th[order],
        release_month=catalog.release_month[order],
        revenue_usd_day=revenue[order],
        power_cost_usd_day=cost[order],
        profit_usd_day=profit[order],
        breakeven_power_price_usd_kwh=breakeven[order],
        shutdown_price_usd=shutdown[order],
        underwater=(profit < 0)[order],
        price_above_shutdown_pct=above_shutdown[order],
    )
