"""Shared fixtures: the real data set beside the repository, and fresh stores."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("MINERWATCH_TEST_DATA", REPO_ROOT.parent / "shared" / "data"))


def _require(path: Path) -> Path:
    if not path.exists():
        # Fail, never skip: a test run without the real data proves nothing.
        pytest.fail(
            f"test data not found: {path} (expected the shared data set at "
            f"{DATA_DIR}; set MINERWATCH_TEST_DATA to its folder)",
            pytrace=False,
        )
    return path


@dataclass(frozen=True)
class CliResult:
    """What one command line printed, and its exit code (named as a finished process's)."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def cli():
    """Run one minerwatch command line in this process: ``cli("status", "--json")`` gives a
    :class:`CliResult`.

    It calls :func:`minerwatch.cli.run`, the function the console script runs, inside Typer's
    ``CliRunner`` isolation: stdin, stdout and stderr captured, and ``env`` (name -> value;
    None unsets it) set in ``os.environ`` for the run only.
    """
    from typer.testing import CliRunner

    from minerwatch.cli import run

    runner = CliRunner()

    def invoke(*args: object, env: dict[str, str | None] | None = None) -> CliResult:
        with runner.isolation(env=env) as (stdout, stderr, _):
            code = run([str(a) for a in args])
            sys.stdout.flush()
            sys.stderr.flush()
            return CliResult(code, stdout.getvalue().decode(), stderr.getvalue().decode())

    return invoke


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return _require(DATA_DIR)


@pytest.fixture(scope="session")
def coinmetrics_csv(data_dir: Path) -> Path:
    return _require(data_dir / "coinmetrics_btc.csv")


@pytest.fixture(scope="session")
def prices_csv(data_dir: Path) -> Path:
    return _require(data_dir / "prices_btcusd_daily.csv")


@pytest.fixture(scope="session")
def epochs_csv(data_dir: Path) -> Path:
    return _require(data_dir / "difficulty_epochs.csv")


@pytest.fixture(scope="session")
def blocks_csv(data_dir: Path) -> Path:
    return _require(data_dir / "blocks_915264_919296.csv")


@pytest.fixture(scope="session")
def loaded_db(tmp_path_factory, coinmetrics_csv: Path, epochs_csv: Path) -> Path:
    """A database holding the real Coin Metrics history and difficulty epochs (read it only)."""
    import minerwatch

    path = tmp_path_factory.mktemp("db") / "loaded.duckdb"
    with minerwatch.open_store(path) as store:
        minerwatch.import_coinmetrics(store, coinmetrics_csv)
        minerwatch.import_epochs(store, epochs_csv)
    return path


@pytest.fixture(scope="session")
def cm_rows(coinmetrics_csv: Path) -> list[dict[str, str]]:
    """The Coin Metrics CSV as plain dicts, read independently of minerwatch."""
    import csv

    with open(coinmetrics_csv, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="session")
def blocks_db(tmp_path_factory, coinmetrics_csv: Path, epochs_csv: Path, blocks_csv: Path) -> Path:
    """Coin Metrics, the epochs and the blocks file, imported (read it only)."""
    import minerwatch

    path = tmp_path_factory.mktemp("blocks") / "blocks.duckdb"
    with minerwatch.open_store(path) as store:
        minerwatch.import_coinmetrics(store, coinmetrics_csv)
        minerwatch.import_epochs(store, epochs_csv)
        minerwatch.import_blocks(store, blocks_csv)
    return path


# The end of 2022-11-21 (UTC), unix seconds: nothing stamped from then on was known that day.
END_OF_2022_11_21 = 1_669_075_200


@pytest.fixture(scope="session")
def db_to_2022_11_21(tmp_path_factory, coinmetrics_csv: Path, epochs_csv: Path) -> Path:
    """A database holding what a user had on 2022-11-21: the Coin Metrics history up to that
    day and the epochs that had begun by its end (epoch 0, which has no start time, and
    every epoch whose first block is stamped before midnight), to check that nothing later
    is read."""
    import csv

    import minerwatch

    lines = coinmetrics_csv.read_text().splitlines(keepends=True)
    kept = [lines[0]] + [line for line in lines[1:] if line[:10] <= "2022-11-21"]
    folder = tmp_path_factory.mktemp("to_2022_11_21")
    csv_path = folder / "btc_to_2022-11-21.csv"
    csv_path.write_text("".join(kept))
    epochs_path = folder / "epochs_to_2022-11-21.csv"
    with open(epochs_csv, newline="") as f, open(epochs_path, "w", newline="") as out:
        reader = csv.DictReader(f)
        writer = csv.DictWriter(out, reader.fieldnames)
        writer.writeheader()
        rows = list(reader)
        started = [
            r
            for r in rows
            if r["start_height"] == "0"
            or (r["start_time"] and int(r["start_time"]) < END_OF_2022_11_21)
        ]
        assert len(started) < len(rows)  # later epochs are cut off
        writer.writerows(started)
    path = folder / "to_2022_11_21.duckdb"
    with minerwatch.open_store(path) as store:
        minerwatch.import_coinmetrics(store, csv_path)
        minerwatch.import_epochs(store, epochs_path)
    return path


# A made-up Coin Metrics file: SYNTHETIC_DAYS days from the genesis day, 144 blocks of
# 50 BTC a day at a steady hashrate, no close on the first SYNTHETIC_UNPRICED_DAYS days.
SYNTHETIC_DAYS = 60
SYNTHETIC_UNPRICED_DAYS = 30


@pytest.fixture(scope="session")
def synthetic_csv(tmp_path_factory) -> Path:
    import numpy as np

    days = np.datetime64("2009-01-03") + np.arange(SYNTHETIC_DAYS)
    lines = ["time,BlkCnt,FeeTotNtv,IssTotNtv,HashRate,PriceUSD,SplyCur"]
    for i, day in enumerate(days):
        price = "" if i < SYNTHETIC_UNPRICED_DAYS else f"{0.05 + 0.001 * i:.3f}"
        lines.append(f"{day},144,0.01,7200,7.2,{price},{7200 * (i + 1)}")
    path = tmp_path_factory.mktemp("synthetic") / "synthetic.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def synthetic_db(synthetic_csv: Path) -> Path:
    """A small store of made-up days (see :data:`SYNTHETIC_DAYS`) for fast edge cases: it
    opens in milliseconds (read it only; copy it to change it)."""
    import minerwatch

    path = synthetic_csv.with_suffix(".duckdb")
    with minerwatch.open_store(path) as store:
        minerwatch.import_coinmetrics(store, synthetic_csv)
    return path


@pytest.fixture
def bitcoind():
    """Start stand-in Bitcoin Core nodes (``tests/standins/bitcoind.py``) on 127.0.0.1:
    ``bitcoind(chain=None, **switches)`` gives a running :class:`StandinNode` (default chain:
    mainnet-like, heights 0 to 600); every node started is stopped after the test."""
    from standins.bitcoind import StandinChain, StandinNode

    started = []

    def start(chain=None, **switches):
        node = StandinNode(chain or StandinChain.mainnet_like(600), **switches).start()
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()
