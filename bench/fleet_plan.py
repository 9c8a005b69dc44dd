"""The fleet plan's speed: 10,000 runs x 36 months x 20 lots (target: under 2 s).

Builds a database in a temporary folder from the shared data (Coin Metrics history and the
difficulty epochs), writes a fleet of 20 lots (20 catalog models released by 2025, the
economic curtailment rule, a resale curve, a loan), reads the start day once, then times
:func:`minerwatch.analyses.fleet_plan.plan_from` for the ``base`` scenario. Lives are set
to three years so the simulated horizon is the 36 months asked (a longer life would extend
it to the life, for the payback-within-life figure).

The baseline, timed in the same run: the least any Monte Carlo of this size does, drawing
``runs x days`` standard normals and turning them into price paths (``cumsum`` and ``exp``)
on the same machine. The ratio says how many such passes the plan costs.

Usage (from the repository root)::

    python bench/fleet_plan.py [--runs 10000] [--months 36] [--reps 5] [--data DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import minerwatch
from minerwatch.analyses.fleet_plan import plan_from, read_plan_inputs
from minerwatch.sources.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[1]


def fleet_text(lots: int) -> str:
    catalog = load_catalog()
    released = catalog.select(catalog.released_by(np.datetime64("2025-12-31")))
    order = np.argsort(released.efficiency_j_th)[:lots]
    text = (
        "[site]\npower_price_usd_kwh = 0.06\nuptime_pct = 97\npool_fee_pct = 2\n"
        "overhead_pct = 5\nfixed_usd_month = 50000\n"
        '[curtailment]\nrule = "economic"\n'
        "[resale]\ncurve = [[0, 100], [12, 55], [24, 30], [36, 18]]\n"
        "[financing]\nprincipal_usd = 5000000\nrate_pct = 12\nterm_months = 24\n"
    )
    for i, j in enumerate(order):
        text += (
            f'[[lots]]\nmodel = "{released.model[j]}"\ncount = {100 + 50 * i}\n'
            f"unit_price_usd = {float(released.hashrate_ths[j]) * 15:.0f}\nlife_years = 3\n"
        )
    return text


def median_s(fn, reps: int) -> tuple[float, float]:
    fn()  # warm-up, not counted
    samples = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples), min(samples)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--lots", type=int, default=20)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    for name in ("coinmetrics_btc.csv", "difficulty_epochs.csv"):
        if not (args.data / name).exists():
            raise SystemExit(f"missing {args.data / name}")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "mw.duckdb"
        with minerwatch.open_store(db) as store:
            minerwatch.import_coinmetrics(store, args.data / "coinmetrics_btc.csv")
            minerwatch.import_epochs(store, args.data / "difficulty_epochs.csv")
        path = Path(tmp) / "fleet.toml"
        path.write_text(fleet_text(args.lots))
        start, fleet, scenario = read_plan_inputs(db, path, "base", None)
        days = int(args.months * 365.25 / 12)

        def plan() -> None:
            plan_from(start, fleet, args.months, scenario, args.runs, 0)

        def baseline() -> None:
            rng = np.random.default_rng(0)
            np.exp(np.cumsum(rng.standard_normal((args.runs, days)) * 0.03, axis=1))

        t_plan, t_plan_min = median_s(plan, args.reps)
        t_base, t_base_min = median_s(baseline, args.reps)
        result = plan_from(start, fleet, args.months, scenario, args.runs, 0)
    cpu = f"{platform.machine()} {platform.processor() or ''}".strip()
    print(f"machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"plan: {args.runs:,} runs x {args.months} months x {len(fleet.lots)} lots, scenario base"
    )
    print(f"  plan_from     median {t_plan:.3f} s  min {t_plan_min:.3f} s  (target < 2 s)")
    print(f"  baseline      median {t_base:.3f} s  min {t_base_min:.3f} s  (normals, cumsum, exp)")
    print(f"  ratio         {t_plan / t_base:.2f} x the baseline")
    print(f"  NPV p50       {result.npv_usd.p50:,.0f} USD (a check that the plan ran)")


if __name__ == "__main__":
    main()
