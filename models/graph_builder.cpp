#include "models/graph_builder.hpp"

#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

namespace tandem {
namespace {

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument(what); }

std::int64_t conv_out(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t pad) {
  const std::int64_t span = in + 2 * pad - kernel;
  if (stride <= 0 || kernel <= 0 || pad < 0) bad("kernel and stride must be > 0, padding >= 0");
  if (span < 0) bad(fmt::format("kernel {} is larger than the padded input {}", kernel, in + 2 * pad));
  return span / stride + 1;
}

// PyTorch's pooling output size, including ceil mode's rule that the last
// window must start inside the input or its left padding.
std::int64_t pool_out(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t pad,
                      bool ceil_mode) {
  if (stride <= 0 || kernel <= 0 || pad < 0) bad("kernel and stride must be > 0, padding >= 0");
  if (pad > kernel / 2) bad(fmt::format("padding {} is more than half the kernel {}", pad, kernel));
  const std::int64_t span = in + 2 * pad - kernel;
  if (span < 0) bad(fmt::format("kernel {} is larger than the padded input {}", kernel, in + 2 * pad));
  std::int64_t out = (span + (ceil_mode ? stride - 1 : 0)) / stride + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

// NumPy broadcasting of two shapes.
Shape broadcast(const Shape& a, const Shape& b) {
  Shape out(std::max(a.size(), b.size()), 1);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::int64_t x = i < a.size() ? a[a.size() - 1 - i] : 1;
    const std::int64_t y = i < b.size() ? b[b.size() - 1 - i] : 1;
    if (x != y && x != 1 && y != 1) {
      bad(fmt::format("shapes {} and {} do not broadcast", shape_string(a), shape_string(b)));
    }
    out[out.size() - 1 - i] = x == 1 ? y : x;
  }
  return out;
}

const Shape& only_input(const std::vector<Shape>& in) {
  if (in.size() != 1) bad(fmt::format("takes one input, got {}", in.size()));
  return in.front();
}

const Shape& nchw(const std::vector<Shape>& in) {
  const Shape& x = only_input(in);
  if (x.size() != 4) bad(fmt::format("needs an NCHW input, got {}", shape_string(x)));
  return x;
}

}  // namespace

