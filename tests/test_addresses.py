"""Addresses as output scripts: the BIP-173 and BIP-350 test vectors, known mainnet
addresses, and every address of the real pool list."""

from __future__ import annotations

import json

import pytest

from minerwatch.chain.addresses import address_script
from minerwatch.errors import InputError

# BIP-350 "Test vectors for v0-v16 native segregated witness addresses" (valid), with the
# scriptPubKey the BIP gives for each; the first two are BIP-173's as well.
SEGWIT_VALID = {
    "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4": "0014751e76e8199196d454941c45d1b3a323f1433bd6",
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7": (
        "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"
    ),
    "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y": (
        "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6"
    ),
    "BC1SW50QGDZ25J": "6002751e",
    "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs": "5210751e76e8199196d454941c45d1b3a323",
    "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy": (
        "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"
    ),
    "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c": (
        "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"
    ),
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0": (
        "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
    ),
}

# BIP-350 "Test vectors for invalid native segregated witness addresses", each with the
# reason the BIP gives.
SEGWIT_INVALID = [
    "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",  # invalid hrp
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",  # bech32 for v1
    "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",  # bech32 for v2
    "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",  # bech32 for v16
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",  # bech32m for v0
    "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",  # bech32m for v0
    "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",  # bad character
    "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",  # version 17
    "bc1pw5dgrnzv",  # program of 1 byte
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",  # 41 bytes
    "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",  # 16 bytes for v0
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",  # mixed case
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",  # padding > 4 bits
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",  # non-zero padding
    "bc1gmk9yu",  # empty data
]

# Mainnet addresses with their scripts from elsewhere: the genesis coinbase's key hash
# (62e907b1...), Bitcoin wiki's P2PKH and BIP-13's P2SH examples, and the payout address of
# block 730000 with the hash mempool.space decodes from its coinbase (c499d060...).
BASE58_VALID = {
    "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa": "76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac",
    "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2": "76a91477bff20c60e522dfaa3350c39b030a5d004e839a88ac",
    "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy": "a914b472a266d0bd89c13706a4132ccfb16f7c3b9fcb87",
    "1JvXhnHCi6XqcanvrZJ5s2Qiv4tsmm2UMy": "76a914c499d0604392cc2051d7476056647d1c1bfc3f3888ac",
}


@pytest.mark.parametrize(("address", "script"), [*SEGWIT_VALID.items(), *BASE58_VALID.items()])
def test_valid_addresses_give_their_script(address, script):
    assert address_script(address) == script


@pytest.mark.parametrize("address", SEGWIT_INVALID)
def test_bip350_invalid_addresses_are_refused(address):
    with pytest.raises(InputError, match="is not a Bitcoin address"):
        address_script(address)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", "checksum does not match"),  # last char changed
        ("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNV0", "not a base58 character"),
        ("", "empty"),
    ],
)
def test_bad_base58_is_refused_with_the_reason(address, reason):
    with pytest.raises(InputError, match=reason):
        address_script(address)


def test_the_version_byte_decides_the_script_type(data_dir):
    # Same 20-byte hash, the P2SH version: a P2SH script, not a P2PKH one.
    p2pkh = address_script("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")
    assert p2pkh.startswith("76a914") and p2pkh.endswith("88ac")
    assert address_script("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy").startswith("a914")


def test_every_address_of_the_real_pool_list_converts(data_dir):
    pools = json.loads((data_dir / "mining_pools" / "generated_pool-list.json").read_text())
    addresses = [a for p in pools for a in p["addresses"]]
    scripts = [address_script(a) for a in addresses]
    assert len(addresses) == 200 and len(set(scripts)) == len(scripts)
    kinds = {s[:4] for s in scripts}
    assert {"76a9", "a914", "0014", "0020"} <= kinds  # P2PKH, P2SH, P2WPKH and P2WSH all occur
    lengths = {"76a9": 50, "a914": 46, "0014": 44, "0020": 68}
    assert all(len(s) == lengths[s[:4]] for s in scripts)
