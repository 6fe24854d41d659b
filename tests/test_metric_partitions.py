"""onboarding_metric's monthly partitions: where rows land, the nightly maintenance, the archive.

Each test gets a database of its own, cloned from one migrated template (the tests change the
partitions themselves). The maintenance is run as of a chosen moment (`now`), as the schedule's
time would give it.
"""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from onboarding import metric_partitions
from onboarding.metric_partitions import Limits, MaintenanceReport, month_start, partition_name
from onboarding.metrics import RESENT_BEFORE
from tests.fixtures import worker_suffix
from tools.local_db import create_database, migrate

pytestmark = pytest.mark.versions  # DDL, partitions and locks: checked on PostgreSQL 15 and 18

THIS_MONTH = month_start(datetime.now(UTC))
TEMPLATE = f"metric_partitions_template{worker_suffix()}"
SCRATCH = f"metric_partitions_scratch{worker_suffix()}"
LIMITS = Limits(lock_timeout_ms=2000, statement_timeout_ms=60_000, remaining_ms=lambda: 10**9, reserve_ms=0)


@pytest.fixture(scope="module")
def template(server_url: str) -> str:
    url = create_database(server_url, TEMPLATE, replace=True)
    migrate(url)
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO organizations (id, name) VALUES ('org_a', 'A'), ('org_b', 'B')"))
    engine.dispose()
    return TEMPLATE


