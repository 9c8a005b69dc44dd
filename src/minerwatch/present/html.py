"""The report as one self-contained HTML file (``minerwatch report``).

Presentation only: :func:`render_html` formats a :class:`~.data.ReportData` (the brief, the
snapshot, the signals, the episodes, the machines) and draws the charts of :mod:`.charts`
with Plotly. plotly.js is embedded once, inline, so the file opens offline: no CDN, no
network, no file beside it. plotly is imported only when a report is made.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from minerwatch._version import __version__
from minerwatch.analyses.report import ReportData, report_data
from minerwatch.errors import InputError
from minerwatch.present import format as display
from minerwatch.present.brief import compose
from minerwatch.present.charts import Chart, build_charts
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


def _usd(x: float | None, cents: bool = False) -> str:
    """Dollars: whole from $10 (with ``cents``, from $1,000), cents from $1, three
    significant figures below $1 (``$0.0620``)."""
    return display.usd(x, cents_below=1000 if cents else 10)


def _pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{x:+.{digits}f}%"


def _f(x: float | None, fmt: str) -> str:
    return "n/a" if x is None else f"{x:{fmt}}"


def _ehs(x: float | None) -> str:
    """A hashrate given in EH/s with the prefix that suits it (``1,043 EH/s``, ``5.17 GH/s``),
    as the brief writes it."""
    return display.hashrate(x, largest="E")


def _when(iso: str | None) -> str:
    return "n/a" if not iso else f"{iso[:10]} {iso[11:16]} UTC"


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


def figure(chart: Chart):
    """The Plotly figure of ``chart``."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    n = len(chart.panels)
    fig = make_subplots(rows=n, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    for s in chart.series:
        common = {"name": s.name, "showlegend": s.legend, "legendgroup": s.name}
        if s.style == "bar":
            trace = go.Bar(x=s.x, y=s.y, orientation="h", marker_color=s.color, **common)
        elif s.style == "marker":
            marker = {"color": s.color, "symbol": _SYMBOL.get(s.marker, "circle"), "size": 11}
            marker["line"] = {"width": 2, "color": s.color}
            trace = go.Scatter(x=s.x, y=s.y, mode="markers", marker=marker, **common)
        elif s.style == "area":
            trace = go.Scatter(
                x=s.x,
                y=s.y,
                mode="lines",
                stackgroup=f"stack-{s.panel}",
                line={"color": s.color, "width": s.width},
                fillcolor=s.color,
                **common,
            )
        else:
            line = {"color": s.color, "width": s.width, "dash": _DASH.get(s.dash, "solid")}
            if s.style == "step":
                line["shape"] = "hv"
            trace = go.Scatter(x=s.x, y=s.y, mode="lines", line=line, **common)
        fig.add_trace(trace, row=s.panel + 1, col=1)
    for shade in chart.shades:
        for i, (start, end) in enumerate(shade.periods):
            fig.add_vrect(
                x0=str(start),
                x1=str(end),
                fillcolor=shade.color,
                opacity=shade.opacity,
                line_width=0,
                layer="below",
                row="all",
                col=1,
                name=shade.label,
                legendgroup=shade.label,
                showlegend=i == 0,
            )
    for ref in chart.lines:
        vertical = ref.x is not None
        value = str(ref.x) if isinstance(ref.x, np.datetime64) else ref.x
        shape = {"type": "line", "line": {"color": ref.color, "dash": ref.dash, "width": 1.2}}
        if vertical:
            shape.update(x0=value, x1=value, xref="x", y0=0, y1=1, yref="paper")
            label = {"x": value, "xref": "x", "y": 1, "yref": "paper", "yanchor": "bottom"}
        else:
            shape.update(y0=ref.y, y1=ref.y, yref="y", x0=0, x1=1, xref="paper")
            label = {"x": 1, "xref": "paper", "y": ref.y, "yref": "y", "xanchor": "right"}
        fig.add_shape(**shape)
        fig.add_annotation(
            text=_e(ref.label), showarrow=False, font={"size": 11, "color": ref.color}, **label
        )
    for i, axis in enumerate(chart.panels, start=1):
        opts: dict = {"title_text": axis.title}
        if axis.log:
            opts["type"] = "log"
        if axis.dollars:
            opts["tickprefix"] = "$"
        if axis.si and _panel_top(chart, i - 1) >= SI_FROM:
            opts["tickformat"] = "~s"  # 150T, $30M (Plotly's ~s writes 0.0004 as 400µ)
        if chart.kind == "bar":
            opts = {
                "categoryorder": "array",
                "categoryarray": list(chart.categories),
                "autorange": "reversed",
                "title_text": "",
                "tickfont": {"size": 11},
            }
        fig.update_yaxes(row=i, col=1, **opts)
    if chart.kind == "bar":
        fig.update_xaxes(
            title_text=chart.x_title, tickprefix="$", tickformat=".2f", rangemode="tozero"
        )
    fig.update_layout(
        template="plotly_white",
        title={"text": chart.title, "x": 0.01, "xanchor": "left"},
        height=chart.height_px,
        margin={"l": 70, "r": 30, "t": 60, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.08, "x": 0, "xanchor": "left"},
        hovermode="x unified" if chart.kind == "time" else "closest",
        barmode="overlay",
    )
    if chart.kind == "bar":  # inside, bottom right: beside the short bars
        legend = {"yanchor": "bottom", "y": 0.01, "xanchor": "right", "x": 0.99}
        fig.update_layout(legend={**legend, "bgcolor": "rgba(255,255,255,0.85)"})
    return fig


def chart_html(chart: Chart) -> str:
    """``chart`` as a ``<figure>``: the Plotly div and its script (plotly.js not included),
    the subtitle and the note as its caption."""
    import plotly.io as pio

    div = pio.to_html(
        figure(chart),
        full_html=False,
        include_plotlyjs=False,
        div_id=f"chart-{chart.key}",
        config=PLOTLY_CONFIG,
        default_height=f"{chart.height_px}px",
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
    rows: list[tuple[str, str, str]] = [
        ("Price (close)", _usd(s.price_usd), s.price_source or "no source"),
        (
            "From the all-time high",
            _pct(s.price_drawdown_pct),
            f"high {_usd(s.price_ath_usd)} on {s.price_ath_date or 'n/a'}",
        ),
        (
            "Price change, 7 / 30 days",
            f"{_pct(s.price_change_7d_pct)} / {_pct(s.price_change_30d_pct)}",
            "",
        ),
        (
            "Production cost",
            _usd(s.production_cost_usd),
            f"USD per BTC, {s.production_cost_model}; price vs cost {_pct(s.price_to_cost_pct)}",
        ),
        ("Height", _f(s.height, ",d"), f"{s.blocks_1d} blocks on the day"),
        ("Difficulty", _f(s.difficulty, ",.0f"), s.difficulty_method),
    ]
    na = s.next_adjustment
    if na and na.change_pct is not None:
        rows.append(
            (
                "Next adjustment",
                _pct(na.change_pct),
                f"90% {_pct(na.change_pct_low)} to {_pct(na.change_pct_high)}; block "
                f"{na.height:,} around {_when(na.date)} (90% {_when(na.date_low)} to "
                f"{_when(na.date_high)})",
            )
        )
    rows += [
        (
            "Hashrate 1d / 7d / 30d / 60d",
            " / ".join(_ehs(hr.get(k)) for k in ("1d", "7d", "30d", "60d")),
            "trailing means of the daily estimate",
        ),
        (
            "Hashrate high (7-day mean)",
            _ehs(s.hashrate_ath_ehs),
            f"on {s.hashrate_ath_date or 'n/a'}; now {_pct(s.hashrate_drawdown_pct)}",
        ),
        (
            "Mean block interval, 7 days",
            _f(s.block_interval_min_7d, ".2f"),
            "minutes (target: 10 minutes)",
        ),
        (
            "Revenue on the day",
            _usd(s.revenue_usd_1d),
            f"{_f(s.revenue_btc_1d, ',.2f')} BTC = {s.subsidy_btc_1d:,.2f} subsidy + "
            f"{s.fees_btc_1d:,.2f} fees",
        ),
        ("Fee share, 7 days", _f(s.fees_share_pct_7d, ".2f") + "%", "of revenue"),
        (
            "Hashprice",
            _usd(hp["usd_day"], cents=True),
            f"USD per {hp['unit']} per day = {_f(hp['btc_day'], ',.4g')} BTC (Luxor); realised "
            f"{_usd(hp['realised_usd_day'], cents=True)}"
            + (
                ""
                if hp["unit"] == "PH/s"
                else f"; per {hp['unit']}, not PH/s: the network ran {_ehs(hr.get('7d'))}"
            ),
        ),
        ("Puell multiple", _f(s.puell_multiple, ".2f"), "issuance USD over its 365-day mean"),
        (
            "Hash ribbons",
            s.hash_ribbons.state,
            f"since {s.hash_ribbons.since or 'n/a'}; 30d "
            f"{_ehs(s.hash_ribbons.sma30_ehs)}, 60d {_ehs(s.hash_ribbons.sma60_ehs)}",
        ),
        (
            "Sustainability index (ours)",
            _f(s.sustainability_index, ".1f"),
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
        + f"; 30-day mean {_ehs(rib.sma_short_ehs)}, 60-day mean {_ehs(rib.sma_long_ehs)} "
        f"(spread {_pct(rib.spread_pct)}); last buy signal {_e(rib.last_buy_signal or 'none')}. "
        f"Puell multiple {_f(sig.puell.multiple, '.2f')}, percentile "
        f"{_f(sig.puell.percentile, '.1f')} of {sig.puell.days_ranked:,} days. "
        f"Sustainability index (ours) {_f(sig.sustainability.index, '.1f')} / 100."
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
    rows = []
    for e in d.episodes.episodes:
        fwd = " / ".join(_pct(v, 0) for v in e.forward_return_pct.values())
        start = e.start + (" (censored)" if e.censored_start else "")
        rows.append(
            (
                [
                    _e(start),
                    _e(e.end if e.exit_date is not None else f"{e.end} (ongoing)"),
                    f"{e.days:,}",
                    f"{e.days_below:,}",
                    _e(f"{_pct(e.deepest_discount_pct)} on {e.deepest_date}"),
                    _e(e.ended),
                    _e(fwd),
                ],
                "",
            )
        )
    if not rows:
        return f'<p class="dim">No close below {_e(d.cost_model)} up to {_e(d.as_of)}.</p>'
    horizons = " / ".join(f"+{h} d" for h in d.episodes.horizons_days)
    return _table(
        [
            ("start", TEXT),
            ("end", TEXT),
            ("days", NUM),
            ("below", NUM),
            ("deepest", TEXT),
            ("ended", TEXT),
            (f"price {horizons}", NUM),
        ],
        rows,
    )


def machines_table(d: ReportData) -> str:
    """Every ASIC model released by ``as_of``: economics at the day's hashprice."""
    a = d.asics
    if a is None or len(a.machines) == 0:
        return f'<p class="dim">No ASIC model in the catalog was released by {_e(d.as_of)}.</p>'
    m = a.machines
    rows = []
    for i in range(len(m)):
        rows.append(
            (
                [
                    _e(m.model[i]),
                    _e(m.vendor[i]),
                    _e("" if np.isnat(m.release_month[i]) else str(m.release_month[i])),
                    f"{m.hashrate_ths[i]:,.4g}",
                    f"{m.efficiency_j_th[i]:.1f}",
                    f"{m.revenue_usd_day[i]:,.2f}",
                    f"{m.power_cost_usd_day[i]:,.2f}",
                    f"{m.profit_usd_day[i]:,.2f}",
                    f"{m.breakeven_power_price_usd_kwh[i]:.3f}",
                    f"{m.shutdown_price_usd[i]:,.0f}",
                ],
                "underwater" if m.underwater[i] else "",
            )
        )
    intro = (
        f"<p>At ${a.power_price_usd_kwh:g}/kWh, pool fee {a.pool_fee_pct:g}%, uptime "
        f"{a.uptime_pct:g}%, hashprice {_usd(a.hashprice_usd_ph_day, cents=True)} per PH/s per "
        f"day: <b>{a.underwater_count} of {len(m)}</b> models underwater (in red), most "
        "profitable first.</p>"
    )
    return intro + _table(
        [
            ("model", TEXT),
            ("vendor", TEXT),
            ("released", TEXT),
            ("TH/s", NUM),
            ("J/TH", NUM),
            ("revenue $/day", NUM),
            ("power $/day", NUM),
            ("profit $/day", NUM),
            ("breakeven $/kWh", NUM),
            ("shutdown $/BTC", NUM),
        ],
        rows,
    )


# -- the page -----------------------------------------------------------------------------


def render_html(d: ReportData, charts: list[Chart] | None = None) -> str:
    """The whole report of ``d`` as one HTML document (plotly.js inline)."""
    from plotly.offline import get_plotlyjs

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
        f"<script>{get_plotlyjs()}</script>"
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
        raise InputError(f"cannot write {exc.strerror or exc}", path=str(out)) from None
    pngs: list[Path] = []
    if png_dir is not None:
        from minerwatch.present.png import write_pngs

        pngs = write_pngs(charts, png_dir, as_of=data.as_of)
    return ReportFiles(as_of=data.as_of, html=out, charts=[c.key for c in charts], pngs=pngs)
