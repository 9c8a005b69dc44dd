"""Daily chain figures built from per-block rows: which UTC days the blocks held cover
whole, and each such day's counts, fees, issuance, supply and difficulty.

Pure and vectorised (arrays in, arrays out; no store). :func:`minerwatch.frames.build_daily_frame`
merges these days into the daily frame, where they win over Coin Metrics' rows.

Days are UTC calendar days by header time, as Coin Metrics counts ``BlkCnt``: a block
belongs to the day its header ``time`` falls in, whatever its height. Header times are not
monotonic in height, so a day is built from blocks only when no block outside the held run
of heights can be stamped on it (:func:`whole_days`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerwatch.chain.consensus import subsidy_sat_array, supply_sat_array
from minerwatch.units import SECONDS_PER_DAY

#: Blocks in the median time past (Bitcoin Core ``CBlockIndex::GetMedianTimePast``).
MTP_BLOCKS = 11
#: How far a header time may run ahead of the clock of the node accepting it, seconds
#: (Bitcoin Core ``MAX_FUTURE_BLOCK_TIME``).
FUTURE_LIMIT_S = 7200
#: Blocks this close to the stored tip (the tip and the 5 below it, fewer than 6 blocks on
#: top) may still be replaced by a reorg: the figures that use them are provisional.
PROVISIONAL_DEPTH = 6

_EPOCH_DAY = np.datetime64("1970-01-01", "D")


def _median(times: np.ndarray) -> int:
    """The median of up to 11 header times, as Core takes it (the middle of the sorted
    times; of an even count, the upper middle)."""
    ordered = np.sort(np.asarray(times, np.int64))
    return int(ordered[len(ordered) // 2])


def whole_days(
    first_height: int, first_times: np.ndarray, last_times: np.ndarray
) -> tuple[np.datetime64, np.datetime64] | None:
    """The first and last UTC day that a contiguous run of held blocks covers whole.

    Rule, with ``S`` and ``E`` a day's start and end (unix seconds):

    - the upper edge is exact by consensus: every block after the held tip is stamped above
      the tip's successor's median time past, the median ``U`` of the last 11 held times.
      A day with ``E <= U`` can gain no block from above.
    - the lower edge: a block below the held run stamped on the day was found no earlier
      than ``S - 2 h`` (a header may run at most 2 hours ahead of the clock), so every held
      block was found after that. The day is covered when the median ``L`` of the first 11
      held times is below ``S - 2 h``: at least 6 of those 11 blocks would otherwise carry
      times earlier than when they were found, which the median-time-past rule's honest
      majority assumption excludes. A run from the genesis block has no lower edge.

    Parameters
    ----------
    first_height : int
        Height of the lowest held block.
    first_times, last_times : array of int
        Header times (unix seconds) of the (up to) 11 lowest and 11 highest held blocks,
        ascending by height.

    Returns
    -------
    (first day, last day) as ``datetime64[D]``, or None when no day is covered (fewer than
    11 blocks held above the genesis block, or a run shorter than a day).
    """
    n = min(len(first_times), len(last_times))
    if n == 0 or (first_height > 0 and n < MTP_BLOCKS):
        return None
    upper = _median(last_times[-MTP_BLOCKS:])
    last = upper // SECONDS_PER_DAY - 1  # the last day with E <= U
    if first_height == 0:
        first = int(np.min(first_times)) // SECONDS_PER_DAY  # the genesis block's day
    else:
        lower = _median(first_times[:MTP_BLOCKS]) + FUTURE_LIMIT_S
        first = -(-lower // SECONDS_PER_DAY)  # the first day with S >= L
    if last < first:
        return None
    return _EPOCH_DAY + np.timedelta64(first, "D"), _EPOCH_DAY + np.timedelta64(last, "D")


@dataclass(frozen=True)
class BlockDays:
    """Daily figures of the days a run of blocks covers whole, one row per day, ascending.

    Arrays of equal length:
        day: ``datetime64[D]``.
        blocks: blocks stamped on the day (the genesis block is not counted, as Coin
            Metrics counts from height 1).
        end_height: the running count of blocks 1.. stamped up to the day's end (the
            chain's height at the day's end when no header time crosses midnight), the
            daily frame's ``end_height``.
        fees_sat: sum of the day's ``fees_sat`` (0 where ``fees_known`` is False).
        fees_known: every block of the day has its fees.
        issuance_sat: sum of the day's ``subsidy_sat``, the scheduled subsidy of its height
            (:func:`~minerwatch.chain.consensus.subsidy_sat_array`) where a block's is
            unknown.
        subsidy_scheduled: some block of the day had no subsidy stored: its scheduled one
            was used.
        supply_sat: scheduled supply of blocks 1..``end_height``
            (:func:`~minerwatch.chain.consensus.supply_sat_array`): an upper bound on coins
            in existence. Coin Metrics' ``SplyCur`` is lower by the subsidies miners left
            unclaimed and the two duplicated coinbases (BIP 30).
        difficulty_mean: mean difficulty of the day's blocks (NaN on a day without blocks).
        difficulty_last: difficulty of the day's highest block (NaN without blocks).
        provisional: some block of the day is within :data:`PROVISIONAL_DEPTH` of the tip.
    """

    day: np.ndarray
    blocks: np.ndarray
    end_height: np.ndarray
    fees_sat: np.ndarray
    fees_known: np.ndarray
    issuance_sat: np.ndarray
    subsidy_scheduled: np.ndarray
    supply_sat: np.ndarray
    difficulty_mean: np.ndarray
    difficulty_last: np.ndarray
    provisional: np.ndarray

    def __len__(self) -> int:
        return len(self.day)


def _sum_by_day(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Exact integer sums per day: ``bincount`` adds in float64, exact below 2**53 sat
    (90 million BTC a day)."""
    total = np.bincount(index, weights=values.astype(np.float64), minlength=n)
    return np.rint(total).astype(np.int64)


