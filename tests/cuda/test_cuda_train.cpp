/// @file tests/cuda/test_cuda_train.cpp
/// @brief Whole models on the GPU against the same models on the CPU: the same seed gives the
/// same initial weights and dropout masks, so several training steps, fit(), evaluate() and
/// predict() must agree within rounding. Model files move between the devices, and the
/// steady-state loop does not call cudaMalloc.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "cuda/cuda_support.hpp"
#include "hepnn/layers/activations.hpp"
#include "hepnn/layers/batchnorm.hpp"
#include "hepnn/layers/conv2d.hpp"
#include "hepnn/layers/dense.hpp"
#include "hepnn/layers/dropout.hpp"
#include "hepnn/layers/flatten.hpp"
#include "hepnn/layers/pooling.hpp"
#include "hepnn/metrics/metrics.hpp"
#include "hepnn/train/sequential.hpp"
#if defined(HEPNN_TEST_WITH_IO)
#include "hepnn/io/model_file.hpp"
#include "io/io_support.hpp"
#endif

using namespace hepnn;
using hepnn::test::check_close;
using hepnn::test::random_tensor;
using hepnn::test::Tol;
using Catch::Contains;

namespace {

template <class T>
data::Dataset<T> blobs(std::int64_t n, std::int64_t features, std::int64_t classes, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Tensor<T, cpu> x(Shape{n, features}), y(Shape{n, 1}), w(Shape{n});
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t c = std::int64_t(rng() % std::uint32_t(classes));
    for (std::int64_t f = 0; f < features; ++f)
      x.data()[i * features + f] = T((f % classes == c ? 1.5 : 0.0) + double(rng()) / 4294967296.0 - 0.5);
    y.data()[i] = T(c);
    w.data()[i] = T(0.5 + double(rng() % 100) / 100.0);
  }
  return data::Dataset<T>(std::move(x), std::move(y), std::move(w));
}

template <class T, class Device>
Sequential<T, Device> mlp() {
  Sequential<T, Device> m(Input{12}, Dense{32, Activation::relu}, Dropout{0.3}, Dense{16, Activation::tanh},
                          Dropout{0.2}, Dense{4});
  m.compile({.loss = CategoricalCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 1e-2},
             .metrics = {metrics::Accuracy{}}, .seed = 11});
  return m;
}

template <class T, class Device>
Sequential<T, Device> cnn() {
  Sequential<T, Device> m(Input{Shape{1, 8, 8}},
                          Conv2D{.filters = 4, .kernel_size = 3, .padding = Padding::same, .activation = Activation::relu},
                          MaxPool2D{}, BatchNormalization{}, Conv2D{.filters = 6, .kernel_size = 3}, ReLU{},
                          AvgPool2D{.pool_size = 2}, Flatten{}, Dropout{0.25}, Dense{3});
  m.compile({.loss = CategoricalCrossEntropy{.from_logits = true}, .optimizer = SGD{.learning_rate = 0.05, .momentum = 0.9},
             .seed = 5});
  return m;
}

template <class T>
data::Dataset<T> images(std::int64_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Tensor<T, cpu> x = random_tensor<T>(rng, Shape{n, 1, 8, 8});
  Tensor<T, cpu> y(Shape{n, 1});
  for (std::int64_t i = 0; i < n; ++i) y.data()[i] = T(rng() % 3);
  return data::Dataset<T>(std::move(x), std::move(y));
}

template <class T>
Tol<T> train_tol() {
  return {std::is_same_v<T, float> ? 2e-3 : 1e-9, std::is_same_v<T, float> ? 2e-4 : 1e-11};
}

}  // namespace

TEMPLATE_TEST_CASE("cuda train: an MLP with dropout takes the same training steps on the GPU as on the CPU",
                   "[cuda][train]", float, double) {
  HEPNN_REQUIRE_GPU();
  using T = TestType;
  auto cpu_model = mlp<T, cpu>();
  auto gpu_model = mlp<T, cuda>();
  check_close(gpu_model.parameters().to_vector(), cpu_model.parameters().to_vector(), "initial weights", {0, 0});
  const auto d = blobs<T>(96, 12, 4, 3);
  for (int step = 0; step < 5; ++step) {
    INFO("step " << step);
    const double lc = cpu_model.train_on_batch(d), lg = gpu_model.train_on_batch(d);
    CHECK(std::abs(lg - lc) <= (std::is_same_v<T, float> ? 1e-4 : 1e-10) * (1 + std::abs(lc)));
    check_close(gpu_model.parameters().to_vector(), cpu_model.parameters().to_vector(), "weights", train_tol<T>());
  }
  const auto pc = cpu_model.predict(d.features()), pg = gpu_model.predict(d.features());
  check_close(std::vector<T>(pg.begin(), pg.end()), std::vector<T>(pc.begin(), pc.end()), "predictions", train_tol<T>());
}

