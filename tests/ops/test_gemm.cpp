/// @file tests/ops/test_gemm.cpp
/// @brief ops::gemm on the CPU against a naive triple loop in double.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "hepnn/ops/gemm.hpp"
#include "support/gradcheck.hpp"

using hepnn::cpu;
using hepnn::test::random_vector;

namespace {

struct Dims {
  std::int64_t M, N, K;
};

// Includes 1-extents, sizes that are not multiples of 32 and M above 64 (several row chunks).
const Dims dims[] = {{1, 1, 1},  {1, 7, 1},   {5, 1, 3},   {1, 1, 9},   {3, 4, 1},    {2, 3, 5},
                     {32, 32, 32}, {33, 31, 17}, {64, 5, 70}, {65, 40, 37}, {100, 3, 70}, {129, 65, 33},
                     {300, 257, 70}, {70, 300, 120}};  // the last two: several BLAS pieces, cut by rows and by columns

/// Reference: C = alpha op(A) op(B) + beta C0 in double (beta == 0 ignores C0), plus the bound on the
/// rounding error of a T computation: |alpha| sum_k |op(A)_ik op(B)_kj| + |beta C0_ij|.
template <class T>
void reference(bool ta, bool tb, const Dims& d, double alpha, const std::vector<T>& A, const std::vector<T>& B,
               double beta, const std::vector<T>& C0, std::vector<double>& C, std::vector<double>& magnitude) {
  C.assign(static_cast<std::size_t>(d.M * d.N), 0.0);
  magnitude.assign(C.size(), 0.0);
  for (std::int64_t i = 0; i < d.M; ++i)
    for (std::int64_t j = 0; j < d.N; ++j) {
      double s = 0, mag = 0;
      for (std::int64_t k = 0; k < d.K; ++k) {
        const double a = ta ? double(A[static_cast<std::size_t>(k * d.M + i)]) : double(A[static_cast<std::size_t>(i * d.K + k)]);
        const double b = tb ? double(B[static_cast<std::size_t>(j * d.K + k)]) : double(B[static_cast<std::size_t>(k * d.N + j)]);
        s += a * b;
        mag += std::abs(a * b);
      }
      const auto ij = static_cast<std::size_t>(i * d.N + j);
      const double c0 = beta == 0.0 ? 0.0 : double(C0[ij]);
      C[ij] = alpha * s + beta * c0;
      magnitude[ij] = std::abs(alpha) * mag + std::abs(beta * c0);
    }
}

template <class T>
void check_gemm(std::mt19937& rng, bool ta, bool tb, const Dims& d, T alpha, T beta) {
  const auto A = random_vector<T>(rng, static_cast<std::size_t>(d.M * d.K));
  const auto B = random_vector<T>(rng, static_cast<std::size_t>(d.K * d.N));
  std::vector<T> C0 = random_vector<T>(rng, static_cast<std::size_t>(d.M * d.N));
  if (beta == T(0)) C0.assign(C0.size(), std::numeric_limits<T>::quiet_NaN());
  std::vector<T> C = C0;
  hepnn::ops::gemm<cpu>(ta, tb, d.M, d.N, d.K, alpha, A.data(), B.data(), beta, C.data());

  std::vector<double> ref, mag;
  reference(ta, tb, d, double(alpha), A, B, double(beta), C0, ref, mag);
  const double eps = std::numeric_limits<T>::epsilon();
  std::size_t bad = 0;  // the first element outside the rounding bound (ref.size() when none)
  while (bad < ref.size() && std::abs(double(C[bad]) - ref[bad]) <= 2.0 * double(d.K + 2) * eps * mag[bad]) ++bad;
  INFO("trans_a " << ta << " trans_b " << tb << " M " << d.M << " N " << d.N << " K " << d.K << " alpha " << alpha
                  << " beta " << beta << ": first bad element " << bad << " got "
                  << (bad < ref.size() ? double(C[bad]) : 0.0) << ", expected " << (bad < ref.size() ? ref[bad] : 0.0));
  CHECK(bad == ref.size());
}

}  // namespace

TEMPLATE_TEST_CASE("gemm: all transpose combinations against a naive triple loop", "[ops]", float, double) {
  using T = TestType;
  std::mt19937 rng(1234);
  const T coefficients[][2] = {{T(1), T(0)}, {T(1), T(1)}, {T(-1.5), T(0.75)}, {T(0.5), T(0)}, {T(2), T(-1)}};
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (const Dims& d : dims)
        for (const auto& ab : coefficients) check_gemm<T>(rng, ta, tb, d, ab[0], ab[1]);
}

