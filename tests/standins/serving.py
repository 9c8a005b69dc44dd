"""Starting servers on 127.0.0.1 for tests and benchmarks: a free port, and the first
answer of a server process that is still starting."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def first_answer(
    url: str, process: subprocess.Popen, timeout_s: float = 30.0, **request: object
) -> httpx.Response:
    """The first response (any status) of ``GET url`` while ``process`` starts the server
    behind it; :class:`RuntimeError` when the process ends first or ``timeout_s`` passes
    without one. ``request``: more arguments of :func:`httpx.get`."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return httpx.get(url, timeout=5, **request)  # type: ignore[arg-type]
        except httpx.TransportError:
            if process.poll() is not None:
                raise RuntimeError(f"the server stopped (exit {process.returncode})") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer within {timeout_s:g} s") from None
            time.sleep(0.1)
