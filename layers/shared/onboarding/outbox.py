"""Onboarding domain events, published to EventBridge through a transactional outbox.

A change and the event it causes are written in one transaction (`enqueue`: the events a transaction
enqueues are written in one multi-row INSERT just before it commits), so an event is never lost and
never sent for a change that rolled back. After the commit the request publishes its own
events (`publishing_unit_of_work` / `publish_after_commit`); whatever fails stays pending and the
scheduled publisher sends it later (`publish_pending`). Delivery is at-least-once: consumers
deduplicate on `detail.event_id`, the outbox row id.

Publishers claim rows with `SELECT ... FOR UPDATE SKIP LOCKED` and hold the row locks while calling
PutEvents, so two publishers never send the same row at the same time; a row is marked sent only
while it is still pending (`UPDATE ... WHERE sent_at IS NULL`). boto3 is imported on the publish path
only, and only when there is something to publish: the API functions' cold starts never pay for it.
"""

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any, Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import (
    Boolean,
    CursorResult,
    Row,
    String,
    case,
    column,
    delete,
    event,
    extract,
    func,
    insert,
    select,
    tuple_,
    update,
    values,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction

from onboarding.db import unit_of_work
from onboarding.errors import DomainError
from onboarding.ids import new_id
from onboarding.models import OutboxEvent
from onboarding.observability import logger
from onboarding.settings import Settings, get_settings

PUT_EVENTS_MAX_ENTRIES = 10  # EventBridge's limit per PutEvents call
LAST_ERROR_MAX_LENGTH = 500  # onboarding_outbox.last_error
SCHEMA_VERSION: Literal[1] = 1


class DomainEventType(StrEnum):
    """The EventBridge `detail-type` of each published event."""

    ONBOARDING_COMPLETED = "OnboardingCompleted"
    ONBOARDING_SKIPPED = "OnboardingSkipped"
    FEATURE_UNLOCKED = "FeatureUnlocked"
    SAMPLE_DATA_GENERATED = "SampleDataGenerated"
    SAMPLE_DATA_CLEARED = "SampleDataCleared"


# --- Event details (ids, counts and timestamps only: no names, emails or free text) ---


class _Detail(BaseModel):
    # Serialized details always carry every field, so the published schemas list them all as required.
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_serialization_defaults_required=True)


class SampleDataCounts(_Detail):
    """Rows per kind, as in the contract's sample-data sizes."""

    events: int = Field(ge=0)
    teams: int = Field(ge=0)
    volunteers: int = Field(ge=0)
    assignments: int = Field(ge=0)


class OnboardingCompleted(_Detail):
    """The organization finished the setup wizard (saved step 5)."""

    started_at: AwareDatetime
    completed_at: AwareDatetime
    completion_time_minutes: int = Field(ge=0, description="Whole minutes from start to completion.")


class OnboardingSkipped(_Detail):
    """The organization skipped the setup wizard."""

    skipped_at: AwareDatetime
    wizard_step: int = Field(ge=1, le=5, description="The wizard step the organization skipped from.")


class FeatureUnlocked(_Detail):
    """A feature unlocked by a milestone counted on real (not sample) rows; sent once per feature."""

    feature_id: str = Field(
        pattern=r"^[a-z][a-z0-9_]{0,49}$",
        examples=["recurring_events", "manual_editing", "sms_notifications"],
    )
    unlocked_at: AwareDatetime


class SampleDataGenerated(_Detail):
    """The organization generated sample data (rows marked `is_sample`, deleted when it expires)."""

    size: Literal["minimal", "standard", "comprehensive"]
    counts: SampleDataCounts
    generated_at: AwareDatetime
    expires_at: AwareDatetime


class SampleDataCleared(_Detail):
    """The organization's sample rows were deleted: by the organization, or by the nightly purge."""

    reason: Literal["manual", "expired"]
    counts: SampleDataCounts = Field(description="Sample rows deleted.")
    cleared_at: AwareDatetime


DETAIL_MODELS: dict[DomainEventType, type[_Detail]] = {
    DomainEventType.ONBOARDING_COMPLETED: OnboardingCompleted,
    DomainEventType.ONBOARDING_SKIPPED: OnboardingSkipped,
    DomainEventType.FEATURE_UNLOCKED: FeatureUnlocked,
    DomainEventType.SAMPLE_DATA_GENERATED: SampleDataGenerated,
    DomainEventType.SAMPLE_DATA_CLEARED: SampleDataCleared,
}


