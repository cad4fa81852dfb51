#include "predictor/regression.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>
#include <stdexcept>

#include <fmt/format.h>

namespace tandem::predictor {
namespace {

// One design feature: how to read it from the raw features, its unit in the
// linear form (coefficients then read as ms per unit) and the knee of its
// log(1 + x/unit) term in the log-linear form.
struct FeatureDef {
  const char* name;
  std::function<double(const NodeFeatures&)> get;
  double linear_unit;
  double log_unit;
};

constexpr double k_mega = 1e6;
// Knees of log(1 + x/u): about where a layer stops being pure call overhead
// on this CPU class (~5 µs ≈ 10 kB moved ≈ 1e5 MACs).
constexpr double k_bytes_knee = 1e4;
constexpr double k_macs_knee = 1e5;

double out_elems(const NodeFeatures& x) { return x.output_bytes / 4.0; }
double kernel_area(const NodeFeatures& x) { return std::max(1.0, x.kernel_h * x.kernel_w); }
double cin_per_group(const NodeFeatures& x) {
  return x.groups > 0 ? x.in_channels / x.groups : x.in_channels;
}

const FeatureDef k_macs{"macs", [](const NodeFeatures& x) { return x.macs; }, k_mega, k_macs_knee};
// Multiply-accumulates per input channel: output pixels x kernel window. With
// few input channels per group (first layers, depthwise) this, not MACs,
// sets the time: the inner loop is too short to vectorise.
const FeatureDef k_window{"window",
                          [](const NodeFeatures& x) { return out_elems(x) * kernel_area(x); },
                          k_mega, k_macs_knee};
const FeatureDef k_in{"input_bytes", [](const NodeFeatures& x) { return x.input_bytes; }, k_mega,
                      k_bytes_knee};
const FeatureDef k_out{"output_bytes", [](const NodeFeatures& x) { return x.output_bytes; },
                       k_mega, k_bytes_knee};
const FeatureDef k_param{"param_bytes", [](const NodeFeatures& x) { return x.param_bytes; },
                         k_mega, k_bytes_knee};
// Weight bytes beyond a private cache: a fully connected layer's weights
// that fit stay cached between calls; beyond, every byte streams from memory
// at a lower rate (the knee of a batch-1 FC layer's time).
constexpr double k_private_cache_bytes = 1 << 20;
const FeatureDef k_param_beyond_cache{"param_bytes_beyond_cache",
                                      [](const NodeFeatures& x) { return std::max(0.0, x.param_bytes - k_private_cache_bytes); },
                                      k_mega, k_bytes_knee};
const FeatureDef k_flops{"flops", [](const NodeFeatures& x) { return x.flops; }, k_mega,
                         k_macs_knee};
const FeatureDef k_arity{"arity", [](const NodeFeatures& x) { return x.arity; }, 1, 1};
const FeatureDef k_cin{"cin_per_group", cin_per_group, 1, 1};
const FeatureDef k_kernel{"kernel_area", kernel_area, 1, 1};
const FeatureDef k_spatial{"out_spatial", [](const NodeFeatures& x) { return x.out_h * x.out_w; },
                           1, 1};

struct ClassDesign {
  std::vector<const FeatureDef*> linear;
  std::vector<const FeatureDef*> log_linear;
};

const std::map<std::string, ClassDesign>& designs() {
  static const std::map<std::string, ClassDesign> table = [] {
    std::map<std::string, ClassDesign> t;
    const ClassDesign conv{{&k_macs, &k_window, &k_in, &k_out, &k_param},
                           {&k_macs, &k_in, &k_out, &k_param, &k_cin, &k_kernel, &k_spatial}};
    for (const char* c : {"conv2d", "conv2d.depthwise", "conv2d.grouped", "conv2d.1x1", "conv2d.kxk"}) t[c] = conv;
    // Fully connected layers at batch 1 are memory-bound: weight bytes lead.
    t["linear"] = {{&k_param, &k_param_beyond_cache, &k_macs, &k_in, &k_out}, {&k_param, &k_param_beyond_cache, &k_macs, &k_in, &k_out}};
    const ClassDesign pool{{&k_in, &k_out, &k_flops}, {&k_in, &k_out, &k_flops, &k_kernel}};
    t["max_pool2d"] = pool;
    t["avg_pool2d"] = pool;
    t["adaptive_avg_pool2d"] = {{&k_in, &k_out}, {&k_in, &k_out}};
    const ClassDesign elementwise{{&k_out}, {&k_out}};
    for (const char* c : {"batch_norm2d", "relu", "relu6", "dropout", "flatten", "softmax", "hardswish",
                          "hardsigmoid", "silu", "sigmoid", "gelu", "tanh", "reshape", "permute", "contiguous"}) {
      t[c] = elementwise;
    }
    const ClassDesign join{{&k_in, &k_out, &k_arity}, {&k_in, &k_out, &k_arity}};
    t["add"] = join;
    t["mul"] = join;
    t["concat"] = join;
    t["mean"] = {{&k_in, &k_out}, {&k_in, &k_out}};
    t["matmul"] = {{&k_macs, &k_in, &k_out}, {&k_macs, &k_in, &k_out}};
    // Any other operator: what it reads and writes is all that is known.
    t["generic"] = {{&k_in, &k_out, &k_param}, {&k_in, &k_out, &k_param}};
    t["local_response_norm"] = {{&k_flops, &k_out}, {&k_flops, &k_out}};
    return t;
  }();
  return table;
}

const ClassDesign& design_of(const std::string& cls) {
  const auto it = designs().find(cls);
  if (it == designs().end()) {
    throw std::invalid_argument(fmt::format("unknown regression class '{}'", cls));
  }
  return it->second;
}

const std::vector<const FeatureDef*>& features_of(const std::string& cls, RegressionForm form) {
  const ClassDesign& d = design_of(cls);
  return form == RegressionForm::linear ? d.linear : d.log_linear;
}

double abs_pct(double predicted, double actual) {
  return 100.0 * std::abs(predicted - actual) / actual;
}

// Relative-error weighted NNLS: rows divided by t, target 1, each row and
// its target scaled by the square root of the sample's weight.
std::vector<double> fit_linear(const std::string& cls, const std::vector<Sample>& samples) {
  const auto cols = static_cast<Eigen::Index>(features_of(cls, RegressionForm::linear).size() + 3);
  Eigen::MatrixXd a(static_cast<Eigen::Index>(samples.size()), cols);
  Eigen::VectorXd target(static_cast<Eigen::Index>(samples.size()));
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const double w = std::sqrt(sample_weight(samples[i]));
    a.row(static_cast<Eigen::Index>(i)) =
        design_row(cls, RegressionForm::linear, samples[i].x, samples[i].after_sleep,
                   samples[i].in_context()).transpose() * (w / samples[i].ms);
    target[static_cast<Eigen::Index>(i)] = w;
  }
  // Scale columns to unit norm: MACs and intercept differ by many orders.
  Eigen::VectorXd scale = a.colwise().norm().transpose();
  for (Eigen::Index j = 0; j < cols; ++j) {
    if (scale[j] <= 0) scale[j] = 1;
  }
  const Eigen::VectorXd c = nnls(a * scale.cwiseInverse().asDiagonal(), target);
  const Eigen::VectorXd coef = c.cwiseQuotient(scale);
  return {coef.data(), coef.data() + coef.size()};
}

// Least squares in log space with a light ridge on the slopes, which keeps
// collinear features (input == output bytes for elementwise ops) finite.
std::vector<double> fit_log_linear(const std::string& cls, const std::vector<Sample>& samples) {
  constexpr double k_ridge = 1e-3;
  const auto cols =
      static_cast<Eigen::Index>(features_of(cls, RegressionForm::log_linear).size() + 3);
  const auto n = static_cast<Eigen::Index>(samples.size());
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(n + cols - 1, cols);
  Eigen::VectorXd y = Eigen::VectorXd::Zero(n + cols - 1);
  for (Eigen::Index i = 0; i < n; ++i) {
    const Sample& s = samples[static_cast<std::size_t>(i)];
    const double w = std::sqrt(sample_weight(s));
    a.row(i) = design_row(cls, RegressionForm::log_linear, s.x, s.after_sleep, s.in_context()).transpose() * w;
    y[i] = std::log(s.ms) * w;
  }
  for (Eigen::Index j = 1; j < cols; ++j) a(n + j - 1, j) = std::sqrt(k_ridge);
  const Eigen::VectorXd coef = a.colPivHouseholderQr().solve(y);
  return {coef.data(), coef.data() + coef.size()};
}

FitStats in_sample_stats(const Regressor& r, const std::vector<Sample>& samples) {
  FitStats st;
  st.n = static_cast<int>(samples.size());
  std::vector<double> errs;
  double mean_log = 0;
  for (const Sample& s : samples) mean_log += std::log(s.ms);
  mean_log /= static_cast<double>(samples.size());
  double ss_res = 0, ss_tot = 0;
  for (const Sample& s : samples) {
    const double p = r.predict(s.x, s.after_sleep, s.in_context());
    errs.push_back(abs_pct(p, s.ms));
    ss_res += std::pow(std::log(p) - std::log(s.ms), 2);
    ss_tot += std::pow(std::log(s.ms) - mean_log, 2);
  }
  st.r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : 1.0;
  st.median_abs_pct = median(errs);
  st.mean_abs_pct = std::accumulate(errs.begin(), errs.end(), 0.0) / static_cast<double>(errs.size());
  return st;
}

std::map<std::string, std::vector<Sample>> by_class(const std::vector<Sample>& samples,
                                                    bool split_conv) {
  std::map<std::string, std::vector<Sample>> out;
  for (const Sample& s : samples) {
    if (s.kind == OpKind::input) continue;
    out[regression_class(s.kind, s.x, split_conv)].push_back(s);
  }
  return out;
}

double best_cv(const Regressor& r) {
  const double a = r.stats.cv_linear_pct, b = r.stats.cv_log_linear_pct;
  if (a < 0 && b < 0) return r.stats.mean_abs_pct;
  if (a < 0) return b;
  if (b < 0) return a;
  return std::min(a, b);
}

}  // namespace

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  if (v.size() % 2 == 1) return *mid;
  return 0.5 * (*mid + *std::max_element(v.begin(), mid));
}

