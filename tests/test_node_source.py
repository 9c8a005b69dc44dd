"""NodeSource against the stand-in Bitcoin Core (tests/standins/bitcoind.py) on 127.0.0.1:
authentication, JSON-RPC 1.1 and 2.0, REST forms and RPC, warm-up, pages, economics,
networks, reorgs; credentials never shown."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from minerwatch.chain import headers as hdr
from minerwatch.chain.networks import REGTEST
from minerwatch.errors import (
    AuthenticationFailed,
    BadResponse,
    SourceError,
    TransientSourceError,
)
from minerwatch.sources import retry
from minerwatch.sources.node import NodeSource, cookie_path, default_datadir
from standins.bitcoind import StandinChain


@pytest.fixture(scope="module")
def chain_3000() -> StandinChain:
    """A mainnet-like chain of heights 0 to 3,000 (built once; tests that change a chain
    build their own)."""
    return StandinChain.mainnet_like(3_000, seed=7)


def source_for(node, **options) -> NodeSource:
    options.setdefault("check_pow", node.chain.kind == "regtest-like")
    return NodeSource(node.url, datadir=node.datadir, network=node.network, **options)


def test_cookie_from_the_datadir_and_the_tip(bitcoind, chain_3000):
    node = bitcoind(chain_3000)
    with source_for(node) as source:
        tip = source.tip()
    assert (tip.network, tip.height, tip.hash) == ("main", 3_000, chain_3000.hashes[-1])
    assert node.requests["http:401"] == 0


def test_regtest_cookie_lives_in_its_subfolder(bitcoind):
    node = bitcoind(StandinChain.regtest_like(20))
    assert node.cookie_file == node.datadir / "regtest" / ".cookie"
    assert cookie_path(REGTEST, node.datadir) == node.cookie_file
    with source_for(node) as source:
        assert source.tip().network == "regtest"
        assert source.network is REGTEST


def test_default_datadir_per_platform(tmp_path):
    assert default_datadir("linux", {}, tmp_path) == tmp_path / ".bitcoin"
    assert default_datadir("darwin", {}, tmp_path) == (
        tmp_path / "Library" / "Application Support" / "Bitcoin"
    )
    assert default_datadir("win32", {"APPDATA": str(tmp_path / "Roaming")}, tmp_path) == (
        tmp_path / "Roaming" / "Bitcoin"
    )


def test_a_new_cookie_is_read_after_http_401(bitcoind, chain_3000):
    node = bitcoind(chain_3000)
    with source_for(node) as source:
        first = source.tip()
        node.rotate_cookie()  # the node restarted: the cookie the source holds is stale
        assert source.hash_at(10) == chain_3000.hashes[10]
        assert source.tip() == first
    assert node.requests["http:401"] == 1


def test_user_and_password_are_the_fallback(bitcoind, chain_3000, tmp_path):
    secret = "correct horse battery staple 42"
    node = bitcoind(chain_3000, cookie=False, rpcuser="alice", rpcpassword=secret)
    with NodeSource(node.url, datadir=tmp_path, user="alice", password=secret) as source:
        assert source.tip().height == 3_000
        assert secret not in repr(source)


def test_refused_credentials_name_their_origin_never_their_content(
    bitcoind, chain_3000, tmp_path, caplog
):
    secret = "hunter2-but-longer-than-that"
    node = bitcoind(chain_3000, rpcuser="alice", rpcpassword="the real one")
    stale = tmp_path / "old.cookie"
    cookie_secret = "__cookie__:" + "ab" * 32
    stale.write_text(cookie_secret)
    caplog.set_level(logging.DEBUG)
    source = NodeSource(node.url, cookie_file=stale, user="alice", password=secret)
    with source, pytest.raises(AuthenticationFailed) as refused:
        source.tip()
    message = str(refused.value)
    assert isinstance(refused.value, SourceError)  # exit code 3
    assert str(stale) in message and "rpcuser/rpcpassword" in message
    shown = message + repr(source) + repr(refused.value) + caplog.text
    for credential in (secret, cookie_secret, "ab" * 32, "alice"):
        assert credential not in shown
    assert node.requests["http:401"] == 2


def test_no_credentials_at_all_is_a_clear_error(bitcoind, chain_3000, tmp_path):
    node = bitcoind(chain_3000)
    with NodeSource(node.url, datadir=tmp_path) as source, pytest.raises(AuthenticationFailed) as e:
        source.tip()
    assert str(tmp_path / ".cookie") in str(e.value) and "missing" in str(e.value)
    assert node.requests["http:401"] == 0  # nothing was sent without a credential


def test_url_credentials_are_used_and_dropped_from_the_url(bitcoind, chain_3000, tmp_path):
    node = bitcoind(chain_3000, cookie=False, rpcuser="bob", rpcpassword="pw-in-url-9")
    url = node.url.replace("http://", "http://bob:pw-in-url-9@")
    with NodeSource(url, datadir=tmp_path) as source:
        assert source.tip().height == 3_000
        assert source.url == node.url and "pw-in-url-9" not in repr(source)


@pytest.mark.parametrize(("version", "dialect"), [(280_000, "2.0"), (270_100, "1.0")])
def test_json_rpc_dialect_follows_the_node_version(bitcoind, chain_3000, version, dialect):
    node = bitcoind(chain_3000, version=version, rest=False)
    with source_for(node) as source:
        assert source.version == version
        assert source.hash_at(3_001) is None  # error -8: HTTP 500 in 1.1, HTTP 200 in 2.0
        page = source.page(100, 50, economics=False)
    assert page.hash.tolist() == chain_3000.hashes[100:150].tolist()
    assert node.requests[f"jsonrpc:{dialect}"] > 2
    # Only getnetworkinfo goes out in the legacy dialect to a 28.0 node.
    assert node.requests["jsonrpc:1.0"] == (1 if dialect == "2.0" else node.requests["jsonrpc:1.0"])


def test_batch_replies_are_matched_by_id(bitcoind, chain_3000):
    node = bitcoind(chain_3000, shuffle_batches=True, rest=False)
    with source_for(node) as source:
        page = source.page(0, 300)
    assert page.hash.tolist() == chain_3000.hashes[:300].tolist()
    assert page.fees_sat.tolist() == chain_3000.econ["fees"][:300].tolist()


def _same_pages(a, b) -> None:
    for name in ("height", "hash", "prev_hash", "time", "median_time", "bits", "chainwork"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


def test_rest_new_form_old_form_and_rpc_give_the_same_pages(bitcoind, chain_3000):
    new = bitcoind(chain_3000)
    old = bitcoind(chain_3000, version=230_000)
    off = bitcoind(chain_3000, rest=False)
    pages = {}
    for name, node in (("new", new), ("old", old), ("off", off)):
        with source_for(node) as source:
            pages[name] = [source.page(s, 400, economics=False) for s in (0, 400, 1_500)]
            pages[name].append(source.page(400 + len(pages[name][1]), 100, economics=False))
            assert source.rest_form == {"new": "query", "old": "path", "off": "off"}[name]
    for got in ("old", "off"):
        for a, b in zip(pages["new"], pages[got], strict=True):
            _same_pages(a, b)
    first = pages["new"][0]
    assert first.chainwork.tolist() == [f"{w:064x}" for w in chain_3000.chainwork[:400]]
    assert first.median_time.tolist() == chain_3000.median_time[:400].tolist()
    # Pages 0 and 400 follow on (no context request); 1,500 and 800 jump: one
    # getblockheader each for the parent's chainwork.
    assert new.requests["rest:headers"] == 4 and new.requests["rpc:getblockheader"] == 2
    assert old.requests["rest:headers"] == 4  # the old form first, as the version says
    assert off.requests["rest:headers"] == 0 and off.requests["http:404"] == 2


def test_an_old_node_is_found_out_by_its_http_400(bitcoind, chain_3000):
    old = bitcoind(chain_3000, version=230_000)
    with source_for(old) as source:
        source._version = 280_000  # as if the version said otherwise: the answer decides
        page = source.page(0, 100, economics=False)
        assert source.rest_form == "path" and len(page) == 100


def test_a_headers_page_of_2000(bitcoind, chain_3000):
    node = bitcoind(chain_3000)
    with source_for(node) as source:
        page = source.page(0, 5_000, economics=False)  # capped at REST's 2,000
    assert len(page) == 2_000 and page.height.tolist() == list(range(2_000))
    assert page.hash.tolist() == chain_3000.hashes[:2_000].tolist()
    assert page.prev_hash[1:].tolist() == page.hash[:-1].tolist()
    assert page.prev_hash[0] == "00" * 32
    assert page.bits.tolist() == chain_3000.fields["bits"][:2_000].tolist()
    assert page.version.tolist() == chain_3000.fields["version"][:2_000].tolist()
    assert page.nonce.tolist() == chain_3000.fields["nonce"][:2_000].tolist()
    assert "proof of work not checked (check_pow off: a test chain)" in page.notes


def test_pages_above_the_tip_are_empty_and_the_last_one_short(bitcoind, chain_3000):
    node = bitcoind(chain_3000)
    with source_for(node) as source:
        assert len(source.page(2_990, 100, economics=False)) == 11
        assert len(source.page(3_001, 100, economics=False)) == 0
        assert len(source.page(5_000, 100, economics=False)) == 0


def test_economics_of_each_block(bitcoind, chain_3000):
    node = bitcoind(chain_3000)
    with source_for(node, economics_batch=7) as source:
        page = source.page(0, 40)
        late = source.page(2_980, 21)
    econ = chain_3000.econ
    for p, lo in ((page, 0), (late, 2_980)):
        hi = lo + len(p)
        assert p.subsidy_sat.tolist() == [5_000_000_000] * len(p)
        assert p.fees_sat.tolist() == econ["fees"][lo:hi].tolist()
        assert p.tx_count.tolist() == econ["tx_count"][lo:hi].tolist()
        assert p.size_bytes.tolist() == econ["size"][lo:hi].tolist()
        assert p.weight_wu.tolist() == econ["weight"][lo:hi].tolist()
    for i in range(1, 40):
        coinbase = chain_3000.coinbase(i, {k: v[i] for k, v in econ.items()})
        assert page.coinbase_tag[i] == coinbase["scriptsig"]
        assert page.payout_scripts[i] == tuple(s for s, _ in coinbase["outputs"])
    # The genesis coinbase is no ordinary transaction: its tag and scripts stay unknown.
    assert page.coinbase_tag[0] is None and page.payout_scripts[0] is None
    assert page.fees_sat[0] == 0 and page.tx_count[0] == 1
    assert node.requests["rpc:getblockstats"] == 61 and node.requests["rpc:getblock"] == 61


def test_economics_off_asks_for_none(bitcoind, chain_3000):
    node = bitcoind(chain_3000)
    with source_for(node) as source:
        page = source.page(0, 50, economics=False)
    assert (page.fees_sat == -1).all() and (page.coinbase_tag == None).all()  # noqa: E711
    assert node.requests["rpc:getblockstats"] == 0 and node.requests["rpc:getblock"] == 0


def test_a_warming_node_is_a_transient_fault_that_retries_clear(bitcoind, chain_3000):
    node = bitcoind(chain_3000, warmup_requests=2)
    with source_for(node) as source:
        with pytest.raises(TransientSourceError, match="warming up"):
            source.tip()
        policy = retry.RetryPolicy(max_attempts=5, backoff_s=0, max_backoff_s=0)
        page = retry.call(lambda _: source.page(0, 100), policy=policy)
        assert len(page) == 100
        node.warmup_requests = 1  # REST answers 503 while warming up
        with pytest.raises(TransientSourceError, match="HTTP 503"):
            source.page(100, 100, economics=False)
        assert len(source.page(100, 100, economics=False)) == 100


def test_a_stopped_node_is_a_transient_fault(bitcoind, chain_3000):
    node = bitcoind(chain_3000)
    source = source_for(node)
    node.stop()
    with source, pytest.raises(TransientSourceError, match="cannot reach|ConnectError"):
        source.tip()


def test_the_node_network_must_be_the_one_asked_for(bitcoind):
    node = bitcoind(StandinChain.regtest_like(10))
    with (
        NodeSource(node.url, cookie_file=node.cookie_file, network="main") as source,
        pytest.raises(BadResponse, match="runs regtest .* not the network main"),
    ):
        source.tip()
    with NodeSource(node.url, cookie_file=node.cookie_file) as source:
        assert source.tip().network == "regtest"  # no network given: the node's is taken


def test_regtest_proof_of_work_is_checked_and_its_halving_at_150(bitcoind):
    chain = StandinChain.regtest_like(160)
    node = bitcoind(chain)
    with source_for(node, check_pow=True) as source:
        page = source.page(0, 200)
    assert len(page) == 161 and not any("not checked" in n for n in page.notes)
    assert page.subsidy_sat[149] == 5_000_000_000 and page.subsidy_sat[150] == 2_500_000_000
    assert page.subsidy_sat.tolist() == REGTEST.subsidy_sat_array(page.height).tolist()
    digests = hdr.hex_to_digests(page.hash)
    assert hdr.pow_ok(digests, page.bits).all()


def test_headers_without_work_are_refused_when_pow_is_checked(bitcoind, chain_3000):
    node = bitcoind(chain_3000)
    for rest in (True, False):
        with (
            source_for(node, check_pow=True, rest=rest) as source,
            pytest.raises(BadResponse, match=r"block 1 \(.*\) has a hash above the target"),
        ):
            source.page(0, 10, economics=False)


def test_a_reorg_moves_the_page_to_the_new_branch(bitcoind):
    chain = StandinChain.mainnet_like(1_000, seed=3)
    node = bitcoind(chain)
    with source_for(node) as source:
        before = source.page(0, 1_000, economics=False)  # source now remembers block 999
        old_tip = chain.hashes[-1]
        replaced = node.reorg(5, extra=2)
        assert replaced[-1] == old_tip
        after = source.page(1_000, 100, economics=False)
        assert after.height.tolist() == list(range(1_000, 1_003))
        assert after.prev_hash[0] == chain.hashes[999] != before.hash[-1]
        redo = source.page(995, 100)
    assert redo.hash.tolist() == chain.hashes[995:].tolist()
    assert redo.prev_hash[0] == before.hash[994]
    assert redo.chainwork.tolist() == [f"{w:064x}" for w in chain.chainwork[995:]]
    assert redo.median_time.tolist() == chain.median_time[995:].tolist()
    assert set(redo.hash.tolist()).isdisjoint(replaced)


def test_the_mainnet_like_chain_uses_real_bits_and_times(epochs_csv, blocks_csv):
    from minerwatch.sources.files import read_epochs

    chain = StandinChain.mainnet_like(919_400, start_height=914_000)
    heights = np.arange(914_000, 919_401)
    epochs = read_epochs(epochs_csv)
    epoch = np.searchsorted(epochs.start_height, heights, side="right") - 1
    assert chain.fields["bits"].tolist() == epochs.bits[epoch].tolist()
    real = np.loadtxt(blocks_csv, delimiter=",", skiprows=1, dtype=np.int64)
    covered = chain.fields["time"][real[0, 0] - 914_000 : real[-1, 0] - 914_000 + 1]
    assert covered.tolist() == real[:, 1].tolist()
    times = chain.fields["time"].astype(np.int64)
    mtp = hdr.median_time_past(times)
    assert (times[1:] > mtp[:-1]).all()  # every block above its parent's median time past
    assert chain.median_time.tolist() == mtp.tolist()


def test_stale_blocks_stay_readable_after_a_reorg(bitcoind):
    chain = StandinChain.mainnet_like(200, seed=5)
    node = bitcoind(chain)
    replaced = node.reorg(3)
    with source_for(node) as source:
        header = source._call("getblockheader", [replaced[0], True])
        assert header["confirmations"] == -1 and header["height"] == 198
        assert source.hash_at(198) == chain.hashes[198] != replaced[0]


def test_prefetched_pages_equal_fresh_ones_and_never_hide_new_blocks(bitcoind):
    chain = StandinChain.mainnet_like(4_000, seed=11)
    node = bitcoind(chain)
    with source_for(node) as source, source_for(node, prefetch=False) as plain:
        pages = [source.page(0, 2_000, economics=False)]
        pages.append(source.page(2_000, 2_000, economics=False))  # the prefetched one
        assert [len(p) for p in pages] == [2_000, 1_999]
        # The next prefetch reached the tip (a short answer): it must not be used once the
        # node has more blocks.
        node.extend(10)
        pages.append(source.page(3_999, 2_000, economics=False))
        assert pages[-1].height.tolist() == list(range(3_999, 4_011))
        start = 0
        for page in pages:
            _same_pages(page, plain.page(start, 2_000, economics=False))
            start += len(page)
    # source: 1 + 1 prefetched + 1 prefetched (short, unused) + 1 fresh; plain: 3
    assert node.requests["rest:headers"] == 7


def test_a_chain_served_from_a_start_height(bitcoind):
    chain = StandinChain.mainnet_like(2_300, start_height=2_000, seed=2)
    node = bitcoind(chain)
    with source_for(node) as source:
        first = source.page(2_000, 100, economics=False)  # no blocks below: by JSON-RPC
        after = source.page(2_100, 100, economics=False)  # then REST from the page's end
    assert first.hash.tolist() == chain.hashes[:100].tolist()
    assert after.hash.tolist() == chain.hashes[100:200].tolist()
    assert first.notes[0] == "headers by JSON-RPC" and after.notes[0] == "headers by REST"
    assert after.median_time.tolist() == chain.median_time[100:200].tolist()
