"""Domain events through the transactional outbox: written with the change, published after commit,
retried by the scheduled publisher, sent once per row (moto EventBridge, real PostgreSQL)."""

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, event, insert, select
from sqlalchemy.orm import Session

from functions.outbox_publisher.app import lambda_handler as outbox_publisher
from onboarding import container, outbox, publisher
from onboarding.db import get_engine, unit_of_work
from onboarding.domain_events import DETAIL_MODELS, DomainEventType, EventDetail
from onboarding.errors import InvalidInput
from onboarding.models import OutboxEvent
from onboarding.published_events import PUBLISHED_DETAIL_MODELS
from onboarding.settings import Settings, get_settings
from tests.aws_capture import BUS, SOURCE, EventCapture, use_bus
from tests.fixtures import python_imports
from tools.lambda_events import EVENTS_DIR, local_context

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
COUNTS = {"events": 5, "teams": 3, "volunteers": 15, "assignments": 45}
DETAILS: dict[DomainEventType, dict[str, Any]] = {
    DomainEventType.ONBOARDING_COMPLETED: {
        "started_at": NOW - timedelta(minutes=42),
        "completed_at": NOW,
        "completion_time_minutes": 42,
    },
    DomainEventType.ONBOARDING_SKIPPED: {"skipped_at": NOW, "wizard_step": 2},
    DomainEventType.FEATURE_UNLOCKED: {"feature_id": "recurring_events", "unlocked_at": NOW},
    DomainEventType.SAMPLE_DATA_GENERATED: {
        "size": "standard",
        "counts": COUNTS,
        "generated_at": NOW,
        "expires_at": NOW + timedelta(days=30),
    },
    DomainEventType.SAMPLE_DATA_CLEARED: {"reason": "expired", "counts": COUNTS, "cleared_at": NOW},
    DomainEventType.VOLUNTEERS_INVITED: {
        "person_ids": ["person_1", "person_2"],
        "send_immediately": True,
        "has_note": False,
        "invited_at": NOW,
    },
}


def detail(event_type: DomainEventType) -> EventDetail:
    return DETAIL_MODELS[event_type].model_validate(DETAILS[event_type])


SKIPPED = detail(DomainEventType.ONBOARDING_SKIPPED)


def publishing() -> Any:
    """A unit of work that publishes its events after its commit, as a request's does."""
    return unit_of_work(after_commit=publisher.publish_after_commit)


def commit_events(*events: EventDetail, org_id: str = "org_a") -> list[str]:
    """A request's unit of work that stages `events`, then publishes them after its commit."""
    with publishing() as session:
        return [outbox.stage(session, org_id, event) for event in events]


def stored(db: Session) -> list[OutboxEvent]:
    db.expire_all()
    return list(db.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at, OutboxEvent.id)))


def run_publisher(**context: Any) -> dict[str, Any]:
    scheduled = json.loads((EVENTS_DIR / "outbox_publisher_scheduled.json").read_text())
    context = {"function_name": "OutboxPublisherFunction", "timeout_seconds": 60, **context}
    summary: dict[str, Any] = outbox_publisher(scheduled, local_context(**context))
    return summary


class FailingEntries:
    """An EventBridge client that rejects the entries for `event_ids` (as PutEvents reports a partial
    failure: FailedEntryCount plus an ErrorCode per entry) and hands the others to moto."""

    def __init__(self, event_ids: set[str]) -> None:
        self.event_ids = event_ids
        self.real = publisher.events_client()

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        rejected = [json.loads(entry["Detail"])["event_id"] in self.event_ids for entry in Entries]
        passed = [entry for entry, reject in zip(Entries, rejected, strict=True) if not reject]
        accepted = iter(self.real.put_events(Entries=passed)["Entries"] if passed else [])
        results = [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "try again"} if reject else next(accepted)
            for reject in rejected
        ]
        return {"FailedEntryCount": sum(rejected), "Entries": results}


