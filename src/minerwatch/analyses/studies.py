"""Studies over the daily history.

- Every episode of price below production cost: :func:`below_cost_episodes` is a pure
  function over daily arrays (vectorised run detection: ``np.diff`` of the below-cost mask,
  no loop over days); :func:`cost_episodes` runs it on a model of
  :func:`~minerwatch.analyses.cost.production_cost`. See ``docs/cost.md``.
- Forward-return studies (:func:`study`): after hash-rate compression
  (:func:`compression_study`), hash-ribbon signals (:func:`ribbon_event_study`) and the
  start of below-cost episodes (:func:`below_cost_return_study`). See ``docs/signals.md``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from minerwatch import params
from minerwatch.analyses.cost import (
    DEFAULT_MODEL,
    check_model,
    hindsight_preset,
    production_cost,
)
from minerwatch.analyses.day import Day, day_of
from minerwatch.days import parse_day
from minerwatch.errors import InputError
from minerwatch.frames import DailyFrame
from minerwatch.metrics import signals as sg
from minerwatch.metrics.hashrate import hashrate_hs as _daily_hashrate_hs
from minerwatch.serialize import Jsonable, write_csv
from minerwatch.serialize import num as _num
from minerwatch.store import Store
from minerwatch.tables import Tabular

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

    ``start``, ``end``: first and last day below cost (so far, while ongoing); ``days``:
    calendar days from start to end inclusive; ``days_below``: days of those with the close
    below cost; ``deepest_discount_pct``: the lowest ``100 * (price / cost - 1)``, on
    ``deepest_date``; prices and costs in USD at start and end; ``exit_date``: first day
    above cost after the episode (None while ongoing); ``ended``: how the gap closed (see
    :func:`below_cost_episodes`), with ``exit_price_change_pct`` and
    ``exit_cost_change_pct`` the changes of price and cost from the deepest day to the exit
    (percent, negative = fell); ``forward_return_pct``: horizon (days) -> price change from
    the start's close, None beyond ``as_of``.

    ``censored_start``: the episode starts on the first day the cost has a value (with a
    price): the close was already below cost when the series began, so the real start is
    unknown and the forward returns are not from an episode's start. ``hindsight``: the cost
    on the episode's first day comes from published constants fitted on later data.
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
    censored_start: bool = False
    hindsight: bool = False


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
    An episode is "ongoing" while it could still go on: when its last day below cost is
    the last day, or when the days back at or above cost since then are fewer than
    ``merge_gap_days``, so that a close below cost tomorrow would still merge into it. Its
    end is not final then, and it has no exit.

    An episode that starts on the first day with both a price and a cost is
    ``censored_start``: the close was already below cost when the series began.

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
    merge = params.MERGE_GAP_DAYS.check(merge_gap_days, "merge_gap_days")
    min_len = params.MIN_EPISODE_DAYS.check(min_days, "min_days")
    horizons = params.check_each(params.HORIZON_DAYS, horizons_days, "horizons_days")
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

    # Days at or above cost after each episode's last day below, up to the last day: while
    # fewer than the merge gap, a later day below cost would still merge into the episode.
    ongoing = (n - 1 - ends) < max(merge, 1)
    exit_row = np.minimum(ends + 1, n - 1)
    valid = np.flatnonzero(np.isfinite(price) & np.isfinite(cost))
    first_valid = int(valid[0]) if valid.size else -1
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
                censored_start=s == first_valid,
            )
        )
    return episodes


@dataclass(frozen=True)
class EpisodesReport(Jsonable, Tabular):
    """Every below-cost episode of one model up to ``as_of``, with the parameters used.

    ``hindsight``: the model is a published preset whose constants were fitted on data up
    to ``fit_end``, and some of the days analysed precede it: their cost (and so the
    episodes, each flagged ``hindsight``) could not have been computed on those days.
    ``fit_end`` is None for the models that read nothing after the day they price.
    """

    TABLE = "episodes"  # the rows of to_pandas() and the like

    as_of: str
    model: str
    merge_gap_days: int
    min_days: int
    horizons_days: tuple[int, ...]
    first_day_with_cost: str | None
    episodes: list[Episode] = field(default_factory=list)
    hindsight: bool = False
    fit_end: str | None = None


def cost_episodes(
    db_or_frame: Day | DailyFrame | Store | str | Path | None = None,
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

    ``cost_parameters`` go to :func:`~minerwatch.analyses.cost.production_cost`
    (``electricity_usd_kwh``, ``electricity_share``, ...). Raises :class:`InputError` for a
    bad parameter (named in the message).
    """
    check_model(model)
    params.MERGE_GAP_DAYS.check(merge_gap_days, "merge_gap_days")
    params.MIN_EPISODE_DAYS.check(min_days, "min_days")
    with day_of(db_or_frame, as_of, price_source=price_source) as day:
        pc = production_cost(day, model=model, **cost_parameters)
    frame = day.frame
    cost = pc.series.cost_usd[model]
    has = np.flatnonzero(np.isfinite(cost))
    first = str(frame.day[has[0]]) if has.size else None
    episodes = below_cost_episodes(
        frame.day,
        frame.price_usd,
        cost,
        merge_gap_days=merge_gap_days,
        min_days=min_days,
        horizons_days=horizons_days,
    )
    preset = hindsight_preset(model)
    fit_end = preset.fit_end if preset is not None else None
    if fit_end is not None:
        episodes = [dataclasses.replace(e, hindsight=e.start < fit_end) for e in episodes]
    return EpisodesReport(
        as_of=pc.as_of,
        model=model,
        merge_gap_days=int(merge_gap_days),
        min_days=int(min_days),
        horizons_days=tuple(int(h) for h in horizons_days),
        first_day_with_cost=first,
        episodes=episodes,
        hindsight=fit_end is not None and first is not None and first < fit_end,
        fit_end=fit_end,
    )


