/// @file tests/layers/test_flatten.cpp
/// @brief Flatten: output shape, row-major order kept, gradient, and Flatten before Dense.
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "hepnn/layers/dense.hpp"
#include "hepnn/layers/flatten.hpp"
#include "support/gradcheck.hpp"

using hepnn::cpu;
using hepnn::Flatten;
using hepnn::Pass;
using hepnn::Shape;
using hepnn::test::random_vector;

TEMPLATE_TEST_CASE("flatten: shapes and row-major order", "[layers]", float, double) {
  using T = TestType;
  auto layer = Flatten{}.build<T, cpu>(Shape{2, 3, 4}, "flatten_1");
  CHECK(layer->type() == "Flatten");
  CHECK(layer->name() == "flatten_1");
  CHECK(layer->input_shape() == (Shape{2, 3, 4}));
  CHECK(layer->output_shape() == Shape{24});
  CHECK(layer->num_params() == 0);
  CHECK(Flatten{}.build<T, cpu>(Shape{5}, "f")->output_shape() == Shape{5});
  CHECK(Flatten{}.build<T, cpu>(Shape{1, 2, 3, 1}, "f")->output_shape() == Shape{6});
  Flatten named;
  named.name = "flat";
  CHECK(named.build<T, cpu>(Shape{2, 2}, "flatten_2")->name() == "flat");

  // sample b, element (i, j, k) of the input lands at b * 24 + i * 12 + j * 4 + k of the output
  const std::int64_t batch = 3;
  std::vector<T> x(static_cast<std::size_t>(batch * 24));
  for (std::int64_t b = 0; b < batch; ++b)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j)
        for (int k = 0; k < 4; ++k) x[static_cast<std::size_t>(((b * 2 + i) * 3 + j) * 4 + k)] = T(1000 * b + 100 * i + 10 * j + k);
  std::vector<T> y(x.size(), T(-1));
  for (bool training : {false, true}) {
    Pass pass;
    pass.training = training;
    layer->forward(batch, x.data(), y.data(), nullptr, pass);
    for (std::int64_t b = 0; b < batch; ++b)
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 3; ++j)
          for (int k = 0; k < 4; ++k)
            CHECK(y[static_cast<std::size_t>(b * 24 + i * 12 + j * 4 + k)] == T(1000 * b + 100 * i + 10 * j + k));
  }
}

TEST_CASE("flatten: gradient against finite differences", "[layers]") {
  std::mt19937 rng(4);
  auto layer = Flatten{}.build<double, cpu>(Shape{3, 2}, "flatten_1");
  const std::int64_t batch = 4;
  const auto x = random_vector<double>(rng, static_cast<std::size_t>(batch * 6));
  const auto r = random_vector<double>(rng, x.size());
  auto L = [&](const std::vector<double>& v) {
    std::vector<double> y(v.size());
    layer->forward(batch, v.data(), y.data(), nullptr, Pass{});
    double s = 0;
    for (std::size_t i = 0; i < y.size(); ++i) s += r[i] * y[i];
    return s;
  };
  std::vector<double> y(x.size()), dx(x.size(), std::numeric_limits<double>::quiet_NaN());
  layer->forward(batch, x.data(), y.data(), nullptr, Pass{});
  layer->backward(batch, x.data(), y.data(), r.data(), dx.data(), nullptr, Pass{});
  hepnn::test::check_gradient(L, x, dx, "flatten dx");
  layer->backward(batch, x.data(), y.data(), r.data(), nullptr, nullptr, Pass{});  // no dx: nothing to do
}

TEST_CASE("flatten: makes an image sample acceptable to Dense", "[layers]") {
  const Shape sample{2, 3, 5};  // (C, H, W): Dense takes vectors or sequences, not images
  CHECK_THROWS_WITH((hepnn::Dense{4}.build<double, cpu>(sample, "dense_1")), Catch::Contains("add Flatten{}"));
  auto flat = Flatten{}.build<double, cpu>(sample, "flatten_1");
  auto dense = hepnn::Dense{4}.build<double, cpu>(flat->output_shape(), "dense_1");
  CHECK(dense->input_shape() == Shape{30});
  CHECK(dense->output_shape() == Shape{4});
  // a rank-2 sample is a sequence: Dense acts on its last axis
  auto per_element = hepnn::Dense{4}.build<double, cpu>(Shape{2, 3}, "dense_2");
  CHECK(per_element->output_shape() == Shape{2, 4});
}
