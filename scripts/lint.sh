#!/usr/bin/env bash
# Lints what the compiler and the tests do not see: the Kubernetes manifests
# (yamllint), the HAProxy configuration (haproxy -c) and the Grafana
# dashboard (valid JSON). About a second. Needs yamllint and haproxy:
#   scripts/install-deps.sh cluster lint
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
missing=()
for tool in yamllint haproxy; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "lint.sh: ${missing[*]} not installed (scripts/install-deps.sh cluster lint)" >&2
  exit 1
fi
yamllint -s -c "$root/deploy/.yamllint" "$root/deploy/k8s"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# The stats socket's directory may not exist here; check the rest as shipped.
for cfg in "$root/deploy/haproxy/tandem.cfg" "$root/deploy/k8s/haproxy.cfg"; do
  sed "s|stats socket [^ ]*|stats socket $tmp/haproxy.sock|" "$cfg" > "$tmp/haproxy.cfg"
  haproxy -c -q -f "$tmp/haproxy.cfg" || { echo "lint.sh: $cfg is not a valid HAProxy configuration" >&2; exit 1; }
done
/usr/bin/python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$root/deploy/grafana/tandem.json" ||
  { echo "lint.sh: deploy/grafana/tandem.json is not valid JSON" >&2; exit 1; }
echo "lint.sh: deploy/ is clean (yamllint, haproxy -c, dashboard JSON)"
