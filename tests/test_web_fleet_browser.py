"""The Fleet page in a real browser (Debian's Chromium, as tests/test_web_browser.py drives
it, on uvicorn in a thread): the plan form, submitted by htmx, shows the plan's tables and
draws its chart without a reload and with no console error or request leaving 127.0.0.1;
the history form likewise; a bad fleet file shows the library's message in place.
Screenshots go to the same artifacts folder (``test-artifacts/web``)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

import test_web_browser
from minerwatch.analyses.fleet_plan import plan_fleet
from minerwatch.present import format as fmt
from minerwatch.sources.fleet_file import fleet_from_text
from minerwatch.web.fleet import EXAMPLE

# the browser, the server on the real data and the watched page of tests/test_web_browser.py
browser = test_web_browser.browser
base_url = test_web_browser.base_url
artifacts = test_web_browser.artifacts
watched = test_web_browser.watched

RUNS = 200
#: Longest wait for an answer (a plan of 200 runs takes well under a second).
WAIT_MS = 20_000


@pytest.fixture
def page(watched):
    watched.page.set_default_timeout(WAIT_MS)
    return watched.page


def test_the_plan_form_shows_the_plan_and_its_chart_without_a_reload(
    page, base_url, artifacts, loaded_db
):
    page.goto(f"{base_url}/fleet")
    page.evaluate("window.__still_here = true")
    page.check("#mode-plan")
    page.fill("#plan-runs", str(RUNS))
    page.click("#fleet-run")
    rows = page.locator("#plan-months tbody tr")
    expect(rows).to_have_count(36)
    page.wait_for_function(
        "document.querySelectorAll('#plan-margin div.chart[data-drawn=\"1\"] .main-svg').length > 0"
    )
    assert page.evaluate("window.__still_here") is True  # swapped in by htmx, no reload
    assert page.url == f"{base_url}/fleet"
    p = plan_fleet(loaded_db, fleet_from_text(EXAMPLE), 36, runs=RUNS)
    first = p.months_table[0]
    cells = rows.first.locator("td")
    assert cells.nth(0).inner_text() == first.month
    assert cells.nth(2).inner_text() == fmt.usd(first.margin_usd.p50)
    expect(page.locator("#plan-lots tbody tr")).to_have_count(len(p.lots))
    page.screenshot(path=artifacts / "fleet-plan.png", full_page=True)


#: What Chromium logs for any answer of 400, the answer a bad fleet file is meant to get.
BAD_REQUEST_LOGGED = "Failed to load resource: the server responded with a status of 400"


def test_the_history_form_and_a_bad_file_show_in_place(page, watched, base_url, artifacts):
    page.goto(f"{base_url}/fleet")
    page.evaluate("window.__still_here = true")
    page.click("#fleet-run")  # history, the last 365 days held
    expect(page.locator("#history-lots tbody tr")).to_have_count(3)  # two lots and the fleet
    expect(page.locator("#history-months tbody tr").first).to_be_visible()
    page.screenshot(path=artifacts / "fleet-history.png", full_page=True)
    page.fill("#fleet-text", EXAMPLE.replace("count = 1000", "count = -1"))
    page.click("#fleet-run")
    expect(page.locator("#fleet-error")).to_contain_text("key 'lots[1].count': count = -1")
    expect(page.locator("#history-lots")).to_have_count(0)  # the old result is gone
    assert page.evaluate("window.__still_here") is True
    page.screenshot(path=artifacts / "fleet-error.png", full_page=True)
    # the 400 itself is the only console error (htmx logs none: the answer is swapped in)
    assert [e for e in watched.errors if e.startswith(BAD_REQUEST_LOGGED)] != []
    watched.errors[:] = [e for e in watched.errors if not e.startswith(BAD_REQUEST_LOGGED)]
