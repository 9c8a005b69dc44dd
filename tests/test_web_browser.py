"""`minerwatch serve` in a real browser: uvicorn on 127.0.0.1 (a free port) in a thread,
driven by Playwright in Debian's Chromium (/usr/bin/chromium; Playwright's own browsers
are never downloaded). Every page renders with no console error and no request leaving
127.0.0.1, the Now page shows the figures of `status --json`, the as-of form swaps the page
without a reload, the machines form takes its prices, the Now page follows the blocks the
stand-in node finds, and a screenshot of each page is saved in the artifacts folder
(``test-artifacts/web``, or ``$MINERWATCH_ARTIFACTS/web``)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from playwright.sync_api import expect

import test_pools
from minerwatch.chain.consensus import RETARGET_INTERVAL
from minerwatch.present import format as fmt
from minerwatch.web.app import create_app
from standins.serving import first_answer, free_port

CHROMIUM = Path("/usr/bin/chromium")
# the database with pool data of tests/test_pools.py, and the fixtures it is made from
list_file, raw_list, drawn, pools_db = (
    test_pools.list_file,
    test_pools.raw_list,
    test_pools.drawn,
    test_pools.pools_db,
)
DAY = "2025-10-06"


@contextmanager
def _serving(db: Path):
    """uvicorn serving ``db`` on 127.0.0.1 (a free port) in a thread: its base URL."""
    config = uvicorn.Config(
        create_app(db), host="127.0.0.1", port=0, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start within 20 s"
        assert thread.is_alive(), "uvicorn stopped"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def base_url(loaded_db):
    with _serving(loaded_db) as url:
        yield url


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """Where the screenshots go, kept after the run to be looked at:
    ``$MINERWATCH_ARTIFACTS``, else ``test-artifacts/web`` in the repository (ignored by
    git)."""
    folder = (
        Path(
            os.environ.get("MINERWATCH_ARTIFACTS")
            or Path(__file__).resolve().parents[1] / "test-artifacts"
        )
        / "web"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Watched:
    """A page with every request's URL and every console error or page error recorded."""

    def __init__(self, page):
        self.page = page
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: apt-get install -y chromium", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        browser.close()


