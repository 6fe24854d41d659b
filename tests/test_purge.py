"""The nightly purge through its real handler, with EventBridge Scheduler events, on the real database."""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from functions.onboarding.app import lambda_handler as onboarding_handler
from functions.purge.app import lambda_handler as purge_handler
from onboarding import container, publisher, purge
from onboarding.models import (
    Event,
    EventAssignment,
    OnboardingMetric,
    OnboardingState,
    OutboxEvent,
    Person,
    Team,
)
from tests.aws_capture import BUS, EventCapture, use_bus
from tests.concurrency import run_together
from tests.fixtures import admin_claims
from tests.host_rows import add_real_rows
from tests.sql_statements import recorded_statements
from tools.lambda_events import EVENTS_DIR, LocalLambdaContext

CUTOFF = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)


@dataclass
class ScriptedContext(LocalLambdaContext):
    """A Lambda context whose remaining time follows a script (the last value repeats)."""

    remaining: list[int] = field(default_factory=lambda: [900_000])
    crash_on_call: int | None = None
    calls: int = 0

    def get_remaining_time_in_millis(self) -> int:
        self.calls += 1
        if self.crash_on_call == self.calls:
            raise RuntimeError("the function was stopped (simulated crash)")
        return self.remaining[min(self.calls, len(self.remaining)) - 1]


def scheduled_event(at: datetime = CUTOFF) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / "purge_scheduled.json").read_text())
    event["time"] = at.isoformat().replace("+00:00", "Z")
    return event


def run_purge(at: datetime = CUTOFF, context: LocalLambdaContext | None = None):
    return purge_handler(scheduled_event(at), context or ScriptedContext())


@pytest.fixture
def batch_size(monkeypatch) -> Iterator[Callable[[int], None]]:
    def set_size(size: int) -> None:
        monkeypatch.setenv("PURGE_BATCH_SIZE", str(size))
        container.reset()

    yield set_size
    monkeypatch.undo()
    container.reset()


@pytest.fixture
def with_sample_data(call, make_org, db) -> Callable[..., str]:
    """An organization with minimal sample data expiring at `expires` (or just before the cutoff)."""
    api = call(onboarding_handler)

    def create(org_id: str, expires: datetime = CUTOFF - timedelta(days=1)) -> str:
        make_org(org_id)
        api("POST", "/v1/onboarding", claims=admin_claims(org_id))
        response = api(
            "POST", "/v1/onboarding/sample-data", claims=admin_claims(org_id), body={"size": "minimal"}
        )
        assert response.status == 201
        db.execute(
            update(OnboardingState)
            .where(OnboardingState.organization_id == org_id)
            .values(sample_data_expiry=expires, sample_data_generated_at=expires - timedelta(days=30))
        )
        db.commit()
        return org_id

    return create


def has_sample_data(db: Session, org_id: str) -> bool:
    db.expire_all()
    state = db.scalars(select(OnboardingState).where(OnboardingState.organization_id == org_id)).one()
    rows = db.scalar(select(func.count()).where(Person.org_id == org_id, Person.is_sample.is_(True)))
    assert state.sample_data_generated is bool(rows), "flags and tables disagree"
    return state.sample_data_generated


def cleared_metrics(db: Session) -> list[OnboardingMetric]:
    db.expire_all()
    return list(
        db.scalars(select(OnboardingMetric).where(OnboardingMetric.event_type == "sample_data_cleared"))
    )


# --- What is purged ---


def test_only_sample_data_that_expired_before_the_scheduled_time_is_purged(with_sample_data, db) -> None:
    with_sample_data("org_before", CUTOFF - timedelta(microseconds=1))
    with_sample_data("org_at", CUTOFF)
    with_sample_data("org_after", CUTOFF + timedelta(seconds=1))
    report = run_purge(CUTOFF)
    assert report["organizations_purged"] == 1
    assert not has_sample_data(db, "org_before")
    assert has_sample_data(db, "org_at")
    assert has_sample_data(db, "org_after")


def test_the_cutoff_is_the_scheduled_time_not_the_clock(with_sample_data, db) -> None:
    scheduled = datetime.now(UTC) - timedelta(hours=6)  # a late delivery or a retry of last night's run
    with_sample_data("org_expired_before_schedule", scheduled - timedelta(hours=1))
    with_sample_data("org_expired_since", scheduled + timedelta(hours=1))  # already past by the clock
    run_purge(scheduled)
    assert not has_sample_data(db, "org_expired_before_schedule")
    assert has_sample_data(db, "org_expired_since")


