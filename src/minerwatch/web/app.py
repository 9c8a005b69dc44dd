"""The FastAPI application of ``minerwatch serve``: settings, security headers, the token
check, the read-only store of each request, the data's ETag and errors as JSON.

Read-only by construction: each request opens the database read-only
(:func:`minerwatch.store.open_store`, which waits for another process's commit rather than
failing) and closes it before the response is sent; no route writes. A server that follows
the tip itself (``serve --watch``) holds the database open for its follower thread, and each
request reads through a read-only cursor of that open database instead
(:meth:`minerwatch.store.Store.cursor`): it sees each commit at once and never waits.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from minerwatch._version import __version__
from minerwatch.errors import (
    AsOfOutOfRange,
    InputError,
    NoChainData,
    NoDatabase,
    StoreError,
    naming,
)
from minerwatch.store import Store, open_store

#: Content-Security-Policy of every response: scripts, styles and data from this server
#: only (the pages have no inline script or style attribute), nothing framed, no other host.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}
#: Cookie set when a page was opened with the right ``?token=``, so its scripts, styles
#: and links (which carry no token) are let through too.
TOKEN_COOKIE = "minerwatch_token"

#: The query parameter that sets each library parameter: an error message about a
#: parameter names the query parameter instead (as the CLI names its option).
QUERY_NAMES = {
    "as_of": "as_of",
    "at_height": "at_height",
    "price_source": "price_source",
    "power_price_usd_kwh": "power_price",
    "electricity_usd_kwh": "power_price",
    "pool_fee_pct": "pool_fee",
    "uptime_pct": "uptime",
    "electricity_share": "electricity_share",
    "merge_gap_days": "merge_gap",
    "min_days": "min_days",
    "model": "model",
    "drm_fit_end": "fit_end",
    "price_cross": "price_cross",
    "confirm_days": "confirm_days",
    "strict_change_pct": "strict_change",
    "window": "window",
}


@dataclass(frozen=True)
class Settings:
    """What the server reads: the database ``db``, the ``token`` every request must
    carry (None: no token, for a loopback address) and the ``alerts`` rule file the Alerts
    page shows (None: the configuration's ``[alerts] rules``, else the shipped pack)."""

    db: Path
    token: str | None = None
    alerts: str | Path | None = None


#: Answers kept by :class:`AnswerCache` (the most recently used).
CACHED_ANSWERS = 256


class AnswerCache:
    """The answers of recent requests by key (the JSON of an API URL, the figures of a
    page), each kept while the database file and its write-ahead log are what they were
    when it was computed (inode, size and modification time of ``path`` and ``path.wal``:
    any commit by another process changes one of them). A hit costs two ``stat`` calls
    instead of opening the database and computing the answer (0.1 s and more)."""

    def __init__(self, path: Path, size: int = CACHED_ANSWERS) -> None:
        self.path = path
        self.size = size
        self._answers: OrderedDict[str, tuple[tuple[object, ...], Any]] = OrderedDict()
        self._lock = threading.Lock()

    def file_state(self) -> tuple[object, ...]:
        """(inode, size, mtime in ns) of the database and of its WAL (None where absent)."""
        out: list[object] = []
        for path in (self.path, self.path.with_name(self.path.name + ".wal")):
            try:
                st = os.stat(path)
            except OSError:
                out.append(None)
            else:
                out.append((st.st_ino, st.st_size, st.st_mtime_ns))
        return tuple(out)

    def get(self, key: str, state: tuple[object, ...]) -> Any | None:
        """The answer kept for ``key`` at the file ``state``, else None."""
        with self._lock:
            kept = self._answers.get(key)
            if kept is None or kept[0] != state:
                return None
            self._answers.move_to_end(key)
            return kept[1]

    def kept(self, key: str, compute: Callable[[], Any]) -> Any:
        """The answer kept for ``key``, else ``compute()``'s, kept from now on. The file's
        state is read before computing: a write meanwhile makes the new entry stale."""
        state = self.file_state()
        answer = self.get(key, state)
        if answer is None:
            answer = compute()
            self.put(key, state, answer)
        return answer

    def put(self, key: str, state: tuple[object, ...], answer: Any) -> None:
        with self._lock:
            self._answers[key] = (state, answer)
            self._answers.move_to_end(key)
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


class SharedStore:
    """The database held open by the server for the whole run (``serve --watch``, whose
    follower thread writes to it), handing each request a read-only cursor of it. DuckDB
    lets a process that holds a database for writing open no read-only connection beside:
    its readers are cursors of the one open database (their own connections to it, one per
    thread), made here one at a time."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()

    def reader(self) -> Store:
        with self._lock:
            return self.store.cursor(read_only=True)


@contextmanager
def read_store(request: Request) -> Iterator[Store]:
    """The database read-only for one request (closed when the block ends): a cursor of the
    server's open database when it holds one, else the file opened read-only."""
    shared: SharedStore | None = request.app.state.shared
    if shared is not None:
        store = shared.reader()
        try:
            yield store
        finally:
            store.close()
        return
    with open_store(settings_of(request).db, read_only=True) as store:
        yield store


def data_tag(store: Store) -> str:
    """A weak ETag of what the database holds: the version, the chain days, the blocks
    (count, heights, times), each live source's tip hash, the rows of every table and the
    latest write. Any import or sync changes it, and so does a reorg to a tip of the same
    height."""
    parts = (
        __version__,
        store.chain_day_range(),
        store.block_span(),
        [(c.source, c.tip_height, c.tip_hash) for c in store.chain_states()],
        store.counts(),
        store.last_import(),
    )
    return 'W/"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:20] + '"'


def not_modified(request: Request, tag: str) -> bool:
    """Whether the request's ``If-None-Match`` names ``tag`` (or ``*``)."""
    given = request.headers.get("if-none-match", "")
    return any(t.strip() in (tag, "*") for t in given.split(","))


def error_status(exc: Exception) -> int:
    """HTTP status of a library error: 404 for nothing there (no database, no chain data,
    a day outside the data), 400 for other bad input, 503 for a database that cannot be
    used now (busy, another program's, a newer schema)."""
    if isinstance(exc, NoDatabase | NoChainData | AsOfOutOfRange):
        return 404
    if isinstance(exc, InputError):
        return 400
    return 503


def input_message(exc: InputError) -> str:
    """The error's message naming the query parameter where the library names its
    parameter (the CLI's message with query names for option names)."""
    return naming(exc, QUERY_NAMES)


def error_message(exc: Exception) -> str:
    return input_message(exc) if isinstance(exc, InputError) else str(exc)


#: Characters of a wrong value a message quotes (a request body may be long).
QUOTED_CHARS = 80


def _validation_message(exc: RequestValidationError) -> str:
    """One sentence for a query value or a body field of the wrong type (the first one
    wrong), a missing field, or a body that is not JSON."""
    first: dict[str, Any] = exc.errors()[0]
    name = str(first.get("loc", ("", "?"))[-1])
    kind, message = first.get("type"), str(first.get("msg", "")).lower()
    if kind == "missing":
        return f"{name} is required"
    if kind == "json_invalid":
        return f"the request body is not valid JSON: {message}"
    given = repr(first.get("input"))
    if len(given) > QUOTED_CHARS:
        given = given[: QUOTED_CHARS - 3] + "..."
    return f"{name} {given} is not valid: {message}"


def _token_ok(request: Request, token: str) -> tuple[bool, bool]:
    """(allowed, from the query): whether the request carries ``token`` as a Bearer header,
    a ``?token=`` or the cookie."""
    header = request.headers.get("authorization", "")
    bearer = header[7:] if header.lower().startswith("bearer ") else ""
    query = request.query_params.get("token", "")
    cookie = request.cookies.get(TOKEN_COOKIE, "")

    def same(given: str) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), token.encode())

    return same(bearer) or same(query) or same(cookie), same(query)


