"""The ASIC catalog and per-machine economics (`minerwatch asics`), on the real history.

Expected figures are worked out here from the formulas (hashprice per PH/s per day, J/TH,
24 h), not taken from the functions under test.
"""

from __future__ import annotations

import csv
import json
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import minerwatch
from minerwatch.errors import InputError
from minerwatch.models.asics import (
    DEFAULT_POOL_FEE_PCT,
    DEFAULT_POWER_PRICE_USD_KWH,
    DEFAULT_UPTIME_PCT,
    breakeven_hashprice_usd_ph_day,
    breakeven_power_price_usd_kwh,
    check_parameters,
    energy_kwh_day,
    machine_economics,
    power_cost_usd_day,
    revenue_btc_day,
    revenue_usd_day,
    shutdown_price_usd,
)
from minerwatch.sources.catalog import load_catalog, read_machines


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def _row(catalog, model: str) -> int:
    return next(i for i, m in enumerate(catalog.model) if m == model)


def _csv_rows() -> list[dict[str, str]]:
    """The packaged CSV read with the csv module, independently of minerwatch's parser."""
    text = resources.files("minerwatch.sources").joinpath("asics.csv").read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


# -- the catalog ---------------------------------------------------------------------------


def test_catalog_has_40_unique_models(catalog):
    assert len(catalog) >= 40
    names = [m.lower() for m in catalog.model]
    assert len(set(names)) == len(names)
    assert len(_csv_rows()) == len(catalog)


@pytest.mark.parametrize(
    "family, pattern",
    [
        ("S9", r"Antminer S9"),
        ("S17", r"Antminer S17.*"),
        ("S19", r"Antminer S19"),
        ("S19 Pro", r"Antminer S19 Pro"),
        ("S19j Pro", r"Antminer S19j Pro"),
        ("S19 XP", r"Antminer S19 XP"),
        ("S19k Pro", r"Antminer S19k Pro"),
        ("S21", r"Antminer S21"),
        ("S21 Pro", r"Antminer S21 Pro"),
        ("S21 XP", r"Antminer S21 XP"),
        ("S21+", r"Antminer S21\+"),
        ("S21 hydro", r"Antminer S21.* Hyd.*"),
        ("S23", r"Antminer S23.*"),
        ("M30S", r"Whatsminer M30S\+{0,2}"),
        ("M50", r"Whatsminer M5\d.*"),
        ("M60", r"Whatsminer M60.*"),
        ("M63", r"Whatsminer M63.*"),
        ("M66", r"Whatsminer M66.*"),
        ("M70", r"Whatsminer M7\d.*"),
        ("A12", r"Avalon A12.*"),
        ("A13", r"Avalon A13.*"),
        ("A14", r"Avalon A14.*"),
        ("A15", r"Avalon A15.*"),
    ],
)
def test_every_family_is_present(catalog, family, pattern):
    assert any(re.fullmatch(pattern, m) for m in catalog.model), family


def test_hydro_variants_are_marked_hydro(catalog):
    hyd = [i for i, m in enumerate(catalog.model) if " Hyd" in m]
    assert len(hyd) >= 8
    assert all(catalog.cooling[i] == "hydro" for i in hyd)
    assert set(catalog.cooling) == {"air", "hydro", "immersion"}


def test_efficiency_is_power_over_hashrate(catalog):
    for row in _csv_rows():
        watts, ths = float(row["power_w"]), float(row["hashrate_ths"])
        # The file rounds to 0.01 J/TH.
        assert float(row["efficiency_j_th"]) == pytest.approx(watts / ths, abs=0.0051), row
    np.testing.assert_array_equal(catalog.efficiency_j_th, catalog.power_w / catalog.hashrate_ths)
    s21 = _row(catalog, "Antminer S21")
    assert catalog.efficiency_j_th[s21] == 17.5  # 3500 W / 200 TH/s


