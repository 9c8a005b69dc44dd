"""Follow the best chain of a live source (a Bitcoin Core node, an Esplora server) into the
store, block by hash, reorg-safe: :func:`sync_chain`, the sync loop
(:func:`minerwatch.ingest.sync.run_feed`) over a :class:`ChainFeed`.

Every sync starts with a probe: the source's tip, and its hash at the height of the tip
held. Where they agree, pages of blocks are fetched from the next height up; where they
do not, the fork point is found (the highest height at which the source's hash is the one
stored: stepping down 1, 2, 4, ... blocks, then bisecting, one ``hash_at`` request a step),
the stored blocks above it are moved to ``stale_blocks`` (never deleted) and the reorg is
logged, in the same transaction as the first page of the new branch. A page whose first
block's parent is not the block held below it (the source reorganised during the sync)
sends the loop back to the probe.

Each page is checked before it is written (:mod:`minerwatch.sources.page_checks`: linkage,
proof of work unless ``check_pow`` is False, the difficulty and time rules, the subsidy)
and written with the source's new tip in one transaction, so a sync killed at any point
resumes from the last page committed, with nothing lost or duplicated.

The first sync of a source starts at ``from_height`` (default: the lowest block held, so
that blocks imported from a CSV file gain their hashes, or genesis in an empty database).
Its first block's parent is taken on trust and recorded (``chain_sync.base_parent_hash``).
"""

from __future__ import annotations

import os
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from minerwatch.chain.consensus import RETARGET_INTERVAL, bits_to_difficulty_array
from minerwatch.chain.networks import Network, network_named
from minerwatch.errors import BadResponse, InputError, SourceError
from minerwatch.ingest.sync import (
    DEFAULT_DEADLINE_S,
    DEFAULT_MAX_PAGES,
    Holder,
    Page,
    Progress,
    Resume,
    SyncReport,
    holding,
    run_feed,
)
from minerwatch.sources import page_checks
from minerwatch.sources.chainpage import BlockPage, ChainSource, joined
from minerwatch.sources.files import Epochs
from minerwatch.sources.pools import PoolList, identify
from minerwatch.sources.retry import (
    DEFAULT_BACKOFF_S,
    DEFAULT_MAX_ATTEMPTS,
    Deadline,
    RetryPolicy,
)
from minerwatch.store import ChainState, Reorg, Store, WriteResult

HEADERS_PAGE = 2000
"""Blocks a page without economics (Core's REST limit, ``MAX_REST_HEADERS_RESULTS``)."""
ECONOMICS_PAGE = 100
"""Blocks a page with per-block economics (three RPC calls a block on a node)."""
CATCH_UP_BLOCKS = 50_000
"""Most blocks one write of a catch-up holds: consecutive pages of the source are fetched
into one write (one transaction, one check of the rules, one epochs update) while they
arrive quickly. A write of 2,000 headers cost about 45 ms in DuckDB whatever its size
(two inserts, the epochs upsert, the log, the commit); 50,000 a write cost about 10 times
less per block. A sync killed during a catch-up re-fetches at most this many blocks."""
CATCH_UP_S = 0.5
"""Most seconds one write of a catch-up waits for more pages (a slow source, the
economics of a node: the write goes when this passes)."""
HOLD_S = float(os.environ.get("MINERWATCH_SYNC_HOLD_S", "1.0"))
"""Seconds a chain sync keeps the database open across pages that follow each other
quickly (a catch-up of headers on loopback: milliseconds a page); readers in other
processes wait at most about this long plus one page (:class:`~minerwatch.ingest.sync.
Holder`). Opening and closing DuckDB costs about 0.1 s, more than a page."""


Identify = Callable[[BlockPage], np.ndarray]
_NONE = np.zeros(0, np.int64)


@dataclass(frozen=True)
class Probe:
    """Compare the source's chain with the tip held (the first request of every sync)."""


@dataclass(frozen=True)
class PageRequest:
    """Fetch blocks from ``start`` up, whose parent must be ``parent_hash`` (None: taken
    on trust, the first block of a fresh sync); ``fork`` when they replace a branch."""

    start: int
    parent_hash: str | None
    target: int
    fork: Reorg | None = None


Request = Probe | PageRequest


