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
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import numpy as np
import pytest
from werkzeug.wrappers import Request, Response

import minerwatch
from minerwatch.errors import (
    BadResponse,
    InputError,
    RateLimited,
    SourceUnavailable,
    SyncDeadlineExceeded,
    SyncPageCapReached,
    TransientSourceError,
)
from minerwatch.ingest.sync import Page, Resume, run_feed, sync_coinmetrics
from minerwatch.sources import http
from minerwatch.sources.coinmetrics import METRICS
from minerwatch.sources.retry import RetryPolicy

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
    ``broken``: pages that always answer ``broken_status``; ``largest_page``: the most items
    served a page, whatever the request asks (servers may page smaller than asked).
    """

    def __init__(self, items: list[dict]) -> None:
        self.items = items
        self.requests: list[dict[str, str]] = []
        self.script: dict[int, list[Response]] = {}
        self.broken: set[int] = set()
        self.broken_status = 500
        self.largest_page = 10_000

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
        size = min(size, self.largest_page)
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


def test_page_leaving_a_gap_is_a_source_fault(truncated_store, server):
    server.items = [
        it for it in server.items if not "2025-10-01" <= it["time"][:10] <= "2025-10-03"
    ]
    before = _state(truncated_store)
    with pytest.raises(BadResponse) as e:
        sync_coinmetrics(truncated_store, base_url=server.base_url, **FAST)
    assert "2025-10-01 to 2025-10-03" in str(e.value) and PATH in str(e.value)
    assert _state(truncated_store)["checksum"] == before["checksum"]


def test_a_page_breaking_the_chains_rules_is_a_source_fault(truncated_store, server):
    # 1,000 BTC issued on one day: no subsidy schedule gives that for the day's blocks.
    server.items = [
        {**it, "IssTotNtv": "1000"} if it["time"][:10] == "2025-10-02" else it
        for it in server.items
    ]
    before = _state(truncated_store)
    with pytest.raises(BadResponse) as e:
        sync_coinmetrics(truncated_store, base_url=server.base_url, **FAST)
    assert "IssTotNtv" in str(e.value) and "not stored" in str(e.value)
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


# -- 6. limits: a total deadline and a page cap ------------------------------------------------


def _trickle(seconds: float = 10.0, step_s: float = 0.05) -> Response:
    """HTTP 200 whose JSON body comes one byte per ``step_s``, for ``seconds`` at most: every
    read succeeds, so only a total deadline stops the client."""

    def body():
        yield b'{"data": ['
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            time.sleep(step_s)
            yield b" "
        yield b"]}"

    return Response(body(), 200, content_type="application/json")


def test_trickling_server_hits_the_deadline_and_the_next_sync_resumes(
    tmp_path, server, items, reference
):
    server.script[1] = [_trickle()]
    with minerwatch.open_store(tmp_path / "db.duckdb") as store:
        t0 = time.monotonic()
        with pytest.raises(SyncDeadlineExceeded) as e:
            sync_coinmetrics(store, base_url=server.base_url, deadline_s=2.0, **FAST)
        took_s = time.monotonic() - t0
        kept = _state(store)
        message = str(e.value)
        assert 2.0 <= took_s < 5.0
        assert "deadline of 2 s passed while reading the response" in message
        assert "next_page_token=" in message  # the page that trickled
        last_kept = _page_day(items, PAGE - 1)
        assert f"2009-01-03 to {last_kept}, are committed and kept" in message
        # Every fully committed page stays, with the sync state at its last day.
        assert kept["counts"]["chain_daily"] == PAGE
        assert kept["sync_state"] == np.datetime64(last_kept)
        report = sync_coinmetrics(store, base_url=server.base_url, **FAST)
        got = _state(store)
    assert server.requests[-report.pages]["start_time"] == _page_day(items, PAGE)
    assert report.rows_new == len(items) - PAGE
    _assert_tables_equal(got, reference)
    assert got["checksum"] == reference["checksum"]


def test_a_stalled_server_is_cut_at_the_deadline(tmp_path, httpserver):
    def stall(request: Request) -> Response:
        time.sleep(2.0)
        return _json({"data": []})

    httpserver.expect_request(PATH).respond_with_handler(stall)
    with minerwatch.open_store(tmp_path / "db.duckdb") as store:
        t0 = time.monotonic()
        with pytest.raises(SyncDeadlineExceeded, match="while waiting for the response"):
            sync_coinmetrics(store, base_url=httpserver.url_for("/v4"), deadline_s=0.5, **FAST)
        assert time.monotonic() - t0 < 1.8  # not the 2 s the server stalls
        assert store.counts()["chain_daily"] == 0


def test_a_retry_that_would_end_past_the_deadline_is_not_waited_for(tmp_path, server):
    server.broken, server.broken_status = {0}, 429
    server.script[0] = [_json({}, 429, {"Retry-After": "30"})]
    with minerwatch.open_store(tmp_path / "db.duckdb") as store:
        t0 = time.monotonic()
        with pytest.raises(SyncDeadlineExceeded, match="before attempt 2 .HTTP 429"):
            sync_coinmetrics(store, base_url=server.base_url, deadline_s=5.0, **FAST)
        assert time.monotonic() - t0 < 2.0
    assert len(server.requests) == 1


def test_cli_sync_deadline_exits_3_and_keeps_committed_pages(tmp_path, server, items):
    server.script[1], server.largest_page = [_trickle()], PAGE
    db = tmp_path / "db.duckdb"
    result = _cli("sync", "--url", server.base_url, "--db", str(db), MINERWATCH_SYNC_DEADLINE_S="3")
    assert result.returncode == 3, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("source error: the deadline of 3 s passed")
    assert "are committed and kept" in lines[0] and "Traceback" not in result.stderr
    kept = _state(db)
    assert kept["counts"]["chain_daily"] == PAGE
    assert kept["sync_state"] == np.datetime64(_page_day(items, PAGE - 1))


def test_endless_empty_pages_stop_at_the_page_cap(tmp_path, httpserver):
    pages = []

    def endless(request: Request) -> Response:
        pages.append(request.args.get("next_page_token"))
        token = f"t{len(pages)}"
        return _json(
            {"data": [], "next_page_url": httpserver.url_for(PATH) + f"?next_page_token={token}"}
        )

    httpserver.expect_request(PATH).respond_with_handler(endless)
    with minerwatch.open_store(tmp_path / "db.duckdb") as store:
        with pytest.raises(SyncPageCapReached) as e:
            sync_coinmetrics(store, base_url=httpserver.url_for("/v4"), max_pages=5, **FAST)
        assert store.counts()["chain_daily"] == 0 and store.sync_state("coinmetrics") is None
    assert pages == [None, "t1", "t2", "t3", "t4"]  # no request beyond the cap
    assert "max_pages=5" in str(e.value) and "nothing was written (5 page(s) fetched)" in str(
        e.value
    )


def _sync_until_page_3_trickles(server, db: Path) -> subprocess.Popen:
    """``minerwatch sync`` in another process, returned once it has asked for page 3,
    which the server trickles in over 30 s (two pages committed by then)."""
    server.script[2], server.largest_page = [_trickle(seconds=30.0)], PAGE
    proc = subprocess.Popen(
        [sys.executable, "-m", "minerwatch", "sync", "--url", server.base_url, "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_cli_env(),
    )
    stop = time.monotonic() + 60
    while len(server.requests) < 3 and time.monotonic() < stop and proc.poll() is None:
        time.sleep(0.05)
    return proc


def test_resume_after_kill_equals_an_uninterrupted_sync(tmp_path, server, items, reference):
    """SIGKILL the command while page 3 trickles in; the next sync completes the store."""
    db = tmp_path / "db.duckdb"
    proc = _sync_until_page_3_trickles(server, db)
    try:
        time.sleep(0.2)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert len(server.requests) == 3 and proc.returncode == -9
    assert _state(db)["counts"]["chain_daily"] == 2 * PAGE  # two pages were committed
    with minerwatch.open_store(db) as store:
        report = sync_coinmetrics(store, base_url=server.base_url, **FAST)
        got = _state(store)
        status = _status(store)
    assert server.requests[3]["start_time"] == _page_day(items, 2 * PAGE)
    assert (report.rows_new, report.rows_changed) == (len(items) - 2 * PAGE, 0)
    _assert_tables_equal(got, reference)
    assert got["checksum"] == reference["checksum"]
    assert status == reference["status"]


# -- 7. any feed runs through the same loop ----------------------------------------------------


class CloseFeed:
    """A tiny in-memory feed: daily closes of source "fake", ``per_page`` days a page.

    The request is the index of a page's first day; ``flaky`` attempts fail as transient,
    a page whose first day is in ``bad_write`` fails after writing its closes."""

    state_key = "fake"
    url = "memory://closes"

    def __init__(self, closes: dict[str, float], per_page: int = 3) -> None:
        self.days = np.array(sorted(closes), dtype="datetime64[D]")
        self.close_usd = np.array([closes[d] for d in sorted(closes)])
        self.per_page = per_page
        self.flaky = 0
        self.fetch_s = 0.0
        self.bad_write: set[str] = set()
        self.fetched: list[int] = []

    def resume(self, store) -> Resume[int]:
        last = store.sync_state(self.state_key)
        first = 0 if last is None else int(np.searchsorted(self.days, last, side="right"))
        if first == len(self.days):
            return Resume(str(last + 1), None, None, note=f"already up to date: {last}")
        return Resume(str(self.days[first]), None, first, expected=len(self.days) - first)

    def fetch(self, request: int, deadline) -> Page[int]:
        self.fetched.append(request)
        time.sleep(self.fetch_s)
        if self.flaky:
            self.flaky -= 1
            raise TransientSourceError("flaky", url=f"{self.url}/{request}")
        days = self.days[request : request + self.per_page]
        following = request + self.per_page
        return Page(
            f"{self.url}/{request}",
            (days, self.close_usd[request:following]),
            count=len(days),
            first=str(days[0]),
            last=str(days[-1]),
            done=min(following, len(self.days)),
            next=following if following < len(self.days) else None,
        )

    def write(self, store, page: Page[int]):
        days, close_usd = page.records
        source = np.array(["fake"] * len(days), dtype=object)
        written = store.write_prices(days, close_usd, source, page.origin)
        if page.first in self.bad_write:
            raise BadResponse("refused after writing", url=page.origin)
        store.set_sync_state(self.state_key, days[-1])
        return [written]

    def held(self, store) -> str | None:
        last = store.sync_state(self.state_key)
        return None if last is None else f"closes held through {last}"


def _fake_closes(store) -> dict[str, float]:
    prices = store.read_prices()
    keep = prices["source"] == "fake"
    return dict(zip(prices["day"][keep].astype(str), prices["close_usd"][keep], strict=True))


@pytest.fixture
def closes(cm_rows) -> dict[str, float]:
    """Ten real Coin Metrics closes."""
    rows = [r for r in cm_rows if r["time"] >= "2025-09-01"][:10]
    return {r["time"]: float(r["PriceUSD"]) for r in rows}


FAST_POLICY = RetryPolicy(backoff_s=0.0)


def test_a_second_feed_runs_through_the_same_loop(tmp_path, closes):
    feed = CloseFeed(closes)
    feed.flaky = 2
    calls: list[tuple[int, int]] = []
    with minerwatch.open_store(tmp_path / "db.duckdb") as store:
        report = run_feed(
            store, feed, policy=FAST_POLICY, progress=lambda d, e: calls.append((d, e))
        )
        assert _fake_closes(store) == closes
        assert store.sync_state("fake") == np.datetime64(max(closes))
        again = run_feed(store, CloseFeed(closes), policy=FAST_POLICY)
    assert (report.source, report.url, report.pages, report.rows_read) == (
        "fake",
        "memory://closes",
        4,
        10,
    )
    assert (report.first, report.last) == (min(closes), max(closes))
    assert report.written("prices").new == 10
    assert report.retries == 2 and "2 request(s) retried (flaky x2)" in report.notes
    assert feed.fetched == [0, 0, 0, 3, 6, 9]
    assert calls == [(3, 10), (6, 10), (9, 10), (10, 10), (10, 10)]
    assert again.pages == 0 and again.notes == [f"already up to date: {max(closes)}"]


def test_a_feed_page_is_one_transaction(tmp_path, closes):
    feed = CloseFeed(closes)
    feed.bad_write = {sorted(closes)[3]}  # the second page fails after writing its rows
    with minerwatch.open_store(tmp_path / "db.duckdb") as store:
        with pytest.raises(BadResponse, match="refused after writing"):
            run_feed(store, feed, policy=FAST_POLICY)
        assert _fake_closes(store) == dict(sorted(closes.items())[:3])
        assert store.sync_state("fake") == np.datetime64(sorted(closes)[2])


def test_feed_limits_stop_and_resume_to_the_same_store(tmp_path, closes):
    with minerwatch.open_store(tmp_path / "whole.duckdb") as store:
        run_feed(store, CloseFeed(closes), policy=FAST_POLICY)
        whole = _fake_closes(store)
    with minerwatch.open_store(tmp_path / "db.duckdb") as store:
        with pytest.raises(SyncPageCapReached, match="6 record.s. from 2 page.s."):
            run_feed(store, CloseFeed(closes), policy=FAST_POLICY, max_pages=2)
        slow = CloseFeed(closes, per_page=2)
        slow.fetch_s = 0.3
        with pytest.raises(SyncDeadlineExceeded, match="passed before page 2"):
            run_feed(store, slow, policy=FAST_POLICY, deadline_s=0.2)
        assert slow.fetched == [6]
        assert _fake_closes(store) == dict(sorted(closes.items())[:8])
        report = run_feed(store, CloseFeed(closes, per_page=4), policy=FAST_POLICY)
        assert report.rows_read == 2 and _fake_closes(store) == whole


@pytest.mark.parametrize(
    ("run", "words"),
    [
        (lambda store, feed: run_feed(store, feed, max_pages=0), "max_pages 0 is out of range"),
        (lambda store, feed: run_feed(store, feed, deadline_s=0), "deadline_s 0 is out of range"),
        (
            lambda store, feed: run_feed(store, feed, policy=RetryPolicy(max_attempts=0)),
            "max_attempts 0 is out of range",
        ),
    ],
    ids=["max_pages", "deadline_s", "max_attempts"],
)
def test_loop_limits_are_checked(tmp_path, closes, run, words):
    feed = CloseFeed(closes)
    with minerwatch.open_store(tmp_path / "db.duckdb") as store, pytest.raises(InputError) as e:
        run(store, feed)
    assert str(e.value).startswith(words) and e.value.parameter == words.split()[0]
    assert feed.fetched == []


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


def test_a_redirect_loop_is_a_bad_response(httpserver):
    httpserver.expect_request("/loop").respond_with_response(
        Response("", 302, {"Location": "/loop"})
    )
    with http.default_client() as client, pytest.raises(BadResponse) as e:
        http.get_json(client, httpserver.url_for("/loop"), backoff_s=0.001)
    assert "redirect loop" in str(e.value) and httpserver.url_for("/loop") in str(e.value)
    assert e.value.__cause__ is None and e.value.__suppress_context__


def test_client_errors_are_not_retried(httpserver):
    httpserver.expect_request("/gone").respond_with_json(
        {"error": {"type": "not_found", "message": "Asset 'xyz' not found"}}, status=404
    )
    with httpx.Client() as client, pytest.raises(BadResponse) as e:
        http.get_json(client, httpserver.url_for("/gone"), backoff_s=0.001)
    assert "HTTP 404" in str(e.value) and "Asset 'xyz' not found" in str(e.value)
    assert len(httpserver.log) == 1


# -- 8. the command ----------------------------------------------------------------------------


def _cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINERWATCH_")}
    return {**env, "MINERWATCH_HTTP_BACKOFF_S": "0.01", **extra}


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "minerwatch", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_cli_env(**env),
    )


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
    assert "MINERWATCH_SYNC_DEADLINE_S" in result.stdout


def test_sync_defaults_mirror_the_http_and_api_modules():
    import minerwatch.ingest.sync as mod
    from minerwatch.sources import coinmetrics_api

    assert mod.DEFAULT_MAX_ATTEMPTS == http.DEFAULT_MAX_ATTEMPTS
    assert mod.DEFAULT_BACKOFF_S == http.DEFAULT_BACKOFF_S
    assert mod.DEFAULT_PAGE_SIZE == coinmetrics_api.MAX_PAGE_SIZE


def test_status_reads_while_a_sync_runs_in_another_process(cli, tmp_path, server, items):
    """The sync process holds the database only to commit a page: while page 3 trickles in,
    status in this process reads the two pages committed (no wait, no busy error)."""
    db = tmp_path / "db.duckdb"
    proc = _sync_until_page_3_trickles(server, db)
    try:
        assert len(server.requests) == 3 and proc.poll() is None  # the sync is under way
        time.sleep(0.2)
        result = cli("status", "--json", "--db", str(db), env={"MINERWATCH_LOCK_WAIT_S": "0"})
        assert proc.poll() is None  # still syncing while status read
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["data_through"] == _page_day(items, 2 * PAGE - 1)
