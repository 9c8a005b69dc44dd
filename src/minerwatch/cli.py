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


@app.command()
def sync(
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="Coin Metrics API v4 base URL (default: $MINERWATCH_COINMETRICS_URL, else "
            "https://community-api.coinmetrics.io/v4).",
            show_default=False,
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            help="First day to fetch, YYYY-MM-DD (default: the day after the last day held; "
            "2009-01-03 for an empty database).",
            show_default=False,
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            "--end",
            help="Last day to fetch, YYYY-MM-DD (default: the latest the source has).",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    backoff_s: Annotated[
        float | None,
        typer.Option("--http-backoff", hidden=True, envvar="MINERWATCH_HTTP_BACKOFF_S"),
    ] = None,
    max_attempts: Annotated[
        int | None,
        typer.Option("--http-attempts", hidden=True, envvar="MINERWATCH_HTTP_ATTEMPTS"),
    ] = None,
) -> None:
    """Fetch daily chain metrics and closes from the Coin Metrics community API.

    Incremental: starts the day after the last day held; each page is committed on its own,
    so an interrupted sync resumes where it stopped. Failed requests (timeouts, HTTP 429 and
    5xx) are retried with exponential backoff: 5 attempts from 1 s by default; the
    environment variables MINERWATCH_HTTP_ATTEMPTS and MINERWATCH_HTTP_BACKOFF_S (seconds)
    change that. Exit code 3 when the source keeps failing.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from .syncing import sync_coinmetrics

    options = {}
    if backoff_s is not None:
        options["backoff_s"] = backoff_s
    if max_attempts is not None:
        options["max_attempts"] = max_attempts
    with (
        _store(db) as store,
        Progress(
            TextColumn("sync coinmetrics"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("days"),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar,
    ):
        task = bar.add_task("sync", total=None)

        def progress(done: int, expected: int) -> None:
            bar.update(task, completed=done, total=expected)

        report = sync_coinmetrics(
            store, base_url=url, start=start, end=end, progress=progress, **options
        )
    from . import render

    render.sync_report(out, report)


def _fail(label: str, exc: Exception, code: int) -> None:
    from rich.markup import escape

    err.print(f"[bold red]{label}:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    sys.exit(code)


def main() -> None:
    """Console entry point: maps library errors to messages and exit codes.

    Usage errors are Typer's own (exit 2); library errors become one line on stderr.
    """
    try:
        app()
    except InputError as exc:
        _fail("error", exc, EXIT_INPUT)
    except SourceError as exc:
        _fail("source error", exc, EXIT_SOURCE)
    except MinerwatchError as exc:
        _fail("error", exc, 1)
