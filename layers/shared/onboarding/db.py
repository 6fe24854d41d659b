"""The one owner of the database engine and the unit of work.

The engine is built once per Lambda container (pool of one connection, pre-ping, recycle) and every
request runs in exactly one transaction (`unit_of_work`): commit on success, rollback on any error,
with the domain events the request staged written just before the commit (`outbox`). Driver errors
are translated here into domain errors, so no other module needs to know about pg8000 or SQLAlchemy
exception types.
"""

import ssl
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, exc, make_url
from sqlalchemy.orm import Session, sessionmaker

from onboarding import outbox
from onboarding.container import per_container
from onboarding.errors import DatabaseUnavailable, DataConflict, DomainError, InvalidInput
from onboarding.settings import Settings, get_settings

# SQLSTATE classes/codes that mean "the database, not the request, is the problem".
# connection, invalid authorization (a refused password: the service's configuration, not the request),
# resources, operator intervention, system
_UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "28", "53", "57", "58")
_UNAVAILABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock: retryable by the client
_CONFLICT_SQLSTATES = {"23505", "23503", "23P01"}  # unique, foreign key, exclusion
_INVALID_SQLSTATES = {"23502", "23514"}  # not null, check: a value the service should have rejected
INVALID_PASSWORD = "28P01"  # noqa: S105 (a SQLSTATE, not a password)


def build_engine(settings: Settings) -> Engine:
    url, connect_args = connection_target(settings)
    engine = create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        pool_recycle=settings.db_pool_recycle_seconds,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args=connect_args,
        # No per-connection SET statements and no session-level state: RDS Proxy would pin the connection.
    )
    if settings.db_secret_arn or settings.db_iam_auth:
        _fetch_credentials_per_connection(engine, settings)
    return engine


def _dispose(engine: Engine, close_connections: bool) -> None:
    engine.dispose(close=close_connections)


@per_container(on_reset=_dispose)
def get_engine() -> Engine:
    """The container's engine, created on first use (not at import, so cold starts stay cheap)."""
    return build_engine(get_settings())


@per_container
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False, autoflush=False)


AfterCommit = Callable[[Sequence[str]], object]


@contextmanager
def unit_of_work(*, after_commit: AfterCommit | None = None) -> Iterator[Session]:
    """One request, one transaction. Raises domain errors for database failures.

    The domain events staged on the session (`outbox.stage`) are inserted with one statement just
    before COMMIT, so they commit or roll back with the change; once committed, their ids are passed
    to `after_commit` (the API layer publishes them). A unit of work that staged no event pays
    nothing for events: no statement, no call.
    """
    session = _session_factory()()
    committed: list[str] = []
    try:
        yield session
        committed = outbox.write_staged(session)
        session.commit()
    except exc.SQLAlchemyError as error:
        session.rollback()
        translated = translate_database_error(error)
        if translated is None:
            raise
        raise translated from error
    except OSError as error:
        # pg8000 lets socket errors of the TLS negotiation at connect escape unwrapped (a database that
        # accepts the connection and then never answers raises a bare TimeoutError): unavailable too.
        session.rollback()
        raise DatabaseUnavailable("The database is unavailable; try again shortly.") from error
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    if committed and after_commit is not None:
        after_commit(committed)


def sqlstate(error: exc.SQLAlchemyError) -> str | None:
    """The PostgreSQL SQLSTATE of a wrapped pg8000 error, if the server sent one."""
    return _error_sqlstate(getattr(error, "orig", None))


def translate_database_error(error: exc.SQLAlchemyError) -> DomainError | None:
    """The domain error for a database failure, or None for a defect in this service (left to surface)."""
    # pg8000 reports most server errors as ProgrammingError: classify by SQLSTATE, not exception class.
    state = sqlstate(error)
    if state in _CONFLICT_SQLSTATES:
        return DataConflict("The change conflicts with the current data; reload and try again.")
    if state and (state.startswith("22") or state in _INVALID_SQLSTATES):
        return InvalidInput("A value is not acceptable to the database (for example a NUL character).")
    if state is None or state.startswith(_UNAVAILABLE_SQLSTATE_PREFIXES) or state in _UNAVAILABLE_SQLSTATES:
        # No SQLSTATE means the connection itself failed (refused, reset, timed out, pool exhausted).
        return DatabaseUnavailable("The database is unavailable; try again shortly.")
    return None


