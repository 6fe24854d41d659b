"""Sample data through the real handler: generate, status, delete, extend; sizes, dates, isolation."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from onboarding import db as service_db
from onboarding.models import Event, EventAssignment, OnboardingMetric, OnboardingState, Person, Team
from onboarding.sample_data import SIZES, SampleSize, build_sample_rows, delete_sample_rows
from tests.concurrency import fresh_handler, run_together
from tests.fixtures import admin_claims
from tests.host_rows import add_real_rows
from tests.wizard_steps import complete_steps, step_body
from tools.lambda_events import http_api_event, local_context

SAMPLE = "/v1/onboarding/sample-data"


def generate(api, org_id: str, **body):
    return api("POST", SAMPLE, claims=admin_claims(org_id), body={"size": "standard", **body})


def scalar_count(db: Session, statement) -> int:
    return int(db.scalar(statement) or 0)


def sample_counts(db: Session, org_id: str) -> dict[str, int]:
    db.expire_all()
    sample_events = select(Event.id).where(Event.org_id == org_id, Event.is_sample.is_(True))
    sample_people = select(Person.id).where(Person.org_id == org_id, Person.is_sample.is_(True))
    return {
        "events": scalar_count(db, select(func.count()).select_from(sample_events.subquery())),
        "teams": scalar_count(
            db, select(func.count()).where(Team.org_id == org_id, Team.is_sample.is_(True))
        ),
        "volunteers": scalar_count(db, select(func.count()).select_from(sample_people.subquery())),
        "assignments": scalar_count(
            db,
            select(func.count()).where(
                EventAssignment.event_id.in_(sample_events) | EventAssignment.person_id.in_(sample_people)
            ),
        ),
    }


def real_counts(db: Session, org_id: str) -> tuple[int, int, int, int]:
    db.expire_all()
    return (
        scalar_count(db, select(func.count()).where(Event.org_id == org_id, Event.is_sample.is_(False))),
        scalar_count(db, select(func.count()).where(Person.org_id == org_id, Person.is_sample.is_(False))),
        scalar_count(db, select(func.count()).where(Team.org_id == org_id, Team.is_sample.is_(False))),
        scalar_count(
            db,
            select(func.count())
            .select_from(EventAssignment)
            .join(Event, Event.id == EventAssignment.event_id)
            .where(Event.org_id == org_id, Event.is_sample.is_(False)),
        ),
    )


def state_row(db: Session, org_id: str) -> OnboardingState:
    db.expire_all()
    return db.scalars(select(OnboardingState).where(OnboardingState.organization_id == org_id)).one()


def metrics_of(db: Session, event_type: str) -> list[OnboardingMetric]:
    db.expire_all()
    return list(db.scalars(select(OnboardingMetric).where(OnboardingMetric.event_type == event_type)))


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """SQL statements the service sends to the database while the test runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    engine = service_db.get_engine()
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


# --- Generating ---


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("minimal", {"events": 2, "teams": 1, "volunteers": 5, "assignments": 10}),
        ("standard", {"events": 5, "teams": 3, "volunteers": 15, "assignments": 45}),
        ("comprehensive", {"events": 10, "teams": 5, "volunteers": 30, "assignments": 150}),
    ],
)
def test_each_size_creates_the_contracts_rows(api, org, db, size, expected) -> None:
    response = generate(api, org, size=size)
    assert response.status == 201
    assert response.json["counts"] == expected
    assert sample_counts(db, org) == expected


def test_generating_reports_presence_and_expiry(api, org) -> None:
    body = generate(api, org).json
    assert body["present"] is True
    assert body["expired"] is False
    generated = datetime.fromisoformat(body["generated_at"])
    assert datetime.fromisoformat(body["expires_at"]) - generated == timedelta(days=30)


@pytest.mark.parametrize("days", [1, 90])
def test_expiry_days_sets_the_expiry(api, org, days) -> None:
    body = generate(api, org, expiry_days=days).json
    expiry = datetime.fromisoformat(body["expires_at"]) - datetime.fromisoformat(body["generated_at"])
    assert expiry == timedelta(days=days)


