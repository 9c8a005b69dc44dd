"""The DuckDB store: schema, migrations, transactional idempotent writes, and reads.

This is the only module that speaks SQL. Everything else asks it for arrays.

Tables (schema version :data:`SCHEMA_VERSION`):

- ``chain_daily``: one row per UTC day of chain data (blocks, fees, issuance, supply in
  satoshis; the source's hashrate estimate in TH/s; the mean difficulty recovered from it).
- ``prices``: one daily close per (day, source), USD.
- ``epochs``: one row per 2016-block difficulty epoch (difficulty, compact bits, start time).
- ``blocks``: per-block rows (height, header time, bits, difficulty, fees, subsidy, pool),
  one contiguous run of heights (:func:`~minerwatch.sources.blocks.check_heights_join`);
  NULL where a value is unknown. The best chain only: one row per height, kept so by the
  writers (:meth:`Store.write_blocks`, :meth:`Store.write_block_page`) rather than by a
  key. A block from a live source also carries its ``hash`` and ``source`` ('node',
  'esplora'); a block imported from a CSV file has neither (NULL) and is told apart by that.
- ``block_details``: what a live source tells beyond that, at most one row per stored
  height (parent hash, median time past, version, nonce, chainwork, merkle root,
  transaction count, weight, size, coinbase scriptSig and payout scripts); the view
  ``blocks_full`` joins it to ``blocks``. Kept apart because DuckDB's bulk insert pays for
  every column, NULL or not: 930,000 CSV rows went in 2.3 times faster without them.
- ``block_day_sums``: sums over the blocks stamped on each UTC day (count, fees, issuance,
  difficulty; :class:`~minerwatch.blockdays.DaySums`), refreshed by every write of
  ``blocks`` from the first day it touches, so that the daily frame reads one row a day
  instead of every block.
- ``stale_blocks``: blocks a reorg replaced, with the id of that reorg; never deleted.
- ``reorgs``: every reorg a sync found (fork height, depth, old and new tip).
- ``chain_sync``: where each live chain source's sync stands (network, tip height and hash,
  the first height held and whether its parent was taken on trust, proof-of-work checked).
- ``prices_hourly``: hourly closes per exchange (``quote`` 'USD' or 'USDT').
- ``pools``: the pool list blocks are identified with, in its order (name, link, payout
  addresses, coinbase tags; :mod:`minerwatch.sources.pools`).
- ``sync_state``: where each network source's incremental sync stands.
- ``alert_states``: each alert rule's state after its last evaluation (per rule file).
- ``alert_notifications``: the ledger of alert notifications, one row per (rule file,
  alert, firing period, kind, sequence, notifier): written before delivery, marked
  delivered or failed after, so that no transition is notified twice.
- ``imports``: a log of every write (what, from where, how many rows new/changed).

Writes go through a staging table and ``INSERT OR REPLACE`` (``blocks``: a delete, an
update and an insert) inside one transaction, so a write is all-or-nothing and writing the
same rows again changes nothing.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import duckdb
import numpy as np

from minerwatch.blockdays import DaySums, day_sums, known_difficulty
from minerwatch.chain.consensus import bits_to_difficulty_array
from minerwatch.days import as_day
from minerwatch.errors import (
    InputError,
    NoChainData,
    NoDatabase,
    NotAMinerwatchStore,
    SchemaTooNew,
    SchemaTooOld,
    StoreBusy,
    StoreReadOnly,
    StoreUnreadable,
)
from minerwatch.servers import server_for
from minerwatch.units import SECONDS_PER_DAY

if TYPE_CHECKING:
    from minerwatch.sources.chainpage import BlockPage
    from minerwatch.sources.pools import PoolList

SCHEMA_VERSION = 5
T = TypeVar("T")
EPOCH_DAY = np.datetime64("1970-01-01", "D")
#: The current moment as a UTC ``TIMESTAMP``, for the times the log tables keep (``now()``
#: alone is the session's local time zone, and a ``TIMESTAMP`` column would keep that
#: local wall-clock time while every reader takes it as UTC).
NOW_UTC = "(now() AT TIME ZONE 'UTC')"

# Columns schema 2 added to ``blocks``; schema 3 moved all but ``hash`` and ``source`` to
# ``block_details`` (see :class:`minerwatch.sources.chainpage.BlockPage`; ``payout_scripts``
# holds the hex scriptPubKeys separated by spaces; ``source`` is 'node' or 'esplora', NULL
# for a block from a CSV file).
_BLOCK_COLUMNS_V2 = (
    ("hash", "VARCHAR"),
    ("prev_hash", "VARCHAR"),
    ("median_time", "BIGINT"),
    ("version", "BIGINT"),
    ("nonce", "BIGINT"),
    ("chainwork", "VARCHAR"),
    ("merkle_root", "VARCHAR"),
    ("tx_count", "INTEGER"),
    ("weight_wu", "BIGINT"),
    ("size_bytes", "BIGINT"),
    ("coinbase_tag", "VARCHAR"),
    ("payout_scripts", "VARCHAR"),
    ("source", "VARCHAR"),
)
# The columns of ``block_details`` beside ``height`` (schema 3).
_BLOCK_DETAILS = tuple(
    (name, kind) for name, kind in _BLOCK_COLUMNS_V2 if name not in ("hash", "source")
)
_DETAIL_NAMES = ", ".join(name for name, _ in _BLOCK_DETAILS)
# The values of ``block_details`` that files and coinbase lists give too.
_DETAIL_VALUES = ("tx_count", "coinbase_tag", "payout_scripts")
# The columns of ``blocks`` (schema 3), in their order.
_BLOCK_CORE = (
    "height", "time", "bits", "difficulty", "fees_sat", "subsidy_sat", "pool", "hash", "source"
)  # fmt: skip
# The columns of the view ``blocks_full``: what a page from a live source writes.
_PAGE_COLUMNS = (*_BLOCK_CORE, *(name for name, _ in _BLOCK_DETAILS))

# The value columns of a block, as ``blocks`` (schema 1), ``stale_blocks`` and ``blocks``
# (schema 3) declare them.
_BLOCK_VALUE_COLUMNS = (
    "time BIGINT NOT NULL, bits BIGINT, difficulty DOUBLE, fees_sat BIGINT, "
    "subsidy_sat BIGINT, pool VARCHAR"
)

_MIGRATIONS: list[list[str | Callable[[Store], None]]] = [
    # 1: initial schema
    [
        """CREATE TABLE chain_daily (
            day DATE PRIMARY KEY,
            blocks INTEGER NOT NULL,
            fees_sat BIGINT NOT NULL,
            issuance_sat BIGINT NOT NULL,
            supply_sat BIGINT NOT NULL,
            hashrate_ths DOUBLE NOT NULL,
            difficulty_mean DOUBLE,
            source VARCHAR NOT NULL
        )""",
        """CREATE TABLE prices (
            day DATE NOT NULL,
            source VARCHAR NOT NULL,
            close_usd DOUBLE NOT NULL,
            PRIMARY KEY (day, source)
        )""",
        """CREATE TABLE epochs (
            start_height INTEGER PRIMARY KEY,
            difficulty DOUBLE NOT NULL,
            bits BIGINT NOT NULL,
            start_time BIGINT
        )""",
        """CREATE TABLE blocks (
            height INTEGER PRIMARY KEY,
            time BIGINT NOT NULL,
            bits BIGINT,
            difficulty DOUBLE,
            fees_sat BIGINT,
            subsidy_sat BIGINT,
            pool VARCHAR
        )""",
        """CREATE TABLE sync_state (
            source VARCHAR PRIMARY KEY,
            last_day DATE,
            updated_at TIMESTAMP NOT NULL
        )""",
        """CREATE TABLE imports (
            id INTEGER PRIMARY KEY,
            imported_at TIMESTAMP NOT NULL,
            kind VARCHAR NOT NULL,
            origin VARCHAR NOT NULL,
            rows_new INTEGER NOT NULL,
            rows_changed INTEGER NOT NULL,
            rows_unchanged INTEGER NOT NULL
        )""",
    ],
    # 2: blocks identified by hash (live chain sources), stale blocks and reorgs, hourly
    # prices. ``blocks`` stays the best chain, one row per height; a block imported from a
    # CSV file has no hash (NULL) and source 'csv'.
    [
        *(f"ALTER TABLE blocks ADD COLUMN {name} {kind}" for name, kind in _BLOCK_COLUMNS_V2),
        f"""CREATE TABLE stale_blocks (
            hash VARCHAR PRIMARY KEY,
            height INTEGER NOT NULL,
            {_BLOCK_VALUE_COLUMNS},
            {", ".join(f"{name} {kind}" for name, kind in _BLOCK_COLUMNS_V2 if name != "hash")},
            reorg_id INTEGER NOT NULL
        )""",
        """CREATE TABLE reorgs (
            id INTEGER PRIMARY KEY,
            seen_at TIMESTAMP NOT NULL,
            source VARCHAR NOT NULL,
            fork_height INTEGER NOT NULL,
            depth INTEGER NOT NULL,
            old_tip_height INTEGER NOT NULL,
            old_tip_hash VARCHAR NOT NULL,
            new_tip_height INTEGER NOT NULL,
            new_tip_hash VARCHAR NOT NULL
        )""",
        """CREATE TABLE chain_sync (
            source VARCHAR PRIMARY KEY,
            network VARCHAR NOT NULL,
            url VARCHAR NOT NULL,
            base_height INTEGER NOT NULL,
            base_parent_hash VARCHAR,
            pow_checked BOOLEAN NOT NULL,
            tip_height INTEGER NOT NULL,
            tip_hash VARCHAR NOT NULL,
            updated_at TIMESTAMP NOT NULL
        )""",
        """CREATE TABLE prices_hourly (
            hour TIMESTAMP NOT NULL,
            source VARCHAR NOT NULL,
            quote VARCHAR NOT NULL,
            close DOUBLE NOT NULL,
            PRIMARY KEY (hour, source)
        )""",
        # The pool list blocks are identified with (``minerwatch import pools``), in its
        # order: ``rank`` 0, 1, ... (the order decides between pools that both match).
        """CREATE TABLE pools (
            rank INTEGER PRIMARY KEY,
            id INTEGER NOT NULL,
            name VARCHAR NOT NULL UNIQUE,
            link VARCHAR,
            addresses VARCHAR[] NOT NULL,
            tags VARCHAR[] NOT NULL
        )""",
    ],
    # 3: ``blocks`` without its key on height, and the columns only live sources fill moved
    # to ``block_details``. DuckDB keeps a key in an index that every insert updates and
    # every commit writes out, and its bulk insert pays about 22 ms per 930,000 rows for
    # each column even when all are NULL: 930,000 CSV rows took 0.72 s to insert and
    # commit into the 20 keyed columns of schema 2, 0.45 s without the key and about 0.2 s
    # into these 9 (DuckDB 2.0, this machine). One row per height is kept by the writers.
    [
        f"""CREATE TABLE blocks_v3 (
            height INTEGER NOT NULL,
            {_BLOCK_VALUE_COLUMNS},
            hash VARCHAR,
            source VARCHAR
        )""",
        f"""CREATE TABLE block_details (
            height INTEGER NOT NULL,
            {", ".join(f"{name} {kind}" for name, kind in _BLOCK_DETAILS)}
        )""",
        f"INSERT INTO blocks_v3 SELECT {', '.join(_BLOCK_CORE)} FROM blocks ORDER BY height",
        f"""INSERT INTO block_details SELECT height, {_DETAIL_NAMES} FROM blocks
            WHERE coalesce({", ".join(f"CAST({n} AS VARCHAR)" for n, _ in _BLOCK_DETAILS)})
                  IS NOT NULL
            ORDER BY height""",
        "DROP TABLE blocks",
        "ALTER TABLE blocks_v3 RENAME TO blocks",
        f"""CREATE VIEW blocks_full AS
            SELECT {", ".join(f"b.{n}" for n in _BLOCK_CORE)},
                   {", ".join(f"d.{n}" for n, _ in _BLOCK_DETAILS)}
            FROM blocks b LEFT JOIN block_details d ON d.height = b.height""",
    ],
    # 4: the day sums of the blocks, kept by the writers (measured on 930,000 blocks: the
    # daily frame read them and summed them up in about 0.2 s on every call).
    [
        """CREATE TABLE block_day_sums (
            day DATE NOT NULL,
            blocks INTEGER NOT NULL,
            max_height INTEGER NOT NULL,
            fees_sat BIGINT NOT NULL,
            fees_missing BOOLEAN NOT NULL,
            issuance_sat BIGINT NOT NULL,
            subsidy_scheduled BOOLEAN NOT NULL,
            difficulty_last DOUBLE,
            difficulty_dev_sum DOUBLE,
            difficulty_unknown INTEGER NOT NULL
        )""",
        lambda store: store._refresh_day_sums(None),
    ],
    # 5: alert rules' states and the ledger of their notifications (``minerwatch alerts run``).
    [
        """CREATE TABLE alert_states (
            rules VARCHAR NOT NULL,
            alert VARCHAR NOT NULL,
            state VARCHAR NOT NULL,
            since_day DATE NOT NULL,
            firing_since DATE,
            value VARCHAR,
            evaluated_day DATE NOT NULL,
            updated_s DOUBLE NOT NULL,
            PRIMARY KEY (rules, alert)
        )""",
        """CREATE TABLE alert_notifications (
            rules VARCHAR NOT NULL,
            alert VARCHAR NOT NULL,
            period_start DATE NOT NULL,
            kind VARCHAR NOT NULL,
            seq INTEGER NOT NULL,
            notifier VARCHAR NOT NULL,
            day DATE NOT NULL,
            status VARCHAR NOT NULL,
            attempts INTEGER NOT NULL,
            error VARCHAR,
            payload VARCHAR NOT NULL,
            created_s DOUBLE NOT NULL,
            delivered_s DOUBLE,
            PRIMARY KEY (rules, alert, period_start, kind, seq, notifier)
        )""",
    ],
]

# Table name -> (key columns, value columns). Values are compared to count changed rows.
_TABLES: dict[str, tuple[list[str], list[str]]] = {
    "chain_daily": (
        ["day"],
        [
            "blocks",
            "fees_sat",
            "issuance_sat",
            "supply_sat",
            "hashrate_ths",
            "difficulty_mean",
            "source",
        ],
    ),
    "prices": (["day", "source"], ["close_usd"]),
    "epochs": (["start_height"], ["difficulty", "bits", "start_time"]),
}


# Value columns of ``blocks``, compared to find conflicts and count changed rows.
_BLOCK_VALUES = ["time", "bits", "difficulty", "fees_sat", "subsidy_sat", "pool"]
_NO_HEIGHT = 2**31  # above every storable height: "no fork" in write_blocks
# SQL types of the block values that may be unknown: -1 (BIGINT), NaN or None (others).
_BLOCK_TYPES = {
    "bits": "BIGINT",
    "difficulty": "DOUBLE",
    "fees_sat": "BIGINT",
    "subsidy_sat": "BIGINT",
    "pool": "VARCHAR",
}


def _one_row_per_height(heights: np.ndarray, origin: str) -> None:
    """:class:`InputError` at the first height given twice (or out of order): ``blocks``
    and ``block_details`` keep one row a height by their writers, not by a key."""
    steps = np.diff(heights)
    if len(steps) and not (steps > 0).all():
        i = int(np.flatnonzero(steps <= 0)[0])
        raise InputError(
            f"height {heights[i + 1]} follows height {heights[i]}; expected each height once, "
            "ascending",
            path=origin,
        )


def _any_known(values: np.ndarray) -> bool:
    """Whether an array of block values holds a known one (not -1, NaN or None/empty)."""
    if values.ndim == 1 and len(values) > 1 and values.strides[0] == 0:
        values = values[:1]  # one value repeated (a column the file lacks): look at it once
    if values.dtype.kind == "f":
        return bool((~np.isnan(values)).any())
    if values.dtype.kind == "O":
        return bool(np.count_nonzero(values))  # the truth of each object, in one C loop
    return bool((values >= 0).any())


@dataclass(frozen=True)
class WriteResult:
    """Row counts of one write: rows added, rows whose values changed, rows already equal."""

    table: str
    new: int
    changed: int
    unchanged: int
    #: Stored rows deleted by the write and not written again (a reorg's blocks above the fork).
    removed: int = 0
    #: The first few changed rows, each "key: column old -> new[; ...]" (lowest keys first).
    changes: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return self.new + self.changed + self.unchanged


def default_db_path() -> Path:
    """``$MINERWATCH_DB`` if set, else ``minerwatch.duckdb`` in the user data directory."""
    env = os.environ.get("MINERWATCH_DB")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("minerwatch", appauthor=False)) / "minerwatch.duckdb"


def _to_epoch_days(day: np.ndarray) -> np.ndarray:
    return (np.asarray(day, "datetime64[D]") - EPOCH_DAY).astype(np.int32)


def _from_epoch_days(days: np.ndarray) -> np.ndarray:
    return EPOCH_DAY + np.asarray(days, np.int64).astype("timedelta64[D]")


def _plain(array: np.ndarray) -> np.ndarray:
    """A masked array from DuckDB (NULLs) as a plain array: NaN for floats."""
    ma = sys.modules.get("numpy.ma")  # none without NumPy's masked arrays loaded (slow to load)
    if ma is not None and isinstance(array, ma.MaskedArray):
        if array.dtype.kind == "f":
            return array.filled(np.nan)
        if array.dtype.kind in "iu":
            return array.filled(-1)
        # filled(None) would fill with the array's default fill value ('?'), not None.
        out = np.array(array.data, dtype=object)
        out[ma.getmaskarray(array)] = None
        return out
    return np.asarray(array)


class Store:
    """A DuckDB database file holding minerwatch's data.

    Open with :func:`open_store`. ``read_only`` stores refuse writes and need an existing
    file whose schema is current. Raises :class:`~minerwatch.errors.NoDatabase` for a
    missing file (read-only) or a path that cannot hold one, and a
    :class:`~minerwatch.errors.StoreError` for a file that cannot be used: busy, unreadable,
    another program's database, or a schema too new (or too old to read without migrating).
    """

    def __init__(
        self, path: Path | str, *, read_only: bool = False, wait_s: float | None = None
    ) -> None:
        self.path = Path(path) if str(path) != ":memory:" else Path(":memory:")
        self.read_only = read_only
        if str(path) != ":memory:":
            if read_only and not self.path.exists():
                raise NoDatabase(
                    f"no database at {self.path}; load data first with "
                    "`minerwatch import coinmetrics FILE` or `minerwatch sync`"
                )
            if not read_only:
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise NoDatabase(
                        f"cannot create the folder of database {self.path} "
                        f"({exc.strerror}); choose another path for the database"
                    ) from None
            if self.path.is_dir():
                raise NoDatabase(f"database path {self.path} is a directory; expected a file")
        self.con = _connect(
            self.path, str(path), read_only, lock_wait_s() if wait_s is None else wait_s
        )
        # Reads of ``blocks`` that status-like commands repeat, kept until a write: no other
        # process writes while this connection holds the file.
        self._block_reads: dict[tuple, object] = {}
        try:
            self._migrate()
        except BaseException:
            self.con.close()
            raise

    # -- lifecycle -----------------------------------------------------------------------

    def cursor(self, *, read_only: bool = True) -> Store:
        """Another store on this one's open database, for another thread: a DuckDB cursor
        (its own connection to the same database in this process), which sees each commit
        of the others at once and never waits for the file's lock. ``read_only`` (default)
        refuses writes as a read-only open does. Close it when done; closing this store
        closes its cursors too."""
        view = object.__new__(Store)
        view.path, view.read_only = self.path, read_only
        view.con = self.con.cursor()
        view._block_reads = {}
        return view

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside happen together or not at all."""
        self._block_reads.clear()
        self.con.begin()
        try:
            yield
        except BaseException:
            self.con.rollback()
            self._block_reads.clear()
            raise
        self.con.commit()
        self._block_reads.clear()

    def _kept(self, key: tuple, read: Callable[[], T]) -> T:
        """``read()``, once until the next write of ``blocks``."""
        if key not in self._block_reads:
            self._block_reads[key] = read()
        return self._block_reads[key]  # type: ignore[return-value]

    def _blocks_held_at(self, heights: np.ndarray) -> int:
        """Stored blocks between the lowest and the highest of ``heights`` (0 for none): a
        write that finds none inserts without merging."""
        if not len(heights):
            return 0
        lo, hi = int(np.min(heights)), int(np.max(heights))
        return int(
            self.con.execute(
                "SELECT count(*) FROM blocks WHERE height BETWEEN ? AND ?", [lo, hi]
            ).fetchall()[0][0]
        )

    @contextmanager
    def _any_row_order(self) -> Iterator[None]:
        """An insert that may store its rows in any physical order: DuckDB then inserts in
        parallel without keeping the order (measured: 930,000 blocks in 0.62 s instead of
        1.03 s). Every read of this module sorts (``ORDER BY``), so nothing depends on it."""
        self.con.execute("SET preserve_insertion_order = false")
        try:
            yield
        finally:
            self.con.execute("RESET preserve_insertion_order")

    def _insert_block_rows(self, relation: str, params: dict) -> None:
        """Insert the rows of ``relation`` (a table or a parenthesised query with every
        column of ``blocks_full``) into ``blocks`` and ``block_details``; the caller has
        made sure no stored block sits at their heights."""
        with self._any_row_order():
            for table, columns in (
                ("blocks", ", ".join(_BLOCK_CORE)),
                ("block_details", f"height, {_DETAIL_NAMES}"),
            ):
                self.con.execute(
                    f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {relation}", params
                )

    def schema_version(self) -> int:
        """The schema version of the database: 0 for a new, empty one;
        :class:`~minerwatch.errors.NotAMinerwatchStore` for one with tables but no minerwatch
        schema."""
        ours, tables = self.con.execute(
            # duckdb_tables(), not information_schema.tables: 1.5 ms against 14 ms on open
            "SELECT count(*) FILTER (WHERE table_name = 'schema_version'), count(*) "
            "FROM duckdb_tables()"
        ).fetchall()[0]
        if not ours:
            if tables:
                raise NotAMinerwatchStore(
                    f"database {self.path} holds {tables} table(s) of another program and no "
                    "minerwatch schema; choose another path for the database"
                )
            return 0
        return int(self.con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0])

    def _migrate(self) -> None:
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"database {self.path} has schema version {version}, newer than this "
                f"minerwatch understands ({SCHEMA_VERSION}); upgrade minerwatch"
            )
        if version == SCHEMA_VERSION:
            return
        if self.read_only:
            raise SchemaTooOld(
                f"database {self.path} has schema version {version}; open it once for "
                f"writing (any import) to migrate to {SCHEMA_VERSION}",
                version=version,
            )
        with self.transaction():
            self.con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target - 1]:
                    if callable(statement):
                        statement(self)
                    else:
                        self.con.execute(statement)
                self.con.execute("INSERT INTO schema_version VALUES (?)", [target])

    # -- writes --------------------------------------------------------------------------

    def _upsert(self, table: str, columns: dict[str, np.ndarray], origin: str) -> WriteResult:
        """Stage ``columns`` and merge them into ``table`` (caller holds the transaction)."""
        if self.read_only:
            raise StoreReadOnly(f"database {self.path} is open read-only")
        keys, values = _TABLES[table]
        names = [*keys, *values]
        staged = {}
        for name in names:
            col = columns[name]
            if np.asarray(col).dtype.kind == "M":
                col = _to_epoch_days(col)
            staged[name] = np.asarray(col)
        date_cols = {n for n in names if np.asarray(columns[n]).dtype.kind == "M"}
        select = ", ".join(
            f"(DATE '1970-01-01' + CAST({n} AS INTEGER)) AS {n}" if n in date_cols else n
            for n in names
        )
        self.con.register("_staged_src", staged)
        try:
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE _staged AS SELECT {select} FROM _staged_src"
            )
        finally:
            self.con.unregister("_staged_src")
        on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
        same = " AND ".join(f"t.{v} IS NOT DISTINCT FROM s.{v}" for v in values)
        total, existing, unchanged = self.con.execute(
            f"""SELECT count(*), count(t.{keys[0]}), count(*) FILTER (WHERE {same})
                FROM _staged s LEFT JOIN {table} t ON {on}"""
        ).fetchall()[0]
        changes = self._changed_examples(table, keys, values, on, same)
        self.con.execute(
            f"INSERT OR REPLACE INTO {table} ({', '.join(names)}) "
            f"SELECT {', '.join(names)} FROM _staged"
        )
        self.con.execute("DROP TABLE _staged")
        result = WriteResult(
            table, total - existing, existing - unchanged, unchanged, changes=changes
        )
        return self._log_write(result, origin)

    def _changed_examples(
        self, table: str, keys: list[str], values: list[str], on: str, same: str, limit: int = 5
    ) -> tuple[str, ...]:
        """The first ``limit`` staged rows that change a stored row of ``table``, as
        ``"key=value ...: column old -> new; ..."`` (only the columns that differ)."""
        rows = self.con.execute(
            f"""SELECT {", ".join(f"CAST(s.{k} AS VARCHAR)" for k in keys)},
                       {", ".join(f"t.{v}, s.{v}" for v in values)}
                FROM _staged s JOIN {table} t ON {on} WHERE NOT ({same})
                ORDER BY {", ".join(f"s.{k}" for k in keys)} LIMIT {limit}"""
        ).fetchall()
        out = []
        for row in rows:
            key = " ".join(f"{k} {v}" for k, v in zip(keys, row[: len(keys)], strict=True))
            pairs = zip(values, row[len(keys) :: 2], row[len(keys) + 1 :: 2], strict=True)
            diff = "; ".join(f"{v} {old!r} -> {new!r}" for v, old, new in pairs if old != new)
            out.append(f"{key}: {diff}")
        return tuple(out)

    def write_chain_daily(self, records, origin: str) -> WriteResult:
        """Upsert daily chain rows from a :class:`~minerwatch.sources.coinmetrics.DailyChain`.

        The caller should hold a :meth:`transaction` when this is one of several writes.
        """
        return self._upsert(
            "chain_daily",
            {
                "day": records.day,
                "blocks": records.blocks.astype(np.int32),
                "fees_sat": records.fees_sat,
                "issuance_sat": records.issuance_sat,
                "supply_sat": records.supply_sat,
                "hashrate_ths": records.hashrate_ths,
                "difficulty_mean": records.difficulty_mean,
                "source": np.full(len(records.day), records.source, dtype=object),
            },
            origin,
        )

    def write_prices(
        self, day: np.ndarray, close_usd: np.ndarray, source: np.ndarray, origin: str
    ) -> WriteResult:
        """Upsert daily closes keyed by (day, source)."""
        keep = np.isfinite(close_usd)
        return self._upsert(
            "prices",
            {
                "day": day[keep],
                "source": np.asarray(source, object)[keep],
                "close_usd": close_usd[keep],
            },
            origin,
        )

    def write_epochs(self, epochs, origin: str) -> WriteResult:
        """Upsert difficulty epochs from a :class:`~minerwatch.sources.files.Epochs`."""
        start_time = np.where(epochs.start_time >= 0, epochs.start_time, np.nan)
        return self._upsert(
            "epochs",
            {
                "start_height": epochs.start_height.astype(np.int32),
                "difficulty": epochs.difficulty,
                "bits": epochs.bits,
                # NaN becomes NULL on the way in; cast back to integer seconds below.
                "start_time": start_time,
            },
            origin,
        )

    def write_blocks(self, blocks, origin: str, *, replace: bool = False) -> WriteResult:
        """Upsert per-block rows from a :class:`~minerwatch.sources.blocks.Blocks`.

        Idempotent: a height already stored with the same values is unchanged, and a value
        unknown on one side (NULL stored, or -1 / NaN / None given) is filled from the other
        (``changed`` when that adds a value). A height stored with a *different* known value
        is a conflict: an :class:`InputError` naming the height and both values, unless
        ``replace`` (a reorg): then that height and every stored height above it are
        replaced by the given rows, and stored heights above it that are not given are
        deleted (counted in ``removed``). A reorg of blocks a live source wrote (with a hash)
        is refused: the source's sync replaces them and keeps them as stale blocks. Heights
        must rise (one row a height). The caller holds the :meth:`transaction`.

        The transaction counts, coinbase scriptSigs and payout scripts the rows carry
        (:meth:`~minerwatch.sources.blocks.Blocks.details`) go to ``block_details``: a
        known one replaces the stored one, an unknown one leaves it (a block whose only
        change is there counts as ``changed``).
        """
        if self.read_only:
            raise StoreReadOnly(f"database {self.path} is open read-only")
        heights = np.asarray(blocks.height, np.int64)
        _one_row_per_height(heights, origin)
        details = self._stage_details(blocks)
        economics = {
            "height": heights,
            "time": np.asarray(blocks.time, np.int64),
            "bits": np.asarray(blocks.bits, np.int64),
            "difficulty": np.asarray(blocks.difficulty, np.float64),
            "fees_sat": np.asarray(blocks.fees_sat, np.int64),
            "subsidy_sat": np.asarray(blocks.subsidy_sat, np.int64),
        }
        try:
            with self._day_sums_kept(int(heights[0]) if len(heights) else _NO_HEIGHT, economics):
                return self._write_block_rows(blocks, origin, replace, details)
        finally:
            if details:
                self.con.execute("DROP TABLE _details")

    def _stage_details(self, blocks) -> bool:
        """The rows of ``blocks`` with a known detail as the temporary table ``_details``
        (``height``, ``tx_count`` NULL unknown, ``coinbase_tag``, ``payout_scripts``);
        False, and no table, when no row has one."""
        columns = blocks.details()
        known = np.zeros(len(blocks), bool)
        for name, values in columns.items():
            if _any_known(values):
                known |= values >= 0 if name == "tx_count" else values != None  # noqa: E711
        if not known.any():
            return False
        staged = {"height": np.asarray(blocks.height, np.int64)[known]}
        staged |= {name: np.asarray(values)[known] for name, values in columns.items()}
        self._details_table(staged)
        return True

    def _details_table(self, staged: dict[str, np.ndarray]) -> None:
        """``staged`` (``height``, ``tx_count`` -1 unknown, ``coinbase_tag``,
        ``payout_scripts``; None unknown) as the temporary table ``_details``."""
        self.con.register("_details_src", staged)
        try:
            self.con.execute(
                """CREATE OR REPLACE TEMP TABLE _details AS
                   SELECT CAST(height AS INTEGER) AS height,
                          CAST(nullif(tx_count, -1) AS INTEGER) AS tx_count,
                          CAST(coinbase_tag AS VARCHAR) AS coinbase_tag,
                          CAST(payout_scripts AS VARCHAR) AS payout_scripts
                   FROM _details_src"""
            )
        finally:
            self.con.unregister("_details_src")

    def _merge_details(self, *, keep_stored: bool) -> None:
        """Write ``_details`` into ``block_details``: a stored row takes its values (only
        the known ones, ``keep_stored``), a height without a row gets one."""
        names = _DETAIL_VALUES
        value = "coalesce(s.{0}, block_details.{0})" if keep_stored else "s.{0}"
        self.con.execute(
            f"""UPDATE block_details SET {", ".join(f"{n} = {value.format(n)}" for n in names)}
                FROM _details s WHERE block_details.height = s.height"""
        )
        self.con.execute(
            f"""INSERT INTO block_details (height, {", ".join(names)})
                SELECT s.height, {", ".join(f"s.{n}" for n in names)}
                FROM _details s ANTI JOIN block_details d ON d.height = s.height"""
        )

    def _write_block_rows(self, blocks, origin: str, replace: bool, details: bool) -> WriteResult:
        names = ["height", *_BLOCK_VALUES]
        source = {
            "height": np.asarray(blocks.height, np.int64),
            "time": np.asarray(blocks.time, np.int64),
        }
        columns = ["CAST(height AS INTEGER) AS height", "time"]
        for name, sql_type in _BLOCK_TYPES.items():
            values = np.asarray(getattr(blocks, name))
            if _any_known(values):
                source[name] = values
                columns.append(f"nullif({name}, -1) AS {name}" if sql_type == "BIGINT" else name)
            else:  # staged as NULLs, not scanned from an array of unknowns
                columns.append(f"CAST(NULL AS {sql_type}) AS {name}")
        select = f"SELECT {', '.join(columns)} FROM _staged_src"
        rows = len(source["height"])
        overlap = self._blocks_held_at(source["height"])
        self.con.register("_staged_src", source)
        try:
            if overlap == 0:
                # Nothing stored at these heights: every row is new, no conflict to look for.
                with self._any_row_order():
                    self.con.execute(f"INSERT INTO blocks ({', '.join(names)}) {select}")
                if details:
                    self._merge_details(keep_stored=True)
                return self._log_write(WriteResult("blocks", rows, 0, 0), origin)
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE _staged AS {select}")
        finally:
            self.con.unregister("_staged_src")
        # NULL on either side never conflicts: `a <> b` is NULL then.
        differs = " OR ".join(f"t.{v} <> s.{v}" for v in _BLOCK_VALUES)
        conflict = self.con.execute(
            f"""SELECT s.height, {", ".join(f"t.{v}, s.{v}" for v in _BLOCK_VALUES)}
                FROM _staged s JOIN blocks t ON t.height = s.height
                WHERE {differs} ORDER BY s.height LIMIT 1"""
        ).fetchall()
        if conflict and not replace:
            self.con.execute("DROP TABLE _staged")
            row = conflict[0]
            pairs = [
                f"{v} {old!r} stored, {new!r} given"
                for v, old, new in zip(_BLOCK_VALUES, row[1::2], row[2::2], strict=True)
                if None not in (old, new) and old != new
            ]
            raise InputError(
                f"block {row[0]} is already stored with different values ({'; '.join(pairs)}); "
                f"expected the stored block, or a reorg: with `replace`, block {row[0]} and "
                "every block above it are replaced",
                path=origin,
            )
        # Heights from the fork up are written as given; below it, values are merged.
        fork = int(conflict[0][0]) if conflict else _NO_HEIGHT
        if conflict:
            live = self.con.execute(
                "SELECT min(height), any_value(source) FROM blocks "
                "WHERE height >= ? AND hash IS NOT NULL",
                [fork],
            ).fetchall()[0]
            if live[0] is not None:
                self.con.execute("DROP TABLE _staged")
                raise InputError(
                    f"block {fork} differs from the stored one, and the blocks from height "
                    f"{live[0]} up came from a live source ({live[1]}) with their hashes; "
                    f"expected the stored blocks (a reorg of them is the source's to make: "
                    f"`minerwatch sync {live[1]}` replaces them and keeps them as stale blocks)",
                    path=origin,
                )
        merged = ", ".join(
            f"CASE WHEN s.height >= $fork THEN s.{v} ELSE coalesce(s.{v}, t.{v}) END AS {v}"
            for v in _BLOCK_VALUES
        )
        as_given = " AND ".join(f"t.{v} IS NOT DISTINCT FROM s.{v}" for v in _BLOCK_VALUES)
        as_merged = " AND ".join(
            f"coalesce(s.{v}, t.{v}) IS NOT DISTINCT FROM t.{v}" for v in _BLOCK_VALUES
        )
        self.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _merged AS
                SELECT s.height, {merged}, t.height IS NOT NULL AS existed,
                       ({as_given}) OR (s.height < $fork AND {as_merged}) AS same
                FROM _staged s LEFT JOIN blocks t ON t.height = s.height""",
            {"fork": fork},
        )
        total, existing, unchanged = self.con.execute(
            "SELECT count(*), count(*) FILTER (WHERE existed), "
            "count(*) FILTER (WHERE existed AND same) FROM _merged"
        ).fetchall()[0]
        if details:  # blocks whose only change is a detail
            differs = " OR ".join(
                f"(s.{n} IS NOT NULL AND s.{n} IS DISTINCT FROM b.{n})" for n in _DETAIL_VALUES
            )
            unchanged -= self.con.execute(
                f"""SELECT count(*) FROM _details s JOIN _merged m ON m.height = s.height
                    JOIN blocks_full b ON b.height = s.height
                    WHERE m.existed AND m.same AND ({differs})"""
            ).fetchall()[0][0]
        removed = 0
        if conflict:
            # From the fork up, the stored blocks (CSV blocks: a live source's are refused
            # above) are other blocks: all of them go, and the given ones are inserted
            # below as new rows.
            removed = self.con.execute(
                "SELECT count(*) FROM blocks WHERE height >= ? "
                "AND height NOT IN (SELECT height FROM _staged)",
                [fork],
            ).fetchall()[0][0]
            self.con.execute("DELETE FROM blocks WHERE height >= ?", [fork])
            self.con.execute("DELETE FROM block_details WHERE height >= ?", [fork])
        # Below the fork, a stored block keeps its row (and its hash, when a live source
        # wrote it) and takes the merged values where they differ.
        self.con.execute(
            f"""UPDATE blocks SET {", ".join(f"{v} = m.{v}" for v in _BLOCK_VALUES)}
                FROM _merged m
                WHERE blocks.height = m.height AND m.existed AND NOT m.same
                  AND m.height < $fork""",
            {"fork": fork},
        )
        self.con.execute(
            f"INSERT INTO blocks ({', '.join(names)}) SELECT {', '.join(names)} FROM _merged "
            "WHERE NOT existed OR height >= $fork",
            {"fork": fork},
        )
        if details:
            self._merge_details(keep_stored=True)
        self.con.execute("DROP TABLE _staged")
        self.con.execute("DROP TABLE _merged")
        result = WriteResult(
            "blocks", total - existing, existing - unchanged, unchanged, int(removed)
        )
        return self._log_write(result, origin)

    def _log_write(self, result: WriteResult, origin: str) -> WriteResult:
        """Record a write in the ``imports`` log; returns ``result``."""
        self.con.execute(
            "INSERT INTO imports "
            f"SELECT coalesce(max(id), 0) + 1, {NOW_UTC}, ?, ?, ?, ?, ? FROM imports",
            [result.table, origin, result.new, result.changed, result.unchanged],
        )
        return result

    def set_sync_state(self, source: str, last_day: np.datetime64) -> None:
        self.con.execute(
            f"INSERT OR REPLACE INTO sync_state VALUES (?, CAST(? AS DATE), {NOW_UTC})",
            [source, str(as_day(last_day))],
        )

    def write_alert_states(self, rows: list[dict[str, object]]) -> None:
        """Replace the states of the rules in ``rows`` (keys as the table's columns, days
        ``YYYY-MM-DD``); one transaction."""
        if self.read_only:
            raise StoreReadOnly(f"database {self.path} is open read-only")
        with self.transaction():
            for r in rows:
                self.con.execute(
                    "INSERT OR REPLACE INTO alert_states VALUES "
                    "(?, ?, ?, CAST(? AS DATE), CAST(? AS DATE), ?, CAST(? AS DATE), ?)",
                    [
                        r["rules"], r["alert"], r["state"], r["since_day"], r["firing_since"],
                        r["value"], r["evaluated_day"], time.time(),
                    ],
                )  # fmt: skip

    def add_alert_notifications(self, rows: list[dict[str, object]]) -> int:
        """Record notifications owed (``status`` pending) unless the ledger already holds
        them (same rule file, alert, period, kind, sequence and notifier); the count added.
        One transaction."""
        if self.read_only:
            raise StoreReadOnly(f"database {self.path} is open read-only")
        before = self.con.execute("SELECT count(*) FROM alert_notifications").fetchall()[0][0]
        with self.transaction():
            for r in rows:
                self.con.execute(
                    "INSERT INTO alert_notifications VALUES "
                    "(?, ?, CAST(? AS DATE), ?, ?, ?, CAST(? AS DATE), 'pending', 0, NULL, ?, ?, "
                    "NULL) ON CONFLICT DO NOTHING",
                    [
                        r["rules"], r["alert"], r["period_start"], r["kind"], r["seq"],
                        r["notifier"], r["day"], r["payload"], time.time(),
                    ],
                )  # fmt: skip
        after = self.con.execute("SELECT count(*) FROM alert_notifications").fetchall()[0][0]
        return int(after - before)

    def mark_alert_notifications(
        self,
        keys: list[tuple[str, str, str, str, int, str]],
        ok: bool,
        attempts: int,
        error: str | None,
    ) -> None:
        """Mark ledger rows (rules, alert, period_start, kind, seq, notifier) delivered or
        failed after a delivery; one transaction."""
        if self.read_only:
            raise StoreReadOnly(f"database {self.path} is open read-only")
        with self.transaction():
            for key in keys:
                self.con.execute(
                    "UPDATE alert_notifications SET status = ?, attempts = attempts + ?, "
                    "error = ?, delivered_s = ? WHERE rules = ? AND alert = ? AND "
                    "period_start = CAST(? AS DATE) AND kind = ? AND seq = ? AND notifier = ?",
                    [
                        "delivered" if ok else "failed",
                        attempts,
                        error,
                        time.time() if ok else None,
                        *key,
                    ],
                )

    def alert_notifications(self, rules: str, status: str | None = None) -> list[dict[str, object]]:
        """The ledger rows of a rule file (optionally of one ``status``), oldest first."""
        where = "WHERE rules = ?" + (" AND status = ?" if status else "")
        params: list[object] = [rules, *([status] if status else [])]
        cur = self.con.execute(
            "SELECT rules, alert, CAST(period_start AS VARCHAR) AS period_start, kind, seq, "
            "notifier, CAST(day AS VARCHAR) AS day, status, attempts, error, payload, "
            "created_s, delivered_s "
            f"FROM alert_notifications {where} ORDER BY created_s, alert, kind, seq, notifier",
            params,
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def alert_states(self, rules: str) -> list[dict[str, object]]:
        """The stored states of a rule file's alerts."""
        cur = self.con.execute(
            "SELECT alert, state, CAST(since_day AS VARCHAR), CAST(firing_since AS VARCHAR), "
            "value, CAST(evaluated_day AS VARCHAR), updated_s FROM alert_states WHERE rules = ? "
            "ORDER BY alert",
            [rules],
        )
        names = [
            "alert",
            "state",
            "since_day",
            "firing_since",
            "value",
            "evaluated_day",
            "updated_s",
        ]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    # -- reads ---------------------------------------------------------------------------

    def sync_state(self, source: str) -> np.datetime64 | None:
        rows = self.con.execute(
            "SELECT CAST(last_day AS VARCHAR) FROM sync_state WHERE source = ?", [source]
        ).fetchall()
        return np.datetime64(rows[0][0], "D") if rows and rows[0][0] else None

    def chain_day_range(self) -> tuple[np.datetime64, np.datetime64] | None:
        """First and last day of chain data, or None when the store has none."""
        lo, hi = self.con.execute(
            "SELECT CAST(min(day) AS VARCHAR), CAST(max(day) AS VARCHAR) FROM chain_daily"
        ).fetchall()[0]
        if lo is None:
            return None
        return np.datetime64(lo, "D"), np.datetime64(hi, "D")

    def _read_daily(self, columns: str, table: str, order: str, as_of) -> dict[str, np.ndarray]:
        """Rows of a table keyed by ``day``, up to ``as_of``; ``day`` as datetime64[D]."""
        cut = "" if as_of is None else "WHERE day <= CAST(? AS DATE)"
        params = [] if as_of is None else [str(np.datetime64(as_of, "D"))]
        raw = self.con.execute(
            f"""SELECT CAST(day - DATE '1970-01-01' AS INTEGER) AS day, {columns}
                FROM {table} {cut} ORDER BY {order}""",
            params,
        ).fetchnumpy()
        out = {k: _plain(v) for k, v in raw.items()}
        out["day"] = _from_epoch_days(out["day"])
        return out

    def read_chain_daily(self, as_of: np.datetime64 | None = None) -> dict[str, np.ndarray]:
        """Chain rows up to and including ``as_of`` (all when None), ascending by day."""
        out = self._read_daily(
            "blocks, fees_sat, issuance_sat, supply_sat, hashrate_ths, difficulty_mean",
            "chain_daily",
            "day",
            as_of,
        )
        out["blocks"] = out["blocks"].astype(np.int64)
        return out

    def read_prices(self, as_of: np.datetime64 | None = None) -> dict[str, np.ndarray]:
        """Every stored close up to ``as_of``: arrays ``day``, ``source``, ``close_usd``."""
        return self._read_daily("source, close_usd", "prices", "day, source", as_of)

    def read_epochs(self) -> dict[str, np.ndarray]:
        """Every stored epoch, ascending: ``start_height``, ``difficulty``, ``bits``,
        ``start_time`` (-1 where unknown)."""
        raw = self.con.execute(
            """SELECT start_height, difficulty, bits, coalesce(start_time, -1) AS start_time
               FROM epochs ORDER BY start_height"""
        ).fetchnumpy()
        out = {k: _plain(v) for k, v in raw.items()}
        out["start_height"] = out["start_height"].astype(np.int64)
        return out

    def read_blocks(
        self,
        *,
        min_height: int | None = None,
        max_height: int | None = None,
        max_time: int | None = None,
    ) -> dict[str, np.ndarray]:
        """Stored blocks, ascending by height, with ``min_height <= height <= max_height``
        and header ``time <= max_time`` (unix seconds; the as-of cut) where given.

        Arrays: ``height`` (int64), ``time`` (int64, unix seconds), ``bits`` (int64, -1
        unknown), ``difficulty`` (float64, NaN unknown), ``fees_sat`` and ``subsidy_sat``
        (int64, -1 unknown), ``pool`` (object, None unknown). Header times are not monotonic
        in height, so a ``max_time`` cut may leave out a block below the highest one kept.
        """
        cuts, params = [], []
        for clause, value in (
            ("height >= ?", min_height),
            ("height <= ?", max_height),
            ("time <= ?", max_time),
        ):
            if value is not None:
                cuts.append(clause)
                params.append(int(value))
        where = f"WHERE {' AND '.join(cuts)}" if cuts else ""
        raw = self.con.execute(
            f"""SELECT height, time, coalesce(bits, -1) AS bits, difficulty,
                       coalesce(fees_sat, -1) AS fees_sat,
                       coalesce(subsidy_sat, -1) AS subsidy_sat, pool
                FROM blocks {where} ORDER BY height""",
            params,
        ).fetchnumpy()
        out = {k: _plain(v) for k, v in raw.items()}
        for name in ("height", "time", "bits", "fees_sat", "subsidy_sat"):
            out[name] = out[name].astype(np.int64)
        out["difficulty"] = out["difficulty"].astype(np.float64)
        out["pool"] = out["pool"].astype(object)
        return out

    def block_height_range(self, *, max_time: int | None = None) -> tuple[int, int] | None:
        """Lowest and highest stored height (of blocks with header ``time <= max_time`` when
        given), or None when there are none."""
        cut = "" if max_time is None else "WHERE time <= ?"
        lo, hi = self._kept(
            ("height_range", max_time),
            lambda: self.con.execute(
                f"SELECT min(height), max(height) FROM blocks {cut}",
                [] if max_time is None else [int(max_time)],
            ).fetchall()[0],
        )
        return None if lo is None else (int(lo), int(hi))

    def counts(self) -> dict[str, int]:
        """Row count of every data table."""
        return {
            t: int(self.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0])
            for t in ("chain_daily", "prices", "epochs", "blocks")
        }

    def import_log(self) -> list[tuple]:
        return self.con.execute(
            "SELECT id, CAST(imported_at AS VARCHAR), kind, origin, rows_new, rows_changed, "
            "rows_unchanged FROM imports ORDER BY id"
        ).fetchall()

    # -- what the database holds (``minerwatch info``) ---------------------------------------

    def day_sources(
        self, table: str, through: np.datetime64 | None = None
    ) -> list[tuple[str, int, str, str]]:
        """(source, rows, first day, last day) of each source of a day-keyed table
        (``chain_daily`` or ``prices``), by source name, of the days up to ``through``
        when given; days as YYYY-MM-DD."""
        cut, args = _day_cut(table, through)
        return self.con.execute(
            f"""SELECT source, count(*), CAST(min(day) AS VARCHAR), CAST(max(day) AS VARCHAR)
                FROM {table} {cut} GROUP BY source ORDER BY source""",
            args,
        ).fetchall()

    def day_gaps(
        self, table: str, through: np.datetime64 | None = None
    ) -> list[tuple[str, str, int]]:
        """(first, last, days) of each run of days a day-keyed table has no row for (from
        any source) between its first and last day (up to ``through`` when given), oldest
        first; days as YYYY-MM-DD."""
        cut, args = _day_cut(table, through)
        return self.con.execute(
            f"""SELECT CAST(prev + 1 AS VARCHAR), CAST(day - 1 AS VARCHAR), day - prev - 1
                FROM (SELECT day, lag(day) OVER (ORDER BY day) AS prev
                      FROM (SELECT DISTINCT day FROM {table} {cut}))
                WHERE day - prev > 1 ORDER BY day""",
            args,
        ).fetchall()

    def block_gaps(self, max_time: int | None = None) -> list[tuple[int, int, int]]:
        """(first, last, blocks) of each run of heights the best chain holds no block for
        between its lowest and highest stored height (with ``max_time``, up to the highest
        block with header ``time <= max_time``: header times are not monotonic, so a block
        below it stamped after ``max_time`` is held, not missing), lowest first."""
        cut, args = "", []
        if max_time is not None:
            cut = "WHERE height <= (SELECT max(height) FROM blocks WHERE time <= ?)"
            args = [int(max_time)]
        return self.con.execute(
            f"""SELECT prev + 1, height - 1, height - prev - 1
                FROM (SELECT height, lag(height) OVER (ORDER BY height) AS prev
                      FROM blocks {cut})
                WHERE height - prev > 1 ORDER BY height""",
            args,
        ).fetchall()

    def block_span(
        self, max_time: int | None = None
    ) -> tuple[int, int | None, int | None, int | None, int | None]:
        """(rows, lowest and highest height, earliest and latest header time in unix
        seconds) of the blocks table (of blocks with header ``time <= max_time`` when
        given); None where empty."""
        cut, args = _time_cut(max_time)
        return self.con.execute(
            f"SELECT count(*), min(height), max(height), min(time), max(time) FROM blocks {cut}",
            args,
        ).fetchall()[0]

    def sync_states(self, by: int | None = None) -> list[tuple[str, str | None, str]]:
        """(source, last day synced, when) of every network source synced (its last sync,
        when that came by unix time ``by`` where given), by source; days YYYY-MM-DD, times
        ``YYYY-MM-DD HH:MM:SS`` UTC."""
        cut, args = _moment_cut("updated_at", by)
        return self.con.execute(
            "SELECT source, CAST(last_day AS VARCHAR), "
            f"strftime(updated_at, '%Y-%m-%d %H:%M:%S') FROM sync_state {cut} ORDER BY source",
            args,
        ).fetchall()

    def sync_times(self) -> list[tuple[str, str, float]]:
        """(kind, source, unix seconds) of the last sync of every source: ``daily`` for the
        network sources of day rows (Coin Metrics, exchanges), ``chain`` for the live chain
        sources; by kind and source."""
        rows = self.con.execute(
            "SELECT 'daily', source, epoch(updated_at) FROM sync_state "
            "UNION ALL SELECT 'chain', source, epoch(updated_at) FROM chain_sync ORDER BY 1, 2"
        ).fetchall()
        return [(kind, source, float(at)) for kind, source, at in rows]

    def last_import(self, by: int | None = None) -> tuple[str, str, str] | None:
        """(when, table, origin) of the latest write in the imports log (of those by unix
        time ``by`` where given), or None."""
        cut, args = _moment_cut("imported_at", by)
        rows = self.con.execute(
            "SELECT strftime(imported_at, '%Y-%m-%d %H:%M:%S'), kind, origin FROM imports "
            f"{cut} ORDER BY id DESC LIMIT 1",
            args,
        ).fetchall()
        return rows[0] if rows else None

    # -- blocks by hash (live chain sources) ---------------------------------------------

    def chain_state(self, source: str) -> ChainState | None:
        """Where the live chain source ``source`` ('node', 'esplora') stands, or None when it
        never synced into this database."""
        rows = self.con.execute(
            "SELECT network, url, base_height, base_parent_hash, pow_checked, tip_height, "
            "tip_hash FROM chain_sync WHERE source = ?",
            [source],
        ).fetchall()
        return ChainState(source, *rows[0]) if rows else None

    def chain_states(self) -> list[ChainState]:
        """Every live chain source's state, by source name."""
        rows = self.con.execute(
            "SELECT source, network, url, base_height, base_parent_hash, pow_checked, "
            "tip_height, tip_hash FROM chain_sync ORDER BY source"
        ).fetchall()
        return [ChainState(*row) for row in rows]

    def block_hashes(self, heights: np.ndarray) -> np.ndarray:
        """The stored best-chain hash at each of ``heights`` (object array; None where no
        block is held or the block came from a CSV file, which has no hash)."""
        heights = np.asarray(heights, np.int64)
        out = np.full(len(heights), None, object)
        if not len(heights):
            return out
        self.con.register("_wanted", {"height": heights})
        try:
            rows = self.con.execute(
                "SELECT w.height, b.hash FROM _wanted w JOIN blocks b ON b.height = w.height"
            ).fetchall()
        finally:
            self.con.unregister("_wanted")
        found = dict(rows)
        for i, height in enumerate(heights.tolist()):
            out[i] = found.get(height)
        return out

    def block_time_bits(self, heights: np.ndarray) -> dict[str, np.ndarray]:
        """``time`` and ``bits`` (int64, -1 where no block is held) of the stored blocks at
        ``heights``: what the retarget and median-time-past checks of a new page need."""
        heights = np.asarray(heights, np.int64)
        out = {
            "time": np.full(len(heights), -1, np.int64),
            "bits": np.full(len(heights), -1, np.int64),
        }
        if not len(heights):
            return out
        lo, hi = int(heights.min()), int(heights.max())
        raw = self.con.execute(
            "SELECT height, time, coalesce(bits, -1) AS bits FROM blocks "
            "WHERE height BETWEEN ? AND ? ORDER BY height",
            [lo, hi],
        ).fetchnumpy()
        held = np.asarray(raw["height"], np.int64)
        index = np.searchsorted(held, heights)
        index = np.minimum(index, max(len(held) - 1, 0))
        hit = (held[index] == heights) if len(held) else np.zeros(len(heights), bool)
        for name in ("time", "bits"):
            values = np.asarray(raw[name], np.int64)
            if len(values):
                out[name][hit] = values[index[hit]]
        return out

    def write_block_page(
        self,
        page: BlockPage,
        state: ChainState,
        *,
        fork: Reorg | None = None,
        origin: str,
    ) -> WriteResult:
        """Store one page of best-chain blocks from a live source, and where the source
        stands (``state``, its new tip), in the caller's transaction.

        ``fork``: the page follows a reorg: every stored block above ``fork.fork_height``
        moves to ``stale_blocks`` (with the reorg's id; never deleted) and the reorg is
        logged, before the page's blocks take their heights. A stored block at a page height
        with the same hash is unchanged (its unknown values filled from the page); one
        without a hash (a CSV row) is replaced by the page's block (``changed`` when a value
        differs). Blocks above the page's heights are left alone unless ``fork`` says they
        are stale.
        """
        if self.read_only:
            raise StoreReadOnly(f"database {self.path} is open read-only")
        columns = page.columns()
        heights = np.asarray(columns["height"], np.int64)
        lowest = min(
            int(heights[0]) if len(heights) else _NO_HEIGHT,
            _NO_HEIGHT if fork is None else fork.fork_height + 1,
        )
        bits = np.asarray(columns["bits"], np.int64)
        economics = {
            "height": heights,
            "time": np.asarray(columns["time"], np.int64),
            "bits": bits,
            "difficulty": bits_to_difficulty_array(bits),
            "fees_sat": np.asarray(columns["fees_sat"], np.int64),
            "subsidy_sat": np.asarray(columns["subsidy_sat"], np.int64),
        }
        with self._day_sums_kept(lowest, economics):
            return self._write_page_rows(columns, economics, state, fork, origin)

    def _write_page_rows(
        self,
        columns: dict[str, np.ndarray],
        economics: dict[str, np.ndarray],
        state: ChainState,
        fork: Reorg | None,
        origin: str,
    ) -> WriteResult:
        n = len(economics["height"])
        if fork is not None:
            reorg_id = self.con.execute("SELECT coalesce(max(id), 0) + 1 FROM reorgs").fetchall()[
                0
            ][0]
            self.con.execute(
                f"INSERT INTO reorgs VALUES (?, {NOW_UTC}, ?, ?, ?, ?, ?, ?, ?)",
                [
                    reorg_id,
                    state.source,
                    fork.fork_height,
                    fork.depth,
                    fork.old_tip_height,
                    fork.old_tip_hash,
                    fork.new_tip_height,
                    fork.new_tip_hash,
                ],
            )
            moved = ", ".join(
                ["height", "time", "bits", "difficulty", "fees_sat", "subsidy_sat", "pool"]
                + [name for name, _ in _BLOCK_COLUMNS_V2 if name != "hash"]
            )
            # A CSV row has no hash: it is kept under the name 'csv:<height>'.
            self.con.execute(
                f"""INSERT OR REPLACE INTO stale_blocks (hash, {moved}, reorg_id)
                    SELECT coalesce(hash, 'csv:' || height), {moved}, ?
                    FROM blocks_full WHERE height > ?""",
                [reorg_id, fork.fork_height],
            )
            given = [int(h) for h in columns["height"]]
            for table in ("blocks", "block_details"):
                self.con.execute(
                    f"DELETE FROM {table} WHERE height > ? AND height NOT IN (SELECT unnest(?))",
                    [fork.fork_height, given],
                )
        staged = {
            **economics,
            "median_time": np.asarray(columns["median_time"], np.int64),
            "version": np.asarray(columns["version"], np.int64),
            "nonce": np.asarray(columns["nonce"], np.int64),
            "tx_count": np.asarray(columns["tx_count"], np.int64),
            "weight_wu": np.asarray(columns["weight_wu"], np.int64),
            "size_bytes": np.asarray(columns["size_bytes"], np.int64),
            # Object arrays of str: DuckDB reads them about 3 times faster than NumPy's
            # fixed-width text (measured: 200,000 hashes, 0.65 s against 1.8 s).
            "hash": _text_or_none(columns["hash"]),
            "prev_hash": _text_or_none(columns["prev_hash"]),
            "chainwork": _text_or_none(columns["chainwork"]),
            "merkle_root": _text_or_none(columns["merkle_root"]),
            "coinbase_tag": _text_or_none(columns["coinbase_tag"]),
            "payout_scripts": _text_or_none(_joined_scripts(columns["payout_scripts"])),
            "pool": _text_or_none(columns["pool"]),
        }
        select = """SELECT
            CAST(height AS INTEGER) AS height, hash, $source AS source, time, bits, difficulty,
            nullif(fees_sat, -1) AS fees_sat, nullif(subsidy_sat, -1) AS subsidy_sat, pool,
            prev_hash, nullif(median_time, -1) AS median_time, version, nonce, chainwork,
            merkle_root, CAST(nullif(tx_count, -1) AS INTEGER) AS tx_count,
            nullif(weight_wu, -1) AS weight_wu, nullif(size_bytes, -1) AS size_bytes,
            coinbase_tag, payout_scripts FROM _page_src"""
        overlap = self._blocks_held_at(staged["height"])
        self.con.register("_page_src", staged)
        try:
            if overlap == 0:
                # Heights not held (the common case, following the tip): all new.
                if n:
                    self._insert_block_rows(f"({select})", {"source": state.source})
                total, existing, unchanged = n, 0, 0
            else:
                self.con.execute(
                    f"CREATE OR REPLACE TEMP TABLE _page AS {select}", {"source": state.source}
                )
        finally:
            self.con.unregister("_page_src")
        if overlap:
            values = [v for v in _PAGE_COLUMNS if v not in ("height", "hash", "source")]
            same = " AND ".join(
                f"coalesce(p.{v}, b.{v}) IS NOT DISTINCT FROM b.{v}" for v in values
            )
            total, existing, unchanged = self.con.execute(
                f"""SELECT count(*), count(b.height),
                           count(*) FILTER (WHERE b.hash = p.hash AND {same})
                    FROM _page p LEFT JOIN blocks_full b ON b.height = p.height"""
            ).fetchall()[0]
            merged = ", ".join(
                f"CASE WHEN b.hash = p.hash THEN coalesce(p.{v}, b.{v}) ELSE p.{v} END AS {v}"
                for v in values
            )
            self.con.execute(
                f"""CREATE OR REPLACE TEMP TABLE _page_merged AS
                    SELECT p.height, p.hash, p.source, {merged}
                    FROM _page p LEFT JOIN blocks_full b ON b.height = p.height"""
            )
            for table in ("blocks", "block_details"):
                self.con.execute(f"DELETE FROM {table} WHERE height IN (SELECT height FROM _page)")
            self._insert_block_rows("_page_merged", {})
            self.con.execute("DROP TABLE _page")
            self.con.execute("DROP TABLE _page_merged")
        self.con.execute(
            f"INSERT OR REPLACE INTO chain_sync VALUES (?, ?, ?, ?, ?, ?, ?, ?, {NOW_UTC})",
            [
                state.source,
                state.network,
                state.url,
                state.base_height,
                state.base_parent_hash,
                state.pow_checked,
                state.tip_height,
                state.tip_hash,
            ],
        )
        result = WriteResult("blocks", total - existing, existing - unchanged, unchanged)
        return self._log_write(result, origin)

    def reorgs(self, max_time: int | None = None) -> list[Reorg]:
        """Every reorg a sync found, oldest first; with ``max_time``, those whose replaced
        blocks began by then (the earliest header time of a reorg's stale blocks is
        ``<= max_time``, unix seconds)."""
        cut, args = "", []
        if max_time is not None:
            cut = "WHERE id IN (SELECT reorg_id FROM stale_blocks GROUP BY reorg_id "
            cut += "HAVING min(time) <= ?)"
            args = [int(max_time)]
        rows = self.con.execute(
            "SELECT fork_height, depth, old_tip_height, old_tip_hash, new_tip_height, "
            "new_tip_hash, source, strftime(seen_at, '%Y-%m-%d %H:%M:%S') FROM reorgs "
            f"{cut} ORDER BY id",
            args,
        ).fetchall()
        return [Reorg(*row) for row in rows]

    def read_all_blocks(
        self, *, max_time: int | None = None, min_height: int | None = None
    ) -> dict[str, np.ndarray]:
        """Every stored block, best chain and stale, by height (a stale block after the
        best-chain block of its height), with header ``time <= max_time`` and ``height >=
        min_height`` where given.

        Arrays: ``height``, ``time``, ``median_time``, ``bits``, ``fees_sat``,
        ``subsidy_sat``, ``tx_count``, ``weight_wu``, ``size_bytes`` (int64, -1 unknown),
        ``difficulty`` (float64, NaN unknown), ``stale`` (bool), ``hash``, ``prev_hash``,
        ``pool``, ``coinbase_tag``, ``payout_scripts`` (space-separated), ``source``
        (object, None unknown; a CSV row has no hash and source 'csv').
        """
        ints = (
            "time",
            "median_time",
            "bits",
            "fees_sat",
            "subsidy_sat",
            "tx_count",
            "weight_wu",
            "size_bytes",
        )
        texts = ("hash", "prev_hash", "pool", "coinbase_tag", "payout_scripts")
        picked = ", ".join(
            ["height", "difficulty", *texts] + [f"coalesce({n}, -1) AS {n}" for n in ints]
        )
        cuts = [] if max_time is None else [f"time <= {int(max_time)}"]
        cuts += [] if min_height is None else [f"height >= {int(min_height)}"]
        cut = f"WHERE {' AND '.join(cuts)}" if cuts else ""
        raw = self.con.execute(
            f"""SELECT * FROM (
                    SELECT {picked}, false AS stale, coalesce(source, 'csv') AS source
                    FROM blocks_full
                    UNION ALL
                    SELECT {picked}, true AS stale, coalesce(source, 'csv') AS source
                    FROM stale_blocks
                ) {cut} ORDER BY height, stale, hash"""
        ).fetchnumpy()
        out = {k: _plain(v) for k, v in raw.items()}
        for name in ("height", *ints):
            out[name] = out[name].astype(np.int64)
        out["difficulty"] = out["difficulty"].astype(np.float64)
        out["stale"] = out["stale"].astype(bool)
        for name in (*texts, "source"):
            out[name] = out[name].astype(object)
        return out

    def stale_block_count(self, max_time: int | None = None) -> int:
        """Stale blocks kept (of those with header ``time <= max_time`` where given)."""
        cut, args = _time_cut(max_time)
        return int(
            self.con.execute(f"SELECT count(*) FROM stale_blocks {cut}", args).fetchall()[0][0]
        )

    def best_tips(self, max_time: int | None = None) -> dict[str, tuple[int, str | None]]:
        """Per block source ('node', 'esplora', 'csv' for a CSV file's blocks): the height
        and hash of its highest best-chain block (of those with header ``time <= max_time``
        where given)."""
        cut, args = _time_cut(max_time)
        rows = self.con.execute(
            f"""SELECT coalesce(source, 'csv'), max(height), arg_max(hash, height)
                FROM blocks {cut} GROUP BY 1 ORDER BY 1""",
            args,
        ).fetchall()
        return {source: (int(height), hash_) for source, height, hash_ in rows}

    # -- pools: the pool list and the blocks' coinbases (``minerwatch import pools``,
    # ``minerwatch pools``; :mod:`minerwatch.sources.pools`) ------------------------------

    def write_pool_list(self, pools: PoolList, origin: str) -> WriteResult:
        """Replace the stored pool list by ``pools`` (the caller holds the transaction).

        Counted by pool name: ``new`` pools not stored before, ``changed`` stored with
        another id, link, addresses or tags, ``unchanged`` (a pool that only moved in the
        list's order among them), and ``removed`` stored pools the list no longer has."""
        if self.read_only:
            raise StoreReadOnly(f"database {self.path} is open read-only")
        rows = [
            (rank, pools.id[rank], pools.name[rank], pools.link[rank],
             list(pools.addresses[rank]), list(pools.tags[rank]))
            for rank in range(len(pools))
        ]  # fmt: skip
        self.con.execute("CREATE OR REPLACE TEMP TABLE _pools AS SELECT * FROM pools WITH NO DATA")
        self.con.executemany("INSERT INTO _pools VALUES (?, ?, ?, ?, ?, ?)", rows)
        same = " AND ".join(
            f"s.{c} IS NOT DISTINCT FROM t.{c}" for c in ("id", "link", "addresses", "tags")
        )
        total, existing, unchanged, removed = self.con.execute(
            f"""SELECT count(s.name), count(s.name) FILTER (WHERE t.name IS NOT NULL),
                       count(s.name) FILTER (WHERE {same}),
                       count(t.name) FILTER (WHERE s.name IS NULL)
                FROM _pools s FULL JOIN pools t ON s.name = t.name"""
        ).fetchall()[0]
        self.con.execute("DELETE FROM pools")
        self.con.execute("INSERT INTO pools SELECT * FROM _pools")
        self.con.execute("DROP TABLE _pools")
        result = WriteResult("pools", total - existing, existing - unchanged, unchanged, removed)
        return self._log_write(result, origin)

    def read_pool_list(self) -> PoolList | None:
        """The stored pool list in its order, or None when none was imported."""
        from minerwatch.sources.pools import PoolList

        rows = self.con.execute(
            "SELECT id, name, link, addresses, tags FROM pools ORDER BY rank"
        ).fetchall()
        if not rows:
            return None
        origin = self.con.execute(
            "SELECT origin FROM imports WHERE kind = 'pools' ORDER BY id DESC LIMIT 1"
        ).fetchall()
        ids, names, links, addresses, tags = zip(*rows, strict=True)
        return PoolList(
            tuple(int(i) for i in ids),
            tuple(names),
            tuple(links),
            tuple(tuple(a) for a in addresses),
            tuple(tuple(t) for t in tags),
            origin[0][0] if origin else "",
        )

    def write_block_coinbases(
        self,
        height: np.ndarray,
        coinbase_tag: np.ndarray,
        payout_scripts: np.ndarray,
        tx_count: np.ndarray,
        origin: str,
    ) -> WriteResult:
        """Set the coinbase scriptSig (hex), payout scripts (tuples of hex, stored
        space-separated) and transaction count (-1 unknown) of stored blocks by height
        (the caller holds the transaction). A height not stored is an
        :class:`InputError`; ``changed`` counts the blocks whose values differ."""
        if self.read_only:
            raise StoreReadOnly(f"database {self.path} is open read-only")
        staged = {
            "height": np.asarray(height, np.int64),
            "coinbase_tag": np.asarray(coinbase_tag, object),
            "payout_scripts": _joined_scripts(payout_scripts),
            "tx_count": np.asarray(tx_count, np.int64),
        }
        _one_row_per_height(np.sort(staged["height"]), origin)
        self._details_table(staged)
        try:
            missing = self.con.execute(
                "SELECT min(s.height) FROM _details s ANTI JOIN blocks b ON b.height = s.height"
            ).fetchall()[0][0]
            if missing is not None:
                raise InputError(
                    f"block {missing} is not stored; store the blocks before their coinbases",
                    path=origin,
                )
            same = " AND ".join(f"b.{n} IS NOT DISTINCT FROM s.{n}" for n in _DETAIL_VALUES)
            total, unchanged = self.con.execute(
                f"SELECT count(*), count(*) FILTER (WHERE {same}) FROM _details s "
                "JOIN blocks_full b ON b.height = s.height"
            ).fetchall()[0]
            self._merge_details(keep_stored=False)
        finally:
            self.con.execute("DROP TABLE _details")
        return self._log_write(WriteResult("blocks", 0, total - unchanged, unchanged), origin)

    def read_block_coinbases(
        self, *, min_height: int | None = None, max_height: int | None = None
    ) -> dict[str, np.ndarray]:
        """Stored blocks that carry a coinbase scriptSig or payout scripts, ascending by
        height within the range: ``height`` (int64), ``coinbase_tag`` (object, hex or
        None), ``payout_scripts`` (object, space-separated hex or None), ``pool``
        (object, None unknown)."""
        raw = self.con.execute(
            """SELECT height, coinbase_tag, payout_scripts, pool FROM blocks_full
               WHERE (coinbase_tag IS NOT NULL OR payout_scripts IS NOT NULL)
                 AND height BETWEEN coalesce(?, 0) AND coalesce(?, 2147483647)
               ORDER BY height""",
            [min_height, max_height],
        ).fetchnumpy()
        out = {k: _plain(v) for k, v in raw.items()}
        out["height"] = out["height"].astype(np.int64)
        for name in ("coinbase_tag", "payout_scripts", "pool"):
            out[name] = out[name].astype(object)
        return out

    def set_block_pools(self, height: np.ndarray, pool: np.ndarray, origin: str) -> WriteResult:
        """Set the ``pool`` (None: unknown) of stored blocks by height (the caller holds the
        transaction); ``changed`` counts the blocks whose pool differed."""
        if self.read_only:
            raise StoreReadOnly(f"database {self.path} is open read-only")
        staged = {"height": np.asarray(height, np.int64), "pool": np.asarray(pool, object)}
        self.con.register("_pools_src", staged)
        try:
            total, changed = self.con.execute(
                "SELECT count(*), count(*) FILTER (WHERE b.pool IS DISTINCT FROM s.pool) "
                "FROM _pools_src s JOIN blocks b ON b.height = s.height"
            ).fetchall()[0]
            self.con.execute(
                "UPDATE blocks SET pool = s.pool FROM _pools_src s "
                "WHERE blocks.height = s.height AND blocks.pool IS DISTINCT FROM s.pool"
            )
        finally:
            self.con.unregister("_pools_src")
        return self._log_write(WriteResult("blocks", 0, changed, total - changed), origin)

    def read_block_pools(
        self,
        *,
        min_height: int | None = None,
        min_time: int | None = None,
        max_time: int | None = None,
    ) -> dict[str, np.ndarray]:
        """Stored blocks with ``height >= min_height`` and header time in ``[min_time,
        max_time]`` (unix seconds, where given), ascending by height: ``height``,
        ``time`` (int64), ``bits`` (int64, -1 unknown), ``difficulty`` (float64, NaN
        unknown), ``pool`` (object, None unknown), ``tx_count`` (int64, -1 unknown),
        ``has_coinbase`` (bool: the block carries a coinbase scriptSig or payout
        scripts, so an unknown pool is one the list does not know)."""
        raw = self.con.execute(
            """SELECT height, time, coalesce(bits, -1) AS bits, difficulty, pool,
                      coalesce(tx_count, -1) AS tx_count,
                      (coinbase_tag IS NOT NULL OR payout_scripts IS NOT NULL) AS has_coinbase
               FROM blocks_full
               WHERE height >= coalesce(?, 0) AND time >= coalesce(?, -9223372036854775808)
                 AND time <= coalesce(?, 9223372036854775807)
               ORDER BY height""",
            [min_height, min_time, max_time],
        ).fetchnumpy()
        out = {k: _plain(v) for k, v in raw.items()}
        for name in ("height", "time", "bits", "tx_count"):
            out[name] = out[name].astype(np.int64)
        out["difficulty"] = out["difficulty"].astype(np.float64)
        out["pool"] = out["pool"].astype(object)
        out["has_coinbase"] = out["has_coinbase"].astype(bool)
        return out

    # -- exchange prices: daily closes by source, hourly closes (``minerwatch sync prices``)

    def price_day_range(self, source: str) -> tuple[np.datetime64, np.datetime64] | None:
        """First and last day of the daily closes of ``source``, or None when it has none."""
        lo, hi = self.con.execute(
            "SELECT CAST(min(day) AS VARCHAR), CAST(max(day) AS VARCHAR) FROM prices "
            "WHERE source = ?",
            [source],
        ).fetchall()[0]
        return None if lo is None else (np.datetime64(lo, "D"), np.datetime64(hi, "D"))

    def write_prices_hourly(
        self, hour_s: np.ndarray, source: str, quote: str, close: np.ndarray, origin: str
    ) -> WriteResult:
        """Upsert hourly closes of ``source`` (quoted in ``quote``, 'USD' or 'USDT') keyed
        by the hour's start ``hour_s`` (unix seconds, UTC); counted and logged as the other
        writes. The caller holds the :meth:`transaction`."""
        if self.read_only:
            raise StoreReadOnly(f"database {self.path} is open read-only")
        staged = {"hour_s": np.asarray(hour_s, np.int64), "close": np.asarray(close, np.float64)}
        self.con.register("_staged_src", staged)
        try:
            self.con.execute(
                "CREATE OR REPLACE TEMP TABLE _staged AS SELECT "
                "make_timestamp(hour_s * 1000000) AS hour, CAST(? AS VARCHAR) AS source, "
                "CAST(? AS VARCHAR) AS quote, close FROM _staged_src",
                [source, quote],
            )
        finally:
            self.con.unregister("_staged_src")
        total, existing, unchanged = self.con.execute(
            """SELECT count(*), count(t.hour), count(*) FILTER (WHERE t.quote = s.quote
                   AND t.close IS NOT DISTINCT FROM s.close)
               FROM _staged s
               LEFT JOIN prices_hourly t ON t.hour = s.hour AND t.source = s.source"""
        ).fetchall()[0]
        self.con.execute(
            "INSERT OR REPLACE INTO prices_hourly (hour, source, quote, close) "
            "SELECT hour, source, quote, close FROM _staged"
        )
        self.con.execute("DROP TABLE _staged")
        result = WriteResult("prices_hourly", total - existing, existing - unchanged, unchanged)
        return self._log_write(result, origin)

    def last_price_hour(self, source: str) -> int | None:
        """The start of the latest hourly close of ``source`` (unix seconds), or None."""
        value = self.con.execute(
            "SELECT CAST(epoch(max(hour)) AS BIGINT) FROM prices_hourly WHERE source = ?",
            [source],
        ).fetchall()[0][0]
        return None if value is None else int(value)

    def read_prices_hourly(self, *, until_s: int | None = None) -> dict[str, np.ndarray]:
        """Every stored hourly close whose hour starts before ``until_s`` (unix seconds;
        all when None), by hour then source: ``hour_s`` (int64 unix seconds of the hour's
        start), ``source``, ``quote`` (object), ``close`` (float64)."""
        cut = "" if until_s is None else "WHERE hour < make_timestamp(CAST(? AS BIGINT) * 1000000)"
        raw = self.con.execute(
            f"""SELECT CAST(epoch(hour) AS BIGINT) AS hour_s, source, quote, close
                FROM prices_hourly {cut} ORDER BY hour, source""",
            [] if until_s is None else [int(until_s)],
        ).fetchnumpy()
        out = {k: _plain(v) for k, v in raw.items()}
        out["hour_s"] = out["hour_s"].astype(np.int64)
        out["source"] = out["source"].astype(object)
        out["quote"] = out["quote"].astype(object)
        out["close"] = out["close"].astype(np.float64)
        return out

    # -- daily figures from blocks (minerwatch.blockdays) ------------------------------------

    def block_edges(self, n: int = 11) -> tuple[int, np.ndarray, np.ndarray, int] | None:
        """(lowest height, header times of the ``n`` lowest blocks, of the ``n`` highest,
        highest height), both ascending by height; None without blocks. What
        :func:`minerwatch.blockdays.whole_days` needs to tell which days the blocks cover."""
        return self._kept(("edges", n), lambda: self._block_edges(n))

    def _block_edges(self, n: int) -> tuple[int, np.ndarray, np.ndarray, int] | None:
        span = self.block_height_range()
        if span is None:
            return None
        lo, hi = span
        low = self.con.execute(
            "SELECT time FROM blocks WHERE height < ? ORDER BY height", [lo + n]
        ).fetchnumpy()["time"]
        high = self.con.execute(
            "SELECT time FROM blocks WHERE height > ? ORDER BY height", [hi - n]
        ).fetchnumpy()["time"]
        low, high = np.asarray(low, np.int64), np.asarray(high, np.int64)
        low.flags.writeable = high.flags.writeable = False  # kept: shared by every caller
        return lo, low, high, hi

    def read_block_economics(
        self, max_time: int | None = None, *, min_time: int | None = None
    ) -> dict[str, np.ndarray]:
        """Stored blocks with header time from ``min_time`` to ``max_time`` (each None: no
        bound), ascending by height: ``height``, ``time``, ``bits`` (-1 unknown),
        ``difficulty`` (NaN unknown), ``fees_sat`` and ``subsidy_sat`` (-1 unknown); the
        columns the daily figures read, without the text columns of :meth:`read_blocks`."""
        raw = self.con.execute(
            """SELECT height, time, coalesce(bits, -1) AS bits, difficulty,
                      coalesce(fees_sat, -1) AS fees_sat, coalesce(subsidy_sat, -1) AS subsidy_sat
               FROM blocks WHERE time BETWEEN coalesce(?, -1) AND coalesce(?, 9e18)
               ORDER BY height""",
            [min_time, max_time],
        ).fetchnumpy()
        out = {k: _plain(v) for k, v in raw.items()}
        for name in ("height", "time", "bits", "fees_sat", "subsidy_sat"):
            out[name] = out[name].astype(np.int64)
        out["difficulty"] = out["difficulty"].astype(np.float64)
        return out

    def read_day_sums(self, last_day: np.datetime64) -> DaySums:
        """The kept day sums of the blocks (``block_day_sums``) up to ``last_day``."""
        raw = self._read_daily(
            "blocks, max_height, fees_sat, fees_missing, issuance_sat, subsidy_scheduled, "
            "difficulty_last, difficulty_dev_sum, difficulty_unknown",
            "block_day_sums",
            "day",
            last_day,
        )
        day = raw.pop("day")
        ints = ("blocks", "max_height", "fees_sat", "issuance_sat", "difficulty_unknown")
        return DaySums(
            day_number=(day - EPOCH_DAY).astype(np.int64),
            **{k: v.astype(np.int64 if k in ints else v.dtype) for k, v in raw.items()},
        )

    @contextmanager
    def _day_sums_kept(self, lowest_height: int, blocks: dict[str, np.ndarray]) -> Iterator[None]:
        """Around a write that may change the stored blocks from ``lowest_height`` up and
        stores ``blocks`` (economics columns as :meth:`read_block_economics` gives them,
        ascending by height): afterwards, the day sums from the first UTC day a block on
        either side is stamped on are summed again, from ``blocks`` themselves when no
        other block is stamped on those days (a write above every held block's day). The
        kept block reads (:meth:`_kept`) are forgotten on both sides, failed write or not."""
        self._block_reads.clear()
        try:
            old = self.con.execute(
                "SELECT min(time) FROM blocks WHERE height >= ?", [int(lowest_height)]
            ).fetchall()[0][0]
            known = [int(old)] if old is not None else []
            known += [int(np.min(blocks["time"]))] if len(blocks["time"]) else []
            if not known:
                yield
                return
            first_day = min(known) // SECONDS_PER_DAY
            alone = (
                old is None
                and not self.con.execute(
                    "SELECT count(*) FROM blocks WHERE time >= ?", [first_day * SECONDS_PER_DAY]
                ).fetchall()[0][0]
            )
            yield
            self._refresh_day_sums(first_day, blocks if alone else None)
        finally:
            self._block_reads.clear()

    def sum_block_days(
        self, min_time: int | None = None, blocks: dict[str, np.ndarray] | None = None
    ) -> DaySums:
        """The day sums of the stored blocks stamped from ``min_time`` on (all: None),
        summed now (:func:`~minerwatch.blockdays.day_sums`), or of ``blocks`` when given."""
        raw = blocks if blocks is not None else self.read_block_economics(min_time=min_time)
        return day_sums(
            raw["height"],
            raw["time"],
            known_difficulty(raw["difficulty"], raw["bits"]),
            raw["fees_sat"],
            raw["subsidy_sat"],
        )

    def _refresh_day_sums(
        self, first_day: int | None, blocks: dict[str, np.ndarray] | None = None
    ) -> None:
        """Sum the blocks stamped from day number ``first_day`` on (all: None) into
        ``block_day_sums`` in place of the rows from that day; ``blocks``: exactly those
        blocks, given (else read)."""
        start = None if first_day is None else first_day * SECONDS_PER_DAY
        sums = self.sum_block_days(start, blocks)
        if first_day is None:
            self.con.execute("DELETE FROM block_day_sums")
        else:
            self.con.execute(
                "DELETE FROM block_day_sums WHERE day >= DATE '1970-01-01' + CAST(? AS INTEGER)",
                [first_day],
            )
        if not len(sums):
            return
        staged = {name: getattr(sums, name) for name in DaySums.__dataclass_fields__}
        self.con.register("_sums_src", staged)
        try:
            self.con.execute(
                f"""INSERT INTO block_day_sums SELECT
                    DATE '1970-01-01' + CAST(day_number AS INTEGER),
                    {", ".join(n for n in staged if n != "day_number")} FROM _sums_src"""
            )
        finally:
            self.con.unregister("_sums_src")


