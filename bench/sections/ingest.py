"""4. Metric ingest: the metrics handler's rows per second vs. COPY of the same rows."""

import csv
import io
import json
import time
from typing import Any

from sqlalchemy import text

from bench.context import BenchContext, Section
from bench.harness import (
    USER_AGENT,
    pg8000_connection,
)
from onboarding import client_metrics
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
    org, copy_org, bulk_org = typical_orgs(ctx.arrange, "ingest_", 3, metrics=0)
    handler = load_handler("metrics")
    path = "/v1/onboarding/metrics"
    agent = client_metrics.coarse_user_agent(USER_AGENT["user-agent"])
    for _ in range(3):
        invoke("metrics", http_api_event("POST", path, claims=admin(org), body=metric_batch(100)), 200)
    _truncate_metrics(ctx)
    batches = [metric_batch(100) for _ in range(scale.ingest_batches)]
    events = [http_api_event("POST", path, claims=admin(org), body=b, headers=USER_AGENT) for b in batches]
    copy_sql = f"COPY onboarding_metric ({_METRIC_COLUMNS}) FROM STDIN WITH (FORMAT csv)"
    copies = [_csv_rows(copy_org, batch, agent) for batch in batches]
    handler_s = copy_batches_s = 0.0
    accepted = 0
    connection = pg8000_connection(ctx.url)  # autocommit: each COPY is its own transaction, like a request
    try:
        for index, (item, rows_csv) in enumerate(zip(events, copies, strict=True)):
            if index % 50 == 0:  # the daily cap (10 000 events) reset between timed calls
                _reset_quota(ctx)
            context = local_context()
            started = time.perf_counter()
            response = handler(item, context)
            handler_s += time.perf_counter() - started
            accepted += json.loads(response["body"])["accepted"]
            started = time.perf_counter()
            connection.run(copy_sql, stream=io.StringIO(rows_csv))
            copy_batches_s += time.perf_counter() - started
        everything = "".join(_csv_rows(bulk_org, batch, agent) for batch in batches)
        started = time.perf_counter()
        connection.run(copy_sql, stream=io.StringIO(everything))
        copy_bulk_s = time.perf_counter() - started
    finally:
        connection.close()
    rows_total = scale.ingest_batches * 100
    assert accepted == rows_total, f"accepted {accepted} of {rows_total}"
    with ctx.arrange.connect() as check:
        stored = check.execute(text("SELECT count(*) FROM onboarding_metric")).scalar_one()
    assert stored == 3 * rows_total, stored

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
            "target": ">= 0.5 of COPY (100 rows per COPY)",
            "all_met": handler_rate / batch_rate >= 0.5,
        },
        notes=[
            "The handler path includes JSON parsing, validation of every event, the daily cap's "
            "reservation, the idempotency (the batch's keys inserted into onboarding_metric_event_key "
            "with ON CONFLICT DO NOTHING, the metric rows for the new ones) and the statement's own "
            "transaction; COPY gets the same rows (same columns, same table onboarding_metric with "
            "its indexes, foreign key and trigger; another organization; no event keys, the handler's "
            "idempotency work) in 100-row COPYs, one transaction each, alternating with the "
            "handler's batches, and then in one COPY.",
            "The organization's daily cap of client events is reset every 50 batches, outside the timing.",
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
