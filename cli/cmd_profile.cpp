// tandem profile: measure this machine into a device profile, or validate one.

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "models/catalog.hpp"
#include "models/model.hpp"
#include "predictor/predictor.hpp"
#include "predictor/profiler.hpp"
#include "predictor/regression.hpp"

namespace tandem::cli {
namespace {

std::vector<std::string> parse_models(const std::string& text, const ModelCatalog& catalog) {
  if (text == "all") return {};
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string name;
  while (std::getline(in, name, ',')) {
    if (name.empty()) throw app::UsageError(fmt::format("--models '{}': empty model name", text));
    if (!catalog.contains(name)) {
      throw app::UsageError(fmt::format("--models: unknown model '{}' (known: {})", name,
                                        fmt::join(catalog.names(), ", ")));
    }
    out.push_back(name);
  }
  if (out.empty()) throw app::UsageError("--models: no model named");
  return out;
}

std::string signed_pct(double predicted, double measured) {
  return fmt::format("{:+.1f}%", 100.0 * (predicted - measured) / measured);
}

int validate(const std::string& path, const std::vector<std::string>& models, const ModelCatalog& catalog,
             bool progress) {
  const predictor::DeviceProfile profile = predictor::load_profile(path);
  fmt::print("profile {}: device '{}', {} thread(s), slowdown {}, LibTorch {}, {}, {}, made {}{}\n",
             path, profile.device, profile.threads, profile.slowdown, profile.libtorch_version,
             profile.cpu_model, profile.allocator.empty() ? "allocator not recorded" : profile.allocator,
             profile.date, profile.quick ? " (quick)" : "");
  if (const std::string here = process_allocator(); !profile.allocator.empty() && profile.allocator != here) {
    fmt::print("note: the profile was made on {}, this process runs on {}; timings differ between them\n",
               profile.allocator, here);
  }
  predictor::ValidateOptions options;
  options.models = models;
  options.load = [&catalog](const std::string& name) { return catalog.load(name); };
  options.progress = progress;
  const auto report = predictor::validate_profile(profile, options);
  fmt::print("{:<14} {:>11} {:>7} {:>10} {:>9} {:>10} {:>9} {:>6} {:>14} {:>14}\n", "model",
             "measured ms", "spread", "LOMO ms", "LOMO err", "table ms", "table err", "nodes",
             "node LOMO med", "node table med");
  for (const auto& v : report.models) {
    fmt::print("{:<14} {:>11.2f} {:>6.1f}% {:>10.2f} {:>9} {:>10.2f} {:>9} {:>6} {:>13.1f}% {:>13.1f}%\n",
               v.model, v.measured_ms, v.spread_pct, v.lomo_ms, signed_pct(v.lomo_ms, v.measured_ms),
               v.table_ms, signed_pct(v.table_ms, v.measured_ms), v.nodes_counted,
               v.lomo_node_median_pct, v.table_node_median_pct);
  }
  fmt::print("(spread: the re-measured nodes' interquartile range over their median, weighted by time)\n");
  fmt::print("cut sides (table predictor vs measured run_edge / run_cloud):\n");
  for (const auto& v : report.models) {
    for (const auto& s : v.sides) {
      const std::string_view full = s.cut;
      const std::string cut =
          full.size() > 20 ? fmt::format("{}...", full.substr(0, 17)) : std::string(full);
      fmt::print("  {:<14} {:<20} {:<5} measured {:>9.2f} ms  predicted {:>9.2f} ms  {}\n",
                 v.model, cut, s.edge ? "edge" : "cloud", s.measured_ms, s.predicted_ms,
                 signed_pct(s.predicted_ms, s.measured_ms));
    }
  }
  fmt::print("cut sides: median abs error {:.1f}%\n", report.side_median_pct);
  fmt::print("per-node median abs error, {} nodes >= {} ms: LOMO {:.1f}%, in-table {:.1f}%\n",
             report.nodes_counted, options.min_node_ms, report.lomo_node_median_pct,
             report.table_node_median_pct);
  fmt::print("in-table whole-model MAPE {:.1f}%\n", report.table_mape_pct);
  fmt::print("MAPE {:.1f}%\n", report.lomo_mape_pct);
  return 0;
}

// Leave-one-model-out against the profile's own stored whole runs, without
// timing anything: for each run, the profile refitted without that model's
// samples predicts the model's whole run. The same question as --validate's
// LOMO column, answered from the measurements the profile was made from (so
// the machine's noise today does not enter): what a feature or fitting change
// is judged by before a re-measurement.
void print_stored_lomo(const predictor::DeviceProfile& p, const ModelCatalog& catalog) {
  if (p.runs.empty()) return;
  fmt::print("leave-one-model-out on the stored whole runs (no timing):\n{:<14} {:>11} {:>10} {:>9}  {}\n", "model",
             "stored ms", "LOMO ms", "LOMO err", "largest misses by class: stored -> predicted");
  double sum = 0;
  int counted = 0;
  for (const auto& run : p.runs) {
    if (!catalog.contains(run.model) || !(run.whole_ms > 0)) {
      fmt::print("{:<14} (not in the zoo or --model-dir: skipped)\n", run.model);
      continue;
    }
    const GraphDesc graph = catalog.load(run.model)->graph();
    const predictor::Predictor lomo(predictor::without_model(p, run.model));
    const double predicted = lomo.whole_ms(graph);
    // Where the miss comes from: stored and predicted ms per regression
    // class over the model's table nodes, the two largest differences.
    std::map<std::string, std::pair<double, double>> by_class;
    for (const auto& m : p.measured) {
      if (m.model != run.model || m.id <= 0 || static_cast<std::size_t>(m.id) >= graph.size()) continue;
      auto& [stored, pred] = by_class[predictor::regression_class(m.kind, m.x, p.regressions.split_conv)];
      stored += m.ms;
      pred += lomo.node_ms(graph, m.id);
    }
    std::vector<std::pair<std::string, std::pair<double, double>>> worst(by_class.begin(), by_class.end());
    std::sort(worst.begin(), worst.end(), [](const auto& a, const auto& b) {
      return std::abs(a.second.second - a.second.first) > std::abs(b.second.second - b.second.first);
    });
    std::string detail;
    for (std::size_t i = 0; i < std::min<std::size_t>(2, worst.size()); ++i) {
      const auto& [cls, v] = worst[i];
      detail += fmt::format("  {} {:.1f} -> {:.1f} ms", cls, v.first, v.second);
    }
    fmt::print("{:<14} {:>11.2f} {:>10.2f} {:>9}{}\n", run.model, run.whole_ms, predicted,
               signed_pct(predicted, run.whole_ms), detail);
    sum += std::abs(predicted - run.whole_ms) / run.whole_ms;
    ++counted;
  }
  if (counted > 0) fmt::print("stored-run LOMO MAPE {:.1f}% over {} models\n", 100 * sum / counted, counted);
}

// How much the timed nodes varied from run to run (MeasuredNode::spread).
void print_spread(const predictor::DeviceProfile& p) {
  if (p.measured.empty()) return;
  std::vector<double> spreads;
  std::vector<const predictor::MeasuredNode*> by_noise;
  double total = 0, noisy = 0;
  for (const auto& m : p.measured) {
    spreads.push_back(m.spread);
    by_noise.push_back(&m);
    total += m.ms;
    if (m.spread > predictor::k_spread_target) noisy += m.ms;
  }
  std::sort(spreads.begin(), spreads.end());
  const std::size_t above = static_cast<std::size_t>(
      std::count_if(spreads.begin(), spreads.end(), [](double s) { return s > predictor::k_spread_target; }));
  fmt::print("node spread (interquartile range / median of each table node's runs): median {:.1f}%, "
             "90th percentile {:.1f}%; {} of {} nodes above {:.0f}%, {:.1f}% of the time\n",
             100 * spreads[spreads.size() / 2], 100 * spreads[spreads.size() * 9 / 10], above, spreads.size(),
             100 * predictor::k_spread_target, total > 0 ? 100 * noisy / total : 0.0);
  // The nodes whose noise moves a whole model most: time x spread.
  std::sort(by_noise.begin(), by_noise.end(),
            [](const auto* a, const auto* b) { return a->ms * a->spread > b->ms * b->spread; });
  for (std::size_t i = 0; i < std::min<std::size_t>(5, by_noise.size()); ++i) {
    const auto& m = *by_noise[i];
    fmt::print("  {:<14} {:<28} {:>9.3f} ms  spread {:>5.1f}%\n", m.model, m.node, m.ms, 100 * m.spread);
  }
}

void print_summary(const predictor::DeviceProfile& p, const std::string& out) {
  fmt::print("wrote {}: device '{}', {} thread(s), slowdown {}, {} samples, {} table nodes\n", out,
             p.device, p.threads, p.slowdown, p.samples.size(), p.measured.size());
  fmt::print("conv split into sub-kinds: {} (k-fold error split {:.1f}%, one class {:.1f}%)\n",
             p.regressions.split_conv ? "yes" : "no", p.regressions.cv_conv_split_pct,
             p.regressions.cv_conv_joint_pct);
  fmt::print("{:<20} {:<10} {:>5} {:>7} {:>9} {:>9} {:>9} {:>9}\n", "class", "form", "n", "R2log",
             "med err", "mean err", "cv lin", "cv log");
  for (const auto& [cls, r] : p.regressions.regressors) {
    fmt::print("{:<20} {:<10} {:>5} {:>7.3f} {:>8.1f}% {:>8.1f}% {:>8.1f}% {:>8.1f}%\n", cls,
               predictor::to_string(r.form), r.stats.n, r.stats.r2, r.stats.median_abs_pct,
               r.stats.mean_abs_pct, r.stats.cv_linear_pct, r.stats.cv_log_linear_pct);
  }
  fmt::print("run overhead: {:.2f}% of the nodes' sum, plus a cold start of {:.3f} ms per run ({} after another "
             "model: {:.3f} ms, after itself: {:.3f} ms, medians of {})\n",
             100 * p.overhead.fraction, p.overhead.cold_ms, p.cold_start.probe, p.cold_start.cold_ms,
             p.cold_start.warm_ms, p.cold_start.runs);
  print_spread(p);
}

}  // namespace

int cmd_profile(const Args& args, const Context&) {
  cxxopts::Options options(
      args[0],
      "Measure this machine into a device profile (zoo models timed in context plus a layer\n"
      "sweep, per-kind regressors), or --validate an existing profile by re-measuring.");
  options.add_options()("device", "device name recorded in the profile", cxxopts::value<std::string>(), "NAME")(
      "threads", "intra-op threads", cxxopts::value<int>(), "N")(
      "slowdown", "stretch compute time by F as the daemon does: the nodes run, then one wait of (F-1)x their time",
      cxxopts::value<double>()->default_value("1"), "F")(
      "models", "models to time: all (the zoo), or a,b,... (zoo names or models of --model-dir)",
      cxxopts::value<std::string>()->default_value("all"), "LIST")(
      "model-dir", "a model directory whose models --models may name (NAME.pt + NAME.json)",
      cxxopts::value<std::string>(), "DIR")(
      "quick", "fewer repeats and a smaller sweep (under a minute)")(
      "out", "profile file to write", cxxopts::value<std::string>(), "FILE")(
      "validate", "re-measure and compare with the predictions of --profile")(
      "refit", "refit --profile's regressors from its stored samples into --out (no timing)")(
      "profile", "profile to validate", cxxopts::value<std::string>(), "FILE")(
      "no-progress", "no progress bar on stderr");
  const auto result = app::parse_args(options, args);
  if (!result) return 0;
  const ModelCatalog catalog(result->count("model-dir") ? (*result)["model-dir"].as<std::string>() : "");
  const auto models = parse_models((*result)["models"].as<std::string>(), catalog);
  const bool progress = result->count("no-progress") == 0;
  if (result->count("refit")) {
    for (const char* flag : {"device", "threads", "slowdown", "quick", "validate"}) {
      if (result->count(flag)) throw app::UsageError(fmt::format("--{} does not apply to --refit", flag));
    }
    if (!result->count("profile") || !result->count("out")) {
      throw app::UsageError("--refit needs --profile FILE and --out FILE");
    }
    predictor::DeviceProfile profile =
        predictor::load_profile((*result)["profile"].as<std::string>(), predictor::StoredRegressors::ignore);
    predictor::refit(profile);
    const std::string out = (*result)["out"].as<std::string>();
    predictor::save_profile(profile, out);
    print_summary(profile, out);
    print_stored_lomo(profile, catalog);
    return 0;
  }
  if (result->count("validate")) {
    for (const char* flag : {"device", "threads", "slowdown", "out", "quick"}) {
      if (result->count(flag)) throw app::UsageError(fmt::format("--{} does not apply to --validate", flag));
    }
    if (!result->count("profile")) throw app::UsageError("--validate needs --profile FILE");
    return validate((*result)["profile"].as<std::string>(), models, catalog, progress);
  }
  if (result->count("profile")) {
    throw app::UsageError("--profile is only for --validate and --refit (use --out)");
  }
  for (const char* flag : {"device", "threads", "out"}) {
    if (!result->count(flag)) throw app::UsageError(fmt::format("--{} is required", flag));
  }
  predictor::ProfileOptions po;
  po.device = (*result)["device"].as<std::string>();
  po.threads = (*result)["threads"].as<int>();
  po.slowdown = (*result)["slowdown"].as<double>();
  po.models = models;
  po.load = [&catalog](const std::string& name) { return catalog.load(name); };
  po.quick = result->count("quick") > 0;
  po.progress = progress;
  if (po.device.empty()) throw app::UsageError("--device must not be empty");
  if (po.threads < 1) throw app::UsageError(fmt::format("--threads {} must be at least 1", po.threads));
  if (!(po.slowdown >= 1.0)) throw app::UsageError(fmt::format("--slowdown {} must be at least 1", po.slowdown));
  const std::string out = (*result)["out"].as<std::string>();
  const auto dir = std::filesystem::path(out).parent_path();
  if (!dir.empty() && !std::filesystem::is_directory(dir)) {
    throw app::UsageError(fmt::format("--out {}: directory {} does not exist", out, dir.string()));
  }
  const predictor::DeviceProfile profile = predictor::profile_device(po);
  predictor::save_profile(profile, out);
  print_summary(profile, out);
  return 0;
}

}  // namespace tandem::cli
