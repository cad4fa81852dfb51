// Models with weights: a graph description (the zoo's, or a one-layer
// profiling graph) paired with seeded or loaded parameters.

#include <algorithm>
#include <functional>
#include <stdexcept>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "models/graph_builder.hpp"
#include "models/model.hpp"
#include "models/weights.hpp"

namespace tandem {

namespace detail {

std::vector<ParamSpec> param_specs(const Node& n) {
  const auto& a = n.attrs;
  switch (n.kind) {
    case OpKind::conv2d: {
      const double fan_in = static_cast<double>(a.in_channels / a.groups * a.kernel_h * a.kernel_w);
      std::vector<ParamSpec> p{
          {"weight", {a.out_channels, a.in_channels / a.groups, a.kernel_h, a.kernel_w}, Init::he_uniform, fan_in}};
      if (a.bias) p.push_back({"bias", {a.out_channels}, Init::fan_uniform, fan_in});
      return p;
    }
    case OpKind::linear: {
      const auto fan_in = static_cast<double>(a.in_features);
      std::vector<ParamSpec> p{{"weight", {a.out_features, a.in_features}, Init::he_uniform, fan_in}};
      if (a.bias) p.push_back({"bias", {a.out_features}, Init::fan_uniform, fan_in});
      return p;
    }
    case OpKind::batch_norm2d:
      return {{"weight", {a.in_channels}, Init::bn_scale, 1},
              {"bias", {a.in_channels}, Init::bn_shift, 1},
              {"running_mean", {a.in_channels}, Init::bn_shift, 1},
              {"running_var", {a.in_channels}, Init::bn_var, 1}};
    default:
      return {};
  }
}

}  // namespace detail

std::shared_ptr<const Model> make_model(GraphDesc graph, const WeightSource& source, ExecOptions exec) {
  using detail::ParamSpec;
  std::vector<Param> params;
  for (const Node& n : graph.nodes()) {
    for (const ParamSpec& spec : detail::param_specs(n)) {
      const std::string full = fmt::format("{}.{}", n.name, spec.suffix);
      at::Tensor value = source.file.empty() ? detail::init_param(spec, full, source.seed)
                                             : at::empty(spec.shape, at::kFloat);
      params.push_back({n.id, full, std::move(value)});
    }
  }
  if (!source.file.empty()) {
    detail::WeightsFile file = detail::read_weights_file(source.file);
    if (file.model != graph.name()) {
      throw std::runtime_error(fmt::format("weights file {} is for model '{}', not '{}'",
                                           source.file.string(), file.model, graph.name()));
    }
    if (file.tensors.size() != params.size()) {
      throw std::runtime_error(fmt::format("weights file {} has {} tensors; '{}' needs {}",
                                           source.file.string(), file.tensors.size(), graph.name(),
                                           params.size()));
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      auto& [name, tensor] = file.tensors[i];
      if (name != params[i].name || tensor.sizes() != params[i].value.sizes()) {
        throw std::runtime_error(fmt::format(
            "weights file {}: tensor {} is '{}' {}, expected '{}' {}", source.file.string(), i,
            name, shape_string(Shape(tensor.sizes().begin(), tensor.sizes().end())),
            params[i].name,
            shape_string(Shape(params[i].value.sizes().begin(), params[i].value.sizes().end()))));
      }
      params[i].value = std::move(tensor);
    }
  }
  return std::make_shared<const Model>(std::move(graph), std::move(params), std::vector<std::shared_ptr<const NodeKernel>>{},
                                       nullptr, exec);
}

std::shared_ptr<const Model> build_model(const std::string& name, const WeightSource& source) {
  return make_model(zoo_graph(name), source);
}

ModelSet load_models(const std::vector<std::string>& names, std::uint64_t seed,
                     const std::filesystem::path& weights_dir) {
  std::vector<std::string> wanted = names;
  if (wanted.empty() || (wanted.size() == 1 && wanted.front() == "all")) wanted = zoo_names();
  ModelSet out;
  for (const auto& name : wanted) {
    WeightSource source{.seed = seed};
    if (!weights_dir.empty()) source.file = weights_dir / (name + ".tw");
    out.emplace(name, build_model(name, source));
  }
  return out;
}

std::shared_ptr<const Model> build_layer_model(OpKind kind, const LayerAttrs& attrs,
                                               const Shape& input_shape, int arity,
                                               std::uint64_t seed) {
  const auto fail = [&](const std::string& why) {
    return std::invalid_argument(
        fmt::format("{} on input {}: {}", to_string(kind), shape_string(input_shape), why));
  };
  GraphBuilder b(fmt::format("layer_{}", to_string(kind)), input_shape);
  try {
    b.layer(kind, "layer", std::vector<NodeId>(static_cast<std::size_t>(std::max(arity, 1)), 0), attrs);
  } catch (const std::invalid_argument& e) {
    throw fail(e.what());
  }
  auto model = make_model(b.finish(), {.seed = seed}, {.inputs_in_onednn = true});
  // One real run: LibTorch is the judge of whether the layer accepts its input.
  try {
    model->run(model->make_input(seed));
  } catch (const ExecError& e) {
    throw fail(e.what());
  }
  return model;
}

namespace {

// A generic node's kernel for the sweep: one ATen call.
class SweepKernel final : public NodeKernel {
 public:
  SweepKernel(std::string op, std::function<at::Tensor(const at::Tensor&)> fn) : op_(std::move(op)), fn_(std::move(fn)) {}
  at::Tensor run(const std::vector<at::Tensor>& inputs) const override { return fn_(inputs.at(0)); }
  std::uint64_t fingerprint(std::uint64_t h) const override { return fingerprint_bytes(h, op_.data(), op_.size()); }

