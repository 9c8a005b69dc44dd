"""The web benchmarks' baseline: a static twin of the server, serving from memory the same
bytes minerwatch answered for a fixed set of paths, through the same uvicorn, so that the
ratio of the two says what minerwatch's own work costs over the HTTP stack and the browser.

``snapshot(url, paths)`` fetches the paths from the running server (the Now page's local
scripts and styles are added to them), and ``python bench/static_twin.py --port P
--snapshot FILE`` serves such a snapshot (a JSON file: path -> content type and base64
body) as a bare ASGI application: a dictionary lookup per request, nothing else.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import subprocess
import sys
from pathlib import Path

_LOCAL_ASSET = re.compile(r"""(?:src|href)="(/static/[^"]+)\"""")


def snapshot(url: str, paths: list[str]) -> dict[str, dict[str, str]]:
    """The server's answers to ``paths`` (and to the local assets the HTML ones name):
    path -> ``{"type": content type, "body": base64}``."""
    import httpx

    out: dict[str, dict[str, str]] = {}
    todo = list(paths)
    while todo:
        path = todo.pop(0)
        if path in out:
            continue
        response = httpx.get(url + path, timeout=30)
        response.raise_for_status()
        kind = response.headers.get("content-type", "application/octet-stream")
        out[path] = {"type": kind, "body": base64.b64encode(response.content).decode()}
        if kind.startswith("text/html"):
            todo += [p for p in _LOCAL_ASSET.findall(response.text) if p not in out]
    return out


def start(snap: dict[str, dict[str, str]], folder: Path) -> tuple[subprocess.Popen, str]:
    """The twin in its own process on a free port of 127.0.0.1, answering."""
    from report import start_on_free_port  # bench/report.py (bench/ is on the path)

    file = folder / "twin.json"
    file.write_text(json.dumps(snap))
    return start_on_free_port(
        lambda port: [sys.executable, __file__, "--port", str(port), "--snapshot", str(file)],
        next(iter(snap)),
        "the static twin",
    )


def _app(snap: dict[str, dict[str, str]]):
    answers = {
        path: (entry["type"].encode(), base64.b64decode(entry["body"]))
        for path, entry in snap.items()
    }

    async def app(scope, receive, send):  # the least an ASGI server can be asked to do
        if scope["type"] != "http":
            return
        path = scope["path"] + (
            "?" + scope["query_string"].decode() if scope["query_string"] else ""
        )
        kind, body = answers.get(path, (b"text/plain", b"not found"))
        status = 200 if path in answers else 404
        headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--snapshot", type=Path, required=True)
    args = parser.parse_args()
    snap = json.loads(args.snapshot.read_text())
    uvicorn.run(_app(snap), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
