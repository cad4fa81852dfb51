// The synthetic layer sweep: seeded configurations spanning real CNN shapes.
//
// Real CNNs trade spatial size for channels stage by stage (224² × 3 →
// 112² × 32–64 → … → 7² × 512–2048); configurations are drawn stage by stage
// so the sweep covers what the zoo — and unseen models like it — contain,
// not corners no network has.

#include <algorithm>
#include <cmath>
#include <random>

#include "predictor/profiler.hpp"

namespace tandem::predictor {
namespace {

struct Stage {
  std::int64_t hw, c_min, c_max;
};

// Spatial size and the channel range of a typical CNN stage; the last two are
// AlexNet's 13² and the small CNNs of LeNet / CIFAR scale.
const std::vector<Stage>& stages() {
  static const std::vector<Stage> s{{112, 16, 128}, {56, 24, 256}, {28, 32, 512},
                                    {14, 64, 1024}, {7, 128, 2048}, {13, 64, 512},
                                    {28, 4, 32}};
  return s;
}

// Caps keep single sweep layers within what the zoo itself contains.
constexpr double k_max_conv_macs = 2.0e9;
constexpr double k_max_linear_params = 1.1e8;

class Draw {
 public:
  explicit Draw(std::uint64_t seed) : rng_(seed) {}
  double uniform(double lo, double hi) { return std::uniform_real_distribution<>(lo, hi)(rng_); }
  bool chance(double p) { return uniform(0, 1) < p; }
  template <class T>
  T pick(const std::vector<T>& v) {
    return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng_)];
  }
  // Log-uniform in [lo, hi], rounded to a multiple of `step` (at least step).
  std::int64_t log_int(double lo, double hi, std::int64_t step = 8) {
    const double v = std::exp(uniform(std::log(lo), std::log(hi)));
    return std::max<std::int64_t>(step, static_cast<std::int64_t>(std::llround(v / step)) * step);
  }
  Stage stage() { return pick(stages()); }

 private:
  std::mt19937_64 rng_;
};

Shape nchw(std::int64_t c, std::int64_t hw) { return {1, c, hw, hw}; }

SweepLayer conv(std::int64_t cin, std::int64_t cout, std::int64_t hw, std::int64_t k,
                std::int64_t stride, std::int64_t groups, bool bias) {
  SweepLayer l;
  l.kind = OpKind::conv2d;
  l.attrs.in_channels = cin;
  l.attrs.out_channels = cout;
  l.attrs.kernel_h = l.attrs.kernel_w = k;
  l.attrs.stride_h = l.attrs.stride_w = stride;
  l.attrs.pad_h = l.attrs.pad_w = k / 2;
  l.attrs.groups = groups;
  l.attrs.bias = bias;
  l.input = nchw(cin, hw);
  return l;
}

double conv_macs(const SweepLayer& l) {
  const auto& a = l.attrs;
  const double out_hw = std::ceil(static_cast<double>(l.input[2]) / static_cast<double>(a.stride_h));
  return out_hw * out_hw * static_cast<double>(a.out_channels) *
         static_cast<double>(a.in_channels / a.groups * a.kernel_h * a.kernel_w);
}

