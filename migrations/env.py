"""Alembic environment: connects with the service's own settings (TLS, Secrets Manager, IAM auth)."""

from alembic import context
from sqlalchemy import Connection

from onboarding.db import build_engine
from onboarding.models import Base
from onboarding.settings import get_settings

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    # A connection handed in by the caller (tests, the migrations function) wins over settings.
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = build_engine(get_settings())
    try:
        with engine.connect() as connection:
            run_migrations(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) mode is not supported: the baseline migration inspects the database.")
main()
