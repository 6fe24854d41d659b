"""onboarding_metric range-partitioned by month on `timestamp`; onboarding_metric_archive.

data-model.md: "partition by timestamp (monthly) after 1M+ records; archive metrics older than 12 months
to a separate table". PostgreSQL wants the partition key in every unique constraint, so the primary key
becomes (id, timestamp) and the idempotency key (organization_id, client_event_id, timestamp); the
ingestion finds resends that carry another timestamp itself (`onboarding.client_metrics`).

Two ways through, chosen by what the table holds:

- **Empty** (a new installation, the tests): the table is dropped and created partitioned, with the
  partitions of the previous, current and next three months and a DEFAULT partition.
- **Populated**: the table is not copied. It becomes the partition `onboarding_metric_legacy` of the
  new partitioned table, covering everything before a boundary (the first day of next month), and the
  months from the boundary on get partitions of their own. Attaching it is metadata only when its
  unique indexes on (id, timestamp) and (organization_id, client_event_id, timestamp) and a validated
  CHECK ("timestamp" < boundary) exist beforehand: the migrations function's `prepare_metric_partitioning`
  action builds them online (CREATE INDEX CONCURRENTLY, CHECK ... NOT VALID then VALIDATE), and the
  upgrade then holds its locks for milliseconds. Without that preparation the upgrade builds them
  itself, inside its transaction: writes to the table wait for the index builds, reads and writes for
  the CHECK's scan (docs/metrics-at-scale.md has the durations measured at 1 M and 10 M rows). The
  legacy partition is archived whole once its newest possible row is 12 months old.

Downgrade: back to one plain table, every row of the partitions and of the archive copied into it
by one INSERT ... SELECT, its keys and indexes built after the copy (the whole table is locked for it).

Revision ID: 0008_metric_partitions
Revises: 0007_checklist_count
Create Date: 2026-11-29
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008_metric_partitions"
down_revision: str | None = "0007_checklist_count"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)
NOW = sa.text("now()")
EMPTY_OBJECT = sa.text("'{}'::jsonb")
# Same shape as onboarding.ids.id_default (frozen here: migrations must not change with the code).
METRIC_ID = "('metric_'::text || replace((gen_random_uuid())::text, '-'::text, ''::text))"

LEGACY = "onboarding_metric_legacy"
DEFAULT = "onboarding_metric_default"
ARCHIVE = "onboarding_metric_archive"
# The comment the maintenance puts on a partition it detached and has not yet archived (frozen here).
DETACHED_COMMENT = "onboarding_metric partition detached for onboarding_metric_archive"
# What `prepare_metric_partitioning` builds online (onboarding.metric_partitions; names frozen here).
LEGACY_PRIMARY_KEY = "onboarding_metric_legacy_pkey"
LEGACY_CLIENT_EVENT_KEY = "onboarding_metric_legacy_client_event_key"
LEGACY_BOUND = "onboarding_metric_legacy_bound"
MONTHS_BEFORE, MONTHS_AHEAD = 1, 3

# 0002 created the check constraints through the naming convention twice over; the partitioned table
# (and the model) use the plain names. (old, new) pairs.
CHECK_NAMES = (
    (
        "ck_onboarding_metric_ck_onboarding_metric_completion_ti_0c9d",
        "ck_onboarding_metric_completion_time_non_negative",
    ),
    (
        "ck_onboarding_metric_ck_onboarding_metric_step_dropped_range",
        "ck_onboarding_metric_step_dropped_range",
    ),
    (
        "ck_onboarding_metric_ck_onboarding_metric_step_duration_d318",
        "ck_onboarding_metric_step_duration_non_negative",
    ),
    (
        "ck_onboarding_metric_ck_onboarding_metric_step_reached_range",
        "ck_onboarding_metric_step_reached_range",
    ),
)
CHECKS = (
    ("completion_time_minutes >= 0", "completion_time_non_negative"),
    ("wizard_step_dropped BETWEEN 1 AND 5", "step_dropped_range"),
    ("step_duration_seconds >= 0", "step_duration_non_negative"),
    ("wizard_step_reached BETWEEN 1 AND 5", "step_reached_range"),
)
# The plain table's secondary indexes (0002, 0004), kept on the partitioned table: (name, columns).
INDEXES = (
    ("idx_org_events", ["organization_id", "event_type"]),
    ("idx_event_timestamp", ["event_type", "timestamp"]),
    ("idx_drop_off", ["wizard_step_dropped"]),
    ("idx_metric_org_timestamp", ["organization_id", "timestamp", "id"]),
)


def _metric_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.String(50), server_default=sa.text(METRIC_ID), nullable=False),
        sa.Column("organization_id", sa.String(50), nullable=False),
        sa.Column("client_event_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("event_type", sa.String(50), nullable=False),
        sa.Column("event_data", postgresql.JSONB(), server_default=EMPTY_OBJECT, nullable=False),
        sa.Column("completion_time_minutes", sa.Integer(), nullable=True),
        sa.Column("step_duration_seconds", sa.Integer(), nullable=True),
        sa.Column("wizard_step_reached", sa.Integer(), nullable=True),
        sa.Column("wizard_step_dropped", sa.Integer(), nullable=True),
        sa.Column("user_agent", sa.String(500), nullable=True),
        sa.Column("session_id", sa.String(50), nullable=True),
        sa.Column("timestamp", TZ, server_default=NOW, nullable=False),
        sa.Column("received_at", TZ, server_default=NOW, nullable=False),
    ]


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["organization_id"],
        ["organizations.id"],
        ondelete="CASCADE",
        name=f"fk_{table}_organization_id_organizations",
    )


def _month(moment: datetime, months: int = 0) -> datetime:
    """The first instant (UTC) of the month `months` after `moment`'s."""
    index = moment.year * 12 + moment.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def _literal(moment: datetime) -> str:
    return f"'{moment.isoformat()}'"


