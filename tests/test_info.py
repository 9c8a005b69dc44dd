"""`minerwatch info`: what the database holds, checked against an independent read of the
source files it was loaded from."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

import minerwatch


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "minerwatch", *args], capture_output=True, text=True, timeout=120
    )


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _utc_day(unix_s: str) -> str:
    return datetime.fromtimestamp(int(unix_s), UTC).date().isoformat()


def test_info_tables_match_the_source_files(loaded_db, cm_rows, epochs_csv):
    info = minerwatch.info(loaded_db)
    chain = info.tables["chain_daily"]
    days = [r["time"] for r in cm_rows]
    assert (chain.rows, chain.unit, chain.first, chain.last) == (
        len(cm_rows),
        "day",
        min(days),
        max(days),
    )
    assert list(chain.sources) == ["coinmetrics"]
    assert chain.sources["coinmetrics"]["rows"] == len(cm_rows)
    priced = [r["time"] for r in cm_rows if r["PriceUSD"]]
    prices = info.tables["prices"]
    span_days = (np.datetime64(max(priced)) - np.datetime64(min(priced))).astype(int) + 1
    assert prices.sources == {
        "coinmetrics": {
            "rows": len(priced),
            "first": min(priced),
            "last": max(priced),
            "missing": span_days - len(priced),
        }
    }
    assert (prices.rows, prices.first, prices.last) == (len(priced), min(priced), max(priced))

    epochs = _rows(epochs_csv)
    heights = [int(r["start_height"]) for r in epochs]
    times = [int(r["start_time"]) for r in epochs if r["start_time"]]
    ep = info.tables["epochs"]
    assert (ep.rows, ep.unit, ep.first, ep.last) == (len(epochs), "height", 0, max(heights))
    assert (ep.first_day, ep.last_day) == (_utc_day(min(times)), _utc_day(max(times)))
    assert info.tables["blocks"].rows == 0 and info.tables["blocks"].first is None


def test_info_blocks_sources_size_and_schema(blocks_db, blocks_csv):
    info = minerwatch.info(blocks_db)
    rows = _rows(blocks_csv)
    heights = [int(r["height"]) for r in rows]
    times = [int(r["time"]) for r in rows]
    blocks = info.tables["blocks"]
    assert (blocks.rows, blocks.first, blocks.last) == (len(rows), min(heights), max(heights))
    assert (blocks.first_day, blocks.last_day) == (
        _utc_day(min(times)),
        _utc_day(max(times)),
    )
    assert info.file_size_bytes == Path(blocks_db).stat().st_size > 0
    assert info.path == str(Path(blocks_db).resolve())
    with minerwatch.open_store(blocks_db, read_only=True) as store:
        (version,) = store.con.execute("SELECT max(version) FROM schema_version").fetchone()
    assert info.schema_version == version
    assert info.reorgs == [] and "reorgs" in info.to_dict()
    assert info.last_import["table"] == "blocks"
    assert info.last_import["origin"].endswith(blocks_csv.name)
    assert info.sync == {}


def test_info_shows_the_last_sync(loaded_db, tmp_path):
    db = tmp_path / "synced.duckdb"
    shutil.copy(loaded_db, db)
    with minerwatch.open_store(db) as store:
        store.set_sync_state("coinmetrics", np.datetime64("2025-12-31"))
    info = minerwatch.info(db)
    assert info.sync["coinmetrics"]["last_day"] == "2025-12-31"
    assert info.sync["coinmetrics"]["updated_at"][:4].isdigit()


def test_info_cli_json_is_the_library_dict(blocks_db):
    proc = _cli("info", "--json", "--db", str(blocks_db))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == minerwatch.info(blocks_db).to_dict()
    text = _cli("info", "--db", str(blocks_db))
    assert text.returncode == 0, text.stderr
    assert "blocks" in text.stdout and "reorgs seen: 0" in text.stdout


def test_info_without_a_database_exits_2(tmp_path):
    proc = _cli("info", "--db", str(tmp_path / "none.duckdb"))
    assert proc.returncode == 2
    assert "no database" in proc.stderr and "Traceback" not in proc.stderr
    with pytest.raises(minerwatch.InputError, match="no database"):
        minerwatch.info(tmp_path / "none.duckdb")


def test_info_terminal_shows_every_table_and_the_last_write(cli, blocks_db):
    doc = json.loads(cli("info", "--json", "--db", blocks_db).stdout)
    text = cli("info", "--db", blocks_db)
    assert text.returncode == 0
    for name, table in doc["tables"].items():
        line = next(row for row in text.stdout.splitlines() if row.strip().startswith(name))
        assert f"{table['rows']:,}" in line and str(table["last_day"]) in line
    assert "last sync: never" in text.stdout and "reorgs seen: 0" in text.stdout
    assert f"schema version {doc['schema_version']}" in text.stdout


def _tables(info) -> dict:
    return info.to_dict()["tables"]


def test_info_as_of_a_day_is_the_info_of_a_database_cut_there(loaded_db, db_to_2022_11_21):
    """As of 2022-11-21 the whole history's tables (rows, ranges, sources, gaps) are those
    of a database that held only what was known by that day's end."""
    cut = minerwatch.info(loaded_db, as_of="2022-11-21")
    assert cut.as_of == "2022-11-21" and minerwatch.info(loaded_db).as_of is None
    assert _tables(cut) == _tables(minerwatch.info(db_to_2022_11_21))
    assert _tables(cut) != _tables(minerwatch.info(loaded_db))


