#!/usr/bin/python3
"""The simulator's validation over repeated measured runs.

One saturation run's throughput is 180 tasks over its slowest edge's
finish, and that finish turns on a single decision (README, "Validating
the simulator"), so one run against one simulation compares two draws.
This takes the validations of several measured runs of the same
scenarios — each simulated with its own background and speed by
`bench/simulate.sh validate --measured RUN --out SIM` — and gives, per
scenario, the median measured and simulated p95 and throughput, their
difference, and in how many runs each was within the tolerance.

Usage: bench/cluster/validate_runs.py [--tolerance 0.15] [--json OUT] SIM_DIR...
(each SIM_DIR holds the validation.json `bench/simulate.sh validate` wrote).
"""
import argparse
import json
import os
import statistics
import sys


def load(sim_dir):
    path = os.path.join(sim_dir, "validation.json")
    try:
        with open(path) as f:
            rows = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"validate_runs.py: {path}: {e} (run bench/simulate.sh validate --measured RUN --out {sim_dir})")
    if not isinstance(rows, list):
        sys.exit(f"validate_runs.py: {path}: expected a list of rows")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tolerance", type=float, default=0.15, help="relative difference that counts as within (0.15)")
    ap.add_argument("--json", help="also write the table as JSON here")
    ap.add_argument("sims", nargs="+", metavar="SIM_DIR")
    a = ap.parse_args()
    if not 0 < a.tolerance < 1:
        sys.exit("validate_runs.py: --tolerance must be between 0 and 1")

    by_run = {}  # scenario -> list of (measured p95, simulated p95, measured t/s, simulated t/s)
    for d in a.sims:
        for r in load(d):
            try:
                by_run.setdefault(r["run"], []).append(
                    (r["measured_p95_ms"], r["simulated_p95_ms"], r["measured_tasks_per_s"], r["simulated_tasks_per_s"]))
            except KeyError as e:
                sys.exit(f"validate_runs.py: {d}/validation.json: a row without {e}")

    diff = lambda m, s: s / m - 1 if m > 0 else float("inf")
    out = []
    print(f"{'run':18} {'runs':>4}  {'p95 ms meas':>11} {'sim':>9} {'diff':>7} {'within':>6}  "
          f"{'tasks/s meas':>12} {'sim':>7} {'diff':>7} {'within':>6}")
    for name, rows in by_run.items():
        n = len(rows)
        mp, sp = statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)
        mt, st = statistics.median(r[2] for r in rows), statistics.median(r[3] for r in rows)
        wp = sum(abs(diff(r[0], r[1])) <= a.tolerance for r in rows)
        wt = sum(abs(diff(r[2], r[3])) <= a.tolerance for r in rows)
        out.append({"run": name, "runs": n, "measured_p95_ms_median": mp, "simulated_p95_ms_median": sp,
                    "p95_diff_of_medians": diff(mp, sp), "p95_runs_within": wp,
                    "measured_tasks_per_s_median": mt, "simulated_tasks_per_s_median": st,
                    "throughput_diff_of_medians": diff(mt, st), "throughput_runs_within": wt,
                    "throughput_diffs": [diff(r[2], r[3]) for r in rows], "p95_diffs": [diff(r[0], r[1]) for r in rows]})
        print(f"{name:18} {n:4d}  {mp:11.1f} {sp:9.1f} {diff(mp, sp):+7.1%} {wp:3d}/{n:<2d}  "
              f"{mt:12.2f} {st:7.2f} {diff(mt, st):+7.1%} {wt:3d}/{n:<2d}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"tolerance": a.tolerance, "sims": a.sims, "rows": out}, f, indent=1)


if __name__ == "__main__":
    main()
