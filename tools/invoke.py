"""In-process runner: `make invoke EVENT=events/<file>.json [FN=<LogicalId>]`, no Docker needed.

What `sam local invoke <FN> -e <event>` does, against the local embedded PostgreSQL: the handler
path (CodeUri + Handler) comes from template.yaml, the function's code directory and layers/shared
go on sys.path, the event file is passed to the handler with a Lambda-like context (the template's
timeout and memory), and the function's answer is printed as JSON.

Which function: `FN`, or for an HTTP API event the function of the template route it matches, or for
any other event the function whose code directory prefixes the file name (`purge_*.json` ->
functions/purge, `outbox_publisher_*.json` -> functions/outbox_publisher, `migrations_*.json` ->
migrations/).
"""

import argparse
import contextlib
import json
import logging
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tools.lambda_events import local_context
from tools.local_db import prepare_local_database
from tools.template import ROOT, FunctionSpec, apply_environment, find_route, functions, load_handler


class UsageError(Exception):
    """The event or the function name does not fit the template."""


def is_http_api_event(event: Mapping[str, Any]) -> bool:
    context = event.get("requestContext")
    return event.get("version") == "2.0" and isinstance(context, Mapping) and "http" in context


def resolve_function(
    event: Mapping[str, Any], *, event_file: Path | None = None, logical_id: str | None = None
) -> FunctionSpec:
    specs = functions()
    routed: FunctionSpec | None = None
    if is_http_api_event(event):
        http = event["requestContext"]["http"]
        found = find_route(str(http["method"]), str(event.get("rawPath") or http["path"]))
        if found is None:
            raise UsageError(f"no route in template.yaml for {http['method']} {http['path']}")
        routed = specs[found[0].function]
    if logical_id is not None:
        if logical_id not in specs:
            raise UsageError(f"no function {logical_id!r} in template.yaml; there are {', '.join(specs)}")
        if routed is not None and routed.logical_id != logical_id:
            raise UsageError(f"this event is routed to {routed.logical_id}, not {logical_id}")
        return specs[logical_id]
    if routed is not None:
        return routed
    if event_file is not None:
        # The longest code directory name the file name starts with (`outbox_publisher_scheduled`).
        stem = event_file.stem
        matching = [spec for spec in specs.values() if stem == spec.area or stem.startswith(f"{spec.area}_")]
        if matching:
            return max(matching, key=lambda spec: len(spec.area))
    raise UsageError("not an HTTP API event and no function named: pass FN=<LogicalId> (--function)")


def invoke(spec: FunctionSpec, event: Any) -> Any:
    handler = load_handler(spec)
    context = local_context(
        function_name=spec.logical_id, timeout_seconds=spec.timeout, memory_limit_in_mb=spec.memory_size
    )
    return handler(event, context)


def load_event(event_file: Path) -> dict[str, Any]:
    event = json.loads(Path(event_file).read_text())
    if not isinstance(event, dict):
        raise UsageError(f"{event_file} does not hold a JSON object")
    return event


def invoke_event_file(
    event_file: Path, logical_id: str | None = None
) -> tuple[dict[str, Any], FunctionSpec, Any]:
    """Load an event file, pick its function and invoke it: (event, function, answer)."""
    event = load_event(event_file)
    spec = resolve_function(event, event_file=Path(event_file), logical_id=logical_id)
    return event, spec, invoke(spec, event)


def _loggers_to_stderr() -> None:
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
                handler.setStream(sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Invoke a function of template.yaml in-process")
    parser.add_argument("event", type=Path, help="event file, e.g. events/onboarding_get.json")
    parser.add_argument("-f", "--function", help="logical id in template.yaml (FN)")
    parser.add_argument(
        "--no-migrate",
        action="store_true",
        help="start the local database without migrating it (to watch the migrations function do it)",
    )
    args = parser.parse_args(argv)
    try:
        event = load_event(args.event)
        spec = resolve_function(event, event_file=args.event, logical_id=args.function)
        if not spec.code_exists:
            raise UsageError(f"{spec.logical_id} has no code yet ({spec.handler_file.relative_to(ROOT)})")
    except (UsageError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    apply_environment(spec)  # before anything imports Powertools' logger
    url = prepare_local_database(migrated=not args.no_migrate)
    print(f"Database: {url}", file=sys.stderr)
    try:
        # As `sam local invoke`: the function's logs and EMF metrics on stderr, its answer on stdout.
        load_handler(spec)
        _loggers_to_stderr()
        with contextlib.redirect_stdout(sys.stderr):
            answer = invoke(spec, event)
    except Exception as error:
        # The shape Lambda (and `sam local invoke`) reports a function error in.
        print(
            json.dumps(
                {
                    "errorMessage": str(error),
                    "errorType": type(error).__name__,
                    "stackTrace": traceback.format_tb(error.__traceback__),
                },
                indent=2,
            )
        )
        return 1
    print(f"{spec.logical_id} ({spec.handler_file.relative_to(ROOT)}) answered:", file=sys.stderr)
    print(json.dumps(answer, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