TEMPLATE_TEST_CASE("gemm: beta = 0 ignores NaN in C", "[ops]", float, double) {
  using T = TestType;
  std::mt19937 rng(99);
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (const Dims& d : {Dims{70, 9, 4}, Dims{1, 1, 1}, Dims{33, 2, 65}}) {
        const auto A = random_vector<T>(rng, static_cast<std::size_t>(d.M * d.K));
        const auto B = random_vector<T>(rng, static_cast<std::size_t>(d.K * d.N));
        std::vector<T> C(static_cast<std::size_t>(d.M * d.N), std::numeric_limits<T>::quiet_NaN());
        hepnn::ops::gemm<cpu>(ta, tb, d.M, d.N, d.K, T(1.25), A.data(), B.data(), T(0), C.data());
        for (T c : C) REQUIRE(std::isfinite(c));
      }
}

TEMPLATE_TEST_CASE("gemm: K = 0 scales C by beta, M = 0 or N = 0 touches nothing", "[ops]", float, double) {
  using T = TestType;
  const T dummy = T(7);
  for (auto [M, N] : {std::pair<std::int64_t, std::int64_t>{2, 3}, {5, 7}, {40, 3}}) {
    const auto size = static_cast<std::size_t>(M * N);
    std::vector<T> C(size), expected(size);
    for (std::size_t i = 0; i < size; ++i) {
      C[i] = T(i + 1);
      expected[i] = T(-2) * T(i + 1);
    }
    hepnn::ops::gemm<cpu>(false, false, M, N, 0, T(3), &dummy, &dummy, T(-2), C.data());
    CHECK(C == expected);
    std::vector<T> nan_c(size, std::numeric_limits<T>::quiet_NaN());
    hepnn::ops::gemm<cpu>(true, true, M, N, 0, T(3), &dummy, &dummy, T(0), nan_c.data());
    CHECK(nan_c == std::vector<T>(size, T(0)));
  }
  std::vector<T> untouched{9, 9};
  hepnn::ops::gemm<cpu>(false, false, 0, 2, 4, T(1), &dummy, &dummy, T(0), untouched.data());
  hepnn::ops::gemm<cpu>(false, false, 2, 0, 4, T(1), &dummy, &dummy, T(0), untouched.data());
  CHECK(untouched == std::vector<T>{9, 9});
}

TEMPLATE_TEST_CASE("gemm: hand-computed 2x2 product", "[ops]", float, double) {
  using T = TestType;
  // A = [[1, 2], [3, 4]], B = [[5, 6], [7, 8]]: A B = [[19, 22], [43, 50]], A^T B = [[26, 30], [38, 44]],
  // A B^T = [[17, 23], [39, 53]], A^T B^T = [[23, 31], [34, 46]].
  const std::vector<T> A{1, 2, 3, 4}, B{5, 6, 7, 8};
  auto product = [&](bool ta, bool tb) {
    std::vector<T> C(4, T(1));
    hepnn::ops::gemm<cpu>(ta, tb, 2, 2, 2, T(1), A.data(), B.data(), T(0), C.data());
    return C;
  };
  CHECK(product(false, false) == std::vector<T>{19, 22, 43, 50});
  CHECK(product(true, false) == std::vector<T>{26, 30, 38, 44});
  CHECK(product(false, true) == std::vector<T>{17, 23, 39, 53});
  CHECK(product(true, true) == std::vector<T>{23, 31, 34, 46});
  // alpha = 2, beta = 10 on C = ones: 2 A B + 10
  std::vector<T> C(4, T(1));
  hepnn::ops::gemm<cpu>(false, false, 2, 2, 2, T(2), A.data(), B.data(), T(10), C.data());
  CHECK(C == std::vector<T>{48, 54, 96, 110});
}

TEMPLATE_TEST_CASE("gemm: bitwise identical results with 1 and 2 threads", "[ops]", float, double) {
  using T = TestType;
  const int saved = hepnn::num_threads();
  std::mt19937 rng(5);
  const Dims d{203, 150, 121};  // 7 row chunks, enough work for two threads
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const auto A = random_vector<T>(rng, static_cast<std::size_t>(d.M * d.K));
      const auto B = random_vector<T>(rng, static_cast<std::size_t>(d.K * d.N));
      const auto C0 = random_vector<T>(rng, static_cast<std::size_t>(d.M * d.N));
      std::vector<T> c1 = C0, c2 = C0;
      hepnn::set_num_threads(1);
      hepnn::ops::gemm<cpu>(ta, tb, d.M, d.N, d.K, T(0.7), A.data(), B.data(), T(0.3), c1.data());
      hepnn::set_num_threads(2);
      hepnn::ops::gemm<cpu>(ta, tb, d.M, d.N, d.K, T(0.7), A.data(), B.data(), T(0.3), c2.data());
      hepnn::set_num_threads(saved);
      CHECK(std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(T)) == 0);
    }
  CHECK(hepnn::num_threads() == saved);
}
