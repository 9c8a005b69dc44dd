"""Consensus checks on imported values: what the chain's own rules allow, not only the form.

Each check raises an :class:`~minerwatch.errors.InputError` naming the file, line, column,
the value and what the rule expects. Vectorised over the rows; the rules and their sources:

- Issuance (Coin Metrics ``IssTotNtv``): numbering blocks by the running sum of ``BlkCnt``
  from genesis (genesis excluded), a day holding heights ``c - n + 1 .. c`` issues exactly
  ``supply_sat(c) - supply_sat(c - n)`` (``GetBlockSubsidy`` summed; true on every day of
  the real file). Where the heights are unknown (a file not starting at genesis and not
  continuing the days held), the issuance must be ``k * s(e) + (n - k) * s(e + 1)`` for some
  era ``e`` and ``0 <= k <= n``: at most two adjacent eras' subsidies for that many blocks,
  in eras the day can hold given its supply (the day ends at a height where the schedule
  reaches ``SplyCur``, at most :data:`MAX_SUPPLY_SHORTFALL_SAT` beyond it).
- Supply (``SplyCur``): the change from one day to the next equals the day's issuance
  within :data:`SUPPLY_BAND_SAT` (measured on the real file from 2009-01-03 to 2025-12-31:
  from issuance - 100 BTC, the two BIP 30 duplicate coinbases on 2010-11-14, to issuance +
  0.35 BTC), and where heights are known it never exceeds the schedule ``supply_sat(c)``.
- Difficulty epochs: epoch 0 has the genesis block's bits (the proof-of-work limit,
  difficulty 1); a retarget changes the target by at most x4 either way (Core's
  ``CalculateNextWorkRequired`` clamps the timespan; at the proof-of-work limit too), and
  where both epochs' start times are known the difficulty follows from the previous one
  by the retarget rule within :data:`RETARGET_TOLERANCE` (the start of the next epoch
  stands in for the last block of this one, whose time the table does not hold: on the
  real table the largest difference is 0.43%). Start times rise with height and lie at
  most two hours ahead of now.
- Block header times: above the median of the previous 11 blocks' times (Core's
  ``GetMedianTimePast`` rule in ``ContextualCheckBlockHeader``) and at most two hours ahead
  (``MAX_FUTURE_BLOCK_TIME``).
- Prices: between :data:`MIN_PRICE_USD` and :data:`MAX_PRICE_USD`; against the other stored
  sources' closes the same day, a ratio beyond :data:`PRICE_WARN_RATIO` is noted and one
  beyond :data:`PRICE_REFUSE_RATIO` refused unless forced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from minerwatch.chain.consensus import (
    HALVING_INTERVAL,
    INITIAL_SUBSIDY_SAT,
    MAX_TIMESPAN_S,
    MIN_TIMESPAN_S,
    POW_LIMIT_BITS,
    TARGET_TIMESPAN_S,
    bits_to_difficulty,
    next_bits,
    supply_sat_array,
)
from minerwatch.errors import InputError
from minerwatch.units import SAT_PER_BTC

#: Allowed ``SplyCur`` change minus ``IssTotNtv``, satoshis: [-100 BTC, +1 BTC].
SUPPLY_BAND_SAT = (-100 * SAT_PER_BTC, 1 * SAT_PER_BTC)
#: Largest relative difference between an epoch's difficulty and the retarget rule's.
RETARGET_TOLERANCE = 0.02
#: Plausible BTC/USD close, USD: below the first recorded trades (2010, ~$0.0008) by x8,
#: above any real price by x10,000 (typo and unit guards).
MIN_PRICE_USD = 1e-4
MAX_PRICE_USD = 1e9
PRICE_WARN_RATIO = 1.5
#: Beyond x3 of another source's same-day close a close is refused: real exchanges' closes
#: of a day differ by a few percent, while a slipped digit (x10) or another unit (cents,
#: thousands) is x10 or more, and a x10 typo against sources a little apart is x9.9.
PRICE_REFUSE_RATIO = 3.0
#: Bitcoin Core's ``MAX_FUTURE_BLOCK_TIME``: a header more than 2 hours ahead is rejected.
MAX_FUTURE_S = 2 * 60 * 60
_MTP_SPAN = 11
_ERAS = 34  # eras with a non-zero subsidy (5e9 sat >> 33 = 0)
#: How far ``SplyCur`` may lie below the schedule, satoshis: coinbases that claimed less
#: than allowed and the BIP 30 duplicates; 180.09 BTC on the real file at 2025-12-31 (it
#: only grows), so 1,000 BTC.
MAX_SUPPLY_SHORTFALL_SAT = 1_000 * SAT_PER_BTC


@dataclass(frozen=True)
class Where:
    """Where rows came from: ``origin`` and the 1-based ``lines`` of the rows checked."""

    origin: str
    lines: np.ndarray
    line_label: str = "line"

    def error(self, row: int, column: str | None, message: str) -> InputError:
        return InputError(
            message,
            path=self.origin,
            line=int(self.lines[row]) if len(self.lines) else None,
            column=column,
            line_label=self.line_label,
        )


def btc(sat: int | np.integer) -> str:
    """Satoshis as BTC, up to 8 decimals, thousands separated: ``100,000,000`` -> ``1``."""
    whole, frac = divmod(abs(int(sat)), SAT_PER_BTC)
    text = f"{whole:,}" + (f".{frac:08d}".rstrip("0") if frac else "")
    return f"-{text}" if int(sat) < 0 else text


class _Locates(Protocol):
    def error(self, row: int, column: str | None, message: str) -> Exception: ...


def refuse(where: _Locates, bad: np.ndarray, column: str, message: Callable[[int], str]) -> None:
    """Raise ``where.error(row, column, message(row))`` at the first ``bad`` row, if any:
    a table's error (file, line, column) or a rule's."""
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise where.error(row, column, message(row))


@dataclass(frozen=True)
class _AtFileRow:
    """Errors at item ``i`` of a merged table, located at its file row ``rows[i]``."""

    where: Where
    rows: np.ndarray

    def error(self, row: int, column: str | None, message: str) -> InputError:
        return self.where.error(int(self.rows[row]), column, message)


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


# --- issuance and supply -------------------------------------------------------------------


def height_for_supply(supply_sat: np.ndarray) -> np.ndarray:
    """The lowest height ``c`` whose scheduled supply ``supply_sat(c)`` (genesis excluded)
    reaches ``supply_sat``: the inverse of the schedule, by era (int64)."""
    total = np.asarray(supply_sat, np.int64) + INITIAL_SUBSIDY_SAT  # count genesis again
    before = np.array(
        [sum(210_000 * (INITIAL_SUBSIDY_SAT >> x) for x in range(e)) for e in range(_ERAS + 1)],
        np.int64,
    )
    era = np.clip(np.searchsorted(before, total, side="left") - 1, 0, _ERAS - 1)
    subsidy = INITIAL_SUBSIDY_SAT >> era
    in_era = -((before[era] - total) // subsidy)  # ceil((total - before) / subsidy)
    return era * HALVING_INTERVAL + np.maximum(in_era, 1) - 1


def check_issuance(
    where: Where,
    day: np.ndarray,
    blocks: np.ndarray,
    issuance_sat: np.ndarray,
    first_height: int | None,
    supply_sat: np.ndarray | None = None,
) -> None:
    """``IssTotNtv`` against the subsidy schedule (see the module docstring).

    ``first_height`` is the height of the first block of the first row (1 for a file from
    genesis: the genesis block is not counted), or None when unknown; then the day's
    ``supply_sat`` bounds its heights (:data:`MAX_SUPPLY_SHORTFALL_SAT`).
    """
    n = np.asarray(blocks, np.int64)
    iss = np.asarray(issuance_sat, np.int64)
    if first_height is not None:
        end = first_height - 1 + np.cumsum(n)
        expected = supply_sat_array(end) - supply_sat_array(end - n)
        refuse(
            where,
            iss != expected,
            "IssTotNtv",
            lambda i: (
                f"{btc(iss[i])} BTC issued on {day[i]} in {n[i]:,} block(s) (heights "
                f"{end[i] - n[i] + 1:,} to {end[i]:,}, counting BlkCnt from genesis); "
                f"expected their consensus subsidy, {btc(expected[i])} BTC"
            ),
        )
        return
    subsidy = np.array([INITIAL_SUBSIDY_SAT >> e for e in range(_ERAS + 1)], np.int64)
    older, newer = subsidy[:-1], subsidy[1:]  # era e and e + 1
    rest = iss[:, None] - n[:, None] * newer[None, :]
    step = np.maximum(older - newer, 1)  # eras past 32 differ by 0 or 1 sat
    k, r = np.divmod(rest, step[None, :])  # k blocks in era e, n - k in era e + 1
    # Eras the day's blocks can be in: the day ends at a height where the schedule reaches
    # the day's supply, and at most MAX_SUPPLY_SHORTFALL_SAT beyond it.
    if supply_sat is None:
        era_min, era_max = np.zeros(len(n), np.int64), np.full(len(n), _ERAS, np.int64)
    else:
        s = np.asarray(supply_sat, np.int64)
        low = height_for_supply(s)
        high = height_for_supply(s + MAX_SUPPLY_SHORTFALL_SAT)
        era_min = np.maximum(low - n + 1, 0) // HALVING_INTERVAL
        era_max = high // HALVING_INTERVAL
    e = np.arange(_ERAS)[None, :]
    in_older = (k == 0) | ((e >= era_min[:, None]) & (e <= era_max[:, None]))
    in_newer = (k == n[:, None]) | ((e + 1 >= era_min[:, None]) & (e + 1 <= era_max[:, None]))
    fits = (r == 0) & (k >= 0) & (k <= n[:, None]) & in_older & in_newer
    fits = fits.any(axis=1) | ((n == 0) & (iss == 0))
    if not fits.all():
        i = _first(~fits)
        lo, hi = int(era_min[i]), min(int(era_max[i]), _ERAS - 1)
        subsidies = " or ".join(f"{btc(subsidy[x])}" for x in range(lo, min(hi, lo + 1) + 1))
        raise where.error(
            i,
            "IssTotNtv",
            f"{btc(iss[i])} BTC issued on {day[i]} in {n[i]:,} block(s) is not a subsidy "
            f"those blocks can have at that day's supply; expected {n[i]:,} blocks at "
            f"{subsidies} BTC each (a mix of two adjacent halving eras' subsidies near a "
            "halving)",
        )


def check_supply(
    where: Where,
    day: np.ndarray,
    blocks: np.ndarray,
    issuance_sat: np.ndarray,
    supply_sat: np.ndarray,
    first_height: int | None,
    previous_supply_sat: int | None,
) -> None:
    """``SplyCur`` against issuance and the schedule (see the module docstring).

    ``previous_supply_sat`` is the supply held for the day before the first row, if any.
    """
    s = np.asarray(supply_sat, np.int64)
    iss = np.asarray(issuance_sat, np.int64)
    before = np.concatenate([[previous_supply_sat if previous_supply_sat is not None else 0], s])
    change = np.diff(before)
    checked = np.ones(len(s), bool)
    checked[0] = previous_supply_sat is not None
    low, high = SUPPLY_BAND_SAT
    refuse(
        where,
        checked & ((change - iss < low) | (change - iss > high)),
        "SplyCur",
        lambda i: (
            f"{btc(s[i])} BTC on {day[i]} is {btc(change[i])} BTC more than the day "
            f"before ({btc(before[i])} BTC), but the day issued {btc(iss[i])} BTC; expected the "
            f"change to equal the issuance within {btc(low)} to +{btc(high)} BTC"
        ),
    )
    if first_height is not None:
        end = first_height - 1 + np.cumsum(np.asarray(blocks, np.int64))
        schedule = supply_sat_array(end)
        refuse(
            where,
            s > schedule,
            "SplyCur",
            lambda i: (
                f"{btc(s[i])} BTC on {day[i]} is more than the subsidy schedule allows "
                f"after height {end[i]:,} ({btc(schedule[i])} BTC); expected at most that"
            ),
        )


# --- difficulty epochs ---------------------------------------------------------------------


def check_epoch_sequence(
    where: Where,
    rows: np.ndarray,
    start_height: np.ndarray,
    bits: np.ndarray,
    start_time: np.ndarray,
    now: int,
) -> None:
    """Retargets and start times of an epochs table (stored rows merged with the file's).

    ``rows[i]`` is the file row of epoch ``i`` (-1 for a stored epoch the file does not
    give); an error names the file row of the later epoch of a failing pair (or of the
    earlier, when only that one is from the file).
    """
    h = np.asarray(start_height, np.int64)
    t = np.asarray(start_time, np.int64)
    known = t >= 0
    from_file = _AtFileRow(where, rows)
    refuse(
        from_file,
        known & (t > now + MAX_FUTURE_S) & (rows >= 0),
        "start_time",
        lambda i: (
            f"{t[i]} is more than 2 hours after now ({now}); expected an epoch that has "
            "started (Bitcoin Core rejects headers further ahead)"
        ),
    )
    refuse(
        from_file,
        (h == 0) & (np.asarray(bits, np.int64) != POW_LIMIT_BITS) & (rows >= 0),
        "difficulty",
        lambda i: (
            f"epoch 0 has difficulty {bits_to_difficulty(int(bits[i]))!r}; expected 1 (the "
            "genesis block's bits, 0x1d00ffff, the proof-of-work limit)"
        ),
    )
    k = np.flatnonzero(known)
    falls = np.flatnonzero(np.diff(t[k]) <= 0)
    for j in falls:  # the first fall that involves a row of the file
        a, b = int(k[j]), int(k[j + 1])
        i = b if rows[b] >= 0 else a
        if rows[i] < 0:
            continue
        raise where.error(
            int(rows[i]),
            "start_time",
            f"epoch {h[b]:,} starts at {t[b]}, not after epoch {h[a]:,} ({t[a]}); expected "
            "start times rising with height",
        )
    for step in np.flatnonzero(np.diff(h) == 2016):
        a, b = int(step), int(step) + 1
        if rows[a] < 0 and rows[b] < 0:
            continue
        i = int(rows[b] if rows[b] >= 0 else rows[a])
        prev_d, next_d = bits_to_difficulty(int(bits[a])), bits_to_difficulty(int(bits[b]))
        ratio = next_d / prev_d
        low = TARGET_TIMESPAN_S / MAX_TIMESPAN_S * (1 - 1e-4)
        high = TARGET_TIMESPAN_S / MIN_TIMESPAN_S * (1 + 1e-4)
        if not low <= ratio <= high:  # also at the proof-of-work limit: x1/4 at most
            raise where.error(
                i,
                "difficulty",
                f"epoch {h[b]:,} has difficulty {next_d!r}, x{ratio:.4g} that of epoch "
                f"{h[a]:,} ({prev_d!r}); expected a retarget within x1/4 to x4 (Bitcoin "
                "Core clamps the timespan)",
            )
        if known[a] and known[b]:
            expected = bits_to_difficulty(next_bits(int(bits[a]), int(t[a]), int(t[b])))
            if abs(next_d / expected - 1) > RETARGET_TOLERANCE:
                raise where.error(
                    i,
                    "difficulty",
                    f"epoch {h[b]:,} has difficulty {next_d!r}, but the retarget rule gives "
                    f"{expected!r} from epoch {h[a]:,} ({prev_d!r}) and the two start times "
                    f"({t[a]}, {t[b]}); expected it within {RETARGET_TOLERANCE:.0%}",
                )


# --- block header times --------------------------------------------------------------------


def check_block_times(
    where: _Locates, height: np.ndarray, time: np.ndarray, before: np.ndarray
) -> None:
    """Every header time above the median time past of its block: the median of the
    previous 11 blocks' times (of all of them near genesis; element ``count // 2`` of the
    sorted times, as ``GetMedianTimePast``). ``before`` holds the stored times of the
    blocks just below ``height[0]`` (ascending, consecutive); heights are consecutive. A
    block whose 11 predecessors are neither in ``before`` nor in the file is not checked."""
    prior = np.asarray(before, np.int64)[-_MTP_SPAN:]
    time = np.asarray(time, np.int64)
    t = np.concatenate([prior, time])
    n = len(time)
    pos = len(prior) + np.arange(n)  # index of each file row in t
    count = np.minimum(pos, _MTP_SPAN)
    whole = count == _MTP_SPAN
    near_genesis = ~whole & (np.asarray(height, np.int64) == pos) & (count > 0)
    mtp = np.full(n, np.iinfo(np.int64).min)
    windows = (
        np.lib.stride_tricks.sliding_window_view(t, _MTP_SPAN) if len(t) >= _MTP_SPAN else None
    )
    rows = np.flatnonzero(whole)
    if windows is not None:
        # A window of non-decreasing times has its median in the middle, t[p - 6]: one
        # look-up, where no time of the window falls below the one before it.
        falls = np.concatenate([[0], np.cumsum(np.diff(t) < 0)])
        p = pos[rows]
        ordered = falls[p - 1] == falls[p - _MTP_SPAN]
        mtp[rows[ordered]] = t[p[ordered] - (_MTP_SPAN + 1) // 2]
        rows = rows[~ordered]
    for chunk in np.array_split(rows, max(1, len(rows) // 100_000)):  # bounded memory
        if len(chunk) and windows is not None:
            window = windows[pos[chunk] - _MTP_SPAN]  # the 11 times before each block
            mtp[chunk] = np.partition(window, _MTP_SPAN // 2, axis=1)[:, _MTP_SPAN // 2]
    for r in np.flatnonzero(near_genesis):  # at most the first 10 blocks of the chain
        prev = np.sort(t[pos[r] - count[r] : pos[r]])
        mtp[r] = prev[len(prev) // 2]
    refuse(
        where,
        (whole | near_genesis) & (time <= mtp),
        "time",
        lambda i: (
            f"block {height[i]} has time {time[i]}, not after the median time past of "
            f"the previous {int(count[i])} blocks ({mtp[i]}); expected a later time (Bitcoin "
            "Core rejects a header at or before it)"
        ),
    )


# --- prices --------------------------------------------------------------------------------


def price_band(
    where: Where,
    day: np.ndarray,
    close_usd: np.ndarray,
    other_day: np.ndarray,
    other_close_usd: np.ndarray,
    other_source: np.ndarray,
    *,
    force: bool,
) -> tuple[list[str], int]:
    """Closes against other sources' closes of the same day.

    Returns notes (rows beyond x1.5, first few) and how many rows lie beyond x3 (allowed
    only when ``force``; otherwise the first is an error).
    """
    notes: list[str] = []
    if len(other_day) == 0 or len(day) == 0:
        return notes, 0
    order = np.argsort(other_day, kind="stable")
    od, oc, os_ = other_day[order], other_close_usd[order], np.asarray(other_source)[order]
    lo = np.searchsorted(od, day, side="left")
    hi = np.searchsorted(od, day, side="right")
    has = hi > lo
    # Compare with the first other source of the day (sorted by day, then as stored).
    j = np.minimum(lo, len(od) - 1)
    ratio = np.where(has, close_usd / oc[j], 1.0)
    factor = np.maximum(ratio, 1 / ratio)
    refuse = has & (factor > PRICE_REFUSE_RATIO)
    if refuse.any() and not force:
        i = _first(refuse)
        raise where.error(
            i,
            "close_usd",
            f"{float(close_usd[i]):,.2f} USD on {day[i]} is {float(ratio[i]):.3g} times source "
            f"{os_[j[i]]!r}'s close that day ({float(oc[j[i]]):,.2f} USD); expected within "
            f"x{PRICE_REFUSE_RATIO:g} of the other stored sources (--force to import it "
            "anyway; the import log records it)",
        )
    warn = np.flatnonzero(has & (factor > PRICE_WARN_RATIO))
    for i in warn[:3]:
        notes.append(
            f"{where.line_label} {where.lines[i]}: close {close_usd[i]:,.2f} USD on {day[i]} "
            f"is x{factor[i]:.3g} source {os_[j[i]]!r}'s ({oc[j[i]]:,.2f} USD)"
        )
    if len(warn) > 3:
        notes.append(
            f"{len(warn) - 3} more close(s) beyond x{PRICE_WARN_RATIO:g} of another source"
        )
    return notes, int(refuse.sum())
