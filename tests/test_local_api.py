"""The local HTTP API (`make serve`), driven over real HTTP on 127.0.0.1 against the test database."""

import base64
import http.client
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from onboarding.models import OnboardingState
from tools import serve
from tools.serve import LocalApi, Request, build_event, claims_from_authorization, dev_token, http_response

ADMIN = {"sub": "user-1", "custom:org_id": "org_a", "cognito:groups": ["org_admin"]}


class Client:
    def __init__(self, port: int) -> None:
        self.port = port

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        token: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {dev_token(token)}"
        payload = body if isinstance(body, bytes | None) else json.dumps(body).encode()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=payload, headers=all_headers)
            response = connection.getresponse()
            raw = response.read()
            headers_out = {name.lower(): value for name, value in response.getheaders()}
            return response.status, headers_out, json.loads(raw) if raw else None
        finally:
            connection.close()


@pytest.fixture
def local_api(database_url: str) -> Iterator[Client]:
    server = serve.create_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Client(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_start_then_read_onboarding_over_http(local_api: Client, make_org, db: Session) -> None:
    make_org("org_a")
    created = local_api.request("POST", "/v1/onboarding", token=ADMIN)
    again = local_api.request("GET", "/v1/onboarding", token=ADMIN)
    assert (created[0], again[0]) == (201, 200)
    assert created[2]["organization_id"] == again[2]["organization_id"] == "org_a"
    assert created[1]["content-type"] == "application/json"
    assert db.scalars(select(OnboardingState.organization_id)).all() == ["org_a"]


def test_every_response_says_it_comes_from_the_dev_only_server(local_api: Client) -> None:
    _, headers, _ = local_api.request("GET", "/v1/onboarding")
    assert "DEV ONLY" in headers["x-local-api"]


def test_no_token_is_401_from_the_gateway_and_reaches_no_function(
    local_api: Client, make_org, db: Session
) -> None:
    make_org("org_a")
    status, headers, body = local_api.request("POST", "/v1/onboarding")
    assert (status, body) == (401, {"message": "Unauthorized"})
    assert headers["www-authenticate"] == "Bearer"
    assert db.scalars(select(OnboardingState)).all() == []


def test_an_expired_or_garbled_token_is_401(local_api: Client) -> None:
    assert local_api.request("GET", "/v1/onboarding", token={**ADMIN, "exp": 1_000_000_000})[0] == 401
    garbled = {"Authorization": "Bearer not-a-jwt"}
    assert local_api.request("GET", "/v1/onboarding", headers=garbled)[0] == 401


def test_a_token_without_the_org_admin_group_is_refused_by_the_function(local_api: Client, make_org) -> None:
    make_org("org_a")
    status, _, body = local_api.request(
        "GET", "/v1/onboarding", token={**ADMIN, "cognito:groups": ["viewer"]}
    )
    assert status == 403
    assert body["error"]["code"] == "forbidden"


def test_a_path_outside_the_template_is_the_catch_alls_404_and_a_known_one_405(local_api: Client) -> None:
    status, _, body = local_api.request("GET", "/v1/nowhere", token=ADMIN)
    assert (status, body["error"]["code"]) == (404, "route_not_found")
    # A known path with a method the template does not route: the catch-all's 405 with Allow.
    status, headers, body = local_api.request("PATCH", "/v1/onboarding", token=ADMIN)
    assert (status, headers["allow"], body["error"]["code"]) == (405, "GET, POST", "method_not_allowed")


def test_the_request_body_reaches_the_function(local_api: Client, make_org, db: Session) -> None:
    make_org("org_a")
    # Over the function's 32 KiB limit (not API Gateway's 10 MiB): the function's own 413 answers.
    big = json.dumps({"padding": "x" * 70_000}).encode()
    status, _, body = local_api.request("POST", "/v1/onboarding", body=big, token=ADMIN)
    assert status == 413
    assert body["error"]["code"] == "payload_too_large"
    assert db.scalars(select(OnboardingState)).all() == []


def test_cors_preflight_from_a_local_web_client_is_answered_from_the_template(local_api: Client) -> None:
    status, headers, _ = local_api.request(
        "OPTIONS",
        "/v1/onboarding",
        headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "PUT"},
    )
    assert status == 204
    assert headers["access-control-allow-origin"] == "http://localhost:5173"
    assert headers["access-control-allow-methods"] == "GET,POST,PUT,DELETE"
    assert headers["access-control-allow-headers"] == "authorization,content-type"


