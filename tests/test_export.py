"""`minerwatch export` and the conversions of results: the same numbers as `status`, in
every format, cut with no look-ahead; clear errors."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

import minerwatch
from minerwatch.analyses.export import export_table

DAY = "2025-10-06"


def _cli(*args: str, pre: str = "") -> subprocess.CompletedProcess:
    """The CLI in a fresh interpreter; ``pre`` runs first (to hide an optional package)."""
    code = f"import sys\n{pre}\nfrom minerwatch.cli import main\nsys.argv[0] = 'minerwatch'\nmain()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )


def _hide(module: str) -> str:
    return f"sys.modules[{module!r}] = None"


@pytest.fixture(scope="module")
def status_json(loaded_db) -> dict:
    proc = _cli("status", "--as-of", DAY, "--json", "--db", str(loaded_db))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def daily_parquet(loaded_db, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("export") / "daily.parquet"
    proc = _cli(
        "export", "daily", "--format", "parquet", "--out", str(path), "--db", str(loaded_db)
    )
    assert proc.returncode == 0, proc.stderr
    return path


# status key -> (daily column, factor from the column's unit to the key's)
STATUS_COLUMNS = {
    "height": ("height", 1),
    "blocks_1d": ("blocks", 1),
    "price_usd": ("price_usd", 1),
    "price_ath_usd": ("price_ath_usd", 1),
    "price_drawdown_pct": ("price_drawdown_pct", 1),
    "price_change_7d_pct": ("price_change_7d_pct", 1),
    "price_change_30d_pct": ("price_change_30d_pct", 1),
    "hashrate_ehs_1d": ("hashrate_hs_1d", 1e-18),
    "hashrate_ehs_7d": ("hashrate_hs_7d", 1e-18),
    "hashrate_ehs_30d": ("hashrate_hs_30d", 1e-18),
    "hashrate_ehs_60d": ("hashrate_hs_60d", 1e-18),
    "hashrate_ath_ehs": ("hashrate_ath_hs", 1e-18),
    "hashrate_drawdown_pct": ("hashrate_drawdown_pct", 1),
    "block_interval_min_7d": ("block_interval_min_7d", 1),
    "difficulty": ("difficulty_last", 1),
    "revenue_usd_1d": ("revenue_usd", 1),
    "revenue_btc_1d": ("revenue_btc", 1),
    "subsidy_btc_1d": ("issuance_btc", 1),
    "fees_btc_1d": ("fees_btc", 1),
    "fees_share_pct_7d": ("fees_share_pct_7d", 1),
    "hashprice_usd_ph_day": ("hashprice_usd_ph_day", 1),
    "hashprice_btc_ph_day": ("hashprice_btc_ph_day", 1),
    "hashprice_realised_usd_ph_day": ("hashprice_realised_usd_ph_day", 1),
    "puell_multiple": ("puell_multiple", 1),
}


def _status_value(status: dict, key: str):
    if key.startswith("hashrate_ehs_"):
        return status["hashrate_ehs"][key.removeprefix("hashrate_ehs_")]
    return status[key]


def _check_against_status(row: dict, status: dict) -> None:
    for key, (column, factor) in STATUS_COLUMNS.items():
        expected = _status_value(status, key)
        assert expected is not None, key
        assert row[column] * factor == pytest.approx(expected, rel=1e-12, abs=0), key
    assert str(row["hashrate_ath_day"])[:10] == status["hashrate_ath_date"]
    assert str(row["price_ath_day"])[:10] == status["price_ath_date"]
    assert row["price_source"] == status["price_source"]


def test_parquet_in_duckdb_has_the_status_numbers(daily_parquet, status_json):
    import duckdb

    con = duckdb.connect()
    rel = con.execute(
        "SELECT * FROM read_parquet(?) WHERE day = CAST(? AS DATE)", [str(daily_parquet), DAY]
    )
    names = [d[0] for d in rel.description]
    rows = rel.fetchall()
    assert len(rows) == 1
    _check_against_status(dict(zip(names, rows[0], strict=True)), status_json)


def test_parquet_in_pandas_has_the_status_numbers(daily_parquet, status_json, cm_rows):
    import pandas as pd

    df = pd.read_parquet(daily_parquet)
    assert len(df) == len(cm_rows)  # one row per day held
    row = df[df["day"].astype(str) == DAY].iloc[0].to_dict()
    _check_against_status(row, status_json)
    # missing values are nulls: no close before Coin Metrics' first price
    assert df["price_usd"].isna().iloc[0] and df["end_height"].iloc[-1] > 900_000


def test_csv_json_and_parquet_agree(loaded_db, tmp_path):
    import pyarrow.parquet as pq

    args = ["export", "daily", "--from", "2025-09-01", "--to", DAY, "--db", str(loaded_db)]
    as_csv = _cli(*args)
    as_json = _cli(*args, "--format", "json", "--out", "-")
    parquet = tmp_path / "d.parquet"
    written = _cli(*args, "--format", "parquet", "--out", str(parquet))
    assert as_csv.returncode == as_json.returncode == written.returncode == 0, as_csv.stderr
    csv_rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    json_rows = json.loads(as_json.stdout)
    pq_rows = pq.read_table(parquet).to_pylist()
    assert len(csv_rows) == len(json_rows) == len(pq_rows) == 36
    assert list(csv_rows[0]) == list(json_rows[0]) == list(pq_rows[0])
    for c, j, p in zip(csv_rows, json_rows, pq_rows, strict=True):
        for name, value in j.items():
            cell, stored = c[name], p[name]
            if value is None:
                assert cell == "" and stored is None, name
            elif isinstance(value, bool):
                assert cell == str(value).lower() and stored is value, name
            elif isinstance(value, int | float):
                assert float(cell) == value == stored, name  # exact: shortest round-trip form
            else:
                assert cell == value == str(stored), name


def test_from_and_to_cut_rows_without_changing_values(loaded_db):
    whole = export_table(loaded_db, "daily").to_pandas()
    part = export_table(loaded_db, "daily", start="2022-11-01", end="2022-11-21").to_pandas()
    assert part["day"].astype(str).tolist() == [f"2022-11-{d:02d}" for d in range(1, 22)]
    same = whole[whole["day"].isin(part["day"])].reset_index(drop=True)
    # the trailing windows of the first rows still read the days before --from
    assert same.equals(part)


def test_to_and_as_of_read_nothing_later(loaded_db, db_to_2022_11_21):
    """An export cut at a day equals the export of a database that only ever held the data
    up to that day (daily metrics and epochs alike)."""
    for table in ("daily", "epochs", "prices"):
        cut = export_table(loaded_db, table, end="2022-11-21").to_pandas()
        as_of = export_table(loaded_db, table, as_of="2022-11-21").to_pandas()
        then = export_table(db_to_2022_11_21, table).to_pandas()
        assert cut.equals(then), table
        assert as_of.equals(then), table


def test_blocks_cut_by_header_time(blocks_db, blocks_csv):
    with open(blocks_csv, newline="") as f:
        times = [int(r["time"]) for r in csv.DictReader(f)]
    day = [datetime.fromtimestamp(t, UTC).date().isoformat() for t in times]
    table = export_table(blocks_db, "blocks", start=DAY, end=DAY)
    got = table.to_arrow().to_pydict()
    assert len(got["height"]) == day.count(DAY) > 100
    assert {datetime.fromtimestamp(t, UTC).date().isoformat() for t in got["time"]} == {DAY}
    # bits are stored for every block here; fees and pools are not in the file: nulls
    assert None not in got["bits"] and set(got["fees_sat"]) == {None}


def test_stored_tables_import_again(blocks_db, tmp_path):
    db = tmp_path / "again.duckdb"
    for table in ("epochs", "prices", "blocks"):
        path = tmp_path / f"{table}.csv"
        export_table(blocks_db, table).write(path, "csv")
        with minerwatch.open_store(db) as store:
            getattr(minerwatch, f"import_{table}")(store, path)
    with (
        minerwatch.open_store(blocks_db, read_only=True) as before,
        minerwatch.open_store(db, read_only=True) as after,
    ):
        for read in ("read_epochs", "read_prices", "read_blocks"):
            a, b = getattr(before, read)(), getattr(after, read)()
            for name in a:
                assert np.array_equal(a[name], b[name], equal_nan=a[name].dtype.kind == "f")


def test_the_daily_frame_and_results_convert(loaded_db):
    import pyarrow as pa

    frame = minerwatch.daily_frame(loaded_db, as_of=DAY)
    df = frame.to_pandas()
    assert len(df) == len(frame) and np.array_equal(df["blocks"].to_numpy(), frame.blocks)
    assert isinstance(frame.to_arrow(), pa.Table)
    status = minerwatch.status(loaded_db, as_of=DAY)
    one = status.to_pandas()
    assert len(one) == 1 and one["hashrate_ehs_7d"].iloc[0] == status.hashrate_ehs["7d"]
    asics = minerwatch.asic_economics(loaded_db, as_of=DAY)
    rows = asics.to_arrow()
    assert rows.num_rows == len(asics.machines.model)
    assert rows.column("model").to_pylist() == asics.machines.model.tolist()
    cost = minerwatch.production_cost(loaded_db, as_of=DAY).to_pandas()
    assert set(cost["name"]) == set(minerwatch.production_cost(loaded_db, as_of=DAY).models)


def test_to_polars_when_installed(loaded_db):
    pl = pytest.importorskip("polars")
    table = export_table(loaded_db, "daily", start=DAY, end=DAY)
    df = table.to_polars()
    assert isinstance(df, pl.DataFrame) and df.height == 1
    assert df["hashprice_usd_ph_day"][0] == table.columns["hashprice_usd_ph_day"][0]
    early = export_table(loaded_db, "daily", end="2009-01-10").to_polars()
    assert early["price_usd"].null_count() == early.height


def test_missing_extras_name_them(loaded_db, monkeypatch, tmp_path):
    """Runs with or without the packages installed: each is hidden in turn."""
    status = minerwatch.status(loaded_db, as_of=DAY)
    for module, extra, convert in (
        ("polars", "polars", status.to_polars),
        ("pandas", "pandas", status.to_pandas),
        ("pyarrow", "arrow", status.to_arrow),
    ):
        monkeypatch.setitem(sys.modules, module, None)
        with pytest.raises(minerwatch.InputError, match=rf"minerwatch\[{extra}\]"):
            convert()
    out = tmp_path / "d.parquet"
    proc = _cli(
        "export",
        "daily",
        "--format",
        "parquet",
        "--out",
        str(out),
        "--db",
        str(loaded_db),
        pre=_hide("pyarrow"),
    )
    assert proc.returncode == 2 and "minerwatch[arrow]" in proc.stderr
    assert not out.exists() and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "no table 'nope'"),
        (["daily", "--from", "2025-10-07", "--to", "2025-10-01"], "after --to"),
        (["daily", "--from", "2025-13-01"], "--from '2025-13-01' is not a date"),
        (["daily", "--as-of", "2030-01-01"], "outside the data"),
        (["daily", "--to", "2008-01-01"], "before the first day held"),
        (["daily", "--format", "xlsx"], "--format 'xlsx' is not one of csv, json, parquet"),
        (["daily", "--format", "parquet"], "needs a file"),
        (["prices", "--out", "/nonexistent/dir/p.csv"], "cannot write"),
    ],
)
def test_export_errors_exit_2(loaded_db, args, message):
    proc = _cli("export", *args, "--db", str(loaded_db))
    assert proc.returncode == 2, proc.stdout[:200]
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_json_has_nulls_not_nan(loaded_db):
    text = export_table(loaded_db, "daily", end="2009-01-10").to_json()
    assert "NaN" not in text
    rows = json.loads(text)
    assert rows[0]["price_usd"] is None and rows[0]["hashrate_hs_7d"] is None
    assert all(not isinstance(v, float) or math.isfinite(v) for r in rows for v in r.values())


def test_stored_tables_export_without_chain_data(tmp_path, epochs_csv):
    db = tmp_path / "epochs_only.duckdb"
    with minerwatch.open_store(db) as store:
        minerwatch.import_epochs(store, epochs_csv)
    epochs = export_table(db, "epochs", end="2009-02-01")
    assert epochs.columns["start_height"].tolist() == [0, 2016]
    prices = export_table(db, "prices")
    assert len(prices) == 0 and prices.to_csv() == "date,close_usd,source\n"
    with pytest.raises(minerwatch.InputError, match="no chain data"):
        export_table(db, "daily")
