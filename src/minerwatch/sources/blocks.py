"""Per-block CSV files: ``height,time[,bits|difficulty][,fees_sat][,subsidy_sat][,pool]``
``[,tx_count][,coinbase_tag][,payout_scripts]``.

One row per block. ``time`` is the header time, unix seconds or ISO-8601 UTC
(``2025-09-18T14:47:28Z``); ``bits`` the compact target (8 hex digits as Bitcoin Core's
``getblockheader`` prints them, ``0x``-prefixed hex, or a decimal integer as Esplora prints
them); ``difficulty`` as Core prints it. Either, both (they must agree) or neither may be
given; when neither is, :func:`apply_epochs` fills them from the epochs table.
``fees_sat`` and ``subsidy_sat`` are what the coinbase claimed, integer satoshis; ``pool``
a name. ``tx_count`` counts the block's transactions, the coinbase included;
``coinbase_tag`` is the coinbase's scriptSig and ``payout_scripts`` its outputs'
scriptPubKeys, as hex (the scripts separated by spaces), what ``minerwatch export blocks``
writes for blocks a live source gave. Empty cells are unknown values.

Validation names file, line and column: heights consecutive (a missing height is an error
naming it) and unique (identical duplicate rows collapse, differing ones are an error),
times from the genesis block to two hours from now (Bitcoin Core rejects headers more than
two hours ahead, ``MAX_FUTURE_BLOCK_TIME``), bits a canonical compact target no easier than
the proof-of-work limit, difficulty a real compact-bits difficulty, one bits value per
difficulty epoch, fees >= 0 and 0 <= subsidy <= the scheduled subsidy of the height, 1 to
:data:`MAX_TX_COUNT` transactions, a scriptSig of 2 to 100 bytes (consensus
``bad-cb-length``) and scripts of 1 to 10,000 bytes (``MAX_SCRIPT_SIZE``), in hex.
"""

from __future__ import annotations

import re
import time as _time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from minerwatch.chain.consensus import (
    POW_LIMIT,
    RETARGET_INTERVAL,
    bits_to_difficulty_array,
    bits_to_target,
    difficulty_to_bits,
    subsidy_sat_array,
    target_to_bits,
)
from minerwatch.errors import InputError
from minerwatch.sources.files import GENESIS_TIME, MAX_HEIGHT
from minerwatch.sources.rules import MAX_FUTURE_S, refuse
from minerwatch.sources.table import (
    Table,
    parse_float,
    parse_int,
    read_csv,
    reject_conflicting_duplicates,
)
from minerwatch.units import MAX_MONEY_BTC, SAT_PER_BTC

#: The columns of what a live source knows of a block beyond its header and economics.
DETAIL_COLUMNS = ("tx_count", "coinbase_tag", "payout_scripts")
OPTIONAL_COLUMNS = ["bits", "difficulty", "fees_sat", "subsidy_sat", "pool", *DETAIL_COLUMNS]
#: Most transactions a block can hold: 4,000,000 weight units (``MAX_BLOCK_WEIGHT``) over
#: the 240 of the smallest transaction (60 bytes: one input, one output, no script).
MAX_TX_COUNT = 4_000_000 // 240
#: Bytes of a coinbase scriptSig (consensus ``bad-cb-length``: 2 to 100).
COINBASE_SCRIPT_BYTES = (2, 100)
#: Bytes of a payout scriptPubKey as stored (1 to ``MAX_SCRIPT_SIZE``).
PAYOUT_SCRIPT_BYTES = (1, 10_000)
_HEX_DIGITS = b"0123456789abcdefABCDEF"
BITS_FORMS = (
    "compact bits: 8 hex digits (17034219, as Bitcoin Core prints), 0x-prefixed hex "
    "(0x17034219) or a decimal integer (386089497)"
)
TIME_FORMS = "unix seconds or an ISO-8601 UTC time like 2025-09-18T14:47:28Z"
_UTC_SUFFIXES = ("Z", "+00:00", "+0000")
_ISO_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


