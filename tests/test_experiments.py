"""A/B experiments: definitions as data, each organization's variant assigned once at start
(deterministic hash or the client's choice), in the state and the export; analytics split by variant."""

import hashlib
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from onboarding.models import OnboardingExperiment, OnboardingState
from tests.fixtures import admin_claims, analyst_claims
from tests.test_analytics import COMPLETED, add_metrics

VIDEO_INTRO = {
    "id": "wizard_video_intro",
    "description": "A video on step 1",
    "variants": [{"id": "control", "weight": 1}, {"id": "video", "weight": 1}],
}


def define(db: Session, **overrides: Any) -> None:
    db.execute(insert(OnboardingExperiment).values(**{**VIDEO_INTRO, **overrides}))
    db.commit()


def start(api, make_org, org_id: str, body: dict[str, Any] | None = None):
    make_org(org_id)
    return api("POST", "/v1/onboarding", org=org_id, claims=admin_claims(org_id), body=body)


def expected_variant(experiment: str, org_id: str, variants: list[tuple[str, int]]) -> str:
    """The documented rule, recomputed in Python: md5 of "<experiment>:<org>", first 32 bits."""
    bucket = int(hashlib.md5(f"{experiment}:{org_id}".encode()).hexdigest()[:8], 16) % sum(
        w for _, w in variants
    )
    upto = 0
    for name, weight in variants:
        upto += weight
        if bucket < upto:
            return name
    raise AssertionError


@pytest.fixture
def analytics_api(api):
    def get(report: str, **query: str):
        return api("GET", f"/v1/analytics/{report}", claims=analyst_claims(), query=query or None)

    return get


# --- Assignment ---


def test_starting_assigns_a_variant_of_every_active_experiment_by_a_stable_hash(
    api, make_org, db: Session
) -> None:
    define(db)
    define(db, id="checklist_order", variants=[{"id": "a", "weight": 3}, {"id": "b", "weight": 1}])
    for number in range(12):
        org_id = f"org_{number}"
        state = start(api, make_org, org_id).json
        assert state["experiments"] == {
            "wizard_video_intro": {
                "variant": expected_variant("wizard_video_intro", org_id, [("control", 1), ("video", 1)]),
                "source": "hash",
            },
            "checklist_order": {
                "variant": expected_variant("checklist_order", org_id, [("a", 3), ("b", 1)]),
                "source": "hash",
            },
        }


def test_hash_assignment_follows_the_weights(api, make_org, db: Session) -> None:
    define(db, variants=[{"id": "control", "weight": 1}, {"id": "video", "weight": 0 + 3}])
    variants = [
        start(api, make_org, f"org_{n}").json["experiments"]["wizard_video_intro"]["variant"]
        for n in range(40)
    ]
    assert variants == [
        expected_variant("wizard_video_intro", f"org_{n}", [("control", 1), ("video", 3)]) for n in range(40)
    ]
    assert {"control", "video"} == set(variants)


def test_inactive_experiments_assign_nothing(api, make_org, db: Session) -> None:
    define(db, is_active=False)
    assert start(api, make_org, "org_a").json["experiments"] == {}


def test_the_client_can_choose_the_variant_at_start(api, make_org, db: Session) -> None:
    define(db)
    response = start(api, make_org, "org_a", {"experiments": {"wizard_video_intro": "video"}})
    assert response.status == 201
    assert response.json["experiments"] == {"wizard_video_intro": {"variant": "video", "source": "client"}}


@pytest.mark.parametrize(
    "choice",
    [{"wizard_video_intro": "nope"}, {"unknown_experiment": "video"}, {"wizard_video_intro": "Video!"}],
)
def test_a_choice_of_no_active_experiment_or_variant_is_422_and_starts_nothing(
    api, make_org, db: Session, choice: dict[str, str]
) -> None:
    define(db)
    response = start(api, make_org, "org_a", {"experiments": choice})
    assert response.status == 422
    assert response.json["error"]["details"][0]["field"].startswith("body.experiments")
    assert db.scalars(select(OnboardingState)).all() == []