const std::array<const char*, NodeFeatures::k_count>& NodeFeatures::names() {
  static const std::array<const char*, k_count> n{
      "macs",        "flops",        "input_bytes", "output_bytes", "param_bytes", "in_channels",
      "out_channels", "kernel_h",    "kernel_w",    "stride",       "groups",      "in_h",
      "in_w",        "out_h",        "out_w",       "arity"};
  return n;
}

std::array<double, NodeFeatures::k_count> NodeFeatures::to_array() const {
  return {macs,     flops,    input_bytes, output_bytes, param_bytes, in_channels,
          out_channels, kernel_h, kernel_w, stride, groups, in_h, in_w, out_h, out_w, arity};
}

NodeFeatures NodeFeatures::from_array(const std::array<double, k_count>& v) {
  NodeFeatures x;
  x.macs = v[0], x.flops = v[1], x.input_bytes = v[2], x.output_bytes = v[3];
  x.param_bytes = v[4], x.in_channels = v[5], x.out_channels = v[6], x.kernel_h = v[7];
  x.kernel_w = v[8], x.stride = v[9], x.groups = v[10], x.in_h = v[11], x.in_w = v[12];
  x.out_h = v[13], x.out_w = v[14], x.arity = v[15];
  return x;
}

NodeFeatures node_features(const GraphDesc& graph, NodeId id) {
  const Node& n = graph.node(id);
  NodeFeatures x;
  x.macs = n.macs;
  x.flops = n.flops;
  x.input_bytes = static_cast<double>(n.input_bytes);
  x.output_bytes = static_cast<double>(n.output_bytes);
  x.param_bytes = static_cast<double>(n.param_bytes);
  const auto& a = n.attrs;
  x.in_channels = static_cast<double>(a.in_channels);
  x.out_channels = static_cast<double>(a.out_channels);
  x.kernel_h = static_cast<double>(a.kernel_h);
  x.kernel_w = static_cast<double>(a.kernel_w);
  x.stride = static_cast<double>(a.stride_h);
  x.groups = static_cast<double>(a.groups);
  x.arity = static_cast<double>(n.inputs.size());
  if (!n.inputs.empty()) {
    const Shape& in = graph.node(n.inputs.front()).out_shape;
    if (in.size() == 4) x.in_h = static_cast<double>(in[2]), x.in_w = static_cast<double>(in[3]);
  }
  if (n.out_shape.size() == 4) {
    x.out_h = static_cast<double>(n.out_shape[2]);
    x.out_w = static_cast<double>(n.out_shape[3]);
  }
  return x;
}

