"""The configuration in effect, as ``minerwatch config show`` prints it."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from minerwatch.config import Config


def config_table(console: Console, config: Config) -> None:
    """Each setting, its value (secrets hidden) and where it came from."""
    found = "" if config.found else " (not found: defaults and environment only)"
    table = Table(title=f"configuration {escape(str(config.path))}{found}", box=box.SIMPLE_HEAD)
    for name in ("setting", "value", "from"):
        table.add_column(name, no_wrap=name != "value", overflow="fold")
    for name, shown, origin in config.rows():
        table.add_row(name, escape(shown), origin)
    console.print(table)


def config_json(config: Config) -> dict:
    """The same as a JSON-able object: path, found, and each setting's value and origin."""
    return {
        "path": str(config.path),
        "found": config.found,
        "settings": {
            name: {"value": shown, "from": origin} for name, shown, origin in config.rows()
        },
    }
