"""The difficulty outlook of a day or a block (``minerwatch difficulty``): where the
current epoch stands and the next adjustment, ours and mempool.space's, with the hashrate
estimators, read from the store up to ``as_of``.

The arithmetic is in :mod:`minerwatch.models.difficulty` (our forecaster) and
:mod:`minerwatch.models.mempool` (the baseline); this module assembles their inputs from
the store and shapes the result. See ``docs/difficulty.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from minerwatch.analyses.day import Day, cut_frame
from minerwatch.chain.consensus import HASHES_PER_DIFFICULTY
from minerwatch.days import day_end_s
from minerwatch.errors import InputError
from minerwatch.frames import DailyFrame
from minerwatch.metrics import estimators as est
from minerwatch.models.difficulty import (
    BASELINE_METHOD,
    CONFIDENCE,
    EPOCH,
    LEVEL_WINDOW_TAUS,
    METHOD,
    METHOD_TEXT,
    Q_PRIOR_PER_DAY,
    QUARTER_EPOCH_BLOCKS,
    DailyContext,
    DailySeries,
    Epochs,
    ForecastInputs,
    baseline_adjustment,
    block_inputs,
    daily_context,
    daily_inputs,
    difficulty_after,
    forecast_adjustment,
    level_time_constant_days,
)
from minerwatch.serialize import Jsonable
from minerwatch.serialize import num as _num
from minerwatch.store import Store, open_store
from minerwatch.tables import Tabular
from minerwatch.units import HS_PER_EHS, SECONDS_PER_DAY

#: Time windows, days, of the hashrate estimators of a per-block outlook.
BLOCK_ESTIMATE_DAYS = (1, 3, 7)
#: Slack, seconds, when finding the oldest block a level window needs: header times may run
#: up to two hours ahead of their neighbours (consensus), a day more covers the tip's day.
_BLOCK_TIME_SLACK_S = 2 * SECONDS_PER_DAY
#: Days of daily data an outlook reads (the fit's 365 days and 28 lags, twelve epochs).
OUTLOOK_DAYS = 800


def iso_utc(unix_s: float | None) -> str | None:
    """``YYYY-MM-DDTHH:MM:SSZ`` of unix seconds (None for NaN or infinite)."""
    if unix_s is None or not math.isfinite(unix_s):
        return None
    return str(np.datetime64(int(round(unix_s)), "s")) + "Z"


@dataclass(frozen=True)
class NextAdjustment:
    """Our forecast of the next difficulty adjustment (``DifficultyOutlook.next_adjustment``,
    ``Status.next_adjustment``).

    ``height``: the first block of the next epoch; ``blocks_remaining`` until it;
    ``change_pct``: median change of difficulty, percent, with ``change_pct_low`` and
    ``change_pct_high`` the ends of the 90% interval; ``difficulty``, ``difficulty_low``,
    ``difficulty_high``: the difficulty each change would set (:func:`difficulty_after`);
    ``date``, ``date_low``, ``date_high``: when block ``height`` is expected (median and 90%
    interval, ISO 8601 UTC); ``method``; ``reason``: None, or why there is no forecast (the
    figures are then None).
    """

    height: int
    blocks_remaining: int
    change_pct: float | None
    change_pct_low: float | None
    change_pct_high: float | None
    difficulty: float | None
    difficulty_low: float | None
    difficulty_high: float | None
    date: str | None
    date_low: str | None
    date_high: str | None
    method: str
    reason: str | None


@dataclass(frozen=True)
class BaselineAdjustment:
    """mempool.space's estimate of the next adjustment on the same data: ``change_pct``
    (percent), the ``difficulty`` it would set, the ``date`` of the retarget (ISO 8601 UTC)
    and the ``method``."""

    change_pct: float | None
    difficulty: float | None
    date: str | None
    method: str


@dataclass(frozen=True)
class HashrateEstimate:
    """One hashrate estimator over one window (``window``, ``method``): ``blocks`` in it
    (None where unknown), the estimate ``hashrate_ehs`` and its 90% interval ``low_ehs`` to
    ``high_ehs``, EH/s."""

    window: str
    method: str
    blocks: int | None
    hashrate_ehs: float | None
    low_ehs: float | None
    high_ehs: float | None


@dataclass(frozen=True)
class BlockHashrateEstimate(HashrateEstimate):
    """A block-count window's :class:`HashrateEstimate` with Bitcoin Core's uncorrected
    ``getnetworkhashps`` over the same blocks, EH/s."""

    getnetworkhashps_ehs: float | None


@dataclass(frozen=True)
class ForecastModel:
    """The fitted process behind the forecast: ``method`` and ``confidence`` (of the
    intervals, 0-1); ``hashrate_now_ehs``, the level the forecast starts from, EH/s;
    ``rate_sd_pct``, the sd of the mean hashrate over the rest of the epoch, percent;
    ``random_walk_sd_pct_per_day`` and ``drift_pct_per_day`` (with its standard error
    ``drift_se_pct_per_day``), percent per day; ``level_time_constant_days``, the time
    constant of the level's weighting, days; ``fit_days``, days fitted."""

    method: str
    confidence: float
    hashrate_now_ehs: float | None
    rate_sd_pct: float | None
    random_walk_sd_pct_per_day: float | None
    drift_pct_per_day: float | None
    drift_se_pct_per_day: float | None
    level_time_constant_days: float | None
    fit_days: int


