"""A stand-in Esplora server: mempool.space's shape (``/api/v1/blocks`` with ``extras``) or
Blockstream's (plain Esplora, no ``/v1``), over a generated chain.

The chain (:class:`StandinChain`) is made of real 80-byte headers (version, parent hash,
a made-up merkle root, time, bits, nonce); each block's hash is the byte-reversed double
SHA-256 of its header, so hashes, heights and parent links agree as on mainnet (the
nonces are not mined: proof of work does not hold). :meth:`StandinChain.mainnet` takes the
real header times of ``blocks_915264_919296.csv`` and the bits of ``difficulty_epochs.csv``.
Economics: the consensus subsidy, fees made up from the height, a pool, its coinbase tag
(BIP 34 height push and the pool's name) and a real payout address per pool.

Usage::

    chain = StandinChain.mainnet(data_dir, count=300)
    with EsploraStandin(chain) as mempool, EsploraStandin(chain, shape="blockstream") as bs:
        source = EsploraSource([mempool.url, bs.url])

Controls (thread-safe; the server answers from another thread):

- ``chain.extend(n)``: ``n`` new blocks on the tip, 600 s apart;
- ``chain.reorg(depth, extra=1)``: the top ``depth`` blocks replaced by ``depth + extra``
  new ones (other hashes); the replaced ones stay known, out of the best chain;
- ``server.reorg_after(requests, depth)``: a reorg once that many requests are answered;
- ``server.storm(count, retry_after_s)``: the next ``count`` requests answer HTTP 429 with
  ``Retry-After`` (omitted when None);
- ``server.down``: every request answers 503; :func:`dead_url` is a URL where nothing
  listens (a dead server);
- ``server.edit``: a function applied to each block mempool lists (to serve a bad one);
- ``server.expires_s``: responses carry ``Expires`` that many seconds ahead (None: none);
- ``server.requests``: (monotonic time, path) of every request received.
"""

from __future__ import annotations

