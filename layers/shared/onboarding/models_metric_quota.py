"""The daily cap of client metric events (`onboarding_metric_quota`), part of the mapping
`onboarding.models` gathers.
"""

from datetime import date

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from onboarding.models_base import Base


class OnboardingMetricQuota(Base):
    """How many client metric events an organization sent today (UTC): the daily cap of `metric_quota`.
    One row per organization, reset by the first batch of a new day (migration 0009_metric_quota)."""

    __tablename__ = "onboarding_metric_quota"
    __table_args__ = (CheckConstraint("events >= 0", name="events_non_negative"),)

    organization_id: Mapped[str] = mapped_column(
        String(50), ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date]
    events: Mapped[int]
