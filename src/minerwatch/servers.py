"""Which running ``minerwatch serve`` serves a database: a small file per server in the
user's runtime folder, so that another command that finds the database busy can name the
server's URL instead of reporting a lock.

While it runs, ``minerwatch serve`` keeps ``<runtime dir>/servers/<key>.json`` with its URL,
process id, database path and whether it holds the database for the whole run (``serve
--watch``, whose follower writes to it: a command then learns at once that it must wait for
the server to stop, instead of waiting for a lock that is not released); ``key`` is the
first 16 hex digits of the SHA-256 of the database's resolved path. It deletes the file when
it stops. The runtime folder is ``$MINERWATCH_RUNTIME_DIR``, else platformdirs'
``user_runtime_dir("minerwatch")`` (on Linux ``/run/user/UID/minerwatch``), else a
``minerwatch-runtime`` folder in the system's temporary folder. The file holds no
credential (a token is never written). An entry whose process is gone (a server killed
without cleaning up) is ignored and removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServerEntry:
    """A running server of a database: its URL, process id, database path and whether it
    ``holds`` the database open for writing while it runs."""

    url: str
    pid: int
    db: str
    holds: bool = False


def _runtime_dir() -> Path:
    env = os.environ.get("MINERWATCH_RUNTIME_DIR")
    if env:
        return Path(env).expanduser()
    try:
        from platformdirs import user_runtime_dir

        with warnings.catch_warnings():  # no XDG_RUNTIME_DIR: its own fallback, said quietly
            warnings.simplefilter("ignore")
            folder = Path(user_runtime_dir("minerwatch", appauthor=False))
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    except OSError:  # no per-user runtime folder here (a container without /run/user)
        return Path(tempfile.gettempdir()) / "minerwatch-runtime"


def _entry_path(db: Path) -> Path:
    key = hashlib.sha256(str(Path(db).resolve()).encode()).hexdigest()[:16]
    return _runtime_dir() / "servers" / f"{key}.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    except OSError:
        return False
    return True


def server_for(db: Path) -> ServerEntry | None:
    """The running server of the database ``db``, or None (no entry, an unreadable one, or
    one whose process has ended)."""
    path = _entry_path(db)
    try:
        entry = ServerEntry(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if not _alive(entry.pid):
        path.unlink(missing_ok=True)
        return None
    return entry


@contextmanager
def registered(db: Path, url: str, *, holds: bool = False) -> Iterator[None]:
    """Keep this process's entry as the server of ``db`` at ``url`` (which ``holds`` the
    database for the whole block, or opens it per request) for the block (none, silently,
    where the runtime folder cannot be written: only the busy message loses)."""
    path = _entry_path(db)
    written = False
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {"url": url, "pid": os.getpid(), "db": str(Path(db).resolve()), "holds": holds}
        path.write_text(json.dumps(body))
        written = True
    try:
        yield
    finally:
        if written:
            path.unlink(missing_ok=True)
