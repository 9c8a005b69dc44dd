"""The web server under load on loopback: latency of ``/api/v1/status`` at a fixed request
rate, and the Now page's first paint in Chromium.

Usage (from the repository root, with ``pip install -e '.[test,web]'`` done and Debian's
Chromium at /usr/bin/chromium for the paint figure)::

    python bench/serve_load.py [--rate 100] [--seconds 60] [--data DIR] [--json FILE]

A database is built in a temporary directory from the shared data folder (the Coin Metrics
CSV, the difficulty epochs, the daily prices) by the CLI, and ``minerwatch serve`` runs on
it as its own process on 127.0.0.1. The load generator is open-loop: request ``i`` is sent
at ``t0 + i / rate`` whatever the answers before it, on as many connections as needed, and
its latency is counted from that scheduled time to the end of its response, so a server
that falls behind shows its queueing delay (no coordinated omission). Figures:

1. ``/api/v1/status`` (one URL, as a dashboard polls it): p50, p95, p99 and the worst
   latency, errors, the rate achieved. Targets (issue 12): p50 < 20 ms, p95 < 50 ms at 100
   requests a second for 60 s.
2. for information, ``/api/v1/status?as_of=D`` with ``D`` a different day of the history
   on every request (no answer kept from an earlier one), at :data:`COLD_RATE` requests a
   second for 20 s: what a user scrubbing through dates meets.
3. the Now page (``/``): ``first-contentful-paint`` as Chromium reports it, median of 7
   loads in a fresh page each. Target < 300 ms.

Baseline, in the same run: the server's answers to ``/api/v1/status`` and ``/`` (with the
page's scripts and styles) served from memory by a static twin under the same uvicorn
(``bench/static_twin.py``), loaded and painted the same way; the ratios say what
minerwatch's own work costs over the HTTP stack and the browser.

The servers and the load generator share this machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "tests"))
REPO = BENCH.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"
CHROMIUM = Path("/usr/bin/chromium")
COLD_RATE = 5.0
FILES = (
    ("coinmetrics", "coinmetrics_btc.csv"),
    ("epochs", "difficulty_epochs.csv"),
    ("prices", "prices_btcusd_daily.csv"),
)


import static_twin  # noqa: E402  (bench/ is on the path)


def _cli() -> str:
    return str(Path(sys.executable).with_name("minerwatch"))


def build_db(data: Path, db: Path) -> None:
    for kind, name in FILES:
        path = data / name
        if not path.exists():
            raise SystemExit(f"missing {path}; pass --data DIR")
        subprocess.run(
            [_cli(), "import", kind, str(path), "--db", str(db)],
            check=True,
            stdout=subprocess.DEVNULL,
        )


def start_server(db: Path) -> tuple[subprocess.Popen, str]:
    from report import start_on_free_port

    return start_on_free_port(
        lambda port: [_cli(), "serve", "--db", str(db), "--port", str(port)],
        "/api/v1/info",
        "the server",
    )


async def _load(url: str, paths: list[str], rate: float, seconds: float) -> dict:
    """Open-loop load: request i at t0 + i / rate, latency from that time."""
    import httpx

    n = int(rate * seconds)
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        loop = asyncio.get_running_loop()
        t0 = loop.time() + 0.1

        async def one(i: int) -> None:
            nonlocal errors
            due = t0 + i / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                response = await client.get(paths[i % len(paths)])
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(loop.time() - due)
            errors += not ok

        await asyncio.gather(*(one(i) for i in range(n)))
        took = loop.time() - t0
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {
        "requests": n,
        "errors": errors,
        "rate_achieved": round(n / took, 1),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(1000 * ordered[-1], 2),
    }


# The first contentful paint of the page, waiting for the entry if it is not there yet.
_FIRST_PAINT_JS = """() => new Promise(resolve => {
  new PerformanceObserver(list => {
    for (const e of list.getEntries())
      if (e.name === 'first-contentful-paint') resolve(e.startTime);
  }).observe({type: 'paint', buffered: true});
  setTimeout(() => resolve(null), 5000);
})"""


def first_paint(url: str, loads: int = 7) -> dict:
    if not CHROMIUM.exists():
        return {"skipped": f"{CHROMIUM} not found (apt-get install chromium)"}
    from playwright.sync_api import sync_playwright

    paints = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM))
        try:
            for _ in range(loads + 1):  # the first load warms the server's answers
                page = browser.new_page()
                page.goto(f"{url}/", wait_until="load")
                fcp = page.evaluate(_FIRST_PAINT_JS)
                paints.append(float(fcp))
                page.close()
        finally:
            browser.close()
    counted = paints[1:]
    return {"median_ms": round(statistics.median(counted), 1), "all_ms": counted}


def main(argv: list[str] | None = None) -> None:
    from report import emit, machine  # bench/report.py (bench/ is on the path)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "mw.duckdb"
        build_db(args.data, db)
        process, url = start_server(db)
        try:
            status = "/api/v1/status"
            asyncio.run(_load(url, [status], 20, 1))  # warm-up, not counted
            hot = asyncio.run(_load(url, [status], args.rate, args.seconds))
            import httpx

            chain = httpx.get(f"{url}/api/v1/info").json()["tables"]["chain_daily"]
            first, last = chain["first"], chain["last"]
            import numpy as np

            span = np.arange(np.datetime64(first) + 400, np.datetime64(last))
            cold_paths = [f"{status}?as_of={d}" for d in span[:: max(1, len(span) // 3000)]]
            cold = asyncio.run(_load(url, cold_paths, COLD_RATE, min(args.seconds, 20)))
            paint = first_paint(url)
            snap = static_twin.snapshot(url, [status, "/"])
        finally:
            process.terminate()
            process.wait()
        twin, twin_url = static_twin.start(snap, Path(tmp))
        try:
            asyncio.run(_load(twin_url, [status], 20, 1))
            twin_hot = asyncio.run(_load(twin_url, [status], args.rate, args.seconds))
            twin_paint = first_paint(twin_url)
        finally:
            twin.terminate()
            twin.wait()
    result = {
        **machine(),
        "rate": args.rate,
        "seconds": args.seconds,
        "status_one_url": hot,
        "status_a_new_day_each_request": {"rate": COLD_RATE, **cold},
        "now_page_first_contentful_paint": paint,
        "baseline_static_twin": {"status_one_url": twin_hot, "first_contentful_paint": twin_paint},
        "ratios_to_baseline": {
            "status_p50": round(hot["p50_ms"] / twin_hot["p50_ms"], 2),
            "status_p95": round(hot["p95_ms"] / twin_hot["p95_ms"], 2),
            "first_paint": round(paint["median_ms"] / twin_paint["median_ms"], 2)
            if "median_ms" in paint and "median_ms" in twin_paint
            else None,
        },
        "targets_met": {
            "status_p50_under_20_ms": hot["p50_ms"] < 20 and hot["errors"] == 0,
            "status_p95_under_50_ms": hot["p95_ms"] < 50 and hot["errors"] == 0,
            "now_first_paint_under_300_ms": paint.get("median_ms", 1e9) < 300,
        },
    }
    emit(result, args.json)


if __name__ == "__main__":
    main(sys.argv[1:])