def test_cors_is_not_granted_to_a_foreign_origin(local_api: Client) -> None:
    status, headers, _ = local_api.request(
        "OPTIONS",
        "/v1/onboarding",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert status == 204
    assert "access-control-allow-origin" not in headers


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_the_server_refuses_to_listen_beyond_loopback(host: str) -> None:
    with pytest.raises(ValueError, match="loopback only"):
        serve.create_server(host, 0)


def test_main_refuses_a_public_bind_before_touching_the_database(capsys) -> None:
    assert serve.main(["--host", "0.0.0.0"]) == 2
    assert "refusing to listen" in capsys.readouterr().err


def test_the_banner_warns_that_signatures_are_not_verified() -> None:
    text = serve.banner("127.0.0.1", 3000)
    assert "DEV ONLY" in text
    assert "NOT VERIFIED" in text
    token = text.split("Bearer ")[1].split('"')[0]
    assert claims_from_authorization(f"Bearer {token}") == {
        "custom:org_id": "org_demo",
        "cognito:groups": "[org_admin]",
    }


def test_claims_reach_the_function_as_api_gateway_passes_them() -> None:
    claims = claims_from_authorization(
        "Bearer " + dev_token({"custom:org_id": "org_a", "cognito:groups": ["org_admin", "analyst"], "n": 5})
    )
    assert claims == {"custom:org_id": "org_a", "cognito:groups": "[org_admin analyst]", "n": "5"}


def test_a_request_becomes_the_http_api_event_of_its_template_route() -> None:
    request = Request(
        method="PUT",
        path="/v1/onboarding/tutorials/calendar_basics/progress",
        raw_query="a=1&a=2&b=",
        headers={"content-type": "application/json", "cookie": "s=1; t=2", "host": "127.0.0.1:3000"},
        body=b'{"steps_completed": 2}',
        client_ip="127.0.0.1",
    )
    event = build_event(
        request,
        {"custom:org_id": "org_a"},
        "PUT /v1/onboarding/tutorials/{tutorial_id}/progress",
        {"tutorial_id": "calendar_basics"},
    )
    assert event["routeKey"] == event["requestContext"]["routeKey"]
    assert event["routeKey"] == "PUT /v1/onboarding/tutorials/{tutorial_id}/progress"
    assert event["pathParameters"] == {"tutorial_id": "calendar_basics"}
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == request.path
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["cookies"] == ["s=1", "t=2"]
    assert "cookie" not in event["headers"]
    assert (event["body"], event["isBase64Encoded"]) == ('{"steps_completed": 2}', False)
    assert event["requestContext"]["authorizer"]["jwt"]["claims"] == {"custom:org_id": "org_a"}


def test_a_binary_request_body_is_base64_encoded() -> None:
    request = Request(
        "POST", "/v1/onboarding/metrics", "", {"content-type": "image/png"}, b"\x89PNG\x00", "::1"
    )
    event = build_event(request, {"custom:org_id": "org_a"}, "POST /v1/onboarding/metrics", {})
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x89PNG\x00"


def test_the_functions_answer_becomes_the_http_response() -> None:
    status, headers, body = http_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/octet-stream", "X-Many": ["a", "b"]},
            "cookies": ["session=1; HttpOnly"],
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }
    )
    assert (status, body) == (201, b"\x00\x01")
    assert ("X-Many", "a,b") in headers
    assert ("Set-Cookie", "session=1; HttpOnly") in headers
    # Payload format 2.0 also accepts a bare value: 200 with it as JSON.
    assert http_response({"ok": True})[::2] == (200, b'{"ok": true}')


def test_a_failing_function_is_the_gateways_500(monkeypatch) -> None:
    def broken(event: dict[str, Any], context: object) -> dict[str, Any]:
        raise RuntimeError("defect")

    loader: Callable[..., Any] = lambda spec: broken  # noqa: E731
    monkeypatch.setattr(serve, "load_handler", loader)
    status, _, body = LocalApi().handle(
        "GET",
        "/v1/onboarding",
        [("Host", "127.0.0.1:3000"), ("Authorization", f"Bearer {dev_token(ADMIN)}")],
        b"",
        "127.0.0.1",
    )
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})


def test_a_garbled_content_length_is_400(local_api: Client) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", local_api.port, timeout=30)
    try:
        connection.putrequest("POST", "/v1/onboarding")
        connection.putheader("Content-Length", "many")
        connection.endheaders()
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())) == (400, {"message": "Bad Request"})
    finally:
        connection.close()


