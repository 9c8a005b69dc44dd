"""The Coin Metrics community API as a :class:`~minerwatch.ingest.sync.Feed`.

Resume point: the day after the last stored chain day (2009-01-03, the genesis day, for an
empty store, so that heights can be counted), or the requested ``start`` when it joins the
data held. Pages: :func:`minerwatch.sources.coinmetrics_api.get_page`, each parsed by
:func:`minerwatch.sources.coinmetrics.parse_table` (the community CSV's validation). Writer:
the day's chain row and ``PriceUSD`` close, and the sync state (the last day written),
in the loop's transaction. Progress counts days.
"""

from __future__ import annotations

import httpx
import numpy as np

from minerwatch.chain.consensus import GENESIS_DAY
from minerwatch.days import DayLike, parse_day, utc_today
from minerwatch.errors import BadResponse, InputError
from minerwatch.frames import check_days_join
from minerwatch.ingest import checks
from minerwatch.ingest.files import write_daily_chain
from minerwatch.ingest.sync import Page, Resume
from minerwatch.sources import coinmetrics, coinmetrics_api
from minerwatch.sources.coinmetrics_api import PageRequest
from minerwatch.sources.retry import Deadline
from minerwatch.store import Store, WriteResult


class CoinMetricsFeed:
    """BTC daily chain metrics and closes from ``base_url`` (see the module docstring).

    Parameters:
        client: the HTTP client (the caller closes it).
        base_url: API v4 base URL (see
            :func:`~minerwatch.sources.coinmetrics_api.resolve_base_url`).
        start, end: days requested (see :func:`minerwatch.ingest.sync.sync_coinmetrics`).
        page_size: days per request, 1 to 10,000.
    """

    state_key = coinmetrics.SOURCE

    def __init__(
        self,
        client: httpx.Client,
        base_url: str | None = None,
        *,
        start: DayLike = None,
        end: DayLike = None,
        page_size: int = coinmetrics_api.MAX_PAGE_SIZE,
    ) -> None:
        if not 1 <= page_size <= coinmetrics_api.MAX_PAGE_SIZE:
            raise InputError(
                f"page_size {page_size} is out of range; expected 1 to "
                f"{coinmetrics_api.MAX_PAGE_SIZE}",
                parameter="page_size",
            )
        self.client = client
        self.url = coinmetrics_api.resolve_base_url(base_url)
        self.page_size = page_size
        self.start = parse_day(start, "start")
        self.end = parse_day(end, "end")
        self._span: tuple[np.datetime64, np.datetime64] | None = None
        self._first_day: np.datetime64 | None = None  # where the sync starts
        self._seen: set[str] = set()
        self._began = False

    def resume(self, store: Store) -> Resume[PageRequest]:
        start_day, end_day = self.start, self.end
        span = self._span = store.chain_day_range()
        if start_day is None:
            start_day = GENESIS_DAY if span is None else span[1] + 1
            if span is not None and end_day is not None and end_day < start_day:
                note = f"already up to date: data held through {span[1]}"
                return Resume(str(start_day), str(end_day), None, note=note)
        elif span is not None and start_day > span[1] + 1:
            raise InputError(
                f"start {start_day} would leave days {span[1] + 1} to {start_day - 1} "
                f"missing after the last day held ({span[1]}); expected a start on or before "
                f"{span[1] + 1}",
                parameter="start",
            )
        if end_day is not None and end_day < start_day:
            raise InputError(f"end {end_day} is before `start` {start_day}", parameter="end")
        if (
            span is not None
            and end_day is not None
            and start_day < span[0]
            and end_day < span[0] - 1
        ):
            raise InputError(
                f"end {end_day} would leave days {end_day + 1} to {span[0] - 1} missing "
                f"before the first day held ({span[0]}); expected an end on or after "
                f"{span[0] - 1}",
                parameter="end",
            )
        end_text = None if end_day is None else str(end_day)
        today = utc_today()
        if start_day > today:
            note = f"already up to date: data held through {start_day - 1}"
            return Resume(str(start_day), end_text, None, note=note)
        horizon = today if end_day is None or end_day > today else end_day
        self._first_day = start_day
        first = coinmetrics_api.first_page(self.url, start_day, end_day, self.page_size)
        return Resume(str(start_day), end_text, first, expected=_days(start_day, horizon))

    def fetch(self, request: PageRequest, deadline: Deadline | None) -> Page[PageRequest]:
        table, following = coinmetrics_api.get_page(
            self.client, request, deadline=deadline, seen=self._seen
        )
        if len(table) == 0:
            return Page(table.origin, next=following)
        if not coinmetrics.complete_rows(table).any():
            note = (
                f"{len(table)} row(s) from {table.columns['time'][0][:10]} without chain "
                "metrics yet (the day is not over) skipped"
            )
            return Page(table.origin, notes=(note,), next=following)
        try:
            records = coinmetrics.parse_table(table)
        except InputError as exc:
            # The source sent a value out of its own documented form: a source fault.
            raise BadResponse(str(exc)) from None
        notes = list(records.notes)
        first_day = self._first_day
        assert first_day is not None, "resume() comes first"
        if not self._began and self._span is None and records.day[0] > first_day:
            notes.insert(
                0,
                f"the source's data begins on {records.day[0]}, after the requested start "
                f"{first_day}",
            )
        self._began = True
        return Page(
            table.origin,
            records,
            count=len(records),
            first=str(records.day[0]),
            last=str(records.day[-1]),
            done=_days(first_day, records.day[-1]),
            notes=tuple(notes),
            next=following,
        )

    def write(self, store: Store, page: Page[PageRequest]) -> list[WriteResult]:
        records = page.records
        try:
            check_days_join(records.day, store.chain_day_range(), page.origin)
        except InputError as exc:
            # The source skipped days it has: a source fault, not the user's input.
            raise BadResponse(exc.reason, url=page.origin) from None
        try:
            checks.check_daily_chain(store, records)  # the chain's rules, as for a file
        except InputError as exc:
            raise BadResponse(f"{exc}; a page breaking the chain's rules is not stored") from None
        writes = write_daily_chain(store, records, page.origin)
        state = store.sync_state(self.state_key)
        last = records.day[-1]
        store.set_sync_state(self.state_key, last if state is None else max(state, last))
        return writes

    def held(self, store: Store) -> str | None:
        span = store.chain_day_range()
        return None if span is None else f"data held through {span[1]}"


def _days(first: np.datetime64, last: np.datetime64) -> int:
    """Days from ``first`` to ``last``, both counted."""
    return int((last - first).astype(np.int64)) + 1
