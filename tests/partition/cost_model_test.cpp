// The cost model against hand-computed docs/design.md §4 breakdowns.
#include "partition/cost_model.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testutil/random_graph.hpp"

namespace tandem::partition {
namespace {

// 0 (400 B) -> 1 (200 B) -> {2 (40 B, sink), 3 (80 B)}; 3 -> 4 (20 B, sink).
GraphDesc two_sink_graph() { return testutil::make_graph({{}, {0}, {1}, {1}, {3}}, {100, 50, 10, 20, 5}); }

CostModel hand_model() {
  CostModel m;
  m.edge_ms = {0, 10, 20, 30, 40};
  m.cloud_ms = {0, 1, 2, 3, 4};
  m.link = {1000.0, 2000.0, 5.0};  // 1 ms per uploaded byte, 0.5 ms per downloaded byte
  m.cloud_wait_ms = 7.0;
  m.power = {2.0, 3.0, 0.5};
  return m;
}

TEST(PartitionCostModel, SplitWithSharedTensorPaysItOnce) {
  const auto g = two_sink_graph();
  const auto b = evaluate(g, hand_model(), Cut({true, true, false, false, false}));
  EXPECT_DOUBLE_EQ(b.edge_ms, 10);
  EXPECT_EQ(b.upload_bytes, 200);  // node 1 feeds two cloud nodes, sent once
  EXPECT_DOUBLE_EQ(b.upload_ms, 200);
  EXPECT_DOUBLE_EQ(b.rtt_ms, 5);
  EXPECT_DOUBLE_EQ(b.cloud_wait_ms, 7);
  EXPECT_DOUBLE_EQ(b.cloud_ms, 9);
  EXPECT_EQ(b.download_bytes, 60);  // both sinks computed in the cloud
  EXPECT_DOUBLE_EQ(b.download_ms, 30);
  EXPECT_DOUBLE_EQ(b.total_ms, 261);
  EXPECT_DOUBLE_EQ(b.energy_mj, 2 * 10 + 3 * 200 + 0.5 * (5 + 7 + 9 + 30));
  EXPECT_DOUBLE_EQ(b.period_ms, 200);
}

TEST(PartitionCostModel, SinkOnTheEdgeIsNotDownloaded) {
  const auto b = evaluate(two_sink_graph(), hand_model(), Cut({true, true, true, false, false}));
  EXPECT_EQ(b.upload_bytes, 200);
  EXPECT_DOUBLE_EQ(b.edge_ms, 30);
  EXPECT_DOUBLE_EQ(b.cloud_ms, 7);
  EXPECT_EQ(b.download_bytes, 20);
  EXPECT_DOUBLE_EQ(b.total_ms, 30 + 200 + 5 + 7 + 7 + 10);
}

TEST(PartitionCostModel, EdgeOnlySendsNothing) {
  const auto g = two_sink_graph();
  const auto b = evaluate(g, hand_model(), Cut::edge_only(g));
  EXPECT_DOUBLE_EQ(b.edge_ms, 100);
  EXPECT_EQ(b.upload_bytes, 0);
  EXPECT_EQ(b.download_bytes, 0);
  EXPECT_DOUBLE_EQ(b.rtt_ms, 0);
  EXPECT_DOUBLE_EQ(b.cloud_wait_ms, 0);
  EXPECT_DOUBLE_EQ(b.total_ms, 100);
  EXPECT_DOUBLE_EQ(b.energy_mj, 200);
  EXPECT_DOUBLE_EQ(b.period_ms, 100);
}

TEST(PartitionCostModel, CloudOnlyUploadsTheInput) {
  const auto g = two_sink_graph();
  const auto b = evaluate(g, hand_model(), Cut::cloud_only(g));
  EXPECT_DOUBLE_EQ(b.edge_ms, 0);
  EXPECT_EQ(b.upload_bytes, 400);
  EXPECT_DOUBLE_EQ(b.cloud_ms, 10);
  EXPECT_DOUBLE_EQ(b.total_ms, 400 + 5 + 7 + 10 + 30);
  EXPECT_DOUBLE_EQ(latency(g, hand_model(), Cut::cloud_only(g)), b.total_ms);
  EXPECT_DOUBLE_EQ(energy(g, hand_model(), Cut::cloud_only(g)), b.energy_mj);
  EXPECT_DOUBLE_EQ(period(g, hand_model(), Cut::cloud_only(g)), 400);
}

TEST(PartitionCostModel, Fp16HalvesF32TensorsBothWays) {
  auto m = hand_model();
  m.codec = Codec::fp16;
  const auto b = evaluate(two_sink_graph(), m, Cut({true, true, false, false, false}));
  EXPECT_EQ(b.upload_bytes, 100);
  EXPECT_EQ(b.download_bytes, 30);
  EXPECT_DOUBLE_EQ(b.total_ms, 10 + 100 + 5 + 7 + 9 + 15);
}

TEST(PartitionCostModel, InputNodeCostsAreIgnored) {
  auto m = hand_model();
  m.edge_ms[0] = 1e6;
  m.cloud_ms[0] = 1e6;
  const auto g = two_sink_graph();
  EXPECT_DOUBLE_EQ(evaluate(g, m, Cut::edge_only(g)).total_ms, 100);
  EXPECT_DOUBLE_EQ(evaluate(g, m, Cut::cloud_only(g)).cloud_ms, 10);
}

TEST(PartitionCostModel, ObjectiveValuePicksTheField) {
  const auto b = evaluate(two_sink_graph(), hand_model(), Cut({true, true, false, false, false}));
  EXPECT_EQ(objective_value(b, Objective::latency), b.total_ms);
  EXPECT_EQ(objective_value(b, Objective::energy), b.energy_mj);
  EXPECT_EQ(objective_value(b, Objective::throughput), b.period_ms);
}

TEST(PartitionCostModel, ValidateRejectsBadModels) {
  const auto g = two_sink_graph();
  EXPECT_NO_THROW(validate(g, hand_model()));
  auto expect_bad = [&](auto mutate) {
    auto m = hand_model();
    mutate(m);
    EXPECT_THROW(validate(g, m), std::invalid_argument);
  };
  expect_bad([](CostModel& m) { m.edge_ms.pop_back(); });
  expect_bad([](CostModel& m) { m.cloud_ms.push_back(1); });
  expect_bad([](CostModel& m) { m.edge_ms[2] = -1; });
  expect_bad([](CostModel& m) { m.cloud_ms[3] = std::numeric_limits<double>::quiet_NaN(); });
  expect_bad([](CostModel& m) { m.link.uplink_bytes_per_s = 0; });
  expect_bad([](CostModel& m) { m.link.downlink_bytes_per_s = std::numeric_limits<double>::infinity(); });
  expect_bad([](CostModel& m) { m.link.rtt_ms = -1; });
  expect_bad([](CostModel& m) { m.cloud_wait_ms = -0.5; });
  expect_bad([](CostModel& m) { m.power.idle_w = -1; });
}

TEST(PartitionCostModel, NamesRoundTrip) {
  for (auto o : {Objective::latency, Objective::energy, Objective::throughput}) {
    EXPECT_EQ(objective_from_string(to_string(o)), o);
  }
  for (auto c : {Codec::fp32, Codec::fp16}) EXPECT_EQ(codec_from_string(to_string(c)), c);
  EXPECT_FALSE(objective_from_string("speed"));
  EXPECT_FALSE(codec_from_string("int8"));
}

TEST(PartitionCostModel, BreakdownJsonRoundTrips) {
  const auto b = evaluate(two_sink_graph(), hand_model(), Cut({true, true, true, false, false}));
  EXPECT_EQ(breakdown_from_json(to_json(b)), b);
  auto j = to_json(b);
  j.erase("total_ms");
  EXPECT_THROW(breakdown_from_json(j), std::invalid_argument);
}

}  // namespace
}  // namespace tandem::partition
