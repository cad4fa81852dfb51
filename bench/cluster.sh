#!/usr/bin/env bash
# The cloud tier measured on loopback (README "Cloud tier"), through
# scripts/cluster.sh: K cloud_daemons behind HAProxy, 6 edge_daemons with a
# 4G-like mix of emulated uplinks (1.1 / 5.85 / 18.88 mbit, 40 ms RTT, in
# turn), a mixed queue of resnet18, mobilenet_v2, alexnet and googlenet.
#
#   bench/cluster.sh failover   # 3 clouds, 6 edges at --rate tasks/s each for --minutes; cloud 1
#                               # killed at 1/3, cloud 2 drained (SIGTERM) at 2/3: tasks lost, every
#                               # output against local execution, HAProxy's stats every second
#   bench/cluster.sh scaling    # throughput of a saturating queue with 1, 2, 3 clouds (auto and cloud_only)
#   bench/cluster.sh steady     # 2 clouds, 6 edges at --rate for --minutes, no failures (simulator check)
#   bench/cluster.sh all
#
# --clouds LIST limits scaling to those cloud counts (e.g. --clouds 1 or
# --clouds 1,3; default 1,2,3), and a --plan given with scaling runs only
# that plan's queues (default both auto and cloud_only).
# --plan P gives the failover and steady queues another plan than auto (e.g.
# cloud_only, so that the killed and drained clouds hold requests when the
# planner would keep everything on the edges); use another --out with it.
#
# The six submits start in step (tandem submit --start-at): a queue sent at
# once everywhere at the same instant, a --rate queue from a seeded random
# phase per edge, written to arrival_offsets.txt for bench/simulate.sh.
# Each run writes to --out (default bench/results/cluster/): the edges'
# result lines, HAProxy's stats samples, CPU seconds per process, the
# machine's compute speed against the profiles before and after the run
# (bench/cluster/speed.py, speed.json), and a
# summary JSON that bench/cluster/analyse.py prints; bench/simulate.sh
# simulates the same scenarios. Needs haproxy (scripts/install-deps.sh cluster).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${TANDEM_BUILD_DIR:-$root/build}/bin"
py=/usr/bin/python3

models="resnet18,mobilenet_v2,alexnet,googlenet"
links="1.1mbit,rtt=40ms;5.85mbit,rtt=40ms;18.88mbit,rtt=40ms"
edges=6
cluster_flags=(--edges "$edges" --models "$models" --emulate-link "$links" --cloud-threads 2 --no-prometheus)

# queue FILE EDGE COUNT PLAN: COUNT tasks cycling through the models; ids
# unique across edges; 8 input seeds per model so the reference is small.
queue() {
  "$py" - "$@" "$models" <<'EOF'
import json, sys
path, edge, count, plan, models = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5].split(",")
with open(path, "w") as f:
    for i in range(count):
        f.write(json.dumps({"task": edge * 100000 + i, "model": models[i % len(models)], "seed": 1 + (i // len(models)) % 8,
                            "plan": plan, "return_outputs": True}) + "\n")
EOF
}

# cpu_of PID: utime + stime of the process in seconds (nothing once it has exited).
cpu_of() {
  [ -r "/proc/$1/stat" ] && awk -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); print ($12 + $13) / hz}' "/proc/$1/stat"
}
# cpu_used PID...: CPU seconds since cpu_start[PID] was taken, summed over the
# processes still running (a killed cloud's share is lost with it).
declare -A cpu_start=()
cpu_used() {
  local total=0 p now
  for p in "$@"; do
    now=$(cpu_of "$p") || continue
    [ -n "${cpu_start[$p]:-}" ] && total=$(awk -v t="$total" -v n="$now" -v s="${cpu_start[$p]}" 'BEGIN { printf "%.3f", t + n - s }')
  done
  echo "$total"
}
# busy_seconds: CPU seconds the whole machine spent busy so far (every process, ours or not).
busy_seconds() { awk -v hz="$(getconf CLK_TCK)" '/^cpu /{print ($2 + $3 + $4 + $7 + $8) / hz}' /proc/stat; }

# The part that runs inside scripts/cluster.sh: $1 = run name, $2 = plan,
# $3 = tasks per edge, $4 = rate ("" = all at once), then failures "SIGNAL:CLOUD@SECONDS".
inner() {
  # shellcheck disable=SC1090
  source "$TANDEM_CLUSTER_ENV"
  local name="$1" plan="$2" count="$3" r="$4"; shift 4
  local dir="$out/$name"
  rm -rf "$dir"  # a run's samples and logs are appended to: start empty
  mkdir -p "$dir"
  read -r -a ctl <<< "$EDGE_CONTROL_PORTS"
  read -r -a cpids <<< "$CLOUD_PIDS"
  read -r -a epids <<< "$EDGE_PIDS"
  # HAProxy's view every second: status, weight (the agents'), sessions.
  ( for _ in $(seq 1 "$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 * 3 + 300 }')"); do
      "$py" - "$HAPROXY_SOCK" <<'EOF' >> "$dir/haproxy_stats.csv" 2>/dev/null || true
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1]); s.sendall(b"show stat\n")
data = b""
while chunk := s.recv(65536): data += chunk
for line in data.decode().splitlines():
    if line.startswith("# "): header = line[2:].split(",")
    elif line.startswith("tandem_clouds,cloud"):
        row = dict(zip(header, line.split(",")))
        print(f"{time.time():.1f},{row['svname']},{row['status']},{row['weight']},{row['scur']},{row['agent_status']},{row['agent_desc']}")
