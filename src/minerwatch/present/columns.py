"""One column spec per table shown both in the terminal and in the HTML report: its header
(with the unit), the field it reads and the formatter of :mod:`.format` that writes it. The
terminal (:mod:`.terminal`) and the HTML report (:mod:`.html`) build their tables from the
same specs, so a column reads the same in both; each chooses which columns it shows (the
terminal fits 80 columns) and how it lays them out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from minerwatch.present import format as fmt

if TYPE_CHECKING:
    from minerwatch.analyses.status import Status


@dataclass(frozen=True)
class Column:
    """A table column: ``name`` and ``unit`` make the header (``revenue $/day``), ``field``
    the attribute (or key) of a row it reads, ``text`` the formatter that writes the value,
    ``numeric`` whether it is right-aligned."""

    name: str
    unit: str
    field: str
    text: Callable[[Any], str]
    numeric: bool = True

    @property
    def header(self) -> str:
        """The header on one line: ``revenue $/day``."""
        return f"{self.name} {self.unit}".strip()

    @property
    def stacked(self) -> str:
        """The header on two lines, the unit under the name (narrow terminal columns)."""
        return "\n".join(part for part in (self.name, self.unit) if part)

    def cell(self, row: Any) -> str:
        """The text of this column in ``row`` (an object with the field, or a mapping)."""
        value = row[self.field] if isinstance(row, Mapping) else getattr(row, self.field)
        return self.text(value)


def _text(x: Any) -> str:
    return str(x)


def _month(x: np.datetime64) -> str:
    return "" if np.isnat(x) else str(x)


def _forward(values: Mapping[str, float | None]) -> str:
    """Forward returns, one per horizon: ``+12% -3% +140%``."""
    return " ".join(fmt.pct(v, 0) for v in values.values())


def _usd_day(x: float) -> str:
    return fmt.number(x, ",.2f")


# -- machines (``minerwatch asics`` and the report's machines table) ------------------------

MACHINE_COLUMNS: dict[str, Column] = {
    c.field: c
    for c in (
        Column("model", "", "model", _text, numeric=False),
        Column("vendor", "", "vendor", _text, numeric=False),
        Column("released", "", "release_month", _month, numeric=False),
        Column("", "TH/s", "hashrate_ths", lambda x: fmt.number(x, ",.4g")),
        Column("", "J/TH", "efficiency_j_th", lambda x: fmt.number(x, ".1f")),
        Column("revenue", "$/day", "revenue_usd_day", _usd_day),
        Column("power", "$/day", "power_cost_usd_day", _usd_day),
        Column("profit", "$/day", "profit_usd_day", _usd_day),
        Column("breakeven", "$/kWh", "breakeven_power_price_usd_kwh", fmt.power_price),
        Column("shutdown", "BTC price", "shutdown_price_usd", fmt.usd),
    )
}


def machine_rows(machines: Any) -> list[dict[str, Any]]:
    """The rows of an ASIC economics table (``AsicEconomics.machines``, columns of arrays)
    as one mapping per model, with the fields of :data:`MACHINE_COLUMNS` and
    ``underwater``."""
    fields = [*MACHINE_COLUMNS, "underwater"]
    return [{f: getattr(machines, f)[i] for f in fields} for i in range(len(machines))]


# -- episodes below the production cost (``minerwatch episodes`` and the report) ------------


def episode_columns(horizons_days: tuple[int, ...] | list[int]) -> dict[str, Column]:
    """The columns of an episodes table; the forward-return column is headed by its
    horizons (``+30/90/365d``)."""
    horizons = "+" + "/".join(str(h) for h in horizons_days) + "d"
    return {
        c.field: c
        for c in (
            Column("days", "", "days", lambda x: fmt.number(x, ",d")),
            Column("below", "", "days_below", lambda x: fmt.number(x, ",d")),
            Column("deepest", "", "deepest_discount_pct", fmt.pct),
            Column("on", "", "deepest_date", _text, numeric=False),
            Column("price", "start", "price_start_usd", fmt.usd),
            Column("price", "end", "price_end_usd", fmt.usd),
            Column("cost", "start", "cost_start_usd", fmt.usd),
            Column("cost", "end", "cost_end_usd", fmt.usd),
            Column("ended", "", "ended", _text, numeric=False),
            Column("price", horizons, "forward_return_pct", _forward),
        )
    }


def revenue_split(s: Status) -> str:
    """The day's revenue in BTC and its parts: ``3.44 BTC = 3.13 subsidy + 0.31 fees``."""
    return (
        f"{fmt.btc(s.revenue_btc_1d)} = {fmt.btc_amount(s.subsidy_btc_1d)} subsidy + "
        f"{fmt.btc_amount(s.fees_btc_1d)} fees"
    )
