"""POST /v1/onboarding/metrics through the real handler: validated, idempotent, set-based, private."""

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from functions.checklist.app import lambda_handler as checklist_handler
from functions.metrics.app import lambda_handler
from onboarding import client_metrics
from onboarding.client_metrics import CLIENT_EVENT_TYPES
from onboarding.db import get_engine, unit_of_work
from onboarding.metric_partitions import delete_expired_event_keys, month_start, partition_name
from onboarding.metrics import RESENT_BEFORE, MetricEventType
from onboarding.models import OnboardingMetric, OnboardingMetricEventKey, Organization
from tests.fixtures import ORG, admin_claims
from tests.sql_statements import captured_statements, recorded_statements
from tools.wire import count_round_trips

PATH = "/v1/onboarding/metrics"
CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.6478.127 Safari/537.36"
)
SERVICE_EVENT_TYPES = sorted(set(MetricEventType) - CLIENT_EVENT_TYPES)
PLAYED = {"video_id": "quick-start_v2", "video_title": "Quick start: your first schedule"}
COMPLETED = {"video_id": "quick-start_v2", "watch_percentage": 97.5}


@pytest.fixture
def started_org(make_started_org: Callable[..., str]) -> str:
    """The organization "org_a", its onboarding started (the state inserted directly: no metric)."""
    return make_started_org()


@pytest.fixture
def send(api):
    def post(events: list[dict[str, Any]] | None = None, org_id: str = ORG, **kwargs: Any):
        if events is not None:
            kwargs["body"] = {"events": events}
        return api("POST", PATH, org=org_id, **kwargs)

    return post


def event(event_type: str = "view_reports", **fields: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "timestamp": datetime.now(UTC).isoformat(),
        **fields,
    }


def stored(db: Session) -> list[OnboardingMetric]:
    db.expire_all()
    return list(db.scalars(select(OnboardingMetric).order_by(OnboardingMetric.timestamp)))


def error_fields(response) -> list[str]:
    return [detail["field"] for detail in response.json["error"]["details"]]


def error_types(response) -> list[str]:
    return [detail["type"] for detail in response.json["error"]["details"]]


# --- Storing a batch ---


def test_a_batch_is_stored_and_counted(send, started_org, db: Session) -> None:
    batch = [event(), event("checklist_viewed", event_data={"entry_point": "dashboard"})]
    response = send(batch)
    assert response.status == 200
    assert response.json == {"accepted": 2, "duplicates": 0}
    rows = stored(db)
    assert {(str(r.client_event_id), r.event_type) for r in rows} == {
        (e["event_id"], e["event_type"]) for e in batch
    }
    assert all(r.organization_id == "org_a" for r in rows)


def test_the_clients_timestamp_and_typed_fields_are_kept(send, started_org, db: Session) -> None:
    at = datetime.now(UTC) - timedelta(hours=3)
    sent = event(
        "wizard_step_viewed",
        timestamp=at.isoformat(),
        wizard_step_reached=2,
        step_duration_seconds=95,
        session_id="4f1c2a9e-8d7b-4c1e-9f3a-0b2c4d6e8f10",
    )
    send([sent])
    [row] = stored(db)
    assert row.timestamp == at
    assert (row.wizard_step_reached, row.step_duration_seconds) == (2, 95)
    assert row.session_id == sent["session_id"]


def test_a_batch_is_one_statement_the_daily_cap_and_the_insert(send, started_org) -> None:
    with recorded_statements() as statements:
        send([event() for _ in range(100)])
    assert len(statements) == 1
    [sql] = statements
    # The cap's upsert first, as a CTE; the insert stores only if it returned a row.
    assert sql.index("INSERT INTO onboarding_metric_quota") < sql.index("INSERT INTO onboarding_metric ")


def test_every_batch_sends_the_same_sql_its_events_travel_as_one_parameter(send, started_org) -> None:
    with recorded_statements() as statements:
        send([event()])
        send([event() for _ in range(100)])
    assert len(statements) == 2 and statements[0] == statements[1]


