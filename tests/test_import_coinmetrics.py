"""Importing the Coin Metrics community CSV: real data, idempotency, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import minerwatch
from minerwatch.errors import InputError


def _snapshot_tables(db: Path) -> dict:
    with minerwatch.open_store(db, read_only=True) as store:
        chain = store.read_chain_daily()
        prices = store.read_prices()
        epochs = store.read_epochs()
    return {
        "chain": {k: v.copy() for k, v in chain.items()},
        "prices": {k: v.copy() for k, v in prices.items()},
        "epochs": {k: v.copy() for k, v in epochs.items()},
    }


def _assert_same(a: dict, b: dict) -> None:
    for table in a:
        assert a[table].keys() == b[table].keys()
        for col in a[table]:
            np.testing.assert_array_equal(a[table][col], b[table][col], err_msg=f"{table}.{col}")


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_real_file_imports_every_day(tmp_path, coinmetrics_csv, cm_rows):
    with minerwatch.open_store(tmp_path / "db.duckdb") as store:
        report = minerwatch.import_coinmetrics(store, coinmetrics_csv)
        chain = store.read_chain_daily()
    assert report.rows_read == len(cm_rows)
    assert (report.first, report.last) == (cm_rows[0]["time"], cm_rows[-1]["time"])
    assert report.writes[0].new == len(cm_rows)
    priced = sum(1 for r in cm_rows if r["PriceUSD"])
    assert report.writes[1].new == priced
    # Block counts and exact satoshi amounts survive the trip.
    assert chain["blocks"].sum() == sum(int(r["BlkCnt"]) for r in cm_rows)
    last = cm_rows[-1]
    assert chain["fees_sat"][-1] == round(float(last["FeeTotNtv"]) * 1e8)
    assert chain["supply_sat"][-1] == int(last["SplyCur"].replace(".", "").ljust(16, "0")[:16])


def test_reimport_changes_nothing(tmp_path, coinmetrics_csv):
    db = tmp_path / "db.duckdb"
    with minerwatch.open_store(db) as store:
        minerwatch.import_coinmetrics(store, coinmetrics_csv)
    before = _snapshot_tables(db)
    with minerwatch.open_store(db) as store:
        again = minerwatch.import_coinmetrics(store, coinmetrics_csv)
    assert [(w.new, w.changed) for w in again.writes] == [(0, 0), (0, 0)]
    assert again.writes[0].unchanged == again.rows_read
    _assert_same(before, _snapshot_tables(db))


def test_recovered_difficulty_matches_epochs(loaded_db):
    with minerwatch.open_store(loaded_db, read_only=True) as store:
        check = minerwatch.frames.crosscheck_difficulty(store)
    assert check is not None
    # Every day with blocks up to the last epoch's end is covered.
    assert check.days_checked > 6000
    # Every day agrees within 1e-6; the largest gaps (~1.5e-7) are 2010 days whose Coin
    # Metrics difficulty differs from the compact-bits difficulty in the 7th digit.
    assert check.max_rel_error < check.tolerance == 1e-6
    assert check.days_off == 0


GOOD_HEADER = "time,BlkCnt,FeeTotNtv,IssTotNtv,HashRate,PriceUSD,SplyCur"


def _cm_text(*rows: str, header: str = GOOD_HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


ROW_A = "2025-10-01,140,3.1,437.5,1000000000.5,114000.5,19930000.1"
ROW_B = "2025-10-02,150,2.9,468.75,1100000000.5,118000.5,19930468.85"


@pytest.mark.parametrize(
    ("text", "line", "column", "expected_words"),
    [
        (_cm_text(ROW_A, header="day,BlkCnt,FeeTotNtv"), 1, None, "header lacks column(s) time"),
        (_cm_text(ROW_A, ROW_B.replace(",150,", ",abc,")), 3, "BlkCnt", "'abc' is not"),
        (_cm_text(ROW_A, ROW_B.replace(",150,", ",-5,")), 3, "BlkCnt", "out of range"),
        (_cm_text(ROW_A, ROW_B.replace(",2.9,", ",2.9x,")), 3, "FeeTotNtv", "amount in BTC"),
        (_cm_text(ROW_A, ROW_A.replace(",140,", ",141,")), 3, "BlkCnt", "duplicate time"),
        (_cm_text(ROW_A, ROW_B.replace("2025-10-02", "2025-13-02")), 3, "time", "date"),
        (_cm_text(ROW_A, ROW_B.replace(",118000.5,", ",-1,")), 3, "PriceUSD", "out of range"),
        (_cm_text(ROW_A, ROW_B.replace(",1100000000.5,", ",0,")), 3, "HashRate", "> 0"),
        (_cm_text(ROW_A, ROW_B.replace(",1100000000.5,", ",,")), 3, "HashRate", "empty cell"),
    ],
)
def test_bad_rows_name_line_and_column(tmp_path, text, line, column, expected_words):
    path = _write(tmp_path / "bad.csv", text)
    with pytest.raises(InputError) as info:
        minerwatch.sources.coinmetrics.read_file(path)
    err = info.value
    assert (err.path, err.line, err.column) == (str(path), line, column)
    assert expected_words in str(err)


def test_empty_file(tmp_path):
    path = _write(tmp_path / "empty.csv", "")
    with pytest.raises(InputError, match="empty file; expected a header line 'time,BlkCnt"):
        minerwatch.sources.coinmetrics.read_file(path)


def test_header_only(tmp_path):
    path = _write(tmp_path / "header.csv", GOOD_HEADER + "\n")
    with pytest.raises(InputError, match="no data rows"):
        minerwatch.sources.coinmetrics.read_file(path)


def test_binary_garbage(tmp_path):
    garbage = np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    path = _write(tmp_path / "garbage.csv", garbage)
    with pytest.raises(InputError, match="binary data"):
        minerwatch.sources.coinmetrics.read_file(path)


def test_gzip_file_is_refused_as_binary(tmp_path):
    import gzip

    path = _write(tmp_path / "btc.csv.gz", gzip.compress(_cm_text(ROW_A).encode()))
    with pytest.raises(InputError, match="binary data"):
        minerwatch.sources.coinmetrics.read_file(path)


def test_partial_trailing_rows_are_dropped(tmp_path):
    # An interrupted download ends mid-row; the current day may lack its chain metrics.
    today = "2025-10-03,,,,,119000,"
    cut = "2025-10-04,12"
    path = _write(tmp_path / "partial.csv", _cm_text(ROW_A, ROW_B, today, cut))
    records = minerwatch.sources.coinmetrics.read_file(path)
    assert [str(d) for d in records.day] == ["2025-10-01", "2025-10-02"]
    assert any("partial trailing row" in n and "line 5" in n for n in records.notes)
    assert any("without chain metrics" in n for n in records.notes)


def test_short_row_in_the_middle_is_an_error(tmp_path):
    path = _write(tmp_path / "short.csv", _cm_text(ROW_A, "2025-10-02,150", ROW_B))
    with pytest.raises(InputError) as info:
        minerwatch.sources.coinmetrics.read_file(path)
    assert info.value.line == 3 and "expected 7" in str(info.value)


def test_identical_duplicate_rows_collapse(tmp_path):
    path = _write(tmp_path / "dup.csv", _cm_text(ROW_A, ROW_A, ROW_B))
    records = minerwatch.sources.coinmetrics.read_file(path)
    assert len(records) == 2
    assert any("identical duplicate" in n for n in records.notes)


def test_btc_amounts_are_exact_satoshis(tmp_path):
    path = _write(tmp_path / "sat.csv", _cm_text(ROW_A.replace(",3.1,", ",3.05108551,")))
    records = minerwatch.sources.coinmetrics.read_file(path)
    assert records.fees_sat[0] == 305_108_551
    assert records.supply_sat[0] == 1_993_000_010_000_000


def test_failed_import_leaves_database_as_it_was(cli, tmp_path, coinmetrics_csv):
    db = tmp_path / "db.duckdb"
    with minerwatch.open_store(db) as store:
        minerwatch.import_coinmetrics(store, coinmetrics_csv)
    before = _snapshot_tables(db)
    # A real file revised in its first rows, broken on its last line: nothing may land.
    lines = coinmetrics_csv.read_text().splitlines()
    lines[2] = lines[2].replace(",0,", ",7,", 1)
    lines[-2] = lines[-2].replace(lines[-2].split(",")[5], "1.5", 1)
    bad = _write(tmp_path / "bad.csv", "\n".join(lines) + "\n")
    result = cli("import", "coinmetrics", str(bad), "--db", str(db))
    assert result.returncode == 2
    assert f"line {len(lines) - 1}" in result.stderr
    _assert_same(before, _snapshot_tables(db))


@pytest.mark.parametrize(
    "content",
    ["", "time,BlkCnt\n", "\x00\x01\x02garbage", "time,[/]BlkCnt[bold]\n1,2\n"],
    ids=["empty", "header", "binary", "markup"],
)
def test_cli_bad_file_exits_2_without_traceback(cli, tmp_path, content):
    path = _write(tmp_path / "x.csv", content)
    result = cli("import", "coinmetrics", str(path), "--db", str(tmp_path / "db.duckdb"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert str(path) in result.stderr
    if "[/]" in content:  # cell text is shown as written, never read as markup
        assert "[/]BlkCnt[bold]" in result.stderr


def test_cli_missing_file_exits_2(cli, tmp_path):
    result = cli("import", "coinmetrics", str(tmp_path / "nope.csv"), "--db", str(tmp_path / "d"))
    assert result.returncode == 2
    assert "no such file" in result.stderr
