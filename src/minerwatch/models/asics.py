"""Per-machine economics: revenue, power cost, breakeven electricity price and shutdown BTC
price of each SHA-256 mining machine.

The machines come from the catalog (:mod:`minerwatch.sources.catalog`). The economics are
pure, vectorised functions: each argument may be a scalar or an array (per machine and/or
per day) and broadcasts like NumPy.

Units are in the names: hashprice in USD or BTC per PH/s per day (Luxor's unit), hashrate in
TH/s, power in W, efficiency in J/TH (= W per TH/s), electricity in USD/kWh, money per day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from minerwatch import params
from minerwatch.serialize import Columns
from minerwatch.sources.catalog import Catalog
from minerwatch.units import HOURS_PER_DAY, KWH_PER_W_DAY, THS_PER_PHS, W_PER_KW

# Defaults, each with its source.
# Electricity price: the Cambridge Bitcoin Electricity Consumption Index (CBECI) assumes
# miners pay on average 0.05 USD/kWh (CCAF, CBECI methodology).
DEFAULT_POWER_PRICE_USD_KWH = 0.05
# Pool fee: the usual full-pay-per-share (FPPS) fee of the large pools is 2% or a little
# more (e.g. Foundry USA, AntPool, ViaBTC FPPS schedules).
DEFAULT_POOL_FEE_PCT = 2.0
# Uptime: share of the day a machine hashes (curtailment, maintenance, failures); 97% is a
# common planning figure of hosting contracts. It scales revenue and power cost alike.
DEFAULT_UPTIME_PCT = 97.0


def check_parameters(power_price_usd_kwh: float, pool_fee_pct: float, uptime_pct: float) -> None:
    """:class:`InputError` naming the parameter when one is out of range (the ranges of
    :mod:`minerwatch.params`: power price > 0 and < 10 USD/kWh, pool fee 0..100 %, uptime in
    (0, 100] %). Non-finite values are refused."""
    params.ELECTRICITY_PRICE_USD_KWH.check(power_price_usd_kwh, "power_price_usd_kwh")
    params.POOL_FEE_PCT.check(pool_fee_pct, "pool_fee_pct")
    params.UPTIME_PCT.check(uptime_pct, "uptime_pct")


def _floats(x: object) -> np.ndarray:
    return np.asarray(x, np.float64)


def _fraction(pct: ArrayLike) -> np.ndarray:
    return np.asarray(pct, np.float64) / 100.0


def revenue_usd_day(
    hashprice_usd_ph_day: ArrayLike,
    hashrate_ths: ArrayLike,
    pool_fee_pct: ArrayLike = DEFAULT_POOL_FEE_PCT,
    uptime_pct: ArrayLike = DEFAULT_UPTIME_PCT,
) -> np.ndarray:
    """Expected daily revenue of a machine after the pool fee, USD/day.

    ``revenue = hashprice / 1000 * TH/s * (1 - fee/100) * uptime/100``

    Parameters
    ----------
    hashprice_usd_ph_day : array_like
        Hashprice, USD per PH/s per day (1 PH/s = 1000 TH/s).
    hashrate_ths : array_like
        Machine hashrate, TH/s.
    pool_fee_pct : array_like, default 2.0
        Pool fee, percent of revenue (typical FPPS fee).
    uptime_pct : array_like, default 97.0
        Share of the day the machine hashes, percent.

    Returns
    -------
    numpy.ndarray
        Revenue, USD per day (broadcast shape of the arguments).

    References
    ----------
    Luxor Technology, *Hashrate Index: hashprice* (definition of hashprice per PH/s per day).
    """
    return _earned_day(hashprice_usd_ph_day, hashrate_ths, pool_fee_pct, uptime_pct)


def revenue_btc_day(
    hashprice_btc_ph_day: ArrayLike,
    hashrate_ths: ArrayLike,
    pool_fee_pct: ArrayLike = DEFAULT_POOL_FEE_PCT,
    uptime_pct: ArrayLike = DEFAULT_UPTIME_PCT,
) -> np.ndarray:
    """Expected daily revenue of a machine after the pool fee, BTC/day:
    :func:`revenue_usd_day`'s formula with the hashprice in BTC per PH/s per day,
    ``hashprice_btc / 1000 * TH/s * (1 - fee/100) * uptime/100`` (what a pool pays on
    FPPS for a hashprice of subsidy and fees, on PPS for one of the subsidy alone)."""
    return _earned_day(hashprice_btc_ph_day, hashrate_ths, pool_fee_pct, uptime_pct)


def _earned_day(
    hashprice_ph_day: ArrayLike,
    hashrate_ths: ArrayLike,
    pool_fee_pct: ArrayLike,
    uptime_pct: ArrayLike,
) -> np.ndarray:
    return _floats(
        np.asarray(hashprice_ph_day, np.float64)
        / THS_PER_PHS
        * np.asarray(hashrate_ths, np.float64)
        * (1.0 - _fraction(pool_fee_pct))
        * _fraction(uptime_pct)
    )


def power_cost_usd_day(
    power_w: ArrayLike, power_price_usd_kwh: ArrayLike, uptime_pct: ArrayLike = DEFAULT_UPTIME_PCT
) -> np.ndarray:
    """Daily electricity cost of a machine, USD/day.

    ``cost = W / 1000 * 24 h * price * uptime/100``

    Parameters
    ----------
    power_w : array_like
        Power drawn at the wall, W.
    power_price_usd_kwh : array_like
        Electricity price, USD/kWh.
    uptime_pct : array_like, default 97.0
        Share of the day the machine runs, percent (idle machines are assumed off).

    Returns
    -------
    numpy.ndarray
        Power cost, USD per day.

    References
    ----------
    Definition (energy = power x time); CBECI methodology for the 0.05 USD/kWh default.
    """
    return _floats(
        energy_kwh_day(power_w, uptime_pct) * np.asarray(power_price_usd_kwh, np.float64)
    )


def energy_kwh_day(power_w: ArrayLike, uptime_pct: ArrayLike = DEFAULT_UPTIME_PCT) -> np.ndarray:
    """Energy a machine draws in a day, kWh: ``W / 1000 * 24 h * uptime/100`` (idle
    machines are assumed off)."""
    return _floats(
        np.asarray(power_w, np.float64) / W_PER_KW * HOURS_PER_DAY * _fraction(uptime_pct)
    )


def breakeven_power_price_usd_kwh(
    hashprice_usd_ph_day: ArrayLike,
    efficiency_j_th: ArrayLike,
    pool_fee_pct: ArrayLike = DEFAULT_POOL_FEE_PCT,
) -> np.ndarray:
    """Electricity price at which a machine's revenue equals its power cost, USD/kWh.

    ``c = hashprice / 1000 * (1 - fee/100) / (J/TH * 0.024)``

    One TH/s of a machine of ``e`` J/TH draws ``e * 0.024`` kWh a day and earns
    ``hashprice / 1000`` USD a day before the fee. Uptime scales revenue and power cost
    alike, so it cancels and is not a parameter; the pool fee reduces revenue only, so it
    lowers the breakeven price (with ``pool_fee_pct=0`` this is design.md's
    ``hashprice_USD_per_TH_day / (J_per_TH * 0.024)``).

    Parameters
    ----------
    hashprice_usd_ph_day : array_like
        Hashprice, USD per PH/s per day.
    efficiency_j_th : array_like
        Machine efficiency, J/TH (W per TH/s).
    pool_fee_pct : array_like, default 2.0
        Pool fee, percent of revenue.

    Returns
    -------
    numpy.ndarray
        Breakeven electricity price, USD/kWh. Below it the machine makes money.

    References
    ----------
    Luxor Technology, *Hashrate Index* (hashprice); Cambridge Bitcoin Electricity
    Consumption Index methodology (profitability threshold of a machine at a given
    electricity price).
    """
    return _floats(
        np.asarray(hashprice_usd_ph_day, np.float64)
        / THS_PER_PHS
        * (1.0 - _fraction(pool_fee_pct))
        / (np.asarray(efficiency_j_th, np.float64) * KWH_PER_W_DAY)
    )


def breakeven_hashprice_usd_ph_day(
    power_price_usd_kwh: ArrayLike,
    efficiency_j_th: ArrayLike,
    pool_fee_pct: ArrayLike = DEFAULT_POOL_FEE_PCT,
) -> np.ndarray:
    """Hashprice at which a machine's revenue equals its power cost, USD per PH/s per day:
    :func:`breakeven_power_price_usd_kwh` solved for the hashprice,

    ``hashprice = c * J/TH * 0.024 * 1000 / (1 - fee/100)``

    (uptime cancels). Below it the machine loses money on power; a site's cooling and
    conversion overhead enters as a higher efficiency, ``J/TH * (1 + overhead/100)``.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return _floats(
            np.asarray(power_price_usd_kwh, np.float64)
            * np.asarray(efficiency_j_th, np.float64)
            * KWH_PER_W_DAY
            * THS_PER_PHS
            / (1.0 - _fraction(pool_fee_pct))
        )


