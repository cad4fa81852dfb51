// Plan time of the partition optimisers (issue 4): random DAGs and chains up
// to 2000 nodes. Zoo models are added with the LibTorch-side benchmarks.
#include <random>

#include <benchmark/benchmark.h>

#include "partition/optimise.hpp"
#include "partition/sweep.hpp"
#include "testutil/random_graph.hpp"

namespace {

using tandem::GraphDesc;
using tandem::partition::CostModel;
using tandem::partition::Objective;

constexpr std::uint64_t k_seed = 4;

// Local wiring like real networks: producers among the last 8 nodes.
GraphDesc bench_dag(std::size_t nodes) {
  std::mt19937_64 rng(k_seed);
  tandem::testutil::RandomGraphOptions options;
  options.nodes = nodes;
  options.window = 8;
  return tandem::testutil::random_dag(rng, options);
}

GraphDesc bench_chain(std::size_t nodes) {
  std::mt19937_64 rng(k_seed);
  return tandem::testutil::random_chain(rng, nodes);
}

CostModel bench_model(const GraphDesc& graph) {
  std::mt19937_64 rng(k_seed + 1);
  auto model = tandem::testutil::random_cost_model(graph, rng);
  model.link = {5.85e6 / 8, 5.85e6 / 8, 20.0};  // 5.85 Mbit/s, 20 ms
  return model;
}

void plan(benchmark::State& state, const GraphDesc& graph, Objective objective) {
  const CostModel model = bench_model(graph);
  for (auto _ : state) benchmark::DoNotOptimize(tandem::partition::optimise(graph, model, objective));
  state.counters["nodes"] = static_cast<double>(graph.size());
}

void BM_PlanDagLatency(benchmark::State& state) {
  plan(state, bench_dag(static_cast<std::size_t>(state.range(0))), Objective::latency);
}
void BM_PlanDagEnergy(benchmark::State& state) {
  plan(state, bench_dag(static_cast<std::size_t>(state.range(0))), Objective::energy);
}
void BM_PlanDagThroughput(benchmark::State& state) {
  plan(state, bench_dag(static_cast<std::size_t>(state.range(0))), Objective::throughput);
}
void BM_PlanChainLatency(benchmark::State& state) {
  plan(state, bench_chain(static_cast<std::size_t>(state.range(0))), Objective::latency);
}
void BM_PlanChainThroughput(benchmark::State& state) {
  plan(state, bench_chain(static_cast<std::size_t>(state.range(0))), Objective::throughput);
}

// Sweep 10 kbit/s .. 1 Gbit/s: the planner's cache fill.
void BM_SweepDagLatency(benchmark::State& state) {
  const GraphDesc graph = bench_dag(static_cast<std::size_t>(state.range(0)));
  const CostModel model = bench_model(graph);
  std::size_t intervals = 0;
  for (auto _ : state) {
    const auto sweep = tandem::partition::sweep_bandwidth(graph, model, Objective::latency, 1250.0, 1.25e8);
    intervals = sweep.size();
    benchmark::DoNotOptimize(sweep);
  }
  state.counters["intervals"] = static_cast<double>(intervals);
}

BENCHMARK(BM_PlanDagLatency)->Arg(50)->Arg(200)->Arg(2000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PlanDagEnergy)->Arg(2000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PlanDagThroughput)->Arg(200)->Arg(2000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PlanChainLatency)->Arg(50)->Arg(2000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PlanChainThroughput)->Arg(2000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SweepDagLatency)->Arg(200)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
