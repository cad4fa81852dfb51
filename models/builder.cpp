#include "models/builder.hpp"

#include <stdexcept>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "models/ops.hpp"

namespace tandem::detail {

GraphBuilder::GraphBuilder(std::string model_name, Shape input_shape)
    : model_name_(std::move(model_name)) {
  Node in;
  in.id = 0;
  in.name = "input";
  in.kind = OpKind::input;
  in.out_shape = std::move(input_shape);
  nodes_.push_back(std::move(in));
  specs_.emplace_back();
}

NodeId GraphBuilder::add_node(OpKind kind, const std::string& name, std::vector<NodeId> inputs,
                              LayerAttrs attrs, std::vector<ParamSpec> params) {
  Node n;
  n.id = static_cast<NodeId>(nodes_.size());
  n.name = name;
  n.kind = kind;
  n.inputs = std::move(inputs);
  n.attrs = attrs;
  nodes_.push_back(std::move(n));
  specs_.push_back(std::move(params));
  return nodes_.back().id;
}

NodeId GraphBuilder::conv(NodeId in, const std::string& name, std::int64_t cin, std::int64_t cout,
                          std::int64_t kernel, std::int64_t stride, std::int64_t pad,
                          std::int64_t groups, bool bias) {
  LayerAttrs a;
  a.in_channels = cin;
  a.out_channels = cout;
  a.kernel_h = a.kernel_w = kernel;
  a.stride_h = a.stride_w = stride;
  a.pad_h = a.pad_w = pad;
  a.groups = groups;
  a.bias = bias;
  const double fan_in = static_cast<double>(cin / groups * kernel * kernel);
  std::vector<ParamSpec> p{{"weight", {cout, cin / groups, kernel, kernel}, Init::he_uniform, fan_in}};
  if (bias) p.push_back({"bias", {cout}, Init::fan_uniform, fan_in});
  return add_node(OpKind::conv2d, name, {in}, a, std::move(p));
}

NodeId GraphBuilder::batch_norm(NodeId in, const std::string& name, std::int64_t channels,
                                double eps) {
  LayerAttrs a;
  a.in_channels = a.out_channels = channels;
  a.eps = eps;
  return add_node(OpKind::batch_norm2d, name, {in}, a,
                  {{"weight", {channels}, Init::bn_scale, 1},
                   {"bias", {channels}, Init::bn_shift, 1},
                   {"running_mean", {channels}, Init::bn_shift, 1},
                   {"running_var", {channels}, Init::bn_var, 1}});
}

NodeId GraphBuilder::relu(NodeId in, const std::string& name) {
  return add_node(OpKind::relu, name, {in}, {});
}

NodeId GraphBuilder::relu6(NodeId in, const std::string& name) {
  return add_node(OpKind::relu6, name, {in}, {});
}

NodeId GraphBuilder::max_pool(NodeId in, const std::string& name, std::int64_t kernel,
                              std::int64_t stride, std::int64_t pad, bool ceil_mode) {
  LayerAttrs a;
  a.kernel_h = a.kernel_w = kernel;
  a.stride_h = a.stride_w = stride;
  a.pad_h = a.pad_w = pad;
  a.ceil_mode = ceil_mode;
  return add_node(OpKind::max_pool2d, name, {in}, a);
}

NodeId GraphBuilder::avg_pool(NodeId in, const std::string& name, std::int64_t kernel,
                              std::int64_t stride, std::int64_t pad) {
  LayerAttrs a;
  a.kernel_h = a.kernel_w = kernel;
  a.stride_h = a.stride_w = stride;
  a.pad_h = a.pad_w = pad;
  return add_node(OpKind::avg_pool2d, name, {in}, a);
}

NodeId GraphBuilder::adaptive_avg_pool(NodeId in, const std::string& name, std::int64_t out_h,
                                       std::int64_t out_w) {
  LayerAttrs a;
  a.out_h = out_h;
  a.out_w = out_w;
  return add_node(OpKind::adaptive_avg_pool2d, name, {in}, a);
}

NodeId GraphBuilder::linear(NodeId in, const std::string& name, std::int64_t in_features,
                            std::int64_t out_features, bool bias) {
  LayerAttrs a;
  a.in_features = in_features;
  a.out_features = out_features;
  a.bias = bias;
  const auto fan_in = static_cast<double>(in_features);
  std::vector<ParamSpec> p{{"weight", {out_features, in_features}, Init::he_uniform, fan_in}};
  if (bias) p.push_back({"bias", {out_features}, Init::fan_uniform, fan_in});
  return add_node(OpKind::linear, name, {in}, a, std::move(p));
}

NodeId GraphBuilder::flatten(NodeId in, const std::string& name) {
  return add_node(OpKind::flatten, name, {in}, {});
}

NodeId GraphBuilder::dropout(NodeId in, const std::string& name) {
  return add_node(OpKind::dropout, name, {in}, {});
}

NodeId GraphBuilder::softmax(NodeId in, const std::string& name) {
  return add_node(OpKind::softmax, name, {in}, {});
}

NodeId GraphBuilder::add(const std::vector<NodeId>& ins, const std::string& name) {
  return add_node(OpKind::add, name, ins, {});
}

NodeId GraphBuilder::concat(const std::vector<NodeId>& ins, const std::string& name) {
  LayerAttrs a;
  a.concat_dim = 1;
  return add_node(OpKind::concat, name, ins, a);
}

NodeId GraphBuilder::layer(OpKind kind, const std::string& name, const std::vector<NodeId>& ins,
                           const LayerAttrs& a) {
  const NodeId in = ins.at(0);
  switch (kind) {
    case OpKind::conv2d:
      if (a.kernel_h != a.kernel_w || a.stride_h != a.stride_w || a.pad_h != a.pad_w) {
        throw std::invalid_argument("layer: only square conv kernels, strides and pads");
      }
      return conv(in, name, a.in_channels, a.out_channels, a.kernel_h, a.stride_h, a.pad_h,
                  a.groups, a.bias);
    case OpKind::linear:
      return linear(in, name, a.in_features, a.out_features, a.bias);
    case OpKind::batch_norm2d:
      return batch_norm(in, name, a.in_channels, a.eps > 0 ? a.eps : 1e-5);
    case OpKind::input:
      throw std::invalid_argument("layer: an input node cannot be added");
    default:
      return add_node(kind, name, ins, a);
  }
}

std::shared_ptr<const Model> GraphBuilder::finish(const WeightSource& source) {
  std::vector<Param> params;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    for (const ParamSpec& spec : specs_[i]) {
      const std::string full = fmt::format("{}.{}", nodes_[i].name, spec.suffix);
      at::Tensor value = source.file.empty() ? init_param(spec, full, source.seed)
                                             : at::empty(spec.shape, at::kFloat);
      params.push_back({static_cast<NodeId>(i), full, std::move(value)});
    }
  }
  if (!source.file.empty()) {
    WeightsFile file = read_weights_file(source.file);
    if (file.model != model_name_) {
      throw std::runtime_error(fmt::format("weights file {} is for model '{}', not '{}'",
                                           source.file.string(), file.model, model_name_));
    }
    if (file.tensors.size() != params.size()) {
      throw std::runtime_error(fmt::format("weights file {} has {} tensors; '{}' needs {}",
                                           source.file.string(), file.tensors.size(),
                                           model_name_, params.size()));
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

  // Dry run: one pass with zeros finds every output shape.
  std::vector<std::vector<at::Tensor>> by_node(nodes_.size());
  for (const Param& p : params) by_node[static_cast<std::size_t>(p.node)].push_back(p.value);
  std::vector<at::Tensor> values(nodes_.size());
  values[0] = at::zeros(nodes_[0].out_shape, at::kFloat);
  for (std::size_t i = 1; i < nodes_.size(); ++i) {
    std::vector<at::Tensor> ins;
    for (NodeId p : nodes_[i].inputs) ins.push_back(values[static_cast<std::size_t>(p)]);
    try {
      values[i] = apply_op(nodes_[i], ins, by_node[i]);
    } catch (const c10::Error& e) {
      throw std::logic_error(fmt::format("model '{}' node '{}': dry run failed: {}", model_name_,
                                         nodes_[i].name, e.what_without_backtrace()));
    }
    nodes_[i].out_shape = Shape(values[i].sizes().begin(), values[i].sizes().end());
  }
  compute_features(nodes_);
  return std::make_shared<const Model>(GraphDesc(model_name_, nodes_), std::move(params));
}

}  // namespace tandem::detail
