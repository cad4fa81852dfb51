#!/usr/bin/python3
"""How a LibTorch job (two threads, as a cloud, or one, as an edge) slows beside the company a cluster run gives it.

The simulator's shared host (docs/design.md §13, simulator/host.hpp) needs
the speed of a w-thread OpenMP job among other runnable threads. This
measures it on this machine: a target (torchvision resnet18, 2 intra-op
threads, runs 20 ms apart) timed while edge-like processes (resnet18 at one
thread, each run followed by a sleep of 3x its time: an edge slowed 4x),
cloud-like processes (resnet18 at 2 threads, back to back) and bursty
cloud-like ones (2 threads, each run followed by a sleep of 2x its time: a
cloud that computes a third of the time, as in a cluster's saturation runs)
run beside it.
Configurations are interleaved over --rounds; it prints each one's mean run
time over the rounds' means and its ratio to the target alone, with what the
two co-scheduling models say (the edges busy a quarter of the time and the
bursty clouds a third, binomially): the simulator's per-core run queues
(simulator/host.cpp: each thread 1/queue of its core, a w-thread job the
product over its threads) and one pool of cores (each thread N/D of a core,
a w-thread job (N/D)^w; the simulator's model until 2026-12-04).

--target-threads 1 times the target at one intra-op thread, as an edge
computes (default 2, as a cloud).

--spin also measures how long libgomp's barrier spins before its thread
sleeps (one thread 0.1-100 ms late to a barrier; the waiting one's CPU time).

--target alexnet-classifier times alexnet's three linear layers (the cloud
tail of a cut after its features; memory-bound) instead of resnet18;
--target resnet18@112 / resnet18@64 times resnet18 on a 112x112 / 64x64
input (a quarter / a twelfth of the work: a job as short as a cloud tail
in tandem's executor, a few ms, against a time slice of a few ms);
--target mobilenet_v2 / googlenet time those models (154 / 198 nodes of
small, memory-bound operators against resnet18's 70 heavier ones).

Usage: coschedule.py [--rounds 3] [--runs 30] [--target resnet18|alexnet-classifier|resnet18@112|resnet18@64|mobilenet_v2|googlenet]
                     [--target-threads 1|2] [--spin]
Needs /usr/bin/python3 with torch and torchvision (python3-torch,
python3-torchvision); --spin needs g++. Run it on an otherwise idle machine.
"""
import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

PY = "/usr/bin/python3"
# (edges, clouds back to back, bursty clouds)
CONFIGS = [(0, 0, 0), (3, 0, 0), (6, 0, 0), (0, 1, 0), (6, 1, 0), (0, 2, 0), (0, 0, 2), (6, 0, 2)]


def worker(role, runs, target="resnet18", target_threads=2):
    import torch
    import torchvision
    torch.set_num_threads(1 if role == "edge" else target_threads if role == "target" else 2)
    if role == "target" and target == "alexnet-classifier":
        m, x = torchvision.models.alexnet().classifier.eval(), torch.randn(1, 9216)
    elif role == "target" and target in ("mobilenet_v2", "googlenet"):
        m, x = getattr(torchvision.models, target)(**({"aux_logits": False, "init_weights": False} if target == "googlenet" else {})).eval(), torch.randn(1, 3, 224, 224)
    elif role == "target" and target.startswith("resnet18@"):
        side = int(target.split("@")[1])
        m, x = torchvision.models.resnet18().eval(), torch.randn(1, 3, side, side)
    else:
        m, x = torchvision.models.resnet18().eval(), torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        if role == "edge":
            while True:
                t = time.perf_counter()
                m(x)
                time.sleep(3 * (time.perf_counter() - t))
        if role == "cloud":
            while True:
                m(x)
        if role == "bursty":
            while True:
                t = time.perf_counter()
                m(x)
                time.sleep(2 * (time.perf_counter() - t))
        for _ in range(3):
            m(x)
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            m(x)
            times.append(time.perf_counter() - t)
            time.sleep(0.02)
        print(statistics.mean(times) * 1e3)


def measure(edges, clouds, bursty, runs, target, target_threads):
    company = [subprocess.Popen([PY, __file__, "--role", role])
               for role in ["edge"] * edges + ["cloud"] * clouds + ["bursty"] * bursty]
    try:
        time.sleep(4)  # loaded and computing
        out = subprocess.run([PY, __file__, "--role", "target", "--runs", str(runs), "--target", target,
                              "--target-threads", str(target_threads)],
                             capture_output=True, text=True, check=True)
        return float(out.stdout.strip())
    finally:
        for p in company:
            p.kill()
            p.wait()


