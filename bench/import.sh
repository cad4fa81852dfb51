#!/usr/bin/env bash
# The TorchScript importer's figures (issue 11): import time, tandem's
# executor against Module::forward on the same model (1 thread), plan time,
# and whole-model latency predicted for models the profiles never timed, raw
# and calibrated for the machine's speed at the moment by zoo anchors run
# between the timed runs (the daemons' planner::ComputeMonitor).
# Exports the models with Debian's python3-torch/torchvision (random weights).
# Usage: bench/import.sh [RUNS=15]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${TANDEM_BUILD_DIR:-$root/build}"
runs="${1:-15}"
cmake --build "$build" --target bench_import -j2 >/dev/null
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 "$root/bench/export_import_models.py" "$dir" >/dev/null
image=1x3x224x224
models="chain1000.pt:1x8x16x16"
for m in resnet18 mobilenet_v2 googlenet mobilenet_v3_small efficientnet_b0 shufflenet_v2_x1_0 squeezenet1_1 \
         resnet50 densenet121 regnet_x_400mf; do
  models="$models;ts_$m.pt:$image"
done
"$build/bin/bench_import" --dir "$dir" --models "$models" --runs "$runs" --profiles "$root/profiles"
