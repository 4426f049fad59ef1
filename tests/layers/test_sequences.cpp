/// @file tests/layers/test_sequences.cpp
/// @brief Padded sequences with masks: the pooling layers and LayerNormalization against loops
/// and closed forms and their gradients against finite differences in double (with and without
/// masks); a Deep Sets model whose outputs and gradients do not change when the padding values
/// do (bitwise) or when the real elements are permuted; clear errors for masks where they do
/// not fit and for bad lengths.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "hepnn/hepnn.hpp"
#include "support/gradcheck.hpp"

using namespace hepnn;
using Catch::Contains;
using hepnn::test::random_tensor;

namespace {

using Tensors = std::map<std::string, Tensor<double>>;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

/// f(x) = sum_i c_i y_i(x) over a layer's forward, for finite differences of dx.
template <class LayerT>
double weighted_output(const LayerT& layer, std::int64_t B, const std::vector<const double*>& xs,
                       const std::vector<double>& c) {
  std::vector<double> y(c.size());
  layer.forward_many(B, xs.data(), y.data(), nullptr, Pass{});
  double s = 0;
  for (std::size_t i = 0; i < c.size(); ++i) s += c[i] * y[i];
  return s;
}

constexpr std::int64_t L = 5, F = 3;

/// Tracks (n, L, F) with lengths n_i from 0 to L and padding filled with `pad`.
struct Padded {
  Tensor<double> tracks, lengths;
};
Padded padded_tracks(std::int64_t n, std::uint32_t seed, double pad) {
  std::mt19937 rng(seed);
  Padded p{random_tensor<double>(rng, Shape{n, L, F}), Tensor<double>(Shape{n, 1})};
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t len = (i * 3 + 1) % (L + 1);  // 1, 4, 1 (mod 6) ...: 0 to L, all of them
    p.lengths(i, 0) = double(len);
    for (std::int64_t l = len; l < L; ++l)
      for (std::int64_t f = 0; f < F; ++f) p.tracks(i, l, f) = pad;
  }
  return p;
}

}  // namespace

TEST_CASE("sequence pooling: values against loops over the real elements, with and without a mask", "[layers][sequence]") {
  std::mt19937 rng(3);
  const std::int64_t B = 4;
  const auto x = random_tensor<double>(rng, Shape{B, L, F});
  std::vector<double> mask(B * L, 0.0);
  const std::int64_t lens[B] = {5, 2, 0, 3};
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t l = 0; l < lens[b]; ++l) mask[b * L + l] = 1.0;
  for (SequencePool kind : {SequencePool::sum, SequencePool::mean, SequencePool::max}) {
    SequencePoolingLayer<double, cpu> masked("p", {Shape{L, F}, Shape{L}}, kind), plain("p", {Shape{L, F}}, kind);
    INFO(masked.type());
    CHECK(masked.output_shape() == Shape{F});
    std::vector<double> y(B * F), y_plain(B * F);
    const double* xs[2] = {x.data(), mask.data()};
    masked.forward_many(B, xs, y.data(), nullptr, Pass{});
    plain.forward(B, x.data(), y_plain.data(), nullptr, Pass{});
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t f = 0; f < F; ++f) {
        for (int with_mask = 0; with_mask < 2; ++with_mask) {
          const std::int64_t n = with_mask ? lens[b] : L;
          double want = kind == SequencePool::max ? -1e300 : 0.0;
          for (std::int64_t l = 0; l < n; ++l)
            want = kind == SequencePool::max ? std::max(want, x(b, l, f)) : want + x(b, l, f);
          if (n == 0) want = 0.0;  // an empty sequence pools to 0
          else if (kind == SequencePool::mean) want /= double(n);
          CHECK((with_mask ? y : y_plain)[b * F + f] == Approx(want).epsilon(1e-14));
        }
      }
  }
}

