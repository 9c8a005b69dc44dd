"""Production cost of a bitcoin: pure, vectorised functions over daily arrays.

Three families of model, each a plain function (arrays in, arrays out, no I/O):

* **Difficulty Regression Model** (DRM; Hans Hague, developed by Checkmate, published by
  Glassnode): an ordinary least-squares fit ``ln(market cap) = A + B ln(D)``, read back as a
  price ``exp(A + B ln D) / supply``. :func:`expanding_ols` refits it for every day at once
  in closed form; :func:`drm_fit` applies a fit window; :data:`DRM_PRESETS` names the
  windows and the published constants.
* **Energy breakeven** (Hayes 2017, 2019): the electricity cost of the expected work of one
  block over its reward, :func:`hayes_cost_usd`.
* **All-in, CBECI-style** (Cambridge Bitcoin Electricity Consumption Index): which ASICs are
  profitable at an electricity price decides the fleet's efficiency band
  (:func:`fleet_efficiency_band`); the fleet's power (:func:`network_power_w`) gives the
  electricity cost per BTC (:func:`electricity_cost_usd_per_btc`), and dividing by
  electricity's share of total cost gives the all-in cost (:func:`all_in_cost_usd`).

Units are in the names: USD, BTC, J/TH (= W per TH/s), $/kWh, H/s, W. Every function reads
row ``t`` from rows ``<= t`` only (no look-ahead); the published DRM constants are the one
exception by construction, which :class:`DrmPreset` records as ``fit_end``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerwatch import params
from minerwatch.chain.consensus import HASHES_PER_DIFFICULTY
from minerwatch.models.asics import shutdown_price_usd
from minerwatch.models.fleet import DEFAULT_LIFETIME_YEARS, fleet_count, threshold_efficiency_j_th
from minerwatch.units import (
    HS_PER_PHS,
    HS_PER_THS,
    KWH_PER_W_DAY,
    SAT_PER_BTC,
    SECONDS_PER_DAY,
    THS_PER_PHS,
)

# CBECI defaults (Cambridge Centre for Alternative Finance, CBECI methodology).
CBECI_ELECTRICITY_USD_KWH = 0.05
CBECI_LIFETIME_YEARS = DEFAULT_LIFETIME_YEARS  # hardware released within five years
CBECI_SMOOTHING_DAYS = 14
CBECI_OVERHEADS = (1.01, 1.10, 1.20)  # power usage effectiveness: lower, best guess, upper
# Capriole's Bitcoin Production Cost: electricity is 60% of a miner's total cost.
CAPRIOLE_ELECTRICITY_SHARE = 0.6
# An expanding DRM fit is reported once it holds a year of daily points.
DRM_MIN_FIT_DAYS = 365


# -- parameter checks -----------------------------------------------------------------------


def check_share(value: float, name: str = "electricity_share") -> float:
    """A share in ``(0, 1]`` (:data:`minerwatch.params.ELECTRICITY_SHARE`)."""
    return float(params.ELECTRICITY_SHARE.check(value, name))


# -- Difficulty Regression Model ------------------------------------------------------------


@dataclass(frozen=True)
class OlsFit:
    """Per-day OLS fits ``y = a + b x`` (arrays aligned with the input rows).

    ``a``, ``b``: intercept and slope; ``r2``: coefficient of determination; ``n``: points
    in the fit; ``first_row``, ``last_row``: the rows of the first and last point used
    (-1 where no point). NaN where fewer than ``min_n`` points (or no spread in ``x``).
    """

    a: np.ndarray
    b: np.ndarray
    r2: np.ndarray
    n: np.ndarray
    first_row: np.ndarray
    last_row: np.ndarray


def expanding_ols(
    x: np.ndarray,
    y: np.ndarray,
    *,
    start_row: int = 0,
    end_row: int | None = None,
    min_n: int = 2,
) -> OlsFit:
    """OLS of ``y`` on ``x`` for every row at once, each fit on the points from ``start_row``
    up to that row (or up to ``end_row``, whichever comes first).

    Closed form from cumulative sums of ``1, x, y, x^2, xy, y^2`` over the valid points
    (both finite), so all ~6,000 daily refits cost O(n)::

        Sxx = sum(x^2) - (sum x)^2 / n      Sxy = sum(xy) - sum(x) sum(y) / n
        b = Sxy / Sxx      a = mean(y) - b mean(x)      R^2 = Sxy^2 / (Sxx Syy)

    To keep the subtractions well conditioned, ``x`` and ``y`` are shifted by the first
    valid point of the window before summing (an exact change of origin; the first point
    precedes every row that has a fit, so nothing after a row is read).

    Parameters
    ----------
    x, y : array of float
        Regressor and response; rows where either is not finite are skipped.
    start_row : int, default 0
        First row of the fit window.
    end_row : int or None, default None
        Last row of the window (inclusive). None: expanding, each row's fit ends at the row.
        With an end row, rows after it keep the fit that ends there; rows before it are
        fitted up to themselves, so no row uses data after it.
    min_n : int, default 2
        Fewest points for a fit; rows with fewer are NaN.

    Returns
    -------
    OlsFit
        Per-row ``a``, ``b``, ``r2``, ``n``, ``first_row``, ``last_row``.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    rows = len(x)
    if y.shape != x.shape:
        raise ValueError(f"x and y differ in shape: {x.shape} vs {y.shape}")
    idx = np.arange(rows)
    valid = np.isfinite(x) & np.isfinite(y) & (idx >= start_row)
    if end_row is not None:
        valid &= idx <= end_row
    hits = np.flatnonzero(valid)
    nan = np.full(rows, np.nan)
    if hits.size == 0:
        return OlsFit(
            nan, nan.copy(), nan.copy(), np.zeros(rows, np.int64), idx * 0 - 1, idx * 0 - 1
        )
    x0, y0 = x[hits[0]], y[hits[0]]
    xs = np.where(valid, x - x0, 0.0)
    ys = np.where(valid, y - y0, 0.0)
    n = np.cumsum(valid)
    sx, sy = np.cumsum(xs), np.cumsum(ys)
    sxx, sxy, syy = np.cumsum(xs * xs), np.cumsum(xs * ys), np.cumsum(ys * ys)
    last_row = np.where(valid, idx, -1)
    np.maximum.accumulate(last_row, out=last_row)
    if end_row is not None and end_row < rows - 1:
        # Rows after the window keep the window's sums.
        at = np.minimum(idx, end_row)
        n, sx, sy, sxx, sxy, syy, last_row = (a[at] for a in (n, sx, sy, sxx, sxy, syy, last_row))
    with np.errstate(invalid="ignore", divide="ignore"):
        nf = n.astype(np.float64)
        cxx = sxx - sx * sx / nf
        cxy = sxy - sx * sy / nf
        cyy = syy - sy * sy / nf
        b = cxy / cxx
        a = (sy / nf + y0) - b * (sx / nf + x0)
        r2 = cxy * cxy / (cxx * cyy)
    ok = (n >= max(min_n, 2)) & (cxx > 0)
    first_row = np.where(n > 0, hits[0], -1)
    return OlsFit(
        a=np.where(ok, a, np.nan),
        b=np.where(ok, b, np.nan),
        r2=np.where(ok, r2, np.nan),
        n=n.astype(np.int64),
        first_row=first_row,
        last_row=np.where(n > 0, last_row, -1),
    )


