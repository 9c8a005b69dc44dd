"""Importing plain price and epoch files."""

from __future__ import annotations

import csv

import pytest

import minerwatch
from minerwatch.errors import InputError
from minerwatch.sources import files


def test_real_prices_import_and_feed_status(tmp_path, coinmetrics_csv, prices_csv):
    db = tmp_path / "db.duckdb"
    with minerwatch.open_store(db) as store:
        minerwatch.import_coinmetrics(store, coinmetrics_csv)
        report = minerwatch.import_prices(store, prices_csv, source="bitstamp")
        again = minerwatch.import_prices(store, prices_csv, source="bitstamp")
    with open(prices_csv) as f:
        rows = list(csv.DictReader(f))
    assert report.rows_read == len(rows) and report.writes[0].new == len(rows)
    assert (again.writes[0].new, again.writes[0].changed) == (0, 0)
    # Your own prices win over Coin Metrics' reference rate unless asked otherwise.
    mine = minerwatch.status(db, as_of="2025-10-06")
    theirs = minerwatch.status(db, as_of="2025-10-06", price_source="coinmetrics")
    close = {r["date"]: float(r["close_usd"]) for r in rows}
    assert mine.price_source == "bitstamp" and mine.price_usd == close["2025-10-06"]
    assert theirs.price_source == "coinmetrics"
    assert mine.price_usd == pytest.approx(theirs.price_usd, rel=0.005)
    # Before the price file starts, the fallback fills in.
    early = minerwatch.status(db, as_of="2011-06-01")
    assert early.price_source == "coinmetrics"
    with pytest.raises(InputError, match="^price_source 'kraken': no prices from that source"):
        minerwatch.status(db, as_of="2025-10-06", price_source="kraken")


def test_prices_source_column_allows_two_sources_per_day(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("date,close_usd,source\n2025-10-01,100.5,a\n2025-10-01,101.0,b\n")
    prices = files.read_prices(path)
    assert len(prices) == 2 and sorted(prices.source) == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("date,close\n2025-10-01,1\n", 1, None, "header lacks column(s) close_usd"),
        ("date,close_usd\n2025-10-01,0\n", 2, "close_usd", "out of range"),
        ("date,close_usd\n2025-10-01,1\n01/10/2025,2\n", 3, "date", "not a date YYYY-MM-DD"),
        ("date,close_usd\n2025-10-01,1\n2025-10-01,2\n", 3, "close_usd", "duplicate date"),
        ("date,close_usd\n2025-10-01,$1\n", 2, "close_usd", "'$1' is not a price"),
    ],
)
def test_bad_price_rows(tmp_path, text, line, column, words):
    path = tmp_path / "p.csv"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        files.read_prices(path)
    assert (info.value.line, info.value.column) == (line, column)
    assert words in str(info.value)


def test_real_epochs_are_stored_at_their_exact_bits(tmp_path, epochs_csv):
    epochs = files.read_epochs(epochs_csv)
    with open(epochs_csv) as f:
        rows = list(csv.DictReader(f))
    assert len(epochs) == len(rows)
    # Early checkpoints print difficulty to 6 decimals; what is stored rounds back to them.
    for row, d in zip(rows, epochs.difficulty, strict=True):
        written = row["difficulty"]
        decimals = len(written.split(".")[1]) if "." in written else 0
        assert abs(d - float(written)) <= 0.5 * 10.0**-decimals + 1e-15 * d
    assert any("written rounded" in n for n in epochs.notes)
    assert (epochs.start_time == -1).sum() == sum(1 for r in rows if not r["start_time"])


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("start_height,difficulty\n2015,1.0\n", 2, "start_height", "not a multiple of 2016"),
        ("start_height,difficulty\n0,0.5\n", 2, "difficulty", "out of range"),
        (
            "start_height,difficulty\n0,1.0\n2016,1.00001\n",
            3,
            "difficulty",
            "not a Core difficulty",
        ),
        ("start_height,difficulty,start_time\n0,1.0,yesterday\n", 2, "start_time", "unix"),
    ],
)
def test_bad_epoch_rows(tmp_path, text, line, column, words):
    path = tmp_path / "e.csv"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        files.read_epochs(path)
    assert (info.value.line, info.value.column) == (line, column)
    assert words in str(info.value)