def _joined_scripts(scripts: np.ndarray) -> np.ndarray:
    """Each block's payout scripts (a sequence of hex) as one space-separated text; a text
    and None stay as they are."""
    if isinstance(scripts, np.ndarray) and scripts.ndim == 1 and not _any_known(scripts):
        return scripts  # a page without coinbases
    return np.array(
        [s if s is None or isinstance(s, str) else " ".join(s) for s in scripts], dtype=object
    )


def _text_or_none(values) -> np.ndarray:
    """An object column of str with None for unknown (NaN, empty) cells."""
    out = np.full(len(values), None, object)
    if isinstance(values, np.ndarray) and not _any_known(values):
        return out  # all unknown (a page of headers only): no cell to look at
    plain = isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype == object
    if plain and set(map(type, values)) <= {str, type(None)}:  # text and None: one C loop
        text = values.copy()
        text[text == ""] = None
        return text
    for i, value in enumerate(values):
        if isinstance(value, str) and value:
            out[i] = value
    return out


@dataclass(frozen=True)
class ChainState:
    """Where a live chain source's sync stands (a ``chain_sync`` row).

    ``base_height`` is the first height this source wrote; when it is above 0 the block
    below it was taken on trust and ``base_parent_hash`` records the parent hash the first
    block claimed. ``pow_checked`` is False when any page was stored without the
    proof-of-work check (``--skip-pow-check``, test chains only).
    """

    source: str
    network: str
    url: str
    base_height: int
    base_parent_hash: str | None
    pow_checked: bool
    tip_height: int
    tip_hash: str


