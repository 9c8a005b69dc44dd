"""The report's charts as plain specifications, built from :class:`~.data.ReportData`.

Presentation only: each chart selects columns and days of the report data (no arithmetic
beyond unit scaling for display) and says how to draw them. :mod:`.html` turns a
:class:`Chart` into a Plotly figure and :mod:`.png` into a matplotlib one, so the HTML and
the PNG versions are the same charts of the same data. No plotting library is imported here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from minerwatch.analyses.cost import MODELS
from minerwatch.analyses.report import Period, ReportData
from minerwatch.present import format as fmt

# Colours: the close in black, the default cost model in red, each other model its own hue.
PRICE_COLOR = "#111111"
MODEL_COLORS = {
    "drm-fit-2015": "#d62728",
    "drm-fit-2012": "#ff9f9a",
    "drm-fit-all": "#9467bd",
    "drm-glassnode-2022": "#8c564b",
    "drm-checkmate-2019": "#e377c2",
    "hayes": "#2ca02c",
    "cbeci-electricity": "#17becf",
    "cbeci-all-in": "#1f77b4",
}
MODEL_DASH = {"drm-glassnode-2022": "dash", "drm-checkmate-2019": "dash", "hayes": "dot"}
BELOW_COST_SHADE = "#d62728"
CAPITULATION_SHADE = "#d62728"
HASHRATE_COLORS = {"7d": "#9ecae1", "30d": "#1f77b4", "60d": "#ff7f0e"}
DIFFICULTY_COLOR = "#1f77b4"
FORECAST_COLOR = "#d62728"
BASELINE_COLOR = "#7f7f7f"
HASHPRICE_USD_COLOR = "#2ca02c"
HASHPRICE_BTC_COLOR = "#f28e2b"
SUBSIDY_COLOR = "#f2a900"
FEES_COLOR = "#4c78a8"
UNDERWATER_COLOR = "#d62728"
PROFITABLE_COLOR = "#2ca02c"


@dataclass(frozen=True)
class Series:
    """One trace. ``style``: ``line``, ``step`` (a level held until the next point),
    ``area`` (stacked with the panel's other areas), ``marker`` or ``bar`` (horizontal:
    ``x`` the values, ``y`` the category names)."""

    name: str
    x: np.ndarray
    y: np.ndarray
    color: str
    style: str = "line"
    width: float = 1.4
    dash: str = "solid"
    panel: int = 0
    marker: str = "circle"
    legend: bool = True


@dataclass(frozen=True)
class Shade:
    """Periods shaded on every panel, ``(first day, day after the last)``."""

    label: str
    color: str
    periods: tuple[tuple[np.datetime64, np.datetime64], ...]
    opacity: float = 0.14


@dataclass(frozen=True)
class Axis:
    """A panel's value axis: ``title`` with its unit, log scale, a ``$`` prefix, SI
    suffixes (k, M, T) for large numbers."""

    title: str
    log: bool = False
    dollars: bool = False
    si: bool = False


@dataclass(frozen=True)
class RefLine:
    """A reference line across the plot: vertical at ``x`` or horizontal at ``y``."""

    label: str
    color: str
    x: object = None
    y: float | None = None
    dash: str = "dash"


@dataclass(frozen=True)
class Chart:
    """A chart: ``key`` (file name of its PNG), ``title``, ``subtitle`` (what is drawn, in
    which unit), ``kind`` (``time`` or ``bar``), one :class:`Axis` per panel (stacked
    vertically, sharing the x axis), the series, shaded periods, reference lines, a ``note``
    (figures worth reading exactly), for bar charts the category order (top first), and
    ``x_pad``: room after the last point, as a fraction of the time span."""

    key: str
    title: str
    subtitle: str
    kind: str
    panels: tuple[Axis, ...]
    series: tuple[Series, ...]
    shades: tuple[Shade, ...] = ()
    lines: tuple[RefLine, ...] = ()
    note: str = ""
    categories: tuple[str, ...] = ()
    x_title: str = ""
    height_px: int = 480
    x_pad: float = 0.0

    def has_data(self) -> bool:
        """True when at least one series holds a finite value."""
        return any(_finite(s) for s in self.series)


def _finite(s: Series) -> bool:
    values = s.x if s.style == "bar" else s.y
    return bool(np.isfinite(np.asarray(values, np.float64)).any()) if len(values) else False


def _moment(iso: str) -> np.datetime64:
    """``2026-01-08T06:55:28Z`` as a ``datetime64[s]``."""
    return np.datetime64(iso.rstrip("Z"), "s")


def _spans(
    periods: list[Period], start: str | None
) -> tuple[tuple[np.datetime64, np.datetime64], ...]:
    """The periods that reach into the window from ``start``, as ``(first day, day after
    the last)``, cut at ``start``."""
    if start is None:
        return ()
    return tuple(
        (
            np.datetime64(max(p.start, start), "D"),
            np.datetime64(p.end, "D") + np.timedelta64(1, "D"),
        )
        for p in periods
        if p.end >= start
    )


def _window(d: ReportData, start: str | None) -> np.ndarray:
    if start is None:
        return np.zeros(len(d.day), bool)
    return d.day >= np.datetime64(start, "D")


def price_vs_cost(d: ReportData) -> Chart:
    """The close and every production-cost model since the first close, log scale, with the
    default model's below-cost episodes shaded."""
    w = _window(d, d.history_start)
    day = d.day[w]
    series = [Series("close", day, d.price_usd[w], PRICE_COLOR, width=1.6)]
    default = d.cost_model
    for name in MODELS:
        y = d.cost_usd[name][w]
        if name == default:
            series.append(Series(f"{name} (default)", day, y, MODEL_COLORS[name], width=2.2))
        else:
            color = MODEL_COLORS.get(name, "#999999")
            dash = MODEL_DASH.get(name, "solid")
            series.append(Series(name, day, y, color, width=1.0, dash=dash))
    pc = d.cost
    hindsight = [f"drm-{f.preset} before {f.window_end}" for f in pc.drm.values() if f.hindsight]
    subtitle = (
        "Daily close and the production cost of one bitcoin by every model, USD, log scale. "
        f"Shaded: the close below {default} (the default model)."
    )
    if not np.isfinite(d.cost_usd[default][w]).any():
        subtitle += f" {default} has no value up to {d.as_of}."
    if hindsight:
        subtitle += " Published constants carry hindsight: " + ", ".join(hindsight) + "."
    note = ""
    if pc.cost_usd is not None and pc.price_usd is not None:
        note = (
            f"{d.as_of}: close {fmt.usd(pc.price_usd)}, {default} "
            f"{fmt.usd(pc.cost_usd)} ({fmt.pct(pc.price_to_cost_pct)})"
        )
    return Chart(
        key="price-vs-cost",
        title="Price against production cost",
        subtitle=subtitle,
        kind="time",
        panels=(Axis("USD per BTC (log)", log=True, dollars=True),),
        series=tuple(series),
        shades=(
            Shade(
                f"close below {default}",
                BELOW_COST_SHADE,
                _spans(d.below_cost, d.history_start),
            ),
        ),
        note=note,
        height_px=560,
    )