def market_cap_usd(price_usd: np.ndarray, supply_sat: np.ndarray) -> np.ndarray:
    """Market capitalisation, USD: ``price * supply_sat / 1e8``."""
    return np.asarray(price_usd, np.float64) * (np.asarray(supply_sat, np.float64) / SAT_PER_BTC)


def drm_fit(
    day: np.ndarray,
    difficulty: np.ndarray,
    price_usd: np.ndarray,
    supply_sat: np.ndarray,
    *,
    start: str | np.datetime64,
    end: str | np.datetime64 | None = None,
    min_fit_days: int = DRM_MIN_FIT_DAYS,
) -> OlsFit:
    """Difficulty Regression Model fit for every day: OLS of ``ln(market cap USD)`` on
    ``ln(D)`` over the window ``[start, min(day, end)]``.

    ``ln(price * supply) = A + B ln(D)``, the fit Checkmate ran on Coin Metrics' ``DiffMean``
    and ``CapMrktCurUSD`` (2019) and Glassnode publishes. A day's fit uses no day after it:
    with ``end=None`` each day is refitted on the days from ``start`` up to itself (what an
    analyst could have computed that day); with an ``end`` date, days after it keep the fit
    that ends there. Days missing a price, a supply or blocks are skipped.

    Parameters
    ----------
    day : array of datetime64[D]
        Consecutive days, ascending.
    difficulty : array of float
        The day's block-weighted mean difficulty (dimensionless; the frame's
        ``difficulty_mean``, Coin Metrics' ``DiffMean``).
    price_usd : array of float
        Daily close, USD.
    supply_sat : array of int
        Supply at the end of the day, satoshis.
    start : date
        First day of the fit window.
    end : date or None, default None
        Last day of the window; None for an expanding window.
    min_fit_days : int, default 365
        Fewest daily points before a fit is reported (NaN before): a fit on a few days is
        not a production-cost estimate.

    Returns
    -------
    OlsFit
        Per-day ``a`` (A), ``b`` (B), ``r2``, ``n`` and the rows of the first and last day in
        the fit.

    References
    ----------
    Hans Hague, difficulty-regression idea (2019); Checkmate, checkonchain
    ``regression_analysis`` (``BTC_DiffMean_MrktCap_20191013``); Glassnode Studio,
    "Difficulty Regression Model" (A = 10.2560, B = 0.5250, fit to 2022-09-14).
    """
    day = np.asarray(day, "datetime64[D]")
    d = np.asarray(difficulty, np.float64)
    cap = market_cap_usd(price_usd, supply_sat)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.where(d > 0, np.log(d), np.nan)
        y = np.where(cap > 0, np.log(cap), np.nan)
    start_row = int(np.searchsorted(day, np.datetime64(str(start), "D")))
    end_row = None
    if end is not None:
        end_row = int(np.searchsorted(day, np.datetime64(str(end), "D"), side="right")) - 1
    return expanding_ols(x, y, start_row=start_row, end_row=end_row, min_n=min_fit_days)


