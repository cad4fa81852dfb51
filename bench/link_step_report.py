#!/usr/bin/env python3
"""Report and plot of bench/link_step.sh: link_step_report.py OUT_DIR."""
import json
import os
import sys

COLOURS = {"edge_only": "#1b9e77", "split": "#7570b3", "cloud_only": "#d95f02"}


def main(out):
    meta = json.load(open(os.path.join(out, "meta.json")))
    results = [json.loads(l) for l in open(os.path.join(out, "results.jsonl")) if l.startswith("{")]
    plans = {r: json.load(open(os.path.join(out, f"plan-{r}.json")))["plan"] for r in (meta["high"], meta["low"])}
    drop = meta["drop"] - meta["start"]
    rise = meta["rise"] - meta["start"]
    rate = meta["rate"]
    rows = []
    for r in results:
        if not r.get("ok"):
            continue
        submitted = r["task"] / rate  # tandem submit --rate spaces tasks evenly
        rows.append({"t": submitted, "dispatched": submitted + r["queue_ms"] / 1e3,
                     "latency": r["completion_ms"], "placement": r["placement"], "cut": r["cut"],
                     "replanned": r.get("replanned", False), "task": r["task"]})
    rows.sort(key=lambda x: x["t"])
    lines = [f"### {meta['model']} at {rate} tasks/s, uplink {meta['high']} → {meta['low']} at {drop:.1f} s → "
             f"{meta['high']} at {rise:.1f} s\n",
             f"Best plans (planner, this RTT): {meta['high']}: {plans[meta['high']]['cut']} "
             f"({plans[meta['high']]['predicted']['total_ms']:.0f} ms); {meta['low']}: "
             f"{plans[meta['low']]['cut']} ({plans[meta['low']]['predicted']['total_ms']:.0f} ms).\n"]

    def settle(t0, t1, best_cut):
        """Seconds from the step to the first dispatch after which every task
        dispatched before t1 uses the new best plan's placement."""
        after = [x for x in rows if t0 <= x["dispatched"] < t1]
        best = next(p["placement"] for p in plans.values() if p["cut"] == best_cut)
        for i, x in enumerate(after):
            if all(y["placement"] == best for y in after[i:]):
                return x["dispatched"] - t0, len(after) - i, len(after)
        return float("nan"), 0, len(after)

    for name, t0, t1, r in (("drop", drop, rise, meta["low"]), ("rise", rise, 1e9, meta["high"])):
        s, n_ok, n = settle(t0, t1, plans[r]["cut"])
        lines.append(f"- after the {name}: plans match the best {r} plan ({plans[r]['placement']}) "
                     f"{s:.2f} s after the step ({n_ok} of {n} tasks dispatched in the phase)")
    after_drop = [x for x in rows if drop <= x["t"] < rise]
    before = [x for x in rows if x["t"] < drop]
    replanned = [x for x in rows if x["replanned"]]
    if after_drop:
        worst = max(after_drop, key=lambda x: x["latency"])
        # One transfer already on the wire when the link dropped: the old
        # plan's upload, at the new rate.
        high_plan = plans[meta["high"]]
        low_bytes_per_s = float(meta["low"].removesuffix("mbit")) * 1e6 / 8
        wire_ms = high_plan["predicted"]["upload_bytes"] / low_bytes_per_s * 1e3 \
            if high_plan["placement"] != "edge_only" else 0.0
        limit = plans[meta["low"]]["predicted"]["total_ms"] + wire_ms
        lines.append(f"- worst latency of a task submitted after the drop: {worst['latency']:.0f} ms (task "
                     f"{worst['task']}, {worst['placement']}); new plan's latency + one {meta['high']}-plan "
                     f"upload at {meta['low']}: {limit:.0f} ms")
    def p50(xs):
        xs = sorted(x["latency"] for x in xs)
        return xs[len(xs) // 2] if xs else float("nan")
    after_rise = [x for x in rows if x["t"] >= rise]
    lines.append(f"- p50 latency: before the drop {p50(before):.0f} ms, during the low phase {p50(after_drop):.0f} ms, "
                 f"after the rise {p50(after_rise):.0f} ms; {len(replanned)} task(s) re-planned to the edge "
                 f"while waiting for the uplink")
    lines.append(f"- load average: {meta['uptime']}")
    lines.append("\n![latency and placement over time](link_step.svg)")
    print("\n".join(lines))
    plot(out, rows, drop, rise, meta)


def plot(out, rows, drop, rise, meta):
    w, h, pad = 900, 380, 60
    tmax = max([x["t"] for x in rows] + [rise + 1])
    lmax = max([x["latency"] for x in rows] + [1])
    sx = lambda t: pad + t / tmax * (w - 2 * pad)
    sy = lambda l: h - pad - l / lmax * (h - 2 * pad)
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="20" text-anchor="middle">{meta["model"]}: latency per task by submission time '
           f'(uplink {meta["high"]} → {meta["low"]} → {meta["high"]})</text>',
           f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="black"/>',
           f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h - pad}" stroke="black"/>',
           f'<text x="{w / 2}" y="{h - 20}" text-anchor="middle">submitted at (s)</text>',
           f'<text x="15" y="{h / 2}" transform="rotate(-90 15 {h / 2})" text-anchor="middle">latency (ms)</text>']
    for i in range(6):
        t = tmax * i / 5
        l = lmax * i / 5
        svg.append(f'<text x="{sx(t)}" y="{h - pad + 15}" text-anchor="middle">{t:.0f}</text>')
        svg.append(f'<text x="{pad - 5}" y="{sy(l) + 4}" text-anchor="end">{l:.0f}</text>')
    for t, label in ((drop, meta["low"]), (rise, meta["high"])):
        svg.append(f'<line x1="{sx(t)}" y1="{pad}" x2="{sx(t)}" y2="{h - pad}" stroke="grey" stroke-dasharray="4"/>')
        svg.append(f'<text x="{sx(t) + 4}" y="{pad + 12}">{label}</text>')
    for x in rows:
        c = COLOURS.get(x["placement"], "black")
        shape = (f'<rect x="{sx(x["t"]) - 4}" y="{sy(x["latency"]) - 4}" width="8" height="8" fill="none" stroke="{c}"/>'
                 if x["replanned"] else f'<circle cx="{sx(x["t"])}" cy="{sy(x["latency"])}" r="3.5" fill="{c}"/>')
        svg.append(shape)
    for i, (name, c) in enumerate(COLOURS.items()):
        svg.append(f'<circle cx="{w - pad - 110}" cy="{pad + 15 * i}" r="4" fill="{c}"/>'
                   f'<text x="{w - pad - 100}" y="{pad + 4 + 15 * i}">{name}</text>')
    svg.append(f'<rect x="{w - pad - 114}" y="{pad + 41}" width="8" height="8" fill="none" stroke="black"/>'
               f'<text x="{w - pad - 100}" y="{pad + 49}">re-planned</text>')
    svg.append("</svg>")
    open(os.path.join(out, "link_step.svg"), "w").write("\n".join(svg))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
