"""Analytics events (`onboarding_metric`, partitioned by month), part of the mapping `onboarding.models`
gathers.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Mapped

from onboarding.models_base import Base
from onboarding.tables import onboarding_metric


class MetricColumns:
    """The typed columns of a metric row, shared by the live table and its archive (`tables.metric_columns`
    makes both tables' columns from one list)."""

    id: Mapped[str]
    organization_id: Mapped[str]
    client_event_id: Mapped[UUID | None]
    event_type: Mapped[str]
    event_data: Mapped[dict[str, Any]]
    completion_time_minutes: Mapped[int | None]
    step_duration_seconds: Mapped[int | None]
    wizard_step_reached: Mapped[int | None]
    wizard_step_dropped: Mapped[int | None]
    user_agent: Mapped[str | None]
    session_id: Mapped[str | None]
    timestamp: Mapped[datetime]
    received_at: Mapped[datetime]


class OnboardingMetric(MetricColumns, Base):
    """Analytics events, range-partitioned by month on `timestamp` (migration 0008; the partitions are
    kept by `metric_partitions`: next months ahead, a default partition, the archive after 12 months)."""

    __table__ = onboarding_metric
