"""The onboarding routes publish their domain events: written in the request's transaction, sent to
EventBridge right after its commit (moto bus with an SQS target), never for a change that rolled back,
and left to the scheduled publisher when EventBridge fails."""

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from functions.outbox_publisher.app import lambda_handler as publisher
from onboarding import container
from onboarding.domain_events import DomainEventType
from onboarding.models import OnboardingMetric, OnboardingState, OutboxEvent
from onboarding.published_events import PUBLISHED_DETAIL_MODELS
from tests.aws_capture import BUS, SOURCE, EventCapture, use_bus
from tests.concurrency import fresh_handler, run_together
from tests.fixtures import admin_claims
from tests.host_rows import add_real_rows
from tests.sql_statements import recorded_statements
from tests.wizard_steps import complete_steps, step_body
from tools.lambda_events import EVENTS_DIR, http_api_event, local_context
from tools.local_db import ROOT

ORG = "org_a"  # the `org` fixture's
OUTBOX_INSERT = "INSERT INTO onboarding_outbox"


def request(api, method: str, path: str, body: Any = None, org_id: str = ORG):
    return api(method, path, claims=admin_claims(org_id), body=body)


def state_row(db: Session, org_id: str = ORG) -> OnboardingState:
    db.expire_all()
    return db.scalars(select(OnboardingState).where(OnboardingState.organization_id == org_id)).one()


def outbox_rows(db: Session) -> list[OutboxEvent]:
    db.expire_all()
    return list(db.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at, OutboxEvent.id)))


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def only_event(bus: EventCapture, detail_type: str) -> dict[str, Any]:
    """The one event of `detail_type` the bus received (and checks it against its published schema)."""
    received = [event for event in bus.received() if event["detail-type"] == detail_type]
    assert len(received) == 1, received
    [event] = received
    assert event["source"] == SOURCE
    PUBLISHED_DETAIL_MODELS[DomainEventType(detail_type)].model_validate(event["detail"])
    return event


def run_publisher() -> dict[str, Any]:
    scheduled = json.loads((EVENTS_DIR / "outbox_publisher_scheduled.json").read_text())
    summary: dict[str, Any] = publisher(scheduled, local_context(timeout_seconds=60))
    return summary


@pytest.fixture
def statements() -> Iterator[list[str]]:
    with recorded_statements() as seen:
        yield seen


def outbox_inserts(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().startswith(OUTBOX_INSERT)]


# --- Each event, once, with its detail ---


def test_saving_step_5_publishes_onboarding_completed(api, org, bus, db) -> None:
    complete_steps(api, org, through=4)
    # Steps 1-3 cause no event; step 4 invites its volunteers.
    assert [event["detail-type"] for event in bus.received()] == ["VolunteersInvited"]

    assert request(api, "PUT", "/v1/onboarding/wizard/steps/5", step_body(5)).status == 200

    event = only_event(bus, "OnboardingCompleted")
    detail, state = event["detail"], state_row(db)
    [metric] = db.scalars(select(OnboardingMetric).where(OnboardingMetric.event_type == "wizard_completed"))
    assert detail["organization_id"] == org
    assert when(detail["started_at"]) == state.started_at
    assert when(detail["completed_at"]) == state.completed_at
    assert detail["completion_time_minutes"] == metric.completion_time_minutes
    [row] = [row for row in outbox_rows(db) if row.event_type == "OnboardingCompleted"]
    assert detail["event_id"] == row.id
    assert row.sent_at is not None


def test_saving_step_5_again_publishes_nothing_more(api, org, bus, db) -> None:
    complete_steps(api, org, through=5)
    bus.received()

    assert request(api, "PUT", "/v1/onboarding/wizard/steps/5", step_body(5)).status == 200
    assert request(api, "PUT", "/v1/onboarding/wizard/steps/1", step_body(1)).status == 200

    assert bus.received() == []
    assert [row.event_type for row in outbox_rows(db)] == ["VolunteersInvited", "OnboardingCompleted"]


def test_skipping_publishes_onboarding_skipped_with_the_step_skipped_from(api, org, bus, db) -> None:
    complete_steps(api, org, through=2)

    assert request(api, "POST", "/v1/onboarding/wizard/skip").status == 200

    detail = only_event(bus, "OnboardingSkipped")["detail"]
    assert detail["organization_id"] == org
    assert detail["wizard_step"] == 3
    assert when(detail["skipped_at"]) == state_row(db).skipped_at


