"""What each function loads at a cold start: its own part of the package, never boto3 or the publisher
where nothing is published, never the wizard's graph (its forms, e-mail validation) where no wizard
route is served. Checked in a fresh interpreter, the way Lambda imports a handler."""

import pytest

from onboarding.models import Base
from onboarding.schema import SCHEMA_ONLY
from tests.fixtures import python_imports
from tools.template import SHARED_LAYER_DIR, functions

WIZARD_GRAPH = {"onboarding.wizard", "onboarding.checklist", "email_validator"}


def imported_by(logical_id: str) -> set[str]:
    spec = functions()[logical_id]
    return python_imports(
        f"import {spec.handler_module}", cwd=spec.code_uri, path=(spec.code_uri, SHARED_LAYER_DIR)
    )


@pytest.mark.parametrize("logical_id", ["PurgeFunction", "OrganizationCreatedFunction"])
def test_the_event_driven_functions_do_not_import_the_wizard(logical_id: str) -> None:
    modules = imported_by(logical_id)
    assert "onboarding.tables" in modules
    assert not WIZARD_GRAPH & modules


def test_a_function_that_publishes_nothing_never_loads_the_publisher_or_boto3() -> None:
    modules = imported_by("ChecklistFunction")
    assert "onboarding.db" in modules
    # Powertools imports the bare `botocore` package (its __init__ only) for its user-agent hook.
    assert not {name for name in modules if name.startswith(("boto3", "botocore.", "onboarding.publisher"))}


def test_the_catch_all_function_imports_the_standard_library_and_four_small_modules() -> None:
    # Its cold start is the runtime's and these imports (milliseconds): no Powertools, pydantic,
    # SQLAlchemy or driver, which the API functions load.
    modules = imported_by("CatchAllFunction")
    ours = {name for name in modules if name.startswith("onboarding")}
    assert ours == {
        "onboarding",
        "onboarding.errors",
        "onboarding.i18n",
        "onboarding.routes",
        "onboarding.unrouted",
    }
    heavy = ("aws_lambda_powertools", "pydantic", "sqlalchemy", "pg8000", "boto3", "botocore")
    assert not {name for name in modules if name.startswith(heavy)}


@pytest.mark.parametrize("logical_id", ["TutorialsFunction", "MetricsFunction", "ExportFunction"])
def test_functions_that_only_need_the_not_started_404_do_not_load_the_state_module(logical_id: str) -> None:
    # Their domain modules read the state row themselves; the 404 for a missing state comes from the
    # small `onboarding.started`, so experiments, features and counters stay out of their cold start.
    modules = imported_by(logical_id)
    assert "onboarding.started" in modules
    assert not {"onboarding.state", "onboarding.experiments", "onboarding.features"} & modules


def test_the_analytics_function_does_not_load_the_metrics_ingestion_or_the_state_module() -> None:
    # It reads what ingestion stored; the clock-skew bound both use lives in `onboarding.metrics`.
    modules = imported_by("AnalyticsFunction")
    assert "onboarding.analytics" in modules
    assert not {"onboarding.client_metrics", "onboarding.metric_quota", "onboarding.state"} & modules


def test_the_purge_clears_sample_data_without_loading_its_generation_or_the_state_module() -> None:
    modules = imported_by("PurgeFunction")
    assert "onboarding.sample_clearing" in modules
    assert not {"onboarding.sample_data", "onboarding.state", "onboarding.experiments"} & modules


# Mapping a declarative class is the largest part of the service's own import time at a cold start
# (1-3.5 ms a class). The service uses its tables only in Core statements, so it uses Core tables
# (`onboarding.tables`, `onboarding.host_tables`) and maps no class; the ORM classes (`models_*`,
# gathered by `onboarding.models`) are for migrations (migrations/env.py), the tests and the tools.
ALL_FUNCTIONS = sorted(functions())


