"""openapi.json: generated from the code, current, valid OpenAPI 3.1, and true to the template's routes."""

import json
import re
from typing import Any

import pytest
import schemathesis

from onboarding.wizard import DRAFTS, STEP_PAYLOADS
from tools import openapi
from tools.template import http_routes

DOCUMENT: dict[str, Any] = json.loads(openapi.DOCUMENT.read_text())
ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, methods in DOCUMENT["paths"].items()
        for method, operation in methods.items()
    ]


def operation(method: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = DOCUMENT["paths"][path][method.lower()]
    return found


def test_openapi_json_is_current() -> None:
    assert openapi.main(["--check"]) == 0, "openapi.json is stale: run `make openapi`"


def test_document_is_valid_openapi_3_1() -> None:
    assert DOCUMENT["openapi"] == "3.1.0"
    schemathesis.openapi.from_dict(DOCUMENT).validate()


def test_every_template_route_is_documented_and_nothing_else() -> None:
    template = {(route.method, route.path) for route in http_routes()}
    documented = {(method, path) for method, path, _ in operations()}
    assert documented == template


def test_every_reference_resolves() -> None:
    text = json.dumps(DOCUMENT)
    names = set(re.findall(r'"#/components/schemas/([^"]+)"', text))
    assert names <= set(DOCUMENT["components"]["schemas"])


def test_every_operation_requires_the_jwt_bearer_scheme() -> None:
    assert DOCUMENT["security"] == [{"jwt": []}]
    scheme = DOCUMENT["components"]["securitySchemes"]["jwt"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    assert all("security" not in op for _, _, op in operations()), "no operation opts out"


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        ("POST", "/v1/onboarding", {"200", "201"}),
        ("POST", "/v1/onboarding/sample-data", {"201"}),
        ("GET", "/v1/onboarding", {"200"}),
        ("DELETE", "/v1/onboarding/sample-data", {"200"}),
        ("POST", "/v1/onboarding/metrics", {"200"}),
    ],
)
def test_success_statuses_are_the_ones_the_route_answers(method: str, path: str, statuses: set[str]) -> None:
    documented = {status for status in operation(method, path)["responses"] if status.startswith("2")}
    assert documented == statuses


def test_both_success_statuses_of_starting_onboarding_carry_the_state() -> None:
    responses = operation("POST", "/v1/onboarding")["responses"]
    for status in ("200", "201"):
        assert responses[status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/OnboardingStateView"
        }


@pytest.mark.parametrize(
    ("method", "path", "op"), operations(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_error_is_documented_in_the_contract_shape(method: str, path: str, op: dict[str, Any]) -> None:
    responses = op["responses"]
    expected = {"400", "401", "403", "413", "415", "503"}
    takes_input = "requestBody" in op or any(p["in"] == "query" for p in op.get("parameters", []))
    if takes_input:
        expected.add("422")
    assert expected <= set(responses)
    assert ("422" in responses) == takes_input
    for status, response in responses.items():
        if status < "400":
            continue
        schema = response["content"]["application/json"]["schema"]
        if status in openapi.GATEWAY_ANSWERS:
            assert schema == {"anyOf": [ERROR_REF, {"$ref": "#/components/schemas/GatewayError"}]}
        else:
            assert schema == ERROR_REF, f"{method} {path} {status}"


def test_route_specific_errors_are_documented() -> None:
    assert {"404", "409"} <= set(operation("PUT", "/v1/onboarding/wizard/steps/{step}")["responses"])
    assert "409" in operation("POST", "/v1/onboarding/sample-data")["responses"]
    assert "404" in operation("POST", "/v1/onboarding/tutorials/{tutorial_id}/views")["responses"]
    assert "404" not in operation("GET", "/v1/analytics/funnel")["responses"]


def test_error_schema_is_the_contract_error_document() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    assert schemas["ErrorResponse"]["required"] == ["error"]
    assert set(schemas["ErrorBody"]["required"]) == {"code", "message", "details", "localized_message"}


def test_request_bodies_are_the_request_models() -> None:
    def body(method: str, path: str) -> Any:
        return operation(method, path)["requestBody"]["content"]["application/json"]["schema"]

    assert body("POST", "/v1/onboarding/metrics") == {"$ref": "#/components/schemas/MetricBatch"}
    assert body("POST", "/v1/onboarding/sample-data") == {"$ref": "#/components/schemas/SampleDataRequest"}
    steps = body("PUT", "/v1/onboarding/wizard/steps/{step}")["anyOf"]
    models = [*STEP_PAYLOADS.values(), *DRAFTS.values()]
    assert steps == [{"$ref": f"#/components/schemas/{model.__name__}"} for model in models]
    start = body("POST", "/v1/onboarding")  # optional: no body, or null, starts as well
    assert start["anyOf"] == [{"$ref": "#/components/schemas/StartRequest"}, {"type": "null"}]
    schemas = DOCUMENT["components"]["schemas"]
    assert schemas["MetricBatch"]["properties"]["events"]["maxItems"] == 100
    assert schemas["OrganizationProfile"]["additionalProperties"] is False


def test_path_parameters_list_the_accepted_ids() -> None:
    step = operation("PUT", "/v1/onboarding/wizard/steps/{step}")["parameters"][0]
    assert step["schema"]["enum"][:5] == ["1", "2", "3", "4", "5"]
    assert "organization_profile" in step["schema"]["enum"]
    tutorial = operation("POST", "/v1/onboarding/tutorials/{tutorial_id}/complete")["parameters"][0]
    assert len(tutorial["schema"]["enum"]) == 5


def test_analytics_query_parameters_are_documented() -> None:
    parameters = {p["name"]: p for p in operation("GET", "/v1/analytics/incomplete")["parameters"]}
    assert set(parameters) == {"from", "to", "limit", "cursor"}
    assert all(p["in"] == "query" and not p["required"] for p in parameters.values())
    date = parameters["from"]["schema"]["anyOf"][0]
    assert date == {"type": "string", "format": "date"}
    assert (parameters["limit"]["schema"]["minimum"], parameters["limit"]["schema"]["maximum"]) == (1, 500)
    for name in ("completion-time", "completion-rate"):
        names = {p["name"] for p in operation("GET", f"/v1/analytics/{name}")["parameters"]}
        assert names == {"from", "to", "experiment"}
    funnel = {p["name"]: p for p in operation("GET", "/v1/analytics/funnel")["parameters"]}
    assert set(funnel) == {"from", "to", "inactive_days", "experiment"}
    assert funnel["inactive_days"]["schema"]["default"] == 7


def test_operations_are_tagged_with_their_function_and_say_which_group_they_need() -> None:
    assert operation("GET", "/v1/analytics/funnel")["tags"] == ["analytics"]
    assert "platform_analyst" in operation("GET", "/v1/analytics/funnel")["description"]
    assert "org_admin" in operation("GET", "/v1/onboarding/export")["description"]
