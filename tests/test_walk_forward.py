"""The walk-forward evaluation of the retarget forecasts: the scoring rules against values
worked by hand, the walk-forward quantiles, the seeded bootstrap, no look-ahead on the real
history, and the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conftest import END_OF_2022_11_21
from minerwatch.analyses.backtest import WF_LEVELS_PCT, WF_MODELS, walk_forward_backtest
from minerwatch.metrics.estimators import norm_ppf
from minerwatch.models import scoring


def test_interval_score_by_hand():
    # [0, 2], alpha 0.1: width 2, plus 20 x the distance outside.
    got = scoring.interval_score([0, 0, 0], [2, 2, 2], [1.0, 3.0, -0.5], alpha=0.1)
    assert got.tolist() == [2.0, 22.0, 12.0]


def test_crps_gaussian_and_from_quantiles_by_hand():
    # N(0, 1) at its mean: 2 phi(0) - 1 / sqrt(pi) = 0.2336949...
    at_mean = 2 / math.sqrt(2 * math.pi) - 1 / math.sqrt(math.pi)
    assert scoring.crps_gaussian(0.0, 1.0, 0.0) == pytest.approx(at_mean, rel=1e-12)
    # At y = 1.5 sd: 1.5 (2 Phi(1.5) - 1) + 2 phi(1.5) - 1 / sqrt(pi), Phi(1.5) = 0.9331928.
    z = 1.5
    by_hand = (
        z * (2 * 0.9331927987311419 - 1)
        + 2 * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
        - 1 / math.sqrt(math.pi)
    )
    assert scoring.crps_gaussian(1.0, 2.0, 4.0) == pytest.approx(2 * by_hand, rel=1e-9)
    q = 1.0 + 2.0 * norm_ppf(scoring.CRPS_PROBS)[None, :]
    assert scoring.crps_from_quantiles(q, [4.0])[0] == pytest.approx(2 * by_hand, rel=0.01)
    assert scoring.crps_from_quantiles(q, [1.0])[0] == pytest.approx(2 * at_mean, rel=0.01)
    # A point forecast: the CRPS is the absolute error.
    flat = np.full((1, len(scoring.CRPS_PROBS)), 3.0)
    assert scoring.crps_from_quantiles(flat, [1.25])[0] == pytest.approx(1.75)


def test_pit_by_hand():
    probs = np.array([0.25, 0.5, 0.75])
    q = np.array([[1.0, 2.0, 4.0]] * 4)
    got = scoring.pit(q, np.array([3.0, 0.0, 9.0, 2.0]), probs)
    # Halfway from 2 to 4: 0.625; below the grid: 0.125; above: 0.875; on a quantile: 0.5.
    assert got.tolist() == [0.625, 0.125, 0.875, 0.5]


def test_walk_forward_quantiles_use_only_what_was_known_before():
    values = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    known = np.array([10, 20, 30, 40, 15])
    group = np.array([5, 5, 5, 5, 6])  # the 100 belongs to another level
    q, n = scoring.walk_forward_quantiles(
        values,
        known,
        group,
        np.array([25, 20, 41, 5]),
        np.array([5, 5, 5, 5]),
        [0.5, 1.0],
        min_count=1,
    )
    # Known strictly before 25: 1 and 2; before 20: 1 only; before 41: all four; before 5: none.
    assert n.tolist() == [2, 1, 4, 0]
    assert q[:3].tolist() == [[1.5, 2.0], [1.0, 1.0], [2.5, 4.0]]
    assert np.isnan(q[3]).all()


def test_block_bootstrap_is_seeded_and_centred():
    rng = np.random.default_rng(3)
    a, b = rng.gamma(2.0, size=300), rng.gamma(2.0, size=300)
    first = scoring.block_bootstrap_ratio(a, b, seed=7)
    assert first == scoring.block_bootstrap_ratio(a, b, seed=7)
    assert first != scoring.block_bootstrap_ratio(a, b, seed=8)
    assert first[0] < a.sum() / b.sum() < first[1]
    assert scoring.block_bootstrap_ratio(a, a) == (1.0, 1.0)


@pytest.fixture(scope="module")
def full(loaded_db):
    return walk_forward_backtest(loaded_db)


def test_walk_forward_scores_every_level_from_2014(full):
    levels = [r.level_pct for r in full.rows if r.model == "ours"]
    assert levels == [*WF_LEVELS_PCT, None]
    fc = full.forecasts
    scored = fc["scored"]
    assert (fc["year"][scored] >= 2014).all() and (fc["year"][~scored] < 2014).any()
    # Every forecaster is scored on the same forecasts, each with a 90% interval.
    for model in WF_MODELS:
        assert np.isfinite(fc[f"{model}_change_low"][scored]).all(), model
    by_model = {r.model: r for r in full.rows if r.level_pct is None}
    assert by_model["baseline"].ratio_change == 1.0
    assert 0.7 < by_model["ours"].ratio_change < 1.0
    assert 86.0 <= by_model["ours"].coverage_change_pct <= 94.0


def test_walk_forward_reads_nothing_after_a_forecast(full, db_to_2022_11_21):
    # Every forecast the database cut at 2022-11-21 can make (epochs that ended by then) is
    # the same, learned parts included, as in the run over the whole history.
    cut = walk_forward_backtest(db_to_2022_11_21).forecasts
    fc = full.forecasts
    assert cut["now_s"].max() <= END_OF_2022_11_21
    pairs = zip(fc["epoch_start_height"], fc["level_pct"], strict=True)
    key = {pair: i for i, pair in enumerate(pairs)}
    cut_pairs = zip(cut["epoch_start_height"], cut["level_pct"], strict=True)
    idx = np.array([key[pair] for pair in cut_pairs])
    assert len(idx) > 2500
    for name in (
        "ours_change_median",
        "ours_change_high",
        "recalibrated_change_low",
        "recalibrated_date_high",
        "baseline_change_low",
        "baseline_date_high",
        "adaptive_change_median",
        "adaptive_date_low",
        "adaptive_drift_window_days",
    ):
        np.testing.assert_array_equal(cut[name], fc[name][idx], err_msg=name)


def test_cli_walk_forward_table_png_and_json(cli, loaded_db, full, tmp_path):
    png = tmp_path / "calibration.png"
    shown = cli("backtest", "difficulty", "--walk-forward", "--png", png, "--db", loaded_db)
    assert shown.returncode == 0, shown.stderr
    assert "by level" in shown.stdout and "by year" in shown.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    alone = cli("backtest", "difficulty", "--png", png, "--db", loaded_db)
    assert alone.returncode == 2 and "--walk-forward" in alone.stderr
    printed = cli("backtest", "difficulty", "--walk-forward", "--json", "--db", str(loaded_db))
    assert printed.returncode == 0, printed.stderr
    doc = json.loads(printed.stdout)
    assert doc == full.to_dict()
    assert [h["model"] for h in doc["pit_histogram"]] == list(WF_MODELS)


def test_combination_weight_by_hand():
    from minerwatch.models.walk_forward import MIN_TRAIN, combination_weight

    n = MIN_TRAIN
    ours, base = np.zeros(n), np.full(n, 2.0)
    outcome = np.full(n, 0.5)  # least squares: w = sum (y - b)(o - b) / sum (o - b)**2 = 0.75
    known = np.arange(n, dtype=float)
    level = np.full(n, 10)
    w = combination_weight(
        ours, base, outcome, known, level, np.array([n - 1.0, n + 0.0]), np.array([10, 10])
    )
    # At n - 1 only n - 1 earlier forecasts are known: ours alone; then the fit.
    assert w.tolist() == [1.0, 0.75]


def test_select_by_recent_error_by_hand():
    from minerwatch.models.walk_forward import MIN_TRAIN, select_by_recent_error

    n = MIN_TRAIN + 4
    err = np.zeros((n, 2))
    err[:MIN_TRAIN, 0] = 1.0  # candidate 1 better over the first 20
    err[MIN_TRAIN:, 1] = 1.0  # candidate 0 better over the last 4
    known = np.arange(n, dtype=float)
    now = np.array([MIN_TRAIN - 1.0, MIN_TRAIN + 0.0, n + 0.0])
    args = (err, known, np.zeros(n), now, np.zeros(3))
    # 19 known: too few, candidate 0; then the sums over the last 26: 20 against 0, 20 against 4.
    assert select_by_recent_error(*args).tolist() == [0, 1, 1]
    # Over the last 4 only, candidate 0 has been better lately.
    assert select_by_recent_error(*args, recent=4).tolist() == [0, 1, 0]
