# shellcheck shell=bash
# Shared by the demo and the daemon benchmarks: start/stop daemons on loopback
# with OS-chosen ports. Source it; it sets $root, $bin, $work and a cleanup trap.
# $work is a fresh temporary directory, removed on exit, unless
# TANDEM_WORK_DIR names one to use and keep.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${TANDEM_BUILD_DIR:-$root/build}/bin"
if [ -n "${TANDEM_WORK_DIR:-}" ]; then
  work="$TANDEM_WORK_DIR" work_owned=0
else
  work="$(mktemp -d)" work_owned=1
fi
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "$work_owned" = 1 ] && rm -rf "$work"
  return 0
}
trap cleanup EXIT
head -c 32 /dev/urandom > "$work/key"
chmod 600 "$work/key"

# wait_port LOG WHAT: prints the port from "<WHAT> on 127.0.0.1:PORT".
wait_port() {
  for _ in $(seq 1 900); do
    if grep -q "$2 on 127.0.0.1:" "$1" 2>/dev/null; then  # the log may not exist yet
      grep -o "$2 on 127.0.0.1:[0-9]*" "$1" | head -1 | sed 's/.*://'
      return 0
    fi
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$1" >&2; return 1; }
    sleep 0.2
  done
  cat "$1" >&2
  return 1
}

# start_cloud MODELS THREADS -> $cloud_port
start_cloud() {
  "$bin/cloud_daemon" --listen 127.0.0.1:0 --threads "$2" --key-file "$work/key" \
    --models "$1" > "$work/cloud.log" 2>&1 &
  pids+=($!)
  cloud_port=$(wait_port "$work/cloud.log" "listening")
}

# start_edge MODELS [extra edge_daemon flags...] -> $control_port
start_edge() {
  local models="$1"; shift
  "$bin/edge_daemon" --cloud "127.0.0.1:$cloud_port" --key-file "$work/key" \
    --profiles "$root/profiles" --control 127.0.0.1:0 --models "$models" "$@" \
    > "$work/edge.log" 2>&1 &
  pids+=($!)
  control_port=$(wait_port "$work/edge.log" "control listening")
}

stop_edge() {
  kill "${pids[-1]}" 2>/dev/null || true
  wait "${pids[-1]}" 2>/dev/null || true
  unset 'pids[-1]'
}
