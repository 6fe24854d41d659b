"""Nightly purge of expired sample data (the purge function, invoked by EventBridge Scheduler).

Safe under at-least-once delivery: organizations are taken in batches with
`SELECT ... FOR UPDATE SKIP LOCKED`, each batch in its own transaction, so a second run (concurrent or
later) skips what another holds and finds nothing left of what was committed. The cutoff is the
invocation's scheduled time, so a retry hours later deletes exactly what the original would have.
Only `is_sample = TRUE` rows are ever deleted (`sample_clearing.clear_locked_organizations`).

Each purged organization gets a `SampleDataCleared` event (`reason: expired`), written in its batch's
transaction and published right after that batch commits (`BatchEvents`).
"""

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from onboarding import publisher
from onboarding.db import unit_of_work
from onboarding.domain_events import SampleDataCounts
from onboarding.errors import Conflict, InvalidInput
from onboarding.observability import logger
from onboarding.sample_clearing import NO_ROWS, LockedSampleState, added, clear_locked_organizations
from onboarding.tables import onboarding_state
from onboarding.validation import iso_text

# Scheduler clocks and ours may differ a little; a scheduled time further ahead than this is a bad event
# (it would purge data that has not expired yet).
MAX_CLOCK_SKEW = timedelta(minutes=5)

# Errors that one organization's rows can cause (a host table referencing a sample row without
# ON DELETE CASCADE, say): the batch is redone one organization at a time so the others still go.
_DATA_ERRORS = (Conflict, InvalidInput)


class InvalidScheduledEvent(ValueError):
    """The invocation event has no usable scheduled time: retrying it cannot help."""


class PurgeIncomplete(RuntimeError):
    """Some organizations could not be purged; raised after the rest was done, so the run is retried."""


