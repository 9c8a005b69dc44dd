"""Importing per-block files: the real block file, idempotency, reorgs, bad input."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import pytest

import minerwatch
from minerwatch.errors import InputError
from minerwatch.sources import blocks as block_files

# Compact bits of the three epochs the real block file touches (Bitcoin Core prints them as
# getblockheader's "bits"), and their difficulties as in the epochs file.
BITS_915264, D_915264 = 0x1701FA38, 142342602928674.94
BITS_917280, D_917280 = 0x1701DDB4, 150839487445890.5
BITS_919296, D_919296 = 0x1701EB21, 146716052770107.47


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def _write_rows(path: Path, rows: list[dict[str, str]], columns=("height", "time")) -> Path:
    lines = [",".join(columns)] + [",".join(str(r[c]) for c in columns) for r in rows]
    return _write(path, "\n".join(lines) + "\n")


@pytest.fixture
def db_with_epochs(tmp_path, epochs_csv) -> Path:
    path = tmp_path / "db.duckdb"
    with minerwatch.open_store(path) as store:
        minerwatch.import_epochs(store, epochs_csv)
    return path


def _stored(db: Path, **cut) -> dict[str, np.ndarray]:
    with minerwatch.open_store(db, read_only=True) as store:
        return store.read_blocks(**cut)


def test_real_file_imports_with_difficulty_from_epochs(db_with_epochs, blocks_csv):
    rows = _rows(blocks_csv)
    with minerwatch.open_store(db_with_epochs) as store:
        report = minerwatch.import_blocks(store, blocks_csv)
        assert store.block_height_range() == (915264, 919296)
    assert report.rows_read == len(rows) == 4033
    assert (report.first, report.last) == ("915264", "919296")
    assert report.writes[0].new == 4033
    assert any("filled from the epochs table" in n for n in report.notes)
    b = _stored(db_with_epochs)
    assert b["height"].tolist() == [int(r["height"]) for r in rows]
    assert b["time"].tolist() == [int(r["time"]) for r in rows]
    # Blocks 915264..917279 carry the first epoch's bits, 917280..919295 the second's,
    # and 919296 opens the third.
    assert set(b["bits"][:2016].tolist()) == {BITS_915264}
    assert set(b["bits"][2016:4032].tolist()) == {BITS_917280}
    assert b["bits"][4032] == BITS_919296
    assert set(b["difficulty"][:2016].tolist()) == {D_915264}
    assert set(b["difficulty"][2016:4032].tolist()) == {D_917280}
    assert b["difficulty"][4032] == D_919296
    # The file has neither fees, subsidy nor pool: unknown.
    assert (b["fees_sat"] == -1).all() and (b["subsidy_sat"] == -1).all()
    assert all(p is None for p in b["pool"])


def test_read_blocks_interface(db_with_epochs, blocks_csv):
    with minerwatch.open_store(db_with_epochs) as store:
        assert store.block_height_range() is None
        empty = store.read_blocks()
        minerwatch.import_blocks(store, blocks_csv)
        b = store.read_blocks(min_height=917279, max_height=917281)
        cut = store.read_blocks(max_time=1758207076)
        assert store.block_height_range(max_time=1758207076) == (915264, 915265)
    assert set(empty) == set(b) == {
        "height", "time", "bits", "difficulty", "fees_sat", "subsidy_sat", "pool",
    }  # fmt: skip
    assert len(empty["height"]) == 0
    dtypes = {k: v.dtype for k, v in b.items()}
    assert dtypes == {
        "height": np.int64, "time": np.int64, "bits": np.int64, "difficulty": np.float64,
        "fees_sat": np.int64, "subsidy_sat": np.int64, "pool": np.dtype(object),
    }  # fmt: skip
    assert b["height"].tolist() == [917279, 917280, 917281]
    assert b["bits"].tolist() == [BITS_915264, BITS_917280, BITS_917280]
    assert cut["height"].tolist() == [915264, 915265]


def test_without_epochs_difficulty_stays_unknown_until_reimported(tmp_path, blocks_csv, epochs_csv):
    db = tmp_path / "db.duckdb"
    with minerwatch.open_store(db) as store:
        first = minerwatch.import_blocks(store, blocks_csv)
        b = store.read_blocks()
        minerwatch.import_epochs(store, epochs_csv)
        again = minerwatch.import_blocks(store, blocks_csv)
        filled = store.read_blocks()
    assert any("epochs table does not hold" in n for n in first.notes)
    assert (b["bits"] == -1).all() and np.isnan(b["difficulty"]).all()
    # Filling an unknown value is a change, never a conflict.
    assert (again.writes[0].new, again.writes[0].changed) == (0, 4033)
    assert filled["difficulty"][0] == D_915264


def test_reimport_changes_nothing(db_with_epochs, blocks_csv):
    with minerwatch.open_store(db_with_epochs) as store:
        minerwatch.import_blocks(store, blocks_csv)
        before = store.read_blocks()
        again = minerwatch.import_blocks(store, blocks_csv)
        after = store.read_blocks()
        log = store.import_log()
    w = again.writes[0]
    assert (w.new, w.changed, w.unchanged, w.removed) == (0, 0, 4033, 0)
    for k in before:
        np.testing.assert_array_equal(before[k], after[k])
    assert [row[2] for row in log[-2:]] == ["blocks", "blocks"]
    assert log[-1][4:] == (0, 0, 4033)


def test_overlapping_ranges_merge(tmp_path, db_with_epochs, blocks_csv):
    rows = _rows(blocks_csv)
    early = _write_rows(tmp_path / "early.csv", rows[:2000])
    late = _write_rows(tmp_path / "late.csv", rows[1500:])
    with minerwatch.open_store(db_with_epochs) as store:
        a = minerwatch.import_blocks(store, early)
        b = minerwatch.import_blocks(store, late)
        assert store.block_height_range() == (915264, 919296)
    assert a.writes[0].new == 2000
    assert (b.writes[0].new, b.writes[0].unchanged) == (4033 - 2000, 500)
    assert _stored(db_with_epochs)["time"].tolist() == [int(r["time"]) for r in rows]


def test_file_leaving_a_gap_after_the_blocks_held_is_refused(tmp_path, db_with_epochs, blocks_csv):
    rows = _rows(blocks_csv)
    with minerwatch.open_store(db_with_epochs) as store:
        minerwatch.import_blocks(store, _write_rows(tmp_path / "a.csv", rows[:100]))
        with pytest.raises(InputError, match="heights 915364 to 915399 would be missing"):
            minerwatch.import_blocks(store, _write_rows(tmp_path / "b.csv", rows[136:200]))
        assert store.block_height_range() == (915264, 915363)


def test_conflicting_block_exits_2_naming_height_and_values(
    cli, tmp_path, db_with_epochs, blocks_csv
):
    rows = _rows(blocks_csv)
    with minerwatch.open_store(db_with_epochs) as store:
        minerwatch.import_blocks(store, blocks_csv)
    before = _stored(db_with_epochs)
    changed = [dict(r) for r in rows[-10:]]
    changed[-3]["time"] = str(int(changed[-3]["time"]) + 7)  # block 919294
    path = _write_rows(tmp_path / "fork.csv", changed)
    result = cli("import", "blocks", str(path), "--db", str(db_with_epochs))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "block 919294" in result.stderr
    assert "1760592202 stored" in result.stderr and "1760592209 given" in result.stderr
    assert "--replace" in result.stderr and str(path) in result.stderr
    after = _stored(db_with_epochs)
    for k in before:
        np.testing.assert_array_equal(before[k], after[k])


def test_replace_reorgs_the_last_three_blocks(cli, tmp_path, db_with_epochs, blocks_csv):
    rows = _rows(blocks_csv)
    with minerwatch.open_store(db_with_epochs) as store:
        minerwatch.import_blocks(store, blocks_csv)
    # The new branch: blocks 919294..919296 with other times, on top of 919290..919293.
    branch = [dict(r) for r in rows[-7:]]
    for r, t in zip(branch[-3:], (1760592300, 1760592900, 1760593500), strict=True):
        r["time"] = str(t)
    path = _write_rows(tmp_path / "reorg.csv", branch)
    result = cli("import", "blocks", str(path), "--replace", "--db", str(db_with_epochs))
    assert result.returncode == 0, result.stderr
    b = _stored(db_with_epochs, min_height=919289)
    assert b["height"].tolist() == list(range(919289, 919297))
    assert b["time"].tolist() == [int(rows[-8]["time"])] + [int(r["time"]) for r in branch]
    assert b["bits"][-1] == BITS_919296
    # Below the fork nothing moved.
    assert _stored(db_with_epochs, max_height=919293)["time"].tolist() == [
        int(r["time"]) for r in rows[:-3]
    ]


def test_replace_with_a_shorter_branch_removes_the_blocks_above(
    tmp_path, db_with_epochs, blocks_csv
):
    rows = _rows(blocks_csv)
    with minerwatch.open_store(db_with_epochs) as store:
        minerwatch.import_blocks(store, blocks_csv)
        branch = [dict(r) for r in rows[-3:-1]]  # 919294, 919295
        branch[0]["time"] = "1760592300"
        path = _write_rows(tmp_path / "short.csv", branch)
        report = minerwatch.import_blocks(store, path, replace=True)
        assert store.block_height_range() == (915264, 919295)
    w = report.writes[0]
    assert (w.new, w.changed, w.unchanged, w.removed) == (0, 1, 1, 1)
    assert any("reorg" in n for n in report.notes)


def test_replace_without_a_conflict_is_a_plain_upsert(db_with_epochs, blocks_csv):
    with minerwatch.open_store(db_with_epochs) as store:
        minerwatch.import_blocks(store, blocks_csv)
        again = minerwatch.import_blocks(store, blocks_csv, replace=True)
    assert (again.writes[0].unchanged, again.writes[0].removed) == (4033, 0)


def test_values_of_every_form_agree(tmp_path):
    path = _write(
        tmp_path / "b.csv",
        "height,time,bits,fees_sat,subsidy_sat,pool\n"
        "917280,1759348633,1701ddb4,1500,312500000,Foundry USA\n"
        "917281,2025-10-01T19:58:00Z,0x1701DDB4,,312500000,\n"
        "917282,2025-10-01 20:05:07+00:00,385998260,0,,AntPool\n"
        "917282,2025-10-01T20:05:07,0x1701ddb4,0,,AntPool\n",
    )
    b = block_files.read_blocks_csv(path)
    assert b.height.tolist() == [917280, 917281, 917282]
    assert b.time.tolist() == [1759348633, 1759348680, 1759349107]
    assert b.bits.tolist() == [BITS_917280] * 3
    assert b.difficulty.tolist() == [D_917280] * 3
    assert b.fees_sat.tolist() == [1500, -1, 0]
    assert b.subsidy_sat.tolist() == [312500000, 312500000, -1]
    assert b.pool.tolist() == ["Foundry USA", None, "AntPool"]
    assert any("identical duplicate" in n for n in b.notes)


def test_difficulty_column_gives_bits(tmp_path):
    path = _write(
        tmp_path / "b.csv",
        f"height,time,difficulty\n917279,1759348314,{D_915264!r}\n917280,1759348633,{D_917280!r}\n",
    )
    b = block_files.read_blocks_csv(path)
    assert b.bits.tolist() == [BITS_915264, BITS_917280]


def test_bits_disagreeing_with_epochs_table_name_the_height(tmp_path, db_with_epochs):
    path = _write(tmp_path / "b.csv", "height,time,bits\n917280,1759348633,1701fa38\n")
    with minerwatch.open_store(db_with_epochs) as store:
        with pytest.raises(InputError) as info:
            minerwatch.import_blocks(store, path)
        assert store.block_height_range() is None
    assert (info.value.line, info.value.column) == (2, "bits")
    assert "block 917280" in str(info.value) and "0x1701ddb4" in str(info.value)


# Rounded down to 10 minutes, so that test workers importing this a second apart collect the
# same test ids (pytest-xdist compares them); 3 hours ahead stays more than 2 hours ahead.
NOW = int(time.time()) // 600 * 600


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("height,time\n915264,1758206848\nabc,1758207076\n", 3, "height", "'abc' is not"),
        ("height,time\n915264,1758206848\n915265,soon\n", 3, "time", "'soon' is not unix"),
        (
            "height,time\n915264,1758206848\n915265,1758207076\n915267,1758209286\n",
            4,
            "height",
            "height 915266 is missing",
        ),
        (
            "height,time\n915264,1758206848\n915270,1758207076\n",
            3,
            "height",
            "heights 915265 to 915269 are missing",
        ),
        (
            f"height,time,bits,difficulty\n917280,1759348633,1701ddb4,{D_915264!r}\n",
            2,
            "difficulty",
            "not of the row's bits 0x1701ddb4",
        ),
        ("height,time\n1,1231006504\n", 2, "time", "genesis"),
        # the id says it: one holding the time would differ between test workers
        pytest.param(
            f"height,time\n915264,{NOW + 3 * 3600}\n", 2, "time", "2 hours", id="future-time"
        ),
        ("height,time\n915264,2025-09-18T14:47:28+02:00\n", 2, "time", "ISO-8601 UTC"),
        ("height,time\n915264,2025-09-18T14:47:28.5Z\n", 2, "time", "ISO-8601 UTC"),
        ("height,time,bits\n915264,1758206848,1d01ffff\n", 2, "bits", "proof-of-work limit"),
        ("height,time,bits\n915264,1758206848,zz\n", 2, "bits", "is not compact bits"),
        ("height,time,bits\n915264,1758206848,1780ffff\n", 2, "bits", "negative"),
        ("height,time,difficulty\n915264,1758206848,1.00001\n", 2, "difficulty", "not a Core"),
        (
            "height,time,bits\n917280,1759348633,1701ddb4\n917281,1759348680,1701fa38\n",
            3,
            "bits",
            "one bits value per epoch",
        ),
        ("height,time,fees_sat\n915264,1758206848,-5\n", 2, "fees_sat", "out of range"),
        (
            "height,time,subsidy_sat\n915264,1758206848,312500001\n",
            2,
            "subsidy_sat",
            "more than the subsidy of height 915264 (312,500,000 sat)",
        ),
        (
            "height,time\n915264,1758206848\n915264,1758206849\n",
            3,
            "time",
            "duplicate height 915264",
        ),
        ("height\n915264\n", 1, None, "header lacks column(s) time"),
    ],
)
def test_bad_block_rows(tmp_path, text, line, column, words):
    path = _write(tmp_path / "b.csv", text)
    with pytest.raises(InputError) as info:
        block_files.read_blocks_csv(path)
    assert (info.value.path, info.value.line, info.value.column) == (str(path), line, column)
    assert words in str(info.value)


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\x01\x02garbage\xff\xfe",
        "height,time\n915264,1758206848\n915266,1758207076\n",
        "height,time\n915264,abc\n",
    ],
    ids=["binary", "gap", "non-numeric"],
)
def test_cli_bad_block_file_exits_2(cli, tmp_path, content):
    path = _write(tmp_path / "x.csv", content)
    result = cli("import", "blocks", str(path), "--db", str(tmp_path / "db.duckdb"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{path}, line " in result.stderr
    if not isinstance(content, bytes):
        assert "column '" in result.stderr


# -- the coinbase and the transaction count (what `export blocks` writes for live blocks) ----

_CB_HEADER = "height,time,bits,tx_count,coinbase_tag,payout_scripts\n"
_SCRIPT = "0014" + "ab" * 20  # a P2WPKH scriptPubKey
_COMMITMENT = "6a24aa21a9ed" + "00" * 32  # the witness commitment output


def _cb_rows(*cells: str) -> str:
    times = (1759348633, 1759348680, 1759349107)
    return _CB_HEADER + "".join(
        f"{917280 + i},{times[i]},1701ddb4,{c}\n" for i, c in enumerate(cells)
    )


def test_coinbases_and_transaction_counts_are_read_and_stored(tmp_path):
    path = _write(
        tmp_path / "b.csv",
        _cb_rows(
            f"3120,03207f0e0c466f756e64727920555341,{_SCRIPT} {_COMMITMENT}",
            ",,",
            f"1,03227f0eAABB,{_SCRIPT.upper()}",
        ),
    )
    b = block_files.read_blocks_csv(path)
    assert b.tx_count.tolist() == [3120, -1, 1]
    assert b.coinbase_tag.tolist() == ["03207f0e0c466f756e64727920555341", None, "03227f0eaabb"]
    assert b.payout_scripts.tolist() == [f"{_SCRIPT} {_COMMITMENT}", None, _SCRIPT]
    db = tmp_path / "c.duckdb"
    with minerwatch.open_store(db) as store:
        report = minerwatch.import_blocks(store, path)
        assert report.writes[0].new == 3
        held = store.read_block_coinbases()
        assert held["height"].tolist() == [917280, 917282]  # the middle row has none
        assert held["payout_scripts"].tolist() == [f"{_SCRIPT} {_COMMITMENT}", _SCRIPT]
        # the same file again changes nothing; a file without the columns erases nothing
        assert minerwatch.import_blocks(store, path).writes[0].unchanged == 3
        plain = _write(
            tmp_path / "p.csv",
            "height,time,bits\n917280,1759348633,1701ddb4\n917281,1759348680,1701ddb4\n"
            "917282,1759349107,1701ddb4\n",
        )
        assert minerwatch.import_blocks(store, plain).writes[0].unchanged == 3
        assert store.read_block_coinbases()["height"].tolist() == [917280, 917282]
        # a new transaction count alone is a change
        again = _write(tmp_path / "n.csv", _cb_rows(",,", "2500,,", ",,"))
        w = minerwatch.import_blocks(store, again).writes[0]
        assert (w.new, w.changed, w.unchanged) == (0, 1, 2)
        rows = store.read_all_blocks()
    assert rows["tx_count"].tolist() == [3120, 2500, 1]


@pytest.mark.parametrize(
    "cells, column, words",
    [
        ("0,03aa,", "tx_count", "a transaction count, 1 to 16,666"),
        ("16667,03aa,", "tx_count", "a transaction count"),
        ("5,03a,", "coinbase_tag", "2 to 100 bytes as hex"),
        ("5,03,", "coinbase_tag", "2 to 100 bytes"),
        (f"5,{'ab' * 101},", "coinbase_tag", "2 to 100 bytes"),
        ("5,03zz,", "coinbase_tag", "is not a coinbase scriptSig"),
        ("5,03aa,00 1", "payout_scripts", "scriptPubKeys of 1 to 10,000 bytes"),
        ("5,03aa,0014g0", "payout_scripts", "is not payout scripts"),
    ],
)
def test_a_bad_coinbase_or_count_names_line_and_column(tmp_path, cells, column, words):
    path = _write(tmp_path / "b.csv", _cb_rows(",,", cells))
    with pytest.raises(InputError, match=words) as raised:
        block_files.read_blocks_csv(path)
    assert (raised.value.line, raised.value.column) == (3, column)


@pytest.mark.parametrize(
    "cell, column",
    [
        ('"abc\ndef0"', "coinbase_tag"),
        ('"aa\nbb"', "payout_scripts"),
        ('"aa\tbb"', "payout_scripts"),
        ("aa  bb", "payout_scripts"),
    ],
)
def test_hex_cells_hold_hex_and_single_spaces_only(tmp_path, cell, column):
    """Quoted cells may hold any character: a line feed or a tab inside a coinbase or its
    scripts is refused, and so is a doubled space (an empty script)."""
    value = f"{cell}," if column == "coinbase_tag" else f"03aa,{cell}"
    path = _write(tmp_path / "b.csv", _cb_rows(",,", f"5,{value}"))
    with pytest.raises(InputError) as raised:
        block_files.read_blocks_csv(path)
    assert raised.value.column == column


def test_a_height_given_twice_is_refused_by_the_store(tmp_path):
    db = tmp_path / "c.duckdb"
    path = _write(tmp_path / "b.csv", _cb_rows(",,", ",,", ",,"))
    with minerwatch.open_store(db) as store:
        minerwatch.import_blocks(store, path)
        with (
            pytest.raises(InputError, match="height 917281 follows height 917281"),
            store.transaction(),
        ):
            store.write_block_coinbases(
                np.array([917281, 917281]), np.array(["03aa", "03bb"], object),
                np.array([None, None], object), np.array([2, 3]), "twice",
            )  # fmt: skip
        assert len(store.read_block_coinbases()["height"]) == 0
