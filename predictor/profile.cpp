#include "predictor/profile.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/graph_builder.hpp"
#include "predictor/predictor.hpp"

namespace tandem::predictor {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}
namespace {

using nlohmann::json;

// Reads fields of a profile, naming the file and the field path on failure.
class Reader {
 public:
  explicit Reader(std::string origin) : origin_(std::move(origin)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw std::runtime_error(fmt::format("{}: field '{}' {}", origin_, path, what));
  }

  const json& at(const json& obj, const std::string& parent, const char* key) const {
    const std::string path = parent.empty() ? key : parent + "." + key;
    if (!obj.is_object()) fail(parent, "is not an object");
    const auto it = obj.find(key);
    if (it == obj.end()) fail(path, "is missing");
    return *it;
  }

  std::string str(const json& obj, const std::string& parent, const char* key) const {
    const json& v = at(obj, parent, key);
    if (!v.is_string()) fail(join(parent, key), type_error("a string", v));
    return v.get<std::string>();
  }
  double num(const json& obj, const std::string& parent, const char* key) const {
    const json& v = at(obj, parent, key);
    if (!v.is_number()) fail(join(parent, key), type_error("a number", v));
    return v.get<double>();
  }
  // A field profiles made before it existed do not have: `fallback` then.
  double optional_num(const json& obj, const std::string& parent, const char* key, double fallback) const {
    if (!obj.is_object() || !obj.contains(key)) return fallback;
    const double v = num(obj, parent, key);
    if (!(v >= 0) || !std::isfinite(v)) fail(join(parent, key), "must be a finite number >= 0");
    return v;
  }
  int integer(const json& obj, const std::string& parent, const char* key) const {
    const json& v = at(obj, parent, key);
    if (!v.is_number_integer()) fail(join(parent, key), type_error("an integer", v));
    return v.get<int>();
  }
  bool boolean(const json& obj, const std::string& parent, const char* key) const {
    const json& v = at(obj, parent, key);
    if (!v.is_boolean()) fail(join(parent, key), type_error("a boolean", v));
    return v.get<bool>();
  }
  const json& array(const json& obj, const std::string& parent, const char* key) const {
    const json& v = at(obj, parent, key);
    if (!v.is_array()) fail(join(parent, key), type_error("an array", v));
    return v;
  }
  std::vector<double> numbers(const json& obj, const std::string& parent, const char* key) const {
    const json& arr = array(obj, parent, key);
    std::vector<double> out;
    for (std::size_t i = 0; i < arr.size(); ++i) {
      if (!arr[i].is_number()) {
        fail(fmt::format("{}[{}]", join(parent, key), i), type_error("a number", arr[i]));
      }
      out.push_back(arr[i].get<double>());
    }
    return out;
  }
  NodeFeatures features(const json& obj, const std::string& parent) const {
    const std::vector<double> v = numbers(obj, parent, "x");
    if (v.size() != NodeFeatures::k_count) {
      fail(join(parent, "x"), fmt::format("has {} values, expected {}", v.size(),
                                          NodeFeatures::k_count));
    }
    std::array<double, NodeFeatures::k_count> a{};
    std::copy(v.begin(), v.end(), a.begin());
    return NodeFeatures::from_array(a);
  }
  OpKind kind(const json& obj, const std::string& parent) const {
    const std::string name = str(obj, parent, "kind");
    const auto k = op_kind_from_string(name);
    if (!k) fail(join(parent, "kind"), fmt::format("names an unknown kind '{}'", name));
    return *k;
  }

  static std::string join(const std::string& parent, const char* key) {
    return parent.empty() ? std::string(key) : parent + "." + key;
  }

