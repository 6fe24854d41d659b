"""Requests no route declares (issue 14): API Gateway's `$default` and `OPTIONS /{proxy+}` routes send
them to CatchAllFunction, which answers in the contract's error shape (404 `route_not_found`, 405
`method_not_allowed` with `Allow`); the local API and `make invoke` select routes the same way."""

import json
from typing import Any

import pytest
from werkzeug.test import Client as WsgiClient

from onboarding import routes
from tools.lambda_events import http_api_event, local_context
from tools.serve import LocalApi, dev_token
from tools.template import find_route, functions, http_routes, load_handler, load_template

TEMPLATE = load_template()
CATCH_ALL = functions(TEMPLATE)["CatchAllFunction"]
ADMIN = {"custom:org_id": "org_a", "cognito:groups": ["org_admin"]}
HOST = {"Host": "127.0.0.1:3000"}


def catch_all(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    event = http_api_event(method, path, **kwargs)
    answer: dict[str, Any] = load_handler(CATCH_ALL)(event, local_context(function_name="CatchAllFunction"))
    return answer


def test_the_route_table_is_the_templates() -> None:
    assert sorted(routes.ROUTES) == sorted((route.method, route.path) for route in http_routes(TEMPLATE))


def test_the_catch_all_routes_are_default_behind_the_authorizer_and_an_open_options() -> None:
    assert CATCH_ALL.routes == ()  # none of the API's own routes
    assert {(route.route_key, route.authorized) for route in CATCH_ALL.catch_all_routes} == {
        ("$default", True),
        ("OPTIONS /{proxy+}", False),
    }
    others = [spec.logical_id for spec in functions(TEMPLATE).values() if spec.catch_all_routes]
    assert others == ["CatchAllFunction"]


def test_the_catch_all_function_runs_outside_the_vpc_without_database_access() -> None:
    properties = TEMPLATE["Resources"]["CatchAllFunction"]["Properties"]
    assert properties["VpcConfig"] == {"Ref": "AWS::NoValue"}  # replaces the Globals VPC whole
    assert "Policies" not in properties
    assert (CATCH_ALL.memory_size, CATCH_ALL.timeout) == (128, 3)


@pytest.mark.parametrize(
    ("method", "path", "route_key", "parameters"),
    [
        ("GET", "/v1/onboarding", "GET /v1/onboarding", {}),
        # A route without parameters wins over one with (`skip` is a step id's shape too).
        ("POST", "/v1/onboarding/wizard/skip", "POST /v1/onboarding/wizard/skip", {}),
        ("PUT", "/v1/onboarding/wizard/steps/3", "PUT /v1/onboarding/wizard/steps/{step}", {"step": "3"}),
        # The greedy OPTIONS route before $default; $default for any other method and path.
        ("OPTIONS", "/v1/onboarding", "OPTIONS /{proxy+}", {"proxy": "v1/onboarding"}),
        ("OPTIONS", "/a/b/c", "OPTIONS /{proxy+}", {"proxy": "a/b/c"}),
        ("OPTIONS", "/", "$default", {}),
        ("TRACE", "/v1/onboarding", "$default", {}),
        ("PATCH", "/v1/onboarding/wizard/steps/3", "$default", {}),
        ("GET", "/v1/nowhere", "$default", {}),
        ("GET", "/v1/onboarding/", "$default", {}),
    ],
)
def test_routes_are_selected_as_api_gateway_selects_them(
    method: str, path: str, route_key: str, parameters: dict[str, str]
) -> None:
    found = find_route(method, path, TEMPLATE)
    assert found is not None
    assert (found[0].route_key, found[1]) == (route_key, parameters)


def test_an_unknown_path_is_404_route_not_found() -> None:
    answer = catch_all("GET", "/v1/nowhere")
    body = json.loads(answer["body"])
    assert (answer["statusCode"], body["error"]["code"]) == (404, "route_not_found")
    assert set(body["error"]) == {"code", "message", "details", "localized_message"}
    assert "Allow" not in answer["headers"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("TRACE", "/v1/onboarding", "GET, POST"),
        ("PATCH", "/v1/onboarding/sample-data", "GET, POST, DELETE"),
        ("GET", "/v1/onboarding/wizard/steps/9", "PUT"),
        ("HEAD", "/v1/analytics/funnel", "GET"),
        ("PROPFIND", "/v1/onboarding/tutorials/events_intro/complete", "POST"),
    ],
)
def test_a_known_path_with_another_method_is_405_with_allow(method: str, path: str, allow: str) -> None:
    answer = catch_all(method, path)
    assert (answer["statusCode"], answer["headers"]["Allow"]) == (405, allow)
    assert answer["headers"]["Content-Type"] == "application/json"
    assert json.loads(answer["body"])["error"]["code"] == "method_not_allowed"


