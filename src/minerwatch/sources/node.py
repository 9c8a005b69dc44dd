"""The user's own Bitcoin Core node as a chain source: JSON-RPC batches and REST headers.

:class:`NodeSource` implements :class:`~minerwatch.sources.chainpage.ChainSource` over
httpx (one :class:`httpx.Client`, the shared transport of :mod:`minerwatch.sources.http`).

Authentication (HTTP basic, JSON-RPC only; REST needs none):

- the cookie first: ``--cookie FILE``, else ``.cookie`` in the network's data directory
  (``--datadir``, else the platform default: ``~/.bitcoin`` on Linux,
  ``~/Library/Application Support/Bitcoin`` on macOS, ``%APPDATA%\\Bitcoin`` on Windows;
  then the network's subfolder: none for mainnet, ``testnet3``, ``testnet4``, ``signet``,
  ``regtest``). The file holds ``__cookie__:<random>``, rewritten each time bitcoind
  starts, so on every HTTP 401 the file is read again and the request sent once more;
- ``rpcuser``/``rpcpassword`` (or a URL's ``user:password@``) as the fallback, when the
  cookie file is missing or refused;
- when every one is refused: :class:`~minerwatch.errors.AuthenticationFailed` (exit 3)
  naming where each credential came from, never its content. Credentials appear in no
  message, log line, ``repr`` or exception; the URL kept and printed has no user info.

JSON-RPC: the node's version comes from ``getnetworkinfo`` (``version``, e.g. 280000 for
28.0), asked once with a legacy request every version understands. Core 28.0 and later
(bitcoin/bitcoin PR #27101) get ``"jsonrpc": "2.0"`` requests: every reply is HTTP 200 and
carries either ``result`` or ``error``. Older nodes get JSON-RPC 1.1 semantics: one request's
error comes with HTTP 500 (404 for an unknown method, 400 for an invalid request) and both
``result`` and ``error`` keys; a batch is HTTP 200 with an array. Batch replies are matched
to requests by ``id``, never by position. A node warming up (RPC error -28
``RPC_IN_WARMUP``, or HTTP 503 from REST and from a full work queue) and connection faults
raise :class:`~minerwatch.errors.TransientSourceError`, which the sync loop retries.

Headers (the ``page`` method):

- REST when it is on: ``GET /rest/headers/<hash>.bin?count=N`` (N <= 2000, Core 24.0+),
  or the older ``/rest/headers/<N>/<hash>.bin`` (deprecated since 24.0, the only form
  before). The form is chosen by version and confirmed by the answer: HTTP 400 (an old node
  reading the new form: "No header count specified") or 404 tries the other form; 404 to
  both means REST is off (bitcoind runs without ``-rest``), remembered, and RPC is used.
- RPC otherwise: one batch of ``getblockhash`` for the heights, one of verbose
  ``getblockheader``; the header fields are serialized again and hashed, so the proof of
  work is checked on hashes computed here, not on the node's word.

REST ``.bin`` headers carry neither the median time past nor the chainwork. They are
computed here: MTP from the times of the 10 blocks before each one (``GetMedianTimePast``),
chainwork as the parent's chainwork plus each block's ``GetBlockProof``. To have both, a
page is fetched with its context: after a page, the next one is asked from the last block
of the previous page (its 10 last times and its chainwork are kept), so a steady sync is one
REST request per 2,000 headers; otherwise (the first page, a jump, or a reorg that took the
remembered block off the best chain) the request starts 10 blocks below the page (one
``getblockhash``) and the parent's chainwork comes from one ``getblockheader``, Core's own
figure.
While the caller stores a full REST page, the next one is asked for in a background thread
(``prefetch``); it is used only when the next call asks for exactly it within
``PREFETCH_MAX_AGE_S`` and it came back full, so a block found meanwhile at the tip is never
hidden by an older answer. Hashing each header (needed for linkage and proof of work) is
the floor of the cost: about 1.7 microseconds a header here.

Every header is checked: linked to the one before it, canonical compact bits within the
network's proof-of-work limit, and its hash at or below the target of its own bits (unless
``check_pow=False``, for test chains without real work; the page then says so in ``notes``).

Economics (``economics=True``), in batches of ``economics_batch`` blocks:
``getblockstats <hash> ["height","subsidy","totalfee"]`` (only the stats needed),
``getblock <hash> 1`` (``nTx``, ``size``, ``weight`` of the whole block: ``getblockstats``'
``total_size``/``total_weight`` leave the coinbase out, ``src/rpc/blockchain.cpp``), then
``getrawtransaction <coinbase txid> true <blockhash>`` (no ``-txindex`` needed with the block
hash) for the coinbase scriptSig (``coinbase_tag``, hex) and each output's scriptPubKey
(``payout_scripts``, hex). The ``coinbase_tx`` field that ``getblock`` gained in
bitcoin/bitcoin PR #34512 (merged February 2026, after 30.x) holds the scriptSig but by
design not the outputs, so it cannot replace ``getrawtransaction`` here. The genesis
coinbase cannot be fetched (RPC error -5) and pruned blocks have no data: their economics
stay unknown and the page's ``notes`` count them.

The network comes from ``getblockchaininfo`` (``chain``); a ``network`` given to the
constructor picks the default port and cookie folder and must match it.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from minerwatch.chain import headers as hdr
from minerwatch.chain.consensus import bits_to_target
from minerwatch.chain.networks import MAIN, Network, network_for_chain, network_named
from minerwatch.errors import (
    AuthenticationFailed,
    BadResponse,
    InputError,
    SourceError,
    TransientSourceError,
)
from minerwatch.sources.chainpage import BlockPage, ChainTip, Closing, empty_economics
from minerwatch.sources.http import default_client, error_message, send_once

log = logging.getLogger(__name__)

MAX_PAGE = 2000
"""Headers per page: REST's ``MAX_REST_HEADERS_RESULTS`` (``src/rest.cpp``)."""
JSONRPC_2_VERSION = 280_000
"""First Core version that answers JSON-RPC 2.0 requests strictly (PR #27101, 28.0)."""
REST_QUERY_COUNT_VERSION = 240_000
"""First Core version with ``/rest/headers/<hash>.bin?count=N`` (24.0)."""
RPC_IN_WARMUP = -28
RPC_INVALID_PARAMETER = -8
RPC_INVALID_ADDRESS_OR_KEY = -5
BLOCK_STATS = ("height", "subsidy", "totalfee")
"""The ``getblockstats`` stats asked for (amounts in satoshis)."""
PREFETCH_MAX_AGE_S = 5.0
"""A prefetched page older than this is not used (the chain may have moved)."""
DEFAULT_ECONOMICS_BATCH = 50
"""Blocks per economics batch (a ``getblock`` reply lists every txid: ~200 kB a block)."""
_CONTEXT = hdr.MEDIAN_TIME_SPAN - 1  # earlier blocks a median time past needs


