"""Capitulation and stress signals (`minerwatch signals`): the hash-ribbon state machine against
a plain day-by-day reference, percentile ranks, then the real history's capitulations (the
2021 China ban, summer 2022) and each figure derived independently from the Coin Metrics CSV."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import minerwatch
from minerwatch.analyses.signals import RibbonsSummary, signals
from minerwatch.errors import InputError
from minerwatch.metrics import signals as sg

DAY0 = np.datetime64("2020-01-01")


# -- a day-by-day reference of the hash-ribbon rules (loops on purpose) ----------------------


def _sma(x, w):
    out = np.full(len(x), np.nan)
    for t in range(w - 1, len(x)):
        window = x[t - w + 1 : t + 1]
        if np.isfinite(window).all():
            out[t] = window.mean()
    return out


def _reference(h, p, *, short, long, ps, pl, confirm, recovery, rule):
    s, lg, a, b = _sma(h, short), _sma(h, long), _sma(p, ps), _sma(p, pl)
    n = len(h)
    state = ["n/a"] * n
    buy = [False] * n
    last_inv = None
    last_cross = None
    bought = set()
    for t in range(n):
        mom = bool(np.isfinite(a[t]) and np.isfinite(b[t]) and a[t] > b[t])
        was_defined = t > 0 and np.isfinite(a[t - 1]) and np.isfinite(b[t - 1])
        if mom and was_defined and not a[t - 1] > b[t - 1]:
            last_cross = t
        if not (np.isfinite(s[t]) and np.isfinite(lg[t])):
            continue
        if s[t] < lg[t]:
            last_inv = t
        if last_inv is None:
            state[t] = "normal"
            continue
        since = t - last_inv
        if since < confirm:
            state[t] = "capitulation"
        elif since <= recovery and last_inv not in bought:
            state[t] = "recovery"
            follows = last_cross is not None and last_cross > last_inv + 1
            if mom and (rule == "any" or follows):
                buy[t] = True
                bought.add(last_inv)
        else:
            state[t] = "normal"
    return state, buy


def _walk(n, seed, drift=0.0, vol=0.03):
    rng = np.random.default_rng(seed)
    return 100.0 * np.exp(np.cumsum(drift + vol * rng.standard_normal(n)))


@pytest.mark.parametrize("rule", ["any", "follow"])
@pytest.mark.parametrize("confirm", [1, 2, 4])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ribbons_match_a_day_by_day_reference(rule, confirm, seed):
    n = 900
    h = _walk(n, seed, vol=0.04)
    p = _walk(n, seed + 100)
    p[:15] = np.nan  # no price at first, like 2009-2010
    params = dict(short=7, long=15, ps=3, pl=6, confirm=confirm, recovery=20, rule=rule)
    rib = sg.hash_ribbons(
        h,
        p,
        short_days=7,
        long_days=15,
        price_short_days=3,
        price_long_days=6,
        confirm_days=confirm,
        recovery_days=20,
        price_cross=rule,
    )
    state, buy = _reference(h, p, **params)
    assert [sg.STATE_NAMES[int(c)] for c in rib.state] == state
    assert rib.buy.tolist() == buy
    assert rib.buy.sum() > 3 and (rib.state == sg.STATE_CAPITULATION).sum() > 50


def _dip(n=300, start=100, length=40, low=80.0):
    """Hashrate 100 with a drop to ``low`` on rows start .. start+length-1."""
    h = np.full(n, 100.0)
    h[start : start + length] = low
    return h


def test_a_hashrate_drop_is_one_capitulation_then_recovery_and_buy():
    h = _dip()
    price = np.linspace(100.0, 200.0, len(h))  # always rising: momentum positive
    rib = sg.hash_ribbons(h, price, confirm_days=1)
    starts, ends, ongoing = sg.capitulation_periods(rib)
    # SMA30 < SMA60 from the first day of the drop until the 30-day mean is back above.
    assert starts.tolist() == [100] and not ongoing[0]
    s, lg = _sma(h, 30), _sma(h, 60)
    assert ends[0] == max(t for t in range(len(h)) if s[t] < lg[t])
    recovery_day = ends[0] + 1
    assert rib.state[recovery_day] == sg.STATE_RECOVERY
    assert rib.since_row[recovery_day] == recovery_day
    assert np.flatnonzero(rib.buy).tolist() == [recovery_day]  # momentum already positive
    assert rib.state[recovery_day + 1] == sg.STATE_NORMAL


def test_price_cross_rule_any_versus_follow():
    h = _dip()
    rib0 = sg.hash_ribbons(h, np.full(len(h), 100.0), confirm_days=1)
    r = int(sg.capitulation_periods(rib0)[1][0]) + 1  # first day back above
    # The price rises throughout, except a dip that makes its 10-day SMA cross back above
    # the 20-day SMA ten days after the hashrate cross.
    price = np.linspace(100.0, 150.0, len(h))
    price[r - 25 : r + 2] = np.linspace(price[r - 25], 80.0, 27)
    price[r + 2 :] = np.linspace(85.0, 160.0, len(h) - r - 2)
    any_ = sg.hash_ribbons(h, price, confirm_days=1, price_cross="any")
    follow = sg.hash_ribbons(h, price, confirm_days=1, price_cross="follow")
    b_any, b_follow = np.flatnonzero(any_.buy), np.flatnonzero(follow.buy)
    assert len(b_any) == len(b_follow) == 1
    assert (
        b_follow[0] > r
        and any_.price_sma_short_usd[b_follow[0] - 1] <= (any_.price_sma_long_usd[b_follow[0] - 1])
    )
    # Without a dip the momentum is already positive: "any" buys on the recovery day,
    # "follow" never (no cross after the recovery within the window).
    rising = np.linspace(100.0, 200.0, len(h))
    assert np.flatnonzero(sg.hash_ribbons(h, rising, confirm_days=1).buy).tolist() == [r]
    never = sg.hash_ribbons(h, rising, confirm_days=1, price_cross="follow")
    assert not never.buy.any()
    # The recovery lapses after recovery_days without a buy signal.
    assert (never.state == sg.STATE_RECOVERY).sum() == sg.RIBBON_RECOVERY_DAYS


def test_short_flips_above_do_not_end_a_capitulation():
    # With 1- and 2-day means a day is inverted exactly when the hashrate fell that day.
    steps = [1.0] * 5 + [-1.0] * 10 + [1.0] + [-1.0] * 10 + [1.0] * 30
    h = 100.0 + np.cumsum(steps)
    flat = np.full(len(h), 100.0)
    kw = dict(short_days=1, long_days=2, price_short_days=1, price_long_days=2)
    r1 = sg.hash_ribbons(h, flat, confirm_days=1, **kw)
    r2 = sg.hash_ribbons(h, flat, confirm_days=2, **kw)
    assert sg.capitulation_periods(r1)[0].tolist() == [5, 16]
    s2, e2, ongoing = sg.capitulation_periods(r2)
    assert (s2.tolist(), e2.tolist(), ongoing.tolist()) == ([5], [25], [False])
    # The one day above (row 15) is still capitulation: it is not confirmed.
    assert r1.state[15] == sg.STATE_RECOVERY and r2.state[15] == sg.STATE_CAPITULATION
    # The recovery after row 25 is confirmed on row 27, dated from row 26.
    assert r2.state[26] == sg.STATE_CAPITULATION and r2.state[27] == sg.STATE_RECOVERY
    assert r2.since_row[27] == 26 and r2.recovery_confirmed[27] and r2.recovery_confirmed.sum() == 1


def test_ongoing_capitulation_and_undefined_start():
    h = _dip(n=150, start=120, length=30)
    rib = sg.hash_ribbons(h, np.full(len(h), 100.0))
    assert (rib.state[:59] == sg.STATE_UNDEFINED).all()
    assert rib.state[-1] == sg.STATE_CAPITULATION and rib.since_row[-1] == 120
    starts, ends, ongoing = sg.capitulation_periods(rib)
    assert starts.tolist() == [120] and ongoing.tolist() == [True]


def test_bad_ribbon_parameters_are_named():
    h = np.full(100, 1.0)
    cases = [
        ({"short_days": 0}, "short_days"),
        ({"short_days": 60, "long_days": 30}, "long_days"),
        ({"price_short_days": 20, "price_long_days": 10}, "price_long_days"),
        ({"confirm_days": 0}, "confirm_days"),
        ({"confirm_days": 5, "recovery_days": 3}, "recovery_days"),
        ({"price_cross": "before"}, "price_cross"),
        ({"long_days": 2.5}, "long_days"),
    ]
    for kwargs, name in cases:
        with pytest.raises(InputError, match=name) as info:
            sg.hash_ribbons(h, h, **kwargs)
        assert info.value.parameter == name


# -- percentiles and helpers -----------------------------------------------------------------


def test_percentile_rank_ends_and_ties():
    assert sg.percentile_rank([1, 2, 3, 4, 5], 5) == 100.0
    assert sg.percentile_rank([1, 2, 3, 4, 5], 1) == 0.0
    assert sg.percentile_rank([1, 2, 3, 4, 5], 3) == 50.0
    assert sg.percentile_rank([2, 2, 2], 2) == 50.0
    assert sg.percentile_rank([1.0, np.nan, 3.0], 3.0) == 100.0
    assert math.isnan(sg.percentile_rank([1.0], 1.0))


def test_rolling_and_expanding_percentiles_equal_the_plain_rank():
    rng = np.random.default_rng(7)
    x = np.round(rng.standard_normal(700), 1)  # ties
    x[[5, 300]] = np.nan
    rolling = sg.rolling_percentile(x, 50)
    expanding = sg.expanding_percentile(x, chunk=64)
    for t in range(len(x)):
        window = x[max(0, t - 49) : t + 1]
        want = sg.percentile_rank(window, x[t]) if np.isfinite(window).all() and t >= 49 else None
        if want is None or math.isnan(want):
            assert math.isnan(rolling[t])
        else:
            assert rolling[t] == pytest.approx(want)
        want_e = sg.percentile_rank(x[: t + 1], x[t])
        assert (math.isnan(expanding[t]) and math.isnan(want_e)) or expanding[t] == pytest.approx(
            want_e
        )


def test_trailing_min_and_last_retarget():
    x = np.array([5.0, 3.0, np.nan, 4.0, 6.0, 1.0])
    assert sg.trailing_min(x, 3).tolist() == [5.0, 3.0, 3.0, 3.0, 4.0, 1.0]
    d = np.array([100.0, 100.0, 100.0, 103.0, 110.0, 110.0, 110.0, 99.0, 99.0])
    row, pct = sg.last_retarget(d)
    # Rows 3-4: a blended day then the new level, one retarget of +10%; row 7: -10%.
    assert row.tolist() == [-1, -1, -1, 3, 3, 3, 3, 7, 7]
    assert math.isnan(pct[2]) and pct[5] == pytest.approx(10.0) and pct[8] == pytest.approx(-10.0)


# -- the real history -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def now(loaded_db):
    return signals(loaded_db, as_of="2025-12-31")


def _period_near(report, start: str):
    target = np.datetime64(start)
    return min(
        report.hash_ribbons.capitulations,
        key=lambda c: abs((np.datetime64(c.start) - target).astype(int)),
    )


def _days_between(a: str, b: str) -> int:
    return int((np.datetime64(a) - np.datetime64(b)).astype(int))


def test_2021_china_ban_capitulation(now):
    # China's mining ban: the 30-day mean fell below the 60-day mean in early June 2021 and
    # crossed back in early August (Capriole's chart: roughly June to August 2021).
    c = _period_near(now, "2021-06-05")
    assert abs(_days_between(c.start, "2021-06-03")) <= 7
    assert abs(_days_between(c.end, "2021-08-06")) <= 7
    assert 55 <= c.days <= 75
    assert c.buy_signal is not None and _days_between(c.buy_signal, c.end) <= 7


def test_summer_2022_capitulation_is_about_71_days(now):
    # Edwards, 20 Aug 2022: "The Bitcoin miner capitulation has officially ended today,
    # making it the 3rd longest capitulation in history at 71 days" (Hash Ribbon buy signal).
    c = _period_near(now, "2022-06-10")
    assert abs(_days_between(c.start, "2022-06-10")) <= 5
    assert abs(_days_between(c.end, "2022-08-19")) <= 5
    assert abs(c.days - 71) <= 3
    assert abs(_days_between(c.buy_signal, "2022-08-20")) <= 3
    assert c.buy_signal in [b.date for b in now.hash_ribbons.buy_signals]


def test_state_on_days_inside_and_after(loaded_db):
    inside = signals(loaded_db, as_of="2022-07-20").hash_ribbons
    assert inside.state == "capitulation" and inside.since == "2022-06-09"
    assert inside.sma_short_ehs < inside.sma_long_ehs
    later = signals(loaded_db, as_of="2022-10-01").hash_ribbons
    assert later.state == "normal" and later.last_buy_signal == "2022-08-20"
    st = minerwatch.status(loaded_db, as_of="2022-07-20")
    assert st.hash_ribbons == RibbonsSummary(
        state="capitulation",
        since="2022-06-09",
        sma30_ehs=inside.sma_short_ehs,
        sma60_ehs=inside.sma_long_ehs,
    )


def test_status_gains_ribbons_and_sustainability(loaded_db, cm_rows):
    d = minerwatch.status(loaded_db, as_of="2025-10-06").to_dict()
    assert set(d["hash_ribbons"]) == {"state", "since", "sma30_ehs", "sma60_ehs"}
    assert d["hash_ribbons"]["state"] in {"capitulation", "recovery", "normal"}
    # The SMAs are the 30- and 60-day means of Coin Metrics' daily HashRate (TH/s).
    i = next(k for k, r in enumerate(cm_rows) if r["time"] == "2025-10-06")
    hr = [float(r["HashRate"]) for r in cm_rows[i - 59 : i + 1]]
    assert d["hash_ribbons"]["sma30_ehs"] == pytest.approx(sum(hr[-30:]) / 30 / 1e6, rel=1e-9)
    assert d["hash_ribbons"]["sma60_ehs"] == pytest.approx(sum(hr) / 60 / 1e6, rel=1e-9)
    assert 0 <= d["sustainability_index"] <= 100


def _cm(cm_rows, col):
    return np.array([float(r[col]) if r[col] else np.nan for r in cm_rows])


def test_sustainability_index_from_the_csv(loaded_db, cm_rows):
    # Revenue per unit of work: (IssTotNtv + FeeTotNtv) x PriceUSD over the day's hashes
    # (HashRate TH/s x 1e12 x 86400 s); its percentile among the 365 days to the day.
    days = [r["time"] for r in cm_rows]
    rev = (_cm(cm_rows, "IssTotNtv") + _cm(cm_rows, "FeeTotNtv")) * _cm(cm_rows, "PriceUSD")
    per_work = rev / (_cm(cm_rows, "HashRate") * 1e12 * 86400)
    for day in ("2022-11-21", "2024-04-19", "2025-12-31"):
        i = days.index(day)
        window = per_work[i - 364 : i + 1]
        want = 100 * (np.sum(window < per_work[i]) + 0.5 * (np.sum(window == per_work[i]) - 1))
        want /= 364
        got = minerwatch.status(loaded_db, as_of=day).sustainability_index
        assert got == pytest.approx(want), day
        s = signals(loaded_db, as_of=day).sustainability
        assert s.index == pytest.approx(want)
        assert s.revenue_per_work_usd_ph_day == pytest.approx(per_work[i] * 86400 * 1e15)
        assert "ours" in s.method and "proprietary" in s.method


def test_puell_percentile_from_the_csv(loaded_db, cm_rows):
    days = [r["time"] for r in cm_rows]
    iss_usd = _cm(cm_rows, "IssTotNtv") * _cm(cm_rows, "PriceUSD")
    i = days.index("2022-11-21")
    puell = np.full(i + 1, np.nan)
    for t in range(364, i + 1):
        w = iss_usd[t - 364 : t + 1]
        if np.isfinite(w).all():
            puell[t] = iss_usd[t] / w.mean()
    values = puell[np.isfinite(puell)]
    want = 100 * (np.sum(values < puell[i]) + 0.5 * (np.sum(values == puell[i]) - 1))
    want /= len(values) - 1
    p = signals(loaded_db, as_of="2022-11-21").puell
    assert p.multiple == pytest.approx(puell[i], rel=1e-9)
    assert p.percentile == pytest.approx(want)
    assert p.days_ranked == len(values)
    assert p.percentile < 5  # the FTX low: among the lowest readings ever


def _epoch_change_pct(epochs_csv, day: str) -> tuple[str, float]:
    """Day and change of the last retarget at or before ``day``'s end, from the epochs CSV."""
    import csv
    from datetime import UTC, datetime

    end = datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() + 86400
    with open(epochs_csv, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["start_time"]]
    seen = [r for r in rows if int(r["start_time"]) < end]
    last, before = seen[-1], seen[-2]
    when = datetime.fromtimestamp(int(last["start_time"]), UTC).date().isoformat()
    return when, 100 * (float(last["difficulty"]) / float(before["difficulty"]) - 1)


