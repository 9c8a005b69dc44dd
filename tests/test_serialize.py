"""The one serializer: every command's result as JSON without NaN, nested results typed,
CSV that reads back."""

from __future__ import annotations

import csv
import dataclasses
import json
import math

import numpy as np
import pytest

import minerwatch
from minerwatch.analyses.backtest import backtest_difficulty
from minerwatch.analyses.difficulty import (
    BaselineAdjustment,
    BlockHashrateEstimate,
    ForecastModel,
    HashrateEstimate,
    NextAdjustment,
    iso_utc,
)
from minerwatch.analyses.signals import RibbonsSummary
from minerwatch.analyses.status import BlockIntervals
from minerwatch.analyses.studies import CompressionToday, StudySample
from minerwatch.errors import InputError
from minerwatch.metrics.intervals import IntervalStats
from minerwatch.present.brief import brief
from minerwatch.serialize import NOT_JSON, json_key, to_json, to_jsonable, write_csv
from minerwatch.sources.catalog import load_catalog


def _results(db, day: str) -> dict[str, object]:
    """Every dated command's library result for ``day`` (what its ``--json`` prints)."""
    return {
        "status": minerwatch.status(db, day),
        "cost": minerwatch.production_cost(db, day),
        "episodes": minerwatch.cost_episodes(db, day),
        "signals": minerwatch.signals(db, day),
        **{f"study {n}": minerwatch.study(db, n, day) for n in ("compression", "ribbons")},
        "study below-cost": minerwatch.study(db, "below-cost", day),
        "difficulty": minerwatch.difficulty_outlook(db, day),
        "asics": minerwatch.asic_economics(db, day),
        "brief": brief(db, day),
    }


def _floats(x):
    """Every float in a JSON-ready tree."""
    if isinstance(x, float):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from _floats(v)
    elif isinstance(x, list):
        for v in x:
            yield from _floats(v)


@pytest.fixture(scope="module")
def real_results(loaded_db, blocks_db):
    # 2022-11-21 from daily data (a day before a capitulation); 2025-10-06 with per-block
    # data (the per-block outlook and block intervals).
    return {
        "2022-11-21": _results(loaded_db, "2022-11-21"),
        "2025-10-06": _results(blocks_db, "2025-10-06"),
    }


@pytest.mark.parametrize("day", ["2022-11-21", "2025-10-06"])
def test_every_result_is_json_without_nan(real_results, day):
    for name, result in real_results[day].items():
        doc = to_jsonable(result)
        assert isinstance(doc, dict), name
        text = json.dumps(doc, allow_nan=False)  # raises on a NaN or an infinity
        assert all(math.isfinite(v) for v in _floats(json.loads(text))), name
        assert result.to_dict() == doc, name
        assert to_json(result) == json.dumps(doc, indent=2), name


def test_backtest_and_catalog_are_json_without_nan(loaded_db):
    bt = backtest_difficulty(loaded_db)
    doc = json.loads(to_json(bt))
    assert list(doc) == ["method", "baseline", "rows", "eras", "notes"]  # no forecasts
    assert [r["level_pct"] for r in doc["rows"]] == [r.level_pct for r in bt.rows]
    catalog = load_catalog()
    rows = json.loads(to_json(catalog.rows()))
    assert len(rows) == len(catalog)
    assert [r["release_month"] for r in rows] == [str(m) for m in catalog.release_month]


