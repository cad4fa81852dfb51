#include "partition/dag.hpp"

#include "partition/flow_network.hpp"
#include "partition/internal.hpp"
#include "partition/privacy.hpp"

namespace tandem::partition {

Plan optimise_dag(const GraphDesc& graph, const CostModel& model, Objective objective,
                  const ThroughputOptions& throughput) {
  if (objective == Objective::throughput) return optimise_throughput_dag(graph, model, throughput);
  validate(graph, model);
  Plan best = make_plan_unchecked(graph, model, Cut::edge_only(graph), objective);
  if (graph.size() > 1) {
    detail::DadsNetwork network(graph, model);
    const auto weights = objective == Objective::energy ? detail::energy_weights(model) : detail::latency_weights(model);
    // The min cut is exact; the explicit comparisons only guard against the
    // cut read back from floating-point residuals being off by rounding.
    for (const Cut& cut : {network.solve(weights), Cut::cloud_only(graph)}) {
      if (!pinned_violation(graph, model.edge_pinned, cut).empty()) continue;
      Plan candidate = make_plan_unchecked(graph, model, cut, objective);
      if (detail::strictly_better(candidate.objective_value, best.objective_value)) best = std::move(candidate);
    }
  }
  best.solver = Solver::min_cut;
  best.exact = true;
  best.lower_bound = best.objective_value;
  return best;
}

}  // namespace tandem::partition
