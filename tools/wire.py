"""Wire round trips: every time pg8000 waits for the server, counted for tests and benchmarks.

A round trip is one call of pg8000's `CoreConnection.handle_messages` (it reads until the server's
ReadyForQuery). That includes a ping, pg8000's BEGIN, the three round trips of a statement with
parameters (Parse/Sync, Describe/Sync, Bind+Execute/Sync), a simple-protocol statement or COMMIT (1),
and the round trips of a new connection's start-up. This is what a network hop multiplies: behind
RDS Proxy each costs 0.3-1 ms. Counting patches the method for the block's duration only (tests and
benchmarks; the service never imports this module).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pg8000.core


@dataclass
class WireCounter:
    round_trips: int = 0


@contextmanager
def count_round_trips() -> Iterator[WireCounter]:
    """Client-server round trips of every pg8000 connection in the process inside the block."""
    counter = WireCounter()
    original = pg8000.core.CoreConnection.handle_messages

    def counting(self: Any, context: Any) -> Any:
        counter.round_trips += 1
        return original(self, context)

    pg8000.core.CoreConnection.handle_messages = counting
    try:
        yield counter
    finally:
        pg8000.core.CoreConnection.handle_messages = original


def round_trip_limit(statements: int, *, reads_only: bool) -> int:
    """The most wire round trips a request of `statements` statements may take (issue 16):
    a one-statement read 3 (the statement alone: no ping, no BEGIN, no COMMIT); otherwise 3 per
    statement plus BEGIN and COMMIT."""
    if reads_only and statements == 1:
        return 3
    return 3 * statements + 2
