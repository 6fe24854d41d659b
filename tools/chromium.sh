#!/usr/bin/env bash
# Makes sure a Chromium is there for the dashboard's browser test (tests/test_dashboard.py), which
# drives it through Playwright's Python API. Debian's `chromium` package, installed here when missing
# (CI runs as root on Debian); Playwright's own browser download is never used.
#   usage: tools/chromium.sh    (prints the browser's path)
set -euo pipefail
if [ -n "${CHROMIUM:-}" ] && [ -x "$CHROMIUM" ]; then
  echo "$CHROMIUM"
  exit 0
fi
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium for the dashboard's browser test" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium not found: install Debian's chromium package (apt-get install chromium) or set CHROMIUM" >&2
    exit 1
  fi
fi
command -v chromium