 private:
  std::string op_;
  std::function<at::Tensor(const at::Tensor&)> fn_;
};

const std::vector<std::pair<std::string, std::function<at::Tensor(const at::Tensor&)>>>& generic_ops() {
  static const std::vector<std::pair<std::string, std::function<at::Tensor(const at::Tensor&)>>> ops{
      {"aten::clamp", [](const at::Tensor& x) { return at::clamp(x, 0.25, 0.75); }},
      {"aten::exp", [](const at::Tensor& x) { return at::exp(x); }},
      {"aten::abs", [](const at::Tensor& x) { return at::abs(x); }},
      {"aten::pow", [](const at::Tensor& x) { return at::pow(x, 2.0); }},
      {"aten::constant_pad_nd", [](const at::Tensor& x) { return at::constant_pad_nd(x, {1, 1, 1, 1}); }},
      {"aten::layer_norm",
       [](const at::Tensor& x) { return at::layer_norm(x, {x.size(-1)}); }},
      {"aten::cumsum", [](const at::Tensor& x) { return at::cumsum(x, -1); }},
  };
  return ops;
}

}  // namespace

const std::vector<std::string>& generic_sweep_ops() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& [name, fn] : generic_ops()) out.push_back(name);
    return out;
  }();
  return names;
}

std::shared_ptr<const Model> build_generic_layer_model(const std::string& op, const Shape& input_shape) {
  const auto& ops = generic_ops();
  const auto it = std::find_if(ops.begin(), ops.end(), [&](const auto& e) { return e.first == op; });
  if (it == ops.end()) throw std::invalid_argument(fmt::format("'{}' is not a generic sweep operator", op));
  const auto fn = it->second;
  at::Tensor out;
  try {
    out = fn(at::zeros(input_shape));
  } catch (const c10::Error& e) {
    throw std::invalid_argument(fmt::format("{} on input {}: {}", op, shape_string(input_shape),
                                            e.what_without_backtrace()));
  }
  std::vector<Node> nodes(2);
  nodes[0].id = 0;
  nodes[0].name = "input";
  nodes[0].kind = OpKind::input;
  nodes[0].out_shape = input_shape;
  nodes[1].id = 1;
  nodes[1].name = "layer";
  nodes[1].kind = OpKind::generic;
  nodes[1].inputs = {0};
  nodes[1].attrs.op = op;
  nodes[1].out_shape = Shape(out.sizes().begin(), out.sizes().end());
  compute_features(nodes);
  std::vector<std::shared_ptr<const NodeKernel>> kernels{nullptr, std::make_shared<SweepKernel>(op, fn)};
  return std::make_shared<const Model>(GraphDesc("layer_generic", std::move(nodes)), std::vector<Param>{},
                                       std::move(kernels));
}

}  // namespace tandem
