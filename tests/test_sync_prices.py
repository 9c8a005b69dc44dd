"""`minerwatch sync prices` against the stand-in exchanges (tests/standins/exchanges.py):
closes stored per exchange, resume, kill-and-resume through the page transaction, 429
storms, the price rules, and the index and "price now" of `status`. Expected values are
computed here from prices_btcusd_daily.csv read with the csv module."""

from __future__ import annotations

import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime

import numpy as np
import pytest
from tests.standins.exchanges import FACTORS, ExchangesStandin

import minerwatch
from minerwatch.ingest.prices_feed import HOURLY_BACKFILL_DAYS, sync_prices
from minerwatch.metrics.price_index import price_index

NOW = 1_767_252_600  # 2026-01-01 07:30 UTC: every day of the CSV (to 2025-12-31) is complete
FAST = {"backoff_s": 0.01, "now_s": NOW}


def _day(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


@pytest.fixture(scope="module")
def closes(prices_csv) -> dict[str, float]:
    with open(prices_csv, newline="") as f:
        return {r["date"]: float(r["close_usd"]) for r in csv.DictReader(f)}


@pytest.fixture
def venues(prices_csv):
    with ExchangesStandin(prices_csv, NOW) as server:
        yield server


def _env(**extra: str) -> dict[str, str | None]:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("MINERWATCH_")}
    env.update(MINERWATCH_HTTP_BACKOFF_S="0.01", MINERWATCH_PRICES_NOW_S=str(NOW), **extra)
    return env


def _stored(db) -> dict:
    with minerwatch.open_store(db, read_only=True) as store:
        prices = store.read_prices()
        hourly = store.read_prices_hourly()
    daily = {
        (str(d), s): c
        for d, s, c in zip(prices["day"], prices["source"], prices["close_usd"], strict=True)
    }
    hours = {
        (int(h), s, q): c
        for h, s, q, c in zip(
            hourly["hour_s"], hourly["source"], hourly["quote"], hourly["close"], strict=True
        )
    }
    return {"daily": daily, "hourly": hours}


def test_cli_sync_prices_stores_each_exchanges_closes(cli, tmp_path, venues, closes):
    db = tmp_path / "db.duckdb"
    result = cli(
        "sync", "prices", "--source", "coinbase", "--source", "bitstamp", "--url", venues.url,
        "--db", db, env=_env(),
    )  # fmt: skip
    assert (result.returncode, result.stderr) == (0, "")
    assert "sync coinbase" in result.stdout and "sync bitstamp" in result.stdout
    got = _stored(db)["daily"]
    coinbase = {d: c for (d, s), c in got.items() if s == "coinbase"}
    bitstamp = {d: c for (d, s), c in got.items() if s == "bitstamp"}
    # Coinbase's market opened on 2015-07-20; Bitstamp's history covers the whole CSV.
    assert coinbase == {d: round(c * 1.001, 2) for d, c in closes.items() if d >= "2015-07-20"}
    assert bitstamp == closes
    hourly = _stored(db)["hourly"]
    first = NOW - NOW % 3600 - HOURLY_BACKFILL_DAYS * 86_400
    for source in ("coinbase", "bitstamp"):
        hours = sorted(h for h, s, _ in hourly if s == source)
        # The CSV ends on 2025-12-31: its last hour (23:00) is the newest candle there is.
        assert hours == list(range(first, _day("2025-12-31") + 23 * 3600 + 1, 3600))
        assert hourly[(hours[-1], source, "USD")] == round(
            closes["2025-12-31"] * FACTORS[source], 2
        )
    # Page limits: Coinbase in 300-day windows, Bitstamp 1,000 candles a request.
    assert all(q["limit"] == "1000" for q in venues.venue_requests("bitstamp"))
    again = cli(
        "sync", "prices", "--source", "bitstamp", "--url", venues.url, "--db", db, env=_env()
    )
    assert again.returncode == 0 and "nothing new from the source" in again.stdout
    # 6 daily pages and 1 hourly; then only the hours after the last one held are asked for.
    asked = venues.venue_requests("bitstamp")
    assert len(asked) == 8 and asked[-1]["start"] == str(_day("2026-01-01"))