@dataclass(frozen=True)
class Reorg:
    """A reorg a sync found: the blocks above ``fork_height`` (the last block both branches
    share) were replaced; ``depth`` blocks of the old branch became stale."""

    fork_height: int
    depth: int
    old_tip_height: int
    old_tip_hash: str
    new_tip_height: int
    new_tip_hash: str
    source: str = ""
    seen_at: str = ""


def _day_cut(table: str, through: np.datetime64 | None) -> tuple[str, list[object]]:
    """The ``WHERE`` clause (and its argument) keeping a day-keyed table's days up to
    ``through``; ValueError for a table that is not day-keyed."""
    if table not in ("chain_daily", "prices"):
        raise ValueError(f"{table} is not a day-keyed table")
    if through is None:
        return "", []
    return "WHERE day <= CAST(? AS DATE)", [str(as_day(through))]


def _time_cut(max_time: int | None) -> tuple[str, list[object]]:
    """The ``WHERE`` clause (and its argument) keeping blocks with header ``time <=
    max_time`` (unix seconds); none for None."""
    return ("", []) if max_time is None else ("WHERE time <= ?", [int(max_time)])


def _moment_cut(column: str, by: int | None) -> tuple[str, list[object]]:
    """The ``WHERE`` clause (and its argument) keeping log rows whose UTC ``TIMESTAMP``
    ``column`` is before the second after unix time ``by`` (``by``'s own fractions of a
    second included); none for None."""
    return ("", []) if by is None else (f"WHERE epoch({column}) < ?", [int(by) + 1])


