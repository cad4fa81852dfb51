#!/usr/bin/env bash
# Installs the Debian 12 packages tandem builds and runs with.
# Quiet and quick when everything is already present; uses sudo when not root.
# Usage: scripts/install-deps.sh [GROUP...]   extra groups, only when asked:
#   fuzz      clang/libFuzzer (scripts/fuzz.sh)
#   sanitize  g++'s sanitizer runtimes (scripts/sanitize.sh)
#   cluster   haproxy and prometheus (scripts/cluster.sh, bench/cluster.sh,
#             the e2e_cluster and e2e_prometheus tests, which skip without them)
#   lint      yamllint (scripts/lint.sh)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev            # LibTorch 1.13 (CPU): zoo, executor, profiler
  libopenblas0-openmp     # without it LibTorch runs on the slow reference BLAS
  libjemalloc-dev         # the allocator of programs that run models (CMakeLists.txt)
  libboost-dev            # Asio, Graph (max-flow)
  libeigen3-dev           # latency regressions
  libcxxopts-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libssl-dev              # HMAC-SHA256 handshake auth
  libzstd-dev             # zstd codecs for crossing tensors
  zlib1g-dev              # reading the gzipped Fashion-MNIST files (tandem submit --dataset)
  dataset-fashion-mnist   # the data set the joint-inference benchmark and --dataset use
  prometheus-cpp-dev      # metric types and the Prometheus text format of both daemons
  python3-torch python3-torchvision  # tests and benchmarks export TorchScript files (random weights)
  libgtest-dev libbenchmark-dev
  iproute2                # ip netns / tc for the shaped-link benchmark
)
for group in "$@"; do
  case "$group" in
    fuzz) packages+=(clang-16 libfuzzer-16-dev libclang-rt-16-dev libomp-16-dev) ;;  # libFuzzer, ASan/UBSan runtimes, clang's OpenMP (CMakeLists needs OpenMP)
    sanitize) packages+=(libasan8 libubsan1 libtsan2) ;;               # g++ 12's sanitizer runtimes
    cluster) packages+=(haproxy prometheus) ;;                         # the cloud tier and its scraper
    lint) packages+=(yamllint) ;;                                      # deploy/ manifests
    *) echo "install-deps: unknown group '$group' (known: fuzz, sanitize, cluster, lint)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