@dataclass(frozen=True)
class Blocks:
    """Per-block rows, ascending and consecutive by height.

    Arrays: ``height`` (int64), ``time`` (int64 unix seconds), ``bits`` (int64 compact
    target, -1 unknown), ``difficulty`` (float64, the exact Core difficulty of ``bits``, NaN
    unknown), ``fees_sat`` and ``subsidy_sat`` (int64, -1 unknown), ``pool`` (object, None
    unknown), ``tx_count`` (int64, -1 unknown), ``coinbase_tag`` and ``payout_scripts``
    (object, lowercase hex, the scripts separated by spaces; None unknown; the three are
    None when the file lacks them all); ``lines`` the 1-based line of each row in
    ``origin``. ``bits_column`` names the column the bits came from ("bits",
    "difficulty", or "" when the file has neither).
    """

    height: np.ndarray
    time: np.ndarray
    bits: np.ndarray
    difficulty: np.ndarray
    fees_sat: np.ndarray
    subsidy_sat: np.ndarray
    pool: np.ndarray
    lines: np.ndarray
    origin: str
    bits_column: str = ""
    notes: tuple[str, ...] = ()
    tx_count: np.ndarray | None = None
    coinbase_tag: np.ndarray | None = None
    payout_scripts: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.height)

    def details(self) -> dict[str, np.ndarray]:
        """``tx_count``, ``coinbase_tag`` and ``payout_scripts``, unknown (-1, None) where
        the file has none of them."""
        n = len(self)
        return {
            "tx_count": _unknown(n, -1, np.int64) if self.tx_count is None else self.tx_count,
            "coinbase_tag": (
                _unknown(n, None, object) if self.coinbase_tag is None else self.coinbase_tag
            ),
            "payout_scripts": (
                _unknown(n, None, object) if self.payout_scripts is None else self.payout_scripts
            ),
        }

    def error(self, row: int, column: str | None, message: str) -> InputError:
        return InputError(message, path=self.origin, line=int(self.lines[row]), column=column)


def _iso_body(text: str) -> str:
    """An ISO time without its UTC suffix, ``T`` between date and time."""
    for suffix in _UTC_SUFFIXES:
        if text.endswith(suffix):
            text = text[: -len(suffix)]
            break
    return text.replace(" ", "T", 1)


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def parse_block_time(table: Table, column: str, *, earliest: int, latest: int) -> np.ndarray:
    """Header times as int64 unix seconds, each in ``[earliest, latest]``.

    A cell is unix seconds (digits only) or ISO-8601 UTC ``YYYY-MM-DDTHH:MM:SS`` (or a space
    for ``T``), optionally ending in ``Z`` or ``+00:00``; whole seconds only.
    """
    raw = table.raw(column)
    fast = raw.digits_int64() if raw is not None and raw.lengths().max() <= 12 else None
    if fast is not None:
        _check_time_bounds(table, column, fast, earliest, latest)
        return fast
    cells = np.char.strip(table.columns[column].astype(str))
    empty = np.char.str_len(cells) == 0
    if empty.any():
        raise table.error(_first(empty), column, f"empty cell; expected {TIME_FORMS}")
    digits = np.char.isdigit(cells)
    out = np.zeros(len(cells), np.int64)
    # Beyond 12 digits is past the year 33,000: out of range, and beyond int64 at 19.
    huge = digits & (np.char.str_len(cells) > 12)
    if huge.any():
        i = _first(huge)
        raise table.error(i, column, f"{str(cells[i])!r} is out of range; expected {TIME_FORMS}")
    try:
        out[digits] = cells[digits].astype(np.int64)
    except ValueError:  # digits beyond ASCII ("²"): isdigit, yet no number
        i = next(int(k) for k in np.flatnonzero(digits) if not str(cells[k]).isascii())
        raise table.error(i, column, f"{str(cells[i])!r} is not {TIME_FORMS}") from None
    iso = ~digits
    if iso.any():
        rows = np.flatnonzero(iso)
        text = [_iso_body(t) for t in cells[iso].tolist()]
        shaped = np.array([_ISO_SHAPE.fullmatch(t) is not None for t in text], bool)
        if not shaped.all():
            i = int(rows[_first(~shaped)])
            raise table.error(i, column, f"{str(cells[i])!r} is not {TIME_FORMS}")
        try:
            parsed = np.array(text, dtype=str).astype("datetime64[s]")
        except ValueError:
            for j, t in enumerate(text):
                try:
                    np.datetime64(t, "s")
                except ValueError:
                    i = int(rows[j])
                    raise table.error(i, column, f"{str(cells[i])!r} is not {TIME_FORMS}") from None
            raise
        out[iso] = parsed.astype(np.int64)
    _check_time_bounds(table, column, out, earliest, latest)
    return out


