#pragma once
// A deterministic, roughly realistic cost model for real graphs (the zoo)
// when no device profile is at hand: node time from FLOPs and memory traffic
// on an edge-class and a server-class device. Torch-free; for tests and
// benchmarks only (the predictor is what production plans use).

#include "models/graph.hpp"
#include "partition/cost_model.hpp"

namespace tandem::testutil {

/// A device as throughput figures: ms = per_node_ms + flops / flops_per_ms +
/// (input + output + param bytes) / bytes_per_ms.
struct DeviceRates {
  double flops_per_ms = 1e7;  // 10 GFLOP/s
  double bytes_per_ms = 2e6;  // 2 GB/s
  double per_node_ms = 0.02;  // dispatch overhead
};

/// A small ARM-class edge board.
inline constexpr DeviceRates k_edge_rates{1e7, 2e6, 0.02};
/// A server CPU/GPU-class cloud: 20x the FLOPs, 10x the memory bandwidth.
inline constexpr DeviceRates k_cloud_rates{2e8, 2e7, 0.01};

/// Predicted ms of one node on `rates` (0 for the input node).
double synthetic_node_ms(const Node& node, const DeviceRates& rates);

/// edge_ms / cloud_ms from k_edge_rates / k_cloud_rates, a symmetric link of
/// `bandwidth_bytes_per_s` with `rtt_ms`, no queue wait, fp32, default power.
partition::CostModel synthetic_cost_model(const GraphDesc& graph, double bandwidth_bytes_per_s,
                                          double rtt_ms = 20.0);

}  // namespace tandem::testutil
