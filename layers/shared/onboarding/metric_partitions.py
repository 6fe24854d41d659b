"""Monthly partitions of `onboarding_metric`: created ahead, caught by a default, archived after 12 months.

Run nightly by the migrations function (the one function with the schema owner's rights; its own
schedule, `{"action": "maintain_metric_partitions"}`), one short transaction per step:

1. **Ahead of time**: a partition for the previous and current month and the next `months_ahead`
   (3), each created as a table of its own and then ATTACHed (which takes only a SHARE UPDATE EXCLUSIVE
   lock on `onboarding_metric`, so reads and writes go on; CREATE TABLE ... PARTITION OF would take an
   exclusive one).
2. **Nothing is ever refused**: a row whose month has no partition lands in the DEFAULT partition.
   Every month found there gets its partition, its rows moved into it in the same transaction.
3. **Archive**: a partition whose newest possible row is older than `retention_months` (12) is
   emptied into `onboarding_metric_archive` in bounded batches (`archive_batch_rows` rows per
   transaction: each batch's rows are deleted from the partition and inserted into the archive by one
   statement, so a row is always in exactly one of the two and every batch stays far under the
   statement timeout, whatever the partition's size), then DETACHed and marked by a comment (a
   moment's exclusive lock on `onboarding_metric`), then, in the next transaction, whatever arrived
   since the last batch is moved and the table dropped. The partition stays attached while it is
   emptied: its rows are in reports and exports until they are in the archive (exports read it too).
   A run that stops (its time budget, a deferred lock) leaves a partition partly moved, or detached
   and marked; the next run carries on from there.
4. **Expired event keys**: the metric ingest's keys of client event ids (`onboarding_metric_event_key`)
   are needed for the resend window only (`metrics.RESENT_BEFORE` after their timestamp); older ones
   are deleted, `event_key_batch_rows` per transaction, before the archive step (they are few and
   quick, and the archive may use up the run's budget). Only space depends on this step: the ingest
   itself treats a key older than the window as absent.

Safe to run twice at once and idempotent: each step takes the schema's advisory lock (the one the
migrations hold for a whole upgrade) and then reads the partitions again, so a second run waits for
the step in progress and finds it done. A step that cannot get its table lock within
`lock_timeout` (a long analytics query) is deferred to the next night, not failed: partitions exist
months ahead, and the archive can wait a day.
"""

import re
import time
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Final

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, exc, func, select, text

from onboarding.db import sqlstate
from onboarding.metric_tables import onboarding_metric_event_key
from onboarding.metrics import RESENT_BEFORE
from onboarding.observability import logger
from onboarding.tables import onboarding_metric

PARENT: Final = "onboarding_metric"
DEFAULT: Final = "onboarding_metric_default"
ARCHIVE: Final = "onboarding_metric_archive"
LEGACY: Final = "onboarding_metric_legacy"
# pg_advisory_xact_lock key shared with the migrations function: schema changes and partition
# maintenance never run at the same time, and two maintenance runs take turns.
SCHEMA_LOCK_KEY: Final = 0x6F6E626F61726431
# Marks a partition detached for the archive whose rows are not copied yet (a run stopped in between).
DETACHED_COMMENT: Final = "onboarding_metric partition detached for onboarding_metric_archive"
# What migration 0008 attaches without building or scanning anything when preparation made it first.
LEGACY_PRIMARY_KEY: Final = "onboarding_metric_legacy_pkey"
LEGACY_CLIENT_EVENT_KEY: Final = "onboarding_metric_legacy_client_event_key"
LEGACY_BOUND: Final = "onboarding_metric_legacy_bound"
LOCK_NOT_AVAILABLE: Final = "55P03"
# Rows moved to the archive per transaction: ~10 s at the ~24 k rows/s measured on a loaded machine,
# far under the migrations function's 120 s statement timeout.
ARCHIVE_BATCH_ROWS: Final = 200_000
# Expired event keys deleted per transaction (each batch continues the previous one's TID range scan).
EVENT_KEY_BATCH_ROWS: Final = 50_000
EVENT_KEYS: Final = onboarding_metric_event_key.name
# Every column, in the table's order: the archive copy names them rather than relying on SELECT *.
_COLUMNS: Final = ", ".join(f'"{c.name}"' for c in onboarding_metric.columns)


_PARTITION_NAME: Final = re.compile(rf"{PARENT}_(y\d{{4}}m\d{{2}}|legacy|default)")


