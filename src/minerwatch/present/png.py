"""The report's charts as PNG images (``minerwatch report --png DIR``).

Presentation only: each :class:`~.charts.Chart` is drawn with matplotlib's object API on
the Agg canvas (no pyplot, no display, no browser, the process's backend untouched), from
the same specification the HTML report draws with Plotly. matplotlib is imported only here.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from minerwatch.errors import InputError
from minerwatch.present.charts import Chart

DPI = 150
WIDTH_IN = 11.0
# Caption lines wrap at this many characters (8.5 pt over the 11-inch width).
CAPTION_CHARS = 125
# Log axes spanning fewer decades than this label their minor ticks too (2, 3, ... 9 x 10^k);
# wider ones label the powers of ten only.
LOG_MINOR_LABEL_DECADES = 1.5
_LINESTYLE = {"solid": "-", "dash": "--", "dot": ":"}
_MARKER = {"circle": "o", "diamond": "D", "x": "x"}
_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def _t(text: str) -> str:
    """Text for matplotlib: a literal ``$`` (matplotlib reads ``$...$`` as mathematics)."""
    return text.replace("$", r"\$")


def _si(v: float) -> str:
    for scale, suffix in _SI:
        if abs(v) >= scale:
            return f"{v / scale:g}{suffix}"
    return f"{v:g}"


def _log_label(v: float, prefix: str) -> str:
    return _t(f"{prefix}{v:,.0f}" if v >= 1 else f"{prefix}{v:g}")


def _formatter(axis) -> object:
    from matplotlib.ticker import FuncFormatter

    prefix = "$" if axis.dollars else ""
    if axis.log:
        return FuncFormatter(lambda v, _: _log_label(v, prefix))
    if axis.si:
        return FuncFormatter(lambda v, _: _t(f"{prefix}{_si(v)}"))
    if axis.dollars:
        return FuncFormatter(lambda v, _: _t(f"{prefix}{v:,.4g}"))
    return None


def draw(chart: Chart, as_of: str):
    """The matplotlib :class:`~matplotlib.figure.Figure` of ``chart``."""
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    n = len(chart.panels)
    height = max(4.8, chart.height_px / 96)
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    fig.suptitle(_t(chart.title), x=0.01, ha="left", fontsize=14, fontweight="bold")
    lines = textwrap.wrap(chart.subtitle, CAPTION_CHARS)
    lines += textwrap.wrap(chart.note, CAPTION_CHARS)
    axes[0].set_title(_t("\n".join(lines)), loc="left", fontsize=8.5, color="#333333")
    for ax in axes:
        ax.set_axisbelow(True)

    if chart.kind == "bar":
        ax = axes[0]
        position = {name: i for i, name in enumerate(chart.categories)}
        for s in chart.series:
            ys = [position[str(name)] for name in s.y]
            ax.barh(ys, s.x, color=s.color, height=0.7, label=_t(s.name))
        ax.set_yticks(range(len(chart.categories)), chart.categories, fontsize=7.5)
        ax.set_ylim(len(chart.categories) - 0.5, -0.5)  # first category on top
        ax.set_xlabel(_t(chart.x_title))
        ax.xaxis.set_major_formatter(_formatter_dollars())
        ax.grid(axis="x", color="#e5e5e5")
    else:
        for i, panel in enumerate(chart.panels):
            ax = axes[i]
            areas = [s for s in chart.series if s.panel == i and s.style == "area"]
            if areas:
                ax.stackplot(
                    areas[0].x,
                    *[s.y for s in areas],
                    labels=[_t(s.name) for s in areas],
                    colors=[s.color for s in areas],
                    alpha=0.9,
                    linewidth=0,
                )
            for s in chart.series:
                if s.panel != i or s.style == "area":
                    continue
                label = _t(s.name) if s.legend else None
                if s.style == "step":
                    ax.step(s.x, s.y, where="post", color=s.color, lw=s.width, label=label)
                elif s.style == "marker":
                    ax.plot(
                        s.x,
                        s.y,
                        linestyle="none",
                        marker=_MARKER.get(s.marker, "o"),
                        ms=6,
                        mew=1.5,
                        color=s.color,
                        label=label,
                    )
                else:
                    ax.plot(
                        s.x,
                        s.y,
                        color=s.color,
                        lw=s.width,
                        ls=_LINESTYLE.get(s.dash, "-"),
                        label=label,
                    )
            if panel.log:
                ax.set_yscale("log")
            fmt = _formatter(panel)
            if fmt is not None:
                ax.yaxis.set_major_formatter(fmt)
            elif not panel.log:
                ax.ticklabel_format(axis="y", style="plain", useOffset=False)
            if panel.log:
                _log_minor_labels(ax, "$" if panel.dollars else "")
            ax.set_ylabel(_t(panel.title))
            ax.grid(color="#e5e5e5")
            for shade in chart.shades:
                for j, (start, end) in enumerate(shade.periods):
                    ax.axvspan(
                        start,
                        end,
                        color=shade.color,
                        alpha=shade.opacity,
                        lw=0,
                        label=_t(shade.label) if (i == 0 and j == 0) else None,
                        zorder=0,
                    )
        first = mdates.date2num(chart.series[0].x[0])
        last = max(mdates.date2num(np.max(s.x)) for s in chart.series if len(s.x))
        axes[-1].set_xlim(first, last + chart.x_pad * (last - first))
        # Ticks at years, months or days as the span needs, each labelled once (a short
        # span gets day-level ticks, never "Aug 2010" twice).
        locator = mdates.AutoDateLocator(minticks=5, maxticks=12)
        axes[-1].xaxis.set_major_locator(locator)
        axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    for ref in chart.lines:
        for ax in axes:
            if ref.x is not None:
                line = ax.axvline
                at = ref.x
            else:
                line = ax.axhline
                at = ref.y
            line(
                at,
                color=ref.color,
                ls=_LINESTYLE[ref.dash],
                lw=1.1,
                label=_t(ref.label) if ax is axes[0] else None,
            )
    handles, labels = [], []
    for ax in axes:
        h, lab = ax.get_legend_handles_labels()
        handles += h
        labels += lab
    if handles:
        ncol = len(handles) if len(handles) <= 5 else -(-len(handles) // 2)
        fig.legend(
            handles, labels, loc="outside lower center", ncol=ncol, frameon=False, fontsize=9
        )
    fig.text(
        0.995,
        0.995,
        _t(f"minerwatch, as of {as_of}"),
        ha="right",
        va="top",
        fontsize=7,
        color="#888888",
    )
    return fig


def _log_minor_labels(ax, prefix: str) -> None:
    """Minor ticks of a log axis: labelled like the major ones (``$0.06`` beside ``$0.1``,
    never ``6x10^-2``) when the axis spans fewer than :data:`LOG_MINOR_LABEL_DECADES`
    decades, where the powers of ten alone leave too few labels; unlabelled otherwise."""
    import math

    from matplotlib.ticker import FuncFormatter, NullFormatter

    low, high = ax.get_ylim()  # autoscaled to the data drawn
    narrow = low > 0 and math.log10(high / low) < LOG_MINOR_LABEL_DECADES
    ax.yaxis.set_minor_formatter(
        FuncFormatter(lambda v, _: _log_label(v, prefix)) if narrow else NullFormatter()
    )


def _formatter_dollars():
    """Dollar ticks with as many decimals as the ticks need to differ (``$0.025``, not
    ``$0.03``, on an axis of steps of 0.025), at least cents."""
    from matplotlib.ticker import FuncFormatter

    def label(v: float, _: object) -> str:
        text = f"{v:.2f}"
        for decimals in (2, 3, 4):  # the fewest that show the value exactly
            text = f"{v:.{decimals}f}"
            if abs(float(text) - v) < 1e-9:
                break
        return _t(f"${text}")

    return FuncFormatter(label)


def write_pngs(charts: list[Chart], folder: str | Path, *, as_of: str) -> list[Path]:
    """Draw every chart to ``folder/<key>.png`` (the folder is created); the paths written.

    Raises :class:`~minerwatch.errors.InputError` when the folder or a file cannot be
    written.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot create the PNG folder: {exc.strerror or exc}", path=str(folder)
        ) from None
    paths = []
    for chart in charts:
        path = folder / f"{chart.key}.png"
        fig = draw(chart, as_of)
        try:
            fig.savefig(path, dpi=DPI, facecolor="white")
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror or exc}", path=str(path)) from None
        paths.append(path)
    return paths