def _check_time_bounds(
    table: Table, column: str, out: np.ndarray, earliest: int, latest: int
) -> None:
    """An error at the first time before ``earliest`` or after ``latest``."""
    if (out < earliest).any():
        i = _first(out < earliest)
        cells = table.columns[column]
        raise table.error(
            i,
            column,
            f"{str(cells[i])!r} is out of range; expected a time on or after the genesis block "
            f"({earliest}, 2009-01-03 18:15:05 UTC)",
        )
    if (out > latest).any():
        i = _first(out > latest)
        cells = table.columns[column]
        raise table.error(
            i,
            column,
            f"{str(cells[i])!r} is out of range; expected a time at most 2 hours from now "
            f"({latest}; Bitcoin Core rejects headers further ahead)",
        )


def _bits_value(text: str) -> int:
    """One bits cell as an int (ValueError when it is no form of compact bits)."""
    if "_" in text or not text:
        raise ValueError(text)
    if text[:2].lower() == "0x":
        return int(text[2:], 16)
    if len(text) == 8:
        return int(text, 16)
    if text.isdigit():
        return int(text)
    raise ValueError(text)


def _check_compact(bits: int) -> str | None:
    """Why ``bits`` cannot be a mainnet block's nBits, or None when it can."""
    try:
        target = bits_to_target(bits)
    except InputError as exc:
        return exc.reason
    if target == 0:
        return f"compact bits 0x{bits:08x} encode a zero target"
    if target > POW_LIMIT:
        return f"compact bits 0x{bits:08x} are easier than the proof-of-work limit 0x1d00ffff"
    canonical = target_to_bits(target)
    if canonical != bits:
        return (
            f"compact bits 0x{bits:08x} are not in canonical form (Bitcoin Core writes this "
            f"target as 0x{canonical:08x})"
        )
    return None


def parse_bits(table: Table, column: str) -> np.ndarray:
    """Compact bits as int64 (-1 for empty cells), each a canonical mainnet target.

    ``0x``-prefixed cells and cells of exactly 8 characters are hex (an 8-digit decimal
    would be a target below 2**40, never a mainnet block); other digit strings decimal.
    Parsed once per distinct cell (a file holds one bits value per epoch).
    """
    unique, inverse = _distinct_cells(table, column)
    values = np.full(len(unique), -1, np.int64)
    for j, text in enumerate(unique.tolist()):  # one per distinct cell, not per row
        if not text:
            continue
        try:
            value = _bits_value(text)
        except ValueError:
            i = _first(inverse == j)
            raise table.error(i, column, f"{text!r} is not {BITS_FORMS}") from None
        why = _check_compact(value)
        if why is not None:
            raise table.error(_first(inverse == j), column, why)
        values[j] = value
    return values[inverse]


