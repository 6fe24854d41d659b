"""Migrations on a live host database: bounded lock waits and statements, for the upgrade's transaction only.

An ALTER TABLE of a host table queued behind a long-running host query would hold every later query
on that table behind it while it waits; with `lock_timeout` the upgrade gives up instead, rolls back
whole, and the host's queries go on.
"""

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from onboarding.container import reset as reset_service_caches
from onboarding.db import sqlstate
from onboarding.settings import Settings
from tools.lambda_events import local_context
from tools.local_db import alembic_config, create_database
from tools.template import functions, load_handler

HOST_TABLES_WITHOUT_SAMPLE_FLAG = """
CREATE TABLE organizations (id VARCHAR(50) PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE people (id VARCHAR(50) PRIMARY KEY, org_id VARCHAR(50) NOT NULL REFERENCES organizations,
                     name TEXT NOT NULL, email TEXT, roles TEXT);
CREATE TABLE teams (id VARCHAR(50) PRIMARY KEY, org_id VARCHAR(50) NOT NULL REFERENCES organizations,
                    name TEXT NOT NULL);
CREATE TABLE events (id VARCHAR(50) PRIMARY KEY, org_id VARCHAR(50) NOT NULL REFERENCES organizations,
                     title TEXT NOT NULL, start_time TIMESTAMPTZ NOT NULL, end_time TIMESTAMPTZ NOT NULL);
CREATE TABLE event_assignments (id VARCHAR(50) PRIMARY KEY,
                                event_id VARCHAR(50) NOT NULL REFERENCES events ON DELETE CASCADE,
                                person_id VARCHAR(50) NOT NULL REFERENCES people ON DELETE CASCADE,
                                role VARCHAR(100));
"""


@pytest.fixture
def host_database(server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A database that looks like SignUpFlow's before onboarding (host tables, no is_sample), which the
    service's settings point at (the test database again afterwards)."""
    url = create_database(server_url, "live_host_scratch", replace=True)
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        for statement in HOST_TABLES_WITHOUT_SAMPLE_FLAG.split(";"):
            if statement.strip():
                connection.execute(text(statement))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DB_TLS", "disable")
    reset_service_caches()
    yield engine
    engine.dispose()
    monkeypatch.undo()
    reset_service_caches()


@pytest.fixture
def migrate_function() -> Callable[..., Any]:
    handler = load_handler(functions()["MigrationsFunction"])
    return lambda: handler({}, local_context(function_name="MigrationsFunction", timeout_seconds=300))


def test_the_upgrade_sets_lock_and_statement_timeouts_for_its_own_transaction_only(host_database) -> None:
    with host_database.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
        inside = (
            connection.execute(text("SHOW lock_timeout")).scalar(),
            connection.execute(text("SHOW statement_timeout")).scalar(),
        )
    assert inside == ("5s", "2min")
    with host_database.connect() as connection:  # the next transaction: the server's defaults again
        assert connection.execute(text("SHOW lock_timeout")).scalar() == "0"
        assert connection.execute(text("SHOW statement_timeout")).scalar() == "0"


def test_an_upgrade_queued_behind_a_long_host_query_gives_up_and_lets_the_hosts_queries_through(
    host_database, migrate_function, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIGRATION_LOCK_TIMEOUT_MS", "300")
    reset_service_caches()
    with host_database.connect() as long_query, ThreadPoolExecutor(max_workers=2) as pool:
        long_query.execute(text("SELECT count(*) FROM people"))  # its transaction stays open: ACCESS SHARE
        upgrade = pool.submit(migrate_function)  # ALTER TABLE people waits for ACCESS EXCLUSIVE ...
        # ... and a host query arriving now queues behind the waiting ALTER, until it gives up.
        host_query = pool.submit(_count_people, host_database)
        with pytest.raises(SQLAlchemyError) as raised:
            upgrade.result(timeout=60)
        assert host_query.result(timeout=60) == 0  # served while the long query still runs
        long_query.rollback()
    assert sqlstate(raised.value) == "55P03"  # lock_not_available: the lock timeout
    assert "lock timeout" in str(raised.value)
    # The whole upgrade rolled back: no onboarding table, no version, no column added.
    assert not {"alembic_version", "onboarding_state"} & set(inspect(host_database).get_table_names())
    assert "is_sample" not in {column["name"] for column in inspect(host_database).get_columns("people")}

    # Invoked again once the long query is over, it goes through.
    assert migrate_function()["current_revision"] is not None
    assert "is_sample" in {column["name"] for column in inspect(host_database).get_columns("people")}


def _count_people(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM people")).scalar_one())


def test_a_host_table_that_already_has_the_sample_flag_is_not_altered(
    host_database, migrate_function
) -> None:
    # Added beforehand by the table's owner: the migrations user then never needs to own it. A lock held
    # on the table proves no ALTER is attempted (it would time out).
    with host_database.begin() as connection:
        for table in ("people", "teams", "events"):
            connection.execute(
                text(f"ALTER TABLE {table} ADD COLUMN is_sample BOOLEAN NOT NULL DEFAULT FALSE")
            )
    with host_database.connect() as long_query:
        long_query.execute(text("SELECT count(*) FROM people, teams, events"))
        assert migrate_function()["current_revision"] is not None
        long_query.rollback()


def test_the_migrations_socket_waits_longer_than_a_statement_may_run() -> None:
    settings = Settings()
    assert settings.db_socket_timeout_seconds == 5  # the API path
    migrations = settings.for_migrations()
    assert migrations.db_socket_timeout_seconds > settings.migration_statement_timeout_ms / 1000
    assert migrations.migration_statement_timeout_ms == settings.migration_statement_timeout_ms


def test_the_timeouts_are_settings() -> None:
    settings = Settings.model_validate(
        {"MIGRATION_LOCK_TIMEOUT_MS": "0", "MIGRATION_STATEMENT_TIMEOUT_MS": "60000"}
    )
    assert (settings.migration_lock_timeout_ms, settings.migration_statement_timeout_ms) == (0, 60_000)
    with pytest.raises(ValueError, match="MIGRATION_STATEMENT_TIMEOUT_MS"):
        Settings.model_validate({"MIGRATION_STATEMENT_TIMEOUT_MS": "0"})
