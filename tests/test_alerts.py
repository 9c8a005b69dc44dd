"""Alert rules: the expression parser and its errors, three-valued logic, the state machine
(a flapping condition gives one period), rule-file errors naming file, line and token,
and the replay over the real history against counts worked out here independently."""

from __future__ import annotations

import csv
import json
import math
import re

import numpy as np
import pytest

from minerwatch.analyses.alerts import alerts_backtest, alerts_check
from minerwatch.errors import InputError
from minerwatch.models import alerts as am
from minerwatch.sources.alert_expr import SyntaxProblem, parse_expression
from minerwatch.sources.alert_rules import load_rules, parse_rules


def ev(text: str, **series: list[float]) -> np.ndarray:
    days = len(next(iter(series.values()))) if series else 1
    data = {k.replace("__", "."): np.asarray(v, dtype=np.float64) for k, v in series.items()}

    def figure(name: str, column: int) -> np.ndarray:
        if name not in data:
            raise am.EvaluationProblem(f"unknown figure {name!r}", column)
        return data[name]

    return am.evaluate(parse_expression(text), figure, days, np.zeros(days))


# -- the language -----------------------------------------------------------------------


def test_precedence_and_arithmetic():
    assert ev("1 + 2 * 3 == 7 and not 2 < 1")[0] == 1
    assert ev("-(2 - 5) / 3", x=[0])[0] == 1
    assert ev("x * 2 > 3 or x < 0", x=[1, 2, -1]).tolist() == [0, 1, 1]


def test_three_valued_logic():
    nan = math.nan
    a = [1, 1, 1, 0, 0, 0, nan, nan, nan]
    b = [1, 0, nan, 1, 0, nan, 1, 0, nan]
    out_and = ev("a > 0 and b > 0", a=a, b=b)
    out_or = ev("a > 0 or b > 0", a=a, b=b)
    want_and = [1, 0, nan, 0, 0, 0, nan, 0, nan]
    want_or = [1, 1, 1, 1, 0, nan, 1, nan, nan]
    np.testing.assert_array_equal(out_and, want_and)
    np.testing.assert_array_equal(out_or, want_or)
    np.testing.assert_array_equal(ev("not a > 0", a=a), [0, 0, 0, 1, 1, 1, nan, nan, nan])


def test_functions_use_only_the_past():
    x = [100.0, 110, 121, 96.8, 90]
    np.testing.assert_allclose(
        ev("pct_change(x, 1)", x=x)[1:], [10, 10, -20, 100 * (90 / 96.8 - 1)]
    )
    assert math.isnan(ev("pct_change(x, 1)", x=x)[0])
    np.testing.assert_array_equal(ev("min_over(x, 3)", x=x)[2:], [100, 96.8, 90])
    np.testing.assert_array_equal(ev("crossed_below(x, 100)", x=x), [0, 0, 0, 1, 0])
    # a value's own day and the days before it: changing the last day changes no earlier one
    y = x[:-1] + [1000.0]
    a, b = ev("mean_over(x, 2)", x=x), ev("mean_over(x, 2)", x=y)
    np.testing.assert_array_equal(a[:-1], b[:-1])


@pytest.mark.parametrize(
    ("text", "column", "token"),
    [
        ("price_usd <", 12, "end of the expression"),
        ("price_usd < < 3", 13, "<"),
        ("1 < 2 < 3", 7, "<"),
        ("pct_chang(x, 3)", 1, "pct_chang"),
        ("pct_change(x, 2.5)", 1, "pct_change"),
        ("min_over(x)", 1, "min_over"),
        ("x $ 2", 3, "$"),
        ("(x > 1", 7, "end of the expression"),
    ],
)
def test_syntax_errors_name_the_column_and_token(text, column, token):
    with pytest.raises(SyntaxProblem) as caught:
        parse_expression(text)
    assert caught.value.column == column and caught.value.token == token


# -- the state machine ------------------------------------------------------------------


def _states(condition, for_days=0, keep_days=0):
    t = am.timeline(np.asarray(condition, np.float64), for_days * 86_400, keep_days * 86_400)
    return [am.STATE_NAMES[s] for s in t.state], t