def _month_tables(first: datetime, count: int) -> list[tuple[str, datetime, datetime]]:
    """(name, lower, upper) of `count` monthly partitions from `first`'s month."""
    months = [(_month(first, offset), _month(first, offset + 1)) for offset in range(count)]
    return [
        (f"onboarding_metric_y{lower.year:04d}m{lower.month:02d}", lower, upper) for lower, upper in months
    ]


def _create_standalone(name: str) -> None:
    """A table shaped like the partitioned table (its check constraints by the same names), to be
    attached later: made before the upgrade takes its locks, so that they cover metadata only."""
    op.create_table(
        name,
        *_metric_columns(),
        *(
            sa.CheckConstraint(check, name=op.f(f"ck_onboarding_metric_{check_name}"))
            for check, check_name in CHECKS
        ),
    )


def _create_partitioned_parent() -> None:
    op.create_table(
        "onboarding_metric",
        *_metric_columns(),
        sa.PrimaryKeyConstraint("id", "timestamp", name="pk_onboarding_metric"),
        sa.UniqueConstraint(
            "organization_id", "client_event_id", "timestamp", name="uq_metric_org_client_event"
        ),
        _org_fk("onboarding_metric"),
        *(sa.CheckConstraint(check, name=op.f(f"ck_onboarding_metric_{name}")) for check, name in CHECKS),
        postgresql_partition_by="RANGE (timestamp)",
    )
    for name, columns in INDEXES:
        op.create_index(name, "onboarding_metric", columns)


def _exists(sql: str, **params: object) -> bool:
    return bool(op.get_bind().scalar(sa.text(f"SELECT EXISTS ({sql})"), params))


def _index_is_valid(name: str) -> bool | None:
    """None when there is no such index; False for an invalid one (an interrupted CONCURRENTLY build)."""
    valid = op.get_bind().scalar(
        sa.text(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE c.relname = :name AND c.relnamespace = current_schema()::regnamespace"
        ),
        {"name": name},
    )
    return None if valid is None else bool(valid)


def _prepared_bound() -> tuple[datetime, bool] | None:
    """The boundary of a CHECK ("timestamp" < boundary) that preparation added, and whether it is valid."""
    row = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT substring(pg_get_constraintdef(oid) FROM $$'([^']+)'$$)::timestamptz, convalidated"
                " FROM pg_constraint WHERE conrelid = 'onboarding_metric'::regclass AND conname = :name"
            ),
            {"name": LEGACY_BOUND},
        )
        .one_or_none()
    )
    return None if row is None else (row[0].astimezone(UTC), bool(row[1]))


