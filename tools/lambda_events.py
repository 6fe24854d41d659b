"""Build API Gateway HTTP API (payload 2.0) events the way API Gateway sends them.

The shape comes from `events/_http_api_template.json` (from `sam local generate-event apigateway
http-api-proxy`); tests, the in-process runner and the local HTTP server vary only what they need.
"""

import copy
import json
import time
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

from aws_lambda_powertools.utilities.typing import LambdaContext

from tools.template import find_route

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"
DEMO_ORG_ID = "org_demo"  # the organization of events/*.json and the dev token; tools.local_db creates it
ADMIN_CLAIMS: dict[str, Any] = {"custom:org_id": DEMO_ORG_ID, "cognito:groups": "[org_admin]"}


@cache
def _template() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS_DIR / "_http_api_template.json").read_text())
    return loaded


def http_api_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw_body: str | None = None,
    claims: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    route_key: str | None = None,
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An HTTP API v2 event. `claims=None` uses the demo org admin; pass `{}` for no claims at all.

    `routeKey` and `pathParameters` are the template route's, as API Gateway sends them
    (`PUT /v1/onboarding/wizard/steps/{step}`, `{"step": "2"}`), unless given.
    """
    event = copy.deepcopy(_template())
    event["rawPath"] = path
    if route_key is None:
        found = find_route(method, path)
        if found is not None:
            route_key = found[0].route_key
            path_parameters = found[1] if path_parameters is None else path_parameters
    event["routeKey"] = route_key or f"{method.upper()} {path}"
    event["pathParameters"] = path_parameters or None
    event["requestContext"]["routeKey"] = event["routeKey"]
    event["requestContext"]["http"]["method"] = method.upper()
    event["requestContext"]["http"]["path"] = path
    event["requestContext"]["requestId"] = str(uuid.uuid4())
    event["requestContext"]["timeEpoch"] = int(time.time() * 1000)
    if claims is None:
        claims = dict(ADMIN_CLAIMS)
    if claims:
        event["requestContext"]["authorizer"]["jwt"]["claims"] = claims
    else:
        del event["requestContext"]["authorizer"]
    if headers:
        event["headers"].update({name.lower(): value for name, value in headers.items()})
    if query:
        event["queryStringParameters"] = query
        event["rawQueryString"] = urlencode(query)
    if raw_body is not None:
        event["body"] = raw_body
    elif body is not None:
        event["body"] = json.dumps(body)
    return event


def local_context(**values: Any) -> LambdaContext:
    """A LocalLambdaContext, typed as the Lambda context handlers expect."""
    return cast("LambdaContext", LocalLambdaContext(**values))


@dataclass
class LocalLambdaContext:
    """A stand-in for the Lambda context object, with a real remaining-time clock."""

    function_name: str = "local"
    memory_limit_in_mb: int = 512
    timeout_seconds: float = 15.0
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:local"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000))


def write_event_file(name: str, method: str, path: str, *, body: Any = None, **kwargs: Any) -> Path:
    """Write `events/<name>.json` with stable request ids, for `sam local invoke -e` and the runner."""
    event = http_api_event(method, path, body=body, **kwargs)
    event["requestContext"]["requestId"] = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    event["requestContext"]["timeEpoch"] = 1795521600000
    target = EVENTS_DIR / f"{name}.json"
    target.write_text(json.dumps(event, indent=2) + "\n")
    return target
