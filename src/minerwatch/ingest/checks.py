"""Consensus checks of an import against what the store already holds.

The rules are in :mod:`minerwatch.sources.rules`; this module finds the context a file
needs from the store (the heights of a Coin Metrics file's days, the stored supply before
it, the stored epochs, the blocks below a blocks file, the other sources' closes) and
applies them before anything is written. Each check raises an
:class:`~minerwatch.errors.InputError` naming file, line, column and rule.
"""

from __future__ import annotations

import time as _time
from dataclasses import replace

import numpy as np

from minerwatch.chain.consensus import GENESIS_DAY, bits_to_difficulty
from minerwatch.sources import rules
from minerwatch.sources.blocks import Blocks
from minerwatch.sources.coinmetrics import DailyChain
from minerwatch.sources.files import DailyPrices, Epochs
from minerwatch.store import Store, WriteResult


def _where(origin: str, lines: np.ndarray | None, label: str = "line") -> rules.Where:
    return rules.Where(origin, lines if lines is not None else np.zeros(0, np.int64), label)


def check_daily_chain(store: Store, records: DailyChain) -> None:
    """Issuance and supply of Coin Metrics rows (:func:`rules.check_issuance`,
    :func:`rules.check_supply`).

    Heights are known when the rows start at genesis, or when the store holds every day
    from genesis up to the day before the first row (the running ``BlkCnt`` count then
    continues); the supply change of the first row is checked against the stored day
    before it, where held.
    """
    if len(records) == 0:
        return
    where = _where(records.origin, records.lines, records.line_label)
    first_day = records.day[0]
    held = store.read_chain_daily()
    first_height: int | None = 1 if first_day == GENESIS_DAY else None
    previous_supply: int | None = None
    if len(held["day"]):
        before = held["day"] < first_day
        day_before = first_day - np.timedelta64(1, "D")
        if before.any() and held["day"][before][-1] == day_before:
            previous_supply = int(held["supply_sat"][before][-1])
            if held["day"][0] == GENESIS_DAY:
                first_height = 1 + int(held["blocks"][before].sum())
    rules.check_issuance(
        where, records.day, records.blocks, records.issuance_sat, first_height, records.supply_sat
    )
    rules.check_supply(
        where,
        records.day,
        records.blocks,
        records.issuance_sat,
        records.supply_sat,
        first_height,
        previous_supply,
    )


def merge_epochs(
    store: Store, epochs: Epochs, *, replace_stored: bool, now: int | None = None
) -> Epochs:
    """The epochs to write: the file's rows, an empty ``start_time`` filled from the stored
    epoch (an empty cell never erases a stored value), checked against the stored table.

    A stored epoch given with another difficulty or start time is refused unless
    ``replace_stored``. The stored and given epochs together must pass
    :func:`rules.check_epoch_sequence`.
    """
    where = _where(epochs.origin, epochs.lines)
    stored = store.read_epochs()
    sh = np.asarray(stored["start_height"], np.int64)
    pos = np.clip(np.searchsorted(sh, epochs.start_height), 0, max(len(sh) - 1, 0))
    held = (sh[pos] == epochs.start_height) if len(sh) else np.zeros(len(epochs), bool)
    stored_bits = np.where(held, np.asarray(stored["bits"], np.int64)[pos] if len(sh) else -1, -1)
    stored_time = np.where(
        held, np.asarray(stored["start_time"], np.int64)[pos] if len(sh) else -1, -1
    )
    start_time = np.where((epochs.start_time < 0) & held, stored_time, epochs.start_time)
    other_bits = held & (stored_bits != epochs.bits)
    other_time = held & (stored_time >= 0) & (start_time != stored_time)
    changed = other_bits | other_time
    if changed.any() and not replace_stored:
        i = int(np.flatnonzero(changed)[0])
        if other_bits[i]:
            column = "difficulty"
            what = (
                f"difficulty {bits_to_difficulty(int(stored_bits[i]))!r} stored, "
                f"{epochs.difficulty[i]!r} given"
            )
        else:
            column, what = (
                "start_time",
                f"start_time {stored_time[i]} stored, {start_time[i]} given",
            )
        raise where.error(
            i,
            column,
            f"epoch {epochs.start_height[i]:,} is already stored with other values ({what}); "
            "expected the stored epoch, or `--replace` to change stored epochs",
        )
    merged = replace(epochs, start_time=start_time)
    # The whole table after the write: stored epochs not in the file, and the file's.
    keep = ~np.isin(sh, epochs.start_height)
    heights = np.concatenate([sh[keep], epochs.start_height])
    order = np.argsort(heights, kind="stable")
    rows = np.concatenate([np.full(int(keep.sum()), -1), np.arange(len(epochs))])[order]
    bits = np.concatenate([np.asarray(stored["bits"], np.int64)[keep], epochs.bits])[order]
    times = np.concatenate([np.asarray(stored["start_time"], np.int64)[keep], start_time])
    rules.check_epoch_sequence(
        where,
        rows,
        heights[order],
        bits,
        times[order],
        int(_time.time()) if now is None else now,
    )
    return merged


def check_block_times(store: Store, blocks: Blocks) -> None:
    """Median-time-past of every block of the file, with the stored blocks just below it
    (:func:`rules.check_block_times`)."""
    if len(blocks) == 0:
        return
    h0 = int(blocks.height[0])
    below = store.read_blocks(min_height=max(0, h0 - 11), max_height=h0 - 1)
    heights, times = below["height"], below["time"]
    run = len(heights)
    expected = np.arange(h0 - run, h0)
    if run and not np.array_equal(heights, expected):
        times = np.zeros(0, np.int64)
    where = _where(blocks.origin, blocks.lines)
    rules.check_block_times(where, blocks.height, blocks.time, times)


def check_price_band(store: Store, prices: DailyPrices, *, force: bool) -> tuple[list[str], int]:
    """Closes against the other stored sources' closes of the same day
    (:func:`rules.price_band`): notes, and how many rows lie beyond x3 (forced)."""
    where = _where(prices.origin, prices.lines)
    held = store.read_prices()
    other = ~np.isin(held["source"].astype(str), np.unique(prices.source.astype(str)))
    return rules.price_band(
        where,
        prices.day,
        prices.close_usd,
        held["day"][other],
        held["close_usd"][other],
        held["source"][other],
        force=force,
    )


def change_notes(writes: list[WriteResult]) -> list[str]:
    """Notes on stored rows a write changed: which keys, old -> new (first few), and a
    plain warning when a file only changes stored rows."""
    notes = []
    for w in writes:
        if not w.changed:
            continue
        notes.append(
            f"{w.changed:,} stored {w.table} row(s) changed, first: " + " | ".join(w.changes)
        )
    if any(w.changed for w in writes) and not any(w.new for w in writes):
        notes.insert(0, "this file adds no rows: it only changes rows already stored")
    return notes