 private:
  static std::string type_error(const char* want, const json& got) {
    return fmt::format("has the wrong type (expected {}, got {})", want, got.type_name());
  }
  std::string origin_;
};

json stats_json(const FitStats& s) {
  return {{"n", s.n},
          {"r2_log", s.r2},
          {"median_abs_pct", s.median_abs_pct},
          {"mean_abs_pct", s.mean_abs_pct},
          {"cv_linear_pct", s.cv_linear_pct},
          {"cv_log_linear_pct", s.cv_log_linear_pct}};
}

json x_json(const NodeFeatures& x) { return x.to_array(); }

Regressor read_regressor(const Reader& r, const json& j, const std::string& cls,
                         const std::string& path) {
  Regressor out;
  out.cls = cls;
  try {
    class_kind(cls);
  } catch (const std::invalid_argument&) {
    r.fail(path, "names an unknown regression class");
  }
  try {
    out.form = regression_form_from_string(r.str(j, path, "form"));
  } catch (const std::invalid_argument& e) {
    r.fail(path + ".form", e.what());
  }
  out.coefficients = r.numbers(j, path, "coefficients");
  const json& names = r.array(j, path, "features");
  if (names != json(design_names(cls, out.form))) {
    r.fail(path + ".features",
           fmt::format("is {}, this build's {} design is {} (refit the profile from its samples: "
                       "tandem profile --refit --profile FILE --out FILE)",
                       names.dump(), to_string(out.form), json(design_names(cls, out.form)).dump()));
  }
  if (out.coefficients.size() != names.size() + 1) {
    r.fail(path + ".coefficients", fmt::format("has {} values, expected {} (intercept first)",
                                               out.coefficients.size(), names.size() + 1));
  }
  out.floor_ms = r.num(j, path, "floor_ms");
  if (!(out.floor_ms > 0)) r.fail(path + ".floor_ms", "must be > 0");
  const std::string sp = path + ".stats";
  const json& s = r.at(j, path, "stats");
  out.stats.n = r.integer(s, sp, "n");
  out.stats.r2 = r.num(s, sp, "r2_log");
  out.stats.median_abs_pct = r.num(s, sp, "median_abs_pct");
  out.stats.mean_abs_pct = r.num(s, sp, "mean_abs_pct");
  out.stats.cv_linear_pct = r.num(s, sp, "cv_linear_pct");
  out.stats.cv_log_linear_pct = r.num(s, sp, "cv_log_linear_pct");
  return out;
}

}  // namespace

GraphDesc cold_start_probe() {
  // A small CNN of the commonest kinds (71 K parameters), not a zoo model:
  // the leave-one-out validation must not see a zoo model through it. The
  // cold start matters only for small models, so the probe is one.
  GraphBuilder b("cold_start_probe", {1, 3, 32, 32});
  NodeId x = b.conv(b.input(), "conv1", 3, 16, 3, 1, 1);
  x = b.relu(x, "relu1");
  x = b.max_pool(x, "pool1", 2, 2);
  x = b.conv(x, "conv2", 16, 32, 3, 1, 1);
  x = b.relu(x, "relu2");
  x = b.max_pool(x, "pool2", 2, 2);
  x = b.flatten(x, "flatten");
  x = b.linear(x, "fc1", 32 * 8 * 8, 32);
  x = b.relu(x, "relu3");
  b.linear(x, "fc2", 32, 10);
  return b.finish();
}

double ColdStart::excess_ms() const { return std::max(0.0, cold_ms - warm_ms); }

double RunOverhead::ms(std::size_t nodes, double node_ms, bool cold_in_table) const {
  return nodes == 0 ? 0.0 : fraction * node_ms + (cold_in_table ? 0.0 : cold_ms);
}

RunOverhead fit_overhead(const std::vector<ModelRun>& runs) {
  RunOverhead out;
  std::vector<double> ratios;
  for (const ModelRun& r : runs) {
    if (r.node_sum_ms > 0) ratios.push_back((r.whole_ms - r.node_sum_ms) / r.node_sum_ms);
  }
  if (!ratios.empty()) out.fraction = std::max(0.0, median(std::move(ratios)));
  return out;
}

double cold_start_residual(const DeviceProfile& profile) {
  if (profile.cold_start.runs == 0) return 0.0;
  DeviceProfile without = profile;
  without.overhead.cold_ms = 0;
  const Predictor predictor(std::move(without));
  try {
    return std::max(0.0, profile.cold_start.cold_ms - predictor.whole_ms(cold_start_probe()));
  } catch (const std::out_of_range&) {
    // A profile without a regressor for one of the probe's kinds (a sweep
    // cut down by hand): the probe's cold run beyond its warm one instead.
    return profile.cold_start.excess_ms();
  }
}

void refit(DeviceProfile& profile, const FitOptions& options) {
  profile.regressions = fit_regressions(profile.samples, options);
  profile.overhead = fit_overhead(profile.runs);
  profile.overhead.cold_ms = cold_start_residual(profile);
}

