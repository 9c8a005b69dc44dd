"""The accepted range of every user-set quantity, checked in one place.

Each quantity (an electricity price, a pool fee, a merge gap, ...) has one range, whichever
function or command takes it: ``minerwatch cost`` and ``minerwatch asics`` accept the same
electricity prices. A value out of range is an :class:`~minerwatch.errors.InputError` whose
message begins with the library parameter's name and whose ``parameter`` attribute holds
it, so the CLI can name its own option (``--power-price``) instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from minerwatch.errors import InputError


@dataclass(frozen=True)
class Quantity:
    """A range of accepted values: ``low``/``high`` bounds (None: unbounded), each open or
    closed; ``whole``: a whole number (bools refused). ``what`` and ``unit`` describe it in
    messages."""

    what: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    whole: bool = False

    def expected(self) -> str:
        """The range in words, e.g. "a price in USD/kWh > 0 and < 10"."""
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {self.high:g}")
        unit = f" in {self.unit}" if self.unit else ""
        return f"{self.what}{unit} {' and '.join(parts)}".rstrip()

    def contains(self, x: float) -> bool:
        if not math.isfinite(x):
            return False
        if self.low is not None and (x <= self.low if self.low_open else x < self.low):
            return False
        return not (self.high is not None and (x >= self.high if self.high_open else x > self.high))

    def check(self, value: Any, parameter: str) -> Any:
        """``value`` as a float (an int for a whole quantity) when in range; otherwise an
        :class:`InputError` naming ``parameter``."""
        if self.whole:
            ok = isinstance(value, int) and not isinstance(value, bool)
            if not ok and hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu":
                ok, value = True, int(value)  # a NumPy integer
            if not ok:
                raise InputError(
                    f"{parameter} {value!r} is not a whole number; expected {self.expected()}",
                    parameter=parameter,
                )
            x: float = int(value)
        else:
            try:
                x = float(value)
            except (TypeError, ValueError):
                raise InputError(
                    f"{parameter} {value!r} is not a number; expected {self.expected()}",
                    parameter=parameter,
                ) from None
        if not self.contains(x):
            shown = f"{x:g}" if isinstance(x, float) else str(x)
            raise InputError(
                f"{parameter} {shown} is out of range; expected {self.expected()}",
                parameter=parameter,
            )
        return x


# Electricity price miners pay (minerwatch cost and minerwatch asics alike). The upper
# bound only catches a price given in cents or per MWh by mistake: retail power is well
# under 1 USD/kWh everywhere.
ELECTRICITY_PRICE_USD_KWH = Quantity(
    "a price", "USD/kWh", low=0.0, high=10.0, low_open=True, high_open=True
)
POOL_FEE_PCT = Quantity("a percentage", low=0.0, high=100.0)
UPTIME_PCT = Quantity("a percentage", low=0.0, high=100.0, low_open=True)
# Electricity's share of a miner's total cost (Capriole's all-in cost divides by it).
ELECTRICITY_SHARE = Quantity("a share", low=0.0, high=1.0, low_open=True)
LIFETIME_YEARS = Quantity("a number of years", low=0.0, low_open=True)
EFFICIENCY_J_TH = Quantity("an efficiency", "J/TH", low=0.0, low_open=True)
# Power usage effectiveness of a facility: total power over the machines' power.
PUE = Quantity("a power usage effectiveness", low=1.0)
SMOOTHING_DAYS = Quantity("a whole number of days", low=1, whole=True)
# Windows, lookbacks and horizons of the signals and studies, days.
DAYS = Quantity("a whole number of days", low=1, whole=True)
# A window ranking a day among others needs the day and at least one more.
RANK_WINDOW_DAYS = Quantity("a whole number of days", low=2, whole=True)
MONTHS = Quantity("a whole number of months", low=1, whole=True)
# A share of something in percent, strictly between nothing and all of it.
OPEN_PERCENTAGE = Quantity("a percentage", low=0.0, high=100.0, low_open=True, high_open=True)
# A fall in percent: below 0, above -100.
FALL_PCT = Quantity("a negative percentage", low=-100.0, high=0.0, low_open=True, high_open=True)
BOOTSTRAP_SAMPLES = Quantity("a whole number of resamples", low=10, whole=True)
SEED = Quantity("a whole number", low=0, whole=True)
RUNS = Quantity("a whole number of runs", low=1, high=1_000_000, whole=True)
# Coverage of an interval.
PROBABILITY = Quantity("a probability", low=0.0, high=1.0, low_open=True, high_open=True)
DRM_MIN_FIT_DAYS = Quantity("a whole number of days", low=2, whole=True)
MERGE_GAP_DAYS = Quantity("a whole number of days", low=0, whole=True)
MIN_EPISODE_DAYS = Quantity("a whole number of days", low=1, whole=True)
HORIZON_DAYS = Quantity("a whole number of days", low=1, whole=True)


def check(quantity: Quantity, value, parameter: str):
    """``quantity.check(value, parameter)``: the value when in range, else
    :class:`InputError` naming ``parameter``."""
    return quantity.check(value, parameter)


def check_each(quantity: Quantity, values, parameter: str) -> tuple:
    """Every value of ``values`` (one value alone counts as one) checked by ``quantity``,
    as a tuple; :class:`InputError` naming ``parameter`` for an empty or bad one."""
    if isinstance(values, str) or not hasattr(values, "__iter__"):
        values = (values,)
    checked = tuple(quantity.check(v, parameter) for v in values)
    if not checked:
        raise InputError(
            f"{parameter} is empty; expected one or more of {quantity.expected()}",
            parameter=parameter,
        )
    return checked


def check_at_least(value: float, floor: float, parameter: str, floor_name: str) -> None:
    """:class:`InputError` naming ``parameter`` unless ``value >= floor`` (another
    parameter's value, named ``floor_name``)."""
    if value < floor:
        raise InputError(
            f"{parameter} {value:g} is out of range; expected at least {floor_name} ({floor:g})",
            parameter=parameter,
        )


def check_greater(value: float, floor: float, parameter: str, floor_name: str) -> None:
    """:class:`InputError` naming ``parameter`` unless ``value > floor`` (another
    parameter's value, named ``floor_name``)."""
    if not value > floor:
        raise InputError(
            f"{parameter} {value:g} is out of range; expected more than {floor_name} ({floor:g})",
            parameter=parameter,
        )