def create_app(
    db: Path | str | None = None,
    *,
    token: str | None = None,
    alerts: str | Path | None = None,
    shared: Store | None = None,
) -> FastAPI:
    """The application serving the database ``db`` read-only; with ``token``, every request
    must carry it (``Authorization: Bearer TOKEN`` or ``?token=TOKEN``) or gets 401. The
    Alerts page shows the rule file ``alerts`` (a path or ``pack``; default: the
    configuration's ``[alerts] rules``, read on each request, else the shipped pack).
    ``shared``: the database ``db`` open in this process (kept open by the caller for the
    application's life), which requests then read through cursors of."""
    from minerwatch.web import alerts as alert_pages
    from minerwatch.web import api, events, fleet, pages, prometheus

    app = FastAPI(
        title="minerwatch",
        version=__version__,
        description="Bitcoin mining economics of a minerwatch database, read-only: the "
        "CLI's `--json` objects, daily series and Prometheus metrics, the fleet desk "
        "(a fleet file posted as text: its history and its plan) and the alert rules "
        "(their states, their history and what `minerwatch alerts run` stored).",
        docs_url=None,  # the interactive docs load scripts from a CDN
        redoc_url=None,
    )
    from minerwatch.store import default_db_path

    path = default_db_path() if db is None else Path(db)
    app.state.settings = Settings(path, token or None, alerts)
    app.state.answers = AnswerCache(path)
    app.state.shared = None if shared is None else SharedStore(shared)
    app.state.stopping = lambda: False  # ``minerwatch serve`` says when it is stopping

    @app.middleware("http")
    async def _guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        settings = settings_of(request)
        from_query = False
        if settings.token is not None:
            allowed, from_query = _token_ok(request, settings.token)
            if not allowed:
                response: Response = JSONResponse(
                    {
                        "error": "this server needs its token: Authorization: Bearer TOKEN or "
                        "?token=TOKEN"
                    },
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
                response.headers.update(SECURITY_HEADERS)
                return response
        refused = fleet.body_refusal(request)
        response = refused if refused is not None else await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        if from_query and settings.token is not None:
            response.set_cookie(TOKEN_COOKIE, settings.token, httponly=True, samesite="strict")
        return response

    @app.exception_handler(InputError)
    @app.exception_handler(StoreError)
    @app.exception_handler(alert_pages.RulesUnusable)  # the server's rule file: a 503
    async def _library_error(request: Request, exc: Exception) -> Response:
        status, message = error_status(exc), error_message(exc)
        if request.url.path.startswith("/api/") or request.url.path == "/metrics":
            return JSONResponse({"error": message}, status_code=status)
        return pages.error_page(request, status, message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/"):  # as every other error of the API
            return JSONResponse(
                {"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
            )
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _bad_query(request: Request, exc: RequestValidationError) -> Response:
        message = _validation_message(exc)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=400)
        return pages.error_page(request, 400, message)

    app.include_router(api.router)
    app.include_router(fleet.router)
    app.include_router(alert_pages.router)
    app.include_router(prometheus.router)
    app.include_router(events.router)
    app.include_router(pages.router)
    app.include_router(fleet.page_router)
    app.include_router(alert_pages.page_router)
    _openapi_without_422(app)
    return app


def _openapi_without_422(app: FastAPI) -> None:
    """Leave FastAPI's 422 answers out of ``/openapi.json``: a value of the wrong type is a
    400 here (:func:`_validation_message`), documented with every route."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = build()
            for operations in doc.get("paths", {}).values():
                for operation in operations.values():
                    operation.get("responses", {}).pop("422", None)
            schemas = doc.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
