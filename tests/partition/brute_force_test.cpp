// The oracle itself: it must find the optimum of small hand-checked cases and
// refuse graphs past its limit.
#include "partition/brute_force.hpp"

#include <random>
#include <stdexcept>

#include <gtest/gtest.h>

#include "testutil/random_graph.hpp"

namespace tandem::partition {
namespace {

// Diamond 0 -> {1, 2} -> 3 has 5 closed cuts: {0}, {0,1}, {0,2}, {0,1,2}, all.
TEST(BruteForceOracle, FindsTheBestOfEveryClosedCut) {
  const auto g = testutil::make_graph({{}, {0}, {0}, {1, 2}}, {10, 10, 10, 20});
  CostModel m;
  m.edge_ms = {0, 1, 100, 100};
  m.cloud_ms = {0, 50, 1, 1};
  m.link = {40000.0, 40000.0, 0.0};  // 40 bytes (one tensor) = 1 ms
  // {0,1}: edge 1; upload node 0 (consumer 2) + node 1 = 2 ms; cloud 2; download 80 B = 2 ms: 7.
  const Plan plan = brute_force(g, m, Objective::latency);
  EXPECT_EQ(plan.cut, Cut({true, true, false, false}));
  EXPECT_DOUBLE_EQ(plan.objective_value, 7.0);
  EXPECT_EQ(plan.solver, Solver::enumeration);
  EXPECT_TRUE(plan.exact);
  ASSERT_EQ(plan.crossing.size(), 2u);
}

TEST(BruteForceOracle, NeverWorseThanAnySampledCut) {
  std::mt19937_64 rng(21);
  for (int trial = 0; trial < 100; ++trial) {
    const auto g = testutil::random_dag(rng);
    const auto m = testutil::random_cost_model(g, rng);
    const Plan best = brute_force(g, m, Objective::latency);
    for (int k = 0; k < 20; ++k) EXPECT_LE(best.objective_value, latency(g, m, random_closed_cut(g, rng)));
  }
}

TEST(BruteForceOracle, RefusesPastTheLimit) {
  // A star: the input feeds 10 independent nodes, 2^10 closed cuts.
  std::vector<std::vector<NodeId>> inputs{{}};
  std::vector<std::int64_t> widths{1};
  for (int i = 0; i < 10; ++i) {
    inputs.push_back({0});
    widths.push_back(1);
  }
  const auto g = testutil::make_graph(inputs, widths);
  CostModel m;
  m.edge_ms.assign(g.size(), 1.0);
  m.cloud_ms.assign(g.size(), 1.0);
  EXPECT_NO_THROW(brute_force(g, m, Objective::latency, 1024));
  EXPECT_THROW(brute_force(g, m, Objective::latency, 1023), std::length_error);
}

}  // namespace
}  // namespace tandem::partition
