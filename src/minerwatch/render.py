"""Rich renderings of library results for people. Presentation only: no arithmetic beyond
unit scaling and rounding for display."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from .ingest import ImportReport
from .machines import AsicEconomics
from .models.asics import Catalog
from .production import ProductionCost
from .snapshot import Status
from .store import WriteResult
from .studies import EpisodesReport
from .syncing import SyncReport
from .units import HS_PER_EHS


def _f(x: float | None, fmt: str = ",.2f", suffix: str = "") -> str:
    return "n/a" if x is None else f"{x:{fmt}}{suffix}"


_PREFIXES = ((1e21, "Z"), (1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def _si(x: float | None, unit: str, digits: int = 3) -> str:
    """``x`` with an SI prefix chosen for its size, e.g. 1.02e21 H/s -> '1.02 ZH/s'."""
    if x is None:
        return "n/a"
    for scale, prefix in _PREFIXES:
        if abs(x) >= scale:
            return f"{x / scale:.{digits}g} {prefix}{unit}"
    return f"{x:.{digits}g} {unit}".rstrip()


def _hashrate(ehs: float | None) -> str:
    return _si(None if ehs is None else ehs * HS_PER_EHS, "H/s")


def _usd(x: float | None, fmt: str = ",.0f") -> str:
    return "n/a" if x is None else f"${x:{fmt}}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1f}%"


def _writes_table(title: str, writes: list[WriteResult]) -> Table:
    table = Table(title=escape(title), show_lines=False)
    table.add_column("table")
    table.add_column("new", justify="right")
    table.add_column("changed", justify="right")
    table.add_column("unchanged", justify="right")
    for w in writes:
        table.add_row(w.table, f"{w.new:,}", f"{w.changed:,}", f"{w.unchanged:,}")
    return table


def _notes(console: Console, notes: list[str]) -> None:
    for note in notes:
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)


def sync_report(console: Console, report: SyncReport) -> None:
    if report.writes:
        console.print(_writes_table(f"sync {report.source}: {report.url}", report.writes))
    span = f", {report.first} to {report.last}" if report.first else ""
    console.print(
        f"{report.pages:,} page(s), {report.rows_read:,} days{span}, "
        f"{report.retries:,} retried request(s)",
        highlight=False,
    )
    _notes(console, report.notes)


def import_report(console: Console, report: ImportReport) -> None:
    console.print(_writes_table(f"import {report.kind}: {report.origin}", report.writes))
    console.print(f"{report.rows_read:,} rows read, {report.first} to {report.last}")
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


def status_panel(console: Console, s: Status) -> None:
    """The snapshot as a panel of labelled figures with units."""
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column(justify="right")
    t.add_column(style="dim")
    hr = s.hashrate_ehs
    rows = [
        ("Price", _usd(s.price_usd), f"close, {s.price_source or 'no source'}"),
        (
            "  from all-time high",
            _pct(s.price_drawdown_pct),
            f"ATH {_usd(s.price_ath_usd)} on {s.price_ath_date or 'n/a'}",
        ),
        (
            "  7d / 30d change",
            f"{_pct(s.price_change_7d_pct)} / {_pct(s.price_change_30d_pct)}",
            "",
        ),
        ("Height", _f(s.height, ",d") if s.height is not None else "n/a", f"{s.blocks_1d} blocks"),
        (
            "Difficulty",
            _si(s.difficulty, "", digits=5),
            "last block (epochs)" if s.difficulty_method.startswith("epochs") else "day mean",
        ),
        (
            "Hashrate 1d / 7d",
            f"{_hashrate(hr['1d'])} / {_hashrate(hr['7d'])}",
            "daily blocks x difficulty",
        ),
        ("Hashrate 30d / 60d", f"{_hashrate(hr['30d'])} / {_hashrate(hr['60d'])}", ""),
        (
            "  from all-time high",
            _pct(s.hashrate_drawdown_pct),
            f"ATH {_hashrate(s.hashrate_ath_ehs)} ({s.hashrate_ath_window} mean) "
            f"on {s.hashrate_ath_date or 'n/a'}",
        ),
        ("Block interval 7d", _f(s.block_interval_min_7d, ".2f", " min"), "target 10 min"),
        (
            "Revenue 1d",
            _usd(s.revenue_usd_1d),
            f"{_f(s.revenue_btc_1d, ',.2f')} BTC = {_f(s.subsidy_btc_1d, ',.2f')} subsidy + "
            f"{_f(s.fees_btc_1d, ',.2f')} fees",
        ),
        ("Fee share 7d", _f(s.fees_share_pct_7d, ".2f", "%"), "of revenue"),
        (
            "Hashprice",
            f"{_usd(s.hashprice_usd_ph_day, ',.2f')}/PH/day",
            f"{_f(s.hashprice_btc_ph_day, '.4g')} BTC/PH/day (Luxor)",
        ),
        (
            "  realised",
            f"{_usd(s.hashprice_realised_usd_ph_day, ',.2f')}/PH/day",
            "day's revenue / 7d hashrate",
        ),
        ("Puell multiple", _f(s.puell_multiple, ".2f"), "issuance USD / 365d mean"),
        (
            "Production cost",
            _usd(s.production_cost_usd),
            f"price {_pct(s.price_to_cost_pct)} vs {s.production_cost_model} (minerwatch cost)",
        ),
    ]
    for row in rows:
        t.add_row(*row)
    title = f"minerwatch status as of {s.as_of}"
    if s.as_of != s.data_through:
        title += f" (data through {s.data_through})"
    console.print(Panel(t, title=title, expand=False))


UNDERWATER_MARK = "✗"
# Below this console width the catalog table leaves out its (long) source column.
CATALOG_SOURCE_MIN_WIDTH = 110


def asic_economics_table(console: Console, r: AsicEconomics) -> None:
    """Per-model economics, most profitable first; underwater models in red and marked."""
    console.print(
        f"[bold]ASIC economics as of {r.as_of}[/]: BTC ${_f(r.price_usd, ',.0f')} "
        f"({r.price_source or 'no source'}), hashprice ${_f(r.hashprice_usd_ph_day, ',.2f')}"
        f"/PH/day = {_f(r.hashprice_btc_ph_day, '.6f')} BTC/PH/day (Luxor); "
        f"electricity ${r.power_price_usd_kwh:g}/kWh, pool fee {r.pool_fee_pct:g}%, "
        f"uptime {r.uptime_pct:g}%",
        highlight=False,
    )
    m = r.machines
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    t.add_column("", justify="center", no_wrap=True)
    # The model column wraps on a narrow terminal; figures never do.
    t.add_column("model", min_width=12)
    for name in ("TH/s", "J/TH", "revenue\n$/day", "power\n$/day", "profit\n$/day"):
        t.add_column(name, justify="right", no_wrap=True)
    t.add_column("breakeven\n$/kWh", justify="right", no_wrap=True)
    t.add_column("shutdown\nBTC price", justify="right", no_wrap=True)
    for i in range(len(m)):
        under = bool(m.underwater[i])
        t.add_row(
            UNDERWATER_MARK if under else "",
            escape(str(m.model[i])),
            f"{m.hashrate_ths[i]:,.4g}",
            f"{m.efficiency_j_th[i]:.1f}",
            f"{m.revenue_usd_day[i]:,.2f}",
            f"{m.power_cost_usd_day[i]:,.2f}",
            f"{m.profit_usd_day[i]:,.2f}",
            f"{m.breakeven_power_price_usd_kwh[i]:.3f}",
            f"${m.shutdown_price_usd[i]:,.0f}",
            style="red" if under else None,
        )
    console.print(t)
    console.print(
        f"{UNDERWATER_MARK} underwater (power cost above revenue): "
        f"{r.underwater_count} of {len(m)} models",
        highlight=False,
    )
    if r.unreleased_omitted:
        console.print(
            f"{r.unreleased_omitted} models not yet released on {r.as_of} are left out "
            "(--all lists them)",
            style="dim",
            highlight=False,
        )
    _notes(console, list(r.notes))


def asic_catalog_table(console: Console, c: Catalog) -> None:
    """The ASIC catalog, one row per model, with the source of each row."""
    with_source = console.width >= CATALOG_SOURCE_MIN_WIDTH
    t = Table(
        title=f"ASIC catalog: {len(c)} models",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        show_lines=with_source,
    )
    t.add_column("model", min_width=12)
    t.add_column("vendor", no_wrap=True)
    for name in ("TH/s", "W", "J/TH"):
        t.add_column(name, justify="right", no_wrap=True)
    t.add_column("released", no_wrap=True)
    t.add_column("cooling", no_wrap=True)
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
    if not with_source:
        console.print(
            f"each row's source: widen the terminal to {CATALOG_SOURCE_MIN_WIDTH} columns, "
            "or use --json",
            style="dim",
            highlight=False,
        )
    _notes(console, list(c.notes))


def production_cost_report(console: Console, pc: ProductionCost) -> None:
    """Every production-cost model side by side, the DRM fits and the CBECI-style fleet."""
    console.print(
        f"[bold]Production cost of a bitcoin as of {pc.as_of}[/]: close "
        f"{_usd(pc.price_usd)} ({pc.parameters.get('price_source') or 'no source'}); "
        f"model [bold]{pc.model}[/] {_usd(pc.cost_usd)}, price vs cost "
        f"{_pct(pc.price_to_cost_pct)}",
        highlight=False,
    )
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    t.add_column("model", no_wrap=True)
    t.add_column("family", no_wrap=True)
    t.add_column("cost $/BTC", justify="right", no_wrap=True)
    t.add_column("price/cost", justify="right", no_wrap=True)
    t.add_column("price vs cost", justify="right", no_wrap=True)
    for m in pc.models.values():
        mark = "[bold]*[/] " if m.name == pc.model else "  "
        t.add_row(
            mark + escape(m.name),
            escape(m.family),
            _usd(m.cost_usd),
            _f(m.multiple, ".2f", "x"),
            _pct(m.price_to_cost_pct),
            style=None if m.available else "dim",
        )
    console.print(t)
    d = Table(
        title="Difficulty Regression Model: ln(market cap) = A + B ln(D)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    d.add_column("preset", no_wrap=True)
    for name in ("A", "B", "R²", "n days"):
        d.add_column(name, justify="right", no_wrap=True)
    d.add_column("window")
    d.add_column("kind")
    for f in pc.drm.values():
        kind = "published" if f.published else ("expanding" if f.expanding else "fixed window")
        if f.hindsight:
            kind += ", hindsight"
        d.add_row(
            escape(f.preset),
            _f(f.a, ".4f"),
            _f(f.b, ".4f"),
            _f(f.r2, ".4f"),
            _f(f.n, ",d") if f.n is not None else "",
            f"{f.window_start or '?'} to {f.window_end or '?'}",
            kind,
        )
    console.print(d)
    fl = pc.fleet
    if fl is not None:
        g = Table(
            title=f"CBECI-style fleet at ${fl.electricity_usd_kwh:g}/kWh",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            collapse_padding=True,
        )
        g.add_column("")
        for bound in ("lower", "best", "upper"):
            g.add_column(bound, justify="right", no_wrap=True)
        rows = [
            ("efficiency J/TH", fl.efficiency_j_th, ".1f", ""),
            ("overhead (PUE)", fl.overhead, ".2f", ""),
            ("power GW (7d mean)", fl.power_gw, ",.2f", ""),
            ("annualised TWh", fl.annualised_twh, ",.1f", ""),
            ("electricity $/BTC", fl.electricity_cost_usd, ",.0f", ""),
            ("all-in $/BTC", fl.all_in_cost_usd, ",.0f", ""),
        ]
        for label, values, fmt, suffix in rows:
            g.add_row(label, *(_f(values[b], fmt, suffix) for b in ("lower", "best", "upper")))
        console.print(g)
        console.print(
            f"profitable: {fl.machines_profitable} of {fl.machines_available} machines "
            f"(threshold {_f(fl.threshold_j_th, '.1f')} J/TH at a "
            f"{pc.parameters['smoothing_days']}-day hashprice of "
            f"${_f(fl.hashprice_usd_th_day, '.4f')}/TH/day); electricity share "
            f"{pc.parameters['electricity_share']:g}, machines live "
            f"{pc.parameters['lifetime_years']:g} years, fees "
            f"{'included' if pc.parameters['include_fees'] else 'excluded'}",
            highlight=False,
        )
    for name, why in pc.unavailable.items():
        console.print(f"[yellow]note:[/] {escape(name)}: {escape(why)}", highlight=False)


ENDED_SHORT = {
    "price recovered above cost": "price",
    "cost fell to price": "cost",
    "ongoing": "ongoing",
}


def episodes_table(console: Console, r: EpisodesReport) -> None:
    """Every episode of the close below the production cost, one row each."""
    console.print(
        f"[bold]Close below production cost ({r.model})[/], {r.first_day_with_cost or 'n/a'} "
        f"to {r.as_of}: {len(r.episodes)} episodes (gaps under {r.merge_gap_days} days "
        f"merged, shortest kept {r.min_days} days)",
        highlight=False,
    )
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    t.add_column("start, end", no_wrap=True)
    for name in ("days", "deepest", "price", "cost"):
        t.add_column(name, justify="right", no_wrap=True)
    t.add_column("ended", no_wrap=True)
    t.add_column("+" + "/".join(str(h) for h in r.horizons_days) + "d", justify="right")
    for e in r.episodes:
        t.add_row(
            f"{e.start}\n{e.end}",
            f"{e.days:,}\n({e.days_below:,})",
            f"{_pct(e.deepest_discount_pct)}\n{e.deepest_date}",
            f"{_usd(e.price_start_usd)}\n{_usd(e.price_end_usd)}",
            f"{_usd(e.cost_start_usd)}\n{_usd(e.cost_end_usd)}",
            ENDED_SHORT.get(e.ended, escape(e.ended)),
            " ".join(_f(e.forward_return_pct[f"{h}d"], "+,.0f", "%") for h in r.horizons_days),
        )
    console.print(t)
    console.print(
        "days: calendar days (days below cost); deepest: lowest price vs cost and its day; "
        "price, cost: at the start and the end; ended: the gap closed mostly by the price "
        "rising or by the cost falling; +Nd: price change N days after the start (n/a after "
        "the last day held)",
        style="dim",
        highlight=False,
    )
