"""A stand-in Bitcoin Core: a real HTTP server on 127.0.0.1 speaking bitcoind's protocols.

What it speaks, as Bitcoin Core does (``src/httprpc.cpp``, ``src/rest.cpp``,
``src/rpc/blockchain.cpp``, ``src/rpc/rawtransaction.cpp``, ``doc/REST-interface.md``,
``doc/JSON-RPC-interface.md``):

- HTTP basic auth against a cookie file written into a temporary data directory
  (``<datadir>/<network folder>/.cookie`` holding ``__cookie__:<random hex>``) and, when
  configured, an ``rpcuser``/``rpcpassword``; HTTP 401 with ``WWW-Authenticate: Basic
  realm="jsonrpc"`` otherwise. :meth:`StandinNode.rotate_cookie` writes a new cookie (as a
  restarted node does): the old one gets 401 from then on.
- JSON-RPC over ``POST /``: single requests and batches (arrays). A request with
  ``"jsonrpc": "2.0"`` to a node of version >= 28.0 gets strict 2.0 replies (HTTP 200,
  ``result`` or ``error``, ``"jsonrpc": "2.0"``); every other request gets the legacy
  1.1 semantics (``result`` and ``error`` both present; one failing request answered with
  HTTP 500, 404 for an unknown method, 400 for an invalid request; a batch always HTTP 200).
  Methods: getnetworkinfo, getblockchaininfo, getbestblockhash, getblockcount, getblockhash,
  getblockheader, getblockstats, getblock (verbosity 1), getrawtransaction (the coinbase,
  with its block hash).
- REST (``rest=True``; HTTP 404 for everything under ``/rest/`` otherwise):
  ``/rest/headers/<hash>.<bin|hex|json>?count=N`` (version >= 24.0),
  ``/rest/headers/<N>/<hash>.<ext>`` (every version), ``/rest/chaininfo.json``,
  ``/rest/blockhashbyheight/<h>.<bin|hex|json>``.
- Warm-up: the first ``warmup_requests`` requests get RPC error -28 ("Loading block
  index…") or, on REST, HTTP 503.
- ``shuffle_batches``: batch replies come in reverse order (clients must match by ``id``).

Chains (:class:`StandinChain`): ``mainnet_like`` (genesis is the real mainnet genesis
header; then each epoch's real bits from ``difficulty_epochs.csv`` and real block times from
``blocks_915264_919296.csv`` where it covers, elsewhere times spread evenly between the
known epoch start times, strictly above each block's median time past; hashes computed from
the header fields, but no valid proof of work: sync with the PoW check off) and
``regtest_like`` (the real regtest genesis, then headers at bits 0x207fffff with the nonce
ground until the proof of work is valid, ~2 tries a header). Coinbase tags (real pool tags
from ``mining_pools/``), payout scripts, fees, tx counts, sizes and weights are drawn from a
seeded generator per block and branch; subsidies follow the network's schedule.

Controls: :meth:`StandinNode.extend`, :meth:`StandinNode.reorg` (replace the top ``depth``
blocks by a new branch, ``extra`` blocks longer), the switches above as attributes, and
``requests`` (a Counter of what was asked: ``"rpc:getblockhash"``, ``"rest:headers"``,
``"http:401"``, ...).

Run as a server for demos and benchmarks::

    python -m tests.standins.bitcoind --port 18443 --chain mainnet-like --height 930000
"""

from __future__ import annotations

import argparse
import base64
import collections
import hashlib
import json
import secrets
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from minerwatch.chain import headers as hdr
from minerwatch.chain.consensus import bits_to_difficulty, bits_to_target
from minerwatch.chain.networks import MAIN, REGTEST, Network

DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"
DEFAULT_VERSION = 280_000
BIP34_HEIGHT = 227_931
SEGWIT_HEIGHT = 481_824
_SHA = hashlib.sha256


# --- chain ---------------------------------------------------------------------------------


