"""Run the web application under uvicorn (``minerwatch serve``).

A loopback address (127.0.0.1, ::1, localhost) serves anyone on this machine; any other
address needs a token, which every request must then carry. The database is checked once
before the server starts (a missing or unusable file is the CLI's error, not a page).

TODO(--watch): following the tip while serving (``minerwatch.ingest.watch.watch`` in a
background thread as the one writer, each new tip pushed to open pages by server-sent
events) waits for the live chain sync; until then run ``minerwatch watch`` beside the
server only with a lock wait (readers wait for its commits).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path

import uvicorn

from minerwatch.errors import InputError
from minerwatch.store import open_store
from minerwatch.web.app import create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787


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
    announce: Callable[[str], None] = print,
) -> None:
    """Serve the database ``db`` read-only at ``http://host:port/`` until interrupted,
    saying where (and whether a token is needed) through ``announce``."""
    check_serve(host, port, token)
    with open_store(db, read_only=True) as store:  # fail now, not on the first page
        path = store.path
    app = create_app(db, token=token)
    shown = f"[{host}]" if ":" in host else host
    announce(f"serving {path} read-only at http://{shown}:{port}/ (Ctrl-C stops)")
    if token:
        announce("every request needs the token: Authorization: Bearer TOKEN or ?token=TOKEN")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
