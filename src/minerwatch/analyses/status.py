"""The one-screen miner-economics snapshot of a day (``minerwatch status``).

Every figure here is read from :func:`~minerwatch.metrics.daily.compute_daily_metrics` at
the ``as_of`` row; this module only selects and names them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from minerwatch.analyses.cost import ProductionCost, production_cost
from minerwatch.analyses.day import Day, day_of
from minerwatch.analyses.signals import RibbonsSummary, ribbons_summary, sustainability_today
from minerwatch.chain.consensus import RETARGET_INTERVAL
from minerwatch.chaindays import (
    blocks_end_inside_a_daily_row,
    provisional_blocks_on,
    require_days,
)
from minerwatch.days import DayLike, utc_now_s
from minerwatch.errors import InputError
from minerwatch.frames import DailyFrame
from minerwatch.metrics.daily import HASHRATE_ATH_WINDOW_DAYS, DailyMetrics, compute_daily_metrics
from minerwatch.metrics.hashrate import ESTIMATOR
from minerwatch.metrics.intervals import (
    TIME_WINDOWS_DAYS,
    IntervalStats,
    block_interval_windows,
    daily_interval_windows,
)
from minerwatch.metrics.price_index import price_index, price_now
from minerwatch.metrics.signals import SUSTAINABILITY_WINDOW_DAYS, hash_ribbons
from minerwatch.serialize import Jsonable, json_key
from minerwatch.serialize import num as _num
from minerwatch.store import Store
from minerwatch.tables import Tabular
from minerwatch.units import HS_PER_EHS, SECONDS_PER_DAY

if TYPE_CHECKING:
    from minerwatch.analyses.difficulty import NextAdjustment

HASHRATE_KEYS = {1: "1d", 7: "7d", 30: "30d", 60: "60d"}


def _day(frame: DailyFrame, row: int) -> str | None:
    return str(frame.day[row]) if row >= 0 else None


@dataclass(frozen=True)
class BlockIntervals:
    """Block intervals of the day's trailing 1 and 7 days and of the current epoch
    (minutes and counts, :class:`~minerwatch.metrics.intervals.IntervalStats`; None where
    the per-block data does not cover the window); JSON keys ``1d``, ``7d``, ``epoch``.
    ``source``: ``"blocks"`` (per-block header times: means, medians and slow blocks) or
    ``"daily counts"`` (means only)."""

    last_1d: IntervalStats | None = field(metadata=json_key("1d"))
    last_7d: IntervalStats | None = field(metadata=json_key("7d"))
    epoch: IntervalStats | None
    source: str


@dataclass(frozen=True)
class Status(Jsonable, Tabular):
    """Miner-economics snapshot of one day. Units are in the field names; see
    ``docs/status.md`` for every field's definition and source."""

    as_of: str
    data_through: str
    height: int | None
    blocks_1d: int
    price_usd: float | None
    price_source: str | None
    price_ath_usd: float | None
    price_ath_date: str | None
    price_drawdown_pct: float | None
    price_change_7d_pct: float | None
    price_change_30d_pct: float | None
    hashrate_ehs: dict[str, float | None]
    hashrate_method: str
    hashrate_ath_ehs: float | None
    hashrate_ath_date: str | None
    hashrate_ath_window: str
    hashrate_drawdown_pct: float | None
    block_interval_min_7d: float | None
    block_intervals: BlockIntervals
    difficulty: float | None
    difficulty_method: str
    revenue_usd_1d: float | None
    revenue_btc_1d: float | None
    subsidy_btc_1d: float
    fees_btc_1d: float
    fees_share_pct_7d: float | None
    hashprice_usd_ph_day: float | None
    hashprice_btc_ph_day: float | None
    hashprice_realised_usd_ph_day: float | None
    puell_multiple: float | None
    production_cost_usd: float | None
    production_cost_model: str
    price_to_cost_pct: float | None
    production_cost_models: dict[str, float | None]
    hash_ribbons: RibbonsSummary
    sustainability_index: float | None
    next_adjustment: NextAdjustment | None = None
    price_index_usd: float | None = None
    price_index_sources: int = 0
    price_index_spread_pct: float | None = None
    price_now_usd: float | None = None
    price_now_time: str | None = None
    price_now_source: str | None = None
    sources: dict[str, str] = field(default_factory=dict)
    provisional: bool = False


