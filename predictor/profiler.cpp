// Timed runs: zoo models in context, one-layer sweep models, the whole profile.

#include "predictor/profiler.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <functional>
#include <stdexcept>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/version.h>

#include "models/fusion.hpp"
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
  int warmup, repeats, max_repeats;  // zoo models: max_repeats when the spread is large
  double layer_budget_ms;            // timed wall budget per sweep layer
};
constexpr Plan k_full{3, 15, 45, 120};
constexpr Plan k_quick{1, 4, 8, 25};

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

double relative_spread(std::vector<double> v) {
  if (v.size() < 2) return 0;
  std::sort(v.begin(), v.end());
  const auto quantile = [&](double q) {
    const double pos = q * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<std::size_t>(pos);
    const double frac = pos - static_cast<double>(lo);
    return lo + 1 < v.size() ? v[lo] * (1 - frac) + v[lo + 1] * frac : v[lo];
  };
  const double mid = quantile(0.5);
  return mid > 0 ? (quantile(0.75) - quantile(0.25)) / mid : 0;
}

double ModelTiming::spread() const {
  double weighted = 0, total = 0;
  for (std::size_t i = 0; i < node_ms.size(); ++i) {
    weighted += node_ms[i] * node_spread[i];
    total += node_ms[i];
  }
  return total > 0 ? weighted / total : 0;
}

std::vector<ModelTiming> time_models(const std::vector<const Model*>& models, const TimingOptions& options) {
  struct State {
    const Model* model;
    std::vector<at::Tensor> input;
    std::vector<std::vector<double>> per_node;
    std::vector<double> wall;
  };
  std::vector<State> states;
  for (const Model* m : models) {
    states.push_back({m, m->make_inputs(1), std::vector<std::vector<double>>(m->graph().size()), {}});
  }
  const auto run = [&](State& st, bool record) {
    const RunOptions ro{.slowdown = options.slowdown, .on_node = [&](NodeId id, double ms) {
                          if (record) st.per_node[static_cast<std::size_t>(id)].push_back(ms - options.timer_overhead_ms);
                        }};
    const auto t0 = Clock::now();
    st.model->run(st.input, ro);
    if (record) st.wall.push_back(ms_between(t0, Clock::now()) - options.timer_overhead_ms);
  };
  const auto summarise = [&](const State& st) {
    const GraphDesc& g = st.model->graph();
    ModelTiming out;
    out.node_ms.assign(g.size(), 0.0);
    out.node_spread.assign(g.size(), 0.0);
    for (std::size_t i = 0; i < g.size(); ++i) {
      if (st.per_node[i].empty()) continue;
      out.node_ms[i] = std::max(0.0, median(st.per_node[i]));
      out.node_spread[i] = relative_spread(st.per_node[i]);
      out.node_sum_ms += out.node_ms[i];
      ++out.computed_nodes;
    }
    out.whole_ms = median(st.wall);
    out.runs = static_cast<int>(st.wall.size());
    return out;
  };
  for (int i = 0; i < options.warmup; ++i) {
    for (State& st : states) run(st, false);
  }
  for (int r = 0; r < options.repeats; ++r) {
    for (State& st : states) run(st, true);
  }
  // Noisy models get more rounds, a third of the base at a time, still
  // interleaved among themselves.
  const int step = std::max(2, options.repeats / 3);
  for (int done = options.repeats; done < options.max_repeats;) {
    std::vector<State*> noisy;
    for (State& st : states) {
      if (summarise(st).spread() > k_spread_target) noisy.push_back(&st);
    }
    if (noisy.empty()) break;
    const int more = std::min(step, options.max_repeats - done);
    for (int r = 0; r < more; ++r) {
      // Every timed run follows another model's run, as in the rounds above:
      // a model alone would run right after itself, without its cold start.
      if (noisy.size() == 1 && states.size() > 1) {
        const auto k = static_cast<std::size_t>(noisy.front() - states.data());
        run(states[(k + states.size() - 1) % states.size()], false);
      }
      for (State* st : noisy) run(*st, true);
    }
    done += more;
  }
  std::vector<ModelTiming> out;
  for (const State& st : states) out.push_back(summarise(st));
  return out;
}

ModelTiming time_model(const Model& model, const TimingOptions& options) {
  return time_models({&model}, options).front();
}

