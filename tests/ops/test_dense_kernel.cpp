/// @file tests/ops/test_dense_kernel.cpp
/// @brief The fused Dense forward (ops::dense_forward) against a naive double-precision loop,
/// over shapes that exercise every tile (6-row blocks and their remainders, 16- and 8-column
/// tiles and the masked tail), with and without bias and activation; and its promise that a
/// row's result does not depend on the batch it comes in.
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "hepnn/core/philox.hpp"
#include "hepnn/ops/dense.hpp"
#include "support/reference.hpp"

using hepnn::Activation;
using hepnn::cpu;

namespace {
std::vector<float> values(std::size_t n, std::uint64_t stream, float scale) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = scale * (hepnn::philox_uniform(11, stream, i) - 0.5f);
  return v;
}
}  // namespace

TEST_CASE("dense kernel: fused forward against a naive double loop", "[ops]") {
  if (!hepnn::backend::cpu::dense_kernel_available<float>())
    WARN("this build has no AVX2/FMA: the fused kernel is not compiled, the test checks the fallback path");
  struct Case { std::int64_t M, K, N; };
  const Case cases[] = {{1, 1, 1}, {1, 20, 64}, {7, 20, 64}, {13, 64, 64}, {6, 5, 3},   {5, 33, 17},
                        {12, 64, 1}, {100, 64, 24}, {97, 256, 128}, {200, 19, 40}, {3, 128, 127}, {1, 300, 64}};
  for (const Case& c : cases)
    for (bool bias : {false, true})
      for (Activation act : {Activation::linear, Activation::tanh, Activation::relu, Activation::sigmoid}) {
        const auto x = values(std::size_t(c.M * c.K), 1, 2.0f), W = values(std::size_t(c.K * c.N), 2, 0.5f),
                   b = values(std::size_t(c.N), 3, 1.0f);
        std::vector<float> z(std::size_t(c.M * c.N), -7.0f), y(z.size(), -7.0f), y_only(z.size(), -7.0f);
        hepnn::ops::dense_forward<cpu>(c.M, c.K, c.N, x.data(), W.data(), bias ? b.data() : nullptr, act, 0.01f,
                                       z.data(), y.data());
        hepnn::ops::dense_forward<cpu>(c.M, c.K, c.N, x.data(), W.data(), bias ? b.data() : nullptr, act, 0.01f,
                                       y_only.data(), y_only.data());
        double worst_z = 0, worst_y = 0;
        for (std::int64_t i = 0; i < c.M; ++i)
          for (std::int64_t j = 0; j < c.N; ++j) {
            double s = bias ? double(b[std::size_t(j)]) : 0.0, mag = std::abs(s);
            for (std::int64_t k = 0; k < c.K; ++k) {
              s += double(x[std::size_t(i * c.K + k)]) * double(W[std::size_t(k * c.N + j)]);
              mag += std::abs(double(x[std::size_t(i * c.K + k)]) * double(W[std::size_t(k * c.N + j)]));
            }
            const std::size_t at = std::size_t(i * c.N + j);
            worst_z = std::max(worst_z, std::abs(double(z[at]) - s) / (mag + 1e-30));
            worst_y = std::max(worst_y, std::abs(double(y[at]) - hepnn::test::ref_forward(act, 0.01, s)));
          }
        INFO("M " << c.M << " K " << c.K << " N " << c.N << " bias " << bias << " " << hepnn::to_string(act));
        CHECK(worst_z <= 1e-6);  // relative to the sum of |terms|: float rounding of K terms
        CHECK(worst_y <= 2e-6 * std::sqrt(double(c.K)));
        CHECK(y_only == y);  // keeping z or not does not change y
      }
}

TEST_CASE("dense kernel: a row's output does not depend on the batch it is computed in", "[ops]") {
  const std::int64_t M = 50, K = 64, N = 64;
  const auto x = values(std::size_t(M * K), 4, 2.0f), W = values(std::size_t(K * N), 5, 0.3f), b = values(64, 6, 1.0f);
  std::vector<float> all(std::size_t(M * N)), part(std::size_t(M * N));
  hepnn::ops::dense_forward<cpu>(M, K, N, x.data(), W.data(), b.data(), Activation::tanh, 0.0f, all.data(), all.data());
  // the same rows in batches of 1, 2, 3, ... starting at every kind of offset
  std::int64_t r = 0;
  for (std::int64_t size = 1; r < M; ++size) {
    const std::int64_t n = std::min(size, M - r);
    hepnn::ops::dense_forward<cpu>(n, K, N, x.data() + r * K, W.data(), b.data(), Activation::tanh, 0.0f,
                                   part.data() + r * N, part.data() + r * N);
    r += n;
  }
  if (hepnn::backend::cpu::dense_kernel_available<float>()) CHECK(part == all);
  else WARN("no AVX2/FMA in this build: batch independence is a property of the fused kernel only");
}
