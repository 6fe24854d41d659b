"""7. Analytics at scale: the four reports over 10 M metric rows in monthly partitions, the plans
PostgreSQL chose (which partitions a period reads), then the archive job over the oldest year."""

import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bench.bulk import bulk_load
from bench.context import BenchContext, Section
from bench.harness import (
    StatementCounter,
    count_statements,
    ms,
    p50,
    p99,
    timed,
)
from onboarding import metric_partitions
from onboarding.db import get_engine
from onboarding.metric_partitions import Limits, month_start
from tools.lambda_events import http_api_event
from tools.scenarios import (
    ANALYST,
    invoke,
)

ROWS_PER_ORG = 20
_ANALYTICS_ORGS = """
INSERT INTO organizations (id, name, created_at)
SELECT 'an_' || lpad(g::text, 7, '0'), 'Analytics org ' || g, now() - make_interval(days => mod(g * 7, 730))
FROM generate_series(1, :orgs) AS g
"""
_ANALYTICS_STATES = """
INSERT INTO onboarding_state (organization_id, wizard_current_step, wizard_completed, skipped, skipped_at,
                              started_at, completed_at, updated_at)
SELECT 'an_' || lpad(g::text, 7, '0'),
       CASE WHEN outcome < 12 THEN 5 ELSE 1 + mod(g, 5) END,
       outcome < 12,
       outcome BETWEEN 12 AND 14,
       CASE WHEN outcome BETWEEN 12 AND 14 THEN started + interval '20 minutes' END,
       started,
       CASE WHEN outcome < 12 THEN started + make_interval(mins => 5 + mod(g * 37, 300)) END,
       started
FROM generate_series(1, :orgs) AS g,
     LATERAL (
         SELECT mod(g, 20) AS outcome,
                now() - make_interval(days => mod(g * 7, 730), mins => mod(g, 1440)) AS started
     ) AS o
"""
# Organizations start over the last two years (g * 7 spreads even a quick run's few over both).
# Per organization, ROWS_PER_ORG events over its first hour: started, the steps it completed, then
# completion (60%) or a skip (15%, with the step it dropped at), then views, reports and tutorials.
_ANALYTICS_METRICS = """
INSERT INTO onboarding_metric (organization_id, event_type, event_data, completion_time_minutes,
                               step_duration_seconds, wizard_step_reached, wizard_step_dropped,
                               timestamp, received_at)
SELECT o.org, kind.event_type, '{}'::jsonb,
       CASE WHEN kind.event_type = 'wizard_completed' THEN 5 + mod(g * 37, 300) END,
       CASE WHEN kind.event_type = 'wizard_step_completed' THEN 30 + mod(g * k, 600) END,
       CASE WHEN kind.event_type = 'wizard_step_completed' THEN k - 1
            WHEN kind.event_type = 'wizard_started' THEN 1 END,
       CASE WHEN kind.event_type = 'wizard_skipped' THEN o.reached END,
       o.started + make_interval(mins => k * 3),
       o.started + make_interval(mins => k * 3)
FROM generate_series(1, :orgs) AS g
CROSS JOIN LATERAL (
    SELECT 'an_' || lpad(g::text, 7, '0') AS org, mod(g, 20) AS outcome, 1 + mod(g, 5) AS reached,
           now() - make_interval(days => mod(g * 7, 730), mins => mod(g, 1440)) AS started
) AS o
CROSS JOIN generate_series(1, :per_org) AS k
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN k = 1 THEN 'wizard_started'
        WHEN k BETWEEN 2 AND 6 AND (o.outcome < 12 OR k - 1 < o.reached) THEN 'wizard_step_completed'
        WHEN k = 7 AND o.outcome < 12 THEN 'wizard_completed'
        WHEN k = 7 AND o.outcome BETWEEN 12 AND 14 THEN 'wizard_skipped'
        WHEN mod(k, 4) = 0 THEN 'checklist_viewed'
        WHEN mod(k, 4) = 1 THEN 'view_reports'
        WHEN mod(k, 4) = 2 THEN 'tutorial_started'
        ELSE 'wizard_step_viewed'
    END AS event_type
) AS kind
"""
ANALYTICS_TARGET_MS = 300.0
# Issue 16: the completion rate reads a number per organization, not its JSON progress.
COMPLETION_RATE_TARGET_MS = 30.0
TARGETS_MS = {"funnel": ANALYTICS_TARGET_MS, "completion-time": ANALYTICS_TARGET_MS}
REPORTS = ("funnel", "completion-time", "completion-rate", "incomplete")
# A partition's own name in index and table names, so that 25 partitions' scans read as one.
_PARTITION = re.compile(r"onboarding_metric_(y\d{4}m\d{2}|default|legacy)")


