/// @file tests/layers/test_recurrent.cpp
/// @brief LSTM and GRU: outputs and parameter gradients against PyTorch's nn.LSTM and nn.GRU on
/// packed padded sequences (tests/golden/make_sequence_golden.py), forward and reverse; input and parameter
/// gradients against finite differences in double for every combination of return_sequences,
/// reverse and a mask; the padding changes nothing; the orthogonal initialiser; masks through
/// an LSTM in a model; the options round-trip through a model file's config.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
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

std::map<std::string, hepnn::test::GoldenArray> read_golden(const std::string& file) {
  return hepnn::test::read_golden(file, "tests/golden/make_sequence_golden.py");
}

void check_close(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
  hepnn::test::check_close_to_reference(got, want, what);
}

/// An LSTM or GRU layer of the given options with its own parameter and gradient vectors.
hepnn::test::BoundLayer recurrent(const std::string& kind, std::int64_t L, std::int64_t F, std::int64_t H, bool seq,
                                  bool rev, bool masked) {
  std::vector<Shape> in{Shape{L, F}};
  if (masked) in.push_back(Shape{L});
  if (kind == "lstm")
    return hepnn::test::BoundLayer(std::make_unique<LSTMLayer<double, cpu>>("lstm", in, H, seq, rev,
                                                                            Init::glorot_uniform, Init::orthogonal, true));
  return hepnn::test::BoundLayer(
      std::make_unique<GRULayer<double, cpu>>("gru", in, H, seq, rev, Init::glorot_uniform, Init::orthogonal));
}

}  // namespace

TEST_CASE("LSTM and GRU: outputs and gradients against PyTorch's nn.LSTM and nn.GRU on packed padded sequences",
          "[layers][recurrent]") {
 for (const std::string kind : {"lstm", "gru"}) {
  INFO(kind);
  const auto ref = read_golden(kind);
  const auto& dims = ref.at("dims").values;
  const std::int64_t B = std::int64_t(dims[0]), L = std::int64_t(dims[1]), F = std::int64_t(dims[2]),
                     H = std::int64_t(dims[3]);
  const std::vector<double>& x = ref.at("x").values;
  std::vector<double> mask(std::size_t(B * L), 0.0);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t l = 0; l < std::int64_t(ref.at("lengths").values[std::size_t(b)]); ++l)
      mask[std::size_t(b * L + l)] = 1.0;
  std::vector<double> dx_sum(x.size(), 0.0);
  for (const std::string tag : {"fwd", "rev"}) {
    INFO("direction " << tag);
    const bool rev = tag == "rev";
    std::vector<double> p = ref.at("W_" + tag).values;
    for (double v : ref.at("U_" + tag).values) p.push_back(v);
    for (double v : ref.at("b_" + tag).values) p.push_back(v);
    auto seq = recurrent(kind, L, F, H, true, rev, true), last = recurrent(kind, L, F, H, false, rev, true);
    auto seq_full = recurrent(kind, L, F, H, true, rev, false), last_full = recurrent(kind, L, F, H, false, rev, false);
    for (hepnn::test::BoundLayer* m : {&seq, &last, &seq_full, &last_full}) m->set_params(p);
    check_close(seq.forward(B, x.data(), mask.data()), ref.at("seq_masked_" + tag).values, "masked sequence");
    check_close(last.forward(B, x.data(), mask.data()), ref.at("last_masked_" + tag).values, "masked last state");
    check_close(seq_full.forward(B, x.data(), nullptr), ref.at("seq_full_" + tag).values, "unmasked sequence");
    check_close(last_full.forward(B, x.data(), nullptr), ref.at("last_full_" + tag).values, "unmasked last state");
    // gradients of sum(coef * masked sequence output): PyTorch's autograd through packed sequences
    const std::vector<double> dx = seq.backward(B, x.data(), mask.data(), ref.at("coef_" + tag).values);
    const std::int64_t gates = kind == "lstm" ? 4 : 3, nW = F * gates * H, nU = H * gates * H;
    check_close({seq.g.begin(), seq.g.begin() + nW}, ref.at("dW_" + tag).values, "dW");
    check_close({seq.g.begin() + nW, seq.g.begin() + nW + nU}, ref.at("dU_" + tag).values, "dU");
    check_close({seq.g.begin() + nW + nU, seq.g.end()}, ref.at("db_" + tag).values, "db");
    for (std::size_t i = 0; i < dx.size(); ++i) dx_sum[i] += dx[i];
  }
  // PyTorch's dx holds both directions; on padded elements it is 0, as ours
  check_close(dx_sum, ref.at("dx").values, "dx");
 }
}