def _distinct_cells(table: Table, column: str) -> tuple[np.ndarray, np.ndarray]:
    """The distinct stripped cells of a column and each row's index into them. A column
    of a plain file is compared as bytes run by run (one bits value per epoch: a few
    hundred runs in a million rows), so only each run's first cell becomes text."""
    raw = table.raw(column)
    if raw is None or len(raw) == 0:
        cells = np.char.strip(table.columns[column].astype(str))
        return np.unique(cells, return_inverse=True)
    m = raw.matrix()
    new_run = np.ones(len(raw), bool)
    if m.shape[1]:
        # Each cell's bytes as 8-byte words (zero-padded): one comparison per word, not byte.
        pad = -m.shape[1] % 8
        words = np.ascontiguousarray(np.pad(m, ((0, 0), (0, pad))) if pad else m)
        words = words.view(np.uint64)
        new_run[1:] = (words[1:] != words[:-1]).any(axis=1)
    firsts = np.flatnonzero(new_run)
    unique, of_run = np.unique(raw.take(firsts).text(), return_inverse=True)
    return unique, np.repeat(of_run, np.diff(firsts, append=len(raw)))


def difficulty_bits(table: Table, column: str) -> np.ndarray:
    """The compact bits of each difficulty cell (-1 for empty cells); an error where a cell
    is not the Core difficulty of any compact bits (``chain.difficulty_to_bits``)."""
    values = parse_float(table, column, allow_empty=True, minimum=1.0, expected="a difficulty >= 1")
    out = np.full(len(values), -1, np.int64)
    known = np.isfinite(values)
    unique, inverse = np.unique(values[known], return_inverse=True)
    rows_known = np.flatnonzero(known)
    bits = np.empty(len(unique), np.int64)
    for j, d in enumerate(unique.tolist()):  # one per distinct difficulty
        try:
            bits[j] = difficulty_to_bits(d)
        except InputError as exc:
            raise table.error(int(rows_known[_first(inverse == j)]), column, exc.reason) from None
    out[rows_known] = bits[inverse]
    return out


def _unknown(rows: int, value: object, dtype: type) -> np.ndarray:
    """``rows`` unknown values (-1, None) of a column the file lacks: a read-only view of
    one value, which takes no memory."""
    return np.broadcast_to(np.array(value, dtype), (rows,))


def _hex_cells(
    table: Table, column: str, lengths: tuple[int, int], what: str, *, spaced: bool = False
) -> np.ndarray:
    """A column of hex text as lowercase str, None where empty (all None when the file
    lacks it). Each cell, or with ``spaced`` each space-separated script of it, is an even
    number of hex digits making ``lengths`` bytes, at least and at most."""
    if not table.has(column):
        return _unknown(len(table), None, object)
    cells = np.char.strip(table.columns[column].astype(str))
    text = cells.tolist()
    joined = "".join(text)
    allowed = _HEX_DIGITS + (b" " if spaced else b"")
    lo, hi = lengths

    def pieces_of(cell: str) -> list[str]:
        return cell.split(" ") if spaced else [cell]

    pieces = [piece for cell in text if cell for piece in pieces_of(cell)]
    size = np.array(list(map(len, pieces)), np.int64)
    if (
        not joined.isascii()
        or joined.encode().translate(None, allowed)
        or (size % 2).any()
        or ((size < 2 * lo) | (size > 2 * hi)).any()
    ):
        for i, cell in enumerate(text):  # the error path: find the first bad cell
            for piece in pieces_of(cell) if cell else []:
                ok = piece.isascii() and not piece.encode().translate(None, _HEX_DIGITS)
                if not ok or len(piece) % 2 or not lo <= len(piece) // 2 <= hi:
                    raise table.error(i, column, f"{piece[:80]!r} is not {what}")
        raise AssertionError("a bad cell was not found")  # pragma: no cover
    out = np.char.lower(cells).astype(object)
    out[np.char.str_len(cells) == 0] = None
    return out


def _optional_sat(table: Table, column: str, expected: str) -> np.ndarray:
    if not table.has(column):
        return _unknown(len(table), -1, np.int64)
    values, empty = parse_int(
        table,
        column,
        allow_empty=True,
        minimum=0,
        maximum=MAX_MONEY_BTC * SAT_PER_BTC,
        expected=expected,
    )
    return np.where(empty, -1, values)


