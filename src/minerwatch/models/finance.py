"""Money over time for the fleet desk: loan annuities, discounting, NPV, IRR, payback and
resale values. Pure and vectorised over runs (cash flows are ``... x months`` arrays with
month 0 the plan's start).

References: R. Brealey, S. Myers, F. Allen, *Principles of Corporate Finance* (NPV, IRR,
payback period; the annuity formula ``P * r / (1 - (1 + r)**-n)``). S. A. Y. Lin (1976),
*The modified internal rate of return and investment criterion*, The Engineering Economist
21(4) (the MIRR, defined for any sign pattern of the flows).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

MONTHS_PER_YEAR = 12


def monthly_rate(annual_pct: float) -> float:
    """The monthly rate equivalent to an annual rate in percent: ``(1 + a/100)**(1/12) - 1``."""
    return float((1.0 + annual_pct / 100.0) ** (1.0 / MONTHS_PER_YEAR) - 1.0)


def _balance_usd(
    principal_usd: float, rate_pct: float, term_months: int, k: np.ndarray
) -> tuple[float, np.ndarray]:
    """The annuity's monthly rate and what it owes after ``k`` payments:
    ``P (1 + r)**k - payment ((1 + r)**k - 1) / r``, ``payment = P r / (1 - (1 + r)**-n)``
    (``P - k P / n`` at 0%)."""
    r = rate_pct / 100.0 / MONTHS_PER_YEAR
    n = term_months
    payment = principal_usd / n if r == 0 else principal_usd * r / (1.0 - (1.0 + r) ** -n)
    if r == 0:
        return payment, principal_usd - payment * k
    return payment, principal_usd * (1 + r) ** k - payment * ((1 + r) ** k - 1) / r


def loan_schedule(
    principal_usd: float, rate_pct: float, term_months: int, months: int, start_month: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Payments and interest of an annuity loan, per month ``0..months-1`` (USD).

    Drawn at the start of ``start_month``; paid at the end of each of the ``term_months``
    months from there: ``payment = P * r / (1 - (1 + r)**-n)`` with ``r = rate/12/100``
    (nominal annual rate, monthly compounding; ``P / n`` at 0%). Interest of month ``k``
    is ``r`` times the balance owed during it.
    """
    r = rate_pct / 100.0 / MONTHS_PER_YEAR
    k = np.arange(term_months)
    payment, balance = _balance_usd(principal_usd, rate_pct, term_months, k)
    pay, interest = np.zeros(months), np.zeros(months)
    at = start_month + k
    keep = at < months
    pay[at[keep]] = payment
    interest[at[keep]] = (balance * r)[keep]
    return pay, interest


def loan_balance_usd(principal_usd: float, rate_pct: float, term_months: int, paid: int) -> float:
    """What an annuity loan (:func:`loan_schedule`) still owes after ``paid`` of its
    payments (clipped to ``0..term``; 0 once all are made)."""
    k = min(max(paid, 0), term_months)
    if k == term_months:
        return 0.0
    return float(_balance_usd(principal_usd, rate_pct, term_months, np.array(k))[1])


def discount_factors(months: int, annual_pct: float) -> np.ndarray:
    """``(1 + r_m)**-(m + 1)`` for months ``m = 0..months-1``: each month's flow is
    discounted from its end."""
    return (1.0 + monthly_rate(annual_pct)) ** -np.arange(1, months + 1)


def npv(upfront_usd: ArrayLike, monthly_usd: ArrayLike, annual_pct: float) -> np.ndarray:
    """Net present value: ``upfront + sum_m flow_m * (1 + r_m)**-(m+1)`` (``monthly``:
    ``... x months``; ``upfront`` at the start, undiscounted)."""
    flows = np.asarray(monthly_usd, np.float64)
    return np.asarray(
        np.asarray(upfront_usd, np.float64) + flows @ discount_factors(flows.shape[-1], annual_pct)
    )


def irr_pct(upfront_usd: ArrayLike, monthly_usd: ArrayLike, iterations: int = 56) -> np.ndarray:
    """Internal rate of return, percent a year: the annual rate at which :func:`npv` is 0.

    Bisection on the monthly rate in (-99.9%, +1000%) a month, vectorised over runs (56
    halvings leave an interval of 11 / 2**56, below 1e-15 a month). NaN unless the flows
    change sign exactly once (:func:`sign_changes`: then the root is unique) and the NPV
    changes sign in that range: no investment, flows that never recover it, or flows
    with several roots have no IRR.
    """
    flows = np.asarray(monthly_usd, np.float64)
    upfront = np.broadcast_to(np.asarray(upfront_usd, np.float64), flows.shape[:-1])

    def value(rate: np.ndarray) -> np.ndarray:
        # (1 + r)**-m for m = 1..months as a running product: one multiplication a month
        factors = np.cumprod(np.broadcast_to((1.0 / (1.0 + rate))[..., None], flows.shape), axis=-1)
        return np.asarray(upfront + (flows * factors).sum(axis=-1))

    conventional = sign_changes(upfront, flows) == 1
    low = np.full(flows.shape[:-1], -0.999)
    high = np.full(flows.shape[:-1], 10.0)
    with np.errstate(over="ignore", invalid="ignore"):
        v_low, v_high = value(low), value(high)
        ok = np.sign(v_low) * np.sign(v_high) < 0
        for _ in range(iterations):
            mid = (low + high) / 2.0
            v_mid = value(mid)
            same = np.sign(v_mid) == np.sign(v_low)
            low = np.where(same, mid, low)
            v_low = np.where(same, v_mid, v_low)
            high = np.where(same, high, mid)
    annual = ((1.0 + (low + high) / 2.0) ** MONTHS_PER_YEAR - 1.0) * 100.0
    return np.where(ok & conventional, annual, np.nan)