std::string to_string(RegressionForm form) {
  return form == RegressionForm::linear ? "linear" : "log_linear";
}

RegressionForm regression_form_from_string(const std::string& name) {
  if (name == "linear") return RegressionForm::linear;
  if (name == "log_linear") return RegressionForm::log_linear;
  throw std::invalid_argument(fmt::format("unknown regression form '{}'", name));
}

std::string regression_class(OpKind kind, const NodeFeatures& x, bool split_conv) {
  if (kind != OpKind::conv2d) return std::string(to_string(kind));
  if (!split_conv) return "conv2d";
  if (x.groups > 1 && x.groups == x.in_channels) return "conv2d.depthwise";
  // Grouped, not depthwise (RegNet, ResNeXt, ShuffleNet v1): timed with the
  // dense k x k ones, 22 of RegNet-400MF's came out 66-78% over.
  if (x.groups > 1) return "conv2d.grouped";
  if (x.kernel_h * x.kernel_w == 1 && x.groups <= 1) return "conv2d.1x1";
  return "conv2d.kxk";
}

OpKind class_kind(const std::string& cls) {
  design_of(cls);
  const auto kind = op_kind_from_string(cls.substr(0, cls.find('.')));
  if (!kind) throw std::invalid_argument(fmt::format("unknown regression class '{}'", cls));
  return *kind;
}

