"""Baseline: minimal SignUpFlow host tables, created only where they do not exist yet.

On a real SignUpFlow database the host tables exist and are left alone, except that `is_sample` is
added to people/teams/events where missing (a metadata-only change since PostgreSQL 11). Tables this
migration creates carry a comment, and only those are dropped on downgrade.

Revision ID: 0001_host_baseline
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_host_baseline"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MARKER = "minimal host table created by signupflow-onboarding baseline migration"
TABLES_WITH_SAMPLE_FLAG = ("people", "teams", "events")


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.String(50), nullable=False)


def _org_id(table: str) -> sa.Column[str]:
    return sa.Column(
        "org_id",
        sa.String(50),
        sa.ForeignKey("organizations.id", ondelete="CASCADE", name=f"fk_{table}_org_id_organizations"),
        nullable=False,
    )


def _is_sample() -> sa.Column[bool]:
    return sa.Column("is_sample", sa.Boolean(), server_default=sa.false(), nullable=False)


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())

    def create(name: str, *columns: sa.schema.SchemaItem) -> bool:
        if name in existing:
            return False
        op.create_table(name, *columns, sa.PrimaryKeyConstraint("id", name=f"pk_{name}"), comment=MARKER)
        return True

    create(
        "organizations",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    if create(
        "people",
        _id(),
        _org_id("people"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("roles", sa.Text(), nullable=True),
        _is_sample(),
    ):
        op.create_index("ix_people_org_id_is_sample", "people", ["org_id", "is_sample"])
    if create(
        "teams", _id(), _org_id("teams"), sa.Column("name", sa.String(200), nullable=False), _is_sample()
    ):
        op.create_index("ix_teams_org_id_is_sample", "teams", ["org_id", "is_sample"])
    if create(
        "events",
        _id(),
        _org_id("events"),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        _is_sample(),
    ):
        op.create_index("ix_events_org_id_is_sample", "events", ["org_id", "is_sample"])
    if create(
        "event_assignments",
        _id(),
        sa.Column(
            "event_id",
            sa.String(50),
            sa.ForeignKey("events.id", ondelete="CASCADE", name="fk_event_assignments_event_id_events"),
            nullable=False,
        ),
        sa.Column(
            "person_id",
            sa.String(50),
            sa.ForeignKey("people.id", ondelete="CASCADE", name="fk_event_assignments_person_id_people"),
            nullable=False,
        ),
        sa.Column("role", sa.String(100), nullable=True),
    ):
        op.create_index("ix_event_assignments_event_id", "event_assignments", ["event_id"])
        op.create_index("ix_event_assignments_person_id", "event_assignments", ["person_id"])

    inspector = sa.inspect(op.get_bind())
    for table in TABLES_WITH_SAMPLE_FLAG:
        # ALTER TABLE needs the table's owner even when the column exists: a host that added the column
        # itself (as the owner) lets a migrations user that does not own its tables run this.
        if table in existing and "is_sample" not in {c["name"] for c in inspector.get_columns(table)}:
            op.execute(f"ALTER TABLE {table} ADD COLUMN is_sample BOOLEAN NOT NULL DEFAULT FALSE")


def downgrade() -> None:
    bind = op.get_bind()
    for table in ("event_assignments", "events", "teams", "people", "organizations"):
        comment = bind.execute(
            sa.text("SELECT obj_description(to_regclass(:name), 'pg_class')"), {"name": table}
        ).scalar()
        if comment == MARKER:
            op.drop_table(table)
