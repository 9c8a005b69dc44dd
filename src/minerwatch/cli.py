"""Command-line interface: parses options, calls one library function, formats the result.

Nothing printed here is computed here. :func:`run` runs one command line and maps every
library error to one line on stderr and an exit code (listed in the README's "Exit codes"):
0 success, 1 an unexpected error, 2 bad usage or input, 3 a network source failed, 4 the
database cannot be used.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from minerwatch._version import __version__
from minerwatch.errors import InputError, MinerwatchError, SourceError, StoreError, naming
from minerwatch.serialize import to_json, to_jsonable

if TYPE_CHECKING:
    from minerwatch.ingest.files import ImportReport
    from minerwatch.present.progress import Steps
    from minerwatch.store import Store

T = TypeVar("T")

EXIT_OK = 0
EXIT_OTHER = 1  # an unexpected error (a bug), or Ctrl-C
EXIT_INPUT = 2  # bad usage or input: an option, a file, a row, a date, no database yet
EXIT_SOURCE = 3  # a network source failed after its retries
EXIT_DATABASE = 4  # the database cannot be used: busy, unreadable, another program's, ...

app = typer.Typer(
    help="Bitcoin mining economics from raw chain and price data. `--db FILE` may come "
    "before the command too (`minerwatch --db mw.duckdb status`).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


def _print_version(value: bool) -> None:
    if value:
        out.print(f"minerwatch {__version__}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_print_version
        ),
    ] = False,
    progress: Annotated[
        bool,
        typer.Option(
            "--progress",
            help="Show the progress of long steps on stderr even when it is not a terminal "
            "(on a terminal it shows anyway). May come after the command too.",
        ),
    ] = False,
) -> None:
    """The options before the command."""
    global _progress_lines
    _progress_lines = progress


import_app = typer.Typer(help="Import data files into the database.", no_args_is_help=True)
app.add_typer(import_app, name="import")

#: Columns of the output when it goes to a file or a pipe (and ``COLUMNS`` is not set): a
#: table is never cut to a terminal's 80 columns there.
PIPED_WIDTH = 200


def _console(stderr: bool = False) -> Console:
    """A console on stdout (or stderr): a terminal's own width; :data:`PIPED_WIDTH` when it
    is not a terminal and ``COLUMNS`` does not say."""
    console = Console(stderr=stderr)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console = Console(stderr=stderr, width=PIPED_WIDTH)
    return console


out = _console()
err = _console(stderr=True)
_progress_lines = False  # --progress: progress lines on stderr even when not a terminal


def _steps(title: str) -> Steps:
    """Progress of the command's long steps on stderr (:mod:`minerwatch.present.progress`)."""
    from minerwatch.present.progress import Steps

    return Steps(err, title, lines=_progress_lines)


def _option(flag: str, metavar: str, help: str, **settings: Any) -> Any:
    """A Typer option ``flag`` (``--name``) taking ``metavar``, with no default shown (the
    help says it)."""
    return typer.Option(flag, metavar=metavar, help=help, show_default=False, **settings)


def _given(**values: Any) -> dict[str, Any]:
    """The keyword arguments given on the command line (options left unset are None and
    are left out, so the library's defaults apply)."""
    return {name: value for name, value in values.items() if value is not None}


