"""Build the service's OpenAPI 3.1 document from the code: every function's Powertools resolver.

`python -m tools.openapi` (`make openapi`) writes openapi.json; `--check` fails when the committed file
is stale (a test runs it). What comes from where:

- paths, parameters, request bodies and success responses: the resolvers (route signatures, pydantic
  models, and each route's `responses=documented(...)`, which also names its particular 404s and 409s
  by their error classes);
- the errors every route shares, added here by rule: 401, 403, 413, 422 and 503 everywhere (a body
  sent to a route that takes none is a 422); 400 and 415 where the route takes a body. Every error
  status lists its codes as an enum. All in the contract's error shape, except that API Gateway itself
  answers a missing or invalid token (401) and a body over its 10 MB limit (413) with
  `{"message": ...}`: those two say so;
- the rules the service enforces that no JSON schema states (`x-rules`: the 422 detail `type` of each,
  and what it says), gathered on each operation from its models and its route;
- what the route signature cannot say: the wizard step body (its model depends on the step in the
  path) and the step, tutorial and checklist task ids accepted in paths (others are a 404, not a 422).
"""

import argparse
import copy
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic.json_schema import models_json_schema

from onboarding.api import ErrorResponse, error_description, error_schema
from onboarding.auth import Group
from onboarding.checklist import TASK_IDS
from onboarding.errors import (
    DatabaseUnavailable,
    DomainError,
    Forbidden,
    InvalidInput,
    MalformedRequest,
    MethodNotAllowed,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
)
from onboarding.state import WizardStep
from onboarding.tutorials import CATALOG, TUTORIAL_IDS
from onboarding.wizard import STEP_PAYLOADS, draft_payload

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "openapi.json"
TITLE = "SignUpFlow onboarding API"
VERSION = "1.0.0"
REF = "#/components/schemas/{model}"

