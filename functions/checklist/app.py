"""Checklist function: the onboarding checklist and its manual override (`/v1/onboarding/checklist...`)."""

from onboarding import checklist, checklist_view
from onboarding.api import create_app, current_org_id, current_session, documented, lambda_entrypoint
from onboarding.auth import Group
from onboarding.measured import Given, measured
from onboarding.started import NOT_STARTED

app = create_app()
RACE = checklist.ChecklistChangedConcurrently


@app.get("/v1/onboarding/checklist", responses=documented(errors=[*NOT_STARTED, RACE]))
@measured(statements=1, why="tasks, state and counters", given=Given(settled=True))
def get_checklist() -> checklist_view.ChecklistView:
    return checklist_view.get_checklist(current_session(app), current_org_id(app))


@app.put(
    "/v1/onboarding/checklist/<task_id>",
    responses=documented(errors=[checklist.UnknownChecklistTask, *NOT_STARTED, RACE]),
)
@measured(
    statements=2,
    why="read; compare-and-swap update with its metric",
    given=Given(settled=True),
    path={"task_id": "complete_profile"},
    body=({"completed": True}, {"completed": False}),
)
def set_task_completion(
    task_id: str, override: checklist_view.ChecklistOverride
) -> checklist_view.ChecklistView:
    session, org_id = current_session(app), current_org_id(app)
    return checklist_view.set_task_completion(session, org_id, task_id, override.completed)


lambda_handler = lambda_entrypoint(app, group=Group.ORG_ADMIN)
