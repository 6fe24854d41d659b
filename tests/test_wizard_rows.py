"""The wizard sets the organization up for real: step 2 its first event, step 3 its first team, step 4
its volunteers, as real rows of the host tables in the step's transaction; edits update them."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from onboarding.models import Event, EventAssignment, OutboxEvent, Person, Team
from tests.fixtures import admin_claims
from tests.host_rows import add_real_rows
from tests.wizard_steps import complete_steps, step_body


def save(api, org_id: str, step: int, body: Any):
    return api("PUT", f"/v1/onboarding/wizard/steps/{step}", claims=admin_claims(org_id), body=body)


def rows(db: Session, model: Any, org_id: str) -> list[Any]:
    db.expire_all()
    return list(db.scalars(select(model).where(model.org_id == org_id).order_by(model.id)))


def invitations(db: Session) -> list[dict[str, Any]]:
    db.expire_all()
    events = db.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "VolunteersInvited"))
    return [event.detail for event in events.all()]


# --- Step 2: the first event ---


def test_completing_step_2_creates_the_real_event(api, org, db: Session) -> None:
    body = {**step_body(2), "event_datetime": "2031-03-02T10:00:00"}  # the organization's local time
    complete_steps(api, org, through=1)
    state = save(api, org, 2, body).json
    [event] = rows(db, Event, org)
    assert (event.title, event.is_sample) == ("Sunday Morning Service", False)
    assert event.start_time == datetime.fromisoformat("2031-03-02T10:00:00-05:00")
    assert event.end_time - event.start_time == timedelta(minutes=120)
    assert state["wizard_step_data"]["step_2"]["event_id"] == event.id


def test_editing_step_2_updates_its_event_and_never_adds_a_second(api, org, db: Session) -> None:
    complete_steps(api, org, through=3)
    edited = {**step_body(2), "event_title": "Easter Service", "event_duration_minutes": 90}
    assert save(api, org, 2, edited).status == 200
    assert save(api, org, 2, edited).status == 200
    [event] = rows(db, Event, org)
    assert (event.title, event.end_time - event.start_time) == ("Easter Service", timedelta(minutes=90))


def test_the_first_event_ticks_create_first_event_in_the_checklist(api, org) -> None:
    complete_steps(api, org, through=3)
    tasks = {task["id"]: task for task in api("GET", "/v1/onboarding/checklist").json["tasks"]}
    assert tasks["create_first_event"]["completed"] is True
    assert tasks["add_team"]["completed"] is True


def test_the_wizards_event_is_written_in_the_steps_transaction(api, org, db: Session) -> None:
    complete_steps(api, org, through=1)
    in_the_past = {**step_body(2), "event_datetime": "2001-01-01T10:00:00Z"}
    assert save(api, org, 2, in_the_past).status == 422
    assert rows(db, Event, org) == []


def test_a_step_2_save_is_two_statements(api, org) -> None:
    from tests.sql_statements import recorded_statements

    complete_steps(api, org, through=1)
    with recorded_statements() as statements:
        assert save(api, org, 2, step_body(2)).status == 200
    assert len(statements) == 2  # lock and read; the state, its metric and the event in one statement


# --- Step 3: the first team ---


def test_completing_step_3_creates_the_team_and_editing_renames_it(api, org, db: Session) -> None:
    complete_steps(api, org, through=3)
    [team] = rows(db, Team, org)
    assert (team.name, team.is_sample) == ("Worship Team", False)
    assert save(api, org, 3, {**step_body(3), "team_name": "Welcome Team"}).status == 200
    assert [(t.id, t.name) for t in rows(db, Team, org)] == [(team.id, "Welcome Team")]


def test_sample_rows_are_left_alone(api, org, db: Session) -> None:
    complete_steps(api, org, through=1)
    assert api("POST", "/v1/onboarding/sample-data", body={"size": "minimal"}).status == 201
    complete_steps(api, org, through=3)
    assert [event.title for event in rows(db, Event, org) if not event.is_sample] == [
        "Sunday Morning Service"
    ]
    assert len([team for team in rows(db, Team, org) if not team.is_sample]) == 1


# --- Step 4: the volunteers ---

EMAILS = ["ana@example.org", "ben@example.org", "chloe@example.org"]


def test_completing_step_4_adds_each_invited_volunteer_as_a_real_person(api, org, db: Session) -> None:
    complete_steps(api, org, through=3)
    state = save(api, org, 4, {"emails": EMAILS, "send_immediately": True}).json
    people = rows(db, Person, org)
    assert sorted(person.email for person in people) == EMAILS
    assert {(person.is_sample, person.roles) for person in people} == {(False, '["volunteer"]')}
    assert sorted(person.name for person in people) == ["ana", "ben", "chloe"]
    invited = state["wizard_step_data"]["step_4"]["invited_people"]
    assert [entry["email"] for entry in invited] == EMAILS
    assert {entry["person_id"] for entry in invited} == {person.id for person in people}


def test_inviting_emits_one_event_with_the_new_people(api, org, db: Session) -> None:
    complete_steps(api, org, through=3)
    save(api, org, 4, {"emails": EMAILS, "message": "Welcome aboard!", "send_immediately": True})
    [detail] = invitations(db)
    assert sorted(detail["person_ids"]) == sorted(person.id for person in rows(db, Person, org))
    assert (detail["send_immediately"], detail["has_note"]) == (True, True)


def test_editing_step_4_adds_and_removes_only_the_difference(api, org, db: Session) -> None:
    complete_steps(api, org, through=3)
    save(api, org, 4, {"emails": EMAILS[:2]})
    first = {person.email: person.id for person in rows(db, Person, org)}
    save(api, org, 4, {"emails": [EMAILS[1], EMAILS[2]]})
    now = {person.email: person.id for person in rows(db, Person, org)}
    assert set(now) == {EMAILS[1], EMAILS[2]}
    assert now[EMAILS[1]] == first[EMAILS[1]]  # kept, not recreated
    second = invitations(db)[1]
    assert second["person_ids"] == [now[EMAILS[2]]]  # only the new one is invited


def test_saving_step_4_again_unchanged_adds_nobody_and_invites_nobody(api, org, db: Session) -> None:
    complete_steps(api, org, through=4)
    people = rows(db, Person, org)
    save(api, org, 4, step_body(4))
    assert [person.id for person in rows(db, Person, org)] == [person.id for person in people]
    assert len(invitations(db)) == 1


def test_switching_send_immediately_on_invites_everyone_of_the_step(api, org, db: Session) -> None:
    complete_steps(api, org, through=3)
    save(api, org, 4, {"emails": EMAILS, "send_immediately": False})
    save(api, org, 4, {"emails": EMAILS, "send_immediately": True})
    first, second = invitations(db)
    assert first["send_immediately"] is False
    assert (sorted(second["person_ids"]), second["send_immediately"]) == (sorted(first["person_ids"]), True)


def test_an_address_the_organization_already_has_is_not_added_again(api, org, db: Session) -> None:
    db.add(Person(id="p_host", org_id=org, name="Ana", email="ANA@example.org", roles="volunteer"))
    db.commit()
    complete_steps(api, org, through=3)
    save(api, org, 4, {"emails": EMAILS[:2]})
    assert sorted(person.email for person in rows(db, Person, org)) == ["ANA@example.org", "ben@example.org"]
    assert len(invitations(db)[0]["person_ids"]) == 1


def test_a_removed_volunteer_with_assignments_stays(api, org, db: Session) -> None:
    complete_steps(api, org, through=3)
    save(api, org, 4, {"emails": EMAILS[:2]})
    ana = next(person for person in rows(db, Person, org) if person.email == EMAILS[0])
    [event] = rows(db, Event, org)
    db.add(EventAssignment(id="a_1", event_id=event.id, person_id=ana.id, role="Greeter"))
    db.commit()
    state = save(api, org, 4, {"emails": EMAILS[1:2]}).json
    assert ana.id in {person.id for person in rows(db, Person, org)}
    assert [entry["email"] for entry in state["wizard_step_data"]["step_4"]["invited_people"]] == [EMAILS[1]]


def test_three_invited_volunteers_tick_invite_volunteers(api, org) -> None:
    complete_steps(api, org, through=3)
    save(api, org, 4, {"emails": EMAILS})
    tasks = {task["id"]: task for task in api("GET", "/v1/onboarding/checklist").json["tasks"]}
    assert tasks["invite_volunteers"]["completed"] is True


def test_the_invited_volunteers_count_towards_a_milestone_at_once(api, org, db: Session) -> None:
    add_real_rows(db, org, volunteers=8)
    complete_steps(api, org, through=3)
    state = save(api, org, 4, {"emails": EMAILS[:2]}).json
    assert "sms_notifications" in state["features_unlocked"]


def test_other_organizations_rows_are_untouched(api, org, make_org, db: Session) -> None:
    make_org("org_b")
    add_real_rows(db, "org_b", events=1, teams=1, volunteers=2)
    before = [rows(db, model, "org_b") for model in (Event, Team, Person)]
    complete_steps(api, org, through=4)
    assert [rows(db, model, "org_b") for model in (Event, Team, Person)] == before


@pytest.mark.parametrize("step", [2, 3, 4])
def test_a_draft_creates_no_rows(api, org, db: Session, step: int) -> None:
    complete_steps(api, org, through=step - 1)
    before = [len(rows(db, model, org)) for model in (Event, Team, Person)]
    assert save(api, org, step, {**step_body(step), "completed": False}).status == 200
    assert [len(rows(db, model, org)) for model in (Event, Team, Person)] == before
    assert invitations(db) == []