void add_convs(std::vector<SweepLayer>& out, Draw& d, int n_kxk, int n_1x1, int n_dw,
               int n_grouped) {
  auto push = [&](const SweepLayer& l) {
    if (conv_macs(l) <= k_max_conv_macs) out.push_back(l);
  };
  for (int i = 0; i < n_kxk; ++i) {
    if (i % 8 == 0) {  // stems: 3 input channels at full resolution
      push(conv(3, d.pick<std::int64_t>({32, 64, 96}), 224, d.pick<std::int64_t>({3, 7, 11}),
                d.pick<std::int64_t>({2, 4}), 1, d.chance(0.5)));
      continue;
    }
    const Stage s = d.stage();
    push(conv(d.log_int(s.c_min, s.c_max), d.log_int(s.c_min, s.c_max), s.hw,
              d.chance(0.75) ? 3 : d.pick<std::int64_t>({5, 7}), d.chance(0.8) ? 1 : 2, 1,
              d.chance(0.4)));
  }
  for (int i = 0; i < n_1x1; ++i) {
    const Stage s = d.stage();
    push(conv(d.log_int(s.c_min, s.c_max * 2), d.log_int(s.c_min, s.c_max * 2), s.hw, 1,
              d.chance(0.85) ? 1 : 2, 1, d.chance(0.3)));
  }
  for (int i = 0; i < n_dw; ++i) {
    const Stage s = d.stage();
    const std::int64_t c = d.log_int(s.c_min, std::min<std::int64_t>(s.c_max * 2, 1536));
    push(conv(c, c, s.hw, d.chance(0.8) ? 3 : 5, d.chance(0.7) ? 1 : 2, c, false));
  }
  // Grouped: RegNet's and ResNeXt's 3x3 (group widths 8-64, some with
  // stride 2) and a few grouped 1x1 (ShuffleNet v1).
  for (int i = 0; i < n_grouped; ++i) {
    const Stage s = d.stage();
    const std::int64_t width = d.pick<std::int64_t>({8, 16, 24, 32, 64});
    const std::int64_t g = std::max<std::int64_t>(2, d.log_int(s.c_min, s.c_max * 2, width) / width);
    push(conv(g * width, g * width, s.hw, d.chance(0.85) ? 3 : 1, d.chance(0.8) ? 1 : 2, g, false));
  }
}

SweepLayer simple(OpKind kind, Shape input, int arity = 1) {
  SweepLayer l;
  l.kind = kind;
  l.input = std::move(input);
  l.arity = arity;
  if (kind == OpKind::concat) l.attrs.concat_dim = 1;
  if (kind == OpKind::batch_norm2d) {
    l.attrs.in_channels = l.attrs.out_channels = l.input[1];
    l.attrs.eps = 1e-5;
  }
  if (kind == OpKind::local_response_norm) l.attrs.lrn_size = 5;
  if (kind == OpKind::softmax) l.attrs.dim = 1;
  return l;
}

SweepLayer pool(OpKind kind, std::int64_t c, std::int64_t hw, std::int64_t k, std::int64_t s,
                std::int64_t pad, bool ceil) {
  SweepLayer l = simple(kind, nchw(c, hw));
  l.attrs.kernel_h = l.attrs.kernel_w = k;
  l.attrs.stride_h = l.attrs.stride_w = s;
  l.attrs.pad_h = l.attrs.pad_w = pad;
  l.attrs.ceil_mode = ceil;
  return l;
}

Shape stage_shape(Draw& d) {
  const Stage s = d.stage();
  return nchw(d.log_int(s.c_min, s.c_max * 2), s.hw);
}

Shape flat_shape(Draw& d) { return {1, d.log_int(10, 25088, 2)}; }

}  // namespace

