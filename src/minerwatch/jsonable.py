"""Numbers for JSON: the one place that turns a missing value into ``None``."""

from __future__ import annotations

import math
from typing import Any


def num(x: Any) -> float | None:
    """``x`` as a float, or None where it is None, NaN or infinite (a missing value)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None