std::vector<std::string> design_names(const std::string& cls, RegressionForm form) {
  std::vector<std::string> out;
  for (const FeatureDef* f : features_of(cls, form)) out.emplace_back(f->name);
  out.emplace_back("after_sleep");
  out.emplace_back("cold_param_bytes");
  return out;
}

Eigen::VectorXd design_row(const std::string& cls, RegressionForm form, const NodeFeatures& x,
                           bool after_sleep, bool in_context) {
  const auto& defs = features_of(cls, form);
  Eigen::VectorXd row(static_cast<Eigen::Index>(defs.size() + 3));
  row[0] = 1.0;
  row[row.size() - 2] = after_sleep ? 1.0 : 0.0;
  // Convolutions only: their few MB of weights, reused across every output
  // pixel, stay cached in a repeated sweep run. Fully connected weights are
  // streamed once per call from memory in both settings (measured: the same
  // 1.1-1.2 GB/s in the sweep and in the zoo on the edge).
  const bool reuses_weights = class_kind(cls) == OpKind::conv2d;
  const double cold = in_context && reuses_weights ? std::max(0.0, k_param.get(x)) : 0.0;
  row[row.size() - 1] = form == RegressionForm::linear ? cold / k_param.linear_unit
                                                       : std::log1p(cold / k_param.log_unit);
  for (std::size_t i = 0; i < defs.size(); ++i) {
    const double v = std::max(0.0, defs[i]->get(x));
    row[static_cast<Eigen::Index>(i + 1)] = form == RegressionForm::linear
                                                ? v / defs[i]->linear_unit
                                                : std::log1p(v / defs[i]->log_unit);
  }
  return row;
}

