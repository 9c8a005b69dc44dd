"""The fleet desk over HTTP (``minerwatch fleet``): the Fleet page, ``/fleet``, and
``POST /api/v1/fleet/history`` and ``POST /api/v1/fleet/plan``.

A fleet file is pasted (or uploaded: read in memory) and read by
:func:`~minerwatch.sources.fleet_file.fleet_from_text`; nothing is written, to disk or to
the database, which is opened read-only as by every route. The figures are the library's
(:func:`~minerwatch.analyses.fleet_history.fleet_history`,
:func:`~minerwatch.analyses.fleet_plan.plan_fleet`) and the API's JSON is their
``minerwatch fleet ... --json`` text. A bad fleet file or value is a 400 with the library's
message (file, line and key), shown on the page beside the form.

Bounds of the web that the CLI does not have: at most :data:`MAX_RUNS` runs, :data:`MAX_LOTS`
lots and :data:`MAX_FLEET_CHARS` characters of fleet file, a body of at most
:data:`MAX_FORM_BYTES` (a form) or :data:`MAX_JSON_BYTES` (JSON), only the shipped
scenarios (a scenario *file* would be a path on the server), and one plan computed at a
time (a plan of 10,000 runs over 120 months holds about a gigabyte while it runs; the next
waits :data:`PLAN_WAIT_S` at most, then is a 503).
"""

from __future__ import annotations

import functools
import json
import re
import secrets
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from minerwatch.analyses.fleet_history import FleetHistory
from minerwatch.analyses.fleet_plan import MAX_MONTHS, FleetPlan
from minerwatch.days import parse_day
from minerwatch.errors import InputError, MinerwatchError, StoreError, naming
from minerwatch.present import format as fmt
from minerwatch.serialize import to_json
from minerwatch.sources.scenario_file import packaged_scenarios
from minerwatch.web.api import ERRORS, ApiError, result
from minerwatch.web.app import QUERY_NAMES, error_status, read_store

if TYPE_CHECKING:
    from minerwatch.sources.fleet_file import Fleet
    from minerwatch.store import Store

#: The most runs of a plan asked over the web (the CLI has no cap below the library's).
MAX_RUNS = 10_000
#: The most lots of a fleet read over the web (memory grows with lots x runs x days).
MAX_LOTS = 20
#: The longest fleet file read over the web, characters (a full file is a few thousand).
MAX_FLEET_CHARS = 50_000
#: The largest form read (the fleet file pasted or uploaded, and the options).
MAX_FORM_BYTES = 256 * 1024
#: The largest JSON body read: room for the longest fleet file in ``\uXXXX`` escapes, so
#: that a body the schema allows is never refused for its size.
MAX_JSON_BYTES = 1024 * 1024
#: Days of the history when the form leaves ``from`` empty: the last year held.
HISTORY_DAYS = 365
#: Defaults of the form (the library's: ``plan_fleet``'s, the CLI's ``--plan 36``).
DEFAULT_MONTHS = 36
DEFAULT_RUNS = 2000
DEFAULT_SEED = 0
#: The library's parameter names as the fleet routes name them.
HISTORY_NAMES = {**QUERY_NAMES, "from_day": "from", "to_day": "to", "as_of": "to"}
PLAN_NAMES = {**QUERY_NAMES}
#: The fleet file the form starts with (docs/fleet.md has every key).
EXAMPLE = """\
[site]
power_price_usd_kwh = 0.06
overhead_pct = 5
fixed_usd_month = 15000

[[lots]]
model = "Antminer S19j Pro"
count = 1000
unit_price_usd = 350

[[lots]]
model = "Antminer S21"
count = 500
unit_price_usd = 2800

[curtailment]
rule = "economic"
"""
#: One plan at a time: each holds its runs x days x lots arrays while it runs.
_PLANNING = threading.BoundedSemaphore(1)
#: How long a plan waits for the one before it, seconds (then a 503: try again).
PLAN_WAIT_S = 60.0

SCENARIOS = tuple(packaged_scenarios())
Scenario = Literal[SCENARIOS]  # type: ignore[valid-type]

page_router = APIRouter(include_in_schema=False)
router = APIRouter(
    prefix="/api/v1/fleet",
    tags=["fleet"],
    responses={
        **ERRORS,
        411: {"model": ApiError, "description": "A request body without a Content-Length."},
        413: {"model": ApiError, "description": "A request body over 1 MiB."},
    },
)


class TooLarge(InputError):
    """A form or body over :data:`MAX_FORM_BYTES` or :data:`MAX_JSON_BYTES` (HTTP 413)."""


