"""Purge function: nightly (EventBridge Scheduler, 03:00 UTC), deletes expired sample data. No HTTP.

The cutoff is the scheduled time the Scheduler put in the event (`time`), not the clock: retries and
late deliveries purge exactly what the scheduled run would have. Counts go out as CloudWatch metrics
(Powertools EMF) and one structured log line.
"""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from onboarding import purge
from onboarding.observability import logger, metrics
from onboarding.settings import get_settings


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.EVENT_BRIDGE)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        invocation = purge.scheduled_invocation(event, now=datetime.now(UTC))
    except purge.InvalidScheduledEvent:
        metrics.add_metric(name="InvalidScheduledEvents", unit=MetricUnit.Count, value=1)
        logger.exception("the purge was invoked with an unusable event")
        raise
    logger.append_keys(
        scheduled_time=invocation.time.isoformat(),
        execution_id=invocation.detail.get("execution_id") or invocation.id,
    )
    settings = get_settings()
    report = purge.purge_expired_sample_data(
        invocation.time,
        batch_size=settings.purge_batch_size,
        remaining_ms=context.get_remaining_time_in_millis,
        reserve_ms=settings.purge_time_reserve_ms,
    )
    _publish(report)
    if report.organizations_failed:
        logger.error("sample data purge incomplete", extra=report.model_dump(mode="json"))
        raise purge.PurgeIncomplete(
            f"{len(report.organizations_failed)} organizations could not be purged; the rest was."
        )
    logger.info("sample data purge finished", extra=report.model_dump(mode="json"))
    return report.model_dump(mode="json")


def _publish(report: purge.PurgeReport) -> None:
    counts = {
        "OrganizationsPurged": report.organizations_purged,
        "OrganizationsFailed": len(report.organizations_failed),
        "OrganizationsRemaining": report.organizations_remaining,
        "PurgeBatches": report.batches,
        "PurgeStoppedEarly": int(report.stopped_early),
        "SampleEventsDeleted": report.rows_deleted.events,
        "SampleTeamsDeleted": report.rows_deleted.teams,
        "SampleVolunteersDeleted": report.rows_deleted.volunteers,
        "SampleAssignmentsDeleted": report.rows_deleted.assignments,
        # SampleDataCleared events sent right after their batch (the outbox publisher sends the rest).
        "SampleDataClearedEventsPublished": report.events_published,
    }
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    metrics.add_metadata(key="cutoff", value=report.cutoff.isoformat())
