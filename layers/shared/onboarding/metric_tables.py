"""The Core tables around `tables.onboarding_metric`: its archive (`export`, the nightly maintenance), and
the metric ingest's daily quota (`metric_quota`) and event keys (`client_metrics`).

Apart from `tables` (where `onboarding_metric` is: every change records metrics) so that only the
functions that use them build them at their cold start (bench/README.md, "Cold start"). Their
DDL-only objects follow them, as in `tables`.
"""

from sqlalchemy import CheckConstraint, Column, Date, DateTime, Index, Integer, String, Table
from sqlalchemy.dialects.postgresql import UUID as PG_UUID

from onboarding.schema import METADATA, SCHEMA_ONLY
from onboarding.tables import metric_columns, org_id_column

# Metric rows older than 12 months, moved out of `onboarding_metric` by the nightly maintenance.
onboarding_metric_archive = Table(
    "onboarding_metric_archive",
    METADATA,
    *metric_columns(),
)
SCHEMA_ONLY[onboarding_metric_archive.name] = lambda: (
    Index("idx_metric_archive_org_timestamp", "organization_id", "timestamp", "id"),
)

# How many client metric events an organization sent today (UTC): the daily cap of `metric_quota`.
onboarding_metric_quota = Table(
    "onboarding_metric_quota",
    METADATA,
    org_id_column(primary_key=True),
    Column("day", Date, nullable=False),
    Column("events", Integer, nullable=False),
)
SCHEMA_ONLY[onboarding_metric_quota.name] = lambda: (
    CheckConstraint("events >= 0", name="events_non_negative"),
)

# The client event ids an organization sent recently: the metric ingest's resend check (`client_metrics`,
# migration 0013_metric_event_keys; see `models_metric_event_key.OnboardingMetricEventKey`). No foreign
# key to organizations, on purpose: the keys are deleted with the organization by a trigger on
# `onboarding_state`, as a foreign key's check per inserted key cost ~7 % of an ingest.
onboarding_metric_event_key = Table(
    "onboarding_metric_event_key",
    METADATA,
    Column("organization_id", String(50), primary_key=True),
    Column("client_event_id", PG_UUID(as_uuid=True), primary_key=True),
    Column("timestamp", DateTime(timezone=True), nullable=False),
)
