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

TEST(PartitionCostModel, EachSidePaysItsRunCostOnceWhenItComputes) {
  const auto g = two_sink_graph();
  auto m = hand_model();
  m.edge_run_ms = 0.25;
  m.cloud_run_ms = 0.5;
  const auto split = evaluate(g, m, Cut({true, true, false, false, false}));
  EXPECT_DOUBLE_EQ(split.edge_ms, 10.25);
  EXPECT_DOUBLE_EQ(split.cloud_ms, 9.5);
  EXPECT_DOUBLE_EQ(split.total_ms, 261.75);
  const auto local = evaluate(g, m, Cut::edge_only(g));
  EXPECT_DOUBLE_EQ(local.edge_ms, 100.25);
  EXPECT_DOUBLE_EQ(local.cloud_ms, 0);
  const auto remote = evaluate(g, m, Cut::cloud_only(g));
  EXPECT_DOUBLE_EQ(remote.edge_ms, 0);  // only the input on the edge: no run
  EXPECT_DOUBLE_EQ(remote.cloud_ms, 10.5);
}

TEST(PartitionCostModel, RunCostsMoveATinyModelOffTheEdge) {
  // LeNet on a fast LAN, in miniature: edge-only is cheaper by node costs
  // alone, cloud-only once the edge's run pays its cold start.
  const auto g = testutil::make_graph({{}, {0}, {1}, {2}}, {1000, 500, 200, 10});
  CostModel m;
  m.edge_ms = {0, 0.2, 0.1, 0.1};
  m.cloud_ms = {0, 0.02, 0.01, 0.01};
  m.link = {4e7, 4e7, 0.3};  // the 4 KB input: 0.1 ms up, plus 0.3 ms RTT
  const auto best = [&](const CostModel& model) {
    const Cut cuts[] = {Cut::edge_only(g), Cut::cloud_only(g), Cut({true, true, false, false})};
    std::size_t arg = 0;
    for (std::size_t i = 1; i < 3; ++i) {
      if (latency(g, model, cuts[i]) < latency(g, model, cuts[arg])) arg = i;
    }
    return arg;
  };
  EXPECT_EQ(best(m), 0u);
  m.edge_run_ms = 0.5;
  m.cloud_run_ms = 0.05;
  EXPECT_EQ(best(m), 1u);
}

TEST(PartitionCostModel, Fp16HalvesF32TensorsBothWays) {
  auto m = hand_model();
  m.codec = Codec::fp16;
  m.codec_prices = free_codec_prices();
  const auto b = evaluate(two_sink_graph(), m, Cut({true, true, false, false, false}));
  EXPECT_EQ(b.upload_bytes, 100);
  EXPECT_EQ(b.download_bytes, 30);
  EXPECT_DOUBLE_EQ(b.total_ms, 10 + 100 + 5 + 7 + 9 + 15);
}

TEST(PartitionCostModel, CodecFamilies) {
  for (Codec c : k_codecs) {
    EXPECT_EQ(is_lossless(c), c == Codec::fp32 || c == Codec::fp32_zstd) << to_string(c);
    EXPECT_EQ(uses_zstd(c), to_string(c).find("+zstd") != std::string_view::npos) << to_string(c);
    EXPECT_EQ(precision_of(precision_of(c)), precision_of(c));
  }
  EXPECT_EQ(precision_of(Codec::int8_zstd), Codec::int8);
}

TEST(PartitionCostModel, Int8SendsOneBytePerElementPlusChannelParameters) {
  Node conv;
  conv.out_shape = {1, 16, 7, 7};
  conv.dtype = DType::f32;
  conv.output_bytes = 4 * 16 * 7 * 7;
  EXPECT_EQ(wire_bytes(conv, Codec::int8), 16 * 7 * 7 + 8 * 16);
  EXPECT_EQ(wire_bytes(conv, Codec::int8_zstd), 16 * 7 * 7 + 8 * 16);
  Node logits;
  logits.out_shape = {1, 10};
  logits.output_bytes = 40;
  EXPECT_EQ(wire_bytes(logits, Codec::int8), 10 + 8);  // rank 2: one channel
  Node ids;
  ids.out_shape = {1, 10};
  ids.dtype = DType::i64;
  ids.output_bytes = 80;
  EXPECT_EQ(wire_bytes(ids, Codec::int8), 80);  // only f32 tensors are quantised
  EXPECT_EQ(wire_bytes(ids, Codec::fp16), 80);
}

