"""Cold start of the BUILT artifact: fresh-interpreter import time of each function's handler as Lambda
imports it, beside the import of its third-party dependencies alone (the floor), and beside the same
artifact without its bytecode (what every cold start paid before the build compiled it).

Each measurement is a new `python -S` (no site-packages) whose PYTHONPATH is Lambda's order: the
function's build directory (/var/task), then the built layer's python/ (/opt/python), with
PYTHONDONTWRITEBYTECODE=1 (both are read-only on Lambda) and the template's literal environment. Runs
alternate (artifact, dependencies, ...) so that drift on a shared machine hits every side alike, and
each side's best run counts. On a machine that is not aarch64 the layer's compiled extensions are
this machine's builds of the same locked versions (tools/artifact.py); the section says so.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tools.artifact import BuiltArtifact, lambda_like_environment, stand_in_note
from tools.build_check import fresh_artifact
from tools.template import ROOT, FunctionSpec

OWN_TOP_LEVEL = frozenset(
    {"app", "onboarding", "functions", "tools", "bench", "migrations", "env", "__main__"}
)
TARGET_RATIO = 1.15
WORK_DIR = ROOT / ".aws-sam" / "bench-no-bytecode"
API_FUNCTIONS = frozenset(
    {"OnboardingFunction", "ChecklistFunction", "TutorialsFunction", "MetricsFunction", "AnalyticsFunction",
     "ExportFunction"}
)  # fmt: skip

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


class Target:
    """One function of the build as a child process can import it."""

    def __init__(self, spec: FunctionSpec, code_dir: Path, layer: Path) -> None:
        self.spec, self.code_dir, self.layer = spec, code_dir, layer

    def environment(self) -> dict[str, str]:
        variables = dict(self.spec.environment)
        variables.setdefault("DATABASE_URL", "postgresql://bench@localhost/unused")  # settings load; no use
        variables.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        variables.setdefault("AWS_LAMBDA_FUNCTION_NAME", self.spec.logical_id)
        return lambda_like_environment([self.code_dir, self.layer], variables)

    def run(self, code: str, *args: str, importtime: bool = False) -> subprocess.CompletedProcess[str]:
        flags = ["-X", "importtime"] if importtime else []
        return subprocess.run(
            [sys.executable, "-S", *flags, "-c", code, *args],
            env=self.environment(),
            cwd=self.code_dir,  # /var/task
            capture_output=True,
            text=True,
            check=True,
        )


def without_bytecode(artifact: BuiltArtifact, layer: Path, work_dir: Path) -> dict[str, Path]:
    """A copy of the runnable layer and of every function without __pycache__ (the build before it
    compiled anything): {"layer": ..., <logical id>: ...}."""
    shutil.rmtree(work_dir, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__")
    copies = {"layer": work_dir / "python"}
    shutil.copytree(layer, copies["layer"], ignore=ignore)
    for logical_id, spec in artifact.functions.items():
        copies[logical_id] = work_dir / "functions" / logical_id
        shutil.copytree(spec.code_uri, copies[logical_id], ignore=ignore)
    return copies


def _json(completed: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def import_profile(target: Target, top: int = 5) -> tuple[dict[str, float], float]:
    """From `-X importtime`: the heaviest third-party packages (cumulative ms, at their first import)
    and the self time of the service's own modules (the handler and the `onboarding` package)."""
    stderr = target.run(f"import {target.spec.handler_module}", importtime=True).stderr
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


def measure(
    built: Target, uncompiled: Target | None, runs: int = 7, uncompiled_runs: int = 3
) -> dict[str, Any]:
    handler_code = _CHILD_HANDLER.replace("MODULE", built.spec.handler_module).replace(
        "OWN", repr(set(OWN_TOP_LEVEL))
    )
    first = _json(built.run(handler_code))
    modules = json.dumps(first["modules"])
    handler_s: list[float] = []
    deps_s: list[float] = []
    uncompiled_s: list[float] = []
    for run in range(runs):
        handler_s.append(_json(built.run(handler_code))["seconds"])
        deps_s.append(_json(built.run(_CHILD_DEPS, modules))["seconds"])
        if uncompiled is not None and run < uncompiled_runs:
            uncompiled_s.append(_json(uncompiled.run(handler_code))["seconds"])
    # The best of n runs on each side: what the import costs when nothing else on the (shared) machine
    # gets in the way; medians moved by +-0.05 in the ratio from run to run.
    handler_ms = min(handler_s) * 1000
    deps_ms = min(deps_s) * 1000
    uncompiled_ms = min(uncompiled_s) * 1000 if uncompiled_s else float("nan")
    ratio = handler_ms / deps_ms if deps_ms else float("nan")
    largest, own_self_ms = import_profile(built)
    return {
        "function": built.spec.logical_id,
        "artifact_import_ms": round(handler_ms, 1),
        "no_bytecode_ms": round(uncompiled_ms, 1),
        "bytecode_speedup": round(uncompiled_ms / handler_ms, 2) if handler_ms else None,
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


def measure_all(runs: int) -> tuple[list[dict[str, Any]], dict[str, Any], list[str]]:
    """Every built function: rows, summary and notes of the cold-start section."""
    artifact = fresh_artifact()
    layer = artifact.runnable_layer()
    uncompiled = without_bytecode(artifact, layer, WORK_DIR)
    try:
        rows = [
            measure(
                Target(spec, spec.code_uri, layer),
                Target(spec, uncompiled[logical_id], uncompiled["layer"]),
                runs=runs,
                uncompiled_runs=max(1, min(3, runs)),
            )
            for logical_id, spec in artifact.functions.items()
        ]
    finally:
        shutil.rmtree(WORK_DIR, ignore_errors=True)
    api = [row for row in rows if row["function"] in API_FUNCTIONS]
    summary = {
        "worst_ratio": max(row["ratio"] for row in rows),
        "functions_importing_boto3": [row["function"] for row in rows if row["boto3_imported"]],
        "api_import_ms_with_bytecode": _span(row["artifact_import_ms"] for row in api),
        "api_import_ms_without_bytecode": _span(row["no_bytecode_ms"] for row in api),
        "all_met": all(row["met"] for row in rows),
        "runs_per_side": runs,
    }
    notes = [
        "artifact_import_ms: `import app` in a fresh `python -S` with only the build output on the path, "
        "Lambda's order (the function's build directory, then the layer's python/), "
        "PYTHONDONTWRITEBYTECODE=1, the bytecode the build shipped; best of the runs.",
        "no_bytecode_ms: the same artifact with every __pycache__ removed (every cold start compiles "
        "every module it imports, as before the build compiled them); bytecode_speedup = its ratio.",
        "deps_only_ms: the same interpreter importing only the third-party modules the handler loaded "
        "(the floor); ratio = artifact_import_ms / deps_only_ms.",
        "largest_imports_ms: top-level packages by cumulative time in `python -X importtime`.",
    ]
    note = stand_in_note(artifact.layer_python)
    if note:
        notes.append(note + " Import times are this machine's, not Graviton's.")
    return rows, summary, notes


def _span(values: Any) -> str:
    found = sorted(values)
    return f"{found[0]:.0f}-{found[-1]:.0f}" if found else "-"
