"""`minerwatch sync node` end to end against the stand-in Bitcoin Core on 127.0.0.1: a chain
with mainnet epochs' bits and the real block times of heights 915,264 to 919,296 gives the
same figures as the blocks CSV import of the same blocks; reorgs injected between and during
syncs; credentials never shown."""

from __future__ import annotations

import json

import pytest

from standins.bitcoind import StandinChain
from store_checks import assert_day_sums_kept

FIRST, LAST = 915_264, 919_296
PRICES_NOW = 1_767_252_600  # 2026-01-01 07:30 UTC: every day of the prices file is complete


@pytest.fixture(scope="module")
def real_times_chain() -> StandinChain:
    return StandinChain.mainnet_like(LAST, start_height=FIRST, seed=3)


def _sync(cli, node, db, *more):
    return cli(
        "sync",
        "node",
        "--url",
        node.url,
        "--cookie",
        node.cookie_file,
        "--skip-pow-check",
        "--db",
        db,
        *more,
        env={"MINERWATCH_HTTP_BACKOFF_S": "0.01"},
    )


def _json(cli, *args):
    result = cli(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_sync_node_and_sync_prices_give_what_the_csv_import_gives(
    cli, bitcoind, real_times_chain, tmp_path, data_dir
):
    node = bitcoind(real_times_chain)
    synced, imported = tmp_path / "node.duckdb", tmp_path / "csv.duckdb"
    pool_list = data_dir / "mining_pools" / "generated_pool-list.json"
    assert cli("import", "pools", pool_list, "--db", synced).returncode == 0
    result = _sync(cli, node, synced, "--from-height", FIRST)
    assert result.returncode == 0, result.stderr
    assert f"{LAST - FIRST + 1:,} blocks" in result.stdout
    # the same blocks through the files a user would import
    blocks_csv, epochs_csv = tmp_path / "blocks.csv", tmp_path / "epochs.csv"
    assert cli("export", "blocks", "--out", blocks_csv, "--db", synced).returncode == 0
    assert cli("export", "epochs", "--out", epochs_csv, "--db", synced).returncode == 0
    assert cli("import", "epochs", epochs_csv, "--db", imported).returncode == 0
    assert cli("import", "blocks", blocks_csv, "--db", imported).returncode == 0
    # prices from the exchanges' candle endpoints (stand-ins serving the real closes)
    from tests.standins.exchanges import ExchangesStandin

    env = {"MINERWATCH_HTTP_BACKOFF_S": "0.01", "MINERWATCH_PRICES_NOW_S": f"{PRICES_NOW}"}
    with ExchangesStandin(data_dir / "prices_btcusd_daily.csv", PRICES_NOW) as venues:
        for db in (synced, imported):
            got = cli(
                "sync", "prices", "--source", "coinbase", "--source", "kraken",
                "--source", "bitstamp", "--url", venues.url, "--db", db,
                env=env,
            )  # fmt: skip
            assert got.returncode == 0, got.stderr
    for day in ("2025-09-20", "2025-10-01", "2025-10-06"):
        assert _json(cli, "status", "--as-of", day, "--db", synced) == _json(
            cli, "status", "--as-of", day, "--db", imported
        )
    for height in (FIRST + 100, 917_279, 917_280, 918_500, LAST):
        assert _json(cli, "difficulty", "--at-height", height, "--db", synced) == _json(
            cli, "difficulty", "--at-height", height, "--db", imported
        )
    for window in ("epoch", "7d", "1000"):
        a = _json(cli, "pools", "--window", window, "--as-of", "2025-10-10", "--db", synced)
        b = _json(cli, "pools", "--window", window, "--as-of", "2025-10-10", "--db", imported)
        # the file carries each block's coinbase and transaction count: the blocks the list
        # does not name are "unknown" in both, and the empty blocks the same
        assert a == b and len(a["pools"]) > 5 and a["unknown"]["blocks"] > 0
    # the stand-in's blocks: their real times, bits, and hashes as the node gave them
    info = _json(cli, "info", "--db", synced)
    assert info["chain"]["node"]["tip_hash"] == real_times_chain.hashes[-1]
    assert info["chain"]["node"]["base_height"] == FIRST


def test_reorgs_between_syncs_and_credentials_never_shown(cli, bitcoind, tmp_path):
    chain = StandinChain.mainnet_like(2_100, seed=11)
    node = bitcoind(chain)
    db = tmp_path / "n.duckdb"
    assert _sync(cli, node, db).returncode == 0
    for depth in (1, 3, 7):
        old_tip = chain.hashes[-1]
        node.reorg(depth, extra=1)
        result = _sync(cli, node, db)
        assert result.returncode == 0, result.stderr
        assert "reorg" in result.stdout
        info = _json(cli, "info", "--db", db)
        assert info["reorgs"][-1]["depth"] == depth
        assert info["reorgs"][-1]["old_tip_hash"] == old_tip
        assert info["chain"]["node"]["tip_hash"] == chain.hashes[-1]
    cookie = node.cookie_file.read_text().split(":", 1)[1]
    for args in (("info",), ("config", "show")):
        shown = cli(*args, "--db", db) if args == ("info",) else cli(*args)
        assert cookie not in shown.stdout + shown.stderr
    refused = cli(
        "sync",
        "node",
        "--url",
        node.url,
        "--cookie",
        tmp_path / "absent",
        "--user",
        "u",
        "--password",
        "not-the-password",
        "--db",
        db,
        "--skip-pow-check",
    )
    assert refused.returncode == 3
    assert "not-the-password" not in refused.stdout + refused.stderr


def test_watch_prints_each_new_block_from_the_node(cli, bitcoind, tmp_path):
    import threading
    import time

    chain = StandinChain.regtest_like(160, seed=5)  # real proof of work, past a halving
    node = bitcoind(chain)
    db = tmp_path / "w.duckdb"

    def mine():
        time.sleep(1.5)
        for _ in range(3):
            node.extend(1)
            time.sleep(0.4)

    thread = threading.Thread(target=mine, daemon=True)
    thread.start()
    result = cli(
        "watch",
        "--url",
        node.url,
        "--cookie",
        node.cookie_file,
        "--poll",
        "0.2",
        "--until-height",
        163,
        "--for",
        60,
        "--db",
        db,
    )
    thread.join(10)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for height in (161, 162, 163):
        (line,) = [x for x in lines if x.strip().startswith(f"{height}")]
        assert "+" in line and "fees" in line  # the time since the previous block, fees
    as_json = cli(
        "watch",
        "--url",
        node.url,
        "--cookie",
        node.cookie_file,
        "--until-height",
        163,
        "--for",
        30,
        "--json",
        "--db",
        db,
    )
    update = json.loads(as_json.stdout.splitlines()[0])
    assert update["tip_height"] == 163 and update["blocks"][-1]["provisional"] is True


def test_watch_runs_the_rules_on_each_block_and_a_reorg_fires_at_once(cli, bitcoind, tmp_path):
    """`watch --alerts RULES`: the rules run after each block the node finds; a reorg 2
    deep fires the pack's kind of Reorg rule within the same wake-up, delivered once to a
    JSONL file (the block after it delivers nothing new)."""
    import threading
    import time

    chain = StandinChain.regtest_like(160, seed=7)
    node = bitcoind(chain)
    db = tmp_path / "a.duckdb"
    out = tmp_path / "alerts.jsonl"
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "groups:\n  - name: chain\n    rules:\n      - alert: Reorg\n"
        "        expr: reorg_depth_1d >= 1\n"
        '        annotations: {summary: "reorg {{ reorg_depth_1d }} deep"}\n'
        f'notifiers:\n  - {{type: jsonl, path: "{out}"}}\n'
    )

    def mine():
        time.sleep(1.5)
        node.reorg(2, extra=1)  # 158 and 159 replaced, 160 on top
        time.sleep(1.0)
        node.extend(1)

    thread = threading.Thread(target=mine, daemon=True)
    thread.start()
    result = cli(
        "watch", "--url", node.url, "--cookie", node.cookie_file, "--poll", "0.2",
        "--until-height", 161, "--for", 60, "--alerts", rules, "--json", "--db", db,
    )  # fmt: skip
    thread.join(10)
    assert result.returncode == 0, result.stderr
    updates = [json.loads(x) for x in result.stdout.splitlines()]
    runs = [u["alerts"] for u in updates if "alerts" in u]
    assert len(runs) >= 2  # on the start and after each new tip
    assert any(r["states"]["Reorg"] == "firing" for r in runs)
    delivered = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(d["status"], d["labels"]["alertname"]) for d in delivered] == [("firing", "Reorg")]
    assert delivered[0]["annotations"]["summary"] == "reorg 2 deep"


