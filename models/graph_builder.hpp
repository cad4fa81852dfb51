#pragma once
// Builds a graph description layer by layer, inferring every node's output
// shape from its kind and attributes as it is added — no LibTorch, no
// weights. The zoo (zoo.hpp) and the profiler's one-layer models are built
// with it; models/model.hpp pairs a description with weights.

#include <string>
#include <vector>

#include "models/graph.hpp"

namespace tandem {

/// The output shape of a node of `kind` with `attrs` on inputs of `input_shapes`
/// (batch dimension included), as LibTorch computes it. Throws
/// std::invalid_argument naming the problem when the inputs do not fit the
/// layer (wrong rank, channel mismatch, a kernel larger than its padded input,
/// joins of different shapes). Supports every kind a GraphBuilder adds.
Shape infer_shape(OpKind kind, const LayerAttrs& attrs, const std::vector<Shape>& input_shapes);

class GraphBuilder {
 public:
  GraphBuilder(std::string model_name, Shape input_shape);

  NodeId input() const { return 0; }
  NodeId conv(NodeId in, const std::string& name, std::int64_t cin, std::int64_t cout,
              std::int64_t kernel, std::int64_t stride = 1, std::int64_t pad = 0,
              std::int64_t groups = 1, bool bias = true);
  NodeId batch_norm(NodeId in, const std::string& name, std::int64_t channels, double eps = 1e-5);
  NodeId relu(NodeId in, const std::string& name);
  NodeId relu6(NodeId in, const std::string& name);
  NodeId max_pool(NodeId in, const std::string& name, std::int64_t kernel, std::int64_t stride,
                  std::int64_t pad = 0, bool ceil_mode = false);
  NodeId avg_pool(NodeId in, const std::string& name, std::int64_t kernel, std::int64_t stride,
                  std::int64_t pad = 0);
  NodeId adaptive_avg_pool(NodeId in, const std::string& name, std::int64_t out_h,
                           std::int64_t out_w);
  NodeId linear(NodeId in, const std::string& name, std::int64_t in_features,
                std::int64_t out_features, bool bias = true);
  NodeId flatten(NodeId in, const std::string& name);
  NodeId dropout(NodeId in, const std::string& name);
  NodeId softmax(NodeId in, const std::string& name);
  NodeId add(const std::vector<NodeId>& ins, const std::string& name);
  NodeId concat(const std::vector<NodeId>& ins, const std::string& name);

  /// Adds a node of any kind with explicit attributes. Throws
  /// std::invalid_argument (naming the node) when its inputs do not fit.
  NodeId layer(OpKind kind, const std::string& name, const std::vector<NodeId>& ins,
               const LayerAttrs& attrs);

  /// The finished description, cost features computed.
  GraphDesc finish() const;

 private:
  std::string model_name_;
  std::vector<Node> nodes_;
};

/// The zoo's architectures as graph descriptions (no weights; milliseconds).
/// Throws std::invalid_argument for an unknown name, listing the known ones.
GraphDesc zoo_graph(const std::string& name);

/// Names of the zoo models, in a stable order.
const std::vector<std::string>& zoo_names();

/// True when `name` is a zoo model.
bool is_zoo_model(const std::string& name);

}  // namespace tandem
