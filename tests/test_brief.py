"""The written brief (`minerwatch brief`): its figures are the library's, its sentences say
only what those figures show, an early day says less, and nothing after the day is read."""

from __future__ import annotations

import json
import math
import re
from datetime import date

import pytest

import minerwatch
from minerwatch.present.brief import PARAGRAPHS

# Figures the brief shares with `minerwatch status --json`, under the same names.
STATUS_KEYS = (
    "price_usd",
    "price_source",
    "price_ath_usd",
    "price_ath_date",
    "price_drawdown_pct",
    "price_change_30d_pct",
    "production_cost_usd",
    "production_cost_model",
    "price_to_cost_pct",
    "hashrate_ehs",
    "hashrate_ath_ehs",
    "hashrate_ath_date",
    "hashrate_drawdown_pct",
    "block_interval_min_7d",
    "next_adjustment",
    "revenue_usd_1d",
    "revenue_btc_1d",
    "subsidy_btc_1d",
    "fees_btc_1d",
    "fees_share_pct_7d",
    "hashprice_usd_ph_day",
    "hashprice_btc_ph_day",
    "puell_multiple",
    "hash_ribbons",
)


@pytest.fixture(scope="module")
def briefs(loaded_db):
    return {d: minerwatch.brief(loaded_db, d) for d in ("2022-11-21", "2025-12-31")}


def _topics(b) -> list[str]:
    return [s.topic for s in b.sentences]


def _number(text: str) -> float:
    """A number as printed: ``$87,517`` -> 87517.0, ``-4.4`` -> -4.4, ``$36.6 million``."""
    scale = 1e6 if text.endswith(" million") else 1.0
    return float(text.removesuffix(" million").lstrip("$").replace(",", "")) * scale


def _printed(text: str, pattern: str) -> list[float]:
    """The numbers captured by ``pattern``'s groups in ``text`` (exactly one match)."""
    found = re.findall(pattern, text)
    assert len(found) == 1, (pattern, found)
    groups = found[0] if isinstance(found[0], tuple) else (found[0],)
    return [_number(g) for g in groups]


def _shown(printed: float, value: float, decimals: int) -> bool:
    """``printed`` is ``value`` rounded to ``decimals`` decimals (read back from the text)."""
    return abs(printed - value) <= 0.5 * 10**-decimals + 1e-9 * abs(value)


def _long_date(day: str, as_of: str) -> str:
    """``day`` as the brief of ``as_of`` writes it: ``8 November 2021``, without the year
    in the year of ``as_of``."""
    d = date.fromisoformat(day)
    return f"{d.day} {d:%B}" if day[:4] == as_of[:4] else f"{d.day} {d:%B %Y}"


