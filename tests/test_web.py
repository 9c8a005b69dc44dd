"""`minerwatch serve` in-process (httpx's ASGI transport) on the real data: every API route
gives the bytes the CLI's `--json` prints for the same options, errors carry the CLI's
messages, the Now page shows the figures of `status --json`, `/metrics` carries them in the
Prometheus format, and every response has the security headers."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import time

import httpx
import numpy as np
import pytest

import minerwatch
from minerwatch.present import format as fmt
from minerwatch.web.app import CSP, create_app
from minerwatch.web.serve import check_serve, is_loopback
from standins.serving import first_answer, free_port

DAYS = ("2025-10-06", "2022-11-21")


class Client:
    """Requests to an application in this process, through httpx's ASGI transport."""

    def __init__(self, app):
        self.app = app

    def get(self, url: str, **kwargs) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
                return await c.get(url, **kwargs)

        return asyncio.run(go())


@pytest.fixture(scope="module")
def web(loaded_db):
    return Client(create_app(loaded_db))


@pytest.fixture(scope="module")
def web_2022(db_to_2022_11_21):
    return Client(create_app(db_to_2022_11_21))


@pytest.fixture(scope="module")
def web_blocks(blocks_db):
    return Client(create_app(blocks_db))


# (CLI arguments after the command's name, API path and query) of each analysis, as of {d}
ROUTES = [
    (["status", "--as-of", "{d}"], "/api/v1/status?as_of={d}"),
    (
        ["cost", "--as-of", "{d}", "--power-price", "0.07", "--electricity-share", "0.5"],
        "/api/v1/cost?as_of={d}&power_price=0.07&electricity_share=0.5",
    ),
    (
        ["episodes", "--as-of", "{d}", "--model", "hayes", "--min-days", "3"],
        "/api/v1/episodes?as_of={d}&model=hayes&min_days=3",
    ),
    (
        ["signals", "--as-of", "{d}", "--confirm-days", "1", "--price-cross", "follow"],
        "/api/v1/signals?as_of={d}&confirm_days=1&price_cross=follow",
    ),
    (["study", "ribbons", "--as-of", "{d}"], "/api/v1/studies/ribbons?as_of={d}"),
    (
        ["study", "compression", "--as-of", "{d}", "--strict-change", "-4"],
        "/api/v1/studies/compression?as_of={d}&strict_change=-4",
    ),
    (
        ["asics", "--as-of", "{d}", "--power-price", "0.06", "--pool-fee", "1.5", "--uptime", "95"],
        "/api/v1/asics?as_of={d}&power_price=0.06&pool_fee=1.5&uptime=95",
    ),
    (["asics", "--as-of", "{d}", "--all"], "/api/v1/asics?as_of={d}&all=true"),
    (["difficulty", "--as-of", "{d}"], "/api/v1/difficulty?as_of={d}"),
    (["info", "--as-of", "{d}"], "/api/v1/info?as_of={d}"),
]


@pytest.mark.parametrize("day", DAYS)
@pytest.mark.parametrize(("args", "url"), ROUTES, ids=[r[1].split("?")[0] for r in ROUTES])
def test_every_analysis_route_gives_the_clis_json_byte_for_byte(
    cli, web, web_2022, loaded_db, db_to_2022_11_21, args, url, day
):
    client, db = (web, loaded_db) if day == "2025-10-06" else (web_2022, db_to_2022_11_21)
    shown = cli(*[a.format(d=day) for a in args], "--json", "--db", db)
    assert shown.returncode == 0, shown.stderr
    got = client.get(url.format(d=day))
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/json"
    assert got.content == shown.stdout.encode()
    assert json.loads(got.content)  # an object with figures, not an empty answer


def test_the_routes_without_a_day_give_the_clis_json(cli, web, loaded_db):
    for args, url, client, db in [
        (["backtest", "difficulty"], "/api/v1/backtest", web, loaded_db),
        (["info"], "/api/v1/info", web, loaded_db),
    ]:
        shown = cli(*args, "--json", "--db", db)
        assert shown.returncode == 0, shown.stderr
        got = client.get(url)
        assert (got.status_code, got.content) == (200, shown.stdout.encode()), url


def _cli_message(result) -> str:
    """The CLI's one-line error with its option names written as query names."""
    (line,) = result.stderr.splitlines()
    message = line.split(": ", 1)[1]
    return re.sub(r"--([a-z-]+)", lambda m: m[1].replace("-", "_"), message)


