"""Fuzzing every operation of openapi.json with schemathesis: in process, through the real handlers and
the real database, no Docker and no network.

Requests go through the local API's WSGI app (tools/serve.py): API Gateway's routing from template.yaml,
its token check and claim flattening, the HTTP API v2 event, then the function's handler. Each operation
is fuzzed against a prepared organization (onboarding started, wizard at its last step, a tutorial
viewed, metrics stored), as its org admin, or as a platform analyst for /v1/analytics. Schemathesis
generates valid and invalid parameters and bodies (and drops or garbles the token); every answer must be
documented: no 5xx, a documented status code and content type, a body that matches the schema; and
the token must be enforced.

The normal run is derandomized (a fixed seed, the same cases every time): FUZZ_EXAMPLES (default 30) per
operation plus schemathesis' coverage cases. `make fuzz` runs many more with fresh randomness.
"""

import json
import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import checks
from schemathesis.hooks import HookContext

from onboarding import sample_data
from onboarding.db import unit_of_work
from onboarding.sample_data import SampleDataRequest, SampleSize
from tests.api_routes import ROUTES, metric_event, send
from tests.fixtures import admin_claims, analyst_claims
from tests.host_rows import add_real_rows, start_onboarding
from tests.wizard_steps import future, step_body
from tools import openapi
from tools.serve import LocalApi, dev_token

ORG = "org_fuzz"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
RANDOM = os.environ.get("FUZZ_RANDOM") == "1"
MIN_CASES = 1000

# Every check that judges a single answer against the document, token enforcement, and a 405 with
# `Allow` for a method a path does not have (the catch-all route's answer). Not run:
# `positive_data_acceptance` (schema-valid is not always acceptable: a time zone must exist, an event
# must lie in the future, a step may not skip ahead; those are documented 422/409 answers, `x-rules`).
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.ignored_auth,
    checks.unsupported_method,
]

schema = schemathesis.openapi.from_dict(json.loads(openapi.DOCUMENT.read_text()))
# API Gateway in front of the functions: without the dev server's Host/Origin checks (DEV ONLY; API
# Gateway serves a request with any Origin, the fuzzer's random headers included).
schema.app = LocalApi(rebinding_checks=False).wsgi
cases: Counter[str] = Counter()
statuses: Counter[tuple[str, int]] = Counter()


# --- Nudges toward valid requests: values whose validity depends on the clock or the database ---
# Each hook lets Hypothesis choose between the generated value and a repaired one, so that requests also
# get past validation to the service's success path (random timestamps are never within the last week).


def _repaired(case: Any) -> Any:
    body = case.body
    if not isinstance(body, dict):
        return case
    body = dict(body)
    if case.path == "/v1/onboarding/metrics" and isinstance(body.get("events"), list):
        recent = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        body["events"] = [
            {**event, "timestamp": recent} if isinstance(event, dict) else event for event in body["events"]
        ]
    if case.path.startswith("/v1/onboarding/wizard/steps/"):
        if "timezone" in body:
            body["timezone"] = "Europe/Lisbon"
        if "event_datetime" in body:
            body["event_datetime"] = future(10)
    if case.path == "/v1/onboarding/checklist/{task_id}":
        case.path_parameters = {**(case.path_parameters or {}), "task_id": "add_team"}
    case.body = body
    return case


@schema.hook
def flatmap_case(context: HookContext, case: Any) -> st.SearchStrategy[Any]:
    if case.meta is not None and case.meta.generation.mode.name == "NEGATIVE":
        return st.just(case)
    return st.sampled_from([case, _repaired(case.derive(keep_auth=True))])


# --- The organization and the calls ---


@pytest.fixture
def fuzz_org(make_org, db) -> str:
    make_org(ORG)
    start_onboarding(db, ORG)
    add_real_rows(db, ORG, events=2, volunteers=3, assignments=2, teams=1)
    by_key = {route.route_key: route for route in ROUTES}
    claims = admin_claims(ORG)
    for step in range(1, 5):
        response = send(
            by_key["PUT /v1/onboarding/wizard/steps/{step}"],
            claims=claims,
            path=f"/v1/onboarding/wizard/steps/{step}",
            body=step_body(step),
        )
        assert response.status == 200, response
    assert send(by_key["POST /v1/onboarding/tutorials/{tutorial_id}/views"], claims=claims).status == 200
    events = {"events": [metric_event(), metric_event(event_type="view_reports")]}
    assert send(by_key["POST /v1/onboarding/metrics"], claims=claims, body=events).status == 200
    return ORG


def prepare(case: Any) -> None:
    """Sample data routes need a state to act on: none to generate, some to extend."""
    if case.path.startswith("/v1/onboarding/sample-data"):
        with unit_of_work() as session:
            sample_data.clear_sample_data(session, ORG, reason="manual")
    if case.path == "/v1/onboarding/sample-data/extend":
        with unit_of_work() as session:
            sample_data.generate_sample_data(session, ORG, SampleDataRequest(size=SampleSize.MINIMAL))


def route_label(case: Any) -> str:
    """The template route of the case's operation (the wizard step route is documented per step)."""
    return f"{case.operation.method.upper()} {openapi.template_path(case.operation.path)}"


def token_for(case: Any) -> str:
    claims = analyst_claims() if case.path.startswith("/v1/analytics") else admin_claims(ORG)
    return f"Bearer {dev_token(claims)}"


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=not RANDOM,
    database=None,
    deadline=None,
    # One organization per operation, shared by its examples (state builds up, as in real use).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_answers_as_documented(case: Any, fuzz_org: str) -> None:
    prepare(case)
    response = case.call(headers={"Authorization": token_for(case)})
    cases[route_label(case)] += 1
    statuses[(route_label(case), response.status_code)] += 1
    case.validate_response(response, checks=CHECKS, headers={"Authorization": token_for(case)})


def test_fuzzing_covered_every_operation_with_enough_cases() -> None:
    operations = {f"{route.method} {route.path}" for route in ROUTES}
    if set(cases) != operations:
        pytest.skip("runs after the whole fuzz test (not with a subset of its operations)")
    total = sum(cases.values())
    print(f"\nfuzz: {total} cases over {len(cases)} operations")
    assert total >= MIN_CASES
    assert min(cases.values()) >= 10, cases
    # Not only rejections: the fuzzer got through to the service's success path on most operations.
    succeeded = {label for (label, status), _ in statuses.items() if status < 300}
    assert len(succeeded) >= len(operations) - 4, sorted(operations - succeeded)
