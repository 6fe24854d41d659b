"""Cold start: fresh-interpreter import time of each function's handler module vs. just its dependencies.

For each function of template.yaml a new interpreter imports the handler module the way Lambda does
(its code directory and the shared layer on sys.path, cwd = the code directory) and reports how long
that took and which third-party modules it loaded; another new interpreter then imports only those
third-party modules. Their ratio is what the service's own code adds to the cold start. Runs alternate
(handler, dependencies, handler, ...) so that drift on a shared machine hits both sides alike, and
each side's best run counts.
"""

import json
import os
import subprocess
import sys
from typing import Any

from tools.template import SHARED_LAYER_DIR, FunctionSpec

OWN_TOP_LEVEL = frozenset({"app", "onboarding", "functions", "tools", "bench", "migrations", "__main__"})
TARGET_RATIO = 1.15

_CHILD_HANDLER = """
import sys, time, json
started = time.perf_counter()
import MODULE  # noqa
elapsed = time.perf_counter() - started
stdlib = set(sys.stdlib_module_names)
third_party = sorted(
    name for name in sys.modules
    if name.split(".")[0] not in stdlib and name.split(".")[0] not in OWN and not name.startswith("_")
)
print(json.dumps({"seconds": elapsed, "modules": third_party, "boto3": "boto3" in sys.modules}))
"""

_CHILD_DEPS = """
import sys, time, json, importlib
modules = json.loads(sys.argv[1])
started = time.perf_counter()
for name in modules:
    try:
        importlib.import_module(name)
    except Exception:
        pass
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def _child_env(spec: FunctionSpec) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.update(dict(spec.environment))
    env["PYTHONPATH"] = f"{spec.code_uri}{os.pathsep}{SHARED_LAYER_DIR}"
    env.setdefault("DATABASE_URL", "postgresql://bench@localhost/unused")  # settings load; nothing connects
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return env


def _run(
    code: str, spec: FunctionSpec, *args: str, importtime: bool = False
) -> subprocess.CompletedProcess[str]:
    flags = ["-X", "importtime"] if importtime else []
    return subprocess.run(
        [sys.executable, *flags, "-c", code, *args],
        env=_child_env(spec),
        cwd=spec.code_uri,
        capture_output=True,
        text=True,
        check=True,
    )


def _json(completed: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def import_profile(spec: FunctionSpec, top: int = 5) -> tuple[dict[str, float], float]:
    """From `-X importtime`: the heaviest third-party packages (cumulative ms, at their first import)
    and the self time of the service's own modules (the handler and the `onboarding` package)."""
    stderr = _run(f"import {spec.handler_module}", spec, importtime=True).stderr
    packages: dict[str, float] = {}
    own_us = 0
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative_us, raw_name = line.removeprefix("import time:").split("|", 2)
        name = raw_name.strip()
        root = name.split(".")[0]
        if root in OWN_TOP_LEVEL:
            own_us += int(self_us)
        elif "." not in name and not name.startswith("_") and name not in sys.stdlib_module_names:
            # A package's root line (wherever it is first imported) carries the whole package's cost.
            packages[name] = max(packages.get(name, 0.0), int(cumulative_us) / 1000)
    ranked = sorted(packages.items(), key=lambda item: item[1], reverse=True)[:top]
    return {name: round(ms, 1) for name, ms in ranked}, round(own_us / 1000, 1)


def measure(spec: FunctionSpec, runs: int = 7) -> dict[str, Any]:
    handler_code = _CHILD_HANDLER.replace("MODULE", spec.handler_module).replace(
        "OWN", repr(set(OWN_TOP_LEVEL))
    )
    first = _json(_run(handler_code, spec))
    modules = json.dumps(first["modules"])
    handler_s: list[float] = []
    deps_s: list[float] = []
    for _ in range(runs):
        handler_s.append(_json(_run(handler_code, spec))["seconds"])
        deps_s.append(_json(_run(_CHILD_DEPS, spec, modules))["seconds"])
    # The best of n runs on each side: what the import costs when nothing else on the (shared) machine
    # gets in the way; medians moved by +-0.05 in the ratio from run to run.
    handler_ms = min(handler_s) * 1000
    deps_ms = min(deps_s) * 1000
    ratio = handler_ms / deps_ms if deps_ms else float("nan")
    largest, own_self_ms = import_profile(spec)
    return {
        "function": spec.logical_id,
        "handler_import_ms": round(handler_ms, 1),
        "deps_only_ms": round(deps_ms, 1),
        "own_code_ms": round(handler_ms - deps_ms, 1),
        "own_modules_self_ms": own_self_ms,
        "ratio": round(ratio, 3),
        "target": f"<= {TARGET_RATIO}",
        "met": ratio <= TARGET_RATIO and not first["boto3"],
        "boto3_imported": first["boto3"],
        "third_party_modules": len(first["modules"]),
        "largest_imports_ms": largest,
    }
