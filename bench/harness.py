"""Measurement helpers for bench/: statement and wire round-trip counting, timing, percentiles, floors.

Two counts per request:
- statements: what SQLAlchemy sends (`before_cursor_execute`), the figure the targets are about. The
  pool's ping, BEGIN and COMMIT are not cursor executes and are not in it.
- wire round trips: every time pg8000 waits for the server (`CoreConnection.handle_messages`), which
  includes the ping (after idling), pg8000's BEGIN, its three round trips per parameterized statement
  (Parse/Sync, Describe/Sync, Bind+Execute/Sync) and the COMMIT. This is what a network hop multiplies.
"""

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pg8000.native
from sqlalchemy import Engine, event, make_url

from tools.template import FunctionSpec, enter_own_environment, function_of_area


@dataclass
class StatementCounter:
    count: int = 0
    statements: list[str] = field(default_factory=list)  # shortened, for reading
    captured: list[tuple[str, Any]] = field(default_factory=list)  # as sent: SQL and parameters


@contextmanager
def count_statements(engine: Engine) -> Iterator[StatementCounter]:
    """Statements sent through SQLAlchemy (the pool's pings, BEGIN and COMMIT are not among them)."""
    counter = StatementCounter()

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        counter.count += 1
        counter.statements.append(" ".join(statement.split())[:160])
        counter.captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", before)


CHECKLIST_GET = "GET /v1/onboarding/checklist"
SAFARI = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15"
USER_AGENT = {"user-agent": SAFARI}


def ms(value: float) -> float:
    return round(value, 3)


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def p99(samples: list[float]) -> float:
    return percentile(samples, 0.99)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def timed(call: Callable[[], object]) -> float:
    """Milliseconds one call takes."""
    started = time.perf_counter_ns()
    call()
    return (time.perf_counter_ns() - started) / 1e6


def time_calls(call: Callable[[], object], repeat: int, warmup: int = 20) -> list[float]:
    """Milliseconds per call, after a warm-up."""
    for _ in range(warmup):
        call()
    return [timed(call) for _ in range(repeat)]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "p99_ms": round(percentile(samples, 0.99), 3),
        "mean_ms": round(statistics.fmean(samples), 3),
        "n": len(samples),
    }


def pg8000_connection(database_url: str) -> pg8000.native.Connection:
    """A raw pg8000 connection (no SQLAlchemy, no pool) to the database of `database_url`."""
    url = make_url(database_url)
    unix_sock = url.query.get("unix_sock")
    return pg8000.native.Connection(
        user=url.username or "postgres",
        password=url.password,
        host=url.host or "localhost",
        port=url.port or 5432,
        database=url.database,
        unix_sock=unix_sock if isinstance(unix_sock, str) else None,
    )


def select_one_floor(database_url: str, repeat: int) -> list[float]:
    """The floor: one raw pg8000 `SELECT 1` round trip on an open connection."""
    connection = pg8000_connection(database_url)
    try:
        return time_calls(lambda: connection.run("SELECT 1"), repeat)
    finally:
        connection.close()


@cache
def _function(area: str) -> FunctionSpec:
    return function_of_area(area)


def in_own_container(area: str) -> None:
    """Before a timed call of functions/<area>: that function's variables set and the service's
    settings read, outside the timer. In AWS each function has its own container and reads its
    settings once; here the functions share a process, and without this the first call after another
    function's (whose body limit differs) would pay for reading them again (~0.08 ms, bench/README.md,
    "Where a warm request's time goes")."""
    enter_own_environment(_function(area), read_settings=True)
