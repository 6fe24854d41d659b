"""`sam build`, then prove the build output is what it must be. Part of `make lint-template` (and so
of `make test`):

1. the layer holds exactly the packages and versions of layers/shared/requirements.lock;
2. every `.py` of the layer and of every function has its CPython 3.12 `.pyc` (hash-based, unchecked,
   as tools/sam-build/Makefile compiles them): no cold start compiles anything;
3. every compiled extension of the layer is aarch64 (the functions' architecture);
4. every function imports its handler from the build output alone: a fresh interpreter
   (`python -S`: no site-packages) with PYTHONPATH = the function's build directory + the layer's
   python/ (Lambda's /var/task, /opt/python), the network switched off (nothing may connect at import
   time) and a dummy DATABASE_URL (settings load; nothing may use them yet). Every module imported
   must come from those two directories or the standard library. On a machine that is not aarch64
   the layer's extensions are replaced by this machine's builds of the same versions in a scratch
   copy (tools/artifact.py), so that the check still runs every line of Python of the built layer.
"""

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tools import lock
from tools.artifact import (
    BUILD_DIR,
    HOST_MACHINE,
    TARGET_MACHINE,
    BuiltArtifact,
    built_artifact,
    elf_machine,
    lambda_like_environment,
    layer_extensions,
    runnable_layer,
    stale_files,
    stand_in_note,
)
from tools.template import ROOT, TEMPLATE, functions, load_template

SAM_VENV = Path(os.environ.get("SAM_VENV", ROOT / ".venv-sam"))
PYC_UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, check_source off
__all__ = ["elf_machine"]  # re-exported for the tests

IMPORT_CHECK = r"""
import importlib, socket, sys, sysconfig

def no_network(*args, **kwargs):
    raise RuntimeError("network access while importing the handler")

socket.socket.connect = socket.socket.connect_ex = no_network
socket.create_connection = socket.getaddrinfo = no_network

module_name, attribute, *allowed = sys.argv[1:]
handler = getattr(importlib.import_module(module_name), attribute)
assert callable(handler), f"{module_name}.{attribute} is not callable"
paths = sysconfig.get_paths()
allowed += [paths["stdlib"], paths["platstdlib"]]
strays = sorted(
    f"{name} ({module.__file__})"
    for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None) and not module.__file__.startswith(tuple(allowed))
)
if strays:
    sys.exit("imported from outside the build output: " + ", ".join(strays))
print(len(sys.modules))
"""


def sam_environment() -> dict[str, str]:
    env = dict(os.environ)
    # SAM's python3.12 workflow looks for `python3.12` on PATH: the SAM venv's interpreter is one.
    env["PATH"] = f"{SAM_VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env["SAM_CLI_TELEMETRY"] = "0"
    return env


def buildable_template(template_path: Path = TEMPLATE) -> Path:
    """The template, once every function's code exists (a missing CodeUri is a broken bundle)."""
    specs = functions(load_template(template_path), base=template_path.parent).values()
    missing = [f"{spec.logical_id}: {spec.code_uri}" for spec in specs if not spec.code_uri.is_dir()]
    if missing:
        raise SystemExit("functions without code:\n  " + "\n  ".join(missing))
    return template_path


def sam_build(template: Path) -> float:
    started = time.monotonic()
    subprocess.run(
        [
            str(SAM_VENV / "bin" / "sam"),
            "build",
            "--template-file",
            str(template),
            "--build-dir",
            str(BUILD_DIR),
            "--cached",
            "--parallel",
        ],
        cwd=ROOT,
        env=sam_environment(),
        check=True,
    )
    return time.monotonic() - started


def fresh_artifact() -> BuiltArtifact:
    """The build output, built again first (`sam build --cached`) when the source changed since."""
    try:
        stale = stale_files(built_artifact())
    except FileNotFoundError:
        stale = ["(no build output)"]
    if stale:
        if not (SAM_VENV / "bin" / "sam").is_file():
            raise SystemExit(f"the build output is out of date ({', '.join(stale[:5])}): run `make build`")
        print(f"building: the build output is out of date ({', '.join(stale[:5])})", file=sys.stderr)
        sam_build(buildable_template())
    artifact = built_artifact()
    stale = stale_files(artifact)
    if stale:
        raise SystemExit(f"sam build left stale files: {stale[:5]}")
    return artifact


def check_layer_architecture(layer_python: Path) -> list[Path]:
    """Every compiled extension in the layer is for the functions' architecture; returns them."""
    extensions = layer_extensions(layer_python)
    wrong = [f"{path.relative_to(layer_python)}: {elf_machine(path)}" for path in extensions
             if elf_machine(path) != TARGET_MACHINE]  # fmt: skip
    if wrong:
        raise SystemExit(f"layer extensions not built for {TARGET_MACHINE}:\n  " + "\n  ".join(wrong))
    return extensions


