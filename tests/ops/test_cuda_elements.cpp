/// @file tests/ops/test_cuda_elements.cpp
/// @brief The CUDA kernels' per-element bodies (backend/cuda/element.hpp), run on the host one
/// element at a time exactly as the kernels' grid-stride loops run them, against the CPU
/// backend: the index arithmetic of the GPU's convolution layouts, pooling windows, dropout
/// blocks, optimizer updates and cuBLAS argument mapping is checked on every machine, with or
/// without a GPU. (The loss formulas are one function for both devices: ops/loss_row.hpp.)
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "hepnn/backend/cuda/element.hpp"
#include "hepnn/ops/batchnorm.hpp"
#include "hepnn/ops/conv.hpp"
#include "hepnn/ops/elementwise.hpp"
#include "hepnn/ops/gemm.hpp"
#include "hepnn/ops/loss_row.hpp"
#include "hepnn/ops/optim.hpp"
#include "hepnn/ops/pooling.hpp"
#include "support/gradcheck.hpp"
#include "support/reference.hpp"

using namespace hepnn;
namespace el = hepnn::backend::cuda::element;
using hepnn::test::geometry;
using hepnn::test::random_vector;

namespace {

void require_close(const std::vector<double>& a, const std::vector<double>& b, const char* what, double tol = 1e-12) {
  REQUIRE(a.size() == b.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!(std::abs(a[i] - b[i]) <= tol * (1 + std::abs(b[i])))) {
      if (++bad <= 3) {
        INFO(what << ": element " << i << ": kernel body " << a[i] << ", cpu " << b[i]);
        CHECK(false);
      }
    }
  INFO(what << ": " << bad << " of " << a.size() << " differ");
  CHECK(bad == 0);
}

const Conv2DGeometry conv_cases[] = {geometry(1, 8, 8, 4, 3, 3, 1, 1, 1, 1), geometry(3, 9, 7, 5, 3, 2, 2, 1, 0, 1),
                                     geometry(2, 10, 10, 3, 3, 3, 1, 2, 2, 2), geometry(4, 5, 6, 2, 1, 1, 1, 1, 0, 0),
                                     geometry(2, 4, 4, 3, 5, 5, 1, 1, 2, 2), geometry(2, 11, 9, 2, 4, 3, 3, 1, 1, 0)};

}  // namespace

