# shellcheck shell=bash
# Two network namespaces joined by a veth pair, for benchmarks that need a
# real shaped link (tc tbf on the edge's veth). Source it, set edge_ns,
# cloud_ns (and optionally the device names / addresses) first; then
# `setup_netns` (returns non-zero when the kernel or privileges do not allow
# it) and `teardown_netns`. The addresses exist only inside the namespaces.
edge_dev="${edge_dev:-veth-edge}"
cloud_dev="${cloud_dev:-veth-cloud}"
edge_addr="${edge_addr:-10.77.0.1}"
cloud_addr="${cloud_addr:-10.77.0.2}"

teardown_netns() {
  ip netns del "$edge_ns" 2>/dev/null || true
  ip netns del "$cloud_ns" 2>/dev/null || true
}

setup_netns() {
  teardown_netns
  [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && command -v tc >/dev/null || return 1
  ip netns add "$edge_ns" &&
    ip netns add "$cloud_ns" &&
    ip -n "$edge_ns" link add "$edge_dev" type veth peer name "$cloud_dev" netns "$cloud_ns" &&
    ip -n "$edge_ns" addr add "$edge_addr/24" dev "$edge_dev" &&
    ip -n "$cloud_ns" addr add "$cloud_addr/24" dev "$cloud_dev" &&
    ip -n "$edge_ns" link set lo up &&
    ip -n "$cloud_ns" link set lo up &&
    ip -n "$edge_ns" link set "$edge_dev" up &&
    ip -n "$cloud_ns" link set "$cloud_dev" up &&
    tc -n "$edge_ns" qdisc replace dev "$edge_dev" root tbf rate 1mbit burst 4096 latency 1s &&
    tc -n "$edge_ns" qdisc del dev "$edge_dev" root
}

# shape_uplink RATE: a tbf qdisc at RATE (e.g. 3mbit) on the edge's veth.
shape_uplink() {
  tc -n "$edge_ns" qdisc replace dev "$edge_dev" root tbf rate "$1" burst 32kb latency 1s
}
