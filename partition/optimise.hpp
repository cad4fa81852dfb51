#pragma once
// The partition library's entry point: the best plan for a graph, a cost model
// and an objective, choosing the chain or the DAG optimiser.

#include "models/graph.hpp"
#include "partition/cost_model.hpp"
#include "partition/plan.hpp"
#include "partition/throughput.hpp"

namespace tandem::partition {

struct OptimiseOptions {
  ThroughputOptions throughput;  // DAG throughput search and its enumeration fallback
};

/// Best plan: chains by scanning every split point (exact for every
/// objective), other DAGs by min cut (exact for latency and energy) or the
/// throughput search (see throughput.hpp; Plan::exact / lower_bound say how
/// close). Throws std::invalid_argument on an invalid model. Reentrant; no
/// blocking.
Plan optimise(const GraphDesc& graph, const CostModel& model, Objective objective,
              const OptimiseOptions& options = {});

}  // namespace tandem::partition
