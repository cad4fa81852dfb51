#pragma once
// Per-layer-kind latency regressors (Eigen), without LibTorch.
//
// docs/design.md §9: plain least squares on raw features, fitted on layers spanning
// 0.01 ms to seconds, is dominated by the large layers and predicts small ones
// negative. Every form here fits relative error instead:
//   linear      t = c0 + Σ c_i x_i, c_i >= 0, weighted by 1/t² (relative
//               error), c0 is the fixed per-call overhead;
//   log_linear  log t = b0 + Σ b_i log(1 + x_i/u_i)  (a power law with a soft
//               knee at the unit u_i, fitted in log space).
// The form is chosen per regression class by k-fold validation error; every
// prediction is at least the class floor (> 0): cheap layers are not free.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "models/graph.hpp"

namespace tandem::predictor {

/// Median of `v` (mean of the two middle values for an even count; 0 when empty).
double median(std::vector<double> v);

/// Raw cost features of one node: enough to recompute any design row, so
/// stored samples survive changes of the regression design.
struct NodeFeatures {
  static constexpr std::size_t k_count = 16;
  double macs = 0, flops = 0;
  double input_bytes = 0, output_bytes = 0, param_bytes = 0;
  double in_channels = 0, out_channels = 0;
  double kernel_h = 0, kernel_w = 0, stride = 0, groups = 0;
  double in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  double arity = 0;  // number of inputs

  /// Field names, in to_array() order (the JSON column names).
  static const std::array<const char*, k_count>& names();
  /// The fields as an array, in names() order.
  std::array<double, k_count> to_array() const;
  /// Inverse of to_array().
  static NodeFeatures from_array(const std::array<double, k_count>& values);
  friend bool operator==(const NodeFeatures&, const NodeFeatures&) = default;
};

/// Features of node `id` of `graph` (spatial input size from its first producer).
NodeFeatures node_features(const GraphDesc& graph, NodeId id);

/// One timed node: the training data of the regressors.
struct Sample {
  OpKind kind = OpKind::input;
  NodeFeatures x;
  double ms = 0;       // median wall time, slowdown included
  std::string source;  // "sweep" or "model:<name>"
  bool after_sleep = false;  // the executor slept (the previous run's stretch) just before it
  double spread = 0;   // relative interquartile range of its runs (0: unknown)

  /// True when timed inside a whole model (not as a one-layer sweep model).
  bool in_context() const { return source != "sweep"; }
};

/// True when a run whose nodes took `ms` (slowdown `slowdown` included) makes
/// the executor sleep before it returns (RunOptions::slowdown in
/// models/model.hpp waits once per run). In a profile, this marks the first
/// node of the next run, and every repetition of a one-layer sweep model.
bool sleeps_after(double ms, double slowdown);

enum class RegressionForm { linear, log_linear };
/// "linear" / "log_linear".
std::string to_string(RegressionForm form);
/// Parses a form name; throws std::invalid_argument naming it when unknown.
RegressionForm regression_form_from_string(const std::string& name);

/// The regression class of a node: its kind name, and for conv2d, when
/// `split_conv`, one of "conv2d.depthwise", "conv2d.grouped" (groups > 1,
/// not depthwise), "conv2d.1x1", "conv2d.kxk".
std::string regression_class(OpKind kind, const NodeFeatures& x, bool split_conv);
/// The kind a regression class belongs to; throws std::invalid_argument when unknown.
OpKind class_kind(const std::string& cls);
/// Names of the design features of `cls` in `form` (without the intercept,
/// with the final "after_sleep" and "cold_param_bytes").
/// Throws std::invalid_argument for an unknown class.
std::vector<std::string> design_names(const std::string& cls, RegressionForm form);
/// Design row of `x` for `cls` and `form`: intercept 1 first, then raw
/// features (linear) or log(1 + x/unit) (log_linear), then two context terms:
///  * after_sleep: under a slowdown, a node that starts right after the
///    executor slept pays a wake-up cost (measured: a 100 kB ReLU takes
///    0.02 ms after a spin and 0.15 ms after a sleep on the 4x edge);
///  * cold_param_bytes: the weights of a convolution inside a model were
///    evicted by the layers before it, while a repeated one-layer sweep model
///    finds them in cache (measured: in-context convolutions ~20% slower at
///    2 threads). Its value is the weight bytes of a convolution in context,
///    0 in the sweep and for other kinds.
Eigen::VectorXd design_row(const std::string& cls, RegressionForm form, const NodeFeatures& x,
                           bool after_sleep = false, bool in_context = true);

/// Fit quality of one regressor.
struct FitStats {
  int n = 0;                       // training samples
  double r2 = 0;                   // of log(ms): scale-free, so small layers count
  double median_abs_pct = 0;       // in-sample |pred - t| / t, percent
  double mean_abs_pct = 0;
  double cv_linear_pct = -1;       // k-fold mean abs % error of each form (-1: not run)
  double cv_log_linear_pct = -1;
};

/// One fitted regressor: coefficients[0] is the intercept.
struct Regressor {
  std::string cls;
  RegressionForm form = RegressionForm::linear;
  std::vector<double> coefficients;
  double floor_ms = 0;  // predictions never go below this (> 0)
  FitStats stats;

  /// Predicted ms for `x`, started after a sleep or not, inside a model or
  /// not; always >= floor_ms > 0.
  double predict(const NodeFeatures& x, bool after_sleep = false, bool in_context = true) const;
};

/// How much a sample counts in a fit: 1 / (1 + spread / 0.1). A sample whose
/// runs spread by 10% counts half, one at 50% a sixth; the fit follows the
/// times the machine repeated, not its noise.
double sample_weight(const Sample& s);

/// Non-negative least squares min ||A c - b||, c >= 0 (Lawson-Hanson active set).
Eigen::VectorXd nnls(const Eigen::MatrixXd& a, const Eigen::VectorXd& b);

/// Fits `form` to samples of one class (all of `samples` are used), each
/// weighted by sample_weight. Throws std::invalid_argument when there are no
/// samples or a time is not > 0.
Regressor fit_regressor(const std::string& cls, RegressionForm form,
                        const std::vector<Sample>& samples);

/// Options of the per-class model selection.
struct FitOptions {
  int folds = 5;
  std::uint64_t seed = 1;
  /// Classes with fewer samples than this skip validation and use linear.
  int min_samples_for_cv = 8;
};

/// k-fold mean absolute % error of `form` on `samples` (out-of-fold predictions).
double cross_validate(const std::string& cls, RegressionForm form,
                      const std::vector<Sample>& samples, const FitOptions& options = {});

/// Fits both forms to one class and keeps the one with the lower k-fold error
/// (both errors recorded in stats).
Regressor fit_best(const std::string& cls, const std::vector<Sample>& samples,
                   const FitOptions& options = {});

/// The regressors of a device: one per class.
struct RegressionSet {
  bool split_conv = true;
  double cv_conv_split_pct = -1;  // pooled k-fold error of conv, split vs one class
  double cv_conv_joint_pct = -1;
  std::map<std::string, Regressor> regressors;

  /// Predicted ms of a node of `kind` with features `x` (0 for the input
  /// node). Throws std::out_of_range naming the class when it has no regressor.
  double predict(OpKind kind, const NodeFeatures& x, bool after_sleep = false) const;
};

/// Fits every class present in `samples` (input nodes ignored) and decides
/// whether conv2d is split into sub-kinds by pooled k-fold error.
RegressionSet fit_regressions(const std::vector<Sample>& samples, const FitOptions& options = {});

}  // namespace tandem::predictor
