"""`make serve`: the template's HTTP API on 127.0.0.1, for web-client development. DEV ONLY.

!!! DEV ONLY: JWT SIGNATURES ARE NOT VERIFIED. !!!
API Gateway's JWT authorizer verifies the token (signature, issuer, audience, expiry) before a
function runs. This server only decodes the bearer token's payload and trusts its claims, so anyone
who can reach it can be any organization. That is why it refuses to listen on anything but loopback,
and why it answers 403 to a request whose Host is not a loopback name or address (a page using DNS
rebinding sends its own name) or whose Origin is neither local nor configured with --cors-origin.

Everything else follows API Gateway (HTTP API, payload format 2.0): routes come from template.yaml
(the same list the deployed API has) and are selected as API Gateway selects them (a route without
path parameters, then with, then a greedy `{proxy+}` route, then `$default`), so a method or path no
route declares, TRACE and PROPFIND included, reaches the catch-all function and gets the contract's
404 or 405; a missing or unreadable token on a route behind the authorizer is
`401 {"message":"Unauthorized"}`, claims reach the function as strings (`cognito:groups` as
`"[org_admin analyst]"`), a CORS preflight goes to `OPTIONS /{proxy+}` (no authorizer) and gets the
template's CORS headers added, and the function's answer (status, headers, cookies, base64 bodies)
becomes the HTTP response.
"""

import argparse
import base64
import binascii
import ipaddress
import json
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from tools.lambda_events import ADMIN_CLAIMS, http_api_event, local_context
from tools.template import (
    FunctionSpec,
    apply_environment,
    find_route,
    functions,
    load_handler,
    load_template,
)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
TEXT_CONTENT_TYPES = ("application/json", "text/", "application/xml", "application/x-www-form-urlencoded")
TOO_LARGE = "Request Entity Too Large"
DEV_HEADER = ("X-Local-Api", "DEV ONLY - JWT signatures are not verified")

Response = tuple[int, list[tuple[str, str]], bytes]


def banner(host: str, port: int) -> str:
    token = dev_token(ADMIN_CLAIMS)
    return f"""
==============================================================================
  DEV ONLY - local HTTP API of the SignUpFlow onboarding service
  JWT SIGNATURES ARE NOT VERIFIED: every bearer token's claims are trusted.
  Never expose this server; it listens on loopback only.

  http://{host}:{port}/v1/onboarding
  Demo org admin token (unsigned):
    curl -H "Authorization: Bearer {token}" http://{host}:{port}/v1/onboarding
==============================================================================
"""


def ensure_loopback(host: str) -> None:
    """Refuse any address that is not loopback (0.0.0.0, ::, a LAN address, a name resolving elsewhere)."""
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as error:
        raise ValueError(f"cannot resolve {host!r}: {error}") from error
    outside = sorted(a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_loopback)
    if not addresses or outside:
        raise ValueError(
            f"refusing to listen on {host!r} ({', '.join(outside) or 'no address'}): this server trusts "
            "unverified JWTs and binds to loopback only (127.0.0.1, ::1, localhost)"
        )


