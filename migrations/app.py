"""Migrations function: `alembic upgrade head` against the service's database, invoked after each deploy.

Packaged with the alembic scripts (this directory is the function's code) and the shared layer, and
connecting through the service's own settings (RDS Proxy, TLS, the secret or IAM auth). The whole
upgrade is one transaction (PostgreSQL has transactional DDL) under an advisory lock, so a failed
migration leaves the schema as it was and two concurrent invocations run one after the other. Its
DDL waits at most MIGRATION_LOCK_TIMEOUT_MS for a lock and runs at most MIGRATION_STATEMENT_TIMEOUT_MS
(migrations/env.py); then the whole upgrade fails and rolls back, and can simply be invoked again.

Event: `{}` or `{"action": "upgrade"}` upgrades to head; `{"action": "status"}` only reports.
The answer: `{"action", "previous_revision", "current_revision", "head_revision"}`.

The two other things only the schema's owner may do run here too, so no other function holds DDL
rights (`onboarding.metric_partitions`):

- `{"action": "maintain_metric_partitions", "time": "<scheduled time>"}`, nightly on its own
  schedule: the next months' partitions of onboarding_metric, the default partition emptied into
  its months, partitions older than 12 months moved to the archive. Answers its report.
- `{"action": "prepare_metric_partitioning"}`, once, before deploying migration 0008 onto a large
  onboarding_metric: builds online what lets that upgrade lock the table for milliseconds only.
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import Connection, Engine, func, select

from onboarding import metric_partitions
from onboarding.db import build_engine
from onboarding.observability import logger, metrics
from onboarding.settings import get_settings

SCRIPT_LOCATION = Path(__file__).resolve().parent
# pg_advisory_xact_lock key: "onboarding migrations", shared with the partition maintenance.
MIGRATION_LOCK_KEY = metric_partitions.SCHEMA_LOCK_KEY
SCHEMA_ACTIONS = ("upgrade", "status")
MAINTAIN, PREPARE = "maintain_metric_partitions", "prepare_metric_partitioning"
ACTIONS = (*SCHEMA_ACTIONS, MAINTAIN, PREPARE)


class Invocation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    action: str = "upgrade"
    # The schedule's time (`<aws.scheduler.scheduled-time>`): retries maintain as of the same moment.
    time: AwareDatetime | None = None


def alembic_config(connection: Connection) -> Config:
    """Alembic's configuration built in code: no alembic.ini in the package, env.py uses `connection`."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any] | None, context: LambdaContext) -> dict[str, Any]:
    invocation = Invocation.model_validate(event or {})
    action = invocation.action
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    now = invocation.time or datetime.now(UTC)
    # A short-lived engine of its own: this function runs rarely and must not keep a connection open.
    # Its socket waits as long as a statement may run (the API path's 5 s would cut a long migration).
    settings = get_settings()
    engine = build_engine(settings.for_migrations())
    try:
        if action == MAINTAIN:
            return _maintain(engine, now, context)
        if action == PREPARE:
            prepared = metric_partitions.prepare(
                engine, now, statement_timeout_ms=settings.migration_statement_timeout_ms
            )
            logger.info("onboarding_metric prepared for partitioning", extra=prepared)
            return prepared
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


def _maintain(engine: Engine, now: datetime, context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    limits = metric_partitions.Limits(
        lock_timeout_ms=settings.migration_lock_timeout_ms,
        statement_timeout_ms=settings.migration_statement_timeout_ms,
        remaining_ms=context.get_remaining_time_in_millis,
        # Room for one more step at its longest (its statement timeout), and the answer.
        reserve_ms=settings.migration_statement_timeout_ms + 10_000,
    )
    report = metric_partitions.maintain(
        engine,
        now,
        limits,
        months_ahead=settings.metric_partitions_ahead,
        retention_months=settings.metric_retention_months,
    )
    for name, value in {
        "MetricPartitionsCreated": len(report.partitions_created),
        "MetricRowsMovedFromDefault": report.rows_moved_from_default,
        "MetricPartitionsArchived": len(report.partitions_archived),
        "MetricRowsArchived": report.rows_archived,
        "MetricPartitionStepsDeferred": len(report.deferred),
        "MetricEventKeysDeleted": report.event_keys_deleted,
    }.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    answer = {"action": MAINTAIN, **report.model_dump(mode="json")}
    logger.info("metric partitions maintained", extra=answer)
    return answer
