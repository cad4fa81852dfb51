// The executor's optimised path (models/executor.hpp).

#include "models/executor.hpp"

#include <dlfcn.h>
#include <malloc.h>
#include <omp.h>
#include <sys/types.h>

#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <fmt/format.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/runtime/operator.h>

#include "models/fusion.hpp"
#include "models/model.hpp"
#include "models/ops.hpp"

namespace tandem::detail {
namespace {

namespace jit = torch::jit;

// Below this many MACs a convolution is dominated by oneDNN's per-call set-up
// and runs on at::conv2d with dense tensors (measured at one thread: 8->8
// channels 3x3 at 16x16, 147k MACs, 31.7 us through at::mkldnn_convolution
// against 15.2 us through at::conv2d; the two cross near 1M MACs).
constexpr double k_small_conv_macs = 1e6;
// A grouped convolution goes to oneDNN from this size: at::conv2d's dense
// depthwise kernel is the slow one there (one thread, 24 channels 3x3 at
// 28x28, 169k MACs: 47 us dense, 32 us on oneDNN's layout, 55 us when a
// dense input is converted there and back; the convolutions after it then
// follow onto oneDNN). shufflenet_v2_x0_5's edge side, one thread: 1.93 ->
// 1.63 ms (docs/design.md §10).
constexpr double k_small_grouped_conv_macs = 1e5;

// A matrix-vector product whose weight has fewer elements than this runs on
// the calling thread alone. OpenBLAS (the OpenMP build Debian's LibTorch
// uses) splits any gemv above 9216 elements over every thread, and on a
// machine whose second thread has gone to sleep since the last request —
// a server between requests — waking it costs milliseconds: a 1024x1024
// addmv after a 0.1 s pause took 4.1 ms at two threads, 0.12 ms at one,
// 0.07 ms at two when the partner was still awake (2026-12-04, this VM);
// lenet's three linear layers at two threads, 15.7 ms against 0.19 ms
// (bench/executor_vs_python.sh). Below 4M elements one thread takes under
// ~0.5 ms; alexnet's and vgg16's first two linear layers stay parallel.
constexpr std::int64_t k_parallel_gemv_elements = std::int64_t{1} << 22;

// Limits OpenMP to one thread on the calling thread for the guard's life.
// omp_set_num_threads sets the calling thread's own ICV, so other threads (a
// cloud daemon's other workers) are unaffected; OpenBLAS reads it per call
// (omp_get_max_threads() == 1: one thread, its global thread count left
// alone). at::set_num_threads is not used: it also sets a process-wide count.
class OneThread {
 public:
  OneThread() : was_(omp_get_max_threads()) {
    if (was_ > 1) omp_set_num_threads(1);
  }
  ~OneThread() {
    if (was_ > 1) omp_set_num_threads(was_);
  }
  OneThread(const OneThread&) = delete;
  OneThread& operator=(const OneThread&) = delete;

 private:
  int was_;
};

// A pool whose dense input is at least this large converts it to oneDNN
// (Executor::plan_layouts).
constexpr std::int64_t k_dense_pool_bytes = 64 * 1024;

// An adaptive pool's output below this that feeds convolutions stays dense
// (Executor::plan_layouts).
constexpr std::int64_t k_tiny_onednn_bytes = 16 * 1024;

// oneDNN's largest channel block for f32 (nChw16c); a channel count that is a
// multiple of it is never padded in the blocked layout.
constexpr std::int64_t k_onednn_channel_block = 16;

// ReLU6, hardswish and hardsigmoid on a oneDNN tensor: LibTorch 1.13 has no
// oneDNN kernels for them in ATen, but the JIT's optimize_for_inference
// registers some (prim::MKLDNNHardTanh[_] with its bounds as node
// attributes, prim::MKLDNNHardSwish[_], prim::MKLDNNHardSigmoid[_]). A
// one-node graph holds one; its Operation is a stateless function, safe to
// call from several threads.
class OnednnEltwise {
 public:
  /// `op` without the trailing '_' of the in-place form; `bounds` for hardtanh.
  OnednnEltwise(const std::string& op, bool in_place, std::optional<std::pair<double, double>> bounds = {})
      : graph_(std::make_shared<jit::Graph>()), op_(make(*graph_, op + (in_place ? "_" : ""), bounds)) {}
  at::Tensor operator()(const at::Tensor& x) const {
    jit::Stack stack{x};
    op_(stack);
    return stack.back().toTensor();
  }

