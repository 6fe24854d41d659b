"""Cognito pre token generation trigger (event version V2_0): the organization claim in access tokens.

Cognito access tokens carry no custom attributes, so a web client that sends its access token would
get 401 on every org route. Attached to the user pool as its V2_0 pre token generation trigger
(docs/deployment.md; the Essentials or Plus feature plan), this function adds the user's organization
attribute to the access token under the claim name the API reads (`custom:org_id`, ORG_ID_CLAIM), and
to the ID token as well, so that both tokens name the organization the same way. Groups need nothing:
both tokens carry `cognito:groups`, which is passed back unchanged.

No database and no AWS calls: Cognito waits at most 5 seconds for a trigger, and sign-in fails when
the trigger fails. Nothing personal is logged (the event holds the user's attributes).
"""

from typing import Any

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event import (
    PreTokenGenerationV2TriggerEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from onboarding.auth import organization_claims
from onboarding.observability import logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@event_source(data_class=PreTokenGenerationV2TriggerEvent)
def lambda_handler(event: PreTokenGenerationV2TriggerEvent, context: LambdaContext) -> dict[str, Any]:
    claims = organization_claims(event.request.user_attributes)
    details = event.response.claims_scope_override_details
    details.access_token_generation.claims_to_add_or_override = claims
    details.id_token_generation.claims_to_add_or_override = claims
    # Cognito replaces the groups with what the response says: hand the user's groups back as they are.
    details.group_configuration = dict(event.request.group_configuration.raw_event)
    logger.debug(
        "token claims added",
        extra={"trigger_source": event.trigger_source, "organization_claim": bool(claims)},
    )
    return event.raw_event
