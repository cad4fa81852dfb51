#!/usr/bin/env python3
"""The machine's other load as the scheduler sees it during a run: sampled
from the epoch time T0 (the run's start, when its submits begin; the sampler
waits for it) until SIGTERM.

Two kinds, both written per 0.5 s step as "SECONDS THREADS" lines, seconds
from T0 (what `tandem simulate --host-background-trace` takes, holding each
value until the next; the simulated run starts at 0):

- OUT.trace: every 0.1 s, the runnable threads that are not in the given
  processes (HAProxy, the submits, anything else), each weighted by its nice
  (CFS gives a nice-N thread 1.25^-N of a nice-0 thread's share); the mean
  of a step's five samples.
- OUT.daemons.trace: the cores the given processes' own non-compute threads
  used in the step (their CPU time from /proc/PID/task/TID/schedstat over
  the step's wall time): the edges' control, cloud-link and client threads
  (the link emulator paces an upload in ~1 ms chunks), the clouds' network
  thread. The simulator models the daemons' compute (threads `edge-compute`
  and `tandem-worker`, with their OpenMP helpers) and nothing else of
  theirs, so this is the load it does not make itself. Counted by CPU time,
  not by runnable samples: these threads run for microseconds at a time,
  and an instant sample counts such a thread in full whenever it catches
  it (docs/design.md §13: 3-5x their CPU).

OUT gets "MEAN_WEIGHTED MEAN_RAW SAMPLES MEAN_DAEMON_CORES" (the weighted
mean is what `tandem simulate --host-background` takes).

A sample is an instant: threads runnable at that moment count in full,
however briefly they run. Held for a 0.5 s step of the trace, one such
sample of 10 runnable threads starved the simulated edges for half a
second (2026-12-03: the failover run's p95 in the simulation 249 ms
against 169 ms without the trace, 190 ms measured), so the sampler takes
five per step and the trace keeps their mean. One scan of the machine's
threads costs about 2 ms here (~90 threads).

usage: bench/cluster/background.py OUT T0 PID...
"""
import os
import signal
import sys
import time

k_interval_s = 0.1  # between samples
k_per_step = 5     # samples per step of the trace (0.5 s)
# Our daemons' compute threads (net/server_session.cpp, edge_daemon/edge_service.cpp);
# OpenMP's helpers take the name of the thread that started them.
k_compute = {"edge-compute", "tandem-worker"}


def daemon_run_ns(pids):
    """ns of CPU so far per non-compute thread of the processes in pids."""
    out = {}
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue  # exited (a killed cloud)
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    if f.read().strip() in k_compute:
                        continue
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    out[tid] = int(f.read().split()[0])
            except (OSError, IndexError, ValueError):
                continue
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    out, daemons = sys.argv[1], sys.argv[3:]
    ours = set(daemons) | {str(os.getpid())}
    weighted, raw, times, cores = [], [], [], []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stopped before the run began: nothing to write
    time.sleep(max(float(sys.argv[2]) - time.time(), 0))
    start = time.monotonic()
    last = {"ns": {}, "at": start}  # the daemons' CPU per thread at the last sample

    def close_interval():
        """The cores the daemons used since the last sample, into that sample's
        interval (a thread first seen now started since: all its CPU is new)."""
        now_ns, at = daemon_run_ns(daemons), time.monotonic()
        if cores:
            used = sum(ns - last["ns"].get(tid, 0) for tid, ns in now_ns.items())
            cores[-1] = max(used, 0) / 1e9 / max(at - last["at"], 1e-3)
        last["ns"], last["at"] = now_ns, at

    def done(*_):
        close_interval()  # the last sample's interval ends now
        n = max(len(weighted), 1)
        with open(out, "w") as f:
            f.write(f"{sum(weighted) / n:.3f} {sum(raw) / n:.3f} {len(weighted)} {sum(cores) / n:.3f}\n")
        for suffix, series in ((".trace", weighted), (".daemons.trace", cores)):
            with open(out + suffix, "w") as f:
                for i in range(0, len(series), k_per_step):
                    window = series[i:i + k_per_step]
                    f.write(f"{times[i]:.3f} {sum(window) / len(window):.3f}\n")
        sys.exit(0)

    signal.signal(signal.SIGTERM, done)
    while True:
        at = time.monotonic()
        w, r = 0.0, 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or pid in ours:
                continue
            try:
                for tid in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{tid}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    if fields[0] == "R":
                        r += 1
                        w += 1.25 ** -int(fields[16])
            except (OSError, IndexError, ValueError):
                continue
        close_interval()
        times.append(at - start)
        weighted.append(w)
        raw.append(r)
        cores.append(0.0)  # until the next sample
        time.sleep(k_interval_s)


if __name__ == "__main__":
    main()