class Recording:
    """An EventBridge client that records each PutEvents call before moto handles it."""

    def __init__(self) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.real = publisher.events_client()

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.calls.append(Entries)
        return self.real.put_events(Entries=Entries)


class Blocking(Recording):
    """Holds its first PutEvents call until released, to overlap two publishers deterministically."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.entered.set()
        assert self.release.wait(timeout=30)
        return super().put_events(Entries=Entries)


# --- Writing events ---


@pytest.mark.parametrize("event_type", list(DomainEventType))
def test_each_event_type_is_published_once_with_its_detail(bus: EventCapture, db, event_type) -> None:
    [event_id] = commit_events(detail(event_type))

    [received] = bus.received()
    [row] = stored(db)
    assert received["source"] == SOURCE
    assert received["detail-type"] == event_type.value
    assert received["detail"] == {
        "event_id": event_id,
        "organization_id": "org_a",
        "occurred_at": row.created_at.isoformat().replace("+00:00", "Z"),
        "schema_version": 1,
        **detail(event_type).model_dump(mode="json"),
    }
    PUBLISHED_DETAIL_MODELS[event_type].model_validate(received["detail"])
    assert row.sent_at is not None
    assert (row.attempts, row.last_error) == (1, None)


def test_a_rolled_back_change_leaves_no_event_and_sends_nothing(bus: EventCapture, db) -> None:
    with pytest.raises(InvalidInput), publishing() as session:
        outbox.stage(session, "org_a", SKIPPED)
        raise InvalidInput("the change itself failed after the event was written")

    assert stored(db) == []
    assert bus.received() == []


def test_events_of_one_type_are_written_in_one_statement(database_url, db) -> None:
    statements: list[str] = []
    service_engine = get_engine()

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(service_engine, "before_cursor_execute", count)
    try:
        with publishing() as session:
            cleared = detail(DomainEventType.SAMPLE_DATA_CLEARED)
            ids = outbox.stage_many(session, [(f"org_{n}", cleared) for n in range(25)])
    finally:
        event.remove(service_engine, "before_cursor_execute", count)

    assert len(ids) == 25
    assert sum("INSERT INTO onboarding_outbox" in statement for statement in statements) == 1
    assert {row.organization_id for row in stored(db)} == {f"org_{n}" for n in range(25)}


def test_events_of_a_rolled_back_transaction_are_not_written_by_a_later_commit(database_url, db) -> None:
    with unit_of_work() as session:
        outbox.stage(session, "org_rolled_back", SKIPPED)
        session.rollback()
        kept = outbox.stage(session, "org_kept", SKIPPED)
        assert outbox.staged_event_ids(session) == [kept]

    assert [(row.id, row.organization_id) for row in stored(db)] == [(kept, "org_kept")]


def test_a_detail_that_does_not_match_its_event_type_is_refused() -> None:
    with pytest.raises(ValidationError):
        DETAIL_MODELS[DomainEventType.FEATURE_UNLOCKED].model_validate(
            DETAILS[DomainEventType.ONBOARDING_SKIPPED]
        )


def test_a_detail_with_personal_data_fields_is_refused() -> None:
    fields = {**DETAILS[DomainEventType.ONBOARDING_COMPLETED], "admin_email": "pat@example.com"}
    with pytest.raises(ValidationError, match="admin_email"):
        DETAIL_MODELS[DomainEventType.ONBOARDING_COMPLETED].model_validate(fields)


def test_without_a_bus_events_wait_in_the_outbox(database_url, db) -> None:
    assert get_settings().event_bus_name is None
    commit_events(SKIPPED)
    [row] = stored(db)
    assert (row.sent_at, row.attempts) == (None, 0)


# --- Failures and retries ---


def test_when_put_events_fails_the_request_succeeds_and_the_event_stays_pending(bus, db, monkeypatch) -> None:
    use_bus(monkeypatch, "no-such-bus")
    [event_id] = commit_events(SKIPPED)  # no exception: the change is committed

    [row] = stored(db)
    assert row.id == event_id
    assert row.sent_at is None
    assert row.attempts == 1
    assert row.last_error is not None and "ResourceNotFoundException" in row.last_error
    assert bus.received() == []


def test_the_publisher_later_sends_a_failed_event_exactly_once(bus, db, monkeypatch) -> None:
    use_bus(monkeypatch, "no-such-bus")
    [event_id] = commit_events(SKIPPED)
    use_bus(monkeypatch, BUS)

    first = run_publisher()
    [row] = stored(db)
    sent_at = row.sent_at
    second = run_publisher()

    assert (first["sent"], second["sent"]) == (1, 0)
    assert [received["detail"]["event_id"] for received in bus.received()] == [event_id]
    [row] = stored(db)
    assert sent_at is not None and row.sent_at == sent_at
    assert (row.attempts, row.last_error) == (2, None)


def test_publishing_after_commit_never_fails_the_request_when_the_database_is_gone(bus, monkeypatch) -> None:
    [event_id] = commit_events(SKIPPED)
    try:
        with monkeypatch.context() as database_gone:
            database_gone.setenv("DATABASE_URL", "postgresql://onboarding@127.0.0.1:9/nowhere")  # refused
            container.reset()
            assert publisher.publish_after_commit([event_id]) is None  # logged, not raised
    finally:
        container.reset()


def test_rejected_entries_stay_pending_while_the_others_are_marked_sent(bus, db) -> None:
    with unit_of_work() as session:  # not published after commit: the test publishes
        ids = [outbox.stage(session, f"org_{n}", SKIPPED) for n in range(3)]

    report = publisher.publish_pending(client=FailingEntries({ids[1]}))

    assert (report.sent, report.failed, report.unavailable) == (2, 1, False)
    by_id = {row.id: row for row in stored(db)}
    assert by_id[ids[1]].sent_at is None
    assert by_id[ids[1]].last_error == "InternalFailure: try again"
    assert all(by_id[i].sent_at is not None for i in (ids[0], ids[2]))
    assert run_publisher()["sent"] == 1
    assert sorted(received["detail"]["event_id"] for received in bus.received()) == sorted(ids)


def test_publishing_an_already_sent_event_again_sends_nothing(bus, db) -> None:
    event_ids = commit_events(SKIPPED)
    [row] = stored(db)

    report = publisher.publish_pending(event_ids=event_ids)

    assert (report.sent, report.batches) == (0, 0)
    assert len(bus.received()) == 1
    assert stored(db)[0].sent_at == row.sent_at


# --- The scheduled publisher ---


def test_concurrent_publishers_never_send_the_same_event_twice(bus, db) -> None:
    with unit_of_work() as session:
        ids = outbox.stage_many(session, [(f"org_{n}", SKIPPED) for n in range(12)])

    slow = Blocking()
    results: dict[str, publisher.PublishReport] = {}
    first = threading.Thread(target=lambda: results.update(first=publisher.publish_pending(client=slow)))
    first.start()
    try:
        assert slow.entered.wait(timeout=30)
        results["second"] = publisher.publish_pending(client=Recording())  # while the first holds its rows
    finally:
        slow.release.set()
        first.join(timeout=30)

    assert results["second"].sent == 0
    assert results["first"].sent == 12
    assert sorted(received["detail"]["event_id"] for received in bus.received()) == sorted(ids)
    assert all(row.attempts == 1 for row in stored(db))


def test_the_publisher_sends_oldest_first_in_batches_of_at_most_ten(bus, db, database_url) -> None:
    db.execute(
        insert(OutboxEvent),
        [
            {
                "id": f"outbox_{n:02d}",
                "event_type": SKIPPED.event_type.value,
                "organization_id": "org_a",
                "detail": SKIPPED.model_dump(mode="json"),
                "created_at": NOW - timedelta(minutes=n),
            }
            for n in range(23)
        ],
    )
    db.commit()
    client = Recording()

    report = publisher.publish_pending(client=client, batch_size=20)

    assert (report.sent, report.batches) == (23, 2)
    assert [len(call) for call in client.calls] == [10, 10, 3]
    sent_order = [json.loads(entry["Detail"])["event_id"] for call in client.calls for entry in call]
    assert sent_order == [f"outbox_{n:02d}" for n in reversed(range(23))]


def test_the_publisher_stops_before_the_lambda_time_limit(bus, db) -> None:
    with unit_of_work() as session:
        outbox.stage(session, "org_a", SKIPPED)

    summary = run_publisher(timeout_seconds=20)  # less than the publisher's reserve is left

    assert (summary["sent"], summary["batches"], summary["pending"]) == (0, 0, 1)


def test_the_publisher_deletes_sent_events_after_the_retention_period(bus, db) -> None:
    old = {
        "event_type": SKIPPED.event_type.value,
        "organization_id": "org_a",
        "detail": {"skipped_at": NOW.isoformat(), "wizard_step": 1},
    }
    db.execute(
        insert(OutboxEvent),
        [
            {**old, "id": "outbox_expired", "sent_at": datetime.now(UTC) - timedelta(days=8)},
            {**old, "id": "outbox_recent", "sent_at": datetime.now(UTC) - timedelta(days=6)},
            {**old, "id": "outbox_pending", "created_at": datetime.now(UTC) - timedelta(days=30)},
        ],
    )
    db.commit()

    summary = run_publisher()

    assert summary["deleted_after_retention"] == 1
    assert {row.id for row in stored(db)} == {"outbox_recent", "outbox_pending"}


def test_the_publisher_reports_what_is_still_pending_when_eventbridge_is_down(bus, db, monkeypatch) -> None:
    use_bus(monkeypatch, "no-such-bus")
    commit_events(SKIPPED, SKIPPED)

    summary = run_publisher()

    assert summary["eventbridge_unavailable"] is True
    assert (summary["sent"], summary["failed"], summary["pending"]) == (0, 2, 2)
    assert all(row.attempts == 2 for row in stored(db))


def test_pending_rows_are_found_through_partial_indexes(engine: Engine, database_url) -> None:
    with engine.connect() as connection:
        definitions: dict[str, str] = dict(
            connection.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'onboarding_outbox'"
            ).all()
        )
    assert definitions["idx_outbox_pending"].endswith("(created_at, id) WHERE (sent_at IS NULL)")
    assert definitions["idx_outbox_sent_at"].endswith("(sent_at) WHERE (sent_at IS NOT NULL)")


# --- Cold starts ---


def test_importing_the_api_functions_does_not_import_boto3() -> None:
    modules = python_imports("import functions.onboarding.app, onboarding.publisher")
    # Powertools imports the bare `botocore` package (its __init__ only) for its user-agent hook.
    assert not {name for name in modules if name.startswith(("boto3", "botocore."))}


def test_a_request_without_events_does_not_import_boto3(database_url) -> None:
    code = (
        "from onboarding.api import publish_events\n"
        "from onboarding.db import unit_of_work\n"
        "from sqlalchemy import text\n"
        "with unit_of_work(after_commit=publish_events) as session:\n"
        "    session.execute(text('SELECT 1'))"
    )
    modules = python_imports(code, DATABASE_URL=database_url, DB_TLS="disable", EVENT_BUS_NAME=BUS)
    assert "onboarding.db" in modules and "sqlalchemy" in modules
    assert not {name for name in modules if name.startswith(("boto3", "botocore."))}


def test_an_event_source_reserved_by_aws_fails_the_cold_start() -> None:
    with pytest.raises(ValidationError, match="EVENT_SOURCE"):
        Settings.model_validate({"EVENT_SOURCE": "aws.onboarding"})