@dataclass(frozen=True)
class DifficultyOutlook(Jsonable, Tabular):
    """Where the current epoch stands and the next adjustment, with intervals.

    Units are in the names; dates and times are ISO 8601 UTC. See ``docs/difficulty.md``.

    ``as_of``: the moment of the forecast; ``as_of_day``: with daily data, the day whose
    end that moment is (None with per-block data). ``next_adjustment``: our forecast
    (:class:`NextAdjustment`); ``baseline``: mempool.space's on the same data
    (:class:`BaselineAdjustment`); ``hashrate``: each estimator's hashrate and 90% interval
    by window (:class:`HashrateEstimate`); ``model``: the fitted process
    (:class:`ForecastModel`).
    """

    as_of: str
    as_of_day: str | None
    data: str
    height: int
    epoch: int
    epoch_start_height: int
    epoch_start_time: str | None
    epoch_start_time_estimated: bool
    difficulty: float
    progress_pct: float
    blocks_in_epoch: int
    blocks_remaining: int
    interval_min_epoch: float | None
    interval_min_recent: float | None
    next_adjustment: NextAdjustment
    baseline: BaselineAdjustment
    hashrate: dict[str, HashrateEstimate | BlockHashrateEstimate]
    model: ForecastModel
    notes: tuple[str, ...] = field(default_factory=tuple)
    provisional: bool = False


def _estimate_entry(
    window: str,
    method: str,
    blocks: float,
    h: float,
    lo: float,
    hi: float,
    core: float | None = None,
) -> HashrateEstimate | BlockHashrateEstimate:
    figures = (
        window,
        method,
        None if not np.isfinite(blocks) else int(blocks),
        _num(h / HS_PER_EHS),
        _num(lo / HS_PER_EHS),
        _num(hi / HS_PER_EHS),
    )
    if core is not None:
        return BlockHashrateEstimate(*figures, getnetworkhashps_ehs=_num(core / HS_PER_EHS))
    return HashrateEstimate(*figures)


def _daily_estimates(
    series: DailySeries, row: int, inputs: ForecastInputs
) -> dict[str, HashrateEstimate]:
    out = {}
    tail = slice(max(row - 6, 0), row + 1)  # the last week is all the windows read
    for w in (1, 3, 7):
        e = est.daily_window_hashrate(series.blocks[tail], series.difficulty_mean[tail], w)
        out[f"{w}d"] = _estimate_entry(
            f"{w}d",
            "blocks counted in whole UTC days x difficulty; exact Poisson (Garwood) interval",
            e.blocks[-1],
            e.hashrate_hs[-1],
            e.low_hs[-1],
            e.high_hs[-1],
        )
    k = float(inputs.blocks_in_epoch[0])
    elapsed = float(inputs.now_s[0] - inputs.epoch_start_s[0])
    work = float(inputs.difficulty[0]) * HASHES_PER_DIFFICULTY
    if k > 0 and elapsed > 0:
        lo, hi = est.poisson_rate_interval(k, elapsed)
        out["epoch"] = _estimate_entry(
            "epoch",
            "blocks since the epoch's first block over the time since; exact Poisson interval",
            k,
            k * work / elapsed,
            float(lo) * work,
            float(hi) * work,
        )
    return out


