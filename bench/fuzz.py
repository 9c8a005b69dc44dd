"""The long fuzz run: N inputs per importer, in seeded chunks, a few side by side.

Usage (from the repository root, with ``pip install -e '.[test]'`` done)::

    python bench/fuzz.py [--inputs N] [--chunk C] [--jobs J] [--first-seed S]
                         [--importers coinmetrics,prices,epochs,blocks] [--log DIR]

Runs ``tests/test_fuzz_imports.py`` (its properties are the run's: no crash, a rejected
import changes nothing, an accepted one stores nothing the chain's rules exclude) for each
importer in ``ceil(N / C)`` chunks of ``C`` inputs (default 100,000 in chunks of 10,000).
Chunk ``k`` (``k = S, S+1, ...``) runs one pytest process with
``MINERWATCH_FUZZ_EXAMPLES=C`` and ``MINERWATCH_FUZZ_SEED=k``; as each test's seed is
``900x + k``, the run is reproduced exactly by the same command on the same code. Each
chunk starts from its test's fresh store, so accepted inputs pile up within a chunk.
``J`` chunks (default 2, one per core) run at a time, each process using one core.

Each chunk's output goes to ``DIR/<importer>-<seed>.log`` (default ``/tmp/minerwatch-fuzz``);
the summary (one line per chunk as it ends, then a table per importer: inputs, chunks
failed, CPU-seconds, inputs per second, accepted and rejected shares) goes to stdout.
Exits 1 when any chunk failed (its log holds Hypothesis' shrunk input and its seed).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IMPORTERS = ("coinmetrics", "prices", "epochs", "blocks")
_EVENT = re.compile(r"\* ([\d.]+)%, (accepted|rejected)$", re.M)
_PHASE = re.compile(r"during generate phase \(([\d.]+) seconds\)")


@dataclass
class Chunk:
    importer: str
    seed: int
    inputs: int
    ok: bool = False
    wall_s: float = 0.0
    generate_s: float = 0.0  # Hypothesis' own timing of the examples (no start-up)
    accepted_pct: float = float("nan")
    rejected_pct: float = float("nan")


def run_chunk(chunk: Chunk, log_dir: Path) -> Chunk:
    """One pytest process: ``chunk.inputs`` inputs of one importer with one seed."""
    env = dict(
        os.environ,
        MINERWATCH_FUZZ_EXAMPLES=str(chunk.inputs),
        MINERWATCH_FUZZ_SEED=str(chunk.seed),
        OMP_NUM_THREADS="1",
    )
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    argv += ["--hypothesis-show-statistics", "tests/test_fuzz_imports.py"]
    argv += ["-k", f"test_fuzz_{chunk.importer}"]
    t0 = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True)
    chunk.wall_s = time.perf_counter() - t0
    out = done.stdout + done.stderr
    (log_dir / f"{chunk.importer}-{chunk.seed}.log").write_text(out)
    chunk.ok = done.returncode == 0
    phase = _PHASE.search(out)
    chunk.generate_s = float(phase.group(1)) if phase else float("nan")
    shares = {kind: float(pct) for pct, kind in _EVENT.findall(out)}
    chunk.accepted_pct = shares.get("accepted", float("nan"))
    chunk.rejected_pct = shares.get("rejected", float("nan"))
    state = "passed" if chunk.ok else "FAILED"
    print(
        f"{time.strftime('%H:%M:%S')} {chunk.importer} seed {chunk.seed}: {chunk.inputs:,} "
        f"inputs {state} in {chunk.wall_s:.0f} s (accepted {chunk.accepted_pct:.1f}%)",
        flush=True,
    )
    return chunk


def summary(chunks: list[Chunk]) -> str:
    """A Markdown table, one row per importer."""
    rows = [
        "| importer | inputs | chunks (seeds) | failed | process s | inputs/s | "
        "inputs/s in examples | accepted | rejected |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in IMPORTERS:
        mine = [c for c in chunks if c.importer == name]
        if not mine:
            continue
        n = sum(c.inputs for c in mine)
        wall = sum(c.wall_s for c in mine)
        examples_s = sum(c.generate_s for c in mine)
        seeds = f"{len(mine)} ({mine[0].seed}-{mine[-1].seed})"
        acc = sum(c.accepted_pct * c.inputs for c in mine) / n
        rej = sum(c.rejected_pct * c.inputs for c in mine) / n
        failed = sum(not c.ok for c in mine)
        rows.append(
            f"| `import {name}` | {n:,} | {seeds} | {failed} | {wall:,.0f} | {n / wall:,.0f} "
            f"| {n / examples_s:,.0f} | {acc:.1f}% | {rej:.1f}% |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=100_000, help="inputs per importer")
    parser.add_argument("--chunk", type=int, default=10_000, help="inputs per process")
    parser.add_argument("--jobs", type=int, default=2, help="processes at a time")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--importers", default=",".join(IMPORTERS))
    parser.add_argument("--log", type=Path, default=Path("/tmp/minerwatch-fuzz"))
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.importers.split(",") if n.strip()]
    unknown = sorted(set(names) - set(IMPORTERS))
    if unknown or args.inputs < 1 or args.chunk < 1 or args.jobs < 1:
        parser.error(f"importers are {', '.join(IMPORTERS)}; counts must be >= 1")
    args.log.mkdir(parents=True, exist_ok=True)
    per = math.ceil(args.inputs / args.chunk)
    # Chunks interleaved across importers, so each importer advances from the start.
    plan = [
        Chunk(name, args.first_seed + k, min(args.chunk, args.inputs - k * args.chunk))
        for k in range(per)
        for name in names
    ]
    print(
        f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}: {args.inputs:,} inputs per importer "
        f"({', '.join(names)}), chunks of {args.chunk:,}, seeds {args.first_seed}-"
        f"{args.first_seed + per - 1}, {args.jobs} at a time; logs in {args.log}",
        flush=True,
    )
    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.jobs) as pool:
        chunks = list(pool.map(lambda c: run_chunk(c, args.log), plan))
    print(f"\nwall time {time.perf_counter() - t0:,.0f} s\n")
    print(summary(chunks))
    return 0 if all(c.ok for c in chunks) else 1


if __name__ == "__main__":
    sys.exit(main())
