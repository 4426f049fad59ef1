// Dense layers forward and backward on the shapes of the 784-500-300-10 MLP (batch 128), and
// the activations forward and backward, at 1 and 2 threads.
// Counters: GFLOP/s (2 B in out per product; backward counts dW and dx, 4 B in out) and
// elements/s for the activations.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "hepnn/backend/cpu/parallel.hpp"
#include "hepnn/core/philox.hpp"
#include "hepnn/layers/dense.hpp"
#include "hepnn/ops/elementwise.hpp"

namespace {

std::vector<float> random(std::size_t n, std::uint64_t stream) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = hepnn::philox_uniform(1, stream, i) - 0.5f;
  return v;
}

// args: batch, in, out, activation (0 linear, 1 relu), backward?, threads
void bm_dense(benchmark::State& state) {
  const std::int64_t B = state.range(0), in = state.range(1), out = state.range(2);
  const auto act = state.range(3) ? hepnn::Activation::relu : hepnn::Activation::linear;
  const bool backward = state.range(4) != 0;
  hepnn::set_num_threads(int(state.range(5)));
  auto layer = hepnn::Dense{out, act}.build<float, hepnn::cpu>(hepnn::Shape{in}, "dense");
  std::vector<float> params(std::size_t(layer->num_params())), grads(params.size());
  layer->bind(params.data(), grads.data());
  layer->initialize(params.data(), 1, 2);
  const std::vector<float> x = random(std::size_t(B * in), 3), dy = random(std::size_t(B * out), 4);
  std::vector<float> y(std::size_t(B * out)), dx(std::size_t(B * in)),
      ws(std::size_t(B * layer->workspace_per_sample()));
  const hepnn::Pass pass{true, 1, 0, 0};
  layer->forward(B, x.data(), y.data(), ws.data(), pass);
  for (auto _ : state) {
    if (backward) layer->backward(B, x.data(), y.data(), dy.data(), dx.data(), ws.data(), pass);
    else layer->forward(B, x.data(), y.data(), ws.data(), pass);
    benchmark::ClobberMemory();
  }
  const double flops = (backward ? 4.0 : 2.0) * double(B) * double(in) * double(out);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

void dense_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"B", "in", "out", "relu", "bwd", "threads"});
  for (int threads : {1, 2})
    for (int bwd : {0, 1})
      for (auto [in, out, relu] : {std::tuple{784, 500, 1}, std::tuple{500, 300, 1}, std::tuple{300, 10, 0}})
        b->Args({128, in, out, relu, bwd, threads});
}

// args: activation, backward?, threads; 128 x 500 elements
void bm_activation(benchmark::State& state) {
  const auto a = static_cast<hepnn::Activation>(state.range(0));
  const bool backward = state.range(1) != 0;
  hepnn::set_num_threads(int(state.range(2)));
  const std::int64_t n = 128 * 500;
  const std::vector<float> x = random(std::size_t(n), 5), dy = random(std::size_t(n), 6);
  std::vector<float> y(x.size()), dx(x.size());
  hepnn::ops::activation_forward<hepnn::cpu>(a, 0.01f, n, x.data(), y.data());
  for (auto _ : state) {
    if (backward) hepnn::ops::activation_backward<hepnn::cpu>(a, 0.01f, n, x.data(), y.data(), dy.data(), dx.data());
    else hepnn::ops::activation_forward<hepnn::cpu>(a, 0.01f, n, x.data(), y.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(hepnn::to_string(a));
  state.counters["elements/s"] = benchmark::Counter(double(n), benchmark::Counter::kIsIterationInvariantRate);
}

void activation_kinds(benchmark::internal::Benchmark* b) {
  b->ArgNames({"act", "bwd", "threads"});
  for (int threads : {1, 2})
    for (int bwd : {0, 1})
      for (auto a : {hepnn::Activation::relu, hepnn::Activation::tanh, hepnn::Activation::sigmoid,
                     hepnn::Activation::elu, hepnn::Activation::gelu})
        b->Args({int(a), bwd, threads});
}

// dropout forward (the mask is drawn from Philox), 128 x 784
void bm_dropout(benchmark::State& state) {
  hepnn::set_num_threads(int(state.range(0)));
  const std::int64_t n = 128 * 784;
  const std::vector<float> x = random(std::size_t(n), 7);
  std::vector<float> y(x.size());
  std::uint64_t step = 0;
  for (auto _ : state) {
    hepnn::ops::dropout_forward<hepnn::cpu>(n, 0.2f, 1, step++, x.data(), y.data());
    benchmark::ClobberMemory();
  }
  state.counters["elements/s"] = benchmark::Counter(double(n), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(bm_dense)->Apply(dense_shapes)->UseRealTime();
BENCHMARK(bm_activation)->Apply(activation_kinds)->UseRealTime();
BENCHMARK(bm_dropout)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK_MAIN();
