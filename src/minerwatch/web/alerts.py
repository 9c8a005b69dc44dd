"""The alert rules over HTTP: the Alerts page, ``/alerts``, and ``GET /api/v1/alerts``.

For one rule file, both show each rule's state on the as-of day
(:func:`~minerwatch.analyses.alerts.alerts_check`), its history replayed from
:data:`HISTORY_FROM` (or the first day held, when later) to that day
(:func:`~minerwatch.analyses.alerts.alerts_backtest`), and what ``minerwatch alerts run``
left in the database: the rules' stored states (``alert_states``) and the last
:data:`RECENT_NOTIFICATIONS` rows of the delivery ledger (``alert_notifications``), read
only. Nothing is evaluated into the database and nothing is delivered.

The rule file is the one given to :func:`~minerwatch.web.app.create_app` (``alerts=``),
else the configuration's ``[alerts] rules`` (``$MINERWATCH_ALERTS``), read on each request,
else the shipped ``pack`` (the page says so). A rule file that cannot be read or evaluated
is the server's problem, not the request's: a 503 with the library's message (file, line
and key). A bad ``as_of`` is a 400, a day outside the data a 404, as on every route.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from minerwatch.analyses.alerts import AlertsBacktest, AlertsCheck
from minerwatch.errors import InputError, MinerwatchError
from minerwatch.serialize import Jsonable, to_json
from minerwatch.web.api import ERRORS, AsOf, result
from minerwatch.web.app import AnswerCache, not_modified, read_store, settings_of

if TYPE_CHECKING:
    from minerwatch.sources.alert_rules import RuleFile
    from minerwatch.store import Store

#: The first day of the rules' history when the data goes back further (the pack's
#: backtest in docs/alerts.md starts there).
HISTORY_FROM = "2012-01-01"
#: Rows of the delivery ledger shown, the newest.
RECENT_NOTIFICATIONS = 20

router = APIRouter(prefix="/api/v1", tags=["alerts"], responses={**ERRORS})
page_router = APIRouter(include_in_schema=False)


class RulesUnusable(MinerwatchError):
    """The server's rule file (or its configuration) cannot be read or evaluated: a 503
    with the library's message (:func:`~minerwatch.web.app.error_status`)."""


# -- which rules ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chosen:
    """The rule file the server shows: ``rules``, ``identity`` (how the ledger names it,
    :func:`~minerwatch.notify.run.rules_identity`), ``origin`` (``serve``, ``file``,
    ``env NAME``, or ``default`` for the shipped pack when nothing is configured) and
    ``key``, a digest of the rules as read (part of the cache key: an edited file is read
    again)."""

    rules: RuleFile
    identity: str
    origin: str
    key: str

    @property
    def fallback(self) -> bool:
        """Whether nothing is configured and the shipped pack stands in."""
        return self.origin == "default"


def choose_rules(given: str | Path | None) -> Chosen:
    """The rules ``given`` to the server, else the configured ones, else the pack;
    :class:`RulesUnusable` for a configuration or rule file that cannot be read."""
    from minerwatch.config import load_config
    from minerwatch.notify.run import rules_identity
    from minerwatch.sources.alert_rules import PACK, load_rules

    try:
        if given is not None:
            name, origin = str(given), "serve"
        else:
            config = load_config()
            configured = config.get("alerts", "rules")
            name = PACK if configured is None else str(configured)
            origin = "default" if configured is None else config.origin("alerts", "rules")
        rules = load_rules(name)
    except InputError as exc:
        raise RulesUnusable(f"the server's alert rules cannot be used: {exc}") from None
    key = hashlib.sha256(repr(rules).encode()).hexdigest()[:20]
    return Chosen(rules, rules_identity(rules), origin, key)


# -- what is shown ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredState:
    """A rule's state as the last ``minerwatch alerts run`` stored it (``alert_states``):
    ``since_day`` (its first day in that state), ``firing_since`` (the first day of the
    firing period), ``value`` (as text), ``evaluated_day`` (the day the run evaluated) and
    ``updated_s`` (when it ran, unix seconds)."""

    alert: str
    state: str
    since_day: str
    firing_since: str | None
    value: str | None
    evaluated_day: str
    updated_s: float


