/// @file tests/ops/test_vmath.cpp
/// @brief The vectorised CPU kernels against independent references: the float activations
/// (Eigen's SIMD tanh, exp, expm1, log1p) against the same functions evaluated in double by the
/// C library; the batched Philox generator against the one-number-at-a-time definition; the
/// 8-way double sums against a long double loop.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "hepnn/backend/cpu/vmath.hpp"
#include "hepnn/core/philox.hpp"

using hepnn::Activation;

namespace {

/// The activations in double through the C library (the truth the float kernels approximate).
double truth(Activation a, double alpha, double x) {
  switch (a) {
    case Activation::tanh: return std::tanh(x);
    case Activation::sigmoid: return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x));
    case Activation::elu: return x > 0 ? x : alpha * std::expm1(x);
    case Activation::selu: return 1.0507009873554804934 * (x > 0 ? x : 1.6732632423543772848 * std::expm1(x));
    case Activation::softplus: return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x)));
    default: return 0;
  }
}

/// Distance in units of the float spacing at the true value.
double ulps(float got, double want) {
  const double spacing = std::max(double(std::numeric_limits<float>::denorm_min()),
                                  double(std::nextafter(float(std::abs(want)), std::numeric_limits<float>::infinity())) -
                                      double(float(std::abs(want))));
  return std::abs(double(got) - want) / spacing;
}

}  // namespace

TEST_CASE("vmath: float activations agree with the C library to a few ulps over [-60, 60]", "[ops]") {
  std::vector<float> x;
  for (double v = -60; v <= 60; v += 0.0137) x.push_back(float(v));
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-6f, -1e-6f, 3e-4f, -3e-4f, 88.0f, -88.0f, 100.0f, -100.0f, 1e4f,
                  -1e4f, 1e30f, -1e30f})
    x.push_back(v);
  std::vector<float> y(x.size());
  for (Activation a : {Activation::tanh, Activation::sigmoid, Activation::elu, Activation::selu, Activation::softplus}) {
    const float alpha = 0.7f;
    hepnn::backend::cpu::activation_block<float>(a, alpha, std::int64_t(x.size()), x.data(), y.data());
    double worst = 0;
    float worst_x = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double want = truth(a, alpha, double(x[i]));
      REQUIRE(std::isfinite(y[i]));
      // absolute floor: results below 1e-30 (deep in a tail) only need to be tiny
      const double u = std::abs(want) < 1e-30 ? (std::abs(double(y[i])) < 1e-29 ? 0.0 : 1e9) : ulps(y[i], want);
      if (u > worst) {
        worst = u;
        worst_x = x[i];
      }
    }
    INFO(hepnn::to_string(a) << ": worst error " << worst << " ulps at x = " << worst_x);
    CHECK(worst <= 4.0);
  }
}

TEST_CASE("vmath: a float activation depends on the value only, not on its place or the length", "[ops]") {
  std::vector<float> x(101);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(i) * 0.173f - 8.0f;
  for (Activation a : {Activation::tanh, Activation::sigmoid, Activation::elu, Activation::selu, Activation::softplus}) {
    std::vector<float> whole(x.size()), in_place = x;
    hepnn::backend::cpu::activation_block<float>(a, 1.0f, 101, x.data(), whole.data());
    hepnn::backend::cpu::activation_block<float>(a, 1.0f, 101, in_place.data(), in_place.data());
    CHECK(in_place == whole);
    bool same = true;  // one value at a time, and pieces starting at odd places
    for (std::size_t i = 0; i < x.size(); ++i) {
      float one;
      hepnn::backend::cpu::activation_block<float>(a, 1.0f, 1, x.data() + i, &one);
      same = same && one == whole[i];
    }
    std::vector<float> piece(37);
    hepnn::backend::cpu::activation_block<float>(a, 1.0f, 37, x.data() + 3, piece.data());
    for (std::size_t i = 0; i < piece.size(); ++i) same = same && piece[i] == whole[i + 3];
    INFO(hepnn::to_string(a));
    CHECK(same);
  }
}

TEST_CASE("vmath: sqrt_block is the correctly rounded square root", "[ops]") {
  std::vector<float> x, r;
  for (int i = 0; i < 1000; ++i) x.push_back(float(i) * 0.37f + 1e-3f * float(i % 7));
  r.resize(x.size());
  hepnn::backend::cpu::sqrt_block<float>(std::int64_t(x.size()), x.data(), r.data());
  bool same = true;
  for (std::size_t i = 0; i < x.size(); ++i) same = same && r[i] == std::sqrt(x[i]);
  CHECK(same);
}

TEMPLATE_TEST_CASE("vmath: sum_block against a long double loop", "[ops]", float, double) {
  using T = TestType;
  for (std::int64_t n : {0, 1, 7, 8, 9, 1000, 100003}) {
    std::vector<T> x(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) x[std::size_t(i)] = T(hepnn::philox_uniform(3, 4, std::uint64_t(i)) - 0.3f);
    long double s = 0, q = 0;
    for (T v : x) {
      s += (long double)v;
      q += (long double)v * (long double)v;
    }
    INFO("n = " << n);
    CHECK(std::abs(hepnn::backend::cpu::sum_block<T>(n, x.data(), false) - double(s)) <= 1e-12 * (1 + double(q)));
    CHECK(std::abs(hepnn::backend::cpu::sum_block<T>(n, x.data(), true) - double(q)) <= 1e-12 * (1 + double(q)));
  }
}

TEST_CASE("philox: philox_fill_u32 gives exactly the numbers of philox_u32", "[core]") {
  // offsets not a multiple of 4, counts around the 32-number groups, and a block counter that
  // carries from its low into its high word inside a group
  const std::uint64_t firsts[] = {0, 1, 2, 3, 5, 127, (std::uint64_t(1) << 34) - 13, std::uint64_t(-1) - 40};
  const std::int64_t counts[] = {0, 1, 3, 4, 5, 31, 32, 33, 64, 100, 1000};
  std::int64_t wrong = 0, checked = 0;
  for (std::uint64_t first : firsts)
    for (std::int64_t count : counts) {
      if (first + std::uint64_t(count) < first) continue;  // would wrap around 2^64
      std::vector<std::uint32_t> out(static_cast<std::size_t>(count));
      hepnn::philox_fill_u32(0x1234567890abcdefull, 0xfeedull << 32 | 7, first, count, out.data());
      for (std::int64_t i = 0; i < count; ++i, ++checked)
        wrong += out[std::size_t(i)] != hepnn::philox_u32(0x1234567890abcdefull, 0xfeedull << 32 | 7, first + std::uint64_t(i));
    }
  CHECK(checked > 5000);
  CHECK(wrong == 0);
}
