#pragma once
// Hill climbing on the pipeline period over closed cuts (internal to
// partition/; not a public header). Used to polish the throughput search's
// candidates: the period's optimum is often not a minimiser of any weighted
// sum of the stages, so min cuts alone can miss it.

#include <cstddef>

#include "models/cut.hpp"
#include "models/graph.hpp"
#include "partition/cost_model.hpp"

namespace tandem::partition::detail {

/// From the closed cut `start`, repeatedly applies the best single-node move
/// that keeps the cut closed (add a node whose producers are all on the edge,
/// or return to the cloud an edge node whose consumers are all in the cloud and
/// that CostModel::edge_pinned does not hold)
/// while it lowers the stages sorted largest first, lexicographically; at most
/// `max_moves` moves, O(n + edges) each. Returns a closed cut whose period is
/// never above start's. Assumes a valid model and cut.
Cut improve_period_locally(const GraphDesc& graph, const CostModel& model, const Cut& start, std::size_t max_moves);

}  // namespace tandem::partition::detail
