"""Imports check values against the chain's own rules (issue 9, item 1), on the real data."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minerwatch
from minerwatch.chain.consensus import (
    bits_to_difficulty,
    bits_to_target,
    difficulty_to_bits,
    target_to_bits,
)
from minerwatch.errors import InputError
from minerwatch.sources import blocks as block_files
from minerwatch.sources import coinmetrics, files, rules
from minerwatch.sources.table import read_csv


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "minerwatch", *args], capture_output=True, text=True, timeout=120
    )


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _write(path: Path, lines: list[str], end: str = "\n") -> Path:
    path.write_text("\n".join(lines) + end)
    return path


def _set_cell(line: str, header: str, column: str, value: str) -> str:
    cells = line.split(",")
    cells[header.split(",").index(column)] = value
    return ",".join(cells)


def _counts(db: Path) -> dict[str, int]:
    with minerwatch.open_store(db, read_only=True) as store:
        return store.counts()


# --- Coin Metrics: issuance and supply ---------------------------------------------------


def test_real_file_issuance_is_exactly_the_subsidy(coinmetrics_csv):
    # Every day of the real file, heights by cumulative BlkCnt from genesis.
    records = coinmetrics.read_file(coinmetrics_csv)
    where = rules.Where(str(coinmetrics_csv), records.lines)
    rules.check_issuance(where, records.day, records.blocks, records.issuance_sat, 1)
    rules.check_supply(
        where, records.day, records.blocks, records.issuance_sat, records.supply_sat, 1, None
    )


def test_1000_btc_on_a_133_block_day_is_refused(tmp_path, coinmetrics_csv):
    lines = _lines(coinmetrics_csv)
    assert lines[-1].startswith("2025-12-31,") and lines[-1].split(",")[5] == "133"
    lines[-1] = _set_cell(lines[-1], lines[0], "IssTotNtv", "1000")
    path = _write(tmp_path / "btc.csv", lines)
    db = tmp_path / "db.duckdb"
    result = _cli("import", "coinmetrics", str(path), "--db", str(db))
    assert result.returncode == 2, result.stderr
    assert f"line {len(lines)}" in result.stderr and "IssTotNtv" in result.stderr
    assert "1,000 BTC issued on 2025-12-31 in 133 block(s)" in result.stderr
    assert "expected their consensus subsidy, 415.625 BTC" in result.stderr


def test_a_19_9_million_btc_supply_jump_is_refused(tmp_path, coinmetrics_csv):
    lines = _lines(coinmetrics_csv)
    row = next(i for i, line in enumerate(lines) if line.startswith("2010-01-01,"))
    lines[row] = _set_cell(lines[row], lines[0], "SplyCur", "19900000")
    path = _write(tmp_path / "btc.csv", lines)
    with minerwatch.open_store(tmp_path / "db.duckdb") as store:
        with pytest.raises(InputError) as info:
            minerwatch.import_coinmetrics(store, path)
        assert store.counts()["chain_daily"] == 0
    assert (info.value.line, info.value.column) == (row + 1, "SplyCur")
    assert "expected the change to equal the issuance" in str(info.value)


def test_heights_continue_from_the_days_held(tmp_path, coinmetrics_csv):
    lines = _lines(coinmetrics_csv)
    head = _write(tmp_path / "head.csv", lines[:2700])
    tail = lines[:1] + lines[2700:]
    with minerwatch.open_store(tmp_path / "db.duckdb") as store:
        minerwatch.import_coinmetrics(store, head)
        # The halving day 2016-07-09: 149 blocks, 96 at 25 BTC and 53 at 12.5. All 149 at
        # 12.5 BTC is a mix of two eras (fine for unknown heights), not these heights'.
        i = next(k for k, line in enumerate(tail) if line.startswith("2016-07-09,"))
        assert tail[i].split(",")[5] == "149"
        tail[i] = _set_cell(tail[i], lines[0], "IssTotNtv", "1862.5")
        with pytest.raises(InputError) as info:
            minerwatch.import_coinmetrics(store, _write(tmp_path / "tail.csv", tail))
        assert info.value.line == i + 1 and info.value.column == "IssTotNtv"
        assert "expected their consensus subsidy, 3,062.5 BTC" in str(info.value)
        minerwatch.import_coinmetrics(store, _write(tmp_path / "ok.csv", lines[:1] + lines[2700:]))


def test_unknown_heights_need_a_mix_of_two_adjacent_eras(tmp_path, coinmetrics_csv):
    header = "time,BlkCnt,FeeTotNtv,IssTotNtv,HashRate,PriceUSD,SplyCur"
    good = [
        "2025-12-30,133,3.1,415.625,1e9,87000,19960000",
        "2025-12-31,2,0.1,6.25,1e9,87000,19960006.25",
    ]
    # 2 x 6.25 + 2 x 3.125 BTC, ending at block 840,001 (the schedule there: 19,687,456.25)
    mixed = ["2024-04-19,4,0.1,18.75,1e9,64000,19687456.25"]
    for rows in (good, mixed):
        r = coinmetrics.read_file(_write(tmp_path / "ok.csv", [header, *rows]))
        where = rules.Where("f", r.lines)
        rules.check_issuance(where, r.day, r.blocks, r.issuance_sat, None, r.supply_sat)
    # The real file passes with its heights unknown too (eras bounded by each day's supply).
    real = coinmetrics.read_file(coinmetrics_csv)
    where = rules.Where("f", real.lines)
    rules.check_issuance(where, real.day, real.blocks, real.issuance_sat, None, real.supply_sat)
    # 50 BTC in 119 blocks is a mix of eras 6 and 7, not of a day with 2025's supply.
    late = _write(tmp_path / "late.csv", [header, "2025-12-05,119,3.6,50,1e9,89000,19957857.41"])
    with pytest.raises(InputError, match="at 3.125 BTC each"):
        r = coinmetrics.read_file(late)
        rules.check_issuance(where, r.day, r.blocks, r.issuance_sat, None, r.supply_sat)
    bad = _write(tmp_path / "bad.csv", [header, "2025-12-31,133,3.1,1000,1e9,87000,19960000"])
    with (
        minerwatch.open_store(tmp_path / "db.duckdb") as store,
        pytest.raises(InputError, match="expected 133 blocks at 3.125 ") as info,
    ):
        minerwatch.import_coinmetrics(store, bad)
    assert (info.value.line, info.value.column) == (2, "IssTotNtv")


# --- epochs ------------------------------------------------------------------------------


@pytest.fixture
def epochs_db(tmp_path, epochs_csv) -> Path:
    db = tmp_path / "epochs.duckdb"
    with minerwatch.open_store(db) as store:
        minerwatch.import_epochs(store, epochs_csv)
    return db


def test_a_difficulty_x1000_in_one_retarget_exits_2(tmp_path, epochs_csv, coinmetrics_csv):
    db = tmp_path / "db.duckdb"
    with minerwatch.open_store(db) as store:
        minerwatch.import_coinmetrics(store, coinmetrics_csv)
    lines = _lines(epochs_csv)
    row = next(i for i, line in enumerate(lines) if line.startswith("403200,"))
    bits = difficulty_to_bits(float(lines[row].split(",")[1]))
    harder = bits_to_difficulty(target_to_bits(bits_to_target(bits) // 1000))  # x1000
    lines[row] = _set_cell(lines[row], lines[0], "difficulty", repr(harder))
    result = _cli("import", "epochs", str(_write(tmp_path / "e.csv", lines)), "--db", str(db))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"line {row + 1}, column 'difficulty'" in result.stderr
    assert re.search(r"x1\d\d\d that of epoch 401,184", " ".join(result.stderr.split()))
    assert "expected a retarget within x1/4 to x4" in result.stderr
    assert _counts(db)["epochs"] == 0


def test_a_changed_stored_epoch_needs_replace(tmp_path, epochs_db, epochs_csv):
    lines = _lines(epochs_csv)
    row = next(i for i, line in enumerate(lines) if line.startswith("32256,"))
    stored = files.read_epochs(epochs_csv)
    k = int(np.flatnonzero(stored.start_height == 32256)[0])
    nudged = bits_to_difficulty(int(stored.bits[k]) + 1)  # one mantissa step: within 2%
    lines[row] = _set_cell(lines[row], lines[0], "difficulty", repr(nudged))
    path = _write(tmp_path / "e.csv", lines)
    result = _cli("import", "epochs", str(path), "--db", str(epochs_db))
    assert result.returncode == 2
    assert "epoch 32,256 is already stored with other values" in result.stderr
    assert f"line {row + 1}" in result.stderr and "--replace" in result.stderr
    result = _cli("import", "epochs", str(path), "--db", str(epochs_db), "--replace")
    assert result.returncode == 0, result.stderr
    assert "1 stored epochs row(s) changed" in result.stdout
    assert "start_height 32256" in result.stdout


def test_an_empty_start_time_keeps_the_stored_one(tmp_path, epochs_db, epochs_csv):
    lines = _lines(epochs_csv)
    row = next(i for i, line in enumerate(lines) if line.startswith("2016,"))
    lines[row] = _set_cell(lines[row], lines[0], "start_time", "")
    with minerwatch.open_store(epochs_db) as store:
        report = minerwatch.import_epochs(store, _write(tmp_path / "e.csv", lines))
        assert report.writes[0].changed == 0
        assert store.read_epochs()["start_time"][1] == 1233063531


@pytest.mark.parametrize(
    ("start_time", "words"),
    [("1233000000", "not after epoch 2,016"), ("4102444800", "more than 2 hours after now")],
)
def test_start_times_must_rise_and_not_lie_ahead(tmp_path, epochs_csv, start_time, words):
    lines = _lines(epochs_csv)
    lines[3] = _set_cell(lines[3], lines[0], "start_time", start_time)  # epoch 4032
    with minerwatch.open_store(tmp_path / "db.duckdb") as store:
        with pytest.raises(InputError) as info:
            minerwatch.import_epochs(store, _write(tmp_path / "e.csv", lines))
        assert store.counts()["epochs"] == 0
    assert (info.value.line, info.value.column) == (4, "start_time")
    assert words in str(info.value)


def test_epoch_0_has_difficulty_1_and_no_drop_exceeds_x4(tmp_path):
    # Found by the fuzz test: epoch 0 at difficulty 1,000, then epoch 2016 at 1 (the
    # proof-of-work limit) was accepted in two imports.
    with minerwatch.open_store(tmp_path / "db.duckdb") as store:
        with pytest.raises(InputError, match="epoch 0 has difficulty 999.99") as info:
            minerwatch.import_epochs(
                store, _write(tmp_path / "a.csv", ["start_height,difficulty", "0,1000.0"])
            )
        assert (info.value.line, info.value.column) == (2, "difficulty")
        minerwatch.import_epochs(
            store, _write(tmp_path / "b.csv", ["start_height,difficulty", "4032,1000.0"])
        )
        with pytest.raises(InputError, match="x0.001 that of epoch 4,032"):
            minerwatch.import_epochs(
                store, _write(tmp_path / "c.csv", ["start_height,difficulty", "6048,1.0"])
            )


def test_real_epochs_follow_the_retarget_rule(epochs_csv):
    e = files.read_epochs(epochs_csv)
    rules.check_epoch_sequence(
        rules.Where(str(epochs_csv), e.lines),
        np.arange(len(e)),
        e.start_height,
        e.bits,
        e.start_time,
        2_000_000_000,
    )


# --- blocks -----------------------------------------------------------------------------


def test_a_block_dated_2017_after_one_dated_2025_is_refused(tmp_path, blocks_csv):
    lines = _lines(blocks_csv)
    lines[101] = lines[101].split(",")[0] + ",1500000000"
    with (
        pytest.raises(InputError) as info,
        minerwatch.open_store(tmp_path / "db.duckdb") as store,
    ):
        minerwatch.import_blocks(store, _write(tmp_path / "b.csv", lines))
    assert (info.value.line, info.value.column) == (102, "time")
    assert "not after the median time past of the previous 11 blocks" in str(info.value)


def test_median_time_past_uses_the_blocks_held(tmp_path, blocks_csv):
    lines = _lines(blocks_csv)
    db = tmp_path / "db.duckdb"
    with minerwatch.open_store(db) as store:
        minerwatch.import_blocks(store, _write(tmp_path / "a.csv", lines[:201]))
        rest = [lines[0], *lines[201:]]
        height = rest[1].split(",")[0]
        rest[1] = f"{height},{int(lines[195].split(',')[1])}"  # earlier than 6 of the last 11
        with pytest.raises(InputError, match="median time past") as info:
            minerwatch.import_blocks(store, _write(tmp_path / "b.csv", rest))
        assert info.value.line == 2
        assert store.counts()["blocks"] == 200


def test_real_blocks_pass_median_time_past(blocks_csv):
    b = block_files.read_blocks_csv(blocks_csv)
    rules.check_block_times(rules.Where("f", b.lines), b.height, b.time, np.zeros(0, np.int64))


def test_median_time_past_in_rising_and_unordered_windows(blocks_csv):
    """A time at the median of the previous 11 is refused and one second later accepted,
    at a block whose 11 predecessors' times rise and at one whose do not (the real file has
    both); the median computed here block by block, independently of the check."""
    b = block_files.read_blocks_csv(blocks_csv)
    where = rules.Where("f", b.lines)
    before = np.zeros(0, np.int64)
    windows = [sorted(b.time[i - 11 : i].tolist()) for i in range(11, len(b))]
    rising = [i for i in range(11, len(b)) if b.time[i - 11 : i].tolist() == windows[i - 11]]
    unordered = [i for i in range(11, len(b)) if i not in set(rising)]
    assert rising and unordered
    for i in (rising[len(rising) // 2], unordered[len(unordered) // 2]):
        median = windows[i - 11][5]
        time = b.time.copy()
        time[i] = median
        with pytest.raises(InputError, match=f"previous 11 blocks \\({median}\\)") as info:
            rules.check_block_times(where, b.height, time, before)
        assert info.value.line == b.lines[i]
        time[i] = median + 1
        assert all(time[j] > sorted(time[j - 11 : j].tolist())[5] for j in range(i, i + 12))
        rules.check_block_times(where, b.height, time, before)


# --- prices -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "words"),
    [
        ("1e300", "at most 1,000,000,000"),
        ("1e15", "at most 1,000,000,000"),
        ("1e-300", "out of range; expected >= 0.0001"),
        ("８７４９０.１２", "beyond ASCII"),
        ("87490.12", None),
    ],
)
def test_price_bounds_are_those_of_coin_metrics(tmp_path, cell, words):
    path = tmp_path / "p.csv"
    path.write_text(f"date,close_usd\n2025-12-30,87000\n2025-12-31,{cell}\n", encoding="utf-8")
    if words is None:
        assert files.read_prices(path).close_usd[-1] == 87490.12
        return
    with pytest.raises(InputError) as info:
        files.read_prices(path)
    assert (info.value.line, info.value.column) == (3, "close_usd") and words in str(info.value)
    # The same bound as Coin Metrics' PriceUSD.
    assert coinmetrics.MAX_PRICE_USD == rules.MAX_PRICE_USD


@pytest.fixture(scope="module")
def cm_db(tmp_path_factory, coinmetrics_csv) -> Path:
    db = tmp_path_factory.mktemp("cm") / "cm.duckdb"
    with minerwatch.open_store(db) as store:
        minerwatch.import_coinmetrics(store, coinmetrics_csv)
    return db


def _copy(db: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy.duckdb"
    out.write_bytes(db.read_bytes())
    return out


def test_a_close_with_a_slipped_digit_is_refused_in_plain_figures(tmp_path, cm_db):
    """A close ten times too high (1,247,500 for 124,750 on 2025-10-06, a few tenths of a
    percent from Coin Metrics' 124,824) is x9.99 of the stored close: refused, in dollars;
    one a tenth of it likewise."""
    for value, times in (("1247500", "9.99 times"), ("12475", "0.0999 times")):
        db = _copy(cm_db, tmp_path)
        path = _write(tmp_path / "p.csv", ["date,close_usd", f"2025-10-06,{value}"])
        result = _cli("import", "prices", str(path), "--db", str(db))
        assert result.returncode == 2, result.stderr
        assert f"{int(value):,}.00 USD on 2025-10-06 is {times} source 'coinmetrics'" in (
            result.stderr
        )
        assert "(124,824.45 USD)" in result.stderr and "np.float64" not in result.stderr


def test_prices_far_from_the_other_sources_are_refused_unless_forced(tmp_path, cm_db):
    db = _copy(cm_db, tmp_path)
    path = _write(tmp_path / "p.csv", ["date,close_usd", "2025-12-30,88400", "2025-12-31,900000"])
    result = _cli("import", "prices", str(path), "--db", str(db))
    assert result.returncode == 2
    assert "line 3, column 'close_usd'" in result.stderr
    assert "x3 of the other stored sources" in result.stderr and "'coinmetrics'" in result.stderr
    result = _cli("import", "prices", str(path), "--db", str(db), "--force")
    assert result.returncode == 0, result.stderr
    with minerwatch.open_store(db, read_only=True) as store:
        assert "--force: 1 close(s) beyond x3" in store.import_log()[-1][3]
    warn = _write(tmp_path / "w.csv", ["date,close_usd", "2025-12-29,200000"])
    with minerwatch.open_store(db) as store:
        report = minerwatch.import_prices(store, warn)
    assert any("x2.3" in n and "'coinmetrics'" in n for n in report.notes)


# --- partial rows and overwrites ---------------------------------------------------------


def test_a_prices_file_cut_mid_number_keeps_the_stored_close(tmp_path, prices_csv, cm_db):
    db = _copy(cm_db, tmp_path)
    lines = _lines(prices_csv)
    with minerwatch.open_store(db) as store:
        minerwatch.import_prices(store, prices_csv)
        stored = store.read_prices()
        cut = _write(tmp_path / "cut.csv", [*lines[:-1], lines[-1][:-4]], end="")
        report = minerwatch.import_prices(store, cut)
        after = store.read_prices()
    np.testing.assert_array_equal(after["close_usd"], stored["close_usd"])
    assert report.writes[0].changed == 0
    assert any(f"line {len(lines)}" in n and "no line end" in n for n in report.notes)


@pytest.mark.parametrize(
    ("fixture", "reader"),
    [
        ("prices_csv", files.read_prices),
        ("epochs_csv", files.read_epochs),
        ("blocks_csv", block_files.read_blocks_csv),
        ("coinmetrics_csv", coinmetrics.read_file),
    ],
)
def test_every_importer_drops_a_last_line_without_line_end(tmp_path, request, fixture, reader):
    source = request.getfixturevalue(fixture)
    whole = reader(source)
    lines = _lines(source)
    cut = reader(_write(tmp_path / "cut.csv", lines, end=""))
    assert len(cut) == len(whole) - 1
    assert any("no line end" in n for n in cut.notes)


def test_a_one_row_overwrite_says_what_it_changes(tmp_path, prices_csv, cm_db):
    db = _copy(cm_db, tmp_path)
    with minerwatch.open_store(db) as store:
        minerwatch.import_prices(store, prices_csv)
    one = _write(tmp_path / "one.csv", ["date,close_usd", "2025-12-31,88000.5"])
    result = _cli("import", "prices", str(one), "--db", str(db))
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "only changes rows already stored" in out
    assert "day 2025-12-31 source csv: close_usd" in out and "-> 88000.5" in out


# --- the byte splitter agrees with csv.reader --------------------------------------------


def test_plain_and_quoted_files_read_alike(tmp_path, blocks_csv):
    lines = _lines(blocks_csv)[:300]
    plain = read_csv(_write(tmp_path / "a.csv", lines), ["height", "time"])
    quoted = [lines[0], *(f'"{h}",{t}' for h, t in (r.split(",") for r in lines[1:]))]
    slow = read_csv(_write(tmp_path / "b.csv", quoted), ["height", "time"])
    assert plain.raw("height") is not None and slow.raw("height") is None
    for name in ("height", "time"):
        assert plain.columns[name].astype(str).tolist() == slow.columns[name].astype(str).tolist()
    np.testing.assert_array_equal(plain.lines, slow.lines)