TEST_CASE("cuda kernel bodies: im2col, col2im and the GPU's convolution algorithm match the CPU backend",
          "[ops][cuda-host]") {
  std::mt19937 rng(31);
  for (const Conv2DGeometry& g : conv_cases)
    for (std::int64_t B : {1, 3}) {
      INFO("C " << g.C << " H " << g.H << " W " << g.W << " F " << g.F << " K " << g.KH << "x" << g.KW << " stride "
                << g.SH << " dilation " << g.DH << " pad " << g.PT << "," << g.PL << " batch " << B);
      const std::int64_t P = g.pixels(), K = g.patch(), in = g.in_size(), out = g.out_size();
      const auto x = random_vector<double>(rng, static_cast<std::size_t>(B * in));
      const auto w = random_vector<double>(rng, static_cast<std::size_t>(g.F * K)), b = random_vector<double>(rng, static_cast<std::size_t>(g.F));
      const auto dy = random_vector<double>(rng, static_cast<std::size_t>(B * out));
      // im2col and col2im, element by element
      std::vector<double> col_cpu(static_cast<std::size_t>(K * B * P)), col_el(col_cpu.size());
      ops::im2col<cpu>(g, B, x.data(), col_cpu.data());
      for (std::int64_t e = 0; e < std::int64_t(col_el.size()); ++e) col_el[static_cast<std::size_t>(e)] = el::im2col_at(g, B, x.data(), e);
      require_close(col_el, col_cpu, "im2col");
      std::vector<double> back_cpu(static_cast<std::size_t>(B * in)), back_el(back_cpu.size());
      ops::col2im<cpu>(g, B, col_cpu.data(), back_cpu.data());
      for (std::int64_t e = 0; e < std::int64_t(back_el.size()); ++e) back_el[static_cast<std::size_t>(e)] = el::col2im_at(g, B, col_cpu.data(), e);
      require_close(back_el, back_cpu, "col2im");
      // the GPU's forward: im2col, one product (F, B*P), permute to (B, F, P) with the bias
      std::vector<double> tmp(static_cast<std::size_t>(g.F * B * P)), y_el(static_cast<std::size_t>(B * out)), y_cpu(y_el.size());
      ops::gemm<cpu>(false, false, g.F, B * P, K, 1.0, w.data(), col_el.data(), 0.0, tmp.data());
      for (std::int64_t e = 0; e < std::int64_t(y_el.size()); ++e)
        y_el[static_cast<std::size_t>(e)] = el::fsp_to_sfp_at(g.F, B, P, tmp.data(), b.data(), e);
      std::vector<double> scratch(static_cast<std::size_t>(ops::conv2d_scratch_size<cpu>(g, B)));
      ops::conv2d_forward<cpu>(g, B, x.data(), w.data(), b.data(), y_cpu.data(), scratch.data());
      require_close(y_el, y_cpu, "conv forward (GPU algorithm)", 1e-12);
      // the GPU's backward: dy to (F, B*P), dw = dy col^T, db = row sums, dx = col2im(w^T dy)
      std::vector<double> dyt(tmp.size());
      for (std::int64_t e = 0; e < std::int64_t(dyt.size()); ++e) dyt[static_cast<std::size_t>(e)] = el::sfp_to_fsp_at(g.F, B, P, dy.data(), e);
      std::vector<double> dw_el(w.size()), db_el(b.size(), 0.0), dcol(col_el.size()), dx_el(static_cast<std::size_t>(B * in));
      ops::gemm<cpu>(false, true, g.F, K, B * P, 1.0, dyt.data(), col_el.data(), 0.0, dw_el.data());
      for (std::int64_t f = 0; f < g.F; ++f)
        for (std::int64_t q = 0; q < B * P; ++q) db_el[static_cast<std::size_t>(f)] += dyt[static_cast<std::size_t>(f * B * P + q)];
      ops::gemm<cpu>(true, false, K, B * P, g.F, 1.0, w.data(), dyt.data(), 0.0, dcol.data());
      for (std::int64_t e = 0; e < std::int64_t(dx_el.size()); ++e) dx_el[static_cast<std::size_t>(e)] = el::col2im_at(g, B, dcol.data(), e);
      std::vector<double> dx_cpu(dx_el.size()), dw_cpu(w.size()), db_cpu(b.size());
      ops::conv2d_backward<cpu>(g, B, x.data(), w.data(), dy.data(), dx_cpu.data(), dw_cpu.data(), db_cpu.data(),
                                scratch.data());
      require_close(dx_el, dx_cpu, "conv dx (GPU algorithm)", 1e-12);
      require_close(dw_el, dw_cpu, "conv dw (GPU algorithm)", 1e-12);
      require_close(db_el, db_cpu, "conv db (GPU algorithm)", 1e-12);
    }
}

