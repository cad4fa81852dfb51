#pragma once
// Internal: the executor's optimised path (docs/design.md §3, §10).
//
// The graph and its cuts are untouched; what changes is how a run computes
// its nodes:
//  * a batch norm that follows a convolution is folded into the
//    convolution's weights at load (models/fusion.hpp) and costs nothing when
//    both run in one call;
//  * convolutions run on oneDNN with weights reordered once, at load, into
//    the blocked layout oneDNN wants for them, and their outputs stay in
//    oneDNN's layout (at::kMkldnn) through the nodes that can take it (ReLU,
//    ReLU6, pools, add, batch norm, flatten); a tensor is converted to a
//    dense one only where it leaves that region: a crossing tensor, an
//    output, or a node that needs dense input;
//  * ReLU, ReLU6 and add overwrite an input in place when this run made it
//    and nothing else reads it, so a run allocates about one tensor per
//    convolution.
// RunOptions::plain bypasses all of it (one LibTorch call per node on dense
// tensors), which is what the tests compare the optimised path against.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>

#include "models/graph.hpp"

namespace tandem {
class NodeKernel;
struct ExecOptions;
}

namespace tandem::detail {

/// A node's output during one run, in the layouts it has been asked for.
struct Value {
  at::Tensor dense;   // strided: what callers, crossing tensors and kernels see
  at::Tensor onednn;  // oneDNN's layout (at::kMkldnn)
  // This run allocated the tensor and nothing else refers to it, so the last
  // node to read it may overwrite it.
  bool dense_owned = false;
  bool onednn_owned = false;

  bool defined() const { return dense.defined() || onednn.defined(); }
  /// The dense form, converted (once) when the value only has oneDNN's.
  const at::Tensor& as_dense();
  /// oneDNN's form, converted (once) from the dense one.
  const at::Tensor& as_onednn();
};

/// What one run tells the executor besides the values.
struct RunContext {
  const std::vector<bool>& compute;  // nodes computed in this run
  const std::vector<int>& uses;      // remaining reads of each value (outputs wanted count as one)
};

class Executor {
 public:
  /// Prepares `graph`'s convolutions and linear layers from `params` (by node
  /// id, in apply_op's order); `kernels` empty or one per node (null: the
  /// kind's built-in op). Throws c10::Error from LibTorch.
  Executor(const GraphDesc& graph, const std::vector<std::vector<at::Tensor>>& params,
           const std::vector<std::shared_ptr<const NodeKernel>>& kernels, const ExecOptions& options);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  /// Computes node `id` into values[id] from its inputs' values, which are
  /// defined. May take over an input (in place, or by passing it through)
  /// when ctx.uses says this node is its last reader and the run owns it.
  /// Throws c10::Error from LibTorch. Safe to call from several threads for
  /// different runs.
  void compute(NodeId id, std::vector<Value>& values, const RunContext& ctx) const;

  /// True when node `id` computes on oneDNN's layout (fixed at load).
  bool onednn_at(NodeId id) const { return onednn_at_.at(static_cast<std::size_t>(id)) != 0; }

  /// Gives a tensor the caller supplied for node `id` (defined in `v`) the
  /// form its readers compute on, before the run's first node: oneDNN's when
  /// `onednn_reader`. With ExecOptions::inputs_in_onednn an image input is
  /// instead left as a convolution inside a network leaves its output: only
  /// in oneDNN's blocked format (through an identity depthwise convolution;
  /// exact, x * 1 + 0), so a layer that computes on it finds it as it would
  /// in context (a plain to_mkldnn tensor makes a depthwise convolution
  /// reorder it on every call: 1.4x slower measured, 96x112x112 3x3), and a
  /// layer that needs dense input (concat, flatten) converts it in its own
  /// time, as it does after a convolution.
  void prepare_supplied(NodeId id, Value& v, bool onednn_reader) const;

 private:
  struct Prepared;
  void plan_layouts(const std::function<bool(NodeId)>& builtin, bool inputs_in_onednn);

  GraphDesc graph_;
  std::vector<std::shared_ptr<const NodeKernel>> kernels_;
  std::vector<std::vector<at::Tensor>> params_;
  std::vector<std::unique_ptr<Prepared>> prepared_;  // by node id; null when nothing is prepared
  std::vector<NodeId> folds_;  // by conv id: the batch norm folded into it, or -1
  bool onednn_ = false;        // LibTorch was built with oneDNN
  std::vector<char> onednn_at_;  // by node id: computes on oneDNN's layout
  // inputs_in_onednn: by node id, for image input nodes, the identity
  // depthwise convolution's weights (oneDNN, reordered) and zero bias.
  std::vector<std::pair<at::Tensor, at::Tensor>> identity_;
};

}  // namespace tandem::detail