def test_a_replayed_batch_is_one_statement_too(send, started_org) -> None:
    # The daily cap's reservation is made only for an organization that has started onboarding, so a
    # batch that stored nothing after a reservation was all replays: no second statement to tell.
    batch = [event() for _ in range(3)]
    send(batch)
    with recorded_statements() as statements:
        assert send(batch).json == {"accepted": 0, "duplicates": 3}
    assert len(statements) == 1


def test_the_statement_compiled_once_sends_what_sqlalchemy_would(send, started_org) -> None:
    # `ingest` sends the statement's SQL compiled once, with its parameters in placeholder order
    # (exec_driver_sql): the same text and values as SQLAlchemy executing the statement itself.
    with captured_statements() as sent:
        send([event(), event()], headers={"user-agent": CHROME_ON_WINDOWS})
    [(_sql, parameters)] = sent
    names = client_metrics._ingest_sql(get_engine().dialect)[1]
    named = dict(zip(names, parameters, strict=True))
    assert len(named) < len(names)  # names repeat (org_id), each with one value
    assert tuple(named[name] for name in names) == tuple(parameters)
    with unit_of_work() as session, captured_statements() as core:
        session.connection().execute(client_metrics._ingest_statement(), named)
        session.rollback()
    assert core == sent


def test_a_batch_is_its_own_transaction_in_one_wire_round_trip(send, started_org) -> None:
    # The statement stores the whole batch or writes nothing, so it is sent without BEGIN and COMMIT,
    # and its values (the batch as JSON text) are written into it: the simple protocol.
    send([event()])  # the pooled connection exists
    with count_round_trips() as wire:
        assert send([event() for _ in range(100)]).status == 200
    assert wire.round_trips == 1


def test_a_batch_of_one_hundred_events_is_accepted(send, started_org, db: Session) -> None:
    response = send([event() for _ in range(100)])
    assert response.json == {"accepted": 100, "duplicates": 0}
    assert len(stored(db)) == 100


@pytest.mark.parametrize("count", [0, 101])
def test_a_batch_needs_one_to_one_hundred_events(send, started_org, db: Session, count: int) -> None:
    response = send([event() for _ in range(count)])
    assert response.status == 422
    assert error_fields(response) == ["body.events"]
    assert stored(db) == []


# --- Idempotency ---


def test_replaying_a_batch_stores_nothing_twice(send, started_org, db: Session) -> None:
    batch = [event(), event()]
    send(batch)
    again = send(batch)
    assert again.json == {"accepted": 0, "duplicates": 2}
    assert len(stored(db)) == 2


def test_a_partly_replayed_batch_stores_only_the_new_events(send, started_org, db: Session) -> None:
    old = event()
    send([old])
    assert send([old, event()]).json == {"accepted": 1, "duplicates": 1}


def test_duplicates_inside_one_batch_count_and_the_first_occurrence_wins(
    send, started_org, db: Session
) -> None:
    first = event(event_data={"attempt": 1})
    repeat = {**first, "event_data": {"attempt": 2}}
    assert send([first, repeat]).json == {"accepted": 1, "duplicates": 1}
    assert [row.event_data for row in stored(db)] == [{"attempt": 1}]


def test_an_event_id_resent_with_another_timestamp_is_a_duplicate_and_the_first_copy_stays(
    send, started_org, db: Session
) -> None:
    first = event(timestamp=(datetime.now(UTC) - timedelta(hours=3)).isoformat(), event_data={"attempt": 1})
    assert send([first]).json == {"accepted": 1, "duplicates": 0}
    # A client that stamps its events when it sends them: same id, a later timestamp.
    resent = {**first, "timestamp": datetime.now(UTC).isoformat(), "event_data": {"attempt": 2}}
    assert send([resent]).json == {"accepted": 0, "duplicates": 1}
    assert [row.event_data for row in stored(db)] == [{"attempt": 1}]


