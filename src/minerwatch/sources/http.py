"""A small retrying GET of JSON over an :class:`httpx.Client`, shared by network sources.

One job: fetch a URL, retry what is worth retrying, and turn every failure into one of
minerwatch's source errors (each carrying the URL):

- connect errors, timeouts and other transport failures, HTTP 408 and 5xx: retried with
  exponential backoff and jitter; :class:`~minerwatch.errors.SourceUnavailable` when every
  attempt failed;
- HTTP 429: retried after the server's ``Retry-After`` (seconds or an HTTP date, capped at
  ``max_retry_after_s``) or, without one, the same backoff;
  :class:`~minerwatch.errors.RateLimited` when every attempt was refused;
- any other 4xx, a 3xx that was not followed, a body that is not JSON, or JSON of the wrong
  top-level type: :class:`~minerwatch.errors.BadResponse` at once, with the server's own
  error message when the body carries one (``{"error": {"type", "message"}}``,
  ``{"error": "..."}``, ``{"message": "..."}``, or the first line of a text body).

The module knows nothing of any particular source; shape checks beyond the top-level type
belong to the source module.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from minerwatch.errors import BadResponse, RateLimited, SourceUnavailable

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_BACKOFF_S = 1.0
DEFAULT_MAX_BACKOFF_S = 30.0
DEFAULT_MAX_RETRY_AFTER_S = 60.0
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_CONNECT_TIMEOUT_S = 10.0
RETRYABLE_STATUS = frozenset({408, 429})  # plus every 5xx
_SNIPPET_CHARS = 200


@dataclass(frozen=True)
class Fetched:
    """A successful GET: the URL requested (query included), the decoded JSON, and how
    many retries it took."""

    url: str
    data: Any
    retries: int


@dataclass(frozen=True)
class Retry:
    """One failed attempt about to be retried: ``attempt`` (1-based) failed for ``reason``;
    the next attempt follows after ``delay_s`` seconds."""

    url: str
    attempt: int
    reason: str
    delay_s: float


def default_client(
    timeout_s: float = DEFAULT_TIMEOUT_S, connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
) -> httpx.Client:
    """An :class:`httpx.Client` with minerwatch's user agent, timeouts and redirects
    followed. The caller closes it."""
    from minerwatch._version import __version__

    return httpx.Client(
        timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
        follow_redirects=True,
        headers={"User-Agent": f"minerwatch/{__version__}", "Accept": "application/json"},
    )


def backoff_delay(attempt: int, backoff_s: float, max_backoff_s: float) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): exponential,
    ``backoff_s * 2**(attempt-1)`` capped at ``max_backoff_s``, with "equal jitter" (a
    uniform draw from the upper half) so that clients do not retry in lockstep."""
    ceiling = min(max_backoff_s, backoff_s * 2 ** (attempt - 1))
    return ceiling * random.uniform(0.5, 1.0)


def retry_after_s(response: httpx.Response, now: datetime | None = None) -> float | None:
    """The ``Retry-After`` header in seconds (delta-seconds or an HTTP date), or None when
    absent or unreadable. Negative values count as 0."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_message(response: httpx.Response) -> str:
    """The server's own explanation of an error response, short, or "" when it has none."""
    try:
        body = response.json()
    except ValueError:
        if "html" in response.headers.get("Content-Type", ""):
            return ""  # an error page; its first line says nothing
        text = response.text.strip()
        return text.splitlines()[0][:_SNIPPET_CHARS] if text else ""
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            kind, message = err.get("type"), err.get("message")
            parts = [str(p) for p in (kind, message) if p]
            if parts:
                return ": ".join(parts)[:_SNIPPET_CHARS]
        if isinstance(err, str) and err:
            return err[:_SNIPPET_CHARS]
        for key in ("message", "detail"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key][:_SNIPPET_CHARS]
    return json.dumps(body)[:_SNIPPET_CHARS]


