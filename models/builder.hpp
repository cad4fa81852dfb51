#pragma once
// Internal: assembles a zoo model layer by layer, then initialises weights,
// runs one dry run to find shapes and computes cost features.

#include <memory>
#include <string>
#include <vector>

#include "models/graph.hpp"
#include "models/model.hpp"

namespace tandem::detail {

/// How a parameter is initialised from the seed.
enum class Init {
  he_uniform,    // U(-sqrt(6/fan_in), +sqrt(6/fan_in)): keeps activations O(1) under ReLU
  fan_uniform,   // U(-1/sqrt(fan_in), +1/sqrt(fan_in)): biases
  bn_scale,      // U(0.5, 1.5)
  bn_shift,      // U(-0.1, 0.1)
  bn_var,        // U(0.5, 1.5)
};

struct ParamSpec {
  std::string suffix;  // "weight", "bias", "running_mean", "running_var"
  Shape shape;
  Init init;
  double fan_in;
};

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

  /// Adds a node of any kind with explicit attributes; parameters follow the
  /// kind (conv2d, linear, batch_norm2d), as the typed helpers declare them.
  NodeId layer(OpKind kind, const std::string& name, const std::vector<NodeId>& ins,
               const LayerAttrs& attrs);

  /// Initialises weights, dry-runs for shapes, and returns the model.
  std::shared_ptr<const Model> finish(const WeightSource& source);

 private:
  NodeId add_node(OpKind kind, const std::string& name, std::vector<NodeId> inputs,
                  LayerAttrs attrs, std::vector<ParamSpec> params = {});

  std::string model_name_;
  std::vector<Node> nodes_;
  std::vector<std::vector<ParamSpec>> specs_;
};

/// Deterministic, platform-independent initialisation of one parameter.
at::Tensor init_param(const ParamSpec& spec, const std::string& full_name, std::uint64_t seed);

/// Reads a weights file; throws std::runtime_error naming the path and problem.
struct WeightsFile {
  std::string model;
  std::uint64_t fingerprint = 0;
  std::vector<std::pair<std::string, at::Tensor>> tensors;
};
WeightsFile read_weights_file(const std::filesystem::path& path);

}  // namespace tandem::detail