def connection_target(settings: Settings) -> tuple[URL, dict[str, Any]]:
    if not (settings.database_url or settings.db_host or settings.db_secret_arn):
        raise ValueError("no database configured: set DATABASE_URL, or DB_HOST / DB_SECRET_ARN in AWS")
    connect_args: dict[str, Any] = {"timeout": settings.db_socket_timeout_seconds}
    if settings.database_url:
        url = make_url(settings.database_url).set(drivername="postgresql+pg8000")
    else:
        url = URL.create(
            "postgresql+pg8000",
            username=settings.db_user,
            host=settings.db_host,
            port=settings.db_port,
            database=settings.db_name,
        )
    if settings.db_tls == "verify":
        context = ssl.create_default_context(cafile=settings.db_tls_ca_file)
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        connect_args["ssl_context"] = context
    else:
        # Without it pg8000 still asks the server for TLS first ("prefer"): a wasted round trip.
        connect_args["ssl_context"] = False
    return url, connect_args


def _fetch_credentials_per_connection(engine: Engine, settings: Settings) -> None:
    """Inject a password for each new connection: rotated secrets and 15-minute IAM tokens keep working.

    A password the database refuses (28P01) is what a rotation looks like from here (the cached copy of
    the secret predates it): the secret is read again once, bypassing the cache, and the connection
    tried once more. A second refusal is the database's answer (503, like any connection failure).
    """

    @event.listens_for(engine, "do_connect")
    def _connect_with_credentials(
        dialect: Any, conn_rec: Any, cargs: tuple[Any, ...], cparams: dict[str, Any]
    ) -> Any:
        if settings.db_iam_auth:
            cparams["password"] = _iam_auth_token(settings)
            return dialect.connect(*cargs, **cparams)
        _apply_secret(settings, cparams, _database_secret(settings))
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception as error:  # pg8000's own exception types: classified by SQLSTATE below
            if _error_sqlstate(error) != INVALID_PASSWORD:
                raise
        from onboarding.observability import logger  # here: importing db must not build the logger

        logger.warning("the database refused the password; reading the secret again (rotation?)")
        _apply_secret(settings, cparams, _database_secret(settings, fresh=True))
        return dialect.connect(*cargs, **cparams)


def _error_sqlstate(error: BaseException | None) -> str | None:
    """The SQLSTATE a pg8000 error carries, also when it is hidden behind the error pg8000 raised while
    cleaning up: a refused login (28P01) closes the socket, and pg8000's own close then fails with a
    "network error" whose context is the server's answer."""
    for _ in range(4):
        if error is None:
            return None
        args = getattr(error, "args", ())
        if args and isinstance(args[0], dict):
            code = args[0].get("C")
            return str(code) if code else None
        error = error.__cause__ or error.__context__
    return None


def _apply_secret(settings: Settings, cparams: dict[str, Any], secret: dict[str, Any]) -> None:
    cparams["user"] = secret.get("username", cparams.get("user"))
    cparams["password"] = secret["password"]
    if not settings.db_host and secret.get("host"):
        cparams["host"] = secret["host"]
        cparams["port"] = int(secret.get("port", settings.db_port))
    if secret.get("dbname") and settings.db_name == "postgres":
        cparams["database"] = secret["dbname"]


@per_container
def _secrets_provider() -> Any:
    """Powertools' Secrets Manager provider (its cache) over a client with bounded waits (onboarding.aws)."""
    # Imported here: Powertools parameters pulls in boto3, which only credentialed connects need.
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from onboarding import aws

    return SecretsProvider(boto3_client=aws.client("secretsmanager"))


def _database_secret(settings: Settings, *, fresh: bool = False) -> dict[str, Any]:
    from aws_lambda_powertools.utilities import parameters

    assert settings.db_secret_arn is not None
    try:
        secret = _secrets_provider().get(
            settings.db_secret_arn,
            transform="json",
            max_age=settings.db_secret_max_age_seconds,
            force_fetch=fresh,
        )
    except (parameters.GetParameterError, parameters.TransformParameterError) as error:
        raise DatabaseUnavailable("The database credentials could not be read.") from error
    if not isinstance(secret, dict) or "password" not in secret:
        raise DatabaseUnavailable("The database secret has no password.")
    return secret


def _iam_auth_token(settings: Settings) -> str:
    from onboarding import aws  # only IAM-authenticated connects call AWS

    token: str = aws.client("rds").generate_db_auth_token(
        DBHostname=settings.db_host, Port=settings.db_port, DBUsername=settings.db_user
    )
    return token