Shape infer_shape(OpKind kind, const LayerAttrs& a, const std::vector<Shape>& in) {
  switch (kind) {
    case OpKind::input:
      bad("an input node has no producers");
    case OpKind::conv2d: {
      const Shape& x = nchw(in);
      if (a.groups <= 0 || a.in_channels % a.groups || a.out_channels % a.groups) {
        bad("channels must be divisible by groups");
      }
      if (x[1] != a.in_channels) {
        bad(fmt::format("expects {} input channels, got {}", a.in_channels, x[1]));
      }
      return {x[0], a.out_channels, conv_out(x[2], a.kernel_h, a.stride_h, a.pad_h),
              conv_out(x[3], a.kernel_w, a.stride_w, a.pad_w)};
    }
    case OpKind::max_pool2d:
    case OpKind::avg_pool2d: {
      const Shape& x = nchw(in);
      return {x[0], x[1], pool_out(x[2], a.kernel_h, a.stride_h, a.pad_h, a.ceil_mode),
              pool_out(x[3], a.kernel_w, a.stride_w, a.pad_w, a.ceil_mode)};
    }
    case OpKind::adaptive_avg_pool2d: {
      const Shape& x = nchw(in);
      if (a.out_h <= 0 || a.out_w <= 0) bad("output size must be > 0");
      return {x[0], x[1], a.out_h, a.out_w};
    }
    case OpKind::batch_norm2d: {
      const Shape& x = nchw(in);
      if (x[1] != a.in_channels) {
        bad(fmt::format("expects {} channels, got {}", a.in_channels, x[1]));
      }
      return x;
    }
    case OpKind::linear: {
      const Shape& x = only_input(in);
      if (x.empty() || x.back() != a.in_features) {
        bad(fmt::format("expects {} input features, got {}", a.in_features, shape_string(x)));
      }
      Shape out = x;
      out.back() = a.out_features;
      return out;
    }
    case OpKind::local_response_norm:
      if (only_input(in).size() < 3) bad("needs an input of rank 3 or more");
      return in.front();
    case OpKind::relu:
    case OpKind::relu6:
    case OpKind::dropout:
    case OpKind::hardswish:
    case OpKind::hardsigmoid:
    case OpKind::silu:
    case OpKind::sigmoid:
    case OpKind::gelu:
    case OpKind::tanh:
    case OpKind::contiguous:
      return only_input(in);
    case OpKind::softmax: {
      const Shape& x = only_input(in);
      if (a.dim < 0 || static_cast<std::size_t>(a.dim) >= x.size()) bad(fmt::format("dim {} is out of range", a.dim));
      return x;
    }
    case OpKind::mul: {
      if (in.size() < 2) bad("needs two or more inputs");
      Shape out = in.front();
      for (std::size_t i = 1; i < in.size(); ++i) out = broadcast(out, in[i]);
      return out;
    }
    case OpKind::mean: {
      const Shape& x = only_input(in);
      std::vector<bool> reduced(x.size(), false);
      for (std::int64_t d : a.dims) {
        if (d < 0 || static_cast<std::size_t>(d) >= x.size()) bad(fmt::format("dim {} is out of range", d));
        reduced[static_cast<std::size_t>(d)] = true;
      }
      Shape out;
      for (std::size_t d = 0; d < x.size(); ++d) {
        if (!reduced[d]) {
          out.push_back(x[d]);
        } else if (a.keepdim) {
          out.push_back(1);
        }
      }
      return out;
    }
    case OpKind::reshape: {
      const Shape& x = only_input(in);
      const auto count = [](const Shape& s) {
        return std::accumulate(s.begin(), s.end(), std::int64_t{1}, std::multiplies<>());
      };
      if (count(a.dims) != count(x)) {
        bad(fmt::format("cannot reshape {} to {}", shape_string(x), shape_string(a.dims)));
      }
      return a.dims;
    }
    case OpKind::permute: {
      const Shape& x = only_input(in);
      if (a.dims.size() != x.size()) bad("dims must name every dimension once");
      std::vector<bool> seen(x.size(), false);
      Shape out;
      for (std::int64_t d : a.dims) {
        if (d < 0 || static_cast<std::size_t>(d) >= x.size() || seen[static_cast<std::size_t>(d)]) {
          bad("dims must name every dimension once");
        }
        seen[static_cast<std::size_t>(d)] = true;
        out.push_back(x[static_cast<std::size_t>(d)]);
      }
      return out;
    }
    case OpKind::matmul: {
      if (in.size() != 2 || in[0].size() < 2 || in[1].size() < 2) bad("needs two inputs of rank 2 or more");
      const Shape& x = in[0];
      const Shape& y = in[1];
      if (x.back() != y[y.size() - 2]) {
        bad(fmt::format("inner dimensions of {} and {} differ", shape_string(x), shape_string(y)));
      }
      Shape out = broadcast(Shape(x.begin(), x.end() - 2), Shape(y.begin(), y.end() - 2));
      out.push_back(x[x.size() - 2]);
      out.push_back(y.back());
      return out;
    }
    case OpKind::generic:
      bad("a generic node's shape comes from running it");
    case OpKind::flatten: {
      const Shape& x = only_input(in);
      if (x.size() < 2) bad("needs an input of rank 2 or more");
      return {x[0], std::accumulate(x.begin() + 1, x.end(), std::int64_t{1}, std::multiplies<>())};
    }
    case OpKind::add:
      if (in.size() < 2) bad("needs two or more inputs");
      for (const Shape& s : in) {
        if (s != in.front()) bad(fmt::format("inputs {} and {} differ", shape_string(in.front()), shape_string(s)));
      }
      return in.front();
    case OpKind::concat: {
      if (in.empty()) bad("needs inputs");
      Shape out = in.front();
      const auto dim = static_cast<std::size_t>(a.concat_dim);
      if (a.concat_dim < 0 || dim >= out.size()) bad(fmt::format("dimension {} is out of range", a.concat_dim));
      for (std::size_t i = 1; i < in.size(); ++i) {
        const Shape& s = in[i];
        if (s.size() != out.size()) bad("inputs of different ranks");
        for (std::size_t d = 0; d < s.size(); ++d) {
          if (d != dim && s[d] != out[d]) {
            bad(fmt::format("inputs {} and {} differ outside dimension {}", shape_string(out), shape_string(s), dim));
          }
        }
        out[dim] += s[dim];
      }
      return out;
    }
  }
  bad("unknown kind");
}

