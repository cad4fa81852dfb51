// Chain optimiser: every split point scanned, checked against enumeration.
#include "partition/chain.hpp"

#include <cmath>
#include <random>
#include <stdexcept>

#include <gtest/gtest.h>

#include "partition/brute_force.hpp"
#include "partition/optimise.hpp"
#include "testutil/random_graph.hpp"

namespace tandem::partition {
namespace {

constexpr Objective k_objectives[] = {Objective::latency, Objective::energy, Objective::throughput};

void expect_close(double a, double b) { EXPECT_NEAR(a, b, 1e-9 * std::max(1.0, std::abs(b))); }

TEST(ChainOptimiser, EqualsEnumerationOnRandomChains) {
  std::mt19937_64 rng(41);
  int splits_seen = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const auto g = testutil::random_chain(rng, 1 + trial % 40);
    const auto m = testutil::random_cost_model(g, rng);
    for (Objective o : k_objectives) {
      const auto result = optimise_chain(g, m, o);
      const auto oracle = brute_force(g, m, o);
      expect_close(result.best.objective_value, oracle.objective_value);
      EXPECT_TRUE(result.best.exact);
      EXPECT_EQ(result.best.solver, Solver::chain_scan);
      EXPECT_EQ(result.best.cut.validate(g), "");
      if (result.best.placement == Placement::split) ++splits_seen;
    }
  }
  EXPECT_GT(splits_seen, 100);  // the random models do exercise interior splits
}

TEST(ChainOptimiser, EverySplitPointMatchesEvaluate) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    const auto g = testutil::random_chain(rng, 2 + trial);
    const auto m = testutil::random_cost_model(g, rng);
    const auto result = optimise_chain(g, m, Objective::latency);
    ASSERT_EQ(result.splits.size(), g.size());
    for (const auto& p : result.splits) {
      const auto b = evaluate(g, m, Cut::chain_prefix(g, p.split));
      expect_close(p.breakdown.total_ms, b.total_ms);
      expect_close(p.breakdown.energy_mj, b.energy_mj);
      expect_close(p.breakdown.period_ms, b.period_ms);
      EXPECT_EQ(p.breakdown.upload_bytes, b.upload_bytes);
      EXPECT_EQ(p.breakdown.download_bytes, b.download_bytes);
      EXPECT_EQ(p.objective_value, p.breakdown.total_ms);
    }
    EXPECT_EQ(result.splits.front().breakdown.edge_ms, 0);  // cloud-only
    EXPECT_EQ(result.splits.back().breakdown.upload_bytes, 0);  // edge-only
  }
}

// Neurosurgeon's shape: a fat early layer and a thin late one. 0 (4000 B) ->
// 1 (40000 B) -> 2 (400 B) -> 3 (40 B).
TEST(ChainOptimiser, PicksTheThinTensorSplit) {
  const auto g = testutil::make_graph({{}, {0}, {1}, {2}}, {1000, 10000, 100, 10});
  CostModel m;
  m.edge_ms = {0, 5, 5, 50};
  m.cloud_ms = {0, 1, 1, 1};
  m.link = {1e6, 1e6, 10};  // 1 ms per 1000 bytes
  const auto r = optimise_chain(g, m, Objective::latency);
  // split 0: 4 + 10 + 3 + 0.04 = 17.04; split 1: 5 + 40 + 10 + 2 + 0.04;
  // split 2: 10 + 0.4 + 10 + 1 + 0.04 = 21.44; edge-only: 60.
  EXPECT_EQ(r.best.cut, Cut::chain_prefix(g, 0));
  EXPECT_NEAR(r.splits[0].objective_value, 17.04, 1e-12);
  EXPECT_NEAR(r.splits[2].objective_value, 21.44, 1e-12);
  EXPECT_NEAR(r.splits[3].objective_value, 60, 1e-12);
  m.link.uplink_bytes_per_s = 1e5;  // uploads 10x slower: the thin tensor wins
  EXPECT_EQ(optimise_chain(g, m, Objective::latency).best.cut, Cut::chain_prefix(g, 2));
}

TEST(ChainOptimiser, TiesGoToTheEdge) {
  const auto g = testutil::make_graph({{}, {0}}, {1, 1});  // 4-byte tensors
  CostModel m;
  m.edge_ms = {0, 5};
  m.cloud_ms = {0, 1};
  m.link = {4000.0, 4000.0, 2.0};  // cloud-only: 1 (up) + 2 (rtt) + 1 (cloud) + 1 (down) == 5 == edge-only
  const auto r = optimise_chain(g, m, Objective::latency);
  ASSERT_EQ(r.splits[0].objective_value, r.splits[1].objective_value);
  EXPECT_EQ(r.best.placement, Placement::edge_only);
  m.link.rtt_ms = 1.5;
  EXPECT_EQ(optimise_chain(g, m, Objective::latency).best.placement, Placement::cloud_only);
}

TEST(ChainOptimiser, OptimiseUsesTheChainScan) {
  std::mt19937_64 rng(3);
  const auto g = testutil::random_chain(rng, 12);
  const auto m = testutil::random_cost_model(g, rng);
  EXPECT_EQ(optimise(g, m, Objective::energy).solver, Solver::chain_scan);
}

TEST(ChainOptimiser, RejectsNonChains) {
  const auto g = testutil::make_graph({{}, {0}, {0}, {1, 2}}, {2, 1, 1, 2});
  CostModel m;
  m.edge_ms = m.cloud_ms = {0, 1, 1, 1};
  EXPECT_THROW(optimise_chain(g, m, Objective::latency), std::invalid_argument);
}

TEST(ChainOptimiser, SingleNodeGraphIsEdgeOnly) {
  const auto g = testutil::make_graph({{}}, {4});
  CostModel m;
  m.edge_ms = m.cloud_ms = {0};
  const auto r = optimise_chain(g, m, Objective::latency);
  EXPECT_EQ(r.best.placement, Placement::edge_only);
  EXPECT_EQ(r.best.objective_value, 0);
}

}  // namespace
}  // namespace tandem::partition
