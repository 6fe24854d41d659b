"""Metric rows older than the retention (`onboarding_metric_archive`), part of the mapping
`onboarding.models` gathers.
"""

from sqlalchemy import Index

from onboarding.models_base import Base
from onboarding.models_metrics import MetricColumns


class OnboardingMetricArchive(MetricColumns, Base):
    """Metric rows older than 12 months, moved out of `onboarding_metric` by the nightly maintenance
    (`metric_partitions`). Not read by analytics; part of the organization's export; deleted with it."""

    __tablename__ = "onboarding_metric_archive"
    __table_args__ = (Index("idx_metric_archive_org_timestamp", "organization_id", "timestamp", "id"),)