def test_stress_conditions_on_known_days(loaded_db, epochs_csv):
    july = signals(loaded_db, as_of="2022-07-20")
    names = {c.name for c in july.stress}
    assert {"price_below_cost", "hashrate_drawdown", "ribbons_capitulation"} <= names
    assert set(july.stress_checked) == {
        "price_below_cost",
        "hashrate_drawdown",
        "ribbons_capitulation",
        "hashprice_low",
        "revenue_low",
        "difficulty_falling",
    }
    for c in july.stress:
        assert c.value is not None and c.threshold is not None and c.unit and c.description
    dd = next(c for c in july.stress if c.name == "hashrate_drawdown")
    assert dd.value <= -10 and dd.threshold == -10
    # The difficulty condition follows the last retarget in the epochs table.
    for day in ("2022-07-20", "2024-01-10", "2025-12-31"):
        when, pct = _epoch_change_pct(epochs_csv, day)
        s = signals(loaded_db, as_of=day)
        falling = [c for c in s.stress if c.name == "difficulty_falling"]
        assert bool(falling) == (pct < 0), day
        if falling:
            assert falling[0].value == pytest.approx(pct, rel=1e-9)
            assert when in falling[0].description
    # A bull market: none of the conditions holds.
    assert signals(loaded_db, as_of="2021-03-01").stress == []