def _build_legacy_keys() -> None:
    """The unique indexes the partitioned table's keys need on the existing table: built here (writes
    wait, reads go on) unless preparation built them online."""
    for name, columns in (
        (LEGACY_PRIMARY_KEY, '(id, "timestamp")'),
        (LEGACY_CLIENT_EVENT_KEY, '(organization_id, client_event_id, "timestamp")'),
    ):
        valid = _index_is_valid(name)
        if valid is False:
            op.execute(f"DROP INDEX {name}")
        if not valid:
            op.execute(f"CREATE UNIQUE INDEX {name} ON onboarding_metric {columns}")


def _legacy_boundary(now: datetime) -> datetime:
    prepared = _prepared_bound()
    if prepared is not None:
        return prepared[0]
    # The first day of next month; a month later on a month's last day, so that no existing row (a
    # client event may be stamped up to 5 minutes ahead) can be past it.
    return _month(now + timedelta(days=1), 1)


def _attach_existing_table(boundary: datetime) -> None:
    """Make the populated table the legacy partition of a new partitioned table."""
    prepared = _prepared_bound()
    if prepared is None:
        # Scans the table (under the exclusive lock it takes) so that ATTACH need not.
        op.execute(
            f'ALTER TABLE onboarding_metric ADD CONSTRAINT {LEGACY_BOUND} CHECK ("timestamp" < {_literal(boundary)})'
        )
    elif not prepared[1]:
        op.execute(f"ALTER TABLE onboarding_metric VALIDATE CONSTRAINT {LEGACY_BOUND}")
    op.rename_table("onboarding_metric", LEGACY)
    op.execute(f"ALTER TABLE {LEGACY} DROP CONSTRAINT pk_onboarding_metric")
    op.execute(f"ALTER TABLE {LEGACY} DROP CONSTRAINT uq_metric_org_client_event")
    op.execute(
        f"ALTER TABLE {LEGACY} ADD CONSTRAINT {LEGACY_PRIMARY_KEY} PRIMARY KEY USING INDEX {LEGACY_PRIMARY_KEY}"
    )
    op.execute(
        f"ALTER TABLE {LEGACY} ADD CONSTRAINT {LEGACY_CLIENT_EVENT_KEY} UNIQUE USING INDEX {LEGACY_CLIENT_EVENT_KEY}"
    )
    for name, _columns in INDEXES:  # index names are schema-wide: the partitioned table's take them
        op.execute(f"ALTER INDEX {name} RENAME TO {LEGACY}_{name.removeprefix('idx_')}")
    _create_partitioned_parent()
    # Every index and constraint of the parent finds its equivalent on the table: nothing is built, and
    # the CHECK proves the partition bound, so nothing is scanned either.
    op.execute(
        f"ALTER TABLE onboarding_metric ATTACH PARTITION {LEGACY} FOR VALUES FROM (MINVALUE) TO ({_literal(boundary)})"
    )


def upgrade() -> None:
    bind = op.get_bind()
    now: datetime = bind.execute(sa.select(sa.func.now())).scalar_one().astimezone(UTC)
    populated = _exists("SELECT 1 FROM onboarding_metric")

    # First what takes no lock on onboarding_metric, or one that lets reads through.
    op.create_table(
        ARCHIVE,
        *_metric_columns(),
        sa.PrimaryKeyConstraint("id", "timestamp", name="pk_onboarding_metric_archive"),
        _org_fk(ARCHIVE),
    )
    op.create_index("idx_metric_archive_org_timestamp", ARCHIVE, ["organization_id", "timestamp", "id"])
    if populated:
        _build_legacy_keys()
        boundary = _legacy_boundary(now)
        months = _month_tables(boundary, MONTHS_AHEAD + 1)
    else:
        months = _month_tables(_month(now, -MONTHS_BEFORE), MONTHS_BEFORE + 1 + MONTHS_AHEAD)
    for name, _lower, _upper in months:
        _create_standalone(name)
    # Events whose month has no partition (yet) land there rather than fail; the maintenance moves them.
    _create_standalone(DEFAULT)

    # From here onboarding_metric is locked (ACCESS EXCLUSIVE) until the upgrade commits: metadata only,
    # except the CHECK's scan of a populated table that was not prepared.
    for old, new in CHECK_NAMES:
        if _exists(
            "SELECT 1 FROM pg_constraint WHERE conrelid = 'onboarding_metric'::regclass AND conname = :n",
            n=old,
        ):
            op.execute(f"ALTER TABLE onboarding_metric RENAME CONSTRAINT {old} TO {new}")
    if populated:
        _attach_existing_table(boundary)
    else:
        op.drop_table("onboarding_metric")
        _create_partitioned_parent()
    for name, lower, upper in months:  # empty: their indexes are built and checked in no time
        op.execute(
            f"ALTER TABLE onboarding_metric ATTACH PARTITION {name}"
            f" FOR VALUES FROM ({_literal(lower)}) TO ({_literal(upper)})"
        )
    op.execute(f"ALTER TABLE onboarding_metric ATTACH PARTITION {DEFAULT} DEFAULT")