 private:
  static jit::Operation make(jit::Graph& graph, const std::string& name,
                             std::optional<std::pair<double, double>> bounds) {
    jit::Value* x = graph.addInput();
    x->setType(c10::TensorType::get());
    jit::Node* n = graph.create(c10::Symbol::fromQualString(name), {x});
    if (bounds) {
      n->f_(c10::Symbol::attr("min_val"), bounds->first);
      n->f_(c10::Symbol::attr("max_val"), bounds->second);
    }
    n->output()->setType(c10::TensorType::get());
    graph.insertNode(n);
    graph.registerOutput(n->output());
    return n->getOperation();
  }

  std::shared_ptr<jit::Graph> graph_;
  mutable jit::Operation op_;
};

// The oneDNN form of an activation the executor keeps on oneDNN's layout.
const OnednnEltwise& onednn_activation(OpKind kind, bool in_place) {
  static const OnednnEltwise relu6[2] = {{"prim::MKLDNNHardTanh", false, std::pair{0.0, 6.0}},
                                         {"prim::MKLDNNHardTanh", true, std::pair{0.0, 6.0}}};
  static const OnednnEltwise hardswish[2] = {{"prim::MKLDNNHardSwish", false}, {"prim::MKLDNNHardSwish", true}};
  static const OnednnEltwise hardsigmoid[2] = {{"prim::MKLDNNHardSigmoid", false},
                                               {"prim::MKLDNNHardSigmoid", true}};
  switch (kind) {
    case OpKind::relu6: return relu6[in_place];
    case OpKind::hardswish: return hardswish[in_place];
    case OpKind::hardsigmoid: return hardsigmoid[in_place];
    default: throw std::logic_error("onednn_activation: not an activation with a oneDNN form");
  }
}

}  // namespace

const at::Tensor& Value::as_dense() {
  if (!dense.defined()) {
    dense = onednn.to_dense();
    dense_owned = true;
  }
  return dense;
}

const at::Tensor& Value::as_onednn() {
  if (!onednn.defined()) {
    onednn = dense.contiguous().to_mkldnn();
    onednn_owned = true;
  }
  return onednn;
}

struct Executor::Prepared {
  // conv2d, with the following batch norm folded in when folds_[id] >= 0:
  // dense tensors for at::conv2d, and (LibTorch built with oneDNN) oneDNN
  // tensors with the weights reordered for this convolution.
  at::Tensor weight, bias;
  at::Tensor onednn_weight, onednn_bias;
};

namespace {

using Mallctl = int (*)(const char*, void*, std::size_t*, void*, std::size_t);

// jemalloc's control interface when malloc itself is jemalloc's (linked, the
// default, or preloaded), else null. Looked up rather than called by name so
// that builds on glibc's malloc need nothing.
Mallctl jemalloc_mallctl() {
  const auto mallctl = reinterpret_cast<Mallctl>(dlsym(RTLD_DEFAULT, "mallctl"));
  Dl_info ctl{}, alloc{};
  if (!mallctl || !dladdr(reinterpret_cast<void*>(mallctl), &ctl) ||
      !dladdr(dlsym(RTLD_DEFAULT, "malloc"), &alloc) || ctl.dli_fbase != alloc.dli_fbase) {
    return nullptr;
  }
  return mallctl;
}

// A run should reuse the memory the last one freed rather than fault in
// fresh pages: a 64x224x224 activation is 12.8 MB, 3,100 page faults on
// first touch, on every run.
//  * jemalloc returns freed pages to the kernel over its decay time (10 s),
//    a share of them within the executor-vs-Python benchmark's 200 ms pause:
//    vgg16's edge side at one thread ran 1.08x LibTorch's best until
//    dirty pages were kept (dirty_decay_ms -1, every arena).
//  * glibc (TANDEM_JEMALLOC=OFF) serves an allocation above its mmap
//    threshold (128 KiB at first, raised only as such blocks are freed) with
//    fresh pages; keeping blocks up to 32 MiB (its largest threshold) in the
//    heap and not trimming its top below 256 MiB took vgg16's first 17 nodes
//    at one thread from 95-96 to 82-84 ms.
// Either way the process keeps its high-water mark of activations.
void keep_activations_in_heap() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (const Mallctl mallctl = jemalloc_mallctl()) {
      ssize_t never = -1;
      mallctl("arenas.dirty_decay_ms", nullptr, nullptr, &never, sizeof never);  // arenas made later
      unsigned arenas = 0;
      std::size_t size = sizeof arenas;
      if (mallctl("arenas.narenas", &arenas, &size, nullptr, 0) != 0) arenas = 0;
      for (unsigned i = 0; i < arenas; ++i) {  // an arena not yet in use refuses: it takes the default above
        mallctl(fmt::format("arena.{}.dirty_decay_ms", i).c_str(), nullptr, nullptr, &never, sizeof never);
      }
      return;
    }
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
  });
}

}  // namespace