def _mainnet_times(heights: np.ndarray, data_dir: Path) -> np.ndarray:
    """Header times for mainnet-like heights: real ones where the blocks file covers,
    otherwise linear between known epoch start times (genesis included), 600 s a block
    after the last; then lifted where needed to exceed the median time past."""
    from minerwatch.sources.files import read_epochs

    epochs = read_epochs(data_dir / "difficulty_epochs.csv")
    known = epochs.start_time >= 0
    knot_h = np.concatenate([[0], epochs.start_height[known]]).astype(np.float64)
    knot_t = np.concatenate([[MAIN.genesis_time], epochs.start_time[known]]).astype(np.float64)
    top = max(float(heights.max(initial=0)) + 1, knot_h[-1] + 1)
    knot_t = np.append(knot_t, knot_t[-1] + 600 * (top - knot_h[-1]))
    knot_h = np.append(knot_h, top)
    times = np.floor(np.interp(heights, knot_h, knot_t)).astype(np.int64)
    times = np.maximum.accumulate(times - heights) + heights  # strictly rising
    real = np.loadtxt(
        data_dir / "blocks_915264_919296.csv", delimiter=",", skiprows=1, dtype=np.int64
    )
    pos = np.searchsorted(real[:, 0], heights)
    hit = (pos < len(real)) & (real[np.minimum(pos, len(real) - 1), 0] == heights)
    times[hit] = real[pos[hit], 1]
    return times