@pytest.mark.parametrize("day", ["2022-11-21", "2025-12-31"])
def test_the_numbers_printed_follow_from_the_csv(briefs, cm_rows, day):
    # Each number as it reads in the text, parsed back, is the figure computed here from the
    # Coin Metrics file itself (its formula in docs/status.md; no minerwatch code), rounded
    # to the precision printed. loaded_db holds no other prices: the close is PriceUSD.
    text = briefs[day].text
    rows = cm_rows[: next(i for i, r in enumerate(cm_rows) if r["time"] == day) + 1]

    def column(name: str, days: int, empty: float = math.nan) -> list[float]:
        return [float(r[name]) if r[name] else empty for r in rows[-days:]]

    price = column("PriceUSD", 1)[0]
    (printed,) = _printed(text, r"Bitcoin closed at " + MONEY)
    assert _shown(printed, price, 0)
    closes = [(r["time"], float(r["PriceUSD"])) for r in rows if r["PriceUSD"]]
    ath = max(close for _, close in closes)
    ath_day = next(d for d, close in closes if close == ath)
    drawdown, high = _printed(text, r"The price is ([\d.]+)% below its all-time high of " + MONEY)
    high_text = f"${high:,.0f}"
    assert _shown(high, ath, 0) and f"{high_text} ({_long_date(ath_day, day)})" in text
    assert _shown(drawdown, 100 * (1 - price / ath), 1)
    (change,) = _printed(text, r"(?:up|down) ([\d.]+)% over 30 days")
    assert _shown(change, abs(100 * (price / column("PriceUSD", 31)[0] - 1)), 1)
    # Hashrate: sum(B * D) * 2^32 / (7 * 86400) over the week, with D recovered from
    # HashRate, is the mean of HashRate (TH/s); the record is the highest such 7-day mean.
    hashrate = column("HashRate", len(rows), empty=0.0)  # empty before the first block
    weekly = [sum(hashrate[i - 6 : i + 1]) / 7 / 1e6 for i in range(6, len(hashrate))]
    record_day = rows[6 + weekly.index(max(weekly))]["time"]
    (week,) = _printed(text, r"Network hashrate averaged ([\d,.]+) EH/s")
    assert _shown(week, weekly[-1], 0)
    below, record = _printed(text, r"EH/s over the past seven days, ([\d.]+)% below the record "
                             r"7-day mean of ([\d,.]+) EH/s")  # fmt: skip
    assert _shown(record, max(weekly), 0)
    assert f"EH/s set on {_long_date(record_day, day)}" in text
    assert _shown(below, 100 * (1 - weekly[-1] / max(weekly)), 1)
    (interval,) = _printed(text, r"Blocks came every ([\d.]+) minutes")
    assert _shown(interval, 7 * 1440 / sum(column("BlkCnt", 7)), 2)
    issued, fees = column("IssTotNtv", 1)[0], column("FeeTotNtv", 1)[0]
    (revenue,) = _printed(text, r"Miners earned " + MONEY + " on the day")
    assert _shown(revenue, (issued + fees) * price, -5)  # $36.6 million: to 0.1 million
    total, coins, fee_btc = _printed(
        text, r"([\d,.]+) BTC, of which ([\d,.]+) BTC in new coins and ([\d,.]+) BTC in fees"
    )
    assert _shown(total, issued + fees, 2) and _shown(coins, issued, 2)
    assert _shown(fee_btc, fees, 2)
    (share,) = _printed(text, r"fees were ([\d.]+)% of revenue")
    week_fees, week_issued = sum(column("FeeTotNtv", 7)), sum(column("IssTotNtv", 7))
    assert _shown(share, 100 * week_fees / (week_fees + week_issued), 2)
    # Puell: the day's new coins in USD over their trailing 365-day mean.
    year = zip(column("IssTotNtv", 365), column("PriceUSD", 365), strict=True)
    issued_usd = [coins * close for coins, close in year]
    (puell,) = _printed(text, r"is ([\d.]+), above \d+% of the daily readings")
    assert _shown(puell, issued_usd[-1] / (sum(issued_usd) / 365), 2)


def test_brief_figures_are_json_ready_and_dated(briefs):
    for day, b in briefs.items():
        assert b.figures["as_of"] == b.as_of == day
        assert set(STATUS_KEYS) <= set(b.figures)
        json.dumps(b.to_dict())


MONEY = r"(\$[\d,]+(?:\.\d+)?(?: million)?)"
PCT = r"([+-]?[\d.]+)%"


