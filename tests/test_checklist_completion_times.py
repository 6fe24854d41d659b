"""A checklist task's `completed_at` is when its criterion became true, where the data tells (the wizard's
own rows, the state's timestamps, the metric rows), not when a GET first noticed it; `first_detected_at`
keeps the latter."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from onboarding.models import OnboardingState
from tests.fixtures import admin_claims
from tests.host_rows import add_events
from tests.wizard_steps import complete_steps, step_body

EARLIER = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)


def tasks(api) -> dict[str, dict[str, Any]]:
    return {task["id"]: task for task in api("GET", "/v1/onboarding/checklist").json["tasks"]}


def when(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text)


def backdate_step(db: Session, org: str, step: int, at: datetime = EARLIER) -> None:
    """As if step `step` had been completed at `at` (the rows it created then, too)."""
    row = db.scalars(select(OnboardingState).where(OnboardingState.organization_id == org)).one()
    data = dict(row.wizard_step_data)
    data[f"step_{step}"] = {**data[f"step_{step}"], "completed_at": at.isoformat()}
    db.execute(update(OnboardingState).where(OnboardingState.id == row.id).values(wizard_step_data=data))
    db.commit()
    db.expire_all()


def test_the_wizards_event_completes_create_first_event_when_step_2_was_saved(api, org, db) -> None:
    complete_steps(api, org, through=3)
    backdate_step(db, org, 2)
    task = tasks(api)["create_first_event"]
    assert when(task["completed_at"]) == EARLIER
    assert when(task["first_detected_at"]) > EARLIER + timedelta(days=2)


def test_the_wizards_volunteers_complete_invite_volunteers_when_the_third_was_invited(api, org, db) -> None:
    complete_steps(api, org, through=3)
    body = {**step_body(4), "emails": ["ana@example.org", "ben@example.org"]}
    first = api("PUT", "/v1/onboarding/wizard/steps/4", claims=admin_claims(org), body=body).json
    third = api(
        "PUT",
        "/v1/onboarding/wizard/steps/4",
        claims=admin_claims(org),
        body={**body, "emails": [*body["emails"], "chloe@example.org"]},
    ).json
    invited = third["wizard_step_data"]["step_4"]["invited_people"]
    assert invited[0]["invited_at"] == first["wizard_step_data"]["step_4"]["invited_people"][0]["invited_at"]
    task = tasks(api)["invite_volunteers"]
    assert when(task["completed_at"]) == when(invited[2]["invited_at"])


def test_complete_profile_is_completed_when_the_wizard_was(api, org, db) -> None:
    complete_steps(api, org, through=5)
    db.execute(update(OnboardingState).values(completed_at=EARLIER))
    db.commit()
    assert when(tasks(api)["complete_profile"]["completed_at"]) == EARLIER


def test_view_reports_is_completed_when_the_first_view_reports_event_happened(api, org) -> None:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "view_reports",
            "timestamp": (at + timedelta(hours=h)).isoformat(),
        }
        for h in (5, 0)
    ]
    assert api("POST", "/v1/onboarding/metrics", body={"events": events}).status == 200
    assert when(tasks(api)["view_reports"]["completed_at"]) == at


def test_rows_the_wizard_did_not_create_complete_a_task_when_first_seen(api, org, db) -> None:
    add_events(db, org)  # made in the app: when is not known here
    task = tasks(api)["create_first_event"]
    assert task["completed_at"] == task["first_detected_at"] is not None


def test_other_rows_beside_the_wizards_make_the_time_unknown(api, org, db) -> None:
    add_events(db, org)
    complete_steps(api, org, through=3)
    backdate_step(db, org, 2)
    task = tasks(api)["create_first_event"]
    assert task["completed_at"] == task["first_detected_at"]
    assert when(task["completed_at"]) > EARLIER + timedelta(days=2)


def test_the_completion_time_is_stored_once(api, org, db) -> None:
    complete_steps(api, org, through=3)
    backdate_step(db, org, 2)
    first = tasks(api)["create_first_event"]
    backdate_step(db, org, 2, EARLIER - timedelta(days=1))  # changes nothing any more
    assert tasks(api)["create_first_event"] == first


def test_a_manual_completion_is_completed_when_it_was_ticked(api, org) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    api("PUT", "/v1/onboarding/checklist/run_first_schedule", body={"completed": True})
    task = tasks(api)["run_first_schedule"]
    assert when(task["completed_at"]) > before
    assert task["first_detected_at"] is None
