"""onboarding_metric_quota: each organization's count of client metric events today (the daily cap).

One row per organization, reset by the first batch of a new (UTC) day: nothing to clean up. Deleted
with its organization.

Revision ID: 0009_metric_quota
Revises: 0008_metric_partitions
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_metric_quota"
down_revision: str | None = "0008_metric_partitions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "onboarding_metric_quota",
        sa.Column("organization_id", sa.String(50), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.CheckConstraint("events >= 0", name=op.f("ck_onboarding_metric_quota_events_non_negative")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_onboarding_metric_quota_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_onboarding_metric_quota")),
    )


def downgrade() -> None:
    op.drop_table("onboarding_metric_quota")