@pytest.mark.parametrize("logical_id", ALL_FUNCTIONS)
def test_no_function_maps_a_class_at_its_cold_start(logical_id: str) -> None:
    modules = imported_by(logical_id)
    # Not even the declarative base (the Core tables' metadata is `schema.METADATA`), never a mapped class,
    # nor the published detail models (for the event schemas and the tests): no function builds them.
    assert not {name for name in modules if name.startswith("onboarding.models")}
    assert "onboarding.published_events" not in modules


@pytest.mark.parametrize(
    "logical_id", sorted(set(ALL_FUNCTIONS) - {"OnboardingFunction", "OrganizationCreatedFunction"})
)
def test_only_the_functions_that_start_onboarding_load_the_start_path(logical_id: str) -> None:
    # Starting assigns experiments (`start`); reading the state shows the assignments (`state`). The
    # analytics function reads the experiments' definitions itself.
    modules = imported_by(logical_id)
    assert "onboarding.start" not in modules
    if logical_id != "AnalyticsFunction":
        assert "onboarding.experiments" not in modules


@pytest.mark.parametrize("logical_id", ["ChecklistFunction", "ExportFunction", "OrganizationCreatedFunction"])
def test_functions_without_typed_request_fields_do_not_build_the_field_types(logical_id: str) -> None:
    # Their 422 details come from `field_errors`; the field types of `validation` (text, whole numbers,
    # timestamps: regular expressions compiled at import) serve other functions' request models.
    modules = imported_by(logical_id)
    assert "onboarding.field_errors" in modules
    assert "onboarding.validation" not in modules


def test_the_onboarding_function_shows_the_checklist_progress_without_the_checklist_views() -> None:
    # GET /v1/onboarding carries only the progress (`checklist.checklist_summary`); the task views and the
    # override body (`checklist_view`) are the checklist function's, ~1 ms of model building it would pay.
    assert "onboarding.checklist" in imported_by("OnboardingFunction")
    assert "onboarding.checklist_view" not in imported_by("OnboardingFunction")
    assert "onboarding.checklist_view" in imported_by("ChecklistFunction")


@pytest.mark.parametrize("logical_id", ALL_FUNCTIONS)
def test_no_function_builds_the_schema_only_objects_at_its_cold_start(logical_id: str) -> None:
    # CHECK constraints and indexes are for DDL (migrations, the drift test): `onboarding.models` attaches
    # them (`schema.add_schema_only_objects`); the Core tables the service runs statements on have
    # only columns and keys. The script fails (and with it this test) if a table has an index or a check.
    spec = functions()[logical_id]
    check = (
        f"import {spec.handler_module}, sys\n"
        "schema = sys.modules.get('onboarding.schema')\n"
        "from sqlalchemy import CheckConstraint\n"
        "tables = schema.METADATA.tables.values() if schema else ()\n"
        "assert not [t.name for t in tables if t.indexes or any(isinstance(c, CheckConstraint) for c in t.constraints)]\n"
        "assert schema is None or schema.SCHEMA_ONLY\n"
    )
    python_imports(check, cwd=spec.code_uri, path=(spec.code_uri, SHARED_LAYER_DIR))


def test_the_whole_schema_has_every_tables_schema_only_objects() -> None:
    assert not SCHEMA_ONLY
    assert {index.name for index in Base.metadata.tables["onboarding_state"].indexes} >= {
        "idx_sample_data_expiry"
    }
    assert len(Base.metadata.tables["people"].indexes) == 1


def test_the_publisher_builds_the_envelope_without_the_detail_models() -> None:
    # It sends the stored detail as it is; the functions that stage events build the details, not the
    # envelope (`publisher.EventEnvelope`).
    assert "onboarding.domain_events" not in imported_by("OutboxPublisherFunction")
    assert "onboarding.publisher" not in imported_by("OnboardingFunction")


def test_the_onboarding_function_builds_only_the_tables_it_uses() -> None:
    # Tutorial progress, the metric archive and the ingest's quota and event keys are other functions'.
    modules = imported_by("OnboardingFunction")
    assert {"onboarding.tables", "onboarding.host_tables"} <= modules
    assert not {"onboarding.tutorial_tables", "onboarding.metric_tables"} & modules
