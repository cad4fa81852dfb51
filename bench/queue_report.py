#!/usr/bin/env python3
"""Summarises bench/queue.sh's runs (one JSON result per line per run).

  queue_report.py capacity OUT_DIR TAG   tasks/s of the timeline scheduler's median burst
  queue_report.py scales OUT_DIR TAG     "EDGE CLOUD": the compute scales the calibrating
                                         timeline edges reported after their bursts (medians;
                                         exit 1 when there are none)
  queue_report.py report OUT_DIR         the markdown tables
"""
import glob
import json
import os
import re
import statistics
import sys

POLICIES = ["edge_only", "cloud_only", "alone", "alone_heavy", "timeline", "timeline_makespan", "timeline_nocal"]


def load(path):
    results = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                results.append(json.loads(line))
    return results


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    rank = p / 100 * (len(v) - 1)
    lo = int(rank)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (rank - lo)


def run_stats(results, expected=None):
    ok = [r for r in results if r.get("ok")]
    done = [r["completion_ms"] for r in ok]
    errors = [abs(r["predicted_completion_ms"] - r["completion_ms"]) / r["completion_ms"] * 100
              for r in ok if r.get("completion_ms", 0) > 0 and r.get("predicted_completion_ms", 0) > 0]
    placements = {}
    for r in ok:
        placements[r.get("placement", "-")] = placements.get(r.get("placement", "-"), 0) + 1
    # Makespan of a burst: the last completion counted from submission
    # (all tasks are submitted within milliseconds of each other).
    return {
        "n": len(results),
        "failed": len(results) - len(ok),
        "makespan_s": max(done) / 1e3 if done else float("nan"),
        "p50": percentile(done, 50),
        "p95": percentile(done, 95),
        "err_p50": percentile(errors, 50) if errors else float("nan"),
        "replanned": sum(1 for r in ok if r.get("replanned")),
        "fallbacks": sum(1 for r in ok if r.get("fallback")),
        "placements": placements,
    }


def med(values):
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def burst_table(out, tag):
    rows = {}
    for policy in POLICIES:
        runs = [run_stats(load(p)) for p in sorted(glob.glob(f"{out}/burst-{tag}-{policy}-*.jsonl"))]
        if runs:
            rows[policy] = runs
    return rows


def capacity(out, tag):
    runs = burst_table(out, tag).get("timeline", [])
    if not runs:
        sys.exit("queue_report: no timeline burst runs for " + tag)
    tasks = runs[0]["n"]
    return tasks / med([r["makespan_s"] for r in runs])


def scales(out, tag):
    edge, cloud = [], []
    for policy in ("timeline", "timeline_makespan"):
        for p in sorted(glob.glob(f"{out}/burst-{tag}-{policy}-*.status.json")):
            with open(p) as f:
                status = json.load(f)
            if "edge_compute_scale" in status:
                edge.append(status["edge_compute_scale"])
                cloud.append(status["cloud_compute_scale"])
    if not edge:
        sys.exit(1)
    return med(edge), med(cloud)


