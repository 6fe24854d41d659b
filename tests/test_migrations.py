"""Schema only through alembic: the migrations round-trip, match the models, and respect host tables."""

import importlib.util
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from onboarding import client_metrics, metric_partitions
from onboarding.metric_partitions import include_in_autogenerate, month_start
from onboarding.metrics import RESENT_BEFORE
from onboarding.models import Base
from tests.fixtures import worker_suffix
from tools.local_db import alembic_config, create_database

pytestmark = pytest.mark.versions  # DDL and constraints: checked on PostgreSQL 15 and 18

ONBOARDING_TABLES = {
    "onboarding_state",
    "onboarding_checklist_task",
    "onboarding_tutorial_completion",
    "onboarding_metric",
}


@pytest.fixture
def scratch_engine(server_url: str) -> Iterator[Engine]:
    """An empty database of its own (per pytest-xdist worker: workers may share the server)."""
    url = create_database(server_url, f"migration_scratch{worker_suffix()}", replace=True)
    engine = create_engine(url, poolclass=NullPool)
    yield engine
    engine.dispose()


def run(engine: Engine, verb: str, revision: str) -> None:
    with engine.begin() as connection:
        getattr(command, verb)(alembic_config(connection), revision)


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_upgrade_downgrade_upgrade_round_trips(scratch_engine: Engine) -> None:
    run(scratch_engine, "upgrade", "head")
    assert tables(scratch_engine) >= ONBOARDING_TABLES
    run(scratch_engine, "downgrade", "base")
    assert tables(scratch_engine) == {"alembic_version"}
    run(scratch_engine, "upgrade", "head")
    assert tables(scratch_engine) >= ONBOARDING_TABLES


def test_models_and_migrations_do_not_drift(engine: Engine) -> None:
    # The suite's database, migrated to head by alembic (tests/fixtures.py).
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_name": include_in_autogenerate,  # the partitions are not in the models
            },
        )
        assert compare_metadata(context, Base.metadata) == []


def test_baseline_leaves_existing_host_tables_alone(scratch_engine: Engine) -> None:
    with scratch_engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE organizations (id VARCHAR(50) PRIMARY KEY, name TEXT NOT NULL, plan TEXT)")
        )
        connection.execute(text("INSERT INTO organizations VALUES ('org_host', 'Host Org', 'pro')"))
        connection.execute(
            text(
                "CREATE TABLE events (id VARCHAR(50) PRIMARY KEY, org_id VARCHAR(50), title TEXT,"
                " start_time TIMESTAMPTZ, end_time TIMESTAMPTZ)"
            )
        )

    run(scratch_engine, "upgrade", "head")
    columns = {column["name"] for column in inspect(scratch_engine).get_columns("events")}
    assert "is_sample" in columns  # added where the host table lacked it
    with scratch_engine.connect() as connection:
        assert connection.execute(text("SELECT plan FROM organizations")).scalar() == "pro"

    run(scratch_engine, "downgrade", "base")
    # Host tables the baseline did not create survive a downgrade; the ones it created are gone.
    assert {"organizations", "events"} <= tables(scratch_engine)
    assert "people" not in tables(scratch_engine)


def test_the_checklist_count_migration_backfills_every_organization_and_downgrades(
    scratch_engine: Engine,
) -> None:
    run(scratch_engine, "upgrade", "0005_outbox")
    progress = (
        '{"add_team": {"completed": true}, "view_reports": {"completed": true}, "x": {"completed": true}}'
    )
    with scratch_engine.begin() as connection:
        connection.execute(
            text("INSERT INTO organizations (id, name) VALUES ('org_1', 'One'), ('org_2', 'Two')")
        )
        connection.execute(
            text(
                "INSERT INTO onboarding_state (organization_id, checklist_progress)"
                " VALUES ('org_1', CAST(:progress AS jsonb)), ('org_2', '{}')"
            ),
            {"progress": progress},
        )
    run(scratch_engine, "upgrade", "head")
    with scratch_engine.connect() as connection:
        counts: dict[str, int] = dict(
            connection.execute(
                text("SELECT organization_id, checklist_completed_count FROM onboarding_state")
            ).all()
        )
    assert counts == {"org_1": 2, "org_2": 0}  # "x" is no active task
    run(scratch_engine, "downgrade", "0005_outbox")
    columns = {column["name"] for column in inspect(scratch_engine).get_columns("onboarding_state")}
    assert "checklist_completed_count" not in columns
    run(scratch_engine, "upgrade", "head")


