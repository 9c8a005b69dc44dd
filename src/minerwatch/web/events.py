"""Server-sent events (``GET /events``): open pages learn that the database changed, so
the Now page shows a new block without a reload.

The stream watches the database file and its write-ahead log (the state
:class:`~minerwatch.web.app.AnswerCache` keys its answers on) every :data:`POLL_S`
seconds; when a commit by the writer (``minerwatch serve --watch``'s follower, a
``minerwatch watch``, ``sync`` or ``import`` in another process) changes it, it sends
``event: change`` with a counter, and a comment every :data:`KEEPALIVE_S` seconds so that
proxies keep the connection. A page reloads its content on the event (``static/app.js``).
Each stream ends after :data:`STREAM_S` seconds (the browser's ``EventSource`` reconnects
by itself), so a server never holds a forgotten connection for ever.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
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


async def changes(request: Request, answers: AnswerCache) -> AsyncIterator[str]:
    """The event stream of one client (see the module docstring)."""
    yield f"retry: {RETRY_MS}\n\n"
    seen = answers.file_state()
    count, began, quiet_since = 0, time.monotonic(), time.monotonic()
    while time.monotonic() - began < STREAM_S:
        if await request.is_disconnected():
            return
        await asyncio.sleep(POLL_S)
        state = answers.file_state()
        if state != seen:
            seen, count, quiet_since = state, count + 1, time.monotonic()
            yield f"event: change\ndata: {count}\n\n"
        elif time.monotonic() - quiet_since >= KEEPALIVE_S:
            quiet_since = time.monotonic()
            yield ": still here\n\n"


@router.get("/events")
async def events(request: Request) -> StreamingResponse:
    answers: AnswerCache = request.app.state.answers
    return StreamingResponse(
        changes(request, answers),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
