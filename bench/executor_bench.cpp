// Why convolutions call at::mkldnn_convolution directly (docs/design.md §10): at one
// intra-op thread LibTorch sends 1x1 convolutions down im2col + BLAS. Compares
// the two paths on the same tensors, and whole-model runs through the
// executor.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include "models/model.hpp"

namespace {

struct ConvCase {
  std::int64_t cin, cout, size, kernel;
};

const ConvCase k_cases[] = {{256, 1024, 14, 1}, {64, 64, 56, 3}, {512, 512, 7, 3}};

void conv_args(benchmark::internal::Benchmark* b) {
  for (std::int64_t i = 0; i < 3; ++i) b->Arg(i);
}

void BM_conv2d_reference(benchmark::State& state) {
  at::set_num_threads(1);
  const auto& c = k_cases[state.range(0)];
  const at::Tensor x = at::randn({1, c.cin, c.size, c.size});
  const at::Tensor w = at::randn({c.cout, c.cin, c.kernel, c.kernel});
  for (auto _ : state) {
    benchmark::DoNotOptimize(at::conv2d(x, w, {}, 1, c.kernel / 2));
  }
  state.SetLabel(std::to_string(c.cin) + "->" + std::to_string(c.cout) + " k" +
                 std::to_string(c.kernel) + " @" + std::to_string(c.size));
}

void BM_conv2d_onednn(benchmark::State& state) {
  at::set_num_threads(1);
  const auto& c = k_cases[state.range(0)];
  const at::Tensor x = at::randn({1, c.cin, c.size, c.size});
  const at::Tensor w = at::randn({c.cout, c.cin, c.kernel, c.kernel});
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        at::mkldnn_convolution(x, w, {}, {c.kernel / 2, c.kernel / 2}, {1, 1}, {1, 1}, 1));
  }
  state.SetLabel(std::to_string(c.cin) + "->" + std::to_string(c.cout) + " k" +
                 std::to_string(c.kernel) + " @" + std::to_string(c.size));
}

BENCHMARK(BM_conv2d_reference)->Apply(conv_args)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_conv2d_onednn)->Apply(conv_args)->Unit(benchmark::kMillisecond);

void BM_model_one_thread(benchmark::State& state, const char* name) {
  at::set_num_threads(1);
  const auto model = tandem::build_model(name);
  const at::Tensor x = model->make_input(1);
  model->run(x);  // warm-up
  for (auto _ : state) benchmark::DoNotOptimize(model->run(x));
}

BENCHMARK_CAPTURE(BM_model_one_thread, resnet50, "resnet50")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_model_one_thread, alexnet, "alexnet")->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
