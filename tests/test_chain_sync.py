"""The chain sync loop (ingest/chain_sync.py) over a chain source held in memory: resume,
reorgs of every depth, a reorg during the sync, a source that falls behind, an interrupted
sync resumed, and the consensus checks of each page. The network clients themselves are
tested against stand-in servers elsewhere; this is the loop's logic."""

from __future__ import annotations

import csv
import hashlib
import json

import numpy as np
import pytest

from minerwatch.chain.consensus import subsidy_sat
from minerwatch.errors import BadResponse, InputError, SourceUnavailable
from minerwatch.ingest.chain_sync import sync_chain
from minerwatch.sources.chainpage import BlockPage, ChainTip, empty_economics
from minerwatch.sources.retry import RetryPolicy
from minerwatch.store import open_store
from store_checks import assert_day_sums_kept

GENESIS_TIME = 1_231_006_505
BITS = 0x1D00FFFF


class MemoryChain:
    """A best chain of made-up blocks (hashes are digests of (branch, height)), with the
    ChainSource methods; ``reorg(depth)`` replaces the top blocks by another branch."""

    name = "node"
    url = "memory://chain"

    def __init__(self, length: int, network: str = "main") -> None:
        self.network = network
        self.hashes: list[str] = []
        self.times: list[int] = []
        self.branch = 0
        self.fail_after_pages: int | None = None
        self.on_page = None
        self.pages = 0
        self.extend(length)

    def _hash(self, height: int) -> str:
        return hashlib.sha256(f"{self.branch}:{height}".encode()).hexdigest()

    def extend(self, n: int) -> None:
        for _ in range(n):
            height = len(self.hashes)
            self.hashes.append(self._hash(height))
            self.times.append(GENESIS_TIME + 600 * height + 7 * (height % 3))

    def reorg(self, depth: int, extra: int = 0) -> None:
        self.branch += 1
        del self.hashes[len(self.hashes) - depth :]
        del self.times[len(self.times) - depth :]
        self.extend(depth + extra)

    def tip(self) -> ChainTip:
        return ChainTip(self.network, len(self.hashes) - 1, self.hashes[-1])

    def hash_at(self, height: int) -> str | None:
        return self.hashes[height] if 0 <= height < len(self.hashes) else None

    def page(self, start_height: int, count: int, *, economics: bool = True) -> BlockPage:
        self.pages += 1
        if self.fail_after_pages is not None and self.pages > self.fail_after_pages:
            from minerwatch.errors import TransientSourceError

            raise TransientSourceError("connection refused", url=self.url)
        if self.on_page is not None:
            self.on_page(self)
        heights = np.arange(start_height, min(start_height + count, len(self.hashes)))
        n = len(heights)
        econ = empty_economics(n)
        if economics:
            econ["subsidy_sat"] = np.array([subsidy_sat(int(h)) for h in heights], np.int64)
            econ["fees_sat"] = (heights * 13 % 5000).astype(np.int64)
            econ["tx_count"] = (1 + heights % 7).astype(np.int64)
        return BlockPage(
            height=heights.astype(np.int64),
            hash=np.array([self.hashes[h] for h in heights], object),
            prev_hash=np.array([self.hashes[h - 1] if h else "0" * 64 for h in heights], object),
            time=np.array([self.times[h] for h in heights], np.int64),
            median_time=np.full(n, -1, np.int64),
            bits=np.full(n, BITS, np.int64),
            version=np.ones(n, np.int64),
            nonce=heights.astype(np.int64),
            chainwork=np.full(n, None, object),
            **econ,
        )


def _sync(db, chain, **options):
    options.setdefault("check_pow", False)
    options.setdefault("page_size", 100)
    return sync_chain(db, chain, policy=RetryPolicy(max_attempts=1), **options)


def _held(db):
    with open_store(db, read_only=True) as store:
        blocks = store.con.execute("SELECT height, hash FROM blocks ORDER BY height").fetchall()
        stale = store.con.execute(
            "SELECT height, hash FROM stale_blocks ORDER BY height"
        ).fetchall()
        return blocks, stale, store.reorgs(), store.chain_state("node")


