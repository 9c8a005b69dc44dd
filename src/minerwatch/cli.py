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


asics_app = typer.Typer()  # help: the docstring of its callback, ``asics``
app.add_typer(asics_app, name="asics")

MachinesOption = Annotated[
    Path | None,
    typer.Option(
        "--machines",
        help="CSV of your own machines: model,hashrate_ths,power_w[,vendor,efficiency_j_th,"
        "release_month,cooling,source]. A row named like a catalog model replaces it.",
        show_default=False,
    ),
]


@asics_app.callback(invoke_without_command=True)
def asics(
    ctx: typer.Context,
    power_price: Annotated[
        float | None,
        typer.Option(
            "--power-price",
            metavar="USD_PER_KWH",
            help="Electricity price, USD/kWh (default 0.05: CBECI's assumption).",
            show_default=False,
        ),
    ] = None,
    pool_fee: Annotated[
        float | None,
        typer.Option(
            "--pool-fee",
            metavar="PCT",
            help="Pool fee, percent of revenue (default 2: a typical FPPS fee).",
            show_default=False,
        ),
    ] = None,
    uptime: Annotated[
        float | None,
        typer.Option(
            "--uptime",
            metavar="PCT",
            help="Share of the day the machines hash, percent (default 97).",
            show_default=False,
        ),
    ] = None,
    as_of: AsOfOption = None,
    machines: MachinesOption = None,
    all_models: Annotated[
        bool, typer.Option("--all", help="Also list models not yet released on the day.")
    ] = False,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Economics of every ASIC model on a day: revenue, power cost, profit, breakeven
    electricity price and shutdown BTC price at that day's hashprice.

    Models not yet on sale on the day are left out (--all lists them); `minerwatch asics
    list` shows the catalog. Underwater models (power cost above revenue) are marked.
    """
    if ctx.invoked_subcommand is not None:
        return
    from .machines import asic_economics

    given = {
        "power_price_usd_kwh": power_price,
        "pool_fee_pct": pool_fee,
        "uptime_pct": uptime,
    }
    result = asic_economics(
        db,
        as_of,
        user_file=machines,
        released_only=not all_models,
        **{name: value for name, value in given.items() if value is not None},
    )
    if json_out:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        from . import render

        render.asic_economics_table(out, result)


@asics_app.command("list")
def asics_list(machines: MachinesOption = None, json_out: JsonOption = False) -> None:
    """The ASIC catalog: every model's hashrate, power, efficiency, release month and source.

    With --machines, your own machines are added (a row named like a catalog model
    replaces it).
    """
    from .models.asics import load_catalog

    catalog = load_catalog(machines)
    if json_out:
        doc = {"count": len(catalog), "models": catalog.rows(), "notes": list(catalog.notes)}
        typer.echo(json.dumps(doc, indent=2))
    else:
        from . import render

        render.asic_catalog_table(out, catalog)


CostModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        metavar="NAME",
        help="Production-cost model (default drm-fit-2015); `minerwatch cost` lists them.",
        show_default=False,
    ),
]
PowerPriceOption = Annotated[
    float | None,
    typer.Option(
        "--power-price",
        metavar="USD_PER_KWH",
        help="Electricity price for the energy and all-in models (default 0.05: CBECI's).",
        show_default=False,
    ),
]


def _cost_parameters(model: str | None, power_price: float | None) -> dict:
    given = {"model": model, "electricity_usd_kwh": power_price}
    return {name: value for name, value in given.items() if value is not None}


@app.command()
def cost(
    model: CostModelOption = None,
    as_of: AsOfOption = None,
    power_price: PowerPriceOption = None,
    electricity_share: Annotated[
        float | None,
        typer.Option(
            "--electricity-share",
            help="Electricity's share of total mining cost, (0, 1] (default 0.6: Capriole's).",
            show_default=False,
        ),
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Production cost of a bitcoin by every model: Difficulty Regression fits and presets,
    Hayes' energy breakeven, CBECI-style electricity and all-in cost, with fit statistics."""
    from .production import production_cost

    options = _cost_parameters(model, power_price)
    if electricity_share is not None:
        options["electricity_share"] = electricity_share
    with _store(db, read_only=True) as store:
        result = production_cost(store, as_of, **options)
    if json_out:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        from . import render

        render.production_cost_report(out, result)


@app.command()
def episodes(
    model: CostModelOption = None,
    merge_gap: Annotated[
        int | None,
        typer.Option(
            "--merge-gap",
            metavar="DAYS",
            help="Bridge gaps above cost shorter than this many days (default 7).",
            show_default=False,
        ),
    ] = None,
    min_days: Annotated[
        int | None,
        typer.Option(
            "--min-days", help="Shortest episode listed, days (default 1).", show_default=False
        ),
    ] = None,
    as_of: AsOfOption = None,
    power_price: PowerPriceOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Every episode of the daily close below the production cost: dates, depth, how it
    ended and the price 90, 180 and 365 days after it began."""
    from .studies import cost_episodes

    options = _cost_parameters(model, power_price)
    if merge_gap is not None:
        options["merge_gap_days"] = merge_gap
    if min_days is not None:
        options["min_days"] = min_days
    with _store(db, read_only=True) as store:
        result = cost_episodes(store, as_of, **options)
    if json_out:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        from . import render

        render.episodes_table(out, result)


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
