"""Backtest of the next-adjustment forecasts over every historical epoch the data allows.

For each epoch and each progress level (10, 25, 50, 75, 90% of the epoch's 2,016 blocks)
both forecasters — ours (:func:`~minerwatch.models.difficulty.forecast_adjustment`) and the
mempool.space baseline (:func:`~minerwatch.models.mempool.mempool_baseline`) — forecast from the
data available at that moment, and the forecast is compared with the realised retarget:
change = next difficulty / difficulty - 1, date = the time of the next epoch's first block.

- **Daily data**: epochs whose difficulty and the next epoch's are in the epochs table, both
  above 1 (at the proof-of-work limit the realised change is capped at 0, which no
  forecaster of the timespan sees). The forecast is made at the end of the first day by
  which the epoch has reached the level (counted heights less their offset from the chain);
  a level first reached on the day the epoch ends is skipped. Where the table has no start
  time (16 epochs of 2025) the forecasts use the time interpolated from the daily counts, as
  the outlook does, and the change is scored; the date is scored only where the next
  epoch's start time is known.
- **Per-block data**: every epoch whose blocks are all held, plus the next epoch's first
  block; the forecast is made at block ``start + round(level x 2016)``.

Per level: mean absolute error of the change (percentage points) and of the date (hours)
for ours and the baseline, their ratio, the coverage of our 90% intervals, and the Poisson
floor: the mean absolute error a forecaster would still make if it knew the hashrate of the
rest of the epoch exactly (the Gamma spread of the remaining blocks' time, at the epoch's
realised mean rate). Nothing is fitted on the backtest: every forecast uses the a priori
constants of :mod:`minerwatch.analyses.difficulty` and fits made on data before its own moment only.

The **walk-forward** run (:func:`walk_forward_backtest`, ``--walk-forward``) scores every
epoch from 2014 at 1-99% of the epoch with proper scoring rules (interval score, CRPS)
beside MAE and coverage, per level and per year, for ours, three variants whose learned
parts are fitted on the earlier forecasts known before each one (expanding window), and
the baseline with an interval from its own walk-forward errors
(:mod:`minerwatch.models.walk_forward`); bootstrap intervals on the ratios.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from minerwatch.chain.consensus import RETARGET_INTERVAL, TARGET_TIMESPAN_S
from minerwatch.days import DayLike, day_end_s
from minerwatch.errors import InputError
from minerwatch.models import difficulty as forecaster
from minerwatch.models.scoring import block_bootstrap_ratio
from minerwatch.serialize import NOT_JSON, Jsonable, write_csv
from minerwatch.store import Store
from minerwatch.tables import Tabular

LEVELS_PCT = (10, 25, 50, 75, 90)
_EPOCH = RETARGET_INTERVAL
_MAE_NORMAL = math.sqrt(2.0 / math.pi)  # mean absolute deviation / standard deviation
#: Calendar splits of the per-era summary (epochs starting before each date).
ERAS = (
    ("2010-2015", "2016-01-01"),
    ("2016-2020", "2021-01-01"),
    ("2021-2025", "2100-01-01"),
)


@dataclass(frozen=True)
class BacktestRow:
    """Accuracy at one progress level on one kind of data (errors are means of absolutes).

    ``progress_pct``: mean progress at which the forecasts were made (daily data reaches a
    level at a day's end, later than the level itself). Ratios are ours / baseline (below
    1: ours is better). Coverage: share of realised values inside our 90% interval.
    Floors: the mean absolute error with the rest of the epoch's hashrate known exactly.
    ``epochs``: forecasts scored on the change; ``epochs_dated``: of those, the ones whose
    realised date is known (the date columns are over these).
    """

    data: str
    level_pct: int
    epochs: int
    epochs_dated: int
    progress_pct: float
    mae_change_pp: float
    mae_change_pp_baseline: float
    ratio_change: float
    mae_date_h: float
    mae_date_h_baseline: float
    ratio_date: float
    coverage_change_pct: float
    coverage_date_pct: float
    floor_change_pp: float
    floor_date_h: float


@dataclass(frozen=True, kw_only=True)
class DifficultyBacktest(Jsonable, Tabular):
    """Backtest result: the table (``rows``), a per-era summary and every forecast.

    ``forecasts`` holds one array per column, one entry per forecast: ``data``,
    ``epoch_start_height``, ``epoch_start``, ``level_pct``, ``progress_pct``, realised
    ``change_pct`` and ``date_s``, ours (``ours_change_pct``, ``ours_low``, ``ours_high``,
    ``ours_date_s``, ``ours_date_low_s``, ``ours_date_high_s``) and the baseline's
    (``base_change_pct``, ``base_date_s``), and the Poisson floors; they are left out of
    the JSON, which holds the method names, the table, the eras and the notes.
    """

    TABLE = "rows"  # the rows of to_pandas() and the like

    method: str = forecaster.METHOD
    baseline: str = forecaster.BASELINE_METHOD
    rows: tuple[BacktestRow, ...]
    eras: tuple[dict[str, str | int | float], ...]
    forecasts: dict[str, np.ndarray] = field(metadata=NOT_JSON)
    notes: tuple[str, ...] = field(default_factory=tuple)

    def write_csv(self, path: str | Path) -> Path:
        """Save the table (one row per data kind and level) as CSV
        (:func:`~minerwatch.serialize.write_csv`)."""
        return write_csv(self.rows, path)


# --- choosing the forecast points ---------------------------------------------------------


def _daily_points(
    ctx: forecaster.DailyContext, epochs: forecaster.Epochs, levels: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows, epoch starts, level, realised change and date (NaN where the next epoch's start
    time is unknown) of every daily forecast."""
    sh, d, st = epochs.start_height, epochs.difficulty, epochs.start_time
    nxt = np.searchsorted(sh, sh + _EPOCH)
    has_next = nxt < len(sh)
    nxt_c = np.clip(nxt, 0, len(sh) - 1)
    has_next &= sh[nxt_c] == sh + _EPOCH
    ok = has_next & (d > 1.0) & (d[nxt_c] > 1.0)
    start = sh[ok]
    t0 = np.where(st[ok] >= 0, st[ok], np.nan)
    t1 = np.where(st[nxt_c][ok] >= 0, st[nxt_c][ok], np.nan)
    # Unknown start times: interpolated from the daily counts (as the forecasts have them),
    # only to tell which day ends fall inside the epoch.
    t0_in = np.where(np.isfinite(t0), t0, forecaster.time_of_height(ctx, start))
    t1_in = np.where(np.isfinite(t1), t1, forecaster.time_of_height(ctx, start + _EPOCH))
    real = 100.0 * (d[nxt_c][ok] / d[ok] - 1.0)
    # Counted chain height at each day end is non-decreasing: the first day reaching a level.
    heights = np.maximum.accumulate(ctx.chain_end_height)
    rows, starts, lv, rc, rd = [], [], [], [], []
    for level in levels:
        k = round(level * _EPOCH / 100)
        row = np.searchsorted(heights, start + k - 0.5)  # first day with height >= start + k
        inside = row < len(heights)
        row_c = np.clip(row, 0, len(heights) - 1)
        end = ctx.day_end_s[row_c]
        with np.errstate(invalid="ignore"):
            keep = inside & (end > t0_in) & (end < t1_in) & (row_c >= 1)
        rows.append(row_c[keep])
        starts.append(start[keep])
        lv.append(np.full(int(keep.sum()), level))
        rc.append(real[keep])
        rd.append(t1[keep])
    return tuple(np.concatenate(a) for a in (rows, starts, lv, rc, rd))  # type: ignore[return-value]


