"""The Alerts page (/alerts) and ``GET /api/v1/alerts`` of `minerwatch serve`, in-process on
the real data:

- the page shows every rule of the pack with the state, value, since and summary of
  `alerts_check` called directly, for two days, and each rule's history as
  `alerts_backtest` from 2012-01-01 to the day gives it (the summary, a strip with one bar
  per firing period, the periods listed); the default day is the last one held;
- the API's JSON is the library's (`check`, `backtest`), and matches its schema;
- after `run_alerts` on a private copy of the database (a JSONL notifier and one that
  fails), the stored states and the ledger's rows appear on the page and in the API;
- the rule file: the one given to the app, else `$MINERWATCH_ALERTS`, else the shipped pack
  (said on the page); a broken one is a 503 naming it;
- a bad day is a 400, one outside the data a 404, on the page and in the API;
- the server writes nothing: the database's bytes and mtime, the notifier's file, the
  database's folder and the working directory are unchanged after the requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import os
import re
import shutil
from importlib import resources

import httpx
import numpy as np
import pytest

from minerwatch.analyses.alerts import alerts_backtest, alerts_check
from minerwatch.notify.run import MAX_ATTEMPTS, rules_identity, run_alerts
from minerwatch.sources.alert_rules import load_rules
from minerwatch.store import open_store
from minerwatch.web.alerts import AlertsOverview
from minerwatch.web.app import CSP, create_app
from minerwatch.web.schemas import answer_model

DAYS = ("2022-11-21", "2025-06-30")
SHOWN_SUMMARY = ("pending", "firing", "recovering")


class Client:
    """Requests to an application in this process, through httpx's ASGI transport."""

    def __init__(self, app):
        self.app = app

    def get(self, url: str, **kwargs) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1", timeout=120
            ) as c:
                return await c.get(url, **kwargs)

        return asyncio.run(go())


@pytest.fixture(scope="module")
def web(loaded_db):
    return Client(create_app(loaded_db, alerts="pack"))


@pytest.fixture(scope="module")
def pack():
    return load_rules("pack")


def _text(fragment: str) -> str:
    """What a reader sees of an HTML fragment: no tags, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def _rows(page: str, table_id: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """The body rows of the table ``table_id``: (the row's attributes, [(a cell's
    attributes, its text)])."""
    found = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert found, f"no table {table_id}"
    body = found[1].split("<tbody>")[1]
    rows = re.findall(r"<tr([^>]*)>(.*?)</tr>", body, re.S)
    return [(a, re.findall(r"<td([^>]*)>(.*?)</td>", r, re.S)) for a, r in rows]


def _cells(page: str, table_id: str) -> list[list[str]]:
    return [[_text(c) for _, c in cells] for _, cells in _rows(page, table_id)]


def _value(v) -> str:
    """A rule's value as `minerwatch alerts check` prints it."""
    if v is None:
        return "n/a"
    return v if isinstance(v, str) else f"{v:,.4g}"


