"""`alerts run`: daily runs deliver each transition of a rule once to a real webhook
receiver on 127.0.0.1 and a JSONL file, across repeated runs of a day, a restart in the
middle of a firing period and a receiver that was down; the states are kept."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from tests.standins.serving import free_port
from tests.standins.smtp import smtp_server

from minerwatch.analyses.alerts import alerts_backtest
from minerwatch.notify.run import run_alerts
from minerwatch.store import open_store

PUELL_RULE = """groups:
  - name: g
    rules:
      - alert: PuellCapitulation
        expr: puell_multiple < 0.5
        for: 3d
        keep_firing_for: 14d
        labels: {{severity: {severity}}}
        annotations:
          summary: "Puell {{{{ puell_multiple }}}}"
"""
RULES = (
    PUELL_RULE.replace("{severity}", "info")
    + """notifiers:
  - {{type: webhook, url: "{url}", retries: 0}}
  - {{type: jsonl, path: "{jsonl}"}}
"""
)


@pytest.fixture
def db(tmp_path, loaded_db):
    path = tmp_path / "mw.duckdb"
    shutil.copy(loaded_db, path)
    return path


@pytest.fixture
def smtp():
    with smtp_server() as served:
        yield served


def _rules(tmp_path, url):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES.format(url=url, jsonl=tmp_path / "out.jsonl"))
    return path


def _days(first: str, last: str) -> list[str]:
    return [str(d) for d in np.arange(np.datetime64(first), np.datetime64(last) + 1)]


def test_daily_runs_notify_each_period_once(tmp_path, db, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    rules = _rules(tmp_path, httpserver.url_for("/hook"))
    for day in _days("2022-06-10", "2022-08-15"):
        with open_store(db) as store:
            run_alerts(store, rules, day)
    with open_store(db) as store:  # a restart, and the same day again: nothing new
        again = run_alerts(store, rules, "2022-08-15")
    assert again.recorded == 0 and again.sent == []
    bodies = [json.loads(r.get_data()) for r, _ in httpserver.log]
    # the periods the backtest finds in the same days, worked out by the replay
    periods = alerts_backtest(db, rules, "2022-06-10", "2022-08-15").rules[0].periods
    ended = [p for p in periods if p.end is not None]
    assert len(bodies) == len(periods) + len(ended)
    statuses = [b["status"] for b in bodies]
    assert statuses == ["firing", "resolved"] * len(ended) + ["firing"] * (
        len(periods) - len(ended)
    )
    first = bodies[0]
    assert (
        first["version"] == "4" and first["alerts"][0]["labels"]["alertname"] == "PuellCapitulation"
    )
    assert first["alerts"][0]["startsAt"].startswith(
        str(np.datetime64(periods[0].start) + 1)
    )  # known at the end of the period's first day
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [x["status"] for x in lines] == statuses
    with open_store(db, read_only=True) as store:
        ledger = store.alert_notifications(str(rules.resolve()))
        states = {s["alert"]: s for s in store.alert_states(str(rules.resolve()))}
    assert all(r["status"] == "delivered" for r in ledger)
    assert len(ledger) == 2 * len(bodies)  # two notifiers
    assert states["PuellCapitulation"]["evaluated_day"] == "2022-08-15"


def test_a_receiver_that_was_down_gets_the_notification_once_it_is_back(tmp_path, db, httpserver):
    down = f"http://127.0.0.1:{free_port()}/hook"
    rules = _rules(tmp_path, down)
    with open_store(db) as store:
        first = run_alerts(store, rules, "2022-06-25")
    webhook = next(s for s in first.sent if s.notifier.startswith("webhook"))
    assert not webhook.ok and webhook.error
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    # the same notifier (same label) now answers: the rule file points at the live port
    (tmp_path / "rules.yaml").write_text(
        (tmp_path / "rules.yaml").read_text().replace(down, httpserver.url_for("/hook"))
    )
    with open_store(db) as store:
        # the ledger knows the notifier by its label (its URL): a new URL is a new notifier
        second = run_alerts(store, rules, "2022-06-26")
    assert [s.ok for s in second.sent if s.notifier.startswith("webhook")] == [True]
    assert len(httpserver.log) == 1
    with open_store(db) as store:
        third = run_alerts(store, rules, "2022-06-27")
    assert third.sent == [] and len(httpserver.log) == 1


def test_a_period_that_ended_before_the_first_run_is_not_resolved(tmp_path, db, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    rules = _rules(tmp_path, httpserver.url_for("/hook"))
    with open_store(db) as store:
        result = run_alerts(store, rules, "2021-06-01")  # long after the 2020 period ended
    assert result.recorded == 0 and len(httpserver.log) == 0
    assert result.states == {"PuellCapitulation": "normal"}


def test_cli_alerts_run(cli, tmp_path, db, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    rules = _rules(tmp_path, httpserver.url_for("/hook"))
    result = cli("alerts", "run", rules, "--as-of", "2022-06-25", "--db", db)
    assert result.returncode == 0, result.stderr
    assert "delivered" in result.stdout and "PuellCapitulation" in result.stdout
    doc = json.loads(
        cli("alerts", "run", rules, "--as-of", "2022-06-25", "--db", db, "--json").stdout
    )
    assert doc["recorded"] == 0 and doc["sent"] == []  # the same day again: nothing new
    assert doc["states"]["PuellCapitulation"] in ("firing", "recovering")


def test_a_sync_runs_the_configured_rules(
    cli, tmp_path, coinmetrics_csv, epochs_csv, cm_rows, httpserver
):
    """`minerwatch sync` with MINERWATCH_ALERTS set: the days fetched are evaluated and the
    firing that begins in them is delivered (the stand-in Coin Metrics API serves them)."""
    from tests.test_sync import PATH, FakeCoinMetrics, _item

    import minerwatch

    lines = coinmetrics_csv.read_text().splitlines(keepends=True)
    held = tmp_path / "held.csv"
    held.write_text("".join([lines[0]] + [x for x in lines[1:] if x[:10] <= "2022-06-10"]))
    db = tmp_path / "mw.duckdb"
    with minerwatch.open_store(db) as store:
        minerwatch.import_coinmetrics(store, held)
        minerwatch.import_epochs(store, epochs_csv)
    fake = FakeCoinMetrics([_item(r) for r in cm_rows])
    httpserver.expect_request(PATH).respond_with_handler(fake)
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    rules = _rules(tmp_path, httpserver.url_for("/hook"))
    env = {"MINERWATCH_ALERTS": str(rules), "MINERWATCH_CONFIG": str(tmp_path / "none.toml")}
    result = cli(
        "sync", "--url", httpserver.url_for("/v4"), "--end", "2022-06-30", "--db", db, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "alerts run on 2022-06-30" in result.stdout
    hooks = [json.loads(r.get_data()) for r, _ in httpserver.log if r.path == "/hook"]
    assert [h["status"] for h in hooks] == ["firing"]
    assert hooks[0]["alerts"][0]["startsAt"] == "2022-06-20T00:00:00Z"


def test_an_announced_period_that_ends_between_two_runs_is_resolved(tmp_path, db, httpserver):
    """Runs a week apart: a period that ended and another that began in between are both
    told (the first resolved, the second firing); a notifier whose settings cannot be used
    fails on its own and the others are delivered."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    path = tmp_path / "rules.yaml"
    path.write_text(
        "groups:\n  - name: g\n    rules:\n      - alert: Below20k\n"
        "        expr: price_usd < 20000\n"
        "notifiers:\n"
        "  - {type: telegram, chat_id: 1, bot_token_env: MW_TEST_UNSET_TOKEN}\n"
        f'  - {{type: webhook, url: "{httpserver.url_for("/hook")}", retries: 0}}\n'
    )
    backtest = alerts_backtest(db, path, "2022-06-01", "2022-12-31").rules[0].periods
    # two runs with a period's end and the next one's start between them
    gaps = [(a, b) for a, b in zip(backtest, backtest[1:], strict=False) if a.end and b.start]
    first, second = gaps[0]
    runs = [first.start, second.start]
    for day in runs:
        with open_store(db) as store:
            result = run_alerts(store, path, day, env={})
        telegram = [s for s in result.sent if s.notifier.startswith("telegram")]
        assert (
            telegram and not telegram[0].ok and "MW_TEST_UNSET_TOKEN" in (telegram[0].error or "")
        )
    bodies = [json.loads(r.get_data()) for r, _ in httpserver.log]
    told = [(a["status"], a["startsAt"][:10]) for b in bodies for a in b["alerts"]]
    after = lambda day: str(np.datetime64(day) + 1)  # noqa: E731
    assert ("firing", after(first.start)) in told and ("resolved", after(first.start)) in told
    assert ("firing", after(second.start)) in told


