"""Production cost (`minerwatch cost`, `minerwatch.production_cost`) on the real history.

Expected values come from the papers and publishers (Hayes' worked example, Glassnode's and
Checkmate's published constants) or are computed here from the Coin Metrics CSV read with the
csv module and fitted with numpy.polyfit, never from minerwatch code.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pytest

import minerwatch
from minerwatch import production
from minerwatch.errors import InputError
from minerwatch.models import cost as mc
from minerwatch.production import CatalogUnavailable, production_cost


def _f(row, col) -> float:
    return float(row[col]) if row[col] else float("nan")


def _cm_arrays(cm_rows):
    """Day, mean difficulty (from HashRate and BlkCnt), close and supply from the CSV."""
    day = np.array([r["time"] for r in cm_rows], "datetime64[D]")
    blocks = np.array([_f(r, "BlkCnt") for r in cm_rows])
    hashrate_ths = np.array([_f(r, "HashRate") for r in cm_rows])
    with np.errstate(invalid="ignore", divide="ignore"):
        difficulty = hashrate_ths * 1e12 * 86400 / (blocks * 2.0**32)
    price = np.array([_f(r, "PriceUSD") for r in cm_rows])
    supply = np.array([_f(r, "SplyCur") for r in cm_rows])
    return day, difficulty, price, supply


def _row(day, text) -> int:
    return int(np.searchsorted(day, np.datetime64(text)))


@pytest.fixture(scope="module")
def truncated_db(tmp_path_factory, coinmetrics_csv, epochs_csv):
    """A database holding the history only up to 2022-12-01 (and the epochs)."""
    lines = coinmetrics_csv.read_text().splitlines(keepends=True)
    kept = [lines[0]] + [line for line in lines[1:] if line[:10] <= "2022-12-01"]
    folder = tmp_path_factory.mktemp("truncated")
    csv_path = folder / "btc_to_2022-12-01.csv"
    csv_path.write_text("".join(kept))
    path = folder / "truncated.duckdb"
    with minerwatch.open_store(path) as store:
        minerwatch.import_coinmetrics(store, csv_path)
        minerwatch.import_epochs(store, epochs_csv)
    return path


@dataclass(frozen=True)
class TinyCatalog:
    efficiency_j_th: np.ndarray
    release_month: np.ndarray


TINY = TinyCatalog(
    efficiency_j_th=np.array([100.0, 60.0, 30.0, 20.0]),
    release_month=np.array(["2016-06", "2018-11", "2020-05", "NaT"], "datetime64[M]"),
)


# -- Hayes -----------------------------------------------------------------------------------


def test_hayes_worked_example():
    # Hayes (2017): D = 60,883,825,480, 0.135 $/kWh, 0.75 J/GH = 750 J/TH, 12.5 BTC -> $588.36.
    cost = mc.hayes_cost_usd(60_883_825_480, 750.0, 0.135, 12.5)
    assert float(cost) == pytest.approx(588.36, abs=0.005)


def test_electricity_from_power_equals_hayes_with_the_days_own_hashrate(cm_rows):
    day, difficulty, _, _ = _cm_arrays(cm_rows)
    i = _row(day, "2024-09-06")
    blocks = float(cm_rows[i]["BlkCnt"])
    btc = float(cm_rows[i]["IssTotNtv"]) + float(cm_rows[i]["FeeTotNtv"])
    hashrate_hs = float(cm_rows[i]["HashRate"]) * 1e12
    power = mc.network_power_w(25.0, hashrate_hs, 1.1)
    via_power = mc.electricity_cost_usd_per_btc(power, 0.05, btc)
    via_hayes = mc.hayes_cost_usd(difficulty[i], 25.0 * 1.1, 0.05, btc / blocks)
    assert float(via_power) == pytest.approx(float(via_hayes), rel=1e-12)
    assert float(mc.all_in_cost_usd(via_power, 0.6)) == pytest.approx(float(via_power) / 0.6)


# -- Difficulty Regression Model -------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "start", "end"),
    [
        ("fit-2012", "2012-01-01", "2015-06-30"),
        ("fit-2012", "2012-01-01", "2019-10-13"),
        ("fit-2015", "2015-01-01", "2025-12-31"),
        ("fit-all", "2009-01-03", "2021-11-08"),
    ],
)
def test_expanding_fit_equals_polyfit(loaded_db, cm_rows, preset, start, end):
    day, difficulty, price, supply = _cm_arrays(cm_rows)
    lo, hi = _row(day, start), _row(day, end)
    x, y = np.log(difficulty[lo : hi + 1]), np.log(price[lo : hi + 1] * supply[lo : hi + 1])
    ok = np.isfinite(x) & np.isfinite(y)
    b, a = np.polyfit(x[ok], y[ok], 1)
    r2 = np.corrcoef(x[ok], y[ok])[0, 1] ** 2
    fit = production_cost(loaded_db, end).drm[preset]
    assert fit.a == pytest.approx(a, rel=1e-9)
    assert fit.b == pytest.approx(b, rel=1e-9)
    assert fit.r2 == pytest.approx(r2, rel=1e-9)
    assert fit.n == int(ok.sum())
    assert fit.window_end == end and fit.expanding


def test_closed_form_ols_matches_polyfit_on_every_window_of_a_fixed_end():
    rng = np.random.default_rng(7)
    x = np.cumsum(rng.uniform(0, 0.05, 400)) + 20.0
    y = 3.0 + 0.8 * x + rng.normal(0, 0.3, 400)
    y[[5, 50, 51]] = np.nan
    fit = mc.expanding_ols(x, y, start_row=10, end_row=300, min_n=2)
    for t in (12, 120, 299, 300, 399):
        hi = min(t, 300)
        xs, ys = x[10 : hi + 1], y[10 : hi + 1]
        ok = np.isfinite(ys)
        b, a = np.polyfit(xs[ok], ys[ok], 1)
        assert fit.a[t] == pytest.approx(a, rel=1e-9) and fit.b[t] == pytest.approx(b, rel=1e-9)
        assert fit.n[t] == ok.sum() and fit.last_row[t] == hi
    assert np.isnan(fit.a[:11]).all()  # one point (row 10) is no fit


def test_fit_over_all_priced_days_reproduces_the_published_constants(loaded_db):
    # Checkmate's 2019 constants and Glassnode's 2022 ones are the all-history fit as of
    # their dates: our expanding fit on those days must give them back.
    checkmate = production_cost(loaded_db, "2019-10-13").drm["fit-all"]
    assert checkmate.a == pytest.approx(10.697469, abs=5e-4)
    assert checkmate.b == pytest.approx(0.498638, abs=2e-5)
    assert checkmate.r2 == pytest.approx(0.934309, abs=1e-4)
    assert checkmate.window_start == "2010-07-18"
    glassnode = production_cost(loaded_db, "2022-09-14").drm["fit-all"]
    assert glassnode.a == pytest.approx(10.2560, abs=5e-4)
    assert glassnode.b == pytest.approx(0.5250, abs=5e-5)
    assert glassnode.r2 == pytest.approx(0.944, abs=5e-4)


def test_glassnode_preset_is_the_published_formula(loaded_db, cm_rows):
    day, difficulty, _, supply = _cm_arrays(cm_rows)
    pc = production_cost(loaded_db, "2025-12-31")
    i = _row(day, "2025-12-31")
    expected = math.exp(10.2560 + 0.5250 * math.log(difficulty[i])) / supply[i]
    assert pc.models["drm-glassnode-2022"].cost_usd == pytest.approx(expected, rel=1e-9)
    fit = pc.drm["glassnode-2022"]
    assert fit.published and not fit.hindsight and (fit.a, fit.b) == (10.2560, 0.5250)
    assert production_cost(loaded_db, "2021-01-01").drm["glassnode-2022"].hindsight


def test_difficulty_multiple_and_price_to_cost(loaded_db):
    pc = production_cost(loaded_db, "2024-09-06", model="drm-fit-2015")
    assert pc.model == "drm-fit-2015" and pc.difficulty_multiple_model == "drm-fit-2015"
    assert pc.multiple == pytest.approx(pc.price_usd / pc.cost_usd)
    assert pc.price_to_cost_pct == pytest.approx(100 * (pc.price_usd / pc.cost_usd - 1))
    default = production_cost(loaded_db, "2024-09-06")
    assert default.model == production.DEFAULT_MODEL == "drm-fit-2015"
    assert default.difficulty_multiple == pytest.approx(
        default.price_usd / default.models["drm-fit-2015"].cost_usd
    )


# -- the CBECI-style fleet -------------------------------------------------------------------


def test_fleet_band_from_a_tiny_catalog():
    day = np.array(["2016-06-15", "2016-07-01", "2019-01-10", "2021-06-30", "2021-07-01"], "M8[D]")
    threshold = np.array([500.0, 500.0, 80.0, 70.0, 25.0])
    band = mc.fleet_efficiency_band(
        day, threshold, TINY.efficiency_j_th, TINY.release_month, lifetime_years=5
    )
    # 2016-06: nothing yet (a model counts from the month after its release month).
    assert band.available[0] == 0 and np.isnan(band.best_j_th[0])
    assert band.best_j_th[1] == 100.0
    # 2019-01: the 100 J/TH machine is above the 80 J/TH threshold; the 60 J/TH one is not.
    assert (band.lower_j_th[2], band.best_j_th[2], band.upper_j_th[2]) == (60.0, 60.0, 60.0)
    assert band.available[2] == 2 and band.profitable[2] == 1
    # 2021-06: three released (the first in its 60th month), two under 70 J/TH.
    assert band.available[3] == 3 and band.best_j_th[3] == pytest.approx(45.0)
    assert (band.lower_j_th[3], band.upper_j_th[3]) == (30.0, 60.0)
    # 2021-07: the 2016 machine is past five years; nothing is under 25 J/TH; the machine
    # without a release month never counts.
    assert band.available[4] == 2 and band.profitable[4] == 0 and np.isnan(band.lower_j_th[4])


def test_threshold_is_where_power_cost_equals_revenue():
    threshold = mc.profitability_threshold_j_th(np.array([0.06]), 0.05)
    # 50 J/TH draws 50 W per TH/s = 1.2 kWh/day = $0.06/day at 5 c/kWh.
    assert threshold[0] == pytest.approx(50.0)


def test_all_in_is_electricity_over_its_share(loaded_db):
    pc = production_cost(loaded_db, "2024-09-06", catalog=TINY, electricity_share=0.5)
    elec, all_in = pc.models["cbeci-electricity"].cost_usd, pc.models["cbeci-all-in"].cost_usd
    assert all_in == pytest.approx(elec / 0.5)
    assert pc.fleet.efficiency_j_th["best"] == pytest.approx(30.0)
    assert pc.fleet.electricity_cost_usd["best"] == pytest.approx(elec)
    assert pc.fleet.all_in_cost_usd["lower"] <= all_in <= pc.fleet.all_in_cost_usd["upper"]
    # Hayes uses the bare best-guess efficiency; the electricity model adds the 1.10 PUE.
    assert pc.models["hayes"].cost_usd == pytest.approx(elec / 1.10)


def test_catalog_models_with_the_real_catalog(loaded_db):
    pc = production_cost(loaded_db, "2025-12-31")
    for name in production.CATALOG_MODELS:
        assert pc.models[name].available and pc.models[name].cost_usd > 0, name
    fl = pc.fleet
    assert fl.efficiency_j_th["lower"] <= fl.efficiency_j_th["best"] <= fl.efficiency_j_th["upper"]
    assert 5 < fl.power_gw["best"] < 60 and fl.machines_profitable >= 1


def test_catalog_missing_leaves_drm_working(loaded_db, monkeypatch):
    # The guard: without minerwatch.models.asics the catalog models are unavailable (None),
    # the DRM models still work, and asking for a catalog model is a clear error.
    monkeypatch.setitem(sys.modules, "minerwatch.models.asics", None)
    pc = production_cost(loaded_db, "2025-12-31")
    assert pc.cost_usd is not None and pc.fleet is None
    for name in production.CATALOG_MODELS:
        assert pc.models[name].cost_usd is None and not pc.models[name].available
        assert "ASIC catalog" in pc.unavailable[name]
    with pytest.raises(CatalogUnavailable, match="ASIC catalog"):
        production_cost(loaded_db, "2025-12-31", model="cbeci-all-in")


# -- no look-ahead ---------------------------------------------------------------------------


def test_cost_for_a_day_ignores_later_data(loaded_db, truncated_db):
    short = production_cost(truncated_db, "2022-12-01")
    full = production_cost(loaded_db, "2022-12-01")
    assert short.to_dict() == full.to_dict()
    assert minerwatch.status(truncated_db).production_cost_models == (
        minerwatch.status(loaded_db, "2022-12-01").production_cost_models
    )
    # Every day's value in the series, too: a day's fit reads that day and earlier only.
    whole = production_cost(loaded_db)
    n = len(short.series.day)
    for name, series in short.series.cost_usd.items():
        np.testing.assert_array_equal(series, whole.series.cost_usd[name][:n], err_msg=name)


# -- parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"model": "drm-fit-1999"}, "model"),
        ({"electricity_usd_kwh": -0.05}, "electricity_usd_kwh"),
        ({"electricity_usd_kwh": 0}, "electricity_usd_kwh"),
        ({"electricity_share": 0}, "electricity_share"),
        ({"electricity_share": 1.2}, "electricity_share"),
        ({"lifetime_years": -1}, "lifetime_years"),
        ({"overheads": (1.0, 0.9, 1.2)}, "overheads"),
        ({"smoothing_days": 0}, "smoothing_days"),
    ],
)
def test_bad_parameters_are_rejected_by_name(loaded_db, kwargs, named):
    with pytest.raises(InputError, match=named):
        production_cost(loaded_db, "2024-09-06", **kwargs)


# -- status and the CLI ----------------------------------------------------------------------


def test_status_reports_the_default_model(loaded_db):
    s = minerwatch.status(loaded_db, as_of="2024-09-06")
    pc = production_cost(loaded_db, "2024-09-06")
    assert s.production_cost_model == production.DEFAULT_MODEL
    assert s.production_cost_usd == pc.cost_usd
    assert s.price_to_cost_pct == pc.price_to_cost_pct
    assert s.production_cost_models == pc.costs_usd()
    assert set(s.production_cost_models) == set(production.MODELS)


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "minerwatch", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_cost_json_equals_library(loaded_db):
    result = _cli("cost", "--as-of", "2025-04-09", "--json", "--db", str(loaded_db))
    assert result.returncode == 0, result.stderr
    expected = json.loads(json.dumps(production_cost(loaded_db, "2025-04-09").to_dict()))
    assert json.loads(result.stdout) == expected


def test_cli_cost_table_and_bad_model(loaded_db):
    result = _cli(
        "cost", "--model", "drm-fit-2015", "--as-of", "2025-04-09", "--db", str(loaded_db)
    )
    assert result.returncode == 0, result.stderr
    for name in production.MODELS:
        assert name in result.stdout
    assert "R²" in result.stdout and "expanding" in result.stdout
    assert production.DEFAULT_MODEL in _cli("cost", "--help").stdout
    bad = _cli("cost", "--model", "nope", "--db", str(loaded_db))
    assert bad.returncode == 2 and "model 'nope'" in bad.stderr and "Traceback" not in bad.stderr