@pytest.mark.parametrize("day", ["2022-11-21", "2025-12-31"])
def test_the_numbers_printed_are_the_status_figures(loaded_db, briefs, day):
    # Each number as it reads in the text, parsed back, is the status figure rounded to the
    # precision printed: what a reader sees is what `minerwatch status --json` gives.
    s = minerwatch.status(loaded_db, day)
    text = briefs[day].text
    (price,) = _printed(text, r"Bitcoin closed at " + MONEY)
    assert _shown(price, s.price_usd, 0)
    (gap,) = _printed(text, r", ([\d.]+)% below the average cost of producing one")
    assert _shown(gap, -s.price_to_cost_pct, 1)
    (cost,) = _printed(text, r"producing one, " + MONEY + " by the Difficulty")
    assert _shown(cost, s.production_cost_usd, 0)
    drawdown, ath = _printed(text, r"The price is ([\d.]+)% below its all-time high of " + MONEY)
    assert _shown(drawdown, -s.price_drawdown_pct, 1) and _shown(ath, s.price_ath_usd, 0)
    (change,) = _printed(text, r"(?:up|down) ([\d.]+)% over 30 days")
    assert _shown(change, abs(s.price_change_30d_pct), 1)
    (week,) = _printed(text, r"Network hashrate averaged ([\d,.]+) EH/s")
    assert _shown(week, s.hashrate_ehs["7d"], 0)
    (interval,) = _printed(text, r"Blocks came every ([\d.]+) minutes")
    assert _shown(interval, s.block_interval_min_7d, 2)
    na = s.next_adjustment
    low, high = _printed(text, r"90% interval " + PCT + " to " + PCT + r"\)")
    assert _shown(low, na.change_pct_low, 1) and _shown(high, na.change_pct_high, 1)
    (height,) = _printed(text, r"at block ([\d,]+) \(")
    assert height == na.height
    (revenue,) = _printed(text, r"Miners earned " + MONEY + " on the day")
    assert _shown(revenue, s.revenue_usd_1d, -5)  # $36.6 million: to 0.1 million
    (coins,) = _printed(text, r"([\d,.]+) BTC in new coins")
    assert _shown(coins, s.subsidy_btc_1d, 2)
    (share,) = _printed(text, r"fees were ([\d.]+)% of revenue")
    assert _shown(share, s.fees_share_pct_7d, 2)
    usd, btc = _printed(text, r"for a day, stands at " + MONEY + r" \(([\d.]+) BTC\)")
    assert _shown(usd, s.hashprice_usd_ph_day, 2)
    assert btc == pytest.approx(s.hashprice_btc_ph_day, rel=5e-3)  # three significant figures
    puell, percentile = _printed(text, r"is ([\d.]+), above (\d+)% of the daily readings")
    assert _shown(puell, s.puell_multiple, 2)
    assert _shown(percentile, minerwatch.signals(loaded_db, day).puell.percentile, 0)


@pytest.mark.parametrize("day", ["2022-11-21", "2025-12-31"])
def test_every_topic_says_what_its_figures_show(loaded_db, briefs, day):
    b = briefs[day]
    f = b.figures
    sentences = {sent.topic: sent.text for sent in b.sentences}
    # Paragraphs in reading order; every sentence a whole sentence.
    order = [t for group in PARAGRAPHS for t in group]
    assert _topics(b) == sorted(_topics(b), key=order.index)
    assert all(t[0].isupper() and t.endswith(".") for t in sentences.values())
    assert b.text == "\n\n".join(b.paragraphs)
    # Direction words agree with the signs of the figures.
    assert ("below the average cost" in sentences["price"]) == (f["price_to_cost_pct"] < 0)
    assert sentences["price_high"].endswith(
        f"{'up' if f['price_change_30d_pct'] >= 0 else 'down'} "
        f"{abs(f['price_change_30d_pct']):.1f}% over 30 days."
    )
    # The forecast is hedged and given with its interval; nothing is promised.
    blocks = sentences["blocks"]
    assert "on course" in blocks and "90% interval" in blocks
    assert "expected around" in blocks and "between" in blocks
    assert not re.search(r"\b(will|bottom)\b", b.text, re.IGNORECASE)
    # The machines: the count agrees with the economics, the verb with the count.
    economics = minerwatch.asic_economics(loaded_db, day)
    m = f["machines"]
    assert (m["underwater"], m["released"]) == (economics.underwater_count, len(economics.machines))
    assert f"{m['underwater']} of the {m['released']} ASIC models" in sentences["machines"]
    assert "are underwater, their power costing more than they earn" in sentences["machines"]
    rows = {r["model"]: r for r in economics.to_dict()["machines"]}
    for named in m["named"]:
        assert named["underwater"] == rows[named["model"]]["underwater"]
    # Stress: as many conditions named as hold, out of those checked.
    sig = minerwatch.signals(loaded_db, day)
    assert f["stress"] == [c.name for c in sig.stress]
    held = len(sig.stress)
    assert sentences["stress"].startswith(f"{'Two' if held == 2 else 'One'} of the six")
    # History comes with its sample size.
    for topic in ("history_below_cost", "history_compression", "history_ribbons"):
        if topic in sentences:
            assert re.search(
                r"\b(one|two|three|four|five|six|seven|eight|nine|\d+)\b", sentences[topic]
            )