def drm_price_usd(
    difficulty: np.ndarray, supply_sat: np.ndarray, a: np.ndarray | float, b: np.ndarray | float
) -> np.ndarray:
    """Difficulty Regression Model price, USD per BTC: ``exp(A + B ln D) / supply``.

    Parameters
    ----------
    difficulty : array of float
        The day's mean difficulty (dimensionless). Glassnode writes ``log(Difficulty / C)``
        with ``C = 2^32`` because its difficulty metric counts hashes; ``D`` here is the
        dimensionless difficulty, the same number.
    supply_sat : array of int
        Supply at the end of the day, satoshis.
    a, b : float or array
        Intercept and slope of the fit (per day or constant).

    Returns
    -------
    array of float
        USD per BTC; NaN where the difficulty or the fit is missing.

    References
    ----------
    Glassnode Studio, "Difficulty Regression Model (Price)"; Checkmate (2019).
    """
    d = np.asarray(difficulty, np.float64)
    supply_btc = np.asarray(supply_sat, np.float64) / SAT_PER_BTC
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((d > 0) & (supply_btc > 0), np.exp(a + b * np.log(d)) / supply_btc, np.nan)


@dataclass(frozen=True)
class DrmPreset:
    """A named Difficulty Regression Model: either published constants (``a``, ``b``) or a
    fit window of our own (``start``, ``end``; ``end`` None = expanding).

    ``fit_end``: the last day of data behind published constants; before it the constants
    carry hindsight. ``r2`` and ``n`` are the published fit statistics where known.
    """

    name: str
    source: str
    a: float | None = None
    b: float | None = None
    start: str | None = None
    end: str | None = None
    fit_start: str | None = None
    fit_end: str | None = None
    r2: float | None = None
    n: int | None = None

    @property
    def fixed(self) -> bool:
        """Published constants rather than a fit of ours."""
        return self.a is not None

    @property
    def expanding(self) -> bool:
        return not self.fixed and self.end is None


