"""API Gateway's catch-all routes (`$default` behind the JWT authorizer, `OPTIONS /{proxy+}` without):
every request no route of the API declares, answered in the contract's error shape.

An unknown path is a 404 `route_not_found`; a known path with a method it does not have (TRACE,
PATCH, HEAD, ...) a 405 `method_not_allowed` with `Allow` listing its methods; OPTIONS on a known path a
204 with `Allow` (API Gateway adds its CORS headers to a preflight's answer). Without these routes
API Gateway itself answers `404 {"message":"Not Found"}` and the contract's 405 never reaches a client.

Nothing here reads the database or calls AWS: the function runs outside the VPC and imports only
`onboarding.unrouted` (the standard library and the route table), so a cold start costs milliseconds.
"""

from typing import Any

from onboarding.unrouted import unmatched_event_response


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return unmatched_event_response(event)