def include_in_autogenerate(
    name: str | None, type_: str, parent_names: MutableMapping[Any, str | None]
) -> bool:
    """alembic's `include_name` hook: the partitions (and their indexes) are made by this module and
    migration 0008, not by the models, so model/schema comparisons leave them out."""
    if type_ == "table":
        return not (name and _PARTITION_NAME.fullmatch(name))
    if type_ == "index":
        table = parent_names.get("table_name")
        return not (table and _PARTITION_NAME.fullmatch(table))
    return True


@dataclass(frozen=True, slots=True)
class Partition:
    name: str
    lower: datetime | None  # None: MINVALUE (or the default partition)
    upper: datetime | None  # None: MAXVALUE (or the default partition)
    is_default: bool = False

    def overlaps(self, lower: datetime, upper: datetime) -> bool:
        return (
            not self.is_default
            and (self.lower is None or self.lower < upper)
            and (self.upper is None or lower < self.upper)
        )


class MaintenanceReport(BaseModel):
    now: datetime
    archive_before: datetime
    partitioned: bool = True
    partitions_created: list[str] = Field(default_factory=list)
    rows_moved_from_default: int = 0
    partitions_archived: list[str] = Field(default_factory=list)
    rows_archived: int = 0
    archive_seconds: float = 0.0
    archive_batches: int = 0  # transactions that moved rows to the archive (at most archive_batch_rows each)
    # Steps that could not get their lock within lock_timeout: the next run does them.
    deferred: list[str] = Field(default_factory=list)
    stopped_early: bool = False
    # Keys of client event ids older than the resend window, deleted (step 4).
    event_keys_deleted: int = 0
    # The days from `now` until a prepared, not yet migrated table refuses new rows (see `prepare`).
    prepared_bound_days_left: float | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    lock_timeout_ms: int
    statement_timeout_ms: int
    remaining_ms: Callable[[], int]
    reserve_ms: int


def month_start(moment: datetime, months: int = 0) -> datetime:
    """The first instant (UTC) of the month `months` after `moment`'s month."""
    moment = moment.astimezone(UTC)
    index = moment.year * 12 + moment.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def months_before(moment: datetime, months: int) -> datetime:
    """`moment` `months` calendar months earlier (the last day of a shorter month when needed)."""
    first = month_start(moment, -months)
    day = moment.day
    while True:
        try:
            return moment.astimezone(UTC).replace(year=first.year, month=first.month, day=day)
        except ValueError:
            day -= 1


def partition_name(month: datetime) -> str:
    return f"{PARENT}_y{month.year:04d}m{month.month:02d}"


def is_partitioned(connection: Connection) -> bool:
    kind = connection.scalar(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:name)"), {"name": PARENT}
    )
    return bool(kind == "p")


def partitions(connection: Connection) -> list[Partition]:
    """The partitions of onboarding_metric with their bounds (read back as timestamps by PostgreSQL,
    whatever the session's time zone), oldest first."""
    rows = connection.execute(
        text(
            "SELECT c.relname, b.bound = 'DEFAULT',"
            " substring(b.bound FROM $$FROM \\('([^']+)'\\)$$)::timestamptz,"
            " substring(b.bound FROM $$TO \\('([^']+)'\\)$$)::timestamptz"
            " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,"
            " LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) AS b"
            " WHERE i.inhparent = to_regclass(:parent)"
        ),
        {"parent": PARENT},
    ).all()
    found = [Partition(name, lower, upper, bool(is_default)) for name, is_default, lower, upper in rows]
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(found, key=lambda p: (p.is_default, p.lower or oldest, p.name))


