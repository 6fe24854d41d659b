"""Onboarding analytics events: the vocabulary, and how the service records its own events.

Service-emitted metrics are written with the change they describe, in the same transaction.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
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


@dataclass(frozen=True, slots=True)
class MetricRecord:
    """One service-emitted metric row, for `record_metrics`."""

    org_id: str
    event_type: MetricEventType
    event_data: dict[str, Any] = field(default_factory=dict)
    completion_time_minutes: int | None = None
    step_duration_seconds: int | None = None
    wizard_step_reached: int | None = None
    wizard_step_dropped: int | None = None


def record_metrics(session: Session, records: Sequence[MetricRecord]) -> None:
    """Several service-emitted metrics in one multi-row INSERT (timestamps from the transaction)."""
    if not records:
        return
    session.execute(
        insert(OnboardingMetric).values(
            [
                {
                    "organization_id": record.org_id,
                    "event_type": record.event_type.value,
                    "event_data": record.event_data,
                    "completion_time_minutes": record.completion_time_minutes,
                    "step_duration_seconds": record.step_duration_seconds,
                    "wizard_step_reached": record.wizard_step_reached,
                    "wizard_step_dropped": record.wizard_step_dropped,
                }
                for record in records
            ]
        )
    )