# --- 0008: onboarding_metric partitioned by month, on a populated table ---

CLIENT_EVENT = uuid.UUID("6f1c9a1e-1d2b-4c3d-8e4f-5a6b7c8d9e0f")
FILL_METRICS = """
INSERT INTO organizations (id, name) VALUES ('org_a', 'A') ON CONFLICT DO NOTHING;
INSERT INTO onboarding_state (organization_id) VALUES ('org_a') ON CONFLICT DO NOTHING;
INSERT INTO onboarding_metric (organization_id, event_type, client_event_id, timestamp)
SELECT 'org_a', 'view_reports', CASE WHEN g = 1 THEN CAST(:client_event AS uuid) END,
       now() - make_interval(days => mod(g, 700))
FROM generate_series(1, :rows) AS g
"""


def fill_metrics(engine: Engine, rows: int = 300) -> None:
    with engine.begin() as connection:
        for statement in FILL_METRICS.split(";"):
            connection.execute(text(statement), {"rows": rows, "client_event": str(CLIENT_EVENT)})


def metric_count(engine: Engine, table: str = "onboarding_metric") -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def partition_bounds(engine: Engine) -> dict[str, tuple[datetime | None, datetime | None]]:
    with engine.connect() as connection:
        return {p.name: (p.lower, p.upper) for p in metric_partitions.partitions(connection)}


def resend(engine: Engine, event_id: uuid.UUID, at: datetime) -> client_metrics.IngestResult:
    """The client ingestion's statement, for one event (validation bypassed: the stored copy is old)."""
    event = client_metrics.ClientMetricEvent.model_construct(
        event_id=event_id,
        event_type="view_reports",
        timestamp=at,
        event_data={},
        session_id=None,
        wizard_step_reached=None,
        step_duration_seconds=None,
    )
    with Session(engine) as session, session.begin():
        batch = client_metrics.MetricBatch.model_construct(events=[event])
        return client_metrics.ingest(session, "org_a", batch, None)


def test_a_populated_table_becomes_the_legacy_partition_without_losing_a_row(scratch_engine: Engine) -> None:
    run(scratch_engine, "upgrade", "0005_outbox")
    fill_metrics(scratch_engine)
    run(scratch_engine, "upgrade", "head")
    bounds = partition_bounds(scratch_engine)
    legacy_upper = bounds[metric_partitions.LEGACY][1]
    assert bounds[metric_partitions.LEGACY][0] is None and legacy_upper is not None
    assert legacy_upper > datetime.now(UTC) + timedelta(days=1)  # no existing row can be past it
    # The months from the boundary on have partitions of their own, and a default catches the rest.
    assert bounds[metric_partitions.partition_name(legacy_upper)] == (
        legacy_upper,
        month_start(legacy_upper, 1),
    )
    assert metric_partitions.DEFAULT in bounds
    assert metric_count(scratch_engine, metric_partitions.LEGACY) == metric_count(scratch_engine) == 300
    # Idempotency holds across the change: a resend of an event stored before it, another timestamp.
    with scratch_engine.connect() as connection:
        first = connection.execute(
            text("SELECT timestamp FROM onboarding_metric WHERE client_event_id = :e"), {"e": CLIENT_EVENT}
        ).scalar_one()
    assert resend(scratch_engine, CLIENT_EVENT, first + timedelta(hours=2)).duplicates == 1


