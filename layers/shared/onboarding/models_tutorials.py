"""Each organization's progress through each tutorial (`onboarding_tutorial_completion`), part of the
mapping `onboarding.models` gathers.
"""

from datetime import datetime

from sqlalchemy.orm import Mapped

from onboarding.models_base import Base
from onboarding.tutorial_tables import onboarding_tutorial_completion


class OnboardingTutorialCompletion(Base):
    __table__ = onboarding_tutorial_completion

    id: Mapped[str]
    organization_id: Mapped[str]
    tutorial_id: Mapped[str]
    completed: Mapped[bool]
    completed_at: Mapped[datetime | None]
    skipped: Mapped[bool]
    skipped_at: Mapped[datetime | None]
    replay_count: Mapped[int]
    last_viewed_at: Mapped[datetime | None]
    steps_completed: Mapped[int]
    total_steps: Mapped[int]
    created_at: Mapped[datetime]