def _block_points(
    heights: np.ndarray, times: np.ndarray, difficulty: np.ndarray, levels: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Indexes, epoch starts, level, realised change and date of every per-block forecast."""
    if len(heights) == 0:
        empty = np.zeros(0)
        return (empty.astype(np.int64), empty.astype(np.int64), empty, empty, empty)
    h0 = int(heights[0])
    first = h0 + (-h0) % _EPOCH
    starts = np.arange(first, int(heights[-1]) - _EPOCH + 1, _EPOCH)  # next start held
    idx, st, lv, rc, rd = [], [], [], [], []
    for level in levels:
        k = round(level * _EPOCH / 100)
        i_start = starts - h0
        i_next = i_start + _EPOCH
        idx.append(i_start + k)
        st.append(starts)
        lv.append(np.full(len(starts), level))
        rc.append(100.0 * (difficulty[i_next] / difficulty[i_start] - 1.0))
        rd.append(times[i_next].astype(np.float64))
    return tuple(np.concatenate(a) for a in (idx, st, lv, rc, rd))  # type: ignore[return-value]


# --- scoring ------------------------------------------------------------------------------


def _score(
    kind: str,
    inputs: forecaster.ForecastInputs,
    level: np.ndarray,
    real_change: np.ndarray,
    real_date: np.ndarray,
) -> dict[str, np.ndarray]:
    f = forecaster.forecast_adjustment(inputs)
    b_change, b_date = forecaster.baseline_adjustment(inputs)
    k = inputs.blocks_in_epoch.astype(np.float64)
    timespan = real_date - inputs.epoch_start_s  # 2016 intervals, to the next epoch's start
    realised_total = TARGET_TIMESPAN_S / (1.0 + real_change / 100.0)  # 2015 intervals
    # Mean block interval of the epoch: from its dates, else from the realised change.
    per_block = np.where(np.isfinite(timespan), timespan / _EPOCH, realised_total / (_EPOCH - 1))
    floor_change = (
        100.0
        * _MAE_NORMAL
        * TARGET_TIMESPAN_S
        / realised_total**2
        * np.sqrt(np.maximum(_EPOCH - 1 - k, 0.0))
        * per_block
    )
    floor_date = np.where(
        np.isfinite(real_date), _MAE_NORMAL * np.sqrt(_EPOCH - k) * per_block / 3600.0, np.nan
    )
    n = len(level)
    return {
        "data": np.full(n, kind),
        "epoch_start_height": inputs.epoch_start_height,
        "epoch_start": inputs.epoch_start_s,
        "level_pct": level,
        "progress_pct": 100.0 * k / _EPOCH,
        "change_pct": real_change,
        "date_s": real_date,
        "ours_change_pct": f.change_pct,
        "ours_low": f.change_pct_low,
        "ours_high": f.change_pct_high,
        "ours_date_s": f.date_s,
        "ours_date_low_s": f.date_low_s,
        "ours_date_high_s": f.date_high_s,
        "base_change_pct": b_change,
        "base_date_s": b_date,
        "floor_change_pp": floor_change,
        "floor_date_h": floor_date,
    }


def _summary(fc: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, Any]:
    dated = mask & np.isfinite(fc["date_s"])

    def mean(x: np.ndarray, rows: np.ndarray = mask) -> float:
        x = x[rows]
        return float(np.mean(x)) if x.size else float("nan")

    err_c = np.abs(fc["ours_change_pct"] - fc["change_pct"])
    err_cb = np.abs(fc["base_change_pct"] - fc["change_pct"])
    err_d = np.abs(fc["ours_date_s"] - fc["date_s"]) / 3600.0
    err_db = np.abs(fc["base_date_s"] - fc["date_s"]) / 3600.0
    in_c = (fc["ours_low"] <= fc["change_pct"]) & (fc["change_pct"] <= fc["ours_high"])
    in_d = (fc["ours_date_low_s"] <= fc["date_s"]) & (fc["date_s"] <= fc["ours_date_high_s"])
    mae_c, mae_cb = mean(err_c), mean(err_cb)
    mae_d, mae_db = mean(err_d, dated), mean(err_db, dated)
    return {
        "epochs": int(mask.sum()),
        "epochs_dated": int(dated.sum()),
        "progress_pct": round(mean(fc["progress_pct"]), 2),
        "mae_change_pp": round(mae_c, 4),
        "mae_change_pp_baseline": round(mae_cb, 4),
        "ratio_change": round(mae_c / mae_cb, 4) if mae_cb else float("nan"),
        "mae_date_h": round(mae_d, 3),
        "mae_date_h_baseline": round(mae_db, 3),
        "ratio_date": round(mae_d / mae_db, 4) if mae_db else float("nan"),
        "coverage_change_pct": round(100.0 * mean(in_c.astype(float)), 2),
        "coverage_date_pct": round(100.0 * mean(in_d.astype(float), dated), 2),
        "floor_change_pp": round(mean(fc["floor_change_pp"]), 4),
        "floor_date_h": round(mean(fc["floor_date_h"], dated), 3),
    }


#: One kind of data's forecast points: kind, inputs, level, realised change and date.
_Set = tuple[str, forecaster.ForecastInputs, np.ndarray, np.ndarray, np.ndarray]


def _forecast_sets(
    daily: forecaster.DailySeries | None,
    epochs: forecaster.Epochs,
    blocks: dict[str, np.ndarray] | None,
    levels: tuple[int, ...],
    drift_window_days: int | None = None,
) -> tuple[list[_Set], list[str]]:
    """The forecast points of each kind of data: (kind, inputs, level, realised change,
    realised date), and notes on what was skipped (``drift_window_days``: the drift from
    that shorter window, :func:`~minerwatch.models.difficulty.with_drift_window`)."""
    sets = []
    notes = []
    ctx = None
    if daily is not None and len(daily.day) and daily.end_height[0] >= 0:
        ctx = forecaster.daily_context(daily, epochs, drift_window_days)
        rows, starts, lv, rc, rd = _daily_points(ctx, epochs, levels)
        if len(rows):
            inputs = forecaster.daily_inputs(ctx, rows, epochs, epoch_start_height=starts)
            sets.append(("daily", inputs, lv, rc, rd))
    elif daily is not None:
        notes.append("daily data does not start at the genesis day: heights unknown, skipped")
    if blocks is not None and len(blocks["height"]):
        h = np.asarray(blocks["height"], np.int64)
        t = np.asarray(blocks["time"], np.int64)
        d = np.asarray(blocks["difficulty"], np.float64)
        idx, starts, lv, rc, rd = _block_points(h, t, d, levels)
        if len(idx):
            inputs = forecaster.block_inputs(h, t, d, idx, daily=ctx, epochs=epochs)
            sets.append(("blocks", inputs, lv, rc, rd))
    if not sets:
        raise InputError(
            "no epoch to backtest: needs the daily history from the genesis day with the "
            "epochs table (start times), or per-block data holding a whole epoch"
        )
    return sets, notes


def backtest_arrays(
    daily: forecaster.DailySeries | None,
    epochs: forecaster.Epochs,
    blocks: dict[str, np.ndarray] | None = None,
    levels: tuple[int, ...] = LEVELS_PCT,
) -> DifficultyBacktest:
    """Backtest both forecasters on daily data and, if given, per-block data.

    Parameters
    ----------
    daily : forecaster.DailySeries, optional
        The daily series (from the genesis day, so heights are known).
    epochs : forecaster.Epochs
        The epochs table (start heights, difficulties, start times).
    blocks : dict of ndarray, optional
        Consecutive blocks: ``height``, ``time`` (unix s), ``difficulty``.
    levels : tuple of int, default (10, 25, 50, 75, 90)
        Progress levels, percent of the epoch.

    Returns
    -------
    DifficultyBacktest
    """
    sets, notes = _forecast_sets(daily, epochs, blocks, levels)
    parts = [_score(*one) for one in sets]
    fc = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    table = []
    for kind in ("daily", "blocks"):
        for level in levels:
            m = (fc["data"] == kind) & (fc["level_pct"] == level)
            if m.any():
                table.append(BacktestRow(data=kind, level_pct=int(level), **_summary(fc, m)))
    eras: list[dict[str, str | int | float]] = []
    start_day = fc["epoch_start"].astype(np.int64).astype("datetime64[s]")
    lower = np.datetime64("1970-01-01")
    for name, before in ERAS:
        upper = np.datetime64(before)
        for level in levels:
            m = (
                (fc["data"] == "daily")
                & (fc["level_pct"] == level)
                & (start_day >= lower)
                & (start_day < upper)
            )
            if m.any():
                eras.append({"era": name, "level_pct": int(level), **_summary(fc, m)})
        lower = upper
    return DifficultyBacktest(rows=tuple(table), eras=tuple(eras), forecasts=fc, notes=tuple(notes))


def backtest_difficulty(
    db: Store | str | Path | None = None,
    as_of: DayLike = None,
    *,
    levels: tuple[int, ...] = LEVELS_PCT,
    blocks: dict[str, np.ndarray] | None = None,
) -> DifficultyBacktest:
    """Backtest the next-adjustment forecasts over every epoch the database allows.

    Parameters
    ----------
    db : Store, str or Path, optional
        The database (default: :func:`~minerwatch.store.default_db_path`).
    as_of : str, optional
        Score only what was known at the end of this day (YYYY-MM-DD): the daily data and
        blocks up to it, the epochs started by then (an epoch is scored once the next one
        began). Default: everything held.
    levels : tuple of int, default (10, 25, 50, 75, 90)
        Progress levels, percent of the epoch.
    blocks : dict of ndarray, optional
        Per-block data (``height``, ``time``, ``difficulty``) to use instead of the
        database's blocks table.

    Returns
    -------
    DifficultyBacktest
        The table per data kind and level; ``docs/difficulty.md`` explains every column.
    """
    from minerwatch.store import open_store

    if not isinstance(db, Store):
        with open_store(Path(db) if db is not None else None, read_only=True) as store:
            return backtest_difficulty(store, as_of, levels=levels, blocks=blocks)
    daily, epochs, blocks = _load(db, blocks, as_of)
    return backtest_arrays(daily, epochs, blocks, levels)


def _load(
    db: Store, blocks: dict[str, np.ndarray] | None, as_of: DayLike = None
) -> tuple[forecaster.DailySeries | None, forecaster.Epochs, dict[str, np.ndarray] | None]:
    """The daily series, the epochs and the blocks (``blocks`` if given) of ``db``: all of
    them, or what was known at the end of ``as_of`` (see :func:`backtest_difficulty`)."""
    from minerwatch.analyses.difficulty import _block_difficulty, _contiguous_blocks
    from minerwatch.chaindays import held_days
    from minerwatch.frames import build_daily_frame, check_as_of, parse_as_of

    table = db.read_epochs()
    day = None if as_of is None else check_as_of(db, parse_as_of(as_of))
    cut = {} if day is None else {"max_time": int(day_end_s(np.array([day]))[0]) - 1}
    daily = None
    known = -1  # the highest height known at the end of the day
    if held_days(db) is not None:
        frame = build_daily_frame(db, day)
        daily = forecaster.DailySeries.from_frame(frame)
        known = int(frame.end_height[-1])
    raw = _contiguous_blocks(db, **cut) if blocks is None else None  # one run of heights
    if raw is not None:
        known = max(known, int(raw["height"][-1]))
    if day is not None:  # an epoch is known once it has begun
        begun = np.asarray(table["start_height"], np.int64) <= known
        table = {k: np.asarray(v)[begun] for k, v in table.items()}
    epochs = forecaster.Epochs.from_store(table)
    if raw is not None:
        blocks = {
            "height": np.asarray(raw["height"], np.int64),
            "time": np.asarray(raw["time"], np.int64),
            "difficulty": _block_difficulty(raw, epochs),
        }
    return daily, epochs, blocks


# =========================================================================================
# Walk-forward evaluation
# =========================================================================================

#: Progress levels of the walk-forward run, percent of the epoch.
WF_LEVELS_PCT = (1, 5, 10, 25, 50, 75, 90, 99)
#: Epochs scored: those starting on or after this day (earlier ones only train).
WF_SCORED_FROM = "2014-01-01"
#: The forecasters scored, in table order (see :mod:`minerwatch.models.walk_forward`).
WF_MODELS = ("ours", "recalibrated", "combined", "adaptive", "baseline")
#: Seed and block length (epochs) of the bootstrap intervals on the ratios.
WF_BOOTSTRAP_SEED = 11
WF_BOOTSTRAP_BLOCK_EPOCHS = 4


@dataclass(frozen=True)
class WalkForwardRow:
    """Walk-forward scores of one forecaster on one group of forecasts (means over them).

    ``level_pct`` None: every level of the group. ``year``: the epochs' start year (None:
    every year from :data:`WF_SCORED_FROM`). Change in percentage points, date in hours
    (from the forecast). ``interval_score_*``: Gneiting & Raftery's, alpha = 0.1; ``crps_*``
    from 100 quantiles; coverage of the 90% interval, percent. Ratios: this forecaster's
    mean / the baseline's on the same forecasts, with the moving-block bootstrap 90%
    interval over epochs (``_low``, ``_high``) for the MAE ratios.
    """

    data: str
    model: str
    level_pct: int | None
    year: int | None
    forecasts: int
    progress_pct: float
    forecasts_dated: int
    mae_change_pp: float
    mae_date_h: float
    interval_score_change_pp: float
    interval_score_date_h: float
    crps_change_pp: float
    crps_date_h: float
    coverage_change_pct: float
    coverage_date_pct: float
    ratio_change: float
    ratio_change_low: float
    ratio_change_high: float
    ratio_date: float
    ratio_date_low: float
    ratio_date_high: float
    ratio_interval_score_change: float
    ratio_crps_change: float


@dataclass(frozen=True, kw_only=True)
class WalkForwardBacktest(Jsonable, Tabular):
    """Walk-forward result: ``rows`` per data kind, level and forecaster (all years), and
    ``years`` per data kind, year, level (and every level) and forecaster; the PIT
    histogram of the change (10 bins, counts) per data kind and forecaster; the forecasts'
    arrays (``forecasts``, left out of the JSON)."""

    TABLE = "rows"

    method: str = forecaster.METHOD
    baseline: str = forecaster.BASELINE_METHOD
    scored_from: str = WF_SCORED_FROM
    rows: tuple[WalkForwardRow, ...]
    years: tuple[WalkForwardRow, ...]
    pit_histogram: tuple[dict[str, Any], ...]
    forecasts: dict[str, np.ndarray] = field(metadata=NOT_JSON)
    notes: tuple[str, ...] = field(default_factory=tuple)

    def write_csv(self, path: str | Path) -> Path:
        """Save the table (rows, then years) as CSV."""
        return write_csv(self.rows + self.years, path)


def _walk_forward_forecasts(
    sets: list[_Set], candidates: list[list[_Set]]
) -> dict[str, np.ndarray]:
    """Every forecaster's predictive quantiles and scores at every point (arrays);
    ``candidates``: the same points with the adaptive forecaster's other drift windows."""
    from minerwatch.models import walk_forward as wf

    cols: dict[str, list[np.ndarray]] = {}
    for i, (kind, inputs, level, real_change, real_date) in enumerate(sets):
        change_q, date_q = forecaster.adjustment_quantiles(inputs, wf.PROBS)
        now = np.asarray(inputs.now_s, np.float64)
        for c, other in enumerate(candidates, start=1):
            alt_change, alt_date = forecaster.adjustment_quantiles(other[i][1], wf.PROBS)
            cols.setdefault(f"cand{c}_change_q", []).append(alt_change)
            cols.setdefault(f"cand{c}_date_q", []).append((alt_date - now[:, None]) / 3600.0)
        b_change, b_date = forecaster.baseline_adjustment(inputs)
        realised_total = TARGET_TIMESPAN_S / (1.0 + real_change / 100.0)
        known = np.where(np.isfinite(real_date), real_date, inputs.epoch_start_s + realised_total)
        for name, value in (
            ("data", np.full(len(level), kind)),
            ("level_pct", np.asarray(level, np.int64)),
            ("progress_pct", 100.0 * inputs.blocks_in_epoch / _EPOCH),
            ("epoch_start_height", inputs.epoch_start_height),
            ("epoch_start", inputs.epoch_start_s),
            ("now_s", now),
            ("known_s", known),
            ("change_pct", real_change),
            ("date_h", (real_date - now) / 3600.0),
            ("ours_change_q", change_q),
            ("ours_date_q", (date_q - now[:, None]) / 3600.0),
            ("base_change", b_change),
            ("base_date_h", (b_date - now) / 3600.0),
        ):
            cols.setdefault(name, []).append(np.asarray(value))
    fc = {k: np.concatenate(v) for k, v in cols.items()}
    train = fc["data"] == "daily"  # the long record; per-block forecasts learn from it too
    tr = {k: fc[k][train] for k in ("known_s", "level_pct")}
    wf_args = (tr["known_s"], tr["level_pct"], fc["now_s"], fc["level_pct"])
    out: dict[str, np.ndarray] = {k: v for k, v in fc.items() if not k.endswith("_q")}
    n_cand = len(candidates) + 1
    cand_change = [fc["ours_change_q"]] + [fc[f"cand{c}_change_q"] for c in range(1, n_cand)]
    cand_error = np.stack([np.abs(q[:, wf.MEDIAN] - fc["change_pct"]) for q in cand_change], axis=1)
    pick = wf.select_by_recent_error(cand_error[train], *wf_args)
    out["adaptive_drift_window_days"] = np.asarray(wf.DRIFT_WINDOWS_DAYS)[pick]
    rows = np.arange(len(pick))
    for what, real in (("change", fc["change_pct"]), ("date", fc["date_h"])):
        ours_q = fc[f"ours_{what}_q"]
        cands = np.stack([ours_q] + [fc[f"cand{c}_{what}_q"] for c in range(1, n_cand)], axis=0)
        base_point = fc["base_change"] if what == "change" else fc["base_date_h"]
        ours = wf.scores(ours_q, real)
        w = wf.combination_weight(ours["median"][train], base_point[train], real[train], *wf_args)
        out[f"combined_{what}_weight"] = w
        predictive = {
            "ours": ours_q,
            "recalibrated": wf.recalibrated_quantiles(ours_q, ours["pit"][train], *wf_args),
            "combined": ours_q + ((1.0 - w) * (base_point - ours["median"]))[:, None],
            "adaptive": cands[pick, rows],
            "baseline": wf.baseline_quantiles(base_point, (real - base_point)[train], *wf_args),
        }
        for model, q in predictive.items():
            point = base_point if model == "baseline" else None
            for k, v in wf.scores(q, real, point).items():
                out[f"{model}_{what}_{k}"] = v
    return out