def test_release_months_are_in_range_and_sourced(catalog):
    assert catalog.release_month.dtype == np.dtype("datetime64[M]")
    assert (catalog.release_month >= np.datetime64("2016-01")).all()
    assert (catalog.release_month <= np.datetime64("2026-12")).all()
    for month, source in zip(catalog.release_month, catalog.source, strict=True):
        # Every row either documents the launch month it states, or says it is estimated.
        launch = re.match(r"launch (\d{4}-\d{2}):", source)
        assert launch or "estimated" in source, source
        if launch:
            assert launch.group(1) == str(month), source
    assert catalog.release_month[_row(catalog, "Antminer S9")] == np.datetime64("2016-06")
    assert catalog.release_month[_row(catalog, "Antminer S21")] == np.datetime64("2023-09")


def test_released_by_has_no_look_ahead(catalog):
    s21 = _row(catalog, "Antminer S21")  # launched 2023-09-22
    assert not catalog.released_by("2023-09-30")[s21]
    assert catalog.released_by("2023-10-01")[s21]
    early = catalog.select(catalog.released_by("2019-06-01"))
    assert "Antminer S9" in early.model and "Antminer S21" not in early.model
    assert (early.release_month < np.datetime64("2019-06")).all()


# -- the formulas, by hand -----------------------------------------------------------------


def test_breakeven_by_hand_for_s19j_pro_and_s21(catalog):
    rows = [_row(catalog, "Antminer S19j Pro"), _row(catalog, "Antminer S21")]
    got = breakeven_power_price_usd_kwh(40.0, catalog.efficiency_j_th[rows], pool_fee_pct=2.0)
    # At 40 $/PH/day one TH/s earns 40 / 1000 = 0.04 $ a day, 0.0392 $ after a 2% fee.
    # S19j Pro: 3068 W / 104 TH/s = 29.5 J/TH; one TH/s draws 29.5 * 24 / 1000 = 0.708 kWh a day.
    # S21: 3500 W / 200 TH/s = 17.5 J/TH; 17.5 * 24 / 1000 = 0.42 kWh a day.
    assert got[0] == pytest.approx(0.0392 / 0.708, rel=1e-12)  # 0.0554 $/kWh
    assert got[1] == pytest.approx(0.0392 / 0.42, rel=1e-12)  # 0.0933 $/kWh
    # Without a fee it is design.md's hashprice_USD_per_TH_day / (J_per_TH * 0.024).
    no_fee = breakeven_power_price_usd_kwh(40.0, catalog.efficiency_j_th[rows], pool_fee_pct=0)
    np.testing.assert_allclose(no_fee, [0.04 / (29.5 * 0.024), 0.04 / (17.5 * 0.024)])


def test_revenue_and_power_cost_by_hand():
    # S21 at 37.38 $/PH/day, 2% fee, 97% uptime: 0.03738 * 200 * 0.98 * 0.97 $ a day.
    assert revenue_usd_day(37.38, 200.0) == pytest.approx(0.03738 * 200 * 0.98 * 0.97)
    # 3500 W for 24 h is 84 kWh; at 0.06 $/kWh and 97% uptime: 84 * 0.06 * 0.97 $.
    assert power_cost_usd_day(3500.0, 0.06) == pytest.approx(84 * 0.06 * 0.97)


def test_at_the_breakeven_price_revenue_equals_power_cost(catalog):
    be = breakeven_power_price_usd_kwh(37.38, catalog.efficiency_j_th, 2.0)
    np.testing.assert_allclose(
        revenue_usd_day(37.38, catalog.hashrate_ths, 2.0, 90.0),
        power_cost_usd_day(catalog.power_w, be, 90.0),
        rtol=1e-12,
    )


def test_at_the_breakeven_hashprice_revenue_equals_power_cost(catalog):
    # S21 at 17.5 J/TH, 0.06 $/kWh, 2% fee: 0.06 * 17.5 * 0.024 * 1000 / 0.98 $/PH/day.
    assert breakeven_hashprice_usd_ph_day(0.06, 17.5, 2.0) == pytest.approx(25.2 / 0.98)
    hashprice = breakeven_hashprice_usd_ph_day(0.06, catalog.efficiency_j_th, 2.0)
    np.testing.assert_allclose(
        revenue_usd_day(hashprice, catalog.hashrate_ths, 2.0, 90.0),
        power_cost_usd_day(catalog.power_w, 0.06, 90.0),
        rtol=1e-12,
    )
    # the two breakevens are each other's inverse
    np.testing.assert_allclose(
        breakeven_power_price_usd_kwh(hashprice, catalog.efficiency_j_th, 2.0), 0.06, rtol=1e-12
    )


