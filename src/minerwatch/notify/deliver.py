"""Deliver one evaluation's notifications to one notifier of a rule file.

:func:`deliver` sends a batch (every :class:`Notification` of one evaluation) to one
:class:`~minerwatch.sources.alert_rules.Notifier` and says how it went in a
:class:`Delivery`; it raises only :class:`~minerwatch.errors.InputError`, for a notifier
that cannot be used as written (a secret's variable unset, its file missing, a setting of
the wrong type), before anything is sent. By type:

- ``webhook``: one POST of the Prometheus Alertmanager webhook payload, version 4
  (:func:`webhook_payload`); any 2xx is success.
- ``ntfy``: one POST a notification to ``{url}/{topic}``: the summary (else the alert name)
  as the body, headers ``Title``, ``Priority``, ``Tags`` and, with a token,
  ``Authorization: Bearer``.
- ``telegram``: one ``sendMessage`` a batch (plain text), to ``{api_url}/bot<token>/``.
- ``email``: one message a batch over SMTP (optional STARTTLS and login).
- ``command``: run ``argv`` (no shell) with the webhook payload on stdin; exit status 0 is
  success, else the last line of its stderr is the error.
- ``jsonl``: append one JSON line a notification (the webhook's alert object with
  ``value``, ``kind`` and ``day``), flushed and fsync'd; the folder must exist.

Retries: ``retries`` more attempts (default :data:`DEFAULT_RETRIES`) of what failed in a way
worth retrying (a connect error or timeout, HTTP 408, 429 or 5xx, an SMTP 4xx reply, a
command's exit status other than 0 or its timeout), after the server's own wait
(``Retry-After`` on 429 and 503, Telegram's ``parameters.retry_after``) or else an
exponential backoff from 1 s (:func:`minerwatch.sources.retry.backoff_delay`). Any other
failure (HTTP 4xx, a refused login) ends the delivery at once. No attempt starts, and no
wait is begun, past ``deadline_s`` seconds from the call.

Secrets (an ntfy token, a Telegram bot token, an SMTP password) are read only here, from the
environment variable named by ``*_env`` or the file named by ``*_file`` (stripped); they
never appear in a :class:`Delivery`, an exception or a log line (the Telegram token, part of
the URL, is written ``bot***``, in httpx's own log lines too).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import smtplib
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any

import httpx

from minerwatch.errors import (
    BadResponse,
    InputError,
    SourceError,
    SourceUnavailable,
    TransientSourceError,
)
from minerwatch.sources.alert_rules import Notifier
from minerwatch.sources.http import default_client, error_message, retry_after_s, send_once
from minerwatch.sources.retry import Deadline, Retry, RetryPolicy, call

log = logging.getLogger(__name__)

DEFAULT_RETRIES = 3
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_SMTP_PORT = 25
TELEGRAM_API = "https://api.telegram.org"
RECEIVER = "minerwatch"
#: ``endsAt`` of an alert still firing, as Alertmanager writes Go's zero time.
ZERO_TIME = "0001-01-01T00:00:00Z"
#: ntfy's priorities: 1 to 5 or these names (https://docs.ntfy.sh/publish/#message-priority).
NTFY_PRIORITIES = ("min", "low", "default", "high", "max", "urgent")
_TELEGRAM_MAX_CHARS = 4096
_ERROR_CHARS = 200


@dataclass(frozen=True)
class Notification:
    """One alert's change (or reminder) to deliver.

    ``status`` is "firing" or "resolved"; ``kind`` "firing" (it began), "resolved" (it
    ended) or "repeat" (still firing, notified again). ``starts_at`` and ``ends_at`` (set
    once resolved) are ISO 8601 UTC times ("2022-08-21T23:59:59Z"); ``labels`` are the
    rule's (payloads add ``alertname``); ``annotations`` rendered; ``fingerprint`` the
    stable id of (alert, labels) (:func:`fingerprint`); ``day`` the day evaluated.
    """

    alert: str
    status: str
    kind: str
    starts_at: str
    ends_at: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    value: float | str | None
    fingerprint: str
    day: str

    def __post_init__(self) -> None:
        if self.status not in ("firing", "resolved"):
            raise InputError(
                f"status {self.status!r}; expected firing or resolved", parameter="status"
            )
        if self.kind not in ("firing", "resolved", "repeat"):
            raise InputError(
                f"kind {self.kind!r}; expected firing, resolved or repeat", parameter="kind"
            )


@dataclass(frozen=True)
class Delivery:
    """How one batch went to one notifier: ``notifier`` (its label, no secret), ``ok``,
    ``attempts`` made in all (requests, SMTP sessions, runs of the command) and ``error``
    (None when ok; never containing a secret)."""

    notifier: str
    ok: bool
    attempts: int
    error: str | None


# FNV-1a, 64 bits, as Prometheus' model.LabelSet.Fingerprint (which Alertmanager sends).
_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_SEPARATOR = 0xFF


def fingerprint(alert: str, labels: Mapping[str, str]) -> str:
    """The alert's stable id, 16 hex digits: Alertmanager's fingerprint of its labels with
    ``alertname`` (:func:`labelset_fingerprint`)."""
    return labelset_fingerprint(alert_labels(alert, labels))


def labelset_fingerprint(labels: Mapping[str, str]) -> str:
    """Prometheus' ``model.LabelSet.Fingerprint`` as 16 hex digits: FNV-1a 64 over the
    names in order and their values, each followed by the byte 0xff."""
    h = _FNV_OFFSET
    for name in sorted(labels):
        for text in (name, labels[name]):
            for byte in (*text.encode("utf-8"), _SEPARATOR):
                h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def alert_labels(alert: str, labels: Mapping[str, str]) -> dict[str, str]:
    """The labels an alert carries in payloads: the rule's, with ``alertname`` (first)."""
    return {"alertname": alert, **{k: v for k, v in labels.items() if k != "alertname"}}


