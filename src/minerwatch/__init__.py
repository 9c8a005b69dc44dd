"""minerwatch: Bitcoin mining economics from raw chain and price data.

The library is the product; the CLI and the web layer only format what it returns::

    import minerwatch
    with minerwatch.open_store("mw.duckdb") as store:
        minerwatch.import_coinmetrics(store, "btc.csv")
    s = minerwatch.status("mw.duckdb", as_of="2025-10-06")
    s.hashrate_ehs["7d"], s.hashprice_usd_ph_day

This module re-exports the public API and defines nothing of its own. Each name loads its
module on first use (PEP 562), so ``import minerwatch`` and ``import minerwatch.chain``
stay light, and no module of the package imports this one.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from ._version import __version__

# public name -> the module that defines it
_EXPORTS = {
    "AsOfOutOfRange": "errors",
    "BadResponse": "errors",
    "ChainDataGap": "errors",
    "InputError": "errors",
    "MinerwatchError": "errors",
    "NoChainData": "errors",
    "NoDatabase": "errors",
    "NoPriceOnDay": "errors",
    "NotAMinerwatchStore": "errors",
    "RateLimited": "errors",
    "SchemaTooNew": "errors",
    "SchemaTooOld": "errors",
    "SourceError": "errors",
    "SourceUnavailable": "errors",
    "StoreBusy": "errors",
    "StoreError": "errors",
    "StoreReadOnly": "errors",
    "StoreUnreadable": "errors",
    "DailyFrame": "frames",
    "build_daily_frame": "frames",
    "daily_frame": "frames",
    "DailyMetrics": "metrics.daily",
    "compute_daily_metrics": "metrics.daily",
    "Store": "store",
    "default_db_path": "store",
    "open_store": "store",
    "ImportReport": "ingest.files",
    "import_blocks": "ingest.files",
    "import_coinmetrics": "ingest.files",
    "import_epochs": "ingest.files",
    "import_prices": "ingest.files",
    "SyncReport": "ingest.sync",
    "sync": "ingest.sync",
    "Status": "analyses.status",
    "status": "analyses.status",
    "status_from_frame": "analyses.status",
    "AsicEconomics": "analyses.asics",
    "asic_economics": "analyses.asics",
    "ProductionCost": "analyses.cost",
    "production_cost": "analyses.cost",
    "Signals": "analyses.signals",
    "signals": "analyses.signals",
    "EpisodesReport": "analyses.studies",
    "StudyResult": "analyses.studies",
    "cost_episodes": "analyses.studies",
    "study": "analyses.studies",
    "DifficultyOutlook": "analyses.difficulty",
    "difficulty_outlook": "analyses.difficulty",
    "PoolShares": "analyses.pools",
    "pool_shares": "analyses.pools",
    "import_pools": "ingest.pools",
    "DifficultyBacktest": "analyses.backtest",
    "backtest_difficulty": "analyses.backtest",
    "ReportData": "analyses.report",
    "report_data": "analyses.report",
    "Info": "analyses.info",
    "info": "analyses.info",
    "Export": "analyses.export",
    "export_table": "analyses.export",
    "Brief": "present.brief",
    "brief": "present.brief",
    "write_report": "present.html",
}

if TYPE_CHECKING:
    from .analyses.asics import AsicEconomics, asic_economics
    from .analyses.backtest import DifficultyBacktest, backtest_difficulty
    from .analyses.cost import ProductionCost, production_cost
    from .analyses.difficulty import DifficultyOutlook, difficulty_outlook
    from .analyses.export import Export, export_table
    from .analyses.info import Info, info
    from .analyses.pools import PoolShares, pool_shares
    from .analyses.report import ReportData, report_data
    from .analyses.signals import Signals, signals
    from .analyses.status import Status, status, status_from_frame
    from .analyses.studies import EpisodesReport, StudyResult, cost_episodes, study
    from .errors import (
        AsOfOutOfRange,
        BadResponse,
        ChainDataGap,
        InputError,
        MinerwatchError,
        NoChainData,
        NoDatabase,
        NoPriceOnDay,
        NotAMinerwatchStore,
        RateLimited,
        SchemaTooNew,
        SchemaTooOld,
        SourceError,
        SourceUnavailable,
        StoreBusy,
        StoreError,
        StoreReadOnly,
        StoreUnreadable,
    )
    from .frames import DailyFrame, build_daily_frame, daily_frame
    from .ingest.files import (
        ImportReport,
        import_blocks,
        import_coinmetrics,
        import_epochs,
        import_prices,
    )
    from .ingest.pools import import_pools
    from .ingest.sync import SyncReport, sync
    from .metrics.daily import DailyMetrics, compute_daily_metrics
    from .present.brief import Brief, brief
    from .present.html import write_report
    from .store import Store, default_db_path, open_store


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'minerwatch' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = ["__version__", *sorted(_EXPORTS)]
