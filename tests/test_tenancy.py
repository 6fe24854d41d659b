"""Tenancy and access (OWASP API1/API5) over every route of template.yaml (the list comes from the
template, through tests/api_routes.py).

Organization A is populated in every table (wizard answers, sample and real host rows, tutorials,
checklist, metrics). Each test calls one route as some caller and then compares A's rows with a snapshot
taken before: only A's own org admin may change them, and no other caller's answer may mention them.
"""

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from onboarding import checklist_view, client_metrics, sample_data, tutorials, wizard
from onboarding.db import unit_of_work
from onboarding.sample_data import SampleDataRequest, SampleSize
from tests.api_routes import (
    ANALYTICS_ROUTES,
    ORG_ROUTES,
    ROUTES,
    assert_contract_error,
    built_once,
    make_ready,
    metric_event,
    org_rows,
    route_id,
    send,
)
from tests.fixtures import HandlerResponse
from tests.host_rows import add_real_rows, start_onboarding
from tests.wizard_steps import step_body
from tools.template import HttpRoute

ORG_A, ORG_B = "org_alpha", "org_bravo"
A_NAME = "Alpha Secret Fellowship"


def admin(org: str, groups: Any = "[org_admin]") -> dict[str, Any]:
    return {"custom:org_id": org, "cognito:groups": groups}


ANALYST = {"cognito:groups": "[platform_analyst]"}


def by_key(key: str) -> HttpRoute:
    return next(route for route in ROUTES if route.route_key == key)


def populate(org: str, name: str) -> None:
    """Wizard at step 4 with answers, sample data, a viewed tutorial, a checklist override, a metric:
    through the domain in one transaction (the routes themselves are what the tests call)."""
    with unit_of_work() as session:
        for step in (1, 2, 3):
            body = {**step_body(1), "organization_name": name} if step == 1 else step_body(step)
            wizard.save_step(session, org, str(step), body)
        sample_data.generate_sample_data(session, org, SampleDataRequest(size=SampleSize.MINIMAL))
        tutorials.record_view(session, org, "events_intro")
        checklist_view.set_task_completion(session, org, "add_team", True)
        client_metrics.ingest(
            session, org, client_metrics.MetricBatch.model_validate({"events": [metric_event()]}), None
        )


def populated_org(make_org, db: Session, org: str, name: str) -> str:
    def build() -> None:
        make_org(org, name)
        start_onboarding(db, org)
        add_real_rows(db, org, events=2, volunteers=2, assignments=2, teams=1)
        populate(org, name)

    return built_once(db, org, build)


@pytest.fixture
def org_a(make_org, db: Session) -> str:
    return populated_org(make_org, db, ORG_A, A_NAME)


@pytest.fixture
def org_b(make_org, db: Session, org_a: str) -> str:
    return populated_org(make_org, db, ORG_B, "Bravo Neighbours")


def secrets_of(snapshot: dict[str, list[dict[str, Any]]]) -> set[str]:
    """Values only A's rows hold: its id, its name, the ids of all its rows."""
    values = {ORG_A, A_NAME}
    for rows in snapshot.values():
        values |= {str(row["id"]) for row in rows if row.get("id") and row["id"] != ORG_B}
        values |= {str(row["client_event_id"]) for row in rows if row.get("client_event_id")}
    return values


def assert_mentions_none_of(response: HandlerResponse, secrets: set[str]) -> None:
    text = json.dumps(response.raw.get("body") or "") + json.dumps(response.headers)
    leaked = sorted(secret for secret in secrets if secret in text)
    assert not leaked, f"the answer mentions the other organization's {leaked}"


def with_claims(claims: Any) -> Callable[[dict[str, Any]], None]:
    """Set the authorizer's claims object as given (even an empty or non-object one)."""

    def edit(event: dict[str, Any]) -> None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}

    return edit


def without_authorizer(event: dict[str, Any]) -> None:
    event["requestContext"].pop("authorizer", None)


# --- Allowed ---


GROUP_FORMS = ("list", "string", "string-of-several")


def groups_as(form: str, *names: str) -> Any:
    """Groups the way API Gateway may pass them: a JSON list, "[a b]", or "[a b]" among others."""
    return {
        "list": list(names),
        "string": f"[{' '.join(names)}]",
        "string-of-several": f"[volunteer {' '.join(names)} editor]",
    }[form]


@pytest.mark.parametrize("route", ORG_ROUTES, ids=route_id)
def test_the_orgs_own_admin_may_use_every_org_route(route: HttpRoute, org_a) -> None:
    for form in GROUP_FORMS:
        make_ready(route, ORG_A)
        response = send(route, claims=admin(ORG_A, groups_as(form, "org_admin")))
        assert 200 <= response.status < 300, (form, response)


@pytest.mark.parametrize("route", ANALYTICS_ROUTES, ids=route_id)
def test_a_platform_analyst_may_use_every_analytics_route(route: HttpRoute, org_a) -> None:
    for form in GROUP_FORMS:
        response = send(route, claims={"cognito:groups": groups_as(form, "platform_analyst")})
        assert response.status == 200, (form, response)