def _fresh_copy(cli, node, tmp_path, name, first):
    db = tmp_path / name
    assert _sync(cli, node, db, "--from-height", first).returncode == 0
    return db


@pytest.mark.parametrize(
    ("tip", "depth", "question"),
    [
        # 915,493 is the first block of 2025-09-20 (UTC): the reorg replaces the last blocks
        # of the 19th and the first of the 20th
        (915_500, 10, ("status", "--as-of", "2025-09-19")),
        # 917,280 begins an epoch: the reorg replaces the retarget block and those before it
        (917_285, 10, ("difficulty", "--at-height", "917285")),
    ],
    ids=["across-midnight", "across-retarget"],
)
def test_a_reorg_recomputes_what_follows_from_the_fork(
    cli, bitcoind, tmp_path, data_dir, tip, depth, question
):
    node = bitcoind(StandinChain.mainnet_like(tip, start_height=FIRST, seed=9))
    db = _fresh_copy(cli, node, tmp_path, "followed.duckdb", FIRST)
    node.reorg(depth, extra=1)
    assert "reorg" in _sync(cli, node, db).stdout
    fresh = _fresh_copy(cli, node, tmp_path, "fresh.duckdb", FIRST)
    for d in (db, fresh):
        assert (
            cli("import", "prices", data_dir / "prices_btcusd_daily.csv", "--db", d).returncode == 0
        )
    assert _json(cli, *question, "--db", db) == _json(cli, *question, "--db", fresh)
    epochs = [cli("export", "epochs", "--db", d).stdout for d in (db, fresh)]
    assert epochs[0] == epochs[1]


