#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run the whole suite.
# Usage: bash tests/run.sh [pytest args...]
# Used as-is by .ci/run, so a green CI means a fresh machine can run the tests too.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Browser tests drive Debian's Chromium; Playwright cannot download a browser here.
if [ ! -x /usr/bin/chromium ]; then
  echo "== installing Debian's chromium"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# The packaging test brings up loopback in a private network namespace with `ip`.
if ! command -v ip >/dev/null 2>&1 && [ ! -x /usr/sbin/ip ]; then
  echo "== installing Debian's iproute2"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
fi

echo "== installing cellucid with its test extras (this also builds the viewer from js/)"
python -m pip install -q --disable-pip-version-check -e ".[test]"

# Make sure the built viewer is current even when pip skipped the build hook (already installed).
npm --prefix js ci --no-audit --no-fund --loglevel=error
npm --prefix js run build --silent
# The JupyterHub test runs a real hub, whose proxy (configurable-http-proxy) is a Node package.
npm --prefix tests/hub ci --no-audit --no-fund --loglevel=error

echo "== ruff (lint rules in pyproject.toml)"
python -m ruff check .

echo "== eslint (js/eslint.config.js: undefined / unused names, redeclarations, eqeqeq smart)"
npm --prefix js run lint --silent

echo "== running the test suite"
set +e
python -m pytest -q -p no:cacheprovider "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "pytest collected no tests: that is a failure, not a pass" >&2
  exit 1
fi
exit "$rc"