def _block_estimates(
    times: np.ndarray, difficulty: np.ndarray, j: int, k: int
) -> dict[str, HashrateEstimate]:
    out = {}
    t = times[: j + 1]
    d = difficulty[: j + 1]
    windows = [(120, "120"), (1008, "1008")]
    if k >= 2:
        # Core's -1: the blocks since the last change plus the one before it (its time opens
        # the window); from the epoch's first block where that one is not held.
        windows.append((k + 1 if j >= k + 1 else k, "epoch"))
    for n, name in windows:
        if len(t) <= n:
            continue
        tail_t, tail_d = t[-(n + 1) :], d[-(n + 1) :]
        e = est.block_window_hashrate(tail_t, tail_d, n)
        core = est.getnetworkhashps(tail_t, tail_d, n)[-1]
        label = f"{n} blocks" if name != "epoch" else "since the last difficulty change"
        out[name if name == "epoch" else f"{name}b"] = _estimate_entry(
            label,
            "work of the last n blocks / (max - min time), x (n-1)/n (Wuille); chi-square "
            "interval; getnetworkhashps_ehs is Bitcoin Core's uncorrected figure",
            n,
            e.hashrate_hs[-1],
            e.low_hs[-1],
            e.high_hs[-1],
            core,
        )
    # The time windows read the blocks from the last one stamped well before the longest
    # (the same blocks whatever the first block held, so the same sums).
    oldest = t[-1] - max(BLOCK_ESTIMATE_DAYS) * SECONDS_PER_DAY - _BLOCK_TIME_SLACK_S
    before = np.flatnonzero(t <= oldest)
    recent = slice(int(before[-1]) if before.size else 0, None)
    for days in BLOCK_ESTIMATE_DAYS:
        e = est.time_window_hashrate(
            t[recent], d[recent], days * SECONDS_PER_DAY, np.array([t[-1]])
        )
        out[f"{days}d"] = _estimate_entry(
            f"{days}d",
            "blocks with header time in the last window, exact Poisson (Garwood) interval",
            e.blocks[0],
            e.hashrate_hs[0],
            e.low_hs[0],
            e.high_hs[0],
        )
    return out


