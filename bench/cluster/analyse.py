#!/usr/bin/env python3
"""Summarises bench/cluster.sh runs: tasks lost, outputs against the local
reference, latency percentiles (as tandem submit: queueing included),
throughput, placements, fallbacks, HAProxy's view (status, agent weights)
and CPU use. Writes DIR/summary.json and prints a table.

usage: bench/cluster/analyse.py DIR
"""
import csv
import glob
import json
import os
import sys


def percentile(values, p):
    # Linear between the two nearest ranks, as tandem submit's summary.
    if not values:
        return 0.0
    v = sorted(values)
    rank = p / 100 * (len(v) - 1)
    lo = int(rank)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (rank - lo)


def max_rel_diff(got, want):
    scale = max(max(abs(x) for x in want), 1e-12)
    return max(abs(a - b) for a, b in zip(got, want)) / scale


def load_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip() and not line.startswith("#")]


def analyse_run(run_dir, reference):
    run = json.load(open(os.path.join(run_dir, "run.json")))
    tasks = {t["task"]: t for q in glob.glob(os.path.join(run_dir, "queue*.jsonl")) for t in load_lines(q)}
    submitted = len(tasks)
    results = [r for path in sorted(glob.glob(os.path.join(run_dir, "results*.jsonl"))) for r in load_lines(path)]
    ok = [r for r in results if r.get("ok")]
    latencies = [r["measured_ms"] + r["queue_ms"] for r in ok]
    wrong, checked, worst = 0, 0, 0.0
    for r in ok:
        spec = tasks.get(r["task"], {})
        want = reference.get((spec.get("model"), spec.get("seed")))
        got = r.get("outputs") or []
        if want is None or len(got) != len(want):
            wrong += 1
            continue
        d = max_rel_diff(got, want)
        worst = max(worst, d)
        checked += 1
        if d > 1e-4:
            wrong += 1
    placements = {}
    for r in ok:
        placements[r["placement"]] = placements.get(r["placement"], 0) + 1
    stats_path = os.path.join(run_dir, "haproxy_stats.csv")
    servers = {}
    if os.path.exists(stats_path):
        with open(stats_path) as f:
            for row in csv.reader(f):
                if len(row) < 6:
                    continue
                _, name, status, weight, sessions, agent = row[:6]
                s = servers.setdefault(name, {"statuses": [], "weights": set(), "max_sessions": 0, "agent": set()})
                if not s["statuses"] or s["statuses"][-1] != status:
                    s["statuses"].append(status)
                if weight.isdigit():
                    s["weights"].add(int(weight))
                if sessions.isdigit():
                    s["max_sessions"] = max(s["max_sessions"], int(sessions))
                s["agent"].add(agent)
        for s in servers.values():
            s["weights"] = sorted(s["weights"])
            s["agent"] = sorted(s["agent"])
    wall = run["wall_s"]
    # How much slower than the profiles' predictions the daemons computed here
    # (the other load and our own daemons sharing two cores).
    def stretch(measured, predicted):
        ratios = [r[measured] / r[predicted] for r in ok if r.get(predicted, 0) > 1 and not r.get("fallback")]
        return percentile(ratios, 50) if ratios else None
    return {
        "run": run["name"], "plan": run["plan"], "clouds": run["clouds"], "edges": run["edges"],
        "rate": run["rate"], "failures": run["failures"], "wall_s": wall,
        "submitted": submitted, "results": len(results), "ok": len(ok), "lost": submitted - len(ok),
        "outputs_checked": checked, "outputs_wrong": wrong, "worst_rel_diff": worst,
        "fallbacks": sum(1 for r in ok if r.get("fallback")),
        "placements": {k: v / max(len(ok), 1) for k, v in sorted(placements.items())},
        "latency_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
                       "p99": percentile(latencies, 99)},
        "throughput_per_s": len(ok) / wall if wall > 0 else 0,
        "cpu_cores_daemons": run["cpu_s_daemons"] / wall if wall > 0 else 0,
        "cpu_cores_machine": run["cpu_s_machine"] / wall if wall > 0 else 0,
        # split by role (runs measured since 2026-12-03 22:20), against the compute the results report:
        # a cloud's two threads busy through its whole cloud_ms would hold 2 x cloud_compute_s
        "cpu_cores_clouds": run["cpu_s_clouds"] / wall if wall > 0 and "cpu_s_clouds" in run else None,
        "cpu_cores_edges": run["cpu_s_edges"] / wall if wall > 0 and "cpu_s_edges" in run else None,
        "cloud_compute_s": sum(r.get("cloud_ms", 0) for r in ok) / 1e3,
        "edge_compute_s": sum(r.get("edge_ms", 0) for r in ok) / 1e3,
        "haproxy": servers,
        "background_threads": run.get("background_threads"),
        # cores our daemons' non-compute threads used (runs measured since 2026-12-05)
        "daemon_other_cores": run.get("daemon_other_cores"),
        "loadavg_after": run.get("loadavg_after"),
        "edge_stretch_p50": stretch("edge_ms", "predicted_edge_ms"),
        "cloud_stretch_p50": stretch("cloud_ms", "predicted_cloud_ms"),
        # the machine's compute speed against the profiles before and after the run (speed.py)
        "speed": json.load(open(speed)) if os.path.exists(speed := os.path.join(run_dir, "speed.json")) else None,
    }


