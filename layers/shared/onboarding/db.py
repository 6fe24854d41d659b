"""The one owner of the database engine and the unit of work.

The engine is built once per Lambda container (pool of one connection, recycle, a ping only after the
connection idled) and every request runs in one unit of work (`unit_of_work`): commit on success,
rollback on any error, with the domain events the request staged written just before the commit
(`outbox`). Driver errors are translated here into domain errors, so no other module needs to know
about pg8000 or SQLAlchemy exception types.

Wire round trips are what a request pays behind RDS Proxy (0.3-1 ms each), so the engine spends as
few as pg8000's public API allows (README.md, "Database access (Lambda)"):

- a statement: 1. Its parameters are written into its text where that is provably the same statement
  (`inline_parameters`), so pg8000 sends it with the simple protocol; a statement with a value that
  cannot be written in keeps its bound parameters: 3 (pg8000's Parse, Describe, Bind+Execute, each
  with a Sync);
- a transaction: BEGIN 0 (it travels in the same message as the statement that opens the
  transaction; pg8000 would send it alone first), COMMIT 1 and ROLLBACK 1 (the simple protocol;
  pg8000's own `commit()` and `rollback()` take 3);
- a unit of work that starts with a plain read (`reads_first`: the API's GET routes) sends that read
  on its own, without BEGIN and COMMIT; if more statements follow (a GET's bookkeeping write, such as
  a first checklist completion), they run in one transaction of their own;
- a unit of work whose first statement is the whole of its change (`first_statement_alone`: the metric
  ingest's one INSERT) sends it the same way, as a transaction of its own;
- the pooled connection is pinged (1) only when it has idled `DB_PING_AFTER_IDLE_SECONDS`, as it has
  after a Lambda freeze between invocations; a busy container's back-to-back requests skip it.
"""

import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any, Final

import pg8000.dbapi
from sqlalchemy import URL, Engine, create_engine, event, exc, make_url
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.postgresql.pg8000 import PGDialect_pg8000
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor, ExceptionContext, ExecutionContext
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from onboarding import outbox
from onboarding.container import per_container
from onboarding.errors import DatabaseUnavailable, DataConflict, DomainError, InvalidInput
from onboarding.inline_parameters import inline
from onboarding.settings import Settings, get_settings

# SQLSTATE classes/codes that mean "the database, not the request, is the problem".
# connection, invalid authorization (a refused password: the service's configuration, not the request),
# resources, operator intervention, system
_UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "28", "53", "57", "58")
_UNAVAILABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock: retryable by the client
_CONFLICT_SQLSTATES = {"23505", "23503", "23P01"}  # unique, foreign key, exclusion
_INVALID_SQLSTATES = {"23502", "23514"}  # not null, check: a value the service should have rejected
INVALID_PASSWORD = "28P01"  # noqa: S105 (a SQLSTATE, not a password)


# Per pooled connection (the pool entry's `info`, kept across checkouts; cleared at checkin):
_CHECKED_IN_AT: Final = "checked_in_at"  # time.monotonic() of the last checkin
_ALONE: Final = "next_statement_alone"  # the unit of work's first statement may run without a transaction
# A transaction is open on the connection: set by the statement that opens it, cleared by COMMIT,
# ROLLBACK and checkin (pg8000 knows it too, but only in a private attribute).
_IN_TRANSACTION: Final = "in_transaction"
# What may run alone (the values of _ALONE): a plain read only, or any statement.
_PLAIN_READ_ALONE: Final = "plain read"
_ANY_ALONE: Final = "any statement"

# A statement that only reads: a SELECT that locks nothing. A WITH may hold a data-modifying CTE, and
# any doubt sends the statement inside a transaction, which is always correct.
_LOCKING_CLAUSE = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE|KEY\s+SHARE)\b", re.IGNORECASE)


@lru_cache(maxsize=512)  # once per statement text: the search scans the whole SQL (1-2 KB)
def _plain_read(statement: str) -> bool:
    return statement.lstrip()[:6].upper() == "SELECT" and _LOCKING_CLAUSE.search(statement) is None