def test_for_waits_and_keep_firing_holds_through_flaps():
    nan = math.nan
    states, t = _states([0, 1, 1, 1, 0, 1, 0, 0, 0, 0, nan], for_days=2, keep_days=2)
    assert states == [
        "normal", "pending", "pending", "firing", "recovering", "firing", "recovering",
        "recovering", "normal", "normal", "no-data",
    ]  # fmt: skip
    assert t.starts.tolist() == [3] and t.ends.tolist() == [7]  # one period despite the flap
    flapping = [1, 0] * 20
    _, t = _states(flapping, keep_days=1)
    assert len(t.starts) == 1  # a flapping input: one notification, not twenty
    _, t = _states(flapping)
    assert len(t.starts) == 20
    assert am.repeats_due(0, 7 * 86_400, 86_400 * 3) == 2 and am.repeats_due(0, 10, None) == 0


def _sequential(condition: list[float], need: int, keep: int) -> list[tuple[int, int]]:
    """The state machine written as a plain loop over the days, for comparison."""
    periods, run, since_fire, start = [], 0, None, None
    for i, c in enumerate(condition):
        run = run + 1 if c == 1 else 0
        if run >= need or (since_fire is not None and c == 1):  # firing: a hold renews it
            since_fire = 0
        elif since_fire is not None:
            since_fire += 1
        firing = since_fire is not None and since_fire <= keep
        if firing and start is None:
            start = i
        if not firing and start is not None:
            periods.append((start, i - 1))
            start = None
        if not firing:
            since_fire = None
    if start is not None:
        periods.append((start, len(condition) - 1))
    return periods


# -- rule files -------------------------------------------------------------------------

RULES = """groups:
  - name: g
    rules:
      - alert: Cheap
        expr: price_usd < 20000
        for: 2d
      - alert: Typo
        expr: price_usdd > 1
"""


def test_a_rule_naming_an_unknown_figure_names_file_line_and_token(tmp_path, loaded_db):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    with pytest.raises(InputError) as caught:
        alerts_check(loaded_db, path, "2022-11-21")
    text = str(caught.value)
    assert text.startswith(f"{path}, line 8, key 'Typo.expr'")
    assert "column 1" in text and "price_usdd" in text and "close: price_usd" in text


@pytest.mark.parametrize(
    ("edit", "line", "words"),
    [
        (("for: 2d", "for: two days"), 6, "expected a duration"),
        (("expr: price_usd < 20000", "expr: price_usd <"), 5, "column 12"),
        (("alert: Typo", "alert: Cheap"), 7, "repeats (first at line 5)"),
        (
            ("        for: 2d", "        for: 2d\n        severity: high"),
            7,
            "unknown key 'severity'",
        ),
        (("groups:", "group:"), 1, "unknown key 'group'"),
    ],
)
def test_bad_rule_files_name_file_line_and_key(edit, line, words):
    with pytest.raises(InputError) as caught:
        parse_rules(RULES.replace(*edit), "r.yaml")
    text = str(caught.value)
    assert text.startswith(f"r.yaml, line {line}") and words in text, text


@pytest.mark.parametrize(
    ("notifier", "hint"),
    [
        ("{type: telegram, chat_id: 1, bot_token: abc}", "bot_token_env or bot_token_file"),
        ("{type: telegram, chat_id: 1, token: abc}", "bot_token_env or bot_token_file"),
        ("{type: ntfy, url: 'http://127.0.0.1/', topic: t, token: abc}", "token_env or token_file"),
    ],
)
def test_secrets_are_never_written_in_the_file(notifier, hint):
    text = RULES + f"notifiers:\n  - {notifier}\n"
    with pytest.raises(InputError) as caught:
        parse_rules(text, "r.yaml")
    assert f"give {hint} (secrets" in str(caught.value)
    assert "abc" not in str(caught.value)


# -- on the real history ----------------------------------------------------------------


