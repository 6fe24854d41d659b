"""The checklist's task catalogue (`onboarding_checklist_task`), part of the mapping `onboarding.models`
gathers.
"""

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Mapped

from onboarding.models_base import Base
from onboarding.tables import onboarding_checklist_task


class OnboardingChecklistTask(Base):
    __table__ = onboarding_checklist_task

    id: Mapped[str]
    title_key: Mapped[str]
    description_key: Mapped[str]
    completion_criteria: Mapped[dict[str, Any]]
    priority_order: Mapped[int]
    icon: Mapped[str | None]
    quick_action_url: Mapped[str | None]
    is_active: Mapped[bool]
    created_at: Mapped[datetime]
