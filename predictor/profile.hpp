#pragma once
// A device profile: what one device (threads, slowdown, CPU) measured, and the
// regressors fitted to it. Saved as JSON (profiles/<device>.json).
//
// The raw samples are kept so the fit can be redone — in particular with one
// model's own layers left out, which is how `tandem profile --validate`
// measures the regression on models it has not seen.

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "predictor/regression.hpp"

namespace tandem::predictor {

inline constexpr int k_profile_schema_version = 1;

/// One zoo node timed in context (inside whole-model runs).
struct MeasuredNode {
  std::string model;
  std::string node;  // node name, unique within the model
  NodeId id = 0;
  OpKind kind = OpKind::input;
  NodeFeatures x;    // shapes at profiling time: the entry applies only if they match
  double ms = 0;     // median over repeats, slowdown included
  double spread = 0; // relative interquartile range of those runs (profiler.hpp)
};

/// One zoo model's whole runs: the data of the per-run overhead fit.
struct ModelRun {
  std::string model;
  int nodes = 0;           // computed nodes (the input excluded)
  double whole_ms = 0;     // median wall time of a whole run
  double node_sum_ms = 0;  // sum of the per-node medians
};

/// A run's cold start: what a model's run right after another model's costs
/// beyond a run right after itself (code paths, weights and freshly
/// allocated pages cold again). LeNet on the 4x edge: 0.28 ms after itself,
/// 0.79 ms after GoogLeNet, 1.31 ms after AlexNet. A task queue of mixed
/// models pays it on nearly every task; a large model hardly notices it. The
/// in-context table holds it (the profiler times each model right after
/// another); the regression, fitted mostly on the sweep's repeated one-layer
/// models, holds part of it. The rest is measured, not fitted: the profiler
/// times a small probe network (cold_start_probe, not a zoo model) right
/// after each zoo model, and the cold start is what that run costs beyond the
/// regression's prediction of it (RunOverhead::cold_ms, recomputed with
/// every refit). The zoo's whole runs are too noisy to resolve a fraction
/// of a millisecond.
struct ColdStart {
  std::string probe;   // the probe network's name
  double warm_ms = 0;  // median whole run of the probe right after itself
  double cold_ms = 0;  // median whole run of the probe right after another model
  int runs = 0;        // timed runs of each
  /// cold - warm, at least 0.
  double excess_ms() const;
};

/// What a whole run costs beyond the sum of its nodes' medians: the
/// executor's own work between nodes (bookkeeping, freeing tensors) and the
/// skew of per-node times (a sum of medians undercounts a run whose nodes
/// now and then take longer) grow with the run, so they are a fraction of
/// the nodes' sum: the median over the zoo models of (whole - sum) / sum.
/// On top, a run predicted from the regression pays the cold start once
/// (see ColdStart). A fixed
/// per-run term fitted from the zoo's runs was tried and rejected: on the
/// six models left in a leave-one-out fit it came out at several ms, set by
/// the noise of the largest models, and wrecked the 1 ms LeNet; the cold
/// start is measured on a probe instead (ColdStart).
struct RunOverhead {
  double fraction = 0;
  double cold_ms = 0;  // the probe's cold run beyond its prediction (ColdStart)
  /// Overhead of a run computing `nodes` nodes predicted to take `node_ms`
  /// in total (0 when nodes == 0); `cold_in_table`: the run's first node
  /// came from the in-context table, which holds the cold start already.
  double ms(std::size_t nodes, double node_ms, bool cold_in_table = false) const;
};

struct DeviceProfile {
  int schema_version = k_profile_schema_version;
  std::string device;
  int threads = 1;
  double slowdown = 1.0;
  std::string libtorch_version;
  std::string cpu_model;
  std::string allocator;  // process_allocator() of the profiling run; "" before 2026-12-04
  std::string date;  // ISO 8601, UTC
  bool quick = false;
  int warmup = 0;     // runs discarded before timing
  int repeats = 0;    // timed runs per zoo model (the sweep adapts its own)
  double timer_overhead_ns = 0;  // subtracted from every timing
  RegressionSet regressions;
  RunOverhead overhead;
  ColdStart cold_start;  // absent in profiles made before it was measured: zeros
  std::vector<MeasuredNode> measured;
  std::vector<ModelRun> runs;
  std::vector<Sample> samples;
};

/// The CPU's model name from /proc/cpuinfo ("unknown" when absent), as a
/// profile and a benchmark report record it.
std::string cpu_model();
/// The current time as ISO 8601 UTC ("2026-12-01T20:53:49Z").
std::string utc_now();

/// Refits regressions and overhead from the profile's samples and runs.
void refit(DeviceProfile& profile, const FitOptions& options = {});

/// The per-run overhead fraction of `runs` (median ratio, see RunOverhead;
/// zero when there are no runs); cold_ms is left 0.
RunOverhead fit_overhead(const std::vector<ModelRun>& runs);

/// The cold start's probe: a small CNN of the commonest kinds (conv, relu,
/// max pool, flatten, linear; 71 K parameters), not a zoo model.
GraphDesc cold_start_probe();
/// What the profile's measured cold run of the probe costs beyond the
/// regression's prediction of it (at least 0; 0 without a measurement;
/// ColdStart::excess_ms() when the regression lacks one of its kinds).
double cold_start_residual(const DeviceProfile& profile);

/// A copy of `profile` without anything measured on `model` (samples, table
/// entries, runs), refitted: the leave-one-model-out predictor's profile.
DeviceProfile without_model(const DeviceProfile& profile, const std::string& model);

/// What loading does with a profile's stored regressors.
enum class StoredRegressors {
  check,   // read them; a class whose design differs from this build's is an error
  ignore,  // leave them out (the caller refits from the samples: tandem profile --refit)
};

/// The profile as JSON.
nlohmann::json to_json(const DeviceProfile& profile);
/// Parses a profile. Throws std::runtime_error naming `origin` and the field
/// when the schema version is wrong or a field is missing or mistyped.
DeviceProfile profile_from_json(const nlohmann::json& j, const std::string& origin,
                                StoredRegressors regressors = StoredRegressors::check);

/// Writes the profile as indented JSON. Throws std::runtime_error naming the
/// path on I/O failure.
void save_profile(const DeviceProfile& profile, const std::filesystem::path& path);
/// Reads a profile. Throws std::runtime_error naming the path and the problem
/// (unreadable, bad JSON, wrong schema, missing or mistyped field).
DeviceProfile load_profile(const std::filesystem::path& path, StoredRegressors regressors = StoredRegressors::check);

}  // namespace tandem::predictor