@pytest.mark.parametrize(
    ("args", "url", "code"),
    [
        (["status", "--as-of", "2021-02-30"], "/api/v1/status?as_of=2021-02-30", 400),
        (["status", "--as-of", "2031-01-01"], "/api/v1/status?as_of=2031-01-01", 404),
        (["asics", "--power-price", "12"], "/api/v1/asics?power_price=12", 400),
        (["cost", "--model", "nope"], "/api/v1/cost?model=nope", 400),
        (["signals", "--price-cross", "sideways"], "/api/v1/signals?price_cross=sideways", 400),
        (["study", "tides"], "/api/v1/studies/tides", 400),
        (["pools"], "/api/v1/pools", 400),
    ],
)
def test_errors_are_json_with_the_clis_message(cli, web, loaded_db, args, url, code):
    shown = cli(*args, "--db", loaded_db)
    assert shown.returncode == 2 and shown.stdout == ""
    got = web.get(url)
    assert got.status_code == code
    assert got.json() == {"error": _cli_message(shown)}


def test_pools_of_blocks_without_pools_is_the_clis_error(cli, web_blocks, blocks_db):
    # the real blocks file has no pool column: the window's blocks carry no pool
    shown = cli("pools", "--as-of", "2025-10-06", "--window", "30d", "--db", blocks_db)
    assert shown.returncode == 2
    got = web_blocks.get("/api/v1/pools?as_of=2025-10-06&window=30d")
    assert got.status_code == 400
    assert got.json() == {"error": _cli_message(shown)}
    assert "no block of the 30d window ending 2025-10-06" in got.json()["error"]


def test_a_value_of_the_wrong_type_is_a_400_naming_the_parameter(web):
    got = web.get("/api/v1/asics?power_price=cheap")
    assert got.status_code == 400
    assert got.json()["error"].startswith("power_price 'cheap' is not valid")


def test_no_database_is_a_404_and_a_page_says_so(tmp_path):
    missing = Client(create_app(tmp_path / "none.duckdb"))
    got = missing.get("/api/v1/status")
    assert got.status_code == 404 and "no database at" in got.json()["error"]
    page = missing.get("/")
    assert page.status_code == 404 and "no database at" in page.text


def test_the_etag_follows_the_data_and_a_match_is_304(web, web_2022):
    first = web.get("/api/v1/status")
    tag = first.headers["etag"]
    again = web.get("/api/v1/status", headers={"If-None-Match": tag})
    assert (again.status_code, again.content) == (304, b"")
    assert web_2022.get("/api/v1/status").headers["etag"] != tag
    assert web_2022.get("/api/v1/status", headers={"If-None-Match": tag}).status_code == 200


def _export_daily(cli, db, start: str, end: str) -> list[dict]:
    """The rows of `export daily --from start --to end --format json`."""
    shown = cli("export", "daily", "--from", start, "--to", end, "--format", "json", "--db", db)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def test_a_kept_answer_is_dropped_when_another_process_writes(tmp_path, synthetic_db):
    import shutil

    import minerwatch

    db = tmp_path / "mw.duckdb"
    shutil.copy(synthetic_db, db)
    client = Client(create_app(db))
    first = client.get("/api/v1/status")
    again = client.get("/api/v1/status")
    assert (again.content, again.headers["etag"]) == (first.content, first.headers["etag"])
    assert first.json()["price_source"] == "coinmetrics"
    closes = tmp_path / "closes.csv"
    closes.write_text("date,close_usd\n2009-03-03,0.25\n")
    with minerwatch.open_store(db) as store:  # a write, as an import in another process
        minerwatch.import_prices(store, closes)
    after = client.get("/api/v1/status")
    assert after.headers["etag"] != first.headers["etag"]
    assert (after.json()["price_usd"], after.json()["price_source"]) == (0.25, "csv")


def test_a_server_holding_the_database_reads_each_commit_through_cursors(tmp_path, synthetic_db):
    """With the database held open by the server (as `serve --watch` holds it for its
    follower), each request reads through a read-only cursor: it sees a commit made by
    another thread's cursor at once, during that writer's open transaction it reads the
    last commit, and it refuses writes."""
    import shutil
    import threading

    import minerwatch
    from minerwatch.errors import StoreReadOnly

    db = tmp_path / "mw.duckdb"
    shutil.copy(synthetic_db, db)
    closes = tmp_path / "closes.csv"
    closes.write_text("date,close_usd\n2009-03-03,0.25\n")
    with minerwatch.open_store(db) as owner:
        client = Client(create_app(db, shared=owner))
        before = client.get("/api/v1/status").json()
        writer = owner.cursor(read_only=False)
        writer.con.begin()  # a write under way in the follower: every day's chain row gone
        writer.con.execute("DELETE FROM chain_daily")
        during = client.get("/api/v1/status")  # not blocked, not failed: the last commit
        assert during.status_code == 200 and during.json() == before
        writer.con.rollback()
        thread = threading.Thread(target=minerwatch.import_prices, args=(writer, closes))
        thread.start()  # a commit from the follower's thread
        thread.join(10)
        after = client.get("/api/v1/status").json()
        assert (after["price_usd"], after["price_source"]) == (0.25, "csv")
        reader = owner.cursor()
        with pytest.raises(StoreReadOnly):
            minerwatch.import_prices(reader, closes)
        reader.close()
        writer.close()


