"""Numbers as text for people: SI prefixes, hashrate units, dollars. Presentation only (unit
scaling and rounding for display), shared by the terminal output (:mod:`.render`), the
brief, the HTML report and the charts, so that a figure reads the same everywhere. No
third-party import: the report and the CLI both load it cheaply.
"""

from __future__ import annotations

import math

from minerwatch.units import HS_PER_EHS

# SI prefixes, largest first, with their size.
PREFIXES = ((1e21, "Z"), (1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
# Hashrate units and their size in EH/s, largest first (a chart picks one for its window).
HASHRATE_UNITS = (
    ("ZH/s", 1e-3),
    ("EH/s", 1.0),
    ("PH/s", 1e3),
    ("TH/s", 1e6),
    ("GH/s", 1e9),
    ("MH/s", 1e12),
    ("kH/s", 1e15),
    ("H/s", 1e18),
)


def si(x: float | None, unit: str, digits: int = 3, largest: str = "Z") -> str:
    """``x`` with an SI prefix chosen for its size, to ``digits`` significant figures
    (trailing zeros kept): 1.02e21 H/s -> ``1.02 ZH/s``, 3.70e19 H/s -> ``37.0 EH/s``.
    ``largest`` is the largest prefix used; past it the number is written whole with
    thousands separators (with ``largest="E"``, 1.043e21 H/s -> ``1,043 EH/s``, as news
    write hashrate). None -> ``n/a``."""
    if x is None or not math.isfinite(x):
        return "n/a"
    exact = x
    # Round first, so that 999.6 EH/s shows as 1 ZH/s rather than "1e+03 EH/s".
    x = float(f"{x:.{digits}g}")
    top = {p: s for s, p in PREFIXES}[largest]
    for scale, prefix in ((s, p) for s, p in PREFIXES if s <= top):
        if abs(x) >= scale:
            if abs(x / scale) >= 10**digits:  # past the largest prefix: whole, unrounded
                return f"{exact / scale:,.0f} {prefix}{unit}"
            return f"{sig(x / scale, digits)} {prefix}{unit}"
    return f"{sig(x, digits)} {unit}".rstrip()


def hashrate(ehs: float | None, digits: int = 3, largest: str = "Z") -> str:
    """A hashrate given in EH/s, with the prefix that suits its size: ``1.04 ZH/s``,
    ``106 TH/s``, ``5.17 GH/s`` (``largest="E"``: ``1,043 EH/s``)."""
    return si(None if ehs is None else ehs * HS_PER_EHS, "H/s", digits, largest)


def hashrate_unit(top_ehs: float, largest: str = "EH/s") -> tuple[str, float]:
    """The largest hashrate unit, from ``largest`` down, in which ``top_ehs`` (EH/s) is at
    least 1, and its size: the number of that unit in 1 EH/s (multiply EH/s by it)."""
    units = HASHRATE_UNITS[[u for u, _ in HASHRATE_UNITS].index(largest) :]
    for unit, per_ehs in units:
        if top_ehs * per_ehs >= 1:
            return unit, per_ehs
    return units[-1]


def sig(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` significant figures, without exponent, thousands separated
    (trailing zeros kept: ``0.0620``)."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    decimals = max(digits - 1 - math.floor(math.log10(abs(x))), 0)
    text = f"{x:,.{decimals}f}"
    # Rounding can carry into a new digit (0.09996 -> 0.1000): one decimal fewer then.
    if decimals and math.floor(math.log10(abs(float(text.replace(",", ""))))) > math.floor(
        math.log10(abs(x))
    ):
        text = f"{x:,.{decimals - 1}f}"
    return text


def usd(x: float | None, cents_below: float = 10.0) -> str:
    """Dollars: whole dollars from ``cents_below``, cents from $1 up to it, three
    significant figures under $1 (``$0.0620``). None -> ``n/a``."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if abs(x) >= cents_below:
        return f"${x:,.0f}"
    if abs(x) >= 1 or x == 0:
        return f"${x:,.2f}"
    return f"${sig(x, 3)}"