def test_check_agrees_with_status_on_the_day(cli, loaded_db):
    for day in ("2022-11-21", "2025-06-30"):
        status = json.loads(cli("status", "--as-of", day, "--json", "--db", loaded_db).stdout)
        check = alerts_check(loaded_db, "pack", day)
        values = {r.alert: r.value for r in check.rules}
        assert values["PriceFarBelowCost"] == pytest.approx(status["price_to_cost_pct"])
        assert values["RibbonsCapitulation"] == status["hash_ribbons"]["state"]
        assert values["BigNegativeRetarget"] == pytest.approx(
            status["next_adjustment"]["change_pct_high"], abs=1e-3
        )
        assert values["PuellCapitulation"] == pytest.approx(status["puell_multiple"])


def test_pack_backtest_matches_an_independent_replay(loaded_db, cm_rows):
    """PuellCapitulation (puell_multiple < 0.5 for 3 days, kept 14 days) replayed from the
    Coin Metrics file with csv and a plain loop: the same periods as the backtest."""
    issuance_usd = [float(r["IssTotUSD"] or "nan") for r in cm_rows]
    days = [r["time"][:10] for r in cm_rows]
    puell = [math.nan] * len(days)
    for i in range(364, len(days)):
        window = issuance_usd[i - 364 : i + 1]
        if all(math.isfinite(v) for v in window):
            puell[i] = issuance_usd[i] / (sum(window) / 365)
    condition = [math.nan if math.isnan(p) else float(p < 0.5) for p in puell]
    expected = [
        (days[s], days[e])
        for s, e in _sequential(condition, need=4, keep=14)
        if days[e] >= "2012-01-01" and days[s] <= "2025-12-31"
    ]
    result = alerts_backtest(loaded_db, "pack", "2012-01-01", "2025-12-31")
    rule = next(r for r in result.rules if r.alert == "PuellCapitulation")
    got = [(p.start, p.end) for p in rule.periods]
    assert got == [(max(s, "2012-01-01"), e) for s, e in expected]
    assert any(s.startswith("2018-11") for s, _ in got) and any(
        s.startswith("2022") for s, _ in got
    )
    whole = [p for p in rule.periods if not p.began_before]  # one began in 2011
    assert len(whole) == sum(s >= "2012-01-01" for s, _ in expected)
    assert rule.days_no_data == 0  # the Puell multiple has data every day from 2012
    assert rule.periods_per_year == pytest.approx(len(whole) / result.years)
    priced = [r["time"] for r in cm_rows if r["PriceUSD"] and r["time"] >= "2012-01-01"]
    far = next(r for r in result.rules if r.alert == "PriceFarBelowCost")
    with_data_days = (
        (np.datetime64("2025-12-31") - np.datetime64("2012-01-01")).astype(int)
        + 1
        - far.days_no_data
    )
    assert 0 < with_data_days < len(priced)  # the cost model needs a year of history first
    begun = [p for p in far.periods if not p.began_before]
    assert far.periods_per_year == pytest.approx(len(begun) / (with_data_days / 365.25))


def test_backtest_of_a_day_does_not_change_when_later_days_arrive(loaded_db, db_to_2022_11_21):
    full = alerts_backtest(loaded_db, "pack", "2018-01-01", "2022-11-21")
    held = alerts_backtest(db_to_2022_11_21, "pack", "2018-01-01")
    assert full.to_dict() == held.to_dict()


def test_cli_backtest_prints_the_table_and_writes_the_periods(cli, loaded_db, tmp_path):
    out = tmp_path / "periods.csv"
    args = (
        "alerts",
        "backtest",
        "pack",
        "--from",
        "2012-01-01",
        "--to",
        "2025-12-31",
        "--db",
        loaded_db,
    )
    result = cli(*args, "--csv", out)
    assert result.returncode == 0, result.stderr
    assert "per year" in result.stdout and "PriceFarBelowCost" in result.stdout
    doc = json.loads(cli(*args, "--json").stdout)
    assert {r["alert"] for r in doc["rules"]} >= {"PriceFarBelowCost", "RibbonsCapitulation"}
    for rule in doc["rules"]:
        for p in rule["periods"]:
            assert set(p) >= {"start", "end", "value"}
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == sum(len(r["periods"]) for r in doc["rules"])
    bad = cli("alerts", "check", tmp_path / "none.yaml", "--db", loaded_db)
    assert bad.returncode == 2 and "no such file" in bad.stderr


