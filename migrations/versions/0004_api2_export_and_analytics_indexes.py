"""Indexes for the export's metric pages and the analysts' incomplete-organizations list.

- `idx_metric_org_timestamp` (organization_id, timestamp, id): an export page is an index range scan
  in keyset order instead of sorting all of an org's metrics for every page.
- `idx_state_incomplete_started` (started_at, organization_id) WHERE neither completed nor skipped:
  the incomplete list (newest first, keyset pages) reads only the incomplete organizations.

`IF NOT EXISTS`: on a large production table, create them beforehand with CREATE INDEX CONCURRENTLY
under these names and this migration only records the revision.

Revision ID: 0004_api2
Revises: 0002_onboarding_tables
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_api2"
down_revision: str | None = "0002_onboarding_tables"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "idx_metric_org_timestamp",
        "onboarding_metric",
        ["organization_id", "timestamp", "id"],
        if_not_exists=True,
    )
    op.create_index(
        "idx_state_incomplete_started",
        "onboarding_state",
        ["started_at", "organization_id"],
        postgresql_where=sa.text("NOT wizard_completed AND NOT skipped"),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("idx_state_incomplete_started", table_name="onboarding_state", if_exists=True)
    op.drop_index("idx_metric_org_timestamp", table_name="onboarding_metric", if_exists=True)