@pytest.mark.parametrize(
    "body",
    [
        {"size": "huge"},
        {"size": "standard", "expiry_days": 0},
        {"size": "standard", "expiry_days": 91},
        {"size": "standard", "expiry_days": "30"},
        {"size": "standard", "expiry_days": 30.5},
        {"size": "standard", "expiry_days": 10**40},
        {"size": "standard", "expiry_days": None},
        {"size": "standard", "extra": True},
        {"size": None},
        {},
    ],
)
def test_invalid_generation_requests_are_422_and_create_nothing(api, org, db, body) -> None:
    response = api("POST", SAMPLE, claims=admin_claims(org), body=body)
    assert response.status == 422
    assert response.json["error"]["code"] == "validation_error"
    assert sample_counts(db, org) == {"events": 0, "teams": 0, "volunteers": 0, "assignments": 0}


def test_concurrent_generation_creates_one_set_of_sample_data(api, org, db) -> None:
    def generate_in_own_container() -> int:
        event = http_api_event("POST", SAMPLE, body={"size": "minimal"}, claims=admin_claims(org))
        return int(fresh_handler()(event, local_context())["statusCode"])

    statuses = run_together([generate_in_own_container] * 6)
    assert sorted(statuses) == [201] + [409] * 5
    assert sample_counts(db, org) == {"events": 2, "teams": 1, "volunteers": 5, "assignments": 10}
    assert len(metrics_of(db, "sample_data_generated")) == 1


def test_generating_while_sample_data_exists_is_409_and_adds_nothing(api, org, db) -> None:
    generate(api, org, size="minimal")
    response = generate(api, org, size="comprehensive")
    assert response.status == 409
    assert response.json["error"]["code"] == "sample_data_exists"
    assert sample_counts(db, org)["events"] == 2


def test_sample_data_can_be_generated_again_after_deleting_it(api, org, db) -> None:
    generate(api, org, size="minimal")
    api("DELETE", SAMPLE, claims=admin_claims(org))
    assert generate(api, org, size="minimal").status == 201
    assert sample_counts(db, org)["volunteers"] == 5


def test_every_sample_row_is_flagged_and_volunteers_use_example_com(api, org, db) -> None:
    generate(api, org, size="comprehensive")
    db.expire_all()
    people = db.scalars(select(Person).where(Person.org_id == org)).all()
    assert len(people) == 30
    assert all(person.is_sample for person in people)
    assert all(person.email and person.email.endswith("@example.com") for person in people)
    assert all("volunteer" in json.loads(person.roles or "[]") for person in people)
    assert len({person.email for person in people}) == 30
    assert len({person.name for person in people}) == 30
    assert all(" " in person.name for person in people)
    assert all(event.is_sample for event in db.scalars(select(Event).where(Event.org_id == org)))
    assert all(team.is_sample for team in db.scalars(select(Team).where(Team.org_id == org)))


def test_sample_assignments_never_repeat_a_person_at_one_event(api, org, db) -> None:
    generate(api, org, size="comprehensive")
    pairs = db.execute(select(EventAssignment.event_id, EventAssignment.person_id)).all()
    assert len(pairs) == 150
    assert len(set(pairs)) == 150
    per_event = db.execute(
        select(EventAssignment.event_id, func.count()).group_by(EventAssignment.event_id)
    ).all()
    assert {count for _, count in per_event} == {15}


def test_sample_events_fall_on_local_times_in_the_organizations_time_zone(api, org, db) -> None:
    complete_steps(api, org, through=1)
    api(
        "PUT",
        "/v1/onboarding/wizard/steps/1",
        claims=admin_claims(org),
        body={**step_body(1), "timezone": "Asia/Tokyo"},
    )
    generate(api, org, size="comprehensive")
    tokyo = ZoneInfo("Asia/Tokyo")
    today = datetime.now(tokyo).date()
    events = db.scalars(select(Event).where(Event.org_id == org)).all()
    local_starts = {event.title: event.start_time.astimezone(tokyo) for event in events}
    assert (local_starts["Sunday Morning Service"].hour, local_starts["Sunday Morning Service"].minute) == (
        9,
        30,
    )
    assert (local_starts["Youth Group Night"].hour, local_starts["Youth Group Night"].minute) == (18, 30)
    assert local_starts["Sunday Morning Service"].weekday() == 6
    assert local_starts["Community Food Drive"].weekday() == 5
    days_from_today = sorted((start.date() - today).days for start in local_starts.values())
    assert days_from_today[0] < 0 < days_from_today[1]  # one past event for history, the rest ahead
    assert days_from_today[-1] <= 28
    assert all(event.end_time > event.start_time for event in events)


