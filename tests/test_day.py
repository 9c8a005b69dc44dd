"""One day context per command: ``report`` and ``brief`` build the daily frame, its
metrics, the production-cost series, the ASIC catalog, the epochs table and the difficulty
outlook once each, and give the same figures as the single-purpose calls."""

from __future__ import annotations

import sys
from collections import Counter

import numpy as np
import pytest

import minerwatch
from minerwatch.analyses import cost, difficulty
from minerwatch.analyses.day import Day, day_of
from minerwatch.frames import build_daily_frame
from minerwatch.metrics.daily import compute_daily_metrics
from minerwatch.present.brief import compose
from minerwatch.sources.catalog import load_catalog
from minerwatch.store import Store, open_store

# What a report is built from; each code object is counted by a profiler hook, so every
# call counts, whichever module or cache it comes through.
COUNTED = {
    build_daily_frame.__code__: "frame",
    compute_daily_metrics.__code__: "metrics",
    cost._every_model.__code__: "cost series",
    load_catalog.__code__: "catalog",
    Store.read_epochs.__code__: "epochs",
    difficulty.outlook_from_store.__code__: "outlook",
}
ONCE = {name: 1 for name in COUNTED.values()}


def _count_calls(fn, *args):
    calls: Counter[str] = Counter()

    def hook(frame, event, arg):
        if event == "call" and frame.f_code in COUNTED:
            calls[COUNTED[frame.f_code]] += 1

    sys.setprofile(hook)
    try:
        result = fn(*args)
    finally:
        sys.setprofile(None)
    return result, dict(calls)


@pytest.mark.parametrize("db", ["loaded_db", "blocks_db"])
def test_report_builds_each_input_once(request, db):
    path = request.getfixturevalue(db)
    data, calls = _count_calls(minerwatch.report_data, path, "2025-10-06")
    assert data.as_of == "2025-10-06"
    assert calls == ONCE


@pytest.mark.parametrize("db", ["loaded_db", "blocks_db"])
def test_brief_builds_each_input_once(request, db):
    path = request.getfixturevalue(db)
    text, calls = _count_calls(minerwatch.brief, path, "2022-11-21")
    assert text.as_of == "2022-11-21"
    assert calls == ONCE


def test_a_day_gives_what_the_single_calls_give(loaded_db):
    day_text = "2022-11-21"
    with open_store(loaded_db, read_only=True) as store:
        day = Day(store, day_text)
        assert minerwatch.status(day) == minerwatch.status(loaded_db, day_text)
        assert (
            minerwatch.signals(day).to_dict() == minerwatch.signals(loaded_db, day_text).to_dict()
        )
        pc = minerwatch.production_cost(day, model="cbeci-all-in")
        alone = minerwatch.production_cost(loaded_db, day_text, model="cbeci-all-in")
        assert pc.to_dict() == alone.to_dict()
        assert day.builds["frame"] == 1 and day.builds["production_cost"] == 1
    report = minerwatch.report_data(loaded_db, day_text)
    assert compose(report.brief_inputs).to_dict() == minerwatch.brief(loaded_db, day_text).to_dict()


def test_a_cut_day_is_the_earlier_day(loaded_db):
    with open_store(loaded_db, read_only=True) as store:
        later = Day(store, "2025-10-06")
        earlier = later.cut("2022-11-21")
        fresh = Day(store, "2022-11-21")
        assert earlier.as_of == fresh.as_of
        for name in ("day", "blocks", "difficulty_last", "price_usd", "supply_sat"):
            np.testing.assert_array_equal(getattr(earlier.frame, name), getattr(fresh.frame, name))
        assert minerwatch.status(earlier) == minerwatch.status(fresh)


def test_day_of_accepts_every_source(loaded_db):
    frame = minerwatch.daily_frame(loaded_db, "2025-10-06")
    with day_of(frame, "2025-10-01") as from_frame:
        assert str(from_frame.as_of) == "2025-10-01" and from_frame.store is None
    with day_of(loaded_db, "2025-10-01") as from_path:
        np.testing.assert_array_equal(from_path.frame.price_usd, from_frame.frame.price_usd)
