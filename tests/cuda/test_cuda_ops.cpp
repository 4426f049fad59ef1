/// @file tests/cuda/test_cuda_ops.cpp
/// @brief Every op of ops/ on the GPU against the CPU backend (itself checked against loops and
/// finite differences in tests/ops), in float and double, on random data and awkward sizes.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "cuda/cuda_support.hpp"
#include "hepnn/ops/batchnorm.hpp"
#include "hepnn/ops/conv.hpp"
#include "hepnn/ops/dense.hpp"
#include "hepnn/ops/elementwise.hpp"
#include "hepnn/ops/gemm.hpp"
#include "hepnn/ops/loss.hpp"
#include "hepnn/ops/optim.hpp"
#include "hepnn/ops/pooling.hpp"
#include "support/reference.hpp"

using namespace hepnn;
using hepnn::test::check_close;
using hepnn::test::geometry;
using hepnn::test::random_vector;
using hepnn::test::Tol;
using hepnn::test::upload;

TEMPLATE_TEST_CASE("cuda ops: gemm agrees with the CPU for every transpose, beta and awkward sizes", "[cuda][ops]", float,
                   double) {
  HEPNN_REQUIRE_GPU();
  using T = TestType;
  std::mt19937 rng(1);
  struct Case {
    std::int64_t M, N, K;
  };
  for (const Case c : {Case{1, 1, 1}, Case{7, 5, 3}, Case{33, 65, 17}, Case{128, 300, 500}, Case{3, 4, 0}})
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (double beta : {0.0, 1.0, -0.5}) {
          INFO("M " << c.M << " N " << c.N << " K " << c.K << " ta " << ta << " tb " << tb << " beta " << beta);
          const auto A = random_vector<T>(rng, static_cast<std::size_t>(c.M * c.K)), B = random_vector<T>(rng, static_cast<std::size_t>(c.K * c.N));
          auto C = random_vector<T>(rng, static_cast<std::size_t>(c.M * c.N));
          auto dA = upload(A), dB = upload(B), dC = upload(C);
          ops::gemm<cuda>(ta, tb, c.M, c.N, c.K, T(0.75), dA.data(), dB.data(), T(beta), dC.data());
          ops::gemm<cpu>(ta, tb, c.M, c.N, c.K, T(0.75), A.data(), B.data(), T(beta), C.data());
          Tol<T> tol;
          if (std::is_same_v<T, float>) tol.atol = 1e-5 * std::sqrt(double(c.K) + 1);
          check_close(dC.to_vector(), C, "gemm", tol);
        }
}

