"""/v1/analytics: the funnel of people who simply left, completion-time spread and the rate's interval."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.fixtures import analyst_claims
from tests.test_analytics import COMPLETED, SKIPPED, add_metrics, add_orgs

NOW = datetime.now(UTC)
IDLE_10_DAYS = {"updated_at": NOW - timedelta(days=10), "started_at": NOW - timedelta(days=12)}


@pytest.fixture
def analytics_api(api):
    def get(report: str, **query: str):
        return api("GET", f"/v1/analytics/{report}", claims=analyst_claims(), query=query or None)

    return get


def figures(step: dict[str, Any]) -> tuple[int, int, int, int, int]:
    return (
        step["reached"],
        step["completed"],
        step["dropped"],
        step["dropped_skipped"],
        step["dropped_inactive"],
    )


def test_an_organization_idle_at_step_1_for_longer_than_inactive_days_has_dropped_there(
    analytics_api, make_org, db: Session
) -> None:
    add_orgs(make_org, db, [IDLE_10_DAYS])
    steps = analytics_api("funnel").json["steps"]
    assert figures(steps[0]) == (1, 0, 1, 0, 1)
    assert steps[0]["drop_off_count"] == 0  # the data model's figure counts skips only


def test_inactive_days_is_a_query_parameter(analytics_api, make_org, db: Session) -> None:
    add_orgs(make_org, db, [IDLE_10_DAYS])
    response = analytics_api("funnel", inactive_days="14").json
    assert response["inactive_days"] == 14
    assert figures(response["steps"][0]) == (1, 0, 0, 0, 0)


def test_recent_activity_in_the_metrics_keeps_an_organization_from_dropping(
    analytics_api, make_org, db: Session
) -> None:
    [org] = add_orgs(make_org, db, [IDLE_10_DAYS])
    add_metrics(db, org, "tutorial_started", timestamp=NOW - timedelta(days=1))
    assert figures(analytics_api("funnel").json["steps"][0]) == (1, 0, 0, 0, 0)


def test_a_skipped_organization_is_dropped_where_it_skipped(analytics_api, make_org, db: Session) -> None:
    add_orgs(make_org, db, [{"wizard_current_step": 2, **SKIPPED}])
    steps = analytics_api("funnel").json["steps"]
    assert [figures(s) for s in steps[:3]] == [(1, 1, 0, 0, 0), (1, 0, 1, 1, 0), (0, 0, 0, 0, 0)]


def test_a_resumed_organization_is_no_longer_dropped_where_it_skipped(
    analytics_api, make_org, db: Session
) -> None:
    # It skipped at step 2 (the metric stays), then came back and is at step 3.
    [org] = add_orgs(make_org, db, [{"wizard_current_step": 3}])
    add_metrics(db, org, "wizard_started")
    add_metrics(db, org, "wizard_skipped", wizard_step_dropped=2)
    steps = analytics_api("funnel").json["steps"]
    assert [figures(s) for s in steps[:3]] == [(1, 1, 0, 0, 0), (1, 1, 0, 0, 0), (1, 0, 0, 0, 0)]
    # The data model's skip-based figure still counts the skip.
    assert (steps[1]["drop_off_count"], steps[1]["drop_off_percent"]) == (1, 100.0)


def test_a_completed_organization_reached_and_completed_every_step_and_never_drops(
    analytics_api, make_org, db: Session
) -> None:
    add_orgs(make_org, db, [{"wizard_current_step": 5, **COMPLETED, **IDLE_10_DAYS}])
    steps = analytics_api("funnel").json["steps"]
    assert [figures(s) for s in steps] == [(1, 1, 0, 0, 0)] * 5


def test_funnel_counts_each_organization_once_per_step(analytics_api, make_org, db: Session) -> None:
    add_orgs(
        make_org,
        db,
        [
            {},  # at step 1, active
            IDLE_10_DAYS,  # at step 1, left
            {"wizard_current_step": 3, **SKIPPED},
            {"wizard_current_step": 4, **IDLE_10_DAYS},
            {"wizard_current_step": 5, **COMPLETED},
        ],
    )
    steps = analytics_api("funnel").json["steps"]
    assert [figures(s) for s in steps] == [
        (5, 3, 1, 0, 1),
        (3, 3, 0, 0, 0),
        (3, 2, 1, 1, 0),
        (2, 1, 1, 0, 1),
        (1, 1, 0, 0, 0),
    ]
    for step in steps:  # every organization that reached a step completed it, dropped there, or is there
        assert step["dropped"] == step["dropped_skipped"] + step["dropped_inactive"]


def test_funnel_organizations_are_those_that_started_in_the_period(
    analytics_api, make_org, db: Session
) -> None:
    add_orgs(make_org, db, [{"started_at": datetime(2026, 6, 10, tzinfo=UTC)}, {}])
    steps = analytics_api("funnel", **{"from": "2026-06-01", "to": "2026-06-30"}).json["steps"]
    assert steps[0]["reached"] == 1


@pytest.mark.parametrize("days", ["0", "366", "seven", "-1"])
def test_inactive_days_is_one_to_365(analytics_api, days: str) -> None:
    response = analytics_api("funnel", inactive_days=days)
    assert response.status == 422
    assert response.json["error"]["details"][0]["field"] == "query.inactive_days"


# --- Completion time: spread ---


def test_completion_time_gives_quartiles_and_a_distribution(analytics_api, make_org, db: Session) -> None:
    [org] = add_orgs(make_org, db, [{}])
    for minutes in (3, 4, 14, 15, 45, 200, 2000, 5000):
        add_metrics(db, org, "wizard_completed", completion_time_minutes=minutes)
    response = analytics_api("completion-time").json
    # percentile_cont: linear interpolation between the closest ranks.
    assert (response["p25_minutes"], response["median_minutes"], response["p75_minutes"]) == (
        11.5,
        30.0,
        650.0,
    )
    assert response["distribution"] == [
        {"from_minutes": 0, "to_minutes": 5, "count": 2},
        {"from_minutes": 5, "to_minutes": 15, "count": 1},
        {"from_minutes": 15, "to_minutes": 30, "count": 1},
        {"from_minutes": 30, "to_minutes": 60, "count": 1},
        {"from_minutes": 60, "to_minutes": 120, "count": 0},
        {"from_minutes": 120, "to_minutes": 1440, "count": 1},
        {"from_minutes": 1440, "to_minutes": None, "count": 2},
    ]


def test_completion_time_without_completions_has_empty_buckets_and_no_quartiles(analytics_api) -> None:
    response = analytics_api("completion-time").json
    assert (response["p25_minutes"], response["p75_minutes"]) == (None, None)
    assert {bucket["count"] for bucket in response["distribution"]} == {0}
    assert response["distribution"][-1]["to_minutes"] is None


# --- Completion rate: interval ---


def test_completion_rate_has_a_wilson_interval(analytics_api, make_org, db: Session) -> None:
    add_orgs(make_org, db, [COMPLETED] * 3 + [{}] * 7)
    interval = analytics_api("completion-rate").json["completion_interval"]
    # Wilson, 3 of 10: 0.1078 to 0.6032.
    assert (round(interval["low"], 4), round(interval["high"], 4)) == (0.1078, 0.6032)
    assert (interval["confidence"], interval["method"]) == (0.95, "wilson")


def test_completion_rate_without_organizations_has_no_interval(analytics_api) -> None:
    assert analytics_api("completion-rate").json["completion_interval"] is None
