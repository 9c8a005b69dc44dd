"""Rich renderings of library results for people. Presentation only: no arithmetic beyond
unit scaling and rounding for display."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Column, Table

from minerwatch.metrics.intervals import UNKNOWN
from minerwatch.present import format as fmt
from minerwatch.present.alerts import (  # noqa: F401  (renderers the CLI names)
    alerts_backtest_table,
    alerts_check_table,
    alerts_run_report,
)
from minerwatch.present.columns import (
    MACHINE_COLUMNS,
    episode_columns,
    machine_rows,
    revenue_split,
)
from minerwatch.present.fleet import (  # noqa: F401  (renderers the CLI names)
    fleet_comparison_report,
    fleet_history_report,
    fleet_plan_report,
    fleet_sensitivity_report,
)

if TYPE_CHECKING:  # types only: an import's report need not load the analyses
    from minerwatch.analyses.asics import AsicEconomics
    from minerwatch.analyses.backtest import DifficultyBacktest, WalkForwardBacktest
    from minerwatch.analyses.cost import ProductionCost
    from minerwatch.analyses.difficulty import DifficultyOutlook, NextAdjustment
    from minerwatch.analyses.pools import PoolShares
    from minerwatch.analyses.signals import Signals
    from minerwatch.analyses.status import BlockIntervals, Status
    from minerwatch.analyses.studies import EpisodesReport, StudyResult
    from minerwatch.ingest.files import ImportReport
    from minerwatch.ingest.sync import SyncReport
    from minerwatch.sources.catalog import Catalog
    from minerwatch.store import WriteResult


def _writes_table(title: str, writes: list[WriteResult]) -> Table:
    table = Table(title=escape(title), show_lines=False)
    table.add_column("table")
    table.add_column("new", justify="right")
    table.add_column("changed", justify="right")
    table.add_column("unchanged", justify="right")
    for w in writes:
        table.add_row(w.table, f"{w.new:,}", f"{w.changed:,}", f"{w.unchanged:,}")
    return table


def _say(console: Console, text: str) -> None:
    """Print ``text`` (Rich markup) without Rich's automatic highlighting of numbers."""
    console.print(text, highlight=False)


def _table(*columns: Any, **settings: Any) -> Table:
    """A table in this module's style: a simple header rule, no edge padding, collapsed
    padding between columns; ``settings`` as :class:`rich.table.Table` takes them."""
    return Table(*columns, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, **settings)


def _figure_grid() -> Table:
    """A grid of labelled figures: a bold label, the figure right-aligned, a dim remark."""
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column(justify="right")
    t.add_column(style="dim")
    return t


def _text(*headers: str) -> list[Column]:
    """Columns of words and dates: left-aligned, never wrapped."""
    return [Column(h, no_wrap=True) for h in headers]


def _figures(*headers: str) -> list[Column]:
    """Columns of figures: right-aligned, never wrapped."""
    return [Column(h, justify="right", no_wrap=True) for h in headers]


def _notes(console: Console, notes: Sequence[str], hint: str | None = None) -> None:
    """Print ``hint`` (a dim line on how to see more; none when None), then each of
    ``notes`` as a yellow ``note:`` line."""
    if hint is not None:
        _dim(console, hint)
    for note in notes:
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)


def _dim(console: Console, text: str) -> None:
    """Print a note under a table or panel: dim, no automatic highlighting."""
    console.print(text, style="dim", highlight=False)


def sync_report(console: Console, report: SyncReport, unit: str = "day") -> None:
    """A sync's writes, pages, records (``unit``: what one is, "day" or "candle") and notes."""
    if report.writes:
        console.print(_writes_table(f"sync {report.source}: {report.url}", report.writes))
    span = f", {report.first} to {report.last}" if report.first else ""
    _say(
        console,
        f"{fmt.count(report.pages, 'page')}, {fmt.count(report.rows_read, unit)}{span}, "
        f"{fmt.count(report.retries, 'retried request')}",
    )
    _notes(console, report.notes)


def import_report(console: Console, report: ImportReport) -> None:
    console.print(_writes_table(f"import {report.kind}: {report.origin}", report.writes))
    _say(console, f"{fmt.count(report.rows_read, 'row')} read, {report.first} to {report.last}")
    _notes(console, report.notes)
    check = report.difficulty_check
    if check is not None:
        verdict = "[green]agree[/]" if check.days_off == 0 else f"[red]{check.days_off} days off[/]"
        console.print(
            f"difficulty cross-check against epochs: {check.days_checked:,} days, "
            f"max relative difference {check.max_rel_error:.2e} "
            f"(tolerance {check.tolerance:.0e}): {verdict}"
        )
        for day, got, expected in check.examples:
            console.print(f"  {day}: source {got:,.2f}, epochs {expected:,.2f}")


