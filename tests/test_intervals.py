"""Block-interval statistics: the real block file against a hand computation, the daily
fallback, and synthetic sequences for slow blocks and out-of-order timestamps."""

from __future__ import annotations

import csv
import itertools
import shutil
import statistics
from datetime import UTC, datetime

import numpy as np
import pytest

import minerwatch
from minerwatch.analyses.status import block_intervals_at
from minerwatch.metrics.intervals import block_interval_windows, interval_stats, intervals_s


def _midnight_after(day: str) -> int:
    d = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
    return int(d.timestamp()) + 86_400


@pytest.fixture(scope="module")
def block_rows(blocks_csv) -> list[tuple[int, int]]:
    with open(blocks_csv, newline="") as f:
        return [(int(r["height"]), int(r["time"])) for r in csv.DictReader(f)]


@pytest.fixture(scope="module")
def blocks_db(tmp_path_factory, loaded_db, blocks_csv):
    """The real Coin Metrics history and epochs (a copy of ``loaded_db``) plus the blocks."""
    path = tmp_path_factory.mktemp("intervals") / "db.duckdb"
    shutil.copy(loaded_db, path)
    with minerwatch.open_store(path) as store:
        minerwatch.import_blocks(store, blocks_csv)
    return path


def _by_hand(pairs: list[tuple[int, int]]) -> dict:
    """Mean, median and slow counts of the intervals between consecutive heights."""
    gaps = [t2 - t1 for (h1, t1), (h2, t2) in itertools.pairwise(pairs) if h2 == h1 + 1]
    return {
        "mean_min": sum(gaps) / len(gaps) / 60,
        "median_min": statistics.median(gaps) / 60,
        "slow_30m": sum(1 for g in gaps if g > 30 * 60),
        "slow_60m": sum(1 for g in gaps if g > 60 * 60),
        "blocks": len(pairs),
    }


@pytest.mark.parametrize("day", ["2025-10-06", "2025-10-01", "2025-09-25", "2025-10-15"])
def test_real_windows_equal_a_hand_computation(blocks_db, block_rows, cm_rows, day):
    end = _midnight_after(day)
    got = minerwatch.status(blocks_db, as_of=day).block_intervals
    assert got.source == "blocks"
    for window, days in ((got.last_1d, 1), (got.last_7d, 7)):
        pairs = [(h, t) for h, t in block_rows if end - days * 86_400 <= t < end]
        want = _by_hand(pairs)
        assert window.blocks == want["blocks"]
        assert window.slow_30m == want["slow_30m"] and window.slow_60m == want["slow_60m"]
        assert window.mean_min == pytest.approx(want["mean_min"], rel=1e-12)
        assert window.median_min == pytest.approx(want["median_min"], rel=1e-12)
    # The day's block count is Coin Metrics' BlkCnt: both count blocks by header time.
    assert got.last_1d.blocks == int(next(r for r in cm_rows if r["time"] == day)["BlkCnt"])
    last = max(h for h, t in block_rows if t < end)
    first = last - last % 2016
    pairs = [(h, t) for h, t in block_rows if first <= h <= last and t < end]
    want = _by_hand(pairs)
    for k in want:
        assert getattr(got.epoch, k) == pytest.approx(want[k], rel=1e-12), k


def test_mean_telescopes_to_first_and_last_block(blocks_db, block_rows):
    # 6 Oct 2025: epoch 917280 began on 1 Oct; the mean over its blocks is the time from its
    # first to its last block (by height) over the intervals, out-of-order stamps included.
    end = _midnight_after("2025-10-06")
    epoch = [(h, t) for h, t in block_rows if h >= 917280 and t < end]
    got = minerwatch.status(blocks_db, as_of="2025-10-06").block_intervals.epoch
    assert got.blocks == len(epoch) == 680
    assert got.mean_min == pytest.approx(
        (epoch[-1][1] - epoch[0][1]) / (len(epoch) - 1) / 60, rel=1e-12
    )


def test_real_file_has_out_of_order_stamps_kept_as_negative_intervals(block_rows):
    h = np.array([p[0] for p in block_rows])
    t = np.array([p[1] for p in block_rows])
    d = intervals_s(h, t)
    negative = sum(1 for a, b in itertools.pairwise(block_rows) if b[1] < a[1])
    assert negative == 50 and int((d < 0).sum()) == negative
    stats = interval_stats(h, t)
    assert stats.mean_min == pytest.approx((t[-1] - t[0]) / (len(t) - 1) / 60, rel=1e-12)