class PlanBusy(MinerwatchError):
    """Another plan kept the server busy for :data:`PLAN_WAIT_S` (HTTP 503)."""


#: The errors a fleet request answers with a message (any other is a bug: a 500).
ANSWERED = (InputError, StoreError, PlanBusy)


def fleet_status(exc: Exception) -> int:
    """HTTP status of an error of a fleet request (:func:`~minerwatch.web.app.error_status`,
    413 for a body too large, 503 while another plan runs)."""
    if isinstance(exc, TooLarge):
        return 413
    return 503 if isinstance(exc, PlanBusy) else error_status(exc)


def fleet_message(exc: Exception, names: dict[str, str]) -> str:
    """The message of a library error, its parameter named as the fleet routes name it."""
    return naming(exc, names) if isinstance(exc, InputError) else str(exc)


# -- inputs -----------------------------------------------------------------------------------


def read_fleet(text: str, origin: str = "fleet.toml") -> Fleet:
    """The fleet file ``text`` (named ``origin`` in messages); :class:`InputError` for a bad
    file (line and key), one too long or with more lots than the web reads."""
    from minerwatch.sources.fleet_file import fleet_from_text

    if len(text) > MAX_FLEET_CHARS:
        raise InputError(
            f"fleet: {len(text):,} characters; the web reads a fleet file of at most "
            f"{MAX_FLEET_CHARS:,} (run `minerwatch fleet FILE` for a longer one)",
            parameter="fleet",
        )
    fleet = fleet_from_text(text, origin)
    if len(fleet.lots) > MAX_LOTS:
        raise InputError(
            f"{len(fleet.lots)} lots; the web plans at most {MAX_LOTS} (run `minerwatch "
            "fleet FILE` for more)",
            path=origin,
        )
    return fleet


def _day(value: str | None, name: str) -> np.datetime64 | None:
    """A day ``YYYY-MM-DD`` (None or blank: none given); :class:`InputError` naming ``name``."""
    if value is None or not value.strip():
        return None
    return parse_day(value, name)


def _held(store: Store) -> tuple[np.datetime64, np.datetime64]:
    from minerwatch.store import require_data

    return require_data(store)


def history_of(
    store: Store, fleet: Fleet, from_day: str | None, to_day: str | None
) -> FleetHistory:
    """:func:`~minerwatch.analyses.fleet_history.fleet_history` from ``from_day`` (default:
    :data:`HISTORY_DAYS` days to ``to_day``, from the first day held at the earliest) to
    ``to_day`` (default: the last day held)."""
    from minerwatch.analyses.fleet_history import fleet_history

    last = _day(to_day, "to")
    first = _day(from_day, "from")
    if first is None:
        held_from, held_to = _held(store)
        end = held_to if last is None else last
        first = max(end - (HISTORY_DAYS - 1), held_from)
    return fleet_history(store, fleet, str(first), None if last is None else str(last))


def plan_of(
    store: Store,
    fleet: Fleet,
    months: int,
    scenario: str,
    runs: int,
    seed: int,
    as_of: str | None,
) -> FleetPlan:
    """:func:`~minerwatch.analyses.fleet_plan.plan_fleet` of a shipped ``scenario`` with
    the web's caps; one plan at a time."""
    from minerwatch.analyses.fleet_plan import plan_fleet

    if scenario not in SCENARIOS:
        raise InputError(
            f"scenario {scenario!r} is not a shipped scenario; expected one of "
            f"{', '.join(SCENARIOS)}",
            parameter="scenario",
        )
    if months > MAX_MONTHS:
        raise InputError(f"months {months} is over {MAX_MONTHS}", parameter="months")
    if runs > MAX_RUNS:
        raise InputError(
            f"runs {runs:,} is over {MAX_RUNS:,}, the most the web runs (the CLI runs more)",
            parameter="runs",
        )
    day = _day(as_of, "as_of")
    if not _PLANNING.acquire(timeout=PLAN_WAIT_S):
        raise PlanBusy(
            f"another plan has kept the server busy for {PLAN_WAIT_S:g} s; try again later"
        )
    try:
        return plan_fleet(
            store,
            fleet,
            months,
            scenario,
            runs=runs,
            seed=seed,
            as_of=None if day is None else str(day),
        )
    finally:
        _PLANNING.release()


# -- the JSON API -------------------------------------------------------------------------------

