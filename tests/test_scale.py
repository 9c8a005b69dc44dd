"""Forecasts over long block histories: memory and time bounded by the level's window, not by
the length of the blocks table (the backtest over 400,000 blocks, status reading a bounded
number of blocks)."""

from __future__ import annotations

import shutil
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import minerwatch
from minerwatch.analyses import difficulty as forecast
from minerwatch.analyses.backtest import backtest_arrays
from minerwatch.analyses.difficulty import DailySeries, Epochs
from minerwatch.chain.consensus import HASHES_PER_DIFFICULTY
from minerwatch.store import Store, open_store

GENESIS_S = 1_231_006_505  # 2009-01-03 18:15:05 UTC
EPOCH = 2016


def synthetic_chain(n_blocks: int, seed: int = 0):
    """``n_blocks`` blocks from the genesis: the hashrate a random walk with drift in its
    log (1%/day, +0.1%/day), constant within an epoch; Poisson arrivals; the consensus
    retarget. Returns the blocks, the daily series counted from them, and the epochs."""
    rng = np.random.default_rng(seed)
    times = np.empty(n_blocks)
    diff = np.empty(n_blocks)
    d, log_h, t = 1e6, np.log(1e6 * HASHES_PER_DIFFICULTY / 600.0), float(GENESIS_S)
    for start in range(0, n_blocks, EPOCH):  # a few hundred epochs
        k = min(EPOCH, n_blocks - start)
        gaps = rng.exponential(d * HASHES_PER_DIFFICULTY / np.exp(log_h), k)
        gaps[0] = 0.0 if start == 0 else gaps[0]
        times[start : start + k] = t + np.cumsum(gaps)
        diff[start : start + k] = d
        t = times[start + k - 1]
        span = np.clip(times[start + k - 1] - times[start], 302_400, 4_838_400)
        d *= 1_209_600 / span
        log_h += rng.normal(0.001 * 14, 0.01 * np.sqrt(14))
    times = times.astype(np.int64)
    heights = np.arange(n_blocks)
    day0 = np.datetime64(GENESIS_S, "s").astype("datetime64[D]")
    day_i = (times.astype("datetime64[s]").astype("datetime64[D]") - day0).astype(np.int64)
    count = np.bincount(day_i)
    with np.errstate(invalid="ignore"):
        d_mean = np.bincount(day_i, weights=diff) / count
    series = DailySeries(
        day=day0 + np.arange(len(count)),
        blocks=count.astype(np.float64),
        end_height=(np.cumsum(count) - 1).astype(np.float64),
        difficulty_mean=np.where(count > 0, d_mean, np.nan),
    )
    starts = np.arange(0, n_blocks, EPOCH)
    epochs = Epochs(starts, diff[starts], times[starts])
    blocks = {"height": heights, "time": times, "difficulty": diff}
    return blocks, series, epochs


def test_backtest_over_400k_blocks_runs_in_bounded_memory():
    # 400,000 blocks and ~1,000 per-block forecast points: the level reads a window of ten
    # time constants per point, so memory stays that of the arrays (tens of MB). A
    # (points x history) matrix would take 3.2 GB per temporary (60,000 blocks: 500 MB).
    blocks, series, epochs = synthetic_chain(400_000)
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        bt = backtest_arrays(series, epochs, blocks)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - t0
    assert peak < 150e6, f"peak {peak / 1e6:.0f} MB"
    assert elapsed < 30.0  # about half a second here; generous for slow machines
    per_block = [r for r in bt.rows if r.data == "blocks"]
    assert [r.epochs for r in per_block] == [198] * 5
    # The simulated process is the model's own: the intervals hold most realised changes.
    assert all(75.0 <= r.coverage_change_pct <= 100.0 for r in per_block)


def _interpolated_blocks_csv(path: Path, epochs_csv: Path, top: int, n: int) -> Path:
    """``n`` blocks up to height ``top`` with header times interpolated between the epochs
    file's start times (plus two minutes of noise)."""
    import csv

    with open(epochs_csv, newline="") as f:
        known = [(int(r["start_height"]), int(r["start_time"])) for r in csv.DictReader(f)
                 if r["start_time"]]  # fmt: skip
    heights = np.arange(top - n + 1, top + 1)
    hk, tk = (np.array(c) for c in zip(*known, strict=True))
    times = np.interp(heights, hk, tk) + np.random.default_rng(1).normal(0, 120, n)
    with open(path, "w") as f:
        f.write("height,time\n")
        f.writelines(f"{h},{int(t)}\n" for h, t in zip(heights.tolist(), times, strict=True))
    return path


@pytest.fixture(scope="module")
def big_db(tmp_path_factory, loaded_db, epochs_csv) -> Path:
    """The real daily history and epochs with a blocks table of 400,000 blocks."""
    folder = tmp_path_factory.mktemp("big")
    path = folder / "big.duckdb"
    shutil.copy(loaded_db, path)
    blocks = _interpolated_blocks_csv(folder / "blocks.csv", epochs_csv, 919_296, 400_000)
    with open_store(path) as store:
        minerwatch.import_blocks(store, blocks)
    return path


def test_status_reads_a_bounded_number_of_blocks(big_db, monkeypatch):
    read = []
    original = Store.read_blocks

    def counting(self, **kw):
        out = original(self, **kw)
        read.append(len(out["height"]))
        return out

    monkeypatch.setattr(Store, "read_blocks", counting)
    t0 = time.perf_counter()
    snapshot = minerwatch.status(big_db, as_of="2025-10-10")
    outlook = minerwatch.difficulty_outlook(big_db, as_of="2025-10-10")
    assert time.perf_counter() - t0 < 20.0
    assert outlook.data == "blocks" and snapshot.next_adjustment == outlook.next_adjustment
    # Ten time constants of at most 11.3 days of blocks, the epoch, a slack: not 400,000.
    assert read and max(read) < 25_000, read
    # The same outlook as from every block held up to the day.
    with open_store(big_db, read_only=True) as store:
        epochs = Epochs.from_store(store.read_epochs())
        day_end = int((np.datetime64("2025-10-11") - np.datetime64("1970-01-01")).astype(int))
        day_end *= 86_400
        full = forecast._contiguous_blocks(store, max_time=day_end - 1)
        daily = forecast._daily_before(store, epochs, day_end - 1)
    assert len(full["height"]) > 390_000
    reference = forecast._outlook_blocks(full, len(full["height"]) - 1, epochs, [], daily)
    assert outlook.to_dict() == reference.to_dict()
    at_block = minerwatch.difficulty_outlook(big_db, at_height=outlook.height)
    assert at_block.next_adjustment == outlook.next_adjustment