def test_fresh_sync_then_resume_writes_each_block_once(tmp_path):
    db = tmp_path / "c.duckdb"
    chain = MemoryChain(450)
    report = _sync(db, chain)
    # the probe, then the source's five 100-block pages joined into one write
    assert (report.pages, chain.pages) == (1 + 1, 5)
    blocks, stale, reorgs, state = _held(db)
    assert [h for h, _ in blocks] == list(range(450))
    assert [x for _, x in blocks] == chain.hashes
    assert (stale, reorgs) == ([], [])
    assert (state.tip_height, state.tip_hash, state.base_height) == (449, chain.hashes[-1], 0)
    assert not state.pow_checked
    chain.extend(30)
    again = _sync(db, chain)
    assert again.rows_read == 30 and again.written("blocks").new == 30
    blocks, *_ = _held(db)
    assert [x for _, x in blocks] == chain.hashes
    assert "nothing new" in " ".join(_sync(db, chain).notes)


def test_a_catch_up_joins_pages_into_writes_of_a_bounded_size(tmp_path):
    db = tmp_path / "c.duckdb"
    chain = MemoryChain(450)
    report = _sync(db, chain, batch_blocks=250)
    assert report.pages == 1 + 2 and chain.pages == 5  # 300 blocks, then 150
    assert [w.new for w in report.writes if w.table == "blocks"] == [450]
    blocks, *_ = _held(db)
    assert [x for _, x in blocks] == chain.hashes
    # one source page per write, as when nothing is joined
    single = tmp_path / "single.duckdb"
    assert _sync(single, MemoryChain(450), batch_blocks=1).pages == 1 + 5
    assert _held(single)[0] == blocks


def test_a_page_that_fails_in_a_run_keeps_the_pages_before_it(tmp_path):
    db = tmp_path / "c.duckdb"
    chain = MemoryChain(450)
    chain.fail_after_pages = 3  # the 4th request and every later one: connection refused
    with pytest.raises(SourceUnavailable):
        _sync(db, chain)
    blocks, _, _, state = _held(db)
    assert len(blocks) == 300 and state.tip_height == 299
    chain.fail_after_pages = None
    _sync(db, chain)
    assert [x for _, x in _held(db)[0]] == chain.hashes


@pytest.mark.parametrize("depth", [1, 2, 3, 6, 10])
def test_reorg_moves_the_replaced_blocks_to_stale_and_logs_it(tmp_path, depth):
    db = tmp_path / "c.duckdb"
    chain = MemoryChain(300)
    _sync(db, chain)
    old = list(chain.hashes)
    chain.reorg(depth, extra=1)
    report = _sync(db, chain)
    blocks, stale, reorgs, state = _held(db)
    assert [x for _, x in blocks] == chain.hashes
    assert stale == [(h, old[h]) for h in range(300 - depth, 300)]
    (reorg,) = reorgs
    assert (reorg.fork_height, reorg.depth) == (299 - depth, depth)
    assert (reorg.old_tip_hash, reorg.new_tip_hash) == (old[-1], chain.hashes[-1])
    assert state.tip_height == 300
    assert any("reorg" in note for note in report.notes)
    # exactly one best-chain block per height, and every block ever seen kept
    with open_store(db, read_only=True) as store:
        per_height = store.con.execute(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM blocks GROUP BY height)"
        ).fetchall()[0][0]
    assert per_height == 1 and len(blocks) + len(stale) == 301 + depth
    assert assert_day_sums_kept(db) == 3  # 301 blocks 600 s apart from 3 Jan 2009 18:15


def test_reorg_during_the_sync(tmp_path):
    db = tmp_path / "c.duckdb"
    chain = MemoryChain(250)
    _sync(db, chain)

    def reorg_once(source):
        if source.pages == 2:  # the second page of the next sync
            source.reorg(105, extra=0)  # heights 345.. replaced; 250..349 written

    chain.extend(200)
    chain.pages = 0
    chain.on_page = reorg_once
    report = _sync(db, chain)
    blocks, stale, reorgs, _ = _held(db)
    assert [x for _, x in blocks] == chain.hashes
    assert any("changed" in note for note in report.notes)
    # the reorg hit blocks the first page of this sync had written
    assert len(reorgs) == 1 and reorgs[0].depth == 5 and len(stale) == 5
    assert [h for h, _ in stale] == list(range(345, 350))
    assert_day_sums_kept(db)


