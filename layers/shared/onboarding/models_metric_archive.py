"""Metric rows older than the retention (`onboarding_metric_archive`), part of the mapping
`onboarding.models` gathers.
"""

from onboarding.metric_tables import onboarding_metric_archive
from onboarding.models_base import Base
from onboarding.models_metrics import MetricColumns


class OnboardingMetricArchive(MetricColumns, Base):
    """Metric rows older than 12 months, moved out of `onboarding_metric` by the nightly maintenance
    (`metric_partitions`). Not read by analytics; part of the organization's export; deleted with it."""

    __table__ = onboarding_metric_archive
