#pragma once
// Brute-force oracle: every closed cut of a small graph, evaluated exactly.
// The reference the optimisers are tested against.

#include <cstddef>

#include "models/graph.hpp"
#include "partition/cost_model.hpp"
#include "partition/plan.hpp"

namespace tandem::partition {

/// Closed cuts the oracle enumerates by default before giving up (a 20-node
/// DAG has at most 2^19 of them).
inline constexpr std::size_t k_brute_force_cut_limit = std::size_t{1} << 20;

/// Best closed cut by exhaustive enumeration (solver == enumeration, exact),
/// among those holding every node of model.edge_pinned (edge-only always does).
/// Ties go to the first cut in for_each_closed_cut's order. Throws
/// std::length_error when the graph has more than `cut_limit` closed cuts and
/// std::invalid_argument on an invalid model. Reentrant; O(cuts · (n + edges)).
Plan brute_force(const GraphDesc& graph, const CostModel& model, Objective objective,
                 std::size_t cut_limit = k_brute_force_cut_limit);

}  // namespace tandem::partition
