"""minerwatch benchmarks, with a plain pandas baseline measured in the same run.

Usage (from the repository root, with ``pip install -e '.[bench]'`` done)::

    python bench/run.py [--quick] [--json FILE] [--data DIR]

Figures (median and minimum of several repetitions; see docs/benchmarks.md):

1. import: ``open_store`` + ``import_coinmetrics`` + close of the full Coin Metrics CSV into
   a new DuckDB file each repetition, in-process. Target < 1.5 s.
2. recompute: ``compute_daily_metrics`` over the whole history (frame built once), and
   ``build_daily_frame`` separately ("frame read"). Target < 100 ms. Production cost:
   ``production_cost`` (every model) and the expanding DRM refit of every day (target
   < 200 ms) on the same frame.
2c. difficulty: ``block_window_hashrate`` (getnetworkhashps over 120 blocks with its
   interval) over 1,000,000 synthetic blocks (target < 0.5 s), and ``backtest_difficulty``
   over the full history.
3. status: ``minerwatch status --json`` as a whole process on a database holding the CSV and
   the difficulty epochs, wall clock; ``python -c pass`` as the floor. Target < 1 s. On the
   same database, ``brief --as-of 2025-10-06`` and ``report --as-of 2025-10-06 --out FILE``
   as whole processes.
4. pandas baseline (``bench/pandas_baseline.py``): ``read_csv``, the same rolling
   computations, and the whole script as a process; our figures as ratios ours / pandas.

The data folder is ``<repo root>/../shared/data/`` (``--data`` to override); nothing is
copied into the repository, and every database lives in a temporary directory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"
CSV_NAME = "coinmetrics_btc.csv"
EPOCHS_NAME = "difficulty_epochs.csv"
REL_TOL = 1e-9

# Repetitions per figure: (default, --quick).
REPS = {
    "import": (10, 3),
    "parse": (10, 3),
    "frame": (30, 5),
    "recompute": (100, 10),
    "cost": (30, 5),
    "difficulty": (10, 3),
    "pd_read": (20, 5),
    "pd_compute": (100, 10),
    "process": (15, 3),
    "brief_report": (10, 3),
}
# The day of the brief and report figures (bench/compare.py uses it too).
AS_OF = "2025-10-06"


@dataclass
class Figure:
    key: str
    label: str
    samples: list[float]
    target_s: float | None = None
    group: str = ""
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def met(self) -> bool | None:
        return None if self.target_s is None else self.median < self.target_s

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "label": self.label,
            "group": self.group,
            "median_s": self.median,
            "min_s": self.min,
            "repetitions": len(self.samples),
            "target_s": self.target_s,
            "target_met": self.met,
            "note": self.note,
            "samples_s": self.samples,
        }


@dataclass
class Results:
    figures: dict[str, Figure] = field(default_factory=dict)
    checks: list[dict] = field(default_factory=list)

    def add(self, fig: Figure) -> Figure:
        self.figures[fig.key] = fig
        return fig


# -- timing ---------------------------------------------------------------------------------


def time_calls(
    fn: Callable[[object], object],
    reps: int,
    setup: Callable[[], object] | None = None,
    warmup: int = 1,
) -> list[float]:
    """Wall time of ``fn(setup())`` per repetition; ``setup`` is not timed. The first
    ``warmup`` calls are not counted (module imports, caches)."""
    samples = []
    for i in range(warmup + reps):
        arg = setup() if setup is not None else None
        gc.collect()
        t0 = time.perf_counter()
        fn(arg)
        elapsed = time.perf_counter() - t0
        if i >= warmup:
            samples.append(elapsed)
    return samples


def run_once(argv: list[str], cwd: Path) -> tuple[float, str]:
    """Wall time (s) of one whole process, start-up included, and its stdout; a failing
    command stops the benchmark with its stderr."""
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(
            f"benchmark command failed (exit {proc.returncode}): {' '.join(argv)}\n"
            f"{proc.stderr.strip()}"
        )
    return elapsed, proc.stdout


def time_process(
    cmd: list[str] | Callable[[], list[str]], reps: int, cwd: Path, warmup: int = 1
) -> tuple[list[float], str]:
    """Wall time of a whole process per repetition (start-up included); its last stdout.
    ``cmd`` may be a function giving each repetition's command line."""
    samples, stdout = [], ""
    for i in range(warmup + reps):
        elapsed, stdout = run_once(cmd() if callable(cmd) else cmd, cwd)
        if i >= warmup:
            samples.append(elapsed)
    return samples, stdout


