"""The Coin Metrics community API v4: BTC daily ``asset-metrics``, page by page.

Request (no API key on the community endpoint)::

    GET {base}/timeseries/asset-metrics?assets=btc&metrics=BlkCnt,...&frequency=1d
        &page_size=10000&paging_from=start&start_time=YYYY-MM-DD[&end_time=YYYY-MM-DD]

Response (documented shape)::

    {"data": [{"asset": "btc", "time": "2025-10-06T00:00:00.000000000Z",
               "BlkCnt": "123", "PriceUSD": "124824.45", ...}, ...],
     "next_page_token": "...", "next_page_url": "https://.../asset-metrics?...&next_page_token=..."}

Values are strings; a metric without a value that day is absent from its item; the last page
has no ``next_page_url``, which is fetched as given (Coin Metrics' paging convention). Errors
are HTTP 4xx/5xx with ``{"error": {"type": ..., "message": ...}}``. Community rate limit:
10 requests per 6 seconds per IP.

Each page becomes a :class:`~minerwatch.sources.table.Table` of text cells with the same
columns as the community CSV, so :func:`minerwatch.sources.coinmetrics.parse_table` validates
it exactly as it validates a file.

Reference: Coin Metrics API v4 documentation, ``/timeseries/asset-metrics`` and "Pagination".
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

from minerwatch.days import as_day
from minerwatch.errors import BadResponse, InputError
from minerwatch.sources import http
from minerwatch.sources.coinmetrics import METRICS
from minerwatch.sources.retry import Deadline
from minerwatch.sources.table import Table

DEFAULT_BASE_URL = "https://community-api.coinmetrics.io/v4"
URL_ENV = "MINERWATCH_COINMETRICS_URL"
ENDPOINT = "/timeseries/asset-metrics"
ASSET = "btc"
FREQUENCY = "1d"
MAX_PAGE_SIZE = 10_000
COLUMNS = ["time", *METRICS]


def resolve_base_url(url: str | None = None) -> str:
    """The API base URL: ``url``, else ``$MINERWATCH_COINMETRICS_URL``, else
    :data:`DEFAULT_BASE_URL`; without a trailing slash. :class:`InputError` unless it is an
    absolute http(s) URL."""
    chosen = url or os.environ.get(URL_ENV) or DEFAULT_BASE_URL
    try:
        parsed = httpx.URL(chosen)
    except (httpx.InvalidURL, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        origin = "base_url" if url else (URL_ENV if os.environ.get(URL_ENV) else "default URL")
        raise InputError(
            f"{origin} {chosen!r} is not an http(s) URL; expected for example {DEFAULT_BASE_URL}",
            parameter="base_url" if url else None,
        )
    return chosen.rstrip("/")


def request_params(start: str, end: str | None = None, page_size: int = MAX_PAGE_SIZE) -> dict:
    """Query parameters of the first page (days as ``YYYY-MM-DD``, both inclusive)."""
    params = {
        "assets": ASSET,
        "metrics": ",".join(METRICS),
        "frequency": FREQUENCY,
        "page_size": str(page_size),
        "paging_from": "start",
        "start_time": start,
    }
    if end is not None:
        params["end_time"] = end
    return params


@dataclass(frozen=True)
class PageRequest:
    """One page to fetch: the first page is the endpoint with :func:`request_params`, each
    later one the previous page's ``next_page_url`` as given (``params`` None)."""

    url: str
    params: dict[str, str] | None = None