FleetText = Annotated[
    str,
    Field(
        max_length=MAX_FLEET_CHARS,
        description="The fleet file's text (TOML, docs/fleet.md); `power_prices` (an hourly "
        "price file) cannot be named.",
    ),
]
DayText = Annotated[str | None, Field(max_length=32, description="YYYY-MM-DD")]


class FleetHistoryRequest(BaseModel):
    """`minerwatch fleet FILE --from DAY --to DAY`: the fleet's P&L day by day."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"fleet": EXAMPLE}]},
    )

    fleet: FleetText
    from_day: DayText = Field(
        None,
        alias="from",
        description=f"First day, YYYY-MM-DD (default: {HISTORY_DAYS} days to `to`).",
    )
    to_day: DayText = Field(
        None, alias="to", description="Last day, YYYY-MM-DD (default: the last day held)."
    )


class FleetPlanRequest(BaseModel):
    """`minerwatch fleet FILE --plan MONTHS`: the fleet's months ahead under a scenario."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"fleet": EXAMPLE, "months": 12, "runs": 200}]},
    )

    fleet: FleetText
    months: int = Field(DEFAULT_MONTHS, ge=1, le=MAX_MONTHS, description="Months planned.")
    scenario: Scenario = Field("base", description="A shipped scenario.")  # type: ignore[valid-type]
    runs: int = Field(DEFAULT_RUNS, ge=1, le=MAX_RUNS, description="Scenario runs.")
    seed: int = Field(DEFAULT_SEED, ge=0, description="Random seed.")
    as_of: DayText = Field(
        None, description="Start after this day, YYYY-MM-DD (default: the last day held)."
    )


def _content_length_ok(request: Request, limit: int) -> bool:
    declared = request.headers.get("content-length", "")
    return not (declared.isdigit() and int(declared) > limit)


#: The routes that read a JSON body (FastAPI reads it whole before the route runs).
JSON_BODY_PATHS = frozenset({"/api/v1/fleet/history", "/api/v1/fleet/plan"})


def body_refusal(request: Request) -> Response | None:
    """The answer to a POST to a JSON route whose body is too long to read (411 without a
    ``Content-Length``, 413 over :data:`MAX_JSON_BYTES`), before it is read; else None.
    The Fleet form's route reads its body itself, to the same bound."""
    if request.method != "POST" or request.url.path not in JSON_BODY_PATHS:
        return None
    if "content-length" not in request.headers:
        message = "a request body needs a Content-Length"
        return JSONResponse({"error": message}, status_code=411)
    if not _content_length_ok(request, MAX_JSON_BYTES):
        return JSONResponse({"error": _too_large(MAX_JSON_BYTES).reason}, status_code=413)
    return None


def _json_answer(
    request: Request, names: dict[str, str], build: Callable[[Store], Any]
) -> Response:
    try:
        with read_store(request) as store:
            body = (to_json(build(store)) + "\n").encode()
    except ANSWERED as exc:
        return JSONResponse({"error": fleet_message(exc, names)}, status_code=fleet_status(exc))
    return Response(body, media_type="application/json")


@router.post(
    "/history",
    responses=result(FleetHistory),
    summary="minerwatch fleet FILE --from DAY --to DAY --json",
)
def fleet_history_api(request: Request, body: FleetHistoryRequest) -> Response:
    def build(store: Store) -> FleetHistory:
        return history_of(store, read_fleet(body.fleet), body.from_day, body.to_day)

    return _json_answer(request, HISTORY_NAMES, build)


@router.post(
    "/plan",
    responses=result(FleetPlan),
    summary="minerwatch fleet FILE --plan MONTHS --json",
)
def fleet_plan_api(request: Request, body: FleetPlanRequest) -> Response:
    def build(store: Store) -> FleetPlan:
        fleet = read_fleet(body.fleet)
        return plan_of(store, fleet, body.months, body.scenario, body.runs, body.seed, body.as_of)

    return _json_answer(request, PLAN_NAMES, build)


# -- the form -----------------------------------------------------------------------------------


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"the request is over {limit // 1024:,} KiB; give a shorter fleet file")


async def _body(request: Request) -> bytes:
    """The form's body, read to :data:`MAX_FORM_BYTES` at most (:class:`TooLarge`)."""
    if not _content_length_ok(request, MAX_FORM_BYTES):
        raise _too_large(MAX_FORM_BYTES)
    out = bytearray()
    async for chunk in request.stream():
        out += chunk
        if len(out) > MAX_FORM_BYTES:
            raise _too_large(MAX_FORM_BYTES)
    return bytes(out)


