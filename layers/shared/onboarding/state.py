"""The organization's onboarding state: reading it, the view every route answers, and writing a change
to it. Starting it is `start` (with the experiments' assignment, which only starting needs).

Reading is one SELECT (`load`): the state row, the transaction's `now()`, the counter values the
caller needs and any columns of its own (the checklist's tasks, the sample rows per table), optionally
with the row locked (`FOR UPDATE`) so that concurrent changes for one organization apply one after the
other. The statement is built once per container for each kind of read, the organization bound at
execution. The row comes back as a `StateRecord` (an immutable named tuple: a frozen dataclass of
20 fields cost ~1 ms at every cold start, a named tuple ~0.2 ms; bench/README.md, "Cold start"); a
change is a new record (`record._replace(...)`) written by `save`: one UPDATE of the columns that
differ, carrying the metrics the change emits. Timestamps come from the transaction (`now()`), so a
change, its metrics and its events carry the same time.
"""

import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from enum import IntEnum, StrEnum
from functools import cache
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Dialect, Insert, Select, String, Update, bindparam, func, select
from sqlalchemy.orm import Session

from onboarding import features, i18n
from onboarding.counters import Counter, counter_columns
from onboarding.metrics import MetricRecord, changed_values, record_with, update_columns
from onboarding.started import not_started
from onboarding.tables import onboarding_state


class SampleSize(StrEnum):
    MINIMAL = "minimal"
    STANDARD = "standard"
    COMPREHENSIVE = "comprehensive"


class WizardStep(IntEnum):
    ORGANIZATION_PROFILE = 1
    FIRST_EVENT = 2
    FIRST_TEAM = 3
    INVITE_VOLUNTEERS = 4
    TUTORIAL_INTRO = 5

    @property
    def step_name(self) -> str:
        return self.name.lower()

    @property
    def data_key(self) -> str:
        """Key of the step's entry in `wizard_step_data` (the data model's `step_1` ... `step_5`)."""
        return f"step_{self.value}"


# --- The row ---


class StateRecord(NamedTuple):
    """One `onboarding_state` row, every column (a test holds the fields to the table's columns)."""

    id: str
    organization_id: str
    wizard_completed: bool
    wizard_current_step: int
    wizard_step_data: dict[str, Any]
    sample_data_generated: bool
    sample_data_size: str | None
    sample_data_generated_at: datetime | None
    sample_data_expiry: datetime | None
    sample_data_cleared: bool
    checklist_progress: dict[str, Any]
    checklist_completed_count: int  # set by the database from checklist_progress (a trigger)
    features_unlocked: list[str]
    show_all_features: bool
    skipped: bool
    skipped_at: datetime | None
    started_at: datetime
    completed_at: datetime | None
    updated_at: datetime
    experiments: dict[str, Any]


STATE_COLUMNS: tuple[str, ...] = StateRecord._fields


# --- Reading: one SELECT ---

# A column of the caller's own, built from the bound organization id (a module-level function, so that
# a `Reading` is hashable and its statement built once).
ExtraColumn = Callable[[ColumnElement[str]], ColumnElement[Any]]


class Reading(NamedTuple):
    """What `load` reads with the state row and `now()`: counter values and columns of the caller's own."""

    counters: tuple[Counter, ...] = ()
    extra: tuple[tuple[str, ExtraColumn], ...] = ()


class Snapshot(NamedTuple):
    """The state row, the transaction's `now()`, and what the `Reading` asked for, read in one statement."""

    state: StateRecord
    now: datetime
    counters: Mapping[Counter, int]
    extra: Mapping[str, Any] = MappingProxyType({})


MILESTONES = Reading(counters=features.MILESTONE_COUNTERS)


def load(session: Session, org_id: str, reading: Reading = MILESTONES, *, lock: bool = False) -> Snapshot:
    """The organization's state (404 if onboarding was not started), optionally locked for update."""
    connection = session.connection()
    sql = driver_sql(reading, connection.dialect, lock=lock)
    # The engine writes the values into the text (`inline_parameters`): one round trip.
    parameters = tuple(org_id if name == "org_id" else sql.constants[name] for name in sql.names)
    row = connection.exec_driver_sql(sql.text, parameters).one_or_none()
    if row is None:
        raise not_started(session, org_id)
    return snapshot_of(row, reading)


