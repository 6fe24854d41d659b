"""Interactive tutorials: the catalog (in code) and each org's record of them.

A record is created lazily by the first interaction. Every change takes the record's row lock first,
with one upsert (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`) that creates or locks it and
returns its latest version; the state machine runs in Python on that locked row; one more statement
writes the change together with its metrics. Concurrent calls on one tutorial therefore serialize on
the row: no duplicate record, no lost update.

States: not_started (no record) -> in_progress -> completed | skipped. Progress that reaches the last
step completes the tutorial as the complete route does. Completed and skipped are
mutually exclusive end states (409 for the other one); a view of a finished tutorial is a replay:
`replay_count` + 1, progress back to 0, end state cleared. Any interaction with a never-viewed
tutorial counts as its first view.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt
from sqlalchemy import Insert, Integer, Select, String, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from onboarding import i18n
from onboarding.errors import Conflict, InvalidInput, NotFound
from onboarding.field_errors import field_error, rules
from onboarding.metrics import MetricEventType, MetricRecord, changed_values, record_with, update_columns
from onboarding.started import not_started
from onboarding.tables import onboarding_state
from onboarding.tutorial_tables import onboarding_tutorial_completion
from onboarding.validation import WHOLE_NUMBER


@dataclass(frozen=True, slots=True)
class Tutorial:
    id: str
    total_steps: int

    @property
    def title_key(self) -> str:
        return f"onboarding.tutorials.{self.id}"

    @property
    def description_key(self) -> str:
        return f"onboarding.tutorials.{self.id}_desc"


CATALOG: Final[dict[str, Tutorial]] = {
    tutorial.id: tutorial
    for tutorial in (
        Tutorial("events_intro", 4),
        Tutorial("teams_setup", 3),
        Tutorial("availability_management", 5),
        Tutorial("solver_run", 6),
        Tutorial("schedule_export", 3),
    )
}
TUTORIAL_IDS: Final[tuple[str, ...]] = tuple(CATALOG)
MOST_STEPS: Final = max(tutorial.total_steps for tutorial in CATALOG.values())
STEPS_EXCEED_TOTAL = "steps_exceed_total"


class UnknownTutorial(NotFound):
    """No tutorial has this id."""

    code = "unknown_tutorial"


class TutorialAlreadyCompleted(Conflict):
    """The tutorial is completed: view it again (a replay) before changing its progress or skipping it."""

    code = "tutorial_already_completed"


class TutorialAlreadySkipped(Conflict):
    """The tutorial is skipped: view it again (a replay) before changing its progress or completing it."""

    code = "tutorial_already_skipped"


TutorialStatus = Literal["not_started", "in_progress", "completed", "skipped"]


class TutorialView(BaseModel):
    id: str
    title_key: str
    description_key: str
    title: str  # in the request's language (i18n)
    description: str
    status: TutorialStatus
    total_steps: int
    steps_completed: int
    replay_count: int
    started_at: datetime | None
    last_viewed_at: datetime | None
    completed_at: datetime | None
    skipped_at: datetime | None


class TutorialList(BaseModel):
    tutorials: list[TutorialView]


class TutorialProgressUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=rules(
            {STEPS_EXCEED_TOTAL: "`steps_completed` is at most the tutorial's `total_steps` (3 to 6)."}
        ),
    )

    # Bounded per tutorial by `set_progress` (0..total_steps of that tutorial).
    steps_completed: Annotated[StrictInt, Field(ge=0, le=MOST_STEPS), WHOLE_NUMBER]


@dataclass(frozen=True, slots=True)
class TutorialRecord:
    """An organization's `onboarding_tutorial_completion` row (the columns the state machine uses)."""

    id: str
    completed: bool
    completed_at: datetime | None
    skipped: bool
    skipped_at: datetime | None
    replay_count: int
    last_viewed_at: datetime | None
    steps_completed: int
    total_steps: int
    created_at: datetime

    @property
    def finished(self) -> bool:
        return self.completed or self.skipped


_RECORD_COLUMNS: Final = tuple(TutorialRecord.__dataclass_fields__)
Metric = tuple[MetricEventType, dict[str, Any]]
Action = Literal["view", "progress", "complete", "skip"]


# --- Reading ---


def list_tutorials(session: Session, org_id: str) -> TutorialList:
    """All catalog tutorials in catalog order, with the org's status of each; 404 before onboarding
    has started, as every route but POST /v1/onboarding."""
    rows = session.execute(_list_statement(), {"org_id": org_id}).all()
    if not rows:
        raise not_started(session, org_id)
    records = {row.tutorial_id: TutorialRecord(*row[1:]) for row in rows if row.tutorial_id is not None}
    return TutorialList(
        tutorials=[_view(tutorial, records.get(tutorial.id)) for tutorial in CATALOG.values()]
    )


