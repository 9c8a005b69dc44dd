"""The report (`minerwatch report`): one self-contained HTML file with every chart drawn from
the library's figures, PNG versions of the same charts, and nothing read after the day."""

from __future__ import annotations

import base64
import csv
import dataclasses
import io
import json
import re
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest

import minerwatch
from minerwatch.analyses.cost import MODELS
from minerwatch.analyses.report import next_difficulty
from minerwatch.chain import consensus as chain
from minerwatch.present.charts import build_charts
from minerwatch.present.html import render_html, write_report

DAY = "2025-12-31"
TITLES = {
    "price-vs-cost": "Price against production cost",
    "hashrate": "Hashrate and hash ribbons",
    "difficulty": "Difficulty and the next adjustment",
    "hashprice": "Hashprice",
    "revenue": "Daily miner revenue",
    "machines": "Machine breakeven electricity price",
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report(loaded_db, tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    files = write_report(loaded_db, folder / "r.html", DAY, png_dir=folder / "png")
    return files, files.html.read_text(encoding="utf-8")


def _skip(text: str, i: int) -> int:
    while text[i] in " \n\t,":
        i += 1
    return i


def _figures(text: str) -> dict[str, dict]:
    """Every Plotly figure of the page: div id -> {data, layout} (the JSON passed to
    ``Plotly.newPlot``), read after the head (the inline plotly.js)."""
    body = text[text.index("</head>") :]
    decoder = json.JSONDecoder()
    out = {}
    for m in re.finditer(r"Plotly\.newPlot\(", body):
        i = _skip(body, m.end())
        div, i = decoder.raw_decode(body, i)
        data, i = decoder.raw_decode(body, _skip(body, i))
        layout, _ = decoder.raw_decode(body, _skip(body, i))
        out[div] = {"data": data, "layout": layout}
    return out


def _values(v) -> np.ndarray:
    """A trace's array: plotly writes numbers as base64 typed arrays, dates as strings."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
    return np.asarray(v)


def _trace(fig: dict, name: str) -> dict:
    return next(t for t in fig["data"] if t.get("name") == name)


class _Resources(HTMLParser):
    """Every tag of the page and every attribute that could load something."""

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.links: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "data", "srcset", "poster", "action") and value:
                self.links.append((tag, name, value))


# -- the HTML ---------------------------------------------------------------------------------


def test_the_report_holds_every_chart_with_its_title_and_data(report):
    files, text = report
    figures = _figures(text)
    assert list(figures) == [f"chart-{key}" for key in TITLES]
    assert files.charts == list(TITLES)
    assert text.count('class="plotly-graph-div"') == len(TITLES)
    for key, title in TITLES.items():
        fig = figures[f"chart-{key}"]
        assert fig["layout"]["title"]["text"] == title
        assert fig["data"], key
        for trace in fig["data"]:
            x, y = _values(trace["x"]), _values(trace["y"])
            assert len(x) == len(y) > 0, (key, trace.get("name"))
            numbers = x if trace["type"] == "bar" else y
            assert np.isfinite(numbers.astype(float)).any(), (key, trace.get("name"))


def test_the_charts_draw_the_library_figures(loaded_db, report):
    figures = _figures(report[1])
    s = minerwatch.status(loaded_db, DAY)

    price = figures["chart-price-vs-cost"]
    assert price["layout"]["yaxis"]["type"] == "log"
    names = [t["name"] for t in price["data"]]
    assert names[0] == "close" and len(names) == 1 + len(MODELS)
    assert _values(_trace(price, "close")["x"])[-1] == DAY
    assert _values(_trace(price, "close")["y"])[-1] == s.price_usd
    assert _values(_trace(price, "drm-fit-2015 (default)")["y"])[-1] == s.production_cost_usd
    episodes = minerwatch.cost_episodes(loaded_db, DAY).episodes
    shaded = [
        sh for sh in price["layout"]["shapes"] if sh.get("name") == "close below drm-fit-2015"
    ]
    assert len(shaded) == len(episodes) == 12
    assert shaded[-1]["x0"] == "2025-11-17"

    hashrate = figures["chart-hashrate"]
    for key in ("7d", "30d", "60d"):
        last = _values(_trace(hashrate, f"{key} mean")["y"])[-1]
        assert last == pytest.approx(s.hashrate_ehs[key], rel=1e-12)
    capitulations = [sh for sh in hashrate["layout"]["shapes"] if sh.get("name")]
    assert capitulations and capitulations[-1]["x0"] == s.hash_ribbons.since

    difficulty = figures["chart-difficulty"]
    na = s.next_adjustment
    # The chart draws the difficulties the library's forecast gives (checked against the
    # consensus retarget in test_the_next_difficulty_is_the_consensus_retarget_...).
    point = _trace(difficulty, "next adjustment (forecast)")
    assert _values(point["x"])[0] == na.date.rstrip("Z")
    assert _values(point["y"])[0] == na.difficulty
    low, high = _values(_trace(difficulty, "90% interval of the change")["y"])
    assert (low, high) == (na.difficulty_low, na.difficulty_high)
    assert low < s.difficulty and na.change_pct_low < 0  # a fall sets a lower difficulty
    baseline = _trace(difficulty, "mempool.space estimate")
    outlook = minerwatch.difficulty_outlook(loaded_db, DAY)
    assert _values(baseline["y"])[0] == outlook.baseline.difficulty
    dates = _values(_trace(difficulty, "90% interval of the date")["x"])
    assert list(dates) == [na.date_low.rstrip("Z"), na.date_high.rstrip("Z")]
    assert _values(_trace(difficulty, "difficulty")["y"])[-1] == s.difficulty

    hashprice = figures["chart-hashprice"]
    assert "USD per PH/s per day" in hashprice["layout"]["yaxis"]["title"]["text"]
    assert "BTC per PH/s per day" in hashprice["layout"]["yaxis2"]["title"]["text"]
    assert _values(_trace(hashprice, "USD per PH/s per day")["y"])[-1] == s.hashprice_usd_ph_day
    assert _values(_trace(hashprice, "BTC per PH/s per day")["y"])[-1] == s.hashprice_btc_ph_day

    revenue = figures["chart-revenue"]
    subsidy, fees = _trace(revenue, "subsidy"), _trace(revenue, "fees")
    assert subsidy["stackgroup"] == fees["stackgroup"]
    total = _values(subsidy["y"])[-1] + _values(fees["y"])[-1]
    assert total == pytest.approx(s.revenue_usd_1d, rel=1e-12)

    machines = figures["chart-machines"]
    economics = minerwatch.asic_economics(loaded_db, DAY)
    bars = {t["name"]: list(_values(t["y"])) for t in machines["data"]}
    under = bars["underwater (power costs more than it earns)"]
    assert len(under) == economics.underwater_count == 23
    assert len(under) + len(bars["profitable"]) == len(economics.machines)
    assert "Antminer S19" in under and "Antminer S21" in bars["profitable"]


def test_the_report_opens_offline_in_one_file(report):
    text = report[1]
    page = _Resources()
    page.feed(text)
    # Nothing is loaded from anywhere: no script src, no stylesheet link, no image.
    assert page.links == []
    assert "link" not in page.tags and "img" not in page.tags and "iframe" not in page.tags
    assert not re.search(r"<script[^>]*\bsrc\s*=", text)
    # plotly.js is inline, once.
    from plotly.offline import get_plotlyjs

    assert text.count(get_plotlyjs()) == 1
    assert page.tags.count("script") == 2 + len(TITLES)  # config, plotly.js, one per chart


def test_the_brief_and_the_tables_open_the_report(loaded_db, report):
    text = report[1]
    b = minerwatch.brief(loaded_db, DAY)
    brief_at = text.index('id="brief"')
    assert brief_at < text.index('id="snapshot"') < text.index('id="charts"')
    import html

    for paragraph in b.paragraphs:
        assert html.escape(paragraph) in text
    s = minerwatch.status(loaded_db, DAY)
    snapshot = text[text.index('id="snapshot"') : text.index('id="charts"')]
    for figure in ("$87,517", "-29.9%", "$90,213", "10.17", "$37.38", "0.79"):
        assert figure in snapshot
    # The chain's height: the running block count (930,345) less its 5-block lead.
    assert s.height == 930_341 and f"{s.height:,}" in snapshot
    assert "980 EH/s / 1,043 EH/s / 1,051 EH/s / 1,064 EH/s" in snapshot  # 1d / 7d / 30d / 60d
    assert round(s.hashrate_ehs["7d"]) == 1043
    signals = text[text.index('id="signals"') :]
    assert 'price_below_cost</td><td class="text">holds' in signals
    machines = text[text.index('id="machines"') : text.index('id="signals"')]
    assert machines.count('<tr class="underwater">') == 23


# -- PNG --------------------------------------------------------------------------------------


def _series_pixels(chart, as_of: str, image: np.ndarray | None = None) -> dict[str, int]:
    """For each series of ``chart``, how many pixels of its colour lie inside the plot area
    of its panel (2 pixels in from the frame), in ``image`` (default: the chart drawn
    afresh); the panels' positions come from drawing the chart the same way."""
    from matplotlib.colors import to_rgb
    from matplotlib.image import imread

    from minerwatch.present.png import DPI, draw

    fig = draw(chart, as_of)
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=DPI, facecolor="white", format="png")
    buffer.seek(0)
    drawn = imread(buffer)
    image = drawn if image is None else image
    assert image.shape == drawn.shape
    height = image.shape[0]
    out = {}
    for s in chart.series:
        box = fig.axes[0 if chart.kind == "bar" else s.panel].get_window_extent()
        area = image[int(height - box.y1) + 2 : int(height - box.y0) - 2]
        area = area[:, int(box.x0) + 2 : int(box.x1) - 2, :3]
        colour = np.array(to_rgb(s.color))
        # Stacked areas are drawn at 90% opacity over white.
        targets = [colour, 0.9 * colour + 0.1] if s.style == "area" else [colour]
        out[s.name] = sum(
            int(np.count_nonzero(np.abs(area - t).max(axis=-1) < 0.04)) for t in targets
        )
    return out


def test_every_chart_is_a_png_that_draws_its_series_in_the_plot(loaded_db, report):
    from matplotlib.image import imread

    files = report[0]
    assert [p.name for p in files.pngs] == [f"{key}.png" for key in TITLES]
    charts = build_charts(minerwatch.report_data(loaded_db, DAY))
    for chart, path in zip(charts, files.pngs, strict=True):
        assert path.read_bytes()[:8] == PNG_SIGNATURE, path.name
        image = imread(path)
        height, width = image.shape[:2]
        assert width >= 1000 and height >= 600, path.name
        # Every series' colour shows inside its panel's plot area.
        for name, pixels in _series_pixels(chart, DAY, image).items():
            assert pixels >= 50, (path.name, name, pixels)
    # The check sees an empty chart: the same frame, titles and legend, no data drawn.
    price = charts[0]
    empty = dataclasses.replace(
        price,
        series=tuple(dataclasses.replace(s, y=np.full(len(s.y), np.nan)) for s in price.series),
    )
    assert set(_series_pixels(empty, DAY).values()) == {0}


def _tick_labels(axis) -> list[str]:
    return [t.get_text() for t in axis.get_ticklabels() if t.get_text()]


def test_png_ticks_read_well_on_short_and_narrow_axes(loaded_db):
    from minerwatch.present.png import draw

    # 2010-09-01: six weeks of closes between $0.05 and $0.09.
    day = "2010-09-01"
    price = build_charts(minerwatch.report_data(loaded_db, day))[0]
    fig = draw(price, day)
    fig.canvas.draw()
    ax = fig.axes[0]
    dates = _tick_labels(ax.xaxis)
    # Day-level ticks over six weeks, each month named once (not "Aug 2010" twice).
    assert len(dates) >= 4 and all(a != b for a, b in zip(dates[:-1], dates[1:], strict=True))
    months = [d for d in dates if d.isalpha()]
    assert "Aug" in months and len(set(months)) == len(months), dates
    assert any(d.isdigit() for d in dates), dates
    values = _tick_labels(ax.yaxis) + [t.get_text() for t in ax.yaxis.get_minorticklabels()]
    values = [v for v in values if v]
    assert "\\$0.06" in values and "\\$0.1" in values, values
    assert not any("10^" in v or "times" in v for v in values), values  # no 6x10^-2


def test_the_machines_chart_labels_each_dollar_tick_with_its_value(loaded_db):
    """The breakeven electricity prices of 2025-10-06 run to about $0.20: ticks every
    $0.025 read $0.025, $0.05, ... (not $0.03 for 0.025)."""
    from minerwatch.present.png import draw

    charts = build_charts(minerwatch.report_data(loaded_db, "2025-10-06"))
    machines = next(c for c in charts if c.key == "machines")
    fig = draw(machines, "2025-10-06")
    fig.canvas.draw()
    ax = fig.axes[0]
    for tick, text in zip(ax.get_xticks(), ax.xaxis.get_ticklabels(), strict=True):
        label = text.get_text()
        if label:
            assert float(label.replace("\\$", "").replace("$", "")) == pytest.approx(tick)


# -- early days, no look-ahead, the command ----------------------------------------------------


def test_an_early_day_draws_what_its_data_allows(loaded_db, tmp_path):
    files = write_report(loaded_db, tmp_path / "early.html", "2011-01-01")
    text = files.html.read_text(encoding="utf-8")
    assert files.charts == ["price-vs-cost", "hashrate", "difficulty", "hashprice", "revenue"]
    assert "No ASIC model in the catalog was released by 2011-01-01" in text
    figures = _figures(text)
    price = figures["chart-price-vs-cost"]
    # Models without a value yet (the fits need a year of closes, the fleet needs machines)
    # are left out; the published constants are drawn, and the caption says they carry
    # hindsight.
    names = [t["name"] for t in price["data"]]
    assert names == ["close", "drm-glassnode-2022", "drm-checkmate-2019"]
    assert "carry hindsight" in text and "drm-fit-2015 has no value up to 2011-01-01" in text


def test_the_report_reads_nothing_after_its_day(loaded_db, db_to_2022_11_21):
    full = minerwatch.report_data(loaded_db, "2022-11-21")
    short = minerwatch.report_data(db_to_2022_11_21, "2022-11-21")
    charts_full, charts_short = build_charts(full), build_charts(short)
    assert [c.key for c in charts_full] == [c.key for c in charts_short]
    for a, b in zip(charts_full, charts_short, strict=True):
        assert (a.title, a.subtitle, a.note, a.shades, a.lines) == (
            b.title,
            b.subtitle,
            b.note,
            b.shades,
            b.lines,
        )
        for sa, sb in zip(a.series, b.series, strict=True):
            assert sa.name == sb.name
            np.testing.assert_array_equal(sa.x, sb.x)
            np.testing.assert_array_equal(sa.y, sb.y)
    assert render_html(full, charts_full) == render_html(short, charts_short)


def test_cli_report_writes_the_file_and_maps_errors(cli, loaded_db, tmp_path):
    out = tmp_path / "r.html"
    proc = cli("report", "--as-of", "2012-06-30", "--out", str(out), "--db", str(loaded_db))
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 1_000_000 and "written to" in proc.stdout
    missing = tmp_path / "no" / "such" / "folder" / "r.html"
    proc = cli("report", "--out", str(missing), "--db", str(loaded_db))
    assert proc.returncode == 2 and "cannot write" in proc.stderr
    proc = cli("report", "--as-of", "2030-01-01", "--out", str(out), "--db", str(loaded_db))
    assert proc.returncode == 2 and "outside the data" in proc.stderr


def test_status_starts_without_plotly_matplotlib_or_pydantic(loaded_db):
    # pydantic: Typer 0.28 and later build a pydantic TypeAdapter for every option (about
    # 0.1 s at each start); the pin in pyproject.toml keeps it out.
    code = (
        "import sys\n"
        "from minerwatch.cli import run\n"
        f"code = run(['status', '--as-of', '{DAY}', '--json', '--db', {str(loaded_db)!r}])\n"
        "loaded = sorted(m for m in ('plotly', 'matplotlib', 'pydantic') if m in sys.modules)\n"
        "assert not loaded, loaded\n"
        "sys.exit(code)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["as_of"] == DAY


def test_the_next_difficulty_is_the_consensus_retarget_once_the_epoch_is_complete(
    blocks_db, blocks_csv, epochs_csv
):
    # At block 917279, the last of epoch 915264, the retarget is decided: the difficulty the
    # report draws is Bitcoin Core's, from the block times and the epoch's difficulty read
    # here from the files (up to the compact rounding, ~1e-5 relative here).
    with open(blocks_csv, newline="") as f:
        times = {int(r["height"]): int(r["time"]) for r in csv.DictReader(f)}
    with open(epochs_csv, newline="") as f:
        epochs = {int(r["start_height"]): float(r["difficulty"]) for r in csv.DictReader(f)}
    consensus = chain.next_difficulty(epochs[915_264], times[915_264], times[917_279])
    nd = next_difficulty(minerwatch.difficulty_outlook(blocks_db, at_height=917_279))
    assert nd.difficulty == pytest.approx(consensus, rel=3e-5)
    assert nd.difficulty == pytest.approx(epochs[917_280], rel=3e-5)  # the realised one
    assert nd.difficulty_low == nd.difficulty == nd.difficulty_high
    assert nd.baseline_difficulty == pytest.approx(consensus, rel=3e-5)


def test_an_early_snapshot_keeps_its_units(loaded_db, tmp_path):
    # 2010-09-01: a close of six cents, a network of 5 GH/s (below 1 PH/s, so hashprice per
    # GH/s, as the brief gives it).
    text = write_report(loaded_db, tmp_path / "r.html", "2010-09-01").html.read_text("utf-8")
    snapshot = text[text.index('id="snapshot"') : text.index('id="charts"')]
    assert ">$0.0620<" in snapshot and "high $0.0858 on 2010-07-18" in snapshot
    assert "4.87 GH/s / 5.17 GH/s / 4.19 GH/s / 2.79 GH/s" in snapshot
    assert ">5.39 GH/s<" in snapshot
    # The brief's figures, written the same way: "$100.08 (1,613.50 BTC)" per GH/s.
    assert ">$100.08<" in snapshot and "USD per GH/s per day = 1,613.50 BTC" in snapshot
    assert "e-0" not in snapshot and "0.0 EH/s" not in snapshot
    figures = _figures(text)
    hashprice = figures["chart-hashprice"]
    assert hashprice["layout"]["yaxis"]["title"]["text"] == "USD per kH/s per day"
    assert hashprice["layout"]["yaxis2"]["type"] == "log"  # 1 BTC per kH/s in 2009, 0.0016 now
    # No day of the chart's window "earns" more per unit than the whole network issued.
    btc = _values(_trace(hashprice, "BTC per kH/s per day")["y"]).astype(float)
    assert np.nanmax(btc) < 50 * 144
    # 2013-06-01: 106 TH/s, hashprice per TH/s.
    text = write_report(loaded_db, tmp_path / "r2.html", "2013-06-01").html.read_text("utf-8")
    snapshot = text[text.index('id="snapshot"') : text.index('id="charts"')]
    assert "USD per TH/s per day = 41.70 BTC" in snapshot and "106 TH/s" in snapshot


def test_report_data_is_the_library_figures(loaded_db):
    data = minerwatch.report_data(loaded_db, DAY)
    assert data.status == minerwatch.status(loaded_db, DAY)
    from minerwatch.present.brief import compose

    assert compose(data.brief_inputs).to_dict() == minerwatch.brief(loaded_db, DAY).to_dict()
    outlook = minerwatch.difficulty_outlook(loaded_db, DAY)
    assert data.next_difficulty.change_pct == outlook.next_adjustment.change_pct
    assert data.next_difficulty.baseline_date == outlook.baseline.date
    assert data.recent_start == "2024-01-02" and data.history_start == "2010-07-18"
