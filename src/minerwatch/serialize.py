"""Numbers for JSON: the one place that turns a missing value into ``None``."""

from __future__ import annotations

import math
from typing import Any


def num(x: Any, digits: int | None = None) -> float | None:
    """``x`` as a float, or None where it is None, NaN or infinite (a missing value);
    rounded to ``digits`` decimals when given."""
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    return x if digits is None else round(x, digits)


def finite_values(row: dict) -> dict:
    """``row`` with every float passed through :func:`num` (NaN and infinities as None)."""
    return {k: num(v) if isinstance(v, float) else v for k, v in row.items()}
