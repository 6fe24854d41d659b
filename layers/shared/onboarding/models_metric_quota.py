"""The daily cap of client metric events (`onboarding_metric_quota`), part of the mapping
`onboarding.models` gathers.
"""

from datetime import date

from sqlalchemy.orm import Mapped

from onboarding.metric_tables import onboarding_metric_quota
from onboarding.models_base import Base


class OnboardingMetricQuota(Base):
    """How many client metric events an organization sent today (UTC): the daily cap of `metric_quota`.
    One row per organization, reset by the first batch of a new day (migration 0009_metric_quota)."""

    __table__ = onboarding_metric_quota

    organization_id: Mapped[str]
    day: Mapped[date]
    events: Mapped[int]