TEST_CASE("LSTM and GRU: gradients against finite differences, with and without masks, either direction",
          "[layers][recurrent]") {
  const std::int64_t B = 3, L = 4, F = 3, H = 2;
  std::mt19937 rng(17);
  const std::vector<double> x = hepnn::test::random_vector(rng, std::size_t(B * L * F));
  const std::vector<double> mask{1, 1, 1, 1, /**/ 1, 1, 0, 0, /**/ 0, 0, 0, 0};  // full, 2 real, empty
  for (const std::string kind : {"lstm", "gru"})
  for (bool seq : {false, true})
    for (bool rev : {false, true})
      for (bool masked : {false, true}) {
        INFO(kind << ", return_sequences " << seq << ", reverse " << rev << ", masked " << masked);
        auto m = recurrent(kind, L, F, H, seq, rev, masked);
        m.set_params(hepnn::test::random_vector(rng, m.p.size(), -0.7, 0.7));
        const std::vector<double> c = hepnn::test::random_vector(rng, std::size_t(B * m.layer->output_shape().size()));
        const double* mk = masked ? mask.data() : nullptr;
        const std::vector<double> dx = m.backward(B, x.data(), mk, c);
        const std::vector<double> dp = m.g;
        auto value = [&](const std::vector<double>& y) {
          double s = 0;
          for (std::size_t i = 0; i < y.size(); ++i) s += c[i] * y[i];
          return s;
        };
        hepnn::test::check_gradient([&](const std::vector<double>& v) { return value(m.forward(B, v.data(), mk)); }, x,
                                    dx, kind + " dx");
        const std::vector<double> p0 = m.p;
        hepnn::test::check_gradient(
            [&](const std::vector<double>& v) {
              std::copy(v.begin(), v.end(), m.p.begin());
              return value(m.forward(B, x.data(), mk));
            },
            p0, dp, kind + " parameters");
        std::copy(p0.begin(), p0.end(), m.p.begin());
        if (masked) {
          // padded elements: no gradient, and their values change nothing
          for (std::int64_t b = 1; b < B; ++b)
            for (std::int64_t l = b == 1 ? 2 : 0; l < L; ++l)
              for (std::int64_t f = 0; f < F; ++f) CHECK(dx[std::size_t((b * L + l) * F + f)] == 0.0);
          std::vector<double> x2 = x;
          for (std::int64_t l = 2; l < L; ++l)
            for (std::int64_t f = 0; f < F; ++f) x2[std::size_t((1 * L + l) * F + f)] = 50.0;
          CHECK(m.forward(B, x2.data(), mk) == m.forward(B, x.data(), mk));
          // an empty sequence: last state 0, every output 0
          const std::vector<double> y = m.forward(B, x.data(), mk);
          const std::int64_t per = m.layer->output_shape().size();
          for (std::int64_t i = 0; i < per; ++i) CHECK(y[std::size_t(2 * per + i)] == 0.0);
        }
      }
}

TEST_CASE("initializers: orthogonal gives orthonormal rows or columns", "[init]") {
  for (auto [rows, cols] : {std::pair<std::int64_t, std::int64_t>{4, 16}, {16, 4}, {5, 5}}) {
    INFO(rows << " x " << cols);
    std::vector<double> w(std::size_t(rows * cols));
    initialize(Init::orthogonal, w.data(), rows * cols, rows, cols, 7, 3);
    const bool by_rows = rows <= cols;
    const std::int64_t k = by_rows ? rows : cols, len = by_rows ? cols : rows;
    for (std::int64_t a = 0; a < k; ++a)
      for (std::int64_t b = 0; b < k; ++b) {
        double d = 0;
        for (std::int64_t j = 0; j < len; ++j)
          d += by_rows ? w[std::size_t(a * cols + j)] * w[std::size_t(b * cols + j)]
                       : w[std::size_t(j * cols + a)] * w[std::size_t(j * cols + b)];
        CHECK(d == Approx(a == b ? 1.0 : 0.0).margin(1e-13));
      }
  }
  CHECK(init_from_string("orthogonal") == Init::orthogonal);
}