TEMPLATE_TEST_CASE("cuda ops: the fused dense forward, bias and activations agree with the CPU", "[cuda][ops]", float,
                   double) {
  HEPNN_REQUIRE_GPU();
  using T = TestType;
  std::mt19937 rng(2);
  for (Activation a : hepnn::test::all_activations)
    for (std::int64_t rows : {1, 5, 130})
      for (std::int64_t cols : {1, 3, 70}) {
        INFO(to_string(a) << " rows " << rows << " cols " << cols);
        const T alpha = a == Activation::elu ? T(0.7) : T(0.2);
        const std::int64_t n = rows * cols, K = 9;
        const auto x = random_vector<T>(rng, static_cast<std::size_t>(rows * K), -3, 3), W = random_vector<T>(rng, static_cast<std::size_t>(K * cols));
        const auto b = random_vector<T>(rng, static_cast<std::size_t>(cols)), dy = random_vector<T>(rng, static_cast<std::size_t>(n));
        std::vector<T> z(static_cast<std::size_t>(n)), y(static_cast<std::size_t>(n)), dx(static_cast<std::size_t>(n)), db(static_cast<std::size_t>(cols));
        auto dX = upload(x), dW = upload(W), dB = upload(b), dZ = upload(z), dY = upload(y), dDY = upload(dy);
        ops::dense_forward<cpu>(rows, K, cols, x.data(), W.data(), b.data(), a, alpha, z.data(), y.data());
        ops::dense_forward<cuda>(rows, K, cols, dX.data(), dW.data(), dB.data(), a, alpha, dZ.data(), dY.data());
        check_close(dZ.to_vector(), z, "dense_forward z");
        check_close(dY.to_vector(), y, "dense_forward y");
        // activation forward and backward on their own
        auto dOut = upload(y), dDX = upload(dx);
        ops::activation_forward<cpu>(a, alpha, n, z.data(), y.data());
        ops::activation_forward<cuda>(a, alpha, n, dZ.data(), dOut.data());
        check_close(dOut.to_vector(), y, "activation_forward");
        ops::activation_backward<cpu>(a, alpha, n, z.data(), y.data(), dy.data(), dx.data());
        ops::activation_backward<cuda>(a, alpha, n, dZ.data(), dOut.data(), dDY.data(), dDX.data());
        check_close(dDX.to_vector(), dx, "activation_backward");
        // bias forward and backward
        auto yb = y;
        auto dYB = upload(yb);
        ops::bias_add_forward<cpu>(rows, cols, b.data(), yb.data());
        ops::bias_add_forward<cuda>(rows, cols, dB.data(), dYB.data());
        check_close(dYB.to_vector(), yb, "bias_add_forward");
        auto dDB = upload(db);
        ops::bias_add_backward<cpu>(rows, cols, dy.data(), db.data());
        ops::bias_add_backward<cuda>(rows, cols, dDY.data(), dDB.data());
        check_close(dDB.to_vector(), db, "bias_add_backward", {std::is_same_v<T, float> ? 1e-5 : 1e-12, 1e-5});
      }
}

TEMPLATE_TEST_CASE("cuda ops: softmax and log-softmax forward and backward agree with the CPU", "[cuda][ops]", float,
                   double) {
  HEPNN_REQUIRE_GPU();
  using T = TestType;
  std::mt19937 rng(3);
  for (bool log : {false, true})
    for (std::int64_t cols : {1, 2, 10, 33, 1000}) {
      const std::int64_t rows = 37, n = rows * cols;
      INFO("log " << log << " cols " << cols);
      const auto x = random_vector<T>(rng, static_cast<std::size_t>(n), -20, 20), dy = random_vector<T>(rng, static_cast<std::size_t>(n));
      std::vector<T> y(static_cast<std::size_t>(n)), dx(static_cast<std::size_t>(n));
      auto dX = upload(x), dY = upload(y), dDY = upload(dy), dDX = upload(dx);
      ops::softmax_forward<cpu>(rows, cols, x.data(), y.data(), log);
      ops::softmax_forward<cuda>(rows, cols, dX.data(), dY.data(), log);
      check_close(dY.to_vector(), y, "softmax_forward", {1e-5, 1e-6});
      ops::softmax_backward<cpu>(rows, cols, y.data(), dy.data(), dx.data(), log);
      ops::softmax_backward<cuda>(rows, cols, dY.data(), dDY.data(), dDX.data(), log);
      check_close(dDX.to_vector(), dx, "softmax_backward", {1e-4, 1e-5});
    }
}

