#!/usr/bin/env bash
# Profiles the per-request overhead (bench/overhead.sh's set-up: loopback, no
# emulation, requests one at a time) with perf: samples both daemons' call
# stacks while N requests of each model run, sent whole (cloud_only: the
# planner keeps them on the edge over loopback), and writes one flame graph per
# daemon to bench/results/overhead/ (SVG, plus the folded stacks), and the
# 'tandem submit' summaries next to them.
# Usage: bench/overhead_profile.sh [N=200] [MODELS=alexnet,resnet18]
# Needs perf (Debian: linux-perf) and permission to profile other processes
# (root, or kernel.perf_event_paranoid <= 1).
set -euo pipefail
source "$(dirname "$0")/../scripts/daemons.sh"
n="${1:-200}"
models="${2:-alexnet,resnet18}"
out="$root/bench/results/overhead"
freq="${PERF_FREQ:-997}"
command -v perf >/dev/null || { echo "perf not found: install linux-perf" >&2; exit 1; }
mkdir -p "$out"

start_cloud "$models" 1
cloud_pid="${pids[0]}"
start_edge "$models" --threads 1 --no-pipeline --probe-interval 500ms
edge_pid="${pids[1]}"
sleep 2  # first probes measure the loopback link

# Warm up (first requests allocate and fault in pages), then profile.
IFS=, read -ra model_list <<< "$models"
for model in "${model_list[@]}"; do
  "$bin/tandem" submit --edge "127.0.0.1:$control_port" --models "$model" --count 10 --plan cloud_only > /dev/null
done
for side in edge cloud; do
  pid_var="${side}_pid"
  perf record -F "$freq" --call-graph dwarf,16384 -p "${!pid_var}" -o "$work/$side.data" \
    > "$work/perf-$side.log" 2>&1 &
  perf_pids+=($!)
done
sleep 1  # perf attaches
{
  echo "# $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)"
  for model in "${model_list[@]}"; do
    echo "== $model/cloud_only: $n requests one at a time (loopback, no emulation)"
    "$bin/tandem" submit --edge "127.0.0.1:$control_port" --models "$model" --count "$n" --plan cloud_only --max-in-flight 1 | grep -E "^(model|all) "
  done
  echo "# after: load: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/summary.txt"
for p in "${perf_pids[@]}"; do kill -INT "$p"; done
for p in "${perf_pids[@]}"; do wait "$p" || true; done
for side in edge cloud; do
  perf script -i "$work/$side.data" 2>/dev/null |
    /usr/bin/python3 "$root/bench/flame.py" --title "${side}_daemon: $n requests each of $models, loopback (perf -F $freq)" \
      --folded "$out/$side.folded" --out "$out/$side.svg"
done
