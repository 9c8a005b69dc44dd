"""History studies (`minerwatch study`): hash-rate compression on a synthetic history with a
known answer, the block bootstrap, episode counting, then the real history (VanEck's
figures, hash-ribbon events, below-cost episodes) and no look-ahead."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

import minerwatch
from minerwatch.analyses.studies import (
    block_bootstrap_means,
    compression_study,
    cost_episodes,
    count_episodes,
    forward_return_pct,
    study,
)
from minerwatch.errors import InputError

DAY0 = np.datetime64("2015-01-01")
HORIZON = 90


def _mean30(h):
    out = np.full(len(h), np.nan)
    for t in range(29, len(h)):
        out[t] = h[t - 29 : t + 1].mean()
    return out


def _known_history(n=2400):
    """A hashrate cycle (period 400 days) and a price built so that the close 90 days after
    a compression day (30-day change of the 30-day mean < 0) is exactly 10% higher, and
    after any other day 5% lower."""
    t = np.arange(n)
    h = 100e18 * (1 + 0.2 * np.sin(2 * np.pi * t / 400))
    m = _mean30(h)
    change = np.full(n, np.nan)
    change[30:] = 100 * (m[30:] / m[:-30] - 1)
    compression = change < 0
    price = np.full(n, 100.0)
    for i in range(HORIZON, n):  # P[t + 90] = P[t] x (1.10 or 0.95)
        price[i] = price[i - HORIZON] * (1.10 if compression[i - HORIZON] else 0.95)
    return DAY0 + t, h, price, change


def _runs(mask):
    edges = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
    return int((edges == 1).sum())


def test_compression_known_answer():
    day, h, price, change = _known_history()
    res = compression_study(
        day, h, price, lookbacks_days=(30,), horizons_days=(HORIZON,), start=None
    )
    rows = {r.regime: r for r in res.rows}
    sample = np.isfinite(change) & (np.arange(len(day)) + HORIZON < len(day))
    comp, grow, strong = rows["compression"], rows["growth"], rows["strong compression"]
    assert comp.n_days == int((sample & (change < 0)).sum())
    assert grow.n_days == int((sample & (change >= 0)).sum())
    assert strong.n_days == int((sample & (change < -5)).sum()) > 0
    assert (comp.share_positive_pct, grow.share_positive_pct) == (100.0, 0.0)
    assert comp.mean_return_pct == pytest.approx(10.0) and comp.median_return_pct == pytest.approx(
        10.0
    )
    assert grow.mean_return_pct == pytest.approx(-5.0)
    assert strong.mean_return_pct == pytest.approx(10.0)
    # One compression episode per falling half-cycle; the runs are far apart.
    assert comp.episodes == _runs(sample & (change < 0)) == 6
    for r in rows.values():
        # Every resample has the same mean (up to rounding of the cumulative sums).
        assert r.mean_ci_low_pct - 1e-9 <= r.mean_return_pct <= r.mean_ci_high_pct + 1e-9
        assert r.mean_ci_low_pct == pytest.approx(r.mean_ci_high_pct)
    assert res.samples["30d/90d"].days == int(sample.sum())
    assert res.today["30d"].change_pct == pytest.approx(change[-1])


def test_only_forward_days_within_the_data_count():
    day, h, price, change = _known_history()
    res = compression_study(day, h, price, lookbacks_days=(30,), horizons_days=(HORIZON,))
    last = np.datetime64(res.samples["30d/90d"].last_day)
    assert last == day[-1 - HORIZON]
    ret = forward_return_pct(price, HORIZON)
    assert np.isnan(ret[-HORIZON:]).all() and np.isfinite(ret[:-HORIZON]).all()


def test_bootstrap_interval_contains_the_mean_and_repeats():
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.standard_normal(3000)) * 0.1 + rng.standard_normal(3000)
    mask = np.sin(np.arange(3000) / 50) < 0
    means = block_bootstrap_means(x, [mask, ~mask], block_days=90, samples=1000, seed=1)
    again = block_bootstrap_means(x, [mask, ~mask], block_days=90, samples=1000, seed=1)
    other = block_bootstrap_means(x, [mask, ~mask], block_days=90, samples=1000, seed=2)
    assert np.array_equal(means, again) and not np.array_equal(means, other)
    for m, sel in zip(means, (mask, ~mask), strict=True):
        lo, hi = np.percentile(m, [5, 95])
        assert lo < x[sel].mean() < hi
    # Independent rows with blocks of one: the spread of the means is the standard error.
    z = rng.standard_normal(2000)
    iid = block_bootstrap_means(z, [np.ones(2000, bool)], block_days=1, samples=4000)
    assert iid.std() == pytest.approx(z.std() / np.sqrt(2000), rel=0.1)


def test_count_episodes_merges_short_gaps():
    mask = np.zeros(60, bool)
    for a, b in [(0, 4), (8, 10), (30, 35), (37, 37)]:
        mask[a : b + 1] = True
    assert count_episodes(mask, 0) == 4
    assert count_episodes(mask, 2) == 3  # the 1-day gap (36) joins
    assert count_episodes(mask, 4) == 2  # and the 3-day gap (5-7)
    assert count_episodes(np.zeros(5, bool), 7) == 0


def test_bad_study_parameters(loaded_db):
    day, h, price, _ = _known_history(400)
    bad = [
        ({"strict_change_pct": 5}, "strict_change_pct"),
        ({"interval": 1.5}, "interval"),
        ({"horizons_days": (0,)}, "horizons_days"),
        ({"lookbacks_days": ()}, "lookbacks_days"),
        ({"merge_gap_days": -1}, "merge_gap_days"),
        ({"seed": 1.5}, "seed"),
        ({"start": "2015-13-01"}, "start"),
    ]
    for kwargs, name in bad:
        with pytest.raises(InputError, match=name):
            compression_study(day, h, price, **kwargs)
    with pytest.raises(InputError, match="unknown study"):
        study(loaded_db, "hashrate")
    with pytest.raises(InputError, match="model is not a parameter of study compression"):
        study(loaded_db, "compression", model="drm-fit-all")
    with pytest.raises(InputError, match="price_cross"):
        study(loaded_db, "ribbons", price_cross="later")
    with pytest.raises(InputError, match="model"):
        study(loaded_db, "below-cost", model="nope")


# -- the real history -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compression(loaded_db):
    return study(loaded_db, "compression", as_of="2025-12-31")


def _row(result, lookback, regime, horizon):
    return next(
        r
        for r in result.rows
        if (r.lookback_days, r.regime, r.horizon_days) == (lookback, regime, horizon)
    )


def test_compression_replicates_vaneck(compression):
    # VanEck, Dec 2025, since 2014: after a negative 30-day change 90-day returns were positive
    # 65% of the time (54% otherwise); after a negative 90-day change 180-day returns were
    # positive 77% of the time with a mean of +72% (61%, +48% otherwise).
    c30 = _row(compression, 30, "compression", 90)
    g30 = _row(compression, 30, "growth", 90)
    c90 = _row(compression, 90, "compression", 180)
    g90 = _row(compression, 90, "growth", 180)
    assert c30.share_positive_pct == pytest.approx(65, abs=3)
    assert g30.share_positive_pct == pytest.approx(54, abs=5)
    assert c90.share_positive_pct == pytest.approx(77, abs=3)
    assert c90.mean_return_pct == pytest.approx(72, abs=5)
    assert g90.share_positive_pct == pytest.approx(61, abs=3)
    assert g90.mean_return_pct == pytest.approx(48, abs=5)
    # Hundreds of days, but few independent episodes.
    assert c90.n_days > 300 and c90.episodes < 15
    for r in compression.rows:
        assert r.mean_ci_low_pct < r.mean_return_pct < r.mean_ci_high_pct
        assert r.episodes <= r.n_days
    assert compression.parameters["start"] == "2014-01-01"


def test_compression_forward_returns_from_the_csv(compression, cm_rows):
    # The compression days' 90-day returns, recomputed from the CSV's HashRate and PriceUSD.
    days = [r["time"] for r in cm_rows]
    hr = np.array([float(r["HashRate"]) if r["HashRate"] else 0.0 for r in cm_rows])
    price = np.array([float(r["PriceUSD"]) if r["PriceUSD"] else np.nan for r in cm_rows])
    m = np.convolve(hr, np.ones(30) / 30)[: len(hr)]
    m[:29] = np.nan
    change = np.full(len(hr), np.nan)
    change[30:] = m[30:] / m[:-30] - 1
    ret = np.full(len(hr), np.nan)
    ret[:-90] = price[90:] / price[:-90] - 1
    sel = (np.array(days) >= "2014-01-01") & (change < 0) & np.isfinite(ret)
    row = _row(compression, 30, "compression", 90)
    assert row.n_days == int(sel.sum())
    assert row.mean_return_pct == pytest.approx(100 * ret[sel].mean(), rel=1e-6)
    assert row.share_positive_pct == pytest.approx(100 * (ret[sel] > 0).mean())


def test_ribbon_events_and_returns(loaded_db, cm_rows):
    res = study(loaded_db, "ribbons")
    events = res.details["events"]
    buys = [e for e in events if e.event == "buy signal"]
    assert "2022-08-20" in [e.date for e in buys]
    days = [r["time"] for r in cm_rows]
    price = {r["time"]: float(r["PriceUSD"]) for r in cm_rows if r["PriceUSD"]}
    e = next(e for e in buys if e.date == "2022-08-20")
    i = days.index("2022-08-20")
    for h in (30, 90, 180, 365):
        want = 100 * (price[days[i + h]] / price["2022-08-20"] - 1)
        assert e.forward_return_pct[f"{h}d"] == pytest.approx(want)
    # The summary rows are the mean of the events' returns.
    row = next(r for r in res.rows if r.event == "buy signal" and r.horizon_days == 180)
    values = [
        x.forward_return_pct["180d"] for x in buys if x.forward_return_pct["180d"] is not None
    ]
    assert row.n == len(values) and row.mean_return_pct == pytest.approx(np.mean(values))
    # Events near the end have no 365-day return yet.
    assert events[-1].forward_return_pct["365d"] is None
    since = study(loaded_db, "ribbons", start="2014-01-01").details["events"]
    assert since and min(e.date for e in since) >= "2014-01-01"


def test_below_cost_study_matches_the_episodes(loaded_db):
    res = study(loaded_db, "below-cost")
    eps = cost_episodes(loaded_db, min_days=7, horizons_days=(30, 90, 180, 365)).episodes
    got = res.details["episodes"]
    assert [e.start for e in got] == [e.start for e in eps]
    assert [e.forward_return_pct for e in got] == [e.forward_return_pct for e in eps]
    bear = next(e for e in got if e.start == "2022-06-10")
    assert bear.days_to_cost == int(
        (np.datetime64(bear.exit_date) - np.datetime64(bear.start)).astype(int)
    )
    assert bear.days_to_cost > 600
    # Censored starts are left out of the summary.
    counted = [e for e in got if not e.censored_start]
    row = next(r for r in res.rows if r.horizon_days == 90)
    values = [
        e.forward_return_pct["90d"] for e in counted if e.forward_return_pct["90d"] is not None
    ]
    assert row.n == len(values) and row.mean_return_pct == pytest.approx(np.mean(values))


def test_studies_have_no_look_ahead(tmp_path, coinmetrics_csv, epochs_csv, loaded_db):
    cut = "2023-06-30"
    lines = coinmetrics_csv.read_text().splitlines(keepends=True)
    short = tmp_path / "short.csv"
    short.write_text("".join([lines[0]] + [x for x in lines[1:] if x[:10] <= cut]))
    db = tmp_path / "short.duckdb"
    with minerwatch.open_store(db) as store:
        minerwatch.import_coinmetrics(store, short)
        minerwatch.import_epochs(store, epochs_csv)
    for name in ("compression", "ribbons", "below-cost"):
        assert study(db, name).to_dict() == study(loaded_db, name, as_of=cut).to_dict(), name
    late = study(loaded_db, "compression", as_of=cut)
    assert late.details["samples"]["30d/180d"].last_day == "2023-01-01"


def test_cli_json_csv_and_errors(cli, loaded_db, tmp_path):
    out = tmp_path / "table.csv"
    result = cli("study", "compression", "--json", "--csv", str(out), "--db", str(loaded_db))
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc == json.loads(json.dumps(study(loaded_db, "compression").to_dict()))
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == len(doc["rows"]) == 12
    assert rows[0]["regime"] == doc["rows"][0]["regime"]
    assert float(rows[0]["mean_return_pct"]) == pytest.approx(doc["rows"][0]["mean_return_pct"])
    text = cli("study", "ribbons", "--as-of", "2024-12-31", "--db", str(loaded_db))
    assert text.returncode == 0 and "buy signal" in text.stdout
    assert cli("study", "below-cost", "--db", str(loaded_db)).returncode == 0
    bad = cli("study", "hashrate", "--db", str(loaded_db))
    assert bad.returncode == 2 and "unknown study" in bad.stderr
    unwritable = cli(
        "study", "ribbons", "--csv", str(tmp_path / "no" / "x.csv"), "--db", str(loaded_db)
    )
    assert unwritable.returncode == 2 and "x.csv" in unwritable.stderr


def test_below_cost_study_leaves_hindsight_and_censored_episodes_out(loaded_db):
    # drm-glassnode-2022's constants were fitted on data to 2022-09-14: the episodes that
    # start before it could not have been seen then. They are listed, flagged, and left
    # out of the summary, as is the censored first episode.
    res = study(loaded_db, "below-cost", model="drm-glassnode-2022")
    episodes = res.details["episodes"]
    assert res.details["fit_end"] == "2022-09-14"
    hindsight = [e for e in episodes if e.hindsight]
    assert len(hindsight) == 7 and all(e.start < "2022-09-14" for e in hindsight)
    assert episodes[0].censored_start and episodes[0].hindsight
    counted = [e for e in episodes if not (e.hindsight or e.censored_start)]
    assert [e.start for e in counted] == ["2022-10-11", "2022-11-08"]
    assert res.details["summary_leaves_out"] == {"censored_start": 1, "hindsight": 6}
    for row in res.rows:
        values = [e.forward_return_pct[f"{row.horizon_days}d"] for e in counted]
        values = [v for v in values if v is not None]
        assert row.n == len(values) == 2
        assert row.mean_return_pct == pytest.approx(np.mean(values))
    json.dumps(res.to_dict())
    # The default model reads nothing after the day it prices: no hindsight; the censored
    # first episode (2015-12-31) is still left out.
    default = study(loaded_db, "below-cost")
    assert not any(e.hindsight for e in default.details["episodes"])
    first = default.details["episodes"][0]
    assert first.censored_start and not first.counted
    row = next(r for r in default.rows if r.horizon_days == 30)
    assert row.n == sum(
        1 for e in default.details["episodes"][1:] if e.forward_return_pct["30d"] is not None
    )


def test_ribbons_study_reports_its_confirmation_days(cli, loaded_db):
    default = study(loaded_db, "ribbons")
    assert default.parameters["confirm_days"] == 2
    plain = study(loaded_db, "ribbons", confirm_days=1)
    assert plain.parameters["confirm_days"] == 1
    # Edwards' crossover splits 2022 at the one-day flip of 2022-07-04.
    ends = {e.capitulation_end for e in plain.details["events"]}
    assert "2022-07-03" in ends and "2022-07-03" not in {
        e.capitulation_end for e in default.details["events"]
    }
    shown = cli("study", "ribbons", "--confirm-days", "1", "--db", str(loaded_db))
    assert shown.returncode == 0, shown.stderr
    assert "after 1 days back above" in " ".join(shown.stdout.split())


def test_study_options_and_their_errors(cli, loaded_db, tmp_path):
    strict = study(loaded_db, "compression", strict_change_pct=-10)
    assert {r.condition for r in strict.rows} == {"change < 0", "change >= 0", "change < -10%"}
    with pytest.raises(InputError) as bad:
        compression_study(*_known_history(400)[:3], strict_change_pct=5)
    assert bad.value.parameter == "strict_change_pct"
    cases = [
        (("compression", "--strict-change", "3"), "--strict-change 3 is out of range"),
        (("ribbons", "--confirm-days", "0"), "--confirm-days 0 is out of range"),
        (("compression", "--confirm-days", "2"), "--confirm-days is not a parameter"),
    ]
    for args, message in cases:
        result = cli("study", *args, "--db", str(loaded_db))
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
    signals = cli("signals", "--confirm-days", "0", "--db", str(loaded_db))
    assert signals.returncode == 2 and "--confirm-days 0 is out of range" in signals.stderr
    unwritable = cli(
        "study", "ribbons", "--csv", str(tmp_path / "no" / "x.csv"), "--db", str(loaded_db)
    )
    assert unwritable.returncode == 2
    assert "cannot write the file: No such file or directory" in unwritable.stderr
    assert "cannot write No such" not in unwritable.stderr


def test_study_tables_fit_80_columns(cli, loaded_db):
    for name in ("compression", "ribbons", "below-cost"):
        shown = cli("study", name, "--db", loaded_db, env={"COLUMNS": "80"})
        assert shown.returncode == 0, shown.stderr
        assert "…" not in shown.stdout, name  # nothing cut
        assert max(len(line) for line in shown.stdout.splitlines()) <= 80, name
    helped = cli("study", "--help")
    assert "compression adds bootstrap intervals" in " ".join(helped.stdout.split())