def _utc(unix_s: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(int(unix_s), dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# -- the page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("day", DAYS)
def test_the_page_shows_each_rule_as_alerts_check_does(web, loaded_db, pack, day):
    got = web.get(f"/alerts?as_of={day}")
    assert got.status_code == 200
    assert got.headers["content-security-policy"] == CSP
    page = got.text
    assert '<a href="/alerts?as_of=' + day + '" aria-current="page">Alerts</a>' in page
    assert f"Day <b>{day}</b>" in page
    assert "<script>" not in page and " style=" not in page  # nothing inline to allow
    assert not re.findall(r"""(?:src|href|action)=["'](?:https?:)?//""", page)
    c = alerts_check(loaded_db, pack, day)
    assert c.as_of == day and len(c.rules) == len(pack.rules) == 8
    rows = _rows(page, "alerts-state")
    assert [a for a, _ in rows] == [f' id="rule-{r.alert}"' for r in c.rules]
    for r, (_, cells) in zip(c.rules, rows, strict=True):
        text = [_text(x) for _, x in cells]
        summary = (r.summary or "") if r.state in SHOWN_SUMMARY else ""
        severity = r.labels.get("severity", "")
        assert text == [
            r.alert, r.state, _value(r.value), r.since, r.firing_since or "", severity, summary
        ]  # fmt: skip
        assert cells[1][0] == f' class="state-{r.state}"'  # coloured as the terminal does
    states = {r.alert: r.state for r in c.rules}
    if day == "2022-11-21":  # the 2022 capitulation: cost and Puell both firing
        assert states["PriceFarBelowCost"] == states["PuellCapitulation"] == "firing"
    else:
        assert states["RibbonsCapitulation"] == "firing"
    firing = [r.alert for r in c.rules if r.state == "firing"]
    counts = re.search(r'<p id="alerts-counts">(.*?)</p>', page, re.S)
    assert counts and f"{len(firing)} firing ({', '.join(firing)})" in _text(counts[1])
    assert 'id="no-stored"' in page  # alerts run never ran on this database
    assert 'id="notifications"' not in page


@pytest.mark.parametrize("day", DAYS)
def test_the_page_shows_each_rules_history_to_the_day(web, loaded_db, pack, day):
    page = web.get(f"/alerts?as_of={day}").text
    b = alerts_backtest(loaded_db, pack, "2012-01-01", day)
    assert (b.from_day, b.to_day) == ("2012-01-01", day)
    heading = re.search(r'<section id="alerts-history">\s*<h2>(.*?)</h2>', page, re.S)
    assert heading and _text(heading[1]) == f"History: 2012-01-01 to {day} ({b.years:,.1f} years)"
    rows = _cells(page, "history")
    assert len(rows) == len(b.rules)
    for r, cells in zip(b.rules, rows, strict=True):
        share = "n/a" if r.share_firing_pct is None else f"{r.share_firing_pct:.1f}%"
        assert cells[:6] == [
            r.alert, str(len(r.periods)), f"{r.periods_per_year:.2f}", share,
            f"{r.longest_days:,} d", f"{r.days_no_data:,}",
        ]  # fmt: skip
        strip = re.search(
            rf'<tr id="history-{r.alert}">.*?<svg class="strip"(.*?)</svg>', page, re.S
        )
        assert strip and len(re.findall(r'<rect class="period', strip[1])) == len(r.periods)
        titles = re.findall(r"<title>(.*?)</title>", strip[1])
        assert [t.split(":")[0] for t in titles] == [
            f"{p.start} {'still firing' if p.end is None else 'to ' + p.end}" for p in r.periods
        ]
        if r.periods:
            assert f'<details class="periods" id="periods-{r.alert}">' in page
            assert _cells(page, f"periods-{r.alert}-table") == [
                [p.start, p.end or "still firing", f"{p.days:,}", _value(p.value)]
                for p in r.periods
            ]
        else:
            assert f'<p class="meta" id="periods-{r.alert}">' in page
    # the 2018-2019 episode is in both days' history
    cost = next(r for r in b.rules if r.alert == "PriceFarBelowCost")
    assert ("2018-03-16", "2019-05-17") in [(p.start, p.end) for p in cost.periods]


def test_the_page_shows_the_last_day_by_default(web, loaded_db, pack):
    with open_store(loaded_db, read_only=True) as store:
        last = str(store.chain_day_range()[1])
    page = web.get("/alerts").text
    assert f"Day <b>{last}</b>" in page
    c = alerts_check(loaded_db, pack)
    assert c.as_of == last
    assert [row[1] for row in _cells(page, "alerts-state")] == [r.state for r in c.rules]
    assert f"History: 2012-01-01 to {last}" in page
    # before 2012, the history is the data held up to the day
    early = web.get("/alerts?as_of=2011-06-01").text
    assert "History: 2009-01-03 to 2011-06-01" in early


def test_every_page_links_the_alerts_page_with_its_day(web):
    assert '<a href="/alerts">Alerts</a>' in web.get("/data").text
    page = web.get("/machines?as_of=2022-11-21").text
    assert '<a href="/alerts?as_of=2022-11-21">Alerts</a>' in page
    alerts = web.get("/alerts?as_of=2022-11-21").text
    assert 'href="/api/v1/alerts?as_of=2022-11-21">JSON</a>' in alerts  # its own JSON
    assert 'id="as-of-form" action="/alerts"' in alerts


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("as_of=2022-02-30", 400, "as_of '2022-02-30' is not a date"),
        ("as_of=2030-01-01", 404, "as_of 2030-01-01 is outside the data held"),
    ],
)
def test_a_bad_day_is_an_error_on_the_page_and_in_the_api(web, query, status, message):
    page = web.get(f"/alerts?{query}")
    assert page.status_code == status and message in html.unescape(page.text)
    api = web.get(f"/api/v1/alerts?{query}")
    assert api.status_code == status and message in api.json()["error"]
    assert set(api.json()) == {"error"}


# -- the API ----------------------------------------------------------------------------------


@pytest.mark.parametrize("day", DAYS)
def test_the_api_gives_the_librarys_json(web, loaded_db, pack, day):
    got = web.get(f"/api/v1/alerts?as_of={day}")
    assert got.status_code == 200 and got.headers["content-type"] == "application/json"
    doc = got.json()
    assert doc == {
        "check": alerts_check(loaded_db, pack, day).to_dict(),
        "backtest": alerts_backtest(loaded_db, pack, "2012-01-01", day).to_dict(),
        "stored": [],
        "notifications": [],
    }
    answer_model(AlertsOverview).model_validate(doc)
    tag = got.headers["etag"]
    again = web.get(f"/api/v1/alerts?as_of={day}", headers={"If-None-Match": tag})
    assert again.status_code == 304


