"""Price statistics: all-time high of the daily close, drawdown, trailing change."""

from __future__ import annotations

import numpy as np

from minerwatch.metrics.rolling import change_pct, running_max


def price_ath(price_usd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All-time high daily close up to each day (USD) and the row where it was set."""
    return running_max(price_usd)


def price_change_pct(price_usd: np.ndarray, days: int) -> np.ndarray:
    """Percent change of the close over ``days`` days."""
    return change_pct(price_usd, days)
