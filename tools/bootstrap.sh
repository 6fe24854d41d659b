#!/usr/bin/env bash
# Creates the project's virtualenv on the Lambda runtime's Python (3.12) and installs the project with
# its dev tools. Works on a fresh machine: finds python3.12 on PATH or in pyenv.
# Runtime dependencies come from layers/shared/requirements.lock, exactly as the layer gets them
# (pinned, hash-checked); the dev tools are then installed with the lock as a constraint, so no tool
# can move a runtime package off its locked version (pip fails instead).
set -euo pipefail
venv=${1:-.venv}
lock=layers/shared/requirements.lock

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.12 "$(command -v pyenv >/dev/null && pyenv root)/versions/"3.12*/bin/python3.12; do
    [ -n "$candidate" ] || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

python=$(find_python) || { echo "Python 3.12 (the Lambda runtime's version) is required; set PYTHON=/path/to/python3.12" >&2; exit 1; }
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet --require-hashes --no-deps -r "$lock"
# pip allows no hashes in a constraints file: the same pins without them.
sed -n 's/^\([A-Za-z0-9][^ ]*==[^ ]*\).*/\1/p' "$lock" > "$venv/lock-constraints.txt"
"$venv/bin/python" -m pip install --quiet -c "$venv/lock-constraints.txt" -e ".[dev]"
