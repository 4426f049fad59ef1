/// @file tests/layers/test_pooling.cpp
/// @brief MaxPool2D, AvgPool2D, GlobalAveragePooling2D and Reshape: forward against loops,
/// backward against finite differences over random shapes, strides and paddings; errors.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "hepnn/layers/pooling.hpp"
#include "hepnn/layers/reshape.hpp"
#include "support/gradcheck.hpp"

using hepnn::AvgPool2D;
using hepnn::Conv2DGeometry;
using hepnn::cpu;
using hepnn::MaxPool2D;
using hepnn::Padding;
using hepnn::Pass;
using hepnn::Shape;
using hepnn::test::random_vector;
using Catch::Contains;

namespace {

using Vec = std::vector<double>;
std::size_t at(std::int64_t i) { return static_cast<std::size_t>(i); }

/// Pooling written out: the max or the mean of the window's pixels that lie inside the image.
Vec pool_reference(const Vec& x, const Conv2DGeometry& g, std::int64_t B, bool max) {
  Vec y(at(B * g.out_size()));
  for (std::int64_t p = 0; p < B * g.C; ++p)
    for (std::int64_t oh = 0; oh < g.OH; ++oh)
      for (std::int64_t ow = 0; ow < g.OW; ++ow) {
        double best = -1e300, sum = 0;
        int n = 0;
        for (std::int64_t i = 0; i < g.KH; ++i)
          for (std::int64_t j = 0; j < g.KW; ++j) {
            const std::int64_t ih = oh * g.SH - g.PT + i, iw = ow * g.SW - g.PL + j;
            if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
            const double v = x[at((p * g.H + ih) * g.W + iw)];
            best = std::max(best, v);
            sum += v;
            ++n;
          }
        y[at((p * g.OH + oh) * g.OW + ow)] = max ? best : sum / n;
      }
  return y;
}

}  // namespace

TEST_CASE("pooling: forward against loops and backward against finite differences, random configurations",
          "[layers][pool]") {
  std::mt19937 rng(31);
  using hepnn::test::uniform_int;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  int tested = 0;
  for (int trial = 0; tested < 60; ++trial) {
    const bool max = trial % 2 == 0;
    const std::int64_t B = 1 + uniform_int(rng, 3), C = 1 + uniform_int(rng, 3), H = 1 + uniform_int(rng, 8),
                       W = 1 + uniform_int(rng, 8);
    const hepnn::Size2 k{1 + uniform_int(rng, 3), 1 + uniform_int(rng, 3)};
    const std::int64_t mode = uniform_int(rng, 3);
    const hepnn::Size2 s = uniform_int(rng, 3) == 0 ? k : hepnn::Size2{1 + uniform_int(rng, 3), 1 + uniform_int(rng, 3)};
    const Padding pad = mode == 0   ? Padding::valid
                        : mode == 1 ? Padding::same
                                    : Padding::pads(uniform_int(rng, k.h), uniform_int(rng, k.h), uniform_int(rng, k.w),
                                                    uniform_int(rng, k.w));
    if (mode != 1 && (H + pad.top + pad.bottom < k.h || W + pad.left + pad.right < k.w)) continue;
    ++tested;
    INFO((max ? "max" : "avg") << " B " << B << ", in (" << C << ", " << H << ", " << W << "), pool " << k.str()
                               << ", strides " << s.str() << ", padding " << pad.str());
    std::unique_ptr<hepnn::Layer<double, cpu>> layer;
    if (max) layer = MaxPool2D{.pool_size = k, .strides = s, .padding = pad}.build<double, cpu>(Shape{C, H, W}, "p");
    else layer = AvgPool2D{.pool_size = k, .strides = s, .padding = pad}.build<double, cpu>(Shape{C, H, W}, "p");
    const Conv2DGeometry g = dynamic_cast<const hepnn::Pool2DLayer<double, cpu>&>(*layer).geometry();
    REQUIRE(layer->output_shape() == Shape{C, g.OH, g.OW});
    if (mode == 1) {
      CHECK(g.OH == (H + s.h - 1) / s.h);
      CHECK(g.OW == (W + s.w - 1) / s.w);
    }
    const Vec x = random_vector<double>(rng, at(B * C * H * W)), r = random_vector<double>(rng, at(B * g.out_size()));
    const Vec y_ref = pool_reference(x, g, B, max);
    Vec y(y_ref.size(), nan);
    layer->forward(B, x.data(), y.data(), nullptr, Pass{});
    double worst = 0;
    for (std::size_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::abs(y[i] - y_ref[i]));
    CHECK(worst <= 1e-14);
    Vec ws(at(B * layer->workspace_per_sample()), nan), dx(x.size(), nan);
    Pass train;
    train.training = true;
    layer->forward(B, x.data(), y.data(), ws.data(), train);
    layer->backward(B, x.data(), y.data(), r.data(), dx.data(), ws.data(), train);
    auto L = [&](const Vec& xs) {
      const Vec yy = pool_reference(xs, g, B, max);
      double sum = 0;
      for (std::size_t i = 0; i < yy.size(); ++i) sum += r[i] * yy[i];
      return sum;
    };
    hepnn::test::check_gradient(L, x, dx, "d(sum r y)/dx");
  }
}