def test_without_a_time_zone_sample_events_use_utc(api, org, db) -> None:
    generate(api, org, size="minimal")
    starts = {e.title: e.start_time.astimezone(UTC) for e in db.scalars(select(Event))}
    assert (starts["Sunday Morning Service"].hour, starts["Sunday Morning Service"].minute) == (9, 30)


def test_assignment_roles_come_from_the_first_events_roles(api, org, db) -> None:
    complete_steps(api, org, through=2)  # roles Greeter and Usher
    generate(api, org, size="minimal")
    assert set(db.scalars(select(EventAssignment.role))) == {"Greeter", "Usher"}


def test_generation_emits_its_metric_with_counts_and_time(api, org, db) -> None:
    generate(api, org, size="minimal", expiry_days=7)
    (metric,) = metrics_of(db, "sample_data_generated")
    assert metric.event_data["size"] == "minimal"
    assert metric.event_data["expiry_days"] == 7
    assert metric.event_data["counts"] == {"events": 2, "teams": 1, "volunteers": 5, "assignments": 10}
    assert metric.event_data["generation_time_seconds"] >= 0


@pytest.mark.parametrize("size", ["minimal", "comprehensive"])
def test_generation_is_three_statements_whatever_the_size(api, org, statements, size) -> None:
    generate(api, org, size=size)
    # lock and read; the rows of the four tables; the flags with their metric; the domain event (outbox)
    assert len(statements) == 4
    for table in ("teams", "people", "events", "event_assignments"):
        assert f"INSERT INTO {table} " in statements[1]
    assert "INSERT INTO onboarding_metric" in statements[2]
    assert "UPDATE onboarding_state" in statements[2]
    assert "INSERT INTO onboarding_outbox" in statements[3]


def test_every_size_sends_the_same_sql_the_rows_travel_as_parameters(api, org, make_org, statements) -> None:
    other = make_org("org_b")
    api("POST", "/v1/onboarding", claims=admin_claims(other))
    statements.clear()
    generate(api, org, size="minimal")
    generate(api, other, size="comprehensive")
    rows_statements = [s for s in statements if "INSERT INTO event_assignments" in s]
    assert len(rows_statements) == 2
    assert rows_statements[0] == rows_statements[1]


def test_generation_keeps_the_response_in_step_with_the_stored_flags(api, org, db) -> None:
    generated = generate(api, org, expiry_days=3).json
    state = state_row(db, org)
    assert generated["present"] is state.sample_data_generated is True
    assert datetime.fromisoformat(generated["generated_at"]) == state.sample_data_generated_at
    assert datetime.fromisoformat(generated["expires_at"]) == state.sample_data_expiry


@pytest.mark.parametrize("weekday_offset", range(7))
def test_sample_events_are_planned_relative_to_any_day_of_the_week(weekday_offset) -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC) + timedelta(days=weekday_offset)  # Monday + offset
    rows = build_sample_rows(
        "org", SIZES[SampleSize.COMPREHENSIVE], timezone=ZoneInfo("UTC"), now=now, roles=["Greeter"]
    )
    days = {event["title"]: (event["start_time"].date() - now.date()).days for event in rows.events}
    assert -7 <= days["Community Food Drive"] < 0
    assert all(1 <= offset <= 28 for title, offset in days.items() if title != "Community Food Drive")


