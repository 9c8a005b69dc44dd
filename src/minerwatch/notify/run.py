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

import dataclasses
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
from minerwatch.errors import InputError
from minerwatch.models import alerts as am
from minerwatch.notify.deliver import Delivery, Notification, deliver, fingerprint
from minerwatch.serialize import Jsonable
from minerwatch.sources.alert_rules import RuleFile, load_rules
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
        figures = figures_for(day, fleet, live=live)
        evaluated = evaluate_rules(rules, figures, moments(figures.day, live))
        last_end = float(_day_end_s(figures.day[-1:])[0])
        moment = now_s if now_s is not None else (time.time() if live else last_end)
        owed = owed_notifications(evaluated, figures, moment)
        i = len(figures.day) - 1
        states: list[dict[str, object]] = []
        firing_now: dict[str, str] = {}
        for ev in evaluated:
            t = ev.timeline
            if t.firing[i]:
                firing_now[ev.rule.alert] = str(figures.day[int(t.starts[-1])])
            states.append(
                {
                    "rules": identity,
                    "alert": ev.rule.alert,
                    "state": am.STATE_NAMES[int(t.state[i])],
                    "since_day": str(figures.day[_since(t.state, i)]),
                    "firing_since": firing_now.get(ev.rule.alert),
                    "value": None if _value(ev.value, i) is None else str(_value(ev.value, i)),
                    "evaluated_day": str(figures.day[i]),
                }
            )
    ledger = store.alert_notifications(identity)
    # per notifier: the periods whose start it received, and those already closed for it
    told = {
        (r["alert"], r["period_start"], r["notifier"])
        for r in ledger
        if r["kind"] == "firing" and r["status"] == "delivered"
    }
    closed = {
        (r["alert"], r["period_start"], r["notifier"]) for r in ledger if r["kind"] == "resolved"
    }
    rows = []
    for o in owed:
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
        for n in rules.notifiers:
            if o.kind == "resolved" and (o.alert, o.period_start, n.key) not in told:
                continue  # its start never reached this notifier
            rows.append(_row(identity, o.alert, o.period_start, o.kind, o.seq, n.key, o.day, note))
    # A period announced and neither firing now nor resolved yet (the data changed, or it
    # ended and another began between two runs): resolve it now.
    owed_resolved = {(r["alert"], r["period_start"]) for r in rows if r["kind"] == "resolved"}
    ended_at = str(np.datetime64(int(moment), "s")) + "Z"
    for r in ledger:
        key = (r["alert"], r["period_start"], r["notifier"])
        if r["kind"] != "firing" or r["status"] != "delivered" or key in closed:
            continue
        alert, start = str(r["alert"]), str(r["period_start"])
        if firing_now.get(alert) == start or (alert, start) in owed_resolved:
            continue
        first = _notification(str(r["payload"]))
        note = dataclasses.replace(
            first, status="resolved", kind="resolved", ends_at=ended_at, day=str(figures.day[-1])
        )
        rows.append(_row(identity, alert, start, "resolved", 0, str(r["notifier"]), note.day, note))
    recorded = store.add_alert_notifications(rows) if rows else 0
    store.write_alert_states(states)
    sent = _deliver_owed(store, identity, rules, env, send)
    by_alert = {str(s["alert"]): str(s["state"]) for s in states}
    return AlertsRun(rules.path, str(figures.day[-1]), by_alert, recorded, sent)


def _row(
    identity: str,
    alert: str,
    start: str,
    kind: str,
    seq: int,
    notifier: str,
    day: str,
    note: Notification,
) -> dict[str, object]:
    return {
        "rules": identity,
        "alert": alert,
        "period_start": start,
        "kind": kind,
        "seq": seq,
        "notifier": notifier,
        "day": day,
        "payload": json.dumps(note.__dict__, sort_keys=True),
    }


def _deliver_owed(
    store: Store,
    identity: str,
    rules: RuleFile,
    env: Mapping[str, str] | None,
    send: Callable[..., Delivery],
) -> list[Sent]:
    """Deliver every ledger row not yet delivered (pending, or failed fewer than
    :data:`MAX_ATTEMPTS` times): one batch per notifier, one notification a batch for
    ntfy (it posts each on its own, so each gets its own outcome). A notifier that cannot
    be used (a secret not set, a bad URL) fails its rows, named with the rule file, and
    the others go on."""
    todo = [
        r
        for r in store.alert_notifications(identity)
        if r["status"] == "pending"
        or (r["status"] == "failed" and int(str(r["attempts"])) < MAX_ATTEMPTS)
    ]
    out = []
    for notifier in rules.notifiers:
        rows = [r for r in todo if r["notifier"] == notifier.key]
        batches = [[r] for r in rows] if notifier.type == "ntfy" else ([rows] if rows else [])
        for batch in batches:
            try:
                result = send(notifier, [_notification(str(r["payload"])) for r in batch], env=env)
            except InputError as exc:
                result = Delivery(notifier.label, False, 0, f"{rules.path}: {exc}")
            keys = [
                (
                    identity,
                    str(r["alert"]),
                    str(r["period_start"]),
                    str(r["kind"]),
                    int(str(r["seq"])),
                    notifier.key,
                )
                for r in batch
            ]
            store.mark_alert_notifications(keys, result.ok, max(result.attempts, 1), result.error)
            names = [f"{r['kind']}:{r['alert']}" for r in batch]
            out.append(Sent(notifier.label, names, result.ok, result.attempts, result.error))
    return out
