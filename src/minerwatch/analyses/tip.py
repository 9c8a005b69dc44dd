"""The newest blocks held and the next difficulty adjustment forecast at the tip: the
blocks a sync just added, as ``minerwatch watch`` prints them (one line a block: height,
time since the previous block, pool, fees, transactions), and the tip the web's Now page
and ``/metrics`` show beyond the last whole day (:func:`tip_of`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerwatch.analyses.difficulty import (
    DifficultyOutlook,
    NextAdjustment,
    iso_utc,
    outlook_from_store,
)
from minerwatch.analyses.status import Status
from minerwatch.blockdays import PROVISIONAL_DEPTH
from minerwatch.chain.consensus import RETARGET_INTERVAL
from minerwatch.days import day_end_s
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
    outlook, reason = _forecast_at(store, tip)
    na = None if outlook is None or reason is not None else outlook.next_adjustment
    return TipUpdate(tip, blocks, na, reason, list(notes or []))


def _forecast_at(store: Store, height: int) -> tuple[DifficultyOutlook | None, str | None]:
    """The outlook at block ``height`` and None, or why it gives no forecast there (another
    network than main, a gap in the blocks, no epoch, no hashrate level yet)."""
    networks = {c.network for c in store.chain_states()} - {"main"}
    if networks:
        return None, (
            f"not forecast on {', '.join(sorted(networks))}: the forecaster models the main "
            "network's retarget"
        )
    try:
        outlook = outlook_from_store(store, at_height=height)
    except InputError as exc:
        return None, str(exc)
    return outlook, outlook.next_adjustment.reason


@dataclass(frozen=True)
class Tip:
    """The newest block held, for the views that follow the chain (the web's Now page,
    ``/metrics``): ``height`` and header ``time_s`` (unix seconds); ``difficulty`` of its
    epoch and the ``next_adjustment`` forecast at it; ``at_block``: whether these are the
    forecast at a block past the status's day (else the status's own).

    ``status`` is a day's snapshot: its height and forecast are those of the last whole UTC
    day's last block. Between that and the newest block held (the day under way, which no
    daily figure covers yet) the epoch moves on; the tip takes the forecast at the newest
    block, so that the blocks left and the change follow each block as it comes."""

    height: int | None
    time_s: float
    difficulty: float | None
    next_adjustment: NextAdjustment | None
    at_block: bool = False
    #: why there is no forecast at a block past the day (a gap in the blocks, another
    #: network): the day's forecast no longer holds there, so none is given
    reason: str | None = None


def _day_end_s(day: str) -> float:
    """Unix seconds of the end of ``day`` (YYYY-MM-DD, UTC)."""
    return float(day_end_s(np.datetime64(day, "D")))


def tip_of(store: Store, s: Status) -> Tip:
    """The tip of ``store`` beyond ``s``, the status of its last day held: the highest
    block held when it is above the day's end height, with the forecast at it (where the
    blocks cannot give one, none, with the ``reason``: the day's forecast is not carried
    there, nor its difficulty past a retarget); else the day's end (its last block's
    time where blocks are held, else the end of the day) with the status's figures."""
    rows, _, highest, _, latest_s = store.block_span()
    day_height = s.height
    day_end = Tip(day_height, _day_end_s(s.data_through), s.difficulty, s.next_adjustment)
    if not rows or highest is None or (day_height is not None and highest < day_height):
        return day_end
    time_s = float(latest_s) if latest_s is not None else day_end.time_s
    if day_height is not None and highest == day_height:
        return Tip(day_height, time_s, s.difficulty, s.next_adjustment)
    outlook, reason = _forecast_at(store, int(highest))
    if outlook is None or reason is not None:
        # the day's last block's difficulty still holds in the same epoch, not past a retarget
        same_epoch = day_height is not None and (
            day_height // RETARGET_INTERVAL == highest // RETARGET_INTERVAL
        )
        difficulty = s.difficulty if same_epoch else None
        return Tip(int(highest), time_s, difficulty, None, reason=reason or "no forecast")
    return Tip(int(highest), time_s, outlook.difficulty, outlook.next_adjustment, at_block=True)
