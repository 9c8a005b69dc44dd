"""What the benchmark scripts share: the machine they ran on, and their result printed as
JSON (and saved with ``--json FILE``)."""

from __future__ import annotations

import json
import os
import platform
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
