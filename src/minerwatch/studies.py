"""Studies over the daily history: every episode of price below production cost.

:func:`below_cost_episodes` is a pure function over daily arrays (vectorised run detection:
``np.diff`` of the below-cost mask, no loop over days); :func:`cost_episodes` runs it on a
model of :func:`~minerwatch.production.production_cost`. See ``docs/cost.md``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .frames import DailyFrame
from .production import DEFAULT_MODEL, check_model, frame_up_to, production_cost
from .store import Store

# Bounces above cost shorter than this many days do not end an episode. A week: the
# project's shortest smoothing window (7-day hashrate, fee share), and half a difficulty
# epoch, so the cost side (difficulty) has had no chance to respond to a shorter bounce; a
# close that wanders around the cost line for a few days is one episode, not several.
MERGE_GAP_DAYS = 7
# Episodes shorter than this are dropped (1: keep every day below cost).
MIN_EPISODE_DAYS = 1
FORWARD_HORIZONS_DAYS = (90, 180, 365)

ENDED_PRICE = "price recovered above cost"
ENDED_COST = "cost fell to price"
ENDED_ONGOING = "ongoing"


@dataclass(frozen=True)
class Episode:
    """A stretch of days with the close below the production cost (gaps above cost shorter
    than the merge gap included).

    ``start``, ``end``: first and last day below cost; ``days``: calendar days from start to
    end inclusive; ``days_below``: days of those with the close below cost;
    ``deepest_discount_pct``: the lowest ``100 * (price / cost - 1)``, on ``deepest_date``;
    prices and costs in USD at start and end; ``exit_date``: first day above cost after the
    episode (None if ongoing); ``ended``: how the gap closed (see
    :func:`below_cost_episodes`), with ``exit_price_change_pct`` and
    ``exit_cost_change_pct`` the changes of price and cost from the deepest day to the exit
    (percent, negative = fell); ``forward_return_pct``:
    horizon (days) -> price change from the start's close, None beyond ``as_of``.
    """

    start: str
    end: str
    days: int
    days_below: int
    deepest_discount_pct: float | None
    deepest_date: str
    price_start_usd: float | None
    cost_start_usd: float | None
    price_end_usd: float | None
    cost_end_usd: float | None
    exit_date: str | None
    ended: str
    exit_price_change_pct: float | None
    exit_cost_change_pct: float | None
    forward_return_pct: dict[str, float | None]


def _num(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _check_days(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InputError(f"{name} must be a whole number of days >= {minimum}, got {value!r}")
    return int(value)


def below_cost_episodes(
    day: np.ndarray,
    price_usd: np.ndarray,
    cost_usd: np.ndarray,
    *,
    merge_gap_days: int = MERGE_GAP_DAYS,
    min_days: int = MIN_EPISODE_DAYS,
    horizons_days: tuple[int, ...] = FORWARD_HORIZONS_DAYS,
) -> list[Episode]:
    """Every episode in which the daily close stayed below the production cost.

    A day is below cost when ``price < cost`` (a day missing either is not). Runs of such
    days are found with ``np.diff`` on the mask; runs separated by fewer than
    ``merge_gap_days`` days at or above cost are merged; episodes shorter than ``min_days``
    (calendar days, start to end) are dropped.

    How an episode ended: between its deepest day ``k`` and the exit day ``x`` (the first
    day back at or above cost) the gap ``ln(cost / price)`` closed by
    ``ln(P_x / P_k)`` (price rising) plus ``ln(C_k / C_x)`` (cost falling); whichever
    part is larger names the ending: "price recovered above cost" or "cost fell to price".
    An episode still running on the last day is "ongoing".

    Parameters
    ----------
    day : array of datetime64[D]
        Consecutive days, ascending; the last one is ``as_of``.
    price_usd : array of float
        Daily close, USD.
    cost_usd : array of float
        Production cost, USD per BTC.
    merge_gap_days : int, default 7
        Gaps above cost shorter than this are bridged (0: never merge).
    min_days : int, default 1
        Shortest episode kept, days.
    horizons_days : tuple of int, default (90, 180, 365)
        Forward price returns reported from each episode's start; None where the horizon
        lies after the last day (no look-ahead).

    Returns
    -------
    list of Episode
        In time order.
    """
    merge = _check_days(merge_gap_days, "merge_gap_days", 0)
    min_len = _check_days(min_days, "min_days", 1)
    horizons = tuple(_check_days(h, "horizons_days", 1) for h in horizons_days)
    day = np.asarray(day, "datetime64[D]")
    price = np.asarray(price_usd, np.float64)
    cost = np.asarray(cost_usd, np.float64)
    n = len(day)
    if not (len(price) == len(cost) == n):
        raise ValueError("day, price_usd and cost_usd differ in length")
    with np.errstate(invalid="ignore"):
        below = price < cost
    edges = np.diff(np.concatenate([[0], below.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1  # inclusive
    if starts.size == 0:
        return []
    # Merge runs whose gap (days at or above cost between them) is under the merge gap.
    gaps = starts[1:] - ends[:-1] - 1
    keep = gaps >= merge
    starts = starts[np.concatenate([[True], keep])]
    ends = ends[np.concatenate([keep, [True]])]
    length = ends - starts + 1
    sel = length >= min_len
    starts, ends, length = starts[sel], ends[sel], length[sel]
    if starts.size == 0:
        return []

    below_count = np.concatenate([[0], np.cumsum(below)])
    days_below = below_count[ends + 1] - below_count[starts]
    with np.errstate(invalid="ignore", divide="ignore"):
        discount = 100.0 * (price / cost - 1.0)
    # Deepest day of each episode: sort the rows inside episodes by (episode, discount).
    first_of_seg = np.concatenate([[0], np.cumsum(length)[:-1]])
    seg = np.repeat(np.arange(starts.size), length)
    rows = np.repeat(starts, length) + (np.arange(length.sum()) - first_of_seg[seg])
    d = np.where(np.isfinite(discount[rows]), discount[rows], np.inf)
    order = np.lexsort((d, seg))  # by episode, then discount: first of each is the deepest
    deepest = rows[order[first_of_seg]]

    ongoing = ends == n - 1
    exit_row = np.minimum(ends + 1, n - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        price_up = np.log(price[exit_row] / price[deepest])
        cost_down = np.log(cost[deepest] / cost[exit_row])
    by_price = ~(cost_down > price_up)  # ties and missing values: the price side
    ended = np.where(ongoing, ENDED_ONGOING, np.where(by_price, ENDED_PRICE, ENDED_COST))

    forward = {}
    for h in horizons:
        target = starts + h
        inside = target <= n - 1
        with np.errstate(invalid="ignore", divide="ignore"):
            ret = 100.0 * (price[np.minimum(target, n - 1)] / price[starts] - 1.0)
        forward[h] = np.where(inside, ret, np.nan)

    episodes = []
    for i in range(starts.size):  # one object per episode (tens), not per day
        s, e, k, x = int(starts[i]), int(ends[i]), int(deepest[i]), int(exit_row[i])
        done = not ongoing[i]
        episodes.append(
            Episode(
                start=str(day[s]),
                end=str(day[e]),
                days=int(length[i]),
                days_below=int(days_below[i]),
                deepest_discount_pct=_num(discount[k]),
                deepest_date=str(day[k]),
                price_start_usd=_num(price[s]),
                cost_start_usd=_num(cost[s]),
                price_end_usd=_num(price[e]),
                cost_end_usd=_num(cost[e]),
                exit_date=str(day[x]) if done else None,
                ended=str(ended[i]),
                exit_price_change_pct=_num(100 * math.expm1(price_up[i])) if done else None,
                exit_cost_change_pct=_num(100 * math.expm1(-cost_down[i])) if done else None,
                forward_return_pct={f"{h}d": _num(forward[h][i]) for h in horizons},
            )
        )
    return episodes


@dataclass(frozen=True)
class EpisodesReport:
    """Every below-cost episode of one model up to ``as_of``, with the parameters used."""

    as_of: str
    model: str
    merge_gap_days: int
    min_days: int
    horizons_days: tuple[int, ...]
    first_day_with_cost: str | None
    episodes: list[Episode] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict."""
        out = dataclasses.asdict(self)
        out["horizons_days"] = list(self.horizons_days)
        return out


