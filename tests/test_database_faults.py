"""The database refusing, hanging, dropping connections, timing out on a lock, or failing in the middle
of a write: every route answers 503 with the contract's error before the Lambda timeout, nothing is half
written, and the next request after the database is back succeeds with the same engine.

Faults are real: a closed port, a listener that never answers, a TCP proxy on 127.0.0.1 that resets or
freezes its connections (tests/tcp_proxy.py), locks held by another connection, and a SQLAlchemy hook
that fails the Nth statement of a request the way a dropped connection does.
"""

import multiprocessing
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pg8000.dbapi
import pytest
from sqlalchemy import Engine, event, func, insert, make_url, select, text
from sqlalchemy.orm import Session

from onboarding import container, purge, sample_data
from onboarding.db import get_engine, unit_of_work
from onboarding.errors import DatabaseUnavailable
from onboarding.models import Base, OnboardingState, Organization
from tests.api_routes import (
    ANALYTICS_ROUTES,
    ROUTES,
    assert_contract_error,
    concrete_path,
    lambda_context,
    make_ready,
    org_rows,
    route_id,
    send,
)
from tests.concurrency import run_together
from tests.fixtures import HandlerResponse, admin_claims, analyst_claims
from tests.tcp_proxy import TcpProxy, closed_port, silent_listener
from tools.template import HttpRoute

ORG = "org_faults"
SHORT_TIMEOUT = "1"  # seconds a socket operation may wait (DB_SOCKET_TIMEOUT_SECONDS) in these tests


def claims_for(route: HttpRoute, org: str = ORG) -> dict[str, Any]:
    return analyst_claims() if route in ANALYTICS_ROUTES else admin_claims(org)


def call(route: HttpRoute, org: str = ORG) -> tuple[HandlerResponse, int]:
    """The route's answer, and the milliseconds its Lambda had left when it answered."""
    context = lambda_context(route)
    response = send(route, claims=claims_for(route, org), context=context)
    return response, context.get_remaining_time_in_millis()


def assert_unavailable(response: HandlerResponse, remaining_ms: int) -> None:
    assert_contract_error(response, 503)
    assert response.json["error"]["code"] == "database_unavailable"
    assert remaining_ms > 0, "answered after the Lambda timeout"


@pytest.fixture
def faults_org(make_started_org):
    return make_started_org(ORG, events=2, volunteers=2, assignments=2, teams=1)


@pytest.fixture
def service_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Point the service (settings and engine) at another database URL; the real one afterwards."""

    def point(url: str, **env: str) -> None:
        monkeypatch.setenv("DATABASE_URL", url)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        container.reset()

    yield point
    monkeypatch.undo()
    container.reset()


@pytest.fixture
def proxy(database_url: str) -> Iterator[TcpProxy]:
    url = make_url(database_url)
    target = url.query.get("unix_sock")
    if not isinstance(target, str):
        pytest.skip("the proxy forwards to the embedded server's Unix socket")
    running = TcpProxy(target)
    yield running
    running.close()


def via(database_url: str, port: int) -> str:
    """The test database's URL, reached over TCP on 127.0.0.1:`port`."""
    url = make_url(database_url).set(host="127.0.0.1", port=port, query={})
    return url.render_as_string(hide_password=False)


# --- Unavailable ---


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_every_route_answers_503_when_the_database_refuses_connections(
    route: HttpRoute, faults_org, database_url, service_database
) -> None:
    service_database(via(database_url, closed_port()), DB_SOCKET_TIMEOUT_SECONDS=SHORT_TIMEOUT)
    assert_unavailable(*call(route))


# Routes whose path names a catalog entry (a wizard step, a tutorial, a checklist task): the catalogs
# are in the code, so an id outside them is answered without the database.
CATALOG_ROUTES = [
    (route, name)
    for route in ROUTES
    for name in ("step", "tutorial_id", "task_id")
    if f"{{{name}}}" in route.path
]
CATALOG_404 = {
    "step": "unknown_wizard_step",
    "tutorial_id": "unknown_tutorial",
    "task_id": "unknown_checklist_task",
}


@pytest.mark.parametrize(("route", "name"), CATALOG_ROUTES, ids=[r.route_key for r, _ in CATALOG_ROUTES])
def test_an_unknown_path_id_is_404_without_touching_the_database(
    route: HttpRoute, name: str, database_url, service_database
) -> None:
    service_database(via(database_url, closed_port()), DB_SOCKET_TIMEOUT_SECONDS=SHORT_TIMEOUT)
    response = send(route, claims=claims_for(route), path=concrete_path(route, **{name: "no_such_id"}))
    assert_contract_error(response, 404)
    assert response.json["error"]["code"] == CATALOG_404[name]


