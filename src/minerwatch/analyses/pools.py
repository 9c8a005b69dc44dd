"""Who found the blocks of a window (``minerwatch pools``): each pool's blocks and share
of them with a 90% interval, the hashrate that share implies, the unknown share and the
empty blocks, read from the store up to the end of the ``as_of`` day.

The counting and the interval are in :mod:`minerwatch.metrics.pools`, the network hashrate
estimators in :mod:`minerwatch.metrics.estimators`; blocks are identified when stored
(:mod:`minerwatch.sources.pools`). See ``docs/pools.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from minerwatch.analyses.day import Day
from minerwatch.days import DayLike, as_day, day_end_s
from minerwatch.errors import AsOfOutOfRange, InputError
from minerwatch.metrics import estimators as est
from minerwatch.metrics.pools import (
    NONE,
    PoolCounts,
    Window,
    parse_window,
    pool_counts,
    wilson_interval,
    window_index,
)
from minerwatch.models.difficulty import Epochs
from minerwatch.serialize import Jsonable
from minerwatch.serialize import num as _num
from minerwatch.store import Store, open_store
from minerwatch.units import HS_PER_EHS, SECONDS_PER_DAY

#: Blocks closer than this to the stored tip may still be replaced by a reorg.
PROVISIONAL_DEPTH = 6
#: How the shares' intervals are computed (:func:`minerwatch.metrics.pools.wilson_interval`).
INTERVAL_METHOD = "Wilson score interval of the binomial share"
#: Seconds read before a day window's start: header times may run two hours ahead of
#: their neighbours, and the time-window estimator needs a block stamped before the start.
_TIME_SLACK_S = 2 * SECONDS_PER_DAY
#: Heights read below a block window's first: blocks stamped after as-of leave gaps.
_HEIGHT_SLACK = 12


@dataclass(frozen=True)
class PoolShare:
    """One pool over the window (``name`` None: the blocks no pool was identified for).

    ``blocks``: its blocks; ``share_pct``: of the window's blocks with pool data, percent,
    with the 90% interval ``share_low_pct`` to ``share_high_pct``; ``hashrate_ehs``: the
    share times the network's hashrate estimate of the window, EH/s (None where that is
    unknown); ``empty_blocks``: its blocks holding only the coinbase (None where no
    block's transaction count is known)."""

    name: str | None
    blocks: int
    share_pct: float | None
    share_low_pct: float | None
    share_high_pct: float | None
    hashrate_ehs: float | None
    empty_blocks: int | None


@dataclass(frozen=True)
class PoolShares(Jsonable):
    """The pools of a window's blocks. Units are in the names; times ISO 8601 UTC.

    ``as_of``: the day; ``window``: as asked (``1d``, ``7d``, ``30d``, ``epoch`` or a
    number of blocks); ``window_start`` and ``window_end``: the window's first moment
    (a day window's start, else the first block's time) and its end (exclusive, the
    midnight after ``as_of``); ``first_height``, ``last_height``, ``blocks``: the blocks
    stamped in it; ``blocks_with_pool_data``: those carrying a pool or their coinbase, the
    blocks the shares count; ``pools``: one :class:`PoolShare` per pool, most blocks
    first; ``unknown``: the blocks with pool data that no pool was identified for;
    ``network_hashrate_ehs`` (with ``network_hashrate_low_ehs``, ``_high_ehs``, the 90%
    interval, and ``network_hashrate_method``): the window's network hashrate estimate;
    ``confidence`` and ``interval_method``: of the share intervals; ``provisional``: the
    window holds a block within :data:`PROVISIONAL_DEPTH` of the stored tip or ends on
    the current UTC day (a reorg or late blocks may still change it)."""

    as_of: str
    window: str
    window_start: str
    window_end: str
    first_height: int
    last_height: int
    blocks: int
    blocks_with_pool_data: int
    pools: tuple[PoolShare, ...]
    unknown: PoolShare
    network_hashrate_ehs: float | None
    network_hashrate_low_ehs: float | None
    network_hashrate_high_ehs: float | None
    network_hashrate_method: str
    confidence: float
    interval_method: str
    provisional: bool
    notes: tuple[str, ...] = field(default_factory=tuple)


def _iso(unix_s: int) -> str:
    return str(np.datetime64(int(unix_s), "s")) + "Z"


def _as_of_day(store: Store, as_of: DayLike | np.datetime64) -> np.datetime64:
    """The day asked, or the day of the latest stored block; an error outside the days
    the blocks span."""
    from minerwatch.frames import parse_as_of

    rows, _, _, t_min, t_max = store.block_span()
    if not rows or t_min is None or t_max is None:
        raise InputError(
            f"the database {store.path} holds no blocks; sync them (`minerwatch sync node` or "
            "`minerwatch sync esplora`) or import a blocks CSV with a pool column"
        )
    first, last = (as_day(np.datetime64(int(t), "s")) for t in (t_min, t_max))
    day = parse_as_of(None if as_of is None else str(as_of))
    if day is None:
        return last
    if day < first or day > last:
        raise AsOfOutOfRange(
            f"as_of {day} is outside the days of the blocks held ({first} to {last}); "
            "choose a day in that range or sync more blocks",
            parameter="as_of",
        )
    return day


def _read_window(store: Store, end_s: int, window: Window) -> dict[str, np.ndarray]:
    """The stored blocks a window ending at ``end_s`` needs (nothing stamped at or after
    ``end_s``): from a little before the window, for the hashrate estimators."""
    if window.days is not None:
        start = end_s - window.days * SECONDS_PER_DAY - _TIME_SLACK_S
        return store.read_block_pools(min_time=start, max_time=end_s - 1)
    held = store.block_height_range(max_time=end_s - 1)
    tip = held[1] if held is not None else 0
    if window.blocks is not None:
        low = tip - window.blocks - _HEIGHT_SLACK
    else:
        low = tip - tip % 2016 - 1
    return store.read_block_pools(min_height=max(low, 0), max_time=end_s - 1)


def _network_hashrate(
    raw: dict[str, np.ndarray], rows: np.ndarray, end_s: int, window: Window, epochs: Epochs
) -> tuple[float, float, float, str, list[str]]:
    """The window's network hashrate estimate and 90% interval, H/s (NaN unknown), its
    method, and notes."""
    from minerwatch.analyses.difficulty import _block_difficulty

    nan = float("nan")
    try:
        difficulty = _block_difficulty(raw, epochs)
    except InputError as exc:
        return nan, nan, nan, "none", [f"no network hashrate: {exc}"]
    times = raw["time"]
    if window.days is not None:
        e = est.time_window_hashrate(
            times, difficulty, window.days * SECONDS_PER_DAY, np.array([end_s - 1])
        )
        method = "blocks with header time in the window x difficulty; exact Poisson interval"
        notes = [] if np.isfinite(e.hashrate_hs[0]) else [
            "no network hashrate: the blocks held do not reach back before the window's start"
        ]  # fmt: skip
        return float(e.hashrate_hs[0]), float(e.low_hs[0]), float(e.high_hs[0]), method, notes
    heights = raw["height"]
    first = int(rows[0])
    # The time of the block before the window's first opens it, where that block is held.
    opened = first > 0 and heights[first - 1] == heights[first] - 1
    span = np.arange(first - 1 if opened else first, int(rows[-1]) + 1)
    n = len(span) - 1
    if n < 2:
        return nan, nan, nan, "none", ["no network hashrate: fewer than 3 block times"]
    e = est.block_window_hashrate(times[span], difficulty[span], n)
    method = "work of the window's blocks / (max - min time) x (n-1)/n; chi-square interval"
    return float(e.hashrate_hs[-1]), float(e.low_hs[-1]), float(e.high_hs[-1]), method, []


def _share(
    name: str | None, blocks: int, low: float, high: float, n: int, hashrate_hs: float,
    empty: int, known_tx: int,
) -> PoolShare:  # fmt: skip
    share = blocks / n
    return PoolShare(
        name=name,
        blocks=blocks,
        share_pct=_num(100.0 * share, 4),
        share_low_pct=_num(100.0 * low, 4),
        share_high_pct=_num(100.0 * high, 4),
        hashrate_ehs=_num(share * hashrate_hs / HS_PER_EHS, 4),
        empty_blocks=empty if known_tx else None,
    )


def pools_from_store(
    store: Store,
    as_of: DayLike | np.datetime64 = None,
    window: str = "7d",
    *,
    epochs_table: dict[str, np.ndarray] | None = None,
) -> PoolShares:
    """:func:`pool_shares` on an open store."""
    w = parse_window(window)
    day = _as_of_day(store, as_of)
    end_s = int(day_end_s(np.array([day]))[0])
    raw = _read_window(store, end_s, w)
    rows = window_index(raw["height"], raw["time"], end_s, w)
    if not rows.size:
        raise InputError(
            f"no block is stamped in the {w.key} window ending {day}; choose another "
            "`as_of` or window",
            parameter="window",
        )
    data = raw["has_coinbase"][rows] | np.not_equal(raw["pool"][rows], NONE)
    lo_h, hi_h = int(raw["height"][rows[0]]), int(raw["height"][rows[-1]])
    if not data.any():
        raise InputError(
            f"no block of the {w.key} window ending {day} (heights {lo_h} to {hi_h}) carries "
            "a pool or its coinbase; sync blocks from a node or Esplora (`minerwatch sync "
            "node`, `minerwatch sync esplora`) or import a blocks CSV with a pool column, "
            "and import a pool list (`minerwatch import pools FILE`)"
        )
    counted = rows[data]
    c: PoolCounts = pool_counts(raw["pool"][counted], raw["tx_count"][counted])
    n = c.total
    k = np.append(c.blocks, c.unknown_blocks)
    low, high = wilson_interval(k, np.full(len(k), n))
    epochs = Epochs.from_store(store.read_epochs() if epochs_table is None else epochs_table)
    h, h_lo, h_hi, method, notes = _network_hashrate(raw, rows, end_s, w, epochs)
    pools = tuple(
        _share(str(c.name[i]), int(c.blocks[i]), low[i], high[i], n, h,
               int(c.empty_blocks[i]), int(c.tx_count_known[i]))
        for i in range(len(c.name))
    )  # fmt: skip
    unknown = _share(None, c.unknown_blocks, low[-1], high[-1], n, h,
                     c.unknown_empty_blocks, c.unknown_tx_count_known)  # fmt: skip
    if not data.all():
        notes.append(
            f"{int((~data).sum()):,} block(s) of the window carry neither a pool nor their "
            "coinbase and are not counted in the shares"
        )
    span = store.block_height_range()
    assert span is not None, "the window holds blocks"
    today = np.datetime64("now", "s").astype("datetime64[D]")
    provisional = span[1] - hi_h < PROVISIONAL_DEPTH or day >= today
    start_s = end_s - w.days * SECONDS_PER_DAY if w.days else int(raw["time"][rows].min())
    return PoolShares(
        as_of=str(day),
        window=w.key,
        window_start=_iso(start_s),
        window_end=_iso(end_s),
        first_height=lo_h,
        last_height=hi_h,
        blocks=len(rows),
        blocks_with_pool_data=n,
        pools=pools,
        unknown=unknown,
        network_hashrate_ehs=_num(h / HS_PER_EHS, 4),
        network_hashrate_low_ehs=_num(h_lo / HS_PER_EHS, 4),
        network_hashrate_high_ehs=_num(h_hi / HS_PER_EHS, 4),
        network_hashrate_method=method,
        confidence=est.DEFAULT_CONFIDENCE,
        interval_method=INTERVAL_METHOD,
        provisional=bool(provisional),
        notes=tuple(notes),
    )


def pool_shares(
    db: Day | Store | str | Path | None = None,
    as_of: DayLike = None,
    window: str = "7d",
) -> PoolShares:
    """Each pool's blocks, share (90% interval), implied hashrate and empty blocks over a
    window ending at the end of ``as_of``, and the unknown share.

    Parameters
    ----------
    db : Day, Store, str or Path, optional
        A day context (its day is the default ``as_of``; the result is kept on it), an
        open store or a database path (default:
        :func:`~minerwatch.store.default_db_path`).
    as_of : str, optional
        Day, ``YYYY-MM-DD`` (default: the day of the latest stored block). Nothing
        stamped after it is read.
    window : str, default "7d"
        ``1d``, ``7d``, ``30d``, ``epoch`` (the current difficulty epoch so far) or a
        number of blocks (see :mod:`minerwatch.metrics.pools`).

    Returns
    -------
    PoolShares

    Raises
    ------
    InputError
        A malformed window or day, a day outside the blocks held, or no block of the
        window carrying a pool or its coinbase.
    """
    if isinstance(db, Day):
        assert db.store is not None, "pools reads the store"
        store, day = db.store, as_of if as_of is not None else db.as_of
        epochs = db.epochs
        return db.memo(
            ("pools", str(day), window),
            lambda: pools_from_store(store, day, window, epochs_table=epochs),
        )
    if not isinstance(db, Store):
        with open_store(None if db is None else Path(db), read_only=True) as store:
            return pools_from_store(store, as_of, window)
    return pools_from_store(db, as_of, window)
