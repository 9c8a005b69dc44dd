"""The figures alert rules read, as one series per name over every day up to ``as_of``.

Names are the keys of ``minerwatch status --json`` (dotted for nested objects: the
status snapshot of each day is the series' value that day), plus ``tip`` (unix seconds
of the newest data: the end of the day for daily data, the newest block's time where
blocks are held) and, with a fleet file, ``fleet.*`` (its history's figures that day).
Every series is computed from the daily frame cut at ``as_of`` by trailing or expanding
windows, so a day's value uses nothing after that day.
"""

from __future__ import annotations

import difflib
import functools
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from minerwatch.analyses.cost import DEFAULT_MODEL, production_cost
from minerwatch.analyses.day import Day
from minerwatch.chaindays import partial_block_day
from minerwatch.days import day_end_s
from minerwatch.metrics import intervals as iv
from minerwatch.metrics import signals as sg
from minerwatch.metrics.price_index import price_index, price_now_rows
from minerwatch.models import difficulty as forecaster
from minerwatch.models.alerts import EvaluationProblem
from minerwatch.sources.exchanges import HOUR_S
from minerwatch.sources.fleet_file import Fleet
from minerwatch.units import HS_PER_EHS, SAT_PER_BTC, SECONDS_PER_DAY

HASHRATE_WINDOWS = ("1d", "7d", "30d", "60d")


