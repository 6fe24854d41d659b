"""Measurement helpers for bench/: statement counting, timing, percentiles, floors, tables."""

import importlib
import json
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pg8000.native
from sqlalchemy import Engine, event, make_url

from tools.lambda_events import http_api_event, local_context


@dataclass
class StatementCounter:
    count: int = 0
    statements: list[str] = field(default_factory=list)


@contextmanager
def count_statements(engine: Engine) -> Iterator[StatementCounter]:
    """Counts statements sent through SQLAlchemy (pool pre-ping pings are not statements of the route)."""
    counter = StatementCounter()

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        counter.count += 1
        counter.statements.append(statement.split("\n", 1)[0][:120])

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", before)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def time_calls(call: Callable[[], object], repeat: int, warmup: int = 20) -> list[float]:
    """Milliseconds per call, after a warm-up."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - started) / 1e6)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "p99_ms": round(percentile(samples, 0.99), 3),
        "mean_ms": round(statistics.fmean(samples), 3),
        "n": len(samples),
    }


def select_one_floor(database_url: str, repeat: int) -> list[float]:
    """The floor: one raw pg8000 `SELECT 1` round trip on an open connection."""
    url = make_url(database_url)
    unix_sock = url.query.get("unix_sock")
    connection = pg8000.native.Connection(
        user=url.username or "postgres",
        password=url.password,
        host=url.host or "localhost",
        port=url.port or 5432,
        database=url.database,
        unix_sock=unix_sock if isinstance(unix_sock, str) else None,
    )
    try:
        return time_calls(lambda: connection.run("SELECT 1"), repeat)
    finally:
        connection.close()


def load_handler(function: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    module = importlib.import_module(f"functions.{function}.app")
    handler: Callable[[dict[str, Any], Any], dict[str, Any]] = module.lambda_handler
    return handler


def invoker(function: str, method: str, path: str, **event_args: Any) -> Callable[[], dict[str, Any]]:
    handler = load_handler(function)

    def call() -> dict[str, Any]:
        response = handler(http_api_event(method, path, **event_args), local_context())
        if response["statusCode"] >= 400:
            raise RuntimeError(f"{method} {path} -> {response['statusCode']}: {response.get('body')}")
        return response

    return call


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns}
    print(f"\n## {title}\n")
    print("| " + " | ".join(c.ljust(widths[c]) for c in columns) + " |")
    print("|" + "|".join("-" * (widths[c] + 2) for c in columns) + "|")
    for row in rows:
        print("| " + " | ".join(_fmt(row.get(c)).ljust(widths[c]) for c in columns) + " |")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:.3g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return "" if value is None else str(value)
