"""The fleet desk's input files: the fleet file (TOML), its hourly power prices (CSV), the
scenario files, and `minerwatch fleet`'s refusals. Every bad input is one InputError naming
the file, the 1-based line (found here by searching the text the test wrote) and the key."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minerwatch.errors import InputError
from minerwatch.sources.catalog import load_catalog
from minerwatch.sources.fleet_file import read_fleet, read_hourly_prices
from minerwatch.sources.scenario_file import load_scenario, packaged_scenarios

FLEET = """\
# A site in Texas: four lots, a loan, a resale curve and a price cap.
[site]
power_price_usd_kwh = 0.05
fixed_usd_month = 1000

[[lots]]
name = "old"
model = "Antminer S19j Pro"
count = 100
unit_price_usd = 1500
purchase_date = 2024-03-01

[[lots]]
model = "antminer s21"
count = 50

[[lots]]
name = "underclocked"
model = "Antminer S19j Pro"
power_w = 2800
count = 20

[[lots]]  # custom rig
name = "custom"
hashrate_ths = 150
power_w = 3200
count = 10
life_years = 4

[financing]
principal_usd = 100000
rate_pct = 8
term_months = 24
start_date = 2025-01-01

[resale]
curve = [[0, 100], [12, 60], [36, 20]]

[curtailment]
rule = "price-cap"
max_power_price_usd_kwh = 0.09