def mirr_pct(
    upfront_usd: ArrayLike,
    monthly_usd: ArrayLike,
    finance_annual_pct: float,
    reinvest_annual_pct: float | None = None,
) -> np.ndarray:
    """Modified internal rate of return, percent a year (Lin 1976; Excel's ``MIRR``).

    ``MIRR_month = (FV / PV)**(1/n) - 1`` over the ``n`` months, with ``PV`` the outflows
    (the upfront and every negative month) discounted to day one at the finance rate and
    ``FV`` the inflows compounded to the last month's end at the reinvestment rate (default
    the finance rate); annual: ``(1 + MIRR_month)**12 - 1``. It exists whatever the signs
    of the flows (unlike :func:`irr_pct`): -100% when nothing comes back, NaN without an
    outflow.
    """
    flows = np.asarray(monthly_usd, np.float64)
    upfront = np.broadcast_to(np.asarray(upfront_usd, np.float64), flows.shape[:-1])
    months = flows.shape[-1]
    f = monthly_rate(finance_annual_pct)
    r = monthly_rate(finance_annual_pct if reinvest_annual_pct is None else reinvest_annual_pct)
    t = np.arange(1, months + 1)
    pv = np.minimum(upfront, 0.0) + (np.minimum(flows, 0.0) * (1.0 + f) ** -t).sum(axis=-1)
    fv = (np.maximum(flows, 0.0) * (1.0 + r) ** (months - t)).sum(axis=-1)
    fv = fv + np.maximum(upfront, 0.0) * (1.0 + r) ** months
    with np.errstate(invalid="ignore", divide="ignore"):
        month = (fv / -pv) ** (1.0 / months) - 1.0
    return np.where(pv < 0, ((1.0 + month) ** MONTHS_PER_YEAR - 1.0) * 100.0, np.nan)


def payback_month(
    upfront_usd: ArrayLike, monthly_usd: ArrayLike, from_month: int = 0
) -> np.ndarray:
    """The first month (1-based) at whose end the cumulative cash flow ``upfront + sum of
    months`` is >= 0, counting from month ``from_month`` (0-based: the first capex), so a
    purchase later in the plan does not "pay back" before it is made; +inf where it never
    is within the months given (does not pay back)."""
    flows = np.asarray(monthly_usd, np.float64)
    upfront = np.asarray(upfront_usd, np.float64)
    cumulative = upfront[..., None] + np.cumsum(flows, axis=-1)
    reached = cumulative >= 0
    reached[..., :from_month] = False
    first = np.argmax(reached, axis=-1) + 1.0
    return np.asarray(np.where(reached.any(axis=-1), first, np.inf))


def sign_changes(upfront_usd: ArrayLike, monthly_usd: ArrayLike) -> np.ndarray:
    """How many times the cash flows (upfront first, zeros skipped) change sign: an IRR is
    unique, and reported, only for one change (an investment, then its returns)."""
    later = np.asarray(monthly_usd, np.float64)
    first = np.broadcast_to(np.asarray(upfront_usd, np.float64), later.shape[:-1])
    flows = np.concatenate([first[..., None], later], axis=-1)
    signs = np.sign(flows)
    # carry the last non-zero sign over zeros, then count the flips
    idx = np.where(signs != 0, np.arange(signs.shape[-1]), 0)
    np.maximum.accumulate(idx, axis=-1, out=idx)
    carried = np.take_along_axis(signs, idx, axis=-1)
    return np.asarray(((carried[..., 1:] * carried[..., :-1]) < 0).sum(axis=-1))


def resale_pct(curve: tuple[tuple[float, float], ...] | None, age_months: ArrayLike) -> np.ndarray:
    """Resale value in percent of the unit price at an age: linear between the curve's
    points ``(age_months, pct)``, the first value before the first age and the last after
    the last; 0 without a curve."""
    age = np.asarray(age_months, np.float64)
    if not curve:
        return np.zeros_like(age)
    ages, values = zip(*curve, strict=True)
    return np.asarray(np.interp(age, ages, values))