def missing_bytecode(root: Path) -> list[str]:
    """Every `.py` under `root` without its CPython 3.12 `.pyc` (hash-based, unchecked: what the build
    writes), so that no cold start compiles a module the build could have compiled."""
    problems = []
    for source in sorted(root.rglob("*.py")):
        cached = Path(importlib.util.cache_from_source(str(source)))
        relative = source.relative_to(root)
        if not cached.is_file():
            problems.append(f"{relative}: no {cached.name}")
            continue
        header = cached.read_bytes()[:8]
        if header[:4] != importlib.util.MAGIC_NUMBER:
            problems.append(f"{relative}: {cached.name} is not CPython 3.12 bytecode")
        elif int.from_bytes(header[4:8], "little") != PYC_UNCHECKED_HASH:
            problems.append(f"{relative}: {cached.name} is not hash-based and unchecked")
    return problems


def check_bytecode(artifact: BuiltArtifact) -> int:
    roots = [artifact.layer_python, *(spec.code_uri for spec in artifact.functions.values())]
    failures = 0
    for root in roots:
        problems = missing_bytecode(root)
        sources = sum(1 for _ in root.rglob("*.py"))
        name = root.relative_to(artifact.build_dir)
        if problems:
            failures += 1
            print(f"  FAIL {name}: {len(problems)} of {sources} modules without bytecode:")
            print("    " + "\n    ".join(problems[:20]) + ("\n    ..." if len(problems) > 20 else ""))
    if not failures:
        print(f"bytecode: every .py of the layer and of {len(artifact.functions)} functions has its .pyc")
    return failures


def check_locked_layer(layer_python: Path) -> int:
    """The layer holds exactly the lock's packages, at the lock's versions (what applies to Lambda arm64)."""
    found = lock.differences(
        lock.locked_versions(lock.LAMBDA_ARM64), lock.installed_versions(layer_python), extra_allowed=False
    )
    if found:
        print("  FAIL layer differs from layers/shared/requirements.lock:\n    " + "\n    ".join(found))
        return 1
    print(f"layer: {len(lock.installed_versions(layer_python))} distributions, exactly the lock's versions")
    return 0


def import_check_environment(pythonpath: list[Path]) -> dict[str, str]:
    return lambda_like_environment(
        pythonpath,
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_LAMBDA_FUNCTION_NAME": "import-check",
            "POWERTOOLS_SERVICE_NAME": "onboarding",
            "POWERTOOLS_METRICS_NAMESPACE": "SignUpFlow/Onboarding",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            # Loads the settings; the network is off during the import, so using it would fail the check.
            "DATABASE_URL": "postgresql+pg8000://import_check:unused@192.0.2.1:5432/none",
        },
    )


def check_imports(build_dir: Path = BUILD_DIR) -> int:
    artifact = built_artifact(build_dir)
    extensions = check_layer_architecture(artifact.layer_python)
    print(f"layer: {len(extensions)} compiled extensions, all {TARGET_MACHINE}")
    layer_python = runnable_layer(artifact.layer_python)
    note = stand_in_note(artifact.layer_python)
    if note:
        print(f"  import check on {HOST_MACHINE}: {note}")
    failures = 0
    for spec in artifact.functions.values():
        roots = artifact.pythonpath(spec, layer_python)
        result = subprocess.run(
            [sys.executable, "-S", "-B", "-c", IMPORT_CHECK, spec.handler_module, spec.handler_attribute,
             *map(str, roots)],
            env=import_check_environment(roots),
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        if result.returncode == 0:
            print(f"  ok  {spec.logical_id}: {spec.handler} ({result.stdout.strip()} modules)")
        else:
            failures += 1
            print(f"  FAIL {spec.logical_id}: {spec.handler}\n{result.stderr}{result.stdout}")
        if (spec.code_uri / "env.py").is_file():
            failures += check_migration_scripts(spec.code_uri, roots)
    return failures


def check_build(build_dir: Path = BUILD_DIR) -> int:
    """Everything the build must be: locked layer, bytecode everywhere, every handler importable."""
    artifact = built_artifact(build_dir)
    return check_locked_layer(artifact.layer_python) + check_bytecode(artifact) + check_imports(build_dir)


def check_migration_scripts(code_dir: Path, roots: list[Path]) -> int:
    """The built migrations function carries every alembic revision: its head is the source's head."""
    read_head = "from alembic.script import ScriptDirectory; import sys; "
    read_head += "print(ScriptDirectory(sys.argv[1]).get_current_head())"
    built = subprocess.run(
        [sys.executable, "-S", "-B", "-c", read_head, str(code_dir)],
        env=import_check_environment(roots),
        capture_output=True,
        text=True,
        check=False,
    )
    from alembic.script import ScriptDirectory

    expected = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
    if built.returncode == 0 and built.stdout.strip() == expected:
        print(f"  ok  {code_dir.name}: alembic scripts packaged, head {expected}")
        return 0
    found = built.stdout.strip()
    print(f"  FAIL {code_dir.name}: alembic head {found!r}, expected {expected!r}\n{built.stderr}")
    return 1


def main(argv: list[str] | None = None) -> int:
    args: list[Any] = list(sys.argv[1:] if argv is None else argv)
    if "--skip-build" not in args:
        seconds = sam_build(buildable_template())
        print(f"sam build: {seconds:.1f} s")
    if "--build-only" in args:
        return 0
    failures = check_build()
    if failures:
        print(f"{failures} check(s) of the build output failed", file=sys.stderr)
        return 1
    print("the layer is the lock, everything is compiled, every built function imports its handler")
    return 0


if __name__ == "__main__":
    sys.exit(main())