def maintain(
    engine: Engine,
    now: datetime,
    limits: Limits,
    *,
    months_ahead: int = 3,
    retention_months: int = 12,
    archive_batch_rows: int = ARCHIVE_BATCH_ROWS,
    event_key_batch_rows: int = EVENT_KEY_BATCH_ROWS,
) -> MaintenanceReport:
    """Create the partitions ahead, empty the default partition into its months, delete the expired
    event keys, archive the old partitions."""
    report = MaintenanceReport(now=now, archive_before=months_before(now, retention_months))
    with _step(engine, limits) as connection:
        if not is_partitioned(connection):
            report.partitioned = False
            report.prepared_bound_days_left = _days_left(connection, now)
            return report

    # Whatever a stopped run detached and did not copy yet, first.
    with _step(engine, limits) as connection:
        pending = _detached_for_archive(connection)
    for name in pending:
        if not _empty_into_archive(report, name, archive_batch_rows, engine, limits):
            return report
        _run(report, f"drop {name}", partial(_drop_detached, name=name, report=report), engine, limits)

    for lower in _months_to_create(engine, limits, now, months_ahead):
        if not _within_budget(report, limits):
            return report
        _run(
            report,
            f"create {partition_name(lower)}",
            partial(_create, lower=lower, report=report),
            engine,
            limits,
        )

    deleted, keys_position = event_key_batch_rows, _Position()
    while deleted == event_key_batch_rows:
        if not _within_budget(report, limits):
            return report
        with _step(engine, limits) as connection:
            deleted = delete_expired_event_keys(
                connection, now, limit=event_key_batch_rows, position=keys_position
            )
        report.event_keys_deleted += deleted

    with _step(engine, limits) as connection:
        old = [
            p
            for p in partitions(connection)
            if not p.is_default and p.upper is not None and p.upper <= report.archive_before
        ]
    for partition in old:
        name = partition.name
        if not _empty_into_archive(report, name, archive_batch_rows, engine, limits):
            return report
        if not _within_budget(report, limits):
            return report
        if _run(report, f"detach {name}", partial(_detach, name=name), engine, limits):
            _run(report, f"drop {name}", partial(_drop_detached, name=name, report=report), engine, limits)
    return report


def delete_expired_event_keys(
    connection: Connection, now: datetime, *, limit: int, position: "_Position | None" = None
) -> int:
    """Delete up to `limit` keys of client event ids whose timestamp is more than the resend window
    before `now` (`metrics.RESENT_BEFORE`); returns how many. With a `position`, the batch starts
    after the last key the previous batch deleted (a TID range scan: a run reads the table once,
    however many batches it takes). None before migration 0013 made the table (a nightly run between
    a deploy and its upgrade)."""
    if connection.scalar(select(func.to_regclass(EVENT_KEYS))) is None:
        return 0
    position = position if position is not None else _Position()
    deleted, last = connection.execute(
        text(
            f"WITH gone AS (DELETE FROM {EVENT_KEYS} WHERE ctid = ANY(ARRAY("  # noqa: S608 (our names)
            f"SELECT ctid FROM {EVENT_KEYS} WHERE ctid > CAST(:after AS tid)"
            ' AND "timestamp" < :before LIMIT :rows)) RETURNING ctid)'
            " SELECT count(*), CAST(max(ctid) AS text) FROM gone"
        ),
        {"before": now - RESENT_BEFORE, "rows": limit, "after": position.after},
    ).one()
    if last is not None:
        position.after = last
    return int(deleted)


def _empty_into_archive(
    report: MaintenanceReport, name: str, batch_rows: int, engine: Engine, limits: Limits
) -> bool:
    """Move `name`'s rows into the archive, `batch_rows` per transaction, until it is empty. False when
    the run must stop first (its time budget; a lock deferred): the next run carries on."""
    position = _Position()
    while True:
        if not _within_budget(report, limits):
            return False
        position.moved = 0
        step = partial(_archive_batch, name=name, batch_rows=batch_rows, report=report, position=position)
        if not _run(report, f"archive {name}", step, engine, limits):
            return False
        if position.moved < batch_rows:
            return True


def prepare(engine: Engine, now: datetime, *, statement_timeout_ms: int) -> dict[str, object]:
    """Build online what migration 0008 needs to attach a populated onboarding_metric in milliseconds.

    The two unique indexes with the partition key (CREATE INDEX CONCURRENTLY: reads and writes go on)
    and a CHECK ("timestamp" < boundary) added NOT VALID and then validated (a scan that blocks
    neither). The boundary is the first day of the month after next: from then on the table refuses
    rows stamped later, so run the upgrade within a month of preparing (the maintenance logs a warning
    while a prepared table waits). Idempotent; an index left invalid by an interrupted build is rebuilt.
    """
    boundary = month_start(now + timedelta(days=1), 2)
    done: list[str] = []
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if is_partitioned(connection):
            return {"action": "prepare_metric_partitioning", "already_partitioned": True, "done": done}
        # A session setting on this connection of its own (the engine is disposed after the run).
        connection.execute(select(func.set_config("statement_timeout", f"{statement_timeout_ms}ms", False)))
        for name, columns in (
            (LEGACY_PRIMARY_KEY, '(id, "timestamp")'),
            (LEGACY_CLIENT_EVENT_KEY, '(organization_id, client_event_id, "timestamp")'),
        ):
            valid = connection.scalar(
                text("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)"), {"name": name}
            )
            if valid is False:
                connection.execute(text(f"DROP INDEX CONCURRENTLY {name}"))
            if not valid:
                connection.execute(text(f"CREATE UNIQUE INDEX CONCURRENTLY {name} ON {PARENT} {columns}"))
                done.append(f"index {name}")
        bound = _prepared_bound(connection)
        if bound is None:
            connection.execute(
                text(
                    f"ALTER TABLE {PARENT} ADD CONSTRAINT {LEGACY_BOUND}"
                    f" CHECK (\"timestamp\" < '{boundary.isoformat()}') NOT VALID"
                )
            )
            done.append(f"check {LEGACY_BOUND} < {boundary.isoformat()}")
            bound = (boundary, False)
        if not bound[1]:
            connection.execute(text(f"ALTER TABLE {PARENT} VALIDATE CONSTRAINT {LEGACY_BOUND}"))
            done.append(f"validated {LEGACY_BOUND}")
    return {
        "action": "prepare_metric_partitioning",
        "already_partitioned": False,
        "boundary": bound[0].isoformat(),
        "done": done,
    }


