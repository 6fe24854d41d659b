"""The database users docs/deployment.md tells operators to create: a DDL user that runs the migrations
and a DML user for everything else. The SQL is taken from the document as written (role and database
names swapped for this test's own), run on a database whose host tables belong to another role, and
then: the migrations run as the DDL user, requests are served as the DML user, and the DML user can
neither create, alter nor drop anything.
"""

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from onboarding.container import reset as reset_service_caches
from onboarding.db import sqlstate
from onboarding.metric_partitions import month_start, partition_name
from tests.api_routes import send
from tests.test_migrations_on_a_live_database import HOST_TABLES_WITHOUT_SAMPLE_FLAG
from tools.lambda_events import EVENTS_DIR, local_context
from tools.local_db import create_database
from tools.template import ROOT, find_route, functions, load_handler

DATABASE = "roles_scratch"
# The document's names, and this test's (roles are shared by every database of the server).
NAMES = {
    "onboarding_migrator": "docs_migrator",
    "onboarding_app": "docs_app",
    "signupflow_owner": "docs_host_owner",
    "DATABASE signupflow": f"DATABASE {DATABASE}",
}
ORG = "org_roles"


def documented_sql() -> tuple[str, str]:
    """The two SQL blocks of the roles section: the administrator's, then the DDL user's."""
    document = (ROOT / "docs" / "deployment.md").read_text()
    blocks = re.findall(r"```sql\n(.*?)```", document, flags=re.DOTALL)
    administrator = next(block for block in blocks if block.startswith("-- roles:"))
    ddl_user = next(block for block in blocks if block.startswith("-- tables:"))
    for documented, ours in NAMES.items():
        administrator, ddl_user = administrator.replace(documented, ours), ddl_user.replace(documented, ours)
    return administrator, ddl_user


def run_script(engine: Engine, script: str) -> None:
    code = "\n".join(line for line in script.splitlines() if not line.strip().startswith("--"))
    with engine.begin() as connection:
        for statement in code.split(";"):
            if statement.strip():
                connection.execute(text(statement))


def as_user(url: str, user: str) -> str:
    # The test server trusts local connections: the documented passwords are not checked here.
    return make_url(url).set(username=user).render_as_string(hide_password=False)


def drop_roles(engine: Engine) -> None:
    with engine.begin() as connection:
        for role in ("docs_app", "docs_migrator", "docs_host_owner"):
            connection.execute(text(f"DROP ROLE IF EXISTS {role}"))


