"""The `sam build` output as Lambda runs it: the build check, the cold-start benchmark and the artifact
tests all load functions from here, never from the source tree.

On Lambda a function's code is /var/task and the layer's python/ is /opt/python, in that order on
sys.path, both read-only, with bytecode taken from the shipped __pycache__ directories. Locally the
same two directories of .aws-sam/build go on PYTHONPATH of a fresh `python -S` (no site-packages: the
project's virtualenv is invisible), with PYTHONDONTWRITEBYTECODE=1.

The layer's compiled extensions are aarch64 (the functions' architecture). On a machine of another
architecture they cannot be loaded, so the runnable layer is a copy of the built one in which only
those `.so` files are the same locked versions' builds for this machine (hash-checked against the
lock); every `.py` and `.pyc` is the built one. `stand_in_note()` says so wherever results are shown.
"""

import hashlib
import json
import os
import platform
import select
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from tools.lock import read_lock
from tools.template import ROOT, SHARED_LAYER_DIR, FunctionSpec, functions, load_template

BUILD_DIR = ROOT / ".aws-sam" / "build"
WORK_DIR = ROOT / ".aws-sam" / "build-check"
TARGET_MACHINE = "aarch64"  # Architectures: [arm64]
ELF_MACHINES = {0xB7: "aarch64", 0x3E: "x86_64"}
HOST_MACHINE = {"arm64": "aarch64", "amd64": "x86_64"}.get(platform.machine().lower(), platform.machine())


def elf_machine(path: Path) -> str:
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        return "not ELF"
    return ELF_MACHINES.get(int.from_bytes(header[18:20], "little"), f"machine {header[18:20].hex()}")


@dataclass(frozen=True)
class BuiltArtifact:
    build_dir: Path
    layer_python: Path  # the built layer's python/ (/opt/python)
    functions: dict[str, FunctionSpec]  # CodeUri = the function's build directory (/var/task)

    def runnable_layer(self) -> Path:
        """The layer as this machine can load it (the built one, or its copy with stand-in extensions)."""
        return runnable_layer(self.layer_python)

    def pythonpath(self, spec: FunctionSpec, layer: Path | None = None) -> list[Path]:
        """Lambda's order: the function's code, then the layer's python/."""
        return [spec.code_uri, layer or self.runnable_layer()]


def built_artifact(build_dir: Path = BUILD_DIR) -> BuiltArtifact:
    template = build_dir / "template.yaml"
    if not template.is_file():
        raise FileNotFoundError(f"no build output in {build_dir}: run `make build` (sam build) first")
    built = load_template(template)
    layers = [
        build_dir / resource["Properties"]["ContentUri"] / "python"
        for resource in built["Resources"].values()
        if resource["Type"] == "AWS::Serverless::LayerVersion"
    ]
    if len(layers) != 1:
        raise SystemExit(f"expected one built layer, found {layers}")
    return BuiltArtifact(build_dir, layers[0], functions(built, base=build_dir))


def layer_extensions(layer_python: Path) -> list[Path]:
    return sorted(layer_python.rglob("*.so"))


def needs_stand_ins(layer_python: Path) -> bool:
    return HOST_MACHINE != TARGET_MACHINE and bool(layer_extensions(layer_python))


def stand_in_note(layer_python: Path) -> str | None:
    """One sentence for any output measured or tested on a layer with this machine's extensions."""
    if not needs_stand_ins(layer_python):
        return None
    return (
        f"This machine is {HOST_MACHINE}: the layer's {len(layer_extensions(layer_python))} compiled "
        f"extensions (built for {TARGET_MACHINE}) are replaced by the same locked versions' {HOST_MACHINE} "
        "builds; every .py and .pyc is the built one."
    )