TEST_CASE("cuda kernel bodies: max and average pooling forward and backward match the CPU backend", "[ops][cuda-host]") {
  std::mt19937 rng(32);
  const Conv2DGeometry cases[] = {geometry(3, 8, 8, 3, 2, 2, 2, 1, 0, 0), geometry(2, 7, 9, 2, 3, 3, 2, 1, 1, 1),
                                  geometry(1, 5, 5, 1, 3, 3, 1, 1, 1, 1), geometry(4, 6, 6, 4, 6, 6, 1, 1, 0, 0),
                                  geometry(2, 9, 8, 2, 3, 2, 3, 1, 1, 0)};
  for (const Conv2DGeometry& g : cases) {
    INFO("C " << g.C << " H " << g.H << " W " << g.W << " K " << g.KH << "x" << g.KW << " stride " << g.SH << " pad "
              << g.PT << "," << g.PL);
    const std::int64_t B = 3, nin = B * g.in_size(), nout = B * g.C * g.pixels();
    auto x = random_vector<double>(rng, static_cast<std::size_t>(nin));
    for (std::int64_t i = 0; i < nin; i += 5) x[static_cast<std::size_t>(i)] = 0.5;  // ties: the first maximum wins
    const auto dy = random_vector<double>(rng, static_cast<std::size_t>(nout));
    std::vector<double> y_cpu(static_cast<std::size_t>(nout)), a_cpu(static_cast<std::size_t>(nout)), y_el(y_cpu.size()), a_el(a_cpu.size());
    ops::maxpool2d_forward<cpu>(g, B, x.data(), y_cpu.data(), a_cpu.data());
    for (std::int64_t e = 0; e < nout; ++e) {
      std::int64_t at = -2;
      y_el[static_cast<std::size_t>(e)] = el::maxpool_at(g, x.data(), e, at);
      a_el[static_cast<std::size_t>(e)] = double(at);
    }
    require_close(y_el, y_cpu, "maxpool forward");
    require_close(a_el, a_cpu, "maxpool argmax");
    std::vector<double> dx_cpu(static_cast<std::size_t>(nin)), dx_el(dx_cpu.size());
    ops::maxpool2d_backward<cpu>(g, B, dy.data(), a_cpu.data(), dx_cpu.data());
    for (std::int64_t e = 0; e < nin; ++e) dx_el[static_cast<std::size_t>(e)] = el::maxpool_backward_at(g, dy.data(), a_cpu.data(), e);
    require_close(dx_el, dx_cpu, "maxpool backward");
    ops::avgpool2d_forward<cpu>(g, B, x.data(), y_cpu.data());
    for (std::int64_t e = 0; e < nout; ++e) y_el[static_cast<std::size_t>(e)] = el::avgpool_at(g, x.data(), e);
    require_close(y_el, y_cpu, "avgpool forward");
    ops::avgpool2d_backward<cpu>(g, B, dy.data(), dx_cpu.data());
    for (std::int64_t e = 0; e < nin; ++e) dx_el[static_cast<std::size_t>(e)] = el::avgpool_backward_at(g, dy.data(), e);
    require_close(dx_el, dx_cpu, "avgpool backward");
  }
}

TEST_CASE("cuda kernel bodies: dropout blocks draw exactly the CPU's masks", "[ops][cuda-host]") {
  std::mt19937 rng(33);
  for (std::int64_t n : {1, 4, 7, 1001})
    for (double rate : {0.0, 0.3, 0.5, 0.95}) {
      const auto x = random_vector<float>(rng, static_cast<std::size_t>(n), 0.5, 1.5);
      std::vector<float> y_cpu(static_cast<std::size_t>(n)), y_el(static_cast<std::size_t>(n), -1.0f);
      const std::uint64_t seed = 99, stream = rng_stream::dropout + (std::uint64_t(2) << 32) + 5;
      ops::dropout_forward<cpu>(n, float(rate), seed, stream, x.data(), y_cpu.data());
      const float scale = 1.0f / (1.0f - float(rate));
      const auto threshold = static_cast<std::uint32_t>(std::ceil(double(static_cast<float>(rate)) * 16777216.0));
      for (std::int64_t k = 0; k < (n + 3) / 4; ++k) el::dropout_block(n, threshold, scale, seed, stream, x.data(), y_el.data(), k);
      CHECK(y_el == y_cpu);
    }
}

TEST_CASE("dropout and Gaussian noise from an offset: exactly that part of the whole batch's numbers",
          "[ops][cuda-host]") {
  // a data-parallel rank draws elements [first, first + n) of the step's whole batch
  std::mt19937 rng(34);
  const std::uint64_t seed = 7, stream = rng_stream::dropout + (std::uint64_t(1) << 32) + 3;
  for (std::int64_t first : {0, 1, 2, 3, 5, 13, 1030})
    for (std::int64_t n : {1, 3, 4, 9, 1001}) {
      CAPTURE(first, n);
      const std::int64_t total = first + n;
      const auto x = random_vector<float>(rng, static_cast<std::size_t>(total), 0.5, 1.5);
      std::vector<float> whole(static_cast<std::size_t>(total)), part(static_cast<std::size_t>(n)),
          part_el(static_cast<std::size_t>(n), -1.0f);
      ops::dropout_forward<cpu>(total, 0.4f, seed, stream, x.data(), whole.data());
      ops::dropout_forward<cpu>(n, 0.4f, seed, stream, x.data() + first, part.data(), std::uint64_t(first));
      const std::vector<float> want(whole.begin() + first, whole.end());
      CHECK(part == want);
      // the GPU kernel's body: blocks (first % 4 + n + 3) / 4 from block first / 4
      const auto threshold = static_cast<std::uint32_t>(std::ceil(double(0.4f) * 16777216.0));
      for (std::int64_t k = 0; k < (first % 4 + n + 3) / 4; ++k)
        el::dropout_block(n, threshold, 1.0f / 0.6f, seed, stream, x.data() + first, part_el.data(), k,
                          std::uint64_t(first));
      CHECK(part_el == want);
      // the Gaussian noise of GaussianSample
      const auto mean = random_vector<double>(rng, static_cast<std::size_t>(total), -1, 1);
      const auto log_var = random_vector<double>(rng, static_cast<std::size_t>(total), -1, 1);
      std::vector<double> z_whole(static_cast<std::size_t>(total)), z_part(static_cast<std::size_t>(n));
      ops::gaussian_sample<cpu>(total, seed, stream, mean.data(), log_var.data(), z_whole.data());
      ops::gaussian_sample<cpu>(n, seed, stream, mean.data() + first, log_var.data() + first, z_part.data(),
                                std::uint64_t(first));
      CHECK(z_part == std::vector<double>(z_whole.begin() + first, z_whole.end()));
    }
}

