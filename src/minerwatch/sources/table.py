"""Column-wise parsing of text tables into NumPy arrays, with errors that point at a cell.

Every parser is vectorised: the happy path converts a whole column at once, and only when a
conversion fails is the column scanned to name the first bad cell (file, line, column, the
value, and the form that was expected).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from minerwatch.errors import InputError
from minerwatch.sources import rawcsv, rules
from minerwatch.units import MAX_MONEY_BTC, SAT_PER_BTC

MIDNIGHT_SUFFIXES = ("T00:00:00Z", "T00:00:00.000Z", "T00:00:00.000000000Z", " 00:00:00")


class Columns(Mapping):
    """Text columns by name, made on first use from byte ranges of a plain file
    (:class:`~minerwatch.sources.rawcsv.RawColumn`) where the reader kept those."""

    def __init__(
        self, text: dict[str, np.ndarray], raw: dict[str, rawcsv.RawColumn] | None = None
    ) -> None:
        self._text = dict(text)
        self._raw = dict(raw or {})
        self._names = [*self._text, *(k for k in self._raw if k not in self._text)]

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._text:
            if name not in self._raw:
                raise KeyError(name)
            self._text[name] = self._raw[name].text()
        return self._text[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __contains__(self, name: object) -> bool:  # without making the column's text
        return name in self._text or name in self._raw

    def __len__(self) -> int:
        return len(self._names)

    def raw(self, name: str) -> rawcsv.RawColumn | None:
        return self._raw.get(name)

    def take(self, index: np.ndarray) -> Columns:
        return Columns(
            {k: v[index] for k, v in self._text.items()},
            {k: v.take(index) for k, v in self._raw.items() if k not in self._text},
        )


@dataclass
class Table:
    """A table of text cells: ``columns[name]`` is an array of ``str`` (object or NumPy
    ``str`` dtype).

    ``lines[i]`` is the 1-based line (or item number, for API pages: ``line_label`` says
    which) of row ``i`` in ``origin``, used in error messages.
    """

    origin: str
    columns: Mapping[str, np.ndarray]
    lines: np.ndarray
    notes: list[str] = field(default_factory=list)
    line_label: str = "line"

    def __len__(self) -> int:
        return len(self.lines)

    def has(self, name: str) -> bool:
        return name in self.columns

    def raw(self, name: str) -> rawcsv.RawColumn | None:
        """The byte ranges of a column read from a plain file, else None."""
        return self.columns.raw(name) if isinstance(self.columns, Columns) else None

    def take(self, mask_or_index: np.ndarray) -> Table:
        index = np.arange(len(self))[mask_or_index]
        columns = (
            self.columns.take(index)
            if isinstance(self.columns, Columns)
            else {k: v[index] for k, v in self.columns.items()}
        )
        return Table(self.origin, columns, self.lines[index], list(self.notes), self.line_label)

    def error(self, row: int, column: str | None, message: str) -> InputError:
        return InputError(
            message,
            path=self.origin,
            line=int(self.lines[row]),
            column=column,
            line_label=self.line_label,
        )


def _empty_mask(cells: np.ndarray) -> np.ndarray:
    return np.char.str_len(cells.astype(str)) == 0 if len(cells) else np.zeros(0, bool)


def _first_unparsable(cells: np.ndarray, convert) -> int:
    for i, cell in enumerate(cells):
        try:
            convert(cell)
        except (ValueError, OverflowError):
            return i
    return -1


def _as_int64(cell: str) -> np.int64:
    return np.int64(int(cell))


def _reject_underscores(table: Table, column: str, cells: np.ndarray, expected: str) -> None:
    """Python reads ``1_40`` as 140; in a data file it is a typo, not a number."""
    bad = np.char.find(cells, "_") >= 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise table.error(i, column, f"{str(cells[i])!r} is not {expected}")


def _reject_non_ascii(table: Table, column: str, cells: np.ndarray, expected: str) -> None:
    """Python reads full-width and other Unicode digits (``"１２３"``) as numbers; a data
    file's numbers are ASCII."""
    try:
        cells.astype("S")
    except UnicodeEncodeError:
        i = next(k for k, c in enumerate(cells.tolist()) if not c.isascii())
        raise table.error(
            i, column, f"{str(cells[i])!r} has characters beyond ASCII; expected {expected}"
        ) from None