def _block_intervals_rows(bi: BlockIntervals) -> list[tuple[str, str, str]]:
    """Mean (and, from block times, median and slow blocks) of the 1d / 7d / epoch windows."""
    w = [x or UNKNOWN for x in (bi.last_1d, bi.last_7d, bi.epoch)]
    # The 7-day mean is the panel's "Block interval 7d" row (from daily block counts, as in
    # the brief); it is not shown a second time, from block times, as another figure.
    means = " / ".join(fmt.number(x.mean_min, ".2f") for x in (w[0], w[2]))
    if bi.source != "blocks":
        return [("  1d / epoch", f"{means} min", "mean, from daily block counts")]
    medians = " / ".join(fmt.number(x.median_min, ".2f") for x in w)
    week = w[1]
    slow = (
        f"7d: {week.slow_30m} > 30 min, {week.slow_60m} > 60 min"
        if week.slow_30m is not None
        else ""
    )
    return [
        ("  1d / epoch", f"{means} min", "mean, from block times"),
        ("  median", f"{medians} min", "; ".join(x for x in ("1d / 7d / epoch", slow) if x)),
    ]


def _next_adjustment_rows(na: NextAdjustment | None) -> list[tuple[str, str, str]]:
    """The forecast of the next adjustment (``Status.next_adjustment``) in one row."""
    if not na or na.change_pct is None:
        return []
    return [
        (
            "  next adjustment",
            f"{fmt.pct(na.change_pct)}",
            f"90% {fmt.pct(na.change_pct_low)} to {fmt.pct(na.change_pct_high)}, "
            f"{fmt.when(na.date)} (block {na.height:,}; minerwatch difficulty)",
        )
    ]


def status_panel(console: Console, s: Status) -> None:
    """The snapshot as a panel of labelled figures with units."""
    t = _figure_grid()
    hr = s.hashrate_ehs
    # One unit for every hashrate of the panel (not "922 EH/s / 1.02 ZH/s").
    windows = ("1d", "7d", "30d", "60d")
    *hr_text, ath_text = fmt.hashrates([hr.get(k) for k in windows] + [s.hashrate_ath_ehs])
    h = dict(zip(windows, hr_text, strict=True))
    # Hashprice per the unit the brief and the report use (TH/s, GH/s before 1 PH/s).
    unit = fmt.hashprice_unit(hr.get("7d"))
    hashprice_note = "" if unit == "PH/s" else f"; per {unit}: the network ran {h['7d']}"
    rows = [
        ("Price", fmt.usd(s.price_usd), f"close, {s.price_source or 'no source'}"),
        *_exchange_price_rows(s),
        (
            "  from all-time high",
            fmt.pct(s.price_drawdown_pct),
            f"ATH {fmt.usd(s.price_ath_usd)} on {s.price_ath_date or 'n/a'}",
        ),
        (
            "  7d / 30d change",
            f"{fmt.pct(s.price_change_7d_pct)} / {fmt.pct(s.price_change_30d_pct)}",
            "",
        ),
        ("Height", fmt.number(s.height, ",d"), fmt.count(s.blocks_1d, "block")),
        (
            "Difficulty",
            fmt.difficulty(s.difficulty),
            _difficulty_note(s.difficulty_method),
        ),
        *_next_adjustment_rows(s.next_adjustment),
        (
            "Hashrate 1d / 7d",
            f"{h['1d']} / {h['7d']}",
            "daily blocks x difficulty",
        ),
        ("Hashrate 30d / 60d", f"{h['30d']} / {h['60d']}", ""),
        (
            "  from all-time high",
            fmt.pct(s.hashrate_drawdown_pct),
            f"ATH {ath_text} ({s.hashrate_ath_window} mean) on {s.hashrate_ath_date or 'n/a'}",
        ),
        ("Block interval 7d", fmt.minutes(s.block_interval_min_7d), "target 10 min"),
        *_block_intervals_rows(s.block_intervals),
        (
            "Revenue 1d",
            fmt.usd(s.revenue_usd_1d),
            revenue_split(s),
        ),
        ("Fee share 7d", fmt.share(s.fees_share_pct_7d), "of revenue"),
        (
            "Hashprice",
            fmt.hashprice_usd(s.hashprice_usd_ph_day, unit, per=True),
            f"{fmt.hashprice_btc(s.hashprice_btc_ph_day, unit, per=True)} (Luxor){hashprice_note}",
        ),
        (
            "  realised",
            fmt.hashprice_usd(s.hashprice_realised_usd_ph_day, unit, per=True),
            "day's revenue / 7d hashrate",
        ),
        ("Puell multiple", fmt.number(s.puell_multiple), "issuance USD / 365d mean"),
        (
            "Production cost",
            fmt.usd(s.production_cost_usd),
            f"price {fmt.pct(s.price_to_cost_pct)} vs {s.production_cost_model} (minerwatch cost)",
        ),
    ]
    rows.append(("Sources", "", sources_line(s.sources)))
    for row in rows:
        t.add_row(*row)
    title = f"minerwatch status as of {s.as_of}"
    if s.as_of != s.data_through:
        title += f" (data through {s.data_through})"
    console.print(Panel(t, title=title + _provisional_mark(s.provisional), expand=False))


def _difficulty_note(method: str) -> str:
    if method.startswith("epochs"):
        return "last block (epochs)"
    return "last block (blocks)" if method.startswith("blocks") else "day mean"


#: The title mark of a result that uses blocks within 6 of the tip or the current UTC day.
PROVISIONAL_MARK = " · PROVISIONAL"


def _provisional_mark(provisional: bool) -> str:
    return PROVISIONAL_MARK if provisional else ""


def sources_line(sources: dict[str, str]) -> str:
    """``Status.sources`` in one line: the figures of each source together, e.g.
    ``blocks: blocks_1d, hashrate, difficulty; coinmetrics: fees; csv: price``."""
    by_source: dict[str, list[str]] = {}
    for figure, source in sources.items():
        by_source.setdefault(source, []).append(figure)
    return "; ".join(f"{source}: {', '.join(names)}" for source, names in by_source.items())


