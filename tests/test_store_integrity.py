"""The database stays whole: gaps refused, bounds enforced, rollback on failure, clear
errors for unusable paths and a busy database."""

from __future__ import annotations

import csv
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import minerwatch
from minerwatch.errors import InputError
from minerwatch.sources import coinmetrics, files
from minerwatch.store import Store
from store_checks import store_held

HEADER = "time,BlkCnt,FeeTotNtv,IssTotNtv,HashRate,PriceUSD,SplyCur"
ROW = "{day},140,3.1,437.5,1000000000.5,114000.5,19930000.1"


# A process that opens the store for writing, says so, and holds it until its stdin closes.
def _supply(day: str) -> str:
    """A supply that grows by the rows' issuance (437.5 BTC) a day, as the chain rules ask."""
    days = int((np.datetime64(day) - np.datetime64("2025-09-01")) / np.timedelta64(1, "D"))
    return f"{19_930_000.1 + 437.5 * days:.1f}"


def _csv(path: Path, *days: str, row: str = ROW) -> Path:
    lines = [row.format(day=d).replace(",19930000.1", "," + _supply(d)) for d in days]
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


def _chain(db: Path) -> dict[str, np.ndarray]:
    with minerwatch.open_store(db, read_only=True) as store:
        return store.read_chain_daily()


@pytest.fixture()
def small_db(tmp_path) -> Path:
    db = tmp_path / "db.duckdb"
    with minerwatch.open_store(db) as store:
        minerwatch.import_coinmetrics(store, _csv(tmp_path / "a.csv", "2025-10-01", "2025-10-02"))
    return db


def test_a_file_with_a_missing_day_is_refused(cli, tmp_path):
    path = _csv(tmp_path / "gap.csv", "2025-10-01", "2025-10-05")
    result = cli("import", "coinmetrics", str(path), "--db", str(tmp_path / "db.duckdb"))
    assert result.returncode == 2
    assert "days 2025-10-02 to 2025-10-04 are missing" in result.stderr


@pytest.mark.parametrize(
    ("days", "words"),
    [
        (("2025-10-05",), "days 2025-10-03 to 2025-10-04 would be missing"),
        (("2025-09-20",), "days 2025-09-21 to 2025-09-30 would be missing"),
    ],
)
def test_a_file_that_does_not_join_the_data_held_is_refused(cli, tmp_path, small_db, days, words):
    before = _chain(small_db)
    path = _csv(tmp_path / "far.csv", *days)
    result = cli("import", "coinmetrics", str(path), "--db", str(small_db))
    assert result.returncode == 2 and words in result.stderr
    after = _chain(small_db)
    np.testing.assert_array_equal(after["day"], before["day"])


def test_adjacent_and_overlapping_files_join(tmp_path, small_db):
    with minerwatch.open_store(small_db) as store:
        minerwatch.import_coinmetrics(store, _csv(tmp_path / "b.csv", "2025-10-02", "2025-10-03"))
        minerwatch.import_coinmetrics(store, _csv(tmp_path / "c.csv", "2025-09-30"))
    assert [str(d) for d in _chain(small_db)["day"]] == [
        "2025-09-30", "2025-10-01", "2025-10-02", "2025-10-03",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("row", "column", "words"),
    [
        (ROW.replace("{day}", "0001-01-01"), "time", "on or after 2009-01-03"),
        (ROW.replace("{day}", "9999-12-31"), "time", "on or before"),
        (ROW.replace(",3.1,", ",1e300,"), "FeeTotNtv", "at most 21,000,000"),
        (ROW.replace(",19930000.1", ",99999999999.9"), "SplyCur", "at most 21,000,000"),
        (ROW.replace(",19930000.1", ",123456789012345678901234567890"), "SplyCur", "at most"),
        (ROW.replace(",140,", ",3000000000,"), "BlkCnt", "<= 10,000"),
        (ROW.replace(",140,", ",99999999999999999999999,"), "BlkCnt", "is not a block count"),
        (ROW.replace(",140,", ",1_40,"), "BlkCnt", "'1_40' is not"),
        (ROW.replace(",3.1,", ",3_1,"), "FeeTotNtv", "'3_1' is not"),
    ],
)
def test_values_out_of_any_real_range_are_refused(tmp_path, row, column, words):
    path = tmp_path / "x.csv"
    path.write_text(HEADER + "\n" + row.format(day="2025-10-01") + "\n")
    with pytest.raises(InputError) as info:
        coinmetrics.read_file(path)
    assert (info.value.line, info.value.column) == (2, column)
    assert words in str(info.value)


