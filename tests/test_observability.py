"""Following one request: every log line carries the API Gateway request id as `correlation_id` (the access
log's `requestId`, next to the Lambda request id), event functions log their event's id, and the first
invocation of a container publishes the ColdStart metric (Powertools, as the anchors do it).
"""

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.metrics.provider.base import reset_cold_start_flag_provider

from onboarding.container import reset as reset_service_caches
from tests.api_routes import send
from tests.fixtures import admin_claims
from tests.tcp_proxy import closed_port
from tools.lambda_events import EVENTS_DIR, LocalLambdaContext, http_api_event, local_context
from tools.template import functions, load_handler


def json_lines(output: str) -> list[dict[str, Any]]:
    lines = []
    for line in output.splitlines():
        try:
            document = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(document, dict):
            lines.append(document)
    return lines


def log_lines(output: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(output) if "level" in line and "message" in line]


def cold_start_metrics(output: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(output) if "_aws" in line and "ColdStart" in line]


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the service's Powertools logger writes (its handler's stream, swapped for the test)."""
    from onboarding.observability import logger

    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    written = io.StringIO()
    previous = handler.setStream(written)
    level = logger.log_level
    logger.setLevel("INFO")
    yield written
    logger.setLevel(level)
    handler.setStream(previous)


@pytest.fixture
def unreachable_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Requests fail at the database and log a warning: lines to look at."""
    monkeypatch.setenv("DATABASE_URL", f"postgresql+pg8000://u@127.0.0.1:{closed_port()}/none")
    monkeypatch.setenv("DB_SOCKET_TIMEOUT_SECONDS", "1")
    reset_service_caches()
    yield
    monkeypatch.undo()
    reset_service_caches()


def test_every_log_line_of_a_request_carries_its_api_gateway_request_id(
    unreachable_database, log_output: io.StringIO
) -> None:
    handler = load_handler(functions()["ChecklistFunction"])
    event = http_api_event("GET", "/v1/onboarding/checklist", claims=admin_claims("org_logs"))
    context = LocalLambdaContext(function_name="ChecklistFunction")
    assert handler(event, context)["statusCode"] == 503
    lines = log_lines(log_output.getvalue())
    assert lines, "the failed request logs a warning"
    for line in lines:
        assert line["correlation_id"] == event["requestContext"]["requestId"]
        assert line["function_request_id"] == context.aws_request_id  # the access log's integrationRequestId
        assert line["org_id"] == "org_logs"


def test_the_next_request_logs_its_own_request_id(unreachable_database, log_output: io.StringIO) -> None:
    handler = load_handler(functions()["ChecklistFunction"])
    first = http_api_event("GET", "/v1/onboarding/checklist", claims=admin_claims("org_logs"))
    second = http_api_event("GET", "/v1/onboarding/checklist", claims=admin_claims("org_other"))
    handler(first, LocalLambdaContext())
    log_output.truncate(0)
    log_output.seek(0)
    handler(second, LocalLambdaContext())
    lines = log_lines(log_output.getvalue())
    assert {line["correlation_id"] for line in lines} == {second["requestContext"]["requestId"]}
    assert {line["org_id"] for line in lines} == {"org_other"}


def test_an_event_functions_log_lines_carry_the_events_id(database_url, log_output: io.StringIO) -> None:
    # An OrganizationCreated for an organization that does not exist is logged (and retried by Lambda).
    handler = load_handler(functions()["OrganizationCreatedFunction"])
    event = {
        "version": "0",
        "id": "7f6e1c0a-3b1d-4c59-9a6e-000000000001",
        "detail-type": "OrganizationCreated",
        "source": "signupflow.core",
        "account": "123456789012",
        "time": "2026-11-24T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"organization_id": "org_not_there_yet"},
    }
    with pytest.raises(Exception, match="does not exist"):
        handler(event, local_context(function_name="OrganizationCreatedFunction"))
    lines = log_lines(log_output.getvalue())
    assert lines
    assert {line["correlation_id"] for line in lines} == {event["id"]}


@pytest.mark.parametrize("function", ["OnboardingFunction", "AnalyticsFunction", "AccessTokenClaimsFunction"])
def test_the_first_invocation_of_a_container_publishes_the_cold_start_metric(
    function: str, database_url, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = functions()[function]
    handler = load_handler(spec)
    if spec.routes:
        route = spec.routes[0]
        path = route.path.replace("{step}", "1")

        def invoke() -> None:
            send(route, claims=admin_claims(), path=path, context=LocalLambdaContext(function_name=function))
    else:
        event = json.loads((EVENTS_DIR / "access_token_claims_pre_token_generation.json").read_text())

        def invoke() -> None:
            handler(event, local_context(function_name=function))

    reset_cold_start_flag_provider()  # type: ignore[no-untyped-call]  # a new container
    capsys.readouterr()
    invoke()
    [metric] = cold_start_metrics(capsys.readouterr().out)
    assert metric["ColdStart"] == [1.0]
    assert metric["function_name"] == function
    assert metric["service"]
    [directive] = metric["_aws"]["CloudWatchMetrics"]
    assert ["function_name", "service"] in directive["Dimensions"]

    invoke()  # the same container again: warm
    assert cold_start_metrics(capsys.readouterr().out) == []