@pytest.fixture
def database(server_url: str, template: str) -> Iterator[Engine]:
    admin = create_engine(server_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{SCRATCH}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{SCRATCH}" TEMPLATE "{template}"'))
    admin.dispose()
    engine = create_engine(create_database(server_url, SCRATCH), poolclass=NullPool)
    yield engine
    engine.dispose()


def maintain(engine: Engine, now: datetime, limits: Limits = LIMITS, **options: int) -> MaintenanceReport:
    return metric_partitions.maintain(engine, now, limits, **options)


def add_metric(connection: Connection, at: datetime, org_id: str = "org_a") -> str:
    """A metric row stamped `at`; returns the partition it went to."""
    return str(
        connection.execute(
            text(
                "INSERT INTO onboarding_metric (organization_id, event_type, timestamp)"
                " VALUES (:org, 'view_reports', :at) RETURNING tableoid::regclass::text"
            ),
            {"org": org_id, "at": at},
        ).scalar_one()
    )


def partition_names(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return [p.name for p in metric_partitions.partitions(connection)]


def count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_a_new_installation_has_last_month_to_three_months_ahead_and_a_default(database: Engine) -> None:
    months = [partition_name(month_start(THIS_MONTH, offset)) for offset in range(-1, 4)]
    assert partition_names(database) == [*months, metric_partitions.DEFAULT]


def test_a_row_goes_to_its_months_partition_and_a_month_without_one_to_the_default(database: Engine) -> None:
    with database.begin() as connection:
        assert add_metric(connection, THIS_MONTH + timedelta(days=3)) == partition_name(THIS_MONTH)
        assert add_metric(connection, month_start(THIS_MONTH, 10)) == metric_partitions.DEFAULT
        assert add_metric(connection, month_start(THIS_MONTH, -30)) == metric_partitions.DEFAULT


def test_the_nightly_run_creates_the_months_ahead(database: Engine) -> None:
    report = maintain(database, month_start(THIS_MONTH, 5) + timedelta(days=2))
    # Last month (4 ahead of this one) to three ahead (8): the ones the migration did not create.
    assert report.partitions_created == [partition_name(month_start(THIS_MONTH, n)) for n in range(4, 9)]
    assert report.deferred == [] and not report.stopped_early


def test_rows_in_the_default_partition_move_into_the_partition_made_for_their_month(database: Engine) -> None:
    stray = month_start(THIS_MONTH, 10) + timedelta(days=4)
    with database.begin() as connection:
        add_metric(connection, stray)
        add_metric(connection, stray + timedelta(days=1), org_id="org_b")
    report = maintain(database, THIS_MONTH + timedelta(days=1))
    assert report.partitions_created == [partition_name(month_start(stray))]
    assert report.rows_moved_from_default == 2
    assert count(database, metric_partitions.DEFAULT) == 0
    assert count(database, partition_name(month_start(stray))) == 2


def test_partitions_older_than_twelve_months_move_to_the_archive(database: Engine) -> None:
    last_month = month_start(THIS_MONTH, -1)
    with database.begin() as connection:
        for day in range(5):
            add_metric(connection, last_month + timedelta(days=day))
        add_metric(connection, THIS_MONTH + timedelta(days=1))
    # A year after this month began: last month's partition is entirely older than 12 months.
    report = maintain(database, month_start(THIS_MONTH, 12) + timedelta(hours=1))
    assert report.partitions_archived == [partition_name(last_month)]
    assert report.rows_archived == 5
    assert partition_name(last_month) not in partition_names(database)
    assert partition_name(THIS_MONTH) in partition_names(database)
    assert count(database, metric_partitions.ARCHIVE) == 5
    assert count(database, "onboarding_metric") == 1


def test_deleting_an_organization_deletes_its_metrics_in_every_partition_and_the_archive(
    database: Engine,
) -> None:
    with database.begin() as connection:
        for org_id in ("org_a", "org_b"):
            add_metric(connection, month_start(THIS_MONTH, -1), org_id)  # archived below
            add_metric(connection, THIS_MONTH + timedelta(hours=1), org_id)  # this month's partition
            add_metric(connection, month_start(THIS_MONTH, 40), org_id)  # the default partition
    maintain(database, month_start(THIS_MONTH, 12) + timedelta(hours=1))
    with database.begin() as connection:
        connection.execute(text("DELETE FROM organizations WHERE id = 'org_a'"))
    with database.connect() as connection:
        left = connection.execute(
            text(
                "SELECT organization_id, count(*) FROM (SELECT organization_id FROM onboarding_metric"
                " UNION ALL SELECT organization_id FROM onboarding_metric_archive) AS m GROUP BY 1"
            )
        ).all()
    assert [tuple(row) for row in left] == [("org_b", 3)]


def test_the_nightly_run_deletes_event_keys_older_than_the_resend_window_in_batches(database: Engine) -> None:
    now = THIS_MONTH + timedelta(days=20)
    with database.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO onboarding_metric_event_key (organization_id, client_event_id, timestamp)"
                " SELECT 'org_a', gen_random_uuid(), CAST(:now AS timestamptz) - make_interval(hours => g)"
                " FROM generate_series(0, 799) AS g"
            ),
            {"now": now},
        )
    report = maintain(database, now, event_key_batch_rows=100)
    window_hours = int(RESENT_BEFORE.total_seconds() // 3600)  # 336 (14 days 5 minutes)
    assert report.event_keys_deleted == 800 - (window_hours + 1)
    with database.connect() as connection:
        oldest = connection.scalar(text("SELECT min(timestamp) FROM onboarding_metric_event_key"))
    assert oldest is not None and now - oldest <= RESENT_BEFORE
    assert maintain(database, now).event_keys_deleted == 0


def test_a_second_run_finds_nothing_left_to_do(database: Engine) -> None:
    with database.begin() as connection:
        add_metric(connection, month_start(THIS_MONTH, -1))
    later = month_start(THIS_MONTH, 12) + timedelta(days=1)
    first = maintain(database, later)
    second = maintain(database, later)
    assert first.partitions_created and first.partitions_archived
    assert (second.partitions_created, second.partitions_archived, second.rows_archived) == ([], [], 0)


def test_two_runs_at_once_do_everything_exactly_once(database: Engine) -> None:
    with database.begin() as connection:
        for day in range(3):
            add_metric(connection, month_start(THIS_MONTH, -1) + timedelta(days=day))
        add_metric(connection, month_start(THIS_MONTH, 9))  # default, moved by whichever run gets there
    later = month_start(THIS_MONTH, 12) + timedelta(days=1)
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda _: maintain(database, later), range(2)))
    created = [name for report in reports for name in report.partitions_created]
    archived = [name for report in reports for name in report.partitions_archived]
    assert len(created) == len(set(created)) and created
    assert archived == [partition_name(month_start(THIS_MONTH, -1))]
    assert sum(report.rows_archived for report in reports) == 3
    assert sum(report.rows_moved_from_default for report in reports) == 1
    assert count(database, metric_partitions.ARCHIVE) == 3
    assert count(database, "onboarding_metric") == 1


def test_a_run_stopped_after_detaching_a_partition_is_finished_by_the_next(database: Engine) -> None:
    last_month = partition_name(month_start(THIS_MONTH, -1))
    with database.begin() as connection:
        add_metric(connection, month_start(THIS_MONTH, -1))
        # What a stopped run of the earlier version (detach, then copy) left behind.
        connection.execute(text(f"ALTER TABLE onboarding_metric DETACH PARTITION {last_month}"))
        connection.execute(text(f"COMMENT ON TABLE {last_month} IS '{metric_partitions.DETACHED_COMMENT}'"))
    report = maintain(database, THIS_MONTH + timedelta(days=1))
    assert report.partitions_archived == [last_month]
    assert count(database, metric_partitions.ARCHIVE) == 1


