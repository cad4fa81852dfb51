#pragma once
// Which cuts the evaluation runs for a model, and how long running them will
// take (predicted, for the up-front duration estimate).

#include <cstdint>
#include <vector>

#include "bench/evaluate/evaluate.hpp"
#include "planner/planner.hpp"

namespace tandem::bench {

struct CandidateOptions {
  std::size_t top_k = 5;            // DAGs: best predicted cuts kept
  std::size_t random_cuts = 2000;   // DAGs: random closed cuts ranked with the others
  std::size_t max_candidates = 0;   // 0: no cap; else keep the best predicted (edge/cloud-only always)
  std::uint64_t seed = 7;
};

/// "1.1mbit,rtt=40ms;100mbit": links in the units syntax, separated by ';'.
/// Throws app::UsageError naming --links for a bad or rate-less link.
std::vector<LinkCase> parse_links(const std::string& text);
/// "<cpu model>, <n> cores", for reports.
std::string host_description();

/// The planner's conditions on a link known exactly (nominal rate and RTT).
planner::Conditions nominal_conditions(const LinkCase& link);

/// Candidates for `model` on `link`, ascending by edge node count:
/// chains — every split point (cloud-only … edge-only);
/// DAGs — edge-only, cloud-only, every articulation cut, the min-cut plan and
/// the top-k of (articulation cuts ∪ min cut ∪ random closed cuts) ranked by
/// the planner's predicted latency. Duplicates are merged. Throws
/// std::out_of_range for a model the planner does not know.
std::vector<Candidate> make_candidates(const planner::Planner& planner, const std::string& model,
                                       const LinkCase& link, const CandidateOptions& options);

/// The candidate for `cut` (plan text, label, predicted latency at `link`).
Candidate make_candidate(const planner::Planner& planner, const std::string& model, const Cut& cut,
                         const LinkCase& link, std::string origin);

/// No run of `c` can finish sooner than this on `link`: its upload at the
/// link rate (less a small allowance for the shaper's burst) plus one RTT.
double transfer_lower_bound_ms(const Candidate& c, const LinkCase& link);

/// Predicted wall time (s) of evaluating `model` on `link` with `runs` timed
/// and `warmup` untimed runs per plan, applying the same pruning to
/// predictions that the runner applies to measurements, and assuming a
/// confirmation (`confirm_runs` runs of two plans near the optimum) happens.
double predicted_pair_seconds(const planner::Planner& planner, const std::string& model,
                              const LinkCase& link, const CandidateOptions& options,
                              std::size_t runs, std::size_t warmup, std::size_t confirm_runs);

}  // namespace tandem::bench
