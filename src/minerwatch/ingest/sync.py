"""Incremental sync of the store from network sources (``minerwatch sync``): one loop,
:func:`run_feed`, over any :class:`Feed`.

A feed says where it stands in the store (:meth:`Feed.resume`), fetches one page per
request (:meth:`Feed.fetch`, one attempt) and writes one page (:meth:`Feed.write`). The loop
owns everything else, the same for every source:

- retries: each page's request is retried under one
  :class:`~minerwatch.sources.retry.RetryPolicy` (backoff with jitter, ``Retry-After``
  honoured); retries are counted in the report;
- a transaction per page: the page's records and the feed's sync state are committed
  together, so a sync killed at any point keeps every page committed before, and the next
  run resumes after the last one, with nothing lost or duplicated;
- a total deadline (:data:`DEFAULT_DEADLINE_S`) that also bounds each request's timeouts and
  a trickling body (:class:`~minerwatch.errors.SyncDeadlineExceeded`);
- a page cap (:data:`DEFAULT_MAX_PAGES`) against a source that pages forever
  (:class:`~minerwatch.errors.SyncPageCapReached`);
- progress callbacks and the :class:`SyncReport`.

The Coin Metrics community API is the first feed
(:class:`minerwatch.ingest.coinmetrics_feed.CoinMetricsFeed`, run by
:func:`sync_coinmetrics`). The network stack (httpx) is imported only when a sync runs, so
that importing minerwatch (and starting the CLI) stays fast.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from minerwatch.days import DayLike
from minerwatch.errors import InputError, SyncDeadlineExceeded, SyncPageCapReached
from minerwatch.sources import retry
from minerwatch.sources.retry import DEFAULT_BACKOFF_S, DEFAULT_MAX_ATTEMPTS, Deadline, RetryPolicy
from minerwatch.store import Store, WriteResult, open_store

if TYPE_CHECKING:
    import httpx

# Coin Metrics' largest page (a mirror of sources.coinmetrics_api.MAX_PAGE_SIZE, kept here
# so that this module does not import httpx).
DEFAULT_PAGE_SIZE = 10_000
DEFAULT_DEADLINE_S = 3600.0
"""Total seconds a sync may run (one hour): ample for Coin Metrics' whole history, which is
one page at the default page size, even through every retry."""
DEFAULT_MAX_PAGES = 10_000
"""Pages one sync may fetch: Coin Metrics' whole history, one day a page, is fewer."""

Progress = Callable[[int, int], None]
Request = TypeVar("Request")


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


@dataclass(frozen=True)
class Resume(Generic[Request]):
    """Where a feed's sync starts, from what the store holds.

    Attributes:
        start, end: the positions requested, as text for the report (days for Coin Metrics;
            ``end`` None: up to the latest the source has).
        first: the request of the first page; None when there is nothing to fetch.
        expected: progress units (days, blocks) from ``start`` to the end, when known.
        note: why nothing is fetched, when ``first`` is None.
    """

    start: str
    end: str | None
    first: Request | None
    expected: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class Page(Generic[Request]):
    """One fetched page.

    Attributes:
        origin: where the page came from (its URL), for errors and the import log.
        records: what :meth:`Feed.write` stores; None when the page has nothing to write
            (empty, or only rows the source has not finished).
        count: records to write (the report's ``rows_read``).
        first, last: the first and last position written, as text (days, heights).
        done: progress units done once this page is written, counted from the start; None
            when the page moves nothing.
        notes: what was dropped or skipped, and why.
        next: the request of the next page; None on the last.
    """

    origin: str
    records: Any = None
    count: int = 0
    first: str | None = None
    last: str | None = None
    done: int | None = None
    notes: tuple[str, ...] = ()
    next: Request | None = None


class Feed(Protocol[Request]):
    """One source of pages for :func:`run_feed`.

    Attributes:
        state_key: the feed's row in the store's sync state, and the report's source name.
        url: where the feed fetches from (the report's URL).
    """

    state_key: str
    url: str

    def resume(self, store: Store) -> Resume[Request]:
        """Where to start, from the store's sync state or data; checks the requested range."""
        ...

    def fetch(self, request: Request, deadline: Deadline | None) -> Page[Request]:
        """One attempt at one page: parse and validate it (a bad page is a
        :class:`~minerwatch.errors.BadResponse`), raise
        :class:`~minerwatch.errors.TransientSourceError` for what is worth retrying, and
        keep every wait within ``deadline``."""
        ...

    def write(self, store: Store, page: Page[Request]) -> list[WriteResult]:
        """Store the page's records and the feed's sync state; the loop holds the
        transaction. A page that does not join the data held is a source fault."""
        ...

    def held(self, store: Store) -> str | None:
        """What the store holds from this feed, for the report ("data held through ...")."""
        ...


