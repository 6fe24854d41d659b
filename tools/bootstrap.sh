#!/usr/bin/env bash
# Creates the project's virtualenv on the Lambda runtime's Python (3.12) and installs the project with
# its dev tools. Works on a fresh machine: finds python3.12 on PATH or in pyenv.
set -euo pipefail
venv=${1:-.venv}
python=$(bash "$(dirname "$0")/python312.sh")
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
# --no-compile: bytecode is written on first import, for the modules actually used (half the install time).
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-compile -e ".[dev]"
