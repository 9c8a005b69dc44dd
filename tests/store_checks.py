"""Checks of a database's own consistency, for tests that write blocks."""

from __future__ import annotations

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
