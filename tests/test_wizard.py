"""The setup wizard through the real handler: steps, validation, order, completion, skip, preferences."""

from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from functions.onboarding.app import lambda_handler
from onboarding.models import OnboardingMetric, OnboardingState
from tests.concurrency import fresh_handler, run_together
from tests.fixtures import admin_claims
from tests.wizard_steps import complete_steps, step_body
from tools.lambda_events import http_api_event, local_context

STEP_NAMES = ["organization_profile", "first_event", "first_team", "invite_volunteers", "tutorial_intro"]


def save(api, org_id: str, step: int | str, body: Any = None, **kwargs: Any):
    return api("PUT", f"/v1/onboarding/wizard/steps/{step}", claims=admin_claims(org_id), body=body, **kwargs)


def state_row(db: Session, org_id: str) -> OnboardingState:
    db.expire_all()
    return db.scalars(select(OnboardingState).where(OnboardingState.organization_id == org_id)).one()


def metrics_of(db: Session, event_type: str) -> list[OnboardingMetric]:
    db.expire_all()
    return list(
        db.scalars(
            select(OnboardingMetric)
            .where(OnboardingMetric.event_type == event_type)
            .order_by(OnboardingMetric.timestamp, OnboardingMetric.wizard_step_reached)
        )
    )


# --- Saving steps ---


def test_saving_step_1_stores_its_data_and_moves_to_step_2(api, org) -> None:
    response = save(api, org, 1, step_body(1))
    assert response.status == 200
    assert response.json["wizard_current_step"] == 2
    assert response.json["wizard_current_step_name"] == "first_event"
    stored = response.json["wizard_step_data"]["step_1"]
    assert stored["organization_name"] == "Grace Community Church"
    assert stored["timezone"] == "America/Toronto"
    assert stored["completed"] is True
    assert stored["completed_at"]


@pytest.mark.parametrize(("number", "name"), list(enumerate(STEP_NAMES, start=1)))
def test_a_step_can_be_named_by_its_name(api, org, number, name) -> None:
    complete_steps(api, org, through=number - 1)
    response = save(api, org, name, step_body(number))
    assert response.status == 200
    assert f"step_{number}" in response.json["wizard_step_data"]


def test_saving_step_5_completes_the_wizard(api, org) -> None:
    response = complete_steps(api, org, through=5)
    assert response.json["wizard_completed"] is True
    assert response.json["completed_at"] is not None
    assert response.json["wizard_current_step"] == 5
    assert set(response.json["wizard_step_data"]) == {f"step_{n}" for n in range(1, 6)}


@pytest.mark.parametrize("name", ["  Grace Church", "Grace Church ", "Grace Church\u00a0", "\u3000Grace"])
def test_text_with_whitespace_at_either_end_is_422_not_trimmed(api, org, db, name: str) -> None:
    # What the schema says (a pattern, and lengths of the text as stored) is what the service does.
    response = save(api, org, 1, {**step_body(1), "organization_name": name})
    assert response.status == 422
    detail = response.json["error"]["details"][0]
    assert (detail["field"], detail["reason"]) == (
        "body.organization_name",
        "Value error, must not start or end with whitespace",
    )
    assert "step_1" not in state_row(db, org).wizard_step_data


def test_text_with_inner_spaces_is_stored_as_sent(api, org) -> None:
    response = save(api, org, 1, {**step_body(1), "organization_name": "Grace  Community\u00a0Church"})
    assert response.json["wizard_step_data"]["step_1"]["organization_name"] == "Grace  Community\u00a0Church"


def test_editing_an_earlier_step_keeps_later_data_and_the_current_step(api, org) -> None:
    complete_steps(api, org, through=3)
    response = save(api, org, 1, {**step_body(1), "organization_name": "Grace Chapel"})
    assert response.status == 200
    assert response.json["wizard_current_step"] == 4
    data = response.json["wizard_step_data"]
    assert data["step_1"]["organization_name"] == "Grace Chapel"
    assert data["step_3"]["team_name"] == "Worship Team"