def _exchange_price_rows(s: Status) -> list[tuple[str, str, str]]:
    """The day's exchange index and the intraday price now, where the store has them."""
    rows = []
    if s.price_index_usd is not None:
        spread = fmt.number(s.price_index_spread_pct, ".2f", "%")
        note = f"median of {s.price_index_sources}, spread {spread}"
        rows.append(("  exchange index", fmt.usd(s.price_index_usd), note))
    if s.price_now_usd is not None:
        when = (s.price_now_time or "").replace("T", " ").removesuffix(":00Z") + "Z"
        note = f"{s.price_now_source}, {when}"
        rows.append(("  last hourly close", fmt.usd(s.price_now_usd), note))
    return rows


UNDERWATER_MARK = "✗"
# The columns of the ASIC economics table that fit 80 columns (the report shows them all).
TERMINAL_MACHINE_FIELDS = (
    "hashrate_ths",
    "efficiency_j_th",
    "revenue_usd_day",
    "power_cost_usd_day",
    "profit_usd_day",
    "breakeven_power_price_usd_kwh",
    "shutdown_price_usd",
)
# Below this console width the catalog table leaves out its (long) source column.
CATALOG_SOURCE_MIN_WIDTH = 110


def asic_economics_table(console: Console, r: AsicEconomics) -> None:
    """Per-model economics, most profitable first; underwater models in red and marked."""
    _say(
        console,
        f"[bold]ASIC economics as of {r.as_of}[/]: BTC {fmt.usd(r.price_usd)} "
        f"({r.price_source or 'no source'}), hashprice "
        f"{fmt.hashprice_usd(r.hashprice_usd_ph_day, 'PH/s', per=True)} = "
        f"{fmt.hashprice_btc(r.hashprice_btc_ph_day, 'PH/s', per=True)} (Luxor); "
        f"electricity ${r.power_price_usd_kwh:g}/kWh, pool fee {r.pool_fee_pct:g}%, "
        f"uptime {r.uptime_pct:g}%",
    )
    m = r.machines
    shown = [MACHINE_COLUMNS[k] for k in TERMINAL_MACHINE_FIELDS]
    rows = [
        (
            UNDERWATER_MARK if row["underwater"] else "",
            escape(str(row["model"])),
            *(c.cell(row) for c in shown),
        )
        for row in machine_rows(m)
    ]
    headers = tuple(c.stacked for c in shown)
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=0)
    t.add_column("", justify="center", no_wrap=True, min_width=1)
    # Nothing wraps, and no figure is ever cut: on a narrow terminal only the model name is
    # shortened (with an ellipsis).
    t.add_column("model", no_wrap=True, overflow="ellipsis", min_width=12)
    for k, name in enumerate(headers, start=2):
        width = max([len(line) for line in name.split("\n")] + [len(row[k]) for row in rows])
        t.add_column(name, justify="right", no_wrap=True, min_width=width)
    for row in rows:
        t.add_row(*row, style="red" if row[0] else None)
    console.print(t)
    listed = "every model released by then" if r.released_only else "--all: every catalog model"
    _say(
        console,
        f"{UNDERWATER_MARK} underwater (power cost above revenue): "
        f"{r.underwater_count} of the {len(m)} models listed ({listed})",
    )
    _say(
        console,
        f"profitable: {r.machines_profitable} of {r.machines_available} machines in service "
        f"(released within {r.lifetime_years:g} years; the day's hashprice, pool fee "
        f"{r.pool_fee_pct:g}%)",
    )
    omitted = (
        f"{r.unreleased_omitted} models not yet released on {r.as_of} are left out "
        "(--all lists them)"
    )
    _notes(console, r.notes, omitted if r.unreleased_omitted else None)


def asic_catalog_table(console: Console, c: Catalog) -> None:
    """The ASIC catalog, one row per model, with the source of each row."""
    with_source = console.width >= CATALOG_SOURCE_MIN_WIDTH
    t = _table(
        Column("model", min_width=12),
        *_text("vendor"),
        *_figures("TH/s", "W", "J/TH"),
        *_text("released", "cooling"),
        title=f"ASIC catalog: {len(c)} models",
        show_lines=with_source,
    )
    if with_source:
        t.add_column("source", style="dim", ratio=1)
    for row in c.rows():
        cells = [
            escape(row["model"]),
            escape(row["vendor"]),
            f"{row['hashrate_ths']:,.4g}",
            f"{row['power_w']:,.0f}",
            f"{row['efficiency_j_th']:.1f}",
            row["release_month"] or "",
            row["cooling"],
        ]
        t.add_row(*cells, *([escape(row["source"])] if with_source else []))
    console.print(t)
    widen = f"each row's source: widen the terminal to {CATALOG_SOURCE_MIN_WIDTH} columns, "
    _notes(console, c.notes, None if with_source else widen + "or use --json")


