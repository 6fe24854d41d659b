"""Each organization's `view_reports` events, kept by a trigger (`onboarding_report_views`), part of the
mapping `onboarding.models` gathers.
"""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from onboarding.models_base import Base


class OnboardingReportViews(Base):
    """Each organization's `view_reports` events: how many, and the earliest timestamps (ascending, up to
    ten). Kept by a trigger on `onboarding_metric` (migration 0012_report_views), so the checklist
    reads them by key instead of scanning the metric partitions. One row per organization that has
    any; archived metrics stay counted; deleted with the organization."""

    __tablename__ = "onboarding_report_views"
    __table_args__ = (CheckConstraint("events > 0", name="events_positive"),)

    organization_id: Mapped[str] = mapped_column(
        String(50), ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    events: Mapped[int] = mapped_column(BigInteger)
    first_at: Mapped[list[datetime]] = mapped_column(ARRAY(DateTime(timezone=True)))
