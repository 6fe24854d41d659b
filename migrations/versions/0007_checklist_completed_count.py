"""Each organization's checklist progress as a number, kept as the progress is stored, for analytics.

`onboarding_state.checklist_completed_count`: how many active checklist tasks the organization's
stored progress marks completed. The analysts' completion rate averaged this by evaluating every
organization's `checklist_progress` JSON against the active tasks on every request (153 ms at 50 000
organizations); with the number on the row, and a covering index on `started_at` that holds it with
the wizard flags, the report is an index-only scan of small tuples (bench/README.md, issue 16). A
split by experiment variant groups the same rows by their `experiments` column (migration 0006).

A trigger keeps the number equal to the progress whoever writes it (the service's compare-and-swap,
an operator, a test), counting the tasks active at that moment; `upgrade` backfills every row. The
active task set changes only by a deliberate operation (a migration or an operator): run the backfill
statement (`BACKFILL`) after it, so that the numbers count the new set.

On a large production table: create the index beforehand with CREATE INDEX CONCURRENTLY under this
name (`IF NOT EXISTS` then skips it), and the backfill touches only rows with progress.

Revision ID: 0007_checklist_count
Revises: 0006_experiments
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_checklist_count"
down_revision: str | None = "0006_experiments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNT = (
    "(SELECT count(*) FROM onboarding_checklist_task AS t"
    " WHERE t.is_active AND (progress -> t.id ->> 'completed') = 'true')"
)
BACKFILL = """
UPDATE onboarding_state AS s SET checklist_completed_count = (
    SELECT count(*) FROM onboarding_checklist_task AS t
    WHERE t.is_active AND (s.checklist_progress -> t.id ->> 'completed') = 'true'
)
WHERE s.checklist_progress <> '{}'::jsonb
"""
FUNCTION = f"""
CREATE FUNCTION onboarding_count_checklist_completed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    progress jsonb := NEW.checklist_progress;
BEGIN
    IF progress = '{{}}'::jsonb THEN
        NEW.checklist_completed_count := 0;
    ELSE
        NEW.checklist_completed_count := {COUNT};
    END IF;
    RETURN NEW;
END
$$
"""
TRIGGER = (
    "CREATE TRIGGER trg_state_checklist_completed_count"
    " BEFORE INSERT OR UPDATE OF checklist_progress ON onboarding_state"
    " FOR EACH ROW EXECUTE FUNCTION onboarding_count_checklist_completed()"
)


def upgrade() -> None:
    # A constant default: a metadata-only change, no table rewrite (PostgreSQL 11+).
    op.add_column(
        "onboarding_state",
        sa.Column(
            "checklist_completed_count", sa.SmallInteger(), server_default=sa.text("0"), nullable=False
        ),
    )
    op.create_check_constraint(
        "ck_onboarding_state_checklist_completed_count_non_negative",
        "onboarding_state",
        "checklist_completed_count >= 0",
    )
    op.execute(FUNCTION)
    op.execute(TRIGGER)
    op.execute(BACKFILL)
    op.create_index(
        "idx_state_started_progress",
        "onboarding_state",
        ["started_at"],
        postgresql_include=["wizard_completed", "skipped", "checklist_completed_count"],
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("idx_state_started_progress", table_name="onboarding_state", if_exists=True)
    op.execute("DROP TRIGGER IF EXISTS trg_state_checklist_completed_count ON onboarding_state")
    op.execute("DROP FUNCTION IF EXISTS onboarding_count_checklist_completed()")
    op.drop_constraint(
        "ck_onboarding_state_checklist_completed_count_non_negative", "onboarding_state", type_="check"
    )
    op.drop_column("onboarding_state", "checklist_completed_count")