def test_notifiers_differing_in_any_setting_are_separate_and_urls_keep_no_password(tmp_path, db):
    from minerwatch.sources.alert_rules import parse_rules

    rules = parse_rules(
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: price_usd > 0\n"
        "notifiers:\n"
        "  - {type: ntfy, url: 'http://u:secretPW@127.0.0.1:9', topic: ops}\n"
        "  - {type: ntfy, url: 'http://u:secretPW@127.0.0.1:9', topic: boss}\n",
        "r.yaml",
    )
    a, b = rules.notifiers
    assert a.key != b.key and "secretPW" not in a.key + a.label + b.key + b.label


EVERY_NOTIFIER = (
    PUELL_RULE.replace("{severity}", "warning")
    + """notifiers:
  - {{type: webhook, url: "{base}/hook", retries: 0}}
  - {{type: ntfy, url: "{base}/", topic: miners, token_env: MW_TEST_NTFY, retries: 0}}
  - {{type: telegram, chat_id: 42, bot_token_env: MW_TEST_BOT, api_url: "{base}", retries: 0}}
  - {{type: email, host: 127.0.0.1, port: {smtp_port}, from: mw@example.org,
     to: ops@example.org, retries: 0}}
  - {{type: command, argv: ["{python}", "-c", "{script}", "{payload}"], retries: 0}}
  - {{type: jsonl, path: "{jsonl}"}}
"""
)