TEST_CASE("pooling: max-pool ties go to the first maximum; defaults and descriptions", "[layers][pool]") {
  auto layer = MaxPool2D{}.build<float, cpu>(Shape{1, 2, 4}, "max_pooling2d_1");
  CHECK(layer->type() == "MaxPool2D");
  CHECK(layer->describe() == "pool=2x2, strides=2x2, padding=valid");
  CHECK(layer->output_shape() == Shape{1, 1, 2});
  CHECK(layer->num_params() == 0);
  const std::vector<float> x{1, 3, 2, 2, 3, 0, 2, 1}, dy{10, 20};
  std::vector<float> y(2), ws(2), dx(8);
  layer->forward(1, x.data(), y.data(), ws.data(), Pass{});
  CHECK(y == std::vector<float>{3, 2});
  layer->backward(1, x.data(), y.data(), dy.data(), dx.data(), ws.data(), Pass{});
  CHECK(dx == std::vector<float>{0, 10, 20, 0, 0, 0, 0, 0});
  auto avg = AvgPool2D{.pool_size = 3, .strides = 1, .padding = Padding::same}.build<float, cpu>(Shape{1, 2, 2}, "a");
  CHECK(avg->type() == "AvgPool2D");
  CHECK(avg->workspace_per_sample() == 0);
  std::vector<float> ya(4);
  const std::vector<float> xa{1, 2, 3, 4};
  avg->forward(1, xa.data(), ya.data(), nullptr, Pass{});
  CHECK(ya == std::vector<float>{2.5f, 2.5f, 2.5f, 2.5f});  // every window holds the 4 real pixels only
}

TEST_CASE("global average pooling: channel means and their gradient", "[layers][pool]") {
  std::mt19937 rng(4);
  auto layer = hepnn::GlobalAveragePooling2D{}.build<double, cpu>(Shape{3, 4, 5}, "global_average_pooling2d_1");
  CHECK(layer->type() == "GlobalAveragePooling2D");
  CHECK(layer->output_shape() == Shape{3});
  const Vec x = random_vector<double>(rng, 2 * 60), r = random_vector<double>(rng, 6);
  Vec y(6), dx(x.size());
  layer->forward(2, x.data(), y.data(), nullptr, Pass{});
  for (int p = 0; p < 6; ++p) {
    double s = 0;
    for (int i = 0; i < 20; ++i) s += x[at(p * 20 + i)];
    CHECK(y[at(p)] == Approx(s / 20).epsilon(1e-14));
  }
  layer->backward(2, x.data(), y.data(), r.data(), dx.data(), nullptr, Pass{});
  for (int i = 0; i < 120; ++i) CHECK(dx[at(i)] == Approx(r[at(i / 20)] / 20).epsilon(1e-14));
  CHECK_THROWS_WITH((hepnn::GlobalAveragePooling2D{}.build<double, cpu>(Shape{12}, "gap")),
                    Contains("GlobalAveragePooling2D 'gap'") && Contains("(12,)"));
}

TEST_CASE("pooling: bad configurations raise errors naming the layer and the shapes", "[layers][pool][errors]") {
  CHECK_THROWS_WITH((MaxPool2D{}.build<float, cpu>(Shape{16}, "max_pooling2d_2")),
                    Contains("MaxPool2D 'max_pooling2d_2'") && Contains("(16,)"));
  CHECK_THROWS_WITH((MaxPool2D{.pool_size = 3}.build<float, cpu>(Shape{2, 2, 5}, "m")),
                    Contains("MaxPool2D 'm'") && Contains("(2, 2, 5)") && Contains("smaller than the pool window 3x3"));
  CHECK_THROWS_WITH((AvgPool2D{.pool_size = 2, .strides = hepnn::Size2{0, 1}}.build<float, cpu>(Shape{1, 4, 4}, "a")),
                    Contains("AvgPool2D 'a'") && Contains("strides must be positive"));
  CHECK_THROWS_WITH((MaxPool2D{.pool_size = 2, .padding = Padding::pads(2, 0)}.build<float, cpu>(Shape{1, 4, 4}, "m")),
                    Contains("smaller than the pool window"));
}

TEST_CASE("reshape: shapes, the inferred extent, copies and errors", "[layers]") {
  auto layer = hepnn::Reshape{{1, -1, 4}}.build<float, cpu>(Shape{8}, "reshape_1");
  CHECK(layer->type() == "Reshape");
  CHECK(layer->output_shape() == Shape{1, 2, 4});
  const std::vector<float> x{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  std::vector<float> y(16), dx(16);
  layer->forward(2, x.data(), y.data(), nullptr, Pass{});
  CHECK(y == x);
  layer->backward(2, x.data(), y.data(), x.data(), dx.data(), nullptr, Pass{});
  CHECK(dx == x);
  CHECK_THROWS_WITH((hepnn::Reshape{{3, 3}}.build<float, cpu>(Shape{8}, "reshape_2")),
                    Contains("Reshape 'reshape_2'") && Contains("(8,)") && Contains("(3, 3)"));
  CHECK_THROWS_WITH((hepnn::Reshape{{-1, 3}}.build<float, cpu>(Shape{8}, "r")), Contains("cannot reshape"));
  CHECK_THROWS_WITH((hepnn::Reshape{{-1, -1}}.build<float, cpu>(Shape{8}, "r")), Contains("at most one"));
  CHECK_THROWS_WITH((hepnn::Reshape{{0, 8}}.build<float, cpu>(Shape{8}, "r")), Contains("positive"));
}
