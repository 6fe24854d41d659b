"""Schema only through alembic: the migrations round-trip, match the models, and respect host tables."""

import json
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from onboarding.models import Base
from tests.fixtures import worker_suffix
from tools.local_db import alembic_config, create_database

pytestmark = pytest.mark.versions  # DDL and constraints: checked on PostgreSQL 15 and 18

ONBOARDING_TABLES = {
    "onboarding_state",
    "onboarding_checklist_task",
    "onboarding_tutorial_completion",
    "onboarding_metric",
}


@pytest.fixture
def scratch_engine(server_url: str) -> Iterator[Engine]:
    """An empty database of its own (per pytest-xdist worker: workers may share the server)."""
    url = create_database(server_url, f"migration_scratch{worker_suffix()}", replace=True)
    engine = create_engine(url, poolclass=NullPool)
    yield engine
    engine.dispose()


def run(engine: Engine, verb: str, revision: str) -> None:
    with engine.begin() as connection:
        getattr(command, verb)(alembic_config(connection), revision)


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_upgrade_downgrade_upgrade_round_trips(scratch_engine: Engine) -> None:
    run(scratch_engine, "upgrade", "head")
    assert tables(scratch_engine) >= ONBOARDING_TABLES
    run(scratch_engine, "downgrade", "base")
    assert tables(scratch_engine) == {"alembic_version"}
    run(scratch_engine, "upgrade", "head")
    assert tables(scratch_engine) >= ONBOARDING_TABLES


def test_models_and_migrations_do_not_drift(engine: Engine) -> None:
    # The suite's database, migrated to head by alembic (tests/fixtures.py).
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_baseline_leaves_existing_host_tables_alone(scratch_engine: Engine) -> None:
    with scratch_engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE organizations (id VARCHAR(50) PRIMARY KEY, name TEXT NOT NULL, plan TEXT)")
        )
        connection.execute(text("INSERT INTO organizations VALUES ('org_host', 'Host Org', 'pro')"))
        connection.execute(
            text(
                "CREATE TABLE events (id VARCHAR(50) PRIMARY KEY, org_id VARCHAR(50), title TEXT,"
                " start_time TIMESTAMPTZ, end_time TIMESTAMPTZ)"
            )
        )

    run(scratch_engine, "upgrade", "head")
    columns = {column["name"] for column in inspect(scratch_engine).get_columns("events")}
    assert "is_sample" in columns  # added where the host table lacked it
    with scratch_engine.connect() as connection:
        assert connection.execute(text("SELECT plan FROM organizations")).scalar() == "pro"

    run(scratch_engine, "downgrade", "base")
    # Host tables the baseline did not create survive a downgrade; the ones it created are gone.
    assert {"organizations", "events"} <= tables(scratch_engine)
    assert "people" not in tables(scratch_engine)


def test_0006_stores_the_sample_data_size_and_rewrites_stored_timestamps_in_utc(
    scratch_engine: Engine,
) -> None:
    # Rows as the previous version wrote them: `+00:00` and the client's own offset in the step data,
    # no size column (read back from the latest sample_data_generated metric).
    run(scratch_engine, "upgrade", "0005_outbox")
    step_data = {
        "step_1": {"timezone": "America/Toronto", "completed_at": "2026-11-20T14:03:07.118233+00:00"},
        "step_2": {
            "event_title": "Sunday Service",
            "event_datetime": "2026-12-06T09:30:00-05:00",
            "completed_at": "2026-11-20T14:05:00+00:00",
            "updated_at": "2026-11-21T08:00:00.5+01:00",
        },
        "step_3": "not an object",
    }
    with scratch_engine.begin() as connection:
        connection.execute(
            text("INSERT INTO organizations (id, name) VALUES ('org_1', 'One'), ('org_2', 'Two')")
        )
        connection.execute(
            text(
                "INSERT INTO onboarding_state (organization_id, wizard_step_data, sample_data_generated,"
                " sample_data_generated_at, sample_data_expiry)"
                " VALUES ('org_1', CAST(:data AS jsonb), true, now(), now() + interval '30 days'),"
                " ('org_2', '{}', false, NULL, NULL)"
            ),
            {"data": json.dumps(step_data)},
        )
        connection.execute(
            text(
                "INSERT INTO onboarding_metric (organization_id, event_type, event_data, timestamp) VALUES"
                " ('org_1', 'sample_data_generated', '{\"size\": \"minimal\"}', now() - interval '2 days'),"
                " ('org_1', 'sample_data_generated', '{\"size\": \"comprehensive\"}', now() - interval '1 day')"
            )
        )
    run(scratch_engine, "upgrade", "0006_consistent_api")
    with scratch_engine.connect() as connection:
        rows: dict[str, str | None] = dict(
            connection.execute(
                text("SELECT organization_id, sample_data_size FROM onboarding_state ORDER BY 1")
            ).all()
        )
        stored = connection.execute(
            text("SELECT wizard_step_data FROM onboarding_state WHERE organization_id = 'org_1'")
        ).scalar_one()
    assert rows == {"org_1": "comprehensive", "org_2": None}
    assert stored == {
        "step_1": {"timezone": "America/Toronto", "completed_at": "2026-11-20T14:03:07.118233Z"},
        "step_2": {
            "event_title": "Sunday Service",
            "event_datetime": "2026-12-06T14:30:00Z",
            "completed_at": "2026-11-20T14:05:00Z",
            "updated_at": "2026-11-21T07:00:00.500000Z",
        },
        "step_3": "not an object",
    }
    run(scratch_engine, "downgrade", "0005_outbox")
    columns = {column["name"] for column in inspect(scratch_engine).get_columns("onboarding_state")}
    assert "sample_data_size" not in columns


def test_the_sample_data_size_is_one_of_the_three_sizes(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO organizations (id, name) VALUES ('org_size', 'Size')"))
    insert = "INSERT INTO onboarding_state (organization_id, sample_data_size) VALUES ('org_size', 'huge')"
    with (
        pytest.raises(DBAPIError, match="ck_onboarding_state_sample_data_size_known"),
        engine.begin() as connection,
    ):
        connection.execute(text(insert))
