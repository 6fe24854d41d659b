"""`sam build`, then prove every built function imports its handler from the build output and the layer.

Part of `make lint-template` (and so of `make test`). For each function in .aws-sam/build a fresh
interpreter (`python -S`: no site-packages, the standard library only) gets PYTHONPATH = the function's
build directory + the built layer's python/ directory, as Lambda arranges /var/task and /opt/python,
and imports the handler with the network switched off (nothing may connect at import time) and a
dummy DATABASE_URL (settings load; nothing may use them yet). Every module imported must come from
those two directories or the standard library.

The layer is built for arm64 (the functions' architecture). Its compiled extensions (pydantic-core,
SQLAlchemy's, MarkupSafe's) are aarch64 ELF files: checked to be exactly that, then, on a machine of
another architecture, replaced in a scratch copy of the layer by the same versions' extensions for
this machine, so that the import check still runs every line of Python of the built layer.
"""

import os
import platform
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

from tools.template import ROOT, TEMPLATE, functions, load_template

BUILD_DIR = ROOT / ".aws-sam" / "build"
WORK_DIR = ROOT / ".aws-sam" / "build-check"
SAM_VENV = Path(os.environ.get("SAM_VENV", ROOT / ".venv-sam"))
TARGET_MACHINE = "aarch64"  # Architectures: [arm64]
ELF_MACHINES = {0xB7: "aarch64", 0x3E: "x86_64"}
HOST_MACHINE = {"arm64": "aarch64", "amd64": "x86_64"}.get(platform.machine().lower(), platform.machine())

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


def elf_machine(path: Path) -> str:
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        return "not ELF"
    return ELF_MACHINES.get(int.from_bytes(header[18:20], "little"), f"machine {header[18:20].hex()}")


def check_layer_architecture(layer_python: Path) -> list[Path]:
    """Every compiled extension in the layer is for the functions' architecture; returns them."""
    extensions = sorted(layer_python.rglob("*.so"))
    wrong = [f"{path.relative_to(layer_python)}: {elf_machine(path)}" for path in extensions
             if elf_machine(path) != TARGET_MACHINE]  # fmt: skip
    if wrong:
        raise SystemExit(f"layer extensions not built for {TARGET_MACHINE}:\n  " + "\n  ".join(wrong))
    return extensions


def _owning_distributions(layer_python: Path, files: list[Path]) -> dict[Path, tuple[str, str]]:
    """Which installed distribution (name, version) each file belongs to, from the dist-info RECORDs."""
    owners: dict[Path, tuple[str, str]] = {}
    for record in layer_python.glob("*.dist-info/RECORD"):
        metadata = (record.parent / "METADATA").read_text(errors="replace").splitlines()
        fields = dict(line.split(": ", 1) for line in metadata if ": " in line and not line.startswith(" "))
        for line in record.read_text().splitlines():
            path = (layer_python / line.split(",", 1)[0]).resolve()
            if path in files:
                owners[path] = (fields["Name"], fields["Version"])
    return owners


def layer_for_this_machine(layer_python: Path, extensions: list[Path]) -> Path:
    """The layer itself on an arm64 machine; else a copy whose extensions are this machine's builds."""
    if HOST_MACHINE == TARGET_MACHINE or not extensions:
        return layer_python
    owners = _owning_distributions(layer_python, [path.resolve() for path in extensions])
    unowned = [str(path) for path in extensions if path.resolve() not in owners]
    if unowned:
        raise SystemExit(f"extensions without a distribution record: {unowned}")
    shutil.rmtree(WORK_DIR, ignore_errors=True)
    copy, wheels = WORK_DIR / "python", WORK_DIR / "wheels"
    shutil.copytree(layer_python, copy)
    distributions = sorted(set(owners.values()))
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         "--dest", str(wheels), *(f"{name}=={version}" for name, version in distributions)],
        check=True,
    )  # fmt: skip
    for extension in extensions:
        relative = extension.relative_to(layer_python)
        module = relative.name.split(".", 1)[0]
        (copy / relative).unlink()
        replacement = _find_in_wheels(wheels, relative.parent.as_posix(), module)
        if replacement is None:
            raise SystemExit(f"no {HOST_MACHINE} build of {relative} in {distributions}")
        wheel, member = replacement
        with zipfile.ZipFile(wheel) as archive:
            (copy / member).write_bytes(archive.read(member))
        print(f"  {relative} -> {Path(member).name} ({HOST_MACHINE}, import check only)")
    return copy


def _find_in_wheels(wheels: Path, directory: str, module: str) -> tuple[Path, str] | None:
    for wheel in wheels.glob("*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                parent, _, name = member.rpartition("/")
                if parent == directory.strip(".") and name.startswith(f"{module}.") and name.endswith(".so"):
                    return wheel, member
    return None


def import_check_environment(pythonpath: list[Path]) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(map(str, pythonpath)),
        "PYTHONDONTWRITEBYTECODE": "1",  # the build output is what gets deployed: leave it as built
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "import-check",
        "POWERTOOLS_SERVICE_NAME": "onboarding",
        "POWERTOOLS_METRICS_NAMESPACE": "SignUpFlow/Onboarding",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        # Loads the settings; the network is off during the import, so using it would fail the check.
        "DATABASE_URL": "postgresql+pg8000://import_check:unused@192.0.2.1:5432/none",
    }


def check_imports(build_dir: Path = BUILD_DIR) -> int:
    built = load_template(build_dir / "template.yaml")
    layers = [
        build_dir / resource["Properties"]["ContentUri"] / "python"
        for resource in built["Resources"].values()
        if resource["Type"] == "AWS::Serverless::LayerVersion"
    ]
    if len(layers) != 1:
        raise SystemExit(f"expected one built layer, found {layers}")
    extensions = check_layer_architecture(layers[0])
    print(f"layer: {len(extensions)} compiled extensions, all {TARGET_MACHINE}")
    layer_python = layer_for_this_machine(layers[0], extensions)
    failures = 0
    for spec in functions(built, base=build_dir).values():
        roots = [spec.code_uri, layer_python]
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
    failures = check_imports()
    if failures:
        print(f"{failures} function(s) do not import from the build output", file=sys.stderr)
        return 1
    print("every built function imports its handler from the build output and the layer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
