"""80-byte Bitcoin block headers, vectorised: parse, hash, serialize, and check them.

A header is ``nVersion`` (int32), ``hashPrevBlock`` (32 bytes), ``hashMerkleRoot`` (32 bytes),
``nTime``, ``nBits``, ``nNonce`` (uint32 each), all little-endian: 80 bytes, concatenated
without separators in REST ``/rest/headers/<hash>.bin`` and in the P2P ``headers`` message.
The block hash is the double SHA-256 of those 80 bytes; hashes are stored and compared in
that *internal* byte order (``(n, 32)`` uint8 arrays, "digests" here) and shown in *display*
order, byte-reversed, as 64 lowercase hex characters (what ``getblockhash`` prints).

Checks (each returns the index of the first failing header, or -1):

- linkage: every ``hashPrevBlock`` is the hash of the header before it (the first one that
  of a given parent);
- proof of work: the hash read as a 256-bit little-endian integer is <= the target of the
  header's own bits (``CheckProofOfWork``); compared as big-endian byte strings,
  lexicographically, for all headers at once;
- canonical bits: the compact value is what ``GetCompact`` gives for its own target, the
  target is positive, not negative, no overflow (a consensus-valid chain has only such
  bits; ``DeriveTarget`` rejects the rest).

Chainwork accumulates ``GetBlockProof`` (``2**256 // (target + 1)``, :func:`block_work`)
and is printed as Core prints ``chainwork``: 64 hex digits, zero-padded.

References
----------
Bitcoin Core ``src/primitives/block.h`` (``CBlockHeader``), ``src/pow.cpp``
(``CheckProofOfWork``), ``src/chain.cpp`` (``GetBlockProof``, ``GetMedianTimePast``).
"""

from __future__ import annotations

import hashlib
import itertools

import numpy as np

from minerwatch.chain.consensus import bits_to_target, block_work, target_to_bits
from minerwatch.errors import InputError

HEADER_SIZE = 80
#: One header as stored on the wire (little-endian integers, hashes in internal order).
HEADER_DTYPE = np.dtype(
    [
        ("version", "<i4"),
        ("prev", "u1", (32,)),
        ("merkle", "u1", (32,)),
        ("time", "<u4"),
        ("bits", "<u4"),
        ("nonce", "<u4"),
    ]
)
assert HEADER_DTYPE.itemsize == HEADER_SIZE
#: Blocks in a median-time-past window (``nMedianTimeSpan``).
MEDIAN_TIME_SPAN = 11


def parse_headers(data: bytes) -> np.ndarray:
    """Concatenated 80-byte headers as a structured array of :data:`HEADER_DTYPE` (a copy,
    writable). Raises InputError when the length is not a multiple of 80."""
    if len(data) % HEADER_SIZE:
        raise InputError(
            f"{len(data):,} bytes of headers is not a multiple of {HEADER_SIZE} "
            f"({len(data) // HEADER_SIZE:,} whole headers and {len(data) % HEADER_SIZE} "
            "bytes left over)"
        )
    return np.frombuffer(data, HEADER_DTYPE).copy()


def header_digests(headers: np.ndarray | bytes) -> np.ndarray:
    """Double SHA-256 of each header, ``(n, 32)`` uint8 in internal byte order."""
    raw = headers if isinstance(headers, bytes | bytearray) else np.ascontiguousarray(headers)
    view = memoryview(raw).cast("B")  # type: ignore[arg-type]
    n = len(view) // HEADER_SIZE
    sha = hashlib.sha256
    out = b"".join(
        sha(sha(view[i : i + HEADER_SIZE]).digest()).digest()
        for i in range(0, n * HEADER_SIZE, HEADER_SIZE)
    )
    return np.frombuffer(out, np.uint8).reshape(n, 32).copy()


def digests_to_hex(digests: np.ndarray) -> np.ndarray:
    """Digests ``(n, 32)`` in internal order as display hex (object array of str)."""
    d = np.ascontiguousarray(np.asarray(digests, np.uint8).reshape(-1, 32)[:, ::-1])
    text = d.tobytes().hex()
    return np.array([text[i : i + 64] for i in range(0, len(text), 64)], dtype=object)


