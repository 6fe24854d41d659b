"""The 404 of a route that needs the organization's onboarding state when there is none.

Its own small module (not `state`'s): the functions that only need this answer (tutorials, metrics,
export) then never load `state` and what it imports (experiments, features, counters) at a cold start.
"""

from sqlalchemy.orm import Session

from onboarding import host_tables as host
from onboarding.errors import NotFound, OnboardingNotStarted, OrganizationNotFound


def not_started(session: Session, org_id: str) -> NotFound:
    """The 404 for an organization without an onboarding state: it does not exist, or has not started."""
    if not host.organization_exists(session, org_id):
        return OrganizationNotFound("The organization does not exist.")
    return OnboardingNotStarted(
        "Onboarding has not been started for this organization; POST /v1/onboarding first."
    )


# The 404s of every route that needs the onboarding state (all but POST /v1/onboarding).
NOT_STARTED: tuple[type[NotFound], ...] = (OnboardingNotStarted, OrganizationNotFound)
