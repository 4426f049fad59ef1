/// @file tests/cuda/test_cuda_sequence.cpp
/// @brief Padded sequences on the GPU: a masked Deep Sets model (with_lengths and Masking, the
/// three poolings, LayerNormalization) and a masked LSTM + GRU model (both directions, with and
/// without return_sequences) and a masked Transformer encoder take the same training steps as on the CPU, their double
/// gradients agree with the CPU's (which tests/layers/test_sequences.cpp checks against finite
/// differences), and the padding values change nothing on the GPU either. Without a GPU each
/// case prints SKIPPED.
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "cuda/cuda_support.hpp"
#include "hepnn/graph/model.hpp"
#include "hepnn/layers/activations.hpp"
#include "hepnn/layers/attention.hpp"
#include "hepnn/layers/dense.hpp"
#include "hepnn/layers/layer_norm.hpp"
#include "hepnn/layers/masking.hpp"
#include "hepnn/layers/merge.hpp"
#include "hepnn/layers/recurrent.hpp"
#include "hepnn/layers/sequence_pooling.hpp"

using namespace hepnn;

namespace {

constexpr std::int64_t L = 6, F = 4;

template <class T>
data::NamedDataset<T> track_data(std::int64_t n, std::uint32_t seed, T pad) {
  std::mt19937 rng(seed);
  std::map<std::string, Tensor<T>> in, tg;
  Tensor<T> tracks = test::random_tensor<T>(rng, Shape{n, L, F});
  Tensor<T> lengths(Shape{n, 1});
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t len = (i * 5 + 2) % (L + 1);
    lengths(i, 0) = T(len);
    for (std::int64_t l = len; l < L; ++l)
      for (std::int64_t f = 0; f < F; ++f) tracks(i, l, f) = pad;
  }
  in.emplace("tracks", std::move(tracks));
  in.emplace("n_tracks", std::move(lengths));
  Tensor<T> label(Shape{n, 1});
  for (std::int64_t i = 0; i < n; ++i) label(i, 0) = T(i % 2);
  tg.emplace("score", std::move(label));
  return data::NamedDataset<T>(std::move(in), std::move(tg));
}

template <class T, class Device>
Model<T, Device> deep_sets(bool by_lengths) {
  auto trk = Input{"tracks", {L, F}};
  auto n = Input{"n_tracks", {1}};
  SymbolicTensor x = by_lengths ? with_lengths(trk, n) : Masking{.mask_value = 0.0}(trk);
  auto h = LayerNormalization{}(Dense{8, Activation::relu}(x));
  h = Dense{6, Activation::tanh}(h);
  auto pooled = Concatenate{}({GlobalSumPooling1D{}(h), GlobalAveragePooling1D{}(h), GlobalMaxPooling1D{}(h)});
  std::vector<SymbolicTensor> inputs{trk, n};
  // the Masking variant leaves n_tracks unused; a model input must be used, so it joins the head
  auto head = by_lengths ? pooled : Concatenate{}({pooled, n});
  Model<T, Device> m{inputs, {Dense{.units = 1, .name = "score"}(Dense{5, Activation::tanh}(head))}};
  m.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 1e-2}, .seed = 6});
  return m;
}

template <class T, class Device>
Model<T, Device> transformer() {
  auto trk = Input{"tracks", {L, F}};
  auto n = Input{"n_tracks", {1}};
  auto x = Dense{8}(with_lengths(trk, n));
  auto h = TransformerEncoderBlock{.num_heads = 2, .ff_dim = 16, .activation = Activation::gelu}(x);
  h = TransformerEncoderBlock{.num_heads = 4, .ff_dim = 8}(h);
  Model<T, Device> m{{trk, n}, {Dense{.units = 1, .name = "score"}(GlobalAveragePooling1D{}(h))}};
  m.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 1e-2}, .seed = 10});
  return m;
}