def hex_to_digests(hashes: object) -> np.ndarray:
    """Display-order hex hashes (a sequence of 64-character str) as ``(n, 32)`` uint8
    digests in internal order. Raises InputError naming the first bad one."""
    items = [str(h) for h in np.asarray(hashes, dtype=object).reshape(-1)]
    try:
        raw = bytes.fromhex("".join(items))
    except ValueError:
        raw = b""
    if len(raw) != 32 * len(items):
        for i, h in enumerate(items):
            try:
                if len(bytes.fromhex(h)) != 32:
                    raise ValueError
            except ValueError:
                raise InputError(
                    f"hash {i} {h[:80]!r} is not 64 hex characters (a 32-byte hash)"
                ) from None
    return np.frombuffer(raw, np.uint8).reshape(-1, 32)[:, ::-1].copy()


def block_hashes(headers: np.ndarray | bytes) -> np.ndarray:
    """Display-order hex hash of each header (object array of str)."""
    return digests_to_hex(header_digests(headers))


def serialize_headers(
    version: object,
    prev_hash: object,
    merkle_root: object,
    time: object,
    bits: object,
    nonce: object,
) -> bytes:
    """80-byte headers from their fields, concatenated: ``version`` (signed 32-bit),
    ``prev_hash`` and ``merkle_root`` (display-order hex, or ``(n, 32)`` internal-order
    digests), ``time``, ``bits``, ``nonce`` (unsigned 32-bit). Arrays of equal length (or
    scalars for one header)."""
    version_a = np.atleast_1d(np.asarray(version, np.int64))
    n = len(version_a)
    out = np.zeros(n, HEADER_DTYPE)
    out["version"] = version_a.astype(np.int32)
    for name, value in (("prev", prev_hash), ("merkle", merkle_root)):
        arr = np.asarray(value)
        out[name] = arr.reshape(n, 32) if arr.dtype == np.uint8 else hex_to_digests(arr)
    for name, value in (("time", time), ("bits", bits), ("nonce", nonce)):
        out[name] = np.atleast_1d(np.asarray(value, np.int64)).astype(np.uint32)
    return out.tobytes()


def first_unlinked(prev: np.ndarray, digests: np.ndarray, parent: np.ndarray | None) -> int:
    """Index of the first header whose ``prev`` is not the digest of the header before it
    (header 0 against ``parent``, a 32-byte internal-order digest, when given); -1 when all
    link. ``prev`` and ``digests`` are ``(n, 32)`` uint8."""
    prev = np.asarray(prev, np.uint8).reshape(-1, 32)
    digests = np.asarray(digests, np.uint8).reshape(-1, 32)
    bad = np.zeros(len(prev), bool)
    if len(prev) > 1:
        bad[1:] = (prev[1:] != digests[:-1]).any(axis=1)
    if parent is not None and len(prev):
        bad[0] = bool((prev[0] != np.asarray(parent, np.uint8).reshape(32)).any())
    return int(np.argmax(bad)) if bad.any() else -1


def _target_bytes(bits: np.ndarray) -> np.ndarray:
    """Big-endian 32-byte target of each bits value, ``(n, 32)`` uint8; bits that do not
    decode (negative, overflow) give the zero target, which only a zero hash meets."""
    unique, inverse = np.unique(np.asarray(bits, np.int64), return_inverse=True)
    table = np.zeros((len(unique), 32), np.uint8)
    for i, b in enumerate(unique):  # one per distinct bits value (a few hundred at most)
        try:
            target = bits_to_target(int(b))
        except InputError:
            continue
        table[i] = np.frombuffer(target.to_bytes(32, "big"), np.uint8)
    return table[inverse.reshape(-1)]


