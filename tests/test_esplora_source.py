"""The Esplora / mempool.space chain source against stand-in servers on 127.0.0.1
(tests/standins/esplora.py): page shapes, the reorg probe, fallback, 429 cooldown, the rate
limit and ``Expires`` caching. Expected values come from the stand-in's chain, never from
the code under test."""

from __future__ import annotations

import time

import pytest
from tests.standins.esplora import (
    EsploraStandin,
    StandinChain,
    dead_url,
    fees_sat,
    sha256d,
    subsidy_sat,
)

from minerwatch.chain.addresses import address_script_or_none
from minerwatch.errors import BadResponse, InputError, RateLimited, TransientSourceError
from minerwatch.sources import retry
from minerwatch.sources.esplora import EsploraSource, network_of

FIRST = 915_264
# Output scripts of real addresses, from independent sources: mempool.space's own example
# (coinbaseSignature of block 730,000), BIP 350's test vector, the Bitcoin wiki's P2SH example.
KNOWN_SCRIPTS = {
    "1JvXhnHCi6XqcanvrZJ5s2Qiv4tsmm2UMy": "76a914c499d0604392cc2051d7476056647d1c1bfc3f3888ac",
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0": (
        "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
    ),
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4": "0014751e76e8199196d454941c45d1b3a323f1433bd6",
    "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy": "a914b472a266d0bd89c13706a4132ccfb16f7c3b9fcb87",
}


@pytest.fixture
def chain(data_dir) -> StandinChain:
    return StandinChain.mainnet(data_dir, FIRST, count=100)


@pytest.fixture
def mempool(chain):
    with EsploraStandin(chain) as server:
        yield server


@pytest.fixture
def blockstream(chain):
    with EsploraStandin(chain, shape="blockstream") as server:
        yield server


def _source(*urls: str, **kwargs) -> EsploraSource:
    return EsploraSource(list(urls), rate_per_s=kwargs.pop("rate_per_s", 1000.0), **kwargs)


def test_addresses_become_their_output_scripts():
    for address, script in KNOWN_SCRIPTS.items():
        assert address_script_or_none(address) == script
    assert address_script_or_none("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5") is None  # checksum
    assert address_script_or_none("1JvXhnHCi6XqcanvrZJ5s2Qiv4tsmm2UMz") is None
    assert address_script_or_none("not an address") is None


def test_a_mempool_page_is_the_chain_ascending_with_economics(mempool, chain):
    with _source(mempool.url) as source:
        page = source.page(FIRST + 5, 40)
    want = chain.best[5:45]
    assert len(page) == 40
    assert page.height.tolist() == [b.height for b in want]
    assert page.hash.tolist() == [b.hash for b in want]
    assert page.prev_hash.tolist() == [b.prev_hash for b in want]
    assert page.time.tolist() == [b.time for b in want]  # real header times
    assert page.bits.tolist() == [b.bits for b in want]
    assert page.nonce.tolist() == [b.nonce for b in want]
    assert page.median_time.tolist() == [b.median_time for b in want]
    assert page.fees_sat.tolist() == [fees_sat(b.height, 0) for b in want]
    assert set(page.subsidy_sat.tolist()) == {312_500_000}  # 3.125 BTC in this era
    assert page.pool.tolist() == [None if b.pool[0] == "Unknown" else b.pool[0] for b in want]
    assert page.coinbase_tag.tolist() == [b.coinbase_raw for b in want]
    scripts = {s for t in page.payout_scripts for s in t}
    assert KNOWN_SCRIPTS["1JvXhnHCi6XqcanvrZJ5s2Qiv4tsmm2UMy"] in scripts
    assert all(h == sha256d(b.header)[::-1].hex() for h, b in zip(page.hash, want, strict=True))
    assert page.chainwork.tolist() == [None] * 40
    # The tip height, then three /v1/blocks calls of 15 blocks, each asking for the top of
    # its chunk.
    assert mempool.paths() == ["/api/blocks/tip/height"] + [
        f"/api/v1/blocks/{FIRST + 5 + k}" for k in (14, 29, 39)
    ]


