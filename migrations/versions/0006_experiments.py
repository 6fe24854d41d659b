"""A/B experiments: their definitions as data, and each organization's variants on its onboarding state.

- `onboarding_experiment`: one row per experiment (id, description, variants with weights, active
  flag). Managed with SQL by whoever runs the experiment (docs/analytics.md); none is seeded.
- `onboarding_state.experiments`: the organization's variant of each experiment active when it
  started onboarding, assigned once then (`{"<experiment>": {"variant", "source"}}`), so that analytics
  split any per-organization figure by variant without a join.

Revision ID: 0006_experiments
Revises: 0005_outbox
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_experiments"
down_revision: str | None = "0005_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of onboarding.models' rules (migrations must not change with the code).
ID_PATTERN = "^[a-z][a-z0-9_]{0,49}$"
VARIANTS_ARE_WELL_FORMED = (
    "jsonb_typeof(variants) = 'array' AND jsonb_array_length(variants) BETWEEN 2 AND 10"
    " AND NOT jsonb_path_exists(variants, '$[*] ? (!exists(@.id) || !exists(@.weight)"
    ' || @.id.type() != "string" || @.weight.type() != "number" || @.weight < 1 || @.weight > 1000'
    ' || @.weight.floor() != @.weight || !(@.id like_regex "^[a-z][a-z0-9_]{0,49}$"))\')'
)


def upgrade() -> None:
    op.create_table(
        "onboarding_experiment",
        sa.Column("id", sa.String(50), nullable=False),
        sa.Column("description", sa.String(500), server_default=sa.text("''"), nullable=False),
        sa.Column("variants", postgresql.JSONB(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_onboarding_experiment"),
        sa.CheckConstraint(f"id ~ '{ID_PATTERN}'", name="ck_onboarding_experiment_id_format"),
        sa.CheckConstraint(VARIANTS_ARE_WELL_FORMED, name="ck_onboarding_experiment_variants_well_formed"),
    )
    # Metadata only (a constant default): no table rewrite, whatever the number of organizations.
    op.add_column(
        "onboarding_state",
        sa.Column("experiments", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
    )
    op.create_check_constraint(
        "ck_onboarding_state_experiments_is_object",
        "onboarding_state",
        "jsonb_typeof(experiments) = 'object'",
    )


def downgrade() -> None:
    op.drop_constraint("ck_onboarding_state_experiments_is_object", "onboarding_state", type_="check")
    op.drop_column("onboarding_state", "experiments")
    op.drop_table("onboarding_experiment")
