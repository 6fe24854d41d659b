"""12. Where a warm request's time goes, by layer: every route's p50 split, unprofiled.

The route mix round robin as in section 2 (latency), each call's time split by wall-clock timers
around four nested layers (no profiler: cProfile doubles Python's share and leaves the database's):

- `entry_ms`: the function's handler outside the resolver (Powertools' logger and metrics decorators,
  authorization, Accept-Language, the body and query checks of `onboarding.api`);
- `powertools_ms`: `APIGatewayHttpResolver.resolve` outside the service's unit of work (routing, the
  OpenAPI validation middleware's request validation, the response's serialization);
- `python_ms`: the request's unit of work (session, route, commit, close), outside pg8000's
  `Cursor.execute` (SQLAlchemy: session, statement execution, results; the domain code; pydantic
  models);
- `database_ms`: inside pg8000's `Cursor.execute` (BEGIN, each statement, COMMIT: the waits on the
  socket, the server's parse, plan and execution, the fsync of a COMMIT, and pg8000's own protocol
  handling and row decoding in Python).

Each column is the median of that layer over the calls (so the columns need not add up to the
route's p50 exactly). `database_share` is database_ms / p50.
"""

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pg8000.legacy
from aws_lambda_powertools.event_handler import api_gateway

from bench.context import BenchContext, Section
from bench.harness import in_own_container, ms, p50
from onboarding import api
from tools.lambda_events import local_context
from tools.scenarios import load_handler, scenarios, typical_orgs

LAYERS = ("resolve", "unit_of_work", "database")


@contextmanager
def _timers(spent: dict[str, float]) -> Iterator[None]:
    """Accumulate the seconds spent in each layer into `spent` (patched, then restored)."""

    def add(layer: str, started: float) -> None:
        spent[layer] = spent.get(layer, 0.0) + time.perf_counter() - started

    def timed(function: Callable[..., Any], layer: str) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                add(layer, started)

        return wrapper

    unit_of_work = getattr(api, "unit_of_work")  # noqa: B009 (the name api.py imported)

    @contextmanager
    def timed_unit_of_work(*args: Any, **kwargs: Any) -> Iterator[Any]:
        started = time.perf_counter()
        try:
            with unit_of_work(*args, **kwargs) as session:
                yield session
        finally:
            add("unit_of_work", started)

    resolve, execute = api_gateway.ApiGatewayResolver.resolve, pg8000.legacy.Cursor.execute
    api_gateway.ApiGatewayResolver.resolve = timed(resolve, "resolve")  # type: ignore[method-assign]
    pg8000.legacy.Cursor.execute = timed(execute, "database")
    # The name `_request_unit_of_work` calls (the apps hold the middleware itself, created at import).
    setattr(api, "unit_of_work", timed_unit_of_work)  # noqa: B010
    try:
        yield
    finally:
        api_gateway.ApiGatewayResolver.resolve = resolve  # type: ignore[method-assign]
        pg8000.legacy.Cursor.execute = execute
        setattr(api, "unit_of_work", unit_of_work)  # noqa: B010


def run(ctx: BenchContext) -> Section:
    scale = ctx.scale
    ctx.fresh_database("bench_phases")
    typical_orgs(ctx.arrange, "bg_", scale.background_orgs)
    calls_per_route = max(4, scale.calls // 2)
    rounds = scale.warmup + calls_per_route
    planned = [
        (scenario, load_handler(scenario.function), scenario.arrange(ctx.arrange, f"ph{i:02d}_", rounds))
        for i, scenario in enumerate(scenarios())
    ]
    ctx.vacuum_analyze()
    spent: dict[str, float] = {}
    samples: list[dict[str, list[float]]] = [{} for _ in planned]
    with _timers(spent):
        for position in range(rounds):
            for index, (scenario, handler, calls) in enumerate(planned):
                call = calls[position]
                in_own_container(scenario.function)
                spent.clear()
                started = time.perf_counter()
                response = handler(call.event, local_context())
                total = time.perf_counter() - started
                if response["statusCode"] != call.status:
                    raise RuntimeError(f"{scenario.name}: {response['statusCode']} {response.get('body')}")
                if position < scale.warmup:
                    continue
                resolve, unit, database = (spent.get(layer, 0.0) for layer in LAYERS)
                split = {
                    "total": total,
                    "entry": total - resolve,
                    "powertools": resolve - unit,
                    "python": unit - database,
                    "database": database,
                }
                for layer, seconds in split.items():
                    samples[index].setdefault(layer, []).append(seconds * 1000)
    rows: list[dict[str, Any]] = []
    for (scenario, _handler, _calls), route in zip(planned, samples, strict=True):
        total_p50 = p50(route["total"])
        rows.append(
            {
                "route": scenario.route_key,
                "path": scenario.variant or "-",
                "p50_ms": ms(total_p50),
                **{f"{layer}_ms": ms(p50(route[layer])) for layer in ("entry", "powertools", "python")},
                "database_ms": ms(p50(route["database"])),
                "database_share": round(p50(route["database"]) / total_p50, 2),
            }
        )
    ordered = sorted(rows, key=lambda row: row["p50_ms"])
    middle = ordered[len(ordered) // 2]
    return Section(
        "12. Where a warm request's time goes, by layer (in-process, unprofiled)",
        rows,
        summary={
            "median_route": f"{middle['route']} ({middle['path']})",
            "median_route_p50_ms": middle["p50_ms"],
            "median_route_database_ms": middle["database_ms"],
            **{
                f"median_over_routes_{column}": round(statistics.median(row[column] for row in rows), 3)
                for column in ("entry_ms", "powertools_ms", "python_ms", "database_ms", "database_share")
            },
            "calls_per_route": calls_per_route,
        },
        notes=[
            "entry: the handler outside the resolver; powertools: resolve() outside the unit of work; "
            "python: the unit of work and route outside pg8000's Cursor.execute; database: inside it.",
            "Each column is the median of its layer over the calls: they need not add up to p50 exactly.",
        ],
    )
