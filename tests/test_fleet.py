"""The fleet desk on the real history: closed forms (a constant world reproduces `asics`,
static payback is capex over the daily margin, Bitdeer's static breakeven), the halving
step, PPS against FPPS, a shutdown price worked by hand from the raw files, seeded runs
reproducible to the bit, no look-ahead, and the P&L's monotone response to price,
difficulty and power price."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minerwatch.analyses.asics import asic_economics
from minerwatch.analyses.fleet_decisions import compare_fleets, sensitivity
from minerwatch.analyses.fleet_history import fleet_history
from minerwatch.analyses.fleet_plan import plan_fleet, plan_from, read_plan_inputs
from minerwatch.errors import InputError
from minerwatch.models import finance
from minerwatch.models import fleet_pnl as pnl
from minerwatch.models.scenario_paths import cumulative_subsidy_btc, simulate
from minerwatch.sources.scenario_file import load_scenario

SITE = """[site]
power_price_usd_kwh = {price}
uptime_pct = {uptime}
pool_fee_pct = {fee}
pool_scheme = "{scheme}"
overhead_pct = {overhead}
fixed_usd_month = {fixed}
"""
LOT = """
[[lots]]
model = "{model}"
count = {count}
unit_price_usd = {unit}
"""


def fleet_file(
    tmp_path: Path,
    lots: list[tuple[str, int, float]],
    *,
    name: str = "fleet.toml",
    price: float = 0.05,
    uptime: float = 97,
    fee: float = 2,
    scheme: str = "fpps",
    overhead: float = 0,
    fixed: float = 0,
    extra: str = "",
) -> Path:
    text = SITE.format(
        price=price, uptime=uptime, fee=fee, scheme=scheme, overhead=overhead, fixed=fixed
    )
    text += "".join(LOT.format(model=m, count=c, unit=u) for m, c, u in lots) + extra
    path = tmp_path / name
    path.write_text(text)
    return path


def constant_scenario(tmp_path: Path, fee_btc_per_block: float) -> Path:
    """Nothing moves: flat price and fees, difficulty unchanged at every retarget."""
    path = tmp_path / "constant.toml"
    path.write_text(
        'name = "constant"\n[difficulty]\nmodel = "fixed"\nchange_pct_per_epoch = 0\n'
        "next_from_forecast = false\n"
        '[price]\nmodel = "flat"\n'
        f'[fees]\nmodel = "flat"\nbtc_per_block = {fee_btc_per_block!r}\n'
    )
    return path


def _day_without_retarget(loaded_db: Path, year: str = "2025") -> str:
    """A day of ``year`` whose blocks all lie inside one epoch (mean difficulty equals the
    last block's), so the day's hashprice is the asics figure exactly."""
    from minerwatch.frames import daily_frame
    from minerwatch.store import open_store

    with open_store(loaded_db, read_only=True) as store:
        frame = daily_frame(store)
    days = frame.day.astype(str)
    ok = (
        (np.char.startswith(days, year))
        & np.isclose(frame.difficulty_mean, frame.difficulty_last, rtol=1e-14, atol=0)
        & np.isfinite(frame.price_usd)
    )
    return str(days[np.flatnonzero(ok)[40]])


# -- closed forms ---------------------------------------------------------------------------


def test_history_of_one_day_reproduces_asics(tmp_path, loaded_db):
    day = _day_without_retarget(loaded_db)
    path = fleet_file(tmp_path, [("Antminer S19j Pro", 1, 0), ("Antminer S21", 1, 0)])
    history = fleet_history(loaded_db, path, day, day)
    asics = asic_economics(loaded_db, day, power_price_usd_kwh=0.05, pool_fee_pct=2)
    by_model = {str(m): i for i, m in enumerate(asics.machines.model)}
    for row in history.lot_days:
        i = by_model[str(row["lot"])]
        assert row["revenue_usd"] == pytest.approx(asics.machines.revenue_usd_day[i], rel=1e-12)
        assert row["power_cost_usd"] == pytest.approx(
            asics.machines.power_cost_usd_day[i], rel=1e-12
        )
        assert row["shutdown_price_usd"] == pytest.approx(
            asics.machines.shutdown_price_usd[i], rel=1e-12
        )
        assert row["above_shutdown"] is not bool(asics.machines.underwater[i])


def test_constant_world_plan_is_asics_every_day(tmp_path, loaded_db):
    """Flat price and fees, unchanged difficulty: every run and every month earns the start
    day's asics revenue and power cost times the month's days (until the halving)."""
    as_of = "2025-12-31"
    path = fleet_file(tmp_path, [("Antminer S21", 10, 3000)])
    start, fleet, _ = read_plan_inputs(loaded_db, path, "base", as_of)
    fees = start.fees_btc_per_block[-1]
    scenario = load_scenario(constant_scenario(tmp_path, float(fees)))
    plan = plan_from(start, fleet, 12, scenario, runs=40, seed=3)
    assert "the forecast on the start line is for information" in " ".join(plan.notes)
    asics = asic_economics(loaded_db, as_of, power_price_usd_kwh=0.05, pool_fee_pct=2)
    i = list(asics.machines.model).index("Antminer S21")
    revenue_day = 10 * asics.machines.revenue_usd_day[i]
    margin_day = revenue_day - 10 * asics.machines.power_cost_usd_day[i]
    for month in plan.months_table:
        days = np.busday_count(
            np.datetime64(month.month + "-01"),
            np.datetime64(month.month + "-01", "M") + 1,
            weekmask="1111111",
        )
        assert month.revenue_usd.p5 == pytest.approx(days * revenue_day, rel=1e-9)
        assert month.revenue_usd.p95 == pytest.approx(days * revenue_day, rel=1e-9)
        assert month.margin_usd.p50 == pytest.approx(days * margin_day, rel=1e-9)
    # static payback = capex / daily margin (in months of 365.25/12 days)
    assert plan.payback.static_months * pnl.DAYS_PER_YEAR / 12 == pytest.approx(
        30_000 / margin_day, rel=1e-12
    )


def _fee_scenario(tmp_path: Path, name: str, fees: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(
        f'name = "{name}"\n[difficulty]\nmodel = "fixed"\nchange_pct_per_epoch = 0\n'
        'next_from_forecast = false\n[price]\nmodel = "flat"\n[fees]\n' + fees
    )
    return path


def test_fee_paths_drift_and_file(tmp_path, loaded_db):
    """Fees per block: a drift grows the flat level by its rate a year; a file gives every
    day's value; a file that stops short names the first day it lacks."""
    path = fleet_file(tmp_path, [("Antminer S21", 10, 3000)])
    start, fleet, _ = read_plan_inputs(loaded_db, path, "base", "2025-12-31")
    days = 400
    drift = load_scenario(
        _fee_scenario(tmp_path, "drift", 'model = "drift"\nbtc_per_block = 0.02\n'
                      "drift_pct_per_year = 50\n")
    )  # fmt: skip
    fees = simulate(start, drift, days, np.random.default_rng(0), 2).fees_btc_per_block
    t = np.arange(1, days + 1)
    np.testing.assert_allclose(fees[1], 0.02 * 1.5 ** (t / 365.25), rtol=1e-12)
    wanted = np.datetime64("2026-01-01") + np.arange(days)
    values = np.round(0.01 + 0.001 * (np.arange(days) % 17), 6)
    (tmp_path / "fees.csv").write_text(
        "day,fees_btc_per_block\n"
        + "".join(f"{d},{v:.6f}\n" for d, v in zip(wanted.astype(str), values, strict=True))
    )
    from_file = load_scenario(_fee_scenario(tmp_path, "file", 'model = "csv"\nfile = "fees.csv"\n'))
    fees = simulate(start, from_file, days, np.random.default_rng(0), 3).fees_btc_per_block
    np.testing.assert_array_equal(fees, np.broadcast_to(values, (3, days)))
    with pytest.raises(ValueError, match=r"fees.csv: no fees per block for 2027-02-05"):
        simulate(start, from_file, days + 1, np.random.default_rng(0), 3)
    # a file holding one value every day is the flat model at that value, to the bit (a
    # plan simulates to the end of the lots' lives: five years here)
    every = np.datetime64("2026-01-01") + np.arange(5 * 366)
    (tmp_path / "same.csv").write_text(
        "day,fees_btc_per_block\n" + "".join(f"{d},0.0125\n" for d in every.astype(str))
    )
    same = load_scenario(_fee_scenario(tmp_path, "same", 'model = "csv"\nfile = "same.csv"\n'))
    flat = load_scenario(
        _fee_scenario(tmp_path, "flat", 'model = "flat"\nbtc_per_block = 0.0125\n')
    )
    a = plan_from(start, fleet, 12, same, runs=20, seed=1)
    b = plan_from(start, fleet, 12, flat, runs=20, seed=1)
    assert a.npv_runs.tobytes() == b.npv_runs.tobytes()
    # the plan refuses a fee file shorter than the plan, naming it
    with pytest.raises(InputError, match=r"no fees per block for 2027-02-05"):
        plan_from(start, fleet, 12, from_file, runs=20, seed=1)


def test_fee_file_errors_name_file_line_and_column(tmp_path):
    (tmp_path / "sats.csv").write_text(
        "day,fees_btc_per_block\n2026-01-01,0.02\n2026-01-02,2500000\n"
    )
    with pytest.raises(InputError, match=r"out of range") as e:
        load_scenario(_fee_scenario(tmp_path, "sats", 'model = "csv"\nfile = "sats.csv"\n'))
    assert (e.value.line, e.value.column) == (3, "fees_btc_per_block")
    with pytest.raises(InputError, match=r"no such file .*none.csv") as e:
        load_scenario(_fee_scenario(tmp_path, "none", 'model = "csv"\nfile = "none.csv"\n'))
    assert e.value.line == 10


def test_no_machine_runs_before_its_model_is_on_sale(tmp_path, loaded_db):
    """The S21 was launched in 2023-09 (the catalog): a lot of them without a purchase date
    earns nothing until the catalog's first day on sale, 2023-10-01, and says so; a plan
    from before then buys it that month."""
    path = fleet_file(tmp_path, [("Antminer S21", 10, 3000), ("Antminer S19j Pro", 10, 0)])
    history = fleet_history(loaded_db, path, "2023-09-25", "2023-10-05")
    s21 = [r for r in history.lot_days if r["lot"] == "Antminer S21"]
    served = {r["day"]: r["in_service"] for r in s21}
    assert not any(v for d, v in served.items() if d < "2023-10-01")
    assert all(v for d, v in served.items() if d >= "2023-10-01")
    assert all(r["btc"] == 0 for r in s21 if r["day"] < "2023-10-01")
    s19 = [r for r in history.lot_days if r["lot"] == "Antminer S19j Pro"]
    assert all(r["in_service"] and r["btc"] > 0 for r in s19)
    assert "lot Antminer S21: the model was not on sale before 2023-10-01" in " ".join(
        history.notes
    )
    dated = fleet_file(
        tmp_path, [], extra='[[lots]]\nmodel = "Antminer S21"\ncount = 10\n'
        'purchase_date = 2023-09-15\n', name="dated.toml"
    )  # fmt: skip
    early = fleet_history(loaded_db, dated, "2023-09-10", "2023-10-05")
    assert [r["day"] for r in early.lot_days if r["in_service"]][0] == "2023-10-01"
    assert "bought before then, counted from then" in " ".join(early.notes)
    gone = fleet_history(loaded_db, path, "2023-09-01", "2023-09-20")
    assert "not on sale before 2023-10-01; not in service in the period" in " ".join(gone.notes)
    start, fleet, base = read_plan_inputs(loaded_db, path, "base", "2023-07-15")
    plan = plan_from(start, fleet, 6, base, runs=20, horizon_months=72)
    assert "not on sale before 2023-10-01" in " ".join(plan.notes)
    months = {m.month: m for m in plan.months_table}
    only_s19 = fleet_file(tmp_path, [("Antminer S19j Pro", 10, 0)], name="s19.toml")
    _, alone_fleet, _ = read_plan_inputs(loaded_db, only_s19, "base", "2023-07-15")
    alone = plan_from(start, alone_fleet, 6, base, runs=20, horizon_months=72)
    for m in alone.months_table:  # the S21 adds nothing before October
        if m.month < "2023-10":
            assert months[m.month].revenue_usd.p50 == pytest.approx(m.revenue_usd.p50, rel=1e-12)
        else:
            assert months[m.month].revenue_usd.p50 > 1.5 * m.revenue_usd.p50


def test_static_figures_count_only_the_lots_the_plan_holds(tmp_path, loaded_db):
    """A lot past its life before the start, and one bought after the plan's months, add
    neither capex nor margin (nor a demand-response credit) to the static payback; the
    lot past its life is left out of the lots' table, with a note."""
    credit = '[curtailment]\nrule = "economic"\n[demand_response]\ncredit_usd_mwh = 20\n'
    live = fleet_file(tmp_path, [("Antminer S21", 10, 3000)], extra=credit, name="live.toml")
    dated = (
        '[[lots]]\nname = "retired"\nmodel = "Antminer S19j Pro"\ncount = 500\n'
        "unit_price_usd = 100\npurchase_date = 2021-07-01\nlife_years = 3\n"
        '[[lots]]\nname = "later"\nmodel = "Antminer S21 XP"\ncount = 50\n'
        "unit_price_usd = 5000\npurchase_date = 2027-06-01\n"
    )
    mixed = fleet_file(tmp_path, [("Antminer S21", 10, 3000)], extra=credit + dated)
    a = plan_fleet(loaded_db, live, 12, runs=20, as_of="2025-12-31")
    b = plan_fleet(loaded_db, mixed, 12, runs=20, as_of="2025-12-31")
    assert b.payback.capex_usd == a.payback.capex_usd == 30_000
    assert b.payback.static_months == pytest.approx(a.payback.static_months, rel=1e-12)
    assert [(lot.lot, lot.shutdown_order) for lot in b.lots] == [("Antminer S21", 1)]
    assert "lot retired is past its life before the plan starts" in " ".join(b.notes)
    assert "lot later: bought on 2027-06-01, after the plan's months" in " ".join(b.notes)
    longer = plan_fleet(loaded_db, mixed, 24, runs=20, as_of="2025-12-31")
    later = {lot.lot: lot for lot in longer.lots}["later"]
    assert later.retire_day == "2032-06-01"  # five years of 365.25 days, the first day out
    assert longer.payback.capex_usd == 30_000 + 50 * 5000
    assert "no [resale] curve" in " ".join(a.notes)


def test_bitcoin_bought_with_the_capital_when_the_fleet_spends_it(tmp_path, loaded_db):
    """A lot bought in March is set against the BTC its capex buys at March's mean price,
    not against a day-one purchase it did not make (the price drifts, so the two differ);
    in a constant world (flat price P) the fleet holds its months' margins in BTC, the
    capex not taken from it."""
    as_of = "2025-12-31"
    lots = '[[lots]]\nmodel = "Antminer S21"\ncount = 10\nunit_price_usd = 3000\n'
    path = fleet_file(tmp_path, [], extra=lots + "purchase_date = 2026-03-15\n")
    start, fleet, _ = read_plan_inputs(loaded_db, path, "base", as_of)
    fee = float(start.fees_btc_per_block[-1])
    scenario = load_scenario(constant_scenario(tmp_path, fee))
    plan = plan_from(start, fleet, 12, scenario, runs=20, seed=3)
    price = start.price_usd
    assert plan.btc_return.btc_if_bought == pytest.approx(30_000 / price, rel=1e-12)
    held = sum(m.margin_usd.p50 for m in plan.months_table) / price
    assert plan.btc_return.fleet_btc.p50 == pytest.approx(held, rel=1e-9)
    assert plan.btc_return.fleet_over_bought_pct.p50 == pytest.approx(
        100 * (held / (30_000 / price) - 1), rel=1e-9
    )
    rising = tmp_path / "rising.toml"
    rising.write_text(
        constant_scenario(tmp_path, fee)
        .read_text()
        .replace(
            '[price]\nmodel = "flat"\n', '[price]\nmodel = "drift"\ndrift_pct_per_year = 100\n'
        )
    )
    up = plan_from(start, fleet, 12, load_scenario(rising), runs=20, seed=3)
    march = np.arange(59, 90) + 1  # days after 2025-12-31: 1 March 2026 is the 60th
    march_price = price * np.mean(2.0 ** (march / 365.25))
    assert up.btc_return.btc_if_bought == pytest.approx(30_000 / march_price, rel=1e-9)
    assert up.btc_return.btc_if_bought < 0.9 * 30_000 / price


def test_cli_history_shows_demand_response_credits_where_earned(cli, loaded_db, tmp_path):
    extra = '[curtailment]\nrule = "economic"\n[demand_response]\ncredit_usd_mwh = 40\n'
    paid = fleet_file(tmp_path, [("Antminer S19j Pro", 100, 0)], price=0.08, extra=extra)
    plain = fleet_file(tmp_path, [("Antminer S19j Pro", 100, 0)], price=0.08, name="p.toml")
    days = ("--from", "2025-11-01", "--to", "2025-11-30", "--db", loaded_db)
    with_credits = cli("fleet", paid, *days)
    assert with_credits.returncode == 0, with_credits.stderr
    header = next(line for line in with_credits.stdout.splitlines() if "revenue" in line)
    assert "credits" in header
    assert "credits" not in next(
        line for line in cli("fleet", plain, *days).stdout.splitlines() if "revenue" in line
    )
    pps = fleet_file(tmp_path, [("Antminer S21", 1, 0)], scheme="pps", name="pps.toml")
    assert "the day's subsidy, mean difficulty" in " ".join(cli("fleet", pps, *days).stdout.split())


def test_a_lookback_beyond_the_history_is_said(tmp_path, loaded_db):
    path = fleet_file(tmp_path, [("Antminer S21", 10, 3000)])
    long = tmp_path / "long.toml"
    long.write_text("[price]\nlookback_days = 100000\n")
    notes = " ".join(plan_fleet(loaded_db, path, 3, long, runs=20, as_of="2025-12-31").notes)
    assert "lookback of 100,000 days reaches before the history held" in notes
    assert "since 2009-01-03" in notes
    assert "lookback" not in " ".join(plan_fleet(loaded_db, path, 3, runs=20).notes)


def test_history_depreciates_what_the_machines_cost(tmp_path, loaded_db):
    """All-in cost: straight-line depreciation of purchase_price_usd (else the unit price)
    over the life, per day in service; the plan's capital stays the unit price."""
    lot = (
        '[[lots]]\nmodel = "Antminer S21"\ncount = 500\nunit_price_usd = 1050\n'
        "purchase_date = 2024-03-01\n"
    )
    used = fleet_file(tmp_path, [], extra=lot, name="used.toml")
    paid = fleet_file(tmp_path, [], extra=lot + "purchase_price_usd = 2800\n")
    a = fleet_history(loaded_db, used, "2025-01-01", "2025-12-31").totals
    b = fleet_history(loaded_db, paid, "2025-01-01", "2025-12-31").totals
    assert a.depreciation_usd == pytest.approx(500 * 1050 / (5 * 365.25) * 365, rel=1e-12)
    assert b.depreciation_usd == pytest.approx(500 * 2800 / (5 * 365.25) * 365, rel=1e-12)
    assert b.all_in_cost_usd_per_btc - a.all_in_cost_usd_per_btc == pytest.approx(
        (b.depreciation_usd - a.depreciation_usd) / b.btc, rel=1e-12
    )
    assert b.cash_cost_usd_per_btc == a.cash_cost_usd_per_btc
    plan_a = plan_fleet(loaded_db, used, 3, runs=20, as_of="2025-12-31")
    plan_b = plan_fleet(loaded_db, paid, 3, runs=20, as_of="2025-12-31")
    assert plan_a.payback.capex_usd == plan_b.payback.capex_usd == 500 * 1050


def test_static_payback_is_bitdeers_static_breakeven(tmp_path, loaded_db):
    """Bitdeer: static breakeven days = hashrate fee / (hashrate * (output per TH/s per day
    - electricity per TH/s per day)), with the output in USD at today's price."""
    path = fleet_file(tmp_path, [("Antminer S21", 100, 2400)], uptime=100, fee=0, price=0.04)
    plan = plan_fleet(loaded_db, path, 6, runs=20, as_of="2025-06-30")
    start, _, _ = read_plan_inputs(loaded_db, path, "base", "2025-06-30")
    ths = 100 * 200.0
    output_usd_per_th_day = start.btc_per_th_day_fpps * start.price_usd
    electricity_per_th_day = 3500 / 200 * 24 / 1000 * 0.04
    days = 100 * 2400 / (ths * (output_usd_per_th_day - electricity_per_th_day))
    assert plan.payback.static_months * pnl.DAYS_PER_YEAR / 12 == pytest.approx(days, rel=1e-12)


def test_static_payback_says_does_not_pay_back_when_underwater(tmp_path, loaded_db):
    path = fleet_file(tmp_path, [("Antminer S9", 100, 50)], price=0.08)
    plan = plan_fleet(loaded_db, path, 6, runs=20, as_of="2025-12-31")
    assert plan.payback.static_months is None
    assert plan.payback.does_not_pay_back


def test_shutdown_price_worked_by_hand_from_the_raw_files(tmp_path, loaded_db, cm_rows, epochs_csv):
    """S19j Pro (104 TH/s, 3068 W) at 0.06 $/kWh, 5% overhead, 2% fee on 2025-06-15: the
    BTC price at which a day's revenue meets its power cost, from the Coin Metrics row and
    the epoch's difficulty read with csv alone."""
    day = "2025-06-15"
    upto = [r for r in cm_rows if r["time"][:10] <= day]
    row = upto[-1]
    end_height = sum(int(float(r["BlkCnt"] or 0)) for r in upto) - 1  # genesis is height 0
    first_height = end_height - int(float(row["BlkCnt"])) + 1
    with open(epochs_csv, newline="") as f:
        starts = {int(r["start_height"]): float(r["difficulty"]) for r in csv.DictReader(f)}
    epoch = first_height // 2016 * 2016
    assert end_height // 2016 * 2016 == epoch, "the day lies inside one epoch"
    difficulty = starts[epoch]
    blocks = float(row["BlkCnt"])
    reward_per_block = (float(row["IssTotNtv"]) + float(row["FeeTotNtv"])) / blocks
    btc_per_th_day = reward_per_block * 86_400 * 1e12 / (difficulty * 2**32)
    btc_day = 104 * btc_per_th_day * 0.98 * 0.97
    cost_day = 3068 * 1.05 * 24 / 1000 * 0.97 * 0.06
    by_hand = cost_day / btc_day
    path = fleet_file(tmp_path, [("Antminer S19j Pro", 1, 0)], price=0.06, overhead=5)
    history = fleet_history(loaded_db, path, day, day)
    # the day's mean difficulty is Coin Metrics', within 1e-8 of the epoch's
    assert history.lot_days[0]["shutdown_price_usd"] == pytest.approx(by_hand, rel=1e-7)
    assert 40_000 < by_hand < 120_000


def test_pps_pays_the_subsidy_share_of_fpps(tmp_path, loaded_db, cm_rows):
    f = fleet_history(
        loaded_db, fleet_file(tmp_path, [("Antminer S21", 5, 0)]), "2025-03-01", "2025-03-10"
    )
    p = fleet_history(
        loaded_db,
        fleet_file(tmp_path, [("Antminer S21", 5, 0)], scheme="pps", name="pps.toml"),
        "2025-03-01",
        "2025-03-10",
    )
    rows = {r["time"][:10]: r for r in cm_rows}
    for a, b in zip(f.days, p.days, strict=True):
        cm = rows[str(a["day"])]
        share = float(cm["IssTotNtv"]) / (float(cm["IssTotNtv"]) + float(cm["FeeTotNtv"]))
        assert b["btc"] == pytest.approx(a["btc"] * share, rel=1e-12)
    assert p.totals.btc < f.totals.btc


# -- the halving ----------------------------------------------------------------------------


def test_subsidy_steps_between_heights_1049999_and_1050000():
    h = np.array([1_049_999.0, 1_050_000.0, 1_050_001.0])
    per_block = np.diff(cumulative_subsidy_btc(h))
    assert per_block.tolist() == [3.125, 1.5625]
    # the whole schedule: 21 million less the satoshi rounding of the late eras
    assert cumulative_subsidy_btc(np.array([64 * 210_000.0]))[0] == pytest.approx(21e6, rel=1e-9)


def test_plan_halving_falls_where_block_production_puts_it(tmp_path, loaded_db):
    """Unchanged difficulty and hashrate: 144 blocks a day exactly, so height 1,050,000 is
    mined on day (1,050,000 - next height) // 144 after the start, and the subsidy halves
    within that day."""
    start, _, _ = read_plan_inputs(
        loaded_db, fleet_file(tmp_path, [("Antminer S21", 1, 0)]), "base", "2025-12-31"
    )
    scenario = load_scenario(constant_scenario(tmp_path, 0.02))
    paths = simulate(start, scenario, 900, np.random.default_rng(1), 3)
    k = (1_050_000 - start.next_height) // 144
    assert (paths.halving_day == k).all()
    np.testing.assert_allclose(paths.blocks, 144.0, rtol=1e-9)
    assert paths.subsidy_btc[0, k - 1] == pytest.approx(3.125, rel=1e-12)
    assert paths.subsidy_btc[0, k + 1] == pytest.approx(1.5625, rel=1e-12)
    before = 1_050_000 - (start.next_height + 144 * k)
    assert paths.subsidy_btc[0, k] == pytest.approx(
        (before * 3.125 + (144 - before) * 1.5625) / 144, rel=1e-9
    )
    # faster blocks (+4% a retarget) bring the halving earlier
    fast = dataclasses.replace(scenario, change_pct_per_epoch=4.0)
    assert (simulate(start, fast, 900, np.random.default_rng(1), 3).halving_day < k).all()


# -- runs, seeds, as_of -------------------------------------------------------------------


def test_seeded_plan_reproduces_to_the_bit(tmp_path, loaded_db):
    path = fleet_file(tmp_path, [("Antminer S21", 50, 2500), ("Antminer S19j Pro", 80, 300)])
    a = plan_fleet(loaded_db, path, 12, runs=1500, seed=11)
    b = plan_fleet(loaded_db, path, 12, runs=1500, seed=11)
    assert np.array_equal(a.npv_runs, b.npv_runs)
    assert json.dumps(a.to_dict()) == json.dumps(b.to_dict())
    c = plan_fleet(loaded_db, path, 12, runs=1000, seed=11)
    assert np.array_equal(a.npv_runs[:1000], c.npv_runs)  # the first chunk is the same
    d = plan_fleet(loaded_db, path, 12, runs=1000, seed=12)
    assert not np.array_equal(c.npv_runs, d.npv_runs)


def test_plan_reads_nothing_after_as_of(tmp_path, loaded_db, db_to_2022_11_21):
    path = fleet_file(tmp_path, [("Antminer S19j Pro", 100, 2000)])
    full = plan_fleet(loaded_db, path, 12, runs=200, as_of="2022-11-21")
    held = plan_fleet(db_to_2022_11_21, path, 12, runs=200)
    assert np.array_equal(full.npv_runs, held.npv_runs)
    assert full.to_dict() == {**held.to_dict(), "fleet_file": full.fleet_file}


def test_history_of_a_day_does_not_change_when_later_days_arrive(
    tmp_path, loaded_db, db_to_2022_11_21
):
    path = fleet_file(tmp_path, [("Antminer S19j Pro", 100, 2000)])
    a = fleet_history(loaded_db, path, "2022-11-01", "2022-11-21")
    b = fleet_history(db_to_2022_11_21, path, "2022-11-01")
    assert a.to_dict() == b.to_dict()


# -- the economics respond the right way ----------------------------------------------------

FACTORS = st.floats(min_value=0.5, max_value=2.0, allow_nan=False)


@pytest.fixture(scope="module")
def small_plan(tmp_path_factory, loaded_db):
    tmp = tmp_path_factory.mktemp("fleet")
    path = fleet_file(
        tmp,
        [("Antminer S19j Pro", 100, 400), ("Antminer S21", 100, 2500)],
        price=0.06,
        overhead=5,
        fixed=2000,
        extra='[curtailment]\nrule = "economic"\n',
    )
    return read_plan_inputs(loaded_db, path, "base", "2025-06-30")


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(FACTORS, FACTORS)
def test_npv_rises_with_price_and_falls_with_difficulty(small_plan, f1, f2):
    start, fleet, scenario = small_plan
    lo, hi = sorted((f1, f2))

    def npv(**changes):
        return plan_from(dataclasses.replace(start, **changes), fleet, 6, scenario, 60, 5).npv_runs

    assert (npv(price_usd=start.price_usd * lo) <= npv(price_usd=start.price_usd * hi) + 1e-6).all()
    assert (
        npv(difficulty=start.difficulty * lo) >= npv(difficulty=start.difficulty * hi) - 1e-6
    ).all()


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(FACTORS, FACTORS)
def test_npv_falls_with_power_price(small_plan, f1, f2):
    start, fleet, scenario = small_plan
    lo, hi = sorted((f1, f2))

    def npv(f):
        site = dataclasses.replace(fleet.site, power_price_usd_kwh=0.06 * f)
        return plan_from(start, dataclasses.replace(fleet, site=site), 6, scenario, 60, 5).npv_runs

    assert (npv(lo) >= npv(hi) - 1e-6).all()


def test_economic_curtailment_never_loses_on_power(tmp_path, loaded_db):
    """With the economic rule a lot never runs at a loss on power; without it, an old
    machine loses money on the days below its shutdown price."""
    always = fleet_history(
        loaded_db,
        fleet_file(tmp_path, [("Antminer S19j Pro", 10, 0)], price=0.07),
        "2025-01-01",
        "2025-12-31",
    )
    ruled = fleet_history(
        loaded_db,
        fleet_file(
            tmp_path,
            [("Antminer S19j Pro", 10, 0)],
            price=0.07,
            name="ruled.toml",
            extra='[curtailment]\nrule = "economic"\n[demand_response]\ncredit_usd_mwh = 10\n',
        ),
        "2025-01-01",
        "2025-12-31",
    )
    below = [r for r in always.lot_days if not r["above_shutdown"]]
    assert below and all(r["margin_usd"] < 0 for r in below)
    kwh = 10 * 3068 * 24 / 1000 * 0.97
    # with a credit of $10/MWh a day's run must also earn the credit it forgoes
    forgo = {r["day"] for r in always.lot_days if r["margin_usd"] < kwh * 10 / 1000}
    stopped = [r for r in ruled.lot_days if r["run_share"] == 0]
    assert {r["day"] for r in stopped} == forgo and len(forgo) > len(below)
    for r in stopped:  # off: no BTC, no power, the credit for the energy not drawn
        assert r["btc"] == 0 and r["power_cost_usd"] == 0
        assert r["dr_credit_usd"] == pytest.approx(kwh * 10 / 1000, rel=1e-12)
    assert ruled.totals.margin_usd > always.totals.margin_usd


def test_scenarios_move_the_paths_as_named(tmp_path, loaded_db):
    start, _, _ = read_plan_inputs(
        loaded_db, fleet_file(tmp_path, [("Antminer S21", 1, 0)]), "base", "2025-12-31"
    )
    days = 500
    base = simulate(start, load_scenario("base"), days, np.random.default_rng(7), 300)
    bear = simulate(start, load_scenario("bear"), days, np.random.default_rng(7), 300)
    ai = simulate(start, load_scenario("hashrate-to-ai"), days, np.random.default_rng(7), 300)
    storm = simulate(start, load_scenario("storm"), days, np.random.default_rng(7), 300)
    # bear: the price 40% below base's from day 91 on, the same draws
    np.testing.assert_allclose(bear.price_usd[:, 90:] / base.price_usd[:, 90:], 0.6, rtol=1e-12)
    # and hashrate answers: difficulty lower than base's a year on
    assert np.median(bear.difficulty[:, 400] / base.difficulty[:, 400]) < 0.8
    # 10% of hashrate leaves over a year: difficulty about 10% lower, hashprice higher
    ratio = np.median(ai.difficulty[:, 450] / base.difficulty[:, 450])
    assert 0.87 < ratio < 0.93
    assert (ai.price_usd == base.price_usd).all()
    # the storm: the site is off from 24 January for 7 days
    off = np.flatnonzero(storm.site_uptime_factor == 0)
    first = start.day + 1 + off
    assert [str(d) for d in first] == [f"{y}-01-{d}" for y in (2026, 2027) for d in range(24, 31)]
    assert (base.site_uptime_factor == 1).all()


# -- finance ----------------------------------------------------------------------------------


def test_annuity_repays_the_principal_and_irr_recovers_the_rate():
    pay, interest = finance.loan_schedule(100_000, 12.0, 24, 30)
    assert pay[:24] == pytest.approx([pay[0]] * 24) and (pay[24:] == 0).all()
    assert pay.sum() - interest.sum() == pytest.approx(100_000, rel=1e-12)
    r = 0.01  # 1% a month
    assert pay[0] == pytest.approx(100_000 * r / (1 - (1 + r) ** -24), rel=1e-12)
    # lending 100,000 and receiving the payments: IRR is the loan's effective rate
    irr = finance.irr_pct(np.array([-100_000.0]), pay[None, :24])[0]
    assert irr == pytest.approx(((1 + r) ** 12 - 1) * 100, rel=1e-9)
    assert finance.npv(-100_000.0, pay[:24], irr)[()] == pytest.approx(0, abs=1e-4)
    assert math.isnan(finance.irr_pct(np.array([-1.0]), np.zeros((1, 12)))[0])
    assert finance.payback_month(-100.0, np.array([30.0, 30, 30, 30, 30]))[()] == 4
    assert finance.payback_month(-100.0, np.array([10.0, 10]))[()] == math.inf


def test_the_plan_months_carry_the_cash_schedule_that_sums_to_the_npv(tmp_path, loaded_db):
    """Each month's scheduled money (fixed, purchases, sales, the loan) and the equity cash
    flow: at a 0% discount rate, in a constant world, the running sum at the plan's end is
    the NPV; the CSV carries every column."""
    extra = (
        '[[lots]]\nname = "later"\nmodel = "Antminer S21"\ncount = 5\nunit_price_usd = 3000\n'
        "purchase_date = 2026-04-10\nlife_years = 1\n"
        "[resale]\ncurve = [[0, 100], [12, 40]]\n"
        "[financing]\nprincipal_usd = 20000\nrate_pct = 12\nterm_months = 6\n"
    )
    path = fleet_file(tmp_path, [("Antminer S21", 10, 3000)], fixed=500, extra=extra)
    path.write_text(path.read_text().replace("fixed_usd_month = 500", "fixed_usd_month = 500\n"
                                             "discount_rate_pct = 0"))  # fmt: skip
    start, fleet, _ = read_plan_inputs(loaded_db, path, "base", "2025-12-31")
    scenario = load_scenario(constant_scenario(tmp_path, float(start.fees_btc_per_block[-1])))
    plan = plan_from(start, fleet, 12, scenario, runs=20, seed=3)
    months = {m.month: m for m in plan.months_table}
    assert months["2026-01"].capex_usd == 30_000 and months["2026-04"].capex_usd == 15_000
    assert sum(m.capex_usd for m in plan.months_table) == 45_000
    pay = finance.loan_schedule(20_000, 12.0, 6, 6)[0]
    assert months["2026-01"].loan_usd == pytest.approx(20_000 - pay[0], rel=1e-12)
    assert sum(m.loan_usd for m in plan.months_table) == pytest.approx(20_000 - pay.sum())
    # both lots are sold at the plan's end (the later one's life runs past it)
    assert [m.resale_usd > 0 for m in plan.months_table] == [False] * 11 + [True]
    assert all(m.fixed_usd == pytest.approx(500) for m in plan.months_table)
    for m in plan.months_table:
        want = m.margin_usd.p50 - m.capex_usd + m.resale_usd + m.loan_usd
        assert m.cash_flow_usd.p50 == pytest.approx(want, rel=1e-9, abs=1e-6)
    last = plan.months_table[-1].cumulative_cash_flow_usd.p50
    assert last == pytest.approx(plan.npv_usd.p50, rel=1e-9)
    out = plan.write_csv(tmp_path / "plan.csv")
    with open(out, newline="") as f:
        header = next(csv.reader(f))
    for column in ("power_usd_p50", "capex_usd", "loan_usd", "cumulative_cash_flow_usd_p95"):
        assert column in header


def test_a_loan_costs_the_plan_its_interest_whatever_its_term(tmp_path, loaded_db):
    """At a 0% discount rate a loan adds to the plan's NPV its draw less what is paid back
    within the plan and what it still owes at the end (repaid with the sale): minus the
    interest of the plan's months, for a term shorter or longer than the plan."""
    path = fleet_file(tmp_path, [("Antminer S21", 10, 3000)], name="none.toml")
    path.write_text(path.read_text().replace("[[lots]]", "discount_rate_pct = 0\n[[lots]]", 1))
    start, fleet, _ = read_plan_inputs(loaded_db, path, "base", "2025-12-31")
    scenario = load_scenario(constant_scenario(tmp_path, float(start.fees_btc_per_block[-1])))
    base = plan_from(start, fleet, 12, scenario, runs=10, seed=1).npv_usd.p50
    for term in (6, 24, 120):
        loan = f"[financing]\nprincipal_usd = 100000\nrate_pct = 12\nterm_months = {term}\n"
        with_loan = tmp_path / f"loan{term}.toml"
        with_loan.write_text(path.read_text() + loan)
        _, f, _ = read_plan_inputs(loaded_db, with_loan, "base", "2025-12-31")
        npv = plan_from(start, f, 12, scenario, runs=10, seed=1).npv_usd.p50
        interest = finance.loan_schedule(100_000, 12.0, term, 12)[1].sum()
        assert npv - base == pytest.approx(-interest, rel=1e-9), term
    pay, interest = finance.loan_schedule(100_000, 12.0, 24, 24)
    owed = 100_000 - np.cumsum(pay - interest)
    for k in (0, 1, 12, 24, 30):
        want = 100_000.0 if k == 0 else max(float(owed[min(k, 24) - 1]), 0.0)
        assert finance.loan_balance_usd(100_000, 12.0, 24, k) == pytest.approx(want, abs=1e-6)


def test_a_loan_dated_before_the_plans_first_day_was_drawn_before_it(tmp_path, loaded_db):
    """A plan from 16 December: a loan dated 1 December was drawn before it (its payments
    and what it owes at the end count, not its draw); one dated 16 December is drawn on
    day one. And the MIRR says over how many runs it is taken."""
    path = fleet_file(tmp_path, [("Antminer S21", 10, 3000)], name="base.toml")
    path.write_text(path.read_text().replace("[[lots]]", "discount_rate_pct = 0\n[[lots]]", 1))
    start, fleet, _ = read_plan_inputs(loaded_db, path, "base", "2025-12-15")
    scenario = load_scenario(constant_scenario(tmp_path, float(start.fees_btc_per_block[-1])))
    base = plan_from(start, fleet, 12, scenario, runs=10, seed=1).npv_usd.p50
    npv = {}
    for day in ("2025-12-01", "2025-12-16"):
        loan = (
            "[financing]\nprincipal_usd = 100000\nrate_pct = 12\nterm_months = 24\n"
            f"start_date = {day}\n"
        )
        dated = tmp_path / f"loan{day}.toml"
        dated.write_text(path.read_text() + loan)
        _, f, _ = read_plan_inputs(loaded_db, dated, "base", "2025-12-15")
        npv[day] = plan_from(start, f, 12, scenario, runs=10, seed=1).npv_usd.p50 - base
    assert npv["2025-12-16"] == pytest.approx(
        -finance.loan_schedule(100_000, 12.0, 24, 12)[1].sum(), rel=1e-9
    )
    assert npv["2025-12-01"] < -100_000  # paid back in full, the draw before the plan
    free = fleet_file(tmp_path, [("Antminer S21", 10, 0)], name="free.toml")
    plan = plan_fleet(loaded_db, free, 6, runs=20, as_of="2025-12-31")
    assert plan.mirr_undefined_share > 0.5


def test_mirr_closed_forms_and_flows_without_an_irr():
    """An outlay P, then A at each of n month ends: FV = A ((1 + r)**n - 1) / r at the
    reinvestment rate r, MIRR_month = (FV / P)**(1/n) - 1; it lies between the finance rate
    and the IRR when the IRR is above it; it exists where the IRR does not (Lin 1976)."""
    r = finance.monthly_rate(10.0)
    n, a, p = 24, 5_000.0, 100_000.0
    month = (a * ((1 + r) ** n - 1) / r / p) ** (1 / n) - 1
    mirr = finance.mirr_pct(np.array([-p]), np.full((1, n), a), 10.0)[0]
    assert mirr == pytest.approx(((1 + month) ** 12 - 1) * 100, rel=1e-12)
    irr = finance.irr_pct(np.array([-p]), np.full((1, n), a))[0]
    assert 10.0 < mirr < irr
    # outflows discounted at the finance rate: -P now and -B at month 3's end
    flows = np.zeros(n)
    flows[2], flows[10:] = -20_000.0, 9_000.0
    pv = p + 20_000.0 / (1 + r) ** 3
    fv = sum(9_000.0 * (1 + r) ** (n - t) for t in range(11, n + 1))
    want = (((fv / pv) ** (1 / n)) ** 12 - 1) * 100
    assert finance.mirr_pct(-p, flows, 10.0)[()] == pytest.approx(want, rel=1e-12)
    # a flow that turns negative again has no IRR, but an MIRR
    twice = np.array([[30_000.0] * 6 + [-5_000.0] * 3 + [30_000.0] * 6])
    assert math.isnan(finance.irr_pct(np.array([-100_000.0]), twice)[0])
    assert math.isfinite(finance.mirr_pct(np.array([-100_000.0]), twice, 10.0)[0])
    assert finance.mirr_pct(-1.0, np.zeros(12), 10.0)[()] == -100.0  # nothing back
    assert math.isnan(finance.mirr_pct(0.0, np.ones(12), 10.0)[()])  # no outlay


# -- the commands ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def desk_file(tmp_path_factory):
    """The fleet of the issue: 1,000 S19j Pro and 500 S21 at 0.06 $/kWh."""
    tmp = tmp_path_factory.mktemp("desk")
    return fleet_file(
        tmp,
        [("Antminer S19j Pro", 1000, 350), ("Antminer S21", 500, 2800)],
        price=0.06,
        overhead=5,
        fixed=15_000,
        extra='[curtailment]\nrule = "economic"\n[resale]\ncurve = [[0, 100], [24, 35], [60, 5]]\n',
    )


def test_cli_year_of_pnl_with_shutdown_days(cli, loaded_db, desk_file, tmp_path):
    out = tmp_path / "rows.csv"
    year = ("fleet", desk_file, "--from", "2025-01-01", "--to", "2025-12-31", "--db", loaded_db)
    result = cli(*year, "--csv", out)
    assert result.returncode == 0, result.stderr
    assert "per lot" in result.stdout and "first below" in result.stdout
    doc = json.loads(cli(*year, "--json").stdout)
    totals = doc["totals"]
    for key in (
        "btc",
        "revenue_usd",
        "power_cost_usd",
        "fixed_cost_usd",
        "margin_usd",
        "cash_cost_usd_per_btc",
    ):
        assert isinstance(totals[key], float)
    assert totals["margin_usd"] == pytest.approx(
        totals["revenue_usd"]
        - totals["power_cost_usd"]
        - totals["fixed_cost_usd"]
        + totals["dr_credit_usd"]
    )
    lots = {lot["lot"]: lot for lot in doc["lots"]}
    assert lots["Antminer S19j Pro"]["shutdown_days"] > lots["Antminer S21"]["shutdown_days"]
    assert len(doc["days"]) == 365 and len(doc["lot_days"]) == 730
    assert sum(d["btc"] for d in doc["days"]) == pytest.approx(totals["btc"], rel=1e-12)
    with open(out, newline="") as f:
        assert len(list(csv.DictReader(f))) == 730
    library = fleet_history(loaded_db, desk_file, "2025-01-01", "2025-12-31").to_dict()
    assert doc == json.loads(json.dumps(library))


def test_cli_plan_of_a_fleet_past_its_life_says_so(cli, loaded_db, tmp_path):
    old = '[[lots]]\nmodel = "Antminer S9"\ncount = 10\npurchase_date = 2017-01-01\n'
    path = fleet_file(tmp_path, [], extra=old)
    result = cli("fleet", path, "--plan", "6", "--runs", "20", "--db", loaded_db)
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "lot Antminer S9 is past its life before the plan starts" in text
    assert "no lot is in service within the plan's months" in text
    assert "payback" not in text


def test_hashprice_fall_to_shutdown_is_positive_while_a_lot_earns(cli, loaded_db, desk_file):
    """``hashprice_fall_to_shutdown_pct``: how far today's hashprice may fall before the lot
    earns less than its power, ``100 * (1 - breakeven / hashprice)``; the table shows it as
    the change to breakeven (the S19j Pro at 6 cents is under water, the S21 is not)."""
    from minerwatch.present import format as fmt

    plan = ("fleet", desk_file, "--plan", "3", "--runs", "50", "--db", loaded_db)
    doc = json.loads(cli(*plan, "--json").stdout)
    hashprice = doc["start"]["hashprice_usd_ph_day"]
    table = cli(*plan).stdout
    signs = {}
    for lot in doc["lots"]:
        fall = lot["hashprice_fall_to_shutdown_pct"]
        be = lot["breakeven_hashprice_usd_ph_day"]
        assert fall == pytest.approx(100 * (1 - be / hashprice), rel=1e-12)
        assert (fall > 0) == (lot["margin_usd_day_today"] > 0)
        signs[lot["lot"]] = fall > 0
        assert fmt.pct(-fall) in table  # the change to breakeven, in the breakevens table
    assert signs == {"Antminer S19j Pro": False, "Antminer S21": True}


@pytest.mark.parametrize("scenario", ["base", "hashrate-to-ai"])
def test_cli_plan_prints_payback_and_bands(cli, loaded_db, desk_file, scenario):
    plan = ("fleet", desk_file, "--plan", "36", "--runs", "300", "--scenario", scenario)
    result = cli(*plan, "--db", loaded_db)
    assert result.returncode == 0, result.stderr
    assert "payback" in result.stdout and "margin p5" in result.stdout
    doc = json.loads(cli(*plan, "--db", loaded_db, "--json").stdout)
    assert doc["scenario"] == scenario
    assert len(doc["months_table"]) == 36
    for month in doc["months_table"]:
        m = month["margin_usd"]
        assert m["p5"] <= m["p50"] <= m["p95"]
    assert doc["halving"]["date_p50"] is not None  # 36 months from 2025-12-31 reach 2028
    assert [lot["shutdown_order"] for lot in doc["lots"]] == [1, 2]
    assert doc["lots"][0]["lot"] == "Antminer S19j Pro"


def test_hashrate_leaving_raises_the_remaining_fleets_npv(loaded_db, desk_file):
    base = plan_fleet(loaded_db, desk_file, 24, "base", runs=400)
    ai = plan_fleet(loaded_db, desk_file, 24, "hashrate-to-ai", runs=400)
    assert (ai.npv_runs >= base.npv_runs - 1e-6).all()
    assert ai.npv_usd.p50 > base.npv_usd.p50


def test_compare_and_sensitivity(tmp_path, loaded_db, desk_file):
    same = compare_fleets(loaded_db, desk_file, desk_file, 12, runs=200)
    assert same.npv_difference_usd.p5 == same.npv_difference_usd.p95 == 0
    cheaper = fleet_file(
        tmp_path,
        [("Antminer S19j Pro", 1000, 300), ("Antminer S21", 500, 2800)],
        price=0.06,
        overhead=5,
        fixed=15_000,
        extra='[curtailment]\nrule = "economic"\n[resale]\ncurve = [[0, 100], [24, 35], [60, 5]]\n',
    )
    c = compare_fleets(loaded_db, desk_file, cheaper, 12, runs=200)
    assert c.probability_b_better == 1.0 and c.npv_difference_usd.p50 > 0
    s = sensitivity(loaded_db, desk_file, 12, runs=100)
    rows = {r.factor: r for r in s.rows}
    assert rows["BTC price"].npv_high_usd > rows["BTC price"].npv_low_usd
    assert rows["power price"].npv_high_usd < rows["power price"].npv_low_usd
    assert rows["growth/epoch"].npv_high_usd < rows["growth/epoch"].npv_low_usd
    assert [r.swing_usd for r in s.rows] == sorted((r.swing_usd for r in s.rows), reverse=True)


def _hourly_csv(path: Path, first: str, days: int, expensive: float, cheap: float) -> None:
    """Hours 17:00-20:59 UTC at ``expensive``, the rest at ``cheap``."""
    hours = np.datetime64(first, "h") + np.arange(days * 24)
    prices = np.where(np.isin(hours.astype(int) % 24, [17, 18, 19, 20]), expensive, cheap)
    lines = ["time,usd_kwh"] + [f"{h}:00:00Z,{p}" for h, p in zip(hours, prices, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def test_hourly_prices_curtail_the_expensive_hours(tmp_path, loaded_db):
    """A day of 20 hours at 3 cents and 4 at 50: the economic rule runs the 20 cheap hours
    (the S21's breakeven lies between), paying 20 * 0.03 / 24 per kWh of a full day; with
    no rule it runs all 24 and pays the day's mean."""
    _hourly_csv(tmp_path / "hourly.csv", "2025-03-01T00", 10, 0.50, 0.03)
    site = SITE.format(price=0.05, uptime=97, fee=2, scheme="fpps", overhead=0, fixed=0)
    site = site.replace("power_price_usd_kwh = 0.05", 'power_prices = "hourly.csv"')
    lot = LOT.format(model="Antminer S21", count=10, unit=0)
    (tmp_path / "none.toml").write_text(site + lot)
    (tmp_path / "eco.toml").write_text(site + lot + '[curtailment]\nrule = "economic"\n')
    none = fleet_history(loaded_db, tmp_path / "none.toml", "2025-03-01", "2025-03-10")
    eco = fleet_history(loaded_db, tmp_path / "eco.toml", "2025-03-01", "2025-03-10")
    kwh_day = 10 * 3500 * 24 / 1000 * 0.97
    for a, b in zip(none.lot_days, eco.lot_days, strict=True):
        assert a["run_share"] == 1 and b["run_share"] == pytest.approx(20 / 24)
        assert a["power_cost_usd"] == pytest.approx(kwh_day * (20 * 0.03 + 4 * 0.50) / 24)
        assert b["power_cost_usd"] == pytest.approx(kwh_day * 20 * 0.03 / 24)
        assert b["btc"] == pytest.approx(a["btc"] * 20 / 24)
    assert eco.totals.margin_usd > none.totals.margin_usd
    plan = plan_fleet(loaded_db, tmp_path / "eco.toml", 6, runs=100, as_of="2025-03-10")
    assert plan.curtailment_value_usd.p5 > 0  # stopping in the 50-cent hours always pays


# -- regressions found in review ------------------------------------------------------------


def test_a_later_purchase_pays_back_from_its_month_not_before(tmp_path, loaded_db):
    path = fleet_file(tmp_path, [("Antminer S21", 100, 2500)], price=0.05)
    text = path.read_text().replace(
        "unit_price_usd = 2500", 'unit_price_usd = 2500\npurchase_date = "2026-04-01"'
    )
    path.write_text(text)
    plan = plan_fleet(loaded_db, path, 24, runs=200, as_of="2025-12-31")
    assert plan.payback.median_months is None or plan.payback.median_months > 3


def test_capex_on_day_one_is_not_discounted_and_a_repaid_loan_costs_nothing(tmp_path, loaded_db):
    """A lot the economic rule never runs (power at 5 $/kWh) earns nothing: its NPV is
    minus its capex exactly; a loan repaid before the plan changes nothing."""
    path = fleet_file(
        tmp_path,
        [("Antminer S21", 10, 2000)],
        price=5.0,
        extra='[curtailment]\nrule = "economic"\n',
    )
    plan = plan_fleet(loaded_db, path, 12, runs=50, as_of="2025-12-31")
    assert plan.npv_usd.p5 == plan.npv_usd.p95 == pytest.approx(-20_000, abs=1e-6)
    assert plan.irr_pct.p50 is None and plan.irr_undefined_share == 1.0
    loan = "[financing]\nprincipal_usd = 10000\nrate_pct = 10\nterm_months = 12\n"
    loan += 'start_date = "2023-01-01"\n'
    path.write_text(path.read_text() + loan)
    again = plan_fleet(loaded_db, path, 12, runs=50, as_of="2025-12-31")
    assert np.array_equal(again.npv_runs, plan.npv_runs)


def test_a_partial_first_month_pays_its_share_of_fixed_costs(tmp_path, loaded_db):
    path = fleet_file(
        tmp_path,
        [("Antminer S21", 1, 0)],
        price=5.0,
        fixed=3000,
        extra='[curtailment]\nrule = "economic"\n',
    )
    plan = plan_fleet(loaded_db, path, 3, runs=20, as_of="2025-06-14")
    june = plan.months_table[0]
    assert june.month == "2025-06" and june.margin_usd.p50 == pytest.approx(-3000 * 16 / 30)
    assert plan.months_table[1].margin_usd.p50 == pytest.approx(-3000)


def test_compared_fleets_share_their_draws_whatever_their_lives(tmp_path, loaded_db):
    a = fleet_file(tmp_path, [("Antminer S21", 100, 2500)], name="a.toml")
    b = fleet_file(tmp_path, [("Antminer S21", 100, 2500)], name="b.toml")
    b.write_text(
        b.read_text().replace("unit_price_usd = 2500", "unit_price_usd = 2500\nlife_years = 8")
    )
    c = compare_fleets(loaded_db, a, b, 12, runs=300)
    assert c.npv_difference_usd.p5 == c.npv_difference_usd.p95 == 0


def test_owned_machines_lose_value_from_todays_price(tmp_path, loaded_db):
    """A lot bought 24 months ago, worth 350 today: sold at the plan's end a year on, it
    fetches 350 x curve(36) / curve(24) (about half)."""
    extra = '[curtailment]\nrule = "economic"\n'
    extra += "[resale]\ncurve = [[0, 100], [24, 40], [36, 20]]\n"
    path = fleet_file(tmp_path, [("Antminer S19j Pro", 10, 350)], price=5.0, extra=extra)
    path.write_text(
        path.read_text().replace(
            "unit_price_usd = 350", 'unit_price_usd = 350\npurchase_date = "2024-01-01"'
        )
    )
    plan = plan_fleet(loaded_db, path, 12, runs=20, as_of="2025-12-31")
    month = 365.25 / 12  # ages in days over the mean month
    curve = ([0, 24, 36], [100, 40, 20])
    now, sold = 731 / month, (731 + 365) / month  # 2024-01-01 to 2026-01-01, and a year on
    resale = 3500 * np.interp(sold, *curve) / np.interp(now, *curve)
    rate = (1 + 0.10) ** (1 / 12) - 1
    assert plan.npv_usd.p50 == pytest.approx(-3500 + resale / (1 + rate) ** 12, rel=1e-9)


def test_static_payback_counts_a_lot_the_rule_stops_as_stopped(tmp_path, loaded_db):
    lots = [("Antminer S19j Pro", 1000, 0), ("Antminer S21", 500, 1000)]
    ruled = fleet_file(
        tmp_path, lots, price=0.06, overhead=5, extra='[curtailment]\nrule = "economic"\n'
    )
    plain = fleet_file(tmp_path, lots, price=0.06, overhead=5, name="plain.toml")
    a = plan_fleet(loaded_db, ruled, 6, runs=20, as_of="2025-12-31")
    b = plan_fleet(loaded_db, plain, 6, runs=20, as_of="2025-12-31")
    s19 = next(lot for lot in b.lots if lot.lot == "Antminer S19j Pro")
    s21 = next(lot for lot in b.lots if lot.lot == "Antminer S21")
    assert s19.margin_usd_day_today < 0 < s21.margin_usd_day_today
    assert a.payback.static_months * pnl.DAYS_PER_YEAR / 12 == pytest.approx(
        500_000 / s21.margin_usd_day_today
    )
    assert b.payback.static_months * pnl.DAYS_PER_YEAR / 12 == pytest.approx(
        500_000 / (s21.margin_usd_day_today + s19.margin_usd_day_today)
    )


def test_bad_dates_and_early_starts_are_input_errors(cli, tmp_path, loaded_db, desk_file):
    for args, words in (
        (("--from", "garbage"), "--from 'garbage' is not a date"),
        (("--from", "2025-01-01", "--to", "2026-01-05"), "--to 2026-01-05 is outside"),
        (("--from", "2008-01-01", "--to", "2009-02-01"), "before the first day held"),
        (("--plan", "12", "--as-of", "2010-08-20"), "needs at least 365"),
        (("--plan", "3", "--compare", desk_file, "--sensitivity"), "one at a time"),
    ):
        result = cli("fleet", desk_file, *args, "--db", loaded_db)
        assert result.returncode == 2 and words in result.stderr, (args, result.stderr)


def test_plan_and_tornado_write_their_tables(cli, tmp_path, loaded_db, desk_file):
    months, rows = tmp_path / "months.csv", tmp_path / "tornado.csv"
    assert (
        cli(
            "fleet", desk_file, "--plan", "4", "--runs", "50", "--csv", months, "--db", loaded_db
        ).returncode
        == 0
    )
    assert (
        cli(
            "fleet",
            desk_file,
            "--plan",
            "4",
            "--runs",
            "50",
            "--sensitivity",
            "--csv",
            rows,
            "--db",
            loaded_db,
        ).returncode
        == 0
    )
    with open(months, newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 4 and float(table[0]["margin_usd_p5"]) <= float(table[0]["margin_usd_p95"])
    with open(rows, newline="") as f:
        assert {r["factor"] for r in csv.DictReader(f)} >= {"BTC price", "power price"}