def test_the_shipped_pack_loads():
    pack = load_rules("pack")
    assert len(pack.rules) >= 6 and all(r.line > 0 for r in pack.rules)


def test_block_figures_from_the_stored_blocks(blocks_db, blocks_csv):
    """The slowest gap before a block of a day and the day's last block, against the
    blocks file read with csv: a slow-block rule sees the hour-long gaps."""
    from minerwatch.analyses.alert_figures import figures_for
    from minerwatch.analyses.day import day_of

    with open(blocks_csv, newline="") as f:
        rows = [(int(r["height"]), int(r["time"])) for r in csv.DictReader(f)]
    rows.sort()
    by_day: dict[str, list[float]] = {}
    last: dict[str, int] = {}
    for (_, t0), (_, t1) in zip(rows, rows[1:], strict=False):
        day = str(np.datetime64(t1, "s").astype("datetime64[D]"))
        by_day.setdefault(day, []).append((t1 - t0) / 60)
        last[day] = t1
    day = sorted(by_day)[len(by_day) // 2]
    with day_of(blocks_db, day) as d:
        f = figures_for(d)
        assert f.get("slowest_block_min_1d")[-1] == pytest.approx(max(by_day[day]))
        assert f.get("last_block_interval_min")[-1] == pytest.approx(by_day[day][-1])
        assert f.get("tip")[-1] == last[day]
        assert f.get("reorg_depth_1d")[-1] == 0
    rules = parse_rules(
        "groups:\n  - name: g\n    rules:\n      - alert: SlowBlock\n"
        "        expr: slowest_block_min_1d > 60\n",
        "r.yaml",
    )
    check = alerts_check(blocks_db, rules, day)
    assert check.rules[0].state == ("firing" if max(by_day[day]) > 60 else "normal")


def test_a_reorg_fires_a_reorg_rule_on_the_day_of_its_new_tip(tmp_path):
    from tests.test_chain_sync import MemoryChain, _sync

    db = tmp_path / "c.duckdb"
    chain = MemoryChain(300)
    _sync(db, chain)
    rules = parse_rules(
        "groups:\n  - name: g\n    rules:\n      - alert: Reorg\n"
        "        expr: reorg_depth_1d >= 2\n",
        "r.yaml",
    )
    assert alerts_check(db, rules).rules[0].state == "normal"
    chain.reorg(3, extra=1)
    _sync(db, chain)
    check = alerts_check(db, rules)
    assert check.rules[0].state == "firing" and check.rules[0].value == 3


def test_a_value_is_not_a_condition_and_bad_days_are_input_errors(loaded_db):
    rules = parse_rules(
        "groups:\n  - name: g\n    rules:\n      - alert: V\n        expr: price_usd\n", "r.yaml"
    )
    with pytest.raises(InputError) as caught:
        alerts_check(loaded_db, rules, "2022-11-21")
    assert "not a condition" in str(caught.value) and "line 5" in str(caught.value)
    with pytest.raises(InputError) as caught:
        alerts_backtest(loaded_db, "pack", "2022-13-01")
    assert caught.value.parameter == "from_day"


def test_the_adjustment_and_sustainability_figures_are_status_s(cli, loaded_db):
    from minerwatch.analyses.alert_figures import figures_for
    from minerwatch.analyses.day import day_of

    for day in ("2022-06-20", "2025-12-31"):
        status = json.loads(cli("status", "--as-of", day, "--json", "--db", loaded_db).stdout)
        na = status["next_adjustment"]
        with day_of(loaded_db, day) as d:
            figures = figures_for(d)
            for key in ("height", "difficulty", "difficulty_low", "difficulty_high"):
                got = figures.get(f"next_adjustment.{key}")[-1]
                assert got == pytest.approx(na[key], rel=1e-9), key
            got = figures.get("sustainability_index")[-1]
            assert got == pytest.approx(status["sustainability_index"], rel=1e-9)
        assert na["height"] % 2016 == 0 and na["height"] > status["height"]


def test_the_height_figure_is_the_chains_as_status_reports_it(cli, loaded_db):
    from minerwatch.analyses.alert_figures import figures_for
    from minerwatch.analyses.day import day_of

    for day in ("2022-06-20", "2025-12-31"):
        status = json.loads(cli("status", "--as-of", day, "--json", "--db", loaded_db).stdout)
        with day_of(loaded_db, day) as d:
            assert figures_for(d).get("height")[-1] == status["height"]


def test_the_fleet_pack_replays_the_fleets_margin(loaded_db, tmp_path):
    """FleetBelowCost (fleet.margin_usd < 0 for 2 days, kept 3) over 2022, against the
    fleet's daily margins from its history replayed with a plain loop."""
    from tests.test_fleet import fleet_file

    from minerwatch.analyses.fleet_history import fleet_history

    fleet = fleet_file(tmp_path, [("Antminer S19j Pro", 100, 300.0)], price=0.08, fixed=2000)
    history = fleet_history(loaded_db, fleet, "2022-01-01", "2022-12-31")
    days = [str(r["day"]) for r in history.days]
    condition = [float(r["margin_usd"] < 0) for r in history.days]
    expected = [(days[s], days[e]) for s, e in _sequential(condition, need=3, keep=3)]
    result = alerts_backtest(loaded_db, "fleet-pack", "2022-01-01", "2022-12-31", fleet=fleet)
    rule = next(r for r in result.rules if r.alert == "FleetBelowCost")
    assert len(expected) >= 1  # a 2022 of 8-cent power: the margin went below zero
    got = [(p.start, p.end) for p in rule.periods]
    last_open = rule.periods[-1].end is None if rule.periods else False
    if last_open:
        got[-1] = (got[-1][0], "2022-12-31")
    assert got == expected
    without = alerts_check(loaded_db, "fleet-pack", "2022-11-21")
    assert {r.state for r in without.rules} == {"error"}
    assert all("--fleet" in (r.error or "") for r in without.rules)


def test_the_pack_fires_on_a_reorg_and_says_how_stale_the_data_is(tmp_path):
    from tests.test_chain_sync import MemoryChain, _sync

    db = tmp_path / "c.duckdb"
    chain = MemoryChain(300)
    _sync(db, chain)
    chain.reorg(2, extra=1)
    _sync(db, chain)
    states = {r.alert: r for r in alerts_check(db, "pack").rules}
    assert states["Reorg"].state == "firing" and states["Reorg"].value == 2
    assert states["Reorg"].summary.startswith("A reorganisation 2 blocks deep")
    stale = states["DataStale"]
    if stale.state == "firing":  # the stand-in chain's blocks are stamped in the past
        assert re.fullmatch(r"The newest data is [\d,.]+ (s|min|h|days) old", stale.summary)


@pytest.mark.parametrize(
    ("summary", "words"),
    [
        ("close {{ price_us | usd }}", "unknown figure 'price_us'; close: price_usd"),
        ("close {{ price_usd | eur }}", "unknown filter 'eur'; expected usd, pct, num, age"),
    ],
)
def test_an_annotation_quoting_an_unknown_figure_or_filter_is_refused(
    loaded_db, tmp_path, summary, words
):
    path = tmp_path / "r.yaml"
    path.write_text(
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: price_usd < 1\n"
        f"        annotations:\n          summary: {summary!r}\n"
    )
    with pytest.raises(InputError) as caught:
        alerts_check(loaded_db, path, "2022-11-21")
    text = str(caught.value)
    assert text.startswith(f"{path}, line 5, key 'A.annotations.summary'") and words in text


def test_a_backtest_from_after_to_is_refused(cli, loaded_db):
    result = cli(
        "alerts", "backtest", "pack", "--from", "2023-01-01", "--to", "2022-01-01",
        "--db", loaded_db,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--from 2023-01-01 is after --to 2022-01-01" in result.stderr


def test_age_text_reads_like_a_person():
    from minerwatch.analyses.alerts import _age_text

    assert [_age_text(s) for s in (40, 600, 9_000, 29_080_000)] == [
        "40 s",
        "10 min",
        "2.5 h",
        "337 days",
    ]