def test_the_2025_brief_names_the_episode_the_ribbons_and_the_history(briefs):
    b = briefs["2025-12-31"]
    text, f = b.text, b.figures
    assert b.title == "Bitcoin miners, 31 December 2025"
    assert "closed at $87,517 on 31 December 2025, 3.0% below" in text
    episode = f["below_cost_episode"]
    assert episode["start"] == "2025-11-17" and episode["ongoing"]
    assert f"{episode['days_below']} of the {episode['days']} days since 17 November" in text
    assert "is on course for -0.9% (90% interval -4.4% to +2.7%)" in text
    assert "between 19:00 UTC on 7 January and 19:36 UTC on 8 January" in text
    assert "23 of the 76 ASIC models released by then are underwater" in text
    assert "among them the Antminer S19 (breakeven $0.045/kWh)" in text
    assert "capitulation since 25 November" in text
    assert "Two of the six miner-stress conditions" in text
    history = f["history"]
    below = history["below_cost"]
    # The six finished episodes of docs/signals.md with a year of prices after their start.
    assert (below["episodes"], below["positive"], below["current_included"]) == (6, 2, False)
    assert "the price a year after the start was higher in two; the median change was -8.2%" in text
    # Episodes are counted by their span, gaps back above cost included.
    assert "that lasted a week or more (spells of under seven days back above it included)" in text
    # Compression: the share and the mean of both regimes, and whether the intervals overlap
    # (the means are about the same: +20.9% against +20.2%).
    compression = history["compression"]
    assert compression["regime"] == "compression" and compression["n_days"] == 600
    assert compression["growth"]["mean_return_pct"] == pytest.approx(20.25, abs=0.01)
    assert (
        "higher price 90 days later 66% of the time (600 days in 20 episodes; mean return "
        "+20.9%, 90% interval of the mean +6.5% to +39.0%), against 57% after days of growth "
        "(3,693 days in 17 episodes; mean +20.2%, interval +10.9% to +33.1%); the two means' "
        "intervals overlap."
    ) in text
    # Ribbons: the capitulations against the base rate of the same study.
    ribbons = history["ribbons"]
    assert (ribbons["n"], ribbons["positive"]) == (25, 22)
    assert ribbons["baseline"]["n_days"] == 5466
    assert (
        "higher in 22 of them (median change +52.0%); on every day since the first "
        "capitulation ended (5,466 days with a price 180 days later), it was higher 68% of the "
        "time (median change +39.5%)."
    ) in text


def test_the_ftx_low_brief(briefs):
    b = briefs["2022-11-21"]
    text, f = b.text, b.figures
    assert "51.6% below the average cost of producing one" in text
    assert "every one of the 165 days since 10 June" in text
    assert "the lowest in 12 months" in text  # hashprice at a 12-month low
    assert "among them the Antminer S9" in text
    assert "The hash ribbons show no capitulation" in text
    # Growth of the 30-day mean hashrate: no compression sentence; no ribbon history either.
    assert set(f["history"]) == {"below_cost"}
    assert f["history"]["below_cost"]["episodes"] == 3
    assert "history_compression" not in _topics(b)


