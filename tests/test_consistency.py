"""One height, one interval, one count per figure: every command reads the day's height
from the same function, and a day's figures do not depend on whether later data exists."""

from __future__ import annotations

import calendar
import csv
import json
import shutil

import pytest

import minerwatch

DAY = "2025-10-06"


def _end_of(day: str) -> int:
    return calendar.timegm(tuple(int(x) for x in day.split("-")) + (0, 0, 0)) + 86_400


# The blocks cover a day whole once 6 of the last 11 are stamped after it (docs/data.md):
# the file cut this long after the day's end holds it whole, its blocks well below the tip.
WHOLE_AFTER_S = 2 * 3600


@pytest.fixture()
def blocks_through_day(tmp_path, loaded_db, blocks_csv):
    """A copy of the Coin Metrics + epochs database, the blocks file cut 2 hours after the
    end of DAY (DAY is then a blocks day), and the whole file."""
    db = tmp_path / "db.duckdb"
    shutil.copy(loaded_db, db)
    with open(blocks_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    end = _end_of(DAY) + WHOLE_AFTER_S
    cut = tmp_path / "blocks_to_day.csv"
    with open(cut, "w", newline="") as f:
        writer = csv.DictWriter(f, rows[0].keys())
        writer.writeheader()
        writer.writerows(r for r in rows if int(r["time"]) < end)
    return db, cut, blocks_csv


def test_a_days_status_does_not_change_when_the_next_days_blocks_arrive(cli, blocks_through_day):
    db, cut, whole = blocks_through_day
    assert cli("import", "blocks", cut, "--db", db).returncode == 0
    before = cli("status", "--as-of", DAY, "--json", "--db", db)
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["block_intervals"]["source"] == "blocks"
    assert json.loads(before.stdout)["sources"]["blocks_1d"] == "blocks"
    assert cli("import", "blocks", whole, "--db", db).returncode == 0
    after = cli("status", "--as-of", DAY, "--json", "--db", db)
    assert after.stdout == before.stdout


@pytest.mark.parametrize("db", ["loaded_db", "blocks_db"])
@pytest.mark.parametrize("day", ["2022-11-21", DAY])
def test_every_command_uses_one_height(request, db, day):
    path = request.getfixturevalue(db)
    status = minerwatch.status(path, day)
    outlook = minerwatch.difficulty_outlook(path, day)
    brief = minerwatch.brief(path, day)
    na = status.next_adjustment
    assert status.height == outlook.height
    assert na is not None and na.height - na.blocks_remaining == status.height
    assert brief.figures["next_adjustment"] == na == outlook.next_adjustment
    # The epoch's mean interval is one figure too.
    assert status.block_intervals.epoch.mean_min == pytest.approx(
        outlook.interval_min_epoch, abs=5e-4
    )


def test_with_blocks_the_height_is_the_last_block_of_the_day(blocks_db, blocks_csv):
    with open(blocks_csv, newline="") as f:
        last = max(int(r["height"]) for r in csv.DictReader(f) if int(r["time"]) < _end_of(DAY))
    assert minerwatch.status(blocks_db, DAY).height == last