DIFFICULTY_METHODS = {
    True: "epochs table: exact difficulty of the day's last block",
    False: "day mean recovered from Coin Metrics HashRate (load epochs for the exact value)",
}
#: ``difficulty_method`` of a day built from the stored blocks.
DIFFICULTY_FROM_BLOCKS = "blocks: exact difficulty of the day's last block (its bits)"


def figure_sources(frame: DailyFrame, row: int) -> dict[str, str]:
    """Where each chain figure of the day at ``row`` came from (``Status.sources``):
    ``blocks`` (a day the stored blocks cover whole), ``coinmetrics``, ``epochs`` (the
    difficulty of a Coin Metrics day from the epochs table), ``none``; the price's source
    by name."""
    chain = str(frame.chain_source[row])
    if chain == "blocks":
        difficulty = "blocks"
    else:
        difficulty = "epochs" if frame.difficulty_exact[row] else chain
    return {
        "blocks_1d": chain,
        "hashrate": chain,
        "difficulty": difficulty,
        "fees": str(frame.fees_source[row]),
        "issuance": str(frame.issuance_source[row]),
        "supply": str(frame.supply_source[row]),
        "price": str(frame.price_source[row]) or "none",
    }


def status_from_frame(
    frame: DailyFrame,
    as_of: np.datetime64 | None = None,
    metrics: DailyMetrics | None = None,
    *,
    data_through: np.datetime64 | None = None,
    block_intervals: BlockIntervals | None = None,
    next_adjustment: NextAdjustment | None = None,
    cost: ProductionCost | None = None,
    height: int | None = None,
    provisional: bool | None = None,
) -> Status:
    """The snapshot at ``as_of`` (default: the frame's last day) from a daily frame.

    ``data_through`` is the last day the database holds (default: the frame's last day).
    ``block_intervals`` is :func:`block_intervals_at` of the store (default: from the
    frame's daily counts alone, without the epoch's mean). ``next_adjustment`` is the
    forecast of :func:`minerwatch.analyses.difficulty.next_adjustment_or_none` (None when
    not given). ``cost`` is :func:`~minerwatch.analyses.cost.production_cost` of the day
    (computed from the frame when not given). ``height`` is the chain's height at the day's
    end (:func:`day_height`; default the frame's running block count). ``provisional``: the
    figures use provisional blocks (:func:`~minerwatch.chaindays.provisional_blocks_on`;
    default the frame's flag of the day).
    """
    row = len(frame) - 1 if as_of is None else frame.index_of(as_of)
    if block_intervals is None:
        block_intervals = block_intervals_at(None, frame, row)
    m = metrics if metrics is not None else compute_daily_metrics(frame)
    if cost is None:
        cost = production_cost(frame, frame.day[row])
    price = _num(frame.price_usd[row])
    if height is None:
        height = int(frame.end_height[row])
    return Status(
        as_of=str(frame.day[row]),
        data_through=str(frame.day[-1] if data_through is None else data_through),
        height=height if height >= 0 else None,
        blocks_1d=int(frame.blocks[row]),
        price_usd=price,
        price_source=str(frame.price_source[row]) or None,
        price_ath_usd=_num(m.price_ath_usd[row]),
        price_ath_date=_day(frame, int(m.price_ath_row[row])),
        price_drawdown_pct=_num(m.price_drawdown_pct[row]),
        price_change_7d_pct=_num(m.price_change_7d_pct[row]),
        price_change_30d_pct=_num(m.price_change_30d_pct[row]),
        hashrate_ehs={
            key: _num(m.hashrate_hs[w][row] / HS_PER_EHS) for w, key in HASHRATE_KEYS.items()
        },
        hashrate_method=ESTIMATOR,
        hashrate_ath_ehs=_num(m.hashrate_ath_hs[row] / HS_PER_EHS),
        hashrate_ath_date=_day(frame, int(m.hashrate_ath_row[row])),
        hashrate_ath_window=HASHRATE_KEYS[HASHRATE_ATH_WINDOW_DAYS],
        hashrate_drawdown_pct=_num(m.hashrate_drawdown_pct[row]),
        block_interval_min_7d=_num(m.block_interval_min_7d[row]),
        block_intervals=block_intervals,
        difficulty=_num(frame.difficulty_last[row]),
        difficulty_method=DIFFICULTY_FROM_BLOCKS
        if frame.chain_source[row] == "blocks"
        else DIFFICULTY_METHODS[bool(frame.difficulty_exact[row])],
        revenue_usd_1d=_num(m.revenue_usd[row]),
        revenue_btc_1d=_num(m.revenue_btc[row]),
        subsidy_btc_1d=float(m.issuance_btc[row]),
        fees_btc_1d=float(m.fees_btc[row]),
        fees_share_pct_7d=_num(m.fees_share_pct_7d[row]),
        hashprice_usd_ph_day=_num(m.hashprice_usd_ph_day[row]),
        hashprice_btc_ph_day=_num(m.hashprice_btc_ph_day[row]),
        hashprice_realised_usd_ph_day=_num(m.hashprice_realised_usd_ph_day[row]),
        puell_multiple=_num(m.puell_multiple[row]),
        production_cost_usd=cost.cost_usd,
        production_cost_model=cost.model,
        price_to_cost_pct=cost.price_to_cost_pct,
        production_cost_models=cost.costs_usd(),
        hash_ribbons=ribbons_summary(frame, hash_ribbons(m.hashrate_hs[1], frame.price_usd), row),
        sustainability_index=_num(sustainability_today(frame, m, row, SUSTAINABILITY_WINDOW_DAYS)),
        next_adjustment=next_adjustment,
        sources=figure_sources(frame, row),
        provisional=bool(frame.provisional[row]) if provisional is None else provisional,
    )