def _lift_above_mtp(times: np.ndarray, before: np.ndarray) -> np.ndarray:
    """``times`` raised where a block's time is not above the median time past of its
    parent (the median of the 11 blocks before it; ``before`` holds the chain's times just
    before the first): Core's ``time-too-old`` rule, which real headers always meet."""
    series = np.concatenate([before, times]).astype(np.int64)
    k0 = len(before)
    lo = k0
    while True:
        ahead = series[lo:]
        mtp = hdr.median_time_past(ahead, series[max(0, lo - 10) : lo])
        parent_mtp = np.concatenate([[np.iinfo(np.int64).min if lo == 0 else -1], mtp[:-1]])
        if lo > 0:
            parent_mtp[0] = hdr.median_time_past(
                series[lo - 1 : lo], series[max(0, lo - 11) : lo - 1]
            )[0]
        bad = np.flatnonzero(ahead <= parent_mtp)
        if not len(bad):
            return series[k0:]
        first = lo + int(bad[0])
        for j in range(first, min(len(series), first + 256)):  # fix a stretch in order
            window = np.sort(series[max(0, j - hdr.MEDIAN_TIME_SPAN) : j])
            if len(window) and series[j] <= window[len(window) // 2]:
                series[j] = window[len(window) // 2] + 1
        lo = first


@dataclass
class _Block:
    """A stale block kept after a reorg: its height, header bytes and economics row."""

    height: int
    raw: bytes
    econ: dict[str, Any]


class StandinChain:
    """The node's best chain (columnar) and the stale blocks reorgs left behind."""

    def __init__(self, network: Network, kind: str, seed: int, data_dir: Path) -> None:
        self.network = network
        self.kind = kind
        self.seed = seed
        self.data_dir = data_dir
        self.start_height = 0
        self.fields = np.zeros(0, hdr.HEADER_DTYPE)
        self.digests = np.zeros((0, 32), np.uint8)
        self.hashes = np.zeros(0, object)
        self.median_time = np.zeros(0, np.int64)
        self.chainwork: list[int] = []
        self.econ: dict[str, np.ndarray] = {}
        self.branch = np.zeros(0, np.int64)
        self.next_branch = 1
        self.stale: dict[str, _Block] = {}
        self._index: dict[str, int] = {}
        self._pools = _pool_tags(data_dir)
        self._epoch_bits: tuple[np.ndarray, np.ndarray] | None = None

    # builders -------------------------------------------------------------------------

    @classmethod
    def mainnet_like(
        cls, height: int, *, start_height: int = 0, seed: int = 1, data_dir: Path = DATA_DIR
    ) -> StandinChain:
        """Heights ``start_height .. height`` with mainnet epochs' bits and times."""
        chain = cls(MAIN, "mainnet-like", seed, data_dir)
        chain.start_height = start_height
        chain._append(height - start_height + 1, branch=0)
        return chain

    @classmethod
    def regtest_like(cls, height: int, *, seed: int = 1, data_dir: Path = DATA_DIR) -> StandinChain:
        """Heights ``0 .. height`` of a regtest chain with real proof of work."""
        chain = cls(REGTEST, "regtest-like", seed, data_dir)
        chain._append(height + 1, branch=0)
        return chain

    @property
    def tip_height(self) -> int:
        return self.start_height + len(self.fields) - 1

    def extend(self, n: int) -> None:
        """``n`` more blocks on the best chain."""
        self._append(n, branch=int(self.branch[-1]) if len(self.branch) else 0)

    def reorg(self, depth: int, extra: int = 0) -> list[str]:
        """Replace the top ``depth`` blocks by a new branch of ``depth + extra`` blocks;
        returns the replaced hashes (now stale)."""
        if not 1 <= depth <= len(self.fields) - 1:
            raise ValueError(f"reorg depth {depth} out of range")
        keep = len(self.fields) - depth
        replaced = [str(h) for h in self.hashes[keep:]]
        for i in range(keep, len(self.fields)):
            row = {k: v[i] for k, v in self.econ.items()}
            self.stale[str(self.hashes[i])] = _Block(
                self.start_height + i, self.fields[i : i + 1].tobytes(), row
            )
            self._index.pop(str(self.hashes[i]), None)
        self._truncate(keep)
        branch = self.next_branch
        self.next_branch += 1
        self._append(depth + extra, branch=branch)
        return replaced

    def _truncate(self, keep: int) -> None:
        self.fields = self.fields[:keep]
        self.digests = self.digests[:keep]
        self.hashes = self.hashes[:keep]
        self.median_time = self.median_time[:keep]
        self.chainwork = self.chainwork[:keep]
        self.branch = self.branch[:keep]
        self.econ = {k: v[:keep] for k, v in self.econ.items()}

    def _bits(self, heights: np.ndarray) -> np.ndarray:
        if self.kind == "regtest-like":
            return np.full(len(heights), REGTEST.genesis_bits, np.int64)
        if self._epoch_bits is None:
            from minerwatch.sources.files import read_epochs

            epochs = read_epochs(self.data_dir / "difficulty_epochs.csv")
            self._epoch_bits = (epochs.start_height, epochs.bits)
        starts, bits = self._epoch_bits
        return bits[np.clip(np.searchsorted(starts, heights, side="right") - 1, 0, None)]

    def _times(self, heights: np.ndarray, branch: int) -> np.ndarray:
        if self.kind == "regtest-like":
            base = REGTEST.genesis_time + 600 * heights
        else:
            base = _mainnet_times(heights, self.data_dir)
        times = base + (branch % 5) * (heights > 0)  # a branch's blocks differ in time too
        before = self.fields["time"][-hdr.MEDIAN_TIME_SPAN :].astype(np.int64)
        return _lift_above_mtp(times, before)

    def _append(self, n: int, *, branch: int) -> None:
        if n <= 0:
            return
        first = self.start_height + len(self.fields)
        heights = np.arange(first, first + n, dtype=np.int64)
        rng = np.random.default_rng([self.seed, branch, first])
        fields = np.zeros(n, hdr.HEADER_DTYPE)
        fields["version"] = np.where(heights < BIP34_HEIGHT, 1, 0x20000000)
        fields["merkle"] = rng.integers(0, 256, (n, 32), dtype=np.uint8)
        fields["time"] = self._times(heights, branch)
        fields["bits"] = self._bits(heights)
        fields["nonce"] = rng.integers(0, 2**32, n, dtype=np.uint64)
        genesis = first == 0
        if genesis:  # the network's real genesis header
            net = self.network
            fields[0] = np.frombuffer(
                hdr.serialize_headers(
                    1,
                    "00" * 32,
                    net.genesis_merkle_root,
                    net.genesis_time,
                    net.genesis_bits,
                    net.genesis_nonce,
                ),
                hdr.HEADER_DTYPE,
            )[0]
        parent = self.digests[-1].tobytes() if len(self.digests) else _fake_parent(first)
        digests = self._link(fields, parent, grind=self.kind == "regtest-like", skip=genesis)
        self.fields = np.concatenate([self.fields, fields])
        self.digests = np.concatenate([self.digests, digests])
        new_hashes = hdr.digests_to_hex(digests)
        self.hashes = np.concatenate([self.hashes, new_hashes])
        before = self.fields["time"][-(n + hdr.MEDIAN_TIME_SPAN - 1) : -n].astype(np.int64)
        self.median_time = np.concatenate(
            [self.median_time, hdr.median_time_past(fields["time"], before if first else None)]
        )
        parent_work = self.chainwork[-1] if self.chainwork else 0
        self.chainwork = self.chainwork + hdr.chainwork(fields["bits"], parent_work)
        self.branch = np.concatenate([self.branch, np.full(n, branch, np.int64)])
        econ = self._economics(heights, rng)
        self.econ = {
            k: np.concatenate([self.econ[k], v]) if self.econ else v for k, v in econ.items()
        }
        self._index.update(zip(new_hashes.tolist(), range(first, first + n), strict=True))

    @staticmethod
    def _link(fields: np.ndarray, parent: bytes, *, grind: bool, skip: bool) -> np.ndarray:
        """Set each header's prev to the hash before it and hash it (grinding the nonce to a
        valid proof of work when ``grind``); returns the digests. A genesis header (``skip``)
        keeps its zero parent."""
        buf = bytearray(fields.tobytes())
        view = memoryview(buf)
        sha = _SHA
        out = bytearray()
        prev = parent
        if skip:  # the genesis header keeps its zero parent
            prev = sha(sha(view[0:80]).digest()).digest()
            out += prev
        bits = fields["bits"].tolist()
        targets = {b: bits_to_target(b) for b in set(bits)} if grind else {}
        for i in range(skip, len(fields)):
            off = 80 * i
            buf[off + 4 : off + 36] = prev
            digest = sha(sha(view[off : off + 80]).digest()).digest()
            if grind:
                target, nonce = targets[bits[i]], int.from_bytes(buf[off + 76 : off + 80], "little")
                while int.from_bytes(digest, "little") > target:
                    nonce = (nonce + 1) & 0xFFFFFFFF
                    buf[off + 76 : off + 80] = nonce.to_bytes(4, "little")
                    digest = sha(sha(view[off : off + 80]).digest()).digest()
            out += digest
            prev = digest
        fields[:] = np.frombuffer(bytes(buf), hdr.HEADER_DTYPE)
        return np.frombuffer(bytes(out), np.uint8).reshape(-1, 32).copy()

    def _economics(self, heights: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        n = len(heights)
        busy = np.clip((heights - 100_000) / 150.0, 0, 3_000)
        tx_count = 1 + rng.poisson(busy)
        fee_per_tx = rng.integers(1_000, 20_000, n)
        fees = (tx_count - 1) * fee_per_tx
        size = 285 + (tx_count - 1) * rng.integers(250, 400, n)
        weight = np.where(heights >= SEGWIT_HEIGHT, size * 3 + size // 3, size * 4)
        pool = np.where(
            heights < 150_000, -1, rng.integers(-len(self._pools) // 4, len(self._pools), n)
        )
        return {
            "subsidy": self.network.subsidy_sat_array(heights),
            "fees": fees.astype(np.int64),
            "tx_count": tx_count.astype(np.int64),
            "size": size.astype(np.int64),
            "weight": weight.astype(np.int64),
            "pool": pool.astype(np.int64),
            "coinbase_txid": rng.integers(0, 256, (n, 32), dtype=np.uint8),
            "payout": rng.integers(0, 256, (n, 20), dtype=np.uint8),
            "extranonce": rng.integers(0, 2**63, n, dtype=np.int64),
        }

    # reads ------------------------------------------------------------------------------

    def find(self, block_hash: str) -> tuple[int, bytes, dict[str, Any], bool] | None:
        """(height, header bytes, economics row, on the best chain) of a block, or None."""
        i = self._index.get(block_hash)
        if i is not None:
            j = i - self.start_height
            return (
                i,
                self.fields[j : j + 1].tobytes(),
                {k: v[j] for k, v in self.econ.items()},
                True,
            )
        stale = self.stale.get(block_hash)
        if stale is not None:
            return stale.height, stale.raw, stale.econ, False
        return None

    def coinbase(self, height: int, econ: dict[str, Any]) -> dict[str, Any]:
        """The coinbase of a block: txid, scriptSig hex and outputs (scriptPubKey hex, value)."""
        tag = b""
        if height >= BIP34_HEIGHT:
            h = int(height).to_bytes(4, "little").rstrip(b"\x00") or b"\x00"
            if h[-1] & 0x80:
                h += b"\x00"
            tag += bytes([len(h)]) + h
        else:
            tag += bytes.fromhex("04ffff001d0104")
        pool = int(econ["pool"])
        if pool >= 0:
            tag += self._pools[pool].encode()
        tag += int(econ["extranonce"]).to_bytes(8, "little")
        payout = bytes(econ["payout"]).hex()
        value = int(econ["subsidy"]) + int(econ["fees"])
        if height >= SEGWIT_HEIGHT:
            outs = [
                ("0014" + payout, value),
                ("6a24aa21a9ed" + bytes(econ["coinbase_txid"]).hex(), 0),
            ]
        else:
            outs = [("76a914" + payout + "88ac", value)]
        return {"txid": bytes(econ["coinbase_txid"]).hex(), "scriptsig": tag.hex(), "outputs": outs}


def _fake_parent(height: int) -> bytes:
    """The parent taken on trust for a chain that starts above genesis."""
    return _SHA(f"stand-in parent of {height}".encode()).digest()


def _pool_tags(data_dir: Path) -> list[str]:
    """The first tag of every pool in the mining-pools list that has one (ASCII only)."""
    path = data_dir / "mining_pools" / "generated_pool-list.json"
    pools = json.loads(path.read_text(encoding="utf-8"))
    return [p["tags"][0] for p in pools if p.get("tags") and p["tags"][0].isascii()]


# --- server --------------------------------------------------------------------------------


class _RpcFailure(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class StandinNode:
    """A stand-in bitcoind serving ``chain`` on 127.0.0.1 (see the module docstring).

    Use as a context manager (starts and stops the server thread). ``url``,
    ``datadir`` (holds the network's ``.cookie``), ``cookie_file``, ``network`` (minerwatch's
    name) tell clients where and what it is.
    """

    def __init__(
        self,
        chain: StandinChain,
        *,
        version: int = DEFAULT_VERSION,
        rest: bool = True,
        warmup_requests: int = 0,
        shuffle_batches: bool = False,
        rpcuser: str | None = None,
        rpcpassword: str | None = None,
        cookie: bool = True,
        datadir: Path | None = None,
        port: int = 0,
    ) -> None:
        self.chain = chain
        self.version = version
        self.rest = rest
        self.warmup_requests = warmup_requests
        self.shuffle_batches = shuffle_batches
        self.rpcuser, self.rpcpassword = rpcuser, rpcpassword
        self.requests: collections.Counter[str] = collections.Counter()
        self.lock = threading.RLock()
        self._tmp = None if datadir is not None else tempfile.TemporaryDirectory(prefix="bitcoind-")
        self.datadir = Path(datadir) if datadir is not None else Path(self._tmp.name)  # type: ignore[union-attr]
        sub = chain.network.datadir_subdir
        self.cookie_file = (self.datadir / sub if sub else self.datadir) / ".cookie"
        self._cookie: str | None = None
        if cookie:
            self.rotate_cookie()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def network(self) -> str:
        return self.chain.network.name

    def start(self) -> StandinNode:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> StandinNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # controls -----------------------------------------------------------------------------

    def rotate_cookie(self) -> None:
        """Write a new cookie, as a restarted node does; the old one is refused from now on."""
        with self.lock:
            self._cookie = f"__cookie__:{secrets.token_hex(32)}"
            self.cookie_file.parent.mkdir(parents=True, exist_ok=True)
            self.cookie_file.write_text(self._cookie)

    def extend(self, n: int) -> None:
        with self.lock:
            self.chain.extend(n)

    def reorg(self, depth: int, extra: int = 0) -> list[str]:
        with self.lock:
            return self.chain.reorg(depth, extra)

    # protocol -----------------------------------------------------------------------------

    def authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            given = base64.b64decode(header[6:].strip()).decode()
        except ValueError:
            return False
        allowed = [self._cookie] if self._cookie else []
        if self.rpcpassword is not None:
            allowed.append(f"{self.rpcuser or ''}:{self.rpcpassword}")
        return any(secrets.compare_digest(given, a) for a in allowed if a)

    def warming_up(self) -> bool:
        with self.lock:
            if self.warmup_requests > 0:
                self.warmup_requests -= 1
                return True
            return False

    def rpc(self, method: str, params: Any) -> Any:
        self.requests[f"rpc:{method}"] += 1
        handler = getattr(self, f"_rpc_{method}", None)
        if handler is None:
            raise _RpcFailure(-32601, "Method not found")
        if not isinstance(params, list):
            raise _RpcFailure(-32602, "params must be an array (by-name not in the stand-in)")
        with self.lock:
            return handler(*params)

    # RPC methods (Core's result shapes) ------------------------------------------------------

    def _rpc_getnetworkinfo(self) -> dict[str, Any]:
        major, minor = divmod(self.version // 100, 100)
        return {
            "version": self.version,
            "subversion": f"/Satoshi:{major}.{minor}.0/",
            "protocolversion": 70016,
            "connections": 8,
            "networkactive": True,
            "relayfee": 0.00001,
            "warnings": [],
        }

    def _rpc_getblockchaininfo(self) -> dict[str, Any]:
        c = self.chain
        tip = len(c.fields) - 1
        return {
            "chain": c.network.chain,
            "blocks": c.tip_height,
            "headers": c.tip_height,
            "bestblockhash": str(c.hashes[tip]),
            "bits": f"{int(c.fields['bits'][tip]):08x}",
            "difficulty": bits_to_difficulty(int(c.fields["bits"][tip])),
            "time": int(c.fields["time"][tip]),
            "mediantime": int(c.median_time[tip]),
            "verificationprogress": 1.0,
            "initialblockdownload": False,
            "chainwork": f"{c.chainwork[tip]:064x}",
            "size_on_disk": 0,
            "pruned": False,
            "warnings": [],
        }

    def _rpc_getbestblockhash(self) -> str:
        return str(self.chain.hashes[-1])

    def _rpc_getblockcount(self) -> int:
        return self.chain.tip_height

    def _rpc_getblockhash(self, height: Any) -> str:
        c = self.chain
        if not isinstance(height, int) or not c.start_height <= height <= c.tip_height:
            raise _RpcFailure(-8, "Block height out of range")
        return str(c.hashes[height - c.start_height])

    def _found(self, block_hash: Any) -> tuple[int, bytes, dict[str, Any], bool]:
        found = self.chain.find(str(block_hash)) if isinstance(block_hash, str) else None
        if found is None:
            raise _RpcFailure(-5, "Block not found")
        return found

    def _rpc_getblockheader(self, block_hash: Any, verbose: bool = True) -> Any:
        height, raw, econ, active = self._found(block_hash)
        if not verbose:
            return raw.hex()
        return self._header_json(str(block_hash), height, raw, econ, active)

    def _header_json(
        self, block_hash: str, height: int, raw: bytes, econ: dict[str, Any], active: bool
    ) -> dict[str, Any]:
        c = self.chain
        f = np.frombuffer(raw, hdr.HEADER_DTYPE)[0]
        j = height - c.start_height
        if active:
            median, work = int(c.median_time[j]), c.chainwork[j]
        else:  # a stale block: its own branch's values are not kept; recompute from its parent
            earlier = c.fields["time"][max(0, j - 10) : j].astype(np.int64)
            median = int(hdr.median_time_past(np.array([int(f["time"])]), earlier)[0])
            work = (c.chainwork[j - 1] if j > 0 else 0) + hdr.block_works(np.array([f["bits"]]))[0]
        out: dict[str, Any] = {
            "hash": block_hash,
            "confirmations": c.tip_height - height + 1 if active else -1,
            "height": height,
            "version": int(f["version"]),
            "versionHex": f"{int(f['version']) & 0xFFFFFFFF:08x}",
            "merkleroot": bytes(f["merkle"][::-1]).hex(),
            "time": int(f["time"]),
            "mediantime": median,
            "nonce": int(f["nonce"]),
            "bits": f"{int(f['bits']):08x}",
            "target": f"{bits_to_target(int(f['bits'])):064x}",
            "difficulty": bits_to_difficulty(int(f["bits"])),
            "chainwork": f"{work:064x}",
            "nTx": int(econ["tx_count"]),
        }
        if height > 0:
            out["previousblockhash"] = bytes(f["prev"][::-1]).hex()
        if active and height < c.tip_height:
            out["nextblockhash"] = str(c.hashes[j + 1])
        return out

    def _rpc_getblockstats(self, hash_or_height: Any, stats: Any = None) -> dict[str, Any]:
        if isinstance(hash_or_height, int):
            hash_or_height = self._rpc_getblockhash(hash_or_height)
        height, raw, econ, _ = self._found(hash_or_height)
        every = {
            "blockhash": str(hash_or_height),
            "height": height,
            "subsidy": int(econ["subsidy"]),
            "totalfee": int(econ["fees"]),
            "txs": int(econ["tx_count"]),
            # Core sums these over the non-coinbase transactions only
            "total_size": max(0, int(econ["size"]) - 285),
            "total_weight": max(0, int(econ["weight"]) - 1140),
            "time": int(np.frombuffer(raw, hdr.HEADER_DTYPE)[0]["time"]),
        }
        if stats is None:
            return every
        unknown = [s for s in stats if s not in every]
        if unknown:
            raise _RpcFailure(-8, f"Invalid selected statistic '{unknown[0]}'")
        return {s: every[s] for s in stats}

    def _rpc_getblock(self, block_hash: Any, verbosity: Any = 1) -> dict[str, Any]:
        height, raw, econ, active = self._found(block_hash)
        if verbosity != 1:
            raise _RpcFailure(-8, "the stand-in serves getblock at verbosity 1 only")
        out = self._header_json(str(block_hash), height, raw, econ, active)
        coinbase = self.chain.coinbase(height, econ)
        prefix = f"{height:016x}{int(econ['extranonce']) & 0xFFFFFFFF:08x}"
        txids = [coinbase["txid"]] + [f"{prefix}{i:040x}" for i in range(1, int(econ["tx_count"]))]
        out.update(
            {
                "size": int(econ["size"]),
                "strippedsize": int(econ["weight"]) // 4,
                "weight": int(econ["weight"]),
                "tx": txids,
            }
        )
        return out

    def _rpc_getrawtransaction(
        self, txid: Any, verbose: Any = False, block_hash: Any = None
    ) -> Any:
        if block_hash is None:
            raise _RpcFailure(
                -5,
                "No such mempool transaction. Use -txindex or provide a block hash to enable "
                "blockchain transaction queries. Use gettransaction for wallet transactions.",
            )
        height, _, econ, active = self._found(block_hash)
        coinbase = self.chain.coinbase(height, econ)
        if txid != coinbase["txid"]:
            raise _RpcFailure(
                -5,
                "No such transaction found in the provided block. Use gettransaction for "
                "wallet transactions.",
            )
        if height == 0:
            raise _RpcFailure(
                -5,
                "The genesis block coinbase is not considered an ordinary transaction and "
                "cannot be retrieved",
            )
        if not verbose:
            raise _RpcFailure(-8, "the stand-in serves getrawtransaction verbose only")
        return {
            "txid": txid,
            "hash": txid,
            "version": 2,
            "locktime": 0,
            "vin": [{"coinbase": coinbase["scriptsig"], "sequence": 4294967295}],
            "vout": [
                {"value": v / 1e8, "n": n, "scriptPubKey": {"hex": script}}
                for n, (script, v) in enumerate(coinbase["outputs"])
            ],
            "blockhash": block_hash,
            "in_active_chain": active,
            "confirmations": self.chain.tip_height - height + 1 if active else 0,
        }

    # REST ---------------------------------------------------------------------------------

    def rest_get(self, path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        """(status, content type, body) of a REST GET."""
        text = "text/plain"
        parts = path.split("/")[2:]  # after "", "rest"
        if not parts:
            return 404, text, b""
        kind, rest = parts[0], "/".join(parts[1:])
        self.requests[f"rest:{kind}"] += 1
        stem, _, ext = rest.rpartition(".")
        with self.lock:
            if kind == "chaininfo" and rest == "json":
                return 200, "application/json", json.dumps(self._rpc_getblockchaininfo()).encode()
            if kind == "blockhashbyheight":
                try:
                    block_hash = self._rpc_getblockhash(int(stem))
                except (ValueError, _RpcFailure):
                    return 404, text, b"Block height out of range\r\n"
                return _format(ext, bytes.fromhex(block_hash)[::-1], {"blockhash": block_hash})
            if kind == "headers":
                return self._rest_headers(stem, ext, query)
        return 404, text, b""

    def _rest_headers(
        self, stem: str, ext: str, query: dict[str, list[str]]
    ) -> tuple[int, str, bytes]:
        text = "text/plain"
        pieces = stem.split("/")
        if len(pieces) == 2:
            count_text, block_hash = pieces
        elif len(pieces) == 1 and self.version >= 240_000:
            count_text, block_hash = query.get("count", ["5"])[0], pieces[0]
        else:
            return (
                400,
                text,
                b"No header count specified. Use /rest/headers/<count>/<hash>.<ext>.\r\n",
            )
        try:
            count = int(count_text)
        except ValueError:
            count = 0
        if not 1 <= count <= 2000:
            return (
                400,
                text,
                b"Header count is invalid or out of acceptable range (1-2000): "
                + count_text.encode()
                + b"\r\n",
            )
        c = self.chain
        i = c._index.get(block_hash)
        rows = []
        if i is not None:
            j = i - c.start_height
            rows = list(range(j, min(j + count, len(c.fields))))
        raw = c.fields[rows[0] : rows[-1] + 1].tobytes() if rows else b""
        if ext == "json":
            docs = [
                self._header_json(
                    str(c.hashes[j]),
                    c.start_height + j,
                    c.fields[j : j + 1].tobytes(),
                    {k: v[j] for k, v in c.econ.items()},
                    True,
                )
                for j in rows
            ]
            return 200, "application/json", json.dumps(docs).encode()
        return _format(ext, raw, None)


def _format(ext: str, raw: bytes, doc: Any) -> tuple[int, str, bytes]:
    if ext == "bin":
        return 200, "application/octet-stream", raw
    if ext == "hex":
        return 200, "text/plain", (raw.hex() + "\n").encode()
    if ext == "json" and doc is not None:
        return 200, "application/json", json.dumps(doc).encode()
    return 404, "text/plain", b"output format not found (available: .bin, .hex, .json)\r\n"


def _handler(node: StandinNode) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall between header and body
        wbufsize = -1  # headers and body leave in one write

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _reply(
            self, status: int, body: bytes, content_type: str, extra: dict | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            split = urlsplit(self.path)
            if not split.path.startswith("/rest/") or not node.rest:
                node.requests["http:404"] += 1
                self._reply(404, b"", "text/html")
                return
            if node.warming_up():
                self._reply(
                    503,
                    b"Service temporarily unavailable: Loading block index\xe2\x80\xa6\r\n",
                    "text/plain",
                )
                return
            status, kind, body = node.rest_get(split.path, parse_qs(split.query))
            self._reply(status, body, kind)

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if not node.authorized(self.headers.get("Authorization")):
                node.requests["http:401"] += 1
                self._reply(401, b"", "text/html", {"WWW-Authenticate": 'Basic realm="jsonrpc"'})
                return
            warm = node.warming_up()
            try:
                request = json.loads(body)
            except ValueError:
                self._reply(
                    500,
                    json.dumps(
                        {
                            "result": None,
                            "error": {"code": -32700, "message": "Parse error"},
                            "id": None,
                        }
                    ).encode(),
                    "application/json",
                )
                return
            if isinstance(request, list):
                replies = [self._one(r, warm)[1] for r in request]
                if node.shuffle_batches:
                    replies.reverse()
                self._reply(200, json.dumps(replies).encode(), "application/json")
                return
            status, reply = self._one(request, warm)
            self._reply(status, json.dumps(reply).encode(), "application/json")

        def _one(self, request: Any, warm: bool) -> tuple[int, dict[str, Any]]:
            """(HTTP status if sent alone, reply object) of one request."""
            if not isinstance(request, dict):
                return 400, {
                    "result": None,
                    "error": {"code": -32600, "message": "Invalid Request object"},
                    "id": None,
                }
            ident = request.get("id")
            node.requests[f"jsonrpc:{request.get('jsonrpc')}"] += 1
            strict = request.get("jsonrpc") == "2.0" and node.version >= 280_000
            try:
                if warm:
                    raise _RpcFailure(-28, "Loading block index…")
                result = node.rpc(str(request.get("method")), request.get("params", []))
                error = None
            except _RpcFailure as exc:
                result, error = None, {"code": exc.code, "message": exc.message}
            except TypeError as exc:  # wrong number of params
                result, error = None, {"code": -1, "message": f"wrong parameters: {exc}"}
            if strict:
                reply = {"jsonrpc": "2.0", "id": ident}
                reply.update({"error": error} if error else {"result": result})
                return 200, reply
            status = 200
            if error:
                status = {-32601: 404, -32600: 400}.get(error["code"], 500)
            return status, {"result": result, "error": error, "id": ident}

    return Handler


def _controls(node: StandinNode) -> None:
    """Apply the controls read from stdin (``extend N``, ``reorg DEPTH EXTRA``), answering
    each with ``{"tip_height": ...}`` on stdout; an unknown one gets ``{"error": ...}``."""
    for line in sys.stdin:
        word, *numbers = line.split()
        try:
            {"extend": node.extend, "reorg": node.reorg}[word](*map(int, numbers))
            answer: dict[str, Any] = {"tip_height": node.chain.tip_height}
        except (KeyError, TypeError, ValueError) as exc:
            answer = {"error": f"{line.strip()!r}: {exc}"}
        print(json.dumps(answer), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A stand-in Bitcoin Core on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--chain", choices=["mainnet-like", "regtest-like"], default="mainnet-like")
    parser.add_argument(
        "--height", type=int, default=None, help="tip height (default 930,000 / 300)"
    )
    parser.add_argument("--start-height", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--version", type=int, default=DEFAULT_VERSION)
    parser.add_argument("--no-rest", action="store_true")
    parser.add_argument("--datadir", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    parser.add_argument(
        "--control-stdin",
        action="store_true",
        help="read controls from stdin, one a line ('extend N', 'reorg DEPTH EXTRA'), and "
        "answer each with the new tip as a JSON line",
    )
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    if args.chain == "mainnet-like":
        chain = StandinChain.mainnet_like(
            args.height if args.height is not None else 930_000,
            start_height=args.start_height,
            seed=args.seed,
            data_dir=args.data,
        )
    else:
        chain = StandinChain.regtest_like(
            args.height if args.height is not None else 300, seed=args.seed, data_dir=args.data
        )
    node = StandinNode(
        chain, version=args.version, rest=not args.no_rest, datadir=args.datadir, port=args.port
    )
    print(
        json.dumps(
            {
                "url": node.url,
                "datadir": str(node.datadir),
                "cookie_file": str(node.cookie_file),
                "network": node.network,
                "tip_height": chain.tip_height,
                "built_s": round(time.perf_counter() - t0, 2),
            }
        ),
        flush=True,
    )
    if args.control_stdin:
        threading.Thread(target=_controls, args=(node,), daemon=True).start()
    try:
        node._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        node._server.server_close()


if __name__ == "__main__":
    main(sys.argv[1:])
