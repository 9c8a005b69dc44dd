"""``minerwatch watch``: one line a new block, then the next adjustment at the tip."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from minerwatch.analyses.tip import TipUpdate
from minerwatch.present import format as fmt
from minerwatch.units import SAT_PER_BTC


def _interval(seconds: int | None) -> str:
    if seconds is None:
        return "      "
    sign = "-" if seconds < 0 else "+"
    minutes, secs = divmod(abs(seconds), 60)
    return f"{sign}{minutes}m{secs:02d}s"


def tip_lines(console: Console, update: TipUpdate) -> None:
    """A line a block (height, time since the previous, pool, fees, transactions; a ``*``
    marks a provisional one), the sync's notes, then the next adjustment."""
    for note in update.notes:
        console.print(escape(note), style="yellow", highlight=False)
    for b in update.blocks:
        fees = "fees ?" if b.fees_sat is None else f"fees {fmt.btc(b.fees_sat / SAT_PER_BTC)}"
        txs = "" if b.tx_count is None else f"  {fmt.count(b.tx_count, 'tx', 'tx')}"
        mark = "*" if b.provisional else " "
        console.print(
            f"{b.height:>9,}{mark} {b.time or '?'}  {_interval(b.since_previous_s)}  "
            f"{escape(b.pool or 'unknown pool'):<18} {fees}{txs}",
            highlight=False,
        )
    na = update.next_adjustment
    if na is not None and na.change_pct is not None:
        console.print(
            f"next adjustment at {na.height:,} ({fmt.count(na.blocks_remaining, 'block')} "
            f"to go, ~{fmt.when(na.date)}): {fmt.pct(na.change_pct)} "
            f"(90%: {fmt.pct(na.change_pct_low)} to {fmt.pct(na.change_pct_high)})",
            highlight=False,
        )
    elif update.reason:
        console.print(f"next adjustment: {escape(update.reason)}", style="dim", highlight=False)
