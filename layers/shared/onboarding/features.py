"""Progressive feature disclosure: features unlock when an organization reaches real-activity milestones.

Milestones count real rows only (`counters`, never `is_sample` rows), so sample data cannot unlock
anything. An unlock is permanent: it is stored once in `onboarding_state.features_unlocked` and emits one
`feature_unlocked` metric and one `FeatureUnlocked` domain event, even if the rows behind it are deleted
later.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from onboarding import outbox
from onboarding.counters import Counter, counter_columns
from onboarding.domain_events import FeatureUnlocked
from onboarding.metrics import MetricEventType, MetricRecord, record_metrics
from onboarding.models import OnboardingState


class Feature(StrEnum):
    RECURRING_EVENTS = "recurring_events"
    MANUAL_EDITING = "manual_editing"
    SMS_NOTIFICATIONS = "sms_notifications"


@dataclass(frozen=True, slots=True)
class Milestone:
    feature: Feature
    counter: Counter
    threshold: int
    milestone_type: str


MILESTONES: tuple[Milestone, ...] = (
    Milestone(Feature.RECURRING_EVENTS, Counter.REAL_EVENTS, 5, "events_created"),
    Milestone(Feature.MANUAL_EDITING, Counter.REAL_ASSIGNMENTS, 10, "assignments_created"),
    Milestone(Feature.SMS_NOTIFICATIONS, Counter.REAL_VOLUNTEERS, 10, "volunteers_added"),
)
MILESTONE_COUNTERS: tuple[Counter, ...] = tuple(dict.fromkeys(m.counter for m in MILESTONES))


class FeatureProgress(BaseModel):
    """One feature as the client shows it: unlocked or how far the organization is from it."""

    feature_id: Feature
    unlocked: bool
    milestone_type: str
    threshold: int
    count: int


def milestone_columns(org_id: ColumnElement[str]) -> list[ColumnElement[int]]:
    """The counters milestones need, as labelled columns to add to the statement that reads the state."""
    return counter_columns(org_id, MILESTONE_COUNTERS)


def reached(counts: Mapping[Counter, int], unlocked: Iterable[str]) -> list[Milestone]:
    """Milestones reached but not yet stored as unlocked."""
    stored = set(unlocked)
    return [m for m in MILESTONES if m.feature not in stored and counts[m.counter] >= m.threshold]


def progress(counts: Mapping[Counter, int], unlocked: Iterable[str]) -> list[FeatureProgress]:
    stored = set(unlocked)
    return [
        FeatureProgress(
            feature_id=m.feature,
            unlocked=m.feature in stored,
            milestone_type=m.milestone_type,
            threshold=m.threshold,
            count=counts[m.counter],
        )
        for m in MILESTONES
    ]


def store_unlocks(
    session: Session, locked_state: OnboardingState, counts: Mapping[Counter, int], now: datetime
) -> list[Feature]:
    """Store the milestones reached since the last check; one metric and one event per new unlock.

    `locked_state` must have been read with `FOR UPDATE`, so two concurrent requests cannot both decide
    that a feature is new. Changes the state in memory; the caller's flush writes it. `now` is the
    transaction's time (the unlock's `unlocked_at`).
    """
    new = reached(counts, locked_state.features_unlocked)
    if not new:
        return []
    org_id = locked_state.organization_id
    locked_state.features_unlocked = [*locked_state.features_unlocked, *(m.feature.value for m in new)]
    record_metrics(session, [_unlock_metric(org_id, m, counts) for m in new])
    outbox.stage_many(
        session,
        [(org_id, FeatureUnlocked(feature_id=m.feature.value, unlocked_at=now)) for m in new],
    )
    return [m.feature for m in new]


def _unlock_metric(org_id: str, milestone: Milestone, counts: Mapping[Counter, int]) -> MetricRecord:
    return MetricRecord(
        org_id=org_id,
        event_type=MetricEventType.FEATURE_UNLOCKED,
        event_data={
            "feature_id": milestone.feature.value,
            "milestone_type": milestone.milestone_type,
            "threshold": milestone.threshold,
            "count": counts[milestone.counter],
        },
    )


def counts_from_row(values: Sequence[int]) -> dict[Counter, int]:
    """Counter values read in the order of `milestone_columns`."""
    return {counter: int(value) for counter, value in zip(MILESTONE_COUNTERS, values, strict=True)}
