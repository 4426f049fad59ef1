/// @file tests/layers/test_attention.cpp
/// @brief MultiHeadAttention against PyTorch's nn.MultiheadAttention with a key padding mask
/// (outputs and every gradient, tests/golden/make_sequence_golden.py) and against finite
/// differences in double, with and without a mask; padded keys change nothing; a
/// Transformer encoder block is permutation-equivariant, and an encoder with a pooling is
/// permutation-invariant; its gradients against finite differences; errors.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "hepnn/hepnn.hpp"
#include "support/golden.hpp"
#include "support/layer_harness.hpp"
#include "support/gradcheck.hpp"

using namespace hepnn;
using Catch::Contains;

namespace {

void check_close(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
  hepnn::test::check_close_to_reference(got, want, what);
}

/// A MultiHeadAttention layer with its own parameter and gradient vectors.
hepnn::test::BoundLayer mha(std::int64_t L, std::int64_t D, std::int64_t heads, std::int64_t key_dim, bool masked,
                            std::int64_t value_dim = 0, std::int64_t out = 0) {
  std::vector<Shape> in{Shape{L, D}};
  if (masked) in.push_back(Shape{L});
  return hepnn::test::BoundLayer(std::make_unique<MultiHeadAttentionLayer<double, cpu>>(
      "mha", in, heads, key_dim, value_dim, out, true, Init::glorot_uniform));
}

}  // namespace

TEST_CASE("MultiHeadAttention: outputs and gradients against PyTorch with a key padding mask", "[layers][attention]") {
  const auto ref = hepnn::test::read_golden("mha", "tests/golden/make_sequence_golden.py");
  const auto& dims = ref.at("dims").values;
  const std::int64_t B = std::int64_t(dims[0]), L = std::int64_t(dims[1]), D = std::int64_t(dims[2]),
                     heads = std::int64_t(dims[3]);
  std::vector<double> mask(std::size_t(B * L), 0.0);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t l = 0; l < std::int64_t(ref.at("lengths").values[std::size_t(b)]); ++l)
      mask[std::size_t(b * L + l)] = 1.0;
  auto m = mha(L, D, heads, D / heads, true);
  std::vector<double> p;
  for (const char* part : {"query", "key", "value", "output"})
    for (const char* what : {"_kernel", "_bias"})
      for (double v : ref.at(std::string(part) + what).values) p.push_back(v);
  m.set_params(p);
  const std::vector<double>& x = ref.at("x").values;
  check_close(m.forward(B, x.data(), mask.data()), ref.at("out").values, "output");
  const std::vector<double> dx = m.backward(B, x.data(), mask.data(), ref.at("coef").values);
  check_close(dx, ref.at("dx").values, "dx");
  std::size_t off = 0;
  for (const char* part : {"query", "key", "value", "output"})
    for (const char* what : {"_kernel", "_bias"}) {
      const auto& want = ref.at(std::string("d") + part + what).values;
      check_close({m.g.begin() + std::ptrdiff_t(off), m.g.begin() + std::ptrdiff_t(off + want.size())}, want,
                  std::string("d") + part + what);
      off += want.size();
    }
}

TEST_CASE("MultiHeadAttention: gradients against finite differences; padded keys change nothing", "[layers][attention]") {
  const std::int64_t B = 3, L = 4, D = 5;
  std::mt19937 rng(23);
  const std::vector<double> x = hepnn::test::random_vector(rng, std::size_t(B * L * D));
  const std::vector<double> mask{1, 1, 1, 1, /**/ 1, 0, 1, 0, /**/ 0, 0, 0, 0};  // full, 2 real (not first), empty
  for (bool masked : {false, true}) {
    INFO("masked " << masked);
    auto m = mha(L, D, 3, 2, masked, 3, 4);  // 3 heads, key_dim 2, value_dim 3, output 4
    CHECK(m.layer->output_shape() == Shape{L, 4});
    m.set_params(hepnn::test::random_vector(rng, m.p.size(), -0.8, 0.8));
    const double* mk = masked ? mask.data() : nullptr;
    const std::vector<double> c = hepnn::test::random_vector(rng, std::size_t(B * L * 4));
    const std::vector<double> dx = m.backward(B, x.data(), mk, c);
    const std::vector<double> dp = m.g;
    auto value = [&](const std::vector<double>& y) {
      double s = 0;
      for (std::size_t i = 0; i < y.size(); ++i) s += c[i] * y[i];
      return s;
    };
    hepnn::test::check_gradient([&](const std::vector<double>& v) { return value(m.forward(B, v.data(), mk)); }, x, dx,
                                "MultiHeadAttention dx");
    const std::vector<double> p0 = m.p;
    hepnn::test::check_gradient(
        [&](const std::vector<double>& v) {
          std::copy(v.begin(), v.end(), m.p.begin());
          return value(m.forward(B, x.data(), mk));
        },
        p0, dp, "MultiHeadAttention parameters");
    std::copy(p0.begin(), p0.end(), m.p.begin());
    if (masked) {
      std::vector<double> x2 = x;
      for (std::int64_t l : {1, 3})
        for (std::int64_t f = 0; f < D; ++f) x2[std::size_t((1 * L + l) * D + f)] = 30.0;  // padded keys of sample 1
      const std::vector<double> y = m.forward(B, x.data(), mk), y2 = m.forward(B, x2.data(), mk);
      CHECK(y == y2);
      for (std::int64_t l = 0; l < L; ++l)
        for (std::int64_t f = 0; f < 4; ++f) {
          const bool real = mask[std::size_t(L + l)] != 0.0;
          if (!real) CHECK(y[std::size_t((1 * L + l) * 4 + f)] == 0.0);           // padded queries: 0
          CHECK(y[std::size_t((2 * L + l) * 4 + f)] == 0.0);                       // the empty sequence: 0
          if (!real) CHECK(dx[std::size_t((1 * L + l) * D + f % D)] == 0.0);      // no gradient to padding
        }
    }
  }
}

