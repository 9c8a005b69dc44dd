"""Splitting a plain CSV body into cells with NumPy over its bytes, without Python rows.

A *plain* body is printable ASCII (bytes 32..126) and line feeds only: no quotes, tabs or
other control characters (``\\r\\n`` line ends are turned into ``\\n`` first). For such a
body, Python's ``csv.reader`` splits exactly at every ``,`` and ``\\n`` and skips empty
lines, and so does :func:`split_plain`, in whole-array operations. Anything else (quotes,
non-ASCII text, a lone ``\\r``) goes through ``csv.reader`` instead (:mod:`.table`).

A cell is kept as a :class:`RawColumn` slice ``buf[start:end]`` of the body's bytes; text
(a NumPy ``str`` array) is made only when a parser asks for it, and whole numbers made of
digits only are converted straight from the bytes (:meth:`RawColumn.digits_int64`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_COMMA, _LF, _SPACE, _ZERO = 44, 10, 32, 48
_QUOTE = 34
#: ``csv.reader``'s default field size limit; longer lines go through it for its error.
CSV_FIELD_LIMIT = 131_072
#: Digit strings up to this length fit int64 (10**18 - 1 < 2**63).
_MAX_INT_DIGITS = 18


@dataclass(frozen=True)
class RawColumn:
    """One column's cells as byte ranges ``buf[start[i]:end[i]]`` (spaces at either end
    already excluded)."""

    buf: np.ndarray
    start: np.ndarray
    end: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    def take(self, index: np.ndarray) -> RawColumn:
        return RawColumn(self.buf, self.start[index], self.end[index])

    def lengths(self) -> np.ndarray:
        return self.end - self.start

    def matrix(self) -> np.ndarray:
        """The cells as an ``n x width`` uint8 matrix, left-aligned, padded with zero bytes."""
        length = self.lengths()
        width = int(length.max()) if len(length) else 0
        shortest = int(length.min()) if len(length) else 0
        out = np.zeros((len(length), width), np.uint8)
        for k in range(width):  # one pass per byte position, not per row
            if k < shortest:  # inside every cell
                out[:, k] = self.buf.take(self.start + k)
            else:
                inside = k < length
                out[:, k] = np.where(inside, np.take(self.buf, self.start + k, mode="clip"), 0)
        return out

    def text(self) -> np.ndarray:
        """The cells as a NumPy ``str`` array (ASCII, so byte = character)."""
        m = self.matrix()
        if m.shape[1] == 0:
            return np.full(len(self), "", dtype="U1")
        return np.ascontiguousarray(m).view(f"S{m.shape[1]}").ravel().astype(f"U{m.shape[1]}")

    def digits_int64(self) -> np.ndarray | None:
        """Every cell as int64 when every cell is 1 to 18 ASCII digits, else None.

        One pass per digit position from the right (the units first): the byte at
        ``end - 1 - k`` of every cell at least ``k + 1`` long, minus ``b"0"``, must be 0..9
        (bytes below ``0`` wrap above 9 in uint8) and adds ``digit * 10**k``."""
        length = self.lengths()
        if len(length) == 0:
            return None
        shortest, longest = int(length.min()), int(length.max())
        if shortest < 1 or longest > _MAX_INT_DIGITS:
            return None
        value = np.zeros(len(length), np.int64)
        at = self.end - 1  # the byte of digit k of each cell: at - k (buffers reused)
        digit = np.empty(len(length), np.uint8)
        scaled = np.empty(len(length), np.int64)
        for k in range(longest):
            np.take(self.buf, at, out=digit, mode="clip")
            digit -= np.uint8(_ZERO)
            if k >= shortest:  # cells of k digits or fewer have none here
                digit[length <= k] = 0
            if (digit > 9).any():
                return None
            np.multiply(digit, np.int64(10**k), out=scaled)
            value += scaled
            at -= 1
        return value


@dataclass(frozen=True)
class PlainRows:
    """Data rows of a plain body: ``lines`` (1-based line numbers in the file),
    ``cells`` per row, and per row the byte ranges of its cells (``columns``)."""

    lines: np.ndarray
    cells: np.ndarray
    row_start: np.ndarray
    row_end: np.ndarray
    commas: np.ndarray
    first_comma: np.ndarray | None  # None: see ``grid``
    buf: np.ndarray
    spaces: bool = True  # False: no cell has a space to strip
    #: The commas as a ``rows x (width - 1)`` grid when every row holds ``width`` cells.
    grid: np.ndarray | None = None

    def column(self, j: int, width: int, rows: int) -> RawColumn:
        """Cell ``j`` of the first ``rows`` rows (each of ``width`` cells), spaces stripped."""
        if self.grid is not None:  # views of the grid, no look-up per row
            start = self.row_start[:rows] if j == 0 else self.grid[:rows, j - 1] + 1
            end = self.row_end[:rows] if j == width - 1 else self.grid[:rows, j]
        else:
            assert self.first_comma is not None
            first = self.first_comma[:rows]
            start = self.row_start[:rows] if j == 0 else self.commas[first + j - 1] + 1
            end = self.row_end[:rows] if j == width - 1 else self.commas[first + j]
        if not self.spaces:
            return RawColumn(self.buf, start, end)
        return _strip_spaces(self.buf, start.copy(), end.copy())


#: The bytes of a plain body: printable ASCII but the quote, and the line feed.
_PLAIN_BYTES = bytes([_LF, *(b for b in range(_SPACE, 127) if b != _QUOTE)])


def is_plain(body: bytes) -> bool:
    """True when ``body`` (after ``\r\n`` -> ``\n``) holds only printable ASCII but the
    quote, and ``\n`` (one pass in C: delete the allowed bytes, see if any remain)."""
    return not body.translate(None, _PLAIN_BYTES)


def split_plain(body: bytes, first_line: int, width: int = 0) -> PlainRows | None:
    """Split a plain ``body`` whose first byte is on line ``first_line`` into rows, or
    None when a line is longer than ``csv.reader``'s field limit (let it give its error).

    Empty lines are skipped (as ``csv.reader`` does); a last line without a line feed is a
    row like any other (the caller decides what it means). With ``width`` (the header's
    cells), a body of exactly ``width - 1`` commas per row is recognised by its comma
    count and each row's first and last comma (no search per row).
    """
    buf = np.frombuffer(body, np.uint8)
    ends = np.flatnonzero(buf == _LF)
    if len(buf) and buf[-1] != _LF:
        ends = np.append(ends, len(buf))
    starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64) if len(ends) else ends
    if len(ends) and (ends - starts).max() > CSV_FIELD_LIMIT:
        return None
    lines = np.arange(len(ends), dtype=np.int64) + first_line
    keep = ends > starts
    if not keep.all():
        starts, ends, lines = starts[keep], ends[keep], lines[keep]
    commas = np.flatnonzero(buf == _COMMA)
    spaces = body.find(b" ") >= 0
    rows, per_row = len(starts), width - 1
    if width > 1 and rows and len(commas) == rows * per_row:
        grid = commas.reshape(rows, per_row)
        # Each row's block of commas lies inside it: then every row holds exactly its own.
        if (grid[:, 0] > starts).all() and (grid[:, -1] < ends).all():
            cells = np.full(rows, width, np.int64)
            return PlainRows(lines, cells, starts, ends, commas, None, buf, spaces, grid)
    first_comma = np.searchsorted(commas, starts)
    cells = np.searchsorted(commas, ends) - first_comma + 1
    return PlainRows(lines, cells, starts, ends, commas, first_comma, buf, spaces)


def _strip_spaces(buf: np.ndarray, start: np.ndarray, end: np.ndarray) -> RawColumn:
    """Move ``start``/``end`` past spaces at either end of each cell (``str.strip`` on a
    plain body, whose only whitespace is the space)."""
    if len(buf) == 0:
        return RawColumn(buf, start, end)
    while True:
        lead = (start < end) & (buf[np.minimum(start, len(buf) - 1)] == _SPACE)
        if not lead.any():
            break
        start[lead] += 1
    while True:
        trail = (end > start) & (buf[np.maximum(end - 1, 0)] == _SPACE)
        if not trail.any():
            break
        end[trail] -= 1
    return RawColumn(buf, start, end)
