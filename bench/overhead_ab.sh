#!/usr/bin/env bash
# Before/after for the per-request overhead: runs bench/overhead.sh on two
# builds in turn (A B A B ...), ROUNDS times each, and prints every run's
# 'ovh p50' per model with the load average before it, then the median of the
# runs per build and model and the ratio of the medians. Interleaving keeps
# the comparison fair on a machine whose load drifts.
# Usage: bench/overhead_ab.sh BUILD_A BUILD_B [ROUNDS=5] [N=60]
#   BUILD_A, BUILD_B: build directories holding bin/{edge_daemon,cloud_daemon,tandem}
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
[ $# -ge 2 ] || { echo "usage: $0 BUILD_A BUILD_B [ROUNDS=5] [N=60]" >&2; exit 2; }
a="$1" b="$2" rounds="${3:-5}" n="${4:-60}"
for d in "$a" "$b"; do
  for exe in edge_daemon cloud_daemon tandem; do
    [ -x "$d/bin/$exe" ] || { echo "$d/bin/$exe is missing: build it first" >&2; exit 1; }
  done
done
[[ "$rounds" =~ ^[1-9][0-9]?$ ]] || { echo "ROUNDS must be 1..99, got '$rounds'" >&2; exit 2; }
[[ "$n" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "N must be 1..9999, got '$n'" >&2; exit 2; }
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for r in $(seq 1 "$rounds"); do
  for side in A B; do
    dir="$a"; [ "$side" = B ] && dir="$b"
    load="$(cut -d' ' -f1 /proc/loadavg)"
    out="$(TANDEM_BUILD_DIR="$dir" "$here/overhead.sh" "$n")"
    # "== MODEL/PLAN: ..." then the summary's 'all' row: 'ovh p50' is its column 12.
    echo "$out" | awk -v side="$side" -v r="$r" -v load="$load" \
      '$1 == "==" { model = $2; sub(/:$/, "", model) }
       $1 == "all" && NF >= 12 { printf "%s %s %s %s %s\n", side, r, model, $12, load }' \
      | tee -a "$results"
  done
done
echo "== medians over $rounds runs of $n requests (A: $a, B: $b)"
/usr/bin/python3 - "$results" <<'EOF'
import statistics, sys
runs = {}
loads = []
for line in open(sys.argv[1]):
    side, _, model, ovh, load = line.split()
    if ovh != "-":
        runs.setdefault((model, side), []).append(float(ovh))
    loads.append(float(load))
for model in sorted({m for m, _ in runs}):
    a = runs.get((model, "A"), [])
    b = runs.get((model, "B"), [])
    if not a or not b:
        print(f"{model}: missing runs (A {len(a)}, B {len(b)})")
        continue
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"{model:10s} A median {ma:7.3f} ms  B median {mb:7.3f} ms  A/B {ma / mb:5.2f}  "
          f"(A runs {' '.join(f'{x:.2f}' for x in a)}; B runs {' '.join(f'{x:.2f}' for x in b)})")
print(f"load average (1 min) before the runs: {min(loads):.1f} .. {max(loads):.1f}")
EOF
