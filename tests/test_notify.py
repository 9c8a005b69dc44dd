"""Alert delivery (minerwatch.notify.deliver): every notifier type against a real server on
127.0.0.1 (pytest-httpserver for HTTP, aiosmtpd for SMTP), a real subprocess or a real file.

Offline and quick: waits go to a fake clock (:class:`FakeClock`) that records them instead
of sleeping; the only real waits are a command's timeout (0.3 s) and the servers' start."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import os
import socket
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from tests.standins.smtp import PASSWORD, smtp_server
from werkzeug import Response

from minerwatch.errors import InputError
from minerwatch.notify.deliver import (
    ZERO_TIME,
    Delivery,
    Notification,
    deliver,
    fingerprint,
    labelset_fingerprint,
    webhook_payload,
)
from minerwatch.sources.alert_rules import Notifier, parse_rules

TOKEN = "123456789:AAH-very-secret-token_xyz"


class FakeClock:
    """``now`` and ``sleep`` for :func:`deliver`: sleeping records the wait and moves the
    clock on, at once."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.waits: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.t += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def send(notifier: Notifier, batch: list[Notification], clock: FakeClock, **kw) -> Delivery:
    return deliver(notifier, batch, sleep=clock.sleep, now=clock.now, **kw)


def note(alert: str, status: str = "firing", **kw) -> Notification:
    labels = kw.pop("labels", {"severity": "warning", "team": "ops"})
    values = {
        "kind": status,
        "starts_at": "2022-08-20T23:59:59Z",
        "ends_at": "2022-08-21T23:59:59Z" if status == "resolved" else None,
        "annotations": {"summary": f"{alert} summary", "runbook": "docs/alerts.md"},
        "value": -25.5,
        "day": "2022-08-21",
    }
    values.update(kw)
    return Notification(
        alert=alert,
        status=status,
        labels=labels,
        fingerprint=fingerprint(alert, labels),
        **values,
    )


@pytest.fixture
def batch() -> list[Notification]:
    return [
        note("PriceFarBelowCost", labels={"severity": "critical", "team": "ops"}),
        note("HashpriceLow", "resolved", value=None),
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_url(path: str = "/") -> str:
    """A URL on 127.0.0.1 where nothing listens (connections are refused at once)."""
    return f"http://127.0.0.1:{free_port()}{path}"


# ------------------------------------------------------------------------- fingerprints


def test_fingerprint_is_alertmanagers():
    # prometheus/common model: TestMetricToFingerprint's label set and its fingerprint
    assert (
        labelset_fingerprint({"name": "garland, briggs", "fear": "love is not enough"})
        == f"{5799056148416392346:016x}"
    )
    assert labelset_fingerprint({}) == f"{14695981039346656037:016x}"
    fp = fingerprint("PriceFarBelowCost", {"team": "ops", "severity": "warning"})
    assert fp == labelset_fingerprint(
        {"alertname": "PriceFarBelowCost", "severity": "warning", "team": "ops"}
    )
    assert len(fp) == 16 and int(fp, 16) >= 0
    assert fp == fingerprint("PriceFarBelowCost", {"severity": "warning", "team": "ops"})
    assert fp != fingerprint("PriceFarBelowCost", {"severity": "critical", "team": "ops"})
    assert fp != fingerprint("HashpriceLow", {"severity": "warning", "team": "ops"})


def test_a_bad_status_is_refused():
    with pytest.raises(InputError, match="status 'pending'"):
        note("A", "pending")


# ------------------------------------------------------------------------------ webhook


def expected_payload(batch: list[Notification]) -> dict:
    return {
        "version": "4",
        "groupKey": "{}:{}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "minerwatch",
        "groupLabels": {},
        "commonLabels": {"team": "ops"},
        "commonAnnotations": {"runbook": "docs/alerts.md"},
        "externalURL": "",
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": "PriceFarBelowCost",
                    "severity": "critical",
                    "team": "ops",
                },
                "annotations": {
                    "summary": "PriceFarBelowCost summary",
                    "runbook": "docs/alerts.md",
                },
                "startsAt": "2022-08-20T23:59:59Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "",
                "fingerprint": batch[0].fingerprint,
            },
            {
                "status": "resolved",
                "labels": {"alertname": "HashpriceLow", "severity": "warning", "team": "ops"},
                "annotations": {"summary": "HashpriceLow summary", "runbook": "docs/alerts.md"},
                "startsAt": "2022-08-20T23:59:59Z",
                "endsAt": "2022-08-21T23:59:59Z",
                "generatorURL": "",
                "fingerprint": batch[1].fingerprint,
            },
        ],
    }


