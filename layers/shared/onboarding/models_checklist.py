"""The checklist's task catalogue (`onboarding_checklist_task`), part of the mapping `onboarding.models`
gathers.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, String, func, true
from sqlalchemy.orm import Mapped, mapped_column

from onboarding.models_base import Base


class OnboardingChecklistTask(Base):
    __tablename__ = "onboarding_checklist_task"
    __table_args__ = (
        CheckConstraint("priority_order > 0", name="priority_order_positive"),
        CheckConstraint("jsonb_typeof(completion_criteria) = 'object'", name="criteria_is_object"),
        Index("idx_priority_order", "priority_order", "is_active"),
    )

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    title_key: Mapped[str] = mapped_column(String(100))
    description_key: Mapped[str] = mapped_column(String(100))
    # Structured criteria (see `checklist`); never SQL text: the service runs no SQL read from a table.
    completion_criteria: Mapped[dict[str, Any]]
    priority_order: Mapped[int]
    icon: Mapped[str | None] = mapped_column(String(50))
    quick_action_url: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(server_default=true())
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
