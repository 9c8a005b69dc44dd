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

from minerwatch.chain.consensus import (
    bits_to_difficulty_array,
    subsidy_sat_array,
    supply_sat_array,
)
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


def known_difficulty(difficulty: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Each block's difficulty: the stored one (NaN unknown), else its compact ``bits``'
    (above 0; -1 unknown), else NaN."""
    d = np.asarray(difficulty, np.float64)
    bits = np.asarray(bits, np.int64)
    from_bits = ~np.isfinite(d) & (bits > 0)
    if not from_bits.any():
        return d.copy()
    every = bool(from_bits.all())
    given = bits if every else bits[from_bits]
    # Once per run of equal bits (an epoch's blocks share theirs): 930,000 blocks in about
    # 3 ms instead of 50.
    starts = np.flatnonzero(np.append(True, given[1:] != given[:-1]))
    runs = np.diff(np.append(starts, len(given)))
    from_given = np.repeat(bits_to_difficulty_array(given[starts]), runs)
    if every:
        return from_given
    d = d.copy()
    d[from_bits] = from_given
    return d


def _sum_by_day(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Exact integer sums per day: ``bincount`` adds in float64, exact below 2**53 sat
    (90 million BTC a day)."""
    total = np.bincount(index, weights=values.astype(np.float64), minlength=n)
    return np.rint(total).astype(np.int64)


@dataclass(frozen=True)
class DaySums:
    """Sums over the blocks stamped on each UTC day, one row per day with a counted block
    (height above 0), ascending: what :func:`days_from_sums` needs of a day, and what the
    store keeps up to date in ``block_day_sums`` so that no read adds up every block.

    Arrays of equal length:
        day_number: the day as days since 1970-01-01 (UTC).
        blocks: counted blocks stamped on the day.
        max_height: the day's highest counted block.
        fees_sat: sum of ``fees_sat``, 0 where ``fees_missing``: some block has none.
        issuance_sat: sum of ``subsidy_sat``, the scheduled subsidy where unknown;
            ``subsidy_scheduled``: some block's was unknown.
        difficulty_last: difficulty of the day's highest block (NaN unknown).
        difficulty_dev_sum: sum over the day's blocks of ``difficulty - difficulty_last``.
        difficulty_unknown: blocks of the day without a difficulty.
    """

    day_number: np.ndarray
    blocks: np.ndarray
    max_height: np.ndarray
    fees_sat: np.ndarray
    fees_missing: np.ndarray
    issuance_sat: np.ndarray
    subsidy_scheduled: np.ndarray
    difficulty_last: np.ndarray
    difficulty_dev_sum: np.ndarray
    difficulty_unknown: np.ndarray

    def __len__(self) -> int:
        return len(self.day_number)


def day_sums(
    height: np.ndarray,
    time: np.ndarray,
    difficulty: np.ndarray,
    fees_sat: np.ndarray,
    subsidy_sat: np.ndarray,
) -> DaySums:
    """Each day's sums (:class:`DaySums`) over the given blocks, ascending by height: header
    time in unix seconds, difficulty (NaN unknown), fees and subsidy in satoshis (-1
    unknown). The genesis block is left out, as Coin Metrics counts from height 1.

    Every sum adds the day's blocks in height order (``bincount``), so a day's sums are the
    same whether its blocks are given alone or among all the others.
    """
    # Ascending by height: only the first row may be the genesis block.
    first = int(np.searchsorted(np.asarray(height, np.int64), 1))
    h = np.asarray(height, np.int64)[first:]
    t = np.asarray(time, np.int64)[first:]
    diff = np.asarray(difficulty, np.float64)[first:]
    fees = np.asarray(fees_sat, np.int64)[first:]
    subsidy = np.asarray(subsidy_sat, np.int64)[first:]
    day_of_block = t // SECONDS_PER_DAY
    if not len(day_of_block):
        empty = np.zeros(0, np.int64)
        return DaySums(
            empty, empty, empty, empty, empty.astype(bool), empty, empty.astype(bool),
            empty.astype(float), empty.astype(float), empty,
        )  # fmt: skip
    low = int(day_of_block.min())
    idx = day_of_block - low
    n = int(idx.max()) + 1

    blocks = np.bincount(idx, minlength=n).astype(np.int64)

    def count_where(mask: np.ndarray) -> np.ndarray:
        if not mask.any():
            return np.zeros(n, np.int64)
        return blocks if mask.all() else np.bincount(idx[mask], minlength=n)

    scheduled = subsidy < 0
    if scheduled.all():  # a file without subsidies
        subsidy = subsidy_sat_array(h)
    elif scheduled.any():
        subsidy = subsidy.copy()
        subsidy[scheduled] = subsidy_sat_array(h[scheduled])
    fees_missing = count_where(fees < 0) > 0
    fees_sum = np.zeros(n, np.int64)  # 0 on a day with a block without fees
    if not fees_missing.all():
        fees_sum = np.where(fees_missing, 0, _sum_by_day(idx, np.maximum(fees, 0), n))
    # The day's highest block: the last of its group in a stable sort by day (the rows are
    # ascending by height).
    order = np.argsort(idx, kind="stable")
    grouped = idx[order]
    ends = np.flatnonzero(np.append(grouped[1:] != grouped[:-1], True))
    highest = np.full(n, -1, np.int64)
    highest[grouped[ends]] = order[ends]
    held = blocks > 0
    d_last = np.full(n, np.nan)
    d_last[held] = diff[highest[held]]
    top = np.zeros(n, np.int64)
    top[held] = h[highest[held]]
    # The mean is taken later as the last block's difficulty plus the mean difference from
    # it: exact for a day inside one epoch (a plain float sum of ~144 equal values is not).
    dev = np.bincount(idx, weights=diff - d_last[idx], minlength=n)
    return DaySums(
        day_number=(low + np.arange(n, dtype=np.int64))[held],
        blocks=blocks[held],
        max_height=top[held],
        fees_sat=fees_sum[held],
        fees_missing=fees_missing[held],
        issuance_sat=_sum_by_day(idx, subsidy, n)[held],
        subsidy_scheduled=(count_where(scheduled) > 0)[held],
        difficulty_last=d_last[held],
        difficulty_dev_sum=dev[held],
        difficulty_unknown=count_where(np.isnan(diff))[held],
    )


def days_from_sums(
    sums: DaySums,
    days: tuple[np.datetime64, np.datetime64],
    *,
    first_height: int,
    tip_height: int,
) -> BlockDays:
    """Each covered day's figures from the day sums of the held blocks.

    Parameters
    ----------
    sums : DaySums
        Of the held blocks from the lowest held one (``first_height``), every day up to
        ``days[1]`` at least (later days are ignored).
    days : (first, last) datetime64[D]
        The covered days (:func:`whole_days`, possibly cut at an as-of day).
    first_height : int
        The lowest held height: the blocks below it count toward ``end_height`` (all are
        stamped before the first covered day).
    tip_height : int
        The highest stored height, for ``provisional``.

    Formulas: ``difficulty_mean = D_last + sum(D - D_last) / blocks`` (the mean of the
    day's difficulties, exact within one epoch);
    ``end_height = blocks below the first day + cumsum(blocks)``;
    ``supply_sat = supply_sat_array(end_height)``.
    """
    first_day, last_day = days
    n = int((last_day - first_day).astype(np.int64)) + 1
    idx = sums.day_number - int((first_day - _EPOCH_DAY).astype(np.int64))
    before = int(sums.blocks[idx < 0].sum()) + max(first_height - 1, 0)
    keep = (idx >= 0) & (idx < n)
    at = idx[keep]

    def spread(values: np.ndarray, blank) -> np.ndarray:
        out = np.full(n, blank, np.asarray(values).dtype)
        out[at] = values[keep]
        return out

    blocks = spread(sums.blocks, 0)
    d_last = spread(sums.difficulty_last, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        d_mean = d_last + spread(sums.difficulty_dev_sum, 0.0) / blocks
    end_height = before + np.cumsum(blocks)
    fees_missing = spread(sums.fees_missing, False)
    return BlockDays(
        day=first_day + np.arange(n).astype("timedelta64[D]"),
        blocks=blocks,
        end_height=end_height,
        fees_sat=np.where(fees_missing, 0, spread(sums.fees_sat, 0)),
        fees_known=~fees_missing,
        issuance_sat=spread(sums.issuance_sat, 0),
        subsidy_scheduled=spread(sums.subsidy_scheduled, False),
        supply_sat=supply_sat_array(end_height),
        difficulty_mean=np.where(blocks > 0, d_mean, np.nan),
        difficulty_last=d_last,
        provisional=spread(sums.max_height, -1) > tip_height - PROVISIONAL_DEPTH,
    )


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
    """Each covered day's figures from the held blocks: :func:`days_from_sums` of their
    :func:`day_sums`.

    Parameters
    ----------
    height, time, difficulty, fees_sat, subsidy_sat : arrays
        Held blocks ascending by height from the lowest held one (``first_height``), every
        block stamped before the end of ``days[1]`` at least (later ones are ignored):
        header time in unix seconds, difficulty (float), fees and subsidy in satoshis (-1
        unknown).
    days, first_height, tip_height :
        As :func:`days_from_sums` takes them.
    """
    sums = day_sums(height, time, difficulty, fees_sat, subsidy_sat)
    return days_from_sums(sums, days, first_height=first_height, tip_height=tip_height)
