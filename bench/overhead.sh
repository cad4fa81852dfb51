#!/usr/bin/env bash
# Per-request overhead on loopback without link emulation: the median over N
# requests of
#   measured - (edge compute + cloud compute + uplink and cloud queueing)
# (the 'ovh p50' column of tandem submit), for requests that use the cloud:
# alexnet and resnet18 sent whole (cloud_only, 602 KB each) and alexnet split
# after its third layer (187 KB). On loopback with equal threads the planner
# keeps both models on the edge, where there is no overhead to measure, so
# the plans are fixed. Requests run one at a time (--max-in-flight 1). First
# bench/loopback_bw.py times the same byte counts over a bare loopback socket.
# Usage: bench/overhead.sh [N=100]
set -euo pipefail
source "$(dirname "$0")/../scripts/daemons.sh"
n="${1:-100}"
# The goal's 'bytes / loopback bandwidth' term, measured here and now.
/usr/bin/python3 "$root/bench/loopback_bw.py" 602112 187000
start_cloud alexnet,resnet18 1
start_edge alexnet,resnet18 --threads 1 --no-pipeline --probe-interval 500ms
sleep 2  # first probes measure the loopback link
for run in alexnet:cloud_only alexnet:split:3 resnet18:cloud_only; do
  model="${run%%:*}" plan="${run#*:}"
  echo "== $model/$plan: $n requests (loopback, no emulation)"
  "$bin/tandem" submit --edge "127.0.0.1:$control_port" --models "$model" --count "$n" --plan "$plan" \
    --max-in-flight 1 --quiet | grep -E "^(model|all) "
done
