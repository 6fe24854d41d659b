#!/usr/bin/env bash
# Creates the SAM tooling virtualenv (.venv-sam): aws-sam-cli, cfn-lint and the serverless rules,
# pinned in tools/sam-requirements.txt. Kept apart from the project's .venv: aws-sam-cli pins its own
# boto3, pydantic and friends, which must not decide (or break) the versions the service runs with.
# Built on Python 3.12 (the same interpreter as the project's venv, found independently so that both
# venvs can be built at once): `sam build` needs a `python3.12` for the python3.12 runtime, and this
# venv's bin/ provides it (the Makefile puts it first on PATH for SAM only).
set -euo pipefail
venv=${1:-.venv-sam}
python=$(bash "$(dirname "$0")/python312.sh")
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
# --no-compile: bytecode is written on first import, for the modules actually used.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-compile -r tools/sam-requirements.txt
"$venv/bin/sam" --version
"$venv/bin/cfn-lint" --version
