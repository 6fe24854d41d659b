"""What the API answers to a request no route takes: 404 `route_not_found`, or 405 `method_not_allowed`
with `Allow` where the path exists under other methods, in the contract's error shape.

Two places answer such requests: each API function's resolver (a request API Gateway routed to the
function that its resolver does not take, see `api`), and the catch-all function (functions/catch_all)
behind API Gateway's `$default` and `OPTIONS /{proxy+}` routes, which receives every method and path no
route of the template declares. That function imports only this module and what it needs (`errors`,
`i18n`, `routes`: the standard library alone), so its cold start costs milliseconds of imports and it
needs neither the VPC nor the database.
"""

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Final

from onboarding import i18n, routes
from onboarding.errors import DomainError, MethodNotAllowed, RouteNotFound

JSON: Final = "application/json"
# What a message quotes of a client's method and path (both are client-controlled).
MAX_QUOTED_METHOD: Final = 20
MAX_QUOTED_PATH: Final = 200


def error_document(error: DomainError) -> dict[str, Any]:
    """The contract's error document: `{"error": {"code", "message", "details", "localized_message"}}`."""
    return {
        "error": {
            "code": error.code,
            "message": error.message,
            "details": error.details,
            # The code's text in the request's language (Accept-Language), for showing to people.
            "localized_message": i18n.text(f"errors.{error.code}"),
        }
    }


def error_event_response(error: DomainError) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) response carrying `error`."""
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": JSON, **error.headers},
        "body": json.dumps(error_document(error)),
        "isBase64Encoded": False,
    }


def unmatched_error(method: str, path: str) -> DomainError:
    """The answer to `method path` when no route takes it: 405 with `Allow` where the path exists under
    other methods, else 404."""
    allowed = routes.allowed_methods(path)
    if allowed:
        error: DomainError = MethodNotAllowed(
            f"{method[:MAX_QUOTED_METHOD]} is not allowed here; use {', '.join(allowed)}."
        )
        error.headers["Allow"] = ", ".join(allowed)
        return error
    return RouteNotFound(f"No route for {method[:MAX_QUOTED_METHOD]} {path[:MAX_QUOTED_PATH]}.")


def unmatched_event_response(event: Mapping[str, Any]) -> dict[str, Any]:
    """The catch-all routes' answer to an HTTP API v2 event. OPTIONS on an existing path lists its
    methods (204 with `Allow`; for a CORS preflight API Gateway adds its CORS headers to this answer);
    any other method is a 405 with `Allow` where the path exists, or a 404."""
    http = (event.get("requestContext") or {}).get("http") or {}
    method = str(http.get("method") or "").upper()
    path = str(event.get("rawPath") or http.get("path") or "/")
    headers = event.get("headers")
    language = headers.get("accept-language") if isinstance(headers, Mapping) else None
    with i18n.use(i18n.negotiate(language if isinstance(language, str) else None)):
        allowed = routes.allowed_methods(path)
        if method == "OPTIONS" and allowed:
            return {
                "statusCode": HTTPStatus.NO_CONTENT.value,
                "headers": {"Allow": ", ".join([*allowed, "OPTIONS"])},
                "body": "",
                "isBase64Encoded": False,
            }
        return error_event_response(unmatched_error(method, path))
