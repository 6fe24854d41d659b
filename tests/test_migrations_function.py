"""The migrations function, loaded from template.yaml's handler path, run in-process on a fresh database."""

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from alembic.script import ScriptDirectory
from moto import mock_aws
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.pool import NullPool

from onboarding import container
from onboarding.errors import DatabaseUnavailable
from onboarding.metric_partitions import month_start, partition_name
from tests.fixtures import worker_suffix
from tools.lambda_events import local_context
from tools.local_db import alembic_config, create_database
from tools.template import functions, load_handler

pytestmark = pytest.mark.versions  # DDL and constraints: checked on PostgreSQL 15 and 18

# Roles and database names belong to the server, which pytest-xdist workers may share.
APP_ROLE = f"onboarding_app{worker_suffix()}"
SCRATCH = f"migrations_function_scratch{worker_suffix()}"
CREATE_APP_ROLE = f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
    CREATE ROLE {APP_ROLE} LOGIN;
  END IF;
END $$
"""
ONBOARDING_TABLES = {"onboarding_state", "onboarding_checklist_task", "onboarding_tutorial_completion"}
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


@pytest.fixture
def fresh_database(server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """An empty database the function's settings point at (restored to the test database afterwards)."""
    url = create_database(server_url, SCRATCH, replace=True)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DB_TLS", "disable")
    container.reset()
    engine = create_engine(url, poolclass=NullPool)
    yield engine
    engine.dispose()
    monkeypatch.undo()
    container.reset()


@pytest.fixture
def migrate_function() -> Callable[..., Any]:
    handler = load_handler(functions()["MigrationsFunction"])

    def invoke(event: dict[str, Any] | None = None) -> Any:
        # The function's own timeout (template.yaml): the maintenance keeps a reserve of it.
        context = local_context(function_name="MigrationsFunction", timeout_seconds=300)
        return handler({} if event is None else event, context)

    return invoke


def test_upgrade_on_an_empty_database_creates_the_schema_at_head(fresh_database, migrate_function) -> None:
    result = migrate_function({})
    assert result == {
        "action": "upgrade",
        "previous_revision": None,
        "current_revision": HEAD,
        "head_revision": HEAD,
    }
    assert set(inspect(fresh_database).get_table_names()) >= ONBOARDING_TABLES
    with fresh_database.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD


def test_upgrade_again_changes_nothing(fresh_database, migrate_function) -> None:
    migrate_function({"action": "upgrade"})
    again = migrate_function({"action": "upgrade"})
    assert (again["previous_revision"], again["current_revision"]) == (HEAD, HEAD)


def test_status_reports_without_migrating(fresh_database, migrate_function) -> None:
    result = migrate_function({"action": "status"})
    assert result == {
        "action": "status",
        "previous_revision": None,
        "current_revision": None,
        "head_revision": HEAD,
    }
    assert inspect(fresh_database).get_table_names() == []


def test_unknown_action_fails_and_changes_nothing(fresh_database, migrate_function) -> None:
    with pytest.raises(ValueError, match="unknown action 'downgrade'"):
        migrate_function({"action": "downgrade"})
    assert inspect(fresh_database).get_table_names() == []


def test_concurrent_invocations_migrate_once_without_errors(fresh_database, migrate_function) -> None:
    # Without the advisory lock the second run would race the first one's CREATE TABLEs.
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: migrate_function({}), range(2)))
    assert sorted(str(result["previous_revision"]) for result in results) == sorted(["None", str(HEAD)])
    assert {result["current_revision"] for result in results} == {HEAD}


def test_a_failing_migration_leaves_the_schema_untouched(fresh_database, migrate_function) -> None:
    # A table in the way of the onboarding migration: the upgrade fails and rolls back entirely.
    with fresh_database.begin() as connection:
        connection.execute(text("CREATE TABLE onboarding_state (id INT)"))
    with pytest.raises(Exception, match="onboarding_state"):
        migrate_function({})
    assert set(inspect(fresh_database).get_table_names()) == {"onboarding_state"}


@pytest.fixture
def database_secret(fresh_database, monkeypatch):
    """Secrets Manager (moto) holding the database user, as in AWS with DatabaseAuth=secret."""
    with mock_aws():
        container.reset()  # nothing cached from another test

        def use_secret(username: str) -> str:
            arn: str = boto3.client("secretsmanager").create_secret(
                Name=f"onboarding/{username}",
                SecretString=json.dumps({"username": username, "password": "local-trust-auth"}),
            )["ARN"]
            monkeypatch.setenv("DB_SECRET_ARN", arn)
            monkeypatch.setenv("DB_SECRET_MAX_AGE_SECONDS", "0")
            container.reset()
            return arn

        yield use_secret
        container.reset()


def test_upgrade_connects_as_the_user_in_the_secret(
    fresh_database, migrate_function, database_secret
) -> None:
    # A user of its own that owns the database: the tables it creates prove who connected.
    with fresh_database.connect() as connection:
        connection.execute(text(CREATE_APP_ROLE))
        connection.execute(text(f"ALTER DATABASE {SCRATCH} OWNER TO {APP_ROLE}"))
        connection.commit()
    database_secret(APP_ROLE)
    assert migrate_function({})["current_revision"] == HEAD
    with fresh_database.connect() as connection:
        owners = connection.execute(
            text("SELECT DISTINCT tableowner FROM pg_tables WHERE tablename LIKE 'onboarding_%'")
        ).scalars()
        assert list(owners) == [APP_ROLE]


def test_a_missing_secret_fails_the_run_and_migrates_nothing(
    fresh_database, migrate_function, database_secret, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:absent-AbCdEf")
    container.reset()
    with pytest.raises(DatabaseUnavailable):
        migrate_function({})
    assert inspect(fresh_database).get_table_names() == []


def test_the_nightly_maintenance_action_keeps_the_metric_partitions(fresh_database, migrate_function) -> None:
    migrate_function({})
    half_a_year_on = datetime.now(UTC) + timedelta(days=183)
    answer = migrate_function({"action": "maintain_metric_partitions", "time": half_a_year_on.isoformat()})
    assert answer["action"] == "maintain_metric_partitions"
    assert answer["partitioned"] is True
    assert partition_name(month_start(half_a_year_on, 3)) in answer["partitions_created"]
    assert answer["deferred"] == [] and answer["partitions_archived"] == []


def test_preparing_an_already_partitioned_table_changes_nothing(fresh_database, migrate_function) -> None:
    migrate_function({})
    answer = migrate_function({"action": "prepare_metric_partitioning"})
    assert answer == {"action": "prepare_metric_partitioning", "already_partitioned": True, "done": []}