def test_info_as_of_cuts_the_blocks_at_the_days_end(blocks_db, blocks_csv):
    rows = _rows(blocks_csv)
    day = _utc_day(rows[len(rows) // 2]["time"])
    known = [r for r in rows if _utc_day(r["time"]) <= day]
    blocks = minerwatch.info(blocks_db, as_of=day).tables["blocks"]
    heights = [int(r["height"]) for r in known]
    assert (blocks.rows, blocks.first, blocks.last) == (len(known), min(heights), max(heights))
    assert blocks.last_day == day and 0 < len(known) < len(rows)
    assert minerwatch.info(blocks_db, as_of="2025-01-01").tables["blocks"].rows == 0


def _runs(missing: list[int]) -> list[tuple[int, int, int]]:
    """Runs of consecutive integers as (first, last, n)."""
    runs: list[list[int]] = []
    for v in sorted(missing):
        if runs and v - runs[-1][1] == 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    return [(a, b, b - a + 1) for a, b in runs]


def test_info_lists_the_gaps_a_database_has(blocks_db, blocks_csv, cm_rows, tmp_path):
    """Days, epochs and blocks taken out of a copy are listed as runs, oldest first; the
    same gaps as of a day before the last ones leave those out."""
    db = tmp_path / "holes.duckdb"
    shutil.copy(blocks_db, db)
    days = [r["time"] for r in cm_rows]
    gone_days = [days[100], days[101], days[102], days[2000], days[-2]]
    heights = [int(r["height"]) for r in _rows(blocks_csv)]
    gone_blocks = [heights[5], heights[6], heights[1000]]
    gone_epoch = 2016 * 5
    with minerwatch.open_store(db) as store:
        store.con.execute("DELETE FROM chain_daily WHERE CAST(day AS VARCHAR) IN ?", [gone_days])
        store.con.execute("DELETE FROM blocks WHERE height IN ?", [gone_blocks])
        store.con.execute("DELETE FROM epochs WHERE start_height = ?", [gone_epoch])
    info = minerwatch.info(db)
    chain = info.tables["chain_daily"]
    day_n = [int(np.datetime64(d, "D").astype(np.int64)) for d in gone_days]
    want_days = [
        {"first": str(np.datetime64(a, "D")), "last": str(np.datetime64(b, "D")), "count": n}
        for a, b, n in _runs(day_n)
    ]
    assert chain.gaps == want_days and chain.missing == len(gone_days)
    assert chain.sources["coinmetrics"]["missing"] == len(gone_days)
    assert info.tables["blocks"].gaps == [
        {"first": a, "last": b, "count": n} for a, b, n in _runs(gone_blocks)
    ]
    assert info.tables["epochs"].gaps == [{"first": gone_epoch, "last": gone_epoch, "count": 1}]
    assert info.tables["prices"].gaps == []
    before = minerwatch.info(db, as_of=days[1500]).tables["chain_daily"]
    assert before.gaps == want_days[:1] and before.missing == 3
    text = _cli("info", "--db", str(db))
    assert text.returncode == 0, text.stderr
    assert f"chain_daily: {len(gone_days)} days missing, in {len(want_days)} gaps" in text.stdout
    assert f"  {gone_days[0]} to {gone_days[2]} (3)" in text.stdout
    assert f"  {heights[1000]:,} (1)" in text.stdout and "epochs: 1 epoch missing" in text.stdout


def test_info_cli_as_of(loaded_db):
    proc = _cli("info", "--json", "--db", str(loaded_db), "--as-of", "2022-11-21")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == minerwatch.info(loaded_db, "2022-11-21").to_dict()
    text = _cli("info", "--db", str(loaded_db), "--as-of", "2022-11-21")
    assert "as of 2022-11-21" in " ".join(text.stdout.split())
    bad = _cli("info", "--db", str(loaded_db), "--as-of", "2022-11")
    assert bad.returncode == 2 and "--as-of '2022-11' is not a date" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_info_times_are_utc_whatever_the_machines_zone(blocks_csv, tmp_path):
    """A write's time is kept and shown in UTC when the writer's zone is far from it."""
    db = tmp_path / "zoned.duckdb"
    env = {**os.environ, "TZ": "Pacific/Kiritimati"}  # UTC+14
    before = datetime.now(UTC).replace(microsecond=0)
    done = subprocess.run(
        [sys.executable, "-m", "minerwatch", "import", "blocks", str(blocks_csv), "--db", str(db)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    after = datetime.now(UTC)
    shown = subprocess.run(
        [sys.executable, "-m", "minerwatch", "info", "--json", "--db", str(db)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "TZ": "America/Anchorage"},
    )  # fmt: skip
    at = datetime.fromisoformat(json.loads(shown.stdout)["last_import"]["at"]).replace(tzinfo=UTC)
    assert before <= at <= after


def test_as_of_cuts_headers_out_of_order_and_the_days_last_second(blocks_db, tmp_path):
    """Header times are not monotonic: a block stamped after the day's end below one
    stamped before it is not a gap of that day; a write at 23:59:59.4 is of that day."""
    db = tmp_path / "order.duckdb"
    shutil.copy(blocks_db, db)
    end_s = int(np.datetime64("2025-10-02", "s").astype(np.int64))  # the end of 2025-10-01
    with minerwatch.open_store(db) as store:
        (h,) = store.con.execute(
            "SELECT max(height) FROM blocks WHERE time < ?", [end_s]
        ).fetchone()
        store.con.execute("UPDATE blocks SET time = ? WHERE height = ?", [end_s + 100, h - 1])
        store.con.execute("UPDATE blocks SET time = ? WHERE height = ?", [end_s - 50, h])
        store.con.execute(
            "UPDATE imports SET imported_at = TIMESTAMP '2025-10-01 23:59:59.4' "
            "WHERE id = (SELECT max(id) FROM imports)"
        )
    day = minerwatch.info(db, as_of="2025-10-01")
    blocks = day.tables["blocks"]
    assert blocks.gaps == [] and blocks.last == h
    assert day.last_import["at"] == "2025-10-01 23:59:59"
    assert minerwatch.info(db, as_of="2025-09-30").last_import is None