def test_hashprice_and_revenue_lows(loaded_db, cm_rows):
    days = [r["time"] for r in cm_rows]
    rev = (_cm(cm_rows, "IssTotNtv") + _cm(cm_rows, "FeeTotNtv")) * _cm(cm_rows, "PriceUSD")
    rev7 = np.convolve(rev, np.ones(7) / 7)[: len(rev)]
    rev7[:6] = np.nan
    for day in ("2022-11-21", "2022-06-18", "2024-05-01", "2025-04-08"):
        i = days.index(day)
        want = rev7[i] <= np.nanmin(rev7[i - 364 : i])
        got = signals(loaded_db, as_of=day)
        assert any(c.name == "revenue_low" for c in got.stress) == want, day
    hp = signals(loaded_db, as_of="2022-11-21", hashprice_low_months=1)
    assert "hashprice_low" in {c.name for c in hp.stress}


def test_no_look_ahead(tmp_path, coinmetrics_csv, epochs_csv, loaded_db):
    # Signals for a day are the same whether the database ends that day or years later.
    cut = "2022-08-19"
    lines = coinmetrics_csv.read_text().splitlines(keepends=True)
    short = tmp_path / "short.csv"
    short.write_text("".join([lines[0]] + [x for x in lines[1:] if x[:10] <= cut]))
    db = tmp_path / "short.duckdb"
    with minerwatch.open_store(db) as store:
        minerwatch.import_coinmetrics(store, short)
        minerwatch.import_epochs(store, epochs_csv)
    assert signals(db).to_dict() == signals(loaded_db, as_of=cut).to_dict()
    st_short = minerwatch.status(db).to_dict()
    st_long = minerwatch.status(loaded_db, as_of=cut).to_dict()
    for key in ("hash_ribbons", "sustainability_index"):
        assert st_short[key] == st_long[key]


