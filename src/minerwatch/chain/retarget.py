"""Exact difficulty retargets recomputed from per-block data.

For the epoch of blocks ``s .. s + 2015`` (``s`` a multiple of 2016), Bitcoin Core computes
the bits of block ``s + 2016`` from three facts only: the header time of the epoch's first
block (height ``s``), that of its last block (``s + 2015``), and the last block's bits
(``CalculateNextWorkRequired`` in ``src/pow.cpp``)::

    timespan = t(s + 2015) - t(s)                        # 2015 intervals, may be < 0
    clamped  = min(max(timespan, 302,400), 4,838,400)    # x4 either way
    target'  = min(target(bits) * clamped // 1,209,600, pow_limit)
    bits'    = GetCompact(target')                       # truncates the mantissa

Header times need not increase with height (a block's time must only exceed the median of
the previous 11 and lie less than 2 hours ahead), so the timespan uses those two blocks'
times as they are, never the earliest and latest times of the epoch. Units: heights, unix
seconds, compact bits; difficulty dimensionless.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerwatch.chain.consensus import (
    MAX_TIMESPAN_S,
    MIN_TIMESPAN_S,
    POW_LIMIT,
    RETARGET_INTERVAL,
    TARGET_TIMESPAN_S,
    bits_to_difficulty,
    bits_to_target,
    clamped_timespan,
    difficulty_to_bits,
    next_bits,
    retarget_timespan,
)
from minerwatch.errors import InputError
from minerwatch.serialize import Jsonable


@dataclass(frozen=True)
class RetargetResult(Jsonable):
    """One retarget recomputed from block data.

    ``epoch_start_height`` is the ending epoch's first block, ``next_height`` (= start +
    2016) the first block carrying ``next_bits``. ``first_time`` and ``last_time`` are the
    header times of blocks ``start`` and ``start + 2015`` (unix seconds); ``timespan_s``
    their difference (may be negative) and ``timespan_clamped_s`` what consensus uses;
    ``clamp`` is ``"min"`` or ``"max"`` when a bound applied, else None. ``pow_limited`` says
    the new target was capped at the proof-of-work limit. ``change_pct`` =
    ``100 * (next_difficulty / prev_difficulty - 1)``. ``stored_next_bits`` is the epochs
    table's bits of the next epoch, and ``matches`` whether they equal ``next_bits`` (both
    None when the table lacks that epoch or was not consulted).
    """

    epoch_start_height: int
    next_height: int
    first_time: int
    last_time: int
    timespan_s: int
    timespan_clamped_s: int
    clamp: str | None
    pow_limited: bool
    prev_bits: int
    prev_difficulty: float
    next_bits: int
    next_difficulty: float
    change_pct: float
    stored_next_bits: int | None = None
    matches: bool | None = None


def _row_of(heights: np.ndarray, height: int, role: str, start: int) -> int:
    rows = np.flatnonzero(heights == height)
    if rows.size == 0:
        raise InputError(
            f"block {height} ({role} block of the epoch starting at {start}) is not in the "
            "block data; expected blocks covering the whole epoch"
        )
    if rows.size > 1:
        raise InputError(f"block {height} appears {rows.size} times; expected unique heights")
    return int(rows[0])


def _bits_at(values: np.ndarray, row: int, height: int) -> int:
    """Compact bits from an array of bits (integers, -1 unknown) or difficulties (floats,
    NaN unknown)."""
    value = values[row]
    if values.dtype.kind in "iu":
        if value < 0:
            raise InputError(f"bits of block {height} are unknown; expected bits or difficulty")
        return int(value)
    if not np.isfinite(value):
        raise InputError(f"difficulty of block {height} is unknown; expected bits or difficulty")
    return difficulty_to_bits(float(value))


def retarget_from_blocks(
    heights: np.ndarray,
    times: np.ndarray,
    bits_or_difficulty: np.ndarray,
    epoch_start_height: int,
    *,
    stored_next_bits: int | None = None,
) -> RetargetResult:
    """The retarget at the end of the epoch starting at ``epoch_start_height``, exactly as
    Bitcoin Core computes it (see the module docstring for the formula).

    Parameters
    ----------
    heights : ndarray of int
        Block heights; must include ``epoch_start_height`` and ``epoch_start_height + 2015``.
    times : ndarray of int
        Header times of those blocks, unix seconds.
    bits_or_difficulty : ndarray
        Compact bits (integer dtype, -1 unknown) or Core difficulty (float dtype, NaN
        unknown) of each block; the epoch's last block's value is used, as Core uses
        ``pindexLast->nBits``.
    epoch_start_height : int
        First height of the ending epoch, a multiple of 2016.
    stored_next_bits : int, optional
        The next epoch's bits as stored elsewhere (the epochs table), to compare.

    Returns
    -------
    RetargetResult
        Next bits and difficulty, raw and clamped timespan (seconds), change in percent.

    References
    ----------
    Bitcoin Core ``src/pow.cpp`` ``CalculateNextWorkRequired``; ``src/arith_uint256.cpp``
    ``GetCompact``; ``src/rpc/blockchain.cpp`` ``GetDifficulty``.
    """
    start = int(epoch_start_height)
    if start < 0 or start % RETARGET_INTERVAL:
        raise InputError(f"epoch start height {start} is not a non-negative multiple of 2016")
    heights = np.asarray(heights, np.int64)
    times = np.asarray(times, np.int64)
    values = np.asarray(bits_or_difficulty)
    last = start + RETARGET_INTERVAL - 1
    first_row = _row_of(heights, start, "first", start)
    last_row = _row_of(heights, last, "last", start)
    prev = _bits_at(values, last_row, last)
    first_time, last_time = int(times[first_row]), int(times[last_row])
    timespan = retarget_timespan(first_time, last_time)
    clamped = clamped_timespan(timespan)
    new_bits = next_bits(prev, first_time, last_time)
    prev_d, next_d = bits_to_difficulty(prev), bits_to_difficulty(new_bits)
    clamp = "min" if timespan < MIN_TIMESPAN_S else "max" if timespan > MAX_TIMESPAN_S else None
    return RetargetResult(
        epoch_start_height=start,
        next_height=start + RETARGET_INTERVAL,
        first_time=first_time,
        last_time=last_time,
        timespan_s=timespan,
        timespan_clamped_s=clamped,
        clamp=clamp,
        pow_limited=bits_to_target(prev) * clamped // TARGET_TIMESPAN_S > POW_LIMIT,
        prev_bits=prev,
        prev_difficulty=prev_d,
        next_bits=new_bits,
        next_difficulty=next_d,
        change_pct=100.0 * (next_d / prev_d - 1.0),
        stored_next_bits=stored_next_bits,
        matches=None if stored_next_bits is None else new_bits == stored_next_bits,
    )
