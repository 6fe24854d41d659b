"""Sample data: realistic events, teams, volunteers and assignments an organization can try the product on.

Rows go into SignUpFlow's own tables with `is_sample = TRUE` (assignments have no flag: an assignment is
sample when its event or its person is). The four tables are written with one INSERT and cleared with
one DELETE statement (data-modifying CTEs) for any number of organizations. The flags on
`onboarding_state` change in the same transaction as the rows, with the state row locked, so they
always agree with the tables; so do the `SampleDataGenerated` / `SampleDataCleared` domain events
(`outbox`, written with the transaction's other events just before it commits). The status reads the
state and the sample rows per table in one statement (`state.load` with `STATUS`).
"""

import json
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from functools import cache
from typing import Annotated, Any, NamedTuple
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StrictInt
from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    DateTime,
    Insert,
    String,
    TableValuedAlias,
    Text,
    bindparam,
    column,
    func,
    insert,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from onboarding import domain_events, outbox, state
from onboarding import host_tables as host
from onboarding.domain_events import SampleDataCounts
from onboarding.errors import Conflict
from onboarding.ids import new_id
from onboarding.metrics import MetricEventType, MetricRecord
from onboarding.sample_clearing import (
    NO_ROWS,
    ClearReason,
    LockedSampleState,
    _sample_assignments,
    _sample_event_ids,
    _sample_person_ids,
    added,
    clear_locked_organizations,
    delete_sample_rows,
    total,
)
from onboarding.state import SampleDataSummary, SampleSize, StateRecord, WizardStep
from onboarding.validation import WHOLE_NUMBER

MAX_EXPIRY_DAYS = 90
DEFAULT_EXPIRY_DAYS = 30
# Re-exported: the API's names for the counts and sizes, and what clearing provides (`sample_clearing`).
__all__ = [
    "NO_ROWS",
    "ClearReason",
    "LockedSampleState",
    "SampleDataCounts",
    "SampleSize",
    "added",
    "clear_locked_organizations",
    "delete_sample_rows",
    "total",
]


class SizeSpec(NamedTuple):
    events: int
    teams: int
    volunteers: int
    assignments: int


SIZES: dict[SampleSize, SizeSpec] = {
    SampleSize.MINIMAL: SizeSpec(events=2, teams=1, volunteers=5, assignments=10),
    SampleSize.STANDARD: SizeSpec(events=5, teams=3, volunteers=15, assignments=45),
    SampleSize.COMPREHENSIVE: SizeSpec(events=10, teams=5, volunteers=30, assignments=150),
}


class SampleDataExists(Conflict):
    """Sample data exists: delete it (DELETE /v1/onboarding/sample-data) before generating it again."""

    code = "sample_data_exists"


class NoSampleData(Conflict):
    """There is no sample data to extend: generate it first."""

    code = "no_sample_data"


# --- Requests and responses ---


ExpiryDays = Annotated[StrictInt, Field(ge=1, le=MAX_EXPIRY_DAYS), WHOLE_NUMBER]


class SampleDataRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: SampleSize
    expiry_days: ExpiryDays = DEFAULT_EXPIRY_DAYS


class ExtendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: ExpiryDays


class SampleDataStatus(SampleDataSummary):
    counts: SampleDataCounts


class SampleDataExtended(SampleDataStatus):
    capped: bool = Field(
        description=f"True when the extension would have gone past {MAX_EXPIRY_DAYS} days from now: "
        f"`expires_at` is then exactly {MAX_EXPIRY_DAYS} days from now, not the requested date."
    )


class SampleDataCleared(BaseModel):
    deleted: SampleDataCounts
    sample_data: SampleDataStatus


# --- Operations ---


def generate_sample_data(session: Session, org_id: str, request: SampleDataRequest) -> SampleDataStatus:
    """Create the sample rows of the requested size; 409 while the organization still has sample data."""
    snapshot = state.load(session, org_id, FLAGS, lock=True)
    before, now = snapshot.state, snapshot.now
    if before.sample_data_generated:
        raise SampleDataExists(
            "Sample data already exists; delete it (DELETE /v1/onboarding/sample-data) before "
            "generating it again."
        )
    started = time.perf_counter()
    rows = build_sample_rows(
        org_id,
        SIZES[request.size],
        timezone=state.organization_timezone(before),
        now=now,
        roles=_roles_from_wizard(before),
    )
    insert_sample_rows(session, rows)
    counts = rows.counts
    expiry = now + timedelta(days=request.expiry_days)
    metric = MetricRecord(
        org_id,
        MetricEventType.SAMPLE_DATA_GENERATED,
        event_data={
            "size": request.size.value,
            "expiry_days": request.expiry_days,
            "counts": counts.model_dump(),
            "generation_time_seconds": round(time.perf_counter() - started, 3),
        },
    )
    after = before._replace(
        sample_data_generated=True,
        sample_data_size=request.size.value,
        sample_data_cleared=False,
        sample_data_generated_at=now,
        sample_data_expiry=expiry,
        updated_at=now,
    )
    state.save(session, before, after, [metric])
    outbox.stage(
        session,
        org_id,
        domain_events.SampleDataGenerated(
            size=request.size.value, counts=counts, generated_at=now, expires_at=expiry
        ),
    )
    return _status(after, now, counts)