@dataclass(frozen=True)
class LedgerEntry:
    """A row of the delivery ledger (``alert_notifications``): the notification ``kind``
    (firing, repeat, resolved) with ``seq`` (the repeat's number) for the firing period
    that began on ``period_start``, owed after the evaluation of ``day`` to ``notifier``;
    its ``status`` (pending, delivered, failed), ``attempts``, last ``error``, and when it
    was recorded (``created_s``) and delivered (``delivered_s``), unix seconds. The payload
    sent is left out."""

    alert: str
    period_start: str
    kind: str
    seq: int
    notifier: str
    day: str
    status: str
    attempts: int
    error: str | None
    created_s: float
    delivered_s: float | None


@dataclass(frozen=True)
class AlertsOverview(Jsonable):
    """A rule file on a day: ``check`` (``minerwatch alerts check --json``), ``backtest``
    (``minerwatch alerts backtest --from FIRST --to DAY --json``: the data held from
    2012-01-01 or its first day), ``stored`` (each rule's state after the last ``minerwatch
    alerts run``, whatever the day asked, in the rule file's order) and ``notifications``
    (the newest rows of the delivery ledger, at most 20, newest first)."""

    check: AlertsCheck
    backtest: AlertsBacktest
    stored: list[StoredState]
    notifications: list[LedgerEntry]


def _opt_str(x: object) -> str | None:
    return None if x is None else str(x)


def _opt_float(x: object) -> float | None:
    return None if x is None else float(x)  # type: ignore[arg-type]


def history_from(first_held: np.datetime64, as_of: np.datetime64) -> str:
    """The first day of the rules' history: :data:`HISTORY_FROM`, or the first day held when
    later; the first day held for a day before :data:`HISTORY_FROM`."""
    first = max(np.datetime64(HISTORY_FROM, "D"), first_held)
    return str(first if first <= as_of else first_held)


def overview(store: Store, chosen: Chosen, as_of: str | None) -> AlertsOverview:
    """The rules' states on ``as_of`` (default: the last day held), their history to it,
    the stored states and the recent ledger rows of ``chosen``'s rule file."""
    from minerwatch.analyses.alerts import alerts_backtest, alerts_check
    from minerwatch.analyses.day import day_of

    rules = chosen.rules
    try:
        with day_of(store, as_of) as day:
            check = alerts_check(day, rules, as_of)  # no as_of: the data so far, now
            first = history_from(day.frame.day[0], day.as_of)
            backtest = alerts_backtest(day, rules, first)
    except InputError as exc:
        if exc.path is None or exc.path != rules.path:
            raise  # the request's (a bad day, one outside the data)
        raise RulesUnusable(f"the server's alert rules cannot be used: {exc}") from None
    stored = [
        StoredState(
            alert=str(r["alert"]),
            state=str(r["state"]),
            since_day=str(r["since_day"]),
            firing_since=_opt_str(r["firing_since"]),
            value=_opt_str(r["value"]),
            evaluated_day=str(r["evaluated_day"]),
            updated_s=float(r["updated_s"]),  # type: ignore[arg-type]
        )
        for r in store.alert_states(chosen.identity)
    ]
    order = {rule.alert: i for i, rule in enumerate(rules.rules)}
    stored.sort(key=lambda s: (order.get(s.alert, len(order)), s.alert))  # the file's order
    ledger = store.alert_notifications(chosen.identity)[-RECENT_NOTIFICATIONS:]
    notifications = [
        LedgerEntry(
            alert=str(r["alert"]),
            period_start=str(r["period_start"]),
            kind=str(r["kind"]),
            seq=int(r["seq"]),  # type: ignore[call-overload]
            notifier=str(r["notifier"]),
            day=str(r["day"]),
            status=str(r["status"]),
            attempts=int(r["attempts"]),  # type: ignore[call-overload]
            error=_opt_str(r["error"]),
            created_s=float(r["created_s"]),  # type: ignore[arg-type]
            delivered_s=_opt_float(r["delivered_s"]),
        )
        for r in reversed(ledger)
    ]
    return AlertsOverview(check, backtest, stored, notifications)


def kept_overview(request: Request, as_of: str | None) -> tuple[Chosen, AlertsOverview]:
    """The overview for the request's rules and day, kept until the database or the rules
    change (:class:`~minerwatch.web.app.AnswerCache`)."""
    chosen = choose_rules(settings_of(request).alerts)
    answers: AnswerCache = request.app.state.answers

    def compute() -> AlertsOverview:
        with read_store(request) as store:
            return overview(store, chosen, as_of)

    return chosen, answers.kept(f"alerts?{as_of}|{chosen.identity}|{chosen.key}", compute)


