"""``minerwatch info`` on a terminal: one line per table, then the sync state and the file."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from minerwatch.analyses.info import Info, TableInfo
from minerwatch.present.format import count


def _range(first: str | int | None, last: str | int | None = None) -> str:
    """``first to last`` (heights with thousands separators), ``first`` alone without a
    ``last``, ``-`` for nothing."""
    if first is None:
        return "-"
    ends = [f"{end:,}" if isinstance(end, int) else str(end) for end in (first, last)]
    return ends[0] if last is None else f"{ends[0]} to {ends[1]}"


def _size(n_bytes: int | None) -> str:
    if n_bytes is None:
        return "n/a"
    for scale, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit} ({n_bytes:,} bytes)"
    return f"{n_bytes:,} bytes"


#: Gaps listed per table on a terminal; the rest are counted (``--json`` has them all).
GAPS_SHOWN = 10
#: What a table's gaps count: days for the day tables, else epochs or blocks.
_GAP_UNIT = {"epochs": "epoch", "blocks": "block"}


def _gap_lines(name: str, t: TableInfo) -> list[str]:
    """``name: N <unit> missing in G gaps`` and the first :data:`GAPS_SHOWN` gaps."""
    if not t.gaps:
        return []
    unit = _GAP_UNIT.get(name, "day")
    lines = [f"{name}: {count(t.missing, unit)} missing, in {count(len(t.gaps), 'gap')}"]
    for g in t.gaps[:GAPS_SHOWN]:
        span = _range(g["first"], g["last"]) if g["first"] != g["last"] else _range(g["first"])
        lines.append(f"  {span} ({g['count']:,})")
    if len(t.gaps) > GAPS_SHOWN:
        lines.append(f"  and {len(t.gaps) - GAPS_SHOWN:,} more")
    return lines


def info_panel(console: Console, info: Info) -> None:
    """The tables (rows, range, sources, gaps), last sync and import, reorgs, schema and
    file; as of a day, said in the title."""
    title = f"database {escape(info.path)}"
    if info.as_of is not None:
        title += f", as of {info.as_of}"
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("table", "rows", "heights", "days", "missing"):
        table.add_column(
            name, justify="right" if name in ("rows", "missing") else "left", no_wrap=True
        )
    for name, t in info.tables.items():
        heights = _range(t.first, t.last) if t.unit == "height" else ""
        missing = f"{t.missing:,}" if t.rows else ""
        table.add_row(name, f"{t.rows:,}", heights, _range(t.first_day, t.last_day), missing)
    console.print(table)
    for name, t in info.tables.items():
        for source, v in t.sources.items():
            console.print(
                f"{name} from {escape(source)}: {v['rows']:,} days, {v['first']} to "
                f"{v['last']}, {v['missing']:,} missing",
                highlight=False,
            )
    for name, t in info.tables.items():
        for line in _gap_lines(name, t):
            console.print(line, highlight=False)
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
