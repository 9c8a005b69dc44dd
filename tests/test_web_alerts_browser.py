"""The Alerts page in a real browser (Debian's Chromium, as tests/test_web_browser.py drives
it, on uvicorn in a thread), on a copy of the real data after two `alerts run`s
(tests/test_web_alerts.py's ``ran``): the rules' states coloured as the terminal colours
them, the stored states and the ledger, each rule's strip and its periods opened, and the
as-of form swapping the day without a reload, with no console error or request leaving
127.0.0.1. Screenshots go to the same artifacts folder (``test-artifacts/web``)."""

from __future__ import annotations

from playwright.sync_api import expect

import test_web_alerts
import test_web_browser
from minerwatch.analyses.alerts import alerts_backtest, alerts_check
from minerwatch.notify.run import rules_identity
from minerwatch.sources.alert_rules import load_rules
from minerwatch.store import open_store

# the browser and the artifacts folder of tests/test_web_browser.py; the database after
# `run_alerts` of tests/test_web_alerts.py
browser = test_web_browser.browser
artifacts = test_web_browser.artifacts
ran = test_web_alerts.ran
pack = test_web_alerts.pack

#: The terminal's colours (present/alerts.py) as the page's stylesheet draws them.
COLOURS = {"firing": "rgb(198, 40, 40)", "normal": "rgb(46, 125, 50)"}


def test_the_alerts_page_in_a_browser(browser, ran, pack, artifacts, monkeypatch):
    db, rules_file, _ = ran
    monkeypatch.setenv("MINERWATCH_ALERTS", str(rules_file))  # the server reads it per request
    with test_web_browser._serving(db) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(30_000)
        w = test_web_browser.Watched(page)
        page.goto(f"{url}/alerts?as_of=2025-06-30")
        ribbons = page.locator("#rule-RibbonsCapitulation td").nth(1)
        expect(ribbons).to_have_text("firing")
        page.screenshot(path=artifacts / "alerts.png", full_page=True)

        # a fresh page: Playwright's screenshot leaves style="" on the inputs, which htmx's
        # swap would copy onto the new ones (and the policy refuse)
        page.goto(f"{url}/alerts")
        page.evaluate("window.__still_here = true")
        page.fill("#as-of", "2022-11-21")
        page.click("#as-of-form button[type=submit]")
        expect(page.locator("#day b")).to_have_text("2022-11-21")
        assert page.evaluate("window.__still_here") is True  # swapped by htmx, no reload
        assert page.url.endswith("/alerts?as_of=2022-11-21")
        c = alerts_check(db, pack, "2022-11-21")
        rows = page.locator("#alerts-state tbody tr")
        expect(rows).to_have_count(len(c.rules))
        for i, r in enumerate(c.rules):
            state = rows.nth(i).locator("td").nth(1)
            assert state.inner_text() == r.state
            if r.state in COLOURS:
                assert state.evaluate("e => getComputedStyle(e).color") == COLOURS[r.state]
        expect(page.locator("#stored tbody tr")).to_have_count(len(c.rules))
        with open_store(db, read_only=True) as store:
            held = store.alert_notifications(rules_identity(load_rules(rules_file)))
        expect(page.locator("#notifications tbody tr")).to_have_count(min(len(held), 20))
        b = alerts_backtest(db, pack, "2012-01-01", "2022-11-21")
        cost = next(r for r in b.rules if r.alert == "PriceFarBelowCost")
        bars = page.locator("#history-PriceFarBelowCost svg.strip rect.period")
        expect(bars).to_have_count(len(cost.periods))
        assert bars.first.bounding_box()["width"] >= 1  # drawn, not collapsed
        periods = page.locator("#periods-PriceFarBelowCost-table")
        expect(periods).to_be_hidden()
        page.click("#periods-PriceFarBelowCost summary")
        expect(periods.locator("tbody tr")).to_have_count(len(cost.periods))
        page.screenshot(path=artifacts / "alerts-2022-11-21.png", full_page=True)
        context.close()
    assert w.errors == []
    assert w.requests and all(u.startswith(url + "/") for u in w.requests), w.requests
