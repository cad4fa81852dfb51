#include "edge_daemon/planner.hpp"

#include <cmath>

#include <gtest/gtest.h>

#include "testutil/random_graph.hpp"

namespace tandem::edge {
namespace {

// A chain whose first node shrinks the tensor a lot: splitting after it pays
// off at moderate bandwidth; edge-only wins as bandwidth vanishes and
// cloud-only wins with a fast link and a fast cloud.
TEST(EdgePlanner, PlacementFollowsBandwidthAndCachesWithinABucket) {
  std::mt19937_64 rng(5);
  const GraphDesc g = testutil::random_chain(rng, 8);
  Planner planner;
  ModelCosts costs;
  costs.edge_ms.assign(g.size(), 10.0);
  costs.cloud_ms.assign(g.size(), 0.1);
  costs.edge_ms[0] = costs.cloud_ms[0] = 0;
  planner.add_model(g, costs);
  Conditions slow{.uplink_bytes_per_s = 1.0, .downlink_bytes_per_s = 1.0};
  EXPECT_EQ(planner.plan(g.name(), partition::Objective::latency, slow).placement,
            partition::Placement::edge_only);
  // A bandwidth at the centre of a 2% bucket, so a 0.5% change stays inside it.
  const double centre = std::pow(1.02, 1400);
  Conditions fast{.uplink_bytes_per_s = centre, .downlink_bytes_per_s = centre};
  const auto a = planner.plan(g.name(), partition::Objective::latency, fast);
  EXPECT_EQ(a.placement, partition::Placement::cloud_only);
  // 0.5% more bandwidth: same bucket, same cached plan object values.
  Conditions nearly = fast;
  nearly.uplink_bytes_per_s *= 1.005;
  EXPECT_EQ(planner.plan(g.name(), partition::Objective::latency, nearly), a);
  EXPECT_THROW(planner.plan("nosuch", partition::Objective::latency, fast), std::out_of_range);
  ModelCosts wrong;
  wrong.edge_ms.assign(2, 1.0);
  wrong.cloud_ms.assign(2, 1.0);
  EXPECT_THROW(planner.add_model(g, wrong), std::invalid_argument);
}

}  // namespace
}  // namespace tandem::edge
