// The CUDA backend's Google Benchmark suite (built only when CMake finds nvcc; see
// docs/benchmarks.md, "GPU benchmarks"). Every time is measured with CUDA events on hepnn's
// stream and handed to Google Benchmark with SetIterationTime (UseManualTime), after a warm-up
// outside the timing. Inputs are random (Philox), never zeros.
//
//   bm_gemm                  ops::gemm<cuda> (cuBLAS) at the MLP's shapes, batch 128/1024/4096, and 4096³
//   bm_dense_forward         ops::dense_forward<cuda> with ReLU at the same shapes; it times the plain
//                            product on the same buffers in alternation and reports dense/gemm
//   bm_train_step_mlp        one train_on_batch of the 784-500-300-10 MLP (dropout 0.2/0.5/0.5, Adam 1e-3)
//   bm_train_step_cnn        one train_on_batch of the CNN of benchmarks/train_cnn.cpp
//   bm_infer_mlp             predict(span, span, Workspace&) of the 784-500-300-10 MLP, batch 1 ... 4096
//   bm_infer_small_mlp       the same for the 20-64-64-1 MLP of bench_models (the CPU suite's case)
//
// Small operations are enqueued back to back over several buffer sets (rotated so that the
// working set exceeds the GPU's L2 cache) between one pair of events; the iteration time is the
// average per operation. Options: --tf32 (matrix products on TF32 tensor cores; default off,
// plain FP32), then the usual --benchmark_* flags. Without a GPU every case is skipped with
// "no CUDA GPU".
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "hepnn/backend/cuda/api.hpp"
#include "hepnn/hepnn.hpp"

namespace {

using namespace hepnn;
namespace gpu = hepnn::backend::cuda;

/// Buffer sets are added until they hold this many bytes together: more than twice the 50 MB
/// L2 cache of an H100, so that a product does not find its operands left in L2 by the last one.
constexpr double rotation_bytes = 128.0 * (1 << 20);
constexpr std::int64_t max_sets = 64;

bool have_gpu(benchmark::State& state) {
  if (gpu::available()) return true;
  state.SkipWithError("no CUDA GPU");
  return false;
}

std::int64_t sets_for(double bytes_per_set) {
  return std::clamp<std::int64_t>(std::int64_t(rotation_bytes / bytes_per_set) + 1, 1, max_sets);
}

/// out[i] uniform in [lo, lo + width) from Philox (seed, stream), 24 random bits each.
void fill_uniform(float* out, std::int64_t n, std::uint64_t seed, std::uint64_t stream, float lo, float width) {
  std::vector<std::uint32_t> bits(static_cast<std::size_t>(n));
  philox_fill_u32(seed, stream, 0, n, bits.data());
  for (std::int64_t i = 0; i < n; ++i) out[i] = lo + width * float(bits[std::size_t(i)] >> 8) * (1.0f / 16777216.0f);
}

/// Uniform in [-1, 1) from Philox stream `stream`, copied to the device.
Tensor<float, cuda> random_device(const Shape& shape, std::uint64_t stream) {
  Tensor<float> h(shape);
  fill_uniform(h.data(), h.size(), 11, stream, -1.0f, 2.0f);
  return h.to<cuda>();
}

/// Random images in [0, 1) and random class labels 0..9, on the host (train_on_batch stages
/// them to the device itself, as in a real training loop).
data::Dataset<float> random_batch(const Shape& x_shape, std::uint64_t stream) {
  Tensor<float> x(x_shape), y(Shape{x_shape[0], 1});
  fill_uniform(x.data(), x.size(), 21, stream, 0.0f, 1.0f);
  for (std::int64_t i = 0; i < y.size(); ++i) y.data()[i] = float(philox_u32(22, stream, std::uint64_t(i)) % 10);
  return data::Dataset<float>(std::move(x), std::move(y));
}

/// Seconds between start() and stop(), measured by two CUDA events on hepnn's stream.
class GpuTimer {
 public:
  void start() { m_start.record(); }
  double stop() {
    m_stop.record();
    m_stop.synchronize();
    return double(gpu::Event::elapsed_ms(m_start, m_stop)) * 1e-3;
  }

