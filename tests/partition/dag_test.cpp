// DAG optimiser (DADS min cut) against the brute-force oracle.
#include "partition/dag.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "partition/brute_force.hpp"
#include "partition/chain.hpp"
#include "partition/optimise.hpp"
#include "testutil/random_graph.hpp"

namespace tandem::partition {
namespace {

constexpr double k_relative = 1e-9;

void expect_close(double a, double b) { EXPECT_NEAR(a, b, k_relative * std::max(1.0, std::abs(b))); }

bool has_shared_tensor(const GraphDesc& g) {
  for (std::size_t v = 0; v < g.size(); ++v) {
    if (g.consumers(static_cast<NodeId>(v)).size() > 1) return true;
  }
  return false;
}

void check_plan_consistent(const GraphDesc& g, const CostModel& m, const Plan& plan) {
  ASSERT_EQ(plan.cut.validate(g), "");
  const auto b = evaluate(g, m, plan.cut);
  EXPECT_EQ(plan.predicted, b);
  EXPECT_EQ(plan.objective_value, objective_value(b, plan.objective));
  EXPECT_EQ(plan.placement, placement_of(plan.cut));
}

// The acceptance test of issue 4: >= 1000 random DAGs of <= 16 nodes with
// shared tensors and several sinks; latency and energy equal the oracle's.
TEST(DagMinCut, MinCutEqualsBruteForceOnRandomDags) {
  std::mt19937_64 rng(2024);
  constexpr int k_graphs = 1200;
  int shared = 0, several_sinks = 0;
  int placements[3] = {0, 0, 0};
  for (int trial = 0; trial < k_graphs; ++trial) {
    testutil::RandomGraphOptions options;
    options.nodes = 2 + static_cast<std::size_t>(trial % 15);  // 2..16
    const auto g = testutil::random_dag(rng, options);
    const auto m = testutil::random_cost_model(g, rng);
    shared += has_shared_tensor(g);
    several_sinks += g.sinks().size() > 1;
    for (Objective o : {Objective::latency, Objective::energy}) {
      const Plan plan = optimise_dag(g, m, o);
      const Plan oracle = brute_force(g, m, o);
      SCOPED_TRACE(testing::Message() << "trial " << trial << " objective " << to_string(o) << " plan "
                                      << plan.cut.to_string() << " oracle " << oracle.cut.to_string());
      expect_close(plan.objective_value, oracle.objective_value);
      EXPECT_EQ(plan.solver, Solver::min_cut);
      EXPECT_TRUE(plan.exact);
      check_plan_consistent(g, m, plan);
      ++placements[static_cast<int>(plan.placement)];
    }
  }
  // The generator really produces the structures the min cut must handle.
  EXPECT_GT(shared, k_graphs / 2);
  EXPECT_GT(several_sinks, k_graphs / 2);
  for (int count : placements) EXPECT_GT(count, 100) << "each placement must be optimal sometimes";
}

// 0 -> 1 (4000 B) -> {2, 3}: cutting after node 1 uploads its tensor once.
// Without the auxiliary vertex the min cut would charge it twice (8 ms) and
// prefer cloud-only (4.8 ms upload).
TEST(DagMinCut, SharedTensorIsPaidOnce) {
  const auto g = testutil::make_graph({{}, {0}, {1}, {1}}, {1200, 1000, 1, 1});
  CostModel m;
  m.edge_ms = {0, 0.5, 100, 100};
  m.cloud_ms = {0, 0.01, 0.01, 0.01};
  m.link = {1e6, 1e6, 0.0};
  const Plan plan = optimise_dag(g, m, Objective::latency);
  EXPECT_EQ(plan.cut, Cut({true, true, false, false}));
  ASSERT_EQ(plan.crossing.size(), 1u);
  EXPECT_EQ(plan.crossing.front().node, 1);
  EXPECT_EQ(plan.crossing.front().bytes, 4000);
  expect_close(plan.objective_value, brute_force(g, m, Objective::latency).objective_value);
}

// The RTT and queue wait are paid by every plan but edge-only: as they grow
// the optimum must switch to edge-only exactly where the oracle does.
TEST(DagMinCut, ConstantsOfRemotePlansAreExact) {
  std::mt19937_64 rng(5);
  int graphs_with_remote_optimum = 0;
  for (int trial = 0; trial < 40; ++trial) {
    testutil::RandomGraphOptions options;
    options.nodes = 10;
    const auto g = testutil::random_dag(rng, options);
    auto m = testutil::random_cost_model(g, rng);
    m.link.uplink_bytes_per_s = m.link.downlink_bytes_per_s = 1e9;
    bool saw_remote = false, saw_edge_only = false;
    for (double wait : {0.0, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0}) {
      m.cloud_wait_ms = wait;
      for (Objective o : {Objective::latency, Objective::energy}) {
        const Plan plan = optimise_dag(g, m, o);
        expect_close(plan.objective_value, brute_force(g, m, o).objective_value);
        (plan.placement == Placement::edge_only ? saw_edge_only : saw_remote) = true;
      }
    }
    EXPECT_TRUE(saw_edge_only);
    graphs_with_remote_optimum += saw_remote;
  }
  EXPECT_GT(graphs_with_remote_optimum, 20);
}

TEST(DagMinCut, ZeroBandwidthLimitGivesEdgeOnly) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    testutil::RandomGraphOptions options;
    options.nodes = 2 + static_cast<std::size_t>(trial % 40);
    const auto g = testutil::random_dag(rng, options);
    auto m = testutil::random_cost_model(g, rng);
    m.link.uplink_bytes_per_s = m.link.downlink_bytes_per_s = 1e-6;
    for (Objective o : {Objective::latency, Objective::energy, Objective::throughput}) {
      EXPECT_EQ(optimise(g, m, o).placement, Placement::edge_only) << to_string(o);
    }
  }
}