@dataclass
class Posted:
    """A form as sent: its text fields, and its files (field name -> (file name, bytes))."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


#: The most fields a form may carry (the Fleet form has ten).
MAX_FIELDS = 50


def parse_form(content_type: str, body: bytes) -> Posted:
    """A form body, ``application/x-www-form-urlencoded`` or ``multipart/form-data``
    (a file field kept as bytes); :class:`InputError` for anything else. The standard
    library's parsers: the server needs no multipart package."""
    kind = content_type.split(";", 1)[0].strip().lower()
    posted = Posted()
    if kind in ("", "application/x-www-form-urlencoded"):
        try:
            pairs = urllib.parse.parse_qsl(
                body.decode("latin-1"), keep_blank_values=True, max_num_fields=MAX_FIELDS
            )
        except ValueError:
            raise InputError(f"the form has more than {MAX_FIELDS} fields") from None
        for name, value in pairs:
            posted.fields.setdefault(name, value)
        return posted
    if kind != "multipart/form-data":
        raise InputError(
            f"a form of type {kind!r}; expected multipart/form-data or "
            "application/x-www-form-urlencoded"
        )
    from email import policy
    from email.parser import BytesParser
    from email.utils import collapse_rfc2231_value

    head = b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n"
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise InputError("the form is not multipart/form-data: no parts found")
    for i, part in enumerate(message.iter_parts()):
        if i >= MAX_FIELDS:
            raise InputError(f"the form has more than {MAX_FIELDS} fields")
        raw = part.get_param("name", header="content-disposition")
        if raw is None:
            continue
        key = collapse_rfc2231_value(raw)
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            posted.files.setdefault(key, (filename, data))
        else:
            posted.fields.setdefault(key, data.decode("utf-8", "replace"))
    return posted


def upload_name(filename: str) -> str:
    """The name an uploaded file is shown by: its last path part, printable, 100 characters
    at most (``fleet.toml`` when nothing is left)."""
    name = re.split(r"[\\/]", filename)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()[:100]
    return name or "fleet.toml"


@dataclass
class FleetForm:
    """The form's values (text, as the page shows them again)."""

    fleet: str = EXAMPLE
    mode: str = "history"
    from_day: str = ""
    to_day: str = ""
    months: str = str(DEFAULT_MONTHS)
    scenario: str = "base"
    runs: str = str(DEFAULT_RUNS)
    seed: str = str(DEFAULT_SEED)
    as_of: str = ""
    origin: str = "fleet.toml"
    uploaded: bool = False

    @classmethod
    def of(cls, posted: Posted) -> FleetForm:
        """The form of a posted body: the uploaded file, when one was chosen, stands for
        the text pasted; :class:`InputError` for a file that is not UTF-8 text."""
        f = posted.fields
        form = cls(
            fleet=f.get("fleet", ""),
            mode=f.get("mode", "history"),
            from_day=f.get("from", "").strip(),
            to_day=f.get("to", "").strip(),
            months=f.get("months", "").strip(),
            scenario=f.get("scenario", "base"),
            runs=f.get("runs", "").strip(),
            seed=f.get("seed", "").strip(),
            as_of=f.get("as_of", "").strip(),
        )
        filename, data = posted.files.get("fleet_file", ("", b""))
        if filename or data:
            form.origin, form.uploaded = upload_name(filename), True
            try:
                form.fleet = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"not UTF-8 text (byte {exc.start + 1}); expected a fleet file (TOML)",
                    path=form.origin,
                ) from None
        return form

    def whole(self, name: str, default: int) -> int:
        """The form's whole number ``name`` (blank: ``default``); :class:`InputError` naming
        it otherwise."""
        text = getattr(self, name)
        if not text:
            return default
        if not re.fullmatch(r"[+-]?\d{1,18}", text):
            raise InputError(f"{name} {text!r} is not a whole number", parameter=name)
        return int(text)

    def run(self, store: Store) -> FleetHistory | FleetPlan:
        """The history or the plan the form asks for."""
        if self.mode not in ("history", "plan"):
            raise InputError(f"mode {self.mode!r}; expected history or plan", parameter="mode")
        fleet = read_fleet(self.fleet, self.origin)
        if self.mode == "history":
            return history_of(store, fleet, self.from_day, self.to_day)
        months = self.whole("months", DEFAULT_MONTHS)
        runs = self.whole("runs", DEFAULT_RUNS)
        seed = self.whole("seed", DEFAULT_SEED)
        return plan_of(store, fleet, months, self.scenario, runs, seed, self.as_of)