def parse_float(
    table: Table,
    column: str,
    *,
    allow_empty: np.ndarray | bool = False,
    minimum: float | None = None,
    exclusive_minimum: bool = False,
    maximum: float | None = None,
    expected: str = "a decimal number",
) -> np.ndarray:
    """Parse a column of decimal numbers to float64; empty cells become NaN where allowed.

    ``allow_empty`` may be a boolean mask saying which rows may be empty; values must lie in
    ``[minimum, maximum]`` (``minimum`` excluded when ``exclusive_minimum``).
    """
    cells = table.columns[column].astype(str)
    _reject_underscores(table, column, cells, expected)
    _reject_non_ascii(table, column, cells, expected)
    empty = _empty_mask(cells)
    allowed = np.broadcast_to(np.asarray(allow_empty, bool), empty.shape)
    bad_empty = np.flatnonzero(empty & ~allowed)
    if bad_empty.size:
        raise table.error(bad_empty[0], column, f"empty cell; expected {expected}")
    filled = np.where(empty, "nan", cells)
    try:
        values = filled.astype(np.float64)
    except ValueError:
        i = _first_unparsable(filled, float)
        raise table.error(i, column, f"{str(cells[i])!r} is not {expected}") from None
    finite = np.isfinite(values) | empty
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        raise table.error(
            i, column, f"{str(cells[i])!r} is not a finite number; expected {expected}"
        )
    if minimum is not None:
        below = (values <= minimum) if exclusive_minimum else (values < minimum)
        below &= ~empty
        if below.any():
            i = int(np.flatnonzero(below)[0])
            bound = f"> {minimum:g}" if exclusive_minimum else f">= {minimum:g}"
            raise table.error(i, column, f"{str(cells[i])!r} is out of range; expected {bound}")
    if maximum is not None:
        above = (values > maximum) & ~empty
        if above.any():
            i = int(np.flatnonzero(above)[0])
            raise table.error(
                i, column, f"{str(cells[i])!r} is out of range; expected at most {maximum:,.15g}"
            )
    return values


def parse_price_usd(table: Table, column: str, *, allow_empty: bool = False) -> np.ndarray:
    """A BTC/USD close in ``[MIN_PRICE_USD, MAX_PRICE_USD]`` (:mod:`.rules`), float64; empty
    cells (where allowed) NaN. The same bound for every importer of prices."""
    return parse_float(
        table,
        column,
        allow_empty=allow_empty,
        minimum=rules.MIN_PRICE_USD,
        maximum=rules.MAX_PRICE_USD,
        expected="a price in USD",
    )


def parse_int(
    table: Table,
    column: str,
    *,
    allow_empty: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
    expected: str = "a whole number",
) -> tuple[np.ndarray, np.ndarray]:
    """Parse a column of integers to int64; returns ``(values, empty_mask)`` (empty -> 0).
    Values must lie in ``[minimum, maximum]``. Cells of a plain file that are all digits
    are converted straight from their bytes (:meth:`RawColumn.digits_int64`)."""
    raw = table.raw(column)
    values = raw.digits_int64() if raw is not None else None
    if values is not None:
        empty = np.zeros(len(values), bool)
        _check_int_range(table, column, values, empty, minimum, maximum, expected)
        return values, empty
    cells = table.columns[column].astype(str)
    _reject_underscores(table, column, cells, expected)
    _reject_non_ascii(table, column, cells, expected)
    empty = _empty_mask(cells)
    if not allow_empty and empty.any():
        raise table.error(int(np.flatnonzero(empty)[0]), column, f"empty cell; expected {expected}")
    filled = np.where(empty, "0", cells)
    try:
        values = filled.astype(np.int64)
    except (ValueError, OverflowError):
        i = _first_unparsable(filled, _as_int64)
        raise table.error(i, column, f"{str(cells[i])!r} is not {expected}") from None
    _check_int_range(table, column, values, empty, minimum, maximum, expected)
    return values, empty


def _check_int_range(table, column, values, empty, minimum, maximum, expected) -> None:
    """An error at the first filled cell outside ``[minimum, maximum]``."""
    if minimum is not None and (values[~empty] < minimum).any():
        i = int(np.flatnonzero((values < minimum) & ~empty)[0])
        cell = str(table.columns[column][i])
        raise table.error(i, column, f"{cell!r} is out of range; expected {expected} >= {minimum}")
    if maximum is not None and (values[~empty] > maximum).any():
        i = int(np.flatnonzero((values > maximum) & ~empty)[0])
        cell = str(table.columns[column][i])
        raise table.error(
            i, column, f"{cell!r} is out of range; expected {expected} <= {maximum:,}"
        )


