"""Fuzzing the four importers (issue 9, item 8) with Hypothesis, seeded.

Inputs: random bytes, and real rows (a window of each real file in ../shared/data)
mutated cell by cell, cut at a random byte, with rows dropped or repeated. For every input:
the import either succeeds or raises :class:`InputError` (anything else is a crash); a
rejected import leaves every table as it was (a checksum of each); an accepted one stores
only values the chain's rules allow, checked here independently of the importer.

``MINERWATCH_FUZZ_EXAMPLES`` sets the examples per importer (default 100, a few seconds
each) and ``MINERWATCH_FUZZ_SEED`` shifts every test's seed; ``bench/fuzz.py`` runs many in
chunks, and docs/fuzzing.md gives its command and the long run's result.

Speed (a long run is 100,000 inputs per importer): each test's store is in memory and lives
for the whole run; the real files are read once; the tables' checksum is taken after each
accepted import and kept, so a rejected input costs one checksum only when the importer
used the database at all. Whether it did: the store's connection (``store.con``, the only
way the store reaches DuckDB) is wrapped in :class:`Watched`, which counts every use; an
import that never used it cannot have changed anything.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, seed, settings
from hypothesis import strategies as st

import minerwatch
from minerwatch.errors import InputError

EXAMPLES = int(os.environ.get("MINERWATCH_FUZZ_EXAMPLES", "100"))
#: Added to each test's seed, so a long run can go on in chunks of fresh inputs.
SEED = int(os.environ.get("MINERWATCH_FUZZ_SEED", "0"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SAT = 100_000_000
TABLES = ("chain_daily", "prices", "epochs", "blocks")
EDGE_CELLS = [
    "", " ", "0", "-1", "1e300", "1e-300", "1e15", "nan", "inf", "-inf", "１２３", "1_0",
    "0x", "0x1d00ffff", "1d00ffff", "ffffffff", "2100-01-01", "2009-01-02", "9" * 25,
    "4102444800", "1231006504", '"', "\r", ",", "2025-12-31T00:00:00Z", "50", "3.125",
]  # fmt: skip


def _checksum(store) -> tuple:
    """Row count and an order-free hash of every row of every data table."""
    return tuple(
        store.con.execute(f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {t} AS t").fetchall()[0]
        for t in TABLES
    )


@cache
def _lines(path: Path) -> tuple[str, ...]:
    return tuple(path.read_text().splitlines())


def _window(path: Path, start: int, rows: int) -> tuple[str, list[str]]:
    lines = _lines(path)
    return lines[0], list(lines[1 + start : 1 + start + rows])


cell = st.one_of(
    st.sampled_from(EDGE_CELLS),
    st.text(max_size=12),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@st.composite
def mutated(draw, header: str, rows: list[str]) -> bytes:
    """Real rows with a few cells replaced, rows dropped or repeated, maybe cut short."""
    grid = [r.split(",") for r in rows]
    for _ in range(draw(st.integers(0, 4))):
        r = draw(st.integers(0, len(grid) - 1))
        c = draw(st.integers(0, len(grid[r]) - 1))
        grid[r][c] = draw(cell)
    if draw(st.booleans()):
        r = draw(st.integers(0, len(grid) - 1))
        if draw(st.booleans()):
            del grid[r]
        else:
            grid.insert(r, list(grid[r]))
    text = "\n".join([header, *(",".join(g) for g in grid)]) + "\n"
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 4)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return data


def inputs(header: str, rows: list[str]):
    body = st.binary(max_size=400)
    return st.one_of(
        body,
        body.map(lambda b: header.encode() + b"\n" + b),
        mutated(header, rows),
    )


class Watched:
    """A DuckDB connection that counts the uses of its attributes (``execute``, ``sql``,
    ``begin``, ``register``, ``cursor``, ...) and forwards them."""

    def __init__(self, con) -> None:
        self._con, self.uses = con, 0

    def __getattr__(self, name: str):
        self.uses += 1
        return getattr(self._con, name)


class Fuzzed:
    """One store for a whole run, with its checksum and ``view(store)`` (what a test
    compares) as they were after the last accepted import: only imports write, so they
    stand for the store before the next one."""

    def __init__(self, store, view: Callable[[Any], Any] = lambda store: None) -> None:
        store.con = self.con = Watched(store.con)
        self.store, self._view = store, view
        self.refresh()

    def refresh(self) -> None:
        self.checksum, self.view = _checksum(self.store), self._view(self.store)


def _run(fz: Fuzzed, tmp_path: Path, data: bytes, importer, check_accepted) -> None:
    """Import ``data``; a rejection must leave every table as it was, an acceptance is
    handed to ``check_accepted(store, view_before)``."""
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    store = fz.store
    uses = fz.con.uses
    try:
        importer(store, path)
    except InputError:
        event("rejected")
        if fz.con.uses != uses:  # the importer used the database: compare every table
            event("rejected after reading the database")
            assert _checksum(store) == fz.checksum, "a rejected import changed the database"
        return
    event("accepted")
    before = fz.view
    fz.refresh()
    check_accepted(store, before)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Iterator[Path]:
    """Where each input is written: in memory (``/dev/shm``) where there is one, as
    rewriting a file on disk costs more than most rejected imports."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path_factory.mktemp("fuzz")
        return
    with tempfile.TemporaryDirectory(prefix="minerwatch-fuzz-", dir=shm) as name:
        yield Path(name)


