"""template.yaml as data: the functions, their handlers and their routes, read from one place.

The in-process runner, the local HTTP API, the build check and the tests all take functions and
routes from here, so nothing lists a route twice. CloudFormation's short tags (`!Ref`, `!Sub`,
`!GetAtt`, ...) are read as their long forms (`{"Ref": ...}`), which is all these tools need.
"""

import functools
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
SHARED_LAYER_DIR = ROOT / "layers" / "shared"
FUNCTION_TYPE = "AWS::Serverless::Function"
_PARAMETER = re.compile(r"\{[^/{}]+\}")

Handler = Callable[[Any, Any], Any]


class CloudFormationLoader(yaml.SafeLoader):
    """A safe YAML loader that accepts CloudFormation's short-form intrinsic functions."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(cast("yaml.MappingNode", node), deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)  # !GetAtt Resource.Attribute
    if tag_suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{tag_suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    loaded = yaml.load(path.read_text(), Loader=CloudFormationLoader)  # a SafeLoader subclass
    if not isinstance(loaded, dict):
        raise ValueError(f"{path} is not a template")
    return loaded


DEFAULT_ROUTE = "$default"


@dataclass(frozen=True)
class HttpRoute:
    """One HttpApi event: `METHOD /path/{param}` served by one function, or API Gateway's `$default`
    route (an HttpApi event without Method and Path)."""

    function: str
    method: str
    path: str
    # False for a route that opts out of the API's default (JWT) authorizer (`Auth: {Authorizer: NONE}`).
    authorized: bool = True

    @property
    def route_key(self) -> str:
        return DEFAULT_ROUTE if self.is_default else f"{self.method} {self.path}"

    @property
    def is_default(self) -> bool:
        return self.path == DEFAULT_ROUTE

    @property
    def is_greedy(self) -> bool:
        """A `{proxy+}` route: any number of segments."""
        return "+}" in self.path

    @property
    def is_catch_all(self) -> bool:
        """A route for requests the API's own routes do not take (`$default`, `{proxy+}`)."""
        return self.is_default or self.is_greedy

    @property
    def shape(self) -> str:
        """The route with parameter names erased: two routes with the same shape are the same route."""
        return f"{self.method} {_PARAMETER.sub('{}', self.path)}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters when `method path` is this route (API Gateway's matching), else None."""
        if self.is_default:
            return {}  # whatever no other route takes (`find_route` tries it last)
        if method.upper() != self.method and self.method != "ANY":
            return None
        found = _path_pattern(self.path).fullmatch(path)
        return dict(found.groupdict()) if found else None


@cache
def _path_pattern(path: str) -> re.Pattern[str]:
    pattern = ""
    for piece in re.split(r"(\{[^/{}]+\})", path):
        if piece.startswith("{") and piece.endswith("+}"):
            pattern += f"(?P<{_group(piece[1:-2])}>.+)"  # greedy {proxy+}
        elif piece.startswith("{"):
            pattern += f"(?P<{_group(piece[1:-1])}>[^/]+)"
        else:
            pattern += re.escape(piece)
    return re.compile(pattern)


def _group(name: str) -> str:
    if not name.isidentifier():
        raise ValueError(f"path parameter {name!r} is not supported by the local tools")
    return name


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str
    timeout: int
    memory_size: int
    # The API's routes this function serves (the contract's), without the catch-all routes.
    routes: tuple[HttpRoute, ...]
    event_types: tuple[str, ...]
    # Environment variables with literal values (Globals merged with the function's, as SAM does);
    # those from parameters or conditions (database, bus) only have a meaning in AWS.
    environment: tuple[tuple[str, str], ...] = ()
    # The literal variables the function sets itself (MAX_BODY_BYTES, ...): they differ between
    # functions, so an in-process runner serving several applies them on every invocation.
    own_environment: tuple[tuple[str, str], ...] = ()
    # `$default` and `{proxy+}` routes: requests no route of the API takes (functions/catch_all).
    catch_all_routes: tuple[HttpRoute, ...] = ()

    @property
    def handler_module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def handler_attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    @property
    def handler_file(self) -> Path:
        return self.code_uri / (self.handler_module.replace(".", "/") + ".py")

    @property
    def code_exists(self) -> bool:
        return self.handler_file.is_file()

    @property
    def area(self) -> str:
        """The code directory's name: `functions/purge` -> `purge`, `migrations` -> `migrations`."""
        return self.code_uri.name


def functions(template: Mapping[str, Any] | None = None, *, base: Path = ROOT) -> dict[str, FunctionSpec]:
    """Every AWS::Serverless::Function, with Globals applied, keyed by logical id (template order)."""
    template = template if template is not None else _default_template()
    globals_ = template.get("Globals", {}).get("Function", {})
    specs: dict[str, FunctionSpec] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != FUNCTION_TYPE:
            continue
        properties = {**globals_, **resource.get("Properties", {})}
        own = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        variables = {**globals_.get("Environment", {}).get("Variables", {}), **own}
        events = properties.get("Events") or {}
        all_routes = tuple(
            _http_route(logical_id, event["Properties"])
            for event in events.values()
            if event.get("Type") == "HttpApi"
        )
        routes = tuple(route for route in all_routes if not route.is_catch_all)
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_uri=(base / str(properties["CodeUri"])).resolve(),
            handler=str(properties["Handler"]),
            timeout=int(properties.get("Timeout", 3)),
            memory_size=int(properties.get("MemorySize", 128)),
            routes=routes,
            event_types=tuple(str(event.get("Type")) for event in events.values()),
            environment=tuple((name, value) for name, value in variables.items() if isinstance(value, str)),
            own_environment=tuple((name, value) for name, value in own.items() if isinstance(value, str)),
            catch_all_routes=tuple(route for route in all_routes if route.is_catch_all),
        )
    return specs