def test_one_event_id_twice_in_a_batch_with_two_timestamps_is_stored_once(
    send, started_org, db: Session
) -> None:
    first = event(timestamp=(datetime.now(UTC) - timedelta(minutes=1)).isoformat())
    assert send([first, {**first, "timestamp": datetime.now(UTC).isoformat()}]).json == {
        "accepted": 1,
        "duplicates": 1,
    }


# Each side of next month's first instant is in its own partition (both exist ahead of time). The
# API refuses timestamps more than 5 minutes ahead, so these go through the ingestion's own statement.
NEXT_MONTH = month_start(datetime.now(UTC), 1)


def ingest_directly(org_id: str, event_id: uuid.UUID, at: datetime) -> client_metrics.IngestResult:
    """What the handler calls, with the validation's clock bypassed (`model_construct`)."""
    one = client_metrics.ClientMetricEvent.model_construct(
        event_id=event_id,
        event_type="view_reports",
        timestamp=at,
        event_data={},
        session_id=None,
        wizard_step_reached=None,
        step_duration_seconds=None,
    )
    with unit_of_work() as session:
        return client_metrics.ingest(
            session, org_id, client_metrics.MetricBatch.model_construct(events=[one]), None
        )


def partitions_holding(db: Session, event_id: uuid.UUID) -> list[str]:
    return list(
        db.scalars(
            text("SELECT tableoid::regclass::text FROM onboarding_metric WHERE client_event_id = :e"),
            {"e": event_id},
        )
    )


@pytest.mark.parametrize(
    ("first_at", "resent_at"),
    [
        (
            NEXT_MONTH - timedelta(microseconds=1),
            NEXT_MONTH - timedelta(microseconds=1),
        ),  # the same batch again
        (NEXT_MONTH - timedelta(seconds=30), NEXT_MONTH + timedelta(seconds=30)),  # re-stamped, next month
        (NEXT_MONTH + timedelta(seconds=30), NEXT_MONTH - timedelta(seconds=30)),  # re-stamped, month before
    ],
    ids=["same timestamp", "resent after the boundary", "resent before the boundary"],
)
def test_replays_across_a_month_boundary_are_duplicates(
    started_org, db: Session, first_at, resent_at
) -> None:
    event_id = uuid.uuid4()
    assert ingest_directly(started_org, event_id, first_at).accepted == 1
    assert ingest_directly(started_org, event_id, resent_at).model_dump() == {"accepted": 0, "duplicates": 1}
    assert partitions_holding(db, event_id) == [partition_name(month_start(first_at))]


def event_keys(db: Session, org_id: str = ORG) -> dict[uuid.UUID, datetime]:
    db.expire_all()
    rows = db.execute(
        select(OnboardingMetricEventKey.client_event_id, OnboardingMetricEventKey.timestamp).where(
            OnboardingMetricEventKey.organization_id == org_id
        )
    )
    return {row.client_event_id: row.timestamp for row in rows}


def test_each_stored_event_has_its_key_with_the_stored_timestamp(send, started_org, db: Session) -> None:
    first = event()
    send([first, event(), {**first, "timestamp": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}])
    assert event_keys(db) == {row.client_event_id: row.timestamp for row in stored(db)}
    assert len(event_keys(db)) == 2


def test_an_id_stays_a_duplicate_until_the_maintenance_deletes_its_expired_key(
    started_org, db: Session
) -> None:
    # Documented limit: once the nightly maintenance has deleted a key (more than RESEND_WINDOW after
    # the first arrival), a resend of that id stamped anew is a new event.
    event_id = uuid.uuid4()
    now = datetime.now(UTC)
    assert ingest_directly(started_org, event_id, now - RESENT_BEFORE - timedelta(seconds=1)).accepted == 1
    assert ingest_directly(started_org, event_id, now).model_dump() == {"accepted": 0, "duplicates": 1}
    with unit_of_work() as session:
        assert delete_expired_event_keys(session.connection(), now, limit=10) == 1
    assert ingest_directly(started_org, event_id, now).accepted == 1
    assert event_keys(db) == {event_id: now}


