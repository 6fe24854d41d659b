"""The checklist as its routes show it (GET /v1/onboarding/checklist, PUT .../tasks/{task_id}): every
active task with its texts and completion, the progress, the next task to do; and the manual override.

The tasks, their criteria, the evaluation and the stored progress are `checklist`. The onboarding
function shows only the progress (`checklist.checklist_summary`), so it never builds these models: a
module of their own keeps them out of its cold start (bench/README.md, "Cold start";
`tests/test_function_imports.py`).
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictBool
from sqlalchemy.orm import Session

from onboarding import i18n
from onboarding.checklist import (
    TASK_IDS,
    ChecklistProgress,
    ChecklistSnapshot,
    ProgressEntry,
    UnknownChecklistTask,
    is_completed,
    progress,
    settle,
)
from onboarding.field_errors import field_error


class ChecklistTaskView(BaseModel):
    id: str
    title_key: str
    description_key: str
    title: str  # in the request's language (i18n)
    description: str
    icon: str | None
    quick_action_url: str | None
    order: int
    completed: bool
    completed_at: datetime | None
    # "auto" when detected from the org's data, "manual" when set through the override route.
    completion_source: Literal["auto", "manual"] | None
    # Automatic completions: when the service first saw the task done (completed_at may be earlier).
    first_detected_at: datetime | None


class ChecklistView(BaseModel):
    tasks: list[ChecklistTaskView]
    progress: ChecklistProgress
    next_recommended_task: str | None


class ChecklistOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")

    completed: StrictBool


def _view(snapshot: ChecklistSnapshot, entries: Mapping[str, ProgressEntry]) -> ChecklistView:
    tasks = []
    for task in snapshot.tasks:
        entry = entries.get(task.id)
        shown_completed = entry is not None and entry.completed
        tasks.append(
            ChecklistTaskView(
                id=task.id,
                title_key=task.title_key,
                description_key=task.description_key,
                title=i18n.text(task.title_key),
                description=i18n.text(task.description_key),
                icon=task.icon,
                quick_action_url=task.quick_action_url,
                order=task.order,
                completed=is_completed(task, snapshot, entries),
                completed_at=entry.completed_at if entry is not None and shown_completed else None,
                completion_source=entry.source if entry is not None else None,
                first_detected_at=entry.first_detected_at if entry is not None and shown_completed else None,
            )
        )
    return ChecklistView(
        tasks=tasks,
        progress=progress(snapshot, entries),
        next_recommended_task=next((task.id for task in tasks if not task.completed), None),
    )


def get_checklist(session: Session, org_id: str) -> ChecklistView:
    """The active tasks with live completion; first completions are stored and reported once."""
    return _view(*settle(session, org_id))


def set_task_completion(session: Session, org_id: str, task_id: str, completed: bool) -> ChecklistView:
    """Manual override of one task; 404 for an unknown (before any statement) or inactive task."""
    if task_id not in TASK_IDS:
        reason = f"expected one of {', '.join(TASK_IDS)}"
        raise UnknownChecklistTask(
            "No checklist task has this id.", details=[field_error("path.task_id", reason, "enum")]
        )
    return _view(*settle(session, org_id, override=(task_id, completed)))