def downgrade() -> None:
    """Back to one plain table, set-based: the rows copied by one INSERT ... SELECT into a table with
    no index yet, then its keys and indexes built once each (a sort each, not an index insert per row)
    and the foreign key validated by one join (not a lookup per row)."""
    op.rename_table("onboarding_metric", "onboarding_metric_partitioned")
    op.execute(
        "ALTER TABLE onboarding_metric_partitioned RENAME CONSTRAINT pk_onboarding_metric TO pk_onboarding_metric_partitioned"
    )
    op.execute(
        "ALTER TABLE onboarding_metric_partitioned RENAME CONSTRAINT uq_metric_org_client_event TO uq_metric_partitioned_client_event"
    )
    for name, _columns in INDEXES:
        op.execute(f"ALTER INDEX {name} RENAME TO {name}_partitioned")

    # The table of 0002 and 0004, with the names they gave its constraints: checks now, keys after the copy.
    op.create_table(
        "onboarding_metric",
        *_metric_columns(),
        *(
            sa.CheckConstraint(check, name=op.f(old))
            for (check, _name), (old, _new) in zip(CHECKS, CHECK_NAMES, strict=True)
        ),
    )
    every_column = ", ".join(f'"{column.name}"' for column in _metric_columns())
    # Partitions the maintenance detached and had not yet moved to the archive (a stopped run) hold rows
    # too: they come back with the rest.
    detached = (
        op.get_bind()
        .scalars(
            sa.text(
                "SELECT quote_ident(relname) FROM pg_class"
                " WHERE relkind = 'r' AND relnamespace = current_schema()::regnamespace"
                " AND obj_description(oid, 'pg_class') = :comment ORDER BY relname"
            ),
            {"comment": DETACHED_COMMENT},
        )
        .all()
    )
    sources = [ARCHIVE, "onboarding_metric_partitioned", *detached]
    every_row = " UNION ALL ".join(f"SELECT {every_column} FROM {source}" for source in sources)  # noqa: S608
    # Where two rows share a client event id (a resend with another timestamp stored by two concurrent
    # batches, possibly in two months), the oldest stays, as the plain table's unique key would have had
    # it; rows without a client event id (service-emitted) all stay.
    op.execute(
        f"WITH every_row AS MATERIALIZED ({every_row})"  # noqa: S608 (the column and table names above)
        f" INSERT INTO onboarding_metric ({every_column})"
        f" SELECT {every_column} FROM every_row WHERE client_event_id IS NULL"
        " UNION ALL"
        f" SELECT {every_column} FROM (SELECT DISTINCT ON (organization_id, client_event_id) {every_column}"
        "  FROM every_row WHERE client_event_id IS NOT NULL"
        '  ORDER BY organization_id, client_event_id, "timestamp", id) AS first_copy'
    )
    op.create_primary_key("pk_onboarding_metric", "onboarding_metric", ["id"])
    op.create_unique_constraint(
        "uq_metric_org_client_event", "onboarding_metric", ["organization_id", "client_event_id"]
    )
    op.create_foreign_key(
        "fk_onboarding_metric_organization_id_organizations",
        "onboarding_metric",
        "organizations",
        ["organization_id"],
        ["id"],
        ondelete="CASCADE",
    )
    for name, columns in INDEXES:
        op.create_index(name, "onboarding_metric", columns)
    op.drop_table(ARCHIVE)
    op.execute("DROP TABLE onboarding_metric_partitioned")  # and its partitions
    for name in detached:
        op.execute(f"DROP TABLE {name}")