TEMPLATE_TEST_CASE("cuda train: a CNN with batch normalisation agrees with the CPU over training steps", "[cuda][train]",
                   float, double) {
  HEPNN_REQUIRE_GPU();
  using T = TestType;
  auto cpu_model = cnn<T, cpu>();
  auto gpu_model = cnn<T, cuda>();
  const auto d = images<T>(24, 9);
  for (int step = 0; step < 4; ++step) {
    INFO("step " << step);
    cpu_model.train_on_batch(d);
    gpu_model.train_on_batch(d);
    check_close(gpu_model.parameters().to_vector(), cpu_model.parameters().to_vector(), "weights", train_tol<T>());
    check_close(gpu_model.state().to_vector(), cpu_model.state().to_vector(), "moving statistics", train_tol<T>());
  }
  const auto pc = cpu_model.predict(d.features()), pg = gpu_model.predict(d.features());
  check_close(std::vector<T>(pg.begin(), pg.end()), std::vector<T>(pc.begin(), pc.end()), "predictions", train_tol<T>());
}

TEST_CASE("cuda train: fit, evaluate and predict on the GPU learn a separable problem like the CPU", "[cuda][train]") {
  HEPNN_REQUIRE_GPU();
  const auto train = blobs<double>(512, 12, 4, 1), val = blobs<double>(256, 12, 4, 2);
  auto cpu_model = mlp<double, cpu>();
  auto gpu_model = mlp<double, cuda>();
  const FitOptions<double> o{.epochs = 3, .batch_size = 64, .validation = val, .verbose = 0};
  const History hc = cpu_model.fit(train, o), hg = gpu_model.fit(train, o);
  for (const std::string key : {"loss", "val_loss", "val_accuracy"}) {
    INFO(key);
    REQUIRE(hg[key].size() == 3);
    for (std::size_t e = 0; e < 3; ++e) CHECK(std::abs(hg[key][e] - hc[key][e]) <= 1e-8 * (1 + std::abs(hc[key][e])));
  }
  CHECK(hg["val_accuracy"].back() > 0.9);
  const Logs ec = cpu_model.evaluate(val), eg = gpu_model.evaluate(val);
  CHECK(std::abs(eg.at("loss") - ec.at("loss")) <= 1e-8 * (1 + ec.at("loss")));
  // the allocation-free event-loop path
  typename Sequential<double, cuda>::Workspace ws;
  std::vector<double> out(static_cast<std::size_t>(val.size() * 4));
  gpu_model.predict(std::span<const double>(val.features().data(), static_cast<std::size_t>(val.features().size())), out, ws);
  const auto pc = cpu_model.predict(val.features());
  check_close(out, std::vector<double>(pc.begin(), pc.end()), "workspace predict", train_tol<double>());
}

TEST_CASE("cuda train: the steady-state training loop does not call cudaMalloc", "[cuda][train]") {
  HEPNN_REQUIRE_GPU();
  const auto train = blobs<float>(300, 12, 4, 1);
  auto m = mlp<float, cuda>();
  const FitOptions<float> o{.epochs = 1, .batch_size = 64, .verbose = 0};
  m.fit(train, o);
  const auto before = backend::cuda::memory_stats().device_mallocs;
  m.fit(train, FitOptions<float>{.epochs = 3, .batch_size = 64, .verbose = 0});
  CHECK(backend::cuda::memory_stats().device_mallocs == before);
}

