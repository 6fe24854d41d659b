"""Onboarding analytics events: the vocabulary, and how the service records its own events.

Service-emitted metrics are written with the change they describe, in the same transaction.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from onboarding.models import OnboardingMetric


class MetricEventType(StrEnum):
    WIZARD_STARTED = "wizard_started"
    WIZARD_STEP_VIEWED = "wizard_step_viewed"
    WIZARD_STEP_COMPLETED = "wizard_step_completed"
    WIZARD_COMPLETED = "wizard_completed"
    WIZARD_SKIPPED = "wizard_skipped"
    SAMPLE_DATA_GENERATED = "sample_data_generated"
    SAMPLE_DATA_CLEARED = "sample_data_cleared"
    CHECKLIST_VIEWED = "checklist_viewed"
    CHECKLIST_TASK_COMPLETED = "checklist_task_completed"
    TUTORIAL_STARTED = "tutorial_started"
    TUTORIAL_COMPLETED = "tutorial_completed"
    TUTORIAL_SKIPPED = "tutorial_skipped"
    FEATURE_UNLOCKED = "feature_unlocked"
    VIEW_REPORTS = "view_reports"


def record_metric(
    session: Session,
    org_id: str,
    event_type: MetricEventType,
    *,
    event_data: dict[str, Any] | None = None,
    completion_time_minutes: int | None = None,
    step_duration_seconds: int | None = None,
    wizard_step_reached: int | None = None,
    wizard_step_dropped: int | None = None,
    timestamp: datetime | None = None,
) -> None:
    values: dict[str, Any] = {
        "organization_id": org_id,
        "event_type": event_type.value,
        "event_data": event_data or {},
        "completion_time_minutes": completion_time_minutes,
        "step_duration_seconds": step_duration_seconds,
        "wizard_step_reached": wizard_step_reached,
        "wizard_step_dropped": wizard_step_dropped,
    }
    if timestamp is not None:
        values["timestamp"] = timestamp
    session.execute(insert(OnboardingMetric).values(**values))