TEST_CASE("LSTM and GRU in a model: masks flow in and, with return_sequences, on; gradients of the model",
          "[layers][recurrent]") {
  auto trk = Input{"tracks", {5, 3}};
  auto n = Input{"n_tracks", {1}};
  auto x = with_lengths(trk, n);
  auto seq = LSTM{.units = 4, .return_sequences = true}(x);
  CHECK(seq.has_mask());
  CHECK(seq.shape() == Shape{5, 4});
  auto last = GRU{.units = 3, .reverse = true}(seq);
  CHECK(!last.has_mask());
  auto pooled = GlobalAveragePooling1D{}(seq);
  Model<double, cpu> m{{trk, n}, {Dense{.units = 1, .name = "score"}(Concatenate{}({last, pooled}))}, "rnn"};
  m.compile({.loss = MeanSquaredError{}, .seed = 4});
  std::mt19937 rng(2);
  std::map<std::string, Tensor<double>> in, tg;
  in.emplace("tracks", hepnn::test::random_tensor<double>(rng, Shape{6, 5, 3}));
  Tensor<double> len(Shape{6, 1}, {5, 0, 2, 3, 1, 4});
  in.emplace("n_tracks", std::move(len));
  tg.emplace("score", hepnn::test::random_tensor<double>(rng, Shape{6, 1}));
  const data::NamedDataset<double> d(std::move(in), std::move(tg));
  m.loss_and_gradients(d);
  const std::vector<double> analytic = m.gradients().to_vector(), p0 = m.parameters().to_vector();
  hepnn::test::check_gradient(
      [&](const std::vector<double>& p) {
        std::copy(p.begin(), p.end(), m.parameters().data());
        return m.loss_and_gradients(d);
      },
      p0, analytic, "LSTM and GRU model", {1e-5, 1e-7, 1e-6});
  std::ostringstream os;
  m.summary(os);
  CHECK_THAT(os.str(), Contains("(LSTM)") && Contains("(GRU)") && Contains("return_sequences, masked") &&
                           Contains("reverse, masked"));
  // the forget gate's bias starts at 1 (unit_forget_bias), the others at 0
  const auto& L1 = m.layer("lstm_1");
  CHECK(L1.params().size() == 3);
  CHECK(L1.params()[2].shape == Shape{16});
}

TEST_CASE("Bidirectional: a forward and a reverse copy, concatenated; equal to writing them out", "[layers][recurrent]") {
  auto trk = Input{"tracks", {4, 3}};
  auto n = Input{"n_tracks", {1}};
  auto x = with_lengths(trk, n);
  auto both = Bidirectional<GRU>{.layer = {.units = 3, .return_sequences = true}, .name = "bi"}(x);
  CHECK(both.shape() == Shape{4, 6});
  CHECK(both.has_mask());
  auto last = Bidirectional<LSTM>{.layer = {.units = 2}}(both);
  CHECK(last.shape() == Shape{4});
  Model<double, cpu> m{{trk, n}, {last}, "bi"};
  CHECK(m.layer("bi_forward").type() == "GRU");
  CHECK(m.layer("bi_backward").describe() == "return_sequences, reverse, masked");
  // the same model written out by hand has the same parameters and outputs
  auto x2 = with_lengths(trk, n);
  auto f = GRU{.units = 3, .return_sequences = true}(x2), b = GRU{.units = 3, .return_sequences = true, .reverse = true}(x2);
  auto h = Concatenate{}({f, b});
  auto out = Concatenate{}({LSTM{.units = 2}(h), LSTM{.units = 2, .reverse = true}(h)});
  Model<double, cpu> by_hand{{trk, n}, {out}};
  REQUIRE(by_hand.parameters().size() == m.parameters().size());
  std::copy(m.parameters().data(), m.parameters().data() + m.parameters().size(), by_hand.parameters().data());
  std::mt19937 rng(3);
  std::map<std::string, Tensor<double>> in;
  in.emplace("tracks", hepnn::test::random_tensor<double>(rng, Shape{5, 4, 3}));
  in.emplace("n_tracks", Tensor<double>(Shape{5, 1}, {4, 1, 0, 2, 3}));
  CHECK(m.predict(in).begin()->second.to_vector() == by_hand.predict(in).begin()->second.to_vector());
}
