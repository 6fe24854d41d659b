"""8. Set-based vs the naive approach: the same calls, data and unit of work."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bench import naive
from bench.context import BenchContext, Section
from bench.harness import (
    USER_AGENT,
    count_statements,
    ms,
    p50,
    timed,
)
from onboarding import checklist_view, client_metrics
from onboarding.db import get_engine, unit_of_work
from onboarding.sample_data import SIZES, SampleSize, build_sample_rows, insert_sample_rows
from tools.scenarios import (
    metric_batch,
    settle_checklist,
    typical_orgs,
)


def run(ctx: BenchContext) -> Section:
    scale = ctx.scale
    ctx.fresh_database("bench_naive")
    typical_orgs(ctx.arrange, "bg_", scale.background_orgs)
    org = typical_orgs(ctx.arrange, "naive_", 1)[0]
    settle_checklist([org])
    ctx.vacuum_analyze()
    engine = get_engine()
    rows: list[dict[str, Any]] = []

    # Checklist: one statement vs one query per criterion.
    def one_statement() -> None:
        with unit_of_work() as session:
            checklist_view.get_checklist(session, org)

    def per_criterion() -> None:
        with unit_of_work() as session:
            naive.checklist_completed(session, org)

    with unit_of_work() as session:
        view = checklist_view.get_checklist(session, org)
        assert naive.checklist_completed(session, org) == (
            view.progress.completed_count,
            view.progress.total_count,
        )
    rows.append(
        _compare(
            "checklist GET",
            "one statement",
            one_statement,
            "one query per criterion",
            per_criterion,
            scale.naive_calls,
            engine,
            unit="ms per call",
        )
    )

    # Metrics: one INSERT per batch of 100 vs one ORM insert per event.
    validated = [
        client_metrics.MetricBatch.model_validate(metric_batch(100))
        for _ in range(2 * (scale.naive_calls // 4 + 2))
    ]
    batches = iter(validated)

    def set_based_ingest() -> None:
        with unit_of_work() as session:
            client_metrics.ingest(session, org, next(batches), USER_AGENT["user-agent"])

    def orm_per_event() -> None:
        with unit_of_work() as session:
            naive.ingest_one_by_one(session, org, next(batches), USER_AGENT["user-agent"])

    rows.append(
        _compare(
            "metric ingest, 100 events",
            "one INSERT",
            set_based_ingest,
            "one ORM insert per event",
            orm_per_event,
            scale.naive_calls // 4 + 1,
            engine,
            unit="ms per batch",
            rows_per_call=100,
        )
    )

    # Sample rows (comprehensive: 195 rows): one INSERT for four tables vs one ORM insert per row.
    spec = SIZES[SampleSize.COMPREHENSIVE]
    now = datetime.now(UTC)

    def build() -> Any:
        return build_sample_rows(org, spec, timezone=ZoneInfo("UTC"), now=now, roles=())

    def set_based_rows() -> None:
        rows_ = build()
        with unit_of_work() as session:
            insert_sample_rows(session, rows_)

    def orm_per_row() -> None:
        rows_ = build()
        with unit_of_work() as session:
            naive.insert_sample_rows_one_by_one(session, rows_)

    rows.append(
        _compare(
            "sample rows, comprehensive (195)",
            "one INSERT",
            set_based_rows,
            "one ORM insert per row",
            orm_per_row,
            scale.naive_calls // 4 + 1,
            engine,
            unit="ms per call",
            rows_per_call=195,
        )
    )
    return Section(
        "8. Set-based vs the naive approach (same run, same data)",
        rows,
        summary={row["compared"]: row["factor"] for row in rows},
        notes=[
            "Both approaches run in the same process on the same data through the same unit of work, "
            "alternating call by call; factor = naive p50 / set-based p50.",
        ],
    )


def _compare(
    what: str,
    fast_name: str,
    fast: Callable[[], None],
    slow_name: str,
    slow: Callable[[], None],
    calls: int,
    engine: Any,
    *,
    unit: str,
    rows_per_call: int | None = None,
) -> dict[str, Any]:
    counts = []
    for call in (fast, slow):
        with count_statements(engine) as counter:
            call()
        counts.append(counter.count)
    fast_s: list[float] = []
    slow_s: list[float] = []
    for _ in range(calls):
        fast_s.append(timed(fast))
        slow_s.append(timed(slow))
    fast_p50, slow_p50 = p50(fast_s), p50(slow_s)
    row: dict[str, Any] = {
        "compared": what,
        "set_based": fast_name,
        "set_based_p50_ms": ms(fast_p50),
        "set_based_statements": counts[0],
        "naive": slow_name,
        "naive_p50_ms": ms(slow_p50),
        "naive_statements": counts[1],
        "factor": round(slow_p50 / fast_p50, 1),
        "unit": unit,
        "n": calls,
    }
    if rows_per_call:
        row["set_based_rows_per_s"] = round(rows_per_call / (fast_p50 / 1000))
        row["naive_rows_per_s"] = round(rows_per_call / (slow_p50 / 1000))
    return row
