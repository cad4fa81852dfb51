#!/usr/bin/env bash
# tandem's executor against LibTorch from Python (issue 16), side by side in
# one run: for every zoo model and four imported TorchScript models, at 1 and
# 2 intra-op threads, the whole model and both sides of a mid cut, the median
# of 7 interleaved runs of Python's eager default, torch.utils.mkldnn,
# torch.jit.optimize_for_inference, and tandem's executor (optimised and
# plain). Prints a Markdown table and tandem / best Python (goal <= 1.05).
# Needs Debian's python3-torch and python3-torchvision; about 10 minutes.
#
# Usage: bench/executor_vs_python.sh [--runs 7] [--threads 1,2] [--models a,b]
#                                    [--sides whole,edge,cloud] [--samples FILE]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${TANDEM_BUILD_DIR:-$root/build}"
cmake --build "$build" --target bench_executor_worker -j2 >/dev/null
echo "# executor vs Python: $(date -u +%FT%TZ), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)," \
     "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 "$root/bench/executor_vs_python.py" --worker "$build/bin/bench_executor_worker" "$@"
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