def every_metric_id(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(
            connection.scalars(
                text(
                    "SELECT id FROM onboarding_metric UNION ALL SELECT id FROM onboarding_metric_archive"
                    " ORDER BY 1"
                )
            )
        )


def test_a_partition_is_archived_in_bounded_batches(database: Engine) -> None:
    last_month = month_start(THIS_MONTH, -1)
    with database.begin() as connection:
        for day in range(7):
            add_metric(connection, last_month + timedelta(days=day))
    ids = every_metric_id(database)
    report = maintain(database, month_start(THIS_MONTH, 12) + timedelta(days=1), archive_batch_rows=3)
    assert report.partitions_archived == [partition_name(last_month)]
    assert (report.rows_archived, report.archive_batches) == (7, 3)  # 3 + 3 + 1
    assert count(database, metric_partitions.ARCHIVE) == 7
    assert every_metric_id(database) == ids


def test_a_run_stopped_between_batches_leaves_every_row_somewhere_and_the_next_run_carries_on(
    database: Engine,
) -> None:
    last_month = month_start(THIS_MONTH, -1)
    with database.begin() as connection:
        for day in range(7):
            add_metric(connection, last_month + timedelta(days=day))
    ids = every_metric_id(database)
    later = month_start(THIS_MONTH, 12) + timedelta(days=1)
    # The time budget runs out once the first batch is in the archive.
    out_after_one_batch = Limits(
        lock_timeout_ms=2000,
        statement_timeout_ms=60_000,
        remaining_ms=lambda: 0 if count(database, metric_partitions.ARCHIVE) else 10**9,
        reserve_ms=1,
    )
    stopped = maintain(database, later, out_after_one_batch, archive_batch_rows=3)
    assert stopped.stopped_early and stopped.partitions_archived == []
    assert (stopped.rows_archived, stopped.archive_batches) == (3, 1)
    # Still attached, partly moved: every row is in the partition or in the archive, exactly once.
    assert partition_name(last_month) in partition_names(database)
    assert count(database, partition_name(last_month)) == 7 - stopped.rows_archived
    assert every_metric_id(database) == ids
    finished = maintain(database, later, archive_batch_rows=3)
    assert finished.partitions_archived == [partition_name(last_month)]
    assert stopped.rows_archived + finished.rows_archived == 7
    assert count(database, metric_partitions.ARCHIVE) == 7 and every_metric_id(database) == ids


def test_two_runs_at_once_with_small_batches_move_every_row_exactly_once(database: Engine) -> None:
    with database.begin() as connection:
        for day in range(20):
            add_metric(connection, month_start(THIS_MONTH, -1) + timedelta(days=day % 28, hours=day))
    ids = every_metric_id(database)
    later = month_start(THIS_MONTH, 12) + timedelta(days=1)
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda _: maintain(database, later, archive_batch_rows=4), range(2)))
    assert [name for report in reports for name in report.partitions_archived] == [
        partition_name(month_start(THIS_MONTH, -1))
    ]
    assert sum(report.rows_archived for report in reports) == 20
    assert count(database, metric_partitions.ARCHIVE) == 20 and every_metric_id(database) == ids


def test_a_partition_held_by_a_long_query_is_deferred_to_the_next_run_not_failed(database: Engine) -> None:
    with database.begin() as connection:
        add_metric(connection, month_start(THIS_MONTH, -1))
    later = month_start(THIS_MONTH, 12) + timedelta(days=1)
    short_wait = Limits(
        lock_timeout_ms=200, statement_timeout_ms=60_000, remaining_ms=lambda: 10**9, reserve_ms=0
    )
    with database.connect() as reader:
        reader.execute(text("SELECT count(*) FROM onboarding_metric"))  # its transaction stays open
        report = maintain(database, later, short_wait)
        reader.rollback()
    # Creating a partition needs the default partition alone for a moment, detaching one the table:
    # the reader holds both, so every step waits its lock_timeout and is left to the next run.
    assert f"detach {partition_name(month_start(THIS_MONTH, -1))}" in report.deferred
    assert report.partitions_archived == [] and report.partitions_created == []
    assert maintain(database, later).partitions_archived == [partition_name(month_start(THIS_MONTH, -1))]


def test_a_run_near_its_time_limit_stops_before_the_next_step(database: Engine) -> None:
    almost_out = Limits(
        lock_timeout_ms=2000, statement_timeout_ms=60_000, remaining_ms=lambda: 1000, reserve_ms=5000
    )
    report = maintain(database, month_start(THIS_MONTH, 6), almost_out)
    assert report.stopped_early and report.partitions_created == []


def test_on_a_table_not_yet_partitioned_the_run_does_nothing(server_url: str) -> None:
    url = create_database(server_url, SCRATCH, replace=True)
    migrate(url, "0005_outbox")
    engine = create_engine(url, poolclass=NullPool)
    try:
        report = maintain(engine, THIS_MONTH)
    finally:
        engine.dispose()
    assert not report.partitioned and report.partitions_created == []