class Pg8000Dialect(PGDialect_pg8000):
    """pg8000 with the round trips of a transaction cut to what the protocol needs.

    - COMMIT in one round trip: pg8000's `commit()` sends it with the extended protocol (Parse,
      Describe, Execute: three waits); `cursor.execute("COMMIT")` without parameters is pg8000's simple
      protocol (one wait), with the same error reporting.
    - A unit of work's first statement may run on its own (`unit_of_work(reads_first=True)`, or
      `first_statement_alone`): the connection is put in pg8000's `autocommit` mode, so pg8000 sends
      no BEGIN; the statement is its own transaction in PostgreSQL. Any later statement, or a first one
      that writes or locks where only a read was announced, turns autocommit off again first, so
      pg8000 opens a transaction (BEGIN) before it and COMMIT ends it.
    """

    supports_statement_cache = True  # a subclass must say so, or SQLAlchemy compiles every statement

    def connect(self, *cargs: Any, **cparams: Any) -> DBAPIConnection:
        """pg8000's connection over a TCP socket made here, with Nagle's algorithm off (TCP_NODELAY).

        pg8000 (given the socket by its `sock` argument, it still negotiates TLS on it and verifies
        the certificate for `host`; its connect timeout and keep-alive are set here as it would) leaves
        Nagle on, so a request whose messages leave in more than one segment (a statement with a large
        parameter, such as the sample rows) waits for the server's delayed ACK between them: +33 ms
        p50 for a sample-data request through a 0.5 ms link (bench/README.md, issue 16).
        """
        host = cparams.get("host")
        if not host or cparams.get("unix_sock") is not None:
            return super().connect(*cargs, **cparams)
        sock = _tcp_socket(host, int(cparams.get("port") or 5432), cparams.get("timeout"))
        # pg8000.connect() (what SQLAlchemy calls) does not pass `sock` on; its Connection class does.
        connection: DBAPIConnection = self.loaded_dbapi.Connection(*cargs, sock=sock, **cparams)
        return connection

    def do_execute(
        self,
        cursor: DBAPICursor,
        statement: str,
        parameters: Any,
        context: ExecutionContext | None = None,
    ) -> None:
        if context is None:  # SQLAlchemy's own statements on a new connection
            cursor.execute(statement, parameters)
            return
        _transaction_unless_alone(context, statement)
        connection = context.root_connection.connection
        if parameters and connection.dbapi_connection is not None:
            text = inline(connection.dbapi_connection.parameter_statuses, statement, parameters)
            if text is not None:
                statement, parameters = text, ()
        _send(cursor, connection, statement, parameters)

    def do_execute_no_params(
        self, cursor: DBAPICursor, statement: str, context: ExecutionContext | None = None
    ) -> None:
        if context is None:
            cursor.execute(statement)
            return
        _transaction_unless_alone(context, statement)
        _send(cursor, context.root_connection.connection, statement, ())

    def do_executemany(
        self,
        cursor: DBAPICursor,
        statement: str,
        parameters: Any,
        context: ExecutionContext | None = None,
    ) -> None:
        if context is not None:
            _transaction_unless_alone(context, "")  # never alone
            _opens_transaction(context.root_connection.connection)  # pg8000 sends the BEGIN
        cursor.executemany(statement, parameters)

    def do_rollback(self, dbapi_connection: DBAPIConnection) -> None:
        info = _info(dbapi_connection)
        if info is None or not info.pop(_IN_TRANSACTION, False):
            # pg8000 sends ROLLBACK only if the server reports a transaction open.
            dbapi_connection.rollback()
            return
        # ROLLBACK in one round trip, as COMMIT (pg8000's `rollback()` takes three).
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("ROLLBACK")
        finally:
            cursor.close()

    def do_commit(self, dbapi_connection: DBAPIConnection) -> None:
        info = _info(dbapi_connection)
        if info is not None:
            info.pop(_IN_TRANSACTION, None)
        if dbapi_connection.autocommit:
            return  # the unit of work's one read ran on its own: no transaction to end
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("COMMIT")
        finally:
            cursor.close()


def _info(connection: Any) -> dict[str, Any] | None:
    """The pool entry's info of a pooled connection; None for SQLAlchemy's first-connect probe."""
    try:
        info: dict[str, Any] = connection.info
    except NotImplementedError:
        return None
    return info


