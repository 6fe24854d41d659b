"""The migrated schema enforces data-model.md's rules (and its fixes) by itself."""

import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from onboarding.db import sqlstate
from onboarding.ids import new_id
from onboarding.models import (
    OnboardingChecklistTask,
    OnboardingMetric,
    OnboardingState,
    OnboardingTutorialCompletion,
)

pytestmark = pytest.mark.versions  # DDL and constraints: checked on PostgreSQL 15 and 18

SEED_TASKS = [
    (
        "complete_profile",
        1,
        "user-circle",
        "/app/settings/organization",
        {"type": "state_check", "field": "wizard_completed", "value": True},
    ),
    (
        "create_first_event",
        2,
        "calendar",
        "/app/events/create",
        {"type": "database_query", "counter": "real_events", "operator": ">=", "threshold": 1},
    ),
    (
        "add_team",
        3,
        "users",
        "/app/teams/create",
        {"type": "database_query", "counter": "real_teams", "operator": ">=", "threshold": 1},
    ),
    (
        "invite_volunteers",
        4,
        "user-plus",
        "/app/people/invite",
        {"type": "database_query", "counter": "real_volunteers", "operator": ">=", "threshold": 3},
    ),
    (
        "run_first_schedule",
        5,
        "check-circle",
        "/app/solver",
        {"type": "database_query", "counter": "real_assignments", "operator": ">=", "threshold": 1},
    ),
    (
        "view_reports",
        6,
        "bar-chart",
        "/app/reports",
        {"type": "database_query", "counter": "view_reports_events", "operator": ">=", "threshold": 1},
    ),
]


def rejects(db: Session, statement: str) -> bool:
    try:
        with db.begin_nested():
            db.execute(text(statement))
    except DBAPIError as error:
        return (sqlstate(error) or "").startswith("23")  # the integrity-violation class
    return False


def test_seeded_tasks_are_exactly_the_six_of_the_seed(db: Session) -> None:
    tasks = db.scalars(select(OnboardingChecklistTask).order_by(OnboardingChecklistTask.priority_order)).all()
    assert [(t.id, t.priority_order, t.icon, t.quick_action_url, t.completion_criteria) for t in tasks] == [
        (task_id, order, icon, url, criteria) for task_id, order, icon, url, criteria in SEED_TASKS
    ]
    assert all(t.title_key == f"onboarding.checklist.{t.id}" for t in tasks)
    assert all(t.description_key == f"onboarding.checklist.{t.id}_desc" for t in tasks)
    assert all(t.is_active for t in tasks)


def test_no_seeded_criterion_contains_sql(db: Session) -> None:
    criteria = db.scalars(select(OnboardingChecklistTask.completion_criteria)).all()
    assert not any("query" in c or "SELECT" in str(c).upper() for c in criteria)


def test_state_defaults_come_from_the_server(db: Session, new_org: str) -> None:
    db.execute(text("INSERT INTO onboarding_state (organization_id) VALUES ('org_a')"))
    state = db.scalars(select(OnboardingState)).one()
    assert state.id.startswith("onboard_") and len(state.id) <= 50
    assert state.wizard_current_step == 1
    assert state.wizard_step_data == {} and state.checklist_progress == {} and state.features_unlocked == []
    assert state.started_at.tzinfo is not None
    assert not (state.wizard_completed or state.skipped or state.sample_data_generated)


def test_one_state_per_organization(db: Session, new_org: str) -> None:
    db.execute(text("INSERT INTO onboarding_state (organization_id) VALUES ('org_a')"))
    assert rejects(db, "INSERT INTO onboarding_state (organization_id) VALUES ('org_a')")


@pytest.mark.parametrize("step", [0, 6, -1])
def test_wizard_step_must_be_between_one_and_five(db: Session, new_org: str, step: int) -> None:
    assert rejects(
        db, f"INSERT INTO onboarding_state (organization_id, wizard_current_step) VALUES ('org_a', {step})"
    )


def test_state_cannot_be_both_completed_and_skipped(db: Session, new_org: str) -> None:
    assert rejects(
        db,
        "INSERT INTO onboarding_state (organization_id, wizard_completed, skipped, skipped_at)"
        " VALUES ('org_a', true, true, now())",
    )


def test_generated_sample_data_needs_its_dates(db: Session, new_org: str) -> None:
    assert rejects(
        db, "INSERT INTO onboarding_state (organization_id, sample_data_generated) VALUES ('org_a', true)"
    )


@pytest.mark.parametrize("steps_completed", [-1, 5])
def test_tutorial_steps_stay_within_total(db: Session, new_org: str, steps_completed: int) -> None:
    assert rejects(
        db,
        "INSERT INTO onboarding_tutorial_completion (organization_id, tutorial_id, steps_completed, total_steps)"
        f" VALUES ('org_a', 'events_intro', {steps_completed}, 4)",
    )


def test_tutorial_cannot_be_both_completed_and_skipped(db: Session, new_org: str) -> None:
    assert rejects(
        db,
        "INSERT INTO onboarding_tutorial_completion (organization_id, tutorial_id, total_steps, completed, skipped)"
        " VALUES ('org_a', 'events_intro', 4, true, true)",
    )


