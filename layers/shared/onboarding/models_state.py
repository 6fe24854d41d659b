"""The onboarding state of each organization (`onboarding_state`), part of the mapping `onboarding.models`
gathers.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, SmallInteger, String, false, func, text
from sqlalchemy.orm import Mapped, mapped_column

from onboarding.ids import id_default
from onboarding.models_base import EMPTY_JSON_ARRAY, EMPTY_JSON_OBJECT, Base


class OnboardingState(Base):
    __tablename__ = "onboarding_state"
    __table_args__ = (
        CheckConstraint("wizard_current_step BETWEEN 1 AND 5", name="wizard_step_range"),
        CheckConstraint("NOT (wizard_completed AND skipped)", name="completed_xor_skipped"),
        CheckConstraint("(skipped_at IS NOT NULL) = skipped", name="skipped_at_matches_flag"),
        CheckConstraint(
            "NOT sample_data_generated"
            " OR (sample_data_generated_at IS NOT NULL AND sample_data_expiry IS NOT NULL)",
            name="sample_data_dates_when_generated",
        ),
        CheckConstraint(
            "sample_data_size IN ('minimal', 'standard', 'comprehensive')", name="sample_data_size_known"
        ),
        CheckConstraint("jsonb_typeof(experiments) = 'object'", name="experiments_is_object"),
        CheckConstraint("checklist_completed_count >= 0", name="checklist_completed_count_non_negative"),
        Index("idx_org_wizard_state", "organization_id", "wizard_completed"),
        Index("idx_sample_data_expiry", "sample_data_expiry"),
        # Analysts' completion rate: an index-only scan over small tuples (migration 0007).
        Index(
            "idx_state_started_progress",
            "started_at",
            postgresql_include=["wizard_completed", "skipped", "checklist_completed_count"],
        ),
        # Analysts' incomplete-organizations list (migration 0004_api2).
        Index(
            "idx_state_incomplete_started",
            "started_at",
            "organization_id",
            postgresql_where=text("NOT wizard_completed AND NOT skipped"),
        ),
    )

    id: Mapped[str] = mapped_column(String(50), primary_key=True, server_default=id_default("onboard"))
    organization_id: Mapped[str] = mapped_column(
        String(50), ForeignKey("organizations.id", ondelete="CASCADE"), unique=True
    )
    wizard_completed: Mapped[bool] = mapped_column(server_default=false())
    wizard_current_step: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    wizard_step_data: Mapped[dict[str, Any]] = mapped_column(server_default=EMPTY_JSON_OBJECT)
    sample_data_generated: Mapped[bool] = mapped_column(server_default=false())
    # The size generated (migration 0010); NULL when there is none.
    sample_data_size: Mapped[str | None] = mapped_column(String(20))
    sample_data_generated_at: Mapped[datetime | None]
    sample_data_expiry: Mapped[datetime | None]
    sample_data_cleared: Mapped[bool] = mapped_column(server_default=false())
    checklist_progress: Mapped[dict[str, Any]] = mapped_column(server_default=EMPTY_JSON_OBJECT)
    # Active tasks `checklist_progress` marks completed, set by a database trigger whenever the progress
    # is written (migration 0007): the analysts' completion rate reads this, not the JSON.
    checklist_completed_count: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    features_unlocked: Mapped[list[str]] = mapped_column(server_default=EMPTY_JSON_ARRAY)
    show_all_features: Mapped[bool] = mapped_column(server_default=false())
    skipped: Mapped[bool] = mapped_column(server_default=false())
    skipped_at: Mapped[datetime | None]
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    completed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # The organization's variant of each experiment active when it started onboarding (migration 0006):
    # {"<experiment id>": {"variant": "<variant id>", "source": "hash" | "client"}}, assigned once.
    experiments: Mapped[dict[str, Any]] = mapped_column(server_default=EMPTY_JSON_OBJECT)
