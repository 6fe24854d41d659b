"""The host's OrganizationCreated event starts onboarding once; what cannot be processed goes to the DLQ."""

import copy
import json
from typing import Any

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import select
from sqlalchemy.orm import Session

from functions.organization_created.app import lambda_handler
from onboarding import container, host_events
from onboarding.models import OnboardingMetric, OnboardingState, OutboxEvent
from tests.aws_capture import queue_messages
from tests.host_rows import add_real_rows
from tools.lambda_events import EVENTS_DIR, local_context

CANONICAL = json.loads((EVENTS_DIR / "organization_created.json").read_text())


def organization_created(**detail: Any) -> dict[str, Any]:
    """The canonical event file with `detail` fields replaced (None removes a field)."""
    event: dict[str, Any] = copy.deepcopy(CANONICAL)
    event["detail"].update(detail)
    event["detail"] = {key: value for key, value in event["detail"].items() if value is not None}
    return event


def invoke(event: Any) -> dict[str, Any]:
    result: dict[str, Any] = lambda_handler(event, local_context(function_name="OrganizationCreatedFunction"))
    return result


@pytest.fixture
def dlq(database_url, monkeypatch) -> Any:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        container.reset()
        queue_url = boto3.client("sqs").create_queue(QueueName="organization-created-dlq")["QueueUrl"]
        monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", queue_url)
        container.reset()
        yield queue_url
    container.reset()


def states(db: Session) -> list[OnboardingState]:
    db.expire_all()
    return list(db.scalars(select(OnboardingState)))


def test_organization_created_starts_onboarding_at_step_one(make_org, db: Session, dlq) -> None:
    make_org("org_demo")

    result = invoke(organization_created())

    assert result == {"status": "created", "organization_id": "org_demo"}
    [state] = states(db)
    assert (state.organization_id, state.wizard_current_step, state.wizard_completed) == (
        "org_demo",
        1,
        False,
    )
    assert db.scalars(select(OnboardingMetric.event_type)).all() == ["wizard_started"]


def test_a_redelivered_or_duplicate_event_changes_nothing(make_org, db: Session, dlq) -> None:
    make_org("org_demo")
    first = invoke(organization_created())
    started_at = states(db)[0].started_at
    redelivered = invoke(organization_created())
    duplicate = invoke({**organization_created(), "id": "0b7a6c5d-0000-4000-8000-000000000001"})

    assert first["status"] == "created"
    assert redelivered["status"] == duplicate["status"] == "unchanged"
    [state] = states(db)
    assert state.started_at == started_at
    assert db.scalars(select(OnboardingMetric.event_type)).all() == ["wizard_started"]
    assert queue_messages(dlq) == []


def test_onboarding_started_through_the_api_first_is_left_as_it_is(make_org, call, db: Session, dlq) -> None:
    from functions.onboarding.app import lambda_handler as onboarding_api
    from tests.fixtures import admin_claims

    make_org("org_demo")
    assert call(onboarding_api)("POST", "/v1/onboarding", claims=admin_claims("org_demo")).status == 201

    assert invoke(organization_created())["status"] == "unchanged"
    assert len(states(db)) == 1


def test_fields_the_host_adds_to_its_event_are_ignored(make_org, db: Session, dlq) -> None:
    make_org("org_demo")
    assert invoke(organization_created(plan="pro", owner_user_id="u_1"))["status"] == "created"


@pytest.mark.parametrize(
    ("case", "event"),
    [
        ("no organization id", organization_created(organization_id=None)),
        ("organization id not a string", organization_created(organization_id=42)),
        ("organization id with a NUL byte", organization_created(organization_id="org\x00demo")),
        ("organization id too long", organization_created(organization_id="o" * 51)),
        ("organization id with spaces", organization_created(organization_id="org demo")),
        ("detail not an object", {**CANONICAL, "detail": "org_demo"}),
        ("no detail", {key: value for key, value in CANONICAL.items() if key != "detail"}),
        ("not an EventBridge event", {"organization_id": "org_demo"}),
        ("not an object at all", ["org_demo"]),
    ],
)
def test_a_malformed_event_is_dead_lettered_and_not_retried(make_org, db: Session, dlq, case, event) -> None:
    make_org("org_demo")

    result = invoke(event)  # returns normally: Lambda does not retry it

    assert result == {"status": "dead_lettered", "reason": "malformed_event"}
    [message] = queue_messages(dlq)
    assert json.loads(message["Body"]) == event
    assert message["MessageAttributes"]["reason"]["StringValue"] == "malformed_event"
    assert states(db) == []


def test_the_dead_letter_reason_names_the_field_not_its_value(dlq) -> None:
    invoke(organization_created(organization_id="org demo with a secret"))

    [message] = queue_messages(dlq)
    error = message["MessageAttributes"]["error"]["StringValue"]
    assert "detail.organization_id" in error
    assert "secret" not in error


def test_an_event_for_an_unknown_organization_fails_so_lambda_retries_it(db: Session, dlq) -> None:
    with pytest.raises(host_events.UnknownOrganization):
        invoke(organization_created(organization_id="org_not_yet_visible"))

    assert states(db) == []
    assert db.scalars(select(OnboardingMetric)).all() == []
    # Not parked by the function: after Lambda's retries, its on-failure destination gets the event.
    assert queue_messages(dlq) == []


def test_a_retried_event_succeeds_once_the_organization_exists(make_org, db: Session, dlq) -> None:
    event = organization_created(organization_id="org_late")
    with pytest.raises(host_events.UnknownOrganization):
        invoke(event)
    make_org("org_late")

    assert invoke(event)["status"] == "created"


def test_without_a_dead_letter_queue_a_malformed_event_fails_the_invocation(
    database_url, monkeypatch
) -> None:
    monkeypatch.delenv("DEAD_LETTER_QUEUE_URL", raising=False)
    container.reset()

    with pytest.raises(RuntimeError, match="DEAD_LETTER_QUEUE_URL"):
        invoke(organization_created(organization_id=None))


# --- Domain events ---


def test_milestones_the_organization_already_reached_are_published_as_unlocks(
    make_org, db: Session, bus
) -> None:
    make_org("org_demo")
    add_real_rows(db, "org_demo", events=5)  # the host imported its calendar before the event arrived

    invoke(organization_created())
    invoke(organization_created())  # redelivered

    [event] = bus.received()
    assert event["detail-type"] == "FeatureUnlocked"
    assert (event["detail"]["organization_id"], event["detail"]["feature_id"]) == (
        "org_demo",
        "recurring_events",
    )
    assert db.scalars(select(OutboxEvent.sent_at)).one() is not None


def test_a_new_organization_without_activity_causes_no_event(make_org, db: Session, bus) -> None:
    make_org("org_demo")

    invoke(organization_created())

    assert bus.received() == []
    assert db.scalars(select(OutboxEvent)).all() == []
