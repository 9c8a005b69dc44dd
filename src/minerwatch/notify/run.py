"""``minerwatch alerts run``: evaluate a rule file on a day, record what is owed in the
ledger, deliver it to every notifier, and keep each rule's state.

The ledger (``alert_notifications``) holds one row per (rule file, alert, firing period,
kind, sequence, notifier). A row is written, in its own transaction, before the delivery
is tried, and marked delivered or failed after it: a transition is never notified twice,
whether the run is repeated, the day re-synced or the process restarted; a row left
pending by a crash, or failed, is tried again by the next run (up to
:data:`MAX_ATTEMPTS` times), so a notification is delivered at least once, and twice only
if the process dies between a receiver's answer and the ledger's update. A period's
resolution is sent only after its start was.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from minerwatch.analyses.alert_figures import figures_for
from minerwatch.analyses.alerts import (
    _day_end_s,
    _since,
    _value,
    evaluate_rules,
    moments,
    owed_notifications,
)
from minerwatch.analyses.day import Day, day_of
from minerwatch.models import alerts as am
from minerwatch.notify.deliver import Delivery, Notification, deliver, fingerprint
from minerwatch.serialize import Jsonable
from minerwatch.sources.alert_rules import Notifier, RuleFile, load_rules
from minerwatch.sources.fleet_file import Fleet
from minerwatch.store import Store

#: Deliveries of one notification tried before it is left failed.
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Sent:
    """One delivery: ``notifier`` (its label), ``alerts`` in the batch (``kind:alert``),
    ``ok``, ``attempts`` and ``error``."""

    notifier: str
    alerts: list[str]
    ok: bool
    attempts: int
    error: str | None


@dataclass(frozen=True)
class AlertsRun(Jsonable):
    """A run: the day, each rule's ``states`` (alert -> state), the notifications
    ``recorded`` new in the ledger, the deliveries ``sent`` and ``notes``."""

    rule_file: str
    as_of: str
    states: dict[str, str]
    recorded: int
    sent: list[Sent]
    notes: tuple[str, ...] = ()


def rules_identity(rules: RuleFile) -> str:
    """How the ledger names a rule file: its absolute path (or ``pack``)."""
    path = Path(rules.path)
    return str(path.resolve()) if path.exists() else rules.path


def _notification(payload: str) -> Notification:
    return Notification(**json.loads(payload))


def run_alerts(
    store: Store,
    rules: RuleFile | str | Path,
    as_of: str | None = None,
    *,
    fleet: Fleet | str | Path | None = None,
    now_s: float | None = None,
    env: Mapping[str, str] | None = None,
    send: Callable[..., Delivery] = deliver,
) -> AlertsRun:
    """Evaluate ``rules`` at the end of ``as_of`` (default the last day held), record and
    deliver what they owe, store their states. ``store`` must be writable. ``now_s``: the
    moment of the run (default: the end of ``as_of`` for a past day, else now), for
    repeats."""
    rules = rules if isinstance(rules, RuleFile) else load_rules(rules)
    identity = rules_identity(rules)
    with day_of(Day(store, as_of)) as day:
        live = as_of is None
        first = None if fleet is None else str(day.as_of - 400)
        figures = figures_for(day, fleet, first, live=live)
        evaluated = evaluate_rules(rules, figures, moments(figures.day, live))
        last_end = float(_day_end_s(figures.day[-1:])[0])
        moment = now_s if now_s is not None else (time.time() if live else last_end)
        owed = owed_notifications(evaluated, figures, moment)
        i = len(figures.day) - 1
        states: list[dict[str, object]] = []
        for ev in evaluated:
            t = ev.timeline
            states.append(
                {
                    "rules": identity,
                    "alert": ev.rule.alert,
                    "state": am.STATE_NAMES[int(t.state[i])],
                    "since_day": str(figures.day[_since(t.state, i)]),
                    "firing_since": str(figures.day[int(t.starts[-1])]) if t.firing[i] else None,
                    "value": None if _value(ev.value, i) is None else str(_value(ev.value, i)),
                    "evaluated_day": str(figures.day[i]),
                }
            )
    ledger = store.alert_notifications(identity)
    started = {(r["alert"], r["period_start"]) for r in ledger if r["kind"] == "firing"}
    rows = []
    for o in owed:
        if o.kind == "resolved" and (o.alert, o.period_start) not in started:
            continue  # its start was never announced
        note = Notification(
            alert=o.alert,
            status=o.status,
            kind=o.kind,
            starts_at=o.starts_at,
            ends_at=o.ends_at,
            labels=o.labels,
            annotations=o.annotations,
            value=o.value,
            fingerprint=fingerprint(o.alert, o.labels),
            day=o.day,
        )
        payload = json.dumps(note.__dict__, sort_keys=True)
        for n in rules.notifiers:
            rows.append(
                {
                    "rules": identity,
                    "alert": o.alert,
                    "period_start": o.period_start,
                    "kind": o.kind,
                    "seq": o.seq,
                    "notifier": n.label,
                    "day": o.day,
                    "payload": payload,
                }
            )
    recorded = store.add_alert_notifications(rows) if rows else 0
    store.write_alert_states(states)
    sent = _deliver_owed(store, identity, rules.notifiers, env, send)
    by_alert = {str(s["alert"]): str(s["state"]) for s in states}
    return AlertsRun(rules.path, str(figures.day[-1]), by_alert, recorded, sent)


def _deliver_owed(
    store: Store,
    identity: str,
    notifiers: tuple[Notifier, ...],
    env: Mapping[str, str] | None,
    send: Callable[..., Delivery],
) -> list[Sent]:
    """Deliver every ledger row not yet delivered (pending, or failed fewer than
    :data:`MAX_ATTEMPTS` times), one batch per notifier."""
    todo = [
        r
        for r in store.alert_notifications(identity)
        if r["status"] == "pending"
        or (r["status"] == "failed" and int(r["attempts"]) < MAX_ATTEMPTS)  # type: ignore[call-overload]
    ]
    out = []
    for notifier in notifiers:
        batch = [r for r in todo if r["notifier"] == notifier.label]
        if not batch:
            continue
        result = send(notifier, [_notification(str(r["payload"])) for r in batch], env=env)
        keys = [
            (
                identity,
                str(r["alert"]),
                str(r["period_start"]),
                str(r["kind"]),
                int(str(r["seq"])),
                notifier.label,
            )
            for r in batch
        ]
        store.mark_alert_notifications(keys, result.ok, result.attempts, result.error)
        out.append(
            Sent(
                notifier.label,
                [f"{r['kind']}:{r['alert']}" for r in batch],
                result.ok,
                result.attempts,
                result.error,
            )
        )
    return out
