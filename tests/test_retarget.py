"""Exact retargets recomputed from block times: the real epochs and synthetic edge cases."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import minerwatch
from minerwatch.chain.retarget import retarget_from_blocks
from minerwatch.errors import InputError
from minerwatch.frames import verify_epochs

BITS_915264 = 0x1701FA38
POW_LIMIT_BITS = 0x1D00FFFF


def _target(bits: int) -> int:
    """Compact bits to a target, written out here (exponent byte, 3-byte mantissa)."""
    return (bits & 0xFFFFFF) << (8 * ((bits >> 24) - 3))


@pytest.fixture(scope="module")
def block_db(tmp_path_factory, epochs_csv, blocks_csv):
    path = tmp_path_factory.mktemp("retarget") / "db.duckdb"
    with minerwatch.open_store(path) as store:
        minerwatch.import_epochs(store, epochs_csv)
        minerwatch.import_blocks(store, blocks_csv)
    return path


def test_both_real_retargets_equal_the_epochs_file(block_db, blocks_csv, epochs_csv):
    with open(epochs_csv, newline="") as f:
        epochs = {int(r["start_height"]): r for r in csv.DictReader(f)}
    with open(blocks_csv, newline="") as f:
        times = {int(r["height"]): int(r["time"]) for r in csv.DictReader(f)}
    with minerwatch.open_store(block_db, read_only=True) as store:
        results = verify_epochs(store)
    assert [(r.epoch_start_height, r.next_height) for r in results] == [
        (915264, 917280),
        (917280, 919296),
    ]
    for r in results:
        start = r.epoch_start_height
        assert r.matches is True and r.next_bits == r.stored_next_bits
        assert r.next_difficulty == float(epochs[r.next_height]["difficulty"])
        assert r.prev_difficulty == float(epochs[start]["difficulty"])
        assert r.timespan_s == times[start + 2015] - times[start] == r.timespan_clamped_s
        assert r.clamp is None and not r.pow_limited
        # Difficulty moves by 1,209,600 s / timespan, to compact-bits rounding (a mantissa
        # of 0x01ddb4 = 122,292 steps: about 1e-5).
        ratio = 1_209_600 / r.timespan_s
        assert r.next_difficulty / r.prev_difficulty == pytest.approx(ratio, rel=2e-5)
        assert r.change_pct == pytest.approx(100 * (ratio - 1), abs=2e-3)
    assert results[0].timespan_s == 1141466 and results[1].timespan_s == 1243599


def test_difficulty_input_gives_the_same_bits(block_db):
    with minerwatch.open_store(block_db, read_only=True) as store:
        b = store.read_blocks()
    by_bits = retarget_from_blocks(b["height"], b["time"], b["bits"], 917280)
    by_difficulty = retarget_from_blocks(b["height"], b["time"], b["difficulty"], 917280)
    assert by_bits == by_difficulty
    assert by_bits.matches is None  # nothing to compare with


def _chain(start: int, interval_s: int, bits: int, t0: int = 1_700_000_000):
    """Blocks start .. start + 2016 (the epoch and the first block of the next)."""
    heights = np.arange(start, start + 2017, dtype=np.int64)
    times = t0 + interval_s * (heights - start)
    return heights, times, np.full(len(heights), bits, np.int64)


def test_two_week_epoch_keeps_difficulty():
    h, t, b = _chain(2016 * 400, 600, BITS_915264)
    t[-2] = t[0] + 1_209_600  # exactly two weeks between first and last
    r = retarget_from_blocks(h, t, b, 2016 * 400)
    assert r.next_bits == BITS_915264 and r.change_pct == 0.0


def test_slow_epoch_is_clamped_at_four_times_easier():
    h, t, b = _chain(2016 * 400, 6000, BITS_915264)  # 10x slower than target
    r = retarget_from_blocks(h, t, b, 2016 * 400)
    assert r.timespan_s == 2015 * 6000 and r.timespan_clamped_s == 4_838_400
    assert r.clamp == "max"
    assert _target(r.next_bits) <= _target(BITS_915264) * 4
    assert r.next_difficulty == pytest.approx(r.prev_difficulty / 4, rel=1e-6)


def test_fast_epoch_is_clamped_at_four_times_harder():
    h, t, b = _chain(2016 * 400, 60, BITS_915264)  # 10x faster than target
    r = retarget_from_blocks(h, t, b, 2016 * 400)
    assert r.timespan_clamped_s == 302_400 and r.clamp == "min"
    # target / 4 of 0x1701fa38 is exact: mantissa 0x01fa38 / 4 = 0x7e8e.
    assert _target(r.next_bits) == _target(BITS_915264) // 4
    assert r.change_pct == pytest.approx(300.0, rel=1e-9)


def test_target_is_capped_at_the_pow_limit():
    h, t, b = _chain(2016, 1200, POW_LIMIT_BITS)  # difficulty 1, twice too slow
    r = retarget_from_blocks(h, t, b, 2016)
    assert r.pow_limited and r.next_bits == POW_LIMIT_BITS and r.next_difficulty == 1.0


def test_last_block_stamped_before_the_first_clamps_to_four_times_harder():
    h, t, b = _chain(2016 * 400, 600, BITS_915264)
    t[2015] = t[0] - 3600  # the epoch's last block claims a time before its first block
    r = retarget_from_blocks(h, t, b, 2016 * 400)
    assert r.timespan_s == -3600 and r.timespan_clamped_s == 302_400 and r.clamp == "min"


def test_only_the_first_and_last_block_times_count():
    h, t, b = _chain(2016 * 400, 600, BITS_915264)
    base = retarget_from_blocks(h, t, b, 2016 * 400)
    shuffled = t.copy()
    # Out-of-order times inside the epoch (the earliest and latest times of the epoch are no
    # longer its first and last blocks) and on the next epoch's first block change nothing.
    shuffled[1] = t[0] - 7000
    shuffled[1000] = t[2015] + 7000
    shuffled[2016] = t[0] - 10
    assert retarget_from_blocks(h, shuffled, b, 2016 * 400) == base
    # The epoch's last block (height start + 2015) does.
    later = t.copy()
    later[2015] += 6000
    moved = retarget_from_blocks(h, later, b, 2016 * 400)
    assert moved.timespan_s == base.timespan_s + 6000 and moved.next_bits != base.next_bits


def test_last_block_bits_are_used():
    h, t, b = _chain(2016 * 400, 600, BITS_915264)
    b[0] = -1  # only the last block's bits are needed
    assert retarget_from_blocks(h, t, b, 2016 * 400).prev_bits == BITS_915264
    b[2015] = -1
    with pytest.raises(InputError, match="bits of block 808415 are unknown"):
        retarget_from_blocks(h, t, b, 2016 * 400)


def test_missing_blocks_and_bad_epoch_start_are_errors():
    h, t, b = _chain(2016 * 400, 600, BITS_915264)
    with pytest.raises(InputError, match="not a non-negative multiple of 2016"):
        retarget_from_blocks(h, t, b, 2016 * 400 + 1)
    keep = h != 2016 * 400 + 2015
    with pytest.raises(InputError, match="block 808415 \\(last block"):
        retarget_from_blocks(h[keep], t[keep], b[keep], 2016 * 400)
    with pytest.raises(InputError, match="block 810432 \\(first block"):
        retarget_from_blocks(h, t, b, 2016 * 402)


def test_incomplete_epochs_are_not_verified(tmp_path, epochs_csv, blocks_csv):
    rows = blocks_csv.read_text().splitlines()
    path = tmp_path / "part.csv"
    path.write_text("\n".join(rows[:3000]) + "\n")  # the first epoch and half the second
    with minerwatch.open_store(tmp_path / "db.duckdb") as store:
        minerwatch.import_epochs(store, epochs_csv)
        minerwatch.import_blocks(store, path)
        results = verify_epochs(store)
    assert [r.epoch_start_height for r in results] == [915264]
