#!/usr/bin/env python3
"""Writes bench/results/soak/report.md from bench/soak.sh's CSV files.

Usage: soak_report.py OUT_DIR EDGES TASKS_PER_EDGE MINUTES RATE MODELS
Tasks: sent (EDGES x TASKS_PER_EDGE), answered (a result line came back, ok or
not), lost (sent - answered), failed, fell back; latency percentiles (measured
+ edge queueing, what `tandem submit` reports). Resources: per daemon, RSS and
open descriptors at the first sample after warm-up (the first fifth of the
run, at least 60 s) and at the last sample, and the largest change.
"""
import csv
import statistics
import sys
from collections import defaultdict
from pathlib import Path


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def main():
    out, edges, per_edge, minutes, rate, models = sys.argv[1:7]
    out = Path(out)
    edges, per_edge, minutes = int(edges), int(per_edge), int(minutes)
    tasks = list(csv.DictReader(open(out / "tasks.csv")))
    resources = list(csv.DictReader(open(out / "resources.csv")))
    events = list(csv.DictReader(open(out / "events.csv")))

    sent = edges * per_edge
    answered = len(tasks)
    ok = [t for t in tasks if t["ok"] == "1"]
    lat = [float(t["latency_ms"]) for t in ok]
    per_model = defaultdict(list)
    for t in ok:
        per_model[t["model"]].append(float(t["latency_ms"]))
    placements = defaultdict(int)
    for t in ok:
        placements[t["placement"]] += 1

    warm = max(60, minutes * 60 // 5)
    series = defaultdict(list)
    for r in resources:
        series[r["daemon"]].append((int(r["t_s"]), int(r["pid"]), int(r["rss_kb"]), int(r["fds"])))
    t_first = min((s[0][0] for s in series.values()), default=0)

    lines = [
        "# Soak",
        "",
        f"`bench/soak.sh {minutes}`: {edges} edge daemons and one cloud daemon on loopback, each edge fed "
        f"{per_edge} shuffled tasks of {models} at {rate} task/s by its own `tandem submit`; the cloud "
        "(1 worker, 1 thread) SIGKILLed and restarted on its port every 2 min and SIGSTOPped for 10 s once.",
        "",
        "## Tasks",
        "",
        "| sent | answered | lost | failed | fell back | p50 ms | p95 ms | p99 ms | max ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {sent} | {answered} | {sent - answered} | {answered - len(ok)} | "
        f"{sum(t['fallback'] == '1' for t in tasks)} | {percentile(lat, 50):.1f} | {percentile(lat, 95):.1f} | "
        f"{percentile(lat, 99):.1f} | {max(lat, default=float('nan')):.1f} |",
        "",
        "| model | ok | p50 ms | p95 ms |",
        "|---|---:|---:|---:|",
    ]
    for m, v in sorted(per_model.items()):
        lines.append(f"| {m} | {len(v)} | {percentile(v, 50):.1f} | {percentile(v, 95):.1f} |")
    lines += ["", "Placements of the tasks that succeeded: " +
              ", ".join(f"{k} {v}" for k, v in sorted(placements.items())), ""]
    lines += ["## Events", "", "| t (s) | event |", "|---:|---|"]
    lines += [f"| {e['t_s']} | {e['event']} |" for e in events]
    lines += [
        "",
        f"## Memory and descriptors (sampled every 10 s; warm-up = first {warm} s of samples)",
        "",
        "The cloud restarts every 2 minutes, so its row compares the first sample after warm-up with the last "
        "sample of the same process.",
        "",
        "| daemon | RSS after warm-up MB | RSS at end MB | change | max MB | fds after warm-up | fds at end | max fds |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    worst_rss, worst_fd = 0.0, 0
    for name in sorted(series, key=lambda n: (n != "cloud", int(n[4:]) if n.startswith("edge") else 0)):
        s = series[name]
        after = [x for x in s if x[0] - t_first >= warm] or s
        first, last = after[0], after[-1]
        if name == "cloud":  # compare within one process
            same = [x for x in after if x[1] == last[1]]
            first = same[0]
        change = (last[2] - first[2]) / first[2] * 100 if first[2] else 0.0
        if name != "cloud":
            worst_rss = max(worst_rss, abs(change))
            worst_fd = max(worst_fd, abs(last[3] - first[3]))
        lines.append(f"| {name} | {first[2] / 1024:.0f} | {last[2] / 1024:.0f} | {change:+.1f}% | "
                     f"{max(x[2] for x in s) / 1024:.0f} | {first[3]} | {last[3]} | {max(x[3] for x in s)} |")
    lines += ["", f"Edges after warm-up: largest RSS change {worst_rss:.1f}%, largest descriptor change {worst_fd}.", ""]
    (out / "report.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
