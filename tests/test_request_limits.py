"""Limits and bad input (OWASP API4): whatever a client sends, the answer is a 4xx in the contract's error
shape, never a 500, and nothing is written. Every route of the template is covered.

Each test arranges one organization with state in every table, snapshots its rows, sends the bad
request and compares the rows afterwards.
"""

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from onboarding.wizard import MAX_STEP_DATA_BYTES
from tests.api_routes import (
    ANALYTICS_ROUTES,
    ORG_ROUTES,
    ROUTES,
    assert_contract_error,
    built_once,
    concrete_path,
    make_ready,
    metric_event,
    operation,
    org_rows,
    route_id,
    send,
    takes_body,
    valid_body,
)
from tests.fixtures import admin_claims, analyst_claims
from tests.host_rows import add_real_rows, start_onboarding
from tests.wizard_steps import step_body
from tools.template import HttpRoute, function_environment

ORG = "org_limits"
BODY_ROUTES = [route for route in ROUTES if takes_body(route)]
NO_BODY_ROUTES = [route for route in ROUTES if not takes_body(route)]


def body_limit(route: HttpRoute) -> int:
    """The body limit template.yaml gives the route's function."""
    return int(function_environment(route.function)["MAX_BODY_BYTES"])


def claims_for(route: HttpRoute) -> dict[str, Any]:
    return analyst_claims() if route in ANALYTICS_ROUTES else admin_claims(ORG)


def by_key(key: str) -> HttpRoute:
    return next(route for route in ROUTES if route.route_key == key)


@pytest.fixture
def full_org(make_org, db: Session) -> str:
    """An organization with rows everywhere: state, wizard data, sample and real rows, tutorials, metrics."""

    def build() -> None:
        make_org(ORG)
        start_onboarding(db, ORG)
        add_real_rows(db, ORG, events=2, volunteers=3, assignments=2, teams=1)
        for key, body in (
            ("PUT /v1/onboarding/wizard/steps/{step}", step_body(1)),
            ("POST /v1/onboarding/sample-data", {"size": "minimal"}),
            ("POST /v1/onboarding/tutorials/{tutorial_id}/views", None),
            ("POST /v1/onboarding/metrics", {"events": [metric_event()]}),
            ("GET /v1/onboarding/checklist", None),
        ):
            assert send(by_key(key), claims=admin_claims(ORG), body=body).status in (200, 201)

    return built_once(db, ORG, build)


@pytest.fixture
def unchanged(full_org: str, db: Session) -> Iterator[None]:
    """Fails the test if any of the organization's rows changed."""
    before = org_rows(db, full_org)
    yield
    assert org_rows(db, full_org) == before, "a rejected request changed the database"


def assert_rejected(response: Any, status: int) -> None:
    assert_contract_error(response, status)


# --- Size ---


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_a_body_over_the_limit_is_413_on_every_route(route: HttpRoute, unchanged) -> None:
    limit = body_limit(route)
    text = send(route, claims=claims_for(route), raw_body=json.dumps({"padding": "x" * limit}))
    assert_rejected(text, 413)
    assert text.json["error"]["code"] == "payload_too_large"
    # A base64 body is measured before it is decoded (this one would be a 400 once decoded).
    encoded = base64.b64encode(b"{" * (limit + 3)).decode()
    assert_rejected(send(route, claims=claims_for(route), raw_body=encoded, is_base64=True), 413)


def test_a_body_just_under_the_limit_is_read(full_org: str) -> None:
    route = by_key("POST /v1/onboarding/metrics")
    events = [metric_event(event_data={"note": "n" * 4000}) for _ in range(100)]
    raw = json.dumps({"events": events})
    raw += " " * (body_limit(route) - len(raw.encode()))  # JSON may end in whitespace: exactly the limit
    assert send(route, claims=admin_claims(full_org), raw_body=raw).json == {"accepted": 100, "duplicates": 0}


# --- Content type and encoding ---


