"""The tutorial state machine: not started -> in progress -> completed | skipped, replays, conflicts."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from onboarding.errors import Conflict
from onboarding.metrics import MetricEventType
from onboarding.tutorials import CATALOG, Action, TutorialRecord, transition

TUTORIAL = CATALOG["events_intro"]  # 4 steps
NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
VIEWED_AT = NOW - timedelta(minutes=3)
STARTED = MetricEventType.TUTORIAL_STARTED
COMPLETED = MetricEventType.TUTORIAL_COMPLETED
SKIPPED = MetricEventType.TUTORIAL_SKIPPED

NEVER_VIEWED = TutorialRecord(
    id="tutorial_1",
    completed=False,
    completed_at=None,
    skipped=False,
    skipped_at=None,
    replay_count=0,
    last_viewed_at=None,
    steps_completed=0,
    total_steps=4,
    created_at=NOW - timedelta(hours=1),
)
IN_PROGRESS = replace(NEVER_VIEWED, last_viewed_at=VIEWED_AT, steps_completed=1)
FINISHED = replace(IN_PROGRESS, completed=True, completed_at=VIEWED_AT, steps_completed=4)
SKIPPED_ONE = replace(IN_PROGRESS, skipped=True, skipped_at=VIEWED_AT)
RECORDS = {
    "never viewed": NEVER_VIEWED,
    "in progress": IN_PROGRESS,
    "completed": FINISHED,
    "skipped": SKIPPED_ONE,
}


def status(record: TutorialRecord) -> str:
    if record.completed:
        return "completed"
    return "skipped" if record.skipped else "in progress"


@pytest.mark.parametrize(
    ("before", "action", "after", "emitted"),
    [
        ("never viewed", "view", "in progress", [(STARTED, False)]),
        ("in progress", "view", "in progress", []),
        ("completed", "view", "in progress", [(STARTED, True)]),  # a replay
        ("skipped", "view", "in progress", [(STARTED, True)]),
        ("never viewed", "progress", "in progress", [(STARTED, False)]),  # an implicit first view
        ("in progress", "progress", "in progress", []),
        ("never viewed", "complete", "completed", [(STARTED, False), (COMPLETED, None)]),
        ("in progress", "complete", "completed", [(COMPLETED, None)]),
        ("completed", "complete", "completed", []),  # idempotent
        ("never viewed", "skip", "skipped", [(STARTED, False), (SKIPPED, None)]),
        ("in progress", "skip", "skipped", [(SKIPPED, None)]),
        ("skipped", "skip", "skipped", []),  # idempotent
    ],
)
def test_each_action_moves_the_tutorial_to_its_next_state(
    before: str, action: Action, after: str, emitted: list[tuple[MetricEventType, bool | None]]
) -> None:
    record, metrics = transition(TUTORIAL, RECORDS[before], action, NOW, steps_completed=2)
    assert status(record) == after
    assert [(kind, data.get("replay")) for kind, data in metrics] == emitted
    assert all(data["tutorial_id"] == TUTORIAL.id for _, data in metrics)


@pytest.mark.parametrize(
    ("before", "action"),
    [("completed", "progress"), ("skipped", "progress"), ("skipped", "complete"), ("completed", "skip")],
)
def test_the_other_end_state_is_a_conflict(before: str, action: Action) -> None:
    with pytest.raises(Conflict, match="view it again to replay it"):
        transition(TUTORIAL, RECORDS[before], action, NOW)


def test_a_replay_starts_over_and_counts_the_replay() -> None:
    record, _ = transition(TUTORIAL, FINISHED, "view", NOW)
    assert (record.replay_count, record.steps_completed, record.completed_at, record.last_viewed_at) == (
        1,
        0,
        None,
        NOW,
    )


def test_progress_sets_the_steps_completed() -> None:
    record, _ = transition(TUTORIAL, IN_PROGRESS, "progress", NOW, steps_completed=3)
    assert record.steps_completed == 3


@pytest.mark.parametrize("before", ["never viewed", "in progress"])
def test_progress_to_the_last_step_completes_as_the_complete_route_does(before: str) -> None:
    by_progress = transition(TUTORIAL, RECORDS[before], "progress", NOW, steps_completed=4)
    assert by_progress == transition(TUTORIAL, RECORDS[before], "complete", NOW)
    record, metrics = by_progress
    assert (status(record), record.completed_at, record.steps_completed) == ("completed", NOW, 4)
    assert [kind for kind, _ in metrics].count(COMPLETED) == 1


def test_progress_to_the_last_step_of_a_completed_tutorial_changes_nothing() -> None:
    assert transition(TUTORIAL, FINISHED, "progress", NOW, steps_completed=4) == (FINISHED, [])


def test_progress_to_the_last_step_of_a_skipped_tutorial_is_a_conflict() -> None:
    with pytest.raises(Conflict):
        transition(TUTORIAL, SKIPPED_ONE, "progress", NOW, steps_completed=4)


def test_completing_marks_every_step_and_reports_the_time_since_the_last_view() -> None:
    record, [(_, data)] = transition(TUTORIAL, IN_PROGRESS, "complete", NOW)
    assert (record.steps_completed, record.completed_at) == (TUTORIAL.total_steps, NOW)
    assert data["duration_seconds"] == 180


def test_skipping_reports_the_step_reached() -> None:
    record, [(_, data)] = transition(TUTORIAL, IN_PROGRESS, "skip", NOW)
    assert (record.skipped_at, data["step_reached"]) == (NOW, 1)
