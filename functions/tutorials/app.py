"""Tutorials function: the five tutorials and the org's progress (`/v1/onboarding/tutorials...`)."""

from onboarding import tutorials
from onboarding.api import create_app, current_org_id, current_session, documented, lambda_entrypoint
from onboarding.auth import Group

app = create_app()
UNKNOWN = "No tutorial has this id, or the organization does not exist"
FINISHED = "The tutorial is in the other end state (completed or skipped); view it to replay it"


@app.get("/v1/onboarding/tutorials")
def list_tutorials() -> tutorials.TutorialList:
    return tutorials.list_tutorials(current_session(app), current_org_id(app))


@app.post("/v1/onboarding/tutorials/<tutorial_id>/views", responses=documented(errors={404: UNKNOWN}))
def record_view(tutorial_id: str) -> tutorials.TutorialView:
    return tutorials.record_view(current_session(app), current_org_id(app), tutorial_id)


@app.put(
    "/v1/onboarding/tutorials/<tutorial_id>/progress",
    responses=documented(
        errors={404: UNKNOWN, 409: "The tutorial is completed or skipped; view it to replay it"}
    ),
)
def set_progress(tutorial_id: str, progress: tutorials.TutorialProgressUpdate) -> tutorials.TutorialView:
    session, org_id = current_session(app), current_org_id(app)
    return tutorials.set_progress(session, org_id, tutorial_id, progress.steps_completed)


@app.post(
    "/v1/onboarding/tutorials/<tutorial_id>/complete",
    responses=documented(errors={404: UNKNOWN, 409: FINISHED}),
)
def complete(tutorial_id: str) -> tutorials.TutorialView:
    return tutorials.complete(current_session(app), current_org_id(app), tutorial_id)


@app.post(
    "/v1/onboarding/tutorials/<tutorial_id>/skip",
    responses=documented(errors={404: UNKNOWN, 409: FINISHED}),
)
def skip(tutorial_id: str) -> tutorials.TutorialView:
    return tutorials.skip(current_session(app), current_org_id(app), tutorial_id)


lambda_handler = lambda_entrypoint(app, group=Group.ORG_ADMIN)