def test_options_on_a_known_path_lists_its_methods_and_on_an_unknown_one_is_404() -> None:
    answer = catch_all("OPTIONS", "/v1/onboarding/sample-data", claims={})
    assert (answer["statusCode"], answer["headers"]["Allow"], answer["body"]) == (
        204,
        "GET, POST, DELETE, OPTIONS",
        "",
    )
    assert catch_all("OPTIONS", "/v1/nowhere", claims={})["statusCode"] == 404


def test_the_message_is_in_the_requests_language() -> None:
    answer = catch_all("DELETE", "/v1/nowhere", headers={"Accept-Language": "fr-CA, en;q=0.5"})
    english = catch_all("DELETE", "/v1/nowhere")
    localized = json.loads(answer["body"])["error"]["localized_message"]
    assert localized != json.loads(english["body"])["error"]["localized_message"]


def test_a_client_controlled_method_and_path_are_quoted_short() -> None:
    answer = catch_all("GET", "/v1/" + "x" * 5000)
    assert len(json.loads(answer["body"])["error"]["message"]) < 300


# ------------------------------------------------------------------ the local API (no database needed)
@pytest.fixture(scope="module")
def client() -> WsgiClient:
    return WsgiClient(LocalApi().wsgi)


def token() -> dict[str, str]:
    return {**HOST, "Authorization": f"Bearer {dev_token(ADMIN)}"}


@pytest.mark.parametrize("method", ["TRACE", "PATCH", "PROPFIND", "BREW", "HEAD"])
def test_the_local_api_answers_any_method_on_a_known_path_with_the_contracts_405(
    client: WsgiClient, method: str
) -> None:
    response = client.open("/v1/onboarding", method=method, headers=token())
    assert (response.status_code, response.headers["Allow"]) == (405, "GET, POST")
    assert response.headers["Content-Type"] == "application/json"
    if method != "HEAD":
        assert json.loads(response.data)["error"]["code"] == "method_not_allowed"


def test_the_local_api_answers_an_unknown_path_with_the_contracts_404(client: WsgiClient) -> None:
    response = client.open("/v1/nowhere", method="PROPFIND", headers=token())
    assert (response.status_code, json.loads(response.data)["error"]["code"]) == (404, "route_not_found")


def test_without_a_token_the_catch_all_is_the_authorizers_401(client: WsgiClient) -> None:
    response = client.open("/v1/nowhere", method="TRACE", headers=HOST)
    assert (response.status_code, json.loads(response.data)) == (401, {"message": "Unauthorized"})


def test_a_preflight_needs_no_token_and_gets_the_cors_headers(client: WsgiClient) -> None:
    headers = {**HOST, "Origin": "http://localhost:5173", "Access-Control-Request-Method": "PUT"}
    response = client.open("/v1/onboarding/wizard/steps/2", method="OPTIONS", headers=headers)
    assert response.status_code == 204
    assert response.headers["Allow"] == "PUT, OPTIONS"
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert response.headers["Access-Control-Allow-Methods"] == "GET,POST,PUT,DELETE"