TEMPLATE_TEST_CASE("cuda ops: dropout draws the CPU's Philox masks exactly", "[cuda][ops]", float, double) {
  HEPNN_REQUIRE_GPU();
  using T = TestType;
  std::mt19937 rng(4);
  for (std::int64_t n : {1, 3, 4, 5, 1023, 100001})
    for (double rate : {0.0, 0.2, 0.5, 0.9}) {
      INFO("n " << n << " rate " << rate);
      const auto x = random_vector<T>(rng, static_cast<std::size_t>(n), 0.5, 1.5);  // never zero: a zero output means dropped
      std::vector<T> y(static_cast<std::size_t>(n));
      auto dX = upload(x), dY = upload(y);
      const std::uint64_t seed = 0x1234567890ull, stream = rng_stream::dropout + (std::uint64_t(3) << 32) + 17;
      ops::dropout_forward<cpu>(n, T(rate), seed, stream, x.data(), y.data());
      ops::dropout_forward<cuda>(n, T(rate), seed, stream, dX.data(), dY.data());
      const auto g = dY.to_vector();
      std::int64_t mask_diff = 0;
      for (std::int64_t i = 0; i < n; ++i) mask_diff += (g[static_cast<std::size_t>(i)] == T(0)) != (y[static_cast<std::size_t>(i)] == T(0));
      CHECK(mask_diff == 0);
      check_close(g, y, "dropout_forward");
      ops::dropout_backward<cpu>(n, T(rate), seed, stream, x.data(), y.data());
      ops::dropout_backward<cuda>(n, T(rate), seed, stream, dX.data(), dY.data());
      check_close(dY.to_vector(), y, "dropout_backward");
      for (std::uint64_t first : {1, 2, 3, 6, 1029}) {  // a data-parallel rank's part of the whole batch
        INFO("first " << first);
        ops::dropout_forward<cpu>(n, T(rate), seed, stream, x.data(), y.data(), first);
        ops::dropout_forward<cuda>(n, T(rate), seed, stream, dX.data(), dY.data(), first);
        check_close(dY.to_vector(), y, "dropout_forward from an offset");
      }
    }
}

TEMPLATE_TEST_CASE("cuda ops: sums, scale and the finiteness check agree with the CPU", "[cuda][ops]", float, double) {
  HEPNN_REQUIRE_GPU();
  using T = TestType;
  std::mt19937 rng(5);
  for (std::int64_t n : {0, 1, 255, 256, 257, 100000, 3000001}) {
    INFO("n " << n);
    auto x = random_vector<T>(rng, static_cast<std::size_t>(n));
    auto dX = upload(x);
    for (bool sq : {false, true}) {
      const double c = ops::sum<cpu>(n, x.data(), sq), g = ops::sum<cuda>(n, dX.data(), sq);
      CHECK(std::abs(g - c) <= 1e-9 * (1.0 + std::abs(c)));
      CHECK(ops::sum<cuda>(n, dX.data(), sq) == g);  // the same bits on every run
    }
    ops::scale<cpu>(n, T(-1.5), x.data());
    ops::scale<cuda>(n, T(-1.5), dX.data());
    check_close(dX.to_vector(), x, "scale");
    CHECK(ops::all_finite<cuda>(n, dX.data()));
    if (n > 0) {
      for (T bad : {std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity()}) {
        x[static_cast<std::size_t>(n - 1)] = bad;
        auto dBad = upload(x);
        CHECK_FALSE(ops::all_finite<cuda>(n, dBad.data()));
      }
    }
  }
}

