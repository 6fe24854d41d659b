"""SQLAlchemy 2 typed models: the four onboarding tables of data-model.md plus the host tables they use.

Fixes over the seed document: JSONB instead of JSON, TIMESTAMPTZ instead of naive TIMESTAMP, ids that
cannot collide (`ids`), server-side defaults for every default, and its "future" check constraints now.
"""

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from onboarding.ids import id_default

# Deterministic constraint names, so migrations and models agree and downgrades can name what they drop.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Marks host tables that the baseline migration created itself (and may therefore drop on downgrade).
BASELINE_TABLE_COMMENT = "minimal host table created by signupflow-onboarding baseline migration"

EMPTY_JSON_OBJECT = text("'{}'::jsonb")
EMPTY_JSON_ARRAY = text("'[]'::jsonb")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSONB,
        list[str]: JSONB,
    }


# --- Host tables (SignUpFlow's own; the baseline migration creates minimal versions where missing) ---


class Organization(Base):
    __tablename__ = "organizations"
    __table_args__ = {"comment": BASELINE_TABLE_COMMENT}

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (
        Index(None, "org_id", "is_sample"),
        {"comment": BASELINE_TABLE_COMMENT},
    )

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(50), ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    # Free text in SignUpFlow (the seed matches it with LIKE '%volunteer%'); counters cast it to text,
    # so a JSON array column in the host schema works the same.
    roles: Mapped[str | None] = mapped_column(Text)
    is_sample: Mapped[bool] = mapped_column(Boolean, server_default=false())


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (
        Index(None, "org_id", "is_sample"),
        {"comment": BASELINE_TABLE_COMMENT},
    )

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(50), ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    is_sample: Mapped[bool] = mapped_column(Boolean, server_default=false())


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index(None, "org_id", "is_sample"),
        {"comment": BASELINE_TABLE_COMMENT},
    )

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(50), ForeignKey("organizations.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    start_time: Mapped[datetime]
    end_time: Mapped[datetime]
    is_sample: Mapped[bool] = mapped_column(Boolean, server_default=false())


class EventAssignment(Base):
    __tablename__ = "event_assignments"
    __table_args__ = (
        Index(None, "event_id"),
        Index(None, "person_id"),
        {"comment": BASELINE_TABLE_COMMENT},
    )

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(50), ForeignKey("events.id", ondelete="CASCADE"))
    person_id: Mapped[str] = mapped_column(String(50), ForeignKey("people.id", ondelete="CASCADE"))
    role: Mapped[str | None] = mapped_column(String(100))


HOST_TABLES = ("organizations", "people", "teams", "events", "event_assignments")


# --- Onboarding tables ---