def per_core(w, others, n=2):
    """Speed of a w-thread job among `others` (each a job's thread count) on n
    cores as simulator/host.cpp has it: every job's threads on different
    cores, each to the core with the fewest queued; a thread gets 1/queue of
    its core and a job moves at the product of its threads' shares."""
    queued = [0] * n
    for t in sorted(others, reverse=True) + [w]:
        picked = sorted(range(n), key=lambda c: (queued[c], c))[:t]
        for c in picked:
            queued[c] += 1
    speed = 1.0
    for c in picked:  # the target's, placed last
        speed /= queued[c]
    return speed


def one_pool(w, others, n=2):
    """The model until 2026-12-04: each thread n/D of a core, a w-thread job at (n/D)^w."""
    d = w + sum(others)
    return 1.0 if d <= n else (n / d) ** min(w, n)


def model(edges, clouds, bursty, speed_of, w):
    """The w-thread target's expected slowdown on 2 cores; edges busy 1/4 of the time, bursty clouds 1/3."""
    speed = 0.0
    for k in range(edges + 1):
        pk = math.comb(edges, k) * 0.25 ** k * 0.75 ** (edges - k)
        for b in range(bursty + 1):
            pb = math.comb(bursty, b) * (1 / 3) ** b * (2 / 3) ** (bursty - b)
            speed += pk * pb * speed_of(w, [1] * k + [2] * clouds + [2] * b)
    return 1 / speed


def spin():
    src = r'''
#include <omp.h>
#include <time.h>
#include <unistd.h>
#include <cstdio>
#include <initializer_list>
static double clk(clockid_t c) { timespec t; clock_gettime(c, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main() {
  omp_set_num_threads(2);
  for (int rep = 0; rep < 3; ++rep)
    for (double lag_ms : {0.1, 1.0, 5.0, 20.0, 100.0}) {
      double spun = 0, waited = 0, c0 = 0, w0 = 0;
#pragma omp parallel
      {
        const int me = omp_get_thread_num();
        if (me == 0) usleep(static_cast<useconds_t>(lag_ms * 1000));
        else { c0 = clk(CLOCK_THREAD_CPUTIME_ID); w0 = clk(CLOCK_MONOTONIC); }
#pragma omp barrier
        if (me == 1) { spun = clk(CLOCK_THREAD_CPUTIME_ID) - c0; waited = clk(CLOCK_MONOTONIC) - w0; }
      }
      if (rep == 2) printf("partner %5.1f ms late: waited %6.2f ms, spinning %5.2f ms of it\n", lag_ms, waited * 1e3, spun * 1e3);
    }
}
'''
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "spin.cpp"), "w") as f:
            f.write(src)
        exe = os.path.join(d, "spin")
        subprocess.run(["g++", "-O2", "-fopenmp", f.name, "-o", exe], check=True)
        print("libgomp's barrier (default wait policy):")
        sys.stdout.write(subprocess.run([exe], capture_output=True, text=True, check=True).stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--role", choices=["edge", "cloud", "bursty", "target"], help=argparse.SUPPRESS)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=30, help="timed target runs per measurement")
    ap.add_argument("--spin", action="store_true")
    ap.add_argument("--target", choices=["resnet18", "alexnet-classifier", "resnet18@112", "resnet18@64", "mobilenet_v2", "googlenet"],
                    default="resnet18")
    ap.add_argument("--target-threads", type=int, choices=[1, 2], default=2,
                    help="the target's intra-op threads (1: as an edge computes)")
    a = ap.parse_args()
    if a.role:
        worker(a.role, a.runs, a.target, a.target_threads)
        return
    if a.spin:
        spin()
    means = {c: [] for c in CONFIGS}
    for _ in range(a.rounds):
        for c in CONFIGS:
            means[c].append(measure(*c, a.runs, a.target, a.target_threads))
    alone = statistics.median(means[(0, 0, 0)])
    print(f"{'edges':>5} {'clouds':>6} {'bursty':>6} {'mean ms (median of rounds)':>27} {'measured':>9} {'per-core':>9} "
          f"{'one pool':>9}")
    for c in CONFIGS:
        m = statistics.median(means[c])
        print(f"{c[0]:>5} {c[1]:>6} {c[2]:>6} {m:>27.1f} {m / alone:>8.2f}x {model(*c, per_core, a.target_threads):>8.2f}x "
              f"{model(*c, one_pool, a.target_threads):>8.2f}x")


if __name__ == "__main__":
    main()
