"""The shared retry policy of network sources: attempts, backoff, ``Retry-After`` and a
total deadline. No network code: one attempt is any callable, so an HTTP GET, a JSON-RPC
batch or a test's in-memory page all retry the same way.

- An attempt that raises :class:`~minerwatch.errors.TransientSourceError` is retried after
  the server's ``Retry-After`` (capped at ``max_retry_after_s``) or, without one, an
  exponential backoff with jitter (:func:`backoff_delay`); when every attempt failed, its
  :class:`~minerwatch.errors.SourceUnavailable` (or
  :class:`~minerwatch.errors.RateLimited`) is raised, naming the attempts.
- Any other error is raised at once (a bad response does not get better by asking again).
- A :class:`Deadline` bounds the whole run: no wait goes past it, and an attempt is handed
  the deadline so that it can bound its own timeouts and reads;
  :class:`~minerwatch.errors.SyncDeadlineExceeded` when it passes.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from minerwatch.errors import (
    InputError,
    RateLimited,
    SourceUnavailable,
    SyncDeadlineExceeded,
    TransientSourceError,
)

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_BACKOFF_S = 1.0
DEFAULT_MAX_BACKOFF_S = 30.0
DEFAULT_MAX_RETRY_AFTER_S = 60.0

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How one request is retried.

    Attributes:
        max_attempts: attempts in all, >= 1 (1 means no retry).
        backoff_s: base of the exponential backoff, seconds (see :func:`backoff_delay`).
        max_backoff_s: cap of one backoff wait, seconds.
        max_retry_after_s: cap of a server's ``Retry-After`` wait, seconds.
    """

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_s: float = DEFAULT_BACKOFF_S
    max_backoff_s: float = DEFAULT_MAX_BACKOFF_S
    max_retry_after_s: float = DEFAULT_MAX_RETRY_AFTER_S

    def __post_init__(self) -> None:
        if not (isinstance(self.max_attempts, int) and self.max_attempts >= 1):
            raise InputError(
                f"max_attempts {self.max_attempts} is out of range; expected >= 1",
                parameter="max_attempts",
            )
        for name in ("backoff_s", "max_backoff_s", "max_retry_after_s"):
            value = getattr(self, name)
            if not value >= 0:
                raise InputError(
                    f"{name} {value} is out of range; expected >= 0 seconds", parameter=name
                )


@dataclass(frozen=True)
class Retry:
    """One failed attempt about to be retried: ``attempt`` (1-based) failed for ``reason``;
    the next attempt follows after ``delay_s`` seconds."""

    url: str | None
    attempt: int
    reason: str
    delay_s: float


class Deadline:
    """A total time budget of ``total_s`` seconds from its creation (``math.inf`` for none),
    read on the clock ``now`` (monotonic seconds; a test may pass its own)."""

    def __init__(
        self, total_s: float = math.inf, now: Callable[[], float] = time.monotonic
    ) -> None:
        if not total_s > 0:
            raise InputError(
                f"deadline_s {total_s} is out of range; expected > 0 seconds",
                parameter="deadline_s",
            )
        self.total_s = float(total_s)
        self._now = now
        self.ends_at = now() + self.total_s

    def remaining_s(self) -> float:
        """Seconds left, 0 when passed."""
        return max(0.0, self.ends_at - self._now())

    def expired(self) -> bool:
        return self._now() >= self.ends_at

    def exceeded(self, doing: str, url: str | None = None) -> SyncDeadlineExceeded:
        """The error to raise: the deadline passed ``doing`` ("while reading ...")."""
        return SyncDeadlineExceeded(f"the deadline of {self.total_s:g} s passed {doing}", url=url)


def backoff_delay(attempt: int, backoff_s: float, max_backoff_s: float) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): exponential,
    ``backoff_s * 2**(attempt-1)`` capped at ``max_backoff_s``, with "equal jitter" (a
    uniform draw from the upper half) so that clients do not retry in lockstep."""
    ceiling = min(max_backoff_s, backoff_s * 2 ** (attempt - 1))
    return ceiling * random.uniform(0.5, 1.0)


def call(
    attempt: Callable[[Deadline | None], T],
    *,
    policy: RetryPolicy | None = None,
    deadline: Deadline | None = None,
    on_retry: Callable[[Retry], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``attempt(deadline)``, retried under ``policy`` (see the module docstring).

    ``on_retry`` is called with a :class:`Retry` before each wait, and ``sleep`` waits. A
    wait that would end past ``deadline`` is not begun: :class:`SyncDeadlineExceeded` at
    once.
    """
    policy = policy or RetryPolicy()
    for number in range(1, policy.max_attempts + 1):
        try:
            return attempt(deadline)
        except TransientSourceError as exc:
            if number == policy.max_attempts:
                error = RateLimited if exc.rate_limited else SourceUnavailable
                raise error(f"{exc.failure} after {number} attempt(s)", url=exc.url) from None
            if exc.retry_after_s is not None:
                delay = min(exc.retry_after_s, policy.max_retry_after_s)
            else:
                delay = backoff_delay(number, policy.backoff_s, policy.max_backoff_s)
            if deadline is not None and delay >= deadline.remaining_s():
                raise deadline.exceeded(
                    f"before attempt {number + 1} ({exc.reason}; the next attempt was due in "
                    f"{delay:.3g} s)",
                    exc.url,
                ) from None
            if on_retry is not None:
                on_retry(Retry(exc.url, number, exc.reason, delay))
            if delay > 0:
                sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