def test_editing_a_step_keeps_its_first_completion_time(api, org) -> None:
    first = save(api, org, 1, step_body(1)).json["wizard_step_data"]["step_1"]
    edited = save(api, org, 1, step_body(1)).json["wizard_step_data"]["step_1"]
    assert edited["completed_at"] == first["completed_at"]
    assert edited["updated_at"] >= first["updated_at"]


def test_editing_after_completion_keeps_the_wizard_completed(api, org, db) -> None:
    completed = complete_steps(api, org, through=5).json
    response = save(api, org, 3, {**step_body(3), "team_name": "Choir"})
    assert response.json["wizard_completed"] is True
    assert response.json["completed_at"] == completed["completed_at"]
    assert len(metrics_of(db, "wizard_completed")) == 1


def test_saving_step_5_again_completes_nothing_twice(api, org, db) -> None:
    complete_steps(api, org, through=5)
    assert save(api, org, 5, step_body(5)).status == 200
    assert len(metrics_of(db, "wizard_completed")) == 1
    assert [m.wizard_step_reached for m in metrics_of(db, "wizard_step_completed")] == [1, 2, 3, 4, 5]


def test_first_completion_of_each_step_emits_its_metric(api, org, db) -> None:
    complete_steps(api, org, through=5)
    completed = metrics_of(db, "wizard_step_completed")
    assert [m.wizard_step_reached for m in completed] == [1, 2, 3, 4, 5]
    assert all(m.step_duration_seconds is not None and m.step_duration_seconds >= 0 for m in completed)
    assert [m.event_data["step_name"] for m in completed] == STEP_NAMES


def test_wizard_completed_metric_carries_the_completion_time(api, org, db) -> None:
    complete_steps(api, org, through=5)
    (metric,) = metrics_of(db, "wizard_completed")
    assert metric.completion_time_minutes == 0
    assert metric.organization_id == org


def test_step_duration_is_measured_from_the_previous_step(api, org, db) -> None:
    complete_steps(api, org, through=1)
    state = state_row(db, org)
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    state.wizard_step_data = {"step_1": {**state.wizard_step_data["step_1"], "completed_at": an_hour_ago}}
    db.commit()
    save(api, org, 2, step_body(2))
    step_2 = [m for m in metrics_of(db, "wizard_step_completed") if m.wizard_step_reached == 2]
    assert 3590 <= (step_2[0].step_duration_seconds or 0) <= 3700


def test_editing_a_step_emits_no_metric(api, org, db) -> None:
    complete_steps(api, org, through=2)
    save(api, org, 1, step_body(1))
    assert len(metrics_of(db, "wizard_step_completed")) == 2


def test_event_time_without_offset_is_read_in_the_organizations_time_zone(api, org) -> None:
    complete_steps(api, org, through=1)  # America/Toronto
    local = (datetime.now(UTC) + timedelta(days=40)).strftime("%Y-%m-%dT10:00:00")
    response = save(api, org, 2, {**step_body(2), "event_datetime": local})
    stored = response.json["wizard_step_data"]["step_2"]["event_datetime"]
    # Stored and answered in UTC; the organization's time zone is a field of its own.
    assert stored.endswith("Z")
    assert response.json["timezone"] == "America/Toronto"
    in_toronto = datetime.fromisoformat(stored).astimezone(ZoneInfo("America/Toronto"))
    assert (in_toronto.hour, in_toronto.minute) == (10, 0)


def test_event_time_with_an_offset_is_stored_as_the_same_instant_in_utc(api, org, db) -> None:
    complete_steps(api, org, through=1)
    when = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    sent = when.astimezone(timezone(timedelta(hours=-5))).isoformat()  # ...-05:00
    response = save(api, org, 2, {**step_body(2), "event_datetime": sent})
    answered = response.json["wizard_step_data"]["step_2"]["event_datetime"]
    assert answered == when.isoformat().replace("+00:00", "Z")
    assert state_row(db, org).wizard_step_data["step_2"]["event_datetime"] == answered


def test_stored_step_timestamps_are_utc_with_z(api, org, db) -> None:
    complete_steps(api, org, through=2)
    for step in ("step_1", "step_2"):
        stored = state_row(db, org).wizard_step_data[step]
        assert stored["completed_at"].endswith("Z") and stored["updated_at"].endswith("Z")
        assert datetime.fromisoformat(stored["completed_at"]).tzinfo is not None


