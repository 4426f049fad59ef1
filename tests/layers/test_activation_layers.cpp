/// @file tests/layers/test_activation_layers.cpp
/// @brief Activation, Softmax and LogSoftmax layers built from their specs: forward against the
/// formulas, backward against finite differences in double.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "hepnn/layers/activations.hpp"
#include "support/gradcheck.hpp"
#include "support/reference.hpp"

using hepnn::Activation;
using hepnn::cpu;
using hepnn::Pass;
using hepnn::Shape;
using hepnn::test::random_vector;
using Catch::Contains;

namespace {

/// Builds `spec` on per-sample shape (2, 3), checks type, shapes and forward against f, and the
/// backward pass against finite differences of L = sum r f(x).
template <class Spec, class F>
void check_layer(const Spec& spec, const std::string& type, F&& f, std::mt19937& rng) {
  INFO("layer " << type);
  const Shape in{2, 3};
  const std::int64_t batch = 4, n = batch * in.size();
  auto layer = spec.template build<double, cpu>(in, "act_1");
  CHECK(layer->type() == type);
  CHECK(layer->name() == "act_1");
  CHECK(layer->output_shape() == in);
  CHECK(layer->num_params() == 0);
  CHECK(layer->workspace_per_sample() == 0);

  // points away from 0, where relu-like functions have their kink
  std::vector<double> x = random_vector<double>(rng, static_cast<std::size_t>(n), -3, 3);
  for (double& v : x)
    if (std::abs(v) < 0.01) v += 0.05;
  const auto r = random_vector<double>(rng, x.size());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> y(x.size(), nan), dx(x.size(), nan);
  Pass train;
  train.training = true;
  layer->forward(batch, x.data(), y.data(), nullptr, train);
  const std::vector<double> expected = f(x);
  bool ok = true;
  for (std::size_t i = 0; i < y.size(); ++i) ok = ok && std::abs(y[i] - expected[i]) <= 1e-12 * (1 + std::abs(expected[i]));
  CHECK(ok);
  std::vector<double> y_inference(x.size(), nan);
  layer->forward(batch, x.data(), y_inference.data(), nullptr, Pass{});
  CHECK(y_inference == y);

  layer->backward(batch, x.data(), y.data(), r.data(), dx.data(), nullptr, train);
  auto L = [&](const std::vector<double>& v) {
    const auto yy = f(v);
    double s = 0;
    for (std::size_t i = 0; i < yy.size(); ++i) s += r[i] * yy[i];
    return s;
  };
  hepnn::test::check_gradient(L, x, dx, type);
  layer->backward(batch, x.data(), y.data(), r.data(), nullptr, nullptr, train);  // no dx: nothing to do
}

auto elementwise(Activation a, double alpha) {
  return [a, alpha](const std::vector<double>& x) {
    std::vector<double> y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = hepnn::test::ref_forward(a, alpha, x[i]);
    return y;
  };
}

/// Softmax (or log-softmax) of each row of `cols` values.
auto softmax_rows(std::size_t cols, bool log) {
  return [cols, log](const std::vector<double>& x) {
    std::vector<double> y(x.size());
    for (std::size_t r = 0; r < x.size() / cols; ++r) {
      double s = 0;
      for (std::size_t c = 0; c < cols; ++c) s += std::exp(x[r * cols + c]);
      for (std::size_t c = 0; c < cols; ++c)
        y[r * cols + c] = log ? x[r * cols + c] - std::log(s) : std::exp(x[r * cols + c]) / s;
    }
    return y;
  };
}

}  // namespace

TEST_CASE("activation layers: forward against the formulas, backward against finite differences", "[layers]") {
  std::mt19937 rng(99);
  check_layer(hepnn::ReLU{}, "ReLU", elementwise(Activation::relu, 0), rng);
  check_layer(hepnn::SELU{}, "SELU", elementwise(Activation::selu, 0), rng);
  check_layer(hepnn::Tanh{}, "Tanh", elementwise(Activation::tanh, 0), rng);
  check_layer(hepnn::Sigmoid{}, "Sigmoid", elementwise(Activation::sigmoid, 0), rng);
  check_layer(hepnn::Softplus{}, "Softplus", elementwise(Activation::softplus, 0), rng);
  check_layer(hepnn::GELU{}, "GELU", elementwise(Activation::gelu, 0), rng);
  check_layer(hepnn::LeakyReLU{}, "LeakyReLU", elementwise(Activation::leaky_relu, 0.01), rng);
  check_layer(hepnn::LeakyReLU{0.25}, "LeakyReLU", elementwise(Activation::leaky_relu, 0.25), rng);
  check_layer(hepnn::ELU{}, "ELU", elementwise(Activation::elu, 1.0), rng);
  check_layer(hepnn::ELU{0.6}, "ELU", elementwise(Activation::elu, 0.6), rng);
  // softmax over the last axis: per-sample (2, 3) is two rows of three
  check_layer(hepnn::Softmax{}, "Softmax", softmax_rows(3, false), rng);
  check_layer(hepnn::LogSoftmax{}, "LogSoftmax", softmax_rows(3, true), rng);
}

TEST_CASE("activation layers: names and descriptions", "[layers]") {
  auto leaky = hepnn::LeakyReLU{0.25}.build<float, cpu>(Shape{3}, "leaky_re_lu_1");
  CHECK(leaky->describe() == "alpha=0.25");
  hepnn::ELU elu{0.5};
  elu.name = "my_elu";
  auto e = elu.build<float, cpu>(Shape{3}, "elu_1");
  CHECK(e->name() == "my_elu");
  CHECK(e->describe() == "alpha=0.5");
  CHECK(hepnn::ReLU{}.build<double, cpu>(Shape{3}, "re_lu_1")->describe().empty());
  hepnn::Softmax sm;
  sm.name = "probabilities";
  CHECK(sm.build<double, cpu>(Shape{3}, "softmax_1")->name() == "probabilities");
}

TEMPLATE_TEST_CASE("activation layers: softmax rows sum to one and survive large inputs", "[layers]", float, double) {
  using T = TestType;
  auto layer = hepnn::Softmax{}.build<T, cpu>(Shape{4}, "softmax_1");
  // softmax(1000, 1001, 1002, 1003) = softmax(0, 1, 2, 3) = e^k / (1 + e + e^2 + e^3)
  const std::vector<T> x{T(1000), T(1001), T(1002), T(1003), T(-5), T(-5), T(-5), T(-5)};
  std::vector<T> y(8);
  layer->forward(2, x.data(), y.data(), nullptr, Pass{});
  const double expected[] = {0.032058603280084988, 0.087144318742032573, 0.23688281808991013, 0.64391425988797231};
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  for (int c = 0; c < 4; ++c) {
    CHECK(std::abs(double(y[static_cast<std::size_t>(c)]) - expected[c]) <= tol);
    CHECK(std::abs(double(y[static_cast<std::size_t>(4 + c)]) - 0.25) <= tol);
  }
}

TEST_CASE("activation layers: softmax needs a non-empty last axis", "[layers]") {
  CHECK_THROWS_AS((hepnn::Softmax{}.build<double, cpu>(Shape{}, "softmax_1")), hepnn::Error);
  CHECK_THROWS_WITH((hepnn::Softmax{}.build<double, cpu>(Shape{3, 0}, "softmax_1")),
                    Contains("Softmax 'softmax_1'") && Contains("(3, 0)"));
  CHECK_THROWS_WITH((hepnn::LogSoftmax{}.build<float, cpu>(Shape{0}, "log_softmax_2")),
                    Contains("LogSoftmax 'log_softmax_2'"));
}
