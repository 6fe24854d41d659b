"""HTTP glue shared by every API function: resolver factory, the one error mapping, the entry point,
and the one unit of work per request.

Errors leave the service in one shape, `{"error": {"code", "message", "details"}}`, whatever raised
them: a domain error, request validation, an unknown route, or the authorization and body-size checks
that run before routing (as API Gateway's own authorizer would).

Every routed request runs in one unit of work opened here, after its input was validated: a route
takes the session with `current_session(app)` and calls one domain function. The domain events it
stages are written with its change and published once it has committed (`publish_events`); a request
that causes none never loads the publisher, nor boto3.
"""

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel
from sqlalchemy.orm import Session

from onboarding import container, i18n
from onboarding.auth import Caller, Group, authorize
from onboarding.db import unit_of_work
from onboarding.errors import (
    DomainError,
    InvalidInput,
    MalformedRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from onboarding.field_errors import field_error, invalid_input_from_details
from onboarding.observability import logger, metrics
from onboarding.settings import get_settings
from onboarding.unrouted import error_document, error_event_response, unmatched_error

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def _register_snapstart_hook() -> None:
    """With SnapStart (template parameter), rebuild the engine and its connection after a restore.

    Lambda's managed Python runtimes ship `snapshot_restore_py`; elsewhere (local runs) there is no
    snapshot and nothing to register.
    """
    try:
        from snapshot_restore_py import register_after_restore
    except ImportError:
        return
    register_after_restore(container.after_restore)


_register_snapstart_hook()
_SESSION = "session"  # app.context key of the request's session


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]]
    localized_message: str  # the code's text in the request's language (Accept-Language)


class ErrorResponse(BaseModel):
    """The contract's error document (documented in OpenAPI for every operation)."""

    error: ErrorBody


ERROR_RESPONSE_REF = "#/components/schemas/ErrorResponse"


def error_schema(errors: Iterable[type[DomainError]]) -> dict[str, Any]:
    """The JSON schema of an error response that carries one of `errors`' codes (an enum)."""
    codes = sorted({error.code for error in errors})
    return {
        "allOf": [{"$ref": ERROR_RESPONSE_REF}],
        "properties": {"error": {"properties": {"code": {"enum": codes}}}},
    }


def error_description(errors: Iterable[type[DomainError]]) -> str:
    return " ".join(f"`{error.code}`: {error.description()}" for error in errors)


def documented(
    success: Mapping[int, str] | None = None,
    *,
    errors: Sequence[type[DomainError]] = (),
    links: Mapping[int, Mapping[str, Any]] | None = None,
) -> dict[int, OpenAPIResponse]:
    """A route's `responses=` for OpenAPI: its success statuses (each with the return annotation's
    schema and the `links` a client may follow from it) and the errors particular to the route (404,
    409), grouped by status, each status with the enum of its codes. The errors every route shares
    (401, 403, 413, 422, 503; 400 and 415 where it takes a body) are added by tools/openapi.py.
    """
    responses: dict[int, OpenAPIResponse] = {
        status: {"description": description} for status, description in (success or {200: "OK"}).items()
    }
    for status, link_map in (links or {}).items():
        responses[status]["links"] = dict(link_map)
    for status in sorted({error.status for error in errors}):
        group = [error for error in errors if error.status == status]
        responses[status] = {
            "description": error_description(group),
            "content": {content_types.APPLICATION_JSON: {"schema": error_schema(group)}},
        }
    return responses


