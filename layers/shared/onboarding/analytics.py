"""Cross-organization onboarding analytics for platform analysts: the seed's four queries, typed.

Each answer is one statement. Field names are the seed's SQL aliases. Percentages and averages are
null, not an error, when there is nothing to divide by (NULLIF). Organization ids and names appear in
the incomplete-organizations list only; every other answer is an aggregate.

Periods: optional `from`/`to`, both inclusive: an ISO 8601 date (a whole day in UTC) or an RFC 3339
date-time (that instant), never a number. The rate and the incomplete list filter organizations by
when onboarding started; the funnel and completion times filter metric rows by their timestamp.
"""

from datetime import UTC, date, datetime, time
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    ColumnElement,
    Integer,
    Numeric,
    Select,
    SQLColumnExpression,
    String,
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
from onboarding.validation import DateOrTimestamp, field_error

# A period's bound: a whole day (UTC) or an instant.
Bound = DateOrTimestamp
PERIOD_REVERSED = "date_range"
PERIOD_RULES: Final = {PERIOD_REVERSED: "`from` is not after `to`."}

DEFAULT_PAGE_SIZE: Final = 100
MAX_PAGE_SIZE: Final = 500
WIZARD_STEPS: Final = 5


class Period(BaseModel):
    """The inclusive range an answer covers, as requested (dates, or date-times in UTC; null = unbounded)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: datetime | date | None = Field(serialization_alias="from", validation_alias="from")
    to: datetime | date | None


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


def period(from_: date | datetime | None, to: date | datetime | None) -> Period:
    if from_ is not None and to is not None and _first_instant(from_) > _last_instant(to):
        raise InvalidInput(
            "The period is empty: 'from' is after 'to'.",
            details=[field_error("query.from", "must not be after 'to'", PERIOD_REVERSED)],
        )
    return Period(from_=from_, to=to)


def _first_instant(bound: date | datetime) -> datetime:
    """A date's first microsecond (UTC), or the instant itself."""
    return bound if isinstance(bound, datetime) else datetime.combine(bound, time.min, UTC)


def _last_instant(bound: date | datetime) -> datetime:
    """A date's last microsecond (UTC; the database's precision), or the instant itself."""
    return bound if isinstance(bound, datetime) else datetime.combine(bound, time.max, UTC)


def _within(column_: SQLColumnExpression[datetime], span: Period) -> ColumnElement[bool]:
    """`column_` inside the period, inclusive of both bounds (whole days in UTC for dates)."""
    conditions: list[ColumnElement[bool]] = []
    if span.from_ is not None:
        conditions.append(column_ >= _first_instant(span.from_))
    if span.to is not None:
        conditions.append(column_ <= _last_instant(span.to))
    return and_(true(), *conditions)


def _percent(part: ColumnElement[Any], whole: ColumnElement[Any], digits: int) -> ColumnElement[Any]:
    return func.round(cast(part, Numeric) * 100 / func.nullif(whole, 0), digits)


def completion_rate(session: Session, span: Period) -> CompletionRate:
    state, task = OnboardingState, OnboardingChecklistTask
    # Per organization, a key lookup per active task in its progress (the active ids are read once).
    # Expanding every progress entry with jsonb_each and joining the tasks cost 4x as much per org.
    active_ids = func.array(select(task.id).where(task.is_active.is_(true())).scalar_subquery())
    active_task = func.unnest(active_ids).table_valued(column("id", String)).render_derived("active_task")
    tasks_completed = (
        select(func.count())
        .select_from(active_task)
        .where(state.checklist_progress[active_task.c.id]["completed"].astext == "true")
        .scalar_subquery()
    )
    total_tasks = select(func.count()).where(task.is_active.is_(true())).scalar_subquery()
    per_org = (
        select(
            state.wizard_completed,
            state.skipped,
            tasks_completed.label("tasks_completed"),
        )
        .where(_within(state.started_at, span))
        .subquery("per_org")
    )
    started = func.count()
    completed = func.count().filter(per_org.c.wizard_completed)
    row = session.execute(
        select(
            started.label("started_count"),
            completed.label("completed_count"),
            func.count().filter(per_org.c.skipped).label("skipped_count"),
            func.count()
            .filter(and_(per_org.c.wizard_completed.is_(false()), per_org.c.skipped.is_(false())))
            .label("in_progress_count"),
            _percent(completed, started, 1).label("completion_percent"),
            total_tasks.label("total_tasks"),
            func.round(func.avg(per_org.c.tasks_completed), 2).label("avg_tasks_completed"),
            _percent(func.avg(per_org.c.tasks_completed), total_tasks, 1).label(
                "avg_checklist_completion_percent"
            ),
        ).select_from(per_org)
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