def first_page(
    base_url: str,
    start: str | np.datetime64,
    end: str | np.datetime64 | None = None,
    page_size: int = MAX_PAGE_SIZE,
) -> PageRequest:
    """The request of the first page of BTC daily metrics from ``start`` to ``end``
    (inclusive; open-ended when None)."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InputError(
            f"page_size {page_size} is out of range; expected 1 to {MAX_PAGE_SIZE}",
            parameter="page_size",
        )
    params = request_params(
        str(as_day(start)),
        None if end is None else str(as_day(end)),
        page_size,
    )
    return PageRequest(base_url.rstrip("/") + ENDPOINT, params)


def get_page(
    client: httpx.Client,
    request: PageRequest,
    *,
    deadline: Deadline | None = None,
    seen: set[str] | None = None,
) -> tuple[Table, PageRequest | None]:
    """Fetch one page, once (no retry: the caller's loop retries), as a :class:`Table` of
    text cells, with the request of the next page (None on the last).

    Columns ``time`` and every metric of :data:`~minerwatch.sources.coinmetrics.METRICS`
    (an absent metric is an empty cell); ``lines`` are item numbers within the page
    (1-based); ``origin`` is the page URL. A page may be empty (nothing in the range).
    ``seen``: URLs of the pages fetched so far (this one is added); a next page among them
    is a :class:`BadResponse`, as paging must move forward.

    Raises :class:`BadResponse` naming the page URL when a page is not in the documented
    shape, plus the errors of :func:`minerwatch.sources.http.get_json_once`.
    """
    fetched = http.get_json_once(
        client, request.url, params=request.params, expect=dict, deadline=deadline
    )
    table = page_table(fetched.data, fetched.url)
    url = next_page_url(fetched.data, fetched.url)
    if seen is not None:
        seen.add(fetched.url)
        if url is not None and url in seen:
            raise BadResponse(
                f"next_page_url {url!r} repeats a page already fetched; expected paging to "
                "move forward",
                url=fetched.url,
            )
    return table, None if url is None else PageRequest(url)


def next_page_url(body: dict, page_url: str) -> str | None:
    """The page's ``next_page_url`` (None on the last page); :class:`BadResponse` unless it
    is an absolute http(s) URL."""
    nxt = body.get("next_page_url")
    if nxt is None:
        return None
    if not isinstance(nxt, str) or not nxt.startswith(("http://", "https://")):
        raise BadResponse(
            f"next_page_url is {nxt!r}; expected an absolute http(s) URL or no such key",
            url=page_url,
        )
    return nxt


def _cell(value: Any, index: int, key: str, url: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise BadResponse(
        f"data item {index} has {key} = {value!r}; expected a number written as a string",
        url=url,
    )


def page_table(body: Any, url: str) -> Table:
    """Check one decoded page against the documented shape and return its :class:`Table`.

    Expected: an object whose ``data`` is a list of objects, each with ``asset`` "btc" and
    a ``time`` string; metric values strings (numbers are accepted and written out).
    """
    if not isinstance(body, dict) or "data" not in body:
        keys = ", ".join(map(str, list(body)[:5])) if isinstance(body, dict) else type(body)
        raise BadResponse(
            f"no 'data' key (keys: {keys}); expected an object with a 'data' list of items",
            url=url,
        )
    data = body["data"]
    if not isinstance(data, list):
        raise BadResponse(
            f"'data' is {type(data).__name__} {str(data)[:40]!r}; expected a list of items",
            url=url,
        )
    cells: dict[str, list[str]] = {name: [] for name in COLUMNS}
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise BadResponse(
                f"data item {number} is {type(item).__name__}; expected an object with "
                "'asset' and 'time'",
                url=url,
            )
        asset, time = item.get("asset"), item.get("time")
        if asset != ASSET:
            raise BadResponse(
                f"data item {number} has asset {asset!r}; expected {ASSET!r}", url=url
            )
        if not isinstance(time, str) or not time:
            raise BadResponse(
                f"data item {number} has time {time!r}; expected a timestamp string", url=url
            )
        cells["time"].append(time.strip())
        for metric in METRICS:
            cells[metric].append(_cell(item.get(metric), number, metric, url))
    columns = {name: np.array(values, dtype=object) for name, values in cells.items()}
    return Table(url, columns, np.arange(1, len(data) + 1, dtype=np.int64), line_label="item")