def _status_text(response: httpx.Response) -> str:
    phrase = response.reason_phrase or ""
    return f"HTTP {response.status_code}{' ' + phrase if phrase else ''}"


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def get_json(
    client: httpx.Client,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    backoff_s: float = DEFAULT_BACKOFF_S,
    max_backoff_s: float = DEFAULT_MAX_BACKOFF_S,
    max_retry_after_s: float = DEFAULT_MAX_RETRY_AFTER_S,
    expect: type | None = None,
    on_retry: Callable[[Retry], None] | None = None,
) -> Fetched:
    """GET ``url`` (with query ``params``) and decode its JSON body, retrying failures.

    Parameters:
        client: the HTTP client (its timeouts apply to each attempt).
        max_attempts: attempts in all, >= 1 (1 means no retry).
        backoff_s: base of the exponential backoff, seconds (see :func:`backoff_delay`).
        max_backoff_s: cap of one backoff wait, seconds.
        max_retry_after_s: cap of a server's ``Retry-After`` wait, seconds.
        expect: ``dict`` or ``list`` to require that top-level JSON type.
        on_retry: called with a :class:`Retry` before each wait.

    Returns a :class:`Fetched`. Raises :class:`RateLimited`, :class:`SourceUnavailable` or
    :class:`BadResponse` (see the module docstring), each naming the URL.
    """
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
    request_url = str(httpx.URL(url, params=params)) if params else url
    for attempt in range(1, max_attempts + 1):
        last = attempt == max_attempts
        try:
            response = client.get(url, params=params)
        except httpx.UnsupportedProtocol as exc:
            raise SourceUnavailable(f"cannot request: {exc}", url=request_url) from None
        except httpx.InvalidURL as exc:
            raise SourceUnavailable(f"invalid URL: {exc}", url=request_url) from None
        except httpx.DecodingError as exc:
            raise BadResponse(f"undecodable body: {exc}", url=request_url) from None
        except httpx.TimeoutException as exc:
            reason = f"timed out ({type(exc).__name__})"
            if last:
                raise SourceUnavailable(
                    f"{reason} after {attempt} attempt(s)", url=request_url
                ) from None
            delay = backoff_delay(attempt, backoff_s, max_backoff_s)
        except httpx.TransportError as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if last:
                raise SourceUnavailable(
                    f"cannot reach the source ({reason}) after {attempt} attempt(s)",
                    url=request_url,
                ) from None
            delay = backoff_delay(attempt, backoff_s, max_backoff_s)
        else:
            request_url = str(response.request.url)
            status = response.status_code
            if 200 <= status < 300:
                return Fetched(request_url, _decode(response, request_url, expect), attempt - 1)
            detail = error_message(response)
            reason = _status_text(response) + (f": {detail}" if detail else "")
            if status == 429:
                if last:
                    raise RateLimited(
                        f"{reason} (rate limited) after {attempt} attempt(s)", url=request_url
                    )
                wait = retry_after_s(response)
                delay = (
                    min(wait, max_retry_after_s)
                    if wait is not None
                    else backoff_delay(attempt, backoff_s, max_backoff_s)
                )
            elif status >= 500 or status in RETRYABLE_STATUS:
                if last:
                    raise SourceUnavailable(f"{reason} after {attempt} attempt(s)", url=request_url)
                delay = backoff_delay(attempt, backoff_s, max_backoff_s)
            else:
                if 300 <= status < 400:
                    where = response.headers.get("Location", "no Location header")
                    reason = f"{_status_text(response)} redirect to {where} not followed"
                raise BadResponse(f"{reason}; expected HTTP 200 with JSON", url=request_url)
        if on_retry is not None:
            on_retry(Retry(request_url, attempt, reason, delay))
        if delay > 0:
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _decode(response: httpx.Response, url: str, expect: type | None) -> Any:
    try:
        data = response.json()
    except ValueError:
        kind = response.headers.get("Content-Type", "no content type")
        text = response.text.strip()
        snippet = text.splitlines()[0][:80] if text else ""
        raise BadResponse(
            f"body is not JSON ({kind}: {snippet!r}); expected a JSON document", url=url
        ) from None
    if expect is not None and not isinstance(data, expect):
        raise BadResponse(
            f"body is {_json_type(data)}; expected {_json_type(expect())} at the top level",
            url=url,
        )
    return data