TEST_CASE("loss rows: an out-of-range class label gives NaN and a zero gradient, never a read out of bounds",
          "[ops][losses]") {
  // an out-of-range label: NaN, never a read out of bounds
  LossParams p;
  p.kind = LossKind::categorical_crossentropy;
  p.from_logits = true;
  const double pred[3] = {0.1, 0.2, 0.3}, label[1] = {3.0};
  double grad[3] = {1, 1, 1};
  CHECK(std::isnan(loss_math::loss_row(p, 3, 1, pred, label, 1.0, 1.0, grad)));
  CHECK(grad[0] == 0.0);
}

namespace {
/// The reference column-major BLAS gemm: C = alpha op(X) op(Y) + beta C, X (m, k), Y (k, n) after op.
void blas_gemm(bool tx, bool ty, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const double* X,
               std::int64_t ldx, const double* Y, std::int64_t ldy, double beta, double* C, std::int64_t ldc) {
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t i = 0; i < m; ++i) {
      double s = 0;
      for (std::int64_t p = 0; p < k; ++p) s += (tx ? X[p + i * ldx] : X[i + p * ldx]) * (ty ? Y[j + p * ldy] : Y[p + j * ldy]);
      C[i + j * ldc] = alpha * s + beta * C[i + j * ldc];
    }
}
}  // namespace

TEST_CASE("cuda kernel bodies: the row-major to cuBLAS column-major mapping of gemm matches the CPU product",
          "[ops][cuda-host]") {
  std::mt19937 rng(35);
  for (std::int64_t M : {1, 4, 7})
    for (std::int64_t N : {1, 5})
      for (std::int64_t K : {1, 3, 8})
        for (bool ta : {false, true})
          for (bool tb : {false, true}) {
            INFO("M " << M << " N " << N << " K " << K << " ta " << ta << " tb " << tb);
            const auto A = random_vector<double>(rng, static_cast<std::size_t>(M * K));
            const auto B = random_vector<double>(rng, static_cast<std::size_t>(K * N));
            auto C_cpu = random_vector<double>(rng, static_cast<std::size_t>(M * N));
            auto C_map = C_cpu;
            ops::gemm<cpu>(ta, tb, M, N, K, 0.5, A.data(), B.data(), -1.25, C_cpu.data());
            const auto cm = el::column_major_gemm(ta, tb, M, N, K);
            blas_gemm(cm.trans_first, cm.trans_second, cm.m, cm.n, cm.k, 0.5, B.data(), cm.ld_first, A.data(),
                      cm.ld_second, -1.25, C_map.data(), cm.ldc);
            require_close(C_map, C_cpu, "gemm through the column-major mapping");
          }
}

