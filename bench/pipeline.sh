#!/usr/bin/env bash
# Tasks/s of a saturating queue with pipelining on and off, at a forced cut
# where the edge and cloud stages are comparable (resnet18 split after
# layer2, edge 1 thread, cloud 1 thread, no emulation). Usage:
#   bench/pipeline.sh [TASKS=60] [CUT=auto-chosen]
set -euo pipefail
source "$(dirname "$0")/../scripts/daemons.sh"
tasks="${1:-60}"
cut="${2:-}"
model=resnet18
if [ -z "$cut" ]; then
  # The articulation cut after layer2 splits resnet18's compute roughly in half.
  last=$("$bin/tandem" models --show "$model" | awk '$2 == "layer2.1.relu2" {print $1}')
  cut="cut:0-$last"
fi
start_cloud "$model" 1
for mode in on off; do
  flags=(--threads 1 --heavy-backlog 0)
  [ "$mode" = off ] && flags+=(--no-pipeline)
  start_edge "$model" "${flags[@]}"
  echo "== pipelining $mode: $tasks tasks of $model at $cut"
  "$bin/tandem" submit --edge "127.0.0.1:$control_port" --models "$model" --count "$tasks" \
    --plan "$cut" | tail -2 | head -1
  stop_edge
done