def test_the_schema_documents_the_route(web):
    doc = web.get("/openapi.json").json()
    op = doc["paths"]["/api/v1/alerts"]["get"]
    assert set(op["responses"]) == {"200", "400", "404", "503"}
    assert [p["name"] for p in op["parameters"]] == ["as_of"]
    overview = doc["components"]["schemas"]["AlertsOverview"]
    assert set(overview["properties"]) == {"check", "backtest", "stored", "notifications"}


# -- what alerts run stored -------------------------------------------------------------------

RUN_DAYS = ("2022-11-21", "2023-02-01")


@pytest.fixture(scope="module")
def ran(loaded_db, tmp_path_factory):
    """A private copy of the database after `run_alerts` on two days, with the pack's rules
    and two notifiers: a JSONL file, and one whose folder is missing (its deliveries fail).
    (database, rule file, the JSONL file)."""
    folder = tmp_path_factory.mktemp("ran")
    db = folder / "ran.duckdb"
    shutil.copy2(loaded_db, db)
    out = folder / "notes.jsonl"
    text = (resources.files("minerwatch.sources") / "rules" / "pack.yaml").read_text()
    text += (
        f"notifiers:\n  - {{type: jsonl, path: {json.dumps(str(out))}}}\n"
        f"  - {{type: jsonl, path: {json.dumps(str(folder / 'missing' / 'x.jsonl'))}}}\n"
    )
    rules_file = folder / "rules.yaml"
    rules_file.write_text(text)
    with open_store(db) as store:
        for day in RUN_DAYS:
            run_alerts(store, rules_file, day)
    return db, rules_file, out


def test_the_stored_states_and_the_ledger_are_shown(ran):
    db, rules_file, out = ran
    rules = load_rules(rules_file)
    identity = rules_identity(rules)
    assert identity == str(rules_file.resolve())
    with open_store(db, read_only=True) as store:
        states = store.alert_states(identity)
        ledger = store.alert_notifications(identity)
    assert {s["evaluated_day"] for s in states} == {RUN_DAYS[-1]}
    order = [r.alert for r in rules.rules]
    assert sorted(s["alert"] for s in states) == sorted(order)
    states.sort(key=lambda s: order.index(s["alert"]))  # shown in the rule file's order
    kinds = sorted((r["kind"], r["alert"], r["status"]) for r in ledger)
    assert kinds == [
        ("firing", "PriceFarBelowCost", "delivered"),
        ("firing", "PriceFarBelowCost", "failed"),
        ("firing", "PuellCapitulation", "delivered"),
        ("firing", "PuellCapitulation", "failed"),
        ("resolved", "PuellCapitulation", "delivered"),
        # the failing notifier never received the start: it is owed no resolution
    ]
    assert len(out.read_text().splitlines()) == 3  # what the JSONL notifier received

    web = Client(create_app(db, alerts=rules_file))
    page = web.get("/alerts?as_of=2025-06-30").text  # the stored states whatever the day
    assert f"Rules: <code>{rules_file}</code>, given to the server." in page
    last = max(s["updated_s"] for s in states)
    assert f"Last run: evaluated {RUN_DAYS[-1]}, at {_utc(last)}." in _text(page)
    shown = _cells(page, "stored")
    assert shown == [
        [
            s["alert"], s["state"], s["since_day"], s["firing_since"] or "",
            _value(None if s["value"] is None else _number(s["value"])), s["evaluated_day"],
            _utc(s["updated_s"]),
        ]
        for s in states
    ]  # fmt: skip
    notes = _rows(page, "notifications")
    newest_first = list(reversed(ledger))
    assert [[_text(c) for _, c in cells][:7] for _, cells in notes] == [
        [
            r["day"], r["alert"], r["kind"], r["notifier"], r["status"], str(r["attempts"]),
            r["error"] or "",
        ]
        for r in newest_first
    ]  # fmt: skip
    assert [cells[4][0] for _, cells in notes] == [
        f' class="status-{r["status"]}"' for r in newest_first
    ]
    failed = [r for r in ledger if r["status"] == "failed"]
    assert failed and all(r["error"] for r in failed)
    # the firing ones failed twice (the second run tried them again)
    assert {r["attempts"] for r in failed if r["kind"] == "firing"} == {2}

    api = web.get("/api/v1/alerts?as_of=2025-06-30").json()
    answer_model(AlertsOverview).model_validate(api)
    assert api["check"]["rule_file"] == str(rules_file)
    assert set(api["stored"][0]) == set(states[0])
    assert api["stored"] == [{k: s[k] for k in api["stored"][0]} for s in states]
    assert api["notifications"] == [
        {k: v for k, v in r.items() if k not in ("rules", "payload")} for r in newest_first
    ]


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def test_the_ledger_shows_its_newest_twenty_rows(ran, pack, tmp_path):
    db, rules_file, _ = ran
    copy = tmp_path / "more.duckdb"
    shutil.copy2(db, copy)
    b = alerts_backtest(copy, pack, "2023-02-02")
    ribbons = next(r for r in b.rules if r.alert == "RibbonsCapitulation")
    closed = [p for p in ribbons.periods if p.end is not None][:5]
    assert len(closed) == 5
    with open_store(copy) as store:  # each period's start and end: 4 rows each, and more
        for p in closed:
            run_alerts(store, rules_file, p.start)
            run_alerts(store, rules_file, str(np.datetime64(p.end) + 1))
        ledger = store.alert_notifications(rules_identity(load_rules(rules_file)))
    assert len(ledger) > 20
    rows = [{k: v for k, v in r.items() if k not in ("rules", "payload")} for r in reversed(ledger)]
    web = Client(create_app(copy, alerts=rules_file))
    assert web.get("/api/v1/alerts").json()["notifications"] == rows[:20]
    assert len(_cells(web.get("/alerts").text, "notifications")) == 20
    assert max(r["attempts"] for r in rows if r["status"] == "failed") == MAX_ATTEMPTS