double Regressor::predict(const NodeFeatures& x, bool after_sleep, bool in_context) const {
  const Eigen::VectorXd row = design_row(cls, form, x, after_sleep, in_context);
  if (static_cast<std::size_t>(row.size()) != coefficients.size()) {
    throw std::invalid_argument(fmt::format("regressor '{}' ({}): {} coefficients, design has {}",
                                            cls, to_string(form), coefficients.size(), row.size()));
  }
  const Eigen::Map<const Eigen::VectorXd> c(coefficients.data(), row.size());
  const double dot = row.dot(c);
  const double t = form == RegressionForm::linear ? dot : std::exp(dot);
  return std::max(floor_ms, std::isfinite(t) ? t : floor_ms);
}

Eigen::VectorXd nnls(const Eigen::MatrixXd& a, const Eigen::VectorXd& b) {
  const Eigen::Index n = a.cols();
  Eigen::VectorXd x = Eigen::VectorXd::Zero(n);
  std::vector<bool> passive(static_cast<std::size_t>(n), false);
  const double tol = 1e-10 * std::max(1.0, a.norm() * b.norm());
  for (int outer = 0; outer < 3 * n + 10; ++outer) {
    const Eigen::VectorXd w = a.transpose() * (b - a * x);
    Eigen::Index best = -1;
    for (Eigen::Index j = 0; j < n; ++j) {
      if (!passive[static_cast<std::size_t>(j)] && w[j] > tol && (best < 0 || w[j] > w[best])) {
        best = j;
      }
    }
    if (best < 0) break;
    passive[static_cast<std::size_t>(best)] = true;
    for (int inner = 0; inner < 3 * n + 10; ++inner) {
      std::vector<Eigen::Index> p;
      for (Eigen::Index j = 0; j < n; ++j) {
        if (passive[static_cast<std::size_t>(j)]) p.push_back(j);
      }
      Eigen::MatrixXd ap(a.rows(), static_cast<Eigen::Index>(p.size()));
      for (std::size_t k = 0; k < p.size(); ++k) ap.col(static_cast<Eigen::Index>(k)) = a.col(p[k]);
      const Eigen::VectorXd sp = ap.colPivHouseholderQr().solve(b);
      Eigen::VectorXd s = Eigen::VectorXd::Zero(n);
      for (std::size_t k = 0; k < p.size(); ++k) s[p[k]] = sp[static_cast<Eigen::Index>(k)];
      bool feasible = true;
      for (Eigen::Index j : p) feasible = feasible && s[j] > 0;
      if (feasible) {
        x = s;
        break;
      }
      double alpha = 1.0;
      for (Eigen::Index j : p) {
        if (s[j] <= 0) alpha = std::min(alpha, x[j] / (x[j] - s[j]));
      }
      x += alpha * (s - x);
      for (Eigen::Index j : p) {
        if (x[j] <= tol) passive[static_cast<std::size_t>(j)] = false, x[j] = 0;
      }
    }
  }
  return x;
}

Regressor fit_regressor(const std::string& cls, RegressionForm form,
                        const std::vector<Sample>& samples) {
  if (samples.empty()) {
    throw std::invalid_argument(fmt::format("regressor '{}': no samples", cls));
  }
  double min_ms = samples.front().ms;
  for (const Sample& s : samples) {
    if (!(s.ms > 0) || !std::isfinite(s.ms)) {
      throw std::invalid_argument(
          fmt::format("regressor '{}': sample from {} has time {} ms", cls, s.source, s.ms));
    }
    min_ms = std::min(min_ms, s.ms);
  }
  Regressor r;
  r.cls = cls;
  r.form = form;
  r.coefficients =
      form == RegressionForm::linear ? fit_linear(cls, samples) : fit_log_linear(cls, samples);
  // Half the fastest layer ever seen: below any real call, above zero.
  r.floor_ms = 0.5 * min_ms;
  r.stats = in_sample_stats(r, samples);
  return r;
}

