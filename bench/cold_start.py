"""Cold start: fresh-interpreter import time of each handler module vs. just its third-party imports."""

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OWN_TOP_LEVEL = {"app", "onboarding", "functions", "tools", "bench", "__main__"}

_CHILD_HANDLER = """
import sys, time, json
started = time.perf_counter()
import app  # noqa
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


def _child_env(function_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{function_dir}{os.pathsep}{ROOT / 'layers' / 'shared'}"
    env.setdefault("DATABASE_URL", "postgresql://bench@localhost/unused")  # settings load; nothing connects
    env["PYTHONDONTWRITEBYTECODE"] = "0"
    return env


def _run(code: str, function_dir: Path, *args: str) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=_child_env(function_dir),
        cwd=function_dir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def largest_imports(function_dir: Path, top: int = 5) -> list[tuple[str, float]]:
    """The heaviest imports by cumulative microseconds, from `-X importtime`."""
    stderr = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import app"],
        env=_child_env(function_dir),
        cwd=function_dir,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    costs: list[tuple[str, float]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self_us, cumulative_us, raw_name = line.removeprefix("import time:").split("|", 2)
        name = raw_name.strip()
        # Package roots (wherever first imported) tell which dependency costs what.
        if "." not in name and name not in OWN_TOP_LEVEL and not name.startswith("_"):
            costs.append((name, int(cumulative_us) / 1000))
    costs.sort(key=lambda item: item[1], reverse=True)
    return costs[:top]


def measure(function: str, runs: int = 7) -> dict[str, Any]:
    function_dir = ROOT / "functions" / function
    handler_runs = [
        _run(_CHILD_HANDLER.replace("OWN", repr(OWN_TOP_LEVEL)), function_dir) for _ in range(runs)
    ]
    modules = handler_runs[0]["modules"]
    deps_runs = [_run(_CHILD_DEPS, function_dir, json.dumps(modules)) for _ in range(runs)]
    handler_ms = statistics.median(run["seconds"] for run in handler_runs) * 1000
    deps_ms = statistics.median(run["seconds"] for run in deps_runs) * 1000
    return {
        "function": function,
        "handler_import_ms": round(handler_ms, 1),
        "deps_only_ms": round(deps_ms, 1),
        "ratio": round(handler_ms / deps_ms, 3) if deps_ms else None,
        "target": "<= 1.15",
        "boto3_imported": handler_runs[0]["boto3"],
        "largest_imports_ms": {name: round(ms, 1) for name, ms in largest_imports(function_dir)},
    }


def functions() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
