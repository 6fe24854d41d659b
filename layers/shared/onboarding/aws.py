"""The one place boto3 clients are made: every AWS call the service makes is bounded.

botocore's defaults wait 60 s to connect and 60 s for each read, and retry: a function in a VPC without
an endpoint or NAT for the service would hang until Lambda kills it. Clients made here have connect and
read timeouts and a bounded number of attempts (botocore's standard retry mode, attempts in all):

- on a request's path (Secrets Manager, the RDS auth token, PutEvents right after a commit) the limits
  are settings (`AWS_CLIENT_*`; 1 s, 2 s, 2 attempts: about 7 s at worst), so that the API answers 503
  well inside its 15 s;
- in the background (the scheduled outbox publisher, the OrganizationCreated dead-letter queue) a more
  patient profile: nobody is waiting for an answer, and a retry is cheaper than a redelivery.

boto3 is imported on the first call only: functions and requests that never call AWS never load it.
Clients are cached per container (creating one costs tens of milliseconds).
"""

from typing import Any

from onboarding.container import per_container
from onboarding.settings import Settings, get_settings

BACKGROUND_CONNECT_TIMEOUT_SECONDS = 2.0
BACKGROUND_READ_TIMEOUT_SECONDS = 5.0
BACKGROUND_MAX_ATTEMPTS = 3


@per_container
def client(service_name: str, *, background: bool = False) -> Any:
    """A boto3 client for `service_name` with bounded waits (see the module docstring)."""
    import boto3
    from botocore.config import Config

    settings = get_settings()
    if background:
        connect, read, attempts = (
            BACKGROUND_CONNECT_TIMEOUT_SECONDS,
            BACKGROUND_READ_TIMEOUT_SECONDS,
            BACKGROUND_MAX_ATTEMPTS,
        )
    else:
        connect, read, attempts = (
            settings.aws_connect_timeout_seconds,
            settings.aws_read_timeout_seconds,
            settings.aws_max_attempts,
        )
    config = Config(
        connect_timeout=connect,
        read_timeout=read,
        # total_max_attempts counts the first try; botocore's `max_attempts` key would count retries only.
        retries={"total_max_attempts": attempts, "mode": "standard"},
    )
    return boto3.client(service_name, config=config)


def worst_case_seconds(settings: Settings | None = None) -> float:
    """An upper bound of one call on a request's path that never gets an answer: every attempt waits
    for both timeouts, and standard mode backs off up to 1 s, 2 s, ... between attempts."""
    settings = settings or get_settings()
    attempts = settings.aws_max_attempts
    backoff = sum(min(20, 2**retry) for retry in range(attempts - 1))
    per_attempt = settings.aws_connect_timeout_seconds + settings.aws_read_timeout_seconds
    return float(attempts * per_attempt + backoff)
