"""Every server-rendered page shows the figures of the CLI's `--json` for the same day, on the
real data as of 2025-10-06 (the whole database) and 2022-11-21 (a database cut there):

- /machines (also with the form's power price, pool fee and uptime): every cell of every
  row, written from `asics --json` by the same column formatters, and the intro's figures;
- /episodes: every episode row (start with its marks, end, every formatted cell) of
  `episodes --json`;
- /data (of each database, and of the whole one as of each day): path, schema version,
  size, every table's rows, heights, days, missing days and sources, the syncs, the last
  write, the chains and the reorgs of `info --json` (and `--as-of`);
- /charts: the plotted data (plotly JSON in the page) of the price-vs-cost, hashrate,
  difficulty, hashprice and revenue charts ends on the day with the figures of
  `status --json` and `export daily`, and the captions carry them;
- /pools, on a database with pool data (tests/test_pools.py's ``pools_db``), for a few days
  and windows: every pool row and the intro of `pools --json`.

Expected texts are built from the CLI's JSON with the formatters the templates use.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import re

import httpx
import numpy as np
import pytest

import test_pools
from minerwatch.present import format as fmt
from minerwatch.present.columns import MACHINE_COLUMNS, episode_columns
from minerwatch.web.app import create_app

DAYS = ("2025-10-06", "2022-11-21")

# the database with pool data of tests/test_pools.py, and the fixtures it is made from
list_file = test_pools.list_file
raw_list = test_pools.raw_list
drawn = test_pools.drawn
pools_db = test_pools.pools_db


@pytest.fixture(scope="module")
def sites(loaded_db, db_to_2022_11_21):
    """Per day: the application on its database, and the database (for the CLI)."""
    dbs = dict(zip(DAYS, (loaded_db, db_to_2022_11_21), strict=True))
    return {day: (create_app(db), db) for day, db in dbs.items()}


def _json(cli, *args: object, flag: str = "--json") -> dict | list:
    shown = cli(*args, *([flag] if flag else []))
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def _page(app, url: str) -> str:
    """The page at ``url`` of ``app`` in this process (httpx's ASGI transport)."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return await c.get(url)

    got = asyncio.run(go())
    assert got.status_code == 200, got.text
    return got.text


def _text(fragment: str) -> str:
    """What a reader sees of an HTML fragment: no tags, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def _table(page: str, table_id: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The headers of the table ``table_id`` and its body rows: (the row's attributes, the
    text of each cell)."""
    found = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert found, f"no table {table_id}"
    head, body = found[1].split("<tbody>")
    headers = [_text(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)]
    rows = re.findall(r"<tr([^>]*)>(.*?)</tr>", body, re.S)
    cells = [(a, [_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]) for a, r in rows]
    return headers, cells


def _intro(page: str, key: str) -> str:
    found = re.search(rf'<p id="{key}">(.*?)</p>', page, re.S)
    assert found, f"no paragraph {key}"
    return _text(found[1])


# -- machines -------------------------------------------------------------------------------

FORM = (
    "&power_price=0.05&pool_fee=1&uptime=95",
    ["--power-price", "0.05", "--pool-fee", "1", "--uptime", "95"],
)


@pytest.mark.parametrize("form", [("", []), FORM], ids=["defaults", "form"])
@pytest.mark.parametrize("day", DAYS)
def test_the_machines_page_shows_every_cell_of_asics_json(cli, sites, day, form):
    client, db = sites[day]
    query, args = form
    a = _json(cli, "asics", "--as-of", day, *args, "--db", db)
    page = _page(client, f"/machines?as_of={day}{query}")
    columns = list(MACHINE_COLUMNS.values())
    headers, rows = _table(page, "machines")
    assert headers == [c.header for c in columns]
    assert len(rows) == len(a["machines"]) > 0
    for (attrs, cells), m in zip(rows, a["machines"], strict=True):
        want = [
            (m["release_month"] or "") if c.field == "release_month" else c.cell(m) for c in columns
        ]
        assert cells == want, m["model"]
        assert ('class="underwater"' in attrs) is m["underwater"], m["model"]
    intro = _intro(page, "machines-intro")
    assert intro.startswith(
        f"At {fmt.power_price(a['power_price_usd_kwh'])} USD/kWh, "
        f"pool fee {fmt.percent(a['pool_fee_pct'])}, uptime {fmt.percent(a['uptime_pct'])}, "
        f"hashprice {fmt.hashprice_usd(a['hashprice_usd_ph_day'], 'PH/s', per=True)}: "
        f"{a['underwater_count']} of {len(a['machines'])} models underwater"
    ), intro
    if args:  # the form's options reached the analysis
        assert (a["power_price_usd_kwh"], a["pool_fee_pct"], a["uptime_pct"]) == (0.05, 1, 95)


# -- episodes -------------------------------------------------------------------------------


@pytest.mark.parametrize("day", DAYS)
def test_the_episodes_page_shows_every_row_of_episodes_json(cli, sites, day):
    client, db = sites[day]
    r = _json(cli, "episodes", "--as-of", day, "--db", db)
    page = _page(client, f"/episodes?as_of={day}")
    columns = list(episode_columns(r["horizons_days"]).values())
    headers, rows = _table(page, "episodes")
    assert headers == ["start", "end", *[c.header for c in columns]]
    assert len(rows) == len(r["episodes"]) > 3
    for (_, cells), e in zip(rows, r["episodes"], strict=True):
        start = e["start"] + "*" * e["censored_start"] + "†" * e["hindsight"]
        assert cells == [start, e["end"], *[c.cell(e) for c in columns]], e["start"]
    intro = _intro(page, "episodes-intro")
    first = r["first_day_with_cost"] or "n/a"
    assert f"({r['model']}), {first} to {r['as_of']}: {len(r['episodes'])} episodes" in intro
    assert f"gaps under {fmt.count(r['merge_gap_days'], 'day')} merged" in intro
    assert f"shortest kept {fmt.count(r['min_days'], 'day')}" in intro


# -- data -----------------------------------------------------------------------------------


@pytest.mark.parametrize("day", DAYS)
@pytest.mark.parametrize("cut", ["database", "as_of"])
def test_the_data_page_shows_info_json(cli, sites, day, cut):
    """/data of each database, and /data?as_of=DAY of the whole one."""
    client, db = sites[day] if cut == "database" else sites[DAYS[0]]
    as_of = ["--as-of", day] if cut == "as_of" else []
    i = _json(cli, "info", "--db", db, *as_of)
    page = _page(client, "/data" + (f"?as_of={day}" if as_of else ""))
    said = re.search(r'<p class="meta" id="day">(.*?)</p>', page, re.S)
    assert (_text(said[1]) if said else None) == (
        f"Day {day} (UTC): nothing after it is read." if as_of else None
    )
    assert _intro(page, "db-path") == (
        f"{i['path']}: schema version {i['schema_version']}, {fmt.si(i['file_size_bytes'], 'B')}"
    )
    _, rows = _table(page, "tables")
    want = []
    for name, t in i["tables"].items():
        heights = ""
        if t["unit"] == "height" and t["first"] is not None:
            heights = f"{fmt.number(t['first'], ',d')} to {fmt.number(t['last'], ',d')}"
        days = f"{t['first_day']} to {t['last_day']}" if t["first_day"] else ""
        sources = "; ".join(
            f"{s}: {fmt.number(v['rows'], ',d')} ({v['first']} to {v['last']}, "
            f"{fmt.number(v['missing'], ',d')} missing)"
            for s, v in t["sources"].items()
        )
        missing = fmt.number(t["missing"], ",d") if t["rows"] else ""
        want.append([name, fmt.number(t["rows"], ",d"), heights, days, missing, sources])
    assert [cells for _, cells in rows] == want
    assert sum(t["rows"] for t in i["tables"].values()) > 0
    assert ('id="gaps"' in page) == any(t["gaps"] for t in i["tables"].values())
    items = [_text(li) for li in re.findall(r"<li>(.*?)</li>", page, re.S)]
    syncs = [
        f"last sync {s}: through {v['last_day']}, at {v['updated_at']} UTC"
        for s, v in i["sync"].items()
    ] or ["last sync: never"]
    last = i["last_import"]
    writes = (
        [f"last write: {last['table']} from {last['origin']}, at {last['at']} UTC"] if last else []
    )  # as of a day before the database was loaded, none yet
    chains = [
        f"chain from {s} ({c['network']}): tip {fmt.number(c['tip_height'], ',d')} {c['tip_hash']}"
        for s, c in i["chain"].items()
    ]
    stale = f" ({fmt.number(i['stale_blocks'], ',d')} stale blocks kept)" * bool(i["stale_blocks"])
    reorgs = [f"reorgs seen: {len(i['reorgs'])}{stale}"] + [
        f"{r['seen_at']} UTC at height {fmt.number(r['height'], ',d')}, depth {r['depth']} "
        f"({r['source']})"
        for r in i["reorgs"]
    ]
    assert items == syncs + writes + chains + reorgs


# -- charts ---------------------------------------------------------------------------------


def _charts(page: str, day: str) -> dict[str, tuple[dict, dict[str, tuple[list, np.ndarray]]]]:
    """Per chart key: its plotly layout and, per trace name, the x values and the y values
    (numbers; plotly's typed arrays decoded)."""
    specs = re.findall(rf'id="spec-([\w-]+)-{day}">(.*?)</script>', page, re.S)
    out = {}
    for key, spec in specs:
        doc = json.loads(spec.replace("<\\/", "</"))
        traces = {}
        for t in doc["data"]:
            y = t["y"]
            y = np.frombuffer(base64.b64decode(y["bdata"]), "<f8") if isinstance(y, dict) else y
            traces[t["name"]] = (t["x"], y)
        out[key] = (doc["layout"], traces)
    return out


def _last(traces, name: str, day: str) -> float:
    """The last y value of the trace ``name``, which must be drawn at ``day``."""
    assert name in traces, (name, list(traces))
    x, y = traces[name]
    assert x[-1] == day, (name, x[-1])
    return float(y[-1])


@pytest.mark.parametrize("day", DAYS)
def test_the_charts_end_on_the_day_with_the_clis_figures(cli, sites, day):
    client, db = sites[day]
    s = _json(cli, "status", "--as-of", day, "--db", db)
    export = ("export", "daily", "--from", day, "--to", day, "--format", "json", "--db", db)
    (row,) = _json(cli, *export, flag="")
    assert row["day"] == day
    page = _page(client, f"/charts?as_of={day}")
    charts = _charts(page, day)
    assert {"price-vs-cost", "hashrate", "difficulty", "hashprice", "revenue"} <= set(charts)
    figures = re.findall(r'<figure id="([\w-]+)">.*?<figcaption>(.*?)</figcaption>', page, re.S)
    captions = {key: _text(body) for key, body in figures}

    _, price = charts["price-vs-cost"]
    assert _last(price, "close", day) == s["price_usd"]
    default = s["production_cost_model"]
    for model, cost in s["production_cost_models"].items():
        name = f"{model} (default)" if model == default else model
        assert _last(price, name, day) == cost, model
    assert _last(price, f"{default} (default)", day) == s["production_cost_usd"]
    assert (
        f"{day}: close {fmt.usd(s['price_usd'])}, {default} {fmt.usd(s['production_cost_usd'])} "
        f"({fmt.pct(s['price_to_cost_pct'])})"
    ) in captions["price-vs-cost"]

    layout, rates = charts["hashrate"]
    unit = layout["yaxis"]["title"]["text"]
    per_ehs = dict(fmt.HASHRATE_UNITS)[unit]
    for window in ("7d", "30d", "60d"):
        want = s["hashrate_ehs"][window] * per_ehs
        assert _last(rates, f"{window} mean", day) == want, window
        assert row[f"hashrate_hs_{window}"] * per_ehs / 1e18 == pytest.approx(want, rel=1e-9)
    rib = s["hash_ribbons"]
    short, long = fmt.hashrates([rib["sma30_ehs"], rib["sma60_ehs"]], scale=(unit, per_ehs))
    assert f"{day}: ribbons {rib['state']}" in captions["hashrate"]
    assert f"30d {short}, 60d {long}" in captions["hashrate"]

    _, diff = charts["difficulty"]
    assert _last(diff, "difficulty", day) == s["difficulty"] == row["difficulty_last"]
    na = s["next_adjustment"]
    if na is not None and na["difficulty"] is not None:
        x, y = diff["next adjustment (forecast)"]
        assert (x, list(y)) == ([na["date"].rstrip("Z")], [na["difficulty"]])
        low, high = fmt.pct(na["change_pct_low"]), fmt.pct(na["change_pct_high"])
        assert f"{fmt.pct(na['change_pct'])} (90%: {low} to {high})" in captions["difficulty"]

    _, hp = charts["hashprice"]
    assert _last(hp, "USD per PH/s per day", day) == s["hashprice_usd_ph_day"]
    assert _last(hp, "BTC per PH/s per day", day) == s["hashprice_btc_ph_day"]
    usd = fmt.usd(s["hashprice_usd_ph_day"], cents_below=1000)
    btc = fmt.btc(s["hashprice_btc_ph_day"])
    assert f"{day}: {usd} = {btc} per PH/s per day" in captions["hashprice"]

    _, revenue = charts["revenue"]
    assert _last(revenue, "subsidy", day) == row["issuance_usd"]
    assert _last(revenue, "fees", day) == row["fees_usd"]
    assert (
        f"{day}: {fmt.usd(s['revenue_usd_1d'])} ({fmt.btc(s['subsidy_btc_1d'])} subsidy + "
        f"{fmt.btc(s['fees_btc_1d'])} fees)"
    ) in captions["revenue"]


# -- pools ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "window"),
    [("2025-10-01", None), ("2025-10-10", "7d"), ("2025-10-14", "epoch"), ("2025-10-16", "1000")],
)
def test_the_pools_page_shows_every_pool_of_pools_json(cli, pools_db, day, window):
    query, args = (f"&window={window}", ["--window", window]) if window else ("", [])
    r = _json(cli, "pools", "--as-of", day, *args, "--db", pools_db)
    page = _page(create_app(pools_db), f"/pools?as_of={day}{query}")
    shares = [*r["pools"], r["unknown"]] if r["unknown"]["blocks"] else r["pools"]
    rates = fmt.hashrates([p["hashrate_ehs"] for p in shares])
    headers, rows = _table(page, "pools")
    assert headers == ["pool", "blocks", "share", "90% interval", "hashrate", "empty"]
    assert len(rows) == len(shares) > 3
    for (_, cells), p, rate in zip(rows, shares, rates, strict=True):
        assert cells == [
            p["name"] if p["name"] is not None else "unknown",
            fmt.number(p["blocks"], ",d"),
            fmt.share(p["share_pct"]),
            f"{fmt.share(p['share_low_pct'])} to {fmt.share(p['share_high_pct'])}",
            rate,
            fmt.number(p["empty_blocks"], ",d"),
        ], p["name"]
    assert sum(p["blocks"] for p in shares) == r["blocks"]
    intro = _intro(page, "pools-intro")
    assert intro.startswith(f"Pools, {r['window']} window to the end of {r['as_of']}")
    assert (
        f"{fmt.count(r['blocks'], 'block')}, heights {fmt.number(r['first_height'], ',d')} to "
        f"{fmt.number(r['last_height'], ',d')} ({fmt.when(r['window_start'])} to "
        f"{fmt.when(r['window_end'])})"
    ) in intro
    assert ("(provisional)" in intro) is r["provisional"]
