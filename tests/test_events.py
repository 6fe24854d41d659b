"""events/*.json: each one is an event the runner routes to a function of the template, and that
function answers it without a server error (run in-process against the test database)."""

import json
from pathlib import Path
from typing import Any

import pytest

from tools.invoke import invoke, is_http_api_event, resolve_function
from tools.lambda_events import ADMIN_CLAIMS, EVENTS_DIR
from tools.template import find_route

EVENT_FILES = sorted(path for path in EVENTS_DIR.glob("*.json") if not path.name.startswith("_"))


def load(path: Path) -> dict[str, Any]:
    event = json.loads(path.read_text())
    assert isinstance(event, dict), f"{path.name} is not a JSON object"
    return event


@pytest.mark.parametrize("path", EVENT_FILES, ids=[path.name for path in EVENT_FILES])
def test_event_file_is_routed_to_a_function_of_the_template(path: Path) -> None:
    event = load(path)
    spec = resolve_function(event, event_file=path)
    if not is_http_api_event(event):
        assert not spec.routes, f"{path.name} is not an HTTP API event but {spec.logical_id} is an API"
        return
    http = event["requestContext"]["http"]
    assert (http["method"], http["path"]) == (http["method"].upper(), event["rawPath"])
    found = find_route(http["method"], event["rawPath"])
    assert found is not None
    route, path_parameters = found
    assert route.function == spec.logical_id
    assert event["routeKey"] == event["requestContext"]["routeKey"] == route.route_key, (
        "regenerate it with tools.lambda_events.write_event_file (routeKey is the template's route)"
    )
    assert (event.get("pathParameters") or {}) == path_parameters
    if not route.authorized:
        # A route without the authorizer (the CORS preflights' OPTIONS /{proxy+}): no claims reach it.
        assert "authorizer" not in event["requestContext"], f"{route.route_key} has no authorizer"
        return
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    if event["rawPath"].startswith("/v1/analytics"):
        assert "platform_analyst" in str(claims["cognito:groups"]), "analytics events act as an analyst"
    else:
        assert claims["custom:org_id"] == ADMIN_CLAIMS["custom:org_id"], (
            "events act for the demo organization"
        )


@pytest.mark.parametrize("path", EVENT_FILES, ids=[path.name for path in EVENT_FILES])
def test_event_file_runs_through_its_function_without_a_server_error(
    path: Path, database_url, make_org
) -> None:
    event = load(path)
    spec = resolve_function(event, event_file=path)
    make_org(ADMIN_CLAIMS["custom:org_id"])
    answer = invoke(spec, event)
    if is_http_api_event(event):
        assert answer["statusCode"] < 500, answer
        assert answer["statusCode"] == 204 or json.loads(answer["body"]) is not None
