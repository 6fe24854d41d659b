"""The analyst dashboard's demo data set: organizations in every stage of onboarding, over 14 months.

`make dev` seeds it once into the local database (organizations `demo_0000`...), and the dashboard's
browser test seeds it into the test database: enough to draw every chart: starts spread over 14
months (so the 30-day, 12-month and all-time periods differ), completions whose times range from
minutes to days, explicit skips at every step (some resumed afterwards), organizations idle for
weeks (dropped by inactivity) and ones still active, all in each variant of a demo experiment.

The rows are what the service itself writes for those journeys: onboarding states as the wizard
leaves them, and the metric rows it records (`wizard_started`, `wizard_step_viewed`,
`wizard_step_completed` with the step reached, `wizard_skipped` with the step dropped,
`wizard_completed` with the completion time). Each organization's variant is the service's own
assignment (`experiments.assignments`, the SQL the state's INSERT runs), read for all of them in one
statement, so that the journey can depend on it (the demo's video variant completes more often).
Journeys are drawn in Python from a fixed seed; the rows are then written set-based, one multi-row
INSERT ... SELECT per table from one JSON parameter (`jsonb_to_recordset`, as `metrics.record_with`
writes the service's metric rows): a few milliseconds for hundreds of organizations.
"""

import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, String, bindparam, cast, column, func, insert, literal_column, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert

from onboarding import experiments
from onboarding.metrics import MetricEventType as Event
from onboarding.models import OnboardingExperiment, OnboardingMetric, OnboardingState, Organization
from onboarding.state import WizardStep

PREFIX: Final = "demo_"
DEFAULT_COUNT: Final = 240
SEED: Final = 18
HISTORY_DAYS: Final = 420
NAMES: Final = (
    "Grace Community Church",
    "Riverside Food Bank",
    "Northside Youth Soccer",
    "Harbor Animal Rescue",
    "St. Mark's Parish",
    "Maple Street Library Friends",
    "Lakeside Habitat Crew",
    "City Marathon Volunteers",
    "Hillcrest Senior Center",
    "Sunrise Meal Delivery",
    "Oak Valley Scouts",
    "Bayview Arts Festival",
)


@dataclass
class Journey:
    """One organization's way through the wizard, as timestamps."""

    org_id: str
    started_at: datetime
    variant: str | None = None
    completed_steps: list[datetime] = field(default_factory=list)  # step 1, 2, ... completed at
    skipped_at: datetime | None = None  # the skip that still stands
    skipped_steps: list[tuple[int, datetime]] = field(default_factory=list)  # every skip, resumed or not
    last_activity: datetime | None = None

    @property
    def completed(self) -> bool:
        return len(self.completed_steps) == len(WizardStep)

    @property
    def current_step(self) -> int:
        return min(len(self.completed_steps) + 1, len(WizardStep))


@dataclass(frozen=True)
class DemoExperiment:
    key: str
    description: str
    variants: tuple[str, ...]
    # Completion probability per variant: the demo shows a difference worth drawing.
    completion_bias: tuple[float, ...]


DEMO_EXPERIMENT: Final = DemoExperiment(
    key="wizard_video_intro",
    description="A short welcome video on the wizard's first step",
    variants=("control", "video"),
    completion_bias=(0.42, 0.58),
)


def org_ids(count: int, prefix: str = PREFIX) -> list[str]:
    return [f"{prefix}{index:04d}" for index in range(count)]


def journeys(
    ids: Sequence[str],
    *,
    now: datetime,
    variants: Mapping[str, str] | None = None,
    experiment: DemoExperiment = DEMO_EXPERIMENT,
    seed: int = SEED,
) -> list[Journey]:
    """One journey per organization; `variants` (organization -> variant) biases completion."""
    rng = random.Random(seed)
    result = []
    for org_id in ids:
        variant = (variants or {}).get(org_id)
        bias = 0.5
        if variant in experiment.variants:
            bias = experiment.completion_bias[experiment.variants.index(variant)]
        # More recent starts than old ones; a few in the last days.
        age_days = HISTORY_DAYS * rng.random() ** 1.7
        started = now - timedelta(days=age_days, minutes=rng.randint(0, 600))
        result.append(_journey(rng, Journey(org_id, started, variant), now, bias))
    return result


