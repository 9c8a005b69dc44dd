"""Alert rules evaluated over days: the expression's value per day and the state machine
that turns it into firing periods, vectorised over the days (no loop over history).

Values. A condition is a float series: 1 true, 0 false, NaN unknown (a figure missing
that day). ``and``, ``or`` and ``not`` follow Kleene's three-valued logic (``false and
unknown`` is false, ``true or unknown`` true), so a missing figure never fires a rule
but never hides a decided one either.

States (the Prometheus alerting life cycle, plus no-data): a rule is **pending** while its
condition holds for less than ``for``; **firing** once it has held for ``for`` (evaluated at
each day's end: held on ``for / 1 day + 1`` consecutive days); **recovering** (still
firing) for ``keep_firing_for`` after the condition last held, so a day that holds again
while firing renews it; **no-data** when the condition is unknown and the rule is not
firing; else **normal**. A flapping condition inside ``keep_firing_for`` therefore gives
one firing period, not many.

References: Prometheus, *Alerting rules* (``for``, ``keep_firing_for``); S. C. Kleene
(1952), *Introduction to Metamathematics* (strong three-valued logic).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from minerwatch.sources.alert_expr import Binary, Call, Name, Node, Number, Text, Unary

NORMAL, PENDING, FIRING, RECOVERING, NO_DATA, ERROR = range(6)
STATE_NAMES = ("normal", "pending", "firing", "recovering", "no-data", "error")
DAY_S = 86_400.0

Series = np.ndarray  # float64 (NaN unknown) or object (str, None unknown)


class EvaluationProblem(ValueError):
    """An expression that parses but cannot be evaluated (a string where a number is
    needed, an unknown figure): ``column`` of the offending name or function."""

    def __init__(self, reason: str, column: int | None = None, *, needs: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.column = reason, column
        #: what the figure needs that was not given (a fleet file): the rule is in error,
        #: the file is not
        self.needs = needs


def _is_text(x: Series) -> bool:
    return x.dtype == object


def _numbers(x: Series, what: str, column: int | None) -> np.ndarray:
    if _is_text(x):
        raise EvaluationProblem(f"{what} is text; expected a number", column)
    return x


def _shift(x: np.ndarray, days: int) -> np.ndarray:
    out = np.full_like(x, np.nan)
    if days < len(x):
        out[days:] = x[: len(x) - days]
    return out


_REDUCERS: dict[str, Callable[..., Any]] = {
    "min_over": np.nanmin,
    "max_over": np.nanmax,
    "mean_over": np.nanmean,
}


def _window(x: np.ndarray, days: int, reduce: Callable[..., Any]) -> np.ndarray:
    out = np.full_like(x, np.nan)
    if days <= len(x):
        windows = sliding_window_view(x, days)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows: unknown
            known = np.isfinite(windows).any(axis=1)
            values = reduce(np.where(np.isfinite(windows), windows, np.nan), axis=1)
        out[days - 1 :] = np.where(known, values, np.nan)
    return out


def _compare(op: str, a: Series, b: Series) -> np.ndarray:
    if _is_text(a) or _is_text(b):
        if op not in ("==", "!="):
            raise EvaluationProblem(f"text can only be compared with == or !=, not {op}")
        ta = a if _is_text(a) else a.astype(object)
        tb = b if _is_text(b) else b.astype(object)
        unknown = np.array([x is None for x in ta]) | np.array([x is None for x in tb])
        equal = np.array([x == y for x, y in zip(ta, tb, strict=True)], dtype=np.float64)
        out = equal if op == "==" else 1.0 - equal
        return np.where(unknown, np.nan, out)
    with np.errstate(invalid="ignore"):
        result = {
            "<": np.less,
            "<=": np.less_equal,
            ">": np.greater,
            ">=": np.greater_equal,
            "==": np.equal,
            "!=": np.not_equal,
        }[op](a, b).astype(np.float64)
    return np.where(np.isnan(a) | np.isnan(b), np.nan, result)


def _and(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where((a == 0) | (b == 0), 0.0, np.where(np.isnan(a) | np.isnan(b), np.nan, 1.0))


def _or(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where((a == 1) | (b == 1), 1.0, np.where(np.isnan(a) | np.isnan(b), np.nan, 0.0))


def _truth(x: np.ndarray) -> np.ndarray:
    """A number as a condition: non-zero true (NaN unknown)."""
    return np.where(np.isnan(x), np.nan, (x != 0).astype(np.float64))


def is_condition(node: Node) -> bool:
    """Whether an expression is a condition (true or false each day): a comparison, and,
    or, not, a crossing, or the words true and false; a bare number or figure is not."""
    if isinstance(node, Binary):
        return node.op in ("<", "<=", ">", ">=", "==", "!=", "and", "or")
    if isinstance(node, Unary):
        return node.op == "not"
    if isinstance(node, Call):
        return node.function in ("crossed_below", "crossed_above")
    return isinstance(node, Number) and node.value in (0.0, 1.0)


def evaluate(
    node: Node, figure: Callable[[str, int], Series], days: int, now_s: np.ndarray
) -> Series:
    """The expression's value on each of ``days`` days: ``figure(name, column)`` gives a
    named figure's series (raising :class:`EvaluationProblem` for an unknown one); ``now_s``
    is each evaluation's moment (unix seconds), for ``age_seconds``."""

    def ev(n: Node) -> Series:
        if isinstance(n, Number):
            return np.full(days, n.value)
        if isinstance(n, Text):
            return np.full(days, n.value, dtype=object)
        if isinstance(n, Name):
            return figure(n.name, n.column)
        if isinstance(n, Unary):
            x = ev(n.operand)
            if n.op == "-":
                return -_numbers(x, "the operand of -", None)
            return 1.0 - _truth(_numbers(x, "the operand of not", None))
        if isinstance(n, Binary):
            a, b = ev(n.left), ev(n.right)
            if n.op in ("and", "or"):
                a, b = (_truth(_numbers(x, f"an operand of {n.op}", None)) for x in (a, b))
                return _and(a, b) if n.op == "and" else _or(a, b)
            if n.op in ("<", "<=", ">", ">=", "==", "!="):
                return _compare(n.op, a, b)
            a, b = (_numbers(x, f"an operand of {n.op}", None) for x in (a, b))
            with np.errstate(all="ignore"):
                out = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}[n.op](a, b)
            return np.where(np.isfinite(out), out, np.nan)
        if isinstance(n, Call):
            args = [ev(a) for a in n.args]
            x = _numbers(args[0], f"the first argument of {n.function}", n.column)
            with np.errstate(all="ignore"):
                if n.function in ("pct_change", "change", "min_over", "max_over", "mean_over"):
                    days_arg = n.args[1]
                    assert isinstance(days_arg, Number)  # the parser checks it
                    k = int(days_arg.value)
                    if n.function == "pct_change":
                        out = 100.0 * (x / _shift(x, k) - 1.0)
                    elif n.function == "change":
                        out = x - _shift(x, k)
                    else:
                        out = _window(x, k, _REDUCERS[n.function])
                elif n.function in ("crossed_below", "crossed_above"):
                    y = _numbers(args[1], f"the second argument of {n.function}", n.column)
                    op, back = ("<", ">=") if n.function == "crossed_below" else (">", "<=")
                    now = _compare(op, x, y)
                    before = _compare(back, _shift(x, 1), _shift(y, 1))
                    out = _and(now, before)
                elif n.function == "abs":
                    out = np.abs(x)
                else:  # age_seconds
                    out = now_s - x
            return np.where(np.isfinite(out), out, np.nan)
        raise AssertionError(n)

    return ev(node)


