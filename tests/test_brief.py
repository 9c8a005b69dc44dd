"""The written brief (`minerwatch brief`): its figures are the library's, its sentences say
only what those figures show, an early day says less, and nothing after the day is read."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import minerwatch
from minerwatch.cli import app

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


@pytest.mark.parametrize("day", ["2022-11-21", "2025-12-31"])
def test_brief_figures_are_the_status_figures(loaded_db, briefs, day):
    b = briefs[day]
    status = minerwatch.status(loaded_db, day).to_dict()
    for key in STATUS_KEYS:
        assert b.figures[key] == status[key], key
    assert b.figures["as_of"] == b.as_of == day
    json.dumps(b.to_dict())  # JSON-ready


@pytest.mark.parametrize("day", ["2022-11-21", "2025-12-31"])
def test_every_topic_is_written_from_its_figures(loaded_db, briefs, day):
    b = briefs[day]
    f = b.figures
    text = b.text
    assert f"${f['price_usd']:,.0f}" in text
    assert f"{abs(f['price_to_cost_pct']):.1f}% below the average cost" in text
    assert f"${f['production_cost_usd']:,.0f} by the Difficulty Regression Model" in text
    assert "(drm-fit-2015, minerwatch's default model)" in text
    assert f"{abs(f['price_drawdown_pct']):.1f}% below its all-time high" in text
    assert f"{f['hashrate_ehs']['7d']:,.0f} EH/s" in text
    assert f"{abs(f['hashrate_drawdown_pct']):.1f}% below the record 7-day mean" in text
    assert f"every {f['block_interval_min_7d']:.2f} minutes" in text
    na = f["next_adjustment"]
    assert f"block {na['height']:,}" in text
    assert f"90% interval {na['change_pct_low']:+.1f}% to {na['change_pct_high']:+.1f}%" in text
    assert f"({f['hashprice_btc_ph_day']:.3g} BTC)" in text
    assert f"${f['hashprice_usd_ph_day']:,.2f}" in text
    economics = minerwatch.asic_economics(loaded_db, day)
    m = f["machines"]
    assert (m["underwater"], m["released"]) == (economics.underwater_count, len(economics.machines))
    assert f"{m['released']:,} ASIC models released by then" in text
    rows = {r["model"]: r for r in economics.to_dict()["machines"]}
    for named in m["named"]:
        row = rows[named["model"]]
        assert named["underwater"] == row["underwater"]
        assert f"${row['breakeven_power_price_usd_kwh']:.3f}/kWh" in text
    sig = minerwatch.signals(loaded_db, day)
    assert f["stress"] == [c.name for c in sig.stress]
    assert f["stress_checked"] == sig.stress_checked
    assert f"{f['puell_multiple']:.2f}, above {f['puell_percentile']:.0f}%" in text
    # Paragraphs in order: price, network, revenue and machines, signals, history.
    assert _topics(b)[:2] == ["price", "price_high"]
    assert b.text == "\n\n".join(b.paragraphs)


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
    assert "the price a year after the start was higher in two" in text
    assert f"median change was {below['median_return_pct']:+.1f}%" in text
    compression = history["compression"]
    assert compression["regime"] == "compression" and compression["n_days"] == 600
    assert "(600 days in 20 episodes;" in text
    assert history["ribbons"]["n"] > 0


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
    assert "fewer than 7 days have passed since, so that episode may not be over" in text
    assert "the model has no value before 31 December 2015, so it may have begun earlier" in text
    assert b.figures["below_cost_episode"]["censored_start"] is True


def test_the_brief_reads_nothing_after_its_day(loaded_db, db_to_2022_11_21):
    full = minerwatch.brief(loaded_db, "2022-11-21").to_dict()
    short = minerwatch.brief(db_to_2022_11_21, "2022-11-21").to_dict()
    assert short == full
    assert minerwatch.brief(db_to_2022_11_21).as_of == "2022-11-21"


def test_cli_brief_prints_the_text_and_the_json(loaded_db, briefs):
    runner = CliRunner()
    result = runner.invoke(app, ["brief", "--as-of", "2025-12-31", "--db", str(loaded_db)])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert flat.startswith("Bitcoin miners, 31 December 2025")
    assert " ".join(briefs["2025-12-31"].paragraphs[0].split()) in flat
    result = runner.invoke(
        app, ["brief", "--as-of", "2022-11-21", "--json", "--db", str(loaded_db)]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc == json.loads(json.dumps(briefs["2022-11-21"].to_dict()))
    assert set(doc) == {"as_of", "title", "text", "sentences", "figures"}


def test_cli_brief_outside_the_data_exits_2(loaded_db):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "minerwatch",
            "brief",
            "--as-of",
            "2030-01-01",
            "--db",
            str(loaded_db),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "outside the data" in proc.stderr