def _http_route(logical_id: str, properties: Mapping[str, Any]) -> HttpRoute:
    # SAM: an HttpApi event without Method and Path is the API's `$default` route.
    method = str(properties.get("Method", "ANY")).upper()
    path = str(properties.get("Path", DEFAULT_ROUTE))
    authorized = (properties.get("Auth") or {}).get("Authorizer") != "NONE"
    return HttpRoute(logical_id, method, path, authorized)


@cache
def _default_template() -> dict[str, Any]:
    return load_template()


def http_routes(template: Mapping[str, Any] | None = None) -> list[HttpRoute]:
    """The API's routes (the contract's), without the catch-all routes."""
    return [route for spec in functions(template).values() for route in spec.routes]


def catch_all_routes(template: Mapping[str, Any] | None = None) -> list[HttpRoute]:
    """The template's `$default` and `{proxy+}` routes."""
    return [route for spec in functions(template).values() for route in spec.catch_all_routes]


def find_route(
    method: str, path: str, template: Mapping[str, Any] | None = None
) -> tuple[HttpRoute, dict[str, str]] | None:
    """The template route API Gateway would pick for `method path`, with its path parameters.

    API Gateway's order: a route whose path has no parameters, then one with parameters (fewest
    first), then a greedy `{proxy+}` route, and `$default` for whatever none of them takes. The
    method must match (or the route be `ANY`) at every stage but `$default`.
    """
    candidates = []
    for route in [*http_routes(template), *catch_all_routes(template)]:
        params = route.match(method, path)
        if params is not None:
            rank = (route.is_default, route.is_greedy, route.method == "ANY", len(params))
            candidates.append((rank, route, params))
    if not candidates:
        return None
    _, route, params = min(candidates, key=lambda candidate: candidate[0])
    return route, params


_loaded_handlers: dict[str, Handler] = {}


def apply_environment(spec: FunctionSpec) -> None:
    """Set the function's literal environment variables (POWERTOOLS_SERVICE_NAME, ...) unless already set."""
    for name, value in spec.environment:
        os.environ.setdefault(name, value)


def load_handler(spec: FunctionSpec) -> Handler:
    """Import the function's handler the way Lambda would: its code dir and the layer on sys.path.

    Each function's module gets its own name (every handler file is `app.py`), so several functions
    can live in one process (the local HTTP API serves them all).
    """
    if spec.logical_id in _loaded_handlers:
        return _loaded_handlers[spec.logical_id]
    if not spec.code_exists:
        raise FileNotFoundError(f"{spec.logical_id}: {spec.handler_file} does not exist")
    apply_environment(spec)  # before the import: Powertools reads its settings then
    for directory in (spec.code_uri, SHARED_LAYER_DIR):
        if str(directory) not in sys.path:
            sys.path.append(str(directory))  # appended: a function's files never shadow installed packages
    module_name = f"_lambda_{spec.logical_id}_{spec.handler_module.replace('.', '_')}"
    module_spec = importlib.util.spec_from_file_location(module_name, spec.handler_file)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    module_spec.loader.exec_module(module)
    handler = getattr(module, spec.handler_attribute)
    if not callable(handler):
        raise TypeError(f"{spec.logical_id}: {spec.handler} is not callable")
    _loaded_handlers[spec.logical_id] = with_own_environment(spec, cast("Handler", handler))
    return _loaded_handlers[spec.logical_id]


def with_own_environment(spec: FunctionSpec, handler: Handler) -> Handler:
    """`handler`, run with the variables its function sets itself, as each function has in AWS.

    Functions share one process here (the tests, the local API): before each invocation the function's
    own variables are set, and the service's settings read again when one of them changed.
    """
    own = dict(spec.own_environment)
    if not own:
        return handler

    @functools.wraps(handler)
    def invoke(event: Any, context: Any) -> Any:
        enter_own_environment(spec)
        return handler(event, context)

    return invoke


def enter_own_environment(spec: FunctionSpec, *, read_settings: bool = False) -> None:
    """Set the variables `spec`'s function sets itself; when one changed, the service's settings are
    forgotten, and with `read_settings` read again now.

    The benchmark calls it with `read_settings` before it starts a call's timer: in AWS each function
    has its own container, whose settings are read once, not on every request that follows another
    function's in this shared process (bench/README.md, "Where a warm request's time goes").
    """
    own = dict(spec.own_environment)
    changed = {name: value for name, value in own.items() if os.environ.get(name) != value}
    if not changed:
        return
    os.environ.update(changed)
    settings = sys.modules.get("onboarding.settings")
    if settings is not None:
        settings.get_settings.cache_clear()
        if read_settings:
            settings.get_settings()


def function_of_area(area: str) -> FunctionSpec:
    """The function whose code is `functions/<area>` (handlers imported as `functions.<area>.app`)."""
    return next(spec for spec in functions().values() if spec.area == area)


def function_environment(logical_id: str) -> dict[str, str]:
    """The literal variables the template gives a function (Globals and its own)."""
    return dict(functions()[logical_id].environment)


def loaded_module(spec: FunctionSpec) -> Any:
    """The module `load_handler` imported for `spec` (for tests that inspect the resolver)."""
    load_handler(spec)
    return sys.modules[f"_lambda_{spec.logical_id}_{spec.handler_module.replace('.', '_')}"]