class EventEnvelope(BaseModel):
    """Fields every published detail starts with."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_serialization_defaults_required=True)

    event_id: str = Field(
        description="Stable id of this event: the same on every delivery, so deduplicate on it."
    )
    organization_id: str = Field(description="The SignUpFlow organization the event is about.")
    occurred_at: AwareDatetime = Field(description="When the change that caused the event committed.")
    schema_version: Literal[1] = Field(default=SCHEMA_VERSION, description="Bumped on breaking changes.")


# What consumers receive as `detail`: the envelope's fields, then the event's own.
class OnboardingCompletedDetail(OnboardingCompleted, EventEnvelope):
    pass


class OnboardingSkippedDetail(OnboardingSkipped, EventEnvelope):
    pass


class FeatureUnlockedDetail(FeatureUnlocked, EventEnvelope):
    pass


class SampleDataGeneratedDetail(SampleDataGenerated, EventEnvelope):
    pass


class SampleDataClearedDetail(SampleDataCleared, EventEnvelope):
    pass


PUBLISHED_DETAIL_MODELS: dict[DomainEventType, type[EventEnvelope]] = {
    DomainEventType.ONBOARDING_COMPLETED: OnboardingCompletedDetail,
    DomainEventType.ONBOARDING_SKIPPED: OnboardingSkippedDetail,
    DomainEventType.FEATURE_UNLOCKED: FeatureUnlockedDetail,
    DomainEventType.SAMPLE_DATA_GENERATED: SampleDataGeneratedDetail,
    DomainEventType.SAMPLE_DATA_CLEARED: SampleDataClearedDetail,
}


# --- Writing events (in the caller's transaction) ---

DetailInput = _Detail | Mapping[str, Any]
# Session.info keys: rows enqueued in the current transaction and not written yet; ids of the events
# enqueued in the session (the pending ones, then the committed ones).
_STAGED_KEY = "onboarding.outbox.staged"
_EVENT_IDS_KEY = "onboarding.outbox.event_ids"


def enqueue(session: Session, event_type: DomainEventType, org_id: str, detail: DetailInput) -> str:
    """Add one event to the session's transaction; returns its event id. See `enqueue_many`."""
    return enqueue_many(session, event_type, [(org_id, detail)])[0]


def enqueue_many(
    session: Session, event_type: DomainEventType, events: Sequence[tuple[str, DetailInput]]
) -> list[str]:
    """Add events of one type (e.g. one per organization the purge cleared) to the session's transaction.

    The details are validated now (a wrong detail is a defect of the caller and fails its transaction);
    the rows are written just before the transaction commits, together with every other event it
    enqueued, in one multi-row INSERT: a request costs one statement for its events whatever the
    number of domain calls that cause them, and none when it causes none. A rollback discards them.
    """
    if not events:
        return []
    model = DETAIL_MODELS[event_type]
    # Ids made here (the same shape as the column default), so the caller knows them before the INSERT.
    event_ids = [new_id("outbox") for _ in events]
    rows = [
        {
            "id": event_id,
            "event_type": event_type.value,
            "organization_id": org_id,
            "detail": model.model_validate(
                detail.model_dump() if isinstance(detail, BaseModel) else detail
            ).model_dump(mode="json"),
        }
        for event_id, (org_id, detail) in zip(event_ids, events, strict=True)
    ]
    if not session.in_transaction():
        # Staged rows belong to a transaction: without one, a rollback would not discard them. (No
        # round trip: the connection is still acquired on the first statement.)
        session.begin()
    session.info.setdefault(_STAGED_KEY, []).extend(rows)
    session.info.setdefault(_EVENT_IDS_KEY, []).extend(event_ids)
    return event_ids


def enqueued_event_ids(session: Session) -> list[str]:
    """Ids of the events enqueued in this session (to publish once its transaction has committed)."""
    return list(session.info.get(_EVENT_IDS_KEY, ()))


# Session hooks, registered on the class so that every session of the service (any unit of work, not
# only `publishing_unit_of_work`) writes what it enqueued; a no-op for a session that enqueued nothing.
@event.listens_for(Session, "before_commit")
def _write_staged_events(session: Session) -> None:
    # Inside the transaction, before COMMIT: the events commit or roll back with the change.
    rows = session.info.get(_STAGED_KEY)
    if rows:
        session.execute(insert(OutboxEvent).values(rows))


@event.listens_for(Session, "after_commit")
def _forget_written_events(session: Session) -> None:
    session.info.pop(_STAGED_KEY, None)


@event.listens_for(Session, "after_soft_rollback")
def _discard_staged_events(session: Session, previous_transaction: SessionTransaction) -> None:
    # The outermost transaction rolled back: its events never happened. (Savepoints are not used for
    # domain changes; an event enqueued inside a rolled-back savepoint would still be written.)
    if previous_transaction.parent is None:
        staged = session.info.pop(_STAGED_KEY, [])
        discarded = {row["id"] for row in staged}
        if discarded:
            session.info[_EVENT_IDS_KEY] = [
                event_id for event_id in session.info.get(_EVENT_IDS_KEY, ()) if event_id not in discarded
            ]


