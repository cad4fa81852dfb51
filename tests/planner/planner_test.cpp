#include "planner/planner.hpp"

#include <cmath>

#include <gtest/gtest.h>

#include "models/fusion.hpp"
#include "models/graph_builder.hpp"
#include "testutil/random_graph.hpp"

namespace tandem::planner {
namespace {

// A chain whose first node shrinks the tensor a lot: splitting after it pays
// off at moderate bandwidth; edge-only wins as bandwidth vanishes and
// cloud-only wins with a fast link and a fast cloud.
TEST(Planner, PlacementFollowsBandwidthAndCachesWithinABucket) {
  std::mt19937_64 rng(5);
  const GraphDesc g = testutil::random_chain(rng, 8);
  Planner planner;
  ModelCosts costs;
  costs.edge_ms.assign(g.size(), 10.0);
  costs.cloud_ms.assign(g.size(), 0.1);
  costs.edge_ms[0] = costs.cloud_ms[0] = 0;
  planner.add_model(g, costs);
  Conditions slow{.link = {.uplink_bytes_per_s = 1.0, .downlink_bytes_per_s = 1.0}};
  EXPECT_EQ(planner.plan(g.name(), partition::Objective::latency, slow).placement,
            partition::Placement::edge_only);
  // A bandwidth at the centre of a 2% bucket, so a 0.5% change stays inside it.
  const double centre = std::pow(1.02, 1400);
  Conditions fast{.link = {.uplink_bytes_per_s = centre, .downlink_bytes_per_s = centre}};
  const auto a = planner.plan(g.name(), partition::Objective::latency, fast);
  EXPECT_EQ(a.placement, partition::Placement::cloud_only);
  // 0.5% more bandwidth: same bucket, same cached plan object values.
  Conditions nearly = fast;
  nearly.link.uplink_bytes_per_s *= 1.005;
  EXPECT_EQ(planner.plan(g.name(), partition::Objective::latency, nearly), a);
  EXPECT_THROW(planner.plan("nosuch", partition::Objective::latency, fast), std::out_of_range);
  ModelCosts wrong;
  wrong.edge_ms.assign(2, 1.0);
  wrong.cloud_ms.assign(2, 1.0);
  EXPECT_THROW(planner.add_model(g, wrong), std::invalid_argument);
}

TEST(Planner, FromProfilesPredictsEveryZooModel) {
  const std::string dir = TANDEM_PROFILES_DIR;
  const auto planner = Planner::from_profiles(dir + "/edge.json", dir + "/cloud.json");
  for (const auto& name : zoo_names()) {
    const GraphDesc g = zoo_graph(name);
    planner->add_model(g);
    const ModelCosts& costs = planner->costs(name);
    ASSERT_EQ(costs.edge_ms.size(), g.size()) << name;
    for (std::size_t i = 1; i < g.size(); ++i) {
      if (folded_into(g, static_cast<NodeId>(i)) >= 0) {
        // A batch norm computed inside its convolution's call costs nothing of its own.
        EXPECT_EQ(costs.edge_ms[i], 0) << name << " node " << i;
        EXPECT_EQ(costs.cloud_ms[i], 0) << name << " node " << i;
        continue;
      }
      EXPECT_GT(costs.edge_ms[i], 0) << name << " node " << i;
      EXPECT_GT(costs.cloud_ms[i], 0) << name << " node " << i;
    }
    Conditions c{.link = {.uplink_bytes_per_s = 5.85e6 / 8, .downlink_bytes_per_s = 5.85e6 / 8, .rtt_ms = 40}};
    const auto plan = planner->plan(name, partition::Objective::latency, c);
    EXPECT_TRUE(plan.cut.validate(g).empty()) << name;
  }
}

TEST(Planner, MissingProfileSaysHowToMakeOne) {
  try {
    Planner::from_profiles("/nonexistent/edge.json", "/nonexistent/cloud.json");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("tandem profile --device"), std::string::npos) << e.what();
  }
  Planner bare;
  EXPECT_THROW(bare.add_model(zoo_graph("lenet")), std::logic_error);
}

}  // namespace
}  // namespace tandem::planner