TEMPLATE_TEST_CASE("cuda ops: every loss and its gradient agree with the CPU, with and without weights", "[cuda][ops]",
                   float, double) {
  HEPNN_REQUIRE_GPU();
  using T = TestType;
  std::mt19937 rng(6);
  const std::int64_t B = 301;
  struct Case {
    LossKind kind;
    bool logits;
    std::int64_t C, tc;
  };
  const Case cases[] = {{LossKind::mse, false, 3, 3},
                        {LossKind::mae, false, 3, 3},
                        {LossKind::huber, false, 2, 2},
                        {LossKind::binary_crossentropy, true, 1, 1},
                        {LossKind::binary_crossentropy, false, 2, 2},
                        {LossKind::categorical_crossentropy, true, 10, 10},
                        {LossKind::categorical_crossentropy, true, 10, 1},
                        {LossKind::categorical_crossentropy, false, 4, 4},
                        {LossKind::categorical_crossentropy, false, 4, 1}};
  for (const Case& c : cases)
    for (bool weighted : {false, true}) {
      INFO("loss " << int(c.kind) << " logits " << c.logits << " C " << c.C << " target cols " << c.tc << " weighted "
                   << weighted);
      LossParams p;
      p.kind = c.kind;
      p.from_logits = c.logits;
      p.delta = 0.5;
      const bool probs = !c.logits && (c.kind == LossKind::binary_crossentropy || c.kind == LossKind::categorical_crossentropy);
      const auto pred = random_vector<T>(rng, static_cast<std::size_t>(B * c.C), probs ? 0.01 : -3.0, probs ? 0.99 : 3.0);
      std::vector<T> target(static_cast<std::size_t>(B * c.tc));
      for (std::int64_t i = 0; i < B; ++i)
        for (std::int64_t k = 0; k < c.tc; ++k)
          target[static_cast<std::size_t>(i * c.tc + k)] = c.tc == 1 && c.C > 1 ? T(rng() % std::uint32_t(c.C))
                                              : c.kind == LossKind::binary_crossentropy || c.kind == LossKind::categorical_crossentropy
                                                  ? T(rng() % 2)
                                                  : T(double(rng()) / 4294967296.0 * 4 - 2);
      const auto w = random_vector<T>(rng, static_cast<std::size_t>(B), -0.5, 2.0);  // negative weights too
      std::vector<T> dpred(static_cast<std::size_t>(B * c.C));
      auto dP = upload(pred), dT = upload(target), dW = upload(w), dD = upload(dpred);
      const double lc = ops::loss_forward_backward<cpu>(p, B, c.C, c.tc, pred.data(), target.data(),
                                                        weighted ? w.data() : nullptr, 123.0, dpred.data());
      const double lg = ops::loss_forward_backward<cuda>(p, B, c.C, c.tc, dP.data(), dT.data(),
                                                         weighted ? dW.data() : nullptr, 123.0, dD.data());
      CHECK(std::abs(lg - lc) <= 1e-10 * (1 + std::abs(lc)));
      check_close(dD.to_vector(), dpred, "loss gradient");
    }
  // an out-of-range class label gives a non-finite loss, never a read out of bounds
  LossParams p;
  p.kind = LossKind::categorical_crossentropy;
  p.from_logits = true;
  const auto pred = random_vector<T>(rng, 4 * 3);
  auto dP = upload(pred), dT = upload(std::vector<T>{0, 1, 7, 2});
  CHECK_FALSE(std::isfinite(ops::loss_forward_backward<cuda>(p, 4, 3, 1, dP.data(), dT.data(), (const T*)nullptr, 1.0, (T*)nullptr)));
}

TEMPLATE_TEST_CASE("cuda ops: the fused optimizer updates agree with the CPU over several steps", "[cuda][ops]", float,
                   double) {
  HEPNN_REQUIRE_GPU();
  using T = TestType;
  std::mt19937 rng(7);
  const std::int64_t n = 10007;
  for (int which = 0; which < 6; ++which) {
    INFO("optimizer " << which);
    auto p = random_vector<T>(rng, static_cast<std::size_t>(n)), s1 = std::vector<T>(static_cast<std::size_t>(n), T(0)), s2 = s1;
    auto dP = upload(p), dS1 = upload(s1), dS2 = upload(s2);
    for (int step = 1; step <= 5; ++step) {
      const auto g = random_vector<T>(rng, static_cast<std::size_t>(n));
      auto dG = upload(g);
      switch (which) {
        case 0:
          ops::sgd_update<cpu>(n, p.data(), g.data(), s1.data(), T(0.1), T(0), false, T(0.01));
          ops::sgd_update<cuda>(n, dP.data(), dG.data(), dS1.data(), T(0.1), T(0), false, T(0.01));
          break;
        case 1:
          ops::sgd_update<cpu>(n, p.data(), g.data(), s1.data(), T(0.1), T(0.9), true, T(0));
          ops::sgd_update<cuda>(n, dP.data(), dG.data(), dS1.data(), T(0.1), T(0.9), true, T(0));
          break;
        case 2:
          ops::adam_update<cpu>(n, p.data(), g.data(), s1.data(), s2.data(), T(1e-3), T(0.9), T(0.999), T(1e-7), step,
                                T(0.01), false);
          ops::adam_update<cuda>(n, dP.data(), dG.data(), dS1.data(), dS2.data(), T(1e-3), T(0.9), T(0.999), T(1e-7),
                                 step, T(0.01), false);
          break;
        case 3:
          ops::adam_update<cpu>(n, p.data(), g.data(), s1.data(), s2.data(), T(1e-3), T(0.9), T(0.999), T(1e-7), step,
                                T(0.01), true);
          ops::adam_update<cuda>(n, dP.data(), dG.data(), dS1.data(), dS2.data(), T(1e-3), T(0.9), T(0.999), T(1e-7),
                                 step, T(0.01), true);
          break;
        case 4:
          ops::rmsprop_update<cpu>(n, p.data(), g.data(), s1.data(), T(1e-3), T(0.9), T(1e-7), T(0.001));
          ops::rmsprop_update<cuda>(n, dP.data(), dG.data(), dS1.data(), T(1e-3), T(0.9), T(1e-7), T(0.001));
          break;
        default:
          ops::adagrad_update<cpu>(n, p.data(), g.data(), s1.data(), T(1e-2), T(1e-7), T(0));
          ops::adagrad_update<cuda>(n, dP.data(), dG.data(), dS1.data(), T(1e-2), T(1e-7), T(0));
      }
    }
    check_close(dP.to_vector(), p, "parameters after 5 steps", {std::is_same_v<T, float> ? 1e-5 : 1e-12, 1e-6});
    check_close(dS1.to_vector(), s1, "first state slot after 5 steps", {std::is_same_v<T, float> ? 1e-5 : 1e-12, 1e-6});
  }
}


