"""Coverage of the next-adjustment forecast under the model's own assumptions.

Simulates the process the forecast assumes — the log hashrate a daily random walk with
drift, block arrivals a Poisson process at hashrate / (difficulty x 2^32), the consensus
retarget (2015-interval timespan, x4 clamp) — and runs the daily-data backtest
(:func:`minerwatch.analyses.backtest.backtest_arrays`) on it: the share of realised changes and
dates inside the 90% intervals at 10/25/50/75/90% of the epoch. Only the noise the model
describes is present, so departures from 90% are the method's own (the noise of the fitted
process, the approximations of the interval), not model error. See docs/difficulty.md.

Usage (from the repository root)::

    python bench/simulate_forecast.py [--sd 0.01] [--drift 0.001] [--years 30] [--runs 20]
        [--q-min Q]

``--q-min`` replaces the floor of the fitted random-walk variance (default: the
forecast's own, :data:`minerwatch.models.difficulty.Q_MIN_PER_DAY`).
"""

from __future__ import annotations

import argparse

import numpy as np

from minerwatch.analyses.backtest import LEVELS_PCT, backtest_arrays
from minerwatch.analyses.difficulty import DailySeries, Epochs
from minerwatch.chain.consensus import HASHES_PER_DIFFICULTY as WORK
from minerwatch.models import difficulty as forecast

DAY_S = 86_400.0
T0 = 1_231_027_200.0  # 2009-01-04 00:00 UTC
DAY0 = np.datetime64("2009-01-04")


def simulate(years: float, sd: float, drift: float, seed: int) -> tuple[DailySeries, Epochs]:
    """A chain of ``years`` of blocks; its daily series and epochs (start times known)."""
    rng = np.random.default_rng(seed)
    n_days = int(years * 365) + 40
    hashrate = np.exp(np.log(1e6 * WORK / 600) + np.cumsum(rng.normal(drift, sd, n_days)))
    day_edges = T0 + DAY_S * np.arange(n_days + 1)
    d, t = 1e6, T0
    times, diffs = [T0], [1e6]
    while True:
        i = int((t - T0) // DAY_S)
        if i >= n_days - 60:
            break
        # Expected blocks from t at difficulty d, day by day; arrivals by inverting it.
        edges = np.concatenate([[t], day_edges[i + 1 : i + 60]])
        rate = hashrate[i : i + len(edges) - 1] / (d * WORK)
        expected = np.concatenate([[0.0], np.cumsum(rate * np.diff(edges))])
        arrivals = np.cumsum(rng.exponential(1.0, 2015))
        if arrivals[-1] > expected[-1]:
            break
        block_t = np.interp(arrivals, expected, edges)
        times.extend(block_t.tolist())
        diffs.extend([d] * 2015)
        d *= 1_209_600 / np.clip(block_t[-1] - t, 302_400, 4_838_400)
        t = block_t[-1]
        t += rng.exponential(1.0) * d * WORK / hashrate[int((t - T0) // DAY_S)]
        times.append(t)
        diffs.append(d)
    times_a, diffs_a = np.array(times), np.array(diffs)
    n = len(times_a) - 1
    n -= n % 2016
    times_a, diffs_a = times_a[: n + 1], diffs_a[: n + 1]
    day_i = ((times_a - T0) // DAY_S).astype(int)
    count = np.bincount(day_i)
    mean_d = np.bincount(day_i, weights=diffs_a) / np.maximum(count, 1)
    series = DailySeries(
        DAY0 + np.arange(len(count)),
        count.astype(float),
        np.cumsum(count) - 1.0,
        np.where(count > 0, mean_d, np.nan),
    )
    starts = np.arange(0, n + 1, 2016)
    return series, Epochs(starts, diffs_a[starts], times_a[starts].astype(np.int64))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sd", type=float, default=0.01, help="random walk sd per day (log)")
    ap.add_argument("--drift", type=float, default=0.001, help="drift per day (log)")
    ap.add_argument("--years", type=float, default=30.0)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--q-min", type=float, default=None, help="floor of the fitted q")
    args = ap.parse_args()
    if args.q_min is not None:
        forecast.Q_MIN_PER_DAY = args.q_min
    inside = {lv: np.zeros(3) for lv in LEVELS_PCT}
    for seed in range(args.runs):
        fc = backtest_arrays(*simulate(args.years, args.sd, args.drift, seed)).forecasts
        for lv in LEVELS_PCT:
            m = fc["level_pct"] == lv
            real_c, real_d = fc["change_pct"][m], fc["date_s"][m]
            c = (fc["ours_low"][m] <= real_c) & (real_c <= fc["ours_high"][m])
            d = (fc["ours_date_low_s"][m] <= real_d) & (real_d <= fc["ours_date_high_s"][m])
            inside[lv] += (c.sum(), d.sum(), m.sum())
    q_min = forecast.Q_MIN_PER_DAY
    print(f"sd {args.sd:.2%}/day, drift {args.drift:+.2%}/day, q floor {q_min:.3g}")
    for lv, (c, d, n) in inside.items():
        change, date = 100 * c / n, 100 * d / n
        print(f"  {lv:>2}% of the epoch: change {change:.1f}%, date {date:.1f}% (n={n:.0f})")


if __name__ == "__main__":
    main()
