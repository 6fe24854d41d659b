"""`onboarding_report_views`: the rollup of `view_reports` events the checklist reads instead of
onboarding_metric (migration 0012_report_views). It must say what the metric rows say, whoever stored
them, and the checklist must answer as it did when it counted the metric rows itself."""

import importlib.util
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from onboarding import checklist, counters
from onboarding.counters import Counter
from onboarding.models import OnboardingChecklistTask, OnboardingMetric, OnboardingReportViews
from tests.fixtures import ORG

NOW = datetime.now(UTC).replace(microsecond=0)


def from_the_metrics(db: Session, org_id: str) -> tuple[int, list[datetime]]:
    """What the checklist computed before the rollup: the count and the earliest timestamps."""
    times = db.scalars(
        select(OnboardingMetric.timestamp)
        .where(OnboardingMetric.organization_id == org_id, OnboardingMetric.event_type == "view_reports")
        .order_by(OnboardingMetric.timestamp)
    ).all()
    return len(times), list(times[: checklist.KNOWN_ROW_TIMES])


def from_the_rollup(db: Session, org_id: str) -> tuple[int, list[datetime]]:
    row = db.get(OnboardingReportViews, org_id, populate_existing=True)
    return (0, []) if row is None else (row.events, list(row.first_at))


def test_the_rollup_keeps_what_the_metric_rows_say_in_any_order_of_arrival(make_org, db: Session) -> None:
    org, other = make_org(ORG), make_org("org_b")
    # Fifteen report views spread over earlier months (the default partition), this month and the
    # next ones, stored one by one and in a multi-row statement, in shuffled order; other events beside.
    offsets = [timedelta(days=d, minutes=m) for d, m in zip(range(-400, 90, 33), range(15), strict=True)]
    random.Random(16).shuffle(offsets)
    for offset in offsets[:8]:
        db.add(OnboardingMetric(organization_id=org, event_type="view_reports", timestamp=NOW + offset))
        db.add(OnboardingMetric(organization_id=org, event_type="wizard_started", timestamp=NOW + offset))
        db.flush()
    db.execute(
        insert(OnboardingMetric),
        [
            {"organization_id": org, "event_type": "view_reports", "timestamp": NOW + offset}
            for offset in offsets[8:]
        ],
    )
    db.add(OnboardingMetric(organization_id=other, event_type="view_reports", timestamp=NOW))
    db.commit()

    assert from_the_rollup(db, org) == from_the_metrics(db, org)
    assert from_the_rollup(db, org)[0] == 15
    assert from_the_rollup(db, other) == (1, [NOW])
    assert from_the_rollup(db, "org_without_views") == (0, [])
    assert counters.count(db, org, [Counter.VIEW_REPORTS_EVENTS]) == {Counter.VIEW_REPORTS_EVENTS: 15}
    assert counters.count(db, "org_b", [Counter.VIEW_REPORTS_EVENTS]) == {Counter.VIEW_REPORTS_EVENTS: 1}


def test_a_resent_event_is_counted_once(api, org, db: Session) -> None:
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "view_reports",
            "timestamp": (NOW - timedelta(hours=h)).isoformat(),
        }
        for h in (1, 2)
    ]
    for _ in range(2):
        assert api("POST", "/v1/onboarding/metrics", body={"events": events}).status == 200
    assert (
        from_the_rollup(db, org)
        == from_the_metrics(db, org)
        == (2, [NOW - timedelta(hours=2), NOW - timedelta(hours=1)])
    )


def test_the_checklist_answers_as_from_the_metric_rows(api, org, db: Session) -> None:
    # A task that needs three report views: it completes with the third, at the third's time.
    db.add(
        OnboardingChecklistTask(
            id="view_reports_thrice",
            title_key="onboarding.checklist.view_reports",
            description_key="onboarding.checklist.view_reports_desc",
            completion_criteria={"type": "database_query", "counter": "view_reports_events", "threshold": 3},
            priority_order=7,
        )
    )
    db.commit()

    def send(*hours_ago: int) -> None:
        events = [
            {
                "event_id": str(uuid.uuid4()),
                "event_type": "view_reports",
                "timestamp": (NOW - timedelta(hours=h)).isoformat(),
            }
            for h in hours_ago
        ]
        assert api("POST", "/v1/onboarding/metrics", body={"events": events}).status == 200

    def tasks() -> dict[str, dict[str, Any]]:
        return {task["id"]: task for task in api("GET", "/v1/onboarding/checklist").json["tasks"]}

    send(30, 50)
    first = tasks()["view_reports"]["completed_at"]
    assert first is not None and datetime.fromisoformat(first) == NOW - timedelta(hours=50)
    assert not tasks()["view_reports_thrice"]["completed"]
    send(10, 40, 70)  # arrives later, partly earlier than what came before
    done = tasks()
    assert done["view_reports"]["completed_at"] == first  # stored when first seen: it stays
    # The third earliest of 70, 50, 40, 30, 10 hours ago.
    assert datetime.fromisoformat(done["view_reports_thrice"]["completed_at"]) == NOW - timedelta(hours=40)
    assert db.scalar(select(func.count()).select_from(OnboardingReportViews)) == 1


def test_the_migration_keeps_as_many_times_as_the_checklist_reads() -> None:
    path = Path(__file__).parents[1] / "migrations" / "versions" / "0012_report_views.py"
    spec = importlib.util.spec_from_file_location("report_views_migration", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.REPORT_TIMES == checklist.KNOWN_ROW_TIMES
