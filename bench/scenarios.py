"""One realistic request per route of template.yaml (several paths for some), ready to send many times.

A scenario arranges the database for `n` calls of its route (set-based, `bench.dataset`) and returns the
`n` events to send: calls that change state get an organization each where the change happens only
once per organization (starting onboarding, generating sample data, completing a tutorial...), the
others repeat on one organization in its steady state. The benchmark times and counts them; the test
suite (tests/test_round_trips.py) asserts the statement counts of the same scenarios.

`common` marks the path a route takes for most of its calls: the path the round-trip target applies to.
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from bench import dataset
from bench.harness import invoke
from onboarding.sample_data import SampleSize
from tools.lambda_events import http_api_event
from tools.template import functions, http_routes
from tools.wizard_events import step_body

ANALYST: dict[str, Any] = {"cognito:groups": "[platform_analyst]"}
METRICS_BATCH = (
    10  # events per POST /v1/onboarding/metrics in the route scenarios (the ingest section uses 100)
)


def admin(org_id: str) -> dict[str, Any]:
    return {"custom:org_id": org_id, "cognito:groups": "[org_admin]"}


@dataclass(frozen=True, slots=True)
class Call:
    """One request: the function (code directory) that serves it, its event and the status it must get."""

    function: str
    event: dict[str, Any]
    status: int


Arrange = Callable[[Engine, str, int], list[Call]]


@dataclass(frozen=True, slots=True)
class Scenario:
    route_key: str  # as in template.yaml: "PUT /v1/onboarding/wizard/steps/{step}"
    variant: str
    common: bool
    arrange: Arrange

    @property
    def name(self) -> str:
        return f"{self.route_key} ({self.variant})" if self.variant else self.route_key

    @property
    def function(self) -> str:
        for route in http_routes():
            if route.route_key == self.route_key:
                return functions()[route.function].area
        raise KeyError(f"{self.route_key} is not a route of template.yaml")


# --- Realistic organizations ---


def stored_steps(through: int) -> dict[str, Any]:
    """`wizard_step_data` after steps 1..`through` were saved."""
    at = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    return {
        f"step_{step}": {**step_body(step), "completed": True, "completed_at": at, "updated_at": at}
        for step in range(1, through + 1)
    }


def typical_orgs(engine: Engine, prefix: str, count: int, *, step: int = 3, metrics: int = 30) -> list[str]:
    """Organizations two days into onboarding: wizard at `step`, a few real events, teams, volunteers
    and assignments (below every feature-unlock threshold) and a week of client metrics."""
    ids = dataset.org_ids(prefix, count)
    with engine.begin() as connection:
        dataset.create_orgs(connection, ids)
        dataset.start_onboarding(connection, ids, step=step, step_data=stored_steps(step - 1))
        dataset.add_real_activity(connection, ids)
        if metrics:
            dataset.add_metrics(connection, ids, per_org=metrics)
    return ids


def settle_checklist(org_ids: Sequence[str]) -> None:
    """Let the service store the checklist completions the org has reached (its steady state)."""
    for org_id in org_ids:
        invoke("checklist", http_api_event("GET", "/v1/onboarding/checklist", claims=admin(org_id)), 200)


def metric_batch(size: int, *, salt: str = "") -> dict[str, Any]:
    """A client batch of `size` events with fresh ids (the three client event types, in turn)."""
    stamp = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    events: list[dict[str, Any]] = []
    for index in range(size):
        kind = index % 3
        event: dict[str, Any] = {"event_id": str(uuid.uuid4()), "timestamp": stamp}
        if kind == 0:
            event |= {
                "event_type": "wizard_step_viewed",
                "wizard_step_reached": index % 5 + 1,
                "step_duration_seconds": 30 + index,
                "session_id": "3f0c9a7e5b1d4c2a8e6f0b9d7c5a3e1f",
                "event_data": {"entry_point": "signup_flow", "attempt": index},
            }
        elif kind == 1:
            event |= {"event_type": "checklist_viewed", "event_data": {"tasks_visible": 6}}
        else:
            event |= {"event_type": "view_reports", "event_data": {"report": "coverage", "salt": salt}}
        events.append(event)
    return {"events": events}


# --- The scenarios ---


def _repeat(
    function: str,
    method: str,
    path: str,
    status: int = 200,
    *,
    body: Callable[[int], Any] | None = None,
    prepare: Callable[[Engine, str], str] | None = None,
    query: dict[str, str] | None = None,
    analyst: bool = False,
) -> Arrange:
    """The same request on one organization, `n` times (its body may vary with the call's index)."""

    def arrange(engine: Engine, prefix: str, n: int) -> list[Call]:
        org = prepare(engine, prefix) if prepare else typical_orgs(engine, prefix, 1)[0]
        claims = ANALYST if analyst else admin(org)
        return [
            Call(
                function,
                http_api_event(method, path, claims=claims, body=body(i) if body else None, query=query),
                status,
            )
            for i in range(n)
        ]

    return arrange


def _each_org(
    function: str,
    method: str,
    path: str,
    status: int,
    orgs: Callable[[Engine, str, int], list[str]],
    body: Callable[[int], Any] | None = None,
) -> Arrange:
    """The request once on each of `n` organizations arranged by `orgs` (a change that happens once)."""

    def arrange(engine: Engine, prefix: str, n: int) -> list[Call]:
        return [
            Call(
                function,
                http_api_event(method, path, claims=admin(org), body=body(i) if body else None),
                status,
            )
            for i, org in enumerate(orgs(engine, prefix, n))
        ]

    return arrange


def _settled(engine: Engine, prefix: str) -> str:
    org = typical_orgs(engine, prefix, 1)[0]
    settle_checklist([org])
    return org


def _with_sample_data(count: int) -> Callable[[Engine, str, int], list[str]]:
    def orgs(engine: Engine, prefix: str, n: int) -> list[str]:
        ids = typical_orgs(engine, prefix, n if count < 0 else count)
        with engine.begin() as connection:
            dataset.add_sample_data(connection, ids, SampleSize.STANDARD)
        return ids

    return orgs


def _one_with_sample_data(engine: Engine, prefix: str) -> str:
    return _with_sample_data(1)(engine, prefix, 1)[0]


def _new_orgs(engine: Engine, prefix: str, n: int) -> list[str]:
    ids = dataset.org_ids(prefix, n)
    with engine.begin() as connection:
        dataset.create_orgs(connection, ids)
    return ids


def _at_step(step: int) -> Callable[[Engine, str, int], list[str]]:
    def orgs(engine: Engine, prefix: str, n: int) -> list[str]:
        return typical_orgs(engine, prefix, n, step=step)

    return orgs


def _with_tutorial(tutorial: str, steps: int) -> Callable[[Engine, str, int], list[str]]:
    def orgs(engine: Engine, prefix: str, n: int) -> list[str]:
        ids = typical_orgs(engine, prefix, n)
        with engine.begin() as connection:
            dataset.add_tutorials(connection, ids, [(tutorial, steps)])
        return ids

    return orgs


def _one_with_tutorials(engine: Engine, prefix: str) -> str:
    org = typical_orgs(engine, prefix, 1)[0]
    with engine.begin() as connection:
        dataset.add_tutorials(connection, [org], [("events_intro", 4), ("teams_setup", 3), ("solver_run", 6)])
    return org


def _started(engine: Engine, prefix: str) -> str:
    return typical_orgs(engine, prefix, 1, step=1)[0]


def _metrics_route(engine: Engine, prefix: str, n: int) -> list[Call]:
    org = typical_orgs(engine, prefix, 1)[0]
    headers = {"user-agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36"}
    return [
        Call(
            "metrics",
            http_api_event(
                "POST",
                "/v1/onboarding/metrics",
                claims=admin(org),
                body=metric_batch(METRICS_BATCH),
                headers=headers,
            ),
            200,
        )
        for _ in range(n)
    ]


TUTORIALS = "/v1/onboarding/tutorials"
PERIOD = {"from": "2020-01-01", "to": "2099-12-31"}

SCENARIOS: tuple[Scenario, ...] = (
    # onboarding
    Scenario(
        "POST /v1/onboarding",
        "first call",
        True,
        _each_org("onboarding", "POST", "/v1/onboarding", 201, _new_orgs),
    ),
    Scenario(
        "POST /v1/onboarding",
        "again",
        False,
        _repeat("onboarding", "POST", "/v1/onboarding", prepare=_started),
    ),
    Scenario(
        "GET /v1/onboarding", "", True, _repeat("onboarding", "GET", "/v1/onboarding", prepare=_settled)
    ),
    Scenario(
        "PUT /v1/onboarding/wizard/steps/{step}",
        "next step",
        True,
        _each_org(
            "onboarding", "PUT", "/v1/onboarding/wizard/steps/1", 200, _at_step(1), lambda _: step_body(1)
        ),
    ),
    Scenario(
        "PUT /v1/onboarding/wizard/steps/{step}",
        "edit an earlier step",
        False,
        _repeat("onboarding", "PUT", "/v1/onboarding/wizard/steps/1", body=lambda _: step_body(1)),
    ),
    Scenario(
        "PUT /v1/onboarding/wizard/steps/{step}",
        "last step, completes",
        False,
        _each_org(
            "onboarding", "PUT", "/v1/onboarding/wizard/steps/5", 200, _at_step(5), lambda _: step_body(5)
        ),
    ),
    Scenario(
        "POST /v1/onboarding/wizard/skip",
        "",
        True,
        _each_org("onboarding", "POST", "/v1/onboarding/wizard/skip", 200, _at_step(2)),
    ),
    Scenario(
        "PUT /v1/onboarding/preferences",
        "",
        True,
        _repeat(
            "onboarding",
            "PUT",
            "/v1/onboarding/preferences",
            body=lambda i: {"show_all_features": i % 2 == 0},
        ),
    ),
    Scenario(
        "POST /v1/onboarding/sample-data",
        "",
        True,
        _each_org(
            "onboarding",
            "POST",
            "/v1/onboarding/sample-data",
            201,
            _at_step(3),
            lambda _: {"size": "standard", "expiry_days": 30},
        ),
    ),
    Scenario(
        "GET /v1/onboarding/sample-data",
        "",
        True,
        _repeat("onboarding", "GET", "/v1/onboarding/sample-data", prepare=_one_with_sample_data),
    ),
    Scenario(
        "DELETE /v1/onboarding/sample-data",
        "",
        True,
        _each_org("onboarding", "DELETE", "/v1/onboarding/sample-data", 200, _with_sample_data(-1)),
    ),
    Scenario(
        "POST /v1/onboarding/sample-data/extend",
        "",
        True,
        _repeat(
            "onboarding",
            "POST",
            "/v1/onboarding/sample-data/extend",
            body=lambda _: {"days": 7},
            prepare=_one_with_sample_data,
        ),
    ),
    # checklist
    Scenario(
        "GET /v1/onboarding/checklist",
        "",
        True,
        _repeat("checklist", "GET", "/v1/onboarding/checklist", prepare=_settled),
    ),
    Scenario(
        "PUT /v1/onboarding/checklist/{task_id}",
        "",
        True,
        _repeat(
            "checklist",
            "PUT",
            "/v1/onboarding/checklist/complete_profile",
            body=lambda i: {"completed": i % 2 == 0},
            prepare=_settled,
        ),
    ),
    # tutorials
    Scenario(
        "GET /v1/onboarding/tutorials",
        "",
        True,
        _repeat("tutorials", "GET", TUTORIALS, prepare=_one_with_tutorials),
    ),
    Scenario(
        "POST /v1/onboarding/tutorials/{tutorial_id}/views",
        "",
        True,
        _repeat("tutorials", "POST", f"{TUTORIALS}/events_intro/views", prepare=_one_with_tutorials),
    ),
    Scenario(
        "PUT /v1/onboarding/tutorials/{tutorial_id}/progress",
        "",
        True,
        _repeat(
            "tutorials",
            "PUT",
            f"{TUTORIALS}/events_intro/progress",
            body=lambda i: {"steps_completed": 1 + i % 2},
            prepare=_one_with_tutorials,
        ),
    ),
    Scenario(
        "POST /v1/onboarding/tutorials/{tutorial_id}/complete",
        "",
        True,
        _each_org(
            "tutorials", "POST", f"{TUTORIALS}/events_intro/complete", 200, _with_tutorial("events_intro", 4)
        ),
    ),
    Scenario(
        "POST /v1/onboarding/tutorials/{tutorial_id}/skip",
        "",
        True,
        _each_org(
            "tutorials", "POST", f"{TUTORIALS}/teams_setup/skip", 200, _with_tutorial("teams_setup", 3)
        ),
    ),
    # metrics, export
    Scenario("POST /v1/onboarding/metrics", f"{METRICS_BATCH} events", True, _metrics_route),
    Scenario("GET /v1/onboarding/export", "", True, _repeat("export", "GET", "/v1/onboarding/export")),
    # analytics (cross-organization: whatever else is in the database)
    *(
        Scenario(
            f"GET /v1/analytics/{name}",
            "",
            True,
            _repeat("analytics", "GET", f"/v1/analytics/{name}", query=PERIOD, analyst=True),
        )
        for name in ("funnel", "completion-time", "incomplete", "completion-rate")
    ),
)


def common_scenario(route_key: str) -> Scenario:
    return next(s for s in SCENARIOS if s.route_key == route_key and s.common)
