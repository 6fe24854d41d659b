"""/v1/analytics through the real handler, on hand-computed fixtures: analysts only, no division by zero."""

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from functions.analytics.app import lambda_handler
from onboarding import analytics
from onboarding.metric_partitions import month_start, partition_name
from onboarding.models import OnboardingMetric, OnboardingState
from tests.fixtures import admin_claims, analyst_claims
from tests.host_rows import start_onboarding
from tests.sql_statements import captured_statements, recorded_statements

JUNE_10 = datetime(2026, 6, 10, 12, tzinfo=UTC)


@pytest.fixture
def analytics_api(api):
    def get(report: str, claims: dict[str, Any] | None = None, **query: str):
        return api("GET", f"/v1/analytics/{report}", claims=claims or analyst_claims(), query=query or None)

    return get


def add_orgs(make_org, db: Session, states: list[dict[str, Any]]) -> list[str]:
    """One organization with onboarding state per entry (entries are state column overrides)."""
    ids = []
    for number, state in enumerate(states, start=1):
        org_id = make_org(f"org_{number}", name=f"Parish {number}")
        start_onboarding(db, org_id, **state)
        ids.append(org_id)
    return ids


def add_metrics(db: Session, org_id: str, event_type: str, count: int = 1, **columns: Any) -> None:
    db.add_all(
        OnboardingMetric(organization_id=org_id, event_type=event_type, **columns) for _ in range(count)
    )
    db.commit()


COMPLETED = {"wizard_completed": True, "completed_at": JUNE_10}
SKIPPED = {"skipped": True, "skipped_at": JUNE_10}


# --- Completion rate ---


def test_completion_rate_counts_started_completed_skipped_and_in_progress(
    analytics_api, make_org, db
) -> None:
    add_orgs(make_org, db, [COMPLETED, COMPLETED, SKIPPED, {}])
    response = analytics_api("completion-rate")
    assert response.status == 200
    assert response.json == {
        "period": {"from": None, "to": None},
        "started_count": 4,
        "completed_count": 2,
        "skipped_count": 1,
        "in_progress_count": 1,
        "completion_percent": 50.0,
        "total_tasks": 6,
        "avg_tasks_completed": 0.0,
        "avg_checklist_completion_percent": 0.0,
        "completion_interval": {
            "low": pytest.approx(0.1500, abs=1e-4),  # Wilson, 2 of 4
            "high": pytest.approx(0.8500, abs=1e-4),
            "confidence": 0.95,
            "method": "wilson",
        },
        "experiment": None,
        "variants": None,
        "comparisons": None,
    }


def test_completion_rate_rounds_to_one_decimal(analytics_api, make_org, db) -> None:
    add_orgs(make_org, db, [COMPLETED, {}, {}])
    assert analytics_api("completion-rate").json["completion_percent"] == 33.3


def test_completion_rate_averages_the_checklist_tasks_completed(analytics_api, make_org, db) -> None:
    done = {"completed": True, "completed_at": "2026-06-10T12:00:00Z"}
    add_orgs(
        make_org,
        db,
        [
            {"checklist_progress": {"add_team": done, "create_first_event": done, "view_reports": done}},
            {"checklist_progress": {"add_team": done, "invite_volunteers": {"completed": False}}},
            {"checklist_progress": {"retired_task": done}},  # not an active task: not counted
        ],
    )
    response = analytics_api("completion-rate").json
    assert response["avg_tasks_completed"] == round((3 + 1 + 0) / 3, 2)
    assert response["avg_checklist_completion_percent"] == round(4 / 3 * 100 / 6, 1)


def test_completion_rate_on_no_data_has_no_percentages(analytics_api) -> None:
    response = analytics_api("completion-rate").json
    assert response["started_count"] == 0
    assert response["completion_percent"] is None
    assert response["avg_tasks_completed"] is None
    assert response["avg_checklist_completion_percent"] is None


def test_completion_rate_counts_organizations_that_started_within_the_period(
    analytics_api, make_org, db
) -> None:
    add_orgs(
        make_org,
        db,
        [
            {"started_at": datetime(2026, 5, 31, 23, 59, tzinfo=UTC)},
            {"started_at": datetime(2026, 6, 1, 0, 0, tzinfo=UTC), **COMPLETED},
            {"started_at": datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC)},
            {"started_at": datetime(2026, 7, 1, 0, 0, tzinfo=UTC)},
        ],
    )
    response = analytics_api("completion-rate", **{"from": "2026-06-01", "to": "2026-06-30"}).json
    assert response["period"] == {"from": "2026-06-01", "to": "2026-06-30"}
    assert (response["started_count"], response["completed_count"]) == (2, 1)