def parse_btc_as_sat(
    table: Table, column: str, *, allow_empty: np.ndarray | bool = False
) -> np.ndarray:
    """Parse non-negative BTC amounts written in decimal to exact integer satoshis (int64).

    Splits each cell at the decimal point and converts both halves as integers, so
    ``"3.05108551"`` becomes exactly 305,108,551 sat (float parsing can be off by one sat on
    supply-sized amounts). More than 8 decimals are rounded half-up to the satoshi. Empty
    cells (where allowed) become 0.
    """
    # Validates form, emptiness and sign with the float parser, then converts exactly.
    parse_float(
        table,
        column,
        allow_empty=allow_empty,
        minimum=0.0,
        maximum=MAX_MONEY_BTC,
        expected="an amount in BTC",
    )
    cells = np.char.strip(table.columns[column].astype(str))
    empty = _empty_mask(cells)
    parts = np.char.partition(cells, ".")
    whole, frac = parts[..., 0], parts[..., 2]
    exact = ~empty & (np.char.str_len(frac) <= 8) & np.char.isdigit(np.char.add(whole, "0"))
    exact &= np.char.isdigit(np.char.add(frac, "0"))
    sat = np.zeros(len(cells), np.int64)
    if exact.any():
        w = np.where(np.char.str_len(whole[exact]) == 0, "0", whole[exact]).astype(np.int64)
        f = np.char.ljust(frac[exact], 8, "0").astype(np.int64)
        sat[exact] = w * SAT_PER_BTC + f
    rounded = ~empty & ~exact  # scientific notation or more than 8 decimals
    if rounded.any():
        sat[rounded] = np.rint(cells[rounded].astype(np.float64) * SAT_PER_BTC).astype(np.int64)
    return sat


def parse_date(
    table: Table,
    column: str,
    *,
    earliest: np.datetime64 | None = None,
    latest: np.datetime64 | None = None,
    expected: str = "a date YYYY-MM-DD",
) -> np.ndarray:
    """Parse ``YYYY-MM-DD`` (or an ISO timestamp at midnight UTC) to ``datetime64[D]``,
    each in ``[earliest, latest]`` when given."""
    cells = np.char.strip(table.columns[column].astype(str))
    empty = _empty_mask(cells)
    if empty.any():
        raise table.error(int(np.flatnonzero(empty)[0]), column, f"empty cell; expected {expected}")
    day_part = cells.astype("U10")
    midnight = cells == day_part
    for suffix in MIDNIGHT_SUFFIXES:
        midnight |= cells == np.char.add(day_part, suffix)
    bad = ~(midnight & (np.char.str_len(day_part) == 10))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise table.error(i, column, f"{str(cells[i])!r} is not {expected}")
    try:
        days = day_part.astype("datetime64[D]")
    except ValueError:

        def _check(s: str) -> None:
            np.datetime64(s, "D")

        i = _first_unparsable(day_part, _check)
        raise table.error(i, column, f"{str(cells[i])!r} is not {expected}") from None
    for bound, word in ((earliest, "on or after"), (latest, "on or before")):
        if bound is None:
            continue
        outside = days < bound if word == "on or after" else days > bound
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            raise table.error(
                i, column, f"{str(cells[i])!r} is out of range; expected a date {word} {bound}"
            )
    return days


def reject_conflicting_duplicates(
    table: Table, key: np.ndarray, key_column: str, value_columns: list[str]
) -> np.ndarray:
    """Rows to keep after duplicate keys: identical duplicates collapse to one; duplicates
    with different values are an error naming both lines and the first differing column.

    Returns the sorted row index of the kept rows (ascending key).
    """
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    same_as_prev = np.zeros(len(order), bool)
    same_as_prev[1:] = sorted_key[1:] == sorted_key[:-1]
    if same_as_prev.any():
        dup_pos = np.flatnonzero(same_as_prev)
        for col in value_columns:
            cells = table.columns[col]
            differ = cells[order[dup_pos]] != cells[order[dup_pos - 1]]
            if differ.any():
                p = dup_pos[np.flatnonzero(differ)[0]]
                first, second = order[p - 1], order[p]
                raise table.error(
                    second,
                    col,
                    f"duplicate {key_column} {table.columns[key_column][second]!s} with a "
                    f"different value ({str(cells[second])!r}) from line {int(table.lines[first])} "
                    f"({str(cells[first])!r}); expected one row per {key_column}",
                )
        table.notes.append(f"{dup_pos.size} identical duplicate row(s) ignored")
    return order[~same_as_prev]


def _looks_like_text(raw: bytes) -> bool:
    """True when under 1% of the bytes are control characters other than tab, CR and LF
    (a text file in another encoding, rather than binary data)."""
    sample = np.frombuffer(raw[:65536], np.uint8)
    control = (sample < 32) & ~np.isin(sample, [9, 10, 13])
    return bool(control.mean() < 0.01)


