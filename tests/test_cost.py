"""Production cost (`minerwatch cost`, `minerwatch.production_cost`) on the real history.

Expected values come from the papers and publishers (Hayes' worked example, Glassnode's and
Checkmate's published constants) or are computed here from the Coin Metrics CSV read with the
csv module and fitted with numpy.polyfit, never from minerwatch code.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import minerwatch
from minerwatch.analyses import cost as production
from minerwatch.analyses.cost import production_cost
from minerwatch.errors import InputError
from minerwatch.models import cost as mc
from minerwatch.models.asics import breakeven_power_price_usd_kwh, shutdown_price_usd


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
def by_hand(cm_rows, epochs_csv):
    """Per-day inputs of the fleet models computed here from the Coin Metrics CSV and the
    epochs CSV (csv module and numpy only): Luxor's hashprice in USD per TH/s per day, the
    BTC mined, the day's hashrate (Coin Metrics' HashRate, TH/s) and mean difficulty."""
    day, difficulty, price, _ = _cm_arrays(cm_rows)
    blocks = np.nan_to_num(np.array([_f(r, "BlkCnt") for r in cm_rows]))
    fees = np.array([_f(r, "FeeTotNtv") for r in cm_rows])
    issued = np.array([_f(r, "IssTotNtv") for r in cm_rows])
    hashrate_ths = np.array([_f(r, "HashRate") for r in cm_rows])
    with open(epochs_csv, newline="") as f:
        epochs = list(csv.DictReader(f))
    starts = np.array([int(e["start_height"]) for e in epochs])
    diffs = np.array([float(e["difficulty"]) for e in epochs])
    # The genesis block is not in BlkCnt, so the running count is the last block's height.
    height = np.cumsum(blocks).astype(np.int64)
    last_difficulty = diffs[np.searchsorted(starts, height, side="right") - 1]
    next_subsidy_btc = 50.0 / 2.0 ** ((height + 1) // 210_000)
    with np.errstate(invalid="ignore", divide="ignore"):
        # (subsidy + mean fees per block) x 86400 s x 1e12 H/s / (D x 2^32) x price.
        hashprice_th = (
            (next_subsidy_btc + fees / blocks) * 86400 * 1e12 / (last_difficulty * 2**32) * price
        )
    return {
        "day": day,
        "hashprice_th": hashprice_th,
        "btc": issued + fees,
        "blocks": blocks,
        "hashrate_ths": hashrate_ths,
        "difficulty": difficulty,
    }


def _catalog_csv():
    """The packaged ASIC catalog read with the csv module: efficiency and release month."""
    text = resources.files("minerwatch.sources").joinpath("asics.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    efficiency = np.array([float(r["power_w"]) / float(r["hashrate_ths"]) for r in rows])
    return efficiency, np.array([r["release_month"] for r in rows], "datetime64[M]")


def _band_by_hand(hand, day: str, *, smoothing: int = 14, price_kwh: float = 0.05):
    """CBECI's band on ``day`` from the CSVs: the mean hashprice of the last ``smoothing``
    days over 0.024 x the price is the threshold; machines 1 to 60 months after their
    release month at or under it are profitable."""
    i = _row(hand["day"], day)
    threshold = hand["hashprice_th"][i - smoothing + 1 : i + 1].mean() / (0.024 * price_kwh)
    efficiency, release = _catalog_csv()
    months = (np.datetime64(day, "M") - release).astype(int)
    available = (months >= 1) & (months <= 60)
    profitable = efficiency[available & (efficiency <= threshold)]
    return i, threshold, int(available.sum()), profitable


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


def test_all_in_and_hayes_by_hand_with_a_tiny_catalog(loaded_db, by_hand):
    # 2024-09: of TINY only the 30 J/TH machine (2020-05) is in its first five years, and it
    # is profitable at that day's hashprice, so the band is 30 J/TH on every bound.
    pc = production_cost(loaded_db, "2024-09-06", catalog=TINY, electricity_share=0.5)
    i = _row(by_hand["day"], "2024-09-06")
    assert pc.fleet.efficiency_j_th == {"lower": 30.0, "best": 30.0, "upper": 30.0}
    # 30 J/TH x PUE 1.10 x the day's TH/s = W; x 24 h / 1000 = kWh; x $0.05 / BTC mined.
    kwh = 30.0 * 1.10 * by_hand["hashrate_ths"][i] * 24 / 1000
    electricity = kwh * 0.05 / by_hand["btc"][i]
    assert pc.models["cbeci-electricity"].cost_usd == pytest.approx(electricity, rel=1e-9)
    assert pc.models["cbeci-all-in"].cost_usd == pytest.approx(electricity / 0.5, rel=1e-9)
    # Hayes: $0.05 x 30 J/TH x D x 2^32 / (reward x 3.6e18), with the day's mean reward.
    reward = by_hand["btc"][i] / by_hand["blocks"][i]
    hayes = 0.05 * 30.0 * by_hand["difficulty"][i] * 2**32 / (reward * 3.6e18)
    assert pc.models["hayes"].cost_usd == pytest.approx(hayes, rel=1e-9)
    assert pc.fleet.power_gw_1d["best"] == pytest.approx(kwh / 24 / 1e6, rel=1e-9)
    assert pc.fleet.btc_mined_1d == pytest.approx(by_hand["btc"][i], rel=1e-12)


def test_fleet_band_on_2022_11_21_by_hand(loaded_db, by_hand):
    # Everything derived here from asics.csv and the Coin Metrics and epochs CSVs.
    i, threshold, available, profitable = _band_by_hand(by_hand, "2022-11-21")
    pc = production_cost(loaded_db, "2022-11-21")
    fl = pc.fleet
    assert fl.threshold_j_th == pytest.approx(threshold, rel=1e-6)
    assert (fl.machines_profitable, fl.machines_available) == (len(profitable), available)
    assert 0 < len(profitable) < available  # a day near the threshold: some machine is out
    lower, best, upper = profitable.min(), profitable.mean(), profitable.max()
    assert fl.efficiency_j_th["lower"] == pytest.approx(lower, rel=1e-12)
    assert fl.efficiency_j_th["best"] == pytest.approx(best, rel=1e-12)
    assert fl.efficiency_j_th["upper"] == pytest.approx(upper, rel=1e-12)
    kwh = best * 1.10 * by_hand["hashrate_ths"][i] * 24 / 1000
    electricity = kwh * 0.05 / by_hand["btc"][i]
    assert fl.electricity_cost_usd["best"] == pytest.approx(electricity, rel=1e-9)
    assert pc.models["cbeci-all-in"].cost_usd == pytest.approx(electricity / 0.6, rel=1e-9)
    reward = by_hand["btc"][i] / by_hand["blocks"][i]
    hayes = 0.05 * best * by_hand["difficulty"][i] * 2**32 / (reward * 3.6e18)
    assert pc.models["hayes"].cost_usd == pytest.approx(hayes, rel=1e-9)


def test_the_threshold_uses_a_14_day_mean_hashprice(loaded_db, by_hand):
    # On 2022-11-21 the hashprice had been falling: the 14-day mean keeps a machine that the
    # day's own hashprice would cut, so the smoothing window changes the band.
    _, smooth_thr, _, smooth = _band_by_hand(by_hand, "2022-11-21", smoothing=14)
    _, day_thr, _, day_only = _band_by_hand(by_hand, "2022-11-21", smoothing=1)
    assert len(smooth) != len(day_only)
    default = production_cost(loaded_db, "2022-11-21").fleet
    one_day = production_cost(loaded_db, "2022-11-21", smoothing_days=1).fleet
    assert default.threshold_j_th == pytest.approx(smooth_thr, rel=1e-6)
    assert default.machines_profitable == len(smooth)
    assert one_day.threshold_j_th == pytest.approx(day_thr, rel=1e-6)
    assert one_day.machines_profitable == len(day_only)
    assert one_day.efficiency_j_th["best"] == pytest.approx(day_only.mean(), rel=1e-12)


def test_catalog_models_with_the_real_catalog(loaded_db, by_hand):
    pc = production_cost(loaded_db, "2025-12-31")
    fl = pc.fleet
    i, threshold, available, profitable = _band_by_hand(by_hand, "2025-12-31")
    assert fl.threshold_j_th == pytest.approx(threshold, rel=1e-6)
    assert (fl.machines_profitable, fl.machines_available) == (len(profitable), available)
    assert fl.efficiency_j_th["lower"] == pytest.approx(profitable.min(), rel=1e-12)
    assert fl.efficiency_j_th["best"] == pytest.approx(profitable.mean(), rel=1e-12)
    assert fl.efficiency_j_th["upper"] == pytest.approx(profitable.max(), rel=1e-12)
    # The bounds' PUE and the day's power: efficiency x PUE x the day's TH/s.
    for bound, pue in zip(("lower", "best", "upper"), (1.01, 1.10, 1.20), strict=True):
        power = fl.efficiency_j_th[bound] * pue * by_hand["hashrate_ths"][i]
        assert fl.power_gw_1d[bound] == pytest.approx(power / 1e9, rel=1e-9), bound
        elec = power * 24 / 1000 * 0.05 / by_hand["btc"][i]
        assert fl.electricity_cost_usd[bound] == pytest.approx(elec, rel=1e-9), bound
        assert fl.annualised_twh[bound] == pytest.approx(fl.power_gw[bound] * 8.76, rel=1e-12)
    # Hayes prices the bare best-guess fleet; the electricity model adds the 1.10 PUE.
    assert pc.models["hayes"].cost_usd == pytest.approx(
        pc.models["cbeci-electricity"].cost_usd / 1.10, rel=1e-9
    )
    assert pc.models["cbeci-all-in"].cost_usd == pytest.approx(
        pc.models["cbeci-electricity"].cost_usd / 0.6, rel=1e-12
    )


def test_threshold_and_breakeven_are_one_relation():
    # A machine exactly at the day's threshold breaks even at exactly that power price.
    hashprice_th = np.array([0.03, 0.06, 0.2])
    threshold = mc.profitability_threshold_j_th(hashprice_th, 0.05)
    np.testing.assert_allclose(threshold, hashprice_th / (0.024 * 0.05), rtol=1e-12)
    at = breakeven_power_price_usd_kwh(hashprice_th * 1000, threshold, pool_fee_pct=0)
    np.testing.assert_allclose(at, 0.05, rtol=1e-12)


def test_hayes_is_the_shutdown_price_without_fee():
    difficulty, reward, e, c = 60_883_825_480.0, 12.5, 750.0, 0.135
    hashprice_btc_ph_day = reward * 86400 * 1e15 / (difficulty * 2**32)
    assert float(mc.hayes_cost_usd(difficulty, e, c, reward)) == pytest.approx(
        float(shutdown_price_usd(hashprice_btc_ph_day, e, c, 0.0)), rel=1e-12
    )


def test_a_fixed_fit_window_keeps_the_fit_that_ends_there(loaded_db, cm_rows):
    # --fit-end 2022-09-14: the fit over every priced day up to Glassnode's date gives back
    # Glassnode's constants, and 2025-12-31 is priced with them.
    day, difficulty, price, supply = _cm_arrays(cm_rows)
    hi = _row(day, "2022-09-14")
    x, y = np.log(difficulty[: hi + 1]), np.log(price[: hi + 1] * supply[: hi + 1])
    ok = np.isfinite(x) & np.isfinite(y)
    b, a = np.polyfit(x[ok], y[ok], 1)
    pc = production_cost(loaded_db, "2025-12-31", drm_fit_end="2022-09-14")
    fit = pc.drm["fit-all"]
    assert fit.a == pytest.approx(a, rel=1e-9) and fit.b == pytest.approx(b, rel=1e-9)
    assert fit.window_end == "2022-09-14" and not fit.expanding and fit.n == int(ok.sum())
    i = _row(day, "2025-12-31")
    expected = math.exp(a + b * math.log(difficulty[i])) / supply[i]
    assert pc.models["drm-fit-all"].cost_usd == pytest.approx(expected, rel=1e-9)
    assert pc.models["drm-fit-all"].cost_usd == pytest.approx(
        pc.models["drm-glassnode-2022"].cost_usd, rel=2e-3
    )
    assert pc.parameters["drm_fit_end"] == "2022-09-14"
    # A window ending after as_of is the expanding fit (nothing after as_of is read).
    later = production_cost(loaded_db, "2021-06-30", drm_fit_end="2024-01-01")
    assert later.costs_usd() == production_cost(loaded_db, "2021-06-30").costs_usd()
    with pytest.raises(InputError, match="drm_fit_end") as err:
        production_cost(loaded_db, "2025-12-31", drm_fit_end="2022-13-01")
    assert err.value.parameter == "drm_fit_end"


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
        ({"electricity_usd_kwh": 50}, "electricity_usd_kwh"),  # the range of `asics` too
        ({"electricity_share": 0}, "electricity_share"),
        ({"electricity_share": 1.2}, "electricity_share"),
        ({"lifetime_years": -1}, "lifetime_years"),
        ({"overheads": (1.0, 0.9, 1.2)}, "overheads"),
        ({"smoothing_days": 0}, "smoothing_days"),
    ],
)
def test_bad_parameters_are_rejected_by_name(loaded_db, kwargs, named):
    with pytest.raises(InputError, match=named) as err:
        production_cost(loaded_db, "2024-09-06", **kwargs)
    assert err.value.parameter == named


# -- status and the CLI ----------------------------------------------------------------------


def test_status_cost_is_the_2015_fit_by_hand(loaded_db, cm_rows):
    # The documented default: the regression refitted on the days from 2015-01-01 up to the
    # day (numpy.polyfit on the CSV), read back as a price.
    day, difficulty, price, supply = _cm_arrays(cm_rows)
    lo, hi = _row(day, "2015-01-01"), _row(day, "2024-09-06")
    x, y = np.log(difficulty[lo : hi + 1]), np.log(price[lo : hi + 1] * supply[lo : hi + 1])
    ok = np.isfinite(x) & np.isfinite(y)
    b, a = np.polyfit(x[ok], y[ok], 1)
    cost = math.exp(a + b * math.log(difficulty[hi])) / supply[hi]
    s = minerwatch.status(loaded_db, as_of="2024-09-06")
    assert s.production_cost_model == "drm-fit-2015"
    assert s.production_cost_usd == pytest.approx(cost, rel=1e-9)
    assert s.price_to_cost_pct == pytest.approx(100 * (price[hi] / cost - 1), rel=1e-9)
    # Every model of docs/cost.md, by name, in USD.
    doc = (Path(__file__).resolve().parents[1] / "docs" / "cost.md").read_text()
    documented = re.findall(r"^\| `([a-z0-9-]+)`(?: \(\*\*default\*\*\))? \| ", doc, re.M)
    assert set(s.production_cost_models) == set(documented[: len(production.MODELS)])
    assert s.production_cost_models["drm-fit-2015"] == s.production_cost_usd


@pytest.mark.parametrize("as_of", ["2016-06-01", "2019-01-01", "2022-01-01", "2025-12-31"])
def test_the_default_is_never_a_hindsight_preset(loaded_db, as_of):
    # The published presets were fitted on data up to 2019-10-13 and 2022-09-14; the
    # default, which status reports, reads nothing after the day on any day.
    assert production.hindsight_preset(production.DEFAULT_MODEL) is None
    pc = production_cost(loaded_db, as_of)
    fit = pc.drm[production.DRM_MODELS[pc.model]]
    assert not fit.published and not fit.hindsight
    assert minerwatch.status(loaded_db, as_of).production_cost_model == pc.model


def test_cli_cost_json_equals_library(cli, loaded_db):
    result = cli("cost", "--as-of", "2025-04-09", "--json", "--db", str(loaded_db))
    assert result.returncode == 0, result.stderr
    expected = json.loads(json.dumps(production_cost(loaded_db, "2025-04-09").to_dict()))
    assert json.loads(result.stdout) == expected


def test_cli_cost_table_and_bad_model(cli, loaded_db):
    result = cli("cost", "--model", "drm-fit-2015", "--as-of", "2025-04-09", "--db", str(loaded_db))
    assert result.returncode == 0, result.stderr
    for name in production.MODELS:
        assert name in result.stdout
    assert "R²" in result.stdout and "expanding" in result.stdout
    assert production.DEFAULT_MODEL in cli("cost", "--help").stdout
    bad = cli("cost", "--model", "nope", "--db", str(loaded_db))
    assert bad.returncode == 2 and "model 'nope'" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("cost", "--power-price", "-1"), "--power-price"),
        (("cost", "--power-price", "50"), "--power-price"),
        (("cost", "--electricity-share", "2"), "--electricity-share"),
        (("cost", "--fit-end", "2022-13-01"), "--fit-end"),
        (("episodes", "--merge-gap", "-1"), "--merge-gap"),
        (("episodes", "--min-days", "0"), "--min-days"),
    ],
)
def test_cli_bad_parameter_exits_2_naming_the_option(cli, loaded_db, args, option):
    result = cli(*args, "--db", str(loaded_db))
    assert result.returncode == 2, result.stderr
    assert f"error: {option} " in result.stderr and "Traceback" not in result.stderr
    for name in ("electricity_usd_kwh", "merge_gap_days", "min_days", "drm_fit_end"):
        assert name not in result.stderr


def test_cli_cost_warns_of_hindsight_and_prints_no_placeholder(cli, loaded_db):
    result = cli("cost", "--as-of", "2021-01-01", "--db", str(loaded_db))
    assert result.returncode == 0, result.stderr
    assert "warning:" in result.stdout and "hindsight" in result.stdout
    assert "drm-glassnode-2022" in result.stdout and "2022-09-14" in result.stdout
    later = cli("cost", "--as-of", "2025-12-31", "--db", str(loaded_db))
    assert "warning:" not in later.stdout
    # Before any price or fleet: every figure "n/a", never "$n/a" or "? to ?".
    early = cli("cost", "--as-of", "2010-01-01", "--db", str(loaded_db))
    assert early.returncode == 0, early.stderr
    assert "$n/a" not in early.stdout and "?" not in early.stdout


def test_cli_cost_fleet_rows_reconcile(cli, loaded_db):
    # The table's day power, x 24 h x the price / the BTC it prints, is its electricity cost.
    doc = json.loads(cli("cost", "--as-of", "2022-11-21", "--json", "--db", str(loaded_db)).stdout)
    fl = doc["fleet"]
    for bound in ("lower", "best", "upper"):
        per_btc = fl["power_gw_1d"][bound] * 1e6 * 24 * 0.05 / fl["btc_mined_1d"]
        assert fl["electricity_cost_usd"][bound] == pytest.approx(per_btc, rel=1e-9)
    text = cli("cost", "--as-of", "2022-11-21", "--db", str(loaded_db)).stdout
    assert "power GW, the day" in text and "power GW, 7d mean" in text
    assert f"{fl['btc_mined_1d']:,.2f} BTC mined that day" in text