# -- the JSON API -----------------------------------------------------------------------------


@router.get(
    "/alerts",
    responses=result(AlertsOverview),
    summary="minerwatch alerts check and alerts backtest --json, and the stored states",
)
def alerts_api(request: Request, as_of: AsOf = None) -> Response:
    """The server's rule file on ``as_of``: each rule's state (``check``), its history from
    2012-01-01 (``backtest``), the states stored by the last ``minerwatch alerts run``
    (``stored``) and the newest rows of the delivery ledger (``notifications``)."""
    _, o = kept_overview(request, as_of)
    body = (to_json(o) + "\n").encode()
    tag = 'W/"' + hashlib.sha256(body).hexdigest()[:20] + '"'  # the rules' and the ledger's too
    if not_modified(request, tag):
        return Response(status_code=304, headers={"ETag": tag})
    return Response(body, media_type="application/json", headers={"ETag": tag})


# -- the page ---------------------------------------------------------------------------------


def value_text(v: float | str | None) -> str:
    """A rule's value as ``minerwatch alerts check`` prints it (four significant figures)."""
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    return f"{v:,.4g}"


def stored_value_text(v: str | None) -> str:
    """A stored value (text): a number as :func:`value_text` writes it."""
    if v is None:
        return "n/a"
    try:
        return value_text(float(v))
    except ValueError:
        return v


def utc_text(unix_s: float | None) -> str:
    """Unix seconds as ``YYYY-MM-DD HH:MM UTC``."""
    if unix_s is None:
        return "n/a"
    return str(np.datetime64(int(unix_s), "s")).replace("T", " ")[:16] + " UTC"


@dataclass(frozen=True)
class Bar:
    """A firing period in a rule's strip: ``x`` and ``width`` in the strip's units, its
    ``title`` (shown on hover) and whether it is still firing at the end (``open``)."""

    x: float
    width: float
    title: str
    open: bool


@dataclass(frozen=True)
class Tick:
    """A year's mark on the strips' axis: ``x`` and its ``label``."""

    x: float
    label: str


#: Size of a rule's strip (SVG units, drawn at that size).
STRIP_WIDTH = 560
STRIP_HEIGHT = 14
#: The narrowest bar drawn (a one-day period over 14 years would be a fraction of a unit).
MIN_BAR = 1.5
#: The least room between two labels of the axis.
TICK_ROOM = 38


