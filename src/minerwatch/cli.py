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

from minerwatch.errors import InputError, MinerwatchError, SourceError

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
    from minerwatch.store import open_store

    return open_store(db, read_only=read_only)


def _print_import(report) -> None:
    from minerwatch.present import terminal as render

    render.import_report(out, report)


@import_app.command("coinmetrics")
def import_coinmetrics_cmd(
    file: Annotated[Path, typer.Argument(help="Coin Metrics community CSV (csv/btc.csv).")],
    db: DbOption = None,
) -> None:
    """Import daily chain metrics and closes from a Coin Metrics community CSV."""
    from minerwatch.ingest.files import import_coinmetrics

    with _store(db) as store:
        _print_import(import_coinmetrics(store, file))


@import_app.command("prices")
def import_prices_cmd(
    file: Annotated[Path, typer.Argument(help="CSV with columns date,close_usd[,source].")],
    source: Annotated[
        str | None,
        typer.Option(help="Source name for a file without a source column (default: csv)."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Import closes beyond x10 of another stored source's close that day "
            "(recorded in the import log).",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Import daily BTC/USD closes (UTC days)."""
    from minerwatch.ingest.files import import_prices

    with _store(db) as store:
        _print_import(import_prices(store, file, source, force=force))


@import_app.command("epochs")
def import_epochs_cmd(
    file: Annotated[Path, typer.Argument(help="CSV with start_height,difficulty[,start_time].")],
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Change epochs already stored with other values (difficulty, start time).",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Import difficulty epochs (one row per 2016-block epoch)."""
    from minerwatch.ingest.files import import_epochs

    with _store(db) as store:
        _print_import(import_epochs(store, file, replace=replace))


@import_app.command("blocks")
def import_blocks_cmd(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with height,time[,bits|difficulty][,fees_sat][,subsidy_sat][,pool]."
        ),
    ],
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="A reorg: where a stored block differs from the file's, replace it and every "
            "stored block above it.",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Import per-block rows (header times; bits or difficulty, else from the epochs table)."""
    from minerwatch.ingest.files import import_blocks

    with _store(db) as store:
        _print_import(import_blocks(store, file, replace=replace))


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
    from minerwatch.analyses.status import status as library_status

    with _store(db, read_only=True) as store:
        snapshot = library_status(store, as_of, price_source=price_source)
    if json_out:
        typer.echo(json.dumps(snapshot.to_dict(), indent=2))
    else:
        from minerwatch.present import terminal as render

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

    from minerwatch.ingest.sync import sync_coinmetrics

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
    from minerwatch.present import terminal as render

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

    Models not yet launched by the day are left out (--all lists them); `minerwatch asics
    list` shows the catalog. Underwater models (power cost above revenue) are marked.
    """
    if ctx.invoked_subcommand is not None:
        return
    from minerwatch.analyses.asics import asic_economics

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
        from minerwatch.present import terminal as render

        render.asic_economics_table(out, result)


@asics_app.command("list")
def asics_list(machines: MachinesOption = None, json_out: JsonOption = False) -> None:
    """The ASIC catalog: every model's hashrate, power, efficiency, release month and source.

    With --machines, your own machines are added (a row named like a catalog model
    replaces it).
    """
    from minerwatch.sources.catalog import load_catalog

    catalog = load_catalog(machines)
    if json_out:
        doc = {"count": len(catalog), "models": catalog.rows(), "notes": list(catalog.notes)}
        typer.echo(json.dumps(doc, indent=2))
    else:
        from minerwatch.present import terminal as render

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
        help="Electricity price for the energy and all-in models, > 0 and < 10 (default "
        "0.05: CBECI's).",
        show_default=False,
    ),
]
FitEndOption = Annotated[
    str | None,
    typer.Option(
        "--fit-end",
        metavar="YYYY-MM-DD",
        help="End the window of the drm-fit-* regressions on this day (later days keep that "
        "fit); default: each day is refitted up to itself.",
        show_default=False,
    ),
]


def _cost_parameters(
    model: str | None, power_price: float | None, fit_end: str | None = None
) -> dict:
    given = {"model": model, "electricity_usd_kwh": power_price, "drm_fit_end": fit_end}
    return {name: value for name, value in given.items() if value is not None}