def test_daily_counts_fallback_without_blocks(loaded_db, cm_rows, epochs_csv):
    s = minerwatch.status(loaded_db, as_of="2025-10-06")
    bi = s.block_intervals
    assert bi.source == "daily counts"
    i = next(k for k, r in enumerate(cm_rows) if r["time"] == "2025-10-06")
    week = sum(int(r["BlkCnt"]) for r in cm_rows[i - 6 : i + 1])
    assert bi.last_7d.mean_min == pytest.approx(7 * 1440 / week, rel=1e-12)
    assert bi.last_7d.mean_min == s.block_interval_min_7d
    assert bi.last_1d.mean_min == pytest.approx(1440 / int(cm_rows[i]["BlkCnt"]), rel=1e-12)
    assert bi.last_1d.blocks == int(cm_rows[i]["BlkCnt"]) and bi.last_7d.blocks == week
    for w in (bi.last_1d, bi.last_7d, bi.epoch):
        assert (w.median_min, w.slow_30m, w.slow_60m) == (None,) * 3
    # Epoch: time since the epoch's first block (epochs file) per block since, with the
    # chain's height: the daily block totals (genesis excluded) less their lead of 5 blocks
    # on the chain in Sep-Oct 2025 (tests/test_chain.py).
    height = sum(int(r["BlkCnt"]) for r in cm_rows[: i + 1]) - 5
    with open(epochs_csv, newline="") as f:
        start_time = next(
            int(r["start_time"]) for r in csv.DictReader(f) if r["start_height"] == "917280"
        )
    end = _midnight_after("2025-10-06")
    assert bi.epoch.blocks == height - 917280 + 1
    assert bi.epoch.mean_min == pytest.approx(
        (end - start_time) / (height - 917280) / 60, rel=1e-12
    )


def test_a_partial_day_of_block_data_reads_its_blocks(blocks_db, loaded_db):
    # The block file ends at 06:05 on 16 Oct 2025, a day Coin Metrics holds whole: that
    # day's figures are its row's (the daily counts), as without the blocks.
    bi = minerwatch.status(blocks_db, as_of="2025-10-16").block_intervals
    assert bi.source == "daily counts"
    assert bi == minerwatch.status(loaded_db, as_of="2025-10-16").block_intervals
    # It starts at 14:47 on 18 Sep: 19 Sep is whole, its 7-day window is not.
    bi = minerwatch.status(blocks_db, as_of="2025-09-19").block_intervals
    assert bi.source == "blocks" and bi.last_7d is None
    assert bi.last_1d.blocks == 168 and bi.epoch.blocks > 168


def test_status_reads_only_the_blocks_it_needs(blocks_db):
    with minerwatch.open_store(blocks_db, read_only=True) as store:
        calls = []
        read = store.read_blocks

        def spy(**cut):
            calls.append(cut)
            return read(**cut)

        store.read_blocks = spy
        frame = minerwatch.daily_frame(store, "2025-10-15")
        intervals = block_intervals_at(store, frame, len(frame) - 1)
    assert intervals.source == "blocks"
    (cut,) = calls
    # The current epoch began at 917280 (1 Oct), before the 7-day window (from 9 Oct).
    assert cut == {"min_height": 917280, "max_time": _midnight_after("2025-10-15") - 1}


def _seq(intervals_min: list[float], start_height: int = 100, t0: int = 1_700_000_000):
    t = t0 + np.concatenate([[0], np.cumsum(np.asarray(intervals_min) * 60)]).astype(np.int64)
    return np.arange(start_height, start_height + len(t), dtype=np.int64), t


def test_slow_block_counts_on_a_synthetic_sequence():
    h, t = _seq([10, 31, 30, 61, 60, 5, 120, 2])
    s = interval_stats(h, t)
    assert (s.slow_30m, s.slow_60m, s.blocks) == (4, 2, 9)  # 31, 61, 60, 120 and 61, 120
    assert s.mean_min == pytest.approx(319 / 8)
    assert s.median_min == pytest.approx((30 + 31) / 2)


def test_negative_intervals_stay_in_mean_and_median():
    h, t = _seq([10, -3, 13, 9])
    s = interval_stats(h, t)
    assert s.mean_min == pytest.approx((t[-1] - t[0]) / 4 / 60) and s.mean_min == 7.25
    assert s.median_min == pytest.approx(9.5)
    assert intervals_s(h, t)[2] == -180


def test_a_missing_height_drops_only_its_intervals():
    h, t = _seq([10, 20, 30, 40])
    d = intervals_s(np.delete(h, 2), np.delete(t, 2))
    assert np.isnan(d[0]) and np.isnan(d[2]) and d[1] == 600 and d[3] == 2400


def test_epoch_window_at_the_last_and_first_block_of_an_epoch():
    h, t = _seq([10.0] * 2100, start_height=2016 * 10 - 50)
    last_of_epoch = int(np.flatnonzero(h == 2016 * 11 - 1)[0])
    # As of just after the epoch's last block: 2016 blocks, 2015 intervals of 10 minutes.
    w = block_interval_windows(h, t, int(t[last_of_epoch]) + 1)
    assert w["epoch"].blocks == 2016 and w["epoch"].mean_min == 10.0
    # Just after the next epoch's first block: one block, no interval yet.
    w = block_interval_windows(h, t, int(t[last_of_epoch + 1]) + 1)
    assert w["epoch"].blocks == 1 and w["epoch"].mean_min is None
    assert w["epoch"].slow_30m == 0
    # Data starting inside the epoch cannot give the epoch window.
    w = block_interval_windows(h[100:], t[100:], int(t[last_of_epoch]) + 1)
    assert w["epoch"] is None and w["1d"] is not None


def test_day_windows_need_data_before_their_start():
    h, t = _seq([10.0] * 300)  # 50 hours of blocks
    end = int(t[-1]) + 1
    w = block_interval_windows(h, t, end)
    assert w["1d"] is not None and w["7d"] is None
    assert w["1d"].blocks == int(((t >= end - 86_400) & (t < end)).sum())