namespace {

Model<double, cpu> encoder(bool pooled) {
  auto trk = Input{"tracks", {6, 4}};
  auto n = Input{"n_tracks", {1}};
  auto x = Dense{8}(with_lengths(trk, n));
  auto h = TransformerEncoderBlock{.num_heads = 2, .ff_dim = 12, .activation = Activation::gelu, .name = "enc1"}(x);
  h = TransformerEncoderBlock{.num_heads = 4, .ff_dim = 6, .name = "enc2"}(h);
  SymbolicTensor out = pooled ? Dense{.units = 1, .name = "score"}(GlobalAveragePooling1D{}(h)) : Dense{.units = 2, .name = "score"}(h);
  Model<double, cpu> m{{trk, n}, {out}, "encoder"};
  if (pooled) m.compile({.loss = MeanSquaredError{}, .seed = 12});
  return m;
}

std::map<std::string, Tensor<double>> jets(std::mt19937& rng, const std::vector<double>& lengths) {
  std::map<std::string, Tensor<double>> in;
  const auto n = std::int64_t(lengths.size());
  in.emplace("tracks", hepnn::test::random_tensor<double>(rng, Shape{n, 6, 4}));
  in.emplace("n_tracks", Tensor<double>(Shape{n, 1}, lengths));
  return in;
}

}  // namespace

TEST_CASE("TransformerEncoderBlock: permutation equivariance and invariance; gradients of an encoder", "[layers][attention]") {
  std::mt19937 rng(31);
  const std::vector<double> lengths{6, 4, 1, 0, 5};
  auto in = jets(rng, lengths);
  // reverse the real tracks of every jet
  std::map<std::string, Tensor<double>> rev;
  rev.emplace("tracks", in.at("tracks").clone());
  rev.emplace("n_tracks", in.at("n_tracks").clone());
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    const auto len = std::int64_t(lengths[i]);
    for (std::int64_t l = 0; l < len; ++l)
      for (std::int64_t f = 0; f < 4; ++f) rev.at("tracks")(std::int64_t(i), l, f) = in.at("tracks")(std::int64_t(i), len - 1 - l, f);
  }
  auto seq = encoder(false);
  const Tensor<double> a = seq.predict(in).at("score").clone(), b = seq.predict(rev).at("score").clone();
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    const auto len = std::int64_t(lengths[i]);
    for (std::int64_t l = 0; l < len; ++l)
      for (std::int64_t f = 0; f < 2; ++f)
        CHECK(b(std::int64_t(i), l, f) == Approx(a(std::int64_t(i), len - 1 - l, f)).epsilon(1e-12).margin(1e-13));
  }
  auto pooled = encoder(true);
  const Tensor<double> pa = pooled.predict(in).at("score").clone(), pb = pooled.predict(rev).at("score").clone();
  for (std::size_t i = 0; i < lengths.size(); ++i) CHECK(pb(std::int64_t(i), 0) == Approx(pa(std::int64_t(i), 0)).epsilon(1e-12));

  // every parameter gradient of the pooled encoder against finite differences
  std::map<std::string, Tensor<double>> tg;
  tg.emplace("score", hepnn::test::random_tensor<double>(rng, Shape{5, 1}));
  const data::NamedDataset<double> d(std::move(in), std::move(tg));
  pooled.loss_and_gradients(d);
  const std::vector<double> analytic = pooled.gradients().to_vector(), p0 = pooled.parameters().to_vector();
  hepnn::test::check_gradient(
      [&](const std::vector<double>& p) {
        std::copy(p.begin(), p.end(), pooled.parameters().data());
        return pooled.loss_and_gradients(d);
      },
      p0, analytic, "Transformer encoder", {1e-5, 1e-7, 1e-6});
  std::ostringstream os;
  pooled.summary(os);
  CHECK_THAT(os.str(), Contains("enc1_attention (MultiHeadAttention)") && Contains("heads=2, key_dim=4, masked") &&
                           Contains("enc2_ff1 (Dense)") && Contains("enc1_add2 (Add)"));
}

TEST_CASE("MultiHeadAttention: errors name the layer", "[layers][attention]") {
  auto x = Input{"x", {5, 6}};
  auto flat = Input{"f", {6}};
  const MultiHeadAttention bad_input{.num_heads = 2, .key_dim = 3}, no_heads{.num_heads = 0, .key_dim = 3};
  const TransformerEncoderBlock odd{.num_heads = 4, .ff_dim = 8, .name = "blk"};
  CHECK_THROWS_WITH(bad_input(flat), Contains("MultiHeadAttention 'multi_head_attention'") &&
                                         Contains("(elements, features)"));
  CHECK_THROWS_WITH(no_heads(x), Contains("num_heads and key_dim must be positive"));
  CHECK_THROWS_WITH(odd(x), Contains("TransformerEncoderBlock 'blk'") && Contains("6 features do not split into 4 heads"));
}
