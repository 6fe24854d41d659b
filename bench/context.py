"""What every benchmark section gets: the scale of the run and a fresh, migrated database of its own."""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from bench.harness import select_one_floor
from onboarding import container
from tools.local_db import create_database, migrate, use_database


@dataclass(frozen=True)
class Scale:
    """How much of everything a run does. FULL is the documented run; QUICK checks that it all works."""

    calls: int  # timed calls per route (latency)
    warmup: int  # untimed calls before them
    background_orgs: int  # other organizations in the database while routes are timed
    cold_runs: int  # fresh interpreters per function and side
    ingest_batches: int  # batches of 100 metric events
    sample_calls: int  # generations (and clears) per size
    purge_orgs: tuple[int, int]  # the two purge sizes compared
    analytics_rows: int  # metric rows for the analytics at scale
    migration_rows: tuple[int, ...]  # metric rows under the partitioning migration, one run per size
    analytics_calls: int  # timed calls per analytics query
    naive_calls: int  # timed calls per approach in the naive comparisons


FULL = Scale(
    calls=500,
    warmup=50,
    background_orgs=2000,
    cold_runs=9,
    ingest_batches=200,
    sample_calls=100,
    purge_orgs=(100, 1000),
    analytics_rows=10_000_000,
    migration_rows=(1_000_000, 10_000_000),
    analytics_calls=15,
    naive_calls=200,
)
QUICK = Scale(
    calls=20,
    warmup=3,
    background_orgs=20,
    cold_runs=1,
    ingest_batches=5,
    sample_calls=5,
    purge_orgs=(5, 50),
    analytics_rows=5_000,
    migration_rows=(2_000,),
    analytics_calls=2,
    naive_calls=5,
)


@dataclass
class Section:
    """One section's answer: a table, the figures that sum it up, and what a reader must know."""

    title: str
    rows: list[dict[str, Any]]
    summary: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class BenchContext:
    def __init__(self, server_url: str, scale: Scale) -> None:
        self.server_url = server_url
        self.scale = scale
        self.cpu_changes: tuple[str, ...] = ()  # section 9: the changes to A/B (none named: every one)
        self.databases: list[str] = []
        self._url: str | None = None
        self._arrange: Engine | None = None

    @property
    def url(self) -> str:
        assert self._url is not None, "call fresh_database() first"
        return self._url

    @property
    def arrange(self) -> Engine:
        """An engine for arranging and inspecting rows, separate from the service's (not counted)."""
        assert self._arrange is not None, "call fresh_database() first"
        return self._arrange

    def fresh_database(self, name: str, revision: str = "head") -> str:
        """A new database `name` migrated to `revision` (replacing any of that name); the service is
        pointed at it."""
        self._release()
        url = create_database(self.server_url, name, replace=True)
        migrate(url, revision)
        use_database(url)
        container.reset()
        self._url, self._arrange = url, create_engine(url, poolclass=NullPool)
        if name not in self.databases:
            self.databases.append(name)
        return url

    def vacuum_analyze(self) -> None:
        """Planner statistics and visibility maps as autovacuum keeps them on a live database."""
        engine = create_engine(self.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text("VACUUM ANALYZE"))
        finally:
            engine.dispose()

    def floor(self, repeat: int) -> list[float]:
        """Milliseconds of raw pg8000 `SELECT 1` round trips on this database, now."""
        return select_one_floor(self.url, repeat)

    def server_version(self) -> str:
        engine = create_engine(self.url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                return str(connection.execute(text("SHOW server_version")).scalar())
        finally:
            engine.dispose()

    def drop_databases(self) -> None:
        self._release()
        engine = create_engine(make_url(self.server_url), poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                for name in self.databases:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            engine.dispose()

    def _release(self) -> None:
        if self._arrange is not None:
            self._arrange.dispose()
        container.reset()