def check_close(results: Results, what: str, ours: float, pandas_value: float) -> None:
    """Record and enforce that our figure and the baseline's agree (relative 1e-9)."""
    rel = abs(ours / pandas_value - 1.0) if pandas_value else abs(ours)
    ok = math.isfinite(ours) and math.isfinite(pandas_value) and rel <= REL_TOL
    results.checks.append(
        {"what": what, "ours": ours, "pandas": pandas_value, "rel_diff": rel, "ok": ok}
    )
    if not ok:
        raise AssertionError(
            f"baseline disagrees on {what}: ours {ours!r}, pandas {pandas_value!r} "
            f"(relative difference {rel:.3g} > {REL_TOL:g})"
        )


# -- machine --------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def git_commit(repo: Path = REPO) -> str | None:
    """Short commit of the checkout at ``repo``, with ``+dirty`` if tracked files changed."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    dirty = subprocess.run(
        ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout.strip()
    return proc.stdout.strip() + ("+dirty" if dirty else "")


def machine() -> dict:
    import duckdb
    import numpy
    import pandas

    import minerwatch

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,
        "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "duckdb": duckdb.__version__,
        "pandas": pandas.__version__,
        "minerwatch": minerwatch.__version__,
        "commit": git_commit(),
        "tmp_dir": tempfile.gettempdir(),
    }


# -- the benchmark --------------------------------------------------------------------------


def status_command() -> list[str]:
    """The installed ``minerwatch`` console script beside this interpreter, else ``-m``."""
    script = Path(sys.executable).with_name("minerwatch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "minerwatch"]


def run(data: Path, quick: bool, tmp: Path, log: Callable[[str], None]) -> Results:
    import minerwatch
    import pandas_baseline as pb
    from minerwatch.sources import coinmetrics

    def reps(kind: str) -> int:
        return REPS[kind][1 if quick else 0]

    csv_path, epochs_path = data / CSV_NAME, data / EPOCHS_NAME
    res = Results()

    # 1. Import into a fresh DuckDB file, each repetition a new file.
    log("import: Coin Metrics CSV into a new DuckDB file ...")
    counter = iter(range(10**6))

    def fresh_db() -> Path:
        return tmp / f"import-{next(counter)}.duckdb"

    def do_import(db: Path) -> None:
        with minerwatch.open_store(db) as store:
            minerwatch.import_coinmetrics(store, csv_path)

    res.add(
        Figure(
            "import",
            "import CSV into new DB",
            time_calls(do_import, reps("import"), setup=fresh_db),
            target_s=1.5,
            group="ours",
            note="open_store + import_coinmetrics + close, in-process",
        )
    )
    res.add(
        Figure(
            "import_parse",
            "  of which: read+validate CSV",
            time_calls(lambda _: coinmetrics.read_file(csv_path), reps("parse")),
            group="ours",
            note="minerwatch.sources.coinmetrics.read_file (no database)",
        )
    )

    # The database of the status and recompute figures: the CSV and the difficulty epochs.
    db = tmp / "status.duckdb"
    with minerwatch.open_store(db) as store:
        minerwatch.import_coinmetrics(store, csv_path)
        minerwatch.import_epochs(store, epochs_path)

    # 2. Frame read and full recompute.
    log("recompute: every daily metric over full history ...")
    with minerwatch.open_store(db, read_only=True) as store:
        res.add(
            Figure(
                "frame_read",
                "frame read",
                time_calls(lambda _: minerwatch.build_daily_frame(store), reps("frame")),
                group="ours",
                note="whole history from the open database",
            )
        )
        frame = minerwatch.build_daily_frame(store)
    res.add(
        Figure(
            "recompute",
            "recompute (all metrics)",
            time_calls(lambda _: minerwatch.compute_daily_metrics(frame), reps("recompute")),
            target_s=0.100,
            group="ours",
            note=f"every daily metric, {len(frame)} days",
        )
    )
    metrics = minerwatch.compute_daily_metrics(frame)

    # 2b. Production cost: every model, and the expanding DRM refit alone.
    log("production cost: every model, expanding DRM refit ...")
    from minerwatch.models import cost as cost_models
    from minerwatch.sources.catalog import load_catalog

    catalog = load_catalog()
    res.add(
        Figure(
            "cost_all",
            "all cost models, full history",
            time_calls(lambda _: minerwatch.production_cost(frame, catalog=catalog), reps("cost")),
            group="ours",
            note=f"5 DRM presets, Hayes, CBECI fleet ({len(catalog.efficiency_j_th)} machines)",
        )
    )
    res.add(
        Figure(
            "drm_refit",
            "expanding DRM refit, every day",
            time_calls(
                lambda _: cost_models.drm_fit(
                    frame.day,
                    frame.difficulty_mean,
                    frame.price_usd,
                    frame.supply_sat,
                    start=frame.day[0],
                ),
                reps("cost"),
            ),
            target_s=0.200,
            group="ours",
            note="closed-form OLS refit on each day's history (fit-all window)",
        )
    )

    # 2c. Difficulty: hashrate estimator over a million synthetic blocks, and the backtest
    # of the next-adjustment forecast over the whole history (daily data).
    log("difficulty: estimator over 1,000,000 synthetic blocks, backtest ...")
    import numpy as np

    from minerwatch.metrics import estimators

    rng = np.random.default_rng(1)
    block_times = np.cumsum(rng.exponential(600.0, 1_000_000)).astype(np.int64) + 1_700_000_000
    block_diff = np.full(len(block_times), 1.4e14)
    res.add(
        Figure(
            "estimator",
            "estimator, 1,000,000 blocks",
            time_calls(
                lambda _: estimators.block_window_hashrate(block_times, block_diff, 120),
                reps("difficulty"),
            ),
            target_s=0.5,
            group="ours",
            note="block_window_hashrate: getnetworkhashps(120) at every block, (n-1)/n, 90% "
            "chi-square interval",
        )
    )
    with minerwatch.open_store(db, read_only=True) as store:
        res.add(
            Figure(
                "backtest",
                "backtest difficulty, full history",
                time_calls(lambda _: minerwatch.backtest_difficulty(store), reps("difficulty")),
                group="ours",
                note="both forecasts at 5 levels of every epoch with known times, daily data",
            )
        )

    # 4a. The pandas baseline in-process.
    log("pandas baseline: read_csv and rolling computations ...")
    res.add(
        Figure(
            "pd_read",
            "pandas read_csv",
            time_calls(lambda _: pb.load(str(csv_path)), reps("pd_read")),
            group="pandas",
            note="usecols = the 7 columns minerwatch reads, parse_dates",
        )
    )
    df = pb.load(str(csv_path))
    res.add(
        Figure(
            "pd_compute",
            "pandas rolling compute",
            time_calls(lambda _: pb.compute(df), reps("pd_compute")),
            group="pandas",
            note="difficulty, hashrate 1/7/30/60d, Puell 365d, price ATH (cummax)",
        )
    )

    # The baseline is honest only if it computes the same numbers: check one day.
    out = pb.compute(df)
    row = len(frame) - 1
    day = frame.day[row]
    prow = out.index.get_loc(str(day))
    for w in (7, 30, 60):
        check_close(
            res,
            f"{day} hashrate {w}d (H/s), in-process",
            float(metrics.hashrate_hs[w][row]),
            float(out[f"hashrate_{w}d_hs"].iloc[prow]),
        )
    check_close(
        res,
        f"{day} Puell multiple, in-process",
        float(metrics.puell_multiple[row]),
        float(out["puell_multiple"].iloc[prow]),
    )
    check_close(
        res,
        f"{day} price ATH (USD), in-process",
        float(metrics.price_ath_usd[row]),
        float(out["price_ath_usd"].iloc[prow]),
    )

    # 3 and 4b. Whole processes, wall clock.
    log("processes: start-up floor, status --json, brief, report, pandas script ...")
    status_cmd = [*status_command(), "status", "--json", "--db", str(db)]
    pandas_cmd = [sys.executable, str(BENCH / "pandas_baseline.py"), str(csv_path)]
    n = reps("process")
    samples, _ = time_process([sys.executable, "-c", "pass"], n, tmp)
    res.add(Figure("floor", "python -c pass (floor)", samples, group="floor"))
    samples, _ = time_process([sys.executable, "-c", "import minerwatch.cli"], n, tmp)
    res.add(
        Figure(
            "import_cli",
            "python -c 'import minerwatch.cli'",
            samples,
            group="floor",
            note="module imports of the CLI, no work",
        )
    )
    samples, _ = time_process([sys.executable, "-c", "import pandas"], n, tmp)
    res.add(Figure("import_pandas", "python -c 'import pandas'", samples, group="floor"))
    samples, _ = time_process(
        lambda: [
            *status_command(),
            "import",
            "coinmetrics",
            str(csv_path),
            "--db",
            str(fresh_db()),
        ],
        n,
        tmp,
    )
    res.add(
        Figure(
            "import_process",
            "import coinmetrics (process)",
            samples,
            group="ours",
            note="the CLI import into a new DB file, wall clock incl. start-up (information)",
        )
    )
    samples, status_out = time_process(status_cmd, n, tmp)
    res.add(
        Figure(
            "status",
            "status --json (process)",
            samples,
            target_s=1.0,
            group="ours",
            note="wall clock incl. interpreter start-up; DB holds the CSV and the epochs",
        )
    )
    for key, args in [
        ("brief", ["brief", "--as-of", AS_OF]),
        ("report", ["report", "--as-of", AS_OF, "--out", str(tmp / "r.html")]),
    ]:
        samples, _ = time_process(
            [*status_command(), *args, "--db", str(db)], reps("brief_report"), tmp
        )
        res.add(
            Figure(
                key,
                f"{key} --as-of {AS_OF} (process)",
                samples,
                group="ours",
                note="wall clock incl. start-up, on the database of the status figure",
            )
        )
    samples, pandas_out = time_process(pandas_cmd, n, tmp)
    res.add(
        Figure(
            "pd_process",
            "pandas script (process)",
            samples,
            group="pandas",
            note="bench/pandas_baseline.py: read_csv, compute, print one JSON line",
        )
    )
    status_json, pandas_json = json.loads(status_out), json.loads(pandas_out)
    if status_json["as_of"] != pandas_json["day"]:
        raise AssertionError(
            f"status reports {status_json['as_of']}, the pandas script {pandas_json['day']}"
        )
    check_close(
        res,
        f"{pandas_json['day']} hashrate 7d (EH/s), processes",
        status_json["hashrate_ehs"]["7d"],
        pandas_json["hashrate_ehs"]["7d"],
    )
    check_close(
        res,
        f"{pandas_json['day']} Puell multiple, processes",
        status_json["puell_multiple"],
        pandas_json["puell_multiple"],
    )
    return res


RATIOS = [
    ("load", "import", "pd_read", "import vs read_csv"),
    ("recompute", "recompute", "pd_compute", "all metrics vs rolling means"),
    ("whole process", "status", "pd_process", "status --json vs script"),
]


def ratios(res: Results) -> list[dict]:
    return [
        {
            "name": name,
            "ours": ours,
            "pandas": theirs,
            "ours_median_s": res.figures[ours].median,
            "pandas_median_s": res.figures[theirs].median,
            "ratio": res.figures[ours].median / res.figures[theirs].median,
            "note": note,
        }
        for name, ours, theirs, note in RATIOS
    ]


# -- output ---------------------------------------------------------------------------------


def fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1.0:
        return f"{seconds * 1e3:.1f} ms" if seconds >= 0.01 else f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def report(res: Results, info: dict, elapsed: float) -> None:
    from rich.console import Console
    from rich.table import Table

    # Not a terminal (a pipe, a log file): wide enough that rows do not wrap.
    console = Console(width=None if sys.stdout.isatty() else 100)
    console.print(
        f"[bold]minerwatch benchmarks[/] {info['date_utc']}  commit {info['commit'] or '?'}\n"
        f"{info['cpu']}, {info['logical_cpus']} logical CPUs ({info['usable_cpus']} usable), "
        f"load {info['load_avg_1m']:.2f}, {info['os']}\n"
        f"Python {info['python']}, numpy {info['numpy']}, duckdb {info['duckdb']}, "
        f"pandas {info['pandas']}, minerwatch {info['minerwatch']}",
        highlight=False,
    )
    table = Table(title="Figures (wall clock)")
    for col, kw in [
        ("figure", {}),
        ("median", {"justify": "right"}),
        ("min", {"justify": "right"}),
        ("reps", {"justify": "right"}),
        ("target", {"justify": "right"}),
        ("met", {"justify": "center"}),
    ]:
        table.add_column(col, **kw)
    for fig in res.figures.values():
        met = {None: "", True: "[green]yes[/]", False: "[bold red]NO[/]"}[fig.met]
        table.add_row(
            fig.label,
            fmt_s(fig.median),
            fmt_s(fig.min),
            str(len(fig.samples)),
            f"< {fmt_s(fig.target_s)}" if fig.target_s else "",
            met,
        )
    console.print(table)
    rt = Table(title="Against the pandas baseline (ours / pandas; < 1 means we are faster)")
    for col in ("comparison", "ours", "pandas", "ratio"):
        rt.add_column(col, justify="left" if col == "comparison" else "right")
    for r in ratios(res):
        rt.add_row(
            f"{r['name']} ({r['note']})",
            fmt_s(r["ours_median_s"]),
            fmt_s(r["pandas_median_s"]),
            f"{r['ratio']:.2f}",
        )
    console.print(rt)
    worst = max(c["rel_diff"] for c in res.checks)
    console.print(
        f"Baseline check: {len(res.checks)} figures agree (largest relative difference "
        f"{worst:.1e} <= {REL_TOL:g}). Total benchmark time {elapsed:.1f} s.",
        highlight=False,
    )
    missed = [f for f in res.figures.values() if f.met is False]
    if missed:
        console.print(
            "[bold red]Targets missed:[/] "
            + ", ".join(f"{f.label} {fmt_s(f.median)} (target {fmt_s(f.target_s)})" for f in missed)
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--json", metavar="FILE", type=Path, help="also save results as JSON")
    parser.add_argument(
        "--data",
        metavar="DIR",
        type=Path,
        default=DEFAULT_DATA,
        help=f"folder holding {CSV_NAME} and {EPOCHS_NAME} (default: {DEFAULT_DATA})",
    )
    args = parser.parse_args(argv)

    data = args.data.resolve()
    missing = [p for p in (data / CSV_NAME, data / EPOCHS_NAME) if not p.is_file()]
    if missing:
        sys.exit(
            "error: benchmark data not found: "
            + ", ".join(str(p) for p in missing)
            + f"\nThe benchmarks read the shared data folder beside the repository "
            f"({DEFAULT_DATA}); pass --data DIR for another location."
        )
    try:
        import pandas  # noqa: F401
    except ImportError:
        sys.exit("error: pandas is needed for the baseline: pip install -e '.[bench]'")

    started = time.perf_counter()
    info = machine()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="minerwatch-bench-") as tmp:
        res = run(data, args.quick, Path(tmp), log)
    elapsed = time.perf_counter() - started
    report(res, info, elapsed)
    if args.json:
        payload = {
            "machine": info,
            "quick": args.quick,
            "data": str(data),
            "elapsed_s": elapsed,
            "figures": [f.to_dict() for f in res.figures.values()],
            "ratios": ratios(res),
            "checks": res.checks,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"results saved to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