@pytest.fixture(scope="module")
def past(loaded_db):
    days = ("2010-09-01", "2013-06-01", "2018-12-15", "2020-03-13")
    return {d: minerwatch.brief(loaded_db, d) for d in days}


def _sentence(b, topic: str) -> str:
    return next(s.text for s in b.sentences if s.topic == topic)


def test_no_machine_underwater_reads_none_is(past):
    b = past["2018-12-15"]
    assert b.figures["machines"]["underwater"] == 0
    assert _sentence(b, "machines") == (
        "At $0.05/kWh (2% pool fee, 97% uptime), none of the three ASIC models released by "
        "then is underwater; the Antminer S9 breaks even at $0.060/kWh."
    )


def test_one_machine_underwater_is_singular_and_named(past):
    b = past["2020-03-13"]
    assert b.figures["machines"]["underwater"] == 1
    assert _sentence(b, "machines") == (
        "At $0.05/kWh (2% pool fee, 97% uptime), one of the 13 ASIC models released by then "
        "is underwater, its power costing more than it earns: the Antminer S9 (breakeven "
        "$0.038/kWh); the S19 breaks even at $0.108/kWh."
    )


def test_one_episode_of_history_is_named_with_its_return(past):
    b = past["2018-12-15"]
    below = b.figures["history"]["below_cost"]
    assert below["episodes"] == 1
    assert below["each"] == [
        {"start": "2017-03-18", "return_pct": pytest.approx(750.746, abs=1e-3)}
    ]
    text = _sentence(b, "history_below_cost")
    assert text == (
        "History: there is one earlier episode of the close below this cost that lasted a week "
        "or more (spells of under seven days back above it included) and began at least a year "
        "ago, from March 2017; a year after its start the price was 750.7% higher."
    )
    assert "median" not in text and "episodes" not in text


def test_two_episodes_of_history_are_named_with_no_median(past):
    b = past["2020-03-13"]
    below = b.figures["history"]["below_cost"]
    assert below["episodes"] == 2 and [e["start"] for e in below["each"]] == [
        "2017-03-18",
        "2018-02-01",
    ]
    text = _sentence(b, "history_below_cost")
    assert text.endswith(
        "a year after the start the price was 750.7% higher in the one from March 2017 and "
        "61.9% lower in the one from February 2018."
    )
    assert "median" not in text


def test_a_steep_fall_without_history_falls_back_to_every_fall(past):
    # 2018-12-15: the 30-day mean hashrate fell 21.9%, more than the 5% of the strong
    # regime, but no such fall since 2014 had 90 days of prices after it yet.
    b = past["2018-12-15"]
    compression = b.figures["history"]["compression"]
    assert compression["regime"] == "compression" and compression["steep_without_history"]
    assert compression["n_days"] == 65
    text = _sentence(b, "history_compression")
    assert text.startswith(
        "The 30-day mean hashrate fell 21.9% over the past 30 days, a steep fall: no fall of "
        "more than 5% since 2014 has 90 days of prices after it yet, but days after any fall "
        "were followed by a higher price 90 days later 69% of the time (65 days in three "
        "episodes; mean return +9.1%"
    )
    # Counts from one to nine in words, in the ribbon history too.
    assert "After the seven ribbon capitulations since 2011" in b.text
    assert "higher in six of them" in b.text