@app.command()
def cost(
    model: CostModelOption = None,
    as_of: AsOfOption = None,
    power_price: PowerPriceOption = None,
    fit_end: FitEndOption = None,
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
    from minerwatch.analyses.cost import production_cost

    options = _cost_parameters(model, power_price, fit_end)
    if electricity_share is not None:
        options["electricity_share"] = electricity_share
    with _store(db, read_only=True) as store:
        result = production_cost(store, as_of, **options)
    if json_out:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        from minerwatch.present import terminal as render

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
    fit_end: FitEndOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Every episode of the daily close below the production cost: dates, depth, how it
    ended and the price 90, 180 and 365 days after it began."""
    from minerwatch.analyses.studies import cost_episodes

    options = _cost_parameters(model, power_price, fit_end)
    if merge_gap is not None:
        options["merge_gap_days"] = merge_gap
    if min_days is not None:
        options["min_days"] = min_days
    with _store(db, read_only=True) as store:
        result = cost_episodes(store, as_of, **options)
    if json_out:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        from minerwatch.present import terminal as render

        render.episodes_table(out, result)


ConfirmDaysOption = Annotated[
    int | None,
    typer.Option(
        "--confirm-days",
        metavar="DAYS",
        help="Hash ribbons: days the 30-day mean hashrate must stay back above the 60-day "
        "mean to end a capitulation (default 2: ours, chosen in hindsight to reproduce "
        "Edwards' 2022 dates; 1 is his plain crossover).",
        show_default=False,
    ),
]


@app.command()
def signals(
    as_of: AsOfOption = None,
    confirm_days: ConfirmDaysOption = None,
    price_cross: Annotated[
        str | None,
        typer.Option(
            "--price-cross",
            metavar="any|follow",
            help="Hash-ribbon buy rule: the price's 10-day SMA above its 20-day SMA in the "
            "recovery, whenever it crossed (any, the default: Capriole's), or a price cross "
            "after the hashrate cross (follow).",
            show_default=False,
        ),
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Capitulation and stress signals of a day: hash ribbons (state, every capitulation and
    buy signal), the Puell multiple and its historical percentile, our sustainability index,
    and the miner-stress conditions that hold."""
    from minerwatch.analyses.signals import signals as library_signals

    given = {"price_cross": price_cross, "confirm_days": confirm_days}
    options = {name: value for name, value in given.items() if value is not None}
    with _store(db, read_only=True) as store:
        result = library_signals(store, as_of, **options)
    if json_out:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        from minerwatch.present import terminal as render

        render.signals_report(out, result)


@app.command()
def study(
    name: Annotated[str, typer.Argument(help="compression, ribbons or below-cost.")],
    as_of: AsOfOption = None,
    confirm_days: ConfirmDaysOption = None,
    strict_change: Annotated[
        float | None,
        typer.Option(
            "--strict-change",
            metavar="PCT",
            help="compression: threshold of the strong-compression regime, a negative "
            "percentage (default -5: ours, a round number near the 5th percentile of the "
            "30-day change since 2014, set in hindsight).",
            show_default=False,
        ),
    ] = None,
    json_out: JsonOption = False,
    csv_file: Annotated[
        Path | None,
        typer.Option("--csv", metavar="FILE", help="Also write the summary table to FILE (CSV)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """A history study: forward price returns after hash-rate compression (compression),
    after hash-ribbon signals (ribbons), or after the close fell below production cost
    (below-cost), with sample sizes and distinct episodes (compression adds bootstrap
    intervals of the means). --confirm-days applies to ribbons, --strict-change to
    compression."""
    from minerwatch.analyses.studies import study as library_study

    given = {"confirm_days": confirm_days, "strict_change_pct": strict_change}
    options = {key: value for key, value in given.items() if value is not None}
    with _store(db, read_only=True) as store:
        result = library_study(store, name, as_of, **options)
    if csv_file is not None:
        result.write_csv(csv_file)
    if json_out:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        from minerwatch.present import terminal as render

        render.study_report(out, result)
        if csv_file is not None:
            out.print(f"summary table written to {csv_file}", style="dim", highlight=False)


@app.command()
def difficulty(
    as_of: AsOfOption = None,
    at_height: Annotated[
        int | None,
        typer.Option(
            "--at-height",
            metavar="H",
            help="Forecast as of block H instead of a day (needs per-block data).",
            show_default=False,
        ),
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """The current difficulty epoch and the next adjustment: percent change and date with
    90% intervals, mempool.space's estimate beside them, and hashrate estimators with
    intervals. Per-block data is used when held, else the daily data at the day's end."""
    from minerwatch.analyses.difficulty import difficulty_outlook

    with _store(db, read_only=True) as store:
        result = difficulty_outlook(store, as_of, at_height)
    if json_out:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        from minerwatch.present import terminal as render

        render.difficulty_outlook_panel(out, result)


@app.command()
def report(
    out_file: Annotated[
        Path,
        typer.Option("--out", metavar="FILE.html", help="Write the HTML report to FILE."),
    ],
    as_of: AsOfOption = None,
    png_dir: Annotated[
        Path | None,
        typer.Option(
            "--png",
            metavar="DIR",
            help="Also draw every chart as a PNG in DIR (created if missing).",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """The report of a day as one self-contained HTML file (opens offline): the brief, the
    snapshot, charts of price against production cost, hashrate and hash ribbons,
    difficulty and the next adjustment, hashprice, miner revenue and machine breakevens,
    and the signals. --png also writes each chart as a PNG."""
    from minerwatch.present.html import write_report

    with _store(db, read_only=True) as store:
        files = write_report(store, out_file, as_of, png_dir=png_dir)
    from minerwatch.present import terminal as render

    render.report_files(out, files)


@app.command()
def brief(
    as_of: AsOfOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """A short dated note in plain English on a day's miner economics, written from the
    figures: price against production cost, hashrate, the coming difficulty adjustment,
    revenue and hashprice, underwater machines, the signals and what history says."""
    from minerwatch.present.brief import brief as library_brief

    with _store(db, read_only=True) as store:
        result = library_brief(store, as_of)
    if json_out:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        from minerwatch.present import terminal as render

        render.brief_text(out, result)


backtest_app = typer.Typer(help="Backtests of the forecasts over history.", no_args_is_help=True)
app.add_typer(backtest_app, name="backtest")


@backtest_app.command("difficulty")
def backtest_difficulty_cmd(
    json_out: JsonOption = False,
    csv_file: Annotated[
        Path | None,
        typer.Option("--csv", metavar="FILE", help="Also write the table to FILE (CSV)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Backtest the next-adjustment forecast against mempool.space's over every epoch the
    data allows, at 10/25/50/75/90% of the epoch: mean absolute errors of change and date,
    ratio to the baseline, coverage of the 90% intervals."""
    from minerwatch.analyses.backtest import backtest_difficulty

    with _store(db, read_only=True) as store:
        result = backtest_difficulty(store)
    if csv_file is not None:
        result.write_csv(csv_file)
    if json_out:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        from minerwatch.present import terminal as render

        render.difficulty_backtest_table(out, result)
        if csv_file is not None:
            out.print(f"table written to {csv_file}", style="dim", highlight=False)


def _fail(label: str, exc: Exception | str, code: int) -> None:
    from rich.markup import escape

    err.print(f"[bold red]{label}:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    sys.exit(code)


# The option that sets each library parameter: an InputError about a parameter names the
# option instead (the library's message begins with the parameter's name).
PARAMETER_OPTIONS = {
    "power_price_usd_kwh": "--power-price",
    "electricity_usd_kwh": "--power-price",
    "pool_fee_pct": "--pool-fee",
    "uptime_pct": "--uptime",
    "electricity_share": "--electricity-share",
    "merge_gap_days": "--merge-gap",
    "min_days": "--min-days",
    "model": "--model",
    "drm_fit_end": "--fit-end",
    "price_cross": "--price-cross",
    "confirm_days": "--confirm-days",
    "strict_change_pct": "--strict-change",
}


def _input_message(exc: InputError) -> str:
    """The error's message, naming the CLI option where the library names its parameter."""
    text = str(exc)
    option = PARAMETER_OPTIONS.get(exc.parameter or "")
    if option is not None and text.startswith(exc.parameter):
        return option + text[len(exc.parameter) :]
    return text


def main() -> None:
    """Console entry point: maps library errors to messages and exit codes.

    Usage errors are Typer's own (exit 2); library errors become one line on stderr, a bad
    parameter named by its option.
    """
    try:
        app()
    except InputError as exc:
        _fail("error", _input_message(exc), EXIT_INPUT)
    except SourceError as exc:
        _fail("source error", exc, EXIT_SOURCE)
    except MinerwatchError as exc:
        _fail("error", exc, 1)