def test_every_route_with_an_id_in_its_path_is_covered() -> None:
    assert {route.route_key for route, _ in CATALOG_ROUTES} == {r.route_key for r in ROUTES if "{" in r.path}


@pytest.mark.parametrize("tls", ["verify", "disable"])
def test_every_route_answers_503_when_the_database_never_answers(
    tls: str, faults_org, database_url, service_database
) -> None:
    # Each route in its own process (its own container and engine), all at once: one timeout, not 22.
    # With TLS the wait is in the TLS negotiation (where pg8000 raised a bare TimeoutError: a 500).
    with silent_listener() as port:
        service_database(via(database_url, port), DB_SOCKET_TIMEOUT_SECONDS=SHORT_TIMEOUT, DB_TLS=tls)

        def ask(route: HttpRoute) -> tuple[int, Any, int]:
            response, remaining = call(route)
            return response.status, response.json, remaining

        results = run_together([partial(ask, route) for route in ROUTES])
    for route, (status, body, remaining) in zip(ROUTES, results, strict=True):
        assert (status, body["error"]["code"]) == (503, "database_unavailable"), route.route_key
        assert remaining > 0, route.route_key


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_after_connections_are_reset_the_route_is_503_then_recovers_with_the_same_engine(
    route: HttpRoute, faults_org, database_url, service_database, proxy: TcpProxy
) -> None:
    service_database(via(database_url, proxy.port), DB_SOCKET_TIMEOUT_SECONDS=SHORT_TIMEOUT)
    make_ready(route, ORG)  # through the proxy: the engine now holds a pooled connection
    engine = get_engine()
    proxy.cut()
    assert_unavailable(*call(route))
    proxy.heal()
    response, _ = call(route)
    assert 200 <= response.status < 300, response
    assert get_engine() is engine, "the same engine recovered (no new container needed)"


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_a_connection_that_died_while_the_container_was_frozen_is_replaced_and_the_route_succeeds(
    route: HttpRoute, faults_org, database_url, service_database, proxy: TcpProxy
) -> None:
    # A frozen container's pooled connection idles; the database side closed it meanwhile (RDS Proxy's
    # idle timeout, a failover). The ping after idling finds it dead and a new connection serves.
    service_database(
        via(database_url, proxy.port),
        DB_SOCKET_TIMEOUT_SECONDS=SHORT_TIMEOUT,
        DB_PING_AFTER_IDLE_SECONDS="0.05",
    )
    make_ready(route, ORG)  # through the proxy: the engine now holds a pooled connection
    proxy.cut()
    proxy.heal()
    time.sleep(0.1)  # the freeze
    response, _ = call(route)
    assert 200 <= response.status < 300, response


@pytest.mark.parametrize(
    "key", ["PUT /v1/onboarding/preferences", "GET /v1/onboarding", "GET /v1/analytics/funnel"]
)
def test_a_database_that_hangs_mid_session_is_503_within_the_lambda_timeout_then_recovers(
    key: str, faults_org, database_url, service_database, proxy: TcpProxy
) -> None:
    route = next(route for route in ROUTES if route.route_key == key)
    service_database(via(database_url, proxy.port), DB_SOCKET_TIMEOUT_SECONDS=SHORT_TIMEOUT)
    assert call(route)[0].status == 200  # a pooled connection exists now
    proxy.freeze()  # the pooled connection (used moments ago: no ping) waits in vain, then a new one
    assert_unavailable(*call(route))
    proxy.heal()
    assert call(route)[0].status == 200


# --- Timing out on a lock ---