def test_webhook_posts_the_alertmanager_v4_payload(httpserver, clock, batch):
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=204)
    hook = Notifier("webhook", {"url": httpserver.url_for("/hook")}, line=12)
    result = send(hook, batch, clock)
    assert result == Delivery(hook.label, True, 1, None)
    (request, _), *more = httpserver.log
    assert not more
    assert request.headers["Content-Type"] == "application/json"
    assert request.get_json() == expected_payload(batch)
    assert clock.waits == []


def test_webhook_payload_of_resolved_only_and_common_labels(batch):
    payload = webhook_payload([batch[1]])
    assert payload["status"] == "resolved"
    assert payload["commonLabels"] == {
        "alertname": "HashpriceLow",
        "severity": "warning",
        "team": "ops",
    }
    assert payload["alerts"][0]["endsAt"] == "2022-08-21T23:59:59Z"
    assert webhook_payload([note("A", kind="repeat")])["alerts"][0]["endsAt"] == ZERO_TIME


def test_webhook_retries_a_503(httpserver, clock, batch):
    httpserver.expect_oneshot_request("/hook").respond_with_data("busy", status=503)
    httpserver.expect_request("/hook").respond_with_data("ok")
    result = send(Notifier("webhook", {"url": httpserver.url_for("/hook")}, 3), batch, clock)
    assert result.ok and result.attempts == 2 and result.error is None
    assert len(clock.waits) == 1 and 0.5 <= clock.waits[0] <= 1.0  # backoff from 1 s
    assert len(httpserver.log) == 2


def test_webhook_backs_off_exponentially(clock, batch):
    hook = Notifier("webhook", {"url": closed_url("/hook"), "retries": 3}, 3)
    result = send(hook, batch, clock)
    assert not result.ok and result.attempts == 4
    assert "after 4 attempt(s)" in result.error and "ConnectError" in result.error
    assert len(clock.waits) == 3
    for wait, ceiling in zip(clock.waits, (1, 2, 4), strict=True):
        assert ceiling / 2 <= wait <= ceiling


def test_webhook_honours_retry_after_seconds(httpserver, clock, batch):
    httpserver.expect_oneshot_request("/hook").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "7"})
    )
    httpserver.expect_request("/hook").respond_with_data("ok")
    result = send(Notifier("webhook", {"url": httpserver.url_for("/hook")}, 3), batch, clock)
    assert result.ok and result.attempts == 2
    assert clock.waits == [7.0]


def test_webhook_honours_retry_after_as_a_date(httpserver, clock, batch):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    httpserver.expect_oneshot_request("/hook").respond_with_response(
        Response("maintenance", status=503, headers={"Retry-After": when})
    )
    httpserver.expect_request("/hook").respond_with_data("ok")
    result = send(Notifier("webhook", {"url": httpserver.url_for("/hook")}, 3), batch, clock)
    assert result.ok and result.attempts == 2
    assert len(clock.waits) == 1 and 27 <= clock.waits[0] <= 30


def test_webhook_does_not_retry_a_400(httpserver, clock, batch):
    httpserver.expect_request("/hook").respond_with_data("bad payload", status=400)
    hook = Notifier("webhook", {"url": httpserver.url_for("/hook")}, 3)
    result = send(hook, batch, clock)
    assert not result.ok and result.attempts == 1
    assert "HTTP 400" in result.error and "bad payload" in result.error
    assert result.notifier == hook.label
    assert clock.waits == [] and len(httpserver.log) == 1