def read_blocks_csv(path: str | Path, *, now: int | None = None) -> Blocks:
    """Read and validate a blocks CSV (see the module docstring for the columns and checks).

    ``now`` (unix seconds, default the clock) bounds header times at ``now`` + 2 hours.
    Difficulty is stored as the exact Core difficulty of the bits.
    """
    table = read_csv(path, ["height", "time"], optional=OPTIONAL_COLUMNS)
    now = int(_time.time()) if now is None else int(now)
    height, _ = parse_int(table, "height", minimum=0, maximum=MAX_HEIGHT, expected="a block height")
    block_time = parse_block_time(table, "time", earliest=GENESIS_TIME, latest=now + MAX_FUTURE_S)
    bits = parse_bits(table, "bits") if table.has("bits") else _unknown(len(table), -1, np.int64)
    bits_column = "bits" if table.has("bits") else ""
    if table.has("difficulty"):
        from_difficulty = difficulty_bits(table, "difficulty")
        both = (bits >= 0) & (from_difficulty >= 0)
        refuse(
            table,
            both & (bits != from_difficulty),
            "difficulty",
            lambda i: (
                f"difficulty {table.columns['difficulty'][i]} is that of bits "
                f"0x{from_difficulty[i]:08x}, not of the row's bits 0x{bits[i]:08x} "
                f"(difficulty {bits_to_difficulty_array(bits[i : i + 1])[0]!r}); expected "
                "bits and difficulty of the same block"
            ),
        )
        bits = np.where(bits >= 0, bits, from_difficulty)
        bits_column = bits_column or "difficulty"
    fees = _optional_sat(table, "fees_sat", "fees in satoshis")
    subsidy = _optional_sat(table, "subsidy_sat", "a subsidy in satoshis")
    if table.has("subsidy_sat"):
        allowed = subsidy_sat_array(height)
        refuse(
            table,
            subsidy > allowed,
            "subsidy_sat",
            lambda i: (
                f"{subsidy[i]:,} sat is more than the subsidy of height {height[i]} "
                f"({allowed[i]:,} sat); expected at most that"
            ),
        )
    tx_count = _unknown(len(table), -1, np.int64)
    if table.has("tx_count"):
        counted, none = parse_int(
            table,
            "tx_count",
            allow_empty=True,
            minimum=1,
            maximum=MAX_TX_COUNT,
            expected=f"a transaction count, 1 to {MAX_TX_COUNT:,} (the coinbase included)",
        )
        tx_count = np.where(none, -1, counted)
    coinbase_tag = _hex_cells(
        table, "coinbase_tag", COINBASE_SCRIPT_BYTES,
        "a coinbase scriptSig: 2 to 100 bytes as hex",
    )  # fmt: skip
    payout_scripts = _hex_cells(
        table, "payout_scripts", PAYOUT_SCRIPT_BYTES,
        "payout scripts: scriptPubKeys of 1 to 10,000 bytes as hex, separated by spaces",
        spaced=True,
    )  # fmt: skip
    if table.has("pool"):
        names = table.columns["pool"].astype(str)
        none = np.array(None, dtype=object)
        pool = np.where(np.char.str_len(names) == 0, none, names.astype(object))
    else:
        pool = _unknown(len(table), None, object)
    keep: slice | np.ndarray
    if len(height) and (np.diff(height) > 0).all():
        keep = slice(None)  # ascending and unique: no duplicates to compare (and no copies)
    else:
        # Duplicates compare parsed values, so 0x17034219 and 17034219 are the same bits.
        parsed = Table(
            table.origin,
            {
                "height": height.astype(str).astype(object),
                "time": block_time.astype(str).astype(object),
                "bits": bits.astype(str).astype(object),
                "fees_sat": fees.astype(str).astype(object),
                "subsidy_sat": subsidy.astype(str).astype(object),
                "pool": pool.astype(str).astype(object),
                "tx_count": tx_count.astype(str).astype(object),
                "coinbase_tag": coinbase_tag.astype(str).astype(object),
                "payout_scripts": payout_scripts.astype(str).astype(object),
            },
            table.lines,
            table.notes,
        )
        keep = reject_conflicting_duplicates(
            parsed,
            height,
            "height",
            ["time", "bits", "fees_sat", "subsidy_sat", "pool", *DETAIL_COLUMNS],
        )
    height, lines = height[keep], table.lines[keep]
    blocks = Blocks(
        height=height,
        time=block_time[keep],
        bits=bits[keep],
        difficulty=_difficulty(bits[keep]),
        fees_sat=fees[keep],
        subsidy_sat=subsidy[keep],
        pool=pool[keep],
        lines=lines,
        origin=table.origin,
        bits_column=bits_column,
        notes=tuple(table.notes),
        **(
            {
                "tx_count": tx_count[keep],
                "coinbase_tag": coinbase_tag[keep],
                "payout_scripts": payout_scripts[keep],
            }
            if any(table.has(c) for c in DETAIL_COLUMNS)
            else {}
        ),
    )
    steps = np.diff(height)
    if (steps != 1).any():
        i = _first(steps != 1)
        lo, hi = int(height[i]) + 1, int(height[i + 1]) - 1
        missing = f"height {lo} is" if lo == hi else f"heights {lo} to {hi} are"
        raise blocks.error(
            i + 1,
            "height",
            f"{missing} missing (after height {height[i]} on line {lines[i]}); expected "
            "consecutive heights",
        )
    _check_one_bits_per_epoch(blocks)
    return blocks


