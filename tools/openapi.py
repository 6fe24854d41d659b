"""Build the service's OpenAPI 3.1 document from the code: every function's Powertools resolver.

`python -m tools.openapi` writes openapi.json; `--check` fails when the committed file is stale.
Error responses are the contract's single shape, so they are documented once here for every operation
instead of being repeated on each route.
"""

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from onboarding.api import ErrorResponse

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "openapi.json"
TITLE = "SignUpFlow onboarding API"
VERSION = "1.0.0"

ERROR_STATUSES = {
    "400": "Malformed JSON body",
    "401": "No verified identity, or no organization claim",
    "403": "Authenticated, but not in the group this route requires",
    "404": "Not found (onboarding not started, unknown task or tutorial, unknown route)",
    "405": "Method not allowed on this path",
    "409": "Conflict with the current state (sequence, end state, existing sample data)",
    "413": "Request body over the limit",
    "415": "Request body is not JSON",
    "422": "Validation failed; details name each field and why",
    "503": "Database unavailable; retry later",
}
SECURITY_SCHEMES = {
    "jwt": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "Verified by the API Gateway JWT authorizer. Organization from `custom:org_id`, "
        "groups from `cognito:groups` (`org_admin` for /v1/onboarding, "
        "`platform_analyst` for /v1/analytics).",
    }
}


def resolvers() -> dict[str, APIGatewayHttpResolver]:
    found: dict[str, APIGatewayHttpResolver] = {}
    for app_file in sorted((ROOT / "functions").glob("*/app.py")):
        module = importlib.import_module(f"functions.{app_file.parent.name}.app")
        resolver = getattr(module, "app", None)
        if isinstance(resolver, APIGatewayHttpResolver):
            found[app_file.parent.name] = resolver
    return found


def build_document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for resolver in resolvers().values():
        partial = json.loads(resolver.get_openapi_json_schema(title=TITLE, version=VERSION))
        for path, operations in partial.get("paths", {}).items():
            paths.setdefault(path, {}).update(operations)
        for name, schema in partial.get("components", {}).get("schemas", {}).items():
            if name in schemas and schemas[name] != schema:
                raise ValueError(f"two functions define different schemas named {name}")
            schemas[name] = schema
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["ErrorResponse"] = _inline_refs(
        ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}"), schemas
    )
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
    for operations in paths.values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                responses[status] = {
                    "description": description,
                    "content": {"application/json": {"schema": error_ref}},
                }
            operation["responses"] = dict(sorted(responses.items()))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Onboarding back end of SignUpFlow. Every error is "
            '{"error": {"code", "message", "details"}}.',
        },
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items())), "securitySchemes": SECURITY_SCHEMES},
        "security": [{"jwt": []}],
    }


def _inline_refs(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """Move pydantic's local $defs into components so every $ref resolves at document level."""
    for name, definition in schema.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    return schema


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if openapi.json is not current")
    args = parser.parse_args(argv)
    document = render()
    if args.check:
        if not DOCUMENT.exists() or DOCUMENT.read_text() != document:
            print("openapi.json is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.write_text(document)
    print(f"wrote {DOCUMENT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