def _wf_means(fc: dict[str, np.ndarray], m: np.ndarray, model: str) -> dict[str, Any]:
    def mean(name: str) -> float:
        x = fc[name][m]
        x = x[np.isfinite(x)]
        return float(np.mean(x)) if x.size else float("nan")

    def ratio(name: str) -> float:
        a, b = mean(f"{model}_{name}"), mean(f"baseline_{name}")
        return a / b if b else float("nan")

    def boot(name: str) -> tuple[float, float]:
        order = np.argsort(fc["epoch_start"][m], kind="stable")
        a = fc[f"{model}_{name}"][m][order]
        b = fc[f"baseline_{name}"][m][order]
        if model == "baseline":
            return 1.0, 1.0
        return block_bootstrap_ratio(a, b, block=WF_BOOTSTRAP_BLOCK_EPOCHS, seed=WF_BOOTSTRAP_SEED)

    c_lo, c_hi = boot("change_abs_error")
    d_lo, d_hi = boot("date_abs_error")
    r = 4
    return {
        "forecasts": int(m.sum()),
        "progress_pct": round(mean("progress_pct"), 2),
        "forecasts_dated": int((m & np.isfinite(fc["date_h"])).sum()),
        "mae_change_pp": round(mean(f"{model}_change_abs_error"), r),
        "mae_date_h": round(mean(f"{model}_date_abs_error"), 3),
        "interval_score_change_pp": round(mean(f"{model}_change_interval_score"), r),
        "interval_score_date_h": round(mean(f"{model}_date_interval_score"), 3),
        "crps_change_pp": round(mean(f"{model}_change_crps"), r),
        "crps_date_h": round(mean(f"{model}_date_crps"), 3),
        "coverage_change_pct": round(100.0 * mean(f"{model}_change_covered"), 2),
        "coverage_date_pct": round(100.0 * mean(f"{model}_date_covered"), 2),
        "ratio_change": round(ratio("change_abs_error"), r),
        "ratio_change_low": round(c_lo, r),
        "ratio_change_high": round(c_hi, r),
        "ratio_date": round(ratio("date_abs_error"), r),
        "ratio_date_low": round(d_lo, r),
        "ratio_date_high": round(d_hi, r),
        "ratio_interval_score_change": round(ratio("change_interval_score"), r),
        "ratio_crps_change": round(ratio("change_crps"), r),
    }