class ChainFeed:
    """A :class:`~minerwatch.ingest.sync.Feed` of best-chain blocks from a
    :class:`~minerwatch.sources.chainpage.ChainSource` (see the module docstring)."""

    def __init__(
        self,
        db: Store | Holder | str | Path | None,
        source: ChainSource,
        *,
        from_height: int | None = None,
        check_pow: bool = True,
        economics: bool = True,
        page_size: int | None = None,
        identify: Identify | None = None,
        now: Callable[[], float] = _time.time,
        batch_blocks: int = CATCH_UP_BLOCKS,
        batch_s: float = CATCH_UP_S,
    ) -> None:
        self.db = db
        self.source = source
        self.state_key = source.name
        self.url = source.url
        self.from_height = from_height
        self.check_pow = check_pow
        self.economics = economics
        self.page_size = page_size or (ECONOMICS_PAGE if economics else HEADERS_PAGE)
        self.identify = identify
        self.now = now
        self.batch_blocks = batch_blocks
        self.batch_s = batch_s
        self.state: ChainState | None = None
        self.network: Network | None = None  # the source's, known after the probe
        self.start = 0
        # (the height after them, times, bits) of the blocks just below the next page
        self._recent: tuple[int, np.ndarray, np.ndarray] = (-1, _NONE, _NONE)

    # -- Feed ------------------------------------------------------------------------

    def resume(self, store: Store) -> Resume[Request]:
        self.state = store.chain_state(self.source.name)
        if self.identify is None:
            pools = store.read_pool_list()
            if pools is not None:
                self.identify = partial(_identify_pools, pools=pools)
        if self.state is not None:
            if self.from_height is not None and self.from_height != self.state.base_height:
                raise InputError(
                    f"this database already follows {self.source.name} from height "
                    f"{self.state.base_height} (tip {self.state.tip_height}); from_height "
                    "only starts a fresh database",
                    parameter="from_height",
                )
            return Resume(str(self.state.tip_height + 1), None, Probe())
        _, held_lo, held_hi, _, _ = store.block_span()
        if self.from_height is not None:
            if self.from_height < 0:
                raise InputError(
                    f"from_height {self.from_height} is out of range; expected >= 0",
                    parameter="from_height",
                )
            if (
                held_lo is not None
                and held_hi is not None
                and not held_lo <= self.from_height <= held_hi + 1
            ):
                raise InputError(
                    f"from_height {self.from_height} would leave a gap beside the blocks "
                    f"held ({held_lo} to {held_hi}); expected a height from {held_lo} to "
                    f"{held_hi + 1}",
                    parameter="from_height",
                )
            self.start = self.from_height
        else:
            self.start = 0 if held_lo is None else int(held_lo)
        return Resume(str(self.start), None, Probe())

    def fetch(self, request: Request, deadline: Deadline | None) -> Page[Request]:
        if isinstance(request, Probe):
            return self._probe()
        return self._page(request)

    def write(self, store: Store, page: Page[Request]) -> list[WriteResult]:
        blocks, request, state = page.records
        result = store.write_block_page(blocks, state, fork=request.fork, origin=page.origin)
        epochs = _epochs_begun(store, blocks, page.origin, fresh=self.state is None)
        writes = [result] if epochs is None else [result, store.write_epochs(epochs, page.origin)]
        self.state = state
        self._recent = (
            (
                blocks.tip_height + 1,
                np.concatenate([self._recent[1], blocks.time])[-RETARGET_INTERVAL:],
                np.concatenate([self._recent[2], blocks.bits])[-RETARGET_INTERVAL:],
            )
            if len(blocks) and self._recent[0] == request.start
            else (-1, _NONE, _NONE)
        )
        return writes

    def _below(self, start: int) -> dict[str, np.ndarray]:
        """Times and bits of the 2016 blocks below ``start`` (-1 where not held): from the
        pages this sync wrote when they reach that far, else from the store."""
        end, times, bits = self._recent
        lowest = self.start if self.state is None else self.state.base_height
        if end == start and len(times) >= min(RETARGET_INTERVAL, start - lowest):
            pad = RETARGET_INTERVAL - len(times)
            return {
                "time": np.concatenate([np.full(pad, -1, np.int64), times]),
                "bits": np.concatenate([np.full(pad, -1, np.int64), bits]),
            }
        with holding(self.db) as store:
            held = store.block_time_bits(np.arange(start - RETARGET_INTERVAL, start))
        self._recent = (start, held["time"][held["time"] >= 0], held["bits"][held["time"] >= 0])
        return held

    def held(self, store: Store) -> str | None:
        state = store.chain_state(self.source.name)
        if state is None:
            return None
        return f"blocks held to height {state.tip_height:,} ({state.tip_hash})"

    # -- requests ----------------------------------------------------------------------

    def _probe(self) -> Page[Request]:
        tip = self.source.tip()
        self.network = network_named(tip.network)
        state = self.state
        if state is None:
            if tip.height < self.start:
                return Page(
                    self.url,
                    notes=(f"the source's tip {tip.height:,} is below height {self.start:,}",),
                )
            with holding(self.db) as store:
                parent = store.block_hashes(np.array([self.start - 1]))[0]
            return Page(self.url, next=PageRequest(self.start, parent, tip.height))
        if self.network.name != state.network:
            raise InputError(
                f"the database holds the {state.network} chain and the source "
                f"({self.url}) follows {self.network.name}; expected the same network "
                "(use another --db for another network)",
                parameter="network",
            )
        if tip.height < state.tip_height:
            with holding(self.db) as store:
                ours = store.block_hashes(np.array([tip.height]))[0]
            where = "on the chain held" if ours == tip.hash else "on another branch"
            return Page(
                self.url,
                notes=(
                    f"the source is behind: its tip {tip.height:,} is below the tip held "
                    f"{state.tip_height:,} ({where}); nothing changed",
                ),
            )
        if self.source.hash_at(state.tip_height) == state.tip_hash:
            if tip.height <= state.tip_height:
                return Page(self.url)
            return Page(
                self.url, next=PageRequest(state.tip_height + 1, state.tip_hash, tip.height)
            )
        fork_height, fork_hash = self._find_fork(state)
        fork = Reorg(
            fork_height,
            state.tip_height - fork_height,
            state.tip_height,
            state.tip_hash,
            tip.height,
            tip.hash,
            self.source.name,
        )
        note = (
            f"reorg: the {fork.depth} block(s) above {fork_height:,} were replaced "
            f"(old tip {state.tip_hash}, new tip {tip.hash} at {tip.height:,})"
        )
        return Page(
            self.url,
            notes=(note,),
            next=PageRequest(fork_height + 1, fork_hash, tip.height, fork),
        )

    def _find_fork(self, state: ChainState) -> tuple[int, str]:
        """The highest height at which the source's best chain has the hash stored, and
        that hash: step down 1, 2, 4, ... blocks from the tip held, then bisect."""
        lowest = state.base_height
        agreed: dict[int, str] = {}
        agree_at: int | None = None
        disagree_at = state.tip_height
        step = 1
        while agree_at is None:
            height = max(state.tip_height - step, lowest)
            if self._agrees(height, agreed):
                agree_at = height
            elif height == lowest:
                raise SourceError(
                    f"the source's chain forks below the lowest block held (height "
                    f"{lowest:,}): it does not contain the blocks this database holds; "
                    "expected the same chain (sync another database, or check the source)",
                    url=self.url,
                )
            else:
                disagree_at = height
                step *= 2
        while disagree_at - agree_at > 1:
            middle = (agree_at + disagree_at) // 2
            if self._agrees(middle, agreed):
                agree_at = middle
            else:
                disagree_at = middle
        return agree_at, agreed[agree_at]

    def _agrees(self, height: int, agreed: dict[int, str]) -> bool:
        """Whether the source's hash at ``height`` is the one stored (kept in ``agreed``)."""
        with holding(self.db) as store:
            stored = store.block_hashes(np.array([height]))[0]
        if stored is None or self.source.hash_at(height) != stored:
            return False
        agreed[height] = str(stored)
        return True

    def _pages(self, request: PageRequest) -> list[BlockPage]:
        """The source's pages from ``request.start`` up, joined while they come quickly
        (:data:`CATCH_UP_BLOCKS`, :data:`CATCH_UP_S`) and link. A later page that fails
        (any source fault) or does not link to the one before ends the run: the pages before
        it are written, and the next request meets the fault (retried) or the change."""
        pages: list[BlockPage] = []
        start, began, held = request.start, _time.monotonic(), 0
        while True:
            count = max(0, min(self.page_size, request.target - start + 1))
            if pages and count == 0:
                break
            try:
                page = self.source.page(start, count, economics=self.economics)
            except SourceError:  # a later page's fault: the next request meets it again
                if not pages:
                    raise
                break
            if pages and (not len(page) or page.prev_hash[0] != pages[-1].tip_hash):
                break
            pages.append(page)
            held += len(page)
            start += len(page)
            if (
                not len(page)
                or held >= self.batch_blocks
                or _time.monotonic() - began >= self.batch_s
            ):
                break
        return pages

    def _checked_run(self, pages: list[BlockPage], start: int) -> BlockPage:
        """The pages joined and checked (:meth:`_checked`). When the run breaks a rule, the
        pages before the first one that does are the run (checked again without it), so
        that every page before a faulty one is written, as when pages are written one by
        one; a first page that breaks a rule raises."""
        try:
            return self._checked(joined(pages), start)
        except BadResponse:
            if len(pages) == 1:
                raise
        for good in range(1, len(pages)):
            try:
                self._checked(joined(pages[: good + 1]), start)
            except BadResponse:
                break
        return self._checked(joined(pages[:good]), start)

    def _page(self, request: PageRequest) -> Page[Request]:
        pages = self._pages(request)
        first = pages[0]  # only the first page of a run may be empty
        state = self.state
        if not len(first):
            if request.fork is None:
                return Page(self.url)
            # The new branch is no longer than the fork: the stale blocks still go.
            new_state = self._next_state(request, None)
            return Page(self.url, records=(first, request, new_state), next=None)
        if request.parent_hash is not None and first.prev_hash[0] != request.parent_hash:
            return Page(
                self.url,
                notes=(
                    f"the source's chain changed at height {request.start - 1:,} during the "
                    "sync; looking for the fork again",
                ),
                next=Probe(),
            )
        blocks = self._checked_run(pages, request.start)
        new_state = self._next_state(request, blocks)
        done_to = blocks.tip_height
        last = done_to >= request.target
        base = self.start if state is None else state.base_height
        return Page(
            self.url,
            records=(blocks, request, new_state),
            count=len(blocks),
            first=f"{request.start:,}",
            last=f"{done_to:,}",
            done=done_to - base + 1,
            notes=blocks.notes,
            next=None if last else PageRequest(done_to + 1, blocks.tip_hash, request.target),
        )

    def _next_state(self, request: PageRequest, blocks: BlockPage | None) -> ChainState:
        state = self.state
        if blocks is None:
            assert request.fork is not None
            tip_height, tip_hash = request.fork.fork_height, str(request.parent_hash)
        else:
            tip_height, tip_hash = blocks.tip_height, blocks.tip_hash
        if state is None:
            assert self.network is not None, "the probe comes first"
            return ChainState(
                self.source.name,
                self.network.name,
                self.url,
                request.start,
                None if blocks is None else str(blocks.prev_hash[0]),
                self.check_pow,
                tip_height,
                tip_hash,
            )
        return replace(
            state,
            pow_checked=state.pow_checked and self.check_pow,
            tip_height=tip_height,
            tip_hash=tip_hash,
        )

    def _checked(self, blocks: BlockPage, start: int) -> BlockPage:
        """``blocks`` after the consensus checks (a fault raises), with pools identified."""
        where = page_checks.PageWhere(self.url, np.asarray(blocks.height))
        page_checks.check_linkage(blocks, start, where)
        network = self.network
        assert network is not None, "the probe comes first"
        if self.check_pow:
            page_checks.check_proof_of_work(blocks, where, network)
        held = self._below(start)
        page_checks.check_times(blocks, where, held["time"], int(self.now()))
        if self.check_pow:
            page_checks.check_difficulty(blocks, where, held["time"], held["bits"], network)
        page_checks.check_subsidy(blocks, where, network)
        if self.identify is not None:
            named = self.identify(blocks)
            pool = np.where(np.array([p is None for p in blocks.pool], bool), named, blocks.pool)
            blocks = replace(blocks, pool=pool)
        return blocks