class _Resolver(APIGatewayHttpResolver):
    """Powertools' HTTP API resolver, its path parameters matching what API Gateway's do: one segment
    of any characters but '/'. (Powertools' own pattern leaves out some, e.g. NUL, quotes and emoji: a
    path API Gateway routes to the function would reach no route there, and be a 405.)"""

    @staticmethod
    def _compile_regex(rule: str, base_regex: str = "^{}$") -> re.Pattern[str]:
        return re.compile(base_regex.format(re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", rule)))


def create_app() -> APIGatewayHttpResolver:
    app = _Resolver(enable_validation=True, json_body_deserializer=parse_json_body)
    app.exception_handler(DomainError)(_domain_error_response)
    app.exception_handler(RequestValidationError)(_validation_error_response)
    app.not_found(lambda _error: _route_not_found_response(app))
    # Runs after Powertools' request validation: a request refused as invalid opens no transaction.
    app.use([_request_unit_of_work])
    return app


def _request_unit_of_work(
    app: APIGatewayHttpResolver, next_middleware: Callable[[APIGatewayHttpResolver], Response[Any]]
) -> Response[Any]:
    """The request's one transaction around its route (a domain error raised in it rolls it back),
    its staged domain events published after the commit.

    A GET (safe, in HTTP's terms) starts with a plain read, sent without BEGIN and COMMIT
    (`reads_first`); the bookkeeping a GET may write after it (a first checklist completion) still
    runs in a transaction.
    """
    reads_first = app.current_event.http_method == "GET"
    with unit_of_work(after_commit=publish_events, reads_first=reads_first) as session:
        app.context[_SESSION] = session
        try:
            return next_middleware(app)
        finally:
            app.context.pop(_SESSION, None)


def publish_events(event_ids: Sequence[str]) -> None:
    """Publish committed domain events (`publisher.publish_after_commit`: never raises for the request).

    Imported here, not at the top: only requests that caused events load the publisher.
    """
    from onboarding.publisher import publish_after_commit

    publish_after_commit(event_ids)


def current_session(app: APIGatewayHttpResolver) -> Session:
    """The session of the request's unit of work."""
    session = app.context.get(_SESSION)
    assert isinstance(session, Session), "create_app() opens a unit of work around every route"
    return session


def parse_json_body(text: str) -> Any:
    """`json.loads` for request bodies, where every failure is malformed JSON (400), never a crash.

    Plain `json.loads` raises RecursionError for deep nesting and ValueError for integers over
    4300 digits, both possible within the body limit; and it accepts NaN/Infinity, which are not JSON.
    """
    try:
        parsed = json.loads(text, parse_constant=_reject_non_json_constant)
    except json.JSONDecodeError:
        raise
    except (RecursionError, ValueError) as error:
        raise json.JSONDecodeError(f"unparseable JSON ({type(error).__name__})", text, 0) from error
    # Powertools hands a body parameter that is not a list the first element of an array body
    # (`[{"completed": true}]` would pass as `{"completed": true}`). Every body here is an object: an
    # array is passed on as a tuple, which no body model accepts (422).
    return tuple(parsed) if isinstance(parsed, list) else parsed


def _reject_non_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def current_caller(app: APIGatewayHttpResolver) -> Caller:
    caller = app.context.get("caller")
    assert isinstance(caller, Caller), "lambda_entrypoint() authorizes before routing"
    return caller


def current_org_id(app: APIGatewayHttpResolver) -> str:
    org_id = current_caller(app).org_id
    assert org_id is not None, "org routes are authorized with an organization claim"
    return org_id


def lambda_entrypoint(app: APIGatewayHttpResolver, *, group: Group) -> LambdaHandler:
    """The function's handler: authorize and bound the body first, then let the resolver route."""

    # Every log line carries the API Gateway request id (correlation_id; the access log's requestId);
    # the first invocation of a container publishes the ColdStart metric.
    @logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        with i18n.use(i18n.negotiate(_header(event, "accept-language"))):
            return _handle(event, context)

    def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        try:
            caller = authorize(event, group)
            route = _route_of(app, event)
            event = _with_json_text_body(event, takes_body=None if route is None else _takes_body(route))
            if route is not None:
                _refuse_unknown_query_parameters(route, event)
        except DomainError as error:
            return error_event_response(error)
        logger.append_keys(org_id=caller.org_id)
        app.context["caller"] = caller
        return app.resolve(event, context)

    # Powertools' decorators are untyped: the handler keeps its own signature.
    entrypoint: LambdaHandler = handler
    return entrypoint


def error_response(error: DomainError) -> Response[Any]:
    return Response(
        status_code=error.status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(error_document(error)),
        headers=dict(error.headers) or None,
    )


def _header(event: dict[str, Any], name: str) -> str | None:
    """A request header (HTTP API v2 lowercases their names); None when absent or not text."""
    headers = event.get("headers")
    value = headers.get(name) if isinstance(headers, dict) else None
    return value if isinstance(value, str) else None


def _domain_error_response(error: DomainError) -> Response[Any]:
    if error.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        logger.warning("request failed", extra={"error_code": error.code}, exc_info=error)
    return error_response(error)


def _validation_error_response(error: RequestValidationError) -> Response[Any]:
    if isinstance(error, RequestUnsupportedContentType):
        return error_response(UnsupportedMediaType("Send the request body as application/json."))
    errors = list(error.errors())
    if any(item.get("type") == "json_invalid" for item in errors):
        return error_response(MalformedRequest("The request body is not valid JSON."))
    return error_response(invalid_input_from_details(_describe_validation_error(item) for item in errors))


def _describe_validation_error(item: Mapping[str, Any]) -> dict[str, str]:
    # With one (non-embedded) body model Powertools reports ("body", <field>, ...), the path a client
    # knows, e.g. "body.events.3.event_type". Nested paths are kept whole.
    location = [str(part) for part in item.get("loc", ())]
    return field_error(
        ".".join(location) or "body",
        str(item.get("msg", "invalid value")),
        str(item.get("type", "value_error")),
    )


def _route_not_found_response(app: APIGatewayHttpResolver) -> Response[Any]:
    # The resolver knows its own routes only: 405 or 404 by the API's whole route table.
    event = app.current_event
    return error_response(unmatched_error(event.http_method.upper(), event.path))


def _route_of(app: APIGatewayHttpResolver, event: Mapping[str, Any]) -> Any:
    """The route of `app` the request is for (a Powertools `Route`); None when none matches (404, 405)."""
    http = (event.get("requestContext") or {}).get("http") or {}
    method, path = str(http.get("method") or "").upper(), str(event.get("rawPath") or "")
    for route in [*app._static_routes, *app._dynamic_routes]:
        if route.method == method and route.rule.match(path):
            return route
    return None


def _takes_body(route: Any) -> bool:
    """Whether the route reads a body."""
    return bool(route.dependant.body_params)


MAX_UNKNOWN_PARAMETERS_LISTED = 10
MAX_PARAMETER_NAME_QUOTED = 100


def _refuse_unknown_query_parameters(route: Any, event: Mapping[str, Any]) -> None:
    """A query parameter the route does not declare is a 422 naming it (`query.<name>`,
    `extra_forbidden`), as an unknown body field is: a misspelt `form=` is not silently a default."""
    query = event.get("queryStringParameters") or {}
    declared = {param.alias for param in route.dependant.query_params}
    unknown = sorted(name for name in query if name not in declared)
    if unknown:
        raise invalid_input_from_details(
            field_error(
                f"query.{name[:MAX_PARAMETER_NAME_QUOTED]}",
                "not a parameter of this route",
                "extra_forbidden",
            )
            for name in unknown[:MAX_UNKNOWN_PARAMETERS_LISTED]
        )


def _with_json_text_body(event: dict[str, Any], *, takes_body: bool | None = True) -> dict[str, Any]:
    """The event, its body checked before any route reads it: within the size limit, on a route that
    takes one (a body sent to a route that reads none is refused, not ignored: 422), declared as JSON
    (a form or multipart body would reach Powertools' form parsers, one of which crashes on a missing
    boundary), and text (a base64 body is decoded here, so that bad base64 or non-UTF-8 bytes are a
    400 instead of an exception in the resolver). `takes_body` None: no route matches (404 or 405)."""
    body = event.get("body")
    if not body:
        return event
    if not isinstance(body, str):
        raise MalformedRequest("The request body is not text.")
    encoded = bool(event.get("isBase64Encoded"))
    # Decoded size of a base64 body, checked before decoding it.
    size = len(body) * 3 // 4 if encoded else len(body.encode(errors="surrogatepass"))
    limit = get_settings().max_body_bytes
    if size > limit:
        raise PayloadTooLarge(f"The request body is {size} bytes; the limit is {limit}.")
    if takes_body is None:
        return event
    if not takes_body:
        reason = "this route takes no request body; send none"
        raise InvalidInput(
            "This route takes no request body.", details=[field_error("body", reason, "body_not_allowed")]
        )
    headers = event.get("headers") or {}
    content_type = next((str(v) for k, v in headers.items() if str(k).lower() == "content-type"), "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    # No Content-Type at all is read as JSON (as Powertools does); any other type is refused.
    if media_type and media_type != content_types.APPLICATION_JSON:
        raise UnsupportedMediaType(f"Send the request body as application/json, not {media_type[:100]}.")
    if not encoded:
        return event
    try:
        text = base64.b64decode(body, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise MalformedRequest("The request body is not UTF-8 text.") from error
    return {**event, "body": text, "isBase64Encoded": False}
