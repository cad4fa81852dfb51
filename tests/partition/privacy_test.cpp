// The privacy floor: parsing, the protected and pinned sets, and every
// optimiser honouring it — on every zoo model (torch-free graphs) and against
// the brute-force oracle on random DAGs.
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "models/graph_builder.hpp"
#include "partition/brute_force.hpp"
#include "partition/chain.hpp"
#include "partition/optimise.hpp"
#include "partition/privacy.hpp"
#include "partition/sweep.hpp"
#include "testutil/random_graph.hpp"
#include "testutil/synthetic_costs.hpp"

namespace tandem::partition {
namespace {

// 100 kbit/s .. 10 Gbit/s: from edge-only to cloud-only for every zoo model.
const std::vector<double> k_bandwidths = {12'500, 731'250, 12'500'000, 1'250'000'000};

// True when the cut keeps every pinned node on the edge.
bool holds(const std::vector<bool>& pinned, const Cut& cut) {
  for (std::size_t v = 0; v < pinned.size(); ++v) {
    if (pinned[v] && !cut.mask().at(v)) return false;
  }
  return true;
}

TEST(PartitionPrivacy, ParsesAndPrintsFloors) {
  EXPECT_TRUE(parse_privacy_floor("none").empty());
  EXPECT_TRUE(parse_privacy_floor("").empty());
  EXPECT_EQ(parse_privacy_floor("layers:3").layers, 3u);
  const auto both = parse_privacy_floor("layers:2, node:features.3,node:7");
  EXPECT_EQ(both.layers, 2u);
  EXPECT_EQ(both.nodes, (std::vector<std::string>{"features.3", "7"}));
  EXPECT_EQ(parse_privacy_floor(to_string(both)), both);
  EXPECT_EQ(to_string(PrivacyFloor{}), "none");
  for (const char* bad : {"layers:", "layers:x", "layers:-1", "node:", "depth:2", "layers:2,,", "layers:99999999999"}) {
    EXPECT_THROW(parse_privacy_floor(bad), std::invalid_argument) << bad;
  }
  const auto m = merged(parse_privacy_floor("layers:1,node:a"), parse_privacy_floor("layers:4,node:b,node:a"));
  EXPECT_EQ(m.layers, 4u);
  EXPECT_EQ(m.nodes, (std::vector<std::string>{"a", "b"}));
}

// input -> conv-like a -> b -> add(d) ; a skip from the input side:
//   0 -> 1 (linear) -> 2 (linear) -> 4 (concat of 2 and 3)
//   0 -> 3 (linear)
// make_graph gives one-producer nodes the linear kind, i.e. a weight layer.
TEST(PartitionPrivacy, DepthIsTheShallowestPath) {
  const GraphDesc g = testutil::make_graph({{}, {0}, {1}, {0}, {2, 3}, {4}}, {8, 8, 8, 8, 16, 4});
  EXPECT_EQ(weight_layer_depths(g), (std::vector<std::size_t>{0, 1, 2, 1, 1, 2}));
  // layers:2 protects everything shallower than two layers: 0, 1, 3 and the join 4.
  EXPECT_EQ(protected_nodes(g, parse_privacy_floor("layers:2")),
            (std::vector<bool>{true, true, false, true, true, false}));
  // ... so the join's consumer, 5, is pinned as well: the whole graph.
  EXPECT_EQ(privacy_pinned(g, parse_privacy_floor("layers:2")), std::vector<bool>(6, true));
  // node:2 protects its strict ancestors 0 and 1; their consumers 1, 2, 3 are pinned.
  EXPECT_EQ(privacy_pinned(g, parse_privacy_floor("node:2")),
            (std::vector<bool>{true, true, true, true, false, false}));
  EXPECT_TRUE(privacy_pinned(g, PrivacyFloor{}).empty());
  EXPECT_THROW(privacy_pinned(g, parse_privacy_floor("node:nope")), std::invalid_argument);
  EXPECT_THROW(privacy_pinned(g, parse_privacy_floor("node:6")), std::invalid_argument);
}

TEST(PartitionPrivacy, MakePlanRefusesACutThatSendsProtectedTensors) {
  const GraphDesc g = testutil::make_graph({{}, {0}, {1}, {2}}, {1000, 10, 10, 10}, "chain4");
  auto m = testutil::synthetic_cost_model(g, 1e9);
  m.edge_pinned = privacy_pinned(g, parse_privacy_floor("layers:1"));
  try {
    make_plan(g, m, Cut::cloud_only(g), Objective::latency);
    FAIL() << "cloud-only sends the raw input";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("privacy floor"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(make_plan(g, m, Cut::chain_prefix(g, 1), Objective::latency));
  EXPECT_EQ(privacy_violation(g, parse_privacy_floor("layers:1"), Cut::cloud_only(g)).empty(), false);
  EXPECT_TRUE(privacy_violation(g, parse_privacy_floor("layers:1"), Cut::chain_prefix(g, 1)).empty());
}

TEST(PartitionPrivacy, ValidateRefusesABadPinnedMask) {
  const GraphDesc g = testutil::make_graph({{}, {0}, {1}}, {8, 8, 8});
  auto m = testutil::synthetic_cost_model(g, 1e6);
  m.edge_pinned = {true, true};
  EXPECT_THROW(validate(g, m), std::invalid_argument);
  m.edge_pinned = {true, false, true};  // not closed
  EXPECT_THROW(validate(g, m), std::invalid_argument);
  m.edge_pinned = {false, false, false};  // without the input
  EXPECT_THROW(validate(g, m), std::invalid_argument);
}

// The floor holds for every zoo model, objective, codec and bandwidth — at 10
// Gbit/s every unconstrained plan would send the raw input.
TEST(PartitionPrivacy, EveryZooModelHonoursTheFloor) {
  for (const auto& name : zoo_names()) {
    const GraphDesc g = zoo_graph(name);
    std::vector<PrivacyFloor> floors = {parse_privacy_floor("layers:1"), parse_privacy_floor("layers:2"),
                                        parse_privacy_floor("layers:5")};
    floors.push_back(parse_privacy_floor("node:" + g.nodes()[g.size() / 3].name));
    floors.push_back(parse_privacy_floor("layers:1,node:" + std::to_string(g.size() / 2)));
    for (const auto& floor : floors) {
      const auto pinned = privacy_pinned(g, floor);
      for (double bandwidth : k_bandwidths) {
        for (Codec codec : {Codec::fp32, Codec::int8_zstd}) {
          auto m = testutil::synthetic_cost_model(g, bandwidth, 1.0);
          m.codec = codec;
          m.edge_pinned = pinned;
          for (Objective objective : {Objective::latency, Objective::energy, Objective::throughput}) {
            OptimiseOptions options;
            options.throughput.enumeration_budget = 0;  // the search alone: enumeration is brute force
            const Plan plan = optimise(g, m, objective, options);
            const std::string where = fmt::format("{} floor {} at {} B/s, {}, {}", name, to_string(floor), bandwidth,
                                                  to_string(codec), to_string(objective));
            EXPECT_TRUE(plan.cut.validate(g).empty()) << where;
            EXPECT_TRUE(holds(pinned, plan.cut)) << where << ": " << pinned_violation(g, pinned, plan.cut);
            EXPECT_TRUE(privacy_violation(g, floor, plan.cut).empty()) << where << ": "
                                                                        << privacy_violation(g, floor, plan.cut);
            if (floor.layers > 0) {
              for (NodeId id : plan.cut.crossing(g)) EXPECT_FALSE(g.is_input(id)) << where << ": the input is sent";
            }
          }
        }
      }
      // The sweep's plans obey it too.
      auto m = testutil::synthetic_cost_model(g, 1e6, 1.0);
      m.edge_pinned = pinned;
      for (const auto& interval : sweep_bandwidth(g, m, Objective::latency, 12'500, 1.25e9)) {
        EXPECT_TRUE(holds(pinned, interval.plan.cut)) << name << " sweep, floor " << to_string(floor);
      }
    }
  }
}

// Without the floor, the same fast link makes some zoo plan send the input:
// the test above is not vacuous.
TEST(PartitionPrivacy, WithoutAFloorAFastLinkSendsTheInput) {
  int cloud_only = 0;
  for (const auto& name : zoo_names()) {
    const GraphDesc g = zoo_graph(name);
    cloud_only += optimise(g, testutil::synthetic_cost_model(g, 1.25e9, 1.0), Objective::latency).cut.is_cloud_only();
  }
  EXPECT_GT(cloud_only, 0);
}

// With a floor, each optimiser equals the brute-force oracle restricted to the
// cuts the floor allows.
TEST(PartitionPrivacy, OptimisersMatchConstrainedBruteForce) {
  std::mt19937_64 rng(15);
  for (int i = 0; i < 300; ++i) {
    testutil::RandomGraphOptions options;
    options.nodes = 6 + static_cast<std::size_t>(i % 9);
    const GraphDesc g = i % 4 == 0 ? testutil::random_chain(rng, options.nodes) : testutil::random_dag(rng, options);
    auto m = testutil::random_cost_model(g, rng);
    m.codec = k_codecs[static_cast<std::size_t>(i) % k_codec_count];
    const NodeId floor_node = static_cast<NodeId>(1 + rng() % (g.size() - 1));
    const PrivacyFloor floor = i % 2 ? parse_privacy_floor("node:" + std::to_string(floor_node))
                                     : PrivacyFloor{1 + static_cast<std::size_t>(rng() % 3), {}};
    m.edge_pinned = privacy_pinned(g, floor);
    for (Objective objective : {Objective::latency, Objective::energy, Objective::throughput}) {
      const Plan oracle = brute_force(g, m, objective);
      const Plan plan = optimise(g, m, objective);
      ASSERT_TRUE(holds(m.edge_pinned, oracle.cut));
      ASSERT_TRUE(holds(m.edge_pinned, plan.cut)) << i << " " << to_string(objective);
      EXPECT_TRUE(privacy_violation(g, floor, plan.cut).empty()) << i;
      // Small graphs: the throughput search falls back to (constrained) enumeration, so all are exact.
      EXPECT_NEAR(plan.objective_value, oracle.objective_value, 1e-9 * std::max(1.0, oracle.objective_value))
          << "graph " << i << " " << to_string(objective) << " floor " << to_string(floor);
    }
  }
}

TEST(PartitionPrivacy, ChainMarksTheSplitsTheFloorForbids) {
  std::mt19937_64 rng(3);
  const GraphDesc g = testutil::random_chain(rng, 8);
  auto m = testutil::synthetic_cost_model(g, 1e9, 0.0);
  m.edge_pinned = privacy_pinned(g, parse_privacy_floor("layers:3"));
  const auto result = optimise_chain(g, m, Objective::latency);
  const auto depths = weight_layer_depths(g);
  for (const auto& split : result.splits) {
    // split s sends node s's output: allowed once node s is three layers deep.
    EXPECT_EQ(split.allowed, split.split == g.size() - 1 || depths[split.split] >= 3) << split.split;
  }
  EXPECT_TRUE(holds(m.edge_pinned, result.best.cut));
}

}  // namespace
}  // namespace tandem::partition