@pytest.fixture
def watched(browser, base_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    w = Watched(page)
    yield w
    context.close()
    assert w.errors == []
    assert w.requests and all(u.startswith(base_url + "/") for u in w.requests), w.requests


def _status(cli, db, day):
    return json.loads(cli("status", "--as-of", day, "--json", "--db", db).stdout)


def test_the_now_page_shows_the_status_figures(watched, base_url, artifacts, cli, loaded_db):
    s = _status(cli, loaded_db, DAY)
    page = watched.page
    page.goto(f"{base_url}/?as_of={DAY}")
    tiles = {
        "tip": fmt.number(s["height"], ",d"),
        "hashprice": fmt.hashprice_usd(s["hashprice_usd_ph_day"], "PH/s", per=True),
        "price": fmt.usd(s["price_usd"]),
        "difficulty": fmt.difficulty(s["difficulty"]),
        "hashrate": fmt.hashrate(s["hashrate_ehs"]["7d"]),
        "puell": fmt.number(s["puell_multiple"]),
        "fees": fmt.share(s["fees_share_pct_7d"]),
    }
    for key, value in tiles.items():
        assert page.locator(f"#tile-{key} .value").inner_text() == value, key
    page.screenshot(path=artifacts / "now.png", full_page=True)


def test_the_as_of_form_swaps_the_day_without_a_reload(
    watched, base_url, artifacts, cli, loaded_db
):
    s = _status(cli, loaded_db, "2022-11-21")
    page = watched.page
    page.goto(f"{base_url}/?as_of={DAY}")
    page.evaluate("window.__still_here = true")
    page.fill("#as-of", "2022-11-21")
    page.click("#as-of-form button[type=submit]")
    expect(page.locator("#day b")).to_have_text("2022-11-21")
    assert page.evaluate("window.__still_here") is True  # the content was swapped, no reload
    assert page.url.endswith("/?as_of=2022-11-21")
    charts_link = page.locator("nav a", has_text="Charts")
    assert charts_link.get_attribute("href") == "/charts?as_of=2022-11-21"  # links follow
    price = fmt.usd(s["price_usd"])
    assert page.locator("#tile-price .value").inner_text() == price
    page.screenshot(path=artifacts / "now-2022-11-21.png", full_page=True)


def test_the_charts_are_drawn_and_drawn_again_for_another_day(watched, base_url, artifacts):
    page = watched.page
    page.goto(f"{base_url}/charts?as_of=2022-11-21")
    expect(page.locator("div.chart[data-drawn='1']").first).to_be_visible()
    page.fill("#as-of", DAY)
    page.click("#as-of-form button[type=submit]")
    expect(page.locator("#day b")).to_have_text(DAY)
    charts = page.locator("div.chart")
    count = charts.count()
    assert count >= 5
    page.wait_for_function(f"document.querySelectorAll('div.chart .main-svg').length >= {count}")
    assert page.locator("div.chart[data-drawn='1']").count() == count
    page.screenshot(path=artifacts / "charts.png", full_page=True)


def test_a_chart_s_range_and_scale_buttons_work(watched, base_url):
    """The range buttons (3m, 1y, 4y, all) narrow the time axis of every panel; the scale
    buttons switch the value axes between linear and log."""
    page = watched.page
    page.goto(f"{base_url}/charts?as_of={DAY}")
    chart = page.locator("div.chart[data-drawn='1']").first
    expect(chart).to_be_visible()
    span_days = "(() => { const r = document.querySelector('div.chart').layout.xaxis.range;"
    span_days += " return (new Date(r[1]) - new Date(r[0])) / 86400000; })()"
    full = page.evaluate(span_days)
    chart.locator(".rangeselector .button", has_text="1y").click()
    page.wait_for_function(f"{span_days} < 400")
    assert 360 <= page.evaluate(span_days) <= 370 and full > 3000
    axis_type = "document.querySelector('div.chart').layout.yaxis.type"
    first = page.evaluate(axis_type)
    other = "linear" if first == "log" else "log"
    chart.locator(".updatemenu-button", has_text=other).click()
    page.wait_for_function(f"{axis_type} === '{other}'")


def test_the_machines_form_takes_a_power_price(watched, base_url, artifacts):
    page = watched.page
    page.goto(f"{base_url}/machines?as_of={DAY}")
    page.fill("input[name=power_price]", "0.1")
    page.click("#as-of-form button[type=submit]")
    expect(page.locator("#machines-intro")).to_contain_text(f"At {fmt.power_price(0.1)} USD/kWh,")
    assert "power_price=0.1" in page.url
    page.screenshot(path=artifacts / "machines.png", full_page=True)


@pytest.mark.parametrize("page_path", ["/difficulty", "/episodes", "/data"])
def test_the_other_pages_render(watched, base_url, artifacts, page_path):
    page = watched.page
    query = "" if page_path == "/data" else f"?as_of={DAY}"
    page.goto(f"{base_url}{page_path}{query}")
    assert page.locator("main#content table").count() >= 1
    page.screenshot(path=artifacts / f"{page_path.strip('/')}.png", full_page=True)


def test_the_pools_page_renders_on_blocks_with_pools(browser, pools_db, artifacts):
    with _serving(pools_db) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        w = Watched(page)
        page.goto(f"{url}/pools?as_of=2025-10-10&window=7d")
        assert page.locator("main#content table tbody tr").count() >= 2
        page.screenshot(path=artifacts / "pools.png", full_page=True)
        context.close()
    assert w.errors == [] and all(u.startswith(url + "/") for u in w.requests)


def _next_day_csv(coinmetrics_csv: Path, path: Path) -> str:
    """A Coin Metrics file of the day after the last one of ``coinmetrics_csv``: 144 blocks,
    their scheduled issuance, the supply grown by it. Returns that day."""
    with open(coinmetrics_csv, newline="") as f:
        *_, last = csv.DictReader(f)
    day = str(np.datetime64(last["time"]) + 1)
    issued = 144 * 3.125
    supply = float(last["SplyCur"]) + issued
    path.write_text(
        "time,BlkCnt,FeeTotNtv,IssTotNtv,HashRate,PriceUSD,SplyCur\n"
        f"{day},144,3.1,{issued},{last['HashRate']},{last['PriceUSD']},{supply}\n"
    )
    return day


def test_the_now_page_follows_a_write_by_another_process_without_a_reload(
    browser, loaded_db, coinmetrics_csv, tmp_path, artifacts
):
    """The latest day's Now page listens to /events: a commit by another process (here an
    import of the next day, as `serve --watch`'s follower commits a block) swaps in the new
    figures within seconds, and the page is not reloaded."""
    db = tmp_path / "live.duckdb"
    shutil.copy(loaded_db, db)
    day = _next_day_csv(coinmetrics_csv, tmp_path / "next.csv")
    with _serving(db) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        w = Watched(page)
        page.goto(f"{url}/")
        before = page.locator("#day b").inner_text()
        assert before != day
        page.evaluate("window.__still_here = true")
        written = time.monotonic()
        next_day = str(tmp_path / "next.csv")
        subprocess.run(
            [sys.executable, "-m", "minerwatch", "import", "coinmetrics", next_day, "--db", db],
            check=True,
            capture_output=True,
        )
        expect(page.locator("#day b")).to_have_text(day, timeout=10_000)
        shown_after_s = time.monotonic() - written
        assert page.evaluate("window.__still_here") is True
        # a page of an earlier day does not follow
        assert page.locator("[data-live]").count() == 1
        page.goto(f"{url}/?as_of={before}")
        assert page.locator("[data-live]").count() == 0
        page.screenshot(path=artifacts / "now-live.png", full_page=True)
        context.close()
    assert w.errors == [] and all(u.startswith(url + "/") for u in w.requests)
    assert shown_after_s < 10


def test_the_now_page_shows_each_block_the_node_finds_without_a_reload(
    browser, bitcoind, tmp_path, artifacts
):
    """`minerwatch serve --watch` following the stand-in node: a block the node finds
    appears on the open Now page (the tip tile) within seconds, without a reload."""
    import os
    import signal

    from standins.bitcoind import StandinChain

    chain = StandinChain.mainnet_like(919_000, start_height=915_000, seed=5)
    node = bitcoind(chain)
    db = str(tmp_path / "node.duckdb")
    cli = [sys.executable, "-m", "minerwatch"]
    node_args = ["--url", node.url, "--cookie", str(node.cookie_file), "--skip-pow-check"]
    subprocess.run([*cli, "sync", "node", *node_args, "--from-height", "915000", "--db", db],
                   check=True, capture_output=True)  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--watch", *node_args, "--poll", "0.2", "--port", str(port), "--db", db],
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MINERWATCH_RUNTIME_DIR": str(tmp_path / "run")},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        first_answer(f"{url}/api/v1/info", server).raise_for_status()
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        w = Watched(page)
        page.goto(f"{url}/")
        tip = page.locator("#tile-tip .value")
        difficulty = page.locator("#tile-difficulty")
        expect(tip).to_have_text(fmt.number(919_000, ",d"))
        page.evaluate("window.__still_here = true")
        for height in (919_001, 919_002):
            node.extend(1)
            expect(tip).to_have_text(fmt.number(height, ",d"), timeout=10_000)
            # the next adjustment is forecast at the new tip, not at an earlier day's end
            left = RETARGET_INTERVAL - height % RETARGET_INTERVAL
            expect(difficulty).to_contain_text(f"{fmt.number(left, ',d')} blocks left")
        assert page.evaluate("window.__still_here") is True
        page.screenshot(path=artifacts / "now-node.png", full_page=True)
        context.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(20)
    assert w.errors == [] and all(u.startswith(url + "/") for u in w.requests)


def test_a_stream_that_starts_after_a_commit_announces_it(loaded_db):
    """A page rendered before a commit whose stream opens after it (or a browser that
    reconnects after a commit) is told at once: the stream compares the state the page saw
    with the database's."""
    import httpx

    with _serving(loaded_db) as url:
        page = httpx.get(f"{url}/").text
        seen = page.split('data-live="', 1)[1].split('"', 1)[0]
        for since, changed in ((seen, False), ("0123456789abcdef", True)):
            with httpx.stream("GET", f"{url}/events?since={since}", timeout=10) as events:
                lines = events.iter_lines()
                assert next(lines).startswith("retry:") and next(lines) == f"id: {since}"
                assert next(lines) == ""
                if changed:
                    assert next(lines) == "event: change" and next(lines) == f"id: {seen}"
            headers = {"Last-Event-ID": since}
            with httpx.stream("GET", f"{url}/events", headers=headers, timeout=10) as events:
                lines = events.iter_lines()
                assert [next(lines) for _ in range(3)][1] == f"id: {since}"
                if changed:
                    assert next(lines) == "event: change"