@pytest.mark.parametrize(
    "when",
    [
        "2031-01-01T10:00:00+16:00",
        "2031-01-01T10:00:00-16:00",
        "2031-01-01",
        "2031-01-01T10:00",
        "1790000000",
    ],
)
def test_an_event_time_the_database_could_not_store_or_not_a_date_time_is_422(api, org, when: str) -> None:
    complete_steps(api, org, through=1)
    response = save(api, org, 2, {**step_body(2), "event_datetime": when})
    assert response.status == 422
    assert [d["field"] for d in response.json["error"]["details"]] == ["body.event_datetime"]


# --- The sequential rule ---


def test_saving_a_step_ahead_of_the_current_one_is_409_and_writes_nothing(api, org, db) -> None:
    complete_steps(api, org, through=1)
    before = state_row(db, org).updated_at
    response = save(api, org, 3, step_body(3))
    assert response.status == 409
    assert response.json["error"]["code"] == "wizard_step_out_of_sequence"
    assert "step 2" in response.json["error"]["message"]
    assert state_row(db, org).updated_at == before
    assert "step_3" not in state_row(db, org).wizard_step_data


def test_a_new_wizard_accepts_only_step_1(api, org) -> None:
    assert save(api, org, 2, step_body(2)).status == 409
    assert save(api, org, 1, step_body(1)).status == 200


@pytest.mark.parametrize("step", ["0", "6", "-1", "1.0", "first", "organization-profile", "x" * 300, "%00"])
def test_an_unknown_step_is_404(api, org, step) -> None:
    response = save(api, org, step, step_body(1))
    assert response.status == 404
    assert response.json["error"]["code"] == "unknown_wizard_step"


def test_saving_a_step_before_onboarding_started_is_404(api, make_org) -> None:
    make_org("org_new")
    assert save(api, "org_new", 1, step_body(1)).status == 404


# --- Validation: every limit of the contract ---


def _too_many_roles() -> dict[str, int]:
    return {f"Role {n}": 1 for n in range(51)}


VALID_EDGES: list[tuple[int, str, Any]] = [
    (1, "organization_name", "abc"),
    (1, "organization_name", "x" * 100),
    (1, "location", "x" * 10),
    (1, "location", "x" * 500),
    (1, "timezone", "Asia/Kolkata"),
    (1, "timezone", "UTC"),
    (1, "volunteer_count_estimate", 0),
    (1, "organization_type", None),
    (2, "event_title", "abc"),
    (2, "event_title", "x" * 200),
    (2, "event_duration_minutes", 15),
    (2, "event_duration_minutes", 480),
    (2, "role_requirements", {"Greeter": 1}),
    (2, "description", "x" * 1000),
    (2, "description", "line one\nline two"),
    (3, "team_name", "abc"),
    (3, "team_name", "x" * 100),
    (3, "team_role", "x" * 100),
    (3, "description", "x" * 500),
    (3, "size_estimate", 0),
    (4, "emails", ["one@example.org"]),
    (4, "emails", [f"v{n}@example.org" for n in range(50)]),
    (4, "message", "x" * 500),
    (4, "send_immediately", True),
    (5, "tutorials_to_show", []),
    (
        5,
        "tutorials_to_show",
        ["events_intro", "teams_setup", "availability_management", "solver_run", "schedule_export"],
    ),
]

