"""The onboarding tables, as Core tables: the service reads and writes them only in Core statements
(the state, metrics, the outbox, the experiments' definitions, the checklist's tasks and the
report-views rollup). The tables only some functions use are in `tutorial_tables` (tutorial progress)
and `metric_tables` (the metric archive, the ingest's quota and event keys), so that the others do not
build them at their cold start.

A Core `Table` costs about a quarter of a mapped class at a cold start (bench/README.md, "Cold start").
The ORM classes over the same tables (`models_state`, `models_metrics`, ..., gathered by
`onboarding.models`) are for the tests and tools that write rows as objects; their docstrings say
what each table holds. The service maps no class at a cold start (`tests/test_function_imports.py`).

Each `Table` holds what statements need: columns, types, defaults, primary, unique and foreign keys.
A table's CHECK constraints, indexes and named unique constraints follow it in `SCHEMA_ONLY[...]`:
only DDL reads them (migrations, the schema drift test, tools), so they are built when
`onboarding.models` calls `add_schema_only_objects()`, not at a function's cold start (~2 ms of the
onboarding function's; bench/README.md, "Cold start"). The database has them all, from the migrations.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID

from onboarding.ids import EXPERIMENT_ID_PATTERN, id_default
from onboarding.schema import EMPTY_JSON_ARRAY, EMPTY_JSON_OBJECT, METADATA, SCHEMA_ONLY


def created_at_column() -> Column[datetime]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


def timestamp_column(name: str) -> Column[datetime]:
    return Column(name, DateTime(timezone=True))


def flag_column(name: str, default: bool = False) -> Column[bool]:
    return Column(name, Boolean, nullable=False, server_default=true() if default else false())


def org_id_column(*, unique: bool = False, primary_key: bool = False) -> Column[str]:
    return Column(
        "organization_id",
        String(50),
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
        unique=unique,
        primary_key=primary_key,
    )


# The onboarding state of each organization (`state`).
onboarding_state = Table(
    "onboarding_state",
    METADATA,
    Column("id", String(50), primary_key=True, server_default=id_default("onboard")),
    org_id_column(unique=True),
    flag_column("wizard_completed"),
    Column("wizard_current_step", Integer, nullable=False, server_default=text("1")),
    Column("wizard_step_data", JSONB, nullable=False, server_default=EMPTY_JSON_OBJECT),
    flag_column("sample_data_generated"),
    # The size generated (migration 0010); NULL when there is none.
    Column("sample_data_size", String(20)),
    timestamp_column("sample_data_generated_at"),
    timestamp_column("sample_data_expiry"),
    flag_column("sample_data_cleared"),
    Column("checklist_progress", JSONB, nullable=False, server_default=EMPTY_JSON_OBJECT),
    # Active tasks `checklist_progress` marks completed, set by a database trigger whenever the progress
    # is written (migration 0007): the analysts' completion rate reads this, not the JSON.
    Column("checklist_completed_count", SmallInteger, nullable=False, server_default=text("0")),
    Column("features_unlocked", JSONB, nullable=False, server_default=EMPTY_JSON_ARRAY),
    flag_column("show_all_features"),
    flag_column("skipped"),
    timestamp_column("skipped_at"),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    timestamp_column("completed_at"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The organization's variant of each experiment active when it started onboarding (migration 0006):
    # {"<experiment id>": {"variant": "<variant id>", "source": "hash" | "client"}}, assigned once.
    Column("experiments", JSONB, nullable=False, server_default=EMPTY_JSON_OBJECT),
)
SCHEMA_ONLY[onboarding_state.name] = lambda: (
    CheckConstraint("wizard_current_step BETWEEN 1 AND 5", name="wizard_step_range"),
    CheckConstraint("NOT (wizard_completed AND skipped)", name="completed_xor_skipped"),
    CheckConstraint("(skipped_at IS NOT NULL) = skipped", name="skipped_at_matches_flag"),
    CheckConstraint(
        "NOT sample_data_generated"
        " OR (sample_data_generated_at IS NOT NULL AND sample_data_expiry IS NOT NULL)",
        name="sample_data_dates_when_generated",
    ),
    CheckConstraint(
        "sample_data_size IN ('minimal', 'standard', 'comprehensive')", name="sample_data_size_known"
    ),
    CheckConstraint("jsonb_typeof(experiments) = 'object'", name="experiments_is_object"),
    CheckConstraint("checklist_completed_count >= 0", name="checklist_completed_count_non_negative"),
    Index("idx_org_wizard_state", "organization_id", "wizard_completed"),
    Index("idx_sample_data_expiry", "sample_data_expiry"),
    # Analysts' completion rate: an index-only scan over small tuples (migration 0007).
    Index(
        "idx_state_started_progress",
        "started_at",
        postgresql_include=["wizard_completed", "skipped", "checklist_completed_count"],
    ),
    # Analysts' incomplete-organizations list (migration 0004_api2).
    Index(
        "idx_state_incomplete_started",
        "started_at",
        "organization_id",
        postgresql_where=text("NOT wizard_completed AND NOT skipped"),
    ),
)


def metric_columns() -> list[Column[Any]]:
    """The columns of a metric row, shared by the live table and its archive (same order: the archive
    job copies whole rows)."""
    return [
        Column("id", String(50), primary_key=True, server_default=id_default("metric")),
        org_id_column(),
        Column("client_event_id", PG_UUID(as_uuid=True)),
        Column("event_type", String(50), nullable=False),
        Column("event_data", JSONB, nullable=False, server_default=EMPTY_JSON_OBJECT),
        Column("completion_time_minutes", Integer),
        Column("step_duration_seconds", Integer),
        Column("wizard_step_reached", Integer),
        Column("wizard_step_dropped", Integer),
        Column("user_agent", String(500)),
        Column("session_id", String(50)),
        # Part of the primary key: PostgreSQL wants the partition key in every unique constraint.
        Column("timestamp", DateTime(timezone=True), primary_key=True, server_default=func.now()),
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


# Analytics events, range-partitioned by month on `timestamp` (migration 0008; `metric_partitions`).
onboarding_metric = Table(
    "onboarding_metric",
    METADATA,
    *metric_columns(),
    postgresql_partition_by="RANGE (timestamp)",
)
SCHEMA_ONLY[onboarding_metric.name] = lambda: (
    # The seed's chk_positive_duration, split per column so either may be NULL independently.
    CheckConstraint("step_duration_seconds >= 0", name="step_duration_non_negative"),
    CheckConstraint("completion_time_minutes >= 0", name="completion_time_non_negative"),
    CheckConstraint("wizard_step_reached BETWEEN 1 AND 5", name="step_reached_range"),
    CheckConstraint("wizard_step_dropped BETWEEN 1 AND 5", name="step_dropped_range"),
    # Idempotent ingestion: a client event id is stored once per org (NULL for service-emitted rows).
    # The partition key must be part of it; `client_metrics` finds resends with another timestamp.
    UniqueConstraint("organization_id", "client_event_id", "timestamp", name="uq_metric_org_client_event"),
    Index("idx_org_events", "organization_id", "event_type"),
    Index("idx_event_timestamp", "event_type", "timestamp"),
    Index("idx_drop_off", "wizard_step_dropped"),
    # Export pages in keyset order (migration 0004_api2).
    Index("idx_metric_org_timestamp", "organization_id", "timestamp", "id"),
)


# Domain events, written in the transaction that caused them and published after commit (`outbox`,
# `publisher`). No foreign key to organizations, on purpose: see `models_outbox.OutboxEvent`.
onboarding_outbox = Table(
    "onboarding_outbox",
    METADATA,
    Column("id", String(50), primary_key=True, server_default=id_default("outbox")),
    Column("event_type", String(50), nullable=False),
    Column("organization_id", String(50), nullable=False),
    Column("detail", JSONB, nullable=False),
    created_at_column(),
    Column("sent_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", String(500)),
)
SCHEMA_ONLY[onboarding_outbox.name] = lambda: (
    CheckConstraint("attempts >= 0", name="attempts_non_negative"),
    CheckConstraint("jsonb_typeof(detail) = 'object'", name="detail_is_object"),
    # Publishers scan only pending rows, oldest first; the index stays as small as the backlog.
    Index("idx_outbox_pending", "created_at", "id", postgresql_where=text("sent_at IS NULL")),
    # Retention clean-up of sent rows.
    Index("idx_outbox_sent_at", "sent_at", postgresql_where=text("sent_at IS NOT NULL")),
)

# A/B experiments: their variants and weights (`experiments`, migration 0006).
onboarding_experiment = Table(
    "onboarding_experiment",
    METADATA,
    Column("id", String(50), primary_key=True),
    Column("description", String(500), nullable=False, server_default=text("''")),
    # [{"id": "<variant>", "weight": 1-1000}, ...]: 2-10 variants, the first the baseline of comparisons.
    Column("variants", JSONB, nullable=False),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    created_at_column(),
)
SCHEMA_ONLY[onboarding_experiment.name] = lambda: (
    CheckConstraint(f"id ~ '{EXPERIMENT_ID_PATTERN}'", name="id_format"),
    CheckConstraint(
        "jsonb_typeof(variants) = 'array' AND jsonb_array_length(variants) BETWEEN 2 AND 10"
        " AND NOT jsonb_path_exists(variants, '$[*] ? (!exists(@.id) || !exists(@.weight)"
        ' || @.id.type() != "string" || @.weight.type() != "number" || @.weight < 1 || @.weight > 1000'
        f' || @.weight.floor() != @.weight || !(@.id like_regex "{EXPERIMENT_ID_PATTERN}"))\')',
        name="variants_well_formed",
    ),
)

# The checklist's task catalogue (`checklist`).
onboarding_checklist_task = Table(
    "onboarding_checklist_task",
    METADATA,
    Column("id", String(50), primary_key=True),
    Column("title_key", String(100), nullable=False),
    Column("description_key", String(100), nullable=False),
    # Structured criteria (see `checklist`); never SQL text: the service runs no SQL read from a table.
    Column("completion_criteria", JSONB, nullable=False),
    Column("priority_order", Integer, nullable=False),
    Column("icon", String(50)),
    Column("quick_action_url", String(200)),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    created_at_column(),
)
SCHEMA_ONLY[onboarding_checklist_task.name] = lambda: (
    CheckConstraint("priority_order > 0", name="priority_order_positive"),
    CheckConstraint("jsonb_typeof(completion_criteria) = 'object'", name="criteria_is_object"),
    Index("idx_priority_order", "priority_order", "is_active"),
)

# Each organization's `view_reports` events, kept by a trigger (migration 0012_report_views).
onboarding_report_views = Table(
    "onboarding_report_views",
    METADATA,
    Column(
        "organization_id",
        String(50),
        ForeignKey("organizations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("events", BigInteger, nullable=False),
    Column("first_at", ARRAY(DateTime(timezone=True)), nullable=False),
)
SCHEMA_ONLY[onboarding_report_views.name] = lambda: (CheckConstraint("events > 0", name="events_positive"),)
