"""GET/PUT /v1/onboarding/checklist through the real handler: live criteria, one statement, overrides."""

import threading
from typing import Any

import pytest
from sqlalchemy import delete, event, func, select, text, update
from sqlalchemy.orm import Session

from onboarding import checklist, checklist_view, state
from onboarding.db import get_engine, unit_of_work
from onboarding.models import OnboardingChecklistTask, OnboardingMetric, OnboardingState, Team
from tests.fixtures import ORG
from tests.host_rows import add_assignment, add_events, add_people, add_teams, start_onboarding
from tests.sql_statements import recorded_statements

SEEDED_ORDER = [
    "complete_profile",
    "create_first_event",
    "add_team",
    "invite_volunteers",
    "run_first_schedule",
    "view_reports",
]


@pytest.fixture
def checklist_api(api):
    def send(method: str, path: str = "/v1/onboarding/checklist", org_id: str = ORG, **kwargs: Any):
        return api(method, path, org=org_id, **kwargs)

    return send


def completed(response) -> set[str]:
    return {task["id"] for task in response.json["tasks"] if task["completed"]}


def completion_metrics(db: Session) -> list[dict[str, Any]]:
    """The `checklist_task_completed` metrics' task and source (their `completed_at` left out)."""
    rows = db.scalars(
        select(OnboardingMetric.event_data)
        .where(OnboardingMetric.event_type == "checklist_task_completed")
        .order_by(OnboardingMetric.timestamp)
    )
    return [{key: value for key, value in data.items() if key != "completed_at"} for data in rows]


def add_task(db: Session, task_id: str, criteria: dict[str, Any], order: int = 7) -> None:
    db.add(
        OnboardingChecklistTask(
            id=task_id,
            title_key=f"onboarding.checklist.{task_id}",
            description_key=f"onboarding.checklist.{task_id}_desc",
            completion_criteria=criteria,
            priority_order=order,
        )
    )
    db.commit()


# --- Listing ---


def test_lists_the_active_tasks_in_priority_order_with_keys_icons_and_urls(checklist_api, org) -> None:
    response = checklist_api("GET")
    assert response.status == 200
    tasks = response.json["tasks"]
    assert [task["id"] for task in tasks] == SEEDED_ORDER
    assert tasks[1] == {
        "first_detected_at": None,
        "id": "create_first_event",
        "title_key": "onboarding.checklist.create_first_event",
        "description_key": "onboarding.checklist.create_first_event_desc",
        "title": "Create your first event",  # English without Accept-Language
        "description": "Add an event that volunteers can be scheduled for.",
        "icon": "calendar",
        "quick_action_url": "/app/events/create",
        "order": 2,
        "completed": False,
        "completed_at": None,
        "completion_source": None,
    }


def test_a_fresh_org_has_nothing_done_and_is_pointed_at_the_first_task(checklist_api, org) -> None:
    response = checklist_api("GET")
    assert response.json["progress"] == {"completed_count": 0, "total_count": 6, "completion_percent": 0.0}
    assert response.json["next_recommended_task"] == "complete_profile"


def test_inactive_tasks_are_neither_listed_nor_counted(checklist_api, org, db: Session) -> None:
    db.execute(
        update(OnboardingChecklistTask)
        .where(OnboardingChecklistTask.id == "add_team")
        .values(is_active=False)
    )
    db.commit()
    response = checklist_api("GET")
    assert "add_team" not in [task["id"] for task in response.json["tasks"]]
    assert response.json["progress"]["total_count"] == 5


def test_before_onboarding_is_started_the_checklist_is_404(checklist_api, make_org) -> None:
    make_org("org_a")
    response = checklist_api("GET")
    assert response.status == 404
    assert response.json["error"]["code"] == "onboarding_not_started"


# --- Criteria, each type ---


def test_state_check_completes_the_profile_task_when_the_wizard_is_completed(
    checklist_api, org, db: Session
) -> None:
    db.execute(update(OnboardingState).values(wizard_completed=True))
    db.commit()
    assert completed(checklist_api("GET")) == {"complete_profile"}


def test_a_real_event_completes_create_first_event(checklist_api, org, db: Session) -> None:
    add_events(db, org)
    assert completed(checklist_api("GET")) == {"create_first_event"}


def test_sample_rows_never_complete_a_task(checklist_api, org, db: Session) -> None:
    event_ids = add_events(db, org, 5, sample=True)
    person_ids = add_people(db, org, 5, sample=True)
    add_teams(db, org, 3, sample=True)
    add_assignment(db, event_ids[0], person_ids[0])
    assert completed(checklist_api("GET")) == set()


