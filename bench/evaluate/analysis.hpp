#pragma once
// From the runs of one model × link to the numbers the report claims.

#include <string>

#include "bench/evaluate/evaluate.hpp"

namespace tandem::bench {

/// Fills the medians of every measurement and the derived fields of `r`:
/// - the planner's cut is the one it chose most often; when it chose one cut
///   on every run and that cut was also run as a forced candidate, both sets
///   of runs are pooled (same work, so differences between them are noise,
///   not a planning error) and planner_ms is the pooled median;
/// - oracle = fastest measured median among the candidates and the planner;
///   when the runner confirmed it (confirm_index), the fresh interleaved runs
///   of the planner and of that candidate replace both medians, and the
///   oracle is whichever of the two was faster in them;
///   regret = planner_ms / oracle_ms − 1 (≥ 0);
/// - speedups = edge-only (cloud-only) median / planner_ms;
/// - prediction error = (planner's predicted − its measured) / measured, auto runs;
/// - ideal = measured edge + bytes / nominal rate + nominal RTT + measured
///   cloud of the planner's runs (edge compute alone for edge-only);
///   overhead = planner_ms − ideal.
void analyse(PairResult& r);

/// One line saying why the planner missed the oracle by more than it should:
/// which predicted term (edge, transfer, cloud) was most wrong for the
/// planner's cut and the oracle's, and what the edge believed the link was.
std::string explain(const PairResult& r);

}  // namespace tandem::bench