# -- which rule file --------------------------------------------------------------------------


def test_the_rules_are_the_configured_ones_else_the_pack(loaded_db, ran, tmp_path, monkeypatch):
    _, rules_file, _ = ran
    monkeypatch.setenv("MINERWATCH_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("MINERWATCH_ALERTS", raising=False)
    web = Client(create_app(loaded_db))
    page = web.get("/alerts?as_of=2022-11-21").text
    rules = re.search(r'<p id="alerts-rules">(.*?)</p>', page, re.S)
    assert rules and "Rules: pack, minerwatch's shipped pack: no rule file is configured" in (
        _text(rules[1])
    )
    monkeypatch.setenv("MINERWATCH_ALERTS", str(rules_file))  # read on each request
    page = web.get("/alerts?as_of=2022-11-21").text
    rules = re.search(r'<p id="alerts-rules">(.*?)</p>', page, re.S)
    assert rules and _text(rules[1]).startswith(
        f"Rules: {rules_file} ([alerts] rules, env MINERWATCH_ALERTS)."
    )
    assert web.get("/api/v1/alerts?as_of=2022-11-21").json()["check"]["rule_file"] == str(
        rules_file
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: nope > 1\n"
    )
    monkeypatch.setenv("MINERWATCH_ALERTS", str(broken))
    api = web.get("/api/v1/alerts?as_of=2022-11-21")
    assert api.status_code == 503
    assert api.json()["error"].startswith("the server's alert rules cannot be used: ")
    assert str(broken) in api.json()["error"] and "nope" in api.json()["error"]
    page = web.get("/alerts?as_of=2022-11-21")
    assert page.status_code == 503 and str(broken) in html.unescape(page.text)
    monkeypatch.setenv("MINERWATCH_ALERTS", str(tmp_path / "absent.yaml"))
    assert web.get("/api/v1/alerts").status_code == 503


# -- read-only --------------------------------------------------------------------------------


def _state(path) -> tuple[str, int, int]:
    st = os.stat(path)
    return hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_size


def test_the_server_writes_nothing(ran, tmp_path, monkeypatch):
    src, rules_file, out = ran
    folder = tmp_path / "db"
    folder.mkdir()
    db = folder / "alerts.duckdb"
    shutil.copy2(src, db)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    client = Client(create_app(db, alerts=rules_file))
    before = (_state(db), _state(out), _state(rules_file), sorted(os.listdir(folder)))
    answers = [
        client.get("/alerts"),
        client.get("/alerts?as_of=2022-11-21"),
        client.get("/api/v1/alerts"),
        client.get("/api/v1/alerts?as_of=2023-02-01"),
        client.get("/alerts?as_of=2022-02-30"),
        client.get("/api/v1/alerts?as_of=2030-01-01"),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 400, 404]
    assert 'id="stored"' in answers[0].text and 'id="notifications"' in answers[0].text
    after = (_state(db), _state(out), _state(rules_file), sorted(os.listdir(folder)))
    assert after == before
    assert os.listdir(cwd) == []
