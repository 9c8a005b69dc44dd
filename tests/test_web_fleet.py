"""The Fleet page (/fleet) and the fleet routes of the API (``POST /api/v1/fleet/history``,
``POST /api/v1/fleet/plan``) of `minerwatch serve`, in-process on the real data:

- the page renders its form (the example fleet, the last 365 days held, the shipped
  scenarios) under the strict policy, and is in the nav;
- a history and a plan posted from the form (multipart, as the browser sends it, and
  urlencoded) show the figures of `fleet_history` / `plan_fleet` called directly on the
  same inputs, formatted as the page formats them, and the chart carries the plan's bands;
- the API's JSON is the library result's JSON (`to_json`), and matches its schema;
- a bad fleet file is a 400 with the library's message (line and key), on the page and in
  the API, never a traceback; values out of range and days outside the data likewise;
- an uploaded file is read like a pasted one;
- the server writes nothing: the database's bytes and mtime, its folder and the working
  directory are unchanged after every kind of request;
- schemathesis over the two fleet operations (bounded): every answer as documented, no 5xx.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import json
import os
import re

import httpx
import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from minerwatch.analyses.fleet_history import FleetHistory, fleet_history
from minerwatch.analyses.fleet_plan import FleetPlan, plan_fleet
from minerwatch.present import format as fmt
from minerwatch.serialize import to_json
from minerwatch.sources.fleet_file import fleet_from_text
from minerwatch.sources.scenario_file import packaged_scenarios
from minerwatch.store import open_store
from minerwatch.web.app import CSP, create_app
from minerwatch.web.fleet import EXAMPLE, MAX_FLEET_CHARS, MAX_LOTS, MAX_RUNS
from minerwatch.web.schemas import answer_model

RUNS = 200  # small plans: the figures, not the precision, are checked
FROM, TO = "2025-01-01", "2025-06-30"
BAD = EXAMPLE.replace("count = 1000", "count = -1")  # the first lot's count
BAD_LINE = EXAMPLE.splitlines().index("count = 1000") + 1


class Client:
    """Requests to an application in this process, through httpx's ASGI transport."""

    def __init__(self, app):
        self.app = app

    def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1", timeout=120
            ) as c:
                return await c.request(method, url, **kwargs)

        return asyncio.run(go())

    def get(self, url: str, **kwargs) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def form(self, fields: dict[str, str], upload: tuple[str, bytes] | None = None):
        """The Fleet form posted as the browser posts it: multipart, with an empty file
        field unless ``upload`` (name, bytes) is given."""
        files = {"fleet_file": upload or ("", b"", "application/octet-stream")}
        return self.post("/fleet", data=fields, files=files)


@pytest.fixture(scope="module")
def web(loaded_db):
    return Client(create_app(loaded_db))


@pytest.fixture(scope="module")
def held(loaded_db) -> tuple[str, str]:
    with open_store(loaded_db, read_only=True) as store:
        first, last = store.chain_day_range()
    return str(first), str(last)


@pytest.fixture(scope="module")
def example():
    return fleet_from_text(EXAMPLE)


def _text(fragment: str) -> str:
    """What a reader sees of an HTML fragment: no tags, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def _table(page: str, table_id: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The headers of the table ``table_id`` and its body rows: (the row's attributes, the
    text of each cell)."""
    found = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert found, f"no table {table_id}"
    head, body = found[1].split("<tbody>")
    headers = [_text(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)]
    rows = re.findall(r"<tr([^>]*)>(.*?)</tr>", body, re.S)
    cells = [(a, [_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]) for a, r in rows]
    return headers, cells


def _cells(page: str, table_id: str) -> list[list[str]]:
    return [cells for _, cells in _table(page, table_id)[1]]


def _paragraph(page: str, key: str) -> str:
    found = re.search(rf'<p id="{key}"[^>]*>(.*?)</p>', page, re.S)
    assert found, f"no paragraph {key}"
    return _text(found[1])


def _error(page: str) -> str:
    found = re.search(r'<p class="error" id="fleet-error">(.*?)</p>', page, re.S)
    assert found, "no error shown"
    return _text(found[1])


def _json_of(result) -> object:
    return json.loads(to_json(result))


# -- the page -------------------------------------------------------------------------------


