#!/usr/bin/python3
"""Where the machine's CPU goes during a cluster run, thread by thread.

record: every 50 ms, each thread of the cluster's processes (edge_daemon,
cloud_daemon, haproxy, tandem) with its CPU time and its time waiting on a
run queue, in ns (/proc/PID/task/TID/schedstat: Linux's own per-thread
accounting, finer than the 10 ms ticks of /proc/PID/stat), until SECONDS
have passed. Start it, then the run (bench/cluster.sh scaling --out DIR).
The sampling itself costs a few percent of a core.

report: per role (process and thread name: edge:edge-compute,
edge:tandem-client, cloud:tandem-worker, haproxy, ...), the cores each
used and the cores' worth of time its threads spent runnable but waiting,
in buckets from the first moment an edge's compute thread got busy (the
first saturation run's start, when every edge starts at once); then each
edge's compute thread alone, with the CPU it mostly ran on per bucket.

usage: bench/cluster/threads.py record OUT SECONDS
       bench/cluster/threads.py report OUT [--bucket 0.5] [--from -1] [--to 9] [--roles 12]
"""
import argparse
import collections
import os
import sys
import time

PROCESSES = ("edge_daemon", "cloud_daemon", "haproxy", "tandem")


def record(path, seconds):
    t0 = time.time()
    with open(path, "w") as out:
        while time.time() - t0 < seconds:
            now = time.time()
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    comm = open(f"/proc/{pid}/comm").read().strip()
                    if comm not in PROCESSES:
                        continue
                    for tid in os.listdir(f"/proc/{pid}/task"):
                        name = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
                        run_ns, wait_ns, _ = open(f"/proc/{pid}/task/{tid}/schedstat").read().split()
                        # field 39 of stat: the CPU the thread last ran on
                        cpu = open(f"/proc/{pid}/task/{tid}/stat").read().rsplit(")", 1)[1].split()[36]
                        out.write(f"{now:.3f} {pid} {comm} {tid} {name} {run_ns} {wait_ns} {cpu}\n")
                except (OSError, ValueError):
                    continue  # gone between listing and reading
            time.sleep(0.05)


def report(path, bucket, start, end, top):
    series, role = collections.defaultdict(list), {}
    cpus = collections.defaultdict(list)  # tid: (time, last CPU), records since 2026-12-05
    for line in open(path):
        t, _, comm, tid, name, run_ns, wait_ns, *cpu = line.split()
        series[tid].append((float(t), int(run_ns), int(wait_ns)))
        if cpu:
            cpus[tid].append((float(t), int(cpu[0])))
        role[tid] = {"edge_daemon": "edge:", "cloud_daemon": "cloud:"}.get(comm, comm + ":") + name
    busy = [a[0] for tid, s in series.items() if role[tid] == "edge:edge-compute"
            for a, b in zip(s, s[1:]) if b[1] - a[1] > 5e6]
    if not busy:
        sys.exit("threads.py: no edge compute thread got busy in this record")
    t0 = min(busy)
    n = int(round((end - start) / bucket))
    used = collections.defaultdict(lambda: [0.0] * n)
    waited = collections.defaultdict(lambda: [0.0] * n)
    for tid, s in series.items():
        for (t1, r1, w1), (t2, r2, w2) in zip(s, s[1:]):
            k = int((t1 - t0 - start) // bucket)
            if 0 <= k < n:
                used[role[tid]][k] += (r2 - r1) / 1e9 / bucket
                waited[role[tid]][k] += (w2 - w1) / 1e9 / bucket
    print(f"cores used / cores' worth of run-queue wait, per {bucket:g} s from the first busy edge "
          f"compute thread ({sum(1 for r in role.values() if r == 'edge:edge-compute')} edges)")
    print(f"{'from (s)':<26}" + "".join(f"{start + k * bucket:>6.1f}" for k in range(n)))
    for r in sorted(used, key=lambda r: -sum(used[r]))[:top]:
        print(f"{r:<22}used" + "".join(f"{v:>6.2f}" for v in used[r]))
        print(f"{'':<22}wait" + "".join(f"{v:>6.2f}" for v in waited[r]))
    if not cpus:
        return
    # Each edge's compute thread alone: the cores it used, and the CPU it was
    # last seen on in each bucket (the one it was on in most of that bucket's
    # samples where it had run since the sample before) - whether the
    # scheduler keeps an edge on one core or spreads the edges evenly.
    print("edge compute threads, one by one: cores used, and the CPU each ran on most (- : did not run)")
    print(f"{'from (s)':<26}" + "".join(f"{start + k * bucket:>6.1f}" for k in range(n)))
    for tid in sorted(t for t in series if role[t] == "edge:edge-compute"):
        own = [0.0] * n
        seen = [collections.Counter() for _ in range(n)]
        for (t1, r1, _), (t2, r2, _), (_, c2) in zip(series[tid], series[tid][1:], cpus[tid][1:]):
            k = int((t1 - t0 - start) // bucket)
            if 0 <= k < n:
                own[k] += (r2 - r1) / 1e9 / bucket
                if r2 > r1:
                    seen[k][c2] += 1
        print(f"{'edge ' + tid:<22}used" + "".join(f"{v:>6.2f}" for v in own))
        print(f"{'':<22}cpu " + "".join(f"{c.most_common(1)[0][0] if c else '-':>6}" for c in seen))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["record", "report"])
    ap.add_argument("path")
    ap.add_argument("seconds", nargs="?", type=float)
    ap.add_argument("--bucket", type=float, default=0.5)
    ap.add_argument("--from", dest="start", type=float, default=-1.0)
    ap.add_argument("--to", dest="end", type=float, default=9.0)
    ap.add_argument("--roles", type=int, default=12)
    a = ap.parse_args()
    if a.what == "record":
        if not a.seconds or a.seconds <= 0:
            ap.error("record needs SECONDS > 0")
        record(a.path, a.seconds)
    else:
        if not (a.bucket > 0 and a.end > a.start):
            ap.error("--bucket must be above 0 and --to after --from")
        report(a.path, a.bucket, a.start, a.end, a.roles)


if __name__ == "__main__":
    main()
