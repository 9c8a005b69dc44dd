"""The day context: what every analysis of one ``as_of`` day reads, built once per command.

A :class:`Day` holds the open store and the ``as_of`` cut, and builds on first use, then
keeps: the daily frame, its metrics, the ASIC catalog and the epochs table; any analysis may
keep its own result on it (:meth:`Day.memo`, for example every production-cost model or the
difficulty outlook), so a command that asks several questions of one day (``report``,
``brief``) computes each input once. ``builds`` counts what was built.

Every analysis function takes a :class:`Day`, a :class:`~minerwatch.frames.DailyFrame`, an
open :class:`~minerwatch.store.Store` or a database path as its first argument;
:func:`day_of` turns any of them into a :class:`Day`.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np

from minerwatch.days import DayLike
from minerwatch.errors import MinerwatchError
from minerwatch.frames import DailyFrame, build_daily_frame, parse_as_of
from minerwatch.metrics.daily import DailyMetrics, compute_daily_metrics
from minerwatch.sources.catalog import Catalog, load_catalog
from minerwatch.store import Store, open_store

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class _Raised:
    error: MinerwatchError


def cut_frame(frame: DailyFrame, row: int) -> DailyFrame:
    """The frame up to and including ``row`` (the frame itself when ``row`` is its last)."""
    if row == len(frame) - 1:
        return frame
    return dataclasses.replace(
        frame, **{f.name: getattr(frame, f.name)[: row + 1] for f in dataclasses.fields(frame)}
    )


class Day:
    """One ``as_of`` day of one store, with its inputs built once.

    Parameters
    ----------
    store : Store or None
        The open store (None for a day made from a frame alone: then only the frame-based
        analyses run).
    as_of : YYYY-MM-DD, datetime64 or None
        The day; None: the last day held. Nothing after it is read.
    frame : DailyFrame or None
        A frame already cut at ``as_of`` (built from the store when None).
    price_source : str
        Which stored closes the frame uses (``auto``: the user's own, else Coin Metrics').
    """

    def __init__(
        self,
        store: Store | None,
        as_of: DayLike | np.datetime64 = None,
        *,
        frame: DailyFrame | None = None,
        price_source: str = "auto",
    ) -> None:
        if store is None and frame is None:
            raise ValueError("a Day needs a store or a frame")
        self.store = store
        self.price_source = price_source
        self._as_of = parse_as_of(None if as_of is None else str(as_of))
        self._frame = frame
        self._memo: dict[Any, Any] = {}
        self.builds: Counter[str] = Counter()

    def memo(self, key: Any, build: Callable[[], T]) -> T:
        """The value kept under ``key``, built by ``build()`` the first time it is asked.

        A :class:`~minerwatch.errors.MinerwatchError` that ``build`` raises is kept too and
        raised again on every later ask (the answer for this day will not change)."""
        if key not in self._memo:
            self.builds[key if isinstance(key, str) else str(key[0])] += 1
            try:
                self._memo[key] = build()
            except MinerwatchError as exc:
                self._memo[key] = _Raised(exc)
        value = self._memo[key]
        if isinstance(value, _Raised):
            raise value.error
        return cast(T, value)

    @property
    def frame(self) -> DailyFrame:
        """The daily frame cut at ``as_of``."""
        if self._frame is None:
            assert self.store is not None
            self.builds["frame"] += 1
            self._frame = build_daily_frame(
                self.store, self._as_of, price_source=self.price_source, epochs=self.epochs
            )
        return self._frame

    @property
    def as_of(self) -> np.datetime64:
        """The day (``datetime64[D]``), the frame's last."""
        return np.datetime64(self.frame.day[-1], "D")

    @property
    def metrics(self) -> DailyMetrics:
        """Every daily metric column of the frame."""
        return self.memo("metrics", lambda: compute_daily_metrics(self.frame))

    @property
    def catalog(self) -> Catalog:
        """The packaged ASIC catalog."""
        return self.memo("catalog", load_catalog)

    @property
    def epochs(self) -> dict[str, np.ndarray] | None:
        """The epochs table (None without a store)."""
        if self.store is None:
            return None
        store = self.store
        return self.memo("epochs", store.read_epochs)

    def cut(self, as_of: DayLike | np.datetime64) -> Day:
        """The same store and inputs as of an earlier (or the same) day: this day itself
        when ``as_of`` is None or its own day, else a new :class:`Day` on the cut frame."""
        day = parse_as_of(None if as_of is None else str(as_of))
        if day is None or day == self.as_of:
            return self
        frame = cut_frame(self.frame, self.frame.index_of(day))
        other = Day(self.store, day, frame=frame, price_source=self.price_source)
        if "epochs" in self._memo:
            other._memo["epochs"] = self._memo["epochs"]
        if "catalog" in self._memo:
            other._memo["catalog"] = self._memo["catalog"]
        return other


@contextmanager
def day_of(
    source: Day | DailyFrame | Store | str | Path | None,
    as_of: DayLike | np.datetime64 = None,
    *,
    price_source: str = "auto",
) -> Iterator[Day]:
    """A :class:`Day` for ``as_of`` from a day (cut when ``as_of`` is earlier), a frame
    (cut likewise), an open store, or a database path (opened read-only for the block)."""
    if isinstance(source, Day):
        yield source.cut(as_of)
    elif isinstance(source, DailyFrame):
        day = parse_as_of(None if as_of is None else str(as_of))
        row = len(source) - 1 if day is None else source.index_of(day)
        yield Day(None, frame=cut_frame(source, row), price_source=price_source)
    elif isinstance(source, Store):
        yield Day(source, as_of, price_source=price_source)
    else:
        with open_store(source, read_only=True) as store:
            yield Day(store, as_of, price_source=price_source)
