/// @file tests/ops/test_elementwise.cpp
/// @brief Activations, bias, softmax, dropout and reductions of ops/elementwise.hpp against
/// closed forms, loops and finite differences.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include "hepnn/ops/elementwise.hpp"
#include "support/gradcheck.hpp"
#include "support/reference.hpp"

using hepnn::Activation;
using hepnn::cpu;
using hepnn::test::all_activations;
using hepnn::test::check_gradient;
using hepnn::test::random_vector;
using hepnn::test::ref_derivative;
using hepnn::test::ref_forward;

namespace {

/// The alpha each activation is tested with: non-default for the two that take one.
double test_alpha(Activation a) {
  return a == Activation::leaky_relu ? 0.2 : a == Activation::elu ? 0.7 : hepnn::default_alpha(a);
}

template <class T>
bool close(T got, double expected, double rel, double abs_tol) {
  return std::abs(double(got) - expected) <= abs_tol + rel * std::abs(expected);
}

template <class T>
constexpr double rel_tol() {
  return std::is_same_v<T, float> ? 4e-6 : 1e-13;
}

struct Known {
  Activation a;
  double alpha, x, y;
};

}  // namespace

TEMPLATE_TEST_CASE("elementwise: activation forward against closed-form values", "[ops]", float, double) {
  using T = TestType;
  const Known known[] = {
      {Activation::linear, 0.01, -3.25, -3.25},
      {Activation::relu, 0.01, -2.0, 0.0},
      {Activation::relu, 0.01, 3.0, 3.0},
      {Activation::leaky_relu, 0.01, -2.0, -0.02},
      {Activation::leaky_relu, 0.3, -2.0, -0.6},
      {Activation::leaky_relu, 0.01, 1.5, 1.5},
      {Activation::elu, 1.0, -1.0, -0.63212055882855767840},    // e^-1 - 1
      {Activation::elu, 0.5, -2.0, -0.43233235838169365},       // 0.5 (e^-2 - 1)
      {Activation::elu, 1.0, 2.0, 2.0},
      {Activation::elu, 1.0, -1000.0, -1.0},
      {Activation::selu, 0.01, 1.0, 1.0507009873554804934},     // lambda
      {Activation::selu, 0.01, -1.0, -1.1113307378125627},      // lambda alpha (e^-1 - 1)
      {Activation::selu, 0.01, -1000.0, -1.7580993408473768599},  // -lambda alpha
      {Activation::tanh, 0.01, 0.5, 0.46211715726000975850},
      {Activation::tanh, 0.01, -1000.0, -1.0},
      {Activation::tanh, 0.01, 1000.0, 1.0},
      {Activation::sigmoid, 0.01, 0.0, 0.5},
      {Activation::sigmoid, 0.01, 1.0, 0.73105857863000487925},
      {Activation::sigmoid, 0.01, -1.0, 0.26894142136999512075},
      {Activation::sigmoid, 0.01, -50.0, 1.9287498479639177830e-22},  // e^-50 / (1 + e^-50)
      {Activation::sigmoid, 0.01, 1000.0, 1.0},
      {Activation::sigmoid, 0.01, -1000.0, 0.0},
      {Activation::softplus, 0.01, 0.0, 0.69314718055994530942},   // log 2
      {Activation::softplus, 0.01, 1.0, 1.3132616875182228340},    // log(1 + e)
      {Activation::softplus, 0.01, -1.0, 0.31326168751822283405},  // log(1 + 1/e)
      {Activation::softplus, 0.01, 100.0, 100.0},
      {Activation::softplus, 0.01, 1000.0, 1000.0},
      {Activation::softplus, 0.01, -1000.0, 0.0},
      {Activation::gelu, 0.01, 1.0, 0.84134474606854293},      // Phi(1)
      {Activation::gelu, 0.01, -1.0, -0.15865525393145707},    // -Phi(-1)
      {Activation::gelu, 0.01, 2.0, 1.9544997361036416},       // 2 Phi(2)
      {Activation::gelu, 0.01, 0.0, 0.0},
      {Activation::gelu, 0.01, -1000.0, 0.0},
      {Activation::gelu, 0.01, 1000.0, 1000.0},
  };
  for (const Known& k : known) {
    const T x = T(k.x);
    T y = T(-12345);
    hepnn::ops::activation_forward<cpu>(k.a, T(k.alpha), 1, &x, &y);
    INFO(hepnn::to_string(k.a) << "(" << k.x << "; alpha " << k.alpha << ") = " << y << ", expected " << k.y);
    CHECK(std::isfinite(y));
    // absolute: below float's smallest normal number (1.2e-38) a float result only needs to be
    // that small (the SIMD sigmoid and softplus clamp their arguments, vmath.hpp); doubles exact
    CHECK(close(y, k.y, rel_tol<T>(), std::is_same_v<T, float> ? 1e-37 : 1e-300));
  }
  // softplus(-100) = log(1 + e^-100) = e^-100 to double precision, without cancellation.
  const double x = -100;
  double y = 0;
  hepnn::ops::activation_forward<cpu>(Activation::softplus, 0.0, 1, &x, &y);
  CHECK(close(y, 3.7200759760208359630e-44, 1e-13, 0));
}