def read_csv(path: str | Path, required: Sequence[str], optional: Sequence[str] = ()) -> Table:
    """Read a CSV file with a header line into a :class:`Table` of text cells.

    Checks, each an :class:`InputError` naming the file and line: the file exists and is
    UTF-8 text (binary data is refused), it has a header holding every ``required`` column,
    and every row has as many cells as the header. Columns not named in ``required`` or
    ``optional`` are ignored.

    Partial rows (one rule for every importer): a file whose last line has no line end was
    cut off (an interrupted download or copy can stop mid-number, ``8749`` of
    ``87490.12``), so that last row is dropped with a note; then short rows at the very end
    are dropped with a note; a short row anywhere else is an error.

    A plain file (printable ASCII, no quotes) is split with NumPy over its bytes
    (:mod:`minerwatch.sources.rawcsv`); any other goes through ``csv.reader``. Both give the
    same cells, lines and errors.
    """
    path = Path(path)
    origin = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", path=origin) from None
    except IsADirectoryError:
        raise InputError("is a directory; expected a CSV file", path=origin) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=origin) from None
    expected_header = ",".join(required)
    if not raw or raw.isspace():
        raise InputError(f"empty file; expected a header line {expected_header!r}", path=origin)
    unix = raw.replace(b"\r\n", b"\n") if b"\r" in raw else raw
    plain = None
    if b"\r" not in unix and rawcsv.is_plain(unix):
        header_end = unix.find(b"\n")
        header_end = len(unix) if header_end < 0 else header_end
        header = [h.strip() for h in unix[:header_end].decode("ascii").split(",")]
        plain = rawcsv.split_plain(unix[header_end + 1 :], first_line=2, width=len(header))
    if plain is not None:
        cells, line_numbers = plain.cells, plain.lines
    else:
        header, rows, row_lines = _read_rows(_decode(raw, origin, expected_header), origin)
        cells = np.array([len(r) for r in rows], np.int64)
        line_numbers = np.asarray(row_lines, np.int64)
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(
            f"header lacks column(s) {', '.join(missing)}; expected a header with "
            f"{expected_header} (got {','.join(header)[:200]!r})",
            path=origin,
            line=1,
        )
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise InputError(f"header repeats column(s) {', '.join(dup)}", path=origin, line=1)
    width = len(header)
    notes: list[str] = []
    n = len(cells)
    if n and not raw.endswith((b"\n", b"\r")):
        notes.append(
            f"line {line_numbers[n - 1]}: the last line has no line end, so it may have been "
            "cut off (an interrupted download or copy); that row was dropped (end the file "
            "with a line break to keep it)"
        )
        n -= 1
    while n and cells[n - 1] < width:
        notes.append(
            f"line {line_numbers[n - 1]}: partial trailing row with {cells[n - 1]} of {width} "
            "cells dropped"
        )
        n -= 1
    wrong = np.flatnonzero(cells[:n] != width)
    if wrong.size:
        i = int(wrong[0])
        raise InputError(
            f"{cells[i]} cells; expected {width} as in the header",
            path=origin,
            line=int(line_numbers[i]),
        )
    if n == 0:
        cut = f" ({notes[0]})" if notes else ""
        raise InputError(f"no data rows after the header{cut}", path=origin, line=2)
    wanted = [c for c in [*required, *optional] if c in header]
    if plain is not None:
        raw_columns = {name: plain.column(header.index(name), width, n) for name in wanted}
        return Table(origin, Columns({}, raw_columns), line_numbers[:n], notes)
    grid = np.array(rows[:n], dtype=object)
    columns = {
        name: np.char.strip(grid[:, header.index(name)].astype(str)).astype(object)
        for name in wanted
    }
    return Table(origin, columns, line_numbers[:n], notes)


def _decode(raw: bytes, origin: str, expected_header: str) -> str:
    """The file's text, or an :class:`InputError` for binary data, another encoding than
    UTF-8 or a file of nothing but a byte-order mark and white space."""
    nul = raw.find(b"\x00")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        if nul < 0 and _looks_like_text(raw):
            raise InputError(
                f"not UTF-8 text (byte {exc.start}: 0x{raw[exc.start]:02x}); re-save the file "
                "as UTF-8",
                path=origin,
                line=line,
            ) from None
        raise InputError(
            f"binary data (byte {exc.start} is not UTF-8 text); expected a CSV text file",
            path=origin,
            line=line,
        ) from None
    if not text.strip():
        raise InputError(f"empty file; expected a header line {expected_header!r}", path=origin)
    if nul >= 0:
        line = raw[:nul].count(b"\n") + 1
        raise InputError(
            f"binary data (NUL byte at offset {nul}); expected a CSV text file",
            path=origin,
            line=line,
        )
    return text


def _read_rows(text: str, origin: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, non-empty rows and their line numbers, by ``csv.reader``."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
        rows = []
        line_numbers = []
        for row in reader:
            if row:
                rows.append(row)
                line_numbers.append(reader.line_num)
    except csv.Error as exc:
        raise InputError(f"not valid CSV ({exc})", path=origin, line=reader.line_num) from None
    return header, rows, line_numbers
