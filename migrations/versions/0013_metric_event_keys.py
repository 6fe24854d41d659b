"""onboarding_metric_event_key: the client event ids stored recently, the metric ingest's resend check.

`POST /v1/onboarding/metrics` stores an event id once per organization, also when a client resends it
with another timestamp (`metrics.RESEND_WINDOW`). `onboarding_metric` is partitioned on
`timestamp`, so its unique key (organization_id, client_event_id, timestamp) cannot find such a resend;
the ingest statement did with a NOT EXISTS over the organization's stored events in the window, which
PostgreSQL planned as a hash anti join over all of them: its cost grew with a busy organization's week
of events, and on fresh, unanalyzed partitions the planner's choice was worse (bench/README.md, issue
16). This table, not partitioned, has the key the check needs, (organization_id, client_event_id):
the ingest statement inserts a batch's keys here with `ON CONFLICT DO NOTHING` (one probe of the
primary key per event, no planner choice) and stores the metric rows of the keys that were new.
`timestamp` is the stored row's.

A key is kept at least as long as the resend window needs it: the nightly maintenance deletes keys
whose timestamp is more than `RESENT_BEFORE` old (`metric_partitions.delete_expired_event_keys`);
until then a resend of its id is a duplicate. The archive is untouched: keys never reach its 12
months.

Deleted with the organization, by a trigger rather than a foreign key: every key is written with its
organization's `onboarding_state` row present (the statement's reservation requires it), and that row
is deleted with the organization (its own foreign key cascades), so `AFTER DELETE ON
onboarding_state` deletes the organization's keys, set-based. A foreign key would check every key
against `organizations` as it is inserted, one lookup per event (~0.35-0.4 ms of a ~5 ms 100-event
ingest statement, bench/README.md), and the metric rows the same statement inserts check their
organization anyway.

`upgrade` locks onboarding_metric in SHARE mode (reads go on; inserts wait for the commit, bounded by
the migration's lock_timeout) and backfills a key for every client event id stored within the window
(the earliest copy's timestamp where a resend was stored twice), so no event stored before the
migration becomes new again. The window's rows are at most the last two or three monthly
partitions: the scan is pruned to them.

Revision ID: 0013_metric_event_keys
Revises: 0012_report_views
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013_metric_event_keys"
down_revision: str | None = "0012_report_views"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# metrics.RESENT_BEFORE (RESEND_WINDOW + MAX_EVENT_AGE + MAX_CLOCK_SKEW) as of this migration;
# a test holds them equal.
RESENT_BEFORE = "14 days 5 minutes"

FUNCTION = """
CREATE FUNCTION onboarding_delete_event_keys() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM onboarding_metric_event_key AS k USING deleted_states AS d
    WHERE k.organization_id = d.organization_id;
    RETURN NULL;
END
$$
"""
TRIGGER = (
    "CREATE TRIGGER trg_state_event_keys AFTER DELETE ON onboarding_state"
    " REFERENCING OLD TABLE AS deleted_states FOR EACH STATEMENT EXECUTE FUNCTION onboarding_delete_event_keys()"
)
BACKFILL = f"""
INSERT INTO onboarding_metric_event_key (organization_id, client_event_id, "timestamp")
SELECT DISTINCT ON (organization_id, client_event_id) organization_id, client_event_id, "timestamp"
FROM onboarding_metric
WHERE client_event_id IS NOT NULL AND "timestamp" >= now() - interval '{RESENT_BEFORE}'
ORDER BY organization_id, client_event_id, "timestamp"
"""  # noqa: S608 (constants only)


def upgrade() -> None:
    op.create_table(
        "onboarding_metric_event_key",
        sa.Column("organization_id", sa.String(50), nullable=False),
        sa.Column("client_event_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "organization_id", "client_event_id", name=op.f("pk_onboarding_metric_event_key")
        ),
    )
    op.execute(FUNCTION)
    op.execute(TRIGGER)
    op.execute("LOCK TABLE onboarding_metric IN SHARE MODE")
    op.execute(BACKFILL)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS trg_state_event_keys ON onboarding_state")
    op.execute("DROP FUNCTION IF EXISTS onboarding_delete_event_keys()")
    op.drop_table("onboarding_metric_event_key")
