"""Chain sync against the stand-in Bitcoin Core on loopback, as ratios against a bare loop.

Usage (from the repository root, with ``pip install -e '.[test,bench]'`` done)::

    python bench/chain_sync.py [--height 930000] [--json FILE]

The stand-in node (``tests/standins/bitcoind.py``) runs in its own process, serving a
mainnet-like chain of ``--height`` headers (the real epochs' bits; no real proof of work, so
the sync runs with ``--skip-pow-check``: linkage, times and difficulty-free checks still run).
Figures, each measured in this run:

1. baseline: a bare ``httpx`` loop pulling the same REST ``.bin`` pages of 2,000 headers
   from the same server, hashing only the last header of each page to ask for the next
   (the least any client must do); headers a second.
2. ``minerwatch sync node --headers-only --skip-pow-check`` into an empty database, as a
   whole process: every header parsed, hashed, linked, checked and stored. Target: at
   least 50% of the baseline's rate; the whole chain stored in under 30 s.
3. one new block, ``--blocks`` times: the node (the same process) extends its chain by one
   block, then in this process ``sync_chain`` fetches and stores it (the day sums of its
   day summed again in the same transaction), and then either the day's row of the daily
   frame or the whole ``status`` is recomputed from the database. Target: under 200 ms;
   the median of the runs is reported.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))


def _start_node(height: int) -> tuple[subprocess.Popen, dict]:
    process = subprocess.Popen(
        [
            sys.executable, "-m", "tests.standins.bitcoind", "--height", str(height),
            "--control-stdin",
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    info = json.loads(process.stdout.readline())
    return process, info


def _auth(info: dict) -> tuple[str, str]:
    user, password = Path(info["cookie_file"]).read_text().strip().split(":", 1)
    return user, password


def bare_loop(info: dict) -> tuple[float, int]:
    """Seconds and headers of a bare httpx loop over the whole chain's REST pages."""
    import httpx

    with httpx.Client(auth=_auth(info), timeout=60) as client:
        genesis = client.post(
            info["url"],
            json={"jsonrpc": "1.0", "id": 1, "method": "getblockhash", "params": [0]},
        ).json()["result"]
        start = time.perf_counter()
        block, got = genesis, 0
        while True:
            body = client.get(f"{info['url']}/rest/headers/{block}.bin?count=2000").content
            n = len(body) // 80
            got += n - (1 if got else 0)
            if n <= 1:
                break
            last = body[-80:]
            block = hashlib.sha256(hashlib.sha256(last).digest()).digest()[::-1].hex()
        return time.perf_counter() - start, got + 1


def ours(info: dict, db: Path) -> float:
    """Seconds of ``minerwatch sync node --headers-only`` as a whole process."""
    start = time.perf_counter()
    subprocess.run(
        [
            str(Path(sys.executable).with_name("minerwatch")),
            "sync",
            "node",
            "--url",
            info["url"],
            "--cookie",
            info["cookie_file"],
            "--skip-pow-check",
            "--headers-only",
            "--db",
            str(db),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "MINERWATCH_SYNC_DEADLINE_S": "3600"},
    )
    return time.perf_counter() - start


def _extend(process: subprocess.Popen) -> int:
    """Have the node find one more block; its new tip height."""
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("extend 1\n")
    process.stdin.flush()
    return json.loads(process.stdout.readline())["tip_height"]


def one_block(process: subprocess.Popen, info: dict, db: Path, runs: int) -> dict[str, float]:
    """Median ms of one new block synced, then the day's frame or ``status`` recomputed, as
    ``minerwatch watch`` does it: one open of the database for the wake-up
    (:class:`~minerwatch.ingest.sync.Holder`), closed at its end."""
    import statistics

    from minerwatch.analyses.status import status
    from minerwatch.frames import daily_frame
    from minerwatch.ingest.chain_sync import HOLD_S, sync_chain
    from minerwatch.ingest.sync import Holder, holding
    from minerwatch.sources.node import NodeSource

    times: dict[str, list[float]] = {"sync_ms": [], "sync_and_day_ms": [], "sync_and_status_ms": []}
    with NodeSource(info["url"], cookie_file=info["cookie_file"], check_pow=False) as source:
        for run in range(2 * runs):
            _extend(process)
            start = time.perf_counter()
            holder = Holder(db, HOLD_S)
            sync_chain(holder, source, check_pow=False, economics=True)
            synced = time.perf_counter()
            with holding(holder) as store:
                (status if run % 2 else daily_frame)(store)
            holder.close()
            done = time.perf_counter()
            times["sync_ms"].append(1000 * (synced - start))
            times["sync_and_status_ms" if run % 2 else "sync_and_day_ms"].append(
                1000 * (done - start)
            )
    return {key: statistics.median(values) for key, values in times.items()}


def main(argv: list[str] | None = None) -> None:
    from report import emit, machine  # bench/report.py (bench/ is on the path)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=930_000)
    parser.add_argument("--blocks", type=int, default=5, help="new blocks of each kind timed")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    process, info = _start_node(args.height)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "chain.duckdb"
            base_s, headers = bare_loop(info)
            ours_s = ours(info, db)
            block = one_block(process, info, db, args.blocks)
    finally:
        if process.poll() is None:
            process.terminate()
    result = {
        **machine(),
        "headers": headers,
        "bare_loop_s": round(base_s, 2),
        "bare_loop_headers_per_s": round(headers / base_s),
        "sync_node_s": round(ours_s, 2),
        "sync_node_headers_per_s": round(headers / ours_s),
        "rate_ratio": round(base_s / ours_s, 3),
        **{k: round(v, 1) for k, v in block.items()},
    }
    emit(result, args.json)


if __name__ == "__main__":
    main(sys.argv[1:])
