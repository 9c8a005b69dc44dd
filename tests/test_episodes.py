"""Episodes of the close below production cost (`minerwatch episodes`): run detection on
hand-made series, then the real history's bear markets."""

from __future__ import annotations

import json

import numpy as np
import pytest

import minerwatch
from minerwatch.analyses.cost import DEFAULT_MODEL
from minerwatch.analyses.studies import (
    ENDED_COST,
    ENDED_ONGOING,
    ENDED_PRICE,
    below_cost_episodes,
    cost_episodes,
)
from minerwatch.errors import InputError

DAY0 = np.datetime64("2020-01-01")


def _days(n: int) -> np.ndarray:
    return DAY0 + np.arange(n)


def _series(n: int, below: list[tuple[int, int]], cost: float = 100.0):
    """Price 110 (above a flat cost of 100) except 90 on the inclusive row ranges given."""
    price = np.full(n, 110.0)
    for a, b in below:
        price[a : b + 1] = 90.0
    return price, np.full(n, cost)


# -- run detection ---------------------------------------------------------------------------


def test_runs_are_found_and_short_gaps_merged():
    price, cost = _series(60, [(5, 9), (13, 15), (30, 31)])
    eps = below_cost_episodes(_days(60), price, cost, merge_gap_days=7)
    # The 3-day gap (rows 10-12) is bridged; the 14-day gap (rows 16-29) is not.
    assert [(e.start, e.end) for e in eps] == [
        ("2020-01-06", "2020-01-16"),
        ("2020-01-31", "2020-02-01"),
    ]
    assert (eps[0].days, eps[0].days_below) == (11, 8)
    never = below_cost_episodes(_days(60), price, cost, merge_gap_days=0)
    assert len(never) == 3
    # A gap of exactly the merge gap is not "shorter than" it.
    assert len(below_cost_episodes(_days(60), price, cost, merge_gap_days=3)) == 3
    assert len(below_cost_episodes(_days(60), price, cost, merge_gap_days=4)) == 2


def test_min_days_drops_short_episodes():
    price, cost = _series(40, [(2, 2), (10, 20)])
    eps = below_cost_episodes(_days(40), price, cost, merge_gap_days=0, min_days=5)
    assert [e.start for e in eps] == ["2020-01-11"]


def test_deepest_point_and_prices_at_both_ends():
    price, cost = _series(30, [(5, 12)])
    price[5:13] = [95, 90, 70, 60, 65, 80, 92, 98]
    (e,) = below_cost_episodes(_days(30), price, cost)
    assert e.deepest_date == "2020-01-09" and e.deepest_discount_pct == pytest.approx(-40.0)
    assert (e.price_start_usd, e.price_end_usd, e.cost_start_usd) == (95.0, 98.0, 100.0)
    assert e.exit_date == "2020-01-14" and e.ended == ENDED_PRICE


def test_how_it_ended_price_or_cost():
    n = 40
    day = _days(n)
    # Price stuck at 80 while the cost falls from 100 to 79: the cost came down to price.
    price = np.full(n, 120.0)
    cost = np.full(n, 100.0)
    price[10:30] = 80.0
    cost[10:30] = np.linspace(100.0, 81.0, 20)
    cost[30:] = 79.0
    price[30:] = 80.0
    (e,) = below_cost_episodes(day, price, cost)
    assert e.ended == ENDED_COST and e.exit_cost_change_pct < 0
    # The same gap closed by price rising to 101.
    cost[:] = 100.0
    price[30:] = 101.0
    (e,) = below_cost_episodes(day, price, cost)
    assert e.ended == ENDED_PRICE and e.exit_price_change_pct == pytest.approx(100 * (101 / 80 - 1))


def test_ongoing_episode_and_forward_returns_stop_at_the_last_day():
    n = 250
    price, cost = _series(n, [(20, 40), (240, 249)])
    price[20] = 50.0
    price[110] = 120.0  # 90 days after row 20; row 200 (180 days) is 110
    eps = below_cost_episodes(_days(n), price, cost, horizons_days=(90, 180, 365))
    first, last = eps
    assert first.forward_return_pct == {
        "90d": pytest.approx(140.0),
        "180d": pytest.approx(120.0),
        "365d": None,
    }
    assert last.ended == ENDED_ONGOING and last.exit_date is None
    assert last.forward_return_pct == {"90d": None, "180d": None, "365d": None}