def test_nested_results_are_frozen_dataclasses(real_results):
    for day, results in real_results.items():
        s = results["status"]
        assert isinstance(s.next_adjustment, NextAdjustment), day
        assert isinstance(s.hash_ribbons, RibbonsSummary), day
        bi = s.block_intervals
        assert isinstance(bi, BlockIntervals), day
        assert all(isinstance(w, IntervalStats) for w in (bi.last_1d, bi.last_7d, bi.epoch))
        doc = s.to_dict()
        assert doc["next_adjustment"]["change_pct"] == s.next_adjustment.change_pct
        assert list(doc["block_intervals"]) == ["1d", "7d", "epoch", "source"]
        assert doc["block_intervals"]["7d"]["mean_min"] == bi.last_7d.mean_min
        assert doc["hash_ribbons"]["sma30_ehs"] == s.hash_ribbons.sma30_ehs
        o = results["difficulty"]
        assert isinstance(o.next_adjustment, NextAdjustment)
        assert isinstance(o.baseline, BaselineAdjustment)
        assert isinstance(o.model, ForecastModel)
        assert all(isinstance(e, HashrateEstimate) for e in o.hashrate.values())
        details = results["study compression"].details
        assert all(isinstance(v, StudySample) for v in details["samples"].values())
        assert all(isinstance(v, CompressionToday) for v in details["today"].values())
        with pytest.raises(dataclasses.FrozenInstanceError):
            s.next_adjustment.change_pct = 0.0  # type: ignore[misc]
    # Per-block data: the block-count windows carry Core's figure, the day windows do not.
    blocks = real_results["2025-10-06"]["difficulty"]
    assert blocks.data == "blocks"
    assert real_results["2025-10-06"]["status"].block_intervals.source == "blocks"
    core = {k for k, e in blocks.hashrate.items() if isinstance(e, BlockHashrateEstimate)}
    assert core == {"120b", "1008b", "epoch"} and set(blocks.hashrate) - core == {"1d", "3d", "7d"}
    assert "getnetworkhashps_ehs" not in to_jsonable(blocks)["hashrate"]["7d"]


def test_study_csv_reads_back(real_results, tmp_path):
    result = real_results["2022-11-21"]["study compression"]
    path = result.write_csv(tmp_path / "compression.csv")
    with open(path, newline="") as fh:
        read = list(csv.DictReader(fh))
    want = to_jsonable(result.rows)
    assert [list(r) for r in read] == [list(w) for w in want]
    for got, row in zip(read, want, strict=True):
        for key, value in row.items():
            if value is None:
                assert got[key] == "", key
            elif isinstance(value, float):
                assert float(got[key]) == value, key  # repr of a float reads back exactly
            else:
                assert got[key] == str(value), key


def test_backtest_csv_reads_back(loaded_db, tmp_path):
    bt = backtest_difficulty(loaded_db)
    path = bt.write_csv(tmp_path / "backtest.csv")
    assert b"\r" not in path.read_bytes()
    with open(path, newline="") as fh:
        read = list(csv.DictReader(fh))
    assert [r["data"] for r in read] == [r.data for r in bt.rows]
    for got, row in zip(read, bt.rows, strict=True):
        for f in dataclasses.fields(row):
            value = getattr(row, f.name)
            if isinstance(value, float) and math.isfinite(value):
                assert float(got[f.name]) == value
            elif isinstance(value, float):
                assert got[f.name] == ""


@dataclasses.dataclass(frozen=True)
class _Inner:
    when: np.datetime64
    values: np.ndarray


@dataclasses.dataclass(frozen=True)
class _Outer:
    one_day: _Inner | None = dataclasses.field(metadata=json_key("1d"))
    hidden: np.ndarray = dataclasses.field(metadata=NOT_JSON)
    pair: tuple[float, float] = (math.nan, math.inf)


def test_to_jsonable_of_numpy_values_and_field_metadata():
    day = np.datetime64("2025-10-06", "D")
    inner = _Inner(day, np.array([1.5, np.nan, -np.inf]))
    doc = to_jsonable(_Outer(inner, hidden=np.arange(3)))
    assert doc == {
        "1d": {"when": str(day), "values": [1.5, None, None]},
        "pair": [None, None],
    }
    assert to_jsonable(np.datetime64("2025-10", "M")) == "2025-10"
    t = np.datetime64("2025-10-06T23:54:57", "s")
    assert to_jsonable(t) == iso_utc(float(t.astype(np.int64)))
    assert to_jsonable(np.datetime64("NaT")) is None
    scalars = [np.int64(7), np.bool_(True), np.float32(0.5), np.str_("x")]
    assert [type(v) for v in to_jsonable(scalars)] == [int, bool, float, str]
    assert to_jsonable({1: (np.int8(2),)}) == {"1": [2]}


def test_write_csv_empty_rows_and_unwritable_path(tmp_path):
    assert write_csv([], tmp_path / "empty.csv").read_text() == ""
    rows = [{"a": 1.0, "b": None}, {"a": math.nan, "b": "x"}]
    assert write_csv(rows, tmp_path / "t.csv").read_text() == "a,b\n1.0,\n,x\n"
    with pytest.raises(InputError) as err:
        write_csv(rows, tmp_path / "missing" / "t.csv")
    assert err.value.path == str(tmp_path / "missing" / "t.csv")
