"""Numbers, units and dates as text for people: the only place in minerwatch that turns a
figure into text, shared by the terminal output (:mod:`.terminal`), the brief (:mod:`.brief`),
the HTML report (:mod:`.html`) and the charts (:mod:`.charts`), so that a figure reads the
same everywhere. Presentation only: unit scaling and rounding for display, no arithmetic on
the figures. A missing value (None or NaN) is written :data:`NA`.

Rules (each in one function):

- dollars (:func:`usd`): whole dollars from $10 (or from a higher ``cents_below``), cents from
  $1, three significant figures below $1 (``$0.0611``);
- bitcoin (:func:`btc`): whole from 10,000 BTC, two decimals from 1 BTC, three significant
  figures below (``0.290 BTC``);
- percent: a signed change (:func:`pct`, ``+36.6%``), a change in percentage points
  (:func:`pp`), a share of a whole (:func:`share`, ``0.89%``, ``0.007%``), a change in words
  (:func:`change_words`);
- hashrate (:func:`hashrate_scale`, :func:`hashrates`): one prefix per figure family, chosen
  for the family's largest value (whole EH/s past 1,000 EH/s, as news write hashrate);
- hashprice (:func:`hashprice_usd`, :func:`hashprice_btc`): per the unit
  :func:`minerwatch.metrics.revenue.hashprice_unit` picks for the network's hashrate;
- counts (:func:`count`, :func:`count_words`) and dates (:func:`day`, :func:`month`,
  :func:`moment`, :func:`when`).

No third-party import at module level: the CLI loads it cheaply.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date
from typing import TypeGuard

from minerwatch.units import HS_PER_EHS

#: How a missing figure is written.
NA = "n/a"
# SI prefixes, largest first, with their size.
PREFIXES = ((1e21, "Z"), (1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
# Hashrate units and their size in EH/s, largest first (a family picks one for its values).
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
#: The largest hashrate unit used: past 1,000 EH/s hashrate is written in whole EH/s
#: (``1,043 EH/s``), as news write it.
HASHRATE_LARGEST = "EH/s"
# Counts as news write them: words for one to nine, digits from 10.
_NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _finite(x: float | None) -> TypeGuard[float]:
    """Whether ``x`` is a number to print (not None, NaN or infinite)."""
    return x is not None and math.isfinite(x)


# -- plain numbers ------------------------------------------------------------------------


#: Magnitudes below this are written with an exponent by :func:`sig`.
TINY = 1e-9


def sig(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` significant figures, without exponent, thousands separated
    (trailing zeros kept: ``0.0620``; whole numbers past ``10**digits``: ``1,043``). Below
    :data:`TINY` in magnitude (no real figure is: a satoshi is 1e-8 BTC), with an exponent
    (``1.00e-308``) rather than hundreds of zeros."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    if abs(x) < TINY:
        return f"{x:.{digits - 1}e}"
    decimals = max(digits - 1 - math.floor(math.log10(abs(x))), 0)
    text = f"{x:,.{decimals}f}"
    # Rounding can carry into a new digit (0.09996 -> 0.1000): one decimal fewer then.
    if decimals and math.floor(math.log10(abs(float(text.replace(",", ""))))) > math.floor(
        math.log10(abs(x))
    ):
        text = f"{x:,.{decimals - 1}f}"
    return text


def number(x: float | None, fmt: str = ",.2f", suffix: str = "") -> str:
    """``x`` in the format spec ``fmt`` followed by ``suffix`` (``10.37 min``); a missing
    value is :data:`NA`."""
    return f"{x:{fmt}}{suffix}" if _finite(x) else NA


def si(x: float | None, unit: str, digits: int = 3, largest: str = "Z") -> str:
    """``x`` with an SI prefix chosen for its size, to ``digits`` significant figures
    (trailing zeros kept): 1.02e21 H/s -> ``1.02 ZH/s``, 150.84e12 -> ``150.84 T``.
    ``largest`` is the largest prefix used; past it the number is written whole with
    thousands separators. A missing value is :data:`NA`."""
    if not _finite(x):
        return NA
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


def difficulty(x: float | None) -> str:
    """A difficulty to five significant figures with an SI prefix (``150.84 T``)."""
    return si(x, "", digits=5)


def minutes(x: float | None) -> str:
    """A block interval in minutes, two decimals (``10.37 min``)."""
    return number(x, ".2f", " min")


# -- money --------------------------------------------------------------------------------


def usd(x: float | None, cents_below: float = 10.0, millions: bool = False) -> str:
    """Dollars: whole dollars from ``cents_below``, cents from $1 up to it, three
    significant figures under $1 (``$0.0611``), the sign before the dollar (``-$5.00``);
    with ``millions`` (prose), millions to one
    decimal from $1 million (``$48.5 million``). A missing or infinite value is
    :data:`NA`."""
    if not _finite(x):
        return NA
    sign, x = ("-" if x < 0 else ""), abs(x)  # -$5.00, not $-5.00
    if millions and x >= 1e6:
        return f"{sign}${x / 1e6:,.1f} million"
    if x >= cents_below:
        return f"{sign}${x:,.0f}"
    if x >= 1 or x == 0:
        return f"{sign}${x:,.2f}"
    return f"{sign}${sig(x, 3)}"


def usd_short(x: float | None) -> str:
    """Dollars in a narrow column: whole below $10,000, else three significant figures
    with k or M (``$9,870``, ``$110k``, ``-$1.57M``)."""
    if not _finite(x):
        return NA
    sign, x = ("-" if x < 0 else ""), abs(x)
    if x < 10_000:
        return f"{sign if round(x) else ''}${x:,.0f}"  # no -$0
    if x < 1e6:
        return f"{sign}${sig(x / 1e3, 3)}k"
    return f"{sign}${sig(x / 1e6, 3)}M"


def btc_amount(x: float | None) -> str:
    """A BTC amount without its unit: whole from 10,000, two decimals from 1, three
    significant figures below (``0.290``, ``0.000422``)."""
    if not _finite(x):
        return NA
    if abs(x) >= 10_000:
        return f"{x:,.0f}"
    return f"{x:,.2f}" if abs(x) >= 1 else sig(x)


def btc(x: float | None) -> str:
    """A BTC amount with its unit (``388.98 BTC``, ``11,950 BTC``); see :func:`btc_amount`."""
    return f"{btc_amount(x)} BTC" if _finite(x) else NA


def power_price(x: float | None) -> str:
    """An electricity price as a breakeven is read, USD/kWh to three decimals (``0.063``)."""
    return number(x, ".3f")


# -- percent ------------------------------------------------------------------------------


def pct(x: float | None, digits: int = 1) -> str:
    """A signed change in percent, thousands separated (``+36.6%``, ``-4.9%``, ``+1,204%``)."""
    return number(x, f"+,.{digits}f", "%")


def percent(x: float | None, digits: int = 1) -> str:
    """A percentage without sign (a share of days, a percentile): ``46%``, ``0.89%``."""
    return number(x, f",.{digits}f", "%")


def pp(x: float | None, digits: int = 2) -> str:
    """A change (or an error) in percentage points (``+1.25 pp``); ``digits`` decimals."""
    return number(x, f"+,.{digits}f", " pp")


def magnitude(x: float | None, digits: int = 1) -> str:
    """The size of a change in percent, without its sign (``36.6%``): for prose that says
    the direction in words ("36.6% above")."""
    return f"{abs(x):,.{digits}f}%" if _finite(x) else NA


def share(x: float | None) -> str:
    """A percentage of a whole (fees of revenue): two decimals, one significant figure below
    0.01% (``0.89%``, ``0.007%``), ``0%`` for none."""
    if not _finite(x):
        return NA
    if x == 0:
        return "0%"
    return f"{sig(x, 1)}%" if 0 < abs(x) < 0.01 else f"{x:.2f}%"


def change_words(x: float) -> str:
    """A price change in words: ``750.7% higher`` / ``61.9% lower`` / ``unchanged`` (within
    0.05%)."""
    if round(x, 1) == 0:
        return "unchanged"
    return f"{magnitude(x)} {'higher' if x > 0 else 'lower'}"


# -- hashrate and hashprice ---------------------------------------------------------------


def hashrate_scale(
    values_ehs: Iterable[float | None], largest: str = HASHRATE_LARGEST
) -> tuple[str, float]:
    """The unit of a hashrate family and its size: the largest unit, from ``largest`` down,
    in which the family's largest finite magnitude (rounded to three figures) is at least
    1, and the number of that unit in 1 EH/s (multiply EH/s by it). A family without a
    finite non-zero value is written in the smallest unit (H/s)."""
    finite = [abs(v) for v in values_ehs if _finite(v)]
    top = float(f"{max(finite, default=0.0):.3g}")
    units = HASHRATE_UNITS[[u for u, _ in HASHRATE_UNITS].index(largest) :]
    for unit, per_ehs in units:
        if top * per_ehs >= 1:
            return unit, per_ehs
    return units[-1]


def hashrates(
    values_ehs: Iterable[float | None],
    largest: str = HASHRATE_LARGEST,
    scale: tuple[str, float] | None = None,
) -> list[str]:
    """Each hashrate of a family (given in EH/s) in the family's one unit
    (:func:`hashrate_scale`, or ``scale`` when given: a chart's axis unit), to three
    significant figures: ``[922, 1024]`` EH/s -> ``["922 EH/s", "1,024 EH/s"]``, not
    "922 EH/s / 1.02 ZH/s"."""
    values = list(values_ehs)
    unit, per_ehs = scale or hashrate_scale(values, largest)
    return [f"{sig(v * per_ehs)} {unit}" if _finite(v) else NA for v in values]


def hashrate(ehs: float | None, largest: str = HASHRATE_LARGEST) -> str:
    """One hashrate given in EH/s (a family of one): ``1,043 EH/s``, ``106 TH/s``,
    ``5.17 GH/s``."""
    return hashrates([ehs], largest)[0]


def hashrate_hs(hs: float | None) -> str:
    """One hashrate given in H/s (``1.00 kH/s``, ``1,000 EH/s`` for 1e21 H/s)."""
    return hashrate(hs / HS_PER_EHS if _finite(hs) else None)


def hashprice_unit(network_hashrate_ehs: float | None) -> str:
    """The unit hashprice is stated in for a network of this hashrate (EH/s): PH/s, or TH/s,
    GH/s... while the network ran below 1 PH/s
    (:func:`minerwatch.metrics.revenue.hashprice_unit`; PH/s when unknown)."""
    from minerwatch.metrics.revenue import hashprice_unit as unit_for

    return unit_for(float("nan") if network_hashrate_ehs is None else network_hashrate_ehs)


def per_day(unit: str) -> str:
    """A hashrate unit per day as tables write it: ``PH/s`` -> ``PH/day``."""
    return f"{unit.removesuffix('/s')}/day"


def _per(text: str, unit: str, per: bool) -> str:
    return f"{text}/{per_day(unit)}" if per and text != NA else text


def hashprice_usd(usd_ph_day: float | None, unit: str, per: bool = False) -> str:
    """Hashprice in USD per ``unit`` per day, from USD per PH/s per day
    (:func:`minerwatch.metrics.revenue.hashprice_in`), as dollars with cents up to $1,000
    (``$52.61``, ``$475.63``; with ``per``, ``$52.61/PH/day``)."""
    from minerwatch.metrics.revenue import hashprice_in

    value = None if usd_ph_day is None else hashprice_in(usd_ph_day, unit)
    return _per(usd(value, cents_below=1000), unit, per)


def hashprice_btc(btc_ph_day: float | None, unit: str, per: bool = False) -> str:
    """Hashprice in BTC per ``unit`` per day, from BTC per PH/s per day (``0.000422 BTC``;
    with ``per``, ``0.000422 BTC/PH/day``)."""
    from minerwatch.metrics.revenue import hashprice_in

    return _per(btc(None if btc_ph_day is None else hashprice_in(btc_ph_day, unit)), unit, per)


# -- counts -------------------------------------------------------------------------------


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and its noun, singular for one: ``1 row``, ``2 rows``, ``1,655 days``
    (``plural`` for an irregular one, else ``noun + "s"``)."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def count_words(n: int) -> str:
    """A count as news write it: ``one`` to ``nine`` in words, digits from 10 (``12``,
    ``1,655``); 0 as ``0`` (sentences say "none" themselves)."""
    return _NUMBER_WORDS[n - 1] if 1 <= n <= len(_NUMBER_WORDS) else f"{n:,}"


# -- dates --------------------------------------------------------------------------------


def day(iso: str, year_of: str | None = None) -> str:
    """``2025-11-17`` as ``17 November 2025`` (``17 November`` within ``year_of``'s year)."""
    d = date.fromisoformat(iso[:10])
    text = f"{d.day} {d:%B}"
    return text if year_of is not None and iso[:4] == year_of[:4] else f"{text} {d.year}"


def month(iso: str) -> str:
    """``2017-03-18`` as ``March 2017``."""
    return f"{date.fromisoformat(iso[:10]):%B %Y}"


def moment(iso: str, year_of: str) -> str:
    """``2026-01-08T06:55:28Z`` as ``06:55 UTC on 8 January 2026`` (no year within
    ``year_of``'s year)."""
    return f"{iso[11:16]} UTC on {day(iso, year_of)}"


def when(iso: str | None) -> str:
    """``2025-10-01T22:13:19Z`` as ``2025-10-01 22:13 UTC``; none is :data:`NA`."""
    return NA if not iso else f"{iso[:10]} {iso[11:16]} UTC"