def test_an_episode_is_ongoing_until_the_merge_gap_has_passed():
    # Below cost on rows 10-14, back above from row 15: a day below cost up to row 21 (after
    # fewer than 7 days above) would merge into it, so it stays open until row 21 is above.
    price, cost = _series(40, [(10, 14)])
    day = _days(40)
    for last in range(15, 21):
        (e,) = below_cost_episodes(day[: last + 1], price[: last + 1], cost[: last + 1])
        assert e.ended == ENDED_ONGOING and e.exit_date is None, last
        assert e.exit_price_change_pct is None and e.end == "2020-01-15"
    (e,) = below_cost_episodes(day[:22], price[:22], cost[:22])
    assert e.ended == ENDED_PRICE and e.exit_date == "2020-01-16"
    # Without merging, the first day back above cost ends it.
    (e,) = below_cost_episodes(day[:16], price[:16], cost[:16], merge_gap_days=0)
    assert e.ended == ENDED_PRICE


def test_censored_start_when_the_series_begins_below_cost():
    price, cost = _series(30, [(3, 5), (12, 14)])
    cost[:3] = np.nan  # the cost begins on row 3, already above the close
    first, second = below_cost_episodes(_days(30), price, cost, merge_gap_days=0)
    assert first.censored_start and not second.censored_start
    cost[:] = 100.0
    assert not any(e.censored_start for e in below_cost_episodes(_days(30), price, cost))


def test_missing_values_are_never_below_cost():
    price, cost = _series(10, [(2, 6)])
    cost[4] = np.nan
    assert len(below_cost_episodes(_days(10), price, cost, merge_gap_days=0)) == 2
    assert below_cost_episodes(_days(10), np.full(10, np.nan), cost) == []


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [({"merge_gap_days": -1}, "merge_gap_days"), ({"min_days": 0}, "min_days")],
)
def test_bad_parameters_are_rejected_by_name(loaded_db, kwargs, named):
    price, cost = _series(10, [(2, 6)])
    with pytest.raises(InputError, match=named):
        below_cost_episodes(_days(10), price, cost, **kwargs)
    with pytest.raises(InputError, match=named):
        cost_episodes(loaded_db, **kwargs)
    with pytest.raises(InputError, match="model"):
        cost_episodes(loaded_db, model="average")


# -- the real history ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_episodes(loaded_db):
    return cost_episodes(loaded_db, "2025-12-31")


def _covering(report, first: str, last: str):
    return [e for e in report.episodes if e.start <= first and e.end >= last]


@pytest.mark.parametrize("as_of", ["2017-03-20", "2017-03-21", "2017-03-26", "2017-03-27"])
def test_march_2017_episode_stays_open_across_a_short_bounce(loaded_db, as_of):
    # Below the default cost from 2017-03-18; above it on 2017-03-20 and from 2017-03-27.
    # A bounce shorter than the merge gap (7 days) does not end the episode on any day.
    last = cost_episodes(loaded_db, as_of).episodes[-1]
    assert last.start == "2017-03-18"
    assert last.ended == ENDED_ONGOING and last.exit_date is None


def test_march_2017_episode_ends_once_the_merge_gap_has_passed(loaded_db):
    assert cost_episodes(loaded_db, "2017-04-01").episodes[-1].ended == ENDED_ONGOING
    last = cost_episodes(loaded_db, "2017-04-02").episodes[-1]
    assert (last.start, last.end, last.exit_date) == ("2017-03-18", "2017-03-26", "2017-03-27")
    assert last.ended == ENDED_PRICE
    # As seen on 2025-12-31 the episode is the same.
    (e,) = [e for e in cost_episodes(loaded_db, "2025-12-31").episodes if e.start == last.start]
    assert (e.end, e.exit_date, e.ended) == (last.end, last.exit_date, last.ended)


def test_first_episode_is_censored_at_the_models_first_day(default_episodes):
    first, *rest = default_episodes.episodes
    # The 2015 fit first holds 365 days on 2015-12-31, with the close already below it.
    assert default_episodes.first_day_with_cost == first.start == "2015-12-31"
    assert first.censored_start and not any(e.censored_start for e in rest)
    assert default_episodes.to_dict()["episodes"][0]["censored_start"] is True


