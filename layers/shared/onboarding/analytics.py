"""Cross-organization onboarding analytics for platform analysts: the seed's four queries, typed.

Each answer is one statement. Field names are the seed's SQL aliases. Percentages and averages are
null, not an error, when there is nothing to divide by (NULLIF). Organization ids and names appear in
the incomplete-organizations list only; every other answer is an aggregate.

Periods: optional `from`/`to` ISO dates, both inclusive, in UTC. The rate and the incomplete list
filter organizations by when onboarding started; the funnel and completion times filter metric rows
by their timestamp.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    ColumnElement,
    Integer,
    Numeric,
    Select,
    SQLColumnExpression,
    and_,
    cast,
    column,
    extract,
    false,
    func,
    literal,
    not_,
    select,
    true,
    tuple_,
)
from sqlalchemy.orm import Session

from onboarding.errors import InvalidInput
from onboarding.metrics import MetricEventType
from onboarding.models import OnboardingChecklistTask, OnboardingMetric, OnboardingState, Organization
from onboarding.pagination import decode_cursor, encode_cursor
from onboarding.validation import field_error

DEFAULT_PAGE_SIZE: Final = 100
MAX_PAGE_SIZE: Final = 500
WIZARD_STEPS: Final = 5


class Period(BaseModel):
    """The inclusive date range an answer covers (echoing the request; null = unbounded)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: date | None = Field(serialization_alias="from", validation_alias="from")
    to: date | None


class CompletionRate(BaseModel):
    period: Period
    started_count: int
    completed_count: int
    skipped_count: int
    in_progress_count: int
    completion_percent: float | None
    # The seed's per-organization checklist query (tasks_completed / total_tasks), averaged.
    total_tasks: int
    avg_tasks_completed: float | None
    avg_checklist_completion_percent: float | None


class FunnelStep(BaseModel):
    step: int
    drop_off_count: int
    drop_off_percent: float | None


class Funnel(BaseModel):
    period: Period
    started_count: int  # `wizard_started` events: the base of every drop_off_percent
    steps: list[FunnelStep]


class CompletionTime(BaseModel):
    period: Period
    completed_count: int
    avg_minutes: float | None
    median_minutes: float | None
    fastest_minutes: int | None
    slowest_minutes: int | None


class IncompleteOrganization(BaseModel):
    id: str
    name: str
    wizard_current_step: int
    started_at: datetime
    hours_since_start: float


class IncompleteOrganizations(BaseModel):
    period: Period
    organizations: list[IncompleteOrganization]
    next_cursor: str | None


def period(from_: date | None, to: date | None) -> Period:
    if from_ is not None and to is not None and from_ > to:
        raise InvalidInput(
            "The period is empty: 'from' is after 'to'.",
            details=[field_error("query.from", "must not be after 'to'", "date_range")],
        )
    return Period(from_=from_, to=to)


def _within(column_: SQLColumnExpression[datetime], span: Period) -> ColumnElement[bool]:
    """`column_` inside the period's days (UTC), inclusive of both dates."""
    conditions: list[ColumnElement[bool]] = []
    if span.from_ is not None:
        conditions.append(column_ >= datetime.combine(span.from_, time.min, UTC))
    if span.to is not None and span.to < date.max:
        conditions.append(column_ < datetime.combine(span.to + timedelta(days=1), time.min, UTC))
    return and_(true(), *conditions)


def _percent(part: ColumnElement[Any], whole: ColumnElement[Any], digits: int) -> ColumnElement[Any]:
    return func.round(cast(part, Numeric) * 100 / func.nullif(whole, 0), digits)


def completion_rate(session: Session, span: Period) -> CompletionRate:
    state, task = OnboardingState, OnboardingChecklistTask
    # Each organization's checklist progress is a number on its row (`checklist_completed_count`, kept
    # by the database as the progress is stored): the report is an index-only scan of
    # idx_state_started_progress, no JSON evaluated per organization (migration 0006). A split by
    # experiment variant joins the same columns to the assignments on organization_id.
    total_tasks = select(func.count()).where(task.is_active.is_(true())).scalar_subquery()
    tasks_completed = state.checklist_completed_count
    started = func.count()
    completed = func.count().filter(state.wizard_completed)
    row = session.execute(
        select(
            started.label("started_count"),
            completed.label("completed_count"),
            func.count().filter(state.skipped).label("skipped_count"),
            func.count()
            .filter(and_(state.wizard_completed.is_(false()), state.skipped.is_(false())))
            .label("in_progress_count"),
            _percent(completed, started, 1).label("completion_percent"),
            total_tasks.label("total_tasks"),
            func.round(func.avg(tasks_completed), 2).label("avg_tasks_completed"),
            _percent(func.avg(tasks_completed), total_tasks, 1).label("avg_checklist_completion_percent"),
        ).where(_within(state.started_at, span))
    ).one()
    return CompletionRate(period=span, **row._asdict())


