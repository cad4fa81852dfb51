#!/usr/bin/env python3
"""The machine's other load as the scheduler sees it, sampled until SIGTERM:
every 0.1 s, the runnable threads that are not in the given processes, each
weighted by its nice (CFS gives a nice-N thread 1.25^-N of a nice-0 thread's
share). Writes "MEAN_WEIGHTED MEAN_RAW SAMPLES" to OUT (the weighted mean is
what `tandem simulate --host-background` takes) and the mean of every 0.5 s
window of samples as "SECONDS WEIGHTED" lines, seconds from the window's
start, to OUT.trace (what `tandem simulate --host-background-trace` takes,
holding each value until the next).

A sample is an instant: threads runnable at that moment count in full,
however briefly they run. Held for a 0.5 s step of the trace, one such
sample of 10 runnable threads starved the simulated edges for half a
second (2026-12-03: the failover run's p95 in the simulation 249 ms
against 169 ms without the trace, 190 ms measured), so the sampler takes
five per step and the trace keeps their mean. One scan of the other
processes' threads costs about 2 ms here (~90 threads).

usage: bench/cluster/background.py OUT PID...
"""
import os
import signal
import sys
import time

k_interval_s = 0.1  # between samples
k_per_step = 5     # samples per step of the trace (0.5 s)


def main():
    out, ours = sys.argv[1], set(sys.argv[2:]) | {str(os.getpid())}
    weighted, raw, times = [], [], []
    start = time.monotonic()

    def done(*_):
        n = max(len(weighted), 1)
        with open(out, "w") as f:
            f.write(f"{sum(weighted) / n:.3f} {sum(raw) / n:.3f} {len(weighted)}\n")
        with open(out + ".trace", "w") as f:
            for i in range(0, len(weighted), k_per_step):
                window = weighted[i:i + k_per_step]
                f.write(f"{times[i]:.3f} {sum(window) / len(window):.3f}\n")
        sys.exit(0)

    signal.signal(signal.SIGTERM, done)
    while True:
        at = time.monotonic() - start
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
        times.append(at)
        weighted.append(w)
        raw.append(r)
        time.sleep(k_interval_s)


if __name__ == "__main__":
    main()