@functools.cache
def scenario_descriptions() -> dict[str, str]:
    """Each shipped scenario's description (shown beside its name)."""
    from minerwatch.sources.scenario_file import load_scenario

    return {name: load_scenario(name).description for name in SCENARIOS}


def _page(
    request: Request,
    form: FleetForm,
    held: tuple[str, str] | None,
    outcome: FleetHistory | FleetPlan | None = None,
    error: str | None = None,
    code: int = 200,
) -> HTMLResponse:
    from minerwatch.web.pages import render

    history = outcome if isinstance(outcome, FleetHistory) else None
    plan = outcome if isinstance(outcome, FleetPlan) else None
    return render(
        request, "fleet.html", code, title="Fleet", day=None, form=form, held=held,
        scenarios=scenario_descriptions(), max_runs=MAX_RUNS, max_months=MAX_MONTHS,
        error=error, history=history_view(history) if history else None,
        plan=plan_view(plan) if plan else None,
    )  # fmt: skip


def _held_text(store: Store) -> tuple[str, str] | None:
    span = store.chain_day_range()
    return None if span is None else (str(span[0]), str(span[1]))


def default_form(held: tuple[str, str] | None, as_of: str | None = None) -> FleetForm:
    """The form as the page opens: the example fleet, the :data:`HISTORY_DAYS` days to
    ``as_of`` (the ``?as_of=`` the other pages' links carry; default the last day held),
    and a plan from ``as_of``."""
    form = FleetForm(as_of=as_of or "")
    if held is not None:
        first, last = (np.datetime64(d, "D") for d in held)
        end = last if not as_of else np.datetime64(as_of, "D")
        form.from_day = str(max(end - (HISTORY_DAYS - 1), first))
        form.to_day = str(end)
    return form


@page_router.get("/fleet", response_class=HTMLResponse)
def fleet_page(request: Request, as_of: Annotated[str | None, Query()] = None) -> HTMLResponse:
    day = _day(as_of, "as_of")  # a bad one: the error page, as on every page
    with read_store(request) as store:
        held = _held_text(store)
    return _page(request, default_form(held, None if day is None else str(day)), held)


@page_router.post("/fleet", response_class=HTMLResponse)
async def fleet_submit(request: Request) -> HTMLResponse:
    form, held = FleetForm(fleet=""), None
    try:
        posted = parse_form(request.headers.get("content-type", ""), await _body(request))
        form = FleetForm.of(posted)

        def compute() -> tuple[tuple[str, str] | None, FleetHistory | FleetPlan]:
            with read_store(request) as store:
                return _held_text(store), form.run(store)

        held, outcome = await run_in_threadpool(compute)
    except ANSWERED as exc:
        names = HISTORY_NAMES if form.mode == "history" else PLAN_NAMES
        if held is None:
            held = await run_in_threadpool(_held_or_none, request)
        return _page(request, form, held, error=fleet_message(exc, names), code=fleet_status(exc))
    return _page(request, form, held, outcome)


def _held_or_none(request: Request) -> tuple[str, str] | None:
    try:
        with read_store(request) as store:
            return _held_text(store)
    except (InputError, StoreError):
        return None