template <class T, class Device>
Model<T, Device> rnn() {
  auto trk = Input{"tracks", {L, F}};
  auto n = Input{"n_tracks", {1}};
  auto x = with_lengths(trk, n);
  auto seq = LSTM{.units = 8, .return_sequences = true}(x);
  auto last = GRU{.units = 5, .reverse = true}(seq);
  auto z = Concatenate{}({last, GlobalSumPooling1D{}(seq)});
  Model<T, Device> m{{trk, n}, {Dense{.units = 1, .name = "score"}(z)}};
  m.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 1e-2}, .seed = 8});
  return m;
}

}  // namespace

/// Five training steps of the same model on both devices: losses, weights and predictions agree;
/// in double the gradients too.
template <class T>
void same_steps(Model<T, cpu>& c, Model<T, cuda>& g, const data::NamedDataset<T>& d) {
  const test::Tol<T> tol{std::is_same_v<T, float> ? 1e-4 : 1e-10, std::is_same_v<T, float> ? 1e-5 : 1e-12};
  for (int step = 0; step < 5; ++step) {
    INFO("step " << step);
    const double lc = c.train_on_batch(d), lg = g.train_on_batch(d);
    CHECK(lg == Approx(lc).epsilon(std::is_same_v<T, float> ? 1e-4 : 1e-10));
  }
  test::check_close(g.parameters().to_vector(), c.parameters().to_vector(), "weights after 5 steps", tol);
  const auto pc = c.predict(d.inputs()), pg = g.predict(d.inputs());
  test::check_close(pg.at("score").to_vector(), pc.at("score").to_vector(), "predictions", tol);
  if constexpr (std::is_same_v<T, double>) {
    c.loss_and_gradients(d);
    g.loss_and_gradients(d);
    test::check_close(g.gradients().to_vector(), c.gradients().to_vector(), "gradients");
  }
}

TEMPLATE_TEST_CASE("cuda sequences: a masked Transformer encoder takes the same training steps on the GPU",
                   "[cuda][sequence]", float, double) {
  HEPNN_REQUIRE_GPU();
  auto c = transformer<TestType, cpu>();
  auto g = transformer<TestType, cuda>();
  same_steps(c, g, track_data<TestType>(64, 5, TestType(0)));
}

TEMPLATE_TEST_CASE("cuda sequences: a masked LSTM and GRU model takes the same training steps on the GPU", "[cuda][sequence]",
                   float, double) {
  HEPNN_REQUIRE_GPU();
  auto c = rnn<TestType, cpu>();
  auto g = rnn<TestType, cuda>();
  same_steps(c, g, track_data<TestType>(64, 4, TestType(0)));
}

TEMPLATE_TEST_CASE("cuda sequences: masked Deep Sets takes the same training steps on the GPU", "[cuda][sequence]",
                   float, double) {
  HEPNN_REQUIRE_GPU();
  for (bool by_lengths : {true, false}) {
    INFO((by_lengths ? "with_lengths" : "Masking"));
    auto c = deep_sets<TestType, cpu>(by_lengths);
    auto g = deep_sets<TestType, cuda>(by_lengths);
    same_steps(c, g, track_data<TestType>(64, 3, TestType(0)));
  }
}

TEST_CASE("cuda sequences: double gradients agree with the CPU, and padding values change nothing", "[cuda][sequence]") {
  HEPNN_REQUIRE_GPU();
  auto c = deep_sets<double, cpu>(true);
  auto g = deep_sets<double, cuda>(true);
  const auto d = track_data<double>(32, 9, 0.0);
  CHECK(g.loss_and_gradients(d) == Approx(c.loss_and_gradients(d)).epsilon(1e-12));
  const std::vector<double> g0 = g.gradients().to_vector();
  test::check_close(g0, c.gradients().to_vector(), "gradients");
  const auto d2 = track_data<double>(32, 9, 1e5);
  g.loss_and_gradients(d2);
  CHECK(g.gradients().to_vector() == g0);  // bitwise: padding is set to 0 at the entry
}