def default_datadir(
    platform: str | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> Path:
    """Bitcoin Core's default data directory on ``platform`` (``sys.platform`` values):
    ``%APPDATA%\\Bitcoin`` on Windows, ``~/Library/Application Support/Bitcoin`` on macOS,
    ``~/.bitcoin`` elsewhere (``GetDefaultDataDir`` in ``src/common/args.cpp``)."""
    platform = platform or sys.platform
    env = os.environ if env is None else env
    home = home or Path.home()
    if platform.startswith("win"):
        appdata = env.get("APPDATA")
        return (Path(appdata) if appdata else home / "AppData" / "Roaming") / "Bitcoin"
    if platform == "darwin":
        return home / "Library" / "Application Support" / "Bitcoin"
    return home / ".bitcoin"


def cookie_path(network: Network, datadir: Path | str | None = None) -> Path:
    """The ``.cookie`` file bitcoind writes for ``network`` under ``datadir`` (default
    :func:`default_datadir`)."""
    base = Path(datadir) if datadir is not None else default_datadir()
    return (base / network.datadir_subdir if network.datadir_subdir else base) / ".cookie"


class RpcError(BadResponse):
    """The node answered a JSON-RPC call with an error object: ``code`` and ``method``."""

    def __init__(self, code: int | None, message: str, method: str, *, url: str) -> None:
        self.code = code
        self.method = method
        super().__init__(f"{method} failed: RPC error {code}: {message}", url=url)


class _Credential:
    """One source of HTTP basic credentials; ``origin`` says where from (safe to print)."""

    origin: str
    can_reload = False

    def authorization(self) -> str | None:
        """The ``Authorization`` header value, or None when this source has nothing."""
        raise NotImplementedError

    def reload(self) -> bool:
        """Read the source again; True when it changed."""
        return False

    def __repr__(self) -> str:
        return f"<credential from {self.origin}>"


class _Cookie(_Credential):
    can_reload = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self.origin = f"the cookie file {path}"
        self._value: str | None = None
        self._read()

    def _read(self) -> str | None:
        try:
            text = self.path.read_text(encoding="utf-8").strip()
        except OSError:
            text = ""
        self._value = _basic(text) if ":" in text else None
        return self._value

    def authorization(self) -> str | None:
        return self._value if self._value is not None else self._read()

    def reload(self) -> bool:
        before = self._value
        return self._read() != before and self._value is not None


class _UserPassword(_Credential):
    def __init__(self, user: str, password: str, origin: str) -> None:
        self.origin = origin
        self._value = _basic(f"{user}:{password}")

    def authorization(self) -> str | None:
        return self._value


def _basic(user_colon_password: str) -> str:
    return "Basic " + base64.b64encode(user_colon_password.encode()).decode("ascii")


@dataclass(frozen=True)
class _Tail:
    """The end of the last page served: its last block's height, hash and chainwork, and
    the times of its last (up to) 10 blocks, so the next page needs no context request."""

    height: int
    hash: str
    chainwork: int
    times: np.ndarray


@dataclass(frozen=True)
class _Headers:
    """A page's headers: heights, fields (:data:`HEADER_DTYPE`), digests, median times,
    chainwork, how they came, and the times of the (up to 10) blocks before the first when
    known."""

    height: np.ndarray
    fields: np.ndarray
    digests: np.ndarray
    median_time: np.ndarray
    chainwork: np.ndarray  # Core's hex, object array of str
    via: str
    before: np.ndarray | None = None

    @classmethod
    def empty(cls) -> _Headers:
        nothing = np.zeros(0, np.int64)
        digests = np.zeros((0, 32), np.uint8)
        return cls(
            nothing, np.zeros(0, hdr.HEADER_DTYPE), digests, nothing, np.zeros(0, object), ""
        )

    def tail(self) -> _Tail | None:
        """What the next page needs of this one, when its times reach back far enough."""
        times = self.fields["time"].astype(np.int64)
        if self.before is not None:
            times = np.concatenate([self.before, times])
        last = int(self.height[-1])
        if len(times) < min(_CONTEXT, last + 1):
            return None
        block_hash = str(hdr.digests_to_hex(self.digests[-1:])[0])
        return _Tail(last, block_hash, int(self.chainwork[-1], 16), times[-_CONTEXT:])


class NodeSource(Closing):
    """Bitcoin Core over JSON-RPC and REST (see the module docstring).

    Parameters:
        url: ``http://host:port`` of the node's RPC server (default 127.0.0.1 at the
            network's RPC port); user info in it counts as ``user``/``password``.
        network: minerwatch's network name; picks the default port and cookie folder, and
            the node's ``getblockchaininfo.chain`` must match it. None: mainnet defaults,
            and the node's own chain is taken.
        datadir: the node's data directory (default :func:`default_datadir`).
        cookie_file: the cookie file itself (overrides ``datadir``).
        user, password: ``rpcuser``/``rpcpassword``, tried when the cookie is missing or
            refused.
        rest: None to use REST when the node has it on (detected), False for RPC only,
            True to require REST (a node without ``-rest`` is then an error).
        check_pow: check each header's proof of work (False only for test chains; the
            page's notes say so).
        economics_batch: blocks per economics batch.
        prefetch: after a full REST page, ask for the next one in a background thread while
            the caller stores this one (used only if asked for within
            ``PREFETCH_MAX_AGE_S`` and still a full page; never at the tip).
        client: an :class:`httpx.Client` to use (default one made and closed here).
    """

    name = "node"

    def __init__(
        self,
        url: str | None = None,
        *,
        network: str | None = None,
        datadir: Path | str | None = None,
        cookie_file: Path | str | None = None,
        user: str | None = None,
        password: str | None = None,
        rest: bool | None = None,
        check_pow: bool = True,
        economics_batch: int = DEFAULT_ECONOMICS_BATCH,
        prefetch: bool = True,
        client: httpx.Client | None = None,
    ) -> None:
        self._expected = network_named(network) if network is not None else None
        defaults = self._expected or MAIN
        parsed = httpx.URL(url or f"http://127.0.0.1:{defaults.rpc_port}")
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise InputError(
                f"url {str(parsed.copy_with(username=None, password=None))!r} is not an "
                "http:// address of a node",
                parameter="url",
            )
        url_user, url_password = parsed.username, parsed.password
        clean = parsed.copy_with(username=None, password=None, query=None, fragment=None)
        self.url = str(clean).rstrip("/")
        self._credentials: list[_Credential] = []
        if cookie_file is not None:
            self._credentials.append(_Cookie(Path(cookie_file)))
        else:
            self._credentials.append(_Cookie(cookie_path(defaults, datadir)))
        if user is not None or password is not None:
            self._credentials.append(
                _UserPassword(user or "", password or "", "the rpcuser/rpcpassword given")
            )
        elif url_user or url_password:
            self._credentials.append(
                _UserPassword(url_user, url_password, "the user and password in the URL")
            )
        self._credential = 0
        if rest is not None and not isinstance(rest, bool):
            raise InputError(f"rest must be True, False or None, got {rest!r}", parameter="rest")
        self._rest_wanted = rest
        self.rest_form: str | None = "off" if rest is False else None
        """How REST headers are asked: ``"query"`` (``?count=``), ``"path"`` (the old
        ``<count>/<hash>`` form), ``"off"`` (RPC is used), None (not yet known)."""
        self.check_pow = bool(check_pow)
        if not (isinstance(economics_batch, int) and economics_batch >= 1):
            raise InputError(
                f"economics_batch {economics_batch!r} is out of range; expected >= 1",
                parameter="economics_batch",
            )
        self._economics_batch = economics_batch
        self._own_client = client is None
        self._client = client or default_client()
        self._version: int | None = None
        self._network: Network | None = None
        self._tail: _Tail | None = None
        self._prefetch_on = bool(prefetch)
        self._pool: ThreadPoolExecutor | None = None
        self._prefetch: tuple[str, float, Future[bytes | None]] | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._own_client:
            self._client.close()

    def __repr__(self) -> str:
        origins = ", then ".join(c.origin for c in self._credentials)
        return f"NodeSource(url={self.url!r}, credentials from {origins})"

    # --- what the node is ---------------------------------------------------------------

    @property
    def version(self) -> int:
        """The node's ``getnetworkinfo.version`` (asked once)."""
        if self._version is None:
            info = self._call("getnetworkinfo", [], legacy=True)
            version = info.get("version") if isinstance(info, dict) else None
            if not isinstance(version, int) or isinstance(version, bool):
                raise BadResponse(
                    f"getnetworkinfo gave version {version!r}; expected an integer such as 280000",
                    url=self.url,
                )
            self._version = version
            log.debug("node at %s is version %d", self.url, version)
        return self._version

    @property
    def jsonrpc_2(self) -> bool:
        """Whether requests are JSON-RPC 2.0 (Core 28.0+) rather than 1.1 semantics."""
        return self.version >= JSONRPC_2_VERSION

    @property
    def network(self) -> Network:
        """The network the node runs (``getblockchaininfo.chain``, asked once)."""
        if self._network is None:
            self.tip()
        assert self._network is not None
        return self._network

    # --- ChainSource --------------------------------------------------------------------

    def tip(self) -> ChainTip:
        info = self._call("getblockchaininfo", [])
        if not isinstance(info, dict):
            raise BadResponse("getblockchaininfo gave no object", url=self.url)
        try:
            network = network_for_chain(info.get("chain"))  # type: ignore[arg-type]
        except InputError as exc:
            raise BadResponse(exc.reason, url=self.url) from None
        if self._expected is not None and network is not self._expected:
            raise BadResponse(
                f"the node runs {network.name} (chain {network.chain!r}), not the network "
                f"{self._expected.name} asked for",
                url=self.url,
            )
        self._network = network
        height, best = info.get("blocks"), info.get("bestblockhash")
        if not isinstance(height, int) or not _is_hash(best):
            raise BadResponse(
                f"getblockchaininfo gave blocks {height!r} and bestblockhash {best!r}; "
                "expected a height and a 64-hex-digit hash",
                url=self.url,
            )
        return ChainTip(network.name, height, str(best))

    def hash_at(self, height: int) -> str | None:
        try:
            result = self._call("getblockhash", [int(height)])
        except RpcError as exc:
            if exc.code == RPC_INVALID_PARAMETER:  # "Block height out of range"
                return None
            raise
        if not _is_hash(result):
            raise BadResponse(f"getblockhash {height} gave {result!r}", url=self.url)
        return str(result)

    def page(self, start_height: int, count: int, *, economics: bool = True) -> BlockPage:
        start = int(start_height)
        if start < 0:
            raise InputError(f"start_height must be >= 0, got {start}", parameter="start_height")
        count = min(int(count), MAX_PAGE)
        network = self.network
        got: _Headers | None = None
        if count > 0 and self._rest_on():
            got = self._headers_rest(start, count)
        if count > 0 and got is None:
            got = self._headers_rpc(start, count)
        if got is None or len(got.height) == 0:
            return _empty_page()
        notes = [f"headers by {got.via}"]
        hashes = hdr.digests_to_hex(got.digests)
        self._check(got, hashes, network, notes)
        n = len(got.height)
        # Linked: each prev is the hash before it, so only the first one is converted.
        prev_hash = np.concatenate([hdr.digests_to_hex(got.fields["prev"][:1]), hashes[:-1]])
        columns = {
            "height": got.height,
            "hash": hashes,
            "prev_hash": prev_hash,
            "time": got.fields["time"].astype(np.int64),
            "median_time": got.median_time,
            "bits": got.fields["bits"].astype(np.int64),
            "version": got.fields["version"].astype(np.int64),
            "nonce": got.fields["nonce"].astype(np.int64),
            "chainwork": got.chainwork,
        }
        econ = empty_economics(n)
        if economics:
            self._economics(got.height, hashes, econ, notes)
        self._tail = got.tail()
        if self._prefetch_on and got.via == "REST" and n >= MAX_PAGE - 1:
            self._start_prefetch()
        return BlockPage(**columns, **econ, notes=tuple(notes))

    # --- headers ------------------------------------------------------------------------

    def _rest_on(self) -> bool:
        return self.rest_form != "off"

    def _headers_rest(self, start: int, count: int) -> _Headers | None:
        """A page through REST with its context (module docstring); None when REST is off
        or the context is not there (then JSON-RPC serves the page)."""
        tail = self._tail
        if tail is not None and tail.height == start - 1:
            want = min(count + 1, MAX_PAGE)
            raw = self._prefetched(tail.hash, want)
            if raw is None:
                raw = self._rest_headers(tail.hash, want)
            if raw is None:
                return None
            fields = self._parse_rest(raw)
            digests = hdr.header_digests(fields)
            if len(fields) and hdr.digests_to_hex(digests[:1])[0] == tail.hash:
                return self._assemble(
                    start, fields[1:], tail.times, tail.chainwork, "REST", digests[1:]
                )
            self._tail = None  # the remembered block left the best chain: start afresh
        first = max(0, start - _CONTEXT)
        first_hash = self.hash_at(first)
        if first_hash is None:  # above the tip, or a node without those blocks: RPC decides
            return None
        raw = self._rest_headers(first_hash, min(count + start - first, MAX_PAGE))
        if raw is None:
            return None
        fields = self._parse_rest(raw)
        context = start - first
        if len(fields) == 0 or (
            hdr.digests_to_hex(hdr.header_digests(fields[:1]))[0] != first_hash
        ):
            raise TransientSourceError(
                f"block {first} ({first_hash}) left the best chain between two requests",
                url=self.url,
            )
        if len(fields) < context:  # the tip is below start
            return _Headers.empty()
        parent_work = 0
        if start > 0:
            parent_hash = str(hdr.block_hashes(fields[context - 1 : context])[0])
            parent_work = self._chainwork_of(parent_hash, start - 1)
        before = fields["time"][:context].astype(np.int64)
        return self._assemble(start, fields[context:], before, parent_work, "REST")

    def _start_prefetch(self) -> None:
        tail = self._tail
        if tail is None:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="node-prefetch")
        future = self._pool.submit(self._rest_headers, tail.hash, MAX_PAGE)
        self._prefetch = (tail.hash, time.monotonic(), future)

    def _prefetched(self, block_hash: str, count: int) -> bytes | None:
        """The prefetched headers from ``block_hash`` (the first ``count``), when there are
        such, fresh, and a full page (so not a snapshot of an old tip); else None."""
        prefetch, self._prefetch = self._prefetch, None
        if prefetch is None:
            return None
        wanted, started, future = prefetch
        try:
            raw = future.result()
        except SourceError:
            return None  # asked again in the foreground, where its error counts
        fresh = time.monotonic() - started <= PREFETCH_MAX_AGE_S
        if wanted != block_hash or not fresh or raw is None or len(raw) < MAX_PAGE * 80:
            return None
        return raw[: count * 80]

    def _assemble(
        self,
        start: int,
        fields: np.ndarray,
        before: np.ndarray,
        parent_work: int,
        via: str,
        digests: np.ndarray | None = None,
    ) -> _Headers:
        return _Headers(
            np.arange(start, start + len(fields), dtype=np.int64),
            fields,
            hdr.header_digests(fields) if digests is None else digests,
            hdr.median_time_past(fields["time"], before),
            hdr.chainwork_hex_array(fields["bits"], parent_work),
            via,
            np.asarray(before, np.int64),
        )

    def _parse_rest(self, raw: bytes) -> np.ndarray:
        try:
            return hdr.parse_headers(raw)
        except InputError as exc:
            raise BadResponse(f"REST headers: {exc.reason}", url=self.url) from None

    def _chainwork_of(self, block_hash: str, height: int) -> int:
        header = self._call("getblockheader", [block_hash, True])
        if not isinstance(header, dict) or header.get("height") != height:
            raise BadResponse(
                f"getblockheader {block_hash} gave no header of height {height}", url=self.url
            )
        try:
            return hdr.parse_chainwork(header.get("chainwork"))  # type: ignore[arg-type]
        except InputError as exc:
            raise BadResponse(f"getblockheader {block_hash}: {exc.reason}", url=self.url) from None

    def _rest_headers(self, block_hash: str, count: int) -> bytes | None:
        """``count`` headers from ``block_hash`` up, by the REST form that works; None when
        REST is off."""
        if self.rest_form in ("query", "path"):
            forms = [self.rest_form, "path" if self.rest_form == "query" else "query"]
        else:
            old = self.version < REST_QUERY_COUNT_VERSION
            forms = ["path", "query"] if old else ["query", "path"]
        for form in forms:
            if form == "query":
                url, params = f"{self.url}/rest/headers/{block_hash}.bin", {"count": str(count)}
            else:
                url, params = f"{self.url}/rest/headers/{count}/{block_hash}.bin", None
            response = send_once(self._client, "GET", url, params=params, expected="HTTP 200")
            status = response.status_code
            if status == 200:
                if self.rest_form != form:
                    log.debug("REST headers at %s use the %s form", self.url, form)
                self.rest_form = form
                return response.content
            if status in (400, 404):
                continue
            self._raise_http(response)
        if self._rest_wanted:
            raise BadResponse(
                "REST is off (HTTP 404 for /rest/headers); start bitcoind with -rest=1 or let "
                "minerwatch use JSON-RPC",
                url=self.url,
            )
        log.debug("REST is off at %s; headers by JSON-RPC", self.url)
        self.rest_form = "off"
        return None

    def _headers_rpc(self, start: int, count: int) -> _Headers:
        """A page through batched ``getblockhash`` + verbose ``getblockheader``."""
        results = self._batch([("getblockhash", [h]) for h in range(start, start + count)])
        hashes: list[str] = []
        for h, result in zip(range(start, start + count), results, strict=True):
            if isinstance(result, RpcError):
                if result.code == RPC_INVALID_PARAMETER:
                    break  # above the tip
                raise result
            if not _is_hash(result):
                raise BadResponse(f"getblockhash {h} gave {result!r}", url=self.url)
            hashes.append(str(result))
        if not hashes:
            return _Headers.empty()
        replies = self._batch([("getblockheader", [h, True]) for h in hashes])
        rows = []
        for height, block_hash, reply in zip(
            range(start, start + len(hashes)), hashes, replies, strict=True
        ):
            if isinstance(reply, RpcError):
                raise reply
            rows.append(self._header_row(reply, block_hash, height))
        raw = hdr.serialize_headers(
            [r["version"] for r in rows],
            [r["previousblockhash"] for r in rows],
            [r["merkleroot"] for r in rows],
            [r["time"] for r in rows],
            [r["bits"] for r in rows],
            [r["nonce"] for r in rows],
        )
        fields = hdr.parse_headers(raw)
        digests = hdr.header_digests(fields)
        computed = hdr.digests_to_hex(digests)
        wrong = np.flatnonzero(computed != np.array(hashes, dtype=object))
        if len(wrong):
            i = int(wrong[0])
            raise BadResponse(
                f"getblockheader {hashes[i]} (height {start + i}): its fields hash to "
                f"{computed[i]}, not to the block's hash",
                url=self.url,
            )
        try:
            chainwork = hdr.chainwork_hex([hdr.parse_chainwork(r["chainwork"]) for r in rows])
        except InputError as exc:
            raise BadResponse(f"getblockheader: {exc.reason}", url=self.url) from None
        return _Headers(
            np.arange(start, start + len(rows), dtype=np.int64),
            fields,
            digests,
            np.array([r["mediantime"] for r in rows], np.int64),
            chainwork,
            "JSON-RPC",
        )

    def _header_row(self, reply: Any, block_hash: str, height: int) -> dict[str, Any]:
        where = f"getblockheader {block_hash}"
        if not isinstance(reply, dict):
            raise BadResponse(f"{where} gave no object", url=self.url)
        if reply.get("confirmations") == -1:
            raise TransientSourceError(
                f"block {height} ({block_hash}) left the best chain during the request",
                url=self.url,
            )
        if reply.get("height") != height or reply.get("hash") != block_hash:
            raise BadResponse(f"{where} is not the block of height {height}", url=self.url)
        row = dict(reply)
        row.setdefault("previousblockhash", "00" * 32)  # genesis has none
        try:
            row["bits"] = int(str(reply.get("bits")), 16)
            for key in ("version", "time", "nonce", "mediantime"):
                if not isinstance(reply.get(key), int):
                    raise ValueError(key)
            if not (_is_hash(row["previousblockhash"]) and _is_hash(reply.get("merkleroot"))):
                raise ValueError("hashes")
        except ValueError:
            raise BadResponse(
                f"{where} lacks one of version, previousblockhash, merkleroot, time, bits, "
                "nonce, mediantime in the documented form",
                url=self.url,
            ) from None
        return row

    def _check(self, got: _Headers, hashes: np.ndarray, network: Network, notes: list[str]) -> None:
        """Linkage, canonical bits within the pow limit, and proof of work (BadResponse
        naming the first bad block)."""
        heights, fields, digests = got.height, got.fields, got.digests

        def refuse(i: int, what: str) -> BadResponse:
            return BadResponse(
                f"block {int(heights[i])} ({hashes[i]}) {what}; the node's chain is not valid here",
                url=self.url,
            )

        broken = hdr.first_unlinked(fields["prev"], digests, None)
        if broken >= 0:
            raise refuse(broken, "does not link to the block before it")
        bits = fields["bits"].astype(np.int64)
        canonical = hdr.bits_canonical(bits)
        if not canonical.all():
            i = int(np.argmin(canonical))
            raise refuse(i, f"has non-canonical compact bits 0x{int(bits[i]):08x}")
        distinct = np.unique(bits)
        over = [int(b) for b in distinct if bits_to_target(int(b)) > network.pow_limit]
        if over:
            i = int(np.flatnonzero(bits == over[0])[0])
            raise refuse(i, f"has bits 0x{over[0]:08x} above {network.name}'s pow limit")
        if not self.check_pow:
            notes.append("proof of work not checked (check_pow off: a test chain)")
            return
        bad = hdr.first_without_pow(digests, bits)
        if bad >= 0:
            raise refuse(bad, f"has a hash above the target of its bits 0x{int(bits[bad]):08x}")

    # --- economics ----------------------------------------------------------------------

    def _economics(
        self,
        heights: np.ndarray,
        hashes: np.ndarray,
        econ: dict[str, np.ndarray],
        notes: list[str],
    ) -> None:
        """Fill ``econ`` in place from getblockstats, getblock and getrawtransaction."""
        unavailable = 0
        for lo in range(0, len(heights), self._economics_batch):
            part = range(lo, min(lo + self._economics_batch, len(heights)))
            calls: list[tuple[str, list[Any]]] = []
            for i in part:
                calls.append(("getblockstats", [str(hashes[i]), list(BLOCK_STATS)]))
                calls.append(("getblock", [str(hashes[i]), 1]))
            replies = self._batch(calls)
            coinbase_calls: list[tuple[str, list[Any]]] = []
            coinbase_rows: list[int] = []
            for k, i in enumerate(part):
                stats, block = replies[2 * k], replies[2 * k + 1]
                if isinstance(stats, RpcError) or isinstance(block, RpcError):
                    error = stats if isinstance(stats, RpcError) else block
                    assert isinstance(error, RpcError)
                    if "pruned" in str(error).lower() or "not available" in str(error).lower():
                        unavailable += 1
                        continue
                    raise error
                self._fill_block(econ, i, int(heights[i]), str(hashes[i]), stats, block)
                coinbase_calls.append(("getrawtransaction", [block["tx"][0], True, hashes[i]]))
                coinbase_rows.append(i)
            if not coinbase_calls:
                continue
            for i, tx in zip(coinbase_rows, self._batch(coinbase_calls), strict=True):
                if isinstance(tx, RpcError):
                    if int(heights[i]) == 0 and tx.code == RPC_INVALID_ADDRESS_OR_KEY:
                        continue  # the genesis coinbase is no ordinary transaction
                    raise tx
                econ["coinbase_tag"][i], econ["payout_scripts"][i] = self._coinbase(
                    tx, str(hashes[i])
                )
        if unavailable:
            notes.append(f"{unavailable} block(s) without data at the node (pruned)")

    def _fill_block(
        self,
        econ: dict[str, np.ndarray],
        i: int,
        height: int,
        block_hash: str,
        stats: Any,
        block: Any,
    ) -> None:
        def number(obj: Any, key: str, method: str) -> int:
            value = obj.get(key) if isinstance(obj, dict) else None
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise BadResponse(
                    f"{method} {block_hash} (height {height}) gave {key} {value!r}; expected "
                    "a whole number >= 0",
                    url=self.url,
                )
            return value

        if number(stats, "height", "getblockstats") != height:
            raise BadResponse(
                f"getblockstats {block_hash} is not the block of height {height}", url=self.url
            )
        econ["subsidy_sat"][i] = number(stats, "subsidy", "getblockstats")
        econ["fees_sat"][i] = number(stats, "totalfee", "getblockstats")
        econ["tx_count"][i] = number(block, "nTx", "getblock")
        econ["weight_wu"][i] = number(block, "weight", "getblock")
        econ["size_bytes"][i] = number(block, "size", "getblock")
        txids = block.get("tx") if isinstance(block, dict) else None
        if not isinstance(txids, list) or not txids or not isinstance(txids[0], str):
            raise BadResponse(
                f"getblock {block_hash} gave no transaction list (verbosity 1)", url=self.url
            )

    def _coinbase(self, tx: Any, block_hash: str) -> tuple[str, tuple[str, ...]]:
        try:
            tag = tx["vin"][0]["coinbase"]
            scripts = tuple(str(out["scriptPubKey"]["hex"]) for out in tx["vout"])
            if not isinstance(tag, str):
                raise TypeError
        except (KeyError, IndexError, TypeError):
            raise BadResponse(
                f"getrawtransaction of block {block_hash}'s coinbase has no vin[0].coinbase "
                "or vout[].scriptPubKey.hex",
                url=self.url,
            ) from None
        return tag, scripts

    # --- JSON-RPC -----------------------------------------------------------------------

    def _request(self, ident: int, method: str, params: list[Any], legacy: bool) -> dict:
        version = "1.0" if legacy or not self.jsonrpc_2 else "2.0"
        return {"jsonrpc": version, "id": ident, "method": method, "params": params}

    def _call(self, method: str, params: list[Any], *, legacy: bool = False) -> Any:
        """One JSON-RPC call: its result, or RpcError; -28 is transient."""
        body = json.dumps(self._request(0, method, params, legacy)).encode()
        response = self._post(body, method)
        data = self._decode(response, method)
        if not isinstance(data, dict):
            raise BadResponse(f"{method} gave no JSON object", url=self.url)
        outcome = self._outcome(data, method)
        if isinstance(outcome, RpcError):
            raise outcome
        return outcome

    def _batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """One JSON-RPC batch: each call's result or RpcError, in the order of ``calls``
        (replies matched by ``id``)."""
        if not calls:
            return []
        body = json.dumps(
            [self._request(i, m, p, False) for i, (m, p) in enumerate(calls)]
        ).encode()
        what = f"a batch of {len(calls)} {calls[0][0]}" + ("" if len(calls) == 1 else " calls")
        response = self._post(body, what)
        data = self._decode(response, what)
        if isinstance(data, dict):  # the whole batch failed (parse error, warm-up)
            outcome = self._outcome(data, what)
            raise (
                outcome
                if isinstance(outcome, RpcError)
                else BadResponse(
                    f"{what} gave one object; expected an array of replies", url=self.url
                )
            )
        if not isinstance(data, list):
            raise BadResponse(f"{what} gave no array of replies", url=self.url)
        by_id: dict[int, Any] = {}
        for item in data:
            ident = item.get("id") if isinstance(item, dict) else None
            if not isinstance(ident, int) or not 0 <= ident < len(calls) or ident in by_id:
                raise BadResponse(
                    f"{what}: a reply has id {ident!r}; expected each of 0..{len(calls) - 1} once",
                    url=self.url,
                )
            by_id[ident] = item
        if len(by_id) != len(calls):
            missing = min(set(range(len(calls))) - set(by_id))
            raise BadResponse(f"{what}: no reply has id {missing}", url=self.url)
        return [self._outcome(by_id[i], calls[i][0]) for i in range(len(calls))]

    def _outcome(self, item: dict, method: str) -> Any:
        error = item.get("error")
        if error is not None:
            code = error.get("code") if isinstance(error, dict) else None
            message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
            if code == RPC_IN_WARMUP:
                raise TransientSourceError(
                    f"the node is warming up ({message})",
                    url=self.url,
                    failure=f"the node is still warming up ({message})",
                )
            return RpcError(code, message[:200], method, url=self.url)
        if "result" not in item:
            raise BadResponse(f"{method}: a reply has neither result nor error", url=self.url)
        return item["result"]

    def _decode(self, response: httpx.Response, what: str) -> Any:
        """The JSON body of an RPC reply (1.1 errors come with HTTP 4xx/5xx and a body)."""
        status = response.status_code
        if status == 503:
            raise TransientSourceError(
                f"HTTP 503 ({error_message(response) or 'the node is busy or warming up'})",
                url=self.url,
            )
        try:
            return response.json()
        except ValueError:
            pass
        detail = error_message(response)
        reason = f"{what}: HTTP {status}" + (f": {detail}" if detail else "")
        if status >= 500:
            raise TransientSourceError(reason, url=self.url)
        if status == 403:
            reason += " (the node does not allow this address: see rpcallowip)"
        raise BadResponse(f"{reason}; expected a JSON-RPC reply", url=self.url)

    def _post(self, body: bytes, what: str) -> httpx.Response:
        """POST ``body`` to the RPC server with the first credential the node accepts."""
        tried: list[str] = []
        while self._credential < len(self._credentials):
            credential = self._credentials[self._credential]
            auth = credential.authorization()
            if auth is None:
                tried.append(f"{credential.origin} (missing or empty)")
                self._credential += 1
                continue
            log.debug("POST %s: %s", self.url, what)
            response = self._send(body, auth)
            if response.status_code == 401 and credential.can_reload and credential.reload():
                auth = credential.authorization()
                assert auth is not None
                log.debug("HTTP 401 from %s; %s was read again", self.url, credential.origin)
                response = self._send(body, auth)
                if response.status_code == 401:
                    tried.append(f"{credential.origin} (read again after HTTP 401)")
                    self._credential += 1
                    continue
            if response.status_code != 401:
                return response
            tried.append(credential.origin)
            self._credential += 1
        self._credential = 0  # a later call starts over (a restarted node, a new cookie)
        raise AuthenticationFailed(
            f"the node refused every credential (HTTP 401): {'; '.join(tried)}", url=self.url
        )

    def _send(self, body: bytes, auth: str) -> httpx.Response:
        return send_once(
            self._client,
            "POST",
            self.url + "/",
            content=body,
            headers={"Authorization": auth, "Content-Type": "application/json"},
            expected="HTTP 200 with a JSON-RPC reply",
        )

    def _raise_http(self, response: httpx.Response) -> None:
        status = response.status_code
        detail = error_message(response)
        reason = f"HTTP {status}" + (f": {detail}" if detail else "")
        url = str(response.request.url)
        if status == 503 or status >= 500:
            raise TransientSourceError(reason, url=url)
        raise BadResponse(f"{reason}; expected HTTP 200 with headers", url=url)


def _is_hash(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 64:
        return False
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True


def _empty_page() -> BlockPage:
    empty_int = np.zeros(0, np.int64)
    empty_obj = np.zeros(0, object)
    columns = {name: empty_obj for name in ("hash", "prev_hash", "chainwork")}
    columns |= {n: empty_int for n in ("height", "time", "median_time", "bits", "version", "nonce")}
    return BlockPage(**columns, **empty_economics(0))  # type: ignore[arg-type]
