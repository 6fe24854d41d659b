"""1. DB round trips per request: statements and wire round trips of every measured path (targets: the
checklist GET 1 statement, no common path above 3; a one-statement read at most 3 wire round trips,
every other path at most 3 per statement + 2).
"""

from typing import Any

from bench.context import BenchContext, Section
from bench.harness import (
    CHECKLIST_GET,
    count_statements,
)
from onboarding.db import get_engine
from tools.scenarios import (
    Scenario,
    invoke,
    scenarios,
)
from tools.template import http_routes
from tools.wire import count_round_trips

MAX_STATEMENTS = 3


def statement_target(scenario: Scenario) -> int | None:
    """The issue's round-trip target for a scenario: 1 for the checklist GET, at most 3 on a route's
    common path; other paths (first-time or rare ones) are reported without a target."""
    if not scenario.common:
        return None
    return 1 if scenario.route_key == CHECKLIST_GET else MAX_STATEMENTS


def run(ctx: BenchContext) -> Section:
    ctx.fresh_database("bench_round_trips")
    engine = get_engine()
    rows: list[dict[str, Any]] = []
    for index, scenario in enumerate(scenarios()):
        calls = scenario.arrange(ctx.arrange, f"rt{index:02d}_", 2)
        invoke(calls[0].function, calls[0].event, calls[0].status)  # first use: dialect setup, compiling
        with count_statements(engine) as statements, count_round_trips() as wire:
            invoke(calls[1].function, calls[1].event, calls[1].status)
        target = statement_target(scenario)
        wire_limit = scenario.round_trip_limit
        rows.append(
            {
                "route": scenario.route_key,
                "path": scenario.variant or "-",
                "common": "yes" if scenario.common else "no",
                "statements": statements.count,
                "wire_round_trips": wire.round_trips,
                "target": f"= {target}" if target == 1 else f"<= {target}" if target else "-",
                "met": None if target is None else statements.count <= target,
                "wire_target": f"<= {wire_limit}",
                "wire_met": wire.round_trips <= wire_limit,
                "sql": statements.statements,
            }
        )
    covered = {scenario.route_key for scenario in scenarios() if scenario.common}
    missing = sorted(route.route_key for route in http_routes() if route.route_key not in covered)
    common = [row for row in rows if row["common"] == "yes"]
    return Section(
        "1. DB round trips per request",
        rows,
        summary={
            "routes_in_template": len(http_routes()),
            "routes_measured": len(covered),
            "routes_missing": missing,
            "max_statements_common_path": max(row["statements"] for row in common),
            "checklist_get_statements": next(r["statements"] for r in common if r["route"] == CHECKLIST_GET),
            "max_wire_round_trips_one_statement_read": max(
                row["wire_round_trips"]
                for row, scenario in zip(rows, scenarios(), strict=True)
                if scenario.reads_only and row["statements"] == 1
            ),
            "wire_all_met": all(row["wire_met"] for row in rows),
            "all_met": not missing and all(row["met"] for row in common),
        },
        notes=[
            "statements: SQL statements the service sends (SQLAlchemy before_cursor_execute), the figure "
            "the targets are about. BEGIN, COMMIT and the pool's ping are not cursor executes and are "
            "not counted. Asserted in tests/test_round_trips.py.",
            "wire_round_trips: every wait for the server in pg8000 (tools/wire.py): each parameterized "
            "statement 3 (Parse/Sync, Describe/Sync, Bind+Execute/Sync), the state read 1 (the organization "
            "id written in, no parameters: simple protocol; onboarding.state.load); BEGIN 1 and COMMIT 1 "
            "(simple protocol; pg8000's own commit takes 3) around a write, none around a GET's first "
            "read (onboarding.db, reads_first); a ping only when the connection idled 10 s (requests "
            "here run back to back, as in a busy container). Targets (issue 16): a one-statement read "
            "<= 3, any other path <= 3 x statements + 2; asserted in tests/test_round_trips.py.",
        ],
    )