def test_purged_organizations_lose_every_sample_row_and_their_flags_reset(with_sample_data, db) -> None:
    with_sample_data("org_a")
    report = run_purge()
    assert report["rows_deleted"] == {"events": 2, "teams": 1, "volunteers": 5, "assignments": 10}
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Event)) == 0
    assert db.scalar(select(func.count()).select_from(Team)) == 0
    assert db.scalar(select(func.count()).select_from(EventAssignment)) == 0
    state = db.scalars(select(OnboardingState)).one()
    assert (state.sample_data_generated, state.sample_data_cleared, state.sample_data_expiry) == (
        False,
        True,
        None,
    )


def test_each_purged_organization_gets_a_sample_data_cleared_metric(with_sample_data, db) -> None:
    with_sample_data("org_a")
    with_sample_data("org_b")
    run_purge()
    metrics = {m.organization_id: m.event_data for m in cleared_metrics(db)}
    assert set(metrics) == {"org_a", "org_b"}
    assert metrics["org_a"]["reason"] == "expired"
    assert metrics["org_a"]["counts"] == {"events": 2, "teams": 1, "volunteers": 5, "assignments": 10}
    assert 30 < metrics["org_a"]["data_age_days"] < 33


def test_real_rows_are_never_touched(with_sample_data, make_org, db) -> None:
    with_sample_data("org_a")
    add_real_rows(db, "org_a", events=3, volunteers=4, assignments=6, teams=2)
    make_org("org_real_only")
    add_real_rows(db, "org_real_only", events=2, volunteers=2)
    run_purge()
    db.expire_all()
    assert db.scalar(select(func.count()).where(Event.is_sample.is_(False))) == 5
    assert db.scalar(select(func.count()).where(Person.is_sample.is_(False))) == 6
    assert db.scalar(select(func.count()).where(Team.is_sample.is_(False))) == 2
    assert db.scalar(select(func.count()).select_from(EventAssignment)) == 6
    assert db.scalar(select(func.count()).where(Event.is_sample.is_(True))) == 0


def test_organizations_in_several_batches_are_all_purged(with_sample_data, batch_size, db) -> None:
    batch_size(2)
    orgs = [with_sample_data(f"org_{n}") for n in range(5)]
    report = run_purge()
    assert report["batches"] == 3
    assert report["organizations_purged"] == 5
    assert not any(has_sample_data(db, org) for org in orgs)


# --- At-least-once delivery ---


def test_running_twice_purges_nothing_more(with_sample_data, db) -> None:
    with_sample_data("org_a")
    first = run_purge()
    second = run_purge()
    assert first["organizations_purged"] == 1
    assert second["organizations_purged"] == 0
    assert second["rows_deleted"] == {"events": 0, "teams": 0, "volunteers": 0, "assignments": 0}
    assert len(cleared_metrics(db)) == 1


def test_concurrent_runs_purge_each_organization_exactly_once(with_sample_data, db) -> None:
    orgs = [with_sample_data(f"org_{n:02}") for n in range(12)]

    def run() -> purge.PurgeReport:
        return purge.purge_expired_sample_data(
            CUTOFF, batch_size=2, remaining_ms=lambda: 900_000, reserve_ms=20_000
        )

    reports = run_together([run, run, run])
    assert sum(r.organizations_purged for r in reports) == 12
    assert sum(r.rows_deleted.volunteers for r in reports) == 12 * 5
    assert sorted(m.organization_id for m in cleared_metrics(db)) == orgs
    assert not any(has_sample_data(db, org) for org in orgs)


def test_an_organization_locked_by_another_transaction_is_skipped_not_waited_for(
    with_sample_data, engine, db
) -> None:
    with_sample_data("org_busy")
    with_sample_data("org_free")
    with Session(engine) as other:  # say, the user pressing "delete sample data" right now
        other.execute(
            select(OnboardingState).where(OnboardingState.organization_id == "org_busy").with_for_update()
        )
        report = run_purge()
        other.rollback()
    assert report["organizations_purged"] == 1
    assert has_sample_data(db, "org_busy")
    assert not has_sample_data(db, "org_free")
    assert run_purge()["organizations_purged"] == 1
    assert not has_sample_data(db, "org_busy")


