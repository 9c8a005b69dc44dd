"""Stand-in exchange candle endpoints (Coinbase Exchange, Kraken, Bitstamp, Binance) on one
127.0.0.1 server, with each venue's real path, parameters, page limit and response shape
(../shared/docs/api_examples/{coinbase,kraken,bitstamp}*.json; Binance's klines as its Spot
API documents them).

Candles come from the real daily closes of ``prices_btcusd_daily.csv``: venue ``v``'s
daily candle of day D closes at ``round(close(D) * FACTORS[v], 2)`` and opens at the
previous day's close; its 24 hourly candles move in equal steps from the previous day's
close to that close, so the hour starting at 23:00 closes at the day's close. A candle is
served once it has started (``now_s``); the running one closes part way.

Usage::

    with ExchangesStandin(prices_csv, now_s=...) as server:
        sync_prices(db, base_urls=[server.url], sources=["coinbase", "bitstamp"], now_s=...)

Controls: ``factors`` (each venue's ratio to the CSV), ``storm(count, retry_after_s)``
(the next requests answer 429), ``down`` (venue names answering 503), ``trickle_at`` (the
request number, 1-based, whose body trickles for ``trickle_s`` seconds), ``now_s``, and
``requests`` ((venue, query) of every request).
"""

from __future__ import annotations

import csv
import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np

DAY_S, HOUR_S = 86_400, 3_600
#: Each venue's closes relative to the CSV's (so that venues differ, as real ones do).
FACTORS = {"coinbase": 1.001, "kraken": 0.998, "bitstamp": 1.0, "binance": 1.0005}
PATHS = {
    "/products/BTC-USD/candles": "coinbase",
    "/0/public/OHLC": "kraken",
    "/api/v2/ohlc/btcusd/": "bitstamp",
    "/api/v3/klines": "binance",
}
LIMITS = {"coinbase": 300, "kraken": 720, "bitstamp": 1000, "binance": 1000}


def read_closes(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The CSV's days (unix seconds of 00:00 UTC) and closes, read with the csv module."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    day_s = np.array(
        [int(datetime.fromisoformat(r["date"]).replace(tzinfo=UTC).timestamp()) for r in rows]
    )
    return day_s.astype(np.int64), np.array([float(r["close_usd"]) for r in rows])


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        standin = self.server.standin
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        venue = PATHS.get(parts.path)
        with standin.lock:
            standin.requests.append((venue, query))
            number = len(standin.requests)
        status, body, headers = standin.answer(venue, query)
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in headers.items():
            self.send_header(name, value)
        if number == standin.trickle_at:
            self.send_header("Content-Length", str(len(payload) + 1))
            self.end_headers()
            stop = time.monotonic() + standin.trickle_s
            while time.monotonic() < stop:
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.05)
            self.wfile.write(payload[:-1])
            return
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: ExchangesStandin