# ---------------------------------------------------------------------------- payloads


def alert_object(n: Notification) -> dict[str, Any]:
    """One alert of the Alertmanager webhook payload."""
    return {
        "status": n.status,
        "labels": alert_labels(n.alert, n.labels),
        "annotations": dict(n.annotations),
        "startsAt": n.starts_at,
        "endsAt": (n.ends_at or ZERO_TIME) if n.status == "resolved" else ZERO_TIME,
        "generatorURL": "",
        "fingerprint": n.fingerprint,
    }


def _common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The pairs every mapping holds, sorted by name."""
    if not maps:
        return {}
    first = maps[0]
    return {k: first[k] for k in sorted(first) if all(m.get(k) == first[k] for m in maps[1:])}


def webhook_payload(notifications: Sequence[Notification]) -> dict[str, Any]:
    """The Alertmanager webhook payload, version 4, of one batch: one group (no group
    labels, group key ``{}:{}``) for receiver ``minerwatch``."""
    alerts = [alert_object(n) for n in notifications]
    return {
        "version": "4",
        "groupKey": "{}:{}",
        "truncatedAlerts": 0,
        "status": "firing" if any(n.status == "firing" for n in notifications) else "resolved",
        "receiver": RECEIVER,
        "groupLabels": {},
        "commonLabels": _common([a["labels"] for a in alerts]),
        "commonAnnotations": _common([a["annotations"] for a in alerts]),
        "externalURL": "",
        "alerts": alerts,
    }


def _json_value(value: float | str | None) -> float | str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def jsonl_record(n: Notification) -> dict[str, Any]:
    """One line of a ``jsonl`` notifier: the webhook's alert object with value, kind, day."""
    return {**alert_object(n), "value": _json_value(n.value), "kind": n.kind, "day": n.day}


def _value_text(value: float | str | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.8g}" if isinstance(value, float | int) else str(value)


def _headline(n: Notification) -> str:
    word = {"firing": "FIRING", "resolved": "RESOLVED", "repeat": "STILL FIRING"}[n.kind]
    return f"{word} {n.alert}"


def _details(n: Notification) -> str:
    """Value and times of one notification, one line."""
    parts = [f"value {_value_text(n.value)}", f"since {n.starts_at}"]
    if n.status == "resolved" and n.ends_at:
        parts.append(f"ended {n.ends_at}")
    parts.append(f"day {n.day}")
    return ", ".join(parts)


def _summary(n: Notification) -> str:
    return n.annotations.get("summary") or n.alert


def subject(notifications: Sequence[Notification]) -> str:
    """ "[minerwatch] <n> firing, <m> resolved: <alert names>" (names once each, in order;
    a count of none left out)."""
    firing = sum(n.status == "firing" for n in notifications)
    counts = ((firing, "firing"), (len(notifications) - firing, "resolved"))
    names = ", ".join(dict.fromkeys(n.alert for n in notifications))
    return f"[minerwatch] {', '.join(f'{k} {what}' for k, what in counts if k)}: {names}"


