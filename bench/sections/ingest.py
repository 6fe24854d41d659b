"""4. Metric ingest: the metrics handler's rows per second vs. COPY of the same rows."""

import csv
import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import DateTime, Insert, Integer, String, bindparam, column, exists, func, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from bench.context import BenchContext, Section
from bench.harness import (
    USER_AGENT,
    pg8000_connection,
)
from onboarding import client_metrics, metric_quota
from onboarding.models import OnboardingMetric, OnboardingState
from onboarding.started import not_started
from tools.lambda_events import http_api_event, local_context
from tools.scenarios import (
    admin,
    invoke,
    load_handler,
    metric_batch,
    typical_orgs,
)

_METRIC_COLUMNS = (
    "organization_id, client_event_id, event_type, event_data, wizard_step_reached, "
    "step_duration_seconds, session_id, timestamp, user_agent"
)


def run(ctx: BenchContext) -> Section:
    scale = ctx.scale
    ctx.fresh_database("bench_ingest")
    # The handler writes for one organization, the COPYs the same events for another (the client
    # event ids are unique per organization), batch by batch in turn: both see the same table and load.
    # A third organization gets the same batches through the handler as it was before the daily cap's
    # reservation moved into the insert (two statements), alternating with the others (A/B).
    org, copy_org, bulk_org, before_org = typical_orgs(ctx.arrange, "ingest_", 4, metrics=0)
    handler = load_handler("metrics")
    path = "/v1/onboarding/metrics"
    agent = client_metrics.coarse_user_agent(USER_AGENT["user-agent"])
    for _ in range(3):
        invoke("metrics", http_api_event("POST", path, claims=admin(org), body=metric_batch(100)), 200)
    _truncate_metrics(ctx)
    batches = [metric_batch(100) for _ in range(scale.ingest_batches)]
    events = [http_api_event("POST", path, claims=admin(org), body=b, headers=USER_AGENT) for b in batches]
    events_before = [
        http_api_event("POST", path, claims=admin(before_org), body=b, headers=USER_AGENT) for b in batches
    ]
    copy_sql = f"COPY onboarding_metric ({_METRIC_COLUMNS}) FROM STDIN WITH (FORMAT csv)"
    copies = [_csv_rows(copy_org, batch, agent) for batch in batches]
    handler_s = copy_batches_s = before_s = 0.0
    accepted = 0

    def send(item: dict[str, Any]) -> float:
        nonlocal accepted
        context = local_context()
        started = time.perf_counter()
        response = handler(item, context)
        elapsed = time.perf_counter() - started
        accepted += json.loads(response["body"])["accepted"]
        return elapsed

    connection = pg8000_connection(ctx.url)  # autocommit: each COPY is its own transaction, like a request
    try:
        for index, (item, item_before, rows_csv) in enumerate(
            zip(events, events_before, copies, strict=True)
        ):
            if index % 50 == 0:  # the daily cap (10 000 events) reset between timed calls
                _reset_quota(ctx)
            if index % 2:
                with _cap_as_its_own_statement():
                    before_s += send(item_before)
            else:
                handler_s += send(item)
            started = time.perf_counter()
            connection.run(copy_sql, stream=io.StringIO(rows_csv))
            copy_batches_s += time.perf_counter() - started
            if index % 2:
                handler_s += send(item)
            else:
                with _cap_as_its_own_statement():
                    before_s += send(item_before)
        everything = "".join(_csv_rows(bulk_org, batch, agent) for batch in batches)
        started = time.perf_counter()
        connection.run(copy_sql, stream=io.StringIO(everything))
        copy_bulk_s = time.perf_counter() - started
    finally:
        connection.close()
    rows_total = scale.ingest_batches * 100
    assert accepted == 2 * rows_total, f"accepted {accepted} of {2 * rows_total}"
    with ctx.arrange.connect() as check:
        stored = check.execute(text("SELECT count(*) FROM onboarding_metric")).scalar_one()
    assert stored == 4 * rows_total, stored

    handler_rate = rows_total / handler_s
    batch_rate = rows_total / copy_batches_s
    bulk_rate = rows_total / copy_bulk_s
    rows = [
        {
            "method": "metrics handler, batches of 100",
            "rows": rows_total,
            "seconds": round(handler_s, 3),
            "rows_per_s": round(handler_rate),
            "vs_copy_batches": round(handler_rate / batch_rate, 2),
        },
        {
            "method": "metrics handler as before (the cap's reservation a statement of its own)",
            "rows": rows_total,
            "seconds": round(before_s, 3),
            "rows_per_s": round(rows_total / before_s),
            "vs_copy_batches": round(rows_total / before_s / batch_rate, 2),
        },
        {
            "method": "COPY, 100 rows per COPY (floor)",
            "rows": rows_total,
            "seconds": round(copy_batches_s, 3),
            "rows_per_s": round(batch_rate),
            "vs_copy_batches": 1.0,
        },
        {
            "method": "COPY, all rows at once",
            "rows": rows_total,
            "seconds": round(copy_bulk_s, 3),
            "rows_per_s": round(bulk_rate),
            "vs_copy_batches": round(bulk_rate / batch_rate, 2),
        },
    ]
    return Section(
        "4. Metric ingest: handler vs COPY of the same rows",
        rows,
        summary={
            "handler_rows_per_s": round(handler_rate),
            "handler_vs_copy_batches": round(handler_rate / batch_rate, 2),
            "handler_vs_copy_bulk": round(handler_rate / bulk_rate, 2),
            "handler_before_vs_copy_batches": round(rows_total / before_s / batch_rate, 2),
            "handler_after_vs_before": round(before_s / handler_s, 2),
            "target": ">= 0.5 of COPY (100 rows per COPY)",
            "all_met": handler_rate / batch_rate >= 0.5,
        },
        notes=[
            "The handler path includes JSON parsing, validation of every event, the idempotent "
            "INSERT ... ON CONFLICT DO NOTHING and the transaction; COPY gets the same rows (same columns, "
            "same table and indexes; another organization) in 100-row COPYs, one transaction each, "
            "alternating with the handler's batches, and then in one COPY.",
            "'as before': the same batches for a fourth organization through the handler with the daily "
            "cap's reservation as a statement of its own before the insert (the code before it moved into "
            "the insert as a CTE), alternating with the others in the same run. The cap's count is reset "
            "every 50 batches, outside the timing.",
        ],
    )


