"""The chain days a store holds: Coin Metrics' rows and the days its blocks cover whole,
merged for the daily frame (:func:`chain_rows`), with the source of every figure and the
provisional flags.

A day the stored blocks cover whole (:func:`minerwatch.blockdays.whole_days`) is built from
them and wins over Coin Metrics' row for the block count, difficulty, issuance and supply,
and for the fees where every block of the day has them; the other days are Coin Metrics'.
"""

from __future__ import annotations

import numpy as np

from minerwatch.blockdays import (
    PROVISIONAL_DEPTH,
    BlockDays,
    DaySums,
    day_sums,
    days_from_sums,
    known_difficulty,
    whole_days,
)
from minerwatch.chain.consensus import GENESIS_DAY, RETARGET_INTERVAL
from minerwatch.days import as_day, utc_now_s
from minerwatch.errors import ChainDataGap, InputError, NoChainData
from minerwatch.store import Store
from minerwatch.units import SECONDS_PER_DAY

#: The per-day source columns of the daily frame (``DailyFrame.chain_source`` ...).
SOURCE_KEYS = ("chain_source", "fees_source", "issuance_source", "supply_source")


def block_day_span(store: Store) -> tuple[np.datetime64, np.datetime64] | None:
    """The first and last UTC day the stored blocks cover whole
    (:func:`~minerwatch.blockdays.whole_days`), or None."""
    edges = store.block_edges()
    return None if edges is None else whole_days(edges[0], edges[1], edges[2])


def held_days(store: Store) -> tuple[np.datetime64, np.datetime64] | None:
    """The first and last day of chain data: Coin Metrics' rows and the days the blocks
    cover whole, together; None when there are neither."""
    spans = [s for s in (store.chain_day_range(), block_day_span(store)) if s is not None]
    if not spans:
        return None
    return min(s[0] for s in spans), max(s[1] for s in spans)


def require_days(store: Store) -> tuple[np.datetime64, np.datetime64]:
    """:func:`held_days`, or :class:`~minerwatch.errors.NoChainData` telling what is
    missing and how to load it."""
    span = held_days(store)
    if span is not None:
        return span
    held = store.block_height_range()
    blocks = (
        f"; the blocks held (heights {held[0]} to {held[1]}) cover no whole UTC day (a day "
        "counts once blocks are held from more than 2 hours before it to past its end)"
        if held is not None
        else ""
    )
    raise NoChainData(
        f"the database {store.path} holds no chain data{blocks}; load it with "
        "`minerwatch import coinmetrics FILE`, `minerwatch import blocks FILE` or "
        "`minerwatch sync`"
    )


def partial_block_day(store: Store) -> np.datetime64 | None:
    """The day the stored blocks stop inside (the tip is stamped on it) while the daily
    rows (Coin Metrics) hold that day whole, or None. That day's figures are the daily
    row's, not those of the blocks up to the tip: a blocks file that ends at 06:05 knows
    less of its last day than the day's row does. A live tip's day has no daily row yet."""
    edges = store.block_edges()
    span = store.chain_day_range()
    if edges is None or span is None:
        return None
    tip_day = np.datetime64(int(edges[2][-1]), "s").astype("datetime64[D]")
    return tip_day if span[0] <= tip_day <= span[1] else None


def blocks_end_inside_a_daily_row(store: Store, day: np.datetime64) -> bool:
    """Whether ``day`` is :func:`partial_block_day`: its figures are its daily row's."""
    return bool(partial_block_day(store) == as_day(day))


def provisional_blocks_on(store: Store, day: np.datetime64) -> bool:
    """Whether the per-block figures of ``day`` use a provisional block: some block is
    stamped on the day (the per-block reads reach it) and some block within
    :data:`~minerwatch.blockdays.PROVISIONAL_DEPTH` of the stored tip is stamped before
    the day's end, unless the day's figures are a daily row's
    (:func:`blocks_end_inside_a_daily_row`); or the day is the current UTC day or later
    (:func:`utc_now_s`)."""
    start = int((as_day(day) - np.datetime64("1970-01-01", "D")).astype(np.int64))
    if start >= utc_now_s() // SECONDS_PER_DAY:
        return True
    start *= SECONDS_PER_DAY
    edges = store.block_edges(PROVISIONAL_DEPTH)
    if edges is None or int(edges[2].min()) >= start + SECONDS_PER_DAY:
        return False
    if blocks_end_inside_a_daily_row(store, day):
        return False
    upto_end = store.block_height_range(max_time=start + SECONDS_PER_DAY - 1)
    return upto_end != store.block_height_range(max_time=start - 1)


def block_days(
    store: Store, as_of: np.datetime64, epochs: dict[str, np.ndarray]
) -> BlockDays | None:
    """The days up to ``as_of`` that the stored blocks cover whole, with their figures
    (None when there are none), from the store's kept day sums. A block's difficulty is its
    stored one, else its bits'; where some block has neither, its epoch's from the epochs
    table, reading the blocks stamped up to the end of the last such day."""
    edges = store.block_edges()
    span = None if edges is None else whole_days(edges[0], edges[1], edges[2])
    if edges is None or span is None or span[0] > as_of:
        return None
    days = span[0], min(span[1], as_of)
    sums = store.read_day_sums(days[1])
    if (sums.difficulty_unknown > 0).any():
        sums = _sums_with_epochs(store, days[1], epochs)
    return days_from_sums(sums, days, first_height=edges[0], tip_height=edges[3])