def _opens_transaction(connection: PoolProxiedConnection) -> bool:
    """Whether the next statement on `connection` opens its transaction (and note that it does)."""
    dbapi_connection = connection.dbapi_connection
    info = _info(connection)
    if info is None or dbapi_connection is None or dbapi_connection.autocommit or info.get(_IN_TRANSACTION):
        return False
    info[_IN_TRANSACTION] = True
    return True


def _send(
    cursor: DBAPICursor, connection: PoolProxiedConnection, statement: str, parameters: Sequence[Any]
) -> None:
    """Send one statement; a statement without parameters that opens the transaction carries the BEGIN.

    pg8000 opens a transaction by sending BEGIN on its own, a round trip of its own, before the first
    statement after autocommit was turned off. A statement sent as text (the simple protocol) takes
    it along instead: `BEGIN;` and the statement in one message, which PostgreSQL runs in order and
    answers with one ReadyForQuery (if the statement fails, the transaction is open and failed, and
    the unit of work rolls it back as before). A statement with parameters still follows pg8000's BEGIN.
    """
    opens = _opens_transaction(connection)
    if parameters or not opens:
        cursor.execute(statement, parameters)  # with parameters, pg8000 sends its own BEGIN first
        return
    dbapi_connection = connection.dbapi_connection
    assert dbapi_connection is not None  # _opens_transaction checked it
    dbapi_connection.autocommit = True  # pg8000 sends no BEGIN of its own: it is in the text
    try:
        cursor.execute("BEGIN;" + statement)
    finally:
        dbapi_connection.autocommit = False


def _tcp_socket(host: str, port: int, timeout: float | None) -> socket.socket:
    """A connected TCP socket as pg8000 makes one (timeout, keep-alive), plus TCP_NODELAY."""
    try:
        sock = socket.create_connection((host, port), timeout)
    except OSError as error:
        # pg8000's own error for it: SQLAlchemy then reports a DBAPI error (a 503 here).
        raise pg8000.dbapi.InterfaceError(
            f"Can't create a connection to host {host} and port {port}"
        ) from error
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    return sock


def _transaction_unless_alone(context: ExecutionContext | None, statement: str) -> None:
    """Before a statement: leave pg8000's autocommit on only for the unit of work's first statement,
    when it was announced (a plain read for `reads_first`; any for `first_statement_alone`)."""
    if context is None:
        return
    connection = context.root_connection.connection
    dbapi_connection = connection.dbapi_connection
    if dbapi_connection is None or not dbapi_connection.autocommit:
        return  # inside the transaction already
    alone = connection.info.pop(_ALONE, None)
    plain = alone == _PLAIN_READ_ALONE and _plain_read(statement)
    if not (alone == _ANY_ALONE or plain):
        dbapi_connection.autocommit = False  # pg8000 begins a transaction before this statement


def _memoize_placeholder_conversion() -> None:
    """Convert a statement's `%s` placeholders to `$1, $2, ...` once per statement text, not per execution.

    pg8000's cursor rewrites the placeholders of every statement it executes by scanning the SQL text
    character by character in Python (`convert_paramstyle`, ~0.2 ms per KB): the largest single CPU
    cost of a warm request (bench/README.md, "CPU per request"). SQLAlchemy sends the same few statement
    texts again and again (its compiled cache), and for the `format` style SQLAlchemy uses the result
    depends on the text alone (the values pass through unchanged), so it is remembered per text
    (bounded). pg8000 offers no public way to execute an already converted statement through its
    DB-API cursor, so this wraps the module function its cursor calls; the test suite checks that the
    wrapped conversion equals pg8000's own (tests/test_db.py), and the lock pins pg8000's version.
    """
    import pg8000.legacy

    convert = pg8000.legacy.convert_paramstyle
    if getattr(convert, "memoized", False):
        return

    @lru_cache(maxsize=512)
    def converted(query: str) -> str:
        statement: str = convert("format", query, ())[0]
        return statement

    def convert_paramstyle(style: str, query: str, args: Any) -> tuple[str, Any]:
        if style != "format":
            result: tuple[str, Any] = convert(style, query, args)
            return result
        return converted(query), args

    convert_paramstyle.memoized = True  # type: ignore[attr-defined]
    # bench/ (section cpu) switches back to the original to measure the difference.
    convert_paramstyle.original = convert  # type: ignore[attr-defined]
    pg8000.legacy.convert_paramstyle = convert_paramstyle