# --- Funnel ---


def test_funnel_gives_drop_offs_per_step_as_a_share_of_wizard_starts(analytics_api, make_org, db) -> None:
    [org] = add_orgs(make_org, db, [{}])
    add_metrics(db, org, "wizard_started", 4)
    add_metrics(db, org, "wizard_skipped", 1, wizard_step_dropped=2)
    add_metrics(db, org, "wizard_skipped", 2, wizard_step_dropped=3)
    response = analytics_api("funnel")
    assert response.status == 200
    at_step_1 = {"reached": 1, "completed": 0, "dropped": 0, "dropped_skipped": 0, "dropped_inactive": 0}
    not_reached = {"reached": 0, "completed": 0, "dropped": 0, "dropped_skipped": 0, "dropped_inactive": 0}
    assert response.json == {
        "period": {"from": None, "to": None},
        "inactive_days": 7,
        "started_count": 4,
        "steps": [
            {"step": 1, **at_step_1, "drop_off_count": 0, "drop_off_percent": 0.0},
            {"step": 2, **not_reached, "drop_off_count": 1, "drop_off_percent": 25.0},
            {"step": 3, **not_reached, "drop_off_count": 2, "drop_off_percent": 50.0},
            {"step": 4, **not_reached, "drop_off_count": 0, "drop_off_percent": 0.0},
            {"step": 5, **not_reached, "drop_off_count": 0, "drop_off_percent": 0.0},
        ],
        "experiment": None,
        "variants": None,
    }


def test_funnel_percentages_have_two_decimals(analytics_api, make_org, db) -> None:
    [org] = add_orgs(make_org, db, [{}])
    add_metrics(db, org, "wizard_started", 3)
    add_metrics(db, org, "wizard_skipped", 1, wizard_step_dropped=1)
    assert analytics_api("funnel").json["steps"][0]["drop_off_percent"] == 33.33


def test_funnel_without_any_start_has_no_percentages(analytics_api, make_org, db) -> None:
    [org] = add_orgs(make_org, db, [{}])
    add_metrics(db, org, "wizard_skipped", 1, wizard_step_dropped=4)
    response = analytics_api("funnel").json
    assert response["started_count"] == 0
    assert response["steps"][3]["drop_off_count"] == 1
    assert response["steps"][3]["drop_off_percent"] is None


def test_funnel_counts_events_within_the_period(analytics_api, make_org, db) -> None:
    [org] = add_orgs(make_org, db, [{}])
    add_metrics(db, org, "wizard_started", 2, timestamp=JUNE_10)
    add_metrics(db, org, "wizard_started", 5, timestamp=JUNE_10 - timedelta(days=30))
    add_metrics(db, org, "wizard_skipped", 1, wizard_step_dropped=1, timestamp=JUNE_10)
    add_metrics(db, org, "wizard_skipped", 3, wizard_step_dropped=1, timestamp=JUNE_10 + timedelta(days=30))
    response = analytics_api("funnel", **{"from": "2026-06-10", "to": "2026-06-10"}).json
    assert response["started_count"] == 2
    assert (response["steps"][0]["drop_off_count"], response["steps"][0]["drop_off_percent"]) == (1, 50.0)


# --- Completion time ---


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        ([10, 20, 30], (3, 20.0, 20.0, 10, 30)),  # odd count: the middle value
        ([10, 20, 30, 41], (4, 25.25, 25.0, 10, 41)),  # even count: the mean of the two middle values
        ([7], (1, 7.0, 7.0, 7, 7)),
        ([], (0, None, None, None, None)),  # empty: nothing to average, no error
    ],
)
def test_completion_time_average_median_fastest_slowest(
    analytics_api, make_org, db, minutes, expected
) -> None:
    [org] = add_orgs(make_org, db, [{}])
    for value in minutes:
        add_metrics(db, org, "wizard_completed", completion_time_minutes=value)
    add_metrics(db, org, "wizard_step_completed", step_duration_seconds=999)  # other events: ignored
    response = analytics_api("completion-time").json
    assert (
        response["completed_count"],
        response["avg_minutes"],
        response["median_minutes"],
        response["fastest_minutes"],
        response["slowest_minutes"],
    ) == expected


