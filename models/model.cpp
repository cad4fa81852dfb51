// The executor: runs the whole graph or either side of a cut.

#include "models/model.hpp"

#include <chrono>
#include <thread>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "models/executor.hpp"
#include "models/ops.hpp"

namespace tandem {
namespace {

using Clock = std::chrono::steady_clock;

// Emulates a slower device: wait until `extra` has passed since `from`.
// Short waits spin: a woken thread pays a wake-up cost that varies with the
// host and would dominate small runs (measured: a 100 kB ReLU, 0.02 ms after
// a spin, 0.15 ms after a sleep on the 4x edge). Long waits sleep for the
// bulk, leaving the core to others as a slower device would, and spin the
// last 0.2 ms, where sleep is too coarse.
void stretch(Clock::time_point from, std::chrono::nanoseconds extra) {
  constexpr auto k_final_spin = std::chrono::microseconds(200);
  const auto until = from + extra;
  const auto spin_limit = std::chrono::duration<double, std::milli>(k_stretch_spin_ms);
  if (until - Clock::now() > spin_limit) std::this_thread::sleep_until(until - k_final_spin);
  while (Clock::now() < until) {
  }
}

at::ScalarType scalar_type_of(DType dtype) {
  switch (dtype) {
    case DType::f32: return at::kFloat;
    case DType::f16: return at::kHalf;
    case DType::i64: return at::kLong;
    case DType::i32: return at::kInt;
    case DType::u8: return at::kByte;
    case DType::boolean: return at::kBool;
  }
  return at::kFloat;
}

// Uniform floats in [0, 1) for seeded inputs: element k is a 32-bit integer
// hash of (seed, k) (two rounds of lowbias32 with the seed's high half between
// them), 24 bits per float. The same bits on every machine, independent of
// threads and of the AVX2 clone GCC makes of the loop; 66 us for a 224x224
// image against 0.6 ms with at::rand's Mersenne Twister, which perf found in
// every task's latency on the edge (docs/design.md §5).
// Sanitizer builds take the default path alone: GCC picks a clone with an
// ifunc resolver that the dynamic loader runs before the sanitizer's runtime
// is up, and the instrumented resolver crashed every TSan test binary that
// links this file (scripts/sanitize.sh thread, before any test ran).
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define TANDEM_AVX2_CLONES
#else
#define TANDEM_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#endif
TANDEM_AVX2_CLONES void fill_uniform(float* p, std::int64_t n, std::uint64_t seed) {
  const std::uint32_t lo = static_cast<std::uint32_t>(seed ^ (seed >> 32)) * 0x9e3779b9u;
  const std::uint32_t hi = static_cast<std::uint32_t>(seed >> 32) ^ 0x85ebca6bu;
  for (std::int64_t k = 0; k < n; ++k) {
    std::uint32_t x = static_cast<std::uint32_t>(k) * 0x9e3779b9u + lo;
    x ^= x >> 16, x *= 0x7feb352du, x ^= x >> 15, x *= 0x846ca68bu, x ^= x >> 16;
    x ^= hi;
    x ^= x >> 16, x *= 0x7feb352du, x ^= x >> 15, x *= 0x846ca68bu, x ^= x >> 16;
    p[k] = static_cast<float>(x >> 8) * (1.0f / 16777216.0f);
  }
}

at::Tensor uniform_floats(const Shape& shape, std::uint64_t seed) {
  at::Tensor t = at::empty(shape, at::kFloat);
  fill_uniform(t.data_ptr<float>(), t.numel(), seed);
  return t;
}

std::string first_line(const char* what) {
  std::string s(what);
  if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  return s;
}

}  // namespace

Model::Model(GraphDesc graph, std::vector<Param> params, std::vector<std::shared_ptr<const NodeKernel>> kernels,
             std::shared_ptr<const void> keep_alive, ExecOptions exec)
    : graph_(std::move(graph)), params_(std::move(params)), node_params_(graph_.size()),
      kernels_(std::move(kernels)), keep_alive_(std::move(keep_alive)) {
  if (!kernels_.empty() && kernels_.size() != graph_.size()) {
    throw std::invalid_argument(fmt::format("model '{}': {} kernels for {} nodes", name(), kernels_.size(),
                                            graph_.size()));
  }
  for (const Param& p : params_) {
    node_params_.at(static_cast<std::size_t>(p.node)).push_back(p.value);
  }
  executor_ = std::make_shared<const detail::Executor>(graph_, node_params_, kernels_, exec);
  fingerprint_ = fingerprint_params(params_);
  if (!kernels_.empty()) {
    // What runs, not only what is stored: the graph's structure and every
    // kernel's operator and constants.
    fingerprint_ = fingerprint_graph(graph_, fingerprint_);
    for (const auto& k : kernels_) {
      if (k) fingerprint_ = k->fingerprint(fingerprint_);
    }
  }
}

std::vector<at::Tensor> Model::make_inputs(std::uint64_t seed) const {
  std::vector<at::Tensor> out;
  for (std::size_t i = 0; i < graph_.input_count(); ++i) {
    // Input 0 keeps the plain seed (single-input models are unchanged).
    const std::uint64_t s = i == 0 ? seed : seed ^ (0x9e3779b97f4a7c15ULL * (i + 1));
    out.push_back(uniform_floats(graph_.nodes()[i].out_shape, s));
  }
  return out;
}

at::Tensor Model::make_input(std::uint64_t seed) const { return make_inputs(seed).front(); }

at::Tensor Model::run_node(NodeId id, const std::vector<at::Tensor>& inputs) const {
  const Node& n = graph_.node(id);
  try {
    if (!kernels_.empty() && kernels_[static_cast<std::size_t>(id)]) {
      return kernels_[static_cast<std::size_t>(id)]->run(inputs);
    }
    return detail::apply_op(n, inputs, node_params_[static_cast<std::size_t>(id)]);
  } catch (const c10::Error& e) {
    throw ExecError(fmt::format("model '{}' node {} '{}' ({}): {}", name(), id, n.name,
                                to_string(n.kind), first_line(e.what_without_backtrace())));
  }
}

TensorMap Model::run_nodes(const std::vector<bool>& compute, const TensorMap& available,
                           const std::vector<NodeId>& wanted, const RunOptions& options) const {
  const std::size_t n = graph_.size();
  if (compute.size() != n) {
    throw std::invalid_argument(fmt::format("model '{}': compute mask has {} entries, graph has {}",
                                            name(), compute.size(), n));
  }
  if (options.slowdown < 1.0) {
    throw std::invalid_argument(fmt::format("slowdown {} must be >= 1", options.slowdown));
  }
  // Remaining uses of each value, so intermediates are freed as soon as
  // possible (VGG's early activations are tens of MB).
  std::vector<int> uses(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (!compute[i]) continue;
    for (NodeId p : graph_.nodes()[i].inputs) ++uses[static_cast<std::size_t>(p)];
  }
  for (NodeId w : wanted) ++uses.at(static_cast<std::size_t>(w));

  std::vector<detail::Value> values(n);
  for (const auto& [id, t] : available) {
    if (id < 0 || static_cast<std::size_t>(id) >= n) {
      throw ExecError(fmt::format("model '{}': tensor for unknown node {}", name(), id));
    }
    if (compute[static_cast<std::size_t>(id)] || uses[static_cast<std::size_t>(id)] == 0) continue;
    const Node& node = graph_.node(id);
    if (!t.defined() || t.scalar_type() != scalar_type_of(node.dtype) ||
        Shape(t.sizes().begin(), t.sizes().end()) != node.out_shape) {
      throw ExecError(fmt::format(
          "model '{}': tensor for node {} '{}' is {} {}, expected {} {}", name(), id, node.name,
          t.defined() ? shape_string(Shape(t.sizes().begin(), t.sizes().end())) : "none",
          t.defined() ? c10::toString(t.scalar_type()) : "", shape_string(node.out_shape), to_string(node.dtype)));
    }
    values[static_cast<std::size_t>(id)].dense = t;  // the caller's: never overwritten
  }
  if (!options.plain) {
    // Supplied tensors go to the layout their readers compute in before the
    // first node starts, so no node's time includes a caller's conversion
    // (the profiler's one-layer models: as a convolution would leave them,
    // Executor::prepare_supplied).
    for (const auto& [id, t] : available) {
      detail::Value& v = values[static_cast<std::size_t>(id)];
      if (!v.defined()) continue;
      bool onednn_reader = false;
      for (NodeId c : graph_.consumers(id)) {
        onednn_reader = onednn_reader || (compute[static_cast<std::size_t>(c)] && executor_->onednn_at(c));
      }
      executor_->prepare_supplied(id, v, onednn_reader);
    }
  }

  const detail::RunContext ctx{compute, uses};
  std::vector<at::Tensor> ins;
  Clock::duration computed{};  // the nodes' own compute, for the stretch
  for (std::size_t i = 0; i < n; ++i) {
    if (!compute[i]) continue;
    const Node& node = graph_.nodes()[i];
    if (node.kind == OpKind::input) {
      throw ExecError(fmt::format("model '{}': input node {} cannot be computed", name(), node.id));
    }
    for (NodeId p : node.inputs) {
      if (!values[static_cast<std::size_t>(p)].defined()) {
        throw ExecError(fmt::format("model '{}': node {} '{}' needs the output of node {} '{}', "
                                    "which is neither computed nor supplied",
                                    name(), node.id, node.name, p, graph_.node(p).name));
      }
    }
    const auto start = Clock::now();
    if (options.plain) {
      ins.clear();
      for (NodeId p : node.inputs) ins.push_back(values[static_cast<std::size_t>(p)].dense);
      values[i].dense = run_node(node.id, ins);
    } else {
      try {
        executor_->compute(node.id, values, ctx);
      } catch (const c10::Error& e) {
        throw ExecError(fmt::format("model '{}' node {} '{}' ({}): {}", name(), node.id, node.name,
                                    to_string(node.kind), first_line(e.what_without_backtrace())));
      }
    }
    if (options.slowdown > 1.0 || options.on_node) {
      const auto took = Clock::now() - start;
      computed += took;
      if (options.on_node) {
        const std::chrono::duration<double, std::milli> ms = took * options.slowdown;
        options.on_node(node.id, ms.count());
      }
    }
    for (NodeId p : node.inputs) {
      const auto pi = static_cast<std::size_t>(p);
      if (--uses[pi] == 0) values[pi] = detail::Value{};
    }
  }

  // The slower device's extra time, once for the run (RunOptions::slowdown).
  if (options.slowdown > 1.0) {
    stretch(Clock::now(), std::chrono::duration_cast<std::chrono::nanoseconds>(
                              computed * (options.slowdown - 1.0)));
  }

  TensorMap out;
  for (NodeId w : wanted) {
    detail::Value& v = values.at(static_cast<std::size_t>(w));
    if (!v.defined()) {
      throw ExecError(fmt::format("model '{}': wanted node {} '{}' was not computed", name(), w,
                                  graph_.node(w).name));
    }
    out.emplace(w, v.as_dense());
  }
  return out;
}

TensorMap Model::run(const std::vector<at::Tensor>& inputs, const RunOptions& options) const {
  return run_edge(Cut::edge_only(graph_), inputs, options);
}

TensorMap Model::run(const at::Tensor& input, const RunOptions& options) const {
  return run_edge(Cut::edge_only(graph_), std::vector<at::Tensor>{input}, options);
}

TensorMap Model::run_edge(const Cut& cut, const at::Tensor& input, const RunOptions& options) const {
  return run_edge(cut, std::vector<at::Tensor>{input}, options);
}

TensorMap Model::run_edge(const Cut& cut, const std::vector<at::Tensor>& inputs,
                          const RunOptions& options) const {
  cut.check(graph_);
  if (inputs.size() != graph_.input_count()) {
    throw ExecError(fmt::format("model '{}' takes {} input tensor(s), got {}", name(), graph_.input_count(),
                                inputs.size()));
  }
  std::vector<bool> compute = cut.mask();
  TensorMap available;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    compute[i] = false;
    available.emplace(static_cast<NodeId>(i), inputs[i]);
  }
  std::vector<NodeId> wanted = cut.crossing(graph_);
  for (NodeId s : graph_.sinks()) {
    if (cut.on_edge(s)) wanted.push_back(s);
  }
  return run_nodes(compute, available, wanted, options);
}

TensorMap Model::run_cloud(const Cut& cut, const TensorMap& crossing,
                           const RunOptions& options) const {
  cut.check(graph_);
  std::vector<bool> compute(graph_.size());
  for (std::size_t i = 0; i < compute.size(); ++i) compute[i] = !cut.on_edge(static_cast<NodeId>(i));
  for (NodeId id : cut.crossing(graph_)) {
    if (!crossing.contains(id)) {
      throw ExecError(fmt::format("model '{}': crossing tensor of node {} '{}' is missing", name(),
                                  id, graph_.node(id).name));
    }
  }
  return run_nodes(compute, crossing, cut.cloud_sinks(graph_), options);
}

}  // namespace tandem
