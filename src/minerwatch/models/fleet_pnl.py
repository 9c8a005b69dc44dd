"""A lot of machines' day: BTC earned under the pool's scheme, the energy drawn and its
cost, and when the lot runs under a curtailment rule. Pure and vectorised: every argument
broadcasts (days, lots, runs), so ``minerwatch fleet`` computes a history or ten thousand
scenario runs with the same functions.

Units are in the names: hashrate TH/s, power W, energy kWh, electricity USD/kWh,
difficulty as Bitcoin Core reports it, hashprice per PH/s per day (Luxor's unit).

The machine economics are :mod:`minerwatch.models.asics`' (revenue, energy, breakevens)
applied to a lot's count and the site's overhead. The expected value a pool pays per share
(FPPS: subsidy and fees; PPS: subsidy only) is a miner's hashes times the reward per hash,
``(subsidy + fees) / (difficulty * 2**32)`` BTC: a lot of ``H`` TH/s earns
``H * 1e12 * 86400 * (subsidy + fees) / (difficulty * 2**32)`` BTC a day before the pool
fee (Luxor, *Hashrate Index: hashprice*; Bitcoin's block reward per expected
2**32 * difficulty hashes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from minerwatch.metrics.revenue import hashprice_btc_ph_day
from minerwatch.models import asics
from minerwatch.sources.catalog import on_sale_day
from minerwatch.sources.fleet_file import Fleet
from minerwatch.units import SAT_PER_BTC, THS_PER_PHS

#: Days of a year, for lives given in years and fixed costs given per month.
DAYS_PER_YEAR = 365.25


def _f(x: ArrayLike) -> np.ndarray:
    return np.asarray(x, np.float64)


def btc_per_th_day(
    subsidy_btc_per_block: ArrayLike, fees_btc_per_block: ArrayLike, difficulty: ArrayLike
) -> np.ndarray:
    """Expected BTC a day per TH/s: Luxor's BTC hashprice per PH/s per day
    (:func:`minerwatch.metrics.revenue.hashprice_btc_ph_day`) / 1000, i.e.
    ``(subsidy + fees) * 86400 * 1e12 / (difficulty * 2**32)``.

    Pass ``fees_btc_per_block = 0`` for PPS (subsidy only).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(
            hashprice_btc_ph_day(
                _f(subsidy_btc_per_block) * SAT_PER_BTC,
                _f(fees_btc_per_block) * SAT_PER_BTC,
                _f(difficulty),
            )
            / THS_PER_PHS
        )


def lot_btc_day(
    btc_per_th_day_: ArrayLike,
    hashrate_ths: ArrayLike,
    count: ArrayLike,
    pool_fee_pct: ArrayLike,
    uptime_pct: ArrayLike,
) -> np.ndarray:
    """BTC a lot earns in a day: ``count`` machines' :func:`minerwatch.models.asics.
    revenue_btc_day`, ``btc/TH/day * TH/s * count * (1 - fee/100) * uptime/100``."""
    return asics.revenue_btc_day(
        _f(btc_per_th_day_) * THS_PER_PHS, _f(hashrate_ths) * _f(count), pool_fee_pct, uptime_pct
    )


def lot_energy_kwh_day(
    power_w: ArrayLike, count: ArrayLike, overhead_pct: ArrayLike, uptime_pct: ArrayLike
) -> np.ndarray:
    """kWh a lot draws in a day: :func:`minerwatch.models.asics.energy_kwh_day` of its
    machines' watts and the site's overhead (cooling and conversion losses on top of the
    machines), ``W * count * (1 + overhead/100) * 24 h / 1000 * uptime/100``."""
    return asics.energy_kwh_day(
        _f(power_w) * _f(count) * (1.0 + _f(overhead_pct) / 100.0), uptime_pct
    )


def with_overhead_j_th(efficiency_j_th: ArrayLike, overhead_pct: ArrayLike) -> np.ndarray:
    """A machine's efficiency at the site's wall: ``J/TH * (1 + overhead/100)``."""
    return np.asarray(_f(efficiency_j_th) * (1.0 + _f(overhead_pct) / 100.0))


def run_threshold_usd_kwh(
    rule: str,
    revenue_usd_per_kwh: ArrayLike,
    max_power_price_usd_kwh: float | None = None,
    dr_credit_usd_mwh: float = 0.0,
) -> np.ndarray:
    """The highest power price at which a lot runs, USD/kWh, by curtailment rule.

    ``none``: always runs (+inf). ``economic``: runs while an hour's revenue covers its power
    and the demand-response credit it would forgo, i.e. while ``price + credit/1000 <=
    revenue / kWh``. ``price-cap``: runs while the price is at most the cap.
    """
    revenue = _f(revenue_usd_per_kwh)
    if rule == "none":
        return np.full_like(revenue, np.inf)
    if rule == "economic":
        return revenue - dr_credit_usd_mwh / 1000.0
    if rule == "price-cap":
        if max_power_price_usd_kwh is None:
            raise ValueError("the price-cap rule needs max_power_price_usd_kwh")
        return np.full_like(revenue, max_power_price_usd_kwh)
    raise ValueError(f"unknown curtailment rule {rule!r}")


