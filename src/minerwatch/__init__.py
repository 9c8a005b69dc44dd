"""minerwatch: Bitcoin mining economics from raw chain and price data.

The library is the product; the CLI and the web layer only format what it returns::

    import minerwatch
    with minerwatch.open_store("mw.duckdb") as store:
        minerwatch.import_coinmetrics(store, "btc.csv")
    s = minerwatch.status("mw.duckdb", as_of="2025-10-06")
    s.hashrate_ehs["7d"], s.hashprice_usd_ph_day
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import (
    AsOfOutOfRange,
    BadResponse,
    InputError,
    MinerwatchError,
    RateLimited,
    SourceError,
    SourceUnavailable,
)
from .frames import DailyFrame, build_daily_frame, parse_as_of
from .metrics.daily import DailyMetrics, compute_daily_metrics
from .snapshot import Status, block_intervals_at, status_from_frame
from .store import Store, default_db_path, open_store, require_data

# The rest of the public API loads on first use, so that `minerwatch status` does not pay
# for the backtest, sync, import and report code at start-up (PEP 562).
_LAZY = {
    "DifficultyBacktest": "backtest",
    "backtest_difficulty": "backtest",
    "DifficultyOutlook": "forecast",
    "difficulty_outlook": "forecast",
    "ImportReport": "ingest",
    "import_blocks": "ingest",
    "import_coinmetrics": "ingest",
    "import_epochs": "ingest",
    "import_prices": "ingest",
    "AsicEconomics": "machines",
    "asic_economics": "machines",
    "ProductionCost": "production",
    "production_cost": "production",
    "Brief": "report",
    "ReportData": "report",
    "brief": "report",
    "report_data": "report",
    "write_report": "report",
    "Signals": "signals_report",
    "signals": "signals_report",
    "EpisodesReport": "studies",
    "StudyResult": "studies",
    "cost_episodes": "studies",
    "study": "studies",
    "SyncReport": "syncing",
    "sync": "syncing",
}

if TYPE_CHECKING:
    from .backtest import DifficultyBacktest, backtest_difficulty
    from .forecast import DifficultyOutlook, difficulty_outlook
    from .ingest import (
        ImportReport,
        import_blocks,
        import_coinmetrics,
        import_epochs,
        import_prices,
    )
    from .machines import AsicEconomics, asic_economics
    from .production import ProductionCost, production_cost
    from .report import Brief, ReportData, brief, report_data, write_report
    from .signals_report import Signals, signals
    from .studies import EpisodesReport, StudyResult, cost_episodes, study
    from .syncing import SyncReport, sync


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'minerwatch' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


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
    from .forecast import next_adjustment_or_none

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
