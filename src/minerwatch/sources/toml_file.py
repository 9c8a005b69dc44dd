"""TOML input files (fleet and scenario files): read, then take typed values out of them
with errors that name the file, the line and the key, and say what was expected.

:mod:`tomllib` gives no positions for parsed values, so :class:`TomlFile` finds a key's
line itself: it walks the text's table headers (``[site]``, the n-th ``[[lots]]``) and the
``key =`` lines under them. A key it cannot place (an inline table, a dotted key) is
reported at its table's header line.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minerwatch.errors import InputError

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\")\s*=")


def _table_lines(text: str) -> dict[tuple[str | int, ...], tuple[int, dict[str, int]]]:
    """Every table of the text by its path (array tables counted: ``("lots", 2)``), with
    the line of its header (0 for the root) and the line of each of its keys."""
    tables: dict[tuple[str | int, ...], tuple[int, dict[str, int]]] = {(): (0, {})}
    counts: dict[tuple[str, ...], int] = {}
    current: tuple[str | int, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            names = tuple(part.strip().strip('"') for part in header.group(2).split("."))
            if header.group(1) == "[[":
                counts[names] = counts.get(names, 0) + 1
                current = (*names, counts[names] - 1)
            else:
                current = names
            tables.setdefault(current, (number, {}))
            continue
        key = _KEY.match(line)
        if key:
            tables.setdefault(current, (number, {}))[1].setdefault(key.group(1).strip('"'), number)
    return tables


def _path_text(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


@dataclass(frozen=True)
class Section:
    """One table of a :class:`TomlFile`: its values and where it is (``path``)."""

    file: TomlFile
    path: tuple[str | int, ...]
    values: dict[str, Any]
    used: set[str] = field(default_factory=set)

    def error(self, key: str | None, message: str) -> InputError:
        """An :class:`InputError` at ``key`` of this table (its header line for None)."""
        return self.file.error((*self.path, key) if key else self.path, message)

    def has(self, key: str) -> bool:
        return key in self.values

    def _get(self, key: str) -> Any:
        self.used.add(key)
        return self.values[key]

    def number(
        self,
        key: str,
        default: float | None = None,
        *,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
        whole: bool = False,
        unit: str = "",
    ) -> float:
        """The number at ``key`` (``default`` when absent; an error when there is none),
        within ``low``..``high`` (``low_open``: strictly above ``low``)."""
        bounds = []
        if low is not None:
            bounds.append(f"{'>' if low_open else '>='} {low:g}")
        if high is not None:
            bounds.append(f"<= {high:g}")
        kind = "a whole number" if whole else "a number"
        expected = " ".join([kind, *([f"in {unit}"] if unit else []), " and ".join(bounds)])
        if key not in self.values:
            if default is None:
                raise self.error(None, f"missing key {key!r}; expected {expected.strip()}")
            return default
        given = self._get(key)
        ok = isinstance(given, int | float) and not isinstance(given, bool)
        if ok and whole:
            ok = isinstance(given, int)
        if ok:
            value = float(given)
            ok = value == value and abs(value) != float("inf")
            ok = ok and (low is None or (value > low if low_open else value >= low))
            ok = ok and (high is None or value <= high)
        if not ok:  # the value as the file wrote it
            raise self.error(key, f"{key} = {given!r}; expected {expected.strip()}")
        return float(given)

    def text(self, key: str, default: str | None = None, *, choices: tuple[str, ...] = ()) -> str:
        """The string at ``key`` (one of ``choices`` when given)."""
        if key not in self.values:
            if default is None:
                raise self.error(None, f"missing key {key!r}; expected a string")
            return default
        value = self._get(key)
        if not isinstance(value, str) or (choices and value not in choices):
            want = f"one of {', '.join(repr(c) for c in choices)}" if choices else "a string"
            raise self.error(key, f"{key} = {value!r}; expected {want}")
        return value

    def day(self, key: str) -> str | None:
        """The date at ``key`` as ``YYYY-MM-DD`` (a TOML date or such a string), or None."""
        if key not in self.values:
            return None
        value = self._get(key)
        text = value.isoformat() if hasattr(value, "isoformat") else value
        if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise self.error(key, f"{key} = {value!r}; expected a date YYYY-MM-DD")
        import numpy as np

        try:
            np.datetime64(text, "D")
        except ValueError:
            raise self.error(key, f"{key} = {value!r}; expected a date YYYY-MM-DD") from None
        return text

    def table(self, key: str) -> Section | None:
        """The table at ``key`` (None when absent)."""
        if key not in self.values:
            return None
        value = self._get(key)
        if not isinstance(value, dict):
            raise self.error(key, f"{key} = {value!r}; expected a table [{key}]")
        return Section(self.file, (*self.path, key), value)

    def tables(self, key: str) -> list[Section]:
        """The array of tables at ``key`` (``[[key]]``; empty when absent)."""
        if key not in self.values:
            return []
        value = self._get(key)
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(key, f"{key} = {value!r}; expected tables [[{key}]]")
        return [Section(self.file, (*self.path, key, i), v) for i, v in enumerate(value)]

    def pairs(self, key: str) -> list[tuple[float, float]] | None:
        """An array of ``[x, y]`` number pairs at ``key`` (None when absent)."""
        if key not in self.values:
            return None
        value = self._get(key)
        ok = isinstance(value, list) and len(value) > 0
        ok = ok and all(
            isinstance(p, list)
            and len(p) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in p)
            for p in value
        )
        if not ok:
            raise self.error(key, f"{key} = {value!r}; expected an array of [x, y] number pairs")
        return [(float(x), float(y)) for x, y in value]

    def finish(self, known: tuple[str, ...] = ()) -> None:
        """Refuse keys nobody read (a misspelt key must not be silently ignored)."""
        where = f"in [{_path_text(self.path)}]" if self.path else "at the top level"
        for key in self.values:
            if key not in self.used and key not in known:
                raise self.error(key, f"unknown key {key!r} {where}")

    def keys(self) -> Iterator[str]:
        return iter(self.values)


@dataclass(frozen=True)
class TomlFile:
    """A parsed TOML file: ``path`` (as given, for messages), ``text`` and ``root``."""

    path: str
    text: str
    data: dict[str, Any]

    def error(self, where: tuple[str | int | None, ...], message: str) -> InputError:
        """An :class:`InputError` naming the file, the line of ``where`` (a table path,
        optionally ending in a key) and the key."""
        tables = _table_lines(self.text)
        path = tuple(p for p in where if p is not None)
        key: str | None = None
        if path and isinstance(path[-1], str) and path not in tables:
            key, path = path[-1], path[:-1]
        header, keys = tables.get(path, (0, {}))
        line = keys.get(key, header) if key else header
        column = _path_text((*path, key) if key else path) or None
        return InputError(message, path=self.path, line=line or None, key=column)

    @property
    def root(self) -> Section:
        return Section(self, (), self.data)


def parse_toml(text: str, origin: str, what: str) -> TomlFile:
    """Parse TOML ``text`` (``origin`` names it in messages); :class:`InputError` naming
    the line of a syntax error."""
    text = text.removeprefix("\ufeff")  # a byte-order mark is no key
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        raise InputError(
            f"not valid TOML ({exc}); expected a {what}",
            path=origin,
            line=int(found.group(1)) if found else None,
        ) from None
    return TomlFile(origin, text, data)


def read_toml(path: str | Path, what: str) -> TomlFile:
    """Read and parse the TOML file at ``path``. :class:`InputError` naming the file (and
    the line, for a syntax error) when it cannot be read or parsed; ``what`` names the kind
    of file in the message."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the {what}: {exc.strerror or exc}", path=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(
            f"not a UTF-8 text file; expected a {what} in TOML", path=str(path)
        ) from None
    return parse_toml(text, str(path), what)
