"""Bulk block import beside DuckDB's own ``read_csv`` of the same file.

Usage (from the repository root, with ``pip install -e '.[bench]'`` done)::

    python bench/import_blocks.py [--data DIR] [--rows N] [--reps R] [--keep DIR]

Generates a blocks file ``height,time,bits`` of heights ``0 .. N-1`` (default 930,000) from
the real difficulty epochs (``<data>/difficulty_epochs.csv``) by ``tests/standins/chains.py``:
bits are each epoch's compact target, times the epochs' known start times interpolated
linearly (epoch 0 from the genesis block's time; beyond the last known start, 600 s per
block), so every time rises above the median of the previous 11 and the file passes every
check. The file and the databases live in a temporary directory (``--keep DIR`` writes them
there instead); nothing is written into the repository.

Measured, each as a whole process (wall clock; CPU time, user + system of all its threads,
which a busy machine inflates less than the wall clock; and peak RSS of that process, from
``resource.getrusage(RUSAGE_CHILDREN)`` in a wrapper process of its own), best of ``R``:

1. ours: ``minerwatch import blocks BLOCKS --db FILE`` into a database holding the epochs
   (imported beforehand, not timed), a fresh copy each repetition;
2. DuckDB: ``CREATE TABLE blocks AS SELECT * FROM read_csv(BLOCKS)`` into a new DuckDB file
   from Python (``import duckdb`` included, as ours includes its imports);
3. for information, DuckDB's ``read_csv`` inserted into a table with a primary key on
   ``height``, as minerwatch's ``blocks`` table had up to schema 2.

Every process runs with its bytecode cached, as an installed program does: one uncounted
warm-up round first, and ``PYTHONDONTWRITEBYTECODE`` removed from the environment.

Prints both and the ratios ours / DuckDB. Targets (issue 9): wall ratio < 2, peak RSS
< 400 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
RSS_TARGET_MIB = 400
RATIO_TARGET = 2.0

# Runs argv[1:] as a child and prints its wall time (s), CPU time (user + system, s, all its
# threads) and peak RSS (KiB on Linux) as JSON.
_WRAPPER = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - t0
use = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = use.ru_utime + use.ru_stime
print(json.dumps({"rc": rc, "wall_s": wall, "cpu_s": cpu, "rss_kib": use.ru_maxrss}))
"""

_DUCKDB = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE blocks AS SELECT * FROM read_csv(?)", [sys.argv[2]])
con.close()
"""

# The same, into a table with minerwatch's primary key on height (for information).
_DUCKDB_KEYED = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE blocks (height INTEGER PRIMARY KEY, time BIGINT, bits VARCHAR)")
con.execute("INSERT INTO blocks SELECT * FROM read_csv(?)", [sys.argv[2]])
con.close()
"""


def generate(epochs_csv: Path, rows: int, out: Path) -> None:
    """Write ``height,time,bits`` for heights ``0 .. rows-1`` (see the module docstring):
    the shared stand-in chain of ``tests/standins/chains.py``."""
    sys.path.insert(0, str(REPO))
    from tests.standins.chains import epoch_chain, write_blocks_csv

    write_blocks_csv(out, epoch_chain(epochs_csv, 0, rows - 1))


# Every process runs as an installed program does, with its bytecode cached: without
# PYTHONDONTWRITEBYTECODE (which some environments set), after one uncounted warm-up run.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(argv: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *argv],
        capture_output=True,
        text=True,
        check=True,
        env=_ENV,
    )
    result = json.loads(out.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"{' '.join(argv)} exited {result['rc']}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rows", type=int, default=930_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    epochs_csv = args.data / "difficulty_epochs.csv"
    if not epochs_csv.exists():
        raise SystemExit(f"missing {epochs_csv}; pass --data DIR")
    minerwatch = str(Path(sys.executable).with_name("minerwatch"))
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        blocks = work / "blocks.csv"
        generate(epochs_csv, args.rows, blocks)
        size_mib = blocks.stat().st_size / 2**20
        print(f"generated {args.rows:,} rows, {size_mib:.1f} MiB", file=sys.stderr)
        base = work / "epochs.duckdb"
        base.unlink(missing_ok=True)
        subprocess.run(
            [minerwatch, "import", "epochs", str(epochs_csv), "--db", str(base)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        ours, duck, keyed = [], [], []
        for rep in range(-1, args.reps):  # rep -1: the warm-up, not counted
            db = work / f"ours{rep}.duckdb"
            shutil.copy(base, db)
            ours.append(measure([minerwatch, "import", "blocks", str(blocks), "--db", str(db)]))
            ddb = work / f"duck{rep}.duckdb"
            ddb.unlink(missing_ok=True)
            duck.append(measure([sys.executable, "-c", _DUCKDB, str(ddb), str(blocks)]))
            kdb = work / f"keyed{rep}.duckdb"
            kdb.unlink(missing_ok=True)
            keyed.append(measure([sys.executable, "-c", _DUCKDB_KEYED, str(kdb), str(blocks)]))
            if rep < 0:
                ours, duck, keyed = [], [], []
    best = {
        name: {
            "wall_s": min(r["wall_s"] for r in runs),
            "cpu_s": min(r["cpu_s"] for r in runs),
            "rss_mib": min(r["rss_kib"] for r in runs) / 1024,
        }
        for name, runs in (
            ("minerwatch import blocks", ours),
            ("duckdb read_csv", duck),
            ("duckdb read_csv, keyed", keyed),
        )
    }
    o, d = best["minerwatch import blocks"], best["duckdb read_csv"]
    for name, r in best.items():
        print(
            f"{name:28s} {r['wall_s']:7.2f} s  {r['cpu_s']:5.2f} s CPU  "
            f"{r['rss_mib']:5.0f} MiB peak RSS"
        )
    ratio = o["wall_s"] / d["wall_s"]
    print(
        f"ratio ours / duckdb: wall {ratio:.2f} (target < {RATIO_TARGET}), "
        f"CPU {o['cpu_s'] / d['cpu_s']:.2f}, "
        f"RSS {o['rss_mib'] / d['rss_mib']:.2f}; ours {o['rss_mib']:.0f} MiB "
        f"(target < {RSS_TARGET_MIB} MiB)"
    )
    ok = ratio < RATIO_TARGET and o["rss_mib"] < RSS_TARGET_MIB
    print("target met" if ok else "target NOT met")


if __name__ == "__main__":
    main()
