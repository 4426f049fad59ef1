/// @file tests/graph/test_model_transform.cpp
/// @brief Model's per-input preprocessing (set_input_transform): prediction and training on raw
/// inputs equal, bitwise, the same model without a transform on inputs transformed by hand
/// ((x - shift) * scale); a chain Model trains bitwise like the Sequential with the same
/// transform; the transforms survive a model file and a checkpoint; errors name the input.
#include <catch2/catch.hpp>
#include <filesystem>
#include <random>

#include "hepnn/hepnn.hpp"
#include "hepnn/io.hpp"
#include "io/io_support.hpp"
#include "support/gradcheck.hpp"

using namespace hepnn;
using Catch::Contains;
using hepnn::test::random_tensor;

namespace {
using Tensors = std::map<std::string, Tensor<double>>;

Model<double, cpu> tagger() {
  auto jet = Input{"jet", {3}};
  auto trk = Input{"tracks", {4, 2}};
  auto z = Concatenate{}({Dense{5, Activation::tanh}(jet), Flatten{}(Dense{2, Activation::tanh}(trk))});
  Model<double, cpu> m{{jet, trk}, {Dense{.units = 1, .name = "cls"}(z)}};
  m.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 1e-2}, .seed = 9});
  return m;
}

Tensor<double> by_hand(const Tensor<double>& x, const data::InputTransform<double>& t) {
  Tensor<double> y = x.clone();
  const std::int64_t row = x.size() / x.shape()[0];
  for (std::int64_t i = 0; i < x.size(); ++i) {
    const std::size_t k = t.shift.size() == 1 ? 0 : std::size_t(i % row);
    y.data()[i] = (x.data()[i] - t.shift[k]) * t.scale[k];
  }
  return y;
}

struct Data {
  Tensor<double> jet, trk, y;
};
Data make(std::int64_t n) {
  std::mt19937 rng(5);
  Data d{random_tensor<double>(rng, Shape{n, 3}, 50.0, 150.0), random_tensor<double>(rng, Shape{n, 4, 2}, -3.0, 3.0),
         Tensor<double>(Shape{n, 1})};
  for (std::int64_t i = 0; i < n; ++i) d.y(i, 0) = d.jet(i, 0) + 20 * d.trk.data()[i * 8] > 100 ? 1.0 : 0.0;
  return d;
}
data::NamedDataset<double> named(const Tensor<double>& jet, const Tensor<double>& trk, const Tensor<double>& y) {
  Tensors x, t;
  x.emplace("jet", jet.clone());
  x.emplace("tracks", trk.clone());
  t.emplace("cls", y.clone());
  return data::NamedDataset<double>(std::move(x), std::move(t));
}
}  // namespace

TEST_CASE("Model input transform: predict and fit on raw inputs equal the untransformed model on inputs scaled by hand",
          "[graph][transform]") {
  const Data d = make(200);
  const auto tj = data::fit_standardization(d.jet);
  const data::InputTransform<double> tt{"minmax", {-3.0}, {1.0 / 6}};  // one shift and scale for every element
  auto with = tagger(), without = tagger();
  with.set_input_transform("jet", tj);
  with.set_input_transform("tracks", tt);
  CHECK(with.input_transform("jet").kind == "standardize");
  const Tensor<double> jet_h = by_hand(d.jet, tj), trk_h = by_hand(d.trk, tt);
  CHECK(with.predict({{"jet", d.jet}, {"tracks", d.trk}}).at("cls").to_vector() ==
        without.predict({{"jet", jet_h}, {"tracks", trk_h}}).at("cls").to_vector());
  const History hw = with.fit(named(d.jet, d.trk, d.y), {.epochs = 3, .batch_size = 32, .verbose = 0});
  const History ho = without.fit(named(jet_h, trk_h, d.y), {.epochs = 3, .batch_size = 32, .verbose = 0});
  CHECK(with.parameters().to_vector() == without.parameters().to_vector());
  CHECK(hw["loss"] == ho["loss"]);
  CHECK(with.evaluate(named(d.jet, d.trk, d.y)).at("loss") == without.evaluate(named(jet_h, trk_h, d.y)).at("loss"));
  // a custom step sees the transformed inputs too (no dropout: the training pass is the prediction)
  const auto f = with.forward_train({{"jet", d.jet}, {"tracks", d.trk}});
  CHECK(f.at("cls").to_vector() == without.predict({{"jet", jet_h}, {"tracks", trk_h}}).at("cls").to_vector());
  // errors name the input and the sizes
  CHECK_THROWS_WITH(with.set_input_transform("trk", tt), Contains("'trk' is not an input") && Contains("jet, tracks"));
  CHECK_THROWS_WITH(with.set_input_transform("tracks", tj), Contains("3 shifts") && Contains("8 elements"));
  CHECK_THROWS_WITH(with.set_input_transform(tj), Contains("2 inputs; name the input"));
  with.set_input_transform("tracks", {});  // removed
  CHECK(with.input_transform("tracks").empty());
}

TEST_CASE("Model input transform: a chain Model trains bitwise like the Sequential with the same transform", "[graph][transform]") {
  const Data d = make(160);
  const auto t = data::fit_standardization(d.jet);
  Sequential<double> s(Input{3}, Dense{6, Activation::tanh}, Dense{1});
  s.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 1e-2}, .seed = 2});
  s.set_input_transform(t);
  auto in = Input{3};
  Model<double, cpu> m{{in}, {Dense{1}(Dense{6, Activation::tanh}(in))}};
  m.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 1e-2}, .seed = 2});
  m.set_input_transform(t);
  const History hs = s.fit(d.jet, d.y, {.epochs = 2, .batch_size = 20, .verbose = 0});
  Tensors x, y;
  x.emplace(m.input_names()[0], d.jet.clone());
  y.emplace(m.output_names()[0], d.y.clone());
  const History hm = m.fit(data::NamedDataset<double>(std::move(x), std::move(y)), {.epochs = 2, .batch_size = 20, .verbose = 0});
  CHECK(s.parameters().to_vector() == m.parameters().to_vector());
  CHECK(hs["loss"] == hm["loss"]);
  CHECK(s.predict(d.jet).to_vector() == m.predict(d.jet).to_vector());
}

TEST_CASE("Model input transform: kept in model files and checkpoints", "[graph][transform][io]") {
  test_io::TempDir dir;
  const Data d = make(100);
  auto m = tagger();
  m.set_input_transform("jet", data::fit_standardization(d.jet));
  m.fit(named(d.jet, d.trk, d.y), {.epochs = 1, .batch_size = 25, .verbose = 0});
  io::save_model(m, dir.file("m.h5"));
  const auto back = io::load_functional_model<double>(dir.file("m.h5"));
  CHECK(back.input_transform("jet").shift == m.input_transform("jet").shift);
  CHECK(back.input_transform("jet").scale == m.input_transform("jet").scale);
  CHECK(back.input_transform("tracks").empty());
  CHECK(back.predict({{"jet", d.jet}, {"tracks", d.trk}}).at("cls").to_vector() ==
        m.predict({{"jet", d.jet}, {"tracks", d.trk}}).at("cls").to_vector());
  // a checkpoint resumes with the transform it was trained with
  auto resumed = tagger();
  CHECK(io::load_checkpoint(resumed, dir.file("m.h5")) >= 0);
  CHECK(resumed.input_transform("jet").kind == "standardize");
  CHECK(resumed.predict({{"jet", d.jet}, {"tracks", d.trk}}).at("cls").to_vector() ==
        m.predict({{"jet", d.jet}, {"tracks", d.trk}}).at("cls").to_vector());
}
