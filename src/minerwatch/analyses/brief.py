"""The library results a written brief is composed from (``minerwatch brief``), all as of
the same day; the wording is :mod:`minerwatch.present.brief`'s."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minerwatch.analyses.asics import AsicEconomics, asic_economics
from minerwatch.analyses.day import Day, day_of
from minerwatch.analyses.signals import Signals, signals
from minerwatch.analyses.status import Status, status
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


def gather(
    db: Day | Store | str | Path | None, as_of: str | np.datetime64 | None = None
) -> BriefInputs:
    """Every library result the brief reads, for ``as_of`` (default: the last day held),
    from one day context: the frame, metrics and cost series are built once."""
    with day_of(db, as_of) as day:
        snapshot = status(day)
        try:
            machines = asic_economics(day)
        except NoPriceOnDay:  # no close on the day: no machine economics
            machines = None
        return BriefInputs(
            status=snapshot,
            episodes=cost_episodes(day),
            signals=signals(day),
            asics=machines,
            below_cost=study(day, "below-cost"),
            compression=study(day, "compression"),
            ribbons=study(day, "ribbons"),
        )
