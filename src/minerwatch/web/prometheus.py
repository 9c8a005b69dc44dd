"""``/metrics``: the last day's figures in the Prometheus text exposition format (version
0.0.4), for an operator's Grafana to chart and alert on.

Every gauge is a figure of ``minerwatch status --json`` on the last day held (the same
library call), named with its unit; a figure the data cannot give is left out (no
sample), never written as 0. The tip's gauges (``minerwatch_tip_height``, the difficulty,
the next adjustment and the blocks to the retarget) are those of the newest block held,
forecast there when it is past the day's last block
(:func:`~minerwatch.analyses.tip.tip_of`); ``minerwatch_tip_age_seconds`` is the time
since its header time, or since the end of the last day held without blocks;
``minerwatch_sync_age_seconds`` the time since each source's last sync.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from minerwatch.chain.consensus import RETARGET_INTERVAL
from minerwatch.store import Store
from minerwatch.web.api import ERRORS
from minerwatch.web.app import read_store

router = APIRouter(tags=["metrics"])

Sample = tuple[dict[str, str], float | int | None]


def _unix(iso: str | None) -> float | None:
    """Unix seconds of ``YYYY-MM-DDTHH:MM:SSZ`` (None stays None)."""
    if iso is None:
        return None
    return float(np.datetime64(iso.rstrip("Z"), "s").astype("int64"))


def _family(name: str, help_text: str, samples: Iterable[Sample]) -> list[str]:
    """One metric family: HELP, TYPE gauge, and a line per sample with a value."""
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    for labels, value in samples:
        if value is None:
            continue
        label = ",".join(f'{k}="{v}"' for k, v in labels.items())
        text = repr(value) if isinstance(value, int) else repr(float(value))
        lines.append(f"{name}{{{label}}} {text}" if label else f"{name} {text}")
    return lines


def exposition(store: Store, now_s: float | None = None) -> str:
    """The metrics text of the store's last day at ``now_s`` (unix seconds; default now)."""
    from minerwatch.analyses.status import status
    from minerwatch.analyses.tip import tip_of

    s = status(store)
    tip = tip_of(store, s)
    now_s = time.time() if now_s is None else now_s
    day_start = _unix(f"{s.data_through}T00:00:00Z")
    na = tip.next_adjustment
    blocks_left = None if na is None else na.blocks_remaining
    if blocks_left is None and tip.height is not None:
        blocks_left = RETARGET_INTERVAL - tip.height % RETARGET_INTERVAL
    families: list[tuple[str, str, list[Sample]]] = [
        (
            "minerwatch_tip_height",
            "Height of the newest block held (without blocks past it, of the last block of "
            "the last day held).",
            [({}, tip.height)],
        ),
        (
            "minerwatch_tip_age_seconds",
            "Seconds since the newest block held (its header time; without blocks, the end "
            "of the last day held).",
            [({}, round(now_s - tip.time_s, 3))],
        ),
        (
            "minerwatch_hashprice_usd_per_ph_day",
            "Hashprice, USD per PH/s per day (Luxor's).",
            [({}, s.hashprice_usd_ph_day)],
        ),
        (
            "minerwatch_hashprice_btc_per_ph_day",
            "Hashprice, BTC per PH/s per day.",
            [({}, s.hashprice_btc_ph_day)],
        ),
        (
            "minerwatch_hashrate_ehs",
            "Network hashrate, trailing mean over the window, EH/s.",
            [({"window": w}, v) for w, v in s.hashrate_ehs.items()],
        ),
        ("minerwatch_difficulty", "Difficulty of the newest block held.", [({}, tip.difficulty)]),
        (
            "minerwatch_next_adjustment_change_pct",
            "Forecast change of the next difficulty adjustment, percent (median, 90% interval).",
            []
            if na is None
            else [
                ({"bound": "median"}, na.change_pct),
                ({"bound": "low"}, na.change_pct_low),
                ({"bound": "high"}, na.change_pct_high),
            ],
        ),
        (
            "minerwatch_next_adjustment_time_seconds",
            "Forecast time of the next adjustment, unix seconds (median, 90% interval).",
            []
            if na is None
            else [
                ({"bound": "median"}, _unix(na.date)),
                ({"bound": "low"}, _unix(na.date_low)),
                ({"bound": "high"}, _unix(na.date_high)),
            ],
        ),
        (
            "minerwatch_blocks_to_retarget",
            "Blocks left in the difficulty epoch.",
            [({}, blocks_left)],
        ),
        ("minerwatch_price_usd", "BTC/USD daily close.", [({}, s.price_usd)]),
        (
            "minerwatch_production_cost_usd",
            "Production cost of a bitcoin by model, USD.",
            [({"model": m}, v) for m, v in s.production_cost_models.items()],
        ),
        (
            "minerwatch_price_to_cost_pct",
            f"Close against the production cost of {s.production_cost_model}, percent.",
            [({}, s.price_to_cost_pct)],
        ),
        (
            "minerwatch_fees_share_pct",
            "Fees' share of miner revenue over 7 days, percent.",
            [({}, s.fees_share_pct_7d)],
        ),
        ("minerwatch_puell_multiple", "Puell multiple.", [({}, s.puell_multiple)]),
        (
            "minerwatch_sync_age_seconds",
            "Seconds since each source's last sync (the sync lag; kind daily: day rows, "
            "chain: a live chain source).",
            [
                ({"kind": kind, "source": source}, round(now_s - at, 3))
                for kind, source, at in store.sync_times()
            ],
        ),
        (
            "minerwatch_data_day_timestamp_seconds",
            "Start of the last day held, unix seconds.",
            [({}, day_start)],
        ),
    ]
    lines: list[str] = []
    for name, help_text, samples in families:
        lines += _family(name, help_text, samples)
    return "\n".join(lines) + "\n"


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics",
    responses={404: ERRORS[404], 503: ERRORS[503]},
)
def metrics(request: Request) -> PlainTextResponse:
    with read_store(request) as store:
        text = exposition(store)
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")
