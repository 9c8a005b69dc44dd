"""Which machines count on a day, and how many of them cover their power: the one rule
behind every machine count ("profitable: N of M machines" in ``minerwatch cost`` and
``minerwatch asics``).

**In service** on day ``d``: a machine with a release month ``r`` counts from the month
after it (release months have month resolution, so no machine counts before its launch)
for ``lifetime_years``: ``1 <= month(d) - r <= 12 * lifetime_years``. The default service
life is 5 years, CBECI's ("hardware released within the past five years"). A machine
without a release month (a user's own, undated) has no vintage to place in time and is not
in service on any day.

**Profitable** at a hashprice ``h`` (USD per PH/s per day), an electricity price ``c``
(USD/kWh) and a pool fee ``f`` (%): its efficiency ``e`` (J/TH) is at most the threshold
``h / 1000 * (1 - f/100) / (0.024 * c)``, the efficiency at which revenue equals the power
cost (:func:`threshold_efficiency_j_th`). Uptime scales revenue and power cost alike and
does not enter.

The hashprice and fee are the caller's: ``cost`` uses CBECI's 14-day mean hashprice and no
fee, ``asics`` the day's hashprice and its pool fee; each names them beside the count.
Pure and vectorised: days x machines at once by broadcasting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from minerwatch import params
from minerwatch.models.asics import breakeven_power_price_usd_kwh

#: Years a machine stays in service after its release month (CBECI's five years).
DEFAULT_LIFETIME_YEARS = 5


def in_service(
    day: ArrayLike, release_month: ArrayLike, lifetime_years: float = DEFAULT_LIFETIME_YEARS
) -> np.ndarray:
    """Mask of the machines in service on each day (the rule in the module docstring).

    ``day``: a date or an array of ``datetime64[D]``; ``release_month``: one
    ``datetime64[M]`` per machine (NaT: undated). Returns ``days x machines`` booleans, or
    one per machine for a single day. :class:`InputError` for a lifetime that is not > 0.
    """
    params.LIFETIME_YEARS.check(lifetime_years, "lifetime_years")
    months = np.asarray(day, "datetime64[D]").astype("datetime64[M]")
    released = np.asarray(release_month, "datetime64[M]")
    age = (months[..., None] - released).astype(np.int64)
    return np.asarray(~np.isnat(released) & (age >= 1) & (age <= lifetime_years * 12))


def threshold_efficiency_j_th(
    hashprice_usd_ph_day: ArrayLike, power_price_usd_kwh: float, pool_fee_pct: float = 0.0
) -> np.ndarray:
    """Least efficient machine that still covers its power, J/TH:
    ``h / 1000 * (1 - f/100) / (0.024 * c)``.

    The relation of :func:`minerwatch.models.asics.breakeven_power_price_usd_kwh`
    (``c = h / 1000 * (1 - f/100) / (0.024 * e)``) solved for ``e``; it is symmetric in
    ``e`` and ``c``, so it is computed by that function with their roles swapped. NaN where
    the hashprice is NaN; infinite for a power price so small that the quotient overflows
    (every machine covers its power).
    """
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return breakeven_power_price_usd_kwh(
            hashprice_usd_ph_day, power_price_usd_kwh, pool_fee_pct=pool_fee_pct
        )


def profitable(efficiency_j_th: ArrayLike, threshold_j_th: ArrayLike) -> np.ndarray:
    """Mask of the machines at or below the threshold efficiency (False where it is NaN)."""
    return np.less_equal(np.asarray(efficiency_j_th, np.float64), threshold_j_th)


@dataclass(frozen=True)
class FleetCount:
    """The machines of a day: ``in_service`` and ``profitable`` masks (``days x machines``,
    or one per machine for a single day) and their counts ``machines`` and
    ``machines_profitable`` (per day, or ints)."""

    in_service: np.ndarray
    profitable: np.ndarray

    @property
    def machines(self) -> np.ndarray:
        return np.asarray(self.in_service.sum(axis=-1))

    @property
    def machines_profitable(self) -> np.ndarray:
        return np.asarray(self.profitable.sum(axis=-1))


def fleet_count(
    day: ArrayLike,
    efficiency_j_th: ArrayLike,
    release_month: ArrayLike,
    threshold_j_th: ArrayLike,
    lifetime_years: float = DEFAULT_LIFETIME_YEARS,
) -> FleetCount:
    """The machines in service on each day (and of a known efficiency) and those of them
    that are profitable at the day's threshold efficiency (:func:`threshold_efficiency_j_th`;
    one per day)."""
    eff = np.asarray(efficiency_j_th, np.float64)
    counted = in_service(day, release_month, lifetime_years) & np.isfinite(eff)
    threshold = np.asarray(threshold_j_th, np.float64)[..., None]
    return FleetCount(counted, counted & profitable(eff, threshold))
