"""Events from the SignUpFlow host application that onboarding reacts to: `OrganizationCreated`.

A new organization gets its onboarding state exactly as `POST /v1/onboarding` would create it (the
same domain function, idempotent: a redelivered or duplicate event changes nothing). What happens
to events that cannot be processed is in docs/events.md:

- malformed (retrying can never help): parked on the dead-letter queue with the reason, and the
  invocation succeeds, so nothing retries it;
- unknown organization (the host's row may not be visible yet): `UnknownOrganization` is raised, so
  Lambda's asynchronous retries try again and, once they are exhausted, its on-failure destination
  (the same queue) receives the event.
"""

import json
from typing import Any, Protocol

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from onboarding import start, state
from onboarding.container import per_container
from onboarding.errors import NotFound
from onboarding.ids import HOST_ID_PATTERN
from onboarding.observability import logger
from onboarding.settings import Settings, get_settings

MALFORMED_EVENT = "malformed_event"


class OrganizationCreatedDetail(BaseModel):
    # A tolerant reader: the host may add fields to its event without breaking this consumer.
    model_config = ConfigDict(extra="ignore", frozen=True)

    organization_id: str = Field(pattern=HOST_ID_PATTERN)
    # Part of the host's event but not stored: the wizard's first step asks the organization for its
    # name and timezone, exactly as after `POST /v1/onboarding`.
    name: str | None = None
    timezone: str | None = None


class OrganizationCreated(EventBridgeModel):
    detail: OrganizationCreatedDetail


class MalformedEvent(Exception):
    """An event this consumer can never process; `errors` say where and why (never the values)."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("malformed event: " + "; ".join(f"{e['field']}: {e['reason']}" for e in errors))
        self.errors = errors


class UnknownOrganization(Exception):
    """No organizations row for the event's organization (yet): retried, then dead-lettered by Lambda."""


def parse_organization_created(event: object) -> OrganizationCreated:
    try:
        return OrganizationCreated.model_validate(event)
    except ValidationError as error:
        raise MalformedEvent(
            [
                {"field": ".".join(str(part) for part in item["loc"]) or "event", "reason": item["msg"]}
                for item in error.errors(include_input=False, include_url=False)
            ]
        ) from error


def start_onboarding_for(
    session: Session, event: OrganizationCreated
) -> tuple[state.OnboardingStateView, bool]:
    """Create the organization's onboarding state (True) or return the existing one (False)."""
    try:
        return start.start_onboarding(session, event.detail.organization_id)
    except NotFound as error:
        # The host owns organizations: never create one here. Its row may simply not be visible yet.
        raise UnknownOrganization(f"organization {event.detail.organization_id!r} does not exist") from error


class SqsClient(Protocol):
    def send_message(self, **kwargs: Any) -> dict[str, Any]: ...


@per_container
def sqs_client() -> SqsClient:
    from onboarding import aws  # only a malformed event needs SQS (and boto3)

    # The background profile: an asynchronous invocation, nobody waits for its answer.
    client: SqsClient = aws.client("sqs", background=True)
    return client


def dead_letter(
    event: object,
    reason: str,
    error: Exception,
    *,
    settings: Settings | None = None,
    client: SqsClient | None = None,
) -> str:
    """Park `event` unchanged on the dead-letter queue, with why as message attributes; the message id.

    Raises when there is no queue or SQS refuses: the invocation then fails and Lambda's own retries
    and on-failure destination take over, so the event is not lost either way.
    """
    settings = settings or get_settings()
    if settings.dead_letter_queue_url is None:
        raise RuntimeError("DEAD_LETTER_QUEUE_URL is not set: cannot dead-letter the event") from error
    response = (client or sqs_client()).send_message(
        QueueUrl=settings.dead_letter_queue_url,
        MessageBody=json.dumps(event, default=str),
        MessageAttributes={
            "reason": {"DataType": "String", "StringValue": reason},
            "error": {"DataType": "String", "StringValue": str(error)[:1000] or type(error).__name__},
        },
    )
    message_id = str(response["MessageId"])
    logger.warning("event dead-lettered", extra={"reason": reason, "dlq_message_id": message_id})
    return message_id
