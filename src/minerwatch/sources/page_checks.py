"""Consensus checks on a page of blocks from a live chain source, before it is stored.

A node or an Esplora server is trusted for what it says only as far as the header chain
proves it. Each check raises :class:`~minerwatch.errors.BadResponse` (a source fault, exit
3) naming the source URL, the height and what the rule expects:

- heights consecutive from the height asked for; each block's ``prev_hash`` the previous
  block's hash (linkage);
- proof of work: the hash, read as a 256-bit number, at most the target of the block's own
  bits (Core's ``CheckProofOfWork``), and the bits a canonical compact target no easier
  than the network's proof-of-work limit; where the source gives the merkle root, the hash
  is recomputed from the six header fields (double SHA-256 of the 80-byte header);
- difficulty: bits unchanged within a 2016-block epoch (and everywhere on regtest, which
  never retargets) and, at a retarget height whose epoch's first and last block times are
  known, equal to :func:`~minerwatch.chain.consensus.next_bits` of them (Core's
  ``GetNextWorkRequired``); not on the test networks, whose 20-minute rule lets any block
  carry the proof-of-work limit;
- header times above the median time past of the previous 11 blocks and at most two hours
  ahead of now (:func:`minerwatch.sources.rules.check_block_times`);
- subsidy, where the source gives it: the network's scheduled subsidy of the height.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerwatch.chain.consensus import RETARGET_INTERVAL, bits_to_target, next_bits
from minerwatch.chain.headers import (
    bits_canonical,
    block_hashes,
    hex_to_digests,
    pow_ok,
    serialize_headers,
)
from minerwatch.chain.networks import Network
from minerwatch.errors import BadResponse
from minerwatch.sources.chainpage import BlockPage
from minerwatch.sources.rules import MAX_FUTURE_S, check_block_times, refuse

MTP_SPAN = 11


@dataclass(frozen=True)
class PageWhere:
    """Locates a page's rows for error messages: the source ``url`` and the heights."""

    url: str
    height: np.ndarray

    def error(self, row: int, column: str | None, message: str) -> BadResponse:
        field = f" ({column})" if column else ""
        return BadResponse(f"block {int(self.height[row])}{field}: {message}", url=self.url)


def check_linkage(page: BlockPage, start_height: int, where: PageWhere) -> None:
    """Heights consecutive from ``start_height`` and every row's parent the row before."""
    height = np.asarray(page.height, np.int64)
    refuse(
        where,
        height != start_height + np.arange(len(height)),
        "height",
        lambda i: f"expected height {start_height + i} (consecutive from {start_height})",
    )
    hashes = np.asarray(page.hash, object)
    parents = np.asarray(page.prev_hash, object)
    broken = np.zeros(len(height), bool)
    broken[1:] = parents[1:] != hashes[:-1]
    refuse(
        where,
        broken,
        "prev_hash",
        lambda i: (
            f"parent {parents[i]} is not the hash of block {height[i] - 1} "
            f"({hashes[i - 1]}); expected a linked chain"
        ),
    )


def check_proof_of_work(page: BlockPage, where: PageWhere, network: Network) -> None:
    """Each block's bits canonical and no easier than the network's proof-of-work limit,
    its hash at most the target of its bits, and (where the merkle root is given) the hash
    that of its fields (:mod:`minerwatch.chain.headers`, vectorised)."""
    bits = np.asarray(page.bits, np.int64)
    refuse(
        where,
        ~bits_canonical(bits),
        "bits",
        lambda i: f"bits {int(bits[i]):08x} are not a canonical compact target",
    )
    distinct, row_of = np.unique(bits, return_inverse=True)  # a few values a page
    too_easy = np.array([bits_to_target(int(b)) > network.pow_limit for b in distinct], bool)
    refuse(
        where,
        too_easy[row_of.reshape(-1)],
        "bits",
        lambda i: (
            f"bits {int(bits[i]):08x} are easier than the {network.name} network's "
            "proof-of-work limit"
        ),
    )
    hashes = np.asarray(page.hash, object)
    refuse(
        where,
        ~pow_ok(hex_to_digests(hashes), bits),
        "hash",
        lambda i: (
            f"hash {hashes[i]} is above the target of its bits {int(bits[i]):08x}; "
            "expected proof of work (--skip-pow-check is for test chains only)"
        ),
    )
    if page.merkle_root is None:
        return
    merkle = np.asarray(page.merkle_root, object)
    known = np.array([isinstance(m, str) and len(m) == 64 for m in merkle], bool)
    if not known.any():
        return
    computed = np.asarray(hashes).copy()
    computed[known] = block_hashes(
        serialize_headers(
            np.asarray(page.version)[known],
            np.asarray(page.prev_hash, object)[known],
            merkle[known],
            np.asarray(page.time)[known],
            bits[known],
            np.asarray(page.nonce)[known],
        )
    )
    refuse(
        where,
        computed != hashes,
        "hash",
        lambda i: f"hash {hashes[i]} is not the hash of the header's fields ({computed[i]})",
    )