TEMPLATE_TEST_CASE("elementwise: activation forward and backward against the formulas on a grid", "[ops]", float,
                   double) {
  using T = TestType;
  // A grid that avoids the kink at 0.
  std::vector<T> x;
  for (int i = -60; i <= 60; ++i)
    if (i != 0) x.push_back(T(0.1 * i + 0.013));
  const auto n = static_cast<std::int64_t>(x.size());
  std::mt19937 rng(17);
  const auto dy = random_vector<T>(rng, x.size());
  for (Activation a : all_activations) {
    const double alpha = test_alpha(a);
    std::vector<T> y(x.size()), dx(x.size()), in_place = x;
    hepnn::ops::activation_forward<cpu>(a, T(alpha), n, x.data(), y.data());
    hepnn::ops::activation_forward<cpu>(a, T(alpha), n, in_place.data(), in_place.data());
    hepnn::ops::activation_backward<cpu>(a, T(alpha), n, x.data(), y.data(), dy.data(), dx.data());
    std::vector<T> dx_in_place = dy;  // dx may alias dy
    hepnn::ops::activation_backward<cpu>(a, T(alpha), n, x.data(), y.data(), dx_in_place.data(), dx_in_place.data());
    for (std::size_t i = 0; i < x.size(); ++i) {
      INFO(hepnn::to_string(a) << " at x = " << x[i] << ": y " << y[i] << ", dx " << dx[i]);
      CHECK(close(y[i], ref_forward(a, alpha, double(x[i])), 4 * rel_tol<T>(), 4 * rel_tol<T>()));
      CHECK(close(dx[i], double(dy[i]) * ref_derivative(a, alpha, double(x[i])), 8 * rel_tol<T>(), 8 * rel_tol<T>()));
      CHECK(in_place[i] == y[i]);
      CHECK(dx_in_place[i] == dx[i]);
    }
  }
}

TEST_CASE("elementwise: activation backward against finite differences", "[ops]") {
  // Points away from the kinks at 0 (relu, leaky_relu, elu, selu), and out to where sigmoid saturates.
  const std::vector<double> x{-6.1, -2.3, -0.7, -0.05, 0.05, 0.4, 1.9, 3.1, 7.3};
  const auto n = static_cast<std::int64_t>(x.size());
  std::mt19937 rng(3);
  const auto r = random_vector<double>(rng, x.size());
  for (Activation a : all_activations) {
    const double alpha = test_alpha(a);
    // L(x) = sum_i r_i act(x_i), so dL/dx_i = r_i act'(x_i)
    auto L = [&](const std::vector<double>& v) {
      std::vector<double> y(v.size());
      hepnn::ops::activation_forward<cpu>(a, alpha, n, v.data(), y.data());
      double s = 0;
      for (std::size_t i = 0; i < y.size(); ++i) s += r[i] * y[i];
      return s;
    };
    std::vector<double> y(x.size()), dx(x.size());
    hepnn::ops::activation_forward<cpu>(a, alpha, n, x.data(), y.data());
    hepnn::ops::activation_backward<cpu>(a, alpha, n, x.data(), y.data(), r.data(), dx.data());
    check_gradient(L, x, dx, hepnn::to_string(a));
  }
}

