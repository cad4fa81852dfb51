// bench_queue_bound: what the planner's cost model says about a task queue
// submitted at once — the lower bound on its makespan and mean completion
// (partition/schedule.hpp, docs/design.md §4.5), the batch scheduler's own
// schedule of the whole queue, and edge-only / cloud-only for reference.
// bench/queue.sh prints these beside the measured runs. The queue is made
// exactly as `tandem submit --models --count --shuffle --seed` makes it.
//
//   bench_queue_bound --models lenet,alexnet --count 40 --shuffle --seed 7
//       --link 5.85mbit,one-way=20ms --profiles profiles      (one command line)

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <cxxopts.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/graph_builder.hpp"
#include "partition/schedule.hpp"
#include "planner/planner.hpp"
#include "units/units.hpp"

namespace {

using namespace tandem;

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const auto end = comma == std::string::npos ? text.size() : comma;
    if (end > start) out.push_back(text.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

nlohmann::json summary(const partition::Schedule& s) {
  std::vector<double> done;
  for (const auto& slot : s.slots) done.push_back(slot.done);
  return {{"makespan_ms", s.makespan}, {"mean_completion_ms", mean(done)}};
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options options("bench_queue_bound", "Lower bounds and offline schedules of a task queue");
  options.add_options()
      ("models", "models to cycle through", cxxopts::value<std::string>())
      ("count", "tasks", cxxopts::value<std::size_t>()->default_value("40"))
      ("shuffle", "random model order (as tandem submit --shuffle)")
      ("seed", "seed (as tandem submit --seed)", cxxopts::value<std::uint64_t>()->default_value("1"))
      ("link", "the link, e.g. 5.85mbit,one-way=20ms", cxxopts::value<std::string>())
      ("profiles", "directory with edge.json and cloud.json", cxxopts::value<std::string>()->default_value("profiles"))
      ("window", "tasks in the daemon's planning window (time one decision)", cxxopts::value<std::size_t>()->default_value("16"))
      ("edge-scale", "multiply the edge profile's compute by F (the speed a calibrating edge measured)",
       cxxopts::value<double>()->default_value("1"), "F")
      ("cloud-scale", "the same for the cloud profile", cxxopts::value<double>()->default_value("1"), "F")
      ("help", "this text");
  try {
    const auto args = options.parse(argc, argv);
    if (args.count("help") || !args.count("models") || !args.count("link")) {
      fmt::print("{}\n", options.help());
      return args.count("help") ? 0 : 2;
    }
    const auto models = split(args["models"].as<std::string>());
    const units::Link link = units::parse_link(args["link"].as<std::string>());
    if (!link.bytes_per_s) throw std::invalid_argument("--link needs a rate");
    const std::filesystem::path dir = args["profiles"].as<std::string>();
    const auto planner = planner::Planner::from_profiles(dir / "edge.json", dir / "cloud.json");
    for (const auto& m : models) planner->add_model(zoo_graph(m));

    const double edge_scale = args["edge-scale"].as<double>(), cloud_scale = args["cloud-scale"].as<double>();
    if (!(edge_scale > 0) || !(cloud_scale > 0) || !std::isfinite(edge_scale) || !std::isfinite(cloud_scale)) {
      throw std::invalid_argument("--edge-scale and --cloud-scale must be finite and > 0");
    }
    const planner::Conditions speeds{.edge_scale = edge_scale, .cloud_scale = cloud_scale};
    // A cut's stages at the measured speeds.
    const auto stages = [&](const partition::CutWork& w, const partition::Link& l) {
      return partition::stages_of(planner::scaled(w, speeds), l);
    };
    const partition::Link plink{.uplink_bytes_per_s = *link.bytes_per_s,
                                .downlink_bytes_per_s = *link.bytes_per_s,
                                .rtt_ms = link.rtt_ms};
    const auto seed = args["seed"].as<std::uint64_t>();
    std::mt19937_64 rng(seed);
    std::vector<partition::BatchTask> tasks, edge_only, cloud_only;
    for (std::size_t i = 0; i < args["count"].as<std::size_t>(); ++i) {
      const std::size_t k = args.count("shuffle") ? rng() % models.size() : i % models.size();
      const auto candidates = planner->candidates(models[k], partition::Codec::fp32);
      partition::BatchTask t{.group = k};
      for (const auto& w : *candidates) t.options.push_back(stages(w, plink));
      tasks.push_back(t);
      const GraphDesc& g = planner->graph(models[k]);
      edge_only.push_back({{stages(planner->cut_work(models[k], Cut::edge_only(g), partition::Codec::fp32), plink)}, k});
      cloud_only.push_back({{stages(planner->cut_work(models[k], Cut::cloud_only(g), partition::Codec::fp32), plink)}, k});
    }
    using partition::BatchObjective;
    const partition::Timeline free;
    nlohmann::json out;
    out["link"] = units::to_string(link);
    out["edge_scale"] = edge_scale;
    out["cloud_scale"] = cloud_scale;
    out["tasks"] = tasks.size();
    out["bound"] = {{"makespan_ms", partition::batch_lower_bound(tasks, link.rtt_ms, free, BatchObjective::makespan)},
                    {"mean_completion_ms", partition::batch_lower_bound(tasks, link.rtt_ms, free, BatchObjective::total_completion) /
                                               static_cast<double>(tasks.size())}};
    out["schedule_makespan"] = summary(partition::schedule_batch(tasks, link.rtt_ms, free, BatchObjective::makespan));
    out["schedule_mean"] = summary(partition::schedule_batch(tasks, link.rtt_ms, free, BatchObjective::total_completion));
    std::vector<std::size_t> fifo(tasks.size());
    for (std::size_t i = 0; i < fifo.size(); ++i) fifo[i] = i;
    const std::vector<std::size_t> zero(tasks.size(), 0);
    out["edge_only"] = summary(partition::evaluate_schedule(edge_only, link.rtt_ms, free, fifo, zero, BatchObjective::makespan));
    out["cloud_only"] = summary(partition::evaluate_schedule(cloud_only, link.rtt_ms, free, fifo, zero, BatchObjective::makespan));
    // Planning time of one dispatch decision in the daemon: a window of the
    // first W tasks (--batch-window), with the daemon's options and others.
    const auto window = std::min<std::size_t>(args["window"].as<std::size_t>(), tasks.size());
    const std::vector<partition::BatchTask> head(tasks.begin(), tasks.begin() + static_cast<std::ptrdiff_t>(window));
    for (const auto& [name, o] : {std::pair{"daemon", partition::k_daemon_schedule_options},
                                  std::pair{"heuristic", partition::ScheduleOptions{.exact_max_tasks = 0}},
                                  std::pair{"exact6", partition::ScheduleOptions{.exact_max_tasks = 6, .exact_node_budget = 20'000,
                                                                                 .local_search_passes = 2}}}) {
      for (const auto objective : {BatchObjective::makespan, BatchObjective::total_completion}) {
        const std::size_t tail = std::min<std::size_t>(6, window);
        const std::vector<partition::BatchTask> last(head.end() - static_cast<std::ptrdiff_t>(tail), head.end());
        for (const auto* batch : {&head, &last}) {
          std::vector<double> ms;
          for (int rep = 0; rep < 5; ++rep) {
            const auto t0 = std::chrono::steady_clock::now();
            const auto s = partition::schedule_batch(*batch, link.rtt_ms, free, objective, o);
            ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
            if (s.order.empty()) return 1;
          }
          std::sort(ms.begin(), ms.end());
          out["plan_time_ms"][fmt::format("{}/{}/{}", name, objective == BatchObjective::makespan ? "makespan" : "mean",
                                          batch->size())] = ms[ms.size() / 2];
        }
      }
    }
    fmt::print("{}\n", out.dump());
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_queue_bound: {}\n", e.what());
    return 1;
  }
}
