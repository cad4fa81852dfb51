#pragma once
// How fast the edge and the cloud really compute, against the profiles.
//
// A profile is made once; the device it describes does not stay put. On this
// project's shared VM the same model runs 20-40% slower or faster from one
// minute to the next (README, "Profiling and prediction"), a phone throttles
// when warm, and a cloud slows under other edges' requests. The planner's
// node costs come from the profile, so every prediction inherits that drift.
// The monitor learns it from the tasks themselves, as the bandwidth monitor
// learns the link from real transfers: each task's measured edge compute and
// the cloud's reported compute time, over what the profile predicted for the
// same cut, give one ratio per side; the scale is the median of the last
// `window` ratios (robust to one task that met a burst of load), 1 until
// `min_samples` have arrived, clamped to [min_scale, max_scale]. The planner
// multiplies the profile's node and run costs by it (planner::Conditions).
// Runs predicted below `min_predicted_ms` are not counted: their time is
// mostly what every run pays — the clock, wake-ups, the cold start charged
// to each run — which says little about the device's speed (LeNet on the 4x
// edge: predicted 3.7 ms with its cold start, measured 1.0 ms run after
// itself; counted, its ratios pulled AlexNet's prediction to 35 ms against
// 60 measured). docs/design.md §9.
//
// Not thread-safe: the edge service calls it under its own lock.

#include <cstddef>
#include <deque>

namespace tandem::planner {

class ComputeMonitor {
 public:
  struct Options {
    std::size_t window = 16;
    std::size_t min_samples = 3;
    double min_predicted_ms = 5.0;
    double min_scale = 0.25;
    double max_scale = 4.0;
  };
  ComputeMonitor();
  explicit ComputeMonitor(Options options);

  /// One side of one task: predicted by the profile (unscaled) and measured.
  /// Non-finite or non-positive values are ignored.
  void add_edge(double predicted_ms, double measured_ms);
  void add_cloud(double predicted_ms, double measured_ms);

  /// Measured / predicted compute of recent tasks (1 until enough samples).
  double edge_scale() const { return scale(edge_); }
  double cloud_scale() const { return scale(cloud_); }
  std::size_t edge_samples() const { return edge_.size(); }
  std::size_t cloud_samples() const { return cloud_.size(); }

 private:
  void add(std::deque<double>& ratios, double predicted_ms, double measured_ms);
  double scale(const std::deque<double>& ratios) const;

  Options options_;
  std::deque<double> edge_, cloud_;  // the last `window` measured / predicted ratios
};

}  // namespace tandem::planner
