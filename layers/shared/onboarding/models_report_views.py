"""Each organization's `view_reports` events, kept by a trigger (`onboarding_report_views`), part of the
mapping `onboarding.models` gathers.
"""

from datetime import datetime

from sqlalchemy.orm import Mapped

from onboarding.models_base import Base
from onboarding.tables import onboarding_report_views


class OnboardingReportViews(Base):
    """Each organization's `view_reports` events: how many, and the earliest timestamps (ascending, up to
    ten). Kept by a trigger on `onboarding_metric` (migration 0012_report_views), so the checklist
    reads them by key instead of scanning the metric partitions. One row per organization that has
    any; archived metrics stay counted; deleted with the organization."""

    __table__ = onboarding_report_views

    organization_id: Mapped[str]
    events: Mapped[int]
    first_at: Mapped[list[datetime]]