def _identify_pools(blocks: BlockPage, pools: PoolList) -> np.ndarray:
    return identify(blocks.coinbase_tag, blocks.payout_scripts, pools)


def _epochs_begun(store: Store, blocks: BlockPage, origin: str, *, fresh: bool) -> Epochs | None:
    """The difficulty epochs the page holds the first block of (start time = that block's
    header time), and, on the first page of a ``fresh`` sync, the epoch of its first block
    when no epoch row holds it yet (start time unknown; a later page continues an epoch
    already written): so that a database built from a chain source alone has the epochs
    table every forecast reads."""
    height = np.asarray(blocks.height, np.int64)
    if not len(height):
        return None
    first = height % RETARGET_INTERVAL == 0
    start_time = np.where(first, np.asarray(blocks.time, np.int64), -1)
    if fresh and not first[0]:
        begun = int(height[0] - height[0] % RETARGET_INTERVAL)
        if begun in set(store.read_epochs()["start_height"].tolist()):
            first[0] = False
        else:
            first[0] = True
            height = height.copy()
            height[0] = begun
    if not first.any():
        return None
    bits = np.asarray(blocks.bits, np.int64)[first]
    return Epochs(
        start_height=height[first],
        difficulty=bits_to_difficulty_array(bits),
        bits=bits,
        start_time=start_time[first],
        origin=origin,
        lines=np.flatnonzero(first) + 1,  # the rows of the page
    )