Executor::Executor(const GraphDesc& graph, const std::vector<std::vector<at::Tensor>>& params,
                   const std::vector<std::shared_ptr<const NodeKernel>>& kernels, const ExecOptions& options)
    : graph_(graph), kernels_(kernels), params_(params), prepared_(graph.size()), folds_(graph.size(), -1),
      onednn_(at::hasMKLDNN()) {
  keep_activations_in_heap();
  const auto builtin = [&](NodeId id) { return kernels_.empty() || !kernels_[static_cast<std::size_t>(id)]; };
  for (const Node& bn : graph_.nodes()) {
    const NodeId conv = folded_into(graph_, bn.id);
    if (conv >= 0 && builtin(conv) && builtin(bn.id)) folds_[static_cast<std::size_t>(conv)] = bn.id;
  }
  for (const Node& n : graph_.nodes()) {
    if (n.kind != OpKind::conv2d || !builtin(n.id)) continue;
    const auto& p = params_[static_cast<std::size_t>(n.id)];
    const auto& a = n.attrs;
    at::Tensor w = p.at(0);
    at::Tensor b = a.bias ? p.at(1) : at::zeros({a.out_channels}, w.options());
    if (const NodeId bn = folds_[static_cast<std::size_t>(n.id)]; bn >= 0) {
      // y = (conv(x) + b - mean) * gamma / sqrt(var + eps) + beta, in double.
      const auto& q = params_[static_cast<std::size_t>(bn)];
      const at::Tensor scale = q.at(0).to(at::kDouble) / (q.at(3).to(at::kDouble) + graph_.node(bn).attrs.eps).sqrt();
      w = (w.to(at::kDouble) * scale.view({-1, 1, 1, 1})).to(at::kFloat);
      b = ((b.to(at::kDouble) - q.at(2).to(at::kDouble)) * scale + q.at(1).to(at::kDouble)).to(at::kFloat);
    }
    auto prep = std::make_unique<Prepared>();
    prep->weight = w.contiguous();
    prep->bias = b.contiguous();
    if (onednn_) {
      prep->onednn_weight = at::mkldnn_reorder_conv2d_weight(prep->weight.to_mkldnn(), {a.pad_h, a.pad_w},
                                                             {a.stride_h, a.stride_w}, {1, 1}, a.groups);
      prep->onednn_bias = prep->bias.to_mkldnn();
    }
    prepared_[static_cast<std::size_t>(n.id)] = std::move(prep);
  }
  plan_layouts(builtin, options.inputs_in_onednn);
  if (onednn_ && options.inputs_in_onednn) {
    identity_.resize(graph_.size());
    for (const Node& n : graph_.nodes()) {
      if (n.kind != OpKind::input || !onednn_at(n.id)) continue;
      const std::int64_t c = n.out_shape.at(1);
      const auto f32 = at::TensorOptions().dtype(at::kFloat);
      identity_[static_cast<std::size_t>(n.id)] = {
          at::mkldnn_reorder_conv2d_weight(at::ones({c, 1, 1, 1}, f32).to_mkldnn(), {0, 0}, {1, 1}, {1, 1}, c),
          at::zeros({c}, f32).to_mkldnn()};
    }
  }
}

void Executor::prepare_supplied(NodeId id, Value& v, bool onednn_reader) const {
  const auto i = static_cast<std::size_t>(id);
  if (i >= identity_.size() || !identity_[i].first.defined()) {
    if (onednn_reader) v.as_onednn();
    return;
  }
  const auto& [weight, bias] = identity_[i];
  v.onednn = at::mkldnn_convolution(v.as_onednn(), weight, bias, {0, 0}, {1, 1}, {1, 1}, weight.size(0));
  v.onednn_owned = true;
  v.dense = at::Tensor();  // as after a convolution: dense readers convert
  v.dense_owned = false;
}