def test_skipping_twice_publishes_one_event(api, org, bus, db) -> None:
    assert request(api, "POST", "/v1/onboarding/wizard/skip").status == 200
    assert request(api, "POST", "/v1/onboarding/wizard/skip").status == 200

    only_event(bus, "OnboardingSkipped")
    assert len(outbox_rows(db)) == 1


def test_skipping_again_after_resuming_publishes_a_new_skip(api, org, bus) -> None:
    request(api, "POST", "/v1/onboarding/wizard/skip")
    request(api, "PUT", "/v1/onboarding/wizard/steps/1", step_body(1))
    request(api, "POST", "/v1/onboarding/wizard/skip")

    skips = [event["detail"]["wizard_step"] for event in bus.received()]
    assert skips == [1, 2]


def test_reading_the_state_publishes_a_feature_it_unlocks(api, org, bus, db) -> None:
    add_real_rows(db, org, events=5)

    assert request(api, "GET", "/v1/onboarding").status == 200

    detail = only_event(bus, "FeatureUnlocked")["detail"]
    assert detail["organization_id"] == org
    assert detail["feature_id"] == "recurring_events"
    assert when(detail["unlocked_at"]) == state_row(db).updated_at


def test_an_unlock_already_stored_publishes_nothing_more(api, org, bus, db) -> None:
    add_real_rows(db, org, events=5)
    request(api, "GET", "/v1/onboarding")
    bus.received()

    request(api, "GET", "/v1/onboarding")
    request(api, "PUT", "/v1/onboarding/preferences", {"show_all_features": True})
    request(api, "POST", "/v1/onboarding/wizard/skip")

    assert [event["detail-type"] for event in bus.received()] == ["OnboardingSkipped"]
    assert [row.event_type for row in outbox_rows(db)] == ["FeatureUnlocked", "OnboardingSkipped"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/onboarding", None),
        ("PUT", "/v1/onboarding/preferences", {"show_all_features": True}),
        ("PUT", "/v1/onboarding/wizard/steps/1", step_body(1)),
    ],
)
def test_every_route_that_stores_an_unlock_publishes_it(api, org, bus, db, method, path, body) -> None:
    add_real_rows(db, org, volunteers=10)

    assert request(api, method, path, body).status == 200

    assert only_event(bus, "FeatureUnlocked")["detail"]["feature_id"] == "sms_notifications"


def test_generating_sample_data_publishes_sample_data_generated(api, org, bus) -> None:
    response = request(api, "POST", "/v1/onboarding/sample-data", {"size": "standard", "expiry_days": 7})
    assert response.status == 201

    detail = only_event(bus, "SampleDataGenerated")["detail"]
    assert detail["organization_id"] == org
    assert detail["size"] == "standard"
    assert detail["counts"] == {"events": 5, "teams": 3, "volunteers": 15, "assignments": 45}
    assert when(detail["generated_at"]) == when(response.json["generated_at"])
    assert when(detail["expires_at"]) == when(response.json["expires_at"])


def test_deleting_sample_data_publishes_sample_data_cleared(api, org, bus, db) -> None:
    request(api, "POST", "/v1/onboarding/sample-data", {"size": "minimal"})
    bus.received()

    response = request(api, "DELETE", "/v1/onboarding/sample-data")
    assert response.status == 200

    detail = only_event(bus, "SampleDataCleared")["detail"]
    assert detail["organization_id"] == org
    assert detail["reason"] == "manual"
    assert detail["counts"] == {"events": 2, "teams": 1, "volunteers": 5, "assignments": 10}
    assert when(detail["cleared_at"]) == state_row(db).updated_at


def test_deleting_sample_data_twice_publishes_one_event(api, org, bus, db) -> None:
    request(api, "POST", "/v1/onboarding/sample-data", {"size": "minimal"})
    request(api, "DELETE", "/v1/onboarding/sample-data")
    request(api, "DELETE", "/v1/onboarding/sample-data")

    assert [event["detail-type"] for event in bus.received()] == ["SampleDataGenerated", "SampleDataCleared"]


def test_deleting_when_there_is_no_sample_data_publishes_nothing(api, org, bus, db) -> None:
    assert request(api, "DELETE", "/v1/onboarding/sample-data").status == 200

    assert bus.received() == []
    assert outbox_rows(db) == []


