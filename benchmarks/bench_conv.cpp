// Conv2D and pooling forward/backward on the shapes of examples/04_fashion_mnist_cnn (batch 128,
// float), with 1 and 2 threads. Counters: GFLOP/s (2 flops per multiply-add of the convolution;
// backward counts the kernel gradient and the input gradient, 4 per multiply-add) and, for
// pooling, GB/s of input read.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "hepnn/backend/cpu/parallel.hpp"
#include "hepnn/layers/conv2d.hpp"
#include "hepnn/layers/pooling.hpp"

namespace {

using hepnn::Conv2D;
using hepnn::cpu;
using hepnn::Pass;
using hepnn::Shape;

std::vector<float> filled(std::int64_t n) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = float((i * 7919) % 1000) / 1000.0f - 0.5f;
  return v;
}

// args: C, H, W, filters, kernel, backward, threads
void bm_conv2d(benchmark::State& state) {
  const std::int64_t C = state.range(0), H = state.range(1), W = state.range(2), F = state.range(3),
                     K = state.range(4), B = 128;
  const bool backward = state.range(5) != 0;
  hepnn::set_num_threads(int(state.range(6)));
  auto layer = Conv2D{.filters = F, .kernel_size = K}.build<float, cpu>(Shape{C, H, W}, "conv2d");
  std::vector<float> p = filled(layer->num_params()), g(p.size());
  layer->bind(p.data(), g.data());
  const std::int64_t in = C * H * W, out = layer->output_shape().size();
  const auto x = filled(B * in), dy = filled(B * out);
  std::vector<float> y(static_cast<std::size_t>(B * out)), dx(static_cast<std::size_t>(B * in));
  Pass pass;
  pass.training = true;
  for (auto _ : state) {
    if (backward) layer->backward(B, x.data(), y.data(), dy.data(), dx.data(), nullptr, pass);
    else layer->forward(B, x.data(), y.data(), nullptr, pass);
    benchmark::ClobberMemory();
  }
  const double macs = double(B) * double(out) * double(C * K * K);
  state.counters["GFLOP/s"] = benchmark::Counter((backward ? 4.0 : 2.0) * macs,
                                                 benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

void conv_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"C", "H", "W", "F", "K", "bwd", "threads"});
  for (int threads : {1, 2})
    for (int bwd : {0, 1}) {
      b->Args({1, 28, 28, 32, 5, bwd, threads});   // example 04, first convolution
      b->Args({32, 12, 12, 64, 5, bwd, threads});  // example 04, second convolution
      b->Args({64, 16, 16, 64, 3, bwd, threads});  // a 3x3 layer of a deeper network
    }
}

// args: C, H, W, pool, max (1) or average (0), backward, threads
void bm_pool2d(benchmark::State& state) {
  const std::int64_t C = state.range(0), H = state.range(1), W = state.range(2), P = state.range(3), B = 128;
  const bool max = state.range(4) != 0, backward = state.range(5) != 0;
  hepnn::set_num_threads(int(state.range(6)));
  std::unique_ptr<hepnn::Layer<float, cpu>> layer;
  if (max) layer = hepnn::MaxPool2D{.pool_size = P}.build<float, cpu>(Shape{C, H, W}, "pool");
  else layer = hepnn::AvgPool2D{.pool_size = P}.build<float, cpu>(Shape{C, H, W}, "pool");
  const std::int64_t in = C * H * W, out = layer->output_shape().size();
  const auto x = filled(B * in), dy = filled(B * out);
  std::vector<float> y(static_cast<std::size_t>(B * out)), dx(static_cast<std::size_t>(B * in)),
      ws(static_cast<std::size_t>(B * layer->workspace_per_sample()));
  layer->forward(B, x.data(), y.data(), ws.data(), Pass{});
  for (auto _ : state) {
    if (backward) layer->backward(B, x.data(), y.data(), dy.data(), dx.data(), ws.data(), Pass{});
    else layer->forward(B, x.data(), y.data(), ws.data(), Pass{});
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = benchmark::Counter(double(B * in) * sizeof(float),
                                              benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
  state.counters["GFLOP/s"] = benchmark::Counter(double(B * out) * double(P * P),
                                                 benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

void pool_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"C", "H", "W", "P", "max", "bwd", "threads"});
  for (int threads : {1, 2})
    for (int max : {1, 0})
      for (int bwd : {0, 1}) {
        b->Args({32, 24, 24, 2, max, bwd, threads});  // example 04, first pooling
        b->Args({64, 8, 8, 2, max, bwd, threads});    // example 04, second pooling
      }
}

}  // namespace

BENCHMARK(bm_conv2d)->Apply(conv_shapes)->UseRealTime();
BENCHMARK(bm_pool2d)->Apply(pool_shapes)->UseRealTime();
BENCHMARK_MAIN();