def _hashrate_unit(values_ehs: list[np.ndarray]) -> tuple[str, float]:
    """The largest unit in which the window's highest value is at least 1 (EH/s today;
    GH/s in 2010), and its size per EH/s (:func:`minerwatch.present.format.hashrate_scale`
    of the window's largest value)."""
    finite = [v[np.isfinite(v)] for v in values_ehs]
    top = max((float(np.abs(v).max()) for v in finite if v.size), default=1.0)
    return fmt.hashrate_scale([top])


def hashrate(d: ReportData) -> Chart:
    """The 7-, 30- and 60-day mean hashrate over the recent window, hash-ribbon
    capitulations shaded."""
    w = _window(d, d.recent_start)
    keys = ("7d", "30d", "60d")
    unit, per_ehs = _hashrate_unit([d.hashrate_ehs[key][w] for key in keys])
    series = tuple(
        Series(
            f"{key} mean",
            d.day[w],
            d.hashrate_ehs[key][w] * per_ehs,  # unit scaling for display
            HASHRATE_COLORS[key],
            width=1.0 if key == "7d" else 1.8,
        )
        for key in keys
    )
    rib = d.signals.hash_ribbons
    note = ""
    if rib.sma_short_ehs is not None and rib.sma_long_ehs is not None:
        since = f" since {rib.since}" if rib.since else ""
        short, long = fmt.hashrates([rib.sma_short_ehs, rib.sma_long_ehs], scale=(unit, per_ehs))
        note = f"{d.as_of}: ribbons {rib.state}{since}; 30d {short}, 60d {long}"
    return Chart(
        key="hashrate",
        title="Hashrate and hash ribbons",
        subtitle=(
            "Network hashrate, trailing means of the daily estimate (blocks x difficulty x "
            f"2^32 / 86,400 s), {unit}. Shaded: hash-ribbon capitulation (30-day mean below "
            "the 60-day mean)."
        ),
        kind="time",
        panels=(Axis(unit),),
        series=series,
        shades=(
            Shade(
                "ribbon capitulation",
                CAPITULATION_SHADE,
                _spans(d.capitulations, d.recent_start),
            ),
        ),
        note=note,
    )