def test_the_maintenance_deletes_keys_older_than_the_resend_window_only(started_org, db: Session) -> None:
    now = datetime.now(UTC)
    expired, kept = uuid.uuid4(), uuid.uuid4()
    ingest_directly(started_org, expired, now - RESENT_BEFORE - timedelta(minutes=1))
    ingest_directly(started_org, kept, now - RESENT_BEFORE + timedelta(minutes=1))
    with unit_of_work() as session:
        assert delete_expired_event_keys(session.connection(), now, limit=10) == 1
    assert set(event_keys(db)) == {kept}
    # The stored rows stay (they are analytics); a re-stamped resend of the expired id is a new event.
    assert len(stored(db)) == 2
    assert ingest_directly(started_org, expired, now).accepted == 1


def test_deleting_an_organization_deletes_its_event_keys_and_no_others(
    send, started_org, make_started_org, db: Session
) -> None:
    make_started_org("org_b")
    send([event(), event()])
    send([event()], org_id="org_b")
    db.execute(delete(Organization).where(Organization.id == started_org))
    db.commit()
    assert event_keys(db) == {}
    assert len(event_keys(db, "org_b")) == 1


def test_equal_event_ids_from_different_orgs_never_interfere(
    send, started_org, make_started_org, db: Session
) -> None:
    make_started_org("org_b")
    shared = event()
    assert send([shared]).json == {"accepted": 1, "duplicates": 0}
    assert send([shared], org_id="org_b").json == {"accepted": 1, "duplicates": 0}
    assert sorted(row.organization_id for row in stored(db)) == ["org_a", "org_b"]


# --- Which event types a client may send ---


@pytest.mark.parametrize("event_type", sorted(CLIENT_EVENT_TYPES))
def test_clients_may_send_what_only_the_browser_sees(send, started_org, event_type: str) -> None:
    key_fields = {"video_played": PLAYED, "video_completed": COMPLETED}.get(event_type, {})
    assert send([event(event_type, event_data=key_fields)]).status == 200


@pytest.mark.parametrize("event_type", SERVICE_EVENT_TYPES)
def test_service_emitted_types_are_reserved(send, started_org, db: Session, event_type: str) -> None:
    response = send([event(), event(event_type)])
    assert response.status == 422
    assert error_fields(response) == ["body.events.1.event_type"]
    assert error_types(response) == ["reserved_event_type"]
    assert stored(db) == []  # the valid event of the batch is not stored either


@pytest.mark.parametrize("event_type", ["page_view", "", "VIEW_REPORTS", "view_reports\x00", 42, None])
def test_an_unknown_type_is_422_naming_the_event_index(send, started_org, db: Session, event_type) -> None:
    response = send([event(), event(), event(), event(event_type)])
    assert response.status == 422
    assert error_fields(response) == ["body.events.3.event_type"]
    assert stored(db) == []


# --- Field validation ---


@pytest.mark.parametrize(
    "field", ["wizard_step_dropped", "completion_time_minutes", "user_agent", "organization_id", "id"]
)
def test_unknown_and_service_owned_fields_are_422(send, started_org, field: str) -> None:
    response = send([{**event(), field: 1}])
    assert response.status == 422
    assert error_fields(response) == [f"body.events.0.{field}"]


def test_an_unknown_top_level_field_is_422(send, started_org) -> None:
    response = send(body={"events": [event()], "source": "web"})
    assert error_fields(response) == ["body.source"]


@pytest.mark.parametrize("event_id", ["not-a-uuid", "", 123, None, "ffffffff-ffff-ffff-ffff-fffffffffffff"])
def test_event_id_must_be_a_uuid(send, started_org, event_id) -> None:
    response = send([event(event_id=event_id)])
    assert response.status == 422
    assert error_fields(response) == ["body.events.0.event_id"]


