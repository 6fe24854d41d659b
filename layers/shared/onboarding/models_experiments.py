"""A/B experiments of the onboarding (`onboarding_experiment`), part of the mapping `onboarding.models`
gathers.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, String, func, text, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from onboarding.ids import EXPERIMENT_ID_PATTERN
from onboarding.models_base import Base


class OnboardingExperiment(Base):
    """An A/B experiment of the onboarding: its variants and their weights (`experiments`, migration 0006)."""

    __tablename__ = "onboarding_experiment"
    __table_args__ = (
        CheckConstraint(f"id ~ '{EXPERIMENT_ID_PATTERN}'", name="id_format"),
        CheckConstraint(
            "jsonb_typeof(variants) = 'array' AND jsonb_array_length(variants) BETWEEN 2 AND 10"
            " AND NOT jsonb_path_exists(variants, '$[*] ? (!exists(@.id) || !exists(@.weight)"
            ' || @.id.type() != "string" || @.weight.type() != "number" || @.weight < 1 || @.weight > 1000'
            f' || @.weight.floor() != @.weight || !(@.id like_regex "{EXPERIMENT_ID_PATTERN}"))\')',
            name="variants_well_formed",
        ),
    )

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    description: Mapped[str] = mapped_column(String(500), server_default=text("''"))
    # [{"id": "<variant>", "weight": 1-1000}, ...]: 2-10 variants, the first the baseline of comparisons.
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    is_active: Mapped[bool] = mapped_column(server_default=true())
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
