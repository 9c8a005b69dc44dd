"""The blocks a sync just added, as ``minerwatch watch`` prints them: one line a block
(height, time since the previous block, pool, fees, transactions) and the next difficulty
adjustment as of the new tip."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerwatch.analyses.difficulty import NextAdjustment, iso_utc, outlook_from_store
from minerwatch.blockdays import PROVISIONAL_DEPTH
from minerwatch.errors import InputError
from minerwatch.serialize import Jsonable
from minerwatch.store import Store


@dataclass(frozen=True)
class NewBlock:
    """One block added: ``height``, ``hash``, header ``time`` (ISO 8601 UTC),
    ``since_previous_s`` (header time minus the previous block's, seconds; may be negative:
    header times are not monotonic; None for the first block held), ``pool`` (None
    unknown), ``fees_sat`` and ``tx_count`` (None unknown), ``provisional`` (within
    :data:`~minerwatch.blockdays.PROVISIONAL_DEPTH` of the tip)."""

    height: int
    hash: str | None
    time: str | None
    since_previous_s: int | None
    pool: str | None
    fees_sat: int | None
    tx_count: int | None
    provisional: bool


@dataclass(frozen=True)
class TipUpdate(Jsonable):
    """The blocks from ``first_height`` to the tip ``tip_height`` (at most ``limit`` of
    them, the latest), the ``next_adjustment`` forecast at the tip (None when the blocks
    held cannot give one: ``reason`` says why), and the sync's ``notes`` (reorgs)."""

    tip_height: int
    blocks: list[NewBlock]
    next_adjustment: NextAdjustment | None
    reason: str | None
    notes: list[str]


def _known(value: int) -> int | None:
    return None if value < 0 else int(value)


def tip_update(
    store: Store, first_height: int, *, limit: int = 20, notes: list[str] | None = None
) -> TipUpdate:
    """:class:`TipUpdate` for the blocks from ``first_height`` up to the tip held."""
    state_tip = store.block_height_range()
    if state_tip is None:
        raise InputError("no blocks are held yet")
    tip = state_tip[1]
    lowest = max(first_height, tip - limit + 1)
    rows = store.read_all_blocks(min_height=lowest - 1)
    best = ~rows["stale"]
    keep = best & (rows["height"] >= lowest - 1)
    height, times = rows["height"][keep], rows["time"][keep]
    blocks = []
    for i in np.flatnonzero(height >= lowest):
        previous = int(times[i - 1]) if i > 0 and height[i - 1] == height[i] - 1 else None
        pick = {name: rows[name][keep][i] for name in ("hash", "pool", "fees_sat", "tx_count")}
        blocks.append(
            NewBlock(
                height=int(height[i]),
                hash=pick["hash"],
                time=iso_utc(float(times[i])),
                since_previous_s=None if previous is None else int(times[i]) - previous,
                pool=pick["pool"],
                fees_sat=_known(int(pick["fees_sat"])),
                tx_count=_known(int(pick["tx_count"])),
                provisional=bool(height[i] > tip - PROVISIONAL_DEPTH),
            )
        )
    networks = {c.network for c in store.chain_states()} - {"main"}
    if networks:
        other = (
            f"not forecast on {', '.join(sorted(networks))}: the forecaster models the main "
            "network's retarget"
        )
        return TipUpdate(tip, blocks, None, other, list(notes or []))
    reason: str | None
    try:
        outlook = outlook_from_store(store, at_height=tip)
        na, reason = outlook.next_adjustment, outlook.next_adjustment.reason
    except InputError as exc:
        na, reason = None, str(exc)
    return TipUpdate(tip, blocks, na if reason is None else None, reason, list(notes or []))