def test_completion_time_counts_completions_within_the_period(analytics_api, make_org, db) -> None:
    [org] = add_orgs(make_org, db, [{}])
    add_metrics(db, org, "wizard_completed", completion_time_minutes=10, timestamp=JUNE_10)
    add_metrics(
        db, org, "wizard_completed", completion_time_minutes=500, timestamp=JUNE_10 + timedelta(days=1)
    )
    response = analytics_api("completion-time", to="2026-06-10").json
    assert (response["completed_count"], response["slowest_minutes"]) == (1, 10)


# --- Incomplete organizations ---


def test_incomplete_lists_organizations_that_neither_completed_nor_skipped(
    analytics_api, make_org, db
) -> None:
    now = datetime.now(UTC)
    add_orgs(
        make_org,
        db,
        [
            {"started_at": now - timedelta(hours=10), "wizard_current_step": 3},
            COMPLETED,
            SKIPPED,
            {"started_at": now - timedelta(hours=2)},
        ],
    )
    organizations = analytics_api("incomplete").json["organizations"]
    assert [(o["id"], o["name"], o["wizard_current_step"]) for o in organizations] == [
        ("org_4", "Parish 4", 1),  # most recent first
        ("org_1", "Parish 1", 3),
    ]
    assert 10.0 <= organizations[1]["hours_since_start"] < 10.5
    assert set(organizations[0]) == {"id", "name", "wizard_current_step", "started_at", "hours_since_start"}


def test_incomplete_is_paged_with_a_cursor(analytics_api, make_org, db) -> None:
    base = datetime(2026, 6, 1, tzinfo=UTC)
    same_time = [{"started_at": base}] * 2  # ties are ordered by id, so no row is skipped or repeated
    add_orgs(make_org, db, [*same_time, *({"started_at": base + timedelta(hours=h)} for h in range(1, 4))])
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = analytics_api("incomplete", **query).json
        seen += [o["id"] for o in page["organizations"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == ["org_5", "org_4", "org_3", "org_2", "org_1"]


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        base64.urlsafe_b64encode(b'["2026-06-01T00:00:00", "org_1"]').decode(),  # no timezone
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(json.dumps(["2026-06-01T00:00:00+00:00", "x\x00"]).encode()).decode(),
        # Valid ISO dates whose offset moves them outside years 1-9999 in UTC.
        base64.urlsafe_b64encode(json.dumps(["9999-12-31T23:59:59-23:59", "org_1"]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps(["0001-01-01T00:00:00+23:59", "org_1"]).encode()).decode(),
        "x" * 301,
    ],
)
def test_a_cursor_that_is_not_ours_is_422(analytics_api, cursor: str) -> None:
    response = analytics_api("incomplete", cursor=cursor)
    assert response.status == 422
    assert response.json["error"]["details"][0]["field"] == "query.cursor"


@pytest.mark.parametrize("limit", ["0", "501", "ten", "1e3", "-1"])
def test_page_size_is_one_to_five_hundred(analytics_api, limit: str) -> None:
    response = analytics_api("incomplete", limit=limit)
    assert response.status == 422
    assert response.json["error"]["details"][0]["field"] == "query.limit"


# --- Periods ---


@pytest.mark.parametrize("report", ["completion-rate", "funnel", "completion-time", "incomplete"])
def test_from_after_to_is_422(analytics_api, report: str) -> None:
    response = analytics_api(report, **{"from": "2026-06-02", "to": "2026-06-01"})
    assert response.status == 422
    assert response.json["error"]["details"][0]["field"] == "query.from"


@pytest.mark.parametrize("report", ["completion-rate", "funnel", "completion-time", "incomplete"])
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("from", "2026-02-30"),
        ("to", "June 1st"),
        ("from", "2026-06-01\x00"),
        ("to", ""),
        ("from", "99999-01-01"),
    ],
)
def test_dates_must_be_iso_dates(analytics_api, report: str, name: str, value: str) -> None:
    response = analytics_api(report, **{name: value})
    assert response.status == 422
    assert response.json["error"]["details"][0]["field"] == f"query.{name}"


def test_a_one_day_period_and_extreme_dates_are_fine(analytics_api) -> None:
    assert analytics_api("funnel", **{"from": "2026-06-01", "to": "2026-06-01"}).status == 200
    assert analytics_api("funnel", **{"from": "1000-01-01", "to": "9999-12-31"}).status == 200