def check_difficulty(
    page: BlockPage,
    where: PageWhere,
    before_time: np.ndarray,
    before_bits: np.ndarray,
    network: Network,
) -> None:
    """The network's difficulty rules over the page (see the module docstring), with the
    stored blocks just below it (``before_time``/``before_bits``: the 2016 heights
    ``height[0] - 2016 .. height[0] - 1``, -1 where not held)."""
    if network.min_difficulty_blocks:
        return
    height = np.asarray(page.height, np.int64)
    bits = np.asarray(page.bits, np.int64)
    times = np.concatenate([np.asarray(before_time, np.int64), np.asarray(page.time)])
    all_bits = np.concatenate([np.asarray(before_bits, np.int64), bits])
    offset = len(before_time)
    pos = offset + np.arange(len(height))
    prev_bits = all_bits[pos - 1]
    inside = (network.no_retargeting | (height % RETARGET_INTERVAL != 0)) & (prev_bits >= 0)
    refuse(
        where,
        inside & (bits != prev_bits),
        "bits",
        lambda i: (
            f"bits {int(bits[i]):08x} differ from the previous block's "
            f"{int(prev_bits[i]):08x} inside a difficulty epoch"
        ),
    )
    expected = np.full(len(height), -1, np.int64)
    retargets = (height % RETARGET_INTERVAL == 0) & (height > 0) & (not network.no_retargeting)
    for i in np.flatnonzero(retargets):
        first, last = times[pos[i] - RETARGET_INTERVAL], times[pos[i] - 1]
        if pos[i] - RETARGET_INTERVAL >= 0 and first >= 0 and last >= 0 and prev_bits[i] >= 0:
            expected[i] = next_bits(
                int(prev_bits[i]), int(first), int(last), pow_limit=network.pow_limit
            )
    refuse(
        where,
        (expected >= 0) & (bits != expected),
        "bits",
        lambda i: (
            f"bits {int(bits[i]):08x} at a retarget; the retarget rule gives {int(expected[i]):08x}"
        ),
    )


def check_times(page: BlockPage, where: PageWhere, before_time: np.ndarray, now: int) -> None:
    """Header times after the median time past and at most two hours ahead of ``now``."""
    time = np.asarray(page.time, np.int64)
    refuse(
        where,
        time > now + MAX_FUTURE_S,
        "time",
        lambda i: f"time {time[i]} is more than two hours ahead of now ({now})",
    )
    before = np.asarray(before_time, np.int64)[-MTP_SPAN:]
    unknown = np.flatnonzero(before < 0)
    held = before[unknown[-1] + 1 :] if len(unknown) else before  # the run just below
    check_block_times(where, np.asarray(page.height, np.int64), time, held)


def check_subsidy(page: BlockPage, where: PageWhere, network: Network) -> None:
    """A known subsidy equals the network's scheduled subsidy of its height."""
    height = np.asarray(page.height, np.int64)
    subsidy = np.asarray(page.subsidy_sat, np.int64)
    scheduled = network.subsidy_sat_array(height)
    refuse(
        where,
        (subsidy >= 0) & (subsidy != scheduled),
        "subsidy_sat",
        lambda i: f"subsidy {subsidy[i]} sat; the schedule gives {scheduled[i]} sat",
    )