def _memory_store():
    """A store in memory, one DuckDB thread (these tables are a few rows: threads only
    add hand-over time)."""
    store = minerwatch.open_store(":memory:")
    store.con.execute("SET threads TO 1")
    return store


# --- Coin Metrics ------------------------------------------------------------------------


def _cm_accepted(store, _before) -> None:
    c = store.read_chain_daily()
    day, n, iss, supply = c["day"], c["blocks"], c["issuance_sat"], c["supply_sat"]
    early = day < np.datetime64("2012-11-27")  # era 0: 50 BTC a block
    late = day > np.datetime64("2024-04-20")  # era 4: 3.125 BTC a block
    assert (iss[early] == n[early] * 50 * SAT).all()
    assert (iss[late] == n[late] * 312_500_000).all()
    consecutive = np.diff(day) == np.timedelta64(1, "D")
    change = np.diff(supply)[consecutive] - iss[1:][consecutive]
    assert ((change >= -100 * SAT) & (change <= SAT)).all()
    assert (supply <= 21_000_000 * SAT).all()


@pytest.fixture(scope="module")
def cm_store():
    with _memory_store() as store:
        yield Fuzzed(store)


@seed(9001 + SEED)
@FUZZ
@given(data=st.data())
def test_fuzz_coinmetrics(cm_store, fuzz_dir, coinmetrics_csv, data):
    start = data.draw(st.sampled_from([0, 6180]))  # from genesis (heights known), 2025
    header, rows = _window(coinmetrics_csv, start, 12)
    blob = data.draw(inputs(header, rows))
    _run(cm_store, fuzz_dir, blob, minerwatch.import_coinmetrics, _cm_accepted)


# --- prices ------------------------------------------------------------------------------


def _prices_accepted(store, before) -> None:
    after = store.read_prices()
    close = after["close_usd"]
    assert ((close >= 1e-4) & (close <= 1e9)).all()
    assert (after["day"] >= np.datetime64("2009-01-03")).all()
    # Nothing beyond x3 of Coin Metrics' close gets in without --force.
    theirs = before["source"] == "coinmetrics"
    cm = dict(
        zip(before["day"][theirs].tolist(), before["close_usd"][theirs].tolist(), strict=True)
    )
    mine = after["source"] != "coinmetrics"
    days, closes = after["day"][mine].tolist(), after["close_usd"][mine].tolist()
    for d, c in zip(days, closes, strict=True):
        if d in cm:
            assert 0.1 <= c / cm[d] <= 10


@pytest.fixture(scope="module")
def prices_store(fuzz_dir, coinmetrics_csv):
    header, rows = _window(coinmetrics_csv, 6170, 37)
    path = fuzz_dir / "cm_tail.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    with _memory_store() as store:
        minerwatch.import_coinmetrics(store, path)
        yield Fuzzed(store, lambda store: store.read_prices())


@seed(9002 + SEED)
@FUZZ
@given(data=st.data())
def test_fuzz_prices(prices_store, fuzz_dir, prices_csv, data):
    header, rows = _window(prices_csv, 5100, 14)  # December 2025: Coin Metrics held too
    blob = data.draw(inputs(header, rows))
    _run(prices_store, fuzz_dir, blob, minerwatch.import_prices, _prices_accepted)


