"""The calibration picture of the walk-forward backtest as a PNG (``backtest difficulty
--walk-forward --png FILE``).

Presentation only, drawn like :mod:`.png` (matplotlib's object API on the Agg canvas, no
pyplot): the PIT histogram of the change (the share of forecasts whose realised change fell
in each tenth of the predictive distribution; flat at 10% when calibrated) and the coverage
of the 90% interval by progress level, for ours, the adaptive forecaster and the baseline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from minerwatch.errors import InputError
from minerwatch.present.png import DPI, WIDTH_IN

#: The forecasters drawn and their colours (ours red, as in the report's difficulty chart).
_DRAWN = {"ours": "#d62728", "adaptive": "#1f77b4", "baseline": "#7f7f7f"}


def calibration_figure(wf: Any, data: str = "daily") -> Any:
    """The matplotlib Figure: PIT histogram (left) and coverage by level (right) of ``wf``
    (a :class:`~minerwatch.analyses.backtest.WalkForwardBacktest`) on ``data``."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, 4.6), dpi=DPI, layout="constrained")
    pit_ax, cover_ax = fig.subplots(1, 2)
    fig.suptitle(
        f"Walk-forward calibration of the retarget forecasts ({data} data, epochs from "
        f"{wf.scored_from[:4]})",
        x=0.01,
        ha="left",
        fontsize=13,
        fontweight="bold",
    )
    hist = {
        h["model"]: np.asarray(h["counts"], np.float64)
        for h in wf.pit_histogram
        if h["data"] == data
    }
    hist = {m: c for m, c in hist.items() if m in _DRAWN and c.sum() > 0}
    width = 0.8 / max(len(hist), 1)
    for i, (model, counts) in enumerate(hist.items()):
        x = np.arange(10) + (i - (len(hist) - 1) / 2) * width
        pit_ax.bar(x, 100.0 * counts / counts.sum(), width, color=_DRAWN[model], label=model)
    pit_ax.axhline(10.0, color="#333333", ls="--", lw=1.0, label="calibrated")
    pit_ax.set_xticks(range(10), [f"{d / 10:.1f}" for d in range(10)], fontsize=8)
    pit_ax.set_xlabel("PIT of the realised change (tenth of the predictive, from)")
    pit_ax.set_ylabel("forecasts, %")
    pit_ax.set_title("PIT histogram of the change", loc="left", fontsize=10)
    pit_ax.grid(axis="y", color="#e5e5e5")
    pit_ax.legend(fontsize=8, frameon=False)
    rows = [r for r in wf.rows if r.data == data and r.level_pct is not None]
    levels = sorted({r.level_pct for r in rows})
    for model, color in _DRAWN.items():
        cover = [
            next(r.coverage_change_pct for r in rows if r.level_pct == lv and r.model == model)
            for lv in levels
        ]
        cover_ax.plot(range(len(levels)), cover, marker="o", color=color, label=model)
    cover_ax.axhspan(86.0, 94.0, color="#2ca02c", alpha=0.12, lw=0, label="86-94%")
    cover_ax.axhline(90.0, color="#333333", ls="--", lw=1.0)
    cover_ax.set_xticks(range(len(levels)), [f"{lv}%" for lv in levels])
    cover_ax.set_xlabel("progress of the epoch when forecast")
    cover_ax.set_ylabel("realised changes inside the 90% interval, %")
    cover_ax.set_title("Coverage of the 90% interval by level", loc="left", fontsize=10)
    cover_ax.grid(color="#e5e5e5")
    cover_ax.legend(fontsize=8, frameon=False)
    return fig


def write_calibration_png(wf: Any, path: str | Path, data: str = "daily") -> Path:
    """Draw :func:`calibration_figure` to ``path``; the path written.

    Raises :class:`~minerwatch.errors.InputError` when the file cannot be written.
    """
    path = Path(path)
    fig = calibration_figure(wf, data)
    try:
        fig.savefig(path, dpi=DPI, facecolor="white")
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", path=str(path)) from None
    return path