INVALID_EDGES: list[tuple[int, str, Any]] = [
    (1, "organization_name", "ab"),
    (1, "organization_name", "x" * 101),
    (1, "organization_name", "   ab   "),
    (1, "organization_name", None),
    (1, "organization_name", 123),
    (1, "location", "x" * 9),
    (1, "location", "x" * 501),
    (1, "timezone", "Mars/Olympus_Mons"),
    (1, "timezone", "Europe/Londn"),
    (1, "timezone", "../../etc/passwd"),
    (1, "timezone", "localtime"),
    (1, "volunteer_count_estimate", -1),
    (1, "volunteer_count_estimate", "40"),
    (1, "volunteer_count_estimate", 4.5),
    (1, "volunteer_count_estimate", True),
    (1, "volunteer_count_estimate", 10**30),
    (2, "event_title", "ab"),
    (2, "event_title", "x" * 201),
    (2, "event_datetime", "next sunday"),
    (2, "event_datetime", 1893456000),
    (2, "event_datetime", "2020-01-05T10:00:00Z"),
    (2, "event_datetime", "2999-01-05T10:00:00Z"),
    (2, "event_duration_minutes", 14),
    (2, "event_duration_minutes", 481),
    (2, "event_duration_minutes", "60"),
    (2, "role_requirements", {}),
    (2, "role_requirements", {"Greeter": 0}),
    (2, "role_requirements", {"Greeter": -2}),
    (2, "role_requirements", {"Greeter": "2"}),
    (2, "role_requirements", {"": 2}),
    (2, "role_requirements", ["Greeter"]),
    (2, "role_requirements", _too_many_roles()),
    (2, "location", "x" * 501),
    (2, "description", "x" * 1001),
    (3, "team_name", "ab"),
    (3, "team_name", "x" * 101),
    (3, "team_role", "ab"),
    (3, "team_role", "x" * 101),
    (3, "description", "x" * 501),
    (3, "size_estimate", -1),
    (4, "emails", []),
    (4, "emails", [f"v{n}@example.org" for n in range(51)]),
    (4, "emails", ["not-an-email"]),
    (4, "emails", ["ana@@example.org"]),
    (4, "emails", ["ana@example.org\x00"]),
    (4, "emails", "ana@example.org"),
    (4, "message", "x" * 501),
    (4, "send_immediately", "yes"),
    (5, "tutorials_to_show", ["not_a_tutorial"]),
    (5, "tutorials_to_show", "events_intro"),
    (5, "skip_tutorials", 1),
]


def _arranged_at_step(api, org_id: str, step: int) -> None:
    complete_steps(api, org_id, through=step - 1)


@pytest.mark.parametrize(("step", "field", "value"), VALID_EDGES)
def test_values_at_the_limits_are_accepted(api, org, step, field, value) -> None:
    _arranged_at_step(api, org, step)
    response = save(api, org, step, {**step_body(step), field: value})
    assert response.status == 200, response.json


@pytest.mark.parametrize(("step", "field", "value"), INVALID_EDGES)
def test_values_beyond_the_limits_are_422_naming_the_field(api, org, step, field, value) -> None:
    _arranged_at_step(api, org, step)
    response = save(api, org, step, {**step_body(step), field: value})
    assert response.status == 422, response.json
    assert response.json["error"]["code"] == "validation_error"
    assert any(d["field"].startswith(f"body.{field}") for d in response.json["error"]["details"])


@pytest.mark.parametrize("step", [1, 2, 3, 4, 5])
def test_unknown_fields_are_422(api, org, step) -> None:
    _arranged_at_step(api, org, step)
    response = save(api, org, step, {**step_body(step), "favourite_colour": "blue"})
    assert response.status == 422
    assert response.json["error"]["details"][0]["field"] == "body.favourite_colour"


@pytest.mark.parametrize("step", [1, 2, 3, 4])
def test_required_fields_are_422_when_missing(api, org, step) -> None:
    _arranged_at_step(api, org, step)
    response = save(api, org, step, {})
    assert response.status == 422
    # `{}` is a whole step-5 body (every field has a default): the refusal says so, then what is missing.
    mismatch, *missing = response.json["error"]["details"]
    assert (mismatch["type"], "step 5 (tutorial_intro)" in mismatch["reason"]) == ("step_body_mismatch", True)
    assert missing and {d["type"] for d in missing} == {"missing"}


@pytest.mark.parametrize(("body_of", "sent_to"), [(1, 5), (5, 1), (2, 3), (4, 1)])
def test_a_body_of_another_step_is_422_naming_the_step_it_fits(api, org, db, body_of, sent_to) -> None:
    complete_steps(api, org, through=4)
    before = state_row(db, org).wizard_step_data
    response = save(api, org, sent_to, step_body(body_of))
    assert response.status == 422
    first = response.json["error"]["details"][0]
    assert (first["field"], first["type"]) == ("body", "step_body_mismatch")
    assert f"step {body_of} ({STEP_NAMES[body_of - 1]})" in first["reason"]
    assert state_row(db, org).wizard_step_data == before


