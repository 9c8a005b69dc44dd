"""Mainnet-like block chains for tests and benchmarks, from the real data set.

:func:`epoch_chain` gives every block of a height range its epoch's real compact bits
(``difficulty_epochs.csv``) and a header time: the real one where
``blocks_915264_919296.csv`` has it, else the epochs' real start times interpolated linearly
inside each epoch (epochs without a start time are skipped as knots; beyond the last knot,
600 s a block), rising by at least a second a block so every time is above the median of
the previous 11. Optional economics: each block's scheduled subsidy and a made-up but
deterministic fee. :func:`write_blocks_csv` writes the ``minerwatch import blocks`` form.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from minerwatch.chain.consensus import difficulty_to_bits, subsidy_sat_array

GENESIS_TIME = 1_231_006_505


def _bits_of(difficulty: float, cell: str) -> int:
    frac = cell.partition(".")[2]
    return difficulty_to_bits(difficulty, decimals=len(frac) if frac.isdigit() else None)


def epoch_chain(
    epochs_csv: Path,
    first_height: int,
    last_height: int,
    *,
    real_times_csv: Path | None = None,
    economics: bool = False,
) -> dict[str, np.ndarray]:
    """Blocks ``first_height .. last_height``: arrays ``height``, ``time`` (unix seconds),
    ``bits`` and, with ``economics``, ``fees_sat`` and ``subsidy_sat`` (see the module)."""
    with epochs_csv.open(newline="") as f:
        epochs = list(csv.DictReader(f))
    start = np.array([int(r["start_height"]) for r in epochs], np.int64)
    t0 = np.array([int(r["start_time"]) if r["start_time"] else -1 for r in epochs], np.int64)
    t0[start == 0] = GENESIS_TIME
    bits = np.array([_bits_of(float(r["difficulty"]), r["difficulty"]) for r in epochs], np.int64)
    knot_h, knot_t = start[t0 >= 0], t0[t0 >= 0]
    real_h = real_t = np.zeros(0, np.int64)
    if real_times_csv is not None:
        real = np.loadtxt(real_times_csv, delimiter=",", skiprows=1, dtype=np.int64, ndmin=2)
        real_h, real_t = real[:, 0], real[:, 1]
        keep = (knot_h < real_h[0]) | (knot_h > real_h[-1])
        knot_h, knot_t = knot_h[keep], knot_t[keep]
        # The real times' first and last as knots (their own order is kept below).
        order = np.argsort(np.concatenate([knot_h, real_h[[0, -1]]]))
        knot_h = np.concatenate([knot_h, real_h[[0, -1]]])[order]
        knot_t = np.concatenate([knot_t, real_t[[0, -1]]])[order]
    top = max(int(knot_h[-1]), last_height) + 1
    knot_h = np.append(knot_h, top).astype(np.float64)
    knot_t = np.append(knot_t, knot_t[-1] + 600 * (top - knot_h[-1])).astype(np.float64)
    height = np.arange(first_height, last_height + 1, dtype=np.int64)
    block_time = np.floor(np.interp(height, knot_h, knot_t)).astype(np.int64)
    # Strictly rising times (so median-time-past holds) where two knots are close.
    block_time = np.maximum.accumulate(block_time - height) + height
    if len(real_h):
        at = np.searchsorted(real_h, height)
        hit = (at < len(real_h)) & (real_h[np.minimum(at, len(real_h) - 1)] == height)
        block_time[hit] = real_t[at[hit]]
    epoch = np.clip(np.searchsorted(start, height, side="right") - 1, 0, len(start) - 1)
    out = {"height": height, "time": block_time, "bits": bits[epoch]}
    if economics:
        out["subsidy_sat"] = subsidy_sat_array(height)
        out["fees_sat"] = 2_000_000 + (height * 7_919) % 3_000_000
    return out


def write_blocks_csv(path: Path, blocks: dict[str, np.ndarray]) -> Path:
    """Write ``blocks`` as ``height,time,bits[,fees_sat,subsidy_sat]`` (bits as Core's 8
    hex digits); returns ``path``."""
    names = [n for n in ("height", "time", "bits", "fees_sat", "subsidy_sat") if n in blocks]
    cells = [
        np.char.mod("%08x", blocks[n]) if n == "bits" else blocks[n].astype(str) for n in names
    ]
    body = cells[0]
    for column in cells[1:]:
        body = np.char.add(np.char.add(body, ","), column)
    path.write_text(",".join(names) + "\n" + "\n".join(body.tolist()) + "\n")
    return path
