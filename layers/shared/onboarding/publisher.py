"""Publishing domain events from the outbox to EventBridge.

Right after a commit, a request publishes the events it caused (`publish_after_commit`, which the
API layer's unit of work calls); whatever fails stays pending and the scheduled publisher sends it
later (`publish_pending`). Publishers claim rows with `SELECT ... FOR UPDATE SKIP LOCKED` and hold
the row locks while calling PutEvents, so two publishers never send the same row at the same time; a
row is marked sent only while it is still pending (`UPDATE ... WHERE sent_at IS NULL`). boto3 is
imported on the publish path only, and only when there is something to publish: the API functions'
cold starts never pay for it.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, cast

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import Boolean, Row, String, case, column, func, select, tuple_, update, values
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from onboarding.container import per_container
from onboarding.db import unit_of_work
from onboarding.errors import DomainError
from onboarding.observability import logger
from onboarding.settings import Settings, get_settings
from onboarding.tables import onboarding_outbox

PUT_EVENTS_MAX_ENTRIES = 10  # EventBridge's limit per PutEvents call
SCHEMA_VERSION: Literal[1] = 1
LAST_ERROR_MAX_LENGTH = 500  # onboarding_outbox.last_error


class EventEnvelope(BaseModel):
    """Fields every published detail starts with (then the stored detail, `domain_events`). Here, not
    in `domain_events`: only the publisher builds it, and it never builds the detail models (it sends
    the stored detail), so neither the functions that stage events nor the publisher build both."""

    # As `domain_events.STRICT`: the published schemas list every field as required.
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_serialization_defaults_required=True)

    event_id: str = Field(
        description="Stable id of this event: the same on every delivery, so deduplicate on it."
    )
    organization_id: str = Field(description="The SignUpFlow organization the event is about.")
    occurred_at: AwareDatetime = Field(description="When the change that caused the event committed.")
    schema_version: Literal[1] = Field(default=SCHEMA_VERSION, description="Bumped on breaking changes.")


class EventsClient(Protocol):
    """The part of boto3's EventBridge client the publisher uses."""

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]: ...  # noqa: N803


@per_container
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


def _claim(
    session: Session, *, event_ids: Sequence[str] | None, after: tuple[datetime, str] | None, limit: int
) -> Sequence[_Claimed]:
    query = (
        select(
            onboarding_outbox.c.id,
            onboarding_outbox.c.event_type,
            onboarding_outbox.c.organization_id,
            onboarding_outbox.c.detail,
            onboarding_outbox.c.created_at,
        )
        .where(onboarding_outbox.c.sent_at.is_(None))
        .order_by(onboarding_outbox.c.created_at, onboarding_outbox.c.id)
        .limit(limit)
        # Rows another publisher is sending right now are its business, not ours.
        .with_for_update(skip_locked=True)
    )
    if event_ids is not None:
        query = query.where(onboarding_outbox.c.id.in_(event_ids))
    if after is not None:
        # Keyset over (created_at, id): each row at most once per run, even when it keeps failing.
        query = query.where(tuple_(onboarding_outbox.c.created_at, onboarding_outbox.c.id) > tuple_(*after))
    # Core columns are untyped (`Column[Any]`): the row shape is the select list above.
    return cast(Sequence[_Claimed], session.execute(query).all())


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
        update(onboarding_outbox)
        .where(onboarding_outbox.c.id == results.c.id, onboarding_outbox.c.sent_at.is_(None))
        .values(
            attempts=onboarding_outbox.c.attempts + 1,
            sent_at=case((results.c.accepted, func.statement_timestamp()), else_=None),
            last_error=results.c.error,
        )
        .execution_options(synchronize_session=False)
    )


def _truncate(message: str | None) -> str | None:
    return message[:LAST_ERROR_MAX_LENGTH] if message else message


def _describe(error: Exception) -> str:
    return _truncate(f"{type(error).__name__}: {error}") or type(error).__name__