def test_step_5_fields_all_have_defaults(api, org) -> None:
    complete_steps(api, org, through=4)
    assert save(api, org, 5, {}).status == 200


def test_skipping_tutorials_while_choosing_some_is_422(api, org) -> None:
    complete_steps(api, org, through=4)
    response = save(api, org, 5, {"tutorials_to_show": ["events_intro"], "skip_tutorials": True})
    assert response.status == 422


def test_repeated_invite_addresses_are_kept_once(api, org) -> None:
    complete_steps(api, org, through=3)
    emails = ["ana@example.org", "ANA@example.org", "ben@example.org"]
    response = save(api, org, 4, {"emails": emails})
    assert response.json["wizard_step_data"]["step_4"]["emails"] == ["ana@example.org", "ben@example.org"]


def test_an_address_pasted_with_a_display_name_is_stored_as_the_bare_address(api, org) -> None:
    complete_steps(api, org, through=3)
    response = save(api, org, 4, {"emails": ["Ana Ruiz <ana@Example.ORG>"]})
    assert response.json["wizard_step_data"]["step_4"]["emails"] == ["ana@example.org"]


@pytest.mark.parametrize(
    "text",
    ["Grace\x00Church", "Grace\u0007Church", "Grace\nChurch", "Grace \ud800 Church"],
    ids=["nul", "bell", "newline", "lone-surrogate"],
)
def test_control_characters_and_broken_unicode_in_a_name_are_422(api, org, text) -> None:
    response = save(api, org, 1, {**step_body(1), "organization_name": text})
    assert response.status == 422
    assert response.json["error"]["details"][0]["field"] == "body.organization_name"


def test_nul_in_a_role_name_is_422(api, org) -> None:
    complete_steps(api, org, through=1)
    response = save(api, org, 2, {**step_body(2), "role_requirements": {"Greet\x00er": 1}})
    assert response.status == 422


@pytest.mark.parametrize(
    ("raw_body", "status"),
    [("{not json", 400), ("[1, 2]", 422), ('"text"', 422), ("null", 422), ("[" * 15000, 400)],
    ids=["malformed", "array", "string", "null", "deeply-nested"],
)
def test_a_body_that_is_not_a_json_object_is_rejected(api, org, raw_body, status) -> None:
    response = save(api, org, 1, raw_body=raw_body)
    assert response.status == status
    assert set(response.json["error"]) == {"code", "message", "details", "localized_message"}


def test_a_missing_body_is_422(api, org) -> None:
    response = save(api, org, 1)
    assert response.status == 422
    assert response.json["error"]["details"][0]["field"] == "body"


def test_invalid_input_writes_nothing(api, org, db) -> None:
    before = state_row(db, org)
    response = save(api, org, 1, {**step_body(1), "timezone": "Nowhere/City"})
    after = state_row(db, org)
    assert response.status == 422
    assert (after.wizard_step_data, after.updated_at) == ({}, before.updated_at)
    assert metrics_of(db, "wizard_step_completed") == []


# --- Skipping ---


@pytest.mark.parametrize("at_step", [1, 2, 3, 4, 5])
def test_skipping_records_the_step_it_happened_at(api, org, db, at_step) -> None:
    complete_steps(api, org, through=at_step - 1)
    response = api("POST", "/v1/onboarding/wizard/skip", claims=admin_claims(org))
    assert response.status == 200
    assert response.json["skipped"] is True
    assert response.json["skipped_at"] is not None
    assert response.json["wizard_current_step"] == at_step
    (metric,) = metrics_of(db, "wizard_skipped")
    assert metric.wizard_step_dropped == at_step
    assert metric.event_data == {"step_name": STEP_NAMES[at_step - 1]}


def test_skipping_twice_keeps_the_first_skip(api, org, db) -> None:
    first = api("POST", "/v1/onboarding/wizard/skip", claims=admin_claims(org)).json
    again = api("POST", "/v1/onboarding/wizard/skip", claims=admin_claims(org))
    assert again.status == 200
    assert again.json["skipped_at"] == first["skipped_at"]
    assert len(metrics_of(db, "wizard_skipped")) == 1


