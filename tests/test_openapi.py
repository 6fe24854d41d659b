"""openapi.json: generated from the code, current, valid OpenAPI 3.1, and true to the template's routes."""

import json
import re
from typing import Any

import pytest
import schemathesis

from onboarding.checklist import TASK_IDS
from onboarding.errors import DomainError
from onboarding.tutorials import CATALOG
from onboarding.wizard import STEP_PAYLOADS, draft_payload
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
    documented = {(method, openapi.template_path(path)) for method, path, _ in operations()}
    assert documented == template


def test_the_wizard_step_route_is_documented_per_step_with_that_steps_body() -> None:
    # One path per accepted `step` (number and name): the schema says which body goes with which step.
    steps = {path: op for method, path, op in operations() if path.startswith("/v1/onboarding/wizard/steps/")}
    assert sorted(steps) == sorted(openapi.wizard_step_paths())
    assert len(steps) == 10
    for path, step in openapi.wizard_step_paths().items():
        body = steps[path]["requestBody"]["content"]["application/json"]["schema"]
        assert body["anyOf"] == [
            {"$ref": f"#/components/schemas/{STEP_PAYLOADS[step].__name__}"},
            {"$ref": f"#/components/schemas/{draft_payload(step).__name__}"},
        ]
        assert steps[path]["x-route"] == "PUT /v1/onboarding/wizard/steps/{step}"
        assert "parameters" not in steps[path]


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
    # Every route: a body where none is read is a 422; 400 and 415 only where a body is read.
    shared = {"401", "403", "413", "422", "503"}
    body = {"400", "415"}
    assert shared <= set(responses)
    assert (body <= set(responses)) == ("requestBody" in op)
    assert not (body & set(responses)) or "requestBody" in op
    for status, response in responses.items():
        if status < "400":
            continue
        schema = response["content"]["application/json"]["schema"]
        if status in openapi.GATEWAY_ANSWERS:
            assert schema["anyOf"][1] == {"$ref": "#/components/schemas/GatewayError"}
            schema = schema["anyOf"][0]
        assert schema["allOf"] == [ERROR_REF], f"{method} {path} {status}"
        assert codes(schema), f"{method} {path} {status}: its codes are listed"


def codes(schema: dict[str, Any]) -> list[str]:
    listed: list[str] = schema["properties"]["error"]["properties"]["code"]["enum"]
    return listed


def error_codes(method: str, path: str, status: str) -> list[str]:
    schema = operation(method, path)["responses"][status]["content"]["application/json"]["schema"]
    return codes(schema.get("anyOf", [schema])[0])


