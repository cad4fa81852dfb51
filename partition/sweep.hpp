#pragma once
// Bandwidth sweep: over a bandwidth range, the intervals on which the best
// plan stays the same, so a planner can cache one plan per interval and
// re-plan only when the measured bandwidth leaves it.
//
// Latency and energy (chains and DAGs): a fixed plan's objective is affine in
// x = 1/bandwidth, so the optimum is the lower envelope of lines and each plan
// owns at most one interval. The sweep finds the envelope exactly
// (Eisner-Severance): solve at both ends; where two different optimal plans'
// lines cross, solve again; if nothing beats them there the crossing is a
// breakpoint, otherwise recurse on both sides. 2k-1 solves for k intervals;
// breakpoints are exact up to float rounding.
//
// Throughput: a plan's period max(E, U·x, C) is not affine in x and a plan
// may own several intervals, so the sweep samples log-spaced bandwidths and
// bisects between samples with different plans down to relative_tolerance.
// An interval narrower than the sample spacing that starts and ends with the
// same plan can be missed.

#include <cstddef>
#include <vector>

#include "models/graph.hpp"
#include "partition/cost_model.hpp"
#include "partition/optimise.hpp"
#include "partition/plan.hpp"

namespace tandem::partition {

struct SweepOptions {
  /// The swept bandwidth is the downlink's too; false keeps model.link's downlink.
  bool downlink_follows_uplink = true;
  /// Throughput: bisection stops when high / low - 1 is below this.
  double relative_tolerance = 1e-4;
  /// Throughput: log-spaced samples before bisecting (>= 2).
  std::size_t samples = 33;
  /// Optimiser solves the sweep may spend; once spent, remaining undecided
  /// ranges are split at their midpoint.
  std::size_t max_solves = 100'000;
  OptimiseOptions optimise;
};

/// One range of bandwidths with one best plan.
struct BandwidthInterval {
  double low_bytes_per_s = 0;
  double high_bytes_per_s = 0;
  Plan plan;  // the best plan, its breakdown evaluated at low_bytes_per_s
};

/// The intervals covering [low, high] bytes/s, ascending and contiguous
/// (one interval's high is the next one's low), adjacent intervals with
/// different cuts. Throws std::invalid_argument when low <= 0, high < low, a
/// bound is not finite, or the model or options are invalid. Reentrant.
std::vector<BandwidthInterval> sweep_bandwidth(const GraphDesc& graph, const CostModel& model, Objective objective,
                                               double low_bytes_per_s, double high_bytes_per_s,
                                               const SweepOptions& options = {});

/// The model with its uplink (and, when `downlink_follows_uplink`, its downlink) set to `bytes_per_s`.
CostModel with_bandwidth(const CostModel& model, double bytes_per_s, bool downlink_follows_uplink);

}  // namespace tandem::partition