Executor::~Executor() = default;

// Which nodes compute on oneDNN's layout, fixed at load so that a node
// computes the same way whichever side of a cut its inputs come from (a
// crossing tensor arrives dense and is converted back exactly).
void Executor::plan_layouts(const std::function<bool(NodeId)>& builtin, bool inputs_in_onednn) {
  onednn_at_.assign(graph_.size(), 0);
  if (!onednn_) return;
  const auto is_image = [](const Node& n) { return n.dtype == DType::f32 && n.out_shape.size() == 4; };
  for (const Node& n : graph_.nodes()) {
    if (n.kind == OpKind::input) {
      onednn_at_[static_cast<std::size_t>(n.id)] = inputs_in_onednn && is_image(n);
      continue;
    }
    bool image = is_image(n), any = false, all = !n.inputs.empty(), same_shapes = true;
    for (NodeId p : n.inputs) {
      const bool on = onednn_at_[static_cast<std::size_t>(p)] != 0;
      any = any || on;
      all = all && on;
      same_shapes = same_shapes && graph_.node(p).out_shape == n.out_shape;
      image = image && graph_.node(p).dtype == DType::f32;
    }
    bool on = false;
    switch (n.kind) {
      case OpKind::conv2d:
        // Large enough to repay oneDNN's per-call set-up, or fed from oneDNN's layout already.
        on = builtin(n.id) && image && (n.macs >= k_small_conv_macs || any ||
                                        (n.attrs.groups > 1 && n.macs >= k_small_grouped_conv_macs));
        break;
      case OpKind::batch_norm2d:
        on = builtin(n.id) && image && all;
        break;
      case OpKind::relu:
      case OpKind::dropout:
        on = image && all;
        break;
      case OpKind::relu6:
      case OpKind::hardswish:
      case OpKind::hardsigmoid:
        // LibTorch 1.13's prim::MKLDNN* activations run ATen's kernel over
        // the blocked buffer, and get it wrong when oneDNN pads the channels
        // to its block (16 floats with AVX-512, 8 with AVX2): with 72 or 120
        // channels the output is garbage (tests/models/executor_test.cpp).
        on = image && all && n.out_shape[1] % k_onednn_channel_block == 0;
        break;
      case OpKind::max_pool2d:
      case OpKind::avg_pool2d:
        // oneDNN, converting a dense input unless it is small: LibTorch
        // 1.13's own CPU pooling on dense NCHW is an order of magnitude
        // slower (one thread, 3x3 stride 1, ceil_mode, 1x256x28x28: 4.2 ms
        // dense against 0.11 ms on oneDNN plus 0.04 ms to convert).
        // GoogLeNet's pools after each concat (dense) took a third of its
        // time before. Small inputs stay dense: the gain is microseconds, and
        // the small convolutions after them would follow onto oneDNN, whose
        // tiny kernels at two threads do not repeat bit for bit.
        on = image && (all || graph_.node(n.inputs.front()).output_bytes >= k_dense_pool_bytes);
        break;
      case OpKind::adaptive_avg_pool2d: {
        // A squeeze-and-excitation block's pool to a few values feeding
        // convolutions stays dense: those tiny convolutions would follow it
        // onto oneDNN, where they run 3-4x slower (mobilenet_v3_small's
        // 96->24 1x1 at 1x1: 13.2 us against 4.5), and the multiply that
        // applies the excitation reads the pooled tensor dense anyway,
        // sharing the one conversion. A classifier's global pool stays on
        // oneDNN: LibTorch's dense adaptive pool is the slower one there
        // (resnet18's 512x7x7, one thread: 40 us against 80-90).
        const Shape& in = graph_.node(n.inputs.front()).out_shape;
        bool feeds_only_convs = !graph_.consumers(n.id).empty();
        for (NodeId c : graph_.consumers(n.id)) {
          feeds_only_convs = feeds_only_convs && graph_.node(c).kind == OpKind::conv2d;
        }
        on = image && all && in[2] % n.attrs.out_h == 0 && in[3] % n.attrs.out_w == 0 &&
             !(n.output_bytes < k_tiny_onednn_bytes && feeds_only_convs);
        break;
      }
      case OpKind::add:
        on = image && any && same_shapes;
        break;
      default:
        break;
    }
    onednn_at_[static_cast<std::size_t>(n.id)] = on;
  }
}