def difficulty(d: ReportData) -> Chart:
    """The difficulty over the recent window and the forecast of the next adjustment: the
    central estimate with the 90% intervals of the change and of the date, and
    mempool.space's estimate."""
    w = _window(d, d.difficulty_start)
    series = [Series("difficulty", d.day[w], d.difficulty[w], DIFFICULTY_COLOR, "step", width=1.8)]
    nd = d.next_difficulty
    note = ""
    if nd is not None and nd.difficulty is not None:
        at = _moment(nd.date)
        series += [
            Series(
                "90% interval of the change",
                np.array([at, at]),
                np.array([nd.difficulty_low, nd.difficulty_high]),
                FORECAST_COLOR,
                width=2.0,
            ),
            Series(
                "90% interval of the date",
                np.array([_moment(nd.date_low), _moment(nd.date_high)]),
                np.array([nd.difficulty, nd.difficulty]),
                FORECAST_COLOR,
                width=3.0,
            ),
            Series(
                "next adjustment (forecast)",
                np.array([at]),
                np.array([nd.difficulty]),
                FORECAST_COLOR,
                "marker",
                marker="diamond",
            ),
        ]
        if nd.baseline_difficulty is not None and nd.baseline_date:
            series.append(
                Series(
                    "mempool.space estimate",
                    np.array([_moment(nd.baseline_date)]),
                    np.array([nd.baseline_difficulty]),
                    BASELINE_COLOR,
                    "marker",
                    marker="x",
                )
            )
        note = (
            f"Next adjustment, block {nd.height:,}: {fmt.pct(nd.change_pct)} "
            f"(90%: {fmt.pct(nd.change_pct_low)} to {fmt.pct(nd.change_pct_high)}) around "
            f"{fmt.when(nd.date)} "
            f"(90%: {fmt.when(nd.date_low)} to {fmt.when(nd.date_high)})"
        )
        if nd.baseline_change_pct is not None and nd.baseline_date:
            note += (
                f"; mempool.space: {fmt.pct(nd.baseline_change_pct)}, {fmt.when(nd.baseline_date)}"
            )
    return Chart(
        key="difficulty",
        title="Difficulty and the next adjustment",
        subtitle=(
            "Difficulty of each day's last block, and the forecast of the next retarget: "
            "the difficulty it would set (central, with the 90% intervals of the change and "
            "of the date) beside mempool.space's estimate."
        ),
        kind="time",
        panels=(
            Axis(
                "difficulty (T = 10^12)"
                if d.status.difficulty is not None and d.status.difficulty >= 1e12
                else "difficulty",
                si=True,
            ),
        ),
        x_pad=0.04,
        series=tuple(series),
        lines=(RefLine(f"as of {d.as_of}", "#555555", x=np.datetime64(d.as_of, "D")),),
        note=note,
    )


# A panel whose values span more than this ratio (two decades: hashprice in 2009-2010) is
# drawn on a log scale, so that the later, smaller values stay readable.
LOG_SCALE_RATIO = 100.0


def _wide(values: np.ndarray) -> bool:
    """True when the positive finite ``values`` span more than :data:`LOG_SCALE_RATIO`."""
    v = values[np.isfinite(values) & (values > 0)]
    return bool(v.size) and float(v.max()) > LOG_SCALE_RATIO * float(v.min())


