"""The onboarding checklist: tasks whose completion is detected live from structured criteria.

Criteria are data (named tuples read by `parse_criterion`), never SQL: `database_query` names a
whitelisted counter (`counters.Counter`) with an operator and a threshold, `state_check` compares a
whitelisted `onboarding_state` column, `composite_and` / `composite_or` nest the others.

One GET is one SELECT (`state.load` with `READING`): the org's state row, the counters and the active
tasks (as one JSON array) come back together in one row; the criteria trees are then evaluated in
Python.
Only when a task is seen complete for the first time does a second statement run, which stores it in
`checklist_progress` and emits `checklist_task_completed`, once per task.

`checklist_progress` maps task ids to entries (the seed's `{"completed", "completed_at"}` plus
`first_completed_at` and `source`). An entry wins over the live criteria: automatic completion is
sticky (deleting the event later does not un-tick "create your first event"), and a manual override
in either direction stays until the next manual override.
"""

import json
import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache
from types import MappingProxyType
from typing import Any, Final, Literal, NamedTuple, TypeGuard, cast, get_args

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import (
    ColumnElement,
    String,
    Text,
    Update,
    bindparam,
    func,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from onboarding import state, wizard_rows
from onboarding.counters import Counter
from onboarding.errors import Conflict, NotFound
from onboarding.metrics import MetricEventType, MetricRecord, record_with
from onboarding.observability import logger
from onboarding.tables import onboarding_checklist_task, onboarding_report_views, onboarding_state

# --- The tasks ---

# The ids of the tasks migrations seed (0002_onboarding_tables; a test holds the two equal). Which are
# active, their order, texts and criteria are data; the set of ids is not: an id outside it is a 404
# without a database round trip, like an unknown wizard step or tutorial. A new task comes with a
# migration that inserts it and its id here.
TASK_IDS: Final = (
    "complete_profile",
    "create_first_event",
    "add_team",
    "invite_volunteers",
    "run_first_schedule",
    "view_reports",
)


class UnknownChecklistTask(NotFound):
    """No active checklist task has this id."""

    code = "unknown_checklist_task"


class ChecklistChangedConcurrently(Conflict):
    """The checklist was changed by other requests at the same time, too often to merge; try again."""

    code = "checklist_changed_concurrently"


# --- Criteria ---

ComparisonOperator = Literal[">=", ">", "==", "!=", "<=", "<"]
_COMPARE: Final[dict[str, Callable[[int, int], bool]]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    "<": operator.lt,
}
MAX_CRITERIA_DEPTH: Final = 5
MAX_THRESHOLD: Final = 1_000_000
StateField = Literal[
    "wizard_completed", "skipped", "sample_data_generated", "show_all_features", "wizard_current_step"
]
STATE_FIELDS: Final[tuple[str, ...]] = get_args(StateField)


# The criteria are parsed by `parse_criterion`, written out for the whitelist below, into named tuples:
# the same checks as the pydantic discriminated union they were, without building its five models and
# adapter at every cold start of the two functions that evaluate the checklist (~4 ms of the onboarding
# function's; bench/README.md, "Cold start"). Criteria are stored data, never a request body.
MAX_DESCRIPTION_CHARS: Final = 500
MAX_CHILDREN: Final = 20


class CounterCriterion(NamedTuple):
    """A whitelisted real-row counter compared with a threshold (the seed's `database_query`)."""

    counter: Counter
    threshold: int  # 0-MAX_THRESHOLD
    operator: ComparisonOperator = ">="
    # Human note carried by the seed's criteria ("Organization has created at least 1 real event").
    description: str | None = None


class StateCheckCriterion(NamedTuple):
    """A whitelisted `onboarding_state` column compared with a value (booleans: == or != only)."""

    field: StateField
    value: bool | int
    operator: ComparisonOperator = "=="
    description: str | None = None


class CompositeAnd(NamedTuple):
    criteria: tuple["Criterion", ...]  # 1-MAX_CHILDREN
    description: str | None = None


class CompositeOr(NamedTuple):
    criteria: tuple["Criterion", ...]
    description: str | None = None


Criterion = CounterCriterion | StateCheckCriterion | CompositeAnd | CompositeOr


class InvalidCriterion(ValueError):
    pass


# type -> (required keys, optional keys); any other key makes the criterion invalid.
_KEYS: Final[dict[str, tuple[frozenset[str], frozenset[str]]]] = {
    "database_query": (frozenset({"type", "counter", "threshold"}), frozenset({"operator", "description"})),
    "state_check": (frozenset({"type", "field", "value"}), frozenset({"operator", "description"})),
    "composite_and": (frozenset({"type", "criteria"}), frozenset({"description"})),
    "composite_or": (frozenset({"type", "criteria"}), frozenset({"description"})),
}
_COUNTERS: Final = frozenset(Counter)


def parse_criterion(raw: object) -> Criterion:
    """Validate stored criteria; raises InvalidCriterion for anything not in the whitelist."""
    return _parse(raw, "criterion", level=1)


def _parse(raw: object, where: str, *, level: int) -> Criterion:
    # The depth is checked on the way down, so a stored tree nested arbitrarily deep is refused at
    # level MAX_CRITERIA_DEPTH + 1 instead of recursing to Python's limit.
    if level > MAX_CRITERIA_DEPTH:
        raise InvalidCriterion(f"criteria nest deeper than {MAX_CRITERIA_DEPTH} levels")
    if not isinstance(raw, dict):
        raise InvalidCriterion(f"{where}: must be an object")
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in _KEYS:
        raise InvalidCriterion(f"{where}.type: must be one of {', '.join(_KEYS)}")
    required, optional = _KEYS[kind]
    if missing := required - raw.keys():
        raise InvalidCriterion(f"{where}: missing {', '.join(sorted(missing))}")
    if unknown := raw.keys() - required - optional:
        raise InvalidCriterion(f"{where}: unknown keys {', '.join(sorted(map(str, unknown)))}")
    description = raw.get("description")
    if description is not None and not (
        isinstance(description, str) and len(description) <= MAX_DESCRIPTION_CHARS
    ):
        raise InvalidCriterion(
            f"{where}.description: must be text of at most {MAX_DESCRIPTION_CHARS} characters"
        )
    if kind in ("composite_and", "composite_or"):
        children = raw["criteria"]
        if not isinstance(children, list | tuple) or not 1 <= len(children) <= MAX_CHILDREN:
            raise InvalidCriterion(f"{where}.criteria: must be a list of 1-{MAX_CHILDREN} criteria")
        parsed = tuple(
            _parse(child, f"{where}.criteria[{index}]", level=level + 1)
            for index, child in enumerate(children)
        )
        composite = CompositeAnd if kind == "composite_and" else CompositeOr
        return composite(parsed, description)
    operator = raw.get("operator", ">=" if kind == "database_query" else "==")
    if not isinstance(operator, str) or operator not in _COMPARE:
        raise InvalidCriterion(f"{where}.operator: must be one of {', '.join(_COMPARE)}")
    if kind == "database_query":
        return _counter(raw, where, cast(ComparisonOperator, operator), description)
    return _state_check(raw, where, cast(ComparisonOperator, operator), description)


def _counter(
    raw: dict[str, Any], where: str, operator: ComparisonOperator, description: str | None
) -> CounterCriterion:
    counter, threshold = raw["counter"], raw["threshold"]
    if not isinstance(counter, str) or counter not in _COUNTERS:
        raise InvalidCriterion(f"{where}.counter: must be one of {', '.join(_COUNTERS)}")
    if not _is_integer(threshold) or not 0 <= threshold <= MAX_THRESHOLD:
        raise InvalidCriterion(f"{where}.threshold: must be an integer 0-{MAX_THRESHOLD}")
    return CounterCriterion(Counter(counter), threshold, operator, description)


def _state_check(
    raw: dict[str, Any], where: str, operator: ComparisonOperator, description: str | None
) -> StateCheckCriterion:
    field, value = raw["field"], raw["value"]
    if not isinstance(field, str) or field not in STATE_FIELDS:
        raise InvalidCriterion(f"{where}.field: must be one of {', '.join(STATE_FIELDS)}")
    if field == "wizard_current_step":
        if not _is_integer(value) or not 1 <= value <= 5:
            raise InvalidCriterion(f"{where}: wizard_current_step compares with a step number 1-5")
    elif not isinstance(value, bool) or operator not in ("==", "!="):
        raise InvalidCriterion(f"{where}: {field} compares with true or false, using == or !=")
    return StateCheckCriterion(cast(StateField, field), value, operator, description)


def _is_integer(value: object) -> TypeGuard[int]:
    """An integer, not a boolean, a float or text (as pydantic's StrictInt)."""
    return isinstance(value, int) and not isinstance(value, bool)


class Facts(NamedTuple):
    """What criteria are evaluated against: the org's state columns and counter values; and what is
    known of when they became what they are (`became_true`)."""

    state: Mapping[str, bool | int]
    counters: Mapping[Counter, int]
    # When a state field took its value (wizard_completed: completed_at, ...; wizard_current_step: a
    # mapping step -> when the step before it was completed), where the state records it.
    since: Mapping[str, datetime | None] = MappingProxyType({})
    steps_reached_at: Mapping[int, datetime] = MappingProxyType({})
    # The creation times of the earliest rows a counter counts, in order, where they are known (none:
    # unknown). Row k of them is the one that took the counter to k.
    row_times: Mapping[Counter, tuple[datetime, ...]] = MappingProxyType({})


def evaluate(criterion: Criterion, facts: Facts) -> bool:
    match criterion:
        case CounterCriterion(counter=counter, operator=op, threshold=threshold):
            return _COMPARE[op](facts.counters[counter], threshold)
        case StateCheckCriterion(field=field, operator=op, value=value):
            return _COMPARE[op](facts.state[field], value)
        case CompositeAnd(criteria=children):
            return all(evaluate(child, facts) for child in children)
        case CompositeOr(criteria=children):
            return any(evaluate(child, facts) for child in children)
    raise AssertionError(f"unhandled criterion {criterion!r}")


def became_true(criterion: Criterion, facts: Facts) -> datetime | None:
    """When a criterion that holds now became true, where the facts tell (None: not known).

    A counter at `>= t` became true when its t-th row was created (`> t`: the one after); a state check
    when the state took the value; `composite_and` when the last of its parts did; `composite_or` when
    the first of its parts that hold did (unknown if any part that holds is unknown).
    """
    match criterion:
        case CounterCriterion(counter=counter, operator=">=" | ">" as op, threshold=threshold):
            rows = facts.row_times.get(counter, ())
            crossing = threshold if op == ">" else threshold - 1
            return rows[crossing] if 0 <= crossing < len(rows) else None
        case StateCheckCriterion(field="wizard_current_step", operator=">=" | ">" as op, value=value):
            step = int(value) + (1 if op == ">" else 0)
            return facts.steps_reached_at.get(step)
        case StateCheckCriterion(field=field, operator="==", value=True):
            return facts.since.get(field)
        case CompositeAnd(criteria=children):
            times = [became_true(child, facts) for child in children]
            return max(times) if times and all(time is not None for time in times) else None  # type: ignore[type-var]
        case CompositeOr(criteria=children):
            holding = [became_true(child, facts) for child in children if evaluate(child, facts)]
            if not holding or any(time is None for time in holding):
                return None
            return min(time for time in holding if time is not None)
    return None


# --- Progress entries (`onboarding_state.checklist_progress`) ---


class ProgressEntry(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    completed: bool
    completed_at: datetime | None = None
    # Kept across manual un-ticking, so `checklist_task_completed` is emitted once per task, ever.
    first_completed_at: datetime | None = None
    source: Literal["auto", "manual"] | None = None
    # When the service first saw the criteria hold (automatic completions); `completed_at` is when they
    # became true, where that is known, else this.
    first_detected_at: datetime | None = None

    @property
    def ever_completed(self) -> bool:
        return self.completed or self.first_completed_at is not None


def _entries(progress: Mapping[str, Any] | None) -> dict[str, ProgressEntry]:
    entries: dict[str, ProgressEntry] = {}
    for task_id, raw in (progress or {}).items():
        try:
            entries[task_id] = ProgressEntry.model_validate(raw)
        except ValidationError:
            logger.warning("ignoring malformed checklist progress entry", extra={"task_id": task_id})
    return entries


# --- Progress (GET /v1/onboarding shows it; the checklist routes' views are `checklist_view`) ---


class ChecklistProgress(BaseModel):
    completed_count: int
    total_count: int
    completion_percent: float


# --- Reading: one statement ---


class ChecklistTask(NamedTuple):
    id: str
    title_key: str
    description_key: str
    icon: str | None
    quick_action_url: str | None
    order: int
    criterion: Criterion | None  # None: stored criteria are not valid; only a manual override completes it
    criterion_error: str | None  # why they are not valid


class ChecklistSnapshot(NamedTuple):
    tasks: Sequence[ChecklistTask]
    facts: Facts
    progress: dict[str, Any]
    now: datetime

    def live(self, task: ChecklistTask) -> bool:
        return task.criterion is not None and evaluate(task.criterion, self.facts)


def _active_tasks(_org_id: ColumnElement[str]) -> ColumnElement[Any]:
    """The active tasks as the text of one JSON array of [id, title_key, ...] in priority order: one
    row to decode, not the state and the counters repeated on a row per task. Text, so that the tasks
    are parsed once per container and task list (`_tasks`), not on every request; `json`, not `jsonb`,
    which the server builds and prints faster."""
    task = onboarding_checklist_task.alias("t").c  # short aliases: pg8000 scans the SQL text
    task_fields = (task.id, *(getattr(task, name) for name in _TASK_FIELDS))
    return (
        select(
            func.coalesce(
                func.json_agg(
                    aggregate_order_by(func.json_build_array(*task_fields), task.priority_order, task.id)
                ),
                literal_column("'[]'::json"),
            ).cast(Text)
        )
        .where(task.is_active.is_(true()))
        .scalar_subquery()
    )


# The task columns after `id`, in the order of the arrays `_active_tasks` returns.
_TASK_FIELDS: Final = (
    "title_key",
    "description_key",
    "icon",
    "quick_action_url",
    "priority_order",
    "completion_criteria",
)


def _first_view_reports(org_id: ColumnElement[str]) -> ColumnElement[Any]:
    """When the organization's first `view_reports` events were recorded (the completion time of a
    `view_reports_events` criterion with a threshold up to `KNOWN_ROW_TIMES`), ascending; NULL when
    there are none. Read from the rollup a trigger keeps (migration 0012_report_views), by key: the
    checklist's statement never touches the partitioned onboarding_metric."""
    views = onboarding_report_views.alias("rv").c
    return select(views.first_at).where(views.organization_id == org_id).scalar_subquery()


KNOWN_ROW_TIMES: Final = 10
# Every counter, each an uncorrelated subquery run once per statement: computing only those some
# active task mentions (a jsonpath test per counter) cost more than the counts it could skip
# (bench/README.md).
READING = state.Reading(
    counters=tuple(Counter),
    extra=(("tasks", _active_tasks), ("view_reports_times", _first_view_reports)),
)


def _read(session: Session, org_id: str) -> ChecklistSnapshot:
    return _checklist_of(state.load(session, org_id, READING))


def _checklist_of(snapshot: state.Snapshot) -> ChecklistSnapshot:
    """The checklist's view of a state snapshot read with `READING`."""
    record = snapshot.state
    tasks = _tasks(snapshot.extra["tasks"])
    for task in tasks:
        if task.criterion_error is not None:
            # A bad row is an operator's mistake, not the caller's: the task still shows, never
            # auto-completes.
            logger.error(
                "invalid checklist criteria", extra={"task_id": task.id, "error": task.criterion_error}
            )
    return ChecklistSnapshot(
        tasks=tasks,
        facts=Facts(
            state={column: getattr(record, column) for column in STATE_FIELDS},
            counters=snapshot.counters,
            since={
                "wizard_completed": record.completed_at,
                "skipped": record.skipped_at,
                "sample_data_generated": record.sample_data_generated_at,
            },
            steps_reached_at=_steps_reached_at(record.wizard_step_data),
            row_times=_row_times(snapshot),
        ),
        progress=dict(record.checklist_progress),
        now=snapshot.now,
    )


def _steps_reached_at(step_data: Mapping[str, Any]) -> dict[int, datetime]:
    """Step n was reached when step n - 1 was completed (step 1 when onboarding started: not here)."""
    reached = {}
    for step in range(2, 6):
        completed_at = _timestamp(step_data.get(f"step_{step - 1}", {}).get("completed_at"))
        if completed_at is not None:
            reached[step] = completed_at
    return reached


def _row_times(snapshot: state.Snapshot) -> dict[Counter, tuple[datetime, ...]]:
    """Creation times of the counted rows where known: the organization's first `view_reports` events
    (read with the state), and the rows the wizard created when they are all the counter counts."""
    created = wizard_rows.created_rows(snapshot.state.wizard_step_data)
    times: dict[Counter, tuple[datetime, ...]] = {
        Counter.VIEW_REPORTS_EVENTS: tuple(snapshot.extra.get("view_reports_times") or ()),
    }
    for counter, kind in _WIZARD_ROWS.items():
        rows = tuple(sorted(time for text in created[kind] if (time := _timestamp(text)) is not None))
        # Known only when the wizard's rows are all the rows counted (others may be older).
        if rows and len(rows) == snapshot.counters.get(counter):
            times[counter] = rows
    return times


_WIZARD_ROWS: Final = {
    Counter.REAL_EVENTS: "events",
    Counter.REAL_TEAMS: "teams",
    Counter.REAL_VOLUNTEERS: "volunteers",
}


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@lru_cache(maxsize=8)
def _tasks(text: str) -> tuple[ChecklistTask, ...]:
    """The active tasks from the JSON text `_active_tasks` reads, their criteria parsed. Remembered per
    container and task list (the same text every request until an operator edits a task), so a
    request neither decodes nor parses them."""
    return tuple(_task(fields) for fields in json.loads(text))


def _task(fields: list[Any]) -> ChecklistTask:
    task_id, title_key, description_key, icon, quick_action_url, order, raw_criterion = fields
    criterion: Criterion | None
    try:
        criterion, error = parse_criterion(raw_criterion), None
    except InvalidCriterion as invalid:
        criterion, error = None, str(invalid)
    return ChecklistTask(
        id=task_id,
        title_key=title_key,
        description_key=description_key,
        icon=icon,
        quick_action_url=quick_action_url,
        order=order,
        criterion=criterion,
        criterion_error=error,
    )


# --- Writing: only when something changed, one statement ---

_MAX_ATTEMPTS: Final = 3


def _auto_completions(
    snapshot: ChecklistSnapshot, entries: Mapping[str, ProgressEntry]
) -> dict[str, ProgressEntry]:
    completions = {}
    for task in snapshot.tasks:
        if task.id in entries or not snapshot.live(task):
            continue
        assert task.criterion is not None  # live
        # When the criteria became true where the data tells, else when they are first seen true.
        since = min(became_true(task.criterion, snapshot.facts) or snapshot.now, snapshot.now)
        completions[task.id] = ProgressEntry(
            completed=True,
            completed_at=since,
            first_completed_at=since,
            source="auto",
            first_detected_at=snapshot.now,
        )
    return completions


def _manual_entry(previous: ProgressEntry | None, completed: bool, now: datetime) -> ProgressEntry | None:
    """The entry after a manual override, or None when the task is already in that state."""
    if (previous.completed if previous is not None else False) == completed:
        return None
    if completed:
        first = (previous.first_completed_at if previous is not None else None) or now
        return ProgressEntry(completed=True, completed_at=now, first_completed_at=first, source="manual")
    assert previous is not None  # only a completed task can be un-ticked
    return ProgressEntry(
        completed=False,
        completed_at=None,
        first_completed_at=previous.first_completed_at or previous.completed_at,
        source="manual",
    )


def _store(
    session: Session,
    org_id: str,
    snapshot: ChecklistSnapshot,
    changes: Mapping[str, ProgressEntry],
) -> bool:
    """Write the changed entries, emitting `checklist_task_completed` for first completions.

    Compare-and-swap on the progress read in the same transaction: if a concurrent request changed
    it in between, nothing is written and the caller re-reads (False).
    """
    entries = _entries(snapshot.progress)
    firsts = [
        task_id
        for task_id, entry in changes.items()
        if entry.completed and not (task_id in entries and entries[task_id].ever_completed)
    ]
    merged = {**snapshot.progress, **{k: v.model_dump(mode="json") for k, v in changes.items()}}
    metrics = [
        MetricRecord(
            org_id,
            MetricEventType.CHECKLIST_TASK_COMPLETED,
            event_data={
                "task_id": task_id,
                "source": changes[task_id].source,
                "completed_at": _iso(changes[task_id].completed_at),
            },
        )
        for task_id in firsts
    ]
    params = {"org_id": org_id, "read_progress": snapshot.progress, "merged_progress": merged}
    return record_with(session, _swap_statement(), metrics, params=params) == 1


@cache
def _swap_statement() -> Update:
    """The compare-and-swap of the progress: written only if it is still the value read."""
    progress_type = onboarding_state.c.checklist_progress.type
    return (
        update(onboarding_state)
        .where(
            onboarding_state.c.organization_id == bindparam("org_id", type_=String),
            onboarding_state.c.checklist_progress == bindparam("read_progress", type_=progress_type),
        )
        .values(checklist_progress=bindparam("merged_progress", type_=progress_type), updated_at=func.now())
        .returning(onboarding_state.c.organization_id)
    )


def settle(
    session: Session,
    org_id: str,
    override: tuple[str, bool] | None = None,
    read: state.Snapshot | None = None,
) -> tuple[ChecklistSnapshot, dict[str, ProgressEntry]]:
    """Read, and write first completions (plus an override) when there are any; retried on a race."""
    for _attempt in range(_MAX_ATTEMPTS):
        # What the caller has just read serves the first attempt; a retry reads again.
        snapshot = _checklist_of(read) if read is not None and _attempt == 0 else _read(session, org_id)
        entries = _entries(snapshot.progress)
        changes = _auto_completions(snapshot, entries)
        if override is not None:
            task_id, completed = override
            if task_id not in {task.id for task in snapshot.tasks}:
                raise UnknownChecklistTask("No active checklist task has this id.")
            previous = changes.get(task_id, entries.get(task_id))
            entry = _manual_entry(previous, completed, snapshot.now)
            if entry is not None:
                changes[task_id] = entry
        if not changes:
            return snapshot, entries
        if _store(session, org_id, snapshot, changes):
            return snapshot, {**entries, **changes}
    raise ChecklistChangedConcurrently("The checklist is being changed by another request; try again.")


def is_completed(
    task: ChecklistTask, snapshot: ChecklistSnapshot, entries: Mapping[str, ProgressEntry]
) -> bool:
    """Whether the task shows as completed: its progress entry wins over the live criteria."""
    entry = entries.get(task.id)
    return entry.completed if entry is not None else snapshot.live(task)


def progress(snapshot: ChecklistSnapshot, entries: Mapping[str, ProgressEntry]) -> ChecklistProgress:
    done = sum(is_completed(task, snapshot, entries) for task in snapshot.tasks)
    total = len(snapshot.tasks)
    return ChecklistProgress(
        completed_count=done, total_count=total, completion_percent=completion_percent(done, total)
    )


def completion_percent(done: int, total: int) -> float:
    if total == 0:
        return 0.0
    return float((Decimal(done * 100) / Decimal(total)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


# --- Public API (the checklist routes': `checklist_view`) ---


def checklist_summary(session: Session, org_id: str, read: state.Snapshot) -> ChecklistProgress:
    """Progress for GET /v1/onboarding: the same evaluation (and bookkeeping) as the checklist routes,
    from the state the caller read with `READING` (no statement of its own unless something changed)."""
    return progress(*settle(session, org_id, read=read))
