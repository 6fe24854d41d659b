"""Every HTTP route of template.yaml, ready to call: a concrete path, a valid body, the function's handler.

The suites that must cover every route (tenancy, limits, database faults) take the list from here, and
the list comes from the template (tools/template.py), so a new route is covered without anyone
remembering to add it. A route's valid request (path parameters, body) and the organization it needs
come from its common measured path, declared on the route (`@measured`, tools/scenarios.py).
"""

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, delete, insert, or_, select
from sqlalchemy.orm import Session

from onboarding import sample_data
from onboarding.db import unit_of_work
from onboarding.models import Base, Event, OnboardingState, Person
from tests.fixtures import HandlerResponse
from tools import openapi
from tools.lambda_events import LocalLambdaContext, http_api_event
from tools.scenarios import body as scenario_body
from tools.scenarios import common_scenario
from tools.template import HttpRoute, functions, http_routes, load_handler

ROUTES: list[HttpRoute] = http_routes()
ORG_ROUTES = [route for route in ROUTES if route.path.startswith("/v1/onboarding")]
ANALYTICS_ROUTES = [route for route in ROUTES if route.path.startswith("/v1/analytics")]
_DOCUMENT: dict[str, Any] = json.loads(openapi.DOCUMENT.read_text())


def route_id(route: HttpRoute) -> str:
    return route.route_key


def concrete_path(route: HttpRoute, **values: str) -> str:
    path = route.path
    for name, value in {**common_scenario(route.route_key).declared.path, **values}.items():
        path = path.replace(f"{{{name}}}", value)
    assert "{" not in path, f"no value for a parameter of {route.route_key}"
    return path


def operation(route: HttpRoute) -> dict[str, Any]:
    """The route's operation in openapi.json (the wizard step route's: step 1's, as every step's
    operation but its body is the same)."""
    path = next(path for path in _DOCUMENT["paths"] if openapi.template_path(path) == route.path)
    found: dict[str, Any] = _DOCUMENT["paths"][path][route.method.lower()]
    return found


def takes_body(route: HttpRoute) -> bool:
    return "requestBody" in operation(route)


def metric_event(event_id: uuid.UUID | str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": str(event_id or uuid.uuid4()),
        "event_type": "checklist_viewed",
        "timestamp": datetime.now(UTC).isoformat(),
        **fields,
    }


def valid_body(route: HttpRoute) -> Any:
    """A body the route accepts (None for routes that take none): its common measured path's."""
    if not takes_body(route):
        return None
    declared = common_scenario(route.route_key).declared.body
    assert declared is not None, f"{route.route_key}: declare the body of its common measured path"
    return scenario_body(declared, 0)


def send(
    route: HttpRoute,
    *,
    claims: dict[str, Any] | None,
    path: str | None = None,
    is_base64: bool = False,
    without_headers: tuple[str, ...] = (),
    edit_event: Callable[[dict[str, Any]], None] | None = None,
    context: LocalLambdaContext | None = None,
    **kwargs: Any,
) -> HandlerResponse:
    """One API Gateway event for `route` through its function's handler (as loaded from the template).

    The body is the route's valid body unless `body` or `raw_body` is given; `edit_event` may change
    the event in ways the keyword arguments cannot (the authorizer's claims object itself, say).
    """
    if "body" not in kwargs and "raw_body" not in kwargs:
        kwargs["body"] = valid_body(route)
    handler = load_handler(functions()[route.function])
    event = http_api_event(route.method, path or concrete_path(route), claims=claims, **kwargs)
    event["isBase64Encoded"] = is_base64
    for name in without_headers:
        event["headers"].pop(name, None)
    if edit_event is not None:
        edit_event(event)
    context = context or lambda_context(route)
    return HandlerResponse(handler(event, context))


def lambda_context(route: HttpRoute) -> LocalLambdaContext:
    """A Lambda context with the route's function's timeout from the template, its clock running."""
    return LocalLambdaContext(function_name=route.function, timeout_seconds=spec_timeout(route))


def spec_timeout(route: HttpRoute) -> int:
    return functions()[route.function].timeout


def make_ready(route: HttpRoute, org_id: str) -> None:
    """Put the organization in the state its common measured path finds, so that `route` succeeds and
    writes: onboarding not started yet (POST /v1/onboarding, first time), sample data present (to
    extend or delete it) or absent (to generate it)."""
    given = common_scenario(route.route_key).declared.given
    with unit_of_work() as session:
        if not given.started:
            session.execute(delete(OnboardingState).where(OnboardingState.organization_id == org_id))
        elif given.sample_data and not sample_data.sample_data_status(session, org_id).present:
            request = sample_data.SampleDataRequest(size=sample_data.SampleSize.MINIMAL)
            sample_data.generate_sample_data(session, org_id, request)
        elif not given.sample_data:
            sample_data.clear_sample_data(session, org_id, reason="manual")


def assert_contract_error(response: HandlerResponse, status: int) -> None:
    assert response.status == status, response
    assert response.headers.get("Content-Type") == "application/json", response.headers
    error = response.json["error"]
    assert set(error) == {"code", "message", "details", "localized_message"}, error
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)


# --- Everything the database holds about one organization ---

_ORG_COLUMNS = ("organization_id", "org_id")


def org_rows(db: Session, org_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table that belongs to `org_id`, by table, in primary-key order.

    Tables are found from the models (a table gained later is included): rows with the org's id in an
    `organization_id`/`org_id` column, the organization itself, and assignments of its events or people.
    """
    db.expire_all()
    snapshot: dict[str, list[dict[str, Any]]] = {}
    for table in Base.metadata.sorted_tables:
        condition = _belongs_to(table, org_id)
        if condition is None:
            continue
        statement = select(table).where(condition).order_by(*table.primary_key.columns)
        snapshot[table.name] = [dict(row) for row in db.execute(statement).mappings()]
    return snapshot


def _belongs_to(table: Table, org_id: str) -> Any:
    for name in _ORG_COLUMNS:
        if name in table.c:
            return table.c[name] == org_id
    if table.name == "organizations":
        return table.c.id == org_id
    if table.name == "event_assignments":
        return or_(
            table.c.event_id.in_(select(Event.id).where(Event.org_id == org_id)),
            table.c.person_id.in_(select(Person.id).where(Person.org_id == org_id)),
        )
    return None


def total_rows(snapshot: Mapping[str, list[dict[str, Any]]]) -> int:
    return sum(len(rows) for rows in snapshot.values())


_built: dict[str, dict[str, list[dict[str, Any]]]] = {}


def built_once(db: Session, org_id: str, build: Callable[[], None]) -> str:
    """An organization built by `build` the first time in the session; later calls get a copy of the
    rows it left (the tables are emptied after every test): much faster than building it again."""
    if org_id in _built:
        for table in Base.metadata.sorted_tables:  # parents before children
            if _built[org_id].get(table.name):
                db.execute(insert(table), _built[org_id][table.name])
        db.commit()
    else:
        build()
        _built[org_id] = org_rows(db, org_id)
    return org_id
