/// @file tests/layers/test_conv2d.cpp
/// @brief Conv2D: forward against direct loops over the convolution sum, backward against finite
/// differences of those loops (random shapes, strides, paddings, dilations) and against loops of
/// the gradient formulas on batches that use several chunks and groups; thread-count invariance.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "hepnn/backend/cpu/parallel.hpp"
#include "hepnn/layers/conv2d.hpp"
#include "support/gradcheck.hpp"
#include "support/reference.hpp"

using hepnn::Activation;
using hepnn::Conv2D;
using hepnn::Conv2DGeometry;
using hepnn::cpu;
using hepnn::Padding;
using hepnn::Pass;
using hepnn::Shape;
using hepnn::test::random_vector;
using Catch::Contains;

namespace {

using Vec = std::vector<double>;
std::size_t at(std::int64_t i) { return static_cast<std::size_t>(i); }

/// The convolution sum written out: y[b, f, oh, ow] = act(bias[f] + sum_{c,i,j} k[f,c,i,j] x[b,c,ih,iw]).
Vec conv_reference(const Vec& x, const Vec& p, const Conv2DGeometry& g, std::int64_t B, bool bias, Activation a) {
  Vec y(at(B * g.out_size()));
  const std::int64_t nk = g.F * g.C * g.KH * g.KW;
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t f = 0; f < g.F; ++f)
      for (std::int64_t oh = 0; oh < g.OH; ++oh)
        for (std::int64_t ow = 0; ow < g.OW; ++ow) {
          double z = bias ? p[at(nk + f)] : 0.0;
          for (std::int64_t c = 0; c < g.C; ++c)
            for (std::int64_t i = 0; i < g.KH; ++i)
              for (std::int64_t j = 0; j < g.KW; ++j) {
                const std::int64_t ih = oh * g.SH - g.PT + i * g.DH, iw = ow * g.SW - g.PL + j * g.DW;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                z += p[at(((f * g.C + c) * g.KH + i) * g.KW + j)] * x[at(((b * g.C + c) * g.H + ih) * g.W + iw)];
              }
          y[at(((b * g.F + f) * g.OH + oh) * g.OW + ow)] = hepnn::test::ref_forward(a, 0.0, z);
        }
  return y;
}

/// Gradients of sum(dy * y) for a linear convolution, by the formulas written as loops.
void conv_reference_backward(const Vec& x, const Vec& p, const Vec& dy, const Conv2DGeometry& g, std::int64_t B,
                             Vec& dx, Vec& dk, Vec& db) {
  dx.assign(x.size(), 0.0);
  dk.assign(at(g.F * g.C * g.KH * g.KW), 0.0);
  db.assign(at(g.F), 0.0);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t f = 0; f < g.F; ++f)
      for (std::int64_t oh = 0; oh < g.OH; ++oh)
        for (std::int64_t ow = 0; ow < g.OW; ++ow) {
          const double d = dy[at(((b * g.F + f) * g.OH + oh) * g.OW + ow)];
          db[at(f)] += d;
          for (std::int64_t c = 0; c < g.C; ++c)
            for (std::int64_t i = 0; i < g.KH; ++i)
              for (std::int64_t j = 0; j < g.KW; ++j) {
                const std::int64_t ih = oh * g.SH - g.PT + i * g.DH, iw = ow * g.SW - g.PL + j * g.DW;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                const std::size_t kx = at(((f * g.C + c) * g.KH + i) * g.KW + j);
                const std::size_t xi = at(((b * g.C + c) * g.H + ih) * g.W + iw);
                dk[kx] += d * x[xi];
                dx[xi] += d * p[kx];
              }
        }
}

struct ConvCase {
  std::int64_t B, C, H, W, F;
  hepnn::Size2 k, s, d;
  Padding pad;
  Activation act;
  bool bias;
};

std::string describe(const ConvCase& c) {
  return "B " + std::to_string(c.B) + ", in (" + std::to_string(c.C) + ", " + std::to_string(c.H) + ", " +
         std::to_string(c.W) + "), filters " + std::to_string(c.F) + ", kernel " + c.k.str() + ", strides " +
         c.s.str() + ", dilation " + c.d.str() + ", padding " + c.pad.str() + ", " + hepnn::to_string(c.act) +
         (c.bias ? ", bias" : ", no bias");
}