@pytest.mark.parametrize(
    ("offset", "status"),
    [
        (timedelta(minutes=4), 200),
        (timedelta(minutes=6), 422),
        (timedelta(days=365 * 100), 422),
        (-timedelta(days=6, hours=23), 200),
        (-timedelta(days=7, minutes=1), 422),
    ],
)
def test_timestamps_allow_small_clock_skew_and_one_week_of_backlog(send, started_org, offset, status) -> None:
    response = send([event(timestamp=(datetime.now(UTC) + offset).isoformat())])
    assert response.status == status


@pytest.mark.parametrize("timestamp", ["2026-01-01T10:00:00", "yesterday", "", None, "9999-99-99T00:00:00Z"])
def test_timestamps_must_be_iso_with_a_timezone(send, started_org, timestamp) -> None:
    response = send([event(timestamp=timestamp)])
    assert response.status == 422
    assert error_fields(response) == ["body.events.0.timestamp"]


@pytest.mark.parametrize("hours", [16, -16, 23])
def test_an_offset_the_database_cannot_store_is_422_naming_the_field(
    send, started_org, db: Session, hours: int
) -> None:
    # PostgreSQL accepts offsets up to 15:59: +16:00 used to pass validation and fail the whole batch in
    # the database with a 422 that named no field.
    now = datetime.now(UTC)
    at = now.astimezone(timezone(timedelta(hours=hours))).isoformat()
    response = send([event(), event(timestamp=at)])
    assert response.status == 422
    assert error_fields(response) == ["body.events.1.timestamp"]
    assert stored(db) == []


def test_timestamps_are_stored_and_exported_in_utc(send, started_org, api, db: Session) -> None:
    at = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0)
    sent = at.astimezone(timezone(timedelta(hours=-5))).isoformat()  # ...-05:00
    assert send([event(timestamp=sent)]).status == 200
    assert stored(db)[0].timestamp == at
    exported = api("GET", "/v1/onboarding/export").json["metrics"][0]["timestamp"]
    assert exported == at.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"wizard_step_reached": 6}, "wizard_step_reached"),
        ({"wizard_step_reached": 0}, "wizard_step_reached"),
        ({"wizard_step_reached": "2"}, "wizard_step_reached"),
        ({"step_duration_seconds": -1}, "step_duration_seconds"),
        ({"step_duration_seconds": 10**30}, "step_duration_seconds"),
    ],
)
def test_typed_fields_are_range_checked(send, started_org, fields, field) -> None:
    response = send([event("wizard_step_viewed", **fields)])
    assert error_fields(response) == [f"body.events.0.{field}"]


def test_wizard_fields_belong_to_wizard_step_viewed_only(send, started_org) -> None:
    response = send([event("view_reports", wizard_step_reached=2)])
    assert error_types(response) == ["field_not_allowed_for_event_type"]


# --- event_data bounds ---


def test_event_data_of_four_kilobytes_is_accepted(send, started_org) -> None:
    data = {"note": "x" * (4096 - len('{"note":""}'))}
    assert send([event(event_data=data)]).status == 200


def test_event_data_over_four_kilobytes_is_422(send, started_org) -> None:
    data = {"note": "x" * 4096}
    response = send([event(event_data=data)])
    assert error_types(response) == ["event_data_too_large"]


def test_event_data_size_counts_encoded_bytes(send, started_org) -> None:
    data = {"note": "é" * 2100}  # 2100 characters, 4200 bytes
    assert error_types(send([event(event_data=data)])) == ["event_data_too_large"]


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"note": '"\\\n\x01\u2028'},
        {"emoji": "\U0001f389" * 10, "accent": "é"},
        {"big": -(10**300), "small": 1e-300, "flag": True, "none": None, "zero": 0},
        {"list": [1, [2.5, "x", -1]], "map": {"deep": ["\t"]}},
    ],
)
def test_the_size_bound_is_never_below_the_serialized_size(data) -> None:
    exact = len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())
    assert client_metrics._check_json(data, depth=1) >= exact


