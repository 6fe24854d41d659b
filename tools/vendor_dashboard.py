"""`make vendor-dashboard`: the dashboard's charting library, vendored from its npm package.

The dashboard has no build step: it loads `dashboard/vendor/chart.umd.min.js`, the UMD bundle that
Chart.js publishes in its npm package, committed here. This tool is the only way that file changes:

- `make vendor-dashboard` fetches the pinned version again (`npm pack`), checks the tarball against the
  pinned integrity (the registry's sha512 recorded when the version was chosen), and writes the bundle
  and its licence. The result must equal what is committed (the test suite checks the file's hash).
- `make vendor-dashboard CHARTJS_VERSION=4.7.0` moves to another version: its integrity is read from
  the registry (`npm view chart.js@4.7.0 dist.integrity`), the tarball checked against it, and the new
  pin written to `dashboard/vendor/vendor.json` (and index.html's Subresource Integrity attribute).

Only npm is needed (to reach the registry); nothing is installed and no node_modules is created.
"""

import argparse
import base64
import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "dashboard"
VENDOR = DASHBOARD / "vendor"
PIN_FILE = VENDOR / "vendor.json"
INDEX = DASHBOARD / "index.html"
PACKAGE = "chart.js"
# package path inside the tarball -> file name in dashboard/vendor/
FILES = {"package/dist/chart.umd.min.js": "chart.umd.min.js", "package/LICENSE.md": "chart.js-LICENSE.md"}
BUNDLE = "chart.umd.min.js"
# <script src="vendor/chart.umd.min.js" integrity="sha384-..."> in index.html
SRI_ATTRIBUTE = re.compile(r'(src="vendor/chart\.umd\.min\.js"\s+integrity=")sha384-[A-Za-z0-9+/=]+(")')


def sri(data: bytes, algorithm: str = "sha384") -> str:
    """A Subresource Integrity value (`sha384-<base64>`), the form npm's `dist.integrity` takes too."""
    return f"{algorithm}-{base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def read_pin() -> dict[str, Any]:
    pins: dict[str, Any] = json.loads(PIN_FILE.read_text())
    return pins


def registry_integrity(version: str) -> str:
    out = subprocess.run(
        ["npm", "view", f"{PACKAGE}@{version}", "dist.integrity"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not out.startswith("sha512-"):
        raise SystemExit(f"the registry gave no sha512 integrity for {PACKAGE}@{version}: {out!r}")
    return out


def fetch_tarball(version: str) -> bytes:
    with tempfile.TemporaryDirectory() as work:
        result = subprocess.run(
            ["npm", "pack", f"{PACKAGE}@{version}", "--json", "--pack-destination", work],
            check=True,
            capture_output=True,
            text=True,
        )
        filename = str(json.loads(result.stdout)[0]["filename"])
        return (Path(work) / filename).read_bytes()


def extract(tarball: bytes) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for member, name in FILES.items():
            handle = archive.extractfile(member)
            if handle is None:
                raise SystemExit(f"{member} missing from the {PACKAGE} package")
            files[name] = handle.read()
    return files


def vendor(version: str | None) -> None:
    pins = read_pin()
    pinned = pins[PACKAGE]
    if version is None or version == pinned["version"]:
        version, integrity = pinned["version"], pinned["integrity"]
    else:
        integrity = registry_integrity(version)
    tarball = fetch_tarball(version)
    if sri(tarball, "sha512") != integrity:
        raise SystemExit(f"{PACKAGE}@{version}: the tarball does not match {integrity}; nothing written")
    files = extract(tarball)
    for name, data in files.items():
        (VENDOR / name).write_bytes(data)
    pins[PACKAGE] = {
        "version": version,
        "integrity": integrity,
        "files": {name: sri(data) for name, data in files.items()},
    }
    PIN_FILE.write_text(json.dumps(pins, indent=2) + "\n")
    html = INDEX.read_text()
    updated, count = SRI_ATTRIBUTE.subn(rf"\g<1>{sri(files[BUNDLE])}\g<2>", html)
    if count != 1:
        raise SystemExit("index.html: expected one <script src=vendor/chart.umd.min.js integrity=...>")
    INDEX.write_text(updated)
    print(f"vendored {PACKAGE}@{version} ({integrity[:20]}...) into {VENDOR.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", help=f"the {PACKAGE} version to vendor (default: the pinned one)")
    args = parser.parse_args(argv)
    vendor(args.version or None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
