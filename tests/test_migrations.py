"""Schema only through alembic: the migrations round-trip, match the models, and respect host tables."""

from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
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


def test_the_checklist_count_migration_backfills_every_organization_and_downgrades(
    scratch_engine: Engine,
) -> None:
    run(scratch_engine, "upgrade", "0005_outbox")
    progress = (
        '{"add_team": {"completed": true}, "view_reports": {"completed": true}, "x": {"completed": true}}'
    )
    with scratch_engine.begin() as connection:
        connection.execute(
            text("INSERT INTO organizations (id, name) VALUES ('org_1', 'One'), ('org_2', 'Two')")
        )
        connection.execute(
            text(
                "INSERT INTO onboarding_state (organization_id, checklist_progress)"
                " VALUES ('org_1', CAST(:progress AS jsonb)), ('org_2', '{}')"
            ),
            {"progress": progress},
        )
    run(scratch_engine, "upgrade", "head")
    with scratch_engine.connect() as connection:
        counts: dict[str, int] = dict(
            connection.execute(
                text("SELECT organization_id, checklist_completed_count FROM onboarding_state")
            ).all()
        )
    assert counts == {"org_1": 2, "org_2": 0}  # "x" is no active task
    run(scratch_engine, "downgrade", "0005_outbox")
    columns = {column["name"] for column in inspect(scratch_engine).get_columns("onboarding_state")}
    assert "checklist_completed_count" not in columns
    run(scratch_engine, "upgrade", "head")
