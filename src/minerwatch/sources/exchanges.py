"""Exchanges' public candle endpoints (no key): BTC daily and hourly closes, page by page.

One :class:`Exchange` per venue in :data:`EXCHANGES`; each knows its request, its page
limit, its response shape and how the next page follows. Candles are keyed by their UTC
start (unix seconds, a multiple of the interval); a daily candle starting on day D at
00:00 UTC closes at D+1 00:00 UTC and its close is day D's close, the convention of the
``prices`` table (Coin Metrics' ``PriceUSD`` of day D is its reference rate at the end of
D; the prices CSV's close of D is the first trade of D+1). Only complete candles (start +
interval <= now) are records; the running one is returned apart (the "price now").

- ``coinbase`` (Coinbase Exchange): ``GET /products/BTC-USD/candles?granularity=86400|3600
  &start=&end=`` (ISO 8601), at most 300 candles a request (a wider range is refused), rows
  ``[time, low, high, open, close, volume]`` newest first; no row for an interval without
  trades. Pages are 300-interval windows up to now.
- ``kraken``: ``GET /0/public/OHLC?pair=XBTUSD&interval=1440|60&since=``, ``{"error": [],
  "result": {"XXBTZUSD": [[time, open, high, low, close, vwap, volume, count], ...], "last":
  ...}}``; Kraken serves only its latest 720 candles whatever ``since`` asks (older history
  is in its downloadable CSVs), so one request is the whole page (a note says when the
  start asked for is older).
- ``bitstamp``: ``GET /api/v2/ohlc/btcusd/?step=86400|3600&limit=1000&start=``, ``{"data":
  {"pair": "BTC/USD", "ohlc": [{"timestamp", "open", "high", "low", "close", "volume"},
  ...]}}`` ascending, values as strings; the next page starts after a full page's last.
- ``binance``: ``GET /api/v3/klines?symbol=BTCUSDT&interval=1d|1h&startTime=&limit=1000``
  (milliseconds), rows ``[open time, open, high, low, close, volume, close time, ...]``
  ascending. **Quoted in USDT, not USD**: stored as source ``binance`` with quote ``USDT``,
  flagged in every report, and left out of the USD price index.

Faults (:class:`~minerwatch.errors.BadResponse` naming the URL and the candle): a body out
of shape, a start not on the interval's grid, a repeated start, a close that is not a
number within :data:`~minerwatch.sources.rules.MIN_PRICE_USD` to
:data:`~minerwatch.sources.rules.MAX_PRICE_USD`.

References: Coinbase Exchange REST API "Get product candles"; Kraken REST API "Get OHLC
Data"; Bitstamp API v2 "OHLC data"; Binance Spot API "Kline/Candlestick data"; shapes in
``../shared/docs/api_examples/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from minerwatch.errors import BadResponse, InputError
from minerwatch.sources.rules import MAX_PRICE_USD, MIN_PRICE_USD

if TYPE_CHECKING:  # httpx is imported when a page is fetched: the names are read at start-up
    import httpx

    from minerwatch.sources.retry import Deadline

DAY_S = 86_400
HOUR_S = 3_600
INTERVALS_S = (DAY_S, HOUR_S)


@dataclass(frozen=True)
class CandleRequest:
    """One page to fetch: candles of ``interval_s`` (86,400 or 3,600) from ``start_s``
    (unix seconds, on the interval's grid)."""

    interval_s: int
    start_s: int


@dataclass(frozen=True)
class CandlePage:
    """One fetched page: the complete candles from the request's start, ascending
    (``start_s`` int64 unix seconds, ``close`` float64 in the exchange's quote), the
    running candle if the page holds it (``running``: (start_s, close) or None), the next
    request (None on the last page), notes, and the URL fetched (``origin``)."""

    origin: str
    start_s: np.ndarray
    close: np.ndarray
    running: tuple[int, float] | None
    next: CandleRequest | None
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.start_s)


Rows = tuple[list[Any], list[Any]]  # candle starts and closes as the body gives them


@dataclass(frozen=True)
class Exchange:
    """A venue's candle endpoint (see the module docstring).

    Attributes:
        name: the source name stored with each close.
        quote: ``"USD"`` or ``"USDT"``.
        base_url: the public API's base URL.
        path: the endpoint under it.
        max_rows: candles one request returns at most.
        first_day: the first day of its BTC market (the default start of a first sync).
        latest_only: True when only the latest ``max_rows`` candles can be had (Kraken).
    """

    name: str
    quote: str
    base_url: str
    path: str
    max_rows: int
    first_day: str
    params: Callable[[CandleRequest], dict[str, str]]
    rows: Callable[[Any, str], Rows]
    latest_only: bool = False
    newest_first: bool = False
    ms: bool = False

    def window_s(self, interval_s: int) -> int:
        return self.max_rows * interval_s


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _coinbase_params(r: CandleRequest) -> dict[str, str]:
    end = r.start_s + (COINBASE_MAX - 1) * r.interval_s
    return {"granularity": str(r.interval_s), "start": _iso(r.start_s), "end": _iso(end)}


