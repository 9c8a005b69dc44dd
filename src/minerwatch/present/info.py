"""``minerwatch info`` on a terminal: one line per table, then the sync state and the file."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from minerwatch.analyses.info import Info


def _range(first: str | int | None, last: str | int | None) -> str:
    if first is None:
        return "-"
    if isinstance(first, int) and isinstance(last, int):
        return f"{first:,} to {last:,}"
    return f"{first} to {last}"


def _size(n_bytes: int | None) -> str:
    if n_bytes is None:
        return "n/a"
    for scale, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit} ({n_bytes:,} bytes)"
    return f"{n_bytes:,} bytes"


def info_panel(console: Console, info: Info) -> None:
    """The tables (rows, range, sources), last sync and import, reorgs, schema and file."""
    table = Table(title=f"database {escape(info.path)}", box=box.SIMPLE_HEAD)
    for name in ("table", "rows", "heights", "days"):
        table.add_column(name, justify="right" if name == "rows" else "left", no_wrap=True)
    for name, t in info.tables.items():
        heights = _range(t.first, t.last) if t.unit == "height" else ""
        table.add_row(name, f"{t.rows:,}", heights, _range(t.first_day, t.last_day))
    console.print(table)
    for name, t in info.tables.items():
        for source, v in t.sources.items():
            console.print(
                f"{name} from {escape(source)}: {v['rows']:,} days, {v['first']} to {v['last']}",
                highlight=False,
            )
    if info.sync:
        for source, state in info.sync.items():
            console.print(
                f"last sync {escape(source)}: through {state['last_day']}, at "
                f"{state['updated_at']} UTC",
                highlight=False,
            )
    else:
        console.print("last sync: never", highlight=False)
    last = info.last_import
    if last is not None:
        console.print(
            f"last write: {last['table']} from {escape(last['origin'])}, at {last['at']} UTC",
            highlight=False,
        )
    for source, c in info.chain.items():
        checked = "" if c["pow_checked"] else ", proof of work NOT checked"
        trust = f", from height {c['base_height']:,}" if c["base_parent_on_trust"] else ""
        console.print(
            f"chain from {escape(source)} ({c['network']}, {escape(str(c['url']))}): tip "
            f"{c['tip_height']:,} {c['tip_hash']}{trust}{checked}",
            highlight=False,
        )
    console.print(
        f"reorgs seen: {len(info.reorgs)}"
        + (f" ({info.stale_blocks:,} stale blocks kept)" if info.stale_blocks else ""),
        highlight=False,
    )
    for r in info.reorgs:
        console.print(
            f"  {r['seen_at']} UTC at height {r['height']:,}, depth {r['depth']}: tip "
            f"{r['old_tip_height']:,} {r['old_tip_hash']} -> {r['new_tip_height']:,} "
            f"{r['new_tip_hash']} ({r['source']})",
            highlight=False,
        )
    console.print(
        f"schema version {info.schema_version}, file size {_size(info.file_size_bytes)}",
        highlight=False,
    )
