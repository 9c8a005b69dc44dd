"""Command-line interface: parses options, calls one library function, formats the result.

Nothing printed here is computed here. Exit codes: 0 success, 2 bad usage or input
(file, row, parameter, date), 3 a network source failed, 1 anything else.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .errors import InputError, MinerwatchError, SourceError

EXIT_INPUT = 2
EXIT_SOURCE = 3

app = typer.Typer(
    help="Bitcoin mining economics from raw chain and price data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(help="Import data files into the database.", no_args_is_help=True)
app.add_typer(import_app, name="import")

out = Console()
err = Console(stderr=True)

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="Database file (default: $MINERWATCH_DB, else minerwatch.duckdb in the user "
        "data directory).",
        show_default=False,
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Day to report, YYYY-MM-DD (default: last day held)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _store(db: Path | None, *, read_only: bool = False):
    from .store import open_store

    return open_store(db, read_only=read_only)


def _print_import(report) -> None:
    from . import render

    render.import_report(out, report)


@import_app.command("coinmetrics")
def import_coinmetrics_cmd(
    file: Annotated[Path, typer.Argument(help="Coin Metrics community CSV (csv/btc.csv).")],
    db: DbOption = None,
) -> None:
    """Import daily chain metrics and closes from a Coin Metrics community CSV."""
    from .ingest import import_coinmetrics

    with _store(db) as store:
        _print_import(import_coinmetrics(store, file))


@import_app.command("prices")
def import_prices_cmd(
    file: Annotated[Path, typer.Argument(help="CSV with columns date,close_usd[,source].")],
    source: Annotated[
        str | None,
        typer.Option(help="Source name for a file without a source column (default: csv)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Import daily BTC/USD closes (UTC days)."""
    from .ingest import import_prices

    with _store(db) as store:
        _print_import(import_prices(store, file, source))


@import_app.command("epochs")
def import_epochs_cmd(
    file: Annotated[Path, typer.Argument(help="CSV with start_height,difficulty[,start_time].")],
    db: DbOption = None,
) -> None:
    """Import difficulty epochs (one row per 2016-block epoch)."""
    from .ingest import import_epochs

    with _store(db) as store:
        _print_import(import_epochs(store, file))


@app.command()
def status(
    as_of: AsOfOption = None,
    json_out: JsonOption = False,
    price_source: Annotated[
        str,
        typer.Option(help="Price source: auto (your imports, then Coin Metrics) or a name."),
    ] = "auto",
    db: DbOption = None,
) -> None:
    """Miner-economics snapshot of a day: price, hashrate, difficulty, revenue, hashprice."""
    from . import status as library_status

    with _store(db, read_only=True) as store:
        snapshot = library_status(store, as_of, price_source=price_source)
    if json_out:
        typer.echo(json.dumps(snapshot.to_dict(), indent=2))
    else:
        from . import render

        render.status_panel(out, snapshot)


def main() -> None:
    """Console entry point: maps library errors to messages and exit codes.

    Usage errors are Typer's own (exit 2); library errors become one line on stderr.
    """
    try:
        app()
    except InputError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True, markup=True)
        sys.exit(EXIT_INPUT)
    except SourceError as exc:
        err.print(f"[bold red]source error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_SOURCE)
    except MinerwatchError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