def production_cost_report(console: Console, pc: ProductionCost) -> None:
    """Every production-cost model side by side, the DRM fits and the CBECI-style fleet."""
    _say(
        console,
        f"[bold]Production cost of a bitcoin as of {pc.as_of}[/]: close "
        f"{fmt.usd(pc.price_usd)} ({pc.parameters.get('price_source') or 'no source'}); "
        f"model [bold]{pc.model}[/] {fmt.usd(pc.cost_usd)}, price vs cost "
        f"{fmt.pct(pc.price_to_cost_pct)}",
    )
    t = _table(*_text("model", "family"), *_figures("cost $/BTC", "price/cost", "price vs cost"))
    for m in pc.models.values():
        mark = "[bold]*[/] " if m.name == pc.model else "  "
        t.add_row(
            mark + escape(m.name),
            escape(m.family),
            fmt.usd(m.cost_usd),
            fmt.number(m.multiple, ".2f", "x"),
            fmt.pct(m.price_to_cost_pct),
            style=None if m.cost_usd is not None else "dim",
        )
    console.print(t)
    d = _table(
        *_text("preset"),
        *_figures("A", "B", "R²", "n days"),
        "window",
        "kind",
        title="Difficulty Regression Model: ln(market cap) = A + B ln(D)",
    )
    for f in pc.drm.values():
        kind = "published" if f.published else ("expanding" if f.expanding else "fixed window")
        if f.hindsight:
            kind += ", hindsight"
        d.add_row(
            escape(f.preset),
            fmt.number(f.a, ".4f"),
            fmt.number(f.b, ".4f"),
            fmt.number(f.r2, ".4f"),
            fmt.number(f.n, ",d") if f.n is not None else "",
            f"{f.window_start} to {f.window_end}" if f.window_start and f.window_end else "n/a",
            kind,
        )
    console.print(d)
    late = [f for f in pc.drm.values() if f.hindsight]
    if late:
        names = ", ".join(f"drm-{f.preset} (fitted on data to {f.window_end})" for f in late)
        _say(
            console,
            f"[yellow]warning:[/] {escape(names)}: published constants fitted on data after "
            f"{pc.as_of}; their cost on this day carries hindsight",
        )
    fl = pc.fleet
    if fl is not None:
        g = _table(
            "",
            *_figures("lower", "best", "upper"),
            title=f"CBECI-style fleet at ${fl.electricity_usd_kwh:g}/kWh",
        )
        rows: list[tuple[str, Mapping[str, float | None], str, str]] = [
            ("efficiency J/TH", fl.efficiency_j_th, ".1f", ""),
            ("overhead (PUE)", fl.overhead, ".2f", ""),
            ("power GW, 7d mean", fl.power_gw, ",.2f", ""),
            ("  annualised TWh", fl.annualised_twh, ",.1f", ""),
            ("power GW, the day", fl.power_gw_1d, ",.2f", ""),
            ("  electricity $/BTC", fl.electricity_cost_usd, ",.0f", ""),
            ("  all-in $/BTC", fl.all_in_cost_usd, ",.0f", ""),
        ]
        for label, values, spec, suffix in rows:
            g.add_row(
                label, *(fmt.number(values[b], spec, suffix) for b in ("lower", "best", "upper"))
            )
        console.print(g)
        _dim(
            console,
            f"annualised TWh = 7-day mean power x 8,760 h (CBECI's convention); electricity "
            f"$/BTC = the day's power x 24 h x ${fl.electricity_usd_kwh:g}/kWh / "
            f"{fmt.number(fl.btc_mined_1d, ',.2f')} BTC mined that day; all-in = electricity / "
            f"{pc.parameters['electricity_share']:g}",
        )
        hashprice = "n/a"
        if fl.hashprice_usd_th_day is not None:
            hashprice = f"{fmt.usd(fl.hashprice_usd_th_day)}/TH/day"
        _say(
            console,
            f"profitable: {fl.machines_profitable} of {fl.machines_available} machines in "
            f"service (released within {pc.parameters['lifetime_years']:g} years; threshold "
            f"{fmt.number(fl.threshold_j_th, '.1f', ' J/TH')} at a "
            f"{pc.parameters['smoothing_days']}-day hashprice of {hashprice}, no pool fee); "
            f"electricity share {pc.parameters['electricity_share']:g}, fees "
            f"{'included' if pc.parameters['include_fees'] else 'excluded'}",
        )


CENSORED_MARK = "*"
HINDSIGHT_MARK = "†"
ENDED_SHORT = {
    "price recovered above cost": "price",
    "cost fell to price": "cost",
    "ongoing": "ongoing",
}


