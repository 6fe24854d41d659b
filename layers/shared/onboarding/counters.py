"""Whitelisted counters over the host tables, counting real rows only (never `is_sample` rows).

Checklist criteria and feature unlocks refer to these by name; a name that is not here cannot be
evaluated, so no SQL is ever read from a table. All requested counters are computed in one statement.
"""

from collections.abc import Callable, Iterable
from enum import StrEnum

from sqlalchemy import ColumnElement, ScalarSelect, String, any_, cast, false, func, literal, select
from sqlalchemy.orm import Session

from onboarding import host_tables as host
from onboarding.tables import onboarding_report_views


class Counter(StrEnum):
    REAL_EVENTS = "real_events"
    REAL_TEAMS = "real_teams"
    REAL_VOLUNTEERS = "real_volunteers"
    REAL_ASSIGNMENTS = "real_assignments"
    VIEW_REPORTS_EVENTS = "view_reports_events"


def _real_events(org_id: ColumnElement[str]) -> ScalarSelect[int]:
    return (
        select(func.count())
        .where(host.events.c.org_id == org_id, host.events.c.is_sample.is_(false()))
        .scalar_subquery()
    )


def _real_teams(org_id: ColumnElement[str]) -> ScalarSelect[int]:
    return (
        select(func.count())
        .where(host.teams.c.org_id == org_id, host.teams.c.is_sample.is_(false()))
        .scalar_subquery()
    )


def _real_volunteers(org_id: ColumnElement[str]) -> ScalarSelect[int]:
    # roles is free text in SignUpFlow (a JSON array in some installs): match on its text form.
    return (
        select(func.count())
        .where(
            host.people.c.org_id == org_id,
            host.people.c.is_sample.is_(false()),
            cast(host.people.c.roles, String).like("%volunteer%"),
        )
        .scalar_subquery()
    )


def _real_assignments(org_id: ColumnElement[str]) -> ScalarSelect[int]:
    # The assignments of the organization's real events whose person is real: the real events' ids as
    # an array (`event_id = ANY(ARRAY(...))`, an index scan on event_id) and the person's flag as a
    # correlated lookup by key. Same count as joining the three tables, but no join for the planner to
    # order: it planned in ~0.07 ms against ~0.24 ms for the join, on every request that reads this
    # counter (bench/README.md, Issue 16, "CPU (target 3)").
    assignment, people = host.event_assignments.c, host.people.c
    real_event_ids = select(host.events.c.id).where(
        host.events.c.org_id == org_id, host.events.c.is_sample.is_(false())
    )
    person_is_sample = select(people.is_sample).where(people.id == assignment.person_id).scalar_subquery()
    return (
        select(func.count())
        .select_from(host.event_assignments)
        .where(
            assignment.event_id == any_(func.array(real_event_ids.scalar_subquery())),
            person_is_sample.is_(false()),
        )
        .scalar_subquery()
    )


def _view_reports_events(org_id: ColumnElement[str]) -> ScalarSelect[int]:
    # From the per-organization rollup a trigger keeps as the events are stored (migration
    # 0012_report_views): a key lookup, where a count over onboarding_metric is planned over every
    # monthly partition on each call.
    views = onboarding_report_views.c
    return select(
        func.coalesce(select(views.events).where(views.organization_id == org_id).scalar_subquery(), 0)
    ).scalar_subquery()


COUNTER_EXPRESSIONS: dict[Counter, Callable[[ColumnElement[str]], ScalarSelect[int]]] = {
    Counter.REAL_EVENTS: _real_events,
    Counter.REAL_TEAMS: _real_teams,
    Counter.REAL_VOLUNTEERS: _real_volunteers,
    Counter.REAL_ASSIGNMENTS: _real_assignments,
    Counter.VIEW_REPORTS_EVENTS: _view_reports_events,
}


def counter_columns(org_id: ColumnElement[str], counters: Iterable[Counter]) -> list[ColumnElement[int]]:
    """Labelled scalar subqueries, to put in the SELECT list of a larger statement."""
    return [COUNTER_EXPRESSIONS[counter](org_id).label(counter.value) for counter in counters]


def count(session: Session, org_id: str, counters: Iterable[Counter]) -> dict[Counter, int]:
    """The named counters for one organization, in one round trip."""
    wanted = list(dict.fromkeys(counters))
    if not wanted:
        return {}
    row = session.execute(select(*counter_columns(literal(org_id), wanted))).one()
    return {counter: int(row._mapping[counter.value]) for counter in wanted}
