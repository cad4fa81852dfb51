#include "partition/optimise.hpp"

#include "partition/chain.hpp"
#include "partition/dag.hpp"

namespace tandem::partition {

Plan optimise(const GraphDesc& graph, const CostModel& model, Objective objective, const OptimiseOptions& options) {
  if (graph.is_chain() && graph.size() > 0) return optimise_chain(graph, model, objective).best;
  return optimise_dag(graph, model, objective, options.throughput);
}

}  // namespace tandem::partition
