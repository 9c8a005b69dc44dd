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
from collections.abc import Callable
from pathlib import Path

import numpy as np

from minerwatch.analyses.cost import DEFAULT_MODEL, production_cost
from minerwatch.analyses.day import Day
from minerwatch.days import day_end_s
from minerwatch.metrics import signals as sg
from minerwatch.models import difficulty as forecaster
from minerwatch.models.alerts import EvaluationProblem
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
            "height": lambda: self._adjustment()[4],
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
            "tip": self._tip,
            "last_block_interval_min": lambda: self._blocks()["last_interval_min"],
            "slowest_block_min_1d": lambda: self._blocks()["slowest_min"],
            "reorg_depth_1d": lambda: self._blocks()["reorg_depth"],
        }
        for w in HASHRATE_WINDOWS:
            days = int(w[:-1])
            self._simple[f"hashrate_ehs.{w}"] = functools.partial(self._hashrate_ehs, days)

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
        """Per day: the forecast's 90% low, median and high change (percent), the blocks
        left, the chain's height and the next epoch's first height, from the daily data at
        the day's end."""
        if "_adjust" not in self._cache:
            n = len(self.frame)
            out = tuple(np.full(n, np.nan) for _ in range(4)) + (
                np.where(self.frame.end_height >= 0, self.frame.end_height, np.nan).astype(float),
                np.full(n, np.nan),
            )
            epochs_table = self.context.epochs
            if epochs_table is not None and self.frame.end_height[0] >= 0:
                series = forecaster.DailySeries.from_frame(self.frame)
                epochs = forecaster.Epochs.from_store(epochs_table)
                ctx = forecaster.daily_context(series, epochs)
                inputs = forecaster.daily_inputs(ctx, np.arange(n), epochs)
                with np.errstate(all="ignore"):
                    q, _ = forecaster.adjustment_quantiles(inputs, [0.05, 0.5, 0.95])
                known = np.isfinite(q).all(axis=1)
                left = inputs.epoch_start_height + forecaster.EPOCH - inputs.height
                out = (
                    np.where(known, q[:, 0], np.nan),
                    np.where(known, q[:, 1], np.nan),
                    np.where(known, q[:, 2], np.nan),
                    np.where(known, left, np.nan).astype(np.float64),
                    np.asarray(inputs.height, np.float64),  # the chain's, as status reports it
                    np.where(known, inputs.epoch_start_height + forecaster.EPOCH, np.nan),
                )
            self._cache["_adjust"] = out  # type: ignore[assignment]
        return self._cache["_adjust"]  # type: ignore[return-value]

    def _next_difficulty(self, bound: int) -> np.ndarray:
        """The difficulty the next adjustment would set at the forecast's low (0), median (1)
        or high (2) change: ``D (1 + change / 100)``, ``D`` the day's last block's, as
        ``status`` gives ``next_adjustment.difficulty``."""
        return self.frame.difficulty_last * (1.0 + self._adjustment()[bound] / 100.0)

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
