"""The library results a written brief is composed from (``minerwatch brief``), all as of
the same day; the wording is :mod:`minerwatch.present.brief`'s."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minerwatch.analyses.asics import AsicEconomics, asic_economics
from minerwatch.analyses.signals import Signals, signals
from minerwatch.analyses.status import Status
from minerwatch.analyses.studies import EpisodesReport, StudyResult, cost_episodes, study
from minerwatch.errors import NoPriceOnDay
from minerwatch.store import Store


@dataclass(frozen=True)
class BriefInputs:
    """The library results a brief is written from, all as of the same day."""

    status: Status
    episodes: EpisodesReport
    signals: Signals
    asics: AsicEconomics | None
    below_cost: StudyResult
    compression: StudyResult
    ribbons: StudyResult


def gather(store: Store, as_of: str | np.datetime64 | None = None) -> BriefInputs:
    """Every library result the brief reads, for ``as_of`` (default: the last day held)."""
    from minerwatch.analyses.status import status as library_status
    from minerwatch.frames import daily_frame

    snapshot = library_status(store, None if as_of is None else str(as_of))
    frame = daily_frame(store, snapshot.as_of)
    try:
        machines = asic_economics(store, snapshot.as_of)
    except NoPriceOnDay:  # no close on the day: no machine economics
        machines = None
    return BriefInputs(
        status=snapshot,
        episodes=cost_episodes(frame),
        signals=signals(frame),
        asics=machines,
        below_cost=study(frame, "below-cost"),
        compression=study(frame, "compression"),
        ribbons=study(frame, "ribbons"),
    )