def _journey(rng: random.Random, journey: Journey, now: datetime, bias: float) -> Journey:
    started = journey.started_at
    roll = rng.random()
    if roll < bias:
        # Completed: minutes for most, hours or days for some (log-normal around 40 minutes).
        total = min(max(3.0, rng.lognormvariate(math.log(40), 1.3)), 60 * 24 * 12)
        if rng.random() < 0.1:  # came back days later to finish
            total = rng.uniform(1, 10) * 24 * 60
        latest = (now - started).total_seconds() / 60 - 1
        total = max(1.0, min(total, latest))
        marks = [*sorted(rng.uniform(0.05, 0.95) * total for _ in range(4)), total]
        journey.completed_steps = [started + timedelta(minutes=m) for m in marks]
        journey.last_activity = journey.completed_steps[-1]
        if rng.random() < 0.12:  # skipped once on the way, then came back: not dropped there
            step = rng.randint(1, 4)
            at = started + timedelta(minutes=marks[step - 1] * 0.9) if step > 1 else started
            journey.skipped_steps.append((step, at + timedelta(seconds=30)))
        return journey
    # Not completed: stop at a step (early steps more often), then skip, go idle or stay active.
    stop = rng.choices([1, 2, 3, 4, 5], weights=[30, 25, 20, 15, 10])[0]
    minutes = 0.0
    for _ in range(stop - 1):
        minutes += rng.uniform(2, 25)
        journey.completed_steps.append(started + timedelta(minutes=minutes))
    last = started + timedelta(minutes=minutes)
    age = now - started
    fate = rng.random()
    if fate < 0.35:
        skip_at = min(last + timedelta(minutes=rng.uniform(1, 20)), now - timedelta(minutes=1))
        journey.skipped_steps.append((stop, skip_at))
        journey.skipped_at = skip_at
        journey.last_activity = skip_at
    elif fate < 0.75 or age < timedelta(days=8):
        # Idle since its last step (dropped by inactivity once that is longer than the threshold).
        journey.last_activity = min(last, now - timedelta(minutes=1))
    else:
        # Still active: came back within the last few days.
        back = now - timedelta(days=rng.uniform(0, 5), minutes=rng.randint(1, 600))
        journey.last_activity = max(back, last)
    return journey


