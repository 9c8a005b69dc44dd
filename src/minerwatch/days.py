"""UTC days: parsing a user's date and today's date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, cast

import numpy as np

from minerwatch.errors import InputError

DayLike = str | date | np.datetime64 | None


def as_day(value: np.datetime64 | date | str) -> np.datetime64:
    """``value`` as ``datetime64[D]`` (numpy's stubs type this conversion too narrowly)."""
    return np.datetime64(cast(Any, value), "D")


def utc_today() -> np.datetime64:
    """Today's UTC day."""
    return np.datetime64(datetime.now(UTC).date(), "D")


def parse_day(value: DayLike, parameter: str = "as_of") -> np.datetime64 | None:
    """A day given as ``YYYY-MM-DD`` text, a date or a datetime64, as ``datetime64[D]``
    (None stays None); :class:`InputError` naming ``parameter`` when malformed."""
    if value is None:
        return None
    if isinstance(value, np.datetime64 | date):
        return as_day(value)
    text = str(value).strip()
    try:
        if len(text) != 10:
            raise ValueError
        return np.datetime64(text, "D")
    except ValueError:
        raise InputError(
            f"{parameter} {value!r} is not a date; expected YYYY-MM-DD", parameter=parameter
        ) from None
