#!/usr/bin/env bash
# A tandem cluster on loopback: K cloud_daemons behind HAProxy (TCP mode,
# leastconn, health and agent checks; config generated from
# deploy/haproxy/tandem.cfg), N edge_daemons pointed at HAProxy, and a
# Prometheus scraping every daemon's /metrics. Every port is free on
# 127.0.0.1 (the daemons take port 0; HAProxy's and Prometheus's are picked by
# binding and releasing, with retries). Everything it started stops on exit.
#
#   scripts/cluster.sh [options]                 # print the endpoints, run until Ctrl-C
#   scripts/cluster.sh [options] -- COMMAND...   # run COMMAND against the cluster, then stop it
#
# COMMAND gets TANDEM_CLUSTER_ENV, a file of shell variables (source it):
# HAPROXY_PORT, HAPROXY_SOCK, PROM_PORT (empty without Prometheus),
# CLOUD_PIDS, CLOUD_PORTS, CLOUD_AGENT_PORTS, CLOUD_METRICS_PORTS,
# EDGE_PIDS, EDGE_CONTROL_PORTS, EDGE_METRICS_PORTS (space-separated,
# in start order), CLUSTER_DIR (logs: cloudI.log, edgeI.log, haproxy.log,
# prometheus.log) and BIN.
#
# Needs haproxy (and prometheus unless --no-prometheus):
#   scripts/install-deps.sh cluster
set -euo pipefail

usage() {
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'
options:
  --clouds K            cloud daemons (default 3)
  --edges N             edge daemons (default 2)
  --models LIST         models every daemon serves (default resnet18,mobilenet_v2,alexnet,googlenet)
  --cloud-threads N     intra-op threads per cloud (default 1)
  --cloud-workers N     requests each cloud computes at once (default 1)
  --edge-threads N      intra-op threads per edge (default 1)
  --slowdown F          edge compute stretch (default 4, as profiles/edge.json)
  --emulate-link LINKS  shape each edge's uplink, e.g. 5.85mbit,rtt=40ms; several separated by ';'
                        go to the edges in turn (edge i gets link i mod n) (default: none)
  --agent-inter TIME    HAProxy's health and agent check interval (default 1s)
  --drain-grace TIME    each cloud's drain on SIGTERM (default 2s)
  --edge-flags "FLAGS"  more edge_daemon flags for every edge, e.g. "--scheduler alone --heavy-backlog 4"
  --cloud-flags "FLAGS" more cloud_daemon flags for every cloud, e.g. "--max-connections 64"
  --no-prometheus       do not start Prometheus
  --dir DIR             keep logs and configs in DIR (default: a temporary directory, removed)
EOF
}

clouds=3 edges=2 models="resnet18,mobilenet_v2,alexnet,googlenet"
cloud_threads=1 cloud_workers=1 edge_threads=1 slowdown=4 link="" inter=1s grace=2s
prometheus=1 keep_dir=""
edge_extra=() cloud_extra=()
command=()
while [ $# -gt 0 ]; do
  case "$1" in
    --clouds) clouds="$2"; shift 2 ;;
    --edges) edges="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --cloud-threads) cloud_threads="$2"; shift 2 ;;
    --cloud-workers) cloud_workers="$2"; shift 2 ;;
    --edge-threads) edge_threads="$2"; shift 2 ;;
    --slowdown) slowdown="$2"; shift 2 ;;
    --emulate-link) link="$2"; shift 2 ;;
    --agent-inter) inter="$2"; shift 2 ;;
    --drain-grace) grace="$2"; shift 2 ;;
    --edge-flags) read -r -a edge_extra <<< "$2"; shift 2 ;;
    --cloud-flags) read -r -a cloud_extra <<< "$2"; shift 2 ;;
    --no-prometheus) prometheus=0; shift ;;
    --dir) keep_dir="$2"; shift 2 ;;
    --help|-h) usage; exit 0 ;;
    --) shift; command=("$@"); break ;;
    *) echo "cluster.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$clouds" =~ ^[1-9][0-9]*$ && "$edges" =~ ^[0-9]+$ ]] || { echo "cluster.sh: --clouds must be >= 1 and --edges >= 0" >&2; exit 2; }