def test_btc_revenue_and_energy_by_hand():
    # 0.00045 BTC/PH/day on 200 TH/s, 2% fee, 97% uptime; 3500 W at 97% uptime
    assert revenue_btc_day(0.00045, 200.0) == pytest.approx(0.00045 * 0.2 * 0.98 * 0.97)
    assert energy_kwh_day(3500.0) == pytest.approx(84 * 0.97)
    assert power_cost_usd_day(3500.0, 0.06) == pytest.approx(energy_kwh_day(3500.0) * 0.06)


def test_at_the_shutdown_price_revenue_equals_power_cost(catalog):
    # Days down the rows, machines across: the functions broadcast.
    hashprice_btc = np.array([[0.0004271], [0.0009], [0.0365]])
    price = shutdown_price_usd(hashprice_btc, catalog.efficiency_j_th, 0.06, 2.0)
    assert price.shape == (3, len(catalog))
    revenue = revenue_usd_day(hashprice_btc * price, catalog.hashrate_ths, 2.0, 97.0)
    cost = power_cost_usd_day(catalog.power_w, 0.06, 97.0)
    np.testing.assert_allclose(revenue, np.broadcast_to(cost, revenue.shape), rtol=1e-12)
    # A little above the shutdown price a machine makes money, a little below it loses.
    above = revenue_usd_day(hashprice_btc * price * 1.01, catalog.hashrate_ths, 2.0, 97.0)
    below = revenue_usd_day(hashprice_btc * price * 0.99, catalog.hashrate_ths, 2.0, 97.0)
    assert (above > cost).all() and (below < cost).all()


def test_shutdown_price_is_hayes_marginal_cost_without_fee():
    difficulty, reward_btc = 148.26e12, 3.18
    hashprice_btc = reward_btc * 86400 * 1e15 / (difficulty * 2**32)  # per PH/s per day
    hayes = 0.05 * 17.5 * difficulty * 2**32 / (reward_btc * 3.6e18)
    assert shutdown_price_usd(hashprice_btc, 17.5, 0.05, 0.0) == pytest.approx(hayes, rel=1e-12)


def test_defaults_price_a_machine_as_documented(catalog):
    # docs/asics.md: electricity 0.05 $/kWh, pool fee 2%, uptime 97%. The S21 (200 TH/s,
    # 3500 W) at 40 $/PH/day with no parameter given, worked out here from those figures.
    s21 = catalog.select(np.array([_row(catalog, "Antminer S21")]))
    econ = machine_economics(
        s21, hashprice_usd_ph_day=40.0, hashprice_btc_ph_day=40.0 / 80000, price_usd=80000
    )
    assert econ.revenue_usd_day[0] == pytest.approx(0.040 * 200 * 0.98 * 0.97, rel=1e-12)
    assert econ.power_cost_usd_day[0] == pytest.approx(3.5 * 24 * 0.05 * 0.97, rel=1e-12)
    assert econ.breakeven_power_price_usd_kwh[0] == pytest.approx(0.0392 / 0.42, rel=1e-12)
    shutdown = 0.05 * 17.5 * 0.024 / (40.0 / 80000 / 1000 * 0.98)
    assert econ.shutdown_price_usd[0] == pytest.approx(shutdown, rel=1e-12)
    doc = (Path(__file__).resolve().parents[1] / "docs" / "asics.md").read_text()
    assert "electricity 0.05 $/kWh" in doc and "pool fee 2%" in doc and "uptime 97%" in doc


def test_machine_economics_sorted_with_underwater_flag(catalog):
    econ = machine_economics(
        catalog,
        hashprice_usd_ph_day=37.38,
        hashprice_btc_ph_day=37.38 / 87517.0,
        price_usd=87517.0,
        power_price_usd_kwh=0.06,
    )
    assert len(econ) == len(catalog)
    assert (np.diff(econ.profit_usd_day) <= 0).all()
    np.testing.assert_array_equal(econ.underwater, econ.profit_usd_day < 0)
    np.testing.assert_array_equal(econ.underwater, econ.shutdown_price_usd > 87517.0)
    np.testing.assert_allclose(
        econ.profit_usd_day, econ.revenue_usd_day - econ.power_cost_usd_day, rtol=1e-12
    )