@pytest.fixture
def roles_database(server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A host database whose tables belong to docs_host_owner, with the documented users created."""
    admin_server = create_engine(server_url, poolclass=NullPool)
    drop_roles(admin_server)
    url = create_database(server_url, DATABASE, replace=True)
    admin = create_engine(url, poolclass=NullPool)
    administrator_sql, ddl_user_sql = documented_sql()
    run_script(admin, "CREATE ROLE docs_host_owner NOLOGIN;" + HOST_TABLES_WITHOUT_SAMPLE_FLAG)
    run_script(
        admin,
        ";".join(
            f"ALTER TABLE {table} OWNER TO docs_host_owner"
            for table in ("organizations", "people", "teams", "events", "event_assignments")
        )
        + f";INSERT INTO organizations (id, name) VALUES ('{ORG}', 'Roles Church')",
    )
    run_script(admin, administrator_sql)
    migrator = create_engine(as_user(url, "docs_migrator"), poolclass=NullPool)
    run_script(migrator, ddl_user_sql)
    migrator.dispose()
    monkeypatch.setenv("DB_TLS", "disable")
    yield url
    admin.dispose()
    monkeypatch.undo()
    reset_service_caches()
    with admin_server.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
    drop_roles(admin_server)
    admin_server.dispose()


def connect_service_as(monkeypatch: pytest.MonkeyPatch, url: str, user: str) -> None:
    monkeypatch.setenv("DATABASE_URL", as_user(url, user))
    reset_service_caches()


def request(method: str, path: str, **kwargs: Any) -> Any:
    found = find_route(method, path)
    assert found is not None
    route, _ = found
    return send(route, claims={"custom:org_id": ORG, "cognito:groups": "[org_admin]"}, path=path, **kwargs)


def test_the_documented_users_migrate_as_ddl_and_serve_as_dml(
    roles_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect_service_as(monkeypatch, roles_database, "docs_migrator")
    migrate = load_handler(functions()["MigrationsFunction"])
    result = migrate({}, local_context(function_name="MigrationsFunction", timeout_seconds=300))
    assert result["current_revision"] == result["head_revision"]

    connect_service_as(monkeypatch, roles_database, "docs_app")
    assert request("POST", "/v1/onboarding").status == 201
    assert request("POST", "/v1/onboarding/sample-data", body={"size": "minimal"}).status == 201
    assert request("GET", "/v1/onboarding").status == 200
    assert request("GET", "/v1/onboarding/checklist").status == 200
    assert request("PUT", "/v1/onboarding/checklist/add_team", body={"completed": True}).status == 200
    assert request("DELETE", "/v1/onboarding/sample-data").status == 200

    # The nightly purge deletes expired sample rows from the host tables as the DML user too.
    assert request("POST", "/v1/onboarding/sample-data", body={"size": "minimal"}).status == 201
    admin = create_engine(roles_database, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(text("UPDATE onboarding_state SET sample_data_expiry = now() - interval '1 hour'"))
    purge = load_handler(functions()["PurgeFunction"])
    scheduled = json.loads((EVENTS_DIR / "purge_scheduled.json").read_text())
    scheduled["time"] = datetime.now(UTC).replace(microsecond=0).isoformat()
    report = purge(scheduled, local_context(function_name="PurgeFunction", timeout_seconds=300))
    assert report["organizations_purged"] == 1
    with admin.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM people WHERE is_sample")).scalar() == 0
    admin.dispose()


FORBIDDEN_TO_THE_DML_USER = (
    "CREATE TABLE intruder (id INT)",
    "ALTER TABLE onboarding_state ADD COLUMN intruder INT",
    "DROP TABLE onboarding_metric",
    "ALTER TABLE people ADD COLUMN intruder INT",
    "TRUNCATE onboarding_outbox",
    "UPDATE organizations SET name = 'x'",
    "DELETE FROM organizations",
)


def test_the_dml_user_cannot_change_the_schema_or_the_hosts_organizations(
    roles_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect_service_as(monkeypatch, roles_database, "docs_migrator")
    load_handler(functions()["MigrationsFunction"])({}, local_context(function_name="MigrationsFunction"))
    app = create_engine(as_user(roles_database, "docs_app"), poolclass=NullPool)
    refused = {}
    try:
        for statement in FORBIDDEN_TO_THE_DML_USER:
            with pytest.raises(SQLAlchemyError) as raised, app.begin() as connection:
                connection.execute(text(statement))
            refused[statement] = sqlstate(raised.value)
    finally:
        app.dispose()
    assert refused == dict.fromkeys(FORBIDDEN_TO_THE_DML_USER, "42501")  # insufficient privilege / not owner


def test_the_ddl_user_keeps_the_metric_partitions_and_the_dml_user_writes_into_them(
    roles_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect_service_as(monkeypatch, roles_database, "docs_migrator")
    migrations = load_handler(functions()["MigrationsFunction"])
    context = local_context(function_name="MigrationsFunction", timeout_seconds=300)
    migrations({}, context)
    in_a_year = datetime.now(UTC).replace(microsecond=0) + timedelta(days=365)
    answer = migrations({"action": "maintain_metric_partitions", "time": in_a_year.isoformat()}, context)
    created = partition_name(month_start(in_a_year, 3))
    assert created in answer["partitions_created"]  # made by the maintenance, as the DDL user
    app = create_engine(as_user(roles_database, "docs_app"), poolclass=NullPool)
    try:
        with app.begin() as connection:
            landed = connection.execute(
                text(
                    "INSERT INTO onboarding_metric (organization_id, event_type, timestamp)"
                    " VALUES (:org, 'view_reports', :at) RETURNING tableoid::regclass::text"
                ),
                {"org": ORG, "at": month_start(in_a_year, 3) + timedelta(days=1)},
            ).scalar_one()
        assert landed == created
        with pytest.raises(SQLAlchemyError) as raised, app.begin() as connection:
            connection.execute(text(f"ALTER TABLE onboarding_metric DETACH PARTITION {created}"))
        assert sqlstate(raised.value) == "42501"
    finally:
        app.dispose()
