"""The pool list into the store, and the stored blocks' pools identified again with it.

``minerwatch import pools FILE`` (:func:`import_pools`) reads a bitcoin-data/mining-pools
list (:func:`minerwatch.sources.pools.read_pool_list`), replaces the stored list and, in
the same transaction, identifies again every stored block that carries coinbase data
(:func:`reidentify_blocks`), so the pools of old blocks follow the new list. Blocks
without a coinbase scriptSig or payout scripts (a blocks CSV) keep the pool they were
imported with.
"""

from __future__ import annotations

from pathlib import Path

from minerwatch.ingest.files import ImportReport, Progress, _no_progress
from minerwatch.sources.pools import PoolList, identify, read_pool_list
from minerwatch.store import Store, WriteResult

#: Blocks identified per step of :func:`reidentify_blocks` (bounded memory).
REIDENTIFY_PAGE_BLOCKS = 50_000


def reidentify_blocks(store: Store, pools: PoolList, origin: str) -> WriteResult:
    """Identify every stored block carrying coinbase data with ``pools`` and store the
    pools (None where the list knows none), a page of :data:`REIDENTIFY_PAGE_BLOCKS`
    heights at a time. The caller holds the transaction. Returns the blocks' write
    (``changed``: blocks whose pool changed)."""
    span = store.block_height_range()
    changed = unchanged = 0
    if span is not None:
        for lo in range(span[0], span[1] + 1, REIDENTIFY_PAGE_BLOCKS):
            page = store.read_block_coinbases(
                min_height=lo, max_height=lo + REIDENTIFY_PAGE_BLOCKS - 1
            )
            if not len(page["height"]):
                continue
            pool = identify(page["coinbase_tag"], page["payout_scripts"], pools)
            write = store.set_block_pools(page["height"], pool, origin)
            changed += write.changed
            unchanged += write.unchanged
    return WriteResult("blocks", 0, changed, unchanged)


def import_pools(
    store: Store, path: str | Path, *, reidentify: bool = True, progress: Progress = _no_progress
) -> ImportReport:
    """Import a pool list and (with ``reidentify``) identify the stored blocks again.

    One transaction: the list replaces the stored one (counted by pool name: new, changed,
    unchanged, removed) and every stored block with coinbase data gets the pool the new
    list gives it."""
    progress(f"reading {path}")
    pools = read_pool_list(path)
    origin = str(path)
    with store.transaction():
        progress(f"writing {len(pools.name):,} pools")
        writes = [store.write_pool_list(pools, origin)]
        if reidentify:
            progress("identifying the stored blocks again")
            writes.append(reidentify_blocks(store, pools, origin))
    notes = []
    if writes[0].removed:
        notes.append(f"{writes[0].removed:,} pool(s) of the stored list are not in this one")
    if reidentify:
        notes.append(
            f"{writes[1].total:,} stored block(s) with coinbase data identified again: "
            f"{writes[1].changed:,} changed pool"
        )
    else:
        notes.append(
            "stored blocks keep their pools (`reidentify` off); blocks synced from now on "
            "are identified with this list"
        )
    return ImportReport.of("pools", origin, pools.id, writes, notes)
