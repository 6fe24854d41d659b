"""10. Latency on a realistic link: the route mix through a proxy adding 0.5 ms each way.

In-process the database is a Unix socket away (0.03-0.07 ms per round trip); behind RDS Proxy a round
trip costs 0.3-1 ms, so there the number of waits on the wire decides latency. Here the service
reaches PostgreSQL over TCP through `tools/delay_proxy.py` (its own process), which holds every chunk
of bytes 0.5 ms in each direction. Each route's p50 and p99 stand beside its wire round trips x the
link's round-trip time (the floor: a raw pg8000 `SELECT 1` through the same proxy, one round trip),
with issue 16's round-trip changes on (the service as it is) and off (as before), alternating rounds.
"""

import socket
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import make_url

from bench.context import BenchContext, Section
from bench.harness import in_own_container, ms, p50, p99, pg8000_connection, timed
from bench.sections.cpu import CHANGES, Change, switched_off
from onboarding import container
from onboarding.db import get_engine
from tools.delay_proxy import delay_proxy
from tools.lambda_events import local_context
from tools.local_db import use_database
from tools.scenarios import Call, Handler, Scenario, load_handler, scenarios, typical_orgs
from tools.wire import count_round_trips

DELAY_MS = 0.5  # each way: Lambda -> RDS Proxy -> database is about 1 ms round trip


def _nagle_on() -> Callable[[], None]:
    """The pooled connection's socket as pg8000 makes it: Nagle's algorithm on."""

    def set_nodelay(value: int) -> None:
        with get_engine().connect() as connection:
            sock = connection.connection.dbapi_connection._usock  # type: ignore[union-attr]
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, value)

    set_nodelay(0)
    return lambda: set_nodelay(1)


LINK_CHANGES = (
    *(change for change in CHANGES if change.name != "memoized placeholders"),
    Change("TCP_NODELAY", "no wait for the server's delayed ACK between segments", _nagle_on),
)


def run(ctx: BenchContext) -> Section:
    scale = ctx.scale
    ctx.fresh_database("bench_link")
    typical_orgs(ctx.arrange, "bg_", scale.background_orgs)
    url = make_url(ctx.url)
    socket_dir = url.query.get("unix_sock")
    if not isinstance(socket_dir, str):
        raise RuntimeError("the link section proxies the embedded server's Unix socket")
    calls_per_side = max(4, scale.calls // 5)
    warmup = max(2, scale.warmup // 5)
    per_side = warmup + calls_per_side
    planned: list[tuple[Scenario, Handler, list[Call]]] = [
        (s, load_handler(s.function), s.arrange(ctx.arrange, f"ln{i:02d}_", 2 * per_side))
        for i, s in enumerate(scenarios())
    ]
    ctx.vacuum_analyze()
    samples: dict[tuple[bool, int], list[float]] = {}
    trips: dict[tuple[bool, int], int] = {}
    floor: list[float] = []
    with delay_proxy(socket_dir, DELAY_MS) as port:
        via = url.set(host="127.0.0.1", port=port, query={}).render_as_string(hide_password=False)
        use_database(via)
        container.reset()
        floor_connection = pg8000_connection(via)
        try:
            cursor = 0
            for position in range(per_side):
                for on in (True, False) if position % 2 == 0 else (False, True):
                    with switched_off(()) if on else switched_off(LINK_CHANGES):
                        for index, (scenario, handler, calls) in enumerate(planned):
                            call = calls[cursor]
                            in_own_container(scenario.function)
                            with count_round_trips() as wire:
                                started = time.perf_counter_ns()
                                response = handler(call.event, local_context())
                                elapsed = (time.perf_counter_ns() - started) / 1e6
                            if response["statusCode"] != call.status:
                                raise RuntimeError(f"{scenario.name}: {response['statusCode']}")
                            if position >= warmup:
                                samples.setdefault((on, index), []).append(elapsed)
                                trips[(on, index)] = wire.round_trips
                    cursor += 1
                for _ in range(2):
                    floor.append(timed(lambda: floor_connection.run("SELECT 1")))
        finally:
            floor_connection.close()
            use_database(ctx.url)
            container.reset()
    rtt = p50(floor)
    rows: list[dict[str, Any]] = []
    for index, (scenario, _handler, _calls) in enumerate(planned):
        after, before = samples[(True, index)], samples[(False, index)]
        rows.append(
            {
                "route": scenario.name,
                "wire_round_trips": trips[(True, index)],
                "round_trips_x_rtt_ms": ms(trips[(True, index)] * rtt),
                "p50_ms": ms(p50(after)),
                "p99_ms": ms(p99(after)),
                "before_round_trips": trips[(False, index)],
                "before_p50_ms": ms(p50(before)),
                "before_p99_ms": ms(p99(before)),
                "p50_saved_ms": ms(p50(before) - p50(after)),
            }
        )
    return Section(
        f"10. Latency through a link adding {DELAY_MS} ms each way (Lambda -> RDS Proxy)",
        rows,
        summary={
            "delay_each_way_ms": DELAY_MS,
            "link_round_trip_p50_ms": ms(rtt),
            "median_p50_ms": ms(p50([row["p50_ms"] for row in rows])),
            "median_before_p50_ms": ms(p50([row["before_p50_ms"] for row in rows])),
            "worst_p99_ms": max(row["p99_ms"] for row in rows),
            "calls_per_route_and_side": calls_per_side,
        },
        notes=[
            "rtt: a raw pg8000 `SELECT 1` through the proxy (one round trip), sampled between rounds.",
            "round_trips_x_rtt_ms: what the route's waits on the wire cost on this link; p50 minus it is "
            "the service's own time and the database's work.",
            "before_*: the same routes in alternating rounds with issue 16's link changes switched off "
            "(pg8000's three-round-trip COMMIT, every GET in a transaction, a ping on every checkout, "
            "Nagle's algorithm on, strptime timestamps, change statements built per call), as the service "
            "was before; the placeholder memo stays on in both.",
        ],
    )