 private:
  gpu::Event m_start, m_stop;
};

std::size_t device_mallocs() { return gpu::memory_stats().device_mallocs; }

// ---- matrix products and Dense layers ----

/// One set of operands of y (M, N) = x (M, K) W (K, N) (+ b).
struct GemmSet {
  Tensor<float, cuda> x, w, b, y;
};

std::vector<GemmSet> gemm_sets(std::int64_t M, std::int64_t K, std::int64_t N) {
  const double bytes = 4.0 * double(M * K + K * N + N + M * N);
  std::vector<GemmSet> sets;
  for (std::int64_t s = 0, n = sets_for(bytes); s < n; ++s)
    sets.push_back({random_device(Shape{M, K}, std::uint64_t(4 * s)), random_device(Shape{K, N}, std::uint64_t(4 * s + 1)),
                    random_device(Shape{N}, std::uint64_t(4 * s + 2)), random_device(Shape{M, N}, std::uint64_t(4 * s + 3))});
  return sets;
}

/// y = x w for every set, queued back to back.
void gemm_all(std::vector<GemmSet>& sets, std::int64_t M, std::int64_t K, std::int64_t N) {
  for (GemmSet& s : sets) ops::gemm<cuda>(false, false, M, N, K, 1.0f, s.x.data(), s.w.data(), 0.0f, s.y.data());
}

void bm_gemm(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const std::int64_t M = state.range(0), K = state.range(1), N = state.range(2);
  std::vector<GemmSet> sets = gemm_sets(M, K, N);
  const auto run_all = [&] { gemm_all(sets, M, K, N); };
  for (int w = 0; w < 3; ++w) run_all();  // cuBLAS's first call, clocks up
  gpu::synchronize();
  GpuTimer timer;
  double seconds = 0;
  std::int64_t products = 0;
  for (auto _ : state) {
    timer.start();
    run_all();
    const double s = timer.stop();
    state.SetIterationTime(s / double(sets.size()));
    seconds += s;
    products += std::int64_t(sets.size());
  }
  state.counters["GFLOP/s"] = 2.0 * double(M) * double(N) * double(K) * double(products) / seconds * 1e-9;
  state.counters["sets"] = double(sets.size());
}

void bm_dense_forward(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const std::int64_t M = state.range(0), K = state.range(1), N = state.range(2);
  std::vector<GemmSet> sets = gemm_sets(M, K, N);
  const auto run_dense = [&] {
    for (GemmSet& s : sets)
      ops::dense_forward<cuda>(M, K, N, s.x.data(), s.w.data(), s.b.data(), Activation::relu, 0.0f, s.y.data(),
                               s.y.data());
  };
  const auto run_gemm = [&] { gemm_all(sets, M, K, N); };
  for (int w = 0; w < 3; ++w) {
    run_dense();
    run_gemm();
  }
  gpu::synchronize();
  GpuTimer timer;
  double dense_s = 0, gemm_s = 0;
  std::int64_t rounds = 0;
  for (auto _ : state) {
    timer.start();
    run_dense();
    const double s = timer.stop();
    state.SetIterationTime(s / double(sets.size()));
    dense_s += s;
    // The plain product on the same buffers, alternating with the layer (not part of the
    // reported time): the ratio is not skewed by clock or temperature drift between two cases.
    timer.start();
    run_gemm();
    gemm_s += timer.stop();
    ++rounds;
  }
  const double flops = 2.0 * double(M) * double(N) * double(K) * double(rounds) * double(sets.size());
  state.counters["GFLOP/s"] = flops / dense_s * 1e-9;
  state.counters["gemm_GFLOP/s"] = flops / gemm_s * 1e-9;
  state.counters["dense/gemm"] = gemm_s / dense_s;
  state.counters["sets"] = double(sets.size());
}

void gemm_shapes(benchmark::internal::Benchmark* b) {
  for (std::int64_t B : {128, 1024, 4096})
    for (auto [K, N] : {std::pair<std::int64_t, std::int64_t>{784, 500}, {500, 300}, {300, 10}}) b->Args({B, K, N});
  b->Args({4096, 4096, 4096});
}

// ---- whole models ----

Sequential<float, cuda> mlp() {
  return Sequential<float, cuda>(Input{784}, Dropout{0.2}, Dense{500, Activation::relu}, Dropout{0.5},
                                 Dense{300, Activation::relu}, Dropout{0.5}, Dense{10});
}

Sequential<float, cuda> cnn() {
  return Sequential<float, cuda>(
      Input{1, 28, 28}, Conv2D{.filters = 32, .kernel_size = 5, .padding = Padding::same, .activation = Activation::relu},
      MaxPool2D{.pool_size = 2},
      Conv2D{.filters = 64, .kernel_size = 5, .padding = Padding::same, .activation = Activation::relu},
      MaxPool2D{.pool_size = 2}, Flatten{}, Dense{.units = 128, .activation = Activation::relu}, Dropout{.rate = 0.5},
      Dense{.units = 10});
}

/// Training steps on `batches` host batches in turn; samples/s and the cudaMalloc calls made
/// in the timed loop (0 when the caching allocator does its job).
void train_steps(benchmark::State& state, Sequential<float, cuda>& model, const std::vector<data::Dataset<float>>& batches) {
  model.compile({.loss = CategoricalCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 1e-3},
                 .seed = 1});
  for (std::size_t w = 0; w < 3 * batches.size(); ++w) benchmark::DoNotOptimize(model.train_on_batch(batches[w % batches.size()]));
  gpu::synchronize();
  const std::size_t mallocs = device_mallocs();
  GpuTimer timer;
  double seconds = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    timer.start();
    benchmark::DoNotOptimize(model.train_on_batch(batches[i++ % batches.size()]));
    const double s = timer.stop();
    state.SetIterationTime(s);
    seconds += s;
  }
  state.counters["samples/s"] = double(batches[0].size()) * double(state.iterations()) / seconds;
  state.counters["mallocs_in_loop"] = double(device_mallocs() - mallocs);
}

