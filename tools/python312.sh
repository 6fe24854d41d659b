#!/usr/bin/env bash
# Prints the path of a Python 3.12 (the Lambda runtime's version): $PYTHON, python3.12 on PATH, or
# pyenv's. Both virtualenvs (the project's and SAM's) are built on it, independently of each other.
set -euo pipefail
for candidate in "${PYTHON:-}" python3.12 "$(command -v pyenv >/dev/null && pyenv root)/versions/"3.12*/bin/python3.12; do
  [ -n "$candidate" ] || continue
  if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
    echo "$candidate"
    exit 0
  fi
done
echo "Python 3.12 (the Lambda runtime's version) is required; set PYTHON=/path/to/python3.12" >&2
exit 1