# ------------------------------------------------------------------ tokens (DEV ONLY, no signatures)
def dev_token(claims: Mapping[str, Any]) -> str:
    """An unsigned JWT (`alg: none`) carrying `claims`, for curl and tests against this server."""

    def part(value: Mapping[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def claims_from_authorization(
    authorization: str | None, *, now: float | None = None
) -> dict[str, str] | None:
    """The bearer token's claims as API Gateway passes them (all strings), or None: unauthorized.

    DEV ONLY: the payload is decoded, the signature is NOT checked. Only `exp` is honoured.
    """
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    parts = token.strip().split(".")
    if scheme.lower() != "bearer" or len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(payload, dict) or not payload:
        return None
    expiry = payload.get("exp")
    if isinstance(expiry, int | float) and expiry <= (time.time() if now is None else now):
        return None
    return {str(name): _claim_string(value) for name, value in payload.items()}


def _claim_string(value: Any) -> str:
    # API Gateway's JWT authorizer flattens claims to strings; arrays become "[a b]".
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + " ".join(_claim_string(item) for item in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def is_loopback_host(host: str) -> bool:
    """Whether a Host header (or an origin's host[:port]) names this machine: localhost or a loopback IP.

    Names are not resolved: a rebinding attacker controls what theirs resolve to.
    """
    try:
        name = urlsplit(f"//{host}").hostname
    except ValueError:
        return False
    if not name:
        return False
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


# ------------------------------------------------------------------ requests and responses
@dataclass
class LocalApi:
    """Routes from template.yaml, handlers loaded on first use, one invocation at a time."""

    cors_origins: tuple[str, ...] = ()
    specs: dict[str, FunctionSpec] = field(default_factory=functions)
    # The dev server's DNS-rebinding defence (loopback Host, local or configured Origin): DEV ONLY, API
    # Gateway has no such check (it serves any Origin, adding CORS headers only for allowed ones). The
    # in-process fuzz harness, which stands for API Gateway and opens no port, turns it off.
    rebinding_checks: bool = True
    # One request at a time, as in one Lambda container (and the service's one-connection pool).
    _invoke_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for spec in self.specs.values():
            apply_environment(spec)
        api = next(
            resource
            for resource in load_template()["Resources"].values()
            if resource["Type"] == "AWS::Serverless::HttpApi"
        )
        self.cors = api["Properties"].get("CorsConfiguration", {})

    def handle(
        self, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes, client_ip: str
    ) -> Response:
        url = urlsplit(target)
        request = Request(method.upper(), url.path, url.query, _header_map(headers), body, client_ip)
        # DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 reaches this port
        # with its own Host (and Origin). Only loopback names are this server's; only local or
        # configured origins may send requests (a preflight is answered, without CORS grants, below).
        if self.rebinding_checks and not is_loopback_host(request.headers.get("host", "")):
            return gateway_error(HTTPStatus.FORBIDDEN, "Forbidden")
        origin = request.headers.get("origin")
        requested_method = request.headers.get("access-control-request-method")
        preflight = request.method == "OPTIONS" and bool(origin) and requested_method is not None
        if (
            self.rebinding_checks
            and origin is not None
            and not preflight
            and not self._origin_allowed(origin)
        ):
            return gateway_error(HTTPStatus.FORBIDDEN, "Forbidden")
        # A preflight is routed like any request (the template's `OPTIONS /{proxy+}` route, without the
        # authorizer); API Gateway adds its CORS headers to the answer when the origin is allowed.
        status, response_headers, response_body = self._route(request)
        if preflight and origin and requested_method is not None:
            response_headers += self._preflight_headers(origin, requested_method)
        elif origin and self._origin_allowed(origin):
            response_headers.append(("Access-Control-Allow-Origin", origin))
            response_headers.append(("Vary", "Origin"))
        return status, response_headers, response_body

    def wsgi(self, environ: Mapping[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        """The same API as a WSGI application, for in-process HTTP clients (the fuzz tests).

        Requests go through `handle` like the server's: API Gateway's routing, token and size checks,
        then the function's handler. Not for production: there is no API Gateway in front of it.
        """
        target = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "")
        if not target:
            # PEP 3333: PATH_INFO is the decoded path as latin-1; quote it back into a request target.
            path = str(environ.get("PATH_INFO", "")).encode("latin-1")
            target = quote(path, safe="/;=,@:!$&'()*+~")
        # RAW_URI/REQUEST_URI are not in PEP 3333: gunicorn's carry the query, werkzeug's test client's
        # (schemathesis' transport) do not. The query is QUERY_STRING's unless the target has one.
        query = environ.get("QUERY_STRING")
        if query and "?" not in target:
            target = f"{target}?{query}"
        headers = [
            (name[5:].replace("_", "-"), str(value))
            for name, value in environ.items()
            if name.startswith("HTTP_")
        ]
        if "HTTP_HOST" not in environ and environ.get("SERVER_NAME"):
            headers.append(("HOST", str(environ["SERVER_NAME"])))  # PEP 3333: the Host fallback
        for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(name):
                headers.append((name.replace("_", "-"), str(environ[name])))
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        client_ip = str(environ.get("REMOTE_ADDR") or "127.0.0.1")
        status, response_headers, payload = self.handle(
            str(environ["REQUEST_METHOD"]), str(target), headers, body, client_ip
        )
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        start_response(
            f"{status} {reason}",
            [*response_headers, ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def _route(self, request: "Request") -> Response:
        found = find_route(request.method, request.path)
        if found is None:
            return gateway_error(HTTPStatus.NOT_FOUND, "Not Found")
        route, path_parameters = found
        if len(request.body) > MAX_REQUEST_BYTES:
            return gateway_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, TOO_LARGE)
        claims = claims_from_authorization(request.headers.get("authorization")) if route.authorized else {}
        if claims is None:
            status, response_headers, response_body = gateway_error(HTTPStatus.UNAUTHORIZED, "Unauthorized")
            return status, [*response_headers, ("WWW-Authenticate", "Bearer")], response_body
        event = build_event(request, claims, route.route_key, path_parameters)
        spec = self.specs[route.function]
        try:
            with self._invoke_lock:
                handler = load_handler(spec)
                context = local_context(
                    function_name=spec.logical_id,
                    timeout_seconds=spec.timeout,
                    memory_limit_in_mb=spec.memory_size,
                )
                result = handler(event, context)
        except Exception:
            # What API Gateway answers when the function fails; the traceback is the function's log.
            traceback.print_exc()
            return gateway_error(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error")
        return http_response(result)

    def _origin_allowed(self, origin: str) -> bool:
        if origin in self.cors_origins:
            return True
        # Any local web-client dev server (http://localhost:5173, http://127.0.0.1:3000, ...);
        # not `null` (sandboxed frames, file: pages).
        url = urlsplit(origin)
        return url.scheme in {"http", "https"} and is_loopback_host(url.netloc)

    def _preflight_headers(self, origin: str, requested_method: str) -> list[tuple[str, str]]:
        allowed_methods = [str(m).upper() for m in self.cors.get("AllowMethods", [])]
        if not (self._origin_allowed(origin) and requested_method.upper() in allowed_methods):
            return []
        return [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Methods", ",".join(allowed_methods)),
            ("Access-Control-Allow-Headers", ",".join(self.cors.get("AllowHeaders", []))),
            ("Access-Control-Max-Age", str(self.cors.get("MaxAge", 0))),
            ("Vary", "Origin"),
        ]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    raw_query: str
    headers: dict[str, str]  # lower-case names, repeated headers joined with ","
    body: bytes
    client_ip: str


def build_event(
    request: Request, claims: dict[str, str], route_key: str, path_parameters: dict[str, str]
) -> dict[str, Any]:
    """The HTTP API v2 event API Gateway would send for this request."""
    event = http_api_event(
        request.method, request.path, claims=claims, route_key=route_key, path_parameters=path_parameters
    )
    headers = request.headers
    event["headers"] = {name: value for name, value in headers.items() if name != "cookie"}
    event["cookies"] = [c.strip() for c in headers.get("cookie", "").split(";") if c.strip()]
    event["rawQueryString"] = request.raw_query
    query: dict[str, str] = {}
    for name, value in parse_qsl(request.raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    event["queryStringParameters"] = query or None
    if request.body:
        content_type = headers.get("content-type", "").lower()
        text = _as_text(request.body) if content_type.startswith(TEXT_CONTENT_TYPES) else None
        event["body"] = text if text is not None else base64.b64encode(request.body).decode()
        event["isBase64Encoded"] = text is None
    context = event["requestContext"]
    context["http"]["sourceIp"] = request.client_ip
    context["http"]["userAgent"] = headers.get("user-agent", "")
    context["domainName"] = (headers.get("host") or "localhost").split(":")[0]
    now = time.time()
    context["time"] = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))
    context["timeEpoch"] = int(now * 1000)
    return event


def _as_text(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def http_response(result: Any) -> Response:
    """The HTTP response API Gateway makes of a function's answer (payload format 2.0)."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # Format 2.0 also accepts a bare value: 200 with it as the JSON body.
        return HTTPStatus.OK, [DEV_HEADER, ("Content-Type", "application/json")], json.dumps(result).encode()
    headers = [DEV_HEADER]
    for name, value in (result.get("headers") or {}).items():
        headers.append((str(name), ",".join(map(str, value)) if isinstance(value, list) else str(value)))
    headers += [("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or []]
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    return int(result["statusCode"]), headers, payload


def gateway_error(status: HTTPStatus, message: str) -> Response:
    """An error API Gateway itself answers (before or instead of the function)."""
    body = json.dumps({"message": message}).encode()
    return status, [DEV_HEADER, ("Content-Type", "application/json")], body


def _header_map(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    return merged


# ------------------------------------------------------------------ the server
class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "LocalApiServer"

    def _dispatch(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            status, headers, body = gateway_error(HTTPStatus.BAD_REQUEST, "Bad Request")
            self.close_connection = True
        elif length > MAX_REQUEST_BYTES:
            status, headers, body = gateway_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, TOO_LARGE)
            self.close_connection = True
        else:
            raw = self.rfile.read(length) if length else b""
            status, headers, body = self.server.api.handle(
                self.command, self.path, self.headers.items(), raw, self.client_address[0]
            )
        self.send_response(status)  # sends Date and Server
        for name, value in headers:
            if name.lower() not in {"content-length", "date", "server"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    # Every method goes to API Gateway's routing: unknown routes and methods reach the catch-all
    # function. Any other method (TRACE, CONNECT, PROPFIND, ...) too, instead of http.server's 501 page.
    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _dispatch  # noqa: N815

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"[local api] {self.address_string()} {format % args}\n")


class LocalApiServer(ThreadingHTTPServer):
    # Threads so an idle keep-alive connection (browsers keep them) never blocks other clients;
    # handler invocations themselves still run one at a time (LocalApi's lock).
    daemon_threads = True

    def __init__(self, address: tuple[str, int], api: LocalApi) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.api = api
        super().__init__(address, _RequestHandler)


def create_server(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, cors_origins: tuple[str, ...] = ()
) -> LocalApiServer:
    """A server bound to `host:port` (port 0: any free port); loopback only."""
    ensure_loopback(host)
    return LocalApiServer((host, port), LocalApi(cors_origins=cors_origins))


def serve(host: str, port: int, *, cors_origins: tuple[str, ...] = ()) -> None:
    """Serve until interrupted (the database must be prepared already)."""
    server = create_server(host, port, cors_origins=cors_origins)
    bound_host, bound_port = server.server_address[:2]
    print(banner(str(bound_host), int(bound_port)), flush=True)
    # SIGTERM (kill, an IDE's stop button) ends like Ctrl-C, so the embedded PostgreSQL is stopped too.
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nlocal API stopped")
    finally:
        server.server_close()


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="DEV ONLY local HTTP API (unverified JWTs, loopback only)")
    parser.add_argument("--host", default=DEFAULT_HOST, help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 3000; 0 = any free)")
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        help="a web-client origin allowed by CORS besides http://localhost:* and http://127.0.0.1:*",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        ensure_loopback(args.host)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from tools.local_db import prepare_local_database

    url = prepare_local_database()
    print(f"Database ready and migrated: {url}")
    serve(args.host, args.port, cors_origins=tuple(args.cors_origin))
    return 0


if __name__ == "__main__":
    sys.exit(main())