def test_event_data_nests_at_most_four_levels(send, started_org) -> None:
    assert send([event(event_data={"a": {"b": {"c": [1]}}})]).status == 200
    response = send([event(event_data={"a": {"b": {"c": {"d": [1]}}}})])
    assert error_types(response) == ["event_data_too_deep"]


def test_deeply_nested_event_data_is_one_clear_422(send, started_org) -> None:
    raw = json.dumps({"events": [event()]})[:-3] + ', "event_data": {"a": ' + "[" * 900 + "]" * 900 + "}}]}"
    response = send(raw_body=raw)
    assert response.status == 422
    assert error_fields(response) == ["body.events.0.event_data"]
    assert error_types(response) == ["event_data_too_deep"]


@pytest.mark.parametrize(
    ("data", "error_type"),
    [
        ({"Email Address": "x"}, "event_data_key"),
        ({"user@example.com": 1}, "event_data_key"),
        ({"bad\x00key": 1}, "event_data_key"),
        ({"contact": "jane.doe@example.com"}, "event_data_personal"),
        ({"list": ["ok", "mail me at a@b.co"]}, "event_data_personal"),
        ({"note": "nul\x00inside"}, "string_nul"),
        ({"note": "\ud800"}, "string_unicode"),
    ],
)
def test_event_data_rejects_unstorable_text_and_personal_data(
    send, started_org, db: Session, data, error_type
) -> None:
    response = send([event(event_data=data)])
    assert response.status == 422
    assert error_types(response) == [error_type]
    assert error_fields(response) == ["body.events.0.event_data"]
    assert stored(db) == []


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_json_numbers_are_malformed_json(send, started_org, literal: str) -> None:
    raw = json.dumps({"events": [event()]}).replace('"event_data"', '"x"')
    raw = raw[:-2] + f', "event_data": {{"n": {literal}}}}}]}}'
    assert send(raw_body=raw).status == 400


# --- Privacy: session id and user agent ---


@pytest.mark.parametrize(
    "session_id",
    ["4f1c2a9e-8d7b-4c1e-9f3a-0b2c4d6e8f10", "Zx8_Qm3-Lp0aWv7Rt2Yb", "a" * 50],
)
def test_opaque_session_tokens_are_accepted(send, started_org, session_id: str) -> None:
    assert send([event(session_id=session_id)]).status == 200


@pytest.mark.parametrize(
    "session_id",
    [
        "jane.doe@example.com",
        "Jane Doe",
        "+1-555-0100-2345-6789",
        "15550100234567",
        "short",
        "a" * 51,
        "tab\tinside-the-token-x",
        "nul\x00inside-the-token-x",
        "",
    ],
)
def test_session_ids_that_could_be_personal_data_are_422(
    send, started_org, db: Session, session_id: str
) -> None:
    response = send([event(session_id=session_id)])
    assert response.status == 422
    assert error_fields(response) == ["body.events.0.session_id"]
    assert stored(db) == []


def test_the_user_agent_comes_from_the_header_coarsened(send, started_org, db: Session) -> None:
    send([event()], headers={"User-Agent": CHROME_ON_WINDOWS})
    assert [row.user_agent for row in stored(db)] == ["Chrome 126 / Windows"]


def test_without_a_user_agent_header_none_is_stored(send, started_org, db: Session) -> None:
    send([event()], headers={"user-agent": ""})
    assert [row.user_agent for row in stored(db)] == [None]


# --- The rest of the contract ---


def test_view_reports_events_complete_the_view_reports_task(send, call, started_org) -> None:
    send([event("view_reports")])
    response = call(checklist_handler)("GET", "/v1/onboarding/checklist", claims=admin_claims(started_org))
    task = next(task for task in response.json["tasks"] if task["id"] == "view_reports")
    assert task["completed"] is True


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "GET"])
def test_metrics_are_append_only(call, started_org, method: str) -> None:
    response = call(lambda_handler)(method, PATH, claims=admin_claims(started_org))
    assert response.status == 405