def open_store(
    path: Path | str | None = None, *, read_only: bool = False, wait_s: float | None = None
) -> Store:
    """Open (creating and migrating when writable) the database at ``path``.

    ``path`` defaults to :func:`default_db_path`. When another process holds the database
    (a sync or an import committing), the open waits up to ``wait_s`` seconds (default
    :func:`lock_wait_s`), logging one notice, then raises
    :class:`~minerwatch.errors.StoreBusy`.
    """
    return Store(
        path if path is not None else default_db_path(), read_only=read_only, wait_s=wait_s
    )


#: Seconds an open waits for another process's write to finish, unless
#: ``MINERWATCH_LOCK_WAIT_S`` says otherwise. A sync holds the database for one page's
#: commit and an import for its one transaction: well under this.
DEFAULT_LOCK_WAIT_S = 30.0
_LOCK_POLL_S = (0.05, 0.5)  # first and longest pause between attempts
_log = logging.getLogger("minerwatch.store")


def lock_wait_s() -> float:
    """The lock wait bound, seconds: ``MINERWATCH_LOCK_WAIT_S`` (>= 0) or
    :data:`DEFAULT_LOCK_WAIT_S`; a malformed value is :class:`InputError`."""
    text = os.environ.get("MINERWATCH_LOCK_WAIT_S")
    if text is None or not text.strip():
        return DEFAULT_LOCK_WAIT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise InputError(
            f"MINERWATCH_LOCK_WAIT_S {text!r} is not a number of seconds >= 0",
            parameter="MINERWATCH_LOCK_WAIT_S",
        )
    return value


