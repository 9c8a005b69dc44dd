"""Miner revenue, fee share, hashprice and the Puell multiple.

Units: BTC amounts enter as integer satoshis; results are BTC or USD as named.
"""

from __future__ import annotations

from typing import overload

import numpy as np

from minerwatch.chain.consensus import HASHES_PER_DIFFICULTY
from minerwatch.metrics.rolling import trailing_mean, trailing_sum
from minerwatch.units import HS_PER_EHS, HS_PER_PHS, SAT_PER_BTC, SECONDS_PER_DAY

PUELL_WINDOW_DAYS = 365


def revenue_btc(issuance_sat: np.ndarray, fees_sat: np.ndarray) -> np.ndarray:
    """Miner revenue of each day in BTC: ``(subsidy + fees) / 1e8``."""
    return np.asarray((np.asarray(issuance_sat, np.float64) + fees_sat) / SAT_PER_BTC, np.float64)


def fee_share_pct(
    fees_sat: np.ndarray, issuance_sat: np.ndarray, window_days: int = 7
) -> np.ndarray:
    """Fees as a percent of miner revenue over the trailing window:
    ``100 * sum(fees) / sum(subsidy + fees)``."""
    fees = trailing_sum(np.asarray(fees_sat, np.float64), window_days)
    total = trailing_sum(np.asarray(issuance_sat, np.float64) + fees_sat, window_days)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 100.0 * fees / total, np.nan)


def hashprice_btc_ph_day(
    subsidy_sat_per_block: np.ndarray,
    fees_sat_per_block: np.ndarray,
    difficulty: np.ndarray,
) -> np.ndarray:
    """Expected revenue of 1 PH/s for one day, BTC (Luxor's hashprice).

    ``hashprice = (subsidy + fees per block) * 86400 * 1e15 / (D * 2**32)``: one PH/s finds
    ``86400 * 1e15 / (D * 2**32)`` blocks per day on average.

    References: Luxor Technology, *Hashrate Index: hashprice* methodology (fees as a
    trailing 144-block mean).
    """
    reward_btc = (np.asarray(subsidy_sat_per_block, np.float64) + fees_sat_per_block) / SAT_PER_BTC
    work_per_block = np.asarray(difficulty, np.float64) * HASHES_PER_DIFFICULTY
    return np.asarray(reward_btc * SECONDS_PER_DAY * HS_PER_PHS / work_per_block, np.float64)


# Units hashprice can be stated in, largest first: name -> size in PH/s. Luxor's is PH/s.
HASHPRICE_UNITS = {
    "PH/s": 1.0,
    "TH/s": 1e-3,
    "GH/s": 1e-6,
    "MH/s": 1e-9,
    "kH/s": 1e-12,
    "H/s": 1e-15,
}


def hashprice_unit(network_hashrate_ehs: float | np.ndarray) -> str:
    """The unit to state hashprice in: Luxor's PH/s, or, while the network's hashrate was
    below 1 PH/s, the largest unit it reached (TH/s, GH/s, ...).

    Hashprice is the expected revenue of one unit of hashrate for a day; a unit larger than
    the whole network would "earn" more than every miner together (1,613,501,939 BTC per
    PH/s per day on 2010-09-01, when the network ran 5 GH/s and earned 7,850 BTC), so the
    figure is stated per a unit the network did reach. For an array (a chart's window) the
    smallest finite positive hashrate decides; without one, PH/s.

    Parameters
    ----------
    network_hashrate_ehs : float or ndarray
        Network hashrate, EH/s (the 7-day mean in the brief and the report).

    Returns
    -------
    str
        A key of :data:`HASHPRICE_UNITS`.
    """
    h = np.asarray(network_hashrate_ehs, np.float64).ravel()
    h = h[np.isfinite(h) & (h > 0)]
    if h.size == 0:
        return "PH/s"
    hs = float(h.min()) * HS_PER_EHS
    for unit, size_ph in HASHPRICE_UNITS.items():
        if hs >= size_ph * HS_PER_PHS:
            return unit
    return "H/s"


@overload
def hashprice_in(hashprice_ph_day: None, unit: str) -> None: ...
@overload
def hashprice_in(hashprice_ph_day: float, unit: str) -> float: ...
@overload
def hashprice_in(hashprice_ph_day: np.ndarray, unit: str) -> np.ndarray: ...
def hashprice_in(
    hashprice_ph_day: float | np.ndarray | None, unit: str
) -> float | np.ndarray | None:
    """Hashprice per ``unit`` per day from hashprice per PH/s per day (BTC or USD alike):
    ``hashprice_ph_day * size``, with ``size`` the unit in PH/s (:data:`HASHPRICE_UNITS`;
    1e-3 for TH/s). A unit change only; None stays None.

    Raises :class:`KeyError` for a unit not in :data:`HASHPRICE_UNITS`.
    """
    size = HASHPRICE_UNITS[unit]
    if hashprice_ph_day is None:
        return None
    if np.ndim(hashprice_ph_day) == 0:
        return float(hashprice_ph_day) * size
    return np.asarray(hashprice_ph_day, np.float64) * size


def hashprice_realised_usd_ph_day(revenue_usd: np.ndarray, hashrate_hs: np.ndarray) -> np.ndarray:
    """Realised hashprice: what miners earned per PH/s that day,
    ``revenue_usd / (hashrate / 1e15)``. With the day's own block-count hashrate this
    equals the difficulty-based figure; with a smoothed hashrate it carries the day's luck.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(revenue_usd, np.float64) / (np.asarray(hashrate_hs) / HS_PER_PHS)


def puell_multiple(issuance_usd: np.ndarray, window_days: int = PUELL_WINDOW_DAYS) -> np.ndarray:
    """Daily issuance value over its trailing ``window_days`` mean (Puell multiple).

    ``Puell = issuance_usd[t] / mean(issuance_usd[t-364 .. t])``; NaN until a whole window
    of priced days exists.

    Reference: D. Puell (2019), *The Puell Multiple*, via Glassnode's definition (subsidy
    only, fees excluded).
    """
    mean = trailing_mean(issuance_usd, window_days, min_count=window_days)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.asarray(issuance_usd, np.float64) / mean, np.float64)