class ExchangesStandin:
    """The four venues' candle endpoints at ``url`` (see the module docstring)."""

    def __init__(self, prices_csv: Path, now_s: int) -> None:
        self.day_s, self.close = read_closes(prices_csv)
        self.now_s = now_s
        self.factors = dict(FACTORS)  # a test may set one venue's off the market
        self.lock = threading.Lock()
        self.requests: list[tuple[str | None, dict[str, str]]] = []
        self.down: set[str] = set()
        self.trickle_at: int | None = None
        self.trickle_s = 30.0
        self._storm: list[float] = []
        self._http = _Server(("127.0.0.1", 0), _Handler)
        self._http.standin = self
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    def close_server(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> ExchangesStandin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_server()

    def storm(self, count: int, retry_after_s: float = 0.05) -> None:
        self._storm = [retry_after_s] * count

    def venue_requests(self, venue: str) -> list[dict[str, str]]:
        return [q for v, q in self.requests if v == venue]

    # -- candles ---------------------------------------------------------------------------

    def candles(self, venue: str, interval_s: int) -> tuple[np.ndarray, np.ndarray]:
        """Every candle ``venue`` has started by ``now_s``: starts (unix s) and closes."""
        factor = self.factors[venue]
        close = np.array([round(float(c) * factor, 2) for c in self.close])  # to the cent
        prev = np.concatenate([[close[0]], close[:-1]])
        if interval_s == DAY_S:
            start, final = self.day_s, close
            opened, partial = prev, (self.now_s - start) / DAY_S
        else:
            k = np.arange(24)
            start = (self.day_s[:, None] + k * HOUR_S).ravel()
            step = (close - prev)[:, None] / 24
            final = np.round(prev[:, None] + step * (k + 1), 2).ravel()
            final[23::24] = close  # the last hour closes at the day's close
            opened = np.round(prev[:, None] + step * k, 2).ravel()
            partial = (self.now_s - start) / HOUR_S
        started = start <= self.now_s
        running = started & (start + interval_s > self.now_s)
        out = np.where(running, np.round(opened + (final - opened) * partial, 2), final)
        return start[started], out[started]

    def answer(self, venue: str | None, q: dict[str, str]) -> tuple[int, object, dict]:
        if venue is None:
            return 404, {"message": "Not Found"}, {}
        if venue in self.down:
            return 503, {"message": "Service Unavailable"}, {}
        if self._storm:
            return 429, {"message": "Too Many Requests"}, {"Retry-After": f"{self._storm.pop()}"}
        return getattr(self, f"_{venue}")(q)

    def _coinbase(self, q: dict[str, str]) -> tuple[int, object, dict]:
        gran = int(q.get("granularity", "0"))
        if gran not in (60, 300, 900, 3600, 21600, 86400):
            return 400, {"message": "Unsupported granularity"}, {}
        start, end = _time(q.get("start")), _time(q.get("end"))
        if start is None or end is None:
            return 400, {"message": "start and end are required"}, {}
        if (end - start) // gran + 1 > LIMITS["coinbase"]:
            return 400, {"message": "granularity too small for the requested time range"}, {}
        t, c = self.candles("coinbase", gran)
        keep = (t >= start) & (t <= end)
        rows = [
            [int(ti), round(ci * 0.995, 2), round(ci * 1.005, 2), ci, ci, 12.5]
            for ti, ci in zip(t[keep], c[keep], strict=True)
        ]
        return 200, rows[::-1], {}  # newest first

    def _kraken(self, q: dict[str, str]) -> tuple[int, object, dict]:
        if q.get("pair") != "XBTUSD":
            return 200, {"error": ["EQuery:Unknown asset pair"]}, {}
        interval = {"1440": DAY_S, "60": HOUR_S}.get(q.get("interval", "1"))
        if interval is None:
            return 200, {"error": ["EGeneral:Invalid arguments"]}, {}
        t, c = self.candles("kraken", interval)
        t, c = t[-LIMITS["kraken"] :], c[-LIMITS["kraken"] :]  # the latest 720 only
        since = int(q.get("since", "0"))
        keep = t > since
        rows = [
            [int(ti), f"{ci:.2f}", f"{ci:.2f}", f"{ci:.2f}", f"{ci:.2f}", f"{ci:.2f}", "3.1", 23]
            for ti, ci in zip(t[keep], c[keep], strict=True)
        ]
        last = int(t[keep][-1]) if keep.any() else since
        return 200, {"error": [], "result": {"XXBTZUSD": rows, "last": last}}, {}

    def _bitstamp(self, q: dict[str, str]) -> tuple[int, object, dict]:
        step, limit = int(q.get("step", "0")), int(q.get("limit", "0"))
        if step not in (60, 180, 300, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400):
            return 400, {"errors": [{"field": "step", "message": "Invalid step"}]}, {}
        if not 1 <= limit <= LIMITS["bitstamp"]:
            return 400, {"errors": [{"field": "limit", "message": "Invalid limit"}]}, {}
        t, c = self.candles("bitstamp", step)
        keep = np.flatnonzero(t >= int(q.get("start", "0")))[:limit]
        ohlc = [
            {
                "timestamp": str(int(t[i])),
                "open": f"{c[i]:.2f}",
                "high": f"{c[i]:.2f}",
                "low": f"{c[i]:.2f}",
                "close": f"{c[i]:.2f}",
                "volume": "26.56202532",
            }
            for i in keep
        ]
        return 200, {"data": {"pair": "BTC/USD", "ohlc": ohlc}}, {}

    def _binance(self, q: dict[str, str]) -> tuple[int, object, dict]:
        if q.get("symbol") != "BTCUSDT":
            return 400, {"code": -1121, "msg": "Invalid symbol."}, {}
        interval = {"1d": DAY_S, "1h": HOUR_S}.get(q.get("interval", ""))
        limit = int(q.get("limit", "500"))
        if interval is None or not 1 <= limit <= LIMITS["binance"]:
            return 400, {"code": -1100, "msg": "Illegal characters found in parameter."}, {}
        t, c = self.candles("binance", interval)
        keep = np.flatnonzero(t * 1000 >= int(q.get("startTime", "0")))[:limit]
        rows = [
            [
                int(t[i]) * 1000,
                f"{c[i]:.2f}",
                f"{c[i]:.2f}",
                f"{c[i]:.2f}",
                f"{c[i]:.2f}",
                "173.581",
                (int(t[i]) + interval) * 1000 - 1,
                "15378315.48720",
                2800,
                "113.654",
                "10069629.84420",
                "0",
            ]
            for i in keep
        ]
        return 200, rows, {}


def _time(value: str | None) -> int | None:
    """Coinbase's ``start``/``end``: ISO 8601 or unix seconds."""
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
