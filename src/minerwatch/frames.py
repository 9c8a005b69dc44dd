"""The daily frame: one row per UTC day, the table every daily metric reads.

Built from the store's chain rows, the days the stored blocks cover whole
(:mod:`minerwatch.chaindays`; they win over Coin Metrics' rows for counts, fees, issuance,
supply and difficulty), prices and (when loaded) difficulty epochs, cut at ``as_of``:
nothing after that day is read, except the header times of the last 11 stored blocks,
which tell whether the blocks cover a day whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minerwatch.chain.consensus import GENESIS_DAY, RETARGET_INTERVAL
from minerwatch.chain.retarget import RetargetResult, retarget_from_blocks
from minerwatch.chaindays import SOURCE_KEYS, chain_rows, held_days, require_days
from minerwatch.days import DayLike, as_day, parse_day
from minerwatch.errors import AsOfOutOfRange, InputError
from minerwatch.sources.exchanges import USDT_SOURCES
from minerwatch.store import Store, open_store
from minerwatch.tables import ArrayTabular
from minerwatch.units import SECONDS_PER_DAY

PRICE_SOURCE_AUTO = "auto"
# With ``price_source="auto"`` a day's close comes from the user's own price imports when
# present, else from Coin Metrics' reference rate.
FALLBACK_PRICE_SOURCE = "coinmetrics"


@dataclass(frozen=True)
class DailyFrame(ArrayTabular):
    """Daily chain and market data, ascending, one row per consecutive UTC day.

    Attributes (arrays of equal length):
        day: ``datetime64[D]``.
        blocks: blocks whose header time fell in the day.
        end_height: height of the day's last block (-1 when the data does not start at the
            genesis day, so heights cannot be counted). Coin Metrics counts blocks from
            height 1; the genesis block is not in any day's count.
        fees_sat, issuance_sat: fees and new coins of the day's blocks, satoshis.
        supply_sat: supply at the end of the day, satoshis.
        difficulty_mean: block-weighted mean difficulty of the day's blocks (NaN on days
            without blocks).
        difficulty_last: difficulty of the day's last block: exact from the epochs table when
            it covers the height, else the day's mean difficulty.
        difficulty_exact: True where ``difficulty_last`` came from the epochs table.
        price_usd: the day's close in USD (NaN where no source has one).
        price_source: name of the source of each day's close ("" where none).
        chain_source: where the day's block count and difficulty (so its hashrate) came
            from: ``"blocks"`` (a day the stored blocks cover whole) or ``"coinmetrics"``.
        fees_source: ``"blocks"``, ``"coinmetrics"`` or ``"none"`` (a blocks day some of
            whose blocks have no fees, without a Coin Metrics row: 0).
        issuance_source: ``"blocks"``, ``"blocks, scheduled subsidy"`` (some block had no
            subsidy stored: its height's scheduled one) or ``"coinmetrics"``.
        supply_source: ``"blocks"`` (the scheduled supply) or ``"coinmetrics"``.
        provisional: the day uses a block within 6 of the stored tip, or is the current UTC
            day (or later) by :func:`~minerwatch.days.utc_now_s`.
    """

    day: np.ndarray
    blocks: np.ndarray
    end_height: np.ndarray
    fees_sat: np.ndarray
    issuance_sat: np.ndarray
    supply_sat: np.ndarray
    difficulty_mean: np.ndarray
    difficulty_last: np.ndarray
    difficulty_exact: np.ndarray
    price_usd: np.ndarray
    price_source: np.ndarray
    chain_source: np.ndarray
    fees_source: np.ndarray
    issuance_source: np.ndarray
    supply_source: np.ndarray
    provisional: np.ndarray

    def index_of(self, day: np.datetime64) -> int:
        """Row of ``day``; :class:`AsOfOutOfRange` when the frame does not hold it."""
        day = as_day(day)
        i = int(np.searchsorted(self.day, day))
        if i >= len(self.day) or self.day[i] != day:
            raise AsOfOutOfRange(f"{day} is outside the data ({self.day[0]} to {self.day[-1]})")
        return i


def parse_as_of(value: DayLike) -> np.datetime64 | None:
    """A user's ``as_of`` value as ``datetime64[D]``; :class:`InputError` if malformed."""
    return parse_day(value, "as_of")


def check_days_join(
    days: np.ndarray, held: tuple[np.datetime64, np.datetime64] | None, origin: str
) -> None:
    """New daily rows must be consecutive and join the days already held without a gap
    (overlapping or adjacent), so the daily frame never has a hole. :class:`InputError`
    naming ``origin`` and the missing days otherwise. ``days`` ascending and unique."""
    steps = np.diff(days).astype(np.int64)
    if (steps != 1).any():
        i = int(np.flatnonzero(steps != 1)[0])
        raise InputError(
            f"days {days[i] + 1} to {days[i + 1] - 1} are missing (between {days[i]} and "
            f"{days[i + 1]}); expected consecutive days",
            path=origin,
        )
    if held is None or len(days) == 0:
        return
    first, last = held
    if days[0] > last + 1:
        gap = (
            f"starts on {days[0]}, but the data held ends on {last}: days {last + 1} to "
            f"{days[0] - 1} would be missing; expected data continuing from {last + 1}"
        )
    elif days[-1] < first - 1:
        gap = (
            f"ends on {days[-1]}, but the data held starts on {first}: days {days[-1] + 1} to "
            f"{first - 1} would be missing; expected data reaching {first - 1}"
        )
    else:
        return
    raise InputError(gap, path=origin)


def check_as_of(store: Store, as_of: np.datetime64 | None) -> np.datetime64:
    """The ``as_of`` day to use: the last stored day when None; an error outside the data."""
    first, last = require_days(store)
    if as_of is None:
        return last
    as_of = as_day(as_of)
    if as_of < first or as_of > last:
        raise AsOfOutOfRange(
            f"as_of {as_of} is outside the data held ({first} to {last}); "
            "choose a date in that range or load more data",
            parameter="as_of",
        )
    return as_of


def epochs_begun_by(start_height: np.ndarray, start_time: np.ndarray, max_time: int) -> np.ndarray:
    """Which epochs had begun by unix time ``max_time`` (bool per epoch): those with a
    known start time (``start_time >= 0``) at or before it, and those of unknown start
    (epoch 0, begun with the genesis block, or an epoch below one kept) no higher than the
    highest epoch so kept."""
    known = start_time >= 0
    by_end = known & (start_time <= max_time)
    highest = start_height[by_end].max() if by_end.any() else 0
    return np.asarray(by_end | (~known & (start_height <= highest)))


def epoch_difficulty_at(
    heights: np.ndarray,
    start_height: np.ndarray,
    difficulty: np.ndarray,
    start_time: np.ndarray | None = None,
    before_time: np.ndarray | None = None,
) -> np.ndarray:
    """Difficulty in force at each height from a table of epochs (NaN where not covered).

    A height is covered when its epoch (``height // 2016``) is in the table. With
    ``start_time`` (unix seconds, -1 unknown) and ``before_time`` (per height), an epoch
    whose first block came at or after ``before_time`` is not yet in force: the previous
    epoch's difficulty is used. This guards against heights counted from daily block
    totals running a few blocks ahead of the chain at an epoch boundary.
    """
    heights = np.asarray(heights, np.int64)
    out = np.full(heights.shape, np.nan)
    if len(start_height) == 0:
        return out
    idx = np.searchsorted(start_height, heights, side="right") - 1
    valid = (idx >= 0) & (heights >= 0)
    idx_c = np.clip(idx, 0, None)
    covered = valid & (start_height[idx_c] // 2016 == heights // 2016)
    if start_time is not None and before_time is not None:
        prev = np.clip(idx_c - 1, 0, None)
        not_yet = (
            covered
            & (start_time[idx_c] >= 0)
            & (start_time[idx_c] >= before_time)
            & (idx_c > 0)
            & (start_height[prev] == start_height[idx_c] - 2016)
        )
        idx_c = np.where(not_yet, prev, idx_c)
    out[covered] = difficulty[idx_c[covered]]
    return out


def select_prices(
    days: np.ndarray, prices: dict[str, np.ndarray], source: str = PRICE_SOURCE_AUTO
) -> tuple[np.ndarray, np.ndarray]:
    """Each day's close and its source name, from the stored closes of every source.

    ``source="auto"``: the user's imported and exchange prices first (sources in
    alphabetical order), then Coin Metrics, then USDT closes (Binance's, not USD). Any
    other value takes that source alone.
    """
    close = np.full(len(days), np.nan)
    chosen = np.full(len(days), "", dtype=object)
    names = sorted(set(prices["source"].tolist()))
    if source == PRICE_SOURCE_AUTO:
        # USDT closes (Binance) only where no USD source has the day.
        order = [n for n in names if n != FALLBACK_PRICE_SOURCE and n not in USDT_SOURCES]
        if FALLBACK_PRICE_SOURCE in names:
            order.append(FALLBACK_PRICE_SOURCE)
        order += [n for n in names if n in USDT_SOURCES]
    else:
        if source not in names:
            raise InputError(
                f"price_source {source!r}: no prices from that source; stored sources: "
                f"{', '.join(names) or 'none'}",
                parameter="price_source",
            )
        order = [source]
    for name in order:
        mask = prices["source"] == name
        src_day, src_close = prices["day"][mask], prices["close_usd"][mask]
        pos = np.searchsorted(src_day, days)
        pos_c = np.clip(pos, 0, max(len(src_day) - 1, 0))
        hit = (pos < len(src_day)) & (src_day[pos_c] == days) if len(src_day) else pos < 0
        fill = hit & np.isnan(close)
        close[fill] = src_close[pos_c[fill]]
        chosen[fill] = name
    return close, chosen


def build_daily_frame(
    store: Store,
    as_of: np.datetime64 | None = None,
    *,
    price_source: str = PRICE_SOURCE_AUTO,
    epochs: dict[str, np.ndarray] | None = None,
) -> DailyFrame:
    """The daily frame up to and including ``as_of`` (the last stored day when None).

    ``epochs`` is the store's epochs table (:meth:`Store.read_epochs`), read when not given.
    Days the stored blocks cover whole are built from them, the other days from Coin
    Metrics' rows (:func:`minerwatch.chaindays.chain_rows`).

    Raises :class:`AsOfOutOfRange` for an ``as_of`` outside the stored days, and
    :class:`ChainDataGap` naming the missing days when the chain data has a gap.
    """
    as_of = check_as_of(store, as_of)
    if epochs is None:
        epochs = store.read_epochs()
    chain = chain_rows(store, as_of, epochs)
    day = chain["day"]
    blocks = chain["blocks"]
    if "end_height" in chain:
        end_height = chain["end_height"]
    elif day[0] == GENESIS_DAY:
        end_height = np.cumsum(blocks)
    else:
        end_height = np.full(len(day), -1, np.int64)
    d_mean = chain["difficulty_mean"]
    day_end_unix = (day + 1 - np.datetime64("1970-01-01", "D")).astype(np.int64) * SECONDS_PER_DAY
    d_last = epoch_difficulty_at(
        end_height,
        epochs["start_height"],
        epochs["difficulty"],
        epochs["start_time"],
        day_end_unix,
    )
    # A blocks day: the difficulty of its highest block, exact.
    from_blocks = np.isfinite(chain["block_difficulty_last"])
    d_last = np.where(from_blocks, chain["block_difficulty_last"], d_last)
    exact = np.isfinite(d_last)
    # Where no epoch covers the height, the day's mean, carried over days without blocks.
    fallback = d_mean.copy()
    filled = np.where(np.isfinite(fallback), np.arange(len(fallback)), 0)
    np.maximum.accumulate(filled, out=filled)
    fallback = fallback[filled]
    d_last = np.where(np.isfinite(d_last), d_last, fallback)
    close, chosen = select_prices(day, store.read_prices(as_of), price_source)
    return DailyFrame(
        day=day,
        blocks=chain["blocks"],
        end_height=end_height,
        fees_sat=chain["fees_sat"],
        issuance_sat=chain["issuance_sat"],
        supply_sat=chain["supply_sat"],
        difficulty_mean=d_mean,
        difficulty_last=d_last,
        difficulty_exact=exact,
        price_usd=close,
        price_source=chosen,
        **{k: chain[k] for k in SOURCE_KEYS},
        provisional=chain["provisional"],
    )


@dataclass(frozen=True)
class DifficultyCheck:
    """Daily mean difficulty from the chain source against the epochs table.

    ``days_checked``: days with blocks whose heights the epochs table covers;
    ``max_rel_error``: largest ``|D_source / D_epochs - 1|``; ``days_off``: days beyond
    ``tolerance``, with the first few listed in ``examples`` as (day, source, epochs).
    """

    days_checked: int
    max_rel_error: float
    tolerance: float
    days_off: int
    examples: tuple[tuple[str, float, float], ...]


def crosscheck_difficulty(store: Store, tolerance: float = 1e-6) -> DifficultyCheck | None:
    """Compare each day's recovered mean difficulty with the epochs' block-weighted mean.

    For a day holding heights ``a..b``, the expected mean is ``(W(b) - W(a-1)) / (b-a+1)``
    where ``W(h)`` is the cumulative difficulty of blocks 1..h from the epochs table.
    Returns None when either table is empty or heights are unknown.
    """
    if held_days(store) is None:
        return None
    epochs = store.read_epochs()
    if len(epochs["start_height"]) == 0:
        return None
    frame = build_daily_frame(store)
    if frame.end_height[0] < 0:
        return None
    start, diff = epochs["start_height"], epochs["difficulty"]
    contiguous = np.concatenate([[start[0] == 0], np.diff(start) == 2016])
    # Only the leading run of epochs without holes defines W(h).
    run = int(np.argmin(contiguous)) if not contiguous.all() else len(start)
    start, diff = start[:run], diff[:run]
    if run == 0:
        return None
    covered_to = int(start[-1]) + 2015
    # Cumulative difficulty at each epoch start (blocks 1..start-1; genesis excluded).
    blocks_before = np.maximum(start - 1, 0)
    w_start = np.concatenate([[0.0], np.cumsum(diff[:-1] * np.diff(blocks_before))])

    def cumulative(h: np.ndarray) -> np.ndarray:
        i = np.searchsorted(start, h, side="right") - 1
        i = np.clip(i, 0, None)
        return w_start[i] + (h - blocks_before[i]) * diff[i]

    end = frame.end_height
    begin = end - frame.blocks
    ok = (frame.blocks > 0) & (end <= covered_to)
    expected = (cumulative(end[ok]) - cumulative(begin[ok])) / frame.blocks[ok]
    got = frame.difficulty_mean[ok]
    rel = np.abs(got / expected - 1.0)
    off = np.flatnonzero(rel > tolerance)
    days = frame.day[ok]
    return DifficultyCheck(
        days_checked=int(ok.sum()),
        max_rel_error=float(rel.max()) if rel.size else 0.0,
        tolerance=tolerance,
        days_off=int(off.size),
        examples=tuple((str(days[i]), float(got[i]), float(expected[i])) for i in off[:5]),
    )


def daily_frame(
    db: Store | str | Path | None = None, as_of: DayLike = None, *, price_source: str = "auto"
) -> DailyFrame:
    """The daily frame of the database ``db`` (a path or an open :class:`Store`) up to
    ``as_of`` (YYYY-MM-DD; default the last stored day)."""
    if isinstance(db, Store):
        return build_daily_frame(db, parse_as_of(as_of), price_source=price_source)
    with open_store(db, read_only=True) as store:
        return build_daily_frame(store, parse_as_of(as_of), price_source=price_source)


def verify_epochs(store: Store) -> list[RetargetResult]:
    """Recompute every retarget whose epoch the blocks table holds whole, and compare each
    with the next epoch in the epochs table (``matches``).

    An epoch counts when its first and last blocks are stored. The last block's bits come
    from the blocks table, else from the epochs table; an epoch with neither is skipped.
    Ascending by epoch.
    """
    blocks = store.read_blocks()
    epochs = store.read_epochs()
    heights = blocks["height"]
    if len(heights) == 0:
        return []
    epoch_bits = dict(zip(epochs["start_height"].tolist(), epochs["bits"].tolist(), strict=True))
    bits = blocks["bits"].copy()
    starts = np.unique(heights - heights % RETARGET_INTERVAL)
    results = []
    for start in starts.tolist():
        last = start + RETARGET_INTERVAL - 1
        ends = np.searchsorted(heights, [start, last])
        if ends[1] >= len(heights) or heights[ends[0]] != start or heights[ends[1]] != last:
            continue
        if bits[ends[1]] < 0:
            if start not in epoch_bits:
                continue
            bits[ends[1]] = epoch_bits[start]
        results.append(
            retarget_from_blocks(
                heights[ends],
                blocks["time"][ends],
                bits[ends],
                start,
                stored_next_bits=epoch_bits.get(start + RETARGET_INTERVAL),
            )
        )
    return results