TEST(DagMinCut, InfiniteBandwidthAndFastCloudGiveCloudOnly) {
  std::mt19937_64 rng(12);
  for (int trial = 0; trial < 200; ++trial) {
    testutil::RandomGraphOptions options;
    options.nodes = 2 + static_cast<std::size_t>(trial % 40);
    const auto g = testutil::random_dag(rng, options);
    auto m = testutil::random_cost_model(g, rng);
    m.link = {1e15, 1e15, 0.0};
    m.cloud_wait_ms = 0;
    m.codec_prices = partition::free_codec_prices();  // fp16's encode time would be a cost the link does not have
    for (std::size_t v = 0; v < g.size(); ++v) m.cloud_ms[v] = m.edge_ms[v] / 1000;
    for (Objective o : {Objective::latency, Objective::energy}) {
      EXPECT_EQ(optimise(g, m, o).placement, Placement::cloud_only) << to_string(o);
    }
  }
}

TEST(DagMinCut, AgreesWithTheChainScanOnChains) {
  std::mt19937_64 rng(13);
  for (int trial = 0; trial < 200; ++trial) {
    const auto g = testutil::random_chain(rng, 1 + trial % 30);
    const auto m = testutil::random_cost_model(g, rng);
    for (Objective o : {Objective::latency, Objective::energy}) {
      expect_close(optimise_dag(g, m, o).objective_value, optimise_chain(g, m, o).best.objective_value);
    }
  }
}

// Too big for the oracle: the min cut must still beat every cut we can name.
TEST(DagMinCut, LargeDagBeatsSampledCuts) {
  std::mt19937_64 rng(14);
  testutil::RandomGraphOptions options;
  options.nodes = 2000;
  options.window = 8;
  const auto g = testutil::random_dag(rng, options);
  auto m = testutil::random_cost_model(g, rng);
  m.link = {2e6, 2e6, 20.0};
  for (Objective o : {Objective::latency, Objective::energy}) {
    const Plan plan = optimise_dag(g, m, o);
    check_plan_consistent(g, m, plan);
    for (int k = 0; k < 300; ++k) {
      const double other = objective_value(evaluate(g, m, random_closed_cut(g, rng)), o);
      EXPECT_LE(plan.objective_value, other * (1 + k_relative));
    }
    for (const Cut& c : articulation_cuts(g)) {
      EXPECT_LE(plan.objective_value, objective_value(evaluate(g, m, c), o) * (1 + k_relative));
    }
  }
}

TEST(DagMinCut, InvalidModelThrows) {
  const auto g = testutil::make_graph({{}, {0}, {0}, {1, 2}}, {2, 1, 1, 2});
  CostModel m;
  m.edge_ms = {0, 1, 1};
  m.cloud_ms = {0, 1, 1, 1};
  EXPECT_THROW(optimise_dag(g, m, Objective::latency), std::invalid_argument);
}

}  // namespace
}  // namespace tandem::partition
