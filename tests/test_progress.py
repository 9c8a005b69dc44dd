"""Progress of long steps: on stderr only, shown on a terminal, elsewhere only with
``--progress`` (before or after the command), never mixed into stdout or ``--json``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture()
def epochs_db(tmp_path: Path, epochs_csv: Path) -> Path:
    """A fresh database holding the real epochs (for a blocks import to check against)."""
    import minerwatch

    path = tmp_path / "epochs.duckdb"
    with minerwatch.open_store(path) as store:
        minerwatch.import_epochs(store, epochs_csv)
    return path


def _copy(db: Path, name: str) -> str:
    return str(shutil.copy(db, db.with_name(name)))


def test_import_progress_lines_only_with_the_option(cli, epochs_db: Path, blocks_csv: Path):
    quiet = cli("import", "blocks", blocks_csv, "--db", _copy(epochs_db, "a.duckdb"))
    after = cli("import", "blocks", blocks_csv, "--db", _copy(epochs_db, "b.duckdb"), "--progress")
    before = cli("--progress", "import", "blocks", blocks_csv, "--db", _copy(epochs_db, "c.duckdb"))
    assert quiet.returncode == after.returncode == before.returncode == 0
    assert quiet.stderr == ""  # the test's stderr is no terminal: silent by default
    assert after.stdout == quiet.stdout == before.stdout  # stdout as without progress
    lines = after.stderr.splitlines()
    assert lines[:3] == [
        f"import: reading {blocks_csv}",
        "import: checking 4,033 blocks against the epochs and blocks held",
        "import: writing 4,033 blocks",
    ]
    assert lines[3].startswith("import: done in ") and lines[3].endswith(" s")
    assert before.stderr.splitlines()[:3] == lines[:3]


def test_json_output_unchanged_by_progress(cli, loaded_db: Path):
    plain = cli("backtest", "difficulty", "--json", "--db", loaded_db)
    shown = cli("backtest", "difficulty", "--json", "--progress", "--db", loaded_db)
    assert plain.returncode == shown.returncode == 0
    assert shown.stdout == plain.stdout
    json.loads(shown.stdout)
    assert plain.stderr == ""
    assert shown.stderr.splitlines()[0] == (
        "backtest difficulty: forecasting every epoch the data allows"
    )


def test_failed_import_names_its_error_after_the_steps(cli, epochs_db: Path, tmp_path: Path):
    bad = tmp_path / "bad.csv"
    bad.write_text("height,time\n0,1231006505\n1,12x\n")
    result = cli("import", "blocks", bad, "--db", epochs_db, "--progress")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"import: reading {bad}"
    assert "done in" not in result.stderr  # a failed step is not reported as done
    assert lines[-1].startswith(f"error: {bad}, line 3, column 'time': '12x' is not")


def test_progress_in_a_separate_process(epochs_db: Path, blocks_csv: Path):
    """The console script with stderr a pipe (no terminal): progress lines only with
    ``--progress``, stdout the same either way."""

    def run(db: str, *extra: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "minerwatch", *extra, "import", "blocks", str(blocks_csv)]
        return subprocess.run(
            [*argv, "--db", db], capture_output=True, text=True, timeout=120, check=True
        )

    quiet = run(_copy(epochs_db, "q.duckdb"))
    shown = run(_copy(epochs_db, "s.duckdb"), "--progress")
    assert quiet.stderr == ""
    assert shown.stdout == quiet.stdout
    assert shown.stderr.startswith(f"import: reading {blocks_csv}\n")
    assert "import: writing 4,033 blocks\n" in shown.stderr
