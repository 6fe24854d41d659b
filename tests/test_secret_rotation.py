"""Secret rotation: a password the database refuses (28P01) makes the service read the secret again, once,
bypassing its cache, and connect again; a second refusal is a 503, never a loop.

A real PostgreSQL role that must present its password (the test server trusts local connections, so
one `pg_hba.conf` line, added for this role only and removed afterwards, makes it authenticate with
SCRAM), and the secret in moto's Secrets Manager.
"""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from sqlalchemy import Engine, create_engine, func, make_url, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from onboarding import db as service_db
from onboarding.db import build_engine, translate_database_error
from onboarding.errors import DatabaseUnavailable
from onboarding.settings import Settings

ROLE = "onboarding_rotating"
FIRST, SECOND = "first-Passw0rd", "second-Passw0rd"


def _connects(url: str, password: str) -> bool:
    probe = create_engine(make_url(url).set(username=ROLE, password=password), poolclass=NullPool)
    try:
        with probe.connect():
            return True
    except SQLAlchemyError:
        return False
    finally:
        probe.dispose()


@pytest.fixture
def password_role(engine: Engine, database_url: str) -> Iterator[str]:
    """ROLE, which has to authenticate with its password (FIRST) on this server."""
    with engine.connect() as connection:
        hba_file = Path(str(connection.execute(text("SHOW hba_file")).scalar()))
    if not hba_file.is_file() or not hba_file.stat().st_mode & 0o200:
        pytest.skip("the server's pg_hba.conf is not writable here")
    original = hba_file.read_text()
    with engine.begin() as connection:
        connection.execute(text(f"DROP ROLE IF EXISTS {ROLE}"))
        connection.execute(text(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{FIRST}'"))
    # First match wins: this role authenticates, everyone else keeps the harness's trust.
    rules = f"local all {ROLE} scram-sha-256\nhost all {ROLE} 127.0.0.1/32 scram-sha-256\n"
    hba_file.write_text(rules + original)
    try:
        _reload(engine, until=lambda: not _connects(database_url, "wrong"))
        yield ROLE
    finally:
        hba_file.write_text(original)
        _reload(engine, until=lambda: _connects(database_url, "wrong"))
        with engine.begin() as connection:
            connection.execute(text(f"DROP ROLE IF EXISTS {ROLE}"))


def _reload(engine: Engine, *, until: Any) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_reload_conf()"))
    deadline = time.monotonic() + 10
    while not until():  # the postmaster rereads pg_hba.conf asynchronously
        assert time.monotonic() < deadline, "pg_hba.conf was not reloaded"
        time.sleep(0.05)


@pytest.fixture
def secret(aws, password_role: str) -> str:
    arn: str = boto3.client("secretsmanager").create_secret(
        Name="onboarding/rotating", SecretString=json.dumps({"username": password_role, "password": FIRST})
    )["ARN"]
    return arn


def service_engine(database_url: str, secret_arn: str) -> tuple[Engine, list[str]]:
    """The service's engine for the secret's user (cache of 5 minutes, as deployed) and a log of the
    GetSecretValue calls it makes."""
    service_db._secrets_provider.cache_clear()
    settings = Settings.model_validate(
        {"DATABASE_URL": database_url, "DB_TLS": "disable", "DB_SECRET_ARN": secret_arn}
    )
    assert settings.db_secret_max_age_seconds == 300
    calls: list[str] = []
    service_db._secrets_provider().client.meta.events.register(
        "before-call.secrets-manager.GetSecretValue", lambda **_: calls.append("GetSecretValue")
    )
    return build_engine(settings), calls


def rotate(secret_arn: str, engine: Engine, *, update_secret: bool = True) -> None:
    """What Secrets Manager's rotation does: a new password in the database, then in the secret."""
    with engine.begin() as connection:
        connection.execute(text(f"ALTER ROLE {ROLE} PASSWORD '{SECOND}'"))
    if update_secret:
        boto3.client("secretsmanager").put_secret_value(
            SecretId=secret_arn, SecretString=json.dumps({"username": ROLE, "password": SECOND})
        )


def current_user(engine: Engine) -> str:
    with engine.connect() as connection:
        return str(connection.execute(select(func.current_user())).scalar())


def test_the_secrets_password_is_what_the_database_demands(database_url, secret) -> None:
    assert not _connects(database_url, "wrong")
    assert _connects(database_url, FIRST)


def test_after_a_rotation_the_secret_is_read_again_once_and_the_connection_succeeds(
    database_url, secret, engine
) -> None:
    service, calls = service_engine(database_url, secret)
    assert current_user(service) == ROLE
    service.dispose()  # the container's next request opens a new connection
    rotate(secret, engine)

    assert current_user(service) == ROLE  # the cached (old) password was refused, the fresh one works
    assert calls == ["GetSecretValue", "GetSecretValue"]
    service.dispose()
    assert current_user(service) == ROLE  # and the fresh secret is cached again
    assert len(calls) == 2
    service.dispose()


def test_a_password_the_database_still_refuses_after_one_fresh_read_is_database_unavailable(
    database_url, secret, engine
) -> None:
    service, calls = service_engine(database_url, secret)
    assert current_user(service) == ROLE
    service.dispose()
    rotate(secret, engine, update_secret=False)  # the secret was not updated (a failed rotation)

    with pytest.raises(SQLAlchemyError) as raised:
        current_user(service)
    assert service_db.sqlstate(raised.value) == "28P01"
    assert isinstance(translate_database_error(raised.value), DatabaseUnavailable)
    assert len(calls) == 2  # the cached read, then exactly one fresh read: no loop
    service.dispose()
