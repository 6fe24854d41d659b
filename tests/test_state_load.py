"""`state.load`: its statement compiled once and sent as driver SQL reads what SQLAlchemy's execution of
the statement reads, and the counters it carries count what they say."""

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onboarding import checklist, counters, sample_data, state, wizard
from onboarding.counters import Counter
from onboarding.db import unit_of_work
from onboarding.errors import OnboardingNotStarted
from onboarding.models import Event, EventAssignment, OnboardingMetric, Person
from tests.host_rows import add_assignment, add_events, add_people, add_teams, start_onboarding
from tests.sql_statements import captured_statements
from tools.wire import count_round_trips

READINGS = {
    "milestones": state.MILESTONES,
    "checklist": checklist.READING,
    "overview": wizard.OVERVIEW,
    "sample flags": sample_data.FLAGS,
    "sample status": sample_data.STATUS,
}


def kinds(snapshot: state.Snapshot) -> list[type]:
    values = (
        *(getattr(snapshot.state, column) for column in state.STATE_COLUMNS),
        snapshot.now,
        *snapshot.counters.values(),
        *snapshot.extra.values(),
    )
    return [type(value) for value in values]


def joined_assignments(db: Session, org_id: str) -> int:
    """The real assignments as a three-table join (the counter's definition, written the plain way)."""
    return db.execute(
        select(func.count())
        .select_from(EventAssignment)
        .join(Event, Event.id == EventAssignment.event_id)
        .join(Person, Person.id == EventAssignment.person_id)
        .where(Event.org_id == org_id, Event.is_sample.is_(False), Person.is_sample.is_(False))
    ).scalar_one()


def test_real_assignments_are_the_orgs_real_events_with_real_people(
    org, make_org: Callable[..., str], db: Session
) -> None:
    real_events, sample_events = add_events(db, org, 2), add_events(db, org, 1, sample=True)
    real_people, sample_people = add_people(db, org, 2), add_people(db, org, 1, sample=True)
    add_assignment(db, real_events[0], real_people[0])  # counted
    add_assignment(db, real_events[0], real_people[1])  # counted: two people on one event
    add_assignment(db, real_events[1], real_people[0])  # counted
    add_assignment(db, real_events[1], sample_people[0])  # a sample person
    add_assignment(db, sample_events[0], real_people[0])  # a sample event
    other = make_org("org_b")
    add_assignment(db, add_events(db, other)[0], add_people(db, other)[0])  # another organization's
    assert counters.count(db, org, [Counter.REAL_ASSIGNMENTS]) == {Counter.REAL_ASSIGNMENTS: 3}
    assert joined_assignments(db, org) == 3
    assert counters.count(db, other, [Counter.REAL_ASSIGNMENTS]) == {Counter.REAL_ASSIGNMENTS: 1}
    assert counters.count(db, "org_without_rows", [Counter.REAL_ASSIGNMENTS]) == {Counter.REAL_ASSIGNMENTS: 0}


@pytest.mark.parametrize("lock", [False, True], ids=["plain", "locked"])
@pytest.mark.parametrize("name", list(READINGS))
def test_the_driver_sql_reads_what_sqlalchemy_would(org, db: Session, name: str, lock: bool) -> None:
    # Something in every column kind: counters, the tasks' JSON text, report view times, JSON state.
    event_ids, person_ids = add_events(db, org, 2), add_people(db, org, 3)
    add_assignment(db, event_ids[0], person_ids[0])
    add_teams(db, org, 2)
    add_events(db, org, 2, sample=True)
    db.add_all(OnboardingMetric(organization_id=org, event_type="view_reports") for _ in range(2))
    db.commit()
    reading = READINGS[name]
    with unit_of_work() as session:
        state.load(session, org, reading, lock=lock)  # the connection exists
    with unit_of_work() as session, captured_statements() as sent, count_round_trips() as wire:
        loaded = state.load(session, org, reading, lock=lock)
        round_trips = wire.round_trips  # before COMMIT
    with unit_of_work() as session:
        row = session.connection().execute(state.statement(reading, lock=lock), {"org_id": org}).one()
    [(text, parameters)] = sent
    assert org in parameters and len(parameters) == text.count("%s")
    assert round_trips == 1  # the values written in by the engine: pg8000's simple protocol
    expected = state.snapshot_of(row, reading)
    assert loaded._replace(now=expected.now) == expected  # the transaction's now() differs
    assert kinds(loaded) == kinds(expected)  # and no value comes back as another type (1 == 1.0)
    assert loaded.state.organization_id == org
    if Counter.REAL_ASSIGNMENTS in reading.counters:
        assert loaded.counters[Counter.REAL_ASSIGNMENTS] == 1


def test_an_id_that_is_not_a_host_key_is_read_exactly(make_org: Callable[..., str], db: Session) -> None:
    # Not an id the authorizer accepts, but `load` reads any, quotes and comment markers included.
    org = make_org("o'brien; --")
    start_onboarding(db, org)
    add_teams(db, org, 2)
    with unit_of_work() as session:
        loaded = state.load(session, org, checklist.READING)
    assert loaded.state.organization_id == org
    assert loaded.counters[Counter.REAL_TEAMS] == 2
    with unit_of_work() as session:
        row = session.connection().execute(state.statement(checklist.READING), {"org_id": org}).one()
    expected = state.snapshot_of(row, checklist.READING)
    assert loaded._replace(now=expected.now) == expected


def test_an_organization_that_has_not_started_is_still_a_404(make_org: Callable[..., str]) -> None:
    make_org("org_b")
    with unit_of_work() as session, pytest.raises(OnboardingNotStarted):
        state.load(session, "org_b", checklist.READING)