def daily_from_blocks(
    height: np.ndarray,
    time: np.ndarray,
    difficulty: np.ndarray,
    fees_sat: np.ndarray,
    subsidy_sat: np.ndarray,
    days: tuple[np.datetime64, np.datetime64],
    *,
    first_height: int,
    tip_height: int,
) -> BlockDays:
    """Each covered day's figures from the held blocks.

    Parameters
    ----------
    height, time, difficulty, fees_sat, subsidy_sat : arrays
        Held blocks ascending by height from the lowest held one (``first_height``), every
        block stamped before the end of ``days[1]`` at least (later ones are ignored):
        header time in unix seconds, difficulty (float), fees and subsidy in satoshis (-1
        unknown).
    days : (first, last) datetime64[D]
        The covered days (:func:`whole_days`, possibly cut at an as-of day).
    first_height : int
        The lowest held height: the blocks below it count toward ``end_height`` (all are
        stamped before the first covered day).
    tip_height : int
        The highest stored height, for ``provisional``.

    Formulas: ``blocks = bincount(day index)``; fees and issuance sums by ``bincount``
    with weights; ``difficulty_mean = D_last + sum(D - D_last) / blocks`` (the mean of the
    day's difficulties, exact within one epoch);
    ``end_height = blocks below the first day + cumsum(blocks)``;
    ``supply_sat = supply_sat_array(end_height)``.
    """
    first_day, last_day = days
    n = int((last_day - first_day).astype(np.int64)) + 1
    day_of_block = np.asarray(time, np.int64) // SECONDS_PER_DAY
    idx = day_of_block - int((first_day - _EPOCH_DAY).astype(np.int64))
    counted = np.asarray(height, np.int64) > 0  # Coin Metrics counts from block 1
    before = int((counted & (idx < 0)).sum()) + max(first_height - 1, 0)
    keep = counted & (idx >= 0) & (idx < n)
    idx, h = idx[keep], np.asarray(height, np.int64)[keep]
    diff = np.asarray(difficulty, np.float64)[keep]
    fees = np.asarray(fees_sat, np.int64)[keep]
    subsidy = np.asarray(subsidy_sat, np.int64)[keep]
    blocks = np.bincount(idx, minlength=n).astype(np.int64)
    fees_missing = np.bincount(idx, weights=(fees < 0), minlength=n) > 0
    scheduled = subsidy < 0
    subsidy = np.where(scheduled, subsidy_sat_array(h), subsidy)
    # The day's highest block: the last of its group in a stable sort by day (the rows are
    # ascending by height).
    order = np.argsort(idx, kind="stable")
    grouped = idx[order]
    ends = np.flatnonzero(np.append(grouped[1:] != grouped[:-1], len(idx) > 0))
    highest = np.full(n, -1, np.int64)
    highest[grouped[ends]] = order[ends]
    d_last = diff[np.maximum(highest, 0)] if len(idx) else np.zeros(n)
    d_last = np.where(highest >= 0, d_last, np.nan)
    # The mean as the last block's difficulty plus the mean difference from it: exact for a
    # day inside one epoch (a plain float sum of ~144 equal values is not).
    with np.errstate(invalid="ignore", divide="ignore"):
        d_mean = d_last + np.bincount(idx, weights=diff - d_last[idx], minlength=n) / blocks
    end_height = before + np.cumsum(blocks)
    return BlockDays(
        day=first_day + np.arange(n).astype("timedelta64[D]"),
        blocks=blocks,
        end_height=end_height,
        fees_sat=np.where(fees_missing, 0, _sum_by_day(idx, np.maximum(fees, 0), n)),
        fees_known=~fees_missing,
        issuance_sat=_sum_by_day(idx, subsidy, n),
        subsidy_scheduled=np.bincount(idx, weights=scheduled, minlength=n) > 0,
        supply_sat=supply_sat_array(end_height),
        difficulty_mean=np.where(blocks > 0, d_mean, np.nan),
        difficulty_last=d_last,
        provisional=np.bincount(idx, weights=h > tip_height - PROVISIONAL_DEPTH, minlength=n) > 0,
    )