def test_source_behind_changes_nothing(tmp_path):
    db = tmp_path / "c.duckdb"
    chain = MemoryChain(200)
    _sync(db, chain)
    behind = MemoryChain(150)
    report = _sync(db, behind)
    assert "behind" in " ".join(report.notes) and "on the chain held" in " ".join(report.notes)
    blocks, stale, reorgs, _ = _held(db)
    assert len(blocks) == 200 and not stale and not reorgs


def test_interrupted_sync_resumes_to_the_same_store(tmp_path):
    whole, cut = tmp_path / "whole.duckdb", tmp_path / "cut.duckdb"
    _sync(whole, MemoryChain(700))
    chain = MemoryChain(700)
    chain.fail_after_pages = 3
    with pytest.raises(SourceUnavailable):
        _sync(cut, chain)
    blocks, *_ = _held(cut)
    assert len(blocks) == 300  # three pages committed, nothing of the failed one
    chain.fail_after_pages = None
    _sync(cut, chain)
    assert _held(cut)[0] == _held(whole)[0]
    assert assert_day_sums_kept(cut) == assert_day_sums_kept(whole)


def test_from_height_starts_a_fresh_database_and_is_refused_later(tmp_path):
    db = tmp_path / "c.duckdb"
    chain = MemoryChain(400)
    _sync(db, chain, from_height=250)
    blocks, _, _, state = _held(db)
    assert blocks[0][0] == 250 and len(blocks) == 150
    assert (state.base_height, state.base_parent_hash) == (250, chain.hashes[249])
    with pytest.raises(InputError, match="only starts a fresh database"):
        _sync(db, chain, from_height=100)


def test_network_mismatch_is_refused(tmp_path):
    db = tmp_path / "c.duckdb"
    _sync(db, MemoryChain(20))
    with pytest.raises(InputError, match="holds the main chain"):
        _sync(db, MemoryChain(30, network="test"))


def test_a_page_breaking_a_rule_is_refused_and_nothing_written(tmp_path):
    db = tmp_path / "c.duckdb"
    chain = MemoryChain(150)
    chain.times[120] = chain.times[100]  # before the median time past
    with pytest.raises(BadResponse, match=r"block 120 \(time\).*median time past"):
        _sync(db, chain)
    blocks, *_ = _held(db)
    assert len(blocks) == 100  # the first page only


def test_proof_of_work_is_checked_unless_skipped(tmp_path):
    chain = MemoryChain(5)
    with pytest.raises(BadResponse, match="above the target"):
        _sync(tmp_path / "a.duckdb", chain, check_pow=True)


def test_subsidy_must_follow_the_schedule(tmp_path):
    class Greedy(MemoryChain):
        def page(self, start_height, count, *, economics=True):
            page = super().page(start_height, count, economics=economics)
            page.subsidy_sat[3] += 1
            return page

    with pytest.raises(BadResponse, match=r"block 3 \(subsidy_sat\)"):
        _sync(tmp_path / "a.duckdb", Greedy(10))


def test_info_lists_the_reorg_and_export_carries_every_block(tmp_path, cli):
    db = tmp_path / "c.duckdb"
    chain = MemoryChain(120)
    _sync(db, chain)
    old = list(chain.hashes)
    chain.reorg(4, extra=2)
    _sync(db, chain)
    doc = json.loads(cli("info", "--json", "--db", db).stdout)
    (reorg,) = doc["reorgs"]
    assert (reorg["height"], reorg["depth"], reorg["old_tip_hash"]) == (116, 4, old[-1])
    assert reorg["new_tip_hash"] == chain.hashes[-1] and doc["stale_blocks"] == 4
    assert doc["chain"]["node"]["tip_height"] == 121
    assert doc["chain"]["node"]["pow_checked"] is False
    text = cli("info", "--db", db).stdout
    assert "reorgs seen: 1 (4 stale blocks kept)" in text and "NOT checked" in text
    out = tmp_path / "b.csv"
    assert cli("export", "blocks", "--out", out, "--db", db).returncode == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 122 + 4
    stale = [r for r in rows if r["stale"] == "true"]
    assert [(int(r["height"]), r["hash"]) for r in stale] == [(h, old[h]) for h in range(116, 120)]
    best = [r for r in rows if r["stale"] == "false"]
    assert [r["hash"] for r in best] == chain.hashes
    assert all(r["prev_hash"] == chain.hashes[int(r["height"]) - 1] for r in best[1:])
    assert {r["source"] for r in rows} == {"node"}


