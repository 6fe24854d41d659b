"""Database access: Lambda-friendly engine, verified TLS, credentials per connection, one transaction."""

import json
import socket
import ssl
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, cast

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import QueuePool

from onboarding.db import (
    build_engine,
    connection_target,
    first_statement_alone,
    translate_database_error,
    unit_of_work,
)
from onboarding.errors import Conflict, DatabaseUnavailable
from onboarding.models import Organization
from onboarding.settings import Settings
from tests.fixtures import worker_suffix
from tools.template import functions
from tools.wire import count_round_trips


def settings(**values: object) -> Settings:
    return Settings.model_validate(values)


def test_engine_holds_one_connection_with_recycle_on_pg8000() -> None:
    engine = build_engine(settings(DATABASE_URL="postgresql://u@db.example/app", DB_TLS="disable"))
    assert cast(QueuePool, engine.pool).size() == 1
    assert 0 < engine.pool._recycle < 1800
    assert engine.dialect.driver == "pg8000"


def backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.pg_backend_pid())).scalar_one())


def test_a_commit_is_one_round_trip(local_engine, db) -> None:
    engine = local_engine()
    with engine.connect() as connection:
        connection.execute(insert(Organization).values(id="org_commit_trip", name="Committed"))
        with count_round_trips() as wire:
            connection.commit()
    assert wire.round_trips == 1
    assert db.get(Organization, "org_commit_trip") is not None


def test_a_connection_used_moments_ago_is_not_pinged(local_engine) -> None:
    engine = local_engine()
    backend_pid(engine)
    with count_round_trips() as wire, engine.begin() as connection:
        connection.execute(text("SELECT 1"))
    assert wire.round_trips == 2  # BEGIN with the statement (no parameters: one message), COMMIT


def test_a_connection_that_idled_is_pinged_once_then_used(local_engine) -> None:
    engine = local_engine(DB_PING_AFTER_IDLE_SECONDS=0.05)
    pid = backend_pid(engine)
    time.sleep(0.1)
    with count_round_trips() as wire:
        assert backend_pid(engine) == pid  # the same connection, alive
    assert wire.round_trips == 1 + 1 + 1  # the ping; BEGIN with the statement; ROLLBACK at checkin


def test_a_connection_that_died_while_idle_is_replaced_before_use(local_engine, engine) -> None:
    # What a Lambda freeze looks like: the proxy or a failover closed the pooled connection meanwhile.
    service = local_engine(DB_PING_AFTER_IDLE_SECONDS=0.05)
    pid = backend_pid(service)
    with engine.begin() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    time.sleep(0.1)
    assert backend_pid(service) != pid  # the ping failed, a new connection served the request


def test_a_connection_that_died_inside_the_idle_window_fails_once_then_is_replaced(
    local_engine, engine
) -> None:
    service = local_engine(DB_PING_AFTER_IDLE_SECONDS=3600)
    pid = backend_pid(service)
    with engine.begin() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    # pg8000 reports the reset as InterfaceError("network error") or, when the first read of the reply
    # sees it, a bare ConnectionResetError: unit_of_work answers either with a 503.
    with pytest.raises((SQLAlchemyError, OSError)) as raised:
        backend_pid(service)
    if isinstance(raised.value, SQLAlchemyError):
        assert isinstance(translate_database_error(raised.value), DatabaseUnavailable)
    assert backend_pid(service) != pid  # the pool discarded the dead connection and made a new one