def test_a_prepared_table_is_attached_with_the_indexes_and_bound_built_beforehand(
    scratch_engine: Engine,
) -> None:
    run(scratch_engine, "upgrade", "0005_outbox")
    fill_metrics(scratch_engine)
    prepared = metric_partitions.prepare(scratch_engine, datetime.now(UTC), statement_timeout_ms=60_000)
    with scratch_engine.connect() as connection:
        built = connection.execute(
            text("SELECT to_regclass(:a)::oid, to_regclass(:b)::oid"),
            {"a": metric_partitions.LEGACY_PRIMARY_KEY, "b": metric_partitions.LEGACY_CLIENT_EVENT_KEY},
        ).one()
    run(scratch_engine, "upgrade", "head")
    with scratch_engine.connect() as connection:
        keys = (
            connection.execute(
                text(
                    "SELECT indexrelid FROM pg_index WHERE indrelid = to_regclass(:legacy)"
                    " AND (indisprimary OR indisunique) ORDER BY indisprimary DESC"
                ),
                {"legacy": metric_partitions.LEGACY},
            )
            .scalars()
            .all()
        )
    assert list(keys) == list(built)  # the same indexes: nothing was built under the upgrade's locks
    assert partition_bounds(scratch_engine)[metric_partitions.LEGACY][1] == datetime.fromisoformat(
        str(prepared["boundary"])
    )
    assert metric_count(scratch_engine) == 300


def test_downgrade_puts_every_row_back_including_the_archive_then_upgrade_again(
    scratch_engine: Engine,
) -> None:
    run(scratch_engine, "upgrade", "0005_outbox")
    fill_metrics(scratch_engine)
    run(scratch_engine, "upgrade", "head")
    legacy_upper = partition_bounds(scratch_engine)[metric_partitions.LEGACY][1]
    assert legacy_upper is not None
    limits = metric_partitions.Limits(
        lock_timeout_ms=2000, statement_timeout_ms=60_000, remaining_ms=lambda: 10**9, reserve_ms=0
    )
    report = metric_partitions.maintain(scratch_engine, month_start(legacy_upper, 12), limits)
    assert report.partitions_archived == [metric_partitions.LEGACY]
    assert metric_count(scratch_engine, "onboarding_metric_archive") == 300

    run(scratch_engine, "downgrade", "0005_outbox")
    assert "onboarding_metric_archive" not in tables(scratch_engine)
    assert metric_count(scratch_engine) == 300
    with scratch_engine.connect() as connection:
        unique = connection.execute(
            text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'uq_metric_org_client_event'"
            )
        ).scalar_one()
    assert unique == "UNIQUE (organization_id, client_event_id)"

    run(scratch_engine, "upgrade", "head")
    assert metric_count(scratch_engine) == 300
    assert metric_partitions.LEGACY in partition_bounds(scratch_engine)


ROW_DIGEST = "SELECT md5(string_agg(m::text, ',' ORDER BY m.id)) FROM ({rows}) AS m {where}"
EVERY_METRIC = (
    "SELECT * FROM onboarding_metric UNION ALL SELECT * FROM onboarding_metric_archive"
    " UNION ALL SELECT * FROM {detached}"
)


def metric_schema(engine: Engine) -> list[str]:
    """onboarding_metric's columns, constraints and indexes, as PostgreSQL describes them."""
    with engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT 'column ' || attname || ' ' || format_type(atttypid, atttypmod) || ' '"
                    "       || attnotnull || ' ' || coalesce(pg_get_expr(adbin, adrelid), '')"
                    " FROM pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum"
                    " WHERE attrelid = 'onboarding_metric'::regclass AND attnum > 0 AND NOT attisdropped"
                    " UNION ALL SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid)"
                    " FROM pg_constraint WHERE conrelid = 'onboarding_metric'::regclass"
                    " AND contype <> 'n'"  # PostgreSQL 18's NOT NULL entries: attnotnull above
                    " UNION ALL SELECT 'index ' || pg_get_indexdef(indexrelid) FROM pg_index"
                    " WHERE indrelid = 'onboarding_metric'::regclass ORDER BY 1"
                )
            ).scalars()
        )


