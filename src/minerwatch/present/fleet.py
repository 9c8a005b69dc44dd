"""Rich renderings of the fleet desk: a period's P&L, a plan, a comparison and a tornado.
Presentation only: no arithmetic beyond unit scaling and rounding."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from minerwatch.present import format as fmt

if TYPE_CHECKING:
    from minerwatch.analyses.fleet_decisions import Comparison, Sensitivity
    from minerwatch.analyses.fleet_history import FleetHistory
    from minerwatch.analyses.fleet_plan import Band, FleetPlan


BAR_WIDTH = 16


def _say(console: Console, text: str) -> None:
    console.print(text, highlight=False)


def _table(*headers: str, title: str | None = None) -> Table:
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, title=title)
    for i, h in enumerate(headers):
        t.add_column(h, justify="left" if i == 0 else "right", no_wrap=True)
    return t


def _months(value: float | None) -> str:
    if value is None:
        return "does not pay back"
    return f"{value:,.1f} months"


def _band(b: Band, money: bool = True) -> str:
    f = fmt.usd_short if money else fmt.btc_amount
    return f"{f(b.p5)} / {f(b.p50)} / {f(b.p95)}"


def fleet_history_report(console: Console, h: FleetHistory) -> None:
    """The period's totals, each lot's, and the months."""
    t = h.totals
    _say(
        console,
        f"[bold]Fleet P&L {h.from_day} to {h.to_day}[/] ({escape(h.fleet_file)}): "
        f"{h.pool_scheme.upper()}, power "
        + (
            f"hourly ({escape(h.hourly_prices)})"
            if h.hourly_prices
            else f"${h.power_price_usd_kwh:g}/kWh"
        )
        + f", curtailment {h.curtailment}",
    )
    credits = t.dr_credit_usd > 0  # a column only when the fleet earns them
    money_columns = ("revenue", "power", "fixed", *(("credits",) if credits else ()), "margin")
    lots = _table("lot", "machines", "days", "BTC", *money_columns, title="per lot")
    costs = _table(
        "lot", "cash $/BTC", "all-in $/BTC", "below", "first below", "shutdown $",
        title="cost per BTC; below: days the close was under the lot's shutdown price",
    )  # fmt: skip
    for lot in h.lots:
        lots.add_row(
            escape(lot.lot),
            f"{lot.machines:,}",
            f"{lot.days:,}",
            fmt.btc_amount(lot.btc),
            fmt.usd(lot.revenue_usd),
            fmt.usd(lot.power_cost_usd),
            fmt.usd(lot.fixed_cost_usd),
            *((fmt.usd(lot.dr_credit_usd),) if credits else ()),
            fmt.usd(lot.margin_usd),
        )
        costs.add_row(
            escape(lot.lot),
            fmt.usd(lot.cash_cost_usd_per_btc),
            fmt.usd(lot.all_in_cost_usd_per_btc),
            f"{lot.shutdown_days:,}",
            lot.first_shutdown_day or "never",
            fmt.usd(lot.shutdown_price_usd_last),
        )
    lots.add_row(
        "[bold]fleet[/]", "", f"{t.days:,}", fmt.btc_amount(t.btc), fmt.usd(t.revenue_usd),
        fmt.usd(t.power_cost_usd), fmt.usd(t.fixed_cost_usd),
        *((fmt.usd(t.dr_credit_usd),) if credits else ()), fmt.usd(t.margin_usd),
    )  # fmt: skip
    costs.add_row(
        "[bold]fleet[/]", fmt.usd(t.cash_cost_usd_per_btc), fmt.usd(t.all_in_cost_usd_per_btc),
        "", "", "",
    )  # fmt: skip
    console.print(lots)
    console.print(costs)
    months = _table("month", "BTC", *money_columns, title="per month")
    for m in h.months:
        months.add_row(
            str(m["month"]),
            *(
                f(m[k])  # type: ignore[arg-type]
                for f, k in (
                    (fmt.btc_amount, "btc"),
                    (fmt.usd, "revenue_usd"),
                    (fmt.usd, "power_cost_usd"),
                    (fmt.usd, "fixed_cost_usd"),
                    *(((fmt.usd, "dr_credit_usd"),) if credits else ()),
                    (fmt.usd, "margin_usd"),
                )
            ),
        )
    console.print(months)
    _say(
        console,
        f"BTC at the pool's expected value per share (the day's "
        f"{'subsidy' if h.pool_scheme == 'pps' else 'subsidy and fees'}, mean "
        f"difficulty); cash cost {fmt.usd(t.cash_cost_usd_per_btc)}/BTC, all-in "
        f"{fmt.usd(t.all_in_cost_usd_per_btc)}/BTC (depreciation {fmt.usd(t.depreciation_usd)}, "
        f"interest {fmt.usd(t.interest_usd)}); demand-response credits {fmt.usd(t.dr_credit_usd)}",
    )
    for note in h.notes:
        _say(console, f"[dim]note: {escape(note)}[/]")


def fleet_plan_report(console: Console, p: FleetPlan) -> None:
    """Start, payback, NPV/IRR, BTC return, lots, month bands."""
    s = p.start
    _say(
        console,
        f"[bold]Fleet plan: {p.months} months from {s.day}[/] ({escape(p.fleet_file)}), "
        f"scenario [bold]{escape(p.scenario)}[/], {fmt.count(p.runs, 'run')}, seed {p.seed}",
    )
    if p.scenario_description:
        _say(console, f"[dim]{escape(p.scenario_description)}[/]")
    if not p.lots:  # every lot past its life or bought after the plan: nothing to plan
        for note in p.notes:
            _say(console, f"[dim]note: {escape(note)}[/]")
        _say(console, "no lot is in service within the plan's months")
        return
    change = (
        f"next retarget at {s.next_retarget_height:,}: {fmt.pct(s.next_change_pct)} "
        f"({fmt.pct(s.next_change_low_pct)} to {fmt.pct(s.next_change_high_pct)}, 90%)"
        if s.next_change_pct is not None
        else f"next retarget at {s.next_retarget_height:,}"
    )
    _say(
        console,
        f"start: BTC {fmt.usd(s.price_usd)}, hashprice "
        f"{fmt.hashprice_usd(s.hashprice_usd_ph_day, 'PH/s', per=True)}, difficulty "
        f"{fmt.difficulty(s.difficulty)}, height {s.height:,}; {change}",
    )
    hv = p.halving
    if hv.date_p50:
        _say(
            console,
            f"halving at {hv.height:,}: {hv.date_p50} ({hv.date_p5} to {hv.date_p95}, 90% of "
            f"runs), by the scenario's block production",
        )
    pb = p.payback
    _say(
        console,
        f"[bold]payback[/] on {fmt.usd(pb.capex_usd)}: static {_months(pb.static_months)} "
        f"(today's margin held) | scenario median {_months(pb.median_months)} | "
        f"P(within plan) {fmt.percent(100 * pb.probability_within_plan)} | P(within life, "
        f"{pb.life_months} months) {fmt.percent(100 * pb.probability_within_life)}"
        + (" | [red]does not pay back[/]" if pb.does_not_pay_back else ""),
    )
    _say(
        console,
        f"NPV at {p.discount_rate_pct:g}%/yr (5/50/95%): {_band(p.npv_usd)}; IRR "
        f"{fmt.percent(p.irr_pct.p50)} median"
        + (
            f" ({fmt.percent(100 * p.irr_undefined_share)} of runs have none)"
            if p.irr_undefined_share
            else ""
        )
        + f"; MIRR at {p.discount_rate_pct:g}% (5/50/95%): {fmt.pct(p.mirr_pct.p5)} / "
        f"{fmt.pct(p.mirr_pct.p50)} / {fmt.pct(p.mirr_pct.p95)}"
        + (
            f" (over the {fmt.percent(100 * (1 - p.mirr_undefined_share))} of runs with an outlay)"
            if p.mirr_undefined_share
            else ""
        ),
    )
    br = p.btc_return
    if br.btc_if_bought:
        _say(
            console,
            f"against buying {fmt.btc(br.btc_if_bought)} with the capex when the fleet spends "
            f"it: the fleet ends with {_band(br.fleet_btc, money=False)} BTC (5/50/95%), "
            f"{fmt.pct(br.fleet_over_bought_pct.p50)} against the bought (median); mining wins in "
            f"{fmt.percent(100 * (br.probability_mining_wins or 0))} of runs",
        )
    breakevens = _table(
        "#", "lot", "margin/day", "BTC price", "hashprice", "power", "difficulty",
        "hashprice to breakeven",
        title="breakevens today (shutdown order as hashprice falls)",
    )  # fmt: skip
    outlook = _table("lot", "machines", "J/TH", "retires", "first off", "off at end")
    for lot in p.lots:
        breakevens.add_row(
            str(lot.shutdown_order),
            escape(lot.lot),
            fmt.usd(lot.margin_usd_day_today),
            fmt.usd(lot.breakeven_price_usd),
            fmt.hashprice_usd(lot.breakeven_hashprice_usd_ph_day, "PH/s"),
            f"${fmt.power_price(lot.breakeven_power_price_usd_kwh)}",
            fmt.difficulty(lot.breakeven_difficulty),
            fmt.pct(-lot.hashprice_fall_to_shutdown_pct),
        )
        off = lot.probability_off_last_month
        outlook.add_row(
            escape(lot.lot),
            f"{lot.machines:,}",
            f"{lot.efficiency_j_th:.1f}",
            lot.retire_day,
            lot.median_first_off_month or "never",
            fmt.percent(None if off is None else 100 * off),
        )
    console.print(breakevens)
    console.print(outlook)
    _say(
        console,
        "[dim]first off: the median run's first month the rule stops the lot for a day; off "
        "at end: the runs in which it is stopped all of its last month in the plan[/]",
    )
    months = _table(
        "month", "margin p5", "p50", "p95", "BTC p50", "BTC $ p50", "hashprice",
        title="the fleet's months (margin: revenue - power - fixed + credits)",
    )  # fmt: skip
    for m in p.months_table:
        months.add_row(
            m.month,
            fmt.usd_short(m.margin_usd.p5),
            fmt.usd_short(m.margin_usd.p50),
            fmt.usd_short(m.margin_usd.p95),
            fmt.btc_amount(m.btc.p50),
            fmt.usd_short(m.price_usd_p50),
            fmt.hashprice_usd(m.hashprice_usd_ph_day_p50, "PH/s"),
        )
    console.print(months)
    _say(
        console,
        f"curtailment rule {p.curtailment}: worth {_band(p.curtailment_value_usd)} (NPV, "
        "5/50/95%) against running every day",
    )
    for note in p.notes:
        _say(console, f"[dim]note: {escape(note)}[/]")


def fleet_comparison_report(console: Console, c: Comparison) -> None:
    """The two fleets side by side and the swap's NPV."""
    _say(
        console,
        f"[bold]{escape(c.fleet_b)} against {escape(c.fleet_a)}[/]: {c.months} months, "
        f"scenario {escape(c.scenario)}, the same {fmt.count(c.runs, 'run')} (seed {c.seed})",
    )
    t = _table("", "fleet", "capex", "NPV p5", "NPV p50", "NPV p95", "payback (median)")
    for tag, label, capex, npv, pb in (
        ("a", c.fleet_a, c.capex_usd_a, c.npv_usd_a, c.payback_median_months_a),
        ("b", c.fleet_b, c.capex_usd_b, c.npv_usd_b, c.payback_median_months_b),
    ):
        t.add_row(
            tag,
            escape(Path(label).name),
            *(fmt.usd_short(x) for x in (capex, npv.p5, npv.p50, npv.p95)),
            _months(pb),
        )
    console.print(t)
    d = c.npv_difference_usd
    _say(
        console,
        f"the swap's NPV (b - a, per run): {fmt.usd_short(d.p50)} median "
        f"({fmt.usd_short(d.p5)} to {fmt.usd_short(d.p95)}, 90%); b is better in "
        f"{fmt.percent(100 * c.probability_b_better)} of runs",
    )


def fleet_sensitivity_report(console: Console, s: Sensitivity) -> None:
    """The tornado: each input's low and high NPV, widest first, with a bar."""
    _say(
        console,
        f"[bold]Sensitivity of the median NPV[/] ({escape(s.fleet_file)}, {s.months} months, "
        f"scenario {escape(s.scenario)}, {fmt.count(s.runs, 'run')}): base "
        f"{fmt.usd_short(s.npv_base_usd)}",
    )
    widest = max((r.swing_usd for r in s.rows), default=0.0) or 1.0
    t = _table("input", "low", "NPV", "high", "NPV", "swing")
    t.add_column("", justify="left", no_wrap=True)
    for r in s.rows:
        bar = "█" * max(1, round(BAR_WIDTH * r.swing_usd / widest))
        t.add_row(
            r.factor,
            r.low,
            fmt.usd_short(r.npv_low_usd),
            r.high,
            fmt.usd_short(r.npv_high_usd),
            fmt.usd_short(r.swing_usd),
            bar,
        )
    console.print(t)
