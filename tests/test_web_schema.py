"""schemathesis over `/openapi.json` of `minerwatch serve` on the real data, in-process:
every operation answers as its schema says (status codes, content types, bodies) for
generated parameters, valid ones and invalid ones, and never with a server error.
Bounded: a few examples per operation, so the suite stays fast.

One check is left out, ``positive_data_acceptance`` (a request the schema allows must not
get a 4xx): the schema types the options (a string, a number), and the library's own checks
decide the rest (a 30 February, a price source not stored, a model name), so that the
message is the CLI's; such a request is a documented 400."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from minerwatch.web.app import create_app

EXAMPLES = 4


@pytest.fixture(scope="module")
def web_schema(loaded_db):
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(loaded_db))


def test_the_schema_lists_every_route(web_schema):
    paths = {op.ok().path for op in web_schema.get_all_operations()}
    analyses = ("status", "cost", "episodes", "signals", "asics", "difficulty", "backtest")
    assert {f"/api/v1/{name}" for name in analyses} | {
        "/api/v1/pools",
        "/api/v1/info",
        "/api/v1/studies/{name}",
        "/api/v1/series",
        "/api/v1/series/{metric}",
        "/api/v1/fleet/history",
        "/api/v1/fleet/plan",
        "/api/v1/alerts",
        "/metrics",
    } == paths


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_as_its_schema_says(web_schema, mode):
    checked = []
    for result in web_schema.get_all_operations():
        operation = result.ok()
        if mode == GenerationMode.NEGATIVE and not operation.definition.raw.get("parameters"):
            continue  # nothing to get wrong

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case):
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        check()
        checked.append(operation.path)
    # the negative mode skips the fleet routes, whose only input is a request body
    assert len(checked) == (16 if mode == GenerationMode.POSITIVE else 12)
