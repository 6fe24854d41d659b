"""50 concurrent writers on one organization: no lost update, no duplicate, and the state's flags always
agree with the rows.

Every writer is its own process (a Lambda container of its own, tests/concurrency.py) sending a real
HTTP API event through the function's handler; all start at the same moment and share the database.
"""

import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from onboarding import purge
from onboarding.models import (
    Event,
    EventAssignment,
    OnboardingChecklistTask,
    OnboardingMetric,
    OnboardingState,
    OnboardingTutorialCompletion,
    Person,
    Team,
)
from onboarding.sample_data import SIZES, SampleSize
from onboarding.tutorials import CATALOG
from tests.api_routes import ROUTES, metric_event, send
from tests.concurrency import run_together
from tests.fixtures import admin_claims
from tests.wizard_steps import step_body

ORG = "org_busy"
WRITERS = 50
ROUTE = {route.route_key: route for route in ROUTES}


def request(key: str, path: str | None = None, body: Any = None) -> tuple[int, Any]:
    """One request through the route's handler (in the calling process); status and JSON body."""
    response = send(ROUTE[key], claims=admin_claims(ORG), path=path, body=body)
    return response.status, response.json


def save_step(step: int, body: dict[str, Any]) -> tuple[int, Any]:
    return request("PUT /v1/onboarding/wizard/steps/{step}", f"/v1/onboarding/wizard/steps/{step}", body)


@pytest.fixture
def busy_org(make_started_org):
    return make_started_org(ORG, events=3, volunteers=4, assignments=6, teams=2)


def state(db: Session) -> OnboardingState:
    db.expire_all()
    return db.scalars(select(OnboardingState).where(OnboardingState.organization_id == ORG)).one()


def metric_counts(db: Session) -> Counter[str]:
    rows = db.execute(
        select(OnboardingMetric.event_type, func.count())
        .where(OnboardingMetric.organization_id == ORG)
        .group_by(OnboardingMetric.event_type)
    ).all()
    return Counter(dict(rows))


# --- Wizard ---


def test_fifty_different_writers_on_one_organization_lose_no_update(busy_org, db) -> None:
    """Every kind of write at once, each with an effect of its own that must be there afterwards: the
    five wizard steps, a checklist override per task, progress per tutorial, preferences, sample data,
    metric batches, and reads that write too (checklist first completions, feature unlocks)."""
    for step in range(1, 5):
        assert save_step(step, step_body(step))[0] == 200
    task_ids = [task.id for task in db.scalars(select(OnboardingChecklistTask)).all() if task.is_active]
    edits = {
        1: {**step_body(1), "organization_name": "Concurrent Org"},
        2: {**step_body(2), "event_title": "Concurrent Event"},
        3: {**step_body(3), "team_name": "Concurrent Team"},
        4: {**step_body(4), "message": "Concurrent message"},
        5: {**step_body(5), "tutorials_to_show": ["solver_run"]},
    }
    progress = {tutorial: spec.total_steps - 1 for tutorial, spec in CATALOG.items()}
    batches = [{"events": [metric_event() for _ in range(5)]} for _ in range(10)]
    tasks: list[Any] = [partial(save_step, step, body) for step, body in edits.items()]
    ticks = {task: n % 2 == 0 for n, task in enumerate(task_ids)}  # tick some, un-tick the others
    checklist_route = "PUT /v1/onboarding/checklist/{task_id}"
    tasks += [
        partial(request, checklist_route, f"/v1/onboarding/checklist/{task}", {"completed": tick})
        for task, tick in ticks.items()
    ]
    tasks += [
        partial(tutorial_call, "progress", tutorial, {"steps_completed": n})
        for tutorial, n in progress.items()
    ]
    tasks += [partial(request, "PUT /v1/onboarding/preferences", None, {"show_all_features": True})]
    tasks += [partial(request, "POST /v1/onboarding/sample-data", None, {"size": "standard"})]
    tasks += [partial(request, "POST /v1/onboarding/metrics", None, batch) for batch in batches]
    reads = ["GET /v1/onboarding", "GET /v1/onboarding/checklist", "GET /v1/onboarding/tutorials",
             "GET /v1/onboarding/sample-data", "GET /v1/onboarding/export"]  # fmt: skip
    tasks += [partial(request, reads[n % len(reads)]) for n in range(WRITERS - len(tasks))]
    assert len(tasks) == WRITERS

    results = run_together(tasks)

    statuses = [status for status, _ in results]
    overrides = slice(5, 5 + len(task_ids))
    assert all(
        status in (200, 201) for n, status in enumerate(statuses) if n not in range(5, 5 + len(task_ids))
    )
    # A checklist override may be told to try again (409) when its retries all lost a race; never lost.
    assert set(statuses[overrides]) <= {200, 409}
    current = state(db)
    data = current.wizard_step_data
    assert data["step_1"]["organization_name"] == "Concurrent Org"
    assert data["step_2"]["event_title"] == "Concurrent Event"
    assert data["step_3"]["team_name"] == "Concurrent Team"
    assert data["step_4"]["message"] == "Concurrent message"
    assert data["step_5"]["tutorials_to_show"] == ["solver_run"]
    assert (current.wizard_completed, current.show_all_features, current.sample_data_generated) == (
        True,
        True,
        True,
    )
    checklist = {
        task["id"]: task["completed"] for task in request("GET /v1/onboarding/checklist")[1]["tasks"]
    }
    for (task, tick), status in zip(ticks.items(), statuses[overrides], strict=True):
        if status == 200:
            assert checklist[task] is tick, task
    assert {r.tutorial_id: r.steps_completed for r in tutorial_records(db)} == progress
    assert sample_rows(db) == {"events": 5, "teams": 3, "volunteers": 15, "assignments": 45}
    stored = db.scalar(
        select(func.count()).where(
            OnboardingMetric.organization_id == ORG, OnboardingMetric.client_event_id.is_not(None)
        )
    )
    assert stored == 50
    counts = metric_counts(db)
    assert (counts["wizard_completed"], counts["sample_data_generated"]) == (1, 1)
    assert counts["tutorial_started"] == len(CATALOG)


