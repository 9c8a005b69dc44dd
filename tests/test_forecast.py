"""Next-adjustment forecasts: the mempool.space baseline against its published test vectors,
our forecast on the real blocks of epochs 915264 and 917280, no look-ahead, the CLI."""

from __future__ import annotations

import csv
import dataclasses
import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

import minerwatch
from minerwatch.analyses.difficulty import (
    DailySeries,
    Epochs,
    block_inputs,
    daily_context,
    forecast_adjustment,
)
from minerwatch.chain import consensus as chain
from minerwatch.errors import AsOfOutOfRange, InputError
from minerwatch.models.difficulty import fit_hashrate_process
from minerwatch.models.mempool import calc_difficulty_adjustment
from minerwatch.serialize import to_jsonable
from minerwatch.store import open_store


def dt(text: str) -> int:
    """mempool's test helper: ``Math.floor(new Date(text).getTime() / 1000)``."""
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


# The vectors of mempool/mempool backend/src/__tests__/api/difficulty-adjustment.test.ts
# ("should calculate Difficulty Adjustments properly"), inputs in the order of
# calcDifficultyAdjustment(DATime, quarterEpochTime, nowSeconds, blockHeight,
# previousRetarget, network, latestBlockTimestamp), expected results as published.
MEMPOOL_VECTORS = [
    (  # Vector 1 (normal adjustment)
        (dt("2024-02-02T15:42:06.000Z"), dt("2024-02-08T14:43:05.000Z"),
         dt("2024-02-11T22:43:01.000Z"), 830027, 7.333505241141637, "mainnet", 0),
        {"progressPercent": 71.97420634920636, "difficultyChange": 8.512745140778843,
         "estimatedRetargetDate": 1708004001715, "remainingBlocks": 565,
         "remainingTime": 312620715, "previousRetarget": 7.333505241141637,
         "previousTime": 1706888526, "nextRetargetHeight": 830592, "timeAvg": 553311,
         "adjustedTimeAvg": 553311, "timeOffset": 0, "expectedBlocks": 1338.0916666666667},
    ),
    (  # Vector 2 (within quarter-epoch overlap)
        (dt("2022-08-18T11:07:00.000Z"), dt("2022-08-16T03:16:54.000Z"),
         dt("2022-08-19T14:03:53.000Z"), 750134, 0.6280047707459726, "mainnet", 0),
        {"progressPercent": 9.027777777777777, "difficultyChange": 1.0420538959004633,
         "estimatedRetargetDate": 1662009048328, "remainingBlocks": 1834,
         "remainingTime": 1091215328, "previousRetarget": 0.6280047707459726,
         "previousTime": 1660820820, "nextRetargetHeight": 751968, "timeAvg": 533038,
         "adjustedTimeAvg": 594992, "timeOffset": 0, "expectedBlocks": 161.68833333333333},
    ),
    (  # Vector 3 (testnet)
        (dt("2022-08-18T11:07:00.000Z"), dt("2022-08-16T03:16:54.000Z"),
         dt("2022-08-19T14:03:53.000Z"), 750134, 0.6280047707459726, "testnet",
         dt("2022-08-19T13:52:46.000Z")),
        {"progressPercent": 9.027777777777777, "difficultyChange": 1.0420538959004633,
         "estimatedRetargetDate": 1662009048328, "remainingBlocks": 1834,
         "remainingTime": 1091215328, "previousTime": 1660820820,
         "previousRetarget": 0.6280047707459726, "nextRetargetHeight": 751968,
         "timeAvg": 533038, "adjustedTimeAvg": 594992, "timeOffset": -667000,
         "expectedBlocks": 161.68833333333333},
    ),
    (  # Vector 4 (mainnet lock-in (epoch ending 788255))
        (dt("2023-04-20T09:57:33.000Z"), dt("2022-08-16T03:16:54.000Z"),
         dt("2023-05-04T14:54:09.000Z"), 788255, 1.7220298879531821, "mainnet",
         dt("2023-05-04T14:54:26.000Z")),
        {"progressPercent": 99.95039682539682, "difficultyChange": -1.4512637555574193,
         "estimatedRetargetDate": 1683212658129, "remainingBlocks": 1,
         "remainingTime": 609129, "previousRetarget": 1.7220298879531821,
         "previousTime": 1681984653, "nextRetargetHeight": 788256, "timeAvg": 609129,
         "adjustedTimeAvg": 609129, "timeOffset": 0, "expectedBlocks": 2045.66},
    ),
]  # fmt: skip


