#!/usr/bin/env bash
# The main job: install, build, start cloud_daemon and edge_daemon on
# loopback with the shipped profiles, submit a 40-task queue of the zoo over an
# emulated 4G-like uplink (5.85 mbit, 20 ms one-way), then the same queue over
# a Wi-Fi-like uplink (18.88 mbit) so the change of plans is visible; shut
# everything down.
#
# Environment: TANDEM_DEMO_TASKS (default 40), TANDEM_BUILD_DIR.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
echo "demo: building (first time: several minutes)..." >&2
"$root/scripts/build.sh" >/dev/null
tasks="${TANDEM_DEMO_TASKS:-40}"
models="lenet,alexnet,vgg16,mobilenet_v2,resnet18,resnet50,googlenet"

source "$root/scripts/daemons.sh"

echo "== starting cloud_daemon (2 threads)"
start_cloud "$models" 2
echo "   cloud on 127.0.0.1:$cloud_port"

run_queue() {
  local label="$1" link="$2"
  echo
  echo "== edge_daemon (1 thread, slowdown 4) over an emulated $label uplink: $link"
  start_edge "$models" --threads 1 --slowdown 4 --emulate-link "$link"
  # Let the first probes measure the link before planning.
  sleep 3
  echo "== submitting $tasks tasks at once (shuffled zoo): each row shows predicted/measured ms;"
  echo "   'done' counts from submission, predicted when the task was queued"
  "$bin/tandem" submit --edge "127.0.0.1:$control_port" --models "$models" --count "$tasks" \
    --shuffle --seed 7
  stop_edge
}

run_queue "4G-like" "5.85mbit,one-way=20ms"
run_queue "Wi-Fi-like" "18.88mbit,one-way=10ms"
echo
echo "== done; shutting down"
