"""6. Purge of expired sample data: time growth from 100 to 1 000 organizations, against plain DELETEs."""

import json
import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text

from bench.context import BenchContext, Section
from bench.harness import (
    count_statements,
)
from onboarding.db import get_engine
from onboarding.models import Event
from onboarding.sample_data import SampleSize
from tools import dataset
from tools.lambda_events import EVENTS_DIR, LocalLambdaContext
from tools.scenarios import (
    load_handler,
    typical_orgs,
)
from tools.wire import count_round_trips


def run(ctx: BenchContext) -> Section:
    rows: list[dict[str, Any]] = []
    for orgs in ctx.scale.purge_orgs:
        ctx.fresh_database(f"bench_purge_{orgs}")
        real = typical_orgs(ctx.arrange, "real_", 200, metrics=0)
        expired = typical_orgs(ctx.arrange, "exp_", orgs, metrics=0)
        with ctx.arrange.begin() as connection:
            sample_rows = dataset.add_sample_data(
                connection, expired, SampleSize.STANDARD, expires_in=-timedelta(days=1)
            )
        ctx.vacuum_analyze()
        scheduled = json.loads((EVENTS_DIR / "purge_scheduled.json").read_text())
        scheduled["time"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        handler = load_handler("purge")
        context = LocalLambdaContext(timeout_seconds=300)
        with count_statements(get_engine()) as statements, count_round_trips() as wire:
            started = time.perf_counter()
            report = handler(scheduled, context)
            seconds = time.perf_counter() - started
        deleted = sum(report["rows_deleted"].values())
        assert report["organizations_purged"] == orgs and deleted == sample_rows, report
        with ctx.arrange.connect() as connection:
            real_events = connection.scalar(select(func.count()).where(Event.org_id.in_(real)))
        assert real_events == 200 * 3, "the purge deleted real rows"

        # Floor: the same rows again, deleted by plain DELETEs in one transaction (no locking, counting,
        # flags or metrics).
        with ctx.arrange.begin() as connection:
            dataset.add_sample_data(connection, expired, SampleSize.STANDARD, expires_in=-timedelta(days=1))
        ctx.vacuum_analyze()
        with ctx.arrange.connect() as connection:
            connection.execute(text("SELECT 1"))
            started = time.perf_counter()
            for table in ("event_assignments", "events", "people", "teams"):
                where = (
                    "event_id IN (SELECT id FROM events WHERE is_sample)"
                    if table == "event_assignments"
                    else "is_sample"
                )
                connection.execute(text(f"DELETE FROM {table} WHERE {where}"))
            connection.commit()
            floor_s = time.perf_counter() - started
        rows.append(
            {
                "expired_orgs": orgs,
                "sample_rows_deleted": deleted,
                "batches": report["batches"],
                "seconds": round(seconds, 3),
                "rows_per_s": round(deleted / seconds),
                "ms_per_org": round(seconds * 1000 / orgs, 2),
                "statements": statements.count,
                "wire_round_trips": wire.round_trips,
                "plain_delete_floor_s": round(floor_s, 3),
                "x_floor": round(seconds / floor_s, 1),
            }
        )
    small, large = rows
    exponent = math.log(large["seconds"] / small["seconds"]) / math.log(
        large["expired_orgs"] / small["expired_orgs"]
    )
    return Section(
        "6. Purge of expired sample data (standard size)",
        rows,
        summary={
            "time_growth": round(large["seconds"] / small["seconds"], 2),
            "org_growth": large["expired_orgs"] // small["expired_orgs"],
            "growth_exponent": round(exponent, 2),
            "target": "linear or better: exponent <= 1.1 (time ~ orgs^exponent; 1.0 is linear)",
            "rows_per_s_at_largest": large["rows_per_s"],
            "all_met": exponent <= 1.1,
        },
        notes=[
            "One handler invocation per size (PURGE_BATCH_SIZE 100: one transaction per 100 "
            "organizations), with 200 organizations of real rows beside them that must survive.",
            "plain_delete_floor_s: the same rows (regenerated) deleted by 4 plain DELETEs in one "
            "transaction.",
        ],
    )
