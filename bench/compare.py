"""This checkout against a baseline revision, side by side in one run.

Usage (from the repository root, with this checkout's venv)::

    python bench/compare.py --baseline REV [--reps N] [--tests] [--baseline-dir DIR] [--data DIR]

The baseline is a git worktree of REV in a temporary directory with its own venv
(``python -m venv`` + ``pip install -e .[test]``), or the checkout ``--baseline-dir DIR``
(reused if it holds ``.venv/bin/minerwatch``, else prepared there; never deleted). Each
checkout builds its own database from the shared data with its own CLI; then the whole
processes run interleaved (ours, baseline, ours, baseline, ...), one uncounted warm-up each:

- ``status --json``, ``brief --as-of 2025-10-06``, ``report --as-of 2025-10-06 --out FILE``;
- with ``--tests``, ``pytest -q -p no:cacheprovider`` in each checkout, once, one after the
  other, on the same data (``MINERWATCH_TEST_DATA``), with pass counts.

A Markdown table goes to stdout (median, min, ratio ours / baseline), progress to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run import (
    AS_OF,
    CSV_NAME,
    DEFAULT_DATA,
    EPOCHS_NAME,
    REPO,
    cpu_model,
    fmt_s,
    git_commit,
    run_once,
)

PRICES_NAME = "prices_btcusd_daily.csv"
# The import commands that build a checkout's database, in this order.
IMPORTS = [("coinmetrics", CSV_NAME), ("epochs", EPOCHS_NAME), ("prices", PRICES_NAME)]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fail(msg: str) -> None:
    """Stop with exit code 2 (missing data, unknown revision, unusable baseline)."""
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(2)


def git(*args: str, cwd: Path = REPO) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        fail(f"git {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def prepare_baseline(commit: str, where: Path) -> None:
    """A detached worktree of ``commit`` at ``where`` with its own venv and the package
    installed editable with its test extra."""
    log(f"baseline: worktree of {commit[:7]} at {where}, venv, pip install ...")
    git("worktree", "add", "--detach", str(where), commit)
    for argv in (
        [sys.executable, "-m", "venv", str(where / ".venv")],
        [str(where / ".venv/bin/pip"), "install", "-q", "-e", ".[test]"],
    ):
        if subprocess.run(argv, cwd=where).returncode != 0:
            fail(f"preparing the baseline failed: {' '.join(argv)}")


def pytest_run(checkout: Path, data: Path) -> tuple[float, str]:
    """Wall time (s) of the checkout's whole test suite, and pytest's summary line with the
    1-minute load average at the start (the two suites run one after the other)."""
    load_1m = os.getloadavg()[0]
    env = {**os.environ, "MINERWATCH_TEST_DATA": str(data)}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(checkout / ".venv/bin/python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - t0
    lines = proc.stdout.strip().splitlines()
    summary = re.sub(r"=+", "", lines[-1]).strip() if lines else f"exit {proc.returncode}"
    return elapsed, re.sub(r" in [\d.]+s.*$", "", summary) + f" (load {load_1m:.1f} at start)"


def machine(sides: dict[str, Path]) -> list[str]:
    """Header lines: the date, the CPU model and count, each side's Python version."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    pythons = {
        name: subprocess.run(
            [
                str(d / ".venv/bin/python"),
                "-c",
                "import platform; print(platform.python_version())",
            ],
            capture_output=True,
            text=True,
        ).stdout.strip()
        for name, d in sides.items()
    }
    return [
        f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"Machine: {cpu_model()}, {os.cpu_count()} logical CPUs ({usable} usable), "
        f"{platform.system()} {platform.release()}",
        "Python: " + ", ".join(f"{n} {v}" for n, v in pythons.items()),
    ]


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, metavar="REV", help="git revision")
    parser.add_argument("--reps", type=int, default=10, help="runs per figure and side")
    parser.add_argument("--tests", action="store_true", help="also time both test suites")
    parser.add_argument("--baseline-dir", type=Path, metavar="DIR", help="baseline checkout")
    parser.add_argument("--data", type=Path, metavar="DIR", default=DEFAULT_DATA)
    args = parser.parse_args(argv)

    data = args.data.resolve()
    missing = [str(data / name) for _, name in IMPORTS if not (data / name).is_file()]
    if missing:
        fail(f"benchmark data not found: {', '.join(missing)} (pass --data DIR)")
    if not (REPO / ".venv/bin/minerwatch").is_file():
        fail(
            "no venv in this checkout: python3 -m venv .venv && .venv/bin/pip install -e '.[test]'"
        )
    commit = git("rev-parse", "--verify", f"{args.baseline}^{{commit}}")

    tmp = Path(tempfile.mkdtemp(prefix="minerwatch-compare-"))
    base = args.baseline_dir.resolve() if args.baseline_dir else tmp / "worktree"
    made_worktree = not base.exists()
    try:
        if made_worktree:
            prepare_baseline(commit, base)
        elif not (base / ".venv/bin/minerwatch").is_file():
            fail(f"{base} exists but holds no .venv/bin/minerwatch")
        elif git("rev-parse", "HEAD", cwd=base) != commit:
            fail(f"{base} is not at {args.baseline} ({commit[:7]})")
        sides = {"ours": REPO, "baseline": base}
        header = [
            *machine(sides),
            f"Commits: ours {git_commit(REPO)}, baseline {git_commit(base)} ({args.baseline})",
            f"Load average (1, 5, 15 min) at start: {load()}",
        ]

        # Each side's CLI, and the folder of its database and report file.
        cli = {name: str(d / ".venv/bin/minerwatch") for name, d in sides.items()}
        work = {name: tmp / f"run-{name}" for name in sides}
        for name in sides:
            log(f"{name}: building the database with its own CLI ...")
            work[name].mkdir()
            for kind, file in IMPORTS:
                db = ["--db", str(work[name] / "mw.duckdb")]
                run_once([cli[name], "import", kind, str(data / file), *db], tmp)

        figures = {
            "status --json": ["status", "--json"],
            f"brief --as-of {AS_OF}": ["brief", "--as-of", AS_OF],
            f"report --as-of {AS_OF}": ["report", "--as-of", AS_OF, "--out", "r.html"],
        }
        samples = {(f, n): [] for f in figures for n in sides}
        outputs: dict[tuple[str, str], str] = {}
        for rep in range(1 + args.reps):
            log(f"processes: round {rep + 1} of {1 + args.reps} (the first is a warm-up) ...")
            for fig, cmd in figures.items():
                for name in sides:
                    elapsed, stdout = run_once([cli[name], *cmd, "--db", "mw.duckdb"], work[name])
                    outputs[fig, name] = stdout.replace(str(work[name]), "DIR")
                    if rep:
                        samples[fig, name].append(elapsed)

        rows = []
        for fig in figures:
            ours, theirs = samples[fig, "ours"], samples[fig, "baseline"]
            same = outputs[fig, "ours"] == outputs[fig, "baseline"]
            rows.append(
                f"| {fig} (process) | {fmt_s(statistics.median(ours))} | {fmt_s(min(ours))} "
                f"| {fmt_s(statistics.median(theirs))} | {fmt_s(min(theirs))} "
                f"| {statistics.median(ours) / statistics.median(theirs):.2f} | {args.reps} "
                f"| stdout {'identical' if same else 'differs'} |"
            )
        if args.tests:
            runs = {}
            for name, d in sides.items():
                log(f"tests: the whole suite of {name} ...")
                runs[name] = pytest_run(d, data)
            (t_ours, s_ours), (t_base, s_base) = runs["ours"], runs["baseline"]
            rows.append(
                f"| test suite, pytest -q | {fmt_s(t_ours)} | | {fmt_s(t_base)} | "
                f"| {t_ours / t_base:.2f} | 1 | ours: {s_ours}; baseline: {s_base} |"
            )
        header.append(f"Load average (1, 5, 15 min) at end: {load()}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if made_worktree and not args.baseline_dir:
            subprocess.run(["git", "worktree", "prune"], cwd=REPO, capture_output=True)

    print("\n".join(header))
    print()
    print(
        "| figure | ours median | ours min | baseline median | baseline min "
        "| ratio ours / baseline | runs | note |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