def test_epochs_come_from_the_blocks_of_a_chain_source(tmp_path):
    db = tmp_path / "c.duckdb"
    chain = MemoryChain(4100)
    _sync(db, chain, from_height=1000, page_size=2000)
    with open_store(db, read_only=True) as store:
        epochs = store.read_epochs()
    assert epochs["start_height"].tolist() == [0, 2016, 4032]
    # epoch 0 begun below the first block held: its start time is not known
    assert epochs["start_time"].tolist()[1:] == [chain.times[2016], chain.times[4032]]
    assert epochs["start_time"][0] < 0 or np.isnan(epochs["start_time"][0])
    assert (epochs["bits"] == BITS).all()


def test_pools_are_named_from_the_imported_list(tmp_path, cli, data_dir):
    db = tmp_path / "c.duckdb"
    pool_list = data_dir / "mining_pools" / "generated_pool-list.json"
    assert cli("import", "pools", pool_list, "--db", db).returncode == 0
    # block 730000's coinbase scriptSig (mempool.space's example): Binance Pool's tag
    tag = (
        "0390230b1362696e616e63652f383038e0006f02cd583765fabe6d6d686355577affaad03015e73242"
        "8a927a5d2d842471b350394139616bcb4401d804000000000000001a750000c9ad0000"
    )

    class Tagged(MemoryChain):
        def page(self, start_height, count, *, economics=True):
            page = super().page(start_height, count, economics=economics)
            page.coinbase_tag[:] = np.where(page.height % 2 == 0, tag, "00")
            return page

    _sync(db, Tagged(10))
    with open_store(db, read_only=True) as store:
        pools = store.read_blocks()["pool"].tolist()
    assert pools == ["Binance Pool", None] * 5


def _one_row_per_height(db) -> tuple[int, int]:
    """(blocks, block_details) rows, after checking that each table holds at most one row
    per height and that every detail row belongs to a stored block."""
    with open_store(db, read_only=True) as store:
        for table in ("blocks", "block_details"):
            rows, heights = store.con.execute(
                f"SELECT count(*), count(DISTINCT height) FROM {table}"
            ).fetchall()[0]
            assert rows == heights, f"{table}: {rows} rows at {heights} heights"
        orphans = store.con.execute(
            "SELECT count(*) FROM block_details d ANTI JOIN blocks b ON b.height = d.height"
        ).fetchall()[0][0]
        assert orphans == 0
        return store.counts()["blocks"], store.con.execute(
            "SELECT count(*) FROM block_details"
        ).fetchall()[0][0]


def _csv_of(chain: MemoryChain, path, heights, shift_s: int = 0):
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["height", "time", "bits"])
        for h in heights:
            time = chain.times[h] if h < len(chain.times) else GENESIS_TIME + 600 * h
            out.writerow([h, time + shift_s, f"{BITS:08x}"])
    return path