_memoize_placeholder_conversion()

DRIVER: Final = "pg8000_onboarding"
registry.register(f"postgresql.{DRIVER}", __name__, Pg8000Dialect.__name__)


def build_engine(settings: Settings) -> Engine:
    url, connect_args = connection_target(settings)
    engine = create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_recycle=settings.db_pool_recycle_seconds,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args=connect_args,
        # No per-connection SET statements and no session-level state: RDS Proxy would pin the connection.
    )
    _ping_after_idle(engine, settings.db_ping_after_idle_seconds)
    event.listen(engine, "handle_error", _socket_errors_are_disconnects)
    event.listen(engine, "connect", _iso_timestamp_parsers)
    if settings.db_secret_arn or settings.db_iam_auth:
        _fetch_credentials_per_connection(engine, settings)
    return engine


def _socket_errors_are_disconnects(context: ExceptionContext) -> None:
    """A socket error is a lost connection: the pool discards it instead of handing it out again.

    pg8000 wraps most socket errors as InterfaceError("network error"), which SQLAlchemy recognizes;
    a reset seen by the first read of a reply escapes as a bare OSError (ConnectionResetError), which
    SQLAlchemy would not, and the dead connection would go back to the pool.
    """
    if isinstance(context.original_exception, OSError):
        context.is_disconnect = True


_TIMESTAMPTZ_OID: Final = 1184
_TIMESTAMP_OID: Final = 1114
_TIMESTAMPTZ_ARRAY_OID: Final = 1185
_TIMESTAMP_ARRAY_OID: Final = 1115


def _iso_timestamp_parsers(dbapi_connection: Any, _record: ConnectionPoolEntry | None) -> None:
    """Parse timestamps with `datetime.fromisoformat` (C) instead of pg8000's `strptime` (Python: it
    looks up the locale for every value, a fifth of the driver's time decoding a tutorial list).

    PostgreSQL's text output (ISO DateStyle, which the service never changes) is ISO 8601 with a space;
    what `fromisoformat` cannot read (infinity, years before 1 or after 9999) goes to pg8000's own
    converter, as before. Through pg8000's public `register_in_adapter`, once per connection.
    """
    import pg8000.converters

    for oid, fallback in (
        (_TIMESTAMPTZ_OID, pg8000.converters.timestamptz_in),
        (_TIMESTAMP_OID, pg8000.converters.timestamp_in),
    ):
        dbapi_connection.register_in_adapter(oid, _iso_or(fallback))
    # Arrays of them (the checklist's first report views): pg8000 walks the text character by
    # character in Python and parses every element with strptime (0.4 ms for ten).
    for oid, fallback in (
        (_TIMESTAMPTZ_ARRAY_OID, pg8000.converters.timestamptz_array_in),
        (_TIMESTAMP_ARRAY_OID, pg8000.converters.timestamp_array_in),
    ):
        dbapi_connection.register_in_adapter(oid, _iso_array_or(fallback))


