"""The JSON API, ``/api/v1/``: one route per analysis, each returning exactly what the CLI's
``--json`` prints for the same options (the same library call, serialized by
:func:`minerwatch.serialize.to_json`), and the daily series of every metric column.

Query parameters are named as the CLI's options (``--power-price`` is ``power_price``);
options left out take the library's defaults, and the library checks every value (a bad
one is a 400 with the CLI's message, naming the query parameter).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from minerwatch.analyses.asics import AsicEconomics
from minerwatch.analyses.backtest import DifficultyBacktest
from minerwatch.analyses.cost import ProductionCost
from minerwatch.analyses.difficulty import DifficultyOutlook
from minerwatch.analyses.info import Info
from minerwatch.analyses.pools import PoolShares
from minerwatch.analyses.signals import Signals
from minerwatch.analyses.status import Status
from minerwatch.analyses.studies import EpisodesReport, StudyResult
from minerwatch.serialize import to_json
from minerwatch.store import Store
from minerwatch.web.app import AnswerCache, data_tag, not_modified, read_store
from minerwatch.web.schemas import answer_model


class ApiError(BaseModel):
    """An error: the message the CLI prints for the same request."""

    error: str


#: Every route's error answers (a FastAPI 422 never reaches a client: bad values are 400).
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ApiError, "description": "A bad parameter (the CLI's message)."},
    404: {"model": ApiError, "description": "No database, no data, or a day outside it."},
    503: {"model": ApiError, "description": "The database is busy or cannot be used."},
}


def result(cls: type) -> dict[int | str, dict[str, Any]]:
    """The documented answer of a route whose analysis returns a ``cls``: the model of the
    CLI's ``--json`` object (:func:`~minerwatch.web.schemas.answer_model`)."""
    return {
        200: {
            "model": answer_model(cls),
            "description": "The CLI's `--json` object for the same options (docs/*.md).",
        }
    }


router = APIRouter(prefix="/api/v1", tags=["analyses"], responses={**ERRORS})

AsOf = Annotated[
    str | None, Query(description="Day to report, YYYY-MM-DD (default: the last day held).")
]
Model = Annotated[str | None, Query(description="Production-cost model (`cost` lists them).")]
PowerPrice = Annotated[float | None, Query(description="Electricity price, USD/kWh.")]
FitEnd = Annotated[str | None, Query(description="End of the drm-fit-* windows, YYYY-MM-DD.")]
ConfirmDays = Annotated[int | None, Query(description="Hash ribbons: days of confirmation.")]


def given(**values: Any) -> dict[str, Any]:
    """The keyword arguments given (None left out, so the library's defaults apply)."""
    return {name: value for name, value in values.items() if value is not None}


def answer(request: Request, build: Callable[[Store], Any]) -> Response:
    """``build(store)`` on the database opened read-only, as the CLI's ``--json`` text, with
    the data's ETag (304 when the client holds it). The answer is kept by URL until the
    database file changes (:class:`~minerwatch.web.app.AnswerCache`)."""
    answers: AnswerCache = request.app.state.answers

    def compute() -> tuple[str, bytes]:
        with read_store(request) as store:
            return data_tag(store), (to_json(build(store)) + "\n").encode()

    tag, body = answers.kept(f"{request.url.path}?{request.url.query}", compute)
    if not_modified(request, tag):
        return Response(status_code=304, headers={"ETag": tag})
    return Response(body, media_type="application/json", headers={"ETag": tag})


@router.get("/status", responses=result(Status), summary="minerwatch status --json")
def status(
    request: Request,
    as_of: AsOf = None,
    price_source: Annotated[str, Query(description="auto or a price source name.")] = "auto",
) -> Response:
    from minerwatch.analyses.status import status as library_status

    return answer(request, lambda s: library_status(s, as_of, price_source=price_source))


@dataclass
class CostQuery:
    """The production-cost parameters ``cost`` and ``episodes`` share (a dependency)."""

    model: Model = None
    as_of: AsOf = None
    power_price: PowerPrice = None
    fit_end: FitEnd = None

    def options(self) -> dict[str, Any]:
        return given(
            model=self.model, electricity_usd_kwh=self.power_price, drm_fit_end=self.fit_end
        )


@router.get("/cost", responses=result(ProductionCost), summary="minerwatch cost --json")
def cost(
    request: Request,
    query: Annotated[CostQuery, Depends()],
    electricity_share: Annotated[float | None, Query(description="(0, 1]")] = None,
) -> Response:
    from minerwatch.analyses.cost import production_cost

    options = query.options() | given(electricity_share=electricity_share)
    return answer(request, lambda s: production_cost(s, query.as_of, **options))


@router.get("/episodes", responses=result(EpisodesReport), summary="minerwatch episodes --json")
def episodes(
    request: Request,
    query: Annotated[CostQuery, Depends()],
    merge_gap: Annotated[int | None, Query(description="Days of gap bridged.")] = None,
    min_days: Annotated[int | None, Query(description="Shortest episode, days.")] = None,
) -> Response:
    from minerwatch.analyses.studies import cost_episodes

    options = query.options() | given(merge_gap_days=merge_gap, min_days=min_days)
    return answer(request, lambda s: cost_episodes(s, query.as_of, **options))