TEMPLATE_TEST_CASE("elementwise: bias_add forward and backward against loops", "[ops]", float, double) {
  using T = TestType;
  std::mt19937 rng(11);
  for (auto [rows, cols] : {std::pair<std::int64_t, std::int64_t>{1, 1}, {7, 5}, {3, 600}, {3000, 9}}) {
    const auto b = random_vector<T>(rng, static_cast<std::size_t>(cols));
    const auto y0 = random_vector<T>(rng, static_cast<std::size_t>(rows * cols));
    std::vector<T> y = y0;
    hepnn::ops::bias_add_forward<cpu>(rows, cols, b.data(), y.data());
    std::int64_t wrong = 0;
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t c = 0; c < cols; ++c) {
        const auto i = static_cast<std::size_t>(r * cols + c);
        wrong += y[i] != T(y0[i] + b[static_cast<std::size_t>(c)]);
      }
    INFO("rows " << rows << " cols " << cols);
    CHECK(wrong == 0);

    const auto dy = random_vector<T>(rng, static_cast<std::size_t>(rows * cols));
    std::vector<T> db(static_cast<std::size_t>(cols), std::numeric_limits<T>::quiet_NaN());  // overwritten
    hepnn::ops::bias_add_backward<cpu>(rows, cols, dy.data(), db.data());
    for (std::int64_t c = 0; c < cols; ++c) {
      double s = 0, mag = 0;
      for (std::int64_t r = 0; r < rows; ++r) {
        s += double(dy[static_cast<std::size_t>(r * cols + c)]);
        mag += std::abs(double(dy[static_cast<std::size_t>(r * cols + c)]));
      }
      INFO("column " << c);
      REQUIRE(std::abs(double(db[static_cast<std::size_t>(c)]) - s) <=
              double(rows) * std::numeric_limits<T>::epsilon() * mag);
    }
  }
}

TEMPLATE_TEST_CASE("elementwise: bias_activation_forward equals bias_add then activation_forward", "[ops]", float,
                   double) {
  using T = TestType;
  std::mt19937 rng(23);
  const std::int64_t rows = 37, cols = 11;
  const auto b = random_vector<T>(rng, static_cast<std::size_t>(cols));
  const auto x = random_vector<T>(rng, static_cast<std::size_t>(rows * cols), -3, 3);
  for (Activation a : all_activations) {
    const T alpha = T(test_alpha(a));
    std::vector<T> z = x, y(x.size());
    hepnn::ops::bias_activation_forward<cpu>(a, alpha, rows, cols, b.data(), z.data(), y.data());
    std::vector<T> z_ref = x, y_ref(x.size());
    hepnn::ops::bias_add_forward<cpu>(rows, cols, b.data(), z_ref.data());
    hepnn::ops::activation_forward<cpu>(a, alpha, rows * cols, z_ref.data(), y_ref.data());
    INFO(hepnn::to_string(a));
    CHECK(z == z_ref);  // z keeps the pre-activation
    CHECK(y == y_ref);
    // z and y may be the same buffer (inference)
    std::vector<T> zy = x;
    hepnn::ops::bias_activation_forward<cpu>(a, alpha, rows, cols, b.data(), zy.data(), zy.data());
    CHECK(zy == y_ref);
  }
}

