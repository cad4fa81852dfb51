#pragma once
// DAG optimiser (DADS): minimum s-t cut on the graph's flow network, exact for
// the latency and energy objectives. See flow_network.hpp (internal) for the
// construction; Boost.Graph's Boykov-Kolmogorov max-flow solves it.

#include "models/graph.hpp"
#include "partition/cost_model.hpp"
#include "partition/plan.hpp"
#include "partition/throughput.hpp"

namespace tandem::partition {

/// Best closed cut of any DAG (chains included) for `objective`. Latency and
/// energy: one min cut, exact (solver == min_cut); throughput: delegated to
/// optimise_throughput_dag(graph, model, throughput). The result is never
/// worse than edge-only or cloud-only, which are checked explicitly; ties go
/// to edge-only. Throws std::invalid_argument on an invalid model. Reentrant.
Plan optimise_dag(const GraphDesc& graph, const CostModel& model, Objective objective,
                  const ThroughputOptions& throughput = {});

}  // namespace tandem::partition