@router.get("/signals", responses=result(Signals), summary="minerwatch signals --json")
def signals(
    request: Request,
    as_of: AsOf = None,
    confirm_days: ConfirmDays = None,
    price_cross: Annotated[str | None, Query(description="any or follow.")] = None,
) -> Response:
    from minerwatch.analyses.signals import signals as library_signals

    options = given(price_cross=price_cross, confirm_days=confirm_days)
    return answer(request, lambda s: library_signals(s, as_of, **options))


@router.get(
    "/studies/{name}", responses=result(StudyResult), summary="minerwatch study NAME --json"
)
def studies(
    request: Request,
    name: Annotated[str, Path(description="compression, ribbons or below-cost.")],
    as_of: AsOf = None,
    confirm_days: ConfirmDays = None,
    strict_change: Annotated[float | None, Query(description="Percent, negative.")] = None,
) -> Response:
    from minerwatch.analyses.studies import study

    options = given(confirm_days=confirm_days, strict_change_pct=strict_change)
    return answer(request, lambda s: study(s, name, as_of, **options))


@router.get("/asics", responses=result(AsicEconomics), summary="minerwatch asics --json")
def asics(
    request: Request,
    power_price: PowerPrice = None,
    pool_fee: Annotated[float | None, Query(description="Pool fee, percent.")] = None,
    uptime: Annotated[float | None, Query(description="Uptime, percent.")] = None,
    as_of: AsOf = None,
    all: Annotated[bool, Query(description="Also models not yet released.")] = False,
) -> Response:
    from minerwatch.analyses.asics import asic_economics

    options = given(power_price_usd_kwh=power_price, pool_fee_pct=pool_fee, uptime_pct=uptime)
    return answer(request, lambda s: asic_economics(s, as_of, released_only=not all, **options))


@router.get(
    "/difficulty", responses=result(DifficultyOutlook), summary="minerwatch difficulty --json"
)
def difficulty(
    request: Request,
    as_of: AsOf = None,
    at_height: Annotated[int | None, Query(description="Forecast as of block H.")] = None,
) -> Response:
    from minerwatch.analyses.difficulty import difficulty_outlook

    return answer(request, lambda s: difficulty_outlook(s, as_of, at_height))


@router.get(
    "/backtest",
    responses=result(DifficultyBacktest),
    summary="minerwatch backtest difficulty --json",
)
def backtest(request: Request, as_of: AsOf = None) -> Response:
    from minerwatch.analyses.backtest import backtest_difficulty

    return answer(request, lambda s: backtest_difficulty(s, as_of))


@router.get("/pools", responses=result(PoolShares), summary="minerwatch pools --json")
def pools(
    request: Request,
    window: Annotated[str | None, Query(description="1d, 7d, 30d, epoch or N.")] = None,
    as_of: AsOf = None,
) -> Response:
    from minerwatch.analyses.pools import pool_shares

    return answer(request, lambda s: pool_shares(s, as_of, **given(window=window)))


@router.get("/info", responses=result(Info), summary="minerwatch info --json")
def info(request: Request, as_of: AsOf = None) -> Response:
    from minerwatch.analyses.info import info as library_info

    return answer(request, lambda s: library_info(s, as_of))


class SeriesList(BaseModel):
    """The daily metric columns ``/api/v1/series/{metric}`` serves, and the unit of each
    (units are in the names too: ``_sat``, ``_usd``, ``_pct``, ``_hs_7d`` ...)."""

    metrics: list[str]
    units: dict[str, str]


def _daily(request: Request, start: str | None, end: str | None, as_of: str | None) -> Any:
    from minerwatch.analyses.export import export_table

    with read_store(request) as store:
        return data_tag(store), export_table(store, "daily", start=start, end=end, as_of=as_of)


@router.get("/series", response_model=SeriesList, summary="the daily metric columns")
def series_list(request: Request) -> SeriesList:
    from minerwatch.analyses.export import column_units

    _, table = _daily(request, None, None, None)
    units = column_units(table.columns)
    names = [name for name in table.columns if name != "day"]
    return SeriesList(metrics=names, units={name: units[name] for name in names})


@router.get(
    "/series/{metric}",
    summary="one daily metric column (minerwatch export daily)",
    responses={
        200: {
            "description": "Rows of `day` and the metric: a JSON list of objects, or CSV.",
            "content": {
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
def series(
    request: Request,
    metric: Annotated[str, Path(description="A daily column (`/api/v1/series` lists them).")],
    start: Annotated[str | None, Query(alias="from", description="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, Query(alias="to", description="Last day, YYYY-MM-DD.")] = None,
    as_of: AsOf = None,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv.")] = "json",
) -> Response:
    from minerwatch.tables import to_csv
    from minerwatch.tables import to_json as table_json

    tag, table = _daily(request, start, end, as_of)
    if metric == "day" or metric not in table.columns:
        return JSONResponse(
            {"error": f"no daily metric {metric!r}; `/api/v1/series` lists them"},
            status_code=404,
        )
    if not_modified(request, tag):
        return Response(status_code=304, headers={"ETag": tag})
    picked = {"day": table.columns["day"], metric: table.columns[metric]}
    if format == "csv":
        return Response(to_csv(picked), media_type="text/csv", headers={"ETag": tag})
    return Response(table_json(picked), media_type="application/json", headers={"ETag": tag})
