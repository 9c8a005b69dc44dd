"""What a live chain source (a Bitcoin Core node, an Esplora server) hands the sync: pages
of consecutive blocks identified by hash, and the probes the reorg logic needs.

A :class:`BlockPage` is columnar (NumPy arrays of equal length, lowest height first), so the
store writes it in one statement. Header fields are always known; per-block economics are
known when the source gives them (Esplora's ``/api/v1/blocks`` does, a node's
``getblockstats`` does on request) and marked unknown otherwise: ``-1`` in integer columns,
``None`` in object columns, as :class:`minerwatch.sources.blocks.Blocks` does.

Hashes are 64 lowercase hex characters in display order (the byte-reversed double SHA-256
of the 80-byte header, as ``getblockhash`` and Esplora print them).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Protocol, Self

import numpy as np

UNKNOWN = -1
"""Integer columns of a page: the value is not known (the source did not give it)."""

HEADER_COLUMNS = (
    "height",
    "hash",
    "prev_hash",
    "time",
    "median_time",
    "bits",
    "version",
    "nonce",
    "chainwork",
)
ECONOMIC_COLUMNS = (
    "subsidy_sat",
    "fees_sat",
    "tx_count",
    "weight_wu",
    "size_bytes",
    "coinbase_tag",
    "payout_scripts",
    "pool",
)


@dataclass(frozen=True)
class BlockPage:
    """Consecutive blocks of one branch, ascending by height (each ``prev_hash`` is the
    previous row's ``hash``; the first row's ``prev_hash`` is its parent's).

    Header arrays: ``height`` (int64), ``hash`` and ``prev_hash`` (object, hex str),
    ``time`` (int64, header time, unix seconds), ``median_time`` (int64, median time past of
    the block as Core reports ``mediantime``, -1 unknown), ``bits`` (int64 compact target),
    ``version`` (int64, the header's nVersion as a signed 32-bit value), ``nonce`` (int64),
    ``chainwork`` (object, hex str of the cumulative work up to and including the block as
    Core prints it, None unknown).

    Economics (``-1`` / None unknown): ``subsidy_sat`` (int64, the block's scheduled
    subsidy, satoshis), ``fees_sat`` (int64, total fees the block's transactions paid,
    satoshis), ``tx_count`` (int64, including the coinbase), ``weight_wu`` (int64, BIP-141
    weight units), ``size_bytes`` (int64, serialized size), ``coinbase_tag`` (object, the
    coinbase scriptSig as hex), ``payout_scripts`` (object, a tuple of the coinbase's output
    scriptPubKeys as hex), ``pool`` (object, a pool name where the source names it).

    ``merkle_root`` (object, hex in display order) completes the header where the source
    gives it, so that the hash can be recomputed from the fields; None when not given.
    """

    height: np.ndarray
    hash: np.ndarray
    prev_hash: np.ndarray
    time: np.ndarray
    median_time: np.ndarray
    bits: np.ndarray
    version: np.ndarray
    nonce: np.ndarray
    chainwork: np.ndarray
    subsidy_sat: np.ndarray
    fees_sat: np.ndarray
    tx_count: np.ndarray
    weight_wu: np.ndarray
    size_bytes: np.ndarray
    coinbase_tag: np.ndarray
    payout_scripts: np.ndarray
    pool: np.ndarray
    merkle_root: np.ndarray | None = None
    notes: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.height)

    @property
    def tip_height(self) -> int:
        return int(self.height[-1])

    @property
    def tip_hash(self) -> str:
        return str(self.hash[-1])

    def columns(self) -> dict[str, np.ndarray]:
        """The page's arrays by name (not ``notes``)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "notes"}
        if out["merkle_root"] is None:
            out["merkle_root"] = np.full(len(self), None, object)
        return out


def joined(pages: list[BlockPage]) -> BlockPage:
    """Consecutive pages of one branch as one page (each page's first ``prev_hash`` the
    previous page's tip: the caller has checked it); notes kept once each, in order."""
    if len(pages) == 1:
        return pages[0]
    columns = {
        f.name: np.concatenate([getattr(page, f.name) for page in pages])
        for f in fields(BlockPage)
        if f.name not in ("merkle_root", "notes")
    }
    merkle = None
    if any(page.merkle_root is not None for page in pages):
        merkle = np.concatenate([page.columns()["merkle_root"] for page in pages])
    notes = tuple(dict.fromkeys(note for page in pages for note in page.notes))
    return BlockPage(**columns, merkle_root=merkle, notes=notes)


def empty_economics(n: int) -> dict[str, np.ndarray]:
    """Economic columns for ``n`` blocks, every value unknown."""
    unknown = np.full(n, UNKNOWN, np.int64)
    nothing = np.full(n, None, object)
    return {
        "subsidy_sat": unknown.copy(),
        "fees_sat": unknown.copy(),
        "tx_count": unknown.copy(),
        "weight_wu": unknown.copy(),
        "size_bytes": unknown.copy(),
        "coinbase_tag": nothing.copy(),
        "payout_scripts": nothing.copy(),
        "pool": nothing.copy(),
    }


@dataclass(frozen=True)
class ChainTip:
    """A source's view of its best chain: ``network`` ("main", "testnet3", "testnet4",
    "signet", "regtest"), the tip's ``height`` and ``hash``."""

    network: str
    height: int
    hash: str


class Closing:
    """A source that holds connections (its own HTTP client, threads): :meth:`close`
    releases them, and so does leaving a ``with`` block."""

    def close(self) -> None:
        """Release what the source holds; nothing here."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ChainSource(Protocol):
    """A source of main-chain blocks by height (the node's or the server's best chain).

    Every method makes its request once; the sync loop owns retries, deadlines and the
    order of calls. Faults are :class:`~minerwatch.errors.SourceError` subclasses.
    """

    name: str
    """Short name stored with each block (``"node"``, ``"esplora"``)."""
    url: str
    """Where the source is, without credentials (safe to print)."""

    def tip(self) -> ChainTip:
        """The best chain's network, tip height and tip hash."""
        ...

    def hash_at(self, height: int) -> str | None:
        """The hash of the best chain's block at ``height``; None above the tip."""
        ...

    def page(self, start_height: int, count: int, *, economics: bool = True) -> BlockPage:
        """Up to ``count`` best-chain blocks from ``start_height`` up (fewer at the tip;
        empty above it), with per-block economics when ``economics`` and the source has
        them. The blocks are consecutive and linked; the caller checks the first row's
        ``prev_hash`` against the block it holds at ``start_height - 1``."""
        ...