std::vector<double> time_wholes(const std::vector<const Model*>& models, const TimingOptions& options) {
  std::vector<std::vector<at::Tensor>> inputs;
  for (const Model* m : models) inputs.push_back(m->make_inputs(1));
  const RunOptions run{.slowdown = options.slowdown};
  for (int i = 0; i < options.warmup; ++i) {
    for (std::size_t k = 0; k < models.size(); ++k) models[k]->run(inputs[k], run);
  }
  std::vector<std::vector<double>> wall(models.size());
  const auto round = [&](const std::vector<std::size_t>& which) {
    for (std::size_t k : which) {
      const auto t0 = Clock::now();
      models[k]->run(inputs[k], run);
      wall[k].push_back(ms_between(t0, Clock::now()) - options.timer_overhead_ms);
    }
  };
  std::vector<std::size_t> all(models.size());
  for (std::size_t k = 0; k < all.size(); ++k) all[k] = k;
  for (int r = 0; r < options.repeats; ++r) round(all);
  for (int done = options.repeats; done < options.max_repeats; ++done) {
    std::vector<std::size_t> noisy;
    for (std::size_t k : all) {
      if (relative_spread(wall[k]) > k_spread_target) noisy.push_back(k);
    }
    if (noisy.empty()) break;
    // Every timed run follows another model's run, as in the rounds above: a
    // model alone would run right after itself, without its cold start.
    if (noisy.size() == 1 && models.size() > 1) {
      const std::size_t k = noisy.front();
      const std::size_t before = (k + models.size() - 1) % models.size();
      models[before]->run(inputs[before], run);
    }
    round(noisy);
  }
  std::vector<double> out;
  for (auto& w : wall) out.push_back(median(std::move(w)));
  return out;
}

double time_whole(const Model& model, const TimingOptions& options) {
  return time_wholes({&model}, options).front();
}

ColdStart measure_cold_start(const std::vector<const Model*>& others, const TimingOptions& options) {
  const auto probe = make_model(cold_start_probe());
  const auto input = probe->make_inputs(1);
  const RunOptions run{.slowdown = options.slowdown};
  const auto timed = [&] {
    const auto t0 = Clock::now();
    probe->run(input, run);
    return ms_between(t0, Clock::now()) - options.timer_overhead_ms;
  };
  for (int i = 0; i < std::max(options.warmup, 1); ++i) timed();
  std::vector<std::vector<at::Tensor>> inputs;
  for (const Model* m : others) inputs.push_back(m->make_inputs(1));
  // Round r: another model (each in turn), the probe cold, the probe warm.
  const int rounds = std::max(options.repeats, 2 * static_cast<int>(others.size()));
  std::vector<double> cold, warm;
  for (int r = 0; r < rounds; ++r) {
    if (!others.empty()) {
      const std::size_t k = static_cast<std::size_t>(r) % others.size();
      others[k]->run(inputs[k], run);
    }
    cold.push_back(timed());
    warm.push_back(timed());
  }
  ColdStart out;
  out.probe = probe->graph().name();
  out.runs = rounds;
  out.cold_ms = std::max(0.0, median(std::move(cold)));
  out.warm_ms = std::max(0.0, median(std::move(warm)));
  return out;
}

std::vector<LayerTiming> time_layers(const std::vector<SweepLayer>& layers, double slowdown, double budget_ms,
                                     double timer_overhead_ms, const std::function<void(std::size_t)>& done) {
  constexpr int k_warmup = 2;
  constexpr int k_min_repeats = 3;
  constexpr int k_max_repeats = 25;
  // A block's layers are alive together; the bounds keep big linear layers
  // from holding gigabytes at once.
  constexpr std::size_t k_block_layers = 12;
  constexpr double k_block_param_bytes = 512e6;
  std::vector<LayerTiming> out(layers.size());
  for (std::size_t begin = 0; begin < layers.size();) {
    struct Entry {
      std::size_t index;
      std::shared_ptr<const Model> model;
      std::vector<at::Tensor> input;
      std::vector<double> times;
      int target = 0;
    };
    std::vector<Entry> block;
    double bytes = 0;
    std::size_t end = begin;
    while (end < layers.size() && block.size() < k_block_layers && (block.empty() || bytes < k_block_param_bytes)) {
      const SweepLayer& l = layers[end];
      auto model = l.kind == OpKind::generic ? build_generic_layer_model(l.attrs.op, l.input)
                                             : build_layer_model(l.kind, l.attrs, l.input, l.arity);
      out[end].x = node_features(model->graph(), static_cast<NodeId>(model->graph().size() - 1));
      bytes += out[end].x.param_bytes;
      auto input = model->make_inputs(1);
      block.push_back({end, std::move(model), std::move(input), {}, 0});
      ++end;
    }
    double last = 0;
    const auto run = [&](Entry& e) {
      e.model->run(e.input, {.slowdown = slowdown, .on_node = [&](NodeId, double ms) { last = ms; }});
      return last - timer_overhead_ms;
    };
    for (Entry& e : block) {
      for (int i = 0; i < k_warmup; ++i) run(e);
      // Enough repeats for a stable median, within the budget for big layers.
      e.target = std::clamp(static_cast<int>(budget_ms / std::max(last, 1e-3)), k_min_repeats, k_max_repeats);
    }
    const auto rounds = [&](bool extra) {
      for (bool any = true; any;) {
        any = false;
        for (Entry& e : block) {
          if (static_cast<int>(e.times.size()) >= e.target) continue;
          e.times.push_back(run(e));
          any = true;
        }
      }
      if (extra) return;
      // A noisy layer gets up to twice its runs.
      for (Entry& e : block) {
        if (relative_spread(e.times) > k_spread_target) e.target *= 2;
      }
    };
    rounds(false);
    rounds(true);
    for (Entry& e : block) {
      LayerTiming& t = out[e.index];
      t.ms = std::max(median(e.times), 1e-6);
      t.spread = relative_spread(e.times);
      t.runs = static_cast<int>(e.times.size());
      if (done) done(e.index);
    }
    begin = end;
  }
  return out;
}