class DriverSql(NamedTuple):
    """A reading's statement compiled for the driver (`driver_sql`)."""

    text: str  # with positional placeholders
    names: tuple[str, ...]  # the parameter of each placeholder (`org_id` once per placeholder)
    constants: Mapping[str, Any]  # the values of the statement's constants


def snapshot_of(row: Sequence[Any], reading: Reading) -> Snapshot:
    """The snapshot in a row of `statement(reading)`."""
    state_end = len(STATE_COLUMNS)
    counters_end = state_end + 1 + len(reading.counters)
    return Snapshot(
        state=StateRecord(*row[:state_end]),
        now=row[state_end],
        counters={
            c: int(v) for c, v in zip(reading.counters, row[state_end + 1 : counters_end], strict=True)
        },
        extra={name: value for (name, _), value in zip(reading.extra, row[counters_end:], strict=True)},
    )


@cache
def statement(reading: Reading, *, lock: bool = False) -> Select[Any]:
    """The SELECT of `load` (the organization a bound parameter, `org_id`)."""
    # Built once per container and kind of read: building a statement and deriving its cache key cost
    # more than running it (bench/README.md, latency). A short alias: pg8000 scans the SQL text in
    # Python on every execution.
    table = onboarding_state.alias("s")
    org = bindparam("org_id", type_=String)
    query = select(
        *(table.c[name] for name in STATE_COLUMNS),
        func.now().label("db_now"),
        # Each an uncorrelated subquery on the bound organization: run once per statement (InitPlan).
        *counter_columns(org, reading.counters),
        *(build(org).label(name) for name, build in reading.extra),
    ).where(table.c.organization_id == org)
    if lock:
        query = query.with_for_update(of=table)
    return query


@cache
def driver_sql(reading: Reading, dialect: Dialect, *, lock: bool = False) -> DriverSql:
    """`statement(reading)` compiled once per container for the engine's dialect, with positional
    placeholders.

    `load` sends it with `exec_driver_sql`: executing the statement itself made SQLAlchemy derive its
    cache key (a walk of the whole statement: ~0.12 ms for the checklist's, ~0.07 ms for the milestones'
    reading) and process its parameters and result columns on every request, where none of them needs
    processing on pg8000 (strings, integers, booleans, timestamps and JSON come back from the driver as
    they are; `tests/test_state_load.py` holds the rows equal to SQLAlchemy's)."""
    compiled = statement(reading, lock=lock).compile(dialect=dialect)
    assert compiled.positiontup is not None, "pg8000's paramstyle is positional"
    constants = compiled.construct_params({"org_id": None})
    return DriverSql(compiled.string, tuple(compiled.positiontup), constants)


@cache
def iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - {"localtime", "Factory"}


def timezone_name(state: StateRecord) -> str | None:
    """The organization's IANA time zone, from the wizard's step 1 (None before it is filled in)."""
    name = state.wizard_step_data.get(WizardStep.ORGANIZATION_PROFILE.data_key, {}).get("timezone")
    return name if isinstance(name, str) and name in iana_zones() else None


def organization_timezone(state: StateRecord) -> zoneinfo.ZoneInfo:
    """The time zone from the wizard's step 1, or UTC before it is filled in."""
    return zoneinfo.ZoneInfo(timezone_name(state) or "UTC")


# --- Writing: one UPDATE per change ---


def save(
    session: Session,
    before: StateRecord,
    after: StateRecord,
    metrics: Sequence[MetricRecord] = (),
    *,
    also: Sequence[Insert | Update] = (),
) -> None:
    """Write the columns that differ between `before` (read locked) and `after`, with the metrics the
    change emits and the writes that go with it (`also`), in one statement; nothing when nothing
    changed."""
    changes = {
        name: getattr(after, name) for name in STATE_COLUMNS if getattr(after, name) != getattr(before, name)
    }
    if not changes:
        assert not metrics and not also, "metrics and writes describe a change"
        return
    change = update_columns(onboarding_state, tuple(changes))
    record_with(session, change, metrics, params=changed_values(before.id, changes), also=also)


