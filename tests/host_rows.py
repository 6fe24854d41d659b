"""Arrange rows in SignUpFlow's host tables and onboarding state for tests (real or sample rows)."""

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from onboarding.models import Event, EventAssignment, OnboardingState, Person, Team

_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}_{next(_ids)}"


def start_onboarding(db: Session, org_id: str, **state: Any) -> None:
    """The org's onboarding state row (as POST /v1/onboarding leaves it), with `state` overrides."""
    db.add(OnboardingState(organization_id=org_id, **state))
    db.commit()


def add_events(db: Session, org_id: str, count: int = 1, *, sample: bool = False) -> list[str]:
    start = datetime(2030, 1, 1, 10, tzinfo=UTC)
    ids = [_id("event") for _ in range(count)]
    db.add_all(
        Event(
            id=i,
            org_id=org_id,
            title="Sunday service",
            start_time=start,
            end_time=start + timedelta(hours=2),
            is_sample=sample,
        )
        for i in ids
    )
    db.commit()
    return ids


def add_teams(db: Session, org_id: str, count: int = 1, *, sample: bool = False) -> None:
    db.add_all(Team(id=_id("team"), org_id=org_id, name="Greeters", is_sample=sample) for _ in range(count))
    db.commit()


def add_people(
    db: Session, org_id: str, count: int = 1, *, roles: str = '["volunteer"]', sample: bool = False
) -> list[str]:
    ids = [_id("person") for _ in range(count)]
    db.add_all(
        Person(id=i, org_id=org_id, name="Sam Volunteer", email=None, roles=roles, is_sample=sample)
        for i in ids
    )
    db.commit()
    return ids


def add_assignment(db: Session, event_id: str, person_id: str) -> None:
    db.add(EventAssignment(id=_id("assignment"), event_id=event_id, person_id=person_id, role="usher"))
    db.commit()


def add_real_rows(
    db: Session, org_id: str, *, events: int = 0, volunteers: int = 0, assignments: int = 0, teams: int = 0
) -> None:
    """Insert real rows; assignments pair distinct (event, volunteer) rows, creating what they need."""
    needed_events = max(events, 1 if assignments else 0)
    needed_people = max(volunteers, -(-assignments // max(needed_events, 1)))
    start = datetime.now(UTC) + timedelta(days=7)
    event_ids = [f"{org_id}_real_event_{n}" for n in range(needed_events)]
    person_ids = [f"{org_id}_real_person_{n}" for n in range(needed_people)]
    if event_ids:
        db.execute(
            insert(Event).values(
                [
                    {"id": id_, "org_id": org_id, "title": f"Real event {n}", "start_time": start,
                     "end_time": start + timedelta(hours=1), "is_sample": False}
                    for n, id_ in enumerate(event_ids)
                ]
            )
        )  # fmt: skip
    if person_ids:
        db.execute(
            insert(Person).values(
                [
                    {"id": id_, "org_id": org_id, "name": f"Real Person {n}", "email": f"p{n}@{org_id}.test",
                     "roles": json.dumps(["volunteer"]), "is_sample": False}
                    for n, id_ in enumerate(person_ids)
                ]
            )
        )  # fmt: skip
    if teams:
        db.execute(
            insert(Team).values(
                [
                    {"id": f"{org_id}_real_team_{n}", "org_id": org_id, "name": f"Team {n}"}
                    for n in range(teams)
                ]
            )
        )
    if assignments:
        pairs = [(e, p) for p in person_ids for e in event_ids][:assignments]
        db.execute(
            insert(EventAssignment).values(
                [
                    {"id": f"{org_id}_real_assignment_{n}", "event_id": e, "person_id": p, "role": "Greeter"}
                    for n, (e, p) in enumerate(pairs)
                ]
            )
        )
    db.commit()
