"""Clearing sample data: deleting only the `is_sample = TRUE` rows and resetting the state's flags.

Its own module, apart from generating sample data (`sample_data`, which re-exports these names): the
purge function clears locked batches of organizations and so never loads `state` and what it imports
(experiments, features, counters, i18n) at a cold start.
"""

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, Literal, NamedTuple

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    DateTime,
    Select,
    String,
    Table,
    Update,
    any_,
    bindparam,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from onboarding import domain_events, outbox
from onboarding import host_tables as host
from onboarding.domain_events import SampleDataCounts
from onboarding.metrics import MetricEventType, MetricRecord, record_with
from onboarding.tables import onboarding_state

ClearReason = Literal["manual", "expired"]


def total(counts: SampleDataCounts) -> int:
    return counts.events + counts.teams + counts.volunteers + counts.assignments


def added(first: SampleDataCounts, second: SampleDataCounts) -> SampleDataCounts:
    return SampleDataCounts(
        events=first.events + second.events,
        teams=first.teams + second.teams,
        volunteers=first.volunteers + second.volunteers,
        assignments=first.assignments + second.assignments,
    )


NO_ROWS = SampleDataCounts(events=0, teams=0, volunteers=0, assignments=0)


def delete_sample_rows(session: Session, org_ids: Sequence[str]) -> SampleDataCounts:
    """Delete the sample rows (only `is_sample = TRUE`) of the given organizations, in one statement."""
    deleted = NO_ROWS
    for counts in _delete_sample_rows_by_org(session, org_ids).values():
        deleted = added(deleted, counts)
    return deleted


class LockedSampleState(NamedTuple):
    """An organization whose state row the caller has locked, with the flags read under that lock."""

    org_id: str
    generated: bool
    generated_at: datetime | None


def clear_locked_organizations(
    session: Session, locked: Sequence[LockedSampleState], *, reason: ClearReason, now: datetime
) -> dict[str, SampleDataCounts]:
    """Clear the sample data of organizations whose state rows are locked by this transaction.

    Set-based for any number of organizations (the purge passes a whole batch), two statements: the
    deletes, then the flags with the `sample_data_cleared` metrics; plus one `SampleDataCleared` event
    per organization, written with the transaction's other events. Organizations with nothing to clear
    get no flag change, no metric and no event, which makes clearing idempotent.
    """
    if not locked:
        return {}
    deleted = _delete_sample_rows_by_org(session, [item.org_id for item in locked])
    counts = {item.org_id: deleted.get(item.org_id, NO_ROWS) for item in locked}
    changed = [item for item in locked if item.generated or total(counts[item.org_id])]
    if changed:
        # The flags and the metrics in one statement, for the whole batch.
        metrics = [
            MetricRecord(
                item.org_id,
                MetricEventType.SAMPLE_DATA_CLEARED,
                event_data={
                    "reason": reason,
                    "data_age_days": _age_in_days(item.generated_at, now),
                    "counts": counts[item.org_id].model_dump(),
                },
            )
            for item in changed
        ]
        params = {"org_ids": [item.org_id for item in changed], "now": now}
        record_with(session, _flags_statement(), metrics, params=params)
        outbox.stage_many(
            session,
            [
                (
                    item.org_id,
                    domain_events.SampleDataCleared(
                        reason=reason, counts=counts[item.org_id], cleared_at=now
                    ),
                )
                for item in changed
            ],
        )
    return counts


@cache
def _flags_statement() -> Update:
    """The cleared flags of the organizations `org_ids` as of `now` (bound parameters), built once."""
    return (
        update(onboarding_state)
        .where(onboarding_state.c.organization_id.in_(bindparam("org_ids", expanding=True)))
        .values(
            sample_data_generated=False,
            sample_data_size=None,
            sample_data_cleared=True,
            sample_data_generated_at=None,
            sample_data_expiry=None,
            updated_at=bindparam("now", type_=DateTime(timezone=True)),
        )
        .returning(onboarding_state.c.organization_id)
    )