def test_downgrade_is_set_based_keeps_every_row_and_the_oldest_copy_of_a_client_event(
    scratch_engine: Engine,
) -> None:
    run(scratch_engine, "upgrade", "0007_checklist_count")
    plain_schema = metric_schema(scratch_engine)
    run(scratch_engine, "upgrade", "head")
    fill_metrics(scratch_engine)  # 300 rows over two years, one with CLIENT_EVENT (a day ago)
    other_event = uuid.uuid4()
    now = datetime.now(UTC)
    with scratch_engine.begin() as connection:
        # A resend of CLIENT_EVENT stored twice more by concurrent batches, in two other months; another
        # event stored once in the archive and again in a live month.
        copies = [
            ("metric_x_older", CLIENT_EVENT, now - timedelta(days=45), "onboarding_metric"),
            ("metric_x_newer", CLIENT_EVENT, now, "onboarding_metric"),
            ("metric_y_archived", other_event, now - timedelta(days=430), "onboarding_metric_archive"),
            ("metric_y_live", other_event, now - timedelta(days=3), "onboarding_metric"),
        ]
        for metric_id, event, at, table in copies:
            connection.execute(
                text(
                    f"INSERT INTO {table} (id, organization_id, event_type, client_event_id, timestamp)"
                    " VALUES (:id, 'org_a', 'view_reports', :event, :at)"
                ),
                {"id": metric_id, "event": str(event), "at": at},
            )
        # A month a stopped maintenance run (of the version that detached first) left detached.
        detached_month = month_start(now, -5)
        metric_partitions.create_month_partition(connection, detached_month)
        detached = metric_partitions.partition_name(detached_month)
        connection.execute(text(f"ALTER TABLE onboarding_metric DETACH PARTITION {detached}"))
        connection.execute(text(f"COMMENT ON TABLE {detached} IS '{metric_partitions.DETACHED_COMMENT}'"))
        first_x = connection.execute(
            text("SELECT id FROM onboarding_metric WHERE client_event_id = :e AND id NOT LIKE 'metric_x_%'"),
            {"e": str(CLIENT_EVENT)},
        ).scalar_one()
        in_detached = int(connection.execute(text(f"SELECT count(*) FROM {detached}")).scalar_one())
        dropped = ("metric_x_newer", first_x, "metric_y_live")  # every copy but the oldest
        kept_digest = connection.execute(
            text(
                ROW_DIGEST.format(rows=EVERY_METRIC.format(detached=detached), where="WHERE m.id <> ALL(:d)")
            ),
            {"d": list(dropped)},
        ).scalar_one()
    assert in_detached > 0
    total = (
        metric_count(scratch_engine) + metric_count(scratch_engine, "onboarding_metric_archive") + in_detached
    )
    assert total == 304

    run(scratch_engine, "downgrade", "0007_checklist_count")
    assert metric_schema(scratch_engine) == plain_schema  # the plain table of 0002/0004, as it was
    assert not {"onboarding_metric_archive", detached} & tables(scratch_engine)
    assert metric_count(scratch_engine) == 301
    with scratch_engine.connect() as connection:
        kept: dict[uuid.UUID, str] = dict(
            connection.execute(
                text("SELECT client_event_id, id FROM onboarding_metric WHERE client_event_id IS NOT NULL")
            ).all()
        )
        digest = connection.execute(
            text(ROW_DIGEST.format(rows="SELECT * FROM onboarding_metric", where=""))
        ).scalar_one()
    assert kept == {CLIENT_EVENT: "metric_x_older", other_event: "metric_y_archived"}
    assert digest == kept_digest  # every other row back, every column as it was

    run(scratch_engine, "upgrade", "head")
    assert metric_count(scratch_engine) == 301
    assert metric_count(scratch_engine, metric_partitions.LEGACY) == 301


# --- 0010: the sample data's size stored, step data timestamps in UTC ---


