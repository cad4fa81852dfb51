#!/usr/bin/env bash
# The evaluation (issue 7): the planner against the measured oracle for every
# zoo model × uplink, through both daemons, on a real shaped link when
# possible. Builds bench_evaluate, sets up the link, runs it; results go to
# bench/results/ (bench/results/quick/ with --quick).
#
# Usage: bench/evaluate.sh [--quick] [--emulated] [bench_evaluate flags...]
#   --quick      lenet, alexnet, resnet18 on 5.85 and 100 mbit, 3 runs
#   --emulated   skip the namespaces; use the edge daemon's --emulate-link
#   e.g. --models alexnet,resnet18 --links '1.1mbit,rtt=40ms;5.85mbit,rtt=40ms' --runs 7 --top-k 5
#        --estimate-only (print the expected duration and exit)
# Environment: TANDEM_BUILD_DIR (default build/).
#
# Link: as root, two network namespaces (tandem-eval-edge, tandem-eval-cloud)
# joined by a veth pair with addresses 10.77.0.1 / 10.77.0.2 that exist only
# inside them; bench_evaluate runs in the edge's namespace, starts cloud_daemon
# in the cloud's and puts a tbf qdisc (rate) on the edge's veth for each link;
# the one-way delay is netem when the kernel has it, else the edge daemon's
# emulated delay. Without root or namespace support it falls back to the
# emulated link and the report says so. The namespaces are removed on exit.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${TANDEM_BUILD_DIR:-$root/build}"
edge_ns=tandem-eval-edge
cloud_ns=tandem-eval-cloud
mode=netns
out=""
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --emulated) mode=emulated ;;
    --out) out="$2"; shift ;;
    --out=*) out="${1#--out=}" ;;
    --quick) pass+=("$1"); [ -n "$out" ] || out="$root/bench/results/quick" ;;
    *) pass+=("$1") ;;
  esac
  shift
done
[ -n "$out" ] || out="$root/bench/results"

if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" --target bench_evaluate edge_daemon cloud_daemon -j2

for f in edge.json cloud.json; do
  if [ ! -f "$root/profiles/$f" ] && ! printf '%s\n' "${pass[@]}" | grep -q -- '--profiles'; then
    echo "evaluate: $root/profiles/$f is missing (make it with tandem profile, or pass --profiles DIR)" >&2
    exit 1
  fi
done

source "$root/bench/netns.sh"

if [ "$mode" = netns ]; then
  err="$(mktemp)"
  if ! setup_netns 2>"$err"; then
    echo "evaluate: cannot make network namespaces with a tbf veth (not root, no iproute2, or: $(tail -1 "$err")): using the emulated link" >&2
    teardown_netns
    mode=emulated
  fi
  rm -f "$err"
fi
trap teardown_netns EXIT

commit="$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)"
git -C "$root" diff --quiet HEAD 2>/dev/null || commit="$commit (uncommitted changes)"
args=(--commit "$commit" --profiles "$root/profiles" --out "$out" --bin-dir "$build/bin"
      --work-dir "$(mktemp -d /tmp/tandem-evaluate.XXXXXX)")
mkdir -p "$out"
if [ "$mode" = netns ]; then
  ip netns exec "$edge_ns" "$build/bin/bench_evaluate" --link-mode netns \
    --edge-netns "$edge_ns" --cloud-netns "$cloud_ns" --edge-dev "$edge_dev" --cloud-dev "$cloud_dev" \
    --cloud-addr "$cloud_addr" "${args[@]}" "${pass[@]}"
else
  "$build/bin/bench_evaluate" --link-mode emulated "${args[@]}" "${pass[@]}"
fi
