/// @file tests/layers/test_dropout.cpp
/// @brief Dropout layer: identity at inference, Philox masks keyed by (seed, layer, step) in
/// training, the gradient with the mask fixed, and its errors.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "hepnn/layers/dropout.hpp"
#include "support/gradcheck.hpp"

using hepnn::cpu;
using hepnn::Dropout;
using hepnn::Pass;
using hepnn::Shape;
using hepnn::test::random_vector;
using Catch::Contains;

namespace {
Pass training_pass(std::uint64_t seed, std::uint64_t step, std::int64_t layer_index) {
  Pass p;
  p.training = true;
  p.seed = seed;
  p.step = step;
  p.layer_index = layer_index;
  return p;
}

template <class T>
std::vector<bool> zeros_of(const std::vector<T>& y) {
  std::vector<bool> z(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) z[i] = y[i] == T(0);
  return z;
}
}  // namespace

TEMPLATE_TEST_CASE("dropout: inference is the identity", "[layers]", float, double) {
  using T = TestType;
  std::mt19937 rng(1);
  auto layer = Dropout{0.4}.build<T, cpu>(Shape{4, 5}, "dropout_1");
  CHECK(layer->type() == "Dropout");
  CHECK(layer->describe() == "rate=0.4");
  CHECK(layer->output_shape() == (Shape{4, 5}));
  CHECK(layer->num_params() == 0);
  const std::int64_t batch = 6;
  const auto x = random_vector<T>(rng, static_cast<std::size_t>(batch * 20));
  std::vector<T> y(x.size(), T(-1)), dx(x.size(), T(-1));
  Pass inference;
  inference.seed = 3;  // a seed alone does not switch dropout on
  layer->forward(batch, x.data(), y.data(), nullptr, inference);
  CHECK(y == x);
  layer->backward(batch, x.data(), y.data(), x.data(), dx.data(), nullptr, inference);
  CHECK(dx == x);

  // rate 0 is the identity in training as well
  auto none = Dropout{0.0}.build<T, cpu>(Shape{4, 5}, "dropout_2");
  std::vector<T> y0(x.size(), T(-1));
  none->forward(batch, x.data(), y0.data(), nullptr, training_pass(3, 1, 0));
  CHECK(y0 == x);
}

TEMPLATE_TEST_CASE("dropout: training masks follow (seed, layer index, step)", "[layers]", float, double) {
  using T = TestType;
  std::mt19937 rng(2);
  const double rate = 0.3;
  auto layer = Dropout{rate}.build<T, cpu>(Shape{100}, "dropout_1");
  const std::int64_t batch = 200, n = batch * 100;
  const auto x = random_vector<T>(rng, static_cast<std::size_t>(n), 0.5, 1.5);
  const Pass pass = training_pass(7, 3, 2);

  // The stream is rng_stream::dropout + (layer index << 32) + step.
  CHECK(hepnn::DropoutLayer<T, cpu>::stream(pass) == (2ull << 40) + (2ull << 32) + 3ull);

  std::vector<T> y(x.size());
  layer->forward(batch, x.data(), y.data(), nullptr, pass);
  std::int64_t zeros = 0;
  bool scaled = true, follows_philox = true;
  const T scale = T(1) / (T(1) - T(rate));
  for (std::size_t i = 0; i < x.size(); ++i) {
    const bool keep = hepnn::philox_uniform(7, hepnn::DropoutLayer<T, cpu>::stream(pass), i) >= float(T(rate));
    follows_philox = follows_philox && keep == (y[i] != T(0));
    if (y[i] == T(0)) ++zeros;
    else scaled = scaled && y[i] == x[i] * scale;
  }
  CHECK(follows_philox);
  CHECK(scaled);
  // standard error of the fraction: sqrt(0.21 / 20000) = 3.2e-3
  CHECK(std::abs(double(zeros) / double(n) - rate) < 0.02);

  // Same pass: same mask. Another step, layer or seed: another mask.
  std::vector<T> again(x.size());
  layer->forward(batch, x.data(), again.data(), nullptr, pass);
  CHECK(again == y);
  for (const Pass& other : {training_pass(7, 4, 2), training_pass(7, 3, 1), training_pass(8, 3, 2)}) {
    layer->forward(batch, x.data(), again.data(), nullptr, other);
    CHECK(zeros_of(again) != zeros_of(y));
  }

  // The backward pass applies the forward mask.
  const auto dy = random_vector<T>(rng, x.size(), 0.5, 1.5);
  std::vector<T> dx(x.size());
  layer->backward(batch, x.data(), y.data(), dy.data(), dx.data(), nullptr, pass);
  bool same_mask = true;
  for (std::size_t i = 0; i < x.size(); ++i) same_mask = same_mask && (y[i] == T(0) ? dx[i] == T(0) : dx[i] == dy[i] * scale);
  CHECK(same_mask);
}

TEST_CASE("dropout: gradient against finite differences with the mask fixed", "[layers]") {
  std::mt19937 rng(3);
  auto layer = Dropout{0.5}.build<double, cpu>(Shape{3, 4}, "dropout_1");
  const std::int64_t batch = 5;
  const auto x = random_vector<double>(rng, static_cast<std::size_t>(batch * 12));
  const auto r = random_vector<double>(rng, x.size());
  const Pass pass = training_pass(11, 17, 4);
  // L = sum r y, with the same (seed, step, layer index) at every evaluation
  auto L = [&](const std::vector<double>& v) {
    std::vector<double> y(v.size());
    layer->forward(batch, v.data(), y.data(), nullptr, pass);
    double s = 0;
    for (std::size_t i = 0; i < y.size(); ++i) s += r[i] * y[i];
    return s;
  };
  std::vector<double> y(x.size()), dx(x.size(), std::numeric_limits<double>::quiet_NaN());
  layer->forward(batch, x.data(), y.data(), nullptr, pass);
  layer->backward(batch, x.data(), y.data(), r.data(), dx.data(), nullptr, pass);
  hepnn::test::check_gradient(L, x, dx, "dropout dx");
  // Something was dropped and something kept, so the check is not trivial.
  const auto z = zeros_of(y);
  CHECK(std::count(z.begin(), z.end(), true) > 0);
  CHECK(std::count(z.begin(), z.end(), false) > 0);
  layer->backward(batch, x.data(), y.data(), r.data(), nullptr, nullptr, pass);  // no dx: nothing to do
}

TEST_CASE("dropout: a rate outside 0 <= rate < 1 throws naming the layer", "[layers]") {
  for (double rate : {1.0, -0.1, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    INFO("rate " << rate);
    CHECK_THROWS_AS((Dropout{rate}.build<double, cpu>(Shape{3}, "dropout_1")), hepnn::Error);
    CHECK_THROWS_WITH((Dropout{rate}.build<float, cpu>(Shape{3}, "dropout_1")),
                      Contains("Dropout 'dropout_1'") && Contains("rate must be in [0, 1)"));
  }
  CHECK_THROWS_WITH((Dropout{2.0, "drop"}.build<float, cpu>(Shape{3}, "dropout_1")), Contains("'drop'"));
  CHECK_NOTHROW(Dropout{0.999}.build<float, cpu>(Shape{3}, "dropout_1"));
  CHECK(Dropout{0.2, "drop"}.build<float, cpu>(Shape{3}, "dropout_1")->name() == "drop");
}
