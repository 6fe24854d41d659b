"""OrganizationCreated consumer: an EventBridge rule on the host's event starts the organization's onboarding.

Idempotent (a redelivered or duplicate event changes nothing). Malformed events go to the dead-letter
queue and the invocation succeeds (never retried); an unknown organization fails the invocation, so
Lambda retries it and then hands it to its on-failure destination (docs/events.md). Reading the new
state may unlock features the organization already earned: like `POST /v1/onboarding`, the function
publishes their `FeatureUnlocked` events right after its commit.
"""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from onboarding import host_events
from onboarding.db import unit_of_work
from onboarding.observability import logger, metrics
from onboarding.publisher import publish_after_commit


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.EVENT_BRIDGE)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        signup = host_events.parse_organization_created(event)
    except host_events.MalformedEvent as error:
        metrics.add_metric(name="OrganizationCreatedMalformed", unit=MetricUnit.Count, value=1)
        logger.error("malformed OrganizationCreated event", extra={"errors": error.errors})
        host_events.dead_letter(event, host_events.MALFORMED_EVENT, error)
        return {"status": "dead_lettered", "reason": host_events.MALFORMED_EVENT}

    logger.append_keys(org_id=signup.detail.organization_id, event_id=signup.id)
    try:
        with unit_of_work(after_commit=publish_after_commit) as session:
            state, created = host_events.start_onboarding_for(session, signup)
    except host_events.UnknownOrganization:
        metrics.add_metric(name="OrganizationCreatedUnknownOrganization", unit=MetricUnit.Count, value=1)
        logger.warning("unknown organization: failing the invocation so that Lambda retries it")
        raise
    metrics.add_metric(name="OnboardingStartedFromSignup", unit=MetricUnit.Count, value=int(created))
    logger.info("onboarding started" if created else "onboarding already started")
    return {"status": "created" if created else "unchanged", "organization_id": state.organization_id}