def populate(ctx: BenchContext, rows: int, now: datetime) -> tuple[int, dict[str, float]]:
    """Organizations, their states and `rows` metric rows over two years of monthly partitions, in
    the current database (set-based; bench/bulk.py). Returns the organizations and the load's phases."""
    orgs = max(1, rows // ROWS_PER_ORG)
    params = {"orgs": orgs, "per_org": ROWS_PER_ORG}
    with ctx.arrange.begin() as connection:
        # Two years of monthly partitions, as the nightly maintenance would have left them.
        first = month_start(now - timedelta(days=731))
        for offset in range((now.year - first.year) * 12 + now.month - first.month + 1):
            metric_partitions.create_month_partition(connection, month_start(first, offset))
        connection.execute(text(_ANALYTICS_ORGS), params)
        connection.execute(text(_ANALYTICS_STATES), params)
        load = bulk_load(connection, "onboarding_metric", [(_ANALYTICS_METRICS, params)])
    return orgs, load


def run(ctx: BenchContext) -> Section:
    scale = ctx.scale
    ctx.fresh_database("bench_analytics")
    now = datetime.now(UTC)
    started = time.perf_counter()
    orgs, load = populate(ctx, scale.analytics_rows, now)
    generate_s = time.perf_counter() - started
    ctx.vacuum_analyze()
    metric_rows, table_mb, partition_count = _table_size(ctx)
    floor_p50 = p50(ctx.floor(1000))
    today = now.date()
    year = {"from": (today - timedelta(days=365)).isoformat(), "to": today.isoformat()}
    month = {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat()}
    periods = (("all time", None), ("last 12 months", year), ("last 30 days", month))
    rows = [
        _measure(ctx, name, label, query, floor_p50, partition_count)
        for name in REPORTS
        for label, query in periods
    ]

    # The archive job over the same data: every partition older than 12 months moved out.
    limits = Limits(
        lock_timeout_ms=5000, statement_timeout_ms=600_000, remaining_ms=lambda: 10**9, reserve_ms=0
    )
    started = time.perf_counter()
    report = metric_partitions.maintain(ctx.arrange, now, limits)
    archive_job_s = time.perf_counter() - started
    ctx.vacuum_analyze()
    live_rows, live_mb, live_partitions = _table_size(ctx)
    for name in ("funnel", "completion-time"):
        rows.append(_measure(ctx, name, "all time, after the archive", None, floor_p50, live_partitions))

    targeted_rows = [row for row in rows if row["met"] is not None]
    return Section(
        f"7. Analytics over {metric_rows / 1e6:g} M metric rows in monthly partitions; the archive job"
        if metric_rows >= 1_000_000
        else f"7. Analytics over {metric_rows} metric rows in monthly partitions; the archive job",
        rows,
        summary={
            "metric_rows": metric_rows,
            "organizations": orgs,
            "metric_table_mb": table_mb,
            "metric_partitions": partition_count,
            "generate_seconds": round(generate_s, 1),
            "generate_phases_s": {key.removesuffix("_s"): round(value, 1) for key, value in load.items()},
            "floor_select_1_p50_ms": ms(floor_p50),
            "worst_targeted_p50_ms": max(row["p50_ms"] for row in targeted_rows),
            "all_met": all(row["met"] for row in targeted_rows),
            "archived_partitions": len(report.partitions_archived),
            "archived_rows": report.rows_archived,
            "archive_batches": report.archive_batches,
            "archive_copy_seconds": round(report.archive_seconds, 1),
            "archive_rows_per_s": round(report.rows_archived / report.archive_seconds)
            if report.archive_seconds
            else None,
            "archive_job_seconds": round(archive_job_s, 1),
            "rows_left_live": live_rows,
            "live_table_mb": live_mb,
        },
        notes=[
            "Rows generated with one set-based INSERT ... SELECT over generate_series, spread over two "
            "years, into monthly partitions made beforehand (as the nightly maintenance keeps them), with "
            "the table's indexes and keys dropped for the load and built once after it (bench/bulk.py; "
            "generate_phases_s); then VACUUM ANALYZE (what autovacuum keeps up on a live table). Timed "
            "through the handler; target "
            "on p50 for the funnel and the completion time (<= 300 ms) and the completion rate over all "
            "time (<= 30 ms at 50 000 organizations, issue 16).",
            "partitions: of onboarding_metric's partitions (the default included), how many the plan reads: "
            "a period reads only its months (pruned when the statement is planned).",
            "plan: the scans PostgreSQL chose (EXPLAIN ANALYZE of the statement the handler sent); "
            "<partition> stands for each partition's name.",
            "The archive job: `metric_partitions.maintain` as the nightly run does it (each partition older "
            "than 12 months emptied into onboarding_metric_archive in batches of 200 000 rows, one "
            "transaction each, then detached and dropped); archive_rows_per_s is rows moved per second "
            "of moving.",
        ],
    )


def _table_size(ctx: BenchContext) -> tuple[int, int, int]:
    with ctx.arrange.connect() as connection:
        rows = int(connection.scalar(text("SELECT count(*) FROM onboarding_metric")) or 0)
        size = connection.scalar(
            text(
                "SELECT sum(pg_total_relation_size(inhrelid)) / 1048576 FROM pg_inherits"
                " WHERE inhparent = 'onboarding_metric'::regclass"
            )
        )
        partitions = len(metric_partitions.partitions(connection))
    return rows, int(size or 0), partitions


def _measure(
    ctx: BenchContext,
    name: str,
    label: str,
    query: dict[str, str] | None,
    floor_p50: float,
    partition_count: int,
) -> dict[str, Any]:
    item = http_api_event("GET", f"/v1/analytics/{name}", claims=ANALYST, query=query)
    for _ in range(2):
        invoke("analytics", item, 200)
    with count_statements(get_engine()) as statements:
        invoke("analytics", item, 200)
    samples = [_timed_call("analytics", item) for _ in range(ctx.scale.analytics_calls)]
    target_ms = TARGETS_MS.get(name)
    if name == "completion-rate" and query is None:
        target_ms = COMPLETION_RATE_TARGET_MS  # all time: every organization
    query_p50 = p50(samples)
    plan, partitions = _plan(ctx, statements)
    return {
        "query": name,
        "period": label,
        "p50_ms": ms(query_p50),
        "p99_ms": ms(p99(samples)),
        "p50_x_floor": round(query_p50 / floor_p50),
        "partitions": f"{partitions} of {partition_count}" if partitions else "-",
        "plan": plan,
        "target": f"<= {target_ms:.0f} ms" if target_ms is not None else "-",
        "met": query_p50 <= target_ms if target_ms is not None else None,
    }


def _timed_call(function: str, item: dict[str, Any]) -> float:
    return timed(lambda: invoke(function, item, 200))


def _plan(ctx: BenchContext, statements: StatementCounter) -> tuple[str, int]:
    """The scan nodes (and indexes) of the handler's statement, from EXPLAIN (ANALYZE, FORMAT JSON),
    and how many of onboarding_metric's partitions it reads."""
    if not statements.captured:
        return "", 0
    sql, parameters = statements.captured[-1]
    raw = ctx.arrange.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, parameters)
        document = cursor.fetchall()[0][0]
    finally:
        raw.close()
    plan = (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]
    scans: list[str] = []
    partitions: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        kind = node["Node Type"]
        relation = node.get("Relation Name", "")
        if _PARTITION.fullmatch(relation):
            partitions.add(relation)
        if "Scan" in kind:
            target = node.get("Index Name") or relation or node.get("Function Name", "")
            scans.append(_PARTITION.sub("<partition>", f"{kind} {target}".strip()))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return "; ".join(dict.fromkeys(scans)), len(partitions)
