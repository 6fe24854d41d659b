"""The tutorials' Core table: each organization's progress through each tutorial (`tutorials`, `export`).

Apart from `tables` so that only the functions that read or write tutorial progress build it at their
cold start (bench/README.md, "Cold start"). Its DDL-only objects follow it, as in `tables`.
"""

from sqlalchemy import CheckConstraint, Column, Index, Integer, String, Table, UniqueConstraint, text

from onboarding.ids import id_default
from onboarding.schema import METADATA, SCHEMA_ONLY
from onboarding.tables import created_at_column, flag_column, org_id_column, timestamp_column

# Each organization's progress through each tutorial (`tutorials`).
onboarding_tutorial_completion = Table(
    "onboarding_tutorial_completion",
    METADATA,
    Column("id", String(50), primary_key=True, server_default=id_default("tutorial")),
    org_id_column(),
    Column("tutorial_id", String(50), nullable=False),
    flag_column("completed"),
    timestamp_column("completed_at"),
    flag_column("skipped"),
    timestamp_column("skipped_at"),
    Column("replay_count", Integer, nullable=False, server_default=text("0")),
    timestamp_column("last_viewed_at"),
    Column("steps_completed", Integer, nullable=False, server_default=text("0")),
    Column("total_steps", Integer, nullable=False),
    created_at_column(),
)
SCHEMA_ONLY[onboarding_tutorial_completion.name] = lambda: (
    UniqueConstraint("organization_id", "tutorial_id", name="uq_org_tutorial"),
    CheckConstraint("total_steps > 0", name="total_steps_positive"),
    CheckConstraint("steps_completed >= 0 AND steps_completed <= total_steps", name="steps_range"),
    CheckConstraint("NOT (completed AND skipped)", name="completed_xor_skipped"),
    CheckConstraint("replay_count >= 0", name="replay_count_non_negative"),
    Index("idx_org_tutorial", "organization_id", "tutorial_id"),
    Index("idx_completion_status", "organization_id", "completed"),
)