def test_sample_ids_are_prefixed_and_fit_the_id_columns() -> None:
    rows = build_sample_rows(
        "o" * 50, SIZES[SampleSize.COMPREHENSIVE], timezone=ZoneInfo("UTC"), now=datetime.now(UTC), roles=[]
    )
    ids = [row["id"] for table in (rows.events, rows.teams, rows.people, rows.assignments) for row in table]
    assert all(len(id_) <= 50 and id_.startswith("sample_") for id_ in ids)
    assert len(set(ids)) == len(ids)


# --- Status ---


def test_status_counts_the_sample_rows_in_the_tables(api, org, db) -> None:
    generate(api, org, size="minimal")
    add_real_rows(db, org, events=3, volunteers=2)
    status = api("GET", SAMPLE, claims=admin_claims(org)).json
    assert status["present"] is True
    assert status["counts"] == {"events": 2, "teams": 1, "volunteers": 5, "assignments": 10}


def test_status_counts_only_the_callers_sample_assignments(api, org, make_org) -> None:
    other = make_org("org_b")
    api("POST", "/v1/onboarding", claims=admin_claims(other))
    generate(api, other, size="comprehensive")
    generate(api, org, size="minimal")
    status = api("GET", SAMPLE, claims=admin_claims(org)).json
    assert status["counts"] == {"events": 2, "teams": 1, "volunteers": 5, "assignments": 10}


def test_status_without_sample_data(api, org) -> None:
    status = api("GET", SAMPLE, claims=admin_claims(org))
    assert status.status == 200
    assert status.json == {
        "present": False,
        "size": None,
        "generated_at": None,
        "expires_at": None,
        "expired": False,
        "cleared": False,
        "counts": {"events": 0, "teams": 0, "volunteers": 0, "assignments": 0},
    }


def test_status_says_expired_once_the_expiry_has_passed(api, org, db) -> None:
    generate(api, org, size="minimal")
    db.execute(update(OnboardingState).values(sample_data_expiry=datetime.now(UTC) - timedelta(minutes=1)))
    db.commit()
    assert api("GET", SAMPLE, claims=admin_claims(org)).json["expired"] is True


def test_onboarding_state_shows_the_sample_data_summary(api, org) -> None:
    generated = generate(api, org, size="minimal").json
    summary = api("GET", "/v1/onboarding", claims=admin_claims(org)).json["sample_data"]
    assert summary["present"] is True
    assert summary["expires_at"] == generated["expires_at"]


# --- Deleting ---


def test_delete_removes_the_sample_rows_and_reports_them(api, org, db) -> None:
    generate(api, org)
    response = api("DELETE", SAMPLE, claims=admin_claims(org))
    assert response.status == 200
    assert response.json["deleted"] == {"events": 5, "teams": 3, "volunteers": 15, "assignments": 45}
    assert response.json["sample_data"]["present"] is False
    assert response.json["sample_data"]["cleared"] is True
    assert sample_counts(db, org) == {"events": 0, "teams": 0, "volunteers": 0, "assignments": 0}


def test_delete_resets_the_state_flags(api, org, db) -> None:
    generate(api, org)
    api("DELETE", SAMPLE, claims=admin_claims(org))
    state = state_row(db, org)
    assert (state.sample_data_generated, state.sample_data_cleared) == (False, True)
    assert (state.sample_data_generated_at, state.sample_data_expiry) == (None, None)


def test_delete_is_idempotent_and_reports_once(api, org, db) -> None:
    generate(api, org)
    api("DELETE", SAMPLE, claims=admin_claims(org))
    again = api("DELETE", SAMPLE, claims=admin_claims(org))
    assert again.status == 200
    assert again.json["deleted"] == {"events": 0, "teams": 0, "volunteers": 0, "assignments": 0}
    (metric,) = metrics_of(db, "sample_data_cleared")
    assert metric.event_data["reason"] == "manual"
    assert metric.event_data["counts"]["assignments"] == 45
    assert 0 <= metric.event_data["data_age_days"] < 1


def test_delete_without_sample_data_changes_nothing(api, org, db) -> None:
    response = api("DELETE", SAMPLE, claims=admin_claims(org))
    assert response.status == 200
    assert response.json["sample_data"]["cleared"] is False
    assert metrics_of(db, "sample_data_cleared") == []