import csv
import hashlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SUBSIDY_HALVING = 210_000
#: Pools of the stand-in, each with the real address it pays (mempool.space lists them).
POOLS = (
    ("Foundry USA", "bc1qxhmdufsvnuaaaer4ynz88fspdsxq2h9e9cetdj"),
    ("AntPool", "1JvXhnHCi6XqcanvrZJ5s2Qiv4tsmm2UMy"),
    ("ViaBTC", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"),
    ("Unknown", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),
)


def subsidy_sat(height: int) -> int:
    """``GetBlockSubsidy``, written out here so that the stand-in does not use the code it
    tests."""
    halvings = height // SUBSIDY_HALVING
    return 0 if halvings >= 64 else 5_000_000_000 >> halvings


def sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def fees_sat(height: int, branch: int) -> int:
    """The made-up total fees of a block, satoshis (depends on the branch, so a reorg's
    blocks differ in economics too)."""
    return 1_000_000 + (height * 7_919 + branch * 104_729) % 40_000_000


@dataclass
class Block:
    height: int
    hash: str
    prev_hash: str
    time: int
    bits: int
    version: int
    nonce: int
    header: bytes
    branch: int
    median_time: int

    @property
    def pool(self) -> tuple[str, str]:
        return POOLS[(self.height + self.branch) % len(POOLS)]

    @property
    def fees(self) -> int:
        return fees_sat(self.height, self.branch)

    @property
    def coinbase_raw(self) -> str:
        height = self.height.to_bytes(4, "little").rstrip(b"\x00") or b"\x00"
        tag = f"/{self.pool[0]}/".encode()
        return (bytes([len(height)]) + height + bytes([len(tag)]) + tag).hex()

    def plain(self) -> dict:
        """The block as plain Esplora lists it (``/api/blocks/:height``)."""
        return {
            "id": self.hash,
            "height": self.height,
            "version": self.version,
            "timestamp": self.time,
            "tx_count": 1 + self.height % 3000,
            "size": 1_000_000 + self.height % 500_000,
            "weight": 3_990_000 + self.height % 9_000,
            "merkle_root": self.header[36:68][::-1].hex(),
            "previousblockhash": self.prev_hash,
            "mediantime": self.median_time,
            "nonce": self.nonce,
            "bits": self.bits,
            "difficulty": 1.0,
        }

    def mempool(self) -> dict:
        """The block as mempool.space lists it (``/api/v1/blocks/:height``)."""
        name, address = self.pool
        extras = {
            "totalFees": self.fees,
            "medianFee": 11,
            "reward": subsidy_sat(self.height) + self.fees,
            "pool": {"id": 1, "name": name, "slug": name.lower(), "minerNames": None},
            "coinbaseRaw": self.coinbase_raw,
            "coinbaseAddress": address,
            "coinbaseAddresses": [address],
            "header": self.header.hex(),
            "orphans": [],
        }
        return {**self.plain(), "extras": extras}


class StandinChain:
    """Blocks by height on the best chain, and every block ever made by hash."""

    def __init__(self, first_height: int, times: list[int], bits: list[int], parent: str):
        self.lock = threading.RLock()
        self.best: list[Block] = []
        self.by_hash: dict[str, Block] = {}
        self.first_height = first_height
        self.parent = parent
        self.branch = 0
        self._append(times, bits)

    @classmethod
    def synthetic(
        cls, first_height: int = 0, count: int = 100, start_time: int = 1_231_006_505
    ) -> StandinChain:
        """``count`` blocks from ``first_height``, 600 s apart, at the genesis bits."""
        times = [start_time + 600 * i for i in range(count)]
        return cls(first_height, times, [0x1D00FFFF] * count, "00" * 32)

    @classmethod
    def mainnet(cls, data_dir: Path, first_height: int = 915_264, count: int = 300):
        """Blocks from ``first_height`` with their real header times and epoch bits."""
        from minerwatch.chain.consensus import difficulty_to_bits

        with open(data_dir / "blocks_915264_919296.csv", newline="") as f:
            times = {int(r["height"]): int(r["time"]) for r in csv.DictReader(f)}
        with open(data_dir / "difficulty_epochs.csv", newline="") as f:
            epochs = {int(r["start_height"]): float(r["difficulty"]) for r in csv.DictReader(f)}
        heights = range(first_height, first_height + count)
        bits = [difficulty_to_bits(epochs[h - h % 2016]) for h in heights]
        parent = sha256d(b"parent of %d" % first_height)[::-1].hex()
        return cls(first_height, [times[h] for h in heights], bits, parent)

    @property
    def tip(self) -> Block:
        return self.best[-1]

    def _append(self, times: list[int], bits: list[int]) -> None:
        for t, b in zip(times, bits, strict=True):
            height = self.first_height + len(self.best)
            prev = self.best[-1].hash if self.best else self.parent
            merkle = sha256d(b"merkle %d %d" % (height, self.branch))
            version = 0x20000000 | (self.branch & 0xFFFF) << 8
            nonce = (height * 2_654_435_761 + self.branch) & 0xFFFFFFFF
            header = struct.pack(
                "<i32s32sIII", version, bytes.fromhex(prev)[::-1], merkle, t, b, nonce
            )
            recent = sorted([x.time for x in self.best[-11:]] or [t - 1])
            block = Block(
                height,
                sha256d(header)[::-1].hex(),
                prev,
                t,
                b,
                version,
                nonce,
                header,
                self.branch,
                recent[len(recent) // 2],
            )
            self.best.append(block)
            self.by_hash[block.hash] = block

    def extend(self, n: int = 1) -> None:
        with self.lock:
            t, b = self.tip.time, self.tip.bits
            self._append([t + 600 * (i + 1) for i in range(n)], [b] * n)

    def reorg(self, depth: int, extra: int = 1) -> list[Block]:
        """Replace the top ``depth`` blocks by ``depth + extra`` new ones; the replaced
        blocks, lowest first."""
        with self.lock:
            stale = self.best[-depth:]
            del self.best[-depth:]
            self.branch += 1
            t0 = stale[0].time
            times = [t0 + 7 + 600 * i for i in range(depth + extra)]
            self._append(times, [stale[0].bits] * (depth + extra))
            return stale

    def at(self, height: int) -> Block | None:
        i = height - self.first_height
        return self.best[i] if 0 <= i < len(self.best) else None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        standin = self.server.standin
        standin.requests.append((time.monotonic(), self.path))
        status, body, kind = standin.answer(self.path)
        payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in standin.extra_headers(status).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: EsploraStandin


TEXT = "text/plain"
JSON = "application/json"


class EsploraStandin:
    """An Esplora server on 127.0.0.1 over ``chain`` (see the module docstring); ``url``
    is its base URL (``http://127.0.0.1:PORT/api``)."""

    def __init__(self, chain: StandinChain, shape: str = "mempool") -> None:
        if shape not in ("mempool", "blockstream"):
            raise ValueError(shape)
        self.chain, self.shape = chain, shape
        self.requests: list[tuple[float, str]] = []
        self.down = False
        self.expires_s: float | None = None
        self.edit: Callable[[dict], dict] = lambda block: block
        self._storm: list[float | None] = []
        self._reorg_after: tuple[int, int] | None = None
        self._retry_after: float | None = None
        self._http = _Server(("127.0.0.1", 0), _Handler)
        self._http.standin = self
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/api"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> EsploraStandin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def storm(self, count: int, retry_after_s: float | None = 1.0) -> None:
        """The next ``count`` requests answer 429 (``Retry-After: retry_after_s``)."""
        self._storm = [retry_after_s] * count

    def reorg_after(self, requests: int, depth: int) -> None:
        """Reorganise the chain by ``depth`` once the server has answered ``requests``
        requests in all (a reorg between two calls of one page)."""
        self._reorg_after = (requests, depth)

    def paths(self) -> list[str]:
        return [p for _, p in self.requests]

    def extra_headers(self, status: int) -> dict[str, str]:
        headers = {}
        if status == 429 and self._retry_after is not None:
            headers["Retry-After"] = f"{self._retry_after:g}"
        if status == 200 and self.expires_s is not None:
            headers["Expires"] = formatdate(time.time() + self.expires_s, usegmt=True)
        return headers

    def answer(self, path: str) -> tuple[int, object, str]:
        if self.down:
            return 503, "Service Unavailable", TEXT
        if self._storm:
            self._retry_after = self._storm.pop(0)
            return 429, "Too Many Requests", TEXT
        parts = path.split("?")[0].strip("/").split("/")
        if parts[0] != "api":
            return 404, "Not Found", TEXT
        route = parts[1:]
        with self.chain.lock:
            answer = self._route(route)
            if self._reorg_after and len(self.requests) >= self._reorg_after[0]:
                self.chain.reorg(self._reorg_after[1])
                self._reorg_after = None
            return answer

    def _route(self, route: list[str]) -> tuple[int, object, str]:
        chain = self.chain
        match route:
            case ["blocks", "tip", "height"]:
                return 200, str(chain.tip.height), TEXT
            case ["blocks", "tip", "hash"]:
                return 200, chain.tip.hash, TEXT
            case ["block-height", height] if height.isdigit():
                block = chain.at(int(height))
                return (200, block.hash, TEXT) if block else (404, "Block not found", TEXT)
            case ["block", block_hash, "status"]:
                block = chain.by_hash.get(block_hash)
                if block is None:
                    return 404, "Block not found", TEXT
                best = chain.at(block.height) is block
                above = chain.at(block.height + 1) if best else None
                status = {"in_best_chain": best}
                if best:
                    status["height"] = block.height
                    status["next_best"] = above.hash if above else None
                return 200, status, JSON
            case ["v1", "blocks", height] if height.isdigit() and self.shape == "mempool":
                # mempool's getBlocks: 15 from the height down; above the tip, the limit
                # shrinks by the excess and the list starts at the tip.
                top, limit = int(height), 15
                if top > chain.tip.height:
                    limit -= top - chain.tip.height
                    top = chain.tip.height
                heights = range(top, max(top - limit, chain.first_height - 1), -1)
                return 200, [self.edit(chain.at(h).mempool()) for h in heights], JSON
            case ["blocks", height] if height.isdigit():
                top = min(int(height), chain.tip.height)
                heights = range(top, max(top - 10, chain.first_height - 1), -1)
                return 200, [chain.at(h).plain() for h in heights], JSON
        return 404, "Not Found", TEXT


def dead_url() -> str:
    """An Esplora URL on a port of 127.0.0.1 where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"