def test_one_tutorial_record_per_org_and_tutorial(db: Session, new_org: str) -> None:
    insert = (
        "INSERT INTO onboarding_tutorial_completion (organization_id, tutorial_id, total_steps)"
        " VALUES ('org_a', 'events_intro', 4)"
    )
    db.execute(text(insert))
    assert rejects(db, insert)


@pytest.mark.parametrize("column", ["step_duration_seconds", "completion_time_minutes"])
def test_metric_durations_are_non_negative(db: Session, new_org: str, column: str) -> None:
    assert rejects(
        db, f"INSERT INTO onboarding_metric (organization_id, event_type, {column}) VALUES ('org_a', 'x', -1)"
    )


def test_client_event_id_is_stored_once_per_org(db: Session, make_org, new_org: str) -> None:
    make_org("org_b")
    event_id = uuid.uuid4()
    statement = "INSERT INTO onboarding_metric (organization_id, event_type, client_event_id) VALUES ('{}', 'x', '{}')"
    db.execute(text(statement.format("org_a", event_id)))
    db.execute(text(statement.format("org_b", event_id)))  # another org's equal id does not interfere
    assert rejects(db, statement.format("org_a", event_id))


def test_deleting_an_organization_removes_all_its_onboarding_rows(
    db: Session, make_org, new_org: str
) -> None:
    make_org("org_b")
    for org_id in ("org_a", "org_b"):
        db.execute(text(f"INSERT INTO onboarding_state (organization_id) VALUES ('{org_id}')"))
        db.execute(
            text(
                "INSERT INTO onboarding_tutorial_completion (organization_id, tutorial_id, total_steps)"
                f" VALUES ('{org_id}', 'events_intro', 4)"
            )
        )
        db.execute(
            text(f"INSERT INTO onboarding_metric (organization_id, event_type) VALUES ('{org_id}', 'x')")
        )
    db.execute(text("DELETE FROM organizations WHERE id = 'org_a'"))
    for model in (OnboardingState, OnboardingTutorialCompletion, OnboardingMetric):
        assert db.scalars(select(model.organization_id)).all() == ["org_b"]


def test_ids_are_unique_across_ten_thousand_rapid_inserts(db: Session, new_org: str) -> None:
    db.execute(
        text(
            "INSERT INTO onboarding_metric (organization_id, event_type)"
            " SELECT 'org_a', 'wizard_started' FROM generate_series(1, 10000)"
        )
    )
    ids = db.scalars(select(OnboardingMetric.id)).all()
    assert len(set(ids)) == 10000
    assert max(len(i) for i in ids) <= 50
    python_ids = {new_id("metric") for _ in range(10000)}
    assert len(python_ids) == 10000


def test_ids_fit_varchar_50_whatever_the_org_id(db: Session, make_org) -> None:
    make_org("o" * 50)
    db.execute(
        text(f"INSERT INTO onboarding_metric (organization_id, event_type) VALUES ('{'o' * 50}', 'x')")
    )
    assert db.scalar(select(func.max(func.length(OnboardingMetric.id)))) <= 50


def test_seed_drop_off_funnel_query_runs_as_written(db: Session, new_org: str) -> None:
    db.execute(
        text("INSERT INTO onboarding_metric (organization_id, event_type) VALUES ('org_a', 'wizard_started')")
    )
    db.execute(
        text(
            "INSERT INTO onboarding_metric (organization_id, event_type, wizard_step_dropped)"
            " VALUES ('org_a', 'wizard_skipped', 2)"
        )
    )
    rows = db.execute(
        text("""
SELECT
    wizard_step_dropped AS step,
    COUNT(*) AS drop_off_count,
    ROUND(COUNT(*) * 100.0 / (SELECT COUNT(*) FROM onboarding_metric WHERE event_type = 'wizard_started'), 2) AS drop_off_percent
FROM onboarding_metric
WHERE wizard_step_dropped IS NOT NULL
GROUP BY wizard_step_dropped
ORDER BY wizard_step_dropped;
""")
    ).all()
    assert [(r.step, r.drop_off_count, float(r.drop_off_percent)) for r in rows] == [(2, 1, 100.0)]


def test_seed_average_completion_time_query_runs_as_written(db: Session, new_org: str) -> None:
    for minutes in (10, 20, 60):
        db.execute(
            text(
                "INSERT INTO onboarding_metric (organization_id, event_type, completion_time_minutes)"
                f" VALUES ('org_a', 'wizard_completed', {minutes})"
            )
        )
    row = db.execute(
        text("""
SELECT
    AVG(completion_time_minutes) AS avg_minutes,
    PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY completion_time_minutes) AS median_minutes,
    MIN(completion_time_minutes) AS fastest_minutes,
    MAX(completion_time_minutes) AS slowest_minutes
FROM onboarding_metric
WHERE event_type = 'wizard_completed';
""")
    ).one()
    assert (float(row.avg_minutes), row.median_minutes, row.fastest_minutes, row.slowest_minutes) == (
        30.0,
        20.0,
        10,
        60,
    )