def test_the_same_api_is_a_wsgi_app_for_in_process_clients(database_url, make_org, db: Session) -> None:
    from werkzeug.test import Client as WsgiClient

    make_org("org_a")
    client = WsgiClient(LocalApi().wsgi)
    token = {"Authorization": f"Bearer {dev_token(ADMIN)}"}
    created = client.post("/v1/onboarding", headers=token)
    tutorial = client.post("/v1/onboarding/tutorials/events_intro/views", headers=token)
    unknown = client.post("/v1/onboarding/tutorials/events_intro/views?x=1", headers=token)
    assert (unknown.status_code, json.loads(unknown.data)["error"]["details"][0]["field"]) == (422, "query.x")
    assert (created.status_code, json.loads(created.data)["organization_id"]) == (201, "org_a")
    assert (tutorial.status_code, json.loads(tutorial.data)["status"]) == (200, "in_progress")
    assert "DEV ONLY" in created.headers["X-Local-Api"]
    assert client.get("/v1/onboarding").status_code == 401
    assert client.get("/v1/nowhere", headers=token).status_code == 404
    bad = client.put(
        "/v1/onboarding/preferences", headers=token, data=b"{oops", content_type="application/json"
    )
    assert (bad.status_code, json.loads(bad.data)["error"]["code"]) == (400, "malformed_request")


@pytest.mark.parametrize("host", ["localhost", "localhost:3000", "127.0.0.1:3000", "127.1.2.3", "[::1]:3000"])
def test_loopback_host_values_are_served(host: str) -> None:
    assert serve.is_loopback_host(host)


@pytest.mark.parametrize(
    "host", ["", "evil.example", "evil.example:3000", "localhost.evil.example", "192.0.2.10", "[::]", "[oops"]
)
def test_a_host_that_is_not_loopback_is_refused(host: str) -> None:
    # DNS rebinding: the attacker's name resolves to 127.0.0.1, but the browser still sends it as Host.
    assert not serve.is_loopback_host(host)


def test_a_rebound_host_is_403_and_reaches_no_function(local_api: Client, make_org, db: Session) -> None:
    make_org("org_a")
    status, _, body = local_api.request(
        "POST", "/v1/onboarding", token=ADMIN, headers={"Host": "rebind.evil.example:3000"}
    )
    assert (status, body) == (403, {"message": "Forbidden"})
    assert db.scalars(select(OnboardingState)).all() == []


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://localhost.evil.example"])
def test_a_request_from_a_foreign_origin_is_403_and_reaches_no_function(
    local_api: Client, make_org, db: Session, origin: str
) -> None:
    make_org("org_a")
    status, _, body = local_api.request("POST", "/v1/onboarding", token=ADMIN, headers={"Origin": origin})
    assert (status, body) == (403, {"message": "Forbidden"})
    assert db.scalars(select(OnboardingState)).all() == []


def test_a_request_from_a_local_web_client_is_served(local_api: Client, make_org) -> None:
    make_org("org_a")
    status, headers, _ = local_api.request(
        "POST", "/v1/onboarding", token=ADMIN, headers={"Origin": "http://localhost:5173"}
    )
    assert (status, headers["access-control-allow-origin"]) == (201, "http://localhost:5173")


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "BREW"])
def test_any_other_method_gets_the_contracts_json_405_not_a_501_page(local_api: Client, method: str) -> None:
    status, headers, body = local_api.request(method, "/v1/onboarding", token=ADMIN)
    assert (status, headers["content-type"], headers["allow"]) == (405, "application/json", "GET, POST")
    assert body["error"]["code"] == "method_not_allowed"


def test_the_wsgi_app_passes_the_query_string_when_raw_uri_lacks_it(database_url, make_org) -> None:
    # werkzeug's test client (schemathesis' WSGI transport) sets RAW_URI to the path alone.
    from werkzeug.test import Client as WsgiClient

    client = WsgiClient(LocalApi().wsgi)
    analyst = {"Authorization": f"Bearer {dev_token({'cognito:groups': ['platform_analyst']})}"}
    response = client.get("/v1/analytics/funnel?inactive_days=0", headers=analyst)
    assert response.status_code == 422
    assert json.loads(response.data)["error"]["details"][0]["field"] == "query.inactive_days"


def test_the_rebinding_checks_are_on_unless_turned_off_for_the_in_process_harness() -> None:
    foreign = [("Host", "127.0.0.1:3000"), ("Origin", "https://evil.example")]
    assert LocalApi().handle("GET", "/v1/nowhere", foreign, b"", "127.0.0.1")[0] == 403
    assert serve.create_server.__kwdefaults__ == {"cors_origins": ()}  # the server cannot turn them off
    # Without them (API Gateway's behaviour): routed; no token, so the authorizer's 401.
    assert LocalApi(rebinding_checks=False).handle("GET", "/v1/nowhere", foreign, b"", "127.0.0.1")[0] == 401