@cache
def _list_statement() -> Select[Any]:
    """From the state row (none: not started), its tutorial records joined: one statement either way.
    Built once per container (`org_id` a bound parameter)."""
    table, started = onboarding_tutorial_completion, onboarding_state
    return (
        select(table.c.tutorial_id, *(table.c[column] for column in _RECORD_COLUMNS))
        .select_from(started)
        .outerjoin(table, table.c.organization_id == started.c.organization_id)
        .where(started.c.organization_id == bindparam("org_id", type_=String))
    )


# --- Changing ---


def record_view(session: Session, org_id: str, tutorial_id: str) -> TutorialView:
    return _change(session, org_id, _tutorial(tutorial_id), "view")


def set_progress(session: Session, org_id: str, tutorial_id: str, steps_completed: int) -> TutorialView:
    tutorial = _tutorial(tutorial_id)
    if steps_completed > tutorial.total_steps:
        reason = f"must be at most {tutorial.total_steps}, the steps of {tutorial.id}"
        raise InvalidInput(
            f"{tutorial.id} has {tutorial.total_steps} steps.",
            details=[field_error("body.steps_completed", reason, STEPS_EXCEED_TOTAL)],
        )
    return _change(session, org_id, tutorial, "progress", steps_completed=steps_completed)


def complete(session: Session, org_id: str, tutorial_id: str) -> TutorialView:
    return _change(session, org_id, _tutorial(tutorial_id), "complete")


def skip(session: Session, org_id: str, tutorial_id: str) -> TutorialView:
    return _change(session, org_id, _tutorial(tutorial_id), "skip")


def _change(
    session: Session, org_id: str, tutorial: Tutorial, action: Action, *, steps_completed: int = 0
) -> TutorialView:
    record, now = _lock(session, org_id, tutorial)
    after, metrics = transition(tutorial, record, action, now, steps_completed=steps_completed)
    return _save(session, org_id, tutorial, record, after, metrics=metrics)


# --- State machine ---


def transition(
    tutorial: Tutorial, record: TutorialRecord, action: Action, now: datetime, *, steps_completed: int = 0
) -> tuple[TutorialRecord, list[Metric]]:
    """The record after `action` at `now`, and the metrics it emits; Conflict when the tutorial is in
    the other end state. Completing a completed or skipping a skipped tutorial changes nothing."""
    metrics: list[Metric] = []
    if action == "view":
        return _viewed(tutorial, record, now, metrics), metrics
    if action == "progress" and steps_completed == tutorial.total_steps:
        # The last step done is the tutorial done: exactly what the complete route does (a retry of it
        # on a completed tutorial changes nothing).
        action = "complete"
    current = _implicit_first_view(tutorial, record, now, metrics)
    if action == "progress":
        if current.finished:
            raise _finished(current, "change its progress")
        return replace(current, steps_completed=steps_completed), metrics
    if action == "complete":
        if current.completed:
            return current, metrics  # idempotent
        if current.skipped:
            raise _finished(current, "complete it")
        started = current.last_viewed_at or now
        duration = max(0, int((now - started).total_seconds()))
        metrics.append(
            (MetricEventType.TUTORIAL_COMPLETED, {"tutorial_id": tutorial.id, "duration_seconds": duration})
        )
        done = replace(current, completed=True, completed_at=now, steps_completed=tutorial.total_steps)
        return done, metrics
    if current.skipped:
        return current, metrics  # idempotent
    if current.completed:
        raise _finished(current, "skip it")
    skipped = {"tutorial_id": tutorial.id, "step_reached": current.steps_completed}
    metrics.append((MetricEventType.TUTORIAL_SKIPPED, skipped))
    return replace(current, skipped=True, skipped_at=now), metrics


def _viewed(
    tutorial: Tutorial, record: TutorialRecord, now: datetime, metrics: list[Metric]
) -> TutorialRecord:
    if record.last_viewed_at is None:
        metrics.append((MetricEventType.TUTORIAL_STARTED, {"tutorial_id": tutorial.id, "replay": False}))
        return replace(record, last_viewed_at=now)
    if record.finished:
        metrics.append((MetricEventType.TUTORIAL_STARTED, {"tutorial_id": tutorial.id, "replay": True}))
        return replace(
            record,
            replay_count=record.replay_count + 1,
            steps_completed=0,
            completed=False,
            completed_at=None,
            skipped=False,
            skipped_at=None,
            last_viewed_at=now,
        )
    return replace(record, last_viewed_at=now)


