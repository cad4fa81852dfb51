#pragma once
// The evaluation's files: evaluation.csv (one row per model × link),
// candidates.csv (one row per candidate cut), samples.jsonl (every run),
// report.md, and the SVG plots.

#include <filesystem>
#include <string>
#include <vector>

#include "bench/evaluate/evaluate.hpp"

namespace tandem::bench {

/// What the report records about how the numbers were made.
struct ReportInfo {
  std::string date;        // ISO 8601, UTC, when the evaluation started
  std::string commit;      // git rev-parse HEAD (+ "-dirty" when the tree had changes)
  std::string command;     // the command line
  std::string host;        // CPU model and core count
  std::string edge_profile, cloud_profile;  // files and what they describe
  int edge_threads = 1, cloud_threads = 2;
  double edge_slowdown = 1;
  std::string probe_interval;
  std::size_t runs = 5, warmup = 1, confirm_runs = 10, top_k = 5, random_cuts = 0, max_candidates = 0;
  double estimated_s = 0;  // predicted before starting
  double duration_s = 0;   // measured
  bool complete = true;    // false while pairs are still to come (partial results)
};

/// Writes every output into `dir` (created); plots under dir/plots. Throws
/// std::runtime_error naming a file that cannot be written.
void write_outputs(const std::filesystem::path& dir, const ReportInfo& info,
                   const std::vector<PairResult>& pairs);

}  // namespace tandem::bench
