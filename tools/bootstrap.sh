#!/usr/bin/env bash
# Creates the project's virtualenv on the Lambda runtime's Python (3.12) and installs the project with
# its dev tools. Works on a fresh machine: finds python3.12 on PATH or in pyenv (tools/python312.sh).
# Runtime dependencies come from layers/shared/requirements.lock, exactly as the layer gets them
# (pinned, hash-checked); the dev tools are then installed with the lock as a constraint, so no tool
# can move a runtime package off its locked version (pip fails instead).
set -euo pipefail
venv=${1:-.venv}
lock=layers/shared/requirements.lock
python=$(bash "$(dirname "$0")/python312.sh")
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
# --no-compile: bytecode is written on first import, for the modules actually used (half the install time).
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-compile)
"${pip[@]}" --require-hashes --no-deps -r "$lock"
# pip allows no hashes in a constraints file: the same pins without them.
sed -n 's/^\([A-Za-z0-9][^ ]*==[^ ]*\).*/\1/p' "$lock" > "$venv/lock-constraints.txt"
"${pip[@]}" -c "$venv/lock-constraints.txt" -e ".[dev]"
