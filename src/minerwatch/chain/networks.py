"""The Bitcoin networks a node can run, and the consensus facts that differ between them.

Each :class:`Network` is named as minerwatch names it (``main``, ``testnet3``, ``testnet4``,
``signet``, ``regtest``) and carries the name the node itself reports in
``getblockchaininfo``'s ``chain`` (``main``, ``test``, ``testnet4``, ``signet``,
``regtest``), so either finds it (:func:`network_named`, :func:`network_for_chain`).

Values are Bitcoin Core's: ``src/kernel/chainparams.cpp`` (``CMainParams``,
``CTestNetParams``, ``CTestNet4Params``, ``SigNetParams``, ``CRegTestParams``: genesis block,
``powLimit``, ``fPowAllowMinDifficultyBlocks``, ``fPowNoRetargeting``,
``nSubsidyHalvingInterval``) and ``src/chainparamsbase.cpp`` (RPC ports, data directory
subfolders). Every genesis hash here is checked in the tests against the double SHA-256 of
the genesis header built from the same file's fields.

Units: heights, compact bits, satoshis; a target is a 256-bit int.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerwatch.chain.consensus import HALVING_INTERVAL, subsidy_sat_array
from minerwatch.errors import InputError


@dataclass(frozen=True)
class Network:
    """One network's consensus and connection facts.

    Attributes:
        name: minerwatch's name (``"main"``, ``"testnet3"``, ...).
        chain: the name ``getblockchaininfo`` reports in ``chain``.
        genesis_hash: the genesis block's hash, display hex.
        genesis_time, genesis_bits, genesis_nonce, genesis_merkle_root: the genesis header's
            fields (version 1, no parent).
        pow_limit: ``consensus.powLimit``, the largest target.
        min_difficulty_blocks: ``fPowAllowMinDifficultyBlocks`` (the 20-minute rule of the
            test networks: a block may carry the pow-limit bits).
        no_retargeting: ``fPowNoRetargeting`` (regtest: bits never change).
        halving_interval: ``nSubsidyHalvingInterval``, blocks per subsidy era.
        rpc_port: the default RPC (and REST) port.
        datadir_subdir: the folder of the data directory the node keeps this network's files
            (and its ``.cookie``) in; ``""`` for mainnet (the data directory itself).
    """

    name: str
    chain: str
    genesis_hash: str
    genesis_time: int
    genesis_bits: int
    genesis_nonce: int
    genesis_merkle_root: str
    pow_limit: int
    min_difficulty_blocks: bool
    no_retargeting: bool
    halving_interval: int
    rpc_port: int
    datadir_subdir: str

    def subsidy_sat_array(self, heights: np.ndarray) -> np.ndarray:
        """Scheduled subsidy of each height on this network, int64 satoshis.

        ``GetBlockSubsidy`` with this network's halving interval: 50 BTC >> (height //
        interval), 0 from 64 halvings on. Computed by :func:`~minerwatch.chain.consensus.
        subsidy_sat_array` at the mainnet height with the same number of halvings
        (``height // interval * 210,000``), so the rule lives in one place.

        References: Bitcoin Core ``src/validation.cpp``, ``GetBlockSubsidy``.
        """
        h = np.asarray(heights, np.int64)
        if h.size and h.min() < 0:
            raise InputError(f"heights must all be >= 0, got minimum {int(h.min())}")
        return subsidy_sat_array(h // self.halving_interval * HALVING_INTERVAL)

    def subsidy_sat(self, height: int) -> int:
        """:meth:`subsidy_sat_array` of one height."""
        return int(self.subsidy_sat_array(np.array([height]))[0])


_SATOSHI_MERKLE = "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
_LIMIT_224 = (1 << 224) - 1  # uint256{"00000000ffff...ff"}

# Genesis block hashes, display hex (``consensus.hashGenesisBlock``).
_GENESIS_HASH = {
    "main": "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
    "testnet3": "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
    "testnet4": "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043",
    "signet": "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6",
    "regtest": "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
}
# Genesis merkle roots other than that of Satoshi's coinbase (:data:`_SATOSHI_MERKLE`).
_GENESIS_MERKLE = {"testnet4": "7aa0a7ae1e223414cb807e40cd57e667b718e42aaf9306db9102fe28912b7b4e"}
_POW_LIMIT = {
    "main": _LIMIT_224,
    "testnet3": _LIMIT_224,
    "testnet4": _LIMIT_224,
    "signet": 0x00000377AE << 216,  # uint256{"00000377ae00...00"}
    "regtest": (1 << 255) - 1,  # uint256{"7fff...ff"}
}
# Halving intervals other than mainnet's (:data:`~minerwatch.chain.consensus.HALVING_INTERVAL`).
_HALVING_INTERVAL = {"regtest": 150}
# name, chain, genesis time, bits and nonce, min_difficulty_blocks, no_retargeting, rpc_port
# (the Network fields of the same names); the data directory's folder is the name (mainnet:
# the data directory itself).
_TABLE = (
    ("main",     "main",     1_231_006_505, 0x1D00FFFF, 2_083_236_893, False, False, 8332),
    ("testnet3", "test",     1_296_688_602, 0x1D00FFFF,   414_098_458, True,  False, 18332),
    ("testnet4", "testnet4", 1_714_777_860, 0x1D00FFFF,   393_743_547, True,  False, 48332),
    ("signet",   "signet",   1_598_918_400, 0x1E0377AE,    52_613_770, False, False, 38332),
    ("regtest",  "regtest",  1_296_688_602, 0x207FFFFF,             2, True,  True,  18443),
)  # fmt: skip


def _network(
    name: str,
    chain: str,
    genesis_time: int,
    genesis_bits: int,
    genesis_nonce: int,
    min_difficulty_blocks: bool,
    no_retargeting: bool,
    rpc_port: int,
) -> Network:
    """The :class:`Network` of one row of :data:`_TABLE`, with its genesis hash, merkle
    root, pow limit, halving interval and data directory folder."""
    return Network(
        name,
        chain,
        _GENESIS_HASH[name],
        genesis_time,
        genesis_bits,
        genesis_nonce,
        _GENESIS_MERKLE.get(name, _SATOSHI_MERKLE),
        _POW_LIMIT[name],
        min_difficulty_blocks,
        no_retargeting,
        _HALVING_INTERVAL.get(name, HALVING_INTERVAL),
        rpc_port,
        "" if name == "main" else name,
    )


MAIN, TESTNET3, TESTNET4, SIGNET, REGTEST = (_network(*row) for row in _TABLE)

NETWORKS: dict[str, Network] = {n.name: n for n in (MAIN, TESTNET3, TESTNET4, SIGNET, REGTEST)}
_BY_CHAIN = {n.chain: n for n in NETWORKS.values()}


def network_named(name: str) -> Network:
    """The network of minerwatch's ``name`` (``main``, ``testnet3``, ``testnet4``,
    ``signet``, ``regtest``; the node's own ``test`` is accepted for ``testnet3``)."""
    found = NETWORKS.get(str(name)) or _BY_CHAIN.get(str(name))
    if found is None:
        raise InputError(
            f"network {name!r} is not known; expected one of {', '.join(NETWORKS)}",
            parameter="network",
        )
    return found


def network_for_chain(chain: str) -> Network:
    """The network a node reports as ``getblockchaininfo.chain``; InputError for a chain
    minerwatch does not know."""
    found = _BY_CHAIN.get(str(chain))
    if found is None:
        raise InputError(
            f"the node reports chain {chain!r}, which minerwatch does not know; expected one "
            f"of {', '.join(_BY_CHAIN)}"
        )
    return found