NOT_JSON = (
    "multipart/form-data",  # no boundary: crashed Powertools' multipart parser (a 500)
    "multipart/form-data; boundary=xyz",
    "application/x-www-form-urlencoded",
    "text/plain",
    "application/xml",
    "application/json-patch+json",
)


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
def test_a_body_that_is_not_sent_as_json_is_415(route: HttpRoute, unchanged) -> None:
    raw = json.dumps(valid_body(route))
    for content_type in NOT_JSON:
        response = send(route, claims=claims_for(route), raw_body=raw, headers={"content-type": content_type})
        assert_rejected(response, 415)
        assert response.json["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize("route", NO_BODY_ROUTES, ids=route_id)
def test_a_body_on_a_route_that_takes_none_is_422_not_ignored(route: HttpRoute, unchanged) -> None:
    # JSON or not, encoded or not: the route reads no body, so sending one is a mistake to report.
    cases: list[tuple[str, dict[str, str], bool]] = [
        ("{}", {}, False),
        ('{"show_all_features": true}', {"content-type": "application/json"}, False),
        ("null", {}, False),
        ("not json at all", {"content-type": "text/plain"}, False),
        (base64.b64encode(b"{}").decode(), {}, True),
    ]
    for raw, headers, encoded in cases:
        response = send(route, claims=claims_for(route), raw_body=raw, headers=headers, is_base64=encoded)
        assert_rejected(response, 422)
        assert response.json["error"]["details"] == [
            {
                "field": "body",
                "reason": "this route takes no request body; send none",
                "type": "body_not_allowed",
            }
        ]


@pytest.mark.parametrize("route", NO_BODY_ROUTES, ids=route_id)
def test_an_empty_body_is_no_body(route: HttpRoute, full_org: str) -> None:
    make_ready(route, full_org)
    response = send(route, claims=claims_for(route), raw_body="")
    assert response.status < 300, response


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
def test_a_body_that_is_not_utf8_text_is_400(route: HttpRoute, unchanged) -> None:
    not_text = [b"\xff\xfe{}", b'{"a": "\xc3"}', b"\x00\x01\x02\xff"]  # UTF-16 BOM, cut UTF-8, binary
    bodies = [base64.b64encode(raw).decode() for raw in not_text] + ["{not base64!}"]
    for body in bodies:
        assert_rejected(send(route, claims=claims_for(route), raw_body=body, is_base64=True), 400)


def test_a_base64_encoded_json_body_is_read(full_org: str) -> None:
    body = base64.b64encode(json.dumps({"show_all_features": True}).encode()).decode()
    response = send(
        by_key("PUT /v1/onboarding/preferences"),
        claims=admin_claims(full_org),
        raw_body=body,
        is_base64=True,
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status == 200
    assert response.json["show_all_features"] is True


def test_a_json_body_without_a_content_type_is_read_as_json(full_org: str) -> None:
    route = by_key("PUT /v1/onboarding/preferences")
    response = send(
        route,
        claims=admin_claims(full_org),
        body={"show_all_features": True},
        without_headers=("content-type",),
    )
    assert response.status == 200


# --- Malformed and wrong JSON ---


MALFORMED = (
    "{not json",
    '{"a": 1',
    "[" * 30_000 + "]" * 30_000,  # nesting that overflows the parser's recursion
    '{"a": ' + "9" * 5000 + "}",  # an integer over Python's 4300-digit limit
    '{"a": NaN}',
    '{"a": -Infinity}',
    '{"a": 1} trailing',
    "\ufeff{}",  # a byte order mark
)


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
def test_malformed_json_is_400_on_every_route_that_takes_a_body(route: HttpRoute, unchanged) -> None:
    for raw in MALFORMED:
        response = send(route, claims=claims_for(route), raw_body=raw)
        if len(raw.encode()) > body_limit(route):  # the deep nesting, on a function with a small limit
            assert_rejected(response, 413)
            continue
        assert_rejected(response, 400)
        assert response.json["error"]["code"] == "malformed_request"


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
def test_json_that_is_not_the_request_object_is_422(route: HttpRoute, unchanged) -> None:
    # `{}` is a complete step 5 (all defaults), but not a step 1; an optional body may be null or {}.
    optional = not operation(route)["requestBody"].get("required", False)
    wrapped = json.dumps([valid_body(route)])  # a valid body inside an array
    for raw in ("null", "[]", "[{}]", '"text"', "42", "true", "{}", wrapped):
        if optional and raw in ("null", "{}"):
            continue
        assert_rejected(send(route, claims=claims_for(route), raw_body=raw), 422)


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
def test_an_unknown_field_is_422(route: HttpRoute, unchanged) -> None:
    body = {**(valid_body(route) or {}), "organization_id": "org_other"}
    response = send(route, claims=claims_for(route), body=body)
    assert_rejected(response, 422)
    assert any("organization_id" in detail["field"] for detail in response.json["error"]["details"])


# Wrong values for each field of each body: out-of-range and wrong-typed numbers, NUL bytes, lone
# surrogates, huge strings, wrong types. Each is a 422 that names the field.
BIG = 2**63
HUGE_TEXT = "x" * 12_000  # far over any field's length, within the function's body limit
BAD_FIELDS: dict[str, list[tuple[str, Any]]] = {
    "POST /v1/onboarding": [
        ("entry_point", "Signup Flow"),
        ("entry_point", "signup\x00"),
        ("entry_point", "x" * 51),
        ("entry_point", 5),
        ("entry_point", ["signup_flow"]),
    ],
    "PUT /v1/onboarding/wizard/steps/{step}": [
        ("organization_name", "Grace\x00Church"),
        ("organization_name", "Grace \ud800 Church"),
        ("organization_name", HUGE_TEXT),
        ("organization_name", ["Grace Community"]),
        ("organization_name", None),
        ("location", {"street": "123 Main St, Toronto"}),
        ("timezone", "Mars/Olympus_Mons"),
        ("timezone", "America/Toronto\x00"),
        ("volunteer_count_estimate", -1),
        ("volunteer_count_estimate", BIG),
        ("volunteer_count_estimate", 12.5),
        ("volunteer_count_estimate", "40"),
        ("volunteer_count_estimate", True),
        ("volunteer_count_estimate", 1e308),
    ],
    "PUT /v1/onboarding/preferences": [
        ("show_all_features", "true"),
        ("show_all_features", 1),
        ("show_all_features", None),
        ("show_all_features", [True]),
    ],
    "POST /v1/onboarding/sample-data": [
        ("size", "huge"),
        ("size", "MINIMAL"),
        ("size", "minimal\x00"),
        ("size", 1),
        ("expiry_days", 0),
        ("expiry_days", 91),
        ("expiry_days", -1),
        ("expiry_days", BIG),
        ("expiry_days", -BIG),
        ("expiry_days", 7.5),
        ("expiry_days", "7"),
    ],
    "POST /v1/onboarding/sample-data/extend": [
        ("days", 0),
        ("days", BIG),
        ("days", 1.5),
        ("days", "5"),
        ("days", None),
    ],
    "PUT /v1/onboarding/checklist/{task_id}": [
        ("completed", "yes"),
        ("completed", 1),
        ("completed", None),
    ],
    "PUT /v1/onboarding/tutorials/{tutorial_id}/progress": [
        ("steps_completed", -1),
        ("steps_completed", 5),  # events_intro has 4 steps
        ("steps_completed", BIG),
        ("steps_completed", 1.5),
        ("steps_completed", "2"),
        ("steps_completed", False),
    ],
    "POST /v1/onboarding/metrics": [
        ("events", []),
        ("events", [metric_event()] * 101),
        ("events", "not a list"),
        ("events", [metric_event(event_id="not-a-uuid")]),
        ("events", [metric_event(event_type="wizard_completed")]),
        ("events", [metric_event(event_type="unknown\x00")]),
        ("events", [metric_event(timestamp="2000-01-01T00:00:00Z")]),
        ("events", [metric_event(timestamp="9999-12-31T23:59:59+00:00")]),
        ("events", [metric_event(timestamp="yesterday")]),
        ("events", [metric_event(timestamp=1_700_000_000)]),
        ("events", [metric_event(session_id="\ud83d")]),
        ("events", [metric_event(event_data={"note": "a\x00b"})]),
        ("events", [metric_event(event_data={"note": "\udfff"})]),
        ("events", [metric_event(event_data={"n": 1e400})]),
        ("events", [metric_event(event_data="text")]),
        ("events", [metric_event(event_data={"a": {"b": {"c": {"d": {"e": 1}}}}})]),
        ("events", [metric_event(event_data={"note": "y" * 5000})]),
        ("events", [metric_event(event_data={"Bad Key": 1})]),
        ("events", [metric_event(event_type="wizard_step_viewed", wizard_step_reached=BIG)]),
        ("events", [metric_event(event_type="wizard_step_viewed", step_duration_seconds=-1)]),
    ],
}


def test_every_route_with_a_body_has_bad_field_cases() -> None:
    assert set(BAD_FIELDS) == {route.route_key for route in BODY_ROUTES}


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
def test_a_bad_field_value_is_422_naming_the_field(route: HttpRoute, unchanged) -> None:
    for field, value in BAD_FIELDS[route.route_key]:
        body = {**(valid_body(route) or {}), field: value}
        # json.dumps writes 1e400 (inf) as Infinity, which is not JSON: send the number's text instead.
        raw = json.dumps(body).replace("Infinity", "1e400")
        response = send(route, claims=claims_for(route), raw_body=raw)
        assert_rejected(response, 422)
        fields = [detail["field"] for detail in response.json["error"]["details"]]
        assert any(field in name for name in fields), (field, fields)


def test_wizard_step_data_is_kept_under_10_kb(full_org: str, db: Session) -> None:
    # Valid field by field (50 addresses of 237 characters), too big as stored JSON.
    emails = [f"{'v' * 55}{n:02d}@{'d' * 55}.{'e' * 55}.{'f' * 55}.example.org" for n in range(50)]
    assert len(json.dumps(emails)) > MAX_STEP_DATA_BYTES
    route = by_key("PUT /v1/onboarding/wizard/steps/{step}")
    claims = admin_claims(full_org)
    for step in (2, 3):
        assert (
            send(
                route, claims=claims, path=f"/v1/onboarding/wizard/steps/{step}", body=step_body(step)
            ).status
            == 200
        )
    before = org_rows(db, full_org)
    response = send(route, claims=claims, path="/v1/onboarding/wizard/steps/4", body={"emails": emails})
    assert_rejected(response, 422)
    assert response.json["error"]["details"][0]["type"] == "wizard_data_too_large"
    assert org_rows(db, full_org) == before


# --- Text that must be kept exactly ---


@pytest.mark.parametrize(
    "name",
    [
        "Église Saint-Jean 🙏🏽",  # emoji with a skin-tone modifier
        "עמותת המתנדבים",  # right-to-left
        "\u202eevil\u202c Church",  # bidi override characters are text, not control characters
        "Cafe\u0301 Z\u0335\u0321a\u0337lgo",  # combining characters
        "\U0001d50a\U0001d52f\U0001d51e\U0001d520\U0001d522 Fellowship",  # astral-plane letters
    ],
)
def test_unicode_text_is_stored_and_returned_exactly(full_org: str, name: str) -> None:
    route = by_key("PUT /v1/onboarding/wizard/steps/{step}")
    body = {**step_body(1), "organization_name": name}
    response = send(route, claims=admin_claims(full_org), body=body)
    assert response.status == 200, response
    assert response.json["wizard_step_data"]["step_1"]["organization_name"] == name
    stored = send(by_key("GET /v1/onboarding"), claims=admin_claims(full_org))
    assert stored.json["wizard_step_data"]["step_1"]["organization_name"] == name


# --- Path and query parameters ---


BAD_PATH_VALUES = (
    "%00",
    "\x00",
    "9" * 30,
    "-1",
    "0",
    "x" * 5000,
    "🙂",
    "..%2F..%2Fetc",
    "' OR 1=1 --",
    "\ud800",
)


@pytest.mark.parametrize("route", [r for r in ORG_ROUTES if "{" in r.path], ids=route_id)
def test_a_bad_path_parameter_is_404(route: HttpRoute, unchanged) -> None:
    name = route.path.split("{", 1)[1].split("}", 1)[0]
    for value in BAD_PATH_VALUES:
        response = send(route, claims=admin_claims(ORG), path=concrete_path(route, **{name: value}))
        assert_rejected(response, 404)


# Routes with query parameters (the experiments list has none).
QUERY_ROUTES = [
    *(route for route in ANALYTICS_ROUTES if route.path != "/v1/analytics/experiments"),
    by_key("GET /v1/onboarding/export"),
]
BAD_QUERIES: list[dict[str, str]] = [
    {"limit": "0"},
    {"limit": "501"},
    {"limit": str(BIG)},
    {"limit": "-1"},
    {"limit": "1.5"},
    {"limit": "ten"},
    {"limit": "\x00"},
    {"cursor": ""},
    {"cursor": "x" * 5000},
    {"cursor": "not-a-cursor"},
    {"cursor": "\x00"},
    {"cursor": base64.urlsafe_b64encode(b'["0001-01-01T00:00:00+14:00","x"]').decode()},  # year 0 in UTC
    {"from": "yesterday"},
    {"from": "2026-02-30"},
    {"from": "99999-01-01"},
    {"from": "2026-01-01\x00"},
    {"to": "2026-01-01", "from": "2026-02-01"},
    {"inactive_days": "0"},
    {"inactive_days": "366"},
    {"experiment": "Not-A-Key"},
    {"experiment": "\x00"},
]


@pytest.mark.parametrize("route", QUERY_ROUTES, ids=route_id)
def test_a_bad_query_parameter_is_422(route: HttpRoute, unchanged) -> None:
    documented = {p["name"] for p in operation(route)["parameters"] if p["in"] == "query"}
    tried = 0
    for query in BAD_QUERIES:
        if set(query) <= documented:
            tried += 1
            assert_rejected(send(route, claims=claims_for(route), query=query), 422)
    assert tried >= 5


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_a_query_parameter_the_route_does_not_declare_is_422_naming_it(route: HttpRoute, unchanged) -> None:
    # A misspelt parameter (`form=` for `from=`) is refused, not read as "absent": as an unknown body field.
    documented = {p["name"] for p in operation(route).get("parameters", []) if p["in"] == "query"}
    query = {"form": "2026-01-01", "x\u00e9": "1"}
    assert not documented & set(query)
    response = send(route, claims=claims_for(route), query=query)
    assert_rejected(response, 422)
    assert [(d["field"], d["type"]) for d in response.json["error"]["details"]] == [
        ("query.form", "extra_forbidden"),
        ("query.x\u00e9", "extra_forbidden"),
    ]


@pytest.mark.parametrize("route", QUERY_ROUTES, ids=route_id)
def test_documented_query_parameters_are_accepted_with_a_cursor_of_the_documented_form(
    route: HttpRoute, full_org: str
) -> None:
    parameters = {p["name"]: p for p in operation(route)["parameters"] if p["in"] == "query"}
    if "cursor" in parameters:
        assert parameters["cursor"]["schema"]["anyOf"][0]["pattern"] == "^[A-Za-z0-9_-]+$"
        assert "cursor_invalid" in operation(route)["x-rules"]
    query = {"from": "2026-01-01"} if "from" in parameters else {"limit": "5"}
    assert send(route, claims=claims_for(route), query=query).status == 200