class ScheduledInvocation(BaseModel):
    """What the purge reads from its event: the scheduled time, in EventBridge's `time` field."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    time: Annotated[AwareDatetime, BeforeValidator(iso_text)]
    id: str | None = None
    resources: list[str] = Field(default_factory=list)
    detail: dict[str, Any] = Field(default_factory=dict)


def scheduled_invocation(event: Mapping[str, Any], *, now: datetime) -> ScheduledInvocation:
    try:
        invocation = ScheduledInvocation.model_validate(event)
    except ValidationError as error:
        raise InvalidScheduledEvent(
            f"the event has no valid scheduled time in 'time': {error.errors(include_url=False)}"
        ) from error
    if invocation.time > now + MAX_CLOCK_SKEW:
        raise InvalidScheduledEvent(f"the scheduled time {invocation.time.isoformat()} is in the future")
    return invocation


class PurgeReport(BaseModel):
    cutoff: datetime
    batches: int = 0
    organizations_purged: int = 0
    organizations_failed: list[str] = Field(default_factory=list)
    organizations_remaining: int = 0
    rows_deleted: SampleDataCounts = NO_ROWS
    stopped_early: bool = False
    # SampleDataCleared events sent right after their batch; the others wait for the outbox publisher.
    events_published: int = 0


@dataclass(slots=True)
class BatchResult:
    selected: int = 0
    purged: list[str] = field(default_factory=list)
    deleted: SampleDataCounts = NO_ROWS


@dataclass(slots=True)
class TimeBudget:
    """Stops the purge while there is still time to finish a batch before the Lambda timeout."""

    remaining_ms: Callable[[], int]
    reserve_ms: int
    slowest_batch_ms: float = 0.0

    def exhausted(self) -> bool:
        return self.remaining_ms() < max(self.reserve_ms, 2 * self.slowest_batch_ms)

    def record(self, started: float) -> None:
        self.slowest_batch_ms = max(self.slowest_batch_ms, (time.monotonic() - started) * 1000)


@dataclass(slots=True)
class BatchEvents:
    """Publishes each batch's events right after the batch commits.

    Once EventBridge has failed as a whole (unreachable, access denied), the rest of the run stops
    trying: each batch would wait for the timeouts again, and the scheduled outbox publisher sends
    whatever is left.
    """

    published: int = 0
    eventbridge_unavailable: bool = False

    def publish(self, event_ids: Sequence[str]) -> None:
        if self.eventbridge_unavailable or not event_ids:
            return
        report = publisher.publish_after_commit(event_ids)
        if report is not None:
            self.published += report.sent
            self.eventbridge_unavailable = report.unavailable


def purge_expired_sample_data(
    cutoff: datetime, *, batch_size: int, remaining_ms: Callable[[], int], reserve_ms: int
) -> PurgeReport:
    """Purge every organization whose sample data expired before `cutoff`, batch by batch."""
    report = PurgeReport(cutoff=cutoff)
    budget = TimeBudget(remaining_ms=remaining_ms, reserve_ms=reserve_ms)
    events = BatchEvents()
    while True:
        if budget.exhausted():
            report.stopped_early = True
            break
        started = time.monotonic()
        try:
            with unit_of_work(after_commit=events.publish) as session:
                batch = purge_batch(session, cutoff, limit=batch_size, exclude=report.organizations_failed)
        except _DATA_ERRORS:
            logger.warning("purge batch failed; retrying it one organization at a time", exc_info=True)
            batch = _purge_one_by_one(cutoff, batch_size, report, budget, events)
        budget.record(started)  # publishing included: it is part of what a batch costs
        report.batches += 1
        report.organizations_purged += len(batch.purged)
        report.rows_deleted = added(report.rows_deleted, batch.deleted)
        if batch.selected < batch_size or report.stopped_early:
            break
    report.events_published = events.published
    with unit_of_work() as session:
        report.organizations_remaining = count_expired(session, cutoff)
    return report


def purge_batch(
    session: Session,
    cutoff: datetime,
    *,
    limit: int,
    exclude: Sequence[str] = (),
    only: Sequence[str] | None = None,
) -> BatchResult:
    """Lock up to `limit` expired organizations nobody else holds, and clear their sample data."""
    statement = (
        select(onboarding_state.c.organization_id, onboarding_state.c.sample_data_generated_at, func.now())
        .where(_expired_before(cutoff))
        .order_by(onboarding_state.c.sample_data_expiry, onboarding_state.c.organization_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if exclude:
        statement = statement.where(onboarding_state.c.organization_id.not_in(list(exclude)))
    if only is not None:
        statement = statement.where(onboarding_state.c.organization_id.in_(list(only)))
    rows = session.execute(statement).all()
    if not rows:
        return BatchResult()
    now = rows[0][2]
    locked = [LockedSampleState(org_id, True, generated_at) for org_id, generated_at, _ in rows]
    counts = clear_locked_organizations(session, locked, reason="expired", now=now)
    return BatchResult(
        selected=len(rows),
        purged=[item.org_id for item in locked],
        deleted=_sum(counts.values()),
    )


def count_expired(session: Session, cutoff: datetime) -> int:
    return int(session.scalar(select(func.count()).where(_expired_before(cutoff))) or 0)


def _expired_before(cutoff: datetime) -> ColumnElement[bool]:
    return onboarding_state.c.sample_data_generated.is_(true()) & (
        onboarding_state.c.sample_data_expiry < cutoff
    )


def _purge_one_by_one(
    cutoff: datetime, limit: int, report: PurgeReport, budget: TimeBudget, events: BatchEvents
) -> BatchResult:
    """The failed batch again, one organization per transaction; the ones that fail are skipped.

    The events of the organizations purged are published together once the loop is over.
    """
    statement = (
        select(onboarding_state.c.organization_id)
        .where(_expired_before(cutoff))
        .order_by(onboarding_state.c.sample_data_expiry, onboarding_state.c.organization_id)
        .limit(limit)
    )
    if report.organizations_failed:
        statement = statement.where(onboarding_state.c.organization_id.not_in(report.organizations_failed))
    with unit_of_work() as session:
        candidates = list(session.scalars(statement))
    result = BatchResult(selected=len(candidates))
    event_ids: list[str] = []
    for org_id in candidates:
        if budget.exhausted():
            report.stopped_early = True
            break
        try:
            with unit_of_work(after_commit=event_ids.extend) as session:
                single = purge_batch(session, cutoff, limit=1, only=[org_id])
        except _DATA_ERRORS:
            logger.exception("could not purge the sample data of an organization", extra={"org_id": org_id})
            report.organizations_failed.append(org_id)
            continue
        result.purged += single.purged
        result.deleted = added(result.deleted, single.deleted)
    events.publish(event_ids)
    return result


def _sum(counts: Iterable[SampleDataCounts]) -> SampleDataCounts:
    total = NO_ROWS
    for item in counts:
        total = added(total, item)
    return total