def test_skipping_a_completed_wizard_is_409(api, org, db) -> None:
    complete_steps(api, org, through=5)
    response = api("POST", "/v1/onboarding/wizard/skip", claims=admin_claims(org))
    assert response.status == 409
    assert response.json["error"]["code"] == "wizard_already_completed"
    assert state_row(db, org).skipped is False


def test_saving_a_step_after_skipping_resumes_the_wizard(api, org, db) -> None:
    complete_steps(api, org, through=2)
    api("POST", "/v1/onboarding/wizard/skip", claims=admin_claims(org))
    response = save(api, org, 3, step_body(3))
    assert response.json["skipped"] is False
    assert response.json["skipped_at"] is None
    assert response.json["wizard_current_step"] == 4
    assert len(metrics_of(db, "wizard_skipped")) == 1


def test_a_skipped_wizard_can_still_be_completed(api, org) -> None:
    api("POST", "/v1/onboarding/wizard/skip", claims=admin_claims(org))
    response = complete_steps(api, org, through=5)
    assert (response.json["wizard_completed"], response.json["skipped"]) == (True, False)


def test_skipping_before_onboarding_started_is_404(api, make_org) -> None:
    make_org("org_new")
    assert api("POST", "/v1/onboarding/wizard/skip", claims=admin_claims("org_new")).status == 404


# --- Preferences ---


def test_show_all_features_can_be_turned_on_and_off(api, org) -> None:
    on = api("PUT", "/v1/onboarding/preferences", claims=admin_claims(org), body={"show_all_features": True})
    assert (on.status, on.json["show_all_features"]) == (200, True)
    assert api("GET", "/v1/onboarding", claims=admin_claims(org)).json["show_all_features"] is True
    off = api(
        "PUT", "/v1/onboarding/preferences", claims=admin_claims(org), body={"show_all_features": False}
    )
    assert off.json["show_all_features"] is False


@pytest.mark.parametrize(
    "body",
    [{}, {"show_all_features": "true"}, {"show_all_features": 1}, {"show_all_features": None},
     {"show_all_features": True, "theme": "dark"}],
    ids=["missing", "string", "number", "null", "unknown-field"],
)  # fmt: skip
def test_preferences_need_exactly_a_boolean(api, org, body) -> None:
    response = api("PUT", "/v1/onboarding/preferences", claims=admin_claims(org), body=body)
    assert response.status == 422


def test_preferences_before_onboarding_started_are_404(api, make_org) -> None:
    make_org("org_new")
    response = api(
        "PUT", "/v1/onboarding/preferences", claims=admin_claims("org_new"), body={"show_all_features": True}
    )
    assert response.status == 404


# --- The state document ---


def test_state_shows_wizard_sample_data_and_features(api, org) -> None:
    complete_steps(api, org, through=2)
    state = api("GET", "/v1/onboarding", claims=admin_claims(org)).json
    assert state["wizard_current_step"] == 3
    assert state["wizard_step_data"]["step_2"]["event_title"] == "Sunday Morning Service"
    assert state["sample_data"] == {
        "present": False,
        "size": None,
        "generated_at": None,
        "expires_at": None,
        "expired": False,
        "cleared": False,
        "counts": {"events": 0, "teams": 0, "volunteers": 0, "assignments": 0},
    }
    assert state["timezone"] == "America/Toronto"
    assert state["features_unlocked"] == []
    assert [f["feature_id"] for f in state["feature_progress"]] == [
        "recurring_events",
        "manual_editing",
        "sms_notifications",
    ]


# --- Tenancy and identity ---


def test_one_organizations_steps_are_invisible_to_another(api, org, make_org) -> None:
    make_org("org_b")
    api("POST", "/v1/onboarding", claims=admin_claims("org_b"))
    complete_steps(api, org, through=2)
    other = api("GET", "/v1/onboarding", claims=admin_claims("org_b")).json
    assert (other["wizard_current_step"], other["wizard_step_data"]) == (1, {})


def test_saving_for_one_organization_never_changes_another(api, org, make_org, db) -> None:
    make_org("org_b")
    complete_steps(api, "org_b", through=1)
    before = state_row(db, "org_b").wizard_step_data
    complete_steps(api, org, through=3)
    api("POST", "/v1/onboarding/wizard/skip", claims=admin_claims(org))
    after = state_row(db, "org_b")
    assert (after.wizard_step_data, after.skipped) == (before, False)


