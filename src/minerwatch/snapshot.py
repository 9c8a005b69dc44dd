"""The one-screen miner-economics snapshot of a day (``minerwatch status``).

Every figure here is read from :func:`~minerwatch.metrics.daily.compute_daily_metrics` at
the ``as_of`` row; this module only selects and names them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .frames import DailyFrame
from .metrics.daily import HASHRATE_ATH_WINDOW_DAYS, DailyMetrics, compute_daily_metrics
from .metrics.hashrate import ESTIMATOR
from .production import production_cost
from .units import HS_PER_EHS

HASHRATE_KEYS = {1: "1d", 7: "7d", 30: "30d", 60: "60d"}


def _num(x) -> float | None:
    """A float for JSON, None for NaN/inf (missing)."""
    x = float(x)
    return x if math.isfinite(x) else None


def _day(frame: DailyFrame, row: int) -> str | None:
    return str(frame.day[row]) if row >= 0 else None


@dataclass(frozen=True)
class Status:
    """Miner-economics snapshot of one day. Units are in the field names; see
    ``docs/status.md`` for every field's definition and source."""

    as_of: str
    data_through: str
    height: int | None
    blocks_1d: int
    price_usd: float | None
    price_source: str | None
    price_ath_usd: float | None
    price_ath_date: str | None
    price_drawdown_pct: float | None
    price_change_7d_pct: float | None
    price_change_30d_pct: float | None
    hashrate_ehs: dict[str, float | None]
    hashrate_method: str
    hashrate_ath_ehs: float | None
    hashrate_ath_date: str | None
    hashrate_ath_window: str
    hashrate_drawdown_pct: float | None
    block_interval_min_7d: float | None
    difficulty: float | None
    difficulty_method: str
    revenue_usd_1d: float | None
    revenue_btc_1d: float | None
    subsidy_btc_1d: float
    fees_btc_1d: float
    fees_share_pct_7d: float | None
    hashprice_usd_ph_day: float | None
    hashprice_btc_ph_day: float | None
    hashprice_realised_usd_ph_day: float | None
    puell_multiple: float | None
    production_cost_usd: float | None
    production_cost_model: str
    price_to_cost_pct: float | None
    production_cost_models: dict[str, float | None]

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (missing values are None)."""
        return asdict(self)


DIFFICULTY_METHODS = {
    True: "epochs table: exact difficulty of the day's last block",
    False: "day mean recovered from Coin Metrics HashRate (load epochs for the exact value)",
}


def status_from_frame(
    frame: DailyFrame,
    as_of: np.datetime64 | None = None,
    metrics: DailyMetrics | None = None,
    *,
    data_through: np.datetime64 | None = None,
) -> Status:
    """The snapshot at ``as_of`` (default: the frame's last day) from a daily frame.

    ``data_through`` is the last day the database holds (default: the frame's last day).
    """
    row = len(frame) - 1 if as_of is None else frame.index_of(as_of)
    m = metrics if metrics is not None else compute_daily_metrics(frame)
    cost = production_cost(frame, frame.day[row])
    price = _num(frame.price_usd[row])
    height = int(frame.end_height[row])
    return Status(
        as_of=str(frame.day[row]),
        data_through=str(frame.day[-1] if data_through is None else data_through),
        height=height if height >= 0 else None,
        blocks_1d=int(frame.blocks[row]),
        price_usd=price,
        price_source=str(frame.price_source[row]) or None,
        price_ath_usd=_num(m.price_ath_usd[row]),
        price_ath_date=_day(frame, int(m.price_ath_row[row])),
        price_drawdown_pct=_num(m.price_drawdown_pct[row]),
        price_change_7d_pct=_num(m.price_change_7d_pct[row]),
        price_change_30d_pct=_num(m.price_change_30d_pct[row]),
        hashrate_ehs={
            key: _num(m.hashrate_hs[w][row] / HS_PER_EHS) for w, key in HASHRATE_KEYS.items()
        },
        hashrate_method=ESTIMATOR,
        hashrate_ath_ehs=_num(m.hashrate_ath_hs[row] / HS_PER_EHS),
        hashrate_ath_date=_day(frame, int(m.hashrate_ath_row[row])),
        hashrate_ath_window=HASHRATE_KEYS[HASHRATE_ATH_WINDOW_DAYS],
        hashrate_drawdown_pct=_num(m.hashrate_drawdown_pct[row]),
        block_interval_min_7d=_num(m.block_interval_min_7d[row]),
        difficulty=_num(frame.difficulty_last[row]),
        difficulty_method=DIFFICULTY_METHODS[bool(frame.difficulty_exact[row])],
        revenue_usd_1d=_num(m.revenue_usd[row]),
        revenue_btc_1d=_num(m.revenue_btc[row]),
        subsidy_btc_1d=float(m.issuance_btc[row]),
        fees_btc_1d=float(m.fees_btc[row]),
        fees_share_pct_7d=_num(m.fees_share_pct_7d[row]),
        hashprice_usd_ph_day=_num(m.hashprice_usd_ph_day[row]),
        hashprice_btc_ph_day=_num(m.hashprice_btc_ph_day[row]),
        hashprice_realised_usd_ph_day=_num(m.hashprice_realised_usd_ph_day[row]),
        puell_multiple=_num(m.puell_multiple[row]),
        production_cost_usd=cost.cost_usd,
        production_cost_model=cost.model,
        price_to_cost_pct=cost.price_to_cost_pct,
        production_cost_models=cost.costs_usd(),
    )
