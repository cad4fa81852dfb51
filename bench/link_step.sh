#!/usr/bin/env bash
# The link changes under load (docs/design.md §4.5): resnet18 at 1.5 tasks/s
# (edge 1 thread, slowdown 4; cloud 2 threads) over two network namespaces
# joined by a veth pair, a tc tbf on the edge's veth stepping the uplink
# 40 -> 3 -> 40 mbit at 20 s and 40 s (60 s in all; the 20 ms one-way delay is
# the edge daemon's emulated delay: this kernel has no netem). Reports how
# long after each step the plans match the new best plan, the worst latency
# after the drop against the new plan's latency plus one transfer on the
# wire, and plots latency and placement over time.
#
# Usage: bench/link_step.sh [OUT_DIR=bench/results/link_step]
# Environment: STEP_HIGH (40mbit), STEP_LOW (3mbit), STEP_AT (20: seconds per
#   phase), STEP_RATE (1.5 tasks/s), STEP_MODEL (resnet18), STEP_EDGE_FLAGS.
# Needs root (namespaces, tc); everything it makes is removed on exit.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${TANDEM_BUILD_DIR:-$root/build}/bin"
out="${1:-$root/bench/results/link_step}"
high="${STEP_HIGH:-40mbit}"
low="${STEP_LOW:-3mbit}"
phase="${STEP_AT:-20}"
rate="${STEP_RATE:-1.5}"
model="${STEP_MODEL:-resnet18}"
one_way=20ms
edge_ns=tandem-step-edge
cloud_ns=tandem-step-cloud
edge_addr=10.78.0.1
cloud_addr=10.78.0.2
source "$root/bench/netns.sh"
mkdir -p "$out"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  teardown_netns
  rm -rf "$work"
}
trap cleanup EXIT
if ! setup_netns; then
  echo "link_step: needs root and iproute2 to make network namespaces" >&2
  exit 1
fi
head -c 32 /dev/urandom > "$work/key"
chmod 600 "$work/key"

wait_port() {  # LOG WHAT
  for _ in $(seq 1 900); do
    if grep -q "$2 on [0-9.]*:" "$1"; then
      grep -o "$2 on [0-9.]*:[0-9]*" "$1" | head -1 | sed 's/.*://'
      return 0
    fi
    sleep 0.2
  done
  cat "$1" >&2
  return 1
}

shape_uplink "$high"
ip netns exec "$cloud_ns" "$bin/cloud_daemon" --listen "$cloud_addr:0" --threads 2 --key-file "$work/key" \
  --models "$model" > "$work/cloud.log" 2>&1 &
pids+=($!)
cloud_port=$(wait_port "$work/cloud.log" "listening")
# shellcheck disable=SC2086
ip netns exec "$edge_ns" "$bin/edge_daemon" --cloud "$cloud_addr:$cloud_port" --key-file "$work/key" \
  --profiles "$root/profiles" --control 127.0.0.1:0 --models "$model" --threads 1 --slowdown 4 \
  --emulate-link "one-way=$one_way" --log-level debug ${STEP_EDGE_FLAGS:-} > "$work/edge.log" 2>&1 &
pids+=($!)
control_port=$(wait_port "$work/edge.log" "control listening")
sleep 3  # first probes

count=$(/usr/bin/python3 -c "print(int($rate * 3 * $phase))")
start=$(date +%s.%N)
ip netns exec "$edge_ns" "$bin/tandem" submit --edge "127.0.0.1:$control_port" --models "$model" \
  --count "$count" --rate "$rate" --json --timeout 300 > "$out/results.jsonl" &
submit=$!
sleep "$phase"
shape_uplink "$low"
drop=$(date +%s.%N)
sleep "$phase"
shape_uplink "$high"
rise=$(date +%s.%N)
wait "$submit" || true
cp "$work/edge.log" "$out/edge.log"

# The best plans at each rate, from the planner with the edge's RTT.
for r in "$high" "$low"; do
  "$bin/tandem" plan --model "$model" --bandwidth "$r" --rtt "$(( ${one_way%ms} * 2 ))ms" --json \
    > "$out/plan-$r.json"
done
cat > "$out/meta.json" <<JSON
{"start": $start, "drop": $drop, "rise": $rise, "rate": $rate, "high": "$high", "low": "$low",
 "model": "$model", "uptime": "$(uptime | sed 's/.*load average: //')"}
JSON
/usr/bin/python3 "$root/bench/link_step_report.py" "$out" | tee "$out/report.md"
