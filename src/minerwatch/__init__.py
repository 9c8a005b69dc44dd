"""minerwatch: Bitcoin mining economics from raw chain and price data.

The library is the product; the CLI and the web layer only format what it returns::

    import minerwatch
    with minerwatch.open_store("mw.duckdb") as store:
        minerwatch.import_coinmetrics(store, "btc.csv")
    s = minerwatch.status("mw.duckdb", as_of="2025-10-06")
    s.hashrate_ehs["7d"], s.hashprice_usd_ph_day
"""

from __future__ import annotations

from pathlib import Path

from .backtest import DifficultyBacktest, backtest_difficulty
from .errors import (
    AsOfOutOfRange,
    BadResponse,
    InputError,
    MinerwatchError,
    RateLimited,
    SourceError,
    SourceUnavailable,
)
from .forecast import DifficultyOutlook, difficulty_outlook, next_adjustment_or_none
from .frames import DailyFrame, build_daily_frame, parse_as_of
from .ingest import (
    ImportReport,
    import_blocks,
    import_coinmetrics,
    import_epochs,
    import_prices,
)
from .machines import AsicEconomics, asic_economics
from .metrics.daily import DailyMetrics, compute_daily_metrics
from .production import ProductionCost, production_cost
from .report import Brief, ReportData, brief, report_data, write_report
from .signals_report import Signals, signals
from .snapshot import Status, block_intervals_at, status_from_frame
from .store import Store, default_db_path, open_store, require_data
from .studies import EpisodesReport, StudyResult, cost_episodes, study
from .syncing import SyncReport, sync

__version__ = "0.1.0"


def daily_frame(
    db: Store | str | Path | None = None, as_of: str | None = None, *, price_source: str = "auto"
) -> DailyFrame:
    """The daily frame of the database ``db`` (a path or an open :class:`Store`) up to
    ``as_of`` (YYYY-MM-DD; default the last stored day)."""
    if isinstance(db, Store):
        return build_daily_frame(db, parse_as_of(as_of), price_source=price_source)
    with open_store(db, read_only=True) as store:
        return build_daily_frame(store, parse_as_of(as_of), price_source=price_source)


def status(
    db: Store | str | Path | None = None, as_of: str | None = None, *, price_source: str = "auto"
) -> Status:
    """The miner-economics snapshot of ``as_of`` (YYYY-MM-DD; default the last stored day).

    Reads nothing after ``as_of``. Raises :class:`AsOfOutOfRange` for a date outside the data.
    """
    if not isinstance(db, Store):
        with open_store(db, read_only=True) as store:
            return status(store, as_of, price_source=price_source)
    frame = daily_frame(db, as_of, price_source=price_source)
    return status_from_frame(
        frame,
        data_through=require_data(db)[1],
        block_intervals=block_intervals_at(db, frame, len(frame) - 1),
        next_adjustment=next_adjustment_or_none(db, frame.day[-1], frame=frame),
    )


__all__ = [
    "AsOfOutOfRange",
    "AsicEconomics",
    "BadResponse",
    "Brief",
    "DailyFrame",
    "DailyMetrics",
    "DifficultyBacktest",
    "DifficultyOutlook",
    "EpisodesReport",
    "ImportReport",
    "InputError",
    "MinerwatchError",
    "ProductionCost",
    "RateLimited",
    "ReportData",
    "SourceError",
    "Signals",
    "SourceUnavailable",
    "Status",
    "StudyResult",
    "Store",
    "SyncReport",
    "asic_economics",
    "backtest_difficulty",
    "brief",
    "build_daily_frame",
    "compute_daily_metrics",
    "cost_episodes",
    "daily_frame",
    "default_db_path",
    "difficulty_outlook",
    "import_blocks",
    "import_coinmetrics",
    "import_epochs",
    "import_prices",
    "open_store",
    "production_cost",
    "report_data",
    "signals",
    "status",
    "status_from_frame",
    "study",
    "sync",
    "write_report",
]