def test_every_writer_keeps_one_block_per_height_and_its_details(tmp_path):
    import minerwatch

    db = tmp_path / "c.duckdb"
    chain = MemoryChain(300)
    _sync(db, chain)
    assert _one_row_per_height(db) == (300, 300)
    with open_store(db) as store:
        # the same blocks again from a CSV file, and 50 more: the node's rows keep their
        # hashes and details, the CSV's new rows have none
        report = minerwatch.import_blocks(store, _csv_of(chain, tmp_path / "a.csv", range(350)))
        assert (report.writes[0].new, report.writes[0].unchanged) == (50, 300)
        with store.transaction():
            store.write_block_coinbases(
                np.arange(10, 20), np.full(10, "03aa", object), np.full(10, None, object),
                np.full(10, 5), "coinbases",
            )  # fmt: skip
            store.write_block_coinbases(
                np.arange(320, 330), np.full(10, "03bb", object), np.full(10, None, object),
                np.full(10, -1), "coinbases",
            )  # fmt: skip
    assert _one_row_per_height(db) == (350, 310)
    assert_day_sums_kept(db)
    full = _blocks_full(db)
    assert full["hash"][:300].tolist() == chain.hashes and set(full["hash"][300:]) == {None}
    assert full["tx_count"][10:20].tolist() == [5] * 10
    assert full["tx_count"][20] == 1 + 20 % 7  # the node's count, untouched
    assert full["coinbase_tag"][320:330].tolist() == ["03bb"] * 10
    # a CSV branch over the node's blocks is refused (the node's sync makes its reorgs and
    # keeps the replaced blocks as stale); nothing changes
    with open_store(db) as store:
        branch = _csv_of(chain, tmp_path / "b.csv", range(250, 340), shift_s=60)
        with pytest.raises(InputError, match=r"from height 250 up came from a live source"):
            minerwatch.import_blocks(store, branch, replace=True)
    assert _blocks_full(db)["time"].tolist() == full["time"].tolist()
    assert_day_sums_kept(db)
    # a CSV branch over CSV blocks, from height 325 up: those blocks are gone with their
    # details, below 325 nothing moved
    with open_store(db) as store:
        branch = _csv_of(chain, tmp_path / "c.csv", range(325, 340), shift_s=60)
        report = minerwatch.import_blocks(store, branch, replace=True)
        assert report.writes[0].removed == 10
    assert _one_row_per_height(db) == (340, 305)
    assert_day_sums_kept(db)
    after = _blocks_full(db)
    assert set(after["coinbase_tag"][325:]) == {None}
    assert (after["time"][325:] - full["time"][325:340] == 60).all()
    for name in ("hash", "time", "prev_hash", "nonce", "tx_count", "coinbase_tag"):
        assert after[name][:325].tolist() == full[name][:325].tolist(), name


def _blocks_full(db) -> dict[str, np.ndarray]:
    with open_store(db, read_only=True) as store:
        rows = store.con.execute("SELECT * FROM blocks_full ORDER BY height").fetchnumpy()
    return {k: np.asarray(v.tolist() if hasattr(v, "mask") else v, object) for k, v in rows.items()}


def test_a_schema_2_database_keeps_every_block_value_when_migrated(tmp_path):
    import duckdb

    from minerwatch.store import _MIGRATIONS, SCHEMA_VERSION

    synced = tmp_path / "now.duckdb"
    chain = MemoryChain(120)
    _sync(synced, chain)
    expected = _blocks_full(synced)
    old = tmp_path / "v2.duckdb"
    with duckdb.connect(str(old)) as con:  # what minerwatch wrote before schema 3
        con.execute("CREATE TABLE schema_version (version INTEGER)")
        for version, statements in enumerate(_MIGRATIONS[:2], start=1):
            for statement in statements:
                con.execute(statement)
            con.execute("INSERT INTO schema_version VALUES (?)", [version])
        con.execute(f"ATTACH '{synced}' AS src (READ_ONLY)")
        con.execute("INSERT INTO blocks BY NAME SELECT * FROM src.blocks_full")
        con.execute("INSERT INTO blocks (height, time, bits) VALUES (120, ?, ?)",
                    [GENESIS_TIME + 72_000, BITS])  # fmt: skip
    with open_store(old) as store:
        assert store.schema_version() == SCHEMA_VERSION
    assert _one_row_per_height(old) == (121, 120)
    migrated = _blocks_full(old)
    for name, values in expected.items():
        assert migrated[name][:120].tolist() == values.tolist(), name
    assert migrated["hash"][120] is None and migrated["prev_hash"][120] is None
    assert assert_day_sums_kept(old) == 2  # summed up by the migration to schema 4