def test_the_answer_cache_keeps_the_latest_answers_of_one_file_state(tmp_path):
    from minerwatch.web.app import AnswerCache

    path = tmp_path / "file"
    path.write_bytes(b"one")
    cache = AnswerCache(path, size=2)
    state = cache.file_state()
    assert state[1] is None  # no WAL beside it
    cache.put("/a", state, ("tag-a", b"A"))
    cache.put("/b", state, ("tag-b", b"B"))
    assert cache.get("/a", state) == ("tag-a", b"A")
    cache.put("/c", state, ("tag-c", b"C"))  # /b, the least recently used, goes
    assert cache.get("/b", state) is None and cache.get("/c", state) == ("tag-c", b"C")
    path.write_bytes(b"three")
    changed = cache.file_state()
    assert changed != state and cache.get("/a", changed) is None


def test_a_series_is_the_export_of_that_column(cli, web, loaded_db):
    rows = _export_daily(cli, loaded_db, "2025-09-30", "2025-10-06")
    metric = "hashprice_usd_ph_day"
    got = web.get(f"/api/v1/series/{metric}?from=2025-09-30&to=2025-10-06")
    assert got.status_code == 200
    assert got.json() == [{"day": r["day"], metric: r[metric]} for r in rows]
    assert len(rows) == 7
    csv_text = web.get(f"/api/v1/series/{metric}?from=2025-10-05&to=2025-10-06&format=csv").text
    assert csv_text.splitlines()[0] == f"day,{metric}"
    assert csv_text.splitlines()[2].startswith("2025-10-06,") and len(csv_text.splitlines()) == 3
    series = web.get("/api/v1/series").json()
    listed = series["metrics"]
    assert metric in listed and "price_usd" in listed and "day" not in listed
    assert set(series["units"]) == set(listed) and all(series["units"].values())
    assert series["units"][metric] == "USD per PH/s per day"
    assert series["units"]["hashrate_hs_7d"] == "H/s" and series["units"]["fees_sat"] == "satoshi"
    assert series["units"]["fees_share_pct_7d"] == "percent"
    assert series["units"]["provisional"] == "boolean"
    assert set(listed) == set(rows[0]) - {"day"}
    assert web.get("/api/v1/series/nope").status_code == 404
    bad = web.get("/api/v1/series/price_usd?from=2025-10-06&to=2025-10-01")
    assert bad.status_code == 400 and "after --to" in bad.json()["error"]


def _status(cli, db, day) -> dict:
    shown = cli("status", "--as-of", day, "--json", "--db", db)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def _tile_html(html: str, key: str) -> str:
    found = re.search(rf'<div class="tile" id="tile-{key}">(.*?)</div>', html, re.S)
    assert found, f"no tile {key}"
    return found[1]