def test_delete_never_touches_real_rows(api, org, db) -> None:
    add_real_rows(db, org, events=4, volunteers=6, assignments=8, teams=2)
    before = real_counts(db, org)
    generate(api, org, size="comprehensive")
    api("DELETE", SAMPLE, claims=admin_claims(org))
    assert real_counts(db, org) == before == (4, 6, 2, 8)


def test_delete_also_removes_assignments_of_sample_people_to_real_events(api, org, db) -> None:
    add_real_rows(db, org, events=1)
    generate(api, org, size="minimal")
    sample_person = db.scalars(select(Person.id).where(Person.is_sample.is_(True))).first()
    db.add(
        EventAssignment(id="mixed_1", event_id=f"{org}_real_event_0", person_id=sample_person, role="Usher")
    )
    db.commit()
    response = api("DELETE", SAMPLE, claims=admin_claims(org))
    assert response.json["deleted"]["assignments"] == 11
    assert db.get(Event, f"{org}_real_event_0") is not None


def test_delete_removes_only_the_callers_sample_rows(api, org, make_org, db) -> None:
    make_org("org_b")
    api("POST", "/v1/onboarding", claims=admin_claims("org_b"))
    generate(api, org, size="minimal")
    generate(api, "org_b", size="standard")
    api("DELETE", SAMPLE, claims=admin_claims(org))
    assert sample_counts(db, "org_b") == {"events": 5, "teams": 3, "volunteers": 15, "assignments": 45}
    assert state_row(db, "org_b").sample_data_generated is True


def test_delete_sample_rows_deletes_for_many_organizations_in_one_statement(
    api, make_org, db, engine
) -> None:
    for org_id in ("org_a", "org_b", "org_c"):
        make_org(org_id)
        api("POST", "/v1/onboarding", claims=admin_claims(org_id))
        generate(api, org_id, size="minimal")
    seen: list[str] = []
    with Session(engine) as session:
        event.listen(session.connection(), "before_cursor_execute", lambda *args: seen.append(args[2]))
        counts = delete_sample_rows(session, ["org_a", "org_b"])
        session.commit()
    assert counts.model_dump() == {"events": 4, "teams": 2, "volunteers": 10, "assignments": 20}
    assert len(seen) == 1
    assert sample_counts(db, "org_c")["events"] == 2


def test_delete_is_four_statements(api, org, statements) -> None:
    generate(api, org)
    statements.clear()
    assert api("DELETE", SAMPLE, claims=admin_claims(org)).status == 200
    # lock and read; the four tables' deletes; the flags with their metric; the domain event (outbox)
    assert len(statements) == 4


def test_delete_works_when_the_host_keys_restrict_deletes(api, org, db, engine) -> None:
    # SignUpFlow's own schema may declare the assignment keys without ON DELETE CASCADE.
    generate(api, org)
    with engine.begin() as connection:
        for column, table in (("event_id", "events"), ("person_id", "people")):
            name = f"fk_event_assignments_{column}_{table}"
            connection.exec_driver_sql(f"ALTER TABLE event_assignments DROP CONSTRAINT {name}")
            connection.exec_driver_sql(
                f"ALTER TABLE event_assignments ADD CONSTRAINT {name} FOREIGN KEY ({column})"
                f" REFERENCES {table} (id) ON DELETE RESTRICT"
            )
    try:
        response = api("DELETE", SAMPLE, claims=admin_claims(org))
        assert response.status == 200
        assert response.json["deleted"] == {"events": 5, "teams": 3, "volunteers": 15, "assignments": 45}
        assert sample_counts(db, org) == {"events": 0, "teams": 0, "volunteers": 0, "assignments": 0}
    finally:
        db.rollback()  # its snapshot's locks would block the ALTER TABLE
        with engine.begin() as connection:
            for column, table in (("event_id", "events"), ("person_id", "people")):
                name = f"fk_event_assignments_{column}_{table}"
                connection.exec_driver_sql(f"ALTER TABLE event_assignments DROP CONSTRAINT {name}")
                connection.exec_driver_sql(
                    f"ALTER TABLE event_assignments ADD CONSTRAINT {name} FOREIGN KEY ({column})"
                    f" REFERENCES {table} (id) ON DELETE CASCADE"
                )