TEST_CASE("sequence pooling: gradients against finite differences, with and without a mask", "[layers][sequence]") {
  std::mt19937 rng(5);
  const std::int64_t B = 3;
  std::vector<double> x = hepnn::test::random_vector(rng, B * L * F);
  std::vector<double> mask(B * L, 0.0);
  const std::int64_t lens[B] = {4, 0, 5};
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t l = 0; l < lens[b]; ++l) mask[b * L + l] = 1.0;
  const std::vector<double> c = hepnn::test::random_vector(rng, B * F);
  for (SequencePool kind : {SequencePool::sum, SequencePool::mean, SequencePool::max}) {
    for (bool with_mask : {false, true}) {
      std::vector<Shape> shapes{Shape{L, F}};
      if (with_mask) shapes.push_back(Shape{L});
      SequencePoolingLayer<double, cpu> layer("p", shapes, kind);
      INFO(layer.type() << (with_mask ? " masked" : ""));
      auto f = [&](const std::vector<double>& v) {
        return weighted_output(layer, B, {v.data(), mask.data()}, c);
      };
      std::vector<double> y(B * F), dx(B * L * F, -7.0), dmask(B * L, -7.0);
      const double* xs[2] = {x.data(), mask.data()};
      double* dxs[2] = {dx.data(), dmask.data()};
      layer.forward_many(B, xs, y.data(), nullptr, Pass{});
      layer.backward_many(B, xs, y.data(), c.data(), dxs, nullptr, Pass{});
      hepnn::test::check_gradient(f, x, dx, layer.type() + " dx");
      if (with_mask) {
        CHECK(std::all_of(dmask.begin(), dmask.end(), [](double v) { return v == 0.0; }));  // masks get no gradient
        for (std::int64_t b = 0; b < B; ++b)
          for (std::int64_t i = lens[b] * F; i < L * F; ++i) CHECK(dx[b * L * F + i] == 0.0);  // nor does padding
      }
    }
  }
}

TEST_CASE("LayerNormalization: values against the closed form, gradients against finite differences", "[layers][sequence]") {
  std::mt19937 rng(7);
  const std::int64_t B = 3;
  for (const Shape& in : {Shape{4}, Shape{L, F}}) {
    for (int variant = 0; variant < 3; ++variant) {
      const bool center = variant != 1, scale = variant != 2;
      INFO("per-sample shape " << in.str() << ", center " << center << ", scale " << scale);
      LayerNormalizationLayer<double, cpu> layer("ln", in, 1e-3, center, scale);
      const std::int64_t feats = in[in.rank() - 1], rows = B * in.size() / feats;
      std::vector<double> p = hepnn::test::random_vector(rng, std::size_t(layer.num_params()), 0.5, 1.5);
      std::vector<double> g(p.size());
      layer.bind(p.data(), g.data());
      std::vector<double> x = hepnn::test::random_vector(rng, std::size_t(B * in.size()), -2.0, 2.0);
      std::vector<double> y(x.size()), ws(std::size_t(B * layer.workspace_per_sample())), dx(x.size());
      layer.forward(B, x.data(), y.data(), ws.data(), Pass{});
      const double* gamma = scale ? p.data() : nullptr;
      const double* beta = center ? p.data() + (scale ? feats : 0) : nullptr;
      for (std::int64_t r = 0; r < rows; ++r) {
        double mean = 0, var = 0;
        for (std::int64_t f = 0; f < feats; ++f) mean += x[r * feats + f] / double(feats);
        for (std::int64_t f = 0; f < feats; ++f) var += std::pow(x[r * feats + f] - mean, 2) / double(feats);
        for (std::int64_t f = 0; f < feats; ++f) {
          const double want =
              (x[r * feats + f] - mean) / std::sqrt(var + 1e-3) * (gamma ? gamma[f] : 1.0) + (beta ? beta[f] : 0.0);
          CHECK(y[r * feats + f] == Approx(want).epsilon(1e-13).margin(1e-14));
        }
      }
      const std::vector<double> c = hepnn::test::random_vector(rng, x.size());
      layer.backward(B, x.data(), y.data(), c.data(), dx.data(), ws.data(), Pass{});
      auto fx = [&](const std::vector<double>& v) { return weighted_output(layer, B, {v.data()}, c); };
      hepnn::test::check_gradient(fx, x, dx, "LayerNormalization dx");
      const std::vector<double> dp = g, p0 = p;
      auto fp = [&](const std::vector<double>& v) {
        std::copy(v.begin(), v.end(), p.begin());
        return weighted_output(layer, B, {x.data()}, c);
      };
      hepnn::test::check_gradient(fp, p0, dp, "LayerNormalization gamma, beta");
      std::copy(p0.begin(), p0.end(), p.begin());
    }
  }
}