def test_the_page_renders_the_form_with_its_defaults(web, held):
    got = web.get("/fleet")
    assert got.status_code == 200
    assert got.headers["content-security-policy"] == CSP
    page = got.text
    assert '<a href="/fleet" aria-current="page">Fleet</a>' in page
    assert not re.findall(r"""(?:src|href|action)=["'](?:https?:)?//""", page)
    assert "<script>" not in page and " style=" not in page  # nothing inline to allow
    form = re.search(r'<form id="fleet-form"(.*?)</form>', page, re.S)
    assert form and 'method="post"' in form[0] and 'enctype="multipart/form-data"' in form[0]
    assert 'hx-post="/fleet"' in form[0]  # htmx, and a plain POST without JavaScript
    textarea = re.search(
        r'<textarea id="fleet-text" name="fleet"[^>]*>(.*?)</textarea>', page, re.S
    )
    assert textarea and html.unescape(textarea[1]) == EXAMPLE
    assert 'type="file" id="fleet-upload" name="fleet_file"' in page
    first, last = (np.datetime64(d) for d in held)
    default_from = str(max(last - 364, first))
    assert f'name="from" id="history-from" value="{default_from}"' in page
    assert f'name="to" id="history-to" value="{last}"' in page
    options = re.findall(r'<option value="([^"]+)"', page)
    assert options == packaged_scenarios()
    assert re.search(r'name="runs" id="plan-runs" min="1" max="10000" step="1" value="2000"', page)
    assert re.search(
        r'name="months" id="plan-months-input" min="1" max="120" step="1" value="36"', page
    )
    assert 'id="as-of-form"' not in page  # the plan's own as-of is in the form
    result = re.search(r'<section id="fleet-result">(.*?)</section>', page, re.S)
    assert result and _text(result[1]) == ""  # nothing run yet


def test_every_other_page_links_the_fleet_page_with_its_day(web):
    page = web.get("/data").text
    assert '<a href="/fleet">Fleet</a>' in page
    page = web.get("/machines?as_of=2022-11-21").text
    assert '<a href="/fleet?as_of=2022-11-21">Fleet</a>' in page
    page = web.get("/fleet?as_of=2022-11-21").text  # the history to that day, a plan from it
    assert 'name="from" id="history-from" value="2021-11-22"' in page
    assert 'name="to" id="history-to" value="2022-11-21"' in page
    assert 'name="as_of" id="plan-as-of" value="2022-11-21"' in page
    bad = web.get("/fleet?as_of=2022-02-30")
    assert bad.status_code == 400 and "as_of '2022-02-30' is not a date" in html.unescape(bad.text)


def _history_cells(h: FleetHistory) -> dict[str, list[list[str]]]:
    """What the page's history tables must hold: the library's figures, formatted."""
    t = h.totals
    lots = [
        [
            lot.lot, f"{lot.machines:,}", f"{lot.days:,}", fmt.btc_amount(lot.btc),
            fmt.usd(lot.revenue_usd), fmt.usd(lot.power_cost_usd), fmt.usd(lot.fixed_cost_usd),
            fmt.usd(lot.margin_usd), fmt.usd(lot.cash_cost_usd_per_btc),
            fmt.usd(lot.all_in_cost_usd_per_btc), f"{lot.shutdown_days:,}",
            lot.first_shutdown_day or "never", fmt.usd(lot.shutdown_price_usd_last),
        ]
        for lot in h.lots
    ]  # fmt: skip
    lots.append(
        [
            "fleet", "", f"{t.days:,}", fmt.btc_amount(t.btc), fmt.usd(t.revenue_usd),
            fmt.usd(t.power_cost_usd), fmt.usd(t.fixed_cost_usd), fmt.usd(t.margin_usd),
            fmt.usd(t.cash_cost_usd_per_btc), fmt.usd(t.all_in_cost_usd_per_btc), "", "", "",
        ]
    )  # fmt: skip
    months = [
        [
            m["month"], fmt.btc_amount(m["btc"]), fmt.usd(m["revenue_usd"]),
            fmt.usd(m["power_cost_usd"]), fmt.usd(m["fixed_cost_usd"]),
            fmt.usd(m["dr_credit_usd"]), fmt.usd(m["margin_usd"]),
        ]
        for m in h.months
    ]  # fmt: skip
    totals = {
        "days": f"{t.days:,}",
        "BTC mined": fmt.btc(t.btc),
        "revenue": fmt.usd(t.revenue_usd),
        "power": fmt.usd(t.power_cost_usd),
        "fixed": fmt.usd(t.fixed_cost_usd),
        "margin": fmt.usd(t.margin_usd),
        "cash cost per BTC": fmt.usd(t.cash_cost_usd_per_btc),
        "all-in cost per BTC": fmt.usd(t.all_in_cost_usd_per_btc),
    }
    return {"lots": lots, "months": months, "totals": [[k, v] for k, v in totals.items()]}