def test_the_variant_is_stored_once(api, make_org, db: Session) -> None:
    define(db)
    first = start(api, make_org, "org_a").json["experiments"]
    # A later definition change or another start call does not reassign it.
    db.execute(
        update(OnboardingExperiment).values(variants=[{"id": "x", "weight": 1}, {"id": "y", "weight": 1}])
    )
    db.commit()
    again = api("POST", "/v1/onboarding", org="org_a", claims=admin_claims("org_a"), body={"experiments": {}})
    assert again.status == 200
    assert again.json["experiments"] == first
    assert (
        api("GET", "/v1/onboarding", org="org_a", claims=admin_claims("org_a")).json["experiments"] == first
    )


def test_the_export_includes_the_variants(api, make_org, db: Session) -> None:
    define(db)
    assigned = start(api, make_org, "org_a").json["experiments"]
    export = api("GET", "/v1/onboarding/export", org="org_a", claims=admin_claims("org_a")).json
    assert export["onboarding_state"]["experiments"] == assigned


@pytest.mark.parametrize(
    "variants",
    [
        [{"id": "only", "weight": 1}],
        [{"id": "a", "weight": 0}, {"id": "b", "weight": 1}],
        [{"id": "a", "weight": 1.5}, {"id": "b", "weight": 1}],
        [{"id": "A", "weight": 1}, {"id": "b", "weight": 1}],
        [{"id": "a"}, {"id": "b", "weight": 1}],
    ],
)
def test_the_table_refuses_malformed_definitions(db: Session, variants: list[dict[str, Any]]) -> None:
    with pytest.raises(DBAPIError):
        define(db, variants=variants)
    db.rollback()


# --- Analytics split by variant ---


def test_analysts_list_the_experiments(analytics_api, db: Session) -> None:
    define(db)
    [experiment] = analytics_api("experiments").json["experiments"]
    assert experiment["key"] == "wizard_video_intro"
    assert experiment["variants"] == ["control", "video"]
    assert experiment["weights"] == {"control": 1, "video": 1}
    assert (experiment["description"], experiment["is_active"]) == ("A video on step 1", True)


def test_org_admins_cannot_list_experiments(api) -> None:
    assert api("GET", "/v1/analytics/experiments", claims=admin_claims("org_a")).status == 403


@pytest.mark.parametrize("report", ["completion-rate", "funnel", "completion-time"])
def test_an_unknown_experiment_is_404(analytics_api, report: str) -> None:
    response = analytics_api(report, experiment="no_such_experiment")
    assert response.status == 404
    assert response.json["error"]["code"] == "experiment_not_found"


def chosen(api, make_org, db: Session, orgs: dict[str, str]) -> None:
    for org_id, variant in orgs.items():
        assert start(api, make_org, org_id, {"experiments": {"wizard_video_intro": variant}}).status == 201


def test_completion_rate_by_variant_with_wilson_intervals_and_newcombe_difference(
    api, make_org, analytics_api, db: Session
) -> None:
    define(db)
    control = {f"c_{n}": "control" for n in range(10)}
    video = {f"v_{n}": "video" for n in range(10)}
    chosen(api, make_org, db, {**control, **video})
    completed = [*list(control)[:3], *list(video)[:9]]
    db.execute(
        update(OnboardingState).where(OnboardingState.organization_id.in_(completed)).values(**COMPLETED)
    )
    db.commit()
    response = analytics_api("completion-rate", experiment="wizard_video_intro").json
    assert response["experiment"] == "wizard_video_intro"
    assert (response["started_count"], response["completed_count"]) == (20, 12)
    by_variant = {v["variant"]: v for v in response["variants"]}
    assert [v["variant"] for v in response["variants"]] == ["control", "video"]
    assert (by_variant["control"]["completed_count"], by_variant["control"]["started_count"]) == (3, 10)
    assert by_variant["video"]["completion_rate"] == 0.9
    interval = by_variant["control"]["completion_interval"]
    assert (round(interval["low"], 4), round(interval["high"], 4), interval["method"]) == (
        0.1078,
        0.6032,
        "wilson",
    )
    [comparison] = response["comparisons"]
    assert (comparison["variant"], comparison["baseline"]) == ("video", "control")
    assert round(comparison["difference"], 4) == 0.6
    # Newcombe 1998, Table II, example (b): 9/10 - 3/10 = 0.6000, 0.1705 to 0.8090.
    difference = comparison["difference_interval"]
    assert (round(difference["low"], 4), round(difference["high"], 4), difference["method"]) == (
        0.1705,
        0.8090,
        "newcombe",
    )


