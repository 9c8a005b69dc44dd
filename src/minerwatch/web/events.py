"""Server-sent events (``GET /events``): open pages learn that the database changed, so
the Now page shows a new block without a reload.

The stream watches the database file and its write-ahead log (the state
:class:`~minerwatch.web.app.AnswerCache` keys its answers on) every :data:`POLL_S`
seconds; when a commit by the writer (``minerwatch serve --watch``'s follower, a
``minerwatch watch``, ``sync`` or ``import`` in another process) changes it, it sends
``event: change`` with a counter, and a comment every :data:`KEEPALIVE_S` seconds so that
proxies keep the connection. A page reloads its content on the event (``static/app.js``).
Each stream ends after :data:`STREAM_S` seconds (the browser's ``EventSource`` reconnects
by itself, sending the ``id`` of the last event it got), so a server never holds a
forgotten connection for ever, and as soon as the server starts to stop
(``app.state.stopping``), so that an open page never holds up a Ctrl-C. A page gives the
state it was rendered at (``?since=``); a stream that starts at another state announces
the change at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from minerwatch.web.app import AnswerCache

router = APIRouter(include_in_schema=False)

POLL_S = 0.25
"""Seconds between looks at the database file: a commit reaches an open page within this
plus the page's reload."""
KEEPALIVE_S = 15.0
STREAM_S = 600.0
RETRY_MS = 2000
"""How long a browser waits before it reconnects (the ``retry:`` field)."""


def state_id(state: tuple[object, ...]) -> str:
    """A short name of a database file state (the ``id`` of the events): a page rendered
    at one state and a stream that meets another learn of the change."""
    return hashlib.sha256(repr(state).encode()).hexdigest()[:16]


def _change(state: tuple[object, ...]) -> str:
    """The event that says the database is now at ``state``."""
    name = state_id(state)
    return f"event: change\nid: {name}\ndata: {name}\n\n"


async def changes(request: Request, answers: AnswerCache, since: str | None) -> AsyncIterator[str]:
    """The event stream of one client (see the module docstring). ``since``: the state the
    client last saw (the page's, or the ``Last-Event-ID`` of a reconnect); a stream that
    finds another one announces a change at once, so that no commit made while no stream
    was open is missed."""
    seen = answers.file_state()
    yield f"retry: {RETRY_MS}\nid: {since or state_id(seen)}\n\n"
    if since is not None and since != state_id(seen):
        yield _change(seen)
    began = quiet_since = time.monotonic()
    stopping: Callable[[], bool] = request.app.state.stopping
    while time.monotonic() - began < STREAM_S:
        if stopping() or await request.is_disconnected():
            return
        await asyncio.sleep(POLL_S)
        state = answers.file_state()
        if state != seen:
            seen, quiet_since = state, time.monotonic()
            yield _change(seen)
        elif time.monotonic() - quiet_since >= KEEPALIVE_S:
            quiet_since = time.monotonic()
            yield ": still here\n\n"


@router.get("/events")
async def events(
    request: Request, since: Annotated[str | None, Query()] = None
) -> StreamingResponse:
    answers: AnswerCache = request.app.state.answers
    last = request.headers.get("last-event-id") or since
    return StreamingResponse(
        changes(request, answers, last),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
