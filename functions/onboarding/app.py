"""Onboarding function: onboarding state, the setup wizard and sample data (`/v1/onboarding...`).

Each route: validate (pydantic), one domain call in the request's unit of work (`onboarding.api`).
Status codes other than 200 are set here, and documented (with the errors particular to the route) in
its decorator. Domain events (wizard completed or skipped, a feature unlocked, even by reading the
state, sample data generated or cleared) are written in the request's transaction and published right
after its commit by that unit of work, so no route can forget to; a request that causes no event pays
nothing for it and never imports boto3.
"""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body

from onboarding import sample_data, start, started, state, wizard
from onboarding.api import create_app, current_org_id, current_session, documented, lambda_entrypoint
from onboarding.auth import Group
from onboarding.checklist import ChecklistChangedConcurrently
from onboarding.errors import DataConflict, OrganizationNotFound
from onboarding.field_errors import rules
from onboarding.measured import Given, measured

app = create_app()
NOT_STARTED = started.NOT_STARTED  # the 404s of every route but POST /v1/onboarding
# The organizations the measured paths find (onboarding/measured.py).
NOT_YET_STARTED = Given(started=False)
WITH_SAMPLE_DATA = Given(sample_data=True)


@app.post(
    "/v1/onboarding",
    responses=documented(
        {201: "Onboarding started now", 200: "Already started: the existing state, unchanged"},
        errors=[OrganizationNotFound],
    ),
)
@measured(
    "first call",
    statements=2,
    why="insert the state with its metric; read it back",
    given=NOT_YET_STARTED,
    once=True,
    status=201,
    body={"entry_point": "signup_flow"},
)
@measured(
    "again",
    statements=2,
    why="the insert that changes nothing; read it back",
    common=False,
    given=Given(step=1),
)
def start_onboarding(
    request: Annotated[start.StartRequest | None, Body(description="optional")] = None,
) -> Response[state.OnboardingStateView]:
    view, created = start.start_onboarding(current_session(app), current_org_id(app), request)
    return Response(
        status_code=201 if created else 200, content_type=content_types.APPLICATION_JSON, body=view
    )


@app.get(
    "/v1/onboarding",
    responses=documented(errors=[*NOT_STARTED, ChecklistChangedConcurrently]),
)
@measured(
    statements=1, why="the state with every counter and the checklist's tasks", given=Given(settled=True)
)
def get_onboarding() -> wizard.OnboardingOverview:
    return wizard.get_overview(current_session(app), current_org_id(app))


@app.put(
    "/v1/onboarding/wizard/steps/<step>",
    responses=documented(
        errors=[wizard.UnknownWizardStep, *NOT_STARTED, wizard.StepOutOfSequence, wizard.StepAlreadyCompleted]
    ),
    openapi_extensions=rules(wizard.STEP_RULES),
)
@measured(
    "next step",
    statements=2,
    why="lock and read; update with its metric",
    given=Given(step=1),
    once=True,
    path={"step": "1"},
    body="wizard step 1",
)
@measured(
    "edit an earlier step",
    statements=2,
    why="lock and read; update",
    common=False,
    path={"step": "1"},
    body="wizard step 1",
)
@measured(
    "first event, created",
    statements=2,
    why="lock and read; update with its metric and the event row",
    common=False,
    given=Given(step=2),
    once=True,
    path={"step": "2"},
    body="wizard step 2",
)
@measured(
    "volunteers, invited",
    statements=4,
    why="lock and read; the people rows; update with its metric; the invitation event",
    common=False,
    given=Given(step=4),
    once=True,
    path={"step": "4"},
    body="wizard step 4",
)
@measured(
    "draft",
    statements=2,
    why="lock and read; update",
    common=False,
    given=Given(step=1),
    path={"step": "1"},
    body={"organization_name": "Grace", "completed": False},
)
@measured(
    "last step, completes",
    statements=3,
    why="lock and read; update with its metrics; the event",
    common=False,
    given=Given(step=5),
    once=True,
    path={"step": "5"},
    body="wizard step 5",
)
def save_wizard_step(step: str, body: Annotated[dict[str, Any], Body()]) -> state.OnboardingStateView:
    # The body's model depends on the step in the path, so the domain validates it (same 422 shape).
    return wizard.save_step(current_session(app), current_org_id(app), step, body)


@app.post(
    "/v1/onboarding/wizard/skip",
    responses=documented(errors=[*NOT_STARTED, wizard.WizardAlreadyCompleted]),
)
@measured(
    statements=3, why="lock and read; update with its metric; the event", given=Given(step=2), once=True
)
def skip_wizard() -> state.OnboardingStateView:
    return wizard.skip_wizard(current_session(app), current_org_id(app))


@app.put("/v1/onboarding/preferences", responses=documented(errors=NOT_STARTED))
@measured(
    statements=2,
    why="lock and read; update",
    body=({"show_all_features": True}, {"show_all_features": False}),
)
def set_preferences(preferences: wizard.PreferencesRequest) -> state.OnboardingStateView:
    return wizard.set_preferences(current_session(app), current_org_id(app), preferences)


@app.post(
    "/v1/onboarding/sample-data",
    responses=documented(
        {201: "Sample data generated"},
        # DataConflict: the host's own constraints on its tables may refuse the sample rows.
        errors=[*NOT_STARTED, sample_data.SampleDataExists, DataConflict],
    ),
)
@measured(
    statements=4,
    why="lock and read; the four tables; flags with the metric; the event",
    once=True,
    status=201,
    body={"size": "standard", "expiry_days": 30},
)
def generate_sample_data(request: sample_data.SampleDataRequest) -> Response[sample_data.SampleDataStatus]:
    status = sample_data.generate_sample_data(current_session(app), current_org_id(app), request)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=status)


@app.get("/v1/onboarding/sample-data", responses=documented(errors=NOT_STARTED))
@measured(statements=1, why="the state with its sample rows", given=WITH_SAMPLE_DATA)
def get_sample_data() -> sample_data.SampleDataStatus:
    return sample_data.sample_data_status(current_session(app), current_org_id(app))


@app.delete("/v1/onboarding/sample-data", responses=documented(errors=NOT_STARTED))
@measured(
    statements=4,
    why="lock and read; the four tables; flags with the metric; the event",
    given=WITH_SAMPLE_DATA,
    once=True,
)
def delete_sample_data() -> sample_data.SampleDataCleared:
    return sample_data.clear_sample_data(current_session(app), current_org_id(app), reason="manual")


@app.post(
    "/v1/onboarding/sample-data/extend",
    responses=documented(errors=[*NOT_STARTED, sample_data.NoSampleData]),
)
@measured(statements=2, why="lock and read; update", given=WITH_SAMPLE_DATA, body={"days": 7})
def extend_sample_data(request: sample_data.ExtendRequest) -> sample_data.SampleDataExtended:
    return sample_data.extend_sample_data(current_session(app), current_org_id(app), request)


lambda_handler = lambda_entrypoint(app, group=Group.ORG_ADMIN)
