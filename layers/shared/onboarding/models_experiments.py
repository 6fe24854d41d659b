"""A/B experiments of the onboarding (`onboarding_experiment`), part of the mapping `onboarding.models`
gathers.
"""

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Mapped

from onboarding.models_base import Base
from onboarding.tables import onboarding_experiment


class OnboardingExperiment(Base):
    """An A/B experiment of the onboarding: its variants and their weights (`experiments`, migration 0006)."""

    __table__ = onboarding_experiment

    id: Mapped[str]
    description: Mapped[str]
    variants: Mapped[list[dict[str, Any]]]
    is_active: Mapped[bool]
    created_at: Mapped[datetime]
