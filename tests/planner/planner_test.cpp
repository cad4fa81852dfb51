#include "planner/planner.hpp"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "models/fusion.hpp"
#include "models/graph_builder.hpp"
#include "partition/schedule.hpp"
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

// The compute monitor's scales multiply each side's node and run costs: an
// edge found three times slower than its profile moves the plan off the edge.
TEST(Planner, ComputeScalesMultiplyEachSidesCostsAndMoveThePlan) {
  // input (4000 B) -> 20000 B -> 20000 B -> 40 B: only the input is worth sending.
  const GraphDesc g = testutil::make_graph({{}, {0}, {1}, {2}}, {1000, 5000, 5000, 10});
  Planner planner;
  ModelCosts costs;
  costs.edge_ms.assign(g.size(), 2.0);
  costs.cloud_ms.assign(g.size(), 1.0);
  costs.edge_ms[0] = costs.cloud_ms[0] = 0;
  costs.edge_run_ms = 0.5;
  costs.cloud_run_ms = 0.25;
  planner.add_model(g, costs);
  // The input costs 6 ms on the wire: edge-only 6.5 ms against cloud-only
  // 6 + 3.25 ms; with the edge 3x slower, 19.5 ms against the same.
  const double in_bytes = static_cast<double>(g.node(0).output_bytes);
  Conditions c{.link = {.uplink_bytes_per_s = in_bytes / 6e-3, .downlink_bytes_per_s = 1e12}};
  EXPECT_EQ(planner.plan(g.name(), partition::Objective::latency, c).placement, partition::Placement::edge_only);
  Conditions slow_edge = c;
  slow_edge.edge_scale = 3.0;
  const auto m = planner.cost_model(g.name(), slow_edge);
  EXPECT_DOUBLE_EQ(m.edge_ms[1], 6.0);
  EXPECT_DOUBLE_EQ(m.edge_run_ms, 1.5);
  EXPECT_DOUBLE_EQ(m.cloud_ms[1], 1.0);
  EXPECT_EQ(planner.plan(g.name(), partition::Objective::latency, slow_edge).placement,
            partition::Placement::cloud_only);
  // A slow cloud as well brings it back: the scales are in the cache key.
  Conditions both_slow = slow_edge;
  both_slow.cloud_scale = 10.0;
  EXPECT_EQ(planner.plan(g.name(), partition::Objective::latency, both_slow).placement,
            partition::Placement::edge_only);
  for (double bad : {0.0, -1.0, std::nan("")}) {
    Conditions b = c;
    b.edge_scale = bad;
    EXPECT_THROW(planner.plan(g.name(), partition::Objective::latency, b), std::invalid_argument);
    b = c;
    b.cloud_scale = bad;
    EXPECT_THROW(planner.cost_model(g.name(), b), std::invalid_argument);
  }
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

// The batch scheduler on the queue bench/queue.sh submits (40 shuffled zoo
// tasks, 5.85 mbit, the shipped profiles): the makespan search must not stall
// on the makespan's plateaus, where moving a task that does not finish last
// changes nothing. It did: 5.47 s against the mean-completion search's 4.36.
TEST(Planner, TheMakespanScheduleOfTheZooQueueIsNoLongerThanTheMeanSchedules) {
  const std::string dir = TANDEM_PROFILES_DIR;
  const auto planner = Planner::from_profiles(dir + "/edge.json", dir + "/cloud.json");
  const std::vector<std::string> models{"lenet", "alexnet", "vgg16", "mobilenet_v2", "resnet18", "resnet50", "googlenet"};
  for (const auto& m : models) planner->add_model(zoo_graph(m));
  const partition::Link link{.uplink_bytes_per_s = 5.85e6 / 8, .downlink_bytes_per_s = 5.85e6 / 8, .rtt_ms = 40};
  std::mt19937_64 rng(7);  // as tandem submit --shuffle --seed 7
  std::vector<partition::BatchTask> tasks;
  for (int i = 0; i < 40; ++i) {
    const std::size_t k = rng() % models.size();
    partition::BatchTask t{.group = k};
    for (const auto& w : *planner->candidates(models[k], partition::Codec::fp32)) {
      t.options.push_back(partition::stages_of(w, link));
    }
    tasks.push_back(std::move(t));
  }
  const partition::Timeline free;
  using partition::BatchObjective;
  const auto span = partition::schedule_batch(tasks, link.rtt_ms, free, BatchObjective::makespan);
  const auto mean = partition::schedule_batch(tasks, link.rtt_ms, free, BatchObjective::total_completion);
  const double bound = partition::batch_lower_bound(tasks, link.rtt_ms, free, BatchObjective::makespan);
  RecordProperty("makespan_over_bound", std::to_string(span.makespan / bound));
  EXPECT_LE(span.makespan, mean.makespan * (1 + 1e-9));
  EXPECT_LE(mean.total_completion, span.total_completion * (1 + 1e-9));
  EXPECT_LE(bound, span.makespan * (1 + 1e-9));
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