def walk_forward_arrays(
    daily: forecaster.DailySeries | None,
    epochs: forecaster.Epochs,
    blocks: dict[str, np.ndarray] | None = None,
    levels: tuple[int, ...] = WF_LEVELS_PCT,
    scored_from: str = WF_SCORED_FROM,
) -> WalkForwardBacktest:
    """The walk-forward evaluation on daily data and, if given, per-block data.

    Every forecast, at every ``level`` of every epoch the data allows, uses only what was
    known at its moment: ours refits its process on the 365 days up to it; the recalibrated
    variant and the baseline's interval learn from the earlier forecasts at the same level
    whose outcome was known strictly before it (expanding window, from the first epoch
    held: the epochs before ``scored_from`` train but are not scored). Per-block forecasts
    learn from the daily ones (the long record). Scores: see :class:`WalkForwardRow`.
    """
    from minerwatch.models.walk_forward import DRIFT_WINDOWS_DAYS

    sets, notes = _forecast_sets(daily, epochs, blocks, levels)
    candidates = [
        _forecast_sets(daily, epochs, blocks, levels, window)[0]
        for window in DRIFT_WINDOWS_DAYS[1:]
    ]
    fc = _walk_forward_forecasts(sets, candidates)
    start_day = fc["epoch_start"].astype(np.int64).astype("datetime64[s]")
    # Scored: from ``scored_from``, where the baseline has its empirical interval (every
    # forecaster on the same forecasts).
    scored = (start_day >= np.datetime64(scored_from)) & np.isfinite(fc["baseline_change_low"])
    year = start_day.astype("datetime64[Y]").astype(np.int64) + 1970
    fc["year"] = year
    fc["scored"] = scored
    rows, years, hist = [], [], []
    for kind in ("daily", "blocks"):
        in_kind = scored & (fc["data"] == kind)
        if not in_kind.any():
            continue

        for level in (*levels, None):
            at_level = in_kind if level is None else in_kind & (fc["level_pct"] == level)
            rows += _wf_rows(fc, at_level, kind, level, None)
        for y in np.unique(year[in_kind]).tolist():
            for level in (*levels, None):
                m = in_kind & (year == y)
                if level is not None:
                    m &= fc["level_pct"] == level
                years += _wf_rows(fc, m, kind, level, int(y))
        for model in WF_MODELS:
            p = fc[f"{model}_change_pit"][in_kind]
            counts, _ = np.histogram(p[np.isfinite(p)], bins=10, range=(0.0, 1.0))
            hist.append({"data": kind, "model": model, "counts": counts.tolist()})
    return WalkForwardBacktest(
        rows=tuple(rows),
        years=tuple(years),
        pit_histogram=tuple(hist),
        forecasts=fc,
        notes=tuple(notes),
    )


