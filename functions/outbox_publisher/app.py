"""Outbox publisher, every few minutes: sends the domain events requests could not publish.

Oldest first, in bounded batches, each batch its own transaction; stops with time to spare before the
Lambda timeout and leaves the rest for the next run. Then deletes sent events past their retention
and reports the backlog (alarm on `OutboxOldestPendingAgeSeconds`).
"""

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from onboarding import outbox_retention, publisher
from onboarding.db import unit_of_work
from onboarding.observability import logger, metrics
from onboarding.settings import get_settings

BATCH_SIZE = 50  # rows per transaction: five PutEvents calls while the rows stay locked
# Worst case for one more batch (claim, PutEvents with timeouts and retries, update) plus the clean-up.
TIME_RESERVE_MS = 25_000


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.EVENT_BRIDGE)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    report = publisher.publish_pending(
        batch_size=BATCH_SIZE,
        should_stop=lambda: context.get_remaining_time_in_millis() < TIME_RESERVE_MS,
        settings=settings,
    )
    with unit_of_work() as session:
        deleted = outbox_retention.delete_sent_before(session, timedelta(days=settings.outbox_retention_days))
        backlog = outbox_retention.backlog(session)

    metrics.add_metric(name="OutboxEventsPublished", unit=MetricUnit.Count, value=report.sent)
    metrics.add_metric(name="OutboxEventsFailed", unit=MetricUnit.Count, value=report.failed)
    metrics.add_metric(name="OutboxEventsPending", unit=MetricUnit.Count, value=backlog.pending)
    metrics.add_metric(
        name="OutboxOldestPendingAgeSeconds",
        unit=MetricUnit.Seconds,
        value=backlog.oldest_pending_age_seconds,
    )
    summary = {
        "sent": report.sent,
        "failed": report.failed,
        "batches": report.batches,
        "eventbridge_unavailable": report.unavailable,
        "pending": backlog.pending,
        "deleted_after_retention": deleted,
    }
    if report.unavailable or report.failed:
        logger.error("outbox publishing incomplete", extra={**summary, "errors": report.errors[:10]})
    else:
        logger.info("outbox published", extra=summary)
    return summary