void Executor::compute(NodeId id, std::vector<Value>& values, const RunContext& ctx) const {
  const Node& n = graph_.node(id);
  const auto i = static_cast<std::size_t>(id);
  const bool on = onednn_at_[i] != 0;
  Value& out = values[i];
  const auto input = [&](std::size_t k) -> Value& { return values[static_cast<std::size_t>(n.inputs.at(k))]; };
  const auto last_use = [&](std::size_t k) { return ctx.uses[static_cast<std::size_t>(n.inputs.at(k))] == 1; };
  // Input k in this node's layout (converted once when it has the other).
  const auto get = [&](std::size_t k) -> const at::Tensor& { return on ? input(k).as_onednn() : input(k).as_dense(); };
  // Input k when this node may overwrite it: its last reader, and the run owns it.
  const auto writable = [&](std::size_t k) {
    const Value& v = input(k);
    return last_use(k) && (on ? v.onednn.defined() && v.onednn_owned : v.dense.defined() && v.dense_owned);
  };
  const auto set = [&](at::Tensor t, bool owned) {
    Value v;
    (on ? v.onednn : v.dense) = std::move(t);
    (on ? v.onednn_owned : v.dense_owned) = owned;
    out = std::move(v);
  };
  const auto dense_inputs = [&] {
    std::vector<at::Tensor> ins;
    ins.reserve(n.inputs.size());
    for (std::size_t k = 0; k < n.inputs.size(); ++k) ins.push_back(input(k).as_dense());
    return ins;
  };
  // An imported node runs its own operator, except for kinds whose
  // attributes say all the operator does (the importer checked that).
  if (!kernels_.empty() && kernels_[i]) {
    switch (n.kind) {
      case OpKind::relu:
      case OpKind::relu6:
      case OpKind::hardswish:
      case OpKind::hardsigmoid:
      case OpKind::max_pool2d:
      case OpKind::avg_pool2d:
      case OpKind::adaptive_avg_pool2d:
      case OpKind::add:
      case OpKind::flatten:
        break;
      default:
        out.dense = kernels_[i]->run(dense_inputs());
        return;
    }
  }
  const auto& a = n.attrs;
  switch (n.kind) {
    case OpKind::conv2d: {
      const NodeId bn = folds_[i];
      const Prepared& prep = *prepared_[i];
      // The prepared weights have the batch norm folded in: usable only when
      // it runs in this call and nothing else reads the convolution itself.
      if (bn < 0 || (ctx.compute[static_cast<std::size_t>(bn)] && ctx.uses[i] == 1)) {
        set(on ? at::mkldnn_convolution(get(0), prep.onednn_weight, prep.onednn_bias, {a.pad_h, a.pad_w},
                                        {a.stride_h, a.stride_w}, {1, 1}, a.groups)
               : at::conv2d(get(0), prep.weight, prep.bias, {a.stride_h, a.stride_w}, {a.pad_h, a.pad_w}, {1, 1},
                            a.groups),
            true);
        return;
      }
      // The batch norm is on the other side of a cut: the convolution alone,
      // with its weights as stored.
      const auto& p = params_[i];
      const c10::optional<at::Tensor> bias = a.bias ? c10::optional<at::Tensor>(p.at(1)) : c10::nullopt;
      set(on ? at::mkldnn_convolution(get(0), p.at(0), bias, {a.pad_h, a.pad_w}, {a.stride_h, a.stride_w}, {1, 1},
                                      a.groups)
             : apply_op(n, {get(0)}, p),
          true);
      return;
    }
    case OpKind::batch_norm2d: {
      const NodeId conv = n.inputs.front();
      if (folds_[static_cast<std::size_t>(conv)] == id && ctx.compute[static_cast<std::size_t>(conv)] &&
          ctx.uses[static_cast<std::size_t>(conv)] == 1) {
        out = std::move(input(0));  // the convolution applied it already
        return;
      }
      const auto& p = params_[i];
      set(at::batch_norm(get(0), p.at(0), p.at(1), p.at(2), p.at(3), false, 0.0, a.eps, false), true);
      return;
    }
    case OpKind::relu:
    case OpKind::relu6:
    case OpKind::hardswish:
    case OpKind::hardsigmoid: {
      const at::Tensor& x = get(0);
      const bool in_place = writable(0);
      at::Tensor y;
      if (n.kind == OpKind::relu) {
        y = in_place ? at::relu_(on ? input(0).onednn : input(0).dense) : at::relu(x);
      } else if (on) {
        y = onednn_activation(n.kind, in_place)(x);
      } else if (n.kind == OpKind::relu6) {
        y = in_place ? at::hardtanh_(input(0).dense, 0.0, 6.0) : at::hardtanh(x, 0.0, 6.0);
      } else if (n.kind == OpKind::hardswish) {
        y = in_place ? at::hardswish_(input(0).dense) : at::hardswish(x);
      } else {
        y = in_place ? at::hardsigmoid_(input(0).dense) : at::hardsigmoid(x);
      }
      if (in_place) input(0) = Value{};  // its other layout, if any, is stale now
      set(std::move(y), true);
      return;
    }
    case OpKind::max_pool2d:
    case OpKind::avg_pool2d:
    case OpKind::adaptive_avg_pool2d:
      set(apply_op(n, {get(0)}, {}), true);
      return;
    case OpKind::add: {
      // Accumulate into an input this node may overwrite, if there is one of
      // the output's shape and type that no other argument of this node is.
      for (std::size_t k = 0; k < n.inputs.size(); ++k) get(k);
      std::size_t acc = n.inputs.size();
      for (std::size_t k = 0; k < n.inputs.size() && acc == n.inputs.size(); ++k) {
        const Node& p = graph_.node(n.inputs[k]);
        bool repeated = false;
        for (std::size_t j = 0; j < n.inputs.size(); ++j) repeated = repeated || (j != k && n.inputs[j] == n.inputs[k]);
        if (writable(k) && p.out_shape == n.out_shape && p.dtype == n.dtype && !repeated) acc = k;
      }
      at::Tensor y;
      if (acc < n.inputs.size()) {
        y = get(acc);
        for (std::size_t k = 0; k < n.inputs.size(); ++k) {
          if (k != acc) y.add_(get(k));
        }
        input(acc) = Value{};
      } else {
        y = at::add(get(0), get(1));
        for (std::size_t k = 2; k < n.inputs.size(); ++k) y.add_(get(k));
      }
      set(std::move(y), true);
      return;
    }
    case OpKind::dropout:
      // Inference: the identity. The value is handed on, or shared when others read it too.
      if (last_use(0)) {
        out = std::move(input(0));
      } else {
        out = input(0);
        out.dense_owned = out.onednn_owned = false;
      }
      return;
    case OpKind::linear: {
      const at::Tensor& x = get(0);
      const auto& p = params_[i];
      if (x.dim() == 2 && x.size(0) == 1) {
        // One row: a matrix-vector product. BLAS's gemv streams the weights
        // once; the gemm at::linear ends in is several times slower at M = 1
        // (measured: 9216->4096, 71 ms through at::linear, 20 ms through addmv).
        const at::Tensor v = x.select(0, 0);
        std::optional<OneThread> one;
        if (p.at(0).numel() < k_parallel_gemv_elements) one.emplace();
        set((a.bias ? at::addmv(p.at(1), p.at(0), v) : at::mv(p.at(0), v)).unsqueeze(0), true);
      } else {
        set(apply_op(n, {x}, p), true);
      }
      return;
    }
    case OpKind::concat:
      set(at::cat(dense_inputs(), a.concat_dim), true);
      return;
    default:
      // Views (flatten, reshape, permute) and the rest: the plain op, owning nothing.
      set(apply_op(n, dense_inputs(), params_[i]), false);
      return;
  }
}

}  // namespace tandem::detail

namespace tandem {

std::string process_allocator() {
  const detail::Mallctl mallctl = detail::jemalloc_mallctl();
  if (!mallctl) return "glibc malloc";
  const char* version = nullptr;
  std::size_t size = sizeof version;
  if (mallctl("version", &version, &size, nullptr, 0) == 0 && version) return std::string("jemalloc ") + version;
  return "jemalloc";
}

}  // namespace tandem
