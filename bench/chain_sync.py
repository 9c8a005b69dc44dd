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
3. one new block: the node extends its chain by one block (a second stand-in node in this
   process, holding a copy of the synced chain's tip region), then ``sync_chain`` fetches it
   and ``status`` recomputes the day's figures, in-process. Target: under 200 ms.
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
        [sys.executable, "-m", "tests.standins.bitcoind", "--height", str(height)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
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


def one_block(db: Path, height: int) -> dict[str, float]:
    """One new block synced and the day's status recomputed, in-process (ms)."""
    from minerwatch.analyses.status import status
    from minerwatch.ingest.chain_sync import sync_chain
    from minerwatch.sources.node import NodeSource
    from standins.bitcoind import StandinChain, StandinNode

    chain = StandinChain.mainnet_like(height)  # the same chain (same seed), in this process
    node = StandinNode(chain).start()
    try:
        chain.extend(1)
        with NodeSource(node.url, cookie_file=node.cookie_file, check_pow=False) as source:
            start = time.perf_counter()
            sync_chain(db, source, check_pow=False, economics=True)
            synced = time.perf_counter()
            status(db)
            done = time.perf_counter()
    finally:
        node.stop()
    return {"sync_ms": 1000 * (synced - start), "sync_and_status_ms": 1000 * (done - start)}


def main(argv: list[str] | None = None) -> None:
    from report import emit, machine  # bench/report.py (bench/ is on the path)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=930_000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    process, info = _start_node(args.height)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "chain.duckdb"
            base_s, headers = bare_loop(info)
            ours_s = ours(info, db)
            process.terminate()
            process.wait()
            block = one_block(db, args.height)
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
