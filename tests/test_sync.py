"""`minerwatch sync` against a local server that speaks the Coin Metrics API v4 shape.

The server serves the real community CSV (tests/conftest.py's ``cm_rows``) as API items:
``time`` as ``YYYY-MM-DDT00:00:00.000000000Z``, values as strings, empty cells omitted,
paged by the request's ``page_size`` with an opaque ``next_page_token`` and a
``next_page_url`` pointing back at the server. Expected stores come from importing the same
CSV with ``import_coinmetrics``, never from the code under test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import numpy as np
import pytest
from werkzeug.wrappers import Request, Response

import minerwatch
from minerwatch.errors import BadResponse, InputError, RateLimited, SourceUnavailable
from minerwatch.ingest.sync import sync_coinmetrics
from minerwatch.sources import http
from minerwatch.sources.coinmetrics import METRICS

PATH = "/v4/timeseries/asset-metrics"
PAGE = 2000
FAST = {"backoff_s": 0.01, "page_size": PAGE}
AS_OF = ["2010-07-18", "2013-11-28", "2020-05-11", "2024-04-20", "2025-10-06", "2025-12-31"]
CUT = "2025-09-30"  # the truncated CSV ends here


def _item(row: dict[str, str]) -> dict[str, str]:
    item = {"asset": "btc", "time": f"{row['time']}T00:00:00.000000000Z"}
    item.update({m: row[m] for m in METRICS if row[m] != ""})
    return item


def _json(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status, headers, content_type="application/json")


def _cm_error(status: int, kind: str, message: str) -> Response:
    return _json({"error": {"type": kind, "message": message}}, status)


class FakeCoinMetrics:
    """``/v4/timeseries/asset-metrics`` over a list of items.

    ``script[page]``: responses served (and consumed) before page ``page`` (0-based) is;
    ``broken``: pages that always answer ``broken_status``.
    """

    def __init__(self, items: list[dict]) -> None:
        self.items = items
        self.requests: list[dict[str, str]] = []
        self.script: dict[int, list[Response]] = {}
        self.broken: set[int] = set()
        self.broken_status = 500

    def __call__(self, request: Request) -> Response:
        args = request.args.to_dict()
        self.requests.append(args)
        expected = {
            "assets": "btc",
            "metrics": ",".join(METRICS),
            "frequency": "1d",
            "paging_from": "start",
        }
        for key, value in expected.items():
            if args.get(key) != value:
                return _cm_error(400, "bad_parameter", f"Bad parameter '{key}': {args.get(key)}")
        size = int(args.get("page_size", "100"))
        if not 1 <= size <= 10_000:
            return _cm_error(400, "bad_parameter", "page_size must be in 1..10000")
        token = args.pop("next_page_token", None)
        offset = int(base64.urlsafe_b64decode(token).decode().split(":")[1]) if token else 0
        start, end = args["start_time"], args.get("end_time", "9999-12-31")
        chosen = [it for it in self.items if start <= it["time"][:10] <= end]
        page = offset // size
        if self.script.get(page):
            return self.script[page].pop(0)
        if page in self.broken:
            return _cm_error(self.broken_status, "internal_error", "Internal server error")
        body: dict = {"data": chosen[offset : offset + size]}
        if offset + size < len(chosen):
            token = base64.urlsafe_b64encode(f"offset:{offset + size}".encode()).decode()
            body["next_page_token"] = token
            body["next_page_url"] = (
                f"{request.base_url}?{urlencode({**args, 'next_page_token': token})}"
            )
        return _json(body)


@pytest.fixture(scope="session")
def items(cm_rows) -> list[dict[str, str]]:
    return [_item(r) for r in cm_rows]


@pytest.fixture
def server(httpserver, items):
    fake = FakeCoinMetrics(list(items))
    httpserver.expect_request(PATH).respond_with_handler(fake)
    fake.base_url = httpserver.url_for("/v4")
    return fake


def _state(db: Path | minerwatch.Store) -> dict:
    """Everything a user can read back: tables, counts, import log size, sync state."""
    if not isinstance(db, minerwatch.Store):
        with minerwatch.open_store(db, read_only=True) as store:
            return _state(store)
    chain, prices = db.read_chain_daily(), db.read_prices()
    digest = hashlib.sha256()
    for table in (chain, prices):
        for name in sorted(table):
            digest.update(name.encode())
            digest.update(np.asarray(table[name]).astype(str).tobytes())
    return {
        "counts": db.counts(),
        "chain": chain,
        "prices": prices,
        "checksum": digest.hexdigest(),
        "imports": len(db.import_log()),
        "sync_state": db.sync_state("coinmetrics"),
    }


def _status(store: minerwatch.Store) -> dict[str, dict]:
    return {day: minerwatch.status(store, day).to_dict() for day in AS_OF}


def _assert_tables_equal(got: dict, want: dict) -> None:
    assert got["counts"] == want["counts"]
    for table in ("chain", "prices"):
        assert got[table].keys() == want[table].keys()
        for col in want[table]:
            np.testing.assert_array_equal(got[table][col], want[table][col], err_msg=col)


@pytest.fixture(scope="session")
def reference(tmp_path_factory, coinmetrics_csv) -> dict:
    """The store after ``import_coinmetrics`` of the whole real CSV."""
    path = tmp_path_factory.mktemp("ref") / "ref.duckdb"
    with minerwatch.open_store(path) as store:
        minerwatch.import_coinmetrics(store, coinmetrics_csv)
        return {**_state(store), "status": _status(store)}


def _truncated_csv(src: Path, dest: Path, last_day: str) -> Path:
    lines = src.read_text().splitlines(keepends=True)
    kept = [lines[0]] + [line for line in lines[1:] if line[:10] <= last_day]
    dest.write_text("".join(kept))
    return dest


@pytest.fixture
def truncated_store(tmp_path, coinmetrics_csv):
    """A store holding the real CSV up to CUT."""
    csv_path = _truncated_csv(coinmetrics_csv, tmp_path / "cut.csv", CUT)
    store = minerwatch.open_store(tmp_path / "db.duckdb")
    minerwatch.import_coinmetrics(store, csv_path)
    yield store
    store.close()


def _page_day(items: list[dict], index: int) -> str:
    return items[index]["time"][:10]


# -- 1. a full sync equals the CSV import ----------------------------------------------------


def test_sync_into_empty_store_equals_csv_import(tmp_path, server, items, reference, capfd):
    calls: list[tuple[int, int]] = []
    with minerwatch.open_store(tmp_path / "db.duckdb") as store:
        report = sync_coinmetrics(
            store, base_url=server.base_url, progress=lambda d, e: calls.append((d, e)), **FAST
        )
        got = _state(store)
        status = _status(store)
    assert server.requests[0]["start_time"] == "2009-01-03"
    assert "end_time" not in server.requests[0]
    assert {r["page_size"] for r in server.requests} == {str(PAGE)}
    n = len(items)
    assert report.pages == len(server.requests) == -(-n // PAGE)
    assert (report.rows_read, report.rows_new, report.rows_changed) == (n, n, 0)
    assert (report.first, report.last) == ("2009-01-03", _page_day(items, -1))
    assert report.retries == 0
    _assert_tables_equal(got, reference)
    assert got["checksum"] == reference["checksum"]
    assert status == reference["status"]
    assert got["sync_state"] == np.datetime64(_page_day(items, -1))
    # One transaction per page: one (chain, prices) pair of log rows per page.
    assert got["imports"] == 2 * report.pages
    # Progress rises page by page and ends complete; the library prints nothing.
    done = [d for d, _ in calls]
    assert done == sorted(done) and len(calls) == report.pages + 1
    assert calls[-1] == (n, n)
    assert capfd.readouterr() == ("", "")


def test_sync_url_from_environment(tmp_path, server, items, monkeypatch):
    monkeypatch.setenv("MINERWATCH_COINMETRICS_URL", server.base_url)
    report = minerwatch.sync(tmp_path / "db.duckdb", end="2009-12-31", **FAST)
    assert report.url == server.base_url
    assert server.requests[0]["end_time"] == "2009-12-31"
    assert (report.first, report.last) == ("2009-01-03", "2009-12-31")


def test_bad_url_is_an_input_error(tmp_path):
    with minerwatch.open_store(tmp_path / "db.duckdb") as store, pytest.raises(InputError) as e:
        sync_coinmetrics(store, base_url="ftp://example.org/v4")
    assert "ftp://example.org/v4" in str(e.value)


# -- 2. incremental ----------------------------------------------------------------------------


def test_incremental_sync_starts_after_last_stored_day(truncated_store, server, items, reference):
    report = sync_coinmetrics(truncated_store, base_url=server.base_url, **FAST)
    assert server.requests[0]["start_time"] == "2025-10-01"
    new_days = sum(1 for it in items if it["time"][:10] > CUT)
    assert (report.rows_new, report.rows_changed, report.rows_unchanged) == (new_days, 0, 0)
    assert report.first == "2025-10-01"
    got = _state(truncated_store)
    _assert_tables_equal(got, reference)
    assert _status(truncated_store) == reference["status"]


def test_second_sync_finds_nothing_new(truncated_store, server, items):
    sync_coinmetrics(truncated_store, base_url=server.base_url, **FAST)
    before = _state(truncated_store)
    report = sync_coinmetrics(truncated_store, base_url=server.base_url, **FAST)
    assert server.requests[-1]["start_time"] == "2026-01-01"
    assert (report.pages, report.rows_read, report.first) == (1, 0, None)
    assert any("nothing new" in n for n in report.notes)
    assert _state(truncated_store)["checksum"] == before["checksum"]


def test_todays_partial_row_is_dropped_and_fetched_again(truncated_store, server, items):
    partial = {"asset": "btc", "time": "2026-01-01T00:00:00.000000000Z", "PriceUSD": "90000.5"}
    server.items.append(partial)
    report = sync_coinmetrics(truncated_store, base_url=server.base_url, **FAST)
    assert report.last == "2025-12-31"
    assert any("partial trailing row" in n for n in report.notes)
    assert truncated_store.chain_day_range()[1] == np.datetime64("2025-12-31")
    # Next run: the page holds only the unfinished day; nothing is written, no error.
    again = sync_coinmetrics(truncated_store, base_url=server.base_url, **FAST)
    assert server.requests[-1]["start_time"] == "2026-01-01"
    assert again.rows_read == 0 and any("without chain metrics" in n for n in again.notes)


def test_start_after_a_gap_is_refused_before_any_request(truncated_store, server):
    with pytest.raises(InputError, match="2025-10-01 to 2025-10-04"):
        sync_coinmetrics(truncated_store, base_url=server.base_url, start="2025-10-05", **FAST)
    assert server.requests == []


def test_page_leaving_a_gap_is_refused(truncated_store, server):
    server.items = [
        it for it in server.items if not "2025-10-01" <= it["time"][:10] <= "2025-10-03"
    ]
    before = _state(truncated_store)
    with pytest.raises(InputError) as e:
        sync_coinmetrics(truncated_store, base_url=server.base_url, **FAST)
    assert "2025-10-01 to 2025-10-03" in str(e.value) and PATH in str(e.value)
    assert _state(truncated_store)["checksum"] == before["checksum"]


@pytest.mark.parametrize(("start", "end"), [("2025-1-01", None), ("2025-10-01", "tomorrow")])
def test_malformed_dates_are_input_errors(truncated_store, server, start, end):
    with pytest.raises(InputError, match="expected YYYY-MM-DD"):
        sync_coinmetrics(truncated_store, base_url=server.base_url, start=start, end=end)
    assert server.requests == []


# -- 3. transient failures are retried -------------------------------------------------------


def test_transient_500_and_429_are_retried(tmp_path, server, reference):
    server.script[1] = [_cm_error(500, "internal_error", "try again")]
    server.script[2] = [
        _json({"error": {"type": "rate_limit", "message": "slow down"}}, 429, {"Retry-After": "0"})
    ]
    with minerwatch.open_store(tmp_path / "db.duckdb") as store:
        report = sync_coinmetrics(store, base_url=server.base_url, **FAST)
        got = _state(store)
    assert report.retries == 2
    assert len(server.requests) == report.pages + 2
    assert any("HTTP 429" in n and "HTTP 500" in n for n in report.notes)
    _assert_tables_equal(got, reference)


# -- 4. persistent failure mid-way, then resume ----------------------------------------------


def test_failure_midway_keeps_committed_pages_and_resumes(tmp_path, server, items, reference):
    db = tmp_path / "db.duckdb"
    server.broken = {1}
    with minerwatch.open_store(db) as store:
        with pytest.raises(SourceUnavailable) as e:
            sync_coinmetrics(store, base_url=server.base_url, max_attempts=3, **FAST)
        assert not isinstance(e.value, RateLimited)
        assert "next_page_token=" in str(e.value) and "HTTP 500" in str(e.value)
        assert len(server.requests) == 1 + 3
        kept = _state(store)
    assert kept["counts"]["chain_daily"] == PAGE
    assert kept["sync_state"] == np.datetime64(_page_day(items, PAGE - 1))
    server.broken = set()
    server.requests.clear()
    with minerwatch.open_store(db) as store:
        report = sync_coinmetrics(store, base_url=server.base_url, **FAST)
        got = _state(store)
        status = _status(store)
    assert server.requests[0]["start_time"] == _page_day(items, PAGE)
    assert (report.rows_new, report.rows_changed, report.rows_unchanged) == (
        len(items) - PAGE,
        0,
        0,
    )
    _assert_tables_equal(got, reference)
    assert got["checksum"] == reference["checksum"]
    assert status == reference["status"]


def test_rate_limit_that_never_lifts(tmp_path, server):
    server.broken, server.broken_status = {0}, 429
    with minerwatch.open_store(tmp_path / "db.duckdb") as store, pytest.raises(RateLimited):
        sync_coinmetrics(store, base_url=server.base_url, max_attempts=2, **FAST)
    assert len(server.requests) == 2


# -- 5. bad shapes leave the database unchanged -----------------------------------------------


def _bad_blkcnt(server: FakeCoinMetrics) -> None:
    server.items = [dict(it) for it in server.items]
    for it in server.items:
        if it["time"].startswith("2025-10-03"):
            it["BlkCnt"] = "14x"


@pytest.mark.parametrize(
    ("first_page", "error", "words"),
    [
        (Response("<html>oops</html>", 200, content_type="text/html"), BadResponse, "not JSON"),
        (_json({"data": "x"}), BadResponse, "'data' is str"),
        (_json({"items": []}), BadResponse, "no 'data' key"),
        (_json([1, 2]), BadResponse, "expected an object"),
        (_json({"data": [{"asset": "btc", "BlkCnt": "1"}]}), BadResponse, "time None"),
        (_json({"data": [{"asset": "eth", "time": "2025-10-01"}]}), BadResponse, "'eth'"),
        (
            _json({"data": [{"asset": "btc", "time": "2025-10-01", "BlkCnt": [1]}]}),
            BadResponse,
            "BlkCnt = [1]",
        ),
        (
            _cm_error(400, "bad_parameter", "Bad parameter 'metrics'. Value 'X' is not supported"),
            BadResponse,
            "Value 'X' is not supported",
        ),
        (_bad_blkcnt, BadResponse, "item 3, column 'BlkCnt': '14x' is not a block count"),
    ],
    ids=["not-json", "data-str", "no-data", "array", "no-time", "asset", "cell", "400", "blkcnt"],
)
def test_bad_shapes_leave_the_database_unchanged(truncated_store, server, first_page, error, words):
    if callable(first_page) and not isinstance(first_page, Response):
        first_page(server)
    else:
        server.script[0] = [first_page]
    before = _state(truncated_store)
    with pytest.raises(error) as e:
        sync_coinmetrics(truncated_store, base_url=server.base_url, **FAST)
    message = str(e.value)
    assert words in message
    assert f"{PATH}?" in message and "start_time=2025-10-01" in message
    assert len(server.requests) == 1  # shape errors are not retried
    after = _state(truncated_store)
    _assert_tables_equal(after, before)
    assert (after["checksum"], after["imports"], after["sync_state"]) == (
        before["checksum"],
        before["imports"],
        before["sync_state"],
    )


def test_paging_that_does_not_move_is_refused(tmp_path, server, httpserver):
    loop = httpserver.url_for("/loop") + "?next_page_token=same"
    server.script[0] = [_json({"data": [], "next_page_url": loop})]
    httpserver.expect_request("/loop").respond_with_json({"data": [], "next_page_url": loop})
    with minerwatch.open_store(tmp_path / "db.duckdb") as store, pytest.raises(BadResponse) as e:
        sync_coinmetrics(store, base_url=server.base_url, **FAST)
    assert "repeats a page already fetched" in str(e.value)
    assert len(httpserver.log) == 2  # the repeat is caught before it is fetched


# -- the HTTP helper on its own ----------------------------------------------------------------


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/x"


def test_connect_errors_are_retried_then_source_unavailable():
    retries: list[http.Retry] = []
    url = _closed_port_url()
    with httpx.Client() as client, pytest.raises(SourceUnavailable) as e:
        http.get_json(client, url, max_attempts=3, backoff_s=0.001, on_retry=retries.append)
    assert [r.attempt for r in retries] == [1, 2]
    assert url in str(e.value) and "after 3 attempt(s)" in str(e.value)


def test_retry_after_is_honoured_and_capped(httpserver):
    httpserver.expect_ordered_request("/a").respond_with_response(
        Response("", 429, {"Retry-After": "0.3"})
    )
    httpserver.expect_ordered_request("/a").respond_with_json({"ok": 1})
    httpserver.expect_ordered_request("/b").respond_with_response(
        Response("", 429, {"Retry-After": "3600"})
    )
    httpserver.expect_ordered_request("/b").respond_with_json({"ok": 2})
    with httpx.Client() as client:
        t0 = time.monotonic()
        got = http.get_json(client, httpserver.url_for("/a"), backoff_s=0.0)
        honoured = time.monotonic() - t0
        t0 = time.monotonic()
        capped = http.get_json(client, httpserver.url_for("/b"), max_retry_after_s=0.05)
        capped_s = time.monotonic() - t0
    assert (got.data, got.retries, capped.data, capped.retries) == ({"ok": 1}, 1, {"ok": 2}, 1)
    assert honoured >= 0.3
    assert capped_s < 1.0


def test_retry_after_as_http_date():
    from datetime import UTC, datetime

    now = datetime(2025, 10, 6, 12, 0, 0, tzinfo=UTC)
    response = httpx.Response(429, headers={"Retry-After": "Mon, 06 Oct 2025 12:00:07 GMT"})
    assert http.retry_after_s(response, now) == 7.0
    assert http.retry_after_s(httpx.Response(429, headers={"Retry-After": "soon"})) is None


def test_client_errors_are_not_retried(httpserver):
    httpserver.expect_request("/gone").respond_with_json(
        {"error": {"type": "not_found", "message": "Asset 'xyz' not found"}}, status=404
    )
    with httpx.Client() as client, pytest.raises(BadResponse) as e:
        http.get_json(client, httpserver.url_for("/gone"), backoff_s=0.001)
    assert "HTTP 404" in str(e.value) and "Asset 'xyz' not found" in str(e.value)
    assert len(httpserver.log) == 1


# -- 6. the command ----------------------------------------------------------------------------


@pytest.fixture()
def sync_cli(cli):
    """``cli`` without the user's MINERWATCH_* settings, and a short retry backoff."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("MINERWATCH_")}
    env["MINERWATCH_HTTP_BACKOFF_S"] = "0.01"
    return lambda *args: cli(*args, env=env)


