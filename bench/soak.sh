#!/usr/bin/env bash
# Soak: 16 edge daemons and one cloud daemon on loopback for MINUTES
# (default 10), each edge fed a shuffled queue of light zoo models by its own
# `tandem submit` at a steady rate, while the cloud is killed (SIGKILL) and
# restarted on the same port every 2 minutes and, once, stopped (SIGSTOP) for
# 10 s and continued. Every 10 s it samples each daemon's resident memory
# (VmRSS in /proc/PID/status) and open file descriptors (/proc/PID/fd).
#
# Usage: bench/soak.sh [MINUTES]
# Output (bench/results/soak/, or $TANDEM_SOAK_OUT): tasks.csv (one row per
# result), resources.csv (one row per daemon per sample), events.csv (kills,
# stops, restarts) and report.md (sent / answered / lost, latency
# percentiles, memory and descriptors after warm-up vs at the end).
# Environment: TANDEM_BUILD_DIR (binaries, default build/), TANDEM_SOAK_EDGES
# (16), TANDEM_SOAK_RATE (tasks/s per edge, 0.5), TANDEM_SOAK_MODELS
# (lenet,resnet18,mobilenet_v2,alexnet), TANDEM_SOAK_OUT.
set -euo pipefail
minutes="${1:-10}"
[[ "$minutes" =~ ^[0-9]+$ ]] && [ "$minutes" -ge 1 ] || { echo "usage: bench/soak.sh [MINUTES >= 1]" >&2; exit 2; }
source "$(dirname "$0")/../scripts/daemons.sh"
# A stopped cloud would never act on daemons.sh's SIGTERM: continue it first.
trap '[ -n "${cloud_pid:-}" ] && kill -CONT "$cloud_pid" 2>/dev/null; cleanup' EXIT
edges="${TANDEM_SOAK_EDGES:-16}"
rate="${TANDEM_SOAK_RATE:-0.5}"
models="${TANDEM_SOAK_MODELS:-lenet,resnet18,mobilenet_v2,alexnet}"
out="${TANDEM_SOAK_OUT:-$root/bench/results/soak}"
for exe in cloud_daemon edge_daemon tandem; do
  [ -x "$bin/$exe" ] || { echo "soak: $bin/$exe missing: run scripts/build.sh first" >&2; exit 1; }
done
mkdir -p "$out"
duration=$((minutes * 60))
count=$(python3 -c "import math; print(max(1, math.floor($duration * $rate)))")
t0=$(date +%s)
now() { echo $(( $(date +%s) - t0 )); }
event() { echo "$(now),$1" >> "$out/events.csv"; echo "soak: [$(now) s] $1" >&2; }
echo "t_s,event" > "$out/events.csv"

# The cloud: one worker, one thread (16 edges and it share 2 cores). Port 0
# first, then the same port on every restart.
cloud_pid=""
run_cloud() {
  "$bin/cloud_daemon" --listen "127.0.0.1:$1" --threads 1 --workers 1 --key-file "$work/key" \
    --models "$models" >> "$work/cloud.log" 2>&1 &
  cloud_pid=$!
  pids+=("$cloud_pid")
}
run_cloud 0
cloud_port=$(wait_port "$work/cloud.log" "listening")
event "cloud started on port $cloud_port (pid $cloud_pid)"

# The edges: one LibTorch thread each; a 3 s deadline on the cloud part, so a
# stopped cloud makes tasks fall back instead of waiting it out.
edge_pids=() edge_ports=()
for i in $(seq 1 "$edges"); do
  "$bin/edge_daemon" --cloud "127.0.0.1:$cloud_port" --key-file "$work/key" --profiles "$root/profiles" \
    --control 127.0.0.1:0 --models "$models" --threads 1 --deadline 3s > "$work/edge$i.log" 2>&1 &
  pids+=($!)
  edge_pids+=($!)
  # Four at a time: model loading is the heavy part of a start.
  if [ $((i % 4)) -eq 0 ] || [ "$i" -eq "$edges" ]; then
    for j in $(seq $((i - (i - 1) % 4)) "$i"); do edge_ports[$j]=$(wait_port "$work/edge$j.log" "control listening"); done
  fi
done
event "$edges edges up"

echo "$cloud_pid" > "$work/cloud.pid"
# Resource sampler: every 10 s, every daemon (the cloud under its current pid).
sample() {
  local name="$1" pid="$2" rss fds
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || return 0
  fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
  [ -n "$rss" ] && echo "$(now),$name,$pid,$rss,$fds" >> "$out/resources.csv"
}
echo "t_s,daemon,pid,rss_kb,fds" > "$out/resources.csv"
(
  while true; do
    sample cloud "$(cat "$work/cloud.pid" 2>/dev/null || echo 0)"
    for i in $(seq 1 "$edges"); do sample "edge$i" "${edge_pids[$((i - 1))]}"; done
    sleep 10
  done
) &
sampler=$!
pids+=("$sampler")

# Submitters: one `tandem submit` per edge for the whole run.
t_start=$(now)
event "submitting $count tasks per edge at $rate/s ($models)"
submitters=()
for i in $(seq 1 "$edges"); do
  "$bin/tandem" submit --edge "127.0.0.1:${edge_ports[$i]}" --models "$models" --count "$count" --shuffle \
    --seed "$i" --rate "$rate" --timeout $((duration + 180)) --json > "$work/submit$i.jsonl" 2> "$work/submit$i.err" &
  submitters+=($!)
  pids+=($!)
done

# Chaos: SIGSTOP for 10 s one minute in; SIGKILL and restart every 2 minutes.
stopped_once=0
next_kill=$((t_start + 120))
while [ "$(now)" -lt $((t_start + duration)) ]; do
  if [ "$stopped_once" = 0 ] && [ "$(now)" -ge $((t_start + 60)) ]; then
    kill -STOP "$cloud_pid"; event "cloud SIGSTOP (pid $cloud_pid)"
    sleep 10
    kill -CONT "$cloud_pid"; event "cloud SIGCONT (pid $cloud_pid)"
    stopped_once=1
  fi
  if [ "$(now)" -ge "$next_kill" ] && [ "$(now)" -lt $((t_start + duration - 5)) ]; then
    kill -KILL "$cloud_pid"; wait "$cloud_pid" 2>/dev/null || true
    event "cloud SIGKILL (pid $cloud_pid)"
    run_cloud "$cloud_port"
    echo "$cloud_pid" > "$work/cloud.pid"
    event "cloud restarted on port $cloud_port (pid $cloud_pid)"
    next_kill=$((next_kill + 120))
  fi
  sleep 1
done
event "submission window over; waiting for the last results"
for p in "${submitters[@]}"; do wait "$p" || true; done
event "all submitters done"
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true

# tasks.csv from every submitter's JSON results.
echo "edge,task,model,ok,fallback,placement,latency_ms" > "$out/tasks.csv"
for i in $(seq 1 "$edges"); do
  python3 - "$i" "$work/submit$i.jsonl" >> "$out/tasks.csv" <<'PY'
import json, sys
edge, path = sys.argv[1], sys.argv[2]
for line in open(path):
    line = line.strip()
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    print(f"{edge},{r['task']},{r['model']},{int(r['ok'])},{int(r['fallback'])},{r['placement']},"
          f"{r['measured_ms'] + r['queue_ms']:.3f}")
PY
done
python3 "$root/bench/soak_report.py" "$out" "$edges" "$count" "$minutes" "$rate" "$models"
cat "$out/report.md"