def sample_data_status(session: Session, org_id: str) -> SampleDataStatus:
    """Whether sample data is present, when it expires, and how many sample rows each table holds."""
    snapshot = state.load(session, org_id, STATUS)
    return status_of(snapshot)


def extend_sample_data(session: Session, org_id: str, request: ExtendRequest) -> SampleDataExtended:
    """Push the expiry back by `days` (from now if it has already passed), at most 90 days from now;
    `capped` says when the cap cut the extension short."""
    snapshot = state.load(session, org_id, STATUS, lock=True)
    before, now = snapshot.state, snapshot.now
    if not before.sample_data_generated or before.sample_data_expiry is None:
        raise NoSampleData("There is no sample data to extend; generate it first.")
    requested = max(before.sample_data_expiry, now) + timedelta(days=request.days)
    cap = now + timedelta(days=MAX_EXPIRY_DAYS)
    after = before._replace(sample_data_expiry=min(requested, cap), updated_at=now)
    state.save(session, before, after)
    status = _status(after, now, counts_of(snapshot))
    return SampleDataExtended(**dict(status), capped=requested > cap)


def clear_sample_data(session: Session, org_id: str, *, reason: ClearReason) -> SampleDataCleared:
    """Delete the organization's sample rows now and reset its flags. Clearing twice changes nothing."""
    snapshot = state.load(session, org_id, FLAGS, lock=True)
    current, now = snapshot.state, snapshot.now
    deleted = clear_locked_organizations(
        session,
        [LockedSampleState(org_id, current.sample_data_generated, current.sample_data_generated_at)],
        reason=reason,
        now=now,
    )[org_id]
    status = SampleDataStatus(
        present=False,
        size=None,
        generated_at=None,
        expires_at=None,
        expired=False,
        cleared=current.sample_data_cleared or current.sample_data_generated or total(deleted) > 0,
        counts=NO_ROWS,
    )
    return SampleDataCleared(deleted=deleted, sample_data=status)


# --- Building the rows ---


class SampleRows(NamedTuple):
    events: list[dict[str, Any]]
    teams: list[dict[str, Any]]
    people: list[dict[str, Any]]
    assignments: list[dict[str, Any]]

    @property
    def counts(self) -> SampleDataCounts:
        return SampleDataCounts(
            events=len(self.events),
            teams=len(self.teams),
            volunteers=len(self.people),
            assignments=len(self.assignments),
        )


MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


class PlannedEvent(NamedTuple):
    title: str
    weekday: int
    starts_at: clock
    minutes: int
    # 0: the next such weekday after today, 1: the one after that, ...; -1: the last one before today.
    week: int


# A month of a community organization's calendar: one event in the past week (so reports have history),
# the rest on plausible weekdays and times over the next four weeks.
EVENT_PLAN: tuple[PlannedEvent, ...] = (
    PlannedEvent("Sunday Morning Service", SUN, clock(9, 30), 120, 0),
    PlannedEvent("Community Food Drive", SAT, clock(10, 0), 180, -1),
    PlannedEvent("Youth Group Night", FRI, clock(18, 30), 90, 0),
    PlannedEvent("New Volunteer Orientation", TUE, clock(19, 0), 60, 1),
    PlannedEvent("Neighborhood Park Cleanup", SAT, clock(8, 30), 180, 1),
    PlannedEvent("Senior Center Visit", THU, clock(14, 0), 120, 1),
    PlannedEvent("Family Movie Night", FRI, clock(18, 0), 150, 2),
    PlannedEvent("Charity Fun Run", SUN, clock(7, 30), 240, 2),
    PlannedEvent("Food Bank Sorting Shift", SAT, clock(9, 0), 180, 3),
    PlannedEvent("Community Garden Workday", WED, clock(16, 0), 120, 3),
)
TEAM_NAMES = ("Welcome Team", "Worship & Music", "Youth Ministry", "Tech & Media", "Outreach Team")
FIRST_NAMES = (
    "Maria", "James", "Aisha", "Daniel", "Mei", "Samuel", "Priya", "Lucas", "Fatima", "Ethan",
    "Sofia", "Kwame", "Hannah", "Diego", "Grace", "Omar", "Chloe", "Mateo", "Ava", "Noah",
    "Leila", "Benjamin", "Yuki", "Isaac", "Amara", "Gabriel", "Nora", "Elijah", "Zara", "Henry",
)  # fmt: skip
LAST_NAMES = (
    "Garcia", "Johnson", "Okafor", "Nguyen", "Patel", "Kim", "Rossi", "Mensah", "Cohen", "Silva",
    "Murphy", "Haddad", "Tanaka", "Lopez", "Schmidt", "Williams", "Novak", "Ahmed", "Brown", "Dubois",
    "Hughes", "Santos", "Kowalski", "Fischer", "Chen", "Reyes", "Walker", "Ibrahim", "Larsen", "Moreau",
)  # fmt: skip
DEFAULT_ROLES = ("Greeter", "Usher", "Sound Tech", "Childcare", "Setup Crew", "Hospitality")


