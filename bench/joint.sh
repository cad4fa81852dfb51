#!/usr/bin/env bash
# Joint inference and compressed crossings on Fashion-MNIST (issue 15):
# trains the little and big models when the model directory has none, builds
# bench_joint and the daemons, and runs it. Results: bench/results/joint/
# (report.md, CSV files, plots/, codec_accuracy.json).
#
# Usage: bench/joint.sh [--models DIR] [bench_joint flags...]
#   --models DIR   the model directory (default $TANDEM_BUILD_DIR/fmnist-models; trained there if empty)
#   e.g. --samples 2000 --codec-samples 200 --latency-samples 50   (a quick run)
#        --offline-only                                             (no daemons)
# Environment: TANDEM_BUILD_DIR (default build/).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${TANDEM_BUILD_DIR:-$root/build}"
models="$build/fmnist-models"
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --models) models="$2"; shift ;;
    --models=*) models="${1#--models=}" ;;
    *) pass+=("$1") ;;
  esac
  shift
done

if [ ! -f "$models/fmnist_little.pt" ] || [ ! -f "$models/fmnist_big.pt" ]; then
  echo "joint: training the models into $models (seeded; a few minutes of CPU)" >&2
  /usr/bin/python3 "$root/bench/joint/train_fashion_mnist.py" "$models"
fi
if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" --target bench_joint edge_daemon cloud_daemon -j2

commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
cd "$root"
exec "$build/bin/bench_joint" --model-dir "$models" --profiles "$root/profiles" --bin-dir "$build/bin" \
  --out "$root/bench/results/joint" --commit "$commit" --command "bench/joint.sh ${pass[*]:-}" "${pass[@]}"