DbOption = Annotated[
    Path | None,
    _option(
        "--db",
        "FILE",
        "Database file (default: $MINERWATCH_DB, else minerwatch.duckdb in the user data "
        "directory).",
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of", metavar="YYYY-MM-DD", help="Day to report (default: the last day held)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
CsvOption = Annotated[
    Path | None,
    typer.Option("--csv", metavar="FILE", help="Also write the table to FILE (CSV)."),
]


def _store(db: Path | None, *, read_only: bool = False) -> Store:
    """The database ``db``. A reader that finds a database of an older minerwatch migrates
    it first (one short write, with a note), as any writer would."""
    from minerwatch.errors import SchemaTooOld
    from minerwatch.store import SCHEMA_VERSION, open_store

    try:
        return open_store(db, read_only=read_only)
    except SchemaTooOld as old:
        if old.version < 1:
            raise
        open_store(db).close()
        logging.getLogger("minerwatch.store").warning(
            "migrated the database from schema version %d to %d", old.version, SCHEMA_VERSION
        )
        return open_store(db, read_only=read_only)


def _answer(analysis: Callable[..., T], db: Path | None, *args: Any, **kwargs: Any) -> T:
    """``analysis(store, *args, **kwargs)`` on the database ``db`` opened read-only."""
    with _store(db, read_only=True) as store:
        return analysis(store, *args, **kwargs)


def _emit(
    result: Any,
    json_out: bool,
    renderer: str,
    csv_file: Path | None = None,
    csv_table: str = "table",
) -> None:
    """Print ``result``: as JSON with ``json_out``, else by the
    :mod:`~minerwatch.present.terminal` function named ``renderer``. With ``csv_file``, first
    save the result's table there (``result.write_csv``) and, in the terminal, say so
    (``csv_table``: what the table is called)."""
    if csv_file is not None:
        result.write_csv(csv_file)
    if json_out:
        typer.echo(to_json(result))
        return
    from minerwatch.present import terminal as render

    getattr(render, renderer)(out, result)
    if csv_file is not None:
        out.print(f"{csv_table} written to {csv_file}", style="dim", highlight=False)


def _import_file(
    importer: Callable[..., ImportReport], db: Path | None, *args: Any, **kwargs: Any
) -> None:
    """Run ``importer(store, *args, **kwargs)`` on the database ``db`` and print its
    report."""
    from minerwatch.present import terminal as render

    with _store(db) as store:
        with _steps("import") as steps:
            report = importer(store, *args, progress=steps.step, **kwargs)
        render.import_report(out, report)


def _file_argument(help: str) -> Any:
    return typer.Argument(metavar="FILE", help=help)


@import_app.command("coinmetrics")
def import_coinmetrics_cmd(
    file: Annotated[Path, _file_argument("Coin Metrics community CSV (csv/btc.csv).")],
    db: DbOption = None,
) -> None:
    """Import daily chain metrics and closes from a Coin Metrics community CSV."""
    from minerwatch.ingest.files import import_coinmetrics

    _import_file(import_coinmetrics, db, file)


@import_app.command("prices")
def import_prices_cmd(
    file: Annotated[Path, _file_argument("CSV with columns date,close_usd[,source].")],
    source: Annotated[
        str | None,
        typer.Option(
            metavar="NAME", help="Source name for a file without a source column (default: csv)."
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Import closes beyond x3 of another stored source's close that day "
            "(recorded in the import log).",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Import daily BTC/USD closes (UTC days)."""
    from minerwatch.ingest.files import import_prices

    _import_file(import_prices, db, file, source, force=force)


@import_app.command("epochs")
def import_epochs_cmd(
    file: Annotated[Path, _file_argument("CSV with start_height,difficulty[,start_time].")],
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

    _import_file(import_epochs, db, file, replace=replace)


@import_app.command("blocks")
def import_blocks_cmd(
    file: Annotated[
        Path,
        _file_argument(
            "CSV with columns height, time and optionally bits or difficulty, fees_sat, "
            "subsidy_sat, pool, tx_count, coinbase_tag, payout_scripts (hex)."
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

    _import_file(functools.partial(import_blocks, replace=replace), db, file)


@import_app.command("pools")
def import_pools_cmd(
    file: Annotated[
        Path,
        _file_argument(
            "Pool list of bitcoin-data/mining-pools (pool-list.json or pools.json, from "
            "https://github.com/bitcoin-data/mining-pools)."
        ),
    ],
    reidentify: Annotated[
        bool,
        typer.Option(
            "--reidentify/--no-reidentify",
            help="Identify the pool of every stored block with coinbase data again with "
            "this list (default: yes).",
        ),
    ] = True,
    db: DbOption = None,
) -> None:
    """Import the pool list blocks are identified with (coinbase tags, payout addresses)."""
    from minerwatch.ingest.pools import import_pools

    _import_file(functools.partial(import_pools, reidentify=reidentify), db, file)


@app.command()
def status(
    as_of: AsOfOption = None,
    json_out: JsonOption = False,
    price_source: Annotated[
        str,
        typer.Option(
            metavar="auto|NAME",
            help="Price source: auto (your imports, then Coin Metrics) or a name.",
        ),
    ] = "auto",
    db: DbOption = None,
) -> None:
    """Miner-economics snapshot of a day: price, hashrate, difficulty, revenue, hashprice."""
    from minerwatch.analyses.status import status as library_status

    result = _answer(library_status, db, as_of, price_source=price_source)
    _emit(result, json_out, "status_panel")


# The network commands' hidden settings (documented in their help as environment variables).
BackoffOption = Annotated[
    float | None, typer.Option("--http-backoff", hidden=True, envvar="MINERWATCH_HTTP_BACKOFF_S")
]
AttemptsOption = Annotated[
    int | None, typer.Option("--http-attempts", hidden=True, envvar="MINERWATCH_HTTP_ATTEMPTS")
]
DeadlineOption = Annotated[
    float | None, typer.Option("--deadline", hidden=True, envvar="MINERWATCH_SYNC_DEADLINE_S")
]

sync_app = typer.Typer()  # help: the docstring of its callback, ``sync``
app.add_typer(sync_app, name="sync")


@sync_app.callback(invoke_without_command=True)
def sync(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        _option(
            "--url",
            "URL",
            "Coin Metrics API v4 base URL (default: $MINERWATCH_COINMETRICS_URL, else "
            "https://community-api.coinmetrics.io/v4).",
        ),
    ] = None,
    start: Annotated[
        str | None,
        _option(
            "--start",
            "YYYY-MM-DD",
            "First day to fetch, YYYY-MM-DD (default: the day after the last day held; "
            "2009-01-03 for an empty database).",
        ),
    ] = None,
    end: Annotated[
        str | None,
        _option(
            "--end",
            "YYYY-MM-DD",
            "Last day to fetch, YYYY-MM-DD (default: the latest the source has).",
        ),
    ] = None,
    db: DbOption = None,
    backoff_s: BackoffOption = None,
    max_attempts: AttemptsOption = None,
    deadline_s: DeadlineOption = None,
) -> None:
    """Fetch daily chain metrics and closes from the Coin Metrics community API.

    Incremental: starts the day after the last day held; each page is committed on its own,
    so an interrupted sync resumes where it stopped. Failed requests (timeouts, HTTP 429 and
    5xx) are retried with exponential backoff: 5 attempts from 1 s by default; the
    environment variables MINERWATCH_HTTP_ATTEMPTS and MINERWATCH_HTTP_BACKOFF_S (seconds)
    change that. The whole sync stops after one hour (MINERWATCH_SYNC_DEADLINE_S seconds),
    keeping the pages committed by then. Exit code 3 when the source keeps failing or the
    deadline passes. `minerwatch sync prices` fetches exchanges' closes instead.
    """
    if ctx.invoked_subcommand is not None:
        return
    from minerwatch.config import load_config

    options = _given(backoff_s=backoff_s, max_attempts=max_attempts, deadline_s=deadline_s)
    config = load_config()
    failures: list[tuple[str, SourceError]] = []
    names = config.get("sync", "sources")
    with _then_alerts(db):
        _sync_sources(db, config, names, url, start, end, options, failures)
    if failures:
        name, error = failures[0]
        raise type(error)(f"{name}: {error.reason}", url=error.url)


def _sync_sources(
    db: Path | None,
    config: Any,
    names: Any,
    url: str | None,
    start: str | None,
    end: str | None,
    options: dict,
    failures: list[tuple[str, SourceError]],
) -> None:
    """Sync each source named, in order; with several, a source's fault is printed and kept
    in ``failures`` and the next one goes on."""
    for name in names:
        try:
            if name == "coinmetrics":
                _sync_coinmetrics(db, url or config.get("coinmetrics", "url"), start, end, options)
            elif name == "prices":
                _sync_prices(db, list(config.get("prices", "sources")), None, None, options)
            else:
                _sync_chain(db, _chain_source(name, config), None, False, True, options)
        except SourceError as exc:
            if len(names) == 1:
                raise
            err.print(f"source error: {name}: {exc}", markup=False, highlight=False)
            failures.append((name, exc))


def _sync_coinmetrics(
    db: Path | None, url: str | None, start: str | None, end: str | None, options: dict
) -> None:
    from minerwatch.ingest.sync import sync_coinmetrics
    from minerwatch.present import terminal as render

    with _steps("sync coinmetrics") as steps:
        progress = _counting(steps, "days")
        # The database is opened per page, so readers wait for a commit, not the sync.
        report = sync_coinmetrics(
            db, base_url=url, start=start, end=end, progress=progress, **options
        )
    render.sync_report(out, report)


@contextmanager
def _then_alerts(db: Path | None) -> Iterator[None]:
    """Run the configured alert rules once the block inside ends, whether the sync in it
    succeeded or failed (a source down is when a stale-data rule matters)."""
    try:
        yield
    finally:
        _alerts_after(db)


def _alerts_after(
    db: Path | None,
    store: Any = None,
    rules: str | Path | None = None,
    json_out: bool = False,
    *,
    show: bool = True,
) -> None:
    """Run the configured alert rules (``[alerts] rules`` or ``$MINERWATCH_ALERTS``; ``rules``
    overrides) after a sync or a new block and print what was delivered (``json_out``: as
    one JSON line ``{"alerts": ...}``; ``show`` False: nothing). A rule problem or a
    delivery failure is printed and does not stop the sync or the watch."""
    from minerwatch.config import load_config

    chosen = rules if rules is not None else load_config().get("alerts", "rules")
    if not chosen:
        return
    from minerwatch.notify.run import run_alerts
    from minerwatch.present import terminal as render

    try:
        if store is None:
            with _store(db) as opened:
                result = run_alerts(opened, str(chosen))
        else:
            result = run_alerts(store, str(chosen))
    except MinerwatchError as exc:
        err.print(f"alerts: {exc}", markup=False, highlight=False)
        return
    if not show:
        return
    if json_out:
        typer.echo(json.dumps({"alerts": to_jsonable(result)}, allow_nan=False))
    else:
        render.alerts_run_report(out, result)


def _check_source_name(name: str) -> None:
    """A usage error unless ``name`` is a chain source the CLI follows (``--source``)."""
    if name not in ("node", "esplora"):
        raise InputError(f"--source {name!r}; expected node or esplora", parameter="source")


def _chain_source(name: str, config: Any, check_pow: bool = True) -> Any:
    """The chain source ``name`` ("node", "esplora") as ``config`` describes it."""
    if name == "node":
        from minerwatch.sources.node import NodeSource

        return NodeSource(
            check_pow=check_pow,
            url=config.get("node", "url"),
            network=config.get("node", "network"),
            datadir=config.get("node", "datadir"),
            cookie_file=config.get("node", "cookie"),
            user=config.get("node", "user"),
            password=config.get("node", "password"),
        )
    from minerwatch.sources.esplora import EsploraSource

    rate = config.get("esplora", "rate_per_s")
    return EsploraSource(
        list(config.get("esplora", "servers")), **({} if rate is None else {"rate_per_s": rate})
    )


def _sync_chain(
    db: Path | None,
    source: Any,
    from_height: int | None,
    skip_pow_check: bool,
    economics: bool,
    options: dict,
) -> None:
    from minerwatch.ingest.chain_sync import sync_chain
    from minerwatch.present import terminal as render

    with source, _steps(f"sync {source.name}") as steps:
        report = sync_chain(
            db,
            source,
            from_height=from_height,
            check_pow=not skip_pow_check,
            economics=economics,
            progress=_counting(steps, "blocks"),
            **options,
        )
    render.sync_report(out, report, unit="block")


@sync_app.command("node")
def sync_node_cmd(
    url: Annotated[
        str | None,
        _option(
            "--url",
            "URL",
            "Bitcoin Core RPC URL (default: $MINERWATCH_NODE_URL, the config file, else "
            "http://127.0.0.1 at the network's RPC port).",
        ),
    ] = None,
    cookie: Annotated[
        Path | None,
        _option(
            "--cookie",
            "FILE",
            "The node's RPC cookie file (default: .cookie in the network's data directory; "
            "read again after every HTTP 401).",
        ),
    ] = None,
    user: Annotated[
        str | None, _option("--user", "NAME", "rpcuser, when there is no cookie file.")
    ] = None,
    password: Annotated[
        str | None,
        _option(
            "--password",
            "TEXT",
            "rpcpassword, when there is no cookie file (prefer $MINERWATCH_NODE_PASSWORD: "
            "an option shows in the process list). Never printed.",
        ),
    ] = None,
    datadir: Annotated[
        Path | None,
        _option("--datadir", "DIR", "The node's data directory (where its cookie is)."),
    ] = None,
    network: Annotated[
        str | None,
        _option(
            "--network",
            "NAME",
            "The network expected (default: the node's own); picks the default port and "
            "cookie folder.",
        ),
    ] = None,
    from_height: Annotated[
        int | None,
        _option(
            "--from-height",
            "H",
            "Start a fresh database at height H without fetching anything below it (the "
            "first block's parent is taken on trust, and recorded).",
        ),
    ] = None,
    skip_pow_check: Annotated[
        bool,
        typer.Option(
            "--skip-pow-check",
            help="Do not check proof of work and the difficulty rules: test chains only "
            "(recorded in the database; `info` says so).",
        ),
    ] = False,
    headers_only: Annotated[
        bool,
        typer.Option(
            "--headers-only",
            help="Fetch headers only (faster), without fees, subsidy, transactions and the "
            "coinbase.",
        ),
    ] = False,
    db: DbOption = None,
    backoff_s: BackoffOption = None,
    max_attempts: AttemptsOption = None,
    deadline_s: DeadlineOption = None,
) -> None:
    """Follow the best chain of your own Bitcoin Core node: every block by hash, reorg-safe.

    Headers through REST when the node has it (-rest), else batched JSON-RPC; per-block
    fees, subsidy, transactions, weight, size and the coinbase through getblockstats,
    getblock and getrawtransaction. Every header is checked for linkage and proof of work
    against its own bits, and the difficulty, time and subsidy rules of the node's network.
    Incremental from the tip held; a reorg moves the replaced blocks to stale_blocks and is
    listed by `minerwatch info`. Each page is committed on its own. Cookie authentication by
    default, rpcuser/rpcpassword as the fallback; credentials are never printed or logged.
    Retries and the deadline as for `minerwatch sync`; exit code 3 when the node keeps
    failing or refuses the credentials.
    """
    from minerwatch.config import load_config

    config = load_config().with_options(
        "node",
        url=url,
        cookie=cookie,
        user=user,
        password=password,
        datadir=datadir,
        network=network,
    )
    options = _given(backoff_s=backoff_s, max_attempts=max_attempts, deadline_s=deadline_s)
    source = _chain_source("node", config, check_pow=not skip_pow_check)
    with _then_alerts(db):
        _sync_chain(db, source, from_height, skip_pow_check, not headers_only, options)


@sync_app.command("esplora")
def sync_esplora_cmd(
    url: Annotated[
        list[str] | None,
        _option(
            "--url",
            "URL",
            "An Esplora API base URL; repeat for fallbacks, tried in order (default: the "
            "config file, else https://mempool.space/api then https://blockstream.info/api).",
        ),
    ] = None,
    from_height: Annotated[
        int | None,
        _option(
            "--from-height",
            "H",
            "Start a fresh database at height H (the first block's parent on trust).",
        ),
    ] = None,
    skip_pow_check: Annotated[
        bool,
        typer.Option("--skip-pow-check", help="Test chains only (recorded)."),
    ] = False,
    db: DbOption = None,
    backoff_s: BackoffOption = None,
    max_attempts: AttemptsOption = None,
    deadline_s: DeadlineOption = None,
) -> None:
    """Follow the best chain from a public Esplora API (mempool.space, Blockstream): every
    block by hash with fees and pool, reorg-safe, polite (a request rate limit, Retry-After
    and HTTP 429 honoured, Expires respected, the next server on a failure). Blockstream's
    API gives no fees or pool: those stay unknown. Incremental, checked and committed page by
    page as `sync node`.
    """
    from minerwatch.config import load_config

    config = load_config().with_options("esplora", servers=tuple(url) if url else None)
    options = _given(backoff_s=backoff_s, max_attempts=max_attempts, deadline_s=deadline_s)
    with _then_alerts(db):
        _sync_chain(
            db, _chain_source("esplora", config), from_height, skip_pow_check, True, options
        )


def _counting(steps: Steps, unit: str) -> Callable[[int, int], None]:
    """The library's ``progress(done, expected)`` callback, counting ``unit`` on ``steps``."""
    return lambda done, expected: steps.count(done, expected, unit)


@sync_app.command("prices")
def sync_prices_cmd(
    source: Annotated[
        list[str] | None,
        _option(
            "--source",
            "NAME",
            "Exchange to sync: coinbase, kraken, bitstamp or binance (BTC/USDT); repeat for "
            "several (default: all four).",
        ),
    ] = None,
    url: Annotated[
        list[str] | None,
        _option(
            "--url",
            "[NAME=]URL",
            "Another base URL for exchange NAME (NAME=URL), or for every exchange synced (a "
            "plain URL); repeatable.",
        ),
    ] = None,
    from_day: Annotated[
        str | None,
        _option(
            "--from",
            "YYYY-MM-DD",
            "First day of daily closes to fetch (default: the day after the last one held "
            "for each exchange; its first trading day for a first sync).",
        ),
    ] = None,
    db: DbOption = None,
    backoff_s: BackoffOption = None,
    max_attempts: AttemptsOption = None,
    deadline_s: DeadlineOption = None,
    now_s: Annotated[
        int | None,
        typer.Option("--now", hidden=True, envvar="MINERWATCH_PRICES_NOW_S"),
    ] = None,
) -> None:
    """Fetch daily and hourly BTC closes from exchanges' public candle endpoints.

    Daily closes go to the prices table under the exchange's name (the candle of day D
    closes at D+1 00:00 UTC: day D's close), hourly closes to the hourly table; only
    complete candles are stored. Incremental per exchange: from the day (hour) after the
    last one held; a first sync fetches each exchange's whole daily history (Kraken serves
    only its latest 720 candles) and the last 30 days of hours. Each page is committed on
    its own and checked against the other stored sources' closes (beyond x3 refused).
    Binance quotes BTC/USDT: stored as source binance, left out of the USD index.
    Retries, MINERWATCH_HTTP_ATTEMPTS, MINERWATCH_HTTP_BACKOFF_S and
    MINERWATCH_SYNC_DEADLINE_S (per exchange) as for `minerwatch sync`. Exit code 3 when an
    exchange keeps failing (the others are still synced).
    """
    options = _given(
        backoff_s=backoff_s, max_attempts=max_attempts, deadline_s=deadline_s, now_s=now_s
    )
    with _then_alerts(db):
        _sync_prices(db, source, url, from_day, options)


@app.command()
def watch(
    source_name: Annotated[
        str,
        _option("--source", "node|esplora", "What to follow (default: node)."),
    ] = "node",
    url: Annotated[
        str | None,
        _option(
            "--url",
            "URL",
            "The node's RPC URL or the Esplora base URL (default: the config file's).",
        ),
    ] = None,
    cookie: Annotated[
        Path | None, _option("--cookie", "FILE", "The node's RPC cookie file.")
    ] = None,
    zmq: Annotated[
        str | None,
        _option(
            "--zmq",
            "ENDPOINT",
            "The node's ZMQ endpoint (-zmqpubsequence, else -zmqpubhashblock), e.g. "
            "tcp://127.0.0.1:28332 (default: the config file's node.zmq; none: poll).",
        ),
    ] = None,
    topic: Annotated[
        str, _option("--zmq-topic", "sequence|hashblock", "The ZMQ topic published there.")
    ] = "sequence",
    poll_s: Annotated[
        float,
        _option("--poll", "SECONDS", "Seconds between polls of the tip without ZMQ (10)."),
    ] = 10.0,
    until_height: Annotated[
        int | None, _option("--until-height", "H", "Stop once the tip held reaches H.")
    ] = None,
    for_s: Annotated[
        float | None, _option("--for", "SECONDS", "Stop after this many seconds.")
    ] = None,
    skip_pow_check: Annotated[
        bool, typer.Option("--skip-pow-check", help="Test chains only (recorded).")
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object a sync (JSON lines).")
    ] = False,
    alerts: Annotated[
        str | None,
        _option(
            "--alerts",
            "RULES",
            "Run these alert rules on each new block (default: the config file's alerts.rules).",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Follow the tip: sync each new block as soon as the node announces it (ZMQ), or by
    polling the tip, and print one line per block (height, time since the previous, pool,
    fees, transactions; * marks a provisional one) and the next adjustment estimate.

    Re-syncs after every (re)connect and after a lost notification; the tip is also polled
    every minute while notifications arrive. Source faults are printed and retried after
    5 s. Stops on Ctrl-C (exit 0), --until-height or --for. ZMQ needs the live extra (pip
    install 'minerwatch[live]').
    """
    import time as _time

    from minerwatch.analyses.tip import tip_update
    from minerwatch.present.tip import tip_lines

    follow = _tip_follower(source_name, url, cookie, zmq, topic, poll_s, skip_pow_check)
    ends = None if for_s is None else _time.monotonic() + for_s
    held: list[int | None] = [None]

    def on_tip(change: Any, store: Any) -> None:
        first = (change.old_height + 1) if change.old_height is not None else 0
        if change.new_height is not None:  # at the start with nothing new: the tip itself
            first = min(first, change.new_height)
        update = tip_update(store, first, notes=change.report.notes)
        held[0] = update.tip_height
        if json_out:
            typer.echo(json.dumps(to_jsonable(update), allow_nan=False))
        else:
            tip_lines(out, update)
        _alerts_after(db, store, alerts, json_out)  # the rules on the day so far (provisional)

    def should_stop() -> bool:
        done = until_height is not None and held[0] is not None and held[0] >= until_height
        return done or (ends is not None and _time.monotonic() >= ends)

    with suppress(KeyboardInterrupt):
        follow(db, should_stop, on_tip)


def _tip_follower(
    source_name: str,
    url: str | None,
    cookie: Path | None,
    zmq: str | None,
    topic: str,
    poll_s: float,
    skip_pow_check: bool,
) -> Callable[[Any, Callable[[], bool], Callable[[Any, Any], None]], None]:
    """``follow(db, should_stop, on_tip)``: follow the chain source these options (and the
    config file) name into ``db`` until ``should_stop()``, calling ``on_tip(change, store)``
    after each sync; the source, its notifications and the config are made now, so that a
    bad option is an error before anything runs. Source faults are printed and retried."""
    from minerwatch.config import load_config
    from minerwatch.ingest.watch import watch as watch_tip

    _check_source_name(source_name)
    config = load_config().with_options("node", url=url, cookie=cookie, zmq=zmq)
    if source_name == "esplora" and url:
        config = config.with_options("esplora", servers=(url,))
    source = _chain_source(source_name, config, check_pow=not skip_pow_check)
    endpoint = config.get("node", "zmq") if source_name == "node" else None
    notifications = None
    if endpoint:
        from minerwatch.sources.zmq_notify import ZmqNotifications

        notifications = ZmqNotifications(endpoint, topic)

    def on_fault(fault: SourceError) -> None:
        err.print(f"source error: {fault} (retrying)", markup=False, highlight=False)

    def follow(
        db: Any, should_stop: Callable[[], bool], on_tip: Callable[[Any, Any], None]
    ) -> None:
        try:
            with source:
                watch_tip(
                    db,
                    source,
                    on_tip=on_tip,
                    notifications=notifications,
                    poll_s=poll_s,
                    on_fault=on_fault,
                    should_stop=should_stop,
                    check_pow=not skip_pow_check,
                )
        finally:
            if notifications is not None:
                notifications.close()

    return follow


def _sync_prices(
    db: Path | None,
    sources: list[str] | None,
    urls: list[str] | None,
    from_day: str | None,
    options: dict,
) -> None:
    from minerwatch.ingest.prices_feed import sync_prices
    from minerwatch.present import terminal as render

    with _steps("sync prices") as steps:
        progress = _counting(steps, "candles")
        result = sync_prices(
            db, sources=sources, base_urls=urls, start=from_day, progress=progress, **options
        )
    for report in result.reports:
        render.sync_report(out, report, unit="candle")
    if result.failures:
        name, error = result.failures[0]
        others = [n for n, _ in result.failures[1:]]
        more = f" (also failed: {', '.join(others)})" if others else ""
        raise type(error)(f"{name}: {error.reason}{more}", url=error.url)


asics_app = typer.Typer()  # help: the docstring of its callback, ``asics``
app.add_typer(asics_app, name="asics")

MachinesOption = Annotated[
    Path | None,
    _option(
        "--machines",
        "FILE",
        "CSV of your own machines: columns model, hashrate_ths, power_w and optionally "
        "vendor, efficiency_j_th, release_month, cooling, source. A row named like a catalog "
        "model replaces it.",
    ),
]


@asics_app.callback(invoke_without_command=True)
def asics(
    ctx: typer.Context,
    power_price: Annotated[
        float | None,
        _option(
            "--power-price",
            "USD_PER_KWH",
            "Electricity price, USD/kWh (default 0.05: CBECI's assumption).",
        ),
    ] = None,
    pool_fee: Annotated[
        float | None,
        _option(
            "--pool-fee", "PCT", "Pool fee, percent of revenue (default 2: a typical FPPS fee)."
        ),
    ] = None,
    uptime: Annotated[
        float | None,
        _option("--uptime", "PCT", "Share of the day the machines hash, percent (default 97)."),
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

    result = asic_economics(
        db,
        as_of,
        user_file=machines,
        released_only=not all_models,
        **_given(power_price_usd_kwh=power_price, pool_fee_pct=pool_fee, uptime_pct=uptime),
    )
    _emit(result, json_out, "asic_economics_table")


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
        typer.echo(to_json(doc))
    else:
        _emit(catalog, False, "asic_catalog_table")


CostModelOption = Annotated[
    str | None,
    _option(
        "--model",
        "NAME",
        "Production-cost model (default drm-fit-2015); `minerwatch cost` lists them.",
    ),
]
PowerPriceOption = Annotated[
    float | None,
    _option(
        "--power-price",
        "USD_PER_KWH",
        "Electricity price for the energy and all-in models, > 0 and < 10 (default 0.05: CBECI's).",
    ),
]
FitEndOption = Annotated[
    str | None,
    _option(
        "--fit-end",
        "YYYY-MM-DD",
        "End the window of the drm-fit-* regressions on this day (later days keep that "
        "fit); default: each day is refitted up to itself.",
    ),
]


def _cost_parameters(
    model: str | None, power_price: float | None, fit_end: str | None
) -> dict[str, Any]:
    return _given(model=model, electricity_usd_kwh=power_price, drm_fit_end=fit_end)


FleetFileArgument = Annotated[
    Path, typer.Argument(metavar="FILE", help="Fleet file (TOML; docs/fleet.md).")
]


@app.command()
def fleet(
    file: FleetFileArgument,
    from_day: Annotated[
        str | None,
        _option("--from", "YYYY-MM-DD", "History: the first day of the P&L."),
    ] = None,
    to_day: Annotated[
        str | None,
        _option("--to", "YYYY-MM-DD", "History: the last day (default: the last day held)."),
    ] = None,
    plan: Annotated[
        int | None,
        _option("--plan", "MONTHS", "Plan this many months ahead (1 to 120)."),
    ] = None,
    scenario: Annotated[
        str | None,
        _option(
            "--scenario",
            "NAME|FILE",
            "Plan scenario: base (default), bear, hashrate-to-ai, storm, or a scenario file.",
        ),
    ] = None,
    runs: Annotated[int | None, _option("--runs", "N", "Scenario runs (default 2000).")] = None,
    seed: Annotated[int | None, _option("--seed", "N", "Random seed (default 0).")] = None,
    compare: Annotated[
        Path | None,
        _option("--compare", "OTHER_FILE", "Plan OTHER_FILE against FILE on the same runs."),
    ] = None,
    tornado: Annotated[
        bool,
        typer.Option("--sensitivity", help="Plan: the median NPV as each input swings (tornado)."),
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="YYYY-MM-DD",
            help="Plan: start after this day (default: the last held).",
        ),
    ] = None,
    json_out: JsonOption = False,
    csv_file: CsvOption = None,
    db: DbOption = None,
) -> None:
    """The operator's desk: a fleet's P&L day by day (--from/--to) or its months ahead
    under a scenario (--plan), with payback, NPV, breakevens and shutdown order; --compare
    prices a swap of machines and --sensitivity the inputs that matter most."""
    history = from_day is not None or to_day is not None
    forward = plan is not None or compare is not None or tornado
    if history == forward:
        raise InputError(
            "give --from DATE [--to DATE] for the history, or --plan MONTHS (with "
            "--compare or --sensitivity) for the plan"
        )
    if history:
        if from_day is None:
            raise InputError("--to needs --from: the first day of the P&L")
        if as_of is not None or scenario is not None or runs is not None or seed is not None:
            raise InputError("--as-of, --scenario, --runs and --seed are options of --plan")
        from minerwatch.analyses.fleet_history import fleet_history

        result: Any = _answer(fleet_history, db, file, from_day, to_day)
        _emit(result, json_out, "fleet_history_report", csv_file, "the per-day, per-lot rows")
        return
    if compare is not None and tornado:
        raise InputError("--compare and --sensitivity are separate questions; ask one at a time")
    if compare is not None and csv_file is not None:
        raise InputError("--csv writes the plan's months or the tornado; --compare has no table")
    months = 36 if plan is None else plan
    kwargs = _given(runs=runs, seed=seed, as_of=as_of)
    chosen = scenario or "base"
    if compare is not None:
        from minerwatch.analyses.fleet_decisions import compare_fleets

        result = _answer(compare_fleets, db, file, compare, months, chosen, **kwargs)
        _emit(result, json_out, "fleet_comparison_report")
    elif tornado:
        from minerwatch.analyses.fleet_decisions import sensitivity

        result = _answer(sensitivity, db, file, months, chosen, **kwargs)
        _emit(result, json_out, "fleet_sensitivity_report", csv_file, "the tornado rows")
    else:
        from minerwatch.analyses.fleet_plan import plan_fleet

        result = _answer(plan_fleet, db, file, months, chosen, **kwargs)
        _emit(result, json_out, "fleet_plan_report", csv_file, "the month bands")


@app.command()
def cost(
    model: CostModelOption = None,
    as_of: AsOfOption = None,
    power_price: PowerPriceOption = None,
    fit_end: FitEndOption = None,
    electricity_share: Annotated[
        float | None,
        _option(
            "--electricity-share",
            "X",
            "Electricity's share of total mining cost, (0, 1] (default 0.6: Capriole's).",
        ),
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Production cost of a bitcoin by every model: Difficulty Regression fits and presets,
    Hayes' energy breakeven, CBECI-style electricity and all-in cost, with fit statistics."""
    from minerwatch.analyses.cost import production_cost

    options = _cost_parameters(model, power_price, fit_end)
    options.update(_given(electricity_share=electricity_share))
    _emit(_answer(production_cost, db, as_of, **options), json_out, "production_cost_report")


@app.command()
def episodes(
    model: CostModelOption = None,
    as_of: AsOfOption = None,
    power_price: PowerPriceOption = None,
    fit_end: FitEndOption = None,
    merge_gap: Annotated[
        int | None,
        _option(
            "--merge-gap",
            "DAYS",
            "Bridge gaps above cost shorter than this many days (default 7).",
        ),
    ] = None,
    min_days: Annotated[
        int | None,
        _option("--min-days", "N", "Shortest episode listed, days (default 1)."),
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Every episode of the daily close below the production cost: dates, depth, how it
    ended and the price 90, 180 and 365 days after it began."""
    from minerwatch.analyses.studies import cost_episodes

    options = _cost_parameters(model, power_price, fit_end)
    options.update(_given(merge_gap_days=merge_gap, min_days=min_days))
    _emit(_answer(cost_episodes, db, as_of, **options), json_out, "episodes_table")


ConfirmDaysOption = Annotated[
    int | None,
    _option(
        "--confirm-days",
        "DAYS",
        "Hash ribbons: days the 30-day mean hashrate must stay back above the 60-day "
        "mean to end a capitulation (default 2: ours, chosen in hindsight to reproduce "
        "Edwards' 2022 dates; 1 is his plain crossover).",
    ),
]


@app.command()
def signals(
    as_of: AsOfOption = None,
    confirm_days: ConfirmDaysOption = None,
    price_cross: Annotated[
        str | None,
        _option(
            "--price-cross",
            "any|follow",
            "Hash-ribbon buy rule: the price's 10-day SMA above its 20-day SMA in the "
            "recovery, whenever it crossed (any, the default: Capriole's), or a price cross "
            "after the hashrate cross (follow).",
        ),
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Capitulation and stress signals of a day: hash ribbons (state, every capitulation and
    buy signal), the Puell multiple and its historical percentile, our sustainability index,
    and the miner-stress conditions that hold."""
    from minerwatch.analyses.signals import signals as library_signals

    options = _given(price_cross=price_cross, confirm_days=confirm_days)
    _emit(_answer(library_signals, db, as_of, **options), json_out, "signals_report")


@app.command()
def study(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="compression, ribbons or below-cost.")
    ],
    as_of: AsOfOption = None,
    confirm_days: ConfirmDaysOption = None,
    strict_change: Annotated[
        float | None,
        _option(
            "--strict-change",
            "PCT",
            "compression: threshold of the strong-compression regime, a negative "
            "percentage (default -5: ours, a round number near the 5th percentile of the "
            "30-day change since 2014, set in hindsight).",
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

    options = _given(confirm_days=confirm_days, strict_change_pct=strict_change)
    result = _answer(library_study, db, name, as_of, **options)
    _emit(result, json_out, "study_report", csv_file, csv_table="summary table")


@app.command()
def difficulty(
    as_of: AsOfOption = None,
    at_height: Annotated[
        int | None,
        _option(
            "--at-height", "H", "Forecast as of block H instead of a day (needs per-block data)."
        ),
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """The current difficulty epoch and the next adjustment: percent change and date with
    90% intervals, mempool.space's estimate beside them, and hashrate estimators with
    intervals. Per-block data is used when held, else the daily data at the day's end."""
    from minerwatch.analyses.difficulty import difficulty_outlook

    result = _answer(difficulty_outlook, db, as_of, at_height)
    _emit(result, json_out, "difficulty_outlook_panel")


@app.command()
def pools(
    window: Annotated[
        str | None,
        _option(
            "--window",
            "1d|7d|30d|epoch|N",
            "Blocks counted: header time in the last 1, 7 or 30 days, the current "
            "difficulty epoch so far, or the last N blocks (default 7d).",
        ),
    ] = None,
    as_of: AsOfOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Who found the blocks: each pool's blocks and share with a 90% interval, the hashrate
    it implies, empty blocks, and the unknown share, over a window ending with the day."""
    from minerwatch.analyses.pools import pool_shares

    result = _answer(pool_shares, db, as_of, **_given(window=window))
    _emit(result, json_out, "pool_shares_table")


@app.command()
def report(
    out_file: Annotated[
        Path,
        typer.Option("--out", metavar="FILE.html", help="Write the HTML report to FILE."),
    ],
    as_of: AsOfOption = None,
    png_dir: Annotated[
        Path | None,
        _option("--png", "DIR", "Also draw every chart as a PNG in DIR (created if missing)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """The report of a day as one self-contained HTML file (opens offline): the brief, the
    snapshot, charts of price against production cost, hashrate and hash ribbons,
    difficulty and the next adjustment, hashprice, miner revenue and machine breakevens,
    and the signals. --png also writes each chart as a PNG."""
    from minerwatch.present.html import write_report

    with _steps("report") as steps:
        steps.step(f"rendering {out_file}" + (f" and the PNGs in {png_dir}" if png_dir else ""))
        files = _answer(write_report, db, out_file, as_of, png_dir=png_dir)
    _emit(files, False, "report_files")


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

    _emit(_answer(library_brief, db, as_of), json_out, "brief_text")


@app.command()
def info(
    json_out: JsonOption = False,
    db: DbOption = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="YYYY-MM-DD",
            help="What it held for the days up to this one (default: all it holds).",
        ),
    ] = None,
) -> None:
    """What the database holds: each table's rows, range, sources and gaps, the last sync
    and write, reorgs seen, the schema version, the file's size and path."""
    from minerwatch.analyses.info import info as library_info

    result = library_info(db, as_of)
    if json_out:
        typer.echo(to_json(result))
    else:
        from minerwatch.present.info import info_panel

        info_panel(out, result)


@app.command()
def export(
    table: Annotated[str, typer.Argument(help="daily, blocks, epochs or prices.")],
    start: Annotated[
        str | None, _option("--from", "YYYY-MM-DD", "First day exported (default: all).")
    ] = None,
    end: Annotated[
        str | None, _option("--to", "YYYY-MM-DD", "Last day exported (default: all).")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", metavar="csv|json|parquet", help="File format.")
    ] = "csv",
    out_file: Annotated[
        Path | None,
        _option(
            "--out", "FILE", "Write to FILE (default or -: standard output; parquet needs a file)."
        ),
    ] = None,
    as_of: AsOfOption = None,
    db: DbOption = None,
) -> None:
    """Export a table: daily (every daily metric column, units in the names), or the stored
    blocks, epochs or prices, as CSV, JSON (a list of objects) or Parquet (needs the arrow
    extra). Nothing after --to or --as-of is read."""
    from minerwatch.analyses.export import export_table
    from minerwatch.tables import check_format

    target = None if out_file is None else str(out_file)
    check_format(fmt, target)  # before the work: a bad format or a missing extra
    result = export_table(db, table, start=start, end=end, as_of=as_of)
    text = result.write(target, fmt)
    if text is not None:
        sys.stdout.write(text)
    else:
        from minerwatch.present.format import count

        err.print(
            f"{count(len(result), 'row')} written to {out_file}", style="dim", highlight=False
        )


@app.command()
def serve(
    host: Annotated[
        str, _option("--host", "HOST", "Address to listen on (default 127.0.0.1: loopback).")
    ] = "127.0.0.1",
    port: Annotated[int, _option("--port", "PORT", "TCP port (default 8787).")] = 8787,
    token: Annotated[
        str | None,
        _option(
            "--token",
            "TOKEN",
            "Token every request must carry (Authorization: Bearer TOKEN or ?token=TOKEN); "
            "needed for a host other than loopback.",
            envvar="MINERWATCH_TOKEN",
        ),
    ] = None,
    watch_tip: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Also follow the tip, as `minerwatch watch` does, in a thread of the server "
            "(the one writer: the server then holds the database while it runs); open pages "
            "of the latest day update on each new block.",
        ),
    ] = False,
    source_name: Annotated[
        str, _option("--source", "node|esplora", "With --watch: what to follow (node).")
    ] = "node",
    url: Annotated[
        str | None, _option("--url", "URL", "With --watch: the node's or Esplora's URL.")
    ] = None,
    cookie: Annotated[
        Path | None, _option("--cookie", "FILE", "With --watch: the node's RPC cookie file.")
    ] = None,
    zmq: Annotated[
        str | None, _option("--zmq", "ENDPOINT", "With --watch: the node's ZMQ endpoint.")
    ] = None,
    poll_s: Annotated[
        float | None,
        _option("--poll", "SECONDS", "With --watch: seconds between polls of the tip (10)."),
    ] = None,
    skip_pow_check: Annotated[
        bool, typer.Option("--skip-pow-check", help="With --watch: test chains only.")
    ] = False,
    read_only: Annotated[
        bool,
        typer.Option(
            "--read-only",
            help="Say that nothing may write (the server never does; refused with --watch, "
            "whose follower writes each new block).",
        ),
    ] = False,
    alerts: Annotated[
        str | None,
        _option(
            "--alerts",
            "RULES",
            "The rule file the Alerts page shows (default: the config file's alerts.rules, "
            "else the shipped pack).",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Serve the web dashboard and the JSON API (needs the web extra): the Now, Charts,
    Difficulty, Machines, Pools, Episodes, Fleet, Alerts and Data pages, `/api/v1/` (each
    command's `--json` object),
    `/api/v1/series/METRIC`, `/metrics` (Prometheus) and `/events` (a server-sent event on
    each commit to the database). Read-only: each request opens the database read-only
    (with --watch, a read-only cursor of the database the follower writes to). With
    --watch, the rules of --alerts (else the config file's) run on each new block. Every
    page and analysis takes `?as_of=YYYY-MM-DD`."""
    if read_only and watch_tip:
        raise InputError(
            "--read-only and --watch together: the follower of --watch writes each new block "
            "to the database; drop one",
            parameter="read-only",
        )
    try:
        from minerwatch.web.serve import serve as library_serve
    except ImportError as exc:
        raise InputError(
            f"minerwatch serve needs the web extra: pip install 'minerwatch[web]' ({exc})"
        ) from None
    follow, said = None, ""
    if watch_tip:
        from minerwatch.ingest.watch import DEFAULT_POLL_S

        def on_tip(change: Any, written: Any) -> None:  # the rules the Alerts page shows
            _alerts_after(db, written, alerts, show=False)

        tip_follower = _tip_follower(
            source_name, url, cookie, zmq, "sequence",
            DEFAULT_POLL_S if poll_s is None else poll_s, skip_pow_check,
        )  # fmt: skip

        def follow(store: Any, should_stop: Callable[[], bool]) -> None:
            tip_follower(store, should_stop, on_tip)

        said = f"--source {source_name}" + (f" (ZMQ {zmq})" if zmq else "")
    library_serve(
        db,
        host,
        port,
        token=token,
        follow=follow,
        follow_said=said,
        alerts=alerts,
        announce=lambda line: err.print(line, markup=False, highlight=False, soft_wrap=True),
    )


config_app = typer.Typer(help="The configuration file.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show(json_out: JsonOption = False) -> None:
    """Print every setting in effect, its value and where it came from (an option, an
    environment variable, the file or the default). The file is $MINERWATCH_CONFIG, else
    config.toml in the user config directory; secrets are never printed."""
    from minerwatch.config import load_config
    from minerwatch.present.config import config_json, config_table

    config = load_config()
    if json_out:
        typer.echo(to_json(config_json(config)))
    else:
        config_table(out, config)


alerts_app = typer.Typer(
    help="Alert rules: their state on a day, a replay over history, delivery.",
    no_args_is_help=True,
)
app.add_typer(alerts_app, name="alerts")
RulesArgument = Annotated[
    str,
    typer.Argument(
        metavar="RULES", help="Rule file (YAML; docs/alerts.md), or pack: minerwatch's own."
    ),
]
FleetOption = Annotated[
    Path | None,
    _option("--fleet", "FILE", "A fleet file, for the fleet.* figures (docs/fleet.md)."),
]


@alerts_app.command("check")
def alerts_check_cmd(
    rules: RulesArgument,
    as_of: AsOfOption = None,
    fleet_file: FleetOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Each rule's state (normal, pending, firing, recovering, no-data, error) and value on
    a day, with the day its state began."""
    from minerwatch.analyses.alerts import alerts_check

    result = _answer(alerts_check, db, rules, as_of, fleet=fleet_file)
    _emit(result, json_out, "alerts_check_table")


@alerts_app.command("backtest")
def alerts_backtest_cmd(
    rules: RulesArgument,
    from_day: Annotated[str, _option("--from", "YYYY-MM-DD", "First day replayed.")],
    to_day: Annotated[
        str | None, _option("--to", "YYYY-MM-DD", "Last day (default: the last day held).")
    ] = None,
    fleet_file: FleetOption = None,
    json_out: JsonOption = False,
    csv_file: CsvOption = None,
    db: DbOption = None,
) -> None:
    """Replay the rules over history with only the data each day had: every firing period
    (start, end, value at start) and how often per year, before you switch a rule on."""
    from minerwatch.analyses.alerts import alerts_backtest

    result = _answer(alerts_backtest, db, rules, from_day, to_day, fleet=fleet_file)
    _emit(result, json_out, "alerts_backtest_table", csv_file, "the firing periods")


@alerts_app.command("run")
def alerts_run_cmd(
    rules: RulesArgument,
    as_of: AsOfOption = None,
    fleet_file: FleetOption = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Evaluate the rules, deliver what they owe to the rule file's notifiers (each
    transition once: the ledger in the database remembers), and store their states. Exit 3
    when a delivery failed (it stays owed: the next run tries it again)."""
    from minerwatch.notify.run import run_alerts

    with _store(db) as store:
        result = run_alerts(store, rules, as_of, fleet=fleet_file)
    _emit(result, json_out, "alerts_run_report")
    failed = [s for s in result.sent if not s.ok]
    if failed:
        from minerwatch.present.format import count

        err.print(
            f"{count(len(failed), 'delivery', 'deliveries')} of {len(result.sent)} failed "
            "(still owed: the next run tries again)",
            highlight=False,
        )
        raise typer.Exit(EXIT_SOURCE)


backtest_app = typer.Typer(help="Backtests of the forecasts over history.", no_args_is_help=True)
app.add_typer(backtest_app, name="backtest")


@backtest_app.command("difficulty")
def backtest_difficulty_cmd(
    json_out: JsonOption = False,
    csv_file: CsvOption = None,
    db: DbOption = None,
    walk_forward: Annotated[
        bool,
        typer.Option(
            "--walk-forward",
            help="Score every epoch from 2014 at 1-99% of the epoch, every learned part "
            "refitted on what was known before each forecast: MAE, interval score, CRPS, "
            "coverage per level and per year, beside the baseline's.",
        ),
    ] = False,
    png: Annotated[
        Path | None,
        typer.Option(
            "--png",
            metavar="FILE",
            help="With --walk-forward: also draw the "
            "PIT histogram and the coverage by level to FILE (PNG).",
        ),
    ] = None,
    as_of: AsOfOption = None,
) -> None:
    """Backtest the next-adjustment forecast against mempool.space's over every epoch the
    data allows, at 10/25/50/75/90% of the epoch: mean absolute errors of change and date,
    ratio to the baseline, coverage of the 90% intervals. With --as-of, only what was known
    at the end of that day (the epochs whose next one had begun)."""
    from minerwatch.analyses import backtest

    if png is not None and not walk_forward:
        raise InputError("--png draws the walk-forward run: give --walk-forward too")
    if as_of is not None and walk_forward:
        raise InputError(
            "--as-of cuts the plain backtest; the walk-forward run scores from 2014 on what "
            "was known before each forecast already: drop one",
            parameter="as-of",
        )
    run = backtest.walk_forward_backtest if walk_forward else backtest.backtest_difficulty
    with _steps("backtest difficulty") as steps:
        steps.step("forecasting every epoch the data allows")
        result = _answer(run, db, *(() if as_of is None else (as_of,)))
    if png is not None:
        from minerwatch.present.calibration import write_calibration_png

        write_calibration_png(result, png)
    table = "walk_forward_table" if walk_forward else "difficulty_backtest_table"
    _emit(result, json_out, table, csv_file)


def _fail(label: str, message: Exception | str, code: int) -> int:
    """Print ``label: message`` as one line on stderr; return ``code``."""
    from rich.markup import escape

    err.print(f"[bold red]{label}:[/] {escape(str(message))}", highlight=False, soft_wrap=True)
    return code


# The option that sets each library parameter: a message about a parameter names the option
# instead (the library's message begins with the parameter's name, or writes it in
# backticks where it names another one).
PARAMETER_OPTIONS = {
    "zmq": "--zmq",
    "as_of": "--as-of",
    "at_height": "--at-height",
    "price_source": "--price-source",
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
    "format": "--format",
    "source": "--source",
    "replace": "--replace",
    "window": "--window",
    "base_url": "--url",
    "start": "--start",
    "end": "--end",
    "from_day": "--from",
    "to_day": "--to",
    "months": "--plan",
    "runs": "--runs",
    "seed": "--seed",
    "scenario": "--scenario",
}


def _input_message(exc: InputError) -> str:
    """The error's message, naming the CLI option where the library names its parameter."""
    return naming(exc, PARAMETER_OPTIONS)


def _command_name(info: Any) -> str:
    """The name Typer gives a registered command or group."""
    return info.name or info.callback.__name__.lower().replace("_", "-")


def _branch(typer_app: typer.Typer, args: tuple[str, ...]) -> typer.Typer:
    """``typer_app`` holding only the command or group that ``args[0]`` names (and, in a
    group, only the command that ``args[1]`` names), as a shallow copy; ``typer_app``
    itself when ``args[0]`` names none of them (help, a mistyped name: Typer then lists
    and suggests from all)."""
    name = args[0] if args else ""
    commands = [c for c in typer_app.registered_commands if _command_name(c) == name]
    groups = [g for g in typer_app.registered_groups if g.name == name]
    if not commands and not groups:
        return typer_app
    pruned = copy.copy(typer_app)
    pruned.registered_commands, pruned.registered_groups = commands, []
    for group in groups:
        sub = copy.copy(group)
        if group.typer_instance is not None:
            sub.typer_instance = _branch(group.typer_instance, args[1:])
        pruned.registered_groups.append(sub)
    return pruned


@functools.lru_cache(maxsize=64)  # the names may be file paths: a bounded cache
def _click_command(args: tuple[str, ...] = ()):
    """The click command of :data:`app` for a command line whose arguments after the root's
    flags are ``args``, built once per process and command: only the branch of the
    commands it names (Typer reads the signature of every command it converts; all of
    them took 60 ms, a fifth of the start-up of a command)."""
    return typer.main.get_command(_branch(app, args[:2]))


def _global_options_last(argv: list[str]) -> list[str]:
    """``argv`` with a ``--db FILE`` given before the command moved after it, where every
    command that reads a database takes it (``minerwatch --db mw.duckdb status``), and a
    ``--progress`` anywhere (before a ``--``) moved before the command, where the root
    takes it (``minerwatch import blocks FILE --progress``)."""
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [a for a in argv[:end] if a == "--progress"]
    argv = [a for a in argv[:end] if a != "--progress"] + argv[end:]
    moved: list[str] = []
    while argv and (argv[0] == "--db" or argv[0].startswith("--db=")):
        take = 1 if argv[0].startswith("--db=") else 2
        moved += argv[:take]
        argv = argv[take:]
    return flags + argv + moved


class _Notices(logging.Handler):
    """The library's notices (warnings it logs, such as a wait for a busy database), one
    line each on stderr."""

    def __init__(self, console: Console) -> None:
        super().__init__(logging.WARNING)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        self.console.print(f"note: {record.getMessage()}", markup=False, highlight=False)


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command line (``argv`` without the program's name; default
    ``sys.argv[1:]``) and return its exit code.

    Usage errors are Typer's own (exit 2, with the usage); a library error becomes one line
    on stderr, a bad parameter named by its option: an :class:`InputError` exits 2, a
    :class:`SourceError` 3, a :class:`StoreError` 4. Any other exception is a bug: one line
    naming it and exit 1 (``MINERWATCH_DEBUG=1`` shows the traceback instead).
    """
    global out, err, _progress_lines
    # Consoles of this run's streams (tests run many commands in one process).
    out, err, _progress_lines = _console(), _console(stderr=True), False
    notices = _Notices(err)
    logging.getLogger("minerwatch").addHandler(notices)
    try:
        args = _global_options_last(list(sys.argv[1:] if argv is None else argv))
        named = args[args.index("--progress") + 1 :] if args[:1] == ["--progress"] else args
        _click_command(tuple(named[:2])).main(args=args, prog_name="minerwatch")
    except SystemExit as exc:  # Typer's own end: success, --help, or a usage error
        code = exc.code
        return code if isinstance(code, int) else EXIT_OK if code is None else EXIT_OTHER
    except InputError as exc:
        return _fail("error", _input_message(exc), EXIT_INPUT)
    except SourceError as exc:
        return _fail("source error", exc, EXIT_SOURCE)
    except StoreError as exc:
        return _fail("database error", exc, EXIT_DATABASE)
    except MinerwatchError as exc:
        return _fail("error", exc, EXIT_OTHER)
    except Exception as exc:
        if os.environ.get("MINERWATCH_DEBUG"):
            raise
        return _fail(
            "unexpected error",
            f"{type(exc).__name__}: {exc} (a bug: please report it; MINERWATCH_DEBUG=1 shows "
            "the traceback)",
            EXIT_OTHER,
        )
    finally:
        logging.getLogger("minerwatch").removeHandler(notices)
    return EXIT_OK


def main() -> None:
    """Console entry point: :func:`run` on the process's arguments, its code as the exit
    status."""
    sys.exit(run())
