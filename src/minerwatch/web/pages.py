"""The server-rendered pages: Now, Charts, Difficulty, Machines, Pools, Episodes and Data
(the Fleet page is :mod:`minerwatch.web.fleet`, the Alerts page :mod:`minerwatch.web.alerts`).

Each page takes ``?as_of=YYYY-MM-DD`` and shows that day as the CLI does (the same library
calls: ``status``, ``report``'s charts, ``difficulty``, ``asics``, ``info``); every number
is formatted by :mod:`minerwatch.present.format`. Templates are Jinja2 (autoescaped); the
as-of form swaps the page's content by htmx without a reload (a plain GET without
JavaScript). Charts are drawn by plotly.js from the installed plotly package; a page
fetches nothing from another host.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from minerwatch._version import __version__
from minerwatch.chain.consensus import next_halving_height
from minerwatch.present import format as fmt
from minerwatch.web.app import read_store

if TYPE_CHECKING:
    import jinja2

    from minerwatch.analyses.status import Status
    from minerwatch.analyses.tip import Tip
    from minerwatch.store import Store

router = APIRouter(include_in_schema=False)

PAGES = (
    ("/", "Now"),
    ("/charts", "Charts"),
    ("/difficulty", "Difficulty"),
    ("/machines", "Machines"),
    ("/pools", "Pools"),
    ("/episodes", "Episodes"),
    ("/fleet", "Fleet"),
    ("/alerts", "Alerts"),
    ("/data", "Data"),
)
#: The windows the Pools page offers (``minerwatch pools --window``).
POOL_WINDOWS = ("1d", "7d", "30d", "epoch", "1000")
STATIC = {
    "htmx.min.js": "text/javascript",
    "app.js": "text/javascript",
    "style.css": "text/css",
    "plotly.css": "text/css",
}
AsOf = Annotated[str | None, Query()]


@functools.cache
def _templates() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("minerwatch.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals.update(fmt=fmt, pages=PAGES, version=__version__)
    return env


def render(request: Request, template: str, code: int = 200, **context: Any) -> HTMLResponse:
    """The page ``template`` with ``context`` (``path``, ``as_of`` for the form)."""
    context.setdefault("as_of", request.query_params.get("as_of") or "")
    html = _templates().get_template(template).render(path=request.url.path, **context)
    return HTMLResponse(html, status_code=code)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", status, title="Error", day=None, message=message)


@dataclass(frozen=True)
class Tile:
    """One figure of the Now page: ``label``, the ``value``, the lines below it and an
    optional sparkline (:class:`Sparkline`)."""

    key: str
    label: str
    value: str
    lines: tuple[str, ...] = ()
    spark: Sparkline | None = None


#: Days a sparkline spans.
SPARK_DAYS = 90


@dataclass(frozen=True)
class Sparkline:
    """A small line of a daily series drawn as SVG: ``points`` in a ``width`` x ``height``
    box (the first day on the left, the highest value at the top), and what it shows."""

    points: str
    label: str
    width: int = 120
    height: int = 32


def sparkline(series: np.ndarray, label: str, days: int = SPARK_DAYS) -> Sparkline | None:
    """The last ``days`` values of ``series`` as a :class:`Sparkline` (missing days left
    out); None with fewer than two values or no range to draw."""
    tail = np.asarray(series, np.float64)[-days:]
    x = np.flatnonzero(np.isfinite(tail))
    if len(x) < 2:
        return None
    y = tail[x]
    low, high = float(y.min()), float(y.max())
    box = Sparkline("", label)
    span_x = max(len(tail) - 1, 1)
    scale_y = (box.height - 2) / (high - low) if high > low else 0.0
    px = x * (box.width / span_x)
    py = box.height - 1 - (y - low) * scale_y if scale_y else np.full(len(y), box.height / 2)
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True))
    return Sparkline(points, label, box.width, box.height)


def change_pct(series: np.ndarray, days: int) -> float | None:
    """Percent change of the last value of a daily ``series`` over ``days`` days (None
    where either end is missing)."""
    if len(series) <= days:
        return None
    now, then = float(series[-1]), float(series[-1 - days])
    if not (np.isfinite(now) and np.isfinite(then)) or then == 0:
        return None
    return (now / then - 1.0) * 100.0


def halving_eta_days(blocks_left: int, interval_min: float | None) -> float | None:
    """Days until the halving at the 7-day mean block interval (minutes)."""
    if interval_min is None or not np.isfinite(interval_min):
        return None
    return blocks_left * interval_min / (24 * 60)


def now_tiles(
    s: Status, hashprice_usd: np.ndarray, tip: Tip | None, now_s: float | None = None
) -> list[Tile]:
    """The Now page's tiles of the snapshot ``s`` (``status --json``), with the hashprice
    series of the days up to it (USD per PH/s per day) for its 1- and 7-day changes and the
    tip held (None for a day before the last one held: the day's end height is shown) with
    its age at ``now_s`` (default now); past the day's last block, the tip's difficulty
    and forecast (:func:`~minerwatch.analyses.tip.tip_of`)."""
    unit = "PH/s"
    na = s.next_adjustment if tip is None else tip.next_adjustment
    difficulty = s.difficulty if tip is None else tip.difficulty
    rib = s.hash_ribbons
    now_s = time.time() if now_s is None else now_s
    age = (
        f"age {fmt.number((now_s - tip.time_s) / 3600, ',.1f')} h"
        if tip is not None
        else f"as of the end of {s.as_of}"
    )
    tip_height = s.height if tip is None or tip.height is None else tip.height
    tip_lines: tuple[str, ...] = (age, fmt.count(s.blocks_1d, "block") + f" on {s.as_of}")
    if tip_height != s.height:
        tip_lines += (f"the day ended at block {fmt.number(s.height, ',d')}",)
    difficulty_lines: tuple[str, ...] = ("no forecast",)
    if tip is not None and tip.reason is not None:
        difficulty_lines = (f"no forecast at block {fmt.number(tip.height, ',d')}", tip.reason)
    if na is not None:
        difficulty_lines = (
            f"next {fmt.pct(na.change_pct)} ({fmt.pct(na.change_pct_low)} to "
            f"{fmt.pct(na.change_pct_high)})",
            f"at {fmt.when(na.date)}",
            f"{fmt.number(na.blocks_remaining, ',d')} blocks left",
        )
        if tip is not None and tip.at_block:
            difficulty_lines += (f"forecast at block {fmt.number(tip_height, ',d')}",)
    halving = None if tip_height is None else next_halving_height(tip_height)
    halving_lines: tuple[str, ...] = ()
    if halving is not None and tip_height is not None:
        left = halving - tip_height
        days = halving_eta_days(left, s.block_interval_min_7d)
        halving_lines = (
            f"block {fmt.number(halving, ',d')}",
            f"about {fmt.number(days, ',.0f')} days at the 7d interval",
        )
    models = [f"{m}: {fmt.usd(v)}" for m, v in s.production_cost_models.items()]
    return [
        Tile("tip", "Tip height", fmt.number(tip_height, ",d"), tip_lines),
        Tile(
            "hashprice",
            "Hashprice",
            fmt.hashprice_usd(s.hashprice_usd_ph_day, unit, per=True),
            (
                fmt.hashprice_btc(s.hashprice_btc_ph_day, unit, per=True),
                f"1d {fmt.pct(change_pct(hashprice_usd, 1))}, "
                f"7d {fmt.pct(change_pct(hashprice_usd, 7))}",
            ),
            sparkline(hashprice_usd, f"hashprice, USD per {unit} per day, last {SPARK_DAYS} days"),
        ),
        Tile(
            "price",
            "Price vs production cost",
            fmt.usd(s.price_usd),
            (
                f"{fmt.pct(s.price_to_cost_pct)} vs {s.production_cost_model} "
                f"{fmt.usd(s.production_cost_usd)}",
                *models,
            ),
        ),
        Tile("difficulty", "Difficulty", fmt.difficulty(difficulty), difficulty_lines),
        Tile(
            "hashrate",
            "Hashrate 7d",
            fmt.hashrate(s.hashrate_ehs.get("7d")),
            (f"{fmt.pct(s.hashrate_drawdown_pct)} from the high",),
        ),
        Tile("ribbons", "Hash ribbons", rib.state, (f"since {rib.since}",) if rib.since else ()),
        Tile("puell", "Puell multiple", fmt.number(s.puell_multiple), ()),
        Tile("fees", "Fee share 7d", fmt.share(s.fees_share_pct_7d), ("of miner revenue",)),
        Tile(
            "halving",
            "Halving",
            "n/a"
            if halving is None or tip_height is None
            else fmt.count(halving - tip_height, "block") + " left",
            halving_lines,
        ),
        Tile(
            "revenue",
            "Miner revenue 1d",
            fmt.usd(s.revenue_usd_1d, millions=True),
            (
                fmt.btc(s.revenue_btc_1d),
                f"subsidy {fmt.btc(s.subsidy_btc_1d)}, fees {fmt.btc(s.fees_btc_1d)}",
            ),
        ),
    ]


def _tip(store: Store, s: Status) -> Tip | None:
    """The newest block held with the forecast at it (:func:`~minerwatch.analyses.tip.tip_of`),
    or None when the page shows a day before the last one held."""
    from minerwatch.analyses.tip import tip_of

    return tip_of(store, s) if s.as_of == s.data_through else None


def _now_figures(store: Store, as_of: str | None) -> tuple[Status, np.ndarray, Tip | None]:
    """What the Now page shows of the database: the status, the hashprice history for its
    sparkline and the tip held."""
    from minerwatch.analyses.day import day_of
    from minerwatch.analyses.status import status

    with day_of(store, as_of) as day:
        s = status(day)
        return s, day.metrics.hashprice_usd_ph_day, _tip(store, s)


@router.get("/", response_class=HTMLResponse)
def now_page(request: Request, as_of: AsOf = None) -> HTMLResponse:
    from minerwatch.web.app import AnswerCache
    from minerwatch.web.events import state_id

    answers: AnswerCache = request.app.state.answers
    rendered_at = state_id(answers.file_state())  # before: a later write is announced

    def compute() -> tuple[Status, np.ndarray, Tip | None]:
        with read_store(request) as store:
            return _now_figures(store, as_of)

    s, hashprice, tip = answers.kept(f"now?{as_of}", compute)
    tiles = now_tiles(s, hashprice, tip)
    live = as_of is None  # the latest day: follows the database (web/events.py)
    return render(
        request, "now.html", title="Now", day=s.as_of, tiles=tiles, live=live, state=rendered_at,
        provisional=s.provisional,
    )  # fmt: skip


def _figure_json(chart: Any) -> str:
    from minerwatch.present.html import PLOTLY_CONFIG, figure

    fig = figure(chart)
    doc = {
        "data": fig["data"],
        "layout": fig["layout"],
        "config": PLOTLY_CONFIG,
        "height": chart.height_px,
    }
    return json.dumps(doc, allow_nan=False, separators=(",", ":")).replace("</", "<\\/")


@router.get("/charts", response_class=HTMLResponse)
def charts_page(request: Request, as_of: AsOf = None) -> HTMLResponse:
    from minerwatch.analyses.report import report_data
    from minerwatch.present.charts import build_charts

    with read_store(request) as store:
        d = report_data(store, as_of)
    charts = [(c, _figure_json(c)) for c in build_charts(d)]
    return render(request, "charts.html", title="Charts", day=d.as_of, charts=charts)


@router.get("/difficulty", response_class=HTMLResponse)
def difficulty_page(request: Request, as_of: AsOf = None) -> HTMLResponse:
    from minerwatch.analyses.backtest import DifficultyBacktest, backtest_difficulty
    from minerwatch.analyses.difficulty import difficulty_outlook
    from minerwatch.web.app import AnswerCache

    with read_store(request) as store:
        o = difficulty_outlook(store, as_of)
    answers: AnswerCache = request.app.state.answers

    def scored() -> DifficultyBacktest:
        with read_store(request) as store:
            return backtest_difficulty(store, o.as_of_day or as_of)

    b = answers.kept(f"backtest?{o.as_of_day or as_of}", scored)  # about 1 s: once a state
    day = o.as_of_day or o.as_of
    return render(request, "difficulty.html", title="Difficulty", day=day, o=o, backtest=b)


@router.get("/machines", response_class=HTMLResponse)
def machines_page(
    request: Request,
    as_of: AsOf = None,
    power_price: Annotated[float | None, Query()] = None,
    pool_fee: Annotated[float | None, Query()] = None,
    uptime: Annotated[float | None, Query()] = None,
) -> HTMLResponse:
    from minerwatch.analyses.asics import asic_economics
    from minerwatch.present.columns import MACHINE_COLUMNS, machine_rows
    from minerwatch.web.api import given

    options = given(power_price_usd_kwh=power_price, pool_fee_pct=pool_fee, uptime_pct=uptime)
    with read_store(request) as store:
        a = asic_economics(store, as_of, **options)
    columns = list(MACHINE_COLUMNS.values())
    rows = [([c.cell(r) for c in columns], bool(r["underwater"])) for r in machine_rows(a.machines)]
    return render(
        request, "machines.html", title="Machines", day=a.as_of, a=a, columns=columns, rows=rows
    )


@router.get("/pools", response_class=HTMLResponse)
def pools_page(
    request: Request, as_of: AsOf = None, window: Annotated[str | None, Query()] = None
) -> HTMLResponse:
    from minerwatch.analyses.pools import pool_shares
    from minerwatch.web.api import given

    with read_store(request) as store:
        r = pool_shares(store, as_of, **given(window=window))
    shares = [*r.pools, r.unknown] if r.unknown.blocks else list(r.pools)
    rows = list(zip(shares, fmt.hashrates([s.hashrate_ehs for s in shares]), strict=True))
    network = fmt.hashrates(
        [r.network_hashrate_ehs, r.network_hashrate_low_ehs, r.network_hashrate_high_ehs]
    )
    windows = POOL_WINDOWS if r.window in POOL_WINDOWS else (*POOL_WINDOWS, r.window)
    return render(
        request, "pools.html", title="Pools", day=r.as_of, r=r, rows=rows, network=network,
        windows=windows,
    )  # fmt: skip


@router.get("/episodes", response_class=HTMLResponse)
def episodes_page(request: Request, as_of: AsOf = None) -> HTMLResponse:
    from minerwatch.analyses.studies import cost_episodes, study
    from minerwatch.present.columns import episode_columns

    with read_store(request) as store:
        r = cost_episodes(store, as_of)
        studies = [study_table(study(store, name, r.as_of)) for name in STUDIES]
    columns = list(episode_columns(r.horizons_days).values())
    rows = [(e, [c.cell(e) for c in columns]) for e in r.episodes]
    return render(
        request, "episodes.html", title="Episodes", day=r.as_of, r=r, columns=columns, rows=rows,
        studies=studies,
    )  # fmt: skip


#: The studies the Episodes page shows (``minerwatch study NAME``), with their defaults.
STUDIES = ("below-cost", "ribbons", "compression")


@dataclass(frozen=True)
class StudyTable:
    """A study's summary rows as the page shows them: ``name``, the column ``headers`` (the
    keys of ``study NAME --json``'s rows) and the formatted ``cells``."""

    name: str
    first_day: str
    headers: list[str]
    cells: list[list[str]]
    numeric: list[bool]  # per column: right-aligned


def _study_cell(key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return fmt.NA if value is None else str(value)
    if isinstance(value, int):
        return fmt.number(value, ",d")
    if key == "share_positive_pct":
        return fmt.percent(value, 0)
    return fmt.pct(value) if key.endswith("_pct") else fmt.number(value)


def study_table(r: Any) -> StudyTable:
    """The summary table of a :class:`~minerwatch.analyses.studies.StudyResult`."""
    from minerwatch.serialize import to_jsonable

    rows = to_jsonable(r.rows)
    headers = list(rows[0]) if rows else []
    cells = [[_study_cell(k, row.get(k)) for k in headers] for row in rows]
    numeric = [bool(rows) and isinstance(rows[0][k], int | float) for k in headers]
    return StudyTable(r.name, r.first_day, headers, cells, numeric)


@router.get("/data", response_class=HTMLResponse)
def data_page(request: Request, as_of: AsOf = None) -> HTMLResponse:
    from minerwatch.analyses.info import info
    from minerwatch.present.info import GAPS_SHOWN

    with read_store(request) as store:
        i = info(store, as_of)
    return render(
        request, "data.html", title="Data", day=i.as_of, i=i, api_path="/api/v1/info",
        gaps_shown=GAPS_SHOWN,
    )  # fmt: skip


@router.get("/static/plotly.min.js")
def plotly_js() -> Response:
    from minerwatch.present.html import plotly_js as text

    return Response(
        text(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    if name not in STATIC:
        return Response("not found", status_code=404, media_type="text/plain")
    body = resources.files("minerwatch.web").joinpath("static", name).read_bytes()
    return Response(
        body, media_type=STATIC[name], headers={"Cache-Control": "public, max-age=86400"}
    )
