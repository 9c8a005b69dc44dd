"""Run the web application under uvicorn (``minerwatch serve``).

A loopback address (127.0.0.1, ::1, localhost) serves anyone on this machine; any other
address needs a token, which every request must then carry. The database is checked once
before the server starts (a missing or unusable file is the CLI's error, not a page).

With ``follow`` (``minerwatch serve --watch``), the server also follows the tip: it
starts ``minerwatch watch`` with those arguments on the same database as its own child
process, the one writer (it commits each new block; the server's requests open the
database read-only between its commits and wait for one under way), and stops it when the
server stops. Open pages learn of each commit through ``/events``
(:mod:`minerwatch.web.events`). A process of its own rather than a thread: DuckDB does
not let one process hold a database for writing and open it read-only beside.

While it runs, the server is registered as the database's (:mod:`minerwatch.servers`), so
that another command that finds the database busy names the server's URL.
"""

from __future__ import annotations

import contextlib
import ipaddress
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import uvicorn

from minerwatch.errors import InputError
from minerwatch.servers import registered
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
    follow: Sequence[str] | None = None,
    alerts: str | Path | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve the database ``db`` read-only at ``http://host:port/`` until interrupted,
    saying where (and whether a token is needed) through ``announce``; with ``follow``
    (the arguments of ``minerwatch watch``), following the tip as well. ``alerts``: the
    rule file the Alerts page shows (default: the configuration's, else the pack)."""
    check_serve(host, port, token)
    with open_store(db, read_only=True) as store:  # fail now, not on the first page
        path = store.path
    if alerts is not None:
        from minerwatch.sources.alert_rules import load_rules

        load_rules(alerts)  # likewise: a bad rule file is the CLI's error
    app = create_app(path, token=token, alerts=alerts)
    shown = f"[{host}]" if ":" in host else host
    announce(f"serving {path} read-only at http://{shown}:{port}/ (Ctrl-C stops)")
    if token:
        announce("every request needs the token: Authorization: Bearer TOKEN or ?token=TOKEN")
    follower, stopping = None, threading.Event()
    if follow is not None:
        argv = [sys.executable, "-m", "minerwatch", "watch", *follow, "--db", str(path)]
        follower = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        announce(f"following the tip: minerwatch watch {' '.join(follow)} (process {follower.pid})")
        threading.Thread(
            target=_report_exit, args=(follower, stopping, announce), daemon=True
        ).start()
    try:
        _exit_on_sigterm()
        with registered(path, f"http://{shown}:{port}/"):  # named by a command that waits
            uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        stopping.set()
        if follower is not None:
            follower.terminate()
            try:
                follower.wait(10)
            except subprocess.TimeoutExpired:
                follower.kill()


def _exit_on_sigterm() -> None:
    """SIGTERM ends the server as Ctrl-C does, through ``finally`` (the follower stopped,
    the server's entry removed): uvicorn stops on it, then raises it again once the
    handler it replaced is back, which by default would end the process on the spot."""

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    with contextlib.suppress(ValueError):  # not the main thread: the embedding program's
        signal.signal(signal.SIGTERM, stop)


def _report_exit(
    follower: subprocess.Popen, stopping: threading.Event, announce: Callable[[str], None]
) -> None:
    """Say so when the follower ends while the server still runs (a bad URL, another
    network, a database error: its own message came before): pages stop following."""
    code = follower.wait()
    if not stopping.is_set():
        announce(
            f"the follower stopped (minerwatch watch exited {code}; its message is above): "
            "the server goes on, but pages no longer follow the tip"
        )