TEMPLATE_TEST_CASE("elementwise: softmax and log-softmax forward", "[ops]", float, double) {
  using T = TestType;
  // softmax(1, 2, 3) = e^k / (e + e^2 + e^3); shifting by 1000 changes nothing.
  const double expected[] = {0.090030573170380462, 0.24472847105479767, 0.66524095577481771};
  for (double shift : {0.0, 1000.0, -1000.0}) {
    const std::vector<T> x{T(1 + shift), T(2 + shift), T(3 + shift), T(shift), T(shift), T(shift)};
    std::vector<T> y(6), logy(6);
    hepnn::ops::softmax_forward<cpu>(2, 3, x.data(), y.data(), false);
    hepnn::ops::softmax_forward<cpu>(2, 3, x.data(), logy.data(), true);
    INFO("shift " << shift);
    const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-14;
    for (int c = 0; c < 3; ++c) {
      CHECK(std::isfinite(y[c]));
      CHECK(std::abs(double(y[c]) - expected[c]) <= tol);
      CHECK(std::abs(double(y[3 + c]) - 1.0 / 3.0) <= tol);
      // log-softmax(1, 2, 3) = k - 3 - log(1 + e^-1 + e^-2); x - lse loses the bits of |x| ~ |shift|
      const double log_tol = tol + 4 * std::numeric_limits<T>::epsilon() * (std::abs(shift) + 4);
      CHECK(std::abs(double(logy[c]) - (c + 1 - 3 - 0.4076059644443804)) <= log_tol);
      CHECK(std::abs(double(logy[3 + c]) + 1.0986122886681098) <= log_tol);
    }
  }
  // Random rows sum to one; in place gives the same numbers.
  std::mt19937 rng(8);
  const std::int64_t rows = 50, cols = 13;
  const auto x = random_vector<T>(rng, static_cast<std::size_t>(rows * cols), -20, 20);
  std::vector<T> y(x.size()), in_place = x;
  hepnn::ops::softmax_forward<cpu>(rows, cols, x.data(), y.data(), false);
  hepnn::ops::softmax_forward<cpu>(rows, cols, in_place.data(), in_place.data(), false);
  CHECK(in_place == y);
  for (std::int64_t r = 0; r < rows; ++r) {
    double s = 0;
    for (std::int64_t c = 0; c < cols; ++c) {
      const T v = y[static_cast<std::size_t>(r * cols + c)];
      CHECK(v >= T(0));
      CHECK(v <= T(1));
      s += double(v);
    }
    CHECK(std::abs(s - 1.0) < 1e-5);
  }
  // A single column is always 1 (log: 0).
  const std::vector<T> one{T(-5), T(700)};
  std::vector<T> y1(2), l1(2);
  hepnn::ops::softmax_forward<cpu>(2, 1, one.data(), y1.data(), false);
  hepnn::ops::softmax_forward<cpu>(2, 1, one.data(), l1.data(), true);
  CHECK(y1 == std::vector<T>{1, 1});
  CHECK(l1 == std::vector<T>{0, 0});
}

TEST_CASE("elementwise: softmax and log-softmax backward against finite differences", "[ops]") {
  std::mt19937 rng(31);
  for (bool log : {false, true})
    for (auto [rows_, cols_] : {std::pair<std::int64_t, std::int64_t>{1, 1}, {1, 4}, {4, 5}, {3, 17}}) {
      const std::int64_t rows = rows_, cols = cols_;  // clang 14 cannot capture structured bindings
      const auto n = static_cast<std::size_t>(rows * cols);
      const auto x = random_vector<double>(rng, n, -3, 3);
      const auto r = random_vector<double>(rng, n);
      // L(x) = sum r * softmax(x)
      auto L = [&](const std::vector<double>& v) {
        std::vector<double> y(n);
        hepnn::ops::softmax_forward<cpu>(rows, cols, v.data(), y.data(), log);
        double s = 0;
        for (std::size_t i = 0; i < n; ++i) s += r[i] * y[i];
        return s;
      };
      std::vector<double> y(n), dx(n);
      hepnn::ops::softmax_forward<cpu>(rows, cols, x.data(), y.data(), log);
      hepnn::ops::softmax_backward<cpu>(rows, cols, y.data(), r.data(), dx.data(), log);
      check_gradient(L, x, dx, log ? "log-softmax" : "softmax");
    }
}

