"""Rich renderings of alert rules: their states on a day and their replay over history.
Presentation only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from minerwatch.analyses.alerts import AlertsBacktest, AlertsCheck
    from minerwatch.notify.run import AlertsRun

STATE_STYLE = {
    "firing": "bold red",
    "recovering": "red",
    "pending": "yellow",
    "no-data": "dim",
    "error": "magenta",
    "normal": "green",
}


def _table(*headers: str, title: str | None = None) -> Table:
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, title=title)
    for h in headers:
        t.add_column(
            h,
            justify="right"
            if h in ("value", "per year", "days", "periods", "firing", "longest", "no data")
            else "left",
        )
    return t


def _value(v: float | str | None) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    return f"{v:,.4g}"


def alerts_check_table(console: Console, c: AlertsCheck) -> None:
    """One row per rule: state (coloured), value, since."""
    t = _table(
        "alert", "state", "value", "since", title=f"alerts on {c.as_of} ({escape(c.rule_file)})"
    )
    for r in c.rules:
        style = STATE_STYLE.get(r.state, "")
        since = r.firing_since if r.firing_since else r.since
        t.add_row(escape(r.alert), f"[{style}]{r.state}[/]", _value(r.value), since)
    console.print(t)
    for r in c.rules:
        if r.state in ("firing", "recovering") and r.summary:
            console.print(f"[bold]{escape(r.alert)}[/]: {escape(r.summary)}", highlight=False)
        if r.error:
            console.print(f"[magenta]{escape(r.alert)}[/]: {escape(r.error)}", highlight=False)
    if c.provisional:
        console.print("[dim]the day is provisional (recent blocks or today)[/]", highlight=False)


def alerts_backtest_table(console: Console, b: AlertsBacktest) -> None:
    """The summary per rule, then each rule's periods (the longest few, and the count)."""
    t = _table(
        "alert", "periods", "per year", "firing", "longest", "no data",
        title=f"rules replayed {b.from_day} to {b.to_day} ({b.years:.1f} years, "
        f"{escape(b.rule_file)})",
    )  # fmt: skip
    for r in b.rules:
        share = "n/a" if r.share_firing_pct is None else f"{r.share_firing_pct:.1f}%"
        t.add_row(
            escape(r.alert),
            str(len(r.periods)),
            f"{r.periods_per_year:.2f}",
            share,
            f"{r.longest_days} d",
            f"{r.days_no_data:,} d",
        )
    console.print(t)
    console.print(
        "[dim]per year: periods begun in the replay per 365.25 days with data; firing: share "
        "of the days with data the rule was firing; longest: the longest period; no data: "
        "days the rule could not be evaluated[/]",
        highlight=False,
    )
    for r in b.rules:
        if not r.periods:
            continue
        console.print(f"\n[bold]{escape(r.alert)}[/]: {escape(r.expr)}", highlight=False)
        p = _table("start", "end", "days", "value")
        for period in r.periods:
            start = period.start + (" (began before)" if period.began_before else "")
            p.add_row(start, period.end or "still firing", str(period.days), _value(period.value))
        console.print(p)


def alerts_run_report(console: Console, r: AlertsRun) -> None:
    """The states after the run and each delivery."""
    firing = [a for a, s in r.states.items() if s in ("firing", "recovering")]
    console.print(
        f"[bold]alerts run on {r.as_of}[/] ({escape(r.rule_file)}): {len(r.states)} rules, "
        f"{len(firing)} firing{': ' + ', '.join(firing) if firing else ''}; "
        f"{r.recorded} new notifications recorded",
        highlight=False,
    )
    for s in r.sent:
        mark = "[green]delivered[/]" if s.ok else f"[red]failed[/] ({escape(s.error or '')})"
        console.print(
            f"  {escape(s.notifier)}: {len(s.alerts)} ({', '.join(s.alerts)}) {mark}, "
            f"{s.attempts} attempt{'s' if s.attempts != 1 else ''}",
            highlight=False,
        )
    if not r.sent:
        console.print("  nothing to deliver", style="dim", highlight=False)