def unlock_features(
    session: Session, state: StateRecord, counters: Mapping[Counter, int], now: datetime
) -> tuple[StateRecord, list[MetricRecord]]:
    """`state` with the features its milestones have reached since the last check, and their metrics
    (the `FeatureUnlocked` events are staged on the session). `state` must have been read locked."""
    unlocked, metrics = features.unlock(
        session, state.organization_id, state.features_unlocked, counters, now
    )
    return (state._replace(features_unlocked=unlocked) if metrics else state), metrics


def get_onboarding(session: Session, org_id: str, read: Snapshot | None = None) -> "OnboardingStateView":
    """The state, after storing any feature unlock the organization has earned since the last look.

    `read`: the state the caller has just read (with at least the milestone counters), else it is read.
    """
    snapshot = read or load(session, org_id)
    if features.reached(snapshot.counters, snapshot.state.features_unlocked):
        # Re-read under the row lock: of two concurrent readers, only one stores (and reports) the unlock.
        snapshot = load(session, org_id, lock=True)
        before = snapshot.state
        after, metrics = unlock_features(session, before, snapshot.counters, snapshot.now)
        if metrics:
            after = after._replace(updated_at=snapshot.now)
            save(session, before, after, metrics)
        return view(snapshot, after)
    return view(snapshot)


# --- The view every route of the onboarding function answers ---


class SampleDataSummary(BaseModel):
    present: bool
    size: SampleSize | None = Field(description="The size it was generated with, while it is present.")
    generated_at: datetime | None
    expires_at: datetime | None
    expired: bool
    cleared: bool


def sample_data_summary(state: StateRecord, now: datetime) -> SampleDataSummary:
    """Whether sample data is present, its size and when it expires (those only while it is present)."""
    present = state.sample_data_generated
    expiry = state.sample_data_expiry if present else None
    return SampleDataSummary(
        present=present,
        size=SampleSize(state.sample_data_size) if present and state.sample_data_size else None,
        generated_at=state.sample_data_generated_at if present else None,
        expires_at=expiry,
        expired=expiry is not None and expiry <= now,
        cleared=state.sample_data_cleared,
    )


class Assignment(BaseModel):
    """An organization's variant of one experiment, and who chose it."""

    # Assigned once when onboarding started (`start`, `experiments`); shown by every view of the state.

    model_config = ConfigDict(extra="ignore", frozen=True)

    variant: str
    source: Literal["hash", "client"]


class OnboardingStateView(BaseModel):
    organization_id: str
    timezone: str | None = Field(
        description="The organization's IANA time zone (wizard step 1; null before it): timestamps are "
        "in UTC, local times are shown in this zone."
    )
    wizard_current_step: int
    wizard_current_step_name: str
    wizard_current_step_title: str  # the step's name in the request's language (i18n)
    wizard_completed: bool
    wizard_step_data: dict[str, Any]
    skipped: bool
    skipped_at: datetime | None
    started_at: datetime
    completed_at: datetime | None
    updated_at: datetime
    sample_data: SampleDataSummary
    features_unlocked: list[str]
    feature_progress: list[features.FeatureProgress]
    show_all_features: bool
    # Experiment id -> {"variant", "source": "hash" | "client"}, assigned once when onboarding started.
    experiments: dict[str, Assignment]


def view(snapshot: Snapshot, state: StateRecord | None = None) -> OnboardingStateView:
    """The view of `state` (the snapshot's own by default, or the one a change made of it)."""
    state = state or snapshot.state
    return OnboardingStateView(
        organization_id=state.organization_id,
        timezone=timezone_name(state),
        wizard_current_step=state.wizard_current_step,
        wizard_current_step_name=WizardStep(state.wizard_current_step).step_name,
        wizard_current_step_title=i18n.text(
            f"onboarding.wizard.{WizardStep(state.wizard_current_step).step_name}"
        ),
        wizard_completed=state.wizard_completed,
        wizard_step_data=state.wizard_step_data,
        skipped=state.skipped,
        skipped_at=state.skipped_at,
        started_at=state.started_at,
        completed_at=state.completed_at,
        updated_at=state.updated_at,
        sample_data=sample_data_summary(state, snapshot.now),
        features_unlocked=state.features_unlocked,
        feature_progress=features.progress(snapshot.counters, state.features_unlocked),
        show_all_features=state.show_all_features,
        experiments=state.experiments,
    )
