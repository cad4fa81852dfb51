// bench_evaluate: for each zoo model × uplink, runs through both daemons the
// planner's choice, edge-only, cloud-only and every candidate cut, and
// reports the planner's regret against the measured oracle (issue 7,
// docs/design.md §7). bench/evaluate.sh builds it, makes the namespaces and runs it.

#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <thread>

#include <cxxopts.hpp>
#include <fmt/format.h>

#include "bench/evaluate/analysis.hpp"
#include "bench/evaluate/candidates.hpp"
#include "bench/evaluate/report.hpp"
#include "bench/evaluate/runner.hpp"
#include "app/cli.hpp"
#include "app/endpoint.hpp"
#include "models/graph_builder.hpp"
#include "planner/planner.hpp"
#include "predictor/predictor.hpp"
#include "units/units.hpp"

namespace {

using namespace tandem;
using namespace tandem::bench;
namespace fs = std::filesystem;

const std::vector<std::string> k_quick_models{"lenet", "alexnet", "resnet18"};
constexpr const char* k_quick_links = "5.85mbit,rtt=40ms;100mbit";
constexpr std::size_t k_quick_runs = 3;
// Edge daemon start-up per link (loading and warming the models), for the estimate.
constexpr double k_edge_start_s = 15;

std::string describe(const fs::path& path, const predictor::DeviceProfile& p) {
  return fmt::format("`{}` — device '{}', {} thread(s), slowdown {:g}, {}, made {}", path.string(), p.device,
                     p.threads, p.slowdown, p.cpu_model, p.date);
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options options("bench_evaluate",
                           "Measures the planner against the oracle (the fastest measured cut) on a shaped link.\n"
                           "Usually run through bench/evaluate.sh, which builds it and sets up the link.");
  options.add_options()
      ("models", "zoo models, comma-separated, or all", cxxopts::value<std::string>()->default_value("all"), "LIST")
      ("links", "uplinks separated by ';', each RATE[,rtt=TIME|,one-way=TIME]",
       cxxopts::value<std::string>()->default_value("1.1mbit,rtt=40ms;5.85mbit,rtt=40ms;18.88mbit,rtt=40ms;100mbit"), "LIST")
      ("runs", "timed runs per plan (median)", cxxopts::value<std::size_t>()->default_value("5"), "N")
      ("warmup", "untimed runs of the planner's plan per model × link", cxxopts::value<std::size_t>()->default_value("1"), "N")
      ("confirm-runs", "fresh runs each of the planner and a faster candidate (default: 2 × runs; 0: off)", cxxopts::value<std::size_t>(), "N")
      ("top-k", "DAGs: best predicted cuts to run", cxxopts::value<std::size_t>()->default_value("5"), "K")
      ("random-cuts", "DAGs: random closed cuts ranked with the articulation cuts", cxxopts::value<std::size_t>()->default_value("2000"), "N")
      ("max-candidates", "cap on candidates per pair, best predicted kept (0: none)", cxxopts::value<std::size_t>()->default_value("0"), "N")
      ("quick", "lenet, alexnet, resnet18 on 5.85 and 100 mbit, 3 runs (explicit flags still win)")
      ("link-mode", "netns (run inside the edge namespace) or emulated", cxxopts::value<std::string>()->default_value("emulated"), "MODE")
      ("edge-netns", "edge namespace (netns mode)", cxxopts::value<std::string>()->default_value("tandem-edge"), "NAME")
      ("cloud-netns", "cloud namespace (netns mode)", cxxopts::value<std::string>()->default_value("tandem-cloud"), "NAME")
      ("edge-dev", "edge's veth (netns mode)", cxxopts::value<std::string>()->default_value("veth-edge"), "DEV")
      ("cloud-dev", "cloud's veth (netns mode)", cxxopts::value<std::string>()->default_value("veth-cloud"), "DEV")
      ("cloud-addr", "cloud_daemon's address (netns mode: its veth address)", cxxopts::value<std::string>()->default_value("127.0.0.1"), "ADDR")
      ("bin-dir", "directory with edge_daemon and cloud_daemon", cxxopts::value<std::string>(), "DIR")
      ("profiles", "directory with the device profiles", cxxopts::value<std::string>()->default_value("profiles"), "DIR")
      ("edge-profile", "edge profile in --profiles", cxxopts::value<std::string>()->default_value("edge.json"), "FILE")
      ("cloud-profile", "cloud profile in --profiles", cxxopts::value<std::string>()->default_value("cloud.json"), "FILE")
      ("edge-threads", "edge threads (default: the edge profile's)", cxxopts::value<int>(), "N")
      ("slowdown", "edge slowdown (default: the edge profile's)", cxxopts::value<double>(), "F")
      ("cloud-threads", "cloud threads (default: the cloud profile's)", cxxopts::value<int>(), "N")
      ("probe-interval", "edge_daemon --probe-interval", cxxopts::value<std::string>()->default_value("2s"), "TIME")
      ("task-timeout", "seconds to wait for one task", cxxopts::value<int>()->default_value("600"), "S")
      ("out", "results directory", cxxopts::value<std::string>()->default_value("bench/results"), "DIR")
      ("work-dir", "key file and daemon logs", cxxopts::value<std::string>()->default_value("/tmp/tandem-evaluate"), "DIR")
      ("commit", "commit recorded in the report", cxxopts::value<std::string>()->default_value("unknown"), "TEXT")
      ("estimate-only", "print the expected duration and exit");
  return app::run_main("bench_evaluate", [&] {
    const auto parsed = app::parse_args(options, argc, argv);
    if (!parsed) return 0;
    const cxxopts::ParseResult& args = *parsed;
    const bool quick = args.count("quick") > 0;
    std::vector<std::string> models = app::split_list(args["models"].as<std::string>());
    if (quick && !args.count("models")) models = k_quick_models;
    if (models.empty() || (models.size() == 1 && models[0] == "all")) models = zoo_names();
    const auto links = parse_links(quick && !args.count("links") ? std::string(k_quick_links)
                                                                  : args["links"].as<std::string>());

    RunnerConfig rc;
    rc.models = models;
    rc.runs = quick && !args.count("runs") ? k_quick_runs : args["runs"].as<std::size_t>();
    rc.warmup = args["warmup"].as<std::size_t>();
    if (rc.runs < 1) throw app::UsageError("--runs must be at least 1");
    rc.confirm_runs = args.count("confirm-runs") ? args["confirm-runs"].as<std::size_t>() : 2 * rc.runs;
    rc.profiles_dir = fs::absolute(args["profiles"].as<std::string>());
    rc.edge_profile = args["edge-profile"].as<std::string>();
    rc.cloud_profile = args["cloud-profile"].as<std::string>();
    const auto edge_profile = planner::load_profile_for_planning(rc.profiles_dir / rc.edge_profile);
    const auto cloud_profile = planner::load_profile_for_planning(rc.profiles_dir / rc.cloud_profile);
    rc.edge_threads = args.count("edge-threads") ? args["edge-threads"].as<int>() : edge_profile.threads;
    rc.edge_slowdown = args.count("slowdown") ? args["slowdown"].as<double>() : edge_profile.slowdown;
    rc.cloud_threads = args.count("cloud-threads") ? args["cloud-threads"].as<int>() : cloud_profile.threads;
    rc.probe_interval = args["probe-interval"].as<std::string>();
    rc.task_timeout = std::chrono::seconds(args["task-timeout"].as<int>());
    rc.work_dir = args["work-dir"].as<std::string>();
    const std::string mode = args["link-mode"].as<std::string>();
    if (mode == "netns") {
      rc.mode = LinkMode::netns;
      rc.edge_netns = args["edge-netns"].as<std::string>();
      rc.cloud_netns = args["cloud-netns"].as<std::string>();
      rc.edge_dev = args["edge-dev"].as<std::string>();
      rc.cloud_dev = args["cloud-dev"].as<std::string>();
    } else if (mode != "emulated") {
      throw app::UsageError(fmt::format("--link-mode '{}': want netns or emulated", mode));
    }
    rc.cloud_addr = args["cloud-addr"].as<std::string>();
    rc.bin_dir = args.count("bin-dir") ? fs::path(args["bin-dir"].as<std::string>())
                                       : fs::absolute(argv[0]).parent_path();

    CandidateOptions co;
    co.top_k = args["top-k"].as<std::size_t>();
    co.random_cuts = args["random-cuts"].as<std::size_t>();
    co.max_candidates = args["max-candidates"].as<std::size_t>();

    // The planner exactly as the edge daemon builds it, for candidates and the estimate.
    const auto planner_ptr = planner::Planner::from_profiles(rc.profiles_dir / rc.edge_profile,
                                                             rc.profiles_dir / rc.cloud_profile);
    planner::Planner& planner = *planner_ptr;
    for (const auto& name : models) planner.add_model(zoo_graph(name));

    double estimate = 0;
    fmt::print("expected duration (predicted latencies × {} runs + {} warm-up, pruned as the runner prunes, "
               "with {} confirmation runs):\n",
               rc.runs, rc.warmup, rc.confirm_runs);
    for (const auto& link : links) {
      double link_s = k_edge_start_s;
      for (const auto& name : models) {
        const double s = predicted_pair_seconds(planner, name, link, co, rc.runs, rc.warmup, rc.confirm_runs);
        fmt::print("  {:<14} @ {:<14} {:>4} candidates  {:>7.0f} s\n", name, link.spec(),
                   make_candidates(planner, name, link, co).size(), s);
        link_s += s;
      }
      estimate += link_s;
    }
    fmt::print("total ≈ {:.0f} s ({:.1f} min) on an idle machine\n", estimate, estimate / 60);
    if (args.count("estimate-only")) return 0;

    ReportInfo info;
    info.date = predictor::utc_now();
    info.commit = args["commit"].as<std::string>();
    for (int i = 0; i < argc; ++i) info.command += (i ? " " : "") + std::string(argv[i]);
    info.host = host_description();
    info.edge_profile = describe(rc.profiles_dir / rc.edge_profile, edge_profile);
    info.cloud_profile = describe(rc.profiles_dir / rc.cloud_profile, cloud_profile);
    info.edge_threads = rc.edge_threads;
    info.edge_slowdown = rc.edge_slowdown;
    info.cloud_threads = rc.cloud_threads;
    info.probe_interval = rc.probe_interval;
    info.runs = rc.runs;
    info.warmup = rc.warmup;
    info.confirm_runs = rc.confirm_runs;
    info.top_k = co.top_k;
    info.random_cuts = co.random_cuts;
    info.max_candidates = co.max_candidates;
    info.estimated_s = estimate;
    info.complete = false;
    const fs::path out = args["out"].as<std::string>();

    const auto started = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };
    std::vector<PairResult> pairs;
    Runner runner(rc);
    for (const auto& link : links) {
      fmt::print("[{:6.0f} s] link {}: starting edge_daemon\n", elapsed(), link.spec());
      std::fflush(stdout);
      runner.use_link(link);
      for (const auto& name : models) {
        PairResult r = runner.measure(planner, name, link, co, [&](const std::string& line) {
          fmt::print("[{:6.0f} s]   {}\n", elapsed(), line);
          std::fflush(stdout);
        });
        analyse(r);
        fmt::print("[{:6.0f} s]   {} @ {}: planner {} {:.1f} ms, oracle {} {:.1f} ms, regret {:.1f}%, "
                   "edge-only {:.1f} ms, cloud-only {:.1f} ms\n",
                   elapsed(), name, link.spec(), r.planner_cut, r.planner_ms,
                   r.oracle_index >= 0 ? r.candidates[r.oracle_index].candidate.cut.to_string() : "-", r.oracle_ms,
                   100 * r.regret, r.edge_only_ms, r.cloud_only_ms);
        std::fflush(stdout);
        pairs.push_back(std::move(r));
        info.duration_s = elapsed();
        write_outputs(out, info, pairs);
      }
    }
    info.complete = true;
    info.duration_s = elapsed();
    write_outputs(out, info, pairs);
    fmt::print("wrote {} ({} pairs) in {:.0f} s\n", (out / "report.md").string(), pairs.size(), info.duration_s);
    return 0;
  });
}