def build_sample_rows(
    org_id: str, spec: SizeSpec, *, timezone: ZoneInfo, now: datetime, roles: Sequence[str]
) -> SampleRows:
    """The rows for one organization. Events fall on local dates and wall-clock times of `timezone`."""
    today = now.astimezone(timezone).date()
    events = [_event(org_id, plan, today, timezone) for plan in EVENT_PLAN[: spec.events]]
    teams = [
        {"id": new_id("sample_team"), "org_id": org_id, "name": name, "is_sample": True}
        for name in TEAM_NAMES[: spec.teams]
    ]
    role_cycle = list(roles) or list(DEFAULT_ROLES)
    people = [
        _volunteer(org_id, index, role_cycle[index % len(role_cycle)]) for index in range(spec.volunteers)
    ]
    # Spread assignments evenly over events; within an event the people are distinct (j < volunteers).
    per_event = spec.assignments // spec.events
    assert per_event * spec.events == spec.assignments and per_event <= spec.volunteers
    assignments = []
    for index in range(spec.assignments):
        event_index, slot = index % spec.events, index // spec.events
        person = people[(slot + 3 * event_index) % spec.volunteers]
        assignments.append(
            {
                "id": new_id("sample_assignment"),
                "event_id": events[event_index]["id"],
                "person_id": person["id"],
                "role": role_cycle[slot % len(role_cycle)],
            }
        )
    return SampleRows(events=events, teams=teams, people=people, assignments=assignments)


def _event(org_id: str, plan: PlannedEvent, today: date, timezone: ZoneInfo) -> dict[str, Any]:
    local_start = datetime.combine(_event_date(today, plan), plan.starts_at, tzinfo=timezone)
    # Duration in real time, not wall-clock time, so an event spanning a DST change still lasts `minutes`.
    start = local_start.astimezone(UTC)
    return {
        "id": new_id("sample_event"),
        "org_id": org_id,
        "title": plan.title,
        "start_time": start,
        "end_time": start + timedelta(minutes=plan.minutes),
        "is_sample": True,
    }


def _event_date(today: date, plan: PlannedEvent) -> date:
    if plan.week >= 0:
        days_ahead = (plan.weekday - today.weekday() - 1) % 7 + 1  # 1..7: strictly after today
        return today + timedelta(days=days_ahead + 7 * plan.week)
    days_back = (today.weekday() - plan.weekday - 1) % 7 + 1  # 1..7: strictly before today
    return today - timedelta(days=days_back + 7 * (-plan.week - 1))


def _volunteer(org_id: str, index: int, role: str) -> dict[str, Any]:
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    last = LAST_NAMES[(index * 7 + 3) % len(LAST_NAMES)]
    person_id = new_id("sample_person")
    # The id's tail keeps addresses unique across organizations, should the host schema require it.
    email = f"{first}.{last}.{person_id[-6:]}@example.com".lower()
    return {
        "id": person_id,
        "org_id": org_id,
        "name": f"{first} {last}",
        "email": email,
        "roles": json.dumps(["volunteer", role]),
        "is_sample": True,
    }


def _roles_from_wizard(current: StateRecord) -> list[str]:
    """The roles the organization named for its first event (wizard step 2), if it got that far."""
    step = current.wizard_step_data.get(WizardStep.FIRST_EVENT.data_key, {})
    roles = step.get("role_requirements")
    return [role for role in roles if isinstance(role, str)] if isinstance(roles, dict) else []