@pytest.mark.parametrize("inputs, expected", MEMPOOL_VECTORS)
def test_baseline_reproduces_mempool_test_vectors_exactly(inputs, expected):
    result = calc_difficulty_adjustment(*inputs).to_dict()
    assert result == expected  # jest's toStrictEqual: every field, exactly
    assert result["previousRetarget"] == inputs[4]  # passed through untouched


# --- the real blocks of epochs 915264 and 917280 -----------------------------------------

EPOCH = 915_264
NEXT = 917_280


@pytest.fixture(scope="module")
def epochs_rows(epochs_csv: Path) -> dict[int, tuple[float, int | None]]:
    with open(epochs_csv, newline="") as f:
        return {
            int(r["start_height"]): (float(r["difficulty"]), int(r["start_time"] or -1))
            for r in csv.DictReader(f)
        }


@pytest.fixture(scope="module")
def blocks(blocks_csv: Path, epochs_rows) -> dict[str, np.ndarray]:
    """The blocks file read with the csv module; difficulty from the epochs file."""
    with open(blocks_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    h = np.array([int(r["height"]) for r in rows])
    t = np.array([int(r["time"]) for r in rows])
    d = np.array([epochs_rows[x - x % 2016][0] for x in h])
    return {"height": h, "time": t, "difficulty": d}


@pytest.fixture(scope="module")
def history(loaded_db):
    with open_store(loaded_db, read_only=True) as store:
        epochs = Epochs.from_store(store.read_epochs())
        frame = minerwatch.daily_frame(store)
    return daily_context(DailySeries.from_frame(frame), epochs), epochs


def _forecast_at(blocks, height, daily=None, epochs=None):
    at = np.flatnonzero(blocks["height"] == height)
    inputs = block_inputs(
        blocks["height"], blocks["time"], blocks["difficulty"], at, daily=daily, epochs=epochs
    )
    return inputs, forecast_adjustment(inputs)


def test_half_way_through_915264_the_interval_holds_the_realised_retarget(
    blocks, history, epochs_rows
):
    # At block 916272 (50% of epoch 915264) the 90% interval of the change contains the
    # realised +5.97% of 917280 (difficulty_epochs.csv), with the daily history before it
    # and without it (a priori process parameters), and the date interval contains the
    # time of block 917280.
    realised = 100 * (epochs_rows[NEXT][0] / epochs_rows[EPOCH][0] - 1)
    assert realised == pytest.approx(5.969, abs=1e-3)
    realised_date = epochs_rows[NEXT][1]
    daily, epochs = history
    for ctx in (daily, None):
        inputs, f = _forecast_at(blocks, EPOCH + 1008, ctx, epochs)
        assert inputs.blocks_in_epoch[0] == 1008
        assert f.change_pct_low[0] < realised < f.change_pct_high[0]
        assert f.change_pct_low[0] < f.change_pct[0] < f.change_pct_high[0]
        assert f.date_low_s[0] < realised_date < f.date_high_s[0]
    # With the history the interval is narrower, and closer than mempool's +7.48%.
    _, with_history = _forecast_at(blocks, EPOCH + 1008, daily, epochs)
    _, priors = _forecast_at(blocks, EPOCH + 1008, None, epochs)
    width = with_history.change_pct_high - with_history.change_pct_low
    assert width[0] < (priors.change_pct_high - priors.change_pct_low)[0]
    assert abs(with_history.change_pct[0] - realised) < 1.0


def test_change_locks_on_the_epochs_last_block(blocks, epochs_rows):
    # At block 917279 the timespan is known: ours and mempool's both give the consensus
    # change, 1,209,600 / (t(917279) - t(915264)) - 1, equal to the realised retarget up
    # to the compact rounding of the new target.
    inputs, f = _forecast_at(blocks, NEXT - 1)
    t = dict(zip(blocks["height"].tolist(), blocks["time"].tolist(), strict=True))
    exact = 100 * (1_209_600 / (t[NEXT - 1] - t[EPOCH]) - 1)
    assert f.change_pct[0] == pytest.approx(exact, abs=1e-12)
    assert f.change_pct_low[0] == f.change_pct_high[0] == f.change_pct[0]
    realised = 100 * (epochs_rows[NEXT][0] / epochs_rows[EPOCH][0] - 1)
    # Compact bits keep a 17-bit mantissa here (0x019b..): a step of ~1e-5 relative.
    assert f.change_pct[0] == pytest.approx(realised, abs=2e-3)
    base = calc_difficulty_adjustment(
        t[EPOCH], t[NEXT - 1 - 503], t[NEXT - 1], NEXT - 1, 4.63, "mainnet", t[NEXT - 1]
    )
    assert base.difficulty_change == pytest.approx(exact, abs=1e-9)
    # The date: one block more, a Gamma(1) wait.
    assert f.date_low_s[0] < t[NEXT] < f.date_high_s[0]


def test_the_difficulty_on_the_epochs_last_block_is_the_consensus_retarget(
    blocks_db, blocks, epochs_rows
):
    # At block 917279 the epoch's timespan is known: the difficulty the outlook says the
    # retarget sets is Bitcoin Core's (chain.next_difficulty, through compact bits, from the
    # blocks file's times and the epochs file's difficulty) and the realised one of 917280,
    # up to the compact rounding the outlook ignores (a step of ~1e-5 relative here).
    o = minerwatch.difficulty_outlook(blocks_db, at_height=NEXT - 1)
    na = o.next_adjustment
    t = dict(zip(blocks["height"].tolist(), blocks["time"].tolist(), strict=True))
    consensus = chain.next_difficulty(epochs_rows[EPOCH][0], t[EPOCH], t[NEXT - 1])
    assert na.difficulty == pytest.approx(consensus, rel=3e-5)
    assert na.difficulty == pytest.approx(epochs_rows[NEXT][0], rel=3e-5)
    assert na.difficulty_low == na.difficulty == na.difficulty_high
    assert o.baseline.difficulty == pytest.approx(consensus, rel=3e-5)


def test_block_forecast_reads_nothing_after_its_block(blocks, history, loaded_db):
    # The same forecast from a daily history cut at the day before the block.
    daily, epochs = history
    at = EPOCH + 504
    t_at = int(blocks["time"][blocks["height"] == at][0])
    day_before = np.datetime64(t_at, "s").astype("datetime64[D]") - 1
    with open_store(loaded_db, read_only=True) as store:
        cut = minerwatch.daily_frame(store, str(day_before))
    ctx = daily_context(DailySeries.from_frame(cut), epochs)
    cut_blocks = {k: v[blocks["height"] <= at] for k, v in blocks.items()}
    _, full = _forecast_at(blocks, at, daily, epochs)
    _, only_past = _forecast_at(cut_blocks, at, ctx, epochs)
    for name in ("change_pct", "change_pct_low", "change_pct_high", "date_s", "date_high_s"):
        assert getattr(full, name)[0] == getattr(only_past, name)[0], name


def test_process_fit_recovers_a_simulated_random_walk():
    rng = np.random.default_rng(11)
    days, q, g = 800, 1e-4, 0.002
    log_h = np.cumsum(rng.normal(g, np.sqrt(q), days))
    rate = np.exp(log_h - log_h.mean())
    # Difficulty constant: the daily counts carry the whole hashrate path.
    fit = fit_hashrate_process(rng.poisson(144 * rate), np.ones(days))
    assert fit.days[-1] == 365 and fit.days[50] == 0
    assert 0.4 * q < fit.q_per_day[-1] < 2.5 * q
    assert abs(fit.drift_per_day[-1] - g) < 3 * fit.drift_se_per_day[-1]


# --- the store-facing outlook and the CLI -------------------------------------------------


def test_outlook_uses_the_blocks_when_held(blocks_db, blocks, history):
    o = minerwatch.difficulty_outlook(blocks_db, at_height=EPOCH + 1008)
    daily, epochs = history
    _, f = _forecast_at(blocks, EPOCH + 1008, daily, epochs)
    assert o.data == "blocks" and o.progress_pct == 50.0 and o.blocks_remaining == 1008
    assert o.next_adjustment.height == NEXT
    assert o.next_adjustment.change_pct == pytest.approx(f.change_pct[0], abs=1e-3)
    assert o.hashrate["120b"].blocks == 120
    low, high = o.hashrate["120b"].low_ehs, o.hashrate["120b"].high_ehs
    assert low < o.hashrate["120b"].hashrate_ehs < high
    assert o.hashrate["120b"].getnetworkhashps_ehs == pytest.approx(
        o.hashrate["120b"].hashrate_ehs * 120 / 119
    )
    # A day inside the blocks' range: the last block of the day.
    day = minerwatch.difficulty_outlook(blocks_db, as_of="2025-09-25")
    assert day.data == "blocks" and day.as_of < "2025-09-26"


def test_daily_outlook_sees_nothing_after_as_of(loaded_db, tmp_path, coinmetrics_csv, epochs_csv):
    # A database holding only what was known on 2024-06-15 gives the same outlook.
    as_of = "2024-06-15"
    end = int((np.datetime64(as_of) + 1 - np.datetime64("1970-01-01")).astype(int)) * 86_400
    cm = tmp_path / "cm.csv"
    with open(coinmetrics_csv, newline="") as f, open(cm, "w", newline="") as out:
        rows = csv.reader(f)
        writer = csv.writer(out)
        header = next(rows)
        writer.writerow(header)
        writer.writerows(r for r in rows if r[0] <= as_of)
    ep = tmp_path / "epochs.csv"
    with open(epochs_csv, newline="") as f, open(ep, "w", newline="") as out:
        reader = csv.DictReader(f)
        writer = csv.DictWriter(out, reader.fieldnames)
        writer.writeheader()
        # Epochs started by then (epoch 0 has no start time in the file).
        started = [r for r in reader if r["start_time"] and int(r["start_time"]) < end]
        writer.writerows([{"start_height": "0", "difficulty": "1.0", "start_time": ""}, *started])
    small = tmp_path / "known.duckdb"
    with minerwatch.open_store(small) as store:
        minerwatch.import_coinmetrics(store, cm)
        minerwatch.import_epochs(store, ep)
    full = minerwatch.difficulty_outlook(loaded_db, as_of=as_of).to_dict()
    known = minerwatch.difficulty_outlook(small, as_of=as_of).to_dict()
    assert full == known
    assert full["data"] == "daily" and full["as_of"] == "2024-06-16T00:00:00Z"
    # status carries the same next_adjustment object.
    st = minerwatch.status(loaded_db, as_of=as_of)
    assert to_jsonable(st.next_adjustment) == full["next_adjustment"]


def test_outlook_fields_are_consistent(loaded_db):
    o = minerwatch.difficulty_outlook(loaded_db, as_of="2025-10-06")
    na = o.next_adjustment
    assert {f.name for f in dataclasses.fields(na)} == {
        "height", "blocks_remaining", "change_pct", "change_pct_low", "change_pct_high",
        "difficulty", "difficulty_low", "difficulty_high",
        "date", "date_low", "date_high", "method", "reason",
    }  # fmt: skip
    assert na.reason is None
    assert na.change_pct_low < na.change_pct < na.change_pct_high
    assert na.difficulty_low < na.difficulty < na.difficulty_high
    # A fall sets a lower difficulty, a rise a higher one.
    assert (na.difficulty < o.difficulty) == (na.change_pct < 0)
    assert (o.baseline.difficulty < o.difficulty) == (o.baseline.change_pct < 0)
    assert na.date_low < na.date < na.date_high
    assert na.height == o.epoch_start_height + 2016 == o.height + na.blocks_remaining
    assert {f.name for f in dataclasses.fields(o.baseline)} == {
        "change_pct", "difficulty", "date", "method"
    }  # fmt: skip
    assert set(o.hashrate) == {"1d", "3d", "7d", "epoch"}
    for e in o.hashrate.values():
        assert e.low_ehs < e.hashrate_ehs < e.high_ehs
    json.dumps(o.to_dict())  # JSON-ready


def test_bad_parameters(loaded_db, blocks_db):
    with pytest.raises(AsOfOutOfRange):
        minerwatch.difficulty_outlook(loaded_db, as_of="2026-02-01")
    with pytest.raises(InputError, match="per-block data"):
        minerwatch.difficulty_outlook(loaded_db, at_height=916_000)
    with pytest.raises(InputError, match="^at_height 930000: needs per-block data") as err:
        minerwatch.difficulty_outlook(blocks_db, at_height=930_000)
    assert err.value.parameter == "at_height"
    with pytest.raises(InputError, match="not both"):
        minerwatch.difficulty_outlook(blocks_db, as_of="2025-10-01", at_height=916_000)


def test_cli_difficulty(cli, blocks_db):
    result = cli("difficulty", "--at-height", "916272", "--json", "--db", str(blocks_db))
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == minerwatch.difficulty_outlook(blocks_db, at_height=916272).to_dict()
    panel = cli("difficulty", "--as-of", "2025-10-06", "--db", str(blocks_db))
    assert panel.returncode == 0, panel.stderr
    assert "Next adjustment" in panel.stdout and "mempool.space" in panel.stdout
    for args, words in (
        (("--at-height", "930000"), "--at-height 930000: needs per-block data"),  # beyond them
        (("--as-of", "2027-01-01"), "--as-of 2027-01-01 is outside the data held"),
        (("--as-of", "2025-10-01", "--at-height", "916000"), "`--as-of` or `--at-height`"),
    ):
        bad = cli("difficulty", *args, "--db", str(blocks_db))
        assert bad.returncode == 2, (args, bad.stderr)
        assert bad.stderr.startswith("error: ") and words in bad.stderr, bad.stderr


def test_block_forecast_ignores_later_blocks_stamped_before_the_tip(blocks, history):
    # Header times are not monotonic: of the blocks above 918962, some are stamped before
    # it. They come after the tip, so the forecast at 918962 must not read them: with every
    # block of the file loaded it equals the forecast from the blocks up to the tip.
    daily, epochs = history
    tip = 918_962
    i = int(np.flatnonzero(blocks["height"] == tip)[0])
    assert (blocks["time"][i + 1 :] < blocks["time"][i]).any()
    cut = {k: v[: i + 1] for k, v in blocks.items()}
    inputs_all, all_blocks = _forecast_at(blocks, tip, daily, epochs)
    inputs_cut, only_tip = _forecast_at(cut, tip, daily, epochs)
    assert inputs_all.obs_level_hs[0] == inputs_cut.obs_level_hs[0]
    for name in ("change_pct", "change_pct_low", "change_pct_high", "date_s", "date_high_s"):
        assert getattr(all_blocks, name)[0] == getattr(only_tip, name)[0], name


def test_no_forecast_without_a_hashrate_level(cli, loaded_db):
    # 2009-01-05: no block after the genesis yet, so no level to forecast from. The outlook
    # says so instead of printing a forecast made of an infinite time (+0.0%, 0.0 to 0.0).
    o = minerwatch.difficulty_outlook(loaded_db, as_of="2009-01-05")
    na = o.next_adjustment
    assert na.change_pct is None and na.change_pct_low is None and na.date is None
    assert "no hashrate level" in na.reason
    assert o.as_of == "2009-01-06T00:00:00Z" and o.as_of_day == "2009-01-05"
    assert minerwatch.status(loaded_db, as_of="2009-01-05").next_adjustment is None
    panel = cli("difficulty", "--as-of", "2009-01-05", "--db", str(loaded_db))
    assert panel.returncode == 0, panel.stderr
    assert "+0.0%" not in panel.stdout and "n/a%" not in panel.stdout
    assert "no hashrate level" in panel.stdout
    assert "end of 2009-01-05" in panel.stdout


@pytest.fixture(scope="module")
def db_cut_at_918288(tmp_path_factory, coinmetrics_csv, epochs_csv, blocks_csv):
    """What a user had at block 918,288 (half of epoch 917280): the blocks up to it, the
    days before its day and the epochs begun by then."""
    folder = tmp_path_factory.mktemp("cut_918288")
    with open(blocks_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    t_at = next(int(r["time"]) for r in rows if int(r["height"]) == 918_288)
    day = str(np.datetime64(t_at, "s").astype("datetime64[D]"))
    paths = {}
    for name, src, keep in (
        ("blocks", blocks_csv, lambda r: int(r["height"]) <= 918_288),
        ("epochs", epochs_csv, lambda r: int(r["start_height"]) <= 918_288),
        ("cm", coinmetrics_csv, lambda r: r["time"][:10] < day),
    ):
        with open(src, newline="") as f:
            reader = csv.DictReader(f)
            kept = [r for r in reader if keep(r)]
            fields = reader.fieldnames
        paths[name] = folder / f"{name}.csv"
        with open(paths[name], "w", newline="") as out:
            writer = csv.DictWriter(out, fields)
            writer.writeheader()
            writer.writerows(kept)
    path = folder / "cut.duckdb"
    with minerwatch.open_store(path) as store:
        minerwatch.import_coinmetrics(store, paths["cm"])
        minerwatch.import_epochs(store, paths["epochs"])
        minerwatch.import_blocks(store, paths["blocks"])
    return path


@pytest.mark.parametrize("height", [918_288, 917_784, 919_094])
def test_at_height_gives_the_backtests_figure_for_the_same_block(cli, blocks_db, height):
    # The blocks table starts at 915264, inside the level's window (10 time constants, 80+
    # days): the outlook reads every held block, as the backtest does, not daily counts in
    # their place (it differed by 0.12 points at 918288).
    fc = minerwatch.backtest_difficulty(blocks_db).forecasts
    at = fc["epoch_start_height"] + np.rint(fc["progress_pct"] * 2016 / 100).astype(int)
    i = np.flatnonzero((fc["data"] == "blocks") & (at == height))[0]
    shown = cli("difficulty", "--at-height", height, "--json", "--db", str(blocks_db))
    assert shown.returncode == 0, shown.stderr
    na = json.loads(shown.stdout)["next_adjustment"]
    for key, name in (
        ("change_pct", "ours_change_pct"),
        ("change_pct_low", "ours_low"),
        ("change_pct_high", "ours_high"),
    ):
        assert na[key] == pytest.approx(fc[name][i], abs=6e-4), key


def test_at_height_is_the_same_on_a_database_cut_at_the_block(cli, blocks_db, db_cut_at_918288):
    shown = [
        json.loads(cli("difficulty", "--at-height", 918_288, "--json", "--db", str(db)).stdout)
        for db in (blocks_db, db_cut_at_918288)
    ]
    assert shown[0]["next_adjustment"] == shown[1]["next_adjustment"]
    assert shown[0]["next_adjustment"]["change_pct"] == pytest.approx(-5.064, abs=1e-3)