# -- forward-return studies: hash-rate compression, hash ribbons, below-cost episodes -------
#
# Each study is a pure function over daily arrays; :func:`study` runs one on the daily frame up
# to ``as_of``. Forward returns only count where the forward day is on or before the last day
# (``as_of``): nothing later is read. See ``docs/signals.md``.

# VanEck (Dec 2025): the change of the 30-day mean hashrate over 30 and 90 days, and the
# price return 90 and 180 days later, from 2014.
COMPRESSION_MEAN_DAYS = 30
COMPRESSION_LOOKBACKS_DAYS = (30, 90)
COMPRESSION_HORIZONS_DAYS = (90, 180)
COMPRESSION_START = "2014-01-01"
# Ours: the stricter regime, a fall of the 30-day mean of more than 5% over the lookback. A
# round number, set after looking at the data: it is about the 5th percentile of the 30-day
# change over the whole 2014-2025 history (a full-history, hindsight figure: on any earlier
# day the percentile would have been different), and just beyond VanEck's December 2025
# reading of -4% ("the sharpest decline since April 2024"). ``strict_change_pct``
# (``--strict-change``) changes it.
COMPRESSION_STRICT_PCT = -5.0
# Ours: regime runs separated by fewer than this many days are one episode (the same week as
# the below-cost episodes).
STUDY_MERGE_GAP_DAYS = 7
BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 0
BOOTSTRAP_INTERVAL = 0.90
EVENT_HORIZONS_DAYS = (30, 90, 180, 365)
# Ours: the below-cost study keeps episodes of at least a week (shorter ones are a close
# grazing the cost line; docs/cost.md lists them separately).
BELOW_COST_STUDY_MIN_DAYS = 7

REGIME_COMPRESSION = "compression"
REGIME_GROWTH = "growth"
REGIME_STRONG = "strong compression"
EVENT_BUY = "buy signal"
EVENT_CAPITULATION_END = "capitulation end"
EVENT_BASELINE = "every day (baseline)"


def forward_return_pct(price_usd: np.ndarray, horizon_days: int) -> np.ndarray:
    """Price return from each day's close to the close ``horizon_days`` later, percent:
    ``100 * (P[t + h] / P[t] - 1)``; NaN where ``t + h`` is after the last day."""
    h = params.HORIZON_DAYS.check(horizon_days, "horizons_days")
    p = np.asarray(price_usd, np.float64)
    out = np.full(len(p), np.nan)
    if h < len(p):
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:-h] = 100.0 * (p[h:] / p[:-h] - 1.0)
    return out