def test_epoch_heights_beyond_the_store_are_refused(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("start_height,difficulty\n4227858432,1.0\n")
    with pytest.raises(InputError, match="out of range"):
        files.read_epochs(path)


def test_bom_only_file_is_empty(cli, tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf\r\n")
    result = cli("import", "prices", str(path), "--db", str(tmp_path / "db.duckdb"))
    assert result.returncode == 2 and "empty file" in result.stderr


def test_windows_1252_file_is_named_as_such(tmp_path):
    path = tmp_path / "cp1252.csv"
    path.write_bytes("date,close_usd,source\n2025-10-01,1.5,Bitstamp – €\n".encode("cp1252"))
    with pytest.raises(InputError, match="not UTF-8 text .* re-save the file as UTF-8"):
        files.read_prices(path)


def test_source_option_and_column_together_are_refused(cli, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("date,close_usd,source\n2025-10-01,1.5,a\n")
    with pytest.raises(InputError, match="has a source column, so `source` 'b'"):
        files.read_prices(path, source="b")
    # The CLI names its option where the library names its parameter.
    result = cli("import", "prices", path, "--source", "b", "--db", tmp_path / "db.duckdb")
    assert result.returncode == 2 and "so `--source` 'b' would be ignored" in result.stderr


def test_a_failing_write_rolls_back_the_whole_import(tmp_path, small_db, monkeypatch):
    before = _chain(small_db)

    def broken(self, *args, **kwargs):
        raise RuntimeError("disk full")

    # Fault injection: the second of the import's two writes fails.
    monkeypatch.setattr(Store, "write_prices", broken)
    path = _csv(tmp_path / "more.csv", "2025-10-02", "2025-10-03")
    with minerwatch.open_store(small_db) as store, pytest.raises(RuntimeError):
        minerwatch.import_coinmetrics(store, path)
    monkeypatch.undo()
    after = _chain(small_db)
    for col in before:
        np.testing.assert_array_equal(after[col], before[col])


def test_single_write_outside_a_transaction_on_a_reopened_store(tmp_path, small_db):
    records = coinmetrics.read_file(_csv(tmp_path / "d.csv", "2025-10-03"))
    with minerwatch.open_store(small_db) as store:
        result = store.write_chain_daily(records, "d.csv")
    assert (result.new, result.changed) == (1, 0)


def test_database_path_inside_a_file_is_an_input_error(cli, tmp_path):
    blocker = tmp_path / "some.csv"
    blocker.write_text("x")
    result = cli("status", "--db", str(tmp_path / "none.duckdb"))
    assert result.returncode == 2
    result = cli("import", "prices", str(blocker), "--db", str(blocker / "x.duckdb"))
    assert result.returncode == 2 and "choose another path for the database" in result.stderr
    result = cli("import", "prices", str(blocker), "--db", str(tmp_path))
    assert result.returncode == 2 and "is a directory" in result.stderr


def test_busy_database_gets_a_clear_message(cli, tmp_path, small_db):
    # Another process holds the file for writing, as a running sync does.
    with store_held(small_db):
        started = time.monotonic()
        result = cli("status", "--db", str(small_db), env={"MINERWATCH_LOCK_WAIT_S": "0.5"})
        waited = time.monotonic() - started
    assert result.returncode == 4
    assert "is busy: another minerwatch process" in result.stderr
    assert "MINERWATCH_LOCK_WAIT_S" in result.stderr and "Traceback" not in result.stderr
    assert 0.5 <= waited < 30


def test_a_reader_waits_for_a_writer_then_reads(cli, tmp_path, small_db):
    # A second process holds the database, as an import's transaction does, then lets go:
    # status waits for it (one notice on stderr) and prints what it prints without it.
    alone = cli("status", "--json", "--db", str(small_db))
    assert alone.returncode == 0
    with store_held(small_db) as holder:
        threading.Timer(1.0, holder.stdin.close).start()
        started = time.monotonic()
        waiting = cli(
            "status", "--json", "--db", str(small_db), env={"MINERWATCH_LOCK_WAIT_S": "60"}
        )
        waited = time.monotonic() - started
    assert waiting.returncode == 0, waiting.stderr
    assert waiting.stdout == alone.stdout
    assert waiting.stderr.count("note: database") == 1 and "is busy" in waiting.stderr
    assert 0.9 <= waited < 30


def test_the_lock_wait_bound_is_checked(cli, small_db):
    result = cli("status", "--db", str(small_db), env={"MINERWATCH_LOCK_WAIT_S": "soon"})
    assert result.returncode == 2 and "MINERWATCH_LOCK_WAIT_S" in result.stderr


def test_difficulty_at_an_epoch_boundary_reads_no_future_epoch(loaded_db, epochs_csv):
    # Daily block counts run a few blocks ahead of the chain: by count, 2025-11-26 ends in
    # the epoch starting at 925,344, but that epoch's first block came on 2025-11-27.
    with open(epochs_csv) as f:
        epochs = {int(r["start_height"]): r for r in csv.DictReader(f)}
    start = epochs[925_344]
    assert int(start["start_time"]) >= 1_764_201_600  # 2025-11-27 00:00 UTC
    s = minerwatch.status(loaded_db, as_of="2025-11-26")
    assert s.height < 925_344  # the chain's height, not the running count
    assert s.difficulty == pytest.approx(float(epochs[923_328]["difficulty"]), rel=1e-12)
    assert s.difficulty_method.startswith("epochs")
    after = minerwatch.status(loaded_db, as_of="2025-11-27")
    assert after.difficulty == pytest.approx(float(start["difficulty"]), rel=1e-12)