/// A random configuration whose output is not empty.
ConvCase random_case(std::mt19937& rng) {
  using hepnn::test::uniform_int;
  for (;;) {
    ConvCase c;
    c.B = 1 + uniform_int(rng, 3);
    c.C = 1 + uniform_int(rng, 3);
    c.H = 1 + uniform_int(rng, 7);
    c.W = 1 + uniform_int(rng, 7);
    c.F = 1 + uniform_int(rng, 3);
    c.k = {1 + uniform_int(rng, 3), 1 + uniform_int(rng, 3)};
    c.s = {1 + uniform_int(rng, 3), 1 + uniform_int(rng, 3)};
    c.d = {1 + uniform_int(rng, 2), 1 + uniform_int(rng, 2)};
    const std::int64_t mode = uniform_int(rng, 3);
    c.pad = mode == 0   ? Padding::valid
            : mode == 1 ? Padding::same
                        : Padding::pads(uniform_int(rng, 3), uniform_int(rng, 3), uniform_int(rng, 3), uniform_int(rng, 3));
    const Activation acts[] = {Activation::linear, Activation::tanh, Activation::sigmoid};
    c.act = acts[uniform_int(rng, 3)];
    c.bias = uniform_int(rng, 4) != 0;
    const std::int64_t eh = (c.k.h - 1) * c.d.h + 1, ew = (c.k.w - 1) * c.d.w + 1;
    if (c.H + c.pad.top + c.pad.bottom >= eh && c.W + c.pad.left + c.pad.right >= ew) return c;
    if (mode == 1) return c;  // "same" always has an output
  }
}

Conv2D spec_of(const ConvCase& c) {
  Conv2D s;
  s.filters = c.F;
  s.kernel_size = c.k;
  s.strides = c.s;
  s.dilation = c.d;
  s.padding = c.pad;
  s.activation = c.act;
  s.use_bias = c.bias;
  return s;
}

}  // namespace

TEST_CASE("conv2d: forward against loops and backward against finite differences, random configurations",
          "[layers][conv]") {
  std::mt19937 rng(77);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (int trial = 0; trial < 40; ++trial) {
    const ConvCase c = random_case(rng);
    INFO("trial " << trial << ": " << describe(c));
    auto layer = spec_of(c).build<double, cpu>(Shape{c.C, c.H, c.W}, "conv2d_1");
    const auto* conv = dynamic_cast<const hepnn::Conv2DLayer<double, cpu>*>(layer.get());
    REQUIRE(conv != nullptr);
    const Conv2DGeometry& g = conv->geometry();
    if (c.pad.mode == Padding::Mode::same) {  // TensorFlow's rule: ceil(n / stride)
      CHECK(g.OH == (c.H + c.s.h - 1) / c.s.h);
      CHECK(g.OW == (c.W + c.s.w - 1) / c.s.w);
    }
    REQUIRE(layer->output_shape() == Shape{c.F, g.OH, g.OW});
    const std::int64_t np = layer->num_params();
    REQUIRE(np == c.F * c.C * c.k.h * c.k.w + (c.bias ? c.F : 0));
    Vec params = random_vector<double>(rng, at(np)), grads(at(np), nan);
    layer->bind(params.data(), grads.data());
    const Vec x = random_vector<double>(rng, at(c.B * c.C * c.H * c.W));
    const Vec r = random_vector<double>(rng, at(c.B * g.out_size()));
    const Vec y_ref = conv_reference(x, params, g, c.B, c.bias, c.act);

    Vec y(y_ref.size(), nan);
    layer->forward(c.B, x.data(), y.data(), nullptr, Pass{});
    double worst = 0;
    for (std::size_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::abs(y[i] - y_ref[i]));
    CHECK(worst <= 1e-12);

    Vec ws(at(c.B * layer->workspace_per_sample()), nan), y_train(y.size(), nan), dx(x.size(), nan);
    Pass train;
    train.training = true;
    layer->forward(c.B, x.data(), y_train.data(), ws.data(), train);
    CHECK(y_train == y);
    layer->backward(c.B, x.data(), y_train.data(), r.data(), dx.data(), ws.data(), train);
    Vec analytic = dx;
    analytic.insert(analytic.end(), grads.begin(), grads.end());
    Vec v = x;
    v.insert(v.end(), params.begin(), params.end());
    auto L = [&](const Vec& w) {
      const Vec xs(w.begin(), w.begin() + std::ptrdiff_t(x.size())), ps(w.begin() + std::ptrdiff_t(x.size()), w.end());
      const Vec yy = conv_reference(xs, ps, g, c.B, c.bias, c.act);
      double s = 0;
      for (std::size_t i = 0; i < yy.size(); ++i) s += r[i] * yy[i];
      return s;
    };
    hepnn::test::check_gradient(L, v, analytic, "d(sum r y)/d(x, kernel, bias)");

    // Without dx the parameter gradients are the same (and overwritten, not accumulated).
    const Vec grads_before = grads;
    std::fill(grads.begin(), grads.end(), nan);
    layer->forward(c.B, x.data(), y_train.data(), ws.data(), train);
    layer->backward(c.B, x.data(), y_train.data(), r.data(), nullptr, ws.data(), train);
    CHECK(grads == grads_before);
  }
}