def test_a_variant_without_organizations_has_no_rate_and_no_comparison_interval(
    api, make_org, analytics_api, db: Session
) -> None:
    define(db)
    chosen(api, make_org, db, {"c_1": "control"})
    response = analytics_api("completion-rate", experiment="wizard_video_intro").json
    video = response["variants"][1]
    assert (video["started_count"], video["completion_rate"], video["completion_interval"]) == (0, None, None)
    assert response["comparisons"][0]["difference_interval"] is None


def test_funnel_by_variant(api, make_org, analytics_api, db: Session) -> None:
    define(db)
    chosen(api, make_org, db, {"c_1": "control", "c_2": "control", "v_1": "video"})
    db.execute(
        update(OnboardingState)
        .where(OnboardingState.organization_id == "c_2")
        .values(wizard_current_step=2, skipped=True, skipped_at=COMPLETED["completed_at"])
    )
    db.commit()
    add_metrics(db, "c_2", "wizard_skipped", wizard_step_dropped=2)
    response = analytics_api("funnel", experiment="wizard_video_intro").json
    assert response["experiment"] == "wizard_video_intro"
    control, video = response["variants"]
    assert (control["variant"], control["organizations"], control["started_count"]) == ("control", 2, 2)
    assert (video["variant"], video["organizations"], video["started_count"]) == ("video", 1, 1)
    assert [(s["reached"], s["dropped_skipped"], s["drop_off_count"]) for s in control["steps"][:2]] == [
        (2, 0, 0),
        (1, 1, 1),
    ]
    assert control["steps"][1]["drop_off_percent"] == 50.0
    assert [s["reached"] for s in video["steps"]] == [1, 0, 0, 0, 0]
    assert response["steps"][0]["reached"] == 3  # the whole population, as without a split


def test_organizations_that_started_before_the_experiment_are_in_no_variant(
    api, make_org, analytics_api, db: Session
) -> None:
    start(api, make_org, "org_early")
    define(db)
    response = analytics_api("funnel", experiment="wizard_video_intro").json
    assert [v["organizations"] for v in response["variants"]] == [0, 0]
    assert response["steps"][0]["reached"] == 1


def test_completion_time_by_variant(api, make_org, analytics_api, db: Session) -> None:
    define(db)
    chosen(api, make_org, db, {"c_1": "control", "v_1": "video"})
    add_metrics(db, "c_1", "wizard_completed", completion_time_minutes=10)
    add_metrics(db, "v_1", "wizard_completed", completion_time_minutes=40)
    add_metrics(db, "v_1", "wizard_completed", completion_time_minutes=50)
    response = analytics_api("completion-time", experiment="wizard_video_intro").json
    control, video = response["variants"]
    assert (control["variant"], control["completed_count"], control["median_minutes"]) == ("control", 1, 10.0)
    assert (video["variant"], video["completed_count"], video["median_minutes"]) == ("video", 2, 45.0)
    assert [b["count"] for b in video["distribution"]] == [0, 0, 0, 2, 0, 0, 0]
    assert response["completed_count"] == 3


@pytest.mark.parametrize("key", ["Wizard", "a\x00b", "x" * 51, ""])
def test_a_malformed_experiment_key_is_422(analytics_api, key: str) -> None:
    response = analytics_api("funnel", experiment=key)
    assert response.status == 422
    assert response.json["error"]["details"][0]["field"] == "query.experiment"
