/// @file tests/io/test_sequence_files.cpp
/// @brief Model files with the sequence layers (MaskFromLengths, MaskFromValue, ApplyMask, the
/// three poolings, LayerNormalization, LSTM, GRU, MultiHeadAttention): saved masked models load
/// with the same summary, predict bitwise the same and train on from the same state; padded
/// HDF5 data with a length column read and stream as in memory.
#include <catch2/catch.hpp>
#include <random>
#include <sstream>
#include <string>

#include "hepnn/hepnn.hpp"
#include "hepnn/io.hpp"
#include "io/io_support.hpp"
#include "support/gradcheck.hpp"

using namespace hepnn;
using test_io::TempDir;

namespace {

constexpr std::int64_t L = 7, F = 3;

Model<float, cpu> tagger() {
  auto trk = Input{"tracks", {L, F}};
  auto n = Input{"n_tracks", {1}};
  auto other = Input{"towers", {4, 2}};
  auto x = with_lengths(trk, n, "tracks_masked");
  auto h = LayerNormalization{.epsilon = 1e-5, .center = false, .name = "ln"}(Dense{8, Activation::relu}(x));
  auto towers = Masking{.mask_value = -1.0, .name = "towers_masked"}(other);
  auto t = GlobalMaxPooling1D{}(LayerNormalization{.scale = false}(Dense{4, Activation::tanh}(towers)));
  auto z = Concatenate{}({GlobalSumPooling1D{}(h), GlobalAveragePooling1D{.name = "mean"}(h), t});
  Model<float, cpu> m{{trk, n, other}, {Dense{.units = 1, .name = "score"}(z)}, "tagger"};
  m.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{}, .seed = 2});
  return m;
}

data::NamedDataset<float> jets(std::int64_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::map<std::string, Tensor<float>> in, tg;
  Tensor<float> tracks = hepnn::test::random_tensor<float>(rng, Shape{n, L, F});
  Tensor<float> towers = hepnn::test::random_tensor<float>(rng, Shape{n, 4, 2});
  Tensor<float> lengths(Shape{n, 1}), label(Shape{n, 1});
  for (std::int64_t i = 0; i < n; ++i) {
    lengths(i, 0) = float(i % (L + 1));
    for (std::int64_t l = i % (L + 1); l < L; ++l)
      for (std::int64_t f = 0; f < F; ++f) tracks(i, l, f) = 0.f;
    for (std::int64_t l = 1 + i % 4; l < 4; ++l) towers(i, l, 0) = towers(i, l, 1) = -1.f;
    label(i, 0) = float(i % 2);
  }
  in.emplace("tracks", std::move(tracks));
  in.emplace("n_tracks", std::move(lengths));
  in.emplace("towers", std::move(towers));
  tg.emplace("score", std::move(label));
  return data::NamedDataset<float>(std::move(in), std::move(tg));
}

std::string summary_of(const Model<float, cpu>& m) {
  std::ostringstream os;
  m.summary(os);
  return os.str();
}

}  // namespace

TEST_CASE("sequence files: a masked Deep Sets model round-trips bitwise", "[io][sequence]") {
  TempDir dir;
  const std::string p = dir.file("tagger.h5");
  auto m = tagger();
  const auto d = jets(64, 3);
  m.fit(d, {.epochs = 2, .batch_size = 16, .verbose = 0});
  io::save_model(m, p);
  auto l = io::load_functional_model<float>(p);
  CHECK(summary_of(l) == summary_of(m));
  CHECK(l.parameters().to_vector() == m.parameters().to_vector());
  CHECK(l.layer("ln").config().options == m.layer("ln").config().options);
  CHECK(l.layer("towers_masked_mask").config().options.at("mask_value") == ConfigValue(-1.0));
  CHECK(l.predict(d.inputs()).at("score").to_vector() == m.predict(d.inputs()).at("score").to_vector());
  m.train_on_batch(d);
  l.train_on_batch(d);
  CHECK(l.parameters().to_vector() == m.parameters().to_vector());
}