def test_concurrent_saves_of_all_steps_keep_the_current_step_consistent_with_the_data(busy_org, db) -> None:
    tasks = [partial(save_step, step, step_body(step)) for _ in range(WRITERS // 5) for step in range(1, 6)]
    results = run_together(tasks)
    assert {status for status, _ in results} <= {200, 409}
    current = state(db)
    saved = sorted(int(key.removeprefix("step_")) for key in current.wizard_step_data)
    assert saved == list(range(1, len(saved) + 1)), "steps are saved in order, without gaps"
    assert current.wizard_current_step == min(len(saved) + 1, 5)
    assert current.wizard_completed is (saved == [1, 2, 3, 4, 5])
    counts = metric_counts(db)
    assert counts["wizard_step_completed"] == len(saved), "one metric per step, never twice"
    assert counts["wizard_completed"] == int(current.wizard_completed)
    # Every 200 answer showed a state that was consistent too.
    for status, body in results:
        if status == 200:
            steps = sorted(int(key.removeprefix("step_")) for key in body["wizard_step_data"])
            assert steps == list(range(1, len(steps) + 1))
            assert body["wizard_current_step"] == min(len(steps) + 1, 5)


# --- Tutorials ---


def tutorial_records(db: Session) -> list[OnboardingTutorialCompletion]:
    db.expire_all()
    table = OnboardingTutorialCompletion
    return list(db.scalars(select(table).where(table.organization_id == ORG).order_by(table.tutorial_id)))


def tutorial_call(action: str, tutorial: str, body: Any = None) -> tuple[int, Any]:
    method = "PUT" if action == "progress" else "POST"
    return request(
        f"{method} /v1/onboarding/tutorials/{{tutorial_id}}/{action}",
        f"/v1/onboarding/tutorials/{tutorial}/{action}",
        body,
    )


def test_concurrent_progress_on_every_tutorial_creates_one_record_each_and_loses_no_update(
    busy_org, db
) -> None:
    # Short of the last step (which completes the tutorial, after which progress is a 409).
    writes = [(tutorial, n % CATALOG[tutorial].total_steps) for n in range(10) for tutorial in CATALOG]
    results = run_together(
        [
            partial(tutorial_call, "progress", tutorial, {"steps_completed": steps})
            for tutorial, steps in writes
        ]
    )
    assert [status for status, _ in results] == [200] * WRITERS
    records = tutorial_records(db)
    assert sorted(record.tutorial_id for record in records) == sorted(CATALOG), "one record per tutorial"
    for record in records:
        assert record.steps_completed in {
            steps for tutorial, steps in writes if tutorial == record.tutorial_id
        }
    # The implicit first view was recorded once per tutorial, not once per writer.
    assert metric_counts(db)["tutorial_started"] == len(CATALOG)


def test_concurrent_complete_and_skip_of_one_tutorial_end_in_exactly_one_state(busy_org, db) -> None:
    actions = ["complete", "skip"] * (WRITERS // 2)
    results = run_together([partial(tutorial_call, action, "solver_run") for action in actions])
    (record,) = tutorial_records(db)
    winner = "complete" if record.completed else "skip"
    assert record.completed is not record.skipped
    for action, (status, _) in zip(actions, results, strict=True):
        assert status == (200 if action == winner else 409), (action, status)
    counts = metric_counts(db)
    assert (counts["tutorial_completed"], counts["tutorial_skipped"]) == (
        (1, 0) if record.completed else (0, 1)
    )
    assert counts["tutorial_started"] == 1


def test_concurrent_views_of_a_finished_tutorial_replay_it_once(busy_org, db) -> None:
    assert tutorial_call("complete", "teams_setup")[0] == 200
    results = run_together([partial(tutorial_call, "views", "teams_setup") for _ in range(WRITERS)])
    assert [status for status, _ in results] == [200] * WRITERS
    (record,) = tutorial_records(db)
    assert (record.replay_count, record.completed, record.steps_completed) == (1, False, 0)
    assert metric_counts(db)["tutorial_started"] == 2  # the first view, and one replay


# --- Metrics ---


def test_concurrent_batches_with_shared_event_ids_store_each_event_once(busy_org, db) -> None:
    pool = [uuid.uuid4() for _ in range(2 * WRITERS + 30)]
    now = datetime.now(UTC)
    batches = [
        {
            "events": [
                metric_event(event_id, timestamp=now.isoformat()) for event_id in pool[2 * n : 2 * n + 30]
            ]
        }
        for n in range(WRITERS)
    ]
    sent = {event["event_id"] for batch in batches for event in batch["events"]}
    results = run_together(
        [partial(request, "POST /v1/onboarding/metrics", None, batch) for batch in batches]
    )
    assert [status for status, _ in results] == [200] * WRITERS
    assert all(body["accepted"] + body["duplicates"] == 30 for _, body in results)
    assert sum(body["accepted"] for _, body in results) == len(sent)
    stored = db.scalars(
        select(OnboardingMetric.client_event_id).where(
            OnboardingMetric.organization_id == ORG, OnboardingMetric.client_event_id.is_not(None)
        )
    ).all()
    assert sorted(map(str, stored)) == sorted(sent), "every event once, none twice"


def test_concurrent_resends_of_the_same_ids_stamped_anew_store_each_event_once(busy_org, db) -> None:
    # The same 30 event ids from every writer, each writer with a timestamp of its own (a client that
    # stamps events when it sends them): no two copies share the partition key, so only the ingest's
    # key table (ON CONFLICT on its primary key sees what another transaction committed, or waits
    # for it) keeps a second copy out.
    ids = [uuid.uuid4() for _ in range(30)]
    now = datetime.now(UTC)
    batches = [
        {
            "events": [
                metric_event(event_id, timestamp=(now - timedelta(seconds=n)).isoformat()) for event_id in ids
            ]
        }
        for n in range(WRITERS)
    ]
    results = run_together(
        [partial(request, "POST /v1/onboarding/metrics", None, batch) for batch in batches]
    )
    assert [status for status, _ in results] == [200] * WRITERS
    assert sum(body["accepted"] for _, body in results) == len(ids)
    stored = db.scalars(
        select(OnboardingMetric.client_event_id).where(
            OnboardingMetric.organization_id == ORG, OnboardingMetric.client_event_id.is_not(None)
        )
    ).all()
    assert sorted(map(str, stored)) == sorted(map(str, ids)), "every event once, none twice"


def test_resends_stamped_anew_that_waited_for_each_other_store_each_event_once(busy_org, engine, db) -> None:
    # Deterministic: the organization's quota row is held locked while two batches with the same ids,
    # stamped apart, start; both take their statement's snapshot and then wait for the row. Released,
    # one stores the events and commits; the other's snapshot does not show them, but the key insert's
    # ON CONFLICT sees the committed keys and stores nothing.
    ids = [uuid.uuid4() for _ in range(5)]
    now = datetime.now(UTC)
    assert request("POST /v1/onboarding/metrics", None, {"events": [metric_event(uuid.uuid4())]})[0] == 200
    batches = [
        {
            "events": [
                metric_event(event_id, timestamp=(now - timedelta(seconds=n)).isoformat()) for event_id in ids
            ]
        }
        for n in range(2)
    ]
    holder = engine.connect()
    holder.execute(
        text("SELECT 1 FROM onboarding_metric_quota WHERE organization_id = :org FOR UPDATE"), {"org": ORG}
    )
    released = threading.Event()

    def release_once_both_wait() -> None:
        try:
            with engine.connect() as watcher:
                for _ in range(60):
                    waiting = watcher.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                            " AND query LIKE '%INSERT INTO onboarding_metric_quota%'"
                        )
                    ).scalar_one()
                    watcher.rollback()  # pg_stat_activity is read once per transaction
                    if waiting == 2:
                        break
                    time.sleep(0.05)
        finally:
            holder.commit()
            holder.close()
            released.set()

    watcher = threading.Thread(target=release_once_both_wait)
    watcher.start()
    results = run_together(
        [partial(request, "POST /v1/onboarding/metrics", None, batch) for batch in batches]
    )
    watcher.join()
    assert released.is_set()
    assert sorted(body["accepted"] for _, body in results) == [0, len(ids)]
    stored = db.scalars(
        select(OnboardingMetric.client_event_id).where(OnboardingMetric.client_event_id.in_(ids))
    ).all()
    assert sorted(map(str, stored)) == sorted(map(str, ids)), "every event once, none twice"


# --- Sample data: generate, clear, extend and the nightly purge, all at once ---


def sample_rows(db: Session) -> dict[str, int]:
    db.expire_all()
    events = select(Event.id).where(Event.org_id == ORG, Event.is_sample.is_(True))
    people = select(Person.id).where(Person.org_id == ORG, Person.is_sample.is_(True))

    def count(statement: Any) -> int:
        return int(db.scalar(statement) or 0)

    return {
        "events": count(select(func.count()).select_from(events.subquery())),
        "teams": count(select(func.count()).where(Team.org_id == ORG, Team.is_sample.is_(True))),
        "volunteers": count(select(func.count()).select_from(people.subquery())),
        "assignments": count(
            select(func.count()).where(
                EventAssignment.event_id.in_(events) | EventAssignment.person_id.in_(people)
            )
        ),
    }


def real_rows(db: Session) -> int:
    db.expire_all()
    return sum(
        int(db.scalar(select(func.count()).where(model.org_id == ORG, model.is_sample.is_(False))) or 0)
        for model in (Event, Person, Team)
    )


def run_purge() -> purge.PurgeReport:
    # Every organization's sample data counts as expired for a run "100 days from now".
    return purge.purge_expired_sample_data(
        datetime.now(UTC) + timedelta(days=100), batch_size=10, remaining_ms=lambda: 900_000, reserve_ms=0
    )


def test_generate_clear_extend_and_purge_racing_keep_flags_and_rows_in_agreement(busy_org, db) -> None:
    sizes = ["minimal", "standard", "comprehensive"]
    tasks: list[Any] = []
    for n in range(10):
        tasks += [
            partial(request, "POST /v1/onboarding/sample-data", None, {"size": sizes[n % 3]}),
            partial(request, "DELETE /v1/onboarding/sample-data"),
            partial(request, "POST /v1/onboarding/sample-data/extend", None, {"days": 5}),
            partial(request, "GET /v1/onboarding/sample-data"),
            run_purge,
        ]
    reals = real_rows(db)
    results = run_together(tasks)

    responses = [
        (task.args[0], *result)
        for task, result in zip(tasks, results, strict=True)
        if isinstance(task, partial)
    ]
    generated = [body for key, status, body in responses if key.startswith("POST") and status == 201]
    assert {status for key, status, _ in responses if key == "POST /v1/onboarding/sample-data"} <= {201, 409}
    assert {status for key, status, _ in responses if key.endswith("/extend")} <= {200, 409}
    assert {status for key, status, _ in responses if key.startswith(("DELETE", "GET"))} == {200}
    # Whatever won, the flags describe the rows: one complete set of one size, or nothing.
    current, rows = state(db), sample_rows(db)
    if current.sample_data_generated:
        # One complete set, of the size the state names.
        s = SIZES[SampleSize(current.sample_data_size or "")]
        assert rows == {
            "events": s.events,
            "teams": s.teams,
            "volunteers": s.volunteers,
            "assignments": s.assignments,
        }
        assert current.sample_data_generated_at is not None and current.sample_data_expiry is not None
    else:
        assert rows == {"events": 0, "teams": 0, "volunteers": 0, "assignments": 0}
        assert current.sample_data_expiry is None and current.sample_data_size is None
    # Each generation and each clearing happened whole, and was reported exactly once.
    counts = metric_counts(db)
    cleared_by_request = sum(
        1 for key, _, body in responses if key.startswith("DELETE") and sum(body["deleted"].values())
    )
    purged = sum(report.organizations_purged for report in results if isinstance(report, purge.PurgeReport))
    assert counts["sample_data_generated"] == len(generated)
    assert counts["sample_data_cleared"] == cleared_by_request + purged
    assert counts["sample_data_generated"] - counts["sample_data_cleared"] == int(
        current.sample_data_generated
    )
    assert real_rows(db) == reals, "real rows are never touched"