def _implicit_first_view(
    tutorial: Tutorial, record: TutorialRecord, now: datetime, metrics: list[Metric]
) -> TutorialRecord:
    # Progress, complete or skip on a tutorial never viewed: the client showed it, so it was viewed.
    return _viewed(tutorial, record, now, metrics) if record.last_viewed_at is None else record


def _finished(record: TutorialRecord, action: str) -> Conflict:
    if record.completed:
        return TutorialAlreadyCompleted(
            f"The tutorial is completed; view it again to replay it before you {action}."
        )
    return TutorialAlreadySkipped(f"The tutorial is skipped; view it again to replay it before you {action}.")


# --- Statements ---


def _tutorial(tutorial_id: str) -> Tutorial:
    tutorial = CATALOG.get(tutorial_id)
    if tutorial is None:
        reason = f"expected one of {', '.join(TUTORIAL_IDS)}"
        raise UnknownTutorial(
            "No tutorial has this id.", details=[field_error("path.tutorial_id", reason, "enum")]
        )
    return tutorial


def _lock(session: Session, org_id: str, tutorial: Tutorial) -> tuple[TutorialRecord, datetime]:
    """The org's record of `tutorial`, created if missing, row-locked until the transaction ends; 404
    before onboarding has started (no record is created then)."""
    params = {"org_id": org_id, "tutorial_id": tutorial.id, "total_steps": tutorial.total_steps}
    row = session.execute(_lock_statement(), params).one_or_none()
    if row is None:
        raise not_started(session, org_id)
    return TutorialRecord(*row[:-1]), row[-1]


@cache
def _lock_statement() -> Insert:
    # The Table (no mapped class: an ORM insert executed with parameters is a bulk insert).
    table = onboarding_tutorial_completion
    return (
        insert(table)
        .from_select(
            ["organization_id", "tutorial_id", "total_steps"],
            select(
                onboarding_state.c.organization_id,
                bindparam("tutorial_id", type_=String),
                bindparam("total_steps", type_=Integer),
            ).where(onboarding_state.c.organization_id == bindparam("org_id", type_=String)),
        )
        # A no-op update: on conflict it locks the existing row and RETURNING gives its latest version.
        .on_conflict_do_update(constraint="uq_org_tutorial", set_={"total_steps": table.c.total_steps})
        .returning(*(table.c[column] for column in _RECORD_COLUMNS), func.now().label("db_now"))
    )


def _save(
    session: Session,
    org_id: str,
    tutorial: Tutorial,
    before: TutorialRecord,
    after: TutorialRecord,
    *,
    metrics: list[Metric],
) -> TutorialView:
    """Write the columns that changed with the metrics the change emits, in one statement."""
    changes = {
        column: getattr(after, column)
        for column in _RECORD_COLUMNS
        if getattr(after, column) != getattr(before, column)
    }
    if changes:
        change = update_columns(onboarding_tutorial_completion, tuple(changes))
        records = [MetricRecord(org_id, kind, event_data=data) for kind, data in metrics]
        record_with(session, change, records, params=changed_values(before.id, changes))
    return _view(tutorial, after)


def _view(tutorial: Tutorial, record: TutorialRecord | None) -> TutorialView:
    if record is None:
        return TutorialView(
            id=tutorial.id,
            title_key=tutorial.title_key,
            description_key=tutorial.description_key,
            title=i18n.text(tutorial.title_key),
            description=i18n.text(tutorial.description_key),
            status="not_started",
            total_steps=tutorial.total_steps,
            steps_completed=0,
            replay_count=0,
            started_at=None,
            last_viewed_at=None,
            completed_at=None,
            skipped_at=None,
        )
    status: TutorialStatus = (
        "completed" if record.completed else "skipped" if record.skipped else "in_progress"
    )
    return TutorialView(
        id=tutorial.id,
        title_key=tutorial.title_key,
        description_key=tutorial.description_key,
        title=i18n.text(tutorial.title_key),
        description=i18n.text(tutorial.description_key),
        status=status,
        total_steps=record.total_steps,
        steps_completed=record.steps_completed,
        replay_count=record.replay_count,
        started_at=record.created_at,
        last_viewed_at=record.last_viewed_at,
        completed_at=record.completed_at,
        skipped_at=record.skipped_at,
    )
