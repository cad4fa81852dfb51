#pragma once
// Chain optimiser (Neurosurgeon): evaluate every split point of a chain in
// O(n) with prefix sums. Exact for every objective.

#include <cstddef>
#include <vector>

#include "models/graph.hpp"
#include "partition/cost_model.hpp"
#include "partition/plan.hpp"

namespace tandem::partition {

/// One split point of a chain: nodes 0..split run on the edge
/// (split == 0: cloud-only, split == n-1: edge-only; see Cut::chain_prefix).
struct SplitPoint {
  std::size_t split = 0;
  Breakdown breakdown;
  double objective_value = 0;
  bool allowed = true;  // false when it runs a node CostModel::edge_pinned keeps on the edge in the cloud
};

struct ChainResult {
  Plan best;                       // allowed splits only; ties go to the split with more nodes on the edge
  std::vector<SplitPoint> splits;  // every split point, ascending by split
};

/// Best split of a chain and every split point's breakdown. Throws
/// std::invalid_argument when `graph` is not a chain or the model is invalid.
/// O(n); reentrant.
ChainResult optimise_chain(const GraphDesc& graph, const CostModel& model, Objective objective);

}  // namespace tandem::partition