TEMPLATE_TEST_CASE("cuda ops: im2col, col2im and convolution forward and backward agree with the CPU", "[cuda][ops][conv]",
                   float, double) {
  HEPNN_REQUIRE_GPU();
  using T = TestType;
  std::mt19937 rng(8);
  const Conv2DGeometry gs[] = {geometry(1, 8, 8, 4, 3, 3, 1, 1, 1, 1), geometry(3, 9, 7, 5, 3, 3, 2, 1, 0, 0),
                               geometry(2, 10, 10, 3, 3, 3, 1, 2, 2, 2), geometry(4, 5, 6, 2, 1, 1, 1, 1, 0, 0),
                               geometry(2, 4, 4, 3, 5, 5, 1, 1, 2, 2)};
  for (const Conv2DGeometry& g : gs)
    for (std::int64_t B : {1, 3, 40}) {
      INFO("C " << g.C << " H " << g.H << " W " << g.W << " F " << g.F << " K " << g.KH << " stride " << g.SH
                << " dilation " << g.DH << " pad " << g.PT << " batch " << B);
      const auto x = random_vector<T>(rng, static_cast<std::size_t>(B * g.in_size()));
      const auto w = random_vector<T>(rng, static_cast<std::size_t>(g.F * g.patch())), b = random_vector<T>(rng, static_cast<std::size_t>(g.F));
      const auto dy = random_vector<T>(rng, static_cast<std::size_t>(B * g.out_size()));
      auto dX = upload(x), dW = upload(w), dB = upload(b), dDY = upload(dy);
      // im2col / col2im on two samples
      const std::int64_t S = std::min<std::int64_t>(B, 2), ncol = g.patch() * S * g.pixels();
      std::vector<T> col(static_cast<std::size_t>(ncol)), back(static_cast<std::size_t>(S * g.in_size()));
      auto dCol = upload(col), dBack = upload(back);
      ops::im2col<cpu>(g, S, x.data(), col.data());
      ops::im2col<cuda>(g, S, dX.data(), dCol.data());
      check_close(dCol.to_vector(), col, "im2col");
      ops::col2im<cpu>(g, S, col.data(), back.data());
      ops::col2im<cuda>(g, S, dCol.data(), dBack.data());
      check_close(dBack.to_vector(), back, "col2im");
      // convolution
      std::vector<T> y(static_cast<std::size_t>(B * g.out_size())), dx(static_cast<std::size_t>(B * g.in_size())), dw(w.size()), db(b.size());
      std::vector<T> scratch(static_cast<std::size_t>(ops::conv2d_scratch_size<cpu>(g, B)));
      Tensor<T, cuda> dScratch(Shape{std::max<std::int64_t>(1, ops::conv2d_scratch_size<cuda>(g, B))});
      auto dY = upload(y), dDX = upload(dx), dDW = upload(dw), dDB = upload(db);
      ops::conv2d_forward<cpu>(g, B, x.data(), w.data(), b.data(), y.data(), scratch.data());
      ops::conv2d_forward<cuda>(g, B, dX.data(), dW.data(), dB.data(), dY.data(), dScratch.data());
      Tol<T> tol;
      if (std::is_same_v<T, float>) tol.atol = 1e-5;
      check_close(dY.to_vector(), y, "conv2d_forward", tol);
      ops::conv2d_backward<cpu>(g, B, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(), scratch.data());
      ops::conv2d_backward<cuda>(g, B, dX.data(), dW.data(), dDY.data(), dDX.data(), dDW.data(), dDB.data(),
                                 dScratch.data());
      if (std::is_same_v<T, float>) tol.atol = 1e-4;
      check_close(dDX.to_vector(), dx, "conv2d_backward dx", tol);
      check_close(dDW.to_vector(), dw, "conv2d_backward dw", tol);
      check_close(dDB.to_vector(), db, "conv2d_backward db", tol);
    }
}

