"""Cross-organization onboarding analytics for platform analysts: the seed's four queries, typed.

Each answer is one statement. Field names are the seed's SQL aliases. Percentages and averages are
null, not an error, when there is nothing to divide by (NULLIF). Organization ids and names appear in
the incomplete-organizations list only; every other answer is an aggregate.

Periods: optional `from`/`to`, both inclusive: an ISO 8601 date (a whole day in UTC) or an RFC 3339
date-time (that instant), never a number. The rate and the incomplete list filter organizations by
when onboarding started; the funnel's skip-based figure and completion times filter metric rows by
their timestamp; the funnel's reached/completed/dropped count the organizations whose onboarding
started in the period.

`experiment=<id>` splits the funnel, the completion rate and the completion times by the variants of
that experiment (`experiments`): one entry per variant of its definition, in definition order, the
organizations assigned to it (an organization that started before the experiment existed has no
variant and is in no entry). Rates carry a 95 % Wilson interval, and each variant's completion rate is
compared with the first variant's (the baseline) by the difference and its Newcombe interval
(`intervals`). The shape is the one docs/analytics.md documents for dashboards.
"""

import itertools
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Integer,
    Numeric,
    Select,
    SQLColumnExpression,
    String,
    and_,
    bindparam,
    case,
    cast,
    column,
    exists,
    extract,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from onboarding import experiments
from onboarding import host_tables as host
from onboarding.errors import InvalidInput
from onboarding.field_errors import field_error
from onboarding.intervals import Interval, newcombe, wilson
from onboarding.metrics import MAX_CLOCK_SKEW, MetricEventType
from onboarding.pagination import decode_cursor, encode_cursor
from onboarding.tables import onboarding_checklist_task, onboarding_metric, onboarding_state
from onboarding.validation import DateOrTimestamp

# A period's bound: a whole day (UTC) or an instant.
Bound = DateOrTimestamp
PERIOD_REVERSED = "date_range"
PERIOD_RULES: Final = {PERIOD_REVERSED: "`from` is not after `to`."}

DEFAULT_PAGE_SIZE: Final = 100
MAX_PAGE_SIZE: Final = 500
WIZARD_STEPS: Final = 5
DEFAULT_INACTIVE_DAYS: Final = 7
MAX_INACTIVE_DAYS: Final = 365
# Completion-time distribution: [from, to) in minutes, the last bucket open-ended.
DISTRIBUTION_BOUNDS: Final = (0, 5, 15, 30, 60, 120, 24 * 60)