@pytest.mark.parametrize("report", ["completion-rate", "funnel", "completion-time", "incomplete"])
@pytest.mark.parametrize(
    ("name", "value"),
    [("to", "0"), ("from", "86400"), ("to", "1780000000"), ("from", "1780000000.5"), ("to", "-86400")],
)
def test_unix_epoch_numbers_are_not_dates(analytics_api, report: str, name: str, value: str) -> None:
    # Lax parsing read a multiple of 86400 as a date (to=0: 1970-01-01).
    response = analytics_api(report, **{name: value})
    assert response.status == 422
    assert [d["field"] for d in response.json["error"]["details"]] == [f"query.{name}"]


@pytest.mark.parametrize(
    "value",
    [
        "2026-06-10T12:00:00+16:00",
        "2026-06-10T12:00",
        "2026-06-10 12:00:00Z",
        "2026-06-10T12:00:00",
        "0999-01-01",
    ],
)
def test_date_times_need_an_offset_the_database_can_store(analytics_api, value: str) -> None:
    response = analytics_api("funnel", **{"from": value})
    assert (response.status, response.json["error"]["details"][0]["field"]) == (422, "query.from")


def test_a_period_of_date_times_counts_the_instants_between_them(analytics_api, make_org, db) -> None:
    [org] = add_orgs(make_org, db, [{}])
    add_metrics(db, org, "wizard_started", 1, timestamp=JUNE_10 - timedelta(hours=1))
    add_metrics(db, org, "wizard_started", 2, timestamp=JUNE_10)
    add_metrics(db, org, "wizard_started", 4, timestamp=JUNE_10 + timedelta(hours=1))
    # 2026-06-10T12:00Z written as 08:00-04:00; both bounds inclusive.
    at = JUNE_10.astimezone(timezone(timedelta(hours=-4))).isoformat()
    response = analytics_api("funnel", **{"from": at, "to": at}).json
    assert response["started_count"] == 2
    # The period is echoed in UTC.
    assert response["period"] == {"from": _utc(JUNE_10), "to": _utc(JUNE_10)}
    day_and_instant = analytics_api("funnel", **{"from": "2026-06-10", "to": at}).json
    assert day_and_instant["started_count"] == 3


def test_from_after_to_compares_days_and_instants(analytics_api) -> None:
    response = analytics_api("funnel", **{"from": "2026-06-11", "to": "2026-06-10T23:59:59Z"})
    assert response.status == 422
    assert response.json["error"]["details"][0]["type"] == "date_range"
    assert analytics_api("funnel", **{"from": "2026-06-10T23:59:59Z", "to": "2026-06-10"}).status == 200


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- Access and privacy ---


@pytest.mark.parametrize("report", ["completion-rate", "funnel", "completion-time", "incomplete"])
def test_org_admins_are_forbidden(analytics_api, report: str) -> None:
    assert analytics_api(report, claims=admin_claims("org_1")).status == 403


def test_no_identity_is_401(call) -> None:
    assert call(lambda_handler)("GET", "/v1/analytics/funnel", claims={}).status == 401


@pytest.mark.parametrize("report", ["completion-rate", "funnel", "completion-time"])
def test_aggregates_name_no_organization(analytics_api, make_org, db, report: str) -> None:
    [org] = add_orgs(make_org, db, [COMPLETED])
    add_metrics(db, org, "wizard_started")
    add_metrics(db, org, "wizard_completed", completion_time_minutes=12)
    text = json.dumps(analytics_api(report).json)
    assert "org_1" not in text and "Parish" not in text


@pytest.mark.parametrize("report", ["completion-rate", "funnel", "completion-time", "incomplete"])
def test_each_report_is_one_statement(analytics_api, make_org, db, report: str) -> None:
    add_orgs(make_org, db, [{}, COMPLETED])
    with recorded_statements() as statements:
        assert analytics_api(report).status == 200
    assert len(statements) == 1


@pytest.mark.versions  # a query plan: checked on PostgreSQL 15 and 18
def test_incomplete_pages_read_the_partial_index_of_incomplete_organizations(db: Session) -> None:
    statement = analytics.incomplete_organizations_statement(analytics.period(None, None), limit=100)
    compiled = statement.compile(dialect=db.get_bind().dialect, compile_kwargs={"literal_binds": True})
    # The table is tiny, its statistics whatever earlier tests left: make the ordered index the choice.
    db.execute(text("SET LOCAL enable_seqscan = off"))
    db.execute(text("SET LOCAL enable_sort = off"))
    plan = "\n".join(db.execute(text(f"EXPLAIN {compiled}")).scalars())
    db.rollback()
    assert "idx_state_incomplete_started" in plan