def _coinbase_rows(body: Any, url: str) -> Rows:
    rows = _list(body, url, "a list of [time, low, high, open, close, volume] rows")
    _each_row(rows, url, 6)
    return [r[0] for r in rows], [r[4] for r in rows]


def _kraken_params(r: CandleRequest) -> dict[str, str]:
    minutes = {DAY_S: "1440", HOUR_S: "60"}[r.interval_s]
    return {"pair": "XBTUSD", "interval": minutes, "since": str(r.start_s - 1)}


def _kraken_rows(body: Any, url: str) -> Rows:
    errors = body.get("error") if isinstance(body, dict) else None
    if errors:
        raise BadResponse(f"Kraken error {errors!r}", url=url)
    if not isinstance(body, dict) or not isinstance(body.get("result"), dict):
        raise BadResponse("no 'result' object; expected {'error': [], 'result': {...}}", url=url)
    series = [v for k, v in body["result"].items() if k != "last"]
    if len(series) != 1:
        raise BadResponse(
            f"result holds {len(series)} series; expected one pair's rows and 'last'", url=url
        )
    rows = _list(series[0], url, "a list of [time, open, high, low, close, ...] rows")
    _each_row(rows, url, 5)
    return [r[0] for r in rows], [r[4] for r in rows]


def _bitstamp_params(r: CandleRequest) -> dict[str, str]:
    return {"step": str(r.interval_s), "limit": str(BITSTAMP_MAX), "start": str(r.start_s)}


def _bitstamp_rows(body: Any, url: str) -> Rows:
    data = body.get("data") if isinstance(body, dict) else None
    rows = data.get("ohlc") if isinstance(data, dict) else None
    rows = _list(rows, url, "{'data': {'ohlc': [...]}}")
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "timestamp" not in row or "close" not in row:
            raise BadResponse(f"ohlc item {i + 1} lacks timestamp or close", url=url)
    return [r["timestamp"] for r in rows], [r["close"] for r in rows]


def _binance_params(r: CandleRequest) -> dict[str, str]:
    interval = {DAY_S: "1d", HOUR_S: "1h"}[r.interval_s]
    return {
        "symbol": "BTCUSDT",
        "interval": interval,
        "startTime": str(r.start_s * 1000),
        "limit": str(BINANCE_MAX),
    }


def _binance_rows(body: Any, url: str) -> Rows:
    rows = _list(body, url, "a list of [open time, open, high, low, close, ...] klines")
    _each_row(rows, url, 5)
    return [r[0] for r in rows], [r[4] for r in rows]


def _list(value: Any, url: str, expected: str) -> list:
    if not isinstance(value, list):
        raise BadResponse(f"body is {str(value)[:60]!r}; expected {expected}", url=url)
    return value


def _each_row(rows: list, url: str, width: int) -> None:
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) < width:
            raise BadResponse(
                f"row {i + 1} is {str(row)[:60]!r}; expected a list of at least {width} values",
                url=url,
            )


COINBASE_MAX, KRAKEN_MAX, BITSTAMP_MAX, BINANCE_MAX = 300, 720, 1000, 1000

EXCHANGES: dict[str, Exchange] = {
    e.name: e
    for e in (
        Exchange(
            "coinbase",
            "USD",
            "https://api.exchange.coinbase.com",
            "/products/BTC-USD/candles",
            COINBASE_MAX,
            "2015-07-20",
            _coinbase_params,
            _coinbase_rows,
            newest_first=True,
        ),
        Exchange(
            "kraken",
            "USD",
            "https://api.kraken.com",
            "/0/public/OHLC",
            KRAKEN_MAX,
            "2013-10-06",
            _kraken_params,
            _kraken_rows,
            latest_only=True,
        ),
        Exchange(
            "bitstamp",
            "USD",
            "https://www.bitstamp.net",
            "/api/v2/ohlc/btcusd/",
            BITSTAMP_MAX,
            "2011-08-18",
            _bitstamp_params,
            _bitstamp_rows,
        ),
        Exchange(
            "binance",
            "USDT",
            "https://api.binance.com",
            "/api/v3/klines",
            BINANCE_MAX,
            "2017-08-17",
            _binance_params,
            _binance_rows,
            ms=True,
        ),
    )
}
USD_SOURCES = tuple(name for name, e in EXCHANGES.items() if e.quote == "USD")
"""The exchanges quoting US dollars (the price index's sources)."""
USDT_SOURCES = tuple(name for name, e in EXCHANGES.items() if e.quote == "USDT")


