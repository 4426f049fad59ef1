/// @file tests/init/test_initializers.cpp
/// @brief Seeded initialisers: limits, moments, reproducibility.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

#include "hepnn/init/initializers.hpp"

using hepnn::Init;

namespace {

constexpr std::int64_t n = 100000, fan_in = 50, fan_out = 30;

template <class T>
std::vector<T> draw(Init kind, std::uint64_t seed = 17, std::uint64_t stream = 5) {
  std::vector<T> p(static_cast<std::size_t>(n), T(-999));
  hepnn::initialize(kind, p.data(), n, fan_in, fan_out, seed, stream);
  return p;
}

template <class T>
void moments(const std::vector<T>& p, double& mean, double& var, double& max_abs) {
  double s = 0, s2 = 0;
  max_abs = 0;
  for (T v : p) {
    s += double(v);
    s2 += double(v) * double(v);
    max_abs = std::max(max_abs, std::abs(double(v)));
  }
  mean = s / double(p.size());
  var = s2 / double(p.size()) - mean * mean;
}

template <class T>
std::size_t count_equal(const std::vector<T>& a, const std::vector<T>& b) {
  std::size_t same = 0;
  for (std::size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  return same;
}

}  // namespace

TEMPLATE_TEST_CASE("initializers: uniform variants stay within the limit with variance limit^2 / 3", "[layers][init]",
                   float, double) {
  using T = TestType;
  struct Case {
    Init kind;
    double limit;
  };
  const Case cases[] = {{Init::glorot_uniform, std::sqrt(6.0 / 80.0)},  // sqrt(6 / (fan_in + fan_out))
                        {Init::he_uniform, std::sqrt(6.0 / 50.0)},      // sqrt(6 / fan_in)
                        {Init::lecun_uniform, std::sqrt(3.0 / 50.0)},   // sqrt(3 / fan_in)
                        // torch.nn.Linear's kaiming_uniform_(a = sqrt(5)): gain sqrt(2 / (1 + 5)) times
                        // sqrt(3 / fan_in) is 1 / sqrt(fan_in)
                        {Init::pytorch_uniform, 1.0 / std::sqrt(50.0)}};
  for (const Case& c : cases) {
    INFO(hepnn::to_string(c.kind));
    const auto p = draw<T>(c.kind);
    double mean = 0, var = 0, max_abs = 0;
    moments(p, mean, var, max_abs);
    CHECK(max_abs <= double(T(c.limit)));
    CHECK(max_abs > 0.999 * c.limit);  // and fills it
    // standard errors: mean 1.8e-3 limit, variance 2.8e-3 relative
    CHECK(std::abs(mean) < 0.01 * c.limit);
    CHECK(std::abs(var / (c.limit * c.limit / 3.0) - 1.0) < 0.02);
  }
}

TEMPLATE_TEST_CASE("initializers: normal variants have the right standard deviation", "[layers][init]", float, double) {
  using T = TestType;
  struct Case {
    Init kind;
    double stddev;
  };
  const Case cases[] = {{Init::glorot_normal, std::sqrt(2.0 / 80.0)},  // sqrt(2 / (fan_in + fan_out))
                        {Init::he_normal, std::sqrt(2.0 / 50.0)},      // sqrt(2 / fan_in)
                        {Init::lecun_normal, std::sqrt(1.0 / 50.0)}};  // sqrt(1 / fan_in)
  for (const Case& c : cases) {
    INFO(hepnn::to_string(c.kind));
    const auto p = draw<T>(c.kind);
    double mean = 0, var = 0, max_abs = 0;
    moments(p, mean, var, max_abs);
    // standard errors: mean 3.2e-3 s, standard deviation 2.2e-3 relative
    CHECK(std::abs(mean) < 0.02 * c.stddev);
    CHECK(std::abs(std::sqrt(var) / c.stddev - 1.0) < 0.015);
    CHECK(max_abs > 3.0 * c.stddev);  // untruncated
  }
}

TEMPLATE_TEST_CASE("initializers: zeros and ones", "[layers][init]", float, double) {
  using T = TestType;
  CHECK(draw<T>(Init::zeros) == std::vector<T>(static_cast<std::size_t>(n), T(0)));
  CHECK(draw<T>(Init::ones) == std::vector<T>(static_cast<std::size_t>(n), T(1)));
}

TEMPLATE_TEST_CASE("initializers: the same seed gives the same values, another seed or stream others",
                   "[layers][init]", float, double) {
  using T = TestType;
  for (Init kind :
       {Init::glorot_uniform, Init::he_normal, Init::lecun_uniform, Init::glorot_normal, Init::pytorch_uniform}) {
    INFO(hepnn::to_string(kind));
    const auto a = draw<T>(kind, 17, 5);
    CHECK(draw<T>(kind, 17, 5) == a);
    // 24-bit uniforms coincide by chance in about n / 2^24 = 0.006 places
    CHECK(count_equal(a, draw<T>(kind, 18, 5)) < 5);
    CHECK(count_equal(a, draw<T>(kind, 17, 6)) < 5);
    // float and double draw the same numbers (float values are the double ones rounded)
    const auto d = draw<double>(kind, 17, 5);
    bool same = true;
    for (std::size_t i = 0; i < a.size(); ++i) same = same && a[i] == static_cast<T>(d[i]);
    CHECK(same);
  }
}

TEST_CASE("initializers: non-positive fans throw", "[layers][init]") {
  std::vector<double> p(4);
  CHECK_THROWS_AS(hepnn::initialize(Init::he_uniform, p.data(), 4, 0, 3, 1, 1), hepnn::Error);
  CHECK_THROWS_WITH(hepnn::initialize(Init::glorot_normal, p.data(), 4, 2, -1, 1, 1),
                    Catch::Contains("glorot_normal") && Catch::Contains("fan_in and fan_out must be positive"));
}
