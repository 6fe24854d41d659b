"""Transactional outbox for the onboarding domain events published to EventBridge (docs/events.md).

No foreign key to organizations: a pending event about an organization deleted before publication is
still published (it describes something that happened), and deleting an organization is never blocked.

Revision ID: 0005_outbox
Revises: 0004_api2
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_outbox"
down_revision: str | None = "0004_api2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)
# Same shape as onboarding.ids.id_default (frozen here: migrations must not change with the code).
OUTBOX_ID = "('outbox_'::text || replace((gen_random_uuid())::text, '-'::text, ''::text))"


def upgrade() -> None:
    op.create_table(
        "onboarding_outbox",
        sa.Column("id", sa.String(50), server_default=sa.text(OUTBOX_ID), nullable=False),
        sa.Column("event_type", sa.String(50), nullable=False),
        sa.Column("organization_id", sa.String(50), nullable=False),
        sa.Column("detail", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", TZ, server_default=sa.text("now()"), nullable=False),
        sa.Column("sent_at", TZ, nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_onboarding_outbox"),
        sa.CheckConstraint("attempts >= 0", name="ck_onboarding_outbox_attempts_non_negative"),
        sa.CheckConstraint("jsonb_typeof(detail) = 'object'", name="ck_onboarding_outbox_detail_is_object"),
    )
    op.create_index(
        "idx_outbox_pending",
        "onboarding_outbox",
        ["created_at", "id"],
        postgresql_where=sa.text("sent_at IS NULL"),
    )
    op.create_index(
        "idx_outbox_sent_at",
        "onboarding_outbox",
        ["sent_at"],
        postgresql_where=sa.text("sent_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("onboarding_outbox")
