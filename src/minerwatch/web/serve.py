"""Run the web application under uvicorn (``minerwatch serve``).

A loopback address (127.0.0.1, ::1, localhost) serves anyone on this machine; any other
address needs a token, which every request must then carry. The database is checked once
before the server starts (a missing or unusable file is the CLI's error, not a page).

With ``follow`` (``minerwatch serve --watch``), the server also follows the tip, in a
thread of its own: it opens the database for writing once and holds it while it runs (the
one writer: another command that needs the database is told at once that this server holds
it), the follower commits each new block through one cursor of it, and each request reads
through a read-only cursor of its own (:class:`~minerwatch.web.app.SharedStore`), which
sees each commit at once and never waits for it. Open pages learn of each commit through
``/events`` (:mod:`minerwatch.web.events`).

While it runs, the server is registered as the database's (:mod:`minerwatch.servers`), so
that another command that finds the database busy names the server's URL.
"""

from __future__ import annotations

import contextlib
import ipaddress
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn

from minerwatch.errors import InputError, MinerwatchError
from minerwatch.servers import registered
from minerwatch.store import Store, open_store
from minerwatch.web.app import create_app

if TYPE_CHECKING:
    from fastapi import FastAPI

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
FOLLOWER_STOP_S = 10.0
"""Seconds the server waits for its follower to finish the sync under way when it stops."""
LISTEN_BACKLOG = 2048
"""Connections the listening socket queues (uvicorn's default)."""
SHUTDOWN_GRACE_S = 3
"""Seconds a stopping server gives the requests under way before it closes them: an open
page's event stream (``/events``) would otherwise hold it for up to ``STREAM_S``; the page
reconnects to the next server by itself."""

#: A follower of the tip: ``follow(store, should_stop)`` syncs each new block into
#: ``store`` until ``should_stop()`` (``minerwatch watch``'s loop, built by the CLI).
Follower = Callable[[Store, Callable[[], bool]], None]


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost`` or a loopback address)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_serve(host: str, port: int, token: str | None) -> None:
    """:class:`InputError` for a port out of range, or a host beyond loopback without a
    token."""
    if not 0 <= port <= 65535:
        raise InputError(f"port {port} is not a TCP port; expected 0 to 65535", parameter="port")
    if not is_loopback(host) and not token:
        raise InputError(
            f"host {host} is reachable from other machines: give a token (--token or "
            "MINERWATCH_TOKEN) that every request must carry, or serve on 127.0.0.1",
            parameter="host",
        )


def serve(
    db: Path | None,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    token: str | None = None,
    follow: Follower | None = None,
    follow_said: str = "",
    alerts: str | Path | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve the database ``db`` read-only at ``http://host:port/`` until interrupted,
    saying where (and whether a token is needed) through ``announce``; with ``follow``,
    following the tip as well (``follow_said``: what it follows, for the announcement).
    ``alerts``: the rule file the Alerts page shows (default: the configuration's, else
    the pack)."""
    check_serve(host, port, token)
    with open_store(db, read_only=True) as store:  # fail now, not on the first page
        path = store.path
    if alerts is not None:
        from minerwatch.sources.alert_rules import load_rules

        load_rules(alerts)  # likewise: a bad rule file is the CLI's error
    sock = _listen(host, port)
    port = sock.getsockname()[1]
    owner = None if follow is None else open_store(path)  # held for the follower's writes
    shown = f"[{host}]" if ":" in host else host
    stopping = threading.Event()
    follower: threading.Thread | None = None
    try:
        app = create_app(path, token=token, alerts=alerts, shared=owner)
        announce(f"serving {path} read-only at http://{shown}:{port}/ (Ctrl-C stops)")
        if token:
            announce("every request needs the token: Authorization: Bearer TOKEN or ?token=TOKEN")
        if follow is not None and owner is not None:
            follower = threading.Thread(
                target=_follow,
                args=(follow, owner.cursor(read_only=False), stopping, announce),
                name="minerwatch-follower",
                daemon=True,
            )
            follower.start()
            announce(f"following the tip in this process (the one writer): {follow_said}")
        _exit_on_sigterm()
        with registered(path, f"http://{shown}:{port}/", holds=owner is not None):
            _run(app, sock)
    finally:
        sock.close()
        stopping.set()
        if follower is not None:
            follower.join(FOLLOWER_STOP_S)
        if owner is not None:
            owner.close()


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (port 0: one the system picks) and listening, before
    anything is announced; :class:`InputError` when it cannot be (the port in use, an
    address not of this machine)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}: {exc}", parameter="host") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        sock.close()
        raise InputError(
            f"cannot listen on {host} port {port}: {exc.strerror or exc}; choose another "
            "--port (or --host)",
            parameter="port",
        ) from None
    return sock


def _run(app: FastAPI, sock: socket.socket) -> None:
    """Serve ``app`` on the listening ``sock`` until Ctrl-C (or SIGTERM): the open event
    streams end as the server starts to stop (``app.state.stopping``), the requests under
    way get :data:`SHUTDOWN_GRACE_S` seconds."""
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, timeout_graceful_shutdown=SHUTDOWN_GRACE_S
    )
    server = uvicorn.Server(config)
    app.state.stopping = lambda: server.should_exit
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])


def _follow(
    follow: Follower, store: Store, stopping: threading.Event, announce: Callable[[str], None]
) -> None:
    """The follower thread: ``follow`` into ``store`` until the server stops; when it ends
    on its own (a bad URL, another network, a database error), say so: the server goes on,
    but pages no longer follow the tip."""
    try:
        follow(store, stopping.is_set)
    except MinerwatchError as exc:
        said = str(exc)
    except Exception as exc:  # the server outlives its follower, whatever ended it
        said = f"{type(exc).__name__}: {exc}"
    else:
        said = "it ended"
    finally:
        store.close()
    if said and not stopping.is_set():
        announce(
            f"the follower stopped ({said}): the server goes on, but pages no longer follow the tip"
        )


def _exit_on_sigterm() -> None:
    """SIGTERM ends the server as Ctrl-C does, through ``finally`` (the follower stopped,
    the server's entry removed): uvicorn stops on it, then raises it again once the
    handler it replaced is back, which by default would end the process on the spot."""

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    with contextlib.suppress(ValueError):  # not the main thread: the embedding program's
        signal.signal(signal.SIGTERM, stop)
