#!/usr/bin/env python3
"""The machine's other load as the scheduler sees it, sampled until SIGTERM:
every 0.5 s, the runnable threads that are not in the given processes, each
weighted by its nice (CFS gives a nice-N thread 1.25^-N of a nice-0 thread's
share). Writes "MEAN_WEIGHTED MEAN_RAW SAMPLES" to OUT (the weighted mean is
what `tandem simulate --host-background` takes) and every sample as
"SECONDS WEIGHTED" lines, seconds from the start, to OUT.trace (what
`tandem simulate --host-background-trace` takes).

usage: bench/cluster/background.py OUT PID...
"""
import os
import signal
import sys
import time


def main():
    out, ours = sys.argv[1], set(sys.argv[2:]) | {str(os.getpid())}
    weighted, raw, times = [], [], []
    start = time.monotonic()

    def done(*_):
        n = max(len(weighted), 1)
        with open(out, "w") as f:
            f.write(f"{sum(weighted) / n:.3f} {sum(raw) / n:.3f} {len(weighted)}\n")
        with open(out + ".trace", "w") as f:
            f.writelines(f"{t:.3f} {w:.3f}\n" for t, w in zip(times, weighted))
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
        time.sleep(0.5)


if __name__ == "__main__":
    main()
