"""Onboarding analytics events: the vocabulary, and how the service records its own.

The service records the events it observes itself (wizard steps, sample data, checklist completions,
tutorials, unlocks) with the change they describe, in the same statement: `record_with` runs the
change and inserts its metric rows as a data-modifying CTE, so a change that changed nothing records
nothing and a metric never costs a round trip of its own. What clients send is `client_metrics`.
"""

from collections.abc import Mapping, Sequence
from datetime import timedelta
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final, NamedTuple

from sqlalchemy import (
    Insert,
    Integer,
    Select,
    String,
    Table,
    Update,
    bindparam,
    column,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from onboarding.tables import onboarding_metric

# How far ahead of the server's clock a client's event timestamp may be (client_metrics accepts no
# later one; analytics counts none later). Here, not in client_metrics, so analytics need not load it.
MAX_CLOCK_SKEW: Final = timedelta(minutes=5)
# How old a client's event timestamp may be (client_metrics accepts no older one).
MAX_EVENT_AGE: Final = timedelta(days=7)
# An event id resent within this long of its first arrival is a duplicate whatever its timestamp
# (client_metrics). A stored copy's timestamp is then at most RESENT_BEFORE before the resend's (both
# were accepted within MAX_EVENT_AGE and MAX_CLOCK_SKEW of their arrival): the ingest's key of an event
# id (`onboarding_metric_event_key`) is needed that long after its timestamp and no longer; the nightly
# maintenance deletes older ones (`metric_partitions`). Here, so that the maintenance need not load
# client_metrics.
RESEND_WINDOW: Final = timedelta(days=7)
RESENT_BEFORE: Final = RESEND_WINDOW + MAX_EVENT_AGE + MAX_CLOCK_SKEW


class MetricEventType(StrEnum):
    WIZARD_STARTED = "wizard_started"
    WIZARD_STEP_VIEWED = "wizard_step_viewed"
    WIZARD_STEP_COMPLETED = "wizard_step_completed"
    WIZARD_COMPLETED = "wizard_completed"
    WIZARD_SKIPPED = "wizard_skipped"
    SAMPLE_DATA_GENERATED = "sample_data_generated"
    SAMPLE_DATA_CLEARED = "sample_data_cleared"
    CHECKLIST_VIEWED = "checklist_viewed"
    CHECKLIST_TASK_COMPLETED = "checklist_task_completed"
    TUTORIAL_STARTED = "tutorial_started"
    TUTORIAL_COMPLETED = "tutorial_completed"
    TUTORIAL_SKIPPED = "tutorial_skipped"
    FEATURE_UNLOCKED = "feature_unlocked"
    VIDEO_PLAYED = "video_played"
    VIDEO_COMPLETED = "video_completed"
    VIEW_REPORTS = "view_reports"


class MetricRecord(NamedTuple):
    """One service-emitted metric row (its timestamp is the transaction's). A named tuple, not a frozen
    dataclass: ~0.15 ms at a cold start against ~0.8 ms (bench/README.md, "Cold start")."""

    org_id: str
    event_type: MetricEventType
    event_data: Mapping[str, Any] = MappingProxyType({})
    completion_time_minutes: int | None = None
    step_duration_seconds: int | None = None
    wizard_step_reached: int | None = None
    wizard_step_dropped: int | None = None


# The metric columns a record fills: the rows travel as one JSON parameter (`jsonb_to_recordset`), so
# the statement's text and its compiled form do not depend on the values (SQLAlchemy caches the compiled
# statement; a VALUES list of bound literals was compiled again for every request).
_COLUMNS = (
    column("organization_id", String(50)),
    column("event_type", String(50)),
    column("event_data", JSONB),
    column("completion_time_minutes", Integer),
    column("step_duration_seconds", Integer),
    column("wizard_step_reached", Integer),
    column("wizard_step_dropped", Integer),
)


def record_with(
    session: Session,
    change: Insert | Update,
    records: Sequence[MetricRecord] = (),
    params: Mapping[str, Any] | None = None,
    *,
    also: Sequence[Insert | Update] = (),
) -> int:
    """Run `change` and record `records` for the organizations it changed, in one statement.

    `change` is an INSERT or UPDATE ... RETURNING organization_id (a data-modifying CTE of the
    statement). Each record is written once for each row `change` returns for the record's
    organization: a change that matched nothing (a lost compare-and-swap, an INSERT ... ON CONFLICT DO
    NOTHING that found the row) records nothing. `also`: further writes of the same change (the rows
    a wizard step creates), data-modifying CTEs of the same statement. Returns the number of rows
    `change` changed.

    `params`: `change` is a statement built once and kept (its values bound parameters, given here):
    the whole statement around it is then built once too. Building a statement and deriving its cache
    key cost about as much as running it (bench/README.md, "CPU per request"). Without `params`, or
    with `also` (writes that carry their own values), the statement is built for this call.
    """
    if params is None or also:
        statement = _with_metrics(change, bool(records), tuple(also))
    else:
        statement = _reused_with_metrics(change, bool(records))
    values = dict(params or {})
    if records:
        values["metric_rows"] = [
            {
                "organization_id": record.org_id,
                "event_type": record.event_type.value,
                "event_data": dict(record.event_data),
                "completion_time_minutes": record.completion_time_minutes,
                "step_duration_seconds": record.step_duration_seconds,
                "wizard_step_reached": record.wizard_step_reached,
                "wizard_step_dropped": record.wizard_step_dropped,
            }
            for record in records
        ]
    # On the session's connection (Core), not through `Session.execute`: a Core statement gains nothing
    # from the ORM's execution path, which costs ~0.1 ms per call (bench/README.md, "CPU (target 3)").
    return int(session.connection().execute(statement, values).scalar_one())


def _with_metrics(
    change: Insert | Update, with_records: bool, also: tuple[Insert | Update, ...] = ()
) -> Select[Any]:
    changed = change.cte("changed")
    statement = select(func.count()).select_from(changed)
    for index, write in enumerate(also):
        statement = statement.add_cte(write.cte(f"also_{index}"))
    if not with_records:
        return statement
    emitted = (
        func.jsonb_to_recordset(bindparam("metric_rows", type_=JSONB))
        .table_valued(*_COLUMNS)
        .render_derived("emitted", with_types=True)
    )
    metrics = insert(onboarding_metric).from_select(
        [c.name for c in _COLUMNS],
        select(*emitted.c).select_from(
            changed.join(emitted, emitted.c.organization_id == changed.c.organization_id)
        ),
    )
    return statement.add_cte(metrics.cte("emitted_metrics"))


# A kept change (one per statement shape, a bounded number) wrapped once, by identity.
_reused_with_metrics = lru_cache(maxsize=256)(_with_metrics)


@lru_cache(maxsize=256)
def update_columns(table: Table, columns: tuple[str, ...]) -> Update:
    """`UPDATE table SET column = :new_<column>, ... WHERE id = :row_id RETURNING organization_id`, built
    once per table and set of columns: the change a frozen record's new version makes, reusable with
    `record_with(..., params=changed_values(...))`."""
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({name: bindparam(f"new_{name}", type_=table.c[name].type) for name in columns})
        .returning(table.c.organization_id)
    )


def changed_values(row_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of `update_columns(table, tuple(changes))` for the row `row_id`."""
    return {"row_id": row_id, **{f"new_{name}": value for name, value in changes.items()}}