def shutdown_price_usd(
    hashprice_btc_ph_day: ArrayLike,
    efficiency_j_th: ArrayLike,
    power_price_usd_kwh: ArrayLike = DEFAULT_POWER_PRICE_USD_KWH,
    pool_fee_pct: ArrayLike = DEFAULT_POOL_FEE_PCT,
) -> np.ndarray:
    """BTC price at which a machine's revenue equals its power cost, USD per BTC.

    ``P = c * e * 0.024 / (hashprice_btc / 1000 * (1 - fee/100))``

    The hashprice in BTC depends on difficulty, subsidy and fees but not on the price, so
    revenue in USD is proportional to the price and this ``P`` is where it meets the power
    cost. Uptime cancels as in :func:`breakeven_power_price_usd_kwh`. With no fee this is
    Hayes' marginal cost ``c * e * D * 2**32 / (reward * 3.6e18)``, since
    ``hashprice_btc / 1000 = reward * 86400 * 1e12 / (D * 2**32)`` BTC per TH/s per day.

    Parameters
    ----------
    hashprice_btc_ph_day : array_like
        Hashprice, BTC per PH/s per day.
    efficiency_j_th : array_like
        Machine efficiency, J/TH.
    power_price_usd_kwh : array_like, default 0.05
        Electricity price, USD/kWh.
    pool_fee_pct : array_like, default 2.0
        Pool fee, percent of revenue.

    Returns
    -------
    numpy.ndarray
        Shutdown price, USD per BTC. Below it the machine loses money on power alone.

    References
    ----------
    A. Hayes (2017), *Cryptocurrency value formation: an empirical study leading to a cost
    of production model for valuing bitcoin*, Telematics and Informatics 34(7).
    """
    return _floats(
        np.asarray(power_price_usd_kwh, np.float64)
        * np.asarray(efficiency_j_th, np.float64)
        * KWH_PER_W_DAY
        / (
            np.asarray(hashprice_btc_ph_day, np.float64)
            / THS_PER_PHS
            * (1.0 - _fraction(pool_fee_pct))
        )
    )