TEMPLATE_TEST_CASE("elementwise: dropout masks, scaling and reproducibility", "[ops]", float, double) {
  using T = TestType;
  constexpr std::int64_t n = 200000;
  std::mt19937 rng(77);
  const auto x = random_vector<T>(rng, static_cast<std::size_t>(n), 0.5, 2.0);  // never 0
  std::vector<T> y(x.size());

  // rate 0 is the identity
  hepnn::ops::dropout_forward<cpu>(n, T(0), 1, 2, x.data(), y.data());
  CHECK(y == x);

  for (double rate : {0.1, 0.3, 0.5, 0.9}) {
    hepnn::ops::dropout_forward<cpu>(n, T(rate), 42, 7, x.data(), y.data());
    std::int64_t zeros = 0;
    bool scaled = true;
    const double scale = 1.0 / (1.0 - rate);
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (y[i] == T(0)) {
        ++zeros;
      } else {
        scaled = scaled && std::abs(double(y[i]) - double(x[i]) * scale) <= 4 * std::numeric_limits<T>::epsilon() * double(y[i]);
      }
    }
    // standard error of the fraction: sqrt(rate (1 - rate) / n) <= 1.2e-3
    INFO("rate " << rate << ": fraction of zeros " << double(zeros) / double(n));
    CHECK(std::abs(double(zeros) / double(n) - rate) < 0.006);
    CHECK(scaled);

    // element i is kept when philox_uniform(seed, stream, i) >= rate: the same mask on every device
    bool follows_philox = true;
    for (std::size_t i = 0; i < x.size(); ++i)
      follows_philox = follows_philox && ((y[i] != T(0)) == (hepnn::philox_uniform(42, 7, i) >= float(T(rate))));
    CHECK(follows_philox);

    // same (seed, stream): same output; the backward pass applies the same mask
    std::vector<T> again(x.size()), dx(x.size());
    hepnn::ops::dropout_forward<cpu>(n, T(rate), 42, 7, x.data(), again.data());
    CHECK(again == y);
    const auto dy = random_vector<T>(rng, x.size(), 0.5, 2.0);
    hepnn::ops::dropout_backward<cpu>(n, T(rate), 42, 7, dy.data(), dx.data());
    bool same_mask = true;
    for (std::size_t i = 0; i < x.size(); ++i) {
      same_mask = same_mask && ((dx[i] == T(0)) == (y[i] == T(0)));
      if (dx[i] != T(0)) same_mask = same_mask && dx[i] == T(dy[i] * (T(1) / (T(1) - T(rate))));
    }
    CHECK(same_mask);

    // another seed or stream: another mask
    for (auto [seed, stream] : {std::pair<std::uint64_t, std::uint64_t>{43, 7}, {42, 8}}) {
      hepnn::ops::dropout_forward<cpu>(n, T(rate), seed, stream, x.data(), again.data());
      std::int64_t differ = 0;
      for (std::size_t i = 0; i < x.size(); ++i) differ += (again[i] == T(0)) != (y[i] == T(0));
      // two independent masks differ in 2 rate (1 - rate) of the places
      CHECK(double(differ) / double(n) > rate * (1 - rate));
    }
  }
}