ROUTES = [
    ("PUT", "/v1/onboarding/wizard/steps/1"),
    ("POST", "/v1/onboarding/wizard/skip"),
    ("PUT", "/v1/onboarding/preferences"),
    ("GET", "/v1/onboarding"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_routes_need_an_organization_claim(api, method, path) -> None:
    assert api(method, path, claims={}).status == 401
    assert api(method, path, claims={"cognito:groups": "[org_admin]"}).status == 401


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_routes_need_the_org_admin_group(api, org, method, path) -> None:
    response = api(method, path, claims={"custom:org_id": org, "cognito:groups": ["platform_analyst"]})
    assert response.status == 403


# --- Concurrency ---


def _save_in_own_container(org_id: str, step: int, body: dict[str, Any]) -> int:
    handler = fresh_handler()
    event = http_api_event(
        "PUT", f"/v1/onboarding/wizard/steps/{step}", body=body, claims=admin_claims(org_id)
    )
    return int(handler(event, local_context())["statusCode"])


def test_concurrent_saves_of_the_current_step_advance_it_exactly_once(api, org, db) -> None:
    names = [f"Grace Church {n}" for n in range(8)]
    statuses = run_together(
        [
            partial(_save_in_own_container, org, 1, {**step_body(1), "organization_name": name})
            for name in names
        ]
    )
    assert statuses == [200] * 8
    state = state_row(db, org)
    assert state.wizard_current_step == 2
    assert state.wizard_step_data["step_1"]["organization_name"] in names
    assert len(metrics_of(db, "wizard_step_completed")) == 1


def test_concurrent_edits_of_different_steps_are_all_kept(api, org, db) -> None:
    complete_steps(api, org, through=4)
    edits = {
        1: {**step_body(1), "organization_name": "Edited Org"},
        2: {**step_body(2), "event_title": "Edited Event"},
        3: {**step_body(3), "team_name": "Edited Team"},
        4: {**step_body(4), "message": "Edited message"},
        5: {**step_body(5), "tutorials_to_show": ["teams_setup"]},
    }
    statuses = run_together([partial(_save_in_own_container, org, s, b) for s, b in edits.items()])
    assert statuses == [200] * 5
    data = state_row(db, org).wizard_step_data
    assert data["step_1"]["organization_name"] == "Edited Org"
    assert data["step_2"]["event_title"] == "Edited Event"
    assert data["step_3"]["team_name"] == "Edited Team"
    assert data["step_4"]["message"] == "Edited message"
    assert data["step_5"]["tutorials_to_show"] == ["teams_setup"]
    assert state_row(db, org).wizard_completed is True


def test_concurrent_saves_keep_the_current_step_consistent_with_the_data(api, org, db) -> None:
    # Every step saved twice at once, out of order: some are refused (409), none may corrupt the state.
    tasks = [partial(_save_in_own_container, org, s, step_body(s)) for s in [1, 2, 3, 1, 2, 3, 4, 5]]
    statuses = run_together(tasks)
    assert set(statuses) <= {200, 409}
    state = state_row(db, org)
    saved = sorted(int(key.removeprefix("step_")) for key in state.wizard_step_data)
    assert saved == list(range(1, len(saved) + 1))
    expected_step = min(len(saved) + 1, 5)
    assert state.wizard_current_step == expected_step
    assert state.wizard_completed is (len(saved) == 5)
    reached = sorted(m.wizard_step_reached or 0 for m in metrics_of(db, "wizard_step_completed"))
    assert reached == saved


def test_get_onboarding_includes_the_live_checklist_summary(call, make_org, db) -> None:
    from tests.host_rows import add_real_rows

    make_org("org_a")
    api = call(lambda_handler)
    api("POST", "/v1/onboarding", claims=admin_claims("org_a"))
    add_real_rows(db, "org_a", events=1, teams=1)
    db.commit()
    summary = api("GET", "/v1/onboarding", claims=admin_claims("org_a")).json["checklist"]
    assert summary == {"completed_count": 2, "total_count": 6, "completion_percent": 33.3}
