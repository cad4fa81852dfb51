#include "models/graph.hpp"

#include <algorithm>
#include <array>
#include <numeric>
#include <stdexcept>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tandem {
namespace {

struct KindName {
  OpKind kind;
  std::string_view name;
};

constexpr std::array k_kind_names{
    KindName{OpKind::input, "input"},
    KindName{OpKind::conv2d, "conv2d"},
    KindName{OpKind::linear, "linear"},
    KindName{OpKind::max_pool2d, "max_pool2d"},
    KindName{OpKind::avg_pool2d, "avg_pool2d"},
    KindName{OpKind::adaptive_avg_pool2d, "adaptive_avg_pool2d"},
    KindName{OpKind::batch_norm2d, "batch_norm2d"},
    KindName{OpKind::relu, "relu"},
    KindName{OpKind::relu6, "relu6"},
    KindName{OpKind::add, "add"},
    KindName{OpKind::concat, "concat"},
    KindName{OpKind::flatten, "flatten"},
    KindName{OpKind::dropout, "dropout"},
    KindName{OpKind::softmax, "softmax"},
    KindName{OpKind::local_response_norm, "local_response_norm"},
    KindName{OpKind::hardswish, "hardswish"},
    KindName{OpKind::hardsigmoid, "hardsigmoid"},
    KindName{OpKind::silu, "silu"},
    KindName{OpKind::sigmoid, "sigmoid"},
    KindName{OpKind::gelu, "gelu"},
    KindName{OpKind::tanh, "tanh"},
    KindName{OpKind::mul, "mul"},
    KindName{OpKind::mean, "mean"},
    KindName{OpKind::reshape, "reshape"},
    KindName{OpKind::permute, "permute"},
    KindName{OpKind::contiguous, "contiguous"},
    KindName{OpKind::matmul, "matmul"},
    KindName{OpKind::generic, "generic"},
};

std::int64_t numel(const Shape& shape) {
  return std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
}

[[noreturn]] void bad_node(const Node& node, const std::string& what) {
  throw std::invalid_argument(
      fmt::format("node {} '{}' ({}): {}", node.id, node.name, to_string(node.kind), what));
}

}  // namespace

std::string_view to_string(OpKind kind) {
  for (const auto& kn : k_kind_names) {
    if (kn.kind == kind) return kn.name;
  }
  return "unknown";
}

std::optional<OpKind> op_kind_from_string(std::string_view name) {
  for (const auto& kn : k_kind_names) {
    if (kn.name == name) return kn.kind;
  }
  return std::nullopt;
}

const std::vector<OpKind>& all_op_kinds() {
  static const std::vector<OpKind> kinds = [] {
    std::vector<OpKind> out;
    for (const auto& kn : k_kind_names) out.push_back(kn.kind);
    return out;
  }();
  return kinds;
}

namespace {
struct DTypeInfo {
  DType dtype;
  std::string_view name;
  std::int64_t size;
};
constexpr std::array k_dtypes{DTypeInfo{DType::f32, "f32", 4}, DTypeInfo{DType::f16, "f16", 2},
                              DTypeInfo{DType::i64, "i64", 8}, DTypeInfo{DType::i32, "i32", 4},
                              DTypeInfo{DType::u8, "u8", 1},   DTypeInfo{DType::boolean, "bool", 1}};
}  // namespace

std::string_view to_string(DType dtype) {
  for (const auto& d : k_dtypes) {
    if (d.dtype == dtype) return d.name;
  }
  return "unknown";
}

std::optional<DType> dtype_from_string(std::string_view name) {
  for (const auto& d : k_dtypes) {
    if (d.name == name) return d.dtype;
  }
  return std::nullopt;
}

std::int64_t dtype_size(DType dtype) {
  for (const auto& d : k_dtypes) {
    if (d.dtype == dtype) return d.size;
  }
  return 4;
}

std::int64_t Node::out_numel() const { return numel(out_shape); }

