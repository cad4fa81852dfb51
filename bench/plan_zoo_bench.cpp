// Plan time of the partition optimisers on every zoo model (issue 4's goal:
// under 1 ms per model for latency), and the bandwidth sweep that fills the
// planner's cache.
//
// Costs come from the device profiles when both exist (TANDEM_EDGE_PROFILE /
// TANDEM_CLOUD_PROFILE, default <source>/profiles/{edge,cloud}.json), else from
// the FLOPs/bytes-based synthetic model of tests/testutil. The link is
// 5.85 Mbit/s with a 20 ms RTT.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "models/graph_builder.hpp"
#include "partition/optimise.hpp"
#include "partition/sweep.hpp"
#include "planner/planner.hpp"
#include "testutil/synthetic_costs.hpp"

namespace {

using tandem::GraphDesc;
using tandem::partition::CostModel;
using tandem::partition::Objective;

constexpr double k_bandwidth = 5.85e6 / 8;  // 5.85 Mbit/s in bytes/s
constexpr double k_rtt_ms = 20.0;
constexpr double k_sweep_low = 1.25e4;   // 100 kbit/s
constexpr double k_sweep_high = 1.25e8;  // 1 Gbit/s

std::filesystem::path profile_path(const char* env, const char* file) {
  if (const char* p = std::getenv(env)) return p;
  return std::filesystem::path(TANDEM_SOURCE_DIR) / "profiles" / file;
}

struct Costs {
  std::string source;
  std::vector<CostModel> models;  // by graph
};

Costs make_costs(const std::vector<GraphDesc>& graphs) {
  const auto edge_path = profile_path("TANDEM_EDGE_PROFILE", "edge.json");
  const auto cloud_path = profile_path("TANDEM_CLOUD_PROFILE", "cloud.json");
  Costs costs;
  if (std::filesystem::exists(edge_path) && std::filesystem::exists(cloud_path)) {
    const auto planner = tandem::planner::Planner::from_profiles(edge_path, cloud_path);
    costs.source = fmt::format("profiles {} + {}", edge_path.string(), cloud_path.string());
    const tandem::planner::Conditions conditions{.link = {k_bandwidth, k_bandwidth, k_rtt_ms}};
    for (const auto& g : graphs) {
      planner->add_model(g);
      costs.models.push_back(planner->cost_model(g.name(), conditions));
    }
  } else {
    costs.source = "synthetic (FLOPs/bytes; no profiles found)";
    for (const auto& g : graphs) {
      costs.models.push_back(tandem::testutil::synthetic_cost_model(g, k_bandwidth, k_rtt_ms));
    }
  }
  return costs;
}

void plan(benchmark::State& state, const GraphDesc& graph, const CostModel& model, Objective objective) {
  tandem::partition::Plan last;
  for (auto _ : state) {
    last = tandem::partition::optimise(graph, model, objective);
    benchmark::DoNotOptimize(last);
  }
  state.counters["nodes"] = static_cast<double>(graph.size());
  state.counters["edge_nodes"] = static_cast<double>(last.cut.computed_on_edge());
  state.counters["exact"] = last.exact ? 1 : 0;
}

void sweep(benchmark::State& state, const GraphDesc& graph, const CostModel& model) {
  std::size_t intervals = 0;
  for (auto _ : state) {
    const auto s = tandem::partition::sweep_bandwidth(graph, model, Objective::latency, k_sweep_low, k_sweep_high);
    intervals = s.size();
    benchmark::DoNotOptimize(s);
  }
  state.counters["intervals"] = static_cast<double>(intervals);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // Built once, before anything is timed; the benchmarks point into them.
  std::vector<GraphDesc> graphs;
  for (const auto& name : tandem::zoo_names()) graphs.push_back(tandem::zoo_graph(name));
  const Costs costs = make_costs(graphs);
  benchmark::AddCustomContext("costs", costs.source);
  for (Objective o : {Objective::latency, Objective::energy, Objective::throughput}) {
    for (std::size_t i = 0; i < graphs.size(); ++i) {
      const std::string name = fmt::format("BM_PlanZoo/{}/{}", tandem::partition::to_string(o), graphs[i].name());
      const GraphDesc* g = &graphs[i];
      const CostModel* m = &costs.models[i];
      benchmark::RegisterBenchmark(name.c_str(), [g, m, o](benchmark::State& state) { plan(state, *g, *m, o); })
          ->Unit(benchmark::kMicrosecond);
    }
  }
  for (std::size_t i = 0; i < graphs.size(); ++i) {
    const std::string name = fmt::format("BM_SweepZoo/latency/{}", graphs[i].name());
    const GraphDesc* g = &graphs[i];
    const CostModel* m = &costs.models[i];
    benchmark::RegisterBenchmark(name.c_str(), [g, m](benchmark::State& state) { sweep(state, *g, *m); })
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