# --- SQL ---


def insert_sample_rows(session: Session, rows: SampleRows) -> None:
    """Write the rows of the four tables with one statement; each table's rows are one JSON parameter."""
    events = [
        {**event, "start_time": event["start_time"].isoformat(), "end_time": event["end_time"].isoformat()}
        for event in rows.events
    ]
    # On the session's connection (Core): an ORM session would read the parameters as rows to bulk-insert.
    session.connection().execute(
        _insert_sample_rows_statement(),
        {"teams": rows.teams, "people": rows.people, "events": events, "assignments": rows.assignments},
    )


@cache
def _insert_sample_rows_statement() -> Insert:
    """Teams, people and events are data-modifying CTEs of the assignments' INSERT (foreign keys are
    checked at the end of the statement, when all rows exist), each reading `jsonb_to_recordset` of its
    parameter. Built once per container: a multi-row VALUES with a bound value per field (860 for the
    comprehensive size) was built, compiled and parsed by the driver on every request."""

    def recordset(name: str, *columns: ColumnClause[Any]) -> TableValuedAlias:
        rows = func.jsonb_to_recordset(bindparam(name, type_=JSONB)).table_valued(*columns)
        return rows.render_derived(name, with_types=True)

    ids = (column("id", String(50)), column("org_id", String(50)))
    teams = recordset("teams", *ids, column("name", String(200)))
    people = recordset(
        "people", *ids, column("name", String(200)), column("email", String(254)), column("roles", Text)
    )
    when = DateTime(timezone=True)
    events = recordset(
        "events", *ids, column("title", String(200)), column("start_time", when), column("end_time", when)
    )
    assignments = recordset(
        "assignments",
        column("id", String(50)),
        column("event_id", String(50)),
        column("person_id", String(50)),
        column("role", String(100)),
    )
    statement = insert(host.event_assignments).from_select(
        [c.name for c in assignments.columns], select(*assignments.columns)
    )
    for model, source in ((host.teams, teams), (host.people, people), (host.events, events)):
        flagged = select(*source.columns, true())
        rows = insert(model).from_select([*(c.name for c in source.columns), "is_sample"], flagged)
        statement = statement.add_cte(rows.cte(f"sample_{model.name}"))
    return statement


# The status reads the sample rows per table with the state row (each a subquery on the bound organization).
def _sample_events(org_id: ColumnElement[str]) -> ColumnElement[int]:
    return (
        select(func.count())
        .where(host.events.c.org_id == org_id, host.events.c.is_sample.is_(true()))
        .scalar_subquery()
    )


def _sample_teams(org_id: ColumnElement[str]) -> ColumnElement[int]:
    return (
        select(func.count())
        .where(host.teams.c.org_id == org_id, host.teams.c.is_sample.is_(true()))
        .scalar_subquery()
    )


def _sample_people(org_id: ColumnElement[str]) -> ColumnElement[int]:
    return (
        select(func.count())
        .where(host.people.c.org_id == org_id, host.people.c.is_sample.is_(true()))
        .scalar_subquery()
    )


def _sample_event_assignments(org_id: ColumnElement[str]) -> ColumnElement[int]:
    return (
        select(func.count())
        .select_from(host.event_assignments)
        .where(_sample_assignments(_sample_event_ids(org_id), _sample_person_ids(org_id)))
        .scalar_subquery()
    )


FLAGS = state.Reading()  # the state row only: what generating and clearing check under the lock
# The sample rows of each kind, read with the state (columns named `sample_<kind>`).
COUNTS: tuple[tuple[str, state.ExtraColumn], ...] = (
    ("sample_events", _sample_events),
    ("sample_teams", _sample_teams),
    ("sample_volunteers", _sample_people),
    ("sample_assignments", _sample_event_assignments),
)
STATUS = state.Reading(extra=COUNTS)


def counts_of(snapshot: state.Snapshot) -> SampleDataCounts:
    """The sample rows per kind, from a snapshot read with `COUNTS` among its columns."""
    return SampleDataCounts(**{name.removeprefix("sample_"): int(snapshot.extra[name]) for name, _ in COUNTS})


def status_of(snapshot: state.Snapshot) -> SampleDataStatus:
    """The sample-data status of a snapshot read with `COUNTS` among its columns."""
    return _status(snapshot.state, snapshot.now, counts_of(snapshot))


def _status(current: StateRecord, now: datetime, counts: SampleDataCounts) -> SampleDataStatus:
    return SampleDataStatus(**dict(state.sample_data_summary(current, now)), counts=counts)
