"""One realistic request per measured path of every route of template.yaml, ready to send many times.

The paths are declared on the routes themselves (`@measured`, `onboarding/measured.py`): the statements
each sends, the organization it finds (`Given`) and the request. This module turns a declaration into
a `Scenario`: it arranges the database for `n` calls (set-based, `tools.dataset`) and returns the `n`
events to send. Calls that change something once per organization (`once`) get an organization each;
the others repeat on one organization in its steady state. bench/ times and counts the scenarios;
tests/test_round_trips.py asserts their statement counts, and tests/api_routes.py takes each route's
valid request from its common path.
"""

import importlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Engine

from onboarding.measured import MEASURED_ATTRIBUTE, Given, MeasuredPath
from onboarding.sample_data import SampleSize
from tools import dataset
from tools.lambda_events import http_api_event, local_context
from tools.template import HttpRoute, function_of_area, functions, http_routes, with_own_environment
from tools.wire import round_trip_limit
from tools.wizard_events import step_body

ANALYST: dict[str, Any] = {"cognito:groups": "[platform_analyst]"}
METRICS_BATCH = 10  # events per POST /v1/onboarding/metrics in the route scenarios (bench's ingest: 100)
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def admin(org_id: str) -> dict[str, Any]:
    return {"custom:org_id": org_id, "cognito:groups": "[org_admin]"}


@dataclass(frozen=True, slots=True)
class Call:
    """One request: the function (code directory) that serves it, its event and the status it must get."""

    function: str
    event: dict[str, Any]
    status: int

    def send(self) -> dict[str, Any]:
        return invoke(self.function, self.event, self.status)


@dataclass(frozen=True, slots=True)
class Scenario:
    route: HttpRoute
    declared: MeasuredPath

    @property
    def route_key(self) -> str:
        return self.route.route_key

    @property
    def variant(self) -> str:
        return self.declared.variant

    @property
    def common(self) -> bool:
        return self.declared.common

    @property
    def statements(self) -> int:
        return self.declared.statements

    @property
    def reads_only(self) -> bool:
        """A GET: its unit of work starts with a plain read (sent without BEGIN/COMMIT)."""
        return self.route.method == "GET"

    @property
    def round_trip_limit(self) -> int:
        """The most wire round trips the path may take when warm (`tools.wire.round_trip_limit`)."""
        return round_trip_limit(self.statements, reads_only=self.reads_only)

    @property
    def name(self) -> str:
        return f"{self.route_key} ({self.variant})" if self.variant else self.route_key

    @property
    def function(self) -> str:
        return functions()[self.route.function].area

    def arrange(self, engine: Engine, prefix: str, n: int) -> list[Call]:
        """Organizations as the path expects them, and `n` calls to send (in order)."""
        declared = self.declared
        orgs = organizations(engine, prefix, n if declared.once else 1, declared.given)
        return [self.call(orgs[i if declared.once else 0], i) for i in range(n)]

    def call(self, org_id: str, index: int = 0) -> Call:
        """The path's `index`-th request for `org_id` (bodies that vary vary with the index)."""
        declared = self.declared
        analytics = self.route.path.startswith("/v1/analytics")
        event = http_api_event(
            self.route.method,
            self.concrete_path(),
            claims=ANALYST if analytics else admin(org_id),
            body=body(declared.body, index),
            query=dict(declared.query) or None,
            headers=dict(declared.headers) or None,
        )
        return Call(self.function, event, declared.status)

    def concrete_path(self) -> str:
        path = self.route.path
        for name, value in self.declared.path.items():
            path = path.replace(f"{{{name}}}", value)
        assert "{" not in path, f"{self.name}: declare a value for each path parameter"
        return path


@cache
def scenarios() -> tuple[Scenario, ...]:
    """Every measured path of every route of template.yaml, in template order."""
    declared: dict[str, tuple[MeasuredPath, ...]] = {}
    for spec in functions().values():
        if not spec.routes:
            continue
        resolver = importlib.import_module(f"functions.{spec.area}.app").app
        for route in [*resolver._static_routes, *resolver._dynamic_routes]:
            declared[f"{route.method} {route.openapi_path}"] = getattr(route.func, MEASURED_ATTRIBUTE, ())
    return tuple(
        Scenario(route, path) for route in http_routes() for path in declared.get(route.route_key, ())
    )


def common_scenario(route_key: str) -> Scenario:
    return next(s for s in scenarios() if s.route_key == route_key and s.common)


def invoke(function: str, event: dict[str, Any], expected_status: int | None = None) -> dict[str, Any]:
    """Send one event through a function's handler, as Lambda would (one at a time: Powertools keeps
    the current event in a class attribute)."""
    response = load_handler(function)(event, local_context())
    status = response.get("statusCode")
    if expected_status is not None and status != expected_status:
        route = event.get("routeKey")
        raise RuntimeError(f"{route} -> {status} (expected {expected_status}): {response.get('body')}")
    return response


def load_handler(function: str) -> Handler:
    """The Lambda handler of functions/<function>/app.py."""
    handler: Handler = importlib.import_module(f"functions.{function}.app").lambda_handler
    # With the variables the template gives that function (its body limit, ...), as in AWS.
    return with_own_environment(function_of_area(function), handler)


# --- Requests ---


def body(declared: Mapping[str, Any] | Sequence[Mapping[str, Any]] | str | None, index: int) -> Any:
    """A declared body for the `index`-th call: as declared, in turn from a tuple, or made fresh."""
    if declared is None:
        return None
    if isinstance(declared, str):
        return FRESH_BODIES[declared](index)
    if isinstance(declared, Mapping):
        return dict(declared)
    return dict(declared[index % len(declared)])


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


# Bodies that must be new for every call: wizard answers hold dates in the future, metric events ids
# never sent before.
def _wizard_step(step: int) -> Callable[[int], Any]:
    return lambda _index: step_body(step)


FRESH_BODIES: dict[str, Callable[[int], Any]] = {
    **{f"wizard step {step}": _wizard_step(step) for step in range(1, 6)},
    "metric batch": lambda _index: metric_batch(METRICS_BATCH),
}


# --- Organizations ---


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


def organizations(engine: Engine, prefix: str, count: int, given: Given) -> list[str]:
    """`count` organizations as `given` describes them."""
    if not given.started:
        ids = dataset.org_ids(prefix, count)
        with engine.begin() as connection:
            dataset.create_orgs(connection, ids)
        return ids
    ids = typical_orgs(engine, prefix, count, step=given.step)
    with engine.begin() as connection:
        if given.sample_data:
            dataset.add_sample_data(connection, ids, SampleSize.STANDARD)
        if given.tutorials:
            dataset.add_tutorials(connection, ids, given.tutorials)
    if given.settled:
        settle_checklist(ids)
    return ids


def settle_checklist(org_ids: Sequence[str]) -> None:
    """Let the service store the checklist completions the org has reached (its steady state)."""
    for org_id in org_ids:
        invoke("checklist", http_api_event("GET", "/v1/onboarding/checklist", claims=admin(org_id)), 200)
