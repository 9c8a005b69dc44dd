"""The written brief of a day (``minerwatch brief``): a short, dated market note in plain
English, generated from the library's figures.

Every number in the text is a figure of :attr:`Brief.figures`, and every figure is read
from a library result for ``as_of`` (:func:`minerwatch.status`,
:func:`~minerwatch.analyses.studies.cost_episodes`,
:func:`~minerwatch.analyses.signals.signals`, :func:`~minerwatch.analyses.asics.asic_economics`,
:func:`~minerwatch.analyses.studies.study`); nothing after ``as_of`` is read. A sentence
appears only where its figures exist: on an early day (no production cost, no ASIC
released, no study history) the brief says less. Wording rules:
forecasts are hedged ("is on course for", "between x and y"), history is reported with its
sample size, and nothing is said that the figures do not show. See ``docs/report.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minerwatch.analyses.brief import BriefInputs, gather
from minerwatch.analyses.day import Day
from minerwatch.analyses.signals import Signals
from minerwatch.analyses.studies import (
    EVENT_BASELINE,
    EVENT_CAPITULATION_END,
    REGIME_COMPRESSION,
    REGIME_GROWTH,
    REGIME_STRONG,
    StudyResult,
)
from minerwatch.metrics import signals as sg
from minerwatch.metrics.revenue import hashprice_in, hashprice_unit
from minerwatch.present import format as fmt
from minerwatch.serialize import Jsonable
from minerwatch.store import Store
from minerwatch.tables import Tabular

# Plain-English names of the production-cost models the brief may cite.
MODEL_DESCRIPTIONS = {
    "drm-fit-2015": "the Difficulty Regression Model fitted on the days since 2015",
    "drm-fit-2012": "the Difficulty Regression Model fitted on the days since 2012",
    "drm-fit-all": "the Difficulty Regression Model fitted on every priced day",
}
# Well-known machines the brief names where the data covers them (the Antminer S9 of
# 2016-2019, the S19 family of 2020-2023, the S21 of 2023 on: the models news stories cite).
NOTABLE_MACHINES = (
    "Antminer S9",
    "Antminer S19",
    "Antminer S19 Pro",
    "Antminer S19j Pro",
    "Antminer S19 XP",
    "Antminer S21",
)
# How many underwater well-known machines are named at most.
MAX_NAMED_UNDERWATER = 2
# The history sentences: the below-cost study's horizon, the compression study's lookback
# and horizon, the ribbon study's horizon (days).
BELOW_COST_HORIZON_DAYS = 365
COMPRESSION_LOOKBACK_DAYS = 30
COMPRESSION_HORIZON_DAYS = 90
RIBBONS_HORIZON_DAYS = 180
TARGET_BLOCK_INTERVAL_MIN = 10

STRESS_LABELS = {
    "price_below_cost": "the close below production cost",
    "hashrate_drawdown": "hashrate at least {threshold:g}% below its high",
    "ribbons_capitulation": "the hash ribbons in capitulation",
    "hashprice_low": "hashprice at a {months}-month low",
    "revenue_low": "miner revenue at a {days}-day low",
    "difficulty_falling": "the last difficulty retarget negative",
}
# Sentences are grouped in paragraphs by topic, in this order.
PARAGRAPHS = (
    ("price", "price_high"),
    ("hashrate", "blocks"),
    ("revenue", "hashprice", "machines"),
    ("ribbons", "stress", "puell"),
    ("history_below_cost", "history_compression", "history_ribbons"),
)


@dataclass(frozen=True)
class Sentence:
    """One sentence of the brief and its topic (a key of :data:`PARAGRAPHS`)."""

    topic: str
    text: str


@dataclass(frozen=True)
class Brief(Jsonable, Tabular):
    """The brief of ``as_of``: ``sentences`` in reading order, ``figures`` every number the
    sentences use (keys named as in ``minerwatch status --json`` where the figure is the
    same; None where the data has none), ``text`` the paragraphs as plain text (set from
    the sentences)."""

    as_of: str
    title: str
    text: str = field(init=False)
    sentences: tuple[Sentence, ...]
    figures: dict[str, Any] = field(default_factory=dict)
    #: The figures use blocks within 6 of the stored tip or the current UTC day.
    provisional: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", "\n\n".join(self.paragraphs))

    @property
    def paragraphs(self) -> list[str]:
        """The sentences joined into paragraphs (empty paragraphs left out)."""
        out = []
        for topics in PARAGRAPHS:
            text = " ".join(s.text for s in self.sentences if s.topic in topics)
            if text:
                out.append(text)
        return out


def brief(db: Day | Store | str | Path | None = None, as_of: str | None = None) -> Brief:
    """The written brief of ``as_of`` (YYYY-MM-DD; default the last stored day), from a day
    context, an open store or a database path.

    Reads nothing after ``as_of``. Raises :class:`~minerwatch.errors.AsOfOutOfRange` for a
    date outside the data.
    """
    return compose(gather(db, as_of))


# -- wording --------------------------------------------------------------------------------


def _and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _short_model(name: str) -> str:
    """``Antminer S19 Pro`` as ``S19 Pro`` (after the first mention of the vendor's line)."""
    return name.split(" ", 1)[1] if name.startswith("Antminer ") else name


# -- figures and sentences, topic by topic ---------------------------------------------------


def _copy_fields(fig: dict[str, Any], result: object, names: str) -> None:
    """Copy the fields of ``result`` named in ``names`` (separated by spaces, in the order
    the figures list them) into the figures ``fig``, under their names."""
    for name in names.split():
        fig[name] = getattr(result, name)


def _price(inp: BriefInputs, fig: dict, out: list[Sentence]) -> None:
    s = inp.status
    _copy_fields(
        fig,
        s,
        "price_usd price_source price_ath_usd price_ath_date price_drawdown_pct "
        "price_change_30d_pct production_cost_usd production_cost_model "
        "price_to_cost_pct",
    )
    last = inp.episodes.episodes[-1] if inp.episodes.episodes else None
    fig["below_cost_episode"] = None
    if last is not None:
        fig["below_cost_episode"] = {
            "start": last.start,
            "end": last.end,
            "days": last.days,
            "days_below": last.days_below,
            "deepest_discount_pct": last.deepest_discount_pct,
            "deepest_date": last.deepest_date,
            "ongoing": last.exit_date is None,
            "censored_start": last.censored_start,
        }
    if s.price_usd is None:
        return
    text = f"Bitcoin closed at {fmt.usd(s.price_usd, millions=True)} on {fmt.day(s.as_of)}"
    if s.production_cost_usd is not None and s.price_to_cost_pct is not None:
        side = "below" if s.price_to_cost_pct < 0 else "above"
        name = s.production_cost_model
        model = MODEL_DESCRIPTIONS.get(name, f"the {name} model")
        text += (
            f", {fmt.magnitude(s.price_to_cost_pct)} {side} the average cost of producing one, "
            f"{fmt.usd(s.production_cost_usd, millions=True)} by {model} ({name}, "
            "minerwatch's default model)"
        )
        if last is not None and last.exit_date is None:
            since = fmt.day(last.start, s.as_of)
            days = (
                f"every one of the {fmt.count_words(last.days)} days"
                if last.days_below == last.days
                else f"{fmt.count_words(last.days_below)} of the {fmt.count_words(last.days)} days"
            )
            worst = (
                f"(at worst {fmt.magnitude(last.deepest_discount_pct)} below, on "
                f"{fmt.day(last.deepest_date, s.as_of)})"
            )
            if last.end == s.as_of:
                text += f". It has closed below that cost on {days} since {since} {worst}"
            else:  # back above cost, but for fewer days than the merge gap: not over yet
                text += (
                    f". It closed below that cost on {days} from {since} to "
                    f"{fmt.day(last.end, s.as_of)} {worst}; fewer than "
                    f"{fmt.count_words(inp.episodes.merge_gap_days)} days have passed since, "
                    "so that episode "
                    "may not be over"
                )
            if last.censored_start:
                text += f"; the model has no value before {since}, so it may have begun earlier"
        elif last is not None:
            text += f"; it last closed below it on {fmt.day(last.end, s.as_of)}"
    out.append(Sentence("price", text + "."))
    if s.price_drawdown_pct is None or s.price_ath_date is None:
        return
    if s.price_ath_date == s.as_of:
        high = f"The close is a record high, {_pct_change(s.price_change_30d_pct)}"
    else:
        high = (
            f"The price is {fmt.magnitude(s.price_drawdown_pct)} below its all-time high of "
            f"{fmt.usd(s.price_ath_usd, millions=True)} ({fmt.day(s.price_ath_date, s.as_of)}), "
            f"{_pct_change(s.price_change_30d_pct)}"
        )
    out.append(Sentence("price_high", high.removesuffix(", ") + "."))


def _pct_change(x: float | None) -> str:
    if x is None:
        return ""
    return f"{'up' if x >= 0 else 'down'} {fmt.magnitude(x)} over 30 days"


def _hashrate_and_blocks(inp: BriefInputs, fig: dict, out: list[Sentence]) -> None:
    s = inp.status
    fig["hashrate_ehs"] = s.hashrate_ehs
    fig["hashrate_ath_ehs"] = s.hashrate_ath_ehs
    fig["hashrate_ath_date"] = s.hashrate_ath_date
    fig["hashrate_drawdown_pct"] = s.hashrate_drawdown_pct
    fig["block_interval_min_7d"] = s.block_interval_min_7d
    fig["next_adjustment"] = s.next_adjustment
    week = s.hashrate_ehs.get("7d")
    if (
        week is not None
        and s.hashrate_ath_ehs is not None
        and s.hashrate_ath_date is not None
        and s.hashrate_drawdown_pct is not None
    ):
        # One unit for the two (``1,024 EH/s`` and ``1,096 EH/s``).
        week_text, ath_text = fmt.hashrates([week, s.hashrate_ath_ehs])
        text = f"Network hashrate averaged {week_text} over the past seven days"
        if s.hashrate_ath_date == s.as_of:
            text += ", a record for the 7-day mean."
        else:
            text += (
                f", {fmt.magnitude(s.hashrate_drawdown_pct)} below the record 7-day mean of "
                f"{ath_text} set on {fmt.day(s.hashrate_ath_date, s.as_of)}."
            )
        out.append(Sentence("hashrate", text))
    interval = s.block_interval_min_7d
    na = s.next_adjustment
    parts = []
    if interval is not None:
        parts.append(
            f"Blocks came every {fmt.number(interval)} minutes on average over the week (target: "
            f"{TARGET_BLOCK_INTERVAL_MIN} minutes)"
        )
    if na and na.change_pct is not None and na.date and na.date_low and na.date_high:
        change = na.change_pct
        spread = f"90% interval {fmt.pct(na.change_pct_low)} to {fmt.pct(na.change_pct_high)}"
        if abs(change) < 0.05:
            course = (
                f"on course to leave difficulty about unchanged ({fmt.pct(change, 2)}; {spread})"
            )
        else:
            course = f"on course for {fmt.pct(change)} ({spread})"
        year = na.date
        forecast = (
            f"the next difficulty adjustment, at block {na.height:,} "
            f"({na.blocks_remaining:,} blocks away), is {course}, expected around "
            f"{fmt.moment(na.date, s.as_of)} (between {fmt.moment(na.date_low, year)} and "
            f"{fmt.moment(na.date_high, year)})"
        )
        parts.append(forecast if parts else forecast[0].upper() + forecast[1:])
    if parts:
        out.append(Sentence("blocks", "; ".join(parts) + "."))


def _stress_by_name(sig: Signals) -> dict[str, Any]:
    return {c.name: c for c in sig.stress}


def _revenue(inp: BriefInputs, fig: dict, out: list[Sentence]) -> None:
    s = inp.status
    _copy_fields(
        fig,
        s,
        "revenue_usd_1d revenue_btc_1d subsidy_btc_1d fees_btc_1d fees_share_pct_7d "
        "hashprice_usd_ph_day hashprice_btc_ph_day",
    )
    # Hashprice per a unit the network reached (PH/s from about 2013; TH/s, GH/s before).
    unit = hashprice_unit(s.hashrate_ehs.get("7d") or float("nan"))
    fig["hashprice_unit"] = unit
    fig["hashprice_usd_unit_day"] = hashprice_in(s.hashprice_usd_ph_day, unit)
    fig["hashprice_btc_unit_day"] = hashprice_in(s.hashprice_btc_ph_day, unit)
    stress = _stress_by_name(inp.signals)
    params = inp.signals.parameters
    if s.revenue_btc_1d is not None and s.blocks_1d > 0:
        if s.revenue_usd_1d is not None:
            earned = (
                f"{fmt.usd(s.revenue_usd_1d, millions=True)} on the day: "
                f"{fmt.btc(s.revenue_btc_1d)}, of which"
            )
        else:
            earned = f"{fmt.btc(s.revenue_btc_1d)} on the day, of which"
        text = (
            f"Miners earned {earned} {fmt.btc(s.subsidy_btc_1d)} in new coins and "
            f"{fmt.btc(s.fees_btc_1d)} in fees"
        )
        if s.fees_share_pct_7d is not None:
            text += f" (fees were {fmt.share(s.fees_share_pct_7d)} of revenue over the week)"
        if "revenue_low" in stress:
            text += f"; the week's mean revenue is the lowest in {params['revenue_low_days']} days"
        out.append(Sentence("revenue", text + "."))
    usd, btc = fig["hashprice_usd_unit_day"], fig["hashprice_btc_unit_day"]
    if usd is not None and btc is not None:
        text = (
            f"Hashprice, the expected revenue of 1 {unit} for a day, stands at "
            f"{fmt.hashprice_usd(s.hashprice_usd_ph_day, unit)} "
            f"({fmt.hashprice_btc(s.hashprice_btc_ph_day, unit)})"
        )
        if "hashprice_low" in stress:
            text += f", the lowest in {params['hashprice_low_months']} months"
        if unit != "PH/s":
            text += (
                f"; it is given per {unit}, not the usual PH/s, as the whole network ran "
                f"{fmt.hashrate(s.hashrate_ehs['7d'])}"
            )
        out.append(Sentence("hashprice", text + "."))


def _machines(inp: BriefInputs, fig: dict, out: list[Sentence]) -> None:
    a = inp.asics
    if a is None or len(a.machines) == 0:
        fig["machines"] = None
        return
    m = a.machines
    rows = {str(m.model[i]): i for i in range(len(m))}
    notable = [name for name in NOTABLE_MACHINES if name in rows]
    under = [n for n in notable if m.underwater[rows[n]]]
    above = [n for n in notable if not m.underwater[rows[n]]]
    # Newest underwater first (the most telling), then the profitable one closest to
    # breaking even, and the newest well-known model if it is another one.
    named_under = sorted(under, key=lambda n: m.release_month[rows[n]], reverse=True)
    named_under = named_under[:MAX_NAMED_UNDERWATER]
    named_above = []
    if above:
        named_above.append(min(above, key=lambda n: m.breakeven_power_price_usd_kwh[rows[n]]))
        newest = max(above, key=lambda n: m.release_month[rows[n]])
        if newest not in named_above:
            named_above.append(newest)
    named = named_under + named_above
    fig["machines"] = {
        "power_price_usd_kwh": a.power_price_usd_kwh,
        "pool_fee_pct": a.pool_fee_pct,
        "uptime_pct": a.uptime_pct,
        "released": len(m),
        "underwater": a.underwater_count,
        "named": [
            {
                "model": n,
                "underwater": bool(m.underwater[rows[n]]),
                "breakeven_power_price_usd_kwh": float(m.breakeven_power_price_usd_kwh[rows[n]]),
                "profit_usd_day": float(m.profit_usd_day[rows[n]]),
            }
            for n in named
        ],
    }
    under_n, released = a.underwater_count, len(m)
    text = (
        f"At ${a.power_price_usd_kwh:g}/kWh ({a.pool_fee_pct:g}% pool fee, "
        f"{a.uptime_pct:g}% uptime), "
    )
    if released == 1:
        text += f"the only ASIC model released by then is {'' if under_n else 'not '}underwater"
    elif under_n == 0:
        text += (
            f"none of the {fmt.count_words(released)} ASIC models released by then is underwater"
        )
    elif under_n == 1:
        text += (
            f"one of the {fmt.count_words(released)} ASIC models released by then is "
            "underwater, its power costing more than it earns"
        )
    else:
        text += (
            f"{fmt.count_words(under_n)} of the {fmt.count_words(released)} ASIC models "
            "released by then are underwater, their power costing more than they earn"
        )
    first = True

    def label(n: str) -> str:
        nonlocal first
        shown = n if first else _short_model(n)
        first = False
        return shown

    def breakeven(n: str) -> str:
        return f"${fmt.power_price(m.breakeven_power_price_usd_kwh[rows[n]])}/kWh"

    if named_under:
        head, *rest = named_under
        items = [f"{label(head)} (breakeven {breakeven(head)})"]
        items += [f"{label(n)} ({breakeven(n)})" for n in rest]
        every = len(named_under) == under_n  # all the underwater models are named
        text += f": the {_and(items)}" if every else f", among them the {_and(items)}"
    if named_above:
        head, *rest = named_above
        items = [f"the {label(head)} breaks even at {breakeven(head)}"]
        items += [f"the {label(n)} at {breakeven(n)}" for n in rest]
        text += "; " + _and(items)
    out.append(Sentence("machines", text + "."))


def _signals(inp: BriefInputs, fig: dict, out: list[Sentence]) -> None:
    sig = inp.signals
    rib = sig.hash_ribbons
    last_period = rib.capitulations[-1] if rib.capitulations else None
    fig["hash_ribbons"] = inp.status.hash_ribbons
    fig["ribbons_spread_pct"] = rib.spread_pct
    fig["ribbons_last_capitulation"] = last_period
    fig["stress"] = [c.name for c in sig.stress]
    fig["stress_checked"] = list(sig.stress_checked)
    fig["puell_multiple"] = sig.puell.multiple
    fig["puell_percentile"] = sig.puell.percentile
    fig["puell_first_day"] = sig.puell.first_day

    since = fmt.day(rib.since, sig.as_of) if rib.since else None
    if rib.state == sg.STATE_NAMES[sg.STATE_CAPITULATION] and rib.spread_pct is not None:
        out.append(
            Sentence(
                "ribbons",
                f"The hash ribbons have signalled capitulation since {since}: the 30-day mean "
                f"hashrate is {fmt.magnitude(rib.spread_pct)} below the 60-day mean.",
            )
        )
    elif rib.state == sg.STATE_NAMES[sg.STATE_RECOVERY]:
        out.append(
            Sentence(
                "ribbons",
                f"The hash ribbons are in recovery: the 30-day mean hashrate has been back "
                f"above the 60-day mean since {since}, with no buy signal yet.",
            )
        )
    elif rib.state == sg.STATE_NAMES[sg.STATE_NORMAL] and rib.spread_pct is not None:
        text = (
            f"The hash ribbons show no capitulation: the 30-day mean hashrate is "
            f"{fmt.magnitude(rib.spread_pct)} {'above' if rib.spread_pct >= 0 else 'below'} the "
            "60-day mean"
        )
        if last_period is not None and last_period.end is not None:
            text += f"; the last capitulation ended on {fmt.day(last_period.end, sig.as_of)}"
            if last_period.buy_signal is not None:
                text += f", with a buy signal on {fmt.day(last_period.buy_signal, sig.as_of)}"
        out.append(Sentence("ribbons", text + "."))

    checked = sig.stress_checked
    if checked:
        labels = []
        for c in sig.stress:
            label = STRESS_LABELS.get(c.name, c.name).format(
                threshold=sig.parameters.get("hashrate_drawdown_pct", 0),
                months=sig.parameters.get("hashprice_low_months", ""),
                days=sig.parameters.get("revenue_low_days", ""),
            )
            if c.name == "difficulty_falling" and c.value is not None:
                label += f" ({fmt.pct(c.value, 2)})"
            labels.append(label)
        total = fmt.count_words(len(checked))
        what = f"the {total} miner-stress conditions the data allows checking"
        if len(labels) == len(checked) == 1:
            text = f"The only miner-stress condition the data allows checking holds: {labels[0]}."
        elif len(labels) == len(checked):
            whole = "Both" if len(checked) == 2 else f"All {total}"
            text = f"{whole} miner-stress conditions the data allows checking hold: {_and(labels)}."
        elif labels:
            n = fmt.count_words(len(labels))
            verb = "holds" if len(labels) == 1 else "hold"
            text = f"{n[0].upper() + n[1:]} of {what} {verb}: {_and(labels)}."
        elif len(checked) == 1:
            text = "The only miner-stress condition the data allows checking does not hold."
        else:
            text = f"None of {what} holds."
        out.append(Sentence("stress", text))

    p = sig.puell
    if p.multiple is not None and p.percentile is not None and p.first_day is not None:
        out.append(
            Sentence(
                "puell",
                f"The Puell multiple (the day's new coins in USD over their one-year mean) is "
                f"{fmt.number(p.multiple)}, above {fmt.percent(p.percentile, 0)} of the daily "
                "readings since "
                f"{fmt.day(p.first_day)}.",
            )
        )


def _row(result: StudyResult, **match: Any):
    for r in result.rows:
        if all(getattr(r, k) == v for k, v in match.items()):
            return r
    return None


def _positive(n: int, share_pct: float) -> int:
    """The count behind a share of ``n`` (the share is ``100 * count / n``)."""
    return round(n * share_pct / 100.0)


def _each(items: list[tuple[float, str]]) -> str:
    """``[(750.7, "the one from March 2017"), (-61.9, ...)]`` as "750.7% higher in the one
    from March 2017 and 61.9% lower in ..." (the history of one or two episodes)."""
    return _and([f"{fmt.change_words(pct)} {where}" for pct, where in items])


def _history_below_cost(inp: BriefInputs, history: dict, out: list[Sentence]) -> None:
    """Only while the close is below cost today: the below-cost study's episodes with a year
    of prices after their start (each named when there are one or two, a median from
    three)."""
    s = inp.status
    row = _row(inp.below_cost, horizon_days=BELOW_COST_HORIZON_DAYS)
    below_now = s.price_to_cost_pct is not None and s.price_to_cost_pct < 0
    if not (below_now and row is not None and row.n > 0 and row.share_positive_pct is not None):
        return
    key = f"{BELOW_COST_HORIZON_DAYS}d"
    counted = [
        e
        for e in inp.below_cost.details["episodes"]
        if e.counted and e.forward_return_pct.get(key) is not None
    ]
    current_included = any(e.exit_date is None for e in counted)
    params = inp.below_cost.parameters
    k = _positive(row.n, row.share_positive_pct)
    history["below_cost"] = {
        "model": params["model"],
        "min_days": params["min_days"],
        "merge_gap_days": params["merge_gap_days"],
        "horizon_days": BELOW_COST_HORIZON_DAYS,
        "episodes": row.n,
        "positive": k,
        "share_positive_pct": row.share_positive_pct,
        "median_return_pct": row.median_return_pct,
        "mean_return_pct": row.mean_return_pct,
        "first_start": counted[0].start if counted else None,
        "current_included": current_included,
        "each": [{"start": e.start, "return_pct": e.forward_return_pct[key]} for e in counted]
        if row.n <= 2
        else None,
    }
    n = row.n
    min_days = params["min_days"]
    lasting = "a week" if min_days == 7 else f"{fmt.count_words(min_days)} days"
    which = (
        ("episode" if n == 1 else "episodes")
        if current_included
        else ("earlier episode" if n == 1 else "earlier episodes")
    )
    what = (
        f"of the close below this cost that lasted {lasting} or more (spells of under "
        f"{fmt.count_words(params['merge_gap_days'])} days back above it included) and began "
        "at least a year ago"
    )
    if n >= 3:
        higher = "in none" if k == 0 else ("in all" if k == n else f"in {fmt.count_words(k)}")
        text = (
            f"History: of the {fmt.count_words(n)} {which} since {counted[0].start[:4]} {what}"
            f"{' (the current one included)' if current_included else ''}, the price a year "
            f"after the start was higher {higher}; the median change was "
            f"{fmt.pct(row.median_return_pct)}"
        )
    else:

        def named(e) -> str:
            return f"the one from {fmt.month(e.start)}" + (
                " (the current one)" if e.exit_date is None else ""
            )

        if n == 1:
            e = counted[0]
            current = " (the current one)" if e.exit_date is None else ""
            text = (
                f"History: there is one {which} {what}, from {fmt.month(e.start)}{current}; a "
                f"year after its start the price was {fmt.change_words(e.forward_return_pct[key])}"
            )
        else:
            text = (
                f"History: there are two {which} {what}; a year after the start the price "
                "was " + _each([(e.forward_return_pct[key], f"in {named(e)}") for e in counted])
            )
    out.append(Sentence("history_below_cost", text + "."))


def _regime_figures(row, short: bool = False) -> str:
    """``600 days in 20 episodes; mean return +20.9%, 90% interval of the mean +6.5% to
    +39.0%`` (a compression-study row; ``short``: ``mean +20.2%, interval ...``)."""
    mean, interval = ("mean", "interval") if short else ("mean return", "90% interval of the mean")
    return (
        f"{row.n_days:,} days in {fmt.count_words(row.episodes)} "
        f"episode{'' if row.episodes == 1 else 's'}; {mean} {fmt.pct(row.mean_return_pct)}, "
        f"{interval} {fmt.pct(row.mean_ci_low_pct)} to {fmt.pct(row.mean_ci_high_pct)}"
    )


def _history_compression(inp: BriefInputs, history: dict, out: list[Sentence]) -> None:
    """Only when the 30-day mean hashrate fell over 30 days: the compression study's share
    of higher prices and mean return after such days, against the days of growth (the
    strong-compression row after a steep fall, or the ordinary one, saying so, when no
    steep fall has a horizon of prices after it yet)."""
    today = inp.compression.details["today"].get(f"{COMPRESSION_LOOKBACK_DAYS}d")
    regimes = today.regimes if today is not None else []
    if today is None or REGIME_COMPRESSION not in regimes:
        return
    lookback, horizon = COMPRESSION_LOOKBACK_DAYS, COMPRESSION_HORIZON_DAYS

    def row_of(regime: str):
        r = _row(inp.compression, lookback_days=lookback, regime=regime, horizon_days=horizon)
        return r if r is not None and r.n_days > 0 and r.mean_ci_low_pct is not None else None

    steep = REGIME_STRONG in regimes
    row = row_of(REGIME_STRONG) if steep else None
    steep_without_history = steep and row is None
    regime = REGIME_STRONG if row is not None else REGIME_COMPRESSION
    if row is None:
        row = row_of(REGIME_COMPRESSION)
    if row is None:
        return
    growth = row_of(REGIME_GROWTH)
    overlap = growth is not None and (
        row.mean_ci_low_pct <= growth.mean_ci_high_pct
        and growth.mean_ci_low_pct <= row.mean_ci_high_pct
    )
    start = inp.compression.parameters["start"]
    threshold = abs(inp.compression.parameters["strict_change_pct"])
    history["compression"] = {
        "lookback_days": lookback,
        "horizon_days": horizon,
        "regime": regime,
        "steep_without_history": steep_without_history,
        "change_pct": today.change_pct,
        "since": start,
        "n_days": row.n_days,
        "episodes": row.episodes,
        "share_positive_pct": row.share_positive_pct,
        "mean_return_pct": row.mean_return_pct,
        "mean_ci_low_pct": row.mean_ci_low_pct,
        "mean_ci_high_pct": row.mean_ci_high_pct,
        "growth": None
        if growth is None
        else {
            "n_days": growth.n_days,
            "episodes": growth.episodes,
            "share_positive_pct": growth.share_positive_pct,
            "mean_return_pct": growth.mean_return_pct,
            "mean_ci_low_pct": growth.mean_ci_low_pct,
            "mean_ci_high_pct": growth.mean_ci_high_pct,
        },
        "intervals_overlap": overlap if growth is not None else None,
    }
    text = (
        f"The 30-day mean hashrate fell {fmt.magnitude(today.change_pct)} over the past "
        f"{lookback} days"
    )
    since = start[:4]
    if regime == REGIME_STRONG:
        text += f"; since {since}, days after a fall of more than {threshold:g}% were"
    elif steep_without_history:
        text += (
            f", a steep fall: no fall of more than {threshold:g}% since {since} has "
            f"{horizon} days of prices after it yet, but days after any fall were"
        )
    else:
        text += f"; since {since}, days after such a fall were"
    text += (
        f" followed by a higher price {horizon} days later "
        f"{fmt.percent(row.share_positive_pct, 0)} of the time ({_regime_figures(row)})"
    )
    if growth is not None:
        text += (
            f", against {fmt.percent(growth.share_positive_pct, 0)} after days of growth "
            f"({_regime_figures(growth, short=True)}); the two means' intervals "
            f"{'overlap' if overlap else 'do not overlap'}"
        )
    out.append(Sentence("history_compression", text + "."))


def _history_ribbons(inp: BriefInputs, history: dict, out: list[Sentence]) -> None:
    """Only in a capitulation: the price after the capitulations that ended (each named
    when there are one or two, a median from three), beside every day since the first."""
    rib = inp.signals.hash_ribbons
    if rib.state != sg.STATE_NAMES[sg.STATE_CAPITULATION]:
        return
    hz = RIBBONS_HORIZON_DAYS
    row = _row(inp.ribbons, event=EVENT_CAPITULATION_END, horizon_days=hz)
    base = _row(inp.ribbons, event=EVENT_BASELINE, horizon_days=hz)
    if row is None or row.n == 0 or row.median_return_pct is None:
        return
    key = f"{hz}d"
    all_events = inp.ribbons.details["events"]
    events = [
        e
        for e in all_events
        if e.event == EVENT_CAPITULATION_END and e.forward_return_pct.get(key) is not None
    ]
    first = events[0].date[:4] if events else None
    k = _positive(row.n, row.share_positive_pct)
    has_base = base is not None and base.n > 0 and base.median_return_pct is not None
    history["ribbons"] = {
        "event": EVENT_CAPITULATION_END,
        "horizon_days": hz,
        "n": row.n,
        "positive": k,
        "share_positive_pct": row.share_positive_pct,
        "median_return_pct": row.median_return_pct,
        "first_event_year": first,
        "each": [{"date": e.date, "return_pct": e.forward_return_pct[key]} for e in events]
        if row.n <= 2
        else None,
        "baseline": {
            "since": all_events[0].date,
            "n_days": base.n,
            "share_positive_pct": base.share_positive_pct,
            "median_return_pct": base.median_return_pct,
        }
        if has_base
        else None,
    }
    if row.n >= 3:
        text = (
            f"After the {fmt.count_words(row.n)} ribbon capitulations since {first} that ended "
            f"at least {hz} days ago, the price {hz} days later was higher in "
            f"{fmt.count_words(k)} of them "
            f"(median change {fmt.pct(row.median_return_pct)})"
        )
    elif row.n == 1:
        e = events[0]
        text = (
            f"Only one ribbon capitulation has ended at least {hz} days ago, in "
            f"{fmt.month(e.date)}; the price {hz} days later was "
            f"{fmt.change_words(e.forward_return_pct[key])}"
        )
    else:
        text = (
            f"Two ribbon capitulations have ended at least {hz} days ago; the price {hz} days "
            "later was "
            + _each(
                [
                    (e.forward_return_pct[key], f"after the one ended in {fmt.month(e.date)}")
                    for e in events
                ]
            )
        )
    if has_base:
        text += (
            f"; on every day since the first capitulation ended ({base.n:,} days with a price "
            f"{hz} days later), it was higher {fmt.percent(base.share_positive_pct, 0)} of the "
            "time "
            f"(median change {fmt.pct(base.median_return_pct)})"
        )
    out.append(Sentence("history_ribbons", text + "."))


def _history(inp: BriefInputs, fig: dict, out: list[Sentence]) -> None:
    history: dict[str, Any] = {}
    _history_below_cost(inp, history, out)
    _history_compression(inp, history, out)
    _history_ribbons(inp, history, out)
    fig["history"] = history


def compose(inp: BriefInputs) -> Brief:
    """The brief written from ``inp`` (every figure used lands in ``figures``)."""
    figures: dict[str, Any] = {"as_of": inp.status.as_of}
    sentences: list[Sentence] = []
    for part in (_price, _hashrate_and_blocks, _revenue, _machines, _signals, _history):
        part(inp, figures, sentences)
    return Brief(
        as_of=inp.status.as_of,
        title=f"Bitcoin miners, {fmt.day(inp.status.as_of)}",
        sentences=tuple(sentences),
        figures=figures,
        provisional=inp.status.provisional,
    )
