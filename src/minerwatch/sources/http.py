"""A GET of JSON over an :class:`httpx.Client`, shared by network sources.

One job: fetch a URL once (:func:`get_json_once`) and turn every failure into one of
minerwatch's source errors (each carrying the URL); :func:`get_json` retries it under the
shared policy of :mod:`minerwatch.sources.retry`:

- connect errors, timeouts and other transport failures, HTTP 408 and 5xx: a
  :class:`~minerwatch.errors.TransientSourceError`, retried with exponential backoff and
  jitter; :class:`~minerwatch.errors.SourceUnavailable` when every attempt failed;
- HTTP 429: transient, retried after the server's ``Retry-After`` (seconds or an HTTP date,
  capped at ``max_retry_after_s``) or, without one, the same backoff;
  :class:`~minerwatch.errors.RateLimited` when every attempt was refused;
- any other 4xx, a 3xx that was not followed, a redirect loop, a body that is not JSON, or
  JSON of the wrong top-level type: :class:`~minerwatch.errors.BadResponse` at once, with
  the server's own error message when the body carries one (``{"error": {"type",
  "message"}}``, ``{"error": "..."}``, ``{"message": "..."}``, or the first line of a text
  body);
- a :class:`~minerwatch.sources.retry.Deadline`: each attempt's timeouts are cut to the time
  left, and the body is read chunk by chunk so that a server trickling bytes is stopped when
  the deadline passes (:class:`~minerwatch.errors.SyncDeadlineExceeded`).

The module knows nothing of any particular source; shape checks beyond the top-level type
belong to the source module.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from minerwatch.errors import BadResponse, SourceUnavailable, TransientSourceError
from minerwatch.sources import retry
from minerwatch.sources.retry import (
    DEFAULT_BACKOFF_S,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_BACKOFF_S,
    DEFAULT_MAX_RETRY_AFTER_S,
    Deadline,
    Retry,
)

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
    return _seconds_until(value, now)


def expires_in_s(response: httpx.Response, now: datetime | None = None) -> float | None:
    """Seconds until the ``Expires`` header's HTTP date (RFC 9111 section 5.3), 0 when it
    has passed; None when absent or not an HTTP date (RFC 9111 reads an invalid date, such
    as ``0``, as already expired: the caller keeps nothing either way)."""
    value = response.headers.get("Expires")
    return None if value is None else _seconds_until(value.strip(), now)


def _seconds_until(http_date: str, now: datetime | None) -> float | None:
    """Seconds from ``now`` (default the clock) to an HTTP date, at least 0; None when it
    is not one."""
    try:
        when = parsedate_to_datetime(http_date)
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
    deadline: Deadline | None = None,
    on_retry: Callable[[Retry], None] | None = None,
) -> Fetched:
    """GET ``url`` (with query ``params``) and decode its JSON body, retrying failures.

    Parameters:
        client: the HTTP client (its timeouts apply to each attempt).
        max_attempts, backoff_s, max_backoff_s, max_retry_after_s: the
            :class:`~minerwatch.sources.retry.RetryPolicy`.
        expect: ``dict`` or ``list`` to require that top-level JSON type.
        deadline: the total time budget (see the module docstring).
        on_retry: called with a :class:`~minerwatch.sources.retry.Retry` before each wait.

    Returns a :class:`Fetched`. Raises :class:`RateLimited`, :class:`SourceUnavailable`,
    :class:`BadResponse` or :class:`SyncDeadlineExceeded` (see the module docstring), each
    naming the URL.
    """
    policy = retry.RetryPolicy(max_attempts, backoff_s, max_backoff_s, max_retry_after_s)
    retries: list[Retry] = []

    def counted(event: Retry) -> None:
        retries.append(event)
        if on_retry is not None:
            on_retry(event)

    fetched = retry.call(
        lambda left: get_json_once(client, url, params=params, expect=expect, deadline=left),
        policy=policy,
        deadline=deadline,
        on_retry=counted,
    )
    return Fetched(fetched.url, fetched.data, len(retries))


def get_json_once(
    client: httpx.Client,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    expect: type | None = None,
    deadline: Deadline | None = None,
) -> Fetched:
    """One GET of ``url``: a :class:`Fetched` (``retries`` 0), or the error of the module
    docstring (:class:`TransientSourceError` for what is worth retrying)."""
    response = get_once(client, url, params=params, deadline=deadline)
    request_url = str(response.request.url)
    return Fetched(request_url, decode_json(response, request_url, expect), 0)


def get_once(
    client: httpx.Client,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    deadline: Deadline | None = None,
    accept: Collection[int] = (),
    expected: str = "HTTP 200 with JSON",
) -> httpx.Response:
    """One GET of ``url``: the whole response (body read) when its status is 2xx or in
    ``accept`` (say 404, for a source where it means "no such block"); else the error of
    the module docstring, whose message says ``expected``. The body is not decoded."""
    response = send_once(client, "GET", url, params=params, deadline=deadline, expected=expected)
    request_url = str(response.request.url)
    status = response.status_code
    if 200 <= status < 300 or status in accept:
        return response
    detail = error_message(response)
    reason = _status_text(response) + (f": {detail}" if detail else "")
    if status == 429:
        raise TransientSourceError(
            reason,
            url=request_url,
            failure=f"{reason} (rate limited)",
            rate_limited=True,
            retry_after_s=retry_after_s(response),
        )
    if status >= 500 or status in RETRYABLE_STATUS:
        raise TransientSourceError(reason, url=request_url)
    if 300 <= status < 400:
        where = response.headers.get("Location", "no Location header")
        reason = f"{_status_text(response)} redirect to {where} not followed"
    raise BadResponse(f"{reason}; expected {expected}", url=request_url)


# Headers that describe the bytes on the wire, not the decoded body kept in memory.
_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def send_once(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    deadline: Deadline | None = None,
    expected: str = "HTTP 200 with JSON",
) -> httpx.Response:
    """One HTTP request, any status: the response with its whole body read (chunk by chunk,
    cut off at ``deadline``), or the transport failure as a source error naming the URL:
    connect errors and timeouts :class:`TransientSourceError`, a redirect loop or an
    undecodable body :class:`BadResponse`, an unusable URL :class:`SourceUnavailable`.

    What a status means is the caller's business (:func:`get_json_once` for JSON GETs; a
    JSON-RPC client reads the body of an HTTP 500 too). ``headers`` are sent with this
    request only and never appear in an error message; ``expected`` names what a good answer
    is, for the redirect-loop message.
    """
    request_url = str(httpx.URL(url, params=params)) if params else url
    if deadline is not None and deadline.expired():
        raise deadline.exceeded("before the request", request_url)
    try:
        with client.stream(
            method,
            url,
            params=params,
            content=content,
            headers=headers,
            timeout=_timeout(client, deadline),
        ) as r:
            request_url = str(r.request.url)
            body = _read_body(r, deadline, request_url)
            return httpx.Response(
                r.status_code,
                headers=[(k, v) for k, v in r.headers.items() if k.lower() not in _BODY_HEADERS],
                content=body,
                request=r.request,
                extensions={k: v for k, v in r.extensions.items() if k == "reason_phrase"},
            )
    except httpx.UnsupportedProtocol as exc:
        raise SourceUnavailable(f"cannot request: {exc}", url=request_url) from None
    except httpx.InvalidURL as exc:
        raise SourceUnavailable(f"invalid URL: {exc}", url=request_url) from None
    except httpx.DecodingError as exc:
        raise BadResponse(f"undecodable body: {exc}", url=request_url) from None
    except httpx.TooManyRedirects:
        raise BadResponse(
            f"redirected more than {client.max_redirects} times (a redirect loop); expected "
            f"{expected}",
            url=request_url,
        ) from None
    except httpx.TimeoutException as exc:
        if deadline is not None and deadline.expired():
            raise deadline.exceeded("while waiting for the response", request_url) from None
        raise TransientSourceError(f"timed out ({type(exc).__name__})", url=request_url) from None
    except httpx.TransportError as exc:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise TransientSourceError(
            reason, url=request_url, failure=f"cannot reach the source ({reason})"
        ) from None


def _timeout(client: httpx.Client, deadline: Deadline | None) -> httpx.Timeout:
    """The client's timeouts, each cut to the time left before ``deadline``."""
    base = client.timeout
    if deadline is None:
        return base
    left = max(deadline.remaining_s(), 0.001)

    def cut(value: float | None) -> float:
        return left if value is None else min(value, left)

    return httpx.Timeout(
        connect=cut(base.connect), read=cut(base.read), write=cut(base.write), pool=cut(base.pool)
    )


def _read_body(response: httpx.Response, deadline: Deadline | None, url: str) -> bytes:
    """The decoded body, read chunk by chunk; a trickle is cut off at ``deadline``."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if deadline is not None and deadline.expired():
            raise deadline.exceeded(
                f"while reading the response (HTTP {response.status_code}, {size:,} bytes so far)",
                url,
            )
    return b"".join(chunks)


def decode_json(response: httpx.Response, url: str, expect: type | None = None) -> Any:
    """The response's JSON body; :class:`BadResponse` unless it is JSON (of the top-level
    type ``expect`` when given)."""
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