@pytest.mark.filterwarnings("ignore:No application metrics to publish")  # the crash comes before them
def test_a_crash_between_batches_keeps_the_finished_batch_and_a_rerun_does_the_rest(
    with_sample_data, batch_size, db
) -> None:
    batch_size(2)
    orgs = [with_sample_data(f"org_{n}") for n in range(5)]
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_purge(context=ScriptedContext(crash_on_call=2))
    assert [has_sample_data(db, org) for org in orgs] == [False, False, True, True, True]
    report = run_purge()
    assert report["organizations_purged"] == 3
    assert not any(has_sample_data(db, org) for org in orgs)
    assert sorted(m.organization_id for m in cleared_metrics(db)) == orgs


# --- Bounded by the Lambda time limit ---


def test_it_stops_before_the_time_limit_and_leaves_the_rest_for_the_next_run(
    with_sample_data, batch_size, db
) -> None:
    batch_size(2)
    orgs = [with_sample_data(f"org_{n}") for n in range(5)]
    # Plenty of time for two batches, then less than the reserve (20 s by default) is left.
    report = run_purge(context=ScriptedContext(remaining=[900_000, 900_000, 19_999]))
    assert report["stopped_early"] is True
    assert report["organizations_purged"] == 4
    assert report["organizations_remaining"] == 1
    assert [has_sample_data(db, org) for org in orgs] == [False, False, False, False, True]


def test_with_too_little_time_left_it_purges_nothing(with_sample_data, db) -> None:
    with_sample_data("org_a")
    report = run_purge(context=ScriptedContext(remaining=[5_000]))
    assert (report["stopped_early"], report["organizations_purged"], report["batches"]) == (True, 0, 0)
    assert report["organizations_remaining"] == 1
    assert has_sample_data(db, "org_a")


# --- A row that cannot be deleted ---


