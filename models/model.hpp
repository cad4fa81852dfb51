#pragma once
// A loaded model: graph description + weights + the executor that runs the
// whole graph or either side of a cut.
//
// A Model is immutable once built and may be run from several threads at
// once (all per-run state lives on the caller's stack). Intra-op thread count
// is LibTorch's process-wide setting (at::set_num_threads), chosen by the
// daemon or tool at start-up.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "models/cut.hpp"
#include "models/graph.hpp"
#include "models/graph_builder.hpp"

namespace tandem {

namespace detail {
class Executor;
}

/// Tensors keyed by the node that produced them.
using TensorMap = std::map<NodeId, at::Tensor>;

/// Raised by the executor; names the model and node that failed.
class ExecError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Per-run options. Default: plain execution.
struct RunOptions {
  /// Stretch the run's compute time by this factor (>= 1) to emulate a
  /// slower device: nodes run back to back for a total t, then the executor
  /// waits (F-1)*t before it returns. One wait per run, not one per node: on
  /// this VM a node that starts right after a sleep computes 5-10% slower
  /// (more when the host is busy), an artefact of the emulation that no
  /// profile can hold still (docs/design.md §7).
  double slowdown = 1.0;
  /// Called after each node with its compute time in ms times the slowdown
  /// (what the node takes on the emulated device).
  /// A node computed inside another's call (a batch norm folded into its
  /// convolution, models/fusion.hpp) reports the little time it took.
  std::function<void(NodeId, double)> on_node;
  /// Run every node on its own through its kind's LibTorch call on dense
  /// tensors, with the parameters as stored: the reference the optimised
  /// path (models/executor.hpp) is tested against. Slower.
  bool plain = false;
};

/// How the executor plans a model's layouts (models/executor.hpp).
struct ExecOptions {
  /// Plan as if the 4-D f32 inputs came from a node computing on oneDNN's
  /// layout, as a layer inside a network finds its input; a run converts
  /// such inputs, into the blocked format a convolution writes, before its
  /// first node, outside any node's time. For the profiler's one-layer
  /// models (build_layer_model).
  bool inputs_in_onednn = false;
};

/// How one node computes when its kind's built-in op does not say it all: an
/// imported TorchScript operator with its constant arguments
/// (models/torchscript.hpp). Immutable; run() may be called from several
/// threads at once.
class NodeKernel {
 public:
  virtual ~NodeKernel() = default;
  /// The node's output from its inputs (in the node's input order). Throws
  /// c10::Error from LibTorch.
  virtual at::Tensor run(const std::vector<at::Tensor>& inputs) const = 0;
  /// Folds what the kernel computes (operator, constant arguments, which
  /// output it keeps) into the 64-bit hash `h`.
  virtual std::uint64_t fingerprint(std::uint64_t h) const = 0;
};

/// One learnable parameter or buffer of a node.
struct Param {
  NodeId node = 0;
  std::string name;  // "<node name>.<weight|bias|running_mean|running_var>"
  at::Tensor value;  // contiguous f32
};

class Model {
 public:
  /// Use build_model(), make_model() or import_torchscript(). `kernels`, when
  /// given, has one entry per node: null runs the kind's built-in op with the
  /// node's params, anything else runs the kernel. `keep_alive` holds what
  /// the kernels point into (an imported module's graph). Prepares the
  /// optimised path (folded and reordered weights); throws c10::Error when
  /// LibTorch rejects a parameter.
  Model(GraphDesc graph, std::vector<Param> params,
        std::vector<std::shared_ptr<const NodeKernel>> kernels = {},
        std::shared_ptr<const void> keep_alive = {}, ExecOptions exec = {});

  const GraphDesc& graph() const { return graph_; }
  const std::string& name() const { return graph_.name(); }
  /// 64-bit fingerprint of all parameters (names, shapes and bytes) and, for
  /// a model with kernels, of its graph and every kernel's constants.
  std::uint64_t fingerprint() const { return fingerprint_; }
  const std::vector<Param>& params() const { return params_; }

  /// Deterministic random inputs, one per input node, for `seed` (uniform in
  /// [0, 1), bitwise the same on every machine).
  std::vector<at::Tensor> make_inputs(std::uint64_t seed) const;
  /// The first of make_inputs(seed) (the only one for most models).
  at::Tensor make_input(std::uint64_t seed) const;

  /// Runs the whole graph on one tensor per input node; returns the outputs
  /// keyed by sink id. Throws ExecError (wrong number or shape of inputs, or
  /// a node failing).
  TensorMap run(const std::vector<at::Tensor>& inputs, const RunOptions& options = {}) const;
  /// run() of a single-input model.
  TensorMap run(const at::Tensor& input, const RunOptions& options = {}) const;

  /// Runs the edge side of `cut` from the inputs. Returns the crossing tensors
  /// and the outputs of sinks on the edge, keyed by producer.
  /// Throws std::invalid_argument for an invalid cut, ExecError otherwise.
  TensorMap run_edge(const Cut& cut, const std::vector<at::Tensor>& inputs,
                     const RunOptions& options = {}) const;
  /// run_edge() of a single-input model.
  TensorMap run_edge(const Cut& cut, const at::Tensor& input, const RunOptions& options = {}) const;

  /// Runs the cloud side of `cut` from the crossing tensors (extra entries are
  /// ignored). Returns the outputs of the sinks in the cloud.
  /// Throws ExecError when a crossing tensor is missing or has the wrong shape.
  TensorMap run_cloud(const Cut& cut, const TensorMap& crossing,
                      const RunOptions& options = {}) const;

