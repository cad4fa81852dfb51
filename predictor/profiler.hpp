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

/// How to time one model.
struct TimingOptions {
  double slowdown = 1.0;
  int warmup = 2;    // discarded runs (oneDNN builds its primitives on the first)
  int repeats = 10;  // timed runs; medians are taken over these
  double timer_overhead_ms = 0;  // subtracted from every interval
};

/// Median cost of one steady_clock::now() call, in ns (measured back to back).
double measure_timer_overhead_ns();

/// In-context timing of a whole model (RunOptions::on_node over whole runs).
struct ModelTiming {
  std::vector<double> node_ms;  // per node id: median over repeats (0 for the input)
  double whole_ms = 0;          // median wall time of the same runs
  double node_sum_ms = 0;       // sum of node_ms
  int computed_nodes = 0;
};

/// Times `model` with per-node callbacks. Throws ExecError from the executor.
ModelTiming time_model(const Model& model, const TimingOptions& options);
/// Median wall ms of plain whole runs (no callback), as a daemon runs them.
double time_whole(const Model& model, const TimingOptions& options);

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

/// Times one sweep layer (a one-layer model, same executor path). Returns its
/// median ms and fills `features`. Throws std::invalid_argument for a
/// configuration the layer rejects.
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