@pytest.mark.parametrize(
    "kwargs, option",
    [
        ({"power_price_usd_kwh": -0.01}, "--power-price"),
        ({"power_price_usd_kwh": 0.0}, "--power-price"),
        ({"power_price_usd_kwh": 10.0}, "--power-price"),
        ({"power_price_usd_kwh": float("nan")}, "--power-price"),
        ({"pool_fee_pct": 150.0}, "--pool-fee"),
        ({"pool_fee_pct": -1.0}, "--pool-fee"),
        ({"uptime_pct": 0.0}, "--uptime"),
        ({"uptime_pct": 100.5}, "--uptime"),
    ],
)
def test_parameters_out_of_range_name_the_parameter(kwargs, option):
    params = {"power_price_usd_kwh": 0.05, "pool_fee_pct": 2.0, "uptime_pct": 97.0, **kwargs}
    name = next(iter(kwargs))
    with pytest.raises(InputError, match=f"^{name} .* is out of range") as err:
        check_parameters(**params)
    assert err.value.parameter == name
    # The CLI names the option instead.
    from minerwatch.cli import PARAMETER_OPTIONS

    assert PARAMETER_OPTIONS[name] == option
    check_parameters(0.05, 0.0, 100.0)  # the edges that are allowed


# -- the day's economics on the real history -----------------------------------------------