def _days(a: str, b: str) -> int:
    """Days from ``a`` to ``b`` (YYYY-MM-DD)."""
    return int((np.datetime64(b, "D") - np.datetime64(a, "D")) // np.timedelta64(1, "D"))


def _strip_scale(from_day: str, to_day: str) -> float:
    """Strip units per day from ``from_day`` to ``to_day`` (both drawn)."""
    return STRIP_WIDTH / max(_days(from_day, to_day) + 1, 1)


def strip_bars(backtest: AlertsBacktest, periods: list[Any]) -> list[Bar]:
    """The firing ``periods`` of a rule as bars of its strip, from the backtest's first
    day (left) to its last (right)."""
    per_day = _strip_scale(backtest.from_day, backtest.to_day)
    bars = []
    for p in periods:
        x = _days(backtest.from_day, p.start) * per_day
        width = max(p.days * per_day, MIN_BAR)
        end = "still firing" if p.end is None else f"to {p.end}"
        title = (
            f"{p.start} {end}: {p.days:,} day{'s' if p.days != 1 else ''}, value at the start "
            f"{value_text(p.value)}"
        )
        bars.append(Bar(round(x, 2), round(min(width, STRIP_WIDTH - x), 2), title, p.end is None))
    return bars


def strip_ticks(from_day: str, to_day: str) -> list[Tick]:
    """The 1 January marks between the backtest's ends, every one, two, five or ten years
    so that labels do not overlap."""
    per_day = _strip_scale(from_day, to_day)
    year_units = 365.25 * per_day
    step = next((s for s in (1, 2, 5, 10, 20) if s * year_units >= TICK_ROOM), 50)
    y0, y1 = int(from_day[:4]), int(to_day[:4])
    ticks = []
    for year in range(y0, y1 + 1):
        if year % step:
            continue
        x = _days(from_day, f"{year}-01-01") * per_day
        if 0 <= x <= STRIP_WIDTH - 24:  # room for the label
            ticks.append(Tick(round(x, 2), str(year)))
    return ticks


@dataclass(frozen=True)
class RuleRow:
    """A rule on the page's day: its cells as shown and its state's name (the class)."""

    alert: str
    state: str
    value: str
    since: str
    firing_since: str
    summary: str
    error: str | None
    severity: str
    expr: str


@dataclass(frozen=True)
class HistoryRow:
    """A rule's history: the summary cells, its strip's bars and its periods' rows."""

    alert: str
    expr: str
    periods: int
    per_year: str
    share: str
    longest: str
    no_data: str
    bars: list[Bar]
    rows: list[list[str]]
    key: str


@dataclass(frozen=True)
class AlertsView:
    """An :class:`AlertsOverview` as the page shows it."""

    o: AlertsOverview
    chosen: Chosen
    rules: list[RuleRow]
    counts: str
    history: list[HistoryRow]
    ticks: list[Tick]
    stored: list[list[str]]
    last_run: str | None
    notifications: list[list[str]]
    notification_status: list[str]


#: The states whose summary is shown: the annotation describes the alert's condition, and
#: reads wrong while the condition does not hold ("Hash ribbons inverted" when they are not).
SUMMARY_STATES = frozenset({"pending", "firing", "recovering"})


def _key(alert: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in alert)


def alerts_view(o: AlertsOverview, chosen: Chosen) -> AlertsView:
    """The page's tables of ``o``."""
    c, b = o.check, o.backtest
    rules = [
        RuleRow(
            alert=r.alert,
            state=r.state,
            value=value_text(r.value),
            since=r.since,
            firing_since=r.firing_since or "",
            summary=(r.summary or "") if r.state in SUMMARY_STATES else "",
            error=r.error,
            severity=r.labels.get("severity", ""),
            expr=r.expr,
        )
        for r in c.rules
    ]
    by_state: dict[str, list[str]] = {}
    for r in c.rules:
        by_state.setdefault(r.state, []).append(r.alert)
    order = ("firing", "recovering", "pending", "error", "no-data", "normal")
    counts = "; ".join(
        f"{len(by_state[s])} {s}"
        + (f" ({', '.join(by_state[s])})" if s not in ("normal", "no-data") else "")
        for s in (*order, *sorted(set(by_state) - set(order)))
        if s in by_state
    )
    history = [
        HistoryRow(
            alert=r.alert,
            expr=r.expr,
            periods=len(r.periods),
            per_year=f"{r.periods_per_year:.2f}",
            share="n/a" if r.share_firing_pct is None else f"{r.share_firing_pct:.1f}%",
            longest=f"{r.longest_days:,} d",
            no_data=f"{r.days_no_data:,}",
            bars=strip_bars(b, r.periods),
            rows=[
                [p.start, p.end or "still firing", f"{p.days:,}", value_text(p.value)]
                for p in r.periods
            ],
            key=_key(r.alert),
        )
        for r in b.rules
    ]
    stored = [
        [
            s.alert, s.state, s.since_day, s.firing_since or "", stored_value_text(s.value),
            s.evaluated_day, utc_text(s.updated_s),
        ]
        for s in o.stored
    ]  # fmt: skip
    last = max(o.stored, key=lambda s: s.updated_s, default=None)
    last_run = (
        None if last is None else f"evaluated {last.evaluated_day}, at {utc_text(last.updated_s)}"
    )
    notifications = [
        [
            n.day, n.alert, n.kind if n.kind != "repeat" else f"repeat {n.seq}", n.notifier,
            n.status, f"{n.attempts:,}", n.error or "", n.period_start, utc_text(n.created_s),
        ]
        for n in o.notifications
    ]  # fmt: skip
    return AlertsView(
        o, chosen, rules, counts, history, strip_ticks(b.from_day, b.to_day), stored,
        last_run, notifications,
        [n.status for n in o.notifications],
    )  # fmt: skip


@page_router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, as_of: AsOf = None) -> HTMLResponse:
    from minerwatch.web.pages import render

    chosen, o = kept_overview(request, as_of)
    view = alerts_view(o, chosen)
    return render(
        request, "alerts.html", title="Alerts", day=o.check.as_of, v=view,
        width=STRIP_WIDTH, height=STRIP_HEIGHT,
        api_path="/api/v1/alerts", provisional=o.check.provisional,
    )  # fmt: skip
