#!/usr/bin/python3
"""How fast this machine computes now against the profiles a cluster run uses.

bench/cluster.sh runs this right before a run's submits and right after
them; bench/simulate.sh gives the mean to `tandem simulate
--edge-compute-scale / --cloud-compute-scale`. This VM's speed drifts by
20-100% within an hour (README, "Profiling and prediction"): a simulation on
the profiles alone then compares the simulator with the drift, not with the
cluster.

For each profile (edge.json: one thread and its slowdown; cloud.json: its
threads), `tandem profile --validate` re-measures the anchor models (whole
runs, interleaved with their per-node runs) with nothing else running
(the daemons are idle), and the scale is the median over the anchors of
measured / the profile's own table figure for that model.

Usage: speed.py TANDEM PROFILES_DIR OUT.json KEY [ANCHORS=resnet18,googlenet]
  KEY is "before" or "after"; OUT.json keeps the other key if present.
       speed.py --flags SPEED.json
  prints tandem simulate's flags for the mean of before and after.
"""
import json
import os
import statistics
import subprocess
import sys


def scale(tandem, profile, anchors):
    out = subprocess.run([tandem, "profile", "--validate", "--profile", profile, "--models", anchors,
                          "--no-progress"], check=True, capture_output=True, text=True, timeout=600).stdout
    ratios = []
    names = set(anchors.split(","))
    for line in out.splitlines():
        if line.startswith("(spread") or line.startswith("cut sides"):
            break  # the per-model table ends here; cut-side lines follow
        f = line.split()
        # model, measured ms, spread, LOMO ms, LOMO err, table ms, table err, ...
        if len(f) >= 7 and f[0] in names:
            measured, table = float(f[1]), float(f[5])
            if table > 0:
                ratios.append(measured / table)
    if len(ratios) != len(names):
        raise SystemExit(f"speed.py: could not read every anchor of {anchors} from tandem profile --validate:\n{out}")
    return statistics.median(ratios), ratios


def flags(path):
    with open(path) as f:
        d = json.load(f)
    runs = [d[k] for k in ("before", "after") if k in d]
    if not runs:
        raise SystemExit(f"speed.py: {path} has neither 'before' nor 'after'")
    mean = lambda side: sum(r[side] for r in runs) / len(runs)
    print(f"--edge-compute-scale {mean('edge'):.4f} --cloud-compute-scale {mean('cloud'):.4f}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--flags":
        return flags(sys.argv[2])
    if len(sys.argv) < 5 or sys.argv[4] not in ("before", "after"):
        raise SystemExit(__doc__)
    tandem, profiles, path, key = sys.argv[1:5]
    anchors = sys.argv[5] if len(sys.argv) > 5 else "resnet18,googlenet"
    data = {}
    if os.path.exists(path):
        with open(path) as f:
            data = json.load(f)
    entry = {"anchors": anchors}
    for side in ("edge", "cloud"):
        s, ratios = scale(tandem, os.path.join(profiles, f"{side}.json"), anchors)
        entry[side] = round(s, 4)
        entry[f"{side}_ratios"] = [round(r, 4) for r in ratios]
    data[key] = entry
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
    print(f"speed {key}: edge {entry['edge']:.3f}x, cloud {entry['cloud']:.3f}x the profiles", file=sys.stderr)


if __name__ == "__main__":
    main()
