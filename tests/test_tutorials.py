"""/v1/onboarding/tutorials through the real handler: lazy records, the state machine, replays, races."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from onboarding import tutorials
from onboarding.db import unit_of_work
from onboarding.models import OnboardingMetric, OnboardingTutorialCompletion
from tests.fixtures import ORG
from tests.sql_statements import recorded_statements

BASE = "/v1/onboarding/tutorials"


@pytest.fixture
def started_org(make_started_org: Callable[..., str]) -> str:
    """The organization "org_a", its onboarding started (the state inserted directly: no metric)."""
    return make_started_org()


@pytest.fixture
def tutorials_api(api):
    def send(method: str, path: str = BASE, org_id: str = ORG, **kwargs: Any):
        return api(method, path, org=org_id, **kwargs)

    return send


def act(tutorials_api, action: str, tutorial_id: str = "events_intro", org_id: str = "org_a", **kwargs: Any):
    method = "PUT" if action == "progress" else "POST"
    return tutorials_api(method, f"{BASE}/{tutorial_id}/{action}", org_id=org_id, **kwargs)


def metrics(db: Session, event_type: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    query = select(OnboardingMetric.event_type, OnboardingMetric.event_data).order_by(
        OnboardingMetric.timestamp, OnboardingMetric.id
    )
    if event_type:
        query = query.where(OnboardingMetric.event_type == event_type)
    return [(row.event_type, row.event_data) for row in db.execute(query)]


def records(db: Session) -> list[OnboardingTutorialCompletion]:
    db.expire_all()
    return list(db.scalars(select(OnboardingTutorialCompletion)))


# --- Catalog and listing ---


def test_lists_the_five_tutorials_with_their_step_counts(tutorials_api, started_org) -> None:
    response = tutorials_api("GET")
    assert response.status == 200
    assert [(t["id"], t["total_steps"], t["status"]) for t in response.json["tutorials"]] == [
        ("events_intro", 4, "not_started"),
        ("teams_setup", 3, "not_started"),
        ("availability_management", 5, "not_started"),
        ("solver_run", 6, "not_started"),
        ("schedule_export", 3, "not_started"),
    ]
    assert response.json["tutorials"][0]["title_key"] == "onboarding.tutorials.events_intro"


def test_listing_creates_no_records(tutorials_api, started_org, db: Session) -> None:
    tutorials_api("GET")
    assert records(db) == []


def test_listing_shows_the_callers_progress(tutorials_api, started_org) -> None:
    act(tutorials_api, "views", "solver_run")
    act(tutorials_api, "progress", "solver_run", body={"steps_completed": 2})
    solver = tutorials_api("GET").json["tutorials"][3]
    assert (solver["status"], solver["steps_completed"], solver["replay_count"]) == ("in_progress", 2, 0)


# --- Views ---


def test_the_first_view_creates_the_record_and_reports_a_start(
    tutorials_api, started_org, db: Session
) -> None:
    response = act(tutorials_api, "views")
    assert response.status == 200
    assert response.json["status"] == "in_progress"
    assert response.json["last_viewed_at"] is not None and response.json["started_at"] is not None
    assert [(r.tutorial_id, r.total_steps, r.steps_completed) for r in records(db)] == [
        ("events_intro", 4, 0)
    ]
    assert metrics(db) == [("tutorial_started", {"tutorial_id": "events_intro", "replay": False})]


def test_viewing_an_unfinished_tutorial_again_resumes_it(tutorials_api, started_org, db: Session) -> None:
    act(tutorials_api, "views")
    act(tutorials_api, "progress", body={"steps_completed": 3})
    again = act(tutorials_api, "views")
    assert (again.json["steps_completed"], again.json["replay_count"]) == (3, 0)
    assert len(metrics(db, "tutorial_started")) == 1


@pytest.mark.parametrize("end", ["complete", "skip"])
def test_viewing_a_finished_tutorial_is_a_replay(tutorials_api, started_org, db: Session, end: str) -> None:
    act(tutorials_api, "views")
    act(tutorials_api, "progress", body={"steps_completed": 2})
    act(tutorials_api, end)
    replay = act(tutorials_api, "views")
    assert replay.json["status"] == "in_progress"
    assert (replay.json["replay_count"], replay.json["steps_completed"]) == (1, 0)
    assert replay.json["completed_at"] is None and replay.json["skipped_at"] is None
    assert metrics(db, "tutorial_started")[-1] == (
        "tutorial_started",
        {"tutorial_id": "events_intro", "replay": True},
    )


def test_a_view_is_one_upsert_and_one_write(tutorials_api, started_org) -> None:
    with recorded_statements() as statements:
        act(tutorials_api, "views")
    assert len(statements) == 2
    assert "ON CONFLICT" in statements[0]


# --- Progress ---


@pytest.mark.parametrize("steps", [0, 2, 4])
def test_progress_accepts_zero_to_total_steps(tutorials_api, started_org, steps: int) -> None:
    act(tutorials_api, "views")
    response = act(tutorials_api, "progress", body={"steps_completed": steps})
    assert response.status == 200
    assert response.json["steps_completed"] == steps


def test_progress_to_the_last_step_completes_the_tutorial_once(
    tutorials_api, started_org, db: Session
) -> None:
    act(tutorials_api, "views")
    response = act(tutorials_api, "progress", body={"steps_completed": 4})
    assert (response.status, response.json["status"], response.json["steps_completed"]) == (
        200,
        "completed",
        4,
    )
    assert response.json["completed_at"] is not None
    again = act(tutorials_api, "progress", body={"steps_completed": 4})
    assert again.json == response.json
    assert act(tutorials_api, "complete").json == response.json
    assert len(metrics(db, "tutorial_completed")) == 1


@pytest.mark.parametrize(
    ("tutorial_id", "steps", "status"),
    [("solver_run", 6, 200), ("events_intro", 5, 422), ("teams_setup", 4, 422), ("schedule_export", 3, 200)],
)
def test_progress_is_bounded_by_each_tutorials_own_step_count(
    tutorials_api, started_org, tutorial_id, steps, status
) -> None:
    assert act(tutorials_api, "progress", tutorial_id, body={"steps_completed": steps}).status == status


@pytest.mark.parametrize(
    "body",
    [
        {"steps_completed": -1},
        {"steps_completed": 5},
        {"steps_completed": 10**40},
        {"steps_completed": "2"},
        {"steps_completed": 2.5},
        {"steps_completed": True},
        {"steps_completed": 2, "extra": True},
        {},
    ],
)
def test_invalid_progress_is_422_naming_the_field_and_writes_nothing(
    tutorials_api, started_org, db: Session, body
) -> None:
    response = act(tutorials_api, "progress", body=body)
    assert response.status == 422
    assert response.json["error"]["code"] == "validation_error"
    assert response.json["error"]["details"][0]["field"].startswith("body")
    assert records(db) == []


def test_progress_past_the_total_names_steps_completed(tutorials_api, started_org) -> None:
    response = act(tutorials_api, "progress", body={"steps_completed": 5})
    detail = response.json["error"]["details"][0]
    # The maximum depends on the tutorial: openapi.json documents each tutorial's progress path with its
    # own maximum, and lists the rule (`x-rules`).
    assert (detail["field"], detail["type"]) == ("body.steps_completed", "steps_exceed_total")


# --- Complete and skip ---


def test_completing_records_the_time_all_steps_and_the_duration(
    tutorials_api, started_org, db: Session
) -> None:
    act(tutorials_api, "views")
    response = act(tutorials_api, "complete")
    assert response.status == 200
    assert response.json["status"] == "completed"
    assert response.json["completed_at"] is not None
    assert response.json["steps_completed"] == 4
    [(_, data)] = metrics(db, "tutorial_completed")
    assert data["tutorial_id"] == "events_intro"
    assert isinstance(data["duration_seconds"], int) and data["duration_seconds"] >= 0


def test_skipping_reports_the_step_reached(tutorials_api, started_org, db: Session) -> None:
    act(tutorials_api, "views")
    act(tutorials_api, "progress", body={"steps_completed": 2})
    response = act(tutorials_api, "skip")
    assert response.json["status"] == "skipped" and response.json["skipped_at"] is not None
    assert metrics(db, "tutorial_skipped") == [
        ("tutorial_skipped", {"tutorial_id": "events_intro", "step_reached": 2})
    ]


@pytest.mark.parametrize("end", ["complete", "skip"])
def test_repeating_an_end_state_is_idempotent(tutorials_api, started_org, db: Session, end: str) -> None:
    first = act(tutorials_api, end)
    again = act(tutorials_api, end)
    assert again.status == 200
    assert again.json == first.json
    assert len(metrics(db, f"tutorial_{end}{'d' if end == 'complete' else 'ped'}")) == 1


@pytest.mark.parametrize(("first", "other"), [("complete", "skip"), ("skip", "complete")])
def test_complete_and_skip_exclude_each_other(
    tutorials_api, started_org, db: Session, first: str, other: str
) -> None:
    act(tutorials_api, first)
    response = act(tutorials_api, other)
    assert response.status == 409
    [record] = records(db)
    assert (record.completed, record.skipped) == (first == "complete", first == "skip")


def test_after_a_replay_the_other_end_state_is_allowed(tutorials_api, started_org) -> None:
    act(tutorials_api, "complete")
    act(tutorials_api, "views")
    response = act(tutorials_api, "skip")
    assert response.status == 200
    assert (response.json["status"], response.json["replay_count"]) == ("skipped", 1)


def test_finishing_a_never_viewed_tutorial_counts_as_its_first_view(
    tutorials_api, started_org, db: Session
) -> None:
    response = act(tutorials_api, "skip", "teams_setup")
    assert response.json["status"] == "skipped"
    assert response.json["last_viewed_at"] is not None
    assert sorted(event_type for event_type, _ in metrics(db)) == ["tutorial_skipped", "tutorial_started"]


# --- Errors, tenancy, access ---


@pytest.mark.parametrize(
    ("action", "body"),
    [("views", None), ("progress", {"steps_completed": 1}), ("complete", None), ("skip", None)],
)
@pytest.mark.parametrize("tutorial_id", ["solver_basics", "x" * 500, "bad\x00id"])
def test_an_unknown_tutorial_is_404_for_every_action(
    tutorials_api, started_org, db: Session, action, body, tutorial_id
) -> None:
    response = act(tutorials_api, action, tutorial_id, body=body)
    assert response.status == 404
    assert response.json["error"]["code"] == "unknown_tutorial"
    assert records(db) == []


def test_an_org_that_does_not_exist_is_404(tutorials_api) -> None:
    response = act(tutorials_api, "views", org_id="org_ghost")
    assert (response.status, response.json["error"]["code"]) == (404, "organization_not_found")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", BASE, None),
        ("POST", f"{BASE}/events_intro/views", None),
        ("PUT", f"{BASE}/events_intro/progress", {"steps_completed": 1}),
        ("POST", f"{BASE}/events_intro/complete", None),
        ("POST", f"{BASE}/events_intro/skip", None),
    ],
)
def test_before_onboarding_has_started_tutorials_are_404_like_the_checklist(
    tutorials_api, new_org, db: Session, method: str, path: str, body: Any
) -> None:
    # The one rule of every route but POST /v1/onboarding: no onboarding state, no answer (and no record).
    response = tutorials_api(method, path, body=body)
    assert (response.status, response.json["error"]["code"]) == (404, "onboarding_not_started")
    assert records(db) == []
    checklist = tutorials_api("GET", "/v1/onboarding/checklist")
    assert (checklist.status, checklist.json["error"]["code"]) == (404, "onboarding_not_started")


@pytest.mark.parametrize(
    ("end", "action", "code"),
    [
        ("complete", "skip", "tutorial_already_completed"),
        ("complete", "progress", "tutorial_already_completed"),
        ("skip", "complete", "tutorial_already_skipped"),
        ("skip", "progress", "tutorial_already_skipped"),
    ],
)
def test_each_conflict_names_the_end_state_in_its_code(
    tutorials_api, started_org, end: str, action: str, code: str
) -> None:
    act(tutorials_api, end)
    body = {"steps_completed": 1} if action == "progress" else None
    response = act(tutorials_api, action, body=body)
    assert (response.status, response.json["error"]["code"]) == (409, code)


@pytest.mark.parametrize("steps", [2.0, 0.0])
def test_a_whole_number_written_with_a_decimal_point_is_that_integer(
    tutorials_api, started_org, steps
) -> None:
    response = act(tutorials_api, "progress", body={"steps_completed": steps})
    assert (response.status, response.json["steps_completed"]) == (200, int(steps))


@pytest.mark.parametrize("steps", [2.5, "2", True])
def test_a_fraction_text_or_boolean_is_not_a_step_count(tutorials_api, started_org, steps) -> None:
    assert act(tutorials_api, "progress", body={"steps_completed": steps}).status == 422


def test_another_orgs_progress_is_invisible_and_untouched(
    tutorials_api, started_org, make_started_org, db: Session
) -> None:
    make_started_org("org_b")
    act(tutorials_api, "complete", org_id="org_b")
    assert tutorials_api("GET").json["tutorials"][0]["status"] == "not_started"
    act(tutorials_api, "views")
    assert tutorials_api("GET", org_id="org_b").json["tutorials"][0]["status"] == "completed"
    assert sorted((r.organization_id, r.completed) for r in records(db)) == [
        ("org_a", False),
        ("org_b", True),
    ]


def test_analysts_cannot_use_tutorial_routes(tutorials_api) -> None:
    claims = {"custom:org_id": "org_a", "cognito:groups": ["platform_analyst"]}
    assert tutorials_api("GET", claims=claims).status == 403


# --- Concurrency: 50 simultaneous calls on one tutorial ---
# Threads stand in for Lambda containers (one request each, own connection); Powertools' resolver keeps
# the current event in a class attribute, so the threads call the domain functions the handlers call.


def run_concurrently(calls: list[Callable[[], object]]) -> list[BaseException]:
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            call()
        except BaseException as error:  # collected and asserted by the test
            errors.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def in_transaction(action: Callable[..., object], *args: object) -> Callable[[], object]:
    def call() -> object:
        with unit_of_work() as session:
            return action(session, *args)

    return call


def test_fifty_simultaneous_first_views_create_one_record_and_one_start(started_org, db: Session) -> None:
    errors = run_concurrently(
        [in_transaction(tutorials.record_view, started_org, "solver_run") for _ in range(50)]
    )
    assert errors == []
    assert len(records(db)) == 1
    assert len(metrics(db, "tutorial_started")) == 1


def test_fifty_simultaneous_replays_and_completions_lose_no_update(started_org, db: Session) -> None:
    with unit_of_work() as session:
        tutorials.complete(session, started_org, "solver_run")

    def replay_then_complete() -> None:
        in_transaction(tutorials.record_view, started_org, "solver_run")()
        in_transaction(tutorials.complete, started_org, "solver_run")()

    errors = run_concurrently([replay_then_complete for _ in range(50)])
    assert errors == []
    [record] = records(db)
    replays = [data for _, data in metrics(db, "tutorial_started") if data["replay"]]
    completions_after_start = len(metrics(db, "tutorial_completed")) - 1
    assert record.replay_count == len(replays) >= 1
    # Every replay reopened a completed tutorial, and every completion closed a reopened one.
    assert completions_after_start == record.replay_count - (0 if record.completed else 1)


def test_fifty_simultaneous_progress_updates_keep_one_consistent_record(started_org, db: Session) -> None:
    errors = run_concurrently(
        [in_transaction(tutorials.set_progress, started_org, "solver_run", steps % 6) for steps in range(50)]
    )
    assert errors == []
    [record] = records(db)
    assert 0 <= record.steps_completed <= 5
    assert len(metrics(db, "tutorial_started")) == 1
