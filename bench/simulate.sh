#!/usr/bin/env bash
# The fleet simulator (tandem simulate) against the measured cluster, and the
# sizing question it exists for (README "Simulating fleets").
#
#   bench/simulate.sh validate   # the scenarios of bench/cluster.sh (same edges, clouds, links, models,
#                                # arrivals, failures), simulated; a table of measured vs simulated
#                                # p95 and throughput from bench/results/cluster/summary.json, and
#                                # each side's compute over its (calibrated) prediction, median;
#                                # every simulated task of each run in OUT/RUN.tasks.csv, to set
#                                # beside the measured edges' results (bench/cluster/compare_tasks.py)
#   bench/simulate.sh fleet      # 10,000 edges at 1 task/s (Poisson) over the 4g mix: the fewest
#                                # clouds keeping p95 <= 300 ms, with the planner and cloud-only,
#                                # and p95 by the number of clouds
#   bench/simulate.sh all
#
# Options: --out DIR (default bench/results/simulate), --measured DIR
# (default bench/results/cluster), --minutes/--rate/--per-edge/--plan as given
# to bench/cluster.sh (defaults 2, 1, 30, auto), --fleet-duration TIME
# (default 60s), --noise SIGMA (default 0; tandem simulate --noise for every
# validation run: a log-normal factor on each compute time, e.g. the spread
# bench/cluster/noise.py measures in another run), --ignore-speed (simulate
# on the profiles as made; by default each run's devices compute at the
# speed bench/cluster.sh measured around it, speed.json: tandem simulate
# --edge-compute-scale / --cloud-compute-scale), --seeds N (with --noise:
# each run simulated on the shared host N times, --seed 1..N; the table
# compares the median p95 and throughput over the seeds and prints their
# range — a saturation run's throughput turns on single placement decisions
# near its end, so one noisy simulation is one draw of it).
# --no-daemon-load leaves out the CPU of our daemons' non-compute threads
# (control, cloud link, the link emulator's pacing, the clouds' network
# thread), which bench/cluster.sh measures per run (background.txt.daemons.trace)
# and which otherwise joins the other load: the simulator models the daemons'
# compute and nothing else of theirs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tandem="${TANDEM_BUILD_DIR:-$root/build}/bin/tandem"
py=/usr/bin/python3

what="${1:-}"
[ -n "$what" ] && shift
out="$root/bench/results/simulate" measured="$root/bench/results/cluster"
minutes=2 rate=1 per_edge=30 fleet_duration=60s plan=auto noise=0 use_speed=1 seeds=1 daemon_load=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --measured) measured="$2"; shift 2 ;;
    --minutes) minutes="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --per-edge) per_edge="$2"; shift 2 ;;
    --plan) plan="$2"; shift 2 ;;
    --fleet-duration) fleet_duration="$2"; shift 2 ;;
    --noise) noise="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --ignore-speed) use_speed=0; shift ;;
    --no-daemon-load) daemon_load=0; shift ;;
    *) echo "simulate.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
case "$what" in validate|fleet|all) ;; *)
  echo "usage: bench/simulate.sh validate|fleet|all [--out DIR] [--measured DIR] [--minutes M] [--rate R] [--noise SIGMA [--seeds N]] [--ignore-speed] [--no-daemon-load]" >&2; exit 2 ;;
esac
case "$seeds" in ''|*[!0-9]*|0) echo "simulate.sh: --seeds '$seeds' must be a positive whole number" >&2; exit 2 ;; esac
if [ "$seeds" -gt 1 ] && ! awk -v n="$noise" 'BEGIN { exit !(n + 0 > 0) }'; then
  echo "simulate.sh: --seeds $seeds needs --noise SIGMA > 0 (without noise every seed simulates the same run)" >&2; exit 2
fi
mkdir -p "$out"

# As bench/cluster.sh: the cluster's models, links (in turn), cloud workers.
common=(--edges 6 --models resnet18,mobilenet_v2,alexnet,googlenet --links-in-turn
        --link-mix "1.1mbit,rtt=40ms;5.85mbit,rtt=40ms;18.88mbit,rtt=40ms" --cloud-workers 1 --drain-grace 2s
        --noise "$noise")