void bm_train_step_mlp(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const std::int64_t B = state.range(0);
  std::vector<data::Dataset<float>> batches;
  for (std::uint64_t s = 0; s < 4; ++s) batches.push_back(random_batch(Shape{B, 784}, s));
  Sequential<float, cuda> model = mlp();
  train_steps(state, model, batches);
}

void bm_train_step_cnn(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const std::int64_t B = state.range(0);
  std::vector<data::Dataset<float>> batches;
  for (std::uint64_t s = 0; s < 4; ++s) batches.push_back(random_batch(Shape{B, 1, 28, 28}, s));
  Sequential<float, cuda> model = cnn();
  train_steps(state, model, batches);
}

/// predict(span, span, Workspace&) from host inputs to host outputs, over 4 input buffers in turn.
void infer(benchmark::State& state, const Sequential<float, cuda>& model, std::int64_t in_row, std::int64_t out_row) {
  const std::int64_t B = state.range(0);
  std::vector<std::vector<float>> xs(4, std::vector<float>(std::size_t(B * in_row)));
  for (std::size_t s = 0; s < xs.size(); ++s) fill_uniform(xs[s].data(), std::int64_t(xs[s].size()), 7, s, -1.0f, 2.0f);
  std::vector<float> out(std::size_t(B * out_row));
  Sequential<float, cuda>::Workspace ws;
  for (std::size_t w = 0; w < 3 * xs.size(); ++w)
    model.predict(std::span<const float>(xs[w % xs.size()]), std::span<float>(out), ws);
  gpu::synchronize();
  const std::size_t mallocs = device_mallocs();
  GpuTimer timer;
  double seconds = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    timer.start();
    model.predict(std::span<const float>(xs[i++ % xs.size()]), std::span<float>(out), ws);
    const double s = timer.stop();
    benchmark::ClobberMemory();
    state.SetIterationTime(s);
    seconds += s;
  }
  state.counters["events/s"] = double(B) * double(state.iterations()) / seconds;
  state.counters["mallocs_in_loop"] = double(device_mallocs() - mallocs);
}

void bm_infer_mlp(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const Sequential<float, cuda> model = mlp();
  infer(state, model, 784, 10);
}

void bm_infer_small_mlp(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const Sequential<float, cuda> model(Input{20}, Dense{64, Activation::tanh}, Dense{64, Activation::tanh},
                                      Dense{1, Activation::sigmoid});
  infer(state, model, 20, 1);
}

}  // namespace

BENCHMARK(bm_gemm)->ArgNames({"M", "K", "N"})->Apply(gemm_shapes)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(bm_dense_forward)
    ->ArgNames({"M", "K", "N"})
    ->Apply(gemm_shapes)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(bm_train_step_mlp)->ArgName("batch")->Arg(128)->Arg(1024)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(bm_train_step_cnn)->ArgName("batch")->Arg(128)->Arg(1024)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(bm_infer_mlp)->ArgName("batch")->Arg(1)->Arg(16)->Arg(256)->Arg(1024)->Arg(4096)->UseManualTime()->Unit(
    benchmark::kMicrosecond);
BENCHMARK(bm_infer_small_mlp)
    ->ArgName("batch")
    ->Arg(1)
    ->Arg(16)
    ->Arg(256)
    ->Arg(1024)
    ->Arg(4096)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

int main(int argc, char** argv) {
  bool tf32 = false;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--tf32") == 0) tf32 = true;
    else argv[kept++] = argv[i];
  }
  argc = kept;
  if (gpu::available()) {
    gpu::set_tf32(tf32);
    benchmark::AddCustomContext("hepnn_cuda_device", gpu::device_name());
    benchmark::AddCustomContext("hepnn_tf32", gpu::tf32() ? "on (TF32 tensor cores)" : "off (plain FP32 products)");
  } else {
    benchmark::AddCustomContext("hepnn_cuda_device", "none: no CUDA GPU, every benchmark is skipped");
  }
  benchmark::AddCustomContext("hepnn_timing", "CUDA events on hepnn's stream (manual time), warm-up untimed");
  benchmark::AddCustomContext("hepnn_version", hepnn_version);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