TEST_CASE("conv2d: batches of many chunks and groups against the gradient formulas", "[layers][conv]") {
  std::mt19937 rng(5);
  // (2x2 outputs: 64 samples per chunk, several groups) and (12x12 outputs: one sample per chunk)
  const ConvCase cases[] = {
      {300, 3, 4, 4, 5, {3, 3}, {1, 1}, {1, 1}, Padding::valid, Activation::linear, true},
      {37, 2, 12, 11, 4, {3, 2}, {1, 1}, {1, 1}, Padding::same, Activation::linear, true},
      {70, 4, 9, 9, 6, {3, 3}, {2, 2}, {2, 1}, Padding::pads(1, 2), Activation::linear, false},
  };
  for (const ConvCase& c : cases) {
    INFO(describe(c));
    auto layer = spec_of(c).build<double, cpu>(Shape{c.C, c.H, c.W}, "conv2d_1");
    const Conv2DGeometry g = dynamic_cast<const hepnn::Conv2DLayer<double, cpu>&>(*layer).geometry();
    Vec params = random_vector<double>(rng, at(layer->num_params())), grads(params.size());
    layer->bind(params.data(), grads.data());
    const Vec x = random_vector<double>(rng, at(c.B * g.in_size())), dy = random_vector<double>(rng, at(c.B * g.out_size()));
    Vec y(dy.size()), dx(x.size()), ws(at(c.B * layer->workspace_per_sample()) + 1);
    Pass train;
    train.training = true;
    layer->forward(c.B, x.data(), y.data(), ws.data(), train);
    layer->backward(c.B, x.data(), y.data(), dy.data(), dx.data(), ws.data(), train);
    const Vec y_ref = conv_reference(x, params, g, c.B, c.bias, c.act);
    Vec dx_ref, dk_ref, db_ref;
    conv_reference_backward(x, params, dy, g, c.B, dx_ref, dk_ref, db_ref);
    auto close = [](const Vec& a, const Vec& b, std::size_t n) {
      double worst = 0;
      for (std::size_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(a[i] - b[i]) / (1 + std::abs(b[i])));
      return worst;
    };
    CHECK(close(y, y_ref, y.size()) <= 1e-12);
    CHECK(close(dx, dx_ref, dx.size()) <= 1e-12);
    CHECK(close(grads, dk_ref, dk_ref.size()) <= 1e-12);
    if (c.bias) CHECK(close(Vec(grads.begin() + std::ptrdiff_t(dk_ref.size()), grads.end()), db_ref, db_ref.size()) <= 1e-12);
  }
}

TEST_CASE("conv2d: results do not depend on the thread count", "[layers][conv][threads]") {
  std::mt19937 rng(9);
  auto layer = Conv2D{.filters = 8, .kernel_size = 3, .padding = Padding::same, .activation = Activation::relu}
                   .build<float, cpu>(Shape{3, 10, 10}, "conv2d_1");
  std::vector<float> params = random_vector<float>(rng, at(layer->num_params())), grads(params.size());
  layer->bind(params.data(), grads.data());
  const std::int64_t B = 64;
  const auto x = random_vector<float>(rng, at(B * 300)), dy = random_vector<float>(rng, at(B * 800));
  auto run = [&](int threads) {
    hepnn::set_num_threads(threads);
    std::vector<float> y(dy.size()), dx(x.size()), ws(at(B * layer->workspace_per_sample()));
    Pass train;
    train.training = true;
    layer->forward(B, x.data(), y.data(), ws.data(), train);
    layer->backward(B, x.data(), y.data(), dy.data(), dx.data(), ws.data(), train);
    std::vector<float> all = y;
    all.insert(all.end(), dx.begin(), dx.end());
    all.insert(all.end(), grads.begin(), grads.end());
    return all;
  };
  const int before = hepnn::num_threads();
  const auto one = run(1), two = run(2);
  hepnn::set_num_threads(before);
  CHECK(one == two);
}

