"""Daily figures built from blocks: which days the blocks cover whole, their counts, fees,
issuance and difficulty against Coin Metrics' rows on the real block times, a database with
blocks and prices only (no Coin Metrics row at all), the source of every figure, the
provisional flags, and no look-ahead."""

from __future__ import annotations

import csv
import json
import math
from collections import Counter, defaultdict
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minerwatch
from minerwatch.blockdays import (
    FUTURE_LIMIT_S,
    DaySums,
    daily_from_blocks,
    day_sums,
    days_from_sums,
    whole_days,
)
from minerwatch.frames import daily_frame
from standins.chains import epoch_chain, write_blocks_csv

DAY_S = 86_400
# The days the real block times (heights 915,264 to 919,296) cover whole: the first block
# is stamped 2025-09-18 14:47 UTC, the last 2025-10-16.
FIRST_WHOLE, LAST_WHOLE = "2025-09-19", "2025-10-15"
RETARGET_DAY = "2025-10-01"  # block 917,280, the first of an epoch, is stamped on it


def _utc_day(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")


@pytest.fixture(scope="module")
def real_times(blocks_csv) -> dict[int, int]:
    with open(blocks_csv, newline="") as f:
        return {int(r["height"]): int(r["time"]) for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def cm(cm_rows) -> dict[str, dict[str, str]]:
    return {r["time"]: r for r in cm_rows}


@pytest.fixture(scope="module")
def epoch_difficulty(epochs_csv) -> dict[int, float]:
    with open(epochs_csv, newline="") as f:
        return {int(r["start_height"]): float(r["difficulty"]) for r in csv.DictReader(f)}


# -- the covering rule ------------------------------------------------------------------


def _days(first_height, times):
    span = whole_days(first_height, np.asarray(times[:11]), np.asarray(times[-11:]))
    return None if span is None else (str(span[0]), str(span[1]))


def test_a_day_is_whole_once_the_next_blocks_median_time_passes_its_end():
    day0 = 1_758_240_000  # 2025-09-19 00:00 UTC
    start = day0 - 3 * 3600  # 3 hours before the day: past the 2-hour margin
    times = list(range(start, day0 + DAY_S, 600))
    # Up to the day's end: the next block's median time past is still inside the day.
    assert _days(900_000, times) is None
    # Five blocks past midnight: the median of the last 11 is still before it.
    late = times + [day0 + DAY_S + 60 * k for k in range(5)]
    assert _days(900_000, late) is None
    # The sixth: at least 6 of the last 11 are stamped after the day, so every later block
    # is too (it must exceed that median).
    assert _days(900_000, late + [day0 + DAY_S + 300]) == ("2025-09-19", "2025-09-19")


def test_the_lower_edge_needs_the_two_hour_margin():
    day0 = 1_758_240_000
    tail = [day0 + DAY_S + 60 * k for k in range(11)]
    # Held from 1 hour before the day: a block below could still be stamped on it.
    near = list(range(day0 - 3600, day0 + DAY_S, 600)) + tail
    assert _days(900_000, near) is None
    # From more than 2 hours before: covered.
    far = list(range(day0 - FUTURE_LIMIT_S - 3600, day0 + DAY_S, 600)) + tail
    assert _days(900_000, far) == ("2025-09-19", "2025-09-19")
    # A run from the genesis block has no lower edge: its first day counts.
    assert _days(0, list(range(day0 + 60, day0 + DAY_S, 600)) + tail) == (
        "2025-09-19",
        "2025-09-19",
    )


def test_a_block_counts_on_the_day_its_header_names_whatever_its_height():
    day0 = 1_758_240_000  # 2025-09-19 00:00 UTC
    # Block 103 is stamped 5 s before midnight, after block 102 (5 s past it).
    times = [day0 - 600, day0 + 60, day0 + DAY_S + 5, day0 + DAY_S - 5, day0 + DAY_S + 900]
    chain = {
        "height": np.arange(100, 106),
        "time": np.array([*times, day0 + 2 * DAY_S + 10]),
        "difficulty": np.array([1.0, 1.0, 1.0, 2.0, 2.0, 2.0]),
        "fees_sat": np.array([10, 20, 30, -1, 50, 60]),
        "subsidy_sat": np.array([5, 5, 5, -1, 5, 5]),
    }
    span = (np.datetime64("2025-09-19"), np.datetime64("2025-09-20"))

    def days(tip):
        return daily_from_blocks(*chain.values(), span, first_height=100, tip_height=tip)

    bd = days(110)
    assert bd.blocks.tolist() == [2, 2]  # 101 and 103; 102 and 104 (105: the 21st)
    assert bd.end_height.tolist() == [102, 104]  # blocks 1..100 before the first day
    assert bd.fees_known.tolist() == [False, True] and bd.fees_sat[1] == 80
    # Block 103 has no subsidy stored: its scheduled 50 BTC (era 0) is counted, and said.
    assert bd.issuance_sat.tolist() == [5 + 5_000_000_000, 10]
    assert bd.subsidy_scheduled.tolist() == [True, False]
    assert bd.difficulty_mean.tolist() == [1.5, 1.5]
    assert bd.difficulty_last.tolist() == [2.0, 2.0]  # of the day's highest block
    assert bd.provisional.tolist() == [False, False]
    assert days(109).provisional.tolist() == [False, True]  # 104 is within 6 of 109
    assert days(108).provisional.tolist() == [True, True]  # 103 too


# -- real block times beside Coin Metrics (CM + epochs + the real blocks file) ------------------


@pytest.fixture(scope="module")
def real_frame(blocks_db):
    return daily_frame(blocks_db, "2025-10-16")


def test_only_whole_days_switch_to_blocks(real_frame):
    from_blocks = real_frame.day[real_frame.chain_source == "blocks"]
    assert (str(from_blocks[0]), str(from_blocks[-1])) == (FIRST_WHOLE, LAST_WHOLE)
    assert len(from_blocks) == 27  # consecutive
    # The first and last days, only partly held, stay Coin Metrics'.
    for day in ("2025-09-18", "2025-10-16"):
        assert real_frame.chain_source[real_frame.index_of(np.datetime64(day))] == "coinmetrics"


def test_counts_issuance_and_difficulty_equal_coin_metrics(
    real_frame, real_times, cm, epoch_difficulty
):
    by_day: dict[str, list[int]] = defaultdict(list)
    for height, t in real_times.items():
        by_day[_utc_day(t)].append(height)
    for i in np.flatnonzero(real_frame.chain_source == "blocks"):
        day = str(real_frame.day[i])
        row = cm[day]
        heights = by_day[day]
        assert real_frame.blocks[i] == len(heights) == int(row["BlkCnt"]), day
        # No subsidy in the file: the scheduled 3.125 BTC a block, as Coin Metrics has it.
        assert real_frame.issuance_sat[i] == round(float(row["IssTotNtv"]) * 1e8), day
        assert real_frame.issuance_source[i] == "blocks, scheduled subsidy"
        # Difficulty: the mean of the blocks' own epochs' difficulties, exactly.
        expected = math.fsum(epoch_difficulty[h - h % 2016] for h in heights) / len(heights)
        assert real_frame.difficulty_mean[i] == pytest.approx(expected, rel=1e-15), day
        # Coin Metrics' mean (recovered from HashRate) agrees to its rounding, except on
        # the retarget day: it puts 25 of the day's 151 blocks in the new epoch, the
        # headers 20 (its split runs 5 blocks ahead, the offset of its running count).
        recovered = float(row["HashRate"]) * 1e12 * DAY_S / (int(row["BlkCnt"]) * 2**32)
        rel = 1e-8 if day != RETARGET_DAY else 3e-3
        assert real_frame.difficulty_mean[i] == pytest.approx(recovered, rel=rel), day
        # The file has no fees: Coin Metrics' stay.
        assert real_frame.fees_source[i] == "coinmetrics"
        assert real_frame.fees_sat[i] == round(float(row["FeeTotNtv"]) * 1e8)


def test_supply_is_the_schedule_above_coin_metrics_by_the_unclaimed(real_frame, real_times, cm):
    i = real_frame.index_of(np.datetime64("2025-10-06"))
    assert real_frame.supply_source[i] == "blocks"
    # Scheduled supply of blocks 1..n, n the count of blocks stamped before the day ends.
    n = sum(1 for t in real_times.values() if _utc_day(t) <= "2025-10-06")
    n += min(real_times) - 1
    scheduled = sum(210_000 * 50e8 / 2**e for e in range(4)) + (n - 840_000 + 1) * 3.125e8 - 50e8
    assert real_frame.supply_sat[i] == scheduled
    # Coin Metrics' SplyCur is lower: the two duplicated coinbases (100 BTC) and the
    # subsidies miners left unclaimed.
    gap_btc = (real_frame.supply_sat[i] - float(cm["2025-10-06"]["SplyCur"]) * 1e8) / 1e8
    assert 100 < gap_btc < 200


def test_status_names_each_figures_source(cli, blocks_db, loaded_db):
    out = cli("status", "--as-of", "2025-10-06", "--json", "--db", blocks_db)
    assert out.returncode == 0, out.stderr
    s = json.loads(out.stdout)
    assert s["sources"] == {
        "blocks_1d": "blocks",
        "hashrate": "blocks",
        "difficulty": "blocks",
        "fees": "coinmetrics",
        "issuance": "blocks, scheduled subsidy",
        "supply": "blocks",
        "price": "coinmetrics",
    }
    assert s["provisional"] is False
    cm_only = minerwatch.status(loaded_db, "2025-10-06")
    assert set(cm_only.sources.values()) <= {"coinmetrics", "epochs"}
    assert cm_only.blocks_1d == s["blocks_1d"]
    panel = cli("status", "--as-of", "2025-10-06", "--db", blocks_db)
    assert "Sources" in panel.stdout and "blocks: blocks_1d" in panel.stdout


# -- blocks and prices only ---------------------------------------------------------------


@pytest.fixture(scope="module")
def chain(epochs_csv, blocks_csv):
    """A stand-in chain of heights 860,000 to 919,496 (Sep 2024 to Oct 2025): real bits,
    the real block times where the data has them, fees and subsidies."""
    return epoch_chain(epochs_csv, 860_000, 919_496, real_times_csv=blocks_csv, economics=True)


def _blocks_only_db(cli, folder, chain, prices_csv, top=None):
    keep = slice(None) if top is None else chain["height"] <= top
    path = write_blocks_csv(folder / "blocks.csv", {k: v[keep] for k, v in chain.items()})
    db = folder / "blocks_only.duckdb"
    for argv in (("import", "blocks", path), ("import", "prices", prices_csv)):
        out = cli(*argv, "--db", db)
        assert out.returncode == 0, out.stderr
    return db


@pytest.fixture(scope="module")
def blocks_only_db(cli, tmp_path_factory, chain, prices_csv):
    return _blocks_only_db(cli, tmp_path_factory.mktemp("blocks_only"), chain, prices_csv)


def test_blocks_only_daily_rows_equal_coin_metrics_where_times_are_real(blocks_only_db, chain, cm):
    frame = daily_frame(blocks_only_db)
    assert (frame.chain_source == "blocks").all()
    assert set(frame.fees_source) == {"blocks"} and set(frame.issuance_source) == {"blocks"}
    count, fees = Counter(), Counter()
    for t, f in zip(chain["time"].tolist(), chain["fees_sat"].tolist(), strict=True):
        count[_utc_day(t)] += 1
        fees[_utc_day(t)] += int(f)
    for i, d in enumerate(frame.day):
        day = str(d)
        assert frame.blocks[i] == count[day] and frame.fees_sat[i] == fees[day], day
        if FIRST_WHOLE <= day <= LAST_WHOLE:
            assert frame.blocks[i] == int(cm[day]["BlkCnt"]), day
            assert frame.issuance_sat[i] == round(float(cm[day]["IssTotNtv"]) * 1e8), day


@pytest.mark.parametrize(
    "command",
    ["status", "difficulty", "cost", "signals", "brief", "asics", "episodes"],
)
def test_every_command_runs_on_blocks_and_prices_alone(cli, blocks_only_db, command):
    out = cli(command, "--as-of", "2025-10-06", "--json", "--db", blocks_only_db)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["as_of"].startswith("2025-10-06")


def test_status_from_blocks_alone(blocks_only_db, chain, cm):
    s = minerwatch.status(blocks_only_db, "2025-10-06")
    assert s.sources["blocks_1d"] == s.sources["fees"] == "blocks"
    assert s.blocks_1d == int(cm["2025-10-06"]["BlkCnt"])
    # The height: the last block before the first one stamped after the day.
    after = np.flatnonzero(chain["time"] >= 1_759_795_200)[0]  # 2025-10-07 00:00 UTC
    assert s.height == int(chain["height"][after - 1])
    assert s.puell_multiple is not None  # a year of blocks: the 365-day mean exists
    assert s.production_cost_usd is not None and s.next_adjustment is not None


def test_report_from_blocks_alone(blocks_only_db, tmp_path):
    written = minerwatch.write_report(blocks_only_db, tmp_path / "r.html", "2025-10-06")
    assert written.html.stat().st_size > 100_000


def test_a_month_of_blocks_says_what_is_missing(cli, tmp_path, chain, prices_csv):
    db = _blocks_only_db(cli, tmp_path, {k: v[-4_200:] for k, v in chain.items()}, prices_csv)
    s = minerwatch.status(db, "2025-10-06")
    assert s.puell_multiple is None and s.hashrate_ehs["60d"] is None
    out = cli("signals", "--as-of", "2025-10-06", "--json", "--db", db)
    assert out.returncode == 0 and "Traceback" not in out.stderr
    held = len(daily_frame(db, "2025-10-06"))
    assert held < 60
    assert json.loads(out.stdout)["missing"] == [
        f"hash ribbons: needs 60 days of history; the data holds {held} (from 2025-09-19)",
        f"Puell multiple: needs 365 days of history; the data holds {held} (from 2025-09-19)",
        f"sustainability index: needs 365 days of history; the data holds {held} (from 2025-09-19)",
    ]
    early = cli("status", "--as-of", "2025-09-01", "--db", db)
    assert early.returncode == 2 and "outside the data held" in early.stderr


def test_blocks_covering_no_day_exit_2_with_the_reason(cli, tmp_path, chain):
    few = {k: v[:100] for k, v in chain.items()}  # 100 blocks: less than a day
    path = write_blocks_csv(tmp_path / "few.csv", few)
    db = tmp_path / "few.duckdb"
    assert cli("import", "blocks", path, "--db", db).returncode == 0
    out = cli("status", "--db", db)
    assert out.returncode == 2
    assert "cover no whole UTC day" in out.stderr and "heights 860000 to 860099" in out.stderr


# -- provisional ----------------------------------------------------------------------------


def test_the_tips_blocks_and_today_are_provisional(cli, blocks_db, loaded_db):
    # The blocks file ends at block 919,296, stamped at 06:05 on 2025-10-16: within 6 of
    # the tip. Where Coin Metrics holds that whole day, the day is its row's (the blocks
    # stop inside it): the same figures as without the blocks, not provisional.
    tip_day = minerwatch.status(blocks_db, "2025-10-16")
    daily = minerwatch.status(loaded_db, "2025-10-16")
    assert not tip_day.provisional and tip_day.height == daily.height == 919_408
    assert tip_day.next_adjustment.change_pct == pytest.approx(
        daily.next_adjustment.change_pct, abs=0.01
    )
    assert tip_day.block_intervals.source == "daily counts"
    assert not minerwatch.status(blocks_db, "2025-10-06").provisional
    at_tip = minerwatch.difficulty_outlook(blocks_db, at_height=919_292)
    assert at_tip.provisional
    assert not minerwatch.difficulty_outlook(blocks_db, at_height=919_290).provisional
    out = cli("difficulty", "--at-height", "919292", "--db", blocks_db)
    assert "PROVISIONAL" in out.stdout
    # "Now" inside 2025-10-06: that day is the current UTC day.
    now = {"MINERWATCH_NOW": "2025-10-06T15:00:00Z"}
    for command in ("status", "difficulty", "brief"):
        out = cli(command, "--as-of", "2025-10-06", "--json", "--db", blocks_db, env=now)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["provisional"] is True, command
    out = cli("status", "--as-of", "2025-10-05", "--json", "--db", blocks_db, env=now)
    assert json.loads(out.stdout)["provisional"] is False
    bad = cli("status", "--db", blocks_db, env={"MINERWATCH_NOW": "soon"})
    assert bad.returncode == 2 and "MINERWATCH_NOW" in bad.stderr


# -- no look-ahead ---------------------------------------------------------------------------


def test_a_blocks_days_figures_do_not_change_with_later_blocks(
    cli, tmp_path, chain, prices_csv, blocks_only_db
):
    # Blocks up to 918,200 (2025-10-12) cover 2025-10-06 whole; the later ones change
    # nothing of that day's figures.
    early = _blocks_only_db(cli, tmp_path, chain, prices_csv, top=918_200)
    before = minerwatch.status(early, "2025-10-06").to_dict()
    after = minerwatch.status(blocks_only_db, "2025-10-06").to_dict()
    assert before.pop("data_through") < after.pop("data_through")
    assert json.dumps(before) == json.dumps(after)


# -- the day sums the store keeps ---------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.integers(-7_000, 9_000), min_size=1, max_size=400),
    fees=st.lists(st.integers(-1, 40_000), min_size=400, max_size=400),
    cut=st.integers(0, 10),
    first_height=st.integers(0, 420_010),
)
def test_the_sums_of_later_days_alone_equal_their_part_of_the_sums_of_all(
    gaps, fees, cut, first_height
):
    """What a write relies on: summing the blocks stamped from some day on gives those
    days' rows of the sums of every block, whatever the blocks before."""
    n = len(gaps)
    height = np.arange(first_height, first_height + n)
    time = 1_700_000_000 + np.cumsum(np.abs(gaps)) + np.minimum(gaps, 0)  # not monotonic
    difficulty = np.where(height % 2016 < 1000, 1.5e14, 1.7e14) * (1 + (height % 3) * 1e-9)
    fee = np.array(fees[:n])
    subsidy = np.where(height % 5 == 0, -1, 625_000_000)
    whole = day_sums(height, time, difficulty, fee, subsidy)
    if not len(whole):
        return
    from_day = whole.day_number[min(cut, len(whole) - 1)]
    later = time // DAY_S >= from_day
    part = day_sums(height[later], time[later], difficulty[later], fee[later], subsidy[later])
    keep = whole.day_number >= from_day
    for name in DaySums.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(part, name), getattr(whole, name)[keep], name)
    # and the days built from the sums are those built from the blocks
    span = (
        np.datetime64(int(whole.day_number[0]), "D"),
        np.datetime64(int(whole.day_number[-1]), "D"),
    )
    built = days_from_sums(whole, span, first_height=first_height, tip_height=int(height[-1]))
    assert int(built.blocks.sum()) == int((height > 0).sum())
    assert int(built.end_height[-1]) == int((height > 0).sum()) + max(first_height - 1, 0)
