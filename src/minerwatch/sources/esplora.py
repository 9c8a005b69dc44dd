"""An Esplora REST API (mempool.space, Blockstream) as a :class:`ChainSource`.

Servers: :data:`MEMPOOL_URL` by default (mempool.space's public API, whose
``/api/v1/blocks`` adds fees, reward, pool and coinbase to each block), then
:data:`BLOCKSTREAM_URL` (Blockstream's Esplora: headers only). Any Esplora base URL ending
in ``/api`` works (a self-hosted mempool or electrs). The servers form an ordered fallback
list: each method asks the first server not cooling down after a 429, and the next one when
that fails with a source fault (a transport error, 5xx, 429, or a response out of shape);
when every server failed, the error names each one's fault (a
:class:`~minerwatch.errors.TransientSourceError` when one was transient, so the sync loop
retries after the shortest ``Retry-After``).

Endpoints (each a plain GET; text bodies are one line):

- ``/blocks/tip/hash`` (text) and ``/block/:hash/status`` (``{"in_best_chain", "height",
  "next_best"}``) give a consistent tip: :meth:`EsploraSource.tip` (``/blocks/tip/height``,
  text, is :meth:`EsploraSource.tip_height`, the cheap poll);
- ``/block-height/:height`` (text hash; 404 "Block not found" above the tip):
  :meth:`EsploraSource.hash_at`;
- ``/v1/blocks/:height`` (mempool): the 15 blocks from ``:height`` down (fewer from the
  tip; an empty list above it), with ``extras``: ``reward`` (subsidy + fees, sat),
  ``totalFees`` (sat), ``pool.name``, ``coinbaseRaw`` (scriptSig hex), ``coinbaseAddresses``;
  ``/blocks/:height`` (plain Esplora, Blockstream: no ``/v1``, answers 404): the 10 blocks
  from ``:height`` down, header fields only (economics unknown, except tx count, size and
  weight). :meth:`EsploraSource.page` asks for the tip height first (so that no chunk asks
  above it), then for the top of each chunk, reorders ascending, and stitches several
  calls for a larger count.

Checks: heights consecutive, each block's ``previousblockhash`` the previous one's ``id``
(a break between two calls of one page is a reorg at the tip: transient), hashes 64 hex
characters, and ``reward - totalFees`` equal to the consensus subsidy of the height
(``GetBlockSubsidy``), a mismatch being a :class:`~minerwatch.errors.BadResponse` naming the
height. Esplora gives no chainwork (None). The network is the URL's (``/testnet/api``,
``/testnet4/api``, ``/signet/api``; else main) unless given.

Politeness (each method still asks each server once; the sync loop owns retries):

- at most ``rate_per_s`` requests a second to each server (default
  :data:`DEFAULT_RATE_PER_S`; mempool.space publishes no figure and asks users to be
  reasonable, and throttles heavy users with HTTP 429);
- after a 429 the server is not asked again until its ``Retry-After`` has passed
  (:data:`DEFAULT_COOLDOWN_S` without one);
- a response whose ``Expires`` lies in the future is kept in memory and served from there,
  without a request, until then.

References: Blockstream esplora ``API.md``; mempool.space REST API documentation
(``/api/v1/blocks/:startHeight``, ``/api/block/:hash/status``); response shapes in
``../shared/docs/api_examples/mempool_*.json``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeGuard

import httpx
import numpy as np

from minerwatch.chain.addresses import address_script_or_none
from minerwatch.chain.consensus import subsidy_sat
from minerwatch.errors import (
    BadResponse,
    InputError,
    SourceError,
    SyncDeadlineExceeded,
    TransientSourceError,
)
from minerwatch.sources import http
from minerwatch.sources.chainpage import UNKNOWN, BlockPage, ChainTip, Closing, empty_economics

MEMPOOL_URL = "https://mempool.space/api"
BLOCKSTREAM_URL = "https://blockstream.info/api"
DEFAULT_SERVERS = (MEMPOOL_URL, BLOCKSTREAM_URL)
DEFAULT_RATE_PER_S = 4.0
"""Requests a second to one server, at most (one every 250 ms)."""
DEFAULT_COOLDOWN_S = 10.0
"""Seconds a server that answered 429 without ``Retry-After`` is left alone."""
MEMPOOL_PAGE = 15  # blocks of one /v1/blocks/:height
ESPLORA_PAGE = 10  # blocks of one /blocks/:height
NAME = "esplora"
_NETWORKS = (("testnet4", "testnet4"), ("testnet", "testnet3"), ("signet", "signet"))
_HASH = re.compile(r"^[0-9a-f]{64}$")
_TEXT = "HTTP 200 with a text body"
_JSON = "HTTP 200 with JSON"


@dataclass(frozen=True)
class BlockStatus:
    """``/block/:hash/status``: whether the server's best chain holds the block, its
    height and the hash of the best-chain block above it (None: the tip, or not in the best
    chain, or unknown to the server; ``known`` False for a hash the server never saw)."""

    in_best_chain: bool
    height: int | None
    next_best: str | None
    known: bool = True


def network_of(url: str) -> str:
    """The network an Esplora base URL serves, from its path (``.../testnet4/api``)."""
    path = httpx.URL(url).path.lower()
    for part, network in _NETWORKS:
        if f"/{part}/" in f"{path}/":
            return network
    return "main"


class _Server:
    """One server's politeness state: when it may be asked next, and its cache."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.next_request_at = 0.0  # monotonic seconds
        self.cooling_until = 0.0
        self.plain: bool | None = None  # True: no /v1 endpoints (plain Esplora)
        self.cache: dict[str, tuple[float, httpx.Response]] = {}