class Period(BaseModel):
    """The inclusive range an answer covers, as requested (dates, or date-times in UTC; null = unbounded)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: datetime | date | None = Field(serialization_alias="from", validation_alias="from")
    to: datetime | date | None


class VariantCompletionRate(BaseModel):
    variant: str
    started_count: int
    completed_count: int
    completion_rate: float | None  # a fraction, null without organizations
    completion_interval: Interval | None


class Comparison(BaseModel):
    """A variant's completion rate minus the baseline's (the experiment's first variant)."""

    variant: str
    baseline: str
    difference: float | None
    difference_interval: Interval | None


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
    completion_interval: Interval | None  # completed_count / started_count (Wilson)
    experiment: str | None = None
    variants: list[VariantCompletionRate] | None = None
    comparisons: list[Comparison] | None = None


class FunnelStep(BaseModel):
    step: int
    reached: int  # organizations that arrived at the step
    completed: int  # ... and moved past it by completing it
    dropped: int  # dropped_skipped + dropped_inactive
    dropped_skipped: int  # at the step, the wizard skipped and not resumed
    dropped_inactive: int  # at the step, not skipped, no activity for inactive_days, not completed
    # The data model's skip-based figure: `onboarding_skipped` metrics at the step (resumes not undone).
    drop_off_count: int
    drop_off_percent: float | None


class FunnelVariant(BaseModel):
    variant: str
    organizations: int  # organizations of the variant that started in the period
    started_count: int  # their `wizard_started` events in the period
    steps: list[FunnelStep]


class Funnel(BaseModel):
    period: Period
    inactive_days: int
    started_count: int  # `wizard_started` events: the base of every drop_off_percent
    steps: list[FunnelStep]
    experiment: str | None = None
    variants: list[FunnelVariant] | None = None


class DistributionBucket(BaseModel):
    from_minutes: int  # inclusive
    to_minutes: int | None  # exclusive; null: open-ended
    count: int


class CompletionTimeFigures(BaseModel):
    completed_count: int
    avg_minutes: float | None
    median_minutes: float | None
    fastest_minutes: int | None
    slowest_minutes: int | None
    p25_minutes: float | None
    p75_minutes: float | None
    distribution: list[DistributionBucket]


class VariantCompletionTime(CompletionTimeFigures):
    variant: str


class CompletionTime(CompletionTimeFigures):
    period: Period
    experiment: str | None = None
    variants: list[VariantCompletionTime] | None = None


class Experiment(BaseModel):
    key: str
    description: str
    variants: list[str]  # in definition order; the first is the baseline of comparisons
    weights: dict[str, int]  # each variant's share of hash-assigned organizations is weight / total
    is_active: bool  # only active experiments assign organizations that start onboarding
    created_at: datetime


class Experiments(BaseModel):
    experiments: list[Experiment]


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


# Every report's statement is built once per container and kind of request (which period bounds are
# given, which experiment splits it) and its values are bound at execution: building a statement of
# this size and deriving its cache key cost more than running it (bench/README.md, "CPU (target 3)").
# `Bounds`: whether the period has a `from` and a `to`.
Bounds = tuple[bool, bool]
# An experiment split as a statement depends on it: its id (the JSON key) and its variants, in order.
SplitKey = tuple[str, tuple[str, ...]] | None
_STATEMENTS_KEPT: Final = 64  # statements per builder: 4 period shapes x experiments asked for


def _bounds(span: Period) -> Bounds:
    return (span.from_ is not None, span.to is not None)


def _period_params(span: Period) -> dict[str, datetime]:
    """The period's bounds as the bound parameters of `_within` (whole days in UTC for dates)."""
    params: dict[str, datetime] = {}
    if span.from_ is not None:
        params["period_from"] = _first_instant(span.from_)
    if span.to is not None:
        params["period_to"] = _last_instant(span.to)
    return params


def _within(column_: SQLColumnExpression[datetime], bounds: Bounds) -> ColumnElement[bool]:
    """`column_` inside the period, inclusive of both bounds (`_period_params`)."""
    conditions: list[ColumnElement[bool]] = []
    if bounds[0]:
        conditions.append(column_ >= bindparam("period_from", type_=DateTime(timezone=True)))
    if bounds[1]:
        conditions.append(column_ <= bindparam("period_to", type_=DateTime(timezone=True)))
    return and_(true(), *conditions)


def _split_key(split: experiments.Experiment | None) -> SplitKey:
    return None if split is None else (split.id, tuple(v.id for v in split.variants))


def _percent(part: ColumnElement[Any], whole: ColumnElement[Any], digits: int) -> ColumnElement[Any]:
    return func.round(cast(part, Numeric) * 100 / func.nullif(whole, 0), digits)


def experiment(session: Session, key: str | None) -> experiments.Experiment | None:
    """The experiment a split asks for (404 `experiment_not_found` for an unknown key)."""
    if key is None:
        return None
    found = experiments.definitions(session, key)
    if not found:
        raise experiments.ExperimentNotFound(f"There is no experiment '{key}'.")
    return found[0]


def list_experiments(session: Session) -> Experiments:
    return Experiments(
        experiments=[
            Experiment(
                key=e.id,
                description=e.description,
                variants=[v.id for v in e.variants],
                weights={v.id: v.weight for v in e.variants},
                is_active=e.is_active,
                created_at=e.created_at,
            )
            for e in experiments.definitions(session)
        ]
    )


# --- Groups: the whole population ("") or one experiment's variants ---

WHOLE: Final = ""


def _groups(split: SplitKey) -> Any:
    """(variant, position) rows: one per variant of the experiment in definition order, or one for all.

    The names are one bound array, unnested WITH ORDINALITY: a statement with a `VALUES` list of
    literal rows has no SQLAlchemy cache key, so it was compiled again on every request (~2-4 ms for
    the funnel; bench/README.md, "CPU (target 3)").
    """
    names = list(split[1]) if split is not None else [WHOLE]
    return (
        func.unnest(literal(names, ARRAY(String)))
        .table_valued(column("variant", String), with_ordinality="position")
        .render_derived("groups")
    )


def _variant(split: SplitKey) -> ColumnElement[str]:
    """The organization's group, on a query over `onboarding_state` (null: not in the experiment)."""
    if split is None:
        return literal(WHOLE, String)
    variant: ColumnElement[str] = onboarding_state.c.experiments[split[0]]["variant"].astext
    return variant


def _metric_rows(split: SplitKey) -> Any:
    """The metric rows, joined to their organization's state only when a split needs its variant."""
    if split is None:
        return onboarding_metric
    return onboarding_metric.join(
        onboarding_state, onboarding_state.c.organization_id == onboarding_metric.c.organization_id
    )


# --- Completion rate ---


def completion_rate(session: Session, span: Period, experiment_key: str | None = None) -> CompletionRate:
    split = experiment(session, experiment_key)
    row = session.execute(_completion_rate_statement(_bounds(span)), _period_params(span)).one()
    answer = CompletionRate(
        period=span, completion_interval=wilson(row.completed_count, row.started_count), **row._asdict()
    )
    if split is None:
        return answer
    variants = _variant_completion_rates(session, span, split)
    baseline = variants[0]
    comparisons = []
    for other in variants[1:]:
        compared = newcombe(
            other.completed_count, other.started_count, baseline.completed_count, baseline.started_count
        )
        comparisons.append(
            Comparison(
                variant=other.variant,
                baseline=baseline.variant,
                difference=compared[0] if compared else None,
                difference_interval=compared[1] if compared else None,
            )
        )
    return answer.model_copy(
        update={"experiment": split.id, "variants": variants, "comparisons": comparisons}
    )


@lru_cache(maxsize=_STATEMENTS_KEPT)
def _completion_rate_statement(bounds: Bounds) -> Select[Any]:
    state, task = onboarding_state.c, onboarding_checklist_task.c
    # Each organization's checklist progress is a number on its row (`checklist_completed_count`, kept
    # by the database as the progress is stored): the report is an index-only scan of
    # idx_state_started_progress, no JSON evaluated per organization (migration 0007). A split by
    # experiment variant groups the same rows by their variant (`_variant`).
    total_tasks = select(func.count()).where(task.is_active.is_(true())).scalar_subquery()
    tasks_completed = state.checklist_completed_count
    started = func.count()
    completed = func.count().filter(state.wizard_completed)
    return select(
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
    ).where(_within(state.started_at, bounds))


def _variant_completion_rates(
    session: Session, span: Period, split: experiments.Experiment
) -> list[VariantCompletionRate]:
    statement = _variant_completion_rates_statement(_bounds(span), _split_key(split))
    rows = session.execute(statement, _period_params(span)).all()
    return [
        VariantCompletionRate(
            variant=r.variant,
            started_count=r.started_count,
            completed_count=r.completed_count,
            completion_rate=r.completed_count / r.started_count if r.started_count else None,
            completion_interval=wilson(r.completed_count, r.started_count),
        )
        for r in rows
    ]


@lru_cache(maxsize=_STATEMENTS_KEPT)
def _variant_completion_rates_statement(bounds: Bounds, split: SplitKey) -> Select[Any]:
    # Over onboarding_state only: the same split applies to a per-organization rollup of the state.
    state = onboarding_state.c
    groups = _groups(split)
    per_org = (
        select(_variant(split).label("variant"), state.wizard_completed)
        .where(_within(state.started_at, bounds))
        .subquery("per_org")
    )
    return (
        select(
            groups.c.variant,
            func.count(per_org.c.variant).label("started_count"),
            func.count().filter(per_org.c.wizard_completed).label("completed_count"),
        )
        .select_from(groups.outerjoin(per_org, per_org.c.variant == groups.c.variant))
        .group_by(groups.c.variant, groups.c.position)
        .order_by(groups.c.position)
    )


# --- Funnel ---


def funnel(
    session: Session,
    span: Period,
    inactive_days: int = DEFAULT_INACTIVE_DAYS,
    experiment_key: str | None = None,
) -> Funnel:
    split = experiment(session, experiment_key)
    (whole,) = _funnel_groups(session, span, inactive_days, None)
    answer = Funnel(
        period=span, inactive_days=inactive_days, started_count=whole.started_count, steps=whole.steps
    )
    if split is None:
        return answer
    variants = _funnel_groups(session, span, inactive_days, split)
    return answer.model_copy(update={"experiment": split.id, "variants": variants})


def _funnel_groups(
    session: Session, span: Period, inactive_days: int, split: experiments.Experiment | None
) -> list[FunnelVariant]:
    """Each group's funnel, in one statement (see FunnelStep for what each figure counts)."""
    statement = _funnel_statement(_bounds(span), _split_key(split))
    rows = session.execute(statement, {**_period_params(span), "inactive_days": inactive_days}).all()
    answer = []
    for index in range(0, len(rows), WIZARD_STEPS):
        group = rows[index : index + WIZARD_STEPS]
        answer.append(
            FunnelVariant(
                variant=group[0].variant,
                organizations=group[0].organizations,
                started_count=group[0].started_count,
                steps=[
                    FunnelStep(
                        step=r.step,
                        reached=r.reached,
                        completed=r.completed,
                        dropped=r.dropped_skipped + r.dropped_inactive,
                        dropped_skipped=r.dropped_skipped,
                        dropped_inactive=r.dropped_inactive,
                        drop_off_count=r.drop_off_count,
                        drop_off_percent=r.drop_off_percent,
                    )
                    for r in group
                ],
            )
        )
    return answer


@lru_cache(maxsize=_STATEMENTS_KEPT)
def _funnel_statement(bounds: Bounds, split: SplitKey) -> Select[Any]:
    state, metric = onboarding_state.c, onboarding_metric.c
    variant = _variant(split)
    # Activity: the state's last change or the organization's metrics (index on org, timestamp). Idle:
    # neither since the cutoff. The metrics are looked for between the cutoff and now (plus the clock
    # skew a client timestamp may have), so only the partitions of those months are read, not every
    # month's (as the latest metric of all time would).
    cutoff = func.now() - func.make_interval(0, 0, 0, bindparam("inactive_days", type_=Integer))
    recent_metric = exists().where(
        metric.organization_id == state.organization_id,
        metric.timestamp >= cutoff,
        metric.timestamp <= func.now() + MAX_CLOCK_SKEW,
    )
    # Idle matters only at the step an organization is at (not done) and not skipped: the others are
    # never looked up (and fall in fewer groups below).
    idle = case(
        (or_(state.wizard_completed, state.skipped), false()),
        else_=and_(state.updated_at < cutoff, not_(recent_metric)),
    )
    per_org = (
        select(
            variant.label("variant"),
            state.wizard_current_step.label("at"),
            state.wizard_completed.label("done"),
            state.skipped,
            idle.label("idle"),
        )
        .where(_within(state.started_at, bounds))
        .subquery("per_org")
    )
    # The organizations counted per (variant, step, done, skipped, idle) first: one pass over the
    # states into at most 5 x 2 x 2 x 2 groups per variant, then each step's figures summed from those
    # groups (not from every organization once per step).
    kinds = (
        select(
            per_org.c.variant,
            per_org.c.at,
            per_org.c.done,
            per_org.c.skipped,
            per_org.c.idle,
            func.count().label("organizations"),
        )
        .group_by(per_org.c.variant, per_org.c.at, per_org.c.done, per_org.c.skipped, per_org.c.idle)
        .subquery("kinds")
    )
    org_step = (
        func.generate_series(1, WIZARD_STEPS).table_valued(column("step", Integer)).render_derived("org_step")
    )
    here = and_(not_(kinds.c.done), kinds.c.at == org_step.c.step)

    def total(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return cast(func.sum(kinds.c.organizations).filter(condition), BigInteger)

    by_step = (
        select(
            kinds.c.variant,
            org_step.c.step,
            total(or_(kinds.c.done, kinds.c.at >= org_step.c.step)).label("reached"),
            total(or_(kinds.c.done, kinds.c.at > org_step.c.step)).label("completed"),
            total(and_(here, kinds.c.skipped)).label("dropped_skipped"),
            total(and_(here, not_(kinds.c.skipped), kinds.c.idle)).label("dropped_inactive"),
            # Every step's row sees all the variant's groups: the same total on each.
            total(true()).label("organizations"),
        )
        .select_from(kinds.join(org_step, true()))
        .group_by(kinds.c.variant, org_step.c.step)
        .subquery("by_step")
    )
    # Grouped from a subquery: the variant expression's bound key would not match in a GROUP BY.
    dropped_rows = (
        select(variant.label("variant"), metric.wizard_step_dropped.label("step"))
        .select_from(_metric_rows(split))
        .where(metric.wizard_step_dropped.is_not(None), _within(metric.timestamp, bounds))
        .subquery("dropped_rows")
    )
    drops = (
        select(dropped_rows.c.variant, dropped_rows.c.step, func.count().label("drop_off_count"))
        .group_by(dropped_rows.c.variant, dropped_rows.c.step)
        .subquery("drops")
    )
    started_rows = (
        select(variant.label("variant"))
        .select_from(_metric_rows(split))
        .where(metric.event_type == MetricEventType.WIZARD_STARTED.value, _within(metric.timestamp, bounds))
        .subquery("started_rows")
    )
    started = (
        select(started_rows.c.variant, func.count().label("started_count"))
        .group_by(started_rows.c.variant)
        .subquery("started")
    )
    groups = _groups(split)
    steps = (
        func.generate_series(1, WIZARD_STEPS).table_valued(column("step", Integer)).render_derived("steps")
    )
    counts = {
        name: func.coalesce(by_step.c[name], 0).label(name)
        for name in ("reached", "completed", "dropped_skipped", "dropped_inactive")
    }
    drop_off_count = func.coalesce(drops.c.drop_off_count, 0)
    started_count = func.coalesce(started.c.started_count, 0)
    return (
        select(
            groups.c.variant,
            steps.c.step,
            *counts.values(),
            drop_off_count.label("drop_off_count"),
            _percent(drop_off_count, started_count, 2).label("drop_off_percent"),
            started_count.label("started_count"),
            func.coalesce(by_step.c.organizations, 0).label("organizations"),
        )
        .select_from(
            groups.join(steps, true())
            .outerjoin(by_step, and_(by_step.c.variant == groups.c.variant, by_step.c.step == steps.c.step))
            .outerjoin(drops, and_(drops.c.variant == groups.c.variant, drops.c.step == steps.c.step))
            .outerjoin(started, started.c.variant == groups.c.variant)
        )
        .order_by(groups.c.position, steps.c.step)
    )


# --- Completion time ---


def completion_time(session: Session, span: Period, experiment_key: str | None = None) -> CompletionTime:
    split = experiment(session, experiment_key)
    (whole,) = _completion_times(session, span, None)
    answer = CompletionTime(period=span, **whole.model_dump(exclude={"variant"}))
    if split is None:
        return answer
    return answer.model_copy(
        update={"experiment": split.id, "variants": _completion_times(session, span, split)}
    )


def _completion_times(
    session: Session, span: Period, split: experiments.Experiment | None
) -> list[VariantCompletionTime]:
    statement = _completion_times_statement(_bounds(span), _split_key(split))
    rows = session.execute(statement, _period_params(span)).all()
    answer = []
    for r in rows:
        figures = r._asdict()
        distribution = [
            DistributionBucket(from_minutes=low, to_minutes=high, count=figures.pop(f"bucket_{i}"))
            for i, (low, high) in enumerate(itertools.pairwise([*DISTRIBUTION_BOUNDS, None]))
            if low is not None
        ]
        answer.append(VariantCompletionTime(distribution=distribution, **figures))
    return answer


@lru_cache(maxsize=_STATEMENTS_KEPT)
def _completion_times_statement(bounds: Bounds, split: SplitKey) -> Select[Any]:
    metric = onboarding_metric.c
    completions = (
        select(_variant(split).label("variant"), metric.completion_time_minutes.label("minutes"))
        .select_from(_metric_rows(split))
        .where(metric.event_type == MetricEventType.WIZARD_COMPLETED.value, _within(metric.timestamp, bounds))
        .subquery("completions")
    )
    minutes = completions.c.minutes
    buckets = [
        func.count(minutes)
        .filter(minutes >= low, *([minutes < high] if high is not None else []))
        .label(f"bucket_{i}")
        for i, (low, high) in enumerate(itertools.pairwise([*DISTRIBUTION_BOUNDS, None]))
    ]
    groups = _groups(split)
    return (
        select(
            groups.c.variant,
            func.count(minutes).label("completed_count"),
            func.round(func.avg(minutes), 2).label("avg_minutes"),
            func.percentile_cont(0.5).within_group(minutes).label("median_minutes"),
            func.min(minutes).label("fastest_minutes"),
            func.max(minutes).label("slowest_minutes"),
            func.percentile_cont(0.25).within_group(minutes).label("p25_minutes"),
            func.percentile_cont(0.75).within_group(minutes).label("p75_minutes"),
            *buckets,
        )
        .select_from(groups.outerjoin(completions, completions.c.variant == groups.c.variant))
        .group_by(groups.c.variant, groups.c.position)
        .order_by(groups.c.position)
    )


def incomplete_organizations(
    session: Session, span: Period, *, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
) -> IncompleteOrganizations:
    """Organizations that started and neither completed nor skipped, most recent first, by pages."""
    statement = _incomplete_statement(_bounds(span), cursor is not None)
    rows = session.execute(statement, _incomplete_params(span, limit, cursor)).all()
    page = [IncompleteOrganization(**row._asdict()) for row in rows[:limit]]
    more = len(rows) > limit
    return IncompleteOrganizations(
        period=span,
        organizations=page,
        next_cursor=encode_cursor(page[-1].started_at, page[-1].id) if more and page else None,
    )


def incomplete_organizations_statement(span: Period, *, limit: int, cursor: str | None = None) -> Select[Any]:
    """One page's statement with its values (what `incomplete_organizations` executes)."""
    statement = _incomplete_statement(_bounds(span), cursor is not None)
    return statement.params(_incomplete_params(span, limit, cursor))


def _incomplete_params(span: Period, limit: int, cursor: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {**_period_params(span), "page_rows": limit + 1}
    if cursor is not None:
        params["after_started_at"], params["after_org_id"] = decode_cursor(cursor)
    return params


@lru_cache(maxsize=_STATEMENTS_KEPT)
def _incomplete_statement(bounds: Bounds, after_cursor: bool) -> Select[Any]:
    """One page (and one row more, to know whether another page follows)."""
    state = onboarding_state.c
    hours = extract("epoch", func.now() - state.started_at) / 3600
    query = (
        select(
            host.organizations.c.id,
            host.organizations.c.name,
            state.wizard_current_step,
            state.started_at,
            func.round(cast(hours, Numeric), 2).label("hours_since_start"),
        )
        .join(onboarding_state, state.organization_id == host.organizations.c.id)
        .where(
            # `NOT x`, the partial index's own predicate: PostgreSQL cannot prove it from `x IS false`,
            # and without the index every page was a scan and sort of all organizations.
            not_(state.wizard_completed),
            not_(state.skipped),
            _within(state.started_at, bounds),
        )
        .order_by(state.started_at.desc(), host.organizations.c.id.desc())
        .limit(bindparam("page_rows", type_=Integer))
    )
    if after_cursor:
        position = tuple_(
            bindparam("after_started_at", type_=DateTime(timezone=True)),
            bindparam("after_org_id", type_=String),
        )
        query = query.where(tuple_(state.started_at, host.organizations.c.id) < position)
    return query
