"""Tutorials function: the five tutorials and the org's progress (`/v1/onboarding/tutorials...`)."""

from onboarding import tutorials
from onboarding.api import create_app, current_org_id, current_session, documented, lambda_entrypoint
from onboarding.auth import Group
from onboarding.errors import NotFound
from onboarding.measured import Given, measured
from onboarding.started import NOT_STARTED

app = create_app()
UNKNOWN: tuple[type[NotFound], ...] = (tutorials.UnknownTutorial, *NOT_STARTED)
# The organization the measured paths find (onboarding/measured.py): three tutorials in progress.
IN_PROGRESS = Given(tutorials=(("events_intro", 4), ("teams_setup", 3), ("solver_run", 6)))


@app.get("/v1/onboarding/tutorials", responses=documented(errors=NOT_STARTED))
@measured(statements=1, given=IN_PROGRESS)
def list_tutorials() -> tutorials.TutorialList:
    return tutorials.list_tutorials(current_session(app), current_org_id(app))


@app.post("/v1/onboarding/tutorials/<tutorial_id>/views", responses=documented(errors=UNKNOWN))
@measured(
    statements=2,
    why="upsert-lock; update with its metrics",
    given=IN_PROGRESS,
    path={"tutorial_id": "events_intro"},
)
def record_view(tutorial_id: str) -> tutorials.TutorialView:
    return tutorials.record_view(current_session(app), current_org_id(app), tutorial_id)


@app.put(
    "/v1/onboarding/tutorials/<tutorial_id>/progress",
    responses=documented(
        errors=[*UNKNOWN, tutorials.TutorialAlreadyCompleted, tutorials.TutorialAlreadySkipped]
    ),
)
@measured(
    statements=2,
    why="upsert-lock; update",
    given=IN_PROGRESS,
    path={"tutorial_id": "events_intro"},
    body=({"steps_completed": 1}, {"steps_completed": 2}),
)
def set_progress(tutorial_id: str, progress: tutorials.TutorialProgressUpdate) -> tutorials.TutorialView:
    session, org_id = current_session(app), current_org_id(app)
    return tutorials.set_progress(session, org_id, tutorial_id, progress.steps_completed)


@app.post(
    "/v1/onboarding/tutorials/<tutorial_id>/complete",
    responses=documented(errors=[*UNKNOWN, tutorials.TutorialAlreadySkipped]),
)
@measured(
    statements=2,
    why="upsert-lock; update with its metric",
    given=Given(tutorials=(("events_intro", 4),)),
    once=True,
    path={"tutorial_id": "events_intro"},
)
def complete(tutorial_id: str) -> tutorials.TutorialView:
    return tutorials.complete(current_session(app), current_org_id(app), tutorial_id)


@app.post(
    "/v1/onboarding/tutorials/<tutorial_id>/skip",
    responses=documented(errors=[*UNKNOWN, tutorials.TutorialAlreadyCompleted]),
)
@measured(
    statements=2,
    why="upsert-lock; update with its metric",
    given=Given(tutorials=(("teams_setup", 3),)),
    once=True,
    path={"tutorial_id": "teams_setup"},
)
def skip(tutorial_id: str) -> tutorials.TutorialView:
    return tutorials.skip(current_session(app), current_org_id(app), tutorial_id)


lambda_handler = lambda_entrypoint(app, group=Group.ORG_ADMIN)