def count_episodes(mask: np.ndarray, merge_gap_days: int = STUDY_MERGE_GAP_DAYS) -> int:
    """Runs of consecutive True days, runs separated by fewer than ``merge_gap_days`` False
    days counted as one (0: never merge)."""
    edges = np.diff(np.concatenate([[0], np.asarray(mask, np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    if starts.size == 0:
        return 0
    gaps = starts[1:] - ends[:-1] - 1
    return int(1 + np.count_nonzero(gaps >= merge_gap_days))


def block_bootstrap_means(
    values: np.ndarray,
    masks: list[np.ndarray],
    *,
    block_days: int,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> np.ndarray:
    """Moving-block bootstrap of the mean of ``values`` over each mask's rows.

    The rows (a time series, in order) are resampled as ``ceil(n / b)`` blocks of ``b``
    consecutive rows with uniformly drawn starts, the last block cut so the resample has
    ``n`` rows (Kuensch 1989); each resample's mean over a mask is the sum of its blocks'
    masked values over their masked count, from cumulative sums (no loop over rows). The
    same resamples serve every mask. Overlapping forward returns are dependent over about
    their horizon, so ``b`` is set to it by the studies.

    Parameters
    ----------
    values : array of float
        The series (finite where any mask is True).
    masks : list of bool arrays
        Row selections (regimes); one row of output each.
    block_days : int
        Block length ``b``, rows (capped at ``n``).
    samples : int, default 2000
        Bootstrap resamples.
    seed : int, default 0
        Seed of :func:`numpy.random.default_rng`, so results repeat exactly.

    Returns
    -------
    array, shape (len(masks), samples)
        Resampled means (NaN where a resample holds no row of the mask).

    References
    ----------
    H. R. Kuensch (1989), "The jackknife and the bootstrap for general stationary
    observations", Annals of Statistics 17(3); S. N. Lahiri (2003), Resampling Methods for
    Dependent Data, ch. 2.
    """
    x = np.asarray(values, np.float64)
    n = len(x)
    out = np.full((len(masks), samples), np.nan)
    if n == 0:
        return out
    b = min(block_days, n)
    k = -(-n // b)
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n - b + 1, size=(samples, k))
    lengths = np.full(k, b)
    lengths[-1] = n - (k - 1) * b
    stops = starts + lengths
    for i, mask in enumerate(masks):
        mask = np.asarray(mask, bool)
        cy = np.concatenate([[0.0], np.cumsum(np.where(mask, x, 0.0))])
        cn = np.concatenate([[0], np.cumsum(mask)])
        total = (cy[stops] - cy[starts]).sum(axis=1)
        count = (cn[stops] - cn[starts]).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[i] = np.where(count > 0, total / count, np.nan)
    return out


def _interval(means: np.ndarray, level: float) -> tuple[float | None, float | None]:
    means = means[np.isfinite(means)]
    if means.size == 0:
        return None, None
    tail = 100.0 * (1.0 - level) / 2.0
    lo, hi = np.percentile(means, [tail, 100.0 - tail])
    return float(lo), float(hi)


def _stats(returns: np.ndarray) -> tuple[int, float | None, float | None, float | None]:
    """n, share positive (%), mean and median (%) of the finite returns."""
    r = returns[np.isfinite(returns)]
    if r.size == 0:
        return 0, None, None, None
    return (
        int(r.size),
        float(100.0 * np.count_nonzero(r > 0) / r.size),
        float(r.mean()),
        float(np.median(r)),
    )


@dataclass(frozen=True)
class CompressionRow:
    """One regime and horizon of the compression study: ``n_days`` days in the regime with
    a forward return, ``episodes`` distinct runs of them (runs closer than the merge gap
    joined), share of positive returns, mean and median return (percent) and the
    block-bootstrap interval of the mean."""

    lookback_days: int
    regime: str
    condition: str
    horizon_days: int
    n_days: int
    episodes: int
    share_positive_pct: float | None
    mean_return_pct: float | None
    median_return_pct: float | None
    mean_ci_low_pct: float | None
    mean_ci_high_pct: float | None


@dataclass(frozen=True)
class StudySample:
    """The days of one lookback and horizon with a forward return: ``first_day`` and
    ``last_day`` (None without any) and their number, ``days``."""

    first_day: str | None
    last_day: str | None
    days: int


@dataclass(frozen=True)
class CompressionToday:
    """One lookback's change of the mean hashrate on the last day, percent
    (``change_pct``; None without the history), and the regimes it is in."""

    change_pct: float | None
    regimes: list[str]


@dataclass(frozen=True)
class CompressionResult:
    """The compression study's rows, the sample of each lookback and horizon
    (``"30d/90d"`` -> :class:`StudySample`), and each lookback's change of the mean
    hashrate on the last day with its regime (``today``, ``"30d"`` ->
    :class:`CompressionToday`)."""

    rows: list[CompressionRow]
    samples: dict[str, StudySample]
    today: dict[str, CompressionToday]


def compression_study(
    day: np.ndarray,
    hashrate_hs: np.ndarray,
    price_usd: np.ndarray,
    *,
    lookbacks_days: tuple[int, ...] = COMPRESSION_LOOKBACKS_DAYS,
    mean_days: int = COMPRESSION_MEAN_DAYS,
    horizons_days: tuple[int, ...] = COMPRESSION_HORIZONS_DAYS,
    strict_change_pct: float = COMPRESSION_STRICT_PCT,
    start: str | np.datetime64 | None = COMPRESSION_START,
    merge_gap_days: int = STUDY_MERGE_GAP_DAYS,
    block_days: int | None = None,
    bootstrap_samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
    interval: float = BOOTSTRAP_INTERVAL,
) -> CompressionResult:
    """Forward price returns after hash-rate compression (VanEck's study, replicated).

    With ``M`` the ``mean_days``-day mean hashrate, the change over a lookback ``L`` is
    ``c_L[t] = 100 * (M[t] / M[t - L] - 1)``. Each day from ``start`` is in the regime
    *compression* (``c_L < 0``) or *growth* (``c_L >= 0``), and in *strong compression* when
    ``c_L < strict_change_pct``. For each lookback, regime and horizon ``h``: the days with a
    forward return ``100 * (P[t + h] / P[t] - 1)`` (``t + h`` on or before the last day),
    the share of positive returns, their mean and median, the distinct episodes (runs of
    regime days; runs closer than ``merge_gap_days`` joined) and a moving-block bootstrap
    interval of the mean (:func:`block_bootstrap_means`, block ``h`` days unless
    ``block_days``; the whole sample of days is resampled, so the regime's share varies too).

    Overlapping windows are not independent: 600 compression days may be a dozen episodes,
    and a day and the next share all but one day of their forward window. The episode
    count and the interval say how much evidence there is; the day count does not.

    Parameters
    ----------
    day : array of datetime64[D]
        Consecutive days, ascending.
    hashrate_hs : array of float
        Daily hashrate, H/s.
    price_usd : array of float
        Daily close, USD.
    lookbacks_days : tuple of int, default (30, 90)
        Lookbacks of the hashrate change, days.
    mean_days : int, default 30
        Window of the mean hashrate, days.
    horizons_days : tuple of int, default (90, 180)
        Forward return horizons, days.
    strict_change_pct : float, default -5
        Threshold of the strong-compression regime, percent (negative). Ours: a round
        number near the 5th percentile of the 30-day change over the whole 2014-2025
        history, set in hindsight (see :data:`COMPRESSION_STRICT_PCT`).
    start : YYYY-MM-DD or None, default "2014-01-01"
        First condition day (VanEck: "since 2014"); None: from the first day with data.
    merge_gap_days : int, default 7
        Regime runs separated by fewer days are one episode.
    block_days : int or None, default None
        Bootstrap block length, days; None: the horizon.
    bootstrap_samples : int, default 2000
    seed : int, default 0
    interval : float, default 0.90
        Coverage of the percentile interval of the mean.

    Returns
    -------
    CompressionResult

    References
    ----------
    VanEck (M. Sigel, P. Bush), "Mid-December 2025 Bitcoin ChainCheck" (22 Dec 2025): since
    2014, 90-day returns positive 65% of the time after a negative 30-day hashrate change
    (54% otherwise); 180-day returns positive 77%, mean +72%, after a negative 90-day change
    (61%, +48% otherwise).
    """
    lookbacks = params.check_each(params.DAYS, lookbacks_days, "lookbacks_days")
    horizons = params.check_each(params.HORIZON_DAYS, horizons_days, "horizons_days")
    mean_days = params.DAYS.check(mean_days, "mean_days")
    strict = params.FALL_PCT.check(strict_change_pct, "strict_change_pct")
    merge = params.MERGE_GAP_DAYS.check(merge_gap_days, "merge_gap_days")
    if block_days is not None:
        block_days = params.DAYS.check(block_days, "block_days")
    samples_n = params.BOOTSTRAP_SAMPLES.check(bootstrap_samples, "bootstrap_samples")
    seed = params.SEED.check(seed, "seed")
    level = params.PROBABILITY.check(interval, "interval")
    first = parse_day(start, "start")
    day = np.asarray(day, "datetime64[D]")
    h = np.asarray(hashrate_hs, np.float64)
    price = np.asarray(price_usd, np.float64)
    if not (len(h) == len(price) == len(day)):
        raise ValueError("day, hashrate_hs and price_usd differ in length")

    mean = sg.sma(h, mean_days)
    after_start = np.ones(len(day), bool) if first is None else day >= first
    forward = {hz: forward_return_pct(price, hz) for hz in horizons}
    rows: list[CompressionRow] = []
    samples: dict[str, StudySample] = {}
    today: dict[str, CompressionToday] = {}
    for lb in lookbacks:
        change = np.full(len(day), np.nan)
        if lb < len(day):
            with np.errstate(invalid="ignore", divide="ignore"):
                change[lb:] = 100.0 * (mean[lb:] / mean[:-lb] - 1.0)
        regimes = (
            (REGIME_COMPRESSION, "change < 0", change < 0),
            (REGIME_GROWTH, "change >= 0", change >= 0),
            (REGIME_STRONG, f"change < {strict:g}%", change < strict),
        )
        last = _num(change[-1]) if len(day) else None
        today[f"{lb}d"] = CompressionToday(
            change_pct=last,
            regimes=[name for name, _, m in regimes if len(day) and m[-1]],
        )
        for hz in horizons:
            ret = forward[hz]
            in_sample = after_start & np.isfinite(change) & np.isfinite(ret)
            rows_in = np.flatnonzero(in_sample)
            samples[f"{lb}d/{hz}d"] = StudySample(
                first_day=str(day[rows_in[0]]) if rows_in.size else None,
                last_day=str(day[rows_in[-1]]) if rows_in.size else None,
                days=int(rows_in.size),
            )
            boot = block_bootstrap_means(
                ret[rows_in],
                [m[rows_in] for _, _, m in regimes],
                block_days=block_days or hz,
                samples=samples_n,
                seed=int(seed),
            )
            for (name, condition, m), means in zip(regimes, boot, strict=True):
                sel = in_sample & m
                n, share, avg, med = _stats(ret[sel])
                lo, hi = _interval(means, level) if n else (None, None)
                rows.append(
                    CompressionRow(
                        lookback_days=lb,
                        regime=name,
                        condition=condition,
                        horizon_days=hz,
                        n_days=n,
                        episodes=count_episodes(sel, merge),
                        share_positive_pct=share,
                        mean_return_pct=avg,
                        median_return_pct=med,
                        mean_ci_low_pct=lo,
                        mean_ci_high_pct=hi,
                    )
                )
    return CompressionResult(rows=rows, samples=samples, today=today)


@dataclass(frozen=True)
class RibbonEvent:
    """A hash-ribbon event: a buy signal, or the end of a capitulation (``date``: the day
    the recovery was confirmed, the first day it could be known; ``capitulation_end``: the
    period's last inverted day), the close that day and the forward returns (percent; None
    beyond the last day)."""

    event: str
    date: str
    capitulation_start: str
    capitulation_end: str
    price_usd: float | None
    forward_return_pct: dict[str, float | None]


@dataclass(frozen=True)
class EventReturnRow:
    """Forward returns after one kind of event at one horizon: ``n`` events with a return
    (each a distinct episode; windows of consecutive events can still overlap), share
    positive, mean and median (percent)."""

    event: str
    horizon_days: int
    n: int
    share_positive_pct: float | None
    mean_return_pct: float | None
    median_return_pct: float | None


def ribbon_event_study(
    day: np.ndarray,
    hashrate_hs: np.ndarray,
    price_usd: np.ndarray,
    *,
    horizons_days: tuple[int, ...] = EVENT_HORIZONS_DAYS,
    start: str | np.datetime64 | None = None,
    **ribbon_parameters: Any,
) -> tuple[list[RibbonEvent], list[EventReturnRow]]:
    """Forward price returns after every hash-ribbon buy signal and capitulation end.

    Events come from :func:`minerwatch.metrics.signals.hash_ribbons` (``ribbon_parameters``
    go to it). A capitulation end is dated on the day its recovery was confirmed, the first
    day it was known. Events before ``start`` (None: none) are left out; the ribbons are
    still computed over the whole history. The baseline rows hold every day from the first
    event kept on, for comparison.

    Returns
    -------
    (list of RibbonEvent, list of EventReturnRow)
        Events in time order (buy signals and ends interleaved); rows per event kind and
        horizon.
    """
    horizons = params.check_each(params.HORIZON_DAYS, horizons_days, "horizons_days")
    first = parse_day(start, "start")
    day = np.asarray(day, "datetime64[D]")
    price = np.asarray(price_usd, np.float64)
    rib = sg.hash_ribbons(hashrate_hs, price, **ribbon_parameters)
    starts, ends, _ = sg.capitulation_periods(rib)
    forward = {hz: forward_return_pct(price, hz) for hz in horizons}
    kept = np.ones(len(day), bool) if first is None else day >= first
    kinds = {EVENT_BUY: rib.buy & kept, EVENT_CAPITULATION_END: rib.recovery_confirmed & kept}
    events: list[RibbonEvent] = []
    for kind, mask in kinds.items():
        rows_ = np.flatnonzero(mask)
        period = np.searchsorted(ends, rib.last_inverted_row[rows_])
        for r, p in zip(rows_.tolist(), period.tolist(), strict=True):  # tens of events
            events.append(
                RibbonEvent(
                    event=kind,
                    date=str(day[r]),
                    capitulation_start=str(day[starts[p]]),
                    capitulation_end=str(day[ends[p]]),
                    price_usd=_num(price[r]),
                    forward_return_pct={f"{hz}d": _num(forward[hz][r]) for hz in horizons},
                )
            )
    events.sort(key=lambda e: (e.date, e.event))
    any_event = kinds[EVENT_BUY] | kinds[EVENT_CAPITULATION_END]
    baseline = np.zeros(len(day), bool)
    if any_event.any():
        baseline[int(np.argmax(any_event)) :] = True
    rows: list[EventReturnRow] = []
    for kind, mask in (*kinds.items(), (EVENT_BASELINE, baseline)):
        for hz in horizons:
            n, share, avg, med = _stats(forward[hz][mask])
            rows.append(EventReturnRow(kind, hz, n, share, avg, med))
    return events, rows


@dataclass(frozen=True)
class BelowCostEpisodeReturns:
    """A below-cost episode with its forward returns from the start (percent; None beyond
    the last day) and how long recovery took: ``days_to_cost`` from the start to the first
    close back at or above cost, ``days_to_start_price`` from the start to the first close,
    after the deepest day, at or above the start's close (None: not yet).
    ``censored_start``: the close was already below cost on the first day with a cost, so
    the real start is unknown. ``hindsight``: the episode starts before the end of the
    fit of the cost model's published constants, so its cost could not have been known on
    its days. Episodes of either kind are listed but left out of the summary rows."""

    start: str
    end: str
    days: int
    deepest_discount_pct: float | None
    deepest_date: str
    ended: str
    exit_date: str | None
    days_to_cost: int | None
    days_to_start_price: int | None
    forward_return_pct: dict[str, float | None]
    censored_start: bool
    hindsight: bool = False

    @property
    def counted(self) -> bool:
        """Whether the episode counts in the summary rows (neither censored nor hindsight)."""
        return not (self.censored_start or self.hindsight)


def below_cost_return_study(
    day: np.ndarray,
    price_usd: np.ndarray,
    episodes: list[Episode],
    horizons_days: tuple[int, ...],
    *,
    fit_end: str | np.datetime64 | None = None,
) -> tuple[list[BelowCostEpisodeReturns], list[EventReturnRow]]:
    """Forward returns from the start of each of the below-cost ``episodes`` (those of
    :func:`below_cost_episodes` on these days, asked for ``horizons_days``) and the time to
    recover, with one summary row per horizon (``event`` = "below-cost start").

    The summary leaves out episodes with a censored start (the real start is unknown) and,
    for a cost model with published constants fitted on data up to ``fit_end`` (a hindsight
    preset; None: the model reads nothing after the day it prices), every episode starting
    before ``fit_end`` (flagged ``hindsight``: its cost was not knowable then). Both are
    still listed."""
    horizons = params.check_each(params.HORIZON_DAYS, horizons_days, "horizons_days")
    fit_end_day = parse_day(fit_end, "fit_end")
    day = np.asarray(day, "datetime64[D]")
    price = np.asarray(price_usd, np.float64)
    out = []
    for e in episodes:  # tens of episodes; each searches its own stretch of days
        s = int(np.searchsorted(day, np.datetime64(e.start)))
        k = int(np.searchsorted(day, np.datetime64(e.deepest_date)))
        regained = np.flatnonzero(price[k:] >= price[s])
        x = None if e.exit_date is None else int(np.searchsorted(day, np.datetime64(e.exit_date)))
        out.append(
            BelowCostEpisodeReturns(
                start=e.start,
                end=e.end,
                days=e.days,
                deepest_discount_pct=e.deepest_discount_pct,
                deepest_date=e.deepest_date,
                ended=e.ended,
                exit_date=e.exit_date,
                days_to_cost=None if x is None else x - s,
                days_to_start_price=int(k + regained[0] - s) if regained.size else None,
                forward_return_pct=e.forward_return_pct,
                censored_start=e.censored_start,
                hindsight=bool(fit_end_day is not None and np.datetime64(e.start) < fit_end_day),
            )
        )
    rows = []
    counted = [e for e in out if e.counted]
    for hz in horizons:
        r = np.array(
            [np.nan if v is None else v for v in (e.forward_return_pct[f"{hz}d"] for e in counted)]
        )
        n, share, avg, med = _stats(r)
        rows.append(EventReturnRow("below-cost start", hz, n, share, avg, med))
    return out, rows


# -- the study entry point ------------------------------------------------------------------

STUDY_NAMES = ("compression", "ribbons", "below-cost")


@dataclass(frozen=True)
class StudyResult(Jsonable, Tabular):
    """A study run on the data up to ``as_of``: ``rows`` is its summary table (the CSV);
    ``details`` the per-event or per-episode records and anything else the study reports;
    ``parameters`` every setting used."""

    TABLE = "rows"  # the rows of to_pandas() and the like

    name: str
    as_of: str
    first_day: str
    parameters: dict[str, Any]
    rows: list[Any]
    details: dict[str, Any] = field(default_factory=dict)

    def write_csv(self, path: str | Path) -> Path:
        """Save the summary rows as CSV (:func:`~minerwatch.serialize.write_csv`: a header
        line, empty cells for missing values); :class:`InputError` naming the file when it
        cannot be written."""
        return write_csv(self.rows, path)


_STUDY_PARAMETERS: dict[str, dict[str, Any]] = {
    "compression": {
        "lookbacks_days": COMPRESSION_LOOKBACKS_DAYS,
        "mean_days": COMPRESSION_MEAN_DAYS,
        "horizons_days": COMPRESSION_HORIZONS_DAYS,
        "strict_change_pct": COMPRESSION_STRICT_PCT,
        "start": COMPRESSION_START,
        "merge_gap_days": STUDY_MERGE_GAP_DAYS,
        "block_days": None,
        "bootstrap_samples": BOOTSTRAP_SAMPLES,
        "seed": BOOTSTRAP_SEED,
        "interval": BOOTSTRAP_INTERVAL,
    },
    "ribbons": {
        "horizons_days": EVENT_HORIZONS_DAYS,
        "start": None,
        "short_days": sg.RIBBON_SHORT_DAYS,
        "long_days": sg.RIBBON_LONG_DAYS,
        "price_short_days": sg.PRICE_SHORT_DAYS,
        "price_long_days": sg.PRICE_LONG_DAYS,
        "confirm_days": sg.RIBBON_CONFIRM_DAYS,
        "recovery_days": sg.RIBBON_RECOVERY_DAYS,
        "price_cross": sg.DEFAULT_PRICE_CROSS,
    },
    "below-cost": {
        "model": DEFAULT_MODEL,
        "merge_gap_days": MERGE_GAP_DAYS,
        "min_days": BELOW_COST_STUDY_MIN_DAYS,
        "horizons_days": EVENT_HORIZONS_DAYS,
    },
}


def study(
    db_or_frame: Day | DailyFrame | Store | str | Path | None,
    name: str,
    as_of: str | np.datetime64 | None = None,
    *,
    price_source: str = "auto",
    **parameters: Any,
) -> StudyResult:
    """Run the study ``name`` on the daily history up to ``as_of`` (nothing later is read).

    Studies (see ``docs/signals.md``):

    * ``compression``: :func:`compression_study`, forward returns after hash-rate
      compression (VanEck, Dec 2025);
    * ``ribbons``: :func:`ribbon_event_study`, forward returns after hash-ribbon buy
      signals and capitulation ends;
    * ``below-cost``: :func:`below_cost_return_study`, forward returns and recovery times of
      the episodes (:func:`below_cost_episodes`) of the close below the production cost
      (``model``, default ``drm-fit-2015``).

    ``parameters`` are the named study function's, for ``below-cost`` those of
    :func:`below_cost_episodes` and ``model`` (defaults in ``result.parameters``).
    Raises :class:`InputError` for an unknown study or parameter, or a bad value (named).
    """
    if name not in STUDY_NAMES:
        raise InputError(
            f"unknown study {name!r}; expected one of {', '.join(STUDY_NAMES)}",
            parameter="name",
        )
    allowed = _STUDY_PARAMETERS[name]
    unknown = sorted(set(parameters) - set(allowed))
    if unknown:
        raise InputError(
            f"{unknown[0]} is not a parameter of study {name}; its parameters are "
            f"{', '.join(allowed)}",
            parameter=unknown[0],
        )
    used = {**allowed, **parameters}
    with day_of(db_or_frame, as_of, price_source=price_source) as context:
        frame = context.frame
    day, price = frame.day, frame.price_usd
    details: dict[str, Any] = {}
    rows: list[CompressionRow] | list[EventReturnRow]
    if name == "compression":
        hashrate = _daily_hashrate_hs(frame.blocks, frame.difficulty_mean, 1)
        result = compression_study(day, hashrate, price, **used)
        rows = result.rows
        details = {"samples": result.samples, "today": result.today}
    elif name == "ribbons":
        hashrate = _daily_hashrate_hs(frame.blocks, frame.difficulty_mean, 1)
        events, rows = ribbon_event_study(day, hashrate, price, **used)
        details = {"events": events}
    else:
        model = used.pop("model")
        check_model(model)
        cost = production_cost(context, model=model).series.cost_usd[model]
        preset = hindsight_preset(model)
        fit_end = preset.fit_end if preset is not None else None
        below = below_cost_episodes(day, price, cost, **used)
        horizons = used["horizons_days"]
        episodes, rows = below_cost_return_study(day, price, below, horizons, fit_end=fit_end)
        used["model"] = model
        details = {
            "episodes": episodes,
            "fit_end": fit_end,
            "summary_leaves_out": {
                "censored_start": sum(bool(e.censored_start) for e in episodes),
                "hindsight": sum(e.hindsight and not e.censored_start for e in episodes),
            },
        }
    return StudyResult(
        name=name,
        as_of=str(day[-1]),
        first_day=str(day[0]),
        parameters=used,
        rows=rows,
        details=details,
    )