namespace {

/// A Deep Sets tagger on tracks (L, F) with lengths or a fill value: per-track network with
/// LayerNormalization, then sum, mean and max pooling, then a jet-level head.
Model<double, cpu> deep_sets(bool by_lengths, double mask_value = 0.0) {
  auto trk = Input{"tracks", {L, F}};
  auto n = Input{"n_tracks", {1}};
  SymbolicTensor x = by_lengths ? with_lengths(trk, n) : Masking{.mask_value = mask_value}(trk);
  auto h = Dense{8, Activation::tanh}(x);
  h = LayerNormalization{}(h);
  h = Dense{6, Activation::softplus}(h);
  auto pooled = Concatenate{}({GlobalSumPooling1D{}(h), GlobalAveragePooling1D{}(h), GlobalMaxPooling1D{}(h)});
  auto out = Dense{.units = 1, .name = "score"}(Dense{5, Activation::tanh}(pooled));
  std::vector<SymbolicTensor> inputs{trk};
  if (by_lengths) inputs.push_back(n);
  Model<double, cpu> m{inputs, {out}, "deep_sets"};
  m.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = SGD{}, .seed = 9});
  return m;
}

data::NamedDataset<double> deep_sets_data(const Padded& p, bool by_lengths) {
  const std::int64_t n = p.tracks.shape()[0];
  Tensors in, tg;
  in.emplace("tracks", p.tracks.clone());
  if (by_lengths) in.emplace("n_tracks", p.lengths.clone());
  Tensor<double> label(Shape{n, 1});
  for (std::int64_t i = 0; i < n; ++i) label(i, 0) = double(i % 2);
  tg.emplace("score", std::move(label));
  return data::NamedDataset<double>(std::move(in), std::move(tg));
}

}  // namespace

TEST_CASE("masked Deep Sets: gradients of every parameter against finite differences", "[layers][sequence]") {
  for (bool by_lengths : {true, false}) {
    INFO((by_lengths ? "with_lengths" : "Masking"));
    auto m = deep_sets(by_lengths);
    const auto d = deep_sets_data(padded_tracks(7, 21, 0.0), by_lengths);
    m.loss_and_gradients(d);
    const std::vector<double> analytic = m.gradients().to_vector(), p0 = m.parameters().to_vector();
    auto f = [&](const std::vector<double>& p) {
      std::copy(p.begin(), p.end(), m.parameters().data());
      return m.loss_and_gradients(d);
    };
    hepnn::test::check_gradient(f, p0, analytic, "masked Deep Sets", {1e-5, 1e-7, 1e-6});
  }
}

TEST_CASE("masked Deep Sets: the padding values change no output and no gradient (bitwise)", "[layers][sequence]") {
  // by lengths: padding with 0, with 1e6 and with -3.5 (inputs must be finite: NaN is refused)
  {
    auto m = deep_sets(true);
    const auto d0 = deep_sets_data(padded_tracks(16, 4, 0.0), true);
    const double l0 = m.loss_and_gradients(d0);
    const std::vector<double> g0 = m.gradients().to_vector();
    const auto p0 = m.predict(d0.inputs()).at("score").to_vector();
    for (double pad : {1e6, -3.5}) {
      INFO("padding " << pad);
      const auto d = deep_sets_data(padded_tracks(16, 4, pad), true);
      CHECK(m.loss_and_gradients(d) == l0);
      CHECK(m.gradients().to_vector() == g0);
      CHECK(m.predict(d.inputs()).at("score").to_vector() == p0);
    }
  }
  // by value: the same tracks padded with -1 under Masking{-1} and with 42 under Masking{42}
  {
    auto a = deep_sets(false, -1.0), b = deep_sets(false, 42.0);
    REQUIRE(a.parameters().to_vector() == b.parameters().to_vector());
    const auto da = deep_sets_data(padded_tracks(16, 4, -1.0), false);
    const auto db = deep_sets_data(padded_tracks(16, 4, 42.0), false);
    CHECK(a.loss_and_gradients(da) == b.loss_and_gradients(db));
    CHECK(a.gradients().to_vector() == b.gradients().to_vector());
    CHECK(a.predict(da.inputs()).at("score").to_vector() == b.predict(db.inputs()).at("score").to_vector());
    // and one step of training leaves bitwise equal weights
    a.train_on_batch(da);
    b.train_on_batch(db);
    CHECK(a.parameters().to_vector() == b.parameters().to_vector());
  }
}

