"""Tables out of minerwatch: columns to Arrow, pandas, polars, CSV, JSON and Parquet.

A table here is a dict of equal-length columns, name -> one of: a NumPy array (``NaN`` in a
float column is a missing value, ``None`` in an object column), a ``numpy.ma.MaskedArray``
(masked entries are missing; how integer columns carry NULLs), or a plain list (values of
any JSON-able kind, ``None`` missing). Dates are ``datetime64[D]``.

:class:`Tabular` gives a class ``to_arrow()``, ``to_pandas()`` and ``to_polars()`` from its
:meth:`~Tabular.table_columns`. pyarrow, pandas and polars are optional extras
(``pip install 'minerwatch[arrow]'``, ``[pandas]``, ``[polars]``), imported only when a
conversion asks for them; a missing one is an :class:`~minerwatch.errors.InputError` naming
the extra.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from minerwatch.errors import InputError
from minerwatch.serialize import csv_text, to_jsonable, write_text

Columns = dict[str, Any]

# Python module -> the pip extra of minerwatch that installs it.
EXTRAS = {"pyarrow": "arrow", "pandas": "pandas", "polars": "polars"}
FORMATS = ("csv", "json", "parquet")


def require(module: str) -> Any:
    """Import the optional ``module``; :class:`InputError` naming the extra when missing."""
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = EXTRAS[module]
        raise InputError(
            f"{module} is not installed; it is an optional extra: "
            f"pip install 'minerwatch[{extra}]' (or pip install {module})"
        ) from None


# -- building columns ---------------------------------------------------------------------


def flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``row`` with nested dicts spread into ``parent_child`` keys (lists kept as values)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{name}_"))
        else:
            out[name] = value
    return out


def rows_to_columns(rows: list[dict[str, Any]]) -> Columns:
    """A list of row dicts as columns (lists), keys in first-seen order, missing as None."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    return {n: [row.get(n) for row in rows] for n in names}


def array_columns(obj: Any) -> Columns:
    """The per-row array fields of dataclass ``obj``: every 1-d array field as long as the
    first one, and each dict of such arrays as ``field_key`` columns."""
    out: Columns = {}
    length = None
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        parts = (
            {f"{f.name}_{k}": v for k, v in value.items()}
            if isinstance(value, dict)
            else {f.name: value}
        )
        for name, col in parts.items():
            if not isinstance(col, np.ndarray) or col.ndim != 1:
                continue
            length = len(col) if length is None else length
            if len(col) == length:
                out[name] = col
    return out


def cut_rows(columns: Columns, keep: np.ndarray) -> Columns:
    """The rows of ``columns`` where the boolean mask ``keep`` holds."""
    index = np.flatnonzero(keep)
    return {
        n: [c[i] for i in index] if isinstance(c, list) else c[index] for n, c in columns.items()
    }


def row_count(columns: Columns) -> int:
    return len(next(iter(columns.values()))) if columns else 0


# -- conversions --------------------------------------------------------------------------


def _missing(col: np.ndarray) -> np.ndarray:
    """Mask of the missing entries of an array column (masked, NaN or None)."""
    if isinstance(col, np.ma.MaskedArray):
        return np.ma.getmaskarray(col)
    if col.dtype.kind == "f":
        return np.isnan(col)
    if col.dtype.kind == "O":
        return np.equal(col, np.array(None, dtype=object))
    return np.zeros(len(col), bool)


def _python_values(col: Any) -> list[Any]:
    """A column as a list of plain Python values: None where missing, dates as ISO text."""
    if isinstance(col, list):
        return [to_jsonable(v) for v in col]
    data = np.ma.getdata(col)
    if data.dtype.kind == "M":
        values = data.astype(str).astype(object)
    else:
        values = data.astype(object)
    values[_missing(col)] = None
    if data.dtype.kind == "f":
        values[~np.isfinite(data) & ~_missing(col)] = None
    return values.tolist()


def to_arrow(columns: Columns) -> Any:
    """A ``pyarrow.Table`` (missing values as nulls, dates as ``date32``)."""
    pa = require("pyarrow")
    arrays: dict[str, Any] = {}
    for name, col in columns.items():
        if isinstance(col, list):
            arrays[name] = pa.array(_python_values(col))
        else:
            data = np.ma.getdata(col)
            if data.dtype.kind == "O":
                arrays[name] = pa.array(_python_values(col))
            else:
                arrays[name] = pa.array(data, mask=_missing(col))
    return pa.table(arrays)


def to_pandas(columns: Columns) -> Any:
    """A ``pandas.DataFrame``: NaN for missing floats, nullable ``Int64``/``boolean`` for
    integer and boolean columns with missing values, dates as ``datetime64`` (NaT
    missing)."""
    pd = require("pandas")
    data: dict[str, Any] = {}
    for name, col in columns.items():
        if isinstance(col, np.ma.MaskedArray) and col.mask is not np.ma.nomask:
            dtype = {"i": "Int64", "u": "Int64", "b": "boolean"}.get(col.dtype.kind)
            if col.dtype.kind == "M":
                data[name] = np.where(col.mask, np.datetime64("NaT"), col.data)
            elif dtype is None:
                data[name] = _python_values(col)
            else:
                data[name] = pd.array(_python_values(col), dtype=dtype)
        elif isinstance(col, np.ndarray):
            data[name] = np.ma.getdata(col)
        else:
            data[name] = _python_values(col)
    return pd.DataFrame(data)