DeviceProfile without_model(const DeviceProfile& profile, const std::string& model) {
  DeviceProfile out = profile;
  const std::string source = "model:" + model;
  std::erase_if(out.samples, [&](const Sample& s) { return s.source == source; });
  std::erase_if(out.measured, [&](const MeasuredNode& m) { return m.model == model; });
  std::erase_if(out.runs, [&](const ModelRun& r) { return r.model == model; });
  refit(out);
  return out;
}

nlohmann::json to_json(const DeviceProfile& p) {
  json classes = json::object();
  for (const auto& [cls, r] : p.regressions.regressors) {
    classes[cls] = {{"form", to_string(r.form)},
                    {"features", design_names(cls, r.form)},
                    {"coefficients", r.coefficients},
                    {"floor_ms", r.floor_ms},
                    {"stats", stats_json(r.stats)}};
  }
  json measured = json::array();
  for (const MeasuredNode& m : p.measured) {
    measured.push_back({{"model", m.model},
                        {"node", m.node},
                        {"id", m.id},
                        {"kind", to_string(m.kind)},
                        {"ms", m.ms},
                        {"spread", m.spread},
                        {"x", x_json(m.x)}});
  }
  json runs = json::array();
  for (const ModelRun& r : p.runs) {
    runs.push_back({{"model", r.model},
                    {"nodes", r.nodes},
                    {"whole_ms", r.whole_ms},
                    {"node_sum_ms", r.node_sum_ms}});
  }
  json samples = json::array();
  for (const Sample& s : p.samples) {
    samples.push_back(
        {{"kind", to_string(s.kind)}, {"source", s.source}, {"ms", s.ms},
         {"after_sleep", s.after_sleep}, {"spread", s.spread}, {"x", x_json(s.x)}});
  }
  return {{"schema_version", p.schema_version},
          {"device", p.device},
          {"threads", p.threads},
          {"slowdown", p.slowdown},
          {"libtorch_version", p.libtorch_version},
          {"cpu_model", p.cpu_model},
          {"allocator", p.allocator},
          {"date", p.date},
          {"quick", p.quick},
          {"warmup", p.warmup},
          {"repeats", p.repeats},
          {"timer_overhead_ns", p.timer_overhead_ns},
          {"feature_names", NodeFeatures::names()},
          {"run_overhead", {{"fraction", p.overhead.fraction}, {"cold_ms", p.overhead.cold_ms}}},
          {"cold_start",
           {{"probe", p.cold_start.probe},
            {"warm_ms", p.cold_start.warm_ms},
            {"cold_ms", p.cold_start.cold_ms},
            {"runs", p.cold_start.runs}}},
          {"regressions",
           {{"split_conv", p.regressions.split_conv},
            {"cv_conv_split_pct", p.regressions.cv_conv_split_pct},
            {"cv_conv_joint_pct", p.regressions.cv_conv_joint_pct},
            {"classes", classes}}},
          {"measured", measured},
          {"runs", runs},
          {"samples", samples}};
}