def exchange(name: str) -> Exchange:
    """The exchange called ``name``; :class:`InputError` listing them otherwise."""
    try:
        return EXCHANGES[name]
    except KeyError:
        raise InputError(
            f"source {name!r} is not a known exchange; expected one of {', '.join(EXCHANGES)}",
            parameter="source",
        ) from None


def get_page(
    client: httpx.Client,
    venue: Exchange,
    request: CandleRequest,
    *,
    base_url: str | None = None,
    now_s: int,
    deadline: Deadline | None = None,
) -> CandlePage:
    """Fetch one page of ``venue``'s candles, once (the caller's loop retries), at
    ``base_url`` (default the venue's); ``now_s`` (unix seconds) tells complete candles
    from the running one. Raises :class:`BadResponse` for a page out of shape, plus the
    errors of :func:`minerwatch.sources.http.get_json_once`."""
    from minerwatch.sources import http

    if request.interval_s not in INTERVALS_S:
        raise InputError(f"interval {request.interval_s} s; expected 86400 or 3600")
    url = (base_url or venue.base_url).rstrip("/") + venue.path
    fetched = http.get_json_once(client, url, params=venue.params(request), deadline=deadline)
    times, closes = venue.rows(fetched.data, fetched.url)
    start_s, close = _candles(times, closes, request.interval_s, venue, fetched.url)
    keep = start_s >= request.start_s
    if venue.newest_first:  # a window: rows beyond it are not the page's
        keep &= start_s < request.start_s + venue.window_s(request.interval_s)
    start_s, close = start_s[keep], close[keep]
    complete = start_s + request.interval_s <= now_s
    running = None
    if (~complete).any():
        i = int(np.flatnonzero(~complete)[-1])
        running = (int(start_s[i]), float(close[i]))
    notes = []
    first_served = int(start_s[0]) if len(start_s) else None
    # (the running candle counts among the latest: one interval short is not a gap)
    if (
        venue.latest_only
        and first_served is not None
        and first_served > request.start_s + request.interval_s
    ):
        notes.append(
            f"{venue.name} serves only its latest {venue.max_rows} candles of "
            f"{request.interval_s // 3600} h: none before {_iso(first_served)[:10]}"
        )
    return CandlePage(
        fetched.url,
        start_s[complete],
        close[complete],
        running,
        _next(venue, request, start_s, now_s),
        tuple(notes),
    )


def _next(
    venue: Exchange, request: CandleRequest, start_s: np.ndarray, now_s: int
) -> CandleRequest | None:
    """The request after ``request`` (see the module docstring), None on the last page."""
    if venue.latest_only:
        return None
    if venue.newest_first:  # a window of max_rows intervals, whatever it held
        following = request.start_s + venue.window_s(request.interval_s)
    elif len(start_s) < venue.max_rows:
        return None  # a short page: nothing after it yet
    else:
        following = int(start_s[-1]) + request.interval_s
    return CandleRequest(request.interval_s, following) if following <= now_s else None


def _candles(
    times: list, closes: list, interval_s: int, venue: Exchange, url: str
) -> tuple[np.ndarray, np.ndarray]:
    """Candle starts (unix seconds) and closes as arrays, ascending, checked."""
    try:
        start = np.array([int(t) for t in times], np.int64)
    except (TypeError, ValueError):
        raise BadResponse(
            f"a candle time is not a whole number: {times[:3]!r}...", url=url
        ) from None
    if venue.ms:
        start //= 1000
    try:
        close = np.array([float(c) for c in closes], np.float64)
    except (TypeError, ValueError):
        bad = next(c for c in closes if not _is_number(c))
        raise BadResponse(f"a close is {bad!r}; expected a number", url=url) from None
    order = np.argsort(start, kind="stable")
    start, close = start[order], close[order]
    off_grid = start % interval_s != 0
    if off_grid.any():
        t = int(start[np.flatnonzero(off_grid)[0]])
        raise BadResponse(
            f"candle at {t} ({_iso(t)}) does not start on the {interval_s} s grid; expected "
            "UTC-aligned candles",
            url=url,
        )
    repeated = np.flatnonzero(np.diff(start) == 0)
    if len(repeated):
        t = int(start[repeated[0]])
        raise BadResponse(f"two candles start at {_iso(t)}; expected one", url=url)
    bad = ~((close >= MIN_PRICE_USD) & (close <= MAX_PRICE_USD))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise BadResponse(
            f"candle {_iso(int(start[i]))} closes at {float(close[i])!r}; expected a price between "
            f"{MIN_PRICE_USD:g} and {MAX_PRICE_USD:g} {venue.quote}",
            url=url,
        )
    return start, close


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
