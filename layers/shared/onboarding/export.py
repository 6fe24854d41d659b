"""GDPR export: everything the onboarding service stores about the caller's organization, as JSON.

One document per request, read in ONE statement (so state, tutorials and metrics are one consistent
snapshot without changing the isolation level). The state row and the tutorial records are small and
always included whole; metrics grow without bound, so they come in pages of at most
`MAX_METRICS_PAGE` rows in (timestamp, id) order: follow `metrics_next_cursor` until it is null.
Each page repeats the (small) state and tutorials, so any page is a complete, valid document. Before
onboarding has started there is nothing to export: 404, as on every route but POST /v1/onboarding.

Metrics moved to `onboarding_metric_archive` after 12 months are still the organization's data: the
pages run through the archive and the live (partitioned) table as one sequence, each side read in
keyset order from its (organization_id, timestamp, id) index and merged, so a page costs the same
whatever the volume behind it.
"""

from datetime import datetime
from functools import cache
from typing import Any, Final
from uuid import UUID

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Select,
    String,
    bindparam,
    func,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from onboarding.metric_tables import onboarding_metric_archive
from onboarding.pagination import decode_cursor, encode_cursor
from onboarding.started import not_started
from onboarding.tables import onboarding_metric, onboarding_state
from onboarding.tutorial_tables import onboarding_tutorial_completion

DEFAULT_METRICS_PAGE: Final = 500
# 500 metrics of at most 4 KB event data stay well under Lambda's 6 MB response limit.
MAX_METRICS_PAGE: Final = 500


class _Exported(BaseModel):
    # Every stored column, no more: a new column fails the export tests until it is added here.
    model_config = ConfigDict(extra="forbid")


class ExportedState(_Exported):
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
    checklist_completed_count: int  # derived from checklist_progress (for analytics), stored all the same
    features_unlocked: list[str]
    show_all_features: bool
    skipped: bool
    skipped_at: datetime | None
    started_at: datetime
    completed_at: datetime | None
    updated_at: datetime
    experiments: dict[str, Any]  # experiment id -> {"variant", "source"}


class ExportedTutorial(_Exported):
    id: str
    organization_id: str
    tutorial_id: str
    completed: bool
    completed_at: datetime | None
    skipped: bool
    skipped_at: datetime | None
    replay_count: int
    last_viewed_at: datetime | None
    steps_completed: int
    total_steps: int
    created_at: datetime


class ExportedMetric(_Exported):
    id: str
    organization_id: str
    client_event_id: UUID | None
    event_type: str
    event_data: dict[str, Any]
    completion_time_minutes: int | None
    step_duration_seconds: int | None
    wizard_step_reached: int | None
    wizard_step_dropped: int | None
    user_agent: str | None
    session_id: str | None
    timestamp: datetime
    received_at: datetime


class OnboardingExport(BaseModel):
    organization_id: str
    exported_at: datetime
    onboarding_state: ExportedState
    tutorials: list[ExportedTutorial]
    metrics: list[ExportedMetric]
    metrics_next_cursor: str | None


def _rows_as_json(table: Any, *order_by: ColumnElement[Any]) -> ColumnElement[Any]:
    """All rows of `table` (a table or subquery) as one JSON array of row objects, in order."""
    row = func.to_jsonb(table.table_valued())
    return func.coalesce(func.jsonb_agg(aggregate_order_by(row, *order_by)), text("'[]'::jsonb"))


def export_organization(
    session: Session, org_id: str, *, limit: int = DEFAULT_METRICS_PAGE, cursor: str | None = None
) -> OnboardingExport:
    params: dict[str, Any] = {"org_id": org_id, "page_rows": limit + 1}
    if cursor is not None:
        params["after_at"], params["after_id"] = decode_cursor(cursor)
    row = session.execute(_export_statement(cursor is not None), params).one()
    if row.onboarding_state is None:
        raise not_started(session, org_id)
    metrics = [ExportedMetric.model_validate(item) for item in row.metrics[:limit]]
    last = metrics[-1] if metrics and len(row.metrics) > limit else None
    return OnboardingExport(
        organization_id=org_id,
        exported_at=row.exported_at,
        onboarding_state=ExportedState.model_validate(row.onboarding_state),
        tutorials=[ExportedTutorial.model_validate(item) for item in row.tutorials],
        metrics=metrics,
        metrics_next_cursor=encode_cursor(last.timestamp, last.id) if last is not None else None,
    )


@cache
def _export_statement(after_cursor: bool) -> Select[Any]:
    """The export's one statement, built once per container and cursor shape: `org_id`, `page_rows`
    (the page and one more) and the cursor's `after_at`/`after_id` are bound parameters."""
    org_id = bindparam("org_id", type_=String)
    page_rows = bindparam("page_rows", type_=Integer)
    sides = []
    for table in (onboarding_metric_archive, onboarding_metric):
        metric = table.c
        side = select(table).where(metric.organization_id == org_id)
        if after_cursor:
            after = tuple_(
                bindparam("after_at", type_=DateTime(timezone=True)), bindparam("after_id", type_=String)
            )
            side = side.where(tuple_(metric.timestamp, metric.id) > after)
        # Each side ordered and limited itself: an index range scan that stops after the page.
        sides.append(side.order_by(metric.timestamp, metric.id).limit(page_rows))
    both = union_all(*sides).subquery("both_tables")
    metrics_page = (
        select(both).order_by(both.c.timestamp, both.c.id).limit(page_rows).subquery("metrics_page")
    )
    state_row = onboarding_state.alias("state_row")
    tutorial_rows = onboarding_tutorial_completion.alias("tutorial_rows")
    return select(
        func.now().label("exported_at"),
        select(func.to_jsonb(state_row.table_valued()))
        .where(state_row.c.organization_id == org_id)
        .scalar_subquery()
        .label("onboarding_state"),
        select(_rows_as_json(tutorial_rows, tutorial_rows.c.tutorial_id))
        .where(tutorial_rows.c.organization_id == org_id)
        .scalar_subquery()
        .label("tutorials"),
        select(_rows_as_json(metrics_page, metrics_page.c.timestamp, metrics_page.c.id))
        .scalar_subquery()
        .label("metrics"),
    )
