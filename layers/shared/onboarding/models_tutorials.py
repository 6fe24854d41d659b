"""Each organization's progress through each tutorial (`onboarding_tutorial_completion`), part of the
mapping `onboarding.models` gathers.
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, false, func, text
from sqlalchemy.orm import Mapped, mapped_column

from onboarding.ids import id_default
from onboarding.models_base import Base


class OnboardingTutorialCompletion(Base):
    __tablename__ = "onboarding_tutorial_completion"
    __table_args__ = (
        UniqueConstraint("organization_id", "tutorial_id", name="uq_org_tutorial"),
        CheckConstraint("total_steps > 0", name="total_steps_positive"),
        CheckConstraint("steps_completed >= 0 AND steps_completed <= total_steps", name="steps_range"),
        CheckConstraint("NOT (completed AND skipped)", name="completed_xor_skipped"),
        CheckConstraint("replay_count >= 0", name="replay_count_non_negative"),
        Index("idx_org_tutorial", "organization_id", "tutorial_id"),
        Index("idx_completion_status", "organization_id", "completed"),
    )

    id: Mapped[str] = mapped_column(String(50), primary_key=True, server_default=id_default("tutorial"))
    organization_id: Mapped[str] = mapped_column(
        String(50), ForeignKey("organizations.id", ondelete="CASCADE")
    )
    tutorial_id: Mapped[str] = mapped_column(String(50))
    completed: Mapped[bool] = mapped_column(server_default=false())
    completed_at: Mapped[datetime | None]
    skipped: Mapped[bool] = mapped_column(server_default=false())
    skipped_at: Mapped[datetime | None]
    replay_count: Mapped[int] = mapped_column(server_default=text("0"))
    last_viewed_at: Mapped[datetime | None]
    steps_completed: Mapped[int] = mapped_column(server_default=text("0"))
    total_steps: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
