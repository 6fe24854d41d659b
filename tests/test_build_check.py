"""The import check that follows `sam build` (tools/build_check.py), on small build outputs made here.

`make lint-template` runs it on the real build; these tests prove it fails when it should.
"""

import py_compile
import sys
from pathlib import Path

import pytest

from tools import artifact, build_check

ELF_HEADER = b"\x7fELF\x02\x01\x01" + b"\x00" * 11


def make_build(tmp_path: Path, handler_source: str, layer_files: dict[str, bytes] | None = None) -> Path:
    build = tmp_path / "build"
    (build / "ApiFunction").mkdir(parents=True)
    (build / "ApiFunction" / "app.py").write_text(handler_source)
    layer = build / "SharedLayer" / "python"
    layer.mkdir(parents=True)
    (layer / "shared_dep.py").write_text("VALUE = 42\n")
    for name, content in (layer_files or {}).items():
        (layer / name).parent.mkdir(parents=True, exist_ok=True)
        (layer / name).write_bytes(content)
    (build / "template.yaml").write_text(
        "Resources:\n"
        "  SharedLayer:\n"
        "    Type: AWS::Serverless::LayerVersion\n"
        "    Properties: {ContentUri: SharedLayer}\n"
        "  ApiFunction:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties: {CodeUri: ApiFunction, Handler: app.lambda_handler, Layers: [!Ref SharedLayer]}\n"
    )
    return build


def test_a_handler_that_imports_from_its_layer_passes(tmp_path: Path) -> None:
    build = make_build(tmp_path, "import shared_dep\n\ndef lambda_handler(event, context):\n    return 1\n")
    assert build_check.check_imports(build) == 0


def test_a_dependency_missing_from_the_layer_fails(tmp_path: Path) -> None:
    # The project's virtualenv has sqlalchemy; the built layer here does not: the check must not see it.
    build = make_build(tmp_path, "import sqlalchemy\n\ndef lambda_handler(event, context):\n    return 1\n")
    assert build_check.check_imports(build) == 1


def test_connecting_at_import_time_fails(tmp_path: Path) -> None:
    source = "import socket\nsocket.create_connection(('192.0.2.1', 5432))\n\ndef lambda_handler(e, c):\n    pass\n"
    assert build_check.check_imports(make_build(tmp_path, source)) == 1


def test_a_handler_that_is_not_there_fails(tmp_path: Path) -> None:
    build = make_build(tmp_path, "import shared_dep\n\ndef handler(event, context):\n    return 1\n")
    assert build_check.check_imports(build) == 1


def test_a_layer_extension_for_another_architecture_fails(tmp_path: Path) -> None:
    x86_64_extension = ELF_HEADER + (0x3E).to_bytes(2, "little")
    build = make_build(
        tmp_path, "def lambda_handler(e, c):\n    pass\n", {"fast/_speedups.so": x86_64_extension}
    )
    with pytest.raises(SystemExit, match=r"not built for aarch64:\n  fast/_speedups.so: x86_64"):
        build_check.check_imports(build)


def test_elf_machine_reads_the_architecture_of_an_extension(tmp_path: Path) -> None:
    extension = tmp_path / "ext.so"
    extension.write_bytes(ELF_HEADER + (0xB7).to_bytes(2, "little") + b"\x00" * 8)
    assert build_check.elf_machine(extension) == "aarch64"
    extension.write_bytes(b"#!/bin/sh\n" + b"\x00" * 16)
    assert build_check.elf_machine(extension) == "not ELF"


def test_a_function_without_code_stops_the_build(tmp_path: Path) -> None:
    (tmp_path / "functions" / "here").mkdir(parents=True)
    template = tmp_path / "template.yaml"
    template.write_text(
        "Resources:\n"
        "  HereFunction:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties: {CodeUri: functions/here, Handler: app.lambda_handler}\n"
        "  LaterFunction:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties: {CodeUri: functions/later, Handler: app.lambda_handler}\n"
    )
    with pytest.raises(SystemExit, match="LaterFunction"):
        build_check.buildable_template(template)


def test_the_template_itself_is_built_when_every_function_has_code(tmp_path: Path) -> None:
    (tmp_path / "functions" / "here").mkdir(parents=True)
    template = tmp_path / "template.yaml"
    template.write_text(
        "Resources:\n"
        "  HereFunction:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties: {CodeUri: functions/here, Handler: app.lambda_handler}\n"
    )
    assert build_check.buildable_template(template) == template


def compile_unchecked(path: Path) -> None:
    py_compile.compile(
        str(path), invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH, doraise=True
    )


def test_a_module_without_its_bytecode_is_reported(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "compiled.py").write_text("X = 1\n")
    (tmp_path / "pkg" / "forgotten.py").write_text("Y = 2\n")
    compile_unchecked(tmp_path / "pkg" / "compiled.py")
    assert build_check.missing_bytecode(tmp_path) == [
        f"pkg/forgotten.py: no forgotten.{sys.implementation.cache_tag}.pyc"
    ]


def test_timestamp_bytecode_is_reported_as_not_what_the_build_writes(tmp_path: Path) -> None:
    # A timestamp .pyc is checked against the source's mtime, which the deployment zip does not keep.
    (tmp_path / "module.py").write_text("X = 1\n")
    py_compile.compile(
        str(tmp_path / "module.py"), invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP
    )
    assert build_check.missing_bytecode(tmp_path) == [
        f"module.py: module.{sys.implementation.cache_tag}.pyc is not hash-based and unchecked"
    ]


def test_a_build_with_bytecode_for_every_module_passes_the_bytecode_check(tmp_path: Path) -> None:
    build = make_build(tmp_path, "def lambda_handler(e, c):\n    pass\n")
    for source in build.rglob("*.py"):
        compile_unchecked(source)
    assert build_check.check_bytecode(artifact.built_artifact(build)) == 0


def test_a_build_with_an_uncompiled_handler_fails_the_bytecode_check(tmp_path: Path) -> None:
    build = make_build(tmp_path, "def lambda_handler(e, c):\n    pass\n")
    compile_unchecked(build / "SharedLayer" / "python" / "shared_dep.py")
    assert build_check.check_bytecode(artifact.built_artifact(build)) == 1


def test_a_layer_that_is_not_the_lock_fails(tmp_path: Path) -> None:
    layer = tmp_path / "python"
    (layer / "six-1.16.0.dist-info").mkdir(parents=True)
    (layer / "six-1.16.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n"
    )
    assert build_check.check_locked_layer(layer) == 1
