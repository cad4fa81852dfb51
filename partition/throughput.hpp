#pragma once
// Throughput objective on DAGs: minimise the pipeline period
//
//   period(S) = max(E(S), U(S), C(S))   (edge stage, uplink, cloud stage; docs/design.md §4)
//
// Minimising a max of three cut functions over closed cuts is not a min-cut
// problem (DADS shows the heavy-load case is NP-hard), so the DAG method is a
// search with a proven worst case and a per-instance lower bound:
//
// * Scalarised min cuts. For weights λ on the simplex, g(λ) = min_S λ_E·E +
//   λ_U·U + λ_C·C is one min cut, and g(λ) <= min_S period(S) (a max is >= any
//   convex combination). Kelley's cutting-plane method maximises g over λ:
//   each min cut adds a feasible cut (a candidate) and a plane to the model of
//   g; the next λ maximises the model (a 3-variable LP, solved exactly).
// * Local search. The optimum is often not a minimiser of any weighted sum
//   (it lies inside the convex hull of the cuts' (E, U, C) points), so the best
//   few candidates are polished by single-node moves that keep cuts closed.
// * Guarantee: the first λ is (1/3, 1/3, 1/3), whose cut minimises E + U + C
//   <= 3·max, so the period is at most 3x the optimum (the DADS bound).
// * Certificate: Plan::lower_bound = max(best g(λ), a structural bound: every
//   plan but edge-only uploads some tensor and runs some sink in the cloud).
//   `exact` is set when the period meets it. The Lagrangian part is loose on
//   discrete instances (optimum / bound up to ~2x), so exact is mostly
//   certified for edge-only optima.
// * Measured on 1000 random DAGs of <= 16 nodes (tests/partition/
//   throughput_test.cpp): the search alone is optimal on 974, certified on
//   445, worst period / optimum 1.32.
// * optimise_throughput_dag then enumerates closed cuts when the search is
//   not certified and enumeration fits ThroughputOptions::enumeration_budget:
//   exact for small graphs and for zoo models with few closed cuts; otherwise
//   the search result stands, with its bound.
// * Chains never come here: optimise() scans their split points exactly.

#include <cstddef>

#include "models/graph.hpp"
#include "partition/cost_model.hpp"
#include "partition/plan.hpp"

namespace tandem::partition {

struct ThroughputOptions {
  /// Min-cut solves the search may spend (>= 1).
  std::size_t max_min_cuts = 32;
  /// Best distinct candidates polished by local search after the min cuts.
  std::size_t local_search_starts = 3;
  /// Local-search moves allowed per start, per graph node.
  std::size_t local_search_moves_per_node = 2;
  /// Relative gap period / lower_bound - 1 at which a plan counts as optimal.
  double tolerance = 1e-9;
  /// Enumerate closed cuts after an inexact search while cuts × nodes stays
  /// under this; 0 disables enumeration.
  std::size_t enumeration_budget = 1'000'000;
};

/// Scalarised min-cut search only (solver == min_cut_search): period <= 3x
/// optimum, lower_bound <= optimum, exact when they meet. Throws
/// std::invalid_argument on an invalid model or options. Reentrant.
Plan min_cut_throughput_search(const GraphDesc& graph, const CostModel& model,
                               const ThroughputOptions& options = {});

/// The search, then exact enumeration when the search leaves a gap and the
/// graph's closed cuts fit options.enumeration_budget (solver == enumeration).
/// Throws std::invalid_argument on an invalid model or options. Reentrant.
Plan optimise_throughput_dag(const GraphDesc& graph, const CostModel& model,
                             const ThroughputOptions& options = {});

}  // namespace tandem::partition
