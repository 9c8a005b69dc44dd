"""Hashrate estimators: chi-square quantiles, Core's getnetworkhashps on a hand example,
interval coverage on simulated Poisson chains of known hashrate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from minerwatch.errors import InputError
from minerwatch.metrics import estimators as est

HASHES = 2.0**32


def _chi2_cdf_even(x: float, dof: int) -> float:
    """P(chi2(dof) <= x) for even dof, closed form: 1 - exp(-x/2) sum_{j<dof/2} (x/2)^j/j!."""
    y = x / 2.0
    logs = [j * math.log(y) - math.lgamma(j + 1) for j in range(dof // 2)]
    top = max(logs)
    return 1.0 - math.exp(top - y + math.log(sum(math.exp(v - top) for v in logs)))


def _chi2_ppf_reference(p: float, dof: int) -> float:
    lo, hi = 0.0, dof + 60.0 * math.sqrt(dof) + 100.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        lo, hi = (mid, hi) if _chi2_cdf_even(mid, dof) < p else (lo, mid)
    return (lo + hi) / 2.0


def test_chi2_quantiles_match_tables_and_the_closed_form():
    # Published table values (Abramowitz & Stegun table 26.8, 5 significant digits).
    assert est.chi2_ppf(0.05, 2) == pytest.approx(0.102587, rel=1e-5)
    assert est.chi2_ppf(0.95, 2) == pytest.approx(5.99146, rel=1e-5)
    assert est.chi2_ppf(0.05, 40) == pytest.approx(26.5093, rel=1e-5)
    assert est.chi2_ppf(0.95, 40) == pytest.approx(55.7585, rel=1e-5)
    assert est.chi2_ppf(0.95, 100) == pytest.approx(124.342, rel=1e-5)
    # Exact below 200 degrees of freedom, Wilson–Hilferty within 1e-5 above (p in 5..95%).
    for dof in (2, 6, 24, 120, 200, 240, 288, 2016):
        for p in (0.05, 0.5, 0.95):
            tol = 1e-9 if dof <= 200 else 1e-5
            assert est.chi2_ppf(p, dof) == pytest.approx(_chi2_ppf_reference(p, dof), rel=tol)


def test_chi2_ppf_broadcasts_and_rejects_bad_dof():
    out = est.chi2_ppf([[0.05], [0.95]], [2, 40, 5000])
    assert out.shape == (2, 3)
    assert np.all(out[0] < out[1])
    assert np.isnan(est.chi2_ppf(0.5, 0.0))


def test_normal_quantile():
    assert est.norm_ppf(0.95) == pytest.approx(1.6448536269514722, rel=1.2e-9)
    assert est.norm_ppf(0.025) == pytest.approx(-1.959963984540054, rel=1.2e-9)
    assert est.norm_ppf(0.5) == 0.0


def test_garwood_interval_known_values():
    # 10 events in a unit time: 90% interval [chi2(.05, 20)/2, chi2(.95, 22)/2].
    low, high = est.poisson_rate_interval(10, 1.0)
    assert low == pytest.approx(5.4254, rel=1e-4)
    assert high == pytest.approx(16.9622, rel=1e-4)
    # No event: lower bound 0, upper -ln(0.05) (exact for k = 0).
    low0, high0 = est.poisson_rate_interval(0, 2.0)
    assert low0 == 0.0
    assert high0 == pytest.approx(-math.log(0.05) / 2.0, rel=1e-9)


def test_getnetworkhashps_hand_example():
    # Times run backwards once (block 3): Core takes max - min over the window's n+1 times.
    times = np.array([0, 600, 1300, 1200, 2400])
    diff = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    h = est.getnetworkhashps(times, diff, n_blocks=3)
    assert np.isnan(h[:3]).all()
    # Block 3: window times 0, 600, 1300, 1200 -> span 1300 (not 1200); work of blocks 1-3.
    assert h[3] == pytest.approx((2 + 3 + 4) * HASHES / 1300)
    # Block 4: times 600, 1300, 1200, 2400 -> span 1800; work of blocks 2-4.
    assert h[4] == pytest.approx((3 + 4 + 5) * HASHES / 1800)
    core = est.getnetworkhashps(
        times, diff, 3, hashes_per_difficulty=est.CORE_HASHES_PER_DIFFICULTY
    )
    assert core[4] / h[4] == pytest.approx(65536 / 65535, rel=1e-12)
    # All times equal: Core returns 0 rather than divide by zero.
    assert est.getnetworkhashps(np.zeros(4), np.ones(4), 2)[-1] == 0.0
    unbiased = est.block_window_hashrate(times, diff, 3)
    assert unbiased.hashrate_hs[4] == pytest.approx(h[4] * 2 / 3)
    assert unbiased.seconds[4] == 1800
    raw = est.block_window_hashrate(times, diff, 3, unbiased=False)
    assert raw.hashrate_hs[4] == pytest.approx(h[4])


def _poisson_chain(rng, blocks: int, interval_s: float = 600.0) -> np.ndarray:
    return np.cumsum(rng.exponential(interval_s, blocks)) + 1.7e9


def _binomial_band(p: float, n: int) -> float:
    return 3.0 * math.sqrt(p * (1 - p) / n)  # 3 standard errors


def test_block_window_interval_covers_90_percent_of_simulated_windows():
    rng = np.random.default_rng(20261122)
    n, windows, d = 144, 2000, 1e14
    true_hs = d * HASHES / 600.0
    times = _poisson_chain(rng, windows * (n + 1))
    diff = np.full(len(times), d)
    e = est.block_window_hashrate(times, diff, n)
    ends = np.arange(n, len(times), n + 1)  # non-overlapping windows: independent
    inside = (e.low_hs[ends] <= true_hs) & (true_hs <= e.high_hs[ends])
    assert abs(inside.mean() - 0.90) <= _binomial_band(0.90, len(ends))
    # Core's estimate is biased high by n/(n-1); Wuille's correction removes it.
    core = est.getnetworkhashps(times, diff, n)[ends]
    se = core.std() / math.sqrt(len(ends))
    assert core.mean() == pytest.approx(true_hs * n / (n - 1), abs=3 * se)
    assert e.hashrate_hs[ends].mean() == pytest.approx(true_hs, abs=3 * se)
    # Relative standard error about 1/sqrt(n - 2).
    assert e.hashrate_hs[ends].std() / true_hs == pytest.approx(1 / math.sqrt(n - 2), rel=0.1)


def test_time_and_daily_windows_cover_at_least_90_percent():
    rng = np.random.default_rng(7)
    d = 1e14
    true_hs = d * HASHES / 600.0
    times = _poisson_chain(rng, 2000 * 150)
    ends = times[0] + 86_400.0 * np.arange(1, 1 + int((times[-1] - times[0]) // 86_400))
    e = est.time_window_hashrate(times, np.full(len(times), d), 86_400.0, ends)
    inside = (e.low_hs <= true_hs) & (true_hs <= e.high_hs)
    assert len(ends) > 1900
    # Garwood's interval is conservative for a discrete count: coverage >= 90%.
    assert inside.mean() >= 0.90 - _binomial_band(0.90, len(ends))
    assert np.nanmean(e.hashrate_hs) == pytest.approx(true_hs, rel=0.01)
    counts = rng.poisson(144, 3000)
    daily = est.daily_window_hashrate(counts, np.full(3000, d), 1)
    inside = (daily.low_hs <= true_hs) & (true_hs <= daily.high_hs)
    assert inside.mean() >= 0.90 - _binomial_band(0.90, 3000)
    week = est.daily_window_hashrate(counts, np.full(3000, d), 7)
    assert np.isnan(week.hashrate_hs[:6]).all() and week.blocks[6] == counts[:7].sum()


def test_bad_parameters_are_input_errors():
    times, diff = np.arange(10) * 600.0, np.ones(10)
    with pytest.raises(InputError, match="n_blocks"):
        est.getnetworkhashps(times, diff, 0)
    with pytest.raises(InputError, match="n_blocks"):
        est.block_window_hashrate(times, diff, 1)
    with pytest.raises(InputError, match="confidence"):
        est.block_window_hashrate(times, diff, 3, confidence=1.5)
    with pytest.raises(InputError, match="same length"):
        est.getnetworkhashps(times, diff[:5], 3)
    with pytest.raises(InputError, match="window_s"):
        est.time_window_hashrate(times, diff, 0.0)
    with pytest.raises(InputError, match="window_days"):
        est.daily_window_hashrate(np.ones(3), np.ones(3), 0)
