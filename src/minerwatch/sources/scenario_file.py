"""Scenario files (TOML) for ``minerwatch fleet --plan``: how difficulty, the BTC price,
fees and the site's uptime move over the plan. The shipped scenarios (``base``, ``bear``,
``hashrate-to-ai``, ``storm``) are files of the same form in ``scenarios/`` beside this
module; ``docs/fleet.md`` documents every key and its default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from minerwatch.errors import InputError
from minerwatch.sources.table import parse_date, parse_float, parse_price_usd, read_csv
from minerwatch.sources.toml_file import Section, read_toml

DIFFICULTY_MODELS = ("bootstrap", "fixed")
PRICE_MODELS = ("bootstrap", "flat", "drift", "csv")
FEE_MODELS = ("bootstrap", "flat", "drift", "csv")
PACKAGED = "scenarios"

# Defaults, each with its reason (docs/fleet.md repeats them).
#: Four years of history: one halving cycle, long enough to hold a bull and a bear market.
DEFAULT_LOOKBACK_DAYS = 1461
#: Thirty-day blocks keep a month of price and hashrate moves together (volatility
#: clustering and the lag of hashrate behind price survive the resampling).
DEFAULT_BLOCK_DAYS = 30
#: Hashrate follows revenue: a price path 10% above history's trend brings, after a lag,
#: 10% more hashrate (elasticity 1, the long-run proportionality of network hashrate and
#: miners' revenue per hash that a flat hashprice in BTC implies), with a first-order lag
#: of 90 days (machines are ordered and installed months after a price move). Both are
#: stated assumptions, not fitted: set them in a scenario file.
DEFAULT_HASHRATE_PRICE_ELASTICITY = 1.0
DEFAULT_HASHRATE_LAG_DAYS = 90
#: Fees: the last year (fee regimes change with the mempool; older years mislead).
DEFAULT_FEE_LOOKBACK_DAYS = 365
#: The most fees per block a fee file may give, BTC (a day's mean; far above any day so
#: far, low enough to catch a file in satoshis).
MAX_FEE_BTC_PER_BLOCK = 100.0


@dataclass(frozen=True)
class DayFile:
    """A user's path of one figure a day: ``day`` (``datetime64[D]``, consecutive) and
    ``values`` (a price file's ``price_usd``, a fee file's ``fees_btc_per_block``)."""

    path: str
    day: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class Scenario:
    """A scenario.

    Difficulty: ``difficulty_model`` (``bootstrap``: network hashrate grows as it did over
    ``lookback_days`` of history, drawn in blocks of ``block_days`` together with the
    price's returns; ``fixed``: by ``change_pct_per_epoch`` every epoch), plus
    ``growth_add_pct_per_epoch`` added to the bootstrap's growth; ``next_from_forecast``:
    the coming retarget is drawn from minerwatch's forecast and its interval. With the
    bootstrap, hashrate answers the scenario's departures from history's price trend (its
    drift, shock or file) with ``hashrate_price_elasticity`` after a first-order lag of
    ``hashrate_lag_days``.

    Price: ``price_model`` (``flat``; ``drift``: ``drift_pct_per_year`` without noise;
    ``bootstrap``: history's daily log returns with their mean removed and the drift added;
    ``csv``: ``price_file``), then an optional ``shock_pct`` reached linearly in log over
    ``shock_days`` from the start.

    Fees per block: ``fee_model`` (``bootstrap`` of the last ``fee_lookback_days`` in
    blocks; ``flat`` at ``fee_btc_per_block``, default the last 30 days' mean; ``drift``:
    from that level by ``fee_drift_pct_per_year``; ``csv``: ``fee_file``).

    ``exit_share_pct`` of the network's hashrate leaves linearly over ``exit_over_days``
    from day ``exit_start_day`` (hashrate to AI). ``storm_month_day`` (``MM-DD``),
    ``storm_days`` and ``storm_site_uptime_pct``: every year of the plan the site runs at
    that uptime for those days.
    """

    name: str
    description: str
    path: str | None
    difficulty_model: str
    change_pct_per_epoch: float
    growth_add_pct_per_epoch: float
    next_from_forecast: bool
    hashrate_price_elasticity: float
    hashrate_lag_days: int
    lookback_days: int
    block_days: int
    price_model: str
    drift_pct_per_year: float
    price_file: DayFile | None
    shock_pct: float
    shock_days: int
    fee_model: str
    fee_lookback_days: int
    fee_btc_per_block: float | None
    fee_drift_pct_per_year: float
    fee_file: DayFile | None
    exit_share_pct: float
    exit_over_days: int
    exit_start_day: int
    storm_month_day: str | None
    storm_days: int
    storm_site_uptime_pct: float


def _day_file(path: Path, column: str) -> DayFile:
    """A CSV of ``day`` and ``column``, one row for each consecutive day: a price file
    (``price_usd``, the importers' price range) or a fee file (``fees_btc_per_block``,
    0 to :data:`MAX_FEE_BTC_PER_BLOCK`)."""
    table = read_csv(path, ("day", column))
    days = parse_date(table, "day")
    steps = np.diff(days).astype(np.int64)
    if (steps != 1).any():
        i = int(np.flatnonzero(steps != 1)[0]) + 1
        raise InputError(
            f"day {days[i]} after {days[i - 1]}: expected consecutive days in ascending order",
            path=str(path),
            line=int(table.lines[i]),
            column="day",
        )
    if column == "price_usd":
        values = parse_price_usd(table, column)
    else:
        values = parse_float(
            table,
            column,
            minimum=0.0,
            maximum=MAX_FEE_BTC_PER_BLOCK,
            expected="fees per block in BTC",
        )
    return DayFile(str(path), days, values)


def _file_key(section: Section, folder: Path, column: str) -> DayFile:
    name = section.text("file")
    if not (folder / name).is_file():
        raise section.error("file", f"no such file {folder / name}; expected a CSV of day,{column}")
    return _day_file(folder / name, column)


#: The keys of [price] and [fees] that only some models use: key -> those models (a key
#: another model would ignore is refused, not silently dropped).
PRICE_KEYS_BY_MODEL = {"drift_pct_per_year": ("drift", "bootstrap"), "file": ("csv",)}
FEE_KEYS_BY_MODEL = {
    "lookback_days": ("bootstrap",),
    "btc_per_block": ("flat", "drift"),
    "drift_pct_per_year": ("drift",),
    "file": ("csv",),
}


def _only_where_used(
    section: Section, table: str, model: str, keys: dict[str, tuple[str, ...]]
) -> None:
    for key, models in keys.items():
        if section.has(key) and model not in models:
            raise section.error(
                key,
                f"{key} applies to model = {' or '.join(repr(m) for m in models)}; this "
                f"[{table}] has model = {model!r}",
            )


def _flag(section: Section, key: str, default: bool) -> bool:
    if not section.has(key):
        return default
    value = section.values[key]
    section.used.add(key)
    if not isinstance(value, bool):
        raise section.error(key, f"{key} = {value!r}; expected true or false")
    return value


def _parse(path: str | Path, name: str | None) -> Scenario:
    doc = read_toml(path, "scenario file")
    root = doc.root
    folder = Path(path).parent
    empty = type(root)(doc, ("?",), {})
    diff = root.table("difficulty") or empty
    price = root.table("price") or empty
    fees = root.table("fees") or empty
    exit_ = root.table("hashrate_exit") or empty
    storm = root.table("storm") or empty
    price_model = price.text("model", "bootstrap", choices=PRICE_MODELS)
    fee_model = fees.text("model", "bootstrap", choices=FEE_MODELS)
    _only_where_used(price, "price", price_model, PRICE_KEYS_BY_MODEL)
    _only_where_used(fees, "fees", fee_model, FEE_KEYS_BY_MODEL)
    storm_day = storm.text("month_day") if storm.has("month_day") else None
    if storm_day is not None:
        try:
            ok = re.fullmatch(r"\d{2}-\d{2}", storm_day) is not None
            ok = ok and bool(np.datetime64(f"2000-{storm_day}"))  # 2000: 29 February exists
        except ValueError:
            ok = False
        if not ok or storm_day == "02-29":
            raise storm.error(
                "month_day", f"month_day = {storm_day!r}; expected MM-DD of a day every year has"
            )
    fee_flat = fees.number("btc_per_block", -1.0, low=0) if fees.has("btc_per_block") else None
    scenario = Scenario(
        name=root.text("name", name or Path(path).stem),
        description=root.text("description", ""),
        path=str(path),
        difficulty_model=diff.text("model", "bootstrap", choices=DIFFICULTY_MODELS),
        change_pct_per_epoch=diff.number("change_pct_per_epoch", 0.0, low=-75, high=300),
        growth_add_pct_per_epoch=diff.number("growth_add_pct_per_epoch", 0.0, low=-75, high=300),
        next_from_forecast=_flag(diff, "next_from_forecast", True),
        hashrate_price_elasticity=diff.number(
            "hashrate_price_elasticity", DEFAULT_HASHRATE_PRICE_ELASTICITY, low=0, high=5
        ),
        hashrate_lag_days=int(
            diff.number("hashrate_lag_days", DEFAULT_HASHRATE_LAG_DAYS, low=1, whole=True)
        ),
        lookback_days=int(price.number("lookback_days", DEFAULT_LOOKBACK_DAYS, low=60, whole=True)),
        block_days=int(price.number("block_days", DEFAULT_BLOCK_DAYS, low=1, whole=True)),
        price_model=price_model,
        drift_pct_per_year=price.number("drift_pct_per_year", 0.0, low=-99, high=1000),
        price_file=_file_key(price, folder, "price_usd") if price_model == "csv" else None,
        shock_pct=price.number("shock_pct", 0.0, low=-99, high=1000),
        shock_days=int(price.number("shock_days", 1, low=1, whole=True)),
        fee_model=fee_model,
        fee_lookback_days=int(
            fees.number("lookback_days", DEFAULT_FEE_LOOKBACK_DAYS, low=30, whole=True)
        ),
        fee_btc_per_block=fee_flat,
        fee_drift_pct_per_year=fees.number("drift_pct_per_year", 0.0, low=-99, high=1000),
        fee_file=_file_key(fees, folder, "fees_btc_per_block") if fee_model == "csv" else None,
        exit_share_pct=exit_.number("share_pct", 0.0, low=0, high=100),
        exit_over_days=int(exit_.number("over_days", 1, low=1, whole=True)),
        exit_start_day=int(exit_.number("start_day", 0, low=0, whole=True)),
        storm_month_day=storm_day,
        storm_days=int(storm.number("days", 7, low=1, whole=True)),
        storm_site_uptime_pct=storm.number("site_uptime_pct", 0.0, low=0, high=100),
    )
    for section in (diff, price, fees, exit_, storm):
        section.finish()
    root.finish()
    return scenario


def packaged_scenarios() -> list[str]:
    """Names of the shipped scenarios."""
    folder = resources.files("minerwatch.sources") / PACKAGED
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A shipped scenario by name, or a scenario file by path. :class:`InputError` naming
    the file, line and key for a bad file, or listing the shipped names for an unknown
    one."""
    text = str(name_or_path)
    if text in packaged_scenarios():
        folder = resources.files("minerwatch.sources") / PACKAGED
        with resources.as_file(folder / f"{text}.toml") as path:
            return _parse(path, text)
    if not Path(text).exists():
        raise InputError(
            f"scenario {text!r}: no such file and not a shipped scenario; expected a file or "
            f"one of {', '.join(packaged_scenarios())}",
            parameter="scenario",
        )
    return _parse(text, None)
