#pragma once
// bench_evaluate: the planner against the measured oracle on a shaped link
// (docs/design.md §7, issue 7). Shared types of the evaluation's parts:
//   candidates.cpp  which cuts to run for a model (chains: every split point;
//                   DAGs: articulation cuts + the planner's top-k predictions)
//   runner.cpp      daemons, link shaping, one task at a time over the control port
//   analysis.cpp    medians, oracle, regret, speedups, overhead over the ideal
//   report.cpp      CSVs and the markdown report;  svg.cpp  the plots

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/cut.hpp"
#include "models/graph.hpp"

namespace tandem::bench {

/// One uplink setting: kernel- or emulator-shaped rate plus the round trip it
/// adds (half on each direction).
struct LinkCase {
  double mbit = 0;
  double rtt = 0;  // ms
  double bytes_per_s() const { return mbit * 1e6 / 8; }
  double rtt_ms() const { return rtt; }
  double one_way_delay_ms() const { return rtt / 2; }
  /// The link syntax of units/units.hpp ("5.85mbit,rtt=40ms"), as --emulate-link takes it.
  std::string spec() const;
};

/// A cut to run for real, with what the planner's cost model predicts for it
/// at the nominal link.
struct Candidate {
  Cut cut{std::vector<bool>{}};
  std::string plan;    // the task's "plan" field: edge_only, cloud_only or cut:...
  std::string label;   // short: edge_only, cloud_only, or the last edge node's name
  std::string origin;  // split | articulation | top-k | min-cut | planner
  std::size_t edge_nodes = 0;  // input excluded
  std::int64_t crossing_bytes = 0;
  double predicted_ms = 0;  // at the nominal link
};

/// One task's result, as the edge daemon reported it.
struct Sample {
  bool ok = false;
  std::string error;
  std::string cut;
  double measured_ms = 0, edge_ms = 0, transfer_ms = 0, cloud_ms = 0;
  double predicted_ms = 0, predicted_edge_ms = 0, predicted_transfer_ms = 0, predicted_cloud_ms = 0;
  std::int64_t crossing_bytes = 0;
  std::optional<double> bandwidth_mbit, rtt_ms;
  bool fallback = false;
};

/// A candidate and its runs (or why it was not run).
struct Measurement {
  Candidate candidate;
  std::vector<Sample> samples;
  bool pruned = false;      // provably slower than a measured plan: not run
  double lower_bound_ms = 0;  // bytes / rate + RTT: no run can be faster
  std::size_t failures = 0;   // runs not ok or fallen back (excluded from medians)
  std::size_t pooled = 0;     // trailing samples copied from the planner's runs (analysis.cpp)
  // Medians over the ok samples.
  double measured_ms = 0, edge_ms = 0, transfer_ms = 0, cloud_ms = 0, predicted_ms = 0;
  bool measured() const { return !pruned && failures < samples.size(); }
};

/// Everything measured for one model on one link, and what follows from it.
struct PairResult {
  std::string model;
  bool chain = true;
  LinkCase link;
  std::string link_kind;  // how the link was shaped
  Measurement planner;    // plan "auto": the cut the planner chose on each run
  std::string planner_cut;       // the cut it chose most often
  double planner_cut_share = 0;  // share of runs that chose it
  std::vector<Measurement> candidates;
  // Confirmation: when the fastest explored candidate is not the planner's
  // cut, fresh interleaved runs of the planner (auto) and of that candidate
  // decide the regret. The minimum over many noisy medians is biased low
  // (equivalent cuts differ only by noise and the luckiest wins); the fresh
  // runs were not selected, so they are not.
  int confirm_index = -1;  // the candidate confirmed, -1 when none was needed
  Measurement confirm_planner, confirm_oracle;
  // Derived (analysis.cpp).
  double planner_ms = 0;       // median of the planner's runs (pooled with the forced runs of its cut)
  double planner_auto_ms = 0;  // median of the auto runs alone
  int planner_index = -1;      // candidate holding the planner's cut, if any
  int oracle_index = -1;       // fastest measured candidate
  int edge_only_index = -1, cloud_only_index = -1;
  double oracle_ms = 0, regret = 0;
  double edge_only_ms = 0, cloud_only_ms = 0, speedup_vs_edge = 0, speedup_vs_cloud = 0;
  double predicted_ms = 0, prediction_error = 0;  // planner's prediction vs its measurement
  double ideal_ms = 0, overhead_ms = 0;           // docs/design.md §7
  double est_bandwidth_mbit = 0, est_rtt_ms = 0;  // the edge's estimates at planning time (medians)
  double seconds = 0;                             // wall time spent on this pair
};

/// Median of `values` (0 for none).
double median(std::vector<double> values);

}  // namespace tandem::bench