class OnboardingState(Base):
    __tablename__ = "onboarding_state"
    __table_args__ = (
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

    id: Mapped[str] = mapped_column(String(50), primary_key=True, server_default=id_default("onboard"))
    organization_id: Mapped[str] = mapped_column(
        String(50), ForeignKey("organizations.id", ondelete="CASCADE"), unique=True
    )
    wizard_completed: Mapped[bool] = mapped_column(server_default=false())
    wizard_current_step: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    wizard_step_data: Mapped[dict[str, Any]] = mapped_column(server_default=EMPTY_JSON_OBJECT)
    sample_data_generated: Mapped[bool] = mapped_column(server_default=false())
    # The size generated (migration 0010); NULL when there is none.
    sample_data_size: Mapped[str | None] = mapped_column(String(20))
    sample_data_generated_at: Mapped[datetime | None]
    sample_data_expiry: Mapped[datetime | None]
    sample_data_cleared: Mapped[bool] = mapped_column(server_default=false())
    checklist_progress: Mapped[dict[str, Any]] = mapped_column(server_default=EMPTY_JSON_OBJECT)
    # Active tasks `checklist_progress` marks completed, set by a database trigger whenever the progress
    # is written (migration 0007): the analysts' completion rate reads this, not the JSON.
    checklist_completed_count: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    features_unlocked: Mapped[list[str]] = mapped_column(server_default=EMPTY_JSON_ARRAY)
    show_all_features: Mapped[bool] = mapped_column(server_default=false())
    skipped: Mapped[bool] = mapped_column(server_default=false())
    skipped_at: Mapped[datetime | None]
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    completed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # The organization's variant of each experiment active when it started onboarding (migration 0006):
    # {"<experiment id>": {"variant": "<variant id>", "source": "hash" | "client"}}, assigned once.
    experiments: Mapped[dict[str, Any]] = mapped_column(server_default=EMPTY_JSON_OBJECT)


class OnboardingChecklistTask(Base):
    __tablename__ = "onboarding_checklist_task"
    __table_args__ = (
        CheckConstraint("priority_order > 0", name="priority_order_positive"),
        CheckConstraint("jsonb_typeof(completion_criteria) = 'object'", name="criteria_is_object"),
        Index("idx_priority_order", "priority_order", "is_active"),
    )

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    title_key: Mapped[str] = mapped_column(String(100))
    description_key: Mapped[str] = mapped_column(String(100))
    # Structured criteria (see `checklist`); never SQL text: the service runs no SQL read from a table.
    completion_criteria: Mapped[dict[str, Any]]
    priority_order: Mapped[int]
    icon: Mapped[str | None] = mapped_column(String(50))
    quick_action_url: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(server_default=true())
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


# Experiment and variant ids: snake_case names (migration 0006 holds the table to them too).
EXPERIMENT_ID_PATTERN = r"^[a-z][a-z0-9_]{0,49}$"


class OnboardingExperiment(Base):
    """An A/B experiment of the onboarding: its variants and their weights (`experiments`, migration 0006)."""

    __tablename__ = "onboarding_experiment"
    __table_args__ = (
        CheckConstraint(f"id ~ '{EXPERIMENT_ID_PATTERN}'", name="id_format"),
        CheckConstraint(
            "jsonb_typeof(variants) = 'array' AND jsonb_array_length(variants) BETWEEN 2 AND 10"
            " AND NOT jsonb_path_exists(variants, '$[*] ? (!exists(@.id) || !exists(@.weight)"
            ' || @.id.type() != "string" || @.weight.type() != "number" || @.weight < 1 || @.weight > 1000'
            f' || @.weight.floor() != @.weight || !(@.id like_regex "{EXPERIMENT_ID_PATTERN}"))\')',
            name="variants_well_formed",
        ),
    )

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    description: Mapped[str] = mapped_column(String(500), server_default=text("''"))
    # [{"id": "<variant>", "weight": 1-1000}, ...]: 2-10 variants, the first the baseline of comparisons.
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    is_active: Mapped[bool] = mapped_column(server_default=true())
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class OnboardingTutorialCompletion(Base):
    __tablename__ = "onboarding_tutorial_completion"
    __table_args__ = (
        UniqueConstraint("organization_id", "tutorial_id", name="uq_org_tutorial"),
        CheckConstraint("total_steps > 0", name="total_steps_positive"),
        CheckConstraint("steps_completed >= 0 AND steps_completed <= total_steps", name="steps_range"),
        CheckConstraint("NOT (completed AND skipped)", name="completed_xor_skipped"),
        CheckConstraint("replay_count >= 0", name="replay_count_non_negative"),
        Index("idx_org_tutorial", "organization_id", "tutorial_id"),
        Index("idx_completion_status", "organization_id", "completed"),
    )

    id: Mapped[str] = mapped_column(String(50), primary_key=True, server_default=id_default("tutorial"))
    organization_id: Mapped[str] = mapped_column(
        String(50), ForeignKey("organizations.id", ondelete="CASCADE")
    )
    tutorial_id: Mapped[str] = mapped_column(String(50))
    completed: Mapped[bool] = mapped_column(server_default=false())
    completed_at: Mapped[datetime | None]
    skipped: Mapped[bool] = mapped_column(server_default=false())
    skipped_at: Mapped[datetime | None]
    replay_count: Mapped[int] = mapped_column(server_default=text("0"))
    last_viewed_at: Mapped[datetime | None]
    steps_completed: Mapped[int] = mapped_column(server_default=text("0"))
    total_steps: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class _MetricColumns:
    """The columns of a metric row, shared by the live table and its archive (same order: the archive
    job copies whole rows)."""

    id: Mapped[str] = mapped_column(String(50), primary_key=True, server_default=id_default("metric"))
    organization_id: Mapped[str] = mapped_column(
        String(50), ForeignKey("organizations.id", ondelete="CASCADE")
    )
    client_event_id: Mapped[UUID | None] = mapped_column(PG_UUID(as_uuid=True))
    event_type: Mapped[str] = mapped_column(String(50))
    event_data: Mapped[dict[str, Any]] = mapped_column(server_default=EMPTY_JSON_OBJECT)
    completion_time_minutes: Mapped[int | None]
    step_duration_seconds: Mapped[int | None]
    wizard_step_reached: Mapped[int | None]
    wizard_step_dropped: Mapped[int | None]
    user_agent: Mapped[str | None] = mapped_column(String(500))
    session_id: Mapped[str | None] = mapped_column(String(50))
    # Part of the primary key: PostgreSQL wants the partition key in every unique constraint.
    timestamp: Mapped[datetime] = mapped_column(primary_key=True, server_default=func.now())
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())