DRM_PRESETS: dict[str, DrmPreset] = {
    "fit-all": DrmPreset(
        "fit-all",
        "ours: expanding OLS over every day with a price (Coin Metrics from 2010-07-18), the "
        "window of Checkmate's 2019 and Glassnode's 2022 fits: on 2019-10-13 and 2022-09-14 it "
        "reproduces both published constant sets",
        start="2009-01-03",
    ),
    "fit-2012": DrmPreset(
        "fit-2012",
        "ours: expanding OLS from 2012-01-01 (first day of the Bitstamp close history; skips "
        "the thin Mt. Gox-era market of 2010-2011)",
        start="2012-01-01",
    ),
    "fit-2015": DrmPreset(
        "fit-2015",
        "ours: expanding OLS from 2015-01-01 (industrial ASIC era only)",
        start="2015-01-01",
    ),
    "glassnode-2022": DrmPreset(
        "glassnode-2022",
        "Glassnode Studio, Difficulty Regression Model: A = 10.2560, B = 0.5250, R^2 = 0.944, "
        "daily data up to 2022-09-14 (first featured in The Week On-chain, week 25 2022); the "
        "start 2010-07-18 is inferred (our fit over that window reproduces the constants)",
        a=10.2560,
        b=0.5250,
        fit_start="2010-07-18",
        fit_end="2022-09-14",
        r2=0.944,
    ),
    "checkmate-2019": DrmPreset(
        "checkmate-2019",
        "Checkmate, checkonchain regression_constants 'BTC_DiffMean_MrktCap_20191013': "
        "A = 10.697469, B = 0.498638, R^2 = 0.934309 (Coin Metrics DiffMean vs "
        "CapMrktCurUSD, every day with both, to 2019-10-13)",
        a=10.697469,
        b=0.498638,
        fit_start="2010-07-18",
        fit_end="2019-10-13",
        r2=0.934309,
    ),
}


# -- Energy breakeven (Hayes) ---------------------------------------------------------------


