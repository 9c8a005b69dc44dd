"""Checks of a database's own consistency, for tests that write blocks."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from minerwatch.blockdays import DaySums
from minerwatch.store import open_store


def assert_day_sums_kept(db) -> int:
    """The day sums the writers keep (``block_day_sums``, refreshed from the first day each
    write touches) equal the sums of every stored block made from scratch; returns the
    number of days."""
    with open_store(db, read_only=True) as store:
        kept = store.read_day_sums(np.datetime64("2200-01-01"))
        fresh = store.sum_block_days()
    for name in DaySums.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(kept, name), getattr(fresh, name), err_msg=name)
    return len(kept)


_HOLD = (
    "import sys, minerwatch\n"
    "with minerwatch.open_store(sys.argv[1]):\n"
    "    print('holding', flush=True)\n"
    "    sys.stdin.read()\n"
)


@contextmanager
def store_held(db) -> Iterator[subprocess.Popen]:
    """Another process holds the database open for writing (as a sync's commit or an
    import's transaction does) until its stdin closes: at the latest when the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        yield holder
    finally:
        if holder.stdin is not None and not holder.stdin.closed:
            holder.stdin.close()
        holder.wait(timeout=60)