class Holder:
    """The database of a sync, held across pages that follow each other quickly.

    ``with holder() as store`` opens the database at ``db`` when it is not open, and after
    the block closes it once ``hold_s`` seconds have passed since it was opened: pages that
    take milliseconds (headers on loopback) share one open, and a reader in another process
    waits at most about ``hold_s`` plus one page. ``hold_s`` 0 opens it for each block
    only. An open :class:`~minerwatch.store.Store` given as ``db`` is the caller's: used
    as it is, never closed here.
    """

    def __init__(self, db: Store | str | Path | None, hold_s: float = 0.0) -> None:
        self.db = db
        self.hold_s = hold_s
        self._store: Store | None = None
        self._opened = 0.0

    @contextmanager
    def __call__(self) -> Iterator[Store]:
        if isinstance(self.db, Store):
            yield self.db
            return
        if self._store is None:
            self._store = open_store(self.db)
            self._opened = time.monotonic()
        try:
            yield self._store
        except BaseException:
            self.close()
            raise
        if time.monotonic() - self._opened >= self.hold_s:
            self.close()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


@contextmanager
def holding(db: Store | Holder | str | Path | None) -> Iterator[Store]:
    """The store ``db``: itself when open (held by the caller), the :class:`Holder`'s, else
    the database at that path (default :func:`~minerwatch.store.default_db_path`) opened for
    this block only, so that readers in other processes wait for one page's commit, not for
    the whole sync."""
    if isinstance(db, Holder):
        with db() as store:
            yield store
    elif isinstance(db, Store):
        yield db
    else:
        with open_store(db) as store:
            yield store


def run_feed(
    db: Store | Holder | str | Path | None,
    feed: Feed[Request],
    *,
    policy: RetryPolicy | None = None,
    deadline_s: float | None = DEFAULT_DEADLINE_S,
    max_pages: int = DEFAULT_MAX_PAGES,
    progress: Progress | None = None,
) -> SyncReport:
    """Sync the database ``db`` from ``feed``, page by page (see the module docstring).

    Parameters:
        db: a writable open store, or a database path: then the database is opened only to
            read where to resume and to commit each page (:func:`holding`), never while a
            page is fetched; or a :class:`Holder`, which may keep it open across quick
            pages.
        feed: the source.
        policy: how each page's request is retried (default :class:`RetryPolicy`()).
        deadline_s: seconds the whole sync may take (None: no limit); past it,
            :class:`SyncDeadlineExceeded`.
        max_pages: pages one sync may fetch, >= 1; when the source offers more,
            :class:`SyncPageCapReached`.
        progress: called as ``progress(done, expected)`` after each page, in the feed's
            units; ``expected`` becomes ``done`` when the source has no more.

    Both limits keep the pages committed before them and say so in their message; any
    other source error propagates as it is. Prints nothing.
    """
    policy = policy or RetryPolicy()
    if not (isinstance(max_pages, int) and max_pages >= 1):
        raise InputError(
            f"max_pages {max_pages} is out of range; expected >= 1", parameter="max_pages"
        )
    deadline = Deadline(math.inf if deadline_s is None else deadline_s)
    with holding(db) as store:
        resume = feed.resume(store)
    report = SyncReport(feed.state_key, feed.url, resume.start, resume.end)
    if resume.first is None:
        report.notes.append(resume.note or "nothing to fetch")
        return report
    reasons: Counter[str] = Counter()

    def on_retry(event: retry.Retry) -> None:
        report.retries += 1
        reasons[event.reason.split(":")[0]] += 1

    request: Any = resume.first
    done = 0
    try:
        while request is not None:
            if report.pages >= max_pages:
                raise SyncPageCapReached(
                    f"stopped at the page cap, max_pages={max_pages}, with more pages offered",
                    url=feed.url,
                )
            if deadline.expired():
                raise deadline.exceeded(f"before page {report.pages + 1}", feed.url)
            page = retry.call(
                partial(feed.fetch, request), policy=policy, deadline=deadline, on_retry=on_retry
            )
            report.pages += 1
            if page.records is not None:
                with holding(db) as store, store.transaction():
                    writes = feed.write(store, page)
                report._add(writes)
                report.rows_read += page.count
                report.first = report.first or page.first
                report.last = page.last
            report.notes.extend(page.notes)
            done = done if page.done is None else page.done
            if progress is not None:
                expected = done if resume.expected is None else resume.expected
                progress(min(done, expected), expected)
            request = page.next
    except (SyncDeadlineExceeded, SyncPageCapReached) as exc:
        raise type(exc)(f"{exc.reason}; {_kept(report)}", url=exc.url) from None
    if progress is not None:
        progress(done, done)
    if reasons:
        detail = ", ".join(f"{reason} x{n}" for reason, n in sorted(reasons.items()))
        report.notes.append(f"{report.retries} request(s) retried ({detail})")
    if report.first is None:
        with holding(db) as store:
            held = feed.held(store)
        report.notes.append("nothing new from the source" + (f": {held}" if held else ""))
    return report