# --- Publishing ---


class EventsClient(Protocol):
    """The part of boto3's EventBridge client the publisher uses."""

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]: ...  # noqa: N803


@cache
def events_client(*, after_commit: bool = False) -> EventsClient:
    """The container's EventBridge client, created on first publish (boto3 is imported only then).

    Bounded waits (onboarding.aws): a publisher holds its claimed rows' locks while it waits. A request
    publishing after its commit (`after_commit`) uses the request profile (1 s connect, 2 s read, two
    attempts): its client is waiting for the answer, the API function has 15 s in all, and whatever is
    not sent now is sent by the scheduled publisher anyway, which uses the patient background profile.
    """
    from onboarding import aws

    client: EventsClient = aws.client("events", background=not after_commit)
    return client


@dataclass
class PublishReport:
    sent: int = 0
    failed: int = 0
    batches: int = 0
    # PutEvents itself failed (EventBridge unreachable, bus missing, access denied): the run stopped.
    unavailable: bool = False
    errors: list[str] = field(default_factory=list)


# A claimed row: id, event_type, organization_id, detail, created_at.
_Claimed = Row[tuple[str, str, str, dict[str, Any], datetime]]


@dataclass(frozen=True, slots=True)
class _Outcome:
    event_id: str
    error: str | None  # None when EventBridge accepted the entry


def publish_pending(
    *,
    event_ids: Sequence[str] | None = None,
    batch_size: int = 100,
    should_stop: Callable[[], bool] = lambda: False,
    client: EventsClient | None = None,
    settings: Settings | None = None,
    after_commit: bool = False,
) -> PublishReport:
    """Send pending events oldest first, `batch_size` rows per transaction, until none are left.

    `event_ids` limits the run to those events (a request publishing its own). Each row is tried at
    most once per run; rows another publisher holds are skipped, rows that fail stay pending with
    `attempts` and `last_error` updated. `should_stop` is checked before each batch (time budget).
    `after_commit` selects the quicker client of a request publishing its own events.
    """
    settings = settings or get_settings()
    report = PublishReport()
    if settings.event_bus_name is None:
        logger.warning("EVENT_BUS_NAME is not set: events stay in the outbox")
        return report
    if event_ids is not None and not event_ids:
        return report
    after: tuple[datetime, str] | None = None
    while not should_stop():
        with unit_of_work() as session:
            rows = _claim(session, event_ids=event_ids, after=after, limit=batch_size)
            if not rows:
                break
            after = (rows[-1].created_at, rows[-1].id)
            client = client or _client_or_none(report, after_commit=after_commit)
            outcomes = _send(client, settings, rows, report) if client is not None else []
            _record(session, outcomes)
        report.batches += 1
        report.sent += sum(outcome.error is None for outcome in outcomes)
        report.failed += sum(outcome.error is not None for outcome in outcomes)
        # A short batch was the last one: no further claim (a request publishing its own few events
        # costs one claim and one update).
        if report.unavailable or len(rows) < batch_size:
            break
    return report


def publish_after_commit(event_ids: Sequence[str]) -> PublishReport | None:
    """Publish a request's events once its transaction has committed. Never raises for the request.

    The change is already committed, so failing the request would only invite a retry of a change that
    succeeded; whatever is not sent here stays pending for the scheduled publisher.
    """
    if not event_ids:
        return None
    if get_settings().event_bus_name is None:
        logger.info("EVENT_BUS_NAME is not set: events stay in the outbox", extra={"events": len(event_ids)})
        return None
    try:
        report = publish_pending(event_ids=event_ids, after_commit=True)
    except (DomainError, SQLAlchemyError):
        logger.warning("publishing after commit failed; the scheduled publisher will retry", exc_info=True)
        return None
    if report.failed or report.unavailable:
        logger.warning(
            "some events were not published; the scheduled publisher will retry",
            extra={"sent": report.sent, "failed": report.failed, "errors": report.errors},
        )
    return report


@contextmanager
def publishing_unit_of_work() -> Iterator[Session]:
    """`unit_of_work()` that publishes the events enqueued in it after (and only after) it commits."""
    with unit_of_work() as session:
        yield session
        event_ids = enqueued_event_ids(session)
    publish_after_commit(event_ids)