def _assemble(
    inputs: ForecastInputs,
    data: str,
    hashrate: dict[str, HashrateEstimate | BlockHashrateEstimate],
    estimated_start: bool,
    notes: list[str],
) -> DifficultyOutlook:
    f = forecast_adjustment(inputs)
    b_change, b_date = baseline_adjustment(inputs)
    k = int(inputs.blocks_in_epoch[0])
    start = int(inputs.epoch_start_height[0])
    elapsed = float(inputs.now_s[0] - inputs.epoch_start_s[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        interval_s = inputs.difficulty[0] * HASHES_PER_DIFFICULTY / f.hashrate_hs[0]
    fit = inputs.fit
    reason = None
    if not np.isfinite(f.change_pct[0]):
        reason = (
            "no hashrate level: no block in the "
            f"{LEVEL_WINDOW_TAUS * float(f.tau_days[0]):.0f} days before as-of to estimate it "
            "from"
        )
    now = float(inputs.now_s[0])
    day = np.datetime64(int(now), "s").astype("datetime64[D]") - 1
    d = float(inputs.difficulty[0])

    def level(change: float) -> float | None:
        return _num(float(difficulty_after(d, change)))

    as_of = iso_utc(now)
    assert as_of is not None, "a forecast has a finite moment"
    return DifficultyOutlook(
        as_of=as_of,
        as_of_day=str(day) if data == "daily" else None,
        data=data,
        height=int(inputs.height[0]),
        epoch=start // EPOCH,
        epoch_start_height=start,
        epoch_start_time=iso_utc(float(inputs.epoch_start_s[0])),
        epoch_start_time_estimated=estimated_start,
        difficulty=d,
        progress_pct=round(100.0 * k / EPOCH, 2),
        blocks_in_epoch=k,
        blocks_remaining=EPOCH - k,
        interval_min_epoch=_num(elapsed / k / 60.0, 3) if k > 0 else None,
        interval_min_recent=_num(interval_s / 60.0, 3),
        next_adjustment=NextAdjustment(
            height=start + EPOCH,
            blocks_remaining=EPOCH - k,
            change_pct=_num(f.change_pct[0], 3),
            change_pct_low=_num(f.change_pct_low[0], 3),
            change_pct_high=_num(f.change_pct_high[0], 3),
            difficulty=level(f.change_pct[0]),
            difficulty_low=level(f.change_pct_low[0]),
            difficulty_high=level(f.change_pct_high[0]),
            date=iso_utc(float(f.date_s[0])),
            date_low=iso_utc(float(f.date_low_s[0])),
            date_high=iso_utc(float(f.date_high_s[0])),
            method=METHOD,
            reason=reason,
        ),
        baseline=BaselineAdjustment(
            change_pct=_num(b_change[0], 3),
            difficulty=level(b_change[0]),
            date=iso_utc(float(b_date[0])),
            method=BASELINE_METHOD,
        ),
        hashrate=hashrate,
        model=ForecastModel(
            method=METHOD_TEXT,
            confidence=CONFIDENCE,
            hashrate_now_ehs=_num(f.hashrate_hs[0] / HS_PER_EHS),
            rate_sd_pct=_num(100.0 * f.rate_sigma[0], 3),
            random_walk_sd_pct_per_day=_num(100.0 * math.sqrt(float(fit.q_per_day[0])), 3),
            drift_pct_per_day=_num(100.0 * float(fit.drift_per_day[0]), 4),
            drift_se_pct_per_day=_num(100.0 * float(fit.drift_se_per_day[0]), 4),
            level_time_constant_days=_num(f.tau_days[0], 2),
            fit_days=int(fit.days[0]),
        ),
        notes=tuple(notes),
    )


def _contiguous_blocks(store: Store, **kw: int) -> dict[str, np.ndarray] | None:
    """Per-block rows from the store (None when it holds none in the range), cut at the
    first missing height (a ``max_time`` cut can skip a block whose header time runs
    ahead of a later block's)."""
    reader = getattr(store, "read_blocks", None)
    if reader is None:
        return None
    raw: dict[str, np.ndarray] | None = reader(**kw)
    if raw is None or len(raw.get("height", ())) == 0:
        return None
    gap = np.flatnonzero(np.diff(np.asarray(raw["height"], np.int64)) != 1)
    if gap.size:
        cut = int(gap[0]) + 1
        raw = {k: np.asarray(v)[:cut] for k, v in raw.items()}
    return raw


def _block_difficulty(raw: dict[str, np.ndarray], epochs: Epochs | None = None) -> np.ndarray:
    """Each block's difficulty: stored, else from its bits, else its epoch's (table)."""
    from minerwatch.chain.consensus import bits_to_difficulty_array

    h = np.asarray(raw["height"], np.int64)
    d = np.asarray(raw.get("difficulty", np.full(len(h), np.nan)), np.float64).copy()
    bits = np.asarray(raw.get("bits", np.full(len(h), -1)), np.int64)
    fill = ~np.isfinite(d) & (bits > 0)
    if fill.any():
        d[fill] = bits_to_difficulty_array(bits[fill])
    if epochs is not None and not np.isfinite(d).all():
        from_table, _ = epochs.lookup(h - h % EPOCH)
        d = np.where(np.isfinite(d), d, from_table)
    if not np.isfinite(d).all():
        bad = int(h[~np.isfinite(d)][0])
        raise InputError(
            f"block {bad}: no difficulty, bits or epochs-table difficulty; import the epochs "
            "(`minerwatch import epochs`) or blocks with bits"
        )
    return d


def outlook_from_store(
    store: Store,
    as_of: np.datetime64 | None = None,
    at_height: int | None = None,
    *,
    frame: DailyFrame | None = None,
    epochs_table: dict[str, np.ndarray] | None = None,
) -> DifficultyOutlook:
    """:func:`difficulty_outlook` on an open store (``as_of`` a day or None).

    ``frame`` (the daily frame cut at ``as_of``) and ``epochs_table`` (the store's epochs)
    are read from the store when not given. Per-block data is read from
    :func:`_block_read_start` on: every held block the windows need (all of them where the
    table starts inside the level's window, as the backtest reads them), a bounded number
    whatever the size of the blocks table. ``provisional``: the block ``at_height`` is
    within 6 of the stored tip or stamped on the current UTC day; for a day,
    :func:`~minerwatch.chaindays.provisional_blocks_on`.
    """
    from minerwatch.blockdays import PROVISIONAL_DEPTH
    from minerwatch.chaindays import provisional_blocks_on
    from minerwatch.days import utc_now_s

    outlook = _outlook_from_store(store, as_of, at_height, frame, epochs_table)
    if at_height is not None:
        span = store.block_height_range()
        tip = span[1] if span is not None else at_height
        day_s = utc_now_s() // SECONDS_PER_DAY * SECONDS_PER_DAY
        stamped = store.read_blocks(min_height=at_height, max_height=at_height)["time"]
        provisional = at_height > tip - PROVISIONAL_DEPTH or int(stamped[0]) >= day_s
    else:
        day = outlook.as_of_day or outlook.as_of[:10]
        provisional = provisional_blocks_on(store, np.datetime64(day, "D"))
    return replace(outlook, provisional=True) if provisional else outlook


def _outlook_from_store(
    store: Store,
    as_of: np.datetime64 | None,
    at_height: int | None,
    frame: DailyFrame | None,
    epochs_table: dict[str, np.ndarray] | None,
) -> DifficultyOutlook:
    from minerwatch.chaindays import blocks_end_inside_a_daily_row
    from minerwatch.frames import build_daily_frame, check_as_of

    if as_of is not None and at_height is not None:
        raise InputError("give either `as_of` or `at_height`, not both", parameter="at_height")
    epochs = Epochs.from_store(store.read_epochs() if epochs_table is None else epochs_table)
    notes: list[str] = []
    if at_height is not None:
        h = int(at_height)
        if h < 0:
            raise InputError(
                f"at_height {h} is out of range; expected a height >= 0", parameter="at_height"
            )
        start = h - h % EPOCH
        tip = _contiguous_blocks(store, min_height=h, max_height=h)
        raw = None
        if tip is not None:
            daily = _daily_before(store, epochs, int(tip["time"][0]))
            raw = _blocks_up_to(store, h, int(tip["time"][0]), daily, max_height=h)
        if raw is None or int(raw["height"][-1]) != h or int(raw["height"][0]) > start:
            held = store.block_height_range()
            span = (
                f"heights {held[0]} to {held[1]}"
                if held is not None
                else "no per-block data (load it with `minerwatch import blocks`)"
            )
            raise InputError(
                f"at_height {h}: needs per-block data from the epoch's first block "
                f"({start}) to {h}; the database holds {span}",
                parameter="at_height",
            )
        return _outlook_blocks(raw, len(raw["height"]) - 1, epochs, notes, daily)
    day = check_as_of(store, as_of)
    day_end = int(day_end_s(np.array([day]))[0])
    held = store.block_height_range(max_time=day_end - 1)
    if held is not None and not blocks_end_inside_a_daily_row(store, day):
        # The tip, if the blocks reach this day, is stamped on it: the daily history is the
        # days before it.
        daily = _daily_before(store, epochs, day_end - 1, frame)
        raw = _blocks_up_to(store, held[1], day_end, daily, max_time=day_end - 1)
        if raw is not None:
            h = int(raw["height"][-1])
            t_last = int(raw["time"][-1])
            start = h - h % EPOCH
            if int(raw["height"][0]) <= start and t_last >= day_end - SECONDS_PER_DAY:
                return _outlook_blocks(raw, len(raw["height"]) - 1, epochs, notes, daily)
    if frame is None or frame.day[-1] != day:
        frame = build_daily_frame(store, day)
    if frame.end_height[0] < 0:
        raise InputError(
            "the daily data does not start at the genesis day, so heights are unknown; "
            "the difficulty outlook needs heights (load the full Coin Metrics history)"
        )
    # The fit reads 365 days plus 28 days of lags, the offset the last 12 epoch starts:
    # the last OUTLOOK_DAYS days hold all of it.
    series = DailySeries.from_frame(frame).tail(OUTLOOK_DAYS)
    ctx = daily_context(series, epochs)
    row = len(series.day) - 1
    inputs = daily_inputs(ctx, np.array([row]), epochs)
    _, known = epochs.lookup(inputs.epoch_start_height)
    estimated = not bool(np.isfinite(known[0]))
    notes.append(
        "daily data: progress is known at day ends only; heights come from daily block "
        f"counts less their offset from the chain ({ctx.offset[row]:+.1f} blocks, the median "
        "at recent epoch starts)"
    )
    if estimated:
        notes.append(
            "the epoch's start time is not in the epochs table: interpolated from "
            "daily block counts"
        )
    if not np.isfinite(epochs.lookup(inputs.epoch_start_height)[0][0]):
        notes.append("the epoch's difficulty is not in the epochs table: the day's mean")
    return _assemble(inputs, "daily", _daily_estimates(series, row, inputs), estimated, notes)


def _daily_before(
    store: Store, epochs: Epochs, block_time_s: int, later: DailyFrame | None = None
) -> DailyContext | None:
    """The daily history strictly before the day of a block stamped ``block_time_s`` (that
    day's totals are not yet known then); None without one from the genesis day. ``later``:
    a frame of the same store that reaches that day, cut instead of reading the store."""
    from minerwatch.chaindays import held_days
    from minerwatch.frames import build_daily_frame

    block_day = np.datetime64(int(block_time_s), "s").astype("datetime64[D]")
    span = held_days(store)
    if span is None or block_day - 1 < span[0]:
        return None
    last = min(block_day - 1, span[1])
    if later is not None and later.day[0] <= last <= later.day[-1]:
        frame = cut_frame(later, later.index_of(last))
    else:
        frame = build_daily_frame(store, last)
    if frame.end_height[0] < 0:
        return None
    return daily_context(DailySeries.from_frame(frame), epochs)


def _block_read_start(store: Store, tip: int, t_upper: int, daily: DailyContext | None) -> int:
    """The lowest height an outlook at block ``tip`` (stamped at or before ``t_upper``)
    reads: the block before the epoch's first (Core's ``-1`` window), the 1,008-block
    window's first, block ``tip - 503``, and every block the level's window of
    :data:`LEVEL_WINDOW_TAUS` time constants or the 7-day estimator may hold (found by
    time, with a slack for header times that run ahead). Blocks older than that change no
    figure."""
    start = tip - tip % EPOCH
    first = min(start - 1, tip - 1009, tip - QUARTER_EPOCH_BLOCKS)
    q = daily.fit.q_per_day[-1] if daily is not None else Q_PRIOR_PER_DAY
    tau_s = float(level_time_constant_days(np.asarray(q, np.float64))) * SECONDS_PER_DAY
    span_s = max(LEVEL_WINDOW_TAUS * tau_s, max(BLOCK_ESTIMATE_DAYS) * SECONDS_PER_DAY)
    oldest = int(t_upper - span_s - 2 * _BLOCK_TIME_SLACK_S)
    before = store.block_height_range(max_time=oldest)
    if before is not None:
        first = min(first, before[1])
    else:
        # The table starts inside the window: every held block counts (as the backtest,
        # which reads them all, and :func:`~minerwatch.analyses.status.block_intervals_at`).
        held = store.block_height_range()
        if held is not None:
            first = min(first, held[0])
    return max(first, 0)


def _blocks_up_to(
    store: Store, tip: int, t_upper: int, daily: DailyContext | None, **kw: int
) -> dict[str, np.ndarray] | None:
    """The consecutive blocks an outlook at block ``tip`` reads (``kw``: the read's upper
    bounds): from :func:`_block_read_start`; where a missing height below the window's
    nearest blocks cuts that run short of ``tip``, the run from those nearest blocks."""
    first = _block_read_start(store, tip, t_upper, daily)
    raw = _contiguous_blocks(store, min_height=first, **kw)
    near = max(min(tip - tip % EPOCH - 1, tip - 1009, tip - QUARTER_EPOCH_BLOCKS), 0)
    if first < near and (raw is None or int(raw["height"][-1]) < tip):
        raw = _contiguous_blocks(store, min_height=near, **kw)
    return raw


def _outlook_blocks(
    raw: dict[str, np.ndarray], j: int, epochs: Epochs, notes: list[str], daily: DailyContext | None
) -> DifficultyOutlook:
    heights = np.asarray(raw["height"], np.int64)
    times = np.asarray(raw["time"], np.int64)
    diff = _block_difficulty(raw, epochs)
    if daily is None:
        notes.append("no daily history before this block: the a priori process parameters")
    inputs = block_inputs(heights, times, diff, np.array([j]), daily=daily, epochs=epochs)
    k = int(inputs.blocks_in_epoch[0])
    return _assemble(inputs, "blocks", _block_estimates(times, diff, j, k), False, notes)


def difficulty_outlook(
    db: Day | Store | str | Path | None = None,
    as_of: str | None = None,
    at_height: int | None = None,
) -> DifficultyOutlook:
    """The current epoch and the next difficulty adjustment as of a day or a block.

    Per-block data (``minerwatch import blocks``) is used when it holds the epoch from its
    first block up to the day (or the block); otherwise the daily data, at the end of the
    ``as_of`` day. Nothing after ``as_of`` (or the block) is read.

    Parameters
    ----------
    db : Day, Store, str or Path, optional
        A day context (the outlook is kept on it), an open store or a database path
        (default: :func:`~minerwatch.store.default_db_path`).
    as_of : str, optional
        Day, ``YYYY-MM-DD`` (default: the last day held).
    at_height : int, optional
        Forecast at this block instead (needs per-block data).

    Returns
    -------
    DifficultyOutlook

    Raises
    ------
    InputError
        Both ``as_of`` and ``at_height``; a day outside the data; a height without
        per-block data.
    """
    from minerwatch.frames import parse_as_of

    if isinstance(db, Day):
        if at_height is not None:
            assert db.store is not None, "a per-block outlook reads the store"
            return outlook_from_store(db.store, None, at_height, epochs_table=db.epochs)
        context = db.cut(as_of)
        assert context.store is not None, "the outlook reads the store"
        store: Store = context.store
        return context.memo(
            "outlook",
            lambda: outlook_from_store(
                store, context.as_of, frame=context.frame, epochs_table=context.epochs
            ),
        )
    if not isinstance(db, Store):
        path = Path(db) if db is not None else None
        with open_store(path, read_only=True) as store:
            return difficulty_outlook(store, as_of, at_height)
    return outlook_from_store(db, parse_as_of(as_of), at_height)


def next_adjustment_or_none(day: Day) -> NextAdjustment | None:
    """The outlook's ``next_adjustment`` for ``status``; None when it cannot be computed
    (no heights, no epochs, no hashrate level yet)."""
    try:
        na = difficulty_outlook(day).next_adjustment
    except InputError:  # the data held cannot give one (no heights, no difficulty)
        return None
    return na if na.reason is None else None
