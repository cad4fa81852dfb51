#pragma once
// Internal: the parameters a graph's nodes own, their seeded initialisation,
// and the weights file reader.

#include <filesystem>
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

/// The parameters a node of a zoo-style graph owns, in the order the executor
/// passes them to its op: conv2d and linear weight (+ bias), batch norm
/// weight, bias, running mean and variance; none for other kinds.
std::vector<ParamSpec> param_specs(const Node& node);

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