def test_a_page_stops_at_the_tip_and_is_empty_above_it(mempool, chain):
    tip = chain.tip.height
    with _source(mempool.url) as source:
        page = source.page(tip - 3, 50)
        above = source.page(tip + 1, 10)
    assert page.height.tolist() == list(range(tip - 3, tip + 1))
    assert page.tip_hash == chain.tip.hash
    assert len(above) == 0
    # Each page asks for the tip height; the first then for its blocks up to the tip only.
    assert mempool.paths() == [
        "/api/blocks/tip/height",
        f"/api/v1/blocks/{tip}",
        "/api/blocks/tip/height",
    ]


def test_blockstream_shape_has_headers_and_unknown_economics(blockstream, chain):
    with _source(blockstream.url) as source:
        page = source.page(FIRST, 25)
    assert page.hash.tolist() == [b.hash for b in chain.best[:25]]
    assert page.prev_hash[0] == chain.parent
    assert (page.fees_sat == -1).all() and (page.subsidy_sat == -1).all()
    assert set(page.pool.tolist()) == {None}
    # /v1 is tried once (404), then 10-block /blocks calls.
    assert blockstream.paths() == [
        "/api/blocks/tip/height",
        f"/api/v1/blocks/{FIRST + 14}",
        f"/api/blocks/{FIRST + 9}",
        f"/api/blocks/{FIRST + 19}",
        f"/api/blocks/{FIRST + 24}",
    ]


def test_a_reorg_between_two_calls_of_a_page_is_transient(mempool, chain):
    mempool.reorg_after(2, depth=95)  # after the tip height and the first chunk
    with _source(mempool.url) as source:
        with pytest.raises(TransientSourceError, match="a reorg at the tip"):
            source.page(FIRST, 30)
        page = source.page(FIRST, 30)  # asked again, the page is of the new branch
    assert page.hash.tolist() == [b.hash for b in chain.best[:30]]
    assert [b.branch for b in chain.best[:30]] == [0] * 5 + [1] * 25  # replaced from FIRST+5


def test_headers_only_leaves_economics_unknown(mempool):
    with _source(mempool.url) as source:
        page = source.page(FIRST, 5, economics=False)
    assert (page.fees_sat == -1).all() and set(page.coinbase_tag.tolist()) == {None}


def test_tip_hash_at_and_the_reorg_probe(mempool, chain):
    with _source(mempool.url) as source:
        tip = source.tip()
        assert (tip.network, tip.height, tip.hash) == ("main", chain.tip.height, chain.tip.hash)
        assert source.tip_height() == chain.tip.height
        assert source.hash_at(FIRST + 7) == chain.best[7].hash
        assert source.hash_at(chain.tip.height + 1) is None
        below = chain.best[-4]
        stale = chain.reorg(3)
        status = source.in_best_chain(stale[0].hash)
        assert (status.in_best_chain, status.known) == (False, True)
        status = source.in_best_chain(below.hash)
        assert status.in_best_chain and status.height == below.height
        assert status.next_best == chain.at(below.height + 1).hash != stale[0].hash
        assert not source.in_best_chain("ab" * 32).known
        assert source.tip().height == stale[-1].height + 1


def test_network_comes_from_the_url():
    assert network_of("https://mempool.space/api") == "main"
    assert network_of("https://mempool.space/testnet4/api") == "testnet4"
    assert network_of("https://mempool.space/testnet/api") == "testnet3"
    assert network_of("https://mempool.space/signet/api") == "signet"


def test_a_dead_first_server_falls_back_to_the_next(mempool, chain):
    with _source(dead_url(), mempool.url) as source:
        page = source.page(FIRST, 15)
        assert source.tip().hash == chain.tip.hash
    assert page.hash[-1] == chain.best[14].hash
    assert len(mempool.requests) == 4  # tip height and one chunk; tip hash and its status


def test_a_failing_mempool_falls_back_to_blockstream(mempool, blockstream, chain):
    mempool.down = True
    with _source(mempool.url, blockstream.url) as source:
        page = source.page(FIRST, 12)
    assert page.hash.tolist() == [b.hash for b in chain.best[:12]]
    assert (page.fees_sat == -1).all()  # Blockstream's shape