# --- Steps ---


@contextmanager
def _step(engine: Engine, limits: Limits) -> Iterator[Connection]:
    """One transaction under the schema lock, with bounded lock waits and statements."""
    with engine.begin() as connection:
        connection.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK_KEY)))
        # SET LOCAL, after the advisory lock (waiting for another run is fine; for a table, bounded).
        connection.execute(
            select(
                func.set_config("lock_timeout", f"{limits.lock_timeout_ms}ms", True),
                func.set_config("statement_timeout", f"{limits.statement_timeout_ms}ms", True),
            )
        )
        yield connection


def _run(
    report: MaintenanceReport,
    label: str,
    work: Callable[[Connection], object],
    engine: Engine,
    limits: Limits,
) -> bool:
    """Run one step; a lock it could not get in time defers it (False), any other failure raises."""
    try:
        with _step(engine, limits) as connection:
            work(connection)
    except exc.DBAPIError as error:
        if sqlstate(error) != LOCK_NOT_AVAILABLE:
            raise
        logger.warning("metric partition step deferred: its lock is busy", extra={"step": label})
        report.deferred.append(label)
        return False
    return True


def _within_budget(report: MaintenanceReport, limits: Limits) -> bool:
    if limits.remaining_ms() < limits.reserve_ms:
        report.stopped_early = True
        return False
    return True


def _months_to_create(engine: Engine, limits: Limits, now: datetime, months_ahead: int) -> list[datetime]:
    """The months from last month to `months_ahead` ahead, and every month found in the default
    partition, that no partition covers yet."""
    with _step(engine, limits) as connection:
        existing = partitions(connection)
        wanted = {month_start(now, offset) for offset in range(-1, months_ahead + 1)}
        if any(p.is_default for p in existing):
            in_default = connection.scalars(
                text(f"SELECT DISTINCT date_trunc('month', \"timestamp\" AT TIME ZONE 'UTC') FROM {DEFAULT}")  # noqa: S608
            )
            wanted |= {month.replace(tzinfo=UTC) for month in in_default}
    return sorted(m for m in wanted if not any(p.overlaps(m, month_start(m, 1)) for p in existing))


def _create(connection: Connection, lower: datetime, report: MaintenanceReport) -> None:
    moved = create_month_partition(connection, lower)
    if moved is not None:
        report.partitions_created.append(partition_name(lower))
        report.rows_moved_from_default += moved


