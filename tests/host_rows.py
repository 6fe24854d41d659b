"""Real (non-sample) rows in the host tables, as SignUpFlow itself would create them."""

import json
from datetime import UTC, datetime, timedelta

from onboarding.models import Event, EventAssignment, Person, Team
from sqlalchemy import insert
from sqlalchemy.orm import Session


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