if [ "$what" = validate ] || [ "$what" = all ]; then
  seconds=$(echo "$minutes * 60" | bc | cut -d. -f1)
  # tandem submit --rate R on every edge: task i at i / R s from the edge's start.
  "$py" -c "import sys; n, r = int(sys.argv[1]), float(sys.argv[2]); print('\n'.join(f'{i / r:.6f}' for i in range(n)))" \
    "$(echo "$rate * $seconds" | bc | cut -d. -f1)" "$rate" > "$out/rate_arrivals.txt"
  # A queue submitted all at once.
  "$py" -c "import sys; print('\n'.join('0' for _ in range(int(sys.argv[1]))))" "$per_edge" > "$out/burst_arrivals.txt"
  third=$(echo "$minutes * 20" | bc)
  # sim NAME FLAGS...: the run as measured (every daemon on this machine's 2
  # cores, with the other load bench/cluster.sh sampled during it) to
  # NAME.json, and with a processor per daemon to NAME-own.json.
  sim() {
    local name="$1"; shift
    local bg=(--host-background 0)
    if [ -s "$measured/$name/background.txt.trace" ] && [ -s "$measured/$name/background.txt.daemons.trace" ] \
       && [ "$daemon_load" = 1 ]; then
      # The other load plus our daemons' non-compute threads (the same steps).
      paste -d' ' "$measured/$name/background.txt.trace" "$measured/$name/background.txt.daemons.trace" |
        awk '$1 != $3 { print "simulate.sh: the background traces do not share their steps" > "/dev/stderr"; exit 1 }
             { printf "%s %.3f\n", $1, $2 + $4 }' > "$out/$name.background.trace"
      bg=(--host-background-trace "$out/$name.background.trace")
    elif [ -s "$measured/$name/background.txt.daemons.trace" ]; then
      bg=(--host-background-trace "$measured/$name/background.txt.trace")
    elif [ -s "$measured/$name/background.txt.trace" ]; then
      # Measured before 2026-12-05: the trace began when the sampler did,
      # about 20 s before the run (the speed measurement and the submits'
      # start), and ended with the run (the sampler is stopped then, within
      # its last 0.5 s step). Cut it to the run's wall time, counted back
      # from its end; the run starts within a quarter step of its 0.
      "$py" - "$measured/$name/background.txt.trace" "$measured/$name/run.json" > "$out/$name.background.trace" <<'PY'
import json, sys
points = [tuple(map(float, line.split())) for line in open(sys.argv[1]) if line.strip()]
start = points[-1][0] + 0.25 - json.load(open(sys.argv[2]))["wall_s"]
before = [v for t, v in points if t <= start]
kept = [(0.0, before[-1] if before else points[0][1])] + [(t - start, v) for t, v in points if t > start]
print("\n".join(f"{t:.3f} {v:.3f}" for t, v in kept))
PY
      bg=(--host-background-trace "$out/$name.background.trace")
    elif [ -s "$measured/$name/background.txt" ]; then
      bg=(--host-background "$(cut -d' ' -f1 "$measured/$name/background.txt")")
    fi
    # Each edge's start offset as bench/cluster.sh gave its submit (runs
    # measured before it recorded them started every edge at 0).
    local start=()
    if [ -s "$measured/$name/arrival_offsets.txt" ]; then
      start=(--arrival-offsets "$(sed 's/$/s/' "$measured/$name/arrival_offsets.txt" | paste -sd,)")
    fi
    # The machine's speed against the profiles, measured before and after
    # the run (bench/cluster/speed.py): the mean of the two, per side.
    local speed=()
    if [ "$use_speed" = 1 ] && [ -s "$measured/$name/speed.json" ]; then
      read -r -a speed <<< "$("$py" "$root/bench/cluster/speed.py" --flags "$measured/$name/speed.json")"
    fi
    local host=("${common[@]}" "$@" "${start[@]}" "${speed[@]}" --host-cores 2 "${bg[@]}")
    # Seed 1 (the default): the run the table's other columns describe.
    "$tandem" simulate "${host[@]}" --json "$out/$name.json" --svg "$out/$name.svg" \
      --tasks-csv "$out/$name.tasks.csv" >/dev/null
    rm -f "$out/$name".seed*.json
    local k
    for k in $(seq 2 "$seeds"); do
      "$tandem" simulate "${host[@]}" --seed "$k" --json "$out/$name.seed$k.json" >/dev/null
    done
    "$tandem" simulate "${common[@]}" "$@" "${start[@]}" "${speed[@]}" --json "$out/$name-own.json" >/dev/null
  }
  sim failover --clouds 3 --arrival-trace "$out/rate_arrivals.txt" --duration "${seconds}s" --planning "$plan" \
    --fail "kill:1@${third}s" --fail "drain:2@$(echo "$third * 2" | bc)s"
  sim steady --clouds 2 --arrival-trace "$out/rate_arrivals.txt" --duration "${seconds}s" --planning "$plan"
  for c in 1 2 3; do
    sim "scaling-auto-$c" --clouds "$c" --arrival-trace "$out/burst_arrivals.txt" --duration 1s
    sim "scaling-cloud-$c" --clouds "$c" --arrival-trace "$out/burst_arrivals.txt" --duration 1s --planning cloud_only
  done
  "$py" - "$out" "$measured" "$seeds" <<'EOF'
