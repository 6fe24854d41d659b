"""Onboarding function: onboarding state and the setup wizard (`/v1/onboarding...`)."""

from aws_lambda_powertools.event_handler import Response, content_types

from onboarding import wizard
from onboarding.api import create_app, current_org_id, lambda_entrypoint
from onboarding.auth import Group
from onboarding.db import unit_of_work

app = create_app()


@app.post("/v1/onboarding")
def start_onboarding() -> Response[wizard.OnboardingStateView]:
    with unit_of_work() as session:
        state, created = wizard.start_onboarding(session, current_org_id(app))
    return Response(
        status_code=201 if created else 200, content_type=content_types.APPLICATION_JSON, body=state
    )


@app.get("/v1/onboarding")
def get_onboarding() -> wizard.OnboardingStateView:
    with unit_of_work() as session:
        return wizard.get_onboarding(session, current_org_id(app))


lambda_handler = lambda_entrypoint(app, group=Group.ORG_ADMIN)
