"""Bitcoin addresses to the output scripts (scriptPubKeys) they stand for.

A source that names a coinbase's payees by address (Esplora's ``coinbaseAddresses``) is
turned into the scripts a node reports, so blocks from every source carry the same
``payout_scripts``:

- Base58Check (Bitcoin Core ``base58.cpp``, ``key_io.cpp``): version byte 0x00 (mainnet) or
  0x6f (test networks) is P2PKH, ``OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG``
  (``76a914{hash}88ac``); 0x05 or 0xc4 is P2SH, ``OP_HASH160 <20> OP_EQUAL``
  (``a914{hash}87``). The checksum is the first 4 bytes of the double SHA-256.
- Segwit (BIP 173 bech32 for witness version 0, BIP 350 bech32m for 1 to 16), human-readable
  part ``bc``, ``tb`` or ``bcrt``: ``OP_n <len> <program>`` (``0014{hash}``, ``5120{key}``).

Anything else (a malformed address, a bad checksum, an unknown prefix) is None: the caller
decides whether that is a fault.
"""

from __future__ import annotations

import hashlib

__all__ = ["address_to_script"]

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}
_P2PKH_VERSIONS = (0x00, 0x6F)
_P2SH_VERSIONS = (0x05, 0xC4)
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_INDEX = {c: i for i, c in enumerate(_BECH32)}
_SEGWIT_HRPS = ("bc", "tb", "bcrt")
_BECH32_CONST, _BECH32M_CONST = 1, 0x2BC830A3  # BIP 173, BIP 350


def address_to_script(address: str) -> str | None:
    """The scriptPubKey (lowercase hex) that ``address`` pays, or None when it is not a
    valid Base58Check or segwit address (see the module docstring)."""
    text = address.strip()
    if text.lower().startswith(tuple(h + "1" for h in _SEGWIT_HRPS)):
        return _segwit_script(text)
    return _base58_script(text)


def _base58_script(text: str) -> str | None:
    if not text or any(c not in _B58_INDEX for c in text):
        return None
    number = 0
    for c in text:
        number = number * 58 + _B58_INDEX[c]
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    raw = b"\x00" * (len(text) - len(text.lstrip("1"))) + body
    if len(raw) != 25:
        return None
    payload, checksum = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != checksum:
        return None
    version, hash160 = payload[0], payload[1:].hex()
    if version in _P2PKH_VERSIONS:
        return f"76a914{hash160}88ac"
    if version in _P2SH_VERSIONS:
        return f"a914{hash160}87"
    return None


def _polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            check ^= generator[i] if (top >> i) & 1 else 0
    return check


def _segwit_script(text: str) -> str | None:
    if text != text.lower() and text != text.upper():
        return None  # BIP 173: mixed case is invalid
    text = text.lower()
    hrp, _, data = text.rpartition("1")
    if hrp not in _SEGWIT_HRPS or len(data) < 7 or any(c not in _BECH32_INDEX for c in data):
        return None
    values = [_BECH32_INDEX[c] for c in data]
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    const = _polymod(expanded + values)
    if not values or const not in (_BECH32_CONST, _BECH32M_CONST):
        return None
    version, five_bit = values[0], values[1:-6]
    if version > 16 or (const == _BECH32_CONST) != (version == 0):
        return None
    acc, bits, program = 0, 0, bytearray()
    for value in five_bit:  # 5-bit groups to bytes, no padding beyond 4 zero bits
        acc = (acc << 5) | value
        bits += 5
        if bits >= 8:
            bits -= 8
            program.append((acc >> bits) & 0xFF)
    if bits >= 5 or (acc & ((1 << bits) - 1)):
        return None
    if not 2 <= len(program) <= 40 or (version == 0 and len(program) not in (20, 32)):
        return None
    opcode = 0 if version == 0 else 0x50 + version
    return f"{opcode:02x}{len(program):02x}{program.hex()}"