TEMPLATE_TEST_CASE("elementwise: sum and sum of squares against loops", "[ops]", float, double) {
  using T = TestType;
  std::mt19937 rng(2);
  for (std::int64_t n : {std::int64_t{0}, std::int64_t{1}, std::int64_t{1000}, (std::int64_t{1} << 16) + 1,
                         (std::int64_t{1} << 17) + 12345, (std::int64_t{1} << 20) + 777}) {
    const auto x = random_vector<T>(rng, static_cast<std::size_t>(n), -1, 2);
    long double s = 0, s2 = 0, mag = 0;
    for (T v : x) {
      s += static_cast<long double>(v);
      s2 += static_cast<long double>(v) * static_cast<long double>(v);
      mag += std::abs(static_cast<long double>(v));
    }
    INFO("n = " << n);
    const double tol = 1e-15 * double(n) * double(mag) + 1e-300;  // double accumulation error bound
    CHECK(std::abs(hepnn::ops::sum<cpu>(n, x.data()) - double(s)) <= tol);
    CHECK(std::abs(hepnn::ops::sum<cpu>(n, x.data(), true) - double(s2)) <= 2 * tol);
  }
  const std::vector<T> hand{T(1), T(-2), T(3.5)};
  CHECK(hepnn::ops::sum<cpu>(3, hand.data()) == 2.5);
  CHECK(hepnn::ops::sum<cpu>(3, hand.data(), true) == 17.25);  // 1 + 4 + 12.25
}

TEMPLATE_TEST_CASE("elementwise: sums are bitwise identical with 1 and 2 threads", "[ops]", float, double) {
  using T = TestType;
  const int saved = hepnn::num_threads();
  std::mt19937 rng(4);
  const std::int64_t n = (std::int64_t{1} << 21) + 4321;  // 33 chunks, enough work for two threads
  const auto x = random_vector<T>(rng, static_cast<std::size_t>(n), -1, 1);
  for (bool squares : {false, true}) {
    hepnn::set_num_threads(1);
    const double one = hepnn::ops::sum<cpu>(n, x.data(), squares);
    hepnn::set_num_threads(2);
    const double two = hepnn::ops::sum<cpu>(n, x.data(), squares);
    hepnn::set_num_threads(saved);
    CHECK(std::memcmp(&one, &two, sizeof(double)) == 0);
  }
  CHECK(hepnn::num_threads() == saved);
}

TEMPLATE_TEST_CASE("elementwise: scale and all_finite", "[ops]", float, double) {
  using T = TestType;
  std::vector<T> x{T(1), T(-2), T(0.5)};
  hepnn::ops::scale<cpu>(3, T(-4), x.data());
  CHECK(x == std::vector<T>{T(-4), T(8), T(-2)});

  std::vector<T> big(100000, T(1.5));
  CHECK(hepnn::ops::all_finite<cpu>(static_cast<std::int64_t>(big.size()), big.data()));
  CHECK(hepnn::ops::all_finite<cpu>(0, big.data()));
  for (T bad : {std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity(),
                -std::numeric_limits<T>::infinity()}) {
    for (std::size_t at : {std::size_t{0}, std::size_t{54321}, big.size() - 1}) {
      std::vector<T> v = big;
      v[at] = bad;
      INFO("bad value " << bad << " at " << at);
      CHECK_FALSE(hepnn::ops::all_finite<cpu>(static_cast<std::int64_t>(v.size()), v.data()));
    }
  }
  const T largest = std::numeric_limits<T>::max();
  CHECK(hepnn::ops::all_finite<cpu>(1, &largest));
}

TEST_CASE("elementwise: activation names round-trip", "[ops]") {
  const char* names[] = {"linear", "relu", "leaky_relu", "elu", "selu", "tanh", "sigmoid", "softplus", "gelu"};
  int i = 0;
  for (Activation a : all_activations) {
    CHECK(hepnn::to_string(a) == names[i++]);
    CHECK(hepnn::activation_from_string(hepnn::to_string(a)) == a);
  }
  CHECK_THROWS_WITH(hepnn::activation_from_string("swish"), Catch::Contains("unknown activation 'swish'"));
  CHECK(hepnn::default_alpha(Activation::leaky_relu) == 0.01);
  CHECK(hepnn::default_alpha(Activation::elu) == 1.0);
}