def test_invite_volunteers_needs_three_real_people_with_the_volunteer_role(
    checklist_api, org, db: Session
) -> None:
    add_people(db, org, 2)
    add_people(db, org, 5, roles='["admin"]')
    add_people(db, org, 3, sample=True)
    assert "invite_volunteers" not in completed(checklist_api("GET"))
    add_people(db, org, 1)
    assert "invite_volunteers" in completed(checklist_api("GET"))


def test_run_first_schedule_needs_an_assignment_on_a_real_event(checklist_api, org, db: Session) -> None:
    sample_event = add_events(db, org, sample=True)[0]
    person = add_people(db, org)[0]
    add_assignment(db, sample_event, person)
    assert "run_first_schedule" not in completed(checklist_api("GET"))
    add_assignment(db, add_events(db, org)[0], person)
    assert "run_first_schedule" in completed(checklist_api("GET"))


def test_a_view_reports_metric_completes_view_reports(checklist_api, org, db: Session) -> None:
    db.add(OnboardingMetric(organization_id=org, event_type="view_reports"))
    db.commit()
    assert completed(checklist_api("GET")) == {"view_reports"}


NESTED = {
    "type": "composite_or",
    "criteria": [
        {
            "type": "composite_and",
            "criteria": [
                {"type": "database_query", "counter": "real_events", "operator": ">=", "threshold": 2},
                {"type": "database_query", "counter": "real_teams", "operator": ">=", "threshold": 1},
            ],
        },
        {"type": "state_check", "field": "wizard_current_step", "operator": ">=", "value": 4},
    ],
}


@pytest.mark.parametrize(
    ("events", "teams", "step", "expected"),
    [
        (2, 1, 1, True),  # the AND branch
        (2, 0, 1, False),  # AND needs both
        (1, 1, 1, False),  # threshold not reached
        (0, 0, 4, True),  # the OR's other branch
        (0, 0, 3, False),
    ],
)
def test_nested_composite_criteria_are_evaluated(
    checklist_api, org, db: Session, events, teams, step, expected
) -> None:
    add_task(db, "nested", NESTED)
    add_events(db, org, events)
    add_teams(db, org, teams)
    db.execute(update(OnboardingState).values(wizard_current_step=step))
    db.commit()
    assert ("nested" in completed(checklist_api("GET"))) is expected


def test_a_task_with_invalid_stored_criteria_is_listed_but_never_auto_completes(
    checklist_api, org, db: Session
) -> None:
    add_task(
        db, "legacy_sql", {"type": "database_query", "query": "SELECT 1", "threshold": 0, "operator": ">="}
    )
    response = checklist_api("GET")
    assert response.status == 200
    task = next(task for task in response.json["tasks"] if task["id"] == "legacy_sql")
    assert task["completed"] is False


# --- Bookkeeping: first completion stored once, sticky, one metric ---


def test_first_completion_is_stored_with_its_time_and_reported_once(checklist_api, org, db: Session) -> None:
    add_events(db, org)
    first = checklist_api("GET")
    second = checklist_api("GET")
    task = next(task for task in first.json["tasks"] if task["id"] == "create_first_event")
    assert task["completed_at"] is not None and task["completion_source"] == "auto"
    assert second.json["tasks"] == first.json["tasks"]
    progress = db.scalars(select(OnboardingState.checklist_progress)).one()
    assert progress["create_first_event"]["completed"] is True
    assert completion_metrics(db) == [{"task_id": "create_first_event", "source": "auto"}]


def test_a_completed_task_stays_completed_when_its_rows_are_deleted(checklist_api, org, db: Session) -> None:
    add_teams(db, org)
    checklist_api("GET")
    db.execute(delete(Team))
    db.commit()
    assert "add_team" in completed(checklist_api("GET"))


def test_progress_percent_has_one_decimal_and_next_task_follows_the_order(
    checklist_api, org, db: Session
) -> None:
    db.execute(update(OnboardingState).values(wizard_completed=True))
    db.commit()
    add_teams(db, org)
    response = checklist_api("GET")
    assert response.json["progress"] == {"completed_count": 2, "total_count": 6, "completion_percent": 33.3}
    assert response.json["next_recommended_task"] == "create_first_event"


def test_next_recommended_task_is_null_when_everything_is_done(checklist_api, org) -> None:
    for task_id in SEEDED_ORDER:
        checklist_api("PUT", f"/v1/onboarding/checklist/{task_id}", body={"completed": True})
    response = checklist_api("GET")
    assert response.json["progress"] == {"completed_count": 6, "total_count": 6, "completion_percent": 100.0}
    assert response.json["next_recommended_task"] is None


