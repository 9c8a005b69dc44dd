"""Pools: the real pool list, identification of real and drawn coinbases, the stored list
and re-identification, the share interval, and `minerwatch pools` end to end on the real
block times with coinbases drawn from the real list."""

from __future__ import annotations

import csv
import json
import math
import shutil
from datetime import UTC, datetime
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest

import minerwatch
from minerwatch.chain.addresses import address_script
from minerwatch.errors import InputError
from minerwatch.ingest.pools import import_pools
from minerwatch.metrics.pools import Window, parse_window, wilson_interval
from minerwatch.sources.pools import identify, read_pool_list

WITNESS_COMMITMENT = "6a24aa21a9ed" + "11" * 32  # an OP_RETURN output every block has


@pytest.fixture(scope="module")
def list_file(data_dir) -> Path:
    path = data_dir / "mining_pools" / "generated_pool-list.json"
    assert path.exists(), f"the real pool list is missing: {path}"
    return path


@pytest.fixture(scope="module")
def raw_list(list_file) -> list[dict]:
    return json.loads(list_file.read_text())


@pytest.fixture(scope="module")
def pools(list_file):
    return read_pool_list(list_file)


# -- identification of real coinbases --------------------------------------------------


@pytest.fixture(scope="module")
def block_730000(data_dir) -> dict:
    """mempool.space's documented /api/v1/blocks/730000 response (the shared docs beside
    the data): block 730000, which mempool identifies as Binance Pool's."""
    path = data_dir.parent / "docs" / "api_examples" / "mempool_v1_blocks_730000.json"
    assert path.exists(), f"the mempool.space example is missing: {path}"
    return json.loads(path.read_text())["response"][0]


def test_block_730000_is_binance_by_its_tag(pools, block_730000):
    extras = block_730000["extras"]
    got = identify(np.array([extras["coinbaseRaw"]], object), np.array([None], object), pools)
    assert got.tolist() == [extras["pool"]["name"]] == ["Binance Pool"]


def test_block_730000_is_binance_by_its_payout_address(pools, block_730000):
    extras = block_730000["extras"]
    script = address_script(extras["coinbaseAddress"])
    # The script mempool.space shows for the coinbase output (coinbaseSignature).
    assert script[6:46] == extras["coinbaseSignature"].split()[3]
    got = identify(np.array([None], object), np.array([(script,)], object), pools)
    assert got.tolist() == ["Binance Pool"]


def test_both_generated_formats_give_the_same_pools(list_file, pools, block_730000):
    old = read_pool_list(list_file.with_name("generated_pools.json"))
    assert sorted(old.name) == sorted(pools.name) and len(old) == 148
    tags = np.array([block_730000["extras"]["coinbaseRaw"]], object)
    assert identify(tags, np.array([None], object), old).tolist() == ["Binance Pool"]


def _hex(text: str) -> str:
    return text.encode("utf-8").hex()


def test_addresses_win_over_tags_and_tags_ignore_ascii_case(pools, raw_list):
    by_name = {p["name"]: p for p in raw_list}
    binance = address_script(by_name["Binance Pool"]["addresses"][0])
    tags = np.array(
        [
            "03aabbcc" + _hex("/ViaBTC/"),  # tag only
            "03aabbcc" + _hex("/VIABTC/ mined"),  # another case
            "03aabbcc" + _hex("/ViaBTC/"),  # pays Binance's address: the address decides
            "03aabbcc" + _hex("/八宝池 8baochi.com/"),  # a UTF-8 tag, searched as its bytes
            "03aabbcc" + _hex("/some solo miner/"),  # no pool's
            None,  # nothing known
        ],
        object,
    )
    scripts = np.array(
        [None, "0014" + "22" * 20, f"{WITNESS_COMMITMENT} {binance}", (), None, None], object
    )
    got = identify(tags, scripts, pools).tolist()
    assert got == ["ViaBTC", "ViaBTC", "Binance Pool", "8baochi", None, None]


def test_the_first_paying_output_decides(pools, raw_list):
    by_name = {p["name"]: p for p in raw_list}
    via, f2 = (address_script(by_name[n]["addresses"][0]) for n in ("ViaBTC", "F2Pool"))
    scripts = np.array([(via, f2), (f2, via)], object)
    got = identify(np.array([None, None], object), scripts, pools)
    assert got.tolist() == ["ViaBTC", "F2Pool"]
    # The same as the store keeps them (space-separated), uppercase hex, a doubled space.
    stored = np.array([f"{via} {f2}", f"{f2.upper()}  {via}", None], object)
    got = identify(np.array([None, None, None], object), stored, pools)
    assert got.tolist() == ["ViaBTC", "F2Pool", None]