def test_cli_sync_succeeds(sync_cli, tmp_path, server, reference):
    db = tmp_path / "cli.duckdb"
    result = sync_cli("sync", "--url", server.base_url, "--db", str(db))
    assert (result.returncode, result.stderr) == (0, "")
    assert server.requests[0]["start_time"] == "2009-01-03"
    assert f"{reference['counts']['chain_daily']:,} days" in result.stdout
    _assert_tables_equal(_state(db), reference)
    again = sync_cli("sync", "--url", server.base_url, "--db", str(db))
    assert again.returncode == 0 and "nothing new" in again.stdout


def test_cli_sync_exits_3_naming_the_url_when_the_source_is_down(sync_cli, tmp_path, server):
    server.broken, server.broken_status = {0}, 503
    result = sync_cli("sync", "--url", server.base_url, "--db", str(tmp_path / "db.duckdb"))
    assert result.returncode == 3, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("source error:") and "HTTP 503" in lines[0]
    assert f"{server.base_url}/timeseries/asset-metrics?" in lines[0]
    assert len(server.requests) == 5  # the default attempts


def test_cli_sync_bad_date_exits_2(sync_cli, tmp_path, server):
    result = sync_cli(
        "sync", "--url", server.base_url, "--start", "2025-02-30", "--db", str(tmp_path / "db")
    )
    assert result.returncode == 2
    assert "--start '2025-02-30' is not a date" in result.stderr
    assert server.requests == []


def test_cli_sync_is_documented(cli):
    result = cli("sync", "--help")
    assert result.returncode == 0
    assert "MINERWATCH_HTTP_BACKOFF_S" in result.stdout and "--url" in result.stdout


def test_sync_defaults_mirror_the_http_and_api_modules():
    import minerwatch.ingest.sync as mod
    from minerwatch.sources import coinmetrics_api

    assert mod.DEFAULT_MAX_ATTEMPTS == http.DEFAULT_MAX_ATTEMPTS
    assert mod.DEFAULT_BACKOFF_S == http.DEFAULT_BACKOFF_S
    assert mod.DEFAULT_PAGE_SIZE == coinmetrics_api.MAX_PAGE_SIZE