@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
def test_a_history_posted_from_the_form_shows_the_librarys_figures(
    web, loaded_db, example, encoding
):
    fields = {"fleet": EXAMPLE, "mode": "history", "from": FROM, "to": TO}
    got = web.form(fields) if encoding == "multipart" else web.post("/fleet", data=fields)
    assert got.status_code == 200, _error(got.text)
    page = got.text
    h = fleet_history(loaded_db, example, FROM, TO)
    want = _history_cells(h)
    headers, _ = _table(page, "history-lots")
    assert headers[:8] == ["lot", "machines", "days", "BTC", "revenue", "power", "fixed", "margin"]
    assert headers[8:] == [
        "cash $/BTC", "all-in $/BTC", "days below shutdown", "first below", "shutdown $"
    ]  # fmt: skip
    assert _cells(page, "history-lots") == want["lots"]
    assert _cells(page, "history-months") == want["months"]
    assert len(want["months"]) == 6
    shown_totals = {row[0]: row for row in _cells(page, "history-totals")}
    for label, value in want["totals"]:
        assert shown_totals[label] == [label, value]
    assert _text(re.search(r'<h2 id="history-heading">(.*?)</h2>', page, re.S)[1]) == (
        f"Fleet P&L {FROM} to {TO} (fleet.toml): FPPS, power $0.06/kWh, curtailment economic"
    )
    # the S19j Pro lot spends days below its shutdown price in this half year
    assert h.lots[0].shutdown_days > 0 and want["lots"][0][11] != "never"
    # the form comes back with what was sent
    assert f'name="from" id="history-from" value="{FROM}"' in page
    assert 'value="history" id="mode-history" checked' in page


def test_a_history_without_from_covers_the_last_365_days(web, loaded_db, example, held):
    got = web.form({"fleet": EXAMPLE, "mode": "history", "from": "", "to": ""})
    assert got.status_code == 200, _error(got.text)
    last = np.datetime64(held[1])
    h = fleet_history(loaded_db, example, str(last - 364))
    assert (h.from_day, h.to_day, h.totals.days) == (str(last - 364), held[1], 365)
    assert _cells(got.text, "history-lots") == _history_cells(h)["lots"]


def _band(b, f) -> list[str]:
    return [f(b.p5), f(b.p50), f(b.p95)]


