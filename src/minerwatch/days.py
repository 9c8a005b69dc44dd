"""UTC days: parsing a user's date, today's date and the current moment."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from typing import Any, cast

import numpy as np

from minerwatch.errors import InputError
from minerwatch.units import SECONDS_PER_DAY

DayLike = str | date | np.datetime64 | None


def as_day(value: np.datetime64 | date | str) -> np.datetime64:
    """``value`` as ``datetime64[D]`` (numpy's stubs type this conversion too narrowly)."""
    return np.datetime64(cast(Any, value), "D")


def days_in_month(day: np.ndarray) -> np.ndarray:
    """Days of the calendar month each ``datetime64`` (a day or a month) falls in, as
    floats (28 to 31)."""
    month = np.asarray(day).astype("datetime64[M]")
    return np.asarray(
        ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(float)
    )


def day_end_s(day: np.ndarray | np.datetime64) -> np.ndarray:
    """Unix seconds at the end of each UTC ``day`` (00:00 UTC of the next day), int64."""
    since_1970 = np.asarray(day, "datetime64[D]") + 1 - np.datetime64("1970-01-01", "D")
    return since_1970.astype(np.int64) * SECONDS_PER_DAY


def utc_today() -> np.datetime64:
    """Today's UTC day."""
    return np.datetime64(datetime.now(UTC).date(), "D")


#: Environment variable that sets "now" (what the current UTC day is, for the provisional
#: flags): unix seconds or an ISO-8601 UTC time (``2025-10-06T12:00:00Z``, ``2025-10-06``).
NOW_ENV = "MINERWATCH_NOW"


def utc_now_s() -> int:
    """The current moment, unix seconds: ``$MINERWATCH_NOW`` when set (tests and
    reproductions set it), else the system clock. :class:`InputError` naming the variable
    when it is malformed."""
    text = os.environ.get(NOW_ENV, "").strip()
    if not text:
        return int(datetime.now(UTC).timestamp())
    try:
        if text.lstrip("-").isdigit():
            return int(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp())
    except ValueError:
        raise InputError(
            f"{NOW_ENV} {text!r} is not a moment; expected unix seconds or an ISO-8601 UTC "
            "time such as 2025-10-06T12:00:00Z",
            parameter=NOW_ENV,
        ) from None


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
