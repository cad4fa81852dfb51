#!/usr/bin/python3
"""The spread of the edges' compute in a bench/cluster.sh run, as the sigma of
`tandem simulate --noise` (a log-normal factor on every compute time).

Over every task computed on an edge, r = edge_ms / predicted_edge_ms (what
the edge's side took against what its profile predicted). The simulator
draws exp(sigma * z), z standard normal; a sigma whose 95th percentile is
the measured one is ln(p95(r) / p50(r)) / 1.645. The tail is what matters
for a simulated p95, and this VM's is heavy (a 4x-slowed edge stretches a
stall four times), so the sigma is fitted to it, not to the spread's core.

Usage: bench/cluster/noise.py RUN_DIR   (e.g. bench/results/cluster/steady)
Prints the sigma; with --verbose also the ratios' quantiles.
"""
import glob
import math
import os
import sys

from analyse import load_lines  # bench/cluster/analyse.py: result lines, blanks and comments skipped


def main():
    args = [a for a in sys.argv[1:] if a != "--verbose"]
    if len(args) != 1:
        sys.exit("usage: bench/cluster/noise.py RUN_DIR [--verbose]")
    run = args[0]
    ratios = []
    for path in sorted(glob.glob(os.path.join(run, "results*.jsonl"))):
        for r in load_lines(path):
            if r.get("ok") and r.get("predicted_edge_ms", 0) > 0 and r.get("edge_ms", 0) > 0:
                ratios.append(r["edge_ms"] / r["predicted_edge_ms"])
    if len(ratios) < 20:
        sys.exit(f"noise.py: {run}: {len(ratios)} tasks computed on an edge; need at least 20")
    ratios.sort()
    q = lambda p: ratios[round(p * (len(ratios) - 1))]
    sigma = max(math.log(q(0.95) / q(0.5)) / 1.645, 0.0)
    if "--verbose" in sys.argv:
        print(f"{run}: {len(ratios)} edge sides, measured / predicted p05 {q(0.05):.3f} p50 {q(0.5):.3f} "
              f"p95 {q(0.95):.3f} max {ratios[-1]:.2f}", file=sys.stderr)
    print(f"{sigma:.3f}")


if __name__ == "__main__":
    main()