def _kept(report: SyncReport) -> str:
    """What a sync stopped by a limit leaves in the store."""
    if report.first is None:
        return f"nothing was written ({report.pages} page(s) fetched)"
    return (
        f"{report.rows_read:,} record(s) from {report.pages} page(s), {report.first} to "
        f"{report.last}, are committed and kept; the next sync resumes after {report.last}"
    )


def sync_coinmetrics(
    db: Store | str | Path | None,
    *,
    base_url: str | None = None,
    start: DayLike = None,
    end: DayLike = None,
    client: httpx.Client | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    backoff_s: float = DEFAULT_BACKOFF_S,
    deadline_s: float | None = DEFAULT_DEADLINE_S,
    max_pages: int = DEFAULT_MAX_PAGES,
    progress: Progress | None = None,
) -> SyncReport:
    """Fetch BTC daily chain metrics and closes from the Coin Metrics community API:
    :func:`run_feed` over a :class:`~minerwatch.ingest.coinmetrics_feed.CoinMetricsFeed`.

    Parameters:
        db: a writable open store, or a database path (opened per page, see
            :func:`run_feed`).
        base_url: API v4 base URL (default ``$MINERWATCH_COINMETRICS_URL``, else
            ``https://community-api.coinmetrics.io/v4``).
        start: first day to fetch (default: the day after the last stored chain day, or
            2009-01-03, the genesis day, for an empty store, so that heights can be counted).
        end: last day to fetch, inclusive (default: the latest the source has).
        client: an :class:`httpx.Client` to use (default: one made and closed here).
        page_size: days per request, 1 to 10,000.
        max_attempts: attempts per request, >= 1.
        backoff_s: base of the exponential retry backoff, seconds.
        deadline_s: seconds the whole sync may take (default one hour; None: no limit).
        max_pages: pages the sync may fetch (default 10,000).
        progress: called as ``progress(days_done, days_expected)`` after each page;
            ``days_expected`` counts to ``end`` or today (UTC) and becomes ``days_done``
            when the source has no more.

    Each page is parsed by :func:`minerwatch.sources.coinmetrics.parse_table` (the CSV's
    validation: a bad cell is a :class:`BadResponse` naming the page URL, item and column;
    today's row without chain metrics is dropped) and written in one transaction with the
    sync state. A page that would leave a missing day after the data before it is a source
    fault (:class:`BadResponse`). Source failures raise
    :class:`~minerwatch.errors.SourceError` subclasses; pages committed before stay. Prints
    nothing.
    """
    from minerwatch.ingest.coinmetrics_feed import CoinMetricsFeed

    policy = RetryPolicy(max_attempts=max_attempts, backoff_s=backoff_s)
    if client is None:
        from minerwatch.sources.http import default_client

        opened: AbstractContextManager[httpx.Client] = default_client()
    else:
        opened = nullcontext(client)  # the caller's: not closed here
    with opened as http_client:
        feed = CoinMetricsFeed(http_client, base_url, start=start, end=end, page_size=page_size)
        return run_feed(
            db,
            feed,
            policy=policy,
            deadline_s=deadline_s,
            max_pages=max_pages,
            progress=progress,
        )


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
    return sync_coinmetrics(db, base_url=url, start=start, end=end, **options)