# --- Another organization's admin ---


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_another_orgs_admin_never_sees_or_changes_the_first_orgs_rows(route: HttpRoute, org_b, db) -> None:
    make_ready(route, ORG_B)
    before = org_rows(db, ORG_A)
    response = send(route, claims=admin(ORG_B))
    if route in ANALYTICS_ROUTES:
        assert_contract_error(response, 403)
    else:
        assert 200 <= response.status < 300, response  # served, on B's own data
    assert_mentions_none_of(response, secrets_of(before))
    assert org_rows(db, ORG_A) == before


def test_the_same_client_event_id_in_two_orgs_is_stored_for_each(org_b, db) -> None:
    route = by_key("POST /v1/onboarding/metrics")
    shared = [metric_event()]
    assert send(route, claims=admin(ORG_A), body={"events": shared}).json == {"accepted": 1, "duplicates": 0}
    before = org_rows(db, ORG_A)
    assert send(route, claims=admin(ORG_B), body={"events": shared}).json == {"accepted": 1, "duplicates": 0}
    assert org_rows(db, ORG_A) == before


def test_another_orgs_export_holds_only_its_own_rows(org_b, db) -> None:
    export = send(by_key("GET /v1/onboarding/export"), claims=admin(ORG_B)).json
    assert export["organization_id"] == ORG_B
    assert {row["organization_id"] for row in export["metrics"] + export["tutorials"]} == {ORG_B}
    assert export["onboarding_state"]["organization_id"] == ORG_B


# --- Wrong group ---


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_a_member_without_the_routes_group_is_403(route: HttpRoute, org_a, db) -> None:
    before = org_rows(db, ORG_A)
    smuggled = ("[volunteers,org_admin]", "[volunteers\u00a0org_admin]", '["org_admin"]', ["a,org_admin"])
    for groups in ([], "[]", "[member]", ["volunteer", "editor"], "org_admins", "[ORG_ADMIN]", *smuggled):
        response = send(route, claims=admin(ORG_A, groups))
        assert_contract_error(response, 403)
        assert_mentions_none_of(response, secrets_of(before))
    assert org_rows(db, ORG_A) == before


@pytest.mark.parametrize("route", ORG_ROUTES, ids=route_id)
def test_a_platform_analyst_on_an_org_route_is_403(route: HttpRoute, org_a, db) -> None:
    before = org_rows(db, ORG_A)
    for form in GROUP_FORMS:
        analyst = {"cognito:groups": groups_as(form, "platform_analyst")}
        assert_contract_error(send(route, claims=analyst), 403)
        assert_contract_error(send(route, claims={**analyst, "custom:org_id": ORG_A}), 403)
    assert org_rows(db, ORG_A) == before


@pytest.mark.parametrize("route", ANALYTICS_ROUTES, ids=route_id)
def test_an_org_admin_on_an_analytics_route_is_403(route: HttpRoute, org_a) -> None:
    for form in GROUP_FORMS:
        assert_contract_error(send(route, claims=admin(ORG_A, groups_as(form, "org_admin"))), 403)


# --- No identity ---

MISSING_OR_GARBLED: dict[str, Callable[[dict[str, Any]], None]] = {
    "no-authorizer": without_authorizer,
    "empty-claims": with_claims({}),
    "null-claims": with_claims(None),
    "claims-as-text": with_claims("custom:org_id=org_alpha"),
    "claims-as-list": with_claims([ORG_A, "org_admin"]),
    "empty-values": with_claims({"custom:org_id": "", "cognito:groups": ""}),
    "wrong-types": with_claims({"custom:org_id": None, "cognito:groups": 42}),
    "no-org-no-groups": with_claims({"sub": "user-1", "email": "a@example.org"}),
}


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_missing_or_garbled_claims_are_401(route: HttpRoute, org_a, db) -> None:
    before = org_rows(db, ORG_A)
    for name, edit in MISSING_OR_GARBLED.items():
        response = send(route, claims=admin(ORG_A), edit_event=edit)
        assert response.status == 401, (name, response)
        assert_contract_error(response, 401)
    assert org_rows(db, ORG_A) == before


@pytest.mark.parametrize("route", ORG_ROUTES, ids=route_id)
def test_an_org_admin_without_a_valid_org_claim_is_401(route: HttpRoute, org_a, db) -> None:
    before = org_rows(db, ORG_A)
    garbled: list[Any] = [None, "", " ", "org alpha", "org_alpha'; DROP TABLE onboarding_state; --", "x" * 51]
    for org_claim in [*garbled, [ORG_A], {"id": ORG_A}, 42]:
        claims: dict[str, Any] = {"cognito:groups": "[org_admin]"}
        if org_claim is not None:
            claims["custom:org_id"] = org_claim
        response = send(route, claims=claims)
        assert response.status == 401, (org_claim, response)
        assert_contract_error(response, 401)
    assert org_rows(db, ORG_A) == before
