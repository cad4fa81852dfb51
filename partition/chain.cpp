#include "partition/chain.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "partition/internal.hpp"

namespace tandem::partition {

ChainResult optimise_chain(const GraphDesc& graph, const CostModel& model, Objective objective) {
  if (!graph.is_chain()) {
    throw std::invalid_argument(fmt::format("graph '{}' is not a chain", graph.name()));
  }
  validate(graph, model);
  const std::size_t n = graph.size();
  for (std::size_t v = 1; v < n; ++v) {
    // A chain in topological order is the path 0 -> 1 -> ... -> n-1.
    if (graph.nodes()[v].inputs.front() != static_cast<NodeId>(v - 1)) {
      throw std::invalid_argument(fmt::format("graph '{}': chain node {} does not follow node {}",
                                              graph.name(), v, v - 1));
    }
  }

  // suffix_cloud[s] = Σ_{v > s} c_v, so the cloud part of split s is O(1).
  std::vector<double> suffix_cloud(n, 0.0);
  for (std::size_t v = n - 1; v-- > 0;) suffix_cloud[v] = suffix_cloud[v + 1] + model.cloud_ms[v + 1];
  const Node& last = graph.nodes().back();

  ChainResult result;
  result.splits.resize(n);
  double edge_ms = 0;
  for (std::size_t s = 0; s < n; ++s) {
    if (s > 0) edge_ms += model.edge_ms[s];
    const bool edge_only = s == n - 1;
    SplitPoint& p = result.splits[s];
    p.split = s;
    const Node& sent = graph.nodes()[s];
    const Transfer transfer{expected_wire_bytes(sent, model), codec_ms(sent, model), expected_wire_bytes(last, model),
                            codec_ms(last, model)};
    p.breakdown = compose_breakdown(model, edge_only, s > 0, edge_ms, transfer, suffix_cloud[s]);
    p.objective_value = objective_value(p.breakdown, objective);
  }

  // A chain's pinned nodes are a prefix 0..first_allowed (they are closed under predecessors).
  std::size_t first_allowed = 0;
  for (std::size_t v = 0; v < model.edge_pinned.size(); ++v) {
    if (model.edge_pinned[v]) first_allowed = v;
  }
  for (std::size_t s = 0; s < first_allowed; ++s) result.splits[s].allowed = false;

  std::size_t best = n - 1;
  for (std::size_t s = n - 1; s-- > first_allowed;) {
    if (detail::strictly_better(result.splits[s].objective_value, result.splits[best].objective_value)) {
      best = s;
    }
  }
  result.best = make_plan_unchecked(graph, model, Cut::chain_prefix(graph, best), objective);
  result.best.solver = Solver::chain_scan;
  return result;
}

}  // namespace tandem::partition
