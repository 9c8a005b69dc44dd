"""Bitcoin consensus arithmetic, exact: compact bits, targets, difficulty, subsidy, epochs.

Pure functions, no I/O. 256-bit values (targets, work) are Python ints, so every result is
exact; floats appear only where Bitcoin Core itself uses a ``double`` (difficulty).

Units: heights are block heights (genesis = 0); times and timespans are unix seconds; amounts
are integer satoshis (``_sat``); difficulty is dimensionless (expected hashes per block =
difficulty * 2**32).

References
----------
Bitcoin Core (mainnet consensus parameters in ``src/kernel/chainparams.cpp``):

- ``src/arith_uint256.cpp``: ``arith_uint256::SetCompact`` / ``GetCompact``.
- ``src/pow.cpp``: ``CalculateNextWorkRequired``.
- ``src/rpc/blockchain.cpp``: ``GetDifficulty``.
- ``src/validation.cpp``: ``GetBlockSubsidy``.
- ``src/chain.cpp``: ``GetBlockProof``.
"""

from __future__ import annotations

import math
import operator
from fractions import Fraction
from typing import overload

import numpy as np

from minerwatch.errors import InputError

__all__ = [
    "DIFFICULTY_1_TARGET",
    "HALVING_INTERVAL",
    "HASHES_PER_DIFFICULTY",
    "INITIAL_SUBSIDY_SAT",
    "MAX_TIMESPAN_S",
    "MIN_TIMESPAN_S",
    "POW_LIMIT",
    "POW_LIMIT_BITS",
    "RETARGET_INTERVAL",
    "TARGET_SPACING_S",
    "TARGET_TIMESPAN_S",
    "bits_to_difficulty",
    "bits_to_difficulty_array",
    "bits_to_target",
    "block_work",
    "clamped_timespan",
    "difficulty_to_bits",
    "difficulty_to_target",
    "epoch_of",
    "epoch_start_height",
    "halving_height",
    "is_retarget_height",
    "next_bits",
    "next_difficulty",
    "next_halving_height",
    "retarget_timespan",
    "subsidy_sat",
    "subsidy_sat_array",
    "supply_sat",
    "supply_sat_array",
    "target_to_bits",
    "target_to_difficulty",
]

# --- constants (mainnet) -------------------------------------------------------------------

#: UTC day of the genesis block (2009-01-03 18:15:05 UTC).
GENESIS_DAY = np.datetime64("2009-01-03", "D")

#: Compact encoding of the mainnet proof-of-work limit (the genesis block's ``nBits``).
POW_LIMIT_BITS = 0x1D00FFFF
#: Target of ``POW_LIMIT_BITS``: 0xffff * 2**208. Core's ``powLimit`` is 2**224 - 1; capping at
#: either gives the same compact bits, because GetCompact truncates 2**224 - 1 to 0x1d00ffff.
POW_LIMIT = 0xFFFF << 208
#: The target of difficulty 1 (the "difficulty 1 target" of GetDifficulty, 0xffff * 2**208).
DIFFICULTY_1_TARGET = POW_LIMIT
#: Blocks per difficulty epoch (``DifficultyAdjustmentInterval()``).
RETARGET_INTERVAL = 2016
#: ``nPowTargetTimespan``: two weeks, in seconds.
TARGET_TIMESPAN_S = 1_209_600
#: ``nPowTargetSpacing``: ten minutes, in seconds.
TARGET_SPACING_S = 600
#: Lower clamp of the retarget timespan, seconds (TARGET_TIMESPAN_S / 4 = 302,400).
MIN_TIMESPAN_S = TARGET_TIMESPAN_S // 4
#: Upper clamp of the retarget timespan, seconds (TARGET_TIMESPAN_S * 4 = 4,838,400).
MAX_TIMESPAN_S = TARGET_TIMESPAN_S * 4
#: ``nSubsidyHalvingInterval``: blocks per halving era.
HALVING_INTERVAL = 210_000
#: Subsidy of era 0: 50 BTC in satoshis.
INITIAL_SUBSIDY_SAT = 5_000_000_000
#: Expected hashes per block at difficulty 1 (hashes = difficulty * 2**32, a close
#: approximation of DIFFICULTY_1_TARGET's exact 2**256 / (target + 1)).
HASHES_PER_DIFFICULTY = 2**32