@pytest.mark.parametrize(
    ("done", "total", "percent"), [(1, 6, 16.7), (2, 3, 66.7), (1, 8, 12.5), (0, 0, 0.0)]
)
def test_completion_percent_rounds_half_up_to_one_decimal(done: int, total: int, percent: float) -> None:
    assert checklist.completion_percent(done, total) == percent


# --- One statement per GET ---


def test_a_get_with_nothing_newly_completed_is_one_statement(checklist_api, org, db: Session) -> None:
    add_events(db, org)
    add_teams(db, org)
    add_people(db, org, 3)
    checklist_api("GET")  # stores the first completions
    with recorded_statements() as statements:
        assert checklist_api("GET").status == 200
    assert len(statements) == 1


def test_a_get_that_sees_new_completions_writes_them_in_one_more_statement(
    checklist_api, org, db: Session
) -> None:
    add_events(db, org)
    add_teams(db, org)
    with recorded_statements() as statements:
        checklist_api("GET")
    assert len(statements) == 2
    assert statements[1].lstrip().upper().startswith("WITH")  # the update and its metrics together
    assert len(completion_metrics(db)) == 2


def relation_loops(plan: dict[str, Any], loops: dict[str, int] | None = None) -> dict[str, int]:
    """How often each table was scanned at most by one node of an EXPLAIN ANALYZE JSON plan."""
    loops = {} if loops is None else loops
    if "Relation Name" in plan:
        loops[plan["Relation Name"]] = max(loops.get(plan["Relation Name"], 0), plan["Actual Loops"])
    for child in plan.get("Plans", []):
        relation_loops(child, loops)
    return loops


@pytest.mark.versions  # a query plan: checked on PostgreSQL 15 and 18
def test_each_counter_is_computed_once_per_get_not_once_per_task(org, db: Session) -> None:
    compiled = (
        state.statement(checklist.READING)
        .params(org_id=org)
        .compile(dialect=db.get_bind().dialect, compile_kwargs={"literal_binds": True})
    )
    plan = db.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}")).scalar_one()[0]["Plan"]
    loops = relation_loops(plan)
    active_tasks = db.execute(select(func.count()).where(OnboardingChecklistTask.is_active.is_(True)))
    assert active_tasks.scalar_one() > 1
    assert loops["teams"] == 1
    # The report views come from their rollup (by key, once); the metric partitions are never read.
    assert loops["onboarding_report_views"] == 1
    assert not [name for name in loops if name.startswith("onboarding_metric")]


# --- Manual override ---


def test_manual_override_completes_a_task_and_reports_it_once(checklist_api, org, db: Session) -> None:
    first = checklist_api("PUT", "/v1/onboarding/checklist/add_team", body={"completed": True})
    again = checklist_api("PUT", "/v1/onboarding/checklist/add_team", body={"completed": True})
    assert first.status == again.status == 200
    task = next(task for task in again.json["tasks"] if task["id"] == "add_team")
    assert task["completed"] is True and task["completion_source"] == "manual"
    assert again.json["progress"]["completed_count"] == 1
    assert completion_metrics(db) == [{"task_id": "add_team", "source": "manual"}]


def test_unticking_a_detected_task_wins_over_its_criteria(checklist_api, org, db: Session) -> None:
    add_teams(db, org)
    checklist_api("GET")
    response = checklist_api("PUT", "/v1/onboarding/checklist/add_team", body={"completed": False})
    assert "add_team" not in completed(response)
    assert "add_team" not in completed(checklist_api("GET"))


def test_ticking_a_task_again_after_unticking_reports_nothing_new(checklist_api, org, db: Session) -> None:
    for value in (True, False, True):
        checklist_api("PUT", "/v1/onboarding/checklist/add_team", body={"completed": value})
    assert "add_team" in completed(checklist_api("GET"))
    assert len(completion_metrics(db)) == 1


def test_unticking_a_task_that_was_never_done_changes_nothing(checklist_api, org, db: Session) -> None:
    checklist_api("PUT", "/v1/onboarding/checklist/add_team", body={"completed": False})
    assert db.scalars(select(OnboardingState.checklist_progress)).one() == {}
    add_teams(db, org)
    assert "add_team" in completed(checklist_api("GET"))  # automatic detection still works


@pytest.mark.parametrize("task_id", ["no_such_task", "x" * 300, "%00", "bad\x00id", "\ud800"])
def test_override_of_an_unknown_task_is_404(checklist_api, org, task_id: str) -> None:
    response = checklist_api("PUT", f"/v1/onboarding/checklist/{task_id}", body={"completed": True})
    assert response.status == 404


