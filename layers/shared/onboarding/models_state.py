"""The onboarding state of each organization (`onboarding_state`), part of the mapping `onboarding.models`
gathers.
"""

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Mapped

from onboarding.models_base import Base
from onboarding.tables import onboarding_state


class OnboardingState(Base):
    __table__ = onboarding_state

    id: Mapped[str]
    organization_id: Mapped[str]
    wizard_completed: Mapped[bool]
    wizard_current_step: Mapped[int]
    wizard_step_data: Mapped[dict[str, Any]]
    sample_data_generated: Mapped[bool]
    sample_data_size: Mapped[str | None]
    sample_data_generated_at: Mapped[datetime | None]
    sample_data_expiry: Mapped[datetime | None]
    sample_data_cleared: Mapped[bool]
    checklist_progress: Mapped[dict[str, Any]]
    checklist_completed_count: Mapped[int]
    features_unlocked: Mapped[list[str]]
    show_all_features: Mapped[bool]
    skipped: Mapped[bool]
    skipped_at: Mapped[datetime | None]
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    experiments: Mapped[dict[str, Any]]