class OnboardingMetric(_MetricColumns, Base):
    """Analytics events, range-partitioned by month on `timestamp` (migration 0008; the partitions are
    kept by `metric_partitions`: next months ahead, a default partition, the archive after 12 months)."""

    __tablename__ = "onboarding_metric"
    __table_args__ = (
        # The seed's chk_positive_duration, split per column so either may be NULL independently.
        CheckConstraint("step_duration_seconds >= 0", name="step_duration_non_negative"),
        CheckConstraint("completion_time_minutes >= 0", name="completion_time_non_negative"),
        CheckConstraint("wizard_step_reached BETWEEN 1 AND 5", name="step_reached_range"),
        CheckConstraint("wizard_step_dropped BETWEEN 1 AND 5", name="step_dropped_range"),
        # Idempotent ingestion: a client event id is stored once per org (NULL for service-emitted rows).
        # The partition key must be part of it; `client_metrics` finds resends with another timestamp.
        UniqueConstraint(
            "organization_id", "client_event_id", "timestamp", name="uq_metric_org_client_event"
        ),
        Index("idx_org_events", "organization_id", "event_type"),
        Index("idx_event_timestamp", "event_type", "timestamp"),
        Index("idx_drop_off", "wizard_step_dropped"),
        # Export pages in keyset order (migration 0004_api2).
        Index("idx_metric_org_timestamp", "organization_id", "timestamp", "id"),
        {"postgresql_partition_by": "RANGE (timestamp)"},
    )


class OnboardingMetricArchive(_MetricColumns, Base):
    """Metric rows older than 12 months, moved out of `onboarding_metric` by the nightly maintenance
    (`metric_partitions`). Not read by analytics; part of the organization's export; deleted with it."""

    __tablename__ = "onboarding_metric_archive"
    __table_args__ = (Index("idx_metric_archive_org_timestamp", "organization_id", "timestamp", "id"),)


class OnboardingMetricQuota(Base):
    """How many client metric events an organization sent today (UTC): the daily cap of `metric_quota`.
    One row per organization, reset by the first batch of a new day (migration 0009_metric_quota)."""

    __tablename__ = "onboarding_metric_quota"
    __table_args__ = (CheckConstraint("events >= 0", name="events_non_negative"),)

    organization_id: Mapped[str] = mapped_column(
        String(50), ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date]
    events: Mapped[int]


class OnboardingMetricEventKey(Base):
    """The client event ids an organization sent recently, one row each: what makes
    `POST /v1/onboarding/metrics` idempotent (`client_metrics`). `onboarding_metric` is partitioned on
    `timestamp`, so its own unique key must include it and cannot find a resend stamped anew; this
    table, not partitioned, can: the ingest statement inserts a batch's keys here with `ON CONFLICT DO
    NOTHING` (a probe of the primary key per event) and stores the metric rows of the keys that were
    new. `timestamp` is that of the stored row. Kept for the resend window: the nightly maintenance
    deletes older keys (`metric_partitions.delete_expired_event_keys`). Deleted with the organization
    by a trigger on `onboarding_state` instead of a foreign key, whose check per inserted key cost
    ~7 % of an ingest (migration 0013_metric_event_keys)."""

    __tablename__ = "onboarding_metric_event_key"

    organization_id: Mapped[str] = mapped_column(String(50), primary_key=True)
    client_event_id: Mapped[UUID] = mapped_column(PG_UUID(as_uuid=True), primary_key=True)
    timestamp: Mapped[datetime]


class OnboardingReportViews(Base):
    """Each organization's `view_reports` events: how many, and the earliest timestamps (ascending, up to
    ten). Kept by a trigger on `onboarding_metric` (migration 0012_report_views), so the checklist
    reads them by key instead of scanning the metric partitions. One row per organization that has
    any; archived metrics stay counted; deleted with the organization."""

    __tablename__ = "onboarding_report_views"
    __table_args__ = (CheckConstraint("events > 0", name="events_positive"),)

    organization_id: Mapped[str] = mapped_column(
        String(50), ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    events: Mapped[int] = mapped_column(BigInteger)
    first_at: Mapped[list[datetime]] = mapped_column(ARRAY(DateTime(timezone=True)))


class OutboxEvent(Base):
    """A domain event written in the transaction that caused it, published to EventBridge after commit.

    No foreign key to organizations, on purpose: an event records something that already happened, so
    deleting the organization must neither block (RESTRICT) nor silently drop (CASCADE) an event that
    is still waiting to be published. Details carry ids, counts and timestamps only (no PII), and sent
    rows are deleted after OUTBOX_RETENTION_DAYS.
    """

    __tablename__ = "onboarding_outbox"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        CheckConstraint("jsonb_typeof(detail) = 'object'", name="detail_is_object"),
        # Publishers scan only pending rows, oldest first; the index stays as small as the backlog.
        Index("idx_outbox_pending", "created_at", "id", postgresql_where=text("sent_at IS NULL")),
        # Retention clean-up of sent rows.
        Index("idx_outbox_sent_at", "sent_at", postgresql_where=text("sent_at IS NOT NULL")),
    )

    id: Mapped[str] = mapped_column(String(50), primary_key=True, server_default=id_default("outbox"))
    event_type: Mapped[str] = mapped_column(String(50))
    organization_id: Mapped[str] = mapped_column(String(50))
    detail: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(String(500))