def _sample_assignments(event_ids: Select[str], person_ids: Select[str]) -> ColumnElement[bool]:
    """Assignments of the given (sample) events or people.

    `= ANY(ARRAY(subquery))`, not `IN (subquery)`: PostgreSQL answers `IN (a) OR IN (b)` with a
    sequential scan of event_assignments (hashed subplans), which grows with every organization's
    assignments; the array form is a BitmapOr of the two foreign-key indexes (bench/README.md).
    """
    return or_(
        host.event_assignments.c.event_id == any_(func.array(event_ids.scalar_subquery())),
        host.event_assignments.c.person_id == any_(func.array(person_ids.scalar_subquery())),
    )


def _sample_event_ids(orgs: Sequence[str] | ColumnElement[str]) -> Select[str]:
    return select(host.events.c.id).where(
        _of(host.events.c.org_id, orgs), host.events.c.is_sample.is_(true())
    )


def _sample_person_ids(orgs: Sequence[str] | ColumnElement[str]) -> Select[str]:
    return select(host.people.c.id).where(
        _of(host.people.c.org_id, orgs), host.people.c.is_sample.is_(true())
    )


def _of(org_column: ColumnElement[str], orgs: Sequence[str] | ColumnElement[str]) -> ColumnElement[bool]:
    """The rows of the given organizations (a list, or an expanding bound list), or of the one bound
    organization."""
    if isinstance(orgs, BindParameter) and orgs.expanding:
        return org_column.in_(orgs)
    return org_column == orgs if isinstance(orgs, ColumnElement) else org_column.in_(orgs)


def _delete_sample_rows_by_org(session: Session, org_ids: Sequence[str]) -> dict[str, SampleDataCounts]:
    """One statement for the four tables and all organizations, counting what it deleted per org and table.

    Each DELETE is a data-modifying CTE. They all see the rows as they were before the statement, so a
    deleted assignment is still attributed to its sample event or person; foreign keys are checked at
    the end of the statement, when the assignments are gone too, so the host schema's keys may cascade,
    restrict or do nothing.
    """
    org_ids = list(dict.fromkeys(org_ids))
    if not org_ids:
        return {}
    result: dict[str, dict[str, int]] = {}
    for key, org_id, count in session.execute(_delete_statement(), {"org_ids": org_ids}).all():
        if org_id is not None:
            result.setdefault(org_id, {})[key] = int(count)
    return {
        org_id: SampleDataCounts(**{**NO_ROWS.model_dump(), **counts}) for org_id, counts in result.items()
    }


@cache
def _delete_statement() -> CompoundSelect[Any]:
    """The deletes of `_delete_sample_rows_by_org` (the organizations `org_ids`, a bound list), built
    once per container: building it per request cost more than running it (bench/README.md)."""
    org_ids: BindParameter[Any] = bindparam("org_ids", expanding=True)
    deleted_assignments = (
        delete(host.event_assignments)
        .where(_sample_assignments(_sample_event_ids(org_ids), _sample_person_ids(org_ids)))
        .returning(host.event_assignments.c.event_id, host.event_assignments.c.person_id)
        .cte("deleted_assignments")
    )
    owner = case(
        (host.events.c.is_sample.is_(true()) & host.events.c.org_id.in_(org_ids), host.events.c.org_id),
        else_=host.people.c.org_id,
    )
    owners = (
        select(owner.label("org_id"))
        .select_from(deleted_assignments)
        .outerjoin(host.events, host.events.c.id == deleted_assignments.c.event_id)
        .outerjoin(host.people, host.people.c.id == deleted_assignments.c.person_id)
        .subquery("owners")
    )
    # Counted by the kinds of rows the API names: events, teams, volunteers (people), assignments.
    per_table = [
        select(literal("assignments", String).label("kind"), owners.c.org_id, func.count()).group_by(
            owners.c.org_id
        )
    ]
    flagged: tuple[tuple[str, Table], ...] = (
        ("events", host.events),
        ("volunteers", host.people),
        ("teams", host.teams),
    )
    for key, model in flagged:
        deleted = (
            delete(model)
            .where(model.c.org_id.in_(org_ids), model.c.is_sample.is_(true()))
            .returning(model.c.org_id)
            .cte(f"deleted_{key}")
        )
        per_table.append(
            select(literal(key, String), deleted.c.org_id, func.count()).group_by(deleted.c.org_id)
        )
    return union_all(*per_table)


def _age_in_days(generated_at: datetime | None, now: datetime) -> float | None:
    if generated_at is None:
        return None
    return round(max(0.0, (now - generated_at).total_seconds()) / 86400, 2)