def _sums_with_epochs(store: Store, last: np.datetime64, epochs: dict[str, np.ndarray]) -> DaySums:
    """The day sums up to ``last`` from the blocks themselves, a block without difficulty
    or bits taking its epoch's difficulty from the epochs table."""
    end_s = int((last + 1 - np.datetime64("1970-01-01", "D")).astype(np.int64)) * SECONDS_PER_DAY
    raw = store.read_block_economics(end_s - 1)
    height = raw["height"]
    d = known_difficulty(raw["difficulty"], raw["bits"])
    starts = epochs["start_height"]
    if not np.isfinite(d).all() and len(starts):
        epoch_start = height - height % RETARGET_INTERVAL
        at = np.minimum(np.searchsorted(starts, epoch_start), len(starts) - 1)
        from_table = (starts[at] == epoch_start) & ~np.isfinite(d)
        d[from_table] = epochs["difficulty"][at[from_table]]
    if not np.isfinite(d).all():
        bad = int(height[~np.isfinite(d)][0])
        raise InputError(
            f"block {bad}: no difficulty, bits or epochs-table difficulty; import the epochs "
            "(`minerwatch import epochs`) or blocks with bits"
        )
    return day_sums(height, raw["time"], d, raw["fees_sat"], raw["subsidy_sat"])


def chain_rows(
    store: Store, as_of: np.datetime64, epochs: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Each day's chain figures up to ``as_of``: Coin Metrics' rows, and the days the
    blocks cover whole in their place (fees only where every block of the day has them),
    with the source of each figure. Also ``block_difficulty_last`` (NaN off blocks days)
    and ``provisional``. :class:`ChainDataGap` when the days held have a gap."""
    chain = store.read_chain_daily(as_of)
    day = chain["day"]
    steps = np.diff(day).astype(np.int64)
    if (steps != 1).any():
        i = int(np.flatnonzero(steps != 1)[0])
        raise ChainDataGap(
            f"chain data has a gap after {day[i]} (next day held: {day[i + 1]}); "
            "re-import or sync the missing days"
        )
    cm = "coinmetrics"
    bd = block_days(store, as_of, epochs)
    rows = {
        "day": day,
        "blocks": chain["blocks"],
        "fees_sat": chain["fees_sat"],
        "issuance_sat": chain["issuance_sat"],
        "supply_sat": chain["supply_sat"],
        "difficulty_mean": chain["difficulty_mean"],
        "block_difficulty_last": np.full(len(day), np.nan),
        **{k: np.full(len(day), cm, dtype=object) for k in SOURCE_KEYS},
        "provisional": np.zeros(len(day), bool),
    }
    if bd is not None:
        if len(day) and (bd.day[0] > day[-1] + 1 or bd.day[-1] < day[0] - 1):
            lo, hi = (day[-1], bd.day[0]) if bd.day[0] > day[-1] else (bd.day[-1], day[0])
            raise ChainDataGap(
                f"chain data has a gap after {lo} (next day held: {hi}): the Coin Metrics "
                "rows and the days the blocks cover do not meet; import or sync the days "
                "between"
            )
        first = min(day[0], bd.day[0]) if len(day) else bd.day[0]
        last = max(day[-1], bd.day[-1]) if len(day) else bd.day[-1]
        n = int((last - first).astype(np.int64)) + 1
        at_cm = (day - first).astype(np.int64)
        at_b = (bd.day - first).astype(np.int64)
        merged = {"day": first + np.arange(n).astype("timedelta64[D]")}
        for key, value in rows.items():
            if key != "day":
                blank = {"f": np.nan, "O": "none"}.get(value.dtype.kind, 0)
                merged[key] = np.full(n, blank, value.dtype)
                merged[key][at_cm] = value
        has_cm = np.zeros(n, bool)
        has_cm[at_cm] = True
        for key in ("blocks", "issuance_sat", "supply_sat", "difficulty_mean"):
            merged[key][at_b] = getattr(bd, key)
        merged["block_difficulty_last"][at_b] = bd.difficulty_last
        fees_from_blocks = bd.fees_known | ~has_cm[at_b]
        merged["fees_sat"][at_b[fees_from_blocks]] = bd.fees_sat[fees_from_blocks]
        merged["fees_source"][at_b[bd.fees_known]] = "blocks"
        merged["chain_source"][at_b] = "blocks"
        merged["issuance_source"][at_b] = np.where(
            bd.subsidy_scheduled, "blocks, scheduled subsidy", "blocks"
        )
        merged["supply_source"][at_b] = "blocks"
        merged["provisional"][at_b] = bd.provisional
        if merged["day"][0] == bd.day[0] and merged["day"][0] != GENESIS_DAY:
            # The running count, anchored at the blocks' own count before their first day.
            merged["end_height"] = bd.end_height[0] - bd.blocks[0] + np.cumsum(merged["blocks"])
        rows = merged
    today = np.datetime64(utc_now_s() // SECONDS_PER_DAY, "D")
    rows["provisional"] = rows["provisional"] | (rows["day"] >= today)
    return rows