TEST_CASE("conv2d: parameters, initialisation, description", "[layers][conv]") {
  auto layer = Conv2D{.filters = 4, .kernel_size = {3, 5}, .strides = 2, .padding = Padding::same,
                      .activation = Activation::relu}
                   .build<double, cpu>(Shape{2, 9, 9}, "conv2d_7");
  CHECK(layer->type() == "Conv2D");
  CHECK(layer->describe() == "filters=4, kernel=3x5, strides=2x2, padding=same, activation=relu");
  CHECK(layer->output_shape() == Shape{4, 5, 5});
  const auto info = layer->params();
  REQUIRE(info.size() == 2);
  CHECK(info[0].shape == Shape{4, 2, 3, 5});
  CHECK(info[1].shape == Shape{4});
  CHECK(layer->workspace_per_sample() == 100);
  // Glorot uniform with Keras' fans: fan_in = 2*3*5, fan_out = 4*3*5; zero bias.
  std::vector<double> p(at(layer->num_params()), -7.0);
  layer->initialize(p.data(), 3, 11);
  const double limit = std::sqrt(6.0 / (30.0 + 60.0));
  std::vector<double> kernel(120);
  hepnn::initialize(hepnn::Init::glorot_uniform, kernel.data(), 120, 30, 60, 3, 11);
  CHECK(std::vector<double>(p.begin(), p.begin() + 120) == kernel);
  for (int i = 0; i < 120; ++i) CHECK(std::abs(p[at(i)]) <= limit);
  for (int i = 120; i < 124; ++i) CHECK(p[at(i)] == 0.0);
  auto plain = Conv2D{.filters = 2, .kernel_size = 1, .dilation = {2, 3}, .use_bias = false, .name = "c"}
                   .build<float, cpu>(Shape{1, 3, 3}, "conv2d_8");
  CHECK(plain->name() == "c");
  CHECK(plain->num_params() == 2);
  CHECK(plain->workspace_per_sample() == 0);
  CHECK(plain->describe() == "filters=2, kernel=1x1, strides=1x1, padding=valid, dilation=2x3");
}

TEST_CASE("conv2d: bad configurations raise errors naming the layer and the shapes", "[layers][conv][errors]") {
  auto build = [](const Conv2D& s, const Shape& in) { return s.build<float, cpu>(in, "conv2d_3"); };
  CHECK_THROWS_WITH(build(Conv2D{.filters = 4}, Shape{784}),
                    Contains("Conv2D 'conv2d_3'") && Contains("(channels, height, width)") && Contains("(784,)"));
  CHECK_THROWS_WITH(build(Conv2D{.filters = 4}, Shape{28, 28}), Contains("(28, 28)") && Contains("Reshape"));
  CHECK_THROWS_WITH(build(Conv2D{.filters = 4, .kernel_size = 5}, Shape{1, 3, 3}),
                    Contains("Conv2D 'conv2d_3'") && Contains("(1, 3, 3)") && Contains("smaller than the kernel 5x5") &&
                        Contains("padding valid"));
  CHECK_THROWS_WITH(build(Conv2D{.filters = 4, .kernel_size = 3, .dilation = 3}, Shape{1, 6, 6}),
                    Contains("dilated to 7x7"));
  CHECK_THROWS_WITH(build(Conv2D{.filters = 4, .strides = {1, 0}}, Shape{1, 8, 8}),
                    Contains("Conv2D 'conv2d_3'") && Contains("strides must be positive, got 1x0") &&
                        Contains("(1, 8, 8)"));
  CHECK_THROWS_WITH(build(Conv2D{.filters = 0}, Shape{1, 8, 8}), Contains("filters must be positive"));
  CHECK_THROWS_WITH(build(Conv2D{.filters = 1, .kernel_size = {0, 3}}, Shape{1, 8, 8}), Contains("kernel size"));
  CHECK_THROWS_WITH(build(Conv2D{.filters = 1, .padding = Padding::pads(-1, 0)}, Shape{1, 8, 8}),
                    Contains("must not be negative"));
  // "same" padding always has an output, even for an image smaller than the kernel
  CHECK(build(Conv2D{.filters = 2, .kernel_size = 5, .padding = Padding::same}, Shape{1, 3, 3})->output_shape() ==
        Shape{2, 3, 3});
}
