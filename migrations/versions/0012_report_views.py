"""onboarding_report_views: each organization's `view_reports` events as a count and their first times.

The checklist's `view_reports_events` counter and the completion time of the `view_reports` task
were two subqueries on `onboarding_metric` in the checklist's one statement. That table is
partitioned by month on `timestamp` and the subqueries cannot name a month, so PostgreSQL planned
them over every partition on every checklist GET (1.5-2 ms of a ~1.8 KB statement's planning,
bench/README.md, issue 16). This table holds what they computed, one row per organization that has
any `view_reports` event: `events` (how many) and `first_at` (the earliest `REPORT_TIMES`
timestamps, ascending); the checklist reads it by primary key and never touches onboarding_metric.

A row trigger on `onboarding_metric` keeps it, whoever inserts (ingestion, the service, COPY, a
test): `AFTER INSERT ... WHEN (NEW.event_type = 'view_reports')`, so other events cost only the
`WHEN` test (in C, no function call), and an event ingestion skipped as a resend (`ON CONFLICT DO
NOTHING`) is not counted. PostgreSQL clones the trigger onto every partition, present and future
(`metric_partitions` creates them ahead and attaches them).

What it counts: every `view_reports` event stored, ever. Rows the nightly maintenance moves to
`onboarding_metric_archive` after 12 months stay counted (the old subqueries forgot them: a report
viewed stays viewed, like a completed task stays completed); the backfill counts the rows archived
before this migration as well. Deleted with the organization.

`upgrade` creates the trigger before the backfill, in one transaction: CREATE TRIGGER takes a SHARE
ROW EXCLUSIVE lock on onboarding_metric, so no insert falls between the two (inserts wait for the
commit; the backfill is one grouped scan of the `view_reports` rows, through `idx_event_timestamp`).

Revision ID: 0012_report_views
Revises: 0010_consistent_api
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012_report_views"
down_revision: str | None = "0010_consistent_api"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# How many of the earliest timestamps are kept (checklist.KNOWN_ROW_TIMES; a test holds them equal).
REPORT_TIMES = 10

FUNCTION = f"""
CREATE FUNCTION onboarding_count_report_view() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO onboarding_report_views AS r (organization_id, events, first_at)
    VALUES (NEW.organization_id, 1, ARRAY[NEW."timestamp"])
    ON CONFLICT (organization_id) DO UPDATE SET
        events = r.events + 1,
        first_at = CASE
            WHEN cardinality(r.first_at) < {REPORT_TIMES} OR NEW."timestamp" < r.first_at[{REPORT_TIMES}]
            THEN ARRAY(
                SELECT t FROM unnest(r.first_at || NEW."timestamp") AS t ORDER BY t LIMIT {REPORT_TIMES}
            )
            ELSE r.first_at
        END;
    RETURN NULL;
END
$$
"""  # noqa: S608 (constants only)
TRIGGER = (
    "CREATE TRIGGER trg_metric_report_views AFTER INSERT ON onboarding_metric FOR EACH ROW"
    " WHEN (NEW.event_type = 'view_reports') EXECUTE FUNCTION onboarding_count_report_view()"
)
# Both tables: what the nightly maintenance already archived counts too, as it will from now on.
BACKFILL = f"""
INSERT INTO onboarding_report_views (organization_id, events, first_at)
SELECT organization_id, count(*), (array_agg("timestamp" ORDER BY "timestamp"))[1:{REPORT_TIMES}]
FROM (
    SELECT organization_id, "timestamp" FROM onboarding_metric WHERE event_type = 'view_reports'
    UNION ALL
    SELECT organization_id, "timestamp" FROM onboarding_metric_archive WHERE event_type = 'view_reports'
) AS report_views
GROUP BY organization_id
"""  # noqa: S608 (constants only)


def upgrade() -> None:
    op.create_table(
        "onboarding_report_views",
        sa.Column("organization_id", sa.String(50), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("first_at", postgresql.ARRAY(sa.DateTime(timezone=True)), nullable=False),
        sa.CheckConstraint("events > 0", name=op.f("ck_onboarding_report_views_events_positive")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_onboarding_report_views_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_onboarding_report_views")),
    )
    op.execute(FUNCTION)
    op.execute(TRIGGER)
    op.execute(BACKFILL)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS trg_metric_report_views ON onboarding_metric")
    op.execute("DROP FUNCTION IF EXISTS onboarding_count_report_view()")
    op.drop_table("onboarding_report_views")