GraphDesc::GraphDesc(std::string name, std::vector<Node> nodes)
    : name_(std::move(name)), nodes_(std::move(nodes)) {
  if (nodes_.empty() || nodes_.front().kind != OpKind::input) {
    throw std::invalid_argument(fmt::format("graph '{}': node 0 must be an input", name_));
  }
  input_count_ = 0;
  while (input_count_ < nodes_.size() && nodes_[input_count_].kind == OpKind::input) ++input_count_;
  consumers_.assign(nodes_.size(), {});
  std::unordered_set<std::string> names;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    if (n.id != static_cast<NodeId>(i)) bad_node(n, fmt::format("id must equal its index {}", i));
    if (!names.insert(n.name).second) bad_node(n, "duplicate node name");
    if (i >= input_count_ && n.kind == OpKind::input) bad_node(n, "inputs must come before every other node");
    if (i < input_count_ && !n.inputs.empty()) bad_node(n, "an input has no producers");
    if (i >= input_count_ && n.inputs.empty()) bad_node(n, "has no inputs");
    for (NodeId p : n.inputs) {
      if (p < 0 || p >= n.id) bad_node(n, fmt::format("input {} is not an earlier node", p));
      consumers_[static_cast<std::size_t>(p)].push_back(n.id);
      ++edge_count_;
    }
    if (n.inputs.size() > 1) is_chain_ = false;
  }
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    auto& c = consumers_[i];
    std::sort(c.begin(), c.end());
    c.erase(std::unique(c.begin(), c.end()), c.end());
    if (c.empty()) sinks_.push_back(static_cast<NodeId>(i));
    if (c.size() > 1) is_chain_ = false;
  }
  if (nodes_.size() > input_count_) {
    for (std::size_t i = 0; i < input_count_; ++i) {
      if (consumers_[i].empty()) bad_node(nodes_[i], "the input is not used");
    }
  }
}

std::vector<Shape> GraphDesc::input_shapes() const {
  std::vector<Shape> out;
  for (std::size_t i = 0; i < input_count_; ++i) out.push_back(nodes_[i].out_shape);
  return out;
}

NodeId GraphDesc::find(std::string_view node_name) const {
  for (const Node& n : nodes_) {
    if (n.name == node_name) return n.id;
  }
  throw std::out_of_range(fmt::format("graph '{}' has no node named '{}'", name_, node_name));
}

std::int64_t GraphDesc::param_count() const {
  std::int64_t total = 0;
  for (const Node& n : nodes_) total += n.param_count;
  return total;
}

double GraphDesc::flops() const {
  double total = 0;
  for (const Node& n : nodes_) total += n.flops;
  return total;
}