def episodes_table(console: Console, r: EpisodesReport) -> None:
    """Every episode of the close below the production cost, one row each."""
    _say(
        console,
        f"[bold]Close below production cost ({r.model})[/], {r.first_day_with_cost or 'n/a'} "
        f"to {r.as_of}: {fmt.count(len(r.episodes), 'episode')} (gaps under "
        f"{fmt.count(r.merge_gap_days, 'day')} merged, shortest kept "
        f"{fmt.count(r.min_days, 'day')})",
    )
    if r.hindsight:
        _say(
            console,
            f"[yellow]warning:[/] {escape(r.model)} applies published constants fitted on data "
            f"to {r.fit_end}: its cost before that day, and the episodes marked "
            f"{HINDSIGHT_MARK}, carry hindsight",
        )
    c = episode_columns(r.horizons_days)
    t = _table(
        *_text("start, end"),
        *_figures("days", "deepest", "price", "cost"),
        *_text("ended"),
        Column(c["forward_return_pct"].unit, justify="right"),
    )
    for e in r.episodes:
        marks = (CENSORED_MARK if e.censored_start else "") + (
            HINDSIGHT_MARK if e.hindsight else ""
        )
        # Two figures a cell (start and end, days and days below...) to fit 80 columns.
        t.add_row(
            f"{e.start}{marks}\n{e.end}",
            f"{c['days'].cell(e)}\n({c['days_below'].cell(e)})",
            f"{c['deepest_discount_pct'].cell(e)}\n{e.deepest_date}",
            f"{c['price_start_usd'].cell(e)}\n{c['price_end_usd'].cell(e)}",
            f"{c['cost_start_usd'].cell(e)}\n{c['cost_end_usd'].cell(e)}",
            ENDED_SHORT.get(e.ended, escape(e.ended)),
            c["forward_return_pct"].cell(e),
        )
    console.print(t)
    _dim(
        console,
        "days: calendar days (days below cost); deepest: lowest price vs cost and its day; "
        "price, cost: at the start and the end; ended: the gap closed mostly by the price "
        "rising or by the cost falling, ongoing while fewer days than the merge gap have "
        "passed above cost; +Nd: price change N days after the start (n/a after the last day "
        f"held); {CENSORED_MARK} censored start: the close was already below cost on the "
        "model's first day, so the real start is unknown and the forward returns are not "
        "from a start" + (f"; {HINDSIGHT_MARK} hindsight" if r.hindsight else ""),
    )


STRESS_MARK = "!"


def signals_report(console: Console, s: Signals) -> None:
    """Hash ribbons, Puell multiple, sustainability index and the stress conditions of a day,
    then every capitulation period with its buy signal."""
    r = s.hash_ribbons
    _say(
        console,
        f"[bold]Signals as of {s.as_of}[/]: close {fmt.usd(s.price_usd)} "
        f"({s.price_source or 'no source'})",
    )
    style = {"capitulation": "bold red", "recovery": "bold yellow"}.get(r.state, "bold")
    t = _figure_grid()
    p = r.parameters
    t.add_row(
        "Hash ribbons",
        f"[{style}]{r.state}[/]",
        f"since {r.since or 'n/a'}; last buy signal {r.last_buy_signal or 'none'}",
    )
    t.add_row(
        f"  hashrate {p['short_days']}d / {p['long_days']}d",
        " / ".join(fmt.hashrates([r.sma_short_ehs, r.sma_long_ehs])),
        f"spread {fmt.pct(r.spread_pct)}",
    )
    t.add_row(
        f"  price {p['price_short_days']}d / {p['price_long_days']}d",
        f"{fmt.usd(r.price_sma_short_usd)} / {fmt.usd(r.price_sma_long_usd)}",
        f"buy rule: {p['price_cross']}",
    )
    pu = s.puell
    t.add_row(
        "Puell multiple",
        fmt.number(pu.multiple, ".2f"),
        f"percentile {fmt.number(pu.percentile, '.0f')} of {pu.days_ranked:,} days since "
        f"{pu.first_day or 'n/a'}",
    )
    su = s.sustainability
    t.add_row(
        "Sustainability index",
        f"{fmt.number(su.index, '.0f')} / 100",
        "ours: revenue per unit of work "
        f"{fmt.hashprice_usd(su.revenue_per_work_usd_ph_day, 'PH/s', per=True)} "
        f"ranked among {su.window_days} days",
    )
    console.print(t)
    for line in s.missing:
        _dim(console, f"n/a: {line}")
    _say(
        console,
        f"[bold]Miner stress[/]: {len(s.stress)} of {len(s.stress_checked)} conditions checked "
        "hold",
    )
    for condition in s.stress:
        console.print(
            f"  [red]{STRESS_MARK}[/] {escape(condition.name)}: {escape(condition.description)}"
        )
    periods = _table(
        *_text("start", "end"),
        *_figures("days"),
        *_text("buy signal"),
        title=f"Capitulations ({len(r.capitulations)})",
    )
    for c in r.capitulations:
        periods.add_row(
            c.start,
            c.end or "(ongoing)",
            f"{c.days:,}",
            c.buy_signal or ("" if c.ongoing else "none"),
        )
    console.print(periods)
    _dim(
        console,
        f"capitulation: {p['short_days']}-day mean hashrate below the {p['long_days']}-day "
        f"mean; it ends after {p['confirm_days']} days back above; buy signal: first "
        f"recovery day (within {p['recovery_days']} days) with the price's "
        f"{p['price_short_days']}-day mean above its {p['price_long_days']}-day mean "
        "(docs/signals.md)",
    )


def _returns_cells(row, ci: bool) -> list[str]:
    cells = [
        fmt.percent(row.share_positive_pct, 0),
        fmt.pct(row.mean_return_pct),
        fmt.pct(row.median_return_pct),
    ]
    if ci:
        cells.append(
            f"{fmt.number(row.mean_ci_low_pct, '+,.0f')} to {fmt.pct(row.mean_ci_high_pct, 0)}"
        )
    return cells


def _forward(values: dict[str, float | None]) -> str:
    return " ".join(fmt.pct(v, 0) for v in values.values())