def _decoded(values) -> np.ndarray:
    """A plotly.js typed array (``{"dtype": "f8", "bdata": ...}``) or a list, as numbers."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), "<f8")
    return np.array(values, np.float64)


def test_a_plan_posted_from_the_form_shows_the_librarys_figures(web, loaded_db, example):
    fields = {
        "fleet": EXAMPLE, "mode": "plan", "months": "24", "scenario": "bear",
        "runs": str(RUNS), "seed": "7", "as_of": "",
    }  # fmt: skip
    got = web.form(fields)
    assert got.status_code == 200, _error(got.text)
    page = got.text
    p = plan_fleet(loaded_db, example, 24, "bear", runs=RUNS, seed=7)
    s = p.start
    assert _text(re.search(r'<h2 id="plan-heading">(.*?)</h2>', page, re.S)[1]) == (
        f"Fleet plan: 24 months from {s.day} (fleet.toml), scenario bear, {RUNS} runs, seed 7"
    )
    start = _paragraph(page, "plan-start")
    assert start.startswith(
        f"Start: BTC {fmt.usd(s.price_usd)}, hashprice "
        f"{fmt.hashprice_usd(s.hashprice_usd_ph_day, 'PH/s', per=True)}, difficulty "
        f"{fmt.difficulty(s.difficulty)}, height {s.height:,}; next retarget at "
        f"{s.next_retarget_height:,}"
    ), start
    pb = p.payback

    def months(x):
        return "does not pay back" if x is None else f"{x:,.1f} months"

    assert _cells(page, "plan-payback") == [
        ["static (today's margin held)", months(pb.static_months)],
        ["scenario median", months(pb.median_months)],
        ["within the plan", fmt.percent(100 * pb.probability_within_plan)],
        [f"within the life ({pb.life_months} months)",
         fmt.percent(100 * pb.probability_within_life)],
    ]  # fmt: skip
    verdict = "does not pay back" if pb.does_not_pay_back else "pays back"
    assert _paragraph(page, "plan-verdict").startswith(f"The fleet {verdict}")
    returns = {row[0]: row[1:] for row in _cells(page, "plan-returns")}
    assert returns[f"NPV at {p.discount_rate_pct:g}%/yr"] == _band(p.npv_usd, fmt.usd)
    assert returns["IRR"] == _band(p.irr_pct, fmt.percent)
    assert returns["curtailment rule's value (NPV)"] == _band(p.curtailment_value_usd, fmt.usd)
    assert returns["fleet's BTC at the end"] == _band(p.btc_return.fleet_btc, fmt.btc_amount)
    assert returns["against buying BTC"] == _band(p.btc_return.fleet_over_bought_pct, fmt.pct)
    lots = _cells(page, "plan-lots")
    assert [row[:2] for row in lots] == [[str(lot.shutdown_order), lot.lot] for lot in p.lots]
    assert [int(row[0]) for row in lots] == sorted(int(row[0]) for row in lots)  # shutdown order
    for row, lot in zip(lots, p.lots, strict=True):
        assert row[4:9] == [
            fmt.usd(lot.margin_usd_day_today),
            fmt.usd(lot.breakeven_price_usd),
            fmt.hashprice_usd(lot.breakeven_hashprice_usd_ph_day, "PH/s"),
            f"${fmt.power_price(lot.breakeven_power_price_usd_kwh)}",
            fmt.difficulty(lot.breakeven_difficulty),
        ], lot.lot
    table = _cells(page, "plan-months")
    assert len(table) == 24 == len(p.months_table)
    for row, m in zip(table, p.months_table, strict=True):
        assert row[:4] == [m.month, *_band(m.margin_usd, fmt.usd)], m.month
        assert row[5:7] == [fmt.btc_amount(m.btc.p50), fmt.usd(m.price_usd_p50)], m.month
        assert row[9:] == [fmt.usd(m.cash_flow_usd.p50), fmt.usd(m.cumulative_cash_flow_usd.p50)], (
            m.month
        )
    # the chart: the band's three lines are the months' margin quantiles
    spec = re.search(
        r'<script type="application/json" id="spec-plan-margin-\w+">(.*?)</script>', page, re.S
    )
    assert spec, "no chart"
    doc = json.loads(spec[1])
    traces = {t["name"]: t for t in doc["data"]}
    assert traces["5% to 95% of runs"]["fill"] == "tonexty"
    assert traces["p5"]["x"] == [m.month for m in p.months_table]
    for name, q in (("p5", "p5"), ("5% to 95% of runs", "p95"), ("median run", "p50")):
        want = [getattr(m.margin_usd, q) for m in p.months_table]
        assert _decoded(traces[name]["y"]).tolist() == want, name
    assert 'value="plan" id="mode-plan" checked' in page
    assert '<option value="bear" title=' in page and "selected>bear</option>" in page


def test_the_api_gives_the_librarys_json(web, loaded_db, example):
    got = web.post("/api/v1/fleet/history", json={"fleet": EXAMPLE, "from": FROM, "to": TO})
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/json"
    h = fleet_history(loaded_db, example, FROM, TO)
    assert got.json() == _json_of(h) and got.text == to_json(h) + "\n"
    answer_model(FleetHistory).model_validate(got.json())
    body = {"fleet": EXAMPLE, "months": 12, "scenario": "storm", "runs": RUNS, "seed": 3}
    got = web.post("/api/v1/fleet/plan", json=body)
    assert got.status_code == 200, got.text
    p = plan_fleet(loaded_db, example, 12, "storm", runs=RUNS, seed=3)
    assert got.json() == _json_of(p)
    answer_model(FleetPlan).model_validate(got.json())
    as_of = str(np.datetime64(p.start.day) - 400)
    got = web.post("/api/v1/fleet/plan", json={**body, "as_of": as_of})
    assert got.status_code == 200 and got.json()["start"]["day"] == as_of


def test_a_plan_of_a_fleet_past_its_life_shows_its_notes_alone(web):
    old = (
        '[site]\npower_price_usd_kwh = 0.05\n[[lots]]\nmodel = "Antminer S9"\ncount = 10\n'
        "purchase_date = 2017-01-01\n"
    )
    fields = {"fleet": old, "mode": "plan", "months": "6", "scenario": "base", "runs": "20",
              "seed": "0", "as_of": ""}  # fmt: skip
    got = web.form(fields)
    assert got.status_code == 200, _error(got.text)
    assert "No lot is in service within the plan" in got.text
    assert "is past its life before the plan starts" in got.text
    assert 'id="plan-payback"' not in got.text and 'id="plan-months"' not in got.text


def test_the_plan_defaults_are_the_librarys(web, loaded_db, example):
    """months 36, scenario base, runs 2000, seed 0, as of the last day held."""
    got = web.post("/api/v1/fleet/plan", json={"fleet": EXAMPLE})
    assert got.status_code == 200, got.text
    assert got.json() == _json_of(plan_fleet(loaded_db, example, 36))


# -- bad input --------------------------------------------------------------------------------


def test_a_bad_fleet_file_is_a_400_naming_the_line_and_key(web):
    message = (
        f"fleet.toml, line {BAD_LINE}, key 'lots[1].count': count = -1; expected a whole "
        "number >= 1 and <= 1e+07"
    )
    for mode in ("history", "plan"):
        got = web.form({"fleet": BAD, "mode": mode, "runs": str(RUNS)})
        assert got.status_code == 400
        assert _error(got.text) == message
        assert "Traceback" not in got.text
        # the form comes back with the file as sent, to be corrected
        assert "count = -1" in html.unescape(got.text)
    for route in ("history", "plan"):
        got = web.post(f"/api/v1/fleet/{route}", json={"fleet": BAD})
        assert (got.status_code, got.json()) == (400, {"error": message})


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"fleet": "hello"}, 400, "fleet.toml: not valid TOML"),
        ({"fleet": ""}, 400, "fleet.toml: missing table [site]"),
        ({"fleet": EXAMPLE, "from": "garbage"}, 400, "from 'garbage' is not a date"),
        ({"fleet": EXAMPLE, "from": "2021-02-30"}, 400, "from '2021-02-30' is not a date"),
        (
            {"fleet": EXAMPLE, "from": "2025-06-01", "to": "2025-01-01"},
            400,
            "from 2025-06-01 is after `to` 2025-01-01",
        ),
        ({"fleet": EXAMPLE, "to": "2099-01-01"}, 404, "to 2099-01-01 is outside the data"),
        ({"fleet": 3}, 400, "fleet 3 is not valid"),
        ({}, 400, "fleet is required"),
        ({"fleet": EXAMPLE, "days": 3}, 400, "days 3 is not valid: extra inputs"),
    ],
)
def test_bad_history_requests_are_4xx_with_a_message(web, body, code, message):
    got = web.post("/api/v1/fleet/history", json=body)
    assert got.status_code == code, got.text
    assert message in got.json()["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"runs": MAX_RUNS + 1}, "runs 10001 is not valid: input should be less than or equal"),
        ({"runs": 0}, "runs 0 is not valid"),
        ({"months": 121}, "months 121 is not valid"),
        ({"months": "36"}, "months '36' is not valid"),
        ({"seed": -1}, "seed -1 is not valid"),
        ({"scenario": "/etc/passwd"}, "scenario '/etc/passwd' is not valid: input should be"),
        ({"as_of": "2021-02-30"}, "as_of '2021-02-30' is not a date"),
        ({"as_of": "2009-01-05", "runs": 10}, "as_of 2009-01-05: no BTC/USD close"),
    ],
)
def test_bad_plan_requests_are_400s_with_a_message(web, body, message):
    got = web.post("/api/v1/fleet/plan", json={"fleet": EXAMPLE, **body})
    assert got.status_code == 400, got.text
    assert message in got.json()["error"]


def test_the_form_caps_runs_and_months_and_takes_only_shipped_scenarios(web):
    cases = [
        ({"runs": "10001"}, "runs 10,001 is over 10,000, the most the web runs"),
        ({"months": "121"}, "months 121 is over 120"),
        ({"runs": "many"}, "runs 'many' is not a whole number"),
        ({"runs": "0"}, "runs 0 is out of range"),
        ({"scenario": "/etc/passwd"}, "scenario '/etc/passwd' is not a shipped scenario"),
        ({"mode": "sideways"}, "mode 'sideways'; expected history or plan"),
    ]
    for fields, message in cases:
        got = web.form({"fleet": EXAMPLE, "mode": "plan", **fields})
        assert got.status_code == 400, fields
        assert message in _error(got.text), fields
    many = "[site]\npower_price_usd_kwh = 0.06\n" + "".join(
        f'[[lots]]\nname = "L{i}"\nmodel = "Antminer S21"\ncount = 1\n' for i in range(MAX_LOTS + 1)
    )
    got = web.form({"fleet": many, "mode": "plan"})
    assert got.status_code == 400 and f"the web plans at most {MAX_LOTS}" in _error(got.text)


@pytest.mark.parametrize(
    "raw",
    [b'{"fleet": "\\ud800 \\u0000"}', b"\xff\xfe", b"[1, 2]", b'{"fleet": "x"', b""],
    ids=["lone-surrogate", "not-utf8", "not-an-object", "cut-short", "empty"],
)
def test_a_body_that_is_no_request_is_a_400_with_a_message(web, raw):
    for route in ("history", "plan"):
        got = web.post(
            f"/api/v1/fleet/{route}", content=raw, headers={"content-type": "application/json"}
        )
        assert got.status_code == 400, got.text
        assert set(got.json()) == {"error"} and got.json()["error"]


def test_a_form_too_large_is_a_413(web):
    got = web.form({"fleet": "#" * 300_000, "mode": "history"})
    assert got.status_code == 413 and "the request is over 256 KiB" in _error(got.text)
    got = web.form({"fleet": "#" * (MAX_FLEET_CHARS + 1), "mode": "history"})
    assert got.status_code == 400 and "the web reads a fleet file of at most" in _error(got.text)
    got = web.post("/api/v1/fleet/history", json={"fleet": "#" * 1_100_000})
    assert got.status_code == 413 and "over 1,024 KiB" in got.json()["error"]
    # a body the schema allows, however escaped, is read: a fleet too long is a 400
    got = web.post("/api/v1/fleet/history", json={"fleet": "\u0086" * (MAX_FLEET_CHARS + 1)})
    assert got.status_code == 400 and "at most 50000 characters" in got.json()["error"]

    async def chunks():
        yield b'{"fleet": "'
        yield b'"}'

    got = web.post(
        "/api/v1/fleet/plan", content=chunks(), headers={"content-type": "application/json"}
    )
    assert got.status_code == 411 and "Content-Length" in got.json()["error"]


def test_a_plan_waits_for_the_one_before_it_and_then_is_a_503(web, monkeypatch):
    from minerwatch.web import fleet

    monkeypatch.setattr(fleet, "PLAN_WAIT_S", 0.2)
    assert fleet._PLANNING.acquire(timeout=30)  # a plan running
    try:
        api = web.post("/api/v1/fleet/plan", json={"fleet": EXAMPLE, "runs": 10})
        page = web.form({"fleet": EXAMPLE, "mode": "plan", "runs": "10"})
    finally:
        fleet._PLANNING.release()
    message = "another plan has kept the server busy for 0.2 s; try again later"
    assert (api.status_code, api.json()) == (503, {"error": message})
    assert page.status_code == 503 and _error(page.text) == message
    assert web.post("/api/v1/fleet/plan", json={"fleet": EXAMPLE, "runs": 10}).status_code == 200


# -- upload -----------------------------------------------------------------------------------


def test_an_uploaded_file_is_read_like_a_pasted_one(web, loaded_db, example):
    fields = {"fleet": "", "mode": "history", "from": FROM, "to": TO}
    got = web.form(fields, upload=("C:\\fleets\\site-a.toml", EXAMPLE.encode()))
    assert got.status_code == 200, _error(got.text)
    h = fleet_history(loaded_db, example, FROM, TO)
    assert _cells(got.text, "history-lots") == _history_cells(h)["lots"]
    assert "(site-a.toml)" in got.text and "Read from the uploaded file site-a.toml" in got.text
    # the file's text is put in the textarea, to be edited
    textarea = re.search(r'<textarea id="fleet-text"[^>]*>(.*?)</textarea>', got.text, re.S)
    assert html.unescape(textarea[1]) == EXAMPLE
    # the upload stands for the text pasted; its errors name it
    bad = web.form({**fields, "fleet": EXAMPLE}, upload=("site-b.toml", BAD.encode()))
    assert bad.status_code == 400
    assert _error(bad.text).startswith(f"site-b.toml, line {BAD_LINE}, key 'lots[1].count'")
    binary = web.form(fields, upload=("site-c.toml", b"\xff\xfe\x00bad"))
    assert binary.status_code == 400
    assert (
        _error(binary.text) == "site-c.toml: not UTF-8 text (byte 1); expected a fleet file (TOML)"
    )


# -- read-only --------------------------------------------------------------------------------


def _state(path) -> tuple[str, int, int]:
    st = os.stat(path)
    return hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_size


def test_the_server_writes_nothing(loaded_db, tmp_path, monkeypatch):
    import shutil

    folder = tmp_path / "db"
    folder.mkdir()
    db = folder / "fleet.duckdb"
    shutil.copy2(loaded_db, db)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    client = Client(create_app(db))
    before = (_state(db), sorted(os.listdir(folder)))
    answers = [
        client.get("/fleet"),
        client.form({"fleet": EXAMPLE, "mode": "history", "from": FROM, "to": TO}),
        client.form(
            {"fleet": "", "mode": "plan", "runs": str(RUNS)}, ("up.toml", EXAMPLE.encode())
        ),
        client.form({"fleet": BAD, "mode": "plan"}),
        client.post("/api/v1/fleet/history", json={"fleet": EXAMPLE}),
        client.post("/api/v1/fleet/plan", json={"fleet": EXAMPLE, "months": 6, "runs": RUNS}),
        client.post("/api/v1/fleet/plan", json={"fleet": BAD}),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 400, 200, 200, 400]
    assert (_state(db), sorted(os.listdir(folder))) == before
    assert os.listdir(cwd) == []


# -- the schema -------------------------------------------------------------------------------

EXAMPLES = 8


@pytest.fixture(scope="module")
def fleet_schema(loaded_db):
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(loaded_db))
    return schema.include(path_regex="^/api/v1/fleet/")


def test_the_schema_documents_both_fleet_routes(fleet_schema, web):
    operations = {
        (op.ok().method.upper(), op.ok().path) for op in fleet_schema.get_all_operations()
    }
    assert operations == {("POST", "/api/v1/fleet/history"), ("POST", "/api/v1/fleet/plan")}
    doc = web.get("/openapi.json").json()
    plan = doc["paths"]["/api/v1/fleet/plan"]["post"]
    assert set(plan["responses"]) == {"200", "400", "404", "411", "413", "503"}
    body = doc["components"]["schemas"]["FleetPlanRequest"]["properties"]
    assert body["runs"]["maximum"] == MAX_RUNS and body["months"]["maximum"] == 120
    assert body["scenario"]["enum"] == packaged_scenarios()
    history = doc["components"]["schemas"]["FleetHistoryRequest"]["properties"]
    assert {"fleet", "from", "to"} == set(history)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_fleet_routes_answer_as_their_schema_says(fleet_schema, mode):
    """Generated bodies (any text as the fleet file, values in and out of range): each
    answer as documented, and a 4xx for a bad one, never a server error. The schema's
    examples (the example fleet, a small plan) are run too and answer 200."""
    checked = []
    for result in fleet_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case):
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        check()
        checked.append(operation.path)
    assert sorted(checked) == ["/api/v1/fleet/history", "/api/v1/fleet/plan"]