void compute_features(std::vector<Node>& nodes) {
  for (Node& n : nodes) {
    const std::int64_t esize = dtype_size(n.dtype);
    const std::int64_t out_elems = numel(n.out_shape);
    n.output_bytes = out_elems * esize;
    n.input_bytes = 0;
    for (NodeId p : n.inputs) {
      if (p < 0 || p >= n.id) bad_node(n, fmt::format("input {} is not an earlier node", p));
      n.input_bytes += nodes[static_cast<std::size_t>(p)].output_bytes;
    }
    n.macs = 0;
    n.flops = 0;
    n.param_count = 0;
    std::int64_t buffer_count = 0;
    const auto& a = n.attrs;
    switch (n.kind) {
      case OpKind::input:
        break;
      case OpKind::conv2d: {
        if (n.out_shape.size() != 4) bad_node(n, "output must be NCHW");
        if (a.groups <= 0 || a.in_channels % a.groups != 0 || a.out_channels % a.groups != 0) {
          bad_node(n, "channels must be divisible by groups");
        }
        if (n.out_shape[1] != a.out_channels) bad_node(n, "output channels disagree with attrs");
        const std::int64_t per_out = (a.in_channels / a.groups) * a.kernel_h * a.kernel_w;
        n.param_count = a.out_channels * per_out + (a.bias ? a.out_channels : 0);
        n.macs = static_cast<double>(out_elems) * static_cast<double>(per_out);
        n.flops = 2 * n.macs + (a.bias ? static_cast<double>(out_elems) : 0.0);
        break;
      }
      case OpKind::linear:
        if (n.out_shape.empty() || n.out_shape.back() != a.out_features) {
          bad_node(n, "output features disagree with attrs");
        }
        n.param_count = a.in_features * a.out_features + (a.bias ? a.out_features : 0);
        n.macs = static_cast<double>(out_elems) * static_cast<double>(a.in_features);
        n.flops = 2 * n.macs + (a.bias ? static_cast<double>(out_elems) : 0.0);
        break;
      case OpKind::max_pool2d:
      case OpKind::avg_pool2d:
        n.flops = static_cast<double>(out_elems) * static_cast<double>(a.kernel_h * a.kernel_w);
        break;
      case OpKind::adaptive_avg_pool2d:
        n.flops = static_cast<double>(n.input_bytes / esize);
        break;
      case OpKind::batch_norm2d:
        if (n.out_shape.size() != 4 || n.out_shape[1] != a.in_channels) {
          bad_node(n, "batch norm channels disagree with the output");
        }
        n.param_count = 2 * a.in_channels;
        buffer_count = 2 * a.in_channels;  // running mean and variance
        n.flops = 2.0 * static_cast<double>(out_elems);
        break;
      case OpKind::local_response_norm:
        n.flops = static_cast<double>(out_elems) * static_cast<double>(a.lrn_size + 3);
        break;
      case OpKind::relu:
      case OpKind::relu6:
      case OpKind::hardsigmoid:
        n.flops = static_cast<double>(out_elems);
        break;
      case OpKind::dropout:  // identity at inference
        break;
      case OpKind::hardswish:
        n.flops = 3.0 * static_cast<double>(out_elems);
        break;
      case OpKind::sigmoid:
      case OpKind::tanh:
        n.flops = 4.0 * static_cast<double>(out_elems);
        break;
      case OpKind::silu:
        n.flops = 5.0 * static_cast<double>(out_elems);
        break;
      case OpKind::gelu:
        n.flops = 8.0 * static_cast<double>(out_elems);
        break;
      case OpKind::mul:
        n.flops = static_cast<double>(out_elems) * static_cast<double>(n.inputs.size() - 1);
        break;
      case OpKind::mean:
        n.flops = static_cast<double>(n.input_bytes / esize);
        break;
      case OpKind::matmul: {
        // out[..., m, n] = a[..., m, k] @ b[..., k, n]: k from the first input's last dimension.
        const Shape& a = nodes[static_cast<std::size_t>(n.inputs.at(0))].out_shape;
        const double k = a.empty() ? 1.0 : static_cast<double>(a.back());
        n.macs = static_cast<double>(out_elems) * k;
        n.flops = 2 * n.macs;
        break;
      }
      case OpKind::reshape:
      case OpKind::permute:
      case OpKind::contiguous:
      case OpKind::generic:
        break;
      case OpKind::add:
        n.flops = static_cast<double>(out_elems) * static_cast<double>(n.inputs.size() - 1);
        break;
      case OpKind::softmax:
        n.flops = 3.0 * static_cast<double>(out_elems);
        break;
      case OpKind::concat:
      case OpKind::flatten:
        break;
    }
    n.param_bytes = (n.param_count + buffer_count) * esize + a.const_bytes;
  }
}

std::string shape_string(const Shape& shape) {
  std::string out;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) out += 'x';
    out += std::to_string(shape[i]);
  }
  return out;
}