def test_events_carry_only_the_callers_organization(api, org, make_org, bus, db) -> None:
    make_org("org_other")
    add_real_rows(db, "org_other", events=5)  # the other organization reached a milestone
    request(api, "POST", "/v1/onboarding", org_id="org_other")
    bus.received()

    request(api, "POST", "/v1/onboarding/wizard/skip")

    [event] = bus.received()
    assert event["detail"]["organization_id"] == org
    assert state_row(db, "org_other").skipped is False


def test_concurrent_reads_publish_an_unlock_once(api, org, bus, db) -> None:
    add_real_rows(db, org, events=5)
    event = http_api_event("GET", "/v1/onboarding", claims=admin_claims(org))

    statuses = run_together([partial(read_in_own_container, event)] * 4)

    assert statuses == [200] * 4
    # Each request runs in its own forked process (its own moto copy), so the database tells: one
    # event was written, and it was published (marked sent) by the request that stored the unlock.
    [row] = outbox_rows(db)
    assert row.event_type == "FeatureUnlocked"
    assert row.sent_at is not None


def read_in_own_container(event: dict[str, Any]) -> int:
    status: int = fresh_handler()(event, local_context())["statusCode"]
    return status


# --- Round trips ---


def test_a_request_writes_all_its_events_in_one_statement(api, org, bus, db, statements) -> None:
    complete_steps(api, org, through=4)
    add_real_rows(db, org, events=5, volunteers=10, assignments=10)  # three milestones reached
    bus.received()  # step 4's invitations
    statements.clear()

    assert request(api, "PUT", "/v1/onboarding/wizard/steps/5", step_body(5)).status == 200

    assert len(outbox_inserts(statements)) == 1
    assert sorted(event["detail-type"] for event in bus.received()) == [
        "FeatureUnlocked",
        "FeatureUnlocked",
        "FeatureUnlocked",
        "OnboardingCompleted",
    ]


def test_publishing_after_commit_costs_one_claim_and_one_update(api, org, bus, statements) -> None:
    statements.clear()

    assert request(api, "POST", "/v1/onboarding/wizard/skip").status == 200

    outbox_statements = [s.split()[0] for s in statements if "onboarding_outbox" in s]
    assert outbox_statements == ["INSERT", "SELECT", "UPDATE"]


def test_a_request_that_causes_no_event_sends_no_outbox_statement(api, org, bus, statements) -> None:
    statements.clear()

    assert request(api, "PUT", "/v1/onboarding/wizard/steps/1", step_body(1)).status == 200
    assert request(api, "GET", "/v1/onboarding").status == 200

    assert not [s for s in statements if "onboarding_outbox" in s]
    assert bus.received() == []


# --- Rollback: never an event without its change, nor a change without its event ---


@pytest.fixture
def failing_trigger(engine, db) -> Iterator[Any]:
    """Install a trigger that makes the database refuse a write (a serialization failure: 503)."""
    installed: list[str] = []

    def install(table: str, when_clause: str, timing: str = "BEFORE UPDATE") -> None:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "CREATE FUNCTION refuse_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    "RAISE EXCEPTION 'refused by the test' USING ERRCODE = '40001'; END $$"
                )
            )
            connection.execute(
                text(
                    f"CREATE TRIGGER refuse_write {timing} ON {table} FOR EACH ROW "
                    f"WHEN ({when_clause}) EXECUTE FUNCTION refuse_write()"
                )
            )
        installed.append(table)

    yield install
    db.rollback()  # the checking session's open transaction would block the DROP
    with engine.begin() as connection:
        for table in installed:
            connection.execute(text(f"DROP TRIGGER refuse_write ON {table}"))
        connection.execute(text("DROP FUNCTION IF EXISTS refuse_write()"))


def test_a_change_that_fails_after_its_event_was_enqueued_publishes_nothing(
    api, org, bus, db, failing_trigger
) -> None:
    complete_steps(api, org, through=4)
    invited = outbox_rows(db)
    bus.received()
    # The wizard's state is written after the event is enqueued: make that write fail.
    failing_trigger("onboarding_state", "NEW.wizard_completed")

    response = request(api, "PUT", "/v1/onboarding/wizard/steps/5", step_body(5))

    assert response.status == 503
    assert state_row(db).wizard_completed is False
    assert [row.id for row in outbox_rows(db)] == [row.id for row in invited]
    assert bus.received() == []


