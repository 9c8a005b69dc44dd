"""The stored data and every daily metric as a table to take away (``minerwatch export``).

Tables:

- ``daily``: one row per day, every column of the daily frame and of
  :func:`~minerwatch.metrics.daily.compute_daily_metrics` (the values ``status`` reads),
  units in the names (``hashrate_hs_7d`` in H/s, ``hashprice_usd_ph_day`` in USD per PH/s
  per day); a ``*_row`` metric (the row of a high) becomes ``*_day``, the day of the high.
- ``blocks``, ``epochs``, ``prices``: the stored rows, columns named as the importers read
  them (so a CSV export imports again): ``time`` and ``start_time`` in unix seconds,
  ``date`` and ``close_usd`` (USD) for prices. ``blocks`` holds every stored block: the
  best chain's and the ``stale`` ones a reorg replaced, with ``hash`` and ``prev_hash``
  (empty for a block imported from a CSV file, ``source`` 'csv'), median time past,
  transaction count, weight, size, coinbase scriptSig and payout scripts (hex, the scripts
  separated by spaces) where a live source gave them; the blocks importer reads the
  columns it knows (the coinbase and the transaction count among them, so that a database
  built from the file names the same pools) and ignores the others (keep the rows with
  ``stale`` false).

No look-ahead: ``end`` and ``as_of`` cut at the end of that UTC day (for blocks, by header
time; for epochs, by the first block's time), so an export ``as_of`` a day holds only what
was known by its end. ``start`` drops the rows before a day; it never changes a value (the
trailing windows of ``daily`` still read the days before it).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minerwatch.chain.consensus import GENESIS_DAY
from minerwatch.chaindays import require_days
from minerwatch.days import DayLike, parse_day
from minerwatch.errors import InputError
from minerwatch.frames import DailyFrame, build_daily_frame, check_as_of, epochs_begun_by
from minerwatch.metrics.daily import DailyMetrics, compute_daily_metrics
from minerwatch.models.difficulty import height_offsets
from minerwatch.store import Store, open_store
from minerwatch.tables import Columns, Tabular, cut_rows, row_count, to_csv, to_json, write_table
from minerwatch.units import SECONDS_PER_DAY

EXPORT_TABLES = ("daily", "blocks", "epochs", "prices")
_UNIX_DAY0 = np.datetime64("1970-01-01", "D")


def _unix_start(day: np.datetime64) -> int:
    """Unix seconds at the start (00:00 UTC) of ``day``."""
    return int((day.astype("M8[D]") - _UNIX_DAY0).astype(np.int64)) * SECONDS_PER_DAY


def _masked(values: np.ndarray, unknown: np.ndarray) -> np.ma.MaskedArray:
    return np.ma.MaskedArray(values, mask=unknown)


def daily_columns(
    frame: DailyFrame, metrics: DailyMetrics, epochs: dict[str, np.ndarray] | None = None
) -> Columns:
    """Every column of ``frame`` then of ``metrics``, by name with units: a dict of
    windows ``{w: array}`` becomes ``name_{w}d`` columns, a ``*_row`` index the ``*_day``
    of that row (missing before any value); ``end_height`` (the running count of daily
    blocks) is missing where heights are unknown, ``height`` is the chain's height, the
    running count less its offset from the chain (:func:`~minerwatch.models.difficulty.
    height_offsets`, from the ``epochs`` table; the figure ``status`` shows when no blocks
    are held), and ``price_source`` is missing where a day has no close."""
    columns: Columns = {}
    for f in dataclasses.fields(frame):
        columns[f.name] = getattr(frame, f.name)
    unknown = frame.end_height < 0
    columns["end_height"] = _masked(frame.end_height, unknown)
    if epochs is not None:
        offset = height_offsets(
            frame.day, frame.blocks, frame.end_height, epochs["start_height"], epochs["start_time"]
        )
        chain = np.rint(frame.end_height - offset).astype(np.int64)
        columns = {
            **{k: columns[k] for k in ("day", "blocks", "end_height")},
            "height": _masked(chain, unknown),
            **columns,
        }
    none = np.array(None, dtype=object)
    columns["price_source"] = np.where(frame.price_source == "", none, frame.price_source)
    for f in dataclasses.fields(metrics):
        value = getattr(metrics, f.name)
        if f.name == "day":
            continue
        if isinstance(value, dict):
            for window, col in value.items():
                columns[f"{f.name}_{window}d"] = col
        elif f.name.endswith("_row"):
            rows = np.asarray(value, np.int64)
            day = frame.day[np.clip(rows, 0, None)]
            columns[f.name[: -len("_row")] + "_day"] = _masked(day, rows < 0)
        else:
            columns[f.name] = value
    return columns


#: The unit of a daily column by the end of its name, first match (``column_units``).
_UNIT_SUFFIXES = (
    ("_usd_ph_day", "USD per PH/s per day"),
    ("_btc_ph_day", "BTC per PH/s per day"),
    ("_day", "date, YYYY-MM-DD (UTC)"),
    ("_source", "text: the source of the day's figure"),
    ("_sat", "satoshi"),
    ("_btc", "BTC"),
    ("_usd", "USD"),
    ("_pct", "percent"),
    ("_multiple", "ratio"),
)
_UNIT_NAMES = {
    "day": "date, YYYY-MM-DD (UTC)",
    "blocks": "blocks",
    "end_height": "blocks (the running count at the day's end)",
    "height": "block height (the chain's, at the day's end)",
}


def column_units(columns: Columns) -> dict[str, str]:
    """The unit of each daily column (:func:`daily_columns`), from its name (units are in
    the names: ``_sat``, ``_usd``, ``_pct``, ``_hs_7d`` ...) or, for flags, its type."""
    units = {}
    for name, values in columns.items():
        base = re.sub(r"_\d+d$", "", name)  # a window's column: its measure's unit
        if name in _UNIT_NAMES:
            unit = _UNIT_NAMES[name]
        elif np.asarray(values).dtype.kind == "b":
            unit = "boolean"
        elif base.endswith("_hs"):
            unit = "H/s"
        elif base.startswith("difficulty"):
            unit = "difficulty (dimensionless)"
        elif base.endswith("_min"):
            unit = "minutes"
        else:
            unit = next((u for end, u in _UNIT_SUFFIXES if base.endswith(end)), "")
        units[name] = unit
    return units


@dataclass(frozen=True)
class Export(Tabular):
    """One exported table: ``table`` (a name of :data:`EXPORT_TABLES`), ``start`` and
    ``end`` (the first and last day asked, YYYY-MM-DD or None) and ``columns``
    (:mod:`minerwatch.tables` columns; missing values masked, NaN or None)."""

    table: str
    start: str | None
    end: str | None
    columns: Columns = dataclasses.field(repr=False)

    def __len__(self) -> int:
        return row_count(self.columns)

    def table_columns(self) -> Columns:
        return self.columns

    def to_csv(self) -> str:
        """CSV text: a header of the column names, one line per row, empty where missing."""
        return to_csv(self.columns)

    def to_json(self) -> str:
        """JSON text: a list of one object per row, null where missing."""
        return to_json(self.columns)

    def write(self, path: str | Path | None, fmt: str = "csv") -> str | None:
        """Write as ``fmt`` (csv, json, parquet) to ``path``; see
        :func:`~minerwatch.tables.write_table` (text returned when ``path`` is None)."""
        return write_table(self.columns, path, fmt)


def _daily(
    store: Store, start: np.datetime64 | None, last: np.datetime64 | None, price_source: str
) -> Columns:
    frame = build_daily_frame(store, last, price_source=price_source)
    columns = daily_columns(frame, compute_daily_metrics(frame), store.read_epochs())
    return columns if start is None else cut_rows(columns, frame.day >= start)


def _blocks(store: Store, start: np.datetime64 | None, max_time: int | None) -> Columns:
    """Every stored block, the best chain's and the stale ones a reorg replaced."""
    rows = store.read_all_blocks(max_time=max_time)
    unknown = {n: rows[n] < 0 for n in rows if rows[n].dtype == np.int64}
    columns: Columns = {
        "height": rows["height"],
        "hash": rows["hash"],
        "prev_hash": rows["prev_hash"],
        "stale": rows["stale"],
        "time": rows["time"],
        "median_time": _masked(rows["median_time"], unknown["median_time"]),
        "bits": _masked(rows["bits"], unknown["bits"]),
        "difficulty": rows["difficulty"],
        "fees_sat": _masked(rows["fees_sat"], unknown["fees_sat"]),
        "subsidy_sat": _masked(rows["subsidy_sat"], unknown["subsidy_sat"]),
        "tx_count": _masked(rows["tx_count"], unknown["tx_count"]),
        "weight_wu": _masked(rows["weight_wu"], unknown["weight_wu"]),
        "size_bytes": _masked(rows["size_bytes"], unknown["size_bytes"]),
        "pool": rows["pool"],
        "coinbase_tag": rows["coinbase_tag"],
        "payout_scripts": rows["payout_scripts"],
        "source": rows["source"],
    }
    return columns if start is None else cut_rows(columns, rows["time"] >= _unix_start(start))


