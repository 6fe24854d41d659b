"""Feature unlocks: each feature at its milestone's threshold (not one below), once, with its metric and event."""

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from onboarding import outbox
from onboarding.counters import Counter
from onboarding.features import MILESTONES, Feature, progress, reached, unlock
from onboarding.metrics import MetricEventType

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def counts(**values: int) -> dict[Counter, int]:
    return {counter: values.get(counter.value, 0) for counter in Counter}


@pytest.mark.parametrize(
    ("feature", "counter", "threshold"),
    [
        (Feature.RECURRING_EVENTS, Counter.REAL_EVENTS, 5),
        (Feature.MANUAL_EDITING, Counter.REAL_ASSIGNMENTS, 10),
        (Feature.SMS_NOTIFICATIONS, Counter.REAL_VOLUNTEERS, 10),
    ],
)
def test_a_feature_unlocks_at_its_threshold_and_not_one_below(
    feature: Feature, counter: Counter, threshold: int
) -> None:
    assert feature not in [m.feature for m in reached(counts(**{counter.value: threshold - 1}), [])]
    assert [m.feature for m in reached(counts(**{counter.value: threshold}), [])] == [feature]
    assert [m.feature for m in reached(counts(**{counter.value: threshold * 10}), [])] == [feature]


def test_the_milestones_are_the_contracts_three() -> None:
    assert {(m.feature, m.counter, m.threshold) for m in MILESTONES} == {
        (Feature.RECURRING_EVENTS, Counter.REAL_EVENTS, 5),
        (Feature.MANUAL_EDITING, Counter.REAL_ASSIGNMENTS, 10),
        (Feature.SMS_NOTIFICATIONS, Counter.REAL_VOLUNTEERS, 10),
    }


def test_a_stored_unlock_is_never_reached_again() -> None:
    everything = counts(real_events=50, real_assignments=50, real_volunteers=50)
    assert reached(everything, [feature.value for feature in Feature]) == []


def test_progress_shows_every_feature_with_its_count_and_threshold() -> None:
    shown = progress(counts(real_events=7, real_volunteers=2), ["recurring_events"])
    assert [(p.feature_id, p.unlocked, p.count, p.threshold) for p in shown] == [
        (Feature.RECURRING_EVENTS, True, 7, 5),
        (Feature.MANUAL_EDITING, False, 0, 10),
        (Feature.SMS_NOTIFICATIONS, False, 2, 10),
    ]


def test_an_unlock_adds_the_feature_with_one_metric_and_one_staged_event() -> None:
    session = Session()  # no database: staging keeps the events on the session
    unlocked, metrics = unlock(
        session, "org_a", ["manual_editing"], counts(real_events=5, real_assignments=10), NOW
    )
    assert unlocked == ["manual_editing", "recurring_events"]
    assert [(m.event_type, m.event_data["feature_id"], m.event_data["count"]) for m in metrics] == [
        (MetricEventType.FEATURE_UNLOCKED, "recurring_events", 5)
    ]
    assert len(outbox.staged_event_ids(session)) == 1


def test_nothing_new_unlocks_nothing() -> None:
    session = Session()
    assert unlock(session, "org_a", [], counts(real_events=4), NOW) == ([], [])
    assert outbox.staged_event_ids(session) == []