TEST_CASE("sequence files: padded tracks (N, L, F) with a length column read and stream as in memory", "[io][sequence]") {
  // a file as an ntuple dumper writes it: tracks padded with zeros, the number of tracks as an
  // integer column, the label as an integer column
  TempDir dir;
  const std::string p = dir.file("jets.h5");
  const std::int64_t n = 96;
  const auto d = jets(n, 11);
  std::vector<std::int32_t> n_trk(n), label(n);
  for (std::int64_t i = 0; i < n; ++i) {
    n_trk[std::size_t(i)] = std::int32_t(d.inputs().at("n_tracks")(i, 0));
    label[std::size_t(i)] = std::int32_t(d.targets().at("score")(i, 0));
  }
  {
    io::h5::File f(p, io::h5::File::Mode::create);
    f.write<float>("tracks", {n, L, F}, d.inputs().at("tracks").data());
    f.write<float>("towers", {n, 4, 2}, d.inputs().at("towers").data());
    f.write<std::int32_t>("n_tracks", {n}, n_trk.data());
    f.write<std::int32_t>("is_b", {n}, label.data());
    f.close();
  }
  const io::NamedDataSpec spec{.inputs = {{"tracks", {"tracks"}}, {"n_tracks", {"n_tracks"}}, {"towers", {"towers"}}},
                               .targets = {{"score", {"is_b"}}}};
  const auto r = io::read_named_dataset<float>(p, spec);
  CHECK(r.inputs().at("tracks").shape() == Shape{n, L, F});
  CHECK(r.inputs().at("n_tracks").to_vector() == d.inputs().at("n_tracks").to_vector());
  CHECK(r.inputs().at("tracks").to_vector() == d.inputs().at("tracks").to_vector());
  // a model trains on the stream exactly as on the data in memory (file order, no shuffling)
  // one chunk per window and batches of one chunk: the stream in file order gives exactly the
  // batches of the in-memory fit without shuffling
  // a row: the tracks, the towers, the length, the label and the weight (1 without a weights data set)
  const std::int64_t row_bytes = (L * F + 4 * 2 + 1 + 1 + 1) * std::int64_t(sizeof(float));
  io::NamedStreamingSource<float> s(p, {.inputs = {{"tracks", "tracks"}, {"n_tracks", "n_tracks"}, {"towers", "towers"}},
                                        .targets = {{"score", "is_b"}},
                                        .memory_budget_bytes = 32 * 3 * row_bytes,
                                        .window_chunks = 1,
                                        .prefetch_chunks = 1});
  REQUIRE(s.chunk_rows() == 32);
  auto streamed = tagger(), memory = tagger();
  streamed.fit(s, {.epochs = 2, .batch_size = 32, .shuffle = false, .verbose = 0});
  memory.fit(d, {.epochs = 2, .batch_size = 32, .shuffle = false, .verbose = 0});
  CHECK(streamed.parameters().to_vector() == memory.parameters().to_vector());
}

TEST_CASE("sequence files: LSTM, GRU, Bidirectional and a Transformer encoder round-trip bitwise", "[io][sequence]") {
  TempDir dir;
  const std::string p = dir.file("rnn.h5");
  auto trk = Input{"tracks", {L, F}};
  auto n = Input{"n_tracks", {1}};
  auto x = with_lengths(trk, n);
  auto seq = Bidirectional<LSTM>{.layer = {.units = 4, .return_sequences = true}, .name = "bi"}(x);
  auto enc = TransformerEncoderBlock{.num_heads = 2, .ff_dim = 6, .dropout = 0.1, .name = "enc"}(seq);
  auto last = GRU{.units = 3, .reverse = true}(enc);
  auto z = Concatenate{}({last, GlobalMaxPooling1D{}(enc)});
  Model<float, cpu> m{{trk, n}, {Dense{.units = 1, .name = "score"}(z)}, "rnn"};
  m.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{}, .seed = 3});
  auto d = jets(48, 5);
  std::map<std::string, Tensor<float>> in, tg;
  in.emplace("tracks", d.inputs().at("tracks").clone());
  in.emplace("n_tracks", d.inputs().at("n_tracks").clone());
  tg.emplace("score", d.targets().at("score").clone());
  const data::NamedDataset<float> data(std::move(in), std::move(tg));
  m.fit(data, {.epochs = 1, .batch_size = 16, .verbose = 0});
  io::save_model(m, p);
  auto l = io::load_functional_model<float>(p);
  CHECK(summary_of(l) == summary_of(m));
  CHECK(l.parameters().to_vector() == m.parameters().to_vector());
  CHECK(l.layer("bi_backward").config().options == m.layer("bi_backward").config().options);
  CHECK(l.layer("enc_attention").config().options == m.layer("enc_attention").config().options);
  CHECK(l.predict(data.inputs()).at("score").to_vector() == m.predict(data.inputs()).at("score").to_vector());
  m.train_on_batch(data);  // dropout draws the same masks: the model's seed and step are in the file
  l.train_on_batch(data);
  CHECK(l.parameters().to_vector() == m.parameters().to_vector());
}
