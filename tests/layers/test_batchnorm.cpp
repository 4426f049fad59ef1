/// @file tests/layers/test_batchnorm.cpp
/// @brief BatchNormalization: training forward against the batch statistics written out,
/// backward against finite differences (training: statistics depend on x; inference: moving
/// statistics are constants), after Dense-like (F,) and Conv-like (C, H, W) inputs; moving
/// statistics in a model after several steps against the closed-form recursion; inference
/// output from them.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "hepnn/layers/batchnorm.hpp"
#include "hepnn/layers/flatten.hpp"
#include "hepnn/train/sequential.hpp"
#include "support/gradcheck.hpp"

using hepnn::BatchNormalization;
using hepnn::cpu;
using hepnn::Pass;
using hepnn::Shape;
using hepnn::test::random_vector;
using Catch::Contains;

namespace {

using Vec = std::vector<double>;
std::size_t at(std::int64_t i) { return static_cast<std::size_t>(i); }

/// y = gamma (x - m) / sqrt(v + eps) + beta per channel; m, v the batch mean and biased variance
/// (training) or the given ones. Also returns the batch statistics.
Vec bn_reference(const Vec& x, std::int64_t B, std::int64_t C, std::int64_t inner, const Vec& gamma, const Vec& beta,
                 double eps, bool training, const Vec& mm, const Vec& mv, Vec* batch_mean = nullptr,
                 Vec* batch_var = nullptr) {
  Vec y(x.size());
  for (std::int64_t c = 0; c < C; ++c) {
    double s = 0, ss = 0;
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t k = 0; k < inner; ++k) s += x[at((b * C + c) * inner + k)];
    const double mean_b = s / double(B * inner);
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t k = 0; k < inner; ++k) ss += std::pow(x[at((b * C + c) * inner + k)] - mean_b, 2);
    const double var_b = ss / double(B * inner);
    if (batch_mean) (*batch_mean)[at(c)] = mean_b;
    if (batch_var) (*batch_var)[at(c)] = var_b;
    const double m = training ? mean_b : mm[at(c)], v = training ? var_b : mv[at(c)];
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t k = 0; k < inner; ++k) {
        const std::size_t i = at((b * C + c) * inner + k);
        y[i] = gamma[at(c)] * (x[i] - m) / std::sqrt(v + eps) + beta[at(c)];
      }
  }
  return y;
}

}  // namespace

TEST_CASE("batchnorm: forward and finite-difference gradients in training and inference", "[layers][batchnorm]") {
  std::mt19937 rng(123);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Shape shapes[] = {Shape{5}, Shape{1}, Shape{3, 4, 2}, Shape{2, 1, 1}, Shape{4, 3}};
  for (const Shape& in : shapes)
    for (std::int64_t B : {1, 3, 6})
      for (bool center : {true, false})
        for (bool scale : {true, false})
          for (bool training : {true, false}) {
            const std::int64_t C = in[0], inner = in.size() / C;
            if (training && B * inner == 1) continue;  // one value per channel: xhat is 0, no gradient to check
            INFO("input " << in.str() << ", batch " << B << ", center " << center << ", scale " << scale
                          << ", training " << training);
            const double eps = 0.01;
            auto layer = BatchNormalization{.momentum = 0.9, .epsilon = eps, .center = center, .scale = scale}
                             .build<double, cpu>(in, "batch_normalization_1");
            REQUIRE(layer->output_shape() == in);
            REQUIRE(layer->num_params() == C * ((center ? 1 : 0) + (scale ? 1 : 0)));
            REQUIRE(layer->num_state() == 2 * C);
            Vec params = random_vector<double>(rng, at(layer->num_params()), 0.5, 1.5), grads(params.size(), nan);
            Vec state(at(2 * C));
            layer->bind(params.data(), grads.data());
            layer->bind_state(state.data());
            const Vec mm = random_vector<double>(rng, at(C)), mv = random_vector<double>(rng, at(C), 0.5, 2.0);
            std::copy(mm.begin(), mm.end(), state.begin());
            std::copy(mv.begin(), mv.end(), state.begin() + C);
            auto split = [&](const Vec& p) {  // gamma, beta of a parameter vector
              Vec g(at(C), 1.0), b(at(C), 0.0);
              if (scale) std::copy(p.begin(), p.begin() + C, g.begin());
              if (center) std::copy(p.begin() + (scale ? C : 0), p.begin() + (scale ? 2 * C : C), b.begin());
              return std::pair{g, b};
            };
            const Vec x = random_vector<double>(rng, at(B * in.size()), -2, 3), r = random_vector<double>(rng, x.size());
            auto [g0, b0] = split(params);
            const Vec y_ref = bn_reference(x, B, C, inner, g0, b0, eps, training, mm, mv);
            Pass pass;
            pass.training = training;
            Vec y(x.size(), nan), ws(at(B * layer->workspace_per_sample()), nan), dx(x.size(), nan);
            layer->forward(B, x.data(), y.data(), nullptr, pass);  // no workspace
            double worst = 0;
            for (std::size_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::abs(y[i] - y_ref[i]));
            CHECK(worst <= 1e-12);
            Vec y2(x.size(), nan);
            layer->forward(B, x.data(), y2.data(), ws.data(), pass);
            CHECK(y2 == y);
            layer->backward(B, x.data(), y2.data(), r.data(), dx.data(), ws.data(), pass);
            Vec analytic = dx;
            analytic.insert(analytic.end(), grads.begin(), grads.end());
            Vec v = x;
            v.insert(v.end(), params.begin(), params.end());
            auto L = [&](const Vec& w) {
              const Vec xs(w.begin(), w.begin() + std::ptrdiff_t(x.size())), ps(w.begin() + std::ptrdiff_t(x.size()), w.end());
              auto [g, b] = split(ps);
              const Vec yy = bn_reference(xs, B, C, inner, g, b, eps, training, mm, mv);
              double s = 0;
              for (std::size_t i = 0; i < yy.size(); ++i) s += r[i] * yy[i];
              return s;
            };
            hepnn::test::check_gradient(L, v, analytic, "d(sum r y)/d(x, gamma, beta)", {1e-5, 1e-6, 1e-5});
            CHECK(state == [&] { Vec s = mm; s.insert(s.end(), mv.begin(), mv.end()); return s; }());  // forward/backward leave the state alone
          }
}

