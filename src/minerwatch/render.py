"""Rich renderings of library results for people. Presentation only: no arithmetic beyond
unit scaling and rounding for display."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from .ingest import ImportReport
from .snapshot import Status
from .store import WriteResult
from .syncing import SyncReport


def _f(x: float | None, fmt: str = ",.2f", suffix: str = "") -> str:
    return "n/a" if x is None else f"{x:{fmt}}{suffix}"


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
        ("Price", f"${_f(s.price_usd, ',.0f')}", f"close, {s.price_source or 'no source'}"),
        (
            "  from all-time high",
            _pct(s.price_drawdown_pct),
            f"ATH ${_f(s.price_ath_usd, ',.0f')} on {s.price_ath_date}",
        ),
        (
            "  7d / 30d change",
            f"{_pct(s.price_change_7d_pct)} / {_pct(s.price_change_30d_pct)}",
            "",
        ),
        ("Height", _f(s.height, ",d") if s.height is not None else "n/a", f"{s.blocks_1d} blocks"),
        ("Difficulty", _f(s.difficulty and s.difficulty / 1e12, ",.2f", " T"), "last block"),
        (
            "Hashrate 1d / 7d",
            f"{_f(hr['1d'], ',.0f')} / {_f(hr['7d'], ',.0f')} EH/s",
            "daily blocks x difficulty",
        ),
        ("Hashrate 30d / 60d", f"{_f(hr['30d'], ',.0f')} / {_f(hr['60d'], ',.0f')} EH/s", ""),
        (
            "  from all-time high",
            _pct(s.hashrate_drawdown_pct),
            f"ATH {_f(s.hashrate_ath_ehs, ',.0f')} EH/s ({s.hashrate_ath_window} mean) "
            f"on {s.hashrate_ath_date}",
        ),
        ("Block interval 7d", _f(s.block_interval_min_7d, ".2f", " min"), "target 10 min"),
        (
            "Revenue 1d",
            f"${_f(s.revenue_usd_1d, ',.0f')}",
            f"{_f(s.revenue_btc_1d, ',.2f')} BTC = {_f(s.subsidy_btc_1d, ',.2f')} subsidy + "
            f"{_f(s.fees_btc_1d, ',.2f')} fees",
        ),
        ("Fee share 7d", _f(s.fees_share_pct_7d, ".2f", "%"), "of revenue"),
        (
            "Hashprice",
            f"${_f(s.hashprice_usd_ph_day, ',.2f')}/PH/day",
            f"{_f(s.hashprice_btc_ph_day, '.6f')} BTC/PH/day (Luxor)",
        ),
        (
            "  realised",
            f"${_f(s.hashprice_realised_usd_ph_day, ',.2f')}/PH/day",
            "day's revenue / 7d hashrate",
        ),
        ("Puell multiple", _f(s.puell_multiple, ".2f"), "issuance USD / 365d mean"),
    ]
    for row in rows:
        t.add_row(*row)
    title = f"minerwatch status as of {s.as_of}"
    if s.as_of != s.data_through:
        title += f" (data through {s.data_through})"
    console.print(Panel(t, title=title, expand=False))
