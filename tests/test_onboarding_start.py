"""POST/GET /v1/onboarding through the real handler: start once, read state, contract errors."""

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from functions.onboarding.app import lambda_handler
from onboarding import container
from onboarding.models import OnboardingMetric, OnboardingState
from tests.fixtures import admin_claims


def test_start_creates_state_once_then_returns_it(call, make_org, db: Session) -> None:
    make_org("org_a")
    api = call(lambda_handler)
    first = api("POST", "/v1/onboarding", claims=admin_claims("org_a"))
    again = api("POST", "/v1/onboarding", claims=admin_claims("org_a"))
    assert (first.status, again.status) == (201, 200)
    assert first.json == again.json
    assert first.json["wizard_current_step"] == 1
    assert db.scalars(select(OnboardingState.organization_id)).all() == ["org_a"]


def test_start_emits_wizard_started_once(call, make_org, db: Session) -> None:
    make_org("org_a")
    api = call(lambda_handler)
    api("POST", "/v1/onboarding", claims=admin_claims("org_a"))
    api("POST", "/v1/onboarding", claims=admin_claims("org_a"))
    assert db.scalars(select(OnboardingMetric.event_type)).all() == ["wizard_started"]


def test_start_records_the_entry_point_on_wizard_started(api, new_org, db: Session) -> None:
    response = api("POST", "/v1/onboarding", body={"entry_point": "invitation_email"})
    assert response.status == 201
    started = db.scalars(select(OnboardingMetric)).one()
    assert (started.event_type, started.event_data) == ("wizard_started", {"entry_point": "invitation_email"})


def test_start_takes_no_body_or_an_empty_one(api, make_org, db: Session) -> None:
    for org, body in (("org_a", None), ("org_b", {}), ("org_c", {"entry_point": None})):
        make_org(org)
        assert api("POST", "/v1/onboarding", org=org, body=body).status == 201
    assert [metric.event_data for metric in db.scalars(select(OnboardingMetric))] == [{}, {}, {}]


def test_a_second_start_keeps_the_first_entry_point(api, new_org, db: Session) -> None:
    api("POST", "/v1/onboarding", body={"entry_point": "signup_flow"})
    assert api("POST", "/v1/onboarding", body={"entry_point": "dashboard_banner"}).status == 200
    assert [m.event_data for m in db.scalars(select(OnboardingMetric))] == [{"entry_point": "signup_flow"}]


@pytest.mark.parametrize(
    "body",
    [
        {"entry_point": "Signup Flow"},
        {"entry_point": "x" * 51},
        {"entry_point": 1},
        {"entry_point": "signup\u0000"},
        {"source": "web"},
        ["signup_flow"],
    ],
)
def test_a_bad_start_body_is_422_and_starts_nothing(api, new_org, db: Session, body) -> None:
    response = api("POST", "/v1/onboarding", body=body)
    assert response.status == 422
    assert db.scalars(select(OnboardingState)).all() == []


def test_get_before_start_is_404(call, make_org) -> None:
    make_org("org_a")
    response = call(lambda_handler)("GET", "/v1/onboarding", claims=admin_claims("org_a"))
    assert response.status == 404
    assert response.json["error"]["code"] == "onboarding_not_started"


def test_start_for_an_unknown_organization_is_404_and_writes_nothing(call, db: Session) -> None:
    response = call(lambda_handler)("POST", "/v1/onboarding", claims=admin_claims("org_ghost"))
    assert response.status == 404
    assert db.scalars(select(OnboardingMetric)).all() == []


def test_get_returns_the_callers_state_only(call, make_org) -> None:
    make_org("org_a")
    make_org("org_b")
    api = call(lambda_handler)
    api("POST", "/v1/onboarding", claims=admin_claims("org_a"))
    assert api("GET", "/v1/onboarding", claims=admin_claims("org_b")).status == 404
    assert api("GET", "/v1/onboarding", claims=admin_claims("org_a")).json["organization_id"] == "org_a"


def test_missing_claims_are_401_in_the_contract_shape(call) -> None:
    response = call(lambda_handler)("GET", "/v1/onboarding", claims={})
    assert response.status == 401
    assert set(response.json["error"]) == {"code", "message", "details", "localized_message"}


def test_wrong_group_is_403(call) -> None:
    response = call(lambda_handler)(
        "GET", "/v1/onboarding", claims={"custom:org_id": "org_a", "cognito:groups": "[member]"}
    )
    assert response.status == 403


def test_wrong_method_is_405_with_allow_header(call) -> None:
    response = call(lambda_handler)("DELETE", "/v1/onboarding")
    assert response.status == 405
    assert response.headers["Allow"] == "GET, POST"


def test_unknown_route_is_404_json(call) -> None:
    response = call(lambda_handler)("GET", "/v1/nothing-here")
    assert response.status == 404
    assert response.json["error"]["code"] == "route_not_found"


def test_body_over_the_limit_is_413(call) -> None:
    response = call(lambda_handler)("POST", "/v1/onboarding", raw_body="x" * (64 * 1024 + 1))
    assert response.status == 413
    assert response.json["error"]["code"] == "payload_too_large"


def test_database_outage_is_503_and_the_next_request_recovers(call, make_org, monkeypatch) -> None:
    make_org("org_a")
    api = call(lambda_handler)
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:9/none")
    monkeypatch.setenv("DB_SOCKET_TIMEOUT_SECONDS", "1")
    container.reset()
    outage = api("GET", "/v1/onboarding", claims=admin_claims("org_a"))
    monkeypatch.undo()
    container.reset()
    assert outage.status == 503
    assert outage.json["error"]["code"] == "database_unavailable"
    assert api("POST", "/v1/onboarding", claims=admin_claims("org_a")).status == 201