import json, os, statistics, sys
out, measured, seeds = sys.argv[1], sys.argv[2], int(sys.argv[3])
runs = {r["run"]: r for r in json.load(open(os.path.join(measured, "summary.json")))}
rows = []
print("sim: every daemon on this machine's 2 cores with the other load sampled during the run and the CPU of\n"
      "our daemons' non-compute threads (--host-cores 2 --host-background-trace; runs measured before 2026-12-05:\n"
      "the other load alone, or its mean --host-background before traces were kept); own: a processor per daemon")
print(f"{'run':<18} {'p95 ms meas':>11} {'p95 ms sim':>10} {'diff':>7} {'p95 own':>8} {'tasks/s meas':>12} {'tasks/s sim':>11} "
      f"{'diff':>7} {'t/s own':>8} {'lost m/s':>9} {'fallb m/s':>10} {'edge x m/s':>11} {'cloud x m/s':>11} {'speed e/c':>10} "
      f"{'cores m/s':>10} {'edges m/s':>10} {'clouds m/s':>10}")
for name in ["failover", "steady"] + [f"scaling-{p}-{c}" for p in ("auto", "cloud") for c in (1, 2, 3)]:
    path = os.path.join(out, name + ".json")
    if name not in runs or not os.path.exists(path):
        continue
    m, s = runs[name], json.load(open(path))
    scales = (s.get("scenario", {}).get("edge_compute_scale", 1), s.get("scenario", {}).get("cloud_compute_scale", 1))
    own = json.load(open(os.path.join(out, name + "-own.json")))
    # With --seeds: the median over the seeds' simulations, and their range.
    draws = [s] + [json.load(open(os.path.join(out, f"{name}.seed{k}.json"))) for k in range(2, seeds + 1)]
    p95s = [d["latency_ms"]["p95"] for d in draws]
    tps = [d["throughput_per_s"] for d in draws]
    sim_p95, sim_tp = statistics.median(p95s), statistics.median(tps)
    d_p95 = sim_p95 / m["latency_ms"]["p95"] - 1 if m["latency_ms"]["p95"] else float("nan")
    d_tp = sim_tp / m["throughput_per_s"] - 1 if m["throughput_per_s"] else float("nan")
    rows.append({"run": name, "measured_p95_ms": m["latency_ms"]["p95"], "simulated_p95_ms": sim_p95,
                 "p95_diff": d_p95, "measured_tasks_per_s": m["throughput_per_s"],
                 "simulated_tasks_per_s": sim_tp, "throughput_diff": d_tp, "seeds": len(draws),
                 "simulated_p95_ms_range": [min(p95s), max(p95s)],
                 "simulated_tasks_per_s_range": [min(tps), max(tps)],
                 "measured_lost": m["lost"], "simulated_lost": s["lost"],
                 "measured_fallbacks": m["fallbacks"], "simulated_fallbacks": s["fallbacks"],
                 "own_processors_p95_ms": own["latency_ms"]["p95"], "own_processors_tasks_per_s": own["throughput_per_s"],
                 "background_threads": m.get("background_threads"),
                 "daemon_other_cores": m.get("daemon_other_cores"),
                 "measured_placements": m["placements"], "simulated_placements": s["placements"],
                 # compute / its prediction when planned (calibrated), median over tasks
                 "measured_edge_stretch_p50": m.get("edge_stretch_p50"), "simulated_edge_stretch_p50": s["edge_stretch_p50"],
                 "measured_cloud_stretch_p50": m.get("cloud_stretch_p50"), "simulated_cloud_stretch_p50": s["cloud_stretch_p50"],
                 # the devices' speed against the profiles the simulation was given (speed.json)
                 "edge_compute_scale": scales[0], "cloud_compute_scale": scales[1],
                 # cores our daemons held on average: measured CPU time over the run's wall time, and the
                 # simulated host's (busy cores shared out by runnable threads)
                 "measured_cores_daemons": m.get("cpu_cores_daemons"),
                 "simulated_cores_daemons": s.get("host_cores_daemons"),
                 "measured_cores_edges": m.get("cpu_cores_edges"), "simulated_cores_edges": s.get("host_cores_edges"),
                 "measured_cores_clouds": m.get("cpu_cores_clouds"), "simulated_cores_clouds": s.get("host_cores_clouds")})
    x = lambda v: "-" if not v else f"{v:.2f}"
    print(f"{name:<18} {m['latency_ms']['p95']:>11.1f} {sim_p95:>10.1f} {100 * d_p95:>+6.1f}% "
          f"{own['latency_ms']['p95']:>8.1f} {m['throughput_per_s']:>12.2f} {sim_tp:>11.2f} {100 * d_tp:>+6.1f}% "
          f"{own['throughput_per_s']:>8.2f} "
          f"{m['lost']:>4}/{s['lost']:<4} {m['fallbacks']:>4}/{s['fallbacks']:<5} "
          f"{x(m.get('edge_stretch_p50')):>5}/{x(s['edge_stretch_p50']):<5} {x(m.get('cloud_stretch_p50')):>5}/{x(s['cloud_stretch_p50']):<5} "
          f"{scales[0]:>4.2f}/{scales[1]:<4.2f} {x(m.get('cpu_cores_daemons')):>5}/{x(s.get('host_cores_daemons')):<5}"
          f" {x(m.get('cpu_cores_edges')):>5}/{x(s.get('host_cores_edges')):<5}"
          f" {x(m.get('cpu_cores_clouds')):>5}/{x(s.get('host_cores_clouds')):<5}")
    if len(draws) > 1:
        print(f"{'':<18} over {len(draws)} seeds: p95 {min(p95s):.1f}-{max(p95s):.1f} ms, "
              f"tasks/s {min(tps):.2f}-{max(tps):.2f}; the other columns are seed 1's")