def report(out):
    lines = []
    tags = sorted({re.match(r"burst-(.+?)-(?:%s)-\d+\.jsonl" % "|".join(POLICIES), os.path.basename(p)).group(1)
                   for p in glob.glob(f"{out}/burst-*.jsonl")})
    for tag in tags:
        bound = json.load(open(f"{out}/bound-{tag}.json"))
        rows = burst_table(out, tag)
        lines.append(f"### {bound['tasks']} tasks at once over {bound['link']}\n")
        lines.append("| policy | runs | makespan s (median) | min–max | p50 ms | p95 ms | |pred−meas| p50 | "
                     "edge_only/split/cloud_only | re-planned | failed |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|")
        for policy, runs in rows.items():
            ms = [r["makespan_s"] for r in runs]
            pl = runs[len(runs) // 2]["placements"]
            lines.append(
                f"| {policy} | {len(runs)} | {med(ms):.2f} | {min(ms):.2f}–{max(ms):.2f} | "
                f"{med([r['p50'] for r in runs]):.0f} | {med([r['p95'] for r in runs]):.0f} | "
                f"{med([r['err_p50'] for r in runs]):.1f}% | "
                f"{pl.get('edge_only', 0)}/{pl.get('split', 0)}/{pl.get('cloud_only', 0)} | "
                f"{sum(r['replanned'] for r in runs)} | {sum(r['failed'] for r in runs)} |")
        lb = bound["bound"]["makespan_ms"] / 1e3
        lines.append("")
        lines.append(f"Lower bound on the makespan (cost model, busiest resource's least work): {lb:.2f} s; "
                     f"the batch scheduler's offline schedule of the whole queue: "
                     f"{bound['schedule_makespan']['makespan_ms'] / 1e3:.2f} s (predicted).")
        measured_path = f"{out}/bound-{tag}-measured.json"
        if os.path.exists(measured_path):
            with open(measured_path) as f:
                mb = json.load(f)
            mlb = mb["bound"]["makespan_ms"] / 1e3
            lines.append(f"The same bound at the speed the calibrating edges measured (edge x {mb['edge_scale']:.2f}, "
                         f"cloud x {mb['cloud_scale']:.2f}): {mlb:.2f} s.")
            if "timeline" in rows:
                t = med([r["makespan_s"] for r in rows["timeline"]])
                lines.append(f"Timeline (mean-completion objective) median {t:.2f} s = {t / lb:.2f}x the profiles' "
                             f"bound, {t / mlb:.2f}x the measured-speed bound.")
        if "timeline" in rows:
            t = med([r["makespan_s"] for r in rows.get("timeline_makespan", rows["timeline"])])
            statics = {p: med([r["makespan_s"] for r in rows[p]]) for p in ("edge_only", "cloud_only") if p in rows}
            if statics:
                bp = min(statics, key=statics.get)
                lines.append(f"Timeline (makespan objective) median {t:.2f} s = {t / lb:.2f}× the bound; "
                             f"best static policy ({bp}) {statics[bp]:.2f} s = {statics[bp] / t:.2f}× slower.")
        lines.append("")
    poisson = sorted(glob.glob(f"{out}/poisson-*.jsonl"))
    if poisson:
        lines.append("### Poisson arrivals\n")
        lines.append("| load | policy | tasks | p50 ms | p95 ms | |pred−meas| p50 | edge_only/split/cloud_only | failed |")
        lines.append("|---|---|---:|---:|---:|---:|---|---:|")
        for p in poisson:
            m = re.match(r"poisson-(.+?)-(\d+)-(%s)\.jsonl" % "|".join(POLICIES), os.path.basename(p))
            if not m:
                continue
            s = run_stats(load(p))
            pl = s["placements"]
            lines.append(f"| {m.group(2)}% ({m.group(1)}) | {m.group(3)} | {s['n']} | {s['p50']:.0f} | {s['p95']:.0f} | "
                         f"{s['err_p50']:.1f}% | {pl.get('edge_only', 0)}/{pl.get('split', 0)}/{pl.get('cloud_only', 0)} | "
                         f"{s['failed']} |")
        lines.append("")
    if os.path.exists(f"{out}/uptime.txt"):
        lines.append("Load average before and after: " + " / ".join(
            l.split("load average:")[-1].strip() for l in open(f"{out}/uptime.txt") if "load" in l))
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "capacity":
        print(f"{capacity(sys.argv[2], sys.argv[3]):.4f}")
    elif len(sys.argv) == 4 and sys.argv[1] == "scales":
        print("%.4f %.4f" % scales(sys.argv[2], sys.argv[3]))
    elif len(sys.argv) == 3 and sys.argv[1] == "report":
        report(sys.argv[2])
    else:
        sys.exit(__doc__)