nlohmann::json to_json(const GraphDesc& graph) {
  nlohmann::json nodes = nlohmann::json::array();
  for (const Node& n : graph.nodes()) {
    const auto& a = n.attrs;
    nodes.push_back({
        {"id", n.id},
        {"name", n.name},
        {"kind", to_string(n.kind)},
        {"inputs", n.inputs},
        {"out_shape", n.out_shape},
        {"dtype", to_string(n.dtype)},
        {"macs", n.macs},
        {"flops", n.flops},
        {"input_bytes", n.input_bytes},
        {"output_bytes", n.output_bytes},
        {"param_bytes", n.param_bytes},
        {"params", n.param_count},
        {"attrs",
         {{"in_channels", a.in_channels},
          {"out_channels", a.out_channels},
          {"kernel", {a.kernel_h, a.kernel_w}},
          {"stride", {a.stride_h, a.stride_w}},
          {"padding", {a.pad_h, a.pad_w}},
          {"groups", a.groups},
          {"in_features", a.in_features},
          {"out_features", a.out_features},
          {"bias", a.bias},
          {"ceil_mode", a.ceil_mode},
          {"eps", a.eps},
          {"concat_dim", a.concat_dim},
          {"lrn_size", a.lrn_size},
          {"out_size", {a.out_h, a.out_w}},
          {"dim", a.dim},
          {"dims", a.dims},
          {"keepdim", a.keepdim},
          {"op", a.op},
          {"const_bytes", a.const_bytes}}},
    });
  }
  return {{"name", graph.name()}, {"nodes", std::move(nodes)}};
}

GraphDesc graph_from_json(const nlohmann::json& j) {
  try {
    std::vector<Node> nodes;
    for (const auto& jn : j.at("nodes")) {
      Node n;
      n.id = jn.at("id").get<NodeId>();
      n.name = jn.at("name").get<std::string>();
      const auto kind_name = jn.at("kind").get<std::string>();
      const auto kind = op_kind_from_string(kind_name);
      if (!kind) throw std::invalid_argument(fmt::format("unknown node kind '{}'", kind_name));
      n.kind = *kind;
      n.inputs = jn.at("inputs").get<std::vector<NodeId>>();
      n.out_shape = jn.at("out_shape").get<Shape>();
      const auto dtype_name = jn.at("dtype").get<std::string>();
      const auto dtype = dtype_from_string(dtype_name);
      if (!dtype) throw std::invalid_argument(fmt::format("unknown dtype '{}'", dtype_name));
      n.dtype = *dtype;
      const auto& ja = jn.at("attrs");
      auto& a = n.attrs;
      a.in_channels = ja.at("in_channels");
      a.out_channels = ja.at("out_channels");
      a.kernel_h = ja.at("kernel").at(0);
      a.kernel_w = ja.at("kernel").at(1);
      a.stride_h = ja.at("stride").at(0);
      a.stride_w = ja.at("stride").at(1);
      a.pad_h = ja.at("padding").at(0);
      a.pad_w = ja.at("padding").at(1);
      a.groups = ja.at("groups");
      a.in_features = ja.at("in_features");
      a.out_features = ja.at("out_features");
      a.bias = ja.at("bias");
      a.ceil_mode = ja.at("ceil_mode");
      a.eps = ja.at("eps");
      a.concat_dim = ja.at("concat_dim");
      a.lrn_size = ja.at("lrn_size");
      a.out_h = ja.at("out_size").at(0);
      a.out_w = ja.at("out_size").at(1);
      a.dim = ja.value("dim", std::int64_t{0});
      a.dims = ja.value("dims", std::vector<std::int64_t>{});
      a.keepdim = ja.value("keepdim", false);
      a.op = ja.value("op", std::string{});
      a.const_bytes = ja.value("const_bytes", std::int64_t{0});
      nodes.push_back(std::move(n));
    }
    compute_features(nodes);
    return GraphDesc(j.at("name").get<std::string>(), std::move(nodes));
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(fmt::format("graph JSON: {}", e.what()));
  }
}

}  // namespace tandem