def _claim(
    session: Session, *, event_ids: Sequence[str] | None, after: tuple[datetime, str] | None, limit: int
) -> Sequence[_Claimed]:
    query = (
        select(
            OutboxEvent.id,
            OutboxEvent.event_type,
            OutboxEvent.organization_id,
            OutboxEvent.detail,
            OutboxEvent.created_at,
        )
        .where(OutboxEvent.sent_at.is_(None))
        .order_by(OutboxEvent.created_at, OutboxEvent.id)
        .limit(limit)
        # Rows another publisher is sending right now are its business, not ours.
        .with_for_update(skip_locked=True)
    )
    if event_ids is not None:
        query = query.where(OutboxEvent.id.in_(event_ids))
    if after is not None:
        # Keyset over (created_at, id): each row at most once per run, even when it keeps failing.
        query = query.where(tuple_(OutboxEvent.created_at, OutboxEvent.id) > tuple_(*after))
    return session.execute(query).all()


def _client_or_none(report: PublishReport, *, after_commit: bool) -> EventsClient | None:
    from botocore.exceptions import BotoCoreError

    try:
        return events_client(after_commit=after_commit)
    except BotoCoreError as error:  # e.g. no region configured
        report.unavailable = True
        report.errors.append(_describe(error))
        logger.error("cannot create the EventBridge client", exc_info=error)
        return None


def _send(
    client: EventsClient,
    settings: Settings,
    rows: Sequence[_Claimed],
    report: PublishReport,
) -> list[_Outcome]:
    from botocore.exceptions import BotoCoreError, ClientError

    outcomes: list[_Outcome] = []
    for start in range(0, len(rows), PUT_EVENTS_MAX_ENTRIES):
        chunk = rows[start : start + PUT_EVENTS_MAX_ENTRIES]
        entries = [_entry(settings, row) for row in chunk]
        try:
            response = client.put_events(Entries=entries)
        except (BotoCoreError, ClientError) as error:
            # The call as a whole failed: this chunk stays pending (one attempt counted), the rest of
            # the batch is left untried, and the run stops instead of hammering an unavailable bus.
            message = _describe(error)
            outcomes.extend(_Outcome(row.id, message) for row in chunk)
            report.unavailable = True
            report.errors.append(message)
            logger.error("PutEvents failed", extra={"entries": len(chunk), "error": message})
            break
        for row, result in zip(chunk, response["Entries"], strict=True):
            error_code = result.get("ErrorCode")
            entry_error = f"{error_code}: {result.get('ErrorMessage', '')}" if error_code else None
            outcomes.append(_Outcome(row.id, entry_error))
            if entry_error is not None:
                report.errors.append(entry_error)
    return outcomes


def _entry(settings: Settings, row: _Claimed) -> dict[str, Any]:
    envelope = EventEnvelope(event_id=row.id, organization_id=row.organization_id, occurred_at=row.created_at)
    detail: dict[str, Any] = envelope.model_dump(mode="json") | row.detail
    return {
        "EventBusName": settings.event_bus_name,
        "Source": settings.event_source,
        "DetailType": row.event_type,
        "Detail": json.dumps(detail, separators=(",", ":")),
        "Time": row.created_at,
    }


def _record(session: Session, outcomes: Sequence[_Outcome]) -> None:
    """Count the attempt of every row tried and mark the accepted ones sent, in one UPDATE."""
    if not outcomes:
        return
    results = values(
        column("id", String), column("accepted", Boolean), column("error", String), name="results"
    ).data([(o.event_id, o.error is None, _truncate(o.error)) for o in outcomes])
    session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id == results.c.id, OutboxEvent.sent_at.is_(None))
        .values(
            attempts=OutboxEvent.attempts + 1,
            sent_at=case((results.c.accepted, func.statement_timestamp()), else_=None),
            last_error=results.c.error,
        )
        .execution_options(synchronize_session=False)
    )


def _truncate(message: str | None) -> str | None:
    return message[:LAST_ERROR_MAX_LENGTH] if message else message


def _describe(error: Exception) -> str:
    return _truncate(f"{type(error).__name__}: {error}") or type(error).__name__


# --- Operations: backlog and retention ---


@dataclass(frozen=True, slots=True)
class Backlog:
    pending: int
    oldest_pending_age_seconds: float  # 0 when nothing is pending


def backlog(session: Session) -> Backlog:
    """Pending events and the age of the oldest (what to alarm on), from the pending index."""
    count, age = session.execute(
        select(
            func.count(),
            func.coalesce(extract("epoch", func.now() - func.min(OutboxEvent.created_at)), 0),
        ).where(OutboxEvent.sent_at.is_(None))
    ).one()
    return Backlog(pending=int(count), oldest_pending_age_seconds=float(age))


def delete_sent_before(session: Session, retention: timedelta, *, limit: int = 5000) -> int:
    """Delete up to `limit` events sent longer than `retention` ago; returns how many."""
    expired = (
        select(OutboxEvent.id)
        .where(OutboxEvent.sent_at < func.now() - retention)
        .order_by(OutboxEvent.sent_at)
        .limit(limit)
    )
    result = session.execute(
        delete(OutboxEvent)
        .where(OutboxEvent.id.in_(expired.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount
