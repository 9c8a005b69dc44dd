"""The exchange price index, the "price now" and where USDT closes stand in the daily
frame's automatic price choice."""

from __future__ import annotations

import numpy as np
import pytest

from minerwatch.frames import select_prices
from minerwatch.metrics.price_index import price_index, price_now


def test_index_median_count_and_spread_per_day():
    day = np.array(["2025-01-01"] * 4 + ["2025-01-02"] * 2, "datetime64[D]")
    source = np.array(["coinbase", "kraken", "bitstamp", "binance", "kraken", "coinmetrics"])
    close = np.array([100.0, 104.0, 101.0, 500.0, 90.0, 95.0])
    index = price_index(day, source, close)
    assert index.day.tolist() == [np.datetime64("2025-01-01"), np.datetime64("2025-01-02")]
    assert index.index_usd.tolist() == [101.0, 90.0]  # Binance and Coin Metrics left out
    assert index.sources.tolist() == [3, 1]
    assert index.spread.tolist() == pytest.approx([4 / 101, 0.0])
    assert index.at(np.datetime64("2025-01-03")) is None
    even = price_index(day[:2], source[:2], close[:2])
    assert even.index_usd.tolist() == [102.0]  # the mean of the two middle closes


def test_price_now_is_the_latest_complete_usd_hour():
    hour = np.array([0, 3600, 3600, 7200, 7200])
    source = np.array(["kraken", "kraken", "coinbase", "binance", "bitstamp"])
    quote = np.array(["USD", "USD", "USD", "USDT", "USD"])
    close = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    # At 10,000 s the 7,200 hour is still running: the latest complete one is 3,600, where
    # coinbase comes first by name.
    now = price_now(hour, source, quote, close, now_s=10_000)
    assert (now.source, now.close, now.close_time_s, now.quote) == ("coinbase", 3.0, 7200, "USD")
    assert price_now(hour, source, quote, close, now_s=11_000).source == "bitstamp"
    usdt = price_now(hour[3:4], source[3:4], quote[3:4], close[3:4], now_s=11_000)
    assert (usdt.source, usdt.quote) == ("binance", "USDT")
    assert price_now(hour, source, quote, close, now_s=3_599) is None


def test_auto_prices_take_usdt_only_where_no_usd_source_has_the_day():
    days = np.array(["2025-01-01", "2025-01-02", "2025-01-03"], "datetime64[D]")
    prices = {
        "day": np.array(["2025-01-01", "2025-01-01", "2025-01-02", "2025-01-03"], "datetime64[D]"),
        "source": np.array(["binance", "coinmetrics", "binance", "bitstamp"], object),
        "close_usd": np.array([1.0, 2.0, 3.0, 4.0]),
    }
    close, chosen = select_prices(days, prices)
    assert close.tolist() == [2.0, 3.0, 4.0]
    assert chosen.tolist() == ["coinmetrics", "binance", "bitstamp"]