def study_report(console: Console, r: StudyResult) -> None:
    """A study's summary table, with its events or episodes where it has them."""
    _say(console, f"[bold]Study {escape(r.name)}[/], data {r.first_day} to {r.as_of}")
    if r.name == "compression":
        p = r.parameters
        for key, today in r.details["today"].items():
            _say(
                console,
                f"{p['mean_days']}-day mean hashrate, change over {key}: "
                f"{fmt.pct(today.change_pct)} ({', '.join(today.regimes) or 'n/a'})",
            )
        # Fits 80 columns: the regime is shown by its condition (named in the note).
        t = _table(
            *_text("over", "change", "ahead"),
            *_figures("days", "episodes", "up", "mean", "median", f"{p['interval']:.0%} CI mean"),
        )
        names = {}
        for row in r.rows:
            names[row.condition.removeprefix("change ")] = row.regime
            t.add_row(
                f"{row.lookback_days}d",
                row.condition.removeprefix("change "),
                f"+{row.horizon_days}d",
                f"{row.n_days:,}",
                f"{row.episodes:,}",
                *_returns_cells(row, ci=True),
            )
        console.print(t)
        regimes = ", ".join(f"{cond} {name}" for cond, name in names.items())
        _dim(
            console,
            f"change: of the {p['mean_days']}-day mean hashrate over the look-back ({regimes}); "
            f"ahead: horizon of the price return; up: share of positive returns; "
            f"days from {p['start'] or 'the first day'} with a forward return; episodes: runs "
            f"of regime days (gaps under {p['merge_gap_days']} days joined); CI: moving-block "
            f"bootstrap ({p['bootstrap_samples']:,} resamples, blocks of the horizon, seed "
            f"{p['seed']})",
        )
        return
    if r.name == "ribbons":
        p = r.parameters
        short = {"buy signal": "buy", "capitulation end": "end"}
        horizons = "/".join(str(h) for h in p["horizons_days"])
        t = _table(
            *_text("date", "event"),
            # On a narrow terminal the capitulation's dates wrap to two lines; nothing is cut.
            Column("capitulation", min_width=10),
            *_figures("close", f"+{horizons}d"),
        )
        for e in r.details["events"]:
            end = e.capitulation_end
            same_year = end[:4] == e.capitulation_start[:4]
            t.add_row(
                e.date,
                short.get(e.event, e.event),
                f"{e.capitulation_start} to {end[5:] if same_year else end}",
                fmt.usd(e.price_usd),
                _forward(e.forward_return_pct),
            )
        console.print(t)
        _dim(
            console,
            f"buy: buy signal; end: capitulation end, dated on the day its recovery was "
            f"confirmed. Capitulation: {p['short_days']}-day mean hashrate below the "
            f"{p['long_days']}-day mean, ending after {p['confirm_days']} days back above "
            f"(confirm_days; the default 2 is ours, chosen in hindsight to reproduce Edwards' "
            f"2022 dates; 1 is his crossover); buy rule: {p['price_cross']} (docs/signals.md)",
        )
    else:
        horizons = "/".join(str(h) for h in r.parameters["horizons_days"])
        episodes = r.details["episodes"]
        groups = [
            ("", [e for e in episodes if not e.hindsight]),
            (
                f"Hindsight episodes {HINDSIGHT_MARK}: the model's constants were fitted on data "
                f"to {r.details.get('fit_end')}; left out of the summary",
                [e for e in episodes if e.hindsight],
            ),
        ]
        for title, group in groups:
            if not group:
                continue
            t = _table(
                *_text("start, end"),
                *_figures("days", "deepest", "to cost /\nstart price", f"+{horizons}d"),
                title=title or None,
            )
            for e in group:
                marks = (CENSORED_MARK if e.censored_start else "") + (
                    HINDSIGHT_MARK if e.hindsight else ""
                )
                t.add_row(
                    f"{e.start}{marks}\n{e.end}",
                    f"{e.days:,}",
                    f"{fmt.pct(e.deepest_discount_pct)}\n{e.deepest_date}",
                    f"{fmt.number(e.days_to_cost, ',d', ' d')} /\n"
                    f"{fmt.number(e.days_to_start_price, ',d', ' d')}",
                    _forward(e.forward_return_pct),
                )
            console.print(t)
        _dim(
            console,
            f"model {r.parameters['model']}, episodes of at least {r.parameters['min_days']} "
            f"days; to cost: days from the start to the first close back at or above cost; to "
            f"start price: to the first close at or above the start's after the deepest day; "
            f"{CENSORED_MARK} censored start (left out of the summary)",
        )
    s = _table(*_text("after", "horizon"), *_figures("n", "positive", "mean", "median"))
    for row in r.rows:
        s.add_row(row.event, f"+{row.horizon_days}d", f"{row.n:,}", *_returns_cells(row, False))
    console.print(s)