def sync_chain(
    db: Store | Holder | str | Path | None,
    source: ChainSource,
    *,
    policy: RetryPolicy | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    backoff_s: float = DEFAULT_BACKOFF_S,
    deadline_s: float | None = DEFAULT_DEADLINE_S,
    max_pages: int = DEFAULT_MAX_PAGES,
    progress: Progress | None = None,
    hold_s: float | None = None,
    **feed_options: Any,
) -> SyncReport:
    """Sync the best chain of ``source`` into the database ``db`` (see the module
    docstring): :func:`~minerwatch.ingest.sync.run_feed` over a :class:`ChainFeed`.

    Parameters:
        db: a writable open store, or a database path (opened per page, or held across
            quick pages: ``hold_s``), or a :class:`~minerwatch.ingest.sync.Holder` (the
            caller's, left as it is at the end, open or not).
        source: the chain source (a node, an Esplora server).
        policy, deadline_s, max_pages, progress: as :func:`run_feed`; progress counts
            blocks from the first height this source holds; ``max_pages`` counts writes
            (a catch-up joins up to :data:`CATCH_UP_BLOCKS` blocks of source pages in one).
        max_attempts, backoff_s: the retry policy when ``policy`` is not given (as
            :func:`~minerwatch.ingest.sync.sync_coinmetrics`).
        hold_s: seconds the database stays open across quick pages (default
            :data:`HOLD_S`, or ``$MINERWATCH_SYNC_HOLD_S``; 0: opened for each page).
        feed_options: those of :class:`ChainFeed`: ``from_height`` (the first height of a
            fresh sync, default the lowest block held or 0; its parent taken on trust;
            refused once the source has synced here), ``check_pow`` (False for test chains
            only; recorded), ``economics`` (False: headers only), ``page_size`` (default
            :data:`HEADERS_PAGE` without economics, :data:`ECONOMICS_PAGE` with them),
            ``identify`` (names each block's pool; default the imported pool list).

    A page that breaks a consensus rule is a :class:`~minerwatch.errors.BadResponse`;
    pages committed before it stay.
    """
    page_size = feed_options.get("page_size")
    if page_size is not None and not (isinstance(page_size, int) and page_size >= 1):
        raise InputError(
            f"page_size {page_size} is out of range; expected >= 1", parameter="page_size"
        )
    if isinstance(db, Holder):
        holder, held = db, True
    else:
        holder, held = Holder(db, HOLD_S if hold_s is None else hold_s), False
    feed = ChainFeed(holder, source, **feed_options)
    try:
        return run_feed(
            holder,
            feed,
            policy=policy or RetryPolicy(max_attempts=max_attempts, backoff_s=backoff_s),
            deadline_s=deadline_s,
            max_pages=max_pages,
            progress=progress,
        )
    finally:
        if not held:
            holder.close()