TEMPLATE_TEST_CASE("cuda ops: max and average pooling forward and backward agree with the CPU", "[cuda][ops][conv]",
                   float, double) {
  HEPNN_REQUIRE_GPU();
  using T = TestType;
  std::mt19937 rng(9);
  const Conv2DGeometry gs[] = {geometry(3, 8, 8, 3, 2, 2, 2, 1, 0, 0), geometry(2, 7, 9, 2, 3, 3, 2, 1, 1, 1),
                               geometry(1, 5, 5, 1, 3, 3, 1, 1, 1, 1), geometry(4, 6, 6, 4, 6, 6, 1, 1, 0, 0)};
  for (const Conv2DGeometry& g : gs) {
    const std::int64_t B = 5, nin = B * g.in_size(), nout = B * g.C * g.pixels();
    INFO("C " << g.C << " H " << g.H << " W " << g.W << " K " << g.KH << " stride " << g.SH << " pad " << g.PT);
    auto x = random_vector<T>(rng, static_cast<std::size_t>(nin));
    for (std::int64_t i = 0; i < nin; i += 7) x[static_cast<std::size_t>(i)] = T(0.25);  // ties: the first maximum wins
    const auto dy = random_vector<T>(rng, static_cast<std::size_t>(nout));
    std::vector<T> y(static_cast<std::size_t>(nout)), arg(static_cast<std::size_t>(nout)), dx(static_cast<std::size_t>(nin));
    auto dX = upload(x), dDY = upload(dy), dY = upload(y), dA = upload(arg), dDX = upload(dx);
    ops::maxpool2d_forward<cpu>(g, B, x.data(), y.data(), arg.data());
    ops::maxpool2d_forward<cuda>(g, B, dX.data(), dY.data(), dA.data());
    check_close(dY.to_vector(), y, "maxpool forward");
    check_close(dA.to_vector(), arg, "maxpool argmax");
    ops::maxpool2d_backward<cpu>(g, B, dy.data(), arg.data(), dx.data());
    ops::maxpool2d_backward<cuda>(g, B, dDY.data(), dA.data(), dDX.data());
    check_close(dDX.to_vector(), dx, "maxpool backward");
    ops::avgpool2d_forward<cpu>(g, B, x.data(), y.data());
    ops::avgpool2d_forward<cuda>(g, B, dX.data(), dY.data());
    check_close(dY.to_vector(), y, "avgpool forward");
    ops::avgpool2d_backward<cpu>(g, B, dy.data(), dx.data());
    ops::avgpool2d_backward<cuda>(g, B, dDY.data(), dDX.data());
    check_close(dDX.to_vector(), dx, "avgpool backward");
  }
}