@pytest.mark.parametrize(
    ("method", "path", "op"), operations(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_404_and_409_has_a_specific_code(method: str, path: str, op: dict[str, Any]) -> None:
    for status in ("404", "409"):
        if status in op["responses"]:
            assert not {"not_found", "conflict"} & set(error_codes(method, path, status))


def test_each_operation_lists_the_codes_it_can_answer() -> None:
    assert error_codes("PUT", "/v1/onboarding/tutorials/events_intro/progress", "409") == [
        "tutorial_already_completed",
        "tutorial_already_skipped",
    ]
    assert error_codes("PUT", "/v1/onboarding/checklist/{task_id}", "404") == [
        "onboarding_not_started",
        "organization_not_found",
        "unknown_checklist_task",
    ]
    assert error_codes("POST", "/v1/onboarding", "404") == ["organization_not_found"]
    assert error_codes("POST", "/v1/onboarding/metrics", "429") == ["quota_exceeded"]
    assert error_codes("PUT", "/v1/onboarding/wizard/steps/1", "409") == [
        "wizard_step_already_completed",
        "wizard_step_out_of_sequence",
    ]
    for name in ("funnel", "completion-rate", "completion-time"):
        assert error_codes("GET", f"/v1/analytics/{name}", "404") == ["experiment_not_found"]
    assert error_codes("GET", "/v1/onboarding/export", "404") == [
        "onboarding_not_started",
        "organization_not_found",
    ]
    assert error_codes("GET", "/v1/analytics/funnel", "422") == ["validation_error"]
    assert error_codes("GET", "/v1/onboarding", "401") == ["unauthorized"]


def test_every_error_class_has_a_code_of_its_own() -> None:
    classes = list(_subclasses(DomainError))
    by_code: dict[str, list[str]] = {}
    for error in classes:
        by_code.setdefault(error.code, []).append(error.__name__)
    assert {code: names for code, names in by_code.items() if len(names) > 1} == {}
    # The generic bases are never what a client gets: every documented code is a concrete class's.
    documented = {code for _, path, op in operations() for code in _documented_codes(op)}
    assert documented <= {error.code for error in classes} - {"not_found", "conflict", "bad_request"}


def _subclasses(base: type[DomainError]) -> Any:
    for sub in base.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _documented_codes(op: dict[str, Any]) -> Any:
    for status, response in op["responses"].items():
        if status >= "400":
            schema = response["content"]["application/json"]["schema"]
            yield from codes(schema.get("anyOf", [schema])[0])


def test_rules_beyond_the_schema_are_listed_on_their_operations() -> None:
    assert set(operation("PUT", "/v1/onboarding/wizard/steps/1")["x-rules"]) >= {
        "step_body_mismatch",
        "unknown_timezone",
        "wizard_data_too_large",
    }
    assert {"datetime_not_in_future", "datetime_too_far_ahead"} <= set(
        operation("PUT", "/v1/onboarding/wizard/steps/first_event")["x-rules"]
    )
    assert "invalid_email" in operation("PUT", "/v1/onboarding/wizard/steps/4")["x-rules"]
    assert "timestamp_too_old" in operation("POST", "/v1/onboarding/metrics")["x-rules"]
    assert (
        "steps_exceed_total" in operation("PUT", "/v1/onboarding/tutorials/events_intro/progress")["x-rules"]
    )
    assert set(operation("GET", "/v1/analytics/funnel")["x-rules"]) == {"date_range"}
    assert set(operation("POST", "/v1/onboarding")["x-rules"]) == {"experiment"}  # experiments are data
    assert set(operation("GET", "/v1/onboarding/export")["x-rules"]) == {"cursor_invalid"}
    assert "x-rules" not in operation("GET", "/v1/onboarding")


def test_whole_numbers_are_integers_with_their_bounds_in_the_schema() -> None:
    text = json.dumps(DOCUMENT)
    # Bounds placed where pydantic cannot translate them would appear as raw `ge`/`le` keys.
    assert not re.search(r'"(ge|le|gt|lt)":', text)
    schemas = DOCUMENT["components"]["schemas"]
    steps = schemas["TutorialProgressUpdate"]["properties"]["steps_completed"]
    assert (steps["type"], steps["minimum"], steps["maximum"]) == ("integer", 0, 6)


def test_timestamps_a_client_sends_are_limited_to_offsets_the_database_stores() -> None:
    timestamp = DOCUMENT["components"]["schemas"]["ClientMetricEvent"]["properties"]["timestamp"]
    pattern = re.compile(timestamp["pattern"])
    assert timestamp["format"] == "date-time"
    assert pattern.match("2026-11-25T09:30:00+15:59") and pattern.match("2026-11-25T09:30:00.123456Z")
    assert not pattern.match("2026-11-25T09:30:00+16:00") and not pattern.match("2026-11-25T09:30:00")


def test_route_specific_errors_are_documented() -> None:
    assert {"404", "409"} <= set(operation("PUT", "/v1/onboarding/wizard/steps/1")["responses"])
    assert "409" in operation("POST", "/v1/onboarding/sample-data")["responses"]
    assert "404" in operation("POST", "/v1/onboarding/tutorials/{tutorial_id}/views")["responses"]
    assert "404" not in operation("GET", "/v1/analytics/incomplete")["responses"]
    assert "404" not in operation("GET", "/v1/analytics/experiments")["responses"]


def test_error_schema_is_the_contract_error_document() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    assert schemas["ErrorResponse"]["required"] == ["error"]
    assert set(schemas["ErrorBody"]["required"]) == {"code", "message", "details", "localized_message"}


def test_request_bodies_are_the_request_models() -> None:
    def body(method: str, path: str) -> Any:
        return operation(method, path)["requestBody"]["content"]["application/json"]["schema"]

    assert body("POST", "/v1/onboarding/metrics") == {"$ref": "#/components/schemas/MetricBatch"}
    assert body("POST", "/v1/onboarding/sample-data") == {"$ref": "#/components/schemas/SampleDataRequest"}
    steps = body("PUT", "/v1/onboarding/wizard/steps/1")["anyOf"]
    assert steps == [
        {"$ref": f"#/components/schemas/{model}"}
        for model in ("OrganizationProfile", "OrganizationProfileDraft")
    ]
    start = body("POST", "/v1/onboarding")  # optional: no body, or null, starts as well
    assert start["anyOf"] == [{"$ref": "#/components/schemas/StartRequest"}, {"type": "null"}]
    schemas = DOCUMENT["components"]["schemas"]
    assert schemas["MetricBatch"]["properties"]["events"]["maxItems"] == 100
    assert schemas["OrganizationProfile"]["additionalProperties"] is False


def test_path_parameters_list_the_accepted_ids() -> None:
    tutorial = operation("POST", "/v1/onboarding/tutorials/{tutorial_id}/complete")["parameters"][0]
    assert len(tutorial["schema"]["enum"]) == 5
    task = operation("PUT", "/v1/onboarding/checklist/{task_id}")["parameters"][0]
    assert task["schema"]["enum"] == list(TASK_IDS)


def test_analytics_query_parameters_are_documented() -> None:
    parameters = {p["name"]: p for p in operation("GET", "/v1/analytics/incomplete")["parameters"]}
    assert set(parameters) == {"from", "to", "limit", "cursor"}
    assert all(p["in"] == "query" and not p["required"] for p in parameters.values())
    date, date_time = parameters["from"]["schema"]["anyOf"][:2]
    assert (date["format"], date_time["format"]) == ("date", "date-time")
    assert re.fullmatch(date["pattern"][1:-1], "2026-11-25") and not re.fullmatch(date["pattern"][1:-1], "0")
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


def test_the_headers_error_answers_carry_are_documented() -> None:
    for method, path, op in operations():
        allow = op["responses"]["405"]["headers"]["Allow"]
        assert allow["required"] is True, (method, path)
    retry = operation("POST", "/v1/onboarding/metrics")["responses"]["429"]["headers"]["Retry-After"]
    assert re.fullmatch(retry["schema"]["pattern"], "3600")


def test_the_video_events_key_fields_are_in_the_schema() -> None:
    conditions = DOCUMENT["components"]["schemas"]["ClientMetricEvent"]["allOf"]
    required = {
        c["if"]["properties"]["event_type"]["const"]: c["then"]["properties"]["event_data"]["required"]
        for c in conditions
    }
    assert required == {
        "video_played": ["video_id", "video_title"],
        "video_completed": ["video_id", "watch_percentage"],
    }


def test_tutorial_progress_is_documented_per_tutorial_with_its_total() -> None:
    documented = {path: op for method, path, op in operations() if path.endswith("/progress")}
    assert sorted(documented) == sorted(openapi.tutorial_progress_paths())
    for path, tutorial_id in openapi.tutorial_progress_paths().items():
        body = documented[path]["requestBody"]["content"]["application/json"]["schema"]
        assert body["properties"]["steps_completed"]["maximum"] == CATALOG[tutorial_id].total_steps
        assert documented[path]["x-route"] == "PUT /v1/onboarding/tutorials/{tutorial_id}/progress"


@pytest.mark.parametrize(
    ("event_data", "accepted"),
    [
        ({"a": {"b": {"c": [1, "x", None, True]}}}, True),  # containers down to depth 4
        ({"a": {"b": {"c": {"d": 1}}}}, True),
        ({"a": {"b": {"c": {"d": {}}}}}, False),  # an object at depth 5
        ({"a": [[[[]]]]}, False),
        ({"a": {"Bad Key": 1}}, False),  # keys at every level
        ({"a": ["nul\x00inside"]}, False),
        ({"a": 1.5, "b": -2, "c": "text"}, True),
    ],
)
def test_event_data_schema_and_the_service_agree(event_data: dict[str, Any], accepted: bool) -> None:
    import jsonschema_rs
    from pydantic import ValidationError

    from onboarding.client_metrics import ClientMetricEvent

    schema = DOCUMENT["components"]["schemas"]["ClientMetricEvent"]["properties"]["event_data"]
    assert jsonschema_rs.Draft202012Validator(schema).is_valid(event_data) is accepted
    event = {"event_id": "8f4a2f7e-3f7e-4d6e-9a51-2b8f0c8f9e10", "event_type": "checklist_viewed"}
    try:
        ClientMetricEvent.model_validate(
            {**event, "timestamp": "2099-01-01T00:00:00Z", "event_data": event_data}
        )
        service_accepts_data = True
    except ValidationError as error:
        # The timestamp is refused either way (in the future); only event_data's verdict matters here.
        service_accepts_data = all(item["loc"][0] != "event_data" for item in error.errors())
    assert service_accepts_data is accepted


def test_the_dashboard_sends_only_documented_query_parameters() -> None:
    # A query parameter a route does not declare is a 422: the analyst dashboard must send none.
    source = (openapi.ROOT / "dashboard" / "app.js").read_text()
    calls = re.findall(r'api\("(/v1/[a-z/-]+)"(?:, \{([^}]*)\})?\)', source)
    assert len(calls) >= 5
    for path, arguments in calls:
        sent = {item.split(":")[0].strip() for item in arguments.split(",") if item.strip()}
        documented = {p["name"] for p in operation("GET", path).get("parameters", []) if p["in"] == "query"}
        assert sent <= documented, (path, sent - documented)


def test_dict_keys_are_constrained_by_property_names_not_pattern_properties() -> None:
    # patternProperties would let a key outside the pattern through with any value; the service refuses it.
    assert "patternProperties" not in json.dumps(DOCUMENT)
    roles = DOCUMENT["components"]["schemas"]["FirstEvent"]["properties"]["role_requirements"]
    assert "pattern" in roles["propertyNames"]
    assert roles["additionalProperties"]["type"] == "integer"
