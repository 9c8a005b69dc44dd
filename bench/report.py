"""What the benchmark scripts share: the machine they ran on, and their result printed as
JSON (and saved with ``--json FILE``)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path


def machine() -> dict[str, object]:
    """The machine and its load: the figures of a run mean nothing without them."""
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "load_average": os.getloadavg(),
    }


def emit(result: dict, path: Path | None) -> None:
    """Print ``result`` as indented JSON; also write it to ``path`` when given."""
    text = json.dumps(result, indent=2)
    print(text)
    if path:
        path.write_text(text + "\n")


def start_on_free_port(
    command: Callable[[int], list[str]], probe: str, what: str
) -> tuple[subprocess.Popen, str]:
    """``command(port)`` started in its own process on a free port of 127.0.0.1, once a
    GET of ``probe`` (a path) answers 2xx: the process and its base URL. ``SystemExit``
    naming ``what`` when it does not within 30 s (the process is killed)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from standins.serving import first_answer, free_port

    port = free_port()
    process = subprocess.Popen(command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        first_answer(f"{url}{probe}", process, 30).raise_for_status()
    except Exception as exc:
        process.kill()
        raise SystemExit(f"{what} did not answer: {exc}") from None
    return process, url