TEMPLATE_TEST_CASE("cuda ops: batch normalisation agrees with the CPU in training and inference", "[cuda][ops]", float,
                   double) {
  HEPNN_REQUIRE_GPU();
  using T = TestType;
  std::mt19937 rng(10);
  for (std::int64_t inner : {1, 49}) {
    const std::int64_t B = 17, C = 6, n = B * C * inner;
    INFO("inner " << inner);
    const auto x = random_vector<T>(rng, static_cast<std::size_t>(n), 2.0, 5.0), dy = random_vector<T>(rng, static_cast<std::size_t>(n));
    const auto gamma = random_vector<T>(rng, static_cast<std::size_t>(C), 0.5, 1.5), beta = random_vector<T>(rng, static_cast<std::size_t>(C));
    std::vector<T> y(static_cast<std::size_t>(n)), xh(static_cast<std::size_t>(n)), mean(static_cast<std::size_t>(C)), var(static_cast<std::size_t>(C));
    std::vector<T> dx(static_cast<std::size_t>(n)), dg(static_cast<std::size_t>(C)), dbt(static_cast<std::size_t>(C));
    auto dX = upload(x), dDY = upload(dy), dG = upload(gamma), dBe = upload(beta), dY = upload(y), dXh = upload(xh);
    auto dM = upload(mean), dV = upload(var), dDX = upload(dx), dDG = upload(dg), dDBt = upload(dbt);
    const T eps = T(1e-3);
    ops::batchnorm_forward_training<cpu>(B, C, inner, x.data(), gamma.data(), beta.data(), eps, y.data(), xh.data(),
                                         mean.data(), var.data());
    ops::batchnorm_forward_training<cuda>(B, C, inner, dX.data(), dG.data(), dBe.data(), eps, dY.data(), dXh.data(),
                                          dM.data(), dV.data());
    check_close(dY.to_vector(), y, "bn forward y");
    check_close(dM.to_vector(), mean, "bn batch mean");
    check_close(dV.to_vector(), var, "bn batch variance");
    for (bool training : {true, false}) {
      ops::batchnorm_backward<cpu>(B, C, inner, dy.data(), xh.data(), gamma.data(), var.data(), eps, training,
                                   dx.data(), dg.data(), dbt.data());
      ops::batchnorm_backward<cuda>(B, C, inner, dDY.data(), dXh.data(), dG.data(), dV.data(), eps, training,
                                    dDX.data(), dDG.data(), dDBt.data());
      check_close(dDX.to_vector(), dx, "bn backward dx", {1e-4, 1e-5});
      check_close(dDG.to_vector(), dg, "bn dgamma", {1e-4, 1e-5});
      check_close(dDBt.to_vector(), dbt, "bn dbeta", {1e-4, 1e-5});
    }
    ops::batchnorm_forward_inference<cpu>(B, C, inner, x.data(), gamma.data(), beta.data(), mean.data(), var.data(), eps,
                                          y.data(), xh.data());
    ops::batchnorm_forward_inference<cuda>(B, C, inner, dX.data(), dG.data(), dBe.data(), dM.data(), dV.data(), eps,
                                           dY.data(), dXh.data());
    check_close(dY.to_vector(), y, "bn inference");
    auto mm = random_vector<T>(rng, static_cast<std::size_t>(C)), mv = random_vector<T>(rng, static_cast<std::size_t>(C), 0.5, 2);
    auto dMM = upload(mm), dMV = upload(mv);
    ops::batchnorm_update_moving<cpu>(C, mean.data(), var.data(), T(0.9), mm.data(), mv.data());
    ops::batchnorm_update_moving<cuda>(C, dM.data(), dV.data(), T(0.9), dMM.data(), dMV.data());
    check_close(dMM.to_vector(), mm, "bn moving mean");
    check_close(dMV.to_vector(), mv, "bn moving variance");
  }
}