def main():
    out = sys.argv[1]
    reference = {}
    ref_path = os.path.join(out, "reference.jsonl")
    if os.path.exists(ref_path):
        specs = {t["task"]: t for t in load_lines(os.path.join(out, "reference_queue.jsonl"))}
        for r in load_lines(ref_path):
            if r.get("ok"):
                spec = specs[r["task"]]
                reference[(spec["model"], spec["seed"])] = r["outputs"]
    runs = []
    for run_json in sorted(glob.glob(os.path.join(out, "*", "run.json"))):
        runs.append(analyse_run(os.path.dirname(run_json), reference))
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(runs, f, indent=2)
    print(f"{'run':<18} {'clouds':>6} {'tasks':>6} {'lost':>5} {'wrong':>5} {'fallb':>5} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'tasks/s':>8} {'cores ours':>10} {'cores all':>9} {'backgr':>6}  placements")
    for r in runs:
        pl = " ".join(f"{k} {100 * v:.0f}%" for k, v in r["placements"].items())
        print(f"{r['run']:<18} {r['clouds']:>6} {r['submitted']:>6} {r['lost']:>5} {r['outputs_wrong']:>5} "
              f"{r['fallbacks']:>5} {r['latency_ms']['p50']:>8.1f} {r['latency_ms']['p95']:>8.1f} "
              f"{r['throughput_per_s']:>8.2f} {r['cpu_cores_daemons']:>10.2f} {r['cpu_cores_machine']:>9.2f} "
              f"{r['background_threads'] or 0:>6.2f}  {pl}")
        es, cs = r["edge_stretch_p50"], r["cloud_stretch_p50"]
        other = "" if r["daemon_other_cores"] is None else f"; daemons' non-compute threads {r['daemon_other_cores']:.2f} cores"
        print(f"    compute measured / predicted (median): edge {es if es is None else round(es, 2)}, "
              f"cloud {cs if cs is None else round(cs, 2)}; load average after {r['loadavg_after']}{other}")
        if r["cpu_cores_clouds"] is not None:
            print(f"    CPU: clouds {r['cpu_cores_clouds'] * r['wall_s']:.2f} s for {r['cloud_compute_s']:.2f} s of "
                  f"reported compute, edges {r['cpu_cores_edges'] * r['wall_s']:.2f} s for "
                  f"{r['edge_compute_s']:.2f} s (stretch waits included)")
        for name, s in sorted(r["haproxy"].items()):
            print(f"    {name}: status {' -> '.join(s['statuses'])}; agent weights seen {s['weights']}; "
                  f"max sessions {s['max_sessions']}")


if __name__ == "__main__":
    main()
