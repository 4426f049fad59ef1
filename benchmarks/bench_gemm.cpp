// Matrix products on the shapes of the 784-500-300-10 MLP (batch 128) and on large squares,
// with 1 and 2 threads. Counter: GFLOP/s (2 M N K per product).
#include <benchmark/benchmark.h>

#include <vector>

#include "hepnn/backend/cpu/parallel.hpp"
#include "hepnn/ops/gemm.hpp"

namespace {

// args: M, N, K, trans_a, trans_b, threads
void bm_gemm(benchmark::State& state) {
  const std::int64_t M = state.range(0), N = state.range(1), K = state.range(2);
  const bool ta = state.range(3) != 0, tb = state.range(4) != 0;
  hepnn::set_num_threads(int(state.range(5)));
  std::vector<float> a(std::size_t(M * K), 0.5f), b(std::size_t(K * N), 0.25f), c(std::size_t(M * N));
  for (auto _ : state) {
    hepnn::ops::gemm<hepnn::cpu>(ta, tb, M, N, K, 1.0f, a.data(), b.data(), 0.0f, c.data());
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * double(M) * double(N) * double(K), benchmark::Counter::kIsIterationInvariantRate,
                         benchmark::Counter::kIs1000);
}

void mlp_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K", "tA", "tB", "threads"});
  for (int threads : {1, 2}) {
    // forward y = x W: (128 x in) (in x out)
    for (auto [in, out] : {std::pair{784, 500}, std::pair{500, 300}, std::pair{300, 10}}) {
      b->Args({128, out, in, 0, 0, threads});   // forward
      b->Args({in, out, 128, 1, 0, threads});   // dW = x^T dz
      b->Args({128, in, out, 0, 1, threads});   // dx = dz W^T
    }
    b->Args({20, 64, 1, 0, 0, threads});
    b->Args({1024, 64, 20, 0, 0, threads});
    b->Args({1024, 64, 64, 0, 0, threads});
    b->Args({1024, 1024, 1024, 0, 0, threads});
  }
}

}  // namespace

BENCHMARK(bm_gemm)->Apply(mlp_shapes)->UseRealTime();
BENCHMARK_MAIN();
