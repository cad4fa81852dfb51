// tandem profile --validate: re-measure and compare with the predictions.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <stdexcept>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "predictor/predictor.hpp"
#include "predictor/profiler.hpp"
#include "predictor/progress.hpp"

namespace tandem::predictor {
namespace {

using Clock = std::chrono::steady_clock;

double abs_pct(double predicted, double measured) {
  return 100.0 * std::abs(predicted - measured) / measured;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

// Cuts strictly between cloud-only and edge-only, evenly spread.
std::vector<Cut> inner_cuts(const GraphDesc& g, int count) {
  std::vector<Cut> all = articulation_cuts(g);
  std::erase_if(all, [](const Cut& c) { return c.is_edge_only() || c.is_cloud_only(); });
  std::vector<Cut> out;
  for (int i = 0; i < count && !all.empty(); ++i) {
    const std::size_t at = (all.size() * static_cast<std::size_t>(2 * i + 1)) /
                           static_cast<std::size_t>(2 * count);
    if (out.empty() || !(out.back() == all[at])) out.push_back(all[at]);
  }
  return out;
}

// Median wall ms of the edge side and of the cloud side of `cut`.
std::pair<double, double> time_sides(const Model& m, const Cut& cut, const TimingOptions& t) {
  const std::vector<at::Tensor> input = m.make_inputs(1);
  const RunOptions run{.slowdown = t.slowdown};
  std::vector<double> edge, cloud;
  for (int i = 0; i < t.warmup + t.repeats; ++i) {
    const auto t0 = Clock::now();
    const TensorMap crossing = m.run_edge(cut, input, run);
    const auto t1 = Clock::now();
    m.run_cloud(cut, crossing, run);
    const auto t2 = Clock::now();
    if (i < t.warmup) continue;
    edge.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count() - t.timer_overhead_ms);
    cloud.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count() - t.timer_overhead_ms);
  }
  return {median(edge), median(cloud)};
}

}  // namespace

ValidationReport validate_profile(const DeviceProfile& profile, const ValidateOptions& options) {
  std::vector<std::string> names = options.models;
  if (names.empty()) {
    std::set<std::string> seen;
    for (const ModelRun& r : profile.runs) {
      if (seen.insert(r.model).second) names.push_back(r.model);
    }
  }
  std::vector<std::shared_ptr<const Model>> models;
  for (const auto& name : names) {
    models.push_back(options.load ? options.load(name) : build_model(name));  // throws for unknown
  }
  at::set_num_threads(profile.threads);

  const double timer_ms = measure_timer_overhead_ns() * 1e-6;
  const TimingOptions timing{.slowdown = profile.slowdown,
                             .warmup = options.warmup,
                             .repeats = options.repeats,
                             .max_repeats = 3 * options.repeats,
                             .timer_overhead_ms = timer_ms};
  const Predictor full(profile);
  double total = 0;
  for (const auto& m : models) total += std::max(1.0, full.whole_ms(m->graph()));
  Progress progress(fmt::format("validating {}", profile.device), total, options.progress);

  // Every model's whole runs and per-node runs, interleaved across models.
  std::vector<const Model*> pointers;
  for (const auto& m : models) pointers.push_back(m.get());
  const std::vector<double> wholes = time_wholes(pointers, timing);
  const std::vector<ModelTiming> timings = time_models(pointers, timing);

  ValidationReport report;
  std::vector<double> lomo_node_errs, table_node_errs, side_errs, lomo_whole, table_whole;
  for (std::size_t k = 0; k < models.size(); ++k) {
    const auto& m = models[k];
    const GraphDesc& g = m->graph();
    ModelValidation v;
    v.model = g.name();
    const Predictor lomo(without_model(profile, g.name()));
    const ModelTiming& t = timings[k];
    v.spread_pct = 100 * t.spread();
    v.measured_ms = wholes[k];
    v.lomo_ms = lomo.whole_ms(g);
    v.table_ms = full.whole_ms(g);
    std::vector<double> lomo_errs, table_errs;
    for (const Node& n : g.nodes()) {
      const double meas = t.node_ms[static_cast<std::size_t>(n.id)];
      if (n.kind == OpKind::input || meas < options.min_node_ms) continue;
      lomo_errs.push_back(abs_pct(lomo.node_ms(g, n.id), meas));
      table_errs.push_back(abs_pct(full.node_ms(g, n.id), meas));
    }
    v.nodes_counted = static_cast<int>(lomo_errs.size());
    v.lomo_node_median_pct = median(lomo_errs);
    v.table_node_median_pct = median(table_errs);
    lomo_node_errs.insert(lomo_node_errs.end(), lomo_errs.begin(), lomo_errs.end());
    table_node_errs.insert(table_node_errs.end(), table_errs.begin(), table_errs.end());
    for (const Cut& cut : inner_cuts(g, options.cuts_per_model)) {
      const auto [edge_ms, cloud_ms] = time_sides(*m, cut, timing);
      v.sides.push_back({cut.to_string(), true, edge_ms, full.edge_ms(g, cut)});
      v.sides.push_back({cut.to_string(), false, cloud_ms, full.cloud_ms(g, cut)});
    }
    for (const SideCheck& s : v.sides) side_errs.push_back(abs_pct(s.predicted_ms, s.measured_ms));
    lomo_whole.push_back(abs_pct(v.lomo_ms, v.measured_ms));
    table_whole.push_back(abs_pct(v.table_ms, v.measured_ms));
    report.models.push_back(std::move(v));
    progress.advance(std::max(1.0, full.whole_ms(g)), g.name());
  }
  progress.finish();
  report.lomo_mape_pct = mean(lomo_whole);
  report.table_mape_pct = mean(table_whole);
  report.lomo_node_median_pct = median(lomo_node_errs);
  report.table_node_median_pct = median(table_node_errs);
  report.side_median_pct = median(side_errs);
  report.nodes_counted = static_cast<int>(lomo_node_errs.size());
  return report;
}

}  // namespace tandem::predictor
