"""The wizard's answers as the organization's real rows in SignUpFlow's own tables.

Completing step 2 creates the organization's first event, step 3 its first team and step 4 a `people`
row for each invited volunteer, all real rows (`is_sample` false), in the step's transaction. The
step's stored answers remember the rows it created (`event_id`, `team_id`, `invited_people`), so that
editing the step updates those rows and never adds a second one. Host columns written (and only
these): `events(id, org_id, title, start_time, end_time, is_sample)`, `teams(id, org_id, name,
is_sample)`, `people(id, org_id, name, email, roles, is_sample)`; docs/wizard-and-sample-data.md.
"""

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple

from sqlalchemy import Insert, String, Text, bindparam, column, delete, exists, false, func, insert, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.orm import Session

from onboarding import host_tables as host
from onboarding.ids import new_id

VOLUNTEER_ROLES: Final = json.dumps(["volunteer"])  # as sample data writes them; counted as volunteers


def event_row(org_id: str, event_id: str, title: str, starts: datetime, minutes: int) -> Insert:
    """Create or update the first event (the id the step stored, or a new one)."""
    values = {"title": title, "start_time": starts, "end_time": starts + timedelta(minutes=minutes)}
    statement = upsert(host.events).values(id=event_id, org_id=org_id, is_sample=False, **values)
    return statement.on_conflict_do_update(
        index_elements=[host.events.c.id],
        set_=values,
        where=(host.events.c.org_id == org_id) & host.events.c.is_sample.is_(false()),
    )


def team_row(org_id: str, team_id: str, name: str) -> Insert:
    """Create or update the first team."""
    statement = upsert(host.teams).values(id=team_id, org_id=org_id, name=name, is_sample=False)
    return statement.on_conflict_do_update(
        index_elements=[host.teams.c.id],
        set_={"name": name},
        where=(host.teams.c.org_id == org_id) & host.teams.c.is_sample.is_(false()),
    )


class Invitations(NamedTuple):
    """Step 4's people after a save: the ones the wizard created (stored with the step) and the new ones."""

    people: list[dict[str, str]]  # {"email", "person_id", "invited_at"}, in the order of the step's emails
    created: list[str]  # person ids created by this save


def invite(
    session: Session, org_id: str, emails: Sequence[str], previous: object, now: datetime
) -> Invitations:
    """Make the org's people match step 4's addresses, in one statement.

    An address gets a new person unless the wizard created one for it before or the organization already
    has a real person with it (case-insensitive; that person is not the wizard's, and gets no
    invitation). A person the wizard created whose address left the list is deleted, unless it has
    assignments by now (then it stays, no longer the wizard's).
    """
    known = {entry["email"].casefold(): entry for entry in _entries(previous)}
    wanted = {email.casefold() for email in emails}
    new = [
        {"id": new_id("person"), "email": email, "name": email.split("@", 1)[0][:200]}
        for email in emails
        if email.casefold() not in known
    ]
    dropped = [entry["person_id"] for key, entry in known.items() if key not in wanted]
    created = _write(session, org_id, new, dropped)
    invited_at = now.isoformat()
    by_email = {
        **{key: entry for key, entry in known.items() if key in wanted},
        **{
            row["email"].casefold(): {"email": row["email"], "person_id": row["id"], "invited_at": invited_at}
            for row in new
            if row["id"] in created
        },
    }
    people = [by_email[email.casefold()] for email in emails if email.casefold() in by_email]
    return Invitations(people=people, created=[row["id"] for row in new if row["id"] in created])


def _entries(previous: object) -> list[dict[str, str]]:
    if not isinstance(previous, list):
        return []
    return [
        entry
        for entry in previous
        if isinstance(entry, dict)
        and isinstance(entry.get("email"), str)
        and isinstance(entry.get("person_id"), str)
    ]


def _write(session: Session, org_id: str, new: list[dict[str, str]], dropped: list[str]) -> set[str]:
    """Insert the new people (where the address is not a real person of the org yet) and delete the
    dropped ones (where nothing refers to them); the ids inserted."""
    if not new and not dropped:
        return set()
    wanted = (
        func.jsonb_to_recordset(bindparam("people", new, type_=JSONB))
        .table_valued(column("id", String), column("email", String), column("name", String))
        .render_derived("wanted", with_types=True)
    )
    already = exists().where(
        host.people.c.org_id == org_id,
        host.people.c.is_sample.is_(false()),
        func.lower(host.people.c.email) == func.lower(wanted.c.email),
    )
    inserted = (
        insert(host.people)
        .from_select(
            ["id", "org_id", "name", "email", "roles", "is_sample"],
            select(
                wanted.c.id,
                bindparam("org_id", org_id, type_=String),
                wanted.c.name,
                wanted.c.email,
                bindparam("roles", VOLUNTEER_ROLES, type_=Text),
                false(),
            ).where(~already),
        )
        .returning(host.people.c.id)
        .cte("inserted")
    )
    removed = (
        delete(host.people)
        .where(
            host.people.c.id.in_(dropped),
            host.people.c.org_id == org_id,
            host.people.c.is_sample.is_(false()),
            ~exists().where(host.event_assignments.c.person_id == host.people.c.id),
        )
        .returning(host.people.c.id)
        .cte("removed")
    )
    statement = select(inserted.c.id).add_cte(removed)
    return set(session.execute(statement).scalars())


def created_rows(step_data: Mapping[str, Any]) -> dict[str, list[str]]:
    """When the wizard created the rows its steps remember, by kind (`events`, `teams`, `volunteers`):
    ISO timestamps, for the checklist's completion times."""

    def completed_at(key: str) -> list[str]:
        step = step_data.get(key)
        return (
            [step["completed_at"]]
            if isinstance(step, dict) and isinstance(step.get("completed_at"), str)
            else []
        )

    step_4 = step_data.get("step_4")
    invited = _entries(step_4.get("invited_people") if isinstance(step_4, dict) else None)
    return {
        "events": completed_at("step_2") if _has(step_data, "step_2", "event_id") else [],
        "teams": completed_at("step_3") if _has(step_data, "step_3", "team_id") else [],
        "volunteers": sorted(
            entry["invited_at"] for entry in invited if isinstance(entry.get("invited_at"), str)
        ),
    }


def _has(step_data: Mapping[str, Any], key: str, field: str) -> bool:
    step = step_data.get(key)
    return isinstance(step, dict) and isinstance(step.get(field), str)
