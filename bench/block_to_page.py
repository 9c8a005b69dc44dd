"""A new block to an open page: from the node's ZMQ notification to ``/events`` announcing
the commit, and to the Now page's new figures, with ``minerwatch serve --watch``.

Usage (from the repository root, with ``pip install -e '.[test,web,live]'`` done)::

    python bench/block_to_page.py [--blocks 10] [--json FILE]

The stand-in Bitcoin Core (``tests/standins/bitcoind.py``, in this process) serves a
mainnet-like chain of 4,001 blocks (heights 915,000 to 919,000), synced first with
``minerwatch sync node``. This process also runs a ZMQ publisher on 127.0.0.1 sending
Core's ``sequence`` message of a connected block (``-zmqpubsequence``, the topic ``watch``
subscribes to by default), and ``minerwatch serve --watch --zmq ENDPOINT`` runs as its
own process (the server, and its follower in a thread). ``--blocks`` times, 1.5 s
apart: the node finds a block and publishes its hash; measured from the publication:

1. the ``change`` event on an open ``/events`` stream (what an open page listens to):
   the follower's sync and commit, then the server noticing the database's change (it
   looks every 0.25 s, ``web/events.py`` ``POLL_S``);
2. that, then the Now page fetched again (what the page does on the event, as htmx
   swaps it in): the new figures on screen, less the browser's own rendering.

Target (issue 12): a new block reaches an open page within 1 s of the notification.
Median and worst of the runs are reported.

Baseline, in the same run: a bare subscriber in this process (a ZMQ ``SUB`` socket on the
same endpoint, in a thread of its own) that, on each notification, asks the node's REST
interface for the block's header (``/rest/headers/<hash>.json?count=1``): the least any
follower must do before it knows a block. It runs beside the server, on the same cores.
"""

from __future__ import annotations

import argparse
import queue
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
REPO = BENCH.parent
DEBUG = False  # True: the server's messages on stderr
sys.path.insert(0, str(REPO / "tests"))


def _events(url: str, seen: queue.Queue[float], stop: threading.Event) -> None:
    """Put the arrival time of every ``change`` event of the stream at ``url``."""
    import httpx

    with httpx.stream("GET", url, timeout=None) as stream:
        for line in stream.iter_lines():
            if stop.is_set():
                return
            if line.startswith("event: change"):
                seen.put(time.monotonic())


def _bare_follower(endpoint: str, node_url: str, done: queue.Queue[float]) -> threading.Event:
    """The baseline: on each ``sequence`` message, GET the block's header from the node's
    REST interface; put the time it arrived. Returns the event that stops it."""
    import httpx
    import zmq

    stop = threading.Event()
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"sequence")
    sub.connect(endpoint)

    def loop() -> None:
        with httpx.Client(base_url=node_url, timeout=10) as client:
            while not stop.is_set():
                if not sub.poll(100):
                    continue
                _, body, _ = sub.recv_multipart()
                if body[32:33] != b"C":  # only a connected block
                    continue
                block_hash = body[:32].hex()
                response = client.get(f"/rest/headers/{block_hash}.json", params={"count": 1})
                response.raise_for_status()
                if response.json()[0]["hash"] != block_hash:
                    raise RuntimeError(f"the node answered another header than {block_hash}")
                done.put(time.monotonic())
        sub.close(linger=0)

    threading.Thread(target=loop, daemon=True).start()
    return stop


def run(blocks: int) -> dict[str, float]:
    import httpx
    import zmq

    from standins.bitcoind import StandinChain, StandinNode
    from standins.serving import first_answer, free_port

    chain = StandinChain.mainnet_like(919_000, start_height=915_000, seed=5)
    node = StandinNode(chain).start()
    publisher = zmq.Context.instance().socket(zmq.PUB)
    endpoint_port = publisher.bind_to_random_port("tcp://127.0.0.1")
    cli = [sys.executable, "-m", "minerwatch"]
    node_args = ["--url", node.url, "--cookie", str(node.cookie_file), "--skip-pow-check"]
    stop = threading.Event()
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "live.duckdb")
        subprocess.run([*cli, "sync", "node", *node_args, "--from-height", "915000", "--db", db],
                       check=True, capture_output=True)  # fmt: skip
        port = free_port()
        server = subprocess.Popen(
            [*cli, "serve", "--watch", *node_args, "--zmq", f"tcp://127.0.0.1:{endpoint_port}",
             "--port", str(port), "--db", db],
            stderr=None if DEBUG else subprocess.DEVNULL,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            first_answer(f"{base}/api/v1/info", server, 60).raise_for_status()
            seen: queue.Queue[float] = queue.Queue()
            reader = threading.Thread(
                target=_events, args=(f"{base}/events", seen, stop), daemon=True
            )
            reader.start()
            bare: queue.Queue[float] = queue.Queue()
            stop_bare = _bare_follower(f"tcp://127.0.0.1:{endpoint_port}", node.url, bare)
            time.sleep(2.0)  # the follower's first sync and the subscribers' connections
            while not seen.empty():
                seen.get()
            to_event, to_page, to_bare = [], [], []
            with httpx.Client(base_url=base, timeout=10) as client:
                for seq in range(blocks):
                    time.sleep(1.5)
                    while not seen.empty():  # the block before may announce twice (its
                        seen.get()  # commit, then the checkpoint as the follower closes)
                    node.extend(1)
                    body = bytes.fromhex(chain.hashes[-1])
                    published = time.monotonic()
                    publisher.send_multipart([b"sequence", body + b"C", struct.pack("<I", seq)])
                    announced = seen.get(timeout=30)
                    while announced < published:  # a late event of the block before
                        announced = seen.get(timeout=30)
                    client.get("/").raise_for_status()
                    shown = time.monotonic()
                    to_event.append(1000 * (announced - published))
                    to_page.append(1000 * (shown - published))
                    to_bare.append(1000 * (bare.get(timeout=30) - published))
            stop_bare.set()
        finally:
            stop.set()
            server.terminate()
            server.wait(20)
            publisher.close(linger=0)
            node.stop()
    return {
        "blocks": blocks,
        "to_event_ms_median": round(statistics.median(to_event), 1),
        "to_event_ms_max": round(max(to_event), 1),
        "to_page_ms_median": round(statistics.median(to_page), 1),
        "to_page_ms_max": round(max(to_page), 1),
        "baseline_header_fetched_ms_median": round(statistics.median(to_bare), 1),
        "baseline_header_fetched_ms_max": round(max(to_bare), 1),
        "ratio_event_to_baseline": round(
            statistics.median(to_event) / statistics.median(to_bare), 1
        ),
        "ratio_page_to_baseline": round(statistics.median(to_page) / statistics.median(to_bare), 1),
    }


def main(argv: list[str] | None = None) -> None:
    from report import emit, machine  # bench/report.py (bench/ is on the path)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    emit({**machine(), **run(args.blocks)}, args.json)


if __name__ == "__main__":
    main(sys.argv[1:])