def difficulty_outlook_panel(console: Console, o: DifficultyOutlook) -> None:
    """The epoch so far, the next adjustment (ours and mempool.space's) and the hashrate
    estimators with their 90% intervals."""
    from minerwatch.analyses.difficulty import BlockHashrateEstimate

    na, base, m = o.next_adjustment, o.baseline, o.model
    t = _figure_grid()
    start = f"started {fmt.when(o.epoch_start_time)}"
    if o.epoch_start_time_estimated:
        start += " (estimated)"
    rows = [
        ("Epoch", f"{o.epoch:,}", f"blocks {o.epoch_start_height:,} to "
         f"{o.epoch_start_height + 2015:,}, {start}"),
        ("Height", f"{o.height:,}", f"{o.blocks_in_epoch:,} blocks in, {o.blocks_remaining:,} "
         f"to go ({o.progress_pct:.1f}%)"),
        ("Difficulty", fmt.difficulty(o.difficulty), ""),
        ("Block interval", fmt.minutes(o.interval_min_epoch), "mean since the epoch began"),
        ("  now", fmt.minutes(o.interval_min_recent),
         f"at the hashrate the forecast assumes ({fmt.number(m.level_time_constant_days, '.1f')}"
         "-day weighted, with drift)"),
    ]  # fmt: skip
    if na.reason is not None:
        rows.append(("Next adjustment", "n/a", f"at block {na.height:,}: {na.reason}"))
    else:
        rows += [
            ("Next adjustment", fmt.pct(na.change_pct),
             f"90% {fmt.pct(na.change_pct_low)} to {fmt.pct(na.change_pct_high)} "
             f"at block {na.height:,}"),
            ("  date", fmt.when(na.date),
             f"90% {fmt.when(na.date_low)} to {fmt.when(na.date_high)}"),
        ]  # fmt: skip
    rows.append(("mempool.space", fmt.pct(base.change_pct), f"{fmt.when(base.date)} (baseline)"))
    for row in rows:
        t.add_row(*row)
    # Daily data: the forecast is made at the end of the --as-of day (00:00 UTC the next).
    moment = (
        f"end of {o.as_of_day} ({fmt.when(o.as_of)[11:]} {o.as_of[:10]})"
        if o.as_of_day
        else fmt.when(o.as_of)
    )
    title = f"Difficulty outlook as of {moment} ({o.data} data){_provisional_mark(o.provisional)}"
    console.print(Panel(t, title=title, expand=False))
    h = Table(title="Hashrate estimators (90% intervals)", box=box.SIMPLE_HEAD, pad_edge=False)
    h.add_column("window", max_width=18)
    h.add_column("blocks", justify="right")
    for name in ("estimate", "low", "high"):
        h.add_column(name, justify="right", no_wrap=True)
    h.add_column("Core RPC", justify="right", no_wrap=True)
    # One unit for every hashrate of the table.
    keys = ("hashrate_ehs", "low_ehs", "high_ehs", "getnetworkhashps_ehs")
    estimators = list(o.hashrate.values())
    texts = iter(fmt.hashrates([getattr(e, k, None) for e in estimators for k in keys]))
    for e in estimators:
        estimate, low, high, core = (next(texts) for _ in keys)
        h.add_row(
            escape(e.window),
            fmt.number(e.blocks, ",d"),
            estimate,
            low,
            high,
            core if isinstance(e, BlockHashrateEstimate) else "",
        )
    console.print(h)
    _dim(
        console,
        "Core RPC: Bitcoin Core's getnetworkhashps over the same blocks (biased high by n/(n-1)).",
    )
    _dim(
        console,
        f"model: random walk {fmt.number(m.random_walk_sd_pct_per_day, '.2f')}%/day, drift "
        f"{fmt.number(m.drift_pct_per_day, '+.3f')}%/day, hashrate sd "
        f"{fmt.percent(m.rate_sd_pct)}"
        f" over the rest of the epoch ({m.fit_days} days fitted; docs/difficulty.md)",
    )
    _notes(console, o.notes)


def difficulty_backtest_table(console: Console, bt: DifficultyBacktest) -> None:
    """The backtest: errors of ours and the baseline, ratio, coverage and the Poisson floor
    per level, one table for the change and one for the date."""
    _say(
        console,
        f"[bold]Next-adjustment backtest[/]: ours ({bt.method}) against the baseline "
        f"({bt.baseline}), realised retargets",
    )
    for what, unit, key, spec in (
        ("Change of difficulty", "pp", "change", ".2f"),
        ("Date of the retarget", "h", "date", ".1f"),
    ):
        t = _table(
            *_text("data"),
            *_figures("level", "epochs", "at", "ours", "baseline", "ratio", "90% cover", "floor"),
            title=f"{what}: mean absolute error, {unit}",
        )
        for r in bt.rows:
            ours = getattr(r, f"mae_{key}_{unit}")
            base = getattr(r, f"mae_{key}_{unit}_baseline")
            epochs = r.epochs_dated if key == "date" else r.epochs  # dates known for fewer
            t.add_row(
                r.data,
                f"{r.level_pct}%",
                f"{epochs:,}",
                fmt.percent(r.progress_pct),
                fmt.number(ours, spec),
                fmt.number(base, spec),
                fmt.number(getattr(r, f"ratio_{key}"), ".2f"),
                fmt.percent(getattr(r, f"coverage_{key}_pct"), 0),
                fmt.number(getattr(r, f"floor_{key}_{unit}"), spec),
            )
        console.print(t)
    _dim(
        console,
        "pp: percentage points; h: hours. at: mean progress when forecast (daily data: the "
        "first day's end past the level). ratio: ours / baseline. 90% cover: realised values "
        "inside our 90% interval. floor: the error left if the rest of the epoch's hashrate "
        "were known (Poisson arrivals alone).",
    )
    _notes(console, bt.notes)