@dataclass(frozen=True)
class MachineEconomics(Columns):
    """Per-model economics at one day's hashprice, sorted by profit (highest first).

    Arrays of equal length: ``model``, ``vendor``, ``cooling`` (object), ``hashrate_ths``,
    ``power_w``, ``efficiency_j_th``, ``release_month`` (as in :class:`Catalog`),
    ``revenue_usd_day``, ``power_cost_usd_day``, ``profit_usd_day`` (revenue - power cost,
    USD/day), ``breakeven_power_price_usd_kwh`` (USD/kWh), ``shutdown_price_usd`` (USD/BTC),
    ``underwater`` (bool: power cost exceeds revenue), ``price_above_shutdown_pct``
    (``100 * (price_usd / shutdown_price_usd - 1)``: how far the BTC price may fall, in
    percent, before the model stops covering its power). ``price_usd`` echoes the BTC close
    the figures were computed at. Its JSON (:meth:`rows`) is one object per model, without
    ``price_usd``.
    """

    price_usd: float
    model: np.ndarray
    vendor: np.ndarray
    cooling: np.ndarray
    hashrate_ths: np.ndarray
    power_w: np.ndarray
    efficiency_j_th: np.ndarray
    release_month: np.ndarray
    revenue_usd_day: np.ndarray
    power_cost_usd_day: np.ndarray
    profit_usd_day: np.ndarray
    breakeven_power_price_usd_kwh: np.ndarray
    shutdown_price_usd: np.ndarray
    underwater: np.ndarray
    price_above_shutdown_pct: np.ndarray

    def __len__(self) -> int:
        return len(self.model)


def machine_economics(
    catalog: Catalog,
    *,
    hashprice_usd_ph_day: float,
    hashprice_btc_ph_day: float,
    price_usd: float,
    power_price_usd_kwh: float = DEFAULT_POWER_PRICE_USD_KWH,
    pool_fee_pct: float = DEFAULT_POOL_FEE_PCT,
    uptime_pct: float = DEFAULT_UPTIME_PCT,
) -> MachineEconomics:
    """Revenue, power cost, profit, breakeven electricity price and shutdown BTC price of
    every model of ``catalog`` at one day's hashprice; sorted by profit, highest first.

    ``price_usd`` is the day's BTC close, used for ``price_above_shutdown_pct``. A model is
    underwater when its power cost exceeds its revenue; for a consistent day
    (``hashprice_usd_ph_day == hashprice_btc_ph_day * price_usd``) that is exactly when
    ``price_usd`` is below its shutdown price.

    Raises :class:`InputError` naming the parameter when the power price, pool fee or uptime
    is out of range (see :func:`check_parameters`).
    """
    check_parameters(power_price_usd_kwh, pool_fee_pct, uptime_pct)
    revenue = revenue_usd_day(hashprice_usd_ph_day, catalog.hashrate_ths, pool_fee_pct, uptime_pct)
    cost = power_cost_usd_day(catalog.power_w, power_price_usd_kwh, uptime_pct)
    profit = revenue - cost
    breakeven = breakeven_power_price_usd_kwh(
        hashprice_usd_ph_day, catalog.efficiency_j_th, pool_fee_pct
    )
    shutdown = shutdown_price_usd(
        hashprice_btc_ph_day, catalog.efficiency_j_th, power_price_usd_kwh, pool_fee_pct
    )
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # inf: no shutdown
        above_shutdown = 100.0 * (float(price_usd) / shutdown - 1.0)
    order = np.argsort(-profit, kind="stable")
    machines = catalog.select(order)
    listed = ("model", "vendor", "cooling", "hashrate_ths", "power_w", "efficiency_j_th")
    return MachineEconomics(
        price_usd=float(price_usd),
        **{name: getattr(machines, name) for name in listed},
        release_month=machines.release_month,
        revenue_usd_day=revenue[order],
        power_cost_usd_day=cost[order],
        profit_usd_day=profit[order],
        breakeven_power_price_usd_kwh=breakeven[order],
        shutdown_price_usd=shutdown[order],
        underwater=(profit < 0)[order],
        price_above_shutdown_pct=above_shutdown[order],
    )
