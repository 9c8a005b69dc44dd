"""Capitulation and stress signals: pure, vectorised functions over daily arrays.

* **Hash ribbons** (C. Edwards, Capriole Investments, 2019): miners capitulate while the
  30-day simple moving average of the hashrate is below the 60-day one; the capitulation
  ends when it crosses back above (the recovery); a buy signal comes in the recovery once the
  price's 10-day average is above its 20-day average (:func:`hash_ribbons`).
* **Percentile ranks** of a day's value among the days before it, over a trailing window
  (:func:`rolling_percentile`) or the whole history to date (:func:`expanding_percentile`):
  the Puell multiple's historical percentile and our sustainability index use them.
* **Miner sustainability index** (ours): the trailing 365-day percentile of the revenue per
  unit of work (:func:`sustainability_index`). CryptoQuant's "Miner Profit/Loss
  Sustainability" is proprietary; this is a documented proxy, not a copy.
* Helpers for the stress summary: :func:`trailing_min`, :func:`last_retarget`.

Every function reads row ``t`` from rows ``<= t`` only (no look-ahead), so a value for a day
is the same whether the arrays end on that day or later. Units are in the names: H/s, USD,
percent. See ``docs/signals.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerwatch import params
from minerwatch.chain.consensus import HASHES_PER_DIFFICULTY
from minerwatch.errors import InputError
from minerwatch.metrics.rolling import trailing_mean
from minerwatch.units import HS_PER_PHS, SECONDS_PER_DAY

# Hash ribbons (Capriole's published settings): hashrate SMAs and price SMAs, in days.
RIBBON_SHORT_DAYS = 30
RIBBON_LONG_DAYS = 60
PRICE_SHORT_DAYS = 10
PRICE_LONG_DAYS = 20
# Ours, chosen in hindsight: a capitulation ends only after the short SMA has stayed at or
# above the long one for this many days (1 = Edwards' plain crossover). The value 2 was
# picked after looking at the whole Coin Metrics history, so that our 2022 capitulation
# reproduces the dates Edwards published (2022-06-09 to 2022-08-18, 71 days, buy signal
# 2022-08-20): with 1 a one-day flip on 2022-07-04 splits it. It is a fit to one published
# event, not an out-of-sample choice. What it does in general: the daily hashrate estimate
# carries ~8% noise, so the two averages flicker where they meet; nine capitulations are
# split by a single day above and three by two days, every other gap is 17 days or more.
# Two joins the one-day flips; three would also join the two-day flips (2024-06-17) but
# move the 2022 buy to 2022-09-12. ``confirm_days`` (``--confirm-days``) changes it.
RIBBON_CONFIRM_DAYS = 2
# Ours: the recovery lasts until the buy signal, or at most this many days after the
# hashrate averages cross back. After 60 days the long SMA no longer holds a single
# capitulation day, so the recovery has run its course.
RIBBON_RECOVERY_DAYS = 60
# Buy-signal variants: "any" (Capriole's rule: the price's 10-day SMA is above its 20-day SMA
# on a recovery day, whenever it crossed), "follow" (the price cross must come strictly after
# the day the hashrate averages crossed back).
PRICE_CROSS_RULES = ("any", "follow")
DEFAULT_PRICE_CROSS = "any"
# Ours: the sustainability index ranks a day among the trailing 365 days.
SUSTAINABILITY_WINDOW_DAYS = 365

STATE_UNDEFINED = -1  # not enough history for the long SMA
STATE_NORMAL = 0
STATE_CAPITULATION = 1
STATE_RECOVERY = 2
STATE_NAMES = {
    STATE_UNDEFINED: "n/a",
    STATE_NORMAL: "normal",
    STATE_CAPITULATION: "capitulation",
    STATE_RECOVERY: "recovery",
}


def sma(x: np.ndarray, window: int) -> np.ndarray:
    """Simple moving average over the trailing ``window`` rows; NaN until the window holds
    ``window`` finite values."""
    return trailing_mean(x, window, min_count=window)


def _last_true(mask: np.ndarray) -> np.ndarray:
    """Row of the last True at or before each row (-1 before the first)."""
    idx = np.where(mask, np.arange(len(mask)), -1)
    return np.maximum.accumulate(idx) if len(idx) else idx


def _run_starts(codes: np.ndarray) -> np.ndarray:
    """Row where the run of equal values holding each row began."""
    n = len(codes)
    change = np.ones(n, bool)
    change[1:] = codes[1:] != codes[:-1]
    return _last_true(change)


@dataclass(frozen=True)
class HashRibbons:
    """Per-day hash-ribbon columns (arrays aligned with the input rows).

    ``sma_short_hs``, ``sma_long_hs``: hashrate SMAs, H/s; ``price_sma_short_usd``,
    ``price_sma_long_usd``: price SMAs, USD; ``inverted``: short SMA below long SMA that day;
    ``state``: one of :data:`STATE_NAMES` (codes); ``since_row``: row where the current state
    began (for a recovery: the first day the short SMA was back above the long one);
    ``capitulation``, ``recovery``: the states as masks; ``recovery_confirmed``: the day a
    recovery is confirmed (its first day in the recovery state); ``buy``: buy-signal days;
    ``last_inverted_row``: last inverted row at or before each row (-1 before any).
    """

    sma_short_hs: np.ndarray
    sma_long_hs: np.ndarray
    price_sma_short_usd: np.ndarray
    price_sma_long_usd: np.ndarray
    inverted: np.ndarray
    state: np.ndarray
    since_row: np.ndarray
    capitulation: np.ndarray
    recovery: np.ndarray
    recovery_confirmed: np.ndarray
    buy: np.ndarray
    last_inverted_row: np.ndarray


def check_ribbon_parameters(
    short_days: int,
    long_days: int,
    price_short_days: int,
    price_long_days: int,
    confirm_days: int,
    recovery_days: int,
    price_cross: str,
) -> None:
    """:class:`InputError` naming the first bad hash-ribbon parameter."""
    short = params.DAYS.check(short_days, "short_days")
    long_ = params.DAYS.check(long_days, "long_days")
    params.check_greater(long_, short, "long_days", "short_days")
    p_short = params.DAYS.check(price_short_days, "price_short_days")
    p_long = params.DAYS.check(price_long_days, "price_long_days")
    params.check_greater(p_long, p_short, "price_long_days", "price_short_days")
    confirm = params.DAYS.check(confirm_days, "confirm_days")
    recovery = params.DAYS.check(recovery_days, "recovery_days")
    params.check_at_least(recovery, confirm, "recovery_days", "confirm_days")
    if price_cross not in PRICE_CROSS_RULES:
        raise InputError(
            f"price_cross must be one of {', '.join(PRICE_CROSS_RULES)}, got {price_cross!r}",
            parameter="price_cross",
        )


def hash_ribbons(
    hashrate_hs: np.ndarray,
    price_usd: np.ndarray,
    *,
    short_days: int = RIBBON_SHORT_DAYS,
    long_days: int = RIBBON_LONG_DAYS,
    price_short_days: int = PRICE_SHORT_DAYS,
    price_long_days: int = PRICE_LONG_DAYS,
    confirm_days: int = RIBBON_CONFIRM_DAYS,
    recovery_days: int = RIBBON_RECOVERY_DAYS,
    price_cross: str = DEFAULT_PRICE_CROSS,
) -> HashRibbons:
    """Hash ribbons: miner capitulation, recovery and buy signals for every day at once.

    With ``S`` and ``L`` the short and long SMAs of the daily hashrate and ``p``, ``q`` the
    short and long SMAs of the close:

    * a day is *inverted* when ``S < L``;
    * **capitulation**: from the first inverted day until the last inverted day before a run
      of ``confirm_days`` days with ``S >= L`` (shorter runs above do not end it); the days
      of that run before it is confirmed are still capitulation (nobody knows yet);
    * **recovery**: from the day the run above is confirmed until the buy signal (inclusive),
      at most until ``recovery_days`` days after the first day above, and never on an
      inverted day;
    * **buy signal**: the first recovery day with ``p > q``; with ``price_cross="follow"``
      also the last price cross (``p`` rising above ``q``) must come after the first day
      above, with ``"any"`` the cross may precede or coincide with it (Capriole's rule:
      price momentum positive during the recovery);
    * otherwise **normal** (``n/a`` until the long SMA exists).

    Parameters
    ----------
    hashrate_hs : array of float
        Daily network hashrate, H/s (blocks x D x 2^32 / 86400).
    price_usd : array of float
        Daily close, USD (NaN allowed: no price momentum that day).
    short_days, long_days : int, default 30, 60
        Hashrate SMA windows, days (Capriole).
    price_short_days, price_long_days : int, default 10, 20
        Price SMA windows, days (Capriole).
    confirm_days : int, default 2
        Days ``S >= L`` must hold to end a capitulation (ours; 1 is Edwards' crossover).
        The default was chosen in hindsight, on the whole history, so that the 2022
        capitulation reproduces Edwards' published dates (see :data:`RIBBON_CONFIRM_DAYS`).
    recovery_days : int, default 60
        Longest recovery, days from the first day above (ours), ``>= confirm_days``.
    price_cross : {"any", "follow"}, default "any"
        Whether the price cross may precede the hashrate cross ("any") or must follow it.

    Returns
    -------
    HashRibbons
        Per-day columns; state codes in :data:`STATE_NAMES`.

    References
    ----------
    C. Edwards (2019), "Hash Ribbons & Bitcoin Bottoms", Capriole Investments; the "Hash
    Ribbons" TradingView indicator (capriole_charles).
    """
    check_ribbon_parameters(
        short_days,
        long_days,
        price_short_days,
        price_long_days,
        confirm_days,
        recovery_days,
        price_cross,
    )
    h = np.asarray(hashrate_hs, np.float64)
    price = np.asarray(price_usd, np.float64)
    if len(price) != len(h):
        raise ValueError("hashrate_hs and price_usd differ in length")
    n = len(h)
    idx = np.arange(n)
    s, lg = sma(h, short_days), sma(h, long_days)
    defined = np.isfinite(s) & np.isfinite(lg)
    inverted = defined & (s < lg)
    last_inv = _last_true(inverted)
    had = last_inv >= 0
    days_above = idx - last_inv  # days since the last inverted day (0 on one)
    capitulation = had & (days_above < confirm_days)
    window = had & (days_above >= confirm_days) & (days_above <= recovery_days)
    first_above = last_inv + 1

    p, q = sma(price, price_short_days), sma(price, price_long_days)
    p_defined = np.isfinite(p) & np.isfinite(q)
    momentum = p_defined & (p > q)
    cross_up = np.zeros(n, bool)
    cross_up[1:] = momentum[1:] & p_defined[:-1] & ~momentum[:-1]
    eligible = window & momentum
    if price_cross == "follow":
        eligible &= _last_true(cross_up) > first_above
    # The first eligible day of each recovery (recoveries are keyed by their last inverted day).
    count = np.cumsum(eligible)
    before_recovery = count[np.clip(last_inv, 0, None)]
    earlier = count - eligible - before_recovery  # eligible days of this recovery before today
    buy = eligible & (earlier == 0)
    recovery = window & (earlier == 0)
    recovery_confirmed = window & (days_above == confirm_days)

    state = np.full(n, STATE_NORMAL, np.int8)
    state[~defined] = STATE_UNDEFINED
    state[capitulation] = STATE_CAPITULATION
    state[recovery] = STATE_RECOVERY
    since = np.where(state == STATE_RECOVERY, first_above, _run_starts(state))
    return HashRibbons(
        sma_short_hs=s,
        sma_long_hs=lg,
        price_sma_short_usd=p,
        price_sma_long_usd=q,
        inverted=inverted,
        state=state,
        since_row=since,
        capitulation=capitulation,
        recovery=recovery,
        recovery_confirmed=recovery_confirmed,
        buy=buy,
        last_inverted_row=last_inv,
    )


def capitulation_periods(
    ribbons: HashRibbons,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every capitulation period: (first row, last inverted row, ongoing).

    A period is a run of capitulation days; it ends on its last inverted day (the days after
    it, before the recovery is confirmed, belong to the run but not to the period). A period
    still running on the last row is ongoing (its end is that row's last inverted day so far).
    """
    cap = ribbons.capitulation.astype(np.int8)
    edges = np.diff(np.concatenate([[0], cap, [0]]))
    starts = np.flatnonzero(edges == 1)
    run_ends = np.flatnonzero(edges == -1) - 1
    ends = ribbons.last_inverted_row[run_ends] if starts.size else run_ends
    ongoing = run_ends == len(cap) - 1
    return starts, ends, ongoing


def percentile_rank(values: np.ndarray, value: float) -> float:
    """Percentile of ``value`` among ``values`` (which include it), 0-100.

    ``100 * (L + E / 2) / (n - 1)``, with ``L`` the other values below it, ``E`` the other
    values equal to it and ``n`` the finite values: 0 at the lowest, 100 at the highest,
    ties counted half. NaN with fewer than two finite values or a missing ``value``.
    """
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if not np.isfinite(value) or v.size < 2:
        return float("nan")
    less = np.count_nonzero(v < value)
    equal = np.count_nonzero(v == value) - 1
    return float(100.0 * (less + 0.5 * equal) / (v.size - 1))


def _rank_from_counts(less: np.ndarray, equal: np.ndarray, n: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n >= 2, 100.0 * (less + 0.5 * (equal - 1)) / (n - 1), np.nan)


def rolling_percentile(x: np.ndarray, window: int, *, min_count: int | None = None) -> np.ndarray:
    """Percentile (0-100, :func:`percentile_rank`) of each row's value among the trailing
    ``window`` rows including itself; NaN where the row is missing or the window holds fewer
    than ``min_count`` finite values (default: the whole window). O(n x window)."""
    window = params.RANK_WINDOW_DAYS.check(window, "window")
    need = window if min_count is None else min_count
    x = np.asarray(x, np.float64)
    n = len(x)
    out = np.full(n, np.nan)
    if n == 0:
        return out
    padded = np.concatenate([np.full(window - 1, np.nan), x])
    w = np.lib.stride_tricks.sliding_window_view(padded, window)
    today = x[:, None]
    less = np.count_nonzero(w < today, axis=1)
    equal = np.count_nonzero(w == today, axis=1)
    count = np.count_nonzero(np.isfinite(w), axis=1)
    out = _rank_from_counts(less, equal, count)
    return np.where(np.isfinite(x) & (count >= need), out, np.nan)


def expanding_percentile(x: np.ndarray, *, chunk: int = 512) -> np.ndarray:
    """Percentile (0-100, :func:`percentile_rank`) of each row's value among every finite
    value up to and including its row (its historical percentile). NaN where the row is
    missing or fewer than two values exist. Compared in blocks of ``chunk`` rows, O(n^2 / 2)."""
    x = np.asarray(x, np.float64)
    n = len(x)
    finite = np.isfinite(x)
    less = np.zeros(n, np.int64)
    equal = np.zeros(n, np.int64)
    for a in range(0, n, chunk):  # blocks of rows, not rows
        b = min(a + chunk, n)
        past = x[None, :b]
        rows = np.arange(a, b)[:, None]
        upto = np.arange(b)[None, :] <= rows
        today = x[a:b, None]
        less[a:b] = np.count_nonzero((past < today) & upto, axis=1)
        equal[a:b] = np.count_nonzero((past == today) & upto, axis=1)
    count = np.cumsum(finite)
    return np.where(finite, _rank_from_counts(less, equal, count), np.nan)


def revenue_per_work_usd_ph_day(
    revenue_usd: np.ndarray, blocks: np.ndarray, difficulty_mean: np.ndarray
) -> np.ndarray:
    """Miners' revenue per unit of work, USD per PH/s per day.

    ``R / (B * D * 2^32)`` is USD per expected hash of the day's blocks; times
    ``86400 * 1e15`` it is the revenue of 1 PH/s for a day. Dividing by the day's own work
    cancels the day's luck: it is the day's revenue per block over the work of one block
    (the realised hashprice at the day's own hashrate). NaN on days without blocks.
    """
    work = np.asarray(blocks, np.float64) * difficulty_mean * HASHES_PER_DIFFICULTY
    with np.errstate(invalid="ignore", divide="ignore"):
        per_hash = np.where(work > 0, np.asarray(revenue_usd, np.float64) / work, np.nan)
    return per_hash * SECONDS_PER_DAY * HS_PER_PHS


def sustainability_index(
    revenue_usd: np.ndarray,
    blocks: np.ndarray,
    difficulty_mean: np.ndarray,
    *,
    window_days: int = SUSTAINABILITY_WINDOW_DAYS,
) -> np.ndarray:
    """Miner sustainability index (ours), 0-100.

    The percentile of the day's ``x = ln(R / (B * D * 2^32))`` (revenue USD over the expected
    hashes of its blocks, :func:`revenue_per_work_usd_ph_day`) among the trailing
    ``window_days`` days including itself: 0 = miners earn less per unit of work than on any
    day of the past year, 100 = more than on any. NaN until the window holds a value for
    every day.

    Parameters
    ----------
    revenue_usd : array of float
        Daily miner revenue (subsidy + fees) in USD.
    blocks : array of int
        Blocks per day.
    difficulty_mean : array of float
        Block-weighted mean difficulty of the day's blocks.
    window_days : int, default 365
        Trailing window of the ranking, days.

    Returns
    -------
    array of float
        Index, 0-100.

    References
    ----------
    Ours. The idea follows CryptoQuant's "Miner Profit/Loss Sustainability" indicator, whose
    method is proprietary; this is not that indicator.
    """
    value = revenue_per_work_usd_ph_day(revenue_usd, blocks, difficulty_mean)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.log(value)
    return rolling_percentile(x, window_days)


def trailing_min(x: np.ndarray, window: int) -> np.ndarray:
    """Lowest finite value among the trailing ``window`` rows including each row (NaN where
    the window holds no finite value). O(n x window)."""
    window = params.DAYS.check(window, "window")
    x = np.asarray(x, np.float64)
    if len(x) == 0:
        return x.copy()
    padded = np.concatenate([np.full(window - 1, np.inf), np.where(np.isfinite(x), x, np.inf)])
    low = np.lib.stride_tricks.sliding_window_view(padded, window).min(axis=1)
    return np.where(np.isfinite(low), low, np.nan)


# Relative day-to-day change of the difficulty series above which a day counts as a retarget.
# The day mean recovered from Coin Metrics carries float noise far below this (the import
# cross-check holds it to 1e-6); no retarget since 2010 has been smaller than 0.01%.
RETARGET_TOLERANCE = 1e-5


def last_retarget(
    difficulty: np.ndarray, *, tolerance: float = RETARGET_TOLERANCE
) -> tuple[np.ndarray, np.ndarray]:
    """The latest difficulty retarget seen on each day: (row it showed, change in percent).

    A retarget shows as a change of the daily difficulty by more than ``tolerance``
    (relative). Consecutive changed days are one retarget (a day mean spanning the boundary
    blends both difficulties); its change is ``100 * (D_t / D_before - 1)`` with
    ``D_before`` the level before the first changed day. With the epochs table's exact
    difficulty of each day's last block there is one changed day per retarget. Row -1 and
    NaN before the first retarget.
    """
    d = np.asarray(difficulty, np.float64)
    n = len(d)
    changed = np.zeros(n, bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        changed[1:] = np.abs(d[1:] / d[:-1] - 1.0) > tolerance
    first = changed.copy()
    first[1:] &= ~changed[:-1]
    row = _last_true(first)
    before = d[np.clip(row - 1, 0, None)]
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(row >= 1, 100.0 * (d / before - 1.0), np.nan)
    return row, pct