std::vector<SweepLayer> sweep_layers(bool quick, std::uint64_t seed) {
  Draw d(seed);
  const auto n = [quick](int full) { return quick ? std::max(2, full / 5) : full; };
  std::vector<SweepLayer> out;
  add_convs(out, d, n(110), n(110), n(60), n(48));
  // Fully connected: log-uniform in weight count (the time is weight bytes
  // streamed), so classifier-sized layers of 10^7..10^8 weights are covered.
  for (int i = 0; i < n(40); ++i) {
    const double weights = std::exp(d.uniform(std::log(1e3), std::log(k_max_linear_params)));
    const std::int64_t in = d.log_int(std::max(64.0, weights / 4096), std::min(25088.0, weights / 10), 4);
    SweepLayer l = simple(OpKind::linear, {1, in});
    l.attrs.in_features = in;
    l.attrs.out_features = std::max<std::int64_t>(10, static_cast<std::int64_t>(weights) / in);
    l.attrs.bias = true;
    out.push_back(l);
  }
  for (int i = 0; i < n(30); ++i) {
    const Stage s = d.stage();
    const bool keep_size = d.chance(0.25);  // GoogLeNet's 3×3 stride-1 branch pool
    out.push_back(pool(OpKind::max_pool2d, d.log_int(s.c_min, s.c_max * 2), s.hw,
                       keep_size ? 3 : d.pick<std::int64_t>({2, 3}), keep_size ? 1 : 2,
                       keep_size ? 1 : 0, d.chance(0.5)));
  }
  for (int i = 0; i < n(15); ++i) {
    const Stage s = d.stage();
    out.push_back(pool(OpKind::avg_pool2d, d.log_int(s.c_min, s.c_max * 2), s.hw,
                       d.pick<std::int64_t>({2, 3}), 2, 0, false));
  }
  for (int i = 0; i < n(20); ++i) {
    SweepLayer l = simple(OpKind::adaptive_avg_pool2d, stage_shape(d));
    l.attrs.out_h = l.attrs.out_w = std::min(l.input[2], d.pick<std::int64_t>({1, 1, 6, 7}));
    out.push_back(l);
  }
  for (OpKind k : {OpKind::relu, OpKind::relu6, OpKind::batch_norm2d}) {
    for (int i = 0; i < n(30); ++i) {
      const bool flat = k == OpKind::relu && i % 5 == 0;
      out.push_back(simple(k, flat ? flat_shape(d) : stage_shape(d)));
    }
  }
  for (int i = 0; i < n(12); ++i) {
    out.push_back(simple(OpKind::dropout, i % 2 ? flat_shape(d) : stage_shape(d)));
    out.push_back(simple(OpKind::flatten, stage_shape(d)));
    out.push_back(simple(OpKind::softmax, i % 3 ? flat_shape(d) : stage_shape(d)));
  }
  for (int i = 0; i < n(30); ++i) {
    out.push_back(simple(OpKind::add, stage_shape(d), d.chance(0.85) ? 2 : 3));
    out.push_back(simple(OpKind::concat, stage_shape(d), static_cast<int>(d.pick<int>({2, 3, 4}))));
  }
  for (int i = 0; i < n(8); ++i) out.push_back(simple(OpKind::local_response_norm, stage_shape(d)));
  // Kinds only imported models have (docs/design.md §11).
  for (OpKind k : {OpKind::hardswish, OpKind::hardsigmoid, OpKind::silu, OpKind::sigmoid, OpKind::gelu,
                   OpKind::tanh}) {
    for (int i = 0; i < n(12); ++i) out.push_back(simple(k, i % 4 ? stage_shape(d) : flat_shape(d)));
  }
  for (int i = 0; i < n(15); ++i) out.push_back(simple(OpKind::mul, stage_shape(d), d.chance(0.85) ? 2 : 3));
  for (int i = 0; i < n(10); ++i) {
    SweepLayer l = simple(OpKind::mean, stage_shape(d));
    l.attrs.dims = {2, 3};
    l.attrs.keepdim = d.chance(0.5);
    out.push_back(l);
  }
  for (int i = 0; i < n(8); ++i) {
    SweepLayer flat = simple(OpKind::reshape, stage_shape(d));
    flat.attrs.dims = {1, flat.input[1] * flat.input[2] * flat.input[3]};
    out.push_back(flat);
    SweepLayer perm = simple(OpKind::permute, stage_shape(d));
    perm.attrs.dims = d.chance(0.5) ? std::vector<std::int64_t>{0, 2, 3, 1} : std::vector<std::int64_t>{0, 1, 3, 2};
    out.push_back(perm);
    out.push_back(simple(OpKind::contiguous, stage_shape(d)));
  }
  for (int i = 0; i < n(12); ++i) {
    // Attention-like products: (1, heads, n, n) @ (1, heads, n, n).
    const std::int64_t heads = d.pick<std::int64_t>({1, 2, 4, 8});
    const std::int64_t tokens = d.log_int(16, 256, 8);
    out.push_back(simple(OpKind::matmul, {1, heads, tokens, tokens}, 2));
  }
  for (int i = 0; i < n(21); ++i) {
    SweepLayer l = simple(OpKind::generic, i % 3 ? stage_shape(d) : flat_shape(d));
    l.attrs.op = generic_sweep_ops()[static_cast<std::size_t>(i) % generic_sweep_ops().size()];
    out.push_back(l);
  }
  return out;
}

}  // namespace tandem::predictor
