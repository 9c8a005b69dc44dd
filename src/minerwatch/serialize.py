"""Results as JSON and CSV: the one place that turns a result into plain values.

:func:`to_jsonable` turns any result (nested frozen dataclasses, dicts, lists, NumPy values)
into what :func:`json.dumps` writes, a missing value (None, NaN, an infinity, NaT) as
``null``; :func:`to_json` writes that as text (what ``--json`` prints); :func:`write_csv`
writes rows of such values as a CSV table. :func:`num` is the float-or-None a result
stores.

A dataclass becomes an object with one key per field, in field order. A field's metadata
may rename its key (:func:`json_key`, for a key that is no Python name such as ``"1d"``)
or leave it out (:data:`NOT_JSON`, for per-day arrays kept beside a result). A dataclass of
equal-length arrays (:class:`Columns`) becomes one object per entry.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from minerwatch.errors import InputError

#: Metadata key of a dataclass field: the field's JSON key, or None to leave it out.
JSON_KEY = "json_key"
#: Field metadata that leaves the field out of the JSON.
NOT_JSON: Mapping[str, Any] = {JSON_KEY: None}
#: Units of ``datetime64`` written as dates (``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``); finer
#: units are written as UTC times to the second, ``YYYY-MM-DDTHH:MM:SSZ``.
_DATE_UNITS = frozenset({"Y", "M", "W", "D"})


def num(x: Any, digits: int | None = None) -> float | None:
    """``x`` as a float, or None where it is None, NaN or infinite (a missing value);
    rounded to ``digits`` decimals when given."""
    if x is None:
        return None
    value = float(x)
    if not math.isfinite(value):
        return None
    return value if digits is None else round(value, digits)


def json_key(name: str) -> Mapping[str, Any]:
    """Field metadata giving the field the JSON key ``name``."""
    return {JSON_KEY: name}


class Columns:
    """Mixin of a dataclass of equal-length arrays, one entry per item (a table by
    columns). Its JSON is :meth:`rows`: one object per entry, keyed by the array fields in
    field order (other fields, such as scalars echoed beside the table, are left out)."""

    def rows(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per entry (missing values None, months ``YYYY-MM``)."""
        assert dataclasses.is_dataclass(self)
        columns = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), np.ndarray)
        }
        n = len(next(iter(columns.values()))) if columns else 0
        return [{k: to_jsonable(v[i]) for k, v in columns.items()} for i in range(n)]


class Jsonable:
    """Mixin of a result dataclass: :meth:`to_dict` is its :func:`to_jsonable`."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (missing values None)."""
        out: dict[str, Any] = to_jsonable(self)
        return out


def _datetime_text(x: np.datetime64) -> str | None:
    if np.isnat(x):
        return None
    unit = np.datetime_data(x.dtype)[0]
    if unit in _DATE_UNITS:
        return str(x)
    return str(x.astype("datetime64[s]")) + "Z"


def to_jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON values, recursively.

    Dataclasses become dicts in field order (see the module docstring for renamed and
    omitted fields, and :class:`Columns`); dicts stay dicts (keys as text), lists, tuples
    and arrays become lists; NumPy scalars become Python ones; a float that is NaN or
    infinite becomes None; ``datetime64`` becomes ISO 8601 text (None for NaT); a path its
    text. Anything else is returned as it is.
    """
    if isinstance(obj, np.datetime64):
        return _datetime_text(obj)
    if isinstance(obj, np.generic):
        obj = obj.item()  # NumPy bool, integer, float, str: the Python value
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return num(obj)
    if isinstance(obj, Columns):
        return obj.rows()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {}
        for f in dataclasses.fields(obj):
            key = f.metadata.get(JSON_KEY, f.name)
            if key is not None:
                out[key] = to_jsonable(getattr(obj, f.name))
        return out
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def to_json(obj: Any) -> str:
    """:func:`to_jsonable` of ``obj`` as JSON text, indented by two spaces (what ``--json``
    prints); never ``NaN`` or ``Infinity``."""
    return json.dumps(to_jsonable(obj), indent=2, allow_nan=False)


def csv_text(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """CSV text: ``header``, then one line per row; lines end with ``\\n``, None is an empty
    cell, any other value its ``str``. The one CSV writer (:func:`write_csv`, and
    :func:`minerwatch.tables.to_csv`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_text(text: str, path: str | Path) -> Path:
    """Save ``text`` (UTF-8) at ``path``; :class:`InputError` naming the file when it cannot
    be written. The one file writer of results (:func:`write_csv`,
    :func:`minerwatch.tables.write_table`)."""
    path = Path(path)
    try:
        path.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(f"cannot write the file: {reason}", path=str(path)) from None
    return path


def write_csv(rows: Iterable[Any], path: str | Path) -> Path:
    """Save ``rows`` (dataclasses or dicts, all with the same keys) as CSV at ``path``.

    The header is the first row's keys (:func:`to_jsonable` of it); a missing value is an
    empty cell; lines end with ``\\n``; no rows give an empty file. Raises
    :class:`InputError` naming the file when it cannot be written.
    """
    table: list[dict[str, Any]] = [to_jsonable(r) for r in rows]
    header = list(table[0]) if table else []
    text = csv_text(header, ([r.get(k) for k in header] for r in table)) if table else ""
    return write_text(text, path)