def _epochs(store: Store, start: np.datetime64 | None, max_time: int | None) -> Columns:
    """Epochs begun by ``max_time`` (:func:`~minerwatch.frames.epochs_begun_by`).
    ``start`` keeps epochs whose first block came on or after that day."""
    rows = store.read_epochs()
    height, begun = rows["start_height"], rows["start_time"]
    known = begun >= 0
    keep = np.ones(len(height), bool)
    if max_time is not None:
        keep = epochs_begun_by(height, begun, max_time)
    if start is not None:
        genesis = ~known & (height == 0) & (start <= GENESIS_DAY)
        keep &= (known & (begun >= _unix_start(start))) | genesis
    columns: Columns = {
        "start_height": height,
        "difficulty": rows["difficulty"],
        "bits": rows["bits"],
        "start_time": _masked(begun, ~known),
    }
    return cut_rows(columns, keep)


def _prices(store: Store, start: np.datetime64 | None, last: np.datetime64 | None) -> Columns:
    rows = store.read_prices(last)
    columns: Columns = {
        "date": rows["day"],
        "close_usd": rows["close_usd"],
        "source": rows["source"],
    }
    return columns if start is None else cut_rows(columns, rows["day"] >= start)


def export_table(
    db: Store | str | Path | None,
    table: str,
    *,
    start: DayLike = None,
    end: DayLike = None,
    as_of: DayLike = None,
    price_source: str = "auto",
) -> Export:
    """The table ``table`` (``daily``, ``blocks``, ``epochs`` or ``prices``) of the database
    ``db`` (a path or an open store), rows from ``start`` to ``end`` (YYYY-MM-DD, both
    inclusive; default: all), knowing nothing after ``as_of`` (the earlier of ``end`` and
    ``as_of`` cuts). ``price_source`` picks the closes of ``daily`` as ``status`` does.

    :class:`InputError` for an unknown table, a malformed day, ``start`` after ``end``, an
    ``as_of`` outside the days held, or (``daily``) no chain data or an ``end`` before the
    first day held. Without ``as_of``, ``blocks``, ``epochs`` and ``prices`` need no chain
    data.
    """
    if table not in EXPORT_TABLES:
        raise InputError(
            f"no table {table!r} to export; expected one of {', '.join(EXPORT_TABLES)}"
        )
    first_day = parse_day(start, "--from")
    end_day = parse_day(end, "--to")
    as_of_day = parse_day(as_of, "--as-of")
    if first_day is not None and end_day is not None and first_day > end_day:
        raise InputError(f"--from {first_day} is after --to {end_day}; expected from <= to")
    if not isinstance(db, Store):
        with open_store(db, read_only=True) as store:
            return export_table(
                store, table, start=start, end=end, as_of=as_of, price_source=price_source
            )
    store = db
    # daily needs chain data, and an as_of must be a day held; the stored tables need neither
    held = require_days(store) if table == "daily" or as_of_day is not None else None
    last = None if as_of_day is None else check_as_of(store, as_of_day)
    if end_day is not None:
        if held is not None and table == "daily" and end_day < held[0]:
            raise InputError(
                f"--to {end_day} is before the first day held ({held[0]}); expected a later day"
            )
        last = end_day if last is None else min(last, end_day)
        if held is not None and last > held[1]:  # --to past the data: all of it
            last = held[1]
    # the end of the last day known, unix seconds (None: no cut)
    cut = None if last is None else _unix_start(last + 1) - 1
    columns: Columns
    if table == "daily":
        columns = _daily(store, first_day, last, price_source)
    elif table == "blocks":
        columns = _blocks(store, first_day, cut)
    elif table == "epochs":
        columns = _epochs(store, first_day, cut)
    else:
        columns = _prices(store, first_day, last)
    return Export(
        table=table,
        start=None if first_day is None else str(first_day),
        end=None if last is None else str(last),
        columns=columns,
    )