TEST_CASE("cuda kernel bodies: optimizer updates and batch normalisation with given statistics match the CPU backend",
          "[ops][cuda-host]") {
  std::mt19937 rng(36);
  const std::int64_t n = 1037;
  for (int which = 0; which < 6; ++which) {
    INFO("optimizer " << which);
    auto p_cpu = random_vector<float>(rng, static_cast<std::size_t>(n)), s1_cpu = std::vector<float>(p_cpu.size(), 0.0f);
    auto s2_cpu = s1_cpu, p_el = p_cpu, s1_el = s1_cpu, s2_el = s2_cpu;
    for (int step = 1; step <= 4; ++step) {
      const auto g = random_vector<float>(rng, static_cast<std::size_t>(n));
      const float lr = 1e-2f, b1 = 0.9f, b2 = 0.999f, eps = 1e-7f, wd = 0.01f;
      switch (which) {
        case 0:
          ops::sgd_update<cpu>(n, p_cpu.data(), g.data(), s1_cpu.data(), lr, 0.0f, false, wd);
          for (std::int64_t i = 0; i < n; ++i) el::sgd_at(p_el.data(), g.data(), s1_el.data(), lr, 0.0f, false, wd, i);
          break;
        case 1:
          ops::sgd_update<cpu>(n, p_cpu.data(), g.data(), s1_cpu.data(), lr, 0.9f, true, 0.0f);
          for (std::int64_t i = 0; i < n; ++i) el::sgd_at(p_el.data(), g.data(), s1_el.data(), lr, 0.9f, true, 0.0f, i);
          break;
        case 2:
        case 3: {
          const bool decoupled = which == 3;
          ops::adam_update<cpu>(n, p_cpu.data(), g.data(), s1_cpu.data(), s2_cpu.data(), lr, b1, b2, eps, step, wd, decoupled);
          // the step constants as backend/cuda/optim.cuh computes them
          const float bc1 = 1.0f - float(std::pow(double(b1), double(step))), bc2 = 1.0f - float(std::pow(double(b2), double(step)));
          const float step_size = lr / bc1, inv = 1.0f / std::sqrt(bc2);
          const float l2 = decoupled ? 0.0f : wd, shrink = decoupled ? 1.0f - lr * wd : 1.0f;
          for (std::int64_t i = 0; i < n; ++i)
            el::adam_at(p_el.data(), g.data(), s1_el.data(), s2_el.data(), b1, b2, eps, step_size, inv, l2, shrink, i);
          break;
        }
        case 4:
          ops::rmsprop_update<cpu>(n, p_cpu.data(), g.data(), s1_cpu.data(), lr, 0.9f, eps, wd);
          for (std::int64_t i = 0; i < n; ++i) el::rmsprop_at(p_el.data(), g.data(), s1_el.data(), lr, 0.9f, eps, wd, i);
          break;
        default:
          ops::adagrad_update<cpu>(n, p_cpu.data(), g.data(), s1_cpu.data(), lr, eps, wd);
          for (std::int64_t i = 0; i < n; ++i) el::adagrad_at(p_el.data(), g.data(), s1_el.data(), lr, eps, wd, i);
      }
    }
    for (std::int64_t i = 0; i < n; ++i) {
      const auto k = static_cast<std::size_t>(i);
      INFO("element " << i);
      REQUIRE(std::abs(p_el[k] - p_cpu[k]) <= 1e-6f * (1.0f + std::abs(p_cpu[k])));
      REQUIRE(std::abs(s1_el[k] - s1_cpu[k]) <= 1e-6f * (1.0f + std::abs(s1_cpu[k])));
    }
  }
  // batch normalisation in inference, (B, C, inner) = (3, 4, 5)
  const std::int64_t B = 3, C = 4, inner = 5, nb = B * C * inner;
  const auto x = random_vector<double>(rng, static_cast<std::size_t>(nb), 1, 3), gamma = random_vector<double>(rng, 4);
  const auto beta = random_vector<double>(rng, 4), mean = random_vector<double>(rng, 4, 1, 3);
  const auto var = random_vector<double>(rng, 4, 0.5, 2);
  std::vector<double> y_cpu(static_cast<std::size_t>(nb)), h_cpu(y_cpu.size()), y_el(y_cpu.size()), h_el(y_cpu.size());
  ops::batchnorm_forward_inference<cpu>(B, C, inner, x.data(), gamma.data(), beta.data(), mean.data(), var.data(), 1e-3,
                                        y_cpu.data(), h_cpu.data());
  for (std::int64_t o = 0; o < nb; ++o)
    y_el[static_cast<std::size_t>(o)] = el::batchnorm_inference_at(C, inner, x.data(), gamma.data(), beta.data(), mean.data(),
                                                                  var.data(), 1e-3, h_el.data(), o);
  require_close(y_el, y_cpu, "batch norm inference");
  require_close(h_el, h_cpu, "batch norm xhat");
}
