// hepnn's thread pool under ThreadSanitizer (ctest -L tsan), built with threads but without
// OpenMP (HEPNN_THREADS_WITHOUT_OPENMP; libgomp is not instrumented): many regions from one and
// from several caller threads, some of them "hot" (the threads wait for the next region without
// sleeping first, when the machine has free cores), and a fit with 2 threads that must equal the fit with 1 thread
// bitwise. Exits non-zero on a wrong result; ThreadSanitizer fails the run on a data race.
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "hepnn/backend/cpu/parallel.hpp"
#include "hepnn/layers/activations.hpp"
#include "hepnn/layers/dense.hpp"
#include "hepnn/train/sequential.hpp"

using namespace hepnn;

namespace {
std::vector<float> train(int threads) {
  set_num_threads(threads);
  Sequential<float> m(Input{64}, Dense{256, Activation::relu}, Dense{128, Activation::tanh}, Dense{4});
  m.compile({.loss = CategoricalCrossEntropy{.from_logits = true}, .optimizer = Adam{}, .seed = 3});
  const std::int64_t n = 512;
  Tensor<float, cpu> x(Shape{n, 64}), y(Shape{n, 1});
  for (std::int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < 64; ++j) x(i, j) = float(philox_uniform(1, 0, std::uint64_t(i * 64 + j))) - 0.5f;
    y(i, 0) = float(i % 4);
  }
  m.fit(x, y, {.epochs = 2, .batch_size = 256, .verbose = 0});
  return m.parameters().to_vector();
}
}  // namespace

int main() {
  int failures = 0;
  std::vector<std::int64_t> out(1000);
  for (int round = 0; round < 300; ++round) {
    auto f = [&](std::int64_t c) { out[std::size_t(c)] = c * round; };
    // every other region "hot" (inference): the threads wait for the next one without sleeping
    backend::cpu::detail::ChunkPool::instance().run(2 + round % 3, 1000, f, round % 2 == 1);
    for (std::int64_t c = 0; c < 1000; ++c) failures += out[std::size_t(c)] != c * round;
  }
  std::vector<std::thread> callers;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 3; ++t)
    callers.emplace_back([&, t] {
      std::vector<std::int64_t> mine(200);
      for (int round = 0; round < 100; ++round) {
        auto f = [&](std::int64_t c) { mine[std::size_t(c)] = c + t + round; };
        backend::cpu::detail::ChunkPool::instance().run(2, 200, f, round % 3 == 0);
        for (std::int64_t c = 0; c < 200; ++c) wrong += mine[std::size_t(c)] != c + t + round;
      }
    });
  for (auto& c : callers) c.join();
  failures += wrong.load();
  const std::vector<float> one = train(1), two = train(2);
  if (one != two) {
    std::printf("tsan_pool: training with 2 threads differs from 1 thread\n");
    ++failures;
  }
  std::printf("tsan_pool: %s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
