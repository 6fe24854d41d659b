"""SQLAlchemy 2 typed models: the four onboarding tables of data-model.md plus the host tables they use,
and the tables added since (experiments, metric archive, quota and event keys, report views, outbox).

Fixes over the seed document: JSONB instead of JSON, TIMESTAMPTZ instead of naive TIMESTAMP, ids that
cannot collide (`ids`), server-side defaults for every default, and its "future" check constraints now.

Each model lives in the module of its concept (`models_host`, `models_state`, `models_metrics`...), so
that a Lambda function maps only the tables it uses (`tests/test_function_imports.py`). This module
imports every one of them: `Base.metadata` here is the whole schema, as migrations (`migrations/env.py`),
the schema drift test and the tools need it, with every table's DDL-only objects (CHECK constraints,
indexes), which the Core tables leave out of a function's cold start (`tables`), attached here.
Service code imports the concept modules, never this one.
"""

from onboarding.ids import EXPERIMENT_ID_PATTERN
from onboarding.models_base import (
    BASELINE_TABLE_COMMENT,
    EMPTY_JSON_ARRAY,
    EMPTY_JSON_OBJECT,
    NAMING_CONVENTION,
    Base,
    add_schema_only_objects,
)
from onboarding.models_checklist import OnboardingChecklistTask
from onboarding.models_experiments import OnboardingExperiment
from onboarding.models_host import HOST_TABLES, Event, EventAssignment, Organization, Person, Team
from onboarding.models_metric_archive import OnboardingMetricArchive
from onboarding.models_metric_event_key import OnboardingMetricEventKey
from onboarding.models_metric_quota import OnboardingMetricQuota
from onboarding.models_metrics import OnboardingMetric
from onboarding.models_outbox import OutboxEvent
from onboarding.models_report_views import OnboardingReportViews
from onboarding.models_state import OnboardingState
from onboarding.models_tutorials import OnboardingTutorialCompletion

add_schema_only_objects()

__all__ = [
    "BASELINE_TABLE_COMMENT",
    "EMPTY_JSON_ARRAY",
    "EMPTY_JSON_OBJECT",
    "EXPERIMENT_ID_PATTERN",
    "HOST_TABLES",
    "NAMING_CONVENTION",
    "Base",
    "Event",
    "EventAssignment",
    "OnboardingChecklistTask",
    "OnboardingExperiment",
    "OnboardingMetric",
    "OnboardingMetricArchive",
    "OnboardingMetricEventKey",
    "OnboardingMetricQuota",
    "OnboardingReportViews",
    "OnboardingState",
    "OnboardingTutorialCompletion",
    "Organization",
    "OutboxEvent",
    "Person",
    "Team",
]