def test_a_change_whose_event_cannot_be_written_is_rolled_back(api, org, bus, db, failing_trigger) -> None:
    failing_trigger("onboarding_outbox", "TRUE", timing="BEFORE INSERT")

    response = request(api, "POST", "/v1/onboarding/wizard/skip")

    assert response.status == 503
    assert state_row(db).skipped is False
    assert bus.received() == []


# --- EventBridge failing: the request succeeds, the publisher sends the event later ---


def test_when_put_events_fails_the_request_succeeds_and_the_event_stays_pending(
    api, org, bus, db, monkeypatch
) -> None:
    use_bus(monkeypatch, "no-such-bus")

    response = request(api, "POST", "/v1/onboarding/wizard/skip")

    assert response.status == 200
    assert response.json["skipped"] is True
    [row] = outbox_rows(db)
    assert (row.sent_at, row.attempts) == (None, 1)
    assert row.last_error is not None and "ResourceNotFoundException" in row.last_error
    assert bus.received() == []


def test_an_event_a_request_could_not_publish_is_sent_by_the_publisher_once(
    api, org, bus, db, monkeypatch
) -> None:
    use_bus(monkeypatch, "no-such-bus")
    request(api, "POST", "/v1/onboarding/wizard/skip")
    use_bus(monkeypatch, BUS)

    first, second = run_publisher(), run_publisher()

    assert (first["sent"], second["sent"]) == (1, 0)
    [row] = outbox_rows(db)
    assert only_event(bus, "OnboardingSkipped")["detail"]["event_id"] == row.id
    assert row.sent_at is not None
    assert (row.attempts, row.last_error) == (2, None)  # the request's failed try, the publisher's


def test_an_unreachable_eventbridge_never_fails_the_request(api, org, bus, db, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", "http://127.0.0.1:9")  # connection refused
    container.reset()

    response = request(api, "POST", "/v1/onboarding/sample-data", {"size": "minimal"})

    assert response.status == 201
    [row] = outbox_rows(db)
    assert row.sent_at is None
    assert row.last_error is not None and "EndpointConnectionError" in row.last_error


def test_without_a_bus_the_request_leaves_its_events_pending(api, org, db, monkeypatch) -> None:
    monkeypatch.delenv("EVENT_BUS_NAME", raising=False)

    assert request(api, "POST", "/v1/onboarding/wizard/skip").status == 200

    [row] = outbox_rows(db)
    assert (row.event_type, row.sent_at, row.attempts) == ("OnboardingSkipped", None, 0)


# --- Cold starts: boto3 only when a request has something to publish ---


def handle_in_fresh_interpreter(database_url: str, method: str, path: str) -> set[str]:
    """Run one request through the onboarding function in a new Python process; its loaded modules."""
    event = http_api_event(method, path, claims=admin_claims(ORG))
    code = (
        "import json, sys\n"
        "from functions.onboarding.app import lambda_handler\n"
        "from tools.lambda_events import local_context\n"
        f"response = lambda_handler(json.loads({json.dumps(json.dumps(event))}), local_context())\n"
        "assert response['statusCode'] == 200, response\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    env = {
        "PYTHONPATH": f"{ROOT}:{ROOT / 'layers' / 'shared'}",
        "DATABASE_URL": database_url,
        "DB_TLS": "disable",
        "EVENT_BUS_NAME": BUS,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        # Nothing listens there: a publish fails at once, offline (the request still succeeds).
        "AWS_ENDPOINT_URL_EVENTBRIDGE": "http://127.0.0.1:9",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, env=env
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def boto3_loaded(modules: set[str]) -> bool:
    # Powertools imports the bare `botocore` package (its __init__ only) for its user-agent hook.
    return any(name.startswith(("boto3", "botocore.")) for name in modules)


def test_a_request_that_causes_no_event_does_not_import_boto3(org, database_url) -> None:
    modules = handle_in_fresh_interpreter(database_url, "GET", "/v1/onboarding")
    assert "onboarding.outbox" in modules
    assert "onboarding.publisher" not in modules
    assert not boto3_loaded(modules)


def test_a_request_with_an_event_imports_boto3_to_publish_it(org, database_url) -> None:
    modules = handle_in_fresh_interpreter(database_url, "POST", "/v1/onboarding/wizard/skip")
    assert boto3_loaded(modules)