GraphBuilder::GraphBuilder(std::string model_name, Shape input_shape)
    : model_name_(std::move(model_name)) {
  Node in;
  in.id = 0;
  in.name = "input";
  in.kind = OpKind::input;
  in.out_shape = std::move(input_shape);
  nodes_.push_back(std::move(in));
}

NodeId GraphBuilder::layer(OpKind kind, const std::string& name, const std::vector<NodeId>& ins,
                           const LayerAttrs& attrs) {
  if (kind == OpKind::input) throw std::invalid_argument("layer: an input node cannot be added");
  Node n;
  n.id = static_cast<NodeId>(nodes_.size());
  n.name = name;
  n.kind = kind;
  n.inputs = ins;
  n.attrs = attrs;
  std::vector<Shape> shapes;
  for (NodeId p : ins) {
    if (p < 0 || p >= n.id) {
      throw std::invalid_argument(fmt::format("model '{}' node '{}': input {} is not an earlier node",
                                              model_name_, name, p));
    }
    shapes.push_back(nodes_[static_cast<std::size_t>(p)].out_shape);
  }
  try {
    n.out_shape = infer_shape(kind, attrs, shapes);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("model '{}' node '{}' ({}): {}", model_name_, name,
                                            to_string(kind), e.what()));
  }
  nodes_.push_back(std::move(n));
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
  return layer(OpKind::conv2d, name, {in}, a);
}

NodeId GraphBuilder::batch_norm(NodeId in, const std::string& name, std::int64_t channels, double eps) {
  LayerAttrs a;
  a.in_channels = a.out_channels = channels;
  a.eps = eps;
  return layer(OpKind::batch_norm2d, name, {in}, a);
}

NodeId GraphBuilder::relu(NodeId in, const std::string& name) { return layer(OpKind::relu, name, {in}, {}); }

NodeId GraphBuilder::relu6(NodeId in, const std::string& name) { return layer(OpKind::relu6, name, {in}, {}); }

NodeId GraphBuilder::max_pool(NodeId in, const std::string& name, std::int64_t kernel, std::int64_t stride,
                              std::int64_t pad, bool ceil_mode) {
  LayerAttrs a;
  a.kernel_h = a.kernel_w = kernel;
  a.stride_h = a.stride_w = stride;
  a.pad_h = a.pad_w = pad;
  a.ceil_mode = ceil_mode;
  return layer(OpKind::max_pool2d, name, {in}, a);
}

NodeId GraphBuilder::avg_pool(NodeId in, const std::string& name, std::int64_t kernel, std::int64_t stride,
                              std::int64_t pad) {
  LayerAttrs a;
  a.kernel_h = a.kernel_w = kernel;
  a.stride_h = a.stride_w = stride;
  a.pad_h = a.pad_w = pad;
  return layer(OpKind::avg_pool2d, name, {in}, a);
}

NodeId GraphBuilder::adaptive_avg_pool(NodeId in, const std::string& name, std::int64_t out_h,
                                       std::int64_t out_w) {
  LayerAttrs a;
  a.out_h = out_h;
  a.out_w = out_w;
  return layer(OpKind::adaptive_avg_pool2d, name, {in}, a);
}

NodeId GraphBuilder::linear(NodeId in, const std::string& name, std::int64_t in_features,
                            std::int64_t out_features, bool bias) {
  LayerAttrs a;
  a.in_features = in_features;
  a.out_features = out_features;
  a.bias = bias;
  return layer(OpKind::linear, name, {in}, a);
}

NodeId GraphBuilder::flatten(NodeId in, const std::string& name) { return layer(OpKind::flatten, name, {in}, {}); }

NodeId GraphBuilder::dropout(NodeId in, const std::string& name) { return layer(OpKind::dropout, name, {in}, {}); }

NodeId GraphBuilder::softmax(NodeId in, const std::string& name) {
  LayerAttrs a;
  a.dim = 1;
  return layer(OpKind::softmax, name, {in}, a);
}

NodeId GraphBuilder::add(const std::vector<NodeId>& ins, const std::string& name) {
  return layer(OpKind::add, name, ins, {});
}

NodeId GraphBuilder::concat(const std::vector<NodeId>& ins, const std::string& name) {
  LayerAttrs a;
  a.concat_dim = 1;
  return layer(OpKind::concat, name, ins, a);
}

GraphDesc GraphBuilder::finish() const {
  std::vector<Node> nodes = nodes_;
  compute_features(nodes);
  return GraphDesc(model_name_, std::move(nodes));
}

}  // namespace tandem
