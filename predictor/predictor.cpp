#include "predictor/predictor.hpp"

#include "models/fusion.hpp"

namespace tandem::predictor {

Predictor::Predictor(DeviceProfile profile) : profile_(std::move(profile)) {
  for (std::size_t i = 0; i < profile_.measured.size(); ++i) {
    const MeasuredNode& m = profile_.measured[i];
    table_.emplace(std::make_pair(m.model, m.node), i);
  }
}

const MeasuredNode* Predictor::lookup(const GraphDesc& graph, NodeId id) const {
  const Node& n = graph.node(id);
  const auto it = table_.find({graph.name(), n.name});
  if (it == table_.end()) return nullptr;
  const MeasuredNode& m = profile_.measured[it->second];
  // Same name but other shapes (another input size, edited model): not the
  // layer that was measured.
  if (m.kind != n.kind || !(m.x == node_features(graph, id))) return nullptr;
  return &m;
}

bool Predictor::in_table(const GraphDesc& graph, NodeId id) const {
  return lookup(graph, id) != nullptr;
}

double Predictor::regression_ms(const GraphDesc& graph, NodeId id) const {
  // Nodes of one run follow each other without a wait (the slowdown stretch
  // waits once, after the run: RunOptions::slowdown); what the first pays
  // after the previous run is the profile's cold start, charged per run.
  return profile_.regressions.predict(graph.node(id).kind, node_features(graph, id), /*after_sleep=*/false);
}

double Predictor::node_ms(const GraphDesc& graph, NodeId id) const {
  if (graph.node(id).kind == OpKind::input) return 0.0;
  // Computed inside its convolution's call (models/fusion.hpp).
  if (folded_into(graph, id) >= 0) return 0.0;
  if (const MeasuredNode* m = lookup(graph, id)) return m->ms;
  return regression_ms(graph, id);
}

std::vector<double> Predictor::node_ms(const GraphDesc& graph) const {
  std::vector<double> out(graph.size());
  for (std::size_t i = 0; i < graph.size(); ++i) out[i] = node_ms(graph, static_cast<NodeId>(i));
  return out;
}

double Predictor::run_overhead_ms(std::size_t nodes, double node_ms, bool cold_in_table) const {
  return profile_.overhead.ms(nodes, node_ms, cold_in_table);
}

namespace {

// The first node a whole run computes (the executor runs nodes in id order).
NodeId first_computed(const GraphDesc& graph) {
  for (const Node& n : graph.nodes()) {
    if (n.kind != OpKind::input) return n.id;
  }
  return -1;
}

}  // namespace

bool Predictor::cold_start_in_table(const GraphDesc& graph, bool starts_graph) const {
  // The table's runs paid the cold start on the graph's first nodes.
  const NodeId first = first_computed(graph);
  return starts_graph && first >= 0 && lookup(graph, first) != nullptr;
}

double Predictor::cold_start_ms(const GraphDesc& graph, bool starts_graph) const {
  return cold_start_in_table(graph, starts_graph) ? 0.0 : profile_.overhead.cold_ms;
}

double Predictor::side_ms(const GraphDesc& graph, const Cut& cut, bool edge) const {
  double total = 0;
  std::size_t computed = 0;
  const NodeId first = first_computed(graph);
  const bool cold_in_table = cold_start_in_table(graph, first >= 0 && cut.on_edge(first) == edge);
  for (const Node& n : graph.nodes()) {
    if (n.kind == OpKind::input || cut.on_edge(n.id) != edge) continue;
    // A batch norm whose convolution is across the cut runs on its own.
    const NodeId conv = folded_into(graph, n.id);
    total += conv >= 0 && cut.on_edge(conv) != edge ? regression_ms(graph, n.id) : node_ms(graph, n.id);
    ++computed;
  }
  return total + run_overhead_ms(computed, total, cold_in_table);
}

double Predictor::edge_ms(const GraphDesc& graph, const Cut& cut) const {
  return side_ms(graph, cut, true);
}

double Predictor::cloud_ms(const GraphDesc& graph, const Cut& cut) const {
  return side_ms(graph, cut, false);
}

double Predictor::whole_ms(const GraphDesc& graph) const {
  return edge_ms(graph, Cut::edge_only(graph));
}

}  // namespace tandem::predictor
