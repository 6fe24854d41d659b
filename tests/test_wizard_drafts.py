"""Drafts: a client saves what it has of the current step (`completed: false`) without advancing, gets
it back on resume, and the step's full validation applies only when it is completed."""

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from onboarding.models import OnboardingMetric
from tests.fixtures import admin_claims
from tests.wizard_steps import complete_steps, step_body


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def save(api, org_id: str, step: int | str, body: Any):
    return api("PUT", f"/v1/onboarding/wizard/steps/{step}", claims=admin_claims(org_id), body=body)


def test_a_draft_is_stored_without_advancing(api, org) -> None:
    response = save(api, org, 1, {"organization_name": "Gr", "completed": False})
    assert response.status == 200
    assert response.json["wizard_current_step"] == 1
    draft = response.json["wizard_step_data"]["step_1"]
    assert (draft["organization_name"], draft["completed"]) == ("Gr", False)
    assert "completed_at" not in draft


def test_the_draft_comes_back_on_resume(api, org) -> None:
    save(api, org, 1, {"organization_name": "Grace", "timezone": "America/Tor", "completed": False})
    resumed = api("GET", "/v1/onboarding").json
    draft = resumed["wizard_step_data"]["step_1"]
    assert when(draft.pop("updated_at")) == when(resumed["updated_at"])
    assert draft == {"organization_name": "Grace", "timezone": "America/Tor", "completed": False}


def test_a_later_draft_replaces_the_earlier_one(api, org) -> None:
    save(api, org, 1, {"organization_name": "Grace", "location": "123 Main", "completed": False})
    response = save(api, org, 1, {"organization_name": "Grace Church", "completed": False})
    assert set(response.json["wizard_step_data"]["step_1"]) == {
        "organization_name",
        "completed",
        "updated_at",
    }


def test_completing_the_step_replaces_its_draft_and_advances(api, org) -> None:
    save(api, org, 1, {"organization_name": "Gr", "completed": False})
    response = save(api, org, 1, {**step_body(1), "completed": True})
    assert response.json["wizard_current_step"] == 2
    assert response.json["wizard_step_data"]["step_1"]["completed"] is True


def test_a_draft_emits_no_metric(api, org, db: Session) -> None:
    save(api, org, 1, {"organization_name": "Gr", "completed": False})
    assert db.scalars(select(OnboardingMetric.event_type)).all() == ["wizard_started"]


@pytest.mark.parametrize(
    ("step", "partial"),
    [
        (1, {"timezone": "Mars/Olympus"}),  # not a time zone yet
        (2, {"event_title": "Su", "event_datetime": "2026-1", "role_requirements": {"Greeter": 0}}),
        (3, {}),
        (4, {"emails": ["ana@", "ben@exa"]}),
        (5, {"tutorials_to_show": ["solver_run"], "skip_tutorials": True}),  # contradictory for now
    ],
)
def test_a_draft_skips_what_is_not_filled_in_yet(api, org, step: int, partial: dict[str, Any]) -> None:
    complete_steps(api, org, through=step - 1)
    response = save(api, org, step, {**partial, "completed": False})
    assert response.status == 200, response
    stored = response.json["wizard_step_data"][f"step_{step}"]
    assert when(stored.pop("updated_at")) == when(response.json["updated_at"])
    assert stored == {**partial, "completed": False}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"organization_name": "x" * 101}, "body.organization_name"),
        ({"organization_name": "Grace\x00"}, "body.organization_name"),
        ({"organization_name": "Grace\nChurch"}, "body.organization_name"),
        ({"organization_name": "\ud800"}, "body.organization_name"),
        ({"volunteer_count_estimate": "40"}, "body.volunteer_count_estimate"),
        ({"volunteer_count_estimate": 10**9}, "body.volunteer_count_estimate"),
        ({"volunteer_count_estimate": 40.5}, "body.volunteer_count_estimate"),
        ({"location": ["123 Main St"]}, "body.location"),
        ({"nickname": "Grace"}, "body.nickname"),
        ({"organization_id": "org_b"}, "body.organization_id"),
        ({"completed": "false"}, "body.completed"),
    ],
)
def test_a_draft_is_still_bounded_and_typed(api, org, db: Session, body: dict[str, Any], field: str) -> None:
    response = save(api, org, 1, {"completed": False, **body})
    assert response.status == 422
    assert field in [detail["field"] for detail in response.json["error"]["details"]]
    assert api("GET", "/v1/onboarding").json["wizard_step_data"] == {}


def test_a_draft_is_bounded_by_the_wizards_size_limit(api, org) -> None:
    complete_steps(api, org, through=1)
    roles = {f"Rôle {index:03d} " + "é" * 90: 1 for index in range(50)}  # 2 bytes a character
    response = save(api, org, 2, {"description": "d" * 1000, "role_requirements": roles, "completed": False})
    assert response.status == 422
    assert response.json["error"]["details"][0]["type"] == "wizard_data_too_large"


def test_a_completed_step_cannot_become_a_draft(api, org) -> None:
    complete_steps(api, org, through=2)
    response = save(api, org, 1, {"organization_name": "Gr", "completed": False})
    assert response.status == 409
    assert response.json["error"]["code"] == "wizard_step_already_completed"
    assert api("GET", "/v1/onboarding").json["wizard_step_data"]["step_1"]["completed"] is True


def test_a_draft_of_a_later_step_is_out_of_sequence(api, org) -> None:
    response = save(api, org, 3, {"team_name": "Wo", "completed": False})
    assert response.status == 409
    assert response.json["error"]["code"] == "wizard_step_out_of_sequence"


def test_a_draft_resumes_a_skipped_wizard(api, org) -> None:
    api("POST", "/v1/onboarding/wizard/skip")
    response = save(api, org, 1, {"organization_name": "Gr", "completed": False})
    assert (response.json["skipped"], response.json["skipped_at"]) == (False, None)


def test_the_full_validation_applies_when_completed(api, org) -> None:
    save(api, org, 1, {"organization_name": "Gr", "completed": False})
    response = save(api, org, 1, {"organization_name": "Gr"})
    assert response.status == 422
    fields = {detail["field"] for detail in response.json["error"]["details"]}
    assert {"body.organization_name", "body.location", "body.timezone"} <= fields


def test_a_draft_takes_an_integer_sent_as_a_whole_float_as_the_full_step_does(api, org) -> None:
    # JSON does not tell 40 from 40.0 (openapi.json: "type": "integer" accepts both).
    response = save(api, org, 1, {"completed": False, "volunteer_count_estimate": 40.0})
    assert response.status == 200, response.json
    assert response.json["wizard_step_data"]["step_1"]["volunteer_count_estimate"] == 40