class EsploraSource(Closing):
    """Main-chain blocks from Esplora servers (see the module docstring).

    Parameters:
        servers: base URLs in order of preference (default :data:`DEFAULT_SERVERS`), each
            ending in ``/api``; a single URL may be given as a string.
        client: the HTTP client (default: :func:`~minerwatch.sources.http.default_client`,
            closed by :meth:`close`); a given client is the caller's to close.
        network: the chain the servers follow (default: from the first URL, see
            :func:`network_of`).
        rate_per_s: requests a second to one server, at most (> 0).
        cooldown_s: pause after a 429 without ``Retry-After``, seconds.
        clock, sleep: monotonic clock and sleep (seconds), for the rate limit and cooldown.
    """

    name = NAME

    def __init__(
        self,
        servers: str | Sequence[str] | None = None,
        *,
        client: httpx.Client | None = None,
        network: str | None = None,
        rate_per_s: float = DEFAULT_RATE_PER_S,
        cooldown_s: float = DEFAULT_COOLDOWN_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        urls = [servers] if isinstance(servers, str) else list(servers or DEFAULT_SERVERS)
        if not urls:
            raise InputError("no Esplora server given; expected at least one URL", parameter="url")
        for url in urls:
            parsed = httpx.URL(url) if url.startswith(("http://", "https://")) else None
            if parsed is None or not parsed.host:
                raise InputError(
                    f"Esplora URL {url!r} is not an http(s) URL; expected for example "
                    f"{MEMPOOL_URL}",
                    parameter="url",
                )
        if not rate_per_s > 0:
            raise InputError(
                f"rate_per_s {rate_per_s} is out of range; expected > 0 requests a second",
                parameter="rate_per_s",
            )
        self.servers = [_Server(u.rstrip("/")) for u in urls]
        self.url = self.servers[0].url
        self.network = network or network_of(self.url)
        self.interval_s = 1.0 / rate_per_s
        self.cooldown_s = cooldown_s
        self._clock, self._sleep = clock, sleep
        self._own_client = client is None
        self.client = client if client is not None else http.default_client()
        self.requests = 0  # requests sent (not those served from the cache)

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    # -- the ChainSource methods ---------------------------------------------------------

    def tip(self) -> ChainTip:
        """The best chain's tip: ``/blocks/tip/hash``, then that block's status for its
        height (two requests that cannot disagree, unlike tip height and tip hash)."""

        def ask(server: _Server) -> ChainTip:
            tip_hash = self._hash(self._text(server, "/blocks/tip/hash"), server, "tip hash")
            status = self._status(server, tip_hash)
            if not status.known or status.height is None:
                raise BadResponse(
                    f"tip {tip_hash} has no height in its status; expected the tip's status",
                    url=f"{server.url}/block/{tip_hash}/status",
                )
            return ChainTip(self.network, status.height, tip_hash)

        return self._each(ask)

    def tip_height(self) -> int:
        """The best chain's height, ``/blocks/tip/height`` (one request: the poll)."""

        def ask(server: _Server) -> int:
            text = self._text(server, "/blocks/tip/height")
            return self._height(text, f"{server.url}/blocks/tip/height")

        return self._each(ask)

    def hash_at(self, height: int) -> str | None:
        """The best chain's hash at ``height`` (``/block-height/:height``); None above the
        tip (the server answers 404)."""

        def ask(server: _Server) -> str | None:
            response = self._get(server, f"/block-height/{int(height)}", accept=(404,))
            if response.status_code == 404:
                return None
            return self._hash(response.text.strip(), server, f"hash at height {height}")

        return self._each(ask)

    def in_best_chain(self, block_hash: str) -> BlockStatus:
        """The reorg probe: ``/block/:hash/status`` of ``block_hash``."""
        return self._each(lambda server: self._status(server, block_hash))

    def page(self, start_height: int, count: int, *, economics: bool = True) -> BlockPage:
        """Up to ``count`` best-chain blocks from ``start_height`` up, ascending (see the
        module docstring); economics from mempool's ``/v1/blocks`` (unknown from a plain
        Esplora server, or when ``economics`` is False and only headers are wanted)."""
        if start_height < 0 or count < 1:
            raise InputError(
                f"page({start_height}, {count}): expected start_height >= 0 and count >= 1",
                parameter="count",
            )
        # Never ask above the tip: mempool answers a height above it with fewer blocks, but
        # a 404 there would read as "no /v1 endpoints" (plain Esplora).
        count = min(count, self.tip_height() - start_height + 1)
        chunks: list[dict[str, Any]] = []
        have = 0
        while have < count:
            low = start_height + have
            rows = self._each(partial(self._chunk, low=low, wanted=count - have))
            if rows is None:
                break
            if chunks and rows["prev_hash"][0] != chunks[-1]["hash"][-1]:
                raise TransientSourceError(
                    f"block {low} does not link to block {low - 1} fetched just before (the "
                    "server's best chain changed between two requests: a reorg at the tip)",
                    url=self.url,
                )
            chunks.append(rows)
            have += len(rows["height"])
            if rows["short"]:
                break
        if not chunks:
            return _empty_page()
        columns: dict[str, Any] = {
            name: np.concatenate([c[name] for c in chunks]) for name in chunks[0] if name != "short"
        }
        if not economics:
            columns.update(empty_economics(len(columns["height"])))
        return BlockPage(**columns)

    # -- one server ------------------------------------------------------------------------

    def _chunk(self, server: _Server, *, low: int, wanted: int) -> dict[str, Any] | None:
        """Blocks ``low`` up to the server's chunk (15 or 10), at most ``wanted``, as page
        columns plus ``short`` (fewer than asked: the tip is in it); None above the tip."""
        body: Any = None
        if server.plain is not True:
            top = low + min(wanted, MEMPOOL_PAGE) - 1
            response = self._get(server, f"/v1/blocks/{top}", accept=(404,))
            if response.status_code == 404:
                server.plain = True
            else:
                server.plain = False
                body = http.decode_json(response, str(response.request.url), list)
        if server.plain:
            top = low + min(wanted, ESPLORA_PAGE) - 1
            response = self._get(server, f"/blocks/{top}")
            body = http.decode_json(response, str(response.request.url), list)
        url = f"{server.url}{'/blocks' if server.plain else '/v1/blocks'}/{top}"
        rows = parse_blocks(body, url, low, top, economics=not server.plain)
        if rows is None:
            return None
        rows["short"] = len(rows["height"]) < top - low + 1
        return rows

    def _status(self, server: _Server, block_hash: str) -> BlockStatus:
        path = f"/block/{block_hash}/status"
        response = self._get(server, path, accept=(404,))
        if response.status_code == 404:
            return BlockStatus(False, None, None, known=False)
        url = str(response.request.url)
        body = http.decode_json(response, url, dict)
        best = body.get("in_best_chain")
        height, nxt = body.get("height"), body.get("next_best")
        if not isinstance(best, bool) or not (height is None or _is_int(height)):
            raise BadResponse(
                f"status {str(body)[:80]!r}; expected in_best_chain true/false and an "
                "integer height",
                url=url,
            )
        if nxt is not None and not (isinstance(nxt, str) and _HASH.match(nxt)):
            raise BadResponse(f"next_best {nxt!r} is not a block hash", url=url)
        return BlockStatus(best, None if height is None else int(height), nxt)

    def _text(self, server: _Server, path: str) -> str:
        return self._get(server, path, expected=_TEXT).text.strip()

    def _hash(self, text: str, server: _Server, what: str) -> str:
        if not _HASH.match(text):
            raise BadResponse(
                f"{what} is {text[:80]!r}; expected 64 lowercase hex characters", url=server.url
            )
        return text

    @staticmethod
    def _height(text: str, url: str) -> int:
        if not text.isdigit():
            raise BadResponse(f"height {text[:40]!r}; expected a whole number", url=url)
        return int(text)

    def _get(
        self,
        server: _Server,
        path: str,
        *,
        accept: tuple[int, ...] = (),
        expected: str = _JSON,
    ) -> httpx.Response:
        """One GET of ``path`` on ``server``: from the cache while its ``Expires`` lies
        ahead, else after the rate limit's pause; a 429 starts the server's cooldown."""
        url = server.url + path
        cached = server.cache.get(url)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        now = self._clock()
        if server.next_request_at > now:
            self._sleep(server.next_request_at - now)
        server.next_request_at = max(now, server.next_request_at) + self.interval_s
        self.requests += 1
        try:
            response = http.get_once(self.client, url, accept=accept, expected=expected)
        except TransientSourceError as exc:
            if exc.rate_limited:
                wait = self.cooldown_s if exc.retry_after_s is None else exc.retry_after_s
                server.cooling_until = self._clock() + wait
            raise
        fresh_s = http.expires_in_s(response)
        if fresh_s:
            server.cache[url] = (self._clock() + fresh_s, response)
        else:
            server.cache.pop(url, None)
        return response

    def _each(self, ask: Callable[[_Server], Any]) -> Any:
        """``ask(server)`` on the first server that answers, in order, skipping those
        cooling down after a 429 (see the module docstring)."""
        faults: list[SourceError] = []
        cooling: list[float] = []  # seconds until each rate-limited server may be asked
        skipped = 0
        for server in self.servers:
            left = server.cooling_until - self._clock()
            if left > 0:
                cooling.append(left)
                skipped += 1
                continue
            try:
                return ask(server)
            except SyncDeadlineExceeded:
                raise
            except SourceError as exc:
                faults.append(exc)
                if _rate_limited(exc):
                    cooling.append(max(server.cooling_until - self._clock(), 0.0))
        if len(self.servers) == 1 and faults:
            raise faults[0]
        parts = [str(e) for e in faults]
        if skipped:
            parts.append(
                f"{skipped} server(s) not asked, cooling down after HTTP 429 for "
                f"{min(cooling):.3g} s more"
            )
        reason = "; ".join(parts)
        if len(self.servers) > 1:
            reason = f"every Esplora server failed: {reason}"
        if not cooling and not any(isinstance(f, TransientSourceError) for f in faults):
            raise BadResponse(reason, url=self.url)
        raise TransientSourceError(
            reason,
            url=None if len(self.servers) > 1 else self.url,
            rate_limited=bool(cooling) and all(_rate_limited(f) for f in faults),
            retry_after_s=min(cooling) if cooling else None,
        )


def _rate_limited(error: SourceError) -> bool:
    return isinstance(error, TransientSourceError) and error.rate_limited


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _empty_page() -> BlockPage:
    header: dict[str, Any] = {
        "height": np.zeros(0, np.int64),
        "hash": np.zeros(0, object),
        "prev_hash": np.zeros(0, object),
        "time": np.zeros(0, np.int64),
        "median_time": np.zeros(0, np.int64),
        "bits": np.zeros(0, np.int64),
        "version": np.zeros(0, np.int64),
        "nonce": np.zeros(0, np.int64),
        "chainwork": np.zeros(0, object),
    }
    return BlockPage(**header, **empty_economics(0))  # type: ignore[arg-type]


_INT_FIELDS = ("height", "timestamp", "bits", "version", "nonce")


def parse_blocks(
    body: Any, url: str, low: int, top: int, *, economics: bool
) -> dict[str, Any] | None:
    """The blocks of a ``/v1/blocks/:top`` or ``/blocks/:top`` body with heights ``low`` to
    ``top``, ascending, as page columns (header and economics); None when the body holds
    none (above the tip). :class:`BadResponse` naming the URL and height for a block out of
    shape, heights that are not consecutive from the top down, a broken parent link or a
    reward that is not the height's subsidy plus the fees."""
    if not isinstance(body, list):
        raise BadResponse("expected a list of blocks", url=url)
    blocks = [b for b in body if isinstance(b, dict) and _is_int(b.get("height"))]
    if len(blocks) != len(body):
        raise BadResponse("an item is not a block object with an integer height", url=url)
    blocks = [b for b in blocks if low <= b["height"] <= top]
    if not blocks:
        return None
    blocks.reverse()  # the server lists them from the top down
    n = len(blocks)
    for b in blocks:
        for key in _INT_FIELDS:
            if not _is_int(b.get(key)):
                raise BadResponse(
                    f"block {b['height']} has {key} = {b.get(key)!r}; expected an integer",
                    url=url,
                )
        for key in ("id", "previousblockhash"):
            if not (isinstance(b.get(key), str) and _HASH.match(b[key])):
                if key == "previousblockhash" and b["height"] == 0 and b.get(key) is None:
                    continue
                raise BadResponse(
                    f"block {b['height']} has {key} = {str(b.get(key))[:70]!r}; expected a "
                    "block hash (64 lowercase hex characters)",
                    url=url,
                )
    height = np.array([b["height"] for b in blocks], np.int64)
    if height[0] != low or not np.array_equal(height, low + np.arange(n)):
        raise BadResponse(
            f"blocks {height.tolist()[:5]}...; expected consecutive heights from {low}", url=url
        )
    hashes = np.array([b["id"] for b in blocks], object)
    prev = np.array([b.get("previousblockhash") or "0" * 64 for b in blocks], object)
    broken = np.flatnonzero(prev[1:] != hashes[:-1])
    if len(broken):
        i = int(broken[0]) + 1
        raise BadResponse(
            f"block {height[i]} has previousblockhash {prev[i]}, not block {height[i - 1]}'s "
            f"hash {hashes[i - 1]}; expected linked blocks",
            url=url,
        )
    version = np.array([b["version"] for b in blocks], np.int64)
    columns = {
        "height": height,
        "hash": hashes,
        "prev_hash": prev,
        "time": np.array([b["timestamp"] for b in blocks], np.int64),
        "median_time": np.array(
            [b["mediantime"] if _is_int(b.get("mediantime")) else UNKNOWN for b in blocks],
            np.int64,
        ),
        "bits": np.array([b["bits"] for b in blocks], np.int64),
        "version": np.where(version >= 2**31, version - 2**32, version),  # nVersion is signed
        "nonce": np.array([b["nonce"] for b in blocks], np.int64),
        "chainwork": np.full(n, None, object),
        **empty_economics(n),
    }
    for key, column in (("tx_count", "tx_count"), ("weight", "weight_wu"), ("size", "size_bytes")):
        columns[column] = np.array(
            [b[key] if _is_int(b.get(key)) else UNKNOWN for b in blocks], np.int64
        )
    if economics:
        _economics(blocks, columns, url)
    return columns


def _economics(blocks: list[dict], columns: dict[str, np.ndarray], url: str) -> None:
    """Fill fees, subsidy, pool, coinbase tag and payout scripts from mempool's
    ``extras``; a block without extras keeps them unknown."""
    for i, b in enumerate(blocks):
        extras = b.get("extras")
        if not isinstance(extras, dict):
            continue
        h = b["height"]
        fees, reward = extras.get("totalFees"), extras.get("reward")
        if not (_is_int(fees) and _is_int(reward) and fees >= 0):
            raise BadResponse(
                f"block {h} has totalFees {fees!r} and reward {reward!r}; expected whole satoshis",
                url=url,
            )
        expected = subsidy_sat(h)
        if reward - fees != expected:
            raise BadResponse(
                f"block {h} has reward {reward:,} sat with totalFees {fees:,} sat, a subsidy of "
                f"{reward - fees:,} sat; expected the consensus subsidy of height {h:,}, "
                f"{expected:,} sat",
                url=url,
            )
        columns["fees_sat"][i] = fees
        columns["subsidy_sat"][i] = expected
        pool = extras.get("pool")
        name = pool.get("name") if isinstance(pool, dict) else None
        if isinstance(name, str) and name and name.lower() != "unknown":
            columns["pool"][i] = name
        raw = extras.get("coinbaseRaw")
        if isinstance(raw, str) and re.fullmatch(r"(?:[0-9a-fA-F]{2})*", raw):
            columns["coinbase_tag"][i] = raw.lower()
        addresses = extras.get("coinbaseAddresses")
        if isinstance(addresses, list) and addresses:
            scripts = [address_script_or_none(a) for a in addresses if isinstance(a, str)]
            known = tuple(s for s in scripts if s is not None)
            if known:
                columns["payout_scripts"][i] = known