def _difficulty(bits: np.ndarray) -> np.ndarray:
    """Exact Core difficulty of known bits, NaN where bits are unknown (-1)."""
    if len(bits) == 0:
        return np.zeros(0)
    # Bits change once an epoch: convert the first block of each run, then spread.
    firsts = np.flatnonzero(np.concatenate([[True], bits[1:] != bits[:-1]]))
    run_bits = bits[firsts]
    run_difficulty = np.full(len(run_bits), np.nan)
    known = run_bits >= 0
    if known.any():
        run_difficulty[known] = bits_to_difficulty_array(run_bits[known])
    return np.repeat(run_difficulty, np.diff(firsts, append=len(bits)))


def _check_one_bits_per_epoch(blocks: Blocks) -> None:
    """Every block of a difficulty epoch carries the same bits (mainnet has no
    min-difficulty blocks): an error at the first block whose bits differ."""
    known = blocks.bits >= 0
    every = bool(known.all())
    rows = np.arange(len(known)) if every else np.flatnonzero(known)
    bits = blocks.bits if every else blocks.bits[rows]
    # Only where the bits change (once an epoch) is the epoch compared.
    change = np.flatnonzero(bits[1:] != bits[:-1])
    epoch = blocks.height[rows[np.concatenate([change, change + 1])]] // RETARGET_INTERVAL
    differ = change[epoch[: len(change)] == epoch[len(change) :]]
    if len(differ):
        k = int(differ[0])
        i, prev = int(rows[k + 1]), int(rows[k])
        raise blocks.error(
            i,
            blocks.bits_column,
            f"block {blocks.height[i]} has bits 0x{bits[k + 1]:08x}, block "
            f"{blocks.height[prev]} (line {blocks.lines[prev]}) of the same difficulty epoch "
            f"0x{bits[k]:08x}; expected one bits value per epoch",
        )