def test_published_presets_carry_hindsight(cli, loaded_db, default_episodes):
    report = cost_episodes(loaded_db, "2025-12-31", model="drm-glassnode-2022")
    doc = report.to_dict()
    assert doc["hindsight"] is True and doc["fit_end"] == "2022-09-14"
    flags = {e["start"]: e["hindsight"] for e in doc["episodes"]}
    assert all(flags[s] for s in flags if s < "2022-09-14")
    assert not any(flags[s] for s in flags if s >= "2022-09-14")
    assert any(flags.values()) and not all(flags.values())
    # Our fits read nothing after a day: no hindsight.
    assert not default_episodes.hindsight and default_episodes.fit_end is None
    assert not any(e.hindsight for e in default_episodes.episodes)
    table = cli("episodes", "--model", "drm-checkmate-2019", "--db", str(loaded_db))
    assert table.returncode == 0, table.stderr
    assert "warning:" in table.stdout and "2019-10-13" in table.stdout
    assert "hindsight" in table.stdout


def test_2018_bear_market_is_an_episode(default_episodes):
    assert default_episodes.model == DEFAULT_MODEL
    # Found: 2018-02-01 to 2019-06-18, deepest 2018-11-26 (about -69%).
    (e,) = _covering(default_episodes, "2018-11-20", "2019-03-31")
    assert "2018-01-01" <= e.start <= "2018-11-20" and "2019-03-31" <= e.end <= "2019-07-31"
    assert e.deepest_date[:7] in ("2018-11", "2018-12") and e.deepest_discount_pct < -30
    assert e.ended == "price recovered above cost"


def test_2022_bear_market_is_an_episode(default_episodes):
    # The default (expanding fit from 2015) puts the whole 2022 bear market below cost:
    # found 2022-06-10 to 2024-02-25, deepest 2022-11-09 (about -52%).
    (e,) = _covering(default_episodes, "2022-06-15", "2022-11-30")
    assert "2022-05-01" <= e.start <= "2022-06-18"
    assert e.deepest_date[:7] == "2022-11" and e.deepest_discount_pct < -40


def test_2022_episode_is_only_ftx_under_the_all_history_fit(loaded_db):
    # The all-history fit (lower slope) puts only the FTX collapse below cost in 2022:
    # found 2022-11-08 to 2023-01-11, deepest 2022-11-09 (about -20%).
    report = cost_episodes(loaded_db, "2025-12-31", model="drm-fit-all")
    (e,) = _covering(report, "2022-11-10", "2022-12-31")
    assert "2022-10-01" <= e.start <= "2022-11-10" and "2023-01-01" <= e.end <= "2023-03-31"
    assert e.deepest_date[:7] == "2022-11" and e.deepest_discount_pct < -10
    assert not _covering(report, "2022-06-15", "2022-07-15")


def test_episodes_for_a_day_ignore_later_data(loaded_db, tmp_path_factory, coinmetrics_csv):
    lines = coinmetrics_csv.read_text().splitlines(keepends=True)
    kept = [lines[0]] + [line for line in lines[1:] if line[:10] <= "2022-12-01"]
    folder = tmp_path_factory.mktemp("episodes")
    (folder / "btc.csv").write_text("".join(kept))
    with minerwatch.open_store(folder / "short.duckdb") as store:
        minerwatch.import_coinmetrics(store, folder / "btc.csv")
    short = cost_episodes(folder / "short.duckdb")
    full = cost_episodes(loaded_db, "2022-12-01")
    assert short.to_dict() == full.to_dict()
    last = short.episodes[-1]
    assert last.ended == "ongoing" and last.start == "2022-06-10"
    # 90 days after the start is before the cut; 180 days is after it, so unknown then.
    assert last.forward_return_pct["90d"] is not None
    assert last.forward_return_pct["180d"] is None


def test_cli_episodes_json_equals_library(cli, loaded_db):
    args = ("--model", "drm-fit-2015", "--merge-gap", "10", "--as-of", "2024-12-31")
    result = cli("episodes", *args, "--json", "--db", str(loaded_db))
    assert result.returncode == 0, result.stderr
    lib = cost_episodes(loaded_db, "2024-12-31", model="drm-fit-2015", merge_gap_days=10)
    assert json.loads(result.stdout) == json.loads(json.dumps(lib.to_dict()))
    table = cli("episodes", "--as-of", "2024-12-31", "--db", str(loaded_db))
    assert table.returncode == 0, table.stderr
    assert "2018-02-01" in table.stdout and "2019-06-18" in table.stdout
    bad = cli("episodes", "--merge-gap", "-3", "--db", str(loaded_db))
    assert bad.returncode == 2 and "--merge-gap -3 is out of range" in bad.stderr