def test_a_later_sync_resumes_after_the_last_day_and_hour(tmp_path, venues, closes):
    db = tmp_path / "db.duckdb"
    early = _day("2025-12-20") + 7 * 3600 + 1800
    venues.now_s = early
    sync_prices(db, sources=["bitstamp"], base_urls=[venues.url], backoff_s=0.01, now_s=early)
    before = len(venues.requests)
    venues.now_s = NOW
    result = sync_prices(db, sources=["bitstamp"], base_urls=[venues.url], **FAST)
    asked = [q for _, q in venues.requests[before:]]
    assert asked[0]["step"] == "86400" and asked[0]["start"] == str(_day("2025-12-20"))
    assert asked[1]["step"] == "3600" and asked[1]["start"] == str(early - 1800)
    (report,) = result.reports
    assert report.written("prices").new == 12  # 2025-12-20 to 12-31
    assert _stored(db)["daily"] == {(d, "bitstamp"): c for d, c in closes.items()}


def test_resume_after_kill_equals_an_uninterrupted_sync(cli, tmp_path, venues):
    """SIGKILL the command while its third page trickles in: the two pages committed stay,
    and the next sync completes the store exactly as one uninterrupted sync does."""
    db = tmp_path / "killed.duckdb"
    venues.trickle_at, venues.trickle_s = 3, 30.0
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINERWATCH_")}
    env.update(MINERWATCH_HTTP_BACKOFF_S="0.01", MINERWATCH_PRICES_NOW_S=str(NOW))
    command = [sys.executable, "-m", "minerwatch", "sync", "prices", "--source", "bitstamp"]
    proc = subprocess.Popen(
        [*command, "--url", venues.url, "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        stop = time.monotonic() + 60
        while len(venues.requests) < 3 and time.monotonic() < stop and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -9 and len(venues.requests) == 3
    kept = _stored(db)["daily"]
    assert len(kept) == 2000  # two pages of 1,000 days, committed
    venues.trickle_at = None
    result = cli(
        "sync", "prices", "--source", "bitstamp", "--url", venues.url, "--db", db, env=_env()
    )
    assert result.returncode == 0, result.stderr
    last_kept = max(d for d, _ in kept)
    resumed = venues.venue_requests("bitstamp")[3]
    assert resumed["start"] == str(_day(last_kept) + 86_400)
    whole = tmp_path / "whole.duckdb"
    sync_prices(whole, sources=["bitstamp"], base_urls=[venues.url], **FAST)
    assert _stored(db) == _stored(whole)


def test_a_429_storm_is_ridden_out(tmp_path, venues):
    venues.storm(4, retry_after_s=0.05)
    result = sync_prices(tmp_path / "db.duckdb", sources=["kraken"], base_urls=[venues.url], **FAST)
    (report,) = result.reports
    assert report.retries == 4 and not result.failures
    assert any("HTTP 429" in n for n in report.notes)
    assert report.written("prices").new == 720  # Kraken's latest 720 days, all complete


def test_a_storm_that_never_lifts_fails_that_exchange_only(cli, tmp_path, venues):
    db = tmp_path / "db.duckdb"
    venues.down = {"kraken"}
    result = cli(
        "sync", "prices", "--source", "kraken", "--source", "bitstamp", "--url", venues.url,
        "--db", db, env=_env(MINERWATCH_HTTP_ATTEMPTS="2"),
    )  # fmt: skip
    assert result.returncode == 3
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("source error: kraken:") and "503" in lines[0]
    assert "sync bitstamp" in result.stdout  # the next exchange was still synced
    assert {s for _, s in _stored(db)["daily"]} == {"bitstamp"}


def test_a_page_beyond_x3_of_another_source_is_refused(cli, tmp_path, venues):
    db = tmp_path / "db.duckdb"
    assert cli("sync", "prices", "--source", "bitstamp", "--url", venues.url, "--db", db,
               env=_env()).returncode == 0  # fmt: skip
    venues.factors["coinbase"] = 20.0
    result = cli(
        "sync", "prices", "--source", "coinbase", "--url", venues.url, "--db", db, env=_env()
    )
    assert result.returncode == 3
    assert "20 times source 'bitstamp'" in result.stderr and "not stored" in result.stderr
    assert {s for _, s in _stored(db)["daily"]} == {"bitstamp"}


def _expected_index(closes: dict[str, float], day: str, members: list[str]) -> tuple:
    values = [round(closes[day] * FACTORS[m], 2) for m in members]
    median = statistics.median(values)
    return median, len(values), (max(values) - min(values)) / median


def test_index_is_the_median_of_the_usd_exchanges(tmp_path, venues, closes):
    db = tmp_path / "db.duckdb"
    sync_prices(db, base_urls=[venues.url], **FAST)  # all four, Binance (USDT) included
    with minerwatch.open_store(db, read_only=True) as store:
        prices = store.read_prices()
    index = price_index(prices["day"], prices["source"], prices["close_usd"])
    cases = {
        "2013-05-01": ["bitstamp"],  # before Coinbase's market and Kraken's window
        "2016-06-24": ["bitstamp", "coinbase"],
        "2025-12-31": ["bitstamp", "coinbase", "kraken"],  # in Kraken's latest 720 days
    }
    for day, members in cases.items():
        median, count, spread = _expected_index(closes, day, members)
        got = index.at(np.datetime64(day))
        assert got is not None and got[1] == count, day
        assert got[0] == pytest.approx(median, rel=1e-12) and got[2] == pytest.approx(spread)
    # The USDT closes stay out: Binance has 2018 days the index counts without it.
    assert index.at(np.datetime64("2018-03-01"))[1] == 2


def test_status_shows_the_index_and_the_price_now(cli, tmp_path, venues, closes, loaded_db):
    db = tmp_path / "db.duckdb"
    shutil.copy(loaded_db, db)
    result = cli(
        "sync", "prices", "--source", "coinbase", "--source", "bitstamp", "--url", venues.url,
        "--db", db, env=_env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    status = cli("status", "--json", "--db", db)
    assert status.returncode == 0, status.stderr
    got = json.loads(status.stdout)
    median, count, spread = _expected_index(closes, "2025-12-31", ["bitstamp", "coinbase"])
    assert got["as_of"] == "2025-12-31"
    assert got["price_index_usd"] == pytest.approx(median)
    assert got["price_index_sources"] == count == 2
    assert got["price_index_spread_pct"] == pytest.approx(100 * spread)
    # The latest complete hourly close: the 23:00 hour of 2025-12-31, closed at midnight;
    # both exchanges have it, and the first by name is given.
    assert got["price_now_usd"] == closes["2025-12-31"]
    assert (got["price_now_time"], got["price_now_source"]) == ("2026-01-01T00:00:00Z", "bitstamp")
    assert got["price_source"] == "bitstamp"  # an exchange's close before Coin Metrics'
    panel = cli("status", "--db", db).stdout
    assert "exchange index" in panel and "last hourly close" in panel
    assert "bitstamp, 2026-01-01 00:00Z" in panel
    earlier = json.loads(cli("status", "--json", "--as-of", "2025-06-01", "--db", db).stdout)
    assert earlier["price_now_usd"] is None and earlier["price_index_sources"] == 2


def test_unknown_exchange_and_bad_day_are_input_errors(cli, tmp_path):
    db = tmp_path / "db.duckdb"
    bad = cli("sync", "prices", "--source", "ftx", "--db", db, env=_env())
    assert bad.returncode == 2 and "'ftx' is not a known exchange" in bad.stderr
    day = cli("sync", "prices", "--from", "2025-02-30", "--db", db, env=_env())
    assert day.returncode == 2 and "--from '2025-02-30'" in day.stderr
