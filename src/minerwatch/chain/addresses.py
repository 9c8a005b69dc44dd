"""Bitcoin addresses as the output scripts (scriptPubKeys) they stand for: pure, exact.

An address is a way of writing an output script; a block's coinbase pays scripts, and a
pool list names addresses, so pools are matched on scripts (:func:`address_script`):

- Base58Check (Satoshi's): a version byte and a 20-byte hash, with the first four bytes of
  the double SHA-256 as checksum. Version 0x00 (mainnet) or 0x6f (testnet, signet,
  regtest) is P2PKH, ``OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG`` =
  ``76a914{hash}88ac``; version 0x05 or 0xc4 is P2SH, ``OP_HASH160 <20> OP_EQUAL`` =
  ``a914{hash}87``.
- Segwit (BIP-173 bech32 for witness version 0, BIP-350 bech32m for versions 1 to 16):
  human-readable part ``bc`` (mainnet), ``tb`` (testnet, signet) or ``bcrt`` (regtest),
  ``1``, then 5-bit groups: the witness version and the witness program (2 to 40 bytes;
  20 or 32 for version 0) and a 6-character checksum. The script is ``OP_n <program>``:
  ``0014{20 bytes}`` (P2WPKH), ``0020{32 bytes}`` (P2WSH), ``5120{32 bytes}`` (P2TR).

The script does not depend on the network, so every network's prefixes are accepted.

References
----------
BIP-13 (P2SH addresses); BIP-173 (bech32, segwit addresses); BIP-350 (bech32m for witness
versions 1+); Bitcoin Core ``src/base58.cpp`` and ``src/key_io.cpp``.
"""

from __future__ import annotations

import hashlib

from minerwatch.errors import InputError

__all__ = ["address_script"]

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {c: i for i, c in enumerate(_BASE58)}
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_INDEX = {c: i for i, c in enumerate(_BECH32)}
_BECH32_CONST = 1  # BIP-173
_BECH32M_CONST = 0x2BC830A3  # BIP-350
_SEGWIT_HRPS = ("bc", "tb", "bcrt")
# Base58Check version byte -> (script prefix, script suffix) around the 20-byte hash.
_BASE58_SCRIPTS = {
    0x00: ("76a914", "88ac"),  # P2PKH, mainnet
    0x6F: ("76a914", "88ac"),  # P2PKH, testnet / signet / regtest
    0x05: ("a914", "87"),  # P2SH, mainnet
    0xC4: ("a914", "87"),  # P2SH, testnet / signet / regtest
}


def _bad(address: str, why: str) -> InputError:
    return InputError(f"address {address!r} is not a Bitcoin address: {why}")


def _base58check(address: str) -> bytes:
    """The payload (version byte and data) of a Base58Check string, checksum verified."""
    value = 0
    for c in address:
        digit = _BASE58_INDEX.get(c)
        if digit is None:
            raise _bad(address, f"{c!r} is not a base58 character")
        value = value * 58 + digit
    body = value.to_bytes((value.bit_length() + 7) // 8, "big")
    raw = b"\0" * (len(address) - len(address.lstrip("1"))) + body  # leading 1s are zeros
    if len(raw) < 5:
        raise _bad(address, "too short for a version byte and a checksum")
    payload, checksum = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != checksum:
        raise _bad(address, "the base58 checksum does not match")
    return payload


def _polymod(values: list[int]) -> int:
    """BIP-173's checksum polynomial over GF(32)."""
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i, g in enumerate(generator):
            if (top >> i) & 1:
                chk ^= g
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _regroup(data: list[int], address: str) -> bytes:
    """5-bit groups as bytes (BIP-173 ``convertbits(data, 5, 8, False)``): at most four
    bits of zero padding left over."""
    acc = bits = 0
    out = bytearray()
    for v in data:
        acc = (acc << 5) | v
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if bits >= 5 or (acc << (8 - bits)) & 0xFF:
        raise _bad(address, "the witness program has invalid padding")
    return bytes(out)


def _segwit_script(address: str) -> str:
    """The output script of a bech32 / bech32m segwit address (BIP-173, BIP-350)."""
    if address.lower() != address and address.upper() != address:
        raise _bad(address, "bech32 mixes upper and lower case")
    text = address.lower()
    sep = text.rfind("1")
    hrp, rest = text[:sep], text[sep + 1 :]
    if hrp not in _SEGWIT_HRPS:
        raise _bad(address, f"unknown prefix {hrp!r}; expected one of {', '.join(_SEGWIT_HRPS)}")
    if len(text) > 90 or len(rest) < 7:
        raise _bad(address, "bech32 length out of range")
    try:
        data = [_BECH32_INDEX[c] for c in rest]
    except KeyError as exc:
        raise _bad(address, f"{exc.args[0]!r} is not a bech32 character") from None
    version = data[0]
    const = _polymod(_hrp_expand(hrp) + data)
    expected = _BECH32_CONST if version == 0 else _BECH32M_CONST
    if const != expected:
        other = "bech32m" if version == 0 else "bech32"
        if const == (_BECH32M_CONST if version == 0 else _BECH32_CONST):
            raise _bad(address, f"witness version {version} written with the {other} checksum")
        raise _bad(address, "the bech32 checksum does not match")
    if version > 16:
        raise _bad(address, f"witness version {version} is above 16")
    program = _regroup(data[1:-6], address)
    if not 2 <= len(program) <= 40 or (version == 0 and len(program) not in (20, 32)):
        raise _bad(address, f"a {len(program)}-byte program for witness version {version}")
    opcode = 0 if version == 0 else 0x50 + version  # OP_0, OP_1 .. OP_16
    return f"{opcode:02x}{len(program):02x}{program.hex()}"


def address_script(address: str) -> str:
    """The output script (scriptPubKey, lowercase hex) that ``address`` pays.

    Parameters
    ----------
    address : str
        A Base58Check P2PKH / P2SH address or a bech32 (witness v0) / bech32m (v1+) segwit
        address of any network.

    Returns
    -------
    str
        The script as hex: ``76a914..88ac``, ``a914..87``, ``0014..``, ``0020..``,
        ``5120..`` (see the module docstring).

    Raises
    ------
    InputError
        Not an address: a bad character, checksum, length, version or padding.

    References
    ----------
    BIP-13, BIP-173, BIP-350.
    """
    text = address.strip()
    if not text:
        raise _bad(address, "empty")
    if "1" in text and text[: text.rfind("1")].lower() in _SEGWIT_HRPS:
        return _segwit_script(text)
    payload = _base58check(text)
    scripts = _BASE58_SCRIPTS.get(payload[0])
    if scripts is None or len(payload) != 21:
        raise _bad(
            address,
            f"version byte 0x{payload[0]:02x} with {len(payload) - 1} data bytes; expected "
            "a P2PKH or P2SH version with a 20-byte hash",
        )
    return f"{scripts[0]}{payload[1:].hex()}{scripts[1]}"


def address_script_or_none(address: str) -> str | None:
    """:func:`address_script`, or None where ``address`` is not an address (a source's
    field read as it comes)."""
    try:
        return address_script(address)
    except InputError:
        return None