def check_heights_join(
    heights: np.ndarray, held: tuple[int, int] | None, origin: str, lines: np.ndarray
) -> None:
    """The blocks held stay one run of consecutive heights: new rows (ascending,
    consecutive) must overlap or adjoin the heights held ``(lowest, highest)``; an
    :class:`InputError` naming ``origin`` and the heights that would be missing otherwise."""
    if held is None or len(heights) == 0:
        return
    lo, hi = held
    if heights[0] > hi + 1:
        raise InputError(
            f"starts at height {heights[0]}, but the blocks held end at {hi}: heights "
            f"{hi + 1} to {heights[0] - 1} would be missing; expected blocks continuing "
            f"from {hi + 1}",
            path=origin,
            line=int(lines[0]),
            column="height",
        )
    if heights[-1] < lo - 1:
        raise InputError(
            f"ends at height {heights[-1]}, but the blocks held start at {lo}: heights "
            f"{heights[-1] + 1} to {lo - 1} would be missing; expected blocks reaching "
            f"{lo - 1}",
            path=origin,
            line=int(lines[-1]),
            column="height",
        )


def apply_epochs(
    blocks: Blocks,
    epoch_start_height: np.ndarray,
    epoch_bits: np.ndarray,
    epoch_start_time: np.ndarray | None = None,
) -> Blocks:
    """Check block bits against the epochs table and fill the unknown ones from it.

    Each block's epoch starts at ``height - height % 2016``. Where the file gives bits (or
    difficulty) and the table holds the epoch, they must be equal (an error naming the
    height, line and both values). Where the file gives none, the epoch's bits and exact
    difficulty are filled in; blocks of epochs the table lacks stay unknown, with a note.
    A first block of an epoch whose time differs from the table's ``start_time`` gets a
    note (the table or the file is wrong).
    """
    start = np.asarray(epoch_start_height, np.int64)
    epoch_at = blocks.height - blocks.height % RETARGET_INTERVAL
    table_bits = np.full(len(blocks), -1, np.int64)
    covered = np.zeros(len(blocks), bool)
    pos = np.zeros(len(blocks), np.int64)
    if len(start):
        pos = np.clip(np.searchsorted(start, epoch_at), 0, len(start) - 1)
        covered = start[pos] == epoch_at
        table_bits = np.where(covered, np.asarray(epoch_bits, np.int64)[pos], -1)
    given = blocks.bits >= 0
    mismatch = given & covered & (blocks.bits != table_bits)
    if mismatch.any():
        i = _first(mismatch)
        got, want = _difficulty(blocks.bits[i : i + 1])[0], _difficulty(table_bits[i : i + 1])[0]
        raise blocks.error(
            i,
            blocks.bits_column,
            f"block {blocks.height[i]} has bits 0x{blocks.bits[i]:08x} (difficulty {got!r}), "
            f"but the epochs table holds 0x{table_bits[i]:08x} (difficulty {want!r}) for "
            f"the epoch starting at height {epoch_at[i]}; expected the same bits",
        )
    notes = list(blocks.notes)
    fill = ~given & covered
    bits = np.where(fill, table_bits, blocks.bits)
    if fill.any():
        notes.append(
            f"bits and difficulty of {int(fill.sum()):,} block(s) filled from the epochs table"
        )
    unknown = bits < 0
    if unknown.any():
        h = blocks.height[unknown]
        notes.append(
            f"{int(unknown.sum()):,} block(s) between heights {h[0]} and {h[-1]} lie in "
            "epochs the epochs table does not hold: their difficulty is left unknown "
            "(`minerwatch import epochs`, then import this file again to fill it)"
        )
    if epoch_start_time is not None and len(start):
        known_time = np.asarray(epoch_start_time, np.int64)[pos]
        first_of_epoch = covered & (blocks.height == epoch_at) & (known_time >= 0)
        off = first_of_epoch & (blocks.time != known_time)
        for i in np.flatnonzero(off)[:3]:
            notes.append(
                f"block {blocks.height[i]} (line {blocks.lines[i]}) has time {blocks.time[i]}, "
                f"the epochs table's start_time is {known_time[i]}: one of them is wrong"
            )
    difficulty = _difficulty(bits) if fill.any() else blocks.difficulty
    return replace(blocks, bits=bits, difficulty=difficulty, notes=tuple(notes))