# The errors every route answers (a body sent to a route that takes none is a 422), and those of the
# routes that read a body.
COMMON_ERRORS: tuple[type[DomainError], ...] = (
    Unauthorized,
    Forbidden,
    MethodNotAllowed,
    PayloadTooLarge,
    InvalidInput,
    DatabaseUnavailable,
)
# The headers error answers carry, by status.
RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "405": {
        "Allow": {
            "description": "The methods this path has (the answer to another method on it, from the "
            "catch-all route or the function).",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    "429": {
        "Retry-After": {
            "description": "Seconds until the cap resets (the next UTC midnight).",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
}
BODY_ERRORS: tuple[type[DomainError], ...] = (MalformedRequest, UnsupportedMediaType)
RULES = "x-rules"
# Statuses API Gateway answers itself (before the function runs), in its own shape.
GATEWAY_ANSWERS = {
    "401": "API Gateway's JWT authorizer: a missing, expired or invalid token",
    "413": "API Gateway: a body over its 10 MB payload limit",
}
GATEWAY_ERROR_SCHEMA = {
    "title": "GatewayError",
    "description": "An answer of API Gateway itself, not of the service.",
    "type": "object",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
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
WIZARD_STEP_PATH = "/v1/onboarding/wizard/steps/{step}"
TUTORIAL_PROGRESS_PATH = "/v1/onboarding/tutorials/{tutorial_id}/progress"


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
    for area, resolver in resolvers().items():
        partial = json.loads(resolver.get_openapi_json_schema(title=TITLE, version=VERSION))
        for path, operations in partial.get("paths", {}).items():
            for operation in operations.values():
                operation["tags"] = [area]
            paths.setdefault(path, {}).update(operations)
        _merge(schemas, partial.get("components", {}).get("schemas", {}))
    _merge(schemas, _component_schemas(ErrorResponse))
    schemas["GatewayError"] = GATEWAY_ERROR_SCHEMA
    _document_wizard_steps(paths, schemas)
    _document_tutorial_progress(paths, schemas)
    _keys_as_property_names(schemas)
    _document_catalog_ids(paths)
    for path, operations in paths.items():
        for operation in operations.values():
            _gather_rules(operation, schemas)
            _add_shared_errors(path, operation)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Onboarding back end of SignUpFlow. Every error of the service is "
            '`{"error": {"code", "message", "details", "localized_message"}}` (the last in the language '
            "negotiated from Accept-Language). The organization comes only from the "
            "verified token, never from a path, query or body field.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(_referenced(paths, schemas).items())),
            "securitySchemes": SECURITY_SCHEMES,
        },
        "security": [{"jwt": []}],
    }


def _add_shared_errors(path: str, operation: dict[str, Any]) -> None:
    group = Group.PLATFORM_ANALYST if path.startswith("/v1/analytics") else Group.ORG_ADMIN
    operation.setdefault("description", f"Requires the `{group}` group.")
    errors = [*COMMON_ERRORS, *(BODY_ERRORS if "requestBody" in operation else ())]
    responses = {str(status): response for status, response in operation.get("responses", {}).items()}
    # Powertools documents its own 422 shape; the service answers with the contract's.
    responses.pop("422", None)
    for error in errors:
        status = str(error.status)
        assert status not in responses, f"{status} is shared: a route does not document it"
        schema: dict[str, Any] = error_schema([error])
        description = error_description([error])
        if error is InvalidInput and operation.get(RULES):
            listed = "; ".join(f"`{rule}`: {text}" for rule, text in operation[RULES].items())
            description += f" Besides the schema, these rules (`x-rules`, the detail `type`): {listed}"
        if status in GATEWAY_ANSWERS:
            description = f"{description} Or {GATEWAY_ANSWERS[status]} (`GatewayError`)."
            schema = {"anyOf": [schema, {"$ref": REF.format(model="GatewayError")}]}
        responses[status] = {"description": description, "content": {"application/json": {"schema": schema}}}
    for status, headers in RESPONSE_HEADERS.items():
        if status in responses:
            responses[status]["headers"] = headers
    operation["responses"] = dict(sorted(responses.items()))


def _gather_rules(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """The operation's `x-rules`: its route's own and those of every schema its request refers to."""
    found: dict[str, str] = dict(operation.get(RULES, {}))
    prefix = REF.format(model="")
    seen: set[str] = set()
    pending: list[Any] = [operation.get("requestBody", {}), operation.get("parameters", [])]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            found.update(node.get(RULES, {}))
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix) and ref not in seen:
                seen.add(ref)
                pending.append(schemas[ref[len(prefix) :]])
            pending.extend(value for key, value in node.items() if key != RULES)
        elif isinstance(node, list):
            pending.extend(node)
    if found:
        operation[RULES] = dict(sorted(found.items()))


def wizard_step_paths() -> dict[str, WizardStep]:
    """The route `PUT /v1/onboarding/wizard/steps/{step}` as documented: one path per accepted `step`
    (its number and its name), each with its step's body, so that the schema itself says which body
    goes with which step (a step-1 body sent to step 5 is schema-invalid)."""
    return {
        WIZARD_STEP_PATH.replace("{step}", form): step
        for step in WizardStep
        for form in (str(step.value), step.step_name)
    }


def tutorial_progress_paths() -> dict[str, str]:
    """`PUT /v1/onboarding/tutorials/{tutorial_id}/progress` as documented: one path per tutorial, each
    with that tutorial's bound on `steps_completed` (its `total_steps`)."""
    return {
        TUTORIAL_PROGRESS_PATH.replace("{tutorial_id}", tutorial_id): tutorial_id for tutorial_id in CATALOG
    }


def template_path(path: str) -> str:
    """The template route's path of a documented path (a wizard step's path is `{step}`'s, a tutorial's
    progress path `{tutorial_id}`'s)."""
    if path in wizard_step_paths():
        return WIZARD_STEP_PATH
    if path in tutorial_progress_paths():
        return TUTORIAL_PROGRESS_PATH
    return path


def _document_wizard_steps(paths: dict[str, Any], schemas: dict[str, Any]) -> None:
    """`PUT /v1/onboarding/wizard/steps/{step}` documented per step: its number and its name each a
    path whose body is that step's model or its draft (`completed: false`)."""
    operation = paths.pop(WIZARD_STEP_PATH)["put"]
    _merge(schemas, _component_schemas(*STEP_PAYLOADS.values(), *map(draft_payload, WizardStep)))
    parameters = [
        p for p in operation.get("parameters", []) if not (p["in"] == "path" and p["name"] == "step")
    ]
    for path, step in wizard_step_paths().items():
        form = path.rsplit("/", 1)[1]
        payload, draft = STEP_PAYLOADS[step].__name__, draft_payload(step).__name__
        paths[path] = {
            "put": _operation_instance(
                operation,
                parameters,
                route=WIZARD_STEP_PATH,
                operation_id=f"save_wizard_step_{form}",
                summary=f"PUT {WIZARD_STEP_PATH} with step {step.value} (`{step.step_name}`)",
                body={
                    "anyOf": [{"$ref": REF.format(model=payload)}, {"$ref": REF.format(model=draft)}],
                    "description": f"Step {step.value}'s fields (`{payload}`), or with `completed: false` a "
                    f"draft of them (`{draft}`: every field optional, types and upper bounds checked, the "
                    "wizard not advanced). The step is the number or the name in the path.",
                },
            )
        }


def _document_tutorial_progress(paths: dict[str, Any], schemas: dict[str, Any]) -> None:
    """`PUT /v1/onboarding/tutorials/{tutorial_id}/progress` documented per tutorial: the body's
    `steps_completed` bounded by that tutorial's `total_steps`."""
    operation = paths.pop(TUTORIAL_PROGRESS_PATH)["put"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    parameters = [p for p in operation.get("parameters", []) if p["name"] != "tutorial_id"]
    for path, tutorial_id in tutorial_progress_paths().items():
        total = CATALOG[tutorial_id].total_steps
        paths[path] = {
            "put": _operation_instance(
                operation,
                parameters,
                route=TUTORIAL_PROGRESS_PATH,
                operation_id=f"set_tutorial_progress_{tutorial_id}",
                summary=f"PUT {TUTORIAL_PROGRESS_PATH} for `{tutorial_id}` ({total} steps)",
                body={
                    "allOf": [body],
                    "properties": {"steps_completed": {"maximum": total}},
                    "description": f"`steps_completed` is at most {total}, the steps of `{tutorial_id}`.",
                },
            )
        }


def _operation_instance(
    operation: dict[str, Any],
    parameters: list[dict[str, Any]],
    *,
    route: str,
    operation_id: str,
    summary: str,
    body: dict[str, Any],
) -> dict[str, Any]:
    """A copy of the template route's PUT `operation` documented for one value of its path parameter:
    its own id and summary, `x-route` naming the template route, the other `parameters`, and `body`."""
    documented = copy.deepcopy(operation)
    documented["operationId"] = operation_id
    documented["summary"] = summary
    documented["x-route"] = f"PUT {route}"
    if parameters:
        documented["parameters"] = copy.deepcopy(parameters)
    else:
        documented.pop("parameters", None)
    documented["requestBody"]["content"]["application/json"]["schema"] = body
    return documented


def _keys_as_property_names(node: Any) -> None:
    """A dict with constrained keys (pydantic: `patternProperties` with the key pattern, so that a key
    outside it is allowed with any value) as the service validates it: every key matches the pattern
    (`propertyNames`), every value the value schema (`additionalProperties`)."""
    if isinstance(node, dict):
        patterns = node.get("patternProperties")
        if isinstance(patterns, dict) and len(patterns) == 1 and "additionalProperties" not in node:
            ((pattern, values),) = patterns.items()
            node["propertyNames"] = {**node.get("propertyNames", {}), "pattern": pattern}
            node["additionalProperties"] = values
            del node["patternProperties"]
        for value in node.values():
            _keys_as_property_names(value)
    elif isinstance(node, list):
        for item in node:
            _keys_as_property_names(item)


def _document_catalog_ids(paths: dict[str, Any]) -> None:
    """Tutorial and checklist task ids in paths: the catalogs' (another id is a 404, not a 422)."""
    catalogs = {"tutorial_id": TUTORIAL_IDS, "task_id": TASK_IDS}
    for path, operations in paths.items():
        for operation in operations.values():
            for name, ids in catalogs.items():
                if f"{{{name}}}" in path:
                    _path_parameter(operation, name)["schema"] = {"type": "string", "enum": list(ids)}


def _path_parameter(operation: dict[str, Any], name: str) -> dict[str, Any]:
    parameter: dict[str, Any] = next(
        p for p in operation.get("parameters", []) if p["in"] == "path" and p["name"] == name
    )
    return parameter


def _component_schemas(*models: type[Any]) -> dict[str, Any]:
    _, top = models_json_schema([(model, "validation") for model in models], ref_template=REF)
    defs: dict[str, Any] = top.get("$defs", {})
    return defs


def _merge(schemas: dict[str, Any], new: dict[str, Any]) -> None:
    for name, schema in new.items():
        if name in schemas and schemas[name] != schema:
            raise ValueError(f"two different schemas are named {name}")
        schemas[name] = schema


def _referenced(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """The schemas the paths refer to, directly or through other schemas (Powertools adds unused ones)."""
    prefix = REF.format(model="")
    seen: set[str] = set()
    pending = [paths]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix) and ref[len(prefix) :] not in seen:
                seen.add(ref[len(prefix) :])
                pending.append(schemas[ref[len(prefix) :]])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return {name: schema for name, schema in schemas.items() if name in seen}


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if openapi.json is not current")
    args = parser.parse_args(argv)
    document = render()
    if args.check:
        if not DOCUMENT.exists() or DOCUMENT.read_text() != document:
            print("openapi.json is stale: run `make openapi`", file=sys.stderr)
            return 1
        print("openapi.json is current")
        return 0
    DOCUMENT.write_text(document)
    print(f"wrote {DOCUMENT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