def create_month_partition(connection: Connection, lower: datetime) -> int | None:
    """The partition of the month starting at `lower`: a table of its own, the default partition's rows
    of that month moved into it, then attached (SHARE UPDATE EXCLUSIVE on onboarding_metric; the
    default partition is locked against writes for the move, and scanned by ATTACH).

    Returns how many rows came from the default partition; None when a partition covers the month
    already (another run made it while this one waited for the lock).
    """
    upper = month_start(lower, 1)
    existing = partitions(connection)
    if any(p.overlaps(lower, upper) for p in existing):
        return None
    name = partition_name(lower)
    bounds = f"FROM ('{lower.isoformat()}') TO ('{upper.isoformat()}')"
    has_default = any(p.is_default for p in existing)
    moved = 0
    if has_default:
        connection.execute(text(f"LOCK TABLE {DEFAULT} IN EXCLUSIVE MODE"))
    connection.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    if has_default:
        in_month = '"timestamp" >= :lower AND "timestamp" < :upper'
        move = (
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE {in_month} RETURNING {_COLUMNS})"  # noqa: S608
            f" INSERT INTO {name} ({_COLUMNS}) SELECT {_COLUMNS} FROM moved"
        )
        moved = connection.execute(text(move), {"lower": lower, "upper": upper}).rowcount
    connection.execute(text(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES {bounds}"))
    return moved


def _exists(connection: Connection, name: str) -> bool:
    return connection.scalar(select(func.to_regclass(name))) is not None


@dataclass(slots=True)
class _Position:
    """Where a run's batches over one table got to: each batch starts after the last row the previous
    one moved (a TID range scan), so the run reads the table once, not again over the emptied pages
    before every batch. A new run starts from the table's first page."""

    after: str = "(0,0)"  # a ctid
    moved: int = 0


def _archive_batch(
    connection: Connection,
    name: str,
    batch_rows: int,
    report: MaintenanceReport,
    position: _Position | None = None,
) -> None:
    """Up to `batch_rows` of `name`'s rows moved into the archive: deleted and inserted by one
    statement, so a row is in one table or the other, never both or neither, whatever stops when."""
    if not _exists(connection, name):
        return  # another run finished it while this one waited
    position = position if position is not None else _Position()
    started = time.monotonic()
    moved, last = connection.execute(
        text(
            f'WITH batch AS (DELETE FROM "{name}" WHERE ctid = ANY(ARRAY('  # noqa: S608 (our names)
            f'SELECT ctid FROM "{name}" WHERE ctid > CAST(:after AS tid) LIMIT :rows))'
            f" RETURNING ctid AS moved_from, {_COLUMNS}),"
            f" archived AS (INSERT INTO {ARCHIVE} ({_COLUMNS}) SELECT {_COLUMNS} FROM batch)"
            " SELECT count(*), CAST(max(moved_from) AS text) FROM batch"
        ),
        {"rows": batch_rows, "after": position.after},
    ).one()
    report.archive_seconds += time.monotonic() - started
    report.rows_archived += moved
    report.archive_batches += 1 if moved else 0
    position.moved = moved
    if last is not None:
        position.after = last


def _detach(connection: Connection, name: str) -> None:
    """Detach the emptied partition (a moment's exclusive lock on onboarding_metric), marked for the
    next step; anything left in it is moved by that step, after this lock is released."""
    if not any(p.name == name for p in partitions(connection)):
        return  # another run detached it while this one waited
    connection.execute(text(f'ALTER TABLE {PARENT} DETACH PARTITION "{name}"'))
    connection.execute(text(f"COMMENT ON TABLE \"{name}\" IS '{DETACHED_COMMENT}'"))


def _drop_detached(connection: Connection, name: str, report: MaintenanceReport) -> None:
    """A partition detached for the archive: whatever is left in it (rows that arrived after its last
    batch: none in a month that old) moved, then dropped. Run apart from the detach, so that the
    scan of an emptied 10 M-row table holds no lock on onboarding_metric."""
    if name not in _detached_for_archive(connection):
        return
    _archive_batch(connection, name, 2**31 - 1, report)
    connection.execute(text(f'DROP TABLE "{name}"'))
    report.partitions_archived.append(name)


def _detached_for_archive(connection: Connection) -> Sequence[str]:
    return connection.scalars(
        text(
            "SELECT relname FROM pg_class"
            " WHERE relkind = 'r' AND relnamespace = current_schema()::regnamespace"
            " AND obj_description(oid, 'pg_class') = :comment ORDER BY relname"
        ),
        {"comment": DETACHED_COMMENT},
    ).all()


def _prepared_bound(connection: Connection) -> tuple[datetime, bool] | None:
    row = connection.execute(
        text(
            "SELECT substring(pg_get_constraintdef(oid) FROM $$'([^']+)'$$)::timestamptz, convalidated"
            " FROM pg_constraint WHERE conrelid = to_regclass(:parent) AND conname = :name"
        ),
        {"parent": PARENT, "name": LEGACY_BOUND},
    ).one_or_none()
    return None if row is None else (row[0], bool(row[1]))


def _days_left(connection: Connection, now: datetime) -> float | None:
    bound = _prepared_bound(connection)
    if bound is None:
        return None
    days = (bound[0] - now).total_seconds() / 86400
    if days < 14:
        logger.warning(
            "onboarding_metric is prepared for partitioning but not migrated: from the prepared boundary "
            "on it refuses new rows; run the migrations (upgrade) now",
            extra={"boundary": bound[0].isoformat(), "days_left": round(days, 1)},
        )
    return days
