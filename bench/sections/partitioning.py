"""11. The partitioning migration (0008) on a populated onboarding_metric: how long it blocks readers and
writers at 1 M and 10 M rows, without preparation and with the online preparation (the low-lock path).

For each size: a database at 0007 (the revision before it) with that many metric rows (set-based, as
section 7 makes them: indexes and keys built after the load, bench/bulk.py), then
three runs, each with a reader and a writer probing the table all along (a SELECT by organization and
a one-row INSERT, each on its own connection, one after the other): the upgrade as it runs without
preparation; the downgrade (the way back: every row copied into a plain table); then the online
preparation (`prepare_metric_partitioning`) and the upgrade after it; then, a year later, the nightly
job archiving the legacy partition in batches. The longest probe is how long a client's statement
waited on the step's locks (plus its own ~1 ms).
"""

import os
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from alembic import command
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from bench.bulk import bulk_load
from bench.context import BenchContext, Section
from bench.sections.analytics import _ANALYTICS_METRICS, _ANALYTICS_ORGS, ROWS_PER_ORG
from onboarding import container, metric_partitions
from tools.local_db import alembic_config

BEFORE = "0007_checklist_count"  # the revision before the partitioning migration
PROBE_PAUSE_S = 0.02
# The bench's own limits for the migration's statements (the deployed default is 120 s): how long each
# takes at 10 M rows is the finding, not a timeout.
STATEMENT_TIMEOUT_MS = 840_000
# The archive runs under the deployed default (MigrationStatementTimeoutMs): no batch may need more.
ARCHIVE_STATEMENT_TIMEOUT_MS = 120_000
_READ = (
    "SELECT count(*) FROM (SELECT 1 FROM onboarding_metric WHERE organization_id = 'an_0000001' LIMIT 5) AS r"
)
_WRITE = (
    "INSERT INTO onboarding_metric (organization_id, event_type) VALUES ('an_0000002', 'checklist_viewed')"
)


class Probe:
    """Runs one statement again and again on a connection of its own; keeps the slowest."""

    def __init__(self, url: str, statement: str) -> None:
        self.engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self.statement = statement
        self.slowest_ms = 0.0
        self.calls = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> "Probe":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.engine.dispose()

    def _loop(self) -> None:
        with self.engine.connect() as connection:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    connection.execute(text(self.statement))
                except Exception as error:  # a probe reports what it met, it does not stop the run
                    self.errors.append(type(error).__name__)
                self.slowest_ms = max(self.slowest_ms, (time.perf_counter() - started) * 1000)
                self.calls += 1
                time.sleep(PROBE_PAUSE_S)


def run(ctx: BenchContext) -> Section:
    rows: list[dict[str, Any]] = []
    # migrations/env.py sets the statement timeout from the settings: the bench's, for this section.
    previous = os.environ.get("MIGRATION_STATEMENT_TIMEOUT_MS")
    os.environ["MIGRATION_STATEMENT_TIMEOUT_MS"] = str(STATEMENT_TIMEOUT_MS)
    container.reset()
    try:
        for size in ctx.scale.migration_rows:
            rows += _one_size(ctx, size)
    finally:
        if previous is None:
            os.environ.pop("MIGRATION_STATEMENT_TIMEOUT_MS", None)
        else:
            os.environ["MIGRATION_STATEMENT_TIMEOUT_MS"] = previous
        container.reset()
    return Section(
        "11. The partitioning migration on a populated table: how long readers and writers wait",
        rows,
        summary={
            f"{row['rows']:,} rows, {row['step']}": f"reads {row['read_blocked_ms']} ms, writes "
            f"{row['write_blocked_ms']} ms"
            for row in rows
            if row["step"].startswith("upgrade")
        },
        notes=[
            "read_blocked_ms / write_blocked_ms: the slowest of the probe statements (a SELECT by "
            "organization, a one-row INSERT) that ran while the step did: how long a client waited on "
            "the step's locks, plus the statement's own ~1 ms.",
            "upgrade, not prepared: the two unique indexes with the partition key are built inside the "
            "upgrade (writes wait, reads go on), then a CHECK on the boundary scans the table under an "
            "exclusive lock (both wait); attaching the table as the legacy partition is then metadata.",
            "prepare (online): CREATE UNIQUE INDEX CONCURRENTLY twice, a CHECK added NOT VALID and then "
            "validated; neither blocks reads or writes. The upgrade after it builds and scans nothing.",
            "downgrade: every row copied back into one plain table (one INSERT ... SELECT, then its keys "
            "and indexes built), the table locked throughout.",
            "archive the legacy partition: the nightly job as of a year after the boundary, moving every "
            "row of the legacy partition to onboarding_metric_archive in batches of 200 000 (one "
            "transaction each) under the deployed 120 s statement timeout, then detaching and dropping "
            "it; archive_rows_per_s is rows moved per second of moving.",
            f"Statement timeout raised to {STATEMENT_TIMEOUT_MS // 1000} s for the bench (deployed default "
            "120 s, MigrationStatementTimeoutMs): seconds here above 120 are what that limit would cut.",
        ],
    )