def _connect(shown: Path, path: str, read_only: bool, wait_s: float) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection to ``path``, waiting up to ``wait_s`` while another process holds
    the file's lock (DuckDB allows one writing process, and no reader beside it)."""
    deadline = time.monotonic() + wait_s
    pause, noticed = _LOCK_POLL_S[0], False
    while True:
        try:
            return duckdb.connect(path, read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise StoreUnreadable(f"cannot open database {shown}: {exc}") from None
            left = deadline - time.monotonic()
            if not noticed:  # who holds it: looked up once
                server = server_for(shown) if shown != Path(":memory:") else None
                if server is not None and server.holds:
                    raise StoreBusy(
                        f"database {shown} is held by `minerwatch serve --watch` at "
                        f"{server.url} (process {server.pid}), which writes each new block "
                        f"to it while it runs; read its figures there (JSON under "
                        f"{server.url.rstrip('/')}/api/v1/), or stop the server to use the "
                        "database from the command line"
                    ) from None
            if left <= 0:
                if server is not None:
                    raise StoreBusy(
                        f"database {shown} is served by `minerwatch serve` at {server.url} "
                        f"(process {server.pid}), which kept it for more than {wait_s:g} s; "
                        f"read its figures there (JSON under {server.url.rstrip('/')}/api/v1/), "
                        "or stop the server to use the database from the command line"
                    ) from None
                raise StoreBusy(
                    f"database {shown} is busy: another minerwatch process (a sync or an "
                    f"import) kept it for more than {wait_s:g} s; try again when it has "
                    "finished, or wait longer with MINERWATCH_LOCK_WAIT_S"
                ) from None
            if not noticed:
                holder = (
                    f"`minerwatch serve` at {server.url} is using it"
                    if server is not None
                    else "another process is writing"
                )
                _log.warning("database %s is busy (%s); waiting up to %g s", shown, holder, wait_s)
                noticed = True
            time.sleep(min(pause, left))
            pause = min(pause * 2, _LOCK_POLL_S[1])
        except duckdb.Error as exc:
            raise StoreUnreadable(f"cannot open database {shown}: {exc}") from None


def require_data(store: Store) -> tuple[np.datetime64, np.datetime64]:
    """The chain day range, or :class:`~minerwatch.errors.NoChainData` telling how to load
    data."""
    span = store.chain_day_range()
    if span is None:
        raise NoChainData(
            f"the database {store.path} holds no chain data; load it with "
            "`minerwatch import coinmetrics FILE` or `minerwatch sync`"
        )
    return span