def test_webhook_stops_at_the_deadline(httpserver, clock, batch):
    httpserver.expect_request("/hook").respond_with_response(
        Response("busy", status=503, headers={"Retry-After": "3"})
    )
    hook = Notifier("webhook", {"url": httpserver.url_for("/hook"), "retries": 10}, 3)
    result = send(hook, batch, clock, deadline_s=5)
    assert not result.ok and result.attempts == 2
    assert clock.waits == [3.0]  # a second wait of 3 s would end past the 5 s deadline
    assert "deadline of 5 s" in result.error and "HTTP 503" in result.error


def test_webhook_retries_give_up(httpserver, clock, batch):
    httpserver.expect_request("/hook").respond_with_data("down", status=502)
    hook = Notifier("webhook", {"url": httpserver.url_for("/hook"), "retries": 1}, 3)
    result = send(hook, batch, clock)
    assert not result.ok and result.attempts == 2 and len(clock.waits) == 1
    assert "HTTP 502" in result.error and "after 2 attempt(s)" in result.error


def test_nothing_to_deliver(clock):
    hook = Notifier("webhook", {"url": closed_url()}, 3)
    assert send(hook, [], clock) == Delivery(hook.label, True, 0, None)


def test_a_password_in_a_url_is_redacted(clock, batch):
    hook = Notifier("webhook", {"url": closed_url().replace("//", f"//me:{PASSWORD}@")}, 3)
    result = send(hook, batch, clock, deadline_s=0.5)
    assert not result.ok
    assert PASSWORD not in result.error and PASSWORD not in result.notifier


# --------------------------------------------------------------------------------- ntfy


def test_ntfy_posts_each_notification(httpserver, clock, batch):
    httpserver.expect_request("/minerwatch", method="POST").respond_with_json({"id": "x"})
    ntfy = Notifier(
        "ntfy", {"url": httpserver.url_for("/"), "topic": "minerwatch", "token_env": "NTFY"}, 5
    )
    result = send(ntfy, batch, clock, env={"NTFY": "tk_secret"})
    assert result == Delivery(ntfy.label, True, 2, None)
    (first, _), (second, _) = httpserver.log
    assert first.path == "/minerwatch"
    assert first.headers["Title"] == "PriceFarBelowCost firing"
    assert first.headers["Priority"] == "4"
    assert first.headers["Tags"] == "warning"
    assert first.headers["Authorization"] == "Bearer tk_secret"
    assert first.get_data(as_text=True) == "PriceFarBelowCost summary"
    assert second.headers["Title"] == "HashpriceLow resolved"
    assert second.headers["Priority"] == "3"
    assert second.headers["Tags"] == "white_check_mark"
    assert second.get_data(as_text=True) == "HashpriceLow summary"


def test_ntfy_priority_token_file_and_no_summary(httpserver, clock, tmp_path):
    (tmp_path / "token").write_text("tk_from_file\n")
    httpserver.expect_request("/alerts").respond_with_data("ok")
    settings = {
        "url": httpserver.url_for(""),
        "topic": "alerts",
        "priority": 5,
        "token_file": str(tmp_path / "token"),
    }
    result = send(Notifier("ntfy", settings, 5), [note("A", annotations={})], clock)
    assert result.ok
    ((request, _),) = httpserver.log
    assert request.headers["Priority"] == "5"
    assert request.headers["Authorization"] == "Bearer tk_from_file"
    assert request.get_data(as_text=True) == "A"  # no summary: the alert's name


def test_ntfy_without_a_token_sends_no_authorization(httpserver, clock, batch):
    httpserver.expect_request("/t").respond_with_data("ok")
    result = send(Notifier("ntfy", {"url": httpserver.url_for(""), "topic": "t"}, 5), batch, clock)
    assert result.ok
    assert all("Authorization" not in r.headers for r, _ in httpserver.log)