def test_every_server_failing_names_each(mempool):
    mempool.down = True
    with _source(dead_url(), mempool.url) as source, pytest.raises(TransientSourceError) as e:
        source.tip_height()
    message = str(e.value)
    assert "every Esplora server failed" in message and "HTTP 503" in message
    assert "cannot reach the source" in message or "ConnectError" in message


def test_429_cools_the_server_down_for_retry_after(mempool, chain):
    mempool.storm(1, retry_after_s=0.4)
    with _source(mempool.url) as source:
        with pytest.raises(TransientSourceError) as e:
            source.tip_height()
        assert e.value.rate_limited and e.value.retry_after_s == pytest.approx(0.4)
        with pytest.raises(TransientSourceError) as again:  # cooling: no request
            source.tip_height()
        assert len(mempool.requests) == 1
        assert 0 < again.value.retry_after_s <= 0.4
        t0 = time.monotonic()
        # The sync loop's retry waits the cooldown out, then the server answers.
        height = retry.call(lambda _: source.tip_height(), policy=retry.RetryPolicy(3, 0.01))
        assert time.monotonic() - t0 >= 0.3
    assert height == chain.tip.height and len(mempool.requests) == 2


def test_a_429_storm_on_the_first_server_is_answered_by_the_second(mempool, blockstream, chain):
    mempool.storm(50, retry_after_s=30)
    with _source(mempool.url, blockstream.url) as source:
        heights = [source.tip_height() for _ in range(5)]
    assert heights == [chain.tip.height] * 5
    assert len(mempool.requests) == 1  # asked once, then left alone for 30 s
    assert len(blockstream.requests) == 5


def test_a_storm_that_never_lifts_is_rate_limited(mempool):
    mempool.storm(100, retry_after_s=0.05)
    with _source(mempool.url) as source, pytest.raises(RateLimited, match="after 3 attempt"):
        retry.call(lambda _: source.tip_height(), policy=retry.RetryPolicy(3, 0.01))


def test_requests_keep_to_the_rate_limit(mempool):
    with _source(mempool.url, rate_per_s=10.0) as source:
        t0 = time.monotonic()
        for _ in range(6):
            source.tip_height()
        took_s = time.monotonic() - t0
    arrived = [t for t, _ in mempool.requests]
    # 5 gaps of 100 ms at least (arrival times jitter under load; their span cannot shrink).
    assert took_s >= 0.5 - 0.01
    assert arrived[-1] - arrived[0] >= 0.5 - 0.03
    with _source(mempool.url, rate_per_s=1000.0) as fast:
        t0 = time.monotonic()
        for _ in range(6):
            fast.tip_height()
        assert time.monotonic() - t0 < 0.5  # the limit, not the server, set the pace above


def test_an_unexpired_response_is_served_from_memory(mempool, chain):
    mempool.expires_s = 60
    with _source(mempool.url) as source:
        first = source.tip_height()
        chain.extend(2)
        assert source.tip_height() == first  # the server said it holds for 60 s
        assert len(mempool.requests) == 1
    mempool.expires_s = None
    with _source(mempool.url) as source:
        assert [source.tip_height(), source.tip_height()] == [chain.tip.height] * 2
    assert len(mempool.requests) == 3


def test_a_reward_that_is_not_the_subsidy_is_a_fault_naming_the_height(mempool):
    bad = FIRST + 20

    def edit(block: dict) -> dict:
        if block["height"] == bad:
            block["extras"]["reward"] += 1
        return block

    mempool.edit = edit
    with _source(mempool.url) as source, pytest.raises(BadResponse) as e:
        source.page(FIRST + 15, 10)
    assert f"height {bad:,}" in str(e.value)
    assert f"{subsidy_sat(bad):,} sat" in str(e.value)


def test_blocks_that_do_not_link_are_a_fault(mempool):
    def edit(block: dict) -> dict:
        if block["height"] == FIRST + 3:
            block["previousblockhash"] = "00" * 32
        return block

    mempool.edit = edit
    with _source(mempool.url) as source, pytest.raises(BadResponse, match="expected linked"):
        source.page(FIRST, 10)


def test_bad_arguments_are_input_errors():
    with pytest.raises(InputError, match="not an http"):
        EsploraSource("mempool.space/api")
    with pytest.raises(InputError, match="rate_per_s"):
        EsploraSource("https://mempool.space/api", rate_per_s=0)