def relation_loops(plan: dict[str, Any], loops: dict[str, int] | None = None) -> dict[str, int]:
    loops = {} if loops is None else loops
    if "Relation Name" in plan:
        loops[plan["Relation Name"]] = loops.get(plan["Relation Name"], 0) + plan["Actual Loops"]
    for child in plan.get("Plans", []):
        relation_loops(child, loops)
    return loops


@pytest.mark.versions  # a query plan: checked on PostgreSQL 15 and 18
def test_completion_rate_reads_each_organizations_stored_count_not_its_progress(
    analytics_api, make_org, db, engine
) -> None:
    done = {"completed": True}
    add_orgs(make_org, db, [{"checklist_progress": {"add_team": done}} for _ in range(8)])
    with captured_statements() as statements:
        response = analytics_api("completion-rate").json
    [(sql, parameters)] = statements
    assert "checklist_progress" not in sql  # no JSON evaluated per organization
    assert response["avg_tasks_completed"] == 1
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, parameters)
        plan = cursor.fetchall()[0][0][0]["Plan"]
    finally:
        raw.close()
    # Twice for total_tasks: never once per organization (8 here).
    assert relation_loops(plan)["onboarding_checklist_task"] <= 2


def stored_count(db, org_id: str) -> int:
    db.expire_all()
    return int(
        db.scalar(
            select(OnboardingState.checklist_completed_count).where(OnboardingState.organization_id == org_id)
        )
    )


def test_the_stored_count_follows_the_progress_whoever_writes_it(make_org, db) -> None:
    done, undone = {"completed": True}, {"completed": False}
    [org] = add_orgs(make_org, db, [{"checklist_progress": {"add_team": done, "view_reports": undone}}])
    assert stored_count(db, org) == 1
    db.execute(
        update(OnboardingState)
        .where(OnboardingState.organization_id == org)
        .values(checklist_progress={"add_team": done, "view_reports": done, "retired_task": done})
    )
    db.commit()
    assert stored_count(db, org) == 2  # an id that is no active task is not counted
    db.execute(
        update(OnboardingState).where(OnboardingState.organization_id == org).values(checklist_progress={})
    )
    db.commit()
    assert stored_count(db, org) == 0


def test_the_stored_count_follows_completions_the_checklist_stores(api, org, db) -> None:
    api("PUT", "/v1/onboarding/checklist/complete_profile", body={"completed": True}, org=org)
    api("PUT", "/v1/onboarding/checklist/add_team", body={"completed": True}, org=org)
    assert stored_count(db, org) == 2
    api("PUT", "/v1/onboarding/checklist/add_team", body={"completed": False}, org=org)
    assert stored_count(db, org) == 1


def scanned_relations(plan: dict[str, Any], found: set[str] | None = None) -> set[str]:
    found = set() if found is None else found
    if "Relation Name" in plan:
        found.add(plan["Relation Name"])
    for child in plan.get("Plans", []):
        scanned_relations(child, found)
    return found


@pytest.mark.versions  # a query plan: checked on PostgreSQL 15 and 18
@pytest.mark.parametrize("report", ["funnel", "completion-time"])
def test_a_report_for_a_period_reads_only_the_partitions_of_its_months(analytics_api, engine, report) -> None:
    this_month = month_start(datetime.now(UTC))
    last_month = month_start(this_month, -1)
    query = {"from": last_month.date().isoformat(), "to": (this_month + timedelta(days=2)).date().isoformat()}
    with captured_statements() as statements:
        assert analytics_api(report, **query).status == 200
        assert analytics_api(report).status == 200  # all time
    plans = []
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for sql, parameters in statements:
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, parameters)
            plans.append(scanned_relations(cursor.fetchall()[0][0][0]["Plan"]))
    finally:
        raw.close()
    period, all_time = plans
    # The funnel also reads onboarding_state (who started in the period, who has been idle).
    assert period - {"onboarding_state"} == {partition_name(last_month), partition_name(this_month)}
    assert {partition_name(last_month), partition_name(this_month), "onboarding_metric_default"} < all_time
