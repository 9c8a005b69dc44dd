"""`minerwatch info`: what the database holds, checked against an independent read of the
source files it was loaded from."""

from __future__ import annotations

import csv
import json
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
    assert prices.sources == {
        "coinmetrics": {"rows": len(priced), "first": min(priced), "last": max(priced)}
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