def _csv_rows(org_id: str, batch: dict[str, Any], agent: str | None) -> str:
    """The rows the handler stores for `batch`, as COPY CSV (empty unquoted field = NULL)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for event in batch["events"]:
        writer.writerow(
            [
                org_id,
                event["event_id"],
                event["event_type"],
                json.dumps(event.get("event_data", {})),
                event.get("wizard_step_reached", ""),
                event.get("step_duration_seconds", ""),
                event.get("session_id", ""),
                event["timestamp"],
                agent or "",
            ]
        )
    return out.getvalue()


def _truncate_metrics(ctx: BenchContext) -> None:
    with ctx.arrange.begin() as connection:
        connection.execute(text("TRUNCATE onboarding_metric"))


def _reset_quota(ctx: BenchContext) -> None:
    with ctx.arrange.begin() as connection:
        connection.execute(text("UPDATE onboarding_metric_quota SET events = 0"))


@contextmanager
def _cap_as_its_own_statement() -> Iterator[None]:
    """`client_metrics.ingest` as it was before the reservation moved into the insert: the cap's
    upsert (`metric_quota.reserve`), then the insert alone (row count: what it stored)."""
    current = client_metrics.ingest
    client_metrics.ingest = _ingest_before
    try:
        yield
    finally:
        client_metrics.ingest = current


def _ingest_before(
    session: Session, org_id: str, batch: client_metrics.MetricBatch, user_agent: str | None
) -> client_metrics.IngestResult:
    metric_quota.reserve(session, org_id, len(batch.events))
    first: dict[UUID, client_metrics.ClientMetricEvent] = {}
    for event in batch.events:
        first.setdefault(event.event_id, event)
    rows = [
        {
            "client_event_id": str(event.event_id),
            "event_type": event.event_type,
            "event_data": event.event_data,
            "wizard_step_reached": event.wizard_step_reached,
            "step_duration_seconds": event.step_duration_seconds,
            "session_id": event.session_id,
            "timestamp": event.timestamp.isoformat(),
        }
        for event in first.values()
    ]
    result = session.connection().execute(
        _insert_alone(),
        {"org_id": org_id, "agent": client_metrics.coarse_user_agent(user_agent), "batch": rows},
    )
    accepted = result.rowcount
    if accepted == 0 and not client_metrics._started(session, org_id):
        raise not_started(session, org_id)
    return client_metrics.IngestResult(accepted=accepted, duplicates=len(batch.events) - accepted)


@cache
def _insert_alone() -> Insert:
    """The ingest statement as it was: the insert of `client_metrics._ingest_statement` without the
    reservation's CTE (and without RETURNING: its row count says how many were stored)."""
    columns = (
        column("client_event_id", PG_UUID(as_uuid=True)),
        column("event_type", String(50)),
        column("event_data", JSONB),
        column("wizard_step_reached", Integer),
        column("step_duration_seconds", Integer),
        column("session_id", String(50)),
        column("timestamp", DateTime(timezone=True)),
    )
    batch = (
        func.jsonb_to_recordset(bindparam("batch", type_=JSONB))
        .table_valued(*columns)
        .render_derived("batch", with_types=True)
    )
    org = bindparam("org_id", type_=String)
    stored = OnboardingMetric
    resent = exists().where(
        stored.organization_id == org,
        stored.client_event_id == batch.c.client_event_id,
        stored.timestamp.between(
            batch.c.timestamp - client_metrics._RESENT_BEFORE,
            batch.c.timestamp + client_metrics._RESENT_AFTER,
        ),
    )
    rows = select(*batch.columns, org, bindparam("agent", type_=String(500))).where(
        exists().where(OnboardingState.organization_id == org), ~resent
    )
    return (
        pg_insert(OnboardingMetric)
        .from_select([*(c.name for c in columns), "organization_id", "user_agent"], rows)
        .on_conflict_do_nothing(constraint="uq_metric_org_client_event")
    )
