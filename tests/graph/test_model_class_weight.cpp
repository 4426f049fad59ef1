/// @file tests/graph/test_model_class_weight.cpp
/// @brief Model's class_weight: by its definition, equal (bitwise) to training on event weights
/// multiplied by the class factors; a chain Model with class weights trains bitwise like the
/// Sequential with the same class weights; per-output factors in a two-output model; errors.
#include <catch2/catch.hpp>
#include <random>

#include "hepnn/hepnn.hpp"
#include "support/gradcheck.hpp"

using namespace hepnn;
using Catch::Contains;
using hepnn::test::random_tensor;

namespace {
using Tensors = std::map<std::string, Tensor<double>>;

struct Toy {
  Tensor<double> x, y, w;
};
Toy toy(std::int64_t n) {
  std::mt19937 rng(7);
  Toy t{random_tensor<double>(rng, Shape{n, 4}), Tensor<double>(Shape{n, 1}), random_tensor<double>(rng, Shape{n}, 0.5, 1.5)};
  for (std::int64_t i = 0; i < n; ++i) t.y(i, 0) = t.x(i, 0) - 0.5 * t.x(i, 1) > 0.4 ? 1.0 : 0.0;  // a minority class
  return t;
}
data::NamedDataset<double> named(const Toy& t, const std::string& in, const std::string& out, const Tensor<double>& w) {
  Tensors x, y;
  x.emplace(in, t.x.clone());
  y.emplace(out, t.y.clone());
  return data::NamedDataset<double>(std::move(x), std::move(y), w.clone());
}
Model<double, cpu> chain() {
  auto in = Input{"x", {4}};
  auto out = Dense{.units = 1, .activation = Activation::sigmoid, .name = "p"}(Dense{8, Activation::tanh}(in));
  Model<double, cpu> m{{in}, {out}};
  m.compile({.loss = BinaryCrossEntropy{}, .optimizer = Adam{.learning_rate = 1e-2}, .metrics = {metrics::AUC{}}, .seed = 3});
  return m;
}
}  // namespace

TEST_CASE("Model class_weight: the same as multiplying the event weights by the class factors", "[graph][class_weight]") {
  const Toy t = toy(300);
  Tensor<double> w3 = t.w.clone();
  for (std::int64_t i = 0; i < 300; ++i)
    if (t.y(i, 0) == 1.0) w3(i) *= 3.0;
  const auto d = named(t, "x", "p", t.w), d3 = named(t, "x", "p", w3);
  auto a = chain(), b = chain();
  const History ha = a.fit(d, {.epochs = 3, .batch_size = 32, .validation = d, .verbose = 0, .class_weight = {{"p", {{1, 3.0}}}}});
  const History hb = b.fit(d3, {.epochs = 3, .batch_size = 32, .validation = d3, .verbose = 0});
  CHECK(a.parameters().to_vector() == b.parameters().to_vector());
  CHECK(ha["loss"] == hb["loss"]);
  CHECK(ha["auc"] == hb["auc"]);
  CHECK(ha["val_loss"] == hb["val_loss"]);
  // and not the same as no class weight
  auto c = chain();
  c.fit(d, {.epochs = 3, .batch_size = 32, .verbose = 0});
  CHECK(c.parameters().to_vector() != a.parameters().to_vector());
}

TEST_CASE("Model class_weight: a chain Model trains bitwise like the Sequential with the same class weights", "[graph][class_weight]") {
  const Toy t = toy(256);
  Sequential<double> s(Input{4}, Dense{8, Activation::tanh}, Dense{1, Activation::sigmoid});
  s.compile({.loss = BinaryCrossEntropy{}, .optimizer = Adam{.learning_rate = 1e-2}, .metrics = {metrics::AUC{}}, .seed = 3});
  auto m = chain();
  REQUIRE(s.parameters().to_vector() == m.parameters().to_vector());
  const data::Dataset<double> ds(t.x.clone(), t.y.clone(), t.w.clone());
  const History hs = s.fit(ds, {.epochs = 2, .batch_size = 40, .validation = ds, .class_weight = {{0, 0.5}, {1, 4.0}}, .verbose = 0});
  const auto dn = named(t, "x", "p", t.w);
  const History hm = m.fit(dn, {.epochs = 2, .batch_size = 40, .validation = dn, .verbose = 0,
                                .class_weight = {{"p", {{0, 0.5}, {1, 4.0}}}}});
  CHECK(s.parameters().to_vector() == m.parameters().to_vector());
  CHECK(hs["loss"] == hm["loss"]);
  CHECK(hs["val_loss"] == hm["val_loss"]);
  CHECK(hs["val_auc"] == hm["val_auc"]);
}

TEST_CASE("Model class_weight: per output, and errors that name the output", "[graph][class_weight]") {
  const Toy t = toy(120);
  auto in = Input{"x", {4}};
  auto h = Dense{6, Activation::tanh}(in);
  Model<double, cpu> m{{in}, {Dense{.units = 1, .activation = Activation::sigmoid, .name = "cls"}(h), Dense{.units = 1, .name = "reg"}(h)}};
  m.compile({.outputs = {{"cls", {.loss = BinaryCrossEntropy{}}}, {"reg", {.loss = MeanSquaredError{}}}}, .seed = 1});
  Tensors x, y;
  x.emplace("x", t.x.clone());
  y.emplace("cls", t.y.clone());
  y.emplace("reg", t.y.clone());
  const data::NamedDataset<double> d(std::move(x), std::move(y), t.w.clone());
  const Logs before = m.evaluate(d);
  CHECK_THROWS_WITH(m.fit(d, {.verbose = 0, .class_weight = {{"class", {{1, 2.0}}}}}),
                    Contains("'class', which is not an output") && Contains("cls, reg"));
  CHECK_THROWS_WITH(m.fit(d, {.verbose = 0, .class_weight = {{"cls", {{1, -2.0}}}}}), Contains("class 1 is -2"));
  const History hw = m.fit(d, {.epochs = 1, .batch_size = 200, .validation = d, .verbose = 0, .class_weight = {{"cls", {{1, 0.0}}}}});
  // with factor 0 on class 1, the validation loss of "cls" counts class-0 events only
  double l0 = 0, w0 = 0;
  const auto pred = m.predict({{"x", t.x}});
  const Tensor<double>& p = pred.at("cls");
  for (std::int64_t i = 0; i < 120; ++i)
    if (t.y(i, 0) == 0.0) {
      l0 += t.w(i) * -std::log(1 - p(i, 0));
      w0 += t.w(i);
    }
  CHECK(hw["val_cls_loss"].back() == Approx(l0 / w0).epsilon(1e-9));
  CHECK(before.at("loss") > 0);
}