def to_polars(columns: Columns) -> Any:
    """A ``polars.DataFrame`` (missing values as nulls)."""
    pl = require("polars")
    series = []
    for name, col in columns.items():
        if isinstance(col, np.ndarray) and not isinstance(col, np.ma.MaskedArray):
            if col.dtype.kind == "O":
                series.append(pl.Series(name, col.tolist()))
            else:
                series.append(pl.Series(name, col, nan_to_null=True))
        elif isinstance(col, np.ma.MaskedArray) and col.dtype.kind != "O":
            values = pl.Series(name, np.ma.getdata(col))
            series.append(values.scatter(np.flatnonzero(_missing(col)), None))
        else:
            series.append(pl.Series(name, _python_values(col), strict=False))
    return pl.DataFrame(series)


def to_records(columns: Columns) -> list[dict[str, Any]]:
    """One dict per row of plain Python values (missing and non-finite as None)."""
    names = list(columns)
    values = [_python_values(columns[n]) for n in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def _csv_cells(col: Any) -> list[str]:
    """A column as CSV cells: empty where missing, floats in shortest round-trip form,
    booleans as true/false, dates as YYYY-MM-DD."""
    if isinstance(col, list):
        return [
            "" if v is None else json.dumps(v) if isinstance(v, bool | dict | list) else str(v)
            for v in _python_values(col)
        ]
    data = np.ma.getdata(col)
    if data.dtype.kind == "b":
        cells = np.where(data, "true", "false").astype(object)
    else:
        cells = data.astype(str).astype(object)
    missing = _missing(col)
    if data.dtype.kind == "f":
        missing = missing | ~np.isfinite(data)
    cells[missing] = ""
    return cells.tolist()


def to_csv(columns: Columns) -> str:
    """CSV text: a header of the column names, one line per row
    (:func:`~minerwatch.serialize.csv_text`)."""
    return csv_text(columns, zip(*(_csv_cells(c) for c in columns.values()), strict=True))


def to_json(columns: Columns) -> str:
    """JSON text: a list of one object per row (missing values as null)."""
    return json.dumps(to_records(columns), indent=1) + "\n"


def check_format(fmt: str, path: str | Path | None) -> bool:
    """Whether ``path`` means standard output (None or ``-``), once ``fmt`` is known to be
    writable there: :class:`InputError` for an unknown format, Parquet to standard output,
    or Parquet without pyarrow (so a caller can check before any work is done)."""
    if fmt not in FORMATS:
        raise InputError(f"format {fmt!r} is not one of {', '.join(FORMATS)}", parameter="format")
    to_stdout = path is None or str(path) == "-"
    if fmt == "parquet":
        if to_stdout:
            raise InputError("parquet is a binary format: it needs a file to write to (--out FILE)")
        require("pyarrow")
    return to_stdout


def write_table(columns: Columns, path: str | Path | None, fmt: str) -> str | None:
    """Write ``columns`` as ``fmt`` (csv, json or parquet) to ``path``; with ``path`` None
    (or ``-``), return the CSV or JSON text instead. Parquet needs pyarrow and a path.

    :class:`InputError` for an unknown format, Parquet without a path, or a file that cannot
    be written (naming it).
    """
    to_stdout = check_format(fmt, path)
    if fmt == "parquet":
        table = to_arrow(columns)
        import pyarrow.parquet as pq

        try:
            pq.write_table(table, str(path))
        except OSError as exc:
            raise InputError(f"cannot write the file: {exc}", path=str(path)) from None
        return None
    text = to_csv(columns) if fmt == "csv" else to_json(columns)
    if to_stdout or path is None:
        return text
    write_text(text, path)
    return None


class Tabular:
    """Mixin: ``to_arrow()``, ``to_pandas()`` and ``to_polars()`` of a result.

    The table is :meth:`table_columns`: by default the rows under the ``to_dict()`` key
    named by ``TABLE`` (a list of objects, or a dict of objects: one row each), else one
    row of ``to_dict()`` with nested objects spread into ``parent_child`` columns.
    """

    TABLE: ClassVar[str | None] = None

    def table_columns(self) -> Columns:
        doc = self.to_dict()  # type: ignore[attr-defined]
        if self.TABLE is None:
            return rows_to_columns([flatten(doc)])
        rows = doc[self.TABLE]
        if isinstance(rows, dict):
            rows = list(rows.values())
        return rows_to_columns([flatten(r) for r in rows])

    def to_arrow(self) -> Any:
        """The table as a ``pyarrow.Table`` (needs the ``arrow`` extra)."""
        return to_arrow(self.table_columns())

    def to_pandas(self) -> Any:
        """The table as a ``pandas.DataFrame`` (needs the ``pandas`` extra)."""
        return to_pandas(self.table_columns())

    def to_polars(self) -> Any:
        """The table as a ``polars.DataFrame`` (needs the ``polars`` extra)."""
        return to_polars(self.table_columns())


class ArrayTabular(Tabular):
    """:class:`Tabular` for a dataclass of per-row arrays: one column per array field
    (:func:`array_columns`); ``len()`` is the number of rows."""

    def table_columns(self) -> Columns:
        return array_columns(self)

    def __len__(self) -> int:
        return row_count(self.table_columns())