def test_a_bad_list_is_refused_naming_the_pool(tmp_path, raw_list):
    broken = [dict(p) for p in raw_list]
    broken[2] = {**broken[2], "addresses": ["1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"]}
    path = tmp_path / "pools.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(InputError, match=rf"{path}: pool 'EMCDPool': address .* checksum"):
        read_pool_list(path)
    path.write_text("{not json")
    with pytest.raises(InputError, match="not JSON"):
        read_pool_list(path)
    with pytest.raises(InputError, match="bitcoin-data/mining-pools"):
        read_pool_list(tmp_path / "absent.json")


# -- the share interval ----------------------------------------------------------------


def _wilson_by_hand(k: int, n: int, c: float) -> tuple[float, float]:
    """Wilson's interval from its definition, with the standard library's normal quantile:
    the roots in p0 of (k/n - p0)**2 = z**2 p0 (1 - p0) / n."""
    z = NormalDist().inv_cdf(1 - (1 - c) / 2)
    # (1 + z2/n) p0**2 - (2 p + z2/n) p0 + p**2 = 0
    p, z2n = k / n, z * z / n
    a, b, cc = 1 + z2n, -(2 * p + z2n), p * p
    root = math.sqrt(b * b - 4 * a * cc)
    return (-b - root) / (2 * a), (-b + root) / (2 * a)


@pytest.mark.parametrize(("k", "n"), [(0, 144), (1, 144), (40, 144), (144, 144), (310, 1008)])
def test_wilson_interval_equals_the_score_test_roots(k, n):
    low, high = wilson_interval(np.array([k]), np.array([n]), 0.9)
    want = _wilson_by_hand(k, n, 0.9)
    assert low[0] == pytest.approx(want[0], abs=1e-9)
    assert high[0] == pytest.approx(want[1], abs=1e-9)


def test_wilson_interval_covers_about_90_percent():
    # Exact coverage for 144 blocks, averaged over shares from 1% to 50%: each k's
    # binomial probability where the share lies inside k's interval.
    n = 144
    k = np.arange(n + 1)
    low, high = wilson_interval(k, np.full(n + 1, n), 0.9)
    log_choose = np.array(
        [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in k]
    )
    coverage = []
    for p in np.linspace(0.01, 0.5, 50):
        pmf = np.exp(log_choose + k * math.log(p) + (n - k) * math.log1p(-p))
        coverage.append(pmf[(low <= p) & (p <= high)].sum())
    assert 0.88 < np.mean(coverage) < 0.92
    assert min(coverage) > 0.75


def test_window_parsing():
    assert parse_window("7d") == Window("7d", days=7)
    assert parse_window("epoch") == Window("epoch")
    assert parse_window("144") == Window("144", blocks=144)
    for bad in ("0", "2w", "-5", ""):
        with pytest.raises(InputError, match="^window"):
            parse_window(bad)


# -- a database of the real block times with coinbases drawn from the real list ----------


def _unambiguous_tags(raw_list) -> list[tuple[str, str]]:
    """(pool, tag) whose tag contains no other pool's tag (case aside): a block carrying it
    can only be that pool's."""
    every = [(p["name"], t.lower()) for p in raw_list for t in p["tags"]]
    return [
        (p["name"], t)
        for p in raw_list
        for t in p["tags"]
        if not any(o != p["name"] and ot in t.lower() for o, ot in every)
    ]


@pytest.fixture(scope="module")
def drawn(blocks_csv, raw_list):
    """Per real block (height, time): the pool drawn, its coinbase scriptSig, payout
    scripts and transaction count. Half the blocks pay a drawn pool's address, a third
    carry a drawn pool's tag (and pay an unknown script), the rest carry neither."""
    with open(blocks_csv, newline="") as f:
        rows = [(int(r["height"]), int(r["time"])) for r in csv.DictReader(f)]
    rng = np.random.default_rng(915_264)
    with_address = [p for p in raw_list if p["addresses"]][:12]
    tagged = _unambiguous_tags(raw_list)[:30]
    every_tag = [t.lower().encode() for p in raw_list for t in p["tags"]]
    out = []
    for height, time in rows:
        kind = rng.choice(3, p=[0.5, 0.35, 0.15])
        noise = rng.integers(0, 256, 8, dtype=np.uint8).tobytes()
        script = "0014" + rng.integers(0, 256, 20, dtype=np.uint8).tobytes().hex()
        text = b"/solo miner/"
        pool = None
        if kind == 0:
            p = with_address[int(rng.integers(len(with_address)))]
            script, pool = address_script(p["addresses"][0]), p["name"]
        elif kind == 1:
            pool, tag = tagged[int(rng.integers(len(tagged)))]
            text = tag.encode()
        sig = b"\x03" + height.to_bytes(3, "little") + noise[:4] + text + noise[4:]
        if kind != 1:
            assert not any(t in sig.lower() for t in every_tag), "no pool's tag by chance"
        tx_count = 1 if rng.random() < 0.04 else int(rng.integers(1500, 4500))
        out.append((height, time, pool, sig.hex(), (script, WITNESS_COMMITMENT), tx_count))
    return out


