#!/usr/bin/env bash
# Every torchvision classification model (up to 150M parameters) at its usual
# input size: traced with Debian's python3-torchvision (random weights),
# imported, compared with Module::forward, split at articulation and random
# cuts. Usage: bench/torchvision_all.sh [MAX_PARAMS=150e6] [NAME_REGEX]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${TANDEM_BUILD_DIR:-$root/build}"
cmake --build "$build" --target bench_import -j2 >/dev/null
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 "$root/bench/export_torchvision_all.py" "$dir" "${1:-150e6}" ${2:+"$2"} >&2
"$build/bin/bench_import" --check-dir "$dir"