@dataclass(frozen=True)
class Timeline:
    """A rule's states over the days: ``state`` (codes, :data:`STATE_NAMES`), ``firing``
    (firing or recovering), and the firing periods: ``starts`` and ``ends`` (day indices,
    inclusive; the last may still be open, ``open_at_end``)."""

    state: np.ndarray
    firing: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    open_at_end: bool


def _runs_true(mask: np.ndarray) -> np.ndarray:
    """Consecutive true values ending at each position (0 where false)."""
    idx = np.arange(len(mask))
    last_false = np.maximum.accumulate(np.where(mask, -1, idx))
    return np.where(mask, idx - last_false, 0)


def timeline(
    condition: np.ndarray, for_s: float, keep_firing_for_s: float, step_s: float = DAY_S
) -> Timeline:
    """The state machine over one evaluation per ``step_s`` (see the module docstring)."""
    holds = condition == 1
    need = math.ceil(for_s / step_s) + 1 if for_s > 0 else 1
    keep = math.ceil(keep_firing_for_s / step_s) if keep_firing_for_s > 0 else 0
    idx = np.arange(len(condition))
    # Spans of days each within ``keep`` of a day the condition held; a span fires from the
    # first day in it that completes ``for`` (and, once firing, every day that holds again
    # renews ``keep_firing_for``) to its end.
    last_hold = np.maximum.accumulate(np.where(holds, idx, -(10**9)))
    near = (idx - last_hold) <= keep
    span_start = np.maximum.accumulate(np.where(near & ~np.r_[False, near[:-1]], idx, -1))
    first_ready = np.maximum.accumulate(np.where(_runs_true(holds) >= need, idx, -1))
    firing = near & (first_ready >= span_start) & (first_ready >= 0)
    state = np.full(len(condition), NORMAL, np.int8)
    state[holds & ~firing] = PENDING
    state[np.isnan(condition) & ~firing] = NO_DATA
    state[firing & holds] = FIRING
    state[firing & ~holds] = RECOVERING
    edges = np.diff(np.r_[0, firing.astype(np.int8), 0])
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return Timeline(state, firing, starts, ends, bool(len(firing) and firing[-1]))


def repeats_due(start_s: float, now_s: float, repeat_s: float | None) -> int:
    """How many repeat notifications a period firing since ``start_s`` has owed by
    ``now_s``: ``floor((now - start) / repeat)`` (0 without ``repeat``)."""
    if not repeat_s or now_s <= start_s:
        return 0
    return int((now_s - start_s) // repeat_s)
