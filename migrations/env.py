"""Alembic environment: connects with the service's own settings (TLS, Secrets Manager, IAM auth).

The upgrade runs in one transaction with `lock_timeout` and `statement_timeout` set for that
transaction only (`set_config(..., is_local => true)`, i.e. SET LOCAL): an ALTER TABLE of a host table
queued behind a long-running query would otherwise hold every later query on that table behind it
for as long as it waits. A SET is fine here, unlike on the API's path: the migrations run on their own
short-lived connection (the migrations function's engine is disposed after each run, and through RDS
Proxy a pinned connection is released when the client disconnects), and SET LOCAL ends with the
transaction anyway.
"""

from alembic import context
from sqlalchemy import Connection, func, select

from onboarding.db import build_engine
from onboarding.metric_partitions import include_in_autogenerate
from onboarding.models import Base
from onboarding.settings import get_settings

target_metadata = Base.metadata


def set_migration_timeouts(connection: Connection) -> None:
    """lock_timeout and statement_timeout (MIGRATION_LOCK_TIMEOUT_MS, MIGRATION_STATEMENT_TIMEOUT_MS) for
    the current transaction only."""
    settings = get_settings()
    connection.execute(
        select(
            func.set_config("lock_timeout", f"{settings.migration_lock_timeout_ms}ms", True),
            func.set_config("statement_timeout", f"{settings.migration_statement_timeout_ms}ms", True),
        )
    )


def run_migrations(connection: Connection) -> None:
    set_migration_timeouts(connection)
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        # onboarding_metric's monthly partitions are kept by onboarding.metric_partitions, not the models.
        include_name=include_in_autogenerate,
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
    engine = build_engine(get_settings().for_migrations())
    try:
        with engine.connect() as connection:
            run_migrations(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) mode is not supported: the baseline migration inspects the database.")
main()