# --- epochs ------------------------------------------------------------------------------


def _epochs_accepted(store, stored) -> None:
    after = store.read_epochs()
    h, d, t = after["start_height"], after["difficulty"], after["start_time"]
    adjacent = np.diff(h) == 2016
    ratio = d[1:][adjacent] / d[:-1][adjacent]
    assert ((ratio >= 0.25 * (1 - 1e-4)) & (ratio <= 4 * (1 + 1e-4))).all()
    known = t[t >= 0]
    assert (np.diff(known) > 0).all()
    assert (known <= time.time() + 7200).all()
    # An accepted import never changed a stored epoch (no --replace) nor erased a time.
    common = np.isin(h, stored["start_height"])
    old = np.isin(stored["start_height"], h)
    np.testing.assert_array_equal(after["bits"][common], stored["bits"][old])
    kept = stored["start_time"][old] >= 0
    np.testing.assert_array_equal(t[common][kept], stored["start_time"][old][kept])


@pytest.fixture(scope="module")
def epochs_store():
    with _memory_store() as store:
        yield Fuzzed(store, lambda store: store.read_epochs())


@seed(9003 + SEED)
@FUZZ
@given(data=st.data())
def test_fuzz_epochs(epochs_store, fuzz_dir, epochs_csv, data):
    start = data.draw(st.sampled_from([0, 100, 440]))
    header, rows = _window(epochs_csv, start, 12)
    blob = data.draw(inputs(header, rows))
    _run(epochs_store, fuzz_dir, blob, minerwatch.import_epochs, _epochs_accepted)


# --- blocks ------------------------------------------------------------------------------


def _blocks_accepted(store, _before) -> None:
    b = store.read_blocks()
    t, h = b["time"], b["height"]
    assert (np.diff(h) == 1).all()
    assert (t <= time.time() + 7200).all()
    for i in range(1, len(t)):  # median time past, as Core's GetMedianTimePast
        if h[i] >= 11 or i == h[i] - h[0]:
            prev = sorted(t[max(0, i - 11) : i].tolist())
            if len(prev) == min(11, h[i]):
                assert t[i] > prev[len(prev) // 2]


@pytest.fixture(scope="module")
def blocks_store(epochs_csv):
    with _memory_store() as store:
        minerwatch.import_epochs(store, epochs_csv)
        yield Fuzzed(store)


@seed(9004 + SEED)
@FUZZ
@given(data=st.data())
def test_fuzz_blocks(blocks_store, fuzz_dir, blocks_csv, data):
    header, rows = _window(blocks_csv, 0, 30)
    blob = data.draw(inputs(header, rows))
    _run(blocks_store, fuzz_dir, blob, minerwatch.import_blocks, _blocks_accepted)


# --- the harness itself ------------------------------------------------------------------


@settings(
    max_examples=1,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.none())  # _run records Hypothesis events: it runs inside a test
def test_fuzz_harness_sees_a_rejected_import_that_wrote(fuzz_dir, coinmetrics_csv, _none):
    """The shortcut (no checksum when the connection was not used) must not hide a write:
    an importer that deletes a row and then raises InputError fails the check, one that
    only reads passes it, one that never uses the database skips the checksum."""
    header, rows = _window(coinmetrics_csv, 0, 5)
    path = fuzz_dir / "harness.csv"
    path.write_text("\n".join([header, *rows]) + "\n")

    def reads_then_refuses(store, _path):
        store.read_chain_daily()
        raise InputError("refused")

    def deletes_then_refuses(store, _path):
        store.con.execute("DELETE FROM chain_daily WHERE day = DATE '2009-01-03'")
        raise InputError("refused")

    with _memory_store() as store:
        minerwatch.import_coinmetrics(store, path)
        fz = Fuzzed(store)
        _run(fz, fuzz_dir, b"", reads_then_refuses, _cm_accepted)
        uses = fz.con.uses
        _run(
            fz,
            fuzz_dir,
            b"",
            lambda store, path: minerwatch.import_coinmetrics(store, path),
            _cm_accepted,
        )
        assert fz.con.uses == uses  # an empty file is refused before the database is read
        with pytest.raises(AssertionError, match="rejected import changed the database"):
            _run(fz, fuzz_dir, b"", deletes_then_refuses, _cm_accepted)