def block_intervals_at(
    store: Store | None,
    frame: DailyFrame,
    row: int,
    epochs: dict[str, np.ndarray] | None = None,
    height: int | None = None,
) -> BlockIntervals:
    """Block-interval statistics of the day at ``row`` (``Status.block_intervals``).

    From the blocks table when it reaches into the day and back across the 1-day window (a
    block before the day's start and one stamped on the day); only blocks up to the day's end
    are read, from the first block needed (the current epoch's, or the last one before the
    7-day window), so a later day's blocks change nothing. Otherwise from the frame's daily
    counts, means only, with the epoch's first block time from the epochs table (no store:
    no epoch mean) and the day's last height ``height`` (the chain's, :func:`day_height`;
    default the frame's running count).
    """
    row = range(len(frame))[row]  # a negative row counts from the end
    day_end = (frame.day + 1 - np.datetime64("1970-01-01", "D")).astype(np.int64)
    day_end *= SECONDS_PER_DAY
    end = int(day_end[row])
    held = store.block_height_range() if store is not None else None
    cut = store.block_height_range(max_time=end - 1) if store is not None and held else None
    if (
        store is not None
        and held is not None
        and cut is not None
        and not blocks_end_inside_a_daily_row(store, frame.day[row])
    ):
        last = cut[1]
        longest = max(TIME_WINDOWS_DAYS.values()) * SECONDS_PER_DAY
        before = store.block_height_range(max_time=end - longest - 1)
        first = min(last - last % RETARGET_INTERVAL, before[1] if before else held[0])
        blocks = store.read_blocks(min_height=first, max_time=end - 1)
        on_the_day = len(blocks["time"]) and int(blocks["time"].max()) >= end - SECONDS_PER_DAY
        windows = block_interval_windows(blocks["height"], blocks["time"], end)
        if on_the_day and windows["1d"] is not None:
            return BlockIntervals(windows["1d"], windows["7d"], windows["epoch"], "blocks")
    if epochs is None and store is not None:
        epochs = store.read_epochs()
    empty = np.zeros(0, np.int64)
    end_height = frame.end_height
    if height is not None:
        end_height = end_height.copy()
        end_height[row] = height
    daily = daily_interval_windows(
        frame.blocks,
        end_height,
        day_end,
        row,
        epochs["start_height"] if epochs is not None else empty,
        epochs["start_time"] if epochs is not None else empty,
    )
    return BlockIntervals(daily["1d"], daily["7d"], daily["epoch"], "daily counts")


