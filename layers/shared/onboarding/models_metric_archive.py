"""Metric rows older than the retention (`onboarding_metric_archive`), part of the mapping
`onboarding.models` gathers.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Mapped

from onboarding.models_base import Base
from onboarding.tables import onboarding_metric_archive


class OnboardingMetricArchive(Base):
    """Metric rows older than 12 months, moved out of `onboarding_metric` by the nightly maintenance
    (`metric_partitions`). Not read by analytics; part of the organization's export; deleted with it."""

    __table__ = onboarding_metric_archive

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
