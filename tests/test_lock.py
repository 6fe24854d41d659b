"""One lock for the virtualenv and the layer (layers/shared/requirements.lock, `make lock`).

The built layer is compared with the lock in tests/test_artifact.py (it needs `sam build`); here: the
lock itself, the virtualenv the tests run in, and the reading of both.
"""

import sysconfig
from pathlib import Path

from packaging.utils import canonicalize_name

from tools import lock

REQUIREMENTS_IN = lock.LOCK.with_name("requirements.in")


def top_level_requirements() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in REQUIREMENTS_IN.read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            name, version = requirement.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_every_top_level_runtime_requirement_is_locked_at_its_pin() -> None:
    locked = lock.locked_versions(lock.LAMBDA_ARM64)
    assert {name: locked.get(name) for name in top_level_requirements()} == top_level_requirements()


def test_every_locked_package_carries_hashes() -> None:
    assert all(package.hashes for package in lock.read_lock().values())


def test_python_dateutil_is_locked_below_3_as_botocore_requires() -> None:
    version = lock.locked_versions(lock.LAMBDA_ARM64)["python-dateutil"]
    assert int(version.split(".")[0]) < 3


def test_the_virtualenv_holds_exactly_the_locked_runtime_versions() -> None:
    installed = lock.installed_versions(Path(sysconfig.get_paths()["purelib"]))
    assert lock.differences(lock.locked_versions(), installed, extra_allowed=True) == []


def test_a_version_other_than_the_locked_one_is_reported(tmp_path: Path) -> None:
    (tmp_path / "six-1.16.0.dist-info").mkdir()
    (tmp_path / "six-1.16.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n"
    )
    (tmp_path / "Extra_Pkg-1.0.dist-info").mkdir()
    (tmp_path / "Extra_Pkg-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: Extra_Pkg\nVersion: 1.0\n"
    )
    found = lock.differences(
        {"six": "1.17.0", "idna": "3.20"}, lock.installed_versions(tmp_path), extra_allowed=False
    )
    assert found == [
        "idna: locked 3.20, not installed",
        "six: locked 1.17.0, installed 1.16.0",
        "extra-pkg: installed 1.0, not in the lock",
    ]


def test_environment_markers_decide_what_applies_to_the_layer(tmp_path: Path) -> None:
    lock_file = tmp_path / "requirements.lock"
    lock_file.write_text(
        "colorama==0.4.6 ; sys_platform == 'win32' \\\n"
        "    --hash=sha256:" + "a" * 64 + "\n"
        "six==1.17.0 \\\n"
        "    --hash=sha256:" + "b" * 64 + " \\\n"
        "    --hash=sha256:" + "c" * 64 + "\n"
        "    # via python-dateutil\n"
    )
    assert lock.locked_versions(lock.LAMBDA_ARM64, path=lock_file) == {"six": "1.17.0"}
    assert lock.read_lock(lock_file)["six"].hashes == ("sha256:" + "b" * 64, "sha256:" + "c" * 64)