double time_layer(const SweepLayer& layer, double slowdown, double budget_ms,
                  double timer_overhead_ms, NodeFeatures& features) {
  const LayerTiming t = time_layers({layer}, slowdown, budget_ms, timer_overhead_ms).front();
  features = t.x;
  return t.ms;
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
  p.allocator = process_allocator();
  p.date = utc_now();
  p.quick = options.quick;
  p.warmup = plan.warmup;
  p.repeats = plan.repeats;
  p.timer_overhead_ns = measure_timer_overhead_ns();
  const double timer_ms = p.timer_overhead_ns * 1e-6;

  const std::vector<SweepLayer> sweep = sweep_layers(options.quick, options.seed);
  double total = 0;
  for (const auto& m : models) {
    // The cold start's rounds run each model about twice more.
    total += (plan.warmup + plan.repeats + 2) * estimate_ms(m->graph().flops(), options.slowdown);
  }
  total += static_cast<double>(sweep.size()) * plan.layer_budget_ms;
  Progress progress(fmt::format("profiling {}", options.device), total, options.progress);

  const TimingOptions timing{.slowdown = options.slowdown,
                             .warmup = plan.warmup,
                             .repeats = plan.repeats,
                             .max_repeats = plan.max_repeats,
                             .timer_overhead_ms = timer_ms};
  std::vector<const Model*> pointers;
  for (const auto& m : models) pointers.push_back(m.get());
  const std::vector<ModelTiming> timings = time_models(pointers, timing);
  for (std::size_t k = 0; k < models.size(); ++k) {
    const GraphDesc& g = models[k]->graph();
    const ModelTiming& t = timings[k];
    // Nodes run back to back; only the first follows a wait: the stretch
    // (RunOptions::slowdown) of the run before it, the previous model's
    // (time_models interleaves them), which sleeps when it is long.
    const ModelTiming& before = timings[(k + models.size() - 1) % models.size()];
    bool after_sleep = sleeps_after(before.node_sum_ms, options.slowdown);
    for (const Node& n : g.nodes()) {
      if (n.kind == OpKind::input) continue;
      const auto i = static_cast<std::size_t>(n.id);
      const double ms = std::max(t.node_ms[i], 1e-6);
      const NodeFeatures x = node_features(g, n.id);
      p.measured.push_back({g.name(), n.name, n.id, n.kind, x, ms, t.node_spread[i]});
      // A batch norm folded into its convolution costs nothing of its own
      // (models/fusion.hpp); its near-zero time says nothing about batch norms.
      if (folded_into(g, n.id) < 0) {
        p.samples.push_back({n.kind, x, ms, "model:" + g.name(), after_sleep, t.node_spread[i]});
      }
      after_sleep = false;
    }
    p.runs.push_back({g.name(), t.computed_nodes, t.whole_ms, t.node_sum_ms});
    progress.advance((plan.warmup + t.runs) * estimate_ms(g.flops(), options.slowdown), g.name());
  }
  p.cold_start = measure_cold_start(pointers, timing);
  double cold_work = 0;
  for (const auto& m : models) cold_work += 2 * estimate_ms(m->graph().flops(), options.slowdown);
  progress.advance(cold_work, "cold start");
  const std::vector<LayerTiming> layers =
      time_layers(sweep, options.slowdown, plan.layer_budget_ms, timer_ms, [&](std::size_t i) {
        progress.advance(plan.layer_budget_ms,
                         fmt::format("sweep {} {}/{}", to_string(sweep[i].kind), i + 1, sweep.size()));
      });
  for (std::size_t i = 0; i < sweep.size(); ++i) {
    const LayerTiming& t = layers[i];
    // Repeated one-layer runs: each follows the previous repetition of itself.
    p.samples.push_back({sweep[i].kind, t.x, t.ms, "sweep", sleeps_after(t.ms, options.slowdown), t.spread});
  }
  progress.finish();
  refit(p);
  return p;
}

}  // namespace tandem::predictor
