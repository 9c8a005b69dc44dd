"""One formatter: the rules of :mod:`minerwatch.present.format` on edge values, and the same
figure printed the same way by ``status`` (terminal), the brief and the report."""

from __future__ import annotations

import io
import math
import re

import pytest
from rich.console import Console

import minerwatch
from minerwatch.present import format as fmt
from minerwatch.present import terminal

# -- the rules on edge values ------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (0.0, "$0.00"),
        (-5.0, "-$5.00"),
        (-1234.4, "-$1,234"),
        (1e-3, "$0.00100"),
        (0.0611, "$0.0611"),
        (0.062, "$0.0620"),  # three figures, the trailing zero kept
        (0.99996, "$1.00"),  # rounds up into cents, not "$1.000"
        (9.999, "$10.00"),
        (1e6, "$1,000,000"),
        (None, "n/a"),
        (math.nan, "n/a"),
        (math.inf, "n/a"),  # a shutdown price at a 100% pool fee
    ],
)
def test_usd(x, text):
    assert fmt.usd(x) == text


def test_usd_in_prose_and_with_cents_to_1000():
    assert fmt.usd(48_524_647.98, millions=True) == "$48.5 million"
    assert fmt.usd(999_999.0, millions=True) == "$999,999"
    assert fmt.usd(475.634, cents_below=1000) == "$475.63"
    assert fmt.usd(5370.2, cents_below=1000) == "$5,370"


@pytest.mark.parametrize(
    ("x", "text"),
    [(-0.3, "$0"), (-0.6, "-$1"), (9_870.0, "$9,870"), (-1_570_000.0, "-$1.57M"), (110e3, "$110k")],
)
def test_usd_short_has_no_minus_zero(x, text):
    assert fmt.usd_short(x) == text


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (0.0, "0 BTC"),
        (1e-3, "0.00100 BTC"),
        (0.29, "0.290 BTC"),
        (-2.0, "-2.00 BTC"),
        (8600.0, "8,600.00 BTC"),
        (11_950.29, "11,950 BTC"),
        (1e6, "1,000,000 BTC"),
        (None, "n/a"),
        (math.nan, "n/a"),
    ],
)
def test_btc(x, text):
    assert fmt.btc(x) == text


def test_percent_and_percentage_points():
    assert fmt.pct(0.0) == "+0.0%"
    assert fmt.pct(-4.897) == "-4.9%"
    assert fmt.pct(1204.4, 0) == "+1,204%"
    assert fmt.pct(None) == fmt.pct(math.nan) == "n/a"
    assert fmt.pp(1.254) == "+1.25 pp" and fmt.pp(-0.5, 1) == "-0.5 pp"
    assert fmt.magnitude(-51.66) == "51.7%"
    assert fmt.share(0.0) == "0%" and fmt.share(0.0072) == "0.007%" and fmt.share(3.399) == "3.40%"
    assert fmt.change_words(750.71) == "750.7% higher"
    assert fmt.change_words(-61.9) == "61.9% lower"
    assert fmt.change_words(0.04) == "unchanged"


@pytest.mark.parametrize(
    ("hs", "text"),
    [
        (0.0, "0 H/s"),
        (-1e18, "-1.00 EH/s"),
        (1e-3, "0.00100 H/s"),
        (1e6, "1.00 MH/s"),
        (999.6e6, "1.00 GH/s"),  # rounds into the next prefix, not "1,000 MH/s"
        (1e21, "1,000 EH/s"),  # whole EH/s past 1,000, as news write hashrate
        (None, "n/a"),
        (math.nan, "n/a"),
    ],
)
def test_hashrate(hs, text):
    assert fmt.hashrate_hs(hs) == text


def test_a_hashrate_family_shares_one_prefix():
    assert fmt.hashrates([922.3, 1023.9, None]) == ["922 EH/s", "1,024 EH/s", "n/a"]
    assert fmt.hashrates([2.9e-9, 7.26e-10]) == ["2.90 GH/s", "0.726 GH/s"]
    assert fmt.hashrate_scale([0.5, 2.0]) == ("EH/s", 1.0)
    assert fmt.hashrate_scale([0.5]) == ("PH/s", 1e3)
    assert fmt.hashrate_scale([math.nan, None]) == ("H/s", 1e18)


def test_hashprice_per_unit():
    # 1 GH/s is 1e-6 PH/s: a day's revenue per PH/s of a 1 GH/s network, per GH/s.
    assert fmt.hashprice_usd(475_634_432.72, "GH/s") == "$475.63"
    assert fmt.hashprice_usd(52.613, "PH/s", per=True) == "$52.61/PH/day"
    assert fmt.hashprice_btc(4.2175e-4, "PH/s", per=True) == "0.000422 BTC/PH/day"
    assert fmt.hashprice_usd(None, "MH/s", per=True) == "n/a"  # not "n/a/MH/day"
    assert fmt.hashprice_unit(None) == "PH/s"


def test_counts_and_plurals():
    assert fmt.count(1, "row") == "1 row"
    assert fmt.count(2, "row") == "2 rows"
    assert fmt.count(0, "row") == "0 rows"
    assert f"after {fmt.count(1, 'day')}" == "after 1 day"
    assert fmt.count(1655, "day") == "1,655 days"
    assert fmt.count(2, "retried request") == "2 retried requests"
    assert [fmt.count_words(n) for n in (0, 1, 9, 10)] == ["0", "one", "nine", "10"]