def test_ntfy_failure_names_the_notification(httpserver, clock, batch):
    httpserver.expect_oneshot_request("/t").respond_with_data("ok")
    httpserver.expect_request("/t").respond_with_json({"error": "forbidden"}, status=403)
    ntfy = Notifier("ntfy", {"url": httpserver.url_for(""), "topic": "t", "token_env": "T"}, 5)
    result = send(ntfy, batch, clock, env={"T": "tk_secret"})
    assert not result.ok and result.attempts == 2
    assert result.error.startswith("HashpriceLow (2 of 2, 1 delivered): HTTP 403")
    assert "tk_secret" not in result.error


def test_a_missing_token_variable_is_an_input_error(clock, batch):
    ntfy = Notifier("ntfy", {"url": "http://127.0.0.1:1", "topic": "t", "token_env": "NTFY"}, 17)
    with pytest.raises(InputError) as caught:
        send(ntfy, batch, clock, env={})
    assert caught.value.key == "token_env" and caught.value.line == 17
    assert "NTFY is not set" in str(caught.value) and "line 17" in str(caught.value)


def test_a_bad_priority_is_an_input_error(clock, batch):
    ntfy = Notifier("ntfy", {"url": "http://127.0.0.1:1", "topic": "t", "priority": 9}, 4)
    with pytest.raises(InputError, match="priority 9") as caught:
        send(ntfy, batch, clock)
    assert caught.value.key == "priority"


# ----------------------------------------------------------------------------- telegram


def telegram(httpserver, **settings) -> Notifier:
    return Notifier(
        "telegram",
        {
            "chat_id": -100123,
            "bot_token_env": "BOT",
            "api_url": httpserver.url_for(""),
            **settings,
        },
        8,
    )


def test_telegram_sends_one_message(httpserver, clock, batch):
    path = f"/bot{TOKEN}/sendMessage"
    httpserver.expect_request(path, method="POST").respond_with_json({"ok": True, "result": {}})
    result = send(telegram(httpserver), batch, clock, env={"BOT": TOKEN})
    assert result.ok and result.attempts == 1
    ((request, _),) = httpserver.log
    assert request.path == path
    body = request.get_json()
    assert body.keys() == {"chat_id", "text", "disable_web_page_preview"}
    assert body["chat_id"] == -100123 and body["disable_web_page_preview"] is True
    text = body["text"]
    assert text.startswith("minerwatch: 1 firing, 1 resolved: PriceFarBelowCost, HashpriceLow")
    assert "FIRING PriceFarBelowCost\nPriceFarBelowCost summary\nvalue -25.5" in text
    assert "RESOLVED HashpriceLow" in text and "ended 2022-08-21T23:59:59Z" in text


def test_telegram_waits_retry_after(httpserver, clock, batch):
    path = f"/bot{TOKEN}/sendMessage"
    httpserver.expect_oneshot_request(path).respond_with_json(
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 3",
            "parameters": {"retry_after": 3},
        },
        status=429,
    )
    httpserver.expect_request(path).respond_with_json({"ok": True, "result": {}})
    result = send(telegram(httpserver), batch, clock, env={"BOT": TOKEN})
    assert result.ok and result.attempts == 2
    assert clock.waits == [3]