def test_override_of_an_inactive_task_is_404(checklist_api, org, db: Session) -> None:
    db.execute(
        update(OnboardingChecklistTask)
        .where(OnboardingChecklistTask.id == "add_team")
        .values(is_active=False)
    )
    db.commit()
    assert checklist_api("PUT", "/v1/onboarding/checklist/add_team", body={"completed": True}).status == 404


@pytest.mark.parametrize(
    "body",
    [{}, {"completed": "yes"}, {"completed": 1}, {"completed": None}, {"completed": True, "extra": 1}, []],
)
def test_override_body_must_be_exactly_a_boolean(checklist_api, org, db: Session, body) -> None:
    response = checklist_api("PUT", "/v1/onboarding/checklist/add_team", body=body)
    assert response.status == 422
    assert response.json["error"]["code"] == "validation_error"
    assert db.scalars(select(OnboardingState.checklist_progress)).one() == {}


def test_override_with_malformed_json_is_400(checklist_api, org) -> None:
    response = checklist_api("PUT", "/v1/onboarding/checklist/add_team", raw_body="{not json")
    assert response.status == 400


def test_override_before_onboarding_is_started_is_404(checklist_api, make_org) -> None:
    make_org("org_a")
    assert checklist_api("PUT", "/v1/onboarding/checklist/add_team", body={"completed": True}).status == 404


# --- Tenancy and access ---


def test_another_orgs_rows_never_complete_my_tasks(checklist_api, org, make_org, db: Session) -> None:
    make_org("org_b")
    start_onboarding(db, "org_b", wizard_completed=True)
    add_events(db, "org_b", 3)
    add_teams(db, "org_b")
    assert completed(checklist_api("GET")) == set()
    assert completed(checklist_api("GET", org_id="org_b")) == {
        "complete_profile",
        "create_first_event",
        "add_team",
    }


def test_another_orgs_override_does_not_touch_my_checklist(checklist_api, org, make_org, db: Session) -> None:
    make_org("org_b")
    start_onboarding(db, "org_b")
    checklist_api("PUT", "/v1/onboarding/checklist/add_team", org_id="org_b", body={"completed": True})
    assert completed(checklist_api("GET")) == set()


def test_analysts_cannot_read_an_orgs_checklist(checklist_api) -> None:
    claims = {"custom:org_id": "org_a", "cognito:groups": ["platform_analyst"]}
    assert checklist_api("GET", claims=claims).status == 403


def test_no_identity_is_401(checklist_api) -> None:
    assert checklist_api("GET", claims={}).status == 401


# --- The summary GET /v1/onboarding uses, and concurrency ---


def test_summary_is_the_progress_of_the_checklist(checklist_api, org, db: Session) -> None:
    add_events(db, org)
    with unit_of_work() as session:
        summary = checklist.checklist_summary(session, org, state.load(session, org, checklist.READING))
    assert summary.model_dump() == {"completed_count": 1, "total_count": 6, "completion_percent": 16.7}
    assert summary == checklist.ChecklistProgress.model_validate(checklist_api("GET").json["progress"])


def test_a_change_committed_between_read_and_write_is_not_lost(
    checklist_api, org, db: Session, engine
) -> None:
    add_teams(db, org)
    manual = {"completed": True, "completed_at": "2026-06-01T00:00:00Z", "source": "manual"}
    interfered: list[bool] = []

    def commit_another_change(*_args: Any) -> None:
        # Right after the GET's read, another request ticks view_reports and commits.
        if not interfered:
            interfered.append(True)
            with engine.begin() as other:
                other.execute(update(OnboardingState).values(checklist_progress={"view_reports": manual}))

    event.listen(get_engine(), "after_cursor_execute", commit_another_change)
    try:
        with recorded_statements() as statements:
            response = checklist_api("GET")
    finally:
        event.remove(get_engine(), "after_cursor_execute", commit_another_change)
    assert len(statements) == 4  # read, write refused (progress changed), read again, write
    assert completed(response) == {"add_team", "view_reports"}
    db.expire_all()
    assert set(db.scalars(select(OnboardingState.checklist_progress)).one()) == {"add_team", "view_reports"}
    assert completion_metrics(db) == [{"task_id": "add_team", "source": "auto"}]


def test_concurrent_reads_report_a_first_completion_once(org, db: Session) -> None:
    # Threads stand in for Lambda containers (one request each, own connection); Powertools' resolver
    # keeps the current event in a class attribute, so they call the domain function the handler calls.
    add_events(db, org)
    add_teams(db, org)
    barrier = threading.Barrier(10)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            barrier.wait()
            with unit_of_work() as session:
                checklist_view.get_checklist(session, org)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=read) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(m["task_id"] for m in completion_metrics(db)) == ["add_team", "create_first_event"]
