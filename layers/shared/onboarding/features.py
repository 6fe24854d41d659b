"""Progressive feature disclosure: features unlock when an organization reaches real-activity milestones.

Milestones count real rows only (`counters`, never `is_sample` rows), so sample data cannot unlock
anything. An unlock is permanent: it is stored once in `onboarding_state.features_unlocked` and emits one
`feature_unlocked` metric and one `FeatureUnlocked` domain event, even if the rows behind it are deleted
later.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from pydantic import BaseModel
from sqlalchemy.orm import Session

from onboarding import i18n, outbox
from onboarding.counters import Counter
from onboarding.metrics import MetricEventType, MetricRecord


class Feature(StrEnum):
    RECURRING_EVENTS = "recurring_events"
    MANUAL_EDITING = "manual_editing"
    SMS_NOTIFICATIONS = "sms_notifications"


class Milestone(NamedTuple):
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
    name_key: str
    name: str  # in the request's language (i18n)
    unlocked: bool
    milestone_type: str
    threshold: int
    count: int


def reached(counts: Mapping[Counter, int], unlocked: Iterable[str]) -> list[Milestone]:
    """Milestones reached but not yet stored as unlocked."""
    stored = set(unlocked)
    return [m for m in MILESTONES if m.feature not in stored and counts[m.counter] >= m.threshold]


def progress(counts: Mapping[Counter, int], unlocked: Iterable[str]) -> list[FeatureProgress]:
    stored = set(unlocked)
    return [
        FeatureProgress(
            feature_id=m.feature,
            name_key=f"onboarding.features.{m.feature.value}",
            name=i18n.text(f"onboarding.features.{m.feature.value}"),
            unlocked=m.feature in stored,
            milestone_type=m.milestone_type,
            threshold=m.threshold,
            count=counts[m.counter],
        )
        for m in MILESTONES
    ]


def unlock(
    session: Session, org_id: str, unlocked: list[str], counts: Mapping[Counter, int], now: datetime
) -> tuple[list[str], list[MetricRecord]]:
    """The features unlocked once the milestones reached since the last check are added, and one
    metric per new unlock (none when there is none); one `FeatureUnlocked` event per new unlock is
    staged on the session.

    `unlocked` must have been read with `FOR UPDATE`, so two concurrent requests cannot both decide
    that a feature is new; the caller writes the new list with the metrics. `now` is the transaction's
    time (the unlock's `unlocked_at`).
    """
    new = reached(counts, unlocked)
    if not new:
        return unlocked, []
    # Imported when a feature unlocks: the checklist function reads the state (and imports this module)
    # but never unlocks, so its cold start does not build the event schemas.
    from onboarding.domain_events import FeatureUnlocked

    outbox.stage_many(
        session, [(org_id, FeatureUnlocked(feature_id=m.feature.value, unlocked_at=now)) for m in new]
    )
    return [*unlocked, *(m.feature.value for m in new)], [_unlock_metric(org_id, m, counts) for m in new]


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