def pow_ok(digests: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Whether each header's hash, as a 256-bit number, is <= the target of its own bits
    (``CheckProofOfWork`` without the pow-limit check): bool array.

    The hash number is the digest read little-endian, so its big-endian bytes are the
    display order; it is compared with the big-endian target lexicographically: at the first
    byte where the two differ, the hash byte must be the smaller one."""
    hash_be = np.asarray(digests, np.uint8).reshape(-1, 32)[:, ::-1]
    target_be = _target_bytes(bits)
    differ = hash_be != target_be
    first = differ.argmax(axis=1)
    rows = np.arange(len(hash_be))
    below = hash_be[rows, first] < target_be[rows, first]
    return np.asarray(~differ.any(axis=1) | below, bool)


def first_without_pow(digests: np.ndarray, bits: np.ndarray) -> int:
    """Index of the first header whose hash exceeds its own target; -1 when none does."""
    ok = pow_ok(digests, bits)
    return -1 if ok.all() else int(np.argmin(ok))


def bits_canonical(bits: np.ndarray) -> np.ndarray:
    """Whether each compact value is canonical: it decodes (no sign bit, no overflow) to a
    positive target whose ``GetCompact`` re-encoding is the same value (bool array)."""
    unique, inverse = np.unique(np.asarray(bits, np.int64), return_inverse=True)
    good = np.zeros(len(unique), bool)
    for i, b in enumerate(unique):
        try:
            target = bits_to_target(int(b))
        except InputError:
            continue
        good[i] = target > 0 and target_to_bits(target) == int(b)
    return good[inverse.reshape(-1)]


def block_works(bits: np.ndarray) -> list[int]:
    """``GetBlockProof`` of each header's bits (Python ints; see :func:`block_work`)."""
    unique, inverse = np.unique(np.asarray(bits, np.int64), return_inverse=True)
    table = [block_work(int(b)) for b in unique]
    return [table[i] for i in inverse.reshape(-1)]


def chainwork(bits: np.ndarray, parent_chainwork: int = 0) -> list[int]:
    """Cumulative work up to and including each header: ``parent_chainwork`` plus the
    running sum of :func:`block_works` (Python ints, exact)."""
    return list(itertools.accumulate(block_works(bits), initial=parent_chainwork))[1:]


def chainwork_hex(values: list[int]) -> np.ndarray:
    """Chainwork values as Core prints ``chainwork``: 64 lowercase hex digits, zero-padded
    (object array of str)."""
    return np.array([f"{v:064x}" for v in values], dtype=object)


_LIMBS = 8  # 32-bit limbs of a 256-bit number


def chainwork_hex_array(bits: np.ndarray, parent_chainwork: int = 0) -> np.ndarray:
    """:func:`chainwork` printed by :func:`chainwork_hex`, vectorised: the same strings.

    Each block's work is split into eight 32-bit limbs (little-endian, in int64); the limbs
    are summed down the blocks with ``cumsum`` (a limb sum stays below 2**63 for fewer than
    2**31 blocks), the parent's limbs added, and the carries propagated limb by limb. The
    hex of the big-endian limbs is Core's ``chainwork`` text."""
    unique, inverse = np.unique(np.asarray(bits, np.int64), return_inverse=True)
    n = len(inverse.reshape(-1))
    if n == 0:
        return np.zeros(0, object)
    mask = (1 << 32) - 1

    def limbs(value: int) -> list[int]:
        return [(value >> (32 * k)) & mask for k in range(_LIMBS)]

    table = np.array([limbs(block_work(int(b))) for b in unique], np.int64)
    total = np.cumsum(table[inverse.reshape(-1)], axis=0)
    total += np.array(limbs(int(parent_chainwork)), np.int64)
    for k in range(_LIMBS - 1):
        total[:, k + 1] += total[:, k] >> 32
        total[:, k] &= mask
    total[:, -1] &= mask
    text = np.ascontiguousarray(total[:, ::-1]).astype(">u4").tobytes().hex()
    return np.array([text[i : i + 64] for i in range(0, len(text), 64)], dtype=object)


def parse_chainwork(text: str) -> int:
    """Core's ``chainwork`` hex as an int. Raises InputError when it is not hex."""
    try:
        return int(str(text), 16)
    except ValueError:
        raise InputError(f"chainwork {str(text)[:80]!r} is not hexadecimal") from None


def median_time_past(times: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
    """Median time past of each block: the median of its own time and its 10 predecessors'
    (``GetMedianTimePast``: sorted, the middle element; fewer than 11 near genesis, then
    element ``len // 2``).

    ``times`` are the blocks' header times in height order; ``previous`` the times of up to
    10 blocks just before the first (all of them when fewer exist, as at genesis: pass the
    whole prefix). Returns int64, one per block of ``times``.
    """
    times = np.asarray(times, np.int64)
    before = np.asarray(previous if previous is not None else [], np.int64)[
        -(MEDIAN_TIME_SPAN - 1) :
    ]
    series = np.concatenate([before, times])
    out = np.empty(len(times), np.int64)
    k = len(before)
    # Blocks with a full window of 11: one sort of a (n, 11) sliding view.
    full_from = max(0, MEDIAN_TIME_SPAN - 1 - k)  # first index of times with 10 before it
    if full_from < len(times):
        windows = np.lib.stride_tricks.sliding_window_view(
            series[full_from + k - (MEDIAN_TIME_SPAN - 1) :], MEDIAN_TIME_SPAN
        )
        out[full_from:] = np.sort(windows, axis=1)[:, MEDIAN_TIME_SPAN // 2]
    for i in range(min(full_from, len(times))):  # near genesis only (< 10 blocks)
        window = np.sort(series[: k + i + 1])
        out[i] = window[len(window) // 2]
    return out
