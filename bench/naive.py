"""The naive approaches the seed implies, for section 8's comparisons (never used by the service).

- checklist: the active tasks, then one query per criterion (the seed stored one SQL query per task);
- metrics: one ORM insert (and flush) per event;
- sample data: one ORM insert (and flush) per row.

They run on the same session, data and transaction shape as the service's set-based code they are
compared with, and give the same answers.
"""

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from onboarding import checklist, counters
from onboarding.checklist import CompositeAnd, CompositeOr, CounterCriterion, Criterion, StateCheckCriterion
from onboarding.client_metrics import MetricBatch, coarse_user_agent
from onboarding.models import (
    Event,
    EventAssignment,
    OnboardingChecklistTask,
    OnboardingMetric,
    OnboardingState,
    Person,
    Team,
)
from onboarding.sample_data import SampleRows


def checklist_completed(session: Session, org_id: str) -> tuple[int, int]:
    """(completed, total) tasks, evaluating each task's criteria with their own queries."""
    task = OnboardingChecklistTask
    tasks = session.scalars(
        select(task).where(task.is_active.is_(true())).order_by(task.priority_order)
    ).all()
    completed = sum(
        _holds(session, org_id, checklist.parse_criterion(item.completion_criteria)) for item in tasks
    )
    return completed, len(tasks)


def _holds(session: Session, org_id: str, criterion: Criterion) -> bool:
    match criterion:
        case CounterCriterion(counter=counter, operator=op, threshold=threshold):
            value = counters.count(session, org_id, [counter])[counter]
            return checklist._COMPARE[op](value, threshold)
        case StateCheckCriterion(field=field, operator=op, value=expected):
            column = getattr(OnboardingState, field)
            actual = session.execute(
                select(column).where(OnboardingState.organization_id == org_id)
            ).scalar_one()
            return checklist._COMPARE[op](actual, expected)
        case CompositeAnd(criteria=children):
            return all(_holds(session, org_id, child) for child in children)
        case CompositeOr(criteria=children):
            return any(_holds(session, org_id, child) for child in children)
    raise AssertionError(f"unhandled criterion {criterion!r}")


def ingest_one_by_one(session: Session, org_id: str, batch: MetricBatch, user_agent: str | None) -> int:
    """One ORM INSERT per event (no duplicate handling: the naive code has none)."""
    agent = coarse_user_agent(user_agent)
    for event in batch.events:
        session.add(
            OnboardingMetric(
                organization_id=org_id,
                client_event_id=event.event_id,
                event_type=event.event_type,
                event_data=event.event_data,
                wizard_step_reached=event.wizard_step_reached,
                step_duration_seconds=event.step_duration_seconds,
                session_id=event.session_id,
                timestamp=event.timestamp,
                user_agent=agent,
            )
        )
        session.flush()
    return len(batch.events)


def insert_sample_rows_one_by_one(session: Session, rows: SampleRows) -> int:
    """One ORM INSERT per sample row, parents before children."""
    written = 0
    for model, values in (
        (Team, rows.teams),
        (Person, rows.people),
        (Event, rows.events),
        (EventAssignment, rows.assignments),
    ):
        for row in values:
            session.add(model(**row))
            session.flush()
            written += 1
    return written