def status(
    db: Day | Store | str | Path | None = None,
    as_of: DayLike = None,
    *,
    price_source: str = "auto",
) -> Status:
    """The miner-economics snapshot of ``as_of`` (YYYY-MM-DD; default the last stored day)
    from a day context, an open store or a database path.

    Reads nothing after ``as_of``. Raises :class:`AsOfOutOfRange` for a date outside the data.
    """
    from minerwatch.analyses.difficulty import next_adjustment_or_none

    with day_of(db, as_of, price_source=price_source) as day:
        store = day.store
        assert store is not None, "status reads the store"
        frame = day.frame
        height = day_height(day)
        data_through = require_days(store)[1]
        snapshot = status_from_frame(
            frame,
            metrics=day.metrics,
            data_through=data_through,
            block_intervals=block_intervals_at(
                store, frame, len(frame) - 1, day.epochs, height=height
            ),
            next_adjustment=next_adjustment_or_none(day),
            cost=production_cost(day),
            height=height,
            provisional=bool(frame.provisional[-1]) or provisional_blocks_on(store, day.as_of),
        )
        return replace(snapshot, **exchange_prices(store, frame.day[-1], data_through))


def exchange_prices(
    store: Store, as_of: np.datetime64, data_through: np.datetime64, now_s: int | None = None
) -> dict[str, Any]:
    """The exchange figures of the snapshot: the day's price index
    (:func:`~minerwatch.metrics.price_index.price_index` of the stored closes: median,
    sources, spread in percent) and, when ``as_of`` is the last day held, the "price now"
    (:func:`~minerwatch.metrics.price_index.price_now` at ``now_s``, default the clock: the
    latest complete hourly close, its close time as ``YYYY-MM-DDTHH:MM:SSZ`` and source;
    an earlier day reads nothing after it, so has none)."""
    prices = store.read_prices(as_of)
    index = price_index(prices["day"], prices["source"], prices["close_usd"]).at(as_of)
    out: dict[str, Any] = {}
    if index is not None:
        out.update(
            price_index_usd=index[0],
            price_index_sources=index[1],
            price_index_spread_pct=_num(100 * index[2]),
        )
    if as_of == data_through:
        now = utc_now_s() if now_s is None else now_s
        hourly = store.read_prices_hourly(until_s=now)
        latest = price_now(
            hourly["hour_s"], hourly["source"], hourly["quote"], hourly["close"], now
        )
        if latest is not None:
            when = np.datetime64(latest.close_time_s, "s")
            out.update(
                price_now_usd=latest.close,
                price_now_time=f"{when}Z",
                price_now_source=latest.source
                + ("" if latest.quote == "USD" else f" ({latest.quote})"),
            )
    return out


def day_height(day: Day) -> int | None:
    """The chain's height at the end of ``day`` (its last block), the one every command
    uses: the difficulty outlook's (the last block stamped on or before the day with
    per-block data; else the daily counts' running total less its measured offset from the
    chain, see :func:`minerwatch.models.difficulty.height_offsets`). None when the outlook
    has no heights (daily data that does not start at the genesis day)."""
    from minerwatch.analyses.difficulty import difficulty_outlook

    try:
        return difficulty_outlook(day).height
    except InputError:
        return None
