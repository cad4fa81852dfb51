#!/usr/bin/python3
"""A measured bench/cluster.sh run beside its simulation, task by task.

Per edge: when its last result came, its placements, and the model and
placement of that last task — a saturation run's throughput is 180 tasks
over the slowest edge's finish. Then the edge-only tasks' edge compute
(wall, stretch included), median by model and by when they were
dispatched, measured against simulated: where the simulated host's sharing
departs from the machine's. Times count from each task's submission, which
for a queue sent at once (the saturation runs, what this is for) is the
run's start; for a run at a rate they are latencies and waits instead.

usage: bench/cluster/compare_tasks.py RUN_DIR SIM_TASKS_CSV [--buckets 1.5,3.5]
  RUN_DIR        e.g. bench/results/cluster/scaling-auto-1 (results*.jsonl)
  SIM_TASKS_CSV  bench/simulate.sh validate's OUT/RUN.tasks.csv for that run
"""
import argparse
import collections
import csv
import glob
import os
import statistics
import sys

from analyse import load_lines  # bench/cluster/analyse.py: result lines, blanks and comments skipped


def measured_tasks(run_dir):
    """(edge, model, placement, dispatched s, finished s, edge ms) per result line, s from submission."""
    paths = sorted(glob.glob(os.path.join(run_dir, "results*.jsonl")))
    if not paths:
        sys.exit(f"compare_tasks.py: no results*.jsonl in {run_dir}")
    out = []
    for path in paths:
        edge = int(os.path.basename(path)[len("results"):-len(".jsonl")])
        for r in load_lines(path):
            if r.get("ok"):
                out.append((edge, r["model"], r["placement"], r["queue_ms"] / 1e3,
                            (r["queue_ms"] + r["measured_ms"]) / 1e3, r["edge_ms"]))
    return out


def simulated_tasks(path):
    if not os.path.exists(path):
        sys.exit(f"compare_tasks.py: no {path} (bench/simulate.sh validate writes OUT/RUN.tasks.csv)")
    out = []
    with open(path) as f:
        for r in csv.DictReader(f):
            if float(r["done_s"]) < 0:
                continue  # lost
            out.append((int(r["edge"]), r["model"], r["placement"], float(r["start_s"]) - float(r["arrival_s"]),
                        float(r["done_s"]) - float(r["arrival_s"]), float(r["edge_ms"])))
    return out


def per_edge(tasks):
    by_edge = collections.defaultdict(list)
    for t in tasks:
        by_edge[t[0]].append(t)
    rows = {}
    for edge, ts in by_edge.items():
        last = max(ts, key=lambda t: t[4])
        rows[edge] = (last[4], collections.Counter(t[2] for t in ts), f"{last[1]} {last[2]}")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("sim_csv")
    ap.add_argument("--buckets", default="1.5,3.5", help="dispatch-time bucket edges in s (default 1.5,3.5)")
    args = ap.parse_args()
    edges_s = sorted(float(b) for b in args.buckets.split(",") if b)
    meas, sim = measured_tasks(args.run_dir), simulated_tasks(args.sim_csv)

    print("per edge: last result at (s), placements edge_only/split/cloud_only, last task")
    m_rows, s_rows = per_edge(meas), per_edge(sim)
    for edge in sorted(set(m_rows) | set(s_rows)):
        for label, rows in (("measured", m_rows), ("simulated", s_rows)):
            if edge not in rows:
                continue
            done, placements, last = rows[edge]
            split = "/".join(str(placements.get(p, 0)) for p in ("edge_only", "split", "cloud_only"))
            print(f"  edge {edge} {label:<9} {done:7.2f}  {split:<9} {last}")

    def bucket(t):
        lo = 0.0
        for b in edges_s:
            if t < b:
                return f"{lo:g}-{b:g} s"
            lo = b
        return f"{lo:g} s+"

    print("edge-only tasks, edge compute (ms, median) by model and dispatch time: measured / simulated (count)")
    groups = collections.defaultdict(lambda: ([], []))
    for i, tasks in enumerate((meas, sim)):
        for _, model, placement, start, _, edge_ms in tasks:
            if placement == "edge_only":
                groups[(model, bucket(start))][i].append(edge_ms)
    for (model, b), (m, s) in sorted(groups.items()):
        fm = f"{statistics.median(m):.0f} ({len(m)})" if m else "-"
        fs = f"{statistics.median(s):.0f} ({len(s)})" if s else "-"
        print(f"  {model:<14} {b:<10} {fm:>10} / {fs}")


if __name__ == "__main__":
    main()