def test_every_route_blocked_by_a_lock_answers_503_then_succeeds_once_the_lock_is_gone(
    make_org, db: Session, engine: Engine, service_database, database_url
) -> None:
    # One organization per route (the second requests run at the same time and must not race).
    orgs = {route.route_key: f"org_lock_{n:02}" for n, route in enumerate(ROUTES)}
    db.execute(insert(Organization), [{"id": org, "name": "Locked Out"} for org in orgs.values()])
    db.execute(insert(OnboardingState), [{"organization_id": org} for org in orgs.values()])
    db.commit()
    make_ready(
        next(r for r in ROUTES if r.route_key.endswith("/extend")),
        orgs["POST /v1/onboarding/sample-data/extend"],
    )
    service_database(database_url, DB_SOCKET_TIMEOUT_SECONDS=SHORT_TIMEOUT)
    fork = multiprocessing.get_context("fork")
    released, reports = fork.Event(), fork.Queue()

    def blocked_then_released(route: HttpRoute) -> None:
        first, remaining = call(route, orgs[route.route_key])
        reports.put((route.route_key, "first", first.status, first.json, remaining))
        released.wait(timeout=60)
        second, _ = call(route, orgs[route.route_key])
        reports.put((route.route_key, "second", second.status, second.json, 0))

    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.connect() as blocker:
        blocker.execute(text(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE"))  # held until rollback
        children = [
            fork.Process(target=_in_child, args=(blocked_then_released, r), daemon=True) for r in ROUTES
        ]
        for child in children:
            child.start()
        firsts = [reports.get(timeout=60) for _ in ROUTES]
        blocker.rollback()
    released.set()
    seconds = [reports.get(timeout=60) for _ in ROUTES]
    for child in children:
        child.join(timeout=10)
    for key, _, status, body, remaining in firsts:
        assert (status, body["error"]["code"]) == (503, "database_unavailable"), key
        assert remaining > 0, key
    for key, _, status, body, _ in seconds:
        assert 200 <= status < 300, (key, body)


def _in_child(task: Callable[[HttpRoute], None], route: HttpRoute) -> None:
    container.reset(close_connections=False)  # the parent's connections stay the parent's
    task(route)


# --- A failure in the middle of a write ---


class InjectedFault:
    """Fails the Nth statement the service sends, as a dropped connection would (pg8000 'network error')."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.fail_at, self.seen, self.fired = engine, 0, 0, False

    def arm(self, fail_at: int) -> None:
        self.fail_at, self.seen, self.fired = fail_at, 0, False

    def __call__(self, *_args: Any) -> None:
        self.seen += 1
        if self.seen == self.fail_at:
            self.fired = True
            raise pg8000.dbapi.InterfaceError("network error")

    def __enter__(self) -> "InjectedFault":
        event.listen(self.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self)


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_a_failure_at_any_statement_of_a_request_leaves_nothing_half_written(
    route: HttpRoute, faults_org, db
) -> None:
    make_ready(route, ORG)
    before = org_rows(db, ORG)
    with InjectedFault(get_engine()) as fault:
        for fail_at in range(1, 50):
            fault.arm(fail_at)
            response, remaining = call(route)
            if not fault.fired:
                break  # the request has fewer statements: it ran whole
            assert_unavailable(response, remaining)
            assert org_rows(db, ORG) == before, f"statement {fail_at} failed, and something stayed written"
        else:
            pytest.fail("more than 49 statements in one request")
    assert 200 <= response.status < 300, response  # the same request, without a fault, succeeds


def test_a_failure_at_any_statement_of_the_nightly_purge_leaves_each_organization_whole(
    faults_org, db
) -> None:
    with unit_of_work() as session:
        sample_data.generate_sample_data(
            session, ORG, sample_data.SampleDataRequest(size=sample_data.SampleSize.STANDARD)
        )
    cutoff = datetime.now(UTC) + timedelta(days=100)  # the sample data counts as expired
    before = org_rows(db, ORG)

    def purged_whole() -> bool:
        state = db.scalars(select(OnboardingState).where(OnboardingState.organization_id == ORG)).one()
        rows = org_rows(db, ORG)
        return not state.sample_data_generated and not any(
            row["is_sample"] for row in rows["events"] + rows["people"] + rows["teams"]
        )

    with InjectedFault(get_engine()) as fault:
        for fail_at in range(1, 50):
            fault.arm(fail_at)
            try:
                purge.purge_expired_sample_data(
                    cutoff, batch_size=10, remaining_ms=lambda: 900_000, reserve_ms=0
                )
            except DatabaseUnavailable:
                db.expire_all()
                # The batch is one transaction: all of it happened, or none (a later statement may fail
                # after it committed: the purge is then simply retried).
                assert org_rows(db, ORG) == before or purged_whole(), f"statement {fail_at}"
                if purged_whole():
                    break
                continue
            assert not fault.fired
            break
    db.expire_all()
    assert purged_whole()
    assert int(db.scalar(select(func.count()).select_from(Organization)) or 0) == 1