def hayes_cost_usd(
    difficulty: np.ndarray,
    efficiency_j_th: np.ndarray | float,
    electricity_usd_kwh: float,
    reward_btc: np.ndarray | float,
) -> np.ndarray:
    """Electricity breakeven price of one BTC (Hayes' cost of production), USD.

    ``cost = c * e * D * 2^32 / (reward * 3.6e18)``: a block needs ``D * 2^32`` hashes on
    average, i.e. ``D * 2^32 / 1e12`` TH; at ``e`` J/TH that is ``e * D * 2^32 / 1e12`` J, or
    ``/ 3.6e6`` kWh, costing ``c`` $/kWh, for ``reward`` BTC.

    Parameters
    ----------
    difficulty : array of float
        Difficulty (dimensionless), the day's mean in this project.
    efficiency_j_th : float or array
        Energy efficiency of the hardware, J/TH (= W per TH/s; 1 J/GH = 1,000 J/TH).
    electricity_usd_kwh : float
        Electricity price, USD per kWh.
    reward_btc : float or array
        BTC per block: the subsidy, plus the mean fees per block when they are counted.

    Returns
    -------
    array of float
        USD per BTC.

    References
    ----------
    A. Hayes (2017), "Cryptocurrency value formation: an empirical study leading to a cost of
    production model for valuing bitcoin", Telematics and Informatics 34(7); A. Hayes (2019),
    "Bitcoin price and its marginal cost of production", Applied Economics Letters 26(7).
    Worked example: D = 60,883,825,480, c = 0.135 $/kWh, e = 0.75 J/GH, reward 12.5 BTC
    gives 588.36 $/BTC.

    Notes
    -----
    This is a machine's shutdown price with no pool fee
    (:func:`minerwatch.models.asics.shutdown_price_usd`): a block's reward over its expected
    work is the hashprice, ``reward * 86400 * 1e15 / (D * 2^32)`` BTC per PH/s per day, and
    ``c * e * 0.024 / (hashprice / 1000)`` is the formula above. It is computed that way,
    so the two cannot drift apart.
    """
    d = np.asarray(difficulty, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        hashprice_btc_ph_day = (
            np.asarray(reward_btc, np.float64) * SECONDS_PER_DAY * HS_PER_PHS
        ) / (d * HASHES_PER_DIFFICULTY)
        return shutdown_price_usd(
            hashprice_btc_ph_day, efficiency_j_th, electricity_usd_kwh, pool_fee_pct=0.0
        )


# -- All-in, CBECI-style --------------------------------------------------------------------


def profitability_threshold_j_th(
    hashprice_usd_th_day: np.ndarray, electricity_usd_kwh: float
) -> np.ndarray:
    """Least efficient hardware that still covers its electricity, J/TH.

    A machine of ``e`` J/TH draws ``e`` W per TH/s, ``0.024 * e`` kWh per TH/s per day,
    costing ``0.024 * e * c`` $; it earns the hashprice ``h`` $ per TH/s per day. It is
    profitable while ``e < h / (0.024 * c)``.

    Parameters
    ----------
    hashprice_usd_th_day : array of float
        Revenue of 1 TH/s for a day, USD (Luxor's hashprice per PH/s divided by 1,000;
        CBECI smooths it over 14 days).
    electricity_usd_kwh : float
        Electricity price, USD per kWh (CBECI: 0.05).

    Returns
    -------
    array of float
        Threshold efficiency, J/TH.

    References
    ----------
    Cambridge Centre for Alternative Finance, CBECI methodology (profitability threshold);
    Luxor Hashrate Index (hashprice).

    Notes
    -----
    :func:`minerwatch.models.fleet.threshold_efficiency_j_th` with no pool fee (CBECI's
    threshold), the hashprice per TH/s converted to per PH/s.
    """
    return threshold_efficiency_j_th(
        np.asarray(hashprice_usd_th_day, np.float64) * THS_PER_PHS, electricity_usd_kwh
    )


@dataclass(frozen=True)
class FleetBand:
    """Per-day efficiency band of the profitable fleet, J/TH (NaN where no machine in the
    catalog is both available and profitable).

    ``lower``: the most efficient profitable machine (CBECI's lower bound); ``upper``: the
    least efficient profitable one (upper bound); ``best``: the equal-weight mean of the
    profitable machines (best guess); ``profitable``, ``available``: machine counts.
    """

    lower_j_th: np.ndarray
    best_j_th: np.ndarray
    upper_j_th: np.ndarray
    profitable: np.ndarray
    available: np.ndarray


def fleet_efficiency_band(
    day: np.ndarray,
    threshold_j_th: np.ndarray,
    efficiency_j_th: np.ndarray,
    release_month: np.ndarray,
    *,
    lifetime_years: float = CBECI_LIFETIME_YEARS,
) -> FleetBand:
    """Efficiency band of the machines that are available and profitable on each day.

    The machines available on each day and the profitable ones among them are
    :func:`minerwatch.models.fleet.fleet_count`'s (released by then and within
    ``lifetime_years`` of their release month; at or below the day's threshold, from
    :func:`profitability_threshold_j_th`), the rule every machine count uses. Computed for
    all days x machines at once by broadcasting.

    Parameters
    ----------
    day : array of datetime64[D]
        Days.
    threshold_j_th : array of float
        Each day's profitability threshold, J/TH.
    efficiency_j_th : array of float
        Each machine's efficiency, J/TH (``power_w / hashrate_ths``).
    release_month : array of datetime64[M]
        Each machine's release month.
    lifetime_years : float, default 5
        Years a machine stays in the candidate set after release (CBECI: hardware released
        within the past five years).

    Returns
    -------
    FleetBand
        ``lower_j_th``, ``best_j_th`` (equal-weight mean, as CBECI), ``upper_j_th`` and the
        counts of profitable and available machines per day.

    References
    ----------
    Cambridge Centre for Alternative Finance, CBECI methodology (lower bound, best guess,
    upper bound; Bevand 2017).
    """
    eff = np.asarray(efficiency_j_th, np.float64)
    fleet = fleet_count(day, eff, release_month, threshold_j_th, lifetime_years)
    profitable = fleet.profitable
    count = fleet.machines_profitable
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(profitable, eff, np.inf).min(axis=1, initial=np.inf)
        upper = np.where(profitable, eff, -np.inf).max(axis=1, initial=-np.inf)
        best = np.where(profitable, eff, 0.0).sum(axis=1) / count
    none = count == 0
    return FleetBand(
        lower_j_th=np.where(none, np.nan, lower),
        best_j_th=np.where(none, np.nan, best),
        upper_j_th=np.where(none, np.nan, upper),
        profitable=count.astype(np.int64),
        available=fleet.machines.astype(np.int64),
    )


def network_power_w(
    efficiency_j_th: np.ndarray, hashrate_hs: np.ndarray, overhead: float
) -> np.ndarray:
    """Electrical power of the network, W: ``efficiency [J/TH] * hashrate [TH/s] * PUE``.

    Parameters
    ----------
    efficiency_j_th : array of float
        Fleet efficiency, J/TH.
    hashrate_hs : array of float
        Network hashrate, H/s.
    overhead : float
        Power usage effectiveness of the facilities (CBECI: 1.01 lower, 1.10 best guess,
        1.20 upper).

    Returns
    -------
    array of float
        W.

    References
    ----------
    CBECI methodology (power = hashrate x efficiency x PUE).
    """
    return (
        np.asarray(efficiency_j_th, np.float64) * (np.asarray(hashrate_hs) / HS_PER_THS) * overhead
    )


def electricity_cost_usd_per_btc(
    power_w: np.ndarray, electricity_usd_kwh: float, btc_per_day: np.ndarray
) -> np.ndarray:
    """Electricity cost of one mined BTC, USD: ``power * 24 h / 1000 * c / BTC per day``.

    With the day's own hashrate (``blocks * D * 2^32 / 86400``) and the day's BTC, this is
    Hayes' formula with ``e * PUE``, the day's mean difficulty and mean reward per block.

    Parameters
    ----------
    power_w : array of float
        Network power, W.
    electricity_usd_kwh : float
        Electricity price, USD per kWh.
    btc_per_day : array of float
        BTC mined per day (subsidy, plus fees when counted).

    Returns
    -------
    array of float
        USD per BTC (NaN on days without BTC mined).

    References
    ----------
    Capriole Investments, "Bitcoin's Production Cost" (electrical cost from CBECI power).
    """
    btc = np.asarray(btc_per_day, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            btc > 0,
            np.asarray(power_w, np.float64) * KWH_PER_W_DAY * electricity_usd_kwh / btc,
            np.nan,
        )


def all_in_cost_usd(
    electricity_cost_usd: np.ndarray, electricity_share: float = CAPRIOLE_ELECTRICITY_SHARE
) -> np.ndarray:
    """All-in production cost, USD per BTC: electricity cost over electricity's share of a
    miner's total cost (hardware, hosting, staff, financing make up the rest).

    Parameters
    ----------
    electricity_cost_usd : array of float
        Electricity cost per BTC, USD.
    electricity_share : float, default 0.6
        Electricity's share of total cost, in (0, 1] (Capriole's production cost: 0.6).

    Returns
    -------
    array of float
        USD per BTC (NaN where ``electricity_cost_usd`` is NaN).

    References
    ----------
    C. Edwards, Capriole Investments, "Bitcoin's Production Cost" (2019) and the "Bitcoin
    Production Cost" TradingView script (``elec_pct = 0.60``).
    """
    share = check_share(electricity_share)
    return np.asarray(electricity_cost_usd, np.float64) / share
