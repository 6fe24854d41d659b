"""The benchmark sections (issues 8, 16 and 17: the partitioning migration). Each builds its own
database and returns a `Section`.

Every timed figure sits next to a floor measured in the same section of the same run (a raw pg8000
`SELECT 1`, a COPY of the same rows, plain DELETEs of the same rows, the naive approach), because
absolute times on a shared machine are noise; counts (statements, round trips, rows) are exact.
One module per section; `SECTIONS` runs them in order (`python -m bench.run --only NAME`).
"""

from collections.abc import Callable

from bench.context import BenchContext, Section
from bench.sections import (
    analytics,
    cold_start,
    cpu,
    ingest,
    latency,
    link,
    naive,
    partitioning,
    phases,
    purge,
    round_trips,
    sample_data,
)

SECTIONS: dict[str, Callable[[BenchContext], Section]] = {
    "round_trips": round_trips.run,
    "latency": latency.run,
    "cold_start": cold_start.run,
    "ingest": ingest.run,
    "sample_data": sample_data.run,
    "purge": purge.run,
    "analytics": analytics.run,
    "naive": naive.run,
    "cpu": cpu.run,
    "link": link.run,
    "partitioning": partitioning.run,
    "phases": phases.run,
}
