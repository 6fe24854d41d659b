"""The metric ingest's event keys (`onboarding_metric_event_key`), part of the mapping `onboarding.models`
gathers.
"""

from datetime import datetime
from uuid import UUID

from sqlalchemy.orm import Mapped

from onboarding.metric_tables import onboarding_metric_event_key
from onboarding.models_base import Base


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

    __table__ = onboarding_metric_event_key

    organization_id: Mapped[str]
    client_event_id: Mapped[UUID]
    timestamp: Mapped[datetime]