@pytest.fixture(scope="module")
def dec31_json(cli, loaded_db):
    result = cli(
        "asics", "--as-of", "2025-12-31", "--power-price", "0.06", "--json", "--db", str(loaded_db)
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_cli_2025_12_31_s9_underwater_s21_profitable(dec31_json, loaded_db):
    doc = dec31_json
    assert doc["as_of"] == "2025-12-31" and doc["power_price_usd_kwh"] == 0.06
    assert (doc["pool_fee_pct"], doc["uptime_pct"]) == (2.0, 97.0)
    # The day's Luxor hashprice, as `minerwatch status` reports it (about $37-40/PH/day).
    status = minerwatch.status(loaded_db, "2025-12-31")
    assert doc["hashprice_usd_ph_day"] == status.hashprice_usd_ph_day
    assert 37 <= doc["hashprice_usd_ph_day"] <= 40
    rows = {m["model"]: m for m in doc["machines"]}
    assert rows["Antminer S9"]["underwater"] and rows["Antminer S9"]["profit_usd_day"] < 0
    s21 = rows["Antminer S21"]
    assert not s21["underwater"] and s21["profit_usd_day"] > 0
    hp = doc["hashprice_usd_ph_day"]
    assert s21["revenue_usd_day"] == pytest.approx(hp / 1000 * 200 * 0.98 * 0.97, rel=1e-12)
    assert s21["power_cost_usd_day"] == pytest.approx(3.5 * 24 * 0.06 * 0.97, rel=1e-12)
    assert s21["shutdown_price_usd"] < doc["price_usd"] < rows["Antminer S9"]["shutdown_price_usd"]
    profits = [m["profit_usd_day"] for m in doc["machines"]]
    assert profits == sorted(profits, reverse=True)
    assert doc["underwater_count"] == sum(m["underwater"] for m in doc["machines"])


def test_cli_json_equals_library(dec31_json, loaded_db):
    lib = minerwatch.asic_economics(loaded_db, "2025-12-31", power_price_usd_kwh=0.06)
    assert dec31_json == json.loads(json.dumps(lib.to_dict()))


def test_2019_lists_only_machines_already_on_sale(loaded_db):
    early = minerwatch.asic_economics(loaded_db, "2019-06-01")
    models = set(early.machines.model)
    assert "Antminer S9" in models and "Antminer S15" in models
    assert "Antminer S21" not in models and "Antminer S19" not in models
    assert early.unreleased_omitted == len(load_catalog()) - len(models)
    assert (early.machines.release_month < np.datetime64("2019-06")).all()
    everything = minerwatch.asic_economics(loaded_db, "2019-06-01", released_only=False)
    assert "Antminer S21" in set(everything.machines.model)
    assert everything.unreleased_omitted == 0


@pytest.mark.parametrize(
    "option, value", [("--power-price", "-1"), ("--pool-fee", "150"), ("--uptime", "0")]
)
def test_cli_bad_parameter_exits_2_naming_the_option(cli, loaded_db, option, value):
    result = cli("asics", option, value, "--db", str(loaded_db))
    assert result.returncode == 2
    assert option in result.stderr and "out of range" in result.stderr


def test_cli_help_states_the_library_defaults():
    import typer.main

    from minerwatch.cli import app

    group = typer.main.get_command(app).commands["asics"]
    helps = {p.name: p.help for p in group.params}
    assert f"default {DEFAULT_POWER_PRICE_USD_KWH:g}:" in helps["power_price"]
    assert f"default {DEFAULT_POOL_FEE_PCT:g}:" in helps["pool_fee"]
    assert f"default {DEFAULT_UPTIME_PCT:g})" in helps["uptime"]


# -- the user's own machines ---------------------------------------------------------------


def _write(tmp_path, text: str):
    path = tmp_path / "machines.csv"
    path.write_text(text)
    return path


def test_user_file_adds_and_replaces_machines(cli, tmp_path, loaded_db):
    path = _write(
        tmp_path,
        "model,hashrate_ths,power_w,release_month,cooling\n"
        "My Rig,250,3000,,immersion\n"
        "antminer s21,195,3550,2023-09,\n",
    )
    base = load_catalog()
    merged = load_catalog(path)
    assert len(merged) == len(base) + 1
    rig = _row(merged, "My Rig")
    assert merged.efficiency_j_th[rig] == 12.0 and merged.cooling[rig] == "immersion"
    assert np.isnat(merged.release_month[rig])
    s21 = next(i for i, m in enumerate(merged.model) if m.lower() == "antminer s21")
    assert merged.hashrate_ths[s21] == 195.0 and merged.cooling[s21] == "air"
    assert any("replaces the catalog model 'Antminer S21'" in n for n in merged.notes)
    # A machine without a release month is yours: listed on any day.
    early = minerwatch.asic_economics(loaded_db, "2019-06-01", user_file=path)
    assert "My Rig" in set(early.machines.model)

    result = cli(
        "asics", "--as-of", "2025-12-31", "--machines", str(path), "--json", "--db", str(loaded_db)
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    rows = {m["model"]: m for m in doc["machines"]}
    hp = doc["hashprice_usd_ph_day"]
    assert rows["My Rig"]["revenue_usd_day"] == pytest.approx(hp / 1000 * 250 * 0.98 * 0.97)
    assert "Antminer S21" not in rows and rows["antminer s21"]["hashrate_ths"] == 195.0
    assert any("replaces" in n for n in doc["notes"])


def test_a_replacing_row_keeps_the_catalog_release_month(cli, tmp_path, loaded_db):
    # The example of docs/asics.md: only hashrate, power and source given.
    path = _write(
        tmp_path,
        "model,hashrate_ths,power_w,vendor,efficiency_j_th,release_month,cooling,source\n"
        "Antminer S21,195,3550,,,,,measured at the wall\n",
    )
    merged = load_catalog(path)
    s21 = _row(merged, "Antminer S21")
    assert merged.hashrate_ths[s21] == 195.0 and merged.power_w[s21] == 3550.0
    assert merged.release_month[s21] == np.datetime64("2023-09")  # the catalog's launch
    assert (merged.vendor[s21], merged.cooling[s21]) == ("Bitmain", "air")
    assert merged.source[s21].startswith("measured at the wall; vendor, release_month")
    assert any("empty vendor, release_month, cooling taken from" in n for n in merged.notes)
    # Not on sale in mid-2020, so not listed then; listed (with the user's figures) later.
    result = cli(
        "asics", "--as-of", "2020-06-01", "--machines", str(path), "--json", "--db", str(loaded_db)
    )
    assert result.returncode == 0, result.stderr
    assert "Antminer S21" not in {m["model"] for m in json.loads(result.stdout)["machines"]}
    later = minerwatch.asic_economics(loaded_db, "2025-12-31", user_file=path)
    i = list(later.machines.model).index("Antminer S21")
    assert later.machines.hashrate_ths[i] == 195.0
    # A cell the user fills wins over the catalog's.
    own = _write(
        tmp_path, "model,hashrate_ths,power_w,release_month\nantminer s21,195,3550,2019-01\n"
    )
    assert load_catalog(own).release_month[s21] == np.datetime64("2019-01")


def test_asics_table_fits_80_columns(cli, loaded_db):
    result = cli("asics", "--as-of", "2025-12-31", "--db", loaded_db, env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    # Every model on one line, whole, with its shutdown price; no figure cut short.
    for name in (m for m in load_catalog().model if m in result.stdout):
        (line,) = [line for line in lines if re.search(rf"\s{re.escape(name)}\s+\d", line)]
        assert re.search(r"\$[\d,]+\s*$", line), line
    assert "…" not in result.stdout


def test_cli_list_shows_the_catalog_and_user_machines(cli, tmp_path):
    path = _write(tmp_path, "model,hashrate_ths,power_w\nMy Rig,250,3000\n")
    result = cli("asics", "list", "--machines", str(path), "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["count"] == len(load_catalog()) + 1 == len(doc["models"])
    assert doc["models"][-1]["model"] == "My Rig"
    assert doc["models"][-1]["release_month"] is None
    text = cli("asics", "list")
    assert text.returncode == 0 and "Antminer S21 XP" in text.stdout


@pytest.mark.parametrize(
    "body, line, column",
    [
        ("My Rig,250,3000,,,\nOther,abc,3000,,,\n", 3, "hashrate_ths"),
        ("My Rig,250,0,,,\n", 2, "power_w"),
        ("My Rig,250,3000,13,,\n", 2, "efficiency_j_th"),  # 3000 W / 250 TH/s = 12 J/TH
        ("My Rig,250,3000,,2023-13,\n", 2, "release_month"),
        ("My Rig,250,3000,,23-09,\n", 2, "release_month"),
        ("My Rig,250,3000,,2008-12,\n", 2, "release_month"),
        ("My Rig,250,3000,,,water\n", 2, "cooling"),
        ("My Rig,250,3000,,,\nmy rig,200,3000,,,\n", 3, "model"),
        (",250,3000,,,\n", 2, "model"),
    ],
)
def test_bad_user_file_names_line_and_column(tmp_path, body, line, column):
    header = "model,hashrate_ths,power_w,efficiency_j_th,release_month,cooling\n"
    path = _write(tmp_path, header + body)
    with pytest.raises(InputError) as err:
        read_machines(path)
    assert (err.value.path, err.value.line, err.value.column) == (str(path), line, column)


def test_cli_bad_user_file_exits_2_naming_line_and_column(cli, tmp_path, loaded_db):
    path = _write(tmp_path, "model,hashrate_ths,power_w\nMy Rig,250,3000\nOther,fast,3000\n")
    result = cli("asics", "--machines", str(path), "--db", str(loaded_db))
    assert result.returncode == 2
    assert str(path) in result.stderr and "line 3" in result.stderr
    assert "column 'hashrate_ths'" in result.stderr
    missing = cli("asics", "list", "--machines", str(tmp_path / "none.csv"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


# -- one machine count for `cost` and `asics` --------------------------------------------


def _in_service_by_hand(day: str, years: int = 5) -> set[str]:
    """Catalog models released 1 to 12 * years months before ``day``'s month, from the CSV."""
    text = resources.files("minerwatch.sources").joinpath("asics.csv").read_text("utf-8")
    y, m = int(day[:4]), int(day[5:7])
    out = set()
    for row in csv.DictReader(text.splitlines()):
        ry, rm = int(row["release_month"][:4]), int(row["release_month"][5:7])
        if 1 <= (y - ry) * 12 + (m - rm) <= 12 * years:
            out.add(row["model"])
    return out


@pytest.mark.parametrize(
    ("day", "cost_line", "asics_line"),
    [
        ("2025-10-06", "profitable: 53 of 56", "profitable: 53 of 56"),
        # The day's hashprice after the FTX fall was below its 14-day mean (and asics' 2%
        # pool fee): three machines fewer cover their power at asics' figures.
        ("2022-11-21", "profitable: 20 of 27", "profitable: 17 of 27"),
    ],
)
def test_cost_and_asics_count_machines_by_one_rule(cli, loaded_db, day, cost_line, asics_line):
    service = _in_service_by_hand(day)
    cost = cli("cost", "--as-of", day, "--json", "--db", loaded_db)
    asics = cli("asics", "--as-of", day, "--json", "--db", loaded_db)
    fleet, econ = json.loads(cost.stdout)["fleet"], json.loads(asics.stdout)
    # The same machines in service on the day, in both commands, as counted from the CSV.
    assert fleet["machines_available"] == econ["machines_available"] == len(service)
    assert econ["lifetime_years"] == json.loads(cost.stdout)["parameters"]["lifetime_years"]
    # asics' count is its own table's: the in-service rows that are not underwater.
    rows = {r["model"]: r for r in econ["machines"]}
    assert econ["machines_profitable"] == sum(not rows[m]["underwater"] for m in service)
    # With the same hashprice (the day's) and no pool fee, the two give the same N of M.
    same_cost = minerwatch.production_cost(loaded_db, day, smoothing_days=1)
    same_asics = minerwatch.asic_economics(loaded_db, day, pool_fee_pct=0)
    assert same_cost.fleet.machines_profitable == same_asics.machines_profitable
    assert same_cost.fleet.machines_available == same_asics.machines_available
    # The text says which set each count is of and at which hashprice and fee.
    cost_text = cli("cost", "--as-of", day, "--db", loaded_db, env={"COLUMNS": "200"}).stdout
    asics_text = cli("asics", "--as-of", day, "--db", loaded_db, env={"COLUMNS": "200"}).stdout
    assert f"{cost_line} machines in service (released within 5 years; threshold" in cost_text
    assert "14-day hashprice of" in cost_text and "no pool fee" in cost_text
    in_service = "machines in service (released within 5 years; the day's hashprice, pool fee 2%)"
    assert f"{asics_line} {in_service}" in asics_text
    assert f"of the {len(rows)} models listed (every model released by then)" in asics_text


def test_the_fleet_rule_at_its_edges():
    from minerwatch.models import fleet

    s21 = np.array(["2023-09", "NaT"], "datetime64[M]")  # the S21, and an undated machine
    days = np.array(["2023-09-30", "2023-10-01", "2028-09-30", "2028-10-01"], "datetime64[D]")
    service = fleet.in_service(days, s21)
    # From the month after its release month through its 60th month; undated never.
    assert service[:, 0].tolist() == [False, True, True, False]
    assert not service[:, 1].any()
    assert fleet.in_service(days, s21, lifetime_years=0.5)[:, 0].tolist() == [0, 1, 0, 0]
    # $50/PH/day, 2% fee, 5 c/kWh: 0.05 * 0.98 / (0.024 * 0.05) = 40.83 J/TH.
    threshold = fleet.threshold_efficiency_j_th(50.0, 0.05, 2.0)
    assert float(threshold) == pytest.approx(0.05 * 0.98 / (0.024 * 0.05), rel=1e-12)
    count = fleet.fleet_count("2025-10-06", [40.0, 41.0, 17.5], ["2024-01", "2024-01", "NaT"], 40.9)
    assert (int(count.machines), int(count.machines_profitable)) == (2, 1)
    with pytest.raises(InputError, match="lifetime_years"):
        fleet.in_service(days, s21, lifetime_years=0)


def test_a_tiny_power_price_makes_every_machine_cover_its_power_without_a_warning(cli, loaded_db):
    """The API's schema test found it: the threshold efficiency overflows for a power
    price of 1e-308 USD/kWh; it is infinite, and nothing is printed about it."""
    import warnings

    from minerwatch.models import fleet

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isinf(fleet.threshold_efficiency_j_th(50.0, 1e-308, 2.0))
        result = cli(
            "asics", "--as-of", "2025-10-06", "--power-price", "1e-308", "--json", "--db", loaded_db
        )
    assert result.returncode == 0 and "Warning" not in result.stderr
    shown = cli("asics", "--as-of", "2025-10-06", "--power-price", "1e-308", "--db", loaded_db)
    assert shown.returncode == 0 and "0" * 20 not in shown.stdout  # an exponent, not zeros
