// Timed runs: zoo models in context, one-layer sweep models, the whole profile.

#include "predictor/profiler.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <stdexcept>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/version.h>

#include "predictor/progress.hpp"

namespace tandem::predictor {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Work-unit estimate of timing something of `flops`: a guess at its ms on a
// slow device; only the progress bar's ETA depends on it.
double estimate_ms(double flops, double slowdown) {
  constexpr double k_flops_per_ms = 2e7;
  constexpr double k_call_ms = 0.02;
  return (k_call_ms + flops / k_flops_per_ms) * slowdown;
}

// Repeats and warm-up of the zoo models and the sweep.
struct Plan {
  int warmup, repeats;
  double layer_budget_ms;  // timed wall budget per sweep layer
};
constexpr Plan k_full{3, 15, 120};
constexpr Plan k_quick{1, 4, 25};

}  // namespace

double measure_timer_overhead_ns() {
  constexpr int k_pairs = 2001;
  std::vector<double> d(k_pairs);
  for (auto& v : d) {
    const auto a = Clock::now();
    const auto b = Clock::now();
    v = std::chrono::duration<double, std::nano>(b - a).count();
  }
  return median(std::move(d));
}

ModelTiming time_model(const Model& model, const TimingOptions& options) {
  const GraphDesc& g = model.graph();
  const std::vector<at::Tensor> input = model.make_inputs(1);
  std::vector<std::vector<double>> per_node(g.size());
  bool record = false;
  RunOptions run{.slowdown = options.slowdown, .on_node = [&](NodeId id, double ms) {
                   if (record) per_node[static_cast<std::size_t>(id)].push_back(ms);
                 }};
  for (int i = 0; i < options.warmup; ++i) model.run(input, run);
  record = true;
  std::vector<double> wall;
  for (int i = 0; i < options.repeats; ++i) {
    const auto t0 = Clock::now();
    model.run(input, run);
    wall.push_back(ms_between(t0, Clock::now()) - options.timer_overhead_ms);
  }
  ModelTiming out;
  out.node_ms.assign(g.size(), 0.0);
  for (std::size_t i = 0; i < g.size(); ++i) {
    if (per_node[i].empty()) continue;
    out.node_ms[i] = std::max(0.0, median(per_node[i]) - options.timer_overhead_ms);
    out.node_sum_ms += out.node_ms[i];
    ++out.computed_nodes;
  }
  out.whole_ms = median(std::move(wall));
  return out;
}

double time_whole(const Model& model, const TimingOptions& options) {
  const std::vector<at::Tensor> input = model.make_inputs(1);
  const RunOptions run{.slowdown = options.slowdown};
  for (int i = 0; i < options.warmup; ++i) model.run(input, run);
  std::vector<double> wall;
  for (int i = 0; i < options.repeats; ++i) {
    const auto t0 = Clock::now();
    model.run(input, run);
    wall.push_back(ms_between(t0, Clock::now()) - options.timer_overhead_ms);
  }
  return median(std::move(wall));
}

double time_layer(const SweepLayer& layer, double slowdown, double budget_ms,
                  double timer_overhead_ms, NodeFeatures& features) {
  constexpr int k_warmup = 2;
  constexpr int k_min_repeats = 3;
  constexpr int k_max_repeats = 25;
  const auto model = layer.kind == OpKind::generic ? build_generic_layer_model(layer.attrs.op, layer.input)
                                                   : build_layer_model(layer.kind, layer.attrs, layer.input, layer.arity);
  features = node_features(model->graph(), 1);
  const std::vector<at::Tensor> input = model->make_inputs(1);
  double last = 0;
  std::vector<double> times;
  const RunOptions run{.slowdown = slowdown, .on_node = [&](NodeId, double ms) { last = ms; }};
  for (int i = 0; i < k_warmup; ++i) model->run(input, run);
  // Enough repeats for a stable median, within the budget for big layers.
  const int repeats =
      std::clamp(static_cast<int>(budget_ms / std::max(last, 1e-3)), k_min_repeats, k_max_repeats);
  for (int i = 0; i < repeats; ++i) {
    model->run(input, run);
    times.push_back(last - timer_overhead_ms);
  }
  return std::max(median(std::move(times)), 1e-6);
}

DeviceProfile profile_device(const ProfileOptions& options) {
  if (options.threads < 1) {
    throw std::invalid_argument(fmt::format("threads {} must be at least 1", options.threads));
  }
  if (!(options.slowdown >= 1.0)) {
    throw std::invalid_argument(fmt::format("slowdown {} must be at least 1", options.slowdown));
  }
  const std::vector<std::string> names = options.models.empty() ? zoo_names() : options.models;
  std::vector<std::shared_ptr<const Model>> models;
  for (const auto& name : names) {
    models.push_back(options.load ? options.load(name) : build_model(name));  // throws for unknown
  }
  at::set_num_threads(options.threads);

  const Plan plan = options.quick ? k_quick : k_full;
  DeviceProfile p;
  p.device = options.device;
  p.threads = options.threads;
  p.slowdown = options.slowdown;
  p.libtorch_version = TORCH_VERSION;
  p.cpu_model = cpu_model();
  p.date = utc_now();
  p.quick = options.quick;
  p.warmup = plan.warmup;
  p.repeats = plan.repeats;
  p.timer_overhead_ns = measure_timer_overhead_ns();
  const double timer_ms = p.timer_overhead_ns * 1e-6;

  const std::vector<SweepLayer> sweep = sweep_layers(options.quick, options.seed);
  double total = 0;
  for (const auto& m : models) {
    total += (plan.warmup + plan.repeats) * estimate_ms(m->graph().flops(), options.slowdown);
  }
  total += static_cast<double>(sweep.size()) * plan.layer_budget_ms;
  Progress progress(fmt::format("profiling {}", options.device), total, options.progress);

  const TimingOptions timing{.slowdown = options.slowdown,
                             .warmup = plan.warmup,
                             .repeats = plan.repeats,
                             .timer_overhead_ms = timer_ms};
  for (const auto& m : models) {
    const GraphDesc& g = m->graph();
    const ModelTiming t = time_model(*m, timing);
    // Nodes run in id order; the first follows the previous run's last node.
    double prev_ms = t.node_ms.back();
    for (const Node& n : g.nodes()) {
      if (n.kind == OpKind::input) continue;
      const double ms = std::max(t.node_ms[static_cast<std::size_t>(n.id)], 1e-6);
      const NodeFeatures x = node_features(g, n.id);
      p.measured.push_back({g.name(), n.name, n.id, n.kind, x, ms});
      p.samples.push_back(
          {n.kind, x, ms, "model:" + g.name(), sleeps_after(prev_ms, options.slowdown)});
      prev_ms = ms;
    }
    p.runs.push_back({g.name(), t.computed_nodes, t.whole_ms, t.node_sum_ms});
    progress.advance((plan.warmup + plan.repeats) * estimate_ms(g.flops(), options.slowdown),
                     g.name());
  }
  for (std::size_t i = 0; i < sweep.size(); ++i) {
    const SweepLayer& layer = sweep[i];
    NodeFeatures x;
    const double ms = time_layer(layer, options.slowdown, plan.layer_budget_ms, timer_ms, x);
    // Repeated one-layer runs: each follows the previous repetition of itself.
    p.samples.push_back({layer.kind, x, ms, "sweep", sleeps_after(ms, options.slowdown)});
    progress.advance(plan.layer_budget_ms,
                     fmt::format("sweep {} {}/{}", to_string(layer.kind), i + 1, sweep.size()));
  }
  progress.finish();
  refit(p);
  return p;
}

}  // namespace tandem::predictor