# --- Extending ---


def test_extend_pushes_the_expiry_back(api, org) -> None:
    generated = generate(api, org, expiry_days=10).json
    response = api("POST", f"{SAMPLE}/extend", claims=admin_claims(org), body={"days": 5})
    assert response.status == 200
    pushed = datetime.fromisoformat(response.json["expires_at"]) - datetime.fromisoformat(
        generated["expires_at"]
    )
    assert pushed == timedelta(days=5)
    assert response.json["capped"] is False


def test_extend_is_capped_at_90_days_from_now_and_says_so(api, org) -> None:
    generate(api, org, expiry_days=60)
    response = api("POST", f"{SAMPLE}/extend", claims=admin_claims(org), body={"days": 60})
    expires = datetime.fromisoformat(response.json["expires_at"])
    assert timedelta(days=89, hours=23) < expires - datetime.now(UTC) <= timedelta(days=90)
    assert response.json["capped"] is True


def test_an_extension_that_lands_exactly_on_the_cap_is_not_capped(api, org, db) -> None:
    generate(api, org, expiry_days=1)
    db.execute(update(OnboardingState).values(sample_data_expiry=datetime.now(UTC) - timedelta(days=3)))
    db.commit()
    response = api("POST", f"{SAMPLE}/extend", claims=admin_claims(org), body={"days": 90})
    assert response.json["capped"] is False


def test_extending_expired_sample_data_counts_from_now(api, org, db) -> None:
    generate(api, org, expiry_days=1)
    db.execute(update(OnboardingState).values(sample_data_expiry=datetime.now(UTC) - timedelta(days=3)))
    db.commit()
    response = api("POST", f"{SAMPLE}/extend", claims=admin_claims(org), body={"days": 2})
    expires = datetime.fromisoformat(response.json["expires_at"])
    assert timedelta(days=1, hours=23) < expires - datetime.now(UTC) <= timedelta(days=2)
    assert response.json["expired"] is False


def test_extend_without_sample_data_is_409(api, org) -> None:
    response = api("POST", f"{SAMPLE}/extend", claims=admin_claims(org), body={"days": 5})
    assert response.status == 409
    assert response.json["error"]["code"] == "no_sample_data"


@pytest.mark.parametrize("body", [{"days": 0}, {"days": 91}, {"days": "5"}, {}, {"days": 5, "hours": 1}])
def test_invalid_extend_requests_are_422(api, org, body) -> None:
    generate(api, org)
    assert api("POST", f"{SAMPLE}/extend", claims=admin_claims(org), body=body).status == 422


# --- Onboarding not started, identity ---


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("POST", SAMPLE, {"size": "minimal"}), ("GET", SAMPLE, None), ("DELETE", SAMPLE, None),
     ("POST", f"{SAMPLE}/extend", {"days": 1})],
)  # fmt: skip
def test_sample_routes_before_onboarding_started_are_404(api, make_org, method, path, body) -> None:
    make_org("org_new")
    assert api(method, path, claims=admin_claims("org_new"), body=body).status == 404


@pytest.mark.parametrize(
    ("method", "path"), [("POST", SAMPLE), ("GET", SAMPLE), ("DELETE", SAMPLE), ("POST", f"{SAMPLE}/extend")]
)
def test_sample_routes_need_an_org_admin(api, org, method, path) -> None:
    assert api(method, path, claims={}).status == 401
    assert api(method, path, claims={"custom:org_id": org, "cognito:groups": "[analyst]"}).status == 403


def test_another_organization_sees_none_of_the_callers_sample_data(api, org, make_org) -> None:
    make_org("org_b")
    api("POST", "/v1/onboarding", claims=admin_claims("org_b"))
    generate(api, org)
    status = api("GET", SAMPLE, claims=admin_claims("org_b")).json
    assert status["present"] is False
    assert status["counts"]["events"] == 0