def _store_drawn(path: Path, epochs_csv: Path, blocks_csv: Path, list_file: Path, drawn):
    with minerwatch.open_store(path) as store:
        minerwatch.import_epochs(store, epochs_csv)
        minerwatch.import_blocks(store, blocks_csv)
        with store.transaction():
            store.write_block_coinbases(
                np.array([d[0] for d in drawn]),
                np.array([d[3] for d in drawn], object),
                np.array([d[4] for d in drawn], object),
                np.array([d[5] for d in drawn]),
                "drawn coinbases",
            )
        report = import_pools(store, list_file)
    return report


@pytest.fixture(scope="module")
def pools_db(tmp_path_factory, epochs_csv, blocks_csv, list_file, drawn) -> Path:
    path = tmp_path_factory.mktemp("pools") / "pools.duckdb"
    report = _store_drawn(path, epochs_csv, blocks_csv, list_file, drawn)
    assert report.writes[0].new == 148
    assert report.writes[1].changed == sum(d[2] is not None for d in drawn)
    return path


def test_stored_blocks_are_identified_as_drawn(pools_db, drawn):
    with minerwatch.open_store(pools_db, read_only=True) as store:
        stored = store.read_blocks()
    assert stored["pool"].tolist() == [d[2] for d in drawn]


def test_the_stored_list_identifies_like_the_file(pools_db, pools, drawn):
    with minerwatch.open_store(pools_db, read_only=True) as store:
        kept = store.read_pool_list()
        page = store.read_block_coinbases(min_height=916_000, max_height=916_999)
    assert kept is not None and kept.name == pools.name and kept.tags == pools.tags
    assert len(page["height"]) == 1000
    assert identify(page["coinbase_tag"], page["payout_scripts"], kept).tolist() == [
        d[2] for d in drawn if 916_000 <= d[0] <= 916_999
    ]


def test_a_new_list_reidentifies_the_stored_blocks(
    tmp_path, pools_db, list_file, raw_list, drawn, cli
):
    path = tmp_path / "db.duckdb"
    shutil.copy(pools_db, path)
    name = max({d[2] for d in drawn if d[2]}, key=[d[2] for d in drawn].count)
    trimmed = [p for p in raw_list if p["name"] != name]
    new_list = tmp_path / "pool-list.json"
    new_list.write_text(json.dumps(trimmed))
    again = cli("import", "pools", list_file, "--db", path)
    assert again.returncode == 0, again.stderr
    assert "4,033 stored block(s) with coinbase data identified again: 0 changed pool" in " ".join(
        again.stdout.split()
    )
    held = cli("import", "pools", new_list, "--no-reidentify", "--db", path)
    assert held.returncode == 0, held.stderr
    with minerwatch.open_store(path, read_only=True) as store:
        assert store.read_blocks()["pool"].tolist().count(name) > 0
    done = cli("import", "pools", new_list, "--db", path)
    assert done.returncode == 0, done.stderr
    assert "1 pool(s) of the stored list are not in this one" in " ".join(held.stdout.split())
    expected = [None if d[2] == name else d[2] for d in drawn]
    with minerwatch.open_store(path, read_only=True) as store:
        assert store.read_blocks()["pool"].tolist() == expected
    assert f"{[d[2] for d in drawn].count(name):,} changed pool" in " ".join(done.stdout.split())


def test_coinbases_of_blocks_not_stored_are_refused(tmp_path, epochs_csv, blocks_csv):
    path = tmp_path / "db.duckdb"
    with minerwatch.open_store(path) as store:
        minerwatch.import_epochs(store, epochs_csv)
        minerwatch.import_blocks(store, blocks_csv)
        with pytest.raises(InputError, match="block 919297 is not stored"), store.transaction():
            store.write_block_coinbases(
                np.array([919_296, 919_297]),
                np.array(["00", "00"], object),
                np.array([None, None], object),
                np.array([1, 1]),
                "test",
            )
        assert store.read_block_coinbases()["height"].size == 0