TEST_CASE("batchnorm: moving statistics after several steps follow the Keras recursion", "[layers][batchnorm][train]") {
  std::mt19937 rng(8);
  const std::int64_t N = 24, bs = 8;  // 3 batches an epoch, in order
  for (const Shape& in : {Shape{3}, Shape{2, 2, 3}}) {
    INFO("input " << in.str());
    const std::int64_t C = in[0], inner = in.size() / C, row = in.size();
    hepnn::Sequential<double> m(hepnn::Input{in}, BatchNormalization{.momentum = 0.8}, hepnn::Flatten{});
    m.compile({.loss = hepnn::MeanSquaredError{}, .optimizer = hepnn::SGD{.learning_rate = 0.1}});
    CHECK(m.num_state() == 2 * C);
    hepnn::Tensor<double, cpu> x = hepnn::test::random_tensor<double>(rng, in.with_batch(N), -1, 4);
    hepnn::Tensor<double, cpu> y = hepnn::test::random_tensor<double>(rng, Shape{N, row});
    m.fit(x, y, {.epochs = 2, .batch_size = bs, .shuffle = false, .verbose = 0});
    // The closed form: 6 steps of moving = 0.8 moving + 0.2 batch, from (0, 1), over the batches in order.
    Vec mm(at(C), 0.0), mv(at(C), 1.0);
    for (int step = 0; step < 6; ++step) {
      const std::int64_t b0 = (step % 3) * bs;
      const Vec xb(x.data() + b0 * row, x.data() + (b0 + bs) * row);
      Vec bm(at(C)), bv(at(C));
      bn_reference(xb, bs, C, inner, Vec(at(C), 1.0), Vec(at(C), 0.0), 1e-3, true, mm, mv, &bm, &bv);
      for (std::int64_t c = 0; c < C; ++c) {
        mm[at(c)] = 0.8 * mm[at(c)] + 0.2 * bm[at(c)];
        mv[at(c)] = 0.8 * mv[at(c)] + 0.2 * bv[at(c)];
      }
    }
    const double* s = m.state().data() + m.state_offset(0);
    for (std::int64_t c = 0; c < C; ++c) {
      CHECK(s[c] == Approx(mm[at(c)]).epsilon(1e-12));
      CHECK(s[C + c] == Approx(mv[at(c)]).epsilon(1e-12));
    }
    // Inference uses the moving statistics and the trained gamma, beta.
    const double* p = m.parameters().data() + m.parameter_offset(0);
    const Vec gamma(p, p + C), beta(p + C, p + 2 * C);
    const Vec xs(x.data(), x.data() + N * row);
    const Vec expect = bn_reference(xs, N, C, inner, gamma, beta, 1e-3, false, mm, mv);
    const hepnn::Tensor<double, cpu> out = m.predict(x);
    double worst = 0;
    for (std::int64_t i = 0; i < N * row; ++i) worst = std::max(worst, std::abs(out.data()[i] - expect[at(i)]));
    CHECK(worst <= 1e-12);
    // summary: the moving statistics are non-trainable parameters
    std::ostringstream os;
    m.summary(os);
    CHECK_THAT(os.str(), Contains("batch_normalization_1 (BatchNormalization)") &&
                             Contains("Non-trainable params: " + std::to_string(2 * C)) &&
                             Contains("momentum=0.8, epsilon=0.001"));
    // reset_state puts the moving statistics back to (0, 1)
    m.reset_state();
    for (std::int64_t c = 0; c < C; ++c) {
      CHECK(s[c] == 0.0);
      CHECK(s[C + c] == 1.0);
    }
  }
}

TEST_CASE("batchnorm: bad options raise errors naming the layer", "[layers][batchnorm][errors]") {
  CHECK_THROWS_WITH((BatchNormalization{.momentum = 1.5}.build<float, cpu>(Shape{3}, "bn")),
                    Contains("BatchNormalization 'bn'") && Contains("momentum"));
  CHECK_THROWS_WITH((BatchNormalization{.epsilon = 0}.build<float, cpu>(Shape{3}, "bn")), Contains("epsilon"));
  CHECK_THROWS_WITH((BatchNormalization{}.build<float, cpu>(Shape{0}, "bn")), Contains("(0,)"));
}
