#!/usr/bin/env bash
# Installs dependencies, builds everything, runs every test (GoogleTest via CTest).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
start=$(date +%s)
"$root/scripts/build.sh"
built=$(date +%s)
echo "test.sh: build took $((built - start)) s" >&2
# The deploy/ lint takes about a second; it needs yamllint and haproxy
# (install-deps.sh cluster lint), which CI installs.
if command -v yamllint >/dev/null && command -v haproxy >/dev/null; then
  "$root/scripts/lint.sh"
else
  echo "test.sh: skipping scripts/lint.sh (yamllint or haproxy not installed)" >&2
fi
cd "${TANDEM_BUILD_DIR:-$root/build}"
ctest --output-on-failure -j "${TANDEM_TEST_JOBS:-2}" --timeout 1200
echo "test.sh: tests took $(( $(date +%s) - built )) s" >&2