def _one_size(ctx: BenchContext, size: int) -> list[dict[str, Any]]:
    url = ctx.fresh_database(f"bench_partitioning_{size}", BEFORE)
    orgs = max(2, size // ROWS_PER_ORG)
    started = time.perf_counter()
    with ctx.arrange.begin() as connection:
        connection.execute(text(_ANALYTICS_ORGS), {"orgs": orgs})
        bulk_load(
            connection, "onboarding_metric", [(_ANALYTICS_METRICS, {"orgs": orgs, "per_org": ROWS_PER_ORG})]
        )
    fill_s = time.perf_counter() - started
    ctx.vacuum_analyze()
    engine = create_engine(url, poolclass=NullPool)
    results = []
    try:
        results.append(_step(url, size, "upgrade, not prepared", lambda: _alembic(engine, "upgrade", "head")))
        results.append(_step(url, size, "downgrade", lambda: _alembic(engine, "downgrade", BEFORE)))
        ctx.vacuum_analyze()
        results.append(
            _step(
                url,
                size,
                "prepare (online)",
                lambda: metric_partitions.prepare(
                    engine, _now(engine), statement_timeout_ms=STATEMENT_TIMEOUT_MS
                ),
            )
        )
        results.append(_step(url, size, "upgrade, prepared", lambda: _alembic(engine, "upgrade", "head")))
        # A year later: the nightly job archives the legacy partition (every row) in bounded batches,
        # under the deployed statement timeout.
        reports: list[metric_partitions.MaintenanceReport] = []
        archive = _step(url, size, "archive the legacy partition", lambda: reports.append(_archive(engine)))
        report = reports[0]
        archive.update(
            archived_rows=report.rows_archived,
            archive_batches=report.archive_batches,
            archive_rows_per_s=round(report.rows_archived / report.archive_seconds)
            if report.archive_seconds
            else None,
        )
        results.append(archive)
    finally:
        engine.dispose()
    for row in results:
        row["fill_s"] = round(fill_s, 1)
        for column in ("archived_rows", "archive_batches", "archive_rows_per_s"):
            row.setdefault(column, None)
    return results


def _step(url: str, size: int, label: str, work: Callable[[], object]) -> dict[str, Any]:
    with Probe(url, _READ) as reader, Probe(url, _WRITE) as writer:
        time.sleep(0.2)  # both probes running before the step starts
        started = time.perf_counter()
        work()
        seconds = time.perf_counter() - started
        time.sleep(0.2)
    return {
        "rows": size,
        "step": label,
        "seconds": round(seconds, 2),
        "read_blocked_ms": round(reader.slowest_ms, 1),
        "write_blocked_ms": round(writer.slowest_ms, 1),
        "probe_calls": reader.calls + writer.calls,
        "probe_errors": ", ".join(sorted(set(reader.errors + writer.errors))) or "-",
    }


def _alembic(engine: Engine, verb: str, revision: str) -> None:
    with engine.begin() as connection:
        getattr(command, verb)(alembic_config(connection), revision)


def _archive(engine: Engine) -> metric_partitions.MaintenanceReport:
    with engine.connect() as connection:
        legacy = next(
            p for p in metric_partitions.partitions(connection) if p.name == metric_partitions.LEGACY
        )
    assert legacy.upper is not None
    limits = metric_partitions.Limits(
        lock_timeout_ms=5000,
        statement_timeout_ms=ARCHIVE_STATEMENT_TIMEOUT_MS,
        remaining_ms=lambda: 10**9,
        reserve_ms=0,
    )
    report = metric_partitions.maintain(
        engine, metric_partitions.month_start(legacy.upper, 12) + timedelta(days=1), limits
    )
    assert report.partitions_archived == [metric_partitions.LEGACY], report
    return report


def _now(engine: Engine) -> Any:
    with engine.connect() as connection:
        return connection.execute(text("SELECT now()")).scalar_one()