  /// General form: computes the nodes marked in `compute` from `available`
  /// tensors and returns those listed in `wanted`. Every input of a computed
  /// node must be computed or available.
  TensorMap run_nodes(const std::vector<bool>& compute, const TensorMap& available,
                      const std::vector<NodeId>& wanted, const RunOptions& options = {}) const;

  /// Runs one node on explicit inputs (for the profiler). Throws ExecError.
  at::Tensor run_node(NodeId id, const std::vector<at::Tensor>& inputs) const;

  /// Writes all parameters to `path` (format in weights.cpp). Throws
  /// std::runtime_error naming the path on I/O failure.
  void save_weights(const std::filesystem::path& path) const;

 private:
  GraphDesc graph_;
  std::vector<Param> params_;
  std::vector<std::vector<at::Tensor>> node_params_;  // by node id
  std::vector<std::shared_ptr<const NodeKernel>> kernels_;  // empty, or by node id
  std::shared_ptr<const void> keep_alive_;
  std::uint64_t fingerprint_ = 0;
  std::shared_ptr<const detail::Executor> executor_;  // the optimised path, prepared at construction
};

/// Where weights come from.
struct WeightSource {
  std::uint64_t seed = 0;        // used when `file` is empty
  std::filesystem::path file;    // a file written by Model::save_weights
};

/// Pairs a graph description with weights from `source`: seeded per node
/// (param_specs of each kind) or read from a weights file written for a graph
/// of the same name. Throws std::runtime_error for a weights file that is
/// missing, corrupt or for another model.
std::shared_ptr<const Model> make_model(GraphDesc graph, const WeightSource& source = {},
                                       ExecOptions exec = {});

/// Builds a zoo model (zoo_graph) with weights from `source`. Throws std::invalid_argument
/// for an unknown name (listing the known ones) and std::runtime_error for a
/// weights file that is missing, corrupt or for another model.
std::shared_ptr<const Model> build_model(const std::string& name, const WeightSource& source = {});

/// Writes one f32 tensor to `path` ("TNDMTNS1", u8 rank, i64 dims, data).
/// Throws std::runtime_error naming the path.
void save_tensor(const std::filesystem::path& path, const at::Tensor& tensor);
/// Writes several f32 tensors (a multi-input model's inputs) to `path`:
/// "TNDMTNS2", u8 count, then each tensor as rank, dims, data.
void save_tensors(const std::filesystem::path& path, const std::vector<at::Tensor>& tensors);
/// Reads a file of save_tensor or save_tensors, with load_tensor's checks;
/// `expected` (when given) is the shape of each tensor in order.
std::vector<at::Tensor> load_tensors(const std::filesystem::path& path,
                                     const std::vector<Shape>* expected = nullptr);
/// Reads a file written by save_tensor. Opens without blocking (a FIFO or a
/// device is refused, never waited on), requires a regular file, and checks
/// the header — and the shape against `expected` when given — before reading
/// or allocating the body. Throws std::runtime_error naming the path and the
/// problem (missing, not a regular file, bad magic, wrong shape, truncated,
/// trailing bytes, oversized).
at::Tensor load_tensor(const std::filesystem::path& path, const Shape* expected = nullptr);

/// Loaded models by name.
using ModelSet = std::map<std::string, std::shared_ptr<const Model>>;

/// Loads each named zoo model ("all" or an empty list: the whole zoo): from
/// `weights_dir/<name>.tw` when `weights_dir` is set (the file must exist),
/// else seeded with `seed`. Throws like build_model, naming the model.
ModelSet load_models(const std::vector<std::string>& names, std::uint64_t seed,
                     const std::filesystem::path& weights_dir = {});

/// A one-layer model for profiling: input (of `input_shape`) -> one node of
/// `kind` with `attrs`, taking the input `arity` times (2+ for add/concat).
/// Weights are seeded. The layer runs as it would inside a network: a 4-D
/// input arrives in the layout the executor keeps between layers
/// (ExecOptions::inputs_in_onednn). Throws std::invalid_argument when the layer does not
/// accept that input (the message names kind and shape).
std::shared_ptr<const Model> build_layer_model(OpKind kind, const LayerAttrs& attrs,
                                               const Shape& input_shape, int arity = 1,
                                               std::uint64_t seed = 0);

/// Operators the profiler's sweep times as `generic` nodes (anything the
/// importer does not map): each is one ATen call on one input.
const std::vector<std::string>& generic_sweep_ops();
/// A one-layer model whose node is `generic`, running `op` (one of
/// generic_sweep_ops()) on an input of `input_shape`. Throws
/// std::invalid_argument for another op or an input it does not accept.
std::shared_ptr<const Model> build_generic_layer_model(const std::string& op, const Shape& input_shape);

/// 64-bit fingerprint of a parameter list (order, names, shapes and values).
std::uint64_t fingerprint_params(const std::vector<Param>& params);
/// Folds `graph`'s structure (names, kinds, inputs, shapes, attributes) into `h`.
std::uint64_t fingerprint_graph(const GraphDesc& graph, std::uint64_t h);
/// Folds `size` bytes into `h` (FNV-1a over 64-bit words; any changed word
/// changes the result). For kernels' fingerprints.
std::uint64_t fingerprint_bytes(std::uint64_t h, const void* data, std::size_t size);

/// The allocator this process runs on: "jemalloc <version>" when tandem was
/// built with it (TANDEM_JEMALLOC, the default) or it is preloaded, else
/// "glibc malloc". Timings depend on it; profiles record it.
std::string process_allocator();

}  // namespace tandem
