// The TorchScript importer's operator table (models/torchscript_ops.hpp).

#include "models/torchscript_ops.hpp"

#include <map>
#include <utility>

namespace tandem::ts_import {
namespace {

std::vector<std::int64_t> int_list(const Bound* b) {
  if (!b || b->kind != Bound::Kind::constant || !b->constant.isIntList()) return {};
  return b->constant.toIntVector();
}

bool constant_none(const Bound* b) { return b->kind == Bound::Kind::constant && b->constant.isNone(); }

bool is_const_int(const Bound* b, std::int64_t value) {
  return b->kind == Bound::Kind::constant && b->constant.isInt() && b->constant.toInt() == value;
}

bool is_const_bool(const Bound* b, bool value) {
  return b->kind == Bound::Kind::constant && b->constant.isBool() && b->constant.toBool() == value;
}

std::int64_t normalise_dim(std::int64_t d, std::size_t rank) {
  return d < 0 ? d + static_cast<std::int64_t>(rank) : d;
}

std::pair<std::int64_t, std::int64_t> pair_of(const std::vector<std::int64_t>& v, std::int64_t fallback) {
  if (v.empty()) return {fallback, fallback};
  if (v.size() == 1) return {v[0], v[0]};
  return {v[0], v[1]};
}

Mapping map_conv(const std::vector<const Bound*>& in, bool traced_form, const at::Tensor& x) {
  Mapping m;
  m.kind = OpKind::conv2d;
  // conv2d(input, weight, bias, stride, padding, dilation, groups)
  // _convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups, ...)
  const Bound* weight = in.at(1);
  const Bound* bias = in.at(2);
  const auto stride = int_list(in.at(3));
  const auto padding = int_list(in.at(4));
  const auto dilation = int_list(in.at(5));
  const Bound* groups = in.at(traced_form ? 8 : 6);
  const bool transposed = traced_form && !is_const_bool(in.at(6), false);
  if (!constant_tensor(weight) || !(constant_none(bias) || constant_tensor(bias)) || transposed ||
      groups->kind != Bound::Kind::constant || x.dim() != 4 || weight->constant.toTensor().dim() != 4 ||
      padding.empty() || stride.empty() || (dilation != std::vector<std::int64_t>{1, 1} && dilation != std::vector<std::int64_t>{1})) {
    m.kind = OpKind::generic;
    return m;
  }
  const at::Tensor w = weight->constant.toTensor();
  auto& a = m.attrs;
  a.groups = groups->constant.toInt();
  a.out_channels = w.size(0);
  a.in_channels = w.size(1) * a.groups;
  a.kernel_h = w.size(2);
  a.kernel_w = w.size(3);
  std::tie(a.stride_h, a.stride_w) = pair_of(stride, 1);
  std::tie(a.pad_h, a.pad_w) = pair_of(padding, 0);
  a.bias = constant_tensor(bias);
  m.builtin = w.scalar_type() == at::kFloat;
  m.params.push_back({0, "weight", w.contiguous()});
  if (a.bias) m.params.push_back({0, "bias", bias->constant.toTensor().contiguous()});
  return m;
}

}  // namespace

Mapping map_op(const std::string& op, const std::vector<const Bound*>& in, const at::Tensor& x,
               const at::Tensor& out, std::size_t dynamic_tensors) {
  Mapping m;
  const auto rank = static_cast<std::size_t>(x.defined() ? x.dim() : 0);
  auto& a = m.attrs;
  if (op == "aten::conv2d" && in.size() == 7) return map_conv(in, false, x);
  if (op == "aten::_convolution" && in.size() >= 9) return map_conv(in, true, x);
  if (op == "aten::linear" && in.size() == 3 && constant_tensor(in[1]) &&
      (constant_none(in[2]) || constant_tensor(in[2])) && in[1]->constant.toTensor().dim() == 2) {
    const at::Tensor w = in[1]->constant.toTensor();
    m.kind = OpKind::linear;
    a.out_features = w.size(0);
    a.in_features = w.size(1);
    a.bias = constant_tensor(in[2]);
    m.builtin = w.scalar_type() == at::kFloat;
    m.params.push_back({0, "weight", w.contiguous()});
    if (a.bias) m.params.push_back({0, "bias", in[2]->constant.toTensor().contiguous()});
    return m;
  }
  if (op == "aten::addmm" && in.size() == 5 && constant_tensor(in[0]) && constant_tensor(in[2]) &&
      in[1]->kind == Bound::Kind::tensor && is_const_int(in[3], 1) && is_const_int(in[4], 1) &&
      in[2]->constant.toTensor().dim() == 2) {
    // addmm(bias, x, W^T): a linear layer as older traces write it.
    const at::Tensor w = in[2]->constant.toTensor().t().contiguous();
    m.kind = OpKind::linear;
    a.out_features = w.size(0);
    a.in_features = w.size(1);
    a.bias = true;
    m.builtin = w.scalar_type() == at::kFloat;
    m.params.push_back({0, "weight", w});
    m.params.push_back({0, "bias", in[0]->constant.toTensor().contiguous()});
    return m;
  }
  if (op == "aten::batch_norm" && in.size() == 9 && rank == 4 && is_const_bool(in[5], false) &&
      constant_tensor(in[1]) && constant_tensor(in[2]) && constant_tensor(in[3]) && constant_tensor(in[4])) {
    m.kind = OpKind::batch_norm2d;
    a.in_channels = a.out_channels = x.size(1);
    a.eps = in[7]->constant.toDouble();
    m.builtin = true;
    const char* names[] = {"weight", "bias", "running_mean", "running_var"};
    for (int i = 0; i < 4; ++i) m.params.push_back({0, names[i], in[static_cast<std::size_t>(i) + 1]->constant.toTensor().contiguous()});
    return m;
  }
  const std::string base = op.ends_with("_") ? op.substr(0, op.size() - 1) : op;
  const std::map<std::string, OpKind> unary{
      {"aten::relu", OpKind::relu},       {"aten::relu6", OpKind::relu6},     {"aten::hardswish", OpKind::hardswish},
      {"aten::hardsigmoid", OpKind::hardsigmoid}, {"aten::silu", OpKind::silu}, {"aten::sigmoid", OpKind::sigmoid},
      {"aten::tanh", OpKind::tanh},       {"aten::contiguous", OpKind::contiguous}};
  if (const auto it = unary.find(base); it != unary.end() && dynamic_tensors == 1) {
    m.kind = it->second;
    return m;
  }
  if (base == "aten::hardtanh" && in.size() == 3 && in[1]->kind == Bound::Kind::constant &&
      in[2]->kind == Bound::Kind::constant && in[1]->constant.toDouble() == 0.0 && in[2]->constant.toDouble() == 6.0) {
    m.kind = OpKind::relu6;
    return m;
  }
  if (base == "aten::gelu" && (in.size() == 1 || (in[1]->kind == Bound::Kind::constant &&
                                                  in[1]->constant.isString() && in[1]->constant.toStringRef() == "none"))) {
    m.kind = OpKind::gelu;
    return m;
  }
  if ((op == "aten::max_pool2d" || op == "aten::avg_pool2d") && rank == 4) {
    // max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
    // avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    const bool max = op == "aten::max_pool2d";
    const auto kernel = int_list(in.at(1));
    const auto stride = int_list(in.at(2));
    const auto padding = int_list(in.at(3));
    const Bound* ceil = in.at(max ? 5 : 4);
    if (kernel.empty() || ceil->kind != Bound::Kind::constant) return m;
    if (max && int_list(in.at(4)) != std::vector<std::int64_t>{1, 1} && int_list(in.at(4)) != std::vector<std::int64_t>{1}) return m;
    if (!max && (!is_const_bool(in.at(5), true) || !constant_none(in.at(6)))) return m;
    m.kind = max ? OpKind::max_pool2d : OpKind::avg_pool2d;
    std::tie(a.kernel_h, a.kernel_w) = pair_of(kernel, 1);
    std::tie(a.stride_h, a.stride_w) = stride.empty() ? std::pair{a.kernel_h, a.kernel_w} : pair_of(stride, 1);
    std::tie(a.pad_h, a.pad_w) = pair_of(padding, 0);
    a.ceil_mode = ceil->constant.toBool();
    return m;
  }
  if (op == "aten::adaptive_avg_pool2d" && rank == 4 && out.dim() == 4) {
    m.kind = OpKind::adaptive_avg_pool2d;
    a.out_h = out.size(2);
    a.out_w = out.size(3);
    return m;
  }
  if ((base == "aten::add" || base == "aten::mul") && dynamic_tensors >= 2) {
    if (base == "aten::add" && (in.size() != 3 || !is_const_int(in[2], 1))) return m;
    m.kind = base == "aten::add" ? OpKind::add : OpKind::mul;
    return m;
  }
  if (op == "aten::cat" && in.size() == 2 && in[1]->kind == Bound::Kind::constant) {
    m.kind = OpKind::concat;
    a.concat_dim = normalise_dim(in[1]->constant.toInt(), static_cast<std::size_t>(out.dim()));
    return m;
  }
  if (op == "aten::flatten" && in.size() == 3 && rank >= 2 && is_const_int(in[1], 1) &&
      in[2]->kind == Bound::Kind::constant && normalise_dim(in[2]->constant.toInt(), rank) == static_cast<std::int64_t>(rank) - 1) {
    m.kind = OpKind::flatten;
    return m;
  }
  if (op == "aten::flatten" || op == "aten::view" || op == "aten::reshape" || op == "aten::squeeze" ||
      op == "aten::unsqueeze") {
    m.kind = OpKind::reshape;
    a.dims = shape_of(out);
    return m;
  }
  if ((op == "aten::transpose" && in.size() == 3) || op == "aten::permute" || op == "aten::t") {
    m.kind = OpKind::permute;
    std::vector<std::int64_t> dims(rank);
    std::iota(dims.begin(), dims.end(), 0);
    if (op == "aten::permute") {
      dims = int_list(in.at(1));
      for (auto& d : dims) d = normalise_dim(d, rank);
    } else if (op == "aten::t") {
      if (rank == 2) std::swap(dims[0], dims[1]);
    } else {
      std::swap(dims.at(static_cast<std::size_t>(normalise_dim(in[1]->constant.toInt(), rank))),
                dims.at(static_cast<std::size_t>(normalise_dim(in[2]->constant.toInt(), rank))));
    }
    a.dims = dims;
    return m;
  }
  if (op == "aten::mean" && in.size() >= 3 && in[1]->kind == Bound::Kind::constant && in[1]->constant.isIntList() &&
      in[2]->kind == Bound::Kind::constant) {
    m.kind = OpKind::mean;
    for (std::int64_t d : in[1]->constant.toIntVector()) a.dims.push_back(normalise_dim(d, rank));
    a.keepdim = in[2]->constant.toBool();
    return m;
  }
  if (op == "aten::softmax" && in.size() >= 2 && in[1]->kind == Bound::Kind::constant) {
    m.kind = OpKind::softmax;
    a.dim = normalise_dim(in[1]->constant.toInt(), rank);
    return m;
  }
  if (op == "aten::matmul" && dynamic_tensors == 2) {
    m.kind = OpKind::matmul;
    return m;
  }
  return m;
}

}  // namespace tandem::ts_import