def _tile_text(html: str, key: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", _tile_html(html, key)))


@pytest.mark.parametrize("day", DAYS)
def test_the_now_page_shows_the_figures_of_status_json(cli, web, loaded_db, day):
    s = _status(cli, loaded_db, day)
    html = web.get(f"/?as_of={day}").text
    assert f"Day <b>{day}</b>" in html
    na = s["next_adjustment"]
    expected = {
        "tip": [fmt.number(s["height"], ",d")],
        "hashprice": [
            fmt.hashprice_usd(s["hashprice_usd_ph_day"], "PH/s", per=True),
            fmt.hashprice_btc(s["hashprice_btc_ph_day"], "PH/s", per=True),
        ],
        "price": [
            fmt.usd(s["price_usd"]),
            fmt.pct(s["price_to_cost_pct"]),
            fmt.usd(s["production_cost_usd"]),
            *[fmt.usd(v) for v in s["production_cost_models"].values()],
        ],
        "difficulty": [
            fmt.difficulty(s["difficulty"]),
            fmt.pct(na["change_pct"]),
            fmt.pct(na["change_pct_low"]),
            fmt.pct(na["change_pct_high"]),
            fmt.when(na["date"]),
            fmt.number(na["blocks_remaining"], ",d"),
        ],
        "hashrate": [fmt.hashrate(s["hashrate_ehs"]["7d"]), fmt.pct(s["hashrate_drawdown_pct"])],
        "ribbons": [s["hash_ribbons"]["state"]],
        "puell": [fmt.number(s["puell_multiple"])],
        "fees": [fmt.share(s["fees_share_pct_7d"])],
        "halving": [fmt.count((s["height"] // 210_000 + 1) * 210_000 - s["height"], "block")],
        "revenue": [
            fmt.usd(s["revenue_usd_1d"], millions=True),
            fmt.btc(s["revenue_btc_1d"]),
            fmt.btc(s["fees_btc_1d"]),
        ],
    }
    for key, texts in expected.items():
        tile = _tile_text(html, key)
        for text in texts:
            assert text != fmt.NA and text in tile, (key, text, tile)
    if day == "2025-10-06":
        assert "block 1,050,000" in _tile_text(html, "halving")


def test_the_provisional_badge_is_the_status_flag(blocks_db, monkeypatch):
    # "Now" inside 2025-10-06: that day is the current UTC day, provisional; the day before
    # is not.
    monkeypatch.setenv("MINERWATCH_NOW", "2025-10-06T15:00:00Z")
    web = Client(create_app(blocks_db))  # its own answers, under that clock
    for day in ("2025-10-06", "2025-10-05"):
        flag = minerwatch.status(blocks_db, day).provisional
        assert flag is (day == "2025-10-06"), day
        html = web.get(f"/?as_of={day}").text
        assert ('id="provisional"' in html) is flag, day


def test_the_hashprice_sparkline_draws_the_last_90_days(cli, web, loaded_db):
    rows = list(csv.DictReader(io.StringIO(cli("export", "daily", "--db", loaded_db).stdout)))
    upto = [r for r in rows if r["day"] <= "2025-10-06"][-90:]
    values = [float(r["hashprice_usd_ph_day"]) for r in upto if r["hashprice_usd_ph_day"]]
    html = web.get("/?as_of=2025-10-06").text
    points = re.search(r'<polyline points="([^"]+)"', _tile_html(html, "hashprice"))[1]
    xy = [tuple(map(float, p.split(","))) for p in points.split()]
    assert len(xy) == len(values) == 90
    assert [x for x, _ in xy] == sorted(x for x, _ in xy)
    # the highest day is drawn at the top, the lowest at the bottom
    assert xy[values.index(max(values))][1] == 1.0
    assert xy[values.index(min(values))][1] == 31.0


@pytest.mark.parametrize("day", DAYS)
def test_the_difficulty_page_shows_the_clis_outlook_and_backtest(
    cli, web, web_2022, loaded_db, db_to_2022_11_21, day
):
    client, db = (web, loaded_db) if day == "2025-10-06" else (web_2022, db_to_2022_11_21)
    o = json.loads(cli("difficulty", "--as-of", day, "--json", "--db", db).stdout)
    bt = json.loads(cli("backtest", "difficulty", "--as-of", day, "--json", "--db", db).stdout)
    html = client.get(f"/difficulty?as_of={day}").text
    na = o["next_adjustment"]
    assert f"Epoch {fmt.number(o['epoch'], ',d')}" in html
    for text in (
        fmt.pct(na["change_pct"]),
        fmt.pct(na["change_pct_low"]),
        fmt.pct(na["change_pct_high"]),
        fmt.when(na["date"]),
        fmt.pct(o["baseline"]["change_pct"]),
        fmt.difficulty(o["difficulty"]),
    ):
        assert text in html, text
    table = re.search(r'<table id="backtest">(.*?)</table>', html, re.S)[1]
    shown = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    assert len(shown) == len(bt["rows"]) > 0
    for row, r in zip(shown, bt["rows"], strict=True):
        values = re.findall(r"<td[^>]*>(.*?)</td>", row)
        assert values[:3] == [r["data"], f"{r['level_pct']}%", fmt.number(r["epochs"], ",d")]
        assert values[4] == fmt.number(r["mae_change_pp"], ".2f") + " pp"
        assert values[6] == fmt.number(r["ratio_change"], ".2f")
        assert values[10] == fmt.percent(r["coverage_change_pct"])


def test_the_hashprice_changes_are_the_series_changes(cli, web, loaded_db):
    rows = _export_daily(cli, loaded_db, "2025-09-29", "2025-10-06")
    hp = [r["hashprice_usd_ph_day"] for r in rows]
    tile = _tile_text(web.get("/?as_of=2025-10-06").text, "hashprice")
    assert f"1d {fmt.pct((hp[-1] / hp[-2] - 1) * 100)}" in tile
    assert f"7d {fmt.pct((hp[-1] / hp[-8] - 1) * 100)}" in tile


@pytest.mark.parametrize("page", ["/", "/charts", "/difficulty", "/machines", "/data"])
def test_every_page_renders_with_a_strict_policy_and_no_other_host(web, page):
    got = web.get(page + ("?as_of=2022-11-21" if page != "/data" else ""))
    assert got.status_code == 200
    assert got.headers["content-security-policy"] == CSP
    assert "script-src 'self';" in CSP and "unsafe" not in CSP
    assert got.headers["x-content-type-options"] == "nosniff"
    html = got.text
    assert not re.findall(r"""(?:src|href|action)=["'](?:https?:)?//""", html)
    assert "<script>" not in html and " style=" not in html  # nothing inline to allow
    if page != "/data":
        assert "Day <b>2022-11-21</b>" in html


def test_the_machines_page_takes_the_forms_prices(cli, web, loaded_db):
    a = json.loads(
        cli(
            "asics", "--as-of", "2025-10-06", "--power-price", "0.09", "--json", "--db", loaded_db
        ).stdout
    )
    html = web.get("/machines?as_of=2025-10-06&power_price=0.09").text
    assert f"<b>{a['underwater_count']} of {len(a['machines'])}</b>" in html
    assert fmt.power_price(0.09) in html
    assert html.count('class="underwater"') == a["underwater_count"]


def test_metrics_are_the_status_figures_in_the_prometheus_format(cli, web, loaded_db):
    s = json.loads(cli("status", "--json", "--db", loaded_db).stdout)
    got = web.get("/metrics")
    assert got.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for line in got.text.splitlines():
        if line.startswith("#"):
            assert re.fullmatch(r"# (HELP|TYPE) minerwatch_\w+ .+", line), line
            continue
        name, value = line.rsplit(" ", 1)
        samples[name] = float(value)
    assert samples["minerwatch_hashprice_usd_per_ph_day"] == s["hashprice_usd_ph_day"]
    assert samples['minerwatch_hashrate_ehs{window="7d"}'] == s["hashrate_ehs"]["7d"]
    assert samples["minerwatch_difficulty"] == s["difficulty"]
    assert samples["minerwatch_price_to_cost_pct"] == s["price_to_cost_pct"]
    assert samples["minerwatch_tip_height"] == s["height"]
    na = s["next_adjustment"]
    assert samples["minerwatch_blocks_to_retarget"] == na["blocks_remaining"]
    assert samples['minerwatch_next_adjustment_change_pct{bound="median"}'] == na["change_pct"]
    assert samples["minerwatch_tip_age_seconds"] > 0


def _metrics(client) -> dict[str, float]:
    return {
        name: float(value)
        for name, value in (
            line.rsplit(" ", 1) for line in client.get("/metrics").text.splitlines()
            if not line.startswith("#")
        )
    }  # fmt: skip


@pytest.fixture(scope="module")
def blocks_only_db(tmp_path_factory, epochs_csv, blocks_csv):
    """The epochs and the blocks file, no Coin Metrics: the last whole day (2025-10-15)
    ends below the newest block held (919,296, stamped on 2025-10-16)."""
    path = tmp_path_factory.mktemp("blocks_only") / "blocks_only.duckdb"
    with minerwatch.open_store(path) as store:
        minerwatch.import_epochs(store, epochs_csv)
        minerwatch.import_blocks(store, blocks_csv)
    return path


def test_past_the_days_last_block_the_now_page_and_metrics_forecast_at_the_tip(
    cli, blocks_only_db, blocks_csv
):
    with open(blocks_csv, newline="") as f:
        tip = max(int(r["height"]) for r in csv.DictReader(f))
    s = json.loads(cli("status", "--json", "--db", blocks_only_db).stdout)
    shown = cli("difficulty", "--at-height", str(tip), "--json", "--db", blocks_only_db)
    assert shown.returncode == 0, shown.stderr
    o = json.loads(shown.stdout)
    na = o["next_adjustment"]
    assert s["height"] < tip and na["blocks_remaining"] == 2016 - tip % 2016
    assert na["blocks_remaining"] != s["next_adjustment"]["blocks_remaining"]
    web = Client(create_app(blocks_only_db))
    html = web.get("/").text
    tile = _tile_text(html, "difficulty")
    for text in (
        fmt.difficulty(o["difficulty"]),
        fmt.pct(na["change_pct"]),
        fmt.pct(na["change_pct_low"]),
        fmt.pct(na["change_pct_high"]),
        fmt.when(na["date"]),
        f"{fmt.number(na['blocks_remaining'], ',d')} blocks left",
        f"forecast at block {fmt.number(tip, ',d')}",
    ):
        assert text in tile, (text, tile)
    tip_tile = _tile_text(html, "tip")
    assert fmt.number(tip, ",d") in tip_tile
    assert f"the day ended at block {fmt.number(s['height'], ',d')}" in tip_tile
    assert fmt.count(1_050_000 - tip, "block") in _tile_text(html, "halving")
    day_page = web.get(f"/?as_of={s['as_of']}").text  # the same day, asked for by name
    assert _tile_text(day_page, "difficulty") == tile
    samples = _metrics(web)
    assert samples["minerwatch_tip_height"] == tip
    assert samples["minerwatch_blocks_to_retarget"] == na["blocks_remaining"]
    assert samples["minerwatch_difficulty"] == o["difficulty"]
    assert samples['minerwatch_next_adjustment_change_pct{bound="median"}'] == na["change_pct"]


def test_without_a_forecast_at_the_tip_the_days_is_not_carried_there(
    cli, blocks_only_db, blocks_csv, tmp_path
):
    """A gap below the newest block (919,296, the first of an epoch) leaves no forecast at
    it: the Now page and /metrics say so rather than show the last whole day's forecast,
    and give no difficulty past the retarget."""
    import shutil

    db = tmp_path / "gap.duckdb"
    shutil.copy(blocks_only_db, db)
    with minerwatch.open_store(db) as store:
        store.con.execute("DELETE FROM blocks WHERE height = 919270")
    with open(blocks_csv, newline="") as f:
        tip = max(int(r["height"]) for r in csv.DictReader(f))
    s = json.loads(cli("status", "--json", "--db", db).stdout)
    assert s["height"] // 2016 < tip // 2016  # the day ended in the epoch before the tip's
    shown = cli("difficulty", "--at-height", str(tip), "--json", "--db", db)
    assert shown.returncode != 0  # the blocks held cannot give a forecast there
    web = Client(create_app(db))
    tile = _tile_text(web.get("/").text, "difficulty")
    assert f"no forecast at block {fmt.number(tip, ',d')}" in tile and "blocks left" not in tile
    samples = _metrics(web)
    assert samples["minerwatch_tip_height"] == tip
    assert samples["minerwatch_blocks_to_retarget"] == 2016 - tip % 2016
    assert "minerwatch_difficulty" not in samples
    assert not any(k.startswith("minerwatch_next_adjustment") for k in samples)


def test_blocks_below_the_days_end_leave_the_tip_at_the_day(cli, web_blocks, blocks_db):
    """Coin Metrics days past the blocks held: the tip is the last day's end height."""
    s = json.loads(cli("status", "--json", "--db", blocks_db).stdout)
    html = web_blocks.get("/").text
    tip_tile = _tile_text(html, "tip")
    assert fmt.number(s["height"], ",d") in tip_tile and "the day ended" not in tip_tile
    assert "forecast at block" not in _tile_text(html, "difficulty")
    samples = _metrics(web_blocks)
    assert samples["minerwatch_tip_height"] == s["height"]
    assert samples["minerwatch_blocks_to_retarget"] == s["next_adjustment"]["blocks_remaining"]
    day_end = np.datetime64(s["data_through"], "D") + 1
    age = time.time() - day_end.astype("datetime64[s]").astype(np.int64)
    assert abs(samples["minerwatch_tip_age_seconds"] - age) < 60


def test_a_token_guards_every_request(loaded_db):
    guarded = Client(create_app(loaded_db, token="s3cret-token"))
    assert guarded.get("/api/v1/info").status_code == 401
    assert guarded.get("/static/app.js").status_code == 401
    wrong = guarded.get("/api/v1/info", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    ok = guarded.get("/api/v1/info", headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200
    page = guarded.get("/?token=s3cret-token")
    assert page.status_code == 200 and "minerwatch_token=s3cret-token" in page.headers["set-cookie"]
    with_cookie = guarded.get("/data", headers={"Cookie": "minerwatch_token=s3cret-token"})
    assert with_cookie.status_code == 200


def test_only_loopback_serves_without_a_token(cli, loaded_db):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")
    check_serve("0.0.0.0", 8787, "a-token")  # with a token: allowed
    shown = cli("serve", "--host", "0.0.0.0", "--db", loaded_db, env={"MINERWATCH_TOKEN": None})
    assert shown.returncode == 2
    assert "0.0.0.0 is reachable from other machines" in shown.stderr
    assert "--token or MINERWATCH_TOKEN" in shown.stderr
    bad_port = cli("serve", "--port", "70000", "--db", loaded_db)
    assert bad_port.returncode == 2 and "port 70000 is not a TCP port" in bad_port.stderr
    both = cli("serve", "--read-only", "--watch", "--db", loaded_db)
    assert both.returncode == 2 and "--read-only and --watch together" in both.stderr


def test_the_command_serves_on_loopback_and_says_where(loaded_db, cli, tmp_path):
    """The server answers on loopback with its token; while it runs, a command that finds
    the database busy names the server's URL, and the server's entry goes when it stops."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    port = free_port()
    script = Path(sys.executable).with_name("minerwatch")
    args = [script, "serve", "--port", str(port), "--db", loaded_db, "--token", "t0ken"]
    runtime = {"MINERWATCH_RUNTIME_DIR": str(tmp_path / "run")}
    server = subprocess.Popen(
        args, stderr=subprocess.PIPE, text=True, env={**os.environ, **runtime}
    )
    try:
        said = [server.stderr.readline(), server.stderr.readline()]
        assert said[0].startswith(f"serving {loaded_db} read-only at http://127.0.0.1:{port}/")
        assert said[1].startswith("every request needs the token")
        url = f"http://127.0.0.1:{port}/api/v1/info"
        got = first_answer(url, server, 20, headers={"Authorization": "Bearer t0ken"})
        assert got.status_code == 200 and got.json()["path"] == str(loaded_db)
        assert httpx.get(url, timeout=5).status_code == 401
        (entry,) = (tmp_path / "run" / "servers").iterdir()
        assert "t0ken" not in entry.read_text()  # no credential written
        # a writer holds the database (as the server's follower does between blocks)
        from store_checks import store_held

        with store_held(loaded_db):
            busy = cli("info", "--db", loaded_db, env={**runtime, "MINERWATCH_LOCK_WAIT_S": "0.3"})
        assert busy.returncode == 4 and "Traceback" not in busy.stderr
        assert f"served by `minerwatch serve` at http://127.0.0.1:{port}/" in busy.stderr
    finally:
        server.terminate()
        server.wait(10)
    assert not list((tmp_path / "run" / "servers").iterdir())  # gone with the server
    stale = cli("info", "--db", loaded_db, env=runtime)  # and nothing is named after it
    assert stale.returncode == 0


def test_ctrl_c_stops_the_server_at_once_with_a_page_open(loaded_db, tmp_path):
    """An open page's event stream does not hold up a Ctrl-C: the server ends within
    seconds, without a traceback; on port 0 it names the port it was given."""
    import os
    import signal
    import subprocess
    import sys

    server = subprocess.Popen(
        [sys.executable, "-m", "minerwatch", "serve", "--port", "0", "--db", str(loaded_db)],
        stderr=subprocess.PIPE, text=True,
        env={**os.environ, "MINERWATCH_RUNTIME_DIR": str(tmp_path / "run")},
    )  # fmt: skip
    try:
        said = server.stderr.readline()
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", said)[1])
        assert port > 0
        base = f"http://127.0.0.1:{port}"
        first_answer(f"{base}/api/v1/info", server).raise_for_status()
        with httpx.stream("GET", f"{base}/events", timeout=10) as stream:
            lines = stream.iter_lines()
            assert next(lines).startswith("retry:")
            asked = time.monotonic()
            server.send_signal(signal.SIGINT)
            assert server.wait(10) == 0
            took_s = time.monotonic() - asked
    finally:
        if server.poll() is None:
            server.kill()
    rest = server.stderr.read()
    assert took_s < 5 and "Traceback" not in rest and "ERROR" not in rest, rest


def test_a_port_in_use_is_an_input_error_before_anything_is_announced(cli, loaded_db):
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        shown = cli("serve", "--port", str(port), "--db", loaded_db)
    assert shown.returncode == 2 and "Traceback" not in shown.stderr
    assert shown.stderr.startswith(f"error: cannot listen on 127.0.0.1 port {port}: ")
    assert "choose another --port" in shown.stderr and "serving" not in shown.stderr


def test_the_now_page_is_computed_once_per_database_state(loaded_db, monkeypatch):
    """A second load of the Now page computes nothing again (its figures are kept while the
    database file is unchanged; a spy counts the computations)."""
    import minerwatch.web.pages as pages

    web = Client(create_app(loaded_db))
    calls = []
    compute = pages._now_figures
    monkeypatch.setattr(pages, "_now_figures", lambda *a: calls.append(a) or compute(*a))
    first = web.get("/?as_of=2025-10-06").text
    second = web.get("/?as_of=2025-10-06").text
    assert len(calls) == 1 and first == second  # a past day: no tip age shown
    web.get("/")
    web.get("/")
    assert len(calls) == 2


def test_serve_watch_follows_the_node_and_announces_each_block(bitcoind, tmp_path):
    """`minerwatch serve --watch` as a user starts it: the server answers from the database
    while its follower (a thread of the server) commits each new block of the stand-in
    node; /events announces the commit and the API shows the new tip."""
    import os
    import signal
    import subprocess
    import sys

    from standins.bitcoind import StandinChain

    chain = StandinChain.mainnet_like(700, seed=5)
    node = bitcoind(chain)
    db = tmp_path / "live.duckdb"
    minerwatch = [sys.executable, "-m", "minerwatch"]
    node_args = ["--url", node.url, "--cookie", str(node.cookie_file), "--skip-pow-check"]
    synced = subprocess.run(
        [*minerwatch, "sync", "node", *node_args, "--db", str(db)], capture_output=True
    )
    assert synced.returncode == 0, synced.stderr
    port = free_port()
    server = subprocess.Popen(
        [*minerwatch, "serve", "--watch", *node_args, "--poll", "0.2", "--port", str(port),
         "--db", str(db)],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        info = first_answer(f"{base}/api/v1/info", server).json()
        assert info["chain"]["node"]["tip_height"] == 700
        with httpx.stream("GET", f"{base}/events", timeout=20) as events:
            lines = events.iter_lines()
            assert next(lines).startswith("retry:")
            chain.extend(1)
            mined = time.monotonic()
            while not next(lines).startswith("event: change"):
                pass
            announced_s = time.monotonic() - mined
        tip = httpx.get(f"{base}/api/v1/info", timeout=10).json()["chain"]["node"]
        assert tip["tip_height"] == 701 and tip["tip_hash"] == chain.hashes[-1]
        assert announced_s < 5
        lag = re.search(
            r'^minerwatch_sync_age_seconds\{kind="chain",source="node"\} (\S+)$',
            httpx.get(f"{base}/metrics", timeout=10).text,
            re.M,
        )
        assert lag and 0 <= float(lag[1]) < 30  # the follower synced moments ago
        began = time.monotonic()  # another command: told at once who holds the database
        busy = subprocess.run(
            [*minerwatch, "info", "--db", str(db)], capture_output=True, text=True, timeout=60
        )
        assert busy.returncode == 4 and "Traceback" not in busy.stderr
        assert f"held by `minerwatch serve --watch` at {base}/" in busy.stderr
        assert time.monotonic() - began < 15  # not after the lock wait (30 s)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            _, stderr = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            _, stderr = server.communicate()
    assert "following the tip in this process (the one writer): --source node" in stderr
    assert "cookie" not in stderr
    assert os.path.exists(db)


def test_the_episodes_page_lists_every_episode_of_the_cli(cli, web, loaded_db):
    import re

    r = json.loads(cli("episodes", "--as-of", "2025-10-06", "--json", "--db", loaded_db).stdout)
    page = web.get("/episodes?as_of=2025-10-06")
    assert page.status_code == 200
    starts = re.findall(r"<tr><td>(\d{4}-\d\d-\d\d)[*†]*</td><td>(\d{4}-\d\d-\d\d)</td>", page.text)
    assert starts == [(e["start"], e["end"]) for e in r["episodes"]] and len(starts) > 3
    assert f"<b>{len(starts)} episodes</b>" in page.text


def test_serve_says_when_its_follower_stops(bitcoind, tmp_path):
    """A follower that stops while the server runs (here: the database holds the main
    chain and the node follows regtest) says why, and the server, still serving, says pages
    no longer follow."""
    import subprocess
    import sys

    from standins.bitcoind import StandinChain

    main, regtest = StandinChain.mainnet_like(300, seed=3), StandinChain.regtest_like(50)
    db = tmp_path / "main.duckdb"
    minerwatch = [sys.executable, "-m", "minerwatch"]
    node = bitcoind(main)
    args = ["--url", node.url, "--cookie", str(node.cookie_file), "--skip-pow-check"]
    synced = subprocess.run([*minerwatch, "sync", "node", *args, "--db", str(db)])
    assert synced.returncode == 0
    other = bitcoind(regtest)
    port = free_port()
    server = subprocess.Popen(
        [*minerwatch, "serve", "--watch", "--url", other.url, "--cookie",
         str(other.cookie_file), "--skip-pow-check", "--poll", "0.2", "--port", str(port),
         "--db", str(db)],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert first_answer(f"http://127.0.0.1:{port}/api/v1/info", server).is_success
        time.sleep(2)  # the follower's first sync, and its end
        info = httpx.get(f"http://127.0.0.1:{port}/api/v1/info", timeout=5)
        assert info.json()["chain"]["node"]["tip_height"] == 300  # still serving, unchanged
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=20)
    assert "the follower stopped (the database holds the main chain" in stderr
    assert "pages no longer follow the tip" in stderr
    assert "Traceback" not in stderr


def test_serve_refuses_a_bad_follower_option_before_serving(loaded_db, cli):
    """A follower option that cannot work (a ZMQ endpoint that is no endpoint) is the
    command's usage error, before anything is served."""
    bad = cli("serve", "--watch", "--zmq", "bogus://x", "--port", "0", "--db", loaded_db)
    assert bad.returncode == 2 and "--zmq 'bogus://x' is not an endpoint" in bad.stderr
    assert "serving" not in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("day", DAYS)
def test_the_episodes_page_shows_each_studys_summary_of_the_cli(
    cli, web, web_2022, loaded_db, db_to_2022_11_21, day
):
    from minerwatch.web.pages import STUDIES

    client, db = (web, loaded_db) if day == "2025-10-06" else (web_2022, db_to_2022_11_21)
    html = client.get(f"/episodes?as_of={day}").text
    for name in STUDIES:
        r = json.loads(cli("study", name, "--as-of", day, "--json", "--db", db).stdout)
        section = html.split(f'<h2 id="study-{name}">')[1].split("</table>")[0]
        shown = re.findall(r"<tr>(.*?)</tr>", section.split("<tbody>")[1], re.S)
        assert len(shown) == len(r["rows"]) > 0, name
        for row, expected in zip(shown, r["rows"], strict=True):
            cells = dict(zip(expected, re.findall(r"<td[^>]*>(.*?)</td>", row), strict=True))
            assert cells["horizon_days"] == f"{expected['horizon_days']:,}"
            assert cells["mean_return_pct"] == fmt.pct(expected["mean_return_pct"])
            assert cells["share_positive_pct"] == fmt.percent(expected["share_positive_pct"], 0)