json.dump(rows, open(os.path.join(out, "validation.json"), "w"), indent=2)
EOF
fi

if [ "$what" = fleet ] || [ "$what" = all ]; then
  # Each daemon its own processor (a fleet), the shipped profiles (edge: this
  # machine at 1 thread slowed 4x; cloud: this machine at 2 threads).
  fleet=(--edges 10000 --rate 1 --arrivals poisson --link-mix 4g --duration "$fleet_duration"
         --models resnet18,mobilenet_v2,alexnet,googlenet --cloud-workers 1)
  # row CLOUDS: one line of a simulation's JSON (stdin).
  row_py=$(cat <<'EOF'
import json, sys
d = json.load(sys.stdin)
c, l, p = int(sys.argv[1]), d["latency_ms"], d["placements"]
util = sum(x["utilisation"] for x in d["clouds"]) / len(d["clouds"])
cloud = p.get("split", 0) + p.get("cloud_only", 0)
print(f"{c:>7} {l['p50']:>9.1f} {l['p95']:>9.1f} {l['p99']:>9.1f} {100 * util:>9.1f}% {100 * cloud:>7.1f}% {d['lost']:>7}")
EOF
)
  row() { "$py" -c "$row_py" "$1"; }
  for planning in auto cloud_only; do
    {
      echo "== planning $planning: the fewest clouds for p95 <= 300 ms"
      /usr/bin/time -f "(%e s wall, %M KB peak)" "$tandem" simulate "${fleet[@]}" --planning "$planning" \
        --find-clouds 300ms 2>&1 || true
      echo "== planning $planning: p95 by the number of clouds"
      printf "%7s %9s %9s %9s %10s %8s %7s\n" clouds "p50 ms" "p95 ms" "p99 ms" "mean util" "cloud %" lost
      for c in 25 50 100 200 400 800 1600; do
        "$tandem" simulate "${fleet[@]}" --planning "$planning" --clouds "$c" --json - | row "$c"
      done
    } | tee "$out/fleet-$planning.txt"
  done
fi