def price_curve(hourly_usd_kwh: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """A price-duration curve: the prices sorted ascending along the last axis, and their
    running sums with a leading 0 (``sums[..., k]``: the sum of the ``k`` cheapest)."""
    ordered = np.sort(_f(hourly_usd_kwh), axis=-1)
    zero = np.zeros((*ordered.shape[:-1], 1))
    return ordered, np.concatenate([zero, np.cumsum(ordered, axis=-1)], axis=-1)


def run_on_curve(
    threshold_usd_kwh: ArrayLike, ordered: np.ndarray, sums: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Share of a day's hours a lot runs and the mean price paid per hour of the day.

    The lot runs in the hours priced at most ``threshold`` (the cheapest ``k`` of the
    ``M`` points of the day's curve, :func:`price_curve`): ``run_share = k / M`` and
    ``paid_usd_kwh = sum of those k prices / M`` (so the day's power cost is the full
    day's kWh times ``paid_usd_kwh``). ``ordered`` is one curve (``M``, shared by every
    day: a flat price is a curve of one point) or one per day (``days x M``, broadcasting
    against ``threshold``'s ``days x lots`` as ``days x 1 x M``).
    """
    threshold = _f(threshold_usd_kwh)
    points = ordered.shape[-1]
    if ordered.ndim == 1:
        k = np.searchsorted(ordered, threshold, side="right")
        return k / points, sums[k] / points
    k = (ordered[:, None, :] <= threshold[..., None]).sum(axis=-1)
    return k / points, np.take_along_axis(sums[:, None, :], k[..., None], axis=-1)[..., 0] / points


def shutdown_price_usd(power_cost_usd_day: ArrayLike, btc_day: ArrayLike) -> np.ndarray:
    """BTC price at which a day's revenue equals its power cost: ``cost / BTC``, USD/BTC
    (the revenue in USD is the BTC earned times the price)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(_f(power_cost_usd_day) / _f(btc_day))


def breakeven_difficulty(
    difficulty: ArrayLike, revenue_usd_day: ArrayLike, power_cost_usd_day: ArrayLike
) -> np.ndarray:
    """Network difficulty at which the revenue (inversely proportional to it) falls to the
    power cost: ``difficulty * revenue / cost``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(_f(difficulty) * _f(revenue_usd_day) / _f(power_cost_usd_day))


@dataclass(frozen=True)
class LotArrays:
    """A fleet's lots as arrays (one entry per lot) with the site's parameters beside:
    ``name``, ``count``, ``hashrate_ths`` and ``power_w`` per machine, ``efficiency_j_th``,
    ``unit_price_usd``, ``paid_usd`` (each machine's purchase price), ``purchase_day``
    (``datetime64[D]``, NaT: none), ``life_days`` and
    ``launch_day`` (the first day of the month after the model's release month, NaT: none;
    the catalog's convention, :meth:`minerwatch.sources.catalog.Catalog.released_by`)."""

    name: np.ndarray
    count: np.ndarray
    hashrate_ths: np.ndarray
    power_w: np.ndarray
    efficiency_j_th: np.ndarray
    unit_price_usd: np.ndarray
    paid_usd: np.ndarray
    purchase_day: np.ndarray
    life_days: np.ndarray
    launch_day: np.ndarray

    @classmethod
    def of(cls, fleet: Fleet) -> LotArrays:
        lots = fleet.lots
        return cls(
            name=np.array([lot.name for lot in lots], object),
            count=np.array([lot.count for lot in lots], np.float64),
            hashrate_ths=np.array([lot.hashrate_ths for lot in lots], np.float64),
            power_w=np.array([lot.power_w for lot in lots], np.float64),
            efficiency_j_th=np.array([lot.efficiency_j_th for lot in lots], np.float64),
            unit_price_usd=np.array([lot.unit_price_usd for lot in lots], np.float64),
            paid_usd=np.array([lot.paid_usd for lot in lots], np.float64),
            purchase_day=np.array([lot.purchase_date or "NaT" for lot in lots], "datetime64[D]"),
            life_days=np.array([lot.life_years * DAYS_PER_YEAR for lot in lots], np.float64),
            launch_day=on_sale_day(
                np.array([lot.release_month or "NaT" for lot in lots], "datetime64[M]")
            ),
        )

    def _bought(self, first_day: np.datetime64) -> np.ndarray:
        """Each lot's purchase day, ``first_day`` where it has none."""
        first = np.asarray(first_day, "datetime64[D]")
        return np.where(np.isnat(self.purchase_day), first, self.purchase_day)

    def since(self, first_day: np.datetime64) -> np.ndarray:
        """Each lot's first day of service: its purchase day (else ``first_day``), or the
        model's launch day when that is later (no machine runs before it is on sale; a
        purchase in the release month waits for the month after)."""
        bought = self._bought(first_day)
        launched = np.where(np.isnat(self.launch_day), bought, np.maximum(bought, self.launch_day))
        return np.asarray(launched)

    def launch_notes(self, first_day: np.datetime64, last_day: np.datetime64) -> list[str]:
        """A note for each lot that waits for its model's launch day, from ``first_day``
        or its purchase day, within the days ``first_day..last_day``."""
        waits = ~np.isnat(self.launch_day) & (self.launch_day > self._bought(first_day))
        out = []
        for name, day, dated in zip(
            self.name[waits],
            self.launch_day[waits],
            ~np.isnat(self.purchase_day[waits]),
            strict=True,
        ):  # one per lot that waits
            since = "bought before then, " if dated else ""
            when = (
                "counted from then"
                if day <= np.asarray(last_day, "datetime64[D]")
                else "not in service in the period"
            )
            out.append(f"lot {name}: the model was not on sale before {day}; {since}{when}")
        return out

    def in_service(self, day: np.ndarray, first_day: np.datetime64) -> np.ndarray:
        """``days x lots`` mask: on or after the first day of service (:meth:`since`) and
        before the end of the life counted from it."""
        since = self.since(first_day)
        age = (np.asarray(day, "datetime64[D]")[:, None] - since).astype(np.float64)
        return np.asarray((age >= 0) & (age < self.life_days))