def test_0010_stores_the_sample_data_size_and_rewrites_stored_timestamps_in_utc(
    scratch_engine: Engine,
) -> None:
    # Rows as the previous version wrote them: `+00:00` and the client's own offset in the step data,
    # no size column (read back from the latest sample_data_generated metric).
    run(scratch_engine, "upgrade", "0009_metric_quota")
    step_data = {
        "step_1": {"timezone": "America/Toronto", "completed_at": "2026-11-20T14:03:07.118233+00:00"},
        "step_2": {
            "event_title": "Sunday Service",
            "event_datetime": "2026-12-06T09:30:00-05:00",
            "completed_at": "2026-11-20T14:05:00+00:00",
            "updated_at": "2026-11-21T08:00:00.5+01:00",
        },
        "step_3": "not an object",
    }
    with scratch_engine.begin() as connection:
        connection.execute(
            text("INSERT INTO organizations (id, name) VALUES ('org_1', 'One'), ('org_2', 'Two')")
        )
        connection.execute(
            text(
                "INSERT INTO onboarding_state (organization_id, wizard_step_data, sample_data_generated,"
                " sample_data_generated_at, sample_data_expiry)"
                " VALUES ('org_1', CAST(:data AS jsonb), true, now(), now() + interval '30 days'),"
                " ('org_2', '{}', false, NULL, NULL)"
            ),
            {"data": json.dumps(step_data)},
        )
        connection.execute(
            text(
                "INSERT INTO onboarding_metric (organization_id, event_type, event_data, timestamp) VALUES"
                " ('org_1', 'sample_data_generated', '{\"size\": \"minimal\"}', now() - interval '2 days'),"
                " ('org_1', 'sample_data_generated', '{\"size\": \"comprehensive\"}', now() - interval '1 day')"
            )
        )
    run(scratch_engine, "upgrade", "0010_consistent_api")
    with scratch_engine.connect() as connection:
        rows: dict[str, str | None] = dict(
            connection.execute(
                text("SELECT organization_id, sample_data_size FROM onboarding_state ORDER BY 1")
            ).all()
        )
        stored = connection.execute(
            text("SELECT wizard_step_data FROM onboarding_state WHERE organization_id = 'org_1'")
        ).scalar_one()
    assert rows == {"org_1": "comprehensive", "org_2": None}
    assert stored == {
        "step_1": {"timezone": "America/Toronto", "completed_at": "2026-11-20T14:03:07.118233Z"},
        "step_2": {
            "event_title": "Sunday Service",
            "event_datetime": "2026-12-06T14:30:00Z",
            "completed_at": "2026-11-20T14:05:00Z",
            "updated_at": "2026-11-21T07:00:00.500000Z",
        },
        "step_3": "not an object",
    }
    run(scratch_engine, "downgrade", "0009_metric_quota")
    columns = {column["name"] for column in inspect(scratch_engine).get_columns("onboarding_state")}
    assert "sample_data_size" not in columns


