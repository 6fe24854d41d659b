"""Onboarding tables the service reads and writes only in Core statements, as Core tables: the outbox,
the experiments' definitions, the checklist's tasks and the report-views rollup.

A Core `Table` costs about a quarter of a mapped class at a cold start (bench/README.md, "Cold start").
The ORM classes over the same tables (`models_outbox`, `models_experiments`, `models_checklist`,
`models_report_views`, gathered by `onboarding.models`) are for the tests and tools that write rows as
objects; their docstrings say what each table holds.
"""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from onboarding.ids import EXPERIMENT_ID_PATTERN, id_default
from onboarding.models_base import Base


def _created_at() -> Column[datetime]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


# Domain events, written in the transaction that caused them and published after commit (`outbox`,
# `publisher`). No foreign key to organizations, on purpose: see `models_outbox.OutboxEvent`.
onboarding_outbox = Table(
    "onboarding_outbox",
    Base.metadata,
    Column("id", String(50), primary_key=True, server_default=id_default("outbox")),
    Column("event_type", String(50), nullable=False),
    Column("organization_id", String(50), nullable=False),
    Column("detail", JSONB, nullable=False),
    _created_at(),
    Column("sent_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", String(500)),
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
    Base.metadata,
    Column("id", String(50), primary_key=True),
    Column("description", String(500), nullable=False, server_default=text("''")),
    # [{"id": "<variant>", "weight": 1-1000}, ...]: 2-10 variants, the first the baseline of comparisons.
    Column("variants", JSONB, nullable=False),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    _created_at(),
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
    Base.metadata,
    Column("id", String(50), primary_key=True),
    Column("title_key", String(100), nullable=False),
    Column("description_key", String(100), nullable=False),
    # Structured criteria (see `checklist`); never SQL text: the service runs no SQL read from a table.
    Column("completion_criteria", JSONB, nullable=False),
    Column("priority_order", Integer, nullable=False),
    Column("icon", String(50)),
    Column("quick_action_url", String(200)),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    _created_at(),
    CheckConstraint("priority_order > 0", name="priority_order_positive"),
    CheckConstraint("jsonb_typeof(completion_criteria) = 'object'", name="criteria_is_object"),
    Index("idx_priority_order", "priority_order", "is_active"),
)

# Each organization's `view_reports` events, kept by a trigger (migration 0012_report_views).
onboarding_report_views = Table(
    "onboarding_report_views",
    Base.metadata,
    Column(
        "organization_id",
        String(50),
        ForeignKey("organizations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("events", BigInteger, nullable=False),
    Column("first_at", ARRAY(DateTime(timezone=True)), nullable=False),
    CheckConstraint("events > 0", name="events_positive"),
)