def test_telegram_never_shows_the_token(httpserver, clock, batch, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    (tmp_path / "bot").write_text(TOKEN + "\n")
    httpserver.expect_request(f"/bot{TOKEN}/sendMessage").respond_with_json(
        {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
    )
    notifier = telegram(httpserver, bot_token_file=str(tmp_path / "bot"))
    result = send(notifier, batch, clock, env={})
    assert not result.ok and result.attempts == 1
    assert "HTTP 401" in result.error and "Unauthorized" in result.error
    assert TOKEN not in result.error and "/bot***/sendMessage" in result.error
    # werkzeug's own access log (the test server's) names the path; every other line not
    ours = [r for r in caplog.records if not r.name.startswith("werkzeug")]
    assert any("bot***" in r.getMessage() for r in ours if r.name == "httpx")
    assert not [r.getMessage() for r in ours if TOKEN in r.getMessage()]


def test_telegram_unreachable_hides_the_token(clock, batch, caplog):
    caplog.set_level(logging.DEBUG)
    notifier = Notifier(
        "telegram",
        {"chat_id": "@miners", "bot_token_env": "BOT", "api_url": closed_url(), "retries": 2},
        8,
    )
    result = send(notifier, batch, clock, env={"BOT": TOKEN})
    assert not result.ok and result.attempts == 3 and len(clock.waits) == 2
    assert TOKEN not in result.error and "bot***" in result.error
    assert TOKEN not in caplog.text
    assert "retrying" in caplog.text


def test_a_missing_bot_token_file_is_an_input_error(clock, batch, tmp_path):
    notifier = Notifier(
        "telegram", {"chat_id": 1, "bot_token_file": str(tmp_path / "nope")}, line=30
    )
    with pytest.raises(InputError, match="no such file") as caught:
        send(notifier, batch, clock)
    assert caught.value.key == "bot_token_file" and caught.value.line == 30


# -------------------------------------------------------------------------------- email


@pytest.fixture
def smtp():
    """An SMTP server on 127.0.0.1 (AUTH offered without TLS): (port, recorder)."""
    with smtp_server() as served:
        yield served


def test_email_sends_one_message(smtp, clock, batch):
    port, recorder = smtp
    mail = Notifier(
        "email",
        {
            "host": "127.0.0.1",
            "port": port,
            "from": "Minerwatch <mw@example.org>",
            "to": "ops@example.org",
        },
        20,
    )
    result = send(mail, batch, clock)
    assert result == Delivery(mail.label, True, 1, None)
    (envelope,) = recorder.envelopes
    assert envelope.mail_from == "mw@example.org"
    assert envelope.rcpt_tos == ["ops@example.org"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["From"] == "Minerwatch <mw@example.org>"
    assert message["To"] == "ops@example.org"
    assert message["Subject"] == (
        "[minerwatch] 1 firing, 1 resolved: PriceFarBelowCost, HashpriceLow"
    )
    body = message.get_content().replace("\r\n", "\n")
    assert "FIRING PriceFarBelowCost\nPriceFarBelowCost summary\n" in body
    assert "value -25.5, since 2022-08-20T23:59:59Z, day 2022-08-21" in body
    assert "RESOLVED HashpriceLow\nHashpriceLow summary\nvalue n/a" in body
    assert "ended 2022-08-21T23:59:59Z" in body
    assert recorder.logins == []


def test_email_logs_in_with_a_password_file(smtp, clock, batch, tmp_path):
    port, recorder = smtp
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    text = f"""
groups:
  - name: g
    rules:
      - {{alert: A, expr: "price_usd < 1"}}
notifiers:
  - type: email
    host: 127.0.0.1
    port: {port}
    from: mw@example.org
    to: [ops@example.org, me@example.org]
    username: miner
    password_file: {tmp_path / "pw"}
"""
    (mail,) = parse_rules(text, "rules.yaml").notifiers
    result = send(mail, batch, clock)
    assert result.ok, result.error
    assert [(login, pw) for _, login, pw in recorder.logins] == [(b"miner", PASSWORD.encode())]
    (envelope,) = recorder.envelopes
    assert envelope.rcpt_tos == ["ops@example.org", "me@example.org"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["To"] == "ops@example.org, me@example.org"


def test_email_refused_login_is_not_retried(smtp, clock, batch):
    port, recorder = smtp
    settings = {
        "host": "127.0.0.1",
        "port": port,
        "from": "mw@example.org",
        "to": "ops@example.org",
        "username": "miner",
        "password_env": "SMTP_PW",
    }
    result = send(Notifier("email", settings, 20), batch, clock, env={"SMTP_PW": "wrong-pw"})
    assert not result.ok and result.attempts == 1 and clock.waits == []
    assert "SMTP 535" in result.error and "wrong-pw" not in result.error
    assert recorder.envelopes == []


def test_email_unreachable_is_retried(clock, batch):
    settings = {"host": "127.0.0.1", "port": free_port(), "from": "a@b.c", "to": "d@e.f"}
    result = send(Notifier("email", {**settings, "retries": 1}, 20), batch, clock)
    assert not result.ok and result.attempts == 2 and len(clock.waits) == 1
    assert "cannot reach the SMTP server" in result.error


def test_email_username_without_password_is_an_input_error(clock, batch):
    settings = {"host": "h", "from": "a@b.c", "to": "d@e.f", "username": "miner"}
    with pytest.raises(InputError, match="needs password_env or password_file") as caught:
        send(Notifier("email", settings, 21), batch, clock)
    assert caught.value.key == "password_env" and caught.value.line == 21


# ------------------------------------------------------------------------------ command

WRITE_STDIN = "import pathlib, sys; pathlib.Path(sys.argv[1]).write_bytes(sys.stdin.buffer.read())"


def test_command_gets_the_payload_on_stdin(clock, batch, tmp_path):
    out = tmp_path / "payload.json"
    command = Notifier("command", {"argv": [sys.executable, "-c", WRITE_STDIN, str(out)]}, 9)
    result = send(command, batch, clock)
    assert result == Delivery(command.label, True, 1, None)
    assert json.loads(out.read_text()) == expected_payload(batch)


def test_command_failure_names_its_stderr(clock, batch):
    script = "import sys; print('starting', file=sys.stderr); print('disk full', file=sys.stderr); sys.exit(3)"  # noqa: E501
    argv = [sys.executable, "-c", script]
    result = send(Notifier("command", {"argv": argv, "retries": 0}, 9), batch, clock)
    assert not result.ok and result.attempts == 1
    assert "exit status 3: disk full" in result.error
    result = send(Notifier("command", {"argv": argv, "retries": 1}, 9), batch, clock)
    assert not result.ok and result.attempts == 2 and len(clock.waits) == 1


def test_command_timeout_and_missing_program(clock, batch, tmp_path):
    slow = [sys.executable, "-c", "import time; time.sleep(5)"]
    result = send(
        Notifier("command", {"argv": slow, "timeout_s": 0.3, "retries": 0}, 9), batch, clock
    )
    assert not result.ok and "timed out after 0.3 s" in result.error
    missing = [str(tmp_path / "no-such-program")]
    result = send(Notifier("command", {"argv": missing}, 9), batch, clock)
    assert not result.ok and result.attempts == 1  # not worth retrying
    assert "cannot run" in result.error


# -------------------------------------------------------------------------------- jsonl


def test_jsonl_appends_lines_and_fsyncs(clock, batch, tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    path = tmp_path / "alerts.jsonl"
    target = Notifier("jsonl", {"path": str(path)}, 40)
    assert send(target, batch, clock) == Delivery(target.label, True, 1, None)
    assert send(target, [note("Third", kind="repeat", value="n/a")], clock).ok
    lines = path.read_text().splitlines()
    assert len(lines) == 3 and len(synced) == 2
    records = [json.loads(line) for line in lines]
    first = expected_payload(batch)["alerts"][0]
    assert records[0] == {**first, "value": -25.5, "kind": "firing", "day": "2022-08-21"}
    assert records[1]["status"] == "resolved" and records[1]["value"] is None
    assert records[2]["kind"] == "repeat" and records[2]["value"] == "n/a"


def test_jsonl_missing_folder_fails(clock, batch, tmp_path):
    path = tmp_path / "missing" / "alerts.jsonl"
    result = send(Notifier("jsonl", {"path": str(path)}, 40), batch, clock)
    assert not result.ok and result.attempts == 1
    assert f"folder {path.parent} does not exist" in result.error
    assert not path.parent.exists()
