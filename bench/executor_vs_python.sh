#!/usr/bin/env bash
# tandem's executor against LibTorch from Python (issue 16), side by side in
# one run: for every zoo model and four imported TorchScript models, at 1 and
# 2 intra-op threads, the whole model and both sides of a mid cut, the median
# of 7 interleaved runs of Python's eager default, torch.utils.mkldnn,
# torch.jit.optimize_for_inference, and tandem's executor (optimised and
# plain). Prints a Markdown table and tandem / best Python (goal <= 1.05);
# a row above 0.95 is re-timed as a pair, tandem against the Python path that
# won, in fresh alternating rounds that decide it (the best of three noisy
# medians is biased low).
# Needs Debian's python3-torch and python3-torchvision; about 14 minutes
# (2026-12-04, the VM 2x slower than its profiles).
#
# --keep-cores-awake runs one busy loop per core at nice 19 for the length of
# the benchmark. On a virtual machine an idle vCPU is halted by the guest and
# descheduled by the host; waking it for a parallel region's second thread
# took ~10 ms here (2026-12-03: every variant, Python's as well as tandem's,
# ran 2-thread models either at ~4 ms or at ~14 ms, at random). A nice-19 loop
# keeps the vCPUs running and yields to any real thread at once; it costs the
# timed code about 1.5% of a core (CFS weight 15 against 1024).
#
# tandem's programs run on jemalloc (CMakeLists.txt, TANDEM_JEMALLOC); Python
# on glibc's malloc unless --python-jemalloc preloads jemalloc into it too
# (LD_PRELOAD, what PyTorch's performance guide suggests). The table's first
# line names both.
#
# Usage: bench/executor_vs_python.sh [--runs 7] [--confirm-runs 14] [--threads 1,2] [--models a,b]
#                                    [--sides whole,edge,cloud] [--samples FILE]
#                                    [--keep-cores-awake] [--python-jemalloc]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${TANDEM_BUILD_DIR:-$root/build}"
args=() awake=0 preload=()
for a in "$@"; do
  case "$a" in
    --keep-cores-awake) awake=1 ;;
    --python-jemalloc)
      lib=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
      [[ -e $lib ]] || { echo "executor_vs_python: --python-jemalloc needs $lib (apt install libjemalloc2)" >&2; exit 2; }
      preload=(env "LD_PRELOAD=$lib") ;;
    *) args+=("$a") ;;
  esac
done
cmake --build "$build" --target bench_executor_worker -j2 >/dev/null
echo "# executor vs Python: $(date -u +%FT%TZ), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)," \
     "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)," \
     "cores kept awake: $([[ $awake == 1 ]] && echo yes || echo no)"
spinners=()
stop_spinners() { [[ ${#spinners[@]} -gt 0 ]] && kill "${spinners[@]}" 2>/dev/null; return 0; }
trap stop_spinners EXIT
if [[ $awake == 1 ]]; then
  for _ in $(seq "$(nproc)"); do nice -n 19 sh -c 'while :; do :; done' & spinners+=($!); done
fi
${preload[@]+"${preload[@]}"} /usr/bin/python3 "$root/bench/executor_vs_python.py" --worker "$build/bin/bench_executor_worker" ${args[@]+"${args[@]}"}
stop_spinners; spinners=()
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
