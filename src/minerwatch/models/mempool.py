"""mempool.space's next-difficulty-adjustment estimate (``calcDifficultyAdjustment``),
ported exactly: the baseline minerwatch's own forecast is measured against.

References
----------
mempool/mempool ``backend/src/api/difficulty-adjustment.ts`` (``calcDifficultyAdjustment``)
and ``backend/src/__tests__/api/difficulty-adjustment.test.ts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from minerwatch.serialize import Jsonable


@dataclass(frozen=True)
class MempoolAdjustment(Jsonable):
    """The result of mempool.space's ``calcDifficultyAdjustment``, field for field.

    Times in milliseconds except ``previous_time`` (seconds, as mempool returns it);
    percentages in percent. :meth:`to_dict` gives mempool's keys: each field's name in
    camelCase.
    """

    progress_percent: float
    difficulty_change: float
    estimated_retarget_date: float
    remaining_blocks: int
    remaining_time: float
    previous_retarget: float
    previous_time: int
    next_retarget_height: int
    time_avg: float
    adjusted_time_avg: float
    time_offset: float
    expected_blocks: float

    def to_dict(self) -> dict[str, Any]:
        """mempool's result object: the fields under their camelCase names."""
        return {_camel_case(k): v for k, v in super().to_dict().items()}


