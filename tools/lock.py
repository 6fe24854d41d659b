"""layers/shared/requirements.lock, read: what is locked, and what a directory of packages holds.

The lock (`make lock`, uv's universal resolution with hashes) is the one list of runtime packages: the
layer is built from it (tools/sam-build/Makefile) and the project's virtualenv installs it
(tools/bootstrap.sh). The build check and the tests compare what was installed with it.
"""

import re
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

from tools.template import SHARED_LAYER_DIR

LOCK = SHARED_LAYER_DIR / "requirements.lock"
# Lambda's python3.12 on arm64: what a lock entry's environment marker is evaluated against for the layer.
LAMBDA_ARM64 = {
    "implementation_name": "cpython",
    "platform_machine": "aarch64",
    "platform_system": "Linux",
    "sys_platform": "linux",
    "os_name": "posix",
    "platform_python_implementation": "CPython",
    "python_version": "3.12",
    "python_full_version": "3.12.0",
}
# `name==version [; marker] [\]`, then `    --hash=sha256:...` continuation lines and `# via` comments.
_ENTRY = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)\s*(?:;(?P<marker>[^\\]+))?"
)
_HASH = re.compile(r"--hash=(sha256:[0-9a-f]{64})")


@dataclass(frozen=True)
class LockedPackage:
    name: str  # canonical (PEP 503)
    version: str
    marker: str | None
    hashes: tuple[str, ...]

    def applies_to(self, environment: dict[str, str] | None) -> bool:
        return self.marker is None or Marker(self.marker).evaluate(environment)

    def requirement_lines(self) -> str:
        """This entry as a hash-checked requirement (for `pip download --require-hashes`)."""
        hashes = " ".join(f"--hash={digest}" for digest in self.hashes)
        return f"{self.name}=={self.version} {hashes}\n"


def read_lock(path: Path = LOCK) -> dict[str, LockedPackage]:
    packages: dict[str, LockedPackage] = {}
    current: dict[str, str | None] | None = None
    hashes: list[str] = []

    def finish() -> None:
        if current is not None:
            name = canonicalize_name(str(current["name"]))
            packages[name] = LockedPackage(name, str(current["version"]), current["marker"], tuple(hashes))

    for line in path.read_text().splitlines():
        entry = _ENTRY.match(line)
        if entry:
            finish()
            marker = entry["marker"].strip() if entry["marker"] else None
            current, hashes = {"name": entry["name"], "version": entry["version"], "marker": marker}, []
        hashes += _HASH.findall(line)
    finish()
    return packages


def locked_versions(environment: dict[str, str] | None = None, path: Path = LOCK) -> dict[str, str]:
    """Name -> version of every locked package that applies to `environment` (None: this interpreter's)."""
    return {
        name: package.version for name, package in read_lock(path).items() if package.applies_to(environment)
    }


def installed_versions(site_dir: Path) -> dict[str, str]:
    """Name -> version of every distribution installed in `site_dir` (its *.dist-info directories)."""
    installed: dict[str, str] = {}
    for metadata in site_dir.glob("*.dist-info/METADATA"):
        headers = HeaderParser().parsestr(metadata.read_text(errors="replace"), headersonly=True)
        installed[canonicalize_name(headers["Name"])] = headers["Version"]
    return installed


def differences(locked: dict[str, str], installed: dict[str, str], *, extra_allowed: bool) -> list[str]:
    """Human-readable differences; `extra_allowed` for a virtualenv that also holds the dev tools."""
    found = []
    for name, version in sorted(locked.items()):
        if name not in installed:
            found.append(f"{name}: locked {version}, not installed")
        elif installed[name] != version:
            found.append(f"{name}: locked {version}, installed {installed[name]}")
    if not extra_allowed:
        found += [
            f"{name}: installed {installed[name]}, not in the lock"
            for name in sorted(installed.keys() - locked.keys())
        ]
    return found