def test_ribbon_series_are_causal(loaded_db):
    # Each day's state, since-row and buy flag are the same on the history cut at that day.
    frame = minerwatch.daily_frame(loaded_db)
    h = minerwatch.compute_daily_metrics(frame).hashrate_hs[1]
    full = sg.hash_ribbons(h, frame.price_usd)
    for day in ("2022-07-04", "2022-07-05", "2022-08-19", "2022-08-20", "2024-06-18"):
        k = int(frame.index_of(np.datetime64(day))) + 1
        part = sg.hash_ribbons(h[:k], frame.price_usd[:k])
        for name in ("state", "since_row", "buy", "capitulation", "recovery"):
            assert np.array_equal(getattr(part, name), getattr(full, name)[:k]), (day, name)


def test_bad_parameters_are_rejected(loaded_db):
    cases = [
        ({"confirm_days": 0}, "confirm_days"),
        ({"price_cross": "later"}, "price_cross"),
        ({"hashrate_drawdown_pct": 150}, "hashrate_drawdown_pct"),
        ({"hashrate_drawdown_pct": -5}, "hashrate_drawdown_pct"),
        ({"hashprice_low_months": 0}, "hashprice_low_months"),
        ({"sustainability_window_days": 1}, "sustainability_window_days"),
        ({"cost_model": "nope"}, "model"),
    ]
    for kwargs, name in cases:
        with pytest.raises(InputError, match=name):
            signals(loaded_db, **kwargs)


def test_cli_json_equals_library_and_errors_exit_2(cli, loaded_db):
    result = cli("signals", "--as-of", "2022-07-20", "--json", "--db", str(loaded_db))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(
        json.dumps(signals(loaded_db, as_of="2022-07-20").to_dict())
    )
    text = cli("signals", "--as-of", "2022-07-20", "--db", str(loaded_db))
    assert text.returncode == 0 and "capitulation" in text.stdout
    bad = cli("signals", "--price-cross", "later", "--db", str(loaded_db))
    assert bad.returncode == 2 and "--price-cross" in bad.stderr
    late = cli("signals", "--as-of", "2030-01-01", "--db", str(loaded_db))
    assert late.returncode == 2
