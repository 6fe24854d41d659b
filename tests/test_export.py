"""GET /v1/onboarding/export through the real handler: the caller's whole onboarding record, paged metrics."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from functions.export.app import lambda_handler
from functions.tutorials.app import lambda_handler as tutorials_handler
from onboarding.models import (
    OnboardingMetric,
    OnboardingMetricArchive,
    OnboardingState,
    OnboardingTutorialCompletion,
)
from tests.fixtures import ORG, admin_claims, timestamps_in
from tests.host_rows import start_onboarding
from tests.sql_statements import recorded_statements
from tests.wizard_steps import complete_steps, step_body

PATH = "/v1/onboarding/export"


@pytest.fixture
def exported_org(make_org, db: Session, call):
    make_org("org_a")
    start_onboarding(db, "org_a", wizard_step_data={"step_1": {"organization_name": "Grace Church"}})
    call(tutorials_handler)(
        "POST", "/v1/onboarding/tutorials/solver_run/complete", claims=admin_claims("org_a")
    )
    return "org_a"


@pytest.fixture
def export_api(api):
    def get(org_id: str = ORG, **query: str):
        return api("GET", PATH, org=org_id, query=query or None)

    return get


def add_metrics(db: Session, org_id: str, count: int, at: datetime | None = None) -> None:
    """`count` metrics; with `at`, all with the same timestamp (as one multi-row insert leaves them)."""
    rows = [
        {"organization_id": org_id, "event_type": "view_reports", "client_event_id": uuid.uuid4()}
        | (
            {"timestamp": at}
            if at
            else {"timestamp": datetime(2026, 6, 1, tzinfo=UTC) + timedelta(minutes=i)}
        )
        for i in range(count)
    ]
    db.execute(insert(OnboardingMetric), rows)
    db.commit()


def column_names(model: Any) -> set[str]:
    return {column.name for column in model.__table__.columns}


def test_the_export_holds_state_tutorials_and_metrics(export_api, exported_org) -> None:
    response = export_api()
    assert response.status == 200
    document = response.json
    assert document["organization_id"] == "org_a"
    assert document["onboarding_state"]["wizard_step_data"] == {
        "step_1": {"organization_name": "Grace Church"}
    }
    assert [(t["tutorial_id"], t["completed"]) for t in document["tutorials"]] == [("solver_run", True)]
    assert sorted(m["event_type"] for m in document["metrics"]) == ["tutorial_completed", "tutorial_started"]
    assert document["metrics_next_cursor"] is None


def test_every_stored_column_is_exported(export_api, exported_org, db: Session) -> None:
    add_metrics(db, exported_org, 1)
    document = export_api().json
    assert set(document["onboarding_state"]) == column_names(OnboardingState)
    assert set(document["tutorials"][0]) == column_names(OnboardingTutorialCompletion)
    assert all(set(metric) == column_names(OnboardingMetric) for metric in document["metrics"])


def test_an_org_that_never_started_onboarding_is_404_as_on_every_other_route(export_api, make_org) -> None:
    make_org("org_new")
    response = export_api("org_new")
    assert (response.status, response.json["error"]["code"]) == (404, "onboarding_not_started")


def test_an_org_that_does_not_exist_is_404(export_api) -> None:
    response = export_api("org_ghost")
    assert (response.status, response.json["error"]["code"]) == (404, "organization_not_found")


def test_every_timestamp_of_the_export_is_utc_with_z(export_api, api, org, db: Session) -> None:
    # Columns, the wizard's stored answers (an event time sent with -05:00 among them) and the metrics
    # alike: RFC 3339, UTC, `Z`.
    complete_steps(api, org, through=1)
    event_at = (datetime.now(UTC) + timedelta(days=3)).astimezone(timezone(timedelta(hours=-5)))
    api("PUT", "/v1/onboarding/wizard/steps/2", body={**step_body(2), "event_datetime": event_at.isoformat()})
    api("POST", "/v1/onboarding/tutorials/solver_run/complete")
    add_metrics(db, org, 2)
    document = export_api().json
    stamps = list(timestamps_in(document))
    assert len(stamps) > 10 and all(stamp.endswith("Z") for stamp in stamps), stamps
    assert document["onboarding_state"]["wizard_step_data"]["step_2"]["event_datetime"].endswith("Z")


def test_nothing_of_another_org_is_exported(export_api, exported_org, make_org, db: Session, call) -> None:
    make_org("org_b", name="Other Parish")
    start_onboarding(db, "org_b", wizard_step_data={"step_1": {"organization_name": "Other Parish"}})
    call(tutorials_handler)(
        "POST", "/v1/onboarding/tutorials/teams_setup/views", claims=admin_claims("org_b")
    )
    add_metrics(db, "org_b", 3)
    text = json.dumps(export_api().json)
    assert "org_b" not in text and "Other Parish" not in text and "teams_setup" not in text


def test_the_export_is_one_statement(export_api, exported_org, db: Session) -> None:
    add_metrics(db, exported_org, 5)
    with recorded_statements() as statements:
        export_api()
    assert len(statements) == 1


@pytest.mark.parametrize("same_timestamp", [False, True])
def test_metrics_come_in_pages_without_gaps_or_repeats(
    export_api, exported_org, db: Session, same_timestamp: bool
) -> None:
    add_metrics(db, exported_org, 7, at=datetime(2026, 6, 1, tzinfo=UTC) if same_timestamp else None)
    expected = sorted(
        (m["timestamp"], m["id"]) for m in export_api(limit="500").json["metrics"]
    )  # 7 + the 2 tutorial metrics
    seen: list[tuple[str, str]] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = export_api(limit="4", **({"cursor": cursor} if cursor else {})).json
        seen += [(m["timestamp"], m["id"]) for m in page["metrics"]]
        pages += 1
        assert page["onboarding_state"] is not None  # every page is a complete document
        cursor = page["metrics_next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == 9
    assert sorted(seen) == expected


def test_archived_metrics_are_exported_first_and_the_pages_run_through_both_tables(
    export_api, exported_org, db: Session
) -> None:
    old = datetime(2024, 3, 1, tzinfo=UTC)
    archived = [
        {"organization_id": exported_org, "event_type": "view_reports", "timestamp": old + timedelta(hours=i)}
        for i in range(3)
    ]
    db.execute(insert(OnboardingMetricArchive), archived)
    db.commit()
    add_metrics(db, exported_org, 2)
    seen: list[tuple[str, str]] = []
    cursor: str | None = None
    while True:
        page = export_api(limit="2", **({"cursor": cursor} if cursor else {})).json
        seen += [(m["timestamp"], m["event_type"]) for m in page["metrics"]]
        cursor = page["metrics_next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7  # 3 archived, 2 added, the 2 tutorial metrics
    assert len(set(seen)) == 7
    # Oldest first (rows of one instant come in id order, which says nothing about their type).
    assert [at for at, _ in seen] == sorted(at for at, _ in seen)
    assert [at[:4] for at, _ in seen[:3]] == ["2024"] * 3


def test_another_orgs_cursor_only_moves_within_my_own_metrics(
    export_api, exported_org, make_org, db: Session
) -> None:
    make_org("org_b")
    start_onboarding(db, "org_b")
    add_metrics(db, "org_b", 3)
    cursor = export_api("org_b", limit="1").json["metrics_next_cursor"]
    assert all(m["organization_id"] == "org_a" for m in export_api(cursor=cursor).json["metrics"])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "query.limit"),
        ({"limit": "501"}, "query.limit"),
        ({"limit": "many"}, "query.limit"),
        ({"cursor": "garbage"}, "query.cursor"),
        ({"cursor": "x" * 301}, "query.cursor"),
        (
            {"cursor": base64.urlsafe_b64encode(b'["9999-12-31T23:59:59-23:59", "m"]').decode()},
            "query.cursor",
        ),
    ],
)
def test_bad_paging_parameters_are_422(export_api, exported_org, query: dict[str, Any], field: str) -> None:
    response = export_api(**query)
    assert response.status == 422
    assert response.json["error"]["details"][0]["field"] == field


def test_analysts_cannot_export_an_org(call) -> None:
    claims = {"custom:org_id": "org_a", "cognito:groups": ["platform_analyst"]}
    assert call(lambda_handler)("GET", PATH, claims=claims).status == 403


def test_no_identity_is_401(call) -> None:
    assert call(lambda_handler)("GET", PATH, claims={}).status == 401