def text_body(notifications: Sequence[Notification], marks: bool = False) -> str:
    """A plain-text account of the batch: per notification its status and alert, summary,
    value and times (``marks``: an emoji before each status, for chat apps)."""
    blocks = []
    for n in notifications:
        mark = ("\N{FIRE} " if n.status == "firing" else "\N{WHITE HEAVY CHECK MARK} ") * marks
        lines = [f"{mark}{_headline(n)}", _summary(n), _details(n)]
        blocks.append("\n".join(dict.fromkeys(lines)))  # no summary line repeating the name
    return "\n\n".join(blocks) + "\n"


# ----------------------------------------------------------------------------- settings


@dataclass
class _Job:
    """One delivery under way: the notifier's settings, the secrets read (to redact), the
    deadline and the clock."""

    notifier: Notifier
    env: Mapping[str, str]
    deadline: Deadline
    sleep: Callable[[float], None]
    secrets: list[str]

    @property
    def settings(self) -> dict[str, Any]:
        return self.notifier.settings

    def bad(self, key: str, message: str) -> InputError:
        return InputError(
            f"{self.notifier.type} notifier: {message}", line=self.notifier.line, key=key
        )

    def text(self, key: str, default: str | None = None) -> str:
        value = self.settings.get(key, default)
        if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
            raise self.bad(key, f"{key} {value!r}; expected a text")
        return str(value)

    def number(self, key: str, default: float) -> float:
        value = self.settings.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise self.bad(key, f"{key} {value!r}; expected a number of seconds > 0")
        return float(value)

    def count(self, key: str, default: int, low: int = 0) -> int:
        value = self.settings.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise self.bad(key, f"{key} {value!r}; expected a whole number >= {low}")
        return value

    def secret(self, name: str, required: bool) -> str | None:
        """The secret named by ``{name}_env`` or ``{name}_file``: the variable when set,
        else the file's text (stripped); None when neither key is given and not
        ``required``."""
        env_key, file_key = f"{name}_env", f"{name}_file"
        variable, file = self.settings.get(env_key), self.settings.get(file_key)
        if variable is None and file is None:
            if required:
                raise self.bad(env_key, f"needs {env_key} or {file_key}")
            return None
        problems = []
        if variable is not None:
            value = self.env.get(str(variable), "").strip()
            if value:
                return self._keep(value)
            problems.append((env_key, f"environment variable {variable} is not set or empty"))
        if file is not None:
            path = Path(str(file)).expanduser()
            try:
                value = path.read_text(encoding="utf-8").strip()
            except FileNotFoundError:
                problems.append((file_key, f"{file_key} {path}: no such file"))
            except (OSError, UnicodeDecodeError) as exc:
                reason = getattr(exc, "strerror", None) or type(exc).__name__
                problems.append((file_key, f"{file_key} {path}: cannot read it ({reason})"))
            else:
                if value:
                    return self._keep(value)
                problems.append((file_key, f"{file_key} {path} is empty"))
        raise self.bad(problems[0][0], "; ".join(p for _, p in problems))

    def _keep(self, secret: str) -> str:
        self.secrets.append(secret)
        return secret

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def url(self, key: str) -> str:
        """The URL at ``key``; a password in it counts as a secret."""
        url = self.text(key)
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise self.bad(key, f"{key}: not a URL ({exc})") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise self.bad(key, f"{key} {url!r}; expected an http:// or https:// URL")
        if parsed.password:
            self._keep(parsed.password)
        return url.rstrip("/")


# ------------------------------------------------------------------------------ retries

#: One message's send: an attempt given the deadline; raises TransientSourceError to be
#: retried, another SourceError to give up.
Send = Callable[[Deadline], None]


def _run(job: _Job, sends: Sequence[tuple[str, Send]], retries: int) -> tuple[int, str | None]:
    """Every send in turn, each retried by the sources' retry loop
    (:func:`minerwatch.sources.retry.call`: backoff, ``Retry-After``, the deadline) on the
    job's clock; (attempts in all, the error that ended it)."""
    policy = RetryPolicy(max_attempts=retries + 1, max_retry_after_s=math.inf)
    attempts = 0

    def log_retry(retry: Retry) -> None:
        log.info(
            "%s: attempt %d failed (%s); retrying in %.3g s",
            job.redact(job.notifier.label),
            retry.attempt,
            job.redact(retry.reason),
            retry.delay_s,
        )

    for index, (what, send) in enumerate(sends):
        where = f"{what} ({index + 1} of {len(sends)}, {index} delivered): " * (len(sends) > 1)
        if job.deadline.expired():
            return attempts, f"{where}the deadline of {job.deadline.total_s:g} s passed"

        def attempt(deadline: Deadline | None, send: Send = send) -> None:
            nonlocal attempts
            attempts += 1
            send(job.deadline)

        try:
            call(attempt, policy=policy, deadline=job.deadline, on_retry=log_retry, sleep=job.sleep)
        except SourceError as exc:
            return attempts, f"{where}{exc}"
    return attempts, None