def test_the_sample_data_size_is_one_of_the_three_sizes(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO organizations (id, name) VALUES ('org_size', 'Size')"))
    insert = "INSERT INTO onboarding_state (organization_id, sample_data_size) VALUES ('org_size', 'huge')"
    with (
        pytest.raises(DBAPIError, match="ck_onboarding_state_sample_data_size_known"),
        engine.begin() as connection,
    ):
        connection.execute(text(insert))


# --- 0012: the report views' rollup ---


def test_0012_backfills_the_report_views_and_downgrades(scratch_engine: Engine) -> None:
    run(scratch_engine, "upgrade", "0010_consistent_api")
    with scratch_engine.begin() as connection:
        connection.execute(text("INSERT INTO organizations (id, name) VALUES ('org_a', 'A'), ('org_b', 'B')"))
        # 14 report views over two years (the default partition and the monthly ones), other events.
        connection.execute(
            text(
                "INSERT INTO onboarding_metric (organization_id, event_type, timestamp)"
                " SELECT 'org_a', kind, now() - make_interval(days => g * 50)"
                " FROM generate_series(0, 13) AS g, (VALUES ('view_reports'), ('wizard_started')) AS k(kind)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO onboarding_metric (organization_id, event_type) VALUES ('org_b', 'wizard_started')"
            )
        )
        # A report view the nightly maintenance already archived (older than every one above).
        connection.execute(
            text(
                "INSERT INTO onboarding_metric_archive (organization_id, event_type, timestamp)"
                " VALUES ('org_a', 'view_reports', now() - interval '800 days')"
            )
        )

    def rollup() -> dict[str, tuple[int, list[datetime]]]:
        with scratch_engine.connect() as connection:
            rows = connection.execute(
                text("SELECT organization_id, events, first_at FROM onboarding_report_views")
            )
            return {org: (events, list(first_at)) for org, events, first_at in rows}

    def expected() -> tuple[int, list[datetime]]:
        with scratch_engine.connect() as connection:
            times = (
                connection.execute(
                    text(
                        "SELECT timestamp FROM onboarding_metric"
                        " WHERE organization_id = 'org_a' AND event_type = 'view_reports'"
                        " UNION ALL SELECT timestamp FROM onboarding_metric_archive"
                        " WHERE organization_id = 'org_a' AND event_type = 'view_reports' ORDER BY timestamp"
                    )
                )
                .scalars()
                .all()
            )
        return len(times), list(times[:10])

    run(scratch_engine, "upgrade", "head")
    assert rollup() == {"org_a": expected()} and expected()[0] == 15
    run(scratch_engine, "downgrade", "0010_consistent_api")
    assert "onboarding_report_views" not in tables(scratch_engine)
    with scratch_engine.begin() as connection:  # the trigger went with the table
        connection.execute(
            text(
                "INSERT INTO onboarding_metric (organization_id, event_type) VALUES ('org_a', 'view_reports')"
            )
        )
    run(scratch_engine, "upgrade", "head")
    assert rollup() == {"org_a": expected()} and expected()[0] == 16


# --- 0013: the ingest's keys of client event ids ---


def event_keys(engine: Engine) -> dict[tuple[str, uuid.UUID], datetime]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT organization_id, client_event_id, timestamp FROM onboarding_metric_event_key")
        )
        return {(org, event_id): at for org, event_id, at in rows}


def test_0013_backfills_a_key_per_event_stored_within_the_resend_window_and_downgrades(
    scratch_engine: Engine,
) -> None:
    run(scratch_engine, "upgrade", "0012_report_views")
    recent, twice, old = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    rows = [
        ("org_a", recent, now - timedelta(days=2)),
        ("org_b", recent, now - timedelta(days=13)),  # the same id in another organization
        # A resend stored twice (with another timestamp, before this migration): the earliest copy.
        ("org_a", twice, now - timedelta(days=1)),
        ("org_a", twice, now - timedelta(hours=2)),
        ("org_a", old, now - RESENT_BEFORE - timedelta(minutes=1)),  # outside the window
        ("org_a", None, now),  # service-emitted: no client event id
    ]
    with scratch_engine.begin() as connection:
        connection.execute(text("INSERT INTO organizations (id, name) VALUES ('org_a', 'A'), ('org_b', 'B')"))
        connection.execute(text("INSERT INTO onboarding_state (organization_id) VALUES ('org_a')"))
        for org, event_id, at in rows:
            connection.execute(
                text(
                    "INSERT INTO onboarding_metric (organization_id, event_type, client_event_id, timestamp)"
                    " VALUES (:org, 'view_reports', :event_id, :at)"
                ),
                {"org": org, "event_id": event_id, "at": at},
            )
    expected = {("org_a", recent): rows[0][2], ("org_b", recent): rows[1][2], ("org_a", twice): rows[2][2]}
    run(scratch_engine, "upgrade", "head")
    assert event_keys(scratch_engine) == expected
    # Stored before the migration, resent re-stamped after it: still a duplicate.
    assert resend(scratch_engine, twice, now).model_dump() == {"accepted": 0, "duplicates": 1}
    run(scratch_engine, "downgrade", "0012_report_views")
    assert "onboarding_metric_event_key" not in tables(scratch_engine)
    run(scratch_engine, "upgrade", "head")
    assert event_keys(scratch_engine) == expected


def test_0013s_window_is_the_ingests() -> None:
    path = Path(__file__).resolve().parent.parent / "migrations" / "versions" / "0013_metric_event_keys.py"
    spec = importlib.util.spec_from_file_location("metric_event_keys_migration", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    days, _, minutes, _ = migration.RESENT_BEFORE.split()
    assert timedelta(days=int(days), minutes=int(minutes)) == RESENT_BEFORE
