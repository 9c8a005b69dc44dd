"""The report people read: a written brief (:mod:`.brief`), the figures and series behind the
charts (:mod:`.data`), and their presentation as one self-contained HTML file
(:mod:`.html`) and PNG images (:mod:`.png`), both drawn from the same chart specifications
(:mod:`.charts`).

Importing this package loads neither plotly nor matplotlib: :func:`write_report` and
:func:`write_pngs` import them when called, so ``minerwatch status`` starts without them.
"""

from __future__ import annotations

from .brief import Brief, Sentence, brief
from .data import Period, ReportData, report_data


def write_report(*args, **kwargs):
    """:func:`minerwatch.report.html.write_report` (imports plotly when called)."""
    from .html import write_report as _write_report

    return _write_report(*args, **kwargs)


def write_pngs(*args, **kwargs):
    """:func:`minerwatch.report.png.write_pngs` (imports matplotlib when called)."""
    from .png import write_pngs as _write_pngs

    return _write_pngs(*args, **kwargs)


__all__ = [
    "Brief",
    "Period",
    "ReportData",
    "Sentence",
    "brief",
    "report_data",
    "write_pngs",
    "write_report",
]