def funnel(session: Session, span: Period) -> Funnel:
    metric = OnboardingMetric
    started = (
        select(func.count())
        .where(metric.event_type == MetricEventType.WIZARD_STARTED.value, _within(metric.timestamp, span))
        .scalar_subquery()
    )
    drops = (
        select(metric.wizard_step_dropped.label("step"), func.count().label("drop_off_count"))
        .where(metric.wizard_step_dropped.is_not(None), _within(metric.timestamp, span))
        .group_by(metric.wizard_step_dropped)
        .subquery("drops")
    )
    every_step = func.generate_series(1, WIZARD_STEPS).table_valued(column("step", Integer))
    steps = every_step.render_derived("steps")
    drop_off_count = func.coalesce(drops.c.drop_off_count, 0)
    rows = session.execute(
        select(
            steps.c.step,
            drop_off_count.label("drop_off_count"),
            _percent(drop_off_count, started, 2).label("drop_off_percent"),
            started.label("started_count"),
        )
        .select_from(steps.outerjoin(drops, drops.c.step == steps.c.step))
        .order_by(steps.c.step)
    ).all()
    return Funnel(
        period=span,
        started_count=rows[0].started_count,
        steps=[
            FunnelStep(step=r.step, drop_off_count=r.drop_off_count, drop_off_percent=r.drop_off_percent)
            for r in rows
        ],
    )


def completion_time(session: Session, span: Period) -> CompletionTime:
    metric = OnboardingMetric
    minutes = metric.completion_time_minutes
    row = session.execute(
        select(
            func.count(minutes).label("completed_count"),
            func.round(func.avg(minutes), 2).label("avg_minutes"),
            func.percentile_cont(0.5).within_group(minutes).label("median_minutes"),
            func.min(minutes).label("fastest_minutes"),
            func.max(minutes).label("slowest_minutes"),
        ).where(metric.event_type == MetricEventType.WIZARD_COMPLETED.value, _within(metric.timestamp, span))
    ).one()
    return CompletionTime(period=span, **row._asdict())


def incomplete_organizations(
    session: Session, span: Period, *, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
) -> IncompleteOrganizations:
    """Organizations that started and neither completed nor skipped, most recent first, by pages."""
    query = incomplete_organizations_statement(span, limit=limit, cursor=cursor)
    rows = session.execute(query).all()
    page = [IncompleteOrganization(**row._asdict()) for row in rows[:limit]]
    more = len(rows) > limit
    return IncompleteOrganizations(
        period=span,
        organizations=page,
        next_cursor=encode_cursor(page[-1].started_at, page[-1].id) if more and page else None,
    )


def incomplete_organizations_statement(span: Period, *, limit: int, cursor: str | None = None) -> Select[Any]:
    """One page (and one row more, to know whether another page follows)."""
    state = OnboardingState
    hours = extract("epoch", func.now() - state.started_at) / 3600
    query = (
        select(
            Organization.id,
            Organization.name,
            state.wizard_current_step,
            state.started_at,
            func.round(cast(hours, Numeric), 2).label("hours_since_start"),
        )
        .join(state, state.organization_id == Organization.id)
        .where(
            # `NOT x`, the partial index's own predicate: PostgreSQL cannot prove it from `x IS false`,
            # and without the index every page was a scan and sort of all organizations.
            not_(state.wizard_completed),
            not_(state.skipped),
            _within(state.started_at, span),
        )
        .order_by(state.started_at.desc(), Organization.id.desc())
        .limit(limit + 1)
    )
    if cursor is not None:
        started_at, org_id = decode_cursor(cursor)
        position = tuple_(literal(started_at), literal(org_id))
        query = query.where(tuple_(state.started_at, Organization.id) < position)
    return query