@pytest.fixture
def non_cascading_host_table(engine, db) -> Iterator[None]:
    """A host table referencing people without ON DELETE CASCADE (SignUpFlow's schema may have such)."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE volunteer_notes (id serial PRIMARY KEY, person_id varchar(50) REFERENCES people(id))"
            )
        )
    yield
    db.rollback()  # the checking session's open transaction would block the DROP
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE volunteer_notes"))


def test_an_organization_whose_rows_cannot_be_deleted_does_not_hold_up_the_others(
    with_sample_data, non_cascading_host_table, batch_size, db
) -> None:
    batch_size(10)
    orgs = [with_sample_data(f"org_{n}") for n in range(4)]
    stuck_person = db.scalars(
        select(Person.id).where(Person.org_id == "org_1", Person.is_sample.is_(True))
    ).first()
    db.execute(text("INSERT INTO volunteer_notes (person_id) VALUES (:p)"), {"p": stuck_person})
    db.commit()
    with pytest.raises(purge.PurgeIncomplete):
        run_purge()
    assert [has_sample_data(db, org) for org in orgs] == [False, True, False, False]
    assert sorted(m.organization_id for m in cleared_metrics(db)) == ["org_0", "org_2", "org_3"]


# --- The event and what the function reports ---


def test_the_event_file_runs_the_purge_with_its_scheduled_time(with_sample_data) -> None:
    event = json.loads((EVENTS_DIR / "purge_scheduled.json").read_text())
    report = purge_handler(event, ScriptedContext())
    assert datetime.fromisoformat(report["cutoff"]) == datetime.fromisoformat(event["time"])


@pytest.mark.parametrize(
    "change",
    [{"time": None}, {"time": "last night"}, {"time": "2026-11-24T03:00:00"}, {"time": 1795489200}],
    ids=["missing", "not-a-time", "no-time-zone", "number"],
)
def test_an_event_without_a_usable_scheduled_time_is_rejected(with_sample_data, db, change) -> None:
    with_sample_data("org_a")
    event = {**scheduled_event(), **change}
    if change["time"] is None:
        del event["time"]
    with pytest.raises(purge.InvalidScheduledEvent):
        purge_handler(event, ScriptedContext())
    assert has_sample_data(db, "org_a")


def test_a_scheduled_time_in_the_future_is_rejected(with_sample_data, db) -> None:
    with_sample_data("org_a", datetime.now(UTC) + timedelta(days=2))
    with pytest.raises(purge.InvalidScheduledEvent):
        run_purge(datetime.now(UTC) + timedelta(days=3))
    assert has_sample_data(db, "org_a")


def test_counts_are_published_as_cloudwatch_embedded_metrics(with_sample_data, capsys) -> None:
    with_sample_data("org_a")
    with_sample_data("org_b")
    capsys.readouterr()
    run_purge()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    (emf,) = lines
    assert emf["OrganizationsPurged"] == [2.0]
    assert emf["SampleVolunteersDeleted"] == [10.0]
    assert emf["SampleAssignmentsDeleted"] == [20.0]
    assert emf["OrganizationsRemaining"] == [0.0]
    names = {m["Name"] for d in emf["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"OrganizationsPurged", "OrganizationsFailed", "PurgeStoppedEarly"} <= names


# --- SampleDataCleared events (reason: expired) ---


def cleared_events(bus: EventCapture) -> list[dict[str, Any]]:
    return [event for event in bus.received() if event["detail-type"] == "SampleDataCleared"]


def outbox_rows(db: Session) -> list[OutboxEvent]:
    db.expire_all()
    return list(db.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "SampleDataCleared")))


def test_each_purged_organization_gets_one_sample_data_cleared_event(with_sample_data, bus, db) -> None:
    with_sample_data("org_a")
    with_sample_data("org_b")

    report = run_purge()

    events = {event["detail"]["organization_id"]: event["detail"] for event in cleared_events(bus)}
    assert set(events) == {"org_a", "org_b"}
    assert events["org_a"]["reason"] == "expired"
    assert events["org_a"]["counts"] == {"events": 2, "teams": 1, "volunteers": 5, "assignments": 10}
    state = db.scalars(select(OnboardingState).where(OnboardingState.organization_id == "org_a")).one()
    assert datetime.fromisoformat(events["org_a"]["cleared_at"]) == state.updated_at
    assert report["events_published"] == 2


def test_each_batch_writes_its_events_in_one_statement(with_sample_data, batch_size, db) -> None:
    batch_size(2)
    for n in range(3):
        with_sample_data(f"org_{n}")

    with recorded_statements() as statements:
        run_purge()

    assert sum(s.startswith("INSERT INTO onboarding_outbox") for s in statements) == 2
    assert sorted(row.organization_id for row in outbox_rows(db)) == ["org_0", "org_1", "org_2"]


@pytest.mark.filterwarnings("ignore:No application metrics to publish")  # the crash comes before them
def test_a_batchs_events_are_published_as_soon_as_the_batch_commits(
    with_sample_data, batch_size, bus, db
) -> None:
    batch_size(2)
    for n in range(3):
        with_sample_data(f"org_{n}")

    with pytest.raises(RuntimeError, match="simulated crash"):
        run_purge(context=ScriptedContext(crash_on_call=2))  # after the first batch

    assert sorted(event["detail"]["organization_id"] for event in cleared_events(bus)) == ["org_0", "org_1"]


def test_running_twice_publishes_each_clear_once(with_sample_data, bus) -> None:
    with_sample_data("org_a")

    run_purge()
    run_purge()

    assert [event["detail"]["organization_id"] for event in cleared_events(bus)] == ["org_a"]


def test_an_organization_the_purge_could_not_clear_gets_no_event(
    with_sample_data, non_cascading_host_table, batch_size, bus, db
) -> None:
    batch_size(10)
    for n in range(3):
        with_sample_data(f"org_{n}")
    stuck_person = db.scalars(
        select(Person.id).where(Person.org_id == "org_1", Person.is_sample.is_(True))
    ).first()
    db.execute(text("INSERT INTO volunteer_notes (person_id) VALUES (:p)"), {"p": stuck_person})
    db.commit()

    with pytest.raises(purge.PurgeIncomplete):
        run_purge()

    assert sorted(event["detail"]["organization_id"] for event in cleared_events(bus)) == ["org_0", "org_2"]
    assert sorted(row.organization_id for row in outbox_rows(db)) == ["org_0", "org_2"]


def test_when_eventbridge_fails_the_purge_goes_on_and_the_publisher_sends_the_events(
    with_sample_data, batch_size, bus, db, monkeypatch
) -> None:
    batch_size(2)
    for n in range(5):
        with_sample_data(f"org_{n}")
    use_bus(monkeypatch, "no-such-bus")

    report = run_purge()

    assert (report["organizations_purged"], report["events_published"]) == (5, 0)
    # Only the first batch tried EventBridge; the later ones left their events to the publisher.
    assert sorted(row.attempts for row in outbox_rows(db)) == [0, 0, 0, 1, 1]
    use_bus(monkeypatch, BUS)
    publisher.publish_pending()
    assert sorted(event["detail"]["organization_id"] for event in cleared_events(bus)) == [
        f"org_{n}" for n in range(5)
    ]
    assert all(row.sent_at is not None for row in outbox_rows(db))