# -- what the page shows ----------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A table as the page shows it: ``key`` (its id), the ``headers``, which columns are
    ``numeric`` (right-aligned), the formatted ``rows`` and each row's class (``""``, or
    ``total`` / ``underwater``)."""

    key: str
    headers: list[str]
    numeric: list[bool]
    rows: list[list[str]]
    classes: list[str]
    caption: str = ""


#: Columns of text (left-aligned), by header; the first column of a table is text too.
TEXT_COLUMNS = frozenset({"lot", "first below", "retires", "first off"})


def _table(
    key: str, headers: list[str], rows: list[list[str]], classes: list[str] | None = None,
    caption: str = "",
) -> Table:  # fmt: skip
    numeric = [i > 0 and h not in TEXT_COLUMNS for i, h in enumerate(headers)]
    return Table(key, headers, numeric, rows, classes or [""] * len(rows), caption)


def _months_text(value: float | None) -> str:
    return "does not pay back" if value is None else f"{value:,.1f} months"


def _probability(x: float | None) -> str:
    return fmt.percent(None if x is None else 100 * x)


def _mwh(kwh: float | None) -> str:
    return fmt.number(None if kwh is None else kwh / 1000, ",.0f", " MWh")


@dataclass(frozen=True)
class HistoryView:
    """A :class:`~minerwatch.analyses.fleet_history.FleetHistory` as the page shows it."""

    h: FleetHistory
    heading: str
    tables: list[Table]
    summary: str


def history_view(h: FleetHistory) -> HistoryView:
    """The history's totals, lots and months as the CLI's report shows them
    (:func:`minerwatch.present.fleet.fleet_history_report`)."""
    t = h.totals
    power = f"hourly ({h.hourly_prices})" if h.hourly_prices else f"${h.power_price_usd_kwh:g}/kWh"
    heading = (
        f"Fleet P&L {h.from_day} to {h.to_day} ({h.fleet_file}): {h.pool_scheme.upper()}, "
        f"power {power}, curtailment {h.curtailment}"
    )
    totals = _table(
        "history-totals",
        ["figure", "fleet"],
        [
            ["days", f"{t.days:,}"],
            ["BTC mined", fmt.btc(t.btc)],
            ["revenue", fmt.usd(t.revenue_usd)],
            ["energy", _mwh(t.energy_kwh)],
            ["power", fmt.usd(t.power_cost_usd)],
            ["fixed", fmt.usd(t.fixed_cost_usd)],
            ["demand-response credits", fmt.usd(t.dr_credit_usd)],
            ["margin", fmt.usd(t.margin_usd)],
            ["cash cost per BTC", fmt.usd(t.cash_cost_usd_per_btc)],
            ["depreciation", fmt.usd(t.depreciation_usd)],
            ["interest", fmt.usd(t.interest_usd)],
            ["all-in cost per BTC", fmt.usd(t.all_in_cost_usd_per_btc)],
        ],
        ["", "", "", "", "", "", "", "underwater" if t.margin_usd < 0 else "", "", "", "", ""],
        caption="margin: revenue - power - fixed + credits; all-in adds straight-line "
        "depreciation of the capex over the life, and loan interest",
    )
    lot_rows = [
        [
            lot.lot,
            f"{lot.machines:,}",
            f"{lot.days:,}",
            fmt.btc_amount(lot.btc),
            fmt.usd(lot.revenue_usd),
            fmt.usd(lot.power_cost_usd),
            fmt.usd(lot.fixed_cost_usd),
            fmt.usd(lot.margin_usd),
            fmt.usd(lot.cash_cost_usd_per_btc),
            fmt.usd(lot.all_in_cost_usd_per_btc),
            f"{lot.shutdown_days:,}",
            lot.first_shutdown_day or "never",
            fmt.usd(lot.shutdown_price_usd_last),
        ]
        for lot in h.lots
    ]
    lot_rows.append(
        [
            "fleet", "", f"{t.days:,}", fmt.btc_amount(t.btc), fmt.usd(t.revenue_usd),
            fmt.usd(t.power_cost_usd), fmt.usd(t.fixed_cost_usd), fmt.usd(t.margin_usd),
            fmt.usd(t.cash_cost_usd_per_btc), fmt.usd(t.all_in_cost_usd_per_btc), "", "", "",
        ]
    )  # fmt: skip
    lots = _table(
        "history-lots",
        ["lot", "machines", "days", "BTC", "revenue", "power", "fixed", "margin",
         "cash $/BTC", "all-in $/BTC", "days below shutdown", "first below", "shutdown $"],
        lot_rows,
        [("underwater" if lot.margin_usd < 0 else "") for lot in h.lots] + ["total"],
        caption="below shutdown: days in service with the close under the lot's shutdown "
        "price (its power cost per BTC); shutdown $: that price on the last day",
    )  # fmt: skip
    months = _table(
        "history-months",
        ["month", "BTC", "revenue", "power", "fixed", "credits", "margin"],
        [
            [
                str(m["month"]),
                fmt.btc_amount(_float(m["btc"])),
                fmt.usd(_float(m["revenue_usd"])),
                fmt.usd(_float(m["power_cost_usd"])),
                fmt.usd(_float(m["fixed_cost_usd"])),
                fmt.usd(_float(m["dr_credit_usd"])),
                fmt.usd(_float(m["margin_usd"])),
            ]
            for m in h.months
        ],
        [("underwater" if (_float(m["margin_usd"]) or 0.0) < 0 else "") for m in h.months],
    )
    summary = (
        "BTC at the pool's expected value per share (the day's subsidy"
        + (" and fees" if h.pool_scheme == "fpps" else "")
        + ", mean difficulty), valued at each day's close."
    )
    return HistoryView(h, heading, [totals, lots, months], summary)


def _float(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


@dataclass(frozen=True)
class PlanView:
    """A :class:`~minerwatch.analyses.fleet_plan.FleetPlan` as the page shows it."""

    p: FleetPlan
    heading: str
    start: str
    halving: str
    payback: Table
    verdict: str
    returns: Table
    lines: list[str]
    lots: Table
    months: Table
    chart: str
    chart_id: str


def _band_cells(band: Any, f: Callable[[float | None], str]) -> list[str]:
    return [f(band.p5), f(band.p50), f(band.p95)]


def plan_view(p: FleetPlan) -> PlanView:
    """The plan's figures as the CLI's report shows them
    (:func:`minerwatch.present.fleet.fleet_plan_report`), and the chart of its months."""
    s = p.start
    heading = (
        f"Fleet plan: {p.months} months from {s.day} ({p.fleet_file}), scenario {p.scenario}, "
        f"{fmt.count(p.runs, 'run')}, seed {p.seed}"
    )
    change = (
        f"next retarget at {s.next_retarget_height:,}: {fmt.pct(s.next_change_pct)} "
        f"({fmt.pct(s.next_change_low_pct)} to {fmt.pct(s.next_change_high_pct)}, 90%)"
        if s.next_change_pct is not None
        else f"next retarget at {s.next_retarget_height:,}"
    )
    start = (
        f"Start: BTC {fmt.usd(s.price_usd)}, hashprice "
        f"{fmt.hashprice_usd(s.hashprice_usd_ph_day, 'PH/s', per=True)}, difficulty "
        f"{fmt.difficulty(s.difficulty)}, height {s.height:,}; {change}"
    )
    hv = p.halving
    halving = (
        f"Halving at {hv.height:,}: {hv.date_p50} ({hv.date_p5} to {hv.date_p95}, 90% of "
        f"runs), by the scenario's block production"
        if hv.date_p50
        else f"Halving at {hv.height:,}: after the plan in the median run "
        f"({_probability(hv.probability_within_plan)} of runs reach it within the plan)"
    )
    pb = p.payback
    payback = _table(
        "plan-payback",
        ["payback", "months or share of runs"],
        [
            ["static (today's margin held)", _months_text(pb.static_months)],
            ["scenario median", _months_text(pb.median_months)],
            ["within the plan", _probability(pb.probability_within_plan)],
            [f"within the life ({pb.life_months} months)",
             _probability(pb.probability_within_life)],
        ],
        caption=f"on a capex of {fmt.usd(pb.capex_usd)}: the month the cumulative cash flow "
        "(without resale and loan) turns non-negative",
    )  # fmt: skip
    verdict = "does not pay back" if pb.does_not_pay_back else "pays back"
    br = p.btc_return
    rows = [
        [f"NPV at {p.discount_rate_pct:g}%/yr", *_band_cells(p.npv_usd, fmt.usd)],
        ["IRR", *_band_cells(p.irr_pct, fmt.percent)],
        [f"MIRR at {p.discount_rate_pct:g}%/yr", *_band_cells(p.mirr_pct, fmt.pct)],
        ["curtailment rule's value (NPV)", *_band_cells(p.curtailment_value_usd, fmt.usd)],
    ]
    if br.btc_if_bought:
        rows += [
            ["fleet's BTC at the end", *_band_cells(br.fleet_btc, fmt.btc_amount)],
            ["against buying BTC", *_band_cells(br.fleet_over_bought_pct, fmt.pct)],
        ]
    returns = _table(
        "plan-returns",
        ["figure", "p5", "p50", "p95"],
        rows,
        caption="5%, 50% and 95% of the runs",
    )
    lines = []
    if p.irr_undefined_share:
        lines.append(
            f"IRR: {_probability(p.irr_undefined_share)} of runs have none (their cash flows "
            "change sign more than once, or never: no single rate); its quantiles rank them "
            "lowest. The MIRR exists for every run with an outlay."
        )
    if br.btc_if_bought:
        lines.append(
            f"Against buying {fmt.btc(br.btc_if_bought)} with the capex when the fleet spends "
            f"it: the fleet ends with {fmt.btc_amount(br.fleet_btc.p50)} BTC in the median run, "
            f"{fmt.pct(br.fleet_over_bought_pct.p50)} against the bought; mining wins in "
            f"{_probability(br.probability_mining_wins)} of runs."
        )
    lines.append(
        f"Curtailment rule {p.curtailment}: worth {fmt.usd(p.curtailment_value_usd.p50)} "
        "(median NPV) against running every day."
    )
    lots = _table(
        "plan-lots",
        ["#", "lot", "machines", "J/TH", "margin/day", "BTC price", "hashprice", "power",
         "difficulty", "hashprice to breakeven", "retires", "first off", "off at end"],
        [
            [
                str(lot.shutdown_order), lot.lot, f"{lot.machines:,}",
                f"{lot.efficiency_j_th:.1f}", fmt.usd(lot.margin_usd_day_today),
                fmt.usd(lot.breakeven_price_usd),
                fmt.hashprice_usd(lot.breakeven_hashprice_usd_ph_day, "PH/s"),
                f"${fmt.power_price(lot.breakeven_power_price_usd_kwh)}",
                fmt.difficulty(lot.breakeven_difficulty),
                fmt.pct(-lot.hashprice_fall_to_shutdown_pct),
                lot.retire_day, lot.median_first_off_month or "never",
                _probability(lot.probability_off_last_month),
            ]
            for lot in p.lots
        ],
        [("underwater" if lot.margin_usd_day_today < 0 else "") for lot in p.lots],
        caption="breakevens today, in shutdown order as hashprice falls (each the value at "
        "which the lot's revenue equals its power cost, the others held); first off: the "
        "median run's first month the rule stops the lot for a day; off at end: the runs in "
        "which it is stopped all of its last month in the plan",
    )  # fmt: skip
    months = _table(
        "plan-months",
        ["month", "margin p5", "margin p50", "margin p95", "revenue p50", "BTC p50",
         "BTC $ p50", "hashprice p50", "difficulty p50", "cash flow p50", "cumulative p50"],
        [
            [
                m.month, *_band_cells(m.margin_usd, fmt.usd), fmt.usd(m.revenue_usd.p50),
                fmt.btc_amount(m.btc.p50), fmt.usd(m.price_usd_p50),
                fmt.hashprice_usd(m.hashprice_usd_ph_day_p50, "PH/s"),
                fmt.difficulty(m.difficulty_p50), fmt.usd(m.cash_flow_usd.p50),
                fmt.usd(m.cumulative_cash_flow_usd.p50),
            ]
            for m in p.months_table
        ],
        [("underwater" if (m.margin_usd.p50 or 0.0) < 0 else "") for m in p.months_table],
        caption="the fleet's months: margin = revenue - power - fixed + credits (before "
        "capex and loan), 5/50/95% of runs; hashprice FPPS, USD per PH/s per day; cash flow "
        "= margin - purchases + sales + loan, and its running sum from day one (each the "
        "month's median over the runs)",
    )  # fmt: skip
    return PlanView(
        p, heading, start, halving, payback, verdict, returns, lines, lots, months,
        margin_chart_json(p), f"plan-margin-{secrets.token_hex(4)}",
    )  # fmt: skip


BAND_COLOR = "#1f77b4"
BAND_FILL = "rgba(31, 119, 180, 0.18)"
MEDIAN_COLOR = "#0b3d6e"
ZERO_COLOR = "#7f7f7f"


def margin_chart_json(p: FleetPlan) -> str:
    """The plotly.js figure of the plan's monthly margin: the 5%-95% band shaded, the
    median a line, zero marked; as JSON for the page (``app.js`` draws it)."""
    from minerwatch.present.charts import Axis, Chart, RefLine, Series
    from minerwatch.present.html import PLOTLY_CONFIG, figure

    months = np.array([m.month for m in p.months_table], dtype="datetime64[M]")

    def quantile(name: str) -> np.ndarray:
        values = [getattr(m.margin_usd, name) for m in p.months_table]
        return np.array([np.nan if v is None else v for v in values], np.float64)

    chart = Chart(
        key="plan-margin",
        title="The fleet's monthly margin",
        subtitle="",
        kind="band",
        panels=(Axis("USD per month", dollars=True, si=True),),
        series=(
            Series("p5", months, quantile("p5"), BAND_COLOR, width=0.6, legend=False),
            Series("5% to 95% of runs", months, quantile("p95"), BAND_COLOR, width=0.6),
            Series("median run", months, quantile("p50"), MEDIAN_COLOR, width=2.2),
        ),
        lines=(RefLine("break-even", ZERO_COLOR, y=0.0),),
        height_px=420,
    )
    fig = figure(chart)
    fig["data"][1].update(fill="tonexty", fillcolor=BAND_FILL)  # between p5 and p95
    fig["data"][0]["hoverinfo"] = "skip"
    fig["layout"]["hovermode"] = "x unified"
    fig["layout"]["xaxis"].update(type="date", tickformat="%Y-%m")
    doc = {
        "data": fig["data"],
        "layout": fig["layout"],
        "config": PLOTLY_CONFIG,
        "height": chart.height_px,
    }
    return json.dumps(doc, allow_nan=False, separators=(",", ":")).replace("</", "<\\/")
