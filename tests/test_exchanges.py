"""Exchanges' candle endpoints (sources/exchanges.py) against the stand-in venues of
tests/standins/exchanges.py, whose candles come from the real daily closes of
prices_btcusd_daily.csv (read here with the csv module, never through minerwatch)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime

import httpx
import pytest
from tests.standins.exchanges import FACTORS, ExchangesStandin
from werkzeug.wrappers import Response

from minerwatch.errors import BadResponse
from minerwatch.sources import exchanges
from minerwatch.sources.exchanges import DAY_S, HOUR_S, CandleRequest

NOW = 1_767_166_200  # 2025-12-31 07:30 UTC: the day's candle and the 07:00 hour are running
DEC_1 = 1_764_547_200  # 2025-12-01 00:00 UTC


def _t(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


@pytest.fixture(scope="module")
def closes(prices_csv) -> dict[int, float]:
    with open(prices_csv, newline="") as f:
        return {_t(r["date"]): float(r["close_usd"]) for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def venues(prices_csv):
    with ExchangesStandin(prices_csv, NOW) as server:
        yield server


@pytest.fixture
def client():
    with httpx.Client(timeout=10) as c:
        yield c


def _page(client, venues, name, interval_s, start_s):
    venue = exchanges.exchange(name)
    request = CandleRequest(interval_s, start_s)
    return exchanges.get_page(client, venue, request, base_url=venues.url, now_s=NOW)


@pytest.mark.parametrize("name", list(exchanges.EXCHANGES))
def test_daily_candles_are_the_days_closes_ascending(client, venues, closes, name):
    page = _page(client, venues, name, DAY_S, DEC_1)
    days = [DEC_1 + k * DAY_S for k in range(30)]  # 2025-12-01 to 12-30; 12-31 is running
    assert page.start_s.tolist() == days
    assert page.close.tolist() == [round(closes[d] * FACTORS[name], 2) for d in days]
    start, partial = page.running
    assert start == _t("2025-12-31") and partial != round(closes[start] * FACTORS[name], 2)
    assert page.next is None  # nothing after the running candle yet


@pytest.mark.parametrize("name", list(exchanges.EXCHANGES))
def test_the_last_hour_of_a_day_closes_at_the_days_close(client, venues, closes, name):
    day = _t("2025-12-20")
    daily = _page(client, venues, name, DAY_S, day)
    hourly = _page(client, venues, name, HOUR_S, day)
    assert daily.start_s[0] == day
    at_23 = hourly.start_s.tolist().index(day + 23 * HOUR_S)
    # The daily candle of D closes at D+1 00:00 UTC, as the hour that starts at D 23:00.
    assert hourly.close[at_23] == daily.close[0] == round(closes[day] * FACTORS[name], 2)
    assert hourly.start_s[-1] == NOW - NOW % HOUR_S - HOUR_S  # 06:00; 07:00 is running


def test_each_venue_keeps_to_its_page_limit(client, venues):
    start = _t("2020-01-01")
    before = len(venues.requests)
    coinbase = _page(client, venues, "coinbase", DAY_S, start)
    bitstamp = _page(client, venues, "bitstamp", DAY_S, start)
    binance = _page(client, venues, "binance", DAY_S, start)
    kraken = _page(client, venues, "kraken", DAY_S, start)
    assert [len(coinbase), len(bitstamp), len(binance)] == [300, 1000, 1000]
    assert len(kraken) == 719  # its latest 720 candles, the running one left out
    asked = [q for _, q in venues.requests[before:]]
    assert (_t(asked[0]["end"][:10]) - _t(asked[0]["start"][:10])) // DAY_S == 299
    assert asked[1]["limit"] == "1000" and asked[2]["limit"] == "1000"
    assert asked[2]["startTime"] == str(start * 1000) and asked[3]["interval"] == "1440"
    # The next page starts after each page's last candle (a window for Coinbase).
    assert coinbase.next == CandleRequest(DAY_S, start + 300 * DAY_S)
    assert bitstamp.next == CandleRequest(DAY_S, int(bitstamp.start_s[-1]) + DAY_S)
    assert binance.next == CandleRequest(DAY_S, int(binance.start_s[-1]) + DAY_S)
    assert kraken.next is None
    assert any("latest 720 candles" in n for n in kraken.notes)


def test_binance_is_flagged_usdt():
    assert exchanges.EXCHANGES["binance"].quote == "USDT"
    assert "binance" not in exchanges.USD_SOURCES
    assert set(exchanges.USD_SOURCES) == {"coinbase", "kraken", "bitstamp"}


def _serve(httpserver, path: str, body) -> str:
    httpserver.expect_request(path).respond_with_response(
        Response(json.dumps(body), 200, content_type="application/json")
    )
    return httpserver.url_for("")


@pytest.mark.parametrize(
    "name, path, body, words",
    [
        ("coinbase", "/products/BTC-USD/candles", [[DEC_1 + 5, 1, 2, 1, 2, 3]], "grid"),
        ("coinbase", "/products/BTC-USD/candles", {"message": "x"}, "expected a list"),
        ("bitstamp", "/api/v2/ohlc/btcusd/", {"data": {"ohlc": [{"timestamp": "1"}]}}, "lacks"),
        (
            "bitstamp",
            "/api/v2/ohlc/btcusd/",
            {"data": {"ohlc": [{"timestamp": str(DEC_1), "close": "abc"}]}},
            "'abc'",
        ),
        ("binance", "/api/v3/klines", [[DEC_1 * 1000, "1", "1", "1", "-5"]], "closes at -5.0"),
        ("kraken", "/0/public/OHLC", {"error": ["EQuery:Unknown asset pair"]}, "Unknown asset"),
        (
            "bitstamp",
            "/api/v2/ohlc/btcusd/",
            {"data": {"ohlc": [{"timestamp": str(DEC_1), "close": "1"}] * 2}},
            "two candles",
        ),
    ],
)
def test_pages_out_of_shape_are_bad_responses(client, httpserver, name, path, body, words):
    base = _serve(httpserver, path, body)
    with pytest.raises(BadResponse) as e:
        exchanges.get_page(
            client,
            exchanges.exchange(name),
            CandleRequest(DAY_S, DEC_1),
            base_url=base,
            now_s=NOW,
        )
    assert words in str(e.value) and path in str(e.value)