TEST_CASE("cuda train: bad inputs give the same clear errors on the GPU", "[cuda][train]") {
  HEPNN_REQUIRE_GPU();
  auto m = mlp<float, cuda>();
  Tensor<float, cpu> x(Shape{5, 11}, 0.0f), y(Shape{5, 1}, 0.0f);
  CHECK_THROWS_WITH(m.predict(x), Contains("(11)") || Contains("11"));
  Tensor<float, cpu> x2(Shape{5, 12}, 0.0f), bad(Shape{5, 1}, 9.0f);
  CHECK_THROWS_AS(m.fit(x2, bad, {.epochs = 1, .verbose = 0}), Error);
  // an out-of-range class index is refused before the first step (the kernel alone would give NaN)
  const std::vector<float> before = m.parameters().template to<cpu>().to_vector();
  CHECK_THROWS_WITH(m.fit(x2, bad, {.epochs = 1, .verbose = 0}),
                    Contains("fit (training data): row 0 has target 9") && Contains("CategoricalCrossEntropy"));
  CHECK(m.parameters().template to<cpu>().to_vector() == before);
}

TEST_CASE("cuda train: a custom loss on the GPU (evaluated on the host) trains like on the CPU", "[cuda][train]") {
  HEPNN_REQUIRE_GPU();
  // softmax cross-entropy on logits written as a custom loss: the same steps on both devices
  const CustomLoss ce{.name = "my_softmax_ce",
                      .row = [](std::span<const double> z, std::span<const double> t, std::span<double> g) {
                        double mx = z[0];
                        for (double v : z) mx = std::max(mx, v);
                        double se = 0;
                        for (double v : z) se += std::exp(v - mx);
                        const double lse = mx + std::log(se);
                        const auto y = std::size_t(t[0]);
                        for (std::size_t c = 0; c < z.size(); ++c) g[c] = std::exp(z[c] - lse) - (c == y ? 1.0 : 0.0);
                        return lse - z[y];
                      },
                      .from_logits = true};
  const auto train = blobs<double>(256, 12, 4, 1);
  auto cpu_model = mlp<double, cpu>();
  auto gpu_model = mlp<double, cuda>();
  cpu_model.compile({.loss = ce, .optimizer = Adam{.learning_rate = 1e-2}, .seed = 5});
  gpu_model.compile({.loss = ce, .optimizer = Adam{.learning_rate = 1e-2}, .seed = 5});
  const FitOptions<double> o{.epochs = 2, .batch_size = 64, .verbose = 0};
  const History hc = cpu_model.fit(train, o), hg = gpu_model.fit(train, o);
  for (std::size_t e = 0; e < 2; ++e) CHECK(std::abs(hg["loss"][e] - hc["loss"][e]) <= 1e-8 * (1 + std::abs(hc["loss"][e])));
  const auto pc = cpu_model.parameters().to_vector();
  const auto pg = gpu_model.parameters().to<cpu>().to_vector();
  check_close(pg, pc, "parameters after custom-loss training", train_tol<double>());
}

#if defined(HEPNN_TEST_WITH_IO)
TEST_CASE("cuda train: a model trained on the GPU saves, and loads on either device with the same outputs",
          "[cuda][train][io]") {
  HEPNN_REQUIRE_GPU();
  const auto d = blobs<float>(128, 12, 4, 4);
  auto m = mlp<float, cuda>();
  m.fit(d, {.epochs = 2, .batch_size = 32, .verbose = 0});
  const test_io::TempDir dir;
  const std::string path = dir.file("model.h5");
  io::save_model(m, path);
  auto on_cpu = io::load_model<float>(path);
  auto on_gpu = io::load_model<float, cuda>(path);
  const auto p0 = m.predict(d.features()), p1 = on_cpu.predict(d.features()), p2 = on_gpu.predict(d.features());
  check_close(std::vector<float>(p2.begin(), p2.end()), std::vector<float>(p0.begin(), p0.end()), "reloaded on the GPU",
              {0, 0});
  check_close(std::vector<float>(p1.begin(), p1.end()), std::vector<float>(p0.begin(), p0.end()), "reloaded on the CPU",
              train_tol<float>());
  // training resumes with the optimizer state on the GPU exactly as it would have continued
  auto again = io::load_model<float, cuda>(path);
  m.train_on_batch(d);
  again.train_on_batch(d);
  check_close(again.parameters().to_vector(), m.parameters().to_vector(), "resumed step", {0, 0});
}
#endif
