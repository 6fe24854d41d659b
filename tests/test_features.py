"""Feature unlocks: milestones on real rows only, stored once with one metric, shown in the state."""

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from onboarding.models import Event, OnboardingMetric, OnboardingState, Person
from tests.concurrency import fresh_handler, run_together
from tests.fixtures import admin_claims
from tests.host_rows import add_real_rows
from tests.wizard_steps import step_body
from tools.lambda_events import http_api_event, local_context

MILESTONES = [
    ("recurring_events", "events", 5, "events_created"),
    ("manual_editing", "assignments", 10, "assignments_created"),
    ("sms_notifications", "volunteers", 10, "volunteers_added"),
]


def read_state(api, org_id: str):
    response = api("GET", "/v1/onboarding", claims=admin_claims(org_id))
    assert response.status == 200
    return response.json


def unlock_metrics(db: Session) -> list[OnboardingMetric]:
    db.expire_all()
    return list(db.scalars(select(OnboardingMetric).where(OnboardingMetric.event_type == "feature_unlocked")))


@pytest.mark.parametrize(("feature", "rows", "threshold", "milestone"), MILESTONES)
def test_a_feature_stays_locked_one_row_below_its_threshold(
    api, org, db, feature, rows, threshold, milestone
) -> None:
    add_real_rows(db, org, **{rows: threshold - 1})
    state = read_state(api, org)
    assert feature not in state["features_unlocked"]
    progress = next(p for p in state["feature_progress"] if p["feature_id"] == feature)
    assert progress == {
        "feature_id": feature,
        "name_key": f"onboarding.features.{feature}",
        "name": progress["name"],  # localized: tests/test_i18n_responses.py
        "unlocked": False,
        "milestone_type": milestone,
        "threshold": threshold,
        "count": threshold - 1,
    }


@pytest.mark.parametrize(("feature", "rows", "threshold", "milestone"), MILESTONES)
def test_a_feature_unlocks_at_its_threshold_with_one_metric(
    api, org, db, feature, rows, threshold, milestone
) -> None:
    add_real_rows(db, org, **{rows: threshold})
    assert feature in read_state(api, org)["features_unlocked"]
    (metric,) = [m for m in unlock_metrics(db) if m.event_data["feature_id"] == feature]
    assert metric.organization_id == org
    assert metric.event_data == {
        "feature_id": feature,
        "milestone_type": milestone,
        "threshold": threshold,
        "count": threshold,
    }


def test_an_unlock_is_stored_once_however_often_the_state_is_read(api, org, db) -> None:
    add_real_rows(db, org, events=6)
    for _ in range(3):
        assert read_state(api, org)["features_unlocked"] == ["recurring_events"]
    assert len(unlock_metrics(db)) == 1
    db.expire_all()
    stored = db.scalars(select(OnboardingState.features_unlocked)).one()
    assert stored == ["recurring_events"]


def test_sample_rows_never_unlock_features(api, org, db) -> None:
    # Comprehensive sample data: 10 events, 30 volunteers, 150 assignments, all over the thresholds.
    response = api(
        "POST", "/v1/onboarding/sample-data", claims=admin_claims(org), body={"size": "comprehensive"}
    )
    assert response.status == 201
    state = read_state(api, org)
    assert state["features_unlocked"] == []
    assert {p["count"] for p in state["feature_progress"]} == {0}
    assert unlock_metrics(db) == []


def test_assignments_count_only_when_event_and_person_are_real(api, org, db) -> None:
    api("POST", "/v1/onboarding/sample-data", claims=admin_claims(org), body={"size": "minimal"})
    add_real_rows(db, org, assignments=9)
    progress = {p["feature_id"]: p for p in read_state(api, org)["feature_progress"]}
    assert progress["manual_editing"]["count"] == 9
    assert progress["manual_editing"]["unlocked"] is False


def test_people_without_the_volunteer_role_do_not_count_as_volunteers(api, org, db) -> None:
    add_real_rows(db, org, volunteers=10)
    db.execute(update(Person).where(Person.id == f"{org}_real_person_0").values(roles='["admin"]'))
    db.commit()
    progress = {p["feature_id"]: p for p in read_state(api, org)["feature_progress"]}
    assert progress["sms_notifications"]["count"] == 9
    assert progress["sms_notifications"]["unlocked"] is False


def test_an_unlock_is_kept_after_the_rows_behind_it_are_deleted(api, org, db) -> None:
    add_real_rows(db, org, events=5)
    read_state(api, org)
    db.execute(delete(Event))
    db.commit()
    state = read_state(api, org)
    assert state["features_unlocked"] == ["recurring_events"]
    assert next(p for p in state["feature_progress"] if p["feature_id"] == "recurring_events")["unlocked"]


def test_features_are_evaluated_after_a_wizard_write(api, org, db) -> None:
    add_real_rows(db, org, volunteers=12)
    response = api("PUT", "/v1/onboarding/wizard/steps/1", claims=admin_claims(org), body=step_body(1))
    assert response.json["features_unlocked"] == ["sms_notifications"]
    assert len(unlock_metrics(db)) == 1


def test_several_features_unlock_together_in_milestone_order(api, org, db) -> None:
    add_real_rows(db, org, events=5, volunteers=10, assignments=10)
    state = read_state(api, org)
    assert state["features_unlocked"] == ["recurring_events", "manual_editing", "sms_notifications"]
    assert len(unlock_metrics(db)) == 3


def test_another_organizations_rows_do_not_count(api, org, make_org, db) -> None:
    make_org("org_b")
    add_real_rows(db, "org_b", events=5)
    assert read_state(api, org)["features_unlocked"] == []


def test_concurrent_reads_store_an_unlock_once(api, org, db) -> None:
    add_real_rows(db, org, events=5)

    def read() -> int:
        event = http_api_event("GET", "/v1/onboarding", claims=admin_claims(org))
        return int(fresh_handler()(event, local_context())["statusCode"])

    assert run_together([read] * 8) == [200] * 8
    assert len(unlock_metrics(db)) == 1
    db.expire_all()
    assert db.scalars(select(OnboardingState.features_unlocked)).one() == ["recurring_events"]
