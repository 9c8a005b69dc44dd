"""The operator's fleet file (TOML): the site, its lots of machines, financing, resale
values, a curtailment rule and demand-response credits. ``docs/fleet.md`` has a full
example; :func:`read_fleet` reads one into a :class:`Fleet`.

A lot names a catalog model (:mod:`minerwatch.sources.catalog`, matched ignoring case) or
gives ``hashrate_ths`` and ``power_w`` itself; both may be given to override a catalog
model's nameplate (an underclocked or overclocked fleet). An hourly power price file
(``power_prices = "hourly.csv"``, columns ``time,usd_kwh``, times in UTC) is read relative
to the fleet file's folder.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minerwatch.errors import InputError
from minerwatch.sources.catalog import Catalog, load_catalog
from minerwatch.sources.table import parse_float, read_csv
from minerwatch.sources.toml_file import Section, TomlFile, parse_toml, read_toml

POOL_SCHEMES = ("fpps", "pps")
#: The most machines a lot may hold (the whole network is a few million machines).
MAX_MACHINES = 10_000_000
#: Hourly prices accepted, USD/kWh: at least -10 (wholesale prices go negative when the
#: grid has too much power) and below 10.
HOURLY_PRICE_RANGE_USD_KWH = (-10.0, 10.0)
_HOUR = re.compile(
    r"^(?P<local>\d{4}-\d{2}-\d{2}[T ]\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)"
    r"(?P<zone>Z|(?P<sign>[+-])(?P<hh>\d{2}):?(?P<mm>\d{2}))?$"
)
CURTAILMENT_RULES = ("none", "economic", "price-cap")

# Defaults, each with its source (docs/fleet.md repeats them).
#: A common planning uptime of hosting contracts (as :mod:`minerwatch.models.asics`).
DEFAULT_UPTIME_PCT = 97.0
#: The usual FPPS fee of the large pools (as :mod:`minerwatch.models.asics`).
DEFAULT_POOL_FEE_PCT = 2.0
#: Cooling and power conversion on top of the machines' nameplate watts: air-cooled sites
#: run at a PUE of about 1.05-1.10 (CBECI's lower and best-guess overheads are 1.01 and
#: 1.10); 0 unless the file says.
DEFAULT_OVERHEAD_PCT = 0.0
#: Service life of a machine, years (CBECI's five years, as ``minerwatch asics``).
DEFAULT_LIFE_YEARS = 5.0
#: Annual discount rate for NPV: the operator's cost of capital; 10% is a common hurdle
#: rate for the sector's project finance, to be set by each user.
DEFAULT_DISCOUNT_RATE_PCT = 10.0


@dataclass(frozen=True)
class Lot:
    """One lot of identical machines: ``name`` (the model unless given), ``model`` (the
    catalog name or None), ``count``, nameplate ``hashrate_ths`` and ``power_w`` per
    machine, ``unit_price_usd`` (capex per machine, 0 when not given: for machines owned
    already, what they fetch today), ``purchase_price_usd`` (what each cost when bought, for
    the history's depreciation; default ``unit_price_usd``), ``purchase_date``
    (YYYY-MM-DD or None: in service throughout, from the model's launch), ``life_years``
    and ``release_month`` (YYYY-MM, the catalog model's launch month; None for a machine
    given by its figures or a catalog row without one)."""

    name: str
    model: str | None
    count: int
    hashrate_ths: float
    power_w: float
    unit_price_usd: float
    purchase_date: str | None
    life_years: float
    release_month: str | None = None
    purchase_price_usd: float | None = None

    @property
    def paid_usd(self) -> float:
        """What each machine cost when bought (``purchase_price_usd``, else the unit price)."""
        return self.unit_price_usd if self.purchase_price_usd is None else self.purchase_price_usd

    @property
    def efficiency_j_th(self) -> float:
        return self.power_w / self.hashrate_ths


@dataclass(frozen=True)
class Financing:
    """A loan: ``principal_usd`` drawn at the plan's start (or ``start_date``), repaid as
    an annuity over ``term_months`` at ``rate_pct`` a year (monthly compounding)."""

    principal_usd: float
    rate_pct: float
    term_months: int
    start_date: str | None


@dataclass(frozen=True)
class HourlyPrices:
    """Hourly electricity prices: ``hour`` (``datetime64[h]``, UTC, ascending, unique) and
    ``usd_kwh``; ``path`` the file they came from."""

    path: str
    hour: np.ndarray
    usd_kwh: np.ndarray


@dataclass(frozen=True)
class Site:
    """The site: a flat ``power_price_usd_kwh`` or ``hourly`` prices (then
    ``power_price_usd_kwh`` is their mean), ``uptime_pct``, ``pool_fee_pct``,
    ``pool_scheme`` (fpps: subsidy and fees; pps: subsidy only), ``overhead_pct``,
    ``fixed_usd_month``, ``discount_rate_pct`` (annual, for NPV)."""

    power_price_usd_kwh: float
    hourly: HourlyPrices | None
    uptime_pct: float
    pool_fee_pct: float
    pool_scheme: str
    overhead_pct: float
    fixed_usd_month: float
    discount_rate_pct: float


@dataclass(frozen=True)
class Fleet:
    """A fleet file: ``site``, ``lots``, ``financing`` (or None), ``resale_curve`` (pairs
    of machine age in months and resale value in percent of the unit price, ascending ages;
    None: no resale value), ``curtailment`` (``none``, ``economic``: off whenever revenue is
    below the power cost; ``price-cap``: off when power costs more than
    ``max_power_price_usd_kwh``), ``dr_credit_usd_mwh`` (paid per MWh not drawn while
    curtailed) and ``path``."""

    path: str
    site: Site
    lots: tuple[Lot, ...]
    financing: Financing | None
    resale_curve: tuple[tuple[float, float], ...] | None
    curtailment: str
    max_power_price_usd_kwh: float | None
    dr_credit_usd_mwh: float

    @property
    def capex_usd(self) -> float:
        return float(sum(lot.count * lot.unit_price_usd for lot in self.lots))


def read_hourly_prices(path: str | Path) -> HourlyPrices:
    """An hourly price CSV (``time``: the start of an hour, ``YYYY-MM-DDTHH:00[:00]`` in
    UTC with an optional ``Z``, or with an offset ``+01:00`` / ``-0600`` as market data
    gives local hours, converted to UTC; a space may stand for the ``T``; ``usd_kwh``);
    each an :class:`InputError` naming file and line: a time that is not such an hour (a
    date alone, minutes or seconds past the hour, in UTC after its offset), a repeated
    hour, hours out of order, a price that is not a number >= -10 and < 10 USD/kWh."""
    table = read_csv(path, ("time", "usd_kwh"))
    cells = table.columns["time"].astype(str)

    def bad(i: int, why: str = "") -> InputError:
        return InputError(
            f"time {str(cells[i])!r}: expected an hour YYYY-MM-DDTHH:00 (its start) in UTC "
            f"or with its offset (+01:00){why}",
            path=str(path),
            line=int(table.lines[i]),
            column="time",
        )

    found = [_HOUR.match(str(cell)) for cell in np.char.strip(cells)]  # the form only
    for i, match in enumerate(found):
        if match is None:
            raise bad(i)
    local = np.array([m["local"].replace(" ", "T") for m in found if m is not None])
    offset_min = np.array(
        [
            0
            if m is None or not m["sign"]
            else (1 if m["sign"] == "+" else -1) * (60 * int(m["hh"]) + int(m["mm"]))
            for m in found
        ],
        np.int64,
    )
    try:
        stamps = local.astype("datetime64[us]")
    except ValueError:
        for i, cell in enumerate(local):  # only to name the first bad row
            try:
                np.datetime64(cell, "us")
            except ValueError:
                raise bad(i) from None
        raise
    stamps = stamps - offset_min.astype("timedelta64[m]")
    off_hour = np.isnat(stamps) | (stamps != stamps.astype("datetime64[h]"))
    if off_hour.any():
        i = int(np.flatnonzero(off_hour)[0])
        raise bad(i, "; in UTC it falls off the hour" if offset_min[i] % 60 else "")
    hours = stamps.astype("datetime64[h]")
    steps = np.diff(hours).astype(np.int64)
    if (steps <= 0).any():
        i = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise InputError(
            f"time {str(cells[i])!r} repeats or goes back; expected hours in ascending order",
            path=str(path),
            line=int(table.lines[i]),
            column="time",
        )
    low, high = HOURLY_PRICE_RANGE_USD_KWH
    prices = parse_float(table, "usd_kwh", minimum=low, maximum=high)
    if (prices >= high).any():
        i = int(np.flatnonzero(prices >= high)[0])
        raise InputError(
            f"usd_kwh {prices[i]:g}: expected a price >= {low:g} and < {high:g} USD/kWh",
            path=str(path),
            line=int(table.lines[i]),
            column="usd_kwh",
        )
    return HourlyPrices(str(path), hours, prices)


def _site(root: Section, fleet_dir: Path | None) -> Site:
    section = root.table("site")
    if section is None:
        raise root.error(None, "missing table [site]; expected the site's power price and pool")
    hourly = None
    if section.has("power_prices"):
        if section.has("power_price_usd_kwh"):
            raise section.error(
                "power_prices", "give power_price_usd_kwh or power_prices, not both"
            )
        name = section.text("power_prices")
        if fleet_dir is None:
            raise section.error(
                "power_prices",
                "a pasted fleet file cannot name an hourly price file; give "
                "power_price_usd_kwh, or run `minerwatch fleet FILE` with the file beside it",
            )
        if not (fleet_dir / name).is_file():
            raise section.error(
                "power_prices",
                f"no such file {fleet_dir / name}; expected an hourly price CSV (time,usd_kwh) "
                "beside the fleet file",
            )
        hourly = read_hourly_prices(fleet_dir / name)
        flat = float(np.mean(hourly.usd_kwh))
    else:
        flat = section.number(
            "power_price_usd_kwh", low=0.0, high=10.0, low_open=True, unit="USD/kWh"
        )
    site = Site(
        power_price_usd_kwh=flat,
        hourly=hourly,
        uptime_pct=section.number("uptime_pct", DEFAULT_UPTIME_PCT, low=0, high=100, low_open=True),
        pool_fee_pct=section.number("pool_fee_pct", DEFAULT_POOL_FEE_PCT, low=0, high=100),
        pool_scheme=section.text("pool_scheme", "fpps", choices=POOL_SCHEMES),
        overhead_pct=section.number("overhead_pct", DEFAULT_OVERHEAD_PCT, low=0, high=100),
        fixed_usd_month=section.number("fixed_usd_month", 0.0, low=0),
        discount_rate_pct=section.number(
            "discount_rate_pct", DEFAULT_DISCOUNT_RATE_PCT, low=-99, high=1000
        ),
    )
    section.finish()
    return site


def _lot(section: Section, catalog: Catalog) -> Lot:
    model = section.text("model") if section.has("model") else None
    hashrate = power = None
    release = None
    if model is not None:
        index = {str(m).lower(): i for i, m in enumerate(catalog.model)}
        i = index.get(model.lower())
        if i is None:
            names = [str(m) for m in catalog.model]
            lowered = {n.lower(): n for n in names}
            close = [n for n in names if model.lower() in n.lower()]
            close += [
                lowered[n]
                for n in difflib.get_close_matches(model.lower(), list(lowered), n=5, cutoff=0.6)
                if lowered[n] not in close
            ]
            close = close[:5]
            hint = f" (close: {', '.join(close)})" if close else ""
            raise section.error(
                "model",
                f"model {model!r} is not in the catalog{hint}; expected a name from "
                "`minerwatch asics list`, or hashrate_ths and power_w",
            )
        model = str(catalog.model[i])
        hashrate, power = float(catalog.hashrate_ths[i]), float(catalog.power_w[i])
        month = catalog.release_month[i]
        release = None if np.isnat(month) else str(month)
    elif not (section.has("hashrate_ths") and section.has("power_w")):
        raise section.error(None, "a lot needs model, or hashrate_ths and power_w")
    hashrate = section.number("hashrate_ths", hashrate, low=0, low_open=True, unit="TH/s")
    power = section.number("power_w", power, low=0, low_open=True, unit="W")
    purchase = section.day("purchase_date")
    if purchase is not None and release is not None and purchase[:7] < release:
        raise section.error(
            "purchase_date",
            f"purchase_date = {purchase}: the {model} was launched in {release}; expected a "
            "date in or after its launch month",
        )
    lot = Lot(
        name=section.text("name", model or f"{hashrate:g} TH/s at {power:g} W"),
        model=model,
        count=int(section.number("count", low=1, high=MAX_MACHINES, whole=True)),
        hashrate_ths=hashrate,
        power_w=power,
        unit_price_usd=section.number("unit_price_usd", 0.0, low=0, unit="USD"),
        purchase_date=purchase,
        life_years=section.number("life_years", DEFAULT_LIFE_YEARS, low=0, low_open=True),
        release_month=release,
        purchase_price_usd=section.number("purchase_price_usd", low=0, unit="USD")
        if section.has("purchase_price_usd")
        else None,
    )
    section.finish()
    return lot


def _financing(section: Section | None) -> Financing | None:
    if section is None:
        return None
    loan = Financing(
        principal_usd=section.number("principal_usd", low=0, low_open=True, unit="USD"),
        rate_pct=section.number("rate_pct", low=0, high=100),
        term_months=int(section.number("term_months", low=1, whole=True)),
        start_date=section.day("start_date"),
    )
    section.finish()
    return loan


def _resale(section: Section | None) -> tuple[tuple[float, float], ...] | None:
    if section is None:
        return None
    curve = section.pairs("curve")
    if curve is None:
        raise section.error(None, "missing key 'curve'; expected [[age_months, pct], ...]")
    ages = [a for a, _ in curve]
    if any(a < 0 for a in ages) or any(b <= a for a, b in zip(ages, ages[1:], strict=False)):
        raise section.error("curve", "ages must be >= 0 and ascending; expected [[0, 100], ...]")
    if any(not 0 <= p <= 100 for _, p in curve):
        raise section.error("curve", "resale values must be percentages 0-100 of the unit price")
    section.finish()
    return tuple(curve)


def read_fleet(path: str | Path, catalog: Catalog | None = None) -> Fleet:
    """Read the fleet file at ``path`` (lots resolved against ``catalog``, default the
    packaged one). Every problem is an :class:`InputError` naming the file, the line and
    the key, and what was expected there; unknown keys are refused."""
    return _fleet(read_toml(path, "fleet file"), Path(path).parent, catalog)


def fleet_from_text(text: str, origin: str = "fleet.toml", catalog: Catalog | None = None) -> Fleet:
    """A fleet file's text (pasted or uploaded; ``origin`` names it in messages), read as
    :func:`read_fleet` reads a file. It has no folder, so an hourly price file cannot be
    named: ``power_prices`` is refused."""
    return _fleet(parse_toml(text, origin, "fleet file"), None, catalog)


def _fleet(doc: TomlFile, folder: Path | None, catalog: Catalog | None) -> Fleet:
    path = doc.path
    root = doc.root
    catalog = catalog if catalog is not None else load_catalog()
    site = _site(root, folder)
    lots = tuple(_lot(s, catalog) for s in root.tables("lots"))
    if not lots:
        raise InputError("no [[lots]]; expected at least one lot of machines", path=str(path))
    names = [lot.name.lower() for lot in lots]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise root.tables("lots")[i].error(
                "name", f"lot name {lots[i].name!r} repeats; give each lot its own name"
            )
    rule, cap, credit = "none", None, 0.0
    curtail = root.table("curtailment")
    if curtail is not None:
        rule = curtail.text("rule", "economic", choices=CURTAILMENT_RULES)
        if rule == "price-cap":
            cap = curtail.number("max_power_price_usd_kwh", low=0, low_open=True, unit="USD/kWh")
        curtail.finish()
    response = root.table("demand_response")
    if response is not None:
        credit = response.number("credit_usd_mwh", low=0, unit="USD/MWh")
        response.finish()
    fleet = Fleet(
        path=str(path),
        site=site,
        lots=lots,
        financing=_financing(root.table("financing")),
        resale_curve=_resale(root.table("resale")),
        curtailment=rule,
        max_power_price_usd_kwh=cap,
        dr_credit_usd_mwh=credit,
    )
    root.finish()
    return fleet