def test_tls_is_verified_against_the_trust_store_by_default() -> None:
    url, connect_args = connection_target(settings(DB_HOST="proxy.example.com", DB_USER="app"))
    context = connect_args["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert url.host == "proxy.example.com"


def test_engine_refuses_a_missing_database_configuration() -> None:
    with pytest.raises(ValueError, match="DATABASE_URL"):
        build_engine(settings())


def test_iam_auth_needs_a_user() -> None:
    with pytest.raises(ValueError, match="DB_USER"):
        settings(DB_HOST="proxy.example.com", DB_IAM_AUTH="true")


@pytest.fixture
def app_role(engine: Engine) -> Iterator[str]:
    role = f"onboarding_app{worker_suffix()}"  # roles belong to the server, which xdist workers may share
    with engine.begin() as connection:
        connection.execute(text(f"DROP ROLE IF EXISTS {role}"))
        connection.execute(text(f"CREATE ROLE {role} LOGIN"))
    yield role
    with engine.begin() as connection:
        connection.execute(text(f"DROP ROLE {role}"))


def test_credentials_come_from_the_secrets_manager_secret(database_url: str, app_role: str) -> None:
    with mock_aws():
        secret = boto3.client("secretsmanager").create_secret(
            Name="onboarding/db", SecretString=json.dumps({"username": app_role, "password": "s3cret"})
        )
        engine = build_engine(
            settings(DATABASE_URL=database_url, DB_TLS="disable", DB_SECRET_ARN=secret["ARN"])
        )
        with engine.connect() as connection:
            assert connection.execute(select(func.current_user())).scalar() == app_role
        engine.dispose()


def test_unit_of_work_commits_on_success(db) -> None:
    with unit_of_work() as session:
        session.add(Organization(id="org_commit", name="Committed"))
    assert db.get(Organization, "org_commit") is not None


def test_unit_of_work_rolls_back_on_any_error(db) -> None:
    with pytest.raises(RuntimeError), unit_of_work() as session:
        session.add(Organization(id="org_rollback", name="Rolled back"))
        session.flush()
        raise RuntimeError("boom")
    assert db.get(Organization, "org_rollback") is None


def test_unique_violation_becomes_a_conflict(make_org) -> None:
    make_org("org_dup")
    with pytest.raises(Conflict), unit_of_work() as session:
        session.add(Organization(id="org_dup", name="Again"))


def test_unreachable_database_becomes_database_unavailable() -> None:
    engine = build_engine(
        settings(
            DATABASE_URL="postgresql://u@127.0.0.1:9/none", DB_TLS="disable", DB_SOCKET_TIMEOUT_SECONDS=1
        )
    )
    with pytest.raises(SQLAlchemyError) as raised, engine.connect():
        pass
    assert isinstance(translate_database_error(raised.value), DatabaseUnavailable)


def test_a_socket_error_the_driver_leaves_unwrapped_becomes_database_unavailable() -> None:
    # pg8000's TLS negotiation at connect raises a bare TimeoutError when the server never answers.
    with pytest.raises(DatabaseUnavailable), unit_of_work():
        raise TimeoutError("timed out")


def test_the_worst_database_wait_fits_in_every_api_functions_timeout() -> None:
    # A stale pooled connection to a hung database costs a ping (after idling) and a reconnect, each waiting up to
    # DB_SOCKET_TIMEOUT_SECONDS, before the 503: both must fit in the function's timeout, with room left.
    socket_timeout = Settings().db_socket_timeout_seconds
    for spec in functions().values():
        if spec.routes:
            assert 2 * socket_timeout + 3 <= spec.timeout, spec.logical_id


def test_disabled_tls_is_not_even_asked_for() -> None:
    _, connect_args = connection_target(
        settings(DATABASE_URL="postgresql://u@localhost/app", DB_TLS="disable")
    )
    assert connect_args["ssl_context"] is False


def test_a_unit_of_work_that_reads_first_sends_its_read_without_begin_or_commit(db) -> None:
    with unit_of_work() as session:
        session.execute(select(func.count()).select_from(Organization))  # the pooled connection exists
    with count_round_trips() as wire, unit_of_work(reads_first=True) as session:
        session.execute(select(func.count()).select_from(Organization).where(Organization.id == "x"))
    assert wire.round_trips == 1  # the statement alone, its parameter written in


def test_statements_after_the_first_read_are_one_transaction(db) -> None:
    with pytest.raises(RuntimeError), unit_of_work(reads_first=True) as session:
        session.execute(select(func.count()).select_from(Organization))
        session.execute(insert(Organization).values(id="org_after_read", name="After the read"))
        raise RuntimeError("the request fails after its write")
    assert db.get(Organization, "org_after_read") is None  # rolled back


def test_a_first_statement_that_writes_is_inside_the_transaction_even_when_reading_first(db) -> None:
    with pytest.raises(RuntimeError), unit_of_work(reads_first=True) as session:
        session.execute(insert(Organization).values(id="org_first_write", name="First write"))
        raise RuntimeError("the request fails after its write")
    assert db.get(Organization, "org_first_write") is None


def test_a_first_read_that_locks_is_inside_the_transaction(db, make_org) -> None:
    make_org("org_locked_read")
    with unit_of_work() as session:
        session.execute(select(func.count()).select_from(Organization))  # the pooled connection exists
    with count_round_trips() as wire, unit_of_work(reads_first=True) as session:
        session.execute(select(Organization.id).where(Organization.id == "org_locked_read").with_for_update())
    assert wire.round_trips == 2  # BEGIN with the statement, COMMIT: the lock lasts until COMMIT


def test_a_first_statement_announced_alone_is_sent_without_begin_or_commit(db) -> None:
    with unit_of_work() as session:
        session.execute(select(func.count()).select_from(Organization))  # the pooled connection exists
    with count_round_trips() as wire, unit_of_work() as session:
        first_statement_alone(session)
        session.execute(insert(Organization).values(id="org_alone", name="Alone"))
    assert wire.round_trips == 1  # the statement alone, its parameters written in
    assert db.get(Organization, "org_alone") is not None


def test_a_first_statement_alone_commits_by_itself_and_the_next_ones_are_one_transaction(db) -> None:
    with pytest.raises(RuntimeError), unit_of_work() as session:
        first_statement_alone(session)
        session.execute(insert(Organization).values(id="org_alone_1", name="Alone"))
        session.execute(insert(Organization).values(id="org_alone_2", name="After it"))
        raise RuntimeError("the request fails after both writes")
    assert db.get(Organization, "org_alone_1") is not None  # committed as it completed
    assert db.get(Organization, "org_alone_2") is None  # rolled back with the request


def test_announcing_a_statement_alone_after_the_first_changes_nothing(db) -> None:
    with pytest.raises(RuntimeError), unit_of_work() as session:
        session.execute(insert(Organization).values(id="org_late_1", name="First"))
        first_statement_alone(session)
        session.execute(insert(Organization).values(id="org_late_2", name="Second"))
        raise RuntimeError("the request fails")
    assert db.get(Organization, "org_late_1") is None and db.get(Organization, "org_late_2") is None


@pytest.mark.parametrize(
    "query",
    [
        "SELECT %s, %s",
        "SELECT '%s' || %s -- a comment with %s\n, %s",
        'SELECT "col%s", 50 %% 7, %s',
        "SELECT $$ %s $$, E'it\\'s %s', %s",
        "UPDATE t SET a = %s WHERE b = %s RETURNING c",
    ],
)
def test_the_remembered_placeholder_conversion_is_pg8000s_own(query: str) -> None:
    import pg8000.legacy

    memoized = pg8000.legacy.convert_paramstyle
    assert getattr(memoized, "memoized", False), "onboarding.db installs it on import"
    args = (1, 2, 3)
    assert memoized("format", query, args) == memoized.original("format", query, args)
    assert memoized("format", query, args) == memoized("format", query, args)  # and again, remembered


def test_tcp_connections_send_without_waiting_for_acks(local_engine, database_url) -> None:
    # Nagle's algorithm off (TCP_NODELAY): a request whose messages leave in several segments does not
    # wait for the server's delayed ACK between them. Over TCP through a loopback proxy.
    from sqlalchemy import make_url

    from tests.tcp_proxy import TcpProxy

    socket_path = make_url(database_url).query.get("unix_sock")
    if not isinstance(socket_path, str):
        pytest.skip("the proxy forwards to the embedded server's Unix socket")
    proxy = TcpProxy(socket_path)
    try:
        url = make_url(database_url).set(host="127.0.0.1", port=proxy.port, query={})
        engine = build_engine(
            settings(DATABASE_URL=url.render_as_string(hide_password=False), DB_TLS="disable")
        )
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
            sock = connection.connection.dbapi_connection._usock  # type: ignore[union-attr]
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
        engine.dispose()
    finally:
        proxy.close()


def registered_in_adapters() -> dict[int, Any]:
    """The text parsers the service registers on each new pg8000 connection, by type oid."""
    from onboarding.db import _iso_timestamp_parsers

    class Connection:
        def __init__(self) -> None:
            self.adapters: dict[int, Any] = {}

        def register_in_adapter(self, oid: int, function: Any) -> None:
            self.adapters[oid] = function

    connection = Connection()
    _iso_timestamp_parsers(connection, None)
    return connection.adapters


@pytest.mark.parametrize(
    ("oid", "text_value"),
    [
        (1184, "2026-11-29 05:33:29.123456+00"),
        (1184, "2026-11-29 05:33:29+00"),
        (1184, "2026-11-29 05:33:29.1+05:30"),
        (1184, "infinity"),
        (1184, "-infinity"),
        (1184, "0044-03-15 12:00:00+00 BC"),
        (1184, "12026-01-01 00:00:00+00"),
        (1114, "2026-11-29 05:33:29.123456"),
        (1114, "2026-11-29 05:33:29"),
        (1114, "infinity"),
    ],
)
def test_timestamps_are_read_as_pg8000_reads_them(oid: int, text_value: str) -> None:
    import pg8000.converters

    adapters = registered_in_adapters()
    pg8000s_own = pg8000.converters.timestamptz_in if oid == 1184 else pg8000.converters.timestamp_in
    assert adapters[oid](text_value) == pg8000s_own(text_value)


@pytest.mark.parametrize(
    ("oid", "text_value"),
    [
        (1185, "{}"),
        (1185, '{"2026-11-29 05:33:29.123456+00"}'),
        (1185, '{"2026-11-29 05:33:29+00","2026-11-29 05:33:29.1+05:30","2026-12-01 00:00:00+00"}'),
        (1185, '{"2026-11-29 05:33:29+00",NULL}'),
        (1185, '{infinity,"2026-11-29 05:33:29+00"}'),
        (1185, '{{"2026-11-29 05:33:29+00"},{"2026-11-30 05:33:29+00"}}'),
        (1115, '{"2026-11-29 05:33:29.123456","2026-11-29 05:33:29"}'),
        (1115, "{}"),
    ],
)
def test_timestamp_arrays_are_read_as_pg8000_reads_them(oid: int, text_value: str) -> None:
    import pg8000.converters

    adapters = registered_in_adapters()
    own = pg8000.converters.timestamptz_array_in if oid == 1185 else pg8000.converters.timestamp_array_in
    assert adapters[oid](text_value) == own(text_value)


def test_the_service_reads_timestamp_arrays(db) -> None:
    with unit_of_work() as session:
        times = session.execute(
            text(
                "SELECT ARRAY[now(), now() - interval '1 day', NULL]::timestamptz[], ARRAY[now()]::timestamptz[]"
            )
        ).one()
    assert times[0][2] is None and times[0][0] - times[0][1] == timedelta(days=1)
    assert times[1][0].tzinfo is not None


def test_an_offset_with_seconds_is_read_too() -> None:
    # Local mean time before 1900 (PostgreSQL prints the seconds); pg8000's own converter gives up.
    from datetime import timedelta

    adapters = registered_in_adapters()
    parsed = adapters[1184]("1887-01-01 00:00:00+00:09:21")
    assert parsed.utcoffset() == timedelta(minutes=9, seconds=21)


def test_the_service_reads_timestamps_with_time_zones(db) -> None:
    with unit_of_work() as session:
        now = session.execute(select(func.now())).scalar_one()
    assert now.tzinfo is not None and now.utcoffset() is not None
