"""Migrations function: `alembic upgrade head` against the service's database, invoked after each deploy.

Packaged with the alembic scripts (this directory is the function's code) and the shared layer, and
connecting through the service's own settings (RDS Proxy, TLS, the secret or IAM auth). The whole
upgrade is one transaction (PostgreSQL has transactional DDL) under an advisory lock, so a failed
migration leaves the schema as it was and two concurrent invocations run one after the other. Its
DDL waits at most MIGRATION_LOCK_TIMEOUT_MS for a lock and runs at most MIGRATION_STATEMENT_TIMEOUT_MS
(migrations/env.py); then the whole upgrade fails and rolls back, and can simply be invoked again.

Event: `{}` or `{"action": "upgrade"}` upgrades to head; `{"action": "status"}` only reports.
The answer: `{"action", "previous_revision", "current_revision", "head_revision"}`.
"""

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from aws_lambda_powertools.utilities.typing import LambdaContext
from sqlalchemy import Connection, func, select

from onboarding.db import build_engine
from onboarding.observability import logger
from onboarding.settings import get_settings

SCRIPT_LOCATION = Path(__file__).resolve().parent
# pg_advisory_xact_lock key: "onboarding migrations" (any constant works; it only has to be shared).
MIGRATION_LOCK_KEY = 0x6F6E626F61726431
ACTIONS = ("upgrade", "status")


def alembic_config(connection: Connection) -> Config:
    """Alembic's configuration built in code: no alembic.ini in the package, env.py uses `connection`."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any] | None, context: LambdaContext) -> dict[str, Any]:
    action = (event or {}).get("action", "upgrade")
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    # A short-lived engine of its own: this function runs rarely and must not keep a connection open.
    # Its socket waits as long as a statement may run (the API path's 5 s would cut a long migration).
    engine = build_engine(get_settings().for_migrations())
    try:
        with engine.begin() as connection:
            connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
            config = alembic_config(connection)
            head = ScriptDirectory.from_config(config).get_current_head()
            previous = MigrationContext.configure(connection).get_current_revision()
            if action == "upgrade" and previous != head:
                logger.info("upgrading schema", extra={"from_revision": previous, "to_revision": head})
                command.upgrade(config, "head")
            current = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    result = {
        "action": action,
        "previous_revision": previous,
        "current_revision": current,
        "head_revision": head,
    }
    logger.info("migrations done", extra=result)
    return result
