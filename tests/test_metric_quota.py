"""The daily cap on an organization's client metric events (onboarding.metric_quota), through the
metrics function's handler: over the cap a 429 in the contract's shape with Retry-After, nothing of the
batch stored; service-emitted metrics never capped; exact under concurrent batches."""

import math
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from onboarding import container
from onboarding.metric_quota import seconds_until_next_utc_day
from onboarding.models import OnboardingMetric, OnboardingMetricQuota, Organization
from onboarding.settings import Settings
from tests.api_routes import ROUTES, metric_event
from tests.api_routes import send as send_route
from tests.concurrency import run_together
from tests.fixtures import ORG, admin_claims
from tools.template import load_template

PATH = "/v1/onboarding/metrics"
CAP = 300


@pytest.fixture
def started_org(make_started_org: Callable[..., str]) -> str:
    """The organization "org_a", its onboarding started: metrics are stored from then on."""
    return make_started_org()


@pytest.fixture
def cap(monkeypatch: pytest.MonkeyPatch):
    """The metrics function with METRIC_DAILY_QUOTA=300 (read once per container)."""
    monkeypatch.setenv("METRIC_DAILY_QUOTA", str(CAP))
    container.reset()
    yield CAP
    monkeypatch.undo()
    container.reset()


@pytest.fixture
def send(api):
    def post(count: int, org_id: str = ORG, events: list[dict[str, Any]] | None = None):
        return api(
            "POST", PATH, org=org_id, body={"events": events or [metric_event() for _ in range(count)]}
        )

    return post


def client_rows(db: Session, org_id: str = ORG) -> int:
    db.expire_all()
    return (
        db.scalar(
            select(func.count())
            .select_from(OnboardingMetric)
            .where(OnboardingMetric.organization_id == org_id, OnboardingMetric.client_event_id.is_not(None))
        )
        or 0
    )


def counted_today(db: Session, org_id: str = ORG) -> int | None:
    db.expire_all()
    return db.scalar(
        select(OnboardingMetricQuota.events).where(OnboardingMetricQuota.organization_id == org_id)
    )


def test_batches_up_to_the_cap_are_stored(send, cap, started_org, db: Session) -> None:
    for _ in range(3):
        assert send(100).json == {"accepted": 100, "duplicates": 0}
    assert client_rows(db) == 300
    assert counted_today(db) == 300


def test_the_batch_that_would_pass_the_cap_is_429_with_retry_after_and_stores_nothing(
    send, cap, started_org, db: Session
) -> None:
    send(100), send(100), send(50)
    response = send(51)
    assert response.status == 429
    error = response.json["error"]
    assert error["code"] == "quota_exceeded" and error["details"] == []
    assert "300" in error["message"]
    expected = seconds_until_next_utc_day(datetime.now(UTC))
    assert abs(int(response.headers["Retry-After"]) - expected) <= 2
    assert client_rows(db) == 250
    assert counted_today(db) == 250


def test_a_batch_that_fills_the_cap_exactly_is_accepted_and_the_next_event_is_not(
    send, cap, started_org, db: Session
) -> None:
    send(100), send(100), send(50)
    assert send(50).status == 200
    assert send(1).status == 429
    assert client_rows(db) == CAP


def test_every_event_of_a_batch_counts_replays_too(send, cap, started_org, db: Session) -> None:
    batch = [metric_event() for _ in range(100)]
    for _ in range(3):
        send(0, events=batch)
    assert send(0, events=batch).status == 429
    assert client_rows(db) == 100
    assert counted_today(db) == CAP


def test_the_cap_starts_again_on_the_next_utc_day(send, cap, started_org, db: Session) -> None:
    send(100), send(100), send(100)
    assert send(1).status == 429
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    db.execute(update(OnboardingMetricQuota).values(day=yesterday))
    db.commit()
    assert send(100).status == 200
    assert counted_today(db) == 100