def _fingerprint(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(directory)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def runnable_layer(layer_python: Path, work_dir: Path = WORK_DIR) -> Path:
    """The built layer on an aarch64 machine; else a copy (kept until the build changes) whose
    extensions are this machine's builds of the same locked versions."""
    if not needs_stand_ins(layer_python):
        return layer_python
    copy, stamp = work_dir / "python", work_dir / "python.built-from"
    fingerprint = _fingerprint(layer_python)
    if copy.is_dir() and stamp.is_file() and stamp.read_text() == fingerprint:
        return copy
    extensions = layer_extensions(layer_python)
    owners = _owning_distributions(layer_python, extensions)
    unowned = [str(path) for path in extensions if path not in owners]
    if unowned:
        raise SystemExit(f"extensions without a distribution record: {unowned}")
    shutil.rmtree(work_dir, ignore_errors=True)
    wheels = work_dir / "wheels"
    shutil.copytree(layer_python, copy)
    distributions = sorted(set(owners.values()))
    _download_locked_wheels(distributions, wheels)
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
    stamp.write_text(fingerprint)
    return copy


def _owning_distributions(layer_python: Path, files: list[Path]) -> dict[Path, tuple[str, str]]:
    """Which installed distribution (name, version) each file belongs to, from the dist-info RECORDs."""
    wanted = {path.resolve(): path for path in files}
    owners: dict[Path, tuple[str, str]] = {}
    for record in layer_python.glob("*.dist-info/RECORD"):
        metadata = (record.parent / "METADATA").read_text(errors="replace").splitlines()
        fields = dict(line.split(": ", 1) for line in metadata if ": " in line and not line.startswith(" "))
        for line in record.read_text().splitlines():
            path = (layer_python / line.split(",", 1)[0]).resolve()
            if path in wanted:
                owners[wanted[path]] = (fields["Name"], fields["Version"])
    return owners


def _download_locked_wheels(distributions: list[tuple[str, str]], wheels: Path) -> None:
    """This machine's wheels of those distributions, checked against the lock's hashes when locked."""
    locked = read_lock()
    requirements = wheels.parent / "stand-ins.txt"
    wheels.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, version in distributions:
        entry = locked.get(canonicalize_name(name))
        pinned = entry is not None and entry.version == version
        lines.append(entry.requirement_lines() if entry is not None and pinned else f"{name}=={version}\n")
    requirements.write_text("".join(lines))
    hashed = all("--hash=" in line for line in lines)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--only-binary=:all:", *(["--require-hashes"] if hashed else []), "--dest", str(wheels),
         "-r", str(requirements)],
        check=True,
    )  # fmt: skip


def _find_in_wheels(wheels: Path, directory: str, module: str) -> tuple[Path, str] | None:
    for wheel in wheels.glob("*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                parent, _, name = member.rpartition("/")
                if parent == directory.strip(".") and name.startswith(f"{module}.") and name.endswith(".so"):
                    return wheel, member
    return None


def lambda_like_environment(
    pythonpath: list[Path], variables: dict[str, str] | None = None
) -> dict[str, str]:
    """A child's environment: only PATH, the function's variables and Lambda's interpreter settings."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **(variables or {})}
    env["PYTHONPATH"] = os.pathsep.join(map(str, pythonpath))
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # /var/task and /opt are read-only on Lambda
    env["PYTHONNOUSERSITE"] = "1"
    return env


def snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    """Every file under `directory` with its size and modification time (to prove nothing was written)."""
    return {
        str(path.relative_to(directory)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in directory.rglob("*")
        if path.is_file()
    }


RUNNER = ROOT / "tools" / "lambda_runner.py"


class FunctionError(Exception):
    """The function raised: Lambda's errorType and errorMessage."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error['errorType']}: {error['errorMessage']}\n{''.join(error['stackTrace'])}")
        self.error = error


class FunctionProcess:
    """One built function in its own fresh interpreter (a Lambda container: imported once, then warm)."""

    def __init__(
        self, spec: FunctionSpec, pythonpath: list[Path], environment: dict[str, str], *, timeout: float = 60
    ) -> None:
        self.spec, self.timeout = spec, timeout
        self.process = subprocess.Popen(
            [sys.executable, "-S", "-P", str(RUNNER), "--no-inet",
             spec.handler_module, spec.handler_attribute,
             *map(str, pythonpath)],
            cwd=spec.code_uri,  # /var/task
            env=lambda_like_environment(pythonpath, environment),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self.startup: dict[str, Any] | None = None

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], self.timeout)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.process.kill()
            _, stderr = self.process.communicate()
            raise RuntimeError(f"{self.spec.logical_id} stopped answering:\n{stderr[-4000:]}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ready(self) -> dict[str, Any]:
        if self.startup is None:
            self.startup = self._read()
        return self.startup

    def invoke(self, event: Any) -> Any:
        self.ready()
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(event) + "\n")
        self.process.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise FunctionError(answer["error"])
        return answer["result"]

    def close(self) -> dict[str, Any]:
        """End of input: the container reports what it imported, then exits."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        done = self._read()
        self.process.wait(timeout=self.timeout)
        return done

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def stale_files(artifact: BuiltArtifact) -> list[str]:
    """Source files whose copy in the build output differs or is missing (the build is out of date)."""
    pairs = [(SHARED_LAYER_DIR / "onboarding", artifact.layer_python / "onboarding")]
    for logical_id, spec in functions().items():
        built_spec = artifact.functions.get(logical_id)
        if built_spec is None:
            return [f"{logical_id}: not built"]
        pairs.append((spec.code_uri, built_spec.code_uri))
    stale = []
    for source_dir, built_dir in pairs:
        for source in source_dir.rglob("*"):
            if source.is_file() and "__pycache__" not in source.parts:
                built = built_dir / source.relative_to(source_dir)
                if not built.is_file() or built.read_bytes() != source.read_bytes():
                    stale.append(str(source.relative_to(ROOT)))
    return stale
