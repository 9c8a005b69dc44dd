"""Alert rules on a day and over history: each rule's state and value on ``as_of``
(``minerwatch alerts check``), and every firing period a rule would have had, replayed
over the days with only the data each day had (``minerwatch alerts backtest``).

The expressions are evaluated over every day up to the last one asked
(:mod:`minerwatch.analyses.alert_figures`, :mod:`minerwatch.models.alerts`), so a rule's
state on a day depends on that day and the days before it only: the backtest is what the
rule would have said, day by day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from minerwatch.analyses.alert_figures import Figures, figures_for
from minerwatch.analyses.day import Day, day_of
from minerwatch.analyses.difficulty import iso_utc
from minerwatch.days import day_end_s, parse_day
from minerwatch.errors import InputError
from minerwatch.models import alerts as am
from minerwatch.serialize import Jsonable, json_key, write_csv
from minerwatch.sources.alert_expr import COMPARISONS, Binary, Node
from minerwatch.sources.alert_rules import Rule, RuleFile, load_rules
from minerwatch.sources.fleet_file import Fleet
from minerwatch.store import Store
from minerwatch.tables import Tabular

DAYS_PER_YEAR = 365.25


def value_node(node: Node) -> Node:
    """What a rule's value is: the left side of its first comparison (``price_to_cost_pct``
    in ``price_to_cost_pct < -20``), else the whole expression."""
    if isinstance(node, Binary):
        if node.op in COMPARISONS:
            return node.left
        if node.op in ("and", "or"):
            return value_node(node.left)
    return node


@dataclass(frozen=True)
class Evaluated:
    """A rule over the days: its ``condition`` (1/0/NaN), ``value`` series and
    :class:`~minerwatch.models.alerts.Timeline`; ``error``: why it could not be evaluated
    (then every day's state is error)."""

    rule: Rule
    condition: np.ndarray
    value: np.ndarray
    timeline: am.Timeline
    error: str | None = None


def evaluate_rules(rules: RuleFile, figures: Figures, now_s: np.ndarray) -> list[Evaluated]:
    """Every rule of the file over the figures' days. :class:`InputError` naming the file,
    the rule's line and the token for an unknown figure or a type error."""
    days = len(figures.day)
    out = []
    for rule in rules.rules:
        if not am.is_condition(rule.tree):
            raise InputError(
                f"expr {rule.expr!r} is a value, not a condition; expected a comparison "
                "(such as price_usd < 20000), and/or/not, or a crossing",
                path=rules.path,
                line=rule.line,
                key=f"{rule.alert}.expr",
            )
        check_annotations(rule, rules.path, figures)
        try:
            condition = am.evaluate(rule.tree, figures.get, days, now_s)
            value = am.evaluate(value_node(rule.tree), figures.get, days, now_s)
        except am.EvaluationProblem as exc:
            if exc.needs:  # the rule cannot run without it; the file is fine
                unknown = np.full(days, np.nan)
                line = am.timeline(unknown, 0.0, 0.0)
                line.state[:] = am.ERROR
                out.append(Evaluated(rule, unknown, unknown, line, exc.reason))
                continue
            at = f"column {exc.column}: " if exc.column else ""
            raise InputError(
                f"expr {rule.expr!r}: {at}{exc.reason}",
                path=rules.path,
                line=rule.line,
                key=f"{rule.alert}.expr",
            ) from None
        if condition.dtype == object:
            raise InputError(
                f"expr {rule.expr!r} is text; expected a condition (compare it with == or !=)",
                path=rules.path,
                line=rule.line,
                key=f"{rule.alert}.expr",
            )
        out.append(
            Evaluated(
                rule, condition, value, am.timeline(condition, rule.for_s, rule.keep_firing_for_s)
            )
        )
    return out


#: ``{{ name }}`` or ``{{ name | filter }}`` in an annotation
PLACEHOLDER = r"\{\{\s*([^}]+?)\s*\}\}"
#: The filters of a placeholder (none: the number as ``num`` shows it)
FILTERS = ("usd", "pct", "num", "age")


def _age_text(seconds: float) -> str:
    """Seconds as a reader says them: ``40 s``, ``12 min``, ``3.5 h``, ``337 days``."""
    for limit, size, unit, digits in (
        (120, 1, "s", 0),
        (7_200, 60, "min", 0),
        (172_800, 3_600, "h", 1),
    ):
        if abs(seconds) < limit:
            return f"{seconds / size:,.{digits}f} {unit}"
    return f"{seconds / 86_400:,.0f} days"


def check_annotations(rule: Rule, path: str, figures: Figures) -> None:
    """Refuse an annotation quoting a figure that does not exist or an unknown filter:
    :class:`InputError` naming the file, the rule's line and the annotation. A figure that
    needs a fleet file is accepted (the rule is in error without one)."""
    import re

    for key, template in rule.annotations.items():
        for m in re.finditer(PLACEHOLDER, template):
            name, bar, fmt = (p.strip() for p in m.group(1).partition("|"))
            where: dict[str, Any] = {
                "path": path,
                "line": rule.line,
                "key": f"{rule.alert}.annotations.{key}",
            }
            if bar and fmt not in FILTERS:
                raise InputError(
                    f"{m.group(0)!r}: unknown filter {fmt!r}; expected {', '.join(FILTERS)}",
                    **where,
                )
            if name == "value":
                continue
            try:
                figures.get(name)
            except am.EvaluationProblem as exc:
                if not exc.needs:
                    raise InputError(f"{m.group(0)!r}: {exc.reason}", **where) from None


def _value(x: np.ndarray, i: int) -> float | str | None:
    v = x[i]
    if x.dtype == object:
        return None if v is None else str(v)
    return float(v) if np.isfinite(v) else None


def moments(days: np.ndarray, live: bool) -> np.ndarray:
    """When each day is evaluated (unix s): at its end; ``live`` (no as_of given: the data
    so far), the last day now, so that ``age_seconds(tip)`` is the data's real age."""
    import time

    out = _day_end_s(days)
    if live and len(out):
        out[-1] = time.time()
    return out


def _day_end_s(days: np.ndarray) -> np.ndarray:
    return day_end_s(days).astype(np.float64)


@dataclass(frozen=True)
class RuleState:
    """A rule on one day: ``alert``, ``state`` (normal, pending, firing, recovering,
    no-data), ``value`` (its value, see :func:`value_node`), ``since`` (the first day of the
    current state), ``firing_since`` (the first day of the current firing period, or None),
    ``expr``, ``labels``, the ``summary`` annotation rendered (while pending, firing or
    recovering: the text speaks of the condition) and ``error`` (why the rule could not be
    evaluated, in the error state)."""

    alert: str
    state: str
    value: float | str | None
    since: str
    firing_since: str | None
    expr: str
    labels: dict[str, str]
    summary: str | None
    error: str | None = None


@dataclass(frozen=True)
class AlertsCheck(Jsonable, Tabular):
    """Every rule's state on ``as_of`` (``rules``, one :class:`RuleState` each)."""

    TABLE = "rules"

    rule_file: str
    as_of: str
    rules: list[RuleState]
    provisional: bool = False


def _since(state: np.ndarray, i: int) -> int:
    changed = np.flatnonzero(state[: i + 1] != state[i])
    return int(changed[-1] + 1) if len(changed) else 0


def render(template: str | None, figures: Figures, i: int, value: float | str | None) -> str | None:
    """An annotation with ``{{ name }}`` / ``{{ name | usd }}`` / ``| pct`` / ``| num`` /
    ``| age`` (seconds as ``12 min``, ``3.5 h``, ``337 days``)
    replaced by the figure's value on day ``i`` (``value``: the rule's value). Names the
    figures do not have (refused by :func:`check_annotations` before) are left as
    written."""
    if template is None:
        return None
    import re

    def one(m: re.Match[str]) -> str:
        name, _, fmt = (p.strip() for p in m.group(1).partition("|"))
        if name == "value":
            v: float | str | None = value
        else:
            try:
                v = _value(figures.get(name), i)
            except am.EvaluationProblem:
                return m.group(0)
        if v is None:
            return "n/a"
        if isinstance(v, str):
            return v
        if fmt == "usd":
            return f"${v:,.0f}"
        if fmt == "pct":
            return f"{v:+.1f}%"
        if fmt == "age":
            return _age_text(v)
        return f"{v:,.4g}"

    return re.sub(PLACEHOLDER, one, template)


def alerts_check(
    db: Day | Store | str | Path | None,
    rules: RuleFile | str | Path,
    as_of: str | None = None,
    *,
    fleet: Fleet | str | Path | None = None,
) -> AlertsCheck:
    """Each rule's state and value at the end of ``as_of`` (default the last day held)."""
    rules = rules if isinstance(rules, RuleFile) else load_rules(rules)
    with day_of(db, as_of) as day:
        figures = figures_for(day, fleet, live=as_of is None)
        evaluated = evaluate_rules(rules, figures, moments(figures.day, live=as_of is None))
        i = len(figures.day) - 1
        out = []
        for ev in evaluated:
            state = ev.timeline.state
            value = _value(ev.value, i)
            firing_since = None
            if ev.timeline.firing[i]:
                firing_since = str(figures.day[int(ev.timeline.starts[-1])])
            name = am.STATE_NAMES[int(state[i])]
            shown = name in ("pending", "firing", "recovering")  # the summary speaks of those
            out.append(
                RuleState(
                    alert=ev.rule.alert,
                    state=name,
                    value=value,
                    since=str(figures.day[_since(state, i)]),
                    firing_since=firing_since,
                    expr=ev.rule.expr,
                    labels=ev.rule.labels,
                    summary=render(ev.rule.annotations.get("summary"), figures, i, value)
                    if shown
                    else None,
                    error=ev.error,
                )
            )
        return AlertsCheck(rules.path, str(day.as_of), out, bool(day.frame.provisional[-1]))


@dataclass(frozen=True)
class Period:
    """One firing period: ``start`` and ``end`` (inclusive days; ``end`` None while it is
    still firing on the last day), ``days`` and the rule's ``value`` on its first day;
    ``began_before``: it was already firing on the first day replayed (then ``start`` is
    that day, and the period is not counted in ``periods_per_year``)."""

    start: str
    end: str | None
    days: int
    value: float | str | None
    began_before: bool = False


@dataclass(frozen=True)
class RuleBacktest:
    """A rule replayed over the days: ``alert``, ``expr``, ``periods`` (:class:`Period`),
    ``periods_per_year`` (those begun in the replay, per 365.25 days with data),
    ``days_firing`` and ``share_firing_pct`` (of the days with data), ``days_no_data``,
    ``longest_days``."""

    alert: str
    expr: str
    periods: list[Period]
    periods_per_year: float
    days_firing: int
    share_firing_pct: float | None
    days_no_data: int
    longest_days: int


@dataclass(frozen=True)
class AlertsBacktest(Jsonable, Tabular):
    """Every rule of ``rule_file`` from ``from_day`` to ``to_day`` (``years`` between):
    ``rules`` (:class:`RuleBacktest`), the firing periods each rule would have had with
    only the data of each day."""

    TABLE = "rules"

    rule_file: str
    from_day: str = field(metadata=json_key("from"))
    to_day: str = field(metadata=json_key("to"))
    years: float = 0.0
    rules: list[RuleBacktest] = field(default_factory=list)

    def write_csv(self, path: str | Path) -> Path:
        """One row per firing period: alert, start, end, days, value."""
        rows = [
            {"alert": r.alert, "start": p.start, "end": p.end, "days": p.days, "value": p.value}
            for r in self.rules
            for p in r.periods
        ]
        return write_csv(rows, path)


def alerts_backtest(
    db: Day | Store | str | Path | None,
    rules: RuleFile | str | Path,
    from_day: str,
    to_day: str | None = None,
    *,
    fleet: Fleet | str | Path | None = None,
) -> AlertsBacktest:
    """Every firing period of every rule between ``from_day`` and ``to_day`` (a period
    already firing on ``from_day`` is cut there; one still firing on ``to_day`` has no
    end)."""
    rules = rules if isinstance(rules, RuleFile) else load_rules(rules)
    first_day = parse_day(from_day, "from_day")
    if first_day is None:
        raise InputError("from_day is required: the first day replayed", parameter="from_day")
    last_day = parse_day(to_day, "to_day")
    if last_day is not None and first_day > last_day:
        raise InputError(
            f"--from {first_day} is after --to {last_day}; expected --from on or before --to",
            parameter="from_day",
        )
    with day_of(db, last_day) as day:
        figures = figures_for(day, fleet, str(first_day))
        days = figures.day
        first = first_day
        if first > days[-1] or first < days[0]:
            raise InputError(
                f"from {from_day} is outside the data ({days[0]} to {days[-1]})",
                parameter="from_day",
            )
        lo = int(np.searchsorted(days, first))
        evaluated = evaluate_rules(rules, figures, _day_end_s(days))
    n = len(days)
    years = (n - lo) / DAYS_PER_YEAR
    out = []
    for ev in evaluated:
        t = ev.timeline
        periods = []
        for s, e in zip(t.starts, t.ends, strict=True):
            if e < lo:
                continue
            s0 = max(int(s), lo)
            still = int(e) == n - 1 and t.open_at_end
            periods.append(
                Period(
                    start=str(days[s0]),
                    end=None if still else str(days[int(e)]),
                    days=int(e) - s0 + 1,
                    value=_value(ev.value, s0),
                    began_before=int(s) < lo,
                )
            )
        window = slice(lo, n)
        known = int(np.isfinite(ev.condition[window]).sum())
        firing = int(t.firing[window].sum())
        out.append(
            RuleBacktest(
                alert=ev.rule.alert,
                expr=ev.rule.expr,
                periods=periods,
                periods_per_year=sum(not p.began_before for p in periods) / (known / DAYS_PER_YEAR)
                if known
                else 0.0,
                days_firing=firing,
                share_firing_pct=100.0 * firing / known if known else None,
                days_no_data=int((n - lo) - known),
                longest_days=max((p.days for p in periods), default=0),
            )
        )
    return AlertsBacktest(rules.path, str(days[lo]), str(days[-1]), years, out)


@dataclass(frozen=True)
class Owed:
    """A notification a rule owes after the evaluation of day ``day``: ``kind`` (firing,
    repeat, resolved) with ``seq`` (the repeat's number, 0 otherwise) for the firing period
    that began on ``period_start``; ``status`` (firing or resolved), ``starts_at`` and
    ``ends_at`` (ISO 8601 UTC: the ends of the period's first day and of its first day not
    firing), the rule's ``value``, ``labels`` and rendered ``annotations``."""

    alert: str
    kind: str
    seq: int
    period_start: str
    status: str
    starts_at: str
    ends_at: str | None
    value: float | str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    day: str


def owed_notifications(evaluated: list[Evaluated], figures: Figures, now_s: float) -> list[Owed]:
    """What each rule owes on the last day of ``figures``: the start of its current firing
    period (and the repeat due by ``now_s``), or the end of the period that ended last.
    Whether each is still to send is the ledger's business (a period's end is only sent
    after its start was)."""
    days = figures.day
    i = len(days) - 1
    ends = _day_end_s(days)
    out = []
    for ev in evaluated:
        t = ev.timeline
        if ev.error or not len(t.starts):
            continue
        s = int(t.starts[-1])
        value = _value(ev.value, i)
        rendered = {k: render(v, figures, i, value) or "" for k, v in ev.rule.annotations.items()}

        def owe(kind: str, seq: int, status: str, ends_at: str | None) -> Owed:
            return Owed(
                alert=ev.rule.alert,  # noqa: B023  (used at once, inside the loop)
                kind=kind,
                seq=seq,
                period_start=str(days[s]),  # noqa: B023
                status=status,
                starts_at=iso_utc(ends[s]) or "",  # noqa: B023
                ends_at=ends_at,
                value=value,  # noqa: B023
                labels=ev.rule.labels,  # noqa: B023
                annotations=rendered,  # noqa: B023
                day=str(days[i]),
            )

        if t.firing[i]:
            out.append(owe("firing", 0, "firing", None))
            k = am.repeats_due(ends[s], now_s, ev.rule.repeat_s)
            if k:
                out.append(owe("repeat", k, "firing", None))
        else:
            out.append(owe("resolved", 0, "resolved", iso_utc(ends[min(int(t.ends[-1]) + 1, i)])))
    return out
