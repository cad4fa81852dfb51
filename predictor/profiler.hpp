#pragma once
// The profiler (LibTorch): times zoo models in context and a sweep of
// one-layer models, fits a DeviceProfile, and validates a profile by
// re-measuring. Every timing goes through Model::run_nodes with the same
// RunOptions (slowdown) the daemons use, so a profile describes the executor
// as it really runs (docs/design.md §7, §10).
//
// All functions block, set LibTorch's process-wide intra-op thread count, and
// must not run concurrently with other timed work in the process.

#include <functional>
#include <cstdint>
#include <string>
#include <vector>

#include "models/model.hpp"
#include "predictor/profile.hpp"

namespace tandem::predictor {

/// How to time models.
struct TimingOptions {
  double slowdown = 1.0;
  int warmup = 2;    // discarded runs (oneDNN builds its primitives on the first)
  int repeats = 10;  // timed runs; medians are taken over these
  /// Up to this many timed runs for a model whose nodes' spread stays above
  /// k_spread_target (0 or less than `repeats`: exactly `repeats`).
  int max_repeats = 0;
  double timer_overhead_ms = 0;  // subtracted from every interval
};

/// A time measured this many times or more is trusted when its relative
/// interquartile range ((p75 - p25) / median) is at most this; above it the
/// profiler measures more (docs/design.md §9).
inline constexpr double k_spread_target = 0.10;

/// (p75 - p25) / median of `v`, linear interpolation between order statistics
/// (0 for fewer than two values or a zero median).
double relative_spread(std::vector<double> v);

/// Median cost of one steady_clock::now() call, in ns (measured back to back).
double measure_timer_overhead_ns();

/// In-context timing of a whole model (RunOptions::on_node over whole runs).
struct ModelTiming {
  std::vector<double> node_ms;      // per node id: median over the runs (0 for the input)
  std::vector<double> node_spread;  // per node id: relative_spread over the runs
  double whole_ms = 0;              // median wall time of the same runs
  double node_sum_ms = 0;           // sum of node_ms
  int computed_nodes = 0;
  int runs = 0;                     // timed runs
  /// Mean of node_spread weighted by node_ms: the share of the model's time
  /// that is noise.
  double spread() const;
};

/// Times several models with per-node callbacks, interleaved: round r runs
/// each model once, so a burst of load on the machine falls on every model a
/// little rather than on one model's every run, and every run follows
/// another model's (cold, as in a queue of mixed tasks). After `repeats`
/// rounds, the models whose spread() is above k_spread_target get more
/// rounds, up to `max_repeats`. Throws ExecError from the executor.
std::vector<ModelTiming> time_models(const std::vector<const Model*>& models, const TimingOptions& options);
/// time_models of one model.
ModelTiming time_model(const Model& model, const TimingOptions& options);
/// Median wall ms of plain whole runs (no callback), as a daemon runs them.
double time_whole(const Model& model, const TimingOptions& options);
/// time_whole of several models, interleaved round by round, each run right
/// after another model's (cold, as in a queue of mixed tasks).
std::vector<double> time_wholes(const std::vector<const Model*>& models, const TimingOptions& options);

/// A run's cold start on this device (profile.hpp ColdStart): the probe timed
/// right after each of `others` in turn and right after itself, over
/// max(repeats, 2 x others) rounds after `warmup` runs; medians.
ColdStart measure_cold_start(const std::vector<const Model*>& others, const TimingOptions& options);

/// One configuration of the synthetic sweep.
struct SweepLayer {
  OpKind kind = OpKind::relu;
  LayerAttrs attrs;
  Shape input;
  int arity = 1;
};

/// The sweep: seeded configurations of every layer kind spanning the shapes
/// of real CNNs (conv incl. depthwise, grouped, 1×1; linear; pools; ...).
/// `quick` keeps about a fifth of them.
std::vector<SweepLayer> sweep_layers(bool quick, std::uint64_t seed);

/// One sweep layer's timing.
struct LayerTiming {
  double ms = 0;      // median, slowdown included
  double spread = 0;  // relative_spread of the runs
  int runs = 0;
  NodeFeatures x;
};

/// Times sweep layers (one-layer models on the executor's path, as inside a
/// network: build_layer_model), interleaved within blocks of a few layers:
/// each round runs every layer of the block once. A layer gets about
/// `budget_ms` of timed runs (3 to 25), and up to twice that many when its
/// spread is above k_spread_target. `done(i)` is called after layer i.
/// Throws std::invalid_argument for a configuration a layer rejects.
std::vector<LayerTiming> time_layers(const std::vector<SweepLayer>& layers, double slowdown, double budget_ms,
                                     double timer_overhead_ms, const std::function<void(std::size_t)>& done = {});
/// time_layers of one layer: its median ms, and its features in `features`.
double time_layer(const SweepLayer& layer, double slowdown, double budget_ms,
                  double timer_overhead_ms, NodeFeatures& features);

struct ProfileOptions {
  std::string device;
  int threads = 1;
  double slowdown = 1.0;
  std::vector<std::string> models;  // empty: the whole zoo
  /// Loads a model by name (e.g. ModelCatalog::load, for imported models);
  /// empty: the zoo's build_model.
  std::function<std::shared_ptr<const Model>(const std::string&)> load;
  bool quick = false;
  bool progress = true;  // progress bar with ETA on stderr
  std::uint64_t seed = 1;
};

/// Measures this machine and fits a profile. Throws std::invalid_argument for
/// bad options (unknown model, threads < 1, slowdown < 1).
DeviceProfile profile_device(const ProfileOptions& options);

/// A predicted side of a cut against its measured run.
struct SideCheck {
  std::string cut;
  bool edge = true;
  double measured_ms = 0, predicted_ms = 0;
};

struct ModelValidation {
  std::string model;
  double measured_ms = 0;       // median of plain whole runs
  double spread_pct = 0;        // ModelTiming::spread() of the re-measurement, percent
  double lomo_ms = 0;           // regression fitted without this model's layers
  double table_ms = 0;          // full profile (measured table first)
  double lomo_node_median_pct = 0;   // over nodes >= min_node_ms
  double table_node_median_pct = 0;
  int nodes_counted = 0;
  std::vector<SideCheck> sides;  // articulation cuts, in-table predictor
};

struct ValidationReport {
  std::vector<ModelValidation> models;
  double lomo_mape_pct = 0;    // whole model, leave-one-model-out
  double table_mape_pct = 0;   // whole model, measured table
  double lomo_node_median_pct = 0;   // pooled over all models' nodes >= min_node_ms
  double table_node_median_pct = 0;
  double side_median_pct = 0;  // pooled over all side checks
  int nodes_counted = 0;
};

struct ValidateOptions {
  std::vector<std::string> models;  // empty: the models in the profile's table
  /// As ProfileOptions::load.
  std::function<std::shared_ptr<const Model>(const std::string&)> load;
  int warmup = 2;
  int repeats = 7;
  int cuts_per_model = 2;       // articulation cuts whose sides are re-measured
  double min_node_ms = 0.05;    // per-node errors count nodes at least this slow
  bool progress = true;
};

/// Re-measures `profile`'s models on this machine with its threads and
/// slowdown and compares them with its predictions. Throws
/// std::invalid_argument for an unknown model.
ValidationReport validate_profile(const DeviceProfile& profile, const ValidateOptions& options);

}  // namespace tandem::predictor