def hashprice(d: ReportData) -> Chart:
    """Luxor's hashprice over the recent window, in USD and in BTC (two panels), per PH/s,
    or per the largest unit the network reached in the window (TH/s, GH/s before 2013)."""
    w = _window(d, d.recent_start)
    unit = d.hashprice_unit
    note = ""
    usd, btc = float(d.hashprice_usd_unit_day[-1]), float(d.hashprice_btc_unit_day[-1])
    if np.isfinite(usd) and np.isfinite(btc):  # the last day is as_of
        note = f"{d.as_of}: {fmt.usd(usd, cents_below=1000)} = {fmt.btc(btc)} per {unit} per day"
    subtitle = (
        f"Expected revenue of 1 {unit} for a day (Luxor's hashprice: next block's subsidy + "
        "the day's mean fees per block, at the day's last difficulty), in USD and in BTC."
    )
    if unit != "PH/s":
        subtitle += f" Per {unit}, not the usual PH/s: the network ran below 1 PH/s in the window."
    return Chart(
        key="hashprice",
        title="Hashprice",
        subtitle=subtitle,
        kind="time",
        panels=(
            Axis(
                f"USD per {unit} per day",
                log=_wide(d.hashprice_usd_unit_day[w]),
                dollars=True,
                si=True,
            ),
            Axis(f"BTC per {unit} per day", log=_wide(d.hashprice_btc_unit_day[w]), si=True),
        ),
        series=(
            Series(
                f"USD per {unit} per day",
                d.day[w],
                d.hashprice_usd_unit_day[w],
                HASHPRICE_USD_COLOR,
            ),
            Series(
                f"BTC per {unit} per day",
                d.day[w],
                d.hashprice_btc_unit_day[w],
                HASHPRICE_BTC_COLOR,
                panel=1,
            ),
        ),
        note=note,
        height_px=560,
    )


def revenue(d: ReportData) -> Chart:
    """Daily miner revenue over the recent window, stacked: subsidy and fees, USD."""
    w = _window(d, d.recent_start)
    s = d.status
    note = ""
    if s.revenue_usd_1d is not None:
        note = (
            f"{d.as_of}: {fmt.usd(s.revenue_usd_1d)} ({fmt.btc(s.subsidy_btc_1d)} subsidy + "
            f"{fmt.btc(s.fees_btc_1d)} fees)"
        )
    return Chart(
        key="revenue",
        title="Daily miner revenue",
        subtitle=(
            "Subsidy (new coins) and fees of each day's blocks, valued at the day's close, USD, "
            "stacked."
        ),
        kind="time",
        panels=(Axis("USD per day", dollars=True, si=True),),
        series=(
            Series("subsidy", d.day[w], d.subsidy_usd[w], SUBSIDY_COLOR, "area", width=0.8),
            Series("fees", d.day[w], d.fees_usd[w], FEES_COLOR, "area", width=0.8),
        ),
        note=note,
    )


def machines(d: ReportData) -> Chart | None:
    """Breakeven electricity price of every ASIC model released by ``as_of`` (highest on
    top), underwater models in red, the electricity price as a line."""
    a = d.asics
    if a is None or len(a.machines) == 0:
        return None
    m = a.machines
    order = np.argsort(-m.breakeven_power_price_usd_kwh, kind="stable")
    names = tuple(str(m.model[i]) for i in order)
    series = []
    for label, mask, color in (
        ("underwater (power costs more than it earns)", m.underwater, UNDERWATER_COLOR),
        ("profitable", ~m.underwater, PROFITABLE_COLOR),
    ):
        idx = [i for i in order if mask[i]]
        if idx:
            series.append(
                Series(
                    label,
                    m.breakeven_power_price_usd_kwh[idx],
                    np.array([str(m.model[i]) for i in idx], dtype=object),
                    color,
                    "bar",
                )
            )
    return Chart(
        key="machines",
        title="Machine breakeven electricity price",
        subtitle=(
            f"Electricity price at which each ASIC model's revenue covers its power, USD/kWh, "
            f"at the hashprice of {d.as_of} (pool fee {a.pool_fee_pct:g}%, uptime "
            f"{a.uptime_pct:g}%); models released by then."
        ),
        kind="bar",
        panels=(Axis("model"),),
        series=tuple(series),
        lines=(
            RefLine(
                f"electricity ${a.power_price_usd_kwh:g}/kWh", "#111111", x=a.power_price_usd_kwh
            ),
        ),
        note=(
            f"{a.underwater_count} of {len(m)} models underwater at ${a.power_price_usd_kwh:g}/kWh"
        ),
        categories=names,
        x_title="breakeven electricity price, USD/kWh",
        height_px=max(360, 110 + 17 * len(names)),
    )


CHART_BUILDERS = (price_vs_cost, hashrate, difficulty, hashprice, revenue, machines)


def build_charts(d: ReportData) -> list[Chart]:
    """Every chart of the report that has data on ``d.as_of``, in reading order; series
    without a value (a model that has none yet) are left out."""
    charts = []
    for build in CHART_BUILDERS:
        chart = build(d)
        if chart is not None and chart.has_data():
            kept = tuple(s for s in chart.series if _finite(s))
            charts.append(dataclasses.replace(chart, series=kept))
    return charts