def test_before_the_network_reached_1_phs_hashprice_is_per_ths_or_ghs(past):
    b = past["2010-09-01"]
    f = b.figures
    assert f["hashprice_btc_ph_day"] == pytest.approx(1_613_501_939, rel=1e-6)  # the status key
    assert f["hashprice_unit"] == "GH/s"
    assert f["hashprice_btc_unit_day"] == pytest.approx(1613.501939, rel=1e-6)
    assert (
        "Hashprice, the expected revenue of 1 GH/s for a day, stands at $100.08 (1,613.50 BTC); "
        "it is given per GH/s, not the usual PH/s, as the whole network ran 5.17 GH/s."
    ) in b.text
    # 1 GH/s of a 5.17 GH/s network earns less than the 7,850 BTC the network did.
    assert f["hashprice_btc_unit_day"] < f["revenue_btc_1d"]
    b = past["2013-06-01"]
    assert b.figures["hashprice_unit"] == "TH/s"
    assert "expected revenue of 1 TH/s for a day, stands at $5,370 (41.70 BTC)" in b.text
    assert "PH/s for a day" not in b.text and "million" not in _sentence(b, "hashprice")


def test_prices_under_a_dollar_keep_three_significant_figures(past):
    b = past["2010-09-01"]
    assert b.sentences[0].text == "Bitcoin closed at $0.0620 on 1 September 2010."
    assert "27.7% below its all-time high of $0.0858 (18 July)" in b.text
    assert "(target: 10 minutes)" in b.text


def test_an_early_day_says_less(loaded_db):
    b = minerwatch.brief(loaded_db, "2011-01-01")
    f = b.figures
    assert f["production_cost_usd"] is None and f["machines"] is None and f["history"] == {}
    topics = _topics(b)
    assert "price" in topics and "hashrate" in topics and "blocks" in topics
    assert "machines" not in topics and not any(t.startswith("history") for t in topics)
    assert "cost" not in b.text and "ASIC" not in b.text and "Puell" not in b.text
    assert "119 GH/s" in b.text  # small hashrates keep their unit
    # Before the first close: no price sentence, revenue in BTC only, no hashprice.
    b = minerwatch.brief(loaded_db, "2009-06-01")
    topics = _topics(b)
    assert "price" not in topics and "hashprice" not in topics
    assert "Miners earned 3,550.00 BTC on the day" in b.text
    assert "$" not in b.text


def test_an_episode_back_above_cost_within_the_merge_gap_is_not_called_over(loaded_db):
    # 2016-05-27 was the last close below cost of the first episode; two days later the
    # merge gap (7 days) has not passed, and that episode began on the model's first day.
    b = minerwatch.brief(loaded_db, "2016-05-29")
    text = b.sentences[0].text
    assert "8.3% above the average cost" in text
    assert "on 148 of the 149 days from 31 December 2015 to 27 May" in text
    assert "fewer than seven days have passed since, so that episode may not be over" in text
    assert "the model has no value before 31 December 2015, so it may have begun earlier" in text
    assert b.figures["below_cost_episode"]["censored_start"] is True


def test_the_brief_reads_nothing_after_its_day(loaded_db, db_to_2022_11_21):
    full = minerwatch.brief(loaded_db, "2022-11-21").to_dict()
    short = minerwatch.brief(db_to_2022_11_21, "2022-11-21").to_dict()
    assert short == full
    assert minerwatch.brief(db_to_2022_11_21).as_of == "2022-11-21"


def test_cli_brief_prints_the_text_and_the_json(cli, loaded_db, briefs):
    result = cli("brief", "--as-of", "2025-12-31", "--db", loaded_db)
    assert result.returncode == 0, result.stderr
    flat = " ".join(result.stdout.split())
    assert flat.startswith("Bitcoin miners, 31 December 2025")
    assert " ".join(briefs["2025-12-31"].paragraphs[0].split()) in flat
    result = cli("brief", "--as-of", "2022-11-21", "--json", "--db", loaded_db)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc == json.loads(json.dumps(briefs["2022-11-21"].to_dict()))
    assert set(doc) == {"as_of", "title", "text", "sentences", "figures", "provisional"}
    assert doc["provisional"] is False


def test_cli_brief_outside_the_data_exits_2(cli, loaded_db):
    proc = cli("brief", "--as-of", "2030-01-01", "--db", loaded_db)
    assert proc.returncode == 2
    assert "outside the data" in proc.stderr