def _iso_or(fallback: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            return fallback(text)

    return parse


def _iso_array_or(fallback: Callable[[str], Any]) -> Callable[[str], Any]:
    """A one-dimensional array of timestamps without NULLs, `{"2026-12-06 13:31:15.3+00",...}` (the
    elements always quoted: they hold a space); anything else (NULL elements, more dimensions,
    infinity) goes to pg8000's own array parser."""

    def parse(text: str) -> Any:
        if text == "{}":
            return []
        if text.startswith('{"') and text.endswith('"}') and "{" not in text[1:] and "\\" not in text:
            try:
                return [datetime.fromisoformat(element) for element in text[2:-2].split('","')]
            except ValueError:
                pass
        return fallback(text)

    return parse


def _ping_after_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection before use when it has idled `idle_seconds` or longer.

    SQLAlchemy's `pool_pre_ping`, minus its round trip on a connection used moments ago: a Lambda
    container frozen between invocations (when RDS Proxy or a failover may have closed its
    connection) comes back idle and is pinged, and a dead connection is replaced before the request
    uses it. One serving requests back to back is not pinged; if its connection dies inside the window,
    that request fails with a 503 (nothing is committed) and the pool replaces the connection.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: DBAPIConnection | None, record: ConnectionPoolEntry) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()
        record.info.pop(_ALONE, None)
        record.info.pop(_IN_TRANSACTION, None)
        if dbapi_connection is not None:
            dbapi_connection.autocommit = False

    @event.listens_for(engine, "checkout")
    def _checked_out(
        dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
    ) -> None:
        checked_in_at = record.info.get(_CHECKED_IN_AT)
        if checked_in_at is None or time.monotonic() - checked_in_at < idle_seconds:
            return  # a new connection, or one used moments ago
        try:
            # The ping on its own (autocommit): it must not leave a transaction open.
            dbapi_connection.autocommit = True
            engine.dialect.do_ping(dbapi_connection)
            dbapi_connection.autocommit = False
        except Exception as error:
            # The pool discards this connection and checks out a new one.
            raise exc.DisconnectionError("the pooled connection failed its ping") from error


def _dispose(engine: Engine, close_connections: bool) -> None:
    engine.dispose(close=close_connections)


@per_container(on_reset=_dispose)
def get_engine() -> Engine:
    """The container's engine, created on first use (not at import, so cold starts stay cheap)."""
    return build_engine(get_settings())


@per_container
def _session_factory() -> sessionmaker[Session]:
    factory = sessionmaker(bind=get_engine(), expire_on_commit=False, autoflush=False)
    event.listen(factory, "after_begin", _first_statement_alone)
    return factory


_FIRST_STATEMENT: Final = "first_statement"  # Session.info key: what the unit of work's first statement is


def _first_statement_alone(session: Session, transaction: SessionTransaction, connection: Any) -> None:
    """When the unit of work announced its first statement (a plain read, or its whole change), let
    that statement run without BEGIN/COMMIT."""
    alone = session.info.get(_FIRST_STATEMENT)
    if alone is None:
        return
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is not None:
        connection.connection.info[_ALONE] = alone
        dbapi_connection.autocommit = True


def first_statement_alone(session: Session) -> None:
    """Announce that the unit of work's next statement, its first, is the whole of its change: it is
    sent without BEGIN and COMMIT (two round trips fewer) and commits as soon as it completes, whatever
    the request does after it. Only for a statement that either makes the request's whole change or
    writes nothing (a refusal after it must have nothing to roll back); any statement after it runs in
    a transaction of its own. No effect once the unit of work has sent a statement."""
    if not session.in_transaction():
        session.info[_FIRST_STATEMENT] = _ANY_ALONE


AfterCommit = Callable[[Sequence[str]], object]


@contextmanager
def unit_of_work(*, after_commit: AfterCommit | None = None, reads_first: bool = False) -> Iterator[Session]:
    """One request, one transaction. Raises domain errors for database failures.

    The domain events staged on the session (`outbox.stage`) are inserted with one statement just
    before COMMIT, so they commit or roll back with the change; once committed, their ids are passed
    to `after_commit` (the API layer publishes them). A unit of work that staged no event pays
    nothing for events: no statement, no call.

    `reads_first`: the unit of work starts with a plain read (a SELECT that locks nothing), which is
    sent on its own, without BEGIN and COMMIT (two round trips fewer); any statement after it runs in
    one transaction, committed or rolled back as above. Under READ COMMITTED every statement sees its
    own snapshot anyway, so the only difference is that the read's `now()` is its own. A first
    statement that writes or locks is sent inside the transaction as usual.
    """
    session = _session_factory()()
    if reads_first:
        session.info[_FIRST_STATEMENT] = _PLAIN_READ_ALONE
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
        url = make_url(settings.database_url).set(drivername=f"postgresql+{DRIVER}")
    else:
        url = URL.create(
            f"postgresql+{DRIVER}",
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
