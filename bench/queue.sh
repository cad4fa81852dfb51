#!/usr/bin/env bash
# Task queues under load (docs/design.md §4.5): the shuffled zoo submitted at
# once over emulated 5.85 and 18.88 mbit uplinks (edge 1 thread, slowdown 4;
# cloud 2 threads), for each policy:
#   edge_only, cloud_only      static plans
#   alone                      each task planned as if alone (Neurosurgeon; --scheduler alone --heavy-backlog 0)
#   alone_heavy                the light/heavy switch (--scheduler alone, 4 waiting)
#   timeline                   the timeline scheduler, mean completion (default)
#   timeline_makespan          the timeline scheduler, tasks asking for the makespan
#   timeline_nocal             the timeline scheduler on the profiles as made (--no-calibrate;
#                              not in the default set: QUEUE_POLICIES="timeline timeline_nocal")
# Then Poisson arrivals at 50/80/95% of the timeline scheduler's measured
# capacity (tasks / makespan) for the same policies.
#
# Usage: bench/queue.sh [OUT_DIR=bench/results/queue]
# Environment: QUEUE_TASKS (40), QUEUE_REPS (3 runs per policy; medians),
#   QUEUE_LINKS ("5.85mbit,one-way=20ms 18.88mbit,one-way=10ms"),
#   QUEUE_POISSON_S (120 s per load level; 0 skips), QUEUE_POISSON_LINK (5.85 mbit),
#   QUEUE_POLICIES (all of the above).
set -euo pipefail
source "$(dirname "$0")/../scripts/daemons.sh"
out="${1:-$root/bench/results/queue}"
mkdir -p "$out"
tasks="${QUEUE_TASKS:-40}"
reps="${QUEUE_REPS:-3}"
links="${QUEUE_LINKS:-5.85mbit,one-way=20ms 18.88mbit,one-way=10ms}"
poisson_s="${QUEUE_POISSON_S:-120}"
poisson_link="${QUEUE_POISSON_LINK:-5.85mbit,one-way=20ms}"
policies="${QUEUE_POLICIES:-edge_only cloud_only alone alone_heavy timeline timeline_makespan}"
models="lenet,alexnet,vgg16,mobilenet_v2,resnet18,resnet50,googlenet"
py=/usr/bin/python3

edge_flags() {
  case "$1" in
    alone) echo "--scheduler alone --heavy-backlog 0" ;;
    alone_heavy) echo "--scheduler alone --heavy-backlog 4" ;;
    timeline_nocal) echo "--scheduler timeline --no-calibrate" ;;
    *) echo "--scheduler timeline" ;;
  esac
}
submit_flags() {
  case "$1" in
    edge_only) echo "--plan edge_only" ;;
    cloud_only) echo "--plan cloud_only" ;;
    timeline_makespan) echo "--objective makespan" ;;
    *) echo "" ;;
  esac
}

# run LABEL LINK POLICY COUNT [extra submit flags...]: one queue, results in $out/LABEL.jsonl
run() {
  local label="$1" link="$2" policy="$3" count="$4"; shift 4
  # shellcheck disable=SC2046
  start_edge "$models" --threads 1 --slowdown 4 --emulate-link "$link" $(edge_flags "$policy") ${QUEUE_EDGE_FLAGS:-}
  sleep 3  # the first probes measure the link before the queue arrives
  # shellcheck disable=SC2046
  "$bin/tandem" submit --edge "127.0.0.1:$control_port" --models "$models" --count "$count" \
    --shuffle --seed 7 --json $(submit_flags "$policy") "$@" > "$out/$label.jsonl" || true
  cp "$work/edge.log" "$out/$label.edge.log"
  # The edge's status after the queue: its compute scales (measured /
  # profiled compute of the last tasks) give the bound at the speed measured.
  if exec 3<>"/dev/tcp/127.0.0.1/$control_port"; then
    printf '{"op":"status"}\n' >&3
    IFS= read -r -t 5 line <&3 && printf '%s\n' "$line" > "$out/$label.status.json" || true
    exec 3>&-
  fi
  stop_edge
}

echo "== cloud_daemon: 2 threads" >&2
start_cloud "$models" 2
uptime > "$out/uptime.txt"
for link in $links; do
  tag="${link%%,*}"
  "$bin/bench_queue_bound" --models "$models" --count "$tasks" --shuffle --seed 7 --link "$link" \
    --profiles "$root/profiles" > "$out/bound-$tag.json"
  for rep in $(seq 1 "$reps"); do
    for policy in $policies; do
      echo "== $link: $policy (run $rep of $reps)" >&2
      run "burst-$tag-$policy-$rep" "$link" "$policy" "$tasks"
    done
  done
  # The same bound with the profiles' costs scaled by the speed the
  # calibrating edges measured (median over the timeline runs).
  if scales=$($py "$root/bench/queue_report.py" scales "$out" "$tag"); then
    read -r edge_scale cloud_scale <<< "$scales"
    "$bin/bench_queue_bound" --models "$models" --count "$tasks" --shuffle --seed 7 --link "$link" \
      --profiles "$root/profiles" --edge-scale "$edge_scale" --cloud-scale "$cloud_scale" > "$out/bound-$tag-measured.json"
  fi
done

if [ "$poisson_s" != 0 ]; then
  tag="${poisson_link%%,*}"
  capacity=$($py "$root/bench/queue_report.py" capacity "$out" "$tag")
  for load in 50 80 95; do
    rate=$($py -c "print(f'{$capacity * $load / 100:.4f}')")
    count=$($py -c "import math; print(max(1, math.ceil($rate * $poisson_s)))")
    for policy in $policies; do
      echo "== Poisson $load% of $capacity tasks/s = $rate tasks/s, $count tasks: $policy" >&2
      run "poisson-$tag-$load-$policy" "$poisson_link" "$policy" "$count" --rate "$rate" --poisson
    done
  done
fi
uptime >> "$out/uptime.txt"
$py "$root/bench/queue_report.py" report "$out" | tee "$out/report.md"