_MAX_HALVINGS = 64  # GetBlockSubsidy: "Force block reward to zero when right shift is undefined."
_SIGN_BIT = 0x00800000
_MANTISSA_MASK = 0x007FFFFF
_DIFF_MANTISSA_MASK = 0x00FFFFFF  # GetDifficulty masks with 0x00ffffff (sign bit included)
_UINT32_MAX = 0xFFFFFFFF
_ROUND_TRIP_SEARCH = 4  # neighbouring compact mantissas tried by difficulty_to_bits


# --- helpers -------------------------------------------------------------------------------


def _as_int(value: object, name: str) -> int:
    """Return ``value`` as a Python int (ints and numpy integers), else raise InputError."""
    if isinstance(value, bool):
        raise InputError(f"{name} must be an integer, got {value!r}")
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise InputError(f"{name} must be an integer, got {value!r}") from None


def _as_height(height: object, name: str = "height") -> int:
    h = _as_int(height, name)
    if h < 0:
        raise InputError(f"{name} must be >= 0, got {h}")
    return h


def _as_int_array(values: object, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise InputError(f"{name} must be an integer array, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _as_height_array(heights: object, name: str = "heights") -> np.ndarray:
    arr = _as_int_array(heights, name)
    if arr.size and arr.min() < 0:
        raise InputError(f"{name} must all be >= 0, got minimum {int(arr.min())}")
    return arr


def _check_bits(bits: object) -> int:
    """Validate compact bits as Core's SetCompact would (negative / overflow); return int."""
    b = _as_int(bits, "bits")
    if not 0 <= b <= _UINT32_MAX:
        raise InputError(f"compact bits must be a 32-bit unsigned value, got {b:#x}")
    size = b >> 24
    word = b & _MANTISSA_MASK
    if word != 0 and b & _SIGN_BIT:
        raise InputError(f"compact bits 0x{b:08x} encode a negative target (sign bit 0x00800000)")
    if word != 0 and (size > 34 or (word > 0xFF and size > 33) or (word > 0xFFFF and size > 32)):
        raise InputError(f"compact bits 0x{b:08x} overflow 256 bits")
    return b


def _check_difficulty(difficulty: object) -> float:
    try:
        d = float(difficulty)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"difficulty must be a number, got {difficulty!r}") from None
    if not math.isfinite(d) or d <= 0.0:
        raise InputError(f"difficulty must be finite and > 0, got {difficulty!r}")
    return d


# --- compact bits <-> target ---------------------------------------------------------------


def bits_to_target(bits: int) -> int:
    """Decode compact ``nBits`` to the 256-bit target, as ``arith_uint256::SetCompact``.

    Formula: ``size = bits >> 24``, ``word = bits & 0x007fffff``;
    target = ``word >> 8 * (3 - size)`` if size <= 3 else ``word << 8 * (size - 3)``.

    Parameters
    ----------
    bits : int
        Compact target (``nBits`` of a block header), 32-bit unsigned.

    Returns
    -------
    int
        The target (a block is valid when its hash, as a 256-bit integer, is <= target).

    Raises
    ------
    InputError
        If the compact value is negative (sign bit 0x00800000 set with a non-zero mantissa) or
        overflows 256 bits, the two cases Core's ``pfNegative`` / ``pfOverflow`` flag and
        consensus rejects; the message names the bits in hex.

    References
    ----------
    Bitcoin Core ``src/arith_uint256.cpp``, ``arith_uint256::SetCompact``.
    """
    b = _check_bits(bits)
    size = b >> 24
    word = b & _MANTISSA_MASK
    if size <= 3:
        return word >> (8 * (3 - size))
    return word << (8 * (size - 3))


def target_to_bits(target: int) -> int:
    """Encode a target as compact ``nBits``, as ``arith_uint256::GetCompact``.

    Formula: ``size = ceil(bit_length / 8)`` bytes; the mantissa is the top three bytes
    (truncated, not rounded). If the mantissa has 0x00800000 set it would read as a sign, so
    it is shifted right one byte and ``size`` grows by one. bits = ``size << 24 | mantissa``.

    Parameters
    ----------
    target : int
        Target, 0 <= target < 2**256.

    Returns
    -------
    int
        Compact bits (sign bit never set).

    References
    ----------
    Bitcoin Core ``src/arith_uint256.cpp``, ``arith_uint256::GetCompact`` (fNegative=false).
    """
    t = _as_int(target, "target")
    if not 0 <= t < 2**256:
        raise InputError(f"target must be in [0, 2**256), got {t:#x}")
    size = (t.bit_length() + 7) // 8
    compact = t << (8 * (3 - size)) if size <= 3 else t >> (8 * (size - 3))
    if compact & _SIGN_BIT:
        compact >>= 8
        size += 1
    return compact | (size << 24)


# --- difficulty ----------------------------------------------------------------------------


def bits_to_difficulty(bits: int) -> float:
    """Difficulty of compact ``bits`` exactly as Bitcoin Core's ``GetDifficulty`` computes it.

    Formula (IEEE double, in this order): ``d = 65535.0 / (bits & 0x00ffffff)``, then
    ``d *= 256.0`` while ``shift < 29`` and ``d /= 256.0`` while ``shift > 29``, shift
    starting at ``bits >> 24``. Mathematically d = DIFFICULTY_1_TARGET / target; the float
    result is bit-for-bit what ``getblockheader`` / ``getdifficulty`` print.

    Parameters
    ----------
    bits : int
        Compact target.

    Returns
    -------
    float
        Difficulty, dimensionless (1.0 at ``POW_LIMIT_BITS``).

    Raises
    ------
    InputError
        Negative or overflowing bits (see :func:`bits_to_target`), or a zero mantissa.

    References
    ----------
    Bitcoin Core ``src/rpc/blockchain.cpp``, ``GetDifficulty``.
    """
    b = _check_bits(bits)
    mantissa = b & _DIFF_MANTISSA_MASK
    if mantissa == 0:
        raise InputError(f"compact bits 0x{b:08x} encode a zero target: difficulty undefined")
    shift = (b >> 24) & 0xFF
    diff = 65535.0 / float(mantissa)
    while shift < 29:
        diff *= 256.0
        shift += 1
    while shift > 29:
        diff /= 256.0
        shift -= 1
    return diff


def bits_to_difficulty_array(bits: np.ndarray) -> np.ndarray:
    """Vectorised :func:`bits_to_difficulty`: Core's GetDifficulty over an array of bits.

    Formula: ``ldexp(65535.0 / mantissa, 8 * (29 - shift))``. Scaling by a power of two is
    exact for every valid (non-overflowing, shift <= 34) compact value, so this equals
    Core's multiply/divide-by-256 loop bit for bit.

    Parameters
    ----------
    bits : ndarray of int
        Compact targets.

    Returns
    -------
    ndarray of float64
        Difficulties, dimensionless, same shape as ``bits``.

    Raises
    ------
    InputError
        If any value is negative, overflowing, out of uint32 range or has a zero mantissa;
        the message names the first offending bits in hex.

    References
    ----------
    Bitcoin Core ``src/rpc/blockchain.cpp``, ``GetDifficulty``.
    """
    b = _as_int_array(bits, "bits")
    size = b >> 24
    word = b & _MANTISSA_MASK
    bad = (
        (b < 0)
        | (b > _UINT32_MAX)
        | ((word != 0) & ((b & _SIGN_BIT) != 0))
        | (
            (word != 0)
            & ((size > 34) | ((word > 0xFF) & (size > 33)) | ((word > 0xFFFF) & (size > 32)))
        )
        | ((b & _DIFF_MANTISSA_MASK) == 0)
    )
    if bad.any():
        bits_to_difficulty(int(b[bad].flat[0]))  # raises with the scalar's message
    mantissa = (b & _DIFF_MANTISSA_MASK).astype(np.float64)
    return np.ldexp(65535.0 / mantissa, (8 * (29 - size)).astype(np.int32))


def target_to_difficulty(target: int) -> float:
    """Difficulty of a target: ``DIFFICULTY_1_TARGET / target``, correctly rounded to a float.

    For any target that compact bits with size > 3 can encode, this equals
    :func:`bits_to_difficulty` of those bits exactly (both are the correctly rounded value
    of the same rational, scaled by a power of two).

    Parameters
    ----------
    target : int
        Target, > 0.

    Returns
    -------
    float
        Difficulty, dimensionless.

    References
    ----------
    Bitcoin Core ``src/rpc/blockchain.cpp``, ``GetDifficulty`` (the same quotient).
    """
    t = _as_int(target, "target")
    if t <= 0:
        raise InputError(f"target must be > 0, got {t}")
    return DIFFICULTY_1_TARGET / t


def difficulty_to_target(difficulty: float) -> int:
    """Target of a difficulty, exactly: ``floor(DIFFICULTY_1_TARGET / D)``.

    D is taken as the exact binary value of the float (a ``Fraction``), so no rounding
    happens before the final floor.

    Parameters
    ----------
    difficulty : float
        Difficulty, finite and > 0.

    Returns
    -------
    int
        Target (not yet rounded to compact precision; see :func:`difficulty_to_bits`).

    References
    ----------
    Inverse of Bitcoin Core's ``GetDifficulty`` (``src/rpc/blockchain.cpp``).
    """
    d = _check_difficulty(difficulty)
    frac = Fraction(d)
    return (DIFFICULTY_1_TARGET * frac.denominator) // frac.numerator


def difficulty_to_bits(
    difficulty: float, *, decimals: int | None = None, rel_tol: float = 1e-12
) -> int:
    """The compact bits whose Core difficulty is ``difficulty``.

    Compact bits hold a 16-to-23-bit mantissa, so only a discrete set of difficulties
    exists. ``floor(DIFFICULTY_1_TARGET / D)`` re-encoded (truncating) can land one mantissa
    step below the block's real bits, because D itself is rounded; so the neighbouring
    mantissas (+-4) of that first guess are tried and the one whose
    :func:`bits_to_difficulty` equals D exactly is returned. Failing that:

    - if ``decimals`` is given, the nearest candidate whose Core difficulty rounds to D at
      that many decimals (for figures rounded for display, e.g. old checkpoints at 6
      decimals);
    - otherwise the nearest candidate, if within ``rel_tol`` of D.

    Parameters
    ----------
    difficulty : float
        Difficulty, finite and > 0.
    decimals : int, optional
        ``difficulty`` is a Core difficulty rounded to this many decimal places.
    rel_tol : float, default 1e-12
        Relative tolerance for a difficulty that was printed with fewer than 17 significant
        digits.

    Returns
    -------
    int
        Compact bits. ``bits_to_difficulty(difficulty_to_bits(d)) == d`` for every exact Core
        difficulty d.

    Raises
    ------
    InputError
        If no compact value matches: not a real difficulty.

    References
    ----------
    Bitcoin Core ``src/rpc/blockchain.cpp`` ``GetDifficulty`` and ``src/arith_uint256.cpp``
    ``GetCompact``, inverted.
    """
    d = _check_difficulty(difficulty)
    first = target_to_bits(difficulty_to_target(d))
    size = first >> 24
    mantissa = first & _MANTISSA_MASK
    candidates: list[tuple[float, int]] = []
    for step in range(-_ROUND_TRIP_SEARCH, _ROUND_TRIP_SEARCH + 1):
        m = mantissa + step
        if m <= 0:
            continue
        target = m << (8 * (size - 3)) if size > 3 else m >> (8 * (3 - size))
        if not 0 < target < 2**256:
            continue
        bits = target_to_bits(target)
        try:
            core = bits_to_difficulty(bits)
        except InputError:
            continue
        if core == d:
            return bits
        candidates.append((core, bits))
    nearest = min(candidates, key=lambda c: abs(c[0] - d), default=None)
    if decimals is not None:
        rounded = [c for c in candidates if round(c[0], decimals) == d]
        if rounded:
            return min(rounded, key=lambda c: abs(c[0] - d))[1]
    elif nearest is not None and abs(nearest[0] - d) <= rel_tol * d:
        return nearest[1]
    if decimals is not None:
        wanted = f"rounds to it at {decimals} decimals"
    else:
        wanted = f"is within relative {rel_tol:g} of it"
    near = f"; nearest 0x{nearest[1]:08x} = {nearest[0]!r}" if nearest is not None else ""
    raise InputError(
        f"difficulty {d!r} is not a Core difficulty: no compact bits' difficulty {wanted}{near}"
    )


def block_work(bits: int) -> int:
    """Expected number of hashes to find a block at ``bits``: ``2**256 // (target + 1)``.

    Summed over a chain this is Core's ``chainwork``. Close to difficulty * 2**32
    (difficulty 1 gives 0x100010001 = 4,295,032,833).

    Parameters
    ----------
    bits : int
        Compact target of the block's header (``nBits``).

    Returns
    -------
    int
        Work, in hashes.

    References
    ----------
    Bitcoin Core ``src/chain.cpp``, ``GetBlockProof``.
    """
    target = bits_to_target(bits)
    if target == 0:
        raise InputError(f"compact bits 0x{_as_int(bits, 'bits'):08x} encode a zero target")
    return 2**256 // (target + 1)


# --- retarget ------------------------------------------------------------------------------


def retarget_timespan(first_block_time: int, last_block_time: int) -> int:
    """Raw timespan of an epoch: ``last_block_time - first_block_time`` (seconds).

    ``first_block_time`` is the header time of the epoch's first block (height h - 2016),
    ``last_block_time`` that of its last block (h - 1): 2015 intervals, not 2016 (the
    off-by-one of the original client). May be negative: header times are not monotonic.

    References
    ----------
    Bitcoin Core ``src/pow.cpp``, ``CalculateNextWorkRequired`` (``nActualTimespan``).
    """
    return _as_int(last_block_time, "last_block_time") - _as_int(
        first_block_time, "first_block_time"
    )


@overload
def clamped_timespan(timespan: int) -> int: ...
@overload
def clamped_timespan(timespan: np.ndarray) -> np.ndarray: ...
def clamped_timespan(timespan: int | np.ndarray) -> int | np.ndarray:
    """Clamp a retarget timespan to [TARGET_TIMESPAN_S // 4, TARGET_TIMESPAN_S * 4].

    That is [302,400 s, 4,838,400 s], so one retarget changes difficulty by at most a
    factor of 4 either way. Accepts an int or an integer ndarray.

    References
    ----------
    Bitcoin Core ``src/pow.cpp``, ``CalculateNextWorkRequired``.
    """
    if isinstance(timespan, np.ndarray):
        clipped = np.clip(_as_int_array(timespan, "timespan"), MIN_TIMESPAN_S, MAX_TIMESPAN_S)
        return np.asarray(clipped, np.int64)
    t = _as_int(timespan, "timespan")
    return min(max(t, MIN_TIMESPAN_S), MAX_TIMESPAN_S)


def next_bits(
    prev_bits: int, first_block_time: int, last_block_time: int, pow_limit: int = POW_LIMIT
) -> int:
    """Compact bits of the next epoch: Core's ``CalculateNextWorkRequired``.

    Formula: ``target' = min(target(prev_bits) * clamp(last - first) // 1,209,600,
    pow_limit)``, re-encoded with GetCompact (which truncates the mantissa). Integer
    arithmetic throughout; for mainnet values the product stays below 2**247, so Core's
    256-bit arithmetic does not wrap either.

    Parameters
    ----------
    prev_bits : int
        Bits of the ending epoch (those of its last block, height h - 1).
    first_block_time : int
        Header time of the epoch's first block (height h - 2016), unix seconds.
    last_block_time : int
        Header time of the epoch's last block (height h - 1), unix seconds.
    pow_limit : int, default POW_LIMIT
        Largest allowed target.

    Returns
    -------
    int
        Compact bits for blocks h .. h + 2015.

    References
    ----------
    Bitcoin Core ``src/pow.cpp``, ``CalculateNextWorkRequired``.
    """
    limit = _as_int(pow_limit, "pow_limit")
    if limit <= 0:
        raise InputError(f"pow_limit must be > 0, got {limit}")
    timespan = clamped_timespan(retarget_timespan(first_block_time, last_block_time))
    target = bits_to_target(prev_bits) * timespan // TARGET_TIMESPAN_S
    return target_to_bits(min(target, limit))


def next_difficulty(
    prev_difficulty: float,
    first_block_time: int,
    last_block_time: int,
    *,
    decimals: int | None = None,
) -> float:
    """Difficulty of the next epoch, through compact bits (so exactly what Core would give).

    ``bits_to_difficulty(next_bits(difficulty_to_bits(prev_difficulty), first, last))``.

    Parameters
    ----------
    prev_difficulty : float
        Core difficulty of the ending epoch (``decimals`` as in :func:`difficulty_to_bits`).
    first_block_time, last_block_time : int
        Header times of the ending epoch's first and last blocks, unix seconds.

    Returns
    -------
    float
        The next epoch's difficulty, dimensionless.

    References
    ----------
    Bitcoin Core ``src/pow.cpp`` ``CalculateNextWorkRequired`` and
    ``src/rpc/blockchain.cpp`` ``GetDifficulty``.
    """
    bits = difficulty_to_bits(prev_difficulty, decimals=decimals)
    return bits_to_difficulty(next_bits(bits, first_block_time, last_block_time))


# --- epochs --------------------------------------------------------------------------------


@overload
def epoch_of(height: int) -> int: ...
@overload
def epoch_of(height: np.ndarray) -> np.ndarray: ...
def epoch_of(height: int | np.ndarray) -> int | np.ndarray:
    """Difficulty epoch of a height: ``height // 2016`` (epoch 0 starts at genesis).

    Accepts an int or an integer ndarray (returns int64). Heights must be >= 0.

    References
    ----------
    Bitcoin Core ``src/pow.cpp`` (``DifficultyAdjustmentInterval()``).
    """
    if isinstance(height, np.ndarray):
        return _as_height_array(height) // RETARGET_INTERVAL
    return _as_height(height) // RETARGET_INTERVAL


def epoch_start_height(epoch: int) -> int:
    """First height of difficulty epoch ``epoch``: ``epoch * 2016``."""
    return _as_height(epoch, "epoch") * RETARGET_INTERVAL


@overload
def is_retarget_height(height: int) -> bool: ...
@overload
def is_retarget_height(height: np.ndarray) -> np.ndarray: ...
def is_retarget_height(height: int | np.ndarray) -> bool | np.ndarray:
    """Whether the block at ``height`` carries newly computed bits.

    True when ``height % 2016 == 0`` and ``height > 0`` (genesis has no predecessor; Core
    retargets when ``(pindexLast->nHeight + 1) % 2016 == 0``). Accepts an int or ndarray.

    References
    ----------
    Bitcoin Core ``src/pow.cpp``, ``GetNextWorkRequired``.
    """
    if isinstance(height, np.ndarray):
        heights = _as_height_array(height)
        return np.asarray((heights % RETARGET_INTERVAL == 0) & (heights > 0), bool)
    h = _as_height(height)
    return h > 0 and h % RETARGET_INTERVAL == 0


# --- subsidy and supply --------------------------------------------------------------------


def halving_height(n: int) -> int:
    """Height of the n-th halving: ``n * 210,000`` (the first block paying the new subsidy)."""
    return _as_height(n, "n") * HALVING_INTERVAL


def next_halving_height(height: int) -> int:
    """First halving height strictly after ``height``: ``(height // 210,000 + 1) * 210,000``."""
    return (_as_height(height) // HALVING_INTERVAL + 1) * HALVING_INTERVAL


def subsidy_sat(height: int) -> int:
    """Block subsidy at ``height`` in satoshis, as Core's ``GetBlockSubsidy``.

    Formula: ``halvings = height // 210,000``; 0 if ``halvings >= 64`` else
    ``5,000,000,000 >> halvings`` (integer shift, so 12.5 BTC stays exact and the subsidy
    reaches 0 at 33 halvings, height 6,930,000).

    Parameters
    ----------
    height : int
        Block height, >= 0.

    Returns
    -------
    int
        Subsidy, satoshis (the most a coinbase may claim besides fees).

    References
    ----------
    Bitcoin Core ``src/validation.cpp``, ``GetBlockSubsidy``.
    """
    halvings = _as_height(height) // HALVING_INTERVAL
    if halvings >= _MAX_HALVINGS:
        return 0
    return INITIAL_SUBSIDY_SAT >> halvings


def subsidy_sat_array(heights: np.ndarray) -> np.ndarray:
    """Vectorised :func:`subsidy_sat`: int64 satoshis for an array of heights (all >= 0).

    References
    ----------
    Bitcoin Core ``src/validation.cpp``, ``GetBlockSubsidy``.
    """
    h = _as_height_array(heights)
    subsidy: np.ndarray = _ERA_SUBSIDY[np.minimum(h // HALVING_INTERVAL, _MAX_HALVINGS)]
    return subsidy


def _era_tables() -> tuple[np.ndarray, np.ndarray]:
    """Subsidy of each era 0..64 and the issuance of all eras before it (genesis included)."""
    subsidy = np.array(
        [INITIAL_SUBSIDY_SAT >> e if e < _MAX_HALVINGS else 0 for e in range(_MAX_HALVINGS + 1)],
        dtype=np.int64,
    )
    before = np.concatenate([[0], np.cumsum(subsidy[:-1] * HALVING_INTERVAL)]).astype(np.int64)
    return subsidy, before


_ERA_SUBSIDY, _ERA_ISSUED_BEFORE = _era_tables()


def supply_sat(height: int, include_genesis: bool = False) -> int:
    """Scheduled supply after block ``height``: sum of subsidies of blocks 1..height, satoshis.

    Closed form by era: with ``E = min(height // 210,000, 64)``,
    ``sum_{e<E} 210,000 * s_e + (height - 210,000 E + 1) * s_E`` counts blocks 0..height;
    the genesis subsidy (50 BTC) is then removed unless ``include_genesis``: its coinbase is
    not in the UTXO set (unspendable), and Coin Metrics' ``SplyCur`` excludes it. The limit
    with genesis is 2,099,999,997,690,000 sat (20,999,999.9769 BTC).

    This is the schedule, an upper bound on coins in existence: coinbases that claimed less
    than allowed, and the two duplicated coinbases of blocks 91,842 and 91,880 (BIP 30),
    are not subtracted.

    Parameters
    ----------
    height : int
        Block height, >= 0.
    include_genesis : bool, default False
        Count the genesis block's 50 BTC.

    Returns
    -------
    int
        Supply, satoshis.

    References
    ----------
    Bitcoin Core ``src/validation.cpp``, ``GetBlockSubsidy``; Coin Metrics ``SplyCur``.
    """
    h = _as_height(height)
    era = min(h // HALVING_INTERVAL, _MAX_HALVINGS)
    total = int(_ERA_ISSUED_BEFORE[era])
    if era < _MAX_HALVINGS:
        total += (h - era * HALVING_INTERVAL + 1) * int(_ERA_SUBSIDY[era])
    return total if include_genesis else total - INITIAL_SUBSIDY_SAT


def supply_sat_array(heights: np.ndarray, include_genesis: bool = False) -> np.ndarray:
    """Vectorised :func:`supply_sat` (int64 satoshis; the total fits easily in int64).

    References
    ----------
    Bitcoin Core ``src/validation.cpp``, ``GetBlockSubsidy``.
    """
    h = _as_height_array(heights)
    era = np.minimum(h // HALVING_INTERVAL, _MAX_HALVINGS)
    in_era = np.where(era < _MAX_HALVINGS, h - era * HALVING_INTERVAL + 1, 0)
    total = _ERA_ISSUED_BEFORE[era] + in_era * _ERA_SUBSIDY[era]
    if not include_genesis:
        total = total - INITIAL_SUBSIDY_SAT
    return np.asarray(total, np.int64)
