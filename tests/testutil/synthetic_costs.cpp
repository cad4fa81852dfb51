#include "testutil/synthetic_costs.hpp"

namespace tandem::testutil {

double synthetic_node_ms(const Node& node, const DeviceRates& rates) {
  if (node.kind == OpKind::input) return 0.0;
  const double bytes = static_cast<double>(node.input_bytes + node.output_bytes + node.param_bytes);
  return rates.per_node_ms + node.flops / rates.flops_per_ms + bytes / rates.bytes_per_ms;
}

partition::CostModel synthetic_cost_model(const GraphDesc& graph, double bandwidth_bytes_per_s, double rtt_ms) {
  partition::CostModel model;
  model.edge_ms.reserve(graph.size());
  model.cloud_ms.reserve(graph.size());
  for (const Node& n : graph.nodes()) {
    model.edge_ms.push_back(synthetic_node_ms(n, k_edge_rates));
    model.cloud_ms.push_back(synthetic_node_ms(n, k_cloud_rates));
  }
  model.link = {bandwidth_bytes_per_s, bandwidth_bytes_per_s, rtt_ms};
  return model;
}

}  // namespace tandem::testutil