class Figures:
    """Lazily built series over the frame's days (``day``); :meth:`get` by name."""

    def __init__(
        self,
        day: Day,
        fleet: Fleet | None = None,
        first_day: str | None = None,
        live: bool = False,
    ) -> None:
        self.context = day
        #: live: the last day also holds the blocks stamped after it (the day in progress,
        #: not yet whole), for block-level rules on the newest data
        self.live = live
        #: the fleet's figures start here (its history needs a close every day)
        self.first_row = (
            0
            if first_day is None
            else int(np.searchsorted(day.frame.day, np.datetime64(first_day, "D")))
        )
        self.frame = day.frame
        self.metrics = day.metrics
        self.fleet = fleet
        self.day = self.frame.day
        self._cache: dict[str, np.ndarray] = {}
        f, m = self.frame, self.metrics
        price = f.price_usd
        self._simple: dict[str, Callable[[], np.ndarray]] = {
            "price_usd": lambda: price,
            "price_ath_usd": lambda: m.price_ath_usd,
            "price_drawdown_pct": lambda: m.price_drawdown_pct,
            "price_change_7d_pct": lambda: m.price_change_7d_pct,
            "price_change_30d_pct": lambda: m.price_change_30d_pct,
            "height": self._height,
            "blocks_1d": lambda: f.blocks.astype(np.float64),
            "difficulty": lambda: f.difficulty_last,
            "hashrate_ath_ehs": lambda: m.hashrate_ath_hs / HS_PER_EHS,
            "hashrate_drawdown_pct": lambda: m.hashrate_drawdown_pct,
            "block_interval_min_7d": lambda: m.block_interval_min_7d,
            "revenue_usd_1d": lambda: m.revenue_usd,
            "revenue_btc_1d": lambda: m.revenue_btc,
            "subsidy_btc_1d": lambda: f.issuance_sat / SAT_PER_BTC,
            "fees_btc_1d": lambda: f.fees_sat / SAT_PER_BTC,
            "fees_share_pct_7d": lambda: m.fees_share_pct_7d,
            "hashprice_usd_ph_day": lambda: m.hashprice_usd_ph_day,
            "hashprice_btc_ph_day": lambda: m.hashprice_btc_ph_day,
            "hashprice_realised_usd_ph_day": lambda: m.hashprice_realised_usd_ph_day,
            "puell_multiple": lambda: m.puell_multiple,
            "production_cost_usd": lambda: self._cost(DEFAULT_MODEL),
            "price_to_cost_pct": lambda: 100.0 * (price / self._cost(DEFAULT_MODEL) - 1.0),
            "hash_ribbons.state": self._ribbon_state,
            "hash_ribbons.sma30_ehs": lambda: self._ribbons().sma_short_hs / HS_PER_EHS,
            "hash_ribbons.sma60_ehs": lambda: self._ribbons().sma_long_hs / HS_PER_EHS,
            "next_adjustment.change_pct": lambda: self._adjustment()[1],
            "next_adjustment.change_pct_low": lambda: self._adjustment()[0],
            "next_adjustment.change_pct_high": lambda: self._adjustment()[2],
            "next_adjustment.blocks_remaining": lambda: self._adjustment()[3],
            "next_adjustment.height": lambda: self._adjustment()[5],
            "next_adjustment.difficulty": lambda: self._next_difficulty(1),
            "next_adjustment.difficulty_low": lambda: self._next_difficulty(0),
            "next_adjustment.difficulty_high": lambda: self._next_difficulty(2),
            "sustainability_index": lambda: sg.sustainability_index(
                m.revenue_usd,
                f.blocks,
                f.difficulty_mean,
                window_days=sg.SUSTAINABILITY_WINDOW_DAYS,
            ),  # fmt: skip
            "price_index_usd": lambda: self._price_index()[0],
            "price_index_sources": lambda: self._price_index()[1],
            "price_index_spread_pct": lambda: self._price_index()[2],
            "price_now_usd": lambda: self._price_now()[0],
            "price_now_time": lambda: self._price_now()[1],
            "price_now_source": lambda: self._price_now()[2],
            "tip": self._tip,
            "last_block_interval_min": lambda: self._blocks()["last_interval_min"],
            "slowest_block_min_1d": lambda: self._blocks()["slowest_min"],
            "reorg_depth_1d": lambda: self._blocks()["reorg_depth"],
        }
        for w in HASHRATE_WINDOWS:
            days = int(w[:-1])
            self._simple[f"hashrate_ehs.{w}"] = functools.partial(self._hashrate_ehs, days)
        for key in (f"{w}.{s}" for w in iv.WINDOW_KEYS for s in iv.STAT_KEYS):
            self._simple[f"block_intervals.{key}"] = functools.partial(self._intervals, key)
        self._simple["block_intervals.source"] = lambda: np.where(
            self._interval_series()["held"], "blocks", "daily counts"
        ).astype(object)

    def _hashrate_ehs(self, days: int) -> np.ndarray:
        return np.asarray(self.metrics.hashrate_hs[days] / HS_PER_EHS)

    def names(self) -> list[str]:
        """Every name :meth:`get` knows (``production_cost_models.*`` and ``fleet.*``
        included)."""
        extra = [f"production_cost_models.{m}" for m in self._cost_models()]
        if self.fleet is not None:
            extra += [f"fleet.{k}" for k in FLEET_FIGURES]
        return sorted([*self._simple, *extra])

    def get(self, name: str, column: int | None = None) -> np.ndarray:
        if name not in self._cache:
            self._cache[name] = self._build(name, column)
        return self._cache[name]

    def _build(self, name: str, column: int | None) -> np.ndarray:
        if name in self._simple:
            with np.errstate(all="ignore"):
                return np.asarray(self._simple[name]())
        if name.startswith("production_cost_models."):
            model = name.split(".", 1)[1]
            if model in self._cost_models():
                return self._cost(model)
        if name.startswith("fleet.") and self.fleet is not None:
            key = name.split(".", 1)[1]
            if key in FLEET_FIGURES:
                return self._fleet()[key]
        if name.startswith("fleet.") and self.fleet is None and name[6:] in FLEET_FIGURES:
            raise EvaluationProblem(
                f"{name} needs a fleet file (--fleet FILE)", column, needs="fleet"
            )
        near = difflib.get_close_matches(name, self.names(), n=5, cutoff=0.5)
        hint = f"; close: {', '.join(near)}" if near else ""
        raise EvaluationProblem(f"unknown figure {name!r}{hint}", column)

    def _cost_models(self) -> list[str]:
        return sorted(self._cost_series())

    def _cost_series(self) -> dict[str, np.ndarray]:
        if "_costs" not in self._cache:
            self._cache["_costs"] = production_cost(self.context).series.cost_usd  # type: ignore[assignment]
        return self._cache["_costs"]  # type: ignore[return-value]

    def _cost(self, model: str) -> np.ndarray:
        return np.asarray(self._cost_series()[model], np.float64)

    def _ribbons(self) -> sg.HashRibbons:
        if "_ribbons" not in self._cache:
            self._cache["_ribbons"] = sg.hash_ribbons(  # type: ignore[assignment]
                self.metrics.hashrate_hs[1], self.frame.price_usd
            )
        return self._cache["_ribbons"]  # type: ignore[return-value]

    def _ribbon_state(self) -> np.ndarray:
        codes = self._ribbons().state
        names = {code: text for code, text in sg.STATE_NAMES.items()}
        return np.array([names.get(int(c)) for c in codes], dtype=object)

    def _adjustment(self) -> tuple[np.ndarray, ...]:
        """Per day, as ``status`` gives its ``next_adjustment``: the forecast's 90% low,
        median and high change (percent), the blocks left, the chain's height, the next
        epoch's first height and the difficulty the change applies to. From the day's last
        block where the day's outlook reads blocks (:meth:`_interval_series`
        ``tip_height``), else from the daily data at the day's end."""
        if "_adjust" not in self._cache:
            n = len(self.frame)
            out = [np.full(n, np.nan) for _ in range(6)] + [self.frame.difficulty_last.copy()]
            out[4] = np.where(self.frame.end_height >= 0, self.frame.end_height, np.nan)
            epochs_table = self.context.epochs
            if epochs_table is not None and self.frame.end_height[0] >= 0:
                epochs = forecaster.Epochs.from_store(epochs_table)
                ctx = forecaster.daily_context(
                    forecaster.DailySeries.from_frame(self.frame), epochs
                )
                inputs = forecaster.daily_inputs(ctx, np.arange(n), epochs)
                with np.errstate(all="ignore"):
                    q, _ = forecaster.adjustment_quantiles(inputs, [0.05, 0.5, 0.95])
                known = np.isfinite(q).all(axis=1)
                for k in range(3):
                    out[k] = np.where(known, q[:, k], np.nan)
                left = inputs.epoch_start_height + forecaster.EPOCH - inputs.height
                out[3] = np.where(known, left, np.nan).astype(np.float64)
                out[4] = np.asarray(inputs.height, np.float64)  # the chain's, as status's
                out[5] = np.where(known, inputs.epoch_start_height + forecaster.EPOCH, np.nan)
                self._block_adjustment(out, ctx, epochs)
            self._cache["_adjust"] = tuple(out)  # type: ignore[assignment]
        return self._cache["_adjust"]  # type: ignore[return-value]

    def _block_adjustment(
        self, out: list[np.ndarray], ctx: forecaster.DailyContext, epochs: forecaster.Epochs
    ) -> None:
        """Overwrite ``out``'s rows of the days whose outlook reads blocks with the forecast
        at each day's last block (``block_inputs`` over the run of consecutive heights
        held, with the daily history for the process fit, as the backtest reads them)."""
        from minerwatch.analyses.difficulty import _block_difficulty, _contiguous_blocks

        tips = self._block_series()["tip_height"]
        rows = np.flatnonzero(np.isfinite(tips))
        store = self.context.store
        if not len(rows) or store is None:
            return
        cut = int(day_end_s(self.day[-1:])[0]) - 1
        raw = _contiguous_blocks(store, max_time=cut)
        if raw is None:
            return
        h = np.asarray(raw["height"], np.int64)
        tip = tips[rows].astype(np.int64)
        rows = rows[(tip >= h[0]) & (tip <= h[-1])]
        at = np.asarray(tips[rows], np.int64) - h[0]
        if not len(at):
            return
        d = _block_difficulty(raw, epochs)
        inputs = forecaster.block_inputs(h, raw["time"], d, at, daily=ctx, epochs=epochs)
        with np.errstate(all="ignore"):
            f = forecaster.forecast_adjustment(inputs)
        known = np.isfinite(f.change_pct)
        for k, change in enumerate((f.change_pct_low, f.change_pct, f.change_pct_high)):
            out[k][rows] = np.where(known, change, np.nan)
        out[3][rows] = np.where(known, forecaster.EPOCH - inputs.blocks_in_epoch, np.nan)
        out[4][rows] = inputs.height
        out[5][rows] = np.where(known, inputs.epoch_start_height + forecaster.EPOCH, np.nan)
        out[6][rows] = inputs.difficulty

    def _next_difficulty(self, bound: int) -> np.ndarray:
        """The difficulty the next adjustment would set at the forecast's low (0), median (1)
        or high (2) change: ``D (1 + change / 100)``, ``D`` the difficulty at the day's last
        block (:meth:`_adjustment`), as ``status`` gives ``next_adjustment.difficulty``."""
        adjust = self._adjustment()
        return forecaster.difficulty_after(adjust[6], adjust[bound])

    def _tip(self) -> np.ndarray:
        """The newest data of each day: its last block's time where blocks are held, else
        the day's end (daily data is whole at the end of its day)."""
        end_s = day_end_s(self.day).astype(np.float64)
        last = self._blocks()["last_time"]
        return np.where(np.isfinite(last), last, end_s)

    def _blocks(self) -> dict[str, np.ndarray]:
        """Per day, from the stored blocks stamped that day (NaN on days without them):
        ``last_time`` (the day's newest block), ``last_interval_min`` (minutes from the block
        before it to it), ``slowest_min`` (the longest gap before any of the day's blocks),
        ``reorg_depth`` (the deepest reorg whose new tip is one of the day's blocks; 0 on
        days with blocks and none)."""
        if "_blocks" not in self._cache:
            n = len(self.day)
            out = {
                k: np.full(n, np.nan)
                for k in ("last_time", "last_interval_min", "slowest_min", "reorg_depth")
            }
            store = self.context.store
            end = int(day_end_s(self.day[-1:])[0]) - 1
            cut = None if self.live else end
            raw = store.read_blocks(max_time=cut) if store is not None else None
            if store is not None and raw is not None and len(raw["height"]) >= 2:
                t = raw["time"].astype(np.float64)
                gap_min = np.r_[np.nan, np.diff(t)] / 60.0
                block_day = (raw["time"] // SECONDS_PER_DAY).astype("datetime64[D]")
                rows = np.searchsorted(self.day, block_day)
                if self.live:  # the day in progress counts as the last day's
                    rows = np.minimum(rows, n - 1)
                    block_day = np.minimum(block_day, self.day[-1])
                inside = (rows < n) & (self.day[np.minimum(rows, n - 1)] == block_day)
                rows, t, gap_min = rows[inside], t[inside], gap_min[inside]
                heights = raw["height"][inside]
                order = np.argsort(rows, kind="stable")  # by day, then height
                rows, t, gap_min, heights = rows[order], t[order], gap_min[order], heights[order]
                firsts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
                lasts = np.r_[firsts[1:] - 1, len(rows) - 1]
                day_rows = rows[firsts]
                out["last_time"][day_rows] = t[lasts]
                out["last_interval_min"][day_rows] = gap_min[lasts]
                with np.errstate(invalid="ignore"):
                    out["slowest_min"][day_rows] = np.fmax.reduceat(gap_min, firsts)
                depth = np.zeros(n)
                for reorg in store.reorgs():  # a handful in a chain's life
                    hit = np.flatnonzero(heights == reorg.new_tip_height)
                    if len(hit):
                        depth[rows[hit[0]]] = max(depth[rows[hit[0]]], reorg.depth)
                out["reorg_depth"][day_rows] = depth[day_rows]
            self._cache["_blocks"] = out  # type: ignore[assignment]
        return self._cache["_blocks"]  # type: ignore[return-value]

    def _price_index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per day, the exchanges' index as ``status`` gives it: the median USD close, the
        number of sources (0 without any) and their spread in percent
        (:func:`~minerwatch.metrics.price_index.price_index`)."""
        if "_index" not in self._cache:
            n = len(self.day)
            out = (np.full(n, np.nan), np.zeros(n), np.full(n, np.nan))
            store = self.context.store
            if store is not None:
                prices = store.read_prices(self.day[-1])
                index = price_index(prices["day"], prices["source"], prices["close_usd"])
                at = np.searchsorted(index.day, self.day)
                hit = at < len(index.day)
                hit[hit] = index.day[at[hit]] == self.day[hit]
                j = np.minimum(at, max(len(index.day) - 1, 0))
                if len(index.day):
                    out = (
                        np.where(hit, index.index_usd[j], np.nan),
                        np.where(hit, index.sources[j], 0).astype(np.float64),
                        np.where(hit, 100.0 * index.spread[j], np.nan),
                    )
            self._cache["_index"] = out  # type: ignore[assignment]
        return self._cache["_index"]  # type: ignore[return-value]

    def _price_now(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per day, the latest complete hourly close by the day's end (live: by now, on the
        last day): the close, its close time (unix seconds) and its source, with the quote
        when not USD (``status`` gives it for the last day held only)."""
        if "_now" not in self._cache:
            n = len(self.day)
            at = day_end_s(self.day).astype(np.int64)
            if self.live and n:
                at[-1] = int(time.time())
            close, when = np.full(n, np.nan), np.full(n, np.nan)
            source = np.full(n, None, dtype=object)
            store = self.context.store
            hourly = store.read_prices_hourly(until_s=int(at[-1])) if store is not None else None
            if hourly is not None and len(hourly["hour_s"]):
                row = price_now_rows(hourly["hour_s"], hourly["source"], hourly["quote"], at)
                got = row >= 0
                r = row[got]
                close[got] = hourly["close"][r]
                when[got] = hourly["hour_s"][r] + HOUR_S
                quote = hourly["quote"][r].astype(str)
                names = hourly["source"][r].astype(str)
                source[got] = np.where(
                    quote == "USD",
                    names,
                    np.char.add(names, np.char.add(" (", np.char.add(quote, ")"))),
                )
            self._cache["_now"] = (close, when, source)  # type: ignore[assignment]
        return self._cache["_now"]  # type: ignore[return-value]

    def _height(self) -> np.ndarray:
        """The chain's height at each day's end, as ``status`` gives it: the highest block
        stamped before it where the day's difficulty outlook reads blocks, else the daily
        counts' (:meth:`_adjustment`)."""
        tip = self._block_series()["tip_height"]
        return np.where(np.isfinite(tip), tip, self._adjustment()[4])

    def _intervals(self, key: str) -> np.ndarray:
        return self._interval_series()[key]

    def _block_series(self) -> dict[str, np.ndarray]:
        """:func:`~minerwatch.metrics.intervals.block_interval_series` of the blocks stamped
        before the last day's end."""
        if "_block_series" not in self._cache:
            end_s = day_end_s(self.day)
            store = self.context.store
            raw = store.read_blocks(max_time=int(end_s[-1]) - 1) if store is not None else None
            empty = np.zeros(0, np.int64)
            series = iv.block_interval_series(
                raw["height"] if raw is not None else empty,
                raw["time"] if raw is not None else empty,
                end_s,
            )
            # the day the blocks end inside, where its daily row is known: status reads the
            # row (:func:`~minerwatch.chaindays.partial_block_day`)
            partial = partial_block_day(store) if store is not None else None
            if partial is not None:
                row = np.flatnonzero(self.day == partial)
                if len(row):
                    series = {k: v.copy() for k, v in series.items()}
                    series["held"][row] = False
                    series["tip_height"][row] = np.nan
            self._cache["_block_series"] = series  # type: ignore[assignment]
        return self._cache["_block_series"]  # type: ignore[return-value]

    def _interval_series(self) -> dict[str, np.ndarray]:
        """``status``'s ``block_intervals`` of every day: from the blocks stamped before the
        day's end where they cover it, else from the daily counts (with the chain's height,
        :meth:`_height`, for the epoch's)."""
        if "_intervals" not in self._cache:
            held = self._block_series()
            epochs = self.context.epochs
            empty = np.zeros(0, np.int64)
            height = self._height()
            daily = iv.daily_interval_series(
                self.frame.blocks,
                np.where(np.isfinite(height), height, self.frame.end_height).astype(np.int64),
                day_end_s(self.day),
                epochs["start_height"] if epochs is not None else empty,
                epochs["start_time"] if epochs is not None else empty,
            )
            out = {k: np.where(held["held"], held[k], daily[k]) for k in daily}
            out["held"] = held["held"]
            self._cache["_intervals"] = out  # type: ignore[assignment]
        return self._cache["_intervals"]  # type: ignore[return-value]

    def _fleet(self) -> dict[str, np.ndarray]:
        if "_fleet" not in self._cache:
            from minerwatch.analyses.fleet_history import fleet_history

            priced = np.flatnonzero(np.isfinite(self.frame.price_usd))
            out = {k: np.full(len(self.day), np.nan) for k in FLEET_FIGURES}
            if len(priced):
                first = max(int(priced[0]), self.first_row)
                h = fleet_history(self.context, self.fleet, str(self.day[first]), str(self.day[-1]))  # type: ignore[arg-type]
                for k, src in FLEET_FIGURES.items():
                    out[k][first:] = [float(r[src]) for r in h.days]  # type: ignore[arg-type]
            self._cache["_fleet"] = out  # type: ignore[assignment]
        return self._cache["_fleet"]  # type: ignore[return-value]


#: fleet.<name> -> the history's per-day field
FLEET_FIGURES = {
    "margin_usd": "margin_usd",
    "revenue_usd": "revenue_usd",
    "power_cost_usd": "power_cost_usd",
    "lots_above_shutdown": "lots_above_shutdown",
}


def figures_for(
    day: Day,
    fleet: Fleet | str | Path | None = None,
    first_day: str | None = None,
    live: bool = False,
) -> Figures:
    """The figures of ``day`` (its frame's days), with a fleet's (from ``first_day``) when
    given; ``live``: the newest blocks count on the last day (see :class:`Figures`)."""
    if fleet is not None and not isinstance(fleet, Fleet):
        from minerwatch.sources.fleet_file import read_fleet

        fleet = read_fleet(fleet)
    return Figures(day, fleet, first_day, live)