def walk_forward_table(console: Console, wf: WalkForwardBacktest) -> None:
    """The walk-forward run, per data kind: by level, then by year (every level), each
    forecaster's MAE of the change, ratio to the baseline (bootstrap 90% interval),
    interval score, CRPS and 90% coverage, and the MAE and coverage of the date."""
    _say(
        console,
        f"[bold]Walk-forward backtest[/] of the next adjustment, epochs from {wf.scored_from}: "
        f"ours ({wf.method}), recal (ours recalibrated), comb (ours combined with the "
        f"baseline), adapt (ours with the drift window that forecast best lately) and base "
        f"({wf.baseline})",
    )
    short = {
        "ours": "ours",
        "recalibrated": "recal",
        "combined": "comb",
        "adaptive": "adapt",
        "baseline": "base",
    }
    for kind in dict.fromkeys(r.data for r in wf.rows):
        for first, rows in (
            ("level", [r for r in wf.rows if r.data == kind]),
            ("year", [r for r in wf.years if r.data == kind and r.level_pct is None]),
        ):
            t = _table(
                *_text(first, "model"),
                *_figures("n", "MAE", "ratio", "90% CI", "IS", "CRPS", "cover", "MAE h", "cover"),
                title=f"{kind} data, by {first}: change (pp) and date (h)",
            )
            for r in rows:
                key = r.year if first == "year" else r.level_pct
                t.add_row(
                    "all" if key is None else (str(key) if first == "year" else f"{key}%"),
                    short[r.model],
                    f"{r.forecasts:,}",
                    fmt.number(r.mae_change_pp, ".2f"),
                    fmt.number(r.ratio_change, ".2f"),
                    f"{fmt.number(r.ratio_change_low, '.2f')}-"
                    f"{fmt.number(r.ratio_change_high, '.2f')}",
                    fmt.number(r.interval_score_change_pp, ".1f"),
                    fmt.number(r.crps_change_pp, ".2f"),
                    fmt.percent(r.coverage_change_pct, 0),
                    fmt.number(r.mae_date_h, ".1f"),
                    fmt.percent(r.coverage_date_pct, 0),
                )
            console.print(t)
    _dim(
        console,
        "pp: percentage points; h: hours. ratio: MAE / the baseline's on the same forecasts "
        "(90% CI: moving-block bootstrap over epochs). IS: interval score of the 90% interval "
        "(alpha 0.1); CRPS from 100 quantiles; the baseline's interval and distribution are "
        "its own earlier errors, walk-forward. cover: realised values inside the 90% interval.",
    )
    _notes(console, wf.notes)


def brief_text(console: Console, b) -> None:
    """The brief: its title, then its paragraphs (a ``minerwatch.present.brief.Brief``)."""
    console.print(f"[bold]{escape(b.title)}[/]{_provisional_mark(b.provisional)}", highlight=False)
    for paragraph in b.paragraphs:
        console.print()
        console.print(escape(paragraph), highlight=False)


def report_files(console: Console, files) -> None:
    """What ``minerwatch report`` wrote (a ``minerwatch.present.html.ReportFiles``)."""
    _say(
        console,
        f"report of {files.as_of} written to {escape(str(files.html))} "
        f"({len(files.charts)} charts: {', '.join(files.charts)})",
    )
    for path in files.pngs:
        _dim(console, f"  {escape(str(path))}")


def pool_shares_table(console: Console, r: PoolShares) -> None:
    """Each pool's blocks, share with its 90% interval, implied hashrate and empty blocks,
    most blocks first, the unknown blocks last."""
    when = f"{fmt.when(r.window_start)} to {fmt.when(r.window_end)}"
    mark = " [yellow](provisional)[/]" if r.provisional else ""
    _say(
        console,
        f"[bold]Pools, {escape(r.window + ('-block' if r.window.isdigit() else ''))} window "
        f"to the end of {r.as_of}[/]{mark}: "
        f"{fmt.count(r.blocks, 'block')}, heights {fmt.number(r.first_height, ',d')} to "
        f"{fmt.number(r.last_height, ',d')} "
        f"({when})",
    )
    t = _table()
    t.add_column("pool")
    for name in ("blocks", "share", "90% interval", "hashrate", "empty"):
        t.add_column(name, justify="right", no_wrap=True)
    shares = [*r.pools, r.unknown] if r.unknown.blocks else list(r.pools)
    rates = fmt.hashrates([s.hashrate_ehs for s in shares])
    for s, rate in zip(shares, rates, strict=True):
        t.add_row(
            escape(s.name) if s.name is not None else "[dim]unknown[/]",
            fmt.number(s.blocks, ",d"),
            fmt.share(s.share_pct),
            f"{fmt.share(s.share_low_pct)} to {fmt.share(s.share_high_pct)}",
            rate,
            fmt.number(s.empty_blocks, ",d"),
        )
    console.print(t)
    network = fmt.hashrates(
        [r.network_hashrate_ehs, r.network_hashrate_low_ehs, r.network_hashrate_high_ehs]
    )
    _dim(
        console,
        f"share: of the {fmt.count(r.blocks_with_pool_data, 'block')} with pool data "
        f"({r.interval_method}, {fmt.percent(100 * r.confidence, 0)}); hashrate: the share "
        f"times the network's {network[0]} (90% {network[1]} to {network[2]}; "
        f"{r.network_hashrate_method}); empty: blocks holding only the coinbase",
    )
    _notes(console, r.notes)