TEST_CASE("masked Deep Sets: permuting the real tracks of a jet leaves its score unchanged", "[layers][sequence]") {
  auto m = deep_sets(true);
  const Padded p = padded_tracks(12, 17, 0.0);
  Padded q{p.tracks.clone(), p.lengths.clone()};
  for (std::int64_t i = 0; i < 12; ++i) {
    const auto len = std::int64_t(p.lengths(i, 0));
    for (std::int64_t l = 0; l < len; ++l)  // reverse the real tracks
      for (std::int64_t f = 0; f < F; ++f) q.tracks(i, l, f) = p.tracks(i, len - 1 - l, f);
  }
  const auto a = m.predict(deep_sets_data(p, true).inputs()).at("score").clone();
  const auto b = m.predict(deep_sets_data(q, true).inputs()).at("score").clone();
  for (std::int64_t i = 0; i < 12; ++i) CHECK(b(i, 0) == Approx(a(i, 0)).epsilon(1e-13));
}

TEST_CASE("masks: errors name the layer and what does not fit", "[layers][sequence]") {
  auto trk = Input{"tracks", {L, F}};
  auto n = Input{"n_tracks", {1}};
  auto x = with_lengths(trk, n);
  CHECK(x.has_mask());
  CHECK(x.mask().shape() == Shape{L});
  // a layer that does not handle masks refuses masked sequences
  CHECK_THAT(error_of([&] { Flatten{}(x); }), Contains("layer 'flatten': does not handle masks") &&
                                                  Contains("('apply_mask', (5, 3))") && Contains("GlobalAveragePooling1D") &&
                                                  Contains("without_mask()"));
  CHECK_NOTHROW(Flatten{}(x.without_mask()));
  // element-wise layers pass the mask on, pooling consumes it
  auto h = ReLU{}(Dense{4}(x));
  CHECK(h.has_mask());
  CHECK(h.mask().node() == x.mask().node());
  CHECK(!GlobalSumPooling1D{}(h).has_mask());
  // sequences of two different masks do not combine
  auto other = Masking{}(trk);
  CHECK_THAT(error_of([&] { Concatenate{}({x, other}); }), Contains("carry different masks"));
  // a mask of the wrong length, pooling of rank-3 samples, lengths of the wrong shape
  CHECK_THAT(error_of([&] { with_mask(trk, Dense{4}(n)); }),
             Contains("ApplyMask") && Contains("(4,)") && Contains("it must be (5,)"));
  CHECK_THAT(error_of([&] { Masking{.mask_value = std::nan("")}(trk); }),
             Contains("MaskFromValue") && Contains("must be finite"));
  auto img = Input{"img", {2, 3, 4}};
  CHECK_THAT(error_of([&] { GlobalSumPooling1D{}(img); }), Contains("GlobalSumPooling1D 'global_sum_pooling1d'") &&
                                                               Contains("(elements, features)") && Contains("(2, 3, 4)"));
  CHECK_THAT(error_of([&] { with_lengths(trk, trk); }), Contains("MaskFromLengths") && Contains("(1,)"));
  CHECK_THAT(error_of([&] { Masking{}(n); }), Contains("Masking 'masking'") && Contains("(elements, features...)"));

  // a length outside [0, L] at run time names the layer and the sample
  auto m = deep_sets(true);
  Padded p = padded_tracks(4, 1, 0.0);
  p.lengths(2, 0) = 6.0;
  CHECK_THAT(error_of([&] { m.predict(deep_sets_data(p, true).inputs()); }),
             Contains("MaskFromLengths") && Contains("sample 2 of the batch has length 6") && Contains("from 0 to 5"));
  p.lengths(2, 0) = 2.5;
  CHECK_THAT(error_of([&] { m.predict(deep_sets_data(p, true).inputs()); }), Contains("has length 2.5"));
}

TEST_CASE("masks: summary shows where the mask goes", "[layers][sequence]") {
  auto m = deep_sets(true);
  std::ostringstream os;
  m.summary(os);
  CHECK_THAT(os.str(), Contains("mask_from_lengths_1 (MaskFromLengths)") && Contains("apply_mask_1 (ApplyMask)") &&
                           Contains("(GlobalAveragePooling1D)") && Contains("(LayerNormalization)"));
}