def test_cli_alerts_run_delivers_to_every_notifier_once(cli, tmp_path, db, httpserver, smtp):
    """One firing period, through `minerwatch alerts run`, reaches a webhook, ntfy,
    Telegram, an SMTP server, a command and a file on 127.0.0.1, each once; the same day
    again sends nothing; a receiver down makes the run exit 3 and the next run delivers."""
    import email
    import email.policy
    import sys

    from tests.test_notify import WRITE_STDIN

    bot = "123456:SECRET-bot-token"
    for path in ("/hook", "/miners", f"/bot{bot}/sendMessage"):
        httpserver.expect_request(path, method="POST").respond_with_json({"ok": True, "result": {}})
    port, recorder = smtp
    payload = tmp_path / "payload.json"
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        EVERY_NOTIFIER.format(
            base=httpserver.url_for("").rstrip("/"),
            smtp_port=port,
            python=sys.executable,
            script=WRITE_STDIN.replace('"', '\\"'),
            payload=payload,
            jsonl=tmp_path / "out.jsonl",
        )
    )
    env = {"MW_TEST_NTFY": "tk_ntfy", "MW_TEST_BOT": bot}
    result = cli("alerts", "run", rules, "--as-of", "2022-06-25", "--db", db, "--json", env=env)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["states"]["PuellCapitulation"] in ("firing", "recovering")
    assert [s["ok"] for s in doc["sent"]] == [True] * 6
    paths = sorted(r.path for r, _ in httpserver.log)
    assert paths == sorted(["/hook", "/miners", f"/bot{bot}/sendMessage"])
    by_path = {r.path: r for r, _ in httpserver.log}
    hook = json.loads(by_path["/hook"].get_data())
    assert hook["status"] == "firing" and hook["alerts"][0]["labels"]["alertname"] == (
        "PuellCapitulation"
    )
    assert by_path["/miners"].headers["Title"] == "PuellCapitulation firing"
    assert by_path["/miners"].headers["Authorization"] == "Bearer tk_ntfy"
    assert re.fullmatch(r"Puell 0\.\d{4}", by_path["/miners"].get_data(as_text=True))
    message = by_path[f"/bot{bot}/sendMessage"].get_json()
    assert message["chat_id"] == 42 and "FIRING PuellCapitulation" in message["text"]
    (envelope,) = recorder.envelopes
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert mail["Subject"] == "[minerwatch] 1 firing: PuellCapitulation"
    assert json.loads(payload.read_text()) == hook  # the command gets the webhook payload
    assert [json.loads(x)["status"] for x in (tmp_path / "out.jsonl").read_text().splitlines()] == [
        "firing"
    ]
    assert bot not in result.stdout + result.stderr
    again = cli("alerts", "run", rules, "--as-of", "2022-06-25", "--db", db, "--json", env=env)
    assert json.loads(again.stdout)["sent"] == [] and len(httpserver.log) == 3
    assert len(recorder.envelopes) == 1
    # The ntfy server goes away: the resolution reaches the others, the run exits 3, and
    # the next run (ntfy back) delivers it to ntfy alone.
    httpserver.clear()
    httpserver.expect_request("/hook", method="POST").respond_with_json({"ok": True})
    httpserver.expect_request(f"/bot{bot}/sendMessage", method="POST").respond_with_json(
        {"ok": True, "result": {}}
    )
    httpserver.expect_request("/miners", method="POST").respond_with_data("down", status=503)
    ended = alerts_backtest(db, rules, "2022-06-20", "2023-03-01").rules[0].periods[0].end
    after = str(np.datetime64(ended) + 1)
    down = cli("alerts", "run", rules, "--as-of", after, "--db", db, "--json", env=env)
    assert down.returncode == 3, down.stderr
    assert "1 delivery of 6 failed" in down.stderr, down.stdout
    sent = {s["notifier"].split(" ")[0]: s["ok"] for s in json.loads(down.stdout)["sent"]}
    assert [k for k, ok in sent.items() if not ok] == ["ntfy"]
    httpserver.clear()
    httpserver.expect_request("/miners", method="POST").respond_with_json({"id": "x"})
    back = cli("alerts", "run", rules, "--as-of", after, "--db", db, "--json", env=env)
    assert back.returncode == 0, back.stderr
    assert [r.headers["Title"] for r, _ in httpserver.log] == ["PuellCapitulation resolved"]
    assert len(recorder.envelopes) == 2