def test_each_organization_has_a_cap_of_its_own(
    send, cap, started_org, make_started_org, db: Session
) -> None:
    send(100), send(100), send(100)
    other = make_started_org("org_b")
    assert send(100, org_id=other).status == 200
    assert send(1).status == 429
    assert client_rows(db, other) == 100


def test_service_emitted_metrics_are_never_capped(send, cap, started_org, api, db: Session) -> None:
    send(100), send(100), send(100)
    assert send(1).status == 429
    # Skipping the wizard records wizard_skipped (service-emitted) after the cap is reached.
    assert api("POST", "/v1/onboarding/wizard/skip", org=started_org).status == 200
    db.expire_all()
    skipped = db.scalar(
        select(func.count()).where(
            OnboardingMetric.organization_id == started_org, OnboardingMetric.event_type == "wizard_skipped"
        )
    )
    assert skipped == 1
    assert counted_today(db) == CAP


def test_an_organization_that_does_not_exist_is_404_and_counts_nothing(send, cap, db: Session) -> None:
    assert send(1, org_id="org_missing").status == 404
    assert counted_today(db, "org_missing") is None


def test_before_onboarding_has_started_a_batch_is_404_and_counts_nothing(
    send, cap, new_org, db: Session
) -> None:
    # Nothing is reserved for an organization that has not started, so the ingest's one statement,
    # sent as its own transaction, writes nothing there.
    assert send(10).status == 404
    assert counted_today(db) is None


def test_deleting_an_organization_deletes_its_count(send, cap, started_org, db: Session) -> None:
    send(10)
    db.execute(delete(Organization).where(Organization.id == started_org))
    db.commit()
    assert counted_today(db) is None


def test_the_default_is_ten_thousand_events_and_the_template_passes_its_parameter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("METRIC_DAILY_QUOTA", raising=False)
    assert Settings().metric_daily_quota == 10_000
    template = load_template()
    assert template["Parameters"]["MetricDailyQuota"]["Default"] == 10_000
    variables = template["Resources"]["MetricsFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["METRIC_DAILY_QUOTA"] == {"Ref": "MetricDailyQuota"}


@pytest.mark.parametrize("value", ["99", "0", "-1", "many"])
def test_a_cap_below_one_full_batch_is_refused_at_cold_start(value: str) -> None:
    with pytest.raises(ValueError, match="METRIC_DAILY_QUOTA"):
        Settings.model_validate({"METRIC_DAILY_QUOTA": value})


# --- Concurrent batches ---


def _post_batch(events: int) -> int:
    route = next(route for route in ROUTES if route.route_key == f"POST {PATH}")
    body = {"events": [metric_event() for _ in range(events)]}
    return send_route(route, claims=admin_claims(ORG), body=body).status


def test_concurrent_batches_never_pass_the_cap_together(cap, started_org, db: Session) -> None:
    # Twelve batches of 100 at the same moment, each in its own process, against a cap of 300: three
    # are stored, nine refused whole, whatever the order they reach the quota row in.
    statuses = Counter(run_together([partial(_post_batch, 100) for _ in range(12)]))
    assert statuses == {200: 3, 429: 9}
    assert client_rows(db) == CAP
    assert counted_today(db) == CAP


def test_concurrent_first_batches_of_the_day_are_all_counted(cap, started_org, db: Session) -> None:
    # No quota row yet: the racing inserts of the day's first row must not lose a count.
    statuses = Counter(run_together([partial(_post_batch, 30) for _ in range(8)]))
    assert statuses == {200: 8}
    assert counted_today(db) == 240 == client_rows(db)


def test_retry_after_counts_the_seconds_to_midnight_utc() -> None:
    assert seconds_until_next_utc_day(datetime(2026, 3, 1, 23, 59, 59, 500_000, tzinfo=UTC)) == 1
    assert seconds_until_next_utc_day(datetime(2026, 3, 1, 0, 0, tzinfo=UTC)) == 86_400
    assert seconds_until_next_utc_day(datetime(2026, 3, 1, 12, 0, 0, 1, tzinfo=UTC)) == math.ceil(
        43_199.999999
    )