# --------------------------------------------------------------------------------- HTTP


def _status_text(response: httpx.Response) -> str:
    phrase = response.reason_phrase or ""
    return f"HTTP {response.status_code}{' ' + phrase if phrase else ''}"


def _http_failure(response: httpx.Response, detail: str, retry_after: float | None) -> None:
    """Raise what a non-2xx answer means: transient for 408, 429 and 5xx (with the wait the
    server asked for), else :class:`BadResponse`."""
    url = str(response.request.url)
    status = response.status_code
    reason = _status_text(response) + (f": {detail[:_ERROR_CHARS]}" if detail else "")
    if status == 429 or status == 408 or status >= 500:
        raise TransientSourceError(
            reason, url=url, rate_limited=status == 429, retry_after_s=retry_after
        )
    if 300 <= status < 400:
        reason += f" (redirect to {response.headers.get('Location', '?')} not followed)"
    raise BadResponse(reason, url=url)


def _post(client: httpx.Client, url: str, content: bytes, headers: Mapping[str, str]) -> Send:
    """A POST whose success is any 2xx; ``Retry-After`` honoured on 429 and 503."""

    def send(deadline: Deadline) -> None:
        response = send_once(
            client, "POST", url, content=content, headers=headers, deadline=deadline
        )
        if 200 <= response.status_code < 300:
            return
        wait = retry_after_s(response) if response.status_code in (429, 503) else None
        _http_failure(response, error_message(response), wait)

    return send


