"""Exchange closes into the store (``minerwatch sync prices``): one :class:`ExchangeFeed`
per exchange through the sync loop :func:`~minerwatch.ingest.sync.run_feed` (retries with
``Retry-After``, a transaction per page, a deadline and a page cap, as for Coin Metrics).

Each feed fetches the exchange's daily candles, then its hourly ones
(:mod:`minerwatch.sources.exchanges`), and stores only complete candles:

- daily closes in ``prices`` with ``source`` the exchange's name (``coinbase``, ``kraken``,
  ``bitstamp``, ``binance``; Binance's are USDT, see below), from the day after the last one
  held for that source (a first sync: from ``start``, else the exchange's first day);
- hourly closes in ``prices_hourly`` (with their quote), from the hour after the last one
  held, or over the last :data:`HOURLY_BACKFILL_DAYS` days on a first sync.

Each page is checked as a price file is: against the other stored sources' closes of the
same day (or hour), :func:`minerwatch.sources.rules.price_band` notes a ratio beyond x1.5
and refuses one beyond x3 (a source fault: the page is not stored). Binance's closes are
BTC/USDT: stored as they are under source ``binance`` (hourly with quote ``USDT``), flagged
in the report, and left out of the USD price index
(:mod:`minerwatch.metrics.price_index`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from minerwatch.days import DayLike, parse_day
from minerwatch.errors import BadResponse, InputError, SourceError
from minerwatch.ingest.sync import (
    DEFAULT_DEADLINE_S,
    DEFAULT_MAX_PAGES,
    Page,
    Progress,
    Resume,
    SyncReport,
    run_feed,
)
from minerwatch.sources import exchanges, rules
from minerwatch.sources.exchanges import DAY_S, HOUR_S, CandlePage, CandleRequest, Exchange
from minerwatch.sources.retry import DEFAULT_BACKOFF_S, DEFAULT_MAX_ATTEMPTS, Deadline, RetryPolicy
from minerwatch.store import Store, WriteResult

if TYPE_CHECKING:
    import httpx

HOURLY_BACKFILL_DAYS = 30
"""Days of hourly closes a first sync fetches (720 hours: all Kraken serves)."""


def _day_s(day: np.datetime64) -> int:
    return int(np.asarray(day, "datetime64[D]").astype("datetime64[s]").astype(np.int64))


def _day_text(t: int) -> str:
    return str(np.datetime64(t, "s").astype("datetime64[D]"))


def _hour_text(t: int) -> str:
    return str(np.datetime64(t, "s").astype("datetime64[m]")).replace("T", " ")


class ExchangeFeed:
    """Daily then hourly closes of one exchange (see the module docstring).

    Parameters:
        client: the HTTP client (the caller closes it).
        venue: the exchange.
        base_url: its API base URL (default the exchange's public one).
        start: the first day of daily closes to fetch (default: the day after the last one
            held for this exchange; else its first day).
        now_s: the time (unix seconds) that tells complete candles from the running one
            (default the clock).
    """

    def __init__(
        self,
        client: httpx.Client,
        venue: Exchange,
        *,
        base_url: str | None = None,
        start: DayLike = None,
        now_s: int | None = None,
    ) -> None:
        self.client, self.venue = client, venue
        self.state_key = venue.name
        self.url = (base_url or venue.base_url).rstrip("/")
        self.start = parse_day(start, "from_day")
        self.now_s = int(time.time()) if now_s is None else int(now_s)
        self.notes: list[str] = []  # from the checks at write time
        self._hourly: CandleRequest | None = None
        self._days = 0  # progress units: days, then hours
        self._daily_from = self._hourly_from = 0

    def resume(self, store: Store) -> Resume[CandleRequest]:
        held = store.price_day_range(self.venue.name)
        if self.start is not None:
            first_day = self.start
        elif held is not None:
            first_day = held[1] + 1
        else:
            first_day = np.datetime64(self.venue.first_day, "D")
        self._daily_from = _day_s(first_day)
        days = max(0, (self.now_s - self._daily_from) // DAY_S)
        daily = CandleRequest(DAY_S, self._daily_from) if days else None
        last_hour = store.last_price_hour(self.venue.name)
        backfill = self.now_s - self.now_s % HOUR_S - HOURLY_BACKFILL_DAYS * DAY_S
        self._hourly_from = backfill if last_hour is None else last_hour + HOUR_S
        hours = max(0, (self.now_s - self._hourly_from) // HOUR_S)
        self._hourly = CandleRequest(HOUR_S, self._hourly_from) if hours else None
        self._days = days
        first = daily or self._hourly
        if first is None:
            return Resume(
                str(first_day), None, None, note=f"already up to date: {self.held(store)}"
            )
        return Resume(str(first_day), None, first, expected=days + hours)

    def fetch(self, request: CandleRequest, deadline: Deadline | None) -> Page[CandleRequest]:
        page = exchanges.get_page(
            self.client,
            self.venue,
            request,
            base_url=self.url,
            now_s=self.now_s,
            deadline=deadline,
        )
        following = page.next
        if following is None and request.interval_s == DAY_S:
            following = self._hourly
        daily = request.interval_s == DAY_S
        if len(page) == 0:
            return Page(page.origin, notes=page.notes, next=following)
        text = _day_text if daily else _hour_text
        last = int(page.start_s[-1])
        if daily:
            done = (last - self._daily_from) // DAY_S + 1
        else:
            done = self._days + (last - self._hourly_from) // HOUR_S + 1
        return Page(
            page.origin,
            (request.interval_s, page),
            count=len(page),
            first=text(int(page.start_s[0])),
            last=text(last),
            done=done,
            notes=page.notes,
            next=following,
        )

    def write(self, store: Store, page: Page[CandleRequest]) -> list[WriteResult]:
        interval_s, candles = page.records
        assert isinstance(candles, CandlePage)
        name, quote = self.venue.name, self.venue.quote
        where = rules.Where(page.origin, np.arange(1, len(candles) + 1), "candle")
        daily = interval_s == DAY_S
        if daily:
            key = candles.start_s.astype("datetime64[s]").astype("datetime64[D]")
            held = store.read_prices()
            other = held["source"] != name
            other_key, other_close = held["day"][other], held["close_usd"][other]
            other_source = held["source"][other]
        else:
            key = candles.start_s.astype("datetime64[s]").astype("datetime64[h]")
            lo = int(candles.start_s[0])
            hourly = store.read_prices_hourly(until_s=int(candles.start_s[-1]) + HOUR_S)
            other = (hourly["source"] != name) & (hourly["hour_s"] >= lo)
            other_key = hourly["hour_s"][other].astype("datetime64[s]").astype("datetime64[h]")
            other_close, other_source = hourly["close"][other], hourly["source"][other]
        try:
            notes, _ = rules.price_band(
                where, key, candles.close, other_key, other_close, other_source, force=False
            )
        except InputError as exc:
            raise BadResponse(
                f"{exc}; a page breaking the price rules is not stored", url=page.origin
            ) from None
        self.notes.extend(notes)
        if daily:
            write = store.write_prices(
                key, candles.close, np.full(len(candles), name, object), page.origin
            )
            store.set_sync_state(name, key[-1])
        else:
            write = store.write_prices_hourly(
                candles.start_s, name, quote, candles.close, page.origin
            )
        return [write]

    def held(self, store: Store) -> str | None:
        days = store.price_day_range(self.venue.name)
        hour = store.last_price_hour(self.venue.name)
        parts = []
        if days is not None:
            parts.append(f"daily closes through {days[1]}")
        if hour is not None:
            parts.append(f"hourly through {_hour_text(hour)} UTC")
        return ", ".join(parts) or None


@dataclass
class PricesSync:
    """What ``sync prices`` did: one :class:`~minerwatch.ingest.sync.SyncReport` per
    exchange that finished, and the exchanges that failed with their error (the pages
    they committed before stay)."""

    reports: list[SyncReport] = field(default_factory=list)
    failures: list[tuple[str, SourceError]] = field(default_factory=list)


def resolve_urls(sources: list[str], urls: list[str] | None) -> dict[str, str]:
    """Base URLs by exchange from ``--url`` values: ``NAME=URL`` for one exchange, a plain
    URL for every exchange synced (a server that serves them all, such as a test's)."""
    out: dict[str, str] = {}
    for value in urls or []:
        name, sep, url = value.partition("=")
        if sep and not name.startswith(("http://", "https://")):
            exchanges.exchange(name)
            out[name] = url
        else:
            out.update({s: value for s in sources})
    for name, url in out.items():
        if not url.startswith(("http://", "https://")):
            raise InputError(
                f"base_url {url!r} of {name} is not an http(s) URL; expected for example "
                f"{exchanges.exchange(name).base_url}",
                parameter="base_url",
            )
    return out


def sync_prices(
    db: Store | str | Path | None,
    *,
    sources: list[str] | None = None,
    base_urls: list[str] | None = None,
    start: DayLike = None,
    client: httpx.Client | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    backoff_s: float = DEFAULT_BACKOFF_S,
    deadline_s: float | None = DEFAULT_DEADLINE_S,
    max_pages: int = DEFAULT_MAX_PAGES,
    progress: Progress | None = None,
    now_s: int | None = None,
) -> PricesSync:
    """Fetch daily and hourly BTC closes from exchanges' public candle endpoints.

    Parameters:
        db: a writable open store, or a database path (opened per page).
        sources: exchanges to sync, in order (default every one of
            :data:`~minerwatch.sources.exchanges.EXCHANGES`).
        base_urls: ``--url`` values (see :func:`resolve_urls`).
        start: first day of daily closes (default: resume per exchange).
        client: an :class:`httpx.Client` (default: one made and closed here).
        max_attempts, backoff_s: the retry policy of each page's request.
        deadline_s, max_pages: limits of each exchange's sync (see
            :func:`~minerwatch.ingest.sync.run_feed`).
        progress: called as ``progress(done, expected)`` in candles of the exchange synced.
        now_s: the time that tells complete candles (default the clock).

    An exchange that fails is recorded in :attr:`PricesSync.failures` and the next one is
    synced; errors in the arguments are raised before any request. Prints nothing.
    """
    names = list(dict.fromkeys(sources or exchanges.EXCHANGES))
    venues = [exchanges.exchange(n) for n in names]
    urls = resolve_urls(names, base_urls)
    policy = RetryPolicy(max_attempts=max_attempts, backoff_s=backoff_s)
    sync_venue = partial(
        run_feed, policy=policy, deadline_s=deadline_s, max_pages=max_pages, progress=progress
    )
    result = PricesSync()
    from minerwatch.sources.http import default_client

    http_client = client or default_client()
    try:
        for venue in venues:
            feed = ExchangeFeed(
                http_client, venue, base_url=urls.get(venue.name), start=start, now_s=now_s
            )
            try:
                report = sync_venue(db, feed)
            except SourceError as exc:
                result.failures.append((venue.name, exc))
                continue
            report.notes.extend(feed.notes)
            if venue.quote != "USD":
                report.notes.insert(
                    0,
                    f"{venue.name} closes are BTC/{venue.quote}, not USD: stored as source "
                    f"{venue.name!r} and left out of the USD price index",
                )
            result.reports.append(report)
    finally:
        if client is None:
            http_client.close()
    return result