def rows(found: Sequence[Journey], *, experiment: DemoExperiment) -> dict[str, list[dict[str, Any]]]:
    """The organizations, onboarding states and metric rows of these journeys."""
    states, metrics = [], []
    for journey in found:
        org = journey.org_id
        updated = journey.last_activity or journey.started_at
        step_data = {
            step.data_key: {"completed": True, "completed_at": at.isoformat(), "updated_at": at.isoformat()}
            for step, at in zip(WizardStep, journey.completed_steps, strict=False)
        }
        state: dict[str, Any] = {
            "organization_id": org,
            "wizard_current_step": journey.current_step,
            "wizard_completed": journey.completed,
            "completed_at": journey.completed_steps[-1] if journey.completed else None,
            "skipped": journey.skipped_at is not None,
            "skipped_at": journey.skipped_at,
            "wizard_step_data": step_data,
            "started_at": journey.started_at,
            "updated_at": updated,
        }
        state["experiments"] = (
            {experiment.key: {"variant": journey.variant, "source": "hash"}} if journey.variant else {}
        )
        states.append(state)
        start = journey.started_at
        metrics.append(_metric(org, Event.WIZARD_STARTED, start, event_data={"entry_point": "signup"}))
        metrics.append(_metric(org, Event.WIZARD_STEP_VIEWED, start, wizard_step_reached=1))
        for number, at in enumerate(journey.completed_steps, start=1):
            metrics.append(
                _metric(
                    org,
                    Event.WIZARD_STEP_COMPLETED,
                    at,
                    event_data={"step_name": WizardStep(number).step_name},
                    wizard_step_reached=number,
                )
            )
            if number < len(WizardStep):
                metrics.append(_metric(org, Event.WIZARD_STEP_VIEWED, at, wizard_step_reached=number + 1))
        for step, at in journey.skipped_steps:
            metrics.append(
                _metric(
                    org,
                    Event.WIZARD_SKIPPED,
                    at,
                    event_data={"step_name": WizardStep(step).step_name},
                    wizard_step_dropped=step,
                )
            )
        if journey.completed:
            done = journey.completed_steps[-1]
            minutes = int((done - journey.started_at).total_seconds() // 60)
            metrics.append(
                _metric(
                    org,
                    Event.WIZARD_COMPLETED,
                    done,
                    completion_time_minutes=minutes,
                    wizard_step_reached=len(WizardStep),
                )
            )
        elif (seen := journey.last_activity) and journey.skipped_at is None and seen > _last_step(journey):
            # An active organization's latest visit.
            step = journey.current_step
            metrics.append(_metric(org, Event.WIZARD_STEP_VIEWED, seen, wizard_step_reached=step))
    return {"states": states, "metrics": metrics}


def organization_rows(ids: Sequence[str]) -> list[dict[str, Any]]:
    return [{"id": org, "name": f"{NAMES[index % len(NAMES)]} #{index}"} for index, org in enumerate(ids)]


def _last_step(journey: Journey) -> datetime:
    return journey.completed_steps[-1] if journey.completed_steps else journey.started_at


def _metric(org: str, event_type: Event, at: datetime, **columns: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "organization_id": org,
        "event_type": event_type.value,
        "event_data": columns.pop("event_data", {}),
        "timestamp": at,
        "received_at": at,
        "completion_time_minutes": None,
        "wizard_step_reached": None,
        "wizard_step_dropped": None,
    }
    row.update(columns)
    return row


def define_experiment(connection: Connection, experiment: DemoExperiment = DEMO_EXPERIMENT) -> None:
    """The demo experiment as data (equal weights), unless it is defined already."""
    connection.execute(
        pg_insert(OnboardingExperiment)
        .values(
            id=experiment.key,
            description=experiment.description,
            variants=[{"id": variant, "weight": 1} for variant in experiment.variants],
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )


def assigned_variants(
    connection: Connection, ids: Sequence[str], experiment: DemoExperiment
) -> dict[str, str]:
    """Each organization's variant as the service assigns it when onboarding starts (one statement).

    The organization id is a plain column reference (`org.id` of the unnest below): the assignment's
    nested subqueries then see the outer row, where a table's column would be joined in again.
    """
    org_id = literal_column("org.id", String)
    assigned = experiments.assignments(org_id, literal_column("'{}'::jsonb"))
    query = select(org_id, assigned).select_from(text("unnest(CAST(:ids AS varchar[])) AS org(id)"))
    found = connection.execute(query, {"ids": list(ids)}).all()
    return {org: value[experiment.key]["variant"] for org, value in found if experiment.key in value}


def seed(
    connection: Connection,
    count: int = DEFAULT_COUNT,
    *,
    now: datetime | None = None,
    prefix: str = PREFIX,
    experiment: DemoExperiment = DEMO_EXPERIMENT,
) -> list[Journey]:
    """Write the demo experiment and organizations (in the caller's transaction); return the journeys."""
    define_experiment(connection, experiment)
    ids = org_ids(count, prefix)
    insert_set(connection, Organization, organization_rows(ids))
    variants = assigned_variants(connection, ids, experiment)
    found = journeys(ids, now=now or datetime.now(UTC), variants=variants, experiment=experiment)
    written = rows(found, experiment=experiment)
    insert_set(connection, OnboardingState, written["states"])
    insert_set(connection, OnboardingMetric, written["metrics"])
    return found


def insert_set(connection: Connection, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """`INSERT INTO <table> (...) SELECT ... FROM jsonb_to_recordset(:rows)`: one statement, one parameter."""
    if not rows:
        return
    table = model.__table__
    names = list(rows[0])
    record = (
        func.jsonb_to_recordset(cast(bindparam("rows", type_=String), JSONB))
        .table_valued(*(column(name, table.c[name].type) for name in names))
        .render_derived("r", with_types=True)
    )
    payload = json.dumps(rows, default=lambda value: value.isoformat())
    connection.execute(insert(table).from_select(names, select(*record.c)), {"rows": payload})


def seed_once(connection: Connection, count: int = DEFAULT_COUNT) -> bool:
    """Seed unless demo organizations exist already (`make dev` keeps its database between runs)."""
    present = connection.execute(
        select(func.count()).select_from(Organization).where(Organization.id.like(f"{PREFIX}%"))
    ).scalar_one()
    if present:
        return False
    seed(connection, count)
    return True