double cross_validate(const std::string& cls, RegressionForm form,
                      const std::vector<Sample>& samples, const FitOptions& options) {
  const int folds = std::max(2, std::min<int>(options.folds, static_cast<int>(samples.size())));
  std::vector<std::size_t> order(samples.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(options.seed);
  std::shuffle(order.begin(), order.end(), rng);
  double total = 0;
  for (int f = 0; f < folds; ++f) {
    std::vector<Sample> train, test;
    for (std::size_t i = 0; i < order.size(); ++i) {
      (static_cast<int>(i % static_cast<std::size_t>(folds)) == f ? test : train)
          .push_back(samples[order[i]]);
    }
    if (train.empty()) continue;
    const Regressor r = fit_regressor(cls, form, train);
    for (const Sample& s : test) total += abs_pct(r.predict(s.x, s.after_sleep, s.in_context()), s.ms);
  }
  return total / static_cast<double>(samples.size());
}

Regressor fit_best(const std::string& cls, const std::vector<Sample>& samples,
                   const FitOptions& options) {
  if (static_cast<int>(samples.size()) < options.min_samples_for_cv) {
    Regressor r = fit_regressor(cls, RegressionForm::linear, samples);
    if (samples.size() >= 2) {
      r.stats.cv_linear_pct = cross_validate(cls, RegressionForm::linear, samples, options);
    }
    return r;
  }
  const double lin = cross_validate(cls, RegressionForm::linear, samples, options);
  const double log = cross_validate(cls, RegressionForm::log_linear, samples, options);
  Regressor r = fit_regressor(cls, lin <= log ? RegressionForm::linear : RegressionForm::log_linear,
                              samples);
  r.stats.cv_linear_pct = lin;
  r.stats.cv_log_linear_pct = log;
  return r;
}

double sample_weight(const Sample& s) {
  constexpr double k_spread_unit = 0.1;
  return 1.0 / (1.0 + std::max(0.0, s.spread) / k_spread_unit);
}

bool sleeps_after(double ms, double slowdown) {
  return slowdown > 1.0 && ms * (slowdown - 1.0) / slowdown > k_stretch_spin_ms;
}

double RegressionSet::predict(OpKind kind, const NodeFeatures& x, bool after_sleep) const {
  if (kind == OpKind::input) return 0.0;
  const std::string cls = regression_class(kind, x, split_conv);
  auto it = regressors.find(cls);
  // Profiles made before grouped convolutions had a class of their own
  // timed them with the k x k ones.
  if (it == regressors.end() && cls == "conv2d.grouped") it = regressors.find("conv2d.kxk");
  if (it == regressors.end()) {
    throw std::out_of_range(fmt::format("no regressor for class '{}' in the profile", cls));
  }
  return it->second.predict(x, after_sleep);
}

RegressionSet fit_regressions(const std::vector<Sample>& samples, const FitOptions& options) {
  RegressionSet set;
  const auto joint = by_class(samples, false);
  const auto split = by_class(samples, true);
  // Conv: one class or three sub-kinds, whichever validates better pooled
  // over all conv samples.
  std::map<std::string, Regressor> split_conv;
  double split_err = 0, n_conv = 0;
  for (const auto& [cls, group] : split) {
    if (class_kind(cls) != OpKind::conv2d) continue;
    split_conv[cls] = fit_best(cls, group, options);
    split_err += best_cv(split_conv[cls]) * static_cast<double>(group.size());
    n_conv += static_cast<double>(group.size());
  }
  std::map<std::string, Regressor> joint_conv;
  if (const auto it = joint.find("conv2d"); it != joint.end()) {
    joint_conv["conv2d"] = fit_best("conv2d", it->second, options);
    set.cv_conv_joint_pct = best_cv(joint_conv["conv2d"]);
    set.cv_conv_split_pct = split_err / n_conv;
  }
  set.split_conv = set.cv_conv_joint_pct < 0 || set.cv_conv_split_pct <= set.cv_conv_joint_pct;
  set.regressors = set.split_conv ? split_conv : joint_conv;
  for (const auto& [cls, group] : joint) {
    if (class_kind(cls) == OpKind::conv2d) continue;
    set.regressors[cls] = fit_best(cls, group, options);
  }
  return set;
}

}  // namespace tandem::predictor
