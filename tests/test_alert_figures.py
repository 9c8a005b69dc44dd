"""The figures alert rules read are ``status --json``'s keys, day by day: each name's series
on a day equals that day's ``status`` (computed alone, as of the day)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import minerwatch
from minerwatch.analyses.alert_figures import figures_for
from minerwatch.analyses.day import day_of
from minerwatch.analyses.status import status

#: status keys that are not daily series: labels, dates, notes
NOT_SERIES = ("as_of", "data_through", "provisional", "next_adjustment.reason")


def _flat(obj: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _same(got: object, want: object, key: str) -> bool:
    if want is None:
        return got is None or (isinstance(got, float) and not np.isfinite(got))
    if isinstance(want, str):
        return got == want
    # status rounds the forecast's percent changes to 3 decimals
    atol = 6e-4 if "change_pct" in key else 0.0
    return bool(np.isclose(float(got), float(want), rtol=1e-9, atol=atol))  # type: ignore[arg-type]


def _compare(db: Path, last: str, days: list[str]) -> tuple[set[str], list[tuple]]:
    """Status keys holding a number on some day but missing among the figure names, and
    every (day, key, figure, status) that differ, over the numeric keys and the text keys
    that are figures."""
    snapshots = {d: _flat(status(db, d).to_dict()) for d in days}
    numeric = {
        key
        for snap in snapshots.values()
        for key, value in snap.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    } - set(NOT_SERIES)
    with day_of(db, last) as day:
        figures = figures_for(day)
        names = set(figures.names())
        wrong = []
        for d, snap in snapshots.items():
            i = int(np.searchsorted(figures.day, np.datetime64(d)))
            for key, want in snap.items():
                if key in numeric | (names & {"hash_ribbons.state", "block_intervals.source"}):
                    got = figures.get(key)[i] if key in names else "(missing)"
                    if not _same(got, want, key):
                        wrong.append((d, key, got, want))
    return numeric - names, wrong


def _assert_figures_are_status(db: Path, last: str, days: list[str]) -> None:
    missing, wrong = _compare(db, last, days)
    assert not missing
    assert not wrong, wrong[:5]


def test_every_status_number_is_a_figure_equal_to_status_day_by_day(blocks_db):
    """Across the first day of the blocks file (its epoch's first block, no whole 1-day
    window yet), the days the blocks cover (intervals, medians, slow blocks and the
    forecast at the day's last block) and Coin Metrics days before and after."""
    days = [str(d) for d in np.arange(np.datetime64("2025-09-16"), np.datetime64("2025-10-22"))]
    days += ["2010-07-17", "2013-04-10", "2022-11-21", "2025-11-20"]
    _assert_figures_are_status(blocks_db, "2025-11-20", days)


def test_block_interval_figures_use_the_blocks_where_status_does(blocks_db):
    with day_of(blocks_db, "2025-10-20") as day:
        figures = figures_for(day)
        source = figures.get("block_intervals.source")
        median = figures.get("block_intervals.1d.median_min")
    on = np.flatnonzero(source == "blocks")
    # blocks 915,264 to 919,296: 2025-09-18 (no block before it) to 2025-10-15 or so
    assert str(figures.day[on[0]]) == "2025-09-19"
    assert 25 <= len(on) <= 30
    assert np.isfinite(median[on]).all()
    assert not np.isfinite(median[source == "daily counts"]).any()


@pytest.fixture
def priced_db(blocks_db, tmp_path, data_dir) -> Path:
    """The blocks database with three exchanges' daily closes (the real daily prices, a
    little apart) for 2025-10 to 2025-12, and hourly closes of two USD exchanges and a
    USDT one on 2025-12-30 and 31."""
    db = tmp_path / "priced.duckdb"
    shutil.copy(blocks_db, db)
    rows = [
        line.split(",")
        for line in (data_dir / "prices_btcusd_daily.csv").read_text().splitlines()[1:]
    ]
    day = np.array([r[0] for r in rows], "datetime64[D]")
    close = np.array([float(r[1]) for r in rows])
    keep = (day >= np.datetime64("2025-10-01")) & (day <= np.datetime64("2025-12-31"))
    day, close = day[keep], close[keep]
    start = int(np.datetime64("2025-12-30T00", "s").astype(np.int64))
    hours = start + 3600 * np.arange(48)
    with minerwatch.open_store(db) as store, store.transaction():
        for source, factor, every in (
            ("coinbase", 1.0, 1),
            ("kraken", 1.002, 1),
            ("bitstamp", 0.997, 2),
        ):
            store.write_prices(
                day[::every], close[::every] * factor, np.full(len(day[::every]), source), "test"
            )
        store.write_prices_hourly(hours[:30], "kraken", "USD", 90_000 + np.arange(30.0), "test")
        store.write_prices_hourly(hours[:20], "coinbase", "USD", 91_000 + np.arange(20.0), "test")
        store.write_prices_hourly(hours, "binance", "USDT", 92_000 + np.arange(48.0), "test")
    return db


def test_price_index_figures_equal_status(priced_db):
    days = [str(d) for d in np.arange(np.datetime64("2025-09-28"), np.datetime64("2025-11-05"))]
    _assert_figures_are_status(priced_db, "2025-12-31", days)


def test_price_now_is_the_latest_hour_closed_by_each_days_end(priced_db):
    with day_of(priced_db, "2025-12-31") as day:
        past = figures_for(day)
        close, when, source = (past.get(f"price_now_{k}") for k in ("usd", "time", "source"))
        live = figures_for(day, live=True)
        now_close = live.get("price_now_usd")[-1]
    end_30 = int(np.datetime64("2025-12-31T00", "s").astype(np.int64))
    # By the end of 12-30 the hours 0..23 had closed: kraken's hour 23 (kraken's first by
    # name among the USD sources holding it; coinbase stopped at hour 19).
    assert close[-2] == 90_023.0 and source[-2] == "kraken" and when[-2] == end_30
    # 12-31: kraken's last hour (29) is the latest USD close; binance's later USDT hours
    # count only without a USD close
    assert close[-1] == 90_029.0 and when[-1] == end_30 + 6 * 3600
    assert not np.isfinite(close[:-2]).any()
    assert now_close == status(priced_db).price_now_usd == 90_029.0
