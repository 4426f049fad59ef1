/// @file tests/support/gradcheck.hpp
/// @brief Test helpers: central finite differences in double precision and seeded random data.
///
/// Random numbers come straight from std::mt19937 (whose output the standard fixes exactly),
/// not from std::uniform_real_distribution (whose algorithm it does not), so the test data are
/// the same with every standard library.
#pragma once
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "hepnn/core/tensor.hpp"

namespace hepnn::test {

/// A scalar function of a flat vector of doubles.
using ScalarFunction = std::function<double(const std::vector<double>&)>;

/// Central differences (f(x + h e_i) - f(x - h e_i)) / 2h for every i.
inline std::vector<double> numeric_gradient(const ScalarFunction& f, const std::vector<double>& x, double h = 1e-6) {
  std::vector<double> g(x.size());
  std::vector<double> xp = x;
  for (std::size_t i = 0; i < x.size(); ++i) {
    xp[i] = x[i] + h;
    const double fp = f(xp);
    xp[i] = x[i] - h;
    const double fm = f(xp);
    xp[i] = x[i];
    g[i] = (fp - fm) / (2.0 * h);
  }
  return g;
}

struct GradTolerance {
  double rtol = 1e-5;
  double atol = 1e-6;
  double step = 1e-6;
};

/// Checks `analytic` against central differences of f at x, element by element:
/// |numeric - analytic| <= atol + rtol * max(|numeric|, |analytic|).
/// Each failure reports `what`, the index and both values.
inline void check_gradient(const ScalarFunction& f, const std::vector<double>& x, const std::vector<double>& analytic,
                           const std::string& what = "", GradTolerance tol = {}) {
  REQUIRE(analytic.size() == x.size());
  const std::vector<double> numeric = numeric_gradient(f, x, tol.step);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double n = numeric[i], a = analytic[i];
    const bool ok = std::abs(n - a) <= tol.atol + tol.rtol * std::max(std::abs(n), std::abs(a));  // false for NaN
    if (ok) continue;
    ++bad;
    INFO(what << ": d/dx[" << i << "] at x = " << x[i] << ": numeric " << n << ", analytic " << a);
    CHECK(ok);
  }
  INFO(what << ": " << bad << " of " << x.size() << " derivatives disagree with finite differences");
  CHECK(bad == 0);
}

/// Uniform in [lo, hi) from the raw 32-bit output of the generator.
inline double uniform(std::mt19937& rng, double lo = -1.0, double hi = 1.0) {
  return lo + (hi - lo) * (static_cast<double>(rng()) * (1.0 / 4294967296.0));
}

/// An integer in [0, n).
inline std::int64_t uniform_int(std::mt19937& rng, std::int64_t n) {
  return static_cast<std::int64_t>(uniform(rng, 0.0, static_cast<double>(n)));
}

/// n values uniform in [lo, hi).
template <class T = double>
std::vector<T> random_vector(std::mt19937& rng, std::size_t n, double lo = -1.0, double hi = 1.0) {
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(uniform(rng, lo, hi));
  return v;
}

/// A host tensor of the given shape with values uniform in [lo, hi).
template <class T>
Tensor<T, cpu> random_tensor(std::mt19937& rng, const Shape& shape, double lo = -1.0, double hi = 1.0) {
  return Tensor<T, cpu>(shape, random_vector<T>(rng, static_cast<std::size_t>(shape.size()), lo, hi));
}

}  // namespace hepnn::test