DeviceProfile profile_from_json(const nlohmann::json& j, const std::string& origin, StoredRegressors regressors) {
  const Reader r(origin);
  if (!j.is_object()) {
    throw std::runtime_error(fmt::format("{}: not a profile (top level is {}, expected an object)",
                                         origin, j.type_name()));
  }
  DeviceProfile p;
  p.schema_version = r.integer(j, "", "schema_version");
  if (p.schema_version != k_profile_schema_version) {
    r.fail("schema_version", fmt::format("is {}, this build reads version {} (re-run tandem profile)",
                                         p.schema_version, k_profile_schema_version));
  }
  p.device = r.str(j, "", "device");
  p.threads = r.integer(j, "", "threads");
  if (p.threads < 1) r.fail("threads", "must be >= 1");
  p.slowdown = r.num(j, "", "slowdown");
  if (!(p.slowdown >= 1.0)) r.fail("slowdown", "must be >= 1");
  p.libtorch_version = r.str(j, "", "libtorch_version");
  p.cpu_model = r.str(j, "", "cpu_model");
  if (j.contains("allocator")) p.allocator = r.str(j, "", "allocator");
  p.date = r.str(j, "", "date");
  p.quick = r.boolean(j, "", "quick");
  p.warmup = r.integer(j, "", "warmup");
  p.repeats = r.integer(j, "", "repeats");
  p.timer_overhead_ns = r.num(j, "", "timer_overhead_ns");
  const json& names = r.array(j, "", "feature_names");
  if (names != json(NodeFeatures::names())) {
    r.fail("feature_names", fmt::format("is {}, expected {}", names.dump(),
                                        json(NodeFeatures::names()).dump()));
  }
  const json& ov = r.at(j, "", "run_overhead");
  p.overhead.fraction = r.num(ov, "run_overhead", "fraction");
  p.overhead.cold_ms = r.optional_num(ov, "run_overhead", "cold_ms", 0.0);
  if (!(p.overhead.cold_ms >= 0)) r.fail("run_overhead.cold_ms", "must be >= 0");
  // Profiles made before the cold start was measured have none: zeros.
  if (j.contains("cold_start")) {
    const json& cs = r.at(j, "", "cold_start");
    p.cold_start.probe = r.str(cs, "cold_start", "probe");
    p.cold_start.warm_ms = r.num(cs, "cold_start", "warm_ms");
    p.cold_start.cold_ms = r.num(cs, "cold_start", "cold_ms");
    p.cold_start.runs = r.integer(cs, "cold_start", "runs");
    if (!(p.cold_start.warm_ms >= 0) || !(p.cold_start.cold_ms >= 0) || p.cold_start.runs < 0) {
      r.fail("cold_start", "times and runs must be >= 0");
    }
  }

  const json& reg = r.at(j, "", "regressions");
  p.regressions.split_conv = r.boolean(reg, "regressions", "split_conv");
  p.regressions.cv_conv_split_pct = r.num(reg, "regressions", "cv_conv_split_pct");
  p.regressions.cv_conv_joint_pct = r.num(reg, "regressions", "cv_conv_joint_pct");
  const json& classes = r.at(reg, "regressions", "classes");
  if (!classes.is_object()) r.fail("regressions.classes", "is not an object");
  if (regressors == StoredRegressors::check) {
    for (const auto& [cls, rj] : classes.items()) {
      p.regressions.regressors[cls] = read_regressor(r, rj, cls, "regressions.classes." + cls);
    }
  }

  const json& measured = r.array(j, "", "measured");
  for (std::size_t i = 0; i < measured.size(); ++i) {
    const std::string path = fmt::format("measured[{}]", i);
    const json& e = measured[i];
    MeasuredNode m;
    m.model = r.str(e, path, "model");
    m.node = r.str(e, path, "node");
    m.id = r.integer(e, path, "id");
    m.kind = r.kind(e, path);
    m.ms = r.num(e, path, "ms");
    m.spread = r.optional_num(e, path, "spread", 0.0);
    m.x = r.features(e, path);
    p.measured.push_back(std::move(m));
  }
  const json& runs = r.array(j, "", "runs");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const std::string path = fmt::format("runs[{}]", i);
    p.runs.push_back({r.str(runs[i], path, "model"), r.integer(runs[i], path, "nodes"),
                      r.num(runs[i], path, "whole_ms"), r.num(runs[i], path, "node_sum_ms")});
  }
  const json& samples = r.array(j, "", "samples");
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const std::string path = fmt::format("samples[{}]", i);
    Sample s;
    s.kind = r.kind(samples[i], path);
    s.source = r.str(samples[i], path, "source");
    s.ms = r.num(samples[i], path, "ms");
    s.after_sleep = r.boolean(samples[i], path, "after_sleep");
    s.spread = r.optional_num(samples[i], path, "spread", 0.0);
    if (!(s.ms > 0)) r.fail(path + ".ms", "must be > 0");
    s.x = r.features(samples[i], path);
    p.samples.push_back(std::move(s));
  }
  return p;
}

void save_profile(const DeviceProfile& profile, const std::filesystem::path& path) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error(fmt::format("{}: cannot open for writing", path.string()));
  out << to_json(profile).dump(1) << '\n';
  if (!out) throw std::runtime_error(fmt::format("{}: write failed", path.string()));
}

DeviceProfile load_profile(const std::filesystem::path& path, StoredRegressors regressors) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open profile", path.string()));
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for a number beyond a double ("1e400").
    throw std::runtime_error(fmt::format("{}: not valid JSON: {}", path.string(), e.what()));
  }
  return profile_from_json(j, path.string(), regressors);
}

}  // namespace tandem::predictor
