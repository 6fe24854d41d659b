"""Database access: Lambda-friendly engine, verified TLS, credentials per connection, one transaction."""

import json
import ssl
from collections.abc import Iterator
from typing import cast

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import QueuePool

from onboarding.db import build_engine, connection_target, translate_database_error, unit_of_work
from onboarding.errors import Conflict, DatabaseUnavailable
from onboarding.models import Organization
from onboarding.settings import Settings
from tests.fixtures import worker_suffix
from tools.template import functions


def settings(**values: object) -> Settings:
    return Settings.model_validate(values)


def test_engine_holds_one_connection_with_pre_ping_and_recycle() -> None:
    engine = build_engine(settings(DATABASE_URL="postgresql://u@db.example/app", DB_TLS="disable"))
    assert cast(QueuePool, engine.pool).size() == 1
    assert engine.pool._pre_ping is True
    assert 0 < engine.pool._recycle < 1800
    assert engine.dialect.driver == "pg8000"


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
    # A stale pooled connection to a hung database costs a pre-ping and a reconnect, each waiting up to
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
