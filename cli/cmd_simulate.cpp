// tandem simulate: a discrete-event simulation of E edges and C clouds
// behind HAProxy on the daemons' own planner and profiles (simulator/), for
// fleets this machine cannot hold; or the fewest clouds that keep a p95.

#include <fstream>
#include <iostream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/endpoint.hpp"
#include "cli/commands.hpp"
#include "planner/planner.hpp"
#include "simulator/report.hpp"
#include "simulator/simulator.hpp"

namespace tandem::cli {
namespace {

using app::UsageError;

template <typename F>
auto parse_text(const std::string& flag, const std::string& text, F parse) {
  try {
    return parse(text);
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format("--{}: {}", flag, e.what()));
  }
}

double seconds_flag(const cxxopts::ParseResult& args, const std::string& flag) {
  return app::parse_flag(args, flag, units::parse_duration_ms) / 1e3;
}

// The scenario: a file's, then every flag given on top of it.
sim::Scenario scenario_from(const cxxopts::ParseResult& args) {
  sim::Scenario s;
  if (args.count("scenario")) {
    s = sim::load_scenario(args["scenario"].as<std::string>());
  } else {
    s.link_mix = sim::parse_link_mix("4g");
    s.models = {"resnet18", "mobilenet_v2", "alexnet", "googlenet"};
  }
  if (args.count("edges")) s.edges = args["edges"].as<std::size_t>();
  if (args.count("clouds")) s.clouds = args["clouds"].as<std::size_t>();
  if (args.count("models")) s.models = app::split_list(args["models"].as<std::string>());
  if (args.count("shuffle")) s.shuffle_models = true;
  if (args.count("arrivals")) {
    const auto kind = args["arrivals"].as<std::string>();
    if (kind == "poisson") s.arrivals.kind = sim::Arrivals::Kind::poisson;
    else if (kind == "fixed") s.arrivals.kind = sim::Arrivals::Kind::fixed;
    else if (kind == "trace") s.arrivals.kind = sim::Arrivals::Kind::trace;
    else throw UsageError(fmt::format("--arrivals '{}': poisson, fixed or trace", kind));
  }
  if (args.count("rate")) s.arrivals.rate_per_s = args["rate"].as<double>();
  if (args.count("arrival-trace")) {
    s.arrivals.trace_s = sim::load_arrival_trace(args["arrival-trace"].as<std::string>());
    s.arrivals.kind = sim::Arrivals::Kind::trace;
  }
  if (args.count("arrival-offsets")) {
    s.arrivals.offsets_s.clear();
    for (const auto& item : app::split_list(args["arrival-offsets"].as<std::string>())) {
      s.arrivals.offsets_s.push_back(parse_text("arrival-offsets", item, units::parse_duration_ms) / 1e3);
    }
  }
  if (args.count("duration")) s.duration_s = seconds_flag(args, "duration");
  if (args.count("link-mix")) {
    s.link_mix = parse_text("link-mix", args["link-mix"].as<std::string>(), sim::parse_link_mix);
    s.link_trace.clear();
  }
  if (args.count("links-in-turn")) s.links_in_turn = true;
  if (args.count("link-trace")) s.link_trace = sim::load_link_trace(args["link-trace"].as<std::string>());
  if (args.count("cloud-workers")) s.cloud_workers = args["cloud-workers"].as<std::size_t>();
  if (args.count("noise")) s.compute_noise = args["noise"].as<double>();
  if (args.count("edge-compute-scale")) s.edge_compute_scale = args["edge-compute-scale"].as<double>();
  if (args.count("cloud-compute-scale")) s.cloud_compute_scale = args["cloud-compute-scale"].as<double>();
  if (args.count("planning")) {
    const auto p = args["planning"].as<std::string>();
    if (p == "auto") s.planning = sim::Planning::automatic;
    else if (p == "edge_only") s.planning = sim::Planning::edge_only;
    else if (p == "cloud_only") s.planning = sim::Planning::cloud_only;
    else throw UsageError(fmt::format("--planning '{}': auto, edge_only or cloud_only", p));
  }
  if (args.count("objective")) {
    const auto o = partition::objective_from_string(args["objective"].as<std::string>());
    if (!o) throw UsageError("--objective: latency, energy or throughput");
    s.objective = *o;
  }
  if (args.count("codec")) {
    const auto c = partition::codec_from_string(args["codec"].as<std::string>());
    if (!c) throw UsageError("--codec: fp32 or fp16");
    s.codec = *c;
  }
  if (args.count("no-pipeline")) s.pipeline = false;
  if (args.count("no-calibrate")) s.calibrate = false;
  if (args.count("scheduler")) {
    const auto v = args["scheduler"].as<std::string>();
    const auto scheduler = sim::scheduler_from_string(v);
    if (!scheduler) throw UsageError(fmt::format("--scheduler '{}': timeline or alone", v));
    s.scheduler = *scheduler;
  }
  if (args.count("batch-window")) s.batch_window = args["batch-window"].as<std::size_t>();
  if (args.count("heavy-backlog")) s.heavy_backlog = args["heavy-backlog"].as<std::size_t>();
  if (args.count("probe-interval")) s.probe_interval_s = seconds_flag(args, "probe-interval");
  if (args.count("agent-inter")) s.agent_inter_s = seconds_flag(args, "agent-inter");
  if (args.count("agent-reference")) s.agent_reference_ms = seconds_flag(args, "agent-reference") * 1e3;
  if (args.count("drain-grace")) s.drain_grace_s = seconds_flag(args, "drain-grace");
  if (args.count("fail")) {
    for (const auto& f : args["fail"].as<std::vector<std::string>>()) {
      s.failures.push_back(parse_text("fail", f, sim::parse_failure));
    }
  }
  if (args.count("host-cores")) s.host_cores = args["host-cores"].as<double>();
  if (args.count("host-background")) s.host_background = args["host-background"].as<double>();
  if (args.count("host-background-trace")) {
    s.host_background_trace = sim::load_background_trace(args["host-background-trace"].as<std::string>());
  }
  if (args.count("seed")) s.seed = args["seed"].as<std::uint64_t>();
  try {
    sim::validate(s);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  return s;
}

void print_summary(const sim::Scenario& s, const sim::SimResult& r) {
  const double done = static_cast<double>(std::max<std::uint64_t>(r.completed, 1));
  fmt::print("{} edges, {} clouds ({} worker(s) each), {:g} tasks/s per edge for {:g} s; {} events\n", s.edges, s.clouds,
             s.cloud_workers, s.arrivals.rate_per_s, s.duration_s, r.events);
  fmt::print("tasks {}  completed {}  lost {}  fell back {}\n", r.tasks.size(), r.completed, r.lost, r.fallbacks);
  fmt::print("latency ms (submission to result): p50 {:.1f}  p95 {:.1f}  p99 {:.1f}  mean {:.1f}  max {:.1f}\n",
             r.latency_ms.p50, r.latency_ms.p95, r.latency_ms.p99, r.latency_ms.mean, r.latency_ms.max);
  fmt::print("throughput {:.2f} tasks/s over {:.1f} s\n", r.throughput_per_s, r.makespan_s);
  fmt::print("placements: edge_only {:.1f}%  split {:.1f}%  cloud_only {:.1f}%\n", 100 * r.edge_only / done,
             100 * r.split / done, 100 * r.cloud_only / done);
  if (s.host_cores > 0) {
    fmt::print("shared host: the daemons held {:.2f} of its {:g} cores on average\n", r.host_cores_daemons,
               s.host_cores);
  }
  fmt::print("{:>6} {:>10} {:>8} {:>7} {:>6} {:>9} {:>11}\n", "cloud", "requests", "refused", "failed", "util", "max queue",
             "connections");
  for (std::size_t i = 0; i < r.clouds.size(); ++i) {
    const auto& c = r.clouds[i];
    fmt::print("{:>6} {:>10} {:>8} {:>7} {:>5.1f}% {:>9} {:>11}\n", i + 1, c.requests, c.refused, c.failed,
               100 * c.utilisation, c.max_queue, c.max_connections);
  }
}

// The fewest clouds whose simulated p95 is at most `target_ms`: first a cloud
// per edge (no cloud ever queues: the floor the edges' own compute and links
// set; if that misses, no number of clouds meets it), then doubling, then
// bisection (p95 falls as clouds are added). Prints every trial.
int find_clouds(sim::Scenario s, const planner::Planner& planner, double target_ms, std::size_t max_clouds) {
  fmt::print("fewest clouds for p95 <= {:g} ms ({} edges, {:g} tasks/s each):\n", target_ms, s.edges, s.arrivals.rate_per_s);
  fmt::print("{:>7} {:>10} {:>10} {:>10} {:>9} {:>6}\n", "clouds", "p50 ms", "p95 ms", "mean util", "cloud %", "lost");
  std::map<std::size_t, bool> tried;
  const auto meets = [&](std::size_t c) {
    if (auto it = tried.find(c); it != tried.end()) return it->second;
    s.clouds = c;
    const sim::SimResult r = sim::simulate(s, planner);
    double util = 0;
    for (const auto& cl : r.clouds) util += cl.utilisation;
    const double done = static_cast<double>(std::max<std::uint64_t>(r.completed, 1));
    fmt::print("{:>7} {:>10.1f} {:>10.1f} {:>9.1f}% {:>8.1f}% {:>6}\n", c, r.latency_ms.p50, r.latency_ms.p95,
               100 * util / static_cast<double>(c), 100 * (r.split + r.cloud_only) / done, r.lost);
    std::fflush(stdout);
    return tried[c] = r.lost == 0 && r.latency_ms.p95 <= target_ms;
  };
  const std::size_t unlimited = std::min(s.edges, max_clouds);
  if (!meets(unlimited)) {
    fmt::print("not reachable: with {} clouds (one per edge, or --max-clouds) the p95 is over {:g} ms; the edges' "
               "own compute and uplinks set it\n", unlimited, target_ms);
    return 1;
  }
  std::size_t hi = 1;
  while (!meets(hi)) hi = std::min(hi * 2, unlimited);
  std::size_t lo = hi / 2;  // fails (or 0)
  while (hi - lo > 1) {
    const std::size_t mid = (lo + hi) / 2;
    (meets(mid) ? hi : lo) = mid;
  }
  fmt::print("fewest clouds: {}\n", hi);
  return 0;
}

}  // namespace

int cmd_simulate(const Args& argv, const Context& context) {
  cxxopts::Options options(
      argv[0],
      "Simulates E edge daemons and C cloud daemons behind HAProxy (leastconn, agent weights) with\n"
      "the daemons' own planner and device profiles: arrivals, uplinks, cloud queues, failures.\n"
      "Seeded and deterministic. Prints a summary; --json and --svg write the results.\n"
      "Defaults: 1 edge, 1 cloud, the 4g link mix, resnet18,mobilenet_v2,alexnet,googlenet,\n"
      "Poisson arrivals at 1 task/s per edge for 60 s.");
  const sim::Scenario d;  // the defaults the help names
  options.add_options()
      ("scenario", "a scenario file (JSON, see README); flags override its fields", cxxopts::value<std::string>(), "FILE")
      ("edges", fmt::format("edge daemons (default {})", d.edges), cxxopts::value<std::size_t>(), "E")
      ("clouds", fmt::format("cloud daemons (default {})", d.clouds), cxxopts::value<std::size_t>(), "C")
      ("models", "models the tasks cycle through (zoo names; default resnet18,mobilenet_v2,alexnet,googlenet)", cxxopts::value<std::string>(), "LIST")
      ("shuffle", "draw each task's model at random (seeded) instead of cycling")
      ("arrivals", "poisson, fixed or trace (default poisson)", cxxopts::value<std::string>(), "KIND")
      ("rate", fmt::format("tasks per second per edge (default {:g})", d.arrivals.rate_per_s), cxxopts::value<double>(), "R")
      ("arrival-trace", "arrival times, one number of seconds a line (the same for every edge)", cxxopts::value<std::string>(), "FILE")
      ("arrival-offsets", "when each edge starts: edge e's arrivals begin LIST[e mod n] later (a trace shifted; fixed: "
       "instead of a random phase), e.g. 0s,250ms,0.5s", cxxopts::value<std::string>(), "LIST")
      ("duration", fmt::format("arrivals stop after this long (default {:g}s)", d.duration_s), cxxopts::value<std::string>(), "TIME")
      ("link-mix", "uplinks: 4g, wifi, lan, or LINK[:WEIGHT];... e.g. '5.85mbit,rtt=40ms:3;1.1mbit,rtt=80ms' (default 4g)",
       cxxopts::value<std::string>(), "MIX")
      ("links-in-turn", "edge i gets the mix's link i mod n instead of a weighted draw (to mirror a measured cluster)")
      ("link-trace", "a changing uplink: 'SECONDS LINK' lines; each edge starts at a random offset", cxxopts::value<std::string>(), "FILE")
      ("cloud-workers", fmt::format("requests each cloud computes at once (default {})", d.cloud_workers), cxxopts::value<std::size_t>(), "N")
      ("noise", "sigma of a log-normal factor on every compute time (default 0: the profile's figure exactly; "
                "profiles hold no run-to-run spread, bench/cluster/noise.py measures one from a cluster run)",
       cxxopts::value<double>(), "SIGMA")
      ("edge-compute-scale", "every edge computes this many times its profile's time (default 1; > 1: the machine is "
       "slower than when profiled; bench/cluster/speed.py measures it)", cxxopts::value<double>(), "F")
      ("cloud-compute-scale", "the same for every cloud (default 1)", cxxopts::value<double>(), "F")
      ("planning", "auto (the planner), cloud_only or edge_only (default auto)", cxxopts::value<std::string>(), "MODE")
      ("objective", "latency, energy or throughput (default latency)", cxxopts::value<std::string>(), "OBJ")
      ("codec", "fp32 or fp16 (default fp32)", cxxopts::value<std::string>(), "CODEC")
      ("no-pipeline", "as edge_daemon --no-pipeline")
      ("no-calibrate", "as edge_daemon --no-calibrate: plan on the profiles as made, not scaled by how fast each "
                       "edge's recent tasks computed on its side and its cloud's")
      ("scheduler", "as edge_daemon --scheduler: timeline (plans the waiting tasks on the edge's timeline, the default) "
       "or alone (each task as if alone, light/heavy modes)", cxxopts::value<std::string>(), "S")
      ("batch-window", fmt::format("as edge_daemon --batch-window (timeline; default {})", d.batch_window), cxxopts::value<std::size_t>(), "N")
      ("heavy-backlog", fmt::format("as edge_daemon --heavy-backlog (alone; default {})", d.heavy_backlog), cxxopts::value<std::size_t>(), "N")
      ("probe-interval", fmt::format("an idle edge learns its cloud's load this often (default {:g}s)", d.probe_interval_s), cxxopts::value<std::string>(), "TIME")
      ("agent-inter", fmt::format("HAProxy's agent-check interval (default {:g}s)", d.agent_inter_s), cxxopts::value<std::string>(), "TIME")
      ("agent-reference", fmt::format("as cloud_daemon --agent-reference (default {:g}ms)", d.agent_reference_ms), cxxopts::value<std::string>(), "TIME")
      ("drain-grace", fmt::format("as cloud_daemon --drain-grace (default {:g}s)", d.drain_grace_s), cxxopts::value<std::string>(), "TIME")
      ("fail", "kill:CLOUD@TIME or drain:CLOUD@TIME (clouds from 1); repeatable", cxxopts::value<std::vector<std::string>>(), "SPEC")
      ("host-cores", "every daemon on one host of N cores, a whole number (each core time-shared by the threads "
       "queued on it; default 0: each daemon its own processor)",
       cxxopts::value<double>(), "N")
      ("host-background", "with --host-cores: the host's other runnable threads, nice-0 equivalents "
       "(bench/cluster.sh measures them) (default 0)", cxxopts::value<double>(), "T")
      ("host-background-trace", "with --host-cores: the background over time, 'SECONDS THREADS' lines "
       "(bench/cluster.sh writes one per run); replaces --host-background", cxxopts::value<std::string>(), "FILE")
      ("seed", fmt::format("random seed (default {})", d.seed), cxxopts::value<std::uint64_t>(), "N")
      ("profiles", "directory holding the device profiles", cxxopts::value<std::string>()->default_value("profiles"), "DIR")
      ("edge-profile", "edge profile file name in --profiles", cxxopts::value<std::string>()->default_value("edge.json"), "FILE")
      ("cloud-profile", "cloud profile file name in --profiles", cxxopts::value<std::string>()->default_value("cloud.json"), "FILE")
      ("json", "write the results as JSON to FILE ('-': stdout instead of the summary)", cxxopts::value<std::string>(), "FILE")
      ("svg", "write a plot (latency CDF, p50/p95 over time)", cxxopts::value<std::string>(), "FILE")
      ("tasks-csv", "write every task (edge, model, cloud, arrival, start, done, latency, placement, fallback, heavy, "
                    "each side's predicted and simulated compute in ms)",
       cxxopts::value<std::string>(), "FILE")
      ("find-clouds", "instead: the fewest clouds whose p95 stays at or under TIME (first tries one cloud per edge: "
                      "if even that misses, says so)", cxxopts::value<std::string>(), "TIME")
      ("max-clouds", "with --find-clouds: give up above this many", cxxopts::value<std::size_t>()->default_value("4096"), "N");
  const auto parsed = app::parse_args(options, argv);
  if (!parsed) return app::k_exit_ok;
  const auto& args = *parsed;
  const sim::Scenario scenario = scenario_from(args);

  const std::filesystem::path profiles = args["profiles"].as<std::string>();
  auto planner = planner::Planner::from_profiles(profiles / args["edge-profile"].as<std::string>(),
                                                 profiles / args["cloud-profile"].as<std::string>());
  for (const auto& m : scenario.models) planner->add_model(context.graph(ModelRef{m, "", ""}));

  if (args.count("find-clouds")) {
    const double target = app::parse_flag(args, "find-clouds", units::parse_duration_ms);
    return find_clouds(scenario, *planner, target, args["max-clouds"].as<std::size_t>());
  }
  const sim::SimResult result = sim::simulate(scenario, *planner);
  const std::string json_to = args.count("json") ? args["json"].as<std::string>() : "";
  if (json_to == "-") {
    std::cout << sim::to_json(scenario, result).dump(2) << "\n";
  } else {
    print_summary(scenario, result);
    if (!json_to.empty()) {
      std::ofstream out(json_to);
      out << sim::to_json(scenario, result).dump(2) << "\n";
      if (!out) throw std::runtime_error(fmt::format("cannot write {}", json_to));
    }
  }
  if (args.count("svg")) sim::write_svg(args["svg"].as<std::string>(), scenario, result);
  if (args.count("tasks-csv")) sim::write_tasks_csv(args["tasks-csv"].as<std::string>(), scenario, result);
  return result.lost == 0 ? app::k_exit_ok : app::k_exit_failure;
}

}  // namespace tandem::cli
