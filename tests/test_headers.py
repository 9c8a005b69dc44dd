"""Block headers: parsing, hashing, serializing, linkage, proof of work, canonical bits,
chainwork and median time past, on real mainnet headers; the networks' consensus facts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import REPO_ROOT
from minerwatch.chain import headers as hdr
from minerwatch.chain.consensus import block_work
from minerwatch.chain.networks import (
    MAIN,
    NETWORKS,
    REGTEST,
    TESTNET3,
    network_for_chain,
    network_named,
)
from minerwatch.errors import InputError

EXAMPLES = REPO_ROOT.parent / "shared" / "docs" / "api_examples"

# Mainnet blocks 0 and 1 as the P2P network and REST .bin serve them (80 bytes each).
GENESIS_HEX = (
    "01000000" + "00" * 32 + "3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a"
    "29ab5f49ffff001d1dac2b7c"
)
BLOCK1_HEX = (
    "010000006fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000"
    "982051fd1e4ba744bbbe680e1fee14677ba1a3c3540bf7b1cdb606e857233e0e61bc6649ffff001d01e36299"
)
BLOCK1_HASH = "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048"


@pytest.fixture(scope="module")
def block_730000() -> dict:
    path = EXAMPLES / "mempool_v1_blocks_730000.json"
    if not path.exists():
        pytest.fail(f"example not found: {path}", pytrace=False)
    return json.loads(path.read_text())["response"][0]


def test_first_two_mainnet_headers_parse_and_hash():
    fields = hdr.parse_headers(bytes.fromhex(GENESIS_HEX + BLOCK1_HEX))
    assert fields["version"].tolist() == [1, 1]
    assert fields["time"].tolist() == [1_231_006_505, 1_231_469_665]
    assert fields["bits"].tolist() == [0x1D00FFFF, 0x1D00FFFF]
    assert fields["nonce"].tolist() == [2_083_236_893, 2_573_394_689]
    hashes = hdr.block_hashes(fields)
    assert hashes.tolist() == [MAIN.genesis_hash, BLOCK1_HASH]
    assert hdr.digests_to_hex(fields["merkle"])[0] == MAIN.genesis_merkle_root


def test_mempool_example_header_hashes_to_its_id(block_730000):
    raw = bytes.fromhex(block_730000["extras"]["header"])
    fields = hdr.parse_headers(raw)
    assert int(fields["version"][0]) == block_730000["version"]
    assert int(fields["time"][0]) == block_730000["timestamp"]
    assert int(fields["bits"][0]) == block_730000["bits"]
    assert int(fields["nonce"][0]) == block_730000["nonce"]
    assert hdr.digests_to_hex(fields["prev"])[0] == block_730000["previousblockhash"]
    assert hdr.digests_to_hex(fields["merkle"])[0] == block_730000["merkle_root"]
    assert hdr.block_hashes(fields)[0] == block_730000["id"]
    assert hdr.pow_ok(hdr.header_digests(fields), fields["bits"]).all()


def test_serialize_rebuilds_the_example_header_from_its_fields(block_730000):
    raw = hdr.serialize_headers(
        block_730000["version"],
        block_730000["previousblockhash"],
        block_730000["merkle_root"],
        block_730000["timestamp"],
        block_730000["bits"],
        block_730000["nonce"],
    )
    assert raw.hex() == block_730000["extras"]["header"]


def test_every_network_genesis_header_hashes_to_its_genesis_hash():
    for net in NETWORKS.values():
        raw = hdr.serialize_headers(
            1,
            "00" * 32,
            net.genesis_merkle_root,
            net.genesis_time,
            net.genesis_bits,
            net.genesis_nonce,
        )
        assert hdr.block_hashes(raw)[0] == net.genesis_hash, net.name
        assert hdr.pow_ok(hdr.header_digests(raw), np.array([net.genesis_bits])).all(), net.name
    assert bytes.fromhex(GENESIS_HEX) == hdr.serialize_headers(
        1,
        "00" * 32,
        MAIN.genesis_merkle_root,
        MAIN.genesis_time,
        MAIN.genesis_bits,
        MAIN.genesis_nonce,
    )


def test_proof_of_work_fails_for_a_changed_nonce():
    fields = hdr.parse_headers(bytes.fromhex(BLOCK1_HEX))
    fields["nonce"] += 1
    digests = hdr.header_digests(fields)
    assert not hdr.pow_ok(digests, fields["bits"])[0]
    assert hdr.first_without_pow(digests, fields["bits"]) == 0
    # The real nonce at a target 2**16 times harder fails too; at its own bits it passes.
    real = hdr.parse_headers(bytes.fromhex(BLOCK1_HEX))
    real_digests = hdr.header_digests(real)
    assert hdr.first_without_pow(real_digests, real["bits"]) == -1
    assert hdr.first_without_pow(real_digests, np.array([0x1B00FFFF])) == 0


def test_pow_compares_the_hash_as_a_number_with_the_target():
    # Hashes built to sit exactly at, just above and just below the target of 0x1d00ffff.
    target = 0xFFFF << 208
    numbers = [target, target + 1, target - 1, 0, 2**256 - 1]
    digests = np.array([list(n.to_bytes(32, "little")) for n in numbers], np.uint8)
    ok = hdr.pow_ok(digests, np.full(len(numbers), 0x1D00FFFF))
    assert ok.tolist() == [True, False, True, True, False]


def test_linkage_finds_the_first_broken_link():
    raw = bytes.fromhex(GENESIS_HEX + BLOCK1_HEX)
    fields = hdr.parse_headers(raw)
    digests = hdr.header_digests(fields)
    zero = np.zeros(32, np.uint8)
    assert hdr.first_unlinked(fields["prev"], digests, zero) == -1
    assert hdr.first_unlinked(fields["prev"], digests, digests[1]) == 0
    swapped = hdr.parse_headers(bytes.fromhex(BLOCK1_HEX + GENESIS_HEX))
    assert hdr.first_unlinked(swapped["prev"], hdr.header_digests(swapped), None) == 1


def test_canonical_bits():
    bits = np.array([0x1D00FFFF, 0x1D008000, 0x207FFFFF, 0x1E0000FF, 0x1D810000, 0x23010000, 0])
    assert hdr.bits_canonical(bits).tolist() == [True, True, True, False, False, False, False]


def test_chainwork_accumulates_block_proofs_as_core_prints_them():
    # Core's getblockheader of mainnet block 50 prints chainwork
    # 0000...003300330033: 51 blocks at difficulty 1 (0x100010001 hashes each).
    bits = np.full(51, 0x1D00FFFF)
    work = hdr.chainwork(bits)
    assert hdr.chainwork_hex(work)[-1] == "0" * 54 + "3300330033"
    assert hdr.chainwork(np.array([0x1D00FFFF]), work[-1]) == [work[-1] + 0x100010001]
    mixed = np.array([0x1D00FFFF, 0x17053894, 0x207FFFFF])
    assert hdr.block_works(mixed) == [block_work(int(b)) for b in mixed]
    assert hdr.parse_chainwork(hdr.chainwork_hex(work)[10]) == work[10]
    # The vectorised sum (32-bit limbs with carries) prints the same as the exact one,
    # carries across every limb included (a parent just below 2**224).
    many = np.tile(mixed, 700)
    for parent in (0, 2**224 - 3, 0x3300330033):
        assert (
            hdr.chainwork_hex_array(many, parent).tolist()
            == hdr.chainwork_hex(hdr.chainwork(many, parent)).tolist()
        )
    with pytest.raises(InputError, match="not hexadecimal"):
        hdr.parse_chainwork("zz")


def _mtp_loop(times: list[int]) -> list[int]:
    """GetMedianTimePast written out per block: the sorted last (up to) 11, the middle one."""
    out = []
    for i in range(len(times)):
        window = sorted(times[max(0, i - 10) : i + 1])
        out.append(window[len(window) // 2])
    return out


def test_median_time_past_on_real_block_times(blocks_csv):
    rows = np.loadtxt(blocks_csv, delimiter=",", skiprows=1, dtype=np.int64)
    times = rows[:, 1]
    expected = _mtp_loop(times.tolist())
    assert hdr.median_time_past(times).tolist() == expected
    # A page with the 10 times before it gives the same values as the whole run.
    assert hdr.median_time_past(times[500:900], times[490:500]).tolist() == expected[500:900]
    # Near genesis: fewer than 11 blocks, element len // 2 of those there are.
    assert hdr.median_time_past(times[3:8], times[:3]).tolist() == _mtp_loop(times[:8].tolist())[3:]


def test_parse_refuses_a_partial_header():
    with pytest.raises(InputError, match="not a multiple of 80"):
        hdr.parse_headers(bytes(81))


def test_hex_to_digests_names_a_bad_hash():
    with pytest.raises(InputError, match="hash 1"):
        hdr.hex_to_digests([MAIN.genesis_hash, "abc"])


def test_network_facts():
    assert network_for_chain("test") is TESTNET3 and network_named("testnet3") is TESTNET3
    assert network_named("test") is TESTNET3
    assert [n.rpc_port for n in NETWORKS.values()] == [8332, 18332, 48332, 38332, 18443]
    assert [n.datadir_subdir for n in NETWORKS.values()] == [
        "",
        "testnet3",
        "testnet4",
        "signet",
        "regtest",
    ]
    assert REGTEST.no_retargeting and not MAIN.no_retargeting
    heights = np.array([0, 149, 150, 299, 300, 209_999, 210_000])
    assert REGTEST.subsidy_sat_array(heights).tolist() == [
        5_000_000_000,
        5_000_000_000,
        2_500_000_000,
        2_500_000_000,
        1_250_000_000,
        0,
        0,
    ]
    assert MAIN.subsidy_sat(209_999) == 5_000_000_000 and MAIN.subsidy_sat(210_000) == 2_500_000_000
    with pytest.raises(InputError, match="not known"):
        network_named("mainnet")
    with pytest.raises(InputError, match="does not know"):
        network_for_chain("liquidv1")