def test_an_organization_that_does_not_exist_is_404(send) -> None:
    response = send([event()], org_id="org_ghost")
    assert (response.status, response.json["error"]["code"]) == (404, "organization_not_found")


def test_before_onboarding_has_started_a_batch_is_404_and_stores_nothing(send, new_org, db: Session) -> None:
    # As on every route but POST /v1/onboarding (and so the export never misses stored metrics).
    response = send([event(), event()])
    assert (response.status, response.json["error"]["code"]) == (404, "onboarding_not_started")
    assert stored(db) == []


def test_a_replay_before_onboarding_has_started_is_404_too(send, new_org, make_started_org, db) -> None:
    batch = [event()]
    assert send(batch).status == 404
    assert send(batch).json["error"]["code"] == "onboarding_not_started"


def test_a_body_over_the_limit_is_413(send, started_org) -> None:
    events = [event(event_data={"note": "x" * 16_000}) for _ in range(100)]  # over the function's 1.5 MiB
    assert send(events).status == 413


def test_a_full_batch_of_full_events_fits_the_functions_body_limit(send, started_org) -> None:
    # The template's limit of the metrics function (tools/template.py applies it, as in AWS).
    data = {"note": "x" * (4096 - len('{"note":""}'))}
    response = send([event(event_data=data) for _ in range(100)])
    assert response.json == {"accepted": 100, "duplicates": 0}


def test_analysts_cannot_send_org_metrics(send) -> None:
    claims = {"custom:org_id": "org_a", "cognito:groups": ["platform_analyst"]}
    assert send([event()], claims=claims).status == 403


# --- Video events (data-model.md's key fields) ---


def test_video_events_are_stored_with_their_key_fields(send, started_org, db: Session) -> None:
    response = send(
        [event("video_played", event_data=PLAYED), event("video_completed", event_data=COMPLETED)]
    )
    assert response.json == {"accepted": 2, "duplicates": 0}
    assert sorted((row.event_type, row.event_data["video_id"]) for row in stored(db)) == [
        ("video_completed", "quick-start_v2"),
        ("video_played", "quick-start_v2"),
    ]


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        ("video_played", {"video_id": "intro"}),  # no title
        ("video_played", {"video_title": "Intro"}),  # no id
        ("video_completed", {"video_id": "intro"}),  # no watch_percentage
    ],
)
def test_a_video_event_without_a_key_field_is_422(send, started_org, db: Session, event_type, data) -> None:
    assert send([event(event_type)]).status == 422  # no event_data at all
    response = send([event(), event(event_type, event_data=data)])
    assert response.status == 422
    assert error_fields(response) == ["body.events.1.event_data"]
    assert error_types(response) == ["event_data_key_missing"]
    assert stored(db) == []


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        ("video_played", {**PLAYED, "video_id": "https://videos.example/v?user=ana"}),
        ("video_played", {**PLAYED, "video_id": ""}),
        ("video_played", {**PLAYED, "video_id": 42}),
        ("video_played", {**PLAYED, "video_title": ""}),
        ("video_played", {**PLAYED, "video_title": "t" * 201}),
        ("video_played", {**PLAYED, "video_title": "Intro\nPart 2"}),
        ("video_played", {**PLAYED, "watch_percentage": 101}),
        ("video_completed", {**COMPLETED, "watch_percentage": -1}),
        ("video_completed", {**COMPLETED, "watch_percentage": "97"}),
        ("video_completed", {**COMPLETED, "watch_percentage": True}),
        ("video_completed", {**COMPLETED, "video_title": ["Intro"]}),
    ],
)
def test_a_video_key_field_out_of_its_rule_is_422(send, started_org, event_type, data) -> None:
    response = send([event(event_type, event_data=data)])
    assert response.status == 422
    assert error_types(response) == ["event_data_key_invalid"]


def test_video_events_keep_the_other_event_data_rules(send, started_org) -> None:
    response = send([event("video_played", event_data={**PLAYED, "viewer": "ana@example.org"})])
    assert error_types(response) == ["event_data_personal"]
