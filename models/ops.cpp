#include "models/ops.hpp"

#include <ATen/ATen.h>

namespace tandem::detail {
namespace {

// Below this many MACs a convolution is dominated by oneDNN's per-call set-up
// (measured at one thread: 8->8 channels 3x3 at 16x16, 147k MACs, 31.7 us
// through at::mkldnn_convolution against 15.2 us through at::conv2d; the two
// cross near 1M MACs).
constexpr double k_small_conv_macs = 1e6;

// Larger convolutions go straight to oneDNN: at one intra-op thread LibTorch
// may otherwise take its im2col + BLAS path. bench/executor_bench.cpp
// compares the two paths (here: equal or up to 1.4x faster, never slower).
at::Tensor conv2d(const Node& n, const at::Tensor& x, const std::vector<at::Tensor>& p) {
  const auto& a = n.attrs;
  c10::optional<at::Tensor> bias;
  if (a.bias) bias = p.at(1);
  if (n.macs < k_small_conv_macs) {
    return at::conv2d(x, p.at(0), bias, {a.stride_h, a.stride_w}, {a.pad_h, a.pad_w}, {1, 1}, a.groups);
  }
  return at::mkldnn_convolution(x, p.at(0), bias, {a.pad_h, a.pad_w}, {a.stride_h, a.stride_w},
                                {1, 1}, a.groups);
}

}  // namespace

at::Tensor apply_op(const Node& n, const std::vector<at::Tensor>& in,
                    const std::vector<at::Tensor>& p) {
  const auto& a = n.attrs;
  switch (n.kind) {
    case OpKind::input:
      return in.at(0);
    case OpKind::conv2d:
      return conv2d(n, in.at(0), p);
    case OpKind::linear:
      return a.bias ? at::linear(in.at(0), p.at(0), p.at(1)) : at::linear(in.at(0), p.at(0));
    case OpKind::max_pool2d:
      return at::max_pool2d(in.at(0), {a.kernel_h, a.kernel_w}, {a.stride_h, a.stride_w},
                            {a.pad_h, a.pad_w}, {1, 1}, a.ceil_mode);
    case OpKind::avg_pool2d:
      return at::avg_pool2d(in.at(0), {a.kernel_h, a.kernel_w}, {a.stride_h, a.stride_w},
                            {a.pad_h, a.pad_w}, a.ceil_mode);
    case OpKind::adaptive_avg_pool2d:
      return at::adaptive_avg_pool2d(in.at(0), {a.out_h, a.out_w});
    case OpKind::batch_norm2d:
      // weight, bias, running_mean, running_var; inference mode.
      return at::batch_norm(in.at(0), p.at(0), p.at(1), p.at(2), p.at(3), false, 0.0, a.eps,
                            false);
    case OpKind::relu:
      return at::relu(in.at(0));
    case OpKind::relu6:
      return at::hardtanh(in.at(0), 0.0, 6.0);
    case OpKind::add: {
      at::Tensor out = at::add(in.at(0), in.at(1));
      for (std::size_t i = 2; i < in.size(); ++i) out.add_(in[i]);
      return out;
    }
    case OpKind::concat:
      return at::cat(in, a.concat_dim);
    case OpKind::flatten:
      return at::flatten(in.at(0), 1);
    case OpKind::dropout:
      return in.at(0);  // inference: identity
    case OpKind::softmax:
      return at::softmax(in.at(0), a.dim);
    case OpKind::hardswish:
      return at::hardswish(in.at(0));
    case OpKind::hardsigmoid:
      return at::hardsigmoid(in.at(0));
    case OpKind::silu:
      return at::silu(in.at(0));
    case OpKind::sigmoid:
      return at::sigmoid(in.at(0));
    case OpKind::gelu:
      return at::gelu(in.at(0));
    case OpKind::tanh:
      return at::tanh(in.at(0));
    case OpKind::mul: {
      at::Tensor out = at::mul(in.at(0), in.at(1));
      for (std::size_t i = 2; i < in.size(); ++i) out.mul_(in[i]);
      return out;
    }
    case OpKind::mean:
      return at::mean(in.at(0), a.dims, a.keepdim);
    case OpKind::reshape:
      return at::reshape(in.at(0), n.out_shape);
    case OpKind::permute:
      return in.at(0).permute(a.dims);
    case OpKind::contiguous:
      // A dense copy whatever the input's layout: what the node costs when it has work.
      return in.at(0).clone(at::MemoryFormat::Contiguous);
    case OpKind::matmul:
      return at::matmul(in.at(0), in.at(1));
    case OpKind::generic:
      throw std::logic_error("apply_op: a generic node runs its own kernel");
    case OpKind::local_response_norm: {
      // torch.nn.functional.local_response_norm with alpha=1e-4, beta=0.75, k=1.
      const at::Tensor& x = in.at(0);
      at::Tensor div = x.mul(x).unsqueeze(1);
      const std::int64_t size = a.lrn_size;
      div = at::constant_pad_nd(div, {0, 0, 0, 0, size / 2, (size - 1) / 2});
      div = at::avg_pool3d(div, {size, 1, 1}, {1, 1, 1}).squeeze(1);
      div = div.mul(1e-4).add(1.0).pow(0.75);
      return x.div(div);
    }
  }
  throw std::logic_error("apply_op: unhandled kind");
}

}  // namespace tandem::detail
