// Thread-safe inference, run under ThreadSanitizer (ctest -L tsan): several threads predict on
// one const model (loaded from a model file when hepnn::io is available, each thread also
// loading its own copy through the shared HDF5 lock) and must get exactly the results of one
// thread. A model that was never used before the threads start lays its parameters out on its
// first use, which several threads then reach at once. Exits non-zero on a mismatch;
// ThreadSanitizer fails the run on a data race.
#include <cstdio>
#include <thread>
#include <utility>
#include <vector>

#include "hepnn/layers/activations.hpp"
#include "hepnn/layers/dense.hpp"
#include "hepnn/layers/dropout.hpp"
#include "hepnn/train/sequential.hpp"
#ifdef HEPNN_TSAN_WITH_IO
#include "hepnn/io/model_file.hpp"
#endif

using namespace hepnn;

int main() {
  Sequential<float> trained(Input{6}, Dense{32, Activation::tanh}, Dropout{0.1}, Dense{16, Activation::relu}, Dense{3},
                            Softmax{});
  trained.compile({.loss = CategoricalCrossEntropy{}, .optimizer = Adam{}, .seed = 3});
  const std::int64_t n = 500;
  Tensor<float, cpu> x(Shape{n, 6}), y(Shape{n, 1});
  for (std::int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < 6; ++j) x(i, j) = float(philox_uniform(1, 0, std::uint64_t(i * 6 + j))) - 0.5f;
    y(i, 0) = float(i % 3);
  }
  trained.fit(x, y, {.epochs = 1, .batch_size = 50, .verbose = 0});
  trained.set_input_transform({"standardize", {0.1f}, {2.0f}});
#ifdef HEPNN_TSAN_WITH_IO
  const std::string path = "hepnn_tsan_model.h5";
  io::save_model(trained, path);
  const Sequential<float> model = io::load_model<float>(path);
#else
  const Sequential<float>& model = trained;
#endif
  const std::vector<float> ref = model.predict(x, 64).to_vector();
  constexpr int threads = 4;
  // built layer by layer and not used yet: the threads' first predictions lay it out
  Sequential<float> lazy(Input{6});
  lazy.add(Dense{32, Activation::tanh}).add(Dense{16, Activation::relu}).add(Dense{3}).add(Softmax{});
  const std::vector<float> lazy_ref =
      Sequential<float>(Input{6}, Dense{32, Activation::tanh}, Dense{16, Activation::relu}, Dense{3}, Softmax{})
          .predict(x, 64)
          .to_vector();
  std::vector<std::vector<float>> got(threads), got_lazy(threads);
  std::vector<int> loaded_ok(threads, 0);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      got_lazy[std::size_t(t)] = std::as_const(lazy).predict(x, 64).to_vector();
      for (int rep = 0; rep < 3; ++rep) got[std::size_t(t)] = model.predict(x, 64).to_vector();
#ifdef HEPNN_TSAN_WITH_IO
      const auto own = io::load_model<float>(path);
      loaded_ok[std::size_t(t)] = own.predict(x, 64).to_vector() == ref ? 1 : 0;
#else
      loaded_ok[std::size_t(t)] = 1;
#endif
    });
  for (auto& th : pool) th.join();
  int bad = 0;
  for (int t = 0; t < threads; ++t) {
    if (got[std::size_t(t)] != ref) ++bad, std::printf("thread %d: predictions differ from one thread's\n", t);
    if (got_lazy[std::size_t(t)] != lazy_ref) ++bad, std::printf("thread %d: the lazily laid-out model differs\n", t);
    if (!loaded_ok[std::size_t(t)]) ++bad, std::printf("thread %d: its own loaded copy predicts differently\n", t);
  }
  std::printf("%d threads x 3 predictions of %lld events: %s\n", threads, (long long)n, bad ? "MISMATCH" : "identical");
  return bad ? 1 : 0;
}
