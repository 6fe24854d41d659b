"""Every AWS call is bounded: connect and read timeouts and a bounded number of attempts, so an endpoint
that is unreachable (a VPC without an endpoint or NAT) or never answers costs a request seconds and
ends in the contract's 503, well inside the function timeout.

The endpoints here are real sockets on 127.0.0.1 that accept connections and never answer, reached
through botocore's own `AWS_ENDPOINT_URL_<SERVICE>` variables; the timeouts are made small so the
suite stays fast, and the bounds asserted are generous upper limits, not timings.
"""

import ast
import time
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from onboarding import aws
from onboarding.container import reset as reset_service_caches
from onboarding.settings import Settings
from tests.api_routes import assert_contract_error, lambda_context, send
from tests.fixtures import admin_claims
from tests.host_rows import start_onboarding
from tests.tcp_proxy import silent_listener
from tools.template import ROOT, functions

ORG = "org_aws_calls"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:onboarding-db-AbCdEf"
SMALL_TIMEOUTS = {
    "AWS_CLIENT_CONNECT_TIMEOUT_SECONDS": "0.5",
    "AWS_CLIENT_READ_TIMEOUT_SECONDS": "0.5",
    "AWS_CLIENT_MAX_ATTEMPTS": "2",
}
# Two attempts of 0.5 s + 0.5 s and at most 1 s of backoff take 3 s; anything near the default 15 s
# function timeout (or botocore's 60 s per attempt) would fail this.
GENEROUS_BOUND_SECONDS = 10


@pytest.fixture
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Static credentials and no instance metadata: nothing but the endpoint under test is contacted."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield
    monkeypatch.undo()
    reset_service_caches()


# --- Configuration ---


@pytest.mark.parametrize("background", [False, True])
@pytest.mark.parametrize("service", ["secretsmanager", "rds", "events", "sqs"])
def test_every_client_has_connect_and_read_timeouts_and_bounded_attempts(
    service: str, background: bool, fake_credentials
) -> None:
    aws.client.cache_clear()
    config = aws.client(service, background=background).meta.config
    assert 0 < config.connect_timeout <= 2
    assert 0 < config.read_timeout <= 5
    assert config.retries["mode"] == "standard"
    assert 1 <= config.retries["total_max_attempts"] <= 3  # attempts in all, the first one included


def test_no_module_makes_a_boto3_client_of_its_own() -> None:
    # Every client comes from onboarding.aws (and so has the bounds); Powertools' default secrets
    # provider, whose client has botocore's defaults, is not used either.
    offenders = []
    for directory in ("layers/shared/onboarding", "functions", "migrations"):
        for path in (ROOT / directory).rglob("*.py"):
            if path.name == "aws.py" and path.parent.name == "onboarding":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr in {"client", "get_secret", "Session"}
                    and isinstance(node.value, ast.Name)
                    and node.value.id in {"boto3", "parameters"}
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_the_worst_secrets_manager_wait_and_a_database_connect_fit_in_every_api_functions_timeout() -> None:
    # A new connection reads the secret (when the cache is stale) and then connects: both must fit,
    # with room to answer 503.
    settings = Settings()
    for spec in functions().values():
        if spec.routes:
            budget = aws.worst_case_seconds(settings) + settings.db_socket_timeout_seconds + 3
            assert budget <= spec.timeout, spec.logical_id


# --- Endpoints that never answer ---


@pytest.fixture
def org(make_org, db: Session) -> str:
    make_org(ORG)
    start_onboarding(db, ORG)
    return ORG


def test_a_secrets_manager_that_never_answers_is_a_503_well_inside_the_function_timeout(
    org, database_url, fake_credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    with silent_listener() as port:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("DB_SECRET_ARN", SECRET_ARN)
        for name, value in SMALL_TIMEOUTS.items():
            monkeypatch.setenv(name, value)
        reset_service_caches()
        route = next(route for route in functions()["ChecklistFunction"].routes if route.method == "GET")
        context = lambda_context(route)
        started = time.monotonic()
        response = send(route, claims=admin_claims(ORG), context=context)
        elapsed = time.monotonic() - started
    assert_contract_error(response, 503)
    assert response.json["error"]["code"] == "database_unavailable"
    assert elapsed < GENEROUS_BOUND_SECONDS
    assert context.get_remaining_time_in_millis() > 0


def test_an_eventbridge_that_never_answers_leaves_the_request_successful_and_the_event_pending(
    org, bus, db: Session, fake_credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import select

    from onboarding.models import OutboxEvent

    with silent_listener() as port:
        monkeypatch.setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", f"http://127.0.0.1:{port}")
        for name, value in SMALL_TIMEOUTS.items():
            monkeypatch.setenv(name, value)
        reset_service_caches()
        route = next(r for r in functions()["OnboardingFunction"].routes if r.route_key.endswith("skip"))
        context = lambda_context(route)
        started = time.monotonic()
        response = send(route, claims=admin_claims(ORG), context=context)
        elapsed = time.monotonic() - started
    reset_service_caches()
    assert response.status == 200, response
    assert elapsed < GENEROUS_BOUND_SECONDS
    [row] = db.execute(select(OutboxEvent.sent_at, OutboxEvent.attempts, OutboxEvent.last_error)).all()
    assert (row.sent_at, row.attempts) == (None, 1)
    assert "timeout" in (row.last_error or "").lower()


def test_the_limits_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.model_validate(SMALL_TIMEOUTS)
    assert (settings.aws_connect_timeout_seconds, settings.aws_read_timeout_seconds) == (0.5, 0.5)
    assert aws.worst_case_seconds(settings) == 2 * (0.5 + 0.5) + 1
    with pytest.raises(ValueError, match="AWS_CLIENT_MAX_ATTEMPTS"):
        Settings.model_validate({"AWS_CLIENT_MAX_ATTEMPTS": "0"})