TEST(PartitionCostModel, CodecTimeAndZstdRatioArePriced) {
  const auto g = two_sink_graph();
  auto m = hand_model();
  m.codec = Codec::fp16_zstd;
  m.codec_prices = free_codec_prices();
  // 1e6 bytes = 1 MB: node 1's 200 bytes cost 200e-6 × (3 + 2) ms.
  m.codec_prices[static_cast<std::size_t>(Codec::fp16_zstd)] = {3.0, 2.0, 0.5};
  const Cut cut({true, true, false, false, false});
  const auto b = evaluate(g, m, cut);
  EXPECT_EQ(b.upload_bytes, 50);     // 200 B / 2 (fp16) × 0.5 (zstd)
  EXPECT_EQ(b.download_bytes, 15);   // 60 B / 2 × 0.5
  const double up_codec = 200e-6 * 5, down_codec = 60e-6 * 5;
  EXPECT_DOUBLE_EQ(b.codec_ms, up_codec + down_codec);
  EXPECT_DOUBLE_EQ(b.upload_ms, 50 + up_codec);
  EXPECT_DOUBLE_EQ(b.download_ms, 7.5 + down_codec);
  EXPECT_DOUBLE_EQ(b.total_ms, 10 + b.upload_ms + 5 + 7 + 9 + b.download_ms);
  EXPECT_DOUBLE_EQ(upload_ms(g.node(1), m), 50 + up_codec);
  // The same sums the optimisers' per-tensor terms use.
  EXPECT_DOUBLE_EQ(evaluate(g, m, Cut::edge_only(g)).codec_ms, 0);
}

TEST(PartitionCostModel, DefaultPricesAreValidAndFp32IsFree) {
  const auto prices = default_codec_prices();
  EXPECT_EQ(prices[static_cast<std::size_t>(Codec::fp32)], CodecPrice{});
  for (Codec c : k_codecs) {
    const auto& p = prices[static_cast<std::size_t>(c)];
    if (!uses_zstd(c)) {
      EXPECT_EQ(p.zstd_ratio, 1.0) << to_string(c);
    }
    if (c != Codec::fp32) {
      EXPECT_GT(p.encode_ms_per_mb + p.decode_ms_per_mb, 0) << to_string(c);
    }
  }
  const auto g = two_sink_graph();
  auto m = hand_model();
  EXPECT_NO_THROW(validate(g, m));
  m.codec_prices[2].zstd_ratio = 0;
  EXPECT_THROW(validate(g, m), std::invalid_argument);
  m.codec_prices = free_codec_prices();
  m.codec_prices[1].decode_ms_per_mb = -1;
  EXPECT_THROW(validate(g, m), std::invalid_argument);
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
  expect_bad([](CostModel& m) { m.edge_run_ms = -0.1; });
  expect_bad([](CostModel& m) { m.cloud_run_ms = std::numeric_limits<double>::infinity(); });
  expect_bad([](CostModel& m) { m.power.idle_w = -1; });
}

TEST(PartitionCostModel, NamesRoundTrip) {
  for (auto o : {Objective::latency, Objective::energy, Objective::throughput}) {
    EXPECT_EQ(objective_from_string(to_string(o)), o);
  }
  for (auto c : k_codecs) EXPECT_EQ(codec_from_string(to_string(c)), c);
  EXPECT_EQ(codec_from_string("int8+zstd"), Codec::int8_zstd);
  EXPECT_FALSE(objective_from_string("speed"));
  EXPECT_FALSE(codec_from_string("int4"));
  EXPECT_FALSE(codec_from_string("zstd"));
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