[demand_response]
credit_usd_mwh = 40
"""


def _line(text: str, line: str) -> int:
    """The 1-based number of the one line of ``text`` that is ``line``."""
    found = [n for n, got in enumerate(text.splitlines(), 1) if got == line]
    assert len(found) == 1, (line, found)
    return found[0]


def _edit(text: str, old: str, new: str) -> str:
    """``text`` with its one line ``old`` replaced by ``new`` ("" drops it)."""
    lines = text.splitlines()
    i = _line(text, old) - 1
    return "\n".join(lines[:i] + new.splitlines() + lines[i + 1 :]) + "\n"


def _refused(read, path, line: int | None, key: str | None, *words: str) -> InputError:
    with pytest.raises(InputError) as caught:
        read(path)
    msg = str(caught.value)
    where = ", ".join(
        [str(path), *([f"line {line}"] if line else []), *([f"key {key!r}"] if key else [])]
    )
    assert msg.startswith(where + ": "), msg
    for word in words:
        assert word in msg, msg
    return caught.value


# -- the fleet file ------------------------------------------------------------------------


def test_a_full_fleet_file_resolves_models_overrides_and_defaults(tmp_path):
    path = tmp_path / "fleet.toml"
    path.write_text(FLEET)
    fleet = read_fleet(path)
    site = fleet.site
    assert (site.power_price_usd_kwh, site.hourly, site.fixed_usd_month) == (0.05, None, 1000)
    # defaults: uptime 97%, FPPS at a 2% fee, no overhead, NPV at 10% a year
    assert (site.uptime_pct, site.pool_fee_pct, site.pool_scheme) == (97, 2, "fpps")
    assert (site.overhead_pct, site.discount_rate_pct) == (0, 10)
    got = [(x.name, x.model, x.count, x.hashrate_ths, x.power_w) for x in fleet.lots]
    assert got == [
        ("old", "Antminer S19j Pro", 100, 104, 3068),
        ("Antminer S21", "Antminer S21", 50, 200, 3500),  # matched ignoring case
        ("underclocked", "Antminer S19j Pro", 20, 104, 2800),  # power overridden
        ("custom", None, 10, 150, 3200),
    ]
    assert [x.life_years for x in fleet.lots] == [5, 5, 5, 4]
    assert [x.purchase_date for x in fleet.lots] == ["2024-03-01", None, None, None]
    assert [x.unit_price_usd for x in fleet.lots] == [1500, 0, 0, 0]
    assert fleet.capex_usd == 150_000
    assert fleet.lots[1].efficiency_j_th == 17.5
    loan = fleet.financing
    assert (loan.principal_usd, loan.rate_pct, loan.term_months) == (100_000, 8, 24)
    assert loan.start_date == "2025-01-01"
    assert fleet.resale_curve == ((0, 100), (12, 60), (36, 20))
    assert (fleet.curtailment, fleet.max_power_price_usd_kwh) == ("price-cap", 0.09)
    assert fleet.dr_credit_usd_mwh == 40


def test_site_keys_override_the_defaults_and_absent_tables_mean_none(tmp_path):
    path = tmp_path / "fleet.toml"
    lot = '[[lots]]\nmodel = "Antminer S21"\ncount = 1\n'
    path.write_text("[site]\npower_price_usd_kwh = 0.07\n" + lot)
    plain = read_fleet(path)
    assert (plain.curtailment, plain.financing, plain.resale_curve) == ("none", None, None)
    assert (plain.dr_credit_usd_mwh, plain.site.fixed_usd_month) == (0, 0)
    keys = 'uptime_pct = 95\npool_fee_pct = 1.5\npool_scheme = "pps"\noverhead_pct = 8\n'
    path.write_text(f"[site]\npower_price_usd_kwh = 0.07\n{keys}discount_rate_pct = 12\n{lot}"
                    "[curtailment]\n")  # fmt: skip
    fleet = read_fleet(path)
    site = fleet.site
    assert (site.uptime_pct, site.pool_fee_pct, site.pool_scheme) == (95, 1.5, "pps")
    assert (site.overhead_pct, site.discount_rate_pct) == (8, 12)
    assert (fleet.curtailment, fleet.max_power_price_usd_kwh) == ("economic", None)


BAD = [  # id, line replaced, replacement, line the error is at (None: the replacement), key, words
    ("negative-count", "count = 50", "count = -3", None, "lots[2].count", "whole number >= 1"),
    ("fractional-count", "count = 50", "count = 1.5", None, "lots[2].count", "whole number"),
    ("string-count", "count = 50", 'count = "50"', None, "lots[2].count", "whole number"),
    ("zero-price", "power_price_usd_kwh = 0.05", "power_price_usd_kwh = 0", None,
     "site.power_price_usd_kwh", "> 0"),
    ("unknown-model", 'model = "antminer s21"', 'model = "Antminer S2"', None, "lots[2].model",
     "not in the catalog", "close: ", "Antminer S21", "hashrate_ths and power_w"),
    ("misspelt-key", "fixed_usd_month = 1000", "fixed_usd_month = 1000\nuptime_pc = 95",
     "uptime_pc = 95", "site.uptime_pc", "unknown key 'uptime_pc'"),
    ("misspelt-lot-key", "life_years = 4", "life_year = 4", None, "lots[4].life_year",
     "unknown key"),
    ("pplns", "fixed_usd_month = 1000", 'pool_scheme = "pplns"', None, "site.pool_scheme",
     "'pplns'", "'fpps', 'pps'"),
    ("both-prices", "fixed_usd_month = 1000", 'power_prices = "hourly.csv"', None,
     "site.power_prices", "not both"),
    ("bad-date", "purchase_date = 2024-03-01", 'purchase_date = "2025-13-01"', None,
     "lots[1].purchase_date", "'2025-13-01'", "YYYY-MM-DD"),
    ("bought-before-launch", "purchase_date = 2024-03-01", "purchase_date = 2021-05-31", None,
     "lots[1].purchase_date", "Antminer S19j Pro was launched in 2021-06", "launch month"),
    ("descending-ages", "curve = [[0, 100], [12, 60], [36, 20]]",
     "curve = [[0, 100], [36, 60], [12, 20]]", None, "resale.curve", "ascending"),
    ("resale-over-100", "curve = [[0, 100], [12, 60], [36, 20]]", "curve = [[0, 120], [12, 60]]",
     None, "resale.curve", "0-100"),
    ("duplicate-names", 'name = "custom"', 'name = "OLD"', None, "lots[4].name", "'OLD' repeats"),
    ("cap-without-max", "max_power_price_usd_kwh = 0.09", "", "[curtailment]", "curtailment",
     "missing key 'max_power_price_usd_kwh'"),
    ("lot-without-machine", "hashrate_ths = 150", "", "[[lots]]  # custom rig", "lots[4]",
     "needs model, or hashrate_ths and power_w"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "at", "key", "words"),
                         [pytest.param(*c[1:5], c[5:], id=c[0]) for c in BAD])  # fmt: skip
def test_a_bad_fleet_file_names_file_line_and_key(tmp_path, old, new, at, key, words):
    text = _edit(FLEET, old, new)
    path = tmp_path / "fleet.toml"
    path.write_text(text)
    error = _refused(read_fleet, path, _line(text, at or new), key, *words)
    assert (error.path, error.line, error.key) == (str(path), _line(text, at or new), key)


def test_fleet_files_that_cannot_be_read(tmp_path):
    no_lots = tmp_path / "no_lots.toml"
    no_lots.write_text("[site]\npower_price_usd_kwh = 0.05\n")
    _refused(read_fleet, no_lots, None, None, "no [[lots]]", "at least one lot")
    text = _edit(FLEET, "count = 50", "count = = 50")
    syntax = tmp_path / "syntax.toml"
    syntax.write_text(text)
    _refused(read_fleet, syntax, _line(text, "count = = 50"), None, "not valid TOML")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(FLEET.replace("custom", "cust\xf6m").encode("latin-1"))
    _refused(read_fleet, binary, None, None, "not a UTF-8 text file")
    _refused(read_fleet, tmp_path / "none.toml", None, None, "cannot read the fleet file")


CATALOG = load_catalog()
NUMERIC = [  # a line of FLEET with a number, and its key
    ("count = 50", "lots[2].count"),
    ("rate_pct = 8", "financing.rate_pct"),
    ("power_price_usd_kwh = 0.05", "site.power_price_usd_kwh"),
    ("hashrate_ths = 150", "lots[4].hashrate_ths"),
    ("credit_usd_mwh = 40", "demand_response.credit_usd_mwh"),
    ("max_power_price_usd_kwh = 0.09", "curtailment.max_power_price_usd_kwh"),
]
NOT_A_NUMBER = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=6).map(
        lambda s: json.dumps(s, ensure_ascii=False)
    ),
    st.sampled_from(["true", "false", "{ value = 1 }", "2025-01-01", "07:30:00"]),
    st.lists(st.integers(-99, 99), max_size=3).map(str),
)
PADDING = st.sampled_from(["", "# a note", "# [[lots]]", "  # count = 1", "#[site]"])


@settings(max_examples=60, deadline=None)
@given(
    place=st.sampled_from(NUMERIC),
    value=NOT_A_NUMBER,
    pads=st.lists(st.tuples(st.integers(0, FLEET.count("\n")), PADDING), max_size=6),
)
def test_any_non_number_for_a_numeric_key_is_refused_at_its_line(
    tmp_path_factory, place, value, pads
):
    old, key = place
    lines = FLEET.splitlines()
    target = lines.index(old)
    lines[target] = f"{old.split(' = ')[0]} = {value}"
    for at, pad in sorted(pads, reverse=True):  # comments and blank lines shift the key
        lines.insert(at, pad)
    line = target + 1 + sum(at <= target for at, _ in pads)
    path = tmp_path_factory.mktemp("prop") / "fleet.toml"
    path.write_text("\n".join(lines) + "\n")
    error = _refused(lambda p: read_fleet(p, CATALOG), path, line, key, "expected a")
    assert "number" in error.reason


# -- hourly power prices -------------------------------------------------------------------

HOURLY = "time,usd_kwh\n2025-01-01T00:00:00Z,0.04\n2025-01-01 01:00,0.06\n2025-01-01T02:00Z,0.11\n"


def test_hourly_prices_beside_the_fleet_file_give_the_mean(tmp_path, monkeypatch):
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "hourly.csv").write_text(HOURLY)
    (folder / "fleet.toml").write_text(
        _edit(FLEET, "power_price_usd_kwh = 0.05", 'power_prices = "hourly.csv"')
    )
    monkeypatch.chdir(tmp_path)  # not the fleet file's folder
    site = read_fleet("site/fleet.toml").site
    assert (
        site.hourly.hour.tolist()
        == np.array(["2025-01-01T00", "2025-01-01T01", "2025-01-01T02"], "datetime64[h]").tolist()
    )
    assert site.hourly.usd_kwh.tolist() == [0.04, 0.06, 0.11]
    assert site.power_price_usd_kwh == pytest.approx(0.07)
    assert Path(site.hourly.path).resolve() == (folder / "hourly.csv").resolve()


def test_hourly_prices_with_offsets_are_read_in_utc(tmp_path):
    """Local hours with their offsets (a day across a daylight-saving change in Central
    Europe, +01:00 then +02:00) land on the UTC hours they name."""
    path = tmp_path / "hourly.csv"
    path.write_text(
        "time,usd_kwh\n2025-03-30T01:00+01:00,0.05\n2025-03-30T03:00+02:00,0.06\n"
        "2025-03-30 04:00:00+0200,0.07\n2025-03-30T03:00Z,0.08\n"
    )
    hourly = read_hourly_prices(path)
    utc = ["2025-03-30T00", "2025-03-30T01", "2025-03-30T02", "2025-03-30T03"]
    assert hourly.hour.astype(str).tolist() == utc
    assert hourly.usd_kwh.tolist() == [0.05, 0.06, 0.07, 0.08]


HOURLY_BAD = [  # id, cell replaced, replacement, column, words
    ("half-hour", "2025-01-01 01:00", "2025-01-01 00:30", "time", "expected an hour"),
    ("unparsable", "2025-01-01 01:00", "1 Jan 2025 01h", "time", "expected an hour"),
    ("repeated", "2025-01-01T02:00Z", "2025-01-01T01:00Z", "time", "repeats or goes back"),
    ("backwards", "2025-01-01T02:00Z", "2024-12-31T23:00Z", "time", "ascending order"),
    ("below-minus-ten", "0.06", "-10.5", "usd_kwh", "'-10.5'", ">= -10"),
    ("odd-offset", "2025-01-01 01:00", "2025-01-01T01:00+05:30", "time", "falls off the hour"),
    ("offset-back", "2025-01-01 01:00", "2025-01-01T02:00+02:00", "time", "repeats or goes back"),
    ("date-alone", "2025-01-01 01:00", "2025-01-02", "time", "expected an hour"),
    ("over-ten", "0.06", "12", "usd_kwh", "'12'", "at most 10"),
]


@pytest.mark.parametrize(("old", "new", "column", "words"),
                         [pytest.param(*c[1:4], c[4:], id=c[0]) for c in HOURLY_BAD])  # fmt: skip
def test_a_bad_hourly_price_names_file_line_and_column(tmp_path, old, new, column, words):
    text = HOURLY.replace(old, new)
    path = tmp_path / "hourly.csv"
    path.write_text(text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if new in row.split(","))
    with pytest.raises(InputError) as caught:
        read_hourly_prices(path)
    assert str(caught.value).startswith(f"{path}, line {line}, column {column!r}: ")
    assert all(w in caught.value.reason for w in words), caught.value


# -- scenario files ------------------------------------------------------------------------

SCENARIO = """\
name = "mine"
description = "every key"
[difficulty]
model = "fixed"
change_pct_per_epoch = 2.5
growth_add_pct_per_epoch = 1
next_from_forecast = false
hashrate_price_elasticity = 0.5
hashrate_lag_days = 60
[price]
model = "csv"
file = "path.csv"
lookback_days = 730
block_days = 14
shock_pct = -20
shock_days = 30
[fees]
model = "flat"
btc_per_block = 0.05
[hashrate_exit]
share_pct = 5
over_days = 100
start_day = 10
[storm]
month_day = "07-15"
days = 3
site_uptime_pct = 50
"""
PATH_CSV = "day,price_usd\n2025-01-01,90000\n2025-01-02,91000\n2025-01-03,92000\n"


def test_every_shipped_scenario_loads_with_its_documented_values():
    assert {"base", "bear", "hashrate-to-ai", "storm"} <= set(packaged_scenarios())
    loaded = {name: load_scenario(name) for name in packaged_scenarios()}
    assert all(s.name == name and s.description for name, s in loaded.items())
    base, bear = loaded["base"], loaded["bear"]
    assert (base.price_model, base.shock_pct, base.exit_share_pct) == ("bootstrap", 0, 0)
    assert (base.lookback_days, base.block_days, base.storm_month_day) == (1461, 30, None)
    assert (bear.shock_pct, bear.shock_days) == (-40, 91)
    ai = loaded["hashrate-to-ai"]
    assert (ai.exit_share_pct, ai.exit_over_days, ai.exit_start_day) == (10, 365, 0)
    storm = loaded["storm"]
    assert (storm.storm_month_day, storm.storm_days, storm.storm_site_uptime_pct) == (
        "01-24", 7, 0)  # fmt: skip


def test_a_scenario_file_with_every_key(tmp_path):
    (tmp_path / "path.csv").write_text(PATH_CSV)
    (tmp_path / "mine.toml").write_text(SCENARIO)
    s = load_scenario(tmp_path / "mine.toml")
    assert (s.name, s.description, s.path) == ("mine", "every key", str(tmp_path / "mine.toml"))
    assert (s.difficulty_model, s.change_pct_per_epoch, s.growth_add_pct_per_epoch) == (
        "fixed", 2.5, 1)  # fmt: skip
    assert (s.next_from_forecast, s.hashrate_price_elasticity, s.hashrate_lag_days) == (
        False, 0.5, 60)  # fmt: skip
    assert (s.price_model, s.lookback_days, s.block_days, s.drift_pct_per_year) == (
        "csv", 730, 14, 0)  # fmt: skip
    assert s.price_file.day.astype(str).tolist() == ["2025-01-01", "2025-01-02", "2025-01-03"]
    assert s.price_file.values.tolist() == [90000, 91000, 92000]
    assert (s.shock_pct, s.shock_days) == (-20, 30)
    assert (s.fee_model, s.fee_lookback_days, s.fee_btc_per_block) == ("flat", 365, 0.05)
    assert (s.exit_share_pct, s.exit_over_days, s.exit_start_day) == (5, 100, 10)
    assert (s.storm_month_day, s.storm_days, s.storm_site_uptime_pct) == ("07-15", 3, 50)


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        ('model = "csv"', 'model = "garch"', "price.model", ("'garch'", "'bootstrap', 'flat'")),
        ('month_day = "07-15"', 'month_day = "13-40"', "storm.month_day", ("'13-40'", "MM-DD")),
        ("days = 3", "dayz = 3", "storm.dayz", ("unknown key 'dayz' in [storm]",)),
        ("next_from_forecast = false", "next_from_forecast = 1",
         "difficulty.next_from_forecast", ("true or false",)),
        ("shock_days = 30", "drift_pct_per_year = 5", "price.drift_pct_per_year",
         ("applies to model = 'drift' or 'bootstrap'", "has model = 'csv'")),
        ("btc_per_block = 0.05", "lookback_days = 90", "fees.lookback_days",
         ("applies to model = 'bootstrap'", "[fees] has model = 'flat'")),
        ("btc_per_block = 0.05", 'file = "fees.csv"', "fees.file",
         ("applies to model = 'csv'",)),
    ],
)  # fmt: skip
def test_a_bad_scenario_file_names_file_line_and_key(tmp_path, old, new, key, words):
    (tmp_path / "path.csv").write_text(PATH_CSV)
    text = _edit(SCENARIO, old, new)
    path = tmp_path / "mine.toml"
    path.write_text(text)
    _refused(load_scenario, path, _line(text, new), key, *words)


def test_an_unknown_scenario_lists_the_shipped_ones(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as caught:
        load_scenario("nosuch")
    assert caught.value.parameter == "scenario"
    assert "'nosuch'" in str(caught.value)
    assert "base, bear, hashrate-to-ai, storm" in str(caught.value)


def test_a_csv_price_path_with_a_gap_is_refused(tmp_path):
    (tmp_path / "path.csv").write_text(PATH_CSV.replace("2025-01-03", "2025-01-05"))
    (tmp_path / "mine.toml").write_text(SCENARIO)
    with pytest.raises(InputError, match="consecutive") as caught:
        load_scenario(tmp_path / "mine.toml")
    assert (caught.value.path, caught.value.column) == (str(tmp_path / "path.csv"), "day")


# -- minerwatch fleet ----------------------------------------------------------------------


def _one_error_line(result) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture
def fleet_file(tmp_path):
    path = tmp_path / "fleet.toml"
    path.write_text(FLEET)
    return path


@pytest.mark.parametrize("mode", [("--plan", "12", "--runs", "50"), ("--from", "2025-06-01")])
def test_cli_bad_fleet_file_is_one_line_naming_file_line_and_key(cli, loaded_db, tmp_path, mode):
    text = _edit(FLEET, "count = 50", "count = -3")
    path = tmp_path / "bad.toml"
    path.write_text(text)
    line = _one_error_line(cli("fleet", path, *mode, "--db", loaded_db))
    assert f"{path}, line {_line(text, 'count = -3')}, key 'lots[2].count': " in line


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--from", "2025-06-01", "--plan", "12"), ("--from", "--plan")),
        ((), ("--from", "--plan")),
        (("--plan", "0"), ("--plan 0",)),
        (("--plan", "121"), ("--plan 121", "120")),
        (("--plan", "12", "--runs", "0"), ("--runs 0",)),
        (("--plan", "12", "--scenario", "nosuch"), ("--scenario", "base, bear, hashrate-to-ai")),
        (("--to", "2025-06-30"), ("--to needs --from",)),
        (("--from", "2025-06-01", "--runs", "5"), ("--runs", "options of --plan")),
    ],
    ids=["from-and-plan", "neither", "plan-0", "plan-121", "runs-0", "no-such-scenario",
         "to-alone", "runs-with-from"],
)  # fmt: skip
def test_cli_refuses_bad_options_naming_them(cli, loaded_db, fleet_file, args, words):
    line = _one_error_line(cli("fleet", fleet_file, *args, "--db", loaded_db))
    assert all(w in line for w in words), line
    assert not re.search(r"(?<![-\w])(months|runs|scenario) ['\d]", line), line  # not params


def test_cli_bad_scenario_file_names_file_line_and_key(cli, loaded_db, fleet_file, tmp_path):
    text = _edit(SCENARIO, 'month_day = "07-15"', 'month_day = "13-40"')
    (tmp_path / "path.csv").write_text(PATH_CSV)
    path = tmp_path / "mine.toml"
    path.write_text(text)
    args = ("--plan", "12", "--runs", "50", "--scenario", path, "--db", loaded_db)
    at = _line(text, 'month_day = "13-40"')
    assert f"{path}, line {at}, key 'storm.month_day'" in _one_error_line(
        cli("fleet", fleet_file, *args)
    )


def test_cli_small_plan_runs_and_reports_its_inputs(cli, loaded_db, fleet_file):
    args = ("--plan", "12", "--runs", "50", "--scenario", "bear", "--json", "--db", loaded_db)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = cli("fleet", fleet_file, *args)
    assert (result.returncode, result.stderr) == (0, "")
    doc = json.loads(result.stdout)
    assert (doc["fleet_file"], doc["scenario"]) == (str(fleet_file), "bear")
    assert (doc["runs"], doc["months"], len(doc["months_table"])) == (50, 12, 12)
    machines = {lot["lot"]: lot["machines"] for lot in doc["lots"]}
    assert machines == {"old": 100, "Antminer S21": 50, "underclocked": 20, "custom": 10}
    assert doc["curtailment"] == "price-cap"
    assert [str(w.message) for w in caught] == []  # a plan prints no NumPy warnings


# -- known bugs: each a strict xfail, so a fix shows up as XPASS -----------------------------

NO_SITE = FLEET.replace("[site]\npower_price_usd_kwh = 0.05\nfixed_usd_month = 1000\n", "")
S21 = _line(FLEET, 'model = "antminer s21"')
COUNT = _line(FLEET, "count = 50")
STORM = _line(SCENARIO, 'month_day = "07-15"')
EXTRAS = FLEET.count("\n") + 2
GAP = PATH_CSV.replace("2025-01-03", "2025-01-05")


def _bug(reason, files, read, expected):
    """A case once wrong (``reason`` says how), kept as a regression test."""
    return pytest.param(files, read, expected)


@pytest.mark.parametrize(
    ("files", "read", "expected"),
    [
        _bug("missing [site] names no file", {"fleet.toml": NO_SITE}, read_fleet,
             r"DIR/fleet\.toml: missing table \[site\]"),
        _bug("count = -3 is echoed as -3.0, which reads as not whole",
             {"fleet.toml": _edit(FLEET, "count = 50", "count = -3")}, read_fleet,
             rf"DIR/fleet\.toml, line {COUNT}, key 'lots\[2\]\.count': count = -3;"),
        _bug("an unknown top-level table is said to be 'in []'",
             {"fleet.toml": FLEET + "\n[extras]\nx = 1\n"}, read_fleet,
             rf"DIR/fleet\.toml, line {EXTRAS}, key 'extras': unknown (?!.*in \[\])"),
        _bug("close names are substrings only: a misspelling gets no hint",
             {"fleet.toml": _edit(FLEET, 'model = "antminer s21"', 'model = "Antminr S21"')},
             read_fleet, rf"DIR/fleet\.toml, line {S21}, key 'lots\[2\]\.model': .*close: "),
        _bug("a price of exactly 10 USD/kWh is accepted (documented: < 10)",
             {"hourly.csv": HOURLY.replace("0.06", "10")}, read_hourly_prices,
             r"DIR/hourly\.csv, line 3, column 'usd_kwh'"),
        _bug("a time half a second past the hour is accepted (truncated to seconds)",
             {"hourly.csv": HOURLY.replace("2025-01-01 01:00", "2025-01-01T01:00:00.5")},
             read_hourly_prices, r"DIR/hourly\.csv, line 3, column 'time'"),
        _bug("a bad time is quoted as np.str_('...')",
             {"hourly.csv": HOURLY.replace("01:00,", "00:30,")}, read_hourly_prices,
             r"DIR/hourly\.csv, line 3, column 'time': time '2025-01-01 00:30': "),
        _bug("a gap in a csv price path names no line",
             {"path.csv": GAP, "mine.toml": SCENARIO}, load_scenario,
             r"DIR/path\.csv, line 4, column 'day'"),
        _bug("month_day '07-15T00' is accepted as MM-DD",
             {"path.csv": PATH_CSV, "mine.toml": SCENARIO.replace("07-15", "07-15T00")},
             load_scenario, rf"DIR/mine\.toml, line {STORM}, key 'storm\.month_day'"),
    ],
    ids=["no-site", "count-echo", "top-level-in-brackets", "misspelt-model", "price-10",
         "sub-second", "np-str", "gap-line", "storm-hour"],
)  # fmt: skip
def test_once_wrong_inputs_name_their_place(tmp_path, files, read, expected):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(InputError) as caught:
        read(tmp_path / list(files)[-1])
    assert re.match(expected.replace("DIR", re.escape(str(tmp_path))), str(caught.value))