@contextlib.contextmanager
def _redacted_logs(job: _Job) -> Iterator[None]:
    """While delivering: httpx's and httpcore's log lines (which name the URL) with every
    secret of ``job`` replaced."""

    class Redact(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            message = record.getMessage()
            clean = job.redact(message)
            if clean != message:
                record.msg, record.args = clean, None
            return True

    names = ["httpx", "httpcore"] + [
        name for name in logging.root.manager.loggerDict if name.startswith("httpcore.")
    ]
    redact = Redact()
    loggers = [logging.getLogger(name) for name in names]
    for logger in loggers:
        logger.addFilter(redact)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(redact)


def _client(job: _Job) -> httpx.Client:
    timeout = job.number("timeout_s", DEFAULT_TIMEOUT_S)
    return default_client(timeout_s=timeout, connect_timeout_s=timeout)


def _webhook(
    job: _Job, batch: Sequence[Notification], client: httpx.Client
) -> list[tuple[str, Send]]:
    body = json.dumps(webhook_payload(batch)).encode()
    headers = {"Content-Type": "application/json"}
    return [("the batch", _post(client, job.url("url"), body, headers))]


def _ntfy_priority(job: _Job, n: Notification) -> str:
    value = job.settings.get("priority")
    if value is None:
        return "4" if n.status == "firing" else "3"
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5:
        return str(value)
    if isinstance(value, str) and (value in NTFY_PRIORITIES or value in ("1", "2", "3", "4", "5")):
        return value
    raise job.bad(
        "priority", f"priority {value!r}; expected 1 to 5 or {', '.join(NTFY_PRIORITIES)}"
    )


def _ntfy(job: _Job, batch: Sequence[Notification], client: httpx.Client) -> list[tuple[str, Send]]:
    url = f"{job.url('url').rstrip('/')}/{job.text('topic').strip('/')}"
    token = job.secret("token", required=False)
    sends = []
    for n in batch:
        headers = {
            "Title": f"{n.alert} {n.status}",
            "Priority": _ntfy_priority(job, n),
            "Tags": "warning" if n.status == "firing" else "white_check_mark",
            "Content-Type": "text/plain; charset=utf-8",
        }
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        sends.append((n.alert, _post(client, url, _summary(n).encode("utf-8"), headers)))
    return sends


def _telegram_text(batch: Sequence[Notification]) -> str:
    head = subject(batch).removeprefix("[minerwatch] ")
    text = f"minerwatch: {head}\n\n{text_body(batch, marks=True)}"
    if len(text) > _TELEGRAM_MAX_CHARS:
        text = text[: _TELEGRAM_MAX_CHARS - 20].rstrip() + "\n… (cut)"
    return text


def _telegram(
    job: _Job, batch: Sequence[Notification], client: httpx.Client
) -> list[tuple[str, Send]]:
    chat_id = job.settings["chat_id"]
    if isinstance(chat_id, bool) or not isinstance(chat_id, str | int):
        raise job.bad("chat_id", f"chat_id {chat_id!r}; expected a number or @channelname")
    api = job.url("api_url") if "api_url" in job.settings else TELEGRAM_API
    token = job.secret("bot_token", required=True)
    url = f"{api}/bot{token}/sendMessage"
    body = json.dumps(
        {"chat_id": chat_id, "text": _telegram_text(batch), "disable_web_page_preview": True}
    ).encode()

    def send(deadline: Deadline) -> None:
        response = send_once(
            client,
            "POST",
            url,
            content=body,
            headers={"Content-Type": "application/json"},
            deadline=deadline,
        )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            answer = {}
        if 200 <= response.status_code < 300 and answer.get("ok") is True:
            return
        parameters = answer.get("parameters")
        wait = parameters.get("retry_after") if isinstance(parameters, dict) else None
        if not isinstance(wait, int | float) or isinstance(wait, bool):
            wait = retry_after_s(response) if response.status_code in (429, 503) else None
        detail = str(answer.get("description") or error_message(response))
        if 200 <= response.status_code < 300:
            raise BadResponse(
                f"{_status_text(response)} without ok: true ({detail[:_ERROR_CHARS]})",
                url=str(response.request.url),
            )
        _http_failure(response, detail, wait)

    return [("the batch", send)]


# -------------------------------------------------------------------------------- email


def _addresses(job: _Job, key: str) -> tuple[list[str], list[str]]:
    """The addresses at ``key`` as written (for the header: "Ops <ops@example.org>") and
    bare (for the envelope)."""
    value = job.settings[key]
    values = value if isinstance(value, list) else [value]
    bare = [parseaddr(v)[1] if isinstance(v, str) else "" for v in values]
    if not values or not all("@" in b for b in bare):
        raise job.bad(key, f"{key} {value!r}; expected an address or a list of addresses")
    return [str(v) for v in values], bare


def _smtp_failure(exc: Exception) -> SourceError:
    """What an SMTP failure means: an SMTP 4xx reply, a dropped connection, a timeout or a
    refused connection are worth retrying; other replies and TLS failures are not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        refused = ", ".join(f"{who} ({code})" for who, (code, _) in exc.recipients.items())
        message = f"recipients refused: {refused}"
        if codes and all(400 <= c < 500 for c in codes):
            return TransientSourceError(message)
        return SourceUnavailable(message)
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error
        reply = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        what = "login refused" if isinstance(exc, smtplib.SMTPAuthenticationError) else "refused"
        message = f"SMTP {exc.smtp_code} {what}: {reply.strip()[:_ERROR_CHARS]}"
        if 400 <= exc.smtp_code < 500:
            return TransientSourceError(message)
        return SourceUnavailable(message)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return TransientSourceError(f"the SMTP server closed the connection ({exc})")
    if isinstance(exc, ssl.SSLError):
        return SourceUnavailable(f"TLS failed: {exc}")
    if isinstance(exc, smtplib.SMTPException):
        return SourceUnavailable(f"SMTP failed: {exc}")
    if isinstance(exc, TimeoutError):
        return TransientSourceError("timed out")
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return TransientSourceError(f"cannot reach the SMTP server ({reason})")


def _email(job: _Job, batch: Sequence[Notification]) -> list[tuple[str, Send]]:
    host = job.text("host")
    port = job.count("port", DEFAULT_SMTP_PORT, low=1)
    timeout = job.number("timeout_s", DEFAULT_TIMEOUT_S)
    starttls = job.settings.get("starttls", False)
    if not isinstance(starttls, bool):
        raise job.bad("starttls", f"starttls {starttls!r}; expected true or false")
    (sender_header, *_), (sender, *_) = _addresses(job, "from")
    to_header, recipients = _addresses(job, "to")
    username = job.text("username") if "username" in job.settings else None
    password = job.secret("password", required=username is not None)
    if password is not None and username is None:
        raise job.bad("username", "password_env or password_file needs a username to log in")
    message = EmailMessage()
    message["Subject"] = subject(batch)
    message["From"] = sender_header
    message["To"] = ", ".join(to_header)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="minerwatch.invalid")
    message.set_content(text_body(batch))

    def send(deadline: Deadline) -> None:
        try:
            with smtplib.SMTP(host, port, timeout=min(timeout, deadline.remaining_s())) as smtp:
                smtp.ehlo()
                if starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if username is not None and password is not None:
                    smtp.login(username, password)
                smtp.send_message(message, sender, recipients)
        except (smtplib.SMTPException, OSError) as exc:
            raise _smtp_failure(exc) from None

    return [("the message", send)]


# ------------------------------------------------------------------------ command, file


def _last_line(data: bytes) -> str:
    lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    return lines[-1][:_ERROR_CHARS] if lines else ""


def _command(job: _Job, batch: Sequence[Notification]) -> list[tuple[str, Send]]:
    argv = [str(a) for a in job.settings["argv"]]
    timeout = job.number("timeout_s", DEFAULT_TIMEOUT_S)
    payload = json.dumps(webhook_payload(batch)).encode()

    def send(deadline: Deadline) -> None:
        limit = min(timeout, deadline.remaining_s())
        try:
            done = subprocess.run(
                argv, input=payload, capture_output=True, timeout=limit, check=False
            )
        except subprocess.TimeoutExpired:
            raise TransientSourceError(f"{argv[0]} timed out after {limit:.3g} s") from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise SourceUnavailable(f"cannot run {argv[0]}: {reason}") from None
        if done.returncode != 0:
            how = (
                f"exit status {done.returncode}"
                if done.returncode > 0
                else f"killed by signal {-done.returncode}"
            )
            line = _last_line(done.stderr)
            raise TransientSourceError(f"{argv[0]}: {how}" + (f": {line}" if line else ""))

    return [("the batch", send)]


def _jsonl(job: _Job, batch: Sequence[Notification]) -> list[tuple[str, Send]]:
    path = Path(job.text("path")).expanduser()
    lines = "".join(json.dumps(jsonl_record(n), ensure_ascii=False) + "\n" for n in batch)

    def send(deadline: Deadline) -> None:
        if not path.parent.is_dir():
            raise SourceUnavailable(f"cannot append to {path}: folder {path.parent} does not exist")
        try:
            with path.open("a", encoding="utf-8") as f:
                f.write(lines)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise SourceUnavailable(f"cannot append to {path}: {reason}") from None

    return [("the batch", send)]


# ------------------------------------------------------------------------------ deliver


def deliver(
    notifier: Notifier,
    notifications: list[Notification],
    *,
    deadline_s: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = time.monotonic,
    env: Mapping[str, str] | None = None,
) -> Delivery:
    """Deliver one batch to one notifier (see the module docstring).

    Parameters:
        notifier: where to, with its settings as in the rule file.
        notifications: the batch, in order; none delivers nothing (ok, 0 attempts).
        deadline_s: seconds the whole delivery may take, retries and waits included.
        sleep, now: the clock (waits, and monotonic seconds), for tests.
        env: where ``*_env`` secrets are looked up (default ``os.environ``).

    Returns a :class:`Delivery`. Raises :class:`InputError` (naming the notifier's line and
    the key) for a notifier that cannot be used as written: a secret missing, a setting of
    the wrong type.
    """
    label = notifier.label
    if not notifications:
        return Delivery(label, True, 0, None)
    job = _Job(
        notifier,
        os.environ if env is None else env,
        Deadline(deadline_s, now),
        sleep,
        [],
    )
    retries = 0 if notifier.type == "jsonl" else job.count("retries", DEFAULT_RETRIES)
    with contextlib.ExitStack() as stack:
        if notifier.type in ("webhook", "ntfy", "telegram"):
            client = stack.enter_context(_client(job))
            build = {"webhook": _webhook, "ntfy": _ntfy, "telegram": _telegram}[notifier.type]
            sends = build(job, notifications, client)
            stack.enter_context(_redacted_logs(job))
        elif notifier.type == "email":
            sends = _email(job, notifications)
        elif notifier.type == "command":
            sends = _command(job, notifications)
        elif notifier.type == "jsonl":
            sends = _jsonl(job, notifications)
        else:
            raise InputError(
                f"notifier type {notifier.type!r}; expected one of webhook, ntfy, telegram, "
                "email, command, jsonl",
                line=notifier.line,
                key="type",
            )
        attempts, error = _run(job, sends, retries)
    label = job.redact(label)  # a password in a URL
    if error is not None:
        error = job.redact(error)
        log.info("%s: not delivered: %s", label, error)
    return Delivery(label, error is None, attempts, error)
