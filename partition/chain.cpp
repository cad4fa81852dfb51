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
  const std::int64_t download_bytes = wire_bytes(graph.nodes().back(), model.codec);

  ChainResult result;
  result.splits.resize(n);
  double edge_ms = 0;
  for (std::size_t s = 0; s < n; ++s) {
    if (s > 0) edge_ms += model.edge_ms[s];
    const bool edge_only = s == n - 1;
    SplitPoint& p = result.splits[s];
    p.split = s;
    p.breakdown = compose_breakdown(model, edge_only, edge_ms, wire_bytes(graph.nodes()[s], model.codec),
                                    suffix_cloud[s], download_bytes);
    p.objective_value = objective_value(p.breakdown, objective);
  }

  std::size_t best = n - 1;
  for (std::size_t s = n - 1; s-- > 0;) {
    if (detail::strictly_better(result.splits[s].objective_value, result.splits[best].objective_value)) {
      best = s;
    }
  }
  result.best = make_plan_unchecked(graph, model, Cut::chain_prefix(graph, best), objective);
  result.best.solver = Solver::chain_scan;
  return result;
}

}  // namespace tandem::partition
