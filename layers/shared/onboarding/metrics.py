"""Onboarding analytics events: the vocabulary, and how the service records its own events.

Service-emitted metrics are written with the change they describe, in the same transaction.
"""

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CTE, Select, String, column, func, insert, select, true, values
from sqlalchemy.dialects.postgresql import JSONB
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


def count_with_metrics(
    changed: CTE, metrics: Sequence[tuple[MetricEventType, dict[str, Any]]]
) -> Select[int]:
    """One statement for a change and the metrics describing it.

    `changed` is a data-modifying CTE (UPDATE/INSERT ... RETURNING organization_id); each row it
    changes gets the given metric rows, so a change that matched nothing records nothing. The
    statement selects how many rows `changed` changed.
    """
    statement = select(func.count()).select_from(changed)
    if not metrics:
        return statement
    emitted = values(column("event_type", String(50)), column("event_data", JSONB), name="emitted").data(
        [(event_type.value, event_data) for event_type, event_data in metrics]
    )
    insert_metrics = insert(OnboardingMetric).from_select(
        ["organization_id", "event_type", "event_data"],
        select(changed.c.organization_id, emitted.c.event_type, emitted.c.event_data).select_from(
            changed.join(emitted, true())
        ),
    )
    return statement.add_cte(insert_metrics.cte("emitted_metrics"))
