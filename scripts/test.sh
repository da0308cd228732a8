#!/usr/bin/env bash
# Install everything the tests need on a fresh machine, then run them.
# Usage: bash scripts/test.sh             (lint, the tests, then the browser tests: what CI runs)
#        bash scripts/test.sh ARGS...    (lint, then pytest ARGS only)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
# Browser tests drive Debian's Chromium through Playwright (Playwright's own download does not work here).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's chromium for the browser tests..."
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is not installed and this user cannot apt-get it: browser tests will be skipped." >&2
  fi
fi
# The XMP export tests read the sidecars back with exiftool (Debian's libimage-exiftool-perl).
if ! command -v exiftool >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's exiftool for the XMP export tests..."
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libimage-exiftool-perl >/dev/null
  else
    echo "exiftool is not installed and this user cannot apt-get it: XMP read-back tests will be skipped." >&2
  fi
fi
.venv/bin/python -m ruff check gaia app.py pages tests bench
# The public API type-checks: the face and typical calls pass (a wrong keyword failing is tests/typing/test_mypy.py).
.venv/bin/python -m mypy --follow-imports=silent gaia/face.py tests/typing/typical_calls.py
if [ "$#" -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
# Two steps, both always run: every test but the browser ones (pyproject deselects them by default),
# then the browser tests (marked e2e). Neither step can be empty, so neither exits 5 ("no tests").
status=0
.venv/bin/python -m pytest || status=$?
.venv/bin/python -m pytest -m e2e || status=$?
exit "$status"
