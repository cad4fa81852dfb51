#pragma once
// Graph IR: topology, shapes and cost features of a model, without LibTorch.
//
// A model is a DAG of nodes stored in topological order (node id == index).
// The first nodes are its inputs (OpKind::input; one for most models, more
// for a model that takes several tensors); they live on the edge. The
// optimisers, the predictor and the wire layer only ever see this
// description; the torch-side `Model` (model.hpp) pairs it with weights and
// callables. docs/design.md §3.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tandem {

using NodeId = int;
using Shape = std::vector<std::int64_t>;

enum class OpKind {
  input,
  conv2d,
  linear,
  max_pool2d,
  avg_pool2d,
  adaptive_avg_pool2d,
  batch_norm2d,
  relu,
  relu6,
  add,
  concat,
  flatten,
  dropout,
  softmax,
  local_response_norm,
  // Kinds TorchScript import maps operators to (docs/design.md §11); the zoo
  // does not use them, the layer sweep profiles them.
  hardswish,
  hardsigmoid,
  silu,
  sigmoid,
  gelu,
  tanh,
  mul,          // elementwise product of two or more tensors (broadcasting)
  mean,         // mean over `dims`
  reshape,      // view / reshape / flatten other than from dim 1: output shape only
  permute,      // transpose / permute: dims order in `dims`
  contiguous,   // a dense copy of a strided tensor
  matmul,       // batched matrix product of two tensors
  generic,      // any other operator, run as it is (`op`); byte features only
};

/// Element type of a node's output. Models compute in f32; imported graphs may
/// carry integer or boolean tensors (indices, masks) between nodes.
enum class DType { f32, f16, i64, i32, u8, boolean };

/// Stable lowercase name of a kind ("conv2d", "max_pool2d", ...).
std::string_view to_string(OpKind kind);
/// Parses a kind name; std::nullopt when unknown.
std::optional<OpKind> op_kind_from_string(std::string_view name);
/// All kinds, in declaration order.
const std::vector<OpKind>& all_op_kinds();
std::string_view to_string(DType dtype);
/// Parses a dtype name ("f32", "i64", "bool", ...); std::nullopt when unknown.
std::optional<DType> dtype_from_string(std::string_view name);
/// Bytes per element of a dtype.
std::int64_t dtype_size(DType dtype);

/// The executor's slowdown stretch (RunOptions::slowdown in model.hpp, one
/// wait after each run) spins through an extra wait of up to this many ms and
/// sleeps only through longer ones: a woken thread pays a variable wake-up
/// cost that short runs would magnify. Shared with the predictor, which
/// models what a sleep costs, and the simulator, which models the cores.
inline constexpr double k_stretch_spin_ms = 2.0;

/// Kind-specific attributes. Fields that do not apply to a kind stay 0.
struct LayerAttrs {
  std::int64_t in_channels = 0;
  std::int64_t out_channels = 0;
  std::int64_t kernel_h = 0, kernel_w = 0;
  std::int64_t stride_h = 0, stride_w = 0;
  std::int64_t pad_h = 0, pad_w = 0;
  std::int64_t groups = 0;
  std::int64_t in_features = 0, out_features = 0;  // linear
  bool bias = false;                               // conv2d, linear
  bool ceil_mode = false;                          // pools
  double eps = 0.0;                                // batch_norm2d
  std::int64_t concat_dim = 0;                     // concat
  std::int64_t lrn_size = 0;                       // local_response_norm
  std::int64_t out_h = 0, out_w = 0;               // adaptive_avg_pool2d target size
  std::int64_t dim = 0;                            // softmax
  std::vector<std::int64_t> dims;                  // mean, permute
  bool keepdim = false;                            // mean
  std::string op;                                  // imported nodes: the operator ("aten::conv2d")
  std::int64_t const_bytes = 0;                    // imported nodes: constant tensors read besides a
                                                   // kind's own parameters (counted in param_bytes)
  friend bool operator==(const LayerAttrs&, const LayerAttrs&) = default;
};

/// One layer or op of the graph.
struct Node {
  NodeId id = 0;
  std::string name;  // unique within the graph, e.g. "layer1.0.conv1"
  OpKind kind = OpKind::input;
  std::vector<NodeId> inputs;  // producers, in argument order
  Shape out_shape;             // from the dry run, batch dimension included
  DType dtype = DType::f32;
  LayerAttrs attrs;
  // Cost features, filled by compute_features().
  double macs = 0;                 // multiply-accumulates (0 for non-arithmetic ops)
  double flops = 0;                // floating-point ops (2 per MAC, 1 per elementwise op)
  std::int64_t input_bytes = 0;    // sum over inputs of their output bytes
  std::int64_t output_bytes = 0;   // bytes of this node's output tensor
  std::int64_t param_bytes = 0;    // bytes of learnable parameters and buffers
  std::int64_t param_count = 0;    // learnable parameters (torchvision convention: no BN buffers)

  /// Number of elements of the output tensor.
  std::int64_t out_numel() const;
};

/// Immutable description of a model graph. Cheap to copy; thread-safe to read.
class GraphDesc {
 public:
  GraphDesc() = default;
  /// Validates topology (ids == index, the inputs come first and nothing else
  /// is an input, every other node has producers that are earlier nodes,
  /// every input is used, unique names). Throws std::invalid_argument naming
  /// the offending node.
  GraphDesc(std::string name, std::vector<Node> nodes);

  const std::string& name() const { return name_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  const Node& node(NodeId id) const { return nodes_.at(static_cast<std::size_t>(id)); }
  std::size_t size() const { return nodes_.size(); }
  /// Consumers of each node, ascending.
  const std::vector<NodeId>& consumers(NodeId id) const {
    return consumers_.at(static_cast<std::size_t>(id));
  }
  /// Nodes without consumers: the model's outputs, ascending.
  const std::vector<NodeId>& sinks() const { return sinks_; }
  /// Number of producer→consumer edges.
  std::size_t edge_count() const { return edge_count_; }
  /// True when every node has at most one input and one consumer.
  bool is_chain() const { return is_chain_; }
  /// Node id by name; throws std::out_of_range naming the missing node.
  NodeId find(std::string_view node_name) const;
  /// Sum of param_count over nodes.
  std::int64_t param_count() const;
  /// Sum of flops over nodes.
  double flops() const;
  /// Number of input nodes (nodes 0 .. input_count()-1).
  std::size_t input_count() const { return input_count_; }
  /// True for an input node.
  bool is_input(NodeId id) const { return id >= 0 && static_cast<std::size_t>(id) < input_count_; }
  /// The first input's shape (the only one for most models).
  const Shape& input_shape() const { return nodes_.front().out_shape; }
  /// Every input's shape, in input order.
  std::vector<Shape> input_shapes() const;

 private:
  std::string name_;
  std::vector<Node> nodes_;
  std::vector<std::vector<NodeId>> consumers_;
  std::vector<NodeId> sinks_;
  std::size_t edge_count_ = 0;
  std::size_t input_count_ = 1;
  bool is_chain_ = true;
};

/// Fills macs, flops, input/output/param bytes and param_count of every node
/// from kinds, attributes and output shapes. Throws std::invalid_argument when
/// a node's attributes or shapes are inconsistent with its kind.
void compute_features(std::vector<Node>& nodes);

/// "1x3x224x224".
std::string shape_string(const Shape& shape);

/// JSON round trip of a graph description (used by `tandem models --show --json`
/// and by tools that plan without loading LibTorch).
nlohmann::json to_json(const GraphDesc& graph);
GraphDesc graph_from_json(const nlohmann::json& j);

}  // namespace tandem