EOF
      sleep 1
    done ) &
  local sampler=$!
  local i
  for i in $(seq 0 $(( ${#ctl[@]} - 1 ))); do queue "$dir/queue$i.jsonl" "$i" "$count" "$plan"; done
  # Every submit starts at t0 plus its edge's offset (tandem submit
  # --start-at), recorded for bench/simulate.sh: a queue submitted at once
  # starts everywhere at t0; at a rate, each edge from a seeded random phase
  # in [0, 1/rate), as edges that were not started together would.
  "$py" - "${#ctl[@]}" "${r:-0}" "$name" > "$dir/arrival_offsets.txt" <<'EOF'
import random, sys
n, rate, name = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
rng = random.Random(name)
print("\n".join(f"{rng.uniform(0, 1 / rate) if rate > 0 else 0:.6f}" for _ in range(n)))
EOF
  local offsets
  mapfile -t offsets < "$dir/arrival_offsets.txt"
  # The machine's speed against the profiles, the daemons idle (for tandem
  # simulate --edge-compute-scale / --cloud-compute-scale).
  "$py" "$root/bench/cluster/speed.py" "$bin/tandem" "$root/profiles" "$dir/speed.json" before
  local busy0 t0
  t0=$(echo "$(date +%s.%N) + 5" | bc)  # time for six submits to start and connect
  # The machine's other load during the run, from t0 (runnable threads not
  # ours, by nice; our daemons' non-compute threads by their CPU) for tandem
  # simulate --host-background-trace.
  "$py" "$root/bench/cluster/background.py" "$dir/background.txt" "$t0" "${cpids[@]}" "${epids[@]}" &
  local background=$!
  local subs=()
  for i in $(seq 0 $(( ${#ctl[@]} - 1 ))); do
    local rate_flag=()
    [ -n "$r" ] && rate_flag=(--rate "$r")
    "$bin/tandem" submit --edge "127.0.0.1:${ctl[$i]}" --queue "$dir/queue$i.jsonl" "${rate_flag[@]}" --json \
      --start-at "$(echo "$t0 + ${offsets[$i]}" | bc)" --timeout 1800 > "$dir/results$i.jsonl" 2> "$dir/submit$i.err" &
    subs+=($!)
  done
  local wait_s
  wait_s=$(echo "$t0 - $(date +%s.%N)" | bc)
  case "$wait_s" in -*) echo "cluster.sh: the submits took over 5 s to start" >&2 ;; *) sleep "$wait_s" ;; esac
  local p
  for p in "${cpids[@]}" "${epids[@]}"; do cpu_start[$p]=$(cpu_of "$p" || true); done
  busy0=$(busy_seconds)
  local f
  for f in "$@"; do
    local sig="${f%%:*}" rest="${f#*:}"
    local cloud="${rest%%@*}" at="${rest#*@}"
    ( sleep "$at"; echo "$(date +%s.%N) $sig cloud$cloud" >> "$dir/failures.log"
      kill "-$sig" "${cpids[$((cloud - 1))]}" 2>/dev/null || true ) &
  done
  local failed=0
  for i in "${subs[@]}"; do wait "$i" || failed=$((failed + 1)); done
  local t1 cpu_c cpu_e busy1
  t1=$(date +%s.%N); cpu_c=$(cpu_used "${cpids[@]}"); cpu_e=$(cpu_used "${epids[@]}"); busy1=$(busy_seconds)
  kill "$sampler" 2>/dev/null || true
  kill "$background" 2>/dev/null || true
  wait "$background" 2>/dev/null || true
  "$py" "$root/bench/cluster/speed.py" "$bin/tandem" "$root/profiles" "$dir/speed.json" after
  cat > "$dir/run.json" <<EOF
{"name": "$name", "plan": "$plan", "edges": ${#ctl[@]}, "clouds": ${#cpids[@]}, "tasks_per_edge": $count,
 "rate": "${r:-all at once}", "failures": "$*", "wall_s": $(echo "$t1 - $t0" | bc), "submit_failures": $failed,
 "cpu_s_daemons": $(awk -v c="$cpu_c" -v e="$cpu_e" 'BEGIN { printf "%.3f", c + e }'), "cpu_s_clouds": $cpu_c, "cpu_s_edges": $cpu_e,
 "cpu_s_machine": $(echo "$busy1 - $busy0" | bc),
 "background_threads": $(cut -d' ' -f1 "$dir/background.txt"), "background_threads_unweighted": $(cut -d' ' -f2 "$dir/background.txt"),
 "daemon_other_cores": $(cut -d' ' -f4 "$dir/background.txt"),
 "loadavg_after": "$(cut -d' ' -f1-3 /proc/loadavg)"}
EOF
  cp "$CLUSTER_DIR"/*.log "$dir/" 2>/dev/null || true
}

if [ "${TANDEM_CLUSTER_INNER:-}" = 1 ]; then
  out="$TANDEM_BENCH_OUT" minutes="$TANDEM_BENCH_MINUTES"
  inner "$@"
  exit 0
fi

what="${1:-}"
[ -n "$what" ] && shift
minutes=2 rate=1 out="$root/bench/results/cluster" per_edge=30 edge_flags="" plan=auto plan_given=0 clouds_list="1,2,3"
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --per-edge) per_edge="$2"; shift 2 ;;
    --edge-flags) edge_flags="$2"; shift 2 ;;
    --plan) plan="$2"; plan_given=1; shift 2 ;;
    --clouds) clouds_list="$2"; shift 2 ;;
    *) echo "cluster.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
case "$what" in failover|scaling|steady|all) ;; *)
  echo "usage: bench/cluster.sh failover|scaling|steady|all [--minutes M] [--rate R] [--per-edge N] [--out DIR] [--edge-flags \"FLAGS\"] [--plan P] [--clouds 1,2,3]" >&2; exit 2 ;;
esac
case "$clouds_list" in
  *[!0-9,]*|"") echo "cluster.sh: --clouds takes cloud counts separated by commas (e.g. 1,3), not '$clouds_list'" >&2; exit 2 ;;
esac
mkdir -p "$out"
out="$(cd "$out" && pwd)"


run_cluster() {  # CLOUDS NAME PLAN COUNT RATE FAILURES...
  local clouds="$1"; shift
  TANDEM_CLUSTER_INNER=1 TANDEM_BENCH_OUT="$out" TANDEM_BENCH_MINUTES="$minutes" \
    "$root/scripts/cluster.sh" --clouds "$clouds" "${cluster_flags[@]}" ${edge_flags:+--edge-flags "$edge_flags"} -- "$0" "$@"
}

# The reference: every (model, seed) the queues used, run whole on an edge
# daemon with no cloud (the executor split tests already pin split == whole).
reference() {
  [ -s "$out/reference.jsonl" ] && return 0
  local work
  work="$(mktemp -d)"
  "$py" - "$models" > "$out/reference_queue.jsonl" <<'EOF'
import json, sys
task = 0
for m in sys.argv[1].split(","):
    for seed in range(1, 9):
        print(json.dumps({"task": task, "model": m, "seed": seed, "plan": "edge_only", "return_outputs": True}))
        task += 1
EOF
  "$bin/edge_daemon" --no-cloud --profiles "$root/profiles" --control 127.0.0.1:0 --models "$models" --threads 2 \
    > "$work/edge.log" 2>&1 &
  local pid=$!
  local port=""
  for _ in $(seq 1 900); do
    port=$(grep -o "control listening on 127.0.0.1:[0-9]*" "$work/edge.log" | sed 's/.*://' || true)
    [ -n "$port" ] && break
    sleep 0.2
  done
  "$bin/tandem" submit --edge "127.0.0.1:$port" --queue "$out/reference_queue.jsonl" --json > "$out/reference.jsonl"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}

per_minute=$(echo "$rate * 60 * $minutes" | bc | cut -d. -f1)
third=$(echo "$minutes * 20" | bc)
if [ "$what" = failover ] || [ "$what" = all ]; then
  run_cluster 3 failover "$plan" "$per_minute" "$rate" "KILL:1@$third" "TERM:2@$(echo "$third * 2" | bc)"
fi
if [ "$what" = steady ] || [ "$what" = all ]; then
  run_cluster 2 steady "$plan" "$per_minute" "$rate"
fi
if [ "$what" = scaling ] || [ "$what" = all ]; then
  for c in ${clouds_list//,/ }; do
    if [ "$plan_given" = 0 ] || [ "$plan" = auto ]; then run_cluster "$c" "scaling-auto-$c" auto "$per_edge" ""; fi
    if [ "$plan_given" = 0 ] || [ "$plan" = cloud_only ]; then run_cluster "$c" "scaling-cloud-$c" cloud_only "$per_edge" ""; fi
  done
fi
reference
"$py" "$root/bench/cluster/analyse.py" "$out"
