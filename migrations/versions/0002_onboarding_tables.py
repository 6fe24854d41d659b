"""Onboarding tables of data-model.md (JSONB, TIMESTAMPTZ, collision-free ids, check constraints) and
the six checklist tasks with structured completion criteria.

Revision ID: 0002_onboarding_tables
Revises: 0001_host_baseline
Create Date: 2026-11-24
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_onboarding_tables"
down_revision: str | None = "0001_host_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)
NOW = sa.text("now()")
EMPTY_OBJECT = sa.text("'{}'::jsonb")


def _id(prefix: str) -> sa.Column[str]:
    # Same shape as onboarding.ids.id_default (frozen here: migrations must not change with the code).
    default = f"('{prefix}_'::text || replace((gen_random_uuid())::text, '-'::text, ''::text))"
    return sa.Column("id", sa.String(50), server_default=sa.text(default), nullable=False)


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["organization_id"],
        ["organizations.id"],
        ondelete="CASCADE",
        name=f"fk_{table}_organization_id_organizations",
    )


def _counter(counter: str, threshold: int = 1) -> dict[str, object]:
    return {"type": "database_query", "counter": counter, "operator": ">=", "threshold": threshold}


CHECKLIST_TASKS = [
    (
        "complete_profile",
        {"type": "state_check", "field": "wizard_completed", "value": True},
        1,
        "user-circle",
        "/app/settings/organization",
    ),
    ("create_first_event", _counter("real_events"), 2, "calendar", "/app/events/create"),
    ("add_team", _counter("real_teams"), 3, "users", "/app/teams/create"),
    ("invite_volunteers", _counter("real_volunteers", 3), 4, "user-plus", "/app/people/invite"),
    ("run_first_schedule", _counter("real_assignments"), 5, "check-circle", "/app/solver"),
    ("view_reports", _counter("view_reports_events"), 6, "bar-chart", "/app/reports"),
]


def upgrade() -> None:
    op.create_table(
        "onboarding_state",
        _id("onboard"),
        sa.Column("organization_id", sa.String(50), nullable=False),
        sa.Column("wizard_completed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("wizard_current_step", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("wizard_step_data", postgresql.JSONB(), server_default=EMPTY_OBJECT, nullable=False),
        sa.Column("sample_data_generated", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("sample_data_generated_at", TZ, nullable=True),
        sa.Column("sample_data_expiry", TZ, nullable=True),
        sa.Column("sample_data_cleared", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("checklist_progress", postgresql.JSONB(), server_default=EMPTY_OBJECT, nullable=False),
        sa.Column(
            "features_unlocked", postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
        sa.Column("show_all_features", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("skipped", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("skipped_at", TZ, nullable=True),
        sa.Column("started_at", TZ, server_default=NOW, nullable=False),
        sa.Column("completed_at", TZ, nullable=True),
        sa.Column("updated_at", TZ, server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_onboarding_state"),
        sa.UniqueConstraint("organization_id", name="uq_onboarding_state_organization_id"),
        _org_fk("onboarding_state"),
        sa.CheckConstraint(
            "wizard_current_step BETWEEN 1 AND 5", name="ck_onboarding_state_wizard_step_range"
        ),
        sa.CheckConstraint(
            "NOT (wizard_completed AND skipped)", name="ck_onboarding_state_completed_xor_skipped"
        ),
        sa.CheckConstraint(
            "(skipped_at IS NOT NULL) = skipped", name="ck_onboarding_state_skipped_at_matches_flag"
        ),
        sa.CheckConstraint(
            "NOT sample_data_generated OR (sample_data_generated_at IS NOT NULL AND sample_data_expiry IS NOT NULL)",
            name="ck_onboarding_state_sample_data_dates_when_generated",
        ),
    )
    op.create_index("idx_org_wizard_state", "onboarding_state", ["organization_id", "wizard_completed"])
    op.create_index("idx_sample_data_expiry", "onboarding_state", ["sample_data_expiry"])

    op.create_table(
        "onboarding_checklist_task",
        sa.Column("id", sa.String(50), nullable=False),
        sa.Column("title_key", sa.String(100), nullable=False),
        sa.Column("description_key", sa.String(100), nullable=False),
        sa.Column("completion_criteria", postgresql.JSONB(), nullable=False),
        sa.Column("priority_order", sa.Integer(), nullable=False),
        sa.Column("icon", sa.String(50), nullable=True),
        sa.Column("quick_action_url", sa.String(200), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", TZ, server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_onboarding_checklist_task"),
        sa.CheckConstraint("priority_order > 0", name="ck_onboarding_checklist_task_priority_order_positive"),
        sa.CheckConstraint(
            "jsonb_typeof(completion_criteria) = 'object'",
            name="ck_onboarding_checklist_task_criteria_is_object",
        ),
    )
    op.create_index("idx_priority_order", "onboarding_checklist_task", ["priority_order", "is_active"])

    op.create_table(
        "onboarding_tutorial_completion",
        _id("tutorial"),
        sa.Column("organization_id", sa.String(50), nullable=False),
        sa.Column("tutorial_id", sa.String(50), nullable=False),
        sa.Column("completed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("completed_at", TZ, nullable=True),
        sa.Column("skipped", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("skipped_at", TZ, nullable=True),
        sa.Column("replay_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_viewed_at", TZ, nullable=True),
        sa.Column("steps_completed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("total_steps", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_onboarding_tutorial_completion"),
        sa.UniqueConstraint("organization_id", "tutorial_id", name="uq_org_tutorial"),
        _org_fk("onboarding_tutorial_completion"),
        sa.CheckConstraint("total_steps > 0", name="ck_onboarding_tutorial_completion_total_steps_positive"),
        sa.CheckConstraint(
            "steps_completed >= 0 AND steps_completed <= total_steps",
            name="ck_onboarding_tutorial_completion_steps_range",
        ),
        sa.CheckConstraint(
            "NOT (completed AND skipped)", name="ck_onboarding_tutorial_completion_completed_xor_skipped"
        ),
        sa.CheckConstraint(
            "replay_count >= 0", name="ck_onboarding_tutorial_completion_replay_count_non_negative"
        ),
    )
    op.create_index("idx_org_tutorial", "onboarding_tutorial_completion", ["organization_id", "tutorial_id"])
    op.create_index(
        "idx_completion_status", "onboarding_tutorial_completion", ["organization_id", "completed"]
    )

    op.create_table(
        "onboarding_metric",
        _id("metric"),
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
        sa.PrimaryKeyConstraint("id", name="pk_onboarding_metric"),
        sa.UniqueConstraint("organization_id", "client_event_id", name="uq_metric_org_client_event"),
        _org_fk("onboarding_metric"),
        sa.CheckConstraint(
            "step_duration_seconds >= 0", name="ck_onboarding_metric_step_duration_non_negative"
        ),
        sa.CheckConstraint(
            "completion_time_minutes >= 0", name="ck_onboarding_metric_completion_time_non_negative"
        ),
        sa.CheckConstraint(
            "wizard_step_reached BETWEEN 1 AND 5", name="ck_onboarding_metric_step_reached_range"
        ),
        sa.CheckConstraint(
            "wizard_step_dropped BETWEEN 1 AND 5", name="ck_onboarding_metric_step_dropped_range"
        ),
    )
    op.create_index("idx_org_events", "onboarding_metric", ["organization_id", "event_type"])
    op.create_index("idx_event_timestamp", "onboarding_metric", ["event_type", "timestamp"])
    op.create_index("idx_drop_off", "onboarding_metric", ["wizard_step_dropped"])

    task_table = sa.table(
        "onboarding_checklist_task",
        sa.column("id", sa.String),
        sa.column("title_key", sa.String),
        sa.column("description_key", sa.String),
        sa.column("completion_criteria", postgresql.JSONB),
        sa.column("priority_order", sa.Integer),
        sa.column("icon", sa.String),
        sa.column("quick_action_url", sa.String),
        sa.column("is_active", sa.Boolean),
    )
    op.bulk_insert(
        task_table,
        [
            {
                "id": task_id,
                "title_key": f"onboarding.checklist.{task_id}",
                "description_key": f"onboarding.checklist.{task_id}_desc",
                "completion_criteria": json.loads(json.dumps(criteria)),
                "priority_order": order,
                "icon": icon,
                "quick_action_url": url,
                "is_active": True,
            }
            for task_id, criteria, order, icon, url in CHECKLIST_TASKS
        ],
    )


def downgrade() -> None:
    op.drop_table("onboarding_metric")
    op.drop_table("onboarding_tutorial_completion")
    op.drop_table("onboarding_checklist_task")
    op.drop_table("onboarding_state")