def _wf_rows(
    fc: dict[str, np.ndarray], m: np.ndarray, kind: str, level: int | None, year: int | None
) -> list[WalkForwardRow]:
    """One row per model over the forecasts ``m`` (none when ``m`` is empty)."""
    return [
        WalkForwardRow(
            data=kind, model=model, level_pct=level, year=year, **_wf_means(fc, m, model)
        )
        for model in (WF_MODELS if m.any() else ())
    ]


def walk_forward_backtest(
    db: Store | str | Path | None = None,
    *,
    levels: tuple[int, ...] = WF_LEVELS_PCT,
    blocks: dict[str, np.ndarray] | None = None,
) -> WalkForwardBacktest:
    """``backtest difficulty --walk-forward``: :func:`walk_forward_arrays` on the database
    ``db`` at the progress ``levels`` (percent of the epoch, default
    :data:`WF_LEVELS_PCT`); ``db`` and ``blocks`` as for :func:`backtest_difficulty`."""
    if not isinstance(db, Store):
        from minerwatch.store import open_store

        with open_store(Path(db) if db is not None else None, read_only=True) as store:
            return walk_forward_backtest(store, levels=levels, blocks=blocks)
    daily, epochs, blocks = _load(db, blocks)
    return walk_forward_arrays(daily, epochs, blocks, levels)