def test_sigkill_at_random_points_then_resume_loses_and_duplicates_nothing(bitcoind, tmp_path):
    import random
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    node = bitcoind(StandinChain.mainnet_like(40_000, seed=13))
    command = [
        str(Path(sys.executable).with_name("minerwatch")),
        "sync",
        "node",
        "--url",
        node.url,
        "--cookie",
        str(node.cookie_file),
        "--skip-pow-check",
        "--headers-only",
    ]
    env = {"MINERWATCH_SYNC_HOLD_S": "0"}  # a commit per page: kills land between them too
    whole = tmp_path / "whole.duckdb"
    subprocess.run([*command, "--db", str(whole)], check=True, capture_output=True, env=_env(env))
    cut = tmp_path / "cut.duckdb"
    rng = random.Random(20261202)
    killed = 0
    for _ in range(4):
        process = subprocess.Popen(
            [*command, "--db", str(cut)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_env(env),
        )
        time.sleep(rng.uniform(0.3, 2.5))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait(30)
    subprocess.run([*command, "--db", str(cut)], check=True, capture_output=True, env=_env(env))
    assert killed >= 1
    exports = [
        subprocess.run(
            [command[0], "export", "blocks", "--db", str(db)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for db in (whole, cut)
    ]
    assert exports[0] == exports[1] and exports[0].count("\n") == 40_002
    assert assert_day_sums_kept(cut) == assert_day_sums_kept(whole)


def _env(extra):
    import os

    return {**os.environ, **extra}


def test_through_the_2012_halving_the_subsidy_follows_the_schedule(cli, bitcoind, tmp_path):
    node = bitcoind(StandinChain.mainnet_like(210_040, start_height=209_960, seed=17))
    db = tmp_path / "h.duckdb"
    assert _sync(cli, node, db, "--from-height", 209_960).returncode == 0
    rows = cli("export", "blocks", "--format", "json", "--db", db).stdout
    subsidy = {r["height"]: r["subsidy_sat"] for r in json.loads(rows)}
    assert subsidy[209_999] == 50 * 10**8 and subsidy[210_000] == 25 * 10**8
    assert len(subsidy) == 81
