#!/usr/bin/env bash
# Per-request overhead on loopback without link emulation: for alexnet and
# resnet18 at their planned cuts, the median over N requests of
#   measured end-to-end - (edge compute + cloud compute)
# (the 'ovh p50' column of tandem submit). Requests run one at a time
# (--no-pipeline) so nothing queues. Usage: bench/overhead.sh [N=100]
set -euo pipefail
source "$(dirname "$0")/../scripts/daemons.sh"
n="${1:-100}"
start_cloud alexnet,resnet18 1
start_edge alexnet,resnet18 --threads 1 --no-pipeline --probe-interval 500ms
sleep 2  # first probes measure the loopback link
for model in alexnet resnet18; do
  echo "== $model: $n requests at the planned cut (loopback, no emulation)"
  "$bin/tandem" submit --edge "127.0.0.1:$control_port" --models "$model" --count "$n" \
    | grep -E "^(model|all) "
done