# -- minerwatch pools ------------------------------------------------------------------


def _day_end(day: str) -> int:
    return int(datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()) + 86_400


def _json(cli, db, *args) -> dict:
    done = cli("pools", "--db", db, "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _expected_counts(blocks) -> dict[str | None, int]:
    counts: dict[str | None, int] = {}
    for b in blocks:
        counts[b[2]] = counts.get(b[2], 0) + 1
    return counts


def _epoch_difficulty(epochs_csv: Path) -> dict[int, float]:
    with open(epochs_csv, newline="") as f:
        return {int(r["start_height"]): float(r["difficulty"]) for r in csv.DictReader(f)}


def test_one_day_window(cli, pools_db, drawn, epochs_csv):
    day = "2025-10-01"
    end = _day_end(day)
    inside = [d for d in drawn if end - 86_400 <= d[1] < end]
    r = _json(cli, pools_db, "--as-of", day, "--window", "1d")
    assert r["blocks"] == r["blocks_with_pool_data"] == len(inside)
    assert [r["first_height"], r["last_height"]] == [inside[0][0], inside[-1][0]]
    want = _expected_counts(inside)
    assert {p["name"]: p["blocks"] for p in r["pools"]} == {
        k: v for k, v in want.items() if k is not None
    }
    assert r["unknown"]["blocks"] == want.get(None, 0)
    blocks = [p["blocks"] for p in r["pools"]]
    assert blocks == sorted(blocks, reverse=True)
    top = r["pools"][0]
    assert top["share_pct"] == pytest.approx(100 * top["blocks"] / len(inside), abs=1e-4)
    low, high = _wilson_by_hand(top["blocks"], len(inside), 0.9)
    assert [top["share_low_pct"], top["share_high_pct"]] == pytest.approx(
        [100 * low, 100 * high], abs=1e-4
    )
    assert top["empty_blocks"] == sum(1 for d in inside if d[2] == top["name"] and d[5] == 1)
    # The network hashrate of the day: its blocks' work over 86,400 s (Coin Metrics').
    difficulty = _epoch_difficulty(epochs_csv)
    work = sum(difficulty[d[0] - d[0] % 2016] for d in inside) * 2**32
    assert r["network_hashrate_ehs"] == pytest.approx(work / 86_400 / 1e18, abs=1e-3)
    assert top["hashrate_ehs"] == pytest.approx(
        top["blocks"] / len(inside) * work / 86_400 / 1e18, abs=1e-3
    )
    assert r["provisional"] is False
    assert r["window_end"] == "2025-10-02T00:00:00Z"


def test_epoch_and_block_windows(cli, pools_db, drawn):
    day = "2025-10-10"
    end = _day_end(day)
    before = [d for d in drawn if d[1] < end]
    tip = max(d[0] for d in before)
    epoch = [d for d in before if d[0] >= tip - tip % 2016]
    r = _json(cli, pools_db, "--as-of", day, "--window", "epoch")
    assert r["first_height"] == tip - tip % 2016 == 917_280 and r["last_height"] == tip
    assert r["blocks"] == len(epoch)
    assert {p["name"]: p["blocks"] for p in r["pools"]} == {
        k: v for k, v in _expected_counts(epoch).items() if k is not None
    }
    assert r["network_hashrate_ehs"] is not None
    last = sorted(before)[-144:]
    r = _json(cli, pools_db, "--as-of", day, "--window", "144")
    assert r["blocks"] == 144 and r["first_height"] == last[0][0]
    assert r["unknown"]["blocks"] == _expected_counts(last).get(None, 0)
    text = cli("pools", "--db", pools_db, "--as-of", day, "--window", "144").stdout
    assert f"Pools, 144-block window to the end of {day}" in text


def test_a_week_before_the_blocks_reach_back_has_no_network_hashrate(cli, pools_db):
    r = _json(cli, pools_db, "--as-of", "2025-09-20", "--window", "7d")
    assert r["blocks"] > 0 and r["network_hashrate_ehs"] is None
    assert all(p["hashrate_ehs"] is None for p in r["pools"])
    assert any("reach back" in n for n in r["notes"])


def test_nothing_after_as_of_is_read(tmp_path, cli, pools_db, drawn, epochs_csv, list_file):
    # A database holding only the blocks up to the last one stamped on the day gives the
    # same figures as the whole one.
    day = "2025-10-05"
    end = _day_end(day)
    tip = max(d[0] for d in drawn if d[1] < end)
    cut_csv = tmp_path / "blocks.csv"
    cut_csv.write_text("height,time\n" + "".join(f"{d[0]},{d[1]}\n" for d in drawn if d[0] <= tip))
    path = tmp_path / "cut.duckdb"
    _store_drawn(path, epochs_csv, cut_csv, list_file, [d for d in drawn if d[0] <= tip])
    for window in ("1d", "7d", "epoch", "500"):
        whole = _json(cli, pools_db, "--as-of", day, "--window", window)
        cut = _json(cli, path, "--as-of", day, "--window", window)
        assert cut.pop("provisional") is True  # its tip is in the window
        assert whole.pop("provisional") is False
        assert cut == whole


def test_the_last_day_is_provisional_and_the_default(cli, pools_db, drawn):
    r = _json(cli, pools_db, "--window", "1d")
    last_day = datetime.fromtimestamp(max(d[1] for d in drawn), UTC).strftime("%Y-%m-%d")
    assert r["as_of"] == last_day and r["provisional"] is True


def test_json_shape(cli, pools_db):
    r = _json(cli, pools_db, "--as-of", "2025-10-01")
    assert list(r) == [
        "as_of", "window", "window_start", "window_end", "first_height", "last_height",
        "blocks", "blocks_with_pool_data", "pools", "unknown", "network_hashrate_ehs",
        "network_hashrate_low_ehs", "network_hashrate_high_ehs", "network_hashrate_method",
        "confidence", "interval_method", "provisional", "notes",
    ]  # fmt: skip
    assert r["window"] == "7d" and r["confidence"] == 0.9
    assert list(r["unknown"]) == list(r["pools"][0]) == [
        "name", "blocks", "share_pct", "share_low_pct", "share_high_pct", "hashrate_ehs",
        "empty_blocks",
    ]  # fmt: skip
    assert r["unknown"]["name"] is None
    total = sum(p["blocks"] for p in r["pools"]) + r["unknown"]["blocks"]
    assert total == r["blocks_with_pool_data"]
    assert sum(p["share_pct"] for p in r["pools"]) + r["unknown"]["share_pct"] == pytest.approx(100)
    for p in [*r["pools"], r["unknown"]]:
        assert p["share_low_pct"] <= p["share_pct"] <= p["share_high_pct"]


def test_terminal_table(cli, pools_db):
    done = cli("pools", "--db", pools_db, "--as-of", "2025-10-01", "--window", "1d")
    assert done.returncode == 0, done.stderr
    assert "Pools, 1d window to the end of 2025-10-01" in done.stdout
    assert "unknown" in done.stdout and "EH/s" in done.stdout and "Wilson" in done.stdout


def test_no_pool_data_is_a_clear_exit_2(cli, tmp_path, epochs_csv, blocks_csv):
    path = tmp_path / "bare.duckdb"
    with minerwatch.open_store(path) as store:
        minerwatch.import_epochs(store, epochs_csv)
        minerwatch.import_blocks(store, blocks_csv)
    done = cli("pools", "--db", path, "--as-of", "2025-10-01")
    assert done.returncode == 2
    assert "carries a pool or its coinbase" in done.stderr
    assert "minerwatch import pools FILE" in done.stderr


def test_bad_options_exit_2(cli, pools_db):
    done = cli("pools", "--db", pools_db, "--window", "2w")
    assert done.returncode == 2 and "--window '2w' is not a window" in done.stderr
    done = cli("pools", "--db", pools_db, "--as-of", "2025-01-01")
    assert done.returncode == 2 and "--as-of 2025-01-01 is outside" in done.stderr


def test_the_pools_page_shows_what_pools_json_gives(cli, pools_db):
    import re

    from minerwatch.web.app import create_app
    from test_web import Client

    web = Client(create_app(pools_db))
    for window in ("epoch", "1d"):
        r = json.loads(
            cli(
                "pools", "--db", pools_db, "--as-of", "2025-10-01", "--window", window, "--json"
            ).stdout
        )
        page = web.get(f"/pools?as_of=2025-10-01&window={window}")
        assert page.status_code == 200
        rows = re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">([\d,]+)</td>", page.text)
        expected = [(p["name"], p["blocks"]) for p in r["pools"]]
        if r["unknown"]["blocks"]:
            expected.append(("unknown", r["unknown"]["blocks"]))
        assert [(n, int(b.replace(",", ""))) for n, b in rows] == expected and len(rows) > 3
        assert f'<option value="{window}" selected>' in page.text
