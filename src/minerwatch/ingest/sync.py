"""Incremental sync of the store from network sources (``minerwatch sync``).

:func:`sync_coinmetrics` pulls BTC daily chain metrics and closes from the Coin Metrics
community API, starting the day after the last stored chain day. Each page is validated
with the same parser as the community CSV and written in its own transaction together with
the source's sync state, so an interrupted sync keeps every page already committed, and a
re-run resumes from there with nothing lost or duplicated.

The network stack (httpx) is imported only when a sync runs, so that importing minerwatch
(and starting the CLI) stays fast.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from minerwatch.chain.consensus import GENESIS_DAY
from minerwatch.days import DayLike, parse_day, utc_today
from minerwatch.errors import BadResponse, InputError
from minerwatch.frames import check_days_join
from minerwatch.ingest.files import write_daily_chain
from minerwatch.sources import coinmetrics
from minerwatch.store import Store, WriteResult, open_store

if TYPE_CHECKING:
    import httpx

    from minerwatch.sources.http import Retry

SOURCE = coinmetrics.SOURCE
# Library defaults (mirrors of sources.http / sources.coinmetrics_api, kept here so that
# this module does not import httpx).
DEFAULT_PAGE_SIZE = 10_000
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_BACKOFF_S = 1.0

Progress = Callable[[int, int], None]


@dataclass
class SyncReport:
    """What a sync fetched and wrote.

    Attributes:
        source: the source's name ("coinmetrics").
        url: the API base URL used.
        start, end: the days requested (``end`` None: up to the latest the source has).
        pages: pages fetched (each one request, not counting retries).
        rows_read: complete daily rows received and written.
        first, last: first and last day written (None when nothing was new).
        writes: per table (``chain_daily``, ``prices``), the rows new, changed, unchanged.
        retries: requests retried (timeouts, connect errors, HTTP 429 and 5xx).
        notes: what was dropped or skipped, and why.
    """

    source: str
    url: str
    start: str
    end: str | None
    pages: int = 0
    rows_read: int = 0
    first: str | None = None
    last: str | None = None
    writes: list[WriteResult] = field(default_factory=list)
    retries: int = 0
    notes: list[str] = field(default_factory=list)

    def written(self, table: str = "chain_daily") -> WriteResult:
        """Rows new/changed/unchanged in ``table`` over the whole sync."""
        for w in self.writes:
            if w.table == table:
                return w
        return WriteResult(table, 0, 0, 0)

    @property
    def rows_new(self) -> int:
        return self.written().new

    @property
    def rows_changed(self) -> int:
        return self.written().changed

    @property
    def rows_unchanged(self) -> int:
        return self.written().unchanged

    def _add(self, writes: list[WriteResult]) -> None:
        for w in writes:
            old = self.written(w.table)
            merged = WriteResult(
                w.table, old.new + w.new, old.changed + w.changed, old.unchanged + w.unchanged
            )
            self.writes = [x for x in self.writes if x.table != w.table] + [merged]


def sync_coinmetrics(
    store: Store,
    *,
    base_url: str | None = None,
    start: DayLike = None,
    end: DayLike = None,
    client: httpx.Client | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    backoff_s: float = DEFAULT_BACKOFF_S,
    progress: Progress | None = None,
) -> SyncReport:
    """Fetch BTC daily chain metrics and closes from the Coin Metrics community API.

    Parameters:
        store: a writable store.
        base_url: API v4 base URL (default ``$MINERWATCH_COINMETRICS_URL``, else
            ``https://community-api.coinmetrics.io/v4``).
        start: first day to fetch (default: the day after the last stored chain day, or
            2009-01-03, the genesis day, for an empty store, so that heights can be counted).
        end: last day to fetch, inclusive (default: the latest the source has).
        client: an :class:`httpx.Client` to use (default: one made and closed here).
        page_size: days per request, 1 to 10,000.
        max_attempts: attempts per request, >= 1.
        backoff_s: base of the exponential retry backoff, seconds.
        progress: called as ``progress(days_done, days_expected)`` after each page;
            ``days_expected`` counts to ``end`` or today (UTC) and becomes ``days_done``
            when the source has no more.

    Each page is parsed by :func:`minerwatch.sources.coinmetrics.parse_table` (the CSV's
    validation: a bad cell is a :class:`BadResponse` naming the page URL, item and column;
    today's row without chain metrics is dropped) and written in one transaction with the
    sync state. A page that would leave a missing day after the data before it is refused
    (:class:`InputError`). Source failures raise :class:`~minerwatch.errors.SourceError`
    subclasses; pages committed before stay. Prints nothing.
    """
    from minerwatch.sources import coinmetrics_api

    if max_attempts < 1:
        raise InputError(f"max_attempts {max_attempts} is out of range; expected >= 1")
    if not backoff_s >= 0:
        raise InputError(f"backoff_s {backoff_s} is out of range; expected >= 0 seconds")
    if not 1 <= page_size <= coinmetrics_api.MAX_PAGE_SIZE:
        raise InputError(
            f"page_size {page_size} is out of range; expected 1 to {coinmetrics_api.MAX_PAGE_SIZE}"
        )
    base = coinmetrics_api.resolve_base_url(base_url)
    start_day = parse_day(start, "start")
    end_day = parse_day(end, "end")
    span = store.chain_day_range()
    if start_day is None:
        start_day = GENESIS_DAY if span is None else span[1] + 1
        if span is not None and end_day is not None and end_day < start_day:
            report = SyncReport(SOURCE, base, str(start_day), str(end_day))
            report.notes.append(f"already up to date: data held through {span[1]}")
            return report
    elif span is not None and start_day > span[1] + 1:
        raise InputError(
            f"start {start_day} would leave days {span[1] + 1} to {start_day - 1} missing "
            f"after the last day held ({span[1]}); expected a start on or before {span[1] + 1}",
            parameter="start",
        )
    if end_day is not None and end_day < start_day:
        raise InputError(f"end {end_day} is before `start` {start_day}", parameter="end")
    if span is not None and end_day is not None and start_day < span[0] and end_day < span[0] - 1:
        raise InputError(
            f"end {end_day} would leave days {end_day + 1} to {span[0] - 1} missing before "
            f"the first day held ({span[0]}); expected an end on or after {span[0] - 1}",
            parameter="end",
        )
    report = SyncReport(SOURCE, base, str(start_day), None if end_day is None else str(end_day))
    today = utc_today()
    if start_day > today:
        report.notes.append(f"already up to date: data held through {start_day - 1}")
        return report
    horizon = today if end_day is None or end_day > today else end_day
    expected = int((horizon - start_day).astype(np.int64)) + 1
    reasons: Counter[str] = Counter()

    def on_retry(retry: Retry) -> None:
        report.retries += 1
        reasons[retry.reason.split(":")[0]] += 1

    own_client = client is None
    if own_client:
        from minerwatch.sources.http import default_client

        client = default_client()
    done = 0
    try:
        pages = coinmetrics_api.iter_pages(
            client,
            base,
            start_day,
            end_day,
            page_size=page_size,
            max_attempts=max_attempts,
            backoff_s=backoff_s,
            on_retry=on_retry,
        )
        for table in pages:
            report.pages += 1
            if len(table) == 0:
                continue
            if not coinmetrics.complete_rows(table).any():
                report.notes.append(
                    f"{len(table)} row(s) from {table.columns['time'][0][:10]} without chain "
                    "metrics yet (the day is not over) skipped"
                )
                continue
            try:
                records = coinmetrics.parse_table(table)
            except InputError as exc:
                # The source sent a value out of its own documented form: a source fault.
                raise BadResponse(str(exc)) from None
            if report.first is None and span is None and records.day[0] > start_day:
                report.notes.append(
                    f"the source's data begins on {records.day[0]}, after the requested "
                    f"start {start_day}"
                )
            check_days_join(records.day, store.chain_day_range(), table.origin)
            with store.transaction():
                writes = write_daily_chain(store, records, table.origin)
                state = store.sync_state(SOURCE)
                last = records.day[-1]
                store.set_sync_state(SOURCE, last if state is None else max(state, last))
            report._add(writes)
            report.rows_read += len(records)
            report.notes.extend(records.notes)
            report.first = report.first or str(records.day[0])
            report.last = str(last)
            done = int((last - start_day).astype(np.int64)) + 1
            if progress is not None:
                progress(min(done, expected), expected)
    finally:
        if own_client:
            client.close()
    if progress is not None:
        progress(done, done)
    if reasons:
        detail = ", ".join(f"{reason} x{n}" for reason, n in sorted(reasons.items()))
        report.notes.append(f"{report.retries} request(s) retried ({detail})")
    if report.first is None:
        held = store.chain_day_range()
        report.notes.append(
            "nothing new from the source"
            + (f": data held through {held[1]}" if held is not None else "")
        )
    return report


def sync(
    db: Store | str | Path | None = None,
    *,
    url: str | None = None,
    start: DayLike = None,
    end: DayLike = None,
    **options,
) -> SyncReport:
    """Sync the database ``db`` (a path or an open :class:`Store`; default
    :func:`~minerwatch.store.default_db_path`) from the Coin Metrics community API.

    ``url`` is the API base URL; ``options`` are those of :func:`sync_coinmetrics`
    (``client``, ``page_size``, ``max_attempts``, ``backoff_s``, ``progress``).
    """
    if isinstance(db, Store):
        return sync_coinmetrics(db, base_url=url, start=start, end=end, **options)
    with open_store(db) as store:
        return sync_coinmetrics(store, base_url=url, start=start, end=end, **options)