command -v haproxy >/dev/null || { echo "cluster.sh: haproxy is not installed (scripts/install-deps.sh cluster)" >&2; exit 1; }
if [ "$prometheus" = 1 ] && ! command -v prometheus >/dev/null; then
  echo "cluster.sh: prometheus is not installed (scripts/install-deps.sh cluster, or --no-prometheus)" >&2; exit 1
fi

[ -n "$keep_dir" ] && { mkdir -p "$keep_dir"; export TANDEM_WORK_DIR="$(cd "$keep_dir" && pwd)"; }
# shellcheck source=scripts/daemons.sh
source "$(dirname "$0")/daemons.sh"
[ -x "$bin/cloud_daemon" ] || { echo "cluster.sh: $bin/cloud_daemon not built (scripts/build.sh)" >&2; exit 1; }

edge_pids=() other_pids=()
# Edges first, so their queues drain while the clouds still serve; then the
# rest. Each wait is bounded; a process still there after it is killed.
stop_pids() {
  local p
  for p in "$@"; do kill "$p" 2>/dev/null || true; done
  for _ in $(seq 1 150); do
    local alive=0
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for p in "$@"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}
cleanup() {
  [ ${#edge_pids[@]} -gt 0 ] && stop_pids "${edge_pids[@]}"
  [ ${#other_pids[@]} -gt 0 ] && stop_pids "${other_pids[@]}"
  [ "$work_owned" = 1 ] && rm -rf "$work"
  return 0
}

# A free loopback port: bind to port 0, read it, release it. The caller
# retries if someone takes it in between.
free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# port_of LOG WHAT: like wait_port, for the process just started.
port_of() { wait_port "$1" "$2"; }

cloud_ports=() agent_ports=() cloud_metrics=()
for i in $(seq 1 "$clouds"); do
  "$bin/cloud_daemon" --listen 127.0.0.1:0 --agent 127.0.0.1:0 --metrics 127.0.0.1:0 \
    --threads "$cloud_threads" --workers "$cloud_workers" --drain-grace "$grace" \
    --key-file "$work/key" --models "$models" "${cloud_extra[@]}" > "$work/cloud$i.log" 2>&1 &
  pids+=($!); other_pids+=($!)
done
for i in $(seq 1 "$clouds"); do
  # pids[-1] is what wait_port watches for an early exit: point it at this cloud.
  pids+=("${other_pids[$((i - 1))]}")
  cloud_ports+=("$(port_of "$work/cloud$i.log" "'tandem-cloud' listening")")
  agent_ports+=("$(port_of "$work/cloud$i.log" "agent-check listening")")
  cloud_metrics+=("$(port_of "$work/cloud$i.log" "metrics listening")")
done

# HAProxy: the shipped configuration with this cluster's ports.
servers="$work/servers.cfg"
: > "$servers"
for i in $(seq 1 "$clouds"); do
  echo "    server cloud$i 127.0.0.1:${cloud_ports[$((i - 1))]} agent-port ${agent_ports[$((i - 1))]}" >> "$servers"
done
haproxy_sock="$work/haproxy.sock"
haproxy_port=""
for _ in 1 2 3 4 5; do
  port=$(free_port)
  sed -e "s|^\(    bind \).*|\1127.0.0.1:$port|" \
      -e "s|/run/haproxy/tandem.sock|$haproxy_sock|" \
      -e "s|inter 1s|inter $inter|g" \
      -e "/# BEGIN SERVERS/,/# END SERVERS/{/# BEGIN SERVERS/r $servers" -e '/^    server /d}' \
      "$root/deploy/haproxy/tandem.cfg" > "$work/haproxy.cfg"
  haproxy -db -f "$work/haproxy.cfg" > "$work/haproxy.log" 2>&1 &
  hpid=$!
  # Up when the stats socket answers; a bind failure ends the process: retry.
  for _ in $(seq 1 50); do
    [ -S "$haproxy_sock" ] && break
    kill -0 "$hpid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$hpid" 2>/dev/null && [ -S "$haproxy_sock" ]; then
    haproxy_port=$port; pids+=("$hpid"); other_pids+=("$hpid"); break
  fi
  wait "$hpid" 2>/dev/null || true
done
[ -n "$haproxy_port" ] || { cat "$work/haproxy.log" >&2; echo "cluster.sh: HAProxy did not start (above)" >&2; exit 1; }

edge_control=() edge_metrics=()
links=()
[ -n "$link" ] && IFS=';' read -r -a links <<< "$link"
for i in $(seq 1 "$edges"); do
  link_flag=()
  [ ${#links[@]} -gt 0 ] && link_flag=(--emulate-link "${links[$(( (i - 1) % ${#links[@]} ))]}")
  "$bin/edge_daemon" --cloud "127.0.0.1:$haproxy_port" --key-file "$work/key" --profiles "$root/profiles" \
    --control 127.0.0.1:0 --metrics 127.0.0.1:0 --threads "$edge_threads" --slowdown "$slowdown" \
    --models "$models" "${link_flag[@]}" "${edge_extra[@]}" > "$work/edge$i.log" 2>&1 &
  pids+=($!); edge_pids+=($!)
  edge_control+=("$(port_of "$work/edge$i.log" "control listening")")
  edge_metrics+=("$(port_of "$work/edge$i.log" "metrics listening")")
done

prom_port=""
if [ "$prometheus" = 1 ]; then
  {
    echo "global:"
    echo "  scrape_interval: 1s"
    echo "  evaluation_interval: 1s"
    echo "scrape_configs:"
    echo "  - job_name: tandem_cloud"
    echo "    static_configs:"
    echo "      - targets: [$(printf "'127.0.0.1:%s'," "${cloud_metrics[@]}" | sed 's/,$//')]"
    if [ "$edges" -gt 0 ]; then
      echo "  - job_name: tandem_edge"
      echo "    static_configs:"
      echo "      - targets: [$(printf "'127.0.0.1:%s'," "${edge_metrics[@]}" | sed 's/,$//')]"
    fi
  } > "$work/prometheus.yml"
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus-data" \
      --web.listen-address="127.0.0.1:$port" --log.level=warn > "$work/prometheus.log" 2>&1 &
    ppid_=$!
    for _ in $(seq 1 100); do
      /usr/bin/python3 - "$port" <<'EOF' 2>/dev/null && break
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/-/ready", timeout=1)
EOF
      kill -0 "$ppid_" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$ppid_" 2>/dev/null; then prom_port=$port; pids+=("$ppid_"); other_pids+=("$ppid_"); break; fi
    wait "$ppid_" 2>/dev/null || true
  done
  [ -n "$prom_port" ] || { cat "$work/prometheus.log" >&2; echo "cluster.sh: Prometheus did not start (above)" >&2; exit 1; }
fi

cat > "$work/cluster.env" <<EOF
BIN='$bin'
CLUSTER_DIR='$work'
HAPROXY_PORT=$haproxy_port
HAPROXY_SOCK='$haproxy_sock'
PROM_PORT=$prom_port
CLOUD_PIDS='${other_pids[*]:0:$clouds}'
CLOUD_PORTS='${cloud_ports[*]}'
CLOUD_AGENT_PORTS='${agent_ports[*]}'
CLOUD_METRICS_PORTS='${cloud_metrics[*]}'
EDGE_PIDS='${edge_pids[*]}'
EDGE_CONTROL_PORTS='${edge_control[*]}'
EDGE_METRICS_PORTS='${edge_metrics[*]}'
EOF

echo "cluster: $clouds cloud(s) on ${cloud_ports[*]} (agents ${agent_ports[*]}), HAProxy on 127.0.0.1:$haproxy_port" \
     "(stats socket $haproxy_sock), $edges edge(s) with control ports ${edge_control[*]}" \
     "${prom_port:+, Prometheus on http://127.0.0.1:$prom_port}" >&2
if [ ${#command[@]} -gt 0 ]; then
  TANDEM_CLUSTER_ENV="$work/cluster.env" "${command[@]}"
else
  echo "cluster: endpoints in $work/cluster.env; Ctrl-C stops everything" >&2
  while sleep 3600; do :; done
fi
