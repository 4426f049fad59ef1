// Whole models: one training step (forward, loss, backward, Adam) of the 784-500-300-10 MLP
// with dropout at batch 128, and inference of the 20-64-64-1 MLP (tanh, tanh, sigmoid) at
// batch sizes 1 to 4096 through the allocation-free predict, at 1 and 2 threads.
// Counters: samples/s (training), events/s (inference). Random inputs: the cost does not
// depend on the values (benchmarks/train_mlp.cpp trains on real Fashion-MNIST).
#include <benchmark/benchmark.h>

#include <vector>

#include "hepnn/hepnn.hpp"

namespace {

using namespace hepnn;

void bm_train_step_mlp(benchmark::State& state) {
  set_num_threads(int(state.range(0)));
  const std::int64_t B = 128;
  Tensor<float> x(Shape{B, 784}), y(Shape{B, 1});
  for (std::int64_t i = 0; i < x.size(); ++i) x.data()[i] = philox_uniform(1, 1, std::uint64_t(i));
  for (std::int64_t i = 0; i < B; ++i) y.data()[i] = float(i % 10);
  const data::Dataset<float> batch(std::move(x), std::move(y));
  Sequential<float> model(Input{784}, Dropout{0.2}, Dense{500, Activation::relu}, Dropout{0.5},
                          Dense{300, Activation::relu}, Dropout{0.5}, Dense{10});
  model.compile({.loss = CategoricalCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 1e-3}});
  model.train_on_batch(batch);  // sizes the buffers
  for (auto _ : state) benchmark::DoNotOptimize(model.train_on_batch(batch));
  state.counters["samples/s"] = benchmark::Counter(double(B), benchmark::Counter::kIsIterationInvariantRate);
}

void bm_infer_small_mlp(benchmark::State& state) {
  const std::int64_t B = state.range(0);
  set_num_threads(int(state.range(1)));
  const Sequential<float> model(Input{20}, Dense{64, Activation::tanh}, Dense{64, Activation::tanh},
                                Dense{1, Activation::sigmoid});
  std::vector<float> x(static_cast<std::size_t>(B * 20)), out(static_cast<std::size_t>(B));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(philox_normal(7, 0, i));
  Sequential<float>::Workspace ws;
  model.predict(std::span<const float>(x), std::span<float>(out), ws);
  for (auto _ : state) {
    model.predict(std::span<const float>(x), std::span<float>(out), ws);
    benchmark::ClobberMemory();
  }
  state.counters["events/s"] = benchmark::Counter(double(B), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(bm_train_step_mlp)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(bm_infer_small_mlp)
    ->ArgNames({"batch", "threads"})
    ->ArgsProduct({{1, 16, 256, 1024, 4096}, {1, 2}})
    ->UseRealTime();
BENCHMARK_MAIN();
