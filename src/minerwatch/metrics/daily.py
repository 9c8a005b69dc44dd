"""Every daily metric over a whole :class:`~minerwatch.frames.DailyFrame` at once.

Each column reads only rows at or before its own day, so the value for day ``t`` is the
same whether the frame ends at ``t`` or later (no look-ahead).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerwatch.chain.consensus import subsidy_sat_array
from minerwatch.frames import DailyFrame
from minerwatch.metrics import hashrate as hr
from minerwatch.metrics import market, revenue
from minerwatch.metrics.rolling import drawdown_pct, running_max
from minerwatch.units import SAT_PER_BTC

HASHRATE_WINDOWS_DAYS = (1, 7, 30, 60)
# The hashrate all-time high and drawdown are taken on this trailing mean: a single day's
# estimate is too noisy (~8% standard error) to mark a record.
HASHRATE_ATH_WINDOW_DAYS = 7
# The realised hashprice divides the day's revenue by this trailing mean hashrate.
REALISED_HASHPRICE_WINDOW_DAYS = 7
FEE_SHARE_WINDOW_DAYS = 7
BLOCK_INTERVAL_WINDOW_DAYS = 7


@dataclass(frozen=True)
class DailyMetrics:
    """Daily metric columns aligned with the frame's ``day``; units in the names.

    ``*_row`` columns hold the row index of the high (-1 before any value).
    """

    day: np.ndarray
    hashrate_hs: dict[int, np.ndarray]
    hashrate_ath_hs: np.ndarray
    hashrate_ath_row: np.ndarray
    hashrate_drawdown_pct: np.ndarray
    block_interval_min_7d: np.ndarray
    issuance_btc: np.ndarray
    fees_btc: np.ndarray
    revenue_btc: np.ndarray
    revenue_usd: np.ndarray
    issuance_usd: np.ndarray
    fees_usd: np.ndarray
    fees_share_pct_7d: np.ndarray
    hashprice_btc_ph_day: np.ndarray
    hashprice_usd_ph_day: np.ndarray
    hashprice_realised_usd_ph_day: np.ndarray
    puell_multiple: np.ndarray
    price_ath_usd: np.ndarray
    price_ath_row: np.ndarray
    price_drawdown_pct: np.ndarray
    price_change_7d_pct: np.ndarray
    price_change_30d_pct: np.ndarray


def next_block_subsidy_sat(frame: DailyFrame) -> np.ndarray:
    """Subsidy of the block after each day's last block (the reward being mined for at the
    day's end), satoshis; where heights are unknown, the day's mean issuance per block."""
    if frame.end_height[0] >= 0:
        return subsidy_sat_array(frame.end_height + 1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(frame.blocks > 0, frame.issuance_sat / frame.blocks, np.nan)


def compute_daily_metrics(frame: DailyFrame) -> DailyMetrics:
    """Compute every daily metric column of ``frame`` (vectorised, O(n)).

    Hashprice uses the difficulty of the day's last block, the next block's subsidy and the
    day's mean fees per block (standing in for Luxor's 144-block trailing mean; a day holds
    about 144 blocks). The realised hashprice is the day's revenue over the 7-day mean
    hashrate.
    """
    hashrates = {
        w: hr.hashrate_hs(frame.blocks, frame.difficulty_mean, w) for w in HASHRATE_WINDOWS_DAYS
    }
    ath_base = hashrates[HASHRATE_ATH_WINDOW_DAYS]
    hr_peak, hr_peak_row = running_max(ath_base)
    issuance_btc = frame.issuance_sat / SAT_PER_BTC
    fees_btc = frame.fees_sat / SAT_PER_BTC
    revenue_btc = revenue.revenue_btc(frame.issuance_sat, frame.fees_sat)
    revenue_usd = revenue_btc * frame.price_usd
    issuance_usd = issuance_btc * frame.price_usd
    with np.errstate(invalid="ignore", divide="ignore"):
        fees_per_block = np.where(frame.blocks > 0, frame.fees_sat / frame.blocks, np.nan)
    hashprice_btc = revenue.hashprice_btc_ph_day(
        next_block_subsidy_sat(frame), fees_per_block, frame.difficulty_last
    )
    price_peak, price_peak_row = market.price_ath(frame.price_usd)
    return DailyMetrics(
        day=frame.day,
        hashrate_hs=hashrates,
        hashrate_ath_hs=hr_peak,
        hashrate_ath_row=hr_peak_row,
        hashrate_drawdown_pct=drawdown_pct(ath_base, hr_peak),
        block_interval_min_7d=hr.block_interval_min(frame.blocks, BLOCK_INTERVAL_WINDOW_DAYS),
        issuance_btc=issuance_btc,
        fees_btc=fees_btc,
        revenue_btc=revenue_btc,
        revenue_usd=revenue_usd,
        issuance_usd=issuance_usd,
        fees_usd=fees_btc * frame.price_usd,
        fees_share_pct_7d=revenue.fee_share_pct(
            frame.fees_sat, frame.issuance_sat, FEE_SHARE_WINDOW_DAYS
        ),
        hashprice_btc_ph_day=hashprice_btc,
        hashprice_usd_ph_day=hashprice_btc * frame.price_usd,
        hashprice_realised_usd_ph_day=revenue.hashprice_realised_usd_ph_day(
            revenue_usd, hashrates[REALISED_HASHPRICE_WINDOW_DAYS]
        ),
        puell_multiple=revenue.puell_multiple(issuance_usd),
        price_ath_usd=price_peak,
        price_ath_row=price_peak_row,
        price_drawdown_pct=drawdown_pct(frame.price_usd, price_peak),
        price_change_7d_pct=market.price_change_pct(frame.price_usd, 7),
        price_change_30d_pct=market.price_change_pct(frame.price_usd, 30),
    )