def _camel_case(name: str) -> str:
    """``snake_case`` as ``camelCase``: ``time_avg`` -> ``timeAvg``."""
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def mempool_baseline(
    da_time: ArrayLike,
    quarter_epoch_time: ArrayLike,
    now_seconds: ArrayLike,
    block_height: ArrayLike,
    previous_retarget: ArrayLike,
    latest_block_timestamp: ArrayLike,
    network: str = "mainnet",
) -> dict[str, np.ndarray]:
    """mempool.space's next-adjustment estimate, vectorised, operation for operation.

    Formula (``blocks = height % 2016``, ``diff = max(0, now - DATime)``):

    - first 503 blocks of an epoch, with the time of the block 503 back: the expected
      change from a sliding window of 504 blocks, the previous epoch's part rescaled by
      its retarget: ``span = diff + (DATime - quarterTime) * (1 + prev / 100)``,
      ``change = 600 / (span / 504) - 1``, mean interval ``span / 503``;
    - otherwise ``change = 600 / (timespan / (blocks + 1)) - 1`` with ``timespan = now -
      DATime``, or ``latest block time - DATime`` once the epoch's last block (2015) is in
      (the change is then locked); mean interval ``diff / blocks``;
    - change in percent clamped to [-75, +300]; date = ``now + (2016 - blocks) *
      floor(mean interval in ms)``. Testnet caps the interval at 20 minutes.

    Parameters
    ----------
    da_time : array_like
        Time of the epoch's first block (the last difficulty adjustment), unix seconds.
    quarter_epoch_time : array_like
        Time of block ``height - 503``, unix seconds; NaN or 0 where unknown (the sliding
        window is then skipped, as in mempool when its lookup fails).
    now_seconds : array_like
        Current time, unix seconds.
    block_height : array_like
        Current tip height.
    previous_retarget : array_like
        Percent change of the last adjustment.
    latest_block_timestamp : array_like
        Tip's header time, unix seconds (used once the change is locked, and on testnet).
    network : str, default "mainnet"
        ``"testnet"`` applies mempool's 20-minute cap.

    Returns
    -------
    dict of ndarray
        mempool's fields, snake_case: ``progress_percent``, ``difficulty_change``
        (percent), ``estimated_retarget_date`` (ms), ``remaining_blocks``,
        ``remaining_time`` (ms), ``previous_retarget``, ``previous_time`` (s),
        ``next_retarget_height``, ``time_avg``, ``adjusted_time_avg`` (ms),
        ``time_offset`` (ms), ``expected_blocks``.

    References
    ----------
    mempool/mempool ``backend/src/api/difficulty-adjustment.ts``, ``calcDifficultyAdjustment``
    (the version with the 504-block sliding window; tested against that repository's
    ``backend/src/__tests__/api/difficulty-adjustment.test.ts`` vectors).
    """
    f = np.float64
    da = np.asarray(da_time, f)
    qt = np.asarray(quarter_epoch_time, f)
    now = np.asarray(now_seconds, f)
    height = np.asarray(block_height, np.int64)
    prev = np.asarray(previous_retarget, f)
    latest = np.asarray(latest_block_timestamp, f)
    epoch_len, target, testnet_max = 2016, 600.0, 1200.0

    diff_seconds = np.maximum(0.0, now - da)
    blocks_in_epoch = np.where(height >= 0, height % epoch_len, 0)
    progress = np.where(height >= 0, blocks_in_epoch / epoch_len * 100, 100.0)
    remaining_blocks = epoch_len - blocks_in_epoch
    next_height = np.where(height >= 0, height + remaining_blocks, 0)
    expected_blocks = diff_seconds / target
    actual_timespan = np.where(blocks_in_epoch == 2015, latest, now) - da

    with np.errstate(divide="ignore", invalid="ignore"):
        time_avg_s = np.where(blocks_in_epoch != 0, diff_seconds / blocks_in_epoch, target)
        windowed = np.isfinite(qt) & (qt != 0) & (blocks_in_epoch < 503)
        time_last_epoch = da - qt
        adjusted_last = time_last_epoch * (1 + (prev / 100))
        adjusted_span = diff_seconds + adjusted_last
        change = np.where(
            windowed,
            (target / (adjusted_span / 504) - 1) * 100,
            (target / (actual_timespan / (blocks_in_epoch + 1)) - 1) * 100,
        )
        adjusted_avg_s = np.where(windowed, adjusted_span / 503, time_avg_s)
    change = np.where(change > 300, 300.0, change)
    change = np.where(change < -75, -75.0, change)

    time_offset = np.zeros_like(now)
    if network == "testnet":
        time_avg_s = np.where(time_avg_s > testnet_max, testnet_max, time_avg_s)
        since_last = now - latest
        time_offset = np.where(
            since_last + time_avg_s > testnet_max,
            -np.minimum(since_last, testnet_max) * 1000,
            0.0,
        )
    time_avg = np.floor(time_avg_s * 1000)
    adjusted_avg = np.floor(adjusted_avg_s * 1000)
    remaining_time = remaining_blocks * adjusted_avg
    return {
        "progress_percent": progress,
        "difficulty_change": change,
        "estimated_retarget_date": remaining_time + now * 1000,
        "remaining_blocks": remaining_blocks,
        "remaining_time": remaining_time,
        "previous_retarget": prev,
        "previous_time": da,
        "next_retarget_height": next_height,
        "time_avg": time_avg,
        "adjusted_time_avg": adjusted_avg,
        "time_offset": time_offset,
        "expected_blocks": expected_blocks,
    }


def calc_difficulty_adjustment(
    da_time: int,
    quarter_epoch_time: int | None,
    now_seconds: int,
    block_height: int,
    previous_retarget: float,
    network: str = "mainnet",
    latest_block_timestamp: int = 0,
) -> MempoolAdjustment:
    """mempool.space's ``calcDifficultyAdjustment`` for one tip, same arguments in the
    same order (``quarter_epoch_time`` None where unknown).

    See :func:`mempool_baseline` for the formula. Returns a :class:`MempoolAdjustment`
    whose :meth:`~MempoolAdjustment.to_dict` equals mempool's result object.

    References
    ----------
    mempool/mempool ``backend/src/api/difficulty-adjustment.ts``.
    """
    r = mempool_baseline(
        da_time,
        np.nan if quarter_epoch_time is None else quarter_epoch_time,
        now_seconds,
        block_height,
        previous_retarget,
        latest_block_timestamp,
        network,
    )
    v = {k: a.item() for k, a in r.items()}
    for k in ("remaining_blocks", "next_retarget_height", "previous_time"):
        v[k] = int(v[k])
    v["previous_retarget"] = previous_retarget
    return MempoolAdjustment(**v)
