"""Analytics events (`onboarding_metric`, partitioned by month) and the columns its archive shares, part of
the mapping `onboarding.models` gathers.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import Mapped, mapped_column

from onboarding.ids import id_default
from onboarding.models_base import EMPTY_JSON_OBJECT, Base


class MetricColumns:
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


class OnboardingMetric(MetricColumns, Base):
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
