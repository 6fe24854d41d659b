"""2. Warm handler latency of every measured path, round robin with a raw `SELECT 1` floor."""

import time
from typing import Any

from bench.context import BenchContext, Section
from bench.harness import (
    CHECKLIST_GET,
    in_own_container,
    ms,
    p50,
    p99,
    pg8000_connection,
    timed,
)
from tools.lambda_events import local_context
from tools.scenarios import (
    load_handler,
    scenarios,
    typical_orgs,
)

P99_LIMIT_MS = 25.0


def run(ctx: BenchContext) -> Section:
    scale = ctx.scale
    ctx.fresh_database("bench_latency")
    typical_orgs(ctx.arrange, "bg_", scale.background_orgs)
    rounds = scale.warmup + scale.calls
    planned = [
        (scenario, load_handler(scenario.function), scenario.arrange(ctx.arrange, f"lt{index:02d}_", rounds))
        for index, scenario in enumerate(scenarios())
    ]
    ctx.vacuum_analyze()
    # Round robin: each round sends one call of every route, then takes a floor sample, so that every
    # route and the floor see the same share of whatever else the (shared) machine is doing.
    samples: list[list[float]] = [[] for _ in planned]
    floor: list[float] = []
    connection = pg8000_connection(ctx.url)
    try:
        for position in range(rounds):
            for index, (scenario, handler, calls) in enumerate(planned):
                call, context = calls[position], local_context()
                in_own_container(scenario.function)
                started = time.perf_counter_ns()
                response = handler(call.event, context)
                elapsed = (time.perf_counter_ns() - started) / 1e6
                if response["statusCode"] != call.status:
                    raise RuntimeError(f"{scenario.name}: {response['statusCode']} {response.get('body')}")
                if position >= scale.warmup:
                    samples[index].append(elapsed)
            for _ in range(3):
                floor.append(timed(lambda: connection.run("SELECT 1")))
    finally:
        connection.close()
    floor_p50 = p50(floor)
    checklist_limit = 3 * floor_p50 + 2.0
    table: list[dict[str, Any]] = []
    for (scenario, _handler, _calls), route_samples in zip(planned, samples, strict=True):
        row: dict[str, Any] = {"route": scenario.route_key, "path": scenario.variant or "-"}
        route_p50, route_p99 = p50(route_samples), p99(route_samples)
        is_checklist = row["route"] == CHECKLIST_GET
        met = route_p99 <= P99_LIMIT_MS and (not is_checklist or route_p50 <= checklist_limit)
        table.append(
            {
                **row,
                "n": len(route_samples),
                "p50_ms": ms(route_p50),
                "p99_ms": ms(route_p99),
                "p50_x_floor": round(route_p50 / floor_p50, 1),
                "target": (
                    f"p50 <= 3 x floor + 2 ms ({checklist_limit:.2f} ms), p99 <= 25 ms"
                    if is_checklist
                    else "p99 <= 25 ms"
                ),
                "met": met,
            }
        )
    checklist_row = next(row for row in table if row["route"] == CHECKLIST_GET)
    return Section(
        "2. Warm handler latency (in-process: event -> handler -> DB -> response)",
        table,
        summary={
            "floor_select_1_p50_ms": ms(floor_p50),
            "floor_select_1_p99_ms": ms(p99(floor)),
            "checklist_p50_ms": checklist_row["p50_ms"],
            "checklist_limit_ms": ms(checklist_limit),
            "worst_p99_ms": max(row["p99_ms"] for row in table),
            "background_orgs": scale.background_orgs,
            "all_met": all(row["met"] for row in table),
        },
        notes=[
            "floor: one raw pg8000 `SELECT 1` on an open connection (no SQLAlchemy, no pool). The calls "
            "go round robin (one of every route per round, then three floor samples), so routes and "
            "floor share the machine's load alike.",
            "Events are built before timing (API Gateway's work); a timed call is the handler from "
            "event to response dict: authorization, routing, validation, the transaction, serialization.",
        ],
    )