def test_dates():
    assert fmt.day("2025-11-17") == "17 November 2025"
    assert fmt.day("2025-11-17", year_of="2025-01-01") == "17 November"
    assert fmt.month("2017-03-18") == "March 2017"
    assert fmt.moment("2026-01-08T06:55:28Z", "2025-12-31") == "06:55 UTC on 8 January 2026"
    assert fmt.when("2025-10-01T22:13:19Z") == "2025-10-01 22:13 UTC"
    assert fmt.when(None) == "n/a"


# -- the same figure in status, the brief and the report -----------------------------------

# Hashprice units, largest first, with their size in H/s (independent of the package).
UNITS_HS = (("PH/s", 1e15), ("TH/s", 1e12), ("GH/s", 1e9), ("MH/s", 1e6))


def _panel(db, day: str) -> str:
    console = Console(record=True, width=200, color_system=None, file=io.StringIO())
    terminal.status_panel(console, minerwatch.status(db, day))
    return console.export_text()


@pytest.fixture(scope="module")
def cm_by_day(cm_rows):
    return {r["time"][:10]: r for r in cm_rows}


@pytest.mark.parametrize("day", ["2010-07-18", "2010-08-01"])
def test_status_and_brief_print_the_same_price(loaded_db, cm_by_day, day):
    close = float(cm_by_day[day]["PriceUSD"])
    assert close < 1
    expected = f"${close:#.3g}"  # three significant figures under $1
    panel = _panel(loaded_db, day)
    price_line = next(line for line in panel.splitlines() if line.strip("│ ").startswith("Price"))
    assert expected in price_line
    assert f"Bitcoin closed at {expected} on" in minerwatch.brief(loaded_db, day).text


@pytest.mark.parametrize("day", ["2010-07-18", "2010-08-01", "2025-10-06"])
def test_status_brief_and_report_state_hashprice_in_the_same_unit(loaded_db, day):
    s = minerwatch.status(loaded_db, day).to_dict()
    network_hs = s["hashrate_ehs"]["7d"] * 1e18
    unit, size_hs = next((u, h) for u, h in UNITS_HS if network_hs >= h)
    per_unit = s["hashprice_usd_ph_day"] * size_hs / 1e15
    shown = f"${per_unit:,.2f}" if per_unit < 1000 else f"${per_unit:,.0f}"
    panel = _panel(loaded_db, day)
    line = next(line for line in panel.splitlines() if "Hashprice" in line)
    assert f"{shown}/{unit[:-2]}/day" in line
    assert f"expected revenue of 1 {unit} for a day, stands at {shown}" in (
        minerwatch.brief(loaded_db, day).text
    )
    from minerwatch.analyses.report import report_data
    from minerwatch.present.html import snapshot_table

    table = snapshot_table(report_data(loaded_db, day))
    assert f'<td class="num">{shown}</td><td class="wrap">USD per {unit} per day' in table


def _hashrates(text: str) -> list[tuple[float, str]]:
    return [
        (float(n.replace(",", "")), u) for n, u in re.findall(r"([\d.,]+) ([kMGTPEZ]?H/s)", text)
    ]


@pytest.mark.parametrize("day", ["2010-08-01", "2025-10-06"])
def test_a_panel_writes_every_hashrate_with_one_prefix(loaded_db, day):
    s = minerwatch.status(loaded_db, day).to_dict()
    lines = [line for line in _panel(loaded_db, day).splitlines() if "H/s" in line]
    shown = [h for line in lines for h in _hashrates(line)]
    units = {u for _, u in shown}
    assert len(units) == 1, lines
    (unit,) = units
    # The unit suits the largest figure (whole EH/s past 1,000 EH/s) and each figure is the
    # status JSON's value in it, to three significant figures.
    values = [*s["hashrate_ehs"].values(), s["hashrate_ath_ehs"]]
    prefix = {"EH/s": 1.0, "GH/s": 1e9}[unit]
    assert max(values) * prefix >= 1 and (unit == "EH/s" or max(values) * prefix < 1000)
    for v in values:
        x = v * prefix
        expected = round(x) if x >= 1000 else float(f"{x:.3g}")  # 1,024 EH/s; 2.27 GH/s
        assert expected in [n for n, _ in shown]
    brief = minerwatch.brief(loaded_db, day).text
    assert {u for _, u in _hashrates(brief.split("\n\n")[1])} == {unit}


def test_the_panel_shows_the_7_day_block_interval_once(blocks_db):
    s = minerwatch.status(blocks_db, "2025-10-06").to_dict()
    bi = s["block_intervals"]
    assert bi["source"] == "blocks"
    daily, from_times = s["block_interval_min_7d"], bi["7d"]["mean_min"]
    assert f"{daily:.2f}" != f"{from_times:.2f}"  # two estimates of one figure
    panel = _panel(blocks_db, "2025-10-06")
    assert panel.count(f"{daily:.2f}") == 1
    assert f"{from_times:.2f}" not in panel
    assert f"every {daily:.2f} minutes" in minerwatch.brief(blocks_db, "2025-10-06").text