def cost_episodes(
    db_or_frame: DailyFrame | Store | str | Path | None = None,
    as_of: str | np.datetime64 | None = None,
    *,
    model: str = DEFAULT_MODEL,
    merge_gap_days: int = MERGE_GAP_DAYS,
    min_days: int = MIN_EPISODE_DAYS,
    horizons_days: tuple[int, ...] = FORWARD_HORIZONS_DAYS,
    price_source: str = "auto",
    **cost_parameters: Any,
) -> EpisodesReport:
    """Every episode of the close below ``model``'s production cost, from data up to
    ``as_of`` only (default: the last day held).

    ``cost_parameters`` go to :func:`~minerwatch.production.production_cost`
    (``electricity_usd_kwh``, ``electricity_share``, ...). Raises :class:`InputError` for a
    bad parameter (named in the message).
    """
    check_model(model)
    _check_days(merge_gap_days, "merge_gap_days", 0)
    _check_days(min_days, "min_days", 1)
    frame = frame_up_to(db_or_frame, as_of, price_source=price_source)
    pc = production_cost(frame, model=model, **cost_parameters)
    cost = pc.series.cost_usd[model]
    has = np.flatnonzero(np.isfinite(cost))
    return EpisodesReport(
        as_of=pc.as_of,
        model=model,
        merge_gap_days=int(merge_gap_days),
        min_days=int(min_days),
        horizons_days=tuple(int(h) for h in horizons_days),
        first_day_with_cost=str(frame.day[has[0]]) if has.size else None,
        episodes=below_cost_episodes(
            frame.day,
            frame.price_usd,
            cost,
            merge_gap_days=merge_gap_days,
            min_days=min_days,
            horizons_days=horizons_days,
        ),
    )
