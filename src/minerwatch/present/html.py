"""The report as one self-contained HTML file (``minerwatch report``).

Presentation only: :func:`render_html` formats a :class:`~.data.ReportData` (the brief, the
snapshot, the signals, the episodes, the machines) and draws the charts of :mod:`.charts`
with plotly.js. plotly.js (from the installed plotly package) is embedded once, inline, so
the file opens offline: no CDN, no network, no file beside it.
"""

from __future__ import annotations

import base64
import functools
import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from minerwatch._version import __version__
from minerwatch.analyses.report import ReportData, report_data
from minerwatch.errors import InputError
from minerwatch.present import format as fmt
from minerwatch.present.brief import compose
from minerwatch.present.charts import Chart, build_charts
from minerwatch.present.columns import (
    MACHINE_COLUMNS,
    episode_columns,
    machine_rows,
    revenue_split,
)
from minerwatch.store import Store, open_store

PLOTLY_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}
_DASH = {"solid": "solid", "dash": "dash", "dot": "dot"}
_SYMBOL = {"circle": "circle", "diamond": "diamond", "x": "x-thin-open"}

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a;
  max-width: 1100px; margin: 0 auto; padding: 1.5rem; line-height: 1.5; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
.meta { color: #555; font-size: 0.92rem; }
.brief p { font-size: 1.05rem; max-width: 70ch; }
figure { margin: 1.5rem 0 2rem; }
figcaption { color: #444; font-size: 0.9rem; max-width: 90ch; }
figcaption .note { color: #1a1a1a; font-weight: 600; display: block; margin-top: 0.2rem; }
div.table { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.88rem; margin: 0.6rem 0 1rem; }
th, td { padding: 0.25rem 0.55rem; border-bottom: 1px solid #eee; text-align: left;
  vertical-align: top; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.wrap, th.wrap { white-space: normal; }
tr.underwater td { color: #b22222; }
tr.holds td:first-child { font-weight: 600; }
.dim { color: #777; }
"""


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_report` wrote: the HTML file, the PNG files (empty without a PNG
    folder) and the keys of the charts drawn."""

    as_of: str
    html: Path
    charts: list[str]
    pngs: list[Path] = field(default_factory=list)


# -- numbers as text -----------------------------------------------------------------------


def _e(x: object) -> str:
    return html.escape(str(x))


NUM, TEXT, WRAP = "num", "text", "wrap"


def _table(headers: list[tuple[str, str]], rows: list[tuple[list[str], str]]) -> str:
    """An HTML table: ``headers`` (text, kind: :data:`NUM` right-aligned, :data:`TEXT` on
    one line, :data:`WRAP` wrapping), rows of (escaped cells, row class)."""
    head = "".join(f'<th class="{k}">{_e(h)}</th>' for h, k in headers)
    body = []
    for cells, cls in rows:
        tds = "".join(f'<td class="{k}">{c}</td>' for c, (_, k) in zip(cells, headers, strict=True))
        body.append(f'<tr class="{cls}">{tds}</tr>' if cls else f"<tr>{tds}</tr>")
    return (
        f'<div class="table"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


# -- charts -------------------------------------------------------------------------------


# SI tick labels (k, M, T) from this size on; smaller numbers are written out.
SI_FROM = 1000


def _panel_top(chart: Chart, panel: int) -> float:
    """The largest finite magnitude drawn on ``panel`` (0 when none)."""
    tops = [
        float(np.nanmax(np.abs(s.y)))
        for s in chart.series
        if s.panel == panel and s.style != "bar" and np.isfinite(s.y).any()
    ]
    return max(tops, default=0.0)


#: Vertical gap between stacked panels, a fraction of the figure's height.
PANEL_SPACING = 0.08
#: Files of the installed plotly package that the page embeds: plotly.js (minified) and
#: the plotly_white template (the layout defaults plotly.py would write).
PLOTLY_JS = "package_data/plotly.min.js"
PLOTLY_TEMPLATE = "package_data/templates/plotly_white.json"


@functools.cache
def _plotly_file(name: str) -> str:
    """A file of the installed plotly package, read without importing plotly's Python
    modules (which take longer than the whole page)."""
    from importlib import resources

    return resources.files("plotly").joinpath(name).read_text(encoding="utf-8")


def plotly_js() -> str:
    """plotly.js (minified) of the installed plotly package: what the report embeds and
    ``minerwatch serve`` serves."""
    return _plotly_file(PLOTLY_JS)


def _script_json(value: object) -> str:
    """``value`` as JSON safe inside ``<script>``: no NaN, and ``</`` written ``<\\/``."""
    return json.dumps(value, allow_nan=False, separators=(",", ":")).replace("</", "<\\/")


def _data(values: object) -> object:
    """An array for plotly.js: numbers as a typed array (``{"dtype": "f8", "bdata": ...}``,
    NaN a gap, as plotly.py writes them), days as ``YYYY-MM-DD`` text, anything else as a
    list."""
    a = np.asarray(values)
    if np.issubdtype(a.dtype, np.datetime64):
        return [None if np.isnat(v) else str(v) for v in a]
    if np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_:
        raw = np.ascontiguousarray(a, dtype="<f8").tobytes()
        return {"dtype": "f8", "bdata": base64.b64encode(raw).decode("ascii")}
    return [str(v) for v in a.tolist()]


def _ref(axis: str, panel: int) -> str:
    """Plotly's name of the x or y axis of ``panel`` (0-based): ``x``, ``x2``, ..."""
    return axis if panel == 0 else f"{axis}{panel + 1}"


def _trace(s) -> dict:
    common = {"name": s.name, "showlegend": s.legend, "legendgroup": s.name}
    axes = {"xaxis": _ref("x", s.panel), "yaxis": _ref("y", s.panel)}
    points = {"x": _data(s.x), "y": _data(s.y)}
    if s.style == "bar":
        return {
            "type": "bar",
            **points,
            "orientation": "h",
            "marker": {"color": s.color},
            **common,
            **axes,
        }
    if s.style == "marker":
        marker = {"color": s.color, "symbol": _SYMBOL.get(s.marker, "circle"), "size": 11}
        marker["line"] = {"width": 2, "color": s.color}
        return {"type": "scatter", **points, "mode": "markers", "marker": marker, **common, **axes}
    if s.style == "area":
        return {
            "type": "scatter",
            **points,
            "mode": "lines",
            "stackgroup": f"stack-{s.panel}",
            "line": {"color": s.color, "width": s.width},
            "fillcolor": s.color,
            **common,
            **axes,
        }
    line = {"color": s.color, "width": s.width, "dash": _DASH.get(s.dash, "solid")}
    if s.style == "step":
        line["shape"] = "hv"
    return {"type": "scatter", **points, "mode": "lines", "line": line, **common, **axes}


#: The range buttons of a time chart: the last 3 months, 1 and 4 years, everything.
RANGE_SELECTOR = {
    "buttons": [
        {"count": 3, "label": "3m", "step": "month", "stepmode": "backward"},
        {"count": 1, "label": "1y", "step": "year", "stepmode": "backward"},
        {"count": 4, "label": "4y", "step": "year", "stepmode": "backward"},
        {"step": "all", "label": "all"},
    ],
    "x": 0,
    "y": 1.0,
    "yanchor": "bottom",
    "font": {"size": 11},
}


def _scale_menu(panels: int) -> dict[str, object]:
    """Buttons that set every panel's value axis to a linear or a log scale (the chart
    opens with its own choice, :attr:`Axis.log`)."""
    axes = [_ref("yaxis", i) for i in range(panels)]
    return {
        "type": "buttons",
        "direction": "right",
        "showactive": False,
        "x": 1.0,
        "xanchor": "right",
        "y": 1.0,
        "yanchor": "bottom",
        "pad": {"t": 0, "r": 0},
        "font": {"size": 11},
        "buttons": [
            {"label": scale, "method": "relayout", "args": [{f"{a}.type": scale for a in axes}]}
            for scale in ("linear", "log")
        ],
    }


def figure(chart: Chart) -> dict:
    """The Plotly figure of ``chart`` as plotly.js's JSON (``data``, ``layout``): its
    panels stacked on one shared time axis, ``PANEL_SPACING`` apart, in the plotly_white
    template. Built as plain data: plotly.py's graph objects would validate every value
    again, which took most of a report's time."""
    n = len(chart.panels)
    height = (1.0 - PANEL_SPACING * (n - 1)) / n
    axes: dict[str, dict[str, object]] = {}
    for i in range(n):
        top = 1.0 - i * (height + PANEL_SPACING)
        x: dict[str, object] = {"anchor": _ref("y", i), "domain": [0.0, 1.0]}
        if i < n - 1:
            x.update(matches=_ref("x", n - 1), showticklabels=False)
        axes[_ref("xaxis", i)] = x
        axes[_ref("yaxis", i)] = {"anchor": _ref("x", i), "domain": [max(top - height, 0.0), top]}
    shapes: list[dict[str, object]] = []
    annotations: list[dict[str, object]] = []
    drawn = sorted({s.panel for s in chart.series})
    for shade in chart.shades:
        for k, (start, end) in enumerate(shade.periods):
            for j, panel in enumerate(drawn):
                shapes.append(
                    {
                        "type": "rect",
                        "x0": str(start),
                        "x1": str(end),
                        "xref": _ref("x", panel),
                        "y0": 0,
                        "y1": 1,
                        "yref": f"{_ref('y', panel)} domain",
                        "fillcolor": shade.color,
                        "opacity": shade.opacity,
                        "line": {"width": 0},
                        "layer": "below",
                        "name": shade.label,
                        "legendgroup": shade.label,
                        "showlegend": k == 0 and j == 0,
                    }
                )
    for ref in chart.lines:
        value = str(ref.x) if isinstance(ref.x, np.datetime64) else ref.x
        shape: dict[str, object] = {
            "type": "line",
            "line": {"color": ref.color, "dash": ref.dash, "width": 1.2},
        }
        if ref.x is not None:
            shape.update(x0=value, x1=value, xref="x", y0=0, y1=1, yref="paper")
            label = {"x": value, "xref": "x", "y": 1, "yref": "paper", "yanchor": "bottom"}
        else:
            shape.update(y0=ref.y, y1=ref.y, yref="y", x0=0, x1=1, xref="paper")
            label = {"x": 1, "xref": "paper", "y": ref.y, "yref": "y", "xanchor": "right"}
        shapes.append(shape)
        annotations.append(
            {
                "text": _e(ref.label),
                "showarrow": False,
                "font": {"size": 11, "color": ref.color},
                **label,
            }
        )
    for i, axis in enumerate(chart.panels):
        opts: dict = {"title": {"text": axis.title}}
        if axis.log:
            opts["type"] = "log"
        if axis.dollars:
            opts["tickprefix"] = "$"
        if axis.si and _panel_top(chart, i) >= SI_FROM:
            opts["tickformat"] = "~s"  # 150T, $30M (Plotly's ~s writes 0.0004 as 400µ)
        if chart.kind == "bar":
            opts = {
                "categoryorder": "array",
                "categoryarray": list(chart.categories),
                "autorange": "reversed",
                "title": {"text": ""},
                "tickfont": {"size": 11},
            }
        axes[_ref("yaxis", i)].update(opts)
    if chart.kind == "bar":
        for i in range(n):
            axes[_ref("xaxis", i)].update(
                title={"text": chart.x_title}, tickprefix="$", tickformat=".2f", rangemode="tozero"
            )
    legend: dict[str, object] = {
        "orientation": "h",
        "yanchor": "top",
        "y": -0.08,
        "x": 0,
        "xanchor": "left",
    }
    if chart.kind == "bar":  # inside, bottom right: beside the short bars
        legend.update(yanchor="bottom", y=0.01, xanchor="right", x=0.99)
        legend["bgcolor"] = "rgba(255,255,255,0.85)"
    menus: list[dict[str, object]] = []
    if chart.kind == "time":
        axes[_ref("xaxis", 0)]["rangeselector"] = RANGE_SELECTOR
        menus.append(_scale_menu(n))
    layout: dict[str, object] = {**axes}
    layout.update(
        updatemenus=menus,
        template=json.loads(_plotly_file(PLOTLY_TEMPLATE)),
        title={"text": chart.title, "x": 0.01, "xanchor": "left"},
        height=chart.height_px,
        margin={"l": 70, "r": 30, "t": 60, "b": 40},
        legend=legend,
        hovermode="x unified" if chart.kind == "time" else "closest",
        barmode="overlay",
        shapes=shapes,
        annotations=annotations,
    )
    return {"data": [_trace(s) for s in chart.series], "layout": layout}


def chart_html(chart: Chart) -> str:
    """``chart`` as a ``<figure>``: the Plotly div and its script (plotly.js not included),
    the subtitle and the note as its caption."""
    div_id = f"chart-{chart.key}"
    fig = figure(chart)
    args = ", ".join(_script_json(x) for x in (div_id, fig["data"], fig["layout"], PLOTLY_CONFIG))
    div = (
        f'<div id="{_e(div_id)}" class="plotly-graph-div" '
        f'style="height:{chart.height_px}px; width:100%;"></div>'
        f"<script>Plotly.newPlot({args});</script>"
    )
    note = f'<span class="note">{_e(chart.note)}</span>' if chart.note else ""
    return (
        f'<figure id="{_e(chart.key)}">{div}<figcaption>{_e(chart.subtitle)}{note}</figcaption>'
        "</figure>"
    )


# -- tables -------------------------------------------------------------------------------


def snapshot_table(d: ReportData) -> str:
    """The status figures of ``as_of`` with their units (``minerwatch status``)."""
    s = d.status
    hr = s.hashrate_ehs
    hp = d.hashprice_day
    rib = s.hash_ribbons
    # One unit for every hashrate of the table (as the terminal's panel and the brief).
    windows = ("1d", "7d", "30d", "60d")
    *hr_text, ath, sma30, sma60 = fmt.hashrates(
        [hr.get(k) for k in windows] + [s.hashrate_ath_ehs, rib.sma30_ehs, rib.sma60_ehs]
    )
    h = dict(zip(windows, hr_text, strict=True))
    rows: list[tuple[str, str, str]] = [
        ("Price (close)", fmt.usd(s.price_usd), s.price_source or "no source"),
        (
            "From the all-time high",
            fmt.pct(s.price_drawdown_pct),
            f"high {fmt.usd(s.price_ath_usd)} on {s.price_ath_date or 'n/a'}",
        ),
        (
            "Price change, 7 / 30 days",
            f"{fmt.pct(s.price_change_7d_pct)} / {fmt.pct(s.price_change_30d_pct)}",
            "",
        ),
        (
            "Production cost",
            fmt.usd(s.production_cost_usd),
            f"USD per BTC, {s.production_cost_model}; price vs cost {fmt.pct(s.price_to_cost_pct)}",
        ),
        ("Height", fmt.number(s.height, ",d"), f"{fmt.count(s.blocks_1d, 'block')} on the day"),
        ("Difficulty", fmt.difficulty(s.difficulty), s.difficulty_method),
    ]
    na = s.next_adjustment
    if na and na.change_pct is not None:
        rows.append(
            (
                "Next adjustment",
                fmt.pct(na.change_pct),
                f"90% {fmt.pct(na.change_pct_low)} to {fmt.pct(na.change_pct_high)}; block "
                f"{na.height:,} around {fmt.when(na.date)} "
                f"(90% {fmt.when(na.date_low)} to {fmt.when(na.date_high)})",
            )
        )
    rows += [
        (
            "Hashrate 1d / 7d / 30d / 60d",
            " / ".join(hr_text),
            "trailing means of the daily estimate",
        ),
        (
            "Hashrate high (7-day mean)",
            ath,
            f"on {s.hashrate_ath_date or 'n/a'}; now {fmt.pct(s.hashrate_drawdown_pct)}",
        ),
        (
            "Mean block interval, 7 days",
            fmt.number(s.block_interval_min_7d),
            "minutes (target: 10 minutes)",
        ),
        (
            "Revenue on the day",
            fmt.usd(s.revenue_usd_1d),
            revenue_split(s),
        ),
        ("Fee share, 7 days", fmt.share(s.fees_share_pct_7d), "of revenue"),
        (
            "Hashprice",
            fmt.usd(hp["usd_day"], cents_below=1000),
            f"USD per {hp['unit']} per day = {fmt.btc(hp['btc_day'])} (Luxor); realised "
            f"{fmt.usd(hp['realised_usd_day'], cents_below=1000)}"
            + (
                ""
                if hp["unit"] == "PH/s"
                else f"; per {hp['unit']}, not PH/s: the network ran {h['7d']}"
            ),
        ),
        ("Puell multiple", fmt.number(s.puell_multiple), "issuance USD over its 365-day mean"),
        (
            "Hash ribbons",
            s.hash_ribbons.state,
            f"since {s.hash_ribbons.since or 'n/a'}; 30d {sma30}, 60d {sma60}",
        ),
        (
            "Sustainability index (ours)",
            fmt.number(s.sustainability_index, ".1f"),
            "0-100: revenue per unit of work against the past 365 days",
        ),
    ]
    return _table(
        [("figure", TEXT), ("value", NUM), ("unit and detail", WRAP)],
        [([_e(a), _e(b), _e(c)], "") for a, b, c in rows],
    )


STRESS_NAMES = (
    "price_below_cost",
    "hashrate_drawdown",
    "ribbons_capitulation",
    "hashprice_low",
    "revenue_low",
    "difficulty_falling",
)


def signals_table(d: ReportData) -> str:
    """The signals of ``as_of``: ribbons, Puell, sustainability and every stress condition."""
    sig = d.signals
    rib = sig.hash_ribbons
    parts = [
        "<p>"
        f"Hash ribbons: <b>{_e(rib.state)}</b>"
        + (f" since {_e(rib.since)}" if rib.since else "")
        + "; 30-day mean {}, 60-day mean {} ".format(
            *fmt.hashrates([rib.sma_short_ehs, rib.sma_long_ehs])
        )
        + f"(spread {fmt.pct(rib.spread_pct)}); last buy signal "
        f"{_e(rib.last_buy_signal or 'none')}. "
        f"Puell multiple {fmt.number(sig.puell.multiple)}, percentile "
        f"{fmt.number(sig.puell.percentile, '.1f')} of {sig.puell.days_ranked:,} days. "
        f"Sustainability index (ours) {fmt.number(sig.sustainability.index, '.1f')} / 100."
        "</p>"
    ]
    holding = {c.name: c for c in sig.stress}
    rows = []
    for name in STRESS_NAMES:
        if name in holding:
            c = holding[name]
            rows.append(([_e(name), "holds", _e(c.description)], "holds"))
        elif name in sig.stress_checked:
            rows.append(([_e(name), "no", ""], ""))
        else:
            rows.append(([_e(name), '<span class="dim">not checked</span>', "no data"], ""))
    parts.append(_table([("stress condition", TEXT), ("", TEXT), ("figure", WRAP)], rows))
    return "".join(parts)


def episodes_table(d: ReportData) -> str:
    """The episodes of the close below the default model's cost."""
    c = episode_columns(d.episodes.horizons_days)
    shown = [c[k] for k in ("days", "days_below", "ended", "forward_return_pct")]
    rows = []
    for e in d.episodes.episodes:
        start = e.start + (" (censored)" if e.censored_start else "")
        end = e.end if e.exit_date is not None else f"{e.end} (ongoing)"
        deepest = f"{c['deepest_discount_pct'].cell(e)} on {e.deepest_date}"
        cells = [start, end, *(col.cell(e) for col in shown[:2]), deepest]
        rows.append(([_e(x) for x in (*cells, *(col.cell(e) for col in shown[2:]))], ""))
    if not rows:
        return f'<p class="dim">No close below {_e(d.cost_model)} up to {_e(d.as_of)}.</p>'
    headers = [("start", TEXT), ("end", TEXT)]
    headers += [(col.header, NUM) for col in shown[:2]] + [("deepest", TEXT)]
    headers += [(col.header, NUM if col.numeric else TEXT) for col in shown[2:]]
    return _table(headers, rows)


def machines_table(d: ReportData) -> str:
    """Every ASIC model released by ``as_of``: economics at the day's hashprice."""
    a = d.asics
    if a is None or len(a.machines) == 0:
        return f'<p class="dim">No ASIC model in the catalog was released by {_e(d.as_of)}.</p>'
    m = a.machines
    columns = list(MACHINE_COLUMNS.values())
    rows = [
        ([_e(c.cell(row)) for c in columns], "underwater" if row["underwater"] else "")
        for row in machine_rows(m)
    ]
    intro = (
        f"<p>At ${a.power_price_usd_kwh:g}/kWh, pool fee {a.pool_fee_pct:g}%, uptime "
        f"{a.uptime_pct:g}%, hashprice {fmt.hashprice_usd(a.hashprice_usd_ph_day, 'PH/s')} "
        f"per PH/s per day: <b>{a.underwater_count} of {len(m)}</b> models underwater (in red), "
        "most profitable first.</p>"
    )
    return intro + _table([(c.header, NUM if c.numeric else TEXT) for c in columns], rows)


# -- the page -----------------------------------------------------------------------------


def render_html(d: ReportData, charts: list[Chart] | None = None) -> str:
    """The whole report of ``d`` as one HTML document (plotly.js inline)."""
    charts = build_charts(d) if charts is None else charts
    by_key = {c.key: chart_html(c) for c in charts}
    b = compose(d.brief_inputs)
    brief = "".join(f"<p>{_e(p)}</p>" for p in b.paragraphs) or '<p class="dim">No figures.</p>'
    main_keys = [k for k in by_key if k != "machines"]
    s = d.status
    sections = [
        f'<section class="brief" id="brief"><h2>{_e(b.title)}</h2>{brief}</section>',
        f'<section id="snapshot"><h2>Snapshot</h2>{snapshot_table(d)}</section>',
        '<section id="charts"><h2>Charts</h2>'
        + "".join(by_key[k] for k in main_keys)
        + "</section>",
        f'<section id="episodes"><h2>Episodes below {_e(d.cost_model)}</h2>'
        f"{episodes_table(d)}</section>",
        '<section id="machines"><h2>Machines</h2>'
        + by_key.get("machines", "")
        + machines_table(d)
        + "</section>",
        f'<section id="signals"><h2>Signals and stress</h2>{signals_table(d)}</section>',
    ]
    meta = (
        f"Day {_e(d.as_of)} (UTC); nothing after it is read. Prices: "
        f"{_e(s.price_source or 'none')}. Definitions: minerwatch docs/status.md, cost.md, "
        "signals.md, difficulty.md, report.md."
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>minerwatch report, {_e(d.as_of)}</title>"
        f"<style>{STYLE}</style>"
        "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>"
        f"<script>{_plotly_file(PLOTLY_JS)}</script>"
        "</head><body>"
        f"<header><h1>minerwatch report: {_e(d.as_of)}</h1>"
        f'<p class="meta">{meta}</p></header>'
        + "".join(sections)
        + f'<footer class="meta"><p>minerwatch {_e(__version__)}. Charts drawn with Plotly, '
        "embedded in this file (it opens offline).</p></footer>"
        "</body></html>\n"
    )


def write_report(
    db: Store | str | Path | None,
    out: str | Path,
    as_of: str | None = None,
    *,
    png_dir: str | Path | None = None,
) -> ReportFiles:
    """Write the report of ``as_of`` to ``out`` (HTML) and, with ``png_dir``, every chart
    as a PNG there. Reads nothing after ``as_of``.

    Raises :class:`~minerwatch.errors.InputError` when a file cannot be written and
    :class:`~minerwatch.errors.AsOfOutOfRange` for a date outside the data.
    """
    if not isinstance(db, Store):
        with open_store(db, read_only=True) as store:
            return write_report(store, out, as_of, png_dir=png_dir)
    data = report_data(db, as_of)
    charts = build_charts(data)
    text = render_html(data, charts)
    out = Path(out)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", path=str(out)) from None
    pngs: list[Path] = []
    if png_dir is not None:
        from minerwatch.present.png import write_pngs

        pngs = write_pngs(charts, png_dir, as_of=data.as_of)
    return ReportFiles(as_of=data.as_of, html=out, charts=[c.key for c in charts], pngs=pngs)
